/*
 * Winograd F(2x2, 3x3) for Conv on OpenCL (conv.c decides when): a 3x3
 * convolution of one group with stride 1, any dilation and pads, and
 * enough channels that the transforms are cheap beside the products.
 * 16 multiplications per 2x2 outputs and input channel instead of 36.
 *
 * Three steps per run (conv_wino.cl has the algebra):
 *   wino_in    x -> V [n][16 * C][T]           (T tiles of 2x2 outputs)
 *   a grouped 1x1 convolution, 16 groups, U_k = G g G^T as its weights,
 *   over V seen as a 1 x T map -> M [n][16 * OC][T]: the channel-blocked
 *   path of conv.c (conv_pack + conv2d_cb), created here from a node made
 *   up for it and run through the same ocl_op entries the host uses;
 *   wino_out   M -> y, A^T M A + bias, residual, activation.
 * With dilation d a tile is the outputs (oy + i*d, ox + j*d), i, j < 2:
 * the output rows (columns) are grouped by their residue mod d and paired
 * within a group, which the top/left tables list. The scratch holds V,
 * then the inner convolution's own scratch, then M.
 *
 * U is computed in double from the weights at load time; it is 16/9 of
 * the weights' memory. F(2x2)'s rounding is close to direct summation's
 * (B and A hold only 0 and +-1); docs/opencl.md has the measurements.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"

struct ocl_wino {
    ocl_ctx *ctx;
    char name[160];
    int N, C, H, W, OC, OH, OW, TY, TX, T, dh, dw, pt, pl;
    cl_kernel k_in, k_out;
    cl_mem top, left, bias;
    void *gemm;                  /* the inner conv (conv.c's state) */
    size_t v_bytes, gemm_scratch, m_bytes;
    int64_t v_dims[4], m_dims[4], gs_dims[1];
};

/* First output of each tile along an axis of n outputs with dilation d:
 * per residue r < d, the outputs r, r + d, r + 2d, ... in pairs. Returns
 * the count; tab may be NULL to count only. */
static int tile_starts(int n, int d, int *tab)
{
    int k = 0;
    for (int r = 0; r < d && r < n; r++)
        for (int o = r; o < n; o += 2 * d) {
            if (tab) tab[k] = o;
            k++;
        }
    return k;
}

int64_t ocl_wino_tiles(int oh, int ow, int dh, int dw)
{
    return (int64_t)tile_starts(oh, dh, NULL) * tile_starts(ow, dw, NULL);
}

/* U_k(oc, c) = (G g G^T)[k / 4][k % 4] for each 3x3 kernel g = w[oc][c],
 * laid out as the inner conv's weights [16 * OC][C][1][1]. */
static float *transform_weights(const float *w, int oc_n, int c_n)
{
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    float *u = malloc((size_t)16 * oc_n * c_n * sizeof *u);
    if (!u) return NULL;
    for (int oc = 0; oc < oc_n; oc++)
        for (int c = 0; c < c_n; c++) {
            const float *g = w + ((size_t)oc * c_n + c) * 9;
            double t[4][3]; /* G g */
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 3; j++)
                    t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    double v = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
                    u[((size_t)(i * 4 + j) * oc_n + oc) * c_n + c] = (float)v;
                }
        }
    return u;
}

/* The grouped 1x1 convolution of the products, created through the Conv
 * entry of ocl_ops_conv like any node. */
