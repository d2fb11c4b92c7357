/*
 * opencl vs ref, operator by operator: every op the opencl plugin claims is
 * run on shapes and attributes that cover its cases, on both plugins, and the
 * outputs must agree within 1e-4 of the output's scale (max |ref|, at least
 * 1); integer outputs (ArgMax) must match exactly. ref is the definition of
 * right; the epilogue ref never fuses is applied here by hand.
 *
 *     opencl_ops OPENCL.so REF.so [filter]
 *
 * Device tensors live at non-zero, 256-byte aligned offsets of one buffer,
 * as the runtime's arena hands them out. Exit 0 when every case passes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

typedef struct tctx {
    plug ocl, ref;
    const char *filter;
    int run, failed;
} tctx;

static void fail(tctx *t, const node_b *b, const char *what)
{
    printf("FAIL %-44s %s\n", b->name, what);
    t->failed++;
}

/* y = act(y + res) as the runtime's fused epilogue defines it. */
static void apply_epilogue(const node_b *b, float *y, int64_t n)
{
    const semseg_epilogue *e = b->n.epilogue;
    const float *r = e->residual >= 0 ? b->data[e->residual] : NULL;
    for (int64_t i = 0; i < n; i++) {
        float v = y[i] + (r ? r[i] : 0.0f);
        if (e->act == SEMSEG_ACT_RELU) v = v > 0 ? v : 0;
        if (e->act == SEMSEG_ACT_CLIP) v = v < e->act_min ? e->act_min : v > e->act_max ? e->act_max : v;
        if (e->act == SEMSEG_ACT_HARDSWISH) {
            double g = (double)v / 6.0 + 0.5; /* x * HardSigmoid(x; 1/6, 1/2) */
            v = (float)((double)v * (g < 0 ? 0 : g > 1 ? 1 : g));
        }
        y[i] = v;
    }
}

static size_t align256(size_t x)
{
    return (x + 255) / 256 * 256;
}

static size_t out_bytes(const node_b *b)
{
    const semseg_value_info *y = &b->out[0];
    return (size_t)semseg_numel(y->rank, y->dims) * semseg_dtype_size(y->dtype);
}

/* Runs the ref plugin; returns a malloc'd output 0 or NULL. */
static void *run_ref(tctx *t, node_b *b)
{
    char err[SEMSEG_ERRMSG_SIZE] = "";
    semseg_node_info n = b->n;
    n.epilogue = NULL;
    const semseg_plugin_i *p = t->ref.p;
    if (p->supports(t->ref.ctx, &n) == SEMSEG_SUPPORT_NO) {
        fail(t, b, "ref refuses the node (test bug?)");
        return NULL;
    }
    semseg_kernel *k;
    size_t scratch = 0;
    if (p->kernel_create(t->ref.ctx, &n, &k, &scratch, err)) {
        fail(t, b, err);
        return NULL;
    }
    semseg_tensor in[NB_MAX_IN], out;
    for (int i = 0; i < n.n_inputs; i++)
        in[i] = (semseg_tensor){b->data[i], 0, b->in[i].dtype, b->in[i].rank, b->in[i].dims, 1};
    void *y = calloc(1, out_bytes(b) + 8);
    void *sbuf = scratch ? calloc(1, scratch) : NULL;
    int64_t sdim = (int64_t)scratch;
    semseg_tensor st = {sbuf, 0, SEMSEG_DTYPE_UINT8, 1, &sdim, 1};
    out = (semseg_tensor){y, 0, b->out[0].dtype, b->out[0].rank, b->out[0].dims, 1};
    semseg_status s = p->kernel_run(k, in, n.n_inputs, &out, 1, scratch ? &st : NULL, err);
    p->kernel_destroy(k);
    free(sbuf);
    if (s) {
        fail(t, b, err);
        free(y);
        return NULL;
    }
    if (b->n.epilogue) apply_epilogue(b, y, semseg_numel(b->out[0].rank, b->out[0].dims));
    return y;
}

/* Runs opencl with tensors in one device buffer; inplace puts output 0 on
 * input 0. Returns a malloc'd output 0 or NULL. */
static void *run_ocl(tctx *t, node_b *b, int want_fused, int inplace)
{
    char err[SEMSEG_ERRMSG_SIZE] = "";
    const semseg_plugin_i *p = t->ocl.p;
    void *c = t->ocl.ctx;
    semseg_support sup = p->supports(c, &b->n);
    if (sup == SEMSEG_SUPPORT_NO) {
        fail(t, b, "opencl refuses the node");
        return NULL;
    }
    if (want_fused && sup != SEMSEG_SUPPORT_FUSED) {
        fail(t, b, "opencl does not fuse the proposed epilogue");
        return NULL;
    }
    semseg_kernel *k;
    size_t scratch = 0;
    if (p->kernel_create(c, &b->n, &k, &scratch, err)) {
        fail(t, b, err);
        return NULL;
    }
    size_t off[NB_MAX_IN + 2], pos = 256;
    for (int i = 0; i < b->n.n_inputs; i++) {
        off[i] = pos;
        pos += align256((size_t)semseg_numel(b->in[i].rank, b->in[i].dims) *
                        semseg_dtype_size(b->in[i].dtype) + 1);
    }
    off[NB_MAX_IN] = inplace ? off[0] : pos;
    pos += align256(out_bytes(b) + 1);
    /* A guard after the output (not in place): a kernel that stores past
     * its output's end changes it. */
    size_t guard_at = off[NB_MAX_IN] + out_bytes(b), guard_len = inplace ? 0 : pos + 256 - guard_at;
    pos += 256;
    off[NB_MAX_IN + 1] = pos;
    pos += align256(scratch + 1);
    void *buf = p->mem_alloc(c, pos);
    void *y = calloc(1, out_bytes(b) + 8);
    semseg_status s = buf && y ? SEMSEG_STATUS_OK : SEMSEG_STATUS_NO_MEMORY;
    semseg_tensor in[NB_MAX_IN];
    for (int i = 0; i < b->n.n_inputs && !s; i++) {
        const semseg_value_info *v = &b->in[i];
        if (v->data || v->dtype == SEMSEG_DTYPE_UNDEFINED) {
            in[i] = (semseg_tensor){b->data[i], 0, v->dtype, v->rank, v->dims, 1};
        } else {
            in[i] = (semseg_tensor){buf, off[i], v->dtype, v->rank, v->dims, 0};
            s = p->mem_write(c, buf, off[i], b->data[i],
                             (size_t)semseg_numel(v->rank, v->dims) * semseg_dtype_size(v->dtype), err);
        }
    }
    unsigned char guard[512 + 256];
    memset(guard, 0xA5, sizeof guard);
    if (!s && guard_len) s = p->mem_write(c, buf, guard_at, guard, guard_len, err);
    int64_t sdim = (int64_t)scratch;
    semseg_tensor out = {buf, off[NB_MAX_IN], b->out[0].dtype, b->out[0].rank, b->out[0].dims, 0};
    semseg_tensor st = {buf, off[NB_MAX_IN + 1], SEMSEG_DTYPE_UINT8, 1, &sdim, 0};
    if (!s) s = p->kernel_run(k, in, b->n.n_inputs, &out, 1, scratch ? &st : NULL, err);
    if (!s && p->synchronize) s = p->synchronize(c, err);
    if (!s) s = p->mem_read(c, buf, off[NB_MAX_IN], y, out_bytes(b), err);
    unsigned char after[sizeof guard];
    if (!s && guard_len) s = p->mem_read(c, buf, guard_at, after, guard_len, err);
    if (!s && guard_len && memcmp(after, guard, guard_len) != 0) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "wrote past the end of its output");
        s = SEMSEG_STATUS_INTERNAL;
    }
    p->kernel_destroy(k);
    if (buf) p->mem_free(c, buf);
    if (s) {
        fail(t, b, err[0] ? err : "out of memory");
        free(y);
        return NULL;
    }
    return y;
}

