/*
 * Conv (2-D, NCHW, float32) on OpenBLAS.
 *
 * ONNX: Y[n,m,oy,ox] = B[m] + sum over c in m's group, ky, kx of
 *   X[n,c, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw] * W[m,c',ky,kx]
 * with zeros outside X. pads are [top, left, bottom, right]; auto_pad
 * SAME_UPPER/SAME_LOWER put the odd pad at the end/start; VALID means none.
 * The output dims come from shape inference, so only the leading pads matter.
 *
 * Three paths, chosen at load time:
 *  - 1x1, stride 1, no pad: per group Y = W * X is one GEMM straight on the
 *    input, no copy; the columns (pixels) are split between the threads.
 *  - depthwise (one input channel per group): a direct loop per channel, since
 *    a GEMM per group would be a 1-row GEMM (conv_depthwise.c).
 *  - everything else: im2col in tiles of output rows (at least ~512 pixels,
 *    so the GEMM stays wide) and, for deep layers, chunks of input channels
 *    (accumulated with beta = 1), so a column buffer stays a few MB and never
 *    becomes the whole 9x-the-input matrix. Each thread claims tiles, owns a
 *    slice of the scratch buffer and calls OpenBLAS single-threaded (so the
 *    im2col copies and the epilogue run in parallel too, not only the GEMM).
 * Bias, a residual Add and Relu/Clip are applied to each tile right after its
 * GEMM. A residual that shares memory with Y is folded in as GEMM's beta = 1.
 *
 * Dead taps: a kernel tap (ky, kx) that reads only padding for every output
 * pixel (DeepLab's ASPP at rate 24 or 36 on a 33x33 map) is dropped from K
 * at load, with the weights repacked without it; when only the centre tap
 * survives, the layer is a 1x1 GEMM. When taps are dead only for some output
 * rows or columns (ASPP's rates 24/36 on a 65x65 map: the top taps read
 * padding above row 24, the left ones left of column 24), the "banded" path
 * cuts the output into rectangles, bands of rows by bands of columns, each
 * with a constant set of live taps, and runs GEMMs over those taps only, with
 * the weights repacked tap-major ([m][tap][c]) so that any run of taps is one
 * contiguous block of K. A rectangle narrower than the output is computed
 * into a buffer and then added into Y's rows with the epilogue. It pays for
 * itself when it skips at least 15% of the work.
 *
 * Winograd: stride-1, one-group 3x3 layers (the dilated ResNet-50's 3x3s,
 * DeepLab's ASPP, FCN's head) go to conv_winograd.c, F(4x4, 3x3) on 36 GEMMs
 * (4x fewer multiplies), F(3x3, 3x3) on 25 (3.2x) or F(2x2, 3x3) on 16
 * (2.25x), when its estimated cost beats the (banded) im2col's; see
 * conv_winograd_tile.
 *
 * Weights: ONNX's [M][C/group][kh][kw] is already the row-major M x K matrix
 * every path wants, so "packing" is the identity and we do not keep a second
 * copy: the run uses the constant weight tensor the host passes (a copy of a
 * ResNet-50's weights would double the resident memory for nothing).
 */
#include <string.h>

#include <cblas.h>

#include "blas.h"

/* Column-buffer bytes per thread we aim for. A tile has at least
 * CONV_MIN_TILE_COLS pixels (a narrower GEMM repacks the weights too often);
 * deeper layers are then cut into channel chunks of at least
 * CONV_MIN_CHUNK_K rows of K to fit. */
#define CONV_TILE_BYTES ((size_t)4 << 20)
#define CONV_MIN_TILE_COLS 512
#define CONV_MIN_CHUNK_K 256
/* Up to this K (input channels x live taps per group) the 1x1 and im2col
 * paths multiply with blas_small_gemm, the epilogue fused, instead of
 * OpenBLAS; its column tiles then aim at CONV_SMALL_TILE_BYTES of column
 * buffer, so that the buffer stays in L2 while it is read. Measured at one
 * thread (minimum of 20 runs): K = 16 (16->64 at 260x260) 13 -> 5-7 ms, K =
 * 32 (32->96 at 130x130) 3.5 -> 2.9 ms, K = 24 and the 3-channel 3x3 stem
 * (K = 27) about even, K = 40 and 64 10-20% slower than OpenBLAS. */
#define CONV_SMALL_K 32
#define CONV_SMALL_TILE_BYTES ((size_t)256 << 10)

enum { CONV_GEMM_1X1, CONV_IM2COL, CONV_DEPTHWISE, CONV_WINOGRAD };

typedef struct conv_state {
    int kind;
    int threads;
    int64_t n, c, h, w;        /* input */
    int64_t m, oh, ow;         /* output */
    int64_t kh, kw, sh, sw, dh, dw, pt, pl;
    int64_t group, cg, mg, k;  /* channels per group in/out, K = cg*kh*kw */
    int64_t tiles;             /* im2col: row tiles per (image, group) */
    int64_t tile_rows;         /* im2col: most output rows in one tile */
    int64_t cchunk;            /* im2col: input channels per GEMM */
    int64_t nt;                /* live kernel taps */
    int32_t *taps;             /* their indices ky*kw + kx */
    int64_t wk;                /* row length of the weight matrix in use: cg * nt */
    float *packed;             /* weights without dead taps, or NULL: use W as given */
    /* banded path */
    int banded;
    float *tmaj;               /* [m][nt][cg] */
    int64_t nbt;               /* tiles */
    int64_t *bt_oy0, *bt_rows; /* first output row and row count of each tile */
    int64_t *bt_ox0, *bt_ox1;  /* its output columns [ox0, ox1) */
    uint64_t *bt_live;         /* its live taps: bit ti for taps[ti] */
    int64_t bt_pix;            /* most pixels in one tile */
    int64_t tpc;               /* taps per GEMM */
    int small;                 /* 1x1/im2col: blas_small_gemm instead of sgemm */
    blas_wino *wino;           /* Winograd path */
    blas_dw *dwp;              /* depthwise path */
    size_t dw_plane;           /* depthwise: scratch floats per worker */
    float *bias;               /* [m] or NULL */
    blas_epilogue epi;
    int bias_input;            /* input index of B, or -1 */
    char name[96];             /* for error lines; the node may not outlive us */
} conv_state;

