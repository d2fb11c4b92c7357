/*
 * Winograd F(2x2, 3x3), F(3x3, 3x3) and F(4x4, 3x3) for the blas Conv:
 * stride-1 3x3 convolutions with one group, any dilation and pads, the bulk
 * of a dilated ResNet-50's work and of DeepLab's ASPP.
 *
 * A tile of r x r outputs (r = 2, 3 or 4) comes from an a x a input patch d
 * (a = r + 2) with a*a multiplications per input channel instead of 9*r*r
 * (Lavin & Gray 2016):
 *     Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * with g the 3x3 kernel; the matrices come from polynomial interpolation at
 * a - 1 points and infinity. F(2x2) (16 instead of 36 multiplies, 2.25x
 * fewer), points 0, 1, -1:
 *     B^T = | 1  0 -1  0 |   G = | 1    0    0  |   A^T = | 1  1  1  0 |
 *           | 0  1  1  0 |       | 1/2  1/2  1/2|         | 0  1 -1 -1 |
 *           | 0 -1  1  0 |       | 1/2 -1/2  1/2|
 *           | 0  1  0 -1 |       | 0    0    1  |
 * F(3x3) (25 instead of 81, 3.24x), points 0, 1, -1, -2:
 *     B^T = | 2  1 -2 -1  0 |   G = |  1/2   0    0  |   A^T = | 1  1  1  1  0 |
 *           | 0  2  3  1  0 |       |  1/6  1/6  1/6 |         | 0  1 -1 -2  0 |
 *           | 0 -2  1  1  0 |       |  1/2 -1/2  1/2 |         | 0  1  1  4  1 |
 *           | 0 -1  0  1  0 |       | -1/6  1/3 -2/3 |
 *           | 0 -2 -1  2  1 |       |  0    0    1   |
 * F(4x4) (36 instead of 144, 4x), points 0, 1, -1, 1/2, -2:
 *     B^T = | 2 -3 -4  3  2  0 |  G = |  1/2    0     0   |
 *           | 0 -2  1  5  2  0 |      |  1/6   1/6   1/6  |
 *           | 0  2 -5  1  2  0 |      | -1/6   1/6  -1/6  |
 *           | 0 -2 -1  2  1  0 |      | -16/15 -8/15 -4/15|
 *           | 0  1 -2 -1  2  0 |      |  1/30 -1/15  2/15 |
 *           | 0  2 -3 -4  3  2 |      |  0     0     1/2  |
 *     A^T = | 1  1  1  1     1  0 |
 *           | 0  1 -1  1/2  -2  0 |
 *           | 0  1  1  1/4   4  0 |
 *           | 0  1 -1  1/8  -8  1 |
 * (rows of B^T scaled to integers, G's rows divided to match). The points
 * were chosen by simulating each set in float32 on a 512-channel layer with
 * He-initialised weights: largest error 7e-6 of max|y| for these F(4x4)
 * points against 1.9e-5 for the usual 0, +-1, +-2; 5.9e-6 for F(3x3) (5.9e-6
 * to 1.1e-5 for the other sets tried); direct summation 1.2e-6 and F(2x2)
 * 0.9e-6. With dilation d a tile is the outputs (oy + i*d, ox + j*d), i, j
 * < r, and the patch is spaced d apart, so dilated layers cost the same as
 * plain ones.
 *
 * The a*a element-wise products summed over channels are a*a GEMMs:
 *     M_k (M x tiles) = U_k (M x C) * V_k (C x tiles),  k < a*a.
 * U = G g G^T would be a*a/9 times the weights' memory (4x for F(4x4): 150
 * MB for FCN's 2048->512 head alone), so it is not kept: it is transformed
 * from the weights for each block of output channels and input channels
 * just before its GEMMs, which costs a few percent of them as long as a
 * pass covers a few hundred tiles. One pass covers all the tiles of an image
 * when M (a*a x M x tiles) fits WINO_M_BYTES. Within a pass, for each chunk
 * of input channels, the threads first build V_k for all tiles (split by
 * channels), then each takes a block of output channels: transforms its U,
 * runs the a*a GEMMs into M. Last, A^T M A and the epilogue (split by output
 * channels). The transforms work on WINO_LANES tiles (or input channels, for
 * U) at once, so that they vectorise.
 */
