/*
 * Add, Sub, Mul, Div: C = A op B with numpy (multidirectional) broadcasting.
 * A and B share one dtype: float, double, int8, uint8, int16, int32, int64.
 *
 * Integers wrap on overflow (computed in unsigned 64-bit, as numpy does).
 * Integer Div truncates toward zero, which is what ONNX's reference gives
 * (np.divide then astype) and what ONNX Runtime does. Division by zero is
 * undefined for integers in ONNX; here it yields 0 rather than a trap, and
 * INT_MIN / -1 wraps to INT_MIN.
 */
#include <string.h>

#include "ref.h"
#include "ref_tensor_util.h"

typedef enum bin_kind { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV } bin_kind;

typedef struct bin_state {
    bin_kind kind;
} bin_state;

static const struct {
    const char *op;
    bin_kind kind;
} bin_table[] = {
    { "Add", BIN_ADD }, { "Sub", BIN_SUB }, { "Mul", BIN_MUL }, { "Div", BIN_DIV },
};

static int bin_dtype_ok(int32_t dt)
{
    switch (dt) {
    case SEMSEG_DTYPE_FLOAT: case SEMSEG_DTYPE_DOUBLE: case SEMSEG_DTYPE_INT8:
    case SEMSEG_DTYPE_UINT8: case SEMSEG_DTYPE_INT16: case SEMSEG_DTYPE_INT32:
    case SEMSEG_DTYPE_INT64:
        return 1;
    default:
        return 0;
    }
}

static int bin_supports(const semseg_node_info *n)
{
    return n->n_inputs == 2 && n->n_outputs == 1 &&
           bin_dtype_ok(n->inputs[0].dtype) && n->inputs[1].dtype == n->inputs[0].dtype &&
           n->outputs[0].dtype == n->inputs[0].dtype;
}

static semseg_status bin_create(const semseg_node_info *n, void **state, char *err)
{
    if (!bin_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: %s needs two inputs of one "
                        "dtype (float, double, int8/16/32/64, uint8)", n->name, n->op);
    bin_state *s = malloc(sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "node %s: out of memory", n->name);
    s->kind = BIN_ADD;
    for (size_t i = 0; i < sizeof bin_table / sizeof bin_table[0]; i++)
        if (strcmp(n->op, bin_table[i].op) == 0) s->kind = bin_table[i].kind;
    *state = s;
    return SEMSEG_STATUS_OK;
}

static double bin_float(bin_kind k, double a, double b)
{
    switch (k) {
    case BIN_ADD: return a + b;
    case BIN_SUB: return a - b;
    case BIN_MUL: return a * b;
    default: return a / b;
    }
}

static int64_t bin_int(bin_kind k, int64_t a, int64_t b)
{
    switch (k) {
    case BIN_ADD: return (int64_t)((uint64_t)a + (uint64_t)b);
    case BIN_SUB: return (int64_t)((uint64_t)a - (uint64_t)b);
    case BIN_MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
    default:
        if (b == 0) return 0;
        if (b == -1) return (int64_t)(0u - (uint64_t)a);
        return a / b;
    }
}

/* float gets its own loop: it is the one that matters for speed, and float
 * arithmetic must not go through double (a*b rounds differently). */
static void bin_run_f32(bin_kind k, ref_bcast *bc, const float *a, const float *b, float *c)
{
    const int64_t sa = bc->step[0], sb = bc->step[1], len = bc->row_len;
    for (int64_t r = 0; r < bc->rows; r++, c += len, ref_bcast_next_row(bc)) {
        const float *x = a + bc->off[0], *y = b + bc->off[1];
        switch (k) {
        case BIN_ADD: for (int64_t j = 0; j < len; j++) c[j] = x[j * sa] + y[j * sb]; break;
        case BIN_SUB: for (int64_t j = 0; j < len; j++) c[j] = x[j * sa] - y[j * sb]; break;
        case BIN_MUL: for (int64_t j = 0; j < len; j++) c[j] = x[j * sa] * y[j * sb]; break;
        case BIN_DIV: for (int64_t j = 0; j < len; j++) c[j] = x[j * sa] / y[j * sb]; break;
        }
    }
}

static semseg_status bin_run(void *state, const semseg_tensor *in, int32_t n_in,
                             const semseg_tensor *out, int32_t n_out, char *err)
{
    const bin_state *s = state;
    (void)n_in; (void)n_out;
    ref_bcast bc;
    const int32_t ranks[2] = { in[0].rank, in[1].rank };
    const int64_t *dims[2] = { in[0].dims, in[1].dims };
    if (ref_bcast_init(&bc, out[0].rank, out[0].dims, 2, ranks, dims) != 0)
        return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "binary op: input dims do not "
                        "broadcast to the output dims");
    const void *a = semseg_tensor_data(&in[0]), *b = semseg_tensor_data(&in[1]);
    void *c = semseg_tensor_data(&out[0]);
    int32_t dt = out[0].dtype;
    if (dt == SEMSEG_DTYPE_FLOAT) {
        bin_run_f32(s->kind, &bc, a, b, c);
        return SEMSEG_STATUS_OK;
    }
    const int64_t sa = bc.step[0], sb = bc.step[1], len = bc.row_len;
    for (int64_t r = 0, o = 0; r < bc.rows; r++, o += len, ref_bcast_next_row(&bc)) {
        for (int64_t j = 0; j < len; j++) {
            int64_t ia = bc.off[0] + j * sa, ib = bc.off[1] + j * sb;
            if (dt == SEMSEG_DTYPE_DOUBLE)
                ((double *)c)[o + j] = bin_float(s->kind, ((const double *)a)[ia],
                                                 ((const double *)b)[ib]);
            else
                ref_store_i64(dt, c, o + j, bin_int(s->kind, ref_load_i64(dt, a, ia),
                                                    ref_load_i64(dt, b, ib)));
        }
    }
    return SEMSEG_STATUS_OK;
}

#define BIN_OP(NAME, OPNAME) \
    const ref_op NAME = { \
        /* .domain   = */ "", \
        /* .op       = */ OPNAME, \
        /* .supports = */ bin_supports, \
        /* .create   = */ bin_create, \
        /* .run      = */ bin_run, \
        /* .destroy  = */ NULL, \
    };

BIN_OP(ref_op_add, "Add")
BIN_OP(ref_op_sub, "Sub")
BIN_OP(ref_op_mul, "Mul")
BIN_OP(ref_op_div, "Div")
