/*
 * Softmax and LogSoftmax, float.
 *   opset >= 13: along one axis (default -1).
 *   opset <  13: the input is viewed as 2-D [prod(dims[:axis]),
 *                prod(dims[axis:])] (axis default 1) and each row of that
 *                view is normalised as a whole.
 * Both subtract the maximum first so large inputs do not overflow; the sum
 * is kept in double. LogSoftmax is x - max - log(sum(exp(x - max))).
 */
#include <math.h>
#include <string.h>

#include "ref.h"
#include "ref_tensor_util.h"

typedef struct softmax_state {
    int32_t axis;
    int coerce_2d;   /* opset < 13 */
    int log;         /* LogSoftmax */
} softmax_state;

static int softmax_supports(const semseg_node_info *n)
{
    return n->n_inputs == 1 && n->n_outputs == 1 && n->inputs[0].dtype == SEMSEG_DTYPE_FLOAT &&
           n->outputs[0].dtype == SEMSEG_DTYPE_FLOAT;
}

static semseg_status softmax_create(const semseg_node_info *n, void **state, char *err)
{
    if (!softmax_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: %s takes float", n->name, n->op);
    int coerce = n->opset < 13;
    int32_t rank = n->inputs[0].rank;
    int64_t axis = semseg_attr_int(n, "axis", coerce ? 1 : -1);
    /* A scalar has one axis to normalise over as far as the arithmetic goes. */
    int32_t a = rank == 0 ? 0 : ref_norm_axis(axis, rank);
    if (coerce && axis == rank) a = rank; /* [N, 1] view: allowed by the old rule */
    if (a < 0)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "node %s: %s axis %lld out of range for rank %d",
                        n->name, n->op, (long long)axis, (int)rank);
    softmax_state *s = malloc(sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "node %s: out of memory", n->name);
    s->axis = a;
    s->coerce_2d = coerce;
    s->log = strcmp(n->op, "LogSoftmax") == 0;
    *state = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status softmax_run(void *state, const semseg_tensor *in, int32_t n_in,
                                 const semseg_tensor *out, int32_t n_out, char *err)
{
    const softmax_state *s = state;
    (void)n_in; (void)n_out;
    int32_t rank = in[0].rank;
    int64_t outer = 1, len = 1, inner = 1;
    for (int32_t d = 0; d < rank; d++) {
        if (d < s->axis) outer *= in[0].dims[d];
        else if (d == s->axis || s->coerce_2d) len *= in[0].dims[d];
        else inner *= in[0].dims[d];
    }
    const float *x = semseg_tensor_data(&in[0]);
    float *y = semseg_tensor_data(&out[0]);
    /* One slab [len, inner] at a time, walked row by row so memory is read in
     * order even when the axis is not the last one (channels of NCHW). */
    float *max = malloc((size_t)(inner > 0 ? inner : 1) * sizeof *max);
    double *sum = malloc((size_t)(inner > 0 ? inner : 1) * sizeof *sum);
    if (!max || !sum) {
        free(max);
        free(sum);
        return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "%s: out of memory",
                        s->log ? "LogSoftmax" : "Softmax");
    }
    for (int64_t o = 0; o < outer && len > 0; o++) {
        const float *xs = x + o * len * inner;
        float *ys = y + o * len * inner;
        for (int64_t i = 0; i < inner; i++) {
            max[i] = xs[i];
            sum[i] = 0;
        }
        for (int64_t k = 1; k < len; k++)
            for (int64_t i = 0; i < inner; i++) max[i] = fmaxf(max[i], xs[k * inner + i]);
        for (int64_t k = 0; k < len; k++)
            for (int64_t i = 0; i < inner; i++) sum[i] += exp((double)xs[k * inner + i] - max[i]);
        for (int64_t k = 0; k < len; k++) {
            for (int64_t i = 0; i < inner; i++) {
                double d = (double)xs[k * inner + i] - max[i];
                ys[k * inner + i] = (float)(s->log ? d - log(sum[i]) : exp(d) / sum[i]);
            }
        }
    }
    free(max);
    free(sum);
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_softmax = {
    /* .domain   = */ "",
    /* .op       = */ "Softmax",
    /* .supports = */ softmax_supports,
    /* .create   = */ softmax_create,
    /* .run      = */ softmax_run,
    /* .destroy  = */ NULL,
};

const ref_op ref_op_log_softmax = {
    /* .domain   = */ "",
    /* .op       = */ "LogSoftmax",
    /* .supports = */ softmax_supports,
    /* .create   = */ softmax_create,
    /* .run      = */ softmax_run,
    /* .destroy  = */ NULL,
};
