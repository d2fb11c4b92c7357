/*
 * ai.semseg::DenseCRF, version 1: the fully connected CRF of Krähenbühl &
 * Koltun (2011) as DeepLab v1/v2 append it to a network, with mean-field
 * inference: the bilateral kernel filtered on a permutohedral lattice
 * (lattice.c), the position kernel on the pixel grid (exact separable
 * Gaussian; on a lattice too when its std is too wide for that).
 *
 *   inputs   logits [N,C,H,W] float; image [N,3,H,W] RGB, uint8 or float 0..255
 *   output   [N,C,H,W] float: probabilities, or log-probabilities
 *   attrs    iterations (10), pos_w (3), pos_xy_std (1), bi_w (4),
 *            bi_xy_std (67), bi_rgb_std (3): DeepLab-v2 ResNet-101 on VOC 2012;
 *            normalization "after" (D⁻¹K, DeepLab's layer) | "symmetric"
 *            (D^-½KD^-½, pydensecrf); output "prob" | "logprob".
 *
 * Mean field with U = -logits:
 *     Q = softmax(logits)
 *     repeat: Q = softmax(logits + pos_w·Kpos~·Q + bi_w·Kbi~·Q)
 * The Potts term μ(l, l') = [l ≠ l'] costs w·Σ_{l'≠l}(K~Q)_l' for label l,
 * which is -w·(K~Q)_l plus something the same for every label of the pixel,
 * and softmax ignores that: so a same-label neighbour raises a label's
 * probability. The kernels include the self term (K_ii = 1) as every lattice
 * implementation does, since the lattice cannot leave it out.
 *
 * Layout: labels are the fast axis inside (a row of `stride` floats per
 * pixel, C rounded up to CRF_LANES, padding lanes held at zero in Q; a row of
 * binary16 per lattice vertex, see lattice.h), so every pass moves all labels
 * of a pixel or vertex together. Kernel
 * weights and normalisations are folded into the lattice's splat/slice
 * weights and the grid's taps once per image, so an iteration is: splat and
 * blur on the lattice, then per image row: unary + grid filter + slice, and
 * softmax into the other Q buffer.
 *
 * Threads: densecrf_run_threads shares every pass between T threads
 * (vertices for the splat, chains for the blur, image rows for the rest)
 * separated by barriers; every output row is computed by one thread in a
 * fixed order, so the result is the same bit for bit whatever T is. The
 * mean-field loop allocates nothing.
 */
#include "densecrf.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lattice.h"
#include "ref.h"

#define CRF_LANES 8          /* label rows are padded to a multiple of this */
#define CRF_PAD_ENERGY (-1e30f) /* energy of padding lanes: exp gives 0 */
#define CRF_MAX_THREADS 64

void crf_params_default(crf_params *p)
{
    p->iterations = 10;
    p->pos_w = 3.0f;
    p->pos_xy_std = 1.0f;
    p->bi_w = 4.0f;
    p->bi_xy_std = 67.0f;
    p->bi_rgb_std = 3.0f;
    p->normalization = CRF_NORM_AFTER;
    p->logprob = 0;
}

semseg_status crf_params_check(const crf_params *p, const char *node, char *err)
{
    if (p->iterations < 0)
        return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT,
                        "DenseCRF node '%s': iterations = %d, must be >= 0", node, p->iterations);
    const float ws[2] = {p->pos_w, p->bi_w};
    const char *wn[2] = {"pos_w", "bi_w"};
    for (int i = 0; i < 2; i++)
        if (!isfinite(ws[i]))
            return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT,
                            "DenseCRF node '%s': %s is not finite", node, wn[i]);
    const float sd[3] = {p->pos_xy_std, p->bi_xy_std, p->bi_rgb_std};
    const char *sn[3] = {"pos_xy_std", "bi_xy_std", "bi_rgb_std"};
    for (int i = 0; i < 3; i++)
        if (!(sd[i] > 0.0f) || !isfinite(sd[i]))
            return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT,
                            "DenseCRF node '%s': %s = %g, must be a positive number",
                            node, sn[i], (double)sd[i]);
    if (p->normalization != CRF_NORM_AFTER && p->normalization != CRF_NORM_SYMMETRIC)
        return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT,
                        "DenseCRF node '%s': unknown normalization %d", node, p->normalization);
    return SEMSEG_STATUS_OK;
}

/* ---- softmax ---- */

/* Hot loops are compiled twice, for x86-64-v3 (AVX2, FMA) and for the
 * x86-64 baseline; the loader picks one at start-up, so the binary runs on
 * any x86-64. The two differ in the last bits where a*b + c becomes an FMA
 * (CMakeLists.txt allows the contraction for this file). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CRF_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CRF_HOT
#endif

/*
 * e^x for the x <= 0 that softmax produces, in plain arithmetic so that a
 * loop of them vectorises: x = n·ln2 + r with |r| <= ln2/2, e^r by its Taylor
 * series to r^6 (relative error < 2e-7), 2^n built in the exponent bits.
 * Below -87 (where expf goes subnormal) it returns 0. The clamp is done with
 * integer masks on the bits: a float comparison in a ternary would stop GCC
 * from vectorising (it may trap, so it is not if-converted).
 */
