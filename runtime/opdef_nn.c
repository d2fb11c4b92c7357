/*
 * Arity and shape/type inference of the neural-network operators of the
 * default domain: Conv, ConvTranspose, MaxPool, AveragePool, the global pools,
 * BatchNormalization, Resize, Upsample, Gemm, MatMul. The sizes follow ONNX's
 * own shape inference (onnx/defs/nn, onnx/defs/tensor, onnx/defs/math), which
 * ONNX's node tests confirm; the ref plugin computes its windows separately
 * (plugins/ref/ref_nn_util.c) and checks that both agree.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "opdef.h"

static semseg_status fail(char *err, semseg_status st, const semseg_node_info *n, const char *what)
{
    snprintf(err, SEMSEG_ERRMSG_SIZE, "%s %s: %s", n->op, n->name, what);
    return st;
}

/* Input i must exist with a known rank in [lo, hi]. */
static int rank_ok(const semseg_node_info *n, int i, int lo, int hi)
{
    return semseg_input_present(n, i) && n->inputs[i].rank >= lo && n->inputs[i].rank <= hi;
}

/* INTS attribute of exactly count values (absent: v keeps its defaults);
 * returns 0 on a wrong count. */
static int ints_attr(const semseg_node_info *n, const char *name, int count, int64_t *v)
{
    const int64_t *a;
    int64_t k = semseg_attr_ints(n, name, &a);
    if (k < 0) return 1;
    if (k != count) return 0;
    for (int i = 0; i < count; i++) v[i] = a[i];
    return 1;
}

/* Output spatial size of a Conv / pool (transpose = 0) or ConvTranspose
 * (transpose = 1) over nsp axes; kernel_dims from W, or NULL for pools. */