#include <string.h>

#include <cblas.h>

#include "blas.h"

/* M, the GEMMs' output for all tiles of a pass, is at most this big; V (one
 * chunk of channels) about WINO_V_BYTES, with at least WINO_MIN_CC channels
 * (K of the GEMMs: each GEMM call reads and writes its block of M once). */
#define WINO_M_BYTES ((size_t)24 << 20)
#define WINO_V_BYTES ((size_t)12 << 20)
#define WINO_MIN_CC 128
#define WINO_MAX_A 6
#define WINO_LANES 8

struct blas_wino {
    int64_t m, c, h, w, oh, ow, dh, dw, pt, pl;
    int threads;
    int r, a, nk;             /* outputs per tile side, patch side r + 2, a*a GEMMs */
    int64_t ty, tx;           /* tile rows / columns */
    int32_t *top, *left;      /* first output row / column of each tile row / column */
    int64_t tc;               /* tiles per pass */
    int64_t ldt;              /* tc rounded up to whole vectors: row length of V and M */
    int64_t cc;               /* input channels per chunk */
    int64_t ldu;              /* cc rounded up to whole vectors: row length of a U block */
    int64_t mb;               /* output channels per GEMM block */
    int32_t off[WINO_MAX_A * WINO_MAX_A]; /* patch element (i, j) from the patch's first one */
};

/* Input offsets of one tile's patch: row starts and columns, -1 outside. */
typedef struct wino_patch {
    int32_t rows[WINO_MAX_A], cols[WINO_MAX_A];
    int32_t inside;           /* the whole patch is inside: no checks */
} wino_patch;

/* WINO_LANES floats as one value (GCC's and Clang's vector extension), so
 * that the transforms are vector code on any target: one AVX register in the
 * x86-64-v3 clone, two SSE ones in the baseline. aligned(4): loads and
 * stores at any float. */
typedef float wino_vec __attribute__((vector_size(WINO_LANES * sizeof(float)), aligned(4)));
typedef float wino_lanes[WINO_LANES];

/* ---- scratch: M [m][nk][ldt], V [cc][nk][ldt], patches [tc], then one U
 * block [mb][nk][ldu] per worker. M_k, V_k and U_k are matrices with row
 * stride nk times the row length, so that each channel's nk rows, which a
 * transform writes or reads together, are close. ---- */

static size_t wino_ublock_floats(const blas_wino *p)
{
    return (size_t)(p->nk * p->mb * p->ldu);
}

static size_t wino_patch_floats(const blas_wino *p)
{
    return ((size_t)p->tc * sizeof(wino_patch) + sizeof(float) - 1) / sizeof(float);
}

static size_t wino_scratch_floats(const blas_wino *p)
{
    return (size_t)(p->nk * p->ldt * (p->m + p->cc)) + wino_patch_floats(p) +
           (size_t)p->threads * wino_ublock_floats(p);
}

/* Output rows (or columns) grouped into runs {o, o+d, ..., o+(r-1)d} of the
 * same residue modulo d: the first of each run, in order. Returns the count. */
static int64_t wino_runs(int64_t out, int64_t d, int r, int32_t *first)
{
    int64_t k = 0;
    for (int64_t res = 0; res < d && res < out; res++)
        for (int64_t o = res; o < out; o += r * d) {
            if (first) first[k] = (int32_t)o;
            k++;
        }
    return k;
}

int64_t blas_wino_tiles(int64_t out, int64_t d, int r)
{
    return wino_runs(out, d, r, NULL);
}

