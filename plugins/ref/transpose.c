/*
 * Transpose: out.dims[i] = in.dims[perm[i]]; perm defaults to reversing the
 * axes. Any fixed-size dtype: elements are moved as 1/2/4/8-byte words.
 */
#include "ref.h"
#include "ref_tensor_util.h"

typedef struct transpose_state {
    int32_t rank;
    int32_t perm[SEMSEG_MAX_RANK];
} transpose_state;

static int transpose_supports(const semseg_node_info *n)
{
    if (n->n_inputs != 1 || n->n_outputs != 1 || n->outputs[0].dtype != n->inputs[0].dtype)
        return 0;
    size_t es = semseg_dtype_size(n->inputs[0].dtype);
    return es == 1 || es == 2 || es == 4 || es == 8;
}

static semseg_status transpose_create(const semseg_node_info *n, void **state, char *err)
{
    if (!transpose_supports(n))
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "node %s: Transpose needs a fixed-size "
                        "dtype", n->name);
    transpose_state *s = malloc(sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "node %s: out of memory", n->name);
    s->rank = n->inputs[0].rank;
    const int64_t *perm = NULL;
    int64_t np = semseg_attr_ints(n, "perm", &perm);
    int seen[SEMSEG_MAX_RANK] = { 0 };
    for (int32_t i = 0; i < s->rank; i++) {
        int64_t p = np >= 0 ? (i < np ? perm[i] : -1) : s->rank - 1 - i;
        if (np >= 0 && np != s->rank) p = -1;
        if (p < 0 || p >= s->rank || seen[p]) {
            free(s);
            return ref_fail(err, SEMSEG_STATUS_MODEL, "node %s: Transpose perm is not a "
                            "permutation of %d axes", n->name, (int)n->inputs[0].rank);
        }
        seen[p] = 1;
        s->perm[i] = (int32_t)p;
    }
    *state = s;
    return SEMSEG_STATUS_OK;
}

/* Walks the output in order; src_stride[i] is the input stride of output axis i. */
#define TRANSPOSE_LOOP(T) do { \
        const T *x = src; T *y = dst; \
        int64_t off = 0; \
        for (int64_t i = 0; i < n; i++) { \
            y[i] = x[off]; \
            for (int32_t d = rank - 1; d >= 0; d--) { \
                off += src_stride[d]; \
                if (++idx[d] < dims[d]) break; \
                off -= src_stride[d] * dims[d]; \
                idx[d] = 0; \
            } \
        } \
    } while (0)

static semseg_status transpose_run(void *state, const semseg_tensor *in, int32_t n_in,
                                   const semseg_tensor *out, int32_t n_out, char *err)
{
    const transpose_state *s = state;
    (void)n_in; (void)n_out; (void)err;
    int32_t rank = s->rank;
    int64_t in_stride[SEMSEG_MAX_RANK], src_stride[SEMSEG_MAX_RANK];
    int64_t idx[SEMSEG_MAX_RANK] = { 0 };
    const int64_t *dims = out[0].dims;
    ref_strides(rank, in[0].dims, in_stride);
    for (int32_t i = 0; i < rank; i++) src_stride[i] = in_stride[s->perm[i]];
    int64_t n = semseg_numel(rank, dims);
    const void *src = semseg_tensor_data(&in[0]);
    void *dst = semseg_tensor_data(&out[0]);
    switch (semseg_dtype_size(in[0].dtype)) {
    case 1: TRANSPOSE_LOOP(uint8_t); break;
    case 2: TRANSPOSE_LOOP(uint16_t); break;
    case 4: TRANSPOSE_LOOP(uint32_t); break;
    default: TRANSPOSE_LOOP(uint64_t); break;
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_transpose = {
    /* .domain   = */ "",
    /* .op       = */ "Transpose",
    /* .supports = */ transpose_supports,
    /* .create   = */ transpose_create,
    /* .run      = */ transpose_run,
    /* .destroy  = */ NULL,
};
