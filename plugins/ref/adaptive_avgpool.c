/*
 * ai.semseg AdaptiveAvgPool2d (version 1): PyTorch's adaptive average pooling
 * over the last two axes. Attribute output_size = [oh, ow]. Output cell i of an
 * axis of length H averages input rows [floor(i * H / oh), ceil((i + 1) * H / oh)),
 * so bins may overlap when oh does not divide H — the case torch.onnx cannot
 * export and the reason this op exists (PSPNet's pyramid pooling at any size).
 * X is ... x H x W (rank >= 3, float); Y is ... x oh x ow.
 */
#include "ref_nn_util.h"

typedef struct adapool_state {
    int64_t planes, h, w, oh, ow;
} adapool_state;

static semseg_status adapool_create(const semseg_node_info *n, void **state, char *err)
{
    semseg_status st = nn_check_float_input(n, 0, 3, SEMSEG_MAX_RANK, err);
    if (st) return st;
    const semseg_value_info *x = &n->inputs[0];
    const int64_t *os;
    if (semseg_attr_ints(n, "output_size", &os) != 2 || os[0] < 1 || os[1] < 1)
        return ref_fail(err, SEMSEG_STATUS_MODEL,
                        "AdaptiveAvgPool2d %s: output_size must be two positive ints", n->name);
    int64_t dims[SEMSEG_MAX_RANK];
    for (int i = 0; i < x->rank - 2; i++) dims[i] = x->dims[i];
    dims[x->rank - 2] = os[0];
    dims[x->rank - 1] = os[1];
    if ((st = nn_check_output(n, 0, x->rank, dims, err))) return st;
    adapool_state *s = malloc(sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "AdaptiveAvgPool2d %s: out of memory", n->name);
    s->planes = semseg_numel(x->rank - 2, x->dims);
    s->h = x->dims[x->rank - 2];
    s->w = x->dims[x->rank - 1];
    s->oh = os[0];
    s->ow = os[1];
    *state = s;
    return SEMSEG_STATUS_OK;
}

static int64_t bin_start(int64_t i, int64_t in, int64_t out) { return i * in / out; }
static int64_t bin_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

static semseg_status adapool_run(void *state, const semseg_tensor *in, int32_t n_in,
                                 const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)n_in, (void)n_out, (void)err;
    const adapool_state *s = state;
    const float *x = semseg_tensor_data(&in[0]);
    float *y = semseg_tensor_data(&out[0]);
    for (int64_t p = 0; p < s->planes; p++) {
        const float *xp = x + p * s->h * s->w;
        for (int64_t i = 0; i < s->oh; i++) {
            int64_t h0 = bin_start(i, s->h, s->oh), h1 = bin_end(i, s->h, s->oh);
            for (int64_t j = 0; j < s->ow; j++) {
                int64_t w0 = bin_start(j, s->w, s->ow), w1 = bin_end(j, s->w, s->ow);
                double sum = 0.0;
                for (int64_t r = h0; r < h1; r++)
                    for (int64_t c = w0; c < w1; c++) sum += xp[r * s->w + c];
                y[(p * s->oh + i) * s->ow + j] = (float)(sum / (double)((h1 - h0) * (w1 - w0)));
            }
        }
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_adaptive_avg_pool2d = {
    /* .domain  = */ "ai.semseg",
    /* .op      = */ "AdaptiveAvgPool2d",
    /* .supports= */ NULL,
    /* .create  = */ adapool_create,
    /* .run     = */ adapool_run,
    /* .destroy = */ NULL,
};