static int conv_attr_pair(const semseg_node_info *n, const char *name, int64_t def,
                          int64_t *a, int64_t *b)
{
    const int64_t *v;
    int64_t cnt = semseg_attr_ints(n, name, &v);
    if (cnt < 0) { *a = *b = def; return 1; }
    if (cnt != 2) return 0;
    *a = v[0];
    *b = v[1];
    return 1;
}

static semseg_support conv_supports(const blas_ctx *ctx, const semseg_node_info *n)
{
    (void)ctx;
    if (n->n_inputs < 2 || n->n_outputs != 1) return SEMSEG_SUPPORT_NO;
    if (!blas_all_float(n, 4) || n->inputs[0].rank != 4 || n->inputs[1].rank != 4)
        return SEMSEG_SUPPORT_NO;
    if (!n->inputs[1].data) return SEMSEG_SUPPORT_NO;           /* weights must be constant */
    blas_epilogue e;
    int fused = blas_epilogue_from_node(n, 2, &e);
    int bias_in = 2;
    if (fused && e.residual == 2) bias_in = -1;
    if (bias_in >= 0 && semseg_input_present(n, bias_in) &&
        (!n->inputs[bias_in].data || n->inputs[bias_in].rank != 1))
        return SEMSEG_SUPPORT_NO;
    int64_t a, b;
    if (!conv_attr_pair(n, "strides", 1, &a, &b) || a < 1 || b < 1) return SEMSEG_SUPPORT_NO;
    if (!conv_attr_pair(n, "dilations", 1, &a, &b) || a < 1 || b < 1) return SEMSEG_SUPPORT_NO;
    const int64_t *p;
    int64_t np = semseg_attr_ints(n, "pads", &p);
    if (np >= 0 && np != 4) return SEMSEG_SUPPORT_NO;
    int64_t g = semseg_attr_int(n, "group", 1);
    const int64_t *xd = n->inputs[0].dims, *wd = n->inputs[1].dims;
    if (g < 1 || xd[1] % g || wd[0] % g || wd[1] * g != xd[1]) return SEMSEG_SUPPORT_NO;
    return fused ? SEMSEG_SUPPORT_FUSED : SEMSEG_SUPPORT_YES;
}

/* Chooses row tiles and channel chunks for the im2col path. */
static void conv_plan_tiles(conv_state *s)
{
    const int64_t kk = s->nt;
    int64_t cols = (int64_t)((s->small ? CONV_SMALL_TILE_BYTES : CONV_TILE_BYTES) / sizeof(float)) / s->wk;
    if (cols < CONV_MIN_TILE_COLS) cols = CONV_MIN_TILE_COLS;
    int64_t tiles = s->oh * s->ow / cols;
    if (tiles < 1) tiles = 1;
    /* with one image and one group, a multiple of the threads keeps all busy */
    if (s->n * s->group < s->threads) tiles = (tiles + s->threads - 1) / s->threads * s->threads;
    if (tiles > s->oh) tiles = s->oh;
    s->tiles = tiles;
    s->tile_rows = (s->oh + tiles - 1) / tiles;
    int64_t ncols = s->tile_rows * s->ow;
    int64_t cc = (int64_t)(CONV_TILE_BYTES / sizeof(float)) / (kk * ncols);
    if (cc * kk < CONV_MIN_CHUNK_K) cc = (CONV_MIN_CHUNK_K + kk - 1) / kk;
    if (cc > s->cg) cc = s->cg;
    int64_t chunks = (s->cg + cc - 1) / cc;
    s->cchunk = (s->cg + chunks - 1) / chunks;     /* even chunks */
}

/* True when tap offset `off` (= k*d - pad) reads inside [0, in) for some
 * output index o in [0, out): 0 <= o*stride + off < in. */
static int conv_tap_live(int64_t off, int64_t stride, int64_t in, int64_t out)
{
    int64_t lo = off >= 0 ? 0 : (-off + stride - 1) / stride;   /* first o inside */
    return lo < out && lo * stride + off < in;
}

/* Finds the live taps; repacks the weights without the dead ones. */
static semseg_status conv_find_taps(conv_state *s, const float *w)
{
    const int64_t kk = s->kh * s->kw;
    s->taps = malloc((size_t)kk * sizeof(int32_t));
    if (!s->taps) return SEMSEG_STATUS_NO_MEMORY;
    s->nt = 0;
    for (int64_t ky = 0; ky < s->kh; ky++)
        for (int64_t kx = 0; kx < s->kw; kx++)
            if (conv_tap_live(ky * s->dh - s->pt, s->sh, s->h, s->oh) &&
                conv_tap_live(kx * s->dw - s->pl, s->sw, s->w, s->ow))
                s->taps[s->nt++] = (int32_t)(ky * s->kw + kx);
    if (s->nt == 0) s->taps[s->nt++] = 0;   /* all padding: keep one tap, it reads zeros */
    s->wk = s->cg * s->nt;
    if (s->nt == kk) return SEMSEG_STATUS_OK;
    s->packed = malloc((size_t)(s->m * s->wk) * sizeof(float));
    if (!s->packed) return SEMSEG_STATUS_NO_MEMORY;
    for (int64_t m = 0; m < s->m; m++)
        for (int64_t c = 0; c < s->cg; c++)
            for (int64_t t = 0; t < s->nt; t++)
                s->packed[m * s->wk + c * s->nt + t] = w[(m * s->cg + c) * kk + s->taps[t]];
    return SEMSEG_STATUS_OK;
}

