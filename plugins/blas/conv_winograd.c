/*
 * Winograd F(2x2, 3x3) for the blas Conv: stride-1 3x3 convolutions with one
 * group, any dilation and pads, the bulk of a dilated ResNet-50's work.
 *
 * Each 2x2 block of outputs needs 16 multiplications per input channel
 * instead of 36 (Lavin & Gray 2016):
 *     Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * with g the 3x3 kernel, d the 4x4 input patch and
 *     B^T = | 1  0 -1  0 |   G = | 1    0    0  |   A^T = | 1  1  1  0 |
 *           | 0  1  1  0 |       | 1/2  1/2  1/2|         | 0  1 -1 -1 |
 *           | 0 -1  1  0 |       | 1/2 -1/2  1/2|
 *           | 0  1  0 -1 |       | 0    0    1  |
 * which computes ONNX's cross-correlation exactly (up to rounding: the
 * transforms only add, subtract and halve). With dilation d the block is the
 * outputs (oy, ox), (oy, ox+d), (oy+d, ox), (oy+d, ox+d) and the patch is
 * spaced d apart, so dilated layers cost the same as plain ones.
 *
 * The 16 element-wise products summed over channels are 16 GEMMs:
 *     M_k (M x tiles) = U_k (M x C) * V_k (C x tiles),  k = 0..15,
 * U_k transformed once at load (16/9 of the weights' memory), V_k built per
 * chunk of tiles and channels in scratch. Threads take chunks of tiles.
 */
#include <string.h>

#include <cblas.h>

#include "blas.h"

/* Scratch per thread we aim for, for each of V and M: wide enough GEMMs
 * (>= 256 tiles, K >= 512 channels) that repacking U_k per call stays cheap. */
#define WINO_BYTES ((size_t)8 << 20)

/* Per worker: M (16 x m x tc), V (16 x cc x tc), then tc patches (a
 * wino_patch is 9 ints, so 12 floats per tile leave room to spare). */
#define WINO_SCRATCH_FLOATS(p) ((size_t)(16 * (p)->tc * ((p)->m + (p)->cc) + 12 * (p)->tc))

struct blas_wino {
    int64_t m, c, h, w, oh, ow, dh, dw, pt, pl;
    int threads;
    float *u;                 /* [16][m][c] */
    int64_t ty, tx;           /* tile rows / columns */
    int32_t *top, *left;      /* first output row / column of each tile row / column */
    int64_t tc;               /* tiles per chunk */
    int64_t cc;               /* channels per GEMM */
};

/* Output rows (or columns) grouped into pairs {o, o+d} of the same residue
 * modulo d: the first of each pair, in order. Returns the count. */
static int64_t wino_pairs(int64_t out, int64_t d, int32_t *first)
{
    int64_t k = 0;
    for (int64_t r = 0; r < d && r < out; r++)
        for (int64_t o = r; o < out; o += 2 * d) {
            if (first) first[k] = (int32_t)o;
            k++;
        }
    return k;
}

int64_t blas_wino_tiles(int64_t out, int64_t d)
{
    return wino_pairs(out, d, NULL);
}