static semseg_status gemm_create(ocl_wino *wn, const float *u, char *err)
{
    int64_t wd[4] = {16 * (int64_t)wn->OC, wn->C, 1, 1}, ks[2] = {1, 1};
    semseg_value_info in[2] = {
        {"winograd V", SEMSEG_DTYPE_FLOAT, 4, wn->v_dims, NULL},
        {"winograd U", SEMSEG_DTYPE_FLOAT, 4, wd, u},
    };
    semseg_value_info out = {"winograd M", SEMSEG_DTYPE_FLOAT, 4, wn->m_dims, NULL};
    semseg_attr attrs[2] = {
        {.name = "group", .type = SEMSEG_ATTR_INT, .i = 16},
        {.name = "kernel_shape", .type = SEMSEG_ATTR_INTS, .n = 2, .ints = ks},
    };
    semseg_node_info n = {wn->name, "", "Conv", 13, 2, in, 1, &out, 2, attrs, NULL};
    const ocl_op *op = &ocl_ops_conv[0];
    semseg_status st = op->create(wn->ctx, &n, &wn->gemm, err);
    if (!st) wn->gemm_scratch = ocl_ops_with_scratch[0].scratch_bytes(wn->gemm);
    return st;
}

void ocl_wino_destroy(ocl_wino *wn)
{
    if (!wn) return;
    if (wn->gemm) ocl_ops_conv[0].destroy(wn->gemm);
    if (wn->k_in) clReleaseKernel(wn->k_in);
    if (wn->k_out) clReleaseKernel(wn->k_out);
    cl_mem m[] = {wn->top, wn->left, wn->bias};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (m[i]) clReleaseMemObject(m[i]);
    free(wn);
}

/* Tables, the bias and the two kernels. */
static semseg_status wino_upload(ocl_wino *wn, const float *bias, char *err)
{
    ocl_ctx *c = wn->ctx;
    int *top = malloc((size_t)wn->TY * sizeof *top), *left = malloc((size_t)wn->TX * sizeof *left);
    float *b = calloc((size_t)wn->OC, sizeof *b);
    semseg_status st = SEMSEG_STATUS_OK;
    if (!top || !left || !b)
        st = ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", wn->name);
    if (!st) {
        tile_starts(wn->OH, wn->dh, top);
        tile_starts(wn->OW, wn->dw, left);
        if (bias) memcpy(b, bias, (size_t)wn->OC * sizeof *b);
        st = ocl_upload(c, top, (size_t)wn->TY * sizeof *top, &wn->top, wn->name, err);
    }
    if (!st) st = ocl_upload(c, left, (size_t)wn->TX * sizeof *left, &wn->left, wn->name, err);
    if (!st) st = ocl_upload(c, b, (size_t)wn->OC * sizeof *b, &wn->bias, wn->name, err);
    free(top);
    free(left);
    free(b);
    if (!st) st = ocl_kernel(c, OCL_PROG_CONV_WINO, "wino_in", &wn->k_in, err);
    if (!st) st = ocl_kernel(c, OCL_PROG_CONV_WINO, "wino_out", &wn->k_out, err);
    return st;
}

semseg_status ocl_wino_create(ocl_ctx *c, const ocl_wino_geom *g, const float *w, const float *bias,
                              ocl_wino **out, size_t *scratch_bytes, char *err)
{
    *out = NULL;
    ocl_wino *wn = calloc(1, sizeof *wn);
    if (!wn) return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", g->name);
    wn->ctx = c;
    snprintf(wn->name, sizeof wn->name, "%s/winograd", g->name);
    wn->N = g->N;
    wn->C = g->C;
    wn->H = g->H;
    wn->W = g->W;
    wn->OC = g->OC;
    wn->OH = g->OH;
    wn->OW = g->OW;
    wn->dh = g->dh;
    wn->dw = g->dw;
    wn->pt = g->pt;
    wn->pl = g->pl;
    wn->TY = tile_starts(wn->OH, wn->dh, NULL);
    wn->TX = tile_starts(wn->OW, wn->dw, NULL);
    wn->T = wn->TY * wn->TX;
    int64_t v[4] = {wn->N, 16 * (int64_t)wn->C, 1, wn->T}, m[4] = {wn->N, 16 * (int64_t)wn->OC, 1, wn->T};
    memcpy(wn->v_dims, v, sizeof v);
    memcpy(wn->m_dims, m, sizeof m);
    wn->v_bytes = (size_t)semseg_numel(4, v) * sizeof(float);
    wn->m_bytes = (size_t)semseg_numel(4, m) * sizeof(float);
    float *u = transform_weights(w, wn->OC, wn->C);
    semseg_status st = u ? gemm_create(wn, u, err)
                         : ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", g->name);
    free(u);
    if (!st) st = wino_upload(wn, bias, err);
    if (st) {
        ocl_wino_destroy(wn);
        return st;
    }
    /* V, the inner scratch and M, each 256-byte aligned. */
    wn->v_bytes = (wn->v_bytes + 255) / 256 * 256;
    wn->gemm_scratch = (wn->gemm_scratch + 255) / 256 * 256;
    *scratch_bytes = wn->v_bytes + wn->gemm_scratch + wn->m_bytes;
    *out = wn;
    return SEMSEG_STATUS_OK;
}