/* Output rows [lo, hi) for which kernel row ky reads inside the input. */
static void conv_ky_rows(const conv_state *s, int64_t ky, int64_t *lo, int64_t *hi)
{
    int64_t off = ky * s->dh - s->pt;       /* iy = oy*sh + off */
    *lo = off >= 0 ? 0 : (-off + s->sh - 1) / s->sh;
    *hi = s->h - off <= 0 ? 0 : (s->h - off + s->sh - 1) / s->sh;
    if (*hi > s->oh) *hi = s->oh;
    if (*lo > *hi) *lo = *hi;
}

static int conv_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Output columns [lo, hi) for which kernel column kx reads inside the input. */
static void conv_kx_cols(const conv_state *s, int64_t kx, int64_t *lo, int64_t *hi)
{
    int64_t off = kx * s->dw - s->pl;       /* ix = ox*sw + off */
    *lo = off >= 0 ? 0 : (-off + s->sw - 1) / s->sw;
    *hi = s->w - off <= 0 ? 0 : (s->w - off + s->sw - 1) / s->sw;
    if (*hi > s->ow) *hi = s->ow;
    if (*lo > *hi) *lo = *hi;
}

/* Sorted, distinct cut points of [0, out) where some kernel row (dim 0) or
 * column (dim 1) starts or stops reading inside the input; returns the count. */
static int64_t conv_cuts(const conv_state *s, int dim, int64_t *cut)
{
    int64_t k = 0, kn = dim ? s->kw : s->kh, out = dim ? s->ow : s->oh;
    cut[k++] = 0;
    cut[k++] = out;
    for (int64_t i = 0; i < kn; i++, k += 2)
        if (dim) conv_kx_cols(s, i, &cut[k], &cut[k + 1]);
        else conv_ky_rows(s, i, &cut[k], &cut[k + 1]);
    qsort(cut, (size_t)k, sizeof(int64_t), conv_cmp_i64);
    int64_t n = 0;
    for (int64_t i = 0; i < k; i++)
        if (n == 0 || cut[i] != cut[n - 1]) cut[n++] = cut[i];
    return n;
}

/* Taps live everywhere in rows [oy0, oy0+rows) x columns [ox0, ox1) (the
 * cuts make "somewhere" and "everywhere" the same), as a bit set. */
static uint64_t conv_live_taps(const conv_state *s, int64_t oy0, int64_t rows, int64_t ox0, int64_t ox1)
{
    uint64_t live = 0;
    for (int64_t ti = 0; ti < s->nt; ti++) {
        int64_t ylo, yhi, xlo, xhi;
        conv_ky_rows(s, s->taps[ti] / s->kw, &ylo, &yhi);
        conv_kx_cols(s, s->taps[ti] % s->kw, &xlo, &xhi);
        if (oy0 < yhi && oy0 + rows > ylo && ox0 < xhi && ox1 > xlo) live |= (uint64_t)1 << ti;
    }
    return live;
}

static int conv_popcount(uint64_t v)
{
    int n = 0;
    for (; v; v &= v - 1) n++;
    return n;
}

/* Fills the tiles: each (row band, column band) rectangle, split into pieces
 * of rows with at least CONV_MIN_TILE_COLS pixels. With `t` NULL only counts
 * them. Returns the tile count; *work gets the live tap-pixels. */
static int64_t conv_fill_tiles(conv_state *s, const int64_t *rc, int64_t nr, const int64_t *cc, int64_t nc,
                               int64_t *work)
{
    int64_t t = 0;
    *work = 0;
    for (int64_t b = 0; b + 1 < nc; b++) {
        int64_t ox0 = cc[b], ox1 = cc[b + 1], wd = ox1 - ox0;
        int64_t rows_per = (CONV_MIN_TILE_COLS + wd - 1) / wd;
        for (int64_t a = 0; a + 1 < nr; a++) {
            int64_t len = rc[a + 1] - rc[a], pieces = (len + rows_per - 1) / rows_per;
            for (int64_t p = 0; p < pieces; p++, t++) {
                int64_t oy0 = rc[a] + p * len / pieces, r = rc[a] + (p + 1) * len / pieces - oy0;
                uint64_t live = conv_live_taps(s, oy0, r, ox0, ox1);
                *work += r * wd * conv_popcount(live);
                if (!s->bt_oy0) continue;
                s->bt_oy0[t] = oy0;
                s->bt_rows[t] = r;
                s->bt_ox0[t] = ox0;
                s->bt_ox1[t] = ox1;
                s->bt_live[t] = live;
                if (r * wd > s->bt_pix) s->bt_pix = r * wd;
            }
        }
    }
    return t;
}

/* Plans the banded path; returns 0 (nothing allocated that matters) when it
 * would not skip enough work, -1 on OOM, 1 when s is set up for it. */