/* ---- the three transforms on one line of WINO_LANES tiles (or kernels):
 * o[i*os] = (T x)[i] for x[j*xs] ---- */

static inline void wino2_g(const wino_vec *x, int xs, wino_vec *o, int os)
{
    wino_vec x0 = x[0], x1 = x[xs], x2 = x[2 * xs];
    o[0] = x0;
    o[os] = 0.5f * (x0 + x1 + x2);
    o[2 * os] = 0.5f * (x0 - x1 + x2);
    o[3 * os] = x2;
}

static inline void wino3_g(const wino_vec *x, int xs, wino_vec *o, int os)
{
    wino_vec x0 = x[0], x1 = x[xs], x2 = x[2 * xs];
    o[0] = 0.5f * x0;
    o[os] = (1.0f / 6.0f) * (x0 + x1 + x2);
    o[2 * os] = 0.5f * (x0 - x1 + x2);
    o[3 * os] = (1.0f / 6.0f) * (2.0f * x1 - x0 - 4.0f * x2);
    o[4 * os] = x2;
}

static inline void wino4_g(const wino_vec *x, int xs, wino_vec *o, int os)
{
    wino_vec x0 = x[0], x1 = x[xs], x2 = x[2 * xs];
    o[0] = 0.5f * x0;
    o[os] = (1.0f / 6.0f) * (x0 + x1 + x2);
    o[2 * os] = (1.0f / 6.0f) * (x1 - x0 - x2);
    o[3 * os] = (-4.0f / 15.0f) * (4.0f * x0 + 2.0f * x1 + x2);
    o[4 * os] = (1.0f / 30.0f) * (x0 - 2.0f * x1 + 4.0f * x2);
    o[5 * os] = 0.5f * x2;
}

static inline void wino2_bt(const wino_vec *x, int xs, wino_vec *o, int os)
{
    wino_vec x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs];
    o[0] = x0 - x2;
    o[os] = x1 + x2;
    o[2 * os] = x2 - x1;
    o[3 * os] = x1 - x3;
}

static inline void wino3_bt(const wino_vec *x, int xs, wino_vec *o, int os)
{
    wino_vec x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs], x4 = x[4 * xs];
    o[0] = 2.0f * (x0 - x2) + x1 - x3;
    o[os] = 2.0f * x1 + 3.0f * x2 + x3;
    o[2 * os] = x2 + x3 - 2.0f * x1;
    o[3 * os] = x3 - x1;
    o[4 * os] = 2.0f * (x3 - x1) - x2 + x4;
}

static inline void wino4_bt(const wino_vec *x, int xs, wino_vec *o, int os)
{
    wino_vec x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs], x4 = x[4 * xs], x5 = x[5 * xs];
    o[0] = 2.0f * (x0 + x4) - 3.0f * (x1 - x3) - 4.0f * x2;
    o[os] = 2.0f * (x4 - x1) + x2 + 5.0f * x3;
    o[2 * os] = 2.0f * (x1 + x4) - 5.0f * x2 + x3;
    o[3 * os] = 2.0f * (x3 - x1) - x2 + x4;
    o[4 * os] = 2.0f * (x4 - x2) + x1 - x3;
    o[5 * os] = 2.0f * (x1 + x5) - 3.0f * (x2 - x4) - 4.0f * x3;
}

static inline void wino2_at(const wino_vec *x, int xs, wino_vec *o, int os)
{
    wino_vec x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs];
    o[0] = x0 + x1 + x2;
    o[os] = x1 - x2 - x3;
}

static inline void wino3_at(const wino_vec *x, int xs, wino_vec *o, int os)
{
    wino_vec x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs], x4 = x[4 * xs];
    o[0] = x0 + x1 + x2 + x3;
    o[os] = x1 - x2 - 2.0f * x3;
    o[2 * os] = x1 + x2 + 4.0f * x3 + x4;
}

