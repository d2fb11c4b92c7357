/*
 * Differential test of the blas plugin: every op it claims (Conv on each of
 * its paths: 1x1 GEMM, im2col with row tiles and channel chunks, dead taps,
 * banded, Winograd, depthwise, the small-K GEMM; ConvTranspose, Gemm, MatMul, Resize, Concat,
 * pooling, element-wise), over shapes that cover groups, dilations, strides,
 * asymmetric pads, auto_pad, odd sizes, fused epilogues (bias, Relu/Clip,
 * residual, residual sharing the output's memory) and 1 or 2 threads, against
 * naive loops written here from the ONNX definitions (double accumulation).
 * When the ref plugin's .so exports its entry point it is run on the same
 * nodes too, so blas is checked against ref as well.
 *
 *     test_blas_ops BLAS.so [REF.so] [filter]
 *
 * filter: run only cases whose name contains it. Exit status 0 when all agree.
 */
#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "semseg/plugin.h"

#define T_MAX_IN 6
#define T_MAX_ATTR 12

typedef struct tnode {
    char name[96];
    const char *op;
    int opset;
    int n_in;
    semseg_value_info in[T_MAX_IN];
    int64_t in_dims[T_MAX_IN][SEMSEG_MAX_RANK];
    void *in_data[T_MAX_IN];         /* always filled; in[i].data set when constant */
    semseg_value_info out;
    int64_t out_dims[SEMSEG_MAX_RANK];
    int n_attr;
    semseg_attr attr[T_MAX_ATTR];
    int64_t attr_ints[T_MAX_ATTR][SEMSEG_MAX_RANK];
    semseg_epilogue epi;
    int has_epi;
    int alias;                       /* residual shares the output's memory */
} tnode;

static unsigned long long t_seed = 12345;
static float t_rand(void)
{
    t_seed = t_seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((t_seed >> 40) & 0xFFFFFF) / (float)0x800000 - 1.0f;  /* [-1, 1) */
}

static tnode *tn_new(const char *op, int opset, const char *fmt, ...)
{
    tnode *t = calloc(1, sizeof *t);
    if (!t) { fprintf(stderr, "out of memory\n"); exit(2); }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->op = op;
    t->opset = opset;
    t->epi.residual = -1;
    return t;
}

/* Adds an input; data random (float) unless given. Returns its index. */
static int tn_in(tnode *t, int dtype, int is_const, int rank, const int64_t *dims, const void *data)
{
    int i = t->n_in++;
    semseg_value_info *v = &t->in[i];
    memcpy(t->in_dims[i], dims, (size_t)rank * sizeof(int64_t));
    v->name = "in";
    v->dtype = dtype;
    v->rank = rank;
    v->dims = t->in_dims[i];
    if (dtype == SEMSEG_DTYPE_UNDEFINED) { v->name = ""; return i; }
    int64_t n = semseg_numel(rank, dims);
    size_t es = semseg_dtype_size(dtype);
    t->in_data[i] = malloc((size_t)(n > 0 ? n : 1) * es);
    if (!t->in_data[i]) { fprintf(stderr, "out of memory\n"); exit(2); }
    if (data) memcpy(t->in_data[i], data, (size_t)n * es);
    else for (int64_t k = 0; k < n; k++) ((float *)t->in_data[i])[k] = t_rand();
    if (is_const) v->data = t->in_data[i];
    return i;
}

static int tn_inf(tnode *t, int is_const, int rank, ...)
{
    int64_t d[SEMSEG_MAX_RANK];
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++) d[i] = va_arg(ap, int64_t);
    va_end(ap);
    return tn_in(t, SEMSEG_DTYPE_FLOAT, is_const, rank, d, NULL);
}

static void tn_out(tnode *t, int rank, const int64_t *dims)
{
    memcpy(t->out_dims, dims, (size_t)rank * sizeof(int64_t));
    t->out = (semseg_value_info){ "out", SEMSEG_DTYPE_FLOAT, rank, t->out_dims, NULL };
}

static void tn_ints(tnode *t, const char *name, int n, ...)
{
    int a = t->n_attr++;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) t->attr_ints[a][i] = va_arg(ap, int64_t);
    va_end(ap);
    t->attr[a] = (semseg_attr){ .name = name, .type = SEMSEG_ATTR_INTS, .n = n, .ints = t->attr_ints[a] };
}

static void tn_int(tnode *t, const char *name, int64_t v)
{
    t->attr[t->n_attr++] = (semseg_attr){ .name = name, .type = SEMSEG_ATTR_INT, .i = v };
}

static void tn_float(tnode *t, const char *name, float v)
{
    t->attr[t->n_attr++] = (semseg_attr){ .name = name, .type = SEMSEG_ATTR_FLOAT, .f = v };
}

static void tn_str(tnode *t, const char *name, const char *v)
{
    t->attr[t->n_attr++] = (semseg_attr){ .name = name, .type = SEMSEG_ATTR_STRING, .s = v };
}

static void tn_free(tnode *t)
{
    for (int i = 0; i < t->n_in; i++) free(t->in_data[i]);
    free(t);
}

static const float *tf(const tnode *t, int i) { return t->in_data[i]; }
/* ---- naive references, straight from the ONNX definitions ---- */

/* Conv window: explicit pads pt, pl already resolved by the case builder. */
typedef struct geo { int64_t kh, kw, sh, sw, dh, dw, pt, pl, group; } geo;

static void naive_conv(const tnode *t, const geo *g, float *y)
{
    const int64_t *x = t->in_dims[0], *o = t->out_dims;
    int64_t n = x[0], c = x[1], h = x[2], w = x[3], m = o[1], oh = o[2], ow = o[3];
    int64_t cg = c / g->group, mg = m / g->group;
    const float *X = tf(t, 0), *W = tf(t, 1);
    const float *B = t->n_in > 2 && t->in[2].dtype && t->epi.residual != 2 ? tf(t, 2) : NULL;
    for (int64_t b = 0; b < n; b++)
        for (int64_t mm = 0; mm < m; mm++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    double acc = B ? B[mm] : 0.0;
                    int64_t grp = mm / mg;
                    for (int64_t cc = 0; cc < cg; cc++)
                        for (int64_t ky = 0; ky < g->kh; ky++)
                            for (int64_t kx = 0; kx < g->kw; kx++) {
                                int64_t iy = oy * g->sh - g->pt + ky * g->dh;
                                int64_t ix = ox * g->sw - g->pl + kx * g->dw;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                acc += (double)X[((b * c + grp * cg + cc) * h + iy) * w + ix] *
                                       W[((mm * cg + cc) * g->kh + ky) * g->kw + kx];
                            }
                    y[((b * m + mm) * oh + oy) * ow + ox] = (float)acc;
                }
}

static void naive_conv_transpose(const tnode *t, const geo *g, float *y)
{
    const int64_t *x = t->in_dims[0], *o = t->out_dims;
    int64_t n = x[0], c = x[1], h = x[2], w = x[3], m = o[1], oh = o[2], ow = o[3];
    int64_t cg = c / g->group, mg = m / g->group;
    const float *X = tf(t, 0), *W = tf(t, 1);
    const float *B = t->n_in > 2 && t->in[2].dtype && t->epi.residual != 2 ? tf(t, 2) : NULL;
    double *acc = calloc((size_t)(n * m * oh * ow), sizeof(double));
    if (!acc) exit(2);
    for (int64_t b = 0; b < n; b++)
        for (int64_t ci = 0; ci < c; ci++)
            for (int64_t iy = 0; iy < h; iy++)
                for (int64_t ix = 0; ix < w; ix++) {
                    double xv = X[((b * c + ci) * h + iy) * w + ix];
                    int64_t grp = ci / cg;
                    for (int64_t co = 0; co < mg; co++)
                        for (int64_t ky = 0; ky < g->kh; ky++)
                            for (int64_t kx = 0; kx < g->kw; kx++) {
                                int64_t oy = iy * g->sh - g->pt + ky * g->dh;
                                int64_t ox = ix * g->sw - g->pl + kx * g->dw;
                                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                                acc[((b * m + grp * mg + co) * oh + oy) * ow + ox] +=
                                    xv * W[((ci * mg + co) * g->kh + ky) * g->kw + kx];
                            }
                }
    for (int64_t i = 0; i < n * m * oh * ow; i++)
        y[i] = (float)(acc[i] + (B ? B[(i / (oh * ow)) % m] : 0.0));
    free(acc);
}

/* y = act(y + residual) as the runtime's proposed epilogue means it. */
static void naive_epilogue(const tnode *t, float *y, int64_t n)
{
    const float *r = t->epi.residual >= 0 ? tf(t, t->epi.residual) : NULL;
    for (int64_t i = 0; i < n; i++) {
        float v = y[i] + (r ? r[i] : 0.0f);
        if (t->epi.act == SEMSEG_ACT_RELU) v = v < 0.0f ? 0.0f : v;
        if (t->epi.act == SEMSEG_ACT_CLIP) v = v < t->epi.act_min ? t->epi.act_min : v > t->epi.act_max ? t->epi.act_max : v;
        if (t->epi.act == SEMSEG_ACT_HARDSWISH) v = (float)(v * fmin(1.0, fmax(0.0, v / 6.0 + 0.5)));
        y[i] = v;
    }
}

/* ---- running a plugin on a node ---- */