static int conv_plan_bands(conv_state *s, const float *w)
{
    if (s->cg < 64 || s->nt > 64) return 0;   /* per-tap GEMMs would be too thin; one bit per tap */
    int64_t *rc = malloc((size_t)(2 + 2 * s->kh) * sizeof(int64_t));
    int64_t *cc = malloc((size_t)(2 + 2 * s->kw) * sizeof(int64_t));
    if (!rc || !cc) {
        free(rc);
        free(cc);
        return -1;
    }
    int64_t nr = conv_cuts(s, 0, rc), nc = conv_cuts(s, 1, cc), work;
    int64_t nt = conv_fill_tiles(s, rc, nr, cc, nc, &work);
    if (work > s->oh * s->ow * s->nt * 85 / 100) {
        free(rc);
        free(cc);
        return 0;
    }
    s->bt_oy0 = malloc((size_t)nt * sizeof(int64_t));
    s->bt_rows = malloc((size_t)nt * sizeof(int64_t));
    s->bt_ox0 = malloc((size_t)nt * sizeof(int64_t));
    s->bt_ox1 = malloc((size_t)nt * sizeof(int64_t));
    s->bt_live = malloc((size_t)nt * sizeof(uint64_t));
    s->tmaj = malloc((size_t)(s->m * s->nt * s->cg) * sizeof(float));
    if (!s->bt_oy0 || !s->bt_rows || !s->bt_ox0 || !s->bt_ox1 || !s->bt_live || !s->tmaj) {
        free(rc);
        free(cc);
        return -1;
    }
    s->nbt = conv_fill_tiles(s, rc, nr, cc, nc, &work);
    free(rc);
    free(cc);
    const int64_t kk = s->kh * s->kw;
    for (int64_t m = 0; m < s->m; m++)
        for (int64_t ti = 0; ti < s->nt; ti++)
            for (int64_t c = 0; c < s->cg; c++)
                s->tmaj[(m * s->nt + ti) * s->cg + c] = w[(m * s->cg + c) * kk + s->taps[ti]];
    s->tpc = (int64_t)(CONV_TILE_BYTES / sizeof(float)) / (s->cg * s->bt_pix);
    if (s->tpc < 1) s->tpc = 1;
    if (s->tpc > s->nt) s->tpc = s->nt;
    s->banded = 1;
    return 1;
}

/* Scratch floats one worker of the banded path needs: the column buffer and
 * the buffer a rectangle narrower than the output is computed into. */
static size_t conv_banded_scratch(const conv_state *s)
{
    return (size_t)(s->tpc * s->cg * s->bt_pix + s->mg * s->bt_pix);
}

/* Estimated cost of F(r x r): multiplies (a*a per tile, half-empty tiles
 * included) times the cost per multiply relative to im2col's GEMM; k and
 * per_tiles as fitted (see conv_winograd_tile). */
static double conv_winograd_cost(const conv_state *s, int r, double k, double per_tiles)
{
    double t = (double)(blas_wino_tiles(s->oh, s->dh, r) * blas_wino_tiles(s->ow, s->dw, r));
    return (r + 2) * (r + 2) * t * (1.0 + k / (double)s->m + k / (double)s->c + per_tiles / t);
}

/* Picks the cheapest way to compute a stride-1, one-group 3x3 layer:
 * Winograd F(4x4) (36 multiplies per 4x4 output tile and channel pair),
 * F(3x3) (25 per 3x3 tile), F(2x2) (16 per 2x2 tile), or im2col (9 per
 * output; the banded path only the taps that read inside). With dilation d
 * the tiles group outputs d apart, so on a small map a large d leaves short
 * runs per residue modulo d and the tile counts include the half-empty
 * tiles: DeepLab's rate 12 on 65x65 leaves runs of 5 or 6 outputs, which
 * F(3x3) covers with 2 tiles, F(4x4) with 2 and F(2x2) with 3; rate 24
 * runs of 2 or 3. Each count is weighed by its cost per multiply relative to
 * im2col's GEMM, fitted to single-layer CPU times (1 thread, 33x33 to
 * 130x130 maps, 32 to 2048 channels): the transforms cost about
 * (k/m + k/c), k = 70 to 80 (input transform per output channel, output
 * transform per input channel), the weights' transform, done per run, about
 * 20 to 38 / tiles, and the banded path's small GEMMs 30%. Returns the tile
 * size r (2 to 4), or 0 for im2col. */
static int conv_winograd_tile(const conv_state *s)
{
    if (s->kh != 3 || s->kw != 3 || s->sh != 1 || s->sw != 1 || s->group != 1 || s->h * s->w > INT32_MAX)
        return 0;                   /* (conv_winograd.c's patch offsets are 32-bit) */
    int64_t rows = 0, cols = 0;   /* the banded path's count: live rows x live columns per tap */
    for (int64_t k = 0; k < 3; k++) {
        int64_t lo, hi;
        conv_ky_rows(s, k, &lo, &hi);
        rows += hi - lo;
        conv_kx_cols(s, k, &lo, &hi);
        cols += hi - lo;
    }
    const double full = (double)(s->oh * s->ow * s->nt);
    double best = (double)(rows * cols);
    best = s->cg >= 64 && best <= 0.85 * full ? 1.3 * best : full;   /* see conv_plan_bands */
    const double cost[3] = { conv_winograd_cost(s, 2, 70.0, 20.0), conv_winograd_cost(s, 3, 75.0, 30.0),
                             conv_winograd_cost(s, 4, 80.0, 38.0) };
    int pick = 0;
    for (int r = 2; r <= 4; r++)
        if (cost[r - 2] < best) {
            best = cost[r - 2];
            pick = r;
        }
    return pick;
}

