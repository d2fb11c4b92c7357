/*
 * ArgMax on OpenCL: float32 in, int64 indices out along `axis` (negative
 * counts from the end); keepdims only changes the output's dims, which shape
 * inference already fixed; select_last_index picks the last of equal maxima.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ocl.h"

typedef struct argmax_state {
    ocl_ctx *ctx;
    char name[128];
    cl_kernel k;
    cl_int outer, len, inner, last;
} argmax_state;

static void argmax_destroy(void *state)
{
    argmax_state *s = state;
    if (!s) return;
    if (s->k) clReleaseKernel(s->k);
    free(s);
}

static int argmax_axis(const semseg_node_info *n)
{
    int r = n->inputs[0].rank;
    int64_t a = semseg_attr_int(n, "axis", 0);
    if (a < 0) a += r;
    return (a < 0 || a >= r) ? -1 : (int)a;
}

static semseg_support argmax_supports(const ocl_ctx *c, const semseg_node_info *n)
{
    (void)c;
    if (n->n_inputs != 1 || n->n_outputs != 1 || n->inputs[0].dtype != SEMSEG_DTYPE_FLOAT ||
        n->outputs[0].dtype != SEMSEG_DTYPE_INT64 || argmax_axis(n) < 0 ||
        n->inputs[0].dims[argmax_axis(n)] < 1)
        return SEMSEG_SUPPORT_NO;
    return SEMSEG_SUPPORT_YES;
}

static semseg_status argmax_create(ocl_ctx *c, const semseg_node_info *n, void **state, char *err)
{
    argmax_state *s = calloc(1, sizeof *s);
    if (!s) return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    *state = s;
    s->ctx = c;
    snprintf(s->name, sizeof s->name, "%s", n->name);
    const semseg_value_info *x = &n->inputs[0];
    int axis = argmax_axis(n);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= x->dims[i];
    for (int i = axis + 1; i < x->rank; i++) inner *= x->dims[i];
    s->outer = (cl_int)outer;
    s->len = (cl_int)x->dims[axis];
    s->inner = (cl_int)inner;
    s->last = semseg_attr_int(n, "select_last_index", 0) != 0;
    return ocl_kernel(c, OCL_PROG_ARGMAX, "argmax", &s->k, err);
}

static semseg_status argmax_run(void *state, const semseg_tensor *in, int32_t n_in,
                                const semseg_tensor *out, int32_t n_out, char *err)
{
    argmax_state *s = state;
    (void)n_in;
    (void)n_out;
    ocl_args a = {s->k, 0, CL_SUCCESS};
    ocl_arg_tensor(&a, &in[0]);
    ocl_arg_tensor(&a, &out[0]);
    OCL_ARG(&a, s->outer);
    OCL_ARG(&a, s->len);
    OCL_ARG(&a, s->inner);
    OCL_ARG(&a, s->last);
    if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
    return ocl_launch1(s->ctx, s->k, (size_t)s->outer * s->inner, s->name, err);
}

const ocl_op ocl_ops_argmax[] = {
    {"", "ArgMax", argmax_supports, argmax_create, argmax_run, argmax_destroy, 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