typedef struct plug {
    const char *file;
    void *dl;
    const semseg_plugin_i *api;
} plug;

static int plug_open(plug *p, const char *file)
{
    p->file = file;
    p->dl = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!p->dl) return 0;
    semseg_plugin_entry_fn fn = (semseg_plugin_entry_fn)dlsym(p->dl, SEMSEG_PLUGIN_ENTRY);
    p->api = fn ? fn() : NULL;
    return p->api != NULL && p->api->abi_major == SEMSEG_PLUGIN_ABI_MAJOR;
}

static semseg_node_info tn_info(tnode *t, int with_epilogue)
{
    semseg_node_info n = {
        .name = t->name, .domain = "", .op = t->op, .opset = t->opset,
        .n_inputs = t->n_in, .inputs = t->in, .n_outputs = 1, .outputs = &t->out,
        .n_attrs = t->n_attr, .attrs = t->attr, .epilogue = NULL,
    };
    if (with_epilogue && t->has_epi) n.epilogue = &t->epi;
    else if (t->epi.residual >= 0) n.n_inputs = t->epi.residual;   /* drop the residual */
    return n;
}

/* Runs t on p with `threads`; returns 1 on success with y filled, and the
 * support answer in *sup. */
static int plug_run(const plug *p, tnode *t, int threads, int with_epilogue, float *y, int *sup)
{
    semseg_plugin_config cfg = { sizeof cfg, threads, p->file };
    char err[SEMSEG_ERRMSG_SIZE] = "";
    void *ctx = NULL;
    if (p->api->init(&cfg, &ctx, err) != SEMSEG_STATUS_OK) {
        fprintf(stderr, "  %s: init: %s\n", p->file, err);
        return 0;
    }
    semseg_node_info n = tn_info(t, with_epilogue);
    *sup = p->api->supports(ctx, &n);
    int ok = 0;
    semseg_kernel *k = NULL;
    size_t scratch_bytes = 0;
    void *scratch_buf = NULL;
    if (*sup == SEMSEG_SUPPORT_NO) goto done;
    if (p->api->kernel_create(ctx, &n, &k, &scratch_bytes, err) != SEMSEG_STATUS_OK) {
        fprintf(stderr, "  %s: create: %s\n", p->file, err);
        goto done;
    }
    semseg_tensor ins[T_MAX_IN], outs[1], scratch;
    for (int i = 0; i < n.n_inputs; i++)
        ins[i] = (semseg_tensor){ t->in_data[i], 0, t->in[i].dtype, t->in[i].rank, t->in_dims[i], 1 };
    outs[0] = (semseg_tensor){ y, 0, SEMSEG_DTYPE_FLOAT, t->out.rank, t->out_dims, 1 };
    int64_t ny = semseg_numel(t->out.rank, t->out_dims);
    if (n.epilogue && t->epi.residual >= 0 && t->alias) {
        /* the host may hand the residual's own buffer as the output */
        memcpy(y, t->in_data[t->epi.residual], (size_t)ny * sizeof(float));
        ins[t->epi.residual].buffer = y;
    } else {
        for (int64_t i = 0; i < ny; i++) y[i] = NAN;   /* catch unwritten outputs */
    }
    scratch_buf = scratch_bytes ? malloc(scratch_bytes) : NULL;
    scratch = (semseg_tensor){ scratch_buf, 0, SEMSEG_DTYPE_UINT8, 1, NULL, 1 };
    int64_t sdims[1] = { (int64_t)scratch_bytes };
    scratch.dims = sdims;
    if (scratch_bytes && !scratch_buf) { fprintf(stderr, "out of memory\n"); exit(2); }
    if (p->api->kernel_run(k, ins, n.n_inputs, outs, 1, scratch_bytes ? &scratch : NULL, err) != SEMSEG_STATUS_OK) {
        fprintf(stderr, "  %s: run: %s\n", p->file, err);
        goto done;
    }
    ok = 1;
done:
    free(scratch_buf);
    if (k) p->api->kernel_destroy(k);
    p->api->shutdown(ctx);
    return ok;
}

/* ---- comparing ---- */

typedef void (*naive_fn)(const tnode *t, const void *extra, float *y);

static plug g_blas, g_ref;
static int g_have_ref;
static const char *g_filter;
static int g_fail, g_run;

static int close_enough(const float *a, const float *b, int64_t n, double *worst)
{
    double scale = 1.0;
    for (int64_t i = 0; i < n; i++) scale = fabs(b[i]) > scale ? fabs(b[i]) : scale;
    *worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d == d) || isnan(a[i])) { *worst = INFINITY; return 0; }
        if (d > *worst) *worst = d;
    }
    *worst /= scale;
    return *worst <= 2e-5;
}

/* expect_support: what blas should answer (FUSED when an epilogue is proposed
 * and it can apply it). */
static void check(tnode *t, naive_fn naive, const void *extra, int expect_support)
{
    if (g_filter && !strstr(t->name, g_filter)) { tn_free(t); return; }
    g_run++;
    if (expect_support == SEMSEG_SUPPORT_NO) {   /* only the answer matters */
        semseg_plugin_config cfg = { sizeof cfg, 1, g_blas.file };
        char err[SEMSEG_ERRMSG_SIZE];
        void *ctx = NULL;
        int sup = -1;
        if (g_blas.api->init(&cfg, &ctx, err) == SEMSEG_STATUS_OK) {
            semseg_node_info n = tn_info(t, 1);
            sup = g_blas.api->supports(ctx, &n);
            g_blas.api->shutdown(ctx);
        }
        if (sup != SEMSEG_SUPPORT_NO) { printf("FAIL %s: blas claims it (%d)\n", t->name, sup); g_fail++; }
        else printf("ok   %s\n", t->name);
        tn_free(t);
        return;
    }
    int64_t ny = semseg_numel(t->out.rank, t->out_dims);
    float *want = malloc((size_t)ny * sizeof(float)), *got = malloc((size_t)ny * sizeof(float));
    if (!want || !got) exit(2);
    naive(t, extra, want);
    naive_epilogue(t, want, ny);
    int bad = 0;
    for (int threads = 1; threads <= 2; threads++) {
        int sup = 0;
        int ok = plug_run(&g_blas, t, threads, 1, got, &sup);
        double worst = 0.0;
        if (sup != expect_support) {
            printf("FAIL %s: blas supports() = %d, expected %d\n", t->name, sup, expect_support);
            bad = 1;
            break;
        }
        if (sup == SEMSEG_SUPPORT_NO) break;
        if (!ok || !close_enough(got, want, ny, &worst)) {
            printf("FAIL %s (threads %d): %s, worst relative error %.3g\n", t->name, threads,
                   ok ? "differs from the naive loop" : "run failed", worst);
            bad = 1;
        }
    }
    if (g_have_ref && !bad) {
        int sup = 0;
        double worst = 0.0;
        float *r = malloc((size_t)ny * sizeof(float));
        if (!r) exit(2);
        if (plug_run(&g_ref, t, 1, 0, r, &sup) && sup != SEMSEG_SUPPORT_NO) {
            naive_epilogue(t, r, ny);
            if (!close_enough(r, want, ny, &worst)) {
                printf("FAIL %s: ref differs from the naive loop (%.3g) -- one of the two is wrong\n", t->name, worst);
                bad = 1;
            }
        }
        free(r);
    }
    if (bad) g_fail++;
    else printf("ok   %s\n", t->name);
    free(want);
    free(got);
    tn_free(t);
}

/* ---- Conv cases ---- */

static void conv_naive_cb(const tnode *t, const void *extra, float *y) { naive_conv(t, extra, y); }
static void ct_naive_cb(const tnode *t, const void *extra, float *y) { naive_conv_transpose(t, extra, y); }

typedef struct convspec {
    int64_t n, c, h, w, m, kh, kw, sh, sw, dh, dw, group;
    int64_t pads[4];
    const char *auto_pad;      /* NULL: explicit pads */
    int bias, nobias;
    int act;                   /* semseg_act */
    int residual;              /* 1: fused residual Add */
    int alias;
} convspec;

