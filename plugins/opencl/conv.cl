/*
 * 2-D convolution, NCHW, with the fused epilogue y = act(conv + bias + res).
 *
 * The unit of work is a tile of 16 output channels x 6 neighbouring output
 * pixels: 12 float8 accumulators, what a 16-register AVX2 core holds. One tap
 * loads a 16-channel weight vector (packed by conv.c as
 * [group][oc block][ci][ky][kx][16]) and 6 input values and does 12 FMAs.
 *
 * conv2d: a work-item owns a band of RB output rows of one 16-channel block.
 * It walks the input channels in chunks of CK (chosen by conv.c so that a
 * chunk's weights, CK*KH*KW*16 floats, stay in the L1/L2 cache) and, per
 * chunk, every tile of every row of its band, keeping the partial sums in y
 * between chunks. So the weights of a chunk are read from cache for the whole
 * band instead of being streamed from memory for every 6 pixels (or every
 * row), which is what limits a deep layer (2048 input channels x 3x3 is
 * 1.2 MB of weights per block: one row per work-item streamed it 32 times
 * per block on a 32x32 map). Tiles whose 6
 * pixels stay inside the row take a loop without bounds checks; kernel rows
 * and columns of a dilated convolution that fall wholly into the padding are
 * never visited.
 * conv2d_1x1: 1x1, stride 1, unpadded: the same over segments of the
 * flattened plane (a matrix product), no bounds checks inside a tile.
 * dwconv2d: depthwise (one input and one output channel per group), 4 pixels
 * per work-item, weights in ONNX order [C][ky][kx].
 */
#define CONV_TW 6
#define CONV_SEG 96 /* pixels per conv2d_1x1 work-item: 16 tiles */

/* One tap: a 16-channel weight vector times 6 input values. */
#define CONV_STEP(V0, V1, V2, V3, V4, V5) \
    { float8 wl = vload8(0, wp), wh = vload8(1, wp); wp += 16; \
      float v; \
      v = (V0); a0l = fma((float8)(v), wl, a0l); a0h = fma((float8)(v), wh, a0h); \
      v = (V1); a1l = fma((float8)(v), wl, a1l); a1h = fma((float8)(v), wh, a1h); \
      v = (V2); a2l = fma((float8)(v), wl, a2l); a2h = fma((float8)(v), wh, a2h); \
      v = (V3); a3l = fma((float8)(v), wl, a3l); a3h = fma((float8)(v), wh, a3h); \
      v = (V4); a4l = fma((float8)(v), wl, a4l); a4h = fma((float8)(v), wh, a4h); \
      v = (V5); a5l = fma((float8)(v), wl, a5l); a5h = fma((float8)(v), wh, a5h); }

/* Starts a tile whose first output is yp (channel j at yp[j * plane]): from
 * the bias on the first chunk, else from the partial sums left in y. */
#define CONV_TILE_LOAD(first, blk, yp, plane, nj, nt) \
    if (first) { \
        a0l = vload8(2 * (blk), bias); a0h = vload8(2 * (blk) + 1, bias); \
        a1l = a2l = a3l = a4l = a5l = a0l; a1h = a2h = a3h = a4h = a5h = a0h; \
    } else { \
        float acc[CONV_TW][16]; \
        for (int t = 0; t < CONV_TW; t++) \
            for (int j = 0; j < 16; j++) \
                acc[t][j] = (j < (nj) && t < (nt)) ? (yp)[(size_t)j * (plane) + t] : 0.0f; \
        a0l = vload8(0, acc[0]); a0h = vload8(1, acc[0]); a1l = vload8(0, acc[1]); a1h = vload8(1, acc[1]); \
        a2l = vload8(0, acc[2]); a2h = vload8(1, acc[2]); a3l = vload8(0, acc[3]); a3h = vload8(1, acc[3]); \
        a4l = vload8(0, acc[4]); a4h = vload8(1, acc[4]); a5l = vload8(0, acc[5]); a5h = vload8(1, acc[5]); \
    }

/* Ends a tile: partial sums back to y, or after the last chunk the result
 * with the residual (rp, same layout as yp) and the activation. */
