/*
 * The blas plugin's Winograd convolutions, F(2x2), F(3x3) and F(4x4) for 3x3
 * kernels, each forced (blas.wino runs plugins/blas/conv_winograd.c
 * directly, since the Conv's chooser picks one of them by cost and
 * test_blas_ops cannot say which it got), against a float64 convolution
 * written here from the ONNX
 * definition: odd sizes, dilations 1 to 24, asymmetric and zero pads, tiles
 * cut by the edge, tiles that read only padding, channel counts off the
 * vector width, several channel chunks and several tile passes, every
 * epilogue (bias, residual in its own buffer or in Y, Relu/Clip/HardSwish),
 * at 1, 2 and 3 threads.
 *
 * The error is measured against the largest |value| of the convolution
 * before the epilogue (its rounding error scales with that, and a Clip can
 * make the output's own maximum small). Data are He-initialised weights on
 * inputs in [-1, 1), like a trained network's. Prints the largest error per
 * case, so the accuracy of each transform stays visible.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/blas/blas.h"

/* F(3x3) and F(4x4) round more than direct summation (their transforms
 * have entries up to 4 and 8); measured on these cases: <= 7e-7 for F(2x2),
 * <= 5e-6 for F(3x3) and F(4x4). */
#define TOL_F2 2e-6
#define TOL_F34 2e-5

static unsigned long long seed = 99;
static double urand(void)   /* [-1, 1) */
{
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)((seed >> 40) & 0xFFFFFF) / (double)0x800000 - 1.0;
}

typedef struct wcase {
    const char *label;
    int64_t c, m, h, w, dh, dw;
    int64_t pt, pl, pb, pr;
    int act;                    /* semseg_act */
    int residual;               /* 0 none, 1 own buffer, 2 in Y */
    int nobias;
} wcase;

static void naive(const wcase *k, const float *x, const float *wt, const float *b, int64_t oh, int64_t ow, double *y)
{
    for (int64_t m = 0; m < k->m; m++)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                double acc = b ? b[m] : 0.0;
                for (int64_t c = 0; c < k->c; c++)
                    for (int64_t ky = 0; ky < 3; ky++)
                        for (int64_t kx = 0; kx < 3; kx++) {
                            int64_t iy = oy - k->pt + ky * k->dh, ix = ox - k->pl + kx * k->dw;
                            if (iy < 0 || iy >= k->h || ix < 0 || ix >= k->w) continue;
                            acc += (double)x[(c * k->h + iy) * k->w + ix] * wt[((m * k->c + c) * 3 + ky) * 3 + kx];
                        }
                y[(m * oh + oy) * ow + ox] = acc;
            }
}

static double act_d(int act, double v)
{
    switch (act) {
    case SEMSEG_ACT_RELU: return v > 0 ? v : 0;
    case SEMSEG_ACT_CLIP: return v < 0 ? 0 : v > 6 ? 6 : v;
    case SEMSEG_ACT_HARDSWISH: {
        double s = v / 6 + 0.5;
        return v * (s < 0 ? 0 : s > 1 ? 1 : s);
    }
    default: return v;
    }
}

static int g_fail, g_run;

/* Runs case k with tile size r at `threads` threads; returns the error. */
static double run_case(const wcase *k, int r, int threads, const float *x, const float *wt, const float *b,
                       const float *res, const double *conv, int64_t oh, int64_t ow, int *ok)
{
    size_t scratch_bytes = 0;
    *ok = 0;
    blas_wino *p = blas_wino_create(k->m, k->c, k->h, k->w, oh, ow, k->dh, k->dw, k->pt, k->pl, r, threads,
                                    &scratch_bytes);
    int64_t ny = k->m * oh * ow;
    float *y = malloc((size_t)ny * sizeof(float));
    float *scratch = malloc(scratch_bytes ? scratch_bytes : 1);
    if (!p || !y || !scratch) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    /* NaN where nothing must be read, so a missed write or a stray read shows */
    for (int64_t i = 0; i < ny; i++) y[i] = k->residual == 2 ? res[i] : NAN;
    for (size_t i = 0; i < scratch_bytes / sizeof(float); i++) scratch[i] = NAN;
    blas_epilogue e = { k->act, 0.0f, 6.0f, k->residual ? 3 : -1 };
    blas_wino_run(p, wt, x, y, b, k->residual == 1 ? res : NULL, k->residual == 2, &e, scratch);
    double scale = 1e-30, worst = 0.0;
    for (int64_t i = 0; i < ny; i++) scale = fabs(conv[i]) > scale ? fabs(conv[i]) : scale;
    for (int64_t i = 0; i < ny; i++) {
        double want = act_d(k->act, conv[i] + (k->residual ? res[i] : 0.0));
        double d = fabs(y[i] - want);
        if (!(d <= worst)) worst = d;   /* NaN sticks */
    }
    blas_wino_destroy(p);
    free(y);
    free(scratch);
    *ok = 1;
    return worst / scale;
}

