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

/* The per-pixel passes also have hand-written AVX2 + FMA versions (the
 * vectoriser leaves their reductions and tap loops scalar or latency-bound),
 * chosen at run time like the lattice's (lattice.c). They do the same
 * operations in the same order as the plain code's x86-64-v3 clone, so the
 * result does not change by a bit. LATTICE_PORTABLE (the tests' plain build)
 * leaves them out as it does the lattice's. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(LATTICE_PORTABLE)
#define CRF_X86_V3 1
#include <immintrin.h>
#define CRF_V3 __attribute__((target("arch=x86-64-v3")))
#define CRF_INLINE static inline __attribute__((always_inline))
/* the same test as the target_clones resolver's, so that these and the
 * plain code's clones (tails, borders) run at the same level */
static int crf_use_v3(void)
{
    return __builtin_cpu_supports("x86-64-v3");
}
#else
#define CRF_X86_V3 0
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
CRF_HOT static void crf_softmax_rows_plain(const float *restrict e, float *restrict q, int32_t count, int stride,
                                           int c, int logq)
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

#if CRF_X86_V3
/*
 * crf_exp on 4 vectors of 8 lanes: the same FMAs as the x86-64-v3 clone of
 * crf_exp, and fewer other instructions, which give the same bits for every
 * x <= 0 or NaN (softmax passes no other). Where x >= -87 nothing is clamped
 * anyway; elsewhere (padding lanes, NaN) the result is masked to 0 at the end
 * instead of clamping x first (whatever inf or NaN the unclamped x gave on
 * the way is dropped by the mask). 2^n comes from the rounded sum's bits,
 * whose low mantissa bits hold n (the shift by 23 drops the rest). Step by
 * step over the 4, so that 4 independent chains of ~15 dependent
 * instructions are in flight side by side.
 */
CRF_V3 CRF_INLINE void crf_exp4_v3(__m256 *x)
{
    const __m256 big = _mm256_set1_ps(12582912.0f);
    __m256 keep[4], s[4], n[4], r[4], e[4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        keep[i] = _mm256_cmp_ps(x[i], _mm256_set1_ps(-87.0f), _CMP_GE_OQ);
        const __m256 t = _mm256_fmadd_ps(x[i], _mm256_set1_ps(1.44269504088896341f), big);
        const __m256i b = _mm256_slli_epi32(_mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(127)), 23);
        s[i] = _mm256_castsi256_ps(b);
        n[i] = _mm256_sub_ps(t, big);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) r[i] = _mm256_fnmadd_ps(n[i], _mm256_set1_ps(0.693145751953125f), x[i]);
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) r[i] = _mm256_fnmadd_ps(n[i], _mm256_set1_ps(1.42860682030941723e-6f), r[i]);
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
        e[i] = _mm256_fmadd_ps(_mm256_set1_ps(1.0f / 720.0f), r[i], _mm256_set1_ps(1.0f / 120.0f));
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) e[i] = _mm256_fmadd_ps(e[i], r[i], _mm256_set1_ps(1.0f / 24.0f));
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) e[i] = _mm256_fmadd_ps(e[i], r[i], _mm256_set1_ps(1.0f / 6.0f));
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) e[i] = _mm256_fmadd_ps(e[i], r[i], _mm256_set1_ps(0.5f));
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) e[i] = _mm256_fmadd_ps(e[i], r[i], _mm256_set1_ps(1.0f));
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) e[i] = _mm256_fmadd_ps(e[i], r[i], _mm256_set1_ps(1.0f));
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) x[i] = _mm256_and_ps(_mm256_mul_ps(e[i], s[i]), keep[i]);
}

/* The maximum of a pixel's nv vectors, in every lane (exact in any order). */
CRF_V3 CRF_INLINE __m256 crf_max_v3(const float *e, int nv)
{
    __m256 m = _mm256_loadu_ps(e);
#pragma GCC unroll 4
    for (int v = 1; v < nv; v++) m = _mm256_max_ps(m, _mm256_loadu_ps(e + 8 * v));
    m = _mm256_max_ps(m, _mm256_permute2f128_ps(m, m, 1));
    m = _mm256_max_ps(m, _mm256_permute_ps(m, 0x4e));
    return _mm256_max_ps(m, _mm256_permute_ps(m, 0xb1));
}

