/*
 * Op definitions of the tensor / element-wise family: arity, flags and shape
 * inference for Add/Sub/Mul/Div, the activations, PRelu, Concat, Split,
 * Softmax/LogSoftmax, ArgMax, Transpose, Reshape, Flatten, Squeeze,
 * Unsqueeze, Slice, Gather, Shape, Cast, Constant, ConstantOfShape, Expand,
 * Pad, ReduceMean, Identity and Dropout.
 *
 * Some output shapes depend on the values of an input (Reshape's shape,
 * Slice's starts, Pad's pads, ...). Inference then needs that input to be a
 * load-time constant; the runtime folds constants node by node while it
 * infers, so PyTorch's Shape -> Gather -> ... -> Concat chains arrive here as
 * constants. When one does not, inference says which input it needed.
 *
 * The kernels (plugins/ref/) re-derive what they need on their own; these
 * rules are the runtime's, written independently.
 *
 * OPDEF_INPLACE here means "output 0 may overwrite input 0 when both have the
 * same size in bytes" (the planner checks the size): true for the element-wise
 * ops, whose kernels write each element after reading it at the same index,
 * and for the copy-only shape ops.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "opdef.h"

#define MANY 0x7fffffff

static semseg_status fail(char *err, semseg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static semseg_status fail(char *err, semseg_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, SEMSEG_ERRMSG_SIZE, fmt, ap);
    va_end(ap);
    return st;
}

/* An input whose values decide the output shape must be a load-time constant
 * of an integer type. */
static semseg_status need_const(const semseg_node_info *n, int32_t k, const char *what, char *err)
{
    const semseg_value_info *v = &n->inputs[k];
    if (v->dtype != SEMSEG_DTYPE_INT64 && v->dtype != SEMSEG_DTYPE_INT32)
        return fail(err, SEMSEG_STATUS_MODEL, "input %d (%s) must be int64, not dtype %d", k,
                    what, v->dtype);
    if (!v->data)
        return fail(err, SEMSEG_STATUS_UNSUPPORTED, "output shape depends on run-time values of "
                    "input %d (%s)", k, what);
    return SEMSEG_STATUS_OK;
}

static int32_t norm_axis(int64_t axis, int32_t rank)
{
    if (axis < -(int64_t)rank || axis >= rank) return -1;
    return (int32_t)(axis < 0 ? axis + rank : axis);
}

static void copy_shape(opdef_out *o, const semseg_value_info *v, int32_t dtype)
{
    o->dtype = dtype;
    o->rank = v->rank;
    for (int32_t d = 0; d < v->rank; d++) o->dims[d] = v->dims[d];
}

static int64_t numel(const semseg_value_info *v)
{
    return semseg_numel(v->rank, v->dims);
}

static int present(const semseg_node_info *n, int32_t k)
{
    return semseg_input_present(n, k);
}

/* ---- element-wise ---- */

