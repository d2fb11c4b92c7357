/*
 * Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions of one group
 * (conv_wino.c): a tile of 2x2 outputs comes from a 4x4 input patch d with
 * 16 multiplications per input channel instead of 36 (Lavin & Gray 2016),
 *     Y = A^T [ U .* (B^T d B) ] A,  U = G g G^T (made on the host),
 *     B^T = | 1  0 -1  0 |   A^T = | 1  1  1  0 |
 *           | 0  1  1  0 |         | 0  1 -1 -1 |
 *           | 0 -1  1  0 |
 *           | 0  1  0 -1 |
 * With dilation d a tile is the outputs (top + i*dh, left + j*dw), i, j < 2,
 * and its patch is spaced d apart; conv_wino.c tabulates top[ty] and
 * left[tx] (tile t = ty * TX + tx). The 16 element-wise products summed
 * over channels are a grouped 1x1 convolution with 16 groups over a 1 x T
 * map, which conv.c's channel-blocked path runs:
 *     V [n][16 * C][T]  --conv2d_cb, group k: U_k--> M [n][16 * OC][T]
 * wino_in makes V, wino_out Y (with the bias and the fused epilogue). Both
 * work on 8 consecutive tiles per work-item, one float8 lane each.
 */

/* B^T d B of 4x4 float8 patches p[i][j] into v[16] (k = 4i + j). */
void wino_bt(float8 p[4][4], float8 v[16])
{
    float8 t[4][4];
    for (int j = 0; j < 4; j++) {
        t[0][j] = p[0][j] - p[2][j];
        t[1][j] = p[1][j] + p[2][j];
        t[2][j] = p[2][j] - p[1][j];
        t[3][j] = p[1][j] - p[3][j];
    }
    for (int i = 0; i < 4; i++) {
        v[4 * i] = t[i][0] - t[i][2];
        v[4 * i + 1] = t[i][1] + t[i][2];
        v[4 * i + 2] = t[i][2] - t[i][1];
        v[4 * i + 3] = t[i][1] - t[i][3];
    }
}

/* Launch: (tiles / 8, C, N). With dilation 1, 8 tiles of one tile row whose
 * patches lie inside the input read each patch row as the even lanes of
 * vloads (tile columns are 2 apart); any other group of 8 gathers lane by
 * lane with bounds checks. */
__kernel void wino_in(__global const float *x, int xo, __global float *v, int vo,
                      __global const int *top, __global const int *left,
                      int C, int H, int W, int TX, int T, int DH, int DW, int PT, int PL)
{
    int t0 = get_global_id(0) * 8;
    if (t0 >= T) return;
    int c = get_global_id(1), n = get_global_id(2);
    __global const float *xc = x + xo + ((size_t)n * C + c) * H * W;
    int ty = t0 / TX, tx = t0 - ty * TX;
    int iy0 = top[ty] - PT, ix0 = left[tx] - PL;
    float8 p[4][4];
    if (DH == 1 && DW == 1 && tx + 8 <= TX && iy0 >= 0 && iy0 + 4 <= H && ix0 >= 0 && ix0 + 18 <= W) {
        for (int i = 0; i < 4; i++) {
            __global const float *r = xc + (size_t)(iy0 + i) * W + ix0;
            for (int j = 0; j < 4; j++)
                p[i][j] = (float8)(vload8(0, r + j).even, vload8(0, r + j + 7).odd);
        }
    } else {
        float g[4][4][8];
        for (int l = 0; l < 8; l++) {
            int t = min(t0 + l, T - 1), y = t / TX, z = t - y * TX;
            int a = top[y] - PT, b = left[z] - PL;
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    int iy = a + i * DH, ix = b + j * DW;
                    g[i][j][l] = iy >= 0 && iy < H && ix >= 0 && ix < W ? xc[(size_t)iy * W + ix] : 0.0f;
                }
        }
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) p[i][j] = vload8(0, g[i][j]);
    }
    float8 q[16];
    wino_bt(p, q);
    int nt = min(8, T - t0);
    __global float *vp = v + vo + ((size_t)n * 16 * C + c) * T + t0;
    for (int k = 0; k < 16; k++) {
        __global float *d = vp + (size_t)k * C * T;
        if (nt == 8) {
            vstore8(q[k], 0, d);
        } else {
            float s[8];
            vstore8(q[k], 0, s);
            for (int l = 0; l < nt; l++) d[l] = s[l];
        }
    }
}

/* Launch: (tiles / 8, OC, N). A^T M A + bias, the residual and the
 * activation; with dilation 1 and 8 tiles of one row inside the output,
 * each of the tile row's two output rows is two vector stores. */
__kernel void wino_out(__global const float *m, int mo, __global const float *bias,
                       __global const float *res, int ro, __global float *y, int yo,
                       __global const int *top, __global const int *left,
                       int OC, int OH, int OW, int TX, int T, int DH, int DW,
                       int act, float lo, float hi, int has_res)
{
    int t0 = get_global_id(0) * 8;
    if (t0 >= T) return;
    int oc = get_global_id(1), n = get_global_id(2);
    __global const float *mp = m + mo + ((size_t)n * 16 * OC + oc) * T + t0;
    int nt = min(8, T - t0);
    float8 q[16];
    for (int k = 0; k < 16; k++) {
        __global const float *s = mp + (size_t)k * OC * T;
        if (nt == 8) {
            q[k] = vload8(0, s);
        } else {
            float u[8] = {0.0f};
            for (int l = 0; l < nt; l++) u[l] = s[l];
            q[k] = vload8(0, u);
        }
    }
    float8 r[2][4], o[2][2], b = (float8)(bias[oc]);
    for (int j = 0; j < 4; j++) {
        r[0][j] = q[j] + q[4 + j] + q[8 + j];
        r[1][j] = q[4 + j] - q[8 + j] - q[12 + j];
    }
    for (int i = 0; i < 2; i++) {
        o[i][0] = r[i][0] + r[i][1] + r[i][2] + b;
        o[i][1] = r[i][1] - r[i][2] - r[i][3] + b;
    }
    size_t plane = ((size_t)n * OC + oc) * OH * OW;
    __global float *yp = y + yo + plane;
    __global const float *rp = res + ro + plane;
    int ty = t0 / TX, tx = t0 - ty * TX, oy = top[ty], ox = left[tx];
    if (DH == 1 && DW == 1 && tx + 8 <= TX && oy + 2 <= OH && ox + 16 <= OW) {
        for (int i = 0; i < 2; i++) {
            float8 a = o[i][0], c = o[i][1];
            size_t at = (size_t)(oy + i) * OW + ox;
            ocl_store8((float8)(a.s0, c.s0, a.s1, c.s1, a.s2, c.s2, a.s3, c.s3), rp, yp, at, 8,
                       act, lo, hi, has_res);
            ocl_store8((float8)(a.s4, c.s4, a.s5, c.s5, a.s6, c.s6, a.s7, c.s7), rp, yp, at + 8, 8,
                       act, lo, hi, has_res);
        }
        return;
    }
    float e[2][2][8];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) vstore8(o[i][j], 0, e[i][j]);
    for (int l = 0; l < nt; l++) {
        int t = t0 + l, yy = t / TX, z = t - yy * TX;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                int py = top[yy] + i * DH, px = left[z] + j * DW;
                if (py >= OH || px >= OW) continue;
                size_t at = (size_t)py * OW + px;
                float u = e[i][j][l] + (has_res ? rp[at] : 0.0f);
                yp[at] = ocl_act(u, act, lo, hi);
            }
    }
}
