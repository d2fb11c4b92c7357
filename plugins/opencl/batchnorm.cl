/*
 * Inference-mode BatchNormalization folded into y = x * a[c] + b[c], with a
 * and b computed on the host from scale, bias, mean, var and epsilon.
 * Launched over (position in the plane, channel, batch).
 */
__kernel void scale_shift(__global const float *x, int xo, __global const float *a,
                          __global const float *b, __global float *y, int yo,
                          int C, int inner)
{
    int j = get_global_id(0);
    if (j >= inner) return;
    int c = get_global_id(1), i = (get_global_id(2) * C + c) * inner + j;
    y[yo + i] = mad(x[xo + i], a[c], b[c]);
}
