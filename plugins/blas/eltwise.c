/*
 * Element-wise ops threaded over the output: Add, Sub, Mul, Div (numpy
 * broadcasting in the forms segmentation nets use) and the activations
 * MobileNetV3 leaves unfused: HardSigmoid (y = max(0, min(1, alpha*x + beta)),
 * defaults 0.2 / 0.5), HardSwish (x * max(0, min(1, x/6 + 1/2))), Relu,
 * Sigmoid.
 *
 * Broadcasting: an input qualifies when, right-aligned to the output's rank,
 * its dims equal the output's on one contiguous range of axes [a, b) and are 1
 * elsewhere: the full shape, a scalar, a per-channel [1,C,1,1] (the
 * squeeze-and-excitation scale), a row... Element i of the output then reads
 * element (i / inner) % span of the input, inner being the product of the
 * output dims after b. Other shapes are left to `ref`.
 */
#include <math.h>
#include <string.h>

#include "blas.h"

enum { EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_HARDSIGMOID, EW_HARDSWISH, EW_RELU, EW_SIGMOID };

typedef struct ew_bcast {
    int64_t inner, span;   /* see above; span == numel of the input */
} ew_bcast;

typedef struct ew_state {
    int kind, threads, binary;
    int64_t numel;
    ew_bcast b[2];
    float alpha, beta;
} ew_state;

static int ew_kind(const char *op)
{
    static const char *const names[] = { "Add", "Sub", "Mul", "Div", "HardSigmoid", "HardSwish", "Relu", "Sigmoid" };
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(op, names[i]) == 0) return i;
    return -1;
}

/* Describes how input v broadcasts to output y; 0 when it does not fit. */
static int ew_broadcast(const semseg_value_info *v, const semseg_value_info *y, ew_bcast *b)
{
    if (v->rank > y->rank) return 0;
    int32_t off = y->rank - v->rank, a = -1, e = -1;
    for (int32_t i = 0; i < y->rank; i++) {
        int64_t d = i < off ? 1 : v->dims[i - off];
        if (y->dims[i] == 1) {                /* adds nothing to any index */
            if (d != 1) return 0;
            continue;
        }
        if (d == y->dims[i]) {
            if (a < 0) a = i;
            else if (e >= 0) return 0;       /* a second range */
        } else if (d == 1) {
            if (a >= 0 && e < 0) e = i;
        } else {
            return 0;
        }
    }
    if (a < 0) { b->inner = 1; b->span = 1; return 1; }   /* all ones: a scalar */
    if (e < 0) e = y->rank;
    b->span = semseg_numel(e - a, y->dims + a);
    b->inner = semseg_numel(y->rank - e, y->dims + e);
    return 1;
}

static semseg_support ew_supports(const blas_ctx *ctx, const semseg_node_info *n)
{
    (void)ctx;
    int k = ew_kind(n->op);
    if (k < 0 || n->n_outputs != 1 || !blas_all_float(n, -1)) return SEMSEG_SUPPORT_NO;
    int binary = k <= EW_DIV;
    if (n->n_inputs != (binary ? 2 : 1)) return SEMSEG_SUPPORT_NO;
    ew_bcast b;
    for (int i = 0; i < n->n_inputs; i++)
        if (!ew_broadcast(&n->inputs[i], &n->outputs[0], &b)) return SEMSEG_SUPPORT_NO;
    return SEMSEG_SUPPORT_YES;
}

static semseg_status ew_create(const blas_ctx *ctx, const semseg_node_info *n, void **out,
                               size_t *scratch_bytes, char *err)
{
    (void)scratch_bytes;
    if (ew_supports(ctx, n) == SEMSEG_SUPPORT_NO)
        return blas_fail(err, SEMSEG_STATUS_UNSUPPORTED, "%s '%s': unsupported inputs", n->op, n->name);
    ew_state *s = calloc(1, sizeof *s);
    if (!s) return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "%s '%s': out of memory", n->op, n->name);
    s->kind = ew_kind(n->op);
    s->binary = s->kind <= EW_DIV;
    s->threads = ctx->threads;
    s->numel = semseg_numel(n->outputs[0].rank, n->outputs[0].dims);
    for (int i = 0; i < n->n_inputs; i++) ew_broadcast(&n->inputs[i], &n->outputs[0], &s->b[i]);
    s->alpha = semseg_attr_float(n, "alpha", 0.2f);
    s->beta = semseg_attr_float(n, "beta", 0.5f);
    *out = s;
    return SEMSEG_STATUS_OK;
}

typedef struct ew_job {
    const ew_state *s;
    const float *a, *b;
    float *y;
} ew_job;

