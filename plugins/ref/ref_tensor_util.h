/*
 * Helpers shared by the ref plugin's tensor and element-wise operators:
 * axis normalisation, numpy broadcasting walked row by row, an odometer over
 * a multi-index, and element access by dtype for the few ops that convert.
 *
 * Broadcasting is walked in rows: the output is split into its last dimension
 * (the "row") and everything before it. For each row, ref_bcast gives the
 * element offset of the matching row in each input and each input's stride
 * along the row (0 when that input is broadcast along it, else 1), so kernels
 * keep a plain inner loop.
 */
#ifndef SEMSEG_REF_TENSOR_UTIL_H
#define SEMSEG_REF_TENSOR_UTIL_H

#include <stdint.h>

#include "semseg/plugin.h"

#define REF_BCAST_MAX_INPUTS 3

/* Axis in [-rank, rank) -> [0, rank); -1 when out of range. */
int32_t ref_norm_axis(int64_t axis, int32_t rank);

/* Row-major element strides of dims. */
void ref_strides(int32_t rank, const int64_t *dims, int64_t *strides);

/* Advances idx (rank entries, each < dims) by one in row-major order; returns
 * 0 after the last index (idx wraps to all zeros). */
int ref_index_next(int32_t rank, const int64_t *dims, int64_t *idx);

typedef struct ref_bcast {
    int32_t n_in;
    int32_t rank;                           /* of the output, >= 1 */
    int64_t dims[SEMSEG_MAX_RANK];          /* output dims */
    int64_t rows;                           /* product of dims[0..rank-2] */
    int64_t row_len;                        /* dims[rank-1] */
    int64_t stride[REF_BCAST_MAX_INPUTS][SEMSEG_MAX_RANK]; /* 0 on broadcast dims */
    int64_t idx[SEMSEG_MAX_RANK];           /* current row's multi-index */
    int64_t off[REF_BCAST_MAX_INPUTS];      /* current row's offset per input */
    int64_t step[REF_BCAST_MAX_INPUTS];     /* stride along the row per input (0 or 1) */
} ref_bcast;

/* Sets up a walk over out dims for n_in inputs that broadcast to them
 * (numpy rules, aligned on the right). Returns -1 if an input does not
 * broadcast to out. */
int ref_bcast_init(ref_bcast *b, int32_t out_rank, const int64_t *out_dims, int32_t n_in,
                   const int32_t *in_rank, const int64_t *const *in_dims);
/* Moves to the next row (updates off[]). */
void ref_bcast_next_row(ref_bcast *b);

/* Generic element access for the ops that convert between dtypes (Cast,
 * Clip/ArgMax on integers, ...). Supported: float, double, float16, int8,
 * uint8, int16, uint16, int32, uint32, int64, uint64, bool. */
int ref_dtype_is_float(int32_t dtype);    /* float, double, float16 */
int ref_dtype_is_integer(int32_t dtype);  /* signed and unsigned ints, bool */
double ref_load_f64(int32_t dtype, const void *p, int64_t i);
int64_t ref_load_i64(int32_t dtype, const void *p, int64_t i);   /* integers: exact */
void ref_store_f64(int32_t dtype, void *p, int64_t i, double v); /* float dst, or int dst
                                                                    with saturation */
void ref_store_i64(int32_t dtype, void *p, int64_t i, int64_t v); /* wraps like C */

/* IEEE half precision <-> float/double; round to nearest even. */
float ref_half_to_float(uint16_t h);
uint16_t ref_half_from_double(double x);

/* Copies bytes, tolerating dst == src (in-place ops). */
void ref_copy_bytes(void *dst, const void *src, size_t n);

#endif