static void check_opts(tctx *t, node_b *b, int want_fused, int inplace)
{
    if (t->filter && !strstr(b->name, t->filter)) {
        nb_free(b);
        return;
    }
    t->run++;
    void *r = run_ref(t, b), *o = r ? run_ocl(t, b, want_fused, inplace) : NULL;
    if (r && o) {
        int64_t n = semseg_numel(b->out[0].rank, b->out[0].dims);
        char msg[200];
        if (b->out[0].dtype == SEMSEG_DTYPE_INT64) {
            int64_t bad = 0;
            for (int64_t i = 0; i < n; i++) bad += ((int64_t *)r)[i] != ((int64_t *)o)[i];
            snprintf(msg, sizeof msg, "%lld of %lld indices differ", (long long)bad, (long long)n);
            if (bad) fail(t, b, msg);
            else printf("ok   %-44s exact (%lld values)\n", b->name, (long long)n);
        } else {
            double scale = 1, maxerr = 0;
            if (getenv("OPENCL_OPS_DUMP"))
                for (int64_t i = 0; i < n && i < 4; i++)
                    printf("  [%lld] ref %g opencl %g\n", (long long)i, ((float *)r)[i], ((float *)o)[i]);
            for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(((float *)r)[i]));
            for (int64_t i = 0; i < n; i++) {
                double e = fabs((double)((float *)r)[i] - ((float *)o)[i]);
                if (!(e <= maxerr)) maxerr = e; /* NaN counts as a failure */
            }
            snprintf(msg, sizeof msg, "max err %.3g, scale %.3g (%lld values)", maxerr, scale,
                     (long long)n);
            if (!(maxerr <= 1e-4 * scale)) {
                fail(t, b, msg);
                if (getenv("OPENCL_OPS_DUMP"))
                    for (int64_t i = 0; i < n && i < 64; i++)
                        printf("  [%lld] ref %g opencl %g\n", (long long)i, ((float *)r)[i], ((float *)o)[i]);
            }
            else printf("ok   %-44s %s\n", b->name, msg);
        }
    }
    free(r);
    free(o);
    nb_free(b);
}

static void check(tctx *t, node_b *b)
{
    check_opts(t, b, b->n.epilogue != NULL, 0);
}

#define D(...) ((const int64_t[]){__VA_ARGS__})

/* ---- Conv ---- */

typedef struct conv_p {
    int n, c, h, w, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, group, bias;
    const char *auto_pad;
} conv_p;

static int conv_out(int in, int k, int s, int d, int pb, int pe, const char *ap)
{
    if (ap && (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER"))) return (in + s - 1) / s;
    if (ap && !strcmp(ap, "VALID")) return (in - ((k - 1) * d + 1)) / s + 1;
    return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
}

static void conv_node(node_b *b, const char *name, conv_p p)
{
    nb_init(b, "", "Conv", 17, name);
    int oh = conv_out(p.h, p.kh, p.sh, p.dh, p.pt, p.pb, p.auto_pad);
    int ow = conv_out(p.w, p.kw, p.sw, p.dw, p.pl, p.pr, p.auto_pad);
    nb_input(b, 4, D(p.n, p.c, p.h, p.w), -1, 1, 0);
    float ws = 1.0f / sqrtf((float)(p.c / p.group * p.kh * p.kw));
    nb_input(b, 4, D(p.oc, p.c / p.group, p.kh, p.kw), -ws, ws, 1);
    if (p.bias) nb_input(b, 1, D(p.oc), -0.5f, 0.5f, 1);
    nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(p.n, p.oc, oh, ow));
    nb_attr_ints(b, "kernel_shape", 2, D(p.kh, p.kw));
    nb_attr_ints(b, "strides", 2, D(p.sh, p.sw));
    nb_attr_ints(b, "dilations", 2, D(p.dh, p.dw));
    if (p.group != 1) nb_attr_int(b, "group", p.group);
    if (p.auto_pad) nb_attr_string(b, "auto_pad", p.auto_pad);
    else nb_attr_ints(b, "pads", 4, D(p.pt, p.pl, p.pb, p.pr));
}

/* The channel-blocked path (conv_pack + conv2d_cb, conv.c: 8 or more input
 * channels per group, stride 1 or 2 along W): partial 8-channel blocks,
 * groups, pads that differ per side, strides and dilations per axis, rows
 * wider than one 96-column segment, tiles cut by the row's end, a 1x1 run
 * as one flattened row, and several chunks with the residual epilogue. */
static void test_conv_blocked(tctx *t)
{
    static const struct {
        const char *name;
        conv_p p;
    } cases[] = {
        {"cb 3x3 13ch asym pads (partial block)", {1, 13, 7, 11, 18, 3, 3, 1, 1, 1, 1, 2, 0, 1, 1, 1, 1, NULL}},
        {"cb 3x3 s2 dil2 g3 9ch/group n2", {2, 27, 13, 12, 12, 3, 3, 2, 2, 2, 2, 2, 2, 1, 2, 3, 1, NULL}},
        {"cb 3x3 s(1,2) SAME_UPPER", {1, 16, 9, 14, 17, 3, 3, 1, 2, 1, 1, 0, 0, 0, 0, 1, 1, "SAME_UPPER"}},
        {"cb 3x3 s(2,1) nobias", {1, 16, 9, 14, 17, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, NULL}},
        {"cb 3x3 s3 (conv2d, stride 3)", {1, 16, 10, 14, 5, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, NULL}},
        {"cb 3x3 dil12 on 20x20 (rate 12)", {1, 16, 20, 20, 8, 3, 3, 1, 1, 12, 12, 12, 12, 12, 12, 1, 1, NULL}},
        {"cb 3x2 dil(2,3) 10ch asym", {1, 10, 12, 11, 7, 3, 2, 1, 1, 2, 3, 1, 2, 3, 0, 1, 1, NULL}},
        {"cb 3x3 row of 200 (3 segments)", {1, 8, 3, 200, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL}},
        {"cb 1x1 20ch 11x13 flat (2 segments)", {1, 20, 11, 13, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL}},
        {"cb 1x1 s2 pad1 (not flat)", {1, 16, 9, 9, 10, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, NULL}},
        {"cb 5x5 VALID on 5x5 (one output)", {1, 8, 5, 5, 3, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, "VALID"}},
        {"cb 1x1 on 1x1 (SE)", {1, 64, 1, 1, 40, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL}},
        {"cb 1x1 600ch n2 12x12 (2 chunks, 2 segments)", {2, 600, 12, 12, 20, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL}},
        {"cb 3x3 s2 72ch/group g2 (2 chunks)", {1, 144, 11, 13, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, 1, NULL}},
        {"cb 1x1 300ch 16x32 (panel pitch padded)", {1, 300, 16, 32, 20, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL}},
        {"cb 3x3 16ch 14x14 (panel pitch padded)", {1, 16, 14, 14, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL}},
    };
    node_b b;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conv_node(&b, cases[i].name, cases[i].p);
        check(t, &b);
    }
    conv_p s2 = {2, 72, 9, 17, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, NULL};
    conv_node(&b, "cb 3x3 s2 72ch n2 (2 chunks) fused residual+clip", s2);
    int r = nb_input(&b, 4, D(2, 40, 5, 9), -1, 1, 0);
    nb_epilogue(&b, SEMSEG_ACT_CLIP, -0.5f, 0.7f, r);
    check(t, &b);
}

/* Depthwise 3x3 and 5x5 with a stride of 1 or 2 along W (dw_tile_*,
 * conv_dw.c): rows not a multiple of 8, odd and even left pads with the
 * stride-2 phase split, strides and dilations per axis, maps smaller than
 * the window, bands of rows (tall wide maps), several channels per
 * work-group (many channels on a small map), the batch, the epilogue; and
 * the windows that stay on dwconv2d. */
static void test_conv_dw(tctx *t)
{
    static const struct {
        const char *name;
        conv_p p;
    } cases[] = {
        {"dw tile 3x3 37x29 (row tails)", {1, 5, 37, 29, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5, 1, NULL}},
        {"dw tile 5x5 s2 left pad 1 (odd phase)", {1, 3, 23, 31, 3, 5, 5, 2, 2, 1, 1, 1, 1, 2, 2, 3, 1, NULL}},
        {"dw tile 5x5 s2 pad 2 (MobileNetV3)", {1, 4, 24, 40, 4, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 4, 1, NULL}},
        {"dw tile 3x3 s2 dil2 n2", {2, 4, 19, 21, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 4, 1, NULL}},
        {"dw tile 3x3 s(2,1)", {1, 3, 17, 20, 3, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 3, 0, NULL}},
        {"dw tile 3x3 s(1,2) asym pads", {1, 3, 12, 17, 3, 3, 3, 1, 2, 1, 1, 0, 1, 2, 0, 3, 1, NULL}},
        {"dw tile 5x5 dil(1,2) asym pads", {1, 2, 14, 19, 2, 5, 5, 1, 1, 1, 2, 2, 4, 2, 3, 2, 1, NULL}},
        {"dw tile 5x5 dil2 64ch 16x16 (channel groups)", {1, 64, 16, 16, 64, 5, 5, 1, 1, 2, 2, 4, 4, 4, 4, 64, 1, NULL}},
        {"dw tile 3x3 90x200 (row bands)", {1, 2, 90, 200, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, NULL}},
        {"dw tile 5x5 s2 101x150 (row bands)", {1, 2, 101, 150, 2, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 2, 0, NULL}},
        {"dw tile 5x5 on 3x3 (window past the map)", {1, 4, 3, 3, 4, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 4, 1, NULL}},
        {"dw tile 3x3 on 1x1", {1, 8, 1, 1, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8, 1, NULL}},
        {"dw tile 3x3 s2 VALID", {1, 3, 9, 18, 3, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 3, 1, "VALID"}},
        {"dw 3x3 s3 (dwconv2d)", {1, 3, 10, 14, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3, 1, NULL}},
        {"dw 7x7 (dwconv2d)", {1, 2, 9, 12, 2, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 2, 1, NULL}},
    };
    node_b b;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conv_node(&b, cases[i].name, cases[i].p);
        check(t, &b);
    }
    conv_p r = {2, 6, 13, 21, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6, 1, NULL};
    conv_node(&b, "dw tile 3x3 n2 fused residual+hardswish", r);
    int ri = nb_input(&b, 4, D(2, 6, 13, 21), -4, 4, 0);
    nb_epilogue(&b, SEMSEG_ACT_HARDSWISH, 0, 0, ri);
    check(t, &b);
    conv_p c2 = {1, 5, 20, 22, 5, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 5, 1, NULL};
    conv_node(&b, "dw tile 5x5 s2 fused clip", c2);
    nb_epilogue(&b, SEMSEG_ACT_CLIP, -0.3f, 0.4f, -1);
    check(t, &b);
}

