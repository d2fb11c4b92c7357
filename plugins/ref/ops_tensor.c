/*
 * The ref plugin's tensor and element-wise family: the table the plugin
 * searches. Each op is defined in its own file (several share one when they
 * differ only by a formula or a shape rule: binary.c, unary.c, reshape.c,
 * softmax.c, constant.c, identity.c).
 */
#include "ref.h"

extern const ref_op ref_op_add, ref_op_sub, ref_op_mul, ref_op_div;
extern const ref_op ref_op_relu, ref_op_leaky_relu, ref_op_sigmoid, ref_op_hard_sigmoid,
    ref_op_hard_swish, ref_op_tanh, ref_op_clip;
extern const ref_op ref_op_prelu;
extern const ref_op ref_op_concat, ref_op_split, ref_op_transpose;
extern const ref_op ref_op_reshape, ref_op_flatten, ref_op_squeeze, ref_op_unsqueeze;
extern const ref_op ref_op_slice, ref_op_gather, ref_op_expand, ref_op_pad;
extern const ref_op ref_op_softmax, ref_op_log_softmax, ref_op_argmax, ref_op_reduce_mean;
extern const ref_op ref_op_shape, ref_op_cast, ref_op_constant, ref_op_constant_of_shape;
extern const ref_op ref_op_identity, ref_op_dropout;

const ref_op *const ref_ops_tensor[] = {
    &ref_op_add, &ref_op_sub, &ref_op_mul, &ref_op_div,
    &ref_op_relu, &ref_op_leaky_relu, &ref_op_sigmoid, &ref_op_hard_sigmoid,
    &ref_op_hard_swish, &ref_op_tanh, &ref_op_clip, &ref_op_prelu,
    &ref_op_concat, &ref_op_split, &ref_op_transpose,
    &ref_op_reshape, &ref_op_flatten, &ref_op_squeeze, &ref_op_unsqueeze,
    &ref_op_slice, &ref_op_gather, &ref_op_expand, &ref_op_pad,
    &ref_op_softmax, &ref_op_log_softmax, &ref_op_argmax, &ref_op_reduce_mean,
    &ref_op_shape, &ref_op_cast, &ref_op_constant, &ref_op_constant_of_shape,
    &ref_op_identity, &ref_op_dropout,
    NULL,
};
