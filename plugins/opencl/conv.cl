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
 * conv2d and conv2d_1x1 serve convolutions with fewer than 8 input channels
 * per group (or a stride of 3 or more along W); the others take conv_pack +
 * conv2d_cb / conv2d_cb_s2 (below), which read channel-blocked copies of the
 * input from the node's scratch. Depthwise convolutions have their own
 * program (conv_dw.cl).
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

/* conv_pack + conv2d_cb: the path for convolutions with 8 or more input
 * channels per group (conv.c). conv2d reads a tile's 6 inputs of a tap from
 * an NCHW row and the next input channel from H*W floats further on, so every
 * FMA group touches new cache lines, 4 KB apart on a 32x32 map (which also
 * aliases in a set-associative L1). conv_pack first copies the input, once per
 * run, into the node's scratch as channel-blocked, zero-padded panels
 *     xp[n][g][cb][Hp][Wp][8]   (8 input channels per block, the padding of
 *                                the convolution included; channels past
 *                                Cg zero)
 * and conv2d_cb then reads for one tap and 8 input channels 6 pixels x 8
 * floats that lie together in 3-4 cache lines, with no bounds checks at all.
 * Weights are packed [group][oc block][cb][ky][kx][8][16], so a tap of a
 * block is 8 x 16 consecutive floats. Launch: dimension 0 over (band of RB
 * rows, segment of SEG output columns), dimension 1 over (n, group, oc block);
 * chunks of CK channel blocks as in conv2d, but the partial sums between
 * chunks kept in the scratch in register order (12 float8 per tile, no
 * transposition: reading them back from y cost ~10% on 2048 channels). A 1x1
 * stride-1 unpadded convolution runs as one row of H*W pixels (conv.c).
 * (Panels ordered [Hp][CB][Wp][8], a row's blocks side by side, measured
 * 0.6-0.9x on 1x1 convs of 16-64 channels but 1.1-1.4x on 512-2048: not
 * kept.) */
/* A work-item packs 8 neighbouring panel columns of one row and channel
 * block: inside the input, 8 row loads and an 8x8 transpose in registers;
 * elsewhere (borders, the padding, channels past Cg) element by element. */
__kernel void conv_pack(__global const float *x, int xo, __global float *xp, int xpo,
                        int C, int H, int W, int G, int Cg, int CB, int Hp, int Wp,
                        int PT, int PL)
{
    int px0 = get_global_id(0) * 8;
    if (px0 >= Wp) return;
    int py = get_global_id(1), q = get_global_id(2); /* q = (n * G + g) * CB + cb */
    int cb = q % CB, ng = q / CB, g = ng % G, n = ng / G;
    int iy = py - PT, ix0 = px0 - PL, c0 = cb * 8;
    size_t hw = (size_t)H * W;
    __global const float *src = x + xo + ((size_t)n * C + (size_t)g * Cg + c0) * hw;
    __global float *dst = xp + xpo + (((size_t)q * Hp + py) * Wp + px0) * 8;
    if (iy >= 0 && iy < H && ix0 >= 0 && ix0 + 8 <= W && px0 + 8 <= Wp && c0 + 8 <= Cg) {
        __global const float *s = src + (size_t)iy * W + ix0;
        float8 r0 = vload8(0, s), r1 = vload8(0, s + hw), r2 = vload8(0, s + 2 * hw),
               r3 = vload8(0, s + 3 * hw), r4 = vload8(0, s + 4 * hw), r5 = vload8(0, s + 5 * hw),
               r6 = vload8(0, s + 6 * hw), r7 = vload8(0, s + 7 * hw);
        vstore8((float8)(r0.s0, r1.s0, r2.s0, r3.s0, r4.s0, r5.s0, r6.s0, r7.s0), 0, dst);
        vstore8((float8)(r0.s1, r1.s1, r2.s1, r3.s1, r4.s1, r5.s1, r6.s1, r7.s1), 1, dst);
        vstore8((float8)(r0.s2, r1.s2, r2.s2, r3.s2, r4.s2, r5.s2, r6.s2, r7.s2), 2, dst);
        vstore8((float8)(r0.s3, r1.s3, r2.s3, r3.s3, r4.s3, r5.s3, r6.s3, r7.s3), 3, dst);
        vstore8((float8)(r0.s4, r1.s4, r2.s4, r3.s4, r4.s4, r5.s4, r6.s4, r7.s4), 4, dst);
        vstore8((float8)(r0.s5, r1.s5, r2.s5, r3.s5, r4.s5, r5.s5, r6.s5, r7.s5), 5, dst);
        vstore8((float8)(r0.s6, r1.s6, r2.s6, r3.s6, r4.s6, r5.s6, r6.s6, r7.s6), 6, dst);
        vstore8((float8)(r0.s7, r1.s7, r2.s7, r3.s7, r4.s7, r5.s7, r6.s7, r7.s7), 7, dst);
        return;
    }
    int npx = min(8, Wp - px0);
    int rowin = iy >= 0 && iy < H;
    for (int p = 0; p < npx; p++) {
        int ix = ix0 + p;
        int in = rowin && ix >= 0 && ix < W;
        for (int j = 0; j < 8; j++)
            dst[p * 8 + j] = in && c0 + j < Cg ? src[j * hw + (size_t)iy * W + ix] : 0.0f;
    }
}

