/*
 * `semseg-onnx info MODEL` and `semseg-onnx plugins`: what the library made
 * of a model (header, inputs/outputs, op histogram, one row per node with its
 * output dims and the plugin it resolved to, parameters, peak activation
 * memory) and what it found on the plugin search path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char info_help[] =
    "usage: semseg-onnx info MODEL [--input-size HxW] [--layout NCHW|NHWC] [--backend LIST]\n"
    "                            [--threads N] [--plugin FILE.so]\n"
    "\n"
    "Prints the model's IR version, opsets and producer, its inputs and outputs with\n"
    "dims, metadata, an op histogram, a per-node table (name, op, output dims, plugin\n"
    "it resolved to, fused activations), the parameter count and the peak activation\n"
    "memory of the plan.\n"
    "\n"
    "  --input-size HxW   fix H and W of a 4-D image input whose dims are symbolic\n"
    "                     (batch 1), so that shapes, plugins and memory are known\n"
    "  --layout L         where H and W are for --input-size (default: as run infers)\n";

static const char plugins_help[] =
    "usage: semseg-onnx plugins [--plugin FILE.so] [--backend LIST]\n"
    "\n"
    "Lists every plugin on the search path: the build tree's plugin folder,\n"
    "<libdir>/semseg-onnx/plugins, each folder of $SEMSEG_PLUGIN_PATH (':'-separated)\n"
    "and each --plugin file; with name, version, file, ABI version, and whether it\n"
    "loaded (with its device description) or was refused (and why).\n";

static const cli_spec info_specs[] = {
    {"--input-size", NULL, 1}, {"--layout", NULL, 1}, CLI_COMMON_SPECS, {NULL, NULL, 0},
};

static void print_value(const semseg_tensor_desc *d)
{
    char dims[160];
    cli_format_dims(dims, sizeof(dims), d->rank, d->dims);
    printf("  %-24s %-8s [%s]", d->name, cli_dtype_name(d->dtype), dims);
    int symbolic = 0;
    for (int i = 0; i < d->rank; i++)
        if (d->dim_names[i] && d->dim_names[i][0]) symbolic = 1;
    if (symbolic) {
        printf("  (");
        for (int i = 0; i < d->rank; i++)
            printf("%s%s", i ? ", " : "", d->dim_names[i] && d->dim_names[i][0] ? d->dim_names[i] : "-");
        printf(")");
    }
    printf("\n");
}

typedef struct count_row {
    const char *key;
    int n;
} count_row;

/* Adds one to key's row; rows is big enough for every node. */
static void count_add(count_row *rows, int *n, const char *key)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(rows[i].key, key) == 0) {
            rows[i].n++;
            return;
        }
    rows[*n].key = key;
    rows[*n].n = 1;
    (*n)++;
}

static int by_count_desc(const void *a, const void *b)
{
    const count_row *x = a, *y = b;
    if (x->n != y->n) return y->n - x->n;
    return strcmp(x->key, y->key);
}

static int fix_input_size(semseg_session *s, const char *model, const cli_args *a)
{
    const char *v = cli_get(a, "--input-size");
    if (!v) return CLI_OK;
    long h, w;
    if (cli_parse_hw("--input-size", v, &h, &w) != 0) return CLI_ERROR;
    cli_image_input in;
    if (cli_image_input_get(s, model, cli_get(a, "--layout"), &in) != CLI_OK) return CLI_ERROR;
    if ((in.h > 0 && in.h != h) || (in.w > 0 && in.w != w))
        return cli_error("--input-size %ldx%ld: %s has a fixed input size %lldx%lld; drop --input-size", h, w,
                         model, (long long)in.h, (long long)in.w);
    int64_t dims[4];
    cli_image_input_dims(&in, h, w, dims);
    semseg_error err = {0};
    if (semseg_session_set_input_dims(s, 0, 4, dims, &err) != SEMSEG_STATUS_OK)
        return cli_error("%s: %s", model, err.message);
    return CLI_OK;
}

/* Returns 0 when the graph is not prepared yet (symbolic input dims). */
static int print_nodes(const semseg_session *s, int count)
{
    semseg_node_desc probe;
    if (count > 0 && semseg_session_node_desc(s, 0, &probe) != SEMSEG_STATUS_OK) {
        printf("nodes: %d (not prepared: per-node dims and plugins need the input size)\n", count);
        return 0;
    }
    count_row *ops = calloc((size_t)count + 1, sizeof(*ops));
    count_row *plugins = calloc((size_t)count + 1, sizeof(*plugins));
    char (*opname)[96] = calloc((size_t)count + 1, sizeof(*opname));
    if (!ops || !plugins || !opname) {
        cli_warn("out of memory; node table skipped");
        goto done;
    }
    int n_ops = 0, n_plugins = 0;
    printf("nodes: %d\n", count);
    printf("  %-4s %-22s %-20s %-10s %s\n", "#", "op", "output", "plugin", "name");
    for (int i = 0; i < count; i++) {
        semseg_node_desc d;
        if (semseg_session_node_desc(s, i, &d) != SEMSEG_STATUS_OK) continue;
        char dims[96];
        cli_format_dims(dims, sizeof(dims), d.out_rank, d.out_dims);
        if (d.domain && d.domain[0]) snprintf(opname[i], sizeof(opname[i]), "%s::%s", d.domain, d.op);
        else snprintf(opname[i], sizeof(opname[i]), "%s", d.op);
        char shown[128];
        if (d.fused && d.fused[0]) snprintf(shown, sizeof(shown), "%s+%s", opname[i], d.fused);
        else snprintf(shown, sizeof(shown), "%s", opname[i]);
        printf("  %-4d %-22s %-20s %-10s %s\n", i, shown, dims, d.plugin ? d.plugin : "?",
               d.name && d.name[0] ? d.name : "(unnamed)");
        count_add(ops, &n_ops, opname[i]);
        count_add(plugins, &n_plugins, d.plugin ? d.plugin : "?");
    }
    qsort(ops, (size_t)n_ops, sizeof(*ops), by_count_desc);
    qsort(plugins, (size_t)n_plugins, sizeof(*plugins), by_count_desc);
    printf("op histogram:\n");
    for (int i = 0; i < n_ops; i++) printf("  %-28s %d\n", ops[i].key, ops[i].n);
    printf("nodes per plugin:\n");
    for (int i = 0; i < n_plugins; i++) printf("  %-28s %d\n", plugins[i].key, plugins[i].n);
done:
    free(ops);
    free(plugins);
    free(opname);
    return 1;
}

