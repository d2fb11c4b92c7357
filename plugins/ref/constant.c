/*
 * Constant and ConstantOfShape.
 *
 * Constant: the output is the node's value, from exactly one attribute:
 * `value` (a tensor), `value_float` / `value_int` (scalars: float, int64),
 * `value_floats` / `value_ints` (1-D). The importer normally folds Constant
 * nodes into values; this kernel exists for graphs built otherwise.
 * (sparse_value and the string forms are refused.)
 *
 * ConstantOfShape(shape: 1-D int64) fills a tensor of that shape with the
 * one element of attribute `value` (default: float 0). An empty shape gives
 * a scalar, a 0 in it an empty tensor.
 */
#include <string.h>

#include "ref.h"
#include "ref_tensor_util.h"

typedef struct const_state {
    int32_t dtype;
    size_t nbytes;
    unsigned char bytes[];    /* the value (Constant) or the fill element (ConstantOfShape) */
} const_state;

/* The value attribute of a Constant as (dtype, count, data); 0 if none fits. */
static int constant_value(const semseg_node_info *n, int32_t *dtype, int64_t *count,
                          const void **data)
{
    for (int32_t i = 0; i < n->n_attrs; i++) {
        const semseg_attr *a = &n->attrs[i];
        if (strcmp(a->name, "value") == 0 && a->type == SEMSEG_ATTR_TENSOR && a->t) {
            *dtype = a->t->dtype;
            *count = semseg_numel(a->t->rank, a->t->dims);
            *data = a->t->data;
            return semseg_dtype_size(*dtype) > 0;
        }
        if (strcmp(a->name, "value_float") == 0 && a->type == SEMSEG_ATTR_FLOAT) {
            *dtype = SEMSEG_DTYPE_FLOAT; *count = 1; *data = &a->f;
            return 1;
        }
        if (strcmp(a->name, "value_int") == 0 && a->type == SEMSEG_ATTR_INT) {
            *dtype = SEMSEG_DTYPE_INT64; *count = 1; *data = &a->i;
            return 1;
        }
        if (strcmp(a->name, "value_floats") == 0 && a->type == SEMSEG_ATTR_FLOATS) {
            *dtype = SEMSEG_DTYPE_FLOAT; *count = a->n; *data = a->floats;
            return 1;
        }
        if (strcmp(a->name, "value_ints") == 0 && a->type == SEMSEG_ATTR_INTS) {
            *dtype = SEMSEG_DTYPE_INT64; *count = a->n; *data = a->ints;
            return 1;
        }
    }
    return 0;
}

static int constant_supports(const semseg_node_info *n)
{
    int32_t dt;
    int64_t count;
    const void *data;
    return n->n_outputs == 1 && constant_value(n, &dt, &count, &data) &&
           n->outputs[0].dtype == dt;
}

static semseg_status const_make(const semseg_node_info *n, int32_t dtype, int64_t count,
                                const void *data, void **state, char *err)
{
    size_t nbytes = (size_t)count * semseg_dtype_size(dtype);
    const_state *s = malloc(sizeof *s + nbytes);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "node %s: out of memory", n->name);
    s->dtype = dtype;
    s->nbytes = nbytes;
    if (nbytes > 0) memcpy(s->bytes, data, nbytes);
    *state = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status constant_create(const semseg_node_info *n, void **state, char *err)
{
    int32_t dt;
    int64_t count;
    const void *data;
    if (!constant_supports(n) || !constant_value(n, &dt, &count, &data))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: Constant needs one numeric "
                        "value attribute (value, value_float(s), value_int(s))", n->name);
    return const_make(n, dt, count, data, state, err);
}

static semseg_status constant_run(void *state, const semseg_tensor *in, int32_t n_in,
                                  const semseg_tensor *out, int32_t n_out, char *err)
{
    const const_state *s = state;
    (void)in; (void)n_in; (void)n_out;
    size_t want = (size_t)semseg_numel(out[0].rank, out[0].dims) * semseg_dtype_size(out[0].dtype);
    if (want != s->nbytes)
        return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Constant: output holds %zu bytes, "
                        "value has %zu", want, s->nbytes);
    if (s->nbytes > 0) memcpy(semseg_tensor_data(&out[0]), s->bytes, s->nbytes);
    return SEMSEG_STATUS_OK;
}

static int cos_supports(const semseg_node_info *n)
{
    const semseg_attr *v = semseg_attr_find(n, "value");
    int32_t dt = SEMSEG_DTYPE_FLOAT;
    if (v) {
        if (v->type != SEMSEG_ATTR_TENSOR || !v->t || semseg_numel(v->t->rank, v->t->dims) != 1)
            return 0;
        dt = v->t->dtype;
    }
    return n->n_inputs == 1 && n->n_outputs == 1 && semseg_dtype_size(dt) > 0 &&
           n->outputs[0].dtype == dt && n->inputs[0].dtype == SEMSEG_DTYPE_INT64;
}

static semseg_status cos_create(const semseg_node_info *n, void **state, char *err)
{
    if (!cos_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: ConstantOfShape needs an int64 "
                        "shape and a one-element numeric value", n->name);
    const semseg_attr *v = semseg_attr_find(n, "value");
    static const float zero = 0.0f;
    if (!v) return const_make(n, SEMSEG_DTYPE_FLOAT, 1, &zero, state, err);
    return const_make(n, v->t->dtype, 1, v->t->data, state, err);
}

static semseg_status cos_run(void *state, const semseg_tensor *in, int32_t n_in,
                             const semseg_tensor *out, int32_t n_out, char *err)
{
    const const_state *s = state;
    (void)in; (void)n_in; (void)n_out; (void)err;
    int64_t n = semseg_numel(out[0].rank, out[0].dims);
    unsigned char *y = n > 0 ? semseg_tensor_data(&out[0]) : NULL;
    for (int64_t i = 0; i < n; i++) memcpy(y + (size_t)i * s->nbytes, s->bytes, s->nbytes);
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_constant = {
    /* .domain   = */ "",
    /* .op       = */ "Constant",
    /* .supports = */ constant_supports,
    /* .create   = */ constant_create,
    /* .run      = */ constant_run,
    /* .destroy  = */ NULL,
};

const ref_op ref_op_constant_of_shape = {
    /* .domain   = */ "",
    /* .op       = */ "ConstantOfShape",
    /* .supports = */ cos_supports,
    /* .create   = */ cos_create,
    /* .run      = */ cos_run,
    /* .destroy  = */ NULL,
};
