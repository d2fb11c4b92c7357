/*
 * Gather: out = data taken along `axis` (default 0, negative counts from the
 * end) at the int32/int64 indices; out.dims = data.dims[:axis] ++
 * indices.dims ++ data.dims[axis+1:]. A negative index counts from the end
 * of the axis; one still out of range is a run-time error, not a read out of
 * bounds. Any fixed-size data dtype.
 */
#include <string.h>

#include "ref.h"
#include "ref_tensor_util.h"

typedef struct gather_state {
    int32_t axis;
} gather_state;

static int gather_supports(const semseg_node_info *n)
{
    return n->n_inputs == 2 && n->n_outputs == 1 && n->outputs[0].dtype == n->inputs[0].dtype &&
           semseg_dtype_size(n->inputs[0].dtype) > 0 &&
           (n->inputs[1].dtype == SEMSEG_DTYPE_INT64 || n->inputs[1].dtype == SEMSEG_DTYPE_INT32);
}

static semseg_status gather_create(const semseg_node_info *n, void **state, char *err)
{
    if (!gather_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: Gather needs fixed-size data "
                        "and int32/int64 indices", n->name);
    int32_t axis = ref_norm_axis(semseg_attr_int(n, "axis", 0), n->inputs[0].rank);
    if (axis < 0)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "node %s: Gather axis out of range", n->name);
    gather_state *s = malloc(sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "node %s: out of memory", n->name);
    s->axis = axis;
    *state = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status gather_run(void *state, const semseg_tensor *in, int32_t n_in,
                                const semseg_tensor *out, int32_t n_out, char *err)
{
    const gather_state *s = state;
    (void)n_in; (void)n_out;
    size_t es = semseg_dtype_size(in[0].dtype);
    int64_t outer = 1, inner = 1, dim = in[0].dims[s->axis];
    for (int32_t d = 0; d < s->axis; d++) outer *= in[0].dims[d];
    for (int32_t d = s->axis + 1; d < in[0].rank; d++) inner *= in[0].dims[d];
    int64_t n_idx = semseg_numel(in[1].rank, in[1].dims);
    const char *src = semseg_tensor_data(&in[0]);
    const void *indices = semseg_tensor_data(&in[1]);
    char *dst = semseg_tensor_data(&out[0]);
    size_t chunk = (size_t)inner * es;
    for (int64_t k = 0; k < n_idx; k++) {
        int64_t i = ref_load_i64(in[1].dtype, indices, k);
        if (i < -dim || i >= dim)
            return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Gather: index %lld out of "
                            "range for a dim of %lld", (long long)i, (long long)dim);
    }
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t k = 0; k < n_idx; k++) {
            int64_t i = ref_load_i64(in[1].dtype, indices, k);
            if (i < 0) i += dim;
            memcpy(dst + (size_t)(o * n_idx + k) * chunk, src + (size_t)(o * dim + i) * chunk,
                   chunk);
        }
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_gather = {
    /* .domain   = */ "",
    /* .op       = */ "Gather",
    /* .supports = */ gather_supports,
    /* .create   = */ gather_create,
    /* .run      = */ gather_run,
    /* .destroy  = */ NULL,
};
