/*
 * Resize of the two spatial dims of NCHW. Where each output row/column reads
 * from was worked out once on the host (resize.c), for every coordinate
 * transformation and nearest mode: these kernels only gather. An index of -1
 * means "outside the crop" (tf_crop_and_resize) and yields extrap. 3-D
 * launch: output column, output row, (n, c) plane.
 * resize_nearest: idx = [OH rows][OW cols].
 * resize_linear:  idx = [OH][2] row pairs then [OW][2] column pairs,
 *                 wt = [OH] row weights then [OW] column weights.
 */
__kernel void resize_nearest(__global const float *x, int xo, __global float *y, int yo,
                             int NC, int H, int W, int OH, int OW,
                             __global const int *idx, float extrap)
{
    int ox = get_global_id(0);
    if (ox >= OW) return;
    int oy = get_global_id(1), nc = get_global_id(2), i = (nc * OH + oy) * OW + ox;
    int iy = idx[oy], ix = idx[OH + ox];
    y[yo + i] = (iy < 0 || ix < 0) ? extrap : x[xo + ((size_t)nc * H + iy) * W + ix];
}

__kernel void resize_linear(__global const float *x, int xo, __global float *y, int yo,
                            int NC, int H, int W, int OH, int OW,
                            __global const int *idx, __global const float *wt, float extrap)
{
    int ox = get_global_id(0);
    if (ox >= OW) return;
    int oy = get_global_id(1), nc = get_global_id(2), i = (nc * OH + oy) * OW + ox;
    int y0 = idx[2 * oy], y1 = idx[2 * oy + 1];
    int x0 = idx[2 * OH + 2 * ox], x1 = idx[2 * OH + 2 * ox + 1];
    if (y0 < 0 || x0 < 0) {
        y[yo + i] = extrap;
        return;
    }
    float wy = wt[oy], wx = wt[OH + ox];
    __global const float *p = x + xo + (size_t)nc * H * W;
    float top = p[y0 * W + x0] * (1.0f - wx) + p[y0 * W + x1] * wx;
    float bot = p[y1 * W + x0] * (1.0f - wx) + p[y1 * W + x1] * wx;
    y[yo + i] = top * (1.0f - wy) + bot * wy;
}

/* resize_linear_band: linear modes without a crop (no -1 in the tables),
 * separable and vectorised. A work-group owns a band of RB output rows of
 * Gc planes (local size (L, 1, Gc) on a launch of (L, bands, N*C)). First
 * each input row the band reads, ytab[oy0][0] .. ytab[oy1-1][1], is
 * resized along W into local memory (8 outputs per step: two gathers of 8
 * and one FMA; the tables are padded to OWP, a multiple of 8); then each
 * output row is the blend of two of those rows, 8 columns per vload8. The
 * gathers, which PoCL runs element by element, so happen once per input
 * row instead of four times per output pixel. resize.c sizes NR (local
 * rows per plane) for the tallest band.
 * ytab = [OH][2] row pairs, ywt = [OH]; xtab = [2][OWP] (left columns, then
 * right columns), xwt = [OWP]. */
#define GATHER8(p, i) \
    (float8)((p)[(i).s0], (p)[(i).s1], (p)[(i).s2], (p)[(i).s3], \
             (p)[(i).s4], (p)[(i).s5], (p)[(i).s6], (p)[(i).s7])

__kernel void resize_linear_band(__global const float *x, int xo, __global float *y, int yo,
                                 __local float *buf, int H, int W, int OH, int OW, int OWP,
                                 int RB, int NR, __global const int *ytab,
                                 __global const float *ywt, __global const int *xtab,
                                 __global const float *xwt)
{
    int lx = get_local_id(0), L = get_local_size(0);
    int q = get_global_id(2);
    int oy0 = get_global_id(1) * RB, oy1 = min(OH, oy0 + RB);
    __local float *lb = buf + (size_t)get_local_id(2) * NR * OWP;
    __global const float *xp = x + xo + (size_t)q * H * W;
    int ylo = ytab[2 * oy0], nrow = ytab[2 * (oy1 - 1) + 1] - ylo + 1;
    for (int r = 0; r < nrow; r++) {
        __global const float *row = xp + (size_t)(ylo + r) * W;
        for (int ox = lx * 8; ox < OWP; ox += L * 8) {
            int8 i0 = vload8(0, xtab + ox), i1 = vload8(0, xtab + OWP + ox);
            float8 a = GATHER8(row, i0), b = GATHER8(row, i1);
            vstore8(fma(b - a, vload8(0, xwt + ox), a), 0, lb + r * OWP + ox);
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    int nfull = OW / 8 * 8;
    for (int oy = oy0; oy < oy1; oy++) {
        __local const float *p0 = lb + (ytab[2 * oy] - ylo) * OWP;
        __local const float *p1 = lb + (ytab[2 * oy + 1] - ylo) * OWP;
        float8 wy = (float8)(ywt[oy]);
        __global float *yr = y + yo + ((size_t)q * OH + oy) * OW;
        for (int ox = lx * 8; ox < nfull; ox += L * 8) {
            float8 a = vload8(0, p0 + ox);
            vstore8(fma(vload8(0, p1 + ox) - a, wy, a), 0, yr + ox);
        }
        if (lx == 0)
            for (int ox = nfull; ox < OW; ox++) yr[ox] = fma(p1[ox] - p0[ox], wy.s0, p0[ox]);
    }
}
