/*
 * Per-operator latency of the opencl plugin beside another plugin (blas or
 * ref) on the same shapes, in the same process: the convolutions that
 * dominate the seed networks and torchvision's models, plus the upsampling
 * ops. A benchmark, not a test (not registered with CTest): medians of
 * several runs after a warm-up, device time including the queue drain, the
 * two plugins' runs alternating.
 *
 *     opencl_opbench OPENCL.so OTHER.so [runs] [threads] [filter] [batch]
 *
 * With a filter, only the cases whose name contains it run ("" for all);
 * with a batch of B, each timed run is B launches queued back to back.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "bench_util.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})

/* A node's kernel on one plugin, with its tensors in that plugin's memory. */
typedef struct bench_k {
    plug *p;
    semseg_kernel *k;
    void *buf;
    int dev, n_in;
    size_t scratch;
    int64_t sd;
    semseg_tensor in[NB_MAX_IN], out, st;
} bench_k;

/* 0 if the plugin refuses the node or fails to create it. */
static int bench_setup(bench_k *bk, plug *p, node_b *b)
{
    char err[SEMSEG_ERRMSG_SIZE] = "";
    const semseg_plugin_i *pi = p->p;
    memset(bk, 0, sizeof *bk);
    bk->p = p;
    if (pi->supports(p->ctx, &b->n) == SEMSEG_SUPPORT_NO) return 0;
    if (pi->kernel_create(p->ctx, &b->n, &bk->k, &bk->scratch, err)) {
        fprintf(stderr, "%s: %s\n", b->name, err);
        return 0;
    }
    int dev = bk->dev = pi->mem_alloc != NULL;
    bk->n_in = b->n.n_inputs;
    size_t in_bytes[NB_MAX_IN], total = 0, out_b = (size_t)semseg_numel(b->out[0].rank, b->out[0].dims) * 4;
    for (int i = 0; i < b->n.n_inputs; i++) {
        in_bytes[i] = (size_t)semseg_numel(b->in[i].rank, b->in[i].dims) * 4;
        total += (in_bytes[i] + 255) / 256 * 256;
    }
    total += out_b + bk->scratch + 512;
    void *buf = bk->buf = dev ? pi->mem_alloc(p->ctx, total) : calloc(1, total);
    size_t pos = 0;
    for (int i = 0; i < b->n.n_inputs; i++) {
        const semseg_value_info *v = &b->in[i];
        if (v->dtype == SEMSEG_DTYPE_UNDEFINED) {
            bk->in[i] = (semseg_tensor){NULL, 0, v->dtype, 0, NULL, 1};
        } else if (v->data) {
            bk->in[i] = (semseg_tensor){b->data[i], 0, v->dtype, v->rank, v->dims, 1};
        } else {
            bk->in[i] = (semseg_tensor){buf, pos, v->dtype, v->rank, v->dims, !dev};
            if (dev) pi->mem_write(p->ctx, buf, pos, b->data[i], in_bytes[i], err);
            else memcpy((char *)buf + pos, b->data[i], in_bytes[i]);
        }
        pos += (in_bytes[i] + 255) / 256 * 256;
    }
    bk->sd = (int64_t)bk->scratch;
    bk->out = (semseg_tensor){buf, pos, SEMSEG_DTYPE_FLOAT, b->out[0].rank, b->out[0].dims, !dev};
    pos += (out_b + 255) / 256 * 256;
    bk->st = (semseg_tensor){buf, pos, SEMSEG_DTYPE_UINT8, 1, &bk->sd, !dev};
    return 1;
}

/* Mean time of `batch` runs queued back to back and then waited for: 1
 * includes a queue drain per run (what a profiled model run sees), more
 * measures what the kernel costs inside a model run. */
static double bench_run(bench_k *bk, int batch)
{
    char err[SEMSEG_ERRMSG_SIZE] = "";
    const semseg_plugin_i *pi = bk->p->p;
    double t0 = now_ms();
    for (int i = 0; i < batch; i++)
        pi->kernel_run(bk->k, bk->in, bk->n_in, &bk->out, 1, bk->scratch ? &bk->st : NULL, err);
    if (pi->synchronize) pi->synchronize(bk->p->ctx, err);
    return (now_ms() - t0) / batch;
}

static void bench_free(bench_k *bk)
{
    const semseg_plugin_i *pi = bk->p->p;
    if (!bk->k) return;
    pi->kernel_destroy(bk->k);
    if (bk->dev) pi->mem_free(bk->p->ctx, bk->buf);
    else free(bk->buf);
}

/* Medians (ms) of `runs` runs of the node on plugins a and o, alternating
 * a and o run by run so that both see the same load on a shared machine;
 * -1 for a plugin that refuses the node. */