/* q = exp(e - m) for the 8·nv vectors of 8 pixels (m: their maxima), 4 at a
 * time; vector i is pixel i / nv's vector i % nv. */
CRF_V3 CRF_INLINE void crf_exp8_v3(const float *e, const float *m, float *q, int stride, int nv)
{
#pragma GCC unroll 8
    for (int i = 0; i < 8 * nv; i += 4) {
        __m256 x[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            const int k = (i + j) / nv, v = (i + j) % nv;
            x[j] = _mm256_sub_ps(_mm256_loadu_ps(e + (size_t)k * stride + 8 * v), _mm256_broadcast_ss(m + k));
        }
        crf_exp4_v3(x);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            const int k = (i + j) / nv, v = (i + j) % nv;
            _mm256_storeu_ps(q + (size_t)k * stride + 8 * v, x[j]);
        }
    }
}

/*
 * Softmax of 8 pixels of nv vectors into q, through tmp (8 rows of stride,
 * in L1): a pixel's lane sums sm[j] add up in the plain code's order, ((q0 +
 * q8) + q16) and so on, and then the 8 of them in order, (((sm0 + sm1) +
 * sm2) + ...): the 8 pixels' sm vectors are transposed and added
 * vertically, which is that order for each at once. With nt (q 32-byte
 * aligned) q is written with streaming stores: Q is far larger than the
 * caches and is next read in the next iteration, so fetching its lines
 * before overwriting them would only cost memory bandwidth.
 */
CRF_V3 CRF_INLINE void crf_softmax8_v3(const float *e, float *q, int stride, int nv, int nt, float *tmp)
{
    float m[8];
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) _mm_store_ss(m + k, _mm256_castps256_ps128(crf_max_v3(e + (size_t)k * stride, nv)));
    crf_exp8_v3(e, m, tmp, stride, nv);
    __m256 t[8], u[8];
#pragma GCC unroll 8
    for (int k = 0; k < 8; k += 2) {
        const float *ta = tmp + (size_t)k * stride, *tb = ta + stride;
        __m256 a = _mm256_loadu_ps(ta), b = _mm256_loadu_ps(tb);
#pragma GCC unroll 4
        for (int v = 1; v < nv; v++) {
            a = _mm256_add_ps(a, _mm256_loadu_ps(ta + 8 * v));
            b = _mm256_add_ps(b, _mm256_loadu_ps(tb + 8 * v));
        }
        t[k] = _mm256_unpacklo_ps(a, b);
        t[k + 1] = _mm256_unpackhi_ps(a, b);
    }
#pragma GCC unroll 2
    for (int k = 0; k < 8; k += 4) {
        u[k] = _mm256_shuffle_ps(t[k], t[k + 2], 0x44);
        u[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], 0xee);
        u[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0x44);
        u[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0xee);
    }
    /* lane k of column j is pixel k's sm[j]: columns 0-3 from the low halves, 4-7 from the high */
    __m256 s = _mm256_permute2f128_ps(u[0], u[4], 0x20);
#pragma GCC unroll 4
    for (int j = 1; j < 4; j++) s = _mm256_add_ps(s, _mm256_permute2f128_ps(u[j], u[j + 4], 0x20));
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) s = _mm256_add_ps(s, _mm256_permute2f128_ps(u[j], u[j + 4], 0x31));
    float inv[8];
    _mm256_storeu_ps(inv, _mm256_div_ps(_mm256_set1_ps(1.0f), s));
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) {
        const __m256 b = _mm256_broadcast_ss(inv + k);
        const float *tk = tmp + (size_t)k * stride;
        float *qk = q + (size_t)k * stride;
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            const __m256 y = _mm256_mul_ps(_mm256_loadu_ps(tk + 8 * v), b);
            if (nt)
                _mm256_stream_ps(qk + 8 * v, y);
            else
                _mm256_storeu_ps(qk + 8 * v, y);
        }
    }
}

/* The x86-64-v3 softmax (not log-softmax) of crf_softmax_rows for rows of up
 * to 32 lanes; pixels that do not make a block of 8, and longer rows, go
 * through the plain code (the same bits, more slowly). */