static void conv_destroy(void *state);

static semseg_status conv_create(const blas_ctx *ctx, const semseg_node_info *n, void **out,
                                 size_t *scratch_bytes, char *err)
{
    if (conv_supports(ctx, n) == SEMSEG_SUPPORT_NO)
        return blas_fail(err, SEMSEG_STATUS_UNSUPPORTED, "Conv '%s': not a 2-D float Conv with constant weights", n->name);
    conv_state *s = calloc(1, sizeof *s);
    if (!s) return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "Conv '%s': out of memory", n->name);
    snprintf(s->name, sizeof s->name, "%s", n->name);
    s->threads = ctx->threads;
    blas_epilogue_from_node(n, 2, &s->epi);
    s->bias_input = (s->epi.residual == 2) ? -1 : 2;
    const int64_t *xd = n->inputs[0].dims, *wd = n->inputs[1].dims, *yd = n->outputs[0].dims;
    s->n = xd[0]; s->c = xd[1]; s->h = xd[2]; s->w = xd[3];
    s->m = yd[1]; s->oh = yd[2]; s->ow = yd[3];
    s->kh = wd[2]; s->kw = wd[3];
    s->group = semseg_attr_int(n, "group", 1);
    s->cg = s->c / s->group;
    s->mg = s->m / s->group;
    s->k = s->cg * s->kh * s->kw;
    conv_attr_pair(n, "strides", 1, &s->sh, &s->sw);
    conv_attr_pair(n, "dilations", 1, &s->dh, &s->dw);
    const char *ap = semseg_attr_string(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
        int64_t th = (s->oh - 1) * s->sh + (s->kh - 1) * s->dh + 1 - s->h;
        int64_t tw = (s->ow - 1) * s->sw + (s->kw - 1) * s->dw + 1 - s->w;
        if (th < 0) th = 0;
        if (tw < 0) tw = 0;
        int lower = ap[5] == 'L';
        s->pt = lower ? (th + 1) / 2 : th / 2;
        s->pl = lower ? (tw + 1) / 2 : tw / 2;
    } else if (strcmp(ap, "VALID") != 0) {
        const int64_t *p;
        if (semseg_attr_ints(n, "pads", &p) == 4) { s->pt = p[0]; s->pl = p[1]; }
    }
    if (wd[0] != yd[1] || yd[0] != xd[0]) {
        free(s);
        return blas_fail(err, SEMSEG_STATUS_MODEL, "Conv '%s': W has %lld filters but Y has %lld channels",
                         n->name, (long long)wd[0], (long long)yd[1]);
    }

    if (s->bias_input >= 0 && semseg_input_present(n, s->bias_input)) {
        int64_t nb = n->inputs[s->bias_input].dims[0];
        if (nb != yd[1]) {
            free(s);
            return blas_fail(err, SEMSEG_STATUS_MODEL, "Conv '%s': B has %lld entries, expected %lld",
                             n->name, (long long)nb, (long long)yd[1]);
        }
        s->bias = blas_copy_floats(n->inputs[s->bias_input].data, s->m);
        if (!s->bias) {
            free(s);
            return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "Conv '%s': out of memory copying B", n->name);
        }
    }

    s->wk = s->k;
    if (s->cg == 1 && s->group > 1) {
        s->kind = CONV_DEPTHWISE;
        s->dwp = blas_dw_create(s->h, s->w, s->oh, s->ow, s->kh, s->kw, s->sh, s->sw, s->dh, s->dw, s->pt, s->pl,
                               &s->dw_plane);
        if (!s->dwp) {
            conv_destroy(s);
            return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "Conv '%s': out of memory", n->name);
        }
        *scratch_bytes = (size_t)s->threads * s->dw_plane * sizeof(float);
        *out = s;
        return SEMSEG_STATUS_OK;
    }
    if (conv_find_taps(s, n->inputs[1].data) != SEMSEG_STATUS_OK) {
        conv_destroy(s);
        return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "Conv '%s': out of memory packing weights", n->name);
    }
    int64_t t = s->taps[0], ky = t / s->kw, kx = t % s->kw;
    s->small = s->wk <= CONV_SMALL_K;
    int wt;
    if (s->nt == 1 && ky * s->dh == s->pt && kx * s->dw == s->pl && s->sh == 1 && s->sw == 1 &&
        s->oh == s->h && s->ow == s->w) {
        s->kind = CONV_GEMM_1X1;   /* a true 1x1, or one whose other taps read only padding */
    } else if ((wt = conv_winograd_tile(s)) != 0) {
        s->kind = CONV_WINOGRAD;
        s->wino = blas_wino_create(s->m, s->c, s->h, s->w, s->oh, s->ow, s->dh, s->dw, s->pt, s->pl, wt,
                                   s->threads, scratch_bytes);
        if (!s->wino) {
            conv_destroy(s);
            return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "Conv '%s': out of memory planning Winograd", n->name);
        }
        free(s->packed);   /* Winograd reads all nine taps of the weights as given */
        s->packed = NULL;
    } else {
        s->kind = CONV_IM2COL;
        int b = s->small ? 0 : conv_plan_bands(s, n->inputs[1].data);
        if (b < 0) {
            conv_destroy(s);
            return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "Conv '%s': out of memory packing weights", n->name);
        }
        if (b > 0) {
            free(s->packed);   /* the tap-major copy replaces it */
            s->packed = NULL;
            *scratch_bytes = (size_t)s->threads * conv_banded_scratch(s) * sizeof(float);
        } else {
            conv_plan_tiles(s);
            *scratch_bytes = (size_t)s->threads * (size_t)(s->cchunk * s->nt * s->tile_rows * s->ow) * sizeof(float);
        }
    }
    *out = s;
    return SEMSEG_STATUS_OK;
}