static void check(wcase k)
{
    int64_t oh = k.h + k.pt + k.pb - 2 * k.dh, ow = k.w + k.pl + k.pr - 2 * k.dw;
    int64_t nx = k.c * k.h * k.w, nw = k.m * k.c * 9, ny = k.m * oh * ow;
    float *x = malloc((size_t)nx * sizeof(float)), *wt = malloc((size_t)nw * sizeof(float));
    float *b = malloc((size_t)k.m * sizeof(float)), *res = malloc((size_t)ny * sizeof(float));
    double *conv = malloc((size_t)ny * sizeof(double));
    if (!x || !wt || !b || !res || !conv) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    double he = sqrt(6.0 / (9.0 * (double)k.c));   /* uniform with He's variance 2 / fan_in */
    for (int64_t i = 0; i < nx; i++) x[i] = (float)urand();
    for (int64_t i = 0; i < nw; i++) wt[i] = (float)(he * urand());
    for (int64_t i = 0; i < k.m; i++) b[i] = (float)(0.1 * urand());
    for (int64_t i = 0; i < ny; i++) res[i] = (float)urand();
    naive(&k, x, wt, k.nobias ? NULL : b, oh, ow, conv);
    for (int r = 2; r <= 4; r++) {
        double tol = r == 2 ? TOL_F2 : TOL_F34, worst = 0.0;
        int bad = 0;
        for (int threads = 1; threads <= 3; threads++) {
            int ok;
            double err = run_case(&k, r, threads, x, wt, k.nobias ? NULL : b, res, conv, oh, ow, &ok);
            if (!(err <= worst)) worst = err;
            if (!ok || !(err <= tol)) bad = 1;
        }
        g_run++;
        if (bad) g_fail++;
        printf("%s F(%dx%d) %s c%lld m%lld %lldx%lld d%lld,%lld pads %lld,%lld,%lld,%lld%s%s%s: "
               "max error %.2e of max|conv|\n",
               bad ? "FAIL" : "ok  ", r, r, k.label, (long long)k.c, (long long)k.m, (long long)k.h, (long long)k.w,
               (long long)k.dh, (long long)k.dw, (long long)k.pt, (long long)k.pl, (long long)k.pb, (long long)k.pr,
               k.act == SEMSEG_ACT_RELU ? " relu" : k.act == SEMSEG_ACT_CLIP ? " clip" :
               k.act == SEMSEG_ACT_HARDSWISH ? " hardswish" : "",
               k.residual == 1 ? " +res" : k.residual == 2 ? " +res(in Y)" : "", k.nobias ? " no bias" : "", worst);
    }
    free(x);
    free(wt);
    free(b);
    free(res);
    free(conv);
}

int main(void)
{
    const int relu = SEMSEG_ACT_RELU, clip = SEMSEG_ACT_CLIP, hs = SEMSEG_ACT_HARDSWISH;
    check((wcase){ "plain", 16, 8, 12, 12, 1, 1, 1, 1, 1, 1, 0, 0, 0 });
    check((wcase){ "odd sizes", 13, 11, 17, 15, 1, 1, 1, 1, 1, 1, relu, 0, 0 });
    check((wcase){ "no pad", 9, 7, 11, 10, 1, 1, 0, 0, 0, 0, 0, 0, 1 });
    check((wcase){ "asym pads", 10, 5, 9, 14, 1, 1, 0, 2, 1, 0, clip, 1, 0 });
    check((wcase){ "dilation 2", 24, 16, 21, 23, 2, 2, 2, 2, 2, 2, relu, 1, 0 });
    check((wcase){ "dilation 4x3", 12, 9, 26, 19, 4, 3, 4, 3, 4, 3, relu, 2, 0 });
    check((wcase){ "dilation 12", 8, 6, 33, 31, 12, 12, 12, 12, 12, 12, hs, 0, 0 });
    check((wcase){ "dilation 24", 8, 5, 33, 33, 24, 24, 24, 24, 24, 24, relu, 2, 0 });
    check((wcase){ "dilation 12 > size", 6, 4, 9, 7, 12, 12, 12, 12, 12, 12, 0, 1, 0 });
    check((wcase){ "dilation 24 pads 1", 7, 3, 50, 52, 24, 24, 1, 1, 1, 1, clip, 0, 0 });
    check((wcase){ "one pixel", 5, 3, 1, 1, 1, 1, 1, 1, 1, 1, relu, 1, 0 });
    check((wcase){ "one row", 6, 4, 1, 19, 1, 1, 1, 1, 1, 1, 0, 2, 0 });
    check((wcase){ "channel chunks", 600, 12, 48, 47, 2, 2, 2, 2, 2, 2, relu, 2, 0 });
    check((wcase){ "blocks", 37, 133, 13, 11, 1, 1, 1, 1, 1, 1, relu, 1, 0 });
    check((wcase){ "tile passes", 3, 1100, 56, 58, 1, 1, 1, 1, 1, 1, hs, 2, 0 });
    check((wcase){ "deep", 512, 40, 25, 25, 1, 1, 1, 1, 1, 1, 0, 0, 0 });
    check((wcase){ "deeper", 2048, 16, 17, 17, 1, 1, 1, 1, 1, 1, relu, 0, 0 });
    printf("%d of %d cases failed\n", g_fail, g_run);
    return g_fail ? 1 : 0;
}