/* One tap over a channel block: 8 steps, input channel j of pixel t at r[t * S8 + j]. */
#define CB_TAP(r, S8) \
    CONV_STEP(r[0], r[S8], r[2 * S8], r[3 * S8], r[4 * S8], r[5 * S8]) \
    CONV_STEP(r[1], r[S8 + 1], r[2 * S8 + 1], r[3 * S8 + 1], r[4 * S8 + 1], r[5 * S8 + 1]) \
    CONV_STEP(r[2], r[S8 + 2], r[2 * S8 + 2], r[3 * S8 + 2], r[4 * S8 + 2], r[5 * S8 + 2]) \
    CONV_STEP(r[3], r[S8 + 3], r[2 * S8 + 3], r[3 * S8 + 3], r[4 * S8 + 3], r[5 * S8 + 3]) \
    CONV_STEP(r[4], r[S8 + 4], r[2 * S8 + 4], r[3 * S8 + 4], r[4 * S8 + 4], r[5 * S8 + 4]) \
    CONV_STEP(r[5], r[S8 + 5], r[2 * S8 + 5], r[3 * S8 + 5], r[4 * S8 + 5], r[5 * S8 + 5]) \
    CONV_STEP(r[6], r[S8 + 6], r[2 * S8 + 6], r[3 * S8 + 6], r[4 * S8 + 6], r[5 * S8 + 6]) \
    CONV_STEP(r[7], r[S8 + 7], r[2 * S8 + 7], r[3 * S8 + 7], r[4 * S8 + 7], r[5 * S8 + 7])

/* The stride along W is a compile-time constant (1 or 2, conv.c) so that
 * the 48 input offsets of a tap are immediates, not 48 registers spilled
 * to the stack (which made it load-bound). */