static void conv_case(const char *label, convspec s)
{
    geo g = { s.kh, s.kw, s.sh, s.sw, s.dh, s.dw, s.pads[0], s.pads[1], s.group };
    int64_t ekh = (s.kh - 1) * s.dh + 1, ekw = (s.kw - 1) * s.dw + 1, oh, ow;
    if (s.auto_pad && strncmp(s.auto_pad, "SAME", 4) == 0) {
        oh = (s.h + s.sh - 1) / s.sh;
        ow = (s.w + s.sw - 1) / s.sw;
        int64_t th = (oh - 1) * s.sh + ekh - s.h, tw = (ow - 1) * s.sw + ekw - s.w;
        th = th < 0 ? 0 : th;
        tw = tw < 0 ? 0 : tw;
        int lower = strcmp(s.auto_pad, "SAME_LOWER") == 0;
        g.pt = lower ? (th + 1) / 2 : th / 2;
        g.pl = lower ? (tw + 1) / 2 : tw / 2;
    } else if (s.auto_pad) {   /* VALID */
        g.pt = g.pl = 0;
        oh = (s.h - ekh) / s.sh + 1;
        ow = (s.w - ekw) / s.sw + 1;
    } else {
        oh = (s.h + s.pads[0] + s.pads[2] - ekh) / s.sh + 1;
        ow = (s.w + s.pads[1] + s.pads[3] - ekw) / s.sw + 1;
    }
    tnode *t = tn_new("Conv", 13, "conv %s n%lld c%lld %lldx%lld m%lld k%lldx%lld s%lld,%lld d%lld,%lld g%lld%s%s%s%s",
                      label, (long long)s.n, (long long)s.c, (long long)s.h, (long long)s.w, (long long)s.m,
                      (long long)s.kh, (long long)s.kw, (long long)s.sh, (long long)s.sw, (long long)s.dh,
                      (long long)s.dw, (long long)s.group, s.bias ? " bias" : "",
                      s.act == SEMSEG_ACT_RELU ? " relu" : s.act == SEMSEG_ACT_CLIP ? " clip" :
                      s.act == SEMSEG_ACT_HARDSWISH ? " hardswish" : s.act ? " unknown act" : "",
                      s.residual ? " +res" : "", s.alias ? "(aliased)" : "");
    tn_inf(t, 0, 4, s.n, s.c, s.h, s.w);
    tn_inf(t, 1, 4, s.m, s.c / s.group, s.kh, s.kw);
    if (s.bias) tn_inf(t, 1, 1, s.m);
    int64_t od[4] = { s.n, s.m, oh, ow };
    tn_out(t, 4, od);
    tn_ints(t, "kernel_shape", 2, s.kh, s.kw);
    if (s.sh != 1 || s.sw != 1) tn_ints(t, "strides", 2, s.sh, s.sw);
    if (s.dh != 1 || s.dw != 1) tn_ints(t, "dilations", 2, s.dh, s.dw);
    if (s.group != 1) tn_int(t, "group", s.group);
    if (s.auto_pad) tn_str(t, "auto_pad", s.auto_pad);
    else if (s.pads[0] || s.pads[1] || s.pads[2] || s.pads[3])
        tn_ints(t, "pads", 4, s.pads[0], s.pads[1], s.pads[2], s.pads[3]);
    if (s.act || s.residual) {
        t->has_epi = 1;
        t->epi.act = s.act;
        t->epi.act_min = 0.0f;
        t->epi.act_max = 6.0f;
        if (s.residual) t->epi.residual = tn_in(t, SEMSEG_DTYPE_FLOAT, 0, 4, od, NULL);
        t->alias = s.alias;
    }
    /* an act this ABI does not define must be refused as a fusion, not guessed at */
    int known = s.act >= SEMSEG_ACT_NONE && s.act <= SEMSEG_ACT_HARDSWISH;
    check(t, conv_naive_cb, &g, t->has_epi && known ? SEMSEG_SUPPORT_FUSED : SEMSEG_SUPPORT_YES);
}

/* Zero fields take the defaults: one image, 3x3, stride/dilation/group 1, bias. */
static convspec cs_norm(convspec s)
{
    if (!s.n) s.n = 1;
    if (!s.kh) s.kh = 3;
    if (!s.kw) s.kw = s.kh;
    if (!s.sh) s.sh = 1;
    if (!s.sw) s.sw = s.sh;
    if (!s.dh) s.dh = 1;
    if (!s.dw) s.dw = s.dh;
    if (!s.group) s.group = 1;
    s.bias = !s.nobias;
    return s;
}
#define CS(...) cs_norm((convspec){ __VA_ARGS__ })

