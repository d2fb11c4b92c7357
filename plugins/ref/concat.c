/*
 * Concat: joins inputs along `axis` (required; negative counts from the end).
 * All inputs share the dtype and every dim except `axis`; any dtype with a
 * fixed element size works, since this only moves bytes.
 */
#include <string.h>

#include "ref.h"
#include "ref_tensor_util.h"

typedef struct concat_state {
    int32_t axis;
} concat_state;

static int concat_supports(const semseg_node_info *n)
{
    if (n->n_inputs < 1 || n->n_outputs != 1 || semseg_dtype_size(n->outputs[0].dtype) == 0)
        return 0;
    for (int32_t i = 0; i < n->n_inputs; i++)
        if (n->inputs[i].dtype != n->outputs[0].dtype) return 0;
    return 1;
}

static semseg_status concat_create(const semseg_node_info *n, void **state, char *err)
{
    if (!concat_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: Concat needs inputs of one "
                        "fixed-size dtype", n->name);
    int32_t axis = ref_norm_axis(semseg_attr_int(n, "axis", 0), n->outputs[0].rank);
    if (axis < 0)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "node %s: Concat axis out of range", n->name);
    concat_state *s = malloc(sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "node %s: out of memory", n->name);
    s->axis = axis;
    *state = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status concat_run(void *state, const semseg_tensor *in, int32_t n_in,
                                const semseg_tensor *out, int32_t n_out, char *err)
{
    const concat_state *s = state;
    (void)n_out; (void)err;
    size_t es = semseg_dtype_size(out[0].dtype);
    int64_t outer = 1, inner = 1;
    for (int32_t d = 0; d < s->axis; d++) outer *= out[0].dims[d];
    for (int32_t d = s->axis + 1; d < out[0].rank; d++) inner *= out[0].dims[d];
    size_t out_row = (size_t)(out[0].dims[s->axis] * inner) * es;
    char *dst = semseg_tensor_data(&out[0]);
    size_t at = 0; /* byte offset of the current input's block within an output row */
    for (int32_t k = 0; k < n_in; k++) {
        size_t row = (size_t)(in[k].dims[s->axis] * inner) * es;
        const char *src = semseg_tensor_data(&in[k]);
        for (int64_t o = 0; o < outer && row > 0; o++)
            memcpy(dst + (size_t)o * out_row + at, src + (size_t)o * row, row);
        at += row;
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_concat = {
    /* .domain   = */ "",
    /* .op       = */ "Concat",
    /* .supports = */ concat_supports,
    /* .create   = */ concat_create,
    /* .run      = */ concat_run,
    /* .destroy  = */ NULL,
};
