/*
 * Helpers shared by the ref plugin's neural-network operators: the sliding
 * window geometry of Conv, ConvTranspose, MaxPool and AveragePool (kernel,
 * strides, dilations, pads resolved from auto_pad, output size), and checks of
 * dims/dtypes that every kernel repeats.
 *
 * Spatial ranks 1..3 are supported; a window always holds three spatial axes,
 * lower ranks being padded at the front with size-1 axes, so kernels can loop
 * over depth, height and width without special cases.
 */
#ifndef SEMSEG_REF_NN_UTIL_H
#define SEMSEG_REF_NN_UTIL_H

#include <stdint.h>

#include "ref.h"

#define NN_SPATIAL 3

typedef struct nn_window {
    int nsp;                         /* real spatial rank (1..3) */
    int64_t in[NN_SPATIAL];          /* input spatial size */
    int64_t out[NN_SPATIAL];         /* output spatial size */
    int64_t kernel[NN_SPATIAL];
    int64_t stride[NN_SPATIAL];
    int64_t dilation[NN_SPATIAL];
    int64_t pad_begin[NN_SPATIAL];
    int64_t pad_end[NN_SPATIAL];
} nn_window;

/* What kind of window is being read: pooling honours ceil_mode; a transposed
 * convolution computes its output size the other way round. */
typedef enum nn_window_kind {
    NN_WINDOW_CONV = 0,
    NN_WINDOW_POOL = 1,
    NN_WINDOW_CONV_TRANSPOSE = 2
} nn_window_kind;

/* Reads kernel_shape (or uses kernel when the attribute is absent; kernel may
 * be NULL for pools, where the attribute is required), strides, dilations,
 * pads, auto_pad and, for pools, ceil_mode; for ConvTranspose also
 * output_padding and output_shape. x_dims are the input's spatial dims (nsp of
 * them). Fills w with everything padded to three axes. */
semseg_status nn_window_read(const semseg_node_info *n, nn_window_kind kind, int nsp,
                             const int64_t *x_dims, const int64_t *kernel,
                             nn_window *w, char *err);

/* The positions o in [0, count) with 0 <= o * stride + offset < size, as
 * [*lo, *hi) (empty when *lo >= *hi): the outputs a kernel tap reaches
 * without leaving the input. */
void nn_tap_range(int64_t offset, int64_t stride, int64_t size, int64_t count, int64_t *lo, int64_t *hi);

/* Checks that output out_index has the given rank and dims. */
semseg_status nn_check_output(const semseg_node_info *n, int out_index, int rank,
                              const int64_t *dims, char *err);

/* Checks input i is present, float and of rank min_rank..max_rank. */
semseg_status nn_check_float_input(const semseg_node_info *n, int i, int min_rank,
                                   int max_rank, char *err);

/* ---- Resize / Upsample: separable interpolation ---- */

typedef enum nn_resize_mode {
    NN_RESIZE_NEAREST = 0,
    NN_RESIZE_LINEAR = 1,
    NN_RESIZE_CUBIC = 2
} nn_resize_mode;

typedef enum nn_coord_mode {
    NN_COORD_HALF_PIXEL = 0,
    NN_COORD_HALF_PIXEL_SYMMETRIC,
    NN_COORD_PYTORCH_HALF_PIXEL,
    NN_COORD_ALIGN_CORNERS,
    NN_COORD_ASYMMETRIC,
    NN_COORD_TF_HALF_PIXEL_FOR_NN,
    NN_COORD_TF_CROP_AND_RESIZE
} nn_coord_mode;

typedef enum nn_nearest_mode {
    NN_NEAREST_ROUND_PREFER_FLOOR = 0,
    NN_NEAREST_ROUND_PREFER_CEIL,
    NN_NEAREST_FLOOR,
    NN_NEAREST_CEIL,
    NN_NEAREST_SIMPLE      /* Upsample and Resize-10 as ONNX Runtime does them:
                              floor when enlarging, ceil when shrinking */
} nn_nearest_mode;

typedef struct nn_resize_spec {
    nn_resize_mode mode;
    nn_coord_mode coord;
    nn_nearest_mode nearest;
    double cubic_a;
    int exclude_outside;
    int antialias;
    double extrapolation;
} nn_resize_spec;

/* Resizes x (in_dims) into y (out_dims), both of rank and dtype (float, uint8
 * or int8; integers are rounded to nearest and saturated). scale[i] is the
 * factor of axis i used for the coordinate mapping; roi (2 * rank values,
 * starts then ends) is read only by tf_crop_and_resize and may be NULL.
 * Intermediate values are kept in double. what names the node in errors. */
semseg_status nn_resize(const nn_resize_spec *sp, int rank, const int64_t *in_dims,
                        const int64_t *out_dims, const double *scale, const double *roi,
                        int32_t dtype, const void *x, void *y, const char *what, char *err);

#endif