int cli_cmd_info(int argc, char **argv)
{
    cli_args a;
    if (cli_parse("info", argc, argv, info_specs, &a) != CLI_OK) return CLI_ERROR;
    if (cli_has(&a, "--help")) {
        fputs(info_help, stdout);
        cli_args_free(&a);
        return CLI_OK;
    }
    if (a.npos != 1) {
        cli_args_free(&a);
        return cli_error("info: expected exactly one MODEL; see 'semseg-onnx info --help'");
    }
    const char *model = a.pos[0];
    semseg_options *opts = NULL;
    semseg_session *s = NULL;
    int rc = cli_make_options(&a, 0, &opts);
    if (rc == CLI_OK) rc = cli_load_model(model, opts, &s);
    if (rc == CLI_OK) rc = fix_input_size(s, model, &a);
    if (rc != CLI_OK) goto out;

    semseg_model_desc md;
    memset(&md, 0, sizeof(md));
    semseg_session_model_desc(s, &md);
    printf("model: %s\n", model);
    printf("  ir_version %lld, opset %lld", (long long)md.ir_version, (long long)md.opset);
    if (md.semseg_opset >= 0) printf(", ai.semseg opset %lld", (long long)md.semseg_opset);
    printf(", producer %s %s\n", md.producer_name && md.producer_name[0] ? md.producer_name : "(none)",
           md.producer_version ? md.producer_version : "");
    printf("  parameters: %lld\n", (long long)md.parameter_count);

    int unknown = 0;
    printf("inputs:\n");
    for (int i = 0; i < semseg_session_input_count(s); i++) {
        semseg_tensor_desc d;
        if (semseg_session_input_desc(s, i, &d) != SEMSEG_STATUS_OK) continue;
        print_value(&d);
        for (int k = 0; k < d.rank; k++)
            if (d.dims[k] < 0) unknown = 1;
        if (d.rank < 0) unknown = 1;
    }
    printf("outputs:\n");
    for (int i = 0; i < semseg_session_output_count(s); i++) {
        semseg_tensor_desc d;
        if (semseg_session_output_desc(s, i, &d) == SEMSEG_STATUS_OK) print_value(&d);
    }
    if (md.metadata_count > 0) {
        printf("metadata:\n");
        for (int i = 0; i < md.metadata_count; i++) {
            const char *k, *v;
            semseg_session_metadata(s, i, &k, &v);
            if (k) printf("  %s = %s\n", k, v ? v : "");
        }
    }
    if (unknown)
        printf("note: some input dims are symbolic; pass --input-size HxW for output dims, plugins and memory\n");
    if (print_nodes(s, md.node_count))
        printf("peak activation memory: %.2f MiB (%zu bytes)\n", md.peak_activation_bytes / 1048576.0,
               md.peak_activation_bytes);
    else
        printf("peak activation memory: unknown until the input size is fixed (--input-size HxW)\n");
out:
    semseg_session_free(s);
    semseg_options_free(opts);
    cli_args_free(&a);
    return rc;
}

static void print_plugin(const semseg_plugin_desc *d, void *user)
{
    int *n = user;
    (*n)++;
    printf("%-10s %-8s ABI %u.%u  %-9s %s\n", d->name && d->name[0] ? d->name : "?",
           d->version && d->version[0] ? d->version : "-", d->abi_major, d->abi_minor,
           d->usable ? "loaded" : "refused", d->file ? d->file : "");
    if (d->description && d->description[0]) printf("           %s\n", d->description);
    if (d->reason && d->reason[0]) printf("           %s: %s\n", d->usable ? "device" : "reason", d->reason);
}

int cli_cmd_plugins(int argc, char **argv)
{
    cli_args a;
    if (cli_parse("plugins", argc, argv, info_specs, &a) != CLI_OK) return CLI_ERROR;
    if (cli_has(&a, "--help")) {
        fputs(plugins_help, stdout);
        cli_args_free(&a);
        return CLI_OK;
    }
    if (a.npos != 0) {
        cli_args_free(&a);
        return cli_error("plugins: takes no arguments; see 'semseg-onnx plugins --help'");
    }
    semseg_options *opts = NULL;
    int rc = cli_make_options(&a, 0, &opts), n = 0;
    if (rc == CLI_OK) {
        semseg_error err = {0};
        if (semseg_plugins_list(opts, print_plugin, &n, &err) != SEMSEG_STATUS_OK) rc = cli_error("%s", err.message);
        else if (n == 0)
            rc = cli_error("no plugins found; install them in <libdir>/semseg-onnx/plugins or set SEMSEG_PLUGIN_PATH");
    }
    semseg_options_free(opts);
    cli_args_free(&a);
    return rc;
}
