/*
 * Small GEMM with the epilogue fused, for the blas Conv's 1x1 and im2col
 * layers whose K (input channels x live taps) is small (conv.c's
 * CONV_SMALL_K): MobileNetV3's first layers (3x3 stem on 3 channels, 1x1
 * expansions 16->64 and 24->72 at 260x260 and 130x130), where OpenBLAS
 * spends more on packing its panels than on the multiplications, and then
 * our epilogue rereads an output that no longer fits in the cache.
 *
 *     y[i][j] = act(sum over p < k of w[i][p] * x[p][j] + bias[i] + r[i][j])
 *
 * with r the residual (res, or y itself when res_in_y). Tiles of 4 rows by
 * 16 columns are summed in eight vector registers over all of k, the
 * epilogue is applied to the registers and each output is stored once. A
 * panel of x is read from cache for every row block, so x and y stream
 * through memory once.
 */
#include <string.h>

#include "blas.h"

/* Eight floats; one AVX register in the x86-64-v3 clone, two SSE registers
 * in the baseline one. Vectors go by pointer between functions, since
 * passing an AVX vector by value would differ between the clones. */
typedef float sg_vec __attribute__((vector_size(32)));
typedef int32_t sg_ivec __attribute__((vector_size(32)));

#define SG_MB 4     /* rows per tile */
#define SG_NB 16    /* columns per tile: two vectors */
/* Columns per panel: a panel of x (k x 256 floats, at most 64 KB) stays in
 * L1/L2 while every row block runs along it, so that each row of y is
 * written in runs of 1 KB rather than 64 bytes at a time. */
#define SG_PANEL 256

typedef struct sg_job {
    int64_t k;
    const float *w, *x, *bias, *res;
    float *y;
    int64_t ldw, ldx, ldy, ldr;
    int res_in_y;
    const blas_epilogue *e;
} sg_job;

static inline void sg_load(sg_vec *v, const float *p)
{
    memcpy(v, p, sizeof *v);
}

/* *m ? *a : *b, lane by lane */
static inline void sg_select(sg_vec *out, const sg_ivec *m, const sg_vec *a, const sg_vec *b)
{
    *out = (sg_vec)(((sg_ivec)*a & *m) | ((sg_ivec)*b & ~*m));
}

/* The activations of blas_act, lane by lane, with the same comparisons. */
static inline void sg_act(const blas_epilogue *e, sg_vec *v)
{
    const sg_vec zero = { 0 }, one = zero + 1.0f;
    sg_ivec m;
    switch (e->act) {
    case SEMSEG_ACT_RELU:
        m = *v > zero;
        sg_select(v, &m, v, &zero);
        break;
    case SEMSEG_ACT_CLIP: {
        const sg_vec lo = zero + e->lo, hi = zero + e->hi;
        m = *v < lo;
        sg_select(v, &m, &lo, v);
        m = *v > hi;
        sg_select(v, &m, &hi, v);
        break;
    }
    case SEMSEG_ACT_HARDSWISH: {
        sg_vec t = *v * (1.0f / 6.0f) + 0.5f;
        m = t > zero;
        sg_select(&t, &m, &t, &zero);
        m = t < one;
        sg_select(&t, &m, &t, &one);
        *v *= t;
        break;
    }
    default:
        break;
    }
}

/* Rows [i0, i0+rows) by columns [j0, j0+16); rows is SG_MB or 1, a constant
 * once inlined, so acc lives in registers. */
static inline void sg_tile(const sg_job *j, int64_t i0, int64_t j0, int rows)
{
    sg_vec acc[SG_MB][2];
    for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = (sg_vec){ 0 };
    const float *xp = j->x + j0, *wp = j->w + i0 * j->ldw;
    for (int64_t p = 0; p < j->k; p++, xp += j->ldx) {
        sg_vec x0, x1;
        sg_load(&x0, xp);
        sg_load(&x1, xp + 8);
        for (int r = 0; r < rows; r++) {
            const sg_vec wv = (sg_vec){ 0 } + wp[r * j->ldw + p];
            acc[r][0] += wv * x0;
            acc[r][1] += wv * x1;
        }
    }
    for (int r = 0; r < rows; r++) {
        float *yr = j->y + (i0 + r) * j->ldy + j0;
        const float *rr = j->res_in_y ? yr : j->res ? j->res + (i0 + r) * j->ldr + j0 : NULL;
        const float b = j->bias ? j->bias[i0 + r] : 0.0f;
        for (int v = 0; v < 2; v++) {
            sg_vec a = acc[r][v] + b, t;
            if (rr) {
                sg_load(&t, rr + 8 * v);
                a += t;
            }
            sg_act(j->e, &a);
            memcpy(yr + 8 * v, &a, sizeof a);
        }
    }
}

/* Columns [j0, n) that do not fill a tile, one at a time. */
static void sg_tail(const sg_job *j, int64_t m, int64_t j0, int64_t n)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t c = j0; c < n; c++) {
            float acc = 0.0f;
            for (int64_t p = 0; p < j->k; p++) acc += j->w[i * j->ldw + p] * j->x[p * j->ldx + c];
            float *yv = j->y + i * j->ldy + c;
            float v = acc + (j->bias ? j->bias[i] : 0.0f);
            if (j->res_in_y) v += *yv;
            else if (j->res) v += j->res[i * j->ldr + c];
            *yv = blas_act(j->e->act, v, j->e->lo, j->e->hi);
        }
}

BLAS_HOT void blas_small_gemm(int64_t m, int64_t n, int64_t k, const float *w, int64_t ldw, const float *x,
                              int64_t ldx, float *y, int64_t ldy, const float *bias, const float *res, int64_t ldr,
                              int res_in_y, const blas_epilogue *e)
{
    const sg_job j = { k, w, x, bias, res, y, ldw, ldx, ldy, ldr, res_in_y, e };
    const int64_t nfull = n - n % SG_NB;
    for (int64_t p0 = 0; p0 < nfull; p0 += SG_PANEL) {
        int64_t p1 = p0 + SG_PANEL < nfull ? p0 + SG_PANEL : nfull;
        int64_t i = 0;
        for (; i + SG_MB <= m; i += SG_MB)
            for (int64_t j0 = p0; j0 < p1; j0 += SG_NB) sg_tile(&j, i, j0, SG_MB);
        for (; i < m; i++)
            for (int64_t j0 = p0; j0 < p1; j0 += SG_NB) sg_tile(&j, i, j0, 1);
    }
    if (nfull < n) sg_tail(&j, m, nfull, n);
}
