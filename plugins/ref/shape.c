/*
 * Shape: the input's dims as a 1-D int64 tensor, optionally only
 * dims[start:end] (opset 15; negative values count from the end, both are
 * clamped to [0, rank]). Only dims are read, never data: the runtime may
 * pass an input whose buffer is NULL (OPDEF_DIMS_ONLY).
 */
#include "ref.h"
#include "ref_tensor_util.h"

typedef struct shape_state {
    int64_t start, end;
} shape_state;

static int shape_supports(const semseg_node_info *n)
{
    return n->n_inputs == 1 && n->n_outputs == 1 && n->outputs[0].dtype == SEMSEG_DTYPE_INT64;
}

static semseg_status shape_create(const semseg_node_info *n, void **state, char *err)
{
    if (!shape_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: Shape outputs int64", n->name);
    shape_state *s = malloc(sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "node %s: out of memory", n->name);
    s->start = n->opset >= 15 ? semseg_attr_int(n, "start", 0) : 0;
    s->end = n->opset >= 15 ? semseg_attr_int(n, "end", INT64_MAX) : INT64_MAX;
    *state = s;
    return SEMSEG_STATUS_OK;
}

static int64_t shape_clamp(int64_t v, int32_t rank)
{
    if (v < 0) v += rank;
    return v < 0 ? 0 : v > rank ? rank : v;
}

static semseg_status shape_run(void *state, const semseg_tensor *in, int32_t n_in,
                               const semseg_tensor *out, int32_t n_out, char *err)
{
    const shape_state *s = state;
    (void)n_in; (void)n_out;
    int64_t start = shape_clamp(s->start, in[0].rank), end = shape_clamp(s->end, in[0].rank);
    int64_t n = end > start ? end - start : 0;
    if (out[0].rank != 1 || out[0].dims[0] != n)
        return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Shape: output should hold %lld "
                        "dims", (long long)n);
    int64_t *y = semseg_tensor_data(&out[0]);
    for (int64_t i = 0; i < n; i++) y[i] = in[0].dims[start + i];
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_shape = {
    /* .domain   = */ "",
    /* .op       = */ "Shape",
    /* .supports = */ shape_supports,
    /* .create   = */ shape_create,
    /* .run      = */ shape_run,
    /* .destroy  = */ NULL,
};
