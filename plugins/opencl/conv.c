/*
 * Conv (ONNX, 2-D, NCHW) on OpenCL.
 *
 * Y[n, g*OCg+o, oy, ox] = B[g*OCg+o] + sum over ci < Cg, ky, kx of
 *     X[n, g*Cg+ci, oy*sh - pad_top + ky*dh, ox*sw - pad_left + kx*dw] * W[g*OCg+o, ci, ky, kx]
 * with out-of-range input positions reading 0. Groups, dilations, strides,
 * explicit pads and auto_pad (SAME_UPPER/SAME_LOWER/VALID) are all taken;
 * the output dims come from shape inference. The weights and bias must be
 * load-time constants: they are packed here, once, for the kernel that runs
 * the node. The runtime's fused epilogue y = act(conv + residual) with act
 * Relu, Clip or HardSwish is applied in the same pass; other activations are
 * not taken (the node runs unfused).
 *
 * The kernel depends on the shape (docs/opencl.md has the measurements):
 *  - depthwise 3x3 and 5x5 with a stride of 1 or 2 along W: dw_tile_*
 *    (conv_dw.cl, host side in conv_tiles.c), a band of rows zero-padded
 *    in local memory; other depthwise windows dwconv2d;
 *  - pointwise (1x1, stride 1, unpadded) of one group with at most 128
 *    input channels, or on a map of at most 16x16: conv1x1_px
 *    (conv_px.cl, conv_tiles.c), straight from NCHW;
 *  - fewer than 8 input channels (RGB stems), one group, a stride of 1 or
 *    2 along W: convk_px_* (conv_px.cl, conv_tiles.c), the same tile over
 *    a band of rows in local memory;
 *  - 3x3, stride 1, one group, at least 256 input channels: Winograd
 *    F(2x2, 3x3) (conv_wino.c), whose products run on the next path;
 *  - 8 or more input channels per group and a stride of 1 or 2 along W:
 *    the run first packs the input into channel-blocked panels in the
 *    node's scratch memory (conv_pack), then convolves from them
 *    (conv2d_cb): the Conv entry of ocl_ops_with_scratch;
 *  - the rest: conv2d, conv2d_1x1 (conv.cl).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"

#define CONV_TW_HOST 6 /* output pixels per tile, CONV_TW in conv.cl */
/* Floats of weights per chunk of input channels: about 32 KB (conv.cl);
 * 16 KB for a 1x1 convolution, whose tile then keeps its chunk's weights
 * and inputs (6 KB) together in a 32 KB L1 (docs/opencl.md). */
#define CONV_CHUNK_FLOATS 8192
#define CONV_CHUNK_FLOATS_1X1 4096

