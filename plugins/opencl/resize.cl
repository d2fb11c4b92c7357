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
