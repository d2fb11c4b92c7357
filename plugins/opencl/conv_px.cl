/*
 * conv1x1_px: a pointwise convolution (1x1, stride 1, no padding, one
 * group) with few input channels, straight from NCHW, y = act(W x + b +
 * res). conv.c sends MobileNetV3's expansions and projections here
 * (16-120 input channels on 16x16 to 128x128 maps).
 *
 * conv2d_cb's tile is 16 output channels x 6 pixels with the pixels
 * broadcast: its input must first be copied into channel-blocked panels
 * (a read and a write of the whole input), and its output leaves as 96
 * scalar stores per tile. With a short reduction (K = 16-120) those two
 * cost as much as the FMAs. Here the tile is turned around: 6 output
 * channels x 16 neighbouring pixels, 12 float8 accumulators; per input
 * channel, two vload8 of the pixels (contiguous in NCHW, no pack) and six
 * broadcast weights (packed [oc block][C][6] by conv_tiles.c), 12 FMAs; each
 * output channel leaves as two vector stores. A work-item owns one
 * 16-pixel column of the map and walks every block of 6 output channels,
 * or BPW of them, so its inputs (16 x C floats) stay in cache (launch:
 * pixel tile, n x ceil(OCB / BPW); conv_tiles.c splits the output channels when
 * a small map has too few tiles to keep every thread busy).
 */
#define PW_OC 6
#define PW_PX 16

/* Output channel m of the block: the bias, the residual, the activation. */
#define PW_STORE(m, lo8, hi8) \
    if (oc + (m) < OC) { \
        size_t o = ob + (size_t)(oc + (m)) * HW; \
        ocl_store8(lo8, rp, yp, o, n0, act, lo, hi, has_res); \
        if (n1 > 0) ocl_store8(hi8, rp, yp, o + 8, n1, act, lo, hi, has_res); \
    }

/* One input channel: pixel vectors u, v against the block's 6 weights. */
#define PW_STEP(u, v) \
    { float8 wv; \
      wv = (float8)(wp[0]); a0 = fma(wv, u, a0); b0 = fma(wv, v, b0); \
      wv = (float8)(wp[1]); a1 = fma(wv, u, a1); b1 = fma(wv, v, b1); \
      wv = (float8)(wp[2]); a2 = fma(wv, u, a2); b2 = fma(wv, v, b2); \
      wv = (float8)(wp[3]); a3 = fma(wv, u, a3); b3 = fma(wv, v, b3); \
      wv = (float8)(wp[4]); a4 = fma(wv, u, a4); b4 = fma(wv, v, b4); \
      wv = (float8)(wp[5]); a5 = fma(wv, u, a5); b5 = fma(wv, v, b5); \
      wp += PW_OC; }

__kernel void conv1x1_px(__global const float *x, int xo, __global const float *w,
                         __global const float *bias, __global const float *res, int ro,
                         __global float *y, int yo, int C, int HW, int OC, int OCB, int BPW,
                         int act, float lo, float hi, int has_res)
{
    int p0 = get_global_id(0) * PW_PX;
    if (p0 >= HW) return;
    int parts = (OCB + BPW - 1) / BPW, n = get_global_id(1) / parts;
    int blk0 = get_global_id(1) % parts * BPW, blk1 = min(OCB, blk0 + BPW);
    int np = min(PW_PX, HW - p0), n0 = min(8, np), n1 = np - n0;
    __global const float *xp = x + xo + (size_t)n * C * HW + p0;
    __global float *yp = y + yo;
    __global const float *rp = res + ro;
    size_t ob = (size_t)n * OC * HW + p0;
    for (int blk = blk0; blk < blk1; blk++) {
        int oc = blk * PW_OC;
        __global const float *wp = w + (size_t)blk * C * PW_OC;
        float8 a0 = (float8)(bias[oc]), a1 = (float8)(bias[oc + 1]), a2 = (float8)(bias[oc + 2]),
               a3 = (float8)(bias[oc + 3]), a4 = (float8)(bias[oc + 4]), a5 = (float8)(bias[oc + 5]);
        float8 b0 = a0, b1 = a1, b2 = a2, b3 = a3, b4 = a4, b5 = a5;
        if (np == PW_PX) {
            for (int c = 0; c < C; c++) {
                float8 u = vload8(0, xp + (size_t)c * HW), v = vload8(1, xp + (size_t)c * HW);
                PW_STEP(u, v)
            }
        } else { /* the map's last, partial column: zero-filled copies */
            for (int c = 0; c < C; c++) {
                float t[PW_PX];
                for (int i = 0; i < PW_PX; i++) t[i] = i < np ? xp[(size_t)c * HW + i] : 0.0f;
                float8 u = vload8(0, t), v = vload8(1, t);
                PW_STEP(u, v)
            }
        }
        PW_STORE(0, a0, b0)
        PW_STORE(1, a1, b1)
        PW_STORE(2, a2, b2)
        PW_STORE(3, a3, b3)
        PW_STORE(4, a4, b4)
        PW_STORE(5, a5, b5)
    }
}