#define CONV_TILE_SAVE(last, rp, yp, plane, nj, nt) \
    { float acc[CONV_TW][16]; \
      vstore8(a0l, 0, acc[0]); vstore8(a0h, 1, acc[0]); vstore8(a1l, 0, acc[1]); vstore8(a1h, 1, acc[1]); \
      vstore8(a2l, 0, acc[2]); vstore8(a2h, 1, acc[2]); vstore8(a3l, 0, acc[3]); vstore8(a3h, 1, acc[3]); \
      vstore8(a4l, 0, acc[4]); vstore8(a4h, 1, acc[4]); vstore8(a5l, 0, acc[5]); vstore8(a5h, 1, acc[5]); \
      for (int j = 0; j < (nj); j++) \
          for (int t = 0; t < (nt); t++) { \
              size_t o = (size_t)j * (plane) + t; \
              float r = acc[t][j]; \
              if (last) { \
                  if (has_res) r += (rp)[o]; \
                  r = ocl_act(r, act, lo, hi); \
              } \
              (yp)[o] = r; \
          } }

__kernel void conv2d(__global const float *x, int xo, __global const float *w,
                     __global const float *bias, __global const float *res, int ro,
                     __global float *y, int yo,
                     int C, int H, int W, int OC, int OH, int OW,
                     int G, int Cg, int OCg, int OCB,
                     int KH, int KW, int SH, int SW, int DH, int DW, int PT, int PL,
                     int act, float lo, float hi, int has_res, int CK, int RB)
{
    int oy0 = get_global_id(0) * RB;
    if (oy0 >= OH) return;
    int oy1 = min(OH, oy0 + RB);
    int q = get_global_id(1);
    int ob = q % OCB, g = (q / OCB) % G, n = q / (OCB * G);
    int blk = g * OCB + ob, nj = min(16, OCg - ob * 16);
    size_t plane = (size_t)OH * OW;
    size_t obase = ((size_t)n * OC + (size_t)g * OCg + ob * 16) * plane;
    __global const float *xg = x + xo + ((size_t)n * C + (size_t)g * Cg) * H * W;
    __global const float *wg = w + (size_t)blk * Cg * KH * KW * 16;
    float8 a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h;
    for (int c0 = 0; c0 < Cg; c0 += CK) {
      int c1 = min(Cg, c0 + CK);
      for (int oy = oy0; oy < oy1; oy++) {
        __global float *yrow = y + yo + obase + (size_t)oy * OW;
        __global const float *rrow = res + ro + obase + (size_t)oy * OW;
        int iy0 = oy * SH - PT;
        /* Kernel rows that land inside the input (dilated convolutions on
         * small maps skip most of them). */
        int kya = 0, kyb = KH;
        while (kya < KH && iy0 + kya * DH < 0) kya++;
        while (kyb > kya && iy0 + (kyb - 1) * DH >= H) kyb--;
        for (int ox0 = 0; ox0 < OW; ox0 += CONV_TW) {
            int nt = min(CONV_TW, OW - ox0);
            CONV_TILE_LOAD(c0 == 0, blk, yrow + ox0, plane, nj, nt)
            int ix0 = ox0 * SW - PL;
            int interior = ix0 >= 0 && ix0 + (CONV_TW - 1) * SW + (KW - 1) * DW < W;
            /* Kernel columns that touch this tile at all. */
            int kxa = 0, kxb = KW;
            while (kxa < KW && ix0 + kxa * DW + (CONV_TW - 1) * SW < 0) kxa++;
            while (kxb > kxa && ix0 + (kxb - 1) * DW >= W) kxb--;
            __global const float *xp = xg + (size_t)c0 * H * W;
            for (int ci = c0; ci < c1; ci++, xp += (size_t)H * W) {
                for (int ky = kya; ky < kyb; ky++) {
                    __global const float *row = xp + (size_t)(iy0 + ky * DH) * W;
                    __global const float *wp = wg + (((size_t)ci * KH + ky) * KW + kxa) * 16;
                    if (interior) {
                        for (int kx = 0; kx < KW; kx++) {
                            __global const float *r = row + ix0 + kx * DW;
                            CONV_STEP(r[0], r[SW], r[2 * SW], r[3 * SW], r[4 * SW], r[5 * SW]);
                        }
                        continue;
                    }
                    for (int kx = kxa; kx < kxb; kx++) {
                        int ix = ix0 + kx * DW, last = ix + (CONV_TW - 1) * SW;
                        if (ix >= 0 && last < W) {
                            __global const float *r = row + ix;
                            CONV_STEP(r[0], r[SW], r[2 * SW], r[3 * SW], r[4 * SW], r[5 * SW]);
                            continue;
                        }
#define CONV_AT(t) ((ix + (t) * SW >= 0 && ix + (t) * SW < W) ? row[ix + (t) * SW] : 0.0f)
                        CONV_STEP(CONV_AT(0), CONV_AT(1), CONV_AT(2), CONV_AT(3), CONV_AT(4),
                                  CONV_AT(5));
#undef CONV_AT
                    }
                }
            }
            CONV_TILE_SAVE(c1 == Cg, rrow + ox0, yrow + ox0, plane, nj, nt)
        }
      }
    }
}

