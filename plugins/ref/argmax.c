/*
 * ArgMax: index of the largest element along `axis` (default 0, negative
 * counts from the end), as int64. keepdims (default 1) keeps the axis with
 * size 1; select_last_index (opset 12, default 0) picks the last of equal
 * maxima instead of the first. Data: float, double, int32, int64, int8,
 * uint8. This is the op that turns a segmentation model's logits into labels.
 */
#include "ref.h"
#include "ref_tensor_util.h"

typedef struct argmax_state {
    int32_t axis;
    int last;
} argmax_state;

static int argmax_dtype_ok(int32_t dt)
{
    return dt == SEMSEG_DTYPE_FLOAT || dt == SEMSEG_DTYPE_DOUBLE || dt == SEMSEG_DTYPE_INT32 ||
           dt == SEMSEG_DTYPE_INT64 || dt == SEMSEG_DTYPE_INT8 || dt == SEMSEG_DTYPE_UINT8;
}

static int argmax_supports(const semseg_node_info *n)
{
    return n->n_inputs == 1 && n->n_outputs == 1 && argmax_dtype_ok(n->inputs[0].dtype) &&
           n->outputs[0].dtype == SEMSEG_DTYPE_INT64;
}

static semseg_status argmax_create(const semseg_node_info *n, void **state, char *err)
{
    if (!argmax_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: ArgMax takes float, double, "
                        "int8/32/64 or uint8 and gives int64", n->name);
    int32_t axis = ref_norm_axis(semseg_attr_int(n, "axis", 0), n->inputs[0].rank);
    if (axis < 0)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "node %s: ArgMax axis out of range", n->name);
    argmax_state *s = malloc(sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "node %s: out of memory", n->name);
    s->axis = axis;
    s->last = semseg_attr_int(n, "select_last_index", 0) != 0;
    *state = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status argmax_run(void *state, const semseg_tensor *in, int32_t n_in,
                                const semseg_tensor *out, int32_t n_out, char *err)
{
    const argmax_state *s = state;
    (void)n_in; (void)n_out;
    int64_t outer = 1, len = in[0].dims[s->axis], inner = 1;
    for (int32_t d = 0; d < s->axis; d++) outer *= in[0].dims[d];
    for (int32_t d = s->axis + 1; d < in[0].rank; d++) inner *= in[0].dims[d];
    if (len == 0 && outer * inner > 0)
        return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "ArgMax: empty axis");
    const void *x = semseg_tensor_data(&in[0]);
    int64_t *y = semseg_tensor_data(&out[0]);
    int32_t dt = in[0].dtype;
    for (int64_t o = 0; o < outer; o++) {
        if (dt == SEMSEG_DTYPE_FLOAT) {
            /* The common case (labels from NCHW logits, axis 1): walk the
             * channels in the outer loop so memory is read in order. */
            const float *xf = (const float *)x + o * len * inner;
            int64_t *yo = y + o * inner;
            for (int64_t i = 0; i < inner; i++) yo[i] = 0;
            for (int64_t k = 1; k < len; k++) {
                const float *row = xf + k * inner;
                for (int64_t i = 0; i < inner; i++) {
                    float best = xf[yo[i] * inner + i];
                    if (s->last ? row[i] >= best : row[i] > best) yo[i] = k;
                }
            }
            continue;
        }
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * len * inner + i, best = 0;
            if (dt == SEMSEG_DTYPE_DOUBLE) {
                const double *xd = (const double *)x + base;
                for (int64_t k = 1; k < len; k++)
                    if (s->last ? xd[k * inner] >= xd[best * inner] : xd[k * inner] > xd[best * inner])
                        best = k;
            } else {
                int64_t bv = ref_load_i64(dt, x, base);
                for (int64_t k = 1; k < len; k++) {
                    int64_t v = ref_load_i64(dt, x, base + k * inner);
                    if (s->last ? v >= bv : v > bv) { best = k; bv = v; }
                }
            }
            y[o * inner + i] = best;
        }
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_argmax = {
    /* .domain   = */ "",
    /* .op       = */ "ArgMax",
    /* .supports = */ argmax_supports,
    /* .create   = */ argmax_create,
    /* .run      = */ argmax_run,
    /* .destroy  = */ NULL,
};
