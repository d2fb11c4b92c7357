/*
 * Resize (opsets 10, 11, 13, 18, 19) and Upsample (7, 9) of the spatial dims
 * of an NCHW tensor on OpenCL; N and C must keep scale 1.
 *
 * Modes nearest and linear (cubic and antialiased downscaling go to ref).
 * Output coordinate o maps to input coordinate x by the node's
 * coordinate_transformation_mode with scale s, input length L, output length l:
 *   half_pixel            (o + 0.5) / s - 0.5
 *   half_pixel_symmetric  L/2 * (1 - l / (s*L)) + (o + 0.5) / s - 0.5
 *   pytorch_half_pixel    l > 1 ? (o + 0.5) / s - 0.5 : 0
 *   align_corners         o * (L - 1) / (s*L - 1), 0 when s*L = 1
 *   asymmetric            o / s
 *   tf_half_pixel_for_nn  (o + 0.5) / s
 *   tf_crop_and_resize    start*(L-1) + o*(end-start)*(L-1)/(s*L-1), or
 *                         (start+end)/2 * (L-1) when s*L = 1; outside [0, L-1]
 *                         the output is extrapolation_value
 * Nearest rounds x by nearest_mode (round_prefer_floor, round_prefer_ceil,
 * floor, ceil) and clamps; linear clamps x to [0, L-1] and blends the two
 * neighbours. Opset 10 and Upsample are asymmetric, and nearest there takes
 * floor when enlarging and ceil when shrinking, as ONNX Runtime does.
 *
 * s is the scales input, or with sizes l / L, or under opset 18's
 * keep_aspect_ratio_policy not_larger / not_smaller the min / max of those
 * ratios over the resized axes. scales, sizes and roi must be load-time
 * constants; the per-row and per-column source indices and weights are
 * computed here in double and uploaded, so the kernels only gather. Linear
 * modes other than tf_crop_and_resize run separably (resize_linear_band,
 * resize.cl) when a band of rows fits the work-group's local memory.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"

typedef enum coord_mode {
    CM_HALF_PIXEL, CM_HALF_PIXEL_SYM, CM_PYTORCH, CM_ALIGN, CM_ASYM, CM_TF_NN, CM_TF_CROP
} coord_mode;
typedef enum near_mode { NM_PREFER_FLOOR, NM_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_LEGACY } near_mode;

typedef struct resize_params {
    int linear;
    coord_mode cm;
    near_mode nm;
    double scale[4], roi_start[4], roi_end[4];
    float extrap;
} resize_params;

typedef struct resize_state {
    ocl_ctx *ctx;
    char name[128];
    cl_kernel k;
    cl_mem idx, wt;
    int linear;
    cl_int NC, H, W, OH, OW;
    float extrap;
    /* resize_linear_band: row and column tables, padded width, rows per
     * band, local rows per plane, bands, work-group (l x 1 x gc). */
    int band;
    cl_mem ytab, ywt, xtab, xwt;
    cl_int OWP, RB, NR;
    int nb, l, gc;
} resize_state;

