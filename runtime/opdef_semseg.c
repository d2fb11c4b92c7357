/*
 * Shape inference for the ai.semseg domain (version 1):
 *   AdaptiveAvgPool2d(X[N,C,H,W]) -> Y[N,C,oh,ow], attribute output_size=[oh,ow]
 *   DenseCRF(logits[N,C,H,W], image[N,3,H,W]) -> Q[N,C,H,W] float
 */
#include <stdio.h>

#include "opdef.h"

static semseg_status infer_adaptive_avg_pool2d(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    const int64_t *os;
    int64_t k = semseg_attr_ints(n, "output_size", &os);
    if (x->rank != 4) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "input must be 4-D [N,C,H,W], got rank %d", x->rank);
        return SEMSEG_STATUS_MODEL;
    }
    if (k != 2 || os[0] <= 0 || os[1] <= 0) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "attribute output_size must be two positive ints [oh, ow]");
        return SEMSEG_STATUS_MODEL;
    }
    out[0].dtype = x->dtype;
    out[0].rank = 4;
    out[0].dims[0] = x->dims[0];
    out[0].dims[1] = x->dims[1];
    out[0].dims[2] = os[0];
    out[0].dims[3] = os[1];
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_densecrf(const semseg_node_info *n, opdef_out *out, char *err)
{
    const semseg_value_info *q = &n->inputs[0], *im = &n->inputs[1];
    if (q->rank != 4 || im->rank != 4) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "logits and image must be 4-D, got ranks %d and %d", q->rank, im->rank);
        return SEMSEG_STATUS_MODEL;
    }
    if (im->dims[0] != q->dims[0] || im->dims[1] != 3 || im->dims[2] != q->dims[2] || im->dims[3] != q->dims[3]) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "image must be [N,3,H,W] matching logits [%lld,%lld,%lld,%lld]",
                 (long long)q->dims[0], (long long)q->dims[1], (long long)q->dims[2], (long long)q->dims[3]);
        return SEMSEG_STATUS_MODEL;
    }
    out[0].dtype = SEMSEG_DTYPE_FLOAT;
    out[0].rank = 4;
    for (int i = 0; i < 4; i++) out[0].dims[i] = q->dims[i];
    return SEMSEG_STATUS_OK;
}

const opdef opdef_semseg_table[] = {
    { "ai.semseg", "AdaptiveAvgPool2d", 1, 1, 1, 1, 0, infer_adaptive_avg_pool2d },
    { "ai.semseg", "DenseCRF", 2, 2, 1, 1, 0, infer_densecrf },
    { NULL, NULL, 0, 0, 0, 0, 0, NULL },
};