/* Epilogue we can apply, or NULL to ignore the proposal. */
static const semseg_epilogue *usable_epilogue(const semseg_node_info *n)
{
    const semseg_epilogue *e = n->epilogue;
    if (!e) return NULL;
    if (e->act != SEMSEG_ACT_NONE && e->act != SEMSEG_ACT_RELU && e->act != SEMSEG_ACT_CLIP &&
        e->act != SEMSEG_ACT_HARDSWISH)
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

/* Kernel rows [*a, *b) that land inside the input for some output row:
 * with a large dilation on a small map (DeepLabV3's ASPP, rates 12-36 on a
 * 16x16 map) the others only ever multiply padding. */
static void live_taps(int k, int stride, int dil, int pad, int in, int out, int *a, int *b)
{
    *a = 0;
    *b = k;
    while (*a < k && (out - 1) * stride - pad + *a * dil < 0) (*a)++;
    while (*b > *a && (*b - 1) * dil - pad >= in) (*b)--;
    if (*a == *b) { /* nothing live (the output is the bias): keep one tap */
        *a = 0;
        *b = 1;
    }
}

/* Drops the dead kernel rows and columns (live_taps) from the window and
 * returns the weights cut to the live taps, or NULL when all are live (the
 * caller then uses the node's weights) and on out of memory (*oom set). The
 * taps that remain sit at the same input positions, so the result is exact. */
static float *cut_dead_taps(conv_state *s, const float *w, int *oom)
{
    ocl_window *win = &s->win;
    int ya, yb, xa, xb;
    *oom = 0;
    live_taps(win->kh, win->sh, win->dh, win->pt, s->H, s->OH, &ya, &yb);
    live_taps(win->kw, win->sw, win->dw, win->pl, s->W, s->OW, &xa, &xb);
    if (ya == 0 && yb == win->kh && xa == 0 && xb == win->kw) return NULL;
    size_t planes = (size_t)s->OC * s->Cg, kh = (size_t)(yb - ya), kw = (size_t)(xb - xa);
    float *c = malloc(planes * kh * kw * sizeof *c);
    if (!c) {
        *oom = 1;
        return NULL;
    }
    for (size_t p = 0; p < planes; p++)
        for (size_t y = 0; y < kh; y++)
            for (size_t x = 0; x < kw; x++)
                c[(p * kh + y) * kw + x] =
                    w[(p * win->kh + ya + y) * win->kw + xa + x];
    win->pt -= ya * win->dh;
    win->pl -= xa * win->dw;
    win->kh = (int)kh;
    win->kw = (int)kw;
    return c;
}

/* Convolutions with at least this many input channels per group take the
 * channel-blocked path (conv2d_cb); fewer (an RGB stem) would mostly multiply
 * the zero channels of the 8-channel blocks. */
#define CONV_CB_MIN 8

/* [OC][Cg][KH][KW] -> [G][OCB][CB][KH][KW][8][16] for conv2d_cb, input
 * channels past Cg and output channels past OCg zero. */
static float *pack_weights_cb(const conv_state *s, const float *w)
{
    size_t kk = (size_t)s->win.kh * s->win.kw, per = (size_t)s->Cg * kk;
    size_t blk = (size_t)s->CB * kk * 128;
    float *p = calloc((size_t)s->G * s->OCB * blk, sizeof *p);
    if (!p) return NULL;
    for (int g = 0; g < s->G; g++)
        for (int o = 0; o < s->OCg; o++) {
            const float *src = w + ((size_t)g * s->OCg + o) * per;
            float *dst = p + ((size_t)g * s->OCB + o / 16) * blk + o % 16;
            for (int ci = 0; ci < s->Cg; ci++)
                for (size_t t = 0; t < kk; t++)
                    dst[(((size_t)(ci / 8) * kk + t) * 8 + ci % 8) * 16] = src[ci * kk + t];
        }
    return p;
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
    if (s->pack) clReleaseKernel(s->pack);
    ocl_wino_destroy(s->wino);
    if (s->w) clReleaseMemObject(s->w);
    if (s->b) clReleaseMemObject(s->b);
    free(s);
}

static semseg_status conv_upload(ocl_ctx *c, const semseg_node_info *n, conv_state *s,
                                 const float *wdata, char *err);

/* Panel dims of conv2d_cb: the padded input as far as any output reads it
 * (rows and columns only ever read past the bottom/right padding are left
 * out); a pointwise conv is one row of H*W pixels, so no tile is wasted on
 * the end of a short row. */
static void blocked_geometry(conv_state *s)
{
    const ocl_window *w = &s->win;
    s->blocked = 1;
    s->CB = (s->Cg + 7) / 8;
    s->kH = s->H;
    s->kW = s->W;
    s->kOH = s->OH;
    s->kOW = s->OW;
    if (s->pointwise) {
        s->kH = s->kOH = 1;
        s->kW = s->kOW = s->H * s->W;
    }
    s->Hp = (s->kOH - 1) * w->sh + (w->kh - 1) * w->dh + 1;
    s->Wp = (s->kOW - 1) * w->sw + (w->kw - 1) * w->dw + 1;
    /* Channel blocks whose panels lie a multiple of 4 KB apart (1x1 on a
     * 32x32 map: 32 KB) all map to the same L1 sets, and a tile reads one
     * line or three from each of 64 blocks per chunk: two more columns
     * move each block one cache line on. */
    if (((size_t)s->Hp * s->Wp * 8 * sizeof(float)) % 4096 == 0) s->Wp += 2;
    s->CK = (w->kh * w->kw == 1 ? CONV_CHUNK_FLOATS_1X1 : CONV_CHUNK_FLOATS) / (w->kh * w->kw * 128);
    if (s->CK < 1) s->CK = 1;
    s->NT = (s->kOW + CONV_TW_HOST - 1) / CONV_TW_HOST;
    /* The last tile of a row reads up to 5 strides past its end. */
    size_t panels = (size_t)s->N * s->G * s->CB * s->Hp * s->Wp * 8 +
                    (size_t)(CONV_TW_HOST * w->sw + 1) * 8;
    s->panel_floats = (panels + 63) / 64 * 64;
    s->acc_floats = s->CB > s->CK ? (size_t)s->N * s->G * s->OCB * s->kOH * s->NT * 96 : 0;
}

/* Scratch of conv2d_cb: the input panels, then (when the input channels
 * take more than one chunk) the partial sums of every tile between chunks,
 * kept in the kernel's register layout [plane][row][tile][6][16]. */
static size_t conv_scratch_bytes(const void *state)
{
    const conv_state *s = state;
    if (s->wino) return s->wino_scratch;
    return s->blocked ? (s->panel_floats + s->acc_floats) * sizeof(float) : 0;
}

/* Convolutions that run as Winograd F(2x2, 3x3) (conv_wino.c): 3x3 after
 * the dead taps are cut, stride 1, one group, at least CONV_WINO_MIN_C
 * input and CONV_WINO_MIN_OC output channels, and a dilation of at most a
 * quarter of the map (a tile computes all 9 taps, where the direct path
 * skips those in the padding: ASPP's rate 12 on a 32x32 map took twice as
 * long as Winograd). With fewer input channels the transforms and the
 * four passes over V and M cost more than the 2.25x fewer products save
 * (opencl_opbench against the direct path: 128->128 on 64x64 1.1x the
 * time, 256->256 dilation 2 on 32x32 0.9x, 512->512 dilation 4 0.9x,
 * 2048->512 0.66x). */
#define CONV_WINO_MIN_C 256
#define CONV_WINO_MIN_OC 64

static int wino_fits(const conv_state *s)
{
    const ocl_window *w = &s->win;
    if (s->G != 1 || w->kh != 3 || w->kw != 3 || w->sh != 1 || w->sw != 1 ||
        s->C < CONV_WINO_MIN_C || s->OC < CONV_WINO_MIN_OC || 4 * w->dh > s->OH || 4 * w->dw > s->OW)
        return 0;
    /* V and M must stay below 2^31 floats, as every tensor the kernels see. */
    int64_t t = ocl_wino_tiles(s->OH, s->OW, w->dh, w->dw) * 16 * s->N;
    return t * (s->C > s->OC ? s->C : s->OC) < ((int64_t)1 << 31);
}

static semseg_status wino_create(ocl_ctx *c, const semseg_node_info *n, conv_state *s, const float *w,
                                 char *err)
{
    const ocl_window *win = &s->win;
    ocl_wino_geom g = {n->name, s->N, s->C, s->H, s->W, s->OC, s->OH, s->OW,
                       win->dh, win->dw, win->pt, win->pl};
    const float *bias = semseg_input_present(n, 2) ? n->inputs[2].data : NULL;
    return ocl_wino_create(c, &g, w, bias, &s->wino, &s->wino_scratch, err);
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
    int oom;
    float *cut = cut_dead_taps(s, n->inputs[1].data, &oom);
    if (oom)
        return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    const float *wdata = cut ? cut : n->inputs[1].data;
    const ocl_window *win = &s->win;
    /* Also what a dilated conv with only its centre tap live becomes. */
    s->pointwise = win->kh == 1 && win->kw == 1 && win->sh == 1 && win->sw == 1 && win->pt == 0 &&
                   win->pl == 0 && s->OH == s->H && s->OW == s->W;
    if (!s->depthwise && wino_fits(s)) {
        semseg_status st = wino_create(c, n, s, wdata, err);
        free(cut);
        return st;
    }
    int64_t hw = (int64_t)s->H * s->W;
    s->px = s->pointwise && s->G == 1 && hw >= 16 && (s->Cg <= CONV_PX_MAX_C || hw <= CONV_PX_SMALL_MAP);
    if (!s->depthwise && !s->px && s->Cg >= CONV_CB_MIN && (win->sw == 1 || win->sw == 2))
        blocked_geometry(s);
    else if (!s->depthwise && !s->px && s->G == 1 && (win->sw == 1 || win->sw == 2))
        s->pk = conv_pk_geometry(c, s);
    semseg_status st = conv_upload(c, n, s, wdata, err);
    free(cut);
    return st;
}

static semseg_status conv_upload(ocl_ctx *c, const semseg_node_info *n, conv_state *s,
                                 const float *wdata, char *err)
{
    const float *bias = semseg_input_present(n, 2) ? n->inputs[2].data : NULL;
    semseg_status st;
    char what[200];
    snprintf(what, sizeof what, "node %s weights", n->name);
    if (s->depthwise) {
        size_t nw = (size_t)s->OC * s->win.kh * s->win.kw;
        float *zero = bias ? NULL : calloc((size_t)s->OC, sizeof *zero);
        if (!bias && !zero)
            return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
        st = ocl_upload(c, wdata, nw * sizeof(float), &s->w, what, err);
        if (!st) st = ocl_upload(c, bias ? bias : zero, (size_t)s->OC * sizeof(float), &s->b, what, err);
        free(zero);
        /* Square 3x3 and 5x5 with a stride of 1 or 2 along W have tiled,
         * unrolled kernels (conv_dw.cl). */
        s->dwk = s->win.kh == s->win.kw && (s->win.kh == 3 || s->win.kh == 5) &&
                         (s->win.sw == 1 || s->win.sw == 2)
                     ? s->win.kh : 0;
        static const char *const tiles[2][2] = {{"dw_tile_k3_s1", "dw_tile_k3_s2"},
                                                {"dw_tile_k5_s1", "dw_tile_k5_s2"}};
        const char *kn = s->dwk ? tiles[s->dwk == 5][s->win.sw == 2] : "dwconv2d";
        if (!st) st = ocl_kernel(c, OCL_PROG_CONV_DW, kn, &s->k, err);
        if (!st && s->dwk) conv_dw_geometry(c, s);
        return st;
    }
    if (s->px || s->pk) return conv_upload_px(c, s, wdata, bias, err);
    float *pw = s->blocked ? pack_weights_cb(s, wdata) : pack_weights(s, wdata);
    float *pb = pack_bias(s, bias);
    if (!pw || !pb) {
        free(pw);
        free(pb);
        return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory packing weights",
                        n->name);
    }
    size_t per = (size_t)(s->blocked ? s->CB * 8 : s->Cg) * s->win.kh * s->win.kw;
    st = ocl_upload(c, pw, (size_t)s->G * s->OCB * per * 16 * sizeof(float), &s->w, what, err);
    if (!st) st = ocl_upload(c, pb, (size_t)s->G * s->OCB * 16 * sizeof(float), &s->b, what, err);
    free(pw);
    free(pb);
    if (s->blocked) {
        const char *kn = s->win.sw == 1 || s->pointwise ? "conv2d_cb" : "conv2d_cb_s2";
        if (!st) st = ocl_kernel(c, OCL_PROG_CONV, kn, &s->k, err);
        if (!st) st = ocl_kernel(c, OCL_PROG_CONV, "conv_pack", &s->pack, err);
        return st;
    }
    if (!st) st = ocl_kernel(c, OCL_PROG_CONV, s->pointwise ? "conv2d_1x1" : "conv2d", &s->k, err);
    return st;
}

