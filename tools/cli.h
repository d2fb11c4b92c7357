/*
 * Shared pieces of the semseg-onnx command-line tool: the argument parser,
 * value parsers, error reporting, the options every subcommand takes
 * (--backend, --threads, --plugin), model loading with friendly checks, and
 * the image-input layout rules. Each subcommand lives in its own cli_*.c.
 *
 * Exit codes: CLI_OK 0, CLI_MISMATCH 1 (validation outside tolerance),
 * CLI_ERROR 2 (usage, input or any other error). Every error is one line on
 * stderr, "semseg-onnx: <what>: <what is wrong>; <what to do>".
 */
#ifndef SEMSEG_CLI_H
#define SEMSEG_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "semseg/semseg.h"

enum { CLI_OK = 0, CLI_MISMATCH = 1, CLI_ERROR = 2 };

/* ---- argument parsing ---- */
typedef struct cli_spec {
    const char *name;   /* "--backend" */
    const char *alias;  /* "-o", or NULL */
    int has_value;
} cli_spec;

typedef struct cli_opt {
    const cli_spec *spec;
    const char *value;  /* NULL for flags */
} cli_opt;

typedef struct cli_args {
    const char *cmd;    /* "run", ... for messages */
    int npos;
    const char **pos;
    int nopt;
    cli_opt *opts;
} cli_args;

/* The options every model-loading subcommand accepts; append to a command's table. */
#define CLI_COMMON_SPECS \
    {"--backend", NULL, 1}, {"--threads", NULL, 1}, {"--plugin", NULL, 1}, {"--help", "-h", 0}

/* specs ends with a {NULL} entry. Options and positionals may mix; "--" ends
 * options; "--name=value" and "--name value" both work. Returns CLI_OK or
 * CLI_ERROR after printing the problem. */
int cli_parse(const char *cmd, int argc, char **argv, const cli_spec *specs, cli_args *out);
void cli_args_free(cli_args *a);
/* Last value given for an option (NULL if absent); flags return "" when set. */
const char *cli_get(const cli_args *a, const char *name);
int cli_has(const cli_args *a, const char *name);

/* ---- value parsing: return 0, or print a one-line error and return -1 ---- */
int cli_parse_int(const char *opt, const char *s, long lo, long hi, long *v);
int cli_parse_double(const char *opt, const char *s, double *v);
/* "HxW" (also "H,W") with both in 1..IMAGE_MAX_SIDE. */
int cli_parse_hw(const char *opt, const char *s, long *h, long *w);
/* Comma-separated floats; 1 or 3 values, a single one repeated to 3. */
int cli_parse_float3(const char *opt, const char *s, float v[3]);

/* ---- reporting ---- */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* returns CLI_ERROR */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double cli_now_ms(void);
/* "1x3x224x224", "?" for unknown dims, "scalar" for rank 0. */
void cli_format_dims(char *buf, size_t size, int32_t rank, const int64_t *dims);
const char *cli_dtype_name(int32_t dtype);
/* Creates DIR and its parents as needed. */
int cli_mkdirs(const char *dir);

/* ---- options and model loading ---- */
/* Builds library options from --backend/--threads/--plugin (and profiling). */
int cli_make_options(const cli_args *a, int profile, semseg_options **out);
/* Checks that the file is there and non-empty, then loads. */
int cli_load_model(const char *path, const semseg_options *o, semseg_session **s);

/* ---- image-input geometry ---- */
typedef enum cli_layout { CLI_LAYOUT_NCHW = 0, CLI_LAYOUT_NHWC = 1 } cli_layout;

typedef struct cli_image_input {
    int index;            /* graph input fed with the image (0) */
    const char *name;
    int32_t dtype;        /* FLOAT or UINT8 */
    cli_layout layout;
    int64_t n, c, h, w;   /* -1 where the model leaves it symbolic */
} cli_image_input;

/* Finds the layout of graph input 0 from the --layout value (may be NULL),
 * else the model's semseg.layout metadata, else its dims. */
int cli_image_input_get(const semseg_session *s, const char *model_path, const char *layout_flag,
                        cli_image_input *in);
/* Fills dims[4] in the model's layout. */
void cli_image_input_dims(const cli_image_input *in, int64_t h, int64_t w, int64_t dims[4]);

/* ---- subcommands ---- */
int cli_cmd_run(int argc, char **argv);
int cli_cmd_info(int argc, char **argv);
int cli_cmd_validate(int argc, char **argv);
int cli_cmd_plugins(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);

/* ---- run --crf (cli_crf.c) ---- */
typedef struct cli_crf {
    semseg_session *session;   /* NULL when --crf is not given */
    semseg_attr attrs[8];
} cli_crf;
/* Reads --crf and --crf-* and creates the one-op DenseCRF session. */
int cli_crf_configure(const cli_args *a, const semseg_options *opts, cli_crf *crf);
void cli_crf_free(cli_crf *crf);
struct image;
int cli_crf_labels(const cli_crf *crf, const struct image *photo, const float *logits, int ho, int wo,
                   int classes, size_t cs, size_t ps, uint8_t *labels);

#endif
