/*
 * Expand(input, shape): broadcasts input and `shape` against each other
 * (numpy rules, both ways: a 1 in `shape` keeps the input's dim) and copies
 * the input out to the result. Shape inference has fixed the output dims, so
 * the kernel only reads them. Any fixed-size dtype.
 */
#include "ref.h"
#include "ref_tensor_util.h"

static int expand_supports(const semseg_node_info *n)
{
    if (n->n_inputs != 2 || n->n_outputs != 1 || n->outputs[0].dtype != n->inputs[0].dtype)
        return 0;
    size_t es = semseg_dtype_size(n->inputs[0].dtype);
    return (es == 1 || es == 2 || es == 4 || es == 8) &&
           n->inputs[1].dtype == SEMSEG_DTYPE_INT64;
}

static semseg_status expand_create(const semseg_node_info *n, void **state, char *err)
{
    (void)state;
    if (!expand_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: Expand needs a fixed-size "
                        "dtype and an int64 shape", n->name);
    return SEMSEG_STATUS_OK;
}

#define EXPAND_LOOP(T) do { \
        const T *x = src; T *y = dst; \
        for (int64_t r = 0; r < bc.rows; r++, y += len, ref_bcast_next_row(&bc)) { \
            const T *xr = x + bc.off[0]; \
            for (int64_t j = 0; j < len; j++) y[j] = xr[j * step]; \
        } \
    } while (0)

static semseg_status expand_run(void *state, const semseg_tensor *in, int32_t n_in,
                                const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)state; (void)n_in; (void)n_out;
    ref_bcast bc;
    const int64_t *dims[1] = { in[0].dims };
    if (ref_bcast_init(&bc, out[0].rank, out[0].dims, 1, &in[0].rank, dims) != 0)
        return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Expand: input dims do not "
                        "broadcast to the output dims");
    const int64_t len = bc.row_len, step = bc.step[0];
    const void *src = semseg_tensor_data(&in[0]);
    void *dst = semseg_tensor_data(&out[0]);
    switch (semseg_dtype_size(in[0].dtype)) {
    case 1: EXPAND_LOOP(uint8_t); break;
    case 2: EXPAND_LOOP(uint16_t); break;
    case 4: EXPAND_LOOP(uint32_t); break;
    default: EXPAND_LOOP(uint64_t); break;
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_expand = {
    /* .domain   = */ "",
    /* .op       = */ "Expand",
    /* .supports = */ expand_supports,
    /* .create   = */ expand_create,
    /* .run      = */ expand_run,
    /* .destroy  = */ NULL,
};