static void conv_cases(void)
{
    /* 1x1 stride 1: the plain-GEMM path */
    conv_case("1x1", CS(.n = 2, .c = 8, .h = 7, .w = 9, .m = 12, .kh = 1, .kw = 1));
    conv_case("1x1", CS(.c = 300, .h = 33, .w = 31, .m = 20, .kh = 1, .kw = 1, .nobias = 1));
    conv_case("1x1 grouped", CS(.c = 8, .h = 5, .w = 6, .m = 6, .kh = 1, .kw = 1, .group = 2));
    conv_case("1x1 stride 2", CS(.c = 16, .h = 9, .w = 11, .m = 8, .kh = 1, .kw = 1, .sh = 2, .sw = 2));
    conv_case("1x1 pad", CS(.c = 4, .h = 5, .w = 5, .m = 3, .kh = 1, .kw = 1, .pads = { 1, 0, 0, 2 }));
    /* im2col */
    conv_case("3x3", CS(.c = 5, .h = 11, .w = 13, .m = 7, .pads = { 1, 1, 1, 1 }));
    conv_case("3x3 no pad", CS(.n = 2, .c = 3, .h = 6, .w = 5, .m = 4));
    conv_case("3x3 stride 2", CS(.c = 6, .h = 9, .w = 10, .m = 5, .sh = 2, .sw = 2, .pads = { 1, 1, 1, 1 }));
    conv_case("3x3 dilation 2", CS(.c = 4, .h = 12, .w = 11, .m = 6, .dh = 2, .dw = 2, .pads = { 2, 2, 2, 2 }));
    conv_case("dilation/pads asym", CS(.c = 3, .h = 10, .w = 14, .m = 5, .dh = 2, .dw = 3, .pads = { 1, 2, 3, 0 }));
    conv_case("stride asym", CS(.c = 3, .h = 13, .w = 8, .m = 4, .kh = 2, .kw = 3, .sh = 3, .sw = 1, .pads = { 0, 1, 2, 1 }));
    conv_case("7x7 stem", CS(.c = 3, .h = 23, .w = 25, .m = 8, .kh = 7, .kw = 7, .sh = 2, .sw = 2, .pads = { 3, 3, 3, 3 }));
    conv_case("grouped", CS(.c = 6, .h = 7, .w = 8, .m = 4, .group = 2, .pads = { 1, 1, 1, 1 }));
    conv_case("grouped 3", CS(.n = 2, .c = 9, .h = 6, .w = 7, .m = 6, .group = 3, .sh = 2, .sw = 2, .dh = 2, .dw = 2, .pads = { 2, 2, 2, 2 }));
    conv_case("kernel > input", CS(.c = 2, .h = 3, .w = 2, .m = 3, .kh = 5, .kw = 5, .pads = { 2, 2, 2, 2 }));
    conv_case("tiled", CS(.c = 64, .h = 40, .w = 37, .m = 32, .pads = { 1, 1, 1, 1 }));
    conv_case("tiled deep", CS(.c = 300, .h = 29, .w = 23, .m = 16, .dh = 2, .dw = 2, .pads = { 2, 2, 2, 2 }));
    conv_case("channel chunks", CS(.c = 600, .h = 40, .w = 40, .m = 8, .dh = 2, .pads = { 2, 2, 2, 2 }, .residual = 1, .act = SEMSEG_ACT_RELU));
    conv_case("dead taps to 1x1", CS(.c = 16, .h = 9, .w = 9, .m = 8, .dh = 12, .pads = { 12, 12, 12, 12 }, .act = SEMSEG_ACT_RELU));
    conv_case("dead taps rows", CS(.c = 7, .h = 5, .w = 12, .m = 6, .dh = 6, .dw = 1, .pads = { 6, 1, 6, 1 }));
    conv_case("dead taps stride 2", CS(.c = 5, .h = 8, .w = 9, .m = 4, .sh = 2, .dh = 5, .pads = { 5, 5, 5, 5 }));
    conv_case("all padding", CS(.c = 3, .h = 2, .w = 2, .m = 4, .kh = 1, .pads = { 3, 3, 3, 3 }, .sh = 4));
    conv_case("banded", CS(.c = 64, .h = 20, .w = 21, .m = 16, .dh = 12, .pads = { 12, 12, 12, 12 }));
    conv_case("banded", CS(.c = 96, .h = 33, .w = 33, .m = 8, .dh = 24, .pads = { 24, 24, 24, 24 }, .residual = 1, .act = SEMSEG_ACT_RELU));
    conv_case("banded", CS(.c = 96, .h = 33, .w = 33, .m = 8, .dh = 24, .pads = { 24, 24, 24, 24 }, .residual = 1, .alias = 1));
    conv_case("banded dead cols", CS(.c = 64, .h = 20, .w = 5, .m = 8, .dh = 6, .pads = { 6, 6, 6, 6 }));
    conv_case("banded stride", CS(.n = 2, .c = 128, .h = 19, .w = 17, .m = 12, .sh = 2, .dh = 7, .dw = 3, .group = 2, .pads = { 7, 3, 5, 3 }));
    /* rectangles: taps dead in the side columns too (ASPP's rates 24/36 on 65x65) */
    conv_case("banded rect", CS(.c = 64, .h = 40, .w = 37, .m = 8, .dh = 16, .pads = { 16, 16, 16, 16 }, .residual = 1, .alias = 1, .act = SEMSEG_ACT_RELU));
    conv_case("banded rect asym", CS(.c = 64, .h = 30, .w = 45, .m = 9, .dh = 9, .dw = 20, .pads = { 9, 20, 9, 20 }, .residual = 1, .act = SEMSEG_ACT_HARDSWISH));
    conv_case("banded rect stride", CS(.n = 2, .c = 128, .h = 25, .w = 31, .m = 10, .group = 2, .sh = 2, .sw = 2, .dh = 8, .dw = 11, .pads = { 8, 11, 8, 11 }, .nobias = 1));
    conv_case("banded rect 5x5", CS(.c = 70, .h = 21, .w = 23, .m = 6, .kh = 5, .dh = 6, .pads = { 12, 6, 3, 14 }, .residual = 1));
    conv_case("banded empty rows", CS(.c = 64, .h = 4, .w = 6, .m = 5, .kh = 1, .kw = 3, .pads = { 4, 1, 4, 1 }, .residual = 1));
    /* Winograd F(2x2,3x3): stride 1, one group, >= 256 channels in, >= 128 out */
    conv_case("winograd", CS(.c = 256, .h = 13, .w = 11, .m = 128, .pads = { 1, 1, 1, 1 }));
    conv_case("winograd", CS(.n = 2, .c = 260, .h = 9, .w = 10, .m = 130, .nobias = 1));
    conv_case("winograd dilated", CS(.c = 256, .h = 17, .w = 15, .m = 128, .dh = 2, .pads = { 2, 2, 2, 2 }, .act = SEMSEG_ACT_RELU));
    conv_case("winograd dilated", CS(.c = 257, .h = 20, .w = 19, .m = 129, .dh = 4, .dw = 3, .pads = { 4, 3, 4, 3 }, .residual = 1, .act = SEMSEG_ACT_RELU));
    conv_case("winograd dilated", CS(.c = 256, .h = 33, .w = 33, .m = 128, .dh = 6, .pads = { 6, 6, 6, 6 }, .residual = 1, .alias = 1));
    conv_case("winograd asym pads", CS(.c = 256, .h = 8, .w = 7, .m = 133, .pads = { 0, 2, 1, 0 }, .act = SEMSEG_ACT_CLIP));
    conv_case("winograd deep", CS(.c = 600, .h = 30, .w = 29, .m = 128, .dh = 2, .pads = { 2, 2, 2, 2 }, .residual = 1));
    conv_case("winograd many tiles", CS(.c = 256, .h = 40, .w = 38, .m = 128, .pads = { 1, 1, 1, 1 }));
    /* stride-1 3x3s the cost model sends to F(4x4), F(2x2) or (banded)
     * im2col (blas.wino tests each Winograd variant forced) */
    conv_case("3x3 s1", CS(.c = 64, .h = 40, .w = 38, .m = 64, .pads = { 1, 1, 1, 1 }, .residual = 1, .act = SEMSEG_ACT_RELU));
    conv_case("3x3 s1", CS(.c = 130, .h = 33, .w = 35, .m = 98, .dh = 2, .pads = { 2, 2, 2, 2 }, .act = SEMSEG_ACT_RELU));
    conv_case("3x3 s1", CS(.c = 72, .h = 30, .w = 29, .m = 80, .dh = 4, .pads = { 4, 4, 4, 4 }, .residual = 1, .alias = 1));
    conv_case("3x3 s1", CS(.c = 100, .h = 26, .w = 27, .m = 68, .pads = { 0, 1, 2, 1 }, .act = SEMSEG_ACT_HARDSWISH));
    conv_case("3x3 s1 d12", CS(.c = 256, .h = 33, .w = 33, .m = 64, .dh = 12, .pads = { 12, 12, 12, 12 }, .residual = 1, .act = SEMSEG_ACT_RELU));
    conv_case("3x3 s1 d24", CS(.c = 256, .h = 33, .w = 33, .m = 64, .dh = 24, .pads = { 24, 24, 24, 24 }, .act = SEMSEG_ACT_RELU));
    conv_case("3x3 s1", CS(.c = 256, .h = 33, .w = 33, .m = 128, .pads = { 1, 1, 1, 1 }, .residual = 1, .alias = 1, .act = SEMSEG_ACT_RELU));
    conv_case("3x3 s1 d12", CS(.c = 256, .h = 37, .w = 37, .m = 128, .dh = 12, .pads = { 12, 12, 12, 12 }, .residual = 1, .act = SEMSEG_ACT_RELU));
    conv_case("dilation 12", CS(.c = 8, .h = 30, .w = 29, .m = 8, .dh = 12, .dw = 12, .pads = { 12, 12, 12, 12 }));
    conv_case("SAME_UPPER", CS(.c = 3, .h = 9, .w = 8, .m = 4, .sh = 2, .sw = 2, .kh = 4, .kw = 4, .auto_pad = "SAME_UPPER"));
    conv_case("SAME_LOWER", CS(.c = 3, .h = 9, .w = 8, .m = 4, .sh = 2, .sw = 2, .kh = 4, .kw = 4, .auto_pad = "SAME_LOWER"));
    conv_case("VALID", CS(.c = 3, .h = 9, .w = 8, .m = 4, .sh = 2, .sw = 1, .auto_pad = "VALID"));
    /* depthwise */
    conv_case("depthwise", CS(.c = 8, .h = 9, .w = 11, .m = 8, .group = 8, .pads = { 1, 1, 1, 1 }));
    conv_case("depthwise 5x5 s2", CS(.n = 2, .c = 6, .h = 13, .w = 12, .m = 6, .kh = 5, .kw = 5, .sh = 2, .sw = 2, .group = 6, .pads = { 2, 2, 2, 2 }));
    conv_case("depthwise dilated", CS(.c = 5, .h = 15, .w = 14, .m = 5, .dh = 2, .dw = 2, .group = 5, .pads = { 2, 2, 2, 2 }));
    conv_case("depthwise asym", CS(.c = 4, .h = 7, .w = 10, .m = 4, .kh = 3, .kw = 2, .sh = 1, .sw = 3, .dh = 3, .dw = 1, .group = 4, .pads = { 0, 2, 1, 1 }));
    conv_case("depthwise mult 2", CS(.c = 4, .h = 6, .w = 7, .m = 8, .group = 4, .pads = { 1, 1, 1, 1 }));
    conv_case("depthwise no bias", CS(.c = 3, .h = 5, .w = 5, .m = 3, .group = 3, .nobias = 1));
    /* rows wide enough for the 32- and 8-output blocks and a tail */
    conv_case("depthwise wide", CS(.c = 3, .h = 9, .w = 75, .m = 3, .group = 3, .pads = { 1, 1, 1, 1 }));
    conv_case("depthwise 5x5 d2", CS(.c = 16, .h = 33, .w = 33, .m = 16, .kh = 5, .dh = 2, .group = 16, .pads = { 4, 4, 4, 4 }));
    conv_case("depthwise s2 wide", CS(.c = 4, .h = 21, .w = 83, .m = 4, .sh = 2, .group = 4, .pads = { 1, 1, 1, 1 }));
    conv_case("depthwise s2 5x5", CS(.c = 4, .h = 20, .w = 66, .m = 4, .kh = 5, .sh = 2, .group = 4, .pads = { 1, 2, 2, 1 }));
    conv_case("depthwise s3 asym", CS(.c = 3, .h = 17, .w = 50, .m = 3, .kh = 3, .kw = 5, .sh = 3, .sw = 2, .dh = 2, .dw = 1, .group = 3, .pads = { 0, 3, 2, 1 }));
    conv_case("depthwise mult 3 wide", CS(.n = 2, .c = 2, .h = 5, .w = 41, .m = 6, .group = 2, .pads = { 1, 1, 1, 1 }));
    conv_case("depthwise pads > kernel", CS(.c = 2, .h = 4, .w = 5, .m = 2, .group = 2, .pads = { 3, 4, 3, 4 }));
    conv_case("depthwise VALID s2", CS(.c = 3, .h = 12, .w = 45, .m = 3, .group = 3, .sh = 2, .sw = 2, .auto_pad = "VALID"));
    /* fused epilogues on every path */
    conv_case("1x1", CS(.c = 8, .h = 7, .w = 9, .m = 12, .kh = 1, .kw = 1, .act = SEMSEG_ACT_RELU));
    conv_case("1x1", CS(.c = 8, .h = 7, .w = 9, .m = 8, .kh = 1, .kw = 1, .residual = 1));
    conv_case("1x1", CS(.c = 8, .h = 7, .w = 9, .m = 8, .kh = 1, .kw = 1, .residual = 1, .act = SEMSEG_ACT_RELU, .alias = 1));
    conv_case("3x3", CS(.c = 5, .h = 11, .w = 13, .m = 7, .pads = { 1, 1, 1, 1 }, .act = SEMSEG_ACT_CLIP));
    conv_case("3x3", CS(.c = 5, .h = 11, .w = 13, .m = 7, .pads = { 1, 1, 1, 1 }, .residual = 1, .act = SEMSEG_ACT_RELU));
    conv_case("3x3", CS(.c = 64, .h = 40, .w = 37, .m = 32, .pads = { 1, 1, 1, 1 }, .residual = 1, .act = SEMSEG_ACT_RELU, .alias = 1));
    conv_case("3x3", CS(.c = 5, .h = 11, .w = 13, .m = 7, .pads = { 1, 1, 1, 1 }, .residual = 1, .nobias = 1, .alias = 1));
    conv_case("depthwise", CS(.c = 8, .h = 9, .w = 11, .m = 8, .group = 8, .pads = { 1, 1, 1, 1 }, .act = SEMSEG_ACT_CLIP));
    conv_case("depthwise", CS(.c = 8, .h = 9, .w = 11, .m = 8, .group = 8, .pads = { 1, 1, 1, 1 }, .residual = 1, .act = SEMSEG_ACT_RELU));
    conv_case("depthwise", CS(.c = 8, .h = 9, .w = 11, .m = 8, .group = 8, .pads = { 1, 1, 1, 1 }, .residual = 1, .alias = 1));
    /* small K (<= 32): blas_small_gemm with the epilogue fused; row counts
     * off the 4-row tile, column counts off the 16-column tile, K = 1, the
     * boundary K = 32 / 33 (OpenBLAS again) */
    conv_case("small 1x1 tails", CS(.c = 16, .h = 7, .w = 9, .m = 7, .kh = 1, .residual = 1, .act = SEMSEG_ACT_CLIP));
    conv_case("small 1x1 K1", CS(.c = 1, .h = 5, .w = 19, .m = 5, .kh = 1, .act = SEMSEG_ACT_RELU));
    conv_case("small 1x1 K32", CS(.n = 2, .c = 32, .h = 33, .w = 33, .m = 24, .kh = 1, .residual = 1, .alias = 1));
    conv_case("small 1x1 K33", CS(.c = 33, .h = 33, .w = 33, .m = 24, .kh = 1, .residual = 1, .alias = 1));
    conv_case("small 1x1 wide", CS(.c = 16, .h = 61, .w = 67, .m = 64, .kh = 1, .act = SEMSEG_ACT_RELU));
    conv_case("small stem", CS(.c = 3, .h = 33, .w = 35, .m = 16, .sh = 2, .pads = { 1, 1, 1, 1 }, .act = SEMSEG_ACT_HARDSWISH));
    conv_case("small grouped", CS(.n = 2, .c = 6, .h = 9, .w = 10, .m = 6, .group = 2, .pads = { 1, 1, 1, 1 }, .residual = 1, .act = SEMSEG_ACT_RELU));
    conv_case("small dead taps", CS(.c = 7, .h = 6, .w = 21, .m = 9, .dh = 6, .pads = { 6, 6, 6, 6 }, .nobias = 1));
    /* HardSwish (ABI 1.1) on every path, with enough taps per output that
     * values fall on both sides of -3 and 3, where its pieces meet */
    const int hs = SEMSEG_ACT_HARDSWISH;
    conv_case("1x1", CS(.c = 40, .h = 7, .w = 9, .m = 12, .kh = 1, .kw = 1, .act = hs));
    conv_case("1x1", CS(.c = 40, .h = 7, .w = 9, .m = 40, .kh = 1, .kw = 1, .residual = 1, .act = hs, .alias = 1));
    conv_case("3x3", CS(.c = 30, .h = 11, .w = 13, .m = 7, .sh = 2, .pads = { 1, 1, 1, 1 }, .act = hs));
    conv_case("3x3", CS(.c = 64, .h = 40, .w = 37, .m = 32, .pads = { 1, 1, 1, 1 }, .residual = 1, .act = hs));
    conv_case("banded", CS(.c = 96, .h = 33, .w = 33, .m = 8, .dh = 24, .pads = { 24, 24, 24, 24 }, .act = hs));
    conv_case("winograd", CS(.c = 256, .h = 13, .w = 11, .m = 128, .dh = 2, .pads = { 2, 2, 2, 2 }, .act = hs));
    conv_case("depthwise", CS(.c = 8, .h = 9, .w = 11, .m = 8, .group = 8, .kh = 5, .pads = { 2, 2, 2, 2 }, .act = hs));
    conv_case("depthwise", CS(.c = 8, .h = 9, .w = 11, .m = 8, .group = 8, .sh = 2, .pads = { 1, 1, 1, 1 }, .residual = 1, .act = hs));
    conv_case("unknown act", CS(.c = 5, .h = 6, .w = 7, .m = 4, .pads = { 1, 1, 1, 1 }, .act = 99));
}

