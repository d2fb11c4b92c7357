/*
 * Cast: converts to the dtype in attribute `to`, between float, double,
 * float16, bool and the 8/16/32/64-bit integers. Rules, numpy-like:
 *   integer -> integer wraps (two's complement), exact for int64;
 *   float -> float rounds to nearest even (float16 included, in one step);
 *   float -> integer truncates toward zero, saturating at the type's range,
 *     NaN -> 0 (C and ONNX leave these undefined);
 *   anything -> bool is (x != 0); bool -> number is 0 or 1.
 * Strings, bfloat16, float8 and 4-bit types are refused in supports().
 * (`saturate`, opset 19, only concerns float8.)
 */
#include "ref.h"
#include "ref_tensor_util.h"

static int cast_dtype_ok(int32_t dt)
{
    return ref_dtype_is_float(dt) || ref_dtype_is_integer(dt);
}

static int cast_supports(const semseg_node_info *n)
{
    return n->n_inputs == 1 && n->n_outputs == 1 && cast_dtype_ok(n->inputs[0].dtype) &&
           cast_dtype_ok(n->outputs[0].dtype) &&
           n->outputs[0].dtype == semseg_attr_int(n, "to", -1);
}

static semseg_status cast_create(const semseg_node_info *n, void **state, char *err)
{
    (void)state;
    if (!cast_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: Cast from dtype %d to %d is "
                        "not supported", n->name, n->n_inputs > 0 ? n->inputs[0].dtype : 0,
                        (int)semseg_attr_int(n, "to", 0));
    return SEMSEG_STATUS_OK;
}

static semseg_status cast_run(void *state, const semseg_tensor *in, int32_t n_in,
                              const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)state; (void)n_in; (void)n_out; (void)err;
    int32_t from = in[0].dtype, to = out[0].dtype;
    int64_t n = semseg_numel(in[0].rank, in[0].dims);
    const void *x = semseg_tensor_data(&in[0]);
    void *y = semseg_tensor_data(&out[0]);
    if (from == to) {
        ref_copy_bytes(y, x, (size_t)n * semseg_dtype_size(from));
    } else if (from == SEMSEG_DTYPE_FLOAT && to == SEMSEG_DTYPE_DOUBLE) {
        for (int64_t i = 0; i < n; i++) ((double *)y)[i] = ((const float *)x)[i];
    } else if (ref_dtype_is_float(from)) {
        /* double holds every float/float16 exactly, so this rounds once. */
        for (int64_t i = 0; i < n; i++) ref_store_f64(to, y, i, ref_load_f64(from, x, i));
    } else if (from == SEMSEG_DTYPE_UINT64 && ref_dtype_is_float(to)) {
        for (int64_t i = 0; i < n; i++) ref_store_f64(to, y, i, ref_load_f64(from, x, i));
    } else if (to == SEMSEG_DTYPE_FLOAT) {
        /* int64 -> float directly: going through double could round twice. */
        for (int64_t i = 0; i < n; i++) ((float *)y)[i] = (float)ref_load_i64(from, x, i);
    } else {
        for (int64_t i = 0; i < n; i++) ref_store_i64(to, y, i, ref_load_i64(from, x, i));
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_cast = {
    /* .domain   = */ "",
    /* .op       = */ "Cast",
    /* .supports = */ cast_supports,
    /* .create   = */ cast_create,
    /* .run      = */ cast_run,
    /* .destroy  = */ NULL,
};