static inline void wino4_at(const wino_vec *x, int xs, wino_vec *o, int os)
{
    wino_vec x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs], x4 = x[4 * xs], x5 = x[5 * xs];
    wino_vec sp = x1 + x2, sm = x1 - x2;
    o[0] = x0 + sp + x3 + x4;
    o[os] = sm + 0.5f * x3 - 2.0f * x4;
    o[2 * os] = sp + 0.25f * x3 + 4.0f * x4;
    o[3 * os] = sm + 0.125f * x3 - 8.0f * x4 + x5;
}

/* The transform of tile size r. */
static inline void wino_g(int r, const wino_vec *x, int xs, wino_vec *o, int os)
{
    if (r == 2) wino2_g(x, xs, o, os);
    else if (r == 3) wino3_g(x, xs, o, os);
    else wino4_g(x, xs, o, os);
}

static inline void wino_bt(int r, const wino_vec *x, int xs, wino_vec *o, int os)
{
    if (r == 2) wino2_bt(x, xs, o, os);
    else if (r == 3) wino3_bt(x, xs, o, os);
    else wino4_bt(x, xs, o, os);
}

static inline void wino_at(int r, const wino_vec *x, int xs, wino_vec *o, int os)
{
    if (r == 2) wino2_at(x, xs, o, os);
    else if (r == 3) wino3_at(x, xs, o, os);
    else wino4_at(x, xs, o, os);
}

/* ---- weights: U = G g G^T for a block of output x input channels ---- */

/* U[i][k][j] (row length ldu) for output channels [i0, i0+ni) and input
 * channels [c0, c0+nc) of w [m][c][3][3]; rows padded to whole vectors.
 * One output channel's rows lie together, so that the stores stay in L1. */
BLAS_HOT
static void wino_weights(const blas_wino *p, const float *w, int64_t i0, int64_t ni, int64_t c0, int64_t nc,
                         float *u)
{
    const int a = p->a;
    const int64_t stride = p->ldu;
    const int os = (int)(p->ldu / WINO_LANES);
    wino_lanes g[9];
    wino_vec t[WINO_MAX_A * 3];
    for (int64_t i = 0; i < ni; i++) {
        const float *wi = w + ((i0 + i) * p->c + c0) * 9;
        float *ui = u + i * p->nk * p->ldu;
        for (int64_t j = 0; j < nc; j += WINO_LANES) {
            int n = nc - j < WINO_LANES ? (int)(nc - j) : WINO_LANES;
            for (int l = 0; l < WINO_LANES; l++)
                for (int q = 0; q < 9; q++) g[q][l] = l < n ? wi[(j + l) * 9 + q] : 0.0f;
            const wino_vec *gv = (const wino_vec *)g;
            for (int col = 0; col < 3; col++)        /* G g, column by column: t is a x 3 */
                wino_g(p->r, gv + col, 3, t + col, 3);
            for (int row = 0; row < a; row++) {      /* (G g) G^T, row by row, into U */
                wino_vec *o = (wino_vec *)(ui + row * a * stride + j);
                wino_g(p->r, t + row * 3, 1, o, os);
            }
        }
    }
}

/* ---- input: V = B^T d B ---- */

/* Sets the patches of tiles [t0, t0+nt). */
static void wino_patches(const blas_wino *p, int64_t t0, int64_t nt, wino_patch *pt)
{
    for (int64_t ti = 0; ti < nt; ti++) {
        int64_t t = t0 + ti;
        int64_t iy0 = p->top[t / p->tx] - p->pt, ix0 = p->left[t % p->tx] - p->pl;
        pt[ti].inside = 1;
        for (int i = 0; i < p->a; i++) {
            int64_t iy = iy0 + i * p->dh, ix = ix0 + i * p->dw;
            pt[ti].rows[i] = iy >= 0 && iy < p->h ? (int32_t)(iy * p->w) : -1;
            pt[ti].cols[i] = ix >= 0 && ix < p->w ? (int32_t)ix : -1;
            if (pt[ti].rows[i] < 0 || pt[ti].cols[i] < 0) pt[ti].inside = 0;
        }
    }
}

