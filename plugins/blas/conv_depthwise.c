/*
 * Depthwise convolution for the blas Conv: one input channel per group
 * (MobileNetV3's 3x3 and 5x5 layers, strided or dilated), where a GEMM per
 * channel would be a 1-row GEMM. Any kernel size, stride, dilation and pads.
 *
 * Each channel is first copied into a zero-padded plane (per worker, in the
 * scratch buffer), so the inner loop needs no bounds checks. With column
 * stride s the plane is stored as s column phases: padded column u goes to
 * phase u % s at position u / s, so that for every tap the outputs of one row
 * read consecutive floats (stride 2 would otherwise gather every other one).
 * Each output row is then summed in registers, 32 outputs at a time over
 * all taps, and stored once (with the residual, if any), instead of
 * reading and writing the row once per tap.
 *
 * The copy costs one read and one write per padded input pixel against
 * kh*kw multiply-adds per output pixel, which is small even for a 3x3
 * stride-2 layer; the rows of the plane a tap never reaches are copied too.
 */
#include <string.h>

#include "blas.h"

/* The loops below are BLAS_HOT (an AVX2/FMA clone beside the baseline one);
 * CMakeLists.txt lets a*b + c become an FMA in this file, so the two differ
 * from each other (and from ref) in the last bits only. */

struct blas_dw {
    int64_t h, w, oh, ow, sh, sw, pt, pl, kk;
    int64_t ph, pw;     /* padded plane: rows, and columns per phase */
    int64_t *off;       /* [kk] where tap (ky, kx) reads for output (0, 0) */
};

blas_dw *blas_dw_create(int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t sh,
                        int64_t sw, int64_t dh, int64_t dw, int64_t pt, int64_t pl, size_t *plane_floats)
{
    blas_dw *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    *p = (blas_dw){ h, w, oh, ow, sh, sw, pt, pl, kh * kw, 0, 0, NULL };
    p->ph = (oh - 1) * sh + (kh - 1) * dh + 1;
    int64_t cols = (ow - 1) * sw + (kw - 1) * dw + 1;
    p->pw = (cols + sw - 1) / sw;
    p->off = malloc((size_t)p->kk * sizeof(int64_t));
    if (!p->off) {
        free(p);
        return NULL;
    }
    for (int64_t ky = 0; ky < kh; ky++)
        for (int64_t kx = 0; kx < kw; kx++) {
            int64_t u = kx * dw;
            p->off[ky * kw + kx] = (u % sw) * p->ph * p->pw + ky * dh * p->pw + u / sw;
        }
    *plane_floats = (size_t)(sw * p->ph * p->pw);
    return p;
}

void blas_dw_destroy(blas_dw *p)
{
    if (!p) return;
    free(p->off);
    free(p);
}

/* Positions j in [j0, j1) of one phase row: input column ix = j*sw + phase
 * - pl, zero outside [0, w). */
static void dw_pad_phase(const float *src, int64_t w, int64_t sw, int64_t phase, int64_t pl, int64_t j0,
                         int64_t j1, float *dst)
{
    for (int64_t j = j0; j < j1; j++) {
        int64_t ix = j * sw + phase - pl;
        dst[j] = ix >= 0 && ix < w ? src[ix] : 0.0f;
    }
}

/* Stride 2, both phases in one pass: even[j] = x[2j - pl], odd[j] =
 * x[2j + 1 - pl]; the loop over positions where both are inside is one the
 * compiler vectorises (a strided gather would cost more than the 3x3 taps). */
BLAS_HOT static void dw_pad_row2(const float *src, int64_t w, int64_t pl, int64_t pw, float *even, float *odd)
{
    int64_t lo = (pl + 1) / 2, hi = (w + pl) / 2;
    if (hi > pw) hi = pw;
    if (lo > hi) lo = hi;
    for (int64_t j = lo; j < hi; j++) {
        const float *q = src + 2 * j - pl;
        even[j] = q[0];
        odd[j] = q[1];
    }
    for (int64_t phase = 0; phase < 2; phase++) {   /* the edges, with checks */
        dw_pad_phase(src, w, 2, phase, pl, 0, lo, phase ? odd : even);
        dw_pad_phase(src, w, 2, phase, pl, hi, pw, phase ? odd : even);
    }
}

