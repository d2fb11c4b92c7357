/*
 * MaxPool (ONNX opsets 1, 8, 10, 11, 12): the largest element of each window
 * of X (N x C x 1..3 spatial axes), padding never winning. Windows follow
 * kernel_shape, strides, dilations, pads / auto_pad and ceil_mode (see
 * ref_nn_util.c). float, uint8 and int8 (exact: the values pass through float).
 *
 * The optional second output, Indices (int64), holds the position of each
 * maximum in X flattened as a whole: ((n * C + c) * spatial_size + p), where p
 * is the row-major spatial offset, or the column-major one with
 * storage_order = 1. Ties keep the first position in row-major scan order.
 */
#include <math.h>

#include "ref_nn_util.h"

typedef struct maxpool_state {
    nn_window w;
    int64_t planes;       /* N * C */
    int32_t dtype;
    int storage_order;
} maxpool_state;

static int maxpool_dtype_ok(int32_t t)
{
    return t == SEMSEG_DTYPE_FLOAT || t == SEMSEG_DTYPE_UINT8 || t == SEMSEG_DTYPE_INT8;
}

static int maxpool_supports(const semseg_node_info *n)
{
    return n->n_inputs >= 1 && maxpool_dtype_ok(n->inputs[0].dtype);
}

static semseg_status maxpool_create(const semseg_node_info *n, void **state, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    if (!maxpool_dtype_ok(x->dtype))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "MaxPool %s: dtype %d (ref does float, uint8, int8)",
                        n->name, (int)x->dtype);
    if (x->rank < 3 || x->rank > 2 + NN_SPATIAL)
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "MaxPool %s: input rank %d (ref does 3 to 5)",
                        n->name, (int)x->rank);
    maxpool_state *s = calloc(1, sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "MaxPool %s: out of memory", n->name);
    int nsp = x->rank - 2;
    semseg_status st = nn_window_read(n, NN_WINDOW_POOL, nsp, x->dims + 2, NULL, &s->w, err);
    int64_t dims[2 + NN_SPATIAL] = { x->dims[0], x->dims[1] };
    for (int i = 0; i < nsp; i++) dims[2 + i] = s->w.out[NN_SPATIAL - nsp + i];
    if (!st) st = nn_check_output(n, 0, x->rank, dims, err);
    if (!st && n->n_outputs > 1 && n->outputs[1].dtype != SEMSEG_DTYPE_UNDEFINED) {
        st = nn_check_output(n, 1, x->rank, dims, err);
        if (!st && n->outputs[1].dtype != SEMSEG_DTYPE_INT64)
            st = ref_fail(err, SEMSEG_STATUS_MODEL, "MaxPool %s: Indices must be int64", n->name);
    }
    if (st) {
        free(s);
        return st;
    }
    s->planes = x->dims[0] * x->dims[1];
    s->dtype = x->dtype;
    s->storage_order = (int)semseg_attr_int(n, "storage_order", 0);
    *state = s;
    return SEMSEG_STATUS_OK;
}

static float load(const void *p, int32_t dtype, int64_t i)
{
    switch (dtype) {
    case SEMSEG_DTYPE_UINT8: return ((const uint8_t *)p)[i];
    case SEMSEG_DTYPE_INT8: return ((const int8_t *)p)[i];
    default: return ((const float *)p)[i];
    }
}

static void store(void *p, int32_t dtype, int64_t i, float v)
{
    switch (dtype) {
    case SEMSEG_DTYPE_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case SEMSEG_DTYPE_INT8: ((int8_t *)p)[i] = (int8_t)v; break;
    default: ((float *)p)[i] = v; break;
    }
}

static semseg_status maxpool_run(void *state, const semseg_tensor *in, int32_t n_in,
                                 const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)n_in;
    (void)err;
    const maxpool_state *s = state;
    const nn_window *w = &s->w;
    const void *x = semseg_tensor_data(&in[0]);
    void *y = semseg_tensor_data(&out[0]);
    int64_t *idx = n_out > 1 && out[1].buffer ? semseg_tensor_data(&out[1]) : NULL;
    int64_t in_plane = w->in[0] * w->in[1] * w->in[2];
    int64_t o = 0;
    for (int64_t p = 0; p < s->planes; p++)
    for (int64_t od = 0; od < w->out[0]; od++)
    for (int64_t oh = 0; oh < w->out[1]; oh++)
    for (int64_t ow = 0; ow < w->out[2]; ow++, o++) {
        float best = -INFINITY;
        int64_t bd = -1, bh = -1, bw = -1;
        for (int64_t kd = 0; kd < w->kernel[0]; kd++) {
            int64_t id = od * w->stride[0] - w->pad_begin[0] + kd * w->dilation[0];
            if (id < 0 || id >= w->in[0]) continue;
            for (int64_t kh = 0; kh < w->kernel[1]; kh++) {
                int64_t ih = oh * w->stride[1] - w->pad_begin[1] + kh * w->dilation[1];
                if (ih < 0 || ih >= w->in[1]) continue;
                for (int64_t kw = 0; kw < w->kernel[2]; kw++) {
                    int64_t iw = ow * w->stride[2] - w->pad_begin[2] + kw * w->dilation[2];
                    if (iw < 0 || iw >= w->in[2]) continue;
                    float v = load(x, s->dtype, p * in_plane + (id * w->in[1] + ih) * w->in[2] + iw);
                    if (v > best || bd < 0) {
                        best = v;
                        bd = id, bh = ih, bw = iw;
                    }
                }
            }
        }
        store(y, s->dtype, o, best);
        if (idx) {
            int64_t pos = s->storage_order ? (bw * w->in[1] + bh) * w->in[0] + bd
                                           : (bd * w->in[1] + bh) * w->in[2] + bw;
            idx[o] = bd < 0 ? -1 : p * in_plane + pos;
        }
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_maxpool = {
    /* .domain  = */ "",
    /* .op      = */ "MaxPool",
    /* .supports= */ maxpool_supports,
    /* .create  = */ maxpool_create,
    /* .run     = */ maxpool_run,
    /* .destroy = */ NULL,
};
