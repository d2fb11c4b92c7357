/*
 * Slice: takes data[start:end:step] along the listed axes (others whole).
 * Opset 1 reads starts/ends/axes attributes (step 1); opset 10+ reads the
 * inputs starts, ends, optional axes (default 0..n-1, negative allowed) and
 * optional steps (default 1, never 0, may be negative). Negative starts and
 * ends count from the end of the dim; then, as ONNX specifies, they are
 * clamped to [0, dim] for positive steps and to [0, dim-1] (start) and
 * [-1, dim-1] (end) for negative steps, so INT64_MAX / INT64_MIN mean "to
 * the end". Any fixed-size dtype.
 */
#include <string.h>

#include "ref.h"
#include "ref_tensor_util.h"

typedef struct slice_state {
    int32_t use_attrs;            /* opset 1 */
    int has_axes, has_steps;      /* opset 10+: optional inputs 3 and 4 present */
    int64_t n_attr;
    const int64_t *a_starts, *a_ends, *a_axes; /* opset 1; borrowed from the node */
    int64_t *attr_copy;           /* owned copy of the three attribute arrays */
} slice_state;

static int slice_supports(const semseg_node_info *n)
{
    if (n->n_inputs < 1 || n->n_outputs != 1 || n->outputs[0].dtype != n->inputs[0].dtype ||
        semseg_dtype_size(n->inputs[0].dtype) == 0)
        return 0;
    for (int32_t i = 1; i < n->n_inputs && i < 5; i++)
        if (semseg_input_present(n, i) && n->inputs[i].dtype != SEMSEG_DTYPE_INT64 &&
            n->inputs[i].dtype != SEMSEG_DTYPE_INT32)
            return 0;
    return n->opset < 10 || n->n_inputs >= 3;
}

static void slice_destroy(void *state)
{
    slice_state *s = state;
    if (s) free(s->attr_copy);
    free(s);
}

static semseg_status slice_create(const semseg_node_info *n, void **state, char *err)
{
    if (!slice_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: Slice needs a fixed-size dtype "
                        "and int32/int64 starts/ends/axes/steps", n->name);
    slice_state *s = calloc(1, sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "node %s: out of memory", n->name);
    s->use_attrs = n->opset < 10;
    s->has_axes = semseg_input_present(n, 3);
    s->has_steps = semseg_input_present(n, 4);
    if (s->use_attrs) {
        /* Attribute arrays belong to the node info; keep our own copy. */
        const int64_t *st = NULL, *en = NULL, *ax = NULL;
        int64_t ns = semseg_attr_ints(n, "starts", &st), ne = semseg_attr_ints(n, "ends", &en);
        int64_t na = semseg_attr_ints(n, "axes", &ax);
        if (ns < 0 || ne != ns || (na >= 0 && na != ns)) {
            free(s);
            return ref_fail(err, SEMSEG_STATUS_MODEL, "node %s: Slice needs starts and ends "
                            "(and axes) of one length", n->name);
        }
        s->attr_copy = malloc((size_t)(3 * ns + 1) * sizeof(int64_t));
        if (!s->attr_copy) {
            free(s);
            return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "node %s: out of memory", n->name);
        }
        if (ns > 0) {
            memcpy(s->attr_copy, st, (size_t)ns * sizeof(int64_t));
            memcpy(s->attr_copy + ns, en, (size_t)ns * sizeof(int64_t));
            if (na >= 0) memcpy(s->attr_copy + 2 * ns, ax, (size_t)ns * sizeof(int64_t));
        }
        s->n_attr = ns;
        s->a_starts = s->attr_copy;
        s->a_ends = s->attr_copy + ns;
        s->a_axes = na >= 0 ? s->attr_copy + 2 * ns : NULL;
    }
    *state = s;
    return SEMSEG_STATUS_OK;
}

/* Clamps start/end of one axis per the ONNX rules; returns the output length. */
static int64_t slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first)
{
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
    } else {
        start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
        end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
    }
    *first = start;
    /* Written so a huge |step| cannot overflow; diff is at most dim. */
    int64_t diff = step > 0 ? end - start : start - end;
    int64_t mag = step > 0 ? step : step == INT64_MIN ? INT64_MAX : -step;
    return diff > 0 ? (diff - 1) / mag + 1 : 0;
}

