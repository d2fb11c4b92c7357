/*
 * Edge cases of the tensor / element-wise ops that the ONNX-layout cases
 * cannot express: errors (bad shapes, indices out of range, values only
 * known at run time), kernels run in place, Shape on a tensor without a
 * buffer, integer division by zero, saturating casts, and what supports()
 * refuses. Shape inference is called through the runtime's op table
 * (libsemseg, static), kernels through the built ref plugin's ABI (dlopen).
 * Every expected value here is worked out by hand from the ONNX spec.
 *
 * Usage: test_ref_tensor_edges PATH/semseg-ref.so
 */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "opdef.h"
#include "semseg/plugin.h"

static int failures;

#define CHECK(cond, ...) do { \
        if (!(cond)) { \
            failures++; \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__); \
            fputc('\n', stderr); \
        } \
    } while (0)

/* ---- building node infos ---- */

typedef struct tnode {
    semseg_node_info info;
    semseg_value_info in[5], out[2];
    semseg_attr attrs[4];
} tnode;

static void tnode_init(tnode *t, const char *op, int opset, int n_in, int n_out)
{
    memset(t, 0, sizeof *t);
    t->info.name = op;
    t->info.domain = "";
    t->info.op = op;
    t->info.opset = opset;
    t->info.n_inputs = n_in;
    t->info.inputs = t->in;
    t->info.n_outputs = n_out;
    t->info.outputs = t->out;
    t->info.attrs = t->attrs;
    for (int i = 0; i < 5; i++) t->in[i].name = "";
    for (int i = 0; i < 2; i++) t->out[i].name = "";
}

static void set_value(semseg_value_info *v, const char *name, int dtype, int rank,
                      const int64_t *dims, const void *data)
{
    v->name = name;
    v->dtype = dtype;
    v->rank = rank;
    v->dims = dims;
    v->data = data;
}

static void add_int_attr(tnode *t, const char *name, int64_t value)
{
    semseg_attr *a = &t->attrs[t->info.n_attrs++];
    a->name = name;
    a->type = SEMSEG_ATTR_INT;
    a->i = value;
}

static void add_ints_attr(tnode *t, const char *name, const int64_t *v, int64_t n)
{
    semseg_attr *a = &t->attrs[t->info.n_attrs++];
    a->name = name;
    a->type = SEMSEG_ATTR_INTS;
    a->ints = v;
    a->n = n;
}

static semseg_status infer(const tnode *t, opdef_out *out, char *err)
{
    const opdef *d = opdef_find("", t->info.op);
    if (!d) return SEMSEG_STATUS_INTERNAL;
    err[0] = '\0';
    return d->infer(&t->info, out, err);
}

/* ---- shape inference ---- */

