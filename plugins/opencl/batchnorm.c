/*
 * BatchNormalization (inference) on OpenCL, for the nodes the runtime did not
 * fold into a preceding Conv: y = (x - mean) / sqrt(var + epsilon) * scale + B
 * per channel (axis 1). The four parameter inputs must be load-time constants;
 * they become one multiplier and one offset per channel here. training_mode=1
 * and the pre-opset-9 spatial=0 form are refused (ref takes them).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ocl.h"

typedef struct bn_state {
    ocl_ctx *ctx;
    char name[128];
    cl_kernel k;
    cl_mem a, b;
    cl_int C, inner, n;
} bn_state;

static void bn_destroy(void *state)
{
    bn_state *s = state;
    if (!s) return;
    if (s->k) clReleaseKernel(s->k);
    if (s->a) clReleaseMemObject(s->a);
    if (s->b) clReleaseMemObject(s->b);
    free(s);
}

static semseg_support bn_supports(const ocl_ctx *c, const semseg_node_info *n)
{
    (void)c;
    if (n->n_inputs != 5 || !ocl_all_float(n, 5) || n->inputs[0].rank < 2)
        return SEMSEG_SUPPORT_NO;
    for (int i = 1; i < n->n_outputs; i++)
        if (n->outputs[i].dtype != SEMSEG_DTYPE_UNDEFINED) return SEMSEG_SUPPORT_NO;
    if (semseg_attr_int(n, "training_mode", 0) != 0 || semseg_attr_int(n, "spatial", 1) != 1)
        return SEMSEG_SUPPORT_NO;
    int64_t C = n->inputs[0].dims[1];
    for (int i = 1; i < 5; i++) {
        const semseg_value_info *v = &n->inputs[i];
        if (!v->data || semseg_numel(v->rank, v->dims) != C) return SEMSEG_SUPPORT_NO;
    }
    return SEMSEG_SUPPORT_YES;
}

static semseg_status bn_create(ocl_ctx *c, const semseg_node_info *n, void **state, char *err)
{
    bn_state *s = calloc(1, sizeof *s);
    if (!s) return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    *state = s;
    s->ctx = c;
    snprintf(s->name, sizeof s->name, "%s", n->name);
    const semseg_value_info *x = &n->inputs[0];
    s->C = (cl_int)x->dims[1];
    s->n = (cl_int)semseg_numel(x->rank, x->dims);
    int64_t nc = x->dims[0] * x->dims[1];
    s->inner = (cl_int)(nc ? s->n / nc : 1);
    const float *scale = n->inputs[1].data, *bias = n->inputs[2].data,
                *mean = n->inputs[3].data, *var = n->inputs[4].data;
    double eps = semseg_attr_float(n, "epsilon", 1e-5f);
    float *ab = malloc(2 * (size_t)s->C * sizeof *ab);
    if (!ab) return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    for (int i = 0; i < s->C; i++) {
        double m = scale[i] / sqrt((double)var[i] + eps);
        ab[i] = (float)m;
        ab[s->C + i] = (float)(bias[i] - mean[i] * m);
    }
    semseg_status st = ocl_upload(c, ab, (size_t)s->C * sizeof *ab, &s->a, s->name, err);
    if (!st) st = ocl_upload(c, ab + s->C, (size_t)s->C * sizeof *ab, &s->b, s->name, err);
    free(ab);
    if (!st) st = ocl_kernel(c, OCL_PROG_BATCHNORM, "scale_shift", &s->k, err);
    return st;
}

static semseg_status bn_run(void *state, const semseg_tensor *in, int32_t n_in,
                            const semseg_tensor *out, int32_t n_out, char *err)
{
    bn_state *s = state;
    (void)n_in;
    (void)n_out;
    ocl_args a = {s->k, 0, CL_SUCCESS};
    ocl_arg_tensor(&a, &in[0]);
    OCL_ARG(&a, s->a);
    OCL_ARG(&a, s->b);
    ocl_arg_tensor(&a, &out[0]);
    OCL_ARG(&a, s->C);
    OCL_ARG(&a, s->inner);
    if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
    size_t batch = s->C && s->inner ? (size_t)s->n / ((size_t)s->C * s->inner) : 0;
    return ocl_launch3(s->ctx, s->k, (size_t)s->inner, (size_t)s->C, batch, s->name, err);
}

const ocl_op ocl_ops_batchnorm[] = {
    {"", "BatchNormalization", bn_supports, bn_create, bn_run, bn_destroy, 0x1Eu},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