/* The fused residual's tensor (*res) or, without one, the output as a
 * placeholder argument; 0 when the runtime did not pass it. */
static int residual_arg(const conv_state *s, const semseg_tensor *in, int32_t n_in,
                        const semseg_tensor *out, const semseg_tensor **res, cl_int *has_res)
{
    *res = &out[0];
    *has_res = 0;
    if (s->residual < 0) return 1;
    if (s->residual >= n_in || in[s->residual].host) return 0;
    *res = &in[s->residual];
    *has_res = 1;
    return 1;
}

static semseg_status conv_run(void *state, const semseg_tensor *in, int32_t n_in,
                              const semseg_tensor *out, int32_t n_out, char *err)
{
    conv_state *s = state;
    (void)n_out;
    const semseg_tensor *res;
    cl_int has_res;
    if (s->blocked || s->wino)
        return ocl_fail(err, SEMSEG_STATUS_INTERNAL, "opencl: node %s: run without its scratch", s->name);
    if (!residual_arg(s, in, n_in, out, &res, &has_res))
        return ocl_fail(err, SEMSEG_STATUS_INTERNAL, "opencl: node %s: residual input %d missing",
                        s->name, s->residual);
    const ocl_window *w = &s->win;
    ocl_args a = {s->k, 0, CL_SUCCESS};
    ocl_arg_tensor(&a, &in[0]);
    OCL_ARG(&a, s->w);
    OCL_ARG(&a, s->b);
    ocl_arg_tensor(&a, res);
    ocl_arg_tensor(&a, &out[0]);
    /* Input channels per chunk: a chunk's weights, CK*KH*KW*16 floats, fill
     * about 32 KB (see conv.cl). */
    cl_int ck = 8192 / (w->kh * w->kw * 16), rb = 1;
    if (ck < 1) ck = 1;
    size_t items, planes = (size_t)s->N * s->G * s->OCB;
    if (s->depthwise && s->dwk) return conv_run_dw_tile(s, &a, has_res, err);
    if (s->px) return conv_run_px(s, &a, has_res, err);
    if (s->pk) return conv_run_pk(s, &a, has_res, err);
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
        /* Rows per work-item: bands as tall as leaves about 64 work-items
         * in all (enough to keep a CPU's or a small GPU's units busy), so
         * each chunk of weights serves many rows (see conv.cl). */
        size_t want = 64, rows = (size_t)s->OH * planes;
        rb = (cl_int)((rows + want - 1) / want);
        if (rb > s->OH) rb = s->OH;
        if (rb < 1) rb = 1;
        items = ((size_t)s->OH + rb - 1) / rb;
    }
    conv_epilogue_args(&a, s, has_res);
    if (!s->depthwise) OCL_ARG(&a, ck);
    if (!s->depthwise && !s->pointwise) OCL_ARG(&a, rb);
    if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
    return ocl_launch_heavy(s->ctx, s->k, items, planes, 1, s->name, err);
}

