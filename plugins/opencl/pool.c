/*
 * Pooling on OpenCL, 2-D NCHW float32.
 *
 * MaxPool: kernel_shape, strides, pads/auto_pad, dilations, ceil_mode (the
 * output dims from shape inference already say how many windows there are);
 * the optional Indices output is refused. AveragePool: the same window, and
 * count_include_pad (see pool.cl for the divisor). GlobalAveragePool and
 * GlobalMaxPool reduce every (n, c) plane of any rank >= 3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"

enum { POOL_MAX, POOL_AVG, POOL_AVG_PAD };

typedef struct pool_state {
    ocl_ctx *ctx;
    char name[128];
    cl_kernel k;
    int global, v8; /* global_pool; pool2d_v8_s* */
    cl_int mode, NC, H, W, OH, OW;
    ocl_window win;
} pool_state;

static void pool_destroy(void *state)
{
    pool_state *s = state;
    if (!s) return;
    if (s->k) clReleaseKernel(s->k);
    free(s);
}

static int is_global(const semseg_node_info *n)
{
    return strncmp(n->op, "Global", 6) == 0;
}

static semseg_support pool_supports(const ocl_ctx *c, const semseg_node_info *n)
{
    (void)c;
    if (n->n_inputs != 1 || n->n_outputs < 1 || n->inputs[0].dtype != SEMSEG_DTYPE_FLOAT ||
        n->outputs[0].dtype != SEMSEG_DTYPE_FLOAT)
        return SEMSEG_SUPPORT_NO;
    if (n->n_outputs > 1 && n->outputs[1].dtype != SEMSEG_DTYPE_UNDEFINED) return SEMSEG_SUPPORT_NO;
    if (is_global(n)) return n->inputs[0].rank >= 3 ? SEMSEG_SUPPORT_YES : SEMSEG_SUPPORT_NO;
    ocl_window w;
    if (!semseg_attr_find(n, "kernel_shape") || !ocl_window_read(n, 0, 0, &w))
        return SEMSEG_SUPPORT_NO;
    return SEMSEG_SUPPORT_YES;
}

static semseg_status pool_create(ocl_ctx *c, const semseg_node_info *n, void **state, char *err)
{
    pool_state *s = calloc(1, sizeof *s);
    if (!s) return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    *state = s;
    s->ctx = c;
    snprintf(s->name, sizeof s->name, "%s", n->name);
    const semseg_value_info *x = &n->inputs[0];
    int max = strstr(n->op, "Max") != NULL;
    s->global = is_global(n);
    s->NC = (cl_int)(x->dims[0] * x->dims[1]);
    if (s->global) {
        s->mode = max ? POOL_MAX : POOL_AVG;
        s->H = (cl_int)(s->NC ? semseg_numel(x->rank, x->dims) / s->NC : 1);
        return ocl_kernel(c, OCL_PROG_POOL, "global_pool", &s->k, err);
    }
    if (!ocl_window_read(n, 0, 0, &s->win))
        return ocl_fail(err, SEMSEG_STATUS_UNSUPPORTED, "opencl: node %s: %s attributes not supported",
                        n->name, n->op);
    s->mode = max ? POOL_MAX
                  : semseg_attr_int(n, "count_include_pad", 0) ? POOL_AVG_PAD : POOL_AVG;
    s->H = (cl_int)x->dims[2];
    s->W = (cl_int)x->dims[3];
    s->OH = (cl_int)n->outputs[0].dims[2];
    s->OW = (cl_int)n->outputs[0].dims[3];
    /* Dilation 1 and a stride of 1 or 2 along W: 8 outputs per work-item. */
    s->v8 = s->win.dw == 1 && (s->win.sw == 1 || s->win.sw == 2);
    const char *kn = !s->v8 ? "pool2d" : s->win.sw == 1 ? "pool2d_v8_s1" : "pool2d_v8_s2";
    return ocl_kernel(c, OCL_PROG_POOL, kn, &s->k, err);
}

static semseg_status pool_run(void *state, const semseg_tensor *in, int32_t n_in,
                              const semseg_tensor *out, int32_t n_out, char *err)
{
    pool_state *s = state;
    (void)n_in;
    (void)n_out;
    ocl_args a = {s->k, 0, CL_SUCCESS};
    ocl_arg_tensor(&a, &in[0]);
    ocl_arg_tensor(&a, &out[0]);
    size_t items;
    if (s->global) {
        OCL_ARG(&a, s->NC);
        OCL_ARG(&a, s->H);
        OCL_ARG(&a, s->mode);
        items = (size_t)s->NC;
    } else {
        const ocl_window *w = &s->win;
        int v[] = {s->NC, s->H, s->W, s->OH, s->OW, w->kh, w->kw, w->sh, w->sw, w->dh, w->dw,
                   w->pt, w->pl, s->mode};
        int v8[] = {s->NC, s->H, s->W, s->OH, s->OW, w->kh, w->kw, w->sh, w->dh,
                    w->pt, w->pl, s->mode};
        if (s->v8)
            for (size_t i = 0; i < sizeof v8 / sizeof v8[0]; i++) OCL_ARG(&a, v8[i]);
        else
            for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) OCL_ARG(&a, v[i]);
        items = s->v8 ? ((size_t)s->OW + 7) / 8 : (size_t)s->OW;
    }
    if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
    if (!s->global)
        return ocl_launch3(s->ctx, s->k, items, (size_t)s->OH, (size_t)s->NC, s->name, err);
    return ocl_launch1(s->ctx, s->k, items, s->name, err);
}

#define POOL(name) {"", name, pool_supports, pool_create, pool_run, pool_destroy, 0}

const ocl_op ocl_ops_pool[] = {
    POOL("MaxPool"), POOL("AveragePool"), POOL("GlobalAveragePool"), POOL("GlobalMaxPool"),
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
