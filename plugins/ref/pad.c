/*
 * Pad: grows (or, with negative pads, crops) each dim by pads[begin] and
 * pads[end]. pads is laid out [b_1 .. b_n, e_1 .. e_n]; it is an attribute
 * with attribute `value` (float) before opset 11, and input 1 with an
 * optional scalar input 2 (constant_value, the data's dtype) from 11, plus
 * from opset 18 an optional input 3 `axes` naming which dims pads covers
 * (negative allowed; the others are not padded). Modes:
 *   constant  new cells get the constant (default 0),
 *   reflect   mirror without repeating the edge (numpy "reflect"),
 *   edge      repeat the edge cell,
 *   wrap      (opset 19) wrap around (numpy "wrap").
 * Any fixed-size dtype.
 */
#include <string.h>

#include "ref.h"
#include "ref_tensor_util.h"

typedef enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } pad_mode;

typedef struct pad_state {
    pad_mode mode;
    int use_attrs;                         /* opset < 11 */
    int64_t attr_pads[2 * SEMSEG_MAX_RANK];
    unsigned char attr_value[8];           /* `value` converted to the data dtype */
    int has_value, has_axes;               /* optional inputs 2 and 3 present */
} pad_state;

static int pad_mode_of(const char *s, pad_mode *m)
{
    if (strcmp(s, "constant") == 0) *m = PAD_CONSTANT;
    else if (strcmp(s, "reflect") == 0) *m = PAD_REFLECT;
    else if (strcmp(s, "edge") == 0) *m = PAD_EDGE;
    else if (strcmp(s, "wrap") == 0) *m = PAD_WRAP;
    else return 0;
    return 1;
}

static int pad_supports(const semseg_node_info *n)
{
    pad_mode m;
    if (n->n_inputs < 1 || n->n_outputs != 1 || n->outputs[0].dtype != n->inputs[0].dtype)
        return 0;
    size_t es = semseg_dtype_size(n->inputs[0].dtype);
    if (es != 1 && es != 2 && es != 4 && es != 8) return 0;
    if (!pad_mode_of(semseg_attr_string(n, "mode", "constant"), &m)) return 0;
    if (n->opset < 11) return 1;
    if (n->n_inputs < 2 || (n->inputs[1].dtype != SEMSEG_DTYPE_INT64 &&
                            n->inputs[1].dtype != SEMSEG_DTYPE_INT32))
        return 0;
    if (semseg_input_present(n, 2) && n->inputs[2].dtype != n->inputs[0].dtype) return 0;
    return 1;
}

static semseg_status pad_create(const semseg_node_info *n, void **state, char *err)
{
    if (!pad_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: Pad needs a fixed-size dtype, "
                        "int64 pads and mode constant/reflect/edge/wrap", n->name);
    pad_state *s = calloc(1, sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "node %s: out of memory", n->name);
    pad_mode_of(semseg_attr_string(n, "mode", "constant"), &s->mode);
    s->use_attrs = n->opset < 11;
    if (s->use_attrs) {
        const int64_t *pads = NULL;
        int64_t np = semseg_attr_ints(n, "pads", &pads);
        if (np != 2 * (int64_t)n->inputs[0].rank) {
            free(s);
            return ref_fail(err, SEMSEG_STATUS_MODEL, "node %s: Pad has %lld pads for rank %d",
                            n->name, (long long)np, (int)n->inputs[0].rank);
        }
        memcpy(s->attr_pads, pads, (size_t)np * sizeof(int64_t));
        ref_store_f64(n->inputs[0].dtype, s->attr_value, 0, semseg_attr_float(n, "value", 0.0f));
    }
    s->has_value = !s->use_attrs && semseg_input_present(n, 2);
    s->has_axes = !s->use_attrs && semseg_input_present(n, 3);
    *state = s;
    return SEMSEG_STATUS_OK;
}

/* Input index that output index o of a dim of size n (padded by `before`)
 * reads, or -1 for the constant. */
static int64_t pad_source(pad_mode mode, int64_t o, int64_t before, int64_t n)
{
    int64_t i = o - before;
    if (i >= 0 && i < n) return i;
    switch (mode) {
    case PAD_EDGE: return i < 0 ? 0 : n - 1;
    case PAD_WRAP: return ((i % n) + n) % n;
    case PAD_REFLECT: {
        if (n == 1) return 0;
        int64_t period = 2 * (n - 1);
        i = ((i % period) + period) % period;
        return i < n ? i : period - i;
    }
    default: return -1;
    }
}