static inline float crf_exp(float x)
{
    union { float f; int32_t i; } u = {.f = x}, s;
    const int32_t keep = -(int32_t)((u.i & 0x7fffffff) <= 0x42ae0000); /* all ones while |x| <= 87 */
    u.i = (u.i & keep) | ((int32_t)0xc2ae0000 & ~keep);                /* else x = -87 */
    const float xc = u.f;
    /* round to nearest by the 1.5·2^23 trick */
    const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693145751953125f;
    r = r - n * 1.42860682030941723e-6f;
    float e = 1.0f / 720.0f;
    e = e * r + 1.0f / 120.0f;
    e = e * r + 1.0f / 24.0f;
    e = e * r + 1.0f / 6.0f;
    e = e * r + 0.5f;
    e = e * r + 1.0f;
    e = e * r + 1.0f;
    s.i = (((int32_t)n + 127) * (1 << 23)) & keep;
    return e * s.f;
}

/*
 * q = softmax(e) for `count` rows of `stride` lanes (padding lanes carry
 * CRF_PAD_ENERGY and come out 0), or log-softmax over the first c lanes when
 * logq. The maximum and the sum run over CRF_LANES partial results: a fixed
 * order, in a form a vectoriser can use without -ffast-math (GCC 12 still
 * leaves the maximum scalar). The padding lanes never win the maximum and
 * add exact zeros to the sum.
 */
CRF_HOT static void crf_softmax_rows(const float *restrict e, float *restrict q, int32_t count, int stride, int c,
                                     int logq)
{
    for (int32_t p = 0; p < count; p++, e += stride, q += stride) {
        float mx[CRF_LANES], sm[CRF_LANES];
        for (int j = 0; j < CRF_LANES; j++) mx[j] = e[j];
        for (int i = CRF_LANES; i < stride; i += CRF_LANES)
            for (int j = 0; j < CRF_LANES; j++) mx[j] = e[i + j] > mx[j] ? e[i + j] : mx[j];
        float m = mx[0];
        for (int j = 1; j < CRF_LANES; j++) m = mx[j] > m ? mx[j] : m;
        for (int i = 0; i < stride; i++) q[i] = crf_exp(e[i] - m);
        for (int j = 0; j < CRF_LANES; j++) sm[j] = q[j];
        for (int i = CRF_LANES; i < stride; i += CRF_LANES)
            for (int j = 0; j < CRF_LANES; j++) sm[j] += q[i + j];
        float s = 0.0f;
        for (int j = 0; j < CRF_LANES; j++) s += sm[j];
        if (logq) {
            const float ls = m + logf(s);
            for (int i = 0; i < c; i++) q[i] = e[i] - ls;
            for (int i = c; i < stride; i++) q[i] = 0.0f;
            continue;
        }
        const float inv = 1.0f / s;
        for (int i = 0; i < stride; i++) q[i] *= inv;
    }
}

/* ---- the position kernel on the pixel grid ---- */

/*
 * The position kernel's features are the pixel coordinates over σ, so its
 * points sit on a regular grid and K = Ky ⊗ Kx is separable: a column filter
 * then a row filter with exact Gaussian taps, cut off at CRF_GRID_SIGMAS·σ
 * (the neglected tail is below e^-8 = 3·10^-4 of the peak). Its D is
 * separable too, D(x, y) = Dx(x)·Dy(y) with Dx = Kx·1 (border pixels have
 * fewer neighbours), so the normalisation folds into per-position taps:
 *     K~ = diag(out)·K·diag(in) = (Ay ⊗ Ax),  Ax[x][x'] = outx(x)·kx(x-x')·inx(x').
 * This is both exact (the lattice is a ~9 % approximation of the Gaussian)
 * and cheap: unit-stride passes over rows that stay in cache. A wide kernel
 * (radius above CRF_GRID_MAX_RADIUS) would need many taps; it goes on a
 * lattice instead.
 */
#define CRF_GRID_SIGMAS 4.0
#define CRF_GRID_MAX_RADIUS 12

typedef struct crf_grid {
    int r;                  /* radius in pixels; 0: no grid kernel */
    float *hx;              /* [W][2r+1] row taps, normalisation folded in */
    float *hy;              /* [H][2r+1] column taps, with the kernel weight */
    int64_t xlo, xhi;       /* columns with the middle's taps (crf_grid_interior) */
} crf_grid;

static int crf_grid_radius(float std)
{
    const double r = ceil(CRF_GRID_SIGMAS * std);
    return r <= CRF_GRID_MAX_RADIUS ? (int)r : 0;
}

/* Taps of one axis of `len` positions: h[x][j] weighs position x + j - r. */
static int crf_grid_axis(int64_t len, int r, double std, double w, int norm, float *h)
{
    const int taps = 2 * r + 1;
    double k[2 * CRF_GRID_MAX_RADIUS + 1];
    double *dn = malloc((size_t)len * sizeof *dn);
    if (!dn) return -1;
    for (int j = 0; j < taps; j++) k[j] = exp(-0.5 * ((j - r) / std) * ((j - r) / std));
    for (int64_t x = 0; x < len; x++) {
        dn[x] = 0;
        for (int j = 0; j < taps; j++)
            if (x + j - r >= 0 && x + j - r < len) dn[x] += k[j];
    }
    for (int64_t x = 0; x < len; x++)
        for (int j = 0; j < taps; j++) {
            const int64_t x2 = x + j - r;
            double v = 0;
            if (x2 >= 0 && x2 < len) v = norm == CRF_NORM_SYMMETRIC ? w * k[j] / sqrt(dn[x] * dn[x2]) : w * k[j] / dn[x];
            h[(size_t)x * taps + j] = (float)v;
        }
    free(dn);
    return 0;
}

