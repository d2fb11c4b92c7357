/*
 * Exact DenseCRF mean field (see densecrf_exact.h): the definition the
 * lattice-filtered op approximates. For each kernel,
 *     K_ij = exp(-½ Σ_f ((f_i - f_j) / std_f)²)   (self term K_ii = 1 included)
 *     D_ii = Σ_j K_ij
 *     K~ = D⁻¹K ("after") or D^-½ K D^-½ ("symmetric")
 * and A = pos_w·K~pos + bi_w·K~bi is formed once; each iteration is then
 *     Q = softmax(logits + A·Q).
 */
#include "densecrf_exact.h"

#include <math.h>
#include <stdlib.h>

/* Adds w·K~ of one kernel to A (n×n); D is scratch of n. feat[n][d] are
 * already divided by their std. */
static void exact_add_kernel(double *A, double *D, const double *feat, int n, int d, double w, int norm)
{
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < n; j++) {
            double r2 = 0;
            for (int k = 0; k < d; k++) {
                double t = feat[(size_t)i * d + k] - feat[(size_t)j * d + k];
                r2 += t * t;
            }
            s += exp(-0.5 * r2);
        }
        D[i] = s;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double r2 = 0;
            for (int k = 0; k < d; k++) {
                double t = feat[(size_t)i * d + k] - feat[(size_t)j * d + k];
                r2 += t * t;
            }
            double kij = exp(-0.5 * r2);
            A[(size_t)i * n + j] += w * (norm == CRF_NORM_SYMMETRIC ? kij / sqrt(D[i] * D[j]) : kij / D[i]);
        }
}

/* q[n][C] = softmax of e[n][C] (or log-softmax). */
static void exact_softmax(const double *e, double *q, int n, int C, int logq)
{
    for (int i = 0; i < n; i++) {
        const double *ei = e + (size_t)i * C;
        double m = ei[0], s = 0;
        for (int c = 1; c < C; c++) m = ei[c] > m ? ei[c] : m;
        for (int c = 0; c < C; c++) s += exp(ei[c] - m);
        for (int c = 0; c < C; c++)
            q[(size_t)i * C + c] = logq ? ei[c] - m - log(s) : exp(ei[c] - m) / s;
    }
}

semseg_status crf_exact_run(const crf_params *p, int C, int H, int W, const float *logits,
                            const double *image, double *out)
{
    const int n = H * W;
    double *A = calloc((size_t)n * n, sizeof *A);
    double *feat = calloc((size_t)n * 5, sizeof *feat); /* calloc: gcc -fsanitize warns maybe-uninitialized otherwise */
    double *U = malloc((size_t)n * C * sizeof *U), *E = malloc((size_t)n * C * sizeof *E);
    double *Q = malloc((size_t)n * C * sizeof *Q), *D = malloc((size_t)n * sizeof *D);
    semseg_status st = SEMSEG_STATUS_NO_MEMORY;
    if (!A || !feat || !U || !E || !Q || !D) goto done;

    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++) U[(size_t)i * C + c] = logits[(size_t)c * n + i];
    if (p->pos_w != 0) {
        for (int i = 0; i < n; i++) {
            feat[2 * i] = (i % W) / (double)p->pos_xy_std;
            feat[2 * i + 1] = (i / W) / (double)p->pos_xy_std;
        }
        exact_add_kernel(A, D, feat, n, 2, p->pos_w, p->normalization);
    }
    if (p->bi_w != 0) {
        for (int i = 0; i < n; i++) {
            feat[5 * i] = (i % W) / (double)p->bi_xy_std;
            feat[5 * i + 1] = (i / W) / (double)p->bi_xy_std;
            for (int ch = 0; ch < 3; ch++) feat[5 * i + 2 + ch] = image[(size_t)ch * n + i] / p->bi_rgb_std;
        }
        exact_add_kernel(A, D, feat, n, 5, p->bi_w, p->normalization);
    }

    exact_softmax(U, Q, n, C, p->logprob && p->iterations == 0);
    for (int it = 0; it < p->iterations; it++) {
        for (int i = 0; i < n; i++) {
            double *e = E + (size_t)i * C;
            for (int c = 0; c < C; c++) e[c] = U[(size_t)i * C + c];
            const double *a = A + (size_t)i * n;
            for (int j = 0; j < n; j++) {
                if (a[j] == 0) continue;
                const double *q = Q + (size_t)j * C;
                for (int c = 0; c < C; c++) e[c] += a[j] * q[c];
            }
        }
        exact_softmax(E, Q, n, C, p->logprob && it + 1 == p->iterations);
    }
    for (int c = 0; c < C; c++)
        for (int i = 0; i < n; i++) out[(size_t)c * n + i] = Q[(size_t)i * C + c];
    st = SEMSEG_STATUS_OK;
done:
    free(A);
    free(feat);
    free(U);
    free(E);
    free(Q);
    free(D);
    return st;
}