/* d[i*a + j][l] = the patch of tile q[l] in channel xc, zeros outside the
 * input and for lanes >= n. */
static inline void wino_gather(const blas_wino *p, const float *xc, const wino_patch *q, int n, wino_lanes *d)
{
    const int a = p->a;
    for (int l = 0; l < WINO_LANES; l++) {
        if (l >= n) {
            for (int i = 0; i < a * a; i++) d[i][l] = 0.0f;
        } else if (q[l].inside) {
            const float *b = xc + q[l].rows[0] + q[l].cols[0];
            for (int i = 0; i < a * a; i++) d[i][l] = b[p->off[i]];
        } else {
            for (int i = 0; i < a; i++)
                for (int j = 0; j < a; j++)
                    d[i * a + j][l] = q[l].rows[i] >= 0 && q[l].cols[j] >= 0 ? xc[q[l].rows[i] + q[l].cols[j]] : 0.0f;
        }
    }
}

/* (B^T d B)[k] of the nt tiles of pt in channel xc, into v[k*stride + ti]
 * (this channel's rows of V). */
BLAS_HOT
static void wino_input(const blas_wino *p, const float *xc, const wino_patch *pt, int64_t nt, float *v,
                       int64_t stride)
{
    const int a = p->a;
    const int os = (int)(stride / WINO_LANES);
    wino_lanes d[WINO_MAX_A * WINO_MAX_A];
    wino_vec t[WINO_MAX_A * WINO_MAX_A];
    const wino_vec *dv = (const wino_vec *)d;
    for (int64_t ti = 0; ti < nt; ti += WINO_LANES) {
        int n = nt - ti < WINO_LANES ? (int)(nt - ti) : WINO_LANES;
        wino_gather(p, xc, pt + ti, n, d);
        for (int j = 0; j < a; j++)                 /* B^T d, column by column */
            wino_bt(p->r, dv + j, a, t + j, a);
        for (int i = 0; i < a; i++) {               /* (B^T d) B, row by row, into V */
            wino_vec *o = (wino_vec *)(v + i * a * stride + ti);
            wino_bt(p->r, t + i * a, 1, o, os);
        }
    }
}

/* ---- one pass: the jobs the threads share ---- */

typedef struct wino_job {
    const blas_wino *p;
    const float *w, *x;
    float *y;
    const float *bias, *res;
    int res_in_y;
    const blas_epilogue *epi;
    float *mo, *v, *ublk;     /* M, V, the workers' U blocks */
    const wino_patch *pt;
    int64_t t0, nt, c0, nc;   /* this pass's tiles, this chunk's channels */
} wino_job;

static void wino_input_task(void *arg, int64_t begin, int64_t end, int worker)
{
    (void)worker;
    const wino_job *j = arg;
    const blas_wino *p = j->p;
    const int64_t hw = p->h * p->w;
    for (int64_t cj = begin; cj < end; cj++)
        wino_input(p, j->x + (j->c0 + cj) * hw, j->pt, j->nt, j->v + cj * p->nk * p->ldt, p->ldt);
}

/* Block `b` of output channels: its U for this chunk, then nk GEMMs into M. */
static void wino_gemm_task(void *arg, int64_t begin, int64_t end, int worker)
{
    const wino_job *j = arg;
    const blas_wino *p = j->p;
    float *u = j->ublk + (size_t)worker * wino_ublock_floats(p);
    for (int64_t b = begin; b < end; b++) {
        int64_t i0 = b * p->mb, ni = p->m - i0 < p->mb ? p->m - i0 : p->mb;
        wino_weights(p, j->w, i0, ni, j->c0, j->nc, u);
        for (int k = 0; k < p->nk; k++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)ni, (int)j->nt, (int)j->nc, 1.0f,
                        u + k * p->ldu, (int)(p->nk * p->ldu), j->v + k * p->ldt, (int)(p->nk * p->ldt),
                        j->c0 ? 1.0f : 0.0f, j->mo + (i0 * p->nk + k) * p->ldt, (int)(p->nk * p->ldt));
    }
}