static int lookup(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

/* Float data of optional input i as a vector, NULL if absent or empty. */
static const float *float_input(const semseg_node_info *n, int i, int64_t *count)
{
    *count = 0;
    if (!semseg_input_present(n, i)) return NULL;
    const semseg_value_info *v = &n->inputs[i];
    *count = semseg_numel(v->rank, v->dims);
    return *count ? v->data : NULL;
}

/* Fills p from the node; 0 if we cannot take it. */
static int resize_read(const semseg_node_info *n, resize_params *p)
{
    static const char *const cms[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                      "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                                      "tf_crop_and_resize"};
    static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const semseg_value_info *x = &n->inputs[0], *y = &n->outputs[0];
    if (x->rank != 4 || y->rank != 4 || x->dtype != SEMSEG_DTYPE_FLOAT ||
        y->dtype != SEMSEG_DTYPE_FLOAT || x->dims[0] != y->dims[0] || x->dims[1] != y->dims[1])
        return 0;
    int upsample = strcmp(n->op, "Upsample") == 0, legacy = upsample || n->opset < 11;
    const char *mode = semseg_attr_string(n, "mode", "nearest");
    if (strcmp(mode, "nearest") == 0) p->linear = 0;
    else if (strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0) p->linear = 1;
    else return 0;
    int cm = legacy ? CM_ASYM : lookup(semseg_attr_string(n, "coordinate_transformation_mode",
                                                          "half_pixel"), cms, 7);
    int nm = legacy ? NM_LEGACY : lookup(semseg_attr_string(n, "nearest_mode",
                                                            "round_prefer_floor"), nms, 4);
    if (cm < 0 || nm < 0) return 0;
    p->cm = (coord_mode)cm;
    p->nm = (near_mode)nm;
    p->extrap = semseg_attr_float(n, "extrapolation_value", 0.0f);

    /* Which input carries what: Upsample-7 has the scales attribute. */
    int i_roi = legacy ? -1 : 1, i_scales = legacy ? 1 : 2, i_sizes = legacy ? -1 : 3;
    for (int i = 1; i < n->n_inputs; i++)
        if (semseg_input_present(n, i) && !n->inputs[i].data) return 0;
    const int64_t *axes_v;
    int64_t n_axes = semseg_attr_ints(n, "axes", &axes_v);
    int axes[4] = {0, 1, 2, 3};
    if (n_axes < 0) n_axes = 4;
    else
        for (int64_t i = 0; i < n_axes; i++) {
            if (n_axes > 4) return 0;
            axes[i] = (int)(axes_v[i] < 0 ? axes_v[i] + 4 : axes_v[i]);
            if (axes[i] < 0 || axes[i] > 3) return 0;
        }
    for (int a = 0; a < 4; a++) {
        p->scale[a] = 1.0;
        p->roi_start[a] = 0.0;
        p->roi_end[a] = 1.0;
    }
    int64_t cnt;
    const float *sc = NULL;
    if (upsample && n->opset < 9) {
        const float *v;
        cnt = semseg_attr_floats(n, "scales", &v);
        sc = cnt == 4 ? v : NULL;
        if (!sc) return 0;
        n_axes = 4;
    } else {
        sc = float_input(n, i_scales, &cnt);
        if (sc && cnt != n_axes) return 0;
    }
    if (sc) {
        for (int64_t i = 0; i < n_axes; i++) p->scale[axes[i]] = sc[i];
    } else if (i_sizes >= 0 && semseg_input_present(n, i_sizes) &&
               n->inputs[i_sizes].dtype == SEMSEG_DTYPE_INT64) {
        /* Ratios of the final dims: sizes after keep_aspect_ratio_policy. */
        const char *pol = semseg_attr_string(n, "keep_aspect_ratio_policy", "stretch");
        double pick = -1;
        for (int64_t i = 0; i < n_axes; i++) {
            int a = axes[i];
            double r = (double)((const int64_t *)n->inputs[i_sizes].data)[i] / (double)x->dims[a];
            p->scale[a] = r;
            if (strcmp(pol, "not_larger") == 0 && (pick < 0 || r < pick)) pick = r;
            if (strcmp(pol, "not_smaller") == 0 && (pick < 0 || r > pick)) pick = r;
        }
        if (pick > 0)
            for (int64_t i = 0; i < n_axes; i++) p->scale[axes[i]] = pick;
    } else {
        return 0;
    }
    if (p->scale[0] != 1.0 || p->scale[1] != 1.0 || p->scale[2] <= 0 || p->scale[3] <= 0) return 0;
    if (p->cm == CM_TF_CROP) {
        const float *roi = float_input(n, i_roi, &cnt);
        if (!roi || cnt != 2 * n_axes) return 0;
        for (int64_t i = 0; i < n_axes; i++) {
            p->roi_start[axes[i]] = roi[i];
            p->roi_end[axes[i]] = roi[n_axes + i];
        }
    }
    if (semseg_attr_int(n, "antialias", 0) && p->linear && (p->scale[2] < 1 || p->scale[3] < 1))
        return 0;
    return 1;
}

/* Input coordinate of output index o along axis a; sets *outside. Like
 * ONNX's reference implementation (and its node tests), align_corners and
 * tf_crop_and_resize use the unrounded output length s*L; it equals l
 * whenever sizes were given. */
static double coord(const resize_params *p, int a, int o, int L, int l, int *outside)
{
    double s = p->scale[a], lw = s * L;
    *outside = 0;
    switch (p->cm) {
    case CM_HALF_PIXEL: return (o + 0.5) / s - 0.5;
    case CM_HALF_PIXEL_SYM: {
        double adj = l / lw, center = L / 2.0;
        return center * (1 - adj) + (o + 0.5) / s - 0.5;
    }
    case CM_PYTORCH: return l > 1 ? (o + 0.5) / s - 0.5 : 0.0;
    case CM_ALIGN: return lw == 1.0 ? 0.0 : o * (L - 1) / (lw - 1);
    case CM_ASYM: return o / s;
    case CM_TF_NN: return (o + 0.5) / s;
    case CM_TF_CROP: {
        double st = p->roi_start[a], en = p->roi_end[a];
        double x = lw == 1.0 ? 0.5 * (st + en) * (L - 1)
                             : st * (L - 1) + o * (en - st) * (L - 1) / (lw - 1);
        *outside = x < 0 || x > L - 1;
        return x;
    }
    }
    return 0.0;
}

static int nearest(const resize_params *p, int a, double x)
{
    double f = floor(x);
    switch (p->nm) {
    case NM_PREFER_FLOOR: return (int)(x - f == 0.5 ? f : floor(x + 0.5));
    case NM_PREFER_CEIL: return (int)(x - f == 0.5 ? f + 1 : floor(x + 0.5));
    case NM_FLOOR: return (int)f;
    case NM_CEIL: return (int)ceil(x);
    case NM_LEGACY: return (int)(p->scale[a] < 1.0 ? ceil(x) : f);
    }
    return (int)f;
}

/* Row (a = 2) or column (a = 3) tables; see resize.cl for the layout. */
static void fill_axis(const resize_params *p, int a, int L, int l, cl_int *idx, float *wt)
{
    for (int o = 0; o < l; o++) {
        int outside;
        double x = coord(p, a, o, L, l, &outside);
        if (!p->linear) {
            int i = nearest(p, a, x);
            idx[o] = outside ? -1 : i < 0 ? 0 : i > L - 1 ? L - 1 : i;
            continue;
        }
        if (outside) {
            idx[2 * o] = idx[2 * o + 1] = -1;
            wt[o] = 0;
            continue;
        }
        if (x < 0) x = 0;
        if (x > L - 1) x = L - 1;
        int i0 = (int)floor(x);
        idx[2 * o] = i0;
        idx[2 * o + 1] = i0 + 1 < L ? i0 + 1 : L - 1;
        wt[o] = (float)(x - i0);
    }
}

/* The kernels copy N and C through unchanged, which is right only when the
 * coordinate mapping of those axes is the identity. It is not always: with
 * tf_half_pixel_for_nn and a ceil rounding, channel c reads channel c + 1. */
static int identity_axis(const resize_params *p, int a, int L)
{
    for (int o = 0; o < L; o++) {
        int outside, i;
        double x = coord(p, a, o, L, L, &outside);
        if (outside) return 0;
        if (p->linear) {
            if (fabs(x - o) > 1e-9) return 0;
            continue;
        }
        i = nearest(p, a, x);
        if ((i < 0 ? 0 : i > L - 1 ? L - 1 : i) != o) return 0;
    }
    return 1;
}

static semseg_support resize_supports(const ocl_ctx *c, const semseg_node_info *n)
{
    (void)c;
    resize_params p;
    if (n->n_inputs < 1 || n->n_outputs != 1 || !resize_read(n, &p) ||
        !identity_axis(&p, 0, (int)n->inputs[0].dims[0]) ||
        !identity_axis(&p, 1, (int)n->inputs[0].dims[1]))
        return SEMSEG_SUPPORT_NO;
    return SEMSEG_SUPPORT_YES;
}

static void resize_destroy(void *state)
{
    resize_state *s = state;
    if (!s) return;
    if (s->k) clReleaseKernel(s->k);
    cl_mem m[] = {s->idx, s->wt, s->ytab, s->ywt, s->xtab, s->xwt};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (m[i]) clReleaseMemObject(m[i]);
    free(s);
}

/* Floats of local memory a resize_linear_band work-group may use (its
 * rows should stay in a 32 KB L1). */
#define RESIZE_LOCAL_FLOATS 6144

/* Most input rows any band of rb output rows reads (ytab: [OH][2]). */
static int band_rows(const cl_int *ytab, int oh, int rb)
{
    int most = 0;
    for (int o = 0; o < oh; o += rb) {
        int last = o + rb < oh ? o + rb - 1 : oh - 1;
        int n = ytab[2 * last + 1] - ytab[2 * o] + 1;
        if (n > most) most = n;
    }
    return most;
}

/* Bands, planes per work-group and work-items of resize_linear_band, as
 * for the depthwise tiles (conv.c): bands as tall as the budget allows,
 * evened out; planes per group a power of two dividing N*C that fits,
 * leaving at least 8 groups. 0 when not even one output row fits. */
static int band_geometry(const ocl_ctx *c, resize_state *s, const cl_int *ytab)
{
    size_t budget = ocl_local_floats(c, RESIZE_LOCAL_FLOATS);
    int rb = s->OH;
    while (rb > 1 && (size_t)band_rows(ytab, s->OH, rb) * s->OWP > budget) rb = (rb + 1) / 2;
    if ((size_t)band_rows(ytab, s->OH, rb) * s->OWP > budget) return 0;
    s->nb = (s->OH + rb - 1) / rb;
    s->RB = (s->OH + s->nb - 1) / s->nb;
    s->nb = (s->OH + s->RB - 1) / s->RB;
    s->NR = band_rows(ytab, s->OH, s->RB);
    size_t per = (size_t)s->NR * s->OWP;
    /* A CPU runs a group's work-items one after another on one thread:
     * one work-item walks the whole band. A GPU gets a row's segments. */
    s->l = 1;
    while (c->is_gpu && s->l * 2 <= s->OWP / 8 && s->l * 2 <= 64) s->l *= 2;
    s->gc = 1;
    while (s->NC % (s->gc * 2) == 0 && per * s->gc * 2 <= budget &&
           s->nb * (s->NC / (s->gc * 2)) >= 8 && s->l * s->gc * 2 <= 256)
        s->gc *= 2;
    return 1;
}

/* The tables of resize_linear_band (resize.cl) from the row and column
 * pairs fill_axis made; columns past OW repeat the last one. */
static semseg_status band_create(ocl_ctx *c, resize_state *s, const cl_int *idx, const float *wt,
                                 char *err)
{
    s->OWP = (s->OW + 7) / 8 * 8;
    if (!band_geometry(c, s, idx)) return SEMSEG_STATUS_OK;
    cl_int *xt = malloc(2 * (size_t)s->OWP * sizeof *xt);
    float *xw = malloc((size_t)s->OWP * sizeof *xw);
    if (!xt || !xw) {
        free(xt);
        free(xw);
        return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", s->name);
    }
    const cl_int *ci = idx + 2 * s->OH;
    for (int o = 0; o < s->OWP; o++) {
        int k = o < s->OW ? o : s->OW - 1;
        xt[o] = ci[2 * k];
        xt[s->OWP + o] = ci[2 * k + 1];
        xw[o] = wt[s->OH + k];
    }
    semseg_status st = ocl_upload(c, idx, 2 * (size_t)s->OH * sizeof *idx, &s->ytab, s->name, err);
    if (!st) st = ocl_upload(c, wt, (size_t)s->OH * sizeof *wt, &s->ywt, s->name, err);
    if (!st) st = ocl_upload(c, xt, 2 * (size_t)s->OWP * sizeof *xt, &s->xtab, s->name, err);
    if (!st) st = ocl_upload(c, xw, (size_t)s->OWP * sizeof *xw, &s->xwt, s->name, err);
    free(xt);
    free(xw);
    if (!st) st = ocl_kernel(c, OCL_PROG_RESIZE, "resize_linear_band", &s->k, err);
    if (!st) s->band = 1;
    return st;
}

static semseg_status resize_create(ocl_ctx *c, const semseg_node_info *n, void **state, char *err)
{
    resize_state *s = calloc(1, sizeof *s);
    if (!s) return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    *state = s;
    s->ctx = c;
    snprintf(s->name, sizeof s->name, "%s", n->name);
    resize_params p;
    if (!resize_read(n, &p))
        return ocl_fail(err, SEMSEG_STATUS_UNSUPPORTED, "opencl: node %s: %s attributes not supported",
                        n->name, n->op);
    const int64_t *xd = n->inputs[0].dims, *yd = n->outputs[0].dims;
    s->NC = (cl_int)(xd[0] * xd[1]);
    s->H = (cl_int)xd[2];
    s->W = (cl_int)xd[3];
    s->OH = (cl_int)yd[2];
    s->OW = (cl_int)yd[3];
    s->linear = p.linear;
    s->extrap = p.extrap;
    size_t per = p.linear ? 2 : 1, n_idx = per * (size_t)(s->OH + s->OW);
    cl_int *idx = calloc(n_idx, sizeof *idx);
    float *wt = calloc((size_t)(s->OH + s->OW), sizeof *wt);
    if (!idx || !wt) {
        free(idx);
        free(wt);
        return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    }
    fill_axis(&p, 2, s->H, s->OH, idx, wt);
    fill_axis(&p, 3, s->W, s->OW, idx + per * s->OH, wt + s->OH);
    semseg_status st = SEMSEG_STATUS_OK;
    if (p.linear && p.cm != CM_TF_CROP && s->OH > 0 && s->OW > 0) {
        st = band_create(c, s, idx, wt, err);
        if (st || s->band) {
            free(idx);
            free(wt);
            return st;
        }
    }
    st = ocl_upload(c, idx, n_idx * sizeof *idx, &s->idx, s->name, err);
    if (!st && p.linear)
        st = ocl_upload(c, wt, (size_t)(s->OH + s->OW) * sizeof *wt, &s->wt, s->name, err);
    free(idx);
    free(wt);
    if (!st)
        st = ocl_kernel(c, OCL_PROG_RESIZE, p.linear ? "resize_linear" : "resize_nearest", &s->k, err);
    return st;
}

static semseg_status resize_run(void *state, const semseg_tensor *in, int32_t n_in,
                                const semseg_tensor *out, int32_t n_out, char *err)
{
    resize_state *s = state;
    (void)n_in;
    (void)n_out;
    ocl_args a = {s->k, 0, CL_SUCCESS};
    ocl_arg_tensor(&a, &in[0]);
    ocl_arg_tensor(&a, &out[0]);
    if (s->band) {
        ocl_arg(&a, (size_t)s->gc * s->NR * s->OWP * sizeof(float), NULL);
        cl_int v[] = {s->H, s->W, s->OH, s->OW, s->OWP, s->RB, s->NR};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) OCL_ARG(&a, v[i]);
        OCL_ARG(&a, s->ytab);
        OCL_ARG(&a, s->ywt);
        OCL_ARG(&a, s->xtab);
        OCL_ARG(&a, s->xwt);
        if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
        size_t global[3] = {(size_t)s->l, (size_t)s->nb, (size_t)s->NC};
        size_t local[3] = {(size_t)s->l, 1, (size_t)s->gc};
        return ocl_launch_local(s->ctx, s->k, global, local, s->name, err);
    }
    OCL_ARG(&a, s->NC);
    OCL_ARG(&a, s->H);
    OCL_ARG(&a, s->W);
    OCL_ARG(&a, s->OH);
    OCL_ARG(&a, s->OW);
    OCL_ARG(&a, s->idx);
    if (s->linear) OCL_ARG(&a, s->wt);
    OCL_ARG(&a, s->extrap);
    if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
    return ocl_launch3(s->ctx, s->k, (size_t)s->OW, (size_t)s->OH, (size_t)s->NC, s->name, err);
}

const ocl_op ocl_ops_resize[] = {
    {"", "Resize", resize_supports, resize_create, resize_run, resize_destroy, 0xEu},
    {"", "Upsample", resize_supports, resize_create, resize_run, resize_destroy, 0xEu},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
