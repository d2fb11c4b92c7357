/*
 * Element-wise activations: Relu, LeakyRelu (alpha 0.01), Sigmoid,
 * HardSigmoid (alpha 0.2, beta 0.5: max(0, min(1, alpha*x + beta))),
 * HardSwish (x * HardSigmoid(x) with alpha 1/6, beta 0.5), Tanh, Clip.
 *
 * All take float. Clip and Relu also take the other numeric dtypes (ONNX
 * allows them and int8 Clip is in the conformance tests); those go through a
 * slower generic loop. Clip's bounds are attributes min/max before opset 11
 * and optional scalar inputs from 11 on; an absent bound is no bound. As in
 * numpy, min > max gives max everywhere. Output 0 may alias input 0.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "ref.h"
#include "ref_tensor_util.h"

typedef enum un_kind {
    UN_RELU, UN_LEAKY_RELU, UN_SIGMOID, UN_HARD_SIGMOID, UN_HARD_SWISH, UN_TANH, UN_CLIP
} un_kind;

typedef struct un_state {
    un_kind kind;
    float alpha, beta;
    /* Clip: bounds from attributes (opset < 11), or which inputs carry them. */
    int attr_bounds;
    float min_attr, max_attr;
    int has_min_input, has_max_input;
} un_state;

static const struct {
    const char *op;
    un_kind kind;
    float alpha, beta; /* attribute defaults */
} un_table[] = {
    { "Relu", UN_RELU, 0, 0 },
    { "LeakyRelu", UN_LEAKY_RELU, 0.01f, 0 },
    { "Sigmoid", UN_SIGMOID, 0, 0 },
    { "HardSigmoid", UN_HARD_SIGMOID, 0.2f, 0.5f },
    { "HardSwish", UN_HARD_SWISH, 1.0f / 6.0f, 0.5f },
    { "Tanh", UN_TANH, 0, 0 },
    { "Clip", UN_CLIP, 0, 0 },
};

static int un_find(const char *op)
{
    for (size_t i = 0; i < sizeof un_table / sizeof un_table[0]; i++)
        if (strcmp(op, un_table[i].op) == 0) return (int)i;
    return -1;
}

static int un_supports(const semseg_node_info *n)
{
    int i = un_find(n->op);
    if (i < 0 || n->n_inputs < 1 || n->n_outputs != 1) return 0;
    int32_t dt = n->inputs[0].dtype;
    if (n->outputs[0].dtype != dt) return 0;
    if (dt == SEMSEG_DTYPE_FLOAT) return 1;
    if (un_table[i].kind != UN_CLIP && un_table[i].kind != UN_RELU) return 0;
    if (dt == SEMSEG_DTYPE_BOOL || dt == SEMSEG_DTYPE_FLOAT16) return 0;
    return ref_dtype_is_float(dt) || ref_dtype_is_integer(dt);
}

static semseg_status un_create(const semseg_node_info *n, void **state, char *err)
{
    int i = un_find(n->op);
    if (i < 0 || !un_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: %s does not take dtype %d",
                        n->name, n->op, n->n_inputs > 0 ? n->inputs[0].dtype : 0);
    un_state *s = calloc(1, sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "node %s: out of memory", n->name);
    s->kind = un_table[i].kind;
    s->alpha = semseg_attr_float(n, "alpha", un_table[i].alpha);
    s->beta = semseg_attr_float(n, "beta", un_table[i].beta);
    if (s->kind == UN_HARD_SWISH) { /* HardSwish has no attributes */
        s->alpha = un_table[i].alpha;
        s->beta = un_table[i].beta;
    }
    if (s->kind == UN_CLIP) {
        s->attr_bounds = n->opset < 11;
        s->min_attr = semseg_attr_float(n, "min", -FLT_MAX);
        s->max_attr = semseg_attr_float(n, "max", FLT_MAX);
        s->has_min_input = !s->attr_bounds && semseg_input_present(n, 1);
        s->has_max_input = !s->attr_bounds && semseg_input_present(n, 2);
    }
    *state = s;
    return SEMSEG_STATUS_OK;
}