/* ---- ConvTranspose cases ---- */

static void ct_case(const char *label, convspec s, int64_t opad)
{
    geo g = { s.kh, s.kw, s.sh, s.sw, s.dh, s.dw, s.pads[0], s.pads[1], s.group };
    int64_t oh = s.sh * (s.h - 1) + opad + (s.kh - 1) * s.dh + 1 - s.pads[0] - s.pads[2];
    int64_t ow = s.sw * (s.w - 1) + opad + (s.kw - 1) * s.dw + 1 - s.pads[1] - s.pads[3];
    tnode *t = tn_new("ConvTranspose", 13, "convtranspose %s c%lld %lldx%lld m%lld k%lld s%lld d%lld g%lld op%lld%s%s",
                      label, (long long)s.c, (long long)s.h, (long long)s.w, (long long)s.m, (long long)s.kh,
                      (long long)s.sh, (long long)s.dh, (long long)s.group, (long long)opad,
                      s.act == SEMSEG_ACT_HARDSWISH ? " hardswish" : s.act ? " relu" : "", s.residual ? " +res" : "");
    tn_inf(t, 0, 4, s.n, s.c, s.h, s.w);
    tn_inf(t, 1, 4, s.c, s.m / s.group, s.kh, s.kw);
    if (s.bias) tn_inf(t, 1, 1, s.m);
    int64_t od[4] = { s.n, s.m, oh, ow };
    tn_out(t, 4, od);
    tn_ints(t, "kernel_shape", 2, s.kh, s.kw);
    tn_ints(t, "strides", 2, s.sh, s.sw);
    if (s.dh != 1 || s.dw != 1) tn_ints(t, "dilations", 2, s.dh, s.dw);
    if (s.group != 1) tn_int(t, "group", s.group);
    if (opad) tn_ints(t, "output_padding", 2, opad, opad);
    tn_ints(t, "pads", 4, s.pads[0], s.pads[1], s.pads[2], s.pads[3]);
    if (s.act || s.residual) {
        t->has_epi = 1;
        t->epi.act = s.act;
        if (s.residual) t->epi.residual = tn_in(t, SEMSEG_DTYPE_FLOAT, 0, 4, od, NULL);
        t->alias = s.alias;
    }
    check(t, ct_naive_cb, &g, t->has_epi ? SEMSEG_SUPPORT_FUSED : SEMSEG_SUPPORT_YES);
}

static void ct_cases(void)
{
    ct_case("fcn 2x", CS(.c = 6, .h = 5, .w = 7, .m = 5, .kh = 4, .kw = 4, .sh = 2, .sw = 2, .pads = { 1, 1, 1, 1 }), 0);
    ct_case("fcn 32x", CS(.c = 3, .h = 3, .w = 2, .m = 3, .kh = 64, .kw = 64, .sh = 32, .sw = 32, .pads = { 16, 16, 16, 16 }, .nobias = 1), 0);
    ct_case("fcn 8x", CS(.n = 2, .c = 21, .h = 4, .w = 5, .m = 21, .kh = 16, .kw = 16, .sh = 8, .sw = 8, .pads = { 4, 4, 4, 4 }), 0);
    ct_case("stride 1", CS(.c = 4, .h = 6, .w = 5, .m = 3, .pads = { 1, 1, 1, 1 }), 0);
    ct_case("no pad", CS(.c = 4, .h = 6, .w = 5, .m = 3, .sh = 2, .sw = 2), 0);
    ct_case("grouped", CS(.c = 6, .h = 4, .w = 5, .m = 4, .group = 2, .sh = 2, .sw = 2, .pads = { 1, 1, 1, 1 }), 1);
    ct_case("dilated asym pads", CS(.c = 3, .h = 5, .w = 4, .m = 2, .dh = 2, .dw = 2, .sh = 3, .sw = 3, .pads = { 0, 2, 1, 3 }), 0);
    ct_case("out pad", CS(.c = 3, .h = 5, .w = 4, .m = 2, .sh = 2, .sw = 2, .pads = { 1, 1, 1, 1 }), 1);
    ct_case("big", CS(.c = 64, .h = 33, .w = 31, .m = 40, .kh = 4, .kw = 4, .sh = 2, .sw = 2, .pads = { 1, 1, 1, 1 }), 0);
    ct_case("fused", CS(.c = 6, .h = 5, .w = 7, .m = 5, .kh = 4, .kw = 4, .sh = 2, .sw = 2, .pads = { 1, 1, 1, 1 }, .act = SEMSEG_ACT_RELU, .residual = 1), 0);
    ct_case("fused", CS(.c = 6, .h = 5, .w = 7, .m = 5, .kh = 4, .kw = 4, .sh = 2, .sw = 2, .pads = { 1, 1, 1, 1 }, .act = SEMSEG_ACT_RELU, .residual = 1, .alias = 1), 0);
    ct_case("fused", CS(.c = 40, .h = 5, .w = 7, .m = 5, .kh = 4, .kw = 4, .sh = 2, .sw = 2, .pads = { 1, 1, 1, 1 }, .act = SEMSEG_ACT_HARDSWISH, .residual = 1), 0);
}

/* ---- Gemm / MatMul ---- */

typedef struct gemmspec { int64_t m, n, k; int ta, tb; float alpha, beta; int crank; int64_t cr, cc; int bconst; int act; } gemmspec;

static void gemm_naive_cb(const tnode *t, const void *extra, float *y)
{
    const gemmspec *s = extra;
    const float *A = tf(t, 0), *B = tf(t, 1), *C = s->crank >= 0 ? tf(t, 2) : NULL;
    for (int64_t i = 0; i < s->m; i++)
        for (int64_t j = 0; j < s->n; j++) {
            double acc = 0.0;
            for (int64_t p = 0; p < s->k; p++)
                acc += (double)(s->ta ? A[p * s->m + i] : A[i * s->k + p]) * (s->tb ? B[j * s->k + p] : B[p * s->n + j]);
            double c = C ? C[(s->cr == 1 ? 0 : i * s->cc) + (s->cc == 1 ? 0 : j)] : 0.0;
            y[i * s->n + j] = (float)(s->alpha * acc + s->beta * c);
        }
}

