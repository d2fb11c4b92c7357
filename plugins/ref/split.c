/*
 * Split: cuts input 0 along `axis` (default 0, negative counts from the end)
 * into the outputs. The part sizes come from the `split` attribute (before
 * opset 13), the optional `split` input (13+), or else equal parts: before
 * opset 18 the outputs must divide the dim evenly; from 18 `num_outputs`
 * gives ceil(dim / num_outputs) per part with a smaller last one. Shape
 * inference has settled the sizes, so the kernel reads them from the output
 * dims. Any fixed-size dtype.
 */
#include <string.h>

#include "ref.h"
#include "ref_tensor_util.h"

typedef struct split_state {
    int32_t axis;
} split_state;

static int split_supports(const semseg_node_info *n)
{
    if (n->n_inputs < 1 || n->n_outputs < 1 || semseg_dtype_size(n->inputs[0].dtype) == 0)
        return 0;
    for (int32_t i = 0; i < n->n_outputs; i++)
        if (n->outputs[i].dtype != n->inputs[0].dtype &&
            n->outputs[i].dtype != SEMSEG_DTYPE_UNDEFINED) return 0;
    return 1;
}

static semseg_status split_create(const semseg_node_info *n, void **state, char *err)
{
    if (!split_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: Split needs a fixed-size "
                        "dtype", n->name);
    int32_t axis = ref_norm_axis(semseg_attr_int(n, "axis", 0), n->inputs[0].rank);
    if (axis < 0)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "node %s: Split axis out of range", n->name);
    split_state *s = malloc(sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "node %s: out of memory", n->name);
    s->axis = axis;
    *state = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status split_run(void *state, const semseg_tensor *in, int32_t n_in,
                               const semseg_tensor *out, int32_t n_out, char *err)
{
    const split_state *s = state;
    (void)n_in;
    size_t es = semseg_dtype_size(in[0].dtype);
    int64_t outer = 1, inner = 1, total = 0;
    for (int32_t d = 0; d < s->axis; d++) outer *= in[0].dims[d];
    for (int32_t d = s->axis + 1; d < in[0].rank; d++) inner *= in[0].dims[d];
    for (int32_t k = 0; k < n_out; k++) total += out[k].dims[s->axis];
    if (total != in[0].dims[s->axis])
        return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Split: output parts sum to "
                        "%lld, input dim is %lld", (long long)total,
                        (long long)in[0].dims[s->axis]);
    size_t in_row = (size_t)(in[0].dims[s->axis] * inner) * es;
    const char *src = semseg_tensor_data(&in[0]);
    size_t at = 0;
    for (int32_t k = 0; k < n_out; k++) {
        size_t row = (size_t)(out[k].dims[s->axis] * inner) * es;
        char *dst = out[k].buffer ? semseg_tensor_data(&out[k]) : NULL;
        for (int64_t o = 0; dst && o < outer && row > 0; o++)
            memcpy(dst + (size_t)o * row, src + (size_t)o * in_row + at, row);
        at += row;
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_split = {
    /* .domain   = */ "",
    /* .op       = */ "Split",
    /* .supports = */ split_supports,
    /* .create   = */ split_create,
    /* .run      = */ split_run,
    /* .destroy  = */ NULL,
};
