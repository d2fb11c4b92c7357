/*
 * ConvTranspose (ONNX opsets 1, 11): the gradient of Conv with respect to its
 * input. Every input position i of channel c scatters X[n, c, i] * W[c, m, k]
 * to Y[n, m, i * stride - pad_begin + k * dilation] for the output channels m
 * of c's group; positions falling outside Y are dropped. X is N x C x spatial,
 * W is C x M/group x kernel, B (optional) is M, Y is N x M x out. The output
 * size comes from output_shape, auto_pad or the pads (see ref_nn_util.c);
 * output_padding only grows the output at the end.
 */
#include <string.h>

#include "ref_nn_util.h"

typedef struct convt_state {
    nn_window w;
    int64_t batch, in_ch, out_ch, group;
    int has_bias;
} convt_state;

static semseg_status convt_create(const semseg_node_info *n, void **state, char *err)
{
    semseg_status st;
    if ((st = nn_check_float_input(n, 0, 3, 2 + NN_SPATIAL, err)) ||
        (st = nn_check_float_input(n, 1, n->inputs[0].rank, n->inputs[0].rank, err)))
        return st;
    const semseg_value_info *x = &n->inputs[0], *wt = &n->inputs[1];
    int nsp = x->rank - 2;
    int64_t group = semseg_attr_int(n, "group", 1);
    if (group < 1 || x->dims[1] % group != 0 || wt->dims[0] != x->dims[1])
        return ref_fail(err, SEMSEG_STATUS_MODEL,
                        "ConvTranspose %s: group %lld does not fit %lld input channels and weight %lldx%lld",
                        n->name, (long long)group, (long long)x->dims[1], (long long)wt->dims[0],
                        (long long)wt->dims[1]);
    int64_t out_ch = wt->dims[1] * group;
    int has_bias = semseg_input_present(n, 2);
    if (has_bias) {
        if ((st = nn_check_float_input(n, 2, 1, 1, err))) return st;
        if (n->inputs[2].dims[0] != out_ch)
            return ref_fail(err, SEMSEG_STATUS_MODEL,
                            "ConvTranspose %s: bias has %lld entries for %lld output channels",
                            n->name, (long long)n->inputs[2].dims[0], (long long)out_ch);
    }

    convt_state *s = calloc(1, sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "ConvTranspose %s: out of memory", n->name);
    st = nn_window_read(n, NN_WINDOW_CONV_TRANSPOSE, nsp, x->dims + 2, wt->dims + 2, &s->w, err);
    if (!st) {
        int64_t dims[2 + NN_SPATIAL] = { x->dims[0], out_ch };
        for (int i = 0; i < nsp; i++) dims[2 + i] = s->w.out[NN_SPATIAL - nsp + i];
        st = nn_check_output(n, 0, x->rank, dims, err);
    }
    if (st) {
        free(s);
        return st;
    }
    s->batch = x->dims[0];
    s->in_ch = x->dims[1];
    s->out_ch = out_ch;
    s->group = group;
    s->has_bias = has_bias;
    *state = s;
    return SEMSEG_STATUS_OK;
}

/* Scatters one input plane through one kernel into one output plane: each tap
 * adds weight * the input rows to the output positions it reaches. */
static void convt_scatter(const nn_window *w, const float *x, const float *k, float *y)
{
    for (int64_t kd = 0; kd < w->kernel[0]; kd++)
    for (int64_t kh = 0; kh < w->kernel[1]; kh++)
    for (int64_t kw = 0; kw < w->kernel[2]; kw++) {
        float wv = k[(kd * w->kernel[1] + kh) * w->kernel[2] + kw];
        int64_t off_d = kd * w->dilation[0] - w->pad_begin[0];
        int64_t off_h = kh * w->dilation[1] - w->pad_begin[1];
        int64_t off_w = kw * w->dilation[2] - w->pad_begin[2];
        int64_t d0, d1, h0, h1, w0, w1;   /* input positions whose target is inside Y */
        nn_tap_range(off_d, w->stride[0], w->out[0], w->in[0], &d0, &d1);
        nn_tap_range(off_h, w->stride[1], w->out[1], w->in[1], &h0, &h1);
        nn_tap_range(off_w, w->stride[2], w->out[2], w->in[2], &w0, &w1);
        for (int64_t id = d0; id < d1; id++)
        for (int64_t ih = h0; ih < h1; ih++) {
            int64_t od = id * w->stride[0] + off_d, oh = ih * w->stride[1] + off_h;
            const float *xrow = x + (id * w->in[1] + ih) * w->in[2];
            float *yrow = y + (od * w->out[1] + oh) * w->out[2];
            for (int64_t iw = w0; iw < w1; iw++) yrow[iw * w->stride[2] + off_w] += wv * xrow[iw];
        }
    }
}

static semseg_status convt_run(void *state, const semseg_tensor *in, int32_t n_in,
                               const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)n_out;
    (void)err;
    const convt_state *s = state;
    const nn_window *w = &s->w;
    const float *x = semseg_tensor_data(&in[0]);
    const float *wt = semseg_tensor_data(&in[1]);
    const float *b = s->has_bias && n_in > 2 ? semseg_tensor_data(&in[2]) : NULL;
    float *y = semseg_tensor_data(&out[0]);
    int64_t in_plane = w->in[0] * w->in[1] * w->in[2];
    int64_t out_plane = w->out[0] * w->out[1] * w->out[2];
    int64_t ksize = w->kernel[0] * w->kernel[1] * w->kernel[2];
    int64_t cpg = s->in_ch / s->group, mpg = s->out_ch / s->group;
    for (int64_t nb = 0; nb < s->batch; nb++) {
        for (int64_t m = 0; m < s->out_ch; m++) {
            float *ym = y + (nb * s->out_ch + m) * out_plane;
            float bias = b ? b[m] : 0.0f;
            for (int64_t i = 0; i < out_plane; i++) ym[i] = bias;
        }
        for (int64_t c = 0; c < s->in_ch; c++) {
            int64_t g = c / cpg;
            for (int64_t j = 0; j < mpg; j++) {
                int64_t m = g * mpg + j;
                convt_scatter(w, x + (nb * s->in_ch + c) * in_plane, wt + (c * mpg + j) * ksize,
                              y + (nb * s->out_ch + m) * out_plane);
            }
        }
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_conv_transpose = {
    /* .domain  = */ "",
    /* .op      = */ "ConvTranspose",
    /* .supports= */ NULL,
    /* .create  = */ convt_create,
    /* .run     = */ convt_run,
    /* .destroy = */ NULL,
};
