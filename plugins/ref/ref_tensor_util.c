/*
 * Implementation of ref_tensor_util.h: broadcasting walks, multi-index
 * odometer, dtype-generic element access and half-precision conversion.
 */
#include <math.h>
#include <string.h>

#include "ref_tensor_util.h"

int32_t ref_norm_axis(int64_t axis, int32_t rank)
{
    if (axis < -(int64_t)rank || axis >= rank) return -1;
    return (int32_t)(axis < 0 ? axis + rank : axis);
}

void ref_strides(int32_t rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int32_t i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

int ref_index_next(int32_t rank, const int64_t *dims, int64_t *idx)
{
    for (int32_t d = rank - 1; d >= 0; d--) {
        if (++idx[d] < dims[d]) return 1;
        idx[d] = 0;
    }
    return 0;
}

int ref_bcast_init(ref_bcast *b, int32_t out_rank, const int64_t *out_dims, int32_t n_in,
                   const int32_t *in_rank, const int64_t *const *in_dims)
{
    memset(b, 0, sizeof *b);
    b->n_in = n_in;
    /* A scalar output is walked as one row of one element. */
    b->rank = out_rank > 0 ? out_rank : 1;
    for (int32_t d = 0; d < b->rank; d++) b->dims[d] = out_rank > 0 ? out_dims[d] : 1;
    for (int32_t k = 0; k < n_in; k++) {
        int32_t lead = b->rank - in_rank[k];
        if (lead < 0) return -1;
        int64_t s = 1;
        for (int32_t d = b->rank - 1; d >= 0; d--) {
            int64_t in = d < lead ? 1 : in_dims[k][d - lead];
            if (in != b->dims[d] && in != 1) return -1;
            b->stride[k][d] = (in == 1) ? 0 : s;
            s *= in;
        }
        b->step[k] = b->stride[k][b->rank - 1];
    }
    b->row_len = b->dims[b->rank - 1];
    b->rows = 1;
    for (int32_t d = 0; d < b->rank - 1; d++) b->rows *= b->dims[d];
    return 0;
}

void ref_bcast_next_row(ref_bcast *b)
{
    for (int32_t d = b->rank - 2; d >= 0; d--) {
        if (++b->idx[d] < b->dims[d]) {
            for (int32_t k = 0; k < b->n_in; k++) b->off[k] += b->stride[k][d];
            return;
        }
        for (int32_t k = 0; k < b->n_in; k++) b->off[k] -= b->stride[k][d] * (b->dims[d] - 1);
        b->idx[d] = 0;
    }
}

int ref_dtype_is_float(int32_t dtype)
{
    return dtype == SEMSEG_DTYPE_FLOAT || dtype == SEMSEG_DTYPE_DOUBLE ||
           dtype == SEMSEG_DTYPE_FLOAT16;
}

int ref_dtype_is_integer(int32_t dtype)
{
    switch (dtype) {
    case SEMSEG_DTYPE_INT8: case SEMSEG_DTYPE_UINT8: case SEMSEG_DTYPE_INT16:
    case SEMSEG_DTYPE_UINT16: case SEMSEG_DTYPE_INT32: case SEMSEG_DTYPE_UINT32:
    case SEMSEG_DTYPE_INT64: case SEMSEG_DTYPE_UINT64: case SEMSEG_DTYPE_BOOL:
        return 1;
    default:
        return 0;
    }
}

int64_t ref_load_i64(int32_t dtype, const void *p, int64_t i)
{
    switch (dtype) {
    case SEMSEG_DTYPE_INT8: return ((const int8_t *)p)[i];
    case SEMSEG_DTYPE_UINT8: return ((const uint8_t *)p)[i];
    case SEMSEG_DTYPE_BOOL: return ((const uint8_t *)p)[i] != 0;
    case SEMSEG_DTYPE_INT16: return ((const int16_t *)p)[i];
    case SEMSEG_DTYPE_UINT16: return ((const uint16_t *)p)[i];
    case SEMSEG_DTYPE_INT32: return ((const int32_t *)p)[i];
    case SEMSEG_DTYPE_UINT32: return ((const uint32_t *)p)[i];
    case SEMSEG_DTYPE_INT64: return ((const int64_t *)p)[i];
    case SEMSEG_DTYPE_UINT64: return (int64_t)((const uint64_t *)p)[i];
    default: return (int64_t)ref_load_f64(dtype, p, i);
    }
}

double ref_load_f64(int32_t dtype, const void *p, int64_t i)
{
    switch (dtype) {
    case SEMSEG_DTYPE_FLOAT: return ((const float *)p)[i];
    case SEMSEG_DTYPE_DOUBLE: return ((const double *)p)[i];
    case SEMSEG_DTYPE_FLOAT16: return ref_half_to_float(((const uint16_t *)p)[i]);
    case SEMSEG_DTYPE_UINT64: return (double)((const uint64_t *)p)[i];
    default: return (double)ref_load_i64(dtype, p, i);
    }
}

/* Float to integer the way a careful C programmer would: truncate toward zero,
 * saturate at the type's range, NaN becomes 0 (C leaves all three undefined). */
static int64_t sat_i64(double v, double lo, double hi)
{
    if (isnan(v)) return 0;
    v = trunc(v);
    if (v <= lo) return (int64_t)lo;
    if (v >= hi) return (int64_t)hi;
    return (int64_t)v;
}

void ref_store_f64(int32_t dtype, void *p, int64_t i, double v)
{
    switch (dtype) {
    case SEMSEG_DTYPE_FLOAT: ((float *)p)[i] = (float)v; return;
    case SEMSEG_DTYPE_DOUBLE: ((double *)p)[i] = v; return;
    case SEMSEG_DTYPE_FLOAT16: ((uint16_t *)p)[i] = ref_half_from_double(v); return;
    case SEMSEG_DTYPE_BOOL: ((uint8_t *)p)[i] = v != 0.0; return;
    case SEMSEG_DTYPE_INT8: ((int8_t *)p)[i] = (int8_t)sat_i64(v, INT8_MIN, INT8_MAX); return;
    case SEMSEG_DTYPE_UINT8: ((uint8_t *)p)[i] = (uint8_t)sat_i64(v, 0, UINT8_MAX); return;
    case SEMSEG_DTYPE_INT16: ((int16_t *)p)[i] = (int16_t)sat_i64(v, INT16_MIN, INT16_MAX); return;
    case SEMSEG_DTYPE_UINT16: ((uint16_t *)p)[i] = (uint16_t)sat_i64(v, 0, UINT16_MAX); return;
    case SEMSEG_DTYPE_INT32: ((int32_t *)p)[i] = (int32_t)sat_i64(v, INT32_MIN, INT32_MAX); return;
    case SEMSEG_DTYPE_UINT32: ((uint32_t *)p)[i] = (uint32_t)sat_i64(v, 0, UINT32_MAX); return;
    case SEMSEG_DTYPE_INT64:
        /* 2^63 is the first double above INT64_MAX. */
        if (isnan(v)) v = 0;
        ((int64_t *)p)[i] = v >= 9223372036854775808.0 ? INT64_MAX
                          : v <= -9223372036854775808.0 ? INT64_MIN : (int64_t)v;
        return;
    case SEMSEG_DTYPE_UINT64:
        if (isnan(v) || v <= 0) v = 0;
        ((uint64_t *)p)[i] = v >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)v;
        return;
    default: return;
    }
}