static semseg_status window_out(const semseg_node_info *n, int nsp, const int64_t *in,
                                const int64_t *kernel_dims, int transpose, int64_t *out, char *err)
{
    int64_t k[SEMSEG_MAX_RANK], s[SEMSEG_MAX_RANK], d[SEMSEG_MAX_RANK], p[2 * SEMSEG_MAX_RANK];
    int64_t op[SEMSEG_MAX_RANK], oshape[SEMSEG_MAX_RANK + 2];
    for (int i = 0; i < nsp; i++) {
        k[i] = kernel_dims ? kernel_dims[i] : 0;
        s[i] = d[i] = 1;
        op[i] = p[i] = p[nsp + i] = 0;
    }
    const int64_t *tmp;
    int has_k = semseg_attr_ints(n, "kernel_shape", &tmp) >= 0;
    if (!ints_attr(n, "kernel_shape", nsp, k) || !ints_attr(n, "strides", nsp, s) ||
        !ints_attr(n, "dilations", nsp, d) || !ints_attr(n, "pads", 2 * nsp, p) ||
        !ints_attr(n, "output_padding", nsp, op))
        return fail(err, SEMSEG_STATUS_MODEL, n, "kernel_shape/strides/dilations/pads/output_padding length does not match the spatial rank");
    if (!kernel_dims && !has_k) return fail(err, SEMSEG_STATUS_MODEL, n, "kernel_shape is required");
    const char *ap = semseg_attr_string(n, "auto_pad", "NOTSET");
    int same = strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0;
    int valid = strcmp(ap, "VALID") == 0;
    int ceil_mode = semseg_attr_int(n, "ceil_mode", 0) != 0;
    int64_t n_os = transpose ? semseg_attr_ints(n, "output_shape", &tmp) : -1;
    if (n_os >= 0 && n_os != nsp && n_os != nsp + 2)
        return fail(err, SEMSEG_STATUS_MODEL, n, "output_shape length does not match the spatial rank");
    for (int i = 0; n_os > 0 && i < n_os; i++) oshape[i] = tmp[i];

    for (int i = 0; i < nsp; i++) {
        if (k[i] < 1 || s[i] < 1 || d[i] < 1 || p[i] < 0 || p[nsp + i] < 0)
            return fail(err, SEMSEG_STATUS_MODEL, n, "kernel, strides and dilations must be positive, pads non-negative");
        int64_t ek = (k[i] - 1) * d[i] + 1, pads = valid ? 0 : p[i] + p[nsp + i];
        if (transpose) {
            if (n_os >= 0) out[i] = oshape[n_os - nsp + i];
            else if (same) out[i] = in[i] * s[i];
            else out[i] = s[i] * (in[i] - 1) + op[i] + ek - pads;
        } else if (same) {
            out[i] = (in[i] + s[i] - 1) / s[i];
        } else {
            int64_t span = in[i] + pads - ek;
            if (span < 0) return fail(err, SEMSEG_STATUS_MODEL, n, "the kernel is larger than the padded input");
            out[i] = (ceil_mode ? (span + s[i] - 1) / s[i] : span / s[i]) + 1;
            /* ceil_mode: a last window starting past input + pad_begin is dropped */
            if (ceil_mode && (out[i] - 1) * s[i] >= in[i] + (valid ? 0 : p[i])) out[i]--;
        }
        if (out[i] < 1) return fail(err, SEMSEG_STATUS_MODEL, n, "the output would be empty");
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status conv_infer(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0], *w = &n->inputs[1];
    if (!rank_ok(n, 0, 3, SEMSEG_MAX_RANK) || !rank_ok(n, 1, x->rank, x->rank))
        return fail(err, SEMSEG_STATUS_MODEL, n, "X and W must have the same rank >= 3");
    int64_t group = semseg_attr_int(n, "group", 1);
    int transpose = strcmp(n->op, "ConvTranspose") == 0;
    if (group < 1 || (transpose ? w->dims[0] != x->dims[1] : w->dims[1] * group != x->dims[1]))
        return fail(err, SEMSEG_STATUS_MODEL, n, "W's channels do not match X's channels and group");
    out[0].dtype = x->dtype;
    out[0].rank = x->rank;
    out[0].dims[0] = x->dims[0];
    out[0].dims[1] = transpose ? w->dims[1] * group : w->dims[0];
    return window_out(n, x->rank - 2, x->dims + 2, w->dims + 2, transpose, out[0].dims + 2, err);
}

static semseg_status pool_infer(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    if (!rank_ok(n, 0, 3, SEMSEG_MAX_RANK)) return fail(err, SEMSEG_STATUS_MODEL, n, "X must have rank >= 3");
    out[0].dtype = x->dtype;
    out[0].rank = x->rank;
    out[0].dims[0] = x->dims[0];
    out[0].dims[1] = x->dims[1];
    semseg_status st = window_out(n, x->rank - 2, x->dims + 2, NULL, 0, out[0].dims + 2, err);
    if (n->n_outputs > 1) {   /* MaxPool's Indices */
        out[1] = out[0];
        out[1].dtype = SEMSEG_DTYPE_INT64;
    }
    return st;
}

static semseg_status global_pool_infer(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    if (!rank_ok(n, 0, 2, SEMSEG_MAX_RANK)) return fail(err, SEMSEG_STATUS_MODEL, n, "X must have rank >= 2");
    out[0].dtype = x->dtype;
    out[0].rank = x->rank;
    for (int i = 0; i < x->rank; i++) out[0].dims[i] = i < 2 ? x->dims[i] : 1;
    return SEMSEG_STATUS_OK;
}

static semseg_status batchnorm_infer(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    if (!rank_ok(n, 0, 2, SEMSEG_MAX_RANK)) return fail(err, SEMSEG_STATUS_MODEL, n, "X must have rank >= 2");
    for (int i = 1; i < 5; i++)
        if (!rank_ok(n, i, 1, 1) || n->inputs[i].dims[0] != x->dims[1])
            return fail(err, SEMSEG_STATUS_MODEL, n, "scale, B, mean and var must be vectors of X's channels");
    out[0].dtype = x->dtype;
    out[0].rank = x->rank;
    memcpy(out[0].dims, x->dims, (size_t)x->rank * sizeof *x->dims);
    /* training-mode outputs (running mean / var) are per channel */
    for (int i = 1; i < n->n_outputs && i < 5; i++) {
        out[i].dtype = n->inputs[i].dtype;
        out[i].rank = 1;
        out[i].dims[0] = x->dims[1];
    }
    return SEMSEG_STATUS_OK;
}

/* Number of elements of an optional input; 0 when absent or empty. */
static int64_t input_count(const semseg_node_info *n, int i)
{
    if (!semseg_input_present(n, i)) return 0;
    return semseg_numel(n->inputs[i].rank, n->inputs[i].dims);
}

/* A dim computed in floating point (a scale times a size): NaN, infinite or
 * beyond 2^62 is refused instead of converted, which C leaves undefined. */
static int dim_of(double v, int64_t *dim)
{
    if (!(v >= 0.0 && v < 0x1p62)) return -1;
    *dim = (int64_t)v;
    return 0;
}

static semseg_status resize_infer(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    if (!rank_ok(n, 0, 1, SEMSEG_MAX_RANK)) return fail(err, SEMSEG_STATUS_MODEL, n, "X must have rank >= 1");
    int r = x->rank, v10 = n->opset > 0 && n->opset < 11;
    int64_t axes[SEMSEG_MAX_RANK];
    const int64_t *ax;
    int64_t na = semseg_attr_ints(n, "axes", &ax);
    if (na > r) return fail(err, SEMSEG_STATUS_MODEL, n, "more axes than X has");
    for (int i = 0; i < (na < 0 ? r : na); i++) {
        axes[i] = na < 0 ? i : ax[i] < 0 ? ax[i] + r : ax[i];
        if (axes[i] < 0 || axes[i] >= r) return fail(err, SEMSEG_STATUS_MODEL, n, "axis out of range");
    }
    if (na < 0) na = r;
    out[0].dtype = x->dtype;
    out[0].rank = r;
    memcpy(out[0].dims, x->dims, (size_t)r * sizeof *x->dims);

    int scales_in = v10 ? 1 : 2, sizes_in = v10 ? -1 : 3;
    int64_t n_sizes = sizes_in > 0 ? input_count(n, sizes_in) : 0, n_scales = input_count(n, scales_in);
    if (n_sizes > 0) {
        const semseg_value_info *sz = &n->inputs[sizes_in];
        if (!sz->data) return fail(err, SEMSEG_STATUS_UNSUPPORTED, n, "sizes is not a constant at load time");
        if (n_sizes != na) return fail(err, SEMSEG_STATUS_MODEL, n, "sizes does not have one entry per axis");
        const char *policy = semseg_attr_string(n, "keep_aspect_ratio_policy", "stretch");
        int not_larger = strcmp(policy, "not_larger") == 0, not_smaller = strcmp(policy, "not_smaller") == 0;
        if (!not_larger && !not_smaller && strcmp(policy, "stretch") != 0)
            return fail(err, SEMSEG_STATUS_MODEL, n, "unknown keep_aspect_ratio_policy");
        double chosen = 0.0;
        for (int i = 0; i < na; i++) {
            int64_t v = opdef_const_int(sz, i);
            if (v < 1) return fail(err, SEMSEG_STATUS_MODEL, n, "sizes must be positive");
            out[0].dims[axes[i]] = v;
            double s = (double)v / (double)x->dims[axes[i]];
            if (i == 0 || (not_larger && s < chosen) || (not_smaller && s > chosen)) chosen = s;
        }
        for (int i = 0; (not_larger || not_smaller) && i < na; i++)
            if (dim_of(chosen * (double)x->dims[axes[i]] + 0.5, &out[0].dims[axes[i]]))
                return fail(err, SEMSEG_STATUS_MODEL, n, "sizes give an output dim out of range");
    } else if (n_scales > 0) {
        const semseg_value_info *sc = &n->inputs[scales_in];
        if (!sc->data) return fail(err, SEMSEG_STATUS_UNSUPPORTED, n, "scales is not a constant at load time");
        if (sc->dtype != SEMSEG_DTYPE_FLOAT || n_scales != na)
            return fail(err, SEMSEG_STATUS_MODEL, n, "scales must be one float per axis");
        for (int i = 0; i < na; i++) {
            float s = ((const float *)sc->data)[i];
            if (!(s > 0.0f)) return fail(err, SEMSEG_STATUS_MODEL, n, "scales must be positive");
            if (dim_of(floor((double)x->dims[axes[i]] * s), &out[0].dims[axes[i]]))
                return fail(err, SEMSEG_STATUS_MODEL, n, "scales give an output dim out of range");
            if (out[0].dims[axes[i]] < 1) return fail(err, SEMSEG_STATUS_MODEL, n, "the output would be empty");
        }
    } else {
        return fail(err, SEMSEG_STATUS_MODEL, n, "needs scales or sizes");
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status upsample_infer(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    if (!rank_ok(n, 0, 1, SEMSEG_MAX_RANK)) return fail(err, SEMSEG_STATUS_MODEL, n, "X must have rank >= 1");
    const float *scales = NULL;
    if (semseg_input_present(n, 1)) {
        const semseg_value_info *sc = &n->inputs[1];
        if (!sc->data) return fail(err, SEMSEG_STATUS_UNSUPPORTED, n, "scales is not a constant at load time");
        if (sc->dtype != SEMSEG_DTYPE_FLOAT || input_count(n, 1) != x->rank)
            return fail(err, SEMSEG_STATUS_MODEL, n, "scales must be one float per axis");
        scales = sc->data;
    } else if (semseg_attr_floats(n, "scales", &scales) != x->rank) {
        return fail(err, SEMSEG_STATUS_MODEL, n, "scales must be one float per axis");
    }
    out[0].dtype = x->dtype;
    out[0].rank = x->rank;
    for (int i = 0; i < x->rank; i++) {
        if (dim_of(floor((double)x->dims[i] * scales[i]), &out[0].dims[i]))
            return fail(err, SEMSEG_STATUS_MODEL, n, "scales give an output dim out of range");
        if (out[0].dims[i] < 1) return fail(err, SEMSEG_STATUS_MODEL, n, "the output would be empty");
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status gemm_infer(const semseg_node_info *n, opdef_out *out, char *err)
{
    if (!rank_ok(n, 0, 2, 2) || !rank_ok(n, 1, 2, 2)) return fail(err, SEMSEG_STATUS_MODEL, n, "A and B must be matrices");
    const int64_t *a = n->inputs[0].dims, *b = n->inputs[1].dims;
    int ta = semseg_attr_int(n, "transA", 0) != 0, tb = semseg_attr_int(n, "transB", 0) != 0;
    if ((ta ? a[0] : a[1]) != (tb ? b[1] : b[0]))
        return fail(err, SEMSEG_STATUS_MODEL, n, "inner dimensions of A' and B' differ");
    out[0].dtype = n->inputs[0].dtype;
    out[0].rank = 2;
    out[0].dims[0] = ta ? a[1] : a[0];
    out[0].dims[1] = tb ? b[0] : b[1];
    return SEMSEG_STATUS_OK;
}

static semseg_status matmul_infer(const semseg_node_info *n, opdef_out *out, char *err)
{
    if (!rank_ok(n, 0, 1, SEMSEG_MAX_RANK) || !rank_ok(n, 1, 1, SEMSEG_MAX_RANK))
        return fail(err, SEMSEG_STATUS_MODEL, n, "A and B must have rank >= 1");
    const semseg_value_info *a = &n->inputs[0], *b = &n->inputs[1];
    int64_t k_a = a->dims[a->rank - 1], k_b = b->rank >= 2 ? b->dims[b->rank - 2] : b->dims[0];
    if (k_a != k_b) return fail(err, SEMSEG_STATUS_MODEL, n, "inner dimensions differ");
    int32_t rank;
    int64_t dims[SEMSEG_MAX_RANK];
    int ra = a->rank >= 2 ? a->rank - 2 : 0, rb = b->rank >= 2 ? b->rank - 2 : 0;
    if (opdef_broadcast(ra, a->dims, rb, b->dims, &rank, dims) != 0)
        return fail(err, SEMSEG_STATUS_MODEL, n, "batch dimensions do not broadcast");
    if (a->rank >= 2) dims[rank++] = a->dims[a->rank - 2];
    if (b->rank >= 2) dims[rank++] = b->dims[b->rank - 1];
    if (rank > SEMSEG_MAX_RANK) return fail(err, SEMSEG_STATUS_UNSUPPORTED, n, "result rank too large");
    out[0].dtype = a->dtype;
    out[0].rank = rank;
    memcpy(out[0].dims, dims, (size_t)rank * sizeof *dims);
    return SEMSEG_STATUS_OK;
}

const opdef opdef_nn_table[] = {
    /* domain, op, min_in, max_in, min_out, max_out, flags, infer */
    { "", "Conv", 2, 3, 1, 1, 0, conv_infer },
    { "", "ConvTranspose", 2, 3, 1, 1, 0, conv_infer },
    { "", "MaxPool", 1, 1, 1, 2, 0, pool_infer },
    { "", "AveragePool", 1, 1, 1, 1, 0, pool_infer },
    { "", "GlobalAveragePool", 1, 1, 1, 1, 0, global_pool_infer },
    { "", "GlobalMaxPool", 1, 1, 1, 1, 0, global_pool_infer },
    { "", "BatchNormalization", 5, 5, 1, 5, OPDEF_INPLACE, batchnorm_infer },
    { "", "Resize", 1, 4, 1, 1, 0, resize_infer },
    { "", "Upsample", 1, 2, 1, 1, 0, upsample_infer },
    { "", "Gemm", 2, 3, 1, 1, 0, gemm_infer },
    { "", "MatMul", 2, 2, 1, 1, 0, matmul_infer },
    { NULL, NULL, 0, 0, 0, 0, 0, NULL }
};