semseg_status ocl_wino_run(ocl_wino *wn, const semseg_tensor *x, const semseg_tensor *res, cl_int has_res,
                           int act, float lo, float hi, const semseg_tensor *y,
                           const semseg_tensor *scratch, char *err)
{
    cl_mem sm = ocl_mem(scratch);
    size_t base = scratch->offset;
    semseg_tensor vt = {scratch->buffer, base, SEMSEG_DTYPE_FLOAT, 4, wn->v_dims, 0};
    semseg_tensor mt = {scratch->buffer, base + wn->v_bytes + wn->gemm_scratch, SEMSEG_DTYPE_FLOAT, 4,
                        wn->m_dims, 0};
    wn->gs_dims[0] = (int64_t)wn->gemm_scratch;
    semseg_tensor gs = {scratch->buffer, base + wn->v_bytes, SEMSEG_DTYPE_UINT8, 1, wn->gs_dims, 0};
    cl_int vo = ocl_off(&vt), mo = ocl_off(&mt);
    ocl_args a = {wn->k_in, 0, CL_SUCCESS};
    ocl_arg_tensor(&a, x);
    OCL_ARG(&a, sm);
    OCL_ARG(&a, vo);
    OCL_ARG(&a, wn->top);
    OCL_ARG(&a, wn->left);
    int vi[] = {wn->C, wn->H, wn->W, wn->TX, wn->T, wn->dh, wn->dw, wn->pt, wn->pl};
    for (size_t i = 0; i < sizeof vi / sizeof vi[0]; i++) OCL_ARG(&a, vi[i]);
    if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", wn->name, err);
    size_t groups = ((size_t)wn->T + 7) / 8;
    semseg_status st = ocl_launch3(wn->ctx, wn->k_in, groups, (size_t)wn->C, (size_t)wn->N, wn->name, err);
    if (!st) st = ocl_ops_with_scratch[0].run_scratch(wn->gemm, &vt, 1, &mt, 1, &gs, err);
    if (st) return st;
    a = (ocl_args){wn->k_out, 0, CL_SUCCESS};
    OCL_ARG(&a, sm);
    OCL_ARG(&a, mo);
    OCL_ARG(&a, wn->bias);
    ocl_arg_tensor(&a, res);
    ocl_arg_tensor(&a, y);
    OCL_ARG(&a, wn->top);
    OCL_ARG(&a, wn->left);
    int vo2[] = {wn->OC, wn->OH, wn->OW, wn->TX, wn->T, wn->dh, wn->dw, act};
    for (size_t i = 0; i < sizeof vo2 / sizeof vo2[0]; i++) OCL_ARG(&a, vo2[i]);
    OCL_ARG(&a, lo);
    OCL_ARG(&a, hi);
    OCL_ARG(&a, has_res);
    if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", wn->name, err);
    return ocl_launch3(wn->ctx, wn->k_out, groups, (size_t)wn->OC, (size_t)wn->N, wn->name, err);
}