static int batch_runs = 1; /* argv[6] */

static void time_pair(plug *a, plug *o, node_b *b, int runs, double *ta, double *to)
{
    bench_k ka, ko;
    int ha = bench_setup(&ka, a, b), ho = bench_setup(&ko, o, b);
    double t[2][64];
    if (runs > 64) runs = 64;
    for (int r = -2; r < runs; r++) {
        double x = ha ? bench_run(&ka, batch_runs) : -1, y = ho ? bench_run(&ko, batch_runs) : -1;
        if (r >= 0) {
            t[0][r] = x;
            t[1][r] = y;
        }
    }
    qsort(t[0], (size_t)runs, sizeof t[0][0], cmp_double);
    qsort(t[1], (size_t)runs, sizeof t[1][0], cmp_double);
    *ta = t[0][runs / 2];
    *to = t[1][runs / 2];
    if (ha) bench_free(&ka);
    if (ho) bench_free(&ko);
}

static void conv(node_b *b, const char *name, int c, int h, int w, int oc, int k, int s, int d, int g)
{
    int pad = d * (k - 1) / 2, oh = (h + 2 * pad - d * (k - 1) - 1) / s + 1,
        ow = (w + 2 * pad - d * (k - 1) - 1) / s + 1;
    nb_init(b, "", "Conv", 13, name);
    nb_input(b, 4, D(1, c, h, w), -1, 1, 0);
    nb_input(b, 4, D(oc, c / g, k, k), -0.1f, 0.1f, 1);
    nb_input(b, 1, D(oc), -0.1f, 0.1f, 1);
    nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, oc, oh, ow));
    nb_attr_ints(b, "kernel_shape", 2, D(k, k));
    nb_attr_ints(b, "strides", 2, D(s, s));
    nb_attr_ints(b, "dilations", 2, D(d, d));
    nb_attr_ints(b, "pads", 4, D(pad, pad, pad, pad));
    nb_attr_int(b, "group", g);
    nb_epilogue(b, SEMSEG_ACT_RELU, 0, 0, -1);
}

/* Times b on both plugins, prints a row and frees b. */
static void report(plug *a, plug *o, node_b *b, int runs)
{
    double x, y;
    time_pair(a, o, b, runs, &x, &y);
    printf("%-30s %10.3f %10.3f %7.2f\n", b->name, x, y, y > 0 ? x / y : NAN);
    nb_free(b);
}

static void resize_case(node_b *b, const char *name, int c, int h, int w, float s, const char *cm)
{
    nb_init(b, "", "Resize", 13, name);
    nb_input(b, 4, D(1, c, h, w), -1, 1, 0);
    nb_input_absent(b);
    nb_input_const(b, SEMSEG_DTYPE_FLOAT, 1, D(4), (const float[]){1, 1, s, s});
    nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, c, (int64_t)(h * s), (int64_t)(w * s)));
    nb_attr_string(b, "mode", "linear");
    if (cm) nb_attr_string(b, "coordinate_transformation_mode", cm);
}