/* out[i] = (base ? base[i] : 0) + Σ_t h[t]·src[t][i] for i0 <= i < i1 (a
 * multiple of CRF_LANES apart), CRF_LANES sums at a time in registers, in
 * tap order. Both grid passes come down to this. (Starting the sums from
 * base[i] rather than adding them at the end is what lets GCC 12 vectorise
 * that case: it does not vectorise a sum kept in registers across the tap
 * loop and then added to memory.) */
static inline void crf_grid_taps(const float *const *src, const float *h, int taps, size_t i0, size_t i1,
                                 const float *base, float *restrict out)
{
    for (size_t i = i0; i < i1; i += CRF_LANES) {
        float s[CRF_LANES];
        if (base)
            for (int c = 0; c < CRF_LANES; c++) s[c] = base[i + c] + h[0] * src[0][i + c];
        else
            for (int c = 0; c < CRF_LANES; c++) s[c] = h[0] * src[0][i + c];
        for (int t = 1; t < taps; t++)
            for (int c = 0; c < CRF_LANES; c++) s[c] += h[t] * src[t][i + c];
        for (int c = 0; c < CRF_LANES; c++) out[i + c] = s[c];
    }
}

/* acc = Σ_j hy[j]·Q[y + j - r] over whole rows (W·stride floats, a
 * multiple of CRF_LANES); only the rows inside the image. */
CRF_HOT static void crf_grid_column(const float *restrict q, const float *hy, int r, int64_t y, int64_t H,
                                    size_t row, float *restrict acc)
{
    const float *src[2 * CRF_GRID_MAX_RADIUS + 1];
    float h[2 * CRF_GRID_MAX_RADIUS + 1];
    const int64_t j0 = y - r < 0 ? r - y : 0, j1 = y + r >= H ? H - 1 - y + r : 2 * r;
    const int taps = (int)(j1 - j0 + 1);
    for (int t = 0; t < taps; t++) {
        src[t] = q + (size_t)(y + j0 + t - r) * row;
        h[t] = hy[j0 + t];
    }
    crf_grid_taps(src, h, taps, 0, row, NULL, acc);
}

/* e[x] = u[x] + Σ_j hx[x][j]·acc[x + j - r], rows of `stride` (a multiple of
 * CRF_LANES). Columns xlo..xhi all have the same taps, the full 2r+1 of them:
 * there the row is one flat pass; the few border columns take their own taps
 * (only those in the image). Both add the taps in the same order. */
CRF_HOT static void crf_grid_row(const float *restrict acc, const float *hx, int r, int64_t W, int stride,
                                 int64_t xlo, int64_t xhi, const float *u, float *restrict e)
{
    const int taps = 2 * r + 1;
    const float *src[2 * CRF_GRID_MAX_RADIUS + 1];
    float h[2 * CRF_GRID_MAX_RADIUS + 1];
    if (xlo <= xhi) {
        /* src[j] + i is acc[x + j - r] for the x of flat index i */
        for (int j = 0; j < taps; j++) {
            src[j] = acc + (ptrdiff_t)(j - r) * stride;
            h[j] = hx[(size_t)xlo * taps + j];
        }
        crf_grid_taps(src, h, taps, (size_t)xlo * stride, (size_t)(xhi + 1) * stride, u, e);
    }
    for (int64_t x = 0; x < W; x++) {
        if (xlo <= xhi && x == xlo) x = xhi + 1;
        if (x >= W) break;
        const int64_t j0 = x - r < 0 ? r - x : 0, j1 = x + r >= W ? W - 1 - x + r : 2 * r;
        const int n = (int)(j1 - j0 + 1);
        for (int t = 0; t < n; t++) {
            src[t] = acc + (size_t)(x + j0 + t - r) * stride;
            h[t] = hx[(size_t)x * taps + j0 + t];
        }
        crf_grid_taps(src, h, n, 0, (size_t)stride, u + (size_t)x * stride, e + (size_t)x * stride);
    }
}

/* The columns [*lo, *hi] around the middle whose taps equal the middle's
 * (all 2r+1 in range); *lo > *hi when there are none. */
static void crf_grid_interior(const float *hx, int r, int64_t W, int64_t *lo, int64_t *hi)
{
    const int taps = 2 * r + 1;
    const int64_t mid = W / 2;
    const float *hm = hx + (size_t)mid * taps;
    *lo = 1;
    *hi = 0;
    if (mid - r < 0 || mid + r >= W) return;
    int64_t a = mid, b = mid;
    while (a - 1 - r >= 0 && memcmp(hx + (size_t)(a - 1) * taps, hm, taps * sizeof *hm) == 0) a--;
    while (b + 1 + r < W && memcmp(hx + (size_t)(b + 1) * taps, hm, taps * sizeof *hm) == 0) b++;
    *lo = a;
    *hi = b;
}

/* ---- one image, shared by threads ---- */

typedef struct crf_kernel {
    float w;
    int feat_dims;          /* 2 (position) or 5 (position + colour) */
    float xy_std, rgb_std;
    lattice L;
    lattice_values vals;    /* vertex rows, m of them */
    semseg_status st;
    char err[SEMSEG_ERRMSG_SIZE];
} crf_kernel;