static void gemm_case(gemmspec s)
{
    tnode *t = tn_new("Gemm", 13, "gemm m%lld n%lld k%lld tA%d tB%d a%.1f b%.1f C rank %d (%lldx%lld)%s%s",
                      (long long)s.m, (long long)s.n, (long long)s.k, s.ta, s.tb, s.alpha, s.beta, s.crank,
                      (long long)s.cr, (long long)s.cc, s.bconst ? " constB" : "",
                      s.act == SEMSEG_ACT_HARDSWISH ? " hardswish" : s.act ? " relu" : "");
    if (s.ta) tn_inf(t, 0, 2, s.k, s.m); else tn_inf(t, 0, 2, s.m, s.k);
    if (s.tb) tn_inf(t, s.bconst, 2, s.n, s.k); else tn_inf(t, s.bconst, 2, s.k, s.n);
    if (s.crank == 0) tn_inf(t, 1, 0);
    if (s.crank == 1) tn_inf(t, 1, 1, s.cc);
    if (s.crank == 2) tn_inf(t, 1, 2, s.cr, s.cc);
    int64_t od[2] = { s.m, s.n };
    tn_out(t, 2, od);
    if (s.ta) tn_int(t, "transA", 1);
    if (s.tb) tn_int(t, "transB", 1);
    tn_float(t, "alpha", s.alpha);
    tn_float(t, "beta", s.beta);
    if (s.act) { t->has_epi = 1; t->epi.act = s.act; }
    check(t, gemm_naive_cb, &s, s.act ? SEMSEG_SUPPORT_FUSED : SEMSEG_SUPPORT_YES);
}

static void gemm_cases(void)
{
    gemm_case((gemmspec){ 5, 7, 3, 0, 0, 1.0f, 1.0f, 1, 1, 7, 1, 0 });
    gemm_case((gemmspec){ 5, 7, 9, 1, 0, 0.5f, 2.0f, 2, 5, 7, 0, 0 });
    gemm_case((gemmspec){ 4, 6, 8, 0, 1, 1.0f, 1.0f, 2, 4, 1, 1, 0 });
    gemm_case((gemmspec){ 4, 6, 8, 1, 1, 1.0f, 0.5f, 0, 1, 1, 1, 0 });
    gemm_case((gemmspec){ 1, 1000, 2048, 0, 1, 1.0f, 1.0f, 1, 1, 1000, 1, SEMSEG_ACT_RELU });
    gemm_case((gemmspec){ 3, 50, 64, 0, 1, 1.0f, 1.0f, 1, 1, 50, 1, SEMSEG_ACT_HARDSWISH });
    gemm_case((gemmspec){ 3, 5, 4, 0, 0, 1.0f, 1.0f, -1, 1, 1, 0, 0 });
}

typedef struct mmspec { int ra, rb; int64_t a[4], b[4]; int64_t o[4]; int orank; } mmspec;

static void mm_naive_cb(const tnode *t, const void *extra, float *y)
{
    const mmspec *s = extra;
    /* promote to 4-D with broadcast batch dims */
    int64_t a[4] = { 1, 1, 1, 1 }, b[4] = { 1, 1, 1, 1 };
    if (s->ra == 1) { a[3] = s->a[0]; } else for (int i = 0; i < s->ra; i++) a[4 - s->ra + i] = s->a[i];
    if (s->rb == 1) { b[2] = s->b[0]; } else for (int i = 0; i < s->rb; i++) b[4 - s->rb + i] = s->b[i];
    int64_t M = a[2], K = a[3], N = b[3];
    int64_t B0 = a[0] > b[0] ? a[0] : b[0], B1 = a[1] > b[1] ? a[1] : b[1];
    const float *A = tf(t, 0), *Bm = tf(t, 1);
    for (int64_t i0 = 0; i0 < B0; i0++)
        for (int64_t i1 = 0; i1 < B1; i1++) {
            const float *pa = A + ((i0 % a[0]) * a[1] + (i1 % a[1])) * M * K;
            const float *pb = Bm + ((i0 % b[0]) * b[1] + (i1 % b[1])) * K * N;
            float *py = y + (i0 * B1 + i1) * M * N;
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    double acc = 0.0;
                    for (int64_t p = 0; p < K; p++) acc += (double)pa[i * K + p] * pb[p * N + j];
                    py[i * N + j] = (float)acc;
                }
        }
}

static void mm_case(mmspec s, int bconst)
{
    tnode *t = tn_new("MatMul", 13, "matmul rank %d x rank %d -> rank %d [%lld %lld %lld %lld]%s", s.ra, s.rb, s.orank,
                      (long long)s.o[0], (long long)s.o[1], (long long)s.o[2], (long long)s.o[3], bconst ? " constB" : "");
    tn_in(t, SEMSEG_DTYPE_FLOAT, 0, s.ra, s.a, NULL);
    tn_in(t, SEMSEG_DTYPE_FLOAT, bconst, s.rb, s.b, NULL);
    tn_out(t, s.orank, s.o);
    check(t, mm_naive_cb, &s, SEMSEG_SUPPORT_YES);
}

static void mm_cases(void)
{
    mm_case((mmspec){ 2, 2, { 5, 7 }, { 7, 3 }, { 5, 3 }, 2 }, 1);
    mm_case((mmspec){ 3, 2, { 4, 5, 7 }, { 7, 3 }, { 4, 5, 3 }, 3 }, 1);
    mm_case((mmspec){ 4, 3, { 2, 3, 5, 6 }, { 3, 6, 4 }, { 2, 3, 5, 4 }, 4 }, 0);
    mm_case((mmspec){ 4, 4, { 2, 1, 5, 6 }, { 1, 3, 6, 4 }, { 2, 3, 5, 4 }, 4 }, 0);
    mm_case((mmspec){ 1, 2, { 6 }, { 6, 4 }, { 4 }, 1 }, 1);
    mm_case((mmspec){ 3, 1, { 2, 5, 6 }, { 6 }, { 2, 5 }, 2 }, 0);
}

/* ---- Resize ---- */

typedef struct rzspec { const char *mode, *ctm, *nearest; int64_t n, c, h, w, oh, ow; int use_scales; float sh, sw; int opset; } rzspec;

static double rz_src(const rzspec *s, int64_t o, int64_t in, int64_t out, double scale)
{
    if (strcmp(s->ctm, "align_corners") == 0) return out == 1 ? 0.0 : (double)o * (in - 1) / (out - 1);
    if (strcmp(s->ctm, "asymmetric") == 0) return o / scale;
    if (strcmp(s->ctm, "pytorch_half_pixel") == 0 && out == 1) return 0.0;
    return (o + 0.5) / scale - 0.5;
}

static int64_t rz_clampi(double v, int64_t in)
{
    return v < 0 ? 0 : v > in - 1 ? in - 1 : (int64_t)v;
}

static void rz_naive_cb(const tnode *t, const void *extra, float *y)
{
    const rzspec *s = extra;
    const float *X = tf(t, 0);
    double scy = s->use_scales ? s->sh : (double)s->oh / s->h, scx = s->use_scales ? s->sw : (double)s->ow / s->w;
    int lin = strcmp(s->mode, "linear") == 0;
    for (int64_t p = 0; p < s->n * s->c; p++)
        for (int64_t oy = 0; oy < s->oh; oy++)
            for (int64_t ox = 0; ox < s->ow; ox++) {
                double fy = rz_src(s, oy, s->h, s->oh, scy), fx = rz_src(s, ox, s->w, s->ow, scx);
                const float *pl = X + p * s->h * s->w;
                float v;
                if (lin) {
                    fy = fy < 0 ? 0 : fy > s->h - 1 ? s->h - 1 : fy;
                    fx = fx < 0 ? 0 : fx > s->w - 1 ? s->w - 1 : fx;
                    int64_t y0 = (int64_t)floor(fy), x0 = (int64_t)floor(fx);
                    int64_t y1 = y0 + 1 < s->h ? y0 + 1 : y0, x1 = x0 + 1 < s->w ? x0 + 1 : x0;
                    double ly = fy - y0, lx = fx - x0;
                    v = (float)((1 - ly) * ((1 - lx) * pl[y0 * s->w + x0] + lx * pl[y0 * s->w + x1]) +
                                ly * ((1 - lx) * pl[y1 * s->w + x0] + lx * pl[y1 * s->w + x1]));
                } else {
                    double ry, rx;
                    if (strcmp(s->nearest, "floor") == 0) { ry = floor(fy); rx = floor(fx); }
                    else if (strcmp(s->nearest, "ceil") == 0) { ry = ceil(fy); rx = ceil(fx); }
                    else if (strcmp(s->nearest, "round_prefer_ceil") == 0) { ry = floor(fy + 0.5); rx = floor(fx + 0.5); }
                    else {  /* round_prefer_floor: halves go down */
                        ry = (fy - floor(fy) == 0.5) ? floor(fy) : floor(fy + 0.5);
                        rx = (fx - floor(fx) == 0.5) ? floor(fx) : floor(fx + 0.5);
                    }
                    v = pl[rz_clampi(ry, s->h) * s->w + rz_clampi(rx, s->w)];
                }
                y[(p * s->oh + oy) * s->ow + ox] = v;
            }
}