/* ---- im2col tile ---- */

/* Fills one row of the column matrix: tap `tap` (ky*kw + kx) of input
 * channel xc for output rows [oy0, oy0+rows) and columns [ox0, ox1), zeros
 * where it reads padding. */
static void conv_im2col_row(const conv_state *s, const float *xc, int64_t tap, int64_t oy0, int64_t rows,
                            int64_t ox0, int64_t ox1, float *dst)
{
    const int64_t wd = ox1 - ox0, ky = tap / s->kw, kx = tap % s->kw;
    /* valid ox: 0 <= ox*sw - pl + kx*dw < w */
    int64_t off = kx * s->dw - s->pl, lo, hi;
    conv_kx_cols(s, kx, &lo, &hi);
    lo = lo > ox0 ? lo : ox0;
    hi = hi < ox1 ? hi : ox1;
    if (lo > hi) lo = hi;
    for (int64_t r = 0; r < rows; r++, dst += wd) {
        int64_t iy = (oy0 + r) * s->sh - s->pt + ky * s->dh;
        if (iy < 0 || iy >= s->h || lo == hi) {
            memset(dst, 0, (size_t)wd * sizeof(float));
            continue;
        }
        const float *src = xc + iy * s->w + off;
        memset(dst, 0, (size_t)(lo - ox0) * sizeof(float));
        if (s->sw == 1) {
            memcpy(dst + lo - ox0, src + lo, (size_t)(hi - lo) * sizeof(float));
        } else {
            for (int64_t ox = lo; ox < hi; ox++) dst[ox - ox0] = src[ox * s->sw];
        }
        memset(dst + hi - ox0, 0, (size_t)(ox1 - hi) * sizeof(float));
    }
}

/* Fills col[cc*kh*kw][rows*ow] for output rows [oy0, oy0+rows) and the cc
 * input channels starting at x. */
static void conv_im2col(const conv_state *s, const float *x, int64_t cc, int64_t oy0, int64_t rows, float *col)
{
    const int64_t ow = s->ow, ncols = rows * ow;
    for (int64_t c = 0; c < cc; c++) {
        const float *xc = x + c * s->h * s->w;
        for (int64_t ti = 0; ti < s->nt; ti++) {
            conv_im2col_row(s, xc, s->taps[ti], oy0, rows, 0, ow, col + (c * s->nt + ti) * ncols);
        }
    }
}

typedef struct conv_job {
    const conv_state *s;
    const float *weight;    /* [m][cg*kh*kw], the constant input */
    const float *x;
    float *y;
    const float *res;       /* residual not yet in y, or NULL */
    int res_in_y;           /* residual already in y (aliased): beta = 1 */
    float *scratch;
    int64_t chunk;          /* 1x1: columns per task */
} conv_job;

static void conv_im2col_task(void *arg, int64_t begin, int64_t end, int worker)
{
    const conv_job *j = arg;
    const conv_state *s = j->s;
    const int64_t ohw = s->oh * s->ow;
    const int64_t kk = s->nt, hw = s->h * s->w;
    float *col = j->scratch + (size_t)worker * (size_t)(s->cchunk * kk * s->tile_rows * s->ow);
    for (int64_t t = begin; t < end; t++) {
        int64_t img = t / (s->group * s->tiles);
        int64_t g = (t / s->tiles) % s->group;
        int64_t tile = t % s->tiles;
        int64_t oy0 = tile * s->oh / s->tiles, rows = (tile + 1) * s->oh / s->tiles - oy0;
        const float *x = j->x + (img * s->c + g * s->cg) * hw;
        int64_t ybase = (img * s->m + g * s->mg) * ohw + oy0 * s->ow;
        float *y = j->y + ybase;
        int64_t ncols = rows * s->ow;
        const float *w = j->weight + g * s->mg * s->wk;
        const float *bias = s->bias ? s->bias + g * s->mg : NULL;
        if (s->small) {   /* K fits one chunk (CONV_SMALL_K < CONV_MIN_CHUNK_K) */
            conv_im2col(s, x, s->cg, oy0, rows, col);
            blas_small_gemm(s->mg, ncols, s->wk, w, s->wk, col, ncols, y, ohw, bias, j->res ? j->res + ybase : NULL,
                            ohw, j->res_in_y, &s->epi);
            continue;
        }
        for (int64_t c0 = 0; c0 < s->cg; c0 += s->cchunk) {
            int64_t cc = s->cg - c0 < s->cchunk ? s->cg - c0 : s->cchunk;
            conv_im2col(s, x + c0 * hw, cc, oy0, rows, col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->mg, (int)ncols, (int)(cc * kk),
                        1.0f, w + c0 * kk, (int)s->wk, col, (int)ncols,
                        (c0 > 0 || j->res_in_y) ? 1.0f : 0.0f, y, (int)ohw);
        }
        blas_epilogue_apply(&s->epi, y, ohw, s->mg, ncols, bias, j->res ? j->res + ybase : NULL, ohw);
    }
}

/* Adds a rectangle computed into buf (mg x rows x wd, no bias yet) into Y's
 * rows at y (row stride ow, channel stride ohw), with bias, residual and act. */
