/*
 * ConvTranspose, 2-D NCHW, as a gather: output (oy, ox) sums the taps (ky, kx)
 * for which oy + pad_top - ky*dh is a non-negative multiple of sh landing
 * inside the input, and the same for x. With dilation 1 the taps that can hit
 * are ky = (oy + pad_top) mod sh, stepping by sh, each reading the input row
 * one above the previous, so a stride-32 upsampler visits 2 of its 64 rows. Weights are packed by
 * conv_transpose.c as [group][oc in group][ky][kx][ci] so the innermost loop
 * reads them contiguously. One work-item per output position and channel,
 * launched over (ox, oy, oc), looping over the batch; y = act(. + res).
 */
/* The sum for output (oy, ox) of one channel: xp is the group's first input
 * plane, wg the channel's packed weights, start the table described above. */
float convt_point(__global const float *xp, __global const float *wg, __global const int *start,
                  int oy, int ox, int H, int W, int OH, int Cg, int KH, int KW,
                  int SH, int SW, int DH, int DW, int PT, int PL)
{
    float acc = 0.0f;
    if (DH == 1 && DW == 1) {
        /* ky = ty mod SH + k*SH reads input row ty / SH - k (ty = oy + PT):
         * conv_transpose.c tabulated (ty mod SH, ty / SH) per row and column,
         * so nothing is divided here (integer division dominated this kernel). */
        int2 sy = vload2(oy, start), sx = vload2(OH + ox, start);
        for (int ky = sy.x, iy = sy.y; ky < KH && iy >= 0; ky += SH, iy--) {
            if (iy >= H) continue;
            for (int kx = sx.x, ix = sx.y; kx < KW && ix >= 0; kx += SW, ix--) {
                if (ix >= W) continue;
                __global const float *wp = wg + ((size_t)ky * KW + kx) * Cg;
                __global const float *xq = xp + (size_t)iy * W + ix;
                for (int ci = 0; ci < Cg; ci++) acc = mad(xq[(size_t)ci * H * W], wp[ci], acc);
            }
        }
        return acc;
    }
    int ty = oy + PT, tx = ox + PL;
    for (int ky = 0; ky < KH; ky++) {
        int t = ty - ky * DH;
        if (t < 0) break;
        if (t % SH) continue;
        int iy = t / SH;
        if (iy >= H) continue;
        for (int kx = 0; kx < KW; kx++) {
            int u = tx - kx * DW;
            if (u < 0) break;
            if (u % SW) continue;
            int ix = u / SW;
            if (ix >= W) continue;
            __global const float *wp = wg + ((size_t)ky * KW + kx) * Cg;
            __global const float *xq = xp + (size_t)iy * W + ix;
            for (int ci = 0; ci < Cg; ci++) acc = mad(xq[(size_t)ci * H * W], wp[ci], acc);
        }
    }
    return acc;
}

__kernel void conv_transpose2d(__global const float *x, int xo, __global const float *w,
                               __global const float *bias, __global const float *res, int ro,
                               __global float *y, int yo, __global const int *start,
                               int N, int C, int H, int W, int OC, int OH, int OW, int Cg, int OCg,
                               int KH, int KW, int SH, int SW, int DH, int DW, int PT, int PL,
                               int act, float lo, float hi, int has_res)
{
    int ox = get_global_id(0);
    if (ox >= OW) return;
    int oy = get_global_id(1), oc = get_global_id(2);
    int g = OCg == OC ? 0 : oc / OCg, m = oc - g * OCg;
    __global const float *wg = w + ((size_t)g * OCg + m) * KH * KW * Cg;
    for (int n = 0; n < N; n++) {
        __global const float *xp = x + xo + ((size_t)n * C + (size_t)g * Cg) * H * W;
        size_t i = (((size_t)n * OC + oc) * OH + oy) * OW + ox;
        float acc = bias[oc] + convt_point(xp, wg, start, oy, ox, H, W, OH, Cg, KH, KW,
                                           SH, SW, DH, DW, PT, PL);
        if (has_res) acc += res[ro + i];
        y[yo + i] = ocl_act(acc, act, lo, hi);
    }
}
