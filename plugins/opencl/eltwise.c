/*
 * Element-wise operators on OpenCL, float32 only (integer arithmetic is shape
 * work and stays on the host).
 *
 * Add, Sub, Mul, Div: numpy (multidirectional) broadcasting. At create the
 * output's dims are walked right to left: dims of extent 1 are dropped and
 * neighbours merged when both inputs step through them contiguously (or both
 * broadcast), so NCHW + [C,1,1] becomes [N, C, H*W] with the second input's
 * strides (0, 1, 0). Anything still above 4 dims is refused.
 *
 * Activations: Relu, LeakyRelu (alpha, default 0.01), Sigmoid, HardSigmoid
 * (alpha 0.2, beta 0.5 by default), HardSwish (x * HardSigmoid with 1/6, 1/2),
 * Clip (opset < 11: attributes min/max; from 11: optional inputs 1 and 2,
 * which must be load-time constants), Tanh.
 */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"

typedef struct eltwise_state {
    ocl_ctx *ctx;
    char name[128];
    cl_kernel k;
    int flat, rows; /* bin_*_flat; bin_*_rr/_rb/_ra (a work-item per row) */
    cl_int op, n;
    cl_int4 dims, sa, sb;
    float alpha, beta;
} eltwise_state;

static void eltwise_destroy(void *state)
{
    eltwise_state *s = state;
    if (!s) return;
    if (s->k) clReleaseKernel(s->k);
    free(s);
}

static eltwise_state *state_new(ocl_ctx *c, const semseg_node_info *n)
{
    eltwise_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->ctx = c;
    snprintf(s->name, sizeof s->name, "%s", n->name);
    s->n = (cl_int)semseg_numel(n->outputs[0].rank, n->outputs[0].dims);
    return s;
}

/* ---- binary ---- */

typedef struct bcast {
    int rank;
    int64_t dims[SEMSEG_MAX_RANK], sa[SEMSEG_MAX_RANK], sb[SEMSEG_MAX_RANK];
} bcast;

/* Strides of v seen from an output of rank r (0 along broadcast dims). */
static void bcast_strides(const semseg_value_info *v, int r, const int64_t *od, int64_t *st)
{
    int64_t step = 1;
    for (int i = r - 1; i >= 0; i--) {
        int j = i - (r - v->rank);
        int64_t d = j >= 0 ? v->dims[j] : 1;
        st[i] = (d == 1 && od[i] != 1) ? 0 : step;
        step *= d;
    }
}

/* Merges dims as described above; 0 if more than 4 remain. */
static int bcast_plan(const semseg_node_info *n, bcast *b)
{
    const semseg_value_info *y = &n->outputs[0];
    int r = y->rank;
    int64_t sa[SEMSEG_MAX_RANK], sb[SEMSEG_MAX_RANK];
    if (n->inputs[0].rank > r || n->inputs[1].rank > r) return 0;
    bcast_strides(&n->inputs[0], r, y->dims, sa);
    bcast_strides(&n->inputs[1], r, y->dims, sb);
    b->rank = 0;
    for (int i = 0; i < r; i++) {
        if (y->dims[i] == 1) continue;
        int k = b->rank;
        if (k > 0 && b->sa[k - 1] == sa[i] * y->dims[i] && b->sb[k - 1] == sb[i] * y->dims[i]) {
            b->dims[k - 1] *= y->dims[i];
            b->sa[k - 1] = sa[i];
            b->sb[k - 1] = sb[i];
            continue;
        }
        b->dims[k] = y->dims[i];
        b->sa[k] = sa[i];
        b->sb[k] = sb[i];
        b->rank++;
    }
    return b->rank <= 4;
}

static semseg_support binary_supports(const ocl_ctx *c, const semseg_node_info *n)
{
    (void)c;
    bcast b;
    if (n->n_inputs != 2 || n->n_outputs != 1 || !ocl_all_float(n, 2)) return SEMSEG_SUPPORT_NO;
    return bcast_plan(n, &b) ? SEMSEG_SUPPORT_YES : SEMSEG_SUPPORT_NO;
}