CRF_V3 static void crf_softmax_rows_v3(const float *restrict e, float *restrict q, int32_t count, int stride, int c)
{
    float tmp[8 * 32] __attribute__((aligned(32)));
    const int nt = (uintptr_t)q % 32 == 0;
    int32_t p = 0;
    /* the lane count spelled out, so that the loops unroll (24: VOC's 21 labels) */
    for (; p + 8 <= count; p += 8) {
        const float *ep = e + (size_t)p * stride;
        float *qp = q + (size_t)p * stride;
        if (stride == 24) crf_softmax8_v3(ep, qp, 24, 3, nt, tmp);
        else if (stride == 8) crf_softmax8_v3(ep, qp, 8, 1, nt, tmp);
        else if (stride == 16) crf_softmax8_v3(ep, qp, 16, 2, nt, tmp);
        else if (stride == 32) crf_softmax8_v3(ep, qp, 32, 4, nt, tmp);
        else break;
    }
    /* streaming stores are weakly ordered: complete them before another
     * thread may read these rows (after the caller's barrier) */
    if (nt) _mm_sfence();
    if (p < count) crf_softmax_rows_plain(e + (size_t)p * stride, q + (size_t)p * stride, count - p, stride, c, 0);
}
#endif

static void crf_softmax_rows(const float *restrict e, float *restrict q, int32_t count, int stride, int c, int logq)
{
#if CRF_X86_V3
    if (!logq && crf_use_v3()) {
        crf_softmax_rows_v3(e, q, count, stride, c);
        return;
    }
#endif
    crf_softmax_rows_plain(e, q, count, stride, c, logq);
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
#define CRF_GRID_ROWS 4         /* image rows whose column pass is done together */

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
CRF_HOT static void crf_grid_column_plain(const float *restrict q, const float *hy, int r, int64_t y, int64_t H,
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

/* A border column x of the row pass: its taps that fall inside the row, as
 * sources and weights for crf_grid_taps; returns how many. */
static inline int crf_grid_border(const float *acc, const float *hx, int r, int64_t W, int stride, int64_t x,
                                  const float **src, float *h)
{
    const int taps = 2 * r + 1;
    const int64_t j0 = x - r < 0 ? r - x : 0, j1 = x + r >= W ? W - 1 - x + r : 2 * r;
    const int n = (int)(j1 - j0 + 1);
    for (int t = 0; t < n; t++) {
        src[t] = acc + (size_t)(x + j0 + t - r) * stride;
        h[t] = hx[(size_t)x * taps + j0 + t];
    }
    return n;
}

/* The sums of the row pass: crf_grid_taps or its AVX2 version. */
typedef void (*crf_taps_fn)(const float *const *src, const float *h, int taps, size_t i0, size_t i1,
                            const float *base, float *restrict out);

/* e[x] = u[x] + Σ_j hx[x][j]·acc[x + j - r], rows of `stride` (a multiple of
 * CRF_LANES). Columns xlo..xhi all have the same taps, the full 2r+1 of them:
 * there the row is one flat pass (from flat index i0 on: a caller may have
 * done the start itself); the few border columns take their own taps (only
 * those in the image). Both add the taps in the same order. Inlined into
 * each version with its `sums` (a constant there). */
static inline __attribute__((always_inline)) void crf_grid_row_body(const float *restrict acc, const float *hx,
                                                                     int r, int64_t W, int stride, int64_t xlo,
                                                                     int64_t xhi, const float *u, float *restrict e,
                                                                     size_t i0, crf_taps_fn sums)
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
        sums(src, h, taps, i0, (size_t)(xhi + 1) * stride, u, e);
    }
    for (int64_t x = 0; x < W; x++) {
        if (xlo <= xhi && x == xlo) x = xhi + 1;
        if (x >= W) break;
        const int n = crf_grid_border(acc, hx, r, W, stride, x, src, h);
        sums(src, h, n, 0, (size_t)stride, u + (size_t)x * stride, e + (size_t)x * stride);
    }
}

CRF_HOT static void crf_grid_row_plain(const float *restrict acc, const float *hx, int r, int64_t W, int stride,
                                       int64_t xlo, int64_t xhi, const float *u, float *restrict e)
{
    crf_grid_row_body(acc, hx, r, W, stride, xlo, xhi, u, e, (size_t)xlo * stride, crf_grid_taps);
}

