/*
 * Softmax / LogSoftmax over the middle dim of [outer][len][inner]: one
 * work-item per (outer, inner) line; max subtracted before exp for range.
 */
__kernel void softmax(__global const float *x, int xo, __global float *y, int yo,
                      int outer, int len, int inner, int logsm)
{
    int i = get_global_id(0);
    if (i >= outer * inner) return;
    int o = i / inner, r = i - o * inner;
    size_t base = (size_t)o * len * inner + r;
    __global const float *xp = x + xo + base;
    __global float *yp = y + yo + base;
    float m = -INFINITY;
    for (int j = 0; j < len; j++) m = fmax(m, xp[(size_t)j * inner]);
    float sum = 0.0f;
    for (int j = 0; j < len; j++) sum += exp(xp[(size_t)j * inner] - m);
    if (logsm) {
        float ls = log(sum);
        for (int j = 0; j < len; j++) yp[(size_t)j * inner] = xp[(size_t)j * inner] - m - ls;
    } else {
        float inv = 1.0f / sum;
        for (int j = 0; j < len; j++) yp[(size_t)j * inner] = exp(xp[(size_t)j * inner] - m) * inv;
    }
}