__kernel void conv2d_1x1(__global const float *x, int xo, __global const float *w,
                         __global const float *bias, __global const float *res, int ro,
                         __global float *y, int yo,
                         int C, int HW, int OC, int G, int Cg, int OCg, int OCB,
                         int act, float lo, float hi, int has_res, int CK)
{
    int s0 = get_global_id(0) * CONV_SEG;
    if (s0 >= HW) return;
    int s1 = min(HW, s0 + CONV_SEG);
    int q = get_global_id(1);
    int ob = q % OCB, g = (q / OCB) % G, n = q / (OCB * G);
    int blk = g * OCB + ob, nj = min(16, OCg - ob * 16);
    size_t obase = ((size_t)n * OC + (size_t)g * OCg + ob * 16) * HW;
    __global float *yp0 = y + yo + obase;
    __global const float *rp0 = res + ro + obase;
    __global const float *xg = x + xo + ((size_t)n * C + (size_t)g * Cg) * HW;
    __global const float *wg = w + (size_t)blk * Cg * 16;
    float8 a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h;
    for (int c0 = 0; c0 < Cg; c0 += CK) {
        int c1 = min(Cg, c0 + CK);
        for (int o0 = s0; o0 < s1; o0 += CONV_TW) {
            int nt = min(CONV_TW, s1 - o0);
            CONV_TILE_LOAD(c0 == 0, blk, yp0 + o0, HW, nj, nt)
            __global const float *wp = wg + (size_t)c0 * 16;
            __global const float *xp = xg + (size_t)c0 * HW + o0;
            if (nt == CONV_TW) {
                for (int ci = c0; ci < c1; ci++, xp += HW)
                    CONV_STEP(xp[0], xp[1], xp[2], xp[3], xp[4], xp[5]);
            } else {
                for (int ci = c0; ci < c1; ci++, xp += HW)
                    CONV_STEP(xp[0], nt > 1 ? xp[1] : 0.0f, nt > 2 ? xp[2] : 0.0f,
                              nt > 3 ? xp[3] : 0.0f, nt > 4 ? xp[4] : 0.0f, 0.0f);
            }
            CONV_TILE_SAVE(c1 == Cg, rp0 + o0, yp0 + o0, HW, nj, nt)
        }
    }
}

#define DW_TW 4

