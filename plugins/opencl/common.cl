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
