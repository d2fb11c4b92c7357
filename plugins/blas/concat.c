/*
 * Concat (any rank, any fixed-size dtype) along `axis` (negative counts from
 * the end), threaded over the copies. Every input is viewed as [outer, inner_i]
 * with outer = product of dims before axis; output row r is the inputs' rows r
 * laid side by side. DeepLab's ASPP concatenates five 256x65x65 maps.
 */
#include <string.h>

#include "blas.h"

#define CONCAT_MAX_INPUTS 64

typedef struct concat_state {
    int threads;
    int32_t n_in;
    int64_t outer;
    int64_t inner[CONCAT_MAX_INPUTS];   /* bytes per row of each input */
    int64_t row;                        /* bytes per output row */
} concat_state;

static int concat_axis(const semseg_node_info *n, int64_t *axis)
{
    int32_t r = n->outputs[0].rank;
    int64_t a = semseg_attr_int(n, "axis", 0);
    if (a < 0) a += r;
    if (a < 0 || a >= r) return 0;
    *axis = a;
    return 1;
}

static semseg_support concat_supports(const blas_ctx *ctx, const semseg_node_info *n)
{
    (void)ctx;
    int64_t axis;
    if (n->n_inputs < 1 || n->n_inputs > CONCAT_MAX_INPUTS || n->n_outputs != 1) return SEMSEG_SUPPORT_NO;
    if (semseg_dtype_size(n->outputs[0].dtype) == 0 || !concat_axis(n, &axis)) return SEMSEG_SUPPORT_NO;
    for (int32_t i = 0; i < n->n_inputs; i++)
        if (n->inputs[i].dtype != n->outputs[0].dtype || n->inputs[i].rank != n->outputs[0].rank)
            return SEMSEG_SUPPORT_NO;
    return SEMSEG_SUPPORT_YES;
}

static semseg_status concat_create(const blas_ctx *ctx, const semseg_node_info *n, void **out,
                                   size_t *scratch_bytes, char *err)
{
    (void)scratch_bytes;
    int64_t axis;
    if (concat_supports(ctx, n) == SEMSEG_SUPPORT_NO || !concat_axis(n, &axis))
        return blas_fail(err, SEMSEG_STATUS_UNSUPPORTED, "Concat '%s': unsupported inputs", n->name);
    concat_state *s = calloc(1, sizeof *s);
    if (!s) return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "Concat '%s': out of memory", n->name);
    s->threads = ctx->threads;
    s->n_in = n->n_inputs;
    const semseg_value_info *y = &n->outputs[0];
    s->outer = semseg_numel((int)axis, y->dims);
    size_t es = semseg_dtype_size(y->dtype);
    for (int32_t i = 0; i < n->n_inputs; i++) {
        const semseg_value_info *x = &n->inputs[i];
        s->inner[i] = semseg_numel(x->rank - (int)axis, x->dims + axis) * (int64_t)es;
        s->row += s->inner[i];
    }
    if (s->row != semseg_numel(y->rank - (int)axis, y->dims + axis) * (int64_t)es) {
        free(s);
        return blas_fail(err, SEMSEG_STATUS_MODEL, "Concat '%s': input dims do not add up to the output's", n->name);
    }
    *out = s;
    return SEMSEG_STATUS_OK;
}

typedef struct concat_job {
    const concat_state *s;
    const semseg_tensor *in;
    char *y;
} concat_job;

/* Tasks are (outer row, input) pairs. */
static void concat_task(void *arg, int64_t begin, int64_t end, int worker)
{
    (void)worker;
    const concat_job *j = arg;
    const concat_state *s = j->s;
    for (int64_t t = begin; t < end; t++) {
        int64_t r = t / s->n_in;
        int32_t i = (int32_t)(t % s->n_in);
        int64_t off = 0;
        for (int32_t k = 0; k < i; k++) off += s->inner[k];
        const char *x = semseg_tensor_data(&j->in[i]);
        memcpy(j->y + r * s->row + off, x + r * s->inner[i], (size_t)s->inner[i]);
    }
}

static semseg_status concat_run(void *state, const semseg_tensor *in, int32_t n_in,
                                const semseg_tensor *out, int32_t n_out, void *scratch, char *err)
{
    (void)n_out; (void)scratch;
    const concat_state *s = state;
    if (n_in != s->n_in)
        return blas_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Concat: %d inputs, expected %d", (int)n_in, (int)s->n_in);
    concat_job j = { s, in, semseg_tensor_data(&out[0]) };
    int threads = s->outer * s->row < (4 << 20) ? 1 : s->threads;   /* bytes; see eltwise.c */
    blas_parallel_for(threads, s->outer * s->n_in, 0, concat_task, &j);
    return SEMSEG_STATUS_OK;
}

const blas_op blas_op_concat = {
    /* .op       = */ "Concat",
    /* .supports = */ concat_supports,
    /* .create   = */ concat_create,
    /* .run      = */ concat_run,
    /* .destroy  = */ NULL,
};
