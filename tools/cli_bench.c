/*
 * `semseg-onnx bench MODEL`: latency of session_run on a fixed pseudo-random
 * input (warm-up runs first, then N timed runs: min / median / max), the
 * process's peak resident memory, and with --profile the time per op type and
 * the slowest nodes, averaged over the timed runs.
 *
 * The input is the same on every run and every machine (a fixed xorshift
 * seed), so two builds compare on equal terms. A benchmark, not a test: the
 * numbers are for people to read, nothing asserts on them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"

static const char bench_help[] =
    "usage: semseg-onnx bench MODEL [--input-size HxW] [-n N] [--warmup W] [--threads T]\n"
    "                         [--backend LIST] [--plugin FILE.so] [--profile] [--layout L]\n"
    "\n"
    "  --input-size HxW   H and W for a 4-D image input with symbolic dims (batch 1)\n"
    "  -n N               timed runs (default 10)\n"
    "  --warmup W         untimed runs first (default 2)\n"
    "  --profile          time per op type and the 15 slowest nodes\n"
    "\n"
    "Feeds a fixed pseudo-random input in [-1, 1) and prints min / median / max\n"
    "latency of one run and the peak resident memory of the process.\n";

static const cli_spec bench_specs[] = {
    {"--input-size", NULL, 1}, {"-n", NULL, 1}, {"--warmup", NULL, 1}, {"--profile", NULL, 0},
    {"--layout", NULL, 1},     CLI_COMMON_SPECS, {NULL, NULL, 0},
};

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Sets every input to pseudo-random data; image inputs get --input-size. */
static int feed_inputs(semseg_session *s, const char *model, const cli_args *a)
{
    semseg_error err = {0};
    const char *size = cli_get(a, "--input-size");
    long h = 0, w = 0;
    if (size && cli_parse_hw("--input-size", size, &h, &w) != 0) return CLI_ERROR;
    uint32_t seed = 0x2545F491u;
    for (int k = 0; k < semseg_session_input_count(s); k++) {
        semseg_tensor_desc d;
        if (semseg_session_input_desc(s, k, &d) != SEMSEG_STATUS_OK) return cli_error("%s: cannot describe input %d", model, k);
        int64_t dims[SEMSEG_MAX_RANK];
        char shown[128];
        memcpy(dims, d.dims, sizeof(dims));
        if (k == 0 && d.rank == 4 && h) {
            cli_image_input in;
            if (cli_image_input_get(s, model, cli_get(a, "--layout"), &in) != CLI_OK) return CLI_ERROR;
            if ((in.h > 0 && in.h != h) || (in.w > 0 && in.w != w))
                return cli_error("--input-size %ldx%ld: %s has a fixed input size %lldx%lld; drop --input-size", h, w,
                                 model, (long long)in.h, (long long)in.w);
            cli_image_input_dims(&in, h, w, dims);
        } else if (d.rank > 0 && dims[0] < 0) {
            dims[0] = 1; /* a symbolic batch is 1 */
        }
        cli_format_dims(shown, sizeof(shown), d.rank, dims);
        for (int i = 0; i < d.rank; i++)
            if (dims[i] < 0)
                return cli_error("%s: input '%s' has symbolic dims [%s]; pass --input-size HxW", model, d.name, shown);
        size_t n = (size_t)semseg_numel(d.rank, dims), es = semseg_dtype_size(d.dtype);
        if (d.dtype != SEMSEG_DTYPE_FLOAT && d.dtype != SEMSEG_DTYPE_UINT8)
            return cli_error("%s: input '%s' is %s; bench feeds float32 or uint8 inputs only", model, d.name,
                             cli_dtype_name(d.dtype));
        void *data = malloc(n * es > 0 ? n * es : 1);
        if (!data) return cli_error("out of memory for input '%s' [%s]", d.name, shown);
        for (size_t i = 0; i < n; i++) {
            uint32_t r = xorshift(&seed);
            if (d.dtype == SEMSEG_DTYPE_FLOAT) ((float *)data)[i] = (float)(r >> 8) / 8388608.0f - 1.0f;
            else ((uint8_t *)data)[i] = (uint8_t)(r >> 24);
        }
        semseg_status st = semseg_session_set_input(s, k, d.dtype, d.rank, dims, data, n * es, &err);
        free(data);
        if (st != SEMSEG_STATUS_OK) return cli_error("%s: %s", model, err.message);
        printf("input %s [%s]\n", d.name, shown);
    }
    return CLI_OK;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct node_time {
    int index;
    double ms;
} node_time;

static int by_ms_desc(const void *a, const void *b)
{
    double x = ((const node_time *)a)->ms, y = ((const node_time *)b)->ms;
    return (x < y) - (x > y);
}

static void print_profile(const semseg_session *s, const double *total_ms, int n_nodes, long runs)
{
    node_time *nodes = malloc(sizeof(*nodes) * (n_nodes ? n_nodes : 1));
    node_time *ops = malloc(sizeof(*ops) * (n_nodes ? n_nodes : 1));
    const char **op_names = malloc(sizeof(char *) * (n_nodes ? n_nodes : 1));
    if (!nodes || !ops || !op_names) {
        cli_warn("out of memory; profile skipped");
        goto done;
    }
    double sum = 0.0;
    int n_ops = 0;
    for (int i = 0; i < n_nodes; i++) {
        semseg_node_desc d;
        nodes[i].index = i;
        nodes[i].ms = total_ms[i] / runs;
        sum += nodes[i].ms;
        if (semseg_session_node_desc(s, i, &d) != SEMSEG_STATUS_OK) continue;
        int j = 0;
        while (j < n_ops && strcmp(op_names[j], d.op) != 0) j++;
        if (j == n_ops) {
            op_names[n_ops] = d.op;
            ops[n_ops].index = n_ops;
            ops[n_ops].ms = 0.0;
            n_ops++;
        }
        ops[j].ms += nodes[i].ms;
    }
    qsort(ops, (size_t)n_ops, sizeof(*ops), by_ms_desc);
    qsort(nodes, (size_t)n_nodes, sizeof(*nodes), by_ms_desc);
    printf("time per op type (mean of %ld runs, %.2f ms in nodes):\n", runs, sum);
    for (int i = 0; i < n_ops; i++)
        printf("  %-24s %9.3f ms  %5.1f%%\n", op_names[ops[i].index], ops[i].ms, sum > 0 ? 100.0 * ops[i].ms / sum : 0.0);
    printf("slowest nodes:\n");
    for (int i = 0; i < n_nodes && i < 15; i++) {
        semseg_node_desc d;
        if (semseg_session_node_desc(s, nodes[i].index, &d) != SEMSEG_STATUS_OK) continue;
        char dims[96];
        cli_format_dims(dims, sizeof(dims), d.out_rank, d.out_dims);
        printf("  %9.3f ms  %-16s %-18s %-10s %s\n", nodes[i].ms, d.op, dims, d.plugin, d.name);
    }
done:
    free(nodes);
    free(ops);
    free(op_names);
}

int cli_cmd_bench(int argc, char **argv)
{
    cli_args a;
    if (cli_parse("bench", argc, argv, bench_specs, &a) != CLI_OK) return CLI_ERROR;
    if (cli_has(&a, "--help")) {
        fputs(bench_help, stdout);
        cli_args_free(&a);
        return CLI_OK;
    }
    if (a.npos != 1) {
        cli_args_free(&a);
        return cli_error("bench: expected exactly one MODEL; see 'semseg-onnx bench --help'");
    }
    const char *model = a.pos[0], *v;
    long runs = 10, warmup = 2;
    int profile = cli_has(&a, "--profile"), rc = CLI_OK;
    semseg_options *opts = NULL;
    semseg_session *s = NULL;
    double *lat = NULL, *node_ms = NULL;
    if ((v = cli_get(&a, "-n")) && cli_parse_int("-n", v, 1, 100000, &runs) != 0) rc = CLI_ERROR;
    if (rc == CLI_OK && (v = cli_get(&a, "--warmup")) && cli_parse_int("--warmup", v, 0, 100000, &warmup) != 0)
        rc = CLI_ERROR;
    if (rc == CLI_OK) rc = cli_make_options(&a, profile, &opts);
    double t0 = cli_now_ms();
    if (rc == CLI_OK) rc = cli_load_model(model, opts, &s);
    if (rc == CLI_OK) {
        printf("model %s: loaded in %.1f ms\n", model, cli_now_ms() - t0);
        rc = feed_inputs(s, model, &a);
    }
    if (rc != CLI_OK) goto out;

    semseg_error err = {0};
    for (long i = 0; i < warmup; i++)
        if (semseg_session_run(s, &err) != SEMSEG_STATUS_OK) {
            rc = cli_error("%s: %s", model, err.message);
            goto out;
        }
    semseg_model_desc md;
    semseg_session_model_desc(s, &md);
    lat = malloc(sizeof(double) * runs);
    node_ms = calloc((size_t)md.node_count + 1, sizeof(double));
    if (!lat || !node_ms) {
        rc = cli_error("out of memory");
        goto out;
    }
    for (long i = 0; i < runs; i++) {
        double t = cli_now_ms();
        if (semseg_session_run(s, &err) != SEMSEG_STATUS_OK) {
            rc = cli_error("%s: %s", model, err.message);
            goto out;
        }
        lat[i] = cli_now_ms() - t;
        for (int k = 0; profile && k < md.node_count; k++) {
            semseg_node_desc d;
            if (semseg_session_node_desc(s, k, &d) == SEMSEG_STATUS_OK) node_ms[k] += d.last_ms;
        }
    }
    qsort(lat, (size_t)runs, sizeof(double), by_double);
    double median = runs % 2 ? lat[runs / 2] : 0.5 * (lat[runs / 2 - 1] + lat[runs / 2]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("runs %ld (+%ld warm-up), latency ms: min %.3f  median %.3f  max %.3f\n", runs, warmup, lat[0], median,
           lat[runs - 1]);
    printf("peak RSS %.1f MiB, planned activations %.2f MiB\n", ru.ru_maxrss / 1024.0,
           md.peak_activation_bytes / 1048576.0);
    if (profile) print_profile(s, node_ms, md.node_count, runs);
out:
    free(lat);
    free(node_ms);
    semseg_session_free(s);
    semseg_options_free(opts);
    cli_args_free(&a);
    return rc;
}