#define PAD_LOOP(T) do { \
        const T *x = src; T *y = dst; T fill; \
        memcpy(&fill, value, sizeof fill); \
        for (int64_t r = 0; r < rows; r++, y += len) { \
            int64_t base = 0; int inside = 1; \
            for (int32_t d = 0; d < rank - 1; d++) { \
                int64_t i = map[d][idx[d]]; \
                if (i < 0) inside = 0; else base += i * stride[d]; \
            } \
            for (int64_t j = 0; j < len; j++) { \
                int64_t i = map[rank - 1][j]; \
                y[j] = (inside && i >= 0) ? x[base + i] : fill; \
            } \
            ref_index_next(rank - 1, odims, idx); \
        } \
    } while (0)

static semseg_status pad_run(void *state, const semseg_tensor *in, int32_t n_in,
                             const semseg_tensor *out, int32_t n_out, char *err)
{
    const pad_state *s = state;
    (void)n_out;
    int32_t rank = in[0].rank;
    const int64_t *odims = out[0].dims;
    int64_t before[SEMSEG_MAX_RANK] = { 0 };
    unsigned char value[8] = { 0 };
    size_t es = semseg_dtype_size(in[0].dtype);

    if (s->use_attrs) {
        for (int32_t d = 0; d < rank; d++) before[d] = s->attr_pads[d];
        memcpy(value, s->attr_value, es);
    } else {
        int64_t np = semseg_numel(in[1].rank, in[1].dims), n_axes = rank;
        int32_t axes[SEMSEG_MAX_RANK];
        for (int32_t d = 0; d < rank; d++) axes[d] = d;
        if (s->has_axes && n_in > 3) {
            n_axes = semseg_numel(in[3].rank, in[3].dims);
            for (int64_t k = 0; k < n_axes && k < SEMSEG_MAX_RANK; k++) {
                axes[k] = ref_norm_axis(ref_load_i64(in[3].dtype, semseg_tensor_data(&in[3]), k),
                                        rank);
                if (axes[k] < 0)
                    return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Pad: axis out of range");
            }
        }
        if (n_axes > rank || np != 2 * n_axes)
            return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Pad: %lld pads for %lld axes",
                            (long long)np, (long long)n_axes);
        for (int64_t k = 0; k < n_axes; k++)
            before[axes[k]] = ref_load_i64(in[1].dtype, semseg_tensor_data(&in[1]), k);
        if (s->has_value && n_in > 2) memcpy(value, semseg_tensor_data(&in[2]), es);
    }

    int64_t total = 0;
    for (int32_t d = 0; d < rank; d++) {
        if (odims[d] > 0 && in[0].dims[d] == 0 && s->mode != PAD_CONSTANT)
            return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Pad: cannot %s-pad an empty dim",
                            s->mode == PAD_EDGE ? "edge" : s->mode == PAD_WRAP ? "wrap" : "reflect");
        total += odims[d];
    }
    int64_t n = semseg_numel(rank, odims);
    if (n == 0) return SEMSEG_STATUS_OK;
    if (rank == 0) {
        memcpy(semseg_tensor_data(&out[0]), semseg_tensor_data(&in[0]), es);
        return SEMSEG_STATUS_OK;
    }
    /* map[d][o]: the input index output index o of dim d reads, -1 for fill. */
    int64_t *map_mem = malloc((size_t)total * sizeof(int64_t));
    if (!map_mem) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "Pad: out of memory");
    int64_t *map[SEMSEG_MAX_RANK];
    int64_t at = 0;
    for (int32_t d = 0; d < rank; at += odims[d], d++) {
        map[d] = map_mem + at;
        for (int64_t o = 0; o < odims[d]; o++)
            map[d][o] = pad_source(s->mode, o, before[d], in[0].dims[d]);
    }
    int64_t stride[SEMSEG_MAX_RANK], idx[SEMSEG_MAX_RANK] = { 0 };
    ref_strides(rank, in[0].dims, stride);
    int64_t len = odims[rank - 1], rows = n / len;
    const void *src = semseg_tensor_data(&in[0]);
    void *dst = semseg_tensor_data(&out[0]);
    switch (es) {
    case 1: PAD_LOOP(uint8_t); break;
    case 2: PAD_LOOP(uint16_t); break;
    case 4: PAD_LOOP(uint32_t); break;
    default: PAD_LOOP(uint64_t); break;
    }
    free(map_mem);
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_pad = {
    /* .domain   = */ "",
    /* .op       = */ "Pad",
    /* .supports = */ pad_supports,
    /* .create   = */ pad_create,
    /* .run      = */ pad_run,
    /* .destroy  = */ NULL,
};