static semseg_status binary_create(ocl_ctx *c, const semseg_node_info *n, void **state, char *err)
{
    static const char *const names[] = {"Add", "Sub", "Mul", "Div"};
    static const char *const kernels[] = {"bin_add", "bin_sub", "bin_mul", "bin_div"};
    eltwise_state *s = state_new(c, n);
    if (!s) return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    *state = s;
    for (int i = 0; i < 4; i++)
        if (strcmp(n->op, names[i]) == 0) s->op = i;
    bcast b;
    if (!bcast_plan(n, &b))
        return ocl_fail(err, SEMSEG_STATUS_UNSUPPORTED,
                        "opencl: node %s: broadcast needs more than 4 dims", n->name);
    s->flat = b.rank <= 1 && (b.rank == 0 || (b.sa[0] == 1 && b.sb[0] == 1));
    /* Left-pad to 4 dims of extent 1. */
    cl_int *d = &s->dims.s[0], *pa = &s->sa.s[0], *pb = &s->sb.s[0];
    for (int i = 0; i < 4; i++) {
        int j = i - (4 - b.rank);
        d[i] = j >= 0 ? (cl_int)b.dims[j] : 1;
        pa[i] = j >= 0 ? (cl_int)b.sa[j] : 0;
        pb[i] = j >= 0 ? (cl_int)b.sb[j] : 0;
    }
    /* Rows of dim 3 that each input walks contiguously or broadcasts. */
    const char *variant = "";
    if (s->flat) {
        variant = "_flat";
    } else if (s->dims.s[3] >= 8 && (pa[3] == 1 || pb[3] == 1) && pa[3] <= 1 && pb[3] <= 1) {
        s->rows = 1;
        variant = pa[3] == 0 ? "_ra" : pb[3] == 0 ? "_rb" : "_rr";
    }
    char kn[32];
    snprintf(kn, sizeof kn, "%s%s", kernels[s->op], variant);
    return ocl_kernel(c, OCL_PROG_ELTWISE, kn, &s->k, err);
}

static semseg_status binary_run(void *state, const semseg_tensor *in, int32_t n_in,
                                const semseg_tensor *out, int32_t n_out, char *err)
{
    eltwise_state *s = state;
    (void)n_in;
    (void)n_out;
    cl_mem ma = ocl_mem(&in[0]), mb = ocl_mem(&in[1]), my = ocl_mem(&out[0]);
    cl_int ao = ocl_off(&in[0]), bo = ocl_off(&in[1]), yo = ocl_off(&out[0]);
    if (s->flat) {
        ocl_args a = {s->k, 0, CL_SUCCESS};
        OCL_ARG(&a, ma);
        OCL_ARG(&a, ao);
        OCL_ARG(&a, mb);
        OCL_ARG(&a, bo);
        OCL_ARG(&a, my);
        OCL_ARG(&a, yo);
        OCL_ARG(&a, s->n);
        if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
        return ocl_launch1(s->ctx, s->k, (size_t)s->n, s->name, err);
    }
    const cl_int *d = s->dims.s;
    cl_int step = d[1] * d[2] * d[3];
    for (cl_int i0 = 0; i0 < d[0]; i0++) {
        cl_int a0 = ao + i0 * s->sa.s[0], b0 = bo + i0 * s->sb.s[0], y0 = yo + i0 * step;
        ocl_args a = {s->k, 0, CL_SUCCESS};
        OCL_ARG(&a, ma);
        OCL_ARG(&a, a0);
        OCL_ARG(&a, mb);
        OCL_ARG(&a, b0);
        OCL_ARG(&a, my);
        OCL_ARG(&a, y0);
        OCL_ARG(&a, s->dims);
        OCL_ARG(&a, s->sa);
        OCL_ARG(&a, s->sb);
        if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
        semseg_status st = s->rows ? ocl_launch2(s->ctx, s->k, (size_t)d[2], (size_t)d[1], s->name, err)
                                   : ocl_launch3(s->ctx, s->k, (size_t)d[3], (size_t)d[2], (size_t)d[1],
                                                 s->name, err);
        if (st) return st;
    }
    return SEMSEG_STATUS_OK;
}

/* ---- activations ---- */

enum { UN_RELU, UN_LEAKY_RELU, UN_SIGMOID, UN_HARD_SIGMOID, UN_HARD_SWISH, UN_CLIP, UN_TANH };

static const struct {
    const char *op;
    int code;
    const char *kernel;
} unary_ops[] = {
    {"Relu", UN_RELU, "un_relu"}, {"LeakyRelu", UN_LEAKY_RELU, "un_leaky_relu"},
    {"Sigmoid", UN_SIGMOID, "un_sigmoid"}, {"HardSigmoid", UN_HARD_SIGMOID, "un_hard_sigmoid"},
    {"HardSwish", UN_HARD_SWISH, "un_hard_swish"}, {"Clip", UN_CLIP, "un_clip"},
    {"Tanh", UN_TANH, "un_tanh"},
};