typedef struct crf_job {
    const crf_params *p;
    const char *node;
    int32_t n;              /* pixels */
    int64_t H, W;
    int c, stride;
    const void *image;
    int image_dtype;
    float *unary;           /* [n][stride] logits, padding lanes CRF_PAD_ENERGY */
    float *q[2];            /* [n][stride]: Q of this iteration, and of the next */
    float *scratch;         /* per thread: a column-filtered row, an energy row (W·stride
                               each) and 2 rows of stride for the blur */
    crf_grid grid;          /* the position kernel when it fits the grid filter */
    crf_kernel k[2];        /* kernels filtered on lattices */
    int nk;
    int threads;
    pthread_barrier_t bar;
    pthread_mutex_t gate;
    pthread_cond_t gate_cv;
    int go;
} crf_job;

typedef struct crf_worker_arg {
    crf_job *job;
    int tid;
} crf_worker_arg;

static void crf_sync(crf_job *J)
{
    if (J->threads > 1) pthread_barrier_wait(&J->bar);
}

static size_t crf_scratch_floats(const crf_job *J)
{
    return (2 * (size_t)J->W + 2) * J->stride;
}

static int32_t crf_part(int32_t total, int tid, int threads)
{
    return (int32_t)((int64_t)total * tid / threads);
}

static float crf_pixel(const crf_job *J, int ch, int32_t p)
{
    if (J->image_dtype == SEMSEG_DTYPE_UINT8)
        return ((const uint8_t *)J->image)[(size_t)ch * J->n + p];
    return ((const float *)J->image)[(size_t)ch * J->n + p];
}

/* Kernel k's features, and the first step of its lattice (the simplices and
 * vertices of lattice_build_begin). */
static void crf_kernel_begin(crf_job *J, crf_kernel *k)
{
    const int d = k->feat_dims;
    const int32_t n = J->n;
    double *f = malloc((size_t)n * d * sizeof *f);
    if (!f) {
        k->st = ref_fail(k->err, SEMSEG_STATUS_NO_MEMORY, "DenseCRF node '%s': out of memory for %ld pixels",
                         J->node, (long)n);
        return;
    }
    for (int32_t p = 0; p < n; p++) {
        double *fp = f + (size_t)p * d;
        fp[0] = (double)(p % J->W) / k->xy_std;
        fp[1] = (double)(p / J->W) / k->xy_std;
        for (int ch = 0; d == 5 && ch < 3; ch++) fp[2 + ch] = crf_pixel(J, ch, p) / (double)k->rgb_std;
    }
    k->st = lattice_build_begin(&k->L, f, n, d, k->err);
    free(f);
}

/*
 * Finishes kernel k's lattice (after every thread has done its part of
 * lattice_build_links), folds weight and normalisation into it and allocates
 * its vertex buffer. The normaliser is D = K·1 filtered on the same lattice,
 * so the approximation's own scale cancels exactly.
 */
static void crf_kernel_end(crf_job *J, crf_kernel *k)
{
    const int32_t n = J->n;
    float *ones = malloc((size_t)n * sizeof *ones), *norm = malloc((size_t)n * sizeof *norm);
    float *in_s = malloc((size_t)n * sizeof *in_s), *out_s = malloc((size_t)n * sizeof *out_s);
    if (!ones || !norm || !in_s || !out_s) {
        k->st = ref_fail(k->err, SEMSEG_STATUS_NO_MEMORY, "DenseCRF node '%s': out of memory for %ld pixels",
                         J->node, (long)n);
        goto done;
    }
    k->st = lattice_build_end(&k->L, k->err);
    if (k->st != SEMSEG_STATUS_OK) goto done;
    for (int32_t p = 0; p < n; p++) ones[p] = 1.0f;
    k->st = lattice_filter(&k->L, ones, 1, norm);
    if (k->st != SEMSEG_STATUS_OK) {
        ref_fail(k->err, k->st, "DenseCRF node '%s': out of memory for the lattice", J->node);
        goto done;
    }
    for (int32_t p = 0; p < n; p++) {
        /* D_ii > 0 (the self term), but keep a floor against round-off. */
        const float dn = norm[p] > 1e-20f ? norm[p] : 1e-20f;
        if (J->p->normalization == CRF_NORM_SYMMETRIC) {
            in_s[p] = 1.0f / sqrtf(dn);
            out_s[p] = k->w * in_s[p];
        } else {
            out_s[p] = k->w / dn;
        }
    }
    lattice_scale(&k->L, J->p->normalization == CRF_NORM_SYMMETRIC ? in_s : NULL, out_s);
    /* Q lies in [0, 1] */
    if (lattice_values_alloc(&k->vals, &k->L, J->stride, 1.0f) != SEMSEG_STATUS_OK)
        k->st = ref_fail(k->err, SEMSEG_STATUS_NO_MEMORY, "DenseCRF node '%s': out of memory for %ld lattice vertices",
                         J->node, (long)k->L.m);
done:
    free(ones);
    free(norm);
    free(in_s);
    free(out_s);
}

/* Every kernel's lattice: begin and end on the kernel's thread, the
 * neighbour lookups shared by all. 0 when all kernels are ready. */