/* The non-Conv cases: case i into b, 0 past the last. */
static int other_case(node_b *b, int i)
{
    switch (i) {
    case 0:
        resize_case(b, "resize x4 21ch 64->256", 21, 64, 64, 4, NULL);
        return 1;
    case 1:
        resize_case(b, "resize x2 128ch 16->32", 128, 16, 16, 2, NULL);
        return 1;
    case 2:
        resize_case(b, "resize x8 21ch 32->256 align", 21, 32, 32, 8, "align_corners");
        return 1;
    case 3:
        nb_init(b, "", "Mul", 14, "mul 960x16x16 * 960x1x1");
        nb_input(b, 4, D(1, 960, 16, 16), -1, 1, 0);
        nb_input(b, 4, D(1, 960, 1, 1), -1, 1, 0);
        nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, 960, 16, 16));
        return 1;
    case 4:
        nb_init(b, "", "Mul", 14, "mul 72x32x32 * 72x1x1");
        nb_input(b, 4, D(1, 72, 32, 32), -1, 1, 0);
        nb_input(b, 4, D(1, 72, 1, 1), -1, 1, 0);
        nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, 72, 32, 32));
        return 1;
    case 5:
        nb_init(b, "", "HardSigmoid", 6, "hardsigmoid 960x16x16");
        nb_input(b, 4, D(1, 960, 16, 16), -1, 1, 0);
        nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, 960, 16, 16));
        return 1;
    case 6:
        nb_init(b, "", "GlobalAveragePool", 1, "gap 960x16x16");
        nb_input(b, 4, D(1, 960, 16, 16), -1, 1, 0);
        nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, 960, 1, 1));
        return 1;
    case 7:
        nb_init(b, "", "GlobalAveragePool", 1, "gap 72x32x32");
        nb_input(b, 4, D(1, 72, 32, 32), -1, 1, 0);
        nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, 72, 1, 1));
        return 1;
    case 8:
        nb_init(b, "", "MaxPool", 12, "maxpool 2x2 s2 16x256x256 ceil");
        nb_input(b, 4, D(1, 16, 256, 256), -1, 1, 0);
        nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, 16, 128, 128));
        nb_attr_ints(b, "kernel_shape", 2, D(2, 2));
        nb_attr_ints(b, "strides", 2, D(2, 2));
        nb_attr_int(b, "ceil_mode", 1);
        return 1;
    case 9:
        nb_init(b, "", "MaxPool", 12, "maxpool 3x3 s2 p1 64x128x128");
        nb_input(b, 4, D(1, 64, 128, 128), -1, 1, 0);
        nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, 64, 64, 64));
        nb_attr_ints(b, "kernel_shape", 2, D(3, 3));
        nb_attr_ints(b, "strides", 2, D(2, 2));
        nb_attr_ints(b, "pads", 4, D(1, 1, 1, 1));
        return 1;
    case 10: /* FCN-8s' fixed x8 upsampler: per class, kernel 16, stride 8 */
        nb_init(b, "", "ConvTranspose", 11, "convT dw x8 11x33x33 k16");
        nb_input(b, 4, D(1, 11, 33, 33), -1, 1, 0);
        nb_input(b, 4, D(11, 1, 16, 16), -0.1f, 0.1f, 1);
        nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, 11, 264, 264));
        nb_attr_ints(b, "kernel_shape", 2, D(16, 16));
        nb_attr_ints(b, "strides", 2, D(8, 8));
        nb_attr_ints(b, "pads", 4, D(4, 4, 4, 4));
        nb_attr_int(b, "group", 11);
        return 1;
    case 11: /* FCN's learned x2 upsamplers: all classes to all classes */
        nb_init(b, "", "ConvTranspose", 11, "convT x2 11->11 16x16 k4");
        nb_input(b, 4, D(1, 11, 16, 16), -1, 1, 0);
        nb_input(b, 4, D(11, 11, 4, 4), -0.1f, 0.1f, 1);
        nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, 11, 32, 32));
        nb_attr_ints(b, "kernel_shape", 2, D(4, 4));
        nb_attr_ints(b, "strides", 2, D(2, 2));
        nb_attr_ints(b, "pads", 4, D(1, 1, 1, 1));
        return 1;
    case 14: /* the seed network's learned x4 upsampler */
        nb_init(b, "", "ConvTranspose", 11, "convT x4 5->5 64x64 k8");
        nb_input(b, 4, D(1, 5, 64, 64), -1, 1, 0);
        nb_input(b, 4, D(5, 5, 8, 8), -0.1f, 0.1f, 1);
        nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, 5, 256, 256));
        nb_attr_ints(b, "kernel_shape", 2, D(8, 8));
        nb_attr_ints(b, "strides", 2, D(4, 4));
        nb_attr_ints(b, "pads", 4, D(2, 2, 2, 2));
        return 1;
    case 12: /* DeepLabV3's ASPP: five branches joined */
        nb_init(b, "", "Concat", 13, "concat 5x256x16x16 axis 1");
        for (int k = 0; k < 5; k++) nb_input(b, 4, D(1, 256, 16, 16), -1, 1, 0);
        nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(1, 1280, 16, 16));
        nb_attr_int(b, "axis", 1);
        return 1;
    case 13:
        nb_init(b, "", "Concat", 13, "concat 2x(2x64x32x32) axis 1");
        for (int k = 0; k < 2; k++) nb_input(b, 4, D(2, 64, 32, 32), -1, 1, 0);
        nb_output(b, SEMSEG_DTYPE_FLOAT, 4, D(2, 128, 32, 32));
        nb_attr_int(b, "axis", 1);
        return 1;
    case 15: /* launch cost: a kernel with next to nothing to do */
        nb_init(b, "", "Relu", 14, "relu 64 (launch cost)");
        nb_input(b, 1, D(64), -1, 1, 0);
        nb_output(b, SEMSEG_DTYPE_FLOAT, 1, D(64));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s OPENCL.so OTHER.so [runs] [threads] [filter] [batch]\n", argv[0]);
        return 2;
    }
    int runs = argc > 3 ? atoi(argv[3]) : 7, threads = argc > 4 ? atoi(argv[4]) : 2;
    const char *filter = argc > 5 && argv[5][0] ? argv[5] : NULL;
    if (argc > 6) batch_runs = atoi(argv[6]) > 0 ? atoi(argv[6]) : 1;
    plug a, o;
    char err[SEMSEG_ERRMSG_SIZE];
    if (plug_open(&a, argv[1], threads, err) || plug_open(&o, argv[2], threads, err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    static const struct {
        const char *name;
        int c, h, w, oc, k, s, d, g;
    } cs[] = {
        {"3x3 64->64 @128x128", 64, 128, 128, 64, 3, 1, 1, 1},
        {"3x3 128->128 @64x64", 128, 64, 64, 128, 3, 1, 1, 1},
        {"3x3 256->256 @32x32 dil2", 256, 32, 32, 256, 3, 1, 2, 1},
        {"3x3 512->256 @32x32 dil12", 512, 32, 32, 256, 3, 1, 12, 1},
        {"1x1 256->64 @64x64", 256, 64, 64, 64, 1, 1, 1, 1},
        {"1x1 64->256 @64x64", 64, 64, 64, 256, 1, 1, 1, 1},
        {"1x1 960->128 @32x32", 960, 32, 32, 128, 1, 1, 1, 1},
        {"1x1 512->2048 @32x32", 512, 32, 32, 2048, 1, 1, 1, 1},
        {"3x3 2048->512 @32x32", 2048, 32, 32, 512, 3, 1, 1, 1},
        {"3x3 512->512 @33x33 dil4", 512, 33, 33, 512, 3, 1, 4, 1},
        {"1x1 1024->256 @33x33", 1024, 33, 33, 256, 1, 1, 1, 1},
        {"1x1 2048->512 @32x32", 2048, 32, 32, 512, 1, 1, 1, 1},
        {"3x3 s2 128->128 @64x64", 128, 64, 64, 128, 3, 2, 1, 1},
        {"1x1 40->120 @64x64", 40, 64, 64, 120, 1, 1, 1, 1},
        {"1x1 120->40 @64x64", 120, 64, 64, 40, 1, 1, 1, 1},
        {"1x1 960->240 @1x1 (SE)", 960, 1, 1, 240, 1, 1, 1, 1},
        {"1x1 16->64 @128x128", 16, 128, 128, 64, 1, 1, 1, 1},
        {"1x1 72->24 @64x64", 72, 64, 64, 24, 1, 1, 1, 1},
        {"1x1 240->80 @16x16", 240, 16, 16, 80, 1, 1, 1, 1},
        {"1x1 160->960 @16x16", 160, 16, 16, 960, 1, 1, 1, 1},
        {"1x1 960->160 @16x16", 960, 16, 16, 160, 1, 1, 1, 1},
        {"1x1 112->672 @16x16", 112, 16, 16, 672, 1, 1, 1, 1},
        {"7x7 s2 3->64 @256x256", 3, 256, 256, 64, 7, 2, 1, 1},
        {"3x3 3->16 @256x256 (stem)", 3, 256, 256, 16, 3, 1, 1, 1},
        {"3x3 s2 3->16 @256x256 (stem)", 3, 256, 256, 16, 3, 2, 1, 1},
        {"dw 3x3 240 @32x32", 240, 32, 32, 240, 3, 1, 1, 240},
        {"dw 5x5 s2 72 @64x64", 72, 64, 64, 72, 5, 2, 1, 72},
        {"dw 5x5 dil2 960 @16x16", 960, 16, 16, 960, 5, 1, 2, 960},
        {"dw 3x3 16 @128x128", 16, 128, 128, 16, 3, 1, 1, 16},
        {"dw 3x3 s2 64 @128x128", 64, 128, 128, 64, 3, 2, 1, 64},
        {"dw 3x3 72 @64x64", 72, 64, 64, 72, 3, 1, 1, 72},
        {"dw 5x5 120 @32x32", 120, 32, 32, 120, 5, 1, 1, 120},
    };
    printf("%-30s %10s %10s %7s\n", "case", "opencl ms", "other ms", "ratio");
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        if (filter && !strstr(cs[i].name, filter)) continue;
        node_b b;
        conv(&b, cs[i].name, cs[i].c, cs[i].h, cs[i].w, cs[i].oc, cs[i].k, cs[i].s, cs[i].d, cs[i].g);
        report(&a, &o, &b, runs);
    }
    node_b b;
    for (int i = 0; other_case(&b, i); i++) {
        if (filter && !strstr(b.name, filter)) {
            nb_free(&b);
            continue;
        }
        report(&a, &o, &b, runs);
    }
    plug_close(&o);
    plug_close(&a);
    return 0;
}
