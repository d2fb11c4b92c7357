/*
 * ArgMax over the middle dim of [outer][len][inner], int64 result: one
 * work-item per (outer, inner). Ties go to the first index, or to the last
 * with select_last_index.
 */
__kernel void argmax(__global const float *x, int xo, __global long *y, int yo,
                     int outer, int len, int inner, int last)
{
    int i = get_global_id(0);
    if (i >= outer * inner) return;
    int o = i / inner, r = i - o * inner;
    __global const float *xp = x + xo + (size_t)o * len * inner + r;
    float best = xp[0];
    int arg = 0;
    for (int j = 1; j < len; j++) {
        float v = xp[(size_t)j * inner];
        if (v > best || (last && v == best)) {
            best = v;
            arg = j;
        }
    }
    y[yo + i] = arg;
}
