/*
 * What every subcommand of semseg-onnx shares: parsing argv against a table of
 * options, strict number parsing, one-line errors, building semseg_options from
 * the common flags, loading a model with checks that give a better message than
 * a parser could (missing file, empty file, directory), and deciding where the
 * channels are in an image input.
 */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "image.h"

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("semseg-onnx: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_ERROR;
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("semseg-onnx: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

double cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const cli_spec *find_spec(const cli_spec *specs, const char *arg, size_t len)
{
    for (const cli_spec *s = specs; s->name; s++) {
        if (strlen(s->name) == len && strncmp(s->name, arg, len) == 0) return s;
        if (s->alias && strlen(s->alias) == len && strncmp(s->alias, arg, len) == 0) return s;
    }
    return NULL;
}

int cli_parse(const char *cmd, int argc, char **argv, const cli_spec *specs, cli_args *out)
{
    memset(out, 0, sizeof(*out));
    out->cmd = cmd;
    out->pos = malloc(sizeof(char *) * (argc + 1));
    out->opts = malloc(sizeof(cli_opt) * (argc + 1));
    if (!out->pos || !out->opts) {
        cli_args_free(out);
        return cli_error("out of memory parsing arguments");
    }
    int only_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            out->pos[out->npos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const cli_spec *s = find_spec(specs, a, len);
        if (!s) {
            cli_error("%s: unknown option '%.*s'; see 'semseg-onnx %s --help'", cmd, (int)len, a, cmd);
            cli_args_free(out);
            return CLI_ERROR;
        }
        const char *value = NULL;
        if (s->has_value) {
            if (eq) value = eq + 1;
            else if (i + 1 < argc) value = argv[++i];
            else {
                cli_error("%s: option %s needs a value; see 'semseg-onnx %s --help'", cmd, s->name, cmd);
                cli_args_free(out);
                return CLI_ERROR;
            }
        } else if (eq) {
            cli_error("%s: option %s takes no value", cmd, s->name);
            cli_args_free(out);
            return CLI_ERROR;
        }
        out->opts[out->nopt].spec = s;
        out->opts[out->nopt].value = value ? value : "";
        out->nopt++;
    }
    return CLI_OK;
}

void cli_args_free(cli_args *a)
{
    free(a->pos);
    free(a->opts);
    a->pos = NULL;
    a->opts = NULL;
    a->npos = a->nopt = 0;
}

const char *cli_get(const cli_args *a, const char *name)
{
    const char *v = NULL;
    for (int i = 0; i < a->nopt; i++)
        if (strcmp(a->opts[i].spec->name, name) == 0) v = a->opts[i].value;
    return v;
}

int cli_has(const cli_args *a, const char *name)
{
    return cli_get(a, name) != NULL;
}

int cli_parse_int(const char *opt, const char *s, long lo, long hi, long *v)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi) {
        cli_error("%s '%s': expected an integer from %ld to %ld", opt, s, lo, hi);
        return -1;
    }
    *v = x;
    return 0;
}

int cli_parse_double(const char *opt, const char *s, double *v)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || end == s || *end || x != x) {
        cli_error("%s '%s': expected a number", opt, s);
        return -1;
    }
    *v = x;
    return 0;
}

int cli_parse_hw(const char *opt, const char *s, long *h, long *w)
{
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (!errno && end != s && (*end == 'x' || *end == 'X' || *end == ',')) {
        const char *p = end + 1;
        long b = strtol(p, &end, 10);
        if (!errno && end != p && !*end && a >= 1 && b >= 1 && a <= IMAGE_MAX_SIDE && b <= IMAGE_MAX_SIDE) {
            *h = a;
            *w = b;
            return 0;
        }
    }
    cli_error("%s '%s': expected HEIGHTxWIDTH, e.g. 512x512 (each 1..%d)", opt, s, IMAGE_MAX_SIDE);
    return -1;
}

int cli_parse_float3(const char *opt, const char *s, float v[3])
{
    int n = 0;
    const char *p = s;
    while (n < 3) {
        char *end;
        errno = 0;
        double x = strtod(p, &end);
        if (errno || end == p || x != x) break;
        v[n++] = (float)x;
        while (*end == ' ') end++;
        if (*end == '\0') {
            if (n == 1) v[1] = v[2] = v[0];
            if (n == 1 || n == 3) return 0;
            break;
        }
        if (*end != ',') break;
        p = end + 1;
    }
    cli_error("%s '%s': expected 1 or 3 comma-separated numbers, e.g. 0.485,0.456,0.406", opt, s);
    return -1;
}

