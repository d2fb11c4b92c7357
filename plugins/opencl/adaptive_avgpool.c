/*
 * ai.semseg AdaptiveAvgPool2d on OpenCL: X[N, C, H, W] -> Y[N, C, oh, ow]
 * with output_size = [oh, ow] and PyTorch's bins (see adaptive_avgpool.cl),
 * so PSPNet's pyramid pooling works at input sizes the bins do not divide.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ocl.h"

typedef struct aap_state {
    ocl_ctx *ctx;
    char name[128];
    cl_kernel k;
    cl_int NC, H, W, OH, OW;
} aap_state;

static void aap_destroy(void *state)
{
    aap_state *s = state;
    if (!s) return;
    if (s->k) clReleaseKernel(s->k);
    free(s);
}

static semseg_support aap_supports(const ocl_ctx *c, const semseg_node_info *n)
{
    (void)c;
    if (n->n_inputs != 1 || n->n_outputs != 1 || !ocl_all_float(n, 1) ||
        n->inputs[0].rank != 4 || n->outputs[0].rank != 4 ||
        n->outputs[0].dims[2] < 1 || n->outputs[0].dims[3] < 1)
        return SEMSEG_SUPPORT_NO;
    return SEMSEG_SUPPORT_YES;
}

static semseg_status aap_create(ocl_ctx *c, const semseg_node_info *n, void **state, char *err)
{
    aap_state *s = calloc(1, sizeof *s);
    if (!s) return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    *state = s;
    s->ctx = c;
    snprintf(s->name, sizeof s->name, "%s", n->name);
    const int64_t *xd = n->inputs[0].dims, *yd = n->outputs[0].dims;
    s->NC = (cl_int)(xd[0] * xd[1]);
    s->H = (cl_int)xd[2];
    s->W = (cl_int)xd[3];
    /* The output dims (from output_size) are authoritative. */
    s->OH = (cl_int)yd[2];
    s->OW = (cl_int)yd[3];
    return ocl_kernel(c, OCL_PROG_ADAPTIVE_AVGPOOL, "adaptive_avgpool", &s->k, err);
}

static semseg_status aap_run(void *state, const semseg_tensor *in, int32_t n_in,
                             const semseg_tensor *out, int32_t n_out, char *err)
{
    aap_state *s = state;
    (void)n_in;
    (void)n_out;
    ocl_args a = {s->k, 0, CL_SUCCESS};
    ocl_arg_tensor(&a, &in[0]);
    ocl_arg_tensor(&a, &out[0]);
    OCL_ARG(&a, s->NC);
    OCL_ARG(&a, s->H);
    OCL_ARG(&a, s->W);
    OCL_ARG(&a, s->OH);
    OCL_ARG(&a, s->OW);
    if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
    return ocl_launch3(s->ctx, s->k, (size_t)s->OW, (size_t)s->OH, (size_t)s->NC, s->name, err);
}

const ocl_op ocl_ops_adaptive_avgpool[] = {
    {"ai.semseg", "AdaptiveAvgPool2d", aap_supports, aap_create, aap_run, aap_destroy, 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
