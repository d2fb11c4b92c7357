/*
 * Identity, and Dropout at inference: output = input. Dropout's optional
 * mask output is all true (bool from opset 10, the data's dtype before).
 * Dropout in training mode (opset 12+: input 2 true with a non-zero ratio)
 * would need random numbers and is refused. Any fixed-size dtype.
 */
#include "ref.h"
#include "ref_tensor_util.h"

/* 1 when the node is a Dropout that would actually drop (training mode), or
 * whose mode is only known at run time. */
static int dropout_training(const semseg_node_info *n)
{
    if (n->opset < 12 || !semseg_input_present(n, 2)) return 0;
    const semseg_value_info *mode = &n->inputs[2];
    if (!mode->data) return 1;
    if (!((const uint8_t *)mode->data)[0]) return 0;
    if (!semseg_input_present(n, 1)) return 1;  /* default ratio 0.5 */
    const semseg_value_info *ratio = &n->inputs[1];
    if (!ratio->data) return 1;
    return ref_load_f64(ratio->dtype, ratio->data, 0) != 0.0;
}

static int identity_supports(const semseg_node_info *n)
{
    if (n->n_inputs < 1 || n->n_outputs < 1 || n->outputs[0].dtype != n->inputs[0].dtype ||
        semseg_dtype_size(n->inputs[0].dtype) == 0)
        return 0;
    if (n->n_outputs > 1 && n->outputs[1].dtype != SEMSEG_DTYPE_UNDEFINED &&
        semseg_dtype_size(n->outputs[1].dtype) == 0)
        return 0;
    return !dropout_training(n);
}

static semseg_status identity_create(const semseg_node_info *n, void **state, char *err)
{
    (void)state;
    if (dropout_training(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: Dropout in training mode is "
                        "not supported (inference only)", n->name);
    if (!identity_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: %s needs a fixed-size dtype",
                        n->name, n->op);
    return SEMSEG_STATUS_OK;
}

static semseg_status identity_run(void *state, const semseg_tensor *in, int32_t n_in,
                                  const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)state; (void)n_in; (void)err;
    int64_t n = semseg_numel(in[0].rank, in[0].dims);
    ref_copy_bytes(semseg_tensor_data(&out[0]), semseg_tensor_data(&in[0]),
                   (size_t)n * semseg_dtype_size(in[0].dtype));
    if (n_out > 1 && out[1].buffer) {
        void *mask = semseg_tensor_data(&out[1]);
        int64_t nm = semseg_numel(out[1].rank, out[1].dims);
        for (int64_t i = 0; i < nm; i++) ref_store_f64(out[1].dtype, mask, i, 1.0);
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_identity = {
    /* .domain   = */ "",
    /* .op       = */ "Identity",
    /* .supports = */ identity_supports,
    /* .create   = */ identity_create,
    /* .run      = */ identity_run,
    /* .destroy  = */ NULL,
};

const ref_op ref_op_dropout = {
    /* .domain   = */ "",
    /* .op       = */ "Dropout",
    /* .supports = */ identity_supports,
    /* .create   = */ identity_create,
    /* .run      = */ identity_run,
    /* .destroy  = */ NULL,
};