void cli_format_dims(char *buf, size_t size, int32_t rank, const int64_t *dims)
{
    if (rank < 0) {
        snprintf(buf, size, "?");
        return;
    }
    if (rank == 0) {
        snprintf(buf, size, "scalar");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < rank && used < size; i++) {
        int n = dims[i] < 0 ? snprintf(buf + used, size - used, "%s?", i ? "x" : "")
                            : snprintf(buf + used, size - used, "%s%lld", i ? "x" : "", (long long)dims[i]);
        if (n < 0) break;
        used += (size_t)n;
    }
}

const char *cli_dtype_name(int32_t dtype)
{
    static const char *const names[] = {"undefined", "float32", "uint8", "int8", "uint16", "int16",
                                        "int32", "int64", "string", "bool", "float16", "float64",
                                        "uint32", "uint64"};
    return dtype >= 0 && dtype < (int32_t)(sizeof(names) / sizeof(names[0])) ? names[dtype] : "unknown";
}

int cli_mkdirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path)) return cli_error("%s: directory name is empty or too long", dir);
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return cli_error("%s: cannot create directory (%s)", path, strerror(errno));
        path[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cli_error("%s: exists and is not a directory; choose another output folder", dir);
    return CLI_OK;
}

/* --plugin FILE names a plugin the user wants: when the host refuses it (not a
 * shared object, no entry symbol, another ABI, unusable here) that is an
 * error, not a silent run without it. The library itself only skips it. */
typedef struct refused_check {
    char *want;              /* realpath of the --plugin value */
    char reason[SEMSEG_ERRMSG_SIZE];
    int found;
} refused_check;

static void note_refused(const semseg_plugin_desc *d, void *user)
{
    refused_check *rc = user;
    if (rc->found || d->usable || !d->file || strcmp(d->file, rc->want) != 0) return;
    snprintf(rc->reason, sizeof rc->reason, "%s", d->reason ? d->reason : "refused");
    rc->found = 1;
}

static int check_plugin_file(const semseg_options *o, const char *file)
{
    refused_check rc = { realpath(file, NULL), "", 0 };
    if (!rc.want) return cli_error("--plugin %s: %s", file, strerror(errno));
    semseg_error err = {0};
    semseg_status st = semseg_plugins_list(o, note_refused, &rc, &err);
    free(rc.want);
    if (st != SEMSEG_STATUS_OK) return cli_error("--plugin %s: %s", file, err.message);
    if (rc.found) return cli_error("--plugin %s: %s", file, rc.reason);
    return CLI_OK;
}

int cli_make_options(const cli_args *a, int profile, semseg_options **out)
{
    semseg_error err = {0};
    semseg_options *o = semseg_options_new();
    *out = NULL;
    if (!o) return cli_error("out of memory creating options");
    const char *backend = cli_get(a, "--backend");
    if (backend && semseg_options_set_backends(o, backend, &err) != SEMSEG_STATUS_OK) goto fail;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    const char *t = cli_get(a, "--threads");
    if (t && cli_parse_int("--threads", t, 1, 1024, &threads) != 0) {
        semseg_options_free(o);
        return CLI_ERROR;
    }
    if (threads < 1) threads = 1;
    if (semseg_options_set_threads(o, (int)threads, &err) != SEMSEG_STATUS_OK) goto fail;
    for (int i = 0; i < a->nopt; i++) {
        if (strcmp(a->opts[i].spec->name, "--plugin") != 0) continue;
        if (semseg_options_add_plugin_file(o, a->opts[i].value, &err) != SEMSEG_STATUS_OK) goto fail;
    }
    for (int i = 0; i < a->nopt; i++) {
        if (strcmp(a->opts[i].spec->name, "--plugin") != 0) continue;
        if (check_plugin_file(o, a->opts[i].value) != CLI_OK) {
            semseg_options_free(o);
            return CLI_ERROR;
        }
    }
    semseg_options_set_profile(o, profile);
    /* documented in docs/cli.md and docs/fuzzing.md: raise or lower the cap on
     * elements per tensor that a model file may declare */
    const char *lim = getenv("SEMSEG_MAX_TENSOR_ELEMENTS");
    if (lim && lim[0]) {
        long v;
        if (cli_parse_int("SEMSEG_MAX_TENSOR_ELEMENTS", lim, 1, LONG_MAX, &v) != 0) {
            semseg_options_free(o);
            return CLI_ERROR;
        }
        semseg_options_set_limits(o, (int64_t)v, 0);
    }
    *out = o;
    return CLI_OK;
fail:
    semseg_options_free(o);
    return cli_error("%s", err.message);
}