static void ew_unary(const ew_state *s, const float *x, float *y, int64_t n)
{
    switch (s->kind) {
    case EW_HARDSIGMOID:
        for (int64_t i = 0; i < n; i++) {
            float v = s->alpha * x[i] + s->beta;
            y[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        }
        break;
    case EW_HARDSWISH:
        for (int64_t i = 0; i < n; i++) {
            float v = x[i] * (1.0f / 6.0f) + 0.5f;
            y[i] = x[i] * (v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v);
        }
        break;
    case EW_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    default:
        for (int64_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    }
}

/* y[0..n) = a[0..n) op bv, or bv op a when swapped (a runs, b is constant). */
static void ew_run_scalar(int kind, const float *a, float bv, float *y, int64_t n, int swapped)
{
    switch (kind) {
    case EW_ADD: for (int64_t i = 0; i < n; i++) y[i] = a[i] + bv; break;
    case EW_MUL: for (int64_t i = 0; i < n; i++) y[i] = a[i] * bv; break;
    case EW_SUB:
        if (swapped) for (int64_t i = 0; i < n; i++) y[i] = bv - a[i];
        else for (int64_t i = 0; i < n; i++) y[i] = a[i] - bv;
        break;
    default:
        if (swapped) for (int64_t i = 0; i < n; i++) y[i] = bv / a[i];
        else for (int64_t i = 0; i < n; i++) y[i] = a[i] / bv;
        break;
    }
}

static void ew_run_full(int kind, const float *a, const float *b, float *y, int64_t n)
{
    switch (kind) {
    case EW_ADD: for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i]; break;
    case EW_SUB: for (int64_t i = 0; i < n; i++) y[i] = a[i] - b[i]; break;
    case EW_MUL: for (int64_t i = 0; i < n; i++) y[i] = a[i] * b[i]; break;
    default: for (int64_t i = 0; i < n; i++) y[i] = a[i] / b[i]; break;
    }
}

static float ew_at(const ew_bcast *b, const float *x, int64_t i)
{
    return x[(i / b->inner) % b->span];
}

static void ew_task(void *arg, int64_t begin, int64_t end, int worker)
{
    (void)worker;
    const ew_job *j = arg;
    const ew_state *s = j->s;
    if (!s->binary) {
        ew_unary(s, j->a + begin, j->y + begin, end - begin);
        return;
    }
    const ew_bcast *ba = &s->b[0], *bb = &s->b[1];
    int afull = ba->span == s->numel, bfull = bb->span == s->numel;
    if (afull && bfull) {
        ew_run_full(s->kind, j->a + begin, j->b + begin, j->y + begin, end - begin);
        return;
    }
    /* one side runs, the other is constant over stretches of `inner` elements */
    if (afull || bfull) {
        const float *run = afull ? j->a : j->b, *other = afull ? j->b : j->a;
        const ew_bcast *bo = afull ? bb : ba;
        for (int64_t i = begin; i < end;) {
            int64_t stop = (i / bo->inner + 1) * bo->inner;
            if (stop > end) stop = end;
            ew_run_scalar(s->kind, run + i, ew_at(bo, other, i), j->y + i, stop - i, !afull);
            i = stop;
        }
        return;
    }
    for (int64_t i = begin; i < end; i++) {   /* both broadcast: rare, plain */
        float av = ew_at(ba, j->a, i), bv = ew_at(bb, j->b, i);
        ew_run_scalar(s->kind, &av, bv, j->y + i, 1, 0);
    }
}

static semseg_status ew_run(void *state, const semseg_tensor *in, int32_t n_in,
                            const semseg_tensor *out, int32_t n_out, void *scratch, char *err)
{
    (void)n_out; (void)scratch; (void)err;
    const ew_state *s = state;
    ew_job j = { s, semseg_tensor_data(&in[0]), n_in > 1 ? semseg_tensor_data(&in[1]) : NULL,
                 semseg_tensor_data(&out[0]) };
    /* below ~1 ms of work a second thread costs more than it brings, and on
     * a busy machine it may be descheduled holding a chunk */
    int threads = s->numel < (1 << 20) ? 1 : s->threads;
    blas_parallel_for(threads, s->numel, 0, ew_task, &j);
    return SEMSEG_STATUS_OK;
}

#define EW_OP(sym, name) \
    const blas_op sym = { name, ew_supports, ew_create, ew_run, NULL }
EW_OP(blas_op_add, "Add");
EW_OP(blas_op_sub, "Sub");
EW_OP(blas_op_mul, "Mul");
EW_OP(blas_op_div, "Div");
EW_OP(blas_op_hardsigmoid, "HardSigmoid");
EW_OP(blas_op_hardswish, "HardSwish");
EW_OP(blas_op_relu, "Relu");
EW_OP(blas_op_sigmoid, "Sigmoid");