static int crf_kernels_prepare(crf_job *J, int tid)
{
    const int T = J->threads;
    int ok = 1;
    for (int i = tid; i < J->nk; i += T) crf_kernel_begin(J, &J->k[i]);
    crf_sync(J);
    for (int i = 0; i < J->nk; i++)
        if (J->k[i].st == SEMSEG_STATUS_OK) lattice_build_links(&J->k[i].L, tid, T);
    crf_sync(J);
    for (int i = tid; i < J->nk; i += T)
        if (J->k[i].st == SEMSEG_STATUS_OK) crf_kernel_end(J, &J->k[i]);
    crf_sync(J);
    for (int i = 0; i < J->nk; i++) ok &= J->k[i].st == SEMSEG_STATUS_OK;
    return ok ? 0 : -1;
}

/* Energies of image rows y0..y1-1 (unary + grid kernel on q + lattice
 * slices), soft-maxed into qn. */
static void crf_update_rows(crf_job *J, int tid, const float *q, float *qn, int64_t y0, int64_t y1, int logq)
{
    const int stride = J->stride;
    const size_t row = (size_t)J->W * stride;
    float *acc = J->scratch + (size_t)tid * crf_scratch_floats(J), *E = acc + row;
    const crf_grid *g = &J->grid;
    for (int64_t y = y0; y < y1; y++) {
        const int32_t p0 = (int32_t)(y * J->W), p1 = (int32_t)(p0 + J->W);
        const float *u = J->unary + (size_t)p0 * stride;
        if (g->r > 0) {
            crf_grid_column(q, g->hy + (size_t)y * (2 * g->r + 1), g->r, y, J->H, row, acc);
            crf_grid_row(acc, g->hx, g->r, J->W, stride, g->xlo, g->xhi, u, E);
        } else {
            memcpy(E, u, row * sizeof *E);
        }
        for (int i = 0; i < J->nk; i++) {
            const crf_kernel *k = &J->k[i];
            lattice_slice_add(&k->L, &k->vals, E, stride, p0, p1);
        }
        crf_softmax_rows(E, qn + (size_t)p0 * stride, p1 - p0, stride, J->c, logq);
    }
}

static void crf_worker(crf_job *J, int tid)
{
    const int T = J->threads;
    if (tid >= T) return;
    if (crf_kernels_prepare(J, tid)) return;

    const int64_t y0 = crf_part((int32_t)J->H, tid, T), y1 = crf_part((int32_t)J->H, tid + 1, T);
    int max_axes = 0, max_planes = 0;
    for (int i = 0; i < J->nk; i++) {
        if (J->k[i].feat_dims + 1 > max_axes) max_axes = J->k[i].feat_dims + 1;
        if (J->k[i].vals.planes > max_planes) max_planes = J->k[i].vals.planes;
    }

    /* Q alternates between the two buffers: iteration it reads q[it % 2]. */
    for (int it = 0; it < J->p->iterations; it++) {
        const float *q = J->q[it % 2];
        for (int i = 0; i < J->nk; i++) {
            crf_kernel *k = &J->k[i];
            /* a gather per vertex: no row has two writers */
            lattice_splat(&k->L, q, J->stride, &k->vals, crf_part(k->L.m, tid, T), crf_part(k->L.m, tid + 1, T));
        }
        crf_sync(J);
        /* plane after plane (each stays in cache through its d+1 passes) */
        for (int plane = 0; plane < max_planes; plane++)
            for (int axis = 0; axis < max_axes; axis++) {
                for (int i = 0; i < J->nk; i++) {
                    crf_kernel *k = &J->k[i];
                    int32_t c0, c1;
                    if (axis > k->feat_dims || plane >= k->vals.planes) continue;
                    lattice_chain_part(&k->L, axis, tid, T, &c0, &c1);
                    lattice_blur(&k->L, &k->vals, plane, c0, c1);
                }
                crf_sync(J);
            }
        crf_update_rows(J, tid, q, J->q[(it + 1) % 2], y0, y1, J->p->logprob && it + 1 == J->p->iterations);
        crf_sync(J);
    }
}

static void *crf_thread(void *arg)
{
    crf_worker_arg *a = arg;
    crf_job *J = a->job;
    pthread_mutex_lock(&J->gate);
    while (!J->go) pthread_cond_wait(&J->gate_cv, &J->gate);
    pthread_mutex_unlock(&J->gate);
    crf_worker(J, a->tid);
    return NULL;
}

/* Runs crf_worker on up to `threads` threads (fewer if some cannot start). */
static semseg_status crf_run_team(crf_job *J, int threads, char *err)
{
    pthread_t tids[CRF_MAX_THREADS];
    crf_worker_arg args[CRF_MAX_THREADS];
    int started = 0;
    if (threads > CRF_MAX_THREADS) threads = CRF_MAX_THREADS;
    if (threads <= 1) {
        J->threads = 1;
        crf_worker(J, 0);
        return SEMSEG_STATUS_OK;
    }
    if (pthread_mutex_init(&J->gate, NULL)) return ref_fail(err, SEMSEG_STATUS_INTERNAL, "DenseCRF: mutex init failed");
    if (pthread_cond_init(&J->gate_cv, NULL)) {
        pthread_mutex_destroy(&J->gate);
        return ref_fail(err, SEMSEG_STATUS_INTERNAL, "DenseCRF: condition init failed");
    }
    /* Workers wait at the gate until the team size (and so the barrier) is known. */
    J->go = 0;
    pthread_mutex_lock(&J->gate);
    for (int t = 1; t < threads; t++) {
        args[t].job = J;
        args[t].tid = t;
        if (pthread_create(&tids[t], NULL, crf_thread, &args[t])) break;
        started++;
    }
    J->threads = started + 1;
    int barrier = J->threads > 1 && pthread_barrier_init(&J->bar, NULL, (unsigned)J->threads) == 0;
    if (!barrier) J->threads = 1; /* workers that did start see tid >= threads and do nothing */
    J->go = 1;
    pthread_cond_broadcast(&J->gate_cv);
    pthread_mutex_unlock(&J->gate);
    crf_worker(J, 0);
    for (int t = 1; t <= started; t++) pthread_join(tids[t], NULL);
    if (barrier) pthread_barrier_destroy(&J->bar);
    pthread_cond_destroy(&J->gate_cv);
    pthread_mutex_destroy(&J->gate);
    return SEMSEG_STATUS_OK;
}