#if CRF_X86_V3
/* a·b rounded, kept out of a following add: GCC's intrinsics are vector
 * operators, and -ffp-contract=fast would fuse the two where the plain
 * code's clone (which this must match) does not. */
CRF_V3 CRF_INLINE __m256 crf_mul_v3(__m256 a, __m256 b)
{
    __m256 p = _mm256_mul_ps(a, b);
    __asm__("" : "+x"(p));
    return p;
}

/* crf_grid_taps in AVX2: 4 vectors at a time, so that each tap's weight is
 * broadcast once for 4 FMAs and 4 sums are in flight (one sum alone is a
 * chain of dependent FMAs). The same operations in the same order as the
 * x86-64-v3 clone of crf_grid_taps, which does not contract base + h·src. */
CRF_V3 CRF_INLINE void crf_grid_taps_v3(const float *const *src, const float *h, int taps, size_t i0, size_t i1,
                                        const float *base, float *restrict out)
{
    size_t i = i0;
    for (; i + 4 * CRF_LANES <= i1; i += 4 * CRF_LANES) {
        __m256 hb = _mm256_broadcast_ss(h), s[4];
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            const __m256 x = _mm256_loadu_ps(src[0] + i + 8 * k);
            s[k] = base ? _mm256_add_ps(_mm256_loadu_ps(base + i + 8 * k), crf_mul_v3(hb, x)) : _mm256_mul_ps(hb, x);
        }
        for (int t = 1; t < taps; t++) {
            const float *st = src[t] + i;
            hb = _mm256_broadcast_ss(h + t);
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) s[k] = _mm256_fmadd_ps(hb, _mm256_loadu_ps(st + 8 * k), s[k]);
        }
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) _mm256_storeu_ps(out + i + 8 * k, s[k]);
    }
    for (; i < i1; i += CRF_LANES) {
        const __m256 x = _mm256_loadu_ps(src[0] + i);
        __m256 s = crf_mul_v3(_mm256_broadcast_ss(h), x);
        if (base) s = _mm256_add_ps(_mm256_loadu_ps(base + i), s);
        for (int t = 1; t < taps; t++) s = _mm256_fmadd_ps(_mm256_broadcast_ss(h + t), _mm256_loadu_ps(src[t] + i), s);
        _mm256_storeu_ps(out + i, s);
    }
}

/*
 * crf_grid_columns_v3 for radius 4 (pos_xy_std 1, DeepLab's) and
 * CRF_GRID_ROWS = 4 image rows y..y+3 whose taps are all inside the image
 * (source rows y-4..y+7): the loops over the 12 source rows and 9 taps are
 * spelled out, so there are neither branches nor zero weights, and 12 sums
 * (4 rows of 3 vectors) are in flight, enough to hide the FMA latency. Row
 * y + k adds source row y - 4 + t with tap t - k, in order, from the
 * product of the first as the plain code.
 */
CRF_V3 static void crf_grid_columns_r4_v3(const float *restrict q, const float *hy, int64_t y, size_t row,
                                          float *const *acc)
{
    const float *src = q + (size_t)(y - 4) * row, *h = hy + (size_t)y * 9; /* row y + k's taps: h + 9k */
    size_t i = 0;
    for (; i + 3 * CRF_LANES <= row; i += 3 * CRF_LANES) {
        __m256 s[4][3];
#pragma GCC unroll 12
        for (int t = 0; t < 12; t++) {
            const float *x = src + (size_t)t * row + i;
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                const int j = t - k;
                if (j < 0 || j > 8) continue;
                const __m256 w = _mm256_broadcast_ss(h + 9 * k + j);
#pragma GCC unroll 3
                for (int v = 0; v < 3; v++)
                    s[k][v] = j == 0 ? crf_mul_v3(w, _mm256_loadu_ps(x + 8 * v))
                                     : _mm256_fmadd_ps(w, _mm256_loadu_ps(x + 8 * v), s[k][v]);
            }
        }
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++)
#pragma GCC unroll 3
            for (int v = 0; v < 3; v++) _mm256_storeu_ps(acc[k] + i + 8 * v, s[k][v]);
    }
    for (; i < row; i += CRF_LANES)
        for (int k = 0; k < 4; k++) {
            __m256 s = crf_mul_v3(_mm256_broadcast_ss(h + 9 * k), _mm256_loadu_ps(src + (size_t)k * row + i));
            for (int j = 1; j < 9; j++) {
                const __m256 x = _mm256_loadu_ps(src + (size_t)(k + j) * row + i);
                s = _mm256_fmadd_ps(_mm256_broadcast_ss(h + 9 * k + j), x, s);
            }
            _mm256_storeu_ps(acc[k] + i, s);
        }
}