static float un_f32(const un_state *s, float x, float lo, float hi)
{
    switch (s->kind) {
    case UN_RELU: return x > 0 ? x : 0;
    case UN_LEAKY_RELU: return x < 0 ? s->alpha * x : x;
    case UN_SIGMOID:
        /* Split by sign so exp() never overflows. */
        if (x >= 0) return 1.0f / (1.0f + expf(-x));
        else { float e = expf(x); return e / (1.0f + e); }
    case UN_HARD_SIGMOID: return fmaxf(0.0f, fminf(1.0f, s->alpha * x + s->beta));
    case UN_HARD_SWISH: return x * fmaxf(0.0f, fminf(1.0f, s->alpha * x + s->beta));
    case UN_TANH: return tanhf(x);
    case UN_CLIP: {
        float y = x < lo ? lo : x; /* NaN passes through both comparisons */
        return y > hi ? hi : y;
    }
    }
    return x;
}

static semseg_status un_run(void *state, const semseg_tensor *in, int32_t n_in,
                            const semseg_tensor *out, int32_t n_out, char *err)
{
    const un_state *s = state;
    (void)n_out; (void)err;
    int32_t dt = in[0].dtype;
    int64_t n = semseg_numel(in[0].rank, in[0].dims);
    const void *x = semseg_tensor_data(&in[0]);
    void *y = semseg_tensor_data(&out[0]);

    if (dt == SEMSEG_DTYPE_FLOAT) {
        float lo = -INFINITY, hi = INFINITY;
        if (s->kind == UN_CLIP) {
            if (s->attr_bounds) { lo = s->min_attr; hi = s->max_attr; }
            if (s->has_min_input && n_in > 1) lo = *(const float *)semseg_tensor_data(&in[1]);
            if (s->has_max_input && n_in > 2) hi = *(const float *)semseg_tensor_data(&in[2]);
        }
        const float *xf = x;
        float *yf = y;
        for (int64_t i = 0; i < n; i++) yf[i] = un_f32(s, xf[i], lo, hi);
        return SEMSEG_STATUS_OK;
    }

    /* Relu / Clip on the other numeric dtypes. */
    if (ref_dtype_is_float(dt)) {
        double lo = -INFINITY, hi = INFINITY;
        if (s->kind == UN_RELU) lo = 0;
        if (s->has_min_input && n_in > 1) lo = ref_load_f64(dt, semseg_tensor_data(&in[1]), 0);
        if (s->has_max_input && n_in > 2) hi = ref_load_f64(dt, semseg_tensor_data(&in[2]), 0);
        for (int64_t i = 0; i < n; i++) {
            double v = ref_load_f64(dt, x, i);
            v = v < lo ? lo : v;
            ref_store_f64(dt, y, i, v > hi ? hi : v);
        }
    } else {
        int64_t lo = INT64_MIN, hi = INT64_MAX;
        if (s->kind == UN_RELU) lo = 0;
        if (s->has_min_input && n_in > 1) lo = ref_load_i64(dt, semseg_tensor_data(&in[1]), 0);
        if (s->has_max_input && n_in > 2) hi = ref_load_i64(dt, semseg_tensor_data(&in[2]), 0);
        for (int64_t i = 0; i < n; i++) {
            int64_t v = ref_load_i64(dt, x, i);
            v = v < lo ? lo : v;
            ref_store_i64(dt, y, i, v > hi ? hi : v);
        }
    }
    return SEMSEG_STATUS_OK;
}

#define UN_OP(NAME, OPNAME) \
    const ref_op NAME = { \
        /* .domain   = */ "", \
        /* .op       = */ OPNAME, \
        /* .supports = */ un_supports, \
        /* .create   = */ un_create, \
        /* .run      = */ un_run, \
        /* .destroy  = */ NULL, \
    };

UN_OP(ref_op_relu, "Relu")
UN_OP(ref_op_leaky_relu, "LeakyRelu")
UN_OP(ref_op_sigmoid, "Sigmoid")
UN_OP(ref_op_hard_sigmoid, "HardSigmoid")
UN_OP(ref_op_hard_swish, "HardSwish")
UN_OP(ref_op_tanh, "Tanh")
UN_OP(ref_op_clip, "Clip")
