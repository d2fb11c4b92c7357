/*
 * Gemm (ONNX opsets 1..13): Y = alpha * A' * B' + beta * C, where A' is A
 * (M x K) or its transpose with transA, B' is B (K x N) or its transpose with
 * transB, and C (optional) broadcasts to M x N in one direction (scalar, N,
 * 1 x N, M x 1 or M x N). float; sums in double.
 */
#include "ref_nn_util.h"

typedef struct gemm_state {
    int64_t m, n, k;
    int trans_a, trans_b;
    float alpha, beta;
    int has_c;
    int64_t c_row_stride, c_col_stride; /* 0 along broadcast axes */
} gemm_state;

static semseg_status gemm_create(const semseg_node_info *n, void **state, char *err)
{
    semseg_status st;
    if ((st = nn_check_float_input(n, 0, 2, 2, err)) || (st = nn_check_float_input(n, 1, 2, 2, err)))
        return st;
    gemm_state s = { 0 };
    s.trans_a = semseg_attr_int(n, "transA", 0) != 0;
    s.trans_b = semseg_attr_int(n, "transB", 0) != 0;
    s.alpha = semseg_attr_float(n, "alpha", 1.0f);
    s.beta = semseg_attr_float(n, "beta", 1.0f);
    const int64_t *a = n->inputs[0].dims, *b = n->inputs[1].dims;
    s.m = s.trans_a ? a[1] : a[0];
    s.k = s.trans_a ? a[0] : a[1];
    s.n = s.trans_b ? b[0] : b[1];
    int64_t kb = s.trans_b ? b[1] : b[0];
    if (kb != s.k)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "Gemm %s: A' is %lldx%lld but B' is %lldx%lld",
                        n->name, (long long)s.m, (long long)s.k, (long long)kb, (long long)s.n);
    s.has_c = semseg_input_present(n, 2);
    if (s.has_c) {
        if ((st = nn_check_float_input(n, 2, 0, 2, err))) return st;
        const semseg_value_info *c = &n->inputs[2];
        int64_t cm = c->rank == 2 ? c->dims[0] : 1;
        int64_t cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
        if ((cm != 1 && cm != s.m) || (cn != 1 && cn != s.n))
            return ref_fail(err, SEMSEG_STATUS_MODEL, "Gemm %s: C (%lldx%lld) does not broadcast to %lldx%lld",
                            n->name, (long long)cm, (long long)cn, (long long)s.m, (long long)s.n);
        s.c_col_stride = cn == 1 ? 0 : 1;
        s.c_row_stride = cm == 1 ? 0 : cn;
    }
    int64_t dims[2] = { s.m, s.n };
    if ((st = nn_check_output(n, 0, 2, dims, err))) return st;
    gemm_state *p = malloc(sizeof *p);
    if (!p) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "Gemm %s: out of memory", n->name);
    *p = s;
    *state = p;
    return SEMSEG_STATUS_OK;
}

static semseg_status gemm_run(void *state, const semseg_tensor *in, int32_t n_in,
                              const semseg_tensor *out, int32_t n_out, char *err)
{
    (void)n_out, (void)err;
    const gemm_state *s = state;
    const float *a = semseg_tensor_data(&in[0]);
    const float *b = semseg_tensor_data(&in[1]);
    const float *c = s->has_c && n_in > 2 ? semseg_tensor_data(&in[2]) : NULL;
    float *y = semseg_tensor_data(&out[0]);
    /* element (i, p) of A' and (p, j) of B' */
    int64_t a_i = s->trans_a ? 1 : s->k, a_p = s->trans_a ? s->m : 1;
    int64_t b_p = s->trans_b ? 1 : s->n, b_j = s->trans_b ? s->k : 1;
    for (int64_t i = 0; i < s->m; i++)
        for (int64_t j = 0; j < s->n; j++) {
            double acc = 0.0;
            for (int64_t p = 0; p < s->k; p++) acc += (double)a[i * a_i + p * a_p] * b[p * b_p + j * b_j];
            acc *= s->alpha;
            if (c) acc += (double)s->beta * c[i * s->c_row_stride + j * s->c_col_stride];
            y[i * s->n + j] = (float)acc;
        }
    return SEMSEG_STATUS_OK;
}

const ref_op ref_op_gemm = {
    /* .domain  = */ "",
    /* .op      = */ "Gemm",
    /* .supports= */ NULL,
    /* .create  = */ gemm_create,
    /* .run     = */ gemm_run,
    /* .destroy = */ NULL,
};