/*
 * crf_grid_column for the nrows (1..CRF_GRID_ROWS) image rows from y at
 * once, into acc[0..nrows-1]: each source row is loaded once for all of
 * them, which divides the traffic of this pass (its 2r+1 rows of Q do not
 * stay in L2 from one image row to the next) by up to 3.
 *
 * Every sum runs over all the source rows with a weight of 0 outside its
 * own taps, from 0, so that the loop has no branches. That is the same sum
 * bit for bit: Q >= 0 is finite, so before the first tap the sum stays +0,
 * and fma(h, x, +0) is h·x rounded, the plain code's first product; after
 * the last one, adding 0·x = +0 to a sum >= 0 leaves it as it is.
 */
CRF_V3 static void crf_grid_columns_v3(const float *restrict q, const float *hy, int r, int64_t y, int64_t H,
                                       size_t row, int nrows, float *const *acc)
{
    const int taps = 2 * r + 1;
    const int64_t lo = y - r < 0 ? 0 : y - r;
    const int64_t hi = y + nrows - 1 + r < H ? y + nrows - 1 + r : H - 1;
    const int n = (int)(hi - lo + 1);
    /* w[t][k]: the weight of source row lo + t in image row y + k */
    float w[2 * CRF_GRID_MAX_RADIUS + CRF_GRID_ROWS][CRF_GRID_ROWS];
    for (int t = 0; t < n; t++)
        for (int k = 0; k < CRF_GRID_ROWS; k++) {
            const int64_t j = lo + t - (y + k - r); /* tap index */
            w[t][k] = k < nrows && j >= 0 && j < taps ? hy[(size_t)(y + k) * taps + j] : 0.0f;
        }
    for (size_t i = 0; i < row; i += 2 * CRF_LANES) {
        /* row is a multiple of CRF_LANES: the second vector may be past its end */
        const int two = i + 2 * CRF_LANES <= row;
        __m256 s[CRF_GRID_ROWS][2];
#pragma GCC unroll 4
        for (int k = 0; k < CRF_GRID_ROWS; k++) s[k][0] = s[k][1] = _mm256_setzero_ps();
        for (int t = 0; t < n; t++) {
            const float *src = q + (size_t)(lo + t) * row + i;
            const __m256 x0 = _mm256_loadu_ps(src), x1 = two ? _mm256_loadu_ps(src + CRF_LANES) : x0;
#pragma GCC unroll 4
            for (int k = 0; k < CRF_GRID_ROWS; k++) {
                const __m256 wk = _mm256_broadcast_ss(&w[t][k]);
                s[k][0] = _mm256_fmadd_ps(wk, x0, s[k][0]);
                s[k][1] = _mm256_fmadd_ps(wk, x1, s[k][1]);
            }
        }
        for (int k = 0; k < nrows; k++) {
            _mm256_storeu_ps(acc[k] + i, s[k][0]);
            if (two) _mm256_storeu_ps(acc[k] + i + CRF_LANES, s[k][1]);
        }
    }
}

/*
 * The interior of crf_grid_row for radius 4 (pos_xy_std 1, DeepLab's) and 24
 * lanes, the flat indices [i0, i1): 4 pixels at a time, so that each vector
 * of acc is loaded once for the (up to) 4 sums it enters rather than once
 * per sum, and 12 sums are in flight (enough to hide the FMA latency). Each
 * sum still takes its taps in order. Returns where it stopped (the rest is
 * under 4 pixels).
 */