#define SLICE_LOOP(T) do { \
        const T *x = src; T *y = dst; \
        int64_t off = base; \
        for (int64_t i = 0; i < n; i++) { \
            y[i] = x[off]; \
            for (int32_t d = rank - 1; d >= 0; d--) { \
                off += stride[d]; \
                if (++idx[d] < odims[d]) break; \
                off -= stride[d] * odims[d]; \
                idx[d] = 0; \
            } \
        } \
    } while (0)

static semseg_status slice_run(void *state, const semseg_tensor *in, int32_t n_in,
                               const semseg_tensor *out, int32_t n_out, char *err)
{
    const slice_state *s = state;
    (void)n_out;
    int32_t rank = in[0].rank;
    int64_t first[SEMSEG_MAX_RANK], step[SEMSEG_MAX_RANK], odims[SEMSEG_MAX_RANK];
    int seen[SEMSEG_MAX_RANK] = { 0 };
    for (int32_t d = 0; d < rank; d++) {
        first[d] = 0;
        step[d] = 1;
        odims[d] = in[0].dims[d];
    }
    int64_t count = s->use_attrs ? s->n_attr : semseg_numel(in[1].rank, in[1].dims);
    if (!s->use_attrs && (n_in < 3 || semseg_numel(in[2].rank, in[2].dims) != count ||
                          (s->has_axes && semseg_numel(in[3].rank, in[3].dims) != count) ||
                          (s->has_steps && semseg_numel(in[4].rank, in[4].dims) != count)))
        return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Slice: starts, ends, axes and "
                        "steps differ in length");
    for (int64_t k = 0; k < count; k++) {
        int64_t st, en, ax, sp = 1;
        if (s->use_attrs) {
            st = s->a_starts[k];
            en = s->a_ends[k];
            ax = s->a_axes ? s->a_axes[k] : k;
        } else {
            st = ref_load_i64(in[1].dtype, semseg_tensor_data(&in[1]), k);
            en = ref_load_i64(in[2].dtype, semseg_tensor_data(&in[2]), k);
            ax = s->has_axes ? ref_load_i64(in[3].dtype, semseg_tensor_data(&in[3]), k) : k;
            if (s->has_steps) sp = ref_load_i64(in[4].dtype, semseg_tensor_data(&in[4]), k);
        }
        int32_t a = ref_norm_axis(ax, rank);
        if (a < 0 || seen[a] || sp == 0)
            return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Slice: bad axis %lld or "
                            "step %lld", (long long)ax, (long long)sp);
        seen[a] = 1;
        step[a] = sp;
        odims[a] = slice_axis(in[0].dims[a], st, en, sp, &first[a]);
    }
    for (int32_t d = 0; d < rank; d++)
        if (odims[d] != out[0].dims[d])
            return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Slice: output dim %d is %lld, "
                            "slice gives %lld", (int)d, (long long)out[0].dims[d],
                            (long long)odims[d]);
    int64_t in_stride[SEMSEG_MAX_RANK], stride[SEMSEG_MAX_RANK], idx[SEMSEG_MAX_RANK] = { 0 };
    int64_t base = 0;
    ref_strides(rank, in[0].dims, in_stride);
    for (int32_t d = 0; d < rank; d++) {
        base += first[d] * in_stride[d];
        stride[d] = step[d] * in_stride[d];
    }
    int64_t n = semseg_numel(rank, odims);
    if (n == 0) return SEMSEG_STATUS_OK;
    const void *src = semseg_tensor_data(&in[0]);
    void *dst = semseg_tensor_data(&out[0]);
    switch (semseg_dtype_size(in[0].dtype)) {
    case 1: SLICE_LOOP(uint8_t); break;
    case 2: SLICE_LOOP(uint16_t); break;
    case 4: SLICE_LOOP(uint32_t); break;
    default: SLICE_LOOP(uint64_t); break;
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_slice = {
    /* .domain   = */ "",
    /* .op       = */ "Slice",
    /* .supports = */ slice_supports,
    /* .create   = */ slice_create,
    /* .run      = */ slice_run,
    /* .destroy  = */ slice_destroy,
};