/* Clip bound from optional input i (a constant scalar) or def; 0 if unusable. */
static int clip_bound(const semseg_node_info *n, int32_t i, float def, float *v)
{
    *v = def;
    if (!semseg_input_present(n, i)) return 1;
    const semseg_value_info *b = &n->inputs[i];
    if (!b->data || b->dtype != SEMSEG_DTYPE_FLOAT || semseg_numel(b->rank, b->dims) != 1)
        return 0;
    *v = *(const float *)b->data;
    return 1;
}

static semseg_support unary_supports(const ocl_ctx *c, const semseg_node_info *n)
{
    (void)c;
    if (n->n_inputs < 1 || n->n_outputs != 1) return SEMSEG_SUPPORT_NO;
    const semseg_value_info *x = &n->inputs[0], *y = &n->outputs[0];
    if (x->dtype != SEMSEG_DTYPE_FLOAT || y->dtype != SEMSEG_DTYPE_FLOAT ||
        semseg_numel(x->rank, x->dims) != semseg_numel(y->rank, y->dims))
        return SEMSEG_SUPPORT_NO;
    if (strcmp(n->op, "Clip") == 0) {
        float v;
        if (!clip_bound(n, 1, 0, &v) || !clip_bound(n, 2, 0, &v)) return SEMSEG_SUPPORT_NO;
    } else if (n->n_inputs != 1) {
        return SEMSEG_SUPPORT_NO;
    }
    return SEMSEG_SUPPORT_YES;
}

static semseg_status unary_create(ocl_ctx *c, const semseg_node_info *n, void **state, char *err)
{
    eltwise_state *s = state_new(c, n);
    if (!s) return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    *state = s;
    const char *kernel = "un_relu";
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++)
        if (strcmp(n->op, unary_ops[i].op) == 0) {
            s->op = unary_ops[i].code;
            kernel = unary_ops[i].kernel;
        }
    switch (s->op) {
    case UN_LEAKY_RELU:
        s->alpha = semseg_attr_float(n, "alpha", 0.01f);
        break;
    case UN_HARD_SIGMOID:
        s->alpha = semseg_attr_float(n, "alpha", 0.2f);
        s->beta = semseg_attr_float(n, "beta", 0.5f);
        break;
    case UN_CLIP:
        if (n->opset < 11) {
            s->alpha = semseg_attr_float(n, "min", -FLT_MAX);
            s->beta = semseg_attr_float(n, "max", FLT_MAX);
        } else if (!clip_bound(n, 1, -FLT_MAX, &s->alpha) || !clip_bound(n, 2, FLT_MAX, &s->beta)) {
            return ocl_fail(err, SEMSEG_STATUS_UNSUPPORTED,
                            "opencl: node %s: Clip bounds must be constant scalars", n->name);
        }
        break;
    default:
        break;
    }
    return ocl_kernel(c, OCL_PROG_ELTWISE, kernel, &s->k, err);
}

static semseg_status unary_run(void *state, const semseg_tensor *in, int32_t n_in,
                               const semseg_tensor *out, int32_t n_out, char *err)
{
    eltwise_state *s = state;
    (void)n_in;
    (void)n_out;
    ocl_args a = {s->k, 0, CL_SUCCESS};
    ocl_arg_tensor(&a, &in[0]);
    ocl_arg_tensor(&a, &out[0]);
    OCL_ARG(&a, s->n);
    OCL_ARG(&a, s->alpha);
    OCL_ARG(&a, s->beta);
    if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
    return ocl_launch1(s->ctx, s->k, ((size_t)s->n + 7) / 8, s->name, err);
}

#define BINARY(name) {"", name, binary_supports, binary_create, binary_run, eltwise_destroy, 0}
#define UNARY(name) {"", name, unary_supports, unary_create, unary_run, eltwise_destroy, 0x6u}

const ocl_op ocl_ops_eltwise[] = {
    BINARY("Add"), BINARY("Sub"), BINARY("Mul"), BINARY("Div"),
    UNARY("Relu"), UNARY("LeakyRelu"), UNARY("Sigmoid"), UNARY("HardSigmoid"),
    UNARY("HardSwish"), UNARY("Clip"), UNARY("Tanh"),
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