/* ---- layout: the op's [C][n] planes <-> rows of `stride` lanes ---- */

#define CRF_TILE 64 /* pixels per tile: a tile of rows stays in L1 while C planes stream */

/* 1 when every value is finite; one branch-free pass (a vectoriser ORs the
 * masks), the caller looks for the culprit only when there is one. */
CRF_HOT static int crf_all_finite(const float *x, size_t count)
{
    int bad = 0;
    for (size_t i = 0; i < count; i++) bad |= !(fabsf(x[i]) <= 3.40282347e+38f);
    return !bad;
}

/* rows[i][c] = planes[c][i], padding lanes CRF_PAD_ENERGY, a tile of pixels
 * at a time so that both sides are read and written in whole lines. */
CRF_HOT static void crf_planes_to_rows(const float *planes, int c, int32_t n, int stride, float *restrict rows)
{
    for (int32_t i0 = 0; i0 < n; i0 += CRF_TILE) {
        const int32_t i1 = n - i0 < CRF_TILE ? n : i0 + CRF_TILE;
        for (int ch = 0; ch < c; ch++)
            for (int32_t i = i0; i < i1; i++) rows[(size_t)i * stride + ch] = planes[(size_t)ch * n + i];
        for (int32_t i = i0; i < i1; i++)
            for (int ch = c; ch < stride; ch++) rows[(size_t)i * stride + ch] = CRF_PAD_ENERGY;
    }
}

/* planes[c][i] = rows[i][c] for the first c lanes, tile by tile. */
CRF_HOT static void crf_rows_to_planes(const float *rows, int c, int32_t n, int stride, float *restrict planes)
{
    for (int32_t i0 = 0; i0 < n; i0 += CRF_TILE) {
        const int32_t i1 = n - i0 < CRF_TILE ? n : i0 + CRF_TILE;
        for (int ch = 0; ch < c; ch++)
            for (int32_t i = i0; i < i1; i++) planes[(size_t)ch * n + i] = rows[(size_t)i * stride + ch];
    }
}

semseg_status densecrf_run_threads(const crf_params *p, int64_t C, int64_t H, int64_t W,
                                   const float *logits, const void *image, int image_dtype,
                                   float *out, int threads, const char *node, char *err)
{
    crf_job J;
    semseg_status st = crf_params_check(p, node, err);
    if (st != SEMSEG_STATUS_OK) return st;
    if (C < 1 || H < 1 || W < 1 || H * W >= INT32_MAX / 8 || C > INT32_MAX / 8)
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED,
                        "DenseCRF node '%s': %ld labels of %ldx%ld pixels not supported",
                        node, (long)C, (long)H, (long)W);
    if (image_dtype != SEMSEG_DTYPE_UINT8 && image_dtype != SEMSEG_DTYPE_FLOAT)
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED,
                        "DenseCRF node '%s': image dtype %d, expected uint8 or float", node, image_dtype);

    memset(&J, 0, sizeof J);
    J.p = p;
    J.node = node;
    J.n = (int32_t)(H * W);
    J.H = H;
    J.W = W;
    J.c = (int)C;
    J.stride = (int)((C + CRF_LANES - 1) / CRF_LANES * CRF_LANES);
    J.image = image;
    J.image_dtype = image_dtype;
    if (threads < 1) threads = 1;
    if (threads > CRF_MAX_THREADS) threads = CRF_MAX_THREADS;

    const size_t rows = (size_t)J.n * J.stride;
    J.unary = lattice_alloc(rows * sizeof *J.unary);
    J.q[0] = lattice_alloc(rows * sizeof *J.q[0]);
    J.q[1] = lattice_alloc(rows * sizeof *J.q[1]);
    J.scratch = malloc((size_t)threads * crf_scratch_floats(&J) * sizeof *J.scratch);
    if (!J.unary || !J.q[0] || !J.q[1] || !J.scratch) {
        st = ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "DenseCRF node '%s': out of memory for %ldx%ldx%ld",
                      node, (long)C, (long)H, (long)W);
        goto done;
    }
    if (!crf_all_finite(logits, (size_t)J.c * J.n)) {
        size_t i = 0;
        while (isfinite(logits[i])) i++;
        st = ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "DenseCRF node '%s': logits[%ld][%ld][%ld] is not finite",
                      node, (long)(i / J.n), (long)(i % J.n / W), (long)(i % W));
        goto done;
    }
    crf_planes_to_rows(logits, J.c, J.n, J.stride, J.unary);

    /* Kernels with zero weight contribute nothing: leave them out entirely,
     * so that zero weights give softmax(logits) exactly. */
    if (p->pos_w != 0.0f && crf_grid_radius(p->pos_xy_std) > 0) {
        const int r = crf_grid_radius(p->pos_xy_std);
        J.grid.hx = malloc((size_t)W * (2 * r + 1) * sizeof *J.grid.hx);
        J.grid.hy = malloc((size_t)H * (2 * r + 1) * sizeof *J.grid.hy);
        if (!J.grid.hx || !J.grid.hy || crf_grid_axis(W, r, p->pos_xy_std, 1.0, p->normalization, J.grid.hx) ||
            crf_grid_axis(H, r, p->pos_xy_std, p->pos_w, p->normalization, J.grid.hy)) {
            st = ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "DenseCRF node '%s': out of memory", node);
            goto done;
        }
        J.grid.r = r;
        crf_grid_interior(J.grid.hx, r, W, &J.grid.xlo, &J.grid.xhi);
    } else if (p->pos_w != 0.0f) {
        J.k[J.nk++] = (crf_kernel){.w = p->pos_w, .feat_dims = 2, .xy_std = p->pos_xy_std, .rgb_std = 1.0f};
    }
    if (p->bi_w != 0.0f)
        J.k[J.nk++] = (crf_kernel){.w = p->bi_w, .feat_dims = 5, .xy_std = p->bi_xy_std, .rgb_std = p->bi_rgb_std};

    const int steps = J.nk > 0 || J.grid.r > 0 ? p->iterations : 0;
    crf_softmax_rows(J.unary, J.q[0], J.n, J.stride, J.c, p->logprob && steps == 0);
    if (steps > 0) {
        st = crf_run_team(&J, threads, err);
        if (st != SEMSEG_STATUS_OK) goto done;
        for (int i = 0; i < J.nk; i++)
            if (J.k[i].st != SEMSEG_STATUS_OK) {
                st = J.k[i].st;
                memcpy(err, J.k[i].err, SEMSEG_ERRMSG_SIZE);
                goto done;
            }
    }
    crf_rows_to_planes(J.q[steps % 2], J.c, J.n, J.stride, out);

