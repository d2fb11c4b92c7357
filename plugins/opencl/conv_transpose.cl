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

/* convt_dw_rows: depthwise (Cg = OCg = 1), dilation 1, stride along W a
 * multiple of 8: FCN's fixed per-class upsamplers (stride 8, 16, 32, kernel
 * twice the stride). Output columns ox = qx*SW - PL + r (r < SW) all read
 * the input columns qx - jx through the kernel columns r + jx*SW, so SW
 * consecutive outputs are one broadcast input times SW consecutive weights
 * per tap (weights packed [C][KH][TX*SW], zero past KW): float8 steps with
 * no gather, 2x2 taps for a kernel of twice the stride. A work-item owns
 * one output row of one plane (2-D launch: oy, n*C + c). */
void convt_store8(float8 v, __global const float *rr, __global float *yr, int o, int OW,
                  int act, float lo, float hi, int has_res)
{
    if (o >= 0 && o + 8 <= OW) {
        if (has_res) v += vload8(0, rr + o);
        vstore8(ocl_act8(v, act, lo, hi), 0, yr + o);
        return;
    }
    float t[8];
    vstore8(v, 0, t);
    for (int i = 0; i < 8; i++) {
        if (o + i < 0 || o + i >= OW) continue;
        float u = t[i] + (has_res ? rr[o + i] : 0.0f);
        yr[o + i] = ocl_act(u, act, lo, hi);
    }
}

__kernel void convt_dw_rows(__global const float *x, int xo, __global const float *w,
                            __global const float *bias, __global const float *res, int ro,
                            __global float *y, int yo, int C, int H, int W, int OH, int OW,
                            int KH, int SH, int SW, int TX, int PT, int PL,
                            int act, float lo, float hi, int has_res)
{
    int oy = get_global_id(0);
    if (oy >= OH) return;
    int q = get_global_id(1), c = q % C;
    __global const float *xp = x + xo + (size_t)q * H * W;
    __global const float *wc = w + (size_t)c * KH * TX * SW;
    size_t o = ((size_t)q * OH + oy) * OW;
    __global float *yr = y + yo + o;
    __global const float *rr = res + ro + o;
    int ty = oy + PT, ry = ty % SH, qy = ty / SH;
    float8 b = (float8)(bias[c]);
    for (int qx = PL / SW; qx <= (OW - 1 + PL) / SW; qx++) {
        for (int v = 0; v < SW; v += 8) {
            float8 acc = b;
            for (int ky = ry, iy = qy; ky < KH && iy >= 0; ky += SH, iy--) {
                if (iy >= H) continue;
                __global const float *xr = xp + (size_t)iy * W;
                __global const float *wr = wc + (size_t)ky * TX * SW + v;
                for (int jx = 0; jx < TX; jx++) {
                    int ix = qx - jx;
                    if (ix >= 0 && ix < W) acc = fma((float8)(xr[ix]), vload8(0, wr + jx * SW), acc);
                }
            }
            convt_store8(acc, rr, yr, qx * SW - PL + v, OW, act, lo, hi, has_res);
        }
    }
}

/* convt_ph_s{1,2,4,8}: any groups, dilation 1, a stride along W of 1, 2,
 * 4 or 8 (FCN's learned x2 upsamplers, the seed network's x4): the same
 * phase view with the S phases of a block of 8 input columns computed
 * together. For input column block qx0..qx0+7, tap column j and phase r,
 * the outputs (qx0 + l)*S - PL + r read input columns qx0 + l - j through
 * kernel column r + j*S: one vload8 of an input row feeds S accumulators
 * (one per phase) with broadcast weights, packed [OC][Cg][KH][TX*S]. The S
 * phase vectors are then interleaved into 8*S consecutive outputs (S
 * vector stores away from the row's ends). A
 * work-item owns one output row of one output plane (2-D launch: oy,
 * n*OC + oc); rows are taken as in convt_point. */