blas_wino *blas_wino_create(const float *w, int64_t m, int64_t c, int64_t h, int64_t wd, int64_t oh, int64_t ow,
                            int64_t dh, int64_t dw, int64_t pt, int64_t pl, int threads, size_t *scratch_bytes)
{
    blas_wino *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    *p = (blas_wino){ m, c, h, wd, oh, ow, dh, dw, pt, pl, threads, NULL, 0, 0, NULL, NULL, 0, 0 };
    p->ty = wino_pairs(oh, dh, NULL);
    p->tx = wino_pairs(ow, dw, NULL);
    p->top = malloc((size_t)p->ty * sizeof(int32_t));
    p->left = malloc((size_t)p->tx * sizeof(int32_t));
    p->u = malloc((size_t)(16 * m * c) * sizeof(float));
    if (!p->top || !p->left || !p->u) {
        blas_wino_destroy(p);
        return NULL;
    }
    wino_pairs(oh, dh, p->top);
    wino_pairs(ow, dw, p->left);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < c; j++) {
            const float *g = w + (i * c + j) * 9;
            float t[4][3];                          /* G g */
            for (int col = 0; col < 3; col++) {
                t[0][col] = g[col];
                t[1][col] = 0.5f * (g[col] + g[3 + col] + g[6 + col]);
                t[2][col] = 0.5f * (g[col] - g[3 + col] + g[6 + col]);
                t[3][col] = g[6 + col];
            }
            for (int r = 0; r < 4; r++) {           /* (G g) G^T */
                float u4[4] = { t[r][0], 0.5f * (t[r][0] + t[r][1] + t[r][2]),
                                0.5f * (t[r][0] - t[r][1] + t[r][2]), t[r][2] };
                for (int k = 0; k < 4; k++) p->u[((r * 4 + k) * m + i) * c + j] = u4[k];
            }
        }
    /* chunk sizes: M (16 x m x tc) and V (16 x cc x tc) near WINO_BYTES each */
    int64_t tiles = p->ty * p->tx;
    p->tc = (int64_t)(WINO_BYTES / sizeof(float)) / (16 * m);
    if (p->tc < 64) p->tc = 64;
    if (p->tc > 512) p->tc = 512;
    /* enough chunks to keep every thread busy */
    int64_t per = (tiles + threads - 1) / threads;
    if (p->tc > per) p->tc = per > 16 ? per : 16;
    if (p->tc > tiles) p->tc = tiles;
    p->cc = (int64_t)(WINO_BYTES / sizeof(float)) / (16 * p->tc);
    if (p->cc < 32) p->cc = 32;
    if (p->cc > c) p->cc = c;
    *scratch_bytes = (size_t)threads * WINO_SCRATCH_FLOATS(p) * sizeof(float);
    return p;
}

void blas_wino_destroy(blas_wino *p)
{
    if (!p) return;
    free(p->u);
    free(p->top);
    free(p->left);
    free(p);
}

typedef struct wino_job {
    const blas_wino *p;
    const float *x;
    float *y;
    const float *bias, *res;
    int res_in_y;
    const blas_epilogue *epi;
    float *scratch;
} wino_job;

/* Input offsets of one tile's 4x4 patch: row starts and columns, -1 outside. */
typedef struct wino_patch {
    int32_t rows[4], cols[4];
    int inside;               /* all 16 inside: no checks */
} wino_patch;

/* V[k][cj][ti] = (B^T d B)[k] for channels [c0, c0+nc) and tiles [t0, t0+nt).
 * Channels outside, tiles inside: each V_k row is then written in order. */
static void wino_input(const blas_wino *p, const float *x, int64_t c0, int64_t nc, int64_t t0, int64_t nt,
                       wino_patch *pt, float *v)
{
    const int64_t hw = p->h * p->w, stride = nc * nt;
    for (int64_t ti = 0; ti < nt; ti++) {
        int64_t t = t0 + ti;
        int64_t iy0 = p->top[t / p->tx] - p->pt, ix0 = p->left[t % p->tx] - p->pl;
        pt[ti].inside = 1;
        for (int a = 0; a < 4; a++) {
            int64_t iy = iy0 + a * p->dh, ix = ix0 + a * p->dw;
            pt[ti].rows[a] = iy >= 0 && iy < p->h ? (int32_t)(iy * p->w) : -1;
            pt[ti].cols[a] = ix >= 0 && ix < p->w ? (int32_t)ix : -1;
            if (pt[ti].rows[a] < 0 || pt[ti].cols[a] < 0) pt[ti].inside = 0;
        }
    }
    for (int64_t cj = 0; cj < nc; cj++) {
        const float *xc = x + (c0 + cj) * hw;
        float *vc = v + cj * nt;
        for (int64_t ti = 0; ti < nt; ti++) {
            const wino_patch *q = &pt[ti];
            float d[4][4], t1[4][4];
            if (q->inside) {
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) d[a][b] = xc[q->rows[a] + q->cols[b]];
            } else {
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++)
                        d[a][b] = q->rows[a] >= 0 && q->cols[b] >= 0 ? xc[q->rows[a] + q->cols[b]] : 0.0f;
            }
            for (int b = 0; b < 4; b++) {           /* B^T d */
                t1[0][b] = d[0][b] - d[2][b];
                t1[1][b] = d[1][b] + d[2][b];
                t1[2][b] = d[2][b] - d[1][b];
                t1[3][b] = d[1][b] - d[3][b];
            }
            float *vo = vc + ti;
            for (int a = 0; a < 4; a++) {           /* (B^T d) B */
                vo[(a * 4 + 0) * stride] = t1[a][0] - t1[a][2];
                vo[(a * 4 + 1) * stride] = t1[a][1] + t1[a][2];
                vo[(a * 4 + 2) * stride] = t1[a][2] - t1[a][1];
                vo[(a * 4 + 3) * stride] = t1[a][1] - t1[a][3];
            }
        }
    }
}

