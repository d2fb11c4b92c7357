/*
 * Resize (ONNX opsets 10, 11, 13, 18, 19): interpolates X (any rank; float,
 * uint8 or int8) to the output's dims. Opset 10 takes (X, scales) and behaves
 * like Upsample (asymmetric coordinates, ONNX Runtime's floor/ceil nearest).
 * Later opsets take (X, roi, scales, sizes) with mode nearest | linear | cubic,
 * every coordinate_transformation_mode, nearest_mode, cubic_coeff_a,
 * exclude_outside, extrapolation_value (tf_crop_and_resize), and from opset 18
 * axes, keep_aspect_ratio_policy and antialias. The arithmetic lives in
 * ref_nn_util.c (nn_resize).
 *
 * The factor used for the coordinate mapping is the given scale, or
 * sizes / input when sizes are given (under keep_aspect_ratio_policy, the
 * smallest or largest of those over the resized axes). roi, scales and sizes
 * are read at run time, so they need not be constants; the output dims come
 * from shape inference.
 *
 * Where ONNX's reference (onnx/reference/ops/op_resize.py, which produced the
 * node tests) and ONNX Runtime disagree, the reference wins: align_corners and
 * tf_crop_and_resize divide by (scale * input - 1), the unrounded output
 * length, and coordinates are computed in double from the float32 scale.
 * ONNX Runtime uses the rounded length and float arithmetic; the two agree
 * whenever scale * input is a whole number (every export of PyTorch's
 * interpolate with sizes or integer factors).
 */
#include <string.h>

#include "ref_nn_util.h"

typedef struct resize_state {
    nn_resize_spec spec;
    int32_t dtype;
    int rank;
    int64_t in_dims[SEMSEG_MAX_RANK];
    int n_axes;
    int64_t axes[SEMSEG_MAX_RANK];
    int policy;           /* 0 stretch, 1 not_larger, 2 not_smaller */
    int roi_in, scales_in, sizes_in;  /* input indices, -1 when the opset has none */
    char name[96];
} resize_state;

static int resize_dtype_ok(int32_t t)
{
    return t == SEMSEG_DTYPE_FLOAT || t == SEMSEG_DTYPE_UINT8 || t == SEMSEG_DTYPE_INT8;
}

static int resize_supports(const semseg_node_info *n)
{
    return n->n_inputs >= 1 && resize_dtype_ok(n->inputs[0].dtype);
}

static int pick(const char *s, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

static semseg_status resize_parse(const semseg_node_info *n, resize_state *s, char *err)
{
    static const char *const modes[] = { "nearest", "linear", "cubic" };
    static const char *const coords[] = { "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                          "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                                          "tf_crop_and_resize" };
    static const char *const nearests[] = { "round_prefer_floor", "round_prefer_ceil", "floor", "ceil" };
    static const char *const policies[] = { "stretch", "not_larger", "not_smaller" };
    int v10 = n->opset > 0 && n->opset < 11;
    const char *mode = semseg_attr_string(n, "mode", "nearest");
    const char *coord = v10 ? "asymmetric" : semseg_attr_string(n, "coordinate_transformation_mode", "half_pixel");
    const char *nearest = semseg_attr_string(n, "nearest_mode", "round_prefer_floor");
    const char *policy = semseg_attr_string(n, "keep_aspect_ratio_policy", "stretch");
    int m = pick(mode, modes, 3), c = pick(coord, coords, 7), nm = pick(nearest, nearests, 4);
    s->policy = pick(policy, policies, 3);
    if (m < 0 || (v10 && m == NN_RESIZE_CUBIC))
        return ref_fail(err, SEMSEG_STATUS_MODEL, "Resize %s: unknown mode '%s'", n->name, mode);
    if (c < 0)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "Resize %s: unknown coordinate_transformation_mode '%s'",
                        n->name, coord);
    if (nm < 0) return ref_fail(err, SEMSEG_STATUS_MODEL, "Resize %s: unknown nearest_mode '%s'", n->name, nearest);
    if (s->policy < 0)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "Resize %s: unknown keep_aspect_ratio_policy '%s'", n->name, policy);
    s->spec.mode = (nn_resize_mode)m;
    s->spec.coord = (nn_coord_mode)c;
    s->spec.nearest = v10 ? NN_NEAREST_SIMPLE : (nn_nearest_mode)nm;
    s->spec.cubic_a = semseg_attr_float(n, "cubic_coeff_a", -0.75f);
    s->spec.exclude_outside = semseg_attr_int(n, "exclude_outside", 0) != 0;
    s->spec.antialias = semseg_attr_int(n, "antialias", 0) != 0 && m != NN_RESIZE_NEAREST;
    s->spec.extrapolation = semseg_attr_float(n, "extrapolation_value", 0.0f);

    const int64_t *axes = NULL;
    int64_t na = semseg_attr_ints(n, "axes", &axes);
    s->n_axes = na < 0 ? s->rank : (int)na;
    if (na > s->rank)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "Resize %s: %lld axes for rank %d", n->name, (long long)na, s->rank);
    for (int i = 0; i < s->n_axes; i++) {
        int64_t a = na < 0 ? i : axes[i] < 0 ? axes[i] + s->rank : axes[i];
        if (a < 0 || a >= s->rank)
            return ref_fail(err, SEMSEG_STATUS_MODEL, "Resize %s: axis %lld out of range for rank %d",
                            n->name, (long long)(na < 0 ? i : axes[i]), s->rank);
        s->axes[i] = a;
    }
    s->roi_in = v10 ? -1 : 1;
    s->scales_in = v10 ? 1 : 2;
    s->sizes_in = v10 ? -1 : 3;
    return SEMSEG_STATUS_OK;
}

