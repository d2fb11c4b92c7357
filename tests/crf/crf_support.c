/*
 * Test support for the DenseCRF tests (see crf_test.h).
 */
#include "crf_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

int crf_failures = 0;

int crf_test_finish(const char *name, int checks)
{
    int failed = crf_failures;
    printf("%s: %d passed, %d failed\n", name, checks - failed > 0 ? checks - failed : 0, failed);
    return failed ? 1 : 0;
}

uint64_t crf_rand_u64(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double crf_rand_unit(uint64_t *s)
{
    return (crf_rand_u64(s) >> 11) * (1.0 / 9007199254740992.0);
}

double crf_rand_normal(uint64_t *s)
{
    double u = crf_rand_unit(s), v = crf_rand_unit(s);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

int crf_scene_make(crf_scene *s, int C, int H, int W, double margin, double noise, uint64_t seed)
{
    const int n = H * W;
    memset(s, 0, sizeof *s);
    s->C = C;
    s->H = H;
    s->W = W;
    s->img8 = malloc((size_t)3 * n);
    s->imgf = malloc((size_t)3 * n * sizeof *s->imgf);
    s->imgd = malloc((size_t)3 * n * sizeof *s->imgd);
    s->truth = malloc((size_t)n * sizeof *s->truth);
    s->logits = malloc((size_t)C * n * sizeof *s->logits);
    if (!s->img8 || !s->imgf || !s->imgd || !s->truth || !s->logits) {
        crf_scene_free(s);
        return -1;
    }
    /* Background label 0, then a few discs and boxes of other labels. */
    double colour[64][3];
    for (int c = 0; c < C && c < 64; c++)
        for (int k = 0; k < 3; k++) colour[c][k] = 30 + 195 * crf_rand_unit(&seed);
    for (int i = 0; i < n; i++) s->truth[i] = 0;
    int shapes = 2 + (int)(4 * crf_rand_unit(&seed));
    for (int k = 0; k < shapes; k++) {
        int lab = C > 1 ? 1 + (int)((C - 1) * crf_rand_unit(&seed)) : 0;
        double cx = W * crf_rand_unit(&seed), cy = H * crf_rand_unit(&seed);
        double r = 0.15 * (H + W) * (0.3 + crf_rand_unit(&seed));
        int box = crf_rand_unit(&seed) < 0.5;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double dx = x - cx, dy = y - cy;
                int in = box ? fabs(dx) < r && fabs(dy) < 0.6 * r : dx * dx + dy * dy < r * r;
                if (in) s->truth[y * W + x] = lab;
            }
    }
    for (int i = 0; i < n; i++) {
        int lab = s->truth[i] < 64 ? s->truth[i] : 63;
        for (int k = 0; k < 3; k++) {
            double v = colour[lab][k] + 8.0 * crf_rand_normal(&seed);
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            uint8_t b = (uint8_t)lrint(v);
            s->img8[(size_t)k * n + i] = b;
            s->imgf[(size_t)k * n + i] = b;
            s->imgd[(size_t)k * n + i] = b;
        }
        for (int c = 0; c < C; c++)
            s->logits[(size_t)c * n + i] =
                (float)((c == s->truth[i] ? margin : 0.0) + noise * crf_rand_normal(&seed));
    }
    return 0;
}

void crf_scene_free(crf_scene *s)
{
    free(s->img8);
    free(s->imgf);
    free(s->imgd);
    free(s->truth);
    free(s->logits);
    memset(s, 0, sizeof *s);
}

void crf_ref_softmax(const float *logits, int C, int n, double *out, int logq)
{
    for (int i = 0; i < n; i++) {
        double m = logits[i], s = 0;
        for (int c = 1; c < C; c++) m = fmax(m, logits[(size_t)c * n + i]);
        for (int c = 0; c < C; c++) s += exp(logits[(size_t)c * n + i] - m);
        for (int c = 0; c < C; c++) {
            double x = logits[(size_t)c * n + i] - m;
            out[(size_t)c * n + i] = logq ? x - log(s) : exp(x) / s;
        }
    }
}

int crf_argmax_f(const float *x, int C, int n, int i)
{
    int b = 0;
    for (int c = 1; c < C; c++)
        if (x[(size_t)c * n + i] > x[(size_t)b * n + i]) b = c;
    return b;
}

int crf_argmax_d(const double *x, int C, int n, int i)
{
    int b = 0;
    for (int c = 1; c < C; c++)
        if (x[(size_t)c * n + i] > x[(size_t)b * n + i]) b = c;
    return b;
}
