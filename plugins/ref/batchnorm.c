/*
 * BatchNormalization in inference mode (ONNX opsets 1..15):
 *   Y[n, c, ...] = (X[n, c, ...] - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + B[c]
 * X is N x C x ... (rank >= 2), the four parameters are vectors of C. Training
 * mode (training_mode = 1, or the running-statistics outputs requested) is
 * refused: exported inference graphs never use it. The per-channel factor and
 * offset are computed at run time, so non-constant parameters work too.
 */
#include <math.h>

#include "ref_nn_util.h"

typedef struct bn_state {
    int64_t batch, channels, plane;
    float epsilon;
} bn_state;

static int bn_supports(const semseg_node_info *n)
{
    if (semseg_attr_int(n, "training_mode", 0) != 0) return 0;
    for (int i = 1; i < n->n_outputs; i++)
        if (n->outputs[i].dtype != SEMSEG_DTYPE_UNDEFINED) return 0;
    for (int i = 0; i < n->n_inputs; i++)
        if (n->inputs[i].dtype != SEMSEG_DTYPE_FLOAT) return 0;
    return 1;
}

static semseg_status bn_create(const semseg_node_info *n, void **state, char *err)
{
    if (!bn_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED,
                        "BatchNormalization %s: training mode or non-float inputs (ref does float inference)",
                        n->name);
    semseg_status st = nn_check_float_input(n, 0, 2, SEMSEG_MAX_RANK, err);
    if (st) return st;
    const semseg_value_info *x = &n->inputs[0];
    if (n->n_inputs != 5)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "BatchNormalization %s: %d inputs, expected 5",
                        n->name, (int)n->n_inputs);
    for (int i = 1; i < 5; i++) {
        if ((st = nn_check_float_input(n, i, 1, 1, err))) return st;
        if (n->inputs[i].dims[0] != x->dims[1])
            return ref_fail(err, SEMSEG_STATUS_MODEL, "BatchNormalization %s: input %d has %lld entries for %lld channels",
                            n->name, i, (long long)n->inputs[i].dims[0], (long long)x->dims[1]);
    }
    if ((st = nn_check_output(n, 0, x->rank, x->dims, err))) return st;
    bn_state *s = malloc(sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "BatchNormalization %s: out of memory", n->name);
    s->batch = x->dims[0];
    s->channels = x->dims[1];
    s->plane = semseg_numel(x->rank - 2, x->dims + 2);
    s->epsilon = semseg_attr_float(n, "epsilon", 1e-5f);
    *state = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status bn_run(void *state, const semseg_tensor *in, int32_t n_in,
                            const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)n_in, (void)n_out, (void)err;
    const bn_state *s = state;
    const float *x = semseg_tensor_data(&in[0]);
    const float *scale = semseg_tensor_data(&in[1]);
    const float *bias = semseg_tensor_data(&in[2]);
    const float *mean = semseg_tensor_data(&in[3]);
    const float *var = semseg_tensor_data(&in[4]);
    float *y = semseg_tensor_data(&out[0]);
    for (int64_t c = 0; c < s->channels; c++) {
        /* computed in double so the folded factor adds no rounding of its own */
        double f = scale[c] / sqrt((double)var[c] + s->epsilon);
        double b = bias[c] - mean[c] * f;
        for (int64_t nb = 0; nb < s->batch; nb++) {
            int64_t base = (nb * s->channels + c) * s->plane;
            for (int64_t i = 0; i < s->plane; i++) y[base + i] = (float)(x[base + i] * f + b);
        }
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_batchnorm = {
    /* .domain  = */ "",
    /* .op      = */ "BatchNormalization",
    /* .supports= */ bn_supports,
    /* .create  = */ bn_create,
    /* .run     = */ bn_run,
    /* .destroy = */ NULL,
};