static void test_infer(void)
{
    char err[SEMSEG_ERRMSG_SIZE];
    opdef_out out[2];
    tnode t;
    const int64_t x_dims[4] = { 2, 3, 4, 5 };

    /* Reshape whose shape is not a constant: says which input it needed. */
    const int64_t shape_dims[1] = { 2 };
    tnode_init(&t, "Reshape", 14, 2, 1);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 4, x_dims, NULL);
    set_value(&t.in[1], "s", SEMSEG_DTYPE_INT64, 1, shape_dims, NULL);
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_UNSUPPORTED, "Reshape with run-time shape");
    CHECK(strstr(err, "run-time values of input 1 (shape)") != NULL, "message: %s", err);

    /* Two -1 entries, and a 0 beyond the input's rank. */
    const int64_t two_minus[2] = { -1, -1 };
    t.in[1].data = two_minus;
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_MODEL, "two -1 entries");
    const int64_t zero_far[5] = { 2, 3, 4, 5, 0 };
    const int64_t five[1] = { 5 };
    set_value(&t.in[1], "s", SEMSEG_DTYPE_INT64, 1, five, zero_far);
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_MODEL, "0 beyond the input rank");
    /* ... which allowzero makes a literal 0: 120 elements cannot become 0. */
    add_int_attr(&t, "allowzero", 1);
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_MODEL, "allowzero with a 0 and 120 elements");

    /* Squeeze of a dim that is not 1. */
    const int64_t ax1[1] = { 1 };
    tnode_init(&t, "Squeeze", 11, 1, 1);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 4, x_dims, NULL);
    add_ints_attr(&t, "axes", ax1, 1);
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_MODEL, "squeeze a dim of 3");

    /* Unsqueeze past the rank limit. */
    const int64_t many[5] = { 0, 1, 2, 3, 4 };
    tnode_init(&t, "Unsqueeze", 11, 1, 1);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 4, x_dims, NULL);
    add_ints_attr(&t, "axes", many, 5);
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_UNSUPPORTED, "rank 9");

    /* Concat with a mismatched dim off the axis. */
    const int64_t y_dims[4] = { 2, 3, 9, 5 };
    tnode_init(&t, "Concat", 13, 2, 1);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 4, x_dims, NULL);
    set_value(&t.in[1], "y", SEMSEG_DTYPE_FLOAT, 4, y_dims, NULL);
    add_int_attr(&t, "axis", 1);
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_MODEL, "concat dims differ off the axis");
    t.attrs[0].i = -2; /* now the axis is the one that differs: 4 + 9 */
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_OK && out[0].rank == 4 && out[0].dims[2] == 13,
          "concat on axis -2: %s", err);

    /* Split parts that do not add up; Split 18 with num_outputs 2 of 5 -> 3, 2. */
    const int64_t d5[1] = { 5 };
    tnode_init(&t, "Split", 11, 1, 2);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 1, d5, NULL);
    const int64_t parts[2] = { 1, 3 };
    add_ints_attr(&t, "split", parts, 2);
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_MODEL, "split parts 1+3 of 5");
    tnode_init(&t, "Split", 18, 1, 2);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 1, d5, NULL);
    add_int_attr(&t, "num_outputs", 2);
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_OK && out[0].dims[0] == 3 && out[1].dims[0] == 2,
          "split 5 in 2: %s", err);

    /* Binary ops: dtypes must agree, dims must broadcast. */
    const int64_t b_dims[1] = { 4 };
    tnode_init(&t, "Add", 14, 2, 1);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 4, x_dims, NULL);
    set_value(&t.in[1], "b", SEMSEG_DTYPE_FLOAT, 1, b_dims, NULL);
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_MODEL, "5 vs 4 do not broadcast");
    t.in[1].dtype = SEMSEG_DTYPE_INT64;
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_MODEL, "float + int64");

    /* Slice with INT64 extremes and a negative step: the whole axis, reversed. */
    const int64_t one[1] = { 1 };
    const int64_t st[1] = { INT64_MAX }, en[1] = { INT64_MIN }, ax[1] = { -1 }, sp[1] = { -2 };
    tnode_init(&t, "Slice", 13, 5, 1);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 4, x_dims, NULL);
    set_value(&t.in[1], "starts", SEMSEG_DTYPE_INT64, 1, one, st);
    set_value(&t.in[2], "ends", SEMSEG_DTYPE_INT64, 1, one, en);
    set_value(&t.in[3], "axes", SEMSEG_DTYPE_INT64, 1, one, ax);
    set_value(&t.in[4], "steps", SEMSEG_DTYPE_INT64, 1, one, sp);
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_OK && out[0].dims[3] == 3, /* 4, 2, 0 */
          "slice [max:min:-2] of 5 -> 3, got %lld (%s)", (long long)out[0].dims[3], err);
    const int64_t zero_step[1] = { 0 };
    t.in[4].data = zero_step;
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_MODEL, "step 0");

    /* Shape needs no data; Pad with pads that crop below zero is refused. */
    tnode_init(&t, "Shape", 15, 1, 1);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 4, x_dims, NULL);
    add_int_attr(&t, "start", -3);
    add_int_attr(&t, "end", -1);
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_OK && out[0].dtype == SEMSEG_DTYPE_INT64 &&
          out[0].rank == 1 && out[0].dims[0] == 2, "Shape[-3:-1] of rank 4");
    const int64_t pad_dims[1] = { 8 };
    const int64_t pads[8] = { 0, 0, 0, -3, 0, 0, 0, -3 };
    tnode_init(&t, "Pad", 13, 2, 1);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 4, x_dims, NULL);
    set_value(&t.in[1], "pads", SEMSEG_DTYPE_INT64, 1, pad_dims, pads);
    CHECK(infer(&t, out, err) == SEMSEG_STATUS_MODEL, "pads crop 5 by 6");
}

