/*
 * ReduceMean, float: the mean over `axes` (negative count from the end),
 * which is an attribute before opset 18 and an optional int64 input from 18.
 * No axes means all axes, unless noop_with_empty_axes=1 (opset 18), which
 * makes the op an Identity. keepdims (default 1) keeps reduced axes as 1s.
 * Sums are kept in double. Reducing an empty set gives NaN (0/0), as numpy.
 */
#include <math.h>
#include <string.h>

#include "ref.h"
#include "ref_tensor_util.h"

typedef struct rmean_state {
    int axes_input;              /* opset >= 18 and input 1 present */
    int noop_empty;
    int64_t n_attr_axes;         /* -1: no attribute */
    int64_t attr_axes[SEMSEG_MAX_RANK];
} rmean_state;

static int rmean_supports(const semseg_node_info *n)
{
    if (n->n_inputs < 1 || n->n_outputs != 1 || n->inputs[0].dtype != SEMSEG_DTYPE_FLOAT ||
        n->outputs[0].dtype != SEMSEG_DTYPE_FLOAT)
        return 0;
    return !semseg_input_present(n, 1) || n->inputs[1].dtype == SEMSEG_DTYPE_INT64;
}

static semseg_status rmean_create(const semseg_node_info *n, void **state, char *err)
{
    if (!rmean_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: ReduceMean takes float (and "
                        "int64 axes)", n->name);
    rmean_state *s = calloc(1, sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "node %s: out of memory", n->name);
    s->axes_input = n->opset >= 18 && semseg_input_present(n, 1);
    s->noop_empty = n->opset >= 18 && semseg_attr_int(n, "noop_with_empty_axes", 0) != 0;
    s->n_attr_axes = -1;
    if (n->opset < 18) {
        const int64_t *axes = NULL;
        int64_t na = semseg_attr_ints(n, "axes", &axes);
        if (na > SEMSEG_MAX_RANK) {
            free(s);
            return ref_fail(err, SEMSEG_STATUS_MODEL, "node %s: ReduceMean has %lld axes",
                            n->name, (long long)na);
        }
        if (na > 0) memcpy(s->attr_axes, axes, (size_t)na * sizeof(int64_t));
        s->n_attr_axes = na;
    }
    *state = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status rmean_run(void *state, const semseg_tensor *in, int32_t n_in,
                               const semseg_tensor *out, int32_t n_out, char *err)
{
    const rmean_state *s = state;
    (void)n_out;
    int32_t rank = in[0].rank;
    int reduced[SEMSEG_MAX_RANK] = { 0 };
    int64_t n_axes = s->n_attr_axes;
    const float *x = semseg_tensor_data(&in[0]);
    float *y = semseg_tensor_data(&out[0]);
    int64_t n = semseg_numel(rank, in[0].dims);

    if (s->axes_input && n_in > 1) n_axes = semseg_numel(in[1].rank, in[1].dims);
    for (int64_t k = 0; k < n_axes; k++) {
        int64_t ax = s->axes_input ? ((const int64_t *)semseg_tensor_data(&in[1]))[k]
                                   : s->attr_axes[k];
        int32_t a = ref_norm_axis(ax, rank);
        if (a < 0)
            return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "ReduceMean: axis %lld out of "
                            "range for rank %d", (long long)ax, (int)rank);
        reduced[a] = 1;
    }
    if (n_axes <= 0) {
        if (s->noop_empty) {
            ref_copy_bytes(y, x, (size_t)n * sizeof(float));
            return SEMSEG_STATUS_OK;
        }
        for (int32_t d = 0; d < rank; d++) reduced[d] = 1;
    }

    /* ostride: where input index d moves the output (0 along reduced axes). */
    int64_t ostride[SEMSEG_MAX_RANK], count = 1, n_out_el = 1;
    for (int32_t d = rank - 1; d >= 0; d--) {
        ostride[d] = reduced[d] ? 0 : n_out_el;
        if (reduced[d]) count *= in[0].dims[d];
        else n_out_el *= in[0].dims[d];
    }
    double *acc = calloc((size_t)(n_out_el > 0 ? n_out_el : 1), sizeof *acc);
    if (!acc) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "ReduceMean: out of memory");
    int64_t idx[SEMSEG_MAX_RANK] = { 0 }, o = 0;
    for (int64_t i = 0; i < n; i++) {
        acc[o] += x[i];
        for (int32_t d = rank - 1; d >= 0; d--) {
            o += ostride[d];
            if (++idx[d] < in[0].dims[d]) break;
            o -= ostride[d] * in[0].dims[d];
            idx[d] = 0;
        }
    }
    for (int64_t j = 0; j < n_out_el; j++) y[j] = (float)(acc[j] / (double)count);
    free(acc);
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_reduce_mean = {
    /* .domain   = */ "",
    /* .op       = */ "ReduceMean",
    /* .supports = */ rmean_supports,
    /* .create   = */ rmean_create,
    /* .run      = */ rmean_run,
    /* .destroy  = */ NULL,
};
