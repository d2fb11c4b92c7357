/*
 * Runs one case written by make_cases.py through the ref plugin's op directly
 * (no runtime): shape inference from runtime/opdef_nn.c must give the expected
 * output dims, the ref_op's create() must accept the node, and run() must
 * reproduce the expected outputs within the case's tolerance.
 *
 *   nn_case_runner CASE.bin
 *
 * Exit 0 pass, 1 fail, 77 skip (the op refuses the node as unsupported, e.g.
 * BatchNormalization in training mode).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opdef.h"
#include "ref.h"

extern const ref_op ref_op_adaptive_avg_pool2d;

#define MAX_VALUES 8
#define MAX_ATTRS 32

typedef struct reader {
    const unsigned char *p, *end;
    int bad;
} reader;

typedef struct value {
    semseg_value_info info;
    int64_t dims[SEMSEG_MAX_RANK];
    int is_const;
    void *data;
    int64_t nbytes;
} value;

static void take(reader *r, void *dst, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p, n);
    r->p += n;
}

static int32_t rd_i32(reader *r) { int32_t v; take(r, &v, 4); return v; }
static int64_t rd_i64(reader *r) { int64_t v; take(r, &v, 8); return v; }
static float rd_f32(reader *r) { float v; take(r, &v, 4); return v; }

static char *rd_str(reader *r)
{
    int32_t n = rd_i32(r);
    if (n < 0 || r->bad || r->end - r->p < n) { r->bad = 1; n = 0; }
    char *s = calloc((size_t)n + 1, 1);
    if (!s) { r->bad = 1; return NULL; }
    take(r, s, (size_t)n);
    return s;
}

static void rd_value(reader *r, value *v, int with_const)
{
    v->info.name = rd_str(r);
    v->info.dtype = rd_i32(r);
    v->info.rank = rd_i32(r);
    if (v->info.rank < 0 || v->info.rank > SEMSEG_MAX_RANK) { r->bad = 1; return; }
    for (int i = 0; i < v->info.rank; i++) v->dims[i] = rd_i64(r);
    v->info.dims = v->dims;
    v->is_const = with_const ? rd_i32(r) : 0;
    v->nbytes = rd_i64(r);
    if (v->nbytes < 0 || r->end - r->p < v->nbytes) { r->bad = 1; return; }
    v->data = malloc((size_t)v->nbytes + 1);
    if (!v->data) { r->bad = 1; return; }
    take(r, v->data, (size_t)v->nbytes);
    v->info.data = v->is_const ? v->data : NULL;
}

static const ref_op *find_op(const char *domain, const char *op)
{
    if (strcmp(domain, "ai.semseg") == 0)
        return strcmp(op, ref_op_adaptive_avg_pool2d.op) == 0 ? &ref_op_adaptive_avg_pool2d : NULL;
    for (const ref_op *const *p = ref_ops_nn; *p; p++)
        if (strcmp((*p)->op, op) == 0) return *p;
    return NULL;
}

static const opdef *find_opdef(const char *domain, const char *op)
{
    if (domain[0] != '\0') return NULL;
    for (const opdef *d = opdef_nn_table; d->op; d++)
        if (strcmp(d->op, op) == 0) return d;
    return NULL;
}

static double elem(const value *v, int64_t i)
{
    switch (v->info.dtype) {
    case SEMSEG_DTYPE_FLOAT: return ((const float *)v->data)[i];
    case SEMSEG_DTYPE_UINT8: return ((const uint8_t *)v->data)[i];
    case SEMSEG_DTYPE_INT8: return ((const int8_t *)v->data)[i];
    case SEMSEG_DTYPE_INT64: return (double)((const int64_t *)v->data)[i];
    case SEMSEG_DTYPE_INT32: return ((const int32_t *)v->data)[i];
    case SEMSEG_DTYPE_DOUBLE: return ((const double *)v->data)[i];
    default: return NAN;
    }
}

static char *load_file(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (*size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)*size)) && fread(buf, 1, (size_t)*size, f) != (size_t)*size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASE.bin\n", argv[0]);
        return 2;
    }
    long size = 0;
    char *file = load_file(argv[1], &size);
    if (!file) {
        fprintf(stderr, "%s: cannot read\n", argv[1]);
        return 1;
    }
    reader r = { (const unsigned char *)file, (const unsigned char *)file + size, 0 };
    char magic[4];
    take(&r, magic, 4);
    semseg_node_info node = { 0 };
    static semseg_attr attrs[MAX_ATTRS];
    static value ins[MAX_VALUES], outs[MAX_VALUES];
    static semseg_value_info in_info[MAX_VALUES], out_info[MAX_VALUES];
    node.name = rd_str(&r);
    node.domain = rd_str(&r);
    node.op = rd_str(&r);
    node.opset = rd_i32(&r);
    node.n_attrs = rd_i32(&r);
    if (memcmp(magic, "SSNC", 4) != 0 || node.n_attrs < 0 || node.n_attrs > MAX_ATTRS) r.bad = 1;
    for (int i = 0; !r.bad && i < node.n_attrs; i++) {
        semseg_attr *a = &attrs[i];
        a->name = rd_str(&r);
        a->type = rd_i32(&r);
        switch (a->type) {
        case SEMSEG_ATTR_FLOAT: a->f = rd_f32(&r); break;
        case SEMSEG_ATTR_INT: a->i = rd_i64(&r); break;
        case SEMSEG_ATTR_STRING: a->s = rd_str(&r); break;
        case SEMSEG_ATTR_FLOATS: {
            a->n = rd_i64(&r);
            float *v = calloc((size_t)a->n + 1, sizeof *v);
            for (int64_t k = 0; v && k < a->n; k++) v[k] = rd_f32(&r);
            a->floats = v;
            break;
        }
        case SEMSEG_ATTR_INTS: {
            a->n = rd_i64(&r);
            int64_t *v = calloc((size_t)a->n + 1, sizeof *v);
            for (int64_t k = 0; v && k < a->n; k++) v[k] = rd_i64(&r);
            a->ints = v;
            break;
        }
        case SEMSEG_ATTR_STRINGS: {
            a->n = rd_i64(&r);
            char **v = calloc((size_t)a->n + 1, sizeof *v);
            for (int64_t k = 0; v && k < a->n; k++) v[k] = rd_str(&r);
            a->strings = (const char *const *)v;
            break;
        }
        default: r.bad = 1;
        }
    }
    node.attrs = attrs;
    node.n_inputs = rd_i32(&r);
    if (node.n_inputs < 0 || node.n_inputs > MAX_VALUES) r.bad = 1;
    for (int i = 0; !r.bad && i < node.n_inputs; i++) {
        rd_value(&r, &ins[i], 1);
        in_info[i] = ins[i].info;
    }
    node.inputs = in_info;
    node.n_outputs = rd_i32(&r);
    if (node.n_outputs < 0 || node.n_outputs > MAX_VALUES) r.bad = 1;
    for (int i = 0; !r.bad && i < node.n_outputs; i++) {
        rd_value(&r, &outs[i], 0);
        out_info[i] = outs[i].info;
    }
    node.outputs = out_info;
    float rtol = rd_f32(&r), atol = rd_f32(&r);
    if (r.bad) {
        fprintf(stderr, "%s: malformed case file\n", argv[1]);
        return 1;
    }

    char err[SEMSEG_ERRMSG_SIZE] = "";
    const ref_op *op = find_op(node.domain, node.op);
    if (!op) {
        fprintf(stderr, "no ref op for %s\n", node.op);
        return 1;
    }
    if (op->supports && !op->supports(&node)) {
        printf("SKIP %s: supports() says no\n", node.op);
        return 77;
    }

    /* Shape inference must agree with the expected outputs. */
    const opdef *def = find_opdef(node.domain, node.op);
    if (def) {
        opdef_out inferred[MAX_VALUES];
        memset(inferred, 0, sizeof inferred);
        if (node.n_inputs < def->min_inputs || node.n_inputs > def->max_inputs ||
            node.n_outputs < def->min_outputs || node.n_outputs > def->max_outputs) {
            fprintf(stderr, "FAIL arity: %d inputs, %d outputs\n", (int)node.n_inputs, (int)node.n_outputs);
            return 1;
        }
        semseg_status st = def->infer(&node, inferred, err);
        if (st) {
            fprintf(stderr, "FAIL infer: %s\n", err);
            return 1;
        }
        for (int i = 0; i < node.n_outputs; i++) {
            if (outs[i].info.dtype == SEMSEG_DTYPE_UNDEFINED) continue;
            int same = inferred[i].rank == outs[i].info.rank && inferred[i].dtype == outs[i].info.dtype;
            for (int k = 0; same && k < inferred[i].rank; k++) same = inferred[i].dims[k] == outs[i].dims[k];
            if (!same) {
                fprintf(stderr, "FAIL infer: output %d dtype %d rank %d [", i, (int)inferred[i].dtype,
                        (int)inferred[i].rank);
                for (int k = 0; k < inferred[i].rank; k++) fprintf(stderr, " %lld", (long long)inferred[i].dims[k]);
                fprintf(stderr, " ], expected dtype %d [", (int)outs[i].info.dtype);
                for (int k = 0; k < outs[i].info.rank; k++) fprintf(stderr, " %lld", (long long)outs[i].dims[k]);
                fprintf(stderr, " ]\n");
                return 1;
            }
        }
    }

    void *state = NULL;
    semseg_status st = op->create(&node, &state, err);
    if (st == SEMSEG_STATUS_UNSUPPORTED) {
        printf("SKIP %s\n", err);
        return 77;
    }
    if (st) {
        fprintf(stderr, "FAIL create: %s\n", err);
        return 1;
    }
    semseg_tensor tin[MAX_VALUES], tout[MAX_VALUES];
    value got[MAX_VALUES];
    for (int i = 0; i < node.n_inputs; i++)
        tin[i] = (semseg_tensor){ ins[i].data, 0, ins[i].info.dtype, ins[i].info.rank, ins[i].dims, 1 };
    for (int i = 0; i < node.n_outputs; i++) {
        got[i] = outs[i];
        got[i].data = outs[i].info.dtype ? calloc((size_t)outs[i].nbytes + 1, 1) : NULL;
        tout[i] = (semseg_tensor){ got[i].data, 0, outs[i].info.dtype, outs[i].info.rank, outs[i].dims, 1 };
    }
    st = op->run(state, tin, node.n_inputs, tout, node.n_outputs, err);
    if (op->destroy) op->destroy(state);
    else free(state);
    if (st) {
        fprintf(stderr, "FAIL run: %s\n", err);
        return 1;
    }
    int bad = 0;
    for (int i = 0; i < node.n_outputs; i++) {
        if (!outs[i].info.dtype) continue;
        int64_t n = semseg_numel(outs[i].info.rank, outs[i].dims);
        double worst = 0.0;
        int64_t worst_at = -1, mismatches = 0;
        for (int64_t k = 0; k < n; k++) {
            double want = elem(&outs[i], k), have = elem(&got[i], k);
            double diff = fabs(have - want);
            if (!(diff <= atol + rtol * fabs(want))) {
                mismatches++;
                if (!(diff <= worst)) { worst = diff; worst_at = k; }
            }
        }
        if (mismatches) {
            fprintf(stderr, "FAIL output %d: %lld of %lld elements differ; worst at %lld: got %.7g want %.7g\n",
                    i, (long long)mismatches, (long long)n, (long long)worst_at, elem(&got[i], worst_at),
                    elem(&outs[i], worst_at));
            bad = 1;
        }
    }
    if (!bad) printf("PASS %s\n", node.op);
    return bad;
}
