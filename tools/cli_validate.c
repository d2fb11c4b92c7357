/*
 * `semseg-onnx validate MODEL DIR...`: runs the model on reference inputs and
 * compares with reference outputs, in ONNX's test-data layout (DIR holds
 * input_<k>.pb fed to graph input k and output_<k>.pb expected from graph
 * output k; a DIR without input_0.pb but with test_data_set_N folders is
 * searched one level down, as a model folder from ONNX's zoo).
 *
 * An element passes when |got - want| <= atol + rtol * |want| (NumPy's
 * allclose rule; defaults atol 1e-4, rtol 1e-3). Per output it prints the max
 * absolute and relative error and the count outside tolerance; for 4-D float
 * outputs also how often the argmax over the class axis agrees, which is what
 * a segmentation user sees. Exit 0 when every element passes, 1 otherwise,
 * 2 on an error.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char validate_help[] =
    "usage: semseg-onnx validate MODEL DIR... [--atol A] [--rtol R] [--save-tensors OUT]\n"
    "                            [--layout NCHW|NHWC] [--backend LIST] [--threads N]\n"
    "\n"
    "DIR is in ONNX test-data layout: input_<k>.pb (or .npy) fed to graph input k,\n"
    "output_<k>.pb expected from graph output k. A DIR holding test_data_set_*/\n"
    "folders is expanded to them.\n"
    "\n"
    "  --atol A, --rtol R   an element passes when |got - want| <= A + R * |want|\n"
    "                       (defaults 1e-4 and 1e-3)\n"
    "  --save-tensors OUT   write what the model produced: OUT/output_<k>.pb, or\n"
    "                       OUT/test_data_set_<i>/output_<k>.pb for several sets\n"
    "  --layout L           class axis for the argmax agreement of 4-D outputs\n"
    "                       (default: axis 1, or 3 when the model's image input is NHWC)\n"
    "\n"
    "Prints per output the max abs/rel error and the elements outside tolerance.\n"
    "Exit codes: 0 all within tolerance, 1 some outside, 2 error.\n";

static const cli_spec validate_specs[] = {
    {"--atol", NULL, 1}, {"--rtol", NULL, 1}, {"--save-tensors", NULL, 1}, {"--layout", NULL, 1},
    CLI_COMMON_SPECS,    {NULL, NULL, 0},
};

typedef struct val_cfg {
    const char *model;
    double atol, rtol;
    const char *save_dir;
    int class_axis_last;
} val_cfg;

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The tensor file for input/output k in dir: .pb, else .npy; 0 if neither. */
static int find_tensor(const char *dir, const char *kind, int k, char *path, size_t size)
{
    snprintf(path, size, "%s/%s_%d.pb", dir, kind, k);
    if (file_exists(path)) return 1;
    snprintf(path, size, "%s/%s_%d.npy", dir, kind, k);
    return file_exists(path);
}

static double as_double(const void *data, int32_t dtype, size_t i)
{
    switch (dtype) {
    case SEMSEG_DTYPE_FLOAT: return ((const float *)data)[i];
    case SEMSEG_DTYPE_DOUBLE: return ((const double *)data)[i];
    case SEMSEG_DTYPE_INT64: return (double)((const int64_t *)data)[i];
    case SEMSEG_DTYPE_INT32: return ((const int32_t *)data)[i];
    case SEMSEG_DTYPE_UINT8: case SEMSEG_DTYPE_BOOL: return ((const uint8_t *)data)[i];
    case SEMSEG_DTYPE_INT8: return ((const int8_t *)data)[i];
    case SEMSEG_DTYPE_INT16: return ((const int16_t *)data)[i];
    case SEMSEG_DTYPE_UINT16: return ((const uint16_t *)data)[i];
    case SEMSEG_DTYPE_UINT32: return ((const uint32_t *)data)[i];
    case SEMSEG_DTYPE_UINT64: return (double)((const uint64_t *)data)[i];
    default: return NAN;
    }
}

