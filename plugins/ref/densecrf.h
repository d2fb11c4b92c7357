/*
 * DenseCRF internals shared by the ref op (densecrf.c), its exact O(N²)
 * reference (densecrf_exact.c), the tests and the benchmark. Not part of any
 * public header: the op is reached through the graph (ai.semseg::DenseCRF).
 *
 * Model (Krähenbühl & Koltun 2011, as DeepLab runs it): unary U = -logits;
 * two Potts pairwise terms with a Gaussian kernel on position (x, y)/pos_xy_std
 * and a bilateral kernel on (x, y)/bi_xy_std, (r, g, b)/bi_rgb_std. Mean field:
 *     Q = softmax(logits)
 *     repeat: Q = softmax(logits + pos_w·Kpos~·Q + bi_w·Kbi~·Q)
 * where K~ is the kernel matrix (self term included) normalised either
 * "after" (D⁻¹K) or "symmetric" (D^-½ K D^-½), D = diag(K·1). See
 * docs/densecrf.md for why the signs and the self term are what they are.
 */
#ifndef SEMSEG_REF_DENSECRF_H
#define SEMSEG_REF_DENSECRF_H

#include <stdint.h>

#include "semseg/plugin.h"

typedef enum crf_norm {
    CRF_NORM_AFTER = 0,     /* D⁻¹ K: DeepLab's Caffe layer, CRF-as-RNN */
    CRF_NORM_SYMMETRIC = 1  /* D^-½ K D^-½: pydensecrf's default */
} crf_norm;

typedef struct crf_params {
    int iterations;
    float pos_w, pos_xy_std;
    float bi_w, bi_xy_std, bi_rgb_std;
    int normalization;      /* crf_norm */
    int logprob;            /* 1: write log-probabilities */
} crf_params;

/* DeepLab-v2 (ResNet-101) VOC 2012 values: 10 iterations, pos 3/1, bi 4/67/3,
 * normalisation after, probabilities out. */
void crf_params_default(crf_params *p);

/* One line on what is wrong with p, or SEMSEG_STATUS_OK. */
semseg_status crf_params_check(const crf_params *p, const char *node, char *err);

/*
 * One image. logits [C][H][W] float; image [3][H][W] RGB, uint8 or float
 * (image_dtype: SEMSEG_DTYPE_UINT8 or SEMSEG_DTYPE_FLOAT, values 0..255);
 * out [C][H][W] float. threads >= 1: the work is shared by that many threads
 * (the result does not depend on the count). err may name `node`.
 */
semseg_status densecrf_run_threads(const crf_params *p, int64_t C, int64_t H, int64_t W,
                                   const float *logits, const void *image, int image_dtype,
                                   float *out, int threads, const char *node, char *err);

/* The ref plugin tells the op its session's thread count (ref_threaded_ops). */
void densecrf_set_threads(void *state, int threads);

#endif