/* ---- output: Y = A^T M A, then the epilogue ---- */

/* y[i*r + j][l] = (A^T m A)[i][j] for m[k][l] = mo[k*stride + l]. */
static inline void wino_output_lanes(int a, const float *mo, int64_t stride, wino_vec *y)
{
    const int r = a - 2;
    const wino_vec *q = (const wino_vec *)mo;
    const int qs = (int)(stride / WINO_LANES);
    wino_vec t[4 * WINO_MAX_A];
    for (int j = 0; j < a; j++)                     /* A^T m, column by column: t is r x a */
        wino_at(r, q + j * qs, a * qs, t + j, a);
    for (int i = 0; i < r; i++)                     /* (A^T m) A, row by row */
        wino_at(r, t + i * a, 1, y + i * r, 1);
}

/* Y for output channels [begin, end) and this pass's tiles, with bias,
 * residual and act. */
BLAS_HOT
static void wino_output_task(void *arg, int64_t begin, int64_t end, int worker)
{
    (void)worker;
    const wino_job *j = arg;
    const blas_wino *p = j->p;
    const blas_epilogue *e = j->epi;
    const int r = p->r;
    const int64_t ohw = p->oh * p->ow, stride = p->ldt;
    wino_vec y[16];
    for (int64_t i = begin; i < end; i++) {
        const float b = j->bias ? j->bias[i] : 0.0f;
        float *yc = j->y + i * ohw;
        const float *rc = j->res_in_y ? yc : j->res ? j->res + i * ohw : NULL;
        for (int64_t ti = 0; ti < j->nt; ti += WINO_LANES) {
            int n = j->nt - ti < WINO_LANES ? (int)(j->nt - ti) : WINO_LANES;
            wino_output_lanes(p->a, j->mo + i * p->nk * p->ldt + ti, stride, y);
            for (int l = 0; l < n; l++) {
                int64_t t = j->t0 + ti + l;
                int64_t oy = p->top[t / p->tx], ox = p->left[t % p->tx];
                for (int u = 0; u < r && oy + u * p->dh < p->oh; u++) {
                    int64_t row = (oy + u * p->dh) * p->ow;
                    for (int s = 0; s < r && ox + s * p->dw < p->ow; s++) {
                        int64_t at = row + ox + s * p->dw;
                        float v = y[u * r + s][l] + b;
                        if (rc) v += rc[at];
                        yc[at] = blas_act(e->act, v, e->lo, e->hi);
                    }
                }
            }
        }
    }
}

/* ---- plan, create, run ---- */

static int64_t wino_round(int64_t v, int64_t to)
{
    return (v + to - 1) / to * to;
}

/* Tiles per pass, channels per chunk, output channels per GEMM block. */
static void wino_plan(blas_wino *p)
{
    const int64_t tiles = p->ty * p->tx;
    const int64_t min_cc = p->c < WINO_MIN_CC ? p->c : WINO_MIN_CC;
    int64_t tmax = (int64_t)(WINO_M_BYTES / sizeof(float)) / (p->nk * p->m);
    int64_t vmax = (int64_t)(WINO_V_BYTES / sizeof(float)) / (p->nk * min_cc);
    if (tmax > vmax) tmax = vmax;       /* so that V stays near WINO_V_BYTES too */
    if (tmax < 64) tmax = 64;
    int64_t passes = (tiles + tmax - 1) / tmax;
    p->tc = (tiles + passes - 1) / passes;
    p->ldt = wino_round(p->tc, WINO_LANES);
    int64_t cc = (int64_t)(WINO_V_BYTES / sizeof(float)) / (p->nk * p->ldt);
    if (cc < min_cc) cc = min_cc;
    if (cc > p->c) cc = p->c;
    int64_t chunks = (p->c + cc - 1) / cc;
    p->cc = (p->c + chunks - 1) / chunks;           /* even chunks */
    p->ldu = wino_round(p->cc, WINO_LANES);
    /* one block per thread: each block's GEMMs repack V_k, so more blocks
     * cost more (measured, 2 threads: four blocks per thread 5-15% slower) */
    int64_t mb = wino_round((p->m + p->threads - 1) / p->threads, 16);
    if (mb < 32) mb = 32;
    p->mb = mb < p->m ? mb : p->m;
}