/* Share of positions (all axes but the class axis) whose argmax agrees. */
static double argmax_agreement(const semseg_tensor_desc *d, const void *got, const semseg_tensor_file *want,
                               int axis_last)
{
    int64_t n = d->dims[0], c = axis_last ? d->dims[3] : d->dims[1];
    int64_t hw = axis_last ? d->dims[1] * d->dims[2] : d->dims[2] * d->dims[3];
    int64_t cs = axis_last ? 1 : hw, ps = axis_last ? c : 1, same = 0;
    for (int64_t b = 0; b < n; b++)
        for (int64_t p = 0; p < hw; p++) {
            size_t base = (size_t)(b * c * hw + p * ps);
            int64_t bg = 0, bw = 0;
            double vg = as_double(got, d->dtype, base), vw = as_double(want->data, want->dtype, base);
            for (int64_t k = 1; k < c; k++) {
                double g = as_double(got, d->dtype, base + k * cs), w = as_double(want->data, want->dtype, base + k * cs);
                if (g > vg) { vg = g; bg = k; }
                if (w > vw) { vw = w; bw = k; }
            }
            same += bg == bw;
        }
    return n * hw > 0 ? 100.0 * same / (double)(n * hw) : 100.0;
}

/* Compares output k with want; prints one line; returns 1 when outside tolerance. */
static int compare_output(const val_cfg *cfg, int k, const semseg_tensor_desc *d, const void *got,
                          const semseg_tensor_file *want, const char *want_path)
{
    char gd[128], wd[128];
    cli_format_dims(gd, sizeof(gd), d->rank, d->dims);
    cli_format_dims(wd, sizeof(wd), want->rank, want->dims);
    int same_dims = d->rank == want->rank;
    for (int i = 0; same_dims && i < d->rank; i++) same_dims = d->dims[i] == want->dims[i];
    if (!same_dims) {
        printf("  output %d '%s': dims [%s] but %s has [%s]  FAIL\n", k, d->name, gd, want_path, wd);
        return 1;
    }
    if (semseg_dtype_size(d->dtype) == 0 || semseg_dtype_size(want->dtype) == 0) {
        printf("  output %d '%s': %s vs %s cannot be compared numerically  FAIL\n", k, d->name,
               cli_dtype_name(d->dtype), cli_dtype_name(want->dtype));
        return 1;
    }
    size_t n = (size_t)semseg_numel(d->rank, d->dims), bad = 0, worst = 0;
    double max_abs = 0.0, max_rel = 0.0;
    for (size_t i = 0; i < n; i++) {
        double g = as_double(got, d->dtype, i), w = as_double(want->data, want->dtype, i);
        double diff = fabs(g - w);
        if (isnan(g) || isnan(w)) diff = (isnan(g) && isnan(w)) ? 0.0 : INFINITY;
        else if (g == w) diff = 0.0; /* equal infinities */
        if (diff > max_abs) { max_abs = diff; worst = i; }
        if (w != 0.0 && diff / fabs(w) > max_rel) max_rel = diff / fabs(w);
        if (!(diff <= cfg->atol + cfg->rtol * fabs(w))) bad++;
    }
    printf("  output %d '%s' [%s]: max abs %.3g, max rel %.3g, %zu of %zu outside tolerance", k, d->name, gd,
           max_abs, max_rel, bad, n);
    if (bad) printf(" (worst at flat index %zu)", worst);
    if (d->rank == 4 && d->dtype == SEMSEG_DTYPE_FLOAT)
        printf(", argmax agreement %.3f%% (class axis %d)", argmax_agreement(d, got, want, cfg->class_axis_last),
               cfg->class_axis_last ? 3 : 1);
    printf("  %s\n", bad ? "FAIL" : "ok");
    return bad ? 1 : 0;
}