static void rz_case(rzspec s)
{
    tnode *t = tn_new("Resize", s.opset, "resize %s %s %s %lldx%lld -> %lldx%lld%s opset %d", s.mode, s.ctm,
                      s.nearest ? s.nearest : "", (long long)s.h, (long long)s.w, (long long)s.oh, (long long)s.ow,
                      s.use_scales ? " scales" : " sizes", s.opset);
    tn_inf(t, 0, 4, s.n, s.c, s.h, s.w);
    float sc[4] = { 1.0f, 1.0f, s.sh, s.sw };
    int64_t one[1] = { 4 }, zero[1] = { 0 };
    int64_t sizes[4] = { s.n, s.c, s.oh, s.ow };
    if (s.opset < 11) {
        tn_in(t, SEMSEG_DTYPE_FLOAT, 1, 1, one, sc);
    } else {
        tn_in(t, SEMSEG_DTYPE_FLOAT, 1, 1, zero, NULL);                  /* empty roi */
        if (s.use_scales) tn_in(t, SEMSEG_DTYPE_FLOAT, 1, 1, one, sc);
        else {
            tn_in(t, SEMSEG_DTYPE_FLOAT, 1, 1, zero, NULL);              /* empty scales */
            tn_in(t, SEMSEG_DTYPE_INT64, 1, 1, one, sizes);
        }
    }
    int64_t od[4] = { s.n, s.c, s.oh, s.ow };
    tn_out(t, 4, od);
    tn_str(t, "mode", s.mode);
    if (s.opset >= 11) tn_str(t, "coordinate_transformation_mode", s.ctm);
    if (s.nearest) tn_str(t, "nearest_mode", s.nearest);
    if (s.opset < 11) s.ctm = "asymmetric";
    check(t, rz_naive_cb, &s, SEMSEG_SUPPORT_YES);
}

static void rz_cases(void)
{
    rz_case((rzspec){ "linear", "half_pixel", NULL, 1, 3, 7, 9, 52, 61, 0, 0, 0, 13 });
    rz_case((rzspec){ "linear", "pytorch_half_pixel", NULL, 2, 3, 7, 9, 1, 20, 0, 0, 0, 13 });
    rz_case((rzspec){ "linear", "pytorch_half_pixel", NULL, 1, 21, 65, 65, 520, 520, 0, 0, 0, 13 });
    rz_case((rzspec){ "linear", "align_corners", NULL, 1, 2, 5, 6, 17, 11, 0, 0, 0, 11 });
    rz_case((rzspec){ "linear", "asymmetric", NULL, 1, 2, 5, 6, 10, 12, 1, 2.0f, 2.0f, 13 });
    rz_case((rzspec){ "linear", "half_pixel", NULL, 1, 2, 17, 13, 5, 6, 0, 0, 0, 18 });
    rz_case((rzspec){ "linear", "half_pixel", NULL, 1, 2, 1, 1, 65, 65, 0, 0, 0, 13 });
    rz_case((rzspec){ "linear", "half_pixel", NULL, 1, 2, 6, 5, 15, 12, 1, 2.5f, 2.5f, 13 });
    rz_case((rzspec){ "nearest", "asymmetric", "floor", 1, 3, 5, 7, 10, 14, 1, 2.0f, 2.0f, 13 });
    rz_case((rzspec){ "nearest", "asymmetric", "floor", 1, 3, 5, 7, 15, 21, 1, 3.0f, 3.0f, 10 });
    rz_case((rzspec){ "nearest", "half_pixel", "round_prefer_floor", 1, 2, 5, 7, 8, 3, 0, 0, 0, 13 });
    rz_case((rzspec){ "nearest", "align_corners", "round_prefer_ceil", 1, 2, 5, 7, 8, 9, 0, 0, 0, 13 });
    rz_case((rzspec){ "nearest", "pytorch_half_pixel", "ceil", 1, 2, 5, 7, 11, 4, 0, 0, 0, 13 });
}

/* ---- Concat ---- */

typedef struct catspec { int rank, axis, n; int64_t dims[3][4]; int64_t out[4]; } catspec;

static void cat_naive_cb(const tnode *t, const void *extra, float *y)
{
    const catspec *s = extra;
    int ax = s->axis < 0 ? s->axis + s->rank : s->axis;
    int64_t outer = 1, total = 0;
    for (int i = 0; i < ax; i++) outer *= s->out[i];
    for (int64_t r = 0; r < outer; r++)
        for (int k = 0; k < s->n; k++) {
            int64_t inner = 1;
            for (int i = ax; i < s->rank; i++) inner *= s->dims[k][i];
            for (int64_t e = 0; e < inner; e++) y[total++] = tf(t, k)[r * inner + e];
        }
}

static void cat_case(catspec s)
{
    tnode *t = tn_new("Concat", 13, "concat rank %d axis %d of %d", s.rank, s.axis, s.n);
    for (int k = 0; k < s.n; k++) tn_in(t, SEMSEG_DTYPE_FLOAT, 0, s.rank, s.dims[k], NULL);
    tn_out(t, s.rank, s.out);
    tn_int(t, "axis", s.axis);
    check(t, cat_naive_cb, &s, SEMSEG_SUPPORT_YES);
}

static void cat_cases(void)
{
    cat_case((catspec){ 4, 1, 3, { { 1, 2, 5, 5 }, { 1, 3, 5, 5 }, { 1, 1, 5, 5 } }, { 1, 6, 5, 5 } });
    cat_case((catspec){ 4, 1, 2, { { 2, 256, 33, 33 }, { 2, 256, 33, 33 } }, { 2, 512, 33, 33 } });
    cat_case((catspec){ 3, -1, 2, { { 2, 3, 4 }, { 2, 3, 1 } }, { 2, 3, 5 } });
    cat_case((catspec){ 2, 0, 2, { { 2, 3 }, { 4, 3 } }, { 6, 3 } });
}

/* ---- element-wise ---- */

typedef struct ewspec { const char *op; int rank; int64_t a[4], b[4], o[4]; int binary; float alpha, beta; } ewspec;

/* Index of output element i in an input of dims d (rank r), numpy style. */
static int64_t ew_index(const int64_t *o, int rank, const int64_t *d, int r, int64_t i)
{
    int64_t idx = 0, stride = 1;
    for (int k = rank - 1; k >= 0; k--) {
        int64_t ok = i % o[k];
        i /= o[k];
        int kd = k - (rank - r);
        if (kd < 0) continue;
        if (d[kd] != 1) idx += ok * stride;
        stride *= d[kd];
    }
    return idx;
}

static void ew_naive_cb(const tnode *t, const void *extra, float *y)
{
    const ewspec *s = extra;
    int64_t n = semseg_numel(s->rank, s->o);
    for (int64_t i = 0; i < n; i++) {
        float a = tf(t, 0)[ew_index(s->o, s->rank, t->in_dims[0], t->in[0].rank, i)];
        float b = s->binary ? tf(t, 1)[ew_index(s->o, s->rank, t->in_dims[1], t->in[1].rank, i)] : 0.0f;
        double v;
        if (!strcmp(s->op, "Add")) v = (double)a + b;
        else if (!strcmp(s->op, "Sub")) v = (double)a - b;
        else if (!strcmp(s->op, "Mul")) v = (double)a * b;
        else if (!strcmp(s->op, "Div")) v = (double)a / b;
        else if (!strcmp(s->op, "HardSigmoid")) v = fmax(0.0, fmin(1.0, (double)s->alpha * a + s->beta));
        else if (!strcmp(s->op, "HardSwish")) v = a * fmax(0.0, fmin(1.0, a / 6.0 + 0.5));
        else if (!strcmp(s->op, "Relu")) v = a > 0 ? a : 0;
        else v = 1.0 / (1.0 + exp(-(double)a));
        y[i] = (float)v;
    }
}

static int ew_rank_of(const int64_t *d)
{
    int r = 0;
    while (r < 4 && d[r]) r++;
    return r;
}

static void ew_case(ewspec s, int expect)
{
    int ra = ew_rank_of(s.a), rb = ew_rank_of(s.b);
    s.rank = ew_rank_of(s.o);
    tnode *t = tn_new(s.op, 13, "eltwise %s [%lld %lld %lld %lld] rank %d by rank %d", s.op, (long long)s.o[0],
                      (long long)s.o[1], (long long)s.o[2], (long long)s.o[3], ra, rb);
    tn_in(t, SEMSEG_DTYPE_FLOAT, 0, ra, s.a, NULL);
    if (s.binary) {
        int bi = tn_in(t, SEMSEG_DTYPE_FLOAT, 0, rb, s.b, NULL);
        if (!strcmp(s.op, "Div"))   /* keep divisors away from 0 */
            for (int64_t i = 0; i < semseg_numel(rb, s.b); i++) ((float *)t->in_data[bi])[i] += 3.0f;
    }
    tn_out(t, s.rank, s.o);
    if (!strcmp(s.op, "HardSigmoid")) { tn_float(t, "alpha", s.alpha); tn_float(t, "beta", s.beta); }
    check(t, ew_naive_cb, &s, expect);
}

