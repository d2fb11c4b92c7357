/*
 * Reshape, Flatten, Squeeze, Unsqueeze: the data stays as it is, only the
 * dims change, and shape inference (runtime/opdef_tensor.c) has already
 * worked those out; so the kernel is one copy, skipped when the runtime runs
 * it in place. Their shape rules, for the record:
 *   Reshape(data, shape): 0 copies the input dim (a literal 0 when
 *     allowzero=1), one -1 takes what is left.
 *   Flatten(axis=1): [prod(dims[:axis]), prod(dims[axis:])], axis may be
 *     negative.
 *   Squeeze(axes): drops the listed size-1 dims (all size-1 dims when none);
 *     axes is an attribute before opset 13 and an input from 13.
 *   Unsqueeze(axes): inserts size-1 dims at the listed positions of the
 *     output; attribute before 13, input from 13.
 * Any fixed-size dtype.
 */
#include "ref.h"
#include "ref_tensor_util.h"

static int reshape_supports(const semseg_node_info *n)
{
    return n->n_inputs >= 1 && n->n_outputs == 1 && n->outputs[0].dtype == n->inputs[0].dtype &&
           semseg_dtype_size(n->inputs[0].dtype) > 0;
}

static semseg_status reshape_create(const semseg_node_info *n, void **state, char *err)
{
    (void)state;
    if (!reshape_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: %s needs a fixed-size dtype",
                        n->name, n->op);
    return SEMSEG_STATUS_OK;
}

static semseg_status reshape_run(void *state, const semseg_tensor *in, int32_t n_in,
                                 const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)state; (void)n_in; (void)n_out;
    int64_t n = semseg_numel(in[0].rank, in[0].dims);
    if (n != semseg_numel(out[0].rank, out[0].dims))
        return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "reshape: %lld elements in, "
                        "%lld out", (long long)n,
                        (long long)semseg_numel(out[0].rank, out[0].dims));
    ref_copy_bytes(semseg_tensor_data(&out[0]), semseg_tensor_data(&in[0]),
                   (size_t)n * semseg_dtype_size(in[0].dtype));
    return SEMSEG_STATUS_OK;
}

#define RESHAPE_OP(NAME, OPNAME) \
    const ref_op NAME = { \
        /* .domain   = */ "", \
        /* .op       = */ OPNAME, \
        /* .supports = */ reshape_supports, \
        /* .create   = */ reshape_create, \
        /* .run      = */ reshape_run, \
        /* .destroy  = */ NULL, \
    };

RESHAPE_OP(ref_op_reshape, "Reshape")
RESHAPE_OP(ref_op_flatten, "Flatten")
RESHAPE_OP(ref_op_squeeze, "Squeeze")
RESHAPE_OP(ref_op_unsqueeze, "Unsqueeze")