/* Pointwise convolutions read straight from NCHW (conv1x1_px, conv.c: one
 * group, at most 128 input channels or a map of at most 16x16): a partial
 * last 16-pixel tile and 6-channel block, the batch, output channels
 * split among work-items on small maps, and the epilogue; and the 1x1
 * convolutions that stay elsewhere. */
static void test_conv_px(tctx *t)
{
    static const struct {
        const char *name;
        conv_p p;
    } cases[] = {
        {"px 1x1 16->40 13x11 (partial tile and block)", {1, 16, 13, 11, 40, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL}},
        {"px 1x1 n2 24->7", {2, 24, 8, 8, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, NULL}},
        {"px 1x1 3->10 (few channels)", {1, 3, 9, 9, 10, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL}},
        {"px 1x1 300->20 10x10 (small map, split)", {1, 300, 10, 10, 20, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL}},
        {"px 1x1 4x4 map (one tile) 8->13", {1, 8, 4, 4, 13, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL}},
        {"px 1x1 5x5 map (last tile of 9) 12->6", {1, 12, 5, 5, 6, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL}},
        {"px 1x1 120->40 40x40", {1, 120, 40, 40, 40, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL}},
        {"conv 1x1 20->9 on 3x3 (not px)", {1, 20, 3, 3, 9, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL}},
        {"conv 1x1 300->20 20x20 (not px: cb)", {1, 300, 20, 20, 20, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL}},
    };
    node_b b;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conv_node(&b, cases[i].name, cases[i].p);
        check(t, &b);
    }
    conv_p r = {2, 40, 7, 9, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL};
    conv_node(&b, "px 1x1 n2 fused residual+relu", r);
    int ri = nb_input(&b, 4, D(2, 24, 7, 9), -1, 1, 0);
    nb_epilogue(&b, SEMSEG_ACT_RELU, 0, 0, ri);
    check(t, &b);
    conv_node(&b, "px 1x1 fused hardswish", r);
    nb_epilogue(&b, SEMSEG_ACT_HARDSWISH, 0, 0, -1);
    check(t, &b);
    conv_node(&b, "px 1x1 fused clip", r);
    nb_epilogue(&b, SEMSEG_ACT_CLIP, -0.2f, 0.3f, -1);
    check(t, &b);
}

/* Convolutions over fewer than 8 input channels (the RGB stems) with a
 * stride of 1 or 2 along W (convk_px_*, conv.c): bands of rows, the
 * stride-2 phase split with odd and even left pads, dilation, the batch,
 * the epilogue; a stride of 3 stays on conv2d. */
static void test_conv_pk(tctx *t)
{
    static const struct {
        const char *name;
        conv_p p;
    } cases[] = {
        {"pk 3x3 3->16 100x70 (row bands)", {1, 3, 100, 70, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL}},
        {"pk 3x3 s2 3->10 61x77 n2", {2, 3, 61, 77, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, NULL}},
        {"pk 3x3 s2 left pad 0 3->7 20x33", {1, 3, 20, 33, 7, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1, 0, NULL}},
        {"pk 5x5 dil2 s(2,1) 2->9", {1, 2, 23, 26, 9, 5, 5, 2, 1, 2, 2, 4, 3, 4, 5, 1, 1, NULL}},
        {"pk 7x7 s2 p3 3->8 40x52", {1, 3, 40, 52, 8, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, 1, NULL}},
        {"conv 3x3 s3 3ch (conv2d)", {1, 3, 20, 25, 5, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, NULL}},
    };
    node_b b;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conv_node(&b, cases[i].name, cases[i].p);
        check(t, &b);
    }
    conv_p r = {2, 3, 18, 21, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL};
    conv_node(&b, "pk 3x3 n2 fused residual+clip", r);
    int ri = nb_input(&b, 4, D(2, 13, 18, 21), -1, 1, 0);
    nb_epilogue(&b, SEMSEG_ACT_CLIP, -0.5f, 0.6f, ri);
    check(t, &b);
}

/* Winograd F(2x2, 3x3) (conv_wino.c: 3x3, stride 1, one group, at least
 * 256 input and 64 output channels, a dilation of at most a quarter of the
 * map): maps that are not whole tiles, dilations per axis (tiles of
 * outputs d apart), pads per side and VALID, rows wide enough for the
 * vector paths, the batch, the epilogue; and a dilation too wide for it. */
static void test_conv_wino(tctx *t)
{
    static const struct {
        const char *name;
        conv_p p;
    } cases[] = {
        {"wino 3x3 512->64 8x16", {1, 512, 8, 16, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL}},
        {"wino 3x3 520->72 9x13 n2 (partial tiles)", {2, 520, 9, 13, 72, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL}},
        {"wino 3x3 512->80 8x40 (wide rows)", {1, 512, 8, 40, 80, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, NULL}},
        {"wino 3x3 dil2 512->64 10x10", {1, 512, 10, 10, 64, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1, NULL}},
        {"wino 3x3 dil(2,3) asym pads 515->66", {1, 515, 9, 13, 66, 3, 3, 1, 1, 2, 3, 1, 3, 3, 2, 1, 1, NULL}},
        {"wino 3x3 dil4 512->64 16x16", {1, 512, 16, 16, 64, 3, 3, 1, 1, 4, 4, 4, 4, 4, 4, 1, 1, NULL}},
        {"wino 3x3 VALID 512->64 7x12", {1, 512, 7, 12, 64, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, "VALID"}},
        {"wino 3x3 256->64 12x10", {1, 256, 12, 10, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL}},
        {"conv 3x3 dil6 512->64 16x16 (too wide for wino)", {1, 512, 16, 16, 64, 3, 3, 1, 1, 6, 6, 6, 6, 6, 6, 1, 1, NULL}},
    };
    node_b b;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conv_node(&b, cases[i].name, cases[i].p);
        check(t, &b);
    }
    conv_p r = {2, 512, 6, 18, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL};
    conv_node(&b, "wino n2 fused residual+relu", r);
    int ri = nb_input(&b, 4, D(2, 64, 6, 18), -1, 1, 0);
    nb_epilogue(&b, SEMSEG_ACT_RELU, 0, 0, ri);
    check(t, &b);
    conv_node(&b, "wino fused hardswish", r);
    nb_epilogue(&b, SEMSEG_ACT_HARDSWISH, 0, 0, -1);
    check(t, &b);
    conv_node(&b, "wino fused clip", r);
    nb_epilogue(&b, SEMSEG_ACT_CLIP, -0.4f, 0.5f, -1);
    check(t, &b);
}

