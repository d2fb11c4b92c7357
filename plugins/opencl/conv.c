/*
 * Conv (ONNX, 2-D, NCHW) on OpenCL.
 *
 * Y[n, g*OCg+o, oy, ox] = B[g*OCg+o] + sum over ci < Cg, ky, kx of
 *     X[n, g*Cg+ci, oy*sh - pad_top + ky*dh, ox*sw - pad_left + kx*dw] * W[g*OCg+o, ci, ky, kx]
 * with out-of-range input positions reading 0. Groups, dilations, strides,
 * explicit pads and auto_pad (SAME_UPPER/SAME_LOWER/VALID) are all taken;
 * the output dims come from shape inference. The weights and bias must be
 * load-time constants: they are packed here, once, into 16-channel blocks (see
 * conv.cl). The runtime's fused epilogue y = act(conv + residual) with act
 * Relu or Clip is applied in the same pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"

typedef struct conv_state {
    ocl_ctx *ctx;
    char name[128];
    cl_kernel k;
    cl_mem w, b;
    int depthwise, pointwise;
    int N, C, H, W, OC, OH, OW, G, Cg, OCg, OCB;
    ocl_window win;
    int act, residual;
    float lo, hi;
} conv_state;

/* Epilogue we can apply, or NULL to ignore the proposal. */
static const semseg_epilogue *usable_epilogue(const semseg_node_info *n)
{
    const semseg_epilogue *e = n->epilogue;
    if (!e) return NULL;
    if (e->act != SEMSEG_ACT_NONE && e->act != SEMSEG_ACT_RELU && e->act != SEMSEG_ACT_CLIP)
        return NULL;
    if (e->residual >= 0) {
        if (e->residual >= n->n_inputs) return NULL;
        const semseg_value_info *r = &n->inputs[e->residual], *y = &n->outputs[0];
        if (r->dtype != SEMSEG_DTYPE_FLOAT || r->rank != y->rank) return NULL;
        for (int i = 0; i < r->rank; i++)
            if (r->dims[i] != y->dims[i]) return NULL;
    }
    return e;
}

static semseg_support conv_supports(const ocl_ctx *c, const semseg_node_info *n)
{
    (void)c;
    if (n->n_inputs < 2 || !ocl_all_float(n, 3)) return SEMSEG_SUPPORT_NO;
    const semseg_value_info *x = &n->inputs[0], *w = &n->inputs[1];
    if (x->rank != 4 || w->rank != 4 || !w->data) return SEMSEG_SUPPORT_NO;
    if (semseg_input_present(n, 2) && (!n->inputs[2].data || n->inputs[2].rank != 1 ||
                                       n->inputs[2].dims[0] != w->dims[0]))
        return SEMSEG_SUPPORT_NO;
    int64_t g = semseg_attr_int(n, "group", 1);
    ocl_window win;
    if (g < 1 || x->dims[1] % g || w->dims[0] % g || w->dims[1] * g != x->dims[1] ||
        !ocl_window_read(n, (int)w->dims[2], (int)w->dims[3], &win) ||
        win.kh != w->dims[2] || win.kw != w->dims[3])
        return SEMSEG_SUPPORT_NO;
    return usable_epilogue(n) ? SEMSEG_SUPPORT_FUSED : SEMSEG_SUPPORT_YES;
}

/* [OC][Cg][KH][KW] -> [G][OCB][Cg][KH][KW][16], channels past OCg zero. */
static float *pack_weights(const conv_state *s, const float *w)
{
    size_t kk = (size_t)s->win.kh * s->win.kw, per = (size_t)s->Cg * kk;
    size_t total = (size_t)s->G * s->OCB * per * 16;
    float *p = calloc(total, sizeof *p);
    if (!p) return NULL;
    for (int g = 0; g < s->G; g++)
        for (int o = 0; o < s->OCg; o++) {
            const float *src = w + ((size_t)g * s->OCg + o) * per;
            float *dst = p + ((size_t)g * s->OCB + o / 16) * per * 16 + o % 16;
            for (size_t i = 0; i < per; i++) dst[i * 16] = src[i];
        }
    return p;
}

static float *pack_bias(const conv_state *s, const float *b)
{
    float *p = calloc((size_t)s->G * s->OCB * 16, sizeof *p);
    if (!p || !b) return p;
    for (int g = 0; g < s->G; g++)
        for (int o = 0; o < s->OCg; o++)
            p[((size_t)g * s->OCB + o / 16) * 16 + o % 16] = b[(size_t)g * s->OCg + o];
    return p;
}

static void conv_destroy(void *state)
{
    conv_state *s = state;
    if (!s) return;
    if (s->k) clReleaseKernel(s->k);
    if (s->w) clReleaseMemObject(s->w);
    if (s->b) clReleaseMemObject(s->b);
    free(s);
}