CRF_V3 static size_t crf_grid_row_r4_v3(const float *restrict acc, const float *h, size_t i0, size_t i1,
                                        const float *u, float *restrict e)
{
    enum { S = 24 };
    size_t i = i0;
    for (; i + 4 * S <= i1; i += 4 * S) {
        /* pixel k of the block: tap j = d + 4 - k on acc pixel d = -4..7 */
        const float *a = acc + i;
        /* u streams in from memory, at a pace the hardware prefetcher does
         * not keep up with: ask for it 2 KB ahead (within this row's u) */
        if (i + 512 + 4 * S <= i1)
            for (int l = 0; l < 4 * S; l += 16) _mm_prefetch((const char *)(u + i + l + 512), _MM_HINT_T0);
        __m256 s[4][3];
#pragma GCC unroll 12
        for (int d = -4; d < 8; d++) {
            __m256 x[3];
#pragma GCC unroll 3
            for (int v = 0; v < 3; v++) x[v] = _mm256_loadu_ps(a + d * S + 8 * v);
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                const int j = d + 4 - k;
                if (j < 0 || j > 8) continue;
                const __m256 w = _mm256_broadcast_ss(h + j);
#pragma GCC unroll 3
                for (int v = 0; v < 3; v++)
                    s[k][v] = j == 0 ? _mm256_add_ps(_mm256_loadu_ps(u + i + k * S + 8 * v), crf_mul_v3(w, x[v]))
                                     : _mm256_fmadd_ps(w, x[v], s[k][v]);
            }
        }
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++)
#pragma GCC unroll 3
            for (int v = 0; v < 3; v++) _mm256_storeu_ps(e + i + k * S + 8 * v, s[k][v]);
    }
    return i;
}

CRF_V3 static void crf_grid_row_v3(const float *restrict acc, const float *hx, int r, int64_t W, int stride,
                                   int64_t xlo, int64_t xhi, const float *u, float *restrict e)
{
    size_t i0 = (size_t)xlo * stride;
    if (xlo <= xhi && r == 4 && stride == 24)
        i0 = crf_grid_row_r4_v3(acc, hx + (size_t)xlo * 9, i0, (size_t)(xhi + 1) * stride, u, e);
    crf_grid_row_body(acc, hx, r, W, stride, xlo, xhi, u, e, i0, crf_grid_taps_v3);
}
#endif

/* The column pass of the nrows (1..CRF_GRID_ROWS) image rows from y into
 * acc[0..nrows-1]. hy: the taps of all rows. */
static void crf_grid_column(const float *restrict q, const float *hy, int r, int64_t y, int64_t H, size_t row,
                            int nrows, float *const *acc)
{
    const int taps = 2 * r + 1;
#if CRF_X86_V3
    if (crf_use_v3()) {
        if (r == 4 && nrows == 4 && CRF_GRID_ROWS == 4 && y >= 4 && y + 7 < H)
            crf_grid_columns_r4_v3(q, hy, y, row, acc);
        else
            crf_grid_columns_v3(q, hy, r, y, H, row, nrows, acc);
        return;
    }
#endif
    for (int k = 0; k < nrows; k++) crf_grid_column_plain(q, hy + (size_t)(y + k) * taps, r, y + k, H, row, acc[k]);
}

