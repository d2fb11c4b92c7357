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

/* One output of the window at (oy, ox) of the plane xp. */
float pool_point(__global const float *xp, int H, int W, int oy, int ox, int KH, int KW,
                 int SH, int SW, int DH, int DW, int PT, int PL, int mode)
{
    int iy0 = oy * SH - PT, ix0 = ox * SW - PL, inside = 0;
    float acc = mode == POOL_MAX ? -INFINITY : 0.0f;
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
    return acc;
}

__kernel void pool2d(__global const float *x, int xo, __global float *y, int yo,
                     int NC, int H, int W, int OH, int OW,
                     int KH, int KW, int SH, int SW, int DH, int DW,
                     int PT, int PL, int mode)
{
    int ox = get_global_id(0);
    if (ox >= OW) return;
    int oy = get_global_id(1), nc = get_global_id(2), i = (nc * OH + oy) * OW + ox;
    __global const float *xp = x + xo + (size_t)nc * H * W;
    y[yo + i] = pool_point(xp, H, W, oy, ox, KH, KW, SH, SW, DH, DW, PT, PL, mode);
}

/* pool2d_v8_s1, pool2d_v8_s2: the same for dilation 1 along W and a
 * stride of 1 or 2 there (FCN's and PSPNet's 2x2 s2 pools, ResNet's 3x3
 * s2): a work-item computes 8 neighbouring outputs of a row (launch:
 * 8-column segment, oy, plane). When the 8 windows lie inside the row, a
 * tap is one vload8 (stride 1) or the even lanes of two (stride 2) and
 * one fmax/add; rows outside the input are skipped as a whole. A segment
 * whose windows cross the row's ends takes the per-output loop of pool2d.
 * PoCL runs pool2d one output per lane-free iteration (its loads are
 * conditional): 3-7x blas. */
#define POOL_LOAD1(p) vload8(0, (p))
/* lanes 0, 2, .., 14 of p, reading no further than p[14] */
#define POOL_LOAD2(p) (float8)(vload8(0, (p)).even, vload8(0, (p) + 7).odd)
#define POOL_V8(NAME, SW) \
__kernel void NAME(__global const float *x, int xo, __global float *y, int yo, \
                   int NC, int H, int W, int OH, int OW, int KH, int KW, int SH, int DH, \
                   int PT, int PL, int mode) \
{ \
    int ox0 = get_global_id(0) * 8; \
    if (ox0 >= OW) return; \
    int oy = get_global_id(1), nc = get_global_id(2); \
    __global const float *xp = x + xo + (size_t)nc * H * W; \
    __global float *yr = y + yo + ((size_t)nc * OH + oy) * OW; \
    int ix0 = ox0 * SW - PL, iy0 = oy * SH - PT; \
    if (ix0 < 0 || ox0 + 8 > OW || ix0 + 7 * SW + KW - 1 >= W) { \
        for (int i = 0; i < 8 && ox0 + i < OW; i++) \
            yr[ox0 + i] = pool_point(xp, H, W, oy, ox0 + i, KH, KW, SH, SW, DH, 1, PT, PL, mode); \
        return; \
    } \
    int max = mode == POOL_MAX, rows = 0; \
    float8 acc = (float8)(max ? -INFINITY : 0.0f); \
    for (int ky = 0; ky < KH; ky++) { \
        int iy = iy0 + ky * DH; \
        if (iy < 0 || iy >= H) continue; \
        rows++; \
        __global const float *p = xp + (size_t)iy * W + ix0; \
        for (int kx = 0; kx < KW; kx++) { \
            float8 v = POOL_LOAD##SW(p + kx); \
            acc = max ? fmax(acc, v) : acc + v; \
        } \
    } \
    if (mode == POOL_AVG) acc = rows ? acc / (float)(rows * KW) : (float8)(0.0f); \
    if (mode == POOL_AVG_PAD) acc /= (float)(KH * KW); \
    vstore8(acc, 0, yr + ox0); \
}
POOL_V8(pool2d_v8_s1, 1)
POOL_V8(pool2d_v8_s2, 2)

/* 8 lanes at a time with two accumulators (a scalar chain of dependent
 * adds waits on the add latency: 8x slower on a 16x16 map). */
__kernel void global_pool(__global const float *x, int xo, __global float *y, int yo,
                          int NC, int HW, int mode)
{
    int i = get_global_id(0);
    if (i >= NC) return;
    __global const float *xp = x + xo + (size_t)i * HW;
    int max = mode == POOL_MAX, j = 0;
    float8 a0 = (float8)(max ? -INFINITY : 0.0f), a1 = a0;
    for (; j + 16 <= HW; j += 16) {
        float8 u = vload8(0, xp + j), v = vload8(1, xp + j);
        a0 = max ? fmax(a0, u) : a0 + u;
        a1 = max ? fmax(a1, v) : a1 + v;
    }
    for (; j + 8 <= HW; j += 8) a0 = max ? fmax(a0, vload8(0, xp + j)) : a0 + vload8(0, xp + j);
    a0 = max ? fmax(a0, a1) : a0 + a1;
    float4 h = max ? fmax(a0.lo, a0.hi) : a0.lo + a0.hi;
    float2 q = max ? fmax(h.lo, h.hi) : h.lo + h.hi;
    float acc = max ? fmax(q.x, q.y) : q.x + q.y;
    for (; j < HW; j++) acc = max ? fmax(acc, xp[j]) : acc + xp[j];
    y[yo + i] = max ? acc : acc / HW;
}
