/*
 * ConvTranspose (ONNX, 2-D, NCHW) on OpenCL.
 *
 * X[N, C, H, W], W[C, OC/group, KH, KW] -> Y[N, OC, OH, OW]; every input pixel
 * scatters X * W into Y at (iy*sh - pad_top + ky*dh, ix*sw - pad_left + kx*dw).
 * The output dims come from shape inference (they already account for
 * output_padding and output_shape); only the leading pads matter here:
 * explicit `pads`, or, when output_shape or auto_pad SAME_* asks for it, the
 * ONNX rule total = s*(in-1) + output_padding + (k-1)*d + 1 - out with the
 * begin pad total/2 for SAME_UPPER and total - total/2 otherwise.
 * Weights and bias must be load-time constants. The runtime's fused
 * epilogue (Relu/Clip, residual) is applied in the output pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"

typedef struct convt_state {
    ocl_ctx *ctx;
    char name[128];
    cl_kernel k;
    cl_mem w, b, start;
    int N, C, H, W, OC, OH, OW, Cg, OCg;
    int kh, kw, sh, sw, dh, dw, pt, pl;
    int act, residual;
    float lo, hi;
    /* convt_dw_rows or convt_ph_s* (conv_transpose.cl); kernel columns
     * per stride along W */
    int dwrows, phase, tx;
} convt_state;

static int attr_pair(const semseg_node_info *n, const char *name, int def, int *a, int *b)
{
    const int64_t *v;
    int64_t cnt = semseg_attr_ints(n, name, &v);
    *a = *b = def;
    if (cnt < 0) return 1;
    if (cnt != 2) return 0;
    *a = (int)v[0];
    *b = (int)v[1];
    return 1;
}