__kernel void dwconv2d(__global const float *x, int xo, __global const float *w,
                       __global const float *bias, __global const float *res, int ro,
                       __global float *y, int yo,
                       int C, int H, int W, int OH, int OW,
                       int KH, int KW, int SH, int SW, int DH, int DW, int PT, int PL,
                       int act, float lo, float hi, int has_res)
{
    int OWB = (OW + DW_TW - 1) / DW_TW;
    int p = get_global_id(0);
    if (p >= OH * OWB) return;
    int q = get_global_id(1); /* n * C + c */
    int c = q % C;
    int oy = p / OWB, ox0 = (p % OWB) * DW_TW;
    float b = bias[c];
    float4 a = (float4)(b);
    __global const float *xp = x + xo + (size_t)q * H * W;
    __global const float *wp = w + (size_t)c * KH * KW;
    int iy0 = oy * SH - PT, ix0 = ox0 * SW - PL;
    for (int ky = 0; ky < KH; ky++) {
        int iy = iy0 + ky * DH;
        if (iy < 0 || iy >= H) continue;
        __global const float *row = xp + (size_t)iy * W;
        for (int kx = 0; kx < KW; kx++) {
            float wv = wp[ky * KW + kx];
            int ix = ix0 + kx * DW;
            float4 v;
            v.s0 = (ix >= 0 && ix < W) ? row[ix] : 0.0f;
            ix += SW;
            v.s1 = (ix >= 0 && ix < W) ? row[ix] : 0.0f;
            ix += SW;
            v.s2 = (ix >= 0 && ix < W) ? row[ix] : 0.0f;
            ix += SW;
            v.s3 = (ix >= 0 && ix < W) ? row[ix] : 0.0f;
            a = fma(v, (float4)(wv), a);
        }
    }
    float acc[4];
    vstore4(a, 0, acc);
    int nt = min(DW_TW, OW - ox0);
    size_t o = (size_t)q * OH * OW + (size_t)oy * OW + ox0;
    for (int t = 0; t < nt; t++) {
        float v = acc[t];
        if (has_res) v += res[ro + o + t];
        y[yo + o + t] = ocl_act(v, act, lo, hi);
    }
}

/* dwconv2d_k3, dwconv2d_k5: depthwise with a square 3x3 or 5x5 kernel (all
 * of MobileNetV3's), 8 neighbouring output pixels of one row per work-item
 * on a 3-D launch (8-pixel segment, row, n*C + c). Explicit float8 vectors:
 * PoCL does not vectorise a body whose loads are conditional or gathered
 * (checked in its kernel cache), which every border-aware scalar form is.
 * Stride 1 only (conv.c): a tap whose 8 inputs lie inside the row is one
 * vload8; a tap that crosses a border goes through a zero-filled private
 * copy. (A stride-2 variant with vload16().even lost to
 * dwconv2d: on a 32-wide map half its segments touch a border.) The kernel
 * size is a compile-time constant so the tap loops unroll. */
#define DW_FIXED(NAME, K) \
__kernel void NAME(__global const float *x, int xo, __global const float *w, \
                   __global const float *bias, __global const float *res, int ro, \
                   __global float *y, int yo, int C, int H, int W, int OH, int OW, \
                   int SH, int DH, int DW, int PT, int PL, \
                   int act, float lo, float hi, int has_res) \
{ \
    int oy = get_global_id(1), q = get_global_id(2), c = q % C; \
    int ox0 = get_global_id(0) * 8; \
    if (ox0 >= OW) return; \
    __global const float *xp = x + xo + (size_t)q * H * W; \
    __global const float *wp = w + (size_t)c * (K * K); \
    int iy0 = oy * SH - PT, ix0 = ox0 - PL; \
    float8 a = (float8)(bias[c]); \
    _Pragma("unroll") for (int ky = 0; ky < K; ky++) { \
        int iy = iy0 + ky * DH; \
        if (iy < 0 || iy >= H) continue; \
        __global const float *row = xp + (size_t)iy * W; \
        _Pragma("unroll") for (int kx = 0; kx < K; kx++) { \
            int ix = ix0 + kx * DW; \
            float8 v; \
            if (ix >= 0 && ix + 7 < W) { \
                v = vload8(0, row + ix); \
            } else { \
                float t[8]; \
                for (int i = 0; i < 8; i++) { \
                    int j = ix + i; \
                    t[i] = j >= 0 && j < W ? row[j] : 0.0f; \
                } \
                v = vload8(0, t); \
            } \
            a = fma(v, (float8)(wp[ky * K + kx]), a); \
        } \
    } \
    float r[8]; \
    vstore8(a, 0, r); \
    int nt = min(8, OW - ox0); \
    size_t o = ((size_t)q * OH + oy) * OW + ox0; \
    for (int i = 0; i < nt; i++) { \
        float v = r[i]; \
        if (has_res) v += res[ro + o + i]; \
        y[yo + o + i] = ocl_act(v, act, lo, hi); \
    } \
}
DW_FIXED(dwconv2d_k3, 3)
DW_FIXED(dwconv2d_k5, 5)
