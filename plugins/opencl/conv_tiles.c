/*
 * The tile kernels of Conv chosen by shape (conv.c decides; docs/opencl.md
 * has the measurements): their band geometry, weight packing and launches.
 *  - dw_tile_k{3,5}_s{1,2} (conv_dw.cl): depthwise 3x3 and 5x5 with a
 *    stride of 1 or 2 along W, a band of output rows of one or more
 *    channels per work-group, its input rows zero-padded in local memory;
 *  - conv1x1_px (conv_px.cl): pointwise with few input channels or on a
 *    small map, 6 output channels x 16 pixels straight from NCHW;
 *  - convk_px_s{1,2} (conv_px.cl): fewer than 8 input channels (the RGB
 *    stems), the same tile over a band of rows of all input channels.
 * On a CPU a band's work-group has one work-item (PoCL runs a group's
 * work-items one after another on one thread anyway); on a GPU the
 * segments of a row are its work-items.
 */
#include <stdlib.h>

#include "conv.h"

#define CONV_PX_OC 6 /* PW_OC in conv_px.cl */
/* Work-items conv1x1_px should have at least (output channels are split
 * among work-items below that). */
#define CONV_PX_ITEMS 128

/* Floats of local memory a dw_tile_* or convk_px_* work-group may use: its
 * band of padded input rows should stay in a 32 KB L1 beside the weights. */
#define DW_LOCAL_FLOATS 6144

/* Bands and work-groups of dw_tile_* (conv_dw.cl): bands of RB output rows
 * (a multiple of 4) as tall as the budget allows, evened out; as many
 * channels per work-group as fit the budget (a power of two dividing N*C,
 * leaving at least 8 groups). */
void conv_dw_geometry(const ocl_ctx *c, conv_state *s)
{
    const ocl_window *w = &s->win;
    int k = w->kh, sw = w->sw, nseg = (s->OW + 7) / 8;
    size_t budget = ocl_local_floats(c, DW_LOCAL_FLOATS);
    int wq = nseg * 8 + (k - 1) * w->dw / sw, wfill = (s->W + w->pl + sw - 1) / sw;
    s->band_wq = ((wq > wfill ? wq : wfill) + 7) / 8 * 8;
    size_t rowf = (size_t)sw * s->band_wq;
    int rb_max = 4;
    while (((size_t)(rb_max + 3) * w->sh + (size_t)(k - 1) * w->dh + 1) * rowf <= budget) rb_max += 4;
    int oh4 = (s->OH + 3) / 4 * 4;
    if (rb_max >= oh4) {
        s->band_rb = oh4;
    } else {
        int nb = (s->OH + rb_max - 1) / rb_max;
        s->band_rb = ((s->OH + nb - 1) / nb + 3) / 4 * 4;
    }
    s->band_nb = (s->OH + s->band_rb - 1) / s->band_rb;
    s->band_nr = (s->band_rb - 1) * w->sh + (k - 1) * w->dh + 1;
    size_t per = (size_t)s->band_nr * rowf;
    int nc = s->N * s->C;
    /* A CPU runs a group's work-items one after another on one thread:
     * one work-item walks the whole band. A GPU gets a row's segments. */
    s->band_l = 1;
    while (c->is_gpu && s->band_l * 2 <= nseg && s->band_l * 2 <= 64) s->band_l *= 2;
    s->band_gc = 1;
    while (nc % (s->band_gc * 2) == 0 && per * s->band_gc * 2 <= budget &&
           (size_t)s->band_nb * (nc / (s->band_gc * 2)) >= 8 && s->band_l * s->band_gc * 2 <= 256)
        s->band_gc *= 2;
}


/* [OC][C][KH][KW] -> [OC/6 blocks][C][KH][KW][6] and the bias padded to
 * whole blocks, for conv1x1_px and convk_px_*. */
semseg_status conv_upload_px(ocl_ctx *c, conv_state *s, const float *w, const float *bias, char *err)
{
    int ocb = (s->OC + CONV_PX_OC - 1) / CONV_PX_OC;
    size_t per = (size_t)s->C * s->win.kh * s->win.kw;
    size_t nw = (size_t)ocb * per * CONV_PX_OC, nb = (size_t)ocb * CONV_PX_OC;
    float *pw = calloc(nw, sizeof *pw), *pb = calloc(nb, sizeof *pb);
    if (!pw || !pb) {
        free(pw);
        free(pb);
        return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory packing weights",
                        s->name);
    }
    for (int o = 0; o < s->OC; o++) {
        for (size_t i = 0; i < per; i++)
            pw[((size_t)(o / CONV_PX_OC) * per + i) * CONV_PX_OC + o % CONV_PX_OC] = w[o * per + i];
        if (bias) pb[o] = bias[o];
    }
    semseg_status st = ocl_upload(c, pw, nw * sizeof *pw, &s->w, s->name, err);
    if (!st) st = ocl_upload(c, pb, nb * sizeof *pb, &s->b, s->name, err);
    free(pw);
    free(pb);
    s->OCB = ocb;
    const char *kn = s->px ? "conv1x1_px" : s->win.sw == 1 ? "convk_px_s1" : "convk_px_s2";
    if (!st) st = ocl_kernel(c, OCL_PROG_CONV_PX, kn, &s->k, err);
    return st;
}