/* ---- kernels through the plugin ABI ---- */

typedef struct plug {
    const semseg_plugin_i *api;
    void *ctx;
} plug;

/* Creates and runs one kernel; returns the run status (or the create one). */
static semseg_status run_node(plug *p, const semseg_node_info *n, const semseg_tensor *in,
                              const semseg_tensor *out, char *err)
{
    semseg_kernel *k = NULL;
    size_t scratch = 0;
    err[0] = '\0';
    semseg_status st = p->api->kernel_create(p->ctx, n, &k, &scratch, err);
    if (st != SEMSEG_STATUS_OK) return st;
    st = p->api->kernel_run(k, in, n->n_inputs, out, n->n_outputs, NULL, err);
    p->api->kernel_destroy(k);
    return st;
}

static semseg_tensor tensor(void *data, int dtype, int rank, const int64_t *dims)
{
    semseg_tensor t = { data, 0, dtype, rank, dims, 1 };
    return t;
}

static void test_kernels(plug *p)
{
    char err[SEMSEG_ERRMSG_SIZE];
    tnode t;

    /* Add in place with the second input broadcast per channel: [2,3] + [2,1]. */
    const int64_t a_dims[2] = { 2, 3 }, b_dims[2] = { 2, 1 };
    float a[6] = { 1, 2, 3, 4, 5, 6 }, b[2] = { 10, 20 };
    tnode_init(&t, "Add", 14, 2, 1);
    set_value(&t.in[0], "a", SEMSEG_DTYPE_FLOAT, 2, a_dims, NULL);
    set_value(&t.in[1], "b", SEMSEG_DTYPE_FLOAT, 2, b_dims, NULL);
    set_value(&t.out[0], "y", SEMSEG_DTYPE_FLOAT, 2, a_dims, NULL);
    semseg_tensor ins[2] = { tensor(a, SEMSEG_DTYPE_FLOAT, 2, a_dims),
                             tensor(b, SEMSEG_DTYPE_FLOAT, 2, b_dims) };
    semseg_tensor outs[2] = { tensor(a, SEMSEG_DTYPE_FLOAT, 2, a_dims) };
    CHECK(run_node(p, &t.info, ins, outs, err) == SEMSEG_STATUS_OK, "add: %s", err);
    const float want_add[6] = { 11, 12, 13, 24, 25, 26 };
    CHECK(memcmp(a, want_add, sizeof a) == 0, "in-place add gave %g %g %g %g %g %g",
          a[0], a[1], a[2], a[3], a[4], a[5]);

    /* Integer Div: truncation toward zero, x/0 -> 0, INT64_MIN / -1 wraps. */
    const int64_t d4[1] = { 4 };
    int64_t num[4] = { -7, 7, 5, INT64_MIN }, den[4] = { 2, -2, 0, -1 }, q[4];
    tnode_init(&t, "Div", 14, 2, 1);
    set_value(&t.in[0], "a", SEMSEG_DTYPE_INT64, 1, d4, NULL);
    set_value(&t.in[1], "b", SEMSEG_DTYPE_INT64, 1, d4, NULL);
    set_value(&t.out[0], "y", SEMSEG_DTYPE_INT64, 1, d4, NULL);
    ins[0] = tensor(num, SEMSEG_DTYPE_INT64, 1, d4);
    ins[1] = tensor(den, SEMSEG_DTYPE_INT64, 1, d4);
    outs[0] = tensor(q, SEMSEG_DTYPE_INT64, 1, d4);
    CHECK(run_node(p, &t.info, ins, outs, err) == SEMSEG_STATUS_OK, "div: %s", err);
    CHECK(q[0] == -3 && q[1] == -3 && q[2] == 0 && q[3] == INT64_MIN, "int div gave %lld %lld %lld %lld",
          (long long)q[0], (long long)q[1], (long long)q[2], (long long)q[3]);

    /* Cast float -> int8 saturates, truncates, and maps NaN to 0; -> float16 rounds to even. */
    float f[4] = { 300.0f, -1000.0f, -2.7f, NAN };
    int8_t i8[4];
    tnode_init(&t, "Cast", 13, 1, 1);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 1, d4, NULL);
    set_value(&t.out[0], "y", SEMSEG_DTYPE_INT8, 1, d4, NULL);
    add_int_attr(&t, "to", SEMSEG_DTYPE_INT8);
    ins[0] = tensor(f, SEMSEG_DTYPE_FLOAT, 1, d4);
    outs[0] = tensor(i8, SEMSEG_DTYPE_INT8, 1, d4);
    CHECK(run_node(p, &t.info, ins, outs, err) == SEMSEG_STATUS_OK, "cast: %s", err);
    CHECK(i8[0] == 127 && i8[1] == -128 && i8[2] == -2 && i8[3] == 0, "cast to int8 gave %d %d %d %d",
          i8[0], i8[1], i8[2], i8[3]);
    /* 2049 is halfway between float16 2048 and 2050: even mantissa -> 2048 (0x6800);
     * 65520 rounds to infinity (0x7c00); 2^-25 is halfway to the smallest subnormal -> 0. */
    float h_in[4] = { 2049.0f, 65520.0f, 0x1p-25f, -0.0f };
    uint16_t h[4];
    t.attrs[0].i = SEMSEG_DTYPE_FLOAT16;
    t.out[0].dtype = SEMSEG_DTYPE_FLOAT16;
    ins[0] = tensor(h_in, SEMSEG_DTYPE_FLOAT, 1, d4);
    outs[0] = tensor(h, SEMSEG_DTYPE_FLOAT16, 1, d4);
    CHECK(run_node(p, &t.info, ins, outs, err) == SEMSEG_STATUS_OK, "cast f16: %s", err);
    CHECK(h[0] == 0x6800 && h[1] == 0x7c00 && h[2] == 0x0000 && h[3] == 0x8000,
          "cast to float16 gave %04x %04x %04x %04x", h[0], h[1], h[2], h[3]);

    /* Gather with an index out of range is a run-time error, not a wild read. */
    const int64_t d3[1] = { 3 }, d1[1] = { 1 };
    float g_data[3] = { 1, 2, 3 }, g_out[1];
    int64_t g_idx[1] = { -4 };
    tnode_init(&t, "Gather", 13, 2, 1);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 1, d3, NULL);
    set_value(&t.in[1], "i", SEMSEG_DTYPE_INT64, 1, d1, NULL);
    set_value(&t.out[0], "y", SEMSEG_DTYPE_FLOAT, 1, d1, NULL);
    ins[0] = tensor(g_data, SEMSEG_DTYPE_FLOAT, 1, d3);
    ins[1] = tensor(g_idx, SEMSEG_DTYPE_INT64, 1, d1);
    outs[0] = tensor(g_out, SEMSEG_DTYPE_FLOAT, 1, d1);
    CHECK(run_node(p, &t.info, ins, outs, err) == SEMSEG_STATUS_INVALID_ARGUMENT,
          "gather index -4 of 3");
    CHECK(strstr(err, "-4") != NULL, "gather message: %s", err);
    g_idx[0] = -3;
    CHECK(run_node(p, &t.info, ins, outs, err) == SEMSEG_STATUS_OK && g_out[0] == 1.0f,
          "gather index -3 of 3");

    /* Shape reads dims only: the input may have no buffer. */
    const int64_t x_dims[4] = { 1, 21, 7, 9 }, s_dims[1] = { 2 };
    int64_t s_out[2] = { 0, 0 };
    tnode_init(&t, "Shape", 15, 1, 1);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 4, x_dims, NULL);
    set_value(&t.out[0], "y", SEMSEG_DTYPE_INT64, 1, s_dims, NULL);
    add_int_attr(&t, "start", 2);
    ins[0] = tensor(NULL, SEMSEG_DTYPE_FLOAT, 4, x_dims);
    outs[0] = tensor(s_out, SEMSEG_DTYPE_INT64, 1, s_dims);
    CHECK(run_node(p, &t.info, ins, outs, err) == SEMSEG_STATUS_OK && s_out[0] == 7 && s_out[1] == 9,
          "shape[2:] gave %lld %lld (%s)", (long long)s_out[0], (long long)s_out[1], err);

    /* supports(): strings, bfloat16 casts and training-mode Dropout are refused. */
    tnode_init(&t, "Identity", 13, 1, 1);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_STRING, 1, d3, NULL);
    set_value(&t.out[0], "y", SEMSEG_DTYPE_STRING, 1, d3, NULL);
    CHECK(p->api->supports(p->ctx, &t.info) == SEMSEG_SUPPORT_NO, "Identity of strings");
    tnode_init(&t, "Cast", 13, 1, 1);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 1, d3, NULL);
    set_value(&t.out[0], "y", 16 /* BFLOAT16 */, 1, d3, NULL);
    add_int_attr(&t, "to", 16);
    CHECK(p->api->supports(p->ctx, &t.info) == SEMSEG_SUPPORT_NO, "Cast to bfloat16");
    const uint8_t yes = 1;
    const float ratio = 0.5f;
    const int64_t scalar[1] = { 0 };
    tnode_init(&t, "Dropout", 13, 3, 1);
    set_value(&t.in[0], "x", SEMSEG_DTYPE_FLOAT, 1, d3, NULL);
    set_value(&t.in[1], "r", SEMSEG_DTYPE_FLOAT, 0, scalar, &ratio);
    set_value(&t.in[2], "t", SEMSEG_DTYPE_BOOL, 0, scalar, &yes);
    set_value(&t.out[0], "y", SEMSEG_DTYPE_FLOAT, 1, d3, NULL);
    CHECK(p->api->supports(p->ctx, &t.info) == SEMSEG_SUPPORT_NO, "Dropout in training mode");
    const uint8_t no = 0;
    t.in[2].data = &no;
    CHECK(p->api->supports(p->ctx, &t.info) != SEMSEG_SUPPORT_NO, "Dropout not training");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_ref_tensor_edges PATH/semseg-ref.so\n");
        return 2;
    }
    test_infer();

    void *so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        fprintf(stderr, "%s\n", dlerror());
        return 2;
    }
    semseg_plugin_entry_fn entry;
    *(void **)&entry = dlsym(so, SEMSEG_PLUGIN_ENTRY);
    if (!entry) {
        fprintf(stderr, "%s: no %s\n", argv[1], SEMSEG_PLUGIN_ENTRY);
        return 2;
    }
    plug p = { entry(), NULL };
    semseg_plugin_config cfg = { sizeof cfg, 1, argv[1] };
    char err[SEMSEG_ERRMSG_SIZE] = "";
    if (p.api->init(&cfg, &p.ctx, err) != SEMSEG_STATUS_OK) {
        fprintf(stderr, "init: %s\n", err);
        return 2;
    }
    test_kernels(&p);
    p.api->shutdown(p.ctx);
    dlclose(so);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
