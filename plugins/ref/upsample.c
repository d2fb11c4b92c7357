/*
 * Upsample (ONNX opsets 7 and 9, deprecated since 10): output dims are
 * floor(input * scale) per axis; scales is an attribute at opset 7 and the
 * second input at opset 9. mode nearest or linear (bilinear accepted as
 * linear), both with asymmetric coordinates (x_ori = x / scale); nearest takes
 * the floor when enlarging and the ceiling when shrinking, as ONNX Runtime
 * does. float, uint8 and int8, through nn_resize (ref_nn_util.c).
 */
#include <string.h>

#include "ref_nn_util.h"

typedef struct upsample_state {
    nn_resize_spec spec;
    int32_t dtype;
    int rank;
    int64_t in_dims[SEMSEG_MAX_RANK];
    double scale[SEMSEG_MAX_RANK];
    int scales_from_input;
    char name[96];
} upsample_state;

static int upsample_supports(const semseg_node_info *n)
{
    int32_t t = n->n_inputs >= 1 ? n->inputs[0].dtype : 0;
    return t == SEMSEG_DTYPE_FLOAT || t == SEMSEG_DTYPE_UINT8 || t == SEMSEG_DTYPE_INT8;
}

static semseg_status upsample_create(const semseg_node_info *n, void **state, char *err)
{
    const semseg_value_info *x = &n->inputs[0];
    if (!upsample_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "Upsample %s: dtype %d (ref does float, uint8, int8)",
                        n->name, (int)x->dtype);
    const char *mode = semseg_attr_string(n, "mode", "nearest");
    int linear = strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0;
    if (!linear && strcmp(mode, "nearest") != 0)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "Upsample %s: unknown mode '%s'", n->name, mode);
    if (x->rank < 1 || n->outputs[0].rank != x->rank)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "Upsample %s: input rank %d, output rank %d",
                        n->name, (int)x->rank, (int)n->outputs[0].rank);
    upsample_state *s = calloc(1, sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "Upsample %s: out of memory", n->name);
    s->spec.mode = linear ? NN_RESIZE_LINEAR : NN_RESIZE_NEAREST;
    s->spec.coord = NN_COORD_ASYMMETRIC;
    s->spec.nearest = NN_NEAREST_SIMPLE;
    s->dtype = x->dtype;
    s->rank = x->rank;
    memcpy(s->in_dims, x->dims, (size_t)x->rank * sizeof *x->dims);
    snprintf(s->name, sizeof s->name, "Upsample %s", n->name);
    s->scales_from_input = semseg_input_present(n, 1);
    if (!s->scales_from_input) {
        const float *sc = NULL;
        if (semseg_attr_floats(n, "scales", &sc) != x->rank) {
            free(s);
            return ref_fail(err, SEMSEG_STATUS_MODEL, "Upsample %s: needs %d scales", n->name, (int)x->rank);
        }
        for (int a = 0; a < x->rank; a++) s->scale[a] = sc[a];
    }
    *state = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status upsample_run(void *state, const semseg_tensor *in, int32_t n_in,
                                  const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)n_out;
    const upsample_state *s = state;
    double scale[SEMSEG_MAX_RANK];
    memcpy(scale, s->scale, sizeof scale);
    if (s->scales_from_input) {
        if (n_in < 2 || in[1].dtype != SEMSEG_DTYPE_FLOAT || semseg_numel(in[1].rank, in[1].dims) != s->rank)
            return ref_fail(err, SEMSEG_STATUS_MODEL, "%s: scales must be %d floats", s->name, s->rank);
        const float *sc = semseg_tensor_data(&in[1]);
        for (int a = 0; a < s->rank; a++) scale[a] = sc[a];
    }
    return nn_resize(&s->spec, s->rank, s->in_dims, out[0].dims, scale, NULL, s->dtype,
                     semseg_tensor_data(&in[0]), semseg_tensor_data(&out[0]), s->name, err);
}

const ref_op ref_op_upsample = {
    /* .domain  = */ "",
    /* .op      = */ "Upsample",
    /* .supports= */ upsample_supports,
    /* .create  = */ upsample_create,
    /* .run     = */ upsample_run,
    /* .destroy = */ NULL,
};