/* Copies channel x into the phased, zero-padded plane. */
static void dw_pad(const blas_dw *p, const float *x, float *plane)
{
    const int64_t sw = p->sw, pw = p->pw, phase_size = p->ph * pw;
    for (int64_t r = 0; r < p->ph; r++) {
        int64_t iy = r - p->pt;
        float *dst = plane + r * pw;
        if (iy < 0 || iy >= p->h) {
            for (int64_t phase = 0; phase < sw; phase++) memset(dst + phase * phase_size, 0, (size_t)pw * sizeof(float));
            continue;
        }
        const float *src = x + iy * p->w;
        if (sw == 1) {
            int64_t lo = p->pl < pw ? p->pl : pw, hi = p->w + p->pl < pw ? p->w + p->pl : pw;
            if (hi < lo) hi = lo;
            memset(dst, 0, (size_t)lo * sizeof(float));
            memcpy(dst + lo, src + lo - p->pl, (size_t)(hi - lo) * sizeof(float));
            memset(dst + hi, 0, (size_t)(pw - hi) * sizeof(float));
        } else if (sw == 2) {
            dw_pad_row2(src, p->w, p->pl, pw, dst, dst + phase_size);
        } else {
            for (int64_t phase = 0; phase < sw; phase++)
                dw_pad_phase(src, p->w, sw, phase, p->pl, 0, pw, dst + phase * phase_size);
        }
    }
}

/* Eight floats; GCC and Clang lower it to one AVX register in the x86-64-v3
 * clone and two SSE registers in the baseline one. Written out rather than
 * left to the auto-vectoriser, which turned the tap loop inside out. */
typedef float dw_vec __attribute__((vector_size(32)));

/* *acc += *w * p[0..7]; vectors go by pointer, since passing an AVX vector
 * by value would change the calling convention between the two clones. */
static inline void dw_madd(dw_vec *acc, const dw_vec *w, const float *p)
{
    dw_vec x;
    memcpy(&x, p, sizeof x);
    *acc += *w * x;
}

/* y[i] = bias + sum over taps t of wk[t] * base[off[t] + i] (+ res[i]) for
 * i < 32, the sums in four registers. */
static inline void dw_block32(const float *base, const int64_t *off, const float *wk, int64_t kk, float bias,
                              const float *res, float *y)
{
    const dw_vec one = (dw_vec){ 0 } + 1.0f;
    dw_vec a0 = (dw_vec){ 0 } + bias, a1 = a0, a2 = a0, a3 = a0;
    for (int64_t t = 0; t < kk; t++) {
        const dw_vec wv = (dw_vec){ 0 } + wk[t];
        const float *src = base + off[t];
        dw_madd(&a0, &wv, src);
        dw_madd(&a1, &wv, src + 8);
        dw_madd(&a2, &wv, src + 16);
        dw_madd(&a3, &wv, src + 24);
    }
    if (res) {
        dw_madd(&a0, &one, res);
        dw_madd(&a1, &one, res + 8);
        dw_madd(&a2, &one, res + 16);
        dw_madd(&a3, &one, res + 24);
    }
    memcpy(y, &a0, sizeof a0);
    memcpy(y + 8, &a1, sizeof a1);
    memcpy(y + 16, &a2, sizeof a2);
    memcpy(y + 24, &a3, sizeof a3);
}

/* The same for i < 8. */
static inline void dw_block8(const float *base, const int64_t *off, const float *wk, int64_t kk, float bias,
                             const float *res, float *y)
{
    const dw_vec one = (dw_vec){ 0 } + 1.0f;
    dw_vec a0 = (dw_vec){ 0 } + bias;
    for (int64_t t = 0; t < kk; t++) {
        const dw_vec wv = (dw_vec){ 0 } + wk[t];
        dw_madd(&a0, &wv, base + off[t]);
    }
    if (res) dw_madd(&a0, &one, res);
    memcpy(y, &a0, sizeof a0);
}

/* The same for one output. */
static inline void dw_block1(const float *base, const int64_t *off, const float *wk, int64_t kk, float bias,
                             const float *res, float *y)
{
    float a = bias;
    for (int64_t t = 0; t < kk; t++) a += wk[t] * base[off[t]];
    *y = res ? a + *res : a;
}

BLAS_HOT static void dw_rows(const blas_dw *p, const float *plane, const float *wk, float bias, const float *res,
                           float *y)
{
    const int64_t ow = p->ow;
    for (int64_t oy = 0; oy < p->oh; oy++) {
        const float *base = plane + oy * p->sh * p->pw;
        float *yr = y + oy * ow;
        const float *rr = res ? res + oy * ow : NULL;
        int64_t ox = 0;
        for (; ox + 32 <= ow; ox += 32) dw_block32(base + ox, p->off, wk, p->kk, bias, rr ? rr + ox : NULL, yr + ox);
        for (; ox + 8 <= ow; ox += 8) dw_block8(base + ox, p->off, wk, p->kk, bias, rr ? rr + ox : NULL, yr + ox);
        for (; ox < ow; ox++) dw_block1(base + ox, p->off, wk, p->kk, bias, rr ? rr + ox : NULL, yr + ox);
    }
}

void blas_dw_channel(const blas_dw *p, const float *x, const float *wk, float bias, const float *res, float *y,
                     float *plane)
{
    dw_pad(p, x, plane);
    dw_rows(p, plane, wk, bias, res, y);
}
