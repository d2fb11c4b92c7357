/*
 * PRelu: y = x < 0 ? slope * x : x, float. The slope broadcasts to X
 * unidirectionally (numpy rules, but only slope may stretch): a per-channel
 * slope of a 4-D NCHW tensor arrives as [C,1,1]. Output 0 may alias input 0.
 */
#include "ref.h"
#include "ref_tensor_util.h"

static int prelu_supports(const semseg_node_info *n)
{
    return n->n_inputs == 2 && n->n_outputs == 1 && n->inputs[0].dtype == SEMSEG_DTYPE_FLOAT &&
           n->inputs[1].dtype == SEMSEG_DTYPE_FLOAT && n->outputs[0].dtype == SEMSEG_DTYPE_FLOAT;
}

static semseg_status prelu_create(const semseg_node_info *n, void **state, char *err)
{
    (void)state;
    if (!prelu_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: PRelu takes float X and slope",
                        n->name);
    return SEMSEG_STATUS_OK;
}

static semseg_status prelu_run(void *state, const semseg_tensor *in, int32_t n_in,
                               const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)state; (void)n_in; (void)n_out;
    ref_bcast bc;
    const int32_t ranks[2] = { in[0].rank, in[1].rank };
    const int64_t *dims[2] = { in[0].dims, in[1].dims };
    if (ref_bcast_init(&bc, in[0].rank, in[0].dims, 2, ranks, dims) != 0)
        return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT,
                        "PRelu: slope does not broadcast to X");
    const float *x = semseg_tensor_data(&in[0]), *slope = semseg_tensor_data(&in[1]);
    float *y = semseg_tensor_data(&out[0]);
    const int64_t ss = bc.step[1], len = bc.row_len;
    for (int64_t r = 0; r < bc.rows; r++, ref_bcast_next_row(&bc)) {
        const float *xr = x + bc.off[0], *sr = slope + bc.off[1];
        float *yr = y + r * len;
        for (int64_t j = 0; j < len; j++) yr[j] = xr[j] < 0 ? sr[j * ss] * xr[j] : xr[j];
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_prelu = {
    /* .domain   = */ "",
    /* .op       = */ "PRelu",
    /* .supports = */ prelu_supports,
    /* .create   = */ prelu_create,
    /* .run      = */ prelu_run,
    /* .destroy  = */ NULL,
};