/* Leading pad of one axis (see the top comment); -1 when unusable. */
static int begin_pad(const semseg_node_info *n, int axis, int in, int out, int k, int s, int d)
{
    const char *ap = semseg_attr_string(n, "auto_pad", "NOTSET");
    const int64_t *v;
    int has_oshape = semseg_attr_ints(n, "output_shape", &v) >= 0;
    if (strcmp(ap, "VALID") == 0) return 0;
    if (strcmp(ap, "NOTSET") == 0 && !has_oshape) {
        int64_t cnt = semseg_attr_ints(n, "pads", &v);
        if (cnt < 0) return 0;
        return cnt == 4 ? (int)v[axis] : -1;
    }
    int op = 0;
    int64_t cnt = semseg_attr_ints(n, "output_padding", &v);
    if (cnt == 2) op = (int)v[axis];
    int total = s * (in - 1) + op + (k - 1) * d + 1 - out;
    if (total < 0) return -1;
    return strcmp(ap, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
}

static const semseg_epilogue *usable_epilogue(const semseg_node_info *n)
{
    const semseg_epilogue *e = n->epilogue;
    if (!e || (e->act != SEMSEG_ACT_NONE && e->act != SEMSEG_ACT_RELU && e->act != SEMSEG_ACT_CLIP &&
        e->act != SEMSEG_ACT_HARDSWISH))
        return NULL;
    if (e->residual >= 0) {
        if (e->residual >= n->n_inputs) return NULL;
        const semseg_value_info *r = &n->inputs[e->residual];
        if (r->dtype != SEMSEG_DTYPE_FLOAT ||
            semseg_numel(r->rank, r->dims) != semseg_numel(n->outputs[0].rank, n->outputs[0].dims))
            return NULL;
    }
    return e;
}

/* Reads everything create needs into s; 0 if the node is not ours. */
static int convt_read(const semseg_node_info *n, convt_state *s)
{
    if (n->n_inputs < 2 || !ocl_all_float(n, 3)) return 0;
    const semseg_value_info *x = &n->inputs[0], *w = &n->inputs[1], *y = &n->outputs[0];
    if (x->rank != 4 || w->rank != 4 || y->rank != 4 || !w->data) return 0;
    if (semseg_input_present(n, 2) && (!n->inputs[2].data || n->inputs[2].rank != 1 ||
                                       n->inputs[2].dims[0] != y->dims[1]))
        return 0;
    int g = (int)semseg_attr_int(n, "group", 1);
    s->N = (int)x->dims[0];
    s->C = (int)x->dims[1];
    s->H = (int)x->dims[2];
    s->W = (int)x->dims[3];
    s->OC = (int)y->dims[1];
    s->OH = (int)y->dims[2];
    s->OW = (int)y->dims[3];
    if (g < 1 || s->C % g || w->dims[0] != s->C || w->dims[1] * g != s->OC) return 0;
    s->Cg = s->C / g;
    s->OCg = (int)w->dims[1];
    if (!attr_pair(n, "kernel_shape", 0, &s->kh, &s->kw) || !attr_pair(n, "strides", 1, &s->sh, &s->sw) ||
        !attr_pair(n, "dilations", 1, &s->dh, &s->dw))
        return 0;
    if ((s->kh && s->kh != w->dims[2]) || (s->kw && s->kw != w->dims[3])) return 0;
    s->kh = (int)w->dims[2];
    s->kw = (int)w->dims[3];
    if (s->sh < 1 || s->sw < 1 || s->dh < 1 || s->dw < 1) return 0;
    s->pt = begin_pad(n, 0, s->H, s->OH, s->kh, s->sh, s->dh);
    s->pl = begin_pad(n, 1, s->W, s->OW, s->kw, s->sw, s->dw);
    return s->pt >= 0 && s->pl >= 0;
}

static semseg_support convt_supports(const ocl_ctx *c, const semseg_node_info *n)
{
    (void)c;
    convt_state s;
    if (!convt_read(n, &s)) return SEMSEG_SUPPORT_NO;
    return usable_epilogue(n) ? SEMSEG_SUPPORT_FUSED : SEMSEG_SUPPORT_YES;
}

static void convt_destroy(void *state)
{
    convt_state *s = state;
    if (!s) return;
    if (s->k) clReleaseKernel(s->k);
    if (s->w) clReleaseMemObject(s->w);
    if (s->b) clReleaseMemObject(s->b);
    if (s->start) clReleaseMemObject(s->start);
    free(s);
}

/* Per output row then column, (t mod s, t / s) with t = o + pad: the first
 * kernel tap that can reach o and the input index it reads (dilation 1). */
static cl_int *start_table(const convt_state *s)
{
    cl_int *t = malloc(2 * (size_t)(s->OH + s->OW) * sizeof *t);
    if (!t) return NULL;
    for (int o = 0; o < s->OH; o++) {
        t[2 * o] = (o + s->pt) % s->sh;
        t[2 * o + 1] = (o + s->pt) / s->sh;
    }
    for (int o = 0; o < s->OW; o++) {
        t[2 * (s->OH + o)] = (o + s->pl) % s->sw;
        t[2 * (s->OH + o) + 1] = (o + s->pl) / s->sw;
    }
    return t;
}

/* convt_dw_rows and convt_ph_s*: weights [C = G*Cg][OCg][KH][KW] ->
 * [OC][Cg][KH][TX*SW] with TX = ceil(KW/SW) and zeros past KW, so that
 * the SW kernel columns r + j*SW (r < SW) of a tap j are consecutive. */
static semseg_status phase_create(ocl_ctx *c, const semseg_node_info *n, convt_state *s, char *err)
{
    static const char *const ph[] = {NULL, "convt_ph_s1", "convt_ph_s2", NULL, "convt_ph_s4",
                                     NULL, NULL, NULL, "convt_ph_s8"};
    s->tx = (s->kw + s->sw - 1) / s->sw;
    size_t row = (size_t)s->tx * s->sw, per = (size_t)s->Cg * s->kh * row, nw = (size_t)s->OC * per;
    float *pw = calloc(nw, sizeof *pw), *pb = calloc((size_t)s->OC, sizeof *pb);
    if (!pw || !pb) {
        free(pw);
        free(pb);
        return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    }
    const float *w = n->inputs[1].data;
    for (size_t oc = 0; oc < (size_t)s->OC; oc++) {
        size_t g = oc / s->OCg, m = oc % s->OCg;
        for (size_t ci = 0; ci < (size_t)s->Cg; ci++)
            for (size_t ky = 0; ky < (size_t)s->kh; ky++)
                memcpy(pw + oc * per + (ci * s->kh + ky) * row,
                       w + (((g * s->Cg + ci) * s->OCg + m) * s->kh + ky) * s->kw,
                       (size_t)s->kw * sizeof *pw);
    }
    if (semseg_input_present(n, 2)) memcpy(pb, n->inputs[2].data, (size_t)s->OC * sizeof *pb);
    semseg_status st = ocl_upload(c, pw, nw * sizeof *pw, &s->w, s->name, err);
    if (!st) st = ocl_upload(c, pb, (size_t)s->OC * sizeof *pb, &s->b, s->name, err);
    free(pw);
    free(pb);
    const char *kn = s->dwrows ? "convt_dw_rows" : ph[s->sw];
    if (!st) st = ocl_kernel(c, OCL_PROG_CONV_TRANSPOSE, kn, &s->k, err);
    return st;
}

static semseg_status convt_create(ocl_ctx *c, const semseg_node_info *n, void **state, char *err)
{
    convt_state *s = calloc(1, sizeof *s);
    if (!s) return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    *state = s;
    s->ctx = c;
    snprintf(s->name, sizeof s->name, "%s", n->name);
    if (!convt_read(n, s))
        return ocl_fail(err, SEMSEG_STATUS_UNSUPPORTED,
                        "opencl: node %s: ConvTranspose attributes not supported", n->name);
    const semseg_epilogue *e = usable_epilogue(n);
    s->act = e ? e->act : SEMSEG_ACT_NONE;
    s->lo = e ? e->act_min : 0.0f;
    s->hi = e ? e->act_max : 0.0f;
    s->residual = e ? e->residual : -1;

    int dil1 = s->dh == 1 && s->dw == 1;
    s->dwrows = dil1 && s->Cg == 1 && s->OCg == 1 && s->sw % 8 == 0;
    s->phase = dil1 && !s->dwrows && (s->sw == 1 || s->sw == 2 || s->sw == 4 || s->sw == 8);
    if (s->dwrows || s->phase) return phase_create(c, n, s, err);
    /* [C = G*Cg][OCg][KH][KW] -> [G][OCg][KH][KW][Cg] */
    size_t kk = (size_t)s->kh * s->kw, G = (size_t)(s->C / s->Cg);
    size_t nw = (size_t)s->C * s->OCg * kk;
    float *pw = malloc(nw * sizeof *pw), *pb = calloc((size_t)s->OC, sizeof *pb);
    if (!pw || !pb) {
        free(pw);
        free(pb);
        return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    }
    const float *w = n->inputs[1].data;
    for (size_t g = 0; g < G; g++)
        for (int ci = 0; ci < s->Cg; ci++)
            for (int m = 0; m < s->OCg; m++)
                for (size_t t = 0; t < kk; t++)
                    pw[((g * s->OCg + m) * kk + t) * s->Cg + ci] =
                        w[(((g * s->Cg + ci) * s->OCg) + m) * kk + t];
    if (semseg_input_present(n, 2)) memcpy(pb, n->inputs[2].data, (size_t)s->OC * sizeof *pb);
    cl_int *tab = start_table(s);
    semseg_status st = tab ? SEMSEG_STATUS_OK
                           : ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    if (!st) st = ocl_upload(c, pw, nw * sizeof *pw, &s->w, s->name, err);
    if (!st) st = ocl_upload(c, pb, (size_t)s->OC * sizeof *pb, &s->b, s->name, err);
    if (!st)
        st = ocl_upload(c, tab, 2 * (size_t)(s->OH + s->OW) * sizeof *tab, &s->start, s->name, err);
    free(tab);
    free(pw);
    free(pb);
    if (!st) st = ocl_kernel(c, OCL_PROG_CONV_TRANSPOSE, "conv_transpose2d", &s->k, err);
    return st;
}

static semseg_status convt_run(void *state, const semseg_tensor *in, int32_t n_in,
                               const semseg_tensor *out, int32_t n_out, char *err)
{
    convt_state *s = state;
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
    ocl_args a = {s->k, 0, CL_SUCCESS};
    ocl_arg_tensor(&a, &in[0]);
    OCL_ARG(&a, s->w);
    OCL_ARG(&a, s->b);
    ocl_arg_tensor(&a, res);
    ocl_arg_tensor(&a, &out[0]);
    if (s->dwrows || s->phase) {
        int v[] = {s->C, s->H, s->W, s->OC, s->OH, s->OW, s->Cg, s->OCg, s->kh, s->sh, s->tx,
                   s->pt, s->pl, s->act};
        int dv[] = {s->C, s->H, s->W, s->OH, s->OW, s->kh, s->sh, s->sw, s->tx, s->pt, s->pl, s->act};
        if (s->dwrows)
            for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++) OCL_ARG(&a, dv[i]);
        else
            for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) OCL_ARG(&a, v[i]);
        OCL_ARG(&a, s->lo);
        OCL_ARG(&a, s->hi);
        OCL_ARG(&a, has_res);
        if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
        return ocl_launch_heavy(s->ctx, s->k, (size_t)s->OH, (size_t)s->N * s->OC, 1, s->name, err);
    }
    OCL_ARG(&a, s->start);
    int v[] = {s->N, s->C, s->H, s->W, s->OC, s->OH, s->OW, s->Cg, s->OCg, s->kh, s->kw,
               s->sh, s->sw, s->dh, s->dw, s->pt, s->pl, s->act};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) OCL_ARG(&a, v[i]);
    OCL_ARG(&a, s->lo);
    OCL_ARG(&a, s->hi);
    OCL_ARG(&a, has_res);
    if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
    return ocl_launch3(s->ctx, s->k, (size_t)s->OW, (size_t)s->OH, (size_t)s->OC, s->name, err);
}

const ocl_op ocl_ops_conv_transpose[] = {
    {"", "ConvTranspose", convt_supports, convt_create, convt_run, convt_destroy,
     (1u << 1) | (1u << 2)},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