/* A blocked conv run without the scratch it asked for: an error, no crash. */
static void test_conv_no_scratch(tctx *t)
{
    char err[SEMSEG_ERRMSG_SIZE] = "";
    const semseg_plugin_i *p = t->ocl.p;
    node_b b;
    conv_p cp = {1, 16, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL};
    conv_node(&b, "cb run without scratch", cp);
    if (t->filter && !strstr(b.name, t->filter)) {
        nb_free(&b);
        return;
    }
    t->run++;
    semseg_kernel *k;
    size_t scratch = 0;
    if (p->kernel_create(t->ocl.ctx, &b.n, &k, &scratch, err)) {
        fail(t, &b, err);
        nb_free(&b);
        return;
    }
    void *buf = p->mem_alloc(t->ocl.ctx, 4096);
    semseg_tensor in[3] = {
        {buf, 0, SEMSEG_DTYPE_FLOAT, 4, b.in[0].dims, 0},
        {b.data[1], 0, SEMSEG_DTYPE_FLOAT, 4, b.in[1].dims, 1},
        {b.data[2], 0, SEMSEG_DTYPE_FLOAT, 1, b.in[2].dims, 1},
    };
    semseg_tensor out = {buf, 2048, SEMSEG_DTYPE_FLOAT, 4, b.out[0].dims, 0};
    semseg_status s = buf ? p->kernel_run(k, in, 3, &out, 1, NULL, err) : SEMSEG_STATUS_OK;
    char serr[SEMSEG_ERRMSG_SIZE];
    if (p->synchronize) p->synchronize(t->ocl.ctx, serr);
    p->kernel_destroy(k);
    if (buf) p->mem_free(t->ocl.ctx, buf);
    if (!scratch) fail(t, &b, "asked for no scratch");
    else if (!s || !strstr(err, "scratch")) fail(t, &b, "ran without its scratch, or no message");
    else printf("ok   %-44s %s\n", b.name, err);
    nb_free(&b);
}

static void test_conv(tctx *t)
{
    static const struct {
        const char *name;
        conv_p p;
    } cases[] = {
        {"conv 3x3 pad1 bias", {1, 3, 9, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL}},
        {"conv 3x3 stride2 nobias", {1, 4, 11, 10, 16, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, 0, NULL}},
        {"conv 3x3 dil2 pad2", {1, 8, 13, 13, 12, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1, NULL}},
        {"conv 3x3 dil12 (rate 12)", {1, 4, 30, 30, 8, 3, 3, 1, 1, 12, 12, 12, 12, 12, 12, 1, 1, NULL}},
        {"conv 3x2 dil(2,3) asym pads", {2, 3, 12, 11, 7, 3, 2, 1, 2, 2, 3, 1, 2, 3, 0, 1, 1, NULL}},
        {"conv grouped g4", {1, 8, 9, 9, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, 1, NULL}},
        {"conv depthwise s2", {1, 6, 10, 10, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 6, 1, NULL}},
        {"conv depthwise dil2 nobias", {2, 5, 12, 9, 5, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 5, 0, NULL}},
        {"conv depthwise 3x3 wide rows (vector path)", {1, 3, 5, 29, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, NULL}},
        {"conv depthwise 5x5 dil2 s(2,1) wide", {2, 2, 9, 27, 2, 5, 5, 2, 1, 2, 2, 4, 4, 4, 4, 2, 0, NULL}},
        {"conv depthwise 5x5 s2 wide", {1, 2, 9, 40, 2, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 2, 1, NULL}},
        {"conv depthwise mult2", {1, 4, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, 1, NULL}},
        {"conv 3x3 dil8 on 4x5: centre tap only (1x1)", {1, 6, 4, 5, 7, 3, 3, 1, 1, 8, 8, 8, 8, 8, 8, 1, 1, NULL}},
        {"conv 3x3 dil5 on 8x4: dead columns cut", {1, 5, 8, 4, 6, 3, 3, 1, 1, 5, 5, 5, 5, 5, 5, 1, 1, NULL}},
        {"conv 3x3 dil9 on 3x3 s2 depthwise", {1, 4, 3, 3, 4, 3, 3, 2, 2, 9, 9, 9, 9, 9, 9, 4, 1, NULL}},
        {"conv 1x1 n2", {2, 16, 7, 7, 21, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL}},
        {"conv 1x1 stride2", {1, 8, 9, 9, 10, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 0, NULL}},
        {"conv 7x7 s2 p3 stem", {1, 3, 20, 20, 8, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, 0, NULL}},
        {"conv wide row 3x3", {1, 2, 3, 37, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL}},
        {"conv SAME_UPPER s2", {1, 3, 10, 9, 4, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, "SAME_UPPER"}},
        {"conv SAME_LOWER k4", {1, 3, 10, 9, 4, 4, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, "SAME_LOWER"}},
        {"conv VALID", {1, 3, 10, 9, 4, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, "VALID"}},
    };
    node_b b;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conv_node(&b, cases[i].name, cases[i].p);
        check(t, &b);
    }
    /* More input channels than one chunk holds (conv.c: 56 for 3x3, 8 for
     * 7x7, 512 for 1x1): partial sums go through the scratch (conv2d_cb,
     * 8 or more channels per group) or y (conv2d) between chunks. */
    conv_p big3 = {1, 120, 5, 7, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL};
    conv_node(&b, "conv 3x3 120ch (3 chunks) fused residual+relu", big3);
    int r0 = nb_input(&b, 4, D(1, 20, 5, 7), -1, 1, 0);
    nb_epilogue(&b, SEMSEG_ACT_RELU, 0, 0, r0);
    check(t, &b);
    /* 2 x 35 rows x 2 blocks is more than 64 rows: conv.c gives each
     * work-item a band of 3 rows (the last band 2), walked per chunk. */
    conv_p band = {2, 70, 35, 9, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL};
    conv_node(&b, "conv 3x3 70ch (2 chunks) n2 row bands fused residual", band);
    int rb = nb_input(&b, 4, D(2, 20, 35, 9), -1, 1, 0);
    nb_epilogue(&b, SEMSEG_ACT_RELU, 0, 0, rb);
    check(t, &b);
    conv_p big7 = {1, 24, 9, 9, 17, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, 1, NULL};
    conv_node(&b, "conv 7x7 24ch (3 chunks) s2", big7);
    check(t, &b);
    conv_p big1 = {2, 600, 3, 5, 33, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL};
    conv_node(&b, "conv 1x1 600ch (2 chunks) n2 fused clip", big1);
    nb_epilogue(&b, SEMSEG_ACT_CLIP, -0.2f, 0.4f, -1);
    check(t, &b);
    /* 1x1 (conv2d_1x1) with the residual epilogue, 10 output channels in a
     * partial 16-channel block; and grouped 1x1. */
    conv_p pw = {1, 40, 8, 9, 10, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, NULL};
    conv_node(&b, "conv 1x1 fused residual+relu", pw);
    int rp = nb_input(&b, 4, D(1, 10, 8, 9), -1, 1, 0);
    nb_epilogue(&b, SEMSEG_ACT_RELU, 0, 0, rp);
    check(t, &b);
    conv_p pg = {1, 12, 5, 6, 8, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 1, NULL};
    conv_node(&b, "conv 1x1 grouped g2 (conv2d_1x1)", pg);
    check(t, &b);
    conv_p bigg = {1, 240, 6, 6, 32, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2, 1, NULL};
    conv_node(&b, "conv 3x3 dil2 g2 120ch/group (3 chunks)", bigg);
    check(t, &b);
    test_conv_blocked(t);
    test_conv_no_scratch(t);
    test_conv_dw(t);
    test_conv_px(t);
    test_conv_pk(t);
    test_conv_wino(t);
    conv_p p = {1, 6, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL};
    conv_node(&b, "conv fused relu", p);
    nb_epilogue(&b, SEMSEG_ACT_RELU, 0, 0, -1);
    check(t, &b);
    conv_node(&b, "conv fused clip 0..0.3", p);
    nb_epilogue(&b, SEMSEG_ACT_CLIP, 0, 0.3f, -1);
    check(t, &b);
    /* HardSwish (ABI 1.1) on the direct, channel-blocked and 1x1 paths. */
    conv_node(&b, "conv fused hardswish", p);
    nb_epilogue(&b, SEMSEG_ACT_HARDSWISH, 0, 0, -1);
    check(t, &b);
    conv_node(&b, "conv 3x3 120ch (3 chunks) fused residual+hardswish", big3);
    int rh = nb_input(&b, 4, D(1, 20, 5, 7), -4, 4, 0);
    nb_epilogue(&b, SEMSEG_ACT_HARDSWISH, 0, 0, rh);
    check(t, &b);
    conv_node(&b, "conv 1x1 fused hardswish", pw);
    nb_epilogue(&b, SEMSEG_ACT_HARDSWISH, 0, 0, -1);
    check(t, &b);
    conv_node(&b, "conv fused residual+relu", p);
    int r = nb_input(&b, 4, D(1, 6, 8, 8), -1, 1, 0);
    nb_epilogue(&b, SEMSEG_ACT_RELU, 0, 0, r);
    check(t, &b);
    p.group = 6;
    conv_node(&b, "conv depthwise fused residual", p);
    r = nb_input(&b, 4, D(1, 6, 8, 8), -1, 1, 0);
    nb_epilogue(&b, SEMSEG_ACT_NONE, 0, 0, r);
    check(t, &b);
}

