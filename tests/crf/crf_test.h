/*
 * Helpers shared by the DenseCRF tests: a seeded generator, synthetic scenes
 * (an image of coloured shapes with noise, and noisy logits that mostly point
 * at the right shape), an independent float64 softmax, and a check macro that
 * counts failures instead of stopping at the first.
 */
#ifndef CRF_TEST_H
#define CRF_TEST_H

#include <stdint.h>
#include <stdio.h>

#include "densecrf.h"

extern int crf_failures;

#define CRF_CHECK(cond, ...)                                                   \
    do {                                                                       \
        if (!(cond)) {                                                         \
            crf_failures++;                                                    \
            fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);              \
            fprintf(stderr, __VA_ARGS__);                                      \
            fprintf(stderr, "\n");                                             \
        }                                                                      \
    } while (0)

/* Prints "N passed, M failed" style summary and returns the exit code. */
int crf_test_finish(const char *name, int checks);

uint64_t crf_rand_u64(uint64_t *s);
double crf_rand_unit(uint64_t *s);     /* uniform [0, 1) */
double crf_rand_normal(uint64_t *s);

/* A scene of H×W pixels: image [3][H][W] uint8 (and the same as float),
 * true labels [H][W] in 0..C-1 (shapes coloured per label), logits [C][H][W]
 * = margin at the true label + noise of std `noise`. Arrays caller-owned. */
typedef struct crf_scene {
    int C, H, W;
    uint8_t *img8;
    float *imgf;
    double *imgd;
    int *truth;
    float *logits;
} crf_scene;

int crf_scene_make(crf_scene *s, int C, int H, int W, double margin, double noise, uint64_t seed);
void crf_scene_free(crf_scene *s);

/* out [C][n] = softmax (or log-softmax) of logits [C][n], in float64. */
void crf_ref_softmax(const float *logits, int C, int n, double *out, int logq);

/* argmax over C of x [C][n] at pixel i. */
int crf_argmax_f(const float *x, int C, int n, int i);
int crf_argmax_d(const double *x, int C, int n, int i);

#endif
