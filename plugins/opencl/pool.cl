/*
 * Pooling. pool2d: one work-item per output element of MaxPool or
 * AveragePool; taps outside the input are skipped. The average divides by the
 * number of taps inside the input (count_include_pad = 0) or by the whole
 * kernel (count_include_pad = 1), even for a last window that ceil_mode lets
 * run past the end padding: ONNX's reference and ONNX Runtime do so, PyTorch
 * does not (it stops at the padding). global_pool: one work-item per (n, c)
 * plane. pool2d is launched over (ox, oy, plane).
 */
#define POOL_MAX 0
#define POOL_AVG 1
#define POOL_AVG_PAD 2

__kernel void pool2d(__global const float *x, int xo, __global float *y, int yo,
                     int NC, int H, int W, int OH, int OW,
                     int KH, int KW, int SH, int SW, int DH, int DW,
                     int PT, int PL, int mode)
{
    int ox = get_global_id(0);
    if (ox >= OW) return;
    int oy = get_global_id(1), nc = get_global_id(2), i = (nc * OH + oy) * OW + ox;
    __global const float *xp = x + xo + (size_t)nc * H * W;
    int iy0 = oy * SH - PT, ix0 = ox * SW - PL;
    float acc = mode == POOL_MAX ? -INFINITY : 0.0f;
    int inside = 0;
    for (int ky = 0; ky < KH; ky++) {
        int iy = iy0 + ky * DH;
        if (iy < 0 || iy >= H) continue;
        for (int kx = 0; kx < KW; kx++) {
            int ix = ix0 + kx * DW;
            if (ix < 0 || ix >= W) continue;
            float v = xp[iy * W + ix];
            inside++;
            acc = mode == POOL_MAX ? fmax(acc, v) : acc + v;
        }
    }
    if (mode == POOL_AVG) acc = inside ? acc / inside : 0.0f;
    if (mode == POOL_AVG_PAD) acc /= KH * KW;
    y[yo + i] = acc;
}

__kernel void global_pool(__global const float *x, int xo, __global float *y, int yo,
                          int NC, int HW, int mode)
{
    int i = get_global_id(0);
    if (i >= NC) return;
    __global const float *xp = x + xo + (size_t)i * HW;
    float acc = mode == POOL_MAX ? -INFINITY : 0.0f;
    for (int j = 0; j < HW; j++) acc = mode == POOL_MAX ? fmax(acc, xp[j]) : acc + xp[j];
    y[yo + i] = mode == POOL_MAX ? acc : acc / HW;
}
