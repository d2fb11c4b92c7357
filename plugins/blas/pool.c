/*
 * 2-D pooling, threaded over the N*C planes: MaxPool, AveragePool and
 * GlobalAveragePool (ResNet's stem pool, PSPNet's backbone pools, the
 * squeeze-and-excitation and ASPP image pooling).
 *
 * ONNX: output pixel (oy, ox) covers input rows oy*sh - pt + ky*dh for
 * ky < kh (likewise columns); pads are [top, left, bottom, right], auto_pad
 * SAME_* as for Conv; ceil_mode only changes the output size, which shape
 * inference has settled. MaxPool takes the maximum over the window's inside
 * positions; AveragePool (count_include_pad = 0, the default) divides by the
 * number of inside positions. MaxPool's optional Indices output,
 * count_include_pad = 1 and non-2-D pools are left to `ref`.
 */
#include <float.h>
#include <string.h>

#include "blas.h"

enum { POOL_MAX, POOL_AVG, POOL_GLOBAL_AVG };

typedef struct pool_state {
    int kind, threads;
    int64_t planes, h, w, oh, ow;
    int64_t kh, kw, sh, sw, dh, dw, pt, pl;
    int32_t *kx0, *kx1;    /* per output column: window columns inside the input */
    int32_t *ky0, *ky1;    /* per output row */
} pool_state;

static void pool_destroy(void *state)
{
    pool_state *s = state;
    if (!s) return;
    free(s->kx0); free(s->kx1); free(s->ky0); free(s->ky1);
    free(s);
}

/* For o in [0, out): the k in [k0, k1) with 0 <= o*stride - pad + k*dil < in. */
static void pool_window(int64_t out, int64_t stride, int64_t pad, int64_t dil, int64_t k, int64_t in,
                        int32_t *k0, int32_t *k1)
{
    for (int64_t o = 0; o < out; o++) {
        int64_t i0 = o * stride - pad;
        int64_t a = i0 >= 0 ? 0 : (-i0 + dil - 1) / dil;
        int64_t b = in - i0 <= 0 ? 0 : (in - i0 + dil - 1) / dil;
        if (b > k) b = k;
        if (a > b) a = b;
        k0[o] = (int32_t)a;
        k1[o] = (int32_t)b;
    }
}

static int pool_kind(const char *op)
{
    if (strcmp(op, "MaxPool") == 0) return POOL_MAX;
    if (strcmp(op, "AveragePool") == 0) return POOL_AVG;
    return POOL_GLOBAL_AVG;
}

static int pool_pair(const semseg_node_info *n, const char *name, int64_t def, int64_t *a, int64_t *b)
{
    const int64_t *v;
    int64_t cnt = semseg_attr_ints(n, name, &v);
    if (cnt < 0) { *a = *b = def; return 1; }
    if (cnt != 2 || v[0] < 1 || v[1] < 1) return 0;
    *a = v[0];
    *b = v[1];
    return 1;
}

static semseg_support pool_supports(const blas_ctx *ctx, const semseg_node_info *n)
{
    (void)ctx;
    if (n->n_inputs != 1 || n->n_outputs < 1 || n->inputs[0].rank != 4) return SEMSEG_SUPPORT_NO;
    if (n->inputs[0].dtype != SEMSEG_DTYPE_FLOAT || n->outputs[0].dtype != SEMSEG_DTYPE_FLOAT ||
        n->outputs[0].rank != 4)
        return SEMSEG_SUPPORT_NO;
    for (int32_t i = 1; i < n->n_outputs; i++)   /* Indices */
        if (n->outputs[i].dtype != SEMSEG_DTYPE_UNDEFINED) return SEMSEG_SUPPORT_NO;
    int kind = pool_kind(n->op);
    if (kind == POOL_GLOBAL_AVG) return SEMSEG_SUPPORT_YES;
    int64_t a, b;
    if (!pool_pair(n, "kernel_shape", 0, &a, &b) || a < 1) return SEMSEG_SUPPORT_NO;
    if (!pool_pair(n, "strides", 1, &a, &b) || !pool_pair(n, "dilations", 1, &a, &b)) return SEMSEG_SUPPORT_NO;
    const int64_t *p;
    int64_t np = semseg_attr_ints(n, "pads", &p);
    if (np >= 0 && np != 4) return SEMSEG_SUPPORT_NO;
    if (kind == POOL_AVG && semseg_attr_int(n, "count_include_pad", 0) != 0) return SEMSEG_SUPPORT_NO;
    if (kind == POOL_MAX && semseg_attr_int(n, "storage_order", 0) != 0) return SEMSEG_SUPPORT_NO;
    return SEMSEG_SUPPORT_YES;
}