static void crf_grid_row(const float *restrict acc, const float *hx, int r, int64_t W, int stride, int64_t xlo,
                         int64_t xhi, const float *u, float *restrict e)
{
#if CRF_X86_V3
    if (crf_use_v3()) {
        crf_grid_row_v3(acc, hx, r, W, stride, xlo, xhi, u, e);
        return;
    }
#endif
    crf_grid_row_plain(acc, hx, r, W, stride, xlo, xhi, u, e);
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
    float *scratch;         /* per thread: rows of W·stride (crf_scratch_floats) */
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

/* Per thread: a column-filtered row, an energy row, and with a grid kernel
 * CRF_GRID_ROWS - 1 more column-filtered rows (crf_update_rows does the
 * column pass of CRF_GRID_ROWS image rows at once); rows of W·stride. */
static size_t crf_scratch_floats(const crf_job *J)
{
    const int grid = J->p->pos_w != 0.0f && crf_grid_radius(J->p->pos_xy_std) > 0;
    return (grid ? CRF_GRID_ROWS + 1 : 2) * (size_t)J->W * J->stride;
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

/* Kernel k's features, computed block by block as lattice_build_begin asks
 * (no array of them: 7.5 MB for a 500x375 image, each page zeroed by the
 * system on first touch). Values are those of the direct formulas,
 * (double)x / xy_std and pixel / (double)rgb_std, read from tables: by
 * column, by row, and for uint8 images by value. */
typedef struct crf_features {
    const crf_job *J;
    int d;
    const double *fx, *fy; /* [W], [H] */
    double fc[256];        /* uint8 colour value / rgb_std */
    double rgb_std;
} crf_features;

static void crf_feature_block(const void *ctx, int32_t p0, int32_t p1, double *f)
{
    const crf_features *F = ctx;
    const crf_job *J = F->J;
    const int d = F->d;
    int64_t x = p0 % J->W, y = p0 / J->W;
    for (int32_t p = p0; p < p1; p++, f += d) {
        f[0] = F->fx[x];
        f[1] = F->fy[y];
        if (d == 5) {
            if (J->image_dtype == SEMSEG_DTYPE_UINT8) {
                const uint8_t *img = (const uint8_t *)J->image + p;
                for (int ch = 0; ch < 3; ch++) f[2 + ch] = F->fc[img[(size_t)ch * J->n]];
            } else {
                for (int ch = 0; ch < 3; ch++) f[2 + ch] = crf_pixel(J, ch, p) / F->rgb_std;
            }
        }
        if (++x == J->W) {
            x = 0;
            y++;
        }
    }
}

/* Kernel k's first step of its lattice (the simplices and vertices of
 * lattice_build_begin). */
static void crf_kernel_begin(crf_job *J, crf_kernel *k)
{
    crf_features F = {.J = J, .d = k->feat_dims, .rgb_std = (double)k->rgb_std};
    double *fxy = malloc((size_t)(J->W + J->H) * sizeof *fxy);
    if (!fxy) {
        k->st = ref_fail(k->err, SEMSEG_STATUS_NO_MEMORY, "DenseCRF node '%s': out of memory for %ld pixels",
                         J->node, (long)J->n);
        return;
    }
    for (int64_t x = 0; x < J->W; x++) fxy[x] = (double)x / k->xy_std;
    for (int64_t y = 0; y < J->H; y++) fxy[J->W + y] = (double)y / k->xy_std;
    for (int v = 0; v < 256; v++) F.fc[v] = (float)v / F.rgb_std;
    F.fx = fxy;
    F.fy = fxy + J->W;
    k->st = lattice_build_begin(&k->L, crf_feature_block, &F, J->n, k->feat_dims, k->err);
    free(fxy);
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
    float *ones = NULL, *norm = NULL;
    /* (after the build, which frees its temporaries first: their pages
     * can serve these) */
    k->st = lattice_build_end(&k->L, k->err);
    if (k->st != SEMSEG_STATUS_OK) return;
    ones = malloc((size_t)n * sizeof *ones);
    norm = malloc((size_t)n * sizeof *norm);
    if (!ones || !norm) {
        k->st = ref_fail(k->err, SEMSEG_STATUS_NO_MEMORY, "DenseCRF node '%s': out of memory for %ld pixels",
                         J->node, (long)n);
        goto done;
    }
    for (int32_t p = 0; p < n; p++) ones[p] = 1.0f;
    k->st = lattice_filter(&k->L, ones, 1, norm);
    if (k->st != SEMSEG_STATUS_OK) {
        ref_fail(k->err, k->st, "DenseCRF node '%s': out of memory for the lattice", J->node);
        goto done;
    }
    /* the scales replace ones and norm point by point: in_s in ones, out_s in norm */
    float *in_s = ones, *out_s = norm;
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
    const crf_grid *g = &J->grid;
    float *acc[CRF_GRID_ROWS], *E = J->scratch + (size_t)tid * crf_scratch_floats(J) + row;
    acc[0] = E - row;
    for (int k = 1; k < CRF_GRID_ROWS; k++) /* after E, if there is a grid kernel */
        acc[k] = g->r > 0 ? E + (size_t)k * row : NULL;
    for (int64_t y = y0; y < y1; y++) {
        const int32_t p0 = (int32_t)(y * J->W), p1 = (int32_t)(p0 + J->W);
        const float *u = J->unary + (size_t)p0 * stride;
        if (g->r > 0) {
            /* rows y0, y0 + CRF_GRID_ROWS, ... do the column pass of the next ones too */
            const int k = (int)((y - y0) % CRF_GRID_ROWS);
            if (k == 0)
                crf_grid_column(q, g->hy, g->r, y, J->H, row, y1 - y < CRF_GRID_ROWS ? (int)(y1 - y) : CRF_GRID_ROWS,
                                acc);
            crf_grid_row(acc[k], g->hx, g->r, J->W, stride, g->xlo, g->xhi, u, E);
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
CRF_HOT static void crf_planes_to_rows_plain(const float *planes, int c, int32_t n, int stride, float *restrict rows)
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
CRF_HOT static void crf_rows_to_planes_plain(const float *rows, int c, int32_t n, int stride, float *restrict planes)
{
    for (int32_t i0 = 0; i0 < n; i0 += CRF_TILE) {
        const int32_t i1 = n - i0 < CRF_TILE ? n : i0 + CRF_TILE;
        for (int ch = 0; ch < c; ch++)
            for (int32_t i = i0; i < i1; i++) planes[(size_t)ch * n + i] = rows[(size_t)i * stride + ch];
    }
}

#if CRF_X86_V3
/* Transposes the 8x8 block of floats in x in place (x[k][j] <-> x[j][k]). */
CRF_V3 CRF_INLINE void crf_transpose8_v3(__m256 *x)
{
    __m256 t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_ps(x[k], x[k + 1]);
        t[k + 1] = _mm256_unpackhi_ps(x[k], x[k + 1]);
    }
    for (int k = 0; k < 8; k += 4) {
        u[k] = _mm256_shuffle_ps(t[k], t[k + 2], 0x44);
        u[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], 0xee);
        u[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0x44);
        u[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0xee);
    }
    for (int k = 0; k < 4; k++) {
        x[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
        x[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
    }
}

/* crf_planes_to_rows 8 pixels at a time, as 8x8 transposes (a copy: the
 * same values). */
CRF_V3 static void crf_planes_to_rows_v3(const float *planes, int c, int32_t n, int stride, float *restrict rows)
{
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int g = 0; g < stride; g += CRF_LANES) {
            __m256 x[8];
            for (int k = 0; k < 8; k++)
                x[k] = g + k < c ? _mm256_loadu_ps(planes + (size_t)(g + k) * n + i) : _mm256_set1_ps(CRF_PAD_ENERGY);
            crf_transpose8_v3(x);
            for (int k = 0; k < 8; k++) _mm256_storeu_ps(rows + (size_t)(i + k) * stride + g, x[k]);
        }
    for (; i < n; i++) {
        for (int ch = 0; ch < c; ch++) rows[(size_t)i * stride + ch] = planes[(size_t)ch * n + i];
        for (int ch = c; ch < stride; ch++) rows[(size_t)i * stride + ch] = CRF_PAD_ENERGY;
    }
}

/* crf_rows_to_planes 8 pixels at a time. */
CRF_V3 static void crf_rows_to_planes_v3(const float *rows, int c, int32_t n, int stride, float *restrict planes)
{
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int g = 0; g < c; g += CRF_LANES) {
            __m256 x[8];
            for (int k = 0; k < 8; k++) x[k] = _mm256_loadu_ps(rows + (size_t)(i + k) * stride + g);
            crf_transpose8_v3(x);
            for (int k = 0; k < 8 && g + k < c; k++) _mm256_storeu_ps(planes + (size_t)(g + k) * n + i, x[k]);
        }
    for (; i < n; i++)
        for (int ch = 0; ch < c; ch++) planes[(size_t)ch * n + i] = rows[(size_t)i * stride + ch];
}
#endif

static void crf_planes_to_rows(const float *planes, int c, int32_t n, int stride, float *restrict rows)
{
#if CRF_X86_V3
    if (crf_use_v3()) {
        crf_planes_to_rows_v3(planes, c, n, stride, rows);
        return;
    }
#endif
    crf_planes_to_rows_plain(planes, c, n, stride, rows);
}

static void crf_rows_to_planes(const float *rows, int c, int32_t n, int stride, float *restrict planes)
{
#if CRF_X86_V3
    if (crf_use_v3()) {
        crf_rows_to_planes_v3(rows, c, n, stride, planes);
        return;
    }
#endif
    crf_rows_to_planes_plain(rows, c, n, stride, planes);
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
