/*
 * MatMul (float32) with numpy semantics: A [..., M, K] x B [..., K, N], the
 * leading (batch) dims broadcast; a 1-D A is a row [1, K] and a 1-D B a column
 * [K, 1], the added dim dropped from the output. One sgemm per batch entry;
 * a constant B (a weight) is copied at load.
 */
#include <string.h>

#include <cblas.h>

#include "blas.h"

typedef struct matmul_state {
    int64_t m, n, k;
    int32_t brank;                      /* batch rank of the output */
    int64_t bdims[SEMSEG_MAX_RANK];     /* output batch dims */
    int64_t astride[SEMSEG_MAX_RANK];   /* per batch dim, in matrices; 0 when broadcast */
    int64_t bstride[SEMSEG_MAX_RANK];
    float *b;                           /* constant B or NULL */
    int threads;
} matmul_state;

/* Fills s from the input dims; 0 when they do not multiply. */
static int matmul_shape(const semseg_node_info *n, matmul_state *s)
{
    const semseg_value_info *a = &n->inputs[0], *b = &n->inputs[1];
    if (a->rank < 1 || b->rank < 1) return 0;
    s->m = a->rank == 1 ? 1 : a->dims[a->rank - 2];
    s->k = a->dims[a->rank - 1];
    int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    s->n = b->rank == 1 ? 1 : b->dims[b->rank - 1];
    if (kb != s->k || s->m < 1 || s->n < 1 || s->k < 1) return 0;
    int32_t ra = a->rank > 2 ? a->rank - 2 : 0, rb = b->rank > 2 ? b->rank - 2 : 0;
    s->brank = ra > rb ? ra : rb;
    int64_t sa = 1, sb = 1;
    for (int32_t i = s->brank - 1; i >= 0; i--) {
        int32_t ia = i - (s->brank - ra), ib = i - (s->brank - rb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) return 0;
        s->bdims[i] = da > db ? da : db;
        s->astride[i] = da == 1 ? 0 : sa;
        s->bstride[i] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
    }
    return 1;
}

static semseg_support matmul_supports(const blas_ctx *ctx, const semseg_node_info *n)
{
    (void)ctx;
    if (n->n_inputs != 2 || n->n_outputs != 1 || !blas_all_float(n, -1)) return SEMSEG_SUPPORT_NO;
    matmul_state s;
    return matmul_shape(n, &s) ? SEMSEG_SUPPORT_YES : SEMSEG_SUPPORT_NO;
}

static semseg_status matmul_create(const blas_ctx *ctx, const semseg_node_info *n, void **out,
                                   size_t *scratch_bytes, char *err)
{
    (void)scratch_bytes;
    matmul_state *s = calloc(1, sizeof *s);
    if (!s) return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "MatMul '%s': out of memory", n->name);
    if (!matmul_shape(n, s)) {
        free(s);
        return blas_fail(err, SEMSEG_STATUS_MODEL, "MatMul '%s': input dims do not multiply", n->name);
    }
    s->threads = ctx->threads;
    if (n->inputs[1].data) {
        s->b = blas_copy_floats(n->inputs[1].data, semseg_numel(n->inputs[1].rank, n->inputs[1].dims));
        if (!s->b) {
            free(s);
            return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "MatMul '%s': out of memory copying B", n->name);
        }
    }
    *out = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status matmul_run(void *state, const semseg_tensor *in, int32_t n_in,
                                const semseg_tensor *out, int32_t n_out, void *scratch, char *err)
{
    (void)n_in; (void)n_out; (void)scratch; (void)err;
    const matmul_state *s = state;
    const float *a = semseg_tensor_data(&in[0]);
    const float *b = s->b ? s->b : semseg_tensor_data(&in[1]);
    float *y = semseg_tensor_data(&out[0]);
    int64_t batches = semseg_numel(s->brank, s->bdims);
    blas_gemm_threads(s->threads);
    for (int64_t t = 0; t < batches; t++) {
        int64_t rem = t, ia = 0, ib = 0;
        for (int32_t i = s->brank - 1; i >= 0; i--) {
            int64_t d = rem % s->bdims[i];
            rem /= s->bdims[i];
            ia += d * s->astride[i];
            ib += d * s->bstride[i];
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->m, (int)s->n, (int)s->k, 1.0f,
                    a + ia * s->m * s->k, (int)s->k, b + ib * s->k * s->n, (int)s->n, 0.0f,
                    y + t * s->m * s->n, (int)s->n);
    }
    return SEMSEG_STATUS_OK;
}

static void matmul_destroy(void *state)
{
    matmul_state *s = state;
    if (!s) return;
    free(s->b);
    free(s);
}

const blas_op blas_op_matmul = {
    /* .op       = */ "MatMul",
    /* .supports = */ matmul_supports,
    /* .create   = */ matmul_create,
    /* .run      = */ matmul_run,
    /* .destroy  = */ matmul_destroy,
};