done:
    for (int i = 0; i < J.nk; i++) {
        lattice_free(&J.k[i].L);
        lattice_values_free(&J.k[i].vals);
    }
    free(J.grid.hx);
    free(J.grid.hy);
    free(J.unary);
    free(J.q[0]);
    free(J.q[1]);
    free(J.scratch);
    return st;
}

/* ---- the ref op ---- */

typedef struct densecrf_state {
    crf_params p;
    int threads;            /* 1 until the plugin passes the session's count */
    char node[128];
} densecrf_state;

/* Float attributes may arrive as INT when a helper was given a whole number. */
static semseg_status densecrf_attr_float(const semseg_node_info *n, const char *name, float *v, char *err)
{
    const semseg_attr *a = semseg_attr_find(n, name);
    if (!a) return SEMSEG_STATUS_OK;
    if (a->type == SEMSEG_ATTR_FLOAT) *v = a->f;
    else if (a->type == SEMSEG_ATTR_INT) *v = (float)a->i;
    else
        return ref_fail(err, SEMSEG_STATUS_MODEL, "DenseCRF node '%s': attribute %s must be a number",
                        n->name, name);
    return SEMSEG_STATUS_OK;
}

static semseg_status densecrf_attr_choice(const semseg_node_info *n, const char *name,
                                          const char *const *options, int *v, char *err)
{
    const semseg_attr *a = semseg_attr_find(n, name);
    if (!a) return SEMSEG_STATUS_OK;
    if (a->type == SEMSEG_ATTR_STRING)
        for (int i = 0; options[i]; i++)
            if (strcmp(a->s, options[i]) == 0) {
                *v = i;
                return SEMSEG_STATUS_OK;
            }
    return ref_fail(err, SEMSEG_STATUS_MODEL, "DenseCRF node '%s': attribute %s must be \"%s\" or \"%s\"",
                    n->name, name, options[0], options[1]);
}

static semseg_status densecrf_read_attrs(const semseg_node_info *n, crf_params *p, char *err)
{
    static const char *const norms[] = {"after", "symmetric", NULL};
    static const char *const outs[] = {"prob", "logprob", NULL};
    semseg_status st;
    crf_params_default(p);
    const semseg_attr *it = semseg_attr_find(n, "iterations");
    if (it) {
        if (it->type != SEMSEG_ATTR_INT || it->i < 0 || it->i > 100000)
            return ref_fail(err, SEMSEG_STATUS_MODEL,
                            "DenseCRF node '%s': attribute iterations must be an int in 0..100000", n->name);
        p->iterations = (int)it->i;
    }
    if ((st = densecrf_attr_float(n, "pos_w", &p->pos_w, err)) ||
        (st = densecrf_attr_float(n, "pos_xy_std", &p->pos_xy_std, err)) ||
        (st = densecrf_attr_float(n, "bi_w", &p->bi_w, err)) ||
        (st = densecrf_attr_float(n, "bi_xy_std", &p->bi_xy_std, err)) ||
        (st = densecrf_attr_float(n, "bi_rgb_std", &p->bi_rgb_std, err)) ||
        (st = densecrf_attr_choice(n, "normalization", norms, &p->normalization, err)) ||
        (st = densecrf_attr_choice(n, "output", outs, &p->logprob, err)))
        return st;
    st = crf_params_check(p, n->name, err);
    return st == SEMSEG_STATUS_OK ? st : SEMSEG_STATUS_MODEL;
}