/* The scratch the run was given: device memory, as large as asked. */
static int scratch_ok(const conv_state *s, const semseg_tensor *scratch)
{
    return scratch && scratch->buffer && !scratch->host && scratch->dims &&
           (size_t)scratch->dims[0] >= conv_scratch_bytes(s) && scratch->offset % sizeof(float) == 0;
}

/* conv_pack into the scratch, then conv2d_cb over it. */
static semseg_status conv_run_blocked(conv_state *s, const semseg_tensor *x, const semseg_tensor *res,
                                      cl_int has_res, const semseg_tensor *y,
                                      const semseg_tensor *scratch, char *err)
{
    const ocl_window *w = &s->win;
    if (!scratch_ok(s, scratch))
        return ocl_fail(err, SEMSEG_STATUS_INTERNAL, "opencl: node %s: device scratch missing or too small",
                        s->name);
    cl_mem sm = ocl_mem(scratch);
    cl_int so = (cl_int)(scratch->offset / sizeof(float));
    ocl_args a = {s->pack, 0, CL_SUCCESS};
    ocl_arg_tensor(&a, x);
    OCL_ARG(&a, sm);
    OCL_ARG(&a, so);
    int pv[] = {s->C, s->kH, s->kW, s->G, s->Cg, s->CB, s->Hp, s->Wp, w->pt, w->pl};
    for (size_t i = 0; i < sizeof pv / sizeof pv[0]; i++) OCL_ARG(&a, pv[i]);
    if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
    semseg_status st = ocl_launch3(s->ctx, s->pack, ((size_t)s->Wp + 7) / 8, (size_t)s->Hp,
                                   (size_t)s->N * s->G * s->CB, s->name, err);
    if (st) return st;
    /* Work split: segments of at most 96 output columns (16 tiles), bands of
     * rows as tall as leaves about 64 work-items in all (see conv2d). */
    size_t planes = (size_t)s->N * s->G * s->OCB;
    cl_int seg = s->kOW <= 96 ? s->kOW : 96, nseg = (s->kOW + seg - 1) / seg;
    size_t rows = (size_t)s->kOH * planes * nseg;
    cl_int rb = (cl_int)((rows + 63) / 64);
    if (rb > s->kOH) rb = s->kOH;
    if (rb < 1) rb = 1;
    cl_int ck = s->CK, ao = so + (cl_int)s->panel_floats, nt = s->NT;
    a = (ocl_args){s->k, 0, CL_SUCCESS};
    OCL_ARG(&a, sm);
    OCL_ARG(&a, so);
    OCL_ARG(&a, s->w);
    OCL_ARG(&a, s->b);
    ocl_arg_tensor(&a, res);
    ocl_arg_tensor(&a, y);
    OCL_ARG(&a, sm);
    OCL_ARG(&a, ao);
    OCL_ARG(&a, nt);
    int v[] = {s->OC, s->kH, s->kW, s->kOH, s->kOW, s->G, s->OCg, s->OCB, s->CB, s->Hp, s->Wp,
               w->kh, w->kw, w->sh, w->dh, w->dw, w->pt, w->pl, s->act};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) OCL_ARG(&a, v[i]);
    OCL_ARG(&a, s->lo);
    OCL_ARG(&a, s->hi);
    OCL_ARG(&a, has_res);
    OCL_ARG(&a, ck);
    OCL_ARG(&a, rb);
    OCL_ARG(&a, seg);
    OCL_ARG(&a, nseg);
    if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
    size_t items = (size_t)((s->kOH + rb - 1) / rb) * nseg;
    return ocl_launch_heavy(s->ctx, s->k, items, planes, 1, s->name, err);
}