/* ---- ConvTranspose ---- */

static void convt_node(node_b *b, const char *name, int c, int h, int w, int oc, int k, int s,
                       int pad, int dil, int opad, int group, int bias)
{
    nb_init(b, "", "ConvTranspose", 17, name);
    int oh = s * (h - 1) + opad + (k - 1) * dil + 1 - 2 * pad;
    int ow = s * (w - 1) + opad + (k - 1) * dil + 1 - 2 * pad;
    nb_input(b, 4, D(1, c, h, w), -1, 1, 0);
    nb_input(b, 4, D(c, oc / group, k, k), -0.5f, 0.5f, 1);
    if (bias) nb_input(b, 1, D(oc), -0.5f, 0.5f, 1);
    nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, oc, oh, ow));
    nb_attr_ints(b, "kernel_shape", 2, D(k, k));
    nb_attr_ints(b, "strides", 2, D(s, s));
    nb_attr_ints(b, "pads", 4, D(pad, pad, pad, pad));
    if (dil != 1) nb_attr_ints(b, "dilations", 2, D(dil, dil));
    if (opad) nb_attr_ints(b, "output_padding", 2, D(opad, opad));
    if (group != 1) nb_attr_int(b, "group", group);
}

static void test_conv_transpose(tctx *t)
{
    node_b b;
    convt_node(&b, "convT s2 k4 p1", 3, 5, 6, 5, 4, 2, 1, 1, 0, 1, 1);
    check(t, &b);
    convt_node(&b, "convT FCN s8 k16 p4", 4, 3, 4, 4, 16, 8, 4, 1, 0, 1, 0);
    check(t, &b);
    convt_node(&b, "convT FCN s32 k64 p16", 3, 2, 2, 3, 64, 32, 16, 1, 0, 1, 0);
    check(t, &b);
    convt_node(&b, "convT grouped bilinear g4", 4, 4, 5, 4, 4, 2, 1, 1, 0, 4, 0);
    check(t, &b);
    convt_node(&b, "convT output_padding", 3, 4, 5, 2, 3, 2, 1, 1, 1, 1, 1);
    check(t, &b);
    convt_node(&b, "convT dilation2", 2, 4, 4, 3, 3, 1, 0, 2, 0, 1, 1);
    check(t, &b);
    convt_node(&b, "convT fused relu", 3, 5, 6, 5, 4, 2, 1, 1, 0, 1, 1);
    nb_epilogue(&b, SEMSEG_ACT_RELU, 0, 0, -1);
    check(t, &b);
    convt_node(&b, "convT fused hardswish", 3, 5, 6, 5, 4, 2, 1, 1, 0, 1, 1);
    nb_epilogue(&b, SEMSEG_ACT_HARDSWISH, 0, 0, -1);
    check(t, &b);
    /* batch 2, fused residual */
    nb_init(&b, "", "ConvTranspose", 17, "convT batch2 s2 k4 fused residual");
    nb_input(&b, 4, D(2, 3, 4, 5), -1, 1, 0);
    nb_input(&b, 4, D(3, 4, 4, 4), -0.5f, 0.5f, 1);
    nb_input(&b, 1, D(4), -0.5f, 0.5f, 1);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(2, 4, 8, 10));
    nb_attr_ints(&b, "kernel_shape", 2, D(4, 4));
    nb_attr_ints(&b, "strides", 2, D(2, 2));
    nb_attr_ints(&b, "pads", 4, D(1, 1, 1, 1));
    int rr = nb_input(&b, 4, D(2, 4, 8, 10), -1, 1, 0);
    nb_epilogue(&b, SEMSEG_ACT_NONE, 0, 0, rr);
    check(t, &b);
    /* Dilation 1 and a stride along W of 1, 2, 4 or 8 (convt_ph_s*): rows
     * wide enough for the interleaved vector stores, groups, the stride-1
     * form, and a stride along H that differs. */
    convt_node(&b, "convT ph s2 k4 p1 wide 3->4", 3, 4, 30, 4, 4, 2, 1, 1, 0, 1, 1);
    check(t, &b);
    convt_node(&b, "convT ph s4 k8 p2 5->5 (seed)", 5, 9, 21, 5, 8, 4, 2, 1, 0, 1, 1);
    check(t, &b);
    convt_node(&b, "convT ph s8 k16 p4 wide 3->2", 3, 3, 10, 2, 16, 8, 4, 1, 0, 1, 0);
    check(t, &b);
    convt_node(&b, "convT ph s1 k3 p1 g2 6->4", 6, 5, 19, 4, 3, 1, 1, 1, 0, 2, 1);
    check(t, &b);
    nb_init(&b, "", "ConvTranspose", 17, "convT ph s(3,2) k(5,4) g2 fused relu");
    nb_input(&b, 4, D(1, 4, 4, 12), -1, 1, 0);
    nb_input(&b, 4, D(4, 3, 5, 4), -0.5f, 0.5f, 1);
    nb_input(&b, 1, D(6), -0.5f, 0.5f, 1);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(1, 6, 12, 24)); /* 3*3+5-2, 2*11+4-2 */
    nb_attr_ints(&b, "kernel_shape", 2, D(5, 4));
    nb_attr_ints(&b, "strides", 2, D(3, 2));
    nb_attr_ints(&b, "pads", 4, D(1, 1, 1, 1));
    nb_attr_int(&b, "group", 2);
    nb_epilogue(&b, SEMSEG_ACT_RELU, 0, 0, -1);
    check(t, &b);
    /* Depthwise with a stride along W that is a multiple of 8
     * (convt_dw_rows): FCN's per-class upsamplers, a kernel that is not a
     * multiple of the stride, output padding, and different strides and
     * kernels per axis with the batch and a fused epilogue. */
    convt_node(&b, "convT dw s8 k16 p4 (FCN-8s)", 5, 6, 7, 5, 16, 8, 4, 1, 0, 5, 1);
    check(t, &b);
    convt_node(&b, "convT dw s16 k32 p8", 3, 3, 4, 3, 32, 16, 8, 1, 0, 3, 0);
    check(t, &b);
    convt_node(&b, "convT dw s32 k64 p16", 2, 2, 3, 2, 64, 32, 16, 1, 0, 2, 1);
    check(t, &b);
    convt_node(&b, "convT dw s8 k12 p2 output_padding 3", 3, 4, 5, 3, 12, 8, 2, 1, 3, 3, 1);
    check(t, &b);
    nb_init(&b, "", "ConvTranspose", 17, "convT dw s(4,8) k(6,16) n2 fused residual+relu");
    nb_input(&b, 4, D(2, 3, 5, 4), -1, 1, 0);
    nb_input(&b, 4, D(3, 1, 6, 16), -0.5f, 0.5f, 1);
    nb_input(&b, 1, D(3), -0.5f, 0.5f, 1);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(2, 3, 20, 36)); /* 4*4+6-2, 8*3+16-4 */
    nb_attr_ints(&b, "kernel_shape", 2, D(6, 16));
    nb_attr_ints(&b, "strides", 2, D(4, 8));
    nb_attr_ints(&b, "pads", 4, D(1, 2, 1, 2));
    nb_attr_int(&b, "group", 3);
    int rd = nb_input(&b, 4, D(2, 3, 20, 36), -1, 1, 0);
    nb_epilogue(&b, SEMSEG_ACT_RELU, 0, 0, rd);
    check(t, &b);
    /* output_shape instead of pads. */
    nb_init(&b, "", "ConvTranspose", 17, "convT output_shape");
    nb_input(&b, 4, D(1, 2, 4, 5), -1, 1, 0);
    nb_input(&b, 4, D(2, 3, 3, 3), -0.5f, 0.5f, 1);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(1, 3, 8, 10));
    nb_attr_ints(&b, "strides", 2, D(2, 2));
    nb_attr_ints(&b, "output_shape", 2, D(8, 10));
    check(t, &b);
}

/* ---- Resize / Upsample ---- */