/* Runs one data set; returns CLI_OK, CLI_MISMATCH or CLI_ERROR. */
static int validate_set(const val_cfg *cfg, semseg_session *s, const char *dir, const char *save_dir)
{
    char path[4200];
    semseg_error err = {0};
    int n_in = semseg_session_input_count(s), n_out = semseg_session_output_count(s);
    printf("%s:\n", dir);
    for (int k = 0; k < n_in; k++) {
        if (!find_tensor(dir, "input", k, path, sizeof(path)))
            return cli_error("%s: no input_%d.pb (the model has %d inputs); a data set holds input_<k>.pb for "
                             "every graph input",
                             dir, k, n_in);
        semseg_tensor_file t;
        memset(&t, 0, sizeof(t));
        if (semseg_tensor_file_read(path, &t, &err) != SEMSEG_STATUS_OK) return cli_error("%s", err.message);
        semseg_status st = semseg_session_set_input(s, k, t.dtype, t.rank, t.dims, t.data, t.nbytes, &err);
        semseg_tensor_file_clear(&t);
        if (st != SEMSEG_STATUS_OK) return cli_error("%s: %s", path, err.message);
    }
    double t0 = cli_now_ms();
    if (semseg_session_run(s, &err) != SEMSEG_STATUS_OK) return cli_error("%s: %s", cfg->model, err.message);
    printf("  inference %.1f ms\n", cli_now_ms() - t0);
    if (save_dir && cli_mkdirs(save_dir) != CLI_OK) return CLI_ERROR;

    int outside = 0, compared = 0;
    for (int k = 0; k < n_out; k++) {
        semseg_tensor_desc d;
        const void *got;
        if (semseg_session_output(s, k, &d, &got, &err) != SEMSEG_STATUS_OK) return cli_error("%s", err.message);
        if (save_dir) {
            snprintf(path, sizeof(path), "%s/output_%d.pb", save_dir, k);
            if (semseg_tensor_file_write(path, d.name, d.dtype, d.rank, d.dims, got, &err) != SEMSEG_STATUS_OK)
                return cli_error("%s", err.message);
        }
        if (!find_tensor(dir, "output", k, path, sizeof(path))) {
            printf("  output %d '%s': no reference output_%d.pb, not compared\n", k, d.name, k);
            continue;
        }
        semseg_tensor_file want;
        memset(&want, 0, sizeof(want));
        if (semseg_tensor_file_read(path, &want, &err) != SEMSEG_STATUS_OK) return cli_error("%s", err.message);
        outside |= compare_output(cfg, k, &d, got, &want, path);
        compared++;
        semseg_tensor_file_clear(&want);
    }
    if (!compared) return cli_error("%s: no output_<k>.pb to compare with; add reference outputs", dir);
    return outside ? CLI_MISMATCH : CLI_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Data-set folders of dir: dir itself, or its test_data_set_* children sorted. */
static int expand_dir(const char *dir, char ***sets, int *n)
{
    char path[4200];
    *sets = NULL;
    *n = 0;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cli_error("%s: not a directory; pass a folder with input_<k>.pb and output_<k>.pb", dir);
    if (find_tensor(dir, "input", 0, path, sizeof(path))) {
        *sets = malloc(sizeof(char *));
        if (!*sets || !((*sets)[0] = strdup(dir))) return cli_error("out of memory");
        *n = 1;
        return CLI_OK;
    }
    DIR *d = opendir(dir);
    if (!d) return cli_error("%s: cannot list the folder", dir);
    struct dirent *e;
    int cap = 0;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "test_data_set_", 14) != 0) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            char **grown = realloc(*sets, sizeof(char *) * cap);
            if (!grown) {
                closedir(d);
                return cli_error("out of memory");
            }
            *sets = grown;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (!((*sets)[*n] = strdup(path))) {
            closedir(d);
            return cli_error("out of memory");
        }
        (*n)++;
    }
    closedir(d);
    if (*n == 0) return cli_error("%s: no input_0.pb and no test_data_set_*/ folders; see 'semseg-onnx validate --help'", dir);
    qsort(*sets, (size_t)*n, sizeof(char *), by_name);
    return CLI_OK;
}

