/*
 * MatMul (ONNX opsets 1, 9, 13): numpy.matmul. The last two axes are matrices
 * (M x K times K x N); the axes before them broadcast as numpy does. A 1-D A
 * is a row vector (1 x K) and a 1-D B a column vector (K x 1), the added axis
 * being dropped from the result. float; sums in double.
 */
#include "ref_nn_util.h"

typedef struct matmul_state {
    int64_t m, n, k;
    int batch_rank;
    int64_t batch[SEMSEG_MAX_RANK];     /* broadcast batch dims of Y */
    int64_t a_step[SEMSEG_MAX_RANK];    /* matrices to skip per batch index; 0 = broadcast */
    int64_t b_step[SEMSEG_MAX_RANK];
} matmul_state;

/* Per-axis strides, in whole matrices, of an operand's batch dims aligned to
 * the right of the output's; broadcast axes get 0. */
static void batch_steps(int out_rank, const int64_t *out, int rank, const int64_t *dims, int64_t *step)
{
    int64_t stride = 1;
    for (int i = out_rank - 1; i >= 0; i--) {
        int j = i - (out_rank - rank);
        int64_t d = j >= 0 ? dims[j] : 1;
        step[i] = d == 1 && out[i] != 1 ? 0 : stride;
        stride *= d;
    }
}

static semseg_status matmul_create(const semseg_node_info *n, void **state, char *err)
{
    semseg_status st;
    if ((st = nn_check_float_input(n, 0, 1, SEMSEG_MAX_RANK, err)) ||
        (st = nn_check_float_input(n, 1, 1, SEMSEG_MAX_RANK, err)))
        return st;
    const semseg_value_info *a = &n->inputs[0], *b = &n->inputs[1];
    matmul_state *s = calloc(1, sizeof *s);
    if (!s) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "MatMul %s: out of memory", n->name);
    s->m = a->rank >= 2 ? a->dims[a->rank - 2] : 1;
    s->k = a->dims[a->rank - 1];
    s->n = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
    int64_t kb = b->rank >= 2 ? b->dims[b->rank - 2] : b->dims[0];
    int ra = a->rank >= 2 ? a->rank - 2 : 0, rb = b->rank >= 2 ? b->rank - 2 : 0;
    s->batch_rank = ra > rb ? ra : rb;
    int ok = kb == s->k;
    for (int i = 0; ok && i < s->batch_rank; i++) {
        int ia = i - (s->batch_rank - ra), ib = i - (s->batch_rank - rb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        ok = da == db || da == 1 || db == 1;
        s->batch[i] = da == 1 ? db : da;
    }
    if (!ok) {
        free(s);
        return ref_fail(err, SEMSEG_STATUS_MODEL, "MatMul %s: shapes of rank %d and %d do not multiply",
                        n->name, (int)a->rank, (int)b->rank);
    }
    batch_steps(s->batch_rank, s->batch, ra, a->dims, s->a_step);
    batch_steps(s->batch_rank, s->batch, rb, b->dims, s->b_step);

    int64_t dims[SEMSEG_MAX_RANK];
    int rank = 0;
    for (int i = 0; i < s->batch_rank; i++) dims[rank++] = s->batch[i];
    if (a->rank >= 2) dims[rank++] = s->m;
    if (b->rank >= 2) dims[rank++] = s->n;
    if ((st = nn_check_output(n, 0, rank, dims, err))) {
        free(s);
        return st;
    }
    *state = s;
    return SEMSEG_STATUS_OK;
}

static semseg_status matmul_run(void *state, const semseg_tensor *in, int32_t n_in,
                                const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)n_in, (void)n_out, (void)err;
    const matmul_state *s = state;
    const float *a = semseg_tensor_data(&in[0]);
    const float *b = semseg_tensor_data(&in[1]);
    float *y = semseg_tensor_data(&out[0]);
    int64_t count = semseg_numel(s->batch_rank, s->batch);
    int64_t idx[SEMSEG_MAX_RANK] = { 0 };
    for (int64_t t = 0; t < count; t++) {
        int64_t ao = 0, bo = 0;
        for (int i = 0; i < s->batch_rank; i++) {
            ao += idx[i] * s->a_step[i];
            bo += idx[i] * s->b_step[i];
        }
        const float *am = a + ao * s->m * s->k, *bm = b + bo * s->k * s->n;
        float *ym = y + t * s->m * s->n;
        for (int64_t i = 0; i < s->m; i++)
            for (int64_t j = 0; j < s->n; j++) {
                double acc = 0.0;
                for (int64_t p = 0; p < s->k; p++) acc += (double)am[i * s->k + p] * bm[p * s->n + j];
                ym[i * s->n + j] = (float)acc;
            }
        for (int i = s->batch_rank - 1; i >= 0; i--) {   /* odometer over batch dims */
            if (++idx[i] < s->batch[i]) break;
            idx[i] = 0;
        }
    }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_matmul = {
    /* .domain  = */ "",
    /* .op      = */ "MatMul",
    /* .supports= */ NULL,
    /* .create  = */ matmul_create,
    /* .run     = */ matmul_run,
    /* .destroy = */ NULL,
};