#define CONV_CB_KERNEL(NAME, SW) \
__kernel void NAME(__global const float *xp, int xpo, __global const float *w,                    \
                        __global const float *bias, __global const float *res, int ro,            \
                        __global float *y, int yo, __global float *acc, int acco, int NT,          \
                        int OC, int H, int W, int OH, int OW, int G, int OCg, int OCB,            \
                        int CB, int Hp, int Wp,                                                   \
                        int KH, int KW, int SH, int DH, int DW, int PT, int PL,                   \
                        int act, float lo, float hi, int has_res, int CK, int RB, int SEG,        \
                        int NSEG)                                                                 \
{                                                                                                 \
    int id = get_global_id(0);                                                                    \
    int oy0 = id / NSEG * RB, ox_a = id % NSEG * SEG;                                             \
    if (oy0 >= OH) return;                                                                        \
    int oy1 = min(OH, oy0 + RB), ox_b = min(OW, ox_a + SEG);                                      \
    int q = get_global_id(1);                                                                     \
    int ob = q % OCB, g = (q / OCB) % G, n = q / (OCB * G);                                       \
    int blk = g * OCB + ob, nj = min(16, OCg - ob * 16);                                          \
    size_t plane = (size_t)OH * OW, cstride = (size_t)Hp * Wp * 8;                                \
    size_t obase = ((size_t)n * OC + (size_t)g * OCg + ob * 16) * plane;                          \
    __global const float *xg = xp + xpo + (size_t)(n * G + g) * CB * cstride;                     \
    __global const float *wg = w + (size_t)blk * CB * KH * KW * 128;                              \
    float8 a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h;                            \
    for (int c0 = 0; c0 < CB; c0 += CK) {                                                         \
      int c1 = min(CB, c0 + CK);                                                                  \
      for (int oy = oy0; oy < oy1; oy++) {                                                        \
        __global float *yrow = y + yo + obase + (size_t)oy * OW;                                  \
        __global const float *rrow = res + ro + obase + (size_t)oy * OW;                          \
        int iy0 = oy * SH; /* in padded rows */                                                   \
        /* Kernel rows that read the input, not only padding. */                                  \
        int kya = 0, kyb = KH;                                                                    \
        while (kya < KH && iy0 + kya * DH < PT) kya++;                                            \
        while (kyb > kya && iy0 + (kyb - 1) * DH >= PT + H) kyb--;                                \
        for (int ox0 = ox_a; ox0 < ox_b; ox0 += CONV_TW) {                                        \
            int nt = min(CONV_TW, ox_b - ox0);                                                    \
            __global float *ap = acc + acco + (((size_t)q * OH + oy) * NT + ox0 / CONV_TW) * 96;   \
            if (c0 == 0) {                                                                        \
                a0l = vload8(2 * blk, bias); a0h = vload8(2 * blk + 1, bias);                     \
                a1l = a2l = a3l = a4l = a5l = a0l; a1h = a2h = a3h = a4h = a5h = a0h;             \
            } else {                                                                              \
                a0l = vload8(0, ap); a0h = vload8(1, ap); a1l = vload8(2, ap);                    \
                a1h = vload8(3, ap); a2l = vload8(4, ap); a2h = vload8(5, ap);                    \
                a3l = vload8(6, ap); a3h = vload8(7, ap); a4l = vload8(8, ap);                    \
                a4h = vload8(9, ap); a5l = vload8(10, ap); a5h = vload8(11, ap);                  \
            }                                                                                     \
            int ix0 = ox0 * SW;                                                                   \
            int kxa = 0, kxb = KW;                                                                \
            while (kxa < KW && ix0 + kxa * DW + (CONV_TW - 1) * SW < PL) kxa++;                   \
            while (kxb > kxa && ix0 + (kxb - 1) * DW >= PL + W) kxb--;                            \
            for (int cb = c0; cb < c1; cb++) {                                                    \
                __global const float *xc = xg + (size_t)cb * cstride + (size_t)ix0 * 8;           \
                for (int ky = kya; ky < kyb; ky++) {                                              \
                    __global const float *row = xc + (size_t)(iy0 + ky * DH) * Wp * 8;            \
                    __global const float *wp = wg + (((size_t)cb * KH + ky) * KW + kxa) * 128;    \
                    for (int kx = kxa; kx < kxb; kx++) {                                          \
                        __global const float *r = row + kx * DW * 8;                              \
                        CB_TAP(r, SW * 8)                                                         \
                    }                                                                             \
                }                                                                                 \
            }                                                                                     \
            if (c1 == CB) {                                                                       \
                CONV_TILE_SAVE(1, rrow + ox0, yrow + ox0, plane, nj, nt)                          \
            } else {                                                                              \
                vstore8(a0l, 0, ap); vstore8(a0h, 1, ap); vstore8(a1l, 2, ap);                    \
                vstore8(a1h, 3, ap); vstore8(a2l, 4, ap); vstore8(a2h, 5, ap);                    \
                vstore8(a3l, 6, ap); vstore8(a3h, 7, ap); vstore8(a4l, 8, ap);                    \
                vstore8(a4h, 9, ap); vstore8(a5l, 10, ap); vstore8(a5h, 11, ap);                  \
            }                                                                                     \
        }                                                                                         \
      }                                                                                           \
    }                                                                                             \
}
CONV_CB_KERNEL(conv2d_cb, 1)
CONV_CB_KERNEL(conv2d_cb_s2, 2)
