/*
 * Element-wise kernels, one per operator so that each body is straight-line
 * code the compiler can vectorise across work-items (a switch on an op code
 * defeats that). bin_*: Add/Sub/Mul/Div with numpy broadcasting over at most
 * 4 dims after eltwise.c merged the dims that broadcast alike; each input has
 * its own strides (0 along broadcast dims); bin_*_flat for equal shapes.
 * un_*: the activations. All are safe in place (y may alias a or x).
 *
 * The broadcasting kernels take dims 3, 2 and 1 from a 3-D launch; eltwise.c
 * makes one launch per index of dim 0 (the batch, usually 1), moving the
 * offsets. No division and no loop: PoCL vectorises the body across
 * work-items (a division there cannot be hoisted and costs ~20x).
 */
#define BINARY(name, OP) \
    __kernel void name(__global const float *a, int ao, __global const float *b, int bo, \
                       __global float *y, int yo, int4 dims, int4 sa, int4 sb) \
    { \
        int i3 = get_global_id(0); \
        if (i3 >= dims.w) return; \
        int i2 = get_global_id(1), i1 = get_global_id(2); \
        float u = a[ao + i1 * sa.y + i2 * sa.z + i3 * sa.w]; \
        float v = b[bo + i1 * sb.y + i2 * sb.z + i3 * sb.w]; \
        y[yo + (i1 * dims.z + i2) * dims.w + i3] = u OP v; \
    } \
    __kernel void name##_flat(__global const float *a, int ao, __global const float *b, int bo, \
                              __global float *y, int yo, int n) \
    { \
        int i = get_global_id(0); \
        if (i >= n) return; \
        y[yo + i] = a[ao + i] OP b[bo + i]; \
    }

BINARY(bin_add, +)
BINARY(bin_sub, -)
BINARY(bin_mul, *)
BINARY(bin_div, /)

#define UNARY(name, expr) \
    __kernel void name(__global const float *x, int xo, __global float *y, int yo, int n, \
                       float alpha, float beta) \
    { \
        int i = get_global_id(0); \
        if (i >= n) return; \
        float v = x[xo + i]; \
        y[yo + i] = (expr); \
    }

UNARY(un_relu, fmax(v, 0.0f))
UNARY(un_leaky_relu, v < 0.0f ? v * alpha : v)
UNARY(un_sigmoid, 1.0f / (1.0f + exp(-v)))
UNARY(un_hard_sigmoid, fmax(0.0f, fmin(1.0f, alpha * v + beta)))
UNARY(un_hard_swish, v * fmax(0.0f, fmin(1.0f, v / 6.0f + 0.5f)))
UNARY(un_clip, fmin(fmax(v, alpha), beta))
UNARY(un_tanh, tanh(v))