static void conv_rect_out(const conv_job *j, const float *buf, float *y, const float *res, const float *bias,
                          int64_t rows, int64_t wd)
{
    const conv_state *s = j->s;
    const int64_t ohw = s->oh * s->ow;
    for (int64_t m = 0; m < s->mg; m++)
        for (int64_t r = 0; r < rows; r++) {
            float *yr = y + m * ohw + r * s->ow;
            const float *br = buf + (m * rows + r) * wd;
            if (j->res_in_y)   /* the residual is Y's own value */
                for (int64_t c = 0; c < wd; c++) yr[c] += br[c];
            else
                memcpy(yr, br, (size_t)wd * sizeof(float));
            blas_epilogue_apply(&s->epi, yr, wd, 1, wd, bias ? bias + m : NULL, res ? res + m * ohw + r * s->ow : NULL,
                                wd);
        }
}

/* GEMMs over the runs of consecutive live taps of one tile (at most tpc taps
 * each), into out (ldo); returns 0 when no tap is live. */
static int conv_banded_gemms(const conv_job *j, const float *x, const float *w, int64_t tile, float *col, float *out,
                             int64_t ldo, int accumulate)
{
    const conv_state *s = j->s;
    const int64_t hw = s->h * s->w, oy0 = s->bt_oy0[tile], rows = s->bt_rows[tile];
    const int64_t ox0 = s->bt_ox0[tile], ox1 = s->bt_ox1[tile], npix = rows * (ox1 - ox0);
    const uint64_t live = s->bt_live[tile];
    int any = 0;
    for (int64_t t0 = 0; t0 < s->nt;) {
        if (!(live >> t0 & 1)) {
            t0++;
            continue;
        }
        int64_t tc = 0;
        while (t0 + tc < s->nt && tc < s->tpc && (live >> (t0 + tc) & 1)) tc++;
        for (int64_t ti = 0; ti < tc; ti++)
            for (int64_t c = 0; c < s->cg; c++)
                conv_im2col_row(s, x + c * hw, s->taps[t0 + ti], oy0, rows, ox0, ox1, col + (ti * s->cg + c) * npix);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->mg, (int)npix, (int)(tc * s->cg),
                    1.0f, w + t0 * s->cg, (int)(s->nt * s->cg), col, (int)npix,
                    (any || accumulate) ? 1.0f : 0.0f, out, (int)ldo);
        any = 1;
        t0 += tc;
    }
    return any;
}

static void conv_banded_task(void *arg, int64_t begin, int64_t end, int worker)
{
    const conv_job *j = arg;
    const conv_state *s = j->s;
    const int64_t ohw = s->oh * s->ow, hw = s->h * s->w;
    float *col = j->scratch + (size_t)worker * conv_banded_scratch(s);
    float *buf = col + s->tpc * s->cg * s->bt_pix;
    for (int64_t t = begin; t < end; t++) {
        int64_t img = t / (s->group * s->nbt);
        int64_t g = (t / s->nbt) % s->group;
        int64_t tile = t % s->nbt;
        int64_t rows = s->bt_rows[tile], ox0 = s->bt_ox0[tile], wd = s->bt_ox1[tile] - ox0;
        const float *x = j->x + (img * s->c + g * s->cg) * hw;
        int64_t ybase = (img * s->m + g * s->mg) * ohw + s->bt_oy0[tile] * s->ow + ox0;
        float *y = j->y + ybase;
        const float *w = s->tmaj + g * s->mg * s->nt * s->cg;
        const float *bias = s->bias ? s->bias + g * s->mg : NULL, *res = j->res ? j->res + ybase : NULL;
        if (wd < s->ow) {   /* a rectangle: computed apart, then added into Y's rows */
            if (!conv_banded_gemms(j, x, w, tile, col, buf, rows * wd, 0))
                memset(buf, 0, (size_t)(s->mg * rows * wd) * sizeof(float));
            conv_rect_out(j, buf, y, res, bias, rows, wd);
            continue;
        }
        if (!conv_banded_gemms(j, x, w, tile, col, y, ohw, j->res_in_y) && !j->res_in_y)
            for (int64_t m = 0; m < s->mg; m++) memset(y + m * ohw, 0, (size_t)(rows * wd) * sizeof(float));
        blas_epilogue_apply(&s->epi, y, ohw, s->mg, rows * wd, bias, res, ohw);
    }
}

static void conv_1x1_task(void *arg, int64_t begin, int64_t end, int worker)
{
    (void)worker;
    const conv_job *j = arg;
    const conv_state *s = j->s;
    const int64_t hw = s->h * s->w;
    const int64_t per = (hw + j->chunk - 1) / j->chunk;   /* chunks per (image, group) */
    for (int64_t t = begin; t < end; t++) {
        int64_t img = t / (s->group * per);
        int64_t g = (t / per) % s->group;
        int64_t c0 = (t % per) * j->chunk;
        int64_t ncols = hw - c0 < j->chunk ? hw - c0 : j->chunk;
        const float *x = j->x + (img * s->c + g * s->cg) * hw + c0;
        int64_t ybase = (img * s->m + g * s->mg) * hw + c0;
        float *y = j->y + ybase;
        const float *w = j->weight + g * s->mg * s->wk, *bias = s->bias ? s->bias + g * s->mg : NULL;
        const float *res = j->res ? j->res + ybase : NULL;
        if (s->small) {
            blas_small_gemm(s->mg, ncols, s->cg, w, s->wk, x, hw, y, hw, bias, res, hw, j->res_in_y, &s->epi);
            continue;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->mg, (int)ncols, (int)s->cg,
                    1.0f, w, (int)s->wk, x, (int)hw, j->res_in_y ? 1.0f : 0.0f, y, (int)hw);
        blas_epilogue_apply(&s->epi, y, hw, s->mg, ncols, bias, res, hw);
    }
}