void ref_store_i64(int32_t dtype, void *p, int64_t i, int64_t v)
{
    switch (dtype) {
    case SEMSEG_DTYPE_INT8: ((int8_t *)p)[i] = (int8_t)v; return;
    case SEMSEG_DTYPE_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; return;
    case SEMSEG_DTYPE_BOOL: ((uint8_t *)p)[i] = v != 0; return;
    case SEMSEG_DTYPE_INT16: ((int16_t *)p)[i] = (int16_t)v; return;
    case SEMSEG_DTYPE_UINT16: ((uint16_t *)p)[i] = (uint16_t)v; return;
    case SEMSEG_DTYPE_INT32: ((int32_t *)p)[i] = (int32_t)v; return;
    case SEMSEG_DTYPE_UINT32: ((uint32_t *)p)[i] = (uint32_t)v; return;
    case SEMSEG_DTYPE_INT64: ((int64_t *)p)[i] = v; return;
    case SEMSEG_DTYPE_UINT64: ((uint64_t *)p)[i] = (uint64_t)v; return;
    case SEMSEG_DTYPE_FLOAT: ((float *)p)[i] = (float)v; return;
    case SEMSEG_DTYPE_DOUBLE: ((double *)p)[i] = (double)v; return;
    case SEMSEG_DTYPE_FLOAT16: ((uint16_t *)p)[i] = ref_half_from_double((double)v); return;
    default: return;
    }
}

float ref_half_to_float(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (exp == 0) v = ldexpf((float)man, -24);                 /* zero, subnormal */
    else if (exp == 31) v = man ? NAN : INFINITY;
    else v = ldexpf((float)(man | 0x400), exp - 25);
    return sign ? -v : v;
}

/* Every step below is exact in double except rint(), so the result is
 * rounded once (to nearest even, the default rounding mode), as numpy does. */
uint16_t ref_half_from_double(double x)
{
    uint16_t sign = signbit(x) ? 0x8000 : 0;
    double a = fabs(x);
    if (isnan(x)) return 0x7e00;
    if (a >= 65520.0) return sign | 0x7c00;          /* rounds to infinity */
    if (a < 0x1p-14) return sign | (uint16_t)rint(a * 0x1p24); /* subnormal (may round up to normal) */
    int e;
    frexp(a, &e);                                     /* a = f * 2^e, f in [0.5, 1) */
    e -= 1;                                           /* a = 1.m * 2^e */
    double m = rint((ldexp(a, -e) - 1.0) * 1024.0);   /* 0..1024; 1024 carries into the exponent */
    return sign | (uint16_t)(((e + 15) << 10) + (int)m);
}

void ref_copy_bytes(void *dst, const void *src, size_t n)
{
    if (dst != src && n > 0) memmove(dst, src, n);
}
