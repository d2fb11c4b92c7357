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

/* bin_*_rb, _ra, _rr: the same when dim 3 is at least 8 long and each
 * input either walks it contiguously (r) or repeats one value along it
 * (b: broadcast), as in the squeeze-and-excitation Mul (N, C, H*W) *
 * (N, C, 1). The strides above are run-time values, so PoCL cannot tell
 * those loads are consecutive and ran them one lane at a time (6-10x
 * blas); here a work-item owns one row of dim 3 in explicit float8 steps.
 * 2-D launch over dims 2 and 1. */
#define ROW_V1(p, i) vload8(0, (p) + (i))
#define ROW_V0(p, i) ((float8)((p)[0]))
#define ROW_S1(p, i) ((p)[i])
#define ROW_S0(p, i) ((p)[0])
#define BINARY_ROW(name, OP, A, B) \
    __kernel void name(__global const float *a, int ao, __global const float *b, int bo, \
                       __global float *y, int yo, int4 dims, int4 sa, int4 sb) \
    { \
        int i2 = get_global_id(0); \
        if (i2 >= dims.z) return; \
        int i1 = get_global_id(1), n = dims.w, i = 0; \
        __global const float *pa = a + ao + i1 * sa.y + i2 * sa.z; \
        __global const float *pb = b + bo + i1 * sb.y + i2 * sb.z; \
        __global float *py = y + yo + (i1 * dims.z + i2) * n; \
        for (; i + 8 <= n; i += 8) vstore8(ROW_V##A(pa, i) OP ROW_V##B(pb, i), 0, py + i); \
        for (; i < n; i++) py[i] = ROW_S##A(pa, i) OP ROW_S##B(pb, i); \
    }
#define BINARY_ROWS(name, OP) \
    BINARY_ROW(name##_rr, OP, 1, 1) \
    BINARY_ROW(name##_rb, OP, 1, 0) \
    BINARY_ROW(name##_ra, OP, 0, 1)

BINARY_ROWS(bin_add, +)
BINARY_ROWS(bin_sub, -)
BINARY_ROWS(bin_mul, *)
BINARY_ROWS(bin_div, /)

/* 8 elements per work-item in explicit float8 (the expressions are
 * written for both float and float8), the last few one by one. A scalar
 * body per work-item was left unvectorised by PoCL here (2.4x blas on a
 * 960x16x16 HardSigmoid). */
#define UNARY(name, expr) \
    __kernel void name(__global const float *x, int xo, __global float *y, int yo, int n, \
                       float alpha, float beta) \
    { \
        int i = get_global_id(0) * 8; \
        if (i >= n) return; \
        if (i + 8 <= n) { \
            float8 v = vload8(0, x + xo + i); \
            vstore8((expr), 0, y + yo + i); \
            return; \
        } \
        for (; i < n; i++) { \
            float v = x[xo + i]; \
            y[yo + i] = (expr); \
        } \
    }

UNARY(un_relu, fmax(v, 0.0f))
UNARY(un_leaky_relu, select(v, v * alpha, v < 0.0f))
UNARY(un_sigmoid, 1.0f / (1.0f + exp(-v)))
UNARY(un_hard_sigmoid, fmin(fmax(alpha * v + beta, 0.0f), 1.0f))
UNARY(un_hard_swish, v * fmin(fmax(v / 6.0f + 0.5f, 0.0f), 1.0f))
UNARY(un_clip, fmin(fmax(v, alpha), beta))
UNARY(un_tanh, tanh(v))