/* convk_px_s1, convk_px_s2: the same tile (6 output channels x 16
 * pixels of a row) for any window over few input channels (Cg < 8, one
 * group: the RGB stems) with a stride of 1 or 2 along W. As in
 * dw_tile_* (conv_dw.cl), a work-group first copies the input rows its
 * band of RB output rows reads, all C channels, zero-padded and for a
 * stride of 2 split into even and odd columns, into local memory; every
 * tap is then two vload8 without bounds checks. Local layout: channel c,
 * local row r, phase ph at lb[((c * NR + r) * SW + ph) * WQ]. Weights
 * packed [oc block][C][KH][KW][6]. Launch: (L, bands, n) with groups of
 * (L, 1, 1). */
#define PX_COPY1(src, d, p) vstore8(vload8(0, (src)) + 0.0f, 0, (d) + (p))
#define PX_COPY2(src, d, p) \
    { float8 lo8 = vload8(0, (src)), hi8 = vload8(1, (src)); \
      int p0 = (p), p1 = p0 + 1; \
      vstore8((float8)(lo8.even, hi8.even), 0, (d) + (p0 % 2) * WQ + p0 / 2); \
      vstore8((float8)(lo8.odd, hi8.odd), 0, (d) + (p1 % 2) * WQ + p1 / 2); }

#define CONVK_PX(NAME, SW) \
__kernel void NAME(__global const float *x, int xo, __global const float *w, \
                   __global const float *bias, __global const float *res, int ro, \
                   __global float *y, int yo, __local float *lb, \
                   int C, int H, int W, int OC, int OH, int OW, int OCB, \
                   int KH, int KW, int SH, int DH, int DW, int PT, int PL, \
                   int RB, int NR, int WQ, int act, float lo, float hi, int has_res) \
{ \
    int lx = get_local_id(0), L = get_local_size(0), n = get_global_id(2); \
    int oy0 = get_global_id(1) * RB, oy1 = min(OH, oy0 + RB), iy0 = oy0 * SH - PT; \
    __global const float *xn = x + xo + (size_t)n * C * H * W; \
    for (int cr = lx; cr < C * NR; cr += L) { \
        int c = cr / NR, iy = iy0 + cr - c * NR; \
        __local float *d = lb + cr * SW * WQ; \
        for (int j = 0; j < SW * WQ; j += 8) vstore8((float8)(0.0f), 0, d + j); \
        if (iy < 0 || iy >= H) continue; \
        __global const float *row = xn + ((size_t)c * H + iy) * W; \
        int ix = 0; \
        for (; ix + 8 * SW <= W; ix += 8 * SW) PX_COPY##SW(row + ix, d, ix + PL); \
        for (; ix < W; ix++) { \
            int p = ix + PL; \
            d[(p % SW) * WQ + p / SW] = row[ix]; \
        } \
    } \
    barrier(CLK_LOCAL_MEM_FENCE); \
    __global float *yp = y + yo; \
    __global const float *rp = res + ro; \
    int HW = OH * OW; \
    for (int oy = oy0; oy < oy1; oy++) \
    for (int p0 = lx * PW_PX; p0 < OW; p0 += L * PW_PX) { \
        int np = min(PW_PX, OW - p0), n0 = min(8, np), n1 = np - n0; \
        size_t ob = (size_t)n * OC * HW + (size_t)oy * OW + p0; \
        __local const float *l0 = lb + (oy - oy0) * SH * SW * WQ + p0; \
        for (int blk = 0; blk < OCB; blk++) { \
            int oc = blk * PW_OC; \
            __global const float *wp = w + (size_t)blk * C * KH * KW * PW_OC; \
            float8 a0 = (float8)(bias[oc]), a1 = (float8)(bias[oc + 1]), a2 = (float8)(bias[oc + 2]), \
                   a3 = (float8)(bias[oc + 3]), a4 = (float8)(bias[oc + 4]), a5 = (float8)(bias[oc + 5]); \
            float8 b0 = a0, b1 = a1, b2 = a2, b3 = a3, b4 = a4, b5 = a5; \
            for (int c = 0; c < C; c++) \
            for (int ky = 0; ky < KH; ky++) { \
                __local const float *lr = l0 + (c * NR + ky * DH) * SW * WQ; \
                for (int kx = 0; kx < KW; kx++) { \
                    int tx = kx * DW; \
                    __local const float *q = lr + (tx % SW) * WQ + tx / SW; \
                    float8 u = vload8(0, q), v = vload8(1, q); \
                    PW_STEP(u, v) \
                } \
            } \
            PW_STORE(0, a0, b0) \
            PW_STORE(1, a1, b1) \
            PW_STORE(2, a2, b2) \
            PW_STORE(3, a3, b3) \
            PW_STORE(4, a4, b4) \
            PW_STORE(5, a5, b5) \
        } \
    } \
}
CONVK_PX(convk_px_s1, 1)
CONVK_PX(convk_px_s2, 2)