/* ---- depthwise ---- */

static void conv_dw_task(void *arg, int64_t begin, int64_t end, int worker)
{
    const conv_job *j = arg;
    const conv_state *s = j->s;
    const int64_t ohw = s->oh * s->ow, mult = s->mg;
    float *plane = j->scratch + (size_t)worker * s->dw_plane;
    for (int64_t t = begin; t < end; t++) {
        int64_t img = t / s->m, m = t % s->m;
        const float *x = j->x + (img * s->c + m / mult) * s->h * s->w;
        float *y = j->y + t * ohw;
        /* an aliased residual is read before each output is overwritten */
        const float *res = j->res_in_y ? y : (j->res ? j->res + t * ohw : NULL);
        blas_dw_channel(s->dwp, x, j->weight + m * s->kh * s->kw, s->bias ? s->bias[m] : 0.0f, res, y, plane);
        blas_epilogue_apply(&s->epi, y, s->ow, s->oh, s->ow, NULL, NULL, 0);
    }
}

static semseg_status conv_run(void *state, const semseg_tensor *in, int32_t n_in,
                              const semseg_tensor *out, int32_t n_out, void *scratch, char *err)
{
    const conv_state *s = state;
    (void)n_out;
    const semseg_tensor *xt = &in[0];
    if (xt->rank != 4 || xt->dims[0] != s->n || xt->dims[1] != s->c || xt->dims[2] != s->h ||
        xt->dims[3] != s->w)
        return blas_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT,
                         "Conv '%s': input 0 dims differ from the ones the kernel was created for", s->name);
    if (n_in < 2 || in[1].rank != 4 || in[1].dims[0] != s->m || semseg_numel(4, in[1].dims) != s->m * s->k)
        return blas_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Conv '%s': input 1 (W) has other dims than at load", s->name);
    conv_job j = { s, s->packed ? s->packed : semseg_tensor_data(&in[1]), semseg_tensor_data(xt), semseg_tensor_data(&out[0]), NULL, 0,
                   scratch, 0 };
    if (s->epi.residual >= 0) {
        if (s->epi.residual >= n_in)
            return blas_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Conv '%s': residual input %d missing",
                             s->name, s->epi.residual);
        const float *r = semseg_tensor_data(&in[s->epi.residual]);
        if (r == j.y) j.res_in_y = 1; else j.res = r;
    }
    switch (s->kind) {
    case CONV_GEMM_1X1: {
        int64_t hw = s->h * s->w;
        /* two column blocks per thread, each one GEMM on its own slice: every
         * block repacks the whole weight matrix, so more blocks cost more
         * (measured: 4 per thread lose ~10% on ResNet's 1024x2048 layers) */
        int64_t chunk = (hw + 2 * s->threads - 1) / (2 * s->threads);
        if (chunk < CONV_MIN_TILE_COLS) chunk = CONV_MIN_TILE_COLS;
        if (s->small) {   /* no weights to repack per block: many small ones balance better */
            chunk = (hw / (8 * s->threads) + 15) / 16 * 16;
            if (chunk < 256) chunk = 256;
        }
        if (chunk > hw) chunk = hw;
        j.chunk = chunk;
        blas_gemm_threads(1);
        blas_parallel_for(s->threads, s->n * s->group * ((hw + chunk - 1) / chunk), 1, conv_1x1_task, &j);
        break;
    }
    case CONV_IM2COL:
        if (!scratch)
            return blas_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Conv '%s': no scratch buffer", s->name);
        blas_gemm_threads(1);
        if (s->banded)
            blas_parallel_for(s->threads, s->n * s->group * s->nbt, 1, conv_banded_task, &j);
        else
            blas_parallel_for(s->threads, s->n * s->group * s->tiles, 1, conv_im2col_task, &j);
        break;
    case CONV_WINOGRAD:
        if (!scratch)
            return blas_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Conv '%s': no scratch buffer", s->name);
        for (int64_t img = 0; img < s->n; img++) {
            int64_t xo = img * s->c * s->h * s->w, yo = img * s->m * s->oh * s->ow;
            blas_wino_run(s->wino, j.weight, j.x + xo, j.y + yo, s->bias, j.res ? j.res + yo : NULL, j.res_in_y,
                          &s->epi, scratch);
        }
        break;
    default:
        if (!scratch)
            return blas_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Conv '%s': no scratch buffer", s->name);
        blas_parallel_for(s->threads, s->n * s->m, 0, conv_dw_task, &j);
        break;
    }
    return SEMSEG_STATUS_OK;
}

static void conv_destroy(void *state)
{
    conv_state *s = state;
    if (!s) return;
    free(s->bias);
    free(s->taps);
    free(s->packed);
    free(s->tmaj);
    blas_wino_destroy(s->wino);
    blas_dw_destroy(s->dwp);
    free(s->bt_oy0);
    free(s->bt_rows);
    free(s->bt_ox0);
    free(s->bt_ox1);
    free(s->bt_live);
    free(s);
}

const blas_op blas_op_conv = {
    /* .op       = */ "Conv",
    /* .supports = */ conv_supports,
    /* .create   = */ conv_create,
    /* .run      = */ conv_run,
    /* .destroy  = */ conv_destroy,
};