static void densecrf_dims(const semseg_value_info *v, char *buf, size_t size)
{
    int k = snprintf(buf, size, "[");
    for (int i = 0; i < v->rank && k > 0 && (size_t)k < size; i++)
        k += snprintf(buf + k, size - k, "%s%ld", i ? "," : "", (long)v->dims[i]);
    if (k > 0 && (size_t)k < size) snprintf(buf + k, size - k, "]");
}

static semseg_status densecrf_check_io(const semseg_node_info *n, char *err)
{
    char got[96];
    if (n->n_inputs != 2 || n->n_outputs != 1)
        return ref_fail(err, SEMSEG_STATUS_MODEL,
                        "DenseCRF node '%s': expects 2 inputs (logits, image) and 1 output, got %d and %d",
                        n->name, n->n_inputs, n->n_outputs);
    const semseg_value_info *lg = &n->inputs[0], *im = &n->inputs[1], *o = &n->outputs[0];
    if (lg->dtype != SEMSEG_DTYPE_FLOAT || lg->rank != 4) {
        densecrf_dims(lg, got, sizeof got);
        return ref_fail(err, SEMSEG_STATUS_MODEL,
                        "DenseCRF node '%s': input 0 (logits) must be float [N,C,H,W], got dtype %d dims %s",
                        n->name, lg->dtype, got);
    }
    const int64_t *d = lg->dims;
    if (d[0] < 1 || d[1] < 1 || d[2] < 1 || d[3] < 1 || d[2] * d[3] >= INT32_MAX / 8 || d[1] > INT32_MAX / 8) {
        densecrf_dims(lg, got, sizeof got);
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED,
                        "DenseCRF node '%s': input 0 (logits) dims %s not supported", n->name, got);
    }
    if ((im->dtype != SEMSEG_DTYPE_UINT8 && im->dtype != SEMSEG_DTYPE_FLOAT) || im->rank != 4 ||
        im->dims[0] != d[0] || im->dims[1] != 3 || im->dims[2] != d[2] || im->dims[3] != d[3]) {
        densecrf_dims(im, got, sizeof got);
        return ref_fail(err, SEMSEG_STATUS_MODEL,
                        "DenseCRF node '%s': input 1 (image) must be uint8 or float [%ld,3,%ld,%ld], "
                        "got dtype %d dims %s",
                        n->name, (long)d[0], (long)d[2], (long)d[3], im->dtype, got);
    }
    if (o->dtype != SEMSEG_DTYPE_FLOAT || o->rank != 4 || memcmp(o->dims, d, 4 * sizeof *d) != 0) {
        densecrf_dims(o, got, sizeof got);
        return ref_fail(err, SEMSEG_STATUS_MODEL,
                        "DenseCRF node '%s': output must be float with the logits' dims, got dtype %d dims %s",
                        n->name, o->dtype, got);
    }
    return SEMSEG_STATUS_OK;
}

static int densecrf_supports(const semseg_node_info *n)
{
    char err[SEMSEG_ERRMSG_SIZE];
    crf_params p;
    return densecrf_check_io(n, err) == SEMSEG_STATUS_OK && densecrf_read_attrs(n, &p, err) == SEMSEG_STATUS_OK;
}

static semseg_status densecrf_create(const semseg_node_info *n, void **state, char *err)
{
    semseg_status st = densecrf_check_io(n, err);
    if (st != SEMSEG_STATUS_OK) return st;
    densecrf_state *s = calloc(1, sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "DenseCRF node '%s': out of memory", n->name);
    st = densecrf_read_attrs(n, &s->p, err);
    if (st != SEMSEG_STATUS_OK) {
        free(s);
        return st;
    }
    s->threads = 1;
    snprintf(s->node, sizeof s->node, "%s", n->name ? n->name : "");
    *state = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status densecrf_run(void *state, const semseg_tensor *in, int32_t n_in,
                                  const semseg_tensor *out, int32_t n_out, char *err)
{
    const densecrf_state *s = state;
    if (n_in != 2 || n_out != 1 || in[0].rank != 4 || in[1].rank != 4 || out[0].rank != 4)
        return ref_fail(err, SEMSEG_STATUS_INTERNAL, "DenseCRF node '%s': called with wrong tensors", s->node);
    const int64_t *d = in[0].dims;
    const int64_t N = d[0], C = d[1], H = d[2], W = d[3];
    const size_t isz = semseg_dtype_size(in[1].dtype);
    const float *logits = semseg_tensor_data(&in[0]);
    const char *image = semseg_tensor_data(&in[1]);
    float *y = semseg_tensor_data(&out[0]);
    for (int64_t b = 0; b < N; b++) {
        semseg_status st = densecrf_run_threads(&s->p, C, H, W, logits + (size_t)(b * C * H * W),
                                                image + (size_t)(b * 3 * H * W) * isz, in[1].dtype,
                                                y + (size_t)(b * C * H * W), s->threads, s->node, err);
        if (st != SEMSEG_STATUS_OK) return st;
    }
    return SEMSEG_STATUS_OK;
}

void densecrf_set_threads(void *state, int threads)
{
    densecrf_state *s = state;
    s->threads = threads > 0 ? threads : 1;
}

const ref_op ref_op_densecrf = {
    /* .domain   = */ "ai.semseg",
    /* .op       = */ "DenseCRF",
    /* .supports = */ densecrf_supports,
    /* .create   = */ densecrf_create,
    /* .run      = */ densecrf_run,
    /* .destroy  = */ NULL,
};
