/*
 * AveragePool (ONNX opsets 1, 7, 10, 11, 19): the mean of each window of X
 * (N x C x 1..3 spatial axes, float). Windows follow kernel_shape, strides,
 * dilations (opset 19), pads / auto_pad and ceil_mode (see ref_nn_util.c).
 *
 * The divisor: with count_include_pad = 0, the window's positions inside X;
 * with count_include_pad = 1, every position of the kernel, including those
 * that only exist because ceil_mode let the last window run past the end
 * padding. That is what ONNX's reference and ONNX Runtime do (PyTorch instead
 * stops counting at the end of the padding; the two differ only for such last
 * windows).
 */
#include "ref_nn_util.h"

typedef struct avgpool_state {
    nn_window w;
    int64_t planes;       /* N * C */
    int count_include_pad;
} avgpool_state;

static semseg_status avgpool_create(const semseg_node_info *n, void **state, char *err)
{
    semseg_status st = nn_check_float_input(n, 0, 3, 2 + NN_SPATIAL, err);
    if (st) return st;
    const semseg_value_info *x = &n->inputs[0];
    avgpool_state *s = calloc(1, sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "AveragePool %s: out of memory", n->name);
    int nsp = x->rank - 2;
    st = nn_window_read(n, NN_WINDOW_POOL, nsp, x->dims + 2, NULL, &s->w, err);
    if (!st) {
        int64_t dims[2 + NN_SPATIAL] = { x->dims[0], x->dims[1] };
        for (int i = 0; i < nsp; i++) dims[2 + i] = s->w.out[NN_SPATIAL - nsp + i];
        st = nn_check_output(n, 0, x->rank, dims, err);
    }
    if (st) {
        free(s);
        return st;
    }
    s->planes = x->dims[0] * x->dims[1];
    s->count_include_pad = semseg_attr_int(n, "count_include_pad", 0) != 0;
    *state = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status avgpool_run(void *state, const semseg_tensor *in, int32_t n_in,
                                 const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)n_in;
    (void)n_out;
    (void)err;
    const avgpool_state *s = state;
    const nn_window *w = &s->w;
    const float *x = semseg_tensor_data(&in[0]);
    float *y = semseg_tensor_data(&out[0]);
    int64_t in_plane = w->in[0] * w->in[1] * w->in[2];
    int64_t o = 0;
    for (int64_t p = 0; p < s->planes; p++)
    for (int64_t od = 0; od < w->out[0]; od++)
    for (int64_t oh = 0; oh < w->out[1]; oh++)
    for (int64_t ow = 0; ow < w->out[2]; ow++, o++) {
        const float *xp = x + p * in_plane;
        double sum = 0.0;
        int64_t inside = 0;
        for (int64_t kd = 0; kd < w->kernel[0]; kd++) {
            int64_t id = od * w->stride[0] - w->pad_begin[0] + kd * w->dilation[0];
            if (id < 0 || id >= w->in[0]) continue;
            for (int64_t kh = 0; kh < w->kernel[1]; kh++) {
                int64_t ih = oh * w->stride[1] - w->pad_begin[1] + kh * w->dilation[1];
                if (ih < 0 || ih >= w->in[1]) continue;
                for (int64_t kw = 0; kw < w->kernel[2]; kw++) {
                    int64_t iw = ow * w->stride[2] - w->pad_begin[2] + kw * w->dilation[2];
                    if (iw < 0 || iw >= w->in[2]) continue;
                    sum += xp[(id * w->in[1] + ih) * w->in[2] + iw];
                    inside++;
                }
            }
        }
        int64_t count = s->count_include_pad ? w->kernel[0] * w->kernel[1] * w->kernel[2] : inside;
        y[o] = count > 0 ? (float)(sum / (double)count) : 0.0f;
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_averagepool = {
    /* .domain  = */ "",
    /* .op      = */ "AveragePool",
    /* .supports= */ NULL,
    /* .create  = */ avgpool_create,
    /* .run     = */ avgpool_run,
    /* .destroy = */ NULL,
};
