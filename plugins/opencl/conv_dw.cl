/*
 * Depthwise convolution (one input and one output channel per group), NCHW,
 * with the fused epilogue y = act(conv + bias + res). Weights in ONNX order
 * [C][ky][kx]; conv.c picks the kernel, conv_tiles.c sizes the bands.
 *
 * dw_tile_k{3,5}_s{1,2}: square 3x3 and 5x5 kernels with a stride of 1 or 2
 * along W (all of MobileNetV3's), any stride along H and any dilation. A
 * work-group owns a band of RB output rows of Gc channels (local size
 * (L, 1, Gc) on a launch of (L, bands, N*C)). It first copies the input
 * rows the band reads into local memory, zero-padded, so that the taps need
 * no bounds checks at all: on the 16x16 and 32x32 maps of MobileNetV3's
 * last stages nearly every 8-pixel segment touches a border, and a border
 * tap read element by element (PoCL vectorises no conditional load) cost
 * 3-6x blas. With a stride of 2 along W each local row is split into its
 * even and odd padded columns (two phase rows of WQ floats), so a tap's 8
 * inputs are again 8 consecutive floats. Then each work-item computes
 * 8 output columns x 4 output rows at a time (4 independent accumulator
 * chains: one chain of K*K dependent FMAs waits on the FMA latency), one
 * vload8 and 4 FMAs per tap and row quad. The kernel size and the stride
 * along W are compile-time constants so the tap loops unroll.
 * In local memory, padded column p = c*SW + phase of local row r sits at
 * lb[(r*SW + phase)*WQ + c] and holds x[iy0 + r][p - PL] (0 outside).
 * conv_tiles.c makes RB a multiple of 4 and sizes NR = (RB-1)*SH + (K-1)*DH + 1
 * rows and WQ >= 8*ceil(OW/8) + (K-1)*DW/SW (a multiple of 8).
 *
 * dwconv2d: any other depthwise window (kernel sizes, strides >= 3 along
 * W), 4 pixels per work-item, border checks per tap.
 */
#define DW_RQ 4 /* output rows per work-item step */

/* Copies the band's input rows into lb as described above, a row per
 * work-item: the row zeroed, then the input's W values copied over, 8
 * (SW = 1) or 16 (SW = 2, split into the two phases) at a time. */
#define DW_FILL(SW) \
    for (int r = lx; r < NR; r += L) { \
        int iy = iy0 + r; \
        __local float *d = lb + r * SW * WQ; \
        for (int j = 0; j < SW * WQ; j += 8) vstore8((float8)(0.0f), 0, d + j); \
        if (iy < 0 || iy >= H) continue; \
        __global const float *row = xp + (size_t)iy * W; \
        int ix = 0; \
        for (; ix + 8 * SW <= W; ix += 8 * SW) DW_COPY##SW(row + ix, d, ix + PL); \
        for (; ix < W; ix++) { \
            int p = ix + PL; \
            d[(p % SW) * WQ + p / SW] = row[ix]; \
        } \
    }
/* 8 inputs from src to padded column p of local row d. */
#define DW_COPY1(src, d, p) vstore8(vload8(0, (src)) + 0.0f, 0, (d) + (p))
/* 16 inputs from src to padded columns p..p+15: the 8 of each parity to
 * their phase row. */
#define DW_COPY2(src, d, p) \
    { float8 lo8 = vload8(0, (src)), hi8 = vload8(1, (src)); \
      int p0 = (p), p1 = p0 + 1; \
      vstore8((float8)(lo8.even, hi8.even), 0, (d) + (p0 % 2) * WQ + p0 / 2); \
      vstore8((float8)(lo8.odd, hi8.odd), 0, (d) + (p1 % 2) * WQ + p1 / 2); }

#define DW_TILE(NAME, K, SW) \
__kernel void NAME(__global const float *x, int xo, __global const float *w, \
                   __global const float *bias, __global const float *res, int ro, \
                   __global float *y, int yo, __local float *buf, \
                   int C, int H, int W, int OH, int OW, int SH, int DH, int DW, int PT, int PL, \
                   int RB, int NR, int WQ, int act, float lo, float hi, int has_res) \
{ \
    int lx = get_local_id(0), L = get_local_size(0); \
    int q = get_global_id(2), c = q % C; \
    int oy0 = get_global_id(1) * RB, nr = min(RB, OH - oy0); \
    __local float *lb = buf + (size_t)get_local_id(2) * NR * SW * WQ; \
    __global const float *xp = x + xo + (size_t)q * H * W; \
    int iy0 = oy0 * SH - PT; \
    DW_FILL(SW) \
    barrier(CLK_LOCAL_MEM_FENCE); \
    float wk[K * K]; \
    for (int i = 0; i < K * K; i++) wk[i] = w[c * K * K + i]; \
    float8 b = (float8)(bias[c]); \
    int rs = SH * SW * WQ; \
    __global float *yq = y + yo + (size_t)q * OH * OW; \
    __global const float *rq = res + ro + (size_t)q * OH * OW; \
    for (int r0 = 0; r0 < nr; r0 += DW_RQ) \
    for (int ox0 = lx * 8; ox0 < OW; ox0 += L * 8) { \
        float8 a0 = b, a1 = b, a2 = b, a3 = b; \
        _Pragma("unroll") for (int ky = 0; ky < K; ky++) { \
            __local const float *lrow = lb + (r0 * SH + ky * DH) * SW * WQ + ox0; \
            _Pragma("unroll") for (int kx = 0; kx < K; kx++) { \
                int tx = kx * DW; \
                __local const float *p = lrow + (tx % SW) * WQ + tx / SW; \
                float8 wv = (float8)(wk[ky * K + kx]); \
                a0 = fma(vload8(0, p), wv, a0); \
                a1 = fma(vload8(0, p + rs), wv, a1); \
                a2 = fma(vload8(0, p + 2 * rs), wv, a2); \
                a3 = fma(vload8(0, p + 3 * rs), wv, a3); \
            } \
        } \
        int nt = min(8, OW - ox0); \
        size_t o = (size_t)(oy0 + r0) * OW + ox0; \
        ocl_store8(a0, rq, yq, o, nt, act, lo, hi, has_res); \
        if (r0 + 1 < nr) ocl_store8(a1, rq, yq, o + OW, nt, act, lo, hi, has_res); \
        if (r0 + 2 < nr) ocl_store8(a2, rq, yq, o + 2 * OW, nt, act, lo, hi, has_res); \
        if (r0 + 3 < nr) ocl_store8(a3, rq, yq, o + 3 * OW, nt, act, lo, hi, has_res); \
    } \
}
DW_TILE(dw_tile_k3_s1, 3, 1)
DW_TILE(dw_tile_k5_s1, 5, 1)
DW_TILE(dw_tile_k3_s2, 3, 2)
DW_TILE(dw_tile_k5_s2, 5, 2)

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