static semseg_status pool_create(const blas_ctx *ctx, const semseg_node_info *n, void **out,
                                 size_t *scratch_bytes, char *err)
{
    (void)scratch_bytes;
    if (pool_supports(ctx, n) == SEMSEG_SUPPORT_NO)
        return blas_fail(err, SEMSEG_STATUS_UNSUPPORTED, "%s '%s': unsupported form", n->op, n->name);
    pool_state *s = calloc(1, sizeof *s);
    if (!s) return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "%s '%s': out of memory", n->op, n->name);
    const int64_t *xd = n->inputs[0].dims, *yd = n->outputs[0].dims;
    s->kind = pool_kind(n->op);
    s->threads = ctx->threads;
    s->planes = xd[0] * xd[1];
    s->h = xd[2]; s->w = xd[3]; s->oh = yd[2]; s->ow = yd[3];
    if (s->kind != POOL_GLOBAL_AVG) {
        pool_pair(n, "kernel_shape", 0, &s->kh, &s->kw);
        pool_pair(n, "strides", 1, &s->sh, &s->sw);
        pool_pair(n, "dilations", 1, &s->dh, &s->dw);
        const char *ap = semseg_attr_string(n, "auto_pad", "NOTSET");
        if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
            int64_t th = (s->oh - 1) * s->sh + (s->kh - 1) * s->dh + 1 - s->h;
            int64_t tw = (s->ow - 1) * s->sw + (s->kw - 1) * s->dw + 1 - s->w;
            th = th < 0 ? 0 : th;
            tw = tw < 0 ? 0 : tw;
            int lower = ap[5] == 'L';
            s->pt = lower ? (th + 1) / 2 : th / 2;
            s->pl = lower ? (tw + 1) / 2 : tw / 2;
        } else if (strcmp(ap, "VALID") != 0) {
            const int64_t *p;
            if (semseg_attr_ints(n, "pads", &p) == 4) { s->pt = p[0]; s->pl = p[1]; }
        }
    }
    if (s->kind != POOL_GLOBAL_AVG) {
        s->kx0 = malloc((size_t)s->ow * sizeof(int32_t));
        s->kx1 = malloc((size_t)s->ow * sizeof(int32_t));
        s->ky0 = malloc((size_t)s->oh * sizeof(int32_t));
        s->ky1 = malloc((size_t)s->oh * sizeof(int32_t));
        if (!s->kx0 || !s->kx1 || !s->ky0 || !s->ky1) {
            pool_destroy(s);
            return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "%s '%s': out of memory", n->op, n->name);
        }
        pool_window(s->ow, s->sw, s->pl, s->dw, s->kw, s->w, s->kx0, s->kx1);
        pool_window(s->oh, s->sh, s->pt, s->dh, s->kh, s->h, s->ky0, s->ky1);
    }
    if (yd[0] * yd[1] != s->planes) {
        pool_destroy(s);
        return blas_fail(err, SEMSEG_STATUS_MODEL, "%s '%s': output planes differ from input planes", n->op, n->name);
    }
    *out = s;
    return SEMSEG_STATUS_OK;
}

typedef struct pool_job {
    const pool_state *s;
    const float *x;
    float *y;
} pool_job;