/* Bands of convk_px_* as conv_dw_geometry's, every input channel of the band in
 * one work-group's local memory; 0 when not even one output row fits. */
int conv_pk_geometry(const ocl_ctx *c, conv_state *s)
{
    const ocl_window *w = &s->win;
    int sw = w->sw, ow16 = (s->OW + 15) / 16 * 16;
    size_t budget = ocl_local_floats(c, DW_LOCAL_FLOATS);
    int wq = ow16 + (w->kw - 1) * w->dw / sw, wfill = (s->W + w->pl + sw - 1) / sw;
    s->band_wq = ((wq > wfill ? wq : wfill) + 7) / 8 * 8;
    size_t rowf = (size_t)s->C * sw * s->band_wq;
    int rb = 1;
    while (((size_t)rb * w->sh + (size_t)(w->kh - 1) * w->dh + 1) * rowf <= budget && rb < s->OH) rb++;
    if (((size_t)(w->kh - 1) * w->dh + 1) * rowf > budget) return 0;
    s->band_nb = (s->OH + rb - 1) / rb;
    s->band_rb = (s->OH + s->band_nb - 1) / s->band_nb;
    s->band_nb = (s->OH + s->band_rb - 1) / s->band_rb;
    s->band_nr = (s->band_rb - 1) * w->sh + (w->kh - 1) * w->dh + 1;
    s->band_l = 1;
    while (c->is_gpu && s->band_l * 2 <= ow16 / 16 && s->band_l * 2 <= 64) s->band_l *= 2;
    return 1;
}

/* dw_tile_*: a band of rows of band_gc channels per work-group. */
semseg_status conv_run_dw_tile(conv_state *s, ocl_args *a, cl_int has_res, char *err)
{
    const ocl_window *w = &s->win;
    ocl_arg(a, (size_t)s->band_gc * s->band_nr * w->sw * s->band_wq * sizeof(float), NULL);
    int v[] = {s->C, s->H, s->W, s->OH, s->OW, w->sh, w->dh, w->dw, w->pt, w->pl,
               s->band_rb, s->band_nr, s->band_wq, s->act};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) OCL_ARG(a, v[i]);
    conv_epilogue_args(a, s, has_res);
    if (a->rc != CL_SUCCESS) return ocl_check(a->rc, "clSetKernelArg", s->name, err);
    size_t global[3] = {(size_t)s->band_l, (size_t)s->band_nb, (size_t)s->N * s->C};
    size_t local[3] = {(size_t)s->band_l, 1, (size_t)s->band_gc};
    return ocl_launch_local(s->ctx, s->k, global, local, s->name, err);
}

/* conv1x1_px: a 16-pixel tile per work-item, the output channels split
 * among work-items when there are few tiles. */
semseg_status conv_run_px(conv_state *s, ocl_args *a, cl_int has_res, char *err)
{
    size_t tiles = ((size_t)s->H * s->W + 15) / 16, parts = 1;
    while (parts < (size_t)s->OCB && tiles * s->N * parts < CONV_PX_ITEMS) parts++;
    int bpw = (s->OCB + (int)parts - 1) / (int)parts;
    parts = (size_t)((s->OCB + bpw - 1) / bpw);
    int v[] = {s->C, s->H * s->W, s->OC, s->OCB, bpw, s->act};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) OCL_ARG(a, v[i]);
    conv_epilogue_args(a, s, has_res);
    if (a->rc != CL_SUCCESS) return ocl_check(a->rc, "clSetKernelArg", s->name, err);
    return ocl_launch_heavy(s->ctx, s->k, tiles, (size_t)s->N * parts, 1, s->name, err);
}

/* convk_px_*: a band of rows of one image per work-group. */
semseg_status conv_run_pk(conv_state *s, ocl_args *a, cl_int has_res, char *err)
{
    const ocl_window *w = &s->win;
    ocl_arg(a, (size_t)s->C * s->band_nr * w->sw * s->band_wq * sizeof(float), NULL);
    int v[] = {s->C, s->H, s->W, s->OC, s->OH, s->OW, s->OCB, w->kh, w->kw, w->sh, w->dh, w->dw,
               w->pt, w->pl, s->band_rb, s->band_nr, s->band_wq, s->act};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) OCL_ARG(a, v[i]);
    conv_epilogue_args(a, s, has_res);
    if (a->rc != CL_SUCCESS) return ocl_check(a->rc, "clSetKernelArg", s->name, err);
    size_t global[3] = {(size_t)s->band_l, (size_t)s->band_nb, (size_t)s->N};
    size_t local[3] = {(size_t)s->band_l, 1, 1};
    return ocl_launch_local(s->ctx, s->k, global, local, s->name, err);
}