/* Y from Mo[k][i][ti] for tiles [t0, t0+nt), with bias, residual and act. */
static void wino_output(const wino_job *j, const float *mo, int64_t t0, int64_t nt)
{
    const blas_wino *p = j->p;
    const blas_epilogue *e = j->epi;
    const int64_t ohw = p->oh * p->ow, stride = p->m * nt;
    const float lo = e->act == SEMSEG_ACT_RELU ? 0.0f : e->lo;
    for (int64_t i = 0; i < p->m; i++) {
        const float b = j->bias ? j->bias[i] : 0.0f;
        float *yc = j->y + i * ohw;
        const float *rc = j->res ? j->res + i * ohw : NULL;
        for (int64_t ti = 0; ti < nt; ti++) {
            int64_t t = t0 + ti;
            int64_t oy = p->top[t / p->tx], ox = p->left[t % p->tx];
            const float *mm = mo + i * nt + ti;
            float q[16], t1[2][4];
            for (int k = 0; k < 16; k++) q[k] = mm[k * stride];
            for (int col = 0; col < 4; col++) {     /* A^T M */
                t1[0][col] = q[col] + q[4 + col] + q[8 + col];
                t1[1][col] = q[4 + col] - q[8 + col] - q[12 + col];
            }
            for (int r = 0; r < 2; r++) {
                int64_t yy = oy + r * p->dh;
                if (yy >= p->oh) break;
                float out2[2] = { t1[r][0] + t1[r][1] + t1[r][2], t1[r][1] - t1[r][2] - t1[r][3] };
                for (int s = 0; s < 2; s++) {
                    int64_t xx = ox + s * p->dw;
                    if (xx >= p->ow) break;
                    int64_t at = yy * p->ow + xx;
                    float v = out2[s] + b;
                    if (j->res_in_y) v += yc[at];
                    else if (rc) v += rc[at];
                    if (e->act == SEMSEG_ACT_RELU) v = v > lo ? v : lo;
                    else if (e->act == SEMSEG_ACT_CLIP) v = v < lo ? lo : v > e->hi ? e->hi : v;
                    else if (e->act == SEMSEG_ACT_HARDSWISH) v = blas_hardswish(v);
                    yc[at] = v;
                }
            }
        }
    }
}

static void wino_task(void *arg, int64_t begin, int64_t end, int worker)
{
    const wino_job *j = arg;
    const blas_wino *p = j->p;
    float *mo = j->scratch + (size_t)worker * WINO_SCRATCH_FLOATS(p);
    float *v = mo + 16 * p->tc * p->m;
    wino_patch *pt = (wino_patch *)(v + 16 * p->tc * p->cc);
    const int64_t tiles = p->ty * p->tx;
    for (int64_t chunk = begin; chunk < end; chunk++) {
        int64_t t0 = chunk * p->tc, nt = tiles - t0 < p->tc ? tiles - t0 : p->tc;
        for (int64_t c0 = 0; c0 < p->c; c0 += p->cc) {
            int64_t nc = p->c - c0 < p->cc ? p->c - c0 : p->cc;
            wino_input(p, j->x, c0, nc, t0, nt, pt, v);
            for (int k = 0; k < 16; k++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p->m, (int)nt, (int)nc, 1.0f,
                            p->u + (int64_t)k * p->m * p->c + c0, (int)p->c, v + (int64_t)k * nc * nt, (int)nt,
                            c0 ? 1.0f : 0.0f, mo + (int64_t)k * p->m * nt, (int)nt);
        }
        wino_output(j, mo, t0, nt);
    }
}

void blas_wino_run(const blas_wino *p, const float *x, float *y, const float *bias, const float *res,
                   int res_in_y, const blas_epilogue *epi, float *scratch)
{
    wino_job j = { p, x, y, bias, res, res_in_y, epi, scratch };
    int64_t chunks = (p->ty * p->tx + p->tc - 1) / p->tc;
    blas_gemm_threads(1);
    blas_parallel_for(p->threads, chunks, 1, wino_task, &j);
}
