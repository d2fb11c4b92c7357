/*
 * Conv (ONNX opsets 1, 11): Y[n, m, o] = B[m] + sum over the channels c of m's
 * group and the kernel offsets k of X[n, c, o * stride - pad_begin + k * dilation]
 * * W[m, c, k], positions outside X counting as zero. X is N x C x spatial
 * (1 to 3 spatial axes), W is M x C/group x kernel, B (optional) is M.
 * kernel_shape may be omitted (taken from W); auto_pad as in ref_nn_util.c.
 * The weights are read at run time so that non-constant weights work too.
 * Sums are float, accumulated tap by tap over whole output rows.
 */
#include "ref_nn_util.h"

typedef struct conv_state {
    nn_window w;
    int64_t batch, in_ch, out_ch, group;
    int has_bias;
} conv_state;

static semseg_status conv_create(const semseg_node_info *n, void **state, char *err)
{
    semseg_status st;
    if ((st = nn_check_float_input(n, 0, 3, 2 + NN_SPATIAL, err)) ||
        (st = nn_check_float_input(n, 1, n->inputs[0].rank, n->inputs[0].rank, err)))
        return st;
    const semseg_value_info *x = &n->inputs[0], *wt = &n->inputs[1];
    int nsp = x->rank - 2;
    int64_t group = semseg_attr_int(n, "group", 1);
    if (group < 1 || x->dims[1] % group != 0 || wt->dims[0] % group != 0 ||
        wt->dims[1] * group != x->dims[1])
        return ref_fail(err, SEMSEG_STATUS_MODEL,
                        "Conv %s: group %lld does not fit %lld input channels and weight %lldx%lld",
                        n->name, (long long)group, (long long)x->dims[1], (long long)wt->dims[0],
                        (long long)wt->dims[1]);
    int has_bias = semseg_input_present(n, 2);
    if (has_bias) {
        if ((st = nn_check_float_input(n, 2, 1, 1, err))) return st;
        if (n->inputs[2].dims[0] != wt->dims[0])
            return ref_fail(err, SEMSEG_STATUS_MODEL, "Conv %s: bias has %lld entries for %lld output channels",
                            n->name, (long long)n->inputs[2].dims[0], (long long)wt->dims[0]);
    }

    conv_state *s = calloc(1, sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "Conv %s: out of memory", n->name);
    st = nn_window_read(n, NN_WINDOW_CONV, nsp, x->dims + 2, wt->dims + 2, &s->w, err);
    if (!st) {
        int64_t dims[2 + NN_SPATIAL] = { x->dims[0], wt->dims[0] };
        for (int i = 0; i < nsp; i++) dims[2 + i] = s->w.out[NN_SPATIAL - nsp + i];
        st = nn_check_output(n, 0, x->rank, dims, err);
    }
    if (st) {
        free(s);
        return st;
    }
    s->batch = x->dims[0];
    s->in_ch = x->dims[1];
    s->out_ch = wt->dims[0];
    s->group = group;
    s->has_bias = has_bias;
    *state = s;
    return SEMSEG_STATUS_OK;
}

/* One output plane (channel m of image n): for every input channel and kernel
 * tap, adds weight * the shifted input to the outputs the tap reaches inside X,
 * so the innermost loop is a plain strided multiply-add over a row. */
static void conv_plane(const conv_state *s, const float *x, const float *wm, float bias, float *y)
{
    const nn_window *w = &s->w;
    int64_t cpg = s->in_ch / s->group;
    int64_t in_plane = w->in[0] * w->in[1] * w->in[2];
    int64_t out_plane = w->out[0] * w->out[1] * w->out[2];
    int64_t ksize = w->kernel[0] * w->kernel[1] * w->kernel[2];
    for (int64_t i = 0; i < out_plane; i++) y[i] = bias;
    for (int64_t c = 0; c < cpg; c++)
    for (int64_t kd = 0; kd < w->kernel[0]; kd++)
    for (int64_t kh = 0; kh < w->kernel[1]; kh++)
    for (int64_t kw = 0; kw < w->kernel[2]; kw++) {
        float wv = wm[c * ksize + (kd * w->kernel[1] + kh) * w->kernel[2] + kw];
        int64_t off_d = kd * w->dilation[0] - w->pad_begin[0];
        int64_t off_h = kh * w->dilation[1] - w->pad_begin[1];
        int64_t off_w = kw * w->dilation[2] - w->pad_begin[2];
        int64_t d0, d1, h0, h1, w0, w1;
        nn_tap_range(off_d, w->stride[0], w->in[0], w->out[0], &d0, &d1);
        nn_tap_range(off_h, w->stride[1], w->in[1], w->out[1], &h0, &h1);
        nn_tap_range(off_w, w->stride[2], w->in[2], w->out[2], &w0, &w1);
        const float *xc = x + c * in_plane;
        for (int64_t od = d0; od < d1; od++)
        for (int64_t oh = h0; oh < h1; oh++) {
            int64_t id = od * w->stride[0] + off_d, ih = oh * w->stride[1] + off_h;
            const float *xrow = xc + (id * w->in[1] + ih) * w->in[2];
            float *yrow = y + (od * w->out[1] + oh) * w->out[2];
            for (int64_t ow = w0; ow < w1; ow++) yrow[ow] += wv * xrow[ow * w->stride[2] + off_w];
        }
    }
}

static semseg_status conv_run(void *state, const semseg_tensor *in, int32_t n_in,
                              const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)n_out;
    (void)err;
    const conv_state *s = state;
    const nn_window *w = &s->w;
    const float *x = semseg_tensor_data(&in[0]);
    const float *wt = semseg_tensor_data(&in[1]);
    const float *b = s->has_bias && n_in > 2 ? semseg_tensor_data(&in[2]) : NULL;
    float *y = semseg_tensor_data(&out[0]);
    int64_t in_plane = w->in[0] * w->in[1] * w->in[2];
    int64_t out_plane = w->out[0] * w->out[1] * w->out[2];
    int64_t ksize = w->kernel[0] * w->kernel[1] * w->kernel[2];
    int64_t cpg = s->in_ch / s->group, mpg = s->out_ch / s->group;
    for (int64_t nb = 0; nb < s->batch; nb++)
        for (int64_t m = 0; m < s->out_ch; m++) {
            int64_t g = m / mpg;
            const float *xg = x + (nb * s->in_ch + g * cpg) * in_plane;
            conv_plane(s, xg, wt + m * cpg * ksize, b ? b[m] : 0.0f,
                       y + (nb * s->out_ch + m) * out_plane);
        }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_conv = {
    /* .domain  = */ "",
    /* .op      = */ "Conv",
    /* .supports= */ NULL,
    /* .create  = */ conv_create,
    /* .run     = */ conv_run,
    /* .destroy = */ NULL,
};