static void resize_node(node_b *b, const char *name, int opset, const char *mode,
                        const char *cm, const char *nm, float sh, float sw)
{
    int h = 5, w = 7, oh = (int)floorf(h * sh), ow = (int)floorf(w * sw);
    nb_init(b, "", "Resize", opset, name);
    nb_input(b, 4, D(1, 3, h, w), -1, 1, 0);
    float scales[4] = {1, 1, sh, sw};
    if (opset >= 11) {
        float roi[8] = {0, 0, 0.2f, 0.1f, 1, 1, 0.9f, 1.2f};
        if (cm && !strcmp(cm, "tf_crop_and_resize")) nb_input_const(b, SEMSEG_DTYPE_FLOAT, 1, D(8), roi);
        else nb_input_absent(b);
    }
    nb_input_const(b, SEMSEG_DTYPE_FLOAT, 1, D(4), scales);
    nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, 3, oh, ow));
    nb_attr_string(b, "mode", mode);
    if (cm) nb_attr_string(b, "coordinate_transformation_mode", cm);
    if (nm) nb_attr_string(b, "nearest_mode", nm);
    if (cm && !strcmp(cm, "tf_crop_and_resize")) nb_attr_float(b, "extrapolation_value", -3.0f);
}

static void test_resize(tctx *t)
{
    static const char *const cms[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                      "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    static const float sc[][2] = {{2, 2}, {0.6f, 0.5f}, {1.5f, 3}};
    node_b b;
    char name[128];
    for (size_t c = 0; c < 6; c++)
        for (size_t s = 0; s < 3; s++) {
            snprintf(name, sizeof name, "resize linear %s x%.1fx%.1f", cms[c], sc[s][0], sc[s][1]);
            if (c != 4) {
                resize_node(&b, name, 13, "linear", cms[c], NULL, sc[s][0], sc[s][1]);
                check(t, &b);
            }
            for (size_t m = 0; m < 4; m++) {
                if (m > 0 && s == 2) continue;
                snprintf(name, sizeof name, "resize nearest %s %s x%.1fx%.1f", cms[c], nms[m],
                         sc[s][0], sc[s][1]);
                /* tf_half_pixel_for_nn left the op at opset 13; with a ceil
                 * rounding it also moves N and C (opencl refuses that). */
                if (c == 4 && (m == 1 || m == 3)) continue;
                resize_node(&b, name, c == 4 ? 11 : 13, "nearest", cms[c], nms[m], sc[s][0], sc[s][1]);
                check(t, &b);
            }
        }
    resize_node(&b, "resize linear half_pixel_symmetric opset19", 19, "linear",
                "half_pixel_symmetric", NULL, 1.7f, 0.6f);
    check(t, &b);
    resize_node(&b, "resize opset10 nearest x2", 10, "nearest", NULL, NULL, 2, 2);
    check(t, &b);
    resize_node(&b, "resize opset10 linear x2", 10, "linear", NULL, NULL, 2, 3);
    check(t, &b);
    /* sizes, opset 18 with axes and keep_aspect_ratio_policy */
    nb_init(&b, "", "Resize", 13, "resize linear sizes 13x17 pytorch");
    nb_input(&b, 4, D(1, 2, 5, 7), -1, 1, 0);
    nb_input_absent(&b);
    nb_input_absent(&b);
    nb_input_const(&b, SEMSEG_DTYPE_INT64, 1, D(4), D(1, 2, 13, 17));
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(1, 2, 13, 17));
    nb_attr_string(&b, "mode", "linear");
    nb_attr_string(&b, "coordinate_transformation_mode", "pytorch_half_pixel");
    check(t, &b);
    nb_init(&b, "", "Resize", 18, "resize opset18 axes not_larger");
    nb_input(&b, 4, D(1, 2, 6, 8), -1, 1, 0);
    nb_input_absent(&b);
    nb_input_absent(&b);
    nb_input_const(&b, SEMSEG_DTYPE_INT64, 1, D(2), D(9, 20));
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(1, 2, 9, 12)); /* scale min(1.5, 2.5) */
    nb_attr_string(&b, "mode", "linear");
    nb_attr_ints(&b, "axes", 2, D(2, 3));
    nb_attr_string(&b, "keep_aspect_ratio_policy", "not_larger");
    check(t, &b);
    /* resize_linear_band (resize.c): larger maps than above, with rows
     * that are not a multiple of 8, several bands (a wide output), several
     * planes per work-group, downscaling, and one output row. */
    static const struct {
        const char *name, *cm;
        int c, h, w, oh, ow;
    } bands[] = {
        {"resize band x4 half_pixel 3x9x13", "half_pixel", 3, 9, 13, 36, 52},
        {"resize band x8 align_corners 2x5x6", "align_corners", 2, 5, 6, 40, 48},
        {"resize band x8 pytorch 21x4x4 (planes per group)", "pytorch_half_pixel", 21, 4, 4, 32, 32},
        {"resize band 40x150 -> 160x600 (row bands)", "half_pixel", 2, 40, 150, 160, 600},
        {"resize band down 2x30x50 -> 13x21", "half_pixel", 2, 30, 50, 13, 21},
        {"resize band asymmetric x3 64x3x5", "asymmetric", 64, 3, 5, 9, 15},
        {"resize band pytorch to one row 2x6x9 -> 1x17", "pytorch_half_pixel", 2, 6, 9, 1, 17},
    };
    for (size_t i = 0; i < sizeof bands / sizeof bands[0]; i++) {
        nb_init(&b, "", "Resize", 13, bands[i].name);
        nb_input(&b, 4, D(1, bands[i].c, bands[i].h, bands[i].w), -1, 1, 0);
        nb_input_absent(&b);
        nb_input_absent(&b);
        nb_input_const(&b, SEMSEG_DTYPE_INT64, 1, D(4), D(1, bands[i].c, bands[i].oh, bands[i].ow));
        nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(1, bands[i].c, bands[i].oh, bands[i].ow));
        nb_attr_string(&b, "mode", "linear");
        nb_attr_string(&b, "coordinate_transformation_mode", bands[i].cm);
        check(t, &b);
    }
    nb_init(&b, "", "Upsample", 9, "upsample opset9 nearest x2");
    nb_input(&b, 4, D(1, 2, 4, 5), -1, 1, 0);
    nb_input_const(&b, SEMSEG_DTYPE_FLOAT, 1, D(4), (const float[]){1, 1, 2, 2});
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(1, 2, 8, 10));
    nb_attr_string(&b, "mode", "nearest");
    check(t, &b);
}

/* ---- pooling ---- */

static void pool_node(node_b *b, const char *name, const char *op, int h, int w, int k, int s,
                      int pad, int dil, int ceil_mode, int include_pad)
{
    nb_init(b, "", op, op[0] == 'M' ? 12 : 19, name);
    int span = (k - 1) * dil + 1, oh, ow;
    if (ceil_mode) {
        oh = (h + 2 * pad - span + s - 1) / s + 1;
        ow = (w + 2 * pad - span + s - 1) / s + 1;
        if ((oh - 1) * s >= h + pad) oh--;
        if ((ow - 1) * s >= w + pad) ow--;
    } else {
        oh = (h + 2 * pad - span) / s + 1;
        ow = (w + 2 * pad - span) / s + 1;
    }
    nb_input(b, 4, D(2, 3, h, w), -1, 1, 0);
    nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(2, 3, oh, ow));
    nb_attr_ints(b, "kernel_shape", 2, D(k, k));
    nb_attr_ints(b, "strides", 2, D(s, s));
    nb_attr_ints(b, "pads", 4, D(pad, pad, pad, pad));
    if (dil != 1) nb_attr_ints(b, "dilations", 2, D(dil, dil));
    if (ceil_mode) nb_attr_int(b, "ceil_mode", 1);
    if (include_pad) nb_attr_int(b, "count_include_pad", 1);
}

