/*
 * Softmax and LogSoftmax on OpenCL, float32. From opset 13 the op normalises
 * along one axis (default -1): [outer][len][inner] with len = dims[axis].
 * Before 13 the input is coerced to 2-D at axis (default 1) and each row of
 * prod(dims[axis:]) elements is normalised: the same kernel with inner = 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"

typedef struct softmax_state {
    ocl_ctx *ctx;
    char name[128];
    cl_kernel k;
    cl_int outer, len, inner, logsm;
} softmax_state;

static void softmax_destroy(void *state)
{
    softmax_state *s = state;
    if (!s) return;
    if (s->k) clReleaseKernel(s->k);
    free(s);
}

/* [outer][len][inner] for the node's axis semantics; 0 on a bad axis. */
static int softmax_layout(const semseg_node_info *n, int64_t *outer, int64_t *len, int64_t *inner)
{
    const semseg_value_info *x = &n->inputs[0];
    int r = x->rank;
    int64_t a = semseg_attr_int(n, "axis", n->opset >= 13 ? -1 : 1);
    if (a < 0) a += r;
    if (r == 0 || a < 0 || a >= r) return 0;
    *outer = *len = *inner = 1;
    for (int i = 0; i < a; i++) *outer *= x->dims[i];
    if (n->opset >= 13) {
        *len = x->dims[a];
        for (int i = (int)a + 1; i < r; i++) *inner *= x->dims[i];
    } else {
        for (int i = (int)a; i < r; i++) *len *= x->dims[i];
    }
    return 1;
}

static semseg_support softmax_supports(const ocl_ctx *c, const semseg_node_info *n)
{
    (void)c;
    int64_t o, l, i;
    if (n->n_inputs != 1 || n->n_outputs != 1 || !ocl_all_float(n, 1) ||
        !softmax_layout(n, &o, &l, &i))
        return SEMSEG_SUPPORT_NO;
    return SEMSEG_SUPPORT_YES;
}

static semseg_status softmax_create(ocl_ctx *c, const semseg_node_info *n, void **state, char *err)
{
    softmax_state *s = calloc(1, sizeof *s);
    if (!s) return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    *state = s;
    s->ctx = c;
    snprintf(s->name, sizeof s->name, "%s", n->name);
    int64_t o, l, i;
    if (!softmax_layout(n, &o, &l, &i))
        return ocl_fail(err, SEMSEG_STATUS_MODEL, "opencl: node %s: axis out of range", n->name);
    s->outer = (cl_int)o;
    s->len = (cl_int)l;
    s->inner = (cl_int)i;
    s->logsm = strcmp(n->op, "LogSoftmax") == 0;
    return ocl_kernel(c, OCL_PROG_SOFTMAX, "softmax", &s->k, err);
}

static semseg_status softmax_run(void *state, const semseg_tensor *in, int32_t n_in,
                                 const semseg_tensor *out, int32_t n_out, char *err)
{
    softmax_state *s = state;
    (void)n_in;
    (void)n_out;
    ocl_args a = {s->k, 0, CL_SUCCESS};
    ocl_arg_tensor(&a, &in[0]);
    ocl_arg_tensor(&a, &out[0]);
    OCL_ARG(&a, s->outer);
    OCL_ARG(&a, s->len);
    OCL_ARG(&a, s->inner);
    OCL_ARG(&a, s->logsm);
    if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
    return ocl_launch1(s->ctx, s->k, (size_t)s->outer * s->inner, s->name, err);
}

const ocl_op ocl_ops_softmax[] = {
    {"", "Softmax", softmax_supports, softmax_create, softmax_run, softmax_destroy, 0},
    {"", "LogSoftmax", softmax_supports, softmax_create, softmax_run, softmax_destroy, 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