int cli_cmd_validate(int argc, char **argv)
{
    cli_args a;
    if (cli_parse("validate", argc, argv, validate_specs, &a) != CLI_OK) return CLI_ERROR;
    if (cli_has(&a, "--help")) {
        fputs(validate_help, stdout);
        cli_args_free(&a);
        return CLI_OK;
    }
    int rc = CLI_OK;
    val_cfg cfg = {.atol = 1e-4, .rtol = 1e-3};
    semseg_options *opts = NULL;
    semseg_session *s = NULL;
    char **sets = NULL;
    int n_sets = 0, n_all = 0;
    char **all = NULL;
    const char *v;
    if (a.npos < 2) {
        rc = cli_error("validate: expected MODEL and at least one DIR; see 'semseg-onnx validate --help'");
        goto out;
    }
    cfg.model = a.pos[0];
    cfg.save_dir = cli_get(&a, "--save-tensors");
    if ((v = cli_get(&a, "--atol"))) {
        if (cli_parse_double("--atol", v, &cfg.atol) != 0) rc = CLI_ERROR;
        else if (cfg.atol < 0) rc = cli_error("--atol '%s': must be >= 0", v);
    }
    if (rc == CLI_OK && (v = cli_get(&a, "--rtol"))) {
        if (cli_parse_double("--rtol", v, &cfg.rtol) != 0) rc = CLI_ERROR;
        else if (cfg.rtol < 0) rc = cli_error("--rtol '%s': must be >= 0", v);
    }
    for (int i = 1; rc == CLI_OK && i < a.npos; i++) {
        if ((rc = expand_dir(a.pos[i], &sets, &n_sets)) != CLI_OK) break;
        char **grown = realloc(all, sizeof(char *) * (n_all + n_sets));
        if (!grown) {
            rc = cli_error("out of memory");
            break;
        }
        all = grown;
        memcpy(all + n_all, sets, sizeof(char *) * n_sets);
        n_all += n_sets;
        free(sets);
        sets = NULL;
        n_sets = 0;
    }
    if (rc == CLI_OK) rc = cli_make_options(&a, 0, &opts);
    if (rc == CLI_OK) rc = cli_load_model(cfg.model, opts, &s);
    if (rc != CLI_OK) goto out;
    /* Class axis for the argmax agreement: the image input's layout when it
     * has one, axis 1 otherwise. */
    const char *layout = cli_get(&a, "--layout");
    semseg_tensor_desc in0;
    if (layout) cfg.class_axis_last = strcmp(layout, "NHWC") == 0 || strcmp(layout, "nhwc") == 0;
    else if (semseg_session_input_desc(s, 0, &in0) == SEMSEG_STATUS_OK && in0.rank == 4) {
        const char *meta = semseg_session_metadata_get(s, "semseg.layout");
        if (meta) cfg.class_axis_last = strcmp(meta, "NHWC") == 0;
        else cfg.class_axis_last = (in0.dims[3] == 1 || in0.dims[3] == 3) && !(in0.dims[1] == 1 || in0.dims[1] == 3);
    }
    int any_outside = 0;
    for (int i = 0; i < n_all; i++) {
        char save[4096];
        const char *save_dir = NULL;
        if (cfg.save_dir) {
            if (n_all > 1) snprintf(save, sizeof(save), "%s/test_data_set_%d", cfg.save_dir, i);
            else snprintf(save, sizeof(save), "%s", cfg.save_dir);
            save_dir = save;
        }
        int r = validate_set(&cfg, s, all[i], save_dir);
        if (r == CLI_ERROR) {
            rc = CLI_ERROR;
            goto out;
        }
        any_outside |= r == CLI_MISMATCH;
    }
    printf("%s: %d data set%s, %s (atol %g, rtol %g)\n", cfg.model, n_all, n_all == 1 ? "" : "s",
           any_outside ? "OUTSIDE tolerance" : "all within tolerance", cfg.atol, cfg.rtol);
    rc = any_outside ? CLI_MISMATCH : CLI_OK;
out:
    for (int i = 0; i < n_all; i++) free(all[i]);
    free(all);
    for (int i = 0; i < n_sets; i++) free(sets[i]);
    free(sets);
    semseg_session_free(s);
    semseg_options_free(opts);
    cli_args_free(&a);
    return rc;
}
