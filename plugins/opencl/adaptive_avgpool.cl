/*
 * ai.semseg AdaptiveAvgPool2d: output cell (oy, ox) averages input rows
 * [floor(oy*H/OH), ceil((oy+1)*H/OH)) and the same for columns, as PyTorch's
 * adaptive_avg_pool2d. One work-item per output element, over (ox, oy, plane).
 */
__kernel void adaptive_avgpool(__global const float *x, int xo, __global float *y, int yo,
                               int NC, int H, int W, int OH, int OW)
{
    int ox = get_global_id(0);
    if (ox >= OW) return;
    int oy = get_global_id(1), nc = get_global_id(2), i = (nc * OH + oy) * OW + ox;
    int y0 = (oy * H) / OH, y1 = ((oy + 1) * H + OH - 1) / OH;
    int x0 = (ox * W) / OW, x1 = ((ox + 1) * W + OW - 1) / OW;
    __global const float *xp = x + xo + (size_t)nc * H * W;
    float acc = 0.0f;
    for (int iy = y0; iy < y1; iy++)
        for (int ix = x0; ix < x1; ix++) acc += xp[iy * W + ix];
    y[yo + i] = acc / (float)((y1 - y0) * (x1 - x0));
}
