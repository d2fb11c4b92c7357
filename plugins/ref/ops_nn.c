/*
 * The ref plugin's neural-network family: Conv, ConvTranspose, the pools,
 * BatchNormalization, Resize/Upsample, Gemm and MatMul of the default domain.
 * (ai.semseg AdaptiveAvgPool2d is listed by ops_semseg.c.)
 */
#include "ref.h"

extern const ref_op ref_op_conv, ref_op_conv_transpose, ref_op_maxpool, ref_op_averagepool,
    ref_op_global_average_pool, ref_op_global_max_pool, ref_op_batchnorm, ref_op_resize,
    ref_op_upsample, ref_op_gemm, ref_op_matmul;

const ref_op *const ref_ops_nn[] = {
    &ref_op_conv,
    &ref_op_conv_transpose,
    &ref_op_maxpool,
    &ref_op_averagepool,
    &ref_op_global_average_pool,
    &ref_op_global_max_pool,
    &ref_op_batchnorm,
    &ref_op_resize,
    &ref_op_upsample,
    &ref_op_gemm,
    &ref_op_matmul,
    NULL
};
