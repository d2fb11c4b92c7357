/*
 * Gemm (float32): Y = alpha * A' * B' + beta * C, A' = transA ? A^T : A
 * (M x K), B' likewise (K x N), C optional and unidirectionally broadcast to
 * M x N (scalar, [N], [1,N], [M,1], [M,N]). A constant A or B is copied at
 * load so the run never touches the model's buffers. An epilogue proposed by
 * the runtime (residual Add, Relu/Clip) is applied after the product.
 */
#include <string.h>

#include <cblas.h>

#include "blas.h"

typedef struct gemm_state {
    int64_t m, n, k;
    int ta, tb;
    float alpha, beta;
    float *a, *b;            /* packed constants or NULL */
    int has_c;
    int64_t cr, cc;          /* C broadcast dims: rows 1|M, cols 1|N */
    float *c;                /* constant C or NULL */
    blas_epilogue epi;
    int threads;
    char name[96];          /* for error lines; the node may not outlive us */
} gemm_state;

static int gemm_c_dims(const semseg_node_info *n, int64_t m, int64_t nn, int64_t *cr, int64_t *cc)
{
    const semseg_value_info *c = &n->inputs[2];
    int64_t r = 1, k = 1;
    if (c->rank == 1) k = c->dims[0];
    else if (c->rank == 2) { r = c->dims[0]; k = c->dims[1]; }
    else if (c->rank != 0) return 0;
    if ((r != 1 && r != m) || (k != 1 && k != nn)) return 0;
    *cr = r;
    *cc = k;
    return 1;
}

static semseg_support gemm_supports(const blas_ctx *ctx, const semseg_node_info *n)
{
    (void)ctx;
    if (n->n_inputs < 2 || n->n_outputs != 1 || !blas_all_float(n, 2)) return SEMSEG_SUPPORT_NO;
    if (n->inputs[0].rank != 2 || n->inputs[1].rank != 2) return SEMSEG_SUPPORT_NO;
    const int64_t *yd = n->outputs[0].dims;
    int64_t cr, cc;
    if (semseg_input_present(n, 2) && !gemm_c_dims(n, yd[0], yd[1], &cr, &cc)) return SEMSEG_SUPPORT_NO;
    blas_epilogue e;
    return blas_epilogue_from_node(n, 3, &e) ? SEMSEG_SUPPORT_FUSED : SEMSEG_SUPPORT_YES;
}

static semseg_status gemm_create(const blas_ctx *ctx, const semseg_node_info *n, void **out,
                                 size_t *scratch_bytes, char *err)
{
    (void)scratch_bytes;
    if (gemm_supports(ctx, n) == SEMSEG_SUPPORT_NO)
        return blas_fail(err, SEMSEG_STATUS_UNSUPPORTED, "Gemm '%s': unsupported inputs", n->name);
    gemm_state *s = calloc(1, sizeof *s);
    if (!s) return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "Gemm '%s': out of memory", n->name);
    snprintf(s->name, sizeof s->name, "%s", n->name);
    s->threads = ctx->threads;
    s->ta = semseg_attr_int(n, "transA", 0) != 0;
    s->tb = semseg_attr_int(n, "transB", 0) != 0;
    s->alpha = semseg_attr_float(n, "alpha", 1.0f);
    s->beta = semseg_attr_float(n, "beta", 1.0f);
    const int64_t *ad = n->inputs[0].dims, *bd = n->inputs[1].dims;
    s->m = s->ta ? ad[1] : ad[0];
    s->k = s->ta ? ad[0] : ad[1];
    s->n = s->tb ? bd[0] : bd[1];
    if ((s->tb ? bd[1] : bd[0]) != s->k || n->outputs[0].dims[0] != s->m || n->outputs[0].dims[1] != s->n) {
        free(s);
        return blas_fail(err, SEMSEG_STATUS_MODEL, "Gemm '%s': A is %lldx%lld, B is %lldx%lld: inner dims differ",
                         n->name, (long long)ad[0], (long long)ad[1], (long long)bd[0], (long long)bd[1]);
    }
    blas_epilogue_from_node(n, 3, &s->epi);
    int ok = 1;
    if (n->inputs[0].data) ok &= (s->a = blas_copy_floats(n->inputs[0].data, s->m * s->k)) != NULL;
    if (n->inputs[1].data) ok &= (s->b = blas_copy_floats(n->inputs[1].data, s->k * s->n)) != NULL;
    if (semseg_input_present(n, 2) && s->epi.residual != 2) {
        s->has_c = 1;
        gemm_c_dims(n, s->m, s->n, &s->cr, &s->cc);
        if (n->inputs[2].data) ok &= (s->c = blas_copy_floats(n->inputs[2].data, s->cr * s->cc)) != NULL;
    }
    if (!ok) {
        free(s->a); free(s->b); free(s->c); free(s);
        return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "Gemm '%s': out of memory copying weights", n->name);
    }
    *out = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status gemm_run(void *state, const semseg_tensor *in, int32_t n_in,
                              const semseg_tensor *out, int32_t n_out, void *scratch, char *err)
{
    (void)n_out; (void)scratch;
    const gemm_state *s = state;
    const float *a = s->a ? s->a : semseg_tensor_data(&in[0]);
    const float *b = s->b ? s->b : semseg_tensor_data(&in[1]);
    float *y = semseg_tensor_data(&out[0]);
    const int64_t mn = s->m * s->n;
    float gbeta = 0.0f;
    if (s->epi.residual >= 0) {
        if (s->epi.residual >= n_in)
            return blas_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "Gemm '%s': residual input missing", s->name);
        const float *r = semseg_tensor_data(&in[s->epi.residual]);
        if (r != y) memcpy(y, r, (size_t)mn * sizeof(float));
        gbeta = 1.0f;
    }
    if (s->has_c) {
        const float *c = s->c ? s->c : semseg_tensor_data(&in[2]);
        for (int64_t i = 0; i < s->m; i++) {
            const float *cr = c + (s->cr == 1 ? 0 : i * s->cc);
            float *yr = y + i * s->n;
            for (int64_t j = 0; j < s->n; j++) {
                float v = s->beta * cr[s->cc == 1 ? 0 : j];
                yr[j] = gbeta != 0.0f ? yr[j] + v : v;
            }
        }
        gbeta = 1.0f;
    }
    blas_gemm_threads(s->threads);
    cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans,
                (int)s->m, (int)s->n, (int)s->k, s->alpha, a, s->ta ? (int)s->m : (int)s->k,
                b, s->tb ? (int)s->k : (int)s->n, gbeta, y, (int)s->n);
    blas_epilogue_apply(&s->epi, y, s->n, s->m, s->n, NULL, NULL, 0);
    return SEMSEG_STATUS_OK;
}

static void gemm_destroy(void *state)
{
    gemm_state *s = state;
    if (!s) return;
    free(s->a); free(s->b); free(s->c);
    free(s);
}

const blas_op blas_op_gemm = {
    /* .op       = */ "Gemm",
    /* .supports = */ gemm_supports,
    /* .create   = */ gemm_create,
    /* .run      = */ gemm_run,
    /* .destroy  = */ gemm_destroy,
};