static semseg_status infer_same(const semseg_node_info *n, opdef_out *out, char *err)
{
    (void)err;
    copy_shape(&out[0], &n->inputs[0], n->inputs[0].dtype);
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_binary(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *a = &n->inputs[0], *b = &n->inputs[1];
    if (a->dtype != b->dtype)
        return fail(err, SEMSEG_STATUS_MODEL, "inputs have different dtypes (%d and %d)",
                    a->dtype, b->dtype);
    if (opdef_broadcast(a->rank, a->dims, b->rank, b->dims, &out[0].rank, out[0].dims) != 0)
        return fail(err, SEMSEG_STATUS_MODEL, "input dims do not broadcast together");
    out[0].dtype = a->dtype;
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_prelu(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0], *s = &n->inputs[1];
    int32_t r;
    int64_t dims[SEMSEG_MAX_RANK];
    if (s->rank > x->rank || opdef_broadcast(x->rank, x->dims, s->rank, s->dims, &r, dims) != 0 ||
        (r > 0 && memcmp(dims, x->dims, (size_t)r * sizeof(int64_t)) != 0))
        return fail(err, SEMSEG_STATUS_MODEL, "slope does not broadcast to X");
    copy_shape(&out[0], x, x->dtype);
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_clip(const semseg_node_info *n, opdef_out *out, char *err)
{
    for (int32_t k = 1; k < n->n_inputs; k++)
        if (present(n, k) && (n->inputs[k].dtype != n->inputs[0].dtype || numel(&n->inputs[k]) != 1))
            return fail(err, SEMSEG_STATUS_MODEL, "input %d (%s) must be a scalar of the input's "
                        "dtype", k, k == 1 ? "min" : "max");
    return infer_same(n, out, err);
}

/* ---- joining and splitting ---- */

static semseg_status infer_concat(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x0 = &n->inputs[0];
    int32_t axis = norm_axis(semseg_attr_int(n, "axis", 0), x0->rank);
    if (!semseg_attr_find(n, "axis") && n->opset >= 4)
        return fail(err, SEMSEG_STATUS_MODEL, "attribute axis is required");
    if (axis < 0) return fail(err, SEMSEG_STATUS_MODEL, "axis out of range for rank %d", x0->rank);
    copy_shape(&out[0], x0, x0->dtype);
    for (int32_t k = 1; k < n->n_inputs; k++) {
        const semseg_value_info *x = &n->inputs[k];
        if (x->dtype != x0->dtype || x->rank != x0->rank)
            return fail(err, SEMSEG_STATUS_MODEL, "input %d differs from input 0 in dtype or rank", k);
        for (int32_t d = 0; d < x->rank; d++)
            if (d != axis && x->dims[d] != x0->dims[d])
                return fail(err, SEMSEG_STATUS_MODEL, "input %d dim %d is %lld, input 0 has %lld",
                            k, d, (long long)x->dims[d], (long long)x0->dims[d]);
        out[0].dims[axis] += x->dims[axis];
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_split(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    int32_t axis = norm_axis(semseg_attr_int(n, "axis", 0), x->rank);
    if (axis < 0) return fail(err, SEMSEG_STATUS_MODEL, "axis out of range for rank %d", x->rank);
    int64_t dim = x->dims[axis], total = 0;
    int32_t m = n->n_outputs;
    const int64_t *split_attr = NULL;
    int64_t n_split = n->opset < 13 ? semseg_attr_ints(n, "split", &split_attr) : -1;
    int has_input = n->opset >= 13 && present(n, 1);
    if (has_input) {
        semseg_status st = need_const(n, 1, "split", err);
        if (st != SEMSEG_STATUS_OK) return st;
        n_split = numel(&n->inputs[1]);
    }
    if (n_split >= 0 && n_split != m)
        return fail(err, SEMSEG_STATUS_MODEL, "split has %lld parts for %d outputs",
                    (long long)n_split, m);
    int64_t num = semseg_attr_int(n, "num_outputs", m);
    if (n_split < 0 && n->opset >= 18 && num != m)
        return fail(err, SEMSEG_STATUS_MODEL, "num_outputs is %lld, the node has %d outputs",
                    (long long)num, m);
    if (n_split < 0 && n->opset < 18 && dim % m != 0)
        return fail(err, SEMSEG_STATUS_MODEL, "dim %lld of axis %d does not split into %d equal "
                    "parts", (long long)dim, axis, m);
    int64_t part = (dim + m - 1) / m; /* opset 18: ceil, the last part takes the rest */
    for (int32_t k = 0; k < m; k++) {
        int64_t len;
        if (has_input) len = opdef_const_int(&n->inputs[1], k);
        else if (n_split >= 0) len = split_attr[k];
        else len = k < m - 1 ? part : dim - part * (m - 1);
        if (len < 0) return fail(err, SEMSEG_STATUS_MODEL, "part %d has negative size", k);
        copy_shape(&out[k], x, x->dtype);
        out[k].dims[axis] = len;
        total += len;
    }
    if (total != dim)
        return fail(err, SEMSEG_STATUS_MODEL, "parts sum to %lld, axis %d has %lld",
                    (long long)total, axis, (long long)dim);
    return SEMSEG_STATUS_OK;
}

/* ---- normalisation and reduction ---- */

static semseg_status infer_softmax(const semseg_node_info *n, opdef_out *out, char *err)
{
    int32_t r = n->inputs[0].rank;
    int64_t axis = semseg_attr_int(n, "axis", n->opset < 13 ? 1 : -1);
    /* The pre-13 [N, D] view also accepts axis == rank (D = 1). */
    if (r > 0 && norm_axis(axis, r) < 0 && !(n->opset < 13 && axis == r))
        return fail(err, SEMSEG_STATUS_MODEL, "axis %lld out of range for rank %d",
                    (long long)axis, r);
    return infer_same(n, out, err);
}

static semseg_status infer_argmax(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    int32_t axis = norm_axis(semseg_attr_int(n, "axis", 0), x->rank);
    if (axis < 0) return fail(err, SEMSEG_STATUS_MODEL, "axis out of range for rank %d", x->rank);
    int keep = semseg_attr_int(n, "keepdims", 1) != 0;
    out[0].dtype = SEMSEG_DTYPE_INT64;
    out[0].rank = 0;
    for (int32_t d = 0; d < x->rank; d++) {
        if (d == axis && !keep) continue;
        out[0].dims[out[0].rank++] = d == axis ? 1 : x->dims[d];
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_reduce_mean(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    int reduced[SEMSEG_MAX_RANK] = { 0 };
    int64_t n_axes = 0;
    const int64_t *attr = NULL;
    if (n->opset < 18) {
        n_axes = semseg_attr_ints(n, "axes", &attr);
        if (n_axes < 0) n_axes = 0;
    } else if (present(n, 1)) {
        semseg_status st = need_const(n, 1, "axes", err);
        if (st != SEMSEG_STATUS_OK) return st;
        n_axes = numel(&n->inputs[1]);
    }
    for (int64_t k = 0; k < n_axes; k++) {
        int64_t a = attr ? attr[k] : opdef_const_int(&n->inputs[1], k);
        int32_t d = norm_axis(a, x->rank);
        if (d < 0) return fail(err, SEMSEG_STATUS_MODEL, "axis %lld out of range for rank %d",
                               (long long)a, x->rank);
        reduced[d] = 1;
    }
    if (n_axes == 0) {
        if (n->opset >= 18 && semseg_attr_int(n, "noop_with_empty_axes", 0))
            return infer_same(n, out, err);
        for (int32_t d = 0; d < x->rank; d++) reduced[d] = 1;
    }
    int keep = semseg_attr_int(n, "keepdims", 1) != 0;
    out[0].dtype = x->dtype;
    out[0].rank = 0;
    for (int32_t d = 0; d < x->rank; d++) {
        if (reduced[d] && !keep) continue;
        out[0].dims[out[0].rank++] = reduced[d] ? 1 : x->dims[d];
    }
    return SEMSEG_STATUS_OK;
}

/* ---- shape manipulation ---- */

static semseg_status infer_transpose(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    const int64_t *perm = NULL;
    int64_t np = semseg_attr_ints(n, "perm", &perm);
    int seen[SEMSEG_MAX_RANK] = { 0 };
    if (np >= 0 && np != x->rank)
        return fail(err, SEMSEG_STATUS_MODEL, "perm has %lld entries for rank %d", (long long)np,
                    x->rank);
    out[0].dtype = x->dtype;
    out[0].rank = x->rank;
    for (int32_t i = 0; i < x->rank; i++) {
        int64_t p = np >= 0 ? perm[i] : x->rank - 1 - i;
        if (p < 0 || p >= x->rank || seen[p])
            return fail(err, SEMSEG_STATUS_MODEL, "perm is not a permutation of 0..%d", x->rank - 1);
        seen[p] = 1;
        out[0].dims[i] = x->dims[p];
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_reshape(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    const int64_t *attr = NULL;
    int64_t ns;
    if (n->n_inputs < 2) { /* opset < 5 kept the shape in an attribute */
        ns = semseg_attr_ints(n, "shape", &attr);
        if (ns < 0) return fail(err, SEMSEG_STATUS_MODEL, "no shape input or attribute");
    } else {
        semseg_status st = need_const(n, 1, "shape", err);
        if (st != SEMSEG_STATUS_OK) return st;
        ns = numel(&n->inputs[1]);
    }
    if (ns > SEMSEG_MAX_RANK)
        return fail(err, SEMSEG_STATUS_UNSUPPORTED, "shape has rank %lld, above the limit %d",
                    (long long)ns, SEMSEG_MAX_RANK);
    int allowzero = semseg_attr_int(n, "allowzero", 0) != 0;
    int32_t infer_at = -1;
    int64_t known = 1;
    out[0].dtype = x->dtype;
    out[0].rank = (int32_t)ns;
    for (int32_t i = 0; i < (int32_t)ns; i++) {
        int64_t v = attr ? attr[i] : opdef_const_int(&n->inputs[1], i);
        if (v == 0 && !allowzero) {
            if (i >= x->rank)
                return fail(err, SEMSEG_STATUS_MODEL, "shape[%d] = 0 copies a dim the input "
                            "(rank %d) lacks", i, x->rank);
            v = x->dims[i];
        }
        if (v == -1) {
            if (infer_at >= 0) return fail(err, SEMSEG_STATUS_MODEL, "shape has two -1 entries");
            infer_at = i;
            continue;
        }
        if (v < 0) return fail(err, SEMSEG_STATUS_MODEL, "shape[%d] = %lld", i, (long long)v);
        out[0].dims[i] = v;
        known *= v;
    }
    int64_t total = numel(x);
    if (infer_at >= 0) {
        if (known == 0 || total % known != 0)
            return fail(err, SEMSEG_STATUS_MODEL, "cannot infer the -1 of shape: %lld elements, "
                        "%lld from the other dims", (long long)total, (long long)known);
        out[0].dims[infer_at] = total / known;
    } else if (known != total) {
        return fail(err, SEMSEG_STATUS_MODEL, "shape holds %lld elements, the input %lld",
                    (long long)known, (long long)total);
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_flatten(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    int64_t axis = semseg_attr_int(n, "axis", 1);
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis > x->rank)
        return fail(err, SEMSEG_STATUS_MODEL, "axis out of range for rank %d", x->rank);
    int64_t a = 1, b = 1;
    for (int32_t d = 0; d < x->rank; d++) {
        if (d < axis) a *= x->dims[d];
        else b *= x->dims[d];
    }
    out[0].dtype = x->dtype;
    out[0].rank = 2;
    out[0].dims[0] = a;
    out[0].dims[1] = b;
    return SEMSEG_STATUS_OK;
}

/* Axes of Squeeze/Unsqueeze: the attribute before opset 13, input 1 from 13.
 * *count is -1 when there are none. */
static semseg_status squeeze_axes(const semseg_node_info *n, int64_t *axes, int64_t *count,
                                  char *err)
{
    *count = -1;
    if (n->opset < 13) {
        const int64_t *a = NULL;
        *count = semseg_attr_ints(n, "axes", &a);
        if (*count > SEMSEG_MAX_RANK) goto too_many;
        for (int64_t k = 0; k < *count; k++) axes[k] = a[k];
        return SEMSEG_STATUS_OK;
    }
    if (!present(n, 1)) return SEMSEG_STATUS_OK;
    semseg_status st = need_const(n, 1, "axes", err);
    if (st != SEMSEG_STATUS_OK) return st;
    *count = numel(&n->inputs[1]);
    if (*count > SEMSEG_MAX_RANK) goto too_many;
    for (int64_t k = 0; k < *count; k++) axes[k] = opdef_const_int(&n->inputs[1], k);
    return SEMSEG_STATUS_OK;
too_many:
    return fail(err, SEMSEG_STATUS_MODEL, "%lld axes, more than the rank limit %d",
                (long long)*count, SEMSEG_MAX_RANK);
}

static semseg_status infer_squeeze(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    int64_t axes[SEMSEG_MAX_RANK], count;
    int drop[SEMSEG_MAX_RANK] = { 0 };
    semseg_status st = squeeze_axes(n, axes, &count, err);
    if (st != SEMSEG_STATUS_OK) return st;
    for (int64_t k = 0; k < count; k++) {
        int32_t d = norm_axis(axes[k], x->rank);
        if (d < 0) return fail(err, SEMSEG_STATUS_MODEL, "axis %lld out of range for rank %d",
                               (long long)axes[k], x->rank);
        if (x->dims[d] != 1)
            return fail(err, SEMSEG_STATUS_MODEL, "cannot squeeze dim %d of size %lld", d,
                        (long long)x->dims[d]);
        drop[d] = 1;
    }
    out[0].dtype = x->dtype;
    out[0].rank = 0;
    for (int32_t d = 0; d < x->rank; d++) {
        if (count < 0 ? x->dims[d] == 1 : drop[d]) continue;
        out[0].dims[out[0].rank++] = x->dims[d];
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_unsqueeze(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    int64_t axes[SEMSEG_MAX_RANK], count;
    int ins[SEMSEG_MAX_RANK] = { 0 };
    semseg_status st = squeeze_axes(n, axes, &count, err);
    if (st != SEMSEG_STATUS_OK) return st;
    if (count < 0) return fail(err, SEMSEG_STATUS_MODEL, "axes are required");
    int64_t r = x->rank + count;
    if (r > SEMSEG_MAX_RANK)
        return fail(err, SEMSEG_STATUS_UNSUPPORTED, "output rank %lld is above the limit %d",
                    (long long)r, SEMSEG_MAX_RANK);
    for (int64_t k = 0; k < count; k++) {
        int32_t d = norm_axis(axes[k], (int32_t)r);
        if (d < 0 || ins[d])
            return fail(err, SEMSEG_STATUS_MODEL, "axis %lld out of range or repeated",
                        (long long)axes[k]);
        ins[d] = 1;
    }
    out[0].dtype = x->dtype;
    out[0].rank = (int32_t)r;
    for (int32_t d = 0, src = 0; d < r; d++) out[0].dims[d] = ins[d] ? 1 : x->dims[src++];
    return SEMSEG_STATUS_OK;
}

/* Output length of one sliced axis, per ONNX's clamping rules. */
static int64_t slice_len(int64_t dim, int64_t start, int64_t end, int64_t step)
{
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? dim : dim - 1;
    if (start < 0) start = 0;
    if (start > hi) start = hi;
    if (end < lo) end = lo;
    if (end > hi) end = hi;
    int64_t span = step > 0 ? end - start : start - end;
    uint64_t mag = step > 0 ? (uint64_t)step : 0u - (uint64_t)step;
    return span > 0 ? (int64_t)(((uint64_t)span - 1) / mag) + 1 : 0;
}

static semseg_status infer_slice(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    const int64_t *st_a = NULL, *en_a = NULL, *ax_a = NULL;
    int64_t count, n_axes = -1;
    int use_attrs = n->opset < 10;
    if (use_attrs) {
        count = semseg_attr_ints(n, "starts", &st_a);
        if (count < 0 || semseg_attr_ints(n, "ends", &en_a) != count)
            return fail(err, SEMSEG_STATUS_MODEL, "starts and ends differ in length or are missing");
        n_axes = semseg_attr_ints(n, "axes", &ax_a);
    } else {
        static const char *names[] = { "", "starts", "ends", "axes", "steps" };
        if (n->n_inputs < 3 || !present(n, 1) || !present(n, 2))
            return fail(err, SEMSEG_STATUS_MODEL, "starts and ends are required");
        for (int32_t k = 1; k < n->n_inputs && k <= 4; k++) {
            if (!present(n, k)) continue;
            semseg_status st = need_const(n, k, names[k], err);
            if (st != SEMSEG_STATUS_OK) return st;
        }
        count = numel(&n->inputs[1]);
        if (numel(&n->inputs[2]) != count ||
            (present(n, 3) && numel(&n->inputs[3]) != count) ||
            (present(n, 4) && numel(&n->inputs[4]) != count))
            return fail(err, SEMSEG_STATUS_MODEL, "starts, ends, axes and steps differ in length");
        n_axes = present(n, 3) ? count : -1;
    }
    if (n_axes >= 0 && n_axes != count)
        return fail(err, SEMSEG_STATUS_MODEL, "axes and starts differ in length");
    int seen[SEMSEG_MAX_RANK] = { 0 };
    copy_shape(&out[0], x, x->dtype);
    for (int64_t k = 0; k < count; k++) {
        int64_t start = use_attrs ? st_a[k] : opdef_const_int(&n->inputs[1], k);
        int64_t end = use_attrs ? en_a[k] : opdef_const_int(&n->inputs[2], k);
        int64_t ax = n_axes < 0 ? k : use_attrs ? ax_a[k] : opdef_const_int(&n->inputs[3], k);
        int64_t step = !use_attrs && present(n, 4) ? opdef_const_int(&n->inputs[4], k) : 1;
        int32_t d = norm_axis(ax, x->rank);
        if (d < 0 || seen[d])
            return fail(err, SEMSEG_STATUS_MODEL, "axis %lld out of range or repeated", (long long)ax);
        if (step == 0) return fail(err, SEMSEG_STATUS_MODEL, "step 0 on axis %d", d);
        seen[d] = 1;
        out[0].dims[d] = slice_len(x->dims[d], start, end, step);
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_gather(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0], *idx = &n->inputs[1];
    int32_t axis = norm_axis(semseg_attr_int(n, "axis", 0), x->rank);
    if (axis < 0) return fail(err, SEMSEG_STATUS_MODEL, "axis out of range for rank %d", x->rank);
    if (idx->dtype != SEMSEG_DTYPE_INT64 && idx->dtype != SEMSEG_DTYPE_INT32)
        return fail(err, SEMSEG_STATUS_MODEL, "indices must be int32 or int64");
    int32_t r = x->rank - 1 + idx->rank;
    if (r > SEMSEG_MAX_RANK)
        return fail(err, SEMSEG_STATUS_UNSUPPORTED, "output rank %d is above the limit %d", r,
                    SEMSEG_MAX_RANK);
    out[0].dtype = x->dtype;
    out[0].rank = 0;
    for (int32_t d = 0; d < x->rank; d++) {
        if (d != axis) {
            out[0].dims[out[0].rank++] = x->dims[d];
            continue;
        }
        for (int32_t j = 0; j < idx->rank; j++) out[0].dims[out[0].rank++] = idx->dims[j];
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_expand(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    semseg_status st = need_const(n, 1, "shape", err);
    if (st != SEMSEG_STATUS_OK) return st;
    int64_t ns = numel(&n->inputs[1]);
    int64_t shape[SEMSEG_MAX_RANK];
    if (ns > SEMSEG_MAX_RANK)
        return fail(err, SEMSEG_STATUS_UNSUPPORTED, "shape has rank %lld, above the limit %d",
                    (long long)ns, SEMSEG_MAX_RANK);
    for (int64_t i = 0; i < ns; i++) shape[i] = opdef_const_int(&n->inputs[1], i);
    if (opdef_broadcast(x->rank, x->dims, (int32_t)ns, shape, &out[0].rank, out[0].dims) != 0)
        return fail(err, SEMSEG_STATUS_MODEL, "input dims do not broadcast with the shape");
    out[0].dtype = x->dtype;
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_pad(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    int64_t before[SEMSEG_MAX_RANK] = { 0 }, after[SEMSEG_MAX_RANK] = { 0 };
    if (n->opset < 11) {
        const int64_t *pads = NULL;
        if (semseg_attr_ints(n, "pads", &pads) != 2 * (int64_t)x->rank)
            return fail(err, SEMSEG_STATUS_MODEL, "pads needs %d entries", 2 * x->rank);
        for (int32_t d = 0; d < x->rank; d++) {
            before[d] = pads[d];
            after[d] = pads[x->rank + d];
        }
    } else {
        semseg_status st = need_const(n, 1, "pads", err);
        if (st != SEMSEG_STATUS_OK) return st;
        int32_t axes[SEMSEG_MAX_RANK];
        int64_t n_axes = x->rank;
        for (int32_t d = 0; d < x->rank; d++) axes[d] = d;
        if (n->opset >= 18 && present(n, 3)) {
            st = need_const(n, 3, "axes", err);
            if (st != SEMSEG_STATUS_OK) return st;
            n_axes = numel(&n->inputs[3]);
            if (n_axes > x->rank)
                return fail(err, SEMSEG_STATUS_MODEL, "%lld axes for rank %d", (long long)n_axes,
                            x->rank);
            for (int64_t k = 0; k < n_axes; k++) {
                int64_t a = opdef_const_int(&n->inputs[3], k);
                axes[k] = norm_axis(a, x->rank);
                if (axes[k] < 0)
                    return fail(err, SEMSEG_STATUS_MODEL, "axis %lld out of range", (long long)a);
            }
        }
        if (numel(&n->inputs[1]) != 2 * n_axes)
            return fail(err, SEMSEG_STATUS_MODEL, "pads has %lld entries for %lld axes",
                        (long long)numel(&n->inputs[1]), (long long)n_axes);
        for (int64_t k = 0; k < n_axes; k++) {
            before[axes[k]] = opdef_const_int(&n->inputs[1], k);
            after[axes[k]] = opdef_const_int(&n->inputs[1], n_axes + k);
        }
        if (present(n, 2) && (n->inputs[2].dtype != x->dtype || numel(&n->inputs[2]) != 1))
            return fail(err, SEMSEG_STATUS_MODEL, "constant_value must be one element of the "
                        "input's dtype");
    }
    copy_shape(&out[0], x, x->dtype);
    for (int32_t d = 0; d < x->rank; d++) {
        out[0].dims[d] = x->dims[d] + before[d] + after[d];
        if (out[0].dims[d] < 0)
            return fail(err, SEMSEG_STATUS_MODEL, "pads make dim %d negative", d);
    }
    return SEMSEG_STATUS_OK;
}

/* ---- shapes, types, constants ---- */

static int64_t clamp_rank(int64_t v, int32_t rank)
{
    if (v < 0) v += rank;
    return v < 0 ? 0 : v > rank ? rank : v;
}

static semseg_status infer_shape(const semseg_node_info *n, opdef_out *out, char *err)
{
    (void)err;
    int32_t r = n->inputs[0].rank;
    int64_t start = 0, end = r;
    if (n->opset >= 15) {
        start = clamp_rank(semseg_attr_int(n, "start", 0), r);
        end = clamp_rank(semseg_attr_int(n, "end", r), r);
    }
    out[0].dtype = SEMSEG_DTYPE_INT64;
    out[0].rank = 1;
    out[0].dims[0] = end > start ? end - start : 0;
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_cast(const semseg_node_info *n, opdef_out *out, char *err)
{
    int64_t to = semseg_attr_int(n, "to", -1);
    if (to <= 0 || to > 0x7fff) return fail(err, SEMSEG_STATUS_MODEL, "attribute to is missing");
    if (semseg_dtype_size((int)to) == 0)
        return fail(err, SEMSEG_STATUS_UNSUPPORTED, "cast to dtype %lld (strings, bfloat16, "
                    "float8, 4-bit types) is not supported", (long long)to);
    copy_shape(&out[0], &n->inputs[0], (int32_t)to);
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_constant(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_attr *a = n->n_attrs == 1 ? &n->attrs[0] : NULL;
    if (!a) return fail(err, SEMSEG_STATUS_MODEL, "needs exactly one value attribute");
    out[0].rank = 0;
    if (strcmp(a->name, "value") == 0 && a->type == SEMSEG_ATTR_TENSOR && a->t) {
        out[0].dtype = a->t->dtype;
        out[0].rank = a->t->rank;
        for (int32_t d = 0; d < a->t->rank; d++) out[0].dims[d] = a->t->dims[d];
    } else if (strcmp(a->name, "value_float") == 0 && a->type == SEMSEG_ATTR_FLOAT) {
        out[0].dtype = SEMSEG_DTYPE_FLOAT;
    } else if (strcmp(a->name, "value_int") == 0 && a->type == SEMSEG_ATTR_INT) {
        out[0].dtype = SEMSEG_DTYPE_INT64;
    } else if (strcmp(a->name, "value_floats") == 0 && a->type == SEMSEG_ATTR_FLOATS) {
        out[0].dtype = SEMSEG_DTYPE_FLOAT;
        out[0].rank = 1;
        out[0].dims[0] = a->n;
    } else if (strcmp(a->name, "value_ints") == 0 && a->type == SEMSEG_ATTR_INTS) {
        out[0].dtype = SEMSEG_DTYPE_INT64;
        out[0].rank = 1;
        out[0].dims[0] = a->n;
    } else {
        return fail(err, SEMSEG_STATUS_UNSUPPORTED, "value attribute '%s' is not supported",
                    a->name);
    }
    if (semseg_dtype_size(out[0].dtype) == 0)
        return fail(err, SEMSEG_STATUS_UNSUPPORTED, "constant of dtype %d is not supported",
                    out[0].dtype);
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_constant_of_shape(const semseg_node_info *n, opdef_out *out, char *err)
{
    semseg_status st = need_const(n, 0, "input", err);
    if (st != SEMSEG_STATUS_OK) return st;
    int64_t r = numel(&n->inputs[0]);
    if (r > SEMSEG_MAX_RANK)
        return fail(err, SEMSEG_STATUS_UNSUPPORTED, "shape has rank %lld, above the limit %d",
                    (long long)r, SEMSEG_MAX_RANK);
    const semseg_attr *v = semseg_attr_find(n, "value");
    if (v && (v->type != SEMSEG_ATTR_TENSOR || !v->t || semseg_numel(v->t->rank, v->t->dims) != 1))
        return fail(err, SEMSEG_STATUS_MODEL, "value must be a one-element tensor");
    out[0].dtype = v ? v->t->dtype : SEMSEG_DTYPE_FLOAT;
    out[0].rank = (int32_t)r;
    for (int32_t d = 0; d < r; d++) {
        out[0].dims[d] = opdef_const_int(&n->inputs[0], d);
        if (out[0].dims[d] < 0)
            return fail(err, SEMSEG_STATUS_MODEL, "shape[%d] is negative", d);
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_dropout(const semseg_node_info *n, opdef_out *out, char *err)
{
    infer_same(n, out, err);
    if (n->n_outputs > 1)
        copy_shape(&out[1], &n->inputs[0], n->opset >= 10 ? SEMSEG_DTYPE_BOOL : n->inputs[0].dtype);
    return SEMSEG_STATUS_OK;
}

#define ELEMENTWISE(OP) { "", OP, 1, 1, 1, 1, OPDEF_INPLACE, infer_same }
#define COPY_ONLY OPDEF_INPLACE

const opdef opdef_tensor_table[] = {
    /* domain, op, min_in, max_in, min_out, max_out, flags, infer */
    { "", "Add", 2, 2, 1, 1, OPDEF_INPLACE, infer_binary },
    { "", "Sub", 2, 2, 1, 1, OPDEF_INPLACE, infer_binary },
    { "", "Mul", 2, 2, 1, 1, OPDEF_INPLACE, infer_binary },
    { "", "Div", 2, 2, 1, 1, OPDEF_INPLACE, infer_binary },
    ELEMENTWISE("Relu"),
    ELEMENTWISE("LeakyRelu"),
    ELEMENTWISE("Sigmoid"),
    ELEMENTWISE("HardSigmoid"),
    ELEMENTWISE("HardSwish"),
    ELEMENTWISE("Tanh"),
    { "", "Clip", 1, 3, 1, 1, OPDEF_INPLACE, infer_clip },
    { "", "PRelu", 2, 2, 1, 1, OPDEF_INPLACE, infer_prelu },
    { "", "Concat", 1, MANY, 1, 1, 0, infer_concat },
    { "", "Split", 1, 2, 1, MANY, 0, infer_split },
    { "", "Softmax", 1, 1, 1, 1, 0, infer_softmax },
    { "", "LogSoftmax", 1, 1, 1, 1, 0, infer_softmax },
    { "", "ArgMax", 1, 1, 1, 1, 0, infer_argmax },
    { "", "ReduceMean", 1, 2, 1, 1, 0, infer_reduce_mean },
    { "", "Transpose", 1, 1, 1, 1, 0, infer_transpose },
    { "", "Reshape", 1, 2, 1, 1, COPY_ONLY, infer_reshape },
    { "", "Flatten", 1, 1, 1, 1, COPY_ONLY, infer_flatten },
    { "", "Squeeze", 1, 2, 1, 1, COPY_ONLY, infer_squeeze },
    { "", "Unsqueeze", 1, 2, 1, 1, COPY_ONLY, infer_unsqueeze },
    { "", "Slice", 1, 5, 1, 1, 0, infer_slice },
    { "", "Gather", 2, 2, 1, 1, 0, infer_gather },
    { "", "Expand", 2, 2, 1, 1, 0, infer_expand },
    { "", "Pad", 1, 4, 1, 1, 0, infer_pad },
    { "", "Shape", 1, 1, 1, 1, OPDEF_DIMS_ONLY, infer_shape },
    { "", "Cast", 1, 1, 1, 1, 0, infer_cast },
    { "", "Constant", 0, 0, 1, 1, 0, infer_constant },
    { "", "ConstantOfShape", 1, 1, 1, 1, 0, infer_constant_of_shape },
    { "", "Identity", 1, 1, 1, 1, COPY_ONLY, infer_same },
    { "", "Dropout", 1, 3, 1, 2, COPY_ONLY, infer_dropout },
    { NULL, NULL, 0, 0, 0, 0, 0, NULL },
};