static void test_pool(tctx *t)
{
    node_b b;
    pool_node(&b, "maxpool 3x3 s2 p1", "MaxPool", 11, 12, 3, 2, 1, 1, 0, 0);
    check(t, &b);
    pool_node(&b, "maxpool 2x2 s2 ceil", "MaxPool", 7, 9, 2, 2, 0, 1, 1, 0);
    check(t, &b);
    pool_node(&b, "maxpool 3x3 dil2", "MaxPool", 10, 10, 3, 1, 1, 2, 0, 0);
    check(t, &b);
    pool_node(&b, "avgpool 3x3 s1 p1", "AveragePool", 8, 9, 3, 1, 1, 1, 0, 0);
    check(t, &b);
    pool_node(&b, "avgpool 3x3 s1 p1 include_pad", "AveragePool", 8, 9, 3, 1, 1, 1, 0, 1);
    check(t, &b);
    pool_node(&b, "avgpool 3x3 s2 p1 ceil include_pad", "AveragePool", 8, 10, 3, 2, 1, 1, 1, 1);
    check(t, &b);
    pool_node(&b, "avgpool 2x2 s2", "AveragePool", 8, 10, 2, 2, 0, 1, 0, 0);
    check(t, &b);
    nb_init(&b, "", "MaxPool", 12, "maxpool SAME_UPPER k3 s2");
    nb_input(&b, 4, D(1, 2, 9, 8), -1, 1, 0);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(1, 2, 5, 4));
    nb_attr_ints(&b, "kernel_shape", 2, D(3, 3));
    nb_attr_ints(&b, "strides", 2, D(2, 2));
    nb_attr_string(&b, "auto_pad", "SAME_UPPER");
    check(t, &b);
    /* pool2d_v8_s1/_s2 (8 outputs per work-item; dilation 1 along W):
     * rows long enough for whole segments, with the border segments and
     * the row tails on the per-output path. */
    pool_node(&b, "maxpool 2x2 s2 ceil 33x35 (v8)", "MaxPool", 33, 35, 2, 2, 0, 1, 1, 0);
    check(t, &b);
    pool_node(&b, "maxpool 3x3 s2 p1 40x41 (v8)", "MaxPool", 40, 41, 3, 2, 1, 1, 0, 0);
    check(t, &b);
    pool_node(&b, "maxpool 3x3 s1 p1 20x30 (v8 s1)", "MaxPool", 20, 30, 3, 1, 1, 1, 0, 0);
    check(t, &b);
    pool_node(&b, "avgpool 3x3 s1 p1 20x30 (v8 s1)", "AveragePool", 20, 30, 3, 1, 1, 1, 0, 0);
    check(t, &b);
    pool_node(&b, "avgpool 3x3 s2 p1 ceil include_pad 21x37 (v8)", "AveragePool", 21, 37, 3, 2, 1, 1,
              1, 1);
    check(t, &b);
    pool_node(&b, "avgpool 2x2 s2 ceil 17x35 (v8)", "AveragePool", 17, 35, 2, 2, 0, 1, 1, 0);
    check(t, &b);
    pool_node(&b, "maxpool 3x3 s3 30x40 (pool2d)", "MaxPool", 30, 40, 3, 3, 1, 1, 0, 0);
    check(t, &b);
    nb_init(&b, "", "MaxPool", 12, "maxpool 3x3 dil(2,1) s2 (v8)");
    nb_input(&b, 4, D(1, 2, 19, 40), -1, 1, 0);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(1, 2, 9, 20)); /* (19+2-5)/2+1, (40+2-3)/2+1 */
    nb_attr_ints(&b, "kernel_shape", 2, D(3, 3));
    nb_attr_ints(&b, "strides", 2, D(2, 2));
    nb_attr_ints(&b, "dilations", 2, D(2, 1));
    nb_attr_ints(&b, "pads", 4, D(1, 1, 1, 1));
    check(t, &b);
    nb_init(&b, "", "GlobalAveragePool", 1, "globalavgpool");
    nb_input(&b, 4, D(2, 5, 7, 9), -1, 1, 0);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(2, 5, 1, 1));
    check(t, &b);
    /* global_pool in float8 steps: planes shorter than 8, and long ones. */
    nb_init(&b, "", "GlobalAveragePool", 1, "globalavgpool 2x3 planes");
    nb_input(&b, 4, D(1, 4, 2, 3), -1, 1, 0);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(1, 4, 1, 1));
    check(t, &b);
    nb_init(&b, "", "GlobalAveragePool", 1, "globalavgpool 960x16x16");
    nb_input(&b, 4, D(1, 960, 16, 16), -1, 1, 0);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(1, 960, 1, 1));
    check(t, &b);
    nb_init(&b, "", "GlobalMaxPool", 1, "globalmaxpool 3x25x41");
    nb_input(&b, 4, D(1, 3, 25, 41), -3, -1, 0);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(1, 3, 1, 1));
    check(t, &b);
    nb_init(&b, "", "GlobalMaxPool", 1, "globalmaxpool");
    nb_input(&b, 4, D(2, 5, 7, 9), -1, 1, 0);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(2, 5, 1, 1));
    check(t, &b);
}

/* ---- AdaptiveAvgPool2d ---- */

static void test_adaptive(tctx *t)
{
    static const int cases[][4] = {{13, 13, 1, 1}, {13, 13, 2, 2}, {13, 13, 3, 3},
                                   {13, 13, 6, 6}, {7, 10, 3, 4}, {5, 5, 6, 6}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        node_b b;
        char name[64];
        const int *c = cases[i];
        snprintf(name, sizeof name, "adaptive_avgpool %dx%d -> %dx%d", c[0], c[1], c[2], c[3]);
        nb_init(&b, "ai.semseg", "AdaptiveAvgPool2d", 1, name);
        nb_input(&b, 4, D(1, 3, c[0], c[1]), -1, 1, 0);
        nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(1, 3, c[2], c[3]));
        nb_attr_ints(&b, "output_size", 2, D(c[2], c[3]));
        check(t, &b);
    }
}

/* ---- BatchNormalization ---- */

static void test_batchnorm(tctx *t)
{
    node_b b;
    for (int rank = 2; rank <= 4; rank += 2) {
        nb_init(&b, "", "BatchNormalization", 15, rank == 4 ? "batchnorm nchw" : "batchnorm nc");
        nb_input(&b, rank, rank == 4 ? D(2, 5, 4, 3) : D(4, 5), -2, 2, 0);
        nb_input(&b, 1, D(5), 0.5f, 1.5f, 1);
        nb_input(&b, 1, D(5), -1, 1, 1);
        nb_input(&b, 1, D(5), -1, 1, 1);
        nb_input(&b, 1, D(5), 0.2f, 2, 1);
        nb_output(&b, SEMSEG_DTYPE_FLOAT, rank, rank == 4 ? D(2, 5, 4, 3) : D(4, 5));
        nb_attr_float(&b, "epsilon", 1e-3f);
        check(t, &b);
    }
}

/* ---- element-wise ---- */

static void binary_node(node_b *b, const char *name, const char *op, int ra, const int64_t *da,
                        int rb, const int64_t *db, int b_const, int ry, const int64_t *dy)
{
    nb_init(b, "", op, 14, name);
    nb_input(b, ra, da, -2, 2, 0);
    if (!strcmp(op, "Div")) nb_input(b, rb, db, 0.5f, 2, b_const);
    else nb_input(b, rb, db, -2, 2, b_const);
    nb_output(b, SEMSEG_DTYPE_FLOAT, ry, dy);
}

static void unary_node(node_b *b, const char *name, const char *op, int opset, float lo, float hi)
{
    nb_init(b, "", op, opset, name);
    nb_input(b, 4, D(2, 3, 5, 7), lo, hi, 0);
    nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(2, 3, 5, 7));
}