int cli_load_model(const char *path, const semseg_options *o, semseg_session **s)
{
    struct stat st;
    *s = NULL;
    if (stat(path, &st) != 0)
        return cli_error("%s: %s; check the model path", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return cli_error("%s: is a directory; pass the .onnx file", path);
    if (st.st_size == 0)
        return cli_error("%s: model file is empty (0 bytes); re-export or re-download it", path);
    semseg_error err = {0};
    if (semseg_session_load_file(path, o, s, &err) != SEMSEG_STATUS_OK) {
        *s = NULL;
        /* The library's line names the file or node; add it when it does not. */
        if (strstr(err.message, path)) return cli_error("%s", err.message);
        return cli_error("%s: %s", path, err.message);
    }
    return CLI_OK;
}

static int layout_from_name(const char *s, cli_layout *l)
{
    if (strcasecmp(s, "NCHW") == 0) *l = CLI_LAYOUT_NCHW;
    else if (strcasecmp(s, "NHWC") == 0) *l = CLI_LAYOUT_NHWC;
    else return -1;
    return 0;
}

static int is_channel_count(int64_t d)
{
    return d == 1 || d == 3;
}

int cli_image_input_get(const semseg_session *s, const char *model_path, const char *layout_flag,
                        cli_image_input *in)
{
    semseg_tensor_desc d;
    char dims[128];
    memset(in, 0, sizeof(*in));
    if (semseg_session_input_count(s) < 1)
        return cli_error("%s: the model has no inputs; an image model needs one NxCxHxW input", model_path);
    if (semseg_session_input_desc(s, 0, &d) != SEMSEG_STATUS_OK)
        return cli_error("%s: cannot read the description of input 0", model_path);
    cli_format_dims(dims, sizeof(dims), d.rank, d.dims);
    if (d.rank != 4)
        return cli_error("%s: input '%s' has dims [%s] (rank %d), not a 4-D image input (NCHW or NHWC); "
                         "feed it a .pb/.npy tensor with run, or use validate",
                         model_path, d.name, dims, d.rank);
    if (d.dtype != SEMSEG_DTYPE_FLOAT && d.dtype != SEMSEG_DTYPE_UINT8)
        return cli_error("%s: input '%s' is %s; run feeds images as float32 or uint8; feed a tensor file instead",
                         model_path, d.name, cli_dtype_name(d.dtype));
    in->index = 0;
    in->name = d.name;
    in->dtype = d.dtype;

    const char *meta = semseg_session_metadata_get(s, "semseg.layout");
    if (layout_flag) {
        if (layout_from_name(layout_flag, &in->layout) != 0)
            return cli_error("--layout '%s': expected NCHW or NHWC", layout_flag);
    } else if (meta) {
        if (layout_from_name(meta, &in->layout) != 0)
            return cli_error("%s: metadata semseg.layout is '%s', expected NCHW or NHWC; pass --layout",
                             model_path, meta);
    } else {
        int first = is_channel_count(d.dims[1]), last = is_channel_count(d.dims[3]);
        if (first && !last) in->layout = CLI_LAYOUT_NCHW;
        else if (last && !first) in->layout = CLI_LAYOUT_NHWC;
        else if (first && last) in->layout = CLI_LAYOUT_NCHW; /* [1,3,H,3]: rare; NCHW is ONNX's habit */
        else if (d.dims[1] < 0 && d.dims[3] < 0) in->layout = CLI_LAYOUT_NCHW;
        else
            return cli_error("%s: cannot tell the channel axis of input '%s' [%s]: neither axis 1 nor 3 "
                             "has 1 or 3 channels; pass --layout NCHW or NHWC",
                             model_path, d.name, dims);
    }
    int ca = in->layout == CLI_LAYOUT_NCHW ? 1 : 3;
    int ha = in->layout == CLI_LAYOUT_NCHW ? 2 : 1;
    in->n = d.dims[0];
    in->c = d.dims[ca] < 0 ? 3 : d.dims[ca];
    in->h = d.dims[ha];
    in->w = d.dims[ha + 1];
    if (!is_channel_count(in->c))
        return cli_error("%s: input '%s' [%s] has %lld channels in %s layout; images give 1 or 3; "
                         "check --layout",
                         model_path, d.name, dims, (long long)in->c,
                         in->layout == CLI_LAYOUT_NCHW ? "NCHW" : "NHWC");
    if (in->n > 1)
        return cli_error("%s: input '%s' [%s] has a fixed batch of %lld; run feeds one image at a time; "
                         "feed a tensor file instead",
                         model_path, d.name, dims, (long long)in->n);
    return CLI_OK;
}

void cli_image_input_dims(const cli_image_input *in, int64_t h, int64_t w, int64_t dims[4])
{
    dims[0] = 1;
    if (in->layout == CLI_LAYOUT_NCHW) {
        dims[1] = in->c;
        dims[2] = h;
        dims[3] = w;
    } else {
        dims[1] = h;
        dims[2] = w;
        dims[3] = in->c;
    }
}
