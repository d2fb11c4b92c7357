/*
 * The exact DenseCRF mean field: float64, the kernel matrices written out
 * entry by entry (O(N²) memory and time per iteration). It shares nothing with
 * the lattice path but the parameter struct, and is the tests' reference for
 * it. Small images only: 48×48 pixels take 2304² doubles (42 MB).
 */
#ifndef SEMSEG_REF_DENSECRF_EXACT_H
#define SEMSEG_REF_DENSECRF_EXACT_H

#include "densecrf.h"

/* logits [C][H][W]; image [3][H][W] RGB in 0..255; out [C][H][W]:
 * probabilities, or log-probabilities when p->logprob. */
semseg_status crf_exact_run(const crf_params *p, int C, int H, int W, const float *logits,
                            const double *image, double *out);

#endif