static void ew_cases(void)
{
    ew_case((ewspec){ "Add", 0, { 1, 8, 33, 31 }, { 1, 8, 33, 31 }, { 1, 8, 33, 31 }, 1, 0, 0 }, SEMSEG_SUPPORT_YES);
    ew_case((ewspec){ "Mul", 0, { 1, 72, 65, 65 }, { 1, 72, 1, 1 }, { 1, 72, 65, 65 }, 1, 0, 0 }, SEMSEG_SUPPORT_YES);
    ew_case((ewspec){ "Mul", 0, { 2, 5, 1, 1 }, { 2, 5, 7, 9 }, { 2, 5, 7, 9 }, 1, 0, 0 }, SEMSEG_SUPPORT_YES);
    ew_case((ewspec){ "Sub", 0, { 1 }, { 3, 4, 5 }, { 3, 4, 5 }, 1, 0, 0 }, SEMSEG_SUPPORT_YES);
    ew_case((ewspec){ "Div", 0, { 3, 4, 5 }, { 5 }, { 3, 4, 5 }, 1, 0, 0 }, SEMSEG_SUPPORT_YES);
    ew_case((ewspec){ "Div", 0, { 4, 1 }, { 3, 4, 1 }, { 3, 4, 1 }, 1, 0, 0 }, SEMSEG_SUPPORT_YES);
    /* [3,1,5] has two broadcast ranges: ref */
    ew_case((ewspec){ "Add", 0, { 3, 1, 5 }, { 1, 4, 1 }, { 3, 4, 5 }, 1, 0, 0 }, SEMSEG_SUPPORT_NO);
    ew_case((ewspec){ "HardSigmoid", 0, { 1, 16, 260, 261 }, { 0 }, { 1, 16, 260, 261 }, 0, 0.16666667f, 0.5f }, SEMSEG_SUPPORT_YES);
    ew_case((ewspec){ "HardSigmoid", 0, { 2, 3, 4 }, { 0 }, { 2, 3, 4 }, 0, 0.3f, 0.1f }, SEMSEG_SUPPORT_YES);
    ew_case((ewspec){ "HardSwish", 0, { 1, 16, 130, 129 }, { 0 }, { 1, 16, 130, 129 }, 0, 0, 0 }, SEMSEG_SUPPORT_YES);
    ew_case((ewspec){ "Relu", 0, { 7, 9 }, { 0 }, { 7, 9 }, 0, 0, 0 }, SEMSEG_SUPPORT_YES);
    ew_case((ewspec){ "Sigmoid", 0, { 1, 3, 40, 40 }, { 0 }, { 1, 3, 40, 40 }, 0, 0, 0 }, SEMSEG_SUPPORT_YES);
    /* two separate broadcast ranges: left to ref */
    ew_case((ewspec){ "Mul", 0, { 1, 4, 5, 6 }, { 1, 4, 1, 6 }, { 1, 4, 5, 6 }, 1, 0, 0 }, SEMSEG_SUPPORT_NO);
}

/* ---- pooling ---- */

typedef struct poolspec { const char *op; int64_t n, c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr; int ceil; } poolspec;

static void pool_naive_cb(const tnode *t, const void *extra, float *y)
{
    const poolspec *s = extra;
    const float *X = tf(t, 0);
    int64_t oh = t->out_dims[2], ow = t->out_dims[3];
    for (int64_t p = 0; p < s->n * s->c; p++)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                double acc = !strcmp(s->op, "MaxPool") ? -INFINITY : 0.0;
                int64_t cnt = 0;
                int global = !strcmp(s->op, "GlobalAveragePool");
                int64_t kh = global ? s->h : s->kh, kw = global ? s->w : s->kw;
                for (int64_t ky = 0; ky < kh; ky++)
                    for (int64_t kx = 0; kx < kw; kx++) {
                        int64_t iy = global ? ky : oy * s->sh - s->pt + ky * s->dh;
                        int64_t ix = global ? kx : ox * s->sw - s->pl + kx * s->dw;
                        if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                        double v = X[(p * s->h + iy) * s->w + ix];
                        if (!strcmp(s->op, "MaxPool")) acc = v > acc ? v : acc;
                        else acc += v;
                        cnt++;
                    }
                if (strcmp(s->op, "MaxPool")) acc /= (double)cnt;
                y[(p * oh + oy) * ow + ox] = (float)acc;
            }
}

static void pool_case(poolspec s)
{
    int64_t ekh = (s.kh - 1) * s.dh + 1, ekw = (s.kw - 1) * s.dw + 1;
    int64_t nh = s.h + s.pt + s.pb - ekh, nw = s.w + s.pl + s.pr - ekw;
    int64_t oh = (s.ceil ? (nh + s.sh - 1) / s.sh : nh / s.sh) + 1, ow = (s.ceil ? (nw + s.sw - 1) / s.sw : nw / s.sw) + 1;
    /* ceil_mode: a window starting inside the bottom/right padding is dropped */
    if (s.ceil && (oh - 1) * s.sh >= s.h + s.pt) oh--;
    if (s.ceil && (ow - 1) * s.sw >= s.w + s.pl) ow--;
    if (!strcmp(s.op, "GlobalAveragePool")) oh = ow = 1;
    tnode *t = tn_new(s.op, 13, "pool %s %lldx%lld k%lldx%lld s%lld d%lld pads %lld,%lld,%lld,%lld%s", s.op,
                      (long long)s.h, (long long)s.w, (long long)s.kh, (long long)s.kw, (long long)s.sh, (long long)s.dh,
                      (long long)s.pt, (long long)s.pl, (long long)s.pb, (long long)s.pr, s.ceil ? " ceil" : "");
    tn_inf(t, 0, 4, s.n, s.c, s.h, s.w);
    int64_t od[4] = { s.n, s.c, oh, ow };
    tn_out(t, 4, od);
    if (strcmp(s.op, "GlobalAveragePool")) {
        tn_ints(t, "kernel_shape", 2, s.kh, s.kw);
        tn_ints(t, "strides", 2, s.sh, s.sw);
        if (s.dh != 1 || s.dw != 1) tn_ints(t, "dilations", 2, s.dh, s.dw);
        tn_ints(t, "pads", 4, s.pt, s.pl, s.pb, s.pr);
        if (s.ceil) tn_int(t, "ceil_mode", 1);
    }
    check(t, pool_naive_cb, &s, SEMSEG_SUPPORT_YES);
}

static void pool_cases(void)
{
    pool_case((poolspec){ "MaxPool", 1, 64, 260, 259, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0 });   /* ResNet stem */
    pool_case((poolspec){ "MaxPool", 2, 3, 9, 11, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1 });     /* ceil_mode, odd */
    pool_case((poolspec){ "MaxPool", 1, 2, 10, 9, 3, 2, 1, 3, 2, 2, 2, 1, 0, 2, 0 });
    pool_case((poolspec){ "AveragePool", 1, 3, 9, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0 });
    pool_case((poolspec){ "AveragePool", 1, 3, 7, 7, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1 });
    pool_case((poolspec){ "GlobalAveragePool", 2, 72, 65, 63, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0 });
}

/* ---- what blas must refuse ---- */

static void refuse_cases(void)
{
    /* 3-D conv (1-D spatial) goes to ref */
    tnode *t = tn_new("Conv", 13, "refuse conv 1-D");
    tn_inf(t, 0, 3, 1, 2, 9);
    tn_inf(t, 1, 3, 3, 2, 3);
    int64_t od[3] = { 1, 3, 7 };
    tn_out(t, 3, od);
    check(t, conv_naive_cb, NULL, SEMSEG_SUPPORT_NO);
    /* non-constant weights */
    t = tn_new("Conv", 13, "refuse conv runtime weights");
    tn_inf(t, 0, 4, 1, 2, 5, 5);
    tn_inf(t, 0, 4, 3, 2, 3, 3);
    int64_t od4[4] = { 1, 3, 3, 3 };
    tn_out(t, 4, od4);
    check(t, conv_naive_cb, NULL, SEMSEG_SUPPORT_NO);
    /* cubic resize */
    t = tn_new("Resize", 13, "refuse resize cubic");
    tn_inf(t, 0, 4, 1, 1, 4, 4);
    int64_t zero[1] = { 0 }, four[1] = { 4 }, sz[4] = { 1, 1, 8, 8 };
    tn_in(t, SEMSEG_DTYPE_FLOAT, 1, 1, zero, NULL);
    tn_in(t, SEMSEG_DTYPE_FLOAT, 1, 1, zero, NULL);
    tn_in(t, SEMSEG_DTYPE_INT64, 1, 1, four, sz);
    tn_out(t, 4, sz);
    tn_str(t, "mode", "cubic");
    check(t, rz_naive_cb, NULL, SEMSEG_SUPPORT_NO);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s BLAS.so [REF.so] [filter]\n", argv[0]);
        return 2;
    }
    if (!plug_open(&g_blas, argv[1])) {
        fprintf(stderr, "cannot load the blas plugin %s: %s\n", argv[1], dlerror() ? dlerror() : "no entry point");
        return 1;
    }
    if (argc > 2 && argv[2][0]) {
        g_have_ref = plug_open(&g_ref, argv[2]);
        if (!g_have_ref) printf("note: %s has no usable entry point yet; comparing with the naive loops only\n", argv[2]);
    }
    g_filter = argc > 3 ? argv[3] : NULL;
    conv_cases();
    ct_cases();
    gemm_cases();
    mm_cases();
    rz_cases();
    cat_cases();
    ew_cases();
    pool_cases();
    refuse_cases();
    printf("%d of %d cases failed\n", g_fail, g_run);
    return g_fail ? 1 : 0;
}