static semseg_status conv_run_scratch(void *state, const semseg_tensor *in, int32_t n_in,
                                      const semseg_tensor *out, int32_t n_out,
                                      const semseg_tensor *scratch, char *err)
{
    conv_state *s = state;
    if (!s->blocked && !s->wino) return conv_run(state, in, n_in, out, n_out, err);
    const semseg_tensor *res;
    cl_int has_res;
    if (!residual_arg(s, in, n_in, out, &res, &has_res))
        return ocl_fail(err, SEMSEG_STATUS_INTERNAL, "opencl: node %s: residual input %d missing",
                        s->name, s->residual);
    if (!s->wino) return conv_run_blocked(s, &in[0], res, has_res, &out[0], scratch, err);
    if (!scratch_ok(s, scratch))
        return ocl_fail(err, SEMSEG_STATUS_INTERNAL, "opencl: node %s: device scratch missing or too small",
                        s->name);
    return ocl_wino_run(s->wino, &in[0], res, has_res, s->act, s->lo, s->hi, &out[0], scratch, err);
}

const ocl_op ocl_ops_conv[] = {
    {"", "Conv", conv_supports, conv_create, conv_run, conv_destroy, (1u << 1) | (1u << 2)},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};

const ocl_op_scratch ocl_ops_with_scratch[] = {
    {&ocl_ops_conv[0], conv_scratch_bytes, conv_run_scratch},
    {NULL, NULL, NULL},
};
