/*
 * GlobalAveragePool and GlobalMaxPool (ONNX opset 1): the mean or the maximum
 * of each channel over all spatial axes. X is N x C x spatial (any number of
 * spatial axes, float); Y is N x C x 1 x ... x 1 with X's rank.
 */
#include <math.h>

#include "ref_nn_util.h"

typedef struct gpool_state {
    int64_t planes;   /* N * C */
    int64_t plane;    /* spatial size */
} gpool_state;

static semseg_status gpool_create(const semseg_node_info *n, void **state, char *err)
{
    semseg_status st = nn_check_float_input(n, 0, 2, SEMSEG_MAX_RANK, err);
    if (st) return st;
    const semseg_value_info *x = &n->inputs[0];
    int64_t dims[SEMSEG_MAX_RANK];
    for (int i = 0; i < x->rank; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    if ((st = nn_check_output(n, 0, x->rank, dims, err))) return st;
    gpool_state *s = malloc(sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "%s %s: out of memory", n->op, n->name);
    s->planes = x->dims[0] * x->dims[1];
    s->plane = semseg_numel(x->rank - 2, x->dims + 2);
    *state = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status gavg_run(void *state, const semseg_tensor *in, int32_t n_in,
                              const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)n_in, (void)n_out, (void)err;
    const gpool_state *s = state;
    const float *x = semseg_tensor_data(&in[0]);
    float *y = semseg_tensor_data(&out[0]);
    for (int64_t p = 0; p < s->planes; p++) {
        double sum = 0.0;
        for (int64_t i = 0; i < s->plane; i++) sum += x[p * s->plane + i];
        y[p] = s->plane ? (float)(sum / (double)s->plane) : 0.0f;
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status gmax_run(void *state, const semseg_tensor *in, int32_t n_in,
                              const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)n_in, (void)n_out, (void)err;
    const gpool_state *s = state;
    const float *x = semseg_tensor_data(&in[0]);
    float *y = semseg_tensor_data(&out[0]);
    for (int64_t p = 0; p < s->planes; p++) {
        float best = -INFINITY;
        for (int64_t i = 0; i < s->plane; i++)
            if (x[p * s->plane + i] > best) best = x[p * s->plane + i];
        y[p] = best;
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_global_average_pool = {
    /* .domain  = */ "",
    /* .op      = */ "GlobalAveragePool",
    /* .supports= */ NULL,
    /* .create  = */ gpool_create,
    /* .run     = */ gavg_run,
    /* .destroy = */ NULL,
};

const ref_op ref_op_global_max_pool = {
    /* .domain  = */ "",
    /* .op      = */ "GlobalMaxPool",
    /* .supports= */ NULL,
    /* .create  = */ gpool_create,
    /* .run     = */ gmax_run,
    /* .destroy = */ NULL,
};