static void test_eltwise(tctx *t)
{
    node_b b;
    binary_node(&b, "add same shape", "Add", 4, D(2, 3, 4, 5), 4, D(2, 3, 4, 5), 0, 4, D(2, 3, 4, 5));
    check(t, &b);
    binary_node(&b, "add same shape in place", "Add", 4, D(2, 3, 4, 5), 4, D(2, 3, 4, 5), 0, 4,
                D(2, 3, 4, 5));
    if (!t->filter || strstr(b.name, t->filter)) {
        t->run++;
        /* in place: compare with the ref computed from the same inputs */
        void *r = run_ref(t, &b), *o = r ? run_ocl(t, &b, 0, 1) : NULL;
        if (r && o) {
            double e = 0;
            for (int i = 0; i < 120; i++) e = fmax(e, fabs(((float *)r)[i] - ((float *)o)[i]));
            if (e > 1e-5) fail(t, &b, "in-place result differs");
            else printf("ok   %-44s max err %.3g\n", b.name, e);
        }
        free(r);
        free(o);
    }
    nb_free(&b);
    binary_node(&b, "add per-channel const [C,1,1]", "Add", 4, D(2, 3, 4, 5), 3, D(3, 1, 1), 1, 4,
                D(2, 3, 4, 5));
    check(t, &b);
    binary_node(&b, "mul scalar const", "Mul", 4, D(2, 3, 4, 5), 0, NULL, 1, 4, D(2, 3, 4, 5));
    check(t, &b);
    binary_node(&b, "sub both broadcast", "Sub", 4, D(2, 1, 4, 1), 4, D(1, 3, 1, 5), 0, 4,
                D(2, 3, 4, 5));
    check(t, &b);
    binary_node(&b, "div by [1]", "Div", 4, D(2, 3, 4, 5), 1, D(1), 0, 4, D(2, 3, 4, 5));
    check(t, &b);
    binary_node(&b, "div first broadcast", "Div", 2, D(1, 5), 3, D(3, 4, 5), 0, 3, D(3, 4, 5));
    check(t, &b);
    binary_node(&b, "mul rank5 broadcast", "Mul", 5, D(2, 3, 1, 4, 5), 3, D(3, 1, 5), 0, 5,
                D(2, 3, 3, 4, 5));
    check(t, &b);
    binary_node(&b, "add SE gate [N,C,1,1]", "Mul", 4, D(2, 6, 5, 5), 4, D(2, 6, 1, 1), 0, 4,
                D(2, 6, 5, 5));
    check(t, &b);
    /* bin_*_rb/_ra/_rr: rows of at least 8 that an input walks or
     * broadcasts, with and without a tail past the last 8. */
    binary_node(&b, "sub rows - [N,C,1,1] (rb, tail)", "Sub", 4, D(2, 6, 5, 7), 4, D(2, 6, 1, 1), 0, 4,
                D(2, 6, 5, 7));
    check(t, &b);
    binary_node(&b, "div [N,C,1,1] / rows (ra, tail)", "Div", 4, D(2, 6, 1, 1), 4, D(2, 6, 5, 7), 0, 4,
                D(2, 6, 5, 7));
    check(t, &b);
    binary_node(&b, "sub [C,1] - rows of 16 (ra)", "Sub", 2, D(3, 1), 3, D(2, 3, 16), 0, 3, D(2, 3, 16));
    check(t, &b);
    binary_node(&b, "add outer broadcast (rr)", "Add", 4, D(2, 6, 4, 5), 4, D(1, 6, 4, 5), 0, 4,
                D(2, 6, 4, 5));
    check(t, &b);
    binary_node(&b, "div rows of 9 / outer broadcast (rr)", "Div", 3, D(3, 4, 9), 3, D(1, 4, 9), 1, 3,
                D(3, 4, 9));
    check(t, &b);
    binary_node(&b, "mul rows of 8 * [3,4,1] (rb)", "Mul", 3, D(3, 4, 8), 3, D(3, 4, 1), 1, 3, D(3, 4, 8));
    check(t, &b);

    unary_node(&b, "relu", "Relu", 14, -2, 2);
    check(t, &b);
    unary_node(&b, "leakyrelu alpha0.1", "LeakyRelu", 16, -2, 2);
    nb_attr_float(&b, "alpha", 0.1f);
    check(t, &b);
    unary_node(&b, "leakyrelu default", "LeakyRelu", 16, -2, 2);
    check(t, &b);
    unary_node(&b, "sigmoid", "Sigmoid", 13, -8, 8);
    check(t, &b);
    unary_node(&b, "hardsigmoid", "HardSigmoid", 6, -5, 5);
    nb_attr_float(&b, "alpha", 0.3f);
    nb_attr_float(&b, "beta", 0.6f);
    check(t, &b);
    unary_node(&b, "hardswish", "HardSwish", 14, -5, 5);
    check(t, &b);
    unary_node(&b, "tanh", "Tanh", 13, -4, 4);
    check(t, &b);
    unary_node(&b, "clip opset6 attrs", "Clip", 6, -2, 2);
    nb_attr_float(&b, "min", -0.5f);
    nb_attr_float(&b, "max", 0.7f);
    check(t, &b);
    unary_node(&b, "clip opset13 inputs", "Clip", 13, -8, 8);
    nb_input_const(&b, SEMSEG_DTYPE_FLOAT, 0, NULL, (const float[]){0});
    nb_input_const(&b, SEMSEG_DTYPE_FLOAT, 0, NULL, (const float[]){6});
    check(t, &b);
    unary_node(&b, "clip opset13 max only", "Clip", 13, -8, 8);
    nb_input_absent(&b);
    nb_input_const(&b, SEMSEG_DTYPE_FLOAT, 0, NULL, (const float[]){1.5f});
    check(t, &b);
}

/* ---- Concat, Softmax, ArgMax ---- */

static void test_misc(tctx *t)
{
    node_b b;
    nb_init(&b, "", "Concat", 13, "concat axis1 x3");
    nb_input(&b, 4, D(2, 3, 4, 5), -1, 1, 0);
    nb_input(&b, 4, D(2, 1, 4, 5), -1, 1, 0);
    nb_input(&b, 4, D(2, 6, 4, 5), -1, 1, 0);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(2, 10, 4, 5));
    nb_attr_int(&b, "axis", 1);
    check(t, &b);
    nb_init(&b, "", "Concat", 13, "concat axis-1");
    nb_input(&b, 3, D(2, 3, 4), -1, 1, 0);
    nb_input(&b, 3, D(2, 3, 7), -1, 1, 1);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 3, D(2, 3, 11));
    nb_attr_int(&b, "axis", -1);
    check(t, &b);
    /* More rows than concat.c copies one by one: copy_slab. */
    nb_init(&b, "", "Concat", 13, "concat axis2 (20 rows: copy_slab)");
    nb_input(&b, 4, D(1, 20, 3, 4), -1, 1, 0);
    nb_input(&b, 4, D(1, 20, 2, 4), -1, 1, 0);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(1, 20, 5, 4));
    nb_attr_int(&b, "axis", 2);
    check(t, &b);
    nb_init(&b, "", "Concat", 13, "concat axis0");
    nb_input(&b, 2, D(2, 3), -1, 1, 0);
    nb_input(&b, 2, D(4, 3), -1, 1, 0);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 2, D(6, 3));
    nb_attr_int(&b, "axis", 0);
    check(t, &b);

    nb_init(&b, "", "Softmax", 13, "softmax opset13 axis1");
    nb_input(&b, 4, D(2, 21, 3, 4), -10, 10, 0);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(2, 21, 3, 4));
    nb_attr_int(&b, "axis", 1);
    check(t, &b);
    nb_init(&b, "", "Softmax", 11, "softmax opset11 axis1 (2-D coercion)");
    nb_input(&b, 4, D(2, 3, 2, 4), -5, 5, 0);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 4, D(2, 3, 2, 4));
    check(t, &b);
    nb_init(&b, "", "LogSoftmax", 13, "logsoftmax axis-1");
    nb_input(&b, 3, D(2, 3, 9), -5, 5, 0);
    nb_output(&b, SEMSEG_DTYPE_FLOAT, 3, D(2, 3, 9));
    check(t, &b);

    nb_init(&b, "", "ArgMax", 13, "argmax axis1 keepdims");
    nb_input(&b, 4, D(2, 21, 5, 6), -3, 3, 0);
    nb_output(&b, SEMSEG_DTYPE_INT64, 4, D(2, 1, 5, 6));
    nb_attr_int(&b, "axis", 1);
    check(t, &b);
    nb_init(&b, "", "ArgMax", 13, "argmax axis-1 nokeep last ties");
    int i = nb_input(&b, 3, D(2, 4, 9), -3, 3, 0);
    for (int k = 0; k < 72; k++) nb_fdata(&b, i)[k] = roundf(nb_fdata(&b, i)[k]);
    nb_output(&b, SEMSEG_DTYPE_INT64, 2, D(2, 4));
    nb_attr_int(&b, "axis", -1);
    nb_attr_int(&b, "keepdims", 0);
    nb_attr_int(&b, "select_last_index", 1);
    check(t, &b);
    nb_init(&b, "", "ArgMax", 13, "argmax axis1 first ties");
    i = nb_input(&b, 4, D(1, 5, 4, 4), -2, 2, 0);
    for (int k = 0; k < 80; k++) nb_fdata(&b, i)[k] = roundf(nb_fdata(&b, i)[k]);
    nb_output(&b, SEMSEG_DTYPE_INT64, 4, D(1, 1, 4, 4));
    nb_attr_int(&b, "axis", 1);
    check(t, &b);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s OPENCL.so REF.so [name filter]\n", argv[0]);
        return 2;
    }
    tctx t = {0};
    t.filter = argc > 3 ? argv[3] : NULL;
    char err[SEMSEG_ERRMSG_SIZE];
    if (plug_open(&t.ocl, argv[1], 2, err)) {
        fprintf(stderr, "opencl plugin: %s\n", err);
        return 1;
    }
    if (plug_open(&t.ref, argv[2], 1, err)) {
        fprintf(stderr, "ref plugin: %s\n", err);
        plug_close(&t.ocl);
        return 1;
    }
    char desc[1024] = "";
    if (t.ocl.p->describe) t.ocl.p->describe(t.ocl.ctx, desc, sizeof desc);
    printf("opencl: %s\n", desc);
    test_conv(&t);
    test_conv_transpose(&t);
    test_resize(&t);
    test_pool(&t);
    test_adaptive(&t);
    test_batchnorm(&t);
    test_eltwise(&t);
    test_misc(&t);
    plug_close(&t.ref);
    plug_close(&t.ocl);
    printf("%d cases, %d failed\n", t.run, t.failed);
    return t.failed ? 1 : 0;
}