/* Row-wise, like the depthwise conv: for each window row and column offset,
 * one pass over the output row, so the inner loop has no bounds checks. */
static void pool_plane(const pool_state *s, const float *x, float *y)
{
    const int is_max = s->kind == POOL_MAX;
    for (int64_t oy = 0; oy < s->oh; oy++) {
        float *yr = y + oy * s->ow;
        const float init = is_max ? -FLT_MAX : 0.0f;
        for (int64_t ox = 0; ox < s->ow; ox++) yr[ox] = init;
        const int64_t iy0 = oy * s->sh - s->pt;
        for (int64_t ky = s->ky0[oy]; ky < s->ky1[oy]; ky++) {
            const float *xr = x + (iy0 + ky * s->dh) * s->w;
            for (int64_t kx = 0; kx < s->kw; kx++) {
                /* output columns whose window column kx is inside the input */
                const int64_t off = kx * s->dw - s->pl;
                int64_t lo = off >= 0 ? 0 : (-off + s->sw - 1) / s->sw;
                int64_t hi = s->w - off <= 0 ? 0 : (s->w - off + s->sw - 1) / s->sw;
                if (hi > s->ow) hi = s->ow;
                const float *src = xr + off;
                const int64_t sw = s->sw;
                if (is_max) {
                    for (int64_t ox = lo; ox < hi; ox++) {
                        float v = src[ox * sw];
                        yr[ox] = (v > yr[ox] || v != v) ? v : yr[ox];   /* NaN wins, as in numpy */
                    }
                } else {
                    for (int64_t ox = lo; ox < hi; ox++) yr[ox] += src[ox * sw];
                }
            }
        }
        if (!is_max) {
            const int64_t rows = s->ky1[oy] - s->ky0[oy];
            for (int64_t ox = 0; ox < s->ow; ox++) {
                int64_t cnt = rows * (s->kx1[ox] - s->kx0[ox]);
                yr[ox] = cnt ? yr[ox] / (float)cnt : 0.0f;
            }
        }
    }
}

static void pool_task(void *arg, int64_t begin, int64_t end, int worker)
{
    (void)worker;
    const pool_job *j = arg;
    const pool_state *s = j->s;
    for (int64_t p = begin; p < end; p++) {
        const float *x = j->x + p * s->h * s->w;
        if (s->kind == POOL_GLOBAL_AVG) {
            /* eight running sums break the add-latency chain and vectorize */
            const int64_t n = s->h * s->w;
            float part[8] = { 0 };
            int64_t i = 0;
            for (; i + 8 <= n; i += 8)
                for (int k = 0; k < 8; k++) part[k] += x[i + k];
            double acc = 0.0;
            for (int k = 0; k < 8; k++) acc += part[k];
            for (; i < n; i++) acc += x[i];
            j->y[p] = (float)(acc / (double)n);
        } else {
            pool_plane(s, x, j->y + p * s->oh * s->ow);
        }
    }
}

static semseg_status pool_run(void *state, const semseg_tensor *in, int32_t n_in,
                              const semseg_tensor *out, int32_t n_out, void *scratch, char *err)
{
    (void)n_in; (void)n_out; (void)scratch; (void)err;
    const pool_state *s = state;
    pool_job j = { s, semseg_tensor_data(&in[0]), semseg_tensor_data(&out[0]) };
    int threads = s->planes * s->h * s->w < (1 << 20) ? 1 : s->threads;   /* see eltwise.c */
    blas_parallel_for(threads, s->planes, 0, pool_task, &j);
    return SEMSEG_STATUS_OK;
}

const blas_op blas_op_pool_max = { "MaxPool", pool_supports, pool_create, pool_run, pool_destroy };
const blas_op blas_op_pool_avg = { "AveragePool", pool_supports, pool_create, pool_run, pool_destroy };
const blas_op blas_op_pool_global_avg = { "GlobalAveragePool", pool_supports, pool_create, pool_run, pool_destroy };
