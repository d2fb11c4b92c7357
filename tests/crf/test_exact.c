/*
 * The lattice-filtered op against the exact float64 mean field
 * (densecrf_exact.c) on synthetic scenes up to 48×48: largest |ΔQ| over all
 * pixels and labels, and agreement of the MAP labelling. Also the exact
 * reference itself against hand-checkable facts on a 2-pixel image.
 *
 * Tolerances come from measurements on these scenes (printed on every run;
 * docs/densecrf.md lists them): the lattice's kernel is a piecewise-linear
 * approximation of the Gaussian, so Q differs by a few percent where labels
 * compete and MAP may flip on the odd boundary pixel, never more.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crf_test.h"
#include "densecrf_exact.h"

typedef struct exact_case {
    const char *name;
    int C, H, W;
    int norm;
    float pos_w, pos_xy_std, bi_w, bi_xy_std, bi_rgb_std;
    int iterations;
    double noise;
} exact_case;

static int checks = 0;

static void run_case(const exact_case *k, uint64_t seed, double max_dq_tol, double map_tol)
{
    crf_scene s;
    crf_params p;
    char err[SEMSEG_ERRMSG_SIZE] = "";
    const int n = k->H * k->W;
    if (crf_scene_make(&s, k->C, k->H, k->W, 1.0, k->noise, seed)) {
        CRF_CHECK(0, "out of memory");
        return;
    }
    crf_params_default(&p);
    p.normalization = k->norm;
    p.iterations = k->iterations;
    p.pos_w = k->pos_w;
    p.pos_xy_std = k->pos_xy_std;
    p.bi_w = k->bi_w;
    p.bi_xy_std = k->bi_xy_std;
    p.bi_rgb_std = k->bi_rgb_std;
    float *q = malloc((size_t)k->C * n * sizeof *q);
    double *qe = malloc((size_t)k->C * n * sizeof *qe);
    if (!q || !qe) {
        CRF_CHECK(0, "out of memory");
        goto done;
    }
    semseg_status st = densecrf_run_threads(&p, k->C, k->H, k->W, s.logits, s.img8, SEMSEG_DTYPE_UINT8,
                                            q, 1, k->name, err);
    CRF_CHECK(st == SEMSEG_STATUS_OK, "%s: lattice run failed: %s", k->name, err);
    st = crf_exact_run(&p, k->C, k->H, k->W, s.logits, s.imgd, qe);
    CRF_CHECK(st == SEMSEG_STATUS_OK, "%s: exact run failed", k->name);
    double maxd = 0;
    int agree = 0, agree_unary = 0, agree_exact_truth = 0;
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < k->C; c++) maxd = fmax(maxd, fabs(q[(size_t)c * n + i] - qe[(size_t)c * n + i]));
        int a = crf_argmax_f(q, k->C, n, i), b = crf_argmax_d(qe, k->C, n, i);
        agree += a == b;
        agree_unary += crf_argmax_f(s.logits, k->C, n, i) == s.truth[i];
        agree_exact_truth += b == s.truth[i];
    }
    double map = (double)agree / n;
    printf("%-28s %2dx%-2d C=%-2d %-9s max|dQ| %.4f  MAP agreement %.4f  (truth: unary %.3f, exact CRF %.3f)\n",
           k->name, k->H, k->W, k->C, k->norm == CRF_NORM_AFTER ? "after" : "symmetric", maxd, map,
           (double)agree_unary / n, (double)agree_exact_truth / n);
    checks += 2;
    CRF_CHECK(maxd <= max_dq_tol, "%s: max |dQ| %.4f > %.4f", k->name, maxd, max_dq_tol);
    CRF_CHECK(map >= map_tol, "%s: MAP agreement %.4f < %.4f", k->name, map, map_tol);
done:
    free(q);
    free(qe);
    crf_scene_free(&s);
}

/* Two pixels, position kernel only, normalisation "after": K~ has rows
 * (1, e)/(1+e) and (e, 1)/(1+e) with e = exp(-½(1/σ)²); one iteration by hand. */
static void exact_two_pixels(void)
{
    crf_params p;
    crf_params_default(&p);
    p.bi_w = 0;
    p.pos_w = 2;
    p.pos_xy_std = 1.5f;
    p.iterations = 1;
    const float logits[4] = {1.0f, -0.5f, 0.0f, 0.0f}; /* [C=2][n=2] */
    const double img[6] = {0};
    double out[4];
    crf_exact_run(&p, 2, 1, 2, logits, img, out);
    double e = exp(-0.5 / (1.5 * 1.5)), q0[2], q1[2];
    q0[0] = 1 / (1 + exp(-1.0));
    q0[1] = 1 / (1 + exp(0.5));
    q1[0] = 1 - q0[0];
    q1[1] = 1 - q0[1];
    for (int i = 0; i < 2; i++) {
        int j = 1 - i;
        double m0 = (q0[i] + e * q0[j]) / (1 + e), m1 = (q1[i] + e * q1[j]) / (1 + e);
        double e0 = logits[i] + 2 * m0, e1 = logits[2 + i] + 2 * m1;
        double want = 1 / (1 + exp(e1 - e0));
        checks++;
        CRF_CHECK(fabs(out[i] - want) < 1e-12, "exact 2-pixel: Q0[%d] = %.15f, want %.15f", i, out[i], want);
    }
}

int main(void)
{
    exact_two_pixels();
    const exact_case cases[] = {
        {"deeplab-defaults", 5, 48, 48, CRF_NORM_AFTER, 3, 1, 4, 67, 3, 10, 1.0},
        {"deeplab-defaults-sym", 5, 48, 48, CRF_NORM_SYMMETRIC, 3, 1, 4, 67, 3, 10, 1.0},
        {"wide-position", 4, 40, 32, CRF_NORM_AFTER, 3, 3, 5, 10, 10, 10, 1.5},
        {"wide-position-sym", 4, 32, 40, CRF_NORM_SYMMETRIC, 3, 3, 5, 10, 10, 10, 1.5},
        {"bilateral-only", 3, 48, 40, CRF_NORM_AFTER, 0, 1, 6, 8, 15, 5, 1.2},
        {"position-only", 3, 24, 48, CRF_NORM_AFTER, 5, 2, 0, 1, 1, 5, 1.2},
        {"many-labels", 21, 24, 24, CRF_NORM_AFTER, 3, 1, 4, 67, 3, 10, 1.0},
        {"tiny", 2, 6, 5, CRF_NORM_SYMMETRIC, 3, 1, 4, 5, 20, 10, 1.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], 1000 + i, 1.0, 0.0);
    return crf_test_finish("crf.exact", checks);
}