/* Output i of a block's 8*S: phase i % S of input column i / S. */
#define CONVT_AT(a, S, i) a[(i) % (S)][(i) / (S)]
#define CONVT_PH(NAME, S) \
__kernel void NAME(__global const float *x, int xo, __global const float *w, \
                   __global const float *bias, __global const float *res, int ro, \
                   __global float *y, int yo, int C, int H, int W, int OC, int OH, int OW, \
                   int Cg, int OCg, int KH, int SH, int TX, int PT, int PL, \
                   int act, float lo, float hi, int has_res) \
{ \
    int oy = get_global_id(0); \
    if (oy >= OH) return; \
    int q = get_global_id(1), oc = q % OC, n = q / OC, g = oc / OCg; \
    __global const float *xg = x + xo + ((size_t)n * C + (size_t)g * Cg) * H * W; \
    __global const float *wo = w + (size_t)oc * Cg * KH * TX * S; \
    size_t o = ((size_t)q * OH + oy) * OW; \
    __global float *yr = y + yo + o; \
    __global const float *rr = res + ro + o; \
    int ty = oy + PT, ry = ty % SH, qy = ty / SH; \
    float b = bias[oc]; \
    for (int qx0 = PL / S; qx0 <= (OW - 1 + PL) / S; qx0 += 8) { \
        float8 acc[S]; \
        _Pragma("unroll") for (int r = 0; r < S; r++) acc[r] = (float8)(b); \
        for (int ci = 0; ci < Cg; ci++) { \
            __global const float *xc = xg + (size_t)ci * H * W; \
            __global const float *wc = wo + (size_t)ci * KH * TX * S; \
            for (int ky = ry, iy = qy; ky < KH && iy >= 0; ky += SH, iy--) { \
                if (iy >= H) continue; \
                __global const float *xr = xc + (size_t)iy * W; \
                __global const float *wr = wc + (size_t)ky * TX * S; \
                for (int j = 0; j < TX; j++) { \
                    int c0 = qx0 - j; \
                    float8 v; \
                    if (c0 >= 0 && c0 + 8 <= W) { \
                        v = vload8(0, xr + c0); \
                    } else { \
                        float t[8]; \
                        for (int l = 0; l < 8; l++) t[l] = c0 + l >= 0 && c0 + l < W ? xr[c0 + l] : 0.0f; \
                        v = vload8(0, t); \
                    } \
                    _Pragma("unroll") for (int r = 0; r < S; r++) \
                        acc[r] = fma(v, (float8)(wr[j * S + r]), acc[r]); \
                } \
            } \
        } \
        float a[S][8]; \
        _Pragma("unroll") for (int r = 0; r < S; r++) vstore8(acc[r], 0, a[r]); \
        int o0 = qx0 * S - PL; \
        if (o0 >= 0 && o0 + 8 * S <= OW) { \
            _Pragma("unroll") for (int k = 0; k < S; k++) { \
                float8 v = (float8)(CONVT_AT(a, S, 8 * k), CONVT_AT(a, S, 8 * k + 1), \
                                    CONVT_AT(a, S, 8 * k + 2), CONVT_AT(a, S, 8 * k + 3), \
                                    CONVT_AT(a, S, 8 * k + 4), CONVT_AT(a, S, 8 * k + 5), \
                                    CONVT_AT(a, S, 8 * k + 6), CONVT_AT(a, S, 8 * k + 7)); \
                ocl_store8(v, rr, yr, o0 + 8 * k, 8, act, lo, hi, has_res); \
            } \
            continue; \
        } \
        for (int i = 0; i < 8 * S; i++) { \
            int ox = o0 + i; \
            if (ox < 0 || ox >= OW) continue; \
            float u = a[i % S][i / S] + (has_res ? rr[ox] : 0.0f); \
            yr[ox] = ocl_act(u, act, lo, hi); \
        } \
    } \
}
CONVT_PH(convt_ph_s1, 1)
CONVT_PH(convt_ph_s2, 2)
CONVT_PH(convt_ph_s4, 4)
CONVT_PH(convt_ph_s8, 8)