static semseg_status resize_create(const semseg_node_info *n, void **state, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    if (!resize_dtype_ok(x->dtype))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "Resize %s: dtype %d (ref does float, uint8, int8)",
                        n->name, (int)x->dtype);
    if (x->rank < 1 || n->outputs[0].rank != x->rank)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "Resize %s: input rank %d, output rank %d",
                        n->name, (int)x->rank, (int)n->outputs[0].rank);
    resize_state *s = calloc(1, sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "Resize %s: out of memory", n->name);
    s->dtype = x->dtype;
    s->rank = x->rank;
    memcpy(s->in_dims, x->dims, (size_t)x->rank * sizeof *x->dims);
    snprintf(s->name, sizeof s->name, "Resize %s", n->name);
    semseg_status st = resize_parse(n, s, err);
    if (st) {
        free(s);
        return st;
    }
    *state = s;
    return SEMSEG_STATUS_OK;
}

static int64_t present_count(const semseg_tensor *in, int32_t n_in, int i)
{
    if (i < 0 || i >= n_in || in[i].dtype == SEMSEG_DTYPE_UNDEFINED || !in[i].buffer) return 0;
    return semseg_numel(in[i].rank, in[i].dims);
}

static semseg_status resize_run(void *state, const semseg_tensor *in, int32_t n_in,
                                const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)n_out;
    const resize_state *s = state;
    const int64_t *out_dims = out[0].dims;
    double scale[SEMSEG_MAX_RANK], roi[2 * SEMSEG_MAX_RANK];
    for (int a = 0; a < s->rank; a++) {
        scale[a] = 1.0;
        roi[a] = 0.0;
        roi[s->rank + a] = 1.0;
    }
    int64_t n_sizes = present_count(in, n_in, s->sizes_in), n_scales = present_count(in, n_in, s->scales_in);
    if (n_sizes > 0) {
        if (n_sizes != s->n_axes || in[s->sizes_in].dtype != SEMSEG_DTYPE_INT64)
            return ref_fail(err, SEMSEG_STATUS_MODEL, "%s: sizes has %lld entries for %d axes", s->name,
                            (long long)n_sizes, s->n_axes);
        const int64_t *sizes = semseg_tensor_data(&in[s->sizes_in]);
        double chosen = 0.0;
        for (int i = 0; i < s->n_axes; i++) {
            double r = (double)sizes[i] / (double)s->in_dims[s->axes[i]];
            scale[s->axes[i]] = r;
            if (i == 0 || (s->policy == 1 && r < chosen) || (s->policy == 2 && r > chosen)) chosen = r;
        }
        for (int i = 0; s->policy != 0 && i < s->n_axes; i++) scale[s->axes[i]] = chosen;
    } else if (n_scales > 0) {
        if (n_scales != s->n_axes || in[s->scales_in].dtype != SEMSEG_DTYPE_FLOAT)
            return ref_fail(err, SEMSEG_STATUS_MODEL, "%s: scales has %lld entries for %d axes", s->name,
                            (long long)n_scales, s->n_axes);
        const float *scales = semseg_tensor_data(&in[s->scales_in]);
        for (int i = 0; i < s->n_axes; i++) scale[s->axes[i]] = scales[i];
    } else {
        return ref_fail(err, SEMSEG_STATUS_MODEL, "%s: neither scales nor sizes given", s->name);
    }
    int64_t n_roi = present_count(in, n_in, s->roi_in);
    if (n_roi > 0 && s->spec.coord == NN_COORD_TF_CROP_AND_RESIZE) {
        const semseg_tensor *r = &in[s->roi_in];
        if (n_roi != 2 * s->n_axes || (r->dtype != SEMSEG_DTYPE_FLOAT && r->dtype != SEMSEG_DTYPE_DOUBLE))
            return ref_fail(err, SEMSEG_STATUS_MODEL, "%s: roi has %lld entries for %d axes", s->name,
                            (long long)n_roi, s->n_axes);
        for (int i = 0; i < 2 * s->n_axes; i++) {
            double v = r->dtype == SEMSEG_DTYPE_FLOAT ? ((const float *)semseg_tensor_data(r))[i]
                                                      : ((const double *)semseg_tensor_data(r))[i];
            roi[(i < s->n_axes ? 0 : s->rank) + s->axes[i % s->n_axes]] = v;
        }
    }
    return nn_resize(&s->spec, s->rank, s->in_dims, out_dims, scale, roi, s->dtype,
                     semseg_tensor_data(&in[0]), semseg_tensor_data(&out[0]), s->name, err);
}

const ref_op ref_op_resize = {
    /* .domain  = */ "",
    /* .op      = */ "Resize",
    /* .supports= */ resize_supports,
    /* .create  = */ resize_create,
    /* .run     = */ resize_run,
    /* .destroy = */ NULL,
};
