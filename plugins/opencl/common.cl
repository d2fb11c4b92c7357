/*
 * Helpers every program of the opencl plugin shares; program.c puts this file
 * in front of each operator's source. Epilogue codes match semseg_act in
 * plugin.h: 0 none, 1 relu, 2 clip to [lo, hi], 3 hardswish.
 */
#define OCL_ACT_NONE 0
#define OCL_ACT_RELU 1
#define OCL_ACT_CLIP 2
#define OCL_ACT_HARDSWISH 3

float ocl_act(float v, int act, float lo, float hi)
{
    if (act == OCL_ACT_RELU) return fmax(v, 0.0f);
    if (act == OCL_ACT_CLIP) return fmin(fmax(v, lo), hi);
    if (act == OCL_ACT_HARDSWISH) return v * fmin(fmax(v * (1.0f / 6.0f) + 0.5f, 0.0f), 1.0f);
    return v;
}

/* ocl_act on 8 lanes (kernels that store float8 rows). */
float8 ocl_act8(float8 v, int act, float lo, float hi)
{
    if (act == OCL_ACT_RELU) return fmax(v, (float8)(0.0f));
    if (act == OCL_ACT_CLIP) return fmin(fmax(v, (float8)(lo)), (float8)(hi));
    if (act == OCL_ACT_HARDSWISH)
        return v * fmin(fmax(v * (1.0f / 6.0f) + 0.5f, (float8)(0.0f)), (float8)(1.0f));
    return v;
}

/* Stores nt <= 8 outputs y[o..] = act(v + res[o..]): one vector store when
 * all 8 are there, else lane by lane. */
void ocl_store8(float8 v, __global const float *res, __global float *y, size_t o, int nt,
                int act, float lo, float hi, int has_res)
{
    if (nt == 8) {
        if (has_res) v += vload8(0, res + o);
        vstore8(ocl_act8(v, act, lo, hi), 0, y + o);
        return;
    }
    float r[8];
    vstore8(v, 0, r);
    for (int i = 0; i < nt; i++) {
        float u = r[i];
        if (has_res) u += res[o + i];
        y[o + i] = ocl_act(u, act, lo, hi);
    }
}
