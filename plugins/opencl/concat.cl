/*
 * Concat: one launch per input copies its [outer][inner_in] slab into the
 * output's [outer][inner_out] rows starting at column off; launched over
 * (column, row).
 */
__kernel void copy_slab(__global const float *x, int xo, __global float *y, int yo,
                        int inner_in, int inner_out, int off)
{
    int r = get_global_id(0);
    if (r >= inner_in) return;
    int o = get_global_id(1);
    y[yo + o * inner_out + off + r] = x[xo + o * inner_in + r];
}