blas_wino *blas_wino_create(int64_t m, int64_t c, int64_t h, int64_t wd, int64_t oh, int64_t ow, int64_t dh,
                            int64_t dw, int64_t pt, int64_t pl, int r, int threads, size_t *scratch_bytes)
{
    if (r < 2 || r > 4 || h * wd > INT32_MAX) return NULL;   /* patch offsets are 32-bit */
    blas_wino *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    *p = (blas_wino){ .m = m, .c = c, .h = h, .w = wd, .oh = oh, .ow = ow, .dh = dh, .dw = dw, .pt = pt,
                      .pl = pl, .threads = threads, .r = r, .a = r + 2, .nk = (r + 2) * (r + 2) };
    p->ty = wino_runs(oh, dh, r, NULL);
    p->tx = wino_runs(ow, dw, r, NULL);
    p->top = malloc((size_t)p->ty * sizeof(int32_t));
    p->left = malloc((size_t)p->tx * sizeof(int32_t));
    if (!p->top || !p->left) {
        blas_wino_destroy(p);
        return NULL;
    }
    wino_runs(oh, dh, r, p->top);
    wino_runs(ow, dw, r, p->left);
    for (int i = 0; i < p->a; i++)
        for (int j = 0; j < p->a; j++) p->off[i * p->a + j] = (int32_t)(i * dh * wd + j * dw);
    wino_plan(p);
    *scratch_bytes = wino_scratch_floats(p) * sizeof(float);
    return p;
}

void blas_wino_destroy(blas_wino *p)
{
    if (!p) return;
    free(p->top);
    free(p->left);
    free(p);
}

void blas_wino_run(const blas_wino *p, const float *w, const float *x, float *y, const float *bias,
                   const float *res, int res_in_y, const blas_epilogue *epi, float *scratch)
{
    wino_job j = { .p = p, .w = w, .x = x, .y = y, .bias = bias, .res = res, .res_in_y = res_in_y, .epi = epi };
    j.mo = scratch;
    j.v = j.mo + p->nk * p->m * p->ldt;
    wino_patch *pt = (wino_patch *)(j.v + p->nk * p->cc * p->ldt);
    j.pt = pt;
    j.ublk = (float *)pt + wino_patch_floats(p);
    const int64_t tiles = p->ty * p->tx, blocks = (p->m + p->mb - 1) / p->mb;
    blas_gemm_threads(1);
    for (j.t0 = 0; j.t0 < tiles; j.t0 += p->tc) {
        j.nt = tiles - j.t0 < p->tc ? tiles - j.t0 : p->tc;
        wino_patches(p, j.t0, j.nt, pt);
        for (j.c0 = 0; j.c0 < p->c; j.c0 += p->cc) {
            j.nc = p->c - j.c0 < p->cc ? p->c - j.c0 : p->cc;
            blas_parallel_for(p->threads, j.nc, 0, wino_input_task, &j);
            blas_parallel_for(p->threads, blocks, 1, wino_gemm_task, &j);
        }
        blas_parallel_for(p->threads, p->m, 0, wino_output_task, &j);
    }
}
