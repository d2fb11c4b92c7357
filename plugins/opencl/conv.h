/*
 * The state of a Conv node on OpenCL, shared by conv.c (the op: support,
 * create, which kernel, the channel-blocked and direct paths) and
 * conv_tiles.c (the tile kernels chosen by shape: depthwise, pointwise
 * and stem). Private to the plugin.
 */
#ifndef SEMSEG_OCL_CONV_H
#define SEMSEG_OCL_CONV_H

#include "ocl.h"

typedef struct conv_state {
    ocl_ctx *ctx;
    char name[128];
    cl_kernel k, pack;
    cl_mem w, b;
    /* The path (see the top comment): depthwise (dwk: 3 or 5 for
     * dw_tile_*, else dwconv2d), conv1x1_px, convk_px_*, conv2d_cb, or
     * conv2d / conv2d_1x1. */
    int depthwise, pointwise, dwk, px, pk, blocked;
    ocl_wino *wino;      /* Winograd F(2x2, 3x3) (conv_wino.c), else NULL */
    size_t wino_scratch;
    /* dw_tile_* and convk_px_* work on bands of output rows whose input
     * rows a work-group first copies into local memory: rows per band,
     * local rows per channel, floats per local phase row, bands, and the
     * work-group (band_l x 1 x band_gc channels). */
    int band_rb, band_nr, band_wq, band_nb, band_l, band_gc;
    int N, C, H, W, OC, OH, OW, G, Cg, OCg, OCB;
    /* Channel-blocked path (conv2d_cb): blocks of 8 input channels, padded
     * panel dims, and the geometry the kernel sees (a pointwise conv as one
     * row of H*W pixels). */
    int CB, Hp, Wp, kH, kW, kOH, kOW, CK, NT;
    size_t panel_floats, acc_floats; /* the two parts of the scratch */
    ocl_window win;
    int act, residual;
    float lo, hi;
} conv_state;

/* The epilogue's arguments, which every kernel takes after its own. */
static inline void conv_epilogue_args(ocl_args *a, const conv_state *s, cl_int has_res)
{
    OCL_ARG(a, s->lo);
    OCL_ARG(a, s->hi);
    OCL_ARG(a, has_res);
}

/* ---- conv_tiles.c ---- */

/* Pointwise convolutions with at most this many input channels read NCHW
 * directly, 6 output channels x 16 pixels per tile (conv1x1_px): with a
 * short reduction the pack and the scalar stores of conv2d_cb weigh as
 * much as the FMAs (docs/opencl.md). */
#define CONV_PX_MAX_C 128
/* ... and any pointwise convolution on a map this small (16x16): 16 tiles
 * of conv2d_cb left it 1.3-1.7x blas on MobileNetV3's last stage, where
 * conv1x1_px is at 0.9-1.3x. On larger maps with many input channels
 * conv1x1_px streams the weights once per 16 pixels and loses. */
#define CONV_PX_SMALL_MAP 256

/* Band geometry of dw_tile_* (s->dwk set) and of convk_px_*; the latter
 * returns 0 when not even one output row fits a work-group. */
void conv_dw_geometry(const ocl_ctx *c, conv_state *s);
int conv_pk_geometry(const ocl_ctx *c, conv_state *s);
/* Packs w ([OC][C][KH][KW]) and bias for conv1x1_px (s->px) or convk_px_*
 * (s->pk) and creates the kernel. */
semseg_status conv_upload_px(ocl_ctx *c, conv_state *s, const float *w, const float *bias, char *err);
/* Launches with the arguments a already holds (x, w, b, res, y). */
semseg_status conv_run_dw_tile(conv_state *s, ocl_args *a, cl_int has_res, char *err);
semseg_status conv_run_px(conv_state *s, ocl_args *a, cl_int has_res, char *err);
semseg_status conv_run_pk(conv_state *s, ocl_args *a, cl_int has_res, char *err);

#endif