static semseg_status conv_create(ocl_ctx *c, const semseg_node_info *n, void **state, char *err)
{
    conv_state *s = calloc(1, sizeof *s);
    if (!s) return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    *state = s;
    s->ctx = c;
    snprintf(s->name, sizeof s->name, "%s", n->name);
    const int64_t *xd = n->inputs[0].dims, *wd = n->inputs[1].dims, *yd = n->outputs[0].dims;
    s->N = (int)xd[0];
    s->C = (int)xd[1];
    s->H = (int)xd[2];
    s->W = (int)xd[3];
    s->OC = (int)yd[1];
    s->OH = (int)yd[2];
    s->OW = (int)yd[3];
    s->G = (int)semseg_attr_int(n, "group", 1);
    s->Cg = (int)wd[1];
    s->OCg = (int)wd[0] / s->G;
    s->OCB = (s->OCg + 15) / 16;
    if (!ocl_window_read(n, (int)wd[2], (int)wd[3], &s->win) || s->OC != (int)wd[0])
        return ocl_fail(err, SEMSEG_STATUS_UNSUPPORTED, "opencl: node %s: Conv attributes not supported",
                        n->name);
    const semseg_epilogue *e = usable_epilogue(n);
    s->act = e ? e->act : SEMSEG_ACT_NONE;
    s->lo = e ? e->act_min : 0.0f;
    s->hi = e ? e->act_max : 0.0f;
    s->residual = e ? e->residual : -1;
    s->depthwise = s->Cg == 1 && s->OCg == 1;
    const ocl_window *win = &s->win;
    s->pointwise = win->kh == 1 && win->kw == 1 && win->sh == 1 && win->sw == 1 && win->pt == 0 &&
                   win->pl == 0 && win->pb == 0 && win->pr == 0;

    const float *bias = semseg_input_present(n, 2) ? n->inputs[2].data : NULL;
    semseg_status st;
    char what[200];
    snprintf(what, sizeof what, "node %s weights", n->name);
    if (s->depthwise) {
        size_t nw = (size_t)s->OC * s->win.kh * s->win.kw;
        float *zero = bias ? NULL : calloc((size_t)s->OC, sizeof *zero);
        if (!bias && !zero)
            return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
        st = ocl_upload(c, n->inputs[1].data, nw * sizeof(float), &s->w, what, err);
        if (!st) st = ocl_upload(c, bias ? bias : zero, (size_t)s->OC * sizeof(float), &s->b, what, err);
        free(zero);
        if (!st) st = ocl_kernel(c, OCL_PROG_CONV, "dwconv2d", &s->k, err);
        return st;
    }
    float *pw = pack_weights(s, n->inputs[1].data), *pb = pack_bias(s, bias);
    if (!pw || !pb) {
        free(pw);
        free(pb);
        return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory packing weights",
                        n->name);
    }
    size_t per = (size_t)s->Cg * s->win.kh * s->win.kw;
    st = ocl_upload(c, pw, (size_t)s->G * s->OCB * per * 16 * sizeof(float), &s->w, what, err);
    if (!st) st = ocl_upload(c, pb, (size_t)s->G * s->OCB * 16 * sizeof(float), &s->b, what, err);
    free(pw);
    free(pb);
    if (!st) st = ocl_kernel(c, OCL_PROG_CONV, s->pointwise ? "conv2d_1x1" : "conv2d", &s->k, err);
    return st;
}

static semseg_status conv_run(void *state, const semseg_tensor *in, int32_t n_in,
                              const semseg_tensor *out, int32_t n_out, char *err)
{
    conv_state *s = state;
    (void)n_out;
    const semseg_tensor *res = &out[0];
    cl_int has_res = 0;
    if (s->residual >= 0) {
        if (s->residual >= n_in || in[s->residual].host)
            return ocl_fail(err, SEMSEG_STATUS_INTERNAL, "opencl: node %s: residual input %d missing",
                            s->name, s->residual);
        res = &in[s->residual];
        has_res = 1;
    }
    const ocl_window *w = &s->win;
    ocl_args a = {s->k, 0, CL_SUCCESS};
    ocl_arg_tensor(&a, &in[0]);
    OCL_ARG(&a, s->w);
    OCL_ARG(&a, s->b);
    ocl_arg_tensor(&a, res);
    ocl_arg_tensor(&a, &out[0]);
    /* Input channels per chunk: a chunk's weights, CK*KH*KW*16 floats, fill
     * about 32 KB (see conv.cl). */
    cl_int ck = 8192 / (w->kh * w->kw * 16);
    if (ck < 1) ck = 1;
    size_t items, planes = (size_t)s->N * s->G * s->OCB;
    if (s->depthwise) {
        int v[] = {s->C, s->H, s->W, s->OH, s->OW,
                   w->kh, w->kw, w->sh, w->sw, w->dh, w->dw, w->pt, w->pl, s->act};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) OCL_ARG(&a, v[i]);
        items = (size_t)s->OH * ((s->OW + 3) / 4);
        planes = (size_t)s->N * s->C;
    } else if (s->pointwise) {
        int v[] = {s->C, s->H * s->W, s->OC, s->G, s->Cg, s->OCg, s->OCB, s->act};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) OCL_ARG(&a, v[i]);
        items = ((size_t)s->H * s->W + 95) / 96;
    } else {
        int v[] = {s->C, s->H, s->W, s->OC, s->OH, s->OW, s->G, s->Cg, s->OCg, s->OCB,
                   w->kh, w->kw, w->sh, w->sw, w->dh, w->dw, w->pt, w->pl, s->act};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) OCL_ARG(&a, v[i]);
        items = (size_t)s->OH;
    }
    OCL_ARG(&a, s->lo);
    OCL_ARG(&a, s->hi);
    OCL_ARG(&a, has_res);
    if (!s->depthwise) OCL_ARG(&a, ck);
    if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
    return ocl_launch2(s->ctx, s->k, items, planes, s->name, err);
}

const ocl_op ocl_ops_conv[] = {
    {"", "Conv", conv_supports, conv_create, conv_run, conv_destroy, (1u << 1) | (1u << 2)},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
