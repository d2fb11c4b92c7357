/*
 * `semseg-onnx run MODEL INPUT...`: photo in, label map out.
 *
 * Per input: load (decode JPEG/PNG, or read a .pb/.npy tensor that is fed as
 * is), preprocess (resize to the model's input size, scale, normalise, lay out
 * as NCHW or NHWC), infer, postprocess (argmax over the class axis, label map
 * back to the photo's size, colour mask / overlay / raw labels / raw tensors),
 * then one report. All inputs share one session; only a change of input size
 * makes the library re-plan.
 *
 * Preprocessing values come from, in order of precedence: flags, the model's
 * metadata_props (semseg.scale, semseg.mean, semseg.std, semseg.layout,
 * semseg.classes), then the defaults (scale 1/255, ImageNet mean/std).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "image.h"

static const char run_help[] =
    "usage: semseg-onnx run MODEL INPUT... [options]\n"
    "\n"
    "INPUT is a JPEG or PNG photo (8-bit gray, RGB, RGBA or palette), or a tensor\n"
    "file (.pb TensorProto or .npy) fed as is to the model's first input.\n"
    "\n"
    "output:\n"
    "  -o, --output FILE.png    colour mask the size of the photo\n"
    "  --overlay FILE.png       the photo blended with the mask (black classes stay clear)\n"
    "  --alpha A                overlay opacity, 0..1 (default 0.5)\n"
    "  --labels-png FILE.png    raw 8-bit class indices\n"
    "  --save-tensors DIR       DIR/input_0.pb (what was fed) and DIR/output_<k>.pb\n"
    "  --palette FILE           colours, one \"R G B\" a line (default: PASCAL VOC)\n"
    "  --class-names FILE       class names, one a line ('voc' = the 21 VOC names)\n"
    "  --upsample-logits        resize logits bilinearly before the argmax (default:\n"
    "                           argmax, then resize the label map, nearest)\n"
    "  --crf                    refine with DeepLab's fully connected CRF (ai.semseg::\n"
    "                           DenseCRF) at the photo's size, logits resized bilinearly\n"
    "  --crf-iters N            mean-field iterations (default 10)\n"
    "  --crf-pos-w W, --crf-pos-xy-std S                Gaussian kernel (default 3, 1)\n"
    "  --crf-bi-w W, --crf-bi-xy-std S, --crf-bi-rgb-std S  bilateral (default 4, 67, 3)\n"
    "  --crf-normalization after|symmetric                (default after; docs/densecrf.md)\n"
    "  With several INPUTs, -o/--overlay/--labels-png name folders (one\n"
    "  <stem>.png per input) and --save-tensors writes DIR/test_data_set_<i>/.\n"
    "\n"
    "preprocessing (precedence: flags > model metadata > defaults):\n"
    "  --scale S                pixel * S first (default 1/255; metadata semseg.scale)\n"
    "  --mean M[,M,M]           subtracted after scaling (default 0.485,0.456,0.406;\n"
    "                           metadata semseg.mean)\n"
    "  --std S[,S,S]            divides after the mean (default 0.229,0.224,0.225;\n"
    "                           metadata semseg.std)\n"
    "  --no-normalize           mean 0, std 1 (unless --mean/--std are given too)\n"
    "  --layout NCHW|NHWC       input layout (metadata semseg.layout; else inferred from\n"
    "                           the dims: the axis with 1 or 3 channels); outputs follow it\n"
    "  --size HxW               input size for models with dynamic H and W (default:\n"
    "                           the photo's own size)\n"
    "  --max-side N             with dynamic H and W, shrink so the longer side is <= N\n"
    "  Example: x/127.5 - 1 is --mean 0.5 --std 0.5 (with the default scale).\n"
    "  --input NAME=FILE        feed another graph input from a .pb/.npy tensor\n"
    "                           (repeatable). A further input shaped [N,3,H,W] (or\n"
    "                           [N,H,W,3]) that is not given is fed the photo itself as\n"
    "                           float RGB 0..255: models ending in DenseCRF take it.\n"
    "  Models with a fixed input size get the photo resized (stretched) to it.\n"
    "\n"
    "other:\n"
    "  --progress               progress line on stderr (default: when stderr is a TTY)\n"
    "  --backend LIST, --threads N, --plugin FILE.so   as for every command\n"
    "\n"
    "Prints per input its sizes, the time for load / preprocess / inference /\n"
    "postprocess, and the classes present with their share of the pixels (names\n"
    "from --class-names, else metadata semseg.classes, else indices).\n";

static const cli_spec run_specs[] = {
    {"--output", "-o", 1},   {"--overlay", NULL, 1},       {"--alpha", NULL, 1},
    {"--labels-png", NULL, 1}, {"--save-tensors", NULL, 1}, {"--palette", NULL, 1},
    {"--class-names", NULL, 1}, {"--upsample-logits", NULL, 0}, {"--scale", NULL, 1},
    {"--mean", NULL, 1},     {"--std", NULL, 1},           {"--no-normalize", NULL, 0},
    {"--layout", NULL, 1},   {"--size", NULL, 1},          {"--max-side", NULL, 1},
    {"--progress", NULL, 0}, {"--input", NULL, 1},         {"--crf", NULL, 0},
    {"--crf-iters", NULL, 1}, {"--crf-pos-w", NULL, 1},    {"--crf-pos-xy-std", NULL, 1},
    {"--crf-bi-w", NULL, 1}, {"--crf-bi-xy-std", NULL, 1}, {"--crf-bi-rgb-std", NULL, 1},
    {"--crf-normalization", NULL, 1}, CLI_COMMON_SPECS,    {NULL, NULL, 0},
};

static const char *const voc_names[21] = {
    "background", "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",
    "car",        "cat",       "chair",   "cow",   "diningtable", "dog",    "horse",
    "motorbike",  "person",    "pottedplant", "sheep", "sofa",    "train",  "tvmonitor"};

#define MAX_CLASSES 256

typedef struct run_cfg {
    const char *model_path;
    cli_image_input in;
    float scale, mean[3], std[3];
    long size_h, size_w, max_side;   /* 0 when not given */
    int upsample_logits;
    const char *mask_out, *overlay_out, *labels_out, *tensors_dir;
    float alpha;
    image_palette palette;
    int n_names;
    const char *names[MAX_CLASSES];
    char *names_buf;                 /* owns the strings names[] points into */
    int multi;                       /* several inputs: outputs are folders */
    int progress;
    cli_crf crf;                     /* --crf */
    const cli_args *args;            /* for the repeatable --input */
} run_cfg;

/* Everything one input produces on its way through. */
typedef struct run_item {
    const char *path;
    image photo;                     /* rgb == NULL for tensor inputs */
    float *tensor;                   /* preprocessed input (image inputs only) */
    float *rgb;                      /* the photo resized to the model, RGB 0..255 */
    int64_t in_dims[4];
    double t_load, t_pre, t_infer, t_post;
    uint8_t *labels;                 /* at photo size (or output size for tensors) */
    int lw, lh, classes;
} run_item;

/* ---- configuration ---- */

static int split_names(run_cfg *cfg, const char *text, char sep, const char *what)
{
    size_t n = strlen(text);
    cfg->names_buf = malloc(n + 1);
    if (!cfg->names_buf) return cli_error("out of memory reading %s", what);
    memcpy(cfg->names_buf, text, n + 1);
    cfg->n_names = 0;
    char *s = cfg->names_buf;
    while (*s) {
        if (cfg->n_names == MAX_CLASSES) return cli_error("%s: more than %d class names", what, MAX_CLASSES);
        char *end = strchr(s, sep);
        if (end) *end = '\0';
        size_t len = strlen(s);
        while (len && (s[len - 1] == '\r' || s[len - 1] == ' ')) s[--len] = '\0';
        while (*s == ' ') s++;
        cfg->names[cfg->n_names++] = s;
        if (!end) break;
        s = end + 1;
    }
    return CLI_OK;
}

static int load_class_names(run_cfg *cfg, const semseg_session *s, const char *flag)
{
    if (flag && strcmp(flag, "voc") == 0 && access(flag, F_OK) != 0) {
        for (int i = 0; i < 21; i++) cfg->names[i] = voc_names[i];
        cfg->n_names = 21;
        return CLI_OK;
    }
    if (flag) {
        uint8_t *data;
        size_t size;
        char err[IMAGE_ERR_SIZE];
        if (image_read_file(flag, &data, &size, err) != 0) return cli_error("--class-names %s", err);
        char *text = realloc(data, size + 1);
        if (!text) {
            free(data);
            return cli_error("out of memory reading %s", flag);
        }
        text[size] = '\0';
        if (size && text[size - 1] == '\n') text[size - 1] = '\0';
        int rc = split_names(cfg, text, '\n', flag);
        free(text);
        return rc;
    }
    const char *meta = semseg_session_metadata_get(s, "semseg.classes");
    return meta ? split_names(cfg, meta, ',', "metadata semseg.classes") : CLI_OK;
}

/* flags > metadata > defaults, value by value. */
static int resolve_preprocessing(run_cfg *cfg, const cli_args *a, const semseg_session *s)
{
    static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
    static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};
    char what[512];
    cfg->scale = 1.0f / 255.0f;
    memcpy(cfg->mean, imagenet_mean, sizeof(cfg->mean));
    memcpy(cfg->std, imagenet_std, sizeof(cfg->std));

    const char *m;
    double d;
    if ((m = semseg_session_metadata_get(s, "semseg.scale"))) {
        snprintf(what, sizeof(what), "%s: metadata semseg.scale", cfg->model_path);
        if (cli_parse_double(what, m, &d) != 0) return CLI_ERROR;
        cfg->scale = (float)d;
    }
    if ((m = semseg_session_metadata_get(s, "semseg.mean"))) {
        snprintf(what, sizeof(what), "%s: metadata semseg.mean", cfg->model_path);
        if (cli_parse_float3(what, m, cfg->mean) != 0) return CLI_ERROR;
    }
    if ((m = semseg_session_metadata_get(s, "semseg.std"))) {
        snprintf(what, sizeof(what), "%s: metadata semseg.std", cfg->model_path);
        if (cli_parse_float3(what, m, cfg->std) != 0) return CLI_ERROR;
    }

    if (cli_has(a, "--no-normalize")) {
        cfg->mean[0] = cfg->mean[1] = cfg->mean[2] = 0.0f;
        cfg->std[0] = cfg->std[1] = cfg->std[2] = 1.0f;
    }
    if ((m = cli_get(a, "--scale"))) {
        if (cli_parse_double("--scale", m, &d) != 0) return CLI_ERROR;
        cfg->scale = (float)d;
    }
    if ((m = cli_get(a, "--mean")) && cli_parse_float3("--mean", m, cfg->mean) != 0) return CLI_ERROR;
    if ((m = cli_get(a, "--std")) && cli_parse_float3("--std", m, cfg->std) != 0) return CLI_ERROR;
    for (int c = 0; c < 3; c++)
        if (cfg->std[c] == 0.0f) return cli_error("std %d is 0; every --std (or semseg.std) value must be non-zero", c);
    return CLI_OK;
}

static int configure(run_cfg *cfg, const cli_args *a, const semseg_session *s)
{
    const char *v;
    if (cli_image_input_get(s, cfg->model_path, cli_get(a, "--layout"), &cfg->in) != CLI_OK) return CLI_ERROR;
    if (resolve_preprocessing(cfg, a, s) != CLI_OK) return CLI_ERROR;
    if ((v = cli_get(a, "--size")) && cli_parse_hw("--size", v, &cfg->size_h, &cfg->size_w) != 0)
        return CLI_ERROR;
    if ((v = cli_get(a, "--max-side")) && cli_parse_int("--max-side", v, 1, IMAGE_MAX_SIDE, &cfg->max_side) != 0)
        return CLI_ERROR;
    if (cfg->size_h && cfg->in.h > 0 && cfg->in.w > 0 && (cfg->size_h != cfg->in.h || cfg->size_w != cfg->in.w))
        return cli_error("--size %ldx%ld: %s has a fixed input size %lldx%lld; drop --size", cfg->size_h,
                         cfg->size_w, cfg->model_path, (long long)cfg->in.h, (long long)cfg->in.w);
    cfg->alpha = 0.5f;
    if ((v = cli_get(a, "--alpha"))) {
        double d;
        if (cli_parse_double("--alpha", v, &d) != 0) return CLI_ERROR;
        if (d < 0.0 || d > 1.0) return cli_error("--alpha '%s': expected a number from 0 to 1", v);
        cfg->alpha = (float)d;
    }
    char err[IMAGE_ERR_SIZE];
    if ((v = cli_get(a, "--palette"))) {
        if (image_palette_load(v, &cfg->palette, err) != 0) return cli_error("--palette %s", err);
    } else {
        image_palette_voc(&cfg->palette);
    }
    if (load_class_names(cfg, s, cli_get(a, "--class-names")) != CLI_OK) return CLI_ERROR;
    cfg->upsample_logits = cli_has(a, "--upsample-logits");
    cfg->mask_out = cli_get(a, "--output");
    cfg->overlay_out = cli_get(a, "--overlay");
    cfg->labels_out = cli_get(a, "--labels-png");
    cfg->tensors_dir = cli_get(a, "--save-tensors");
    cfg->multi = a->npos > 2;
    cfg->progress = cfg->multi && (cli_has(a, "--progress") || isatty(2));
    const char *dirs[] = {cfg->multi ? cfg->mask_out : NULL, cfg->multi ? cfg->overlay_out : NULL,
                          cfg->multi ? cfg->labels_out : NULL, cfg->tensors_dir};
    for (int i = 0; i < 4; i++)
        if (dirs[i] && cli_mkdirs(dirs[i]) != CLI_OK) return CLI_ERROR;
    return CLI_OK;
}

/* ---- preprocessing ---- */

/* The H and W fed to the model for a photo of ph x pw. */
static void target_size(const run_cfg *cfg, int ph, int pw, int64_t *th, int64_t *tw)
{
    int64_t h = cfg->size_h ? cfg->size_h : ph, w = cfg->size_w ? cfg->size_w : pw;
    if (cfg->max_side && (h > cfg->max_side || w > cfg->max_side)) {
        double f = (double)cfg->max_side / (h > w ? h : w);
        h = (int64_t)floor(h * f + 0.5);
        w = (int64_t)floor(w * f + 0.5);
        if (h < 1) h = 1;
        if (w < 1) w = 1;
    }
    *th = cfg->in.h > 0 ? cfg->in.h : h;
    *tw = cfg->in.w > 0 ? cfg->in.w : w;
}

/* Photo -> model tensor (float or uint8) in the model's layout. */
static int preprocess(const run_cfg *cfg, run_item *it)
{
    int64_t th, tw;
    target_size(cfg, it->photo.h, it->photo.w, &th, &tw);
    cli_image_input_dims(&cfg->in, th, tw, it->in_dims);
    size_t npx = (size_t)th * tw;
    float *rgb = malloc(sizeof(float) * npx * 3);
    size_t esize = cfg->in.dtype == SEMSEG_DTYPE_UINT8 ? 1 : sizeof(float);
    it->tensor = malloc(esize * npx * cfg->in.c);
    if (!rgb || !it->tensor || image_resize_rgb(it->photo.rgb, it->photo.w, it->photo.h, rgb, (int)tw, (int)th) != 0) {
        free(rgb);
        return cli_error("%s: out of memory resizing to %lldx%lld", it->path, (long long)th, (long long)tw);
    }
    int nc = (int)cfg->in.c;
    for (size_t p = 0; p < npx; p++) {
        const float *px = rgb + p * 3;
        for (int c = 0; c < nc; c++) {
            /* one channel: ITU-R BT.601 luma, as most "convert to gray" tools do */
            float v = nc == 1 ? 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2] : px[c];
            size_t at = cfg->in.layout == CLI_LAYOUT_NCHW ? (size_t)c * npx + p : p * nc + c;
            if (cfg->in.dtype == SEMSEG_DTYPE_UINT8) {
                ((uint8_t *)it->tensor)[at] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
            } else {
                it->tensor[at] = (v * cfg->scale - cfg->mean[c]) / cfg->std[c];
            }
        }
    }
    it->rgb = rgb;
    return CLI_OK;
}

/* ---- postprocessing ---- */

/* Class of one pixel: argmax (first maximum wins, as numpy's); a single
 * channel is a binary logit, class 1 where it is > 0. */
static int pick_class(const float *v, int classes, size_t stride)
{
    if (classes == 1) return v[0] > 0.0f;
    int best = 0;
    float bv = v[0];
    for (int c = 1; c < classes; c++)
        if (v[c * stride] > bv) {
            bv = v[c * stride];
            best = c;
        }
    return best;
}

/* Source coordinate of destination sample i for bilinear resampling with
 * half-pixel centres, clamped to the edge. */
static void bilinear_coord(int i, int n_dst, int n_src, int *i0, int *i1, float *f)
{
    double s = (i + 0.5) * n_src / n_dst - 0.5;
    if (s < 0) s = 0;
    if (s > n_src - 1) s = n_src - 1;
    *i0 = (int)s;
    *i1 = *i0 + 1 < n_src ? *i0 + 1 : *i0;
    *f = (float)(s - *i0);
}

/* Logits (Ho x Wo, class stride cs, pixel stride ps) -> labels (lh x lw). */
static int labels_from_logits(const run_cfg *cfg, const float *data, int ho, int wo, int classes,
                              size_t cs, size_t ps, uint8_t *labels, int lh, int lw)
{
    if (!cfg->upsample_logits || (lh == ho && lw == wo)) {
        for (int y = 0; y < lh; y++) {
            /* nearest: floor((y + 0.5) * ho / lh), in integers */
            int sy = (int)(((2 * (int64_t)y + 1) * ho) / (2 * (int64_t)lh));
            for (int x = 0; x < lw; x++) {
                int sx = (int)(((2 * (int64_t)x + 1) * wo) / (2 * (int64_t)lw));
                labels[(size_t)y * lw + x] = (uint8_t)pick_class(data + ((size_t)sy * wo + sx) * ps, classes, cs);
            }
        }
        return CLI_OK;
    }
    float *v = malloc(sizeof(float) * classes);
    if (!v) return cli_error("out of memory upsampling logits");
    for (int y = 0; y < lh; y++) {
        int y0, y1;
        float fy;
        bilinear_coord(y, lh, ho, &y0, &y1, &fy);
        for (int x = 0; x < lw; x++) {
            int x0, x1;
            float fx;
            bilinear_coord(x, lw, wo, &x0, &x1, &fx);
            const float *p00 = data + ((size_t)y0 * wo + x0) * ps, *p01 = data + ((size_t)y0 * wo + x1) * ps;
            const float *p10 = data + ((size_t)y1 * wo + x0) * ps, *p11 = data + ((size_t)y1 * wo + x1) * ps;
            for (int c = 0; c < classes; c++) {
                size_t o = c * cs;
                float top = p00[o] + (p01[o] - p00[o]) * fx, bot = p10[o] + (p11[o] - p10[o]) * fx;
                v[c] = top + (bot - top) * fy;
            }
            labels[(size_t)y * lw + x] = (uint8_t)pick_class(v, classes, 1);
        }
    }
    free(v);
    return CLI_OK;
}

/* Integer label maps from models that end in ArgMax: [N,H,W] or [N,1,H,W]. */
static int64_t label_at(const void *data, int32_t dtype, size_t i)
{
    switch (dtype) {
    case SEMSEG_DTYPE_INT64: return ((const int64_t *)data)[i];
    case SEMSEG_DTYPE_INT32: return ((const int32_t *)data)[i];
    case SEMSEG_DTYPE_UINT8: return ((const uint8_t *)data)[i];
    default: return -1;
    }
}

/* The class axis of a 4-D output: the layout whose spatial dims equal the
 * fed H x W (a model may take NHWC and give NCHW, or the reverse); when
 * neither or both match (outputs at a lower resolution, square maps of
 * ambiguous size), the input's layout. */
static int output_is_nchw(const run_cfg *cfg, const run_item *it, const semseg_tensor_desc *d)
{
    int nchw_in = cfg->in.layout == CLI_LAYOUT_NCHW;
    if (!it->tensor) return nchw_in;
    int64_t h = it->in_dims[nchw_in ? 2 : 1], w = it->in_dims[nchw_in ? 3 : 2];
    int as_nchw = d->dims[2] == h && d->dims[3] == w, as_nhwc = d->dims[1] == h && d->dims[2] == w;
    if (as_nchw != as_nhwc) return as_nchw;
    return nchw_in;
}

static int labels_from_output(const run_cfg *cfg, run_item *it, const semseg_tensor_desc *d, const void *data)
{
    char dims[128];
    cli_format_dims(dims, sizeof(dims), d->rank, d->dims);
    int is_int = d->dtype == SEMSEG_DTYPE_INT64 || d->dtype == SEMSEG_DTYPE_INT32 || d->dtype == SEMSEG_DTYPE_UINT8;
    int ho, wo, classes;
    size_t cs = 0, ps = 0;
    if (d->rank == 4 && d->dtype == SEMSEG_DTYPE_FLOAT && d->dims[0] >= 1) {
        int nchw = output_is_nchw(cfg, it, d);
        classes = (int)d->dims[nchw ? 1 : 3];
        ho = (int)d->dims[nchw ? 2 : 1];
        wo = (int)d->dims[nchw ? 3 : 2];
        cs = nchw ? (size_t)ho * wo : 1;
        ps = nchw ? 1 : (size_t)classes;
    } else if (is_int && (d->rank == 3 || (d->rank == 4 && d->dims[1] == 1))) {
        ho = (int)d->dims[d->rank - 2];
        wo = (int)d->dims[d->rank - 1];
        classes = 0;
    } else {
        return cli_error("%s: output 0 '%s' is %s [%s]; expected float logits [N,C,H,W] / [N,H,W,C] "
                         "or integer labels [N,H,W]; use --save-tensors to get raw outputs",
                         cfg->model_path, d->name, cli_dtype_name(d->dtype), dims);
    }
    if (classes > MAX_CLASSES)
        return cli_error("%s: output '%s' [%s] has %d classes; masks hold at most %d; check --layout",
                         cfg->model_path, d->name, dims, classes, MAX_CLASSES);
    if (ho < 1 || wo < 1)
        return cli_error("%s: output '%s' [%s] has an empty label map", cfg->model_path, d->name, dims);

    it->lw = it->photo.rgb ? it->photo.w : wo;
    it->lh = it->photo.rgb ? it->photo.h : ho;
    it->labels = malloc((size_t)it->lw * it->lh);
    if (!it->labels) return cli_error("out of memory for a %dx%d label map", it->lh, it->lw);
    if (classes) {
        it->classes = classes == 1 ? 2 : classes;
        if (cfg->crf.session && it->photo.rgb && classes > 1)
            return cli_crf_labels(&cfg->crf, &it->photo, data, ho, wo, classes, cs, ps, it->labels);
        return labels_from_logits(cfg, data, ho, wo, classes, cs, ps, it->labels, it->lh, it->lw);
    }
    int max_label = 0;
    for (int y = 0; y < it->lh; y++) {
        int sy = (int)(((2 * (int64_t)y + 1) * ho) / (2 * (int64_t)it->lh));
        for (int x = 0; x < it->lw; x++) {
            int sx = (int)(((2 * (int64_t)x + 1) * wo) / (2 * (int64_t)it->lw));
            int64_t l = label_at(data, d->dtype, (size_t)sy * wo + sx);
            if (l < 0 || l >= MAX_CLASSES)
                return cli_error("%s: output '%s' holds label %lld; masks hold 0..%d", cfg->model_path, d->name,
                                 (long long)l, MAX_CLASSES - 1);
            if (l > max_label) max_label = (int)l;
            it->labels[(size_t)y * it->lw + x] = (uint8_t)l;
        }
    }
    it->classes = max_label + 1;
    return CLI_OK;
}

/* FILE, or FOLDER/<stem>.png with several inputs. */
static void output_path(const run_cfg *cfg, const char *given, const char *input, char *buf, size_t size)
{
    if (!cfg->multi) {
        snprintf(buf, size, "%s", given);
        return;
    }
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    const char *dot = strrchr(base, '.');
    int len = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    snprintf(buf, size, "%s/%.*s.png", given, len, base);
}

static int write_images(const run_cfg *cfg, const run_item *it)
{
    char path[4096], err[IMAGE_ERR_SIZE];
    if (it->classes > cfg->palette.count && (cfg->mask_out || cfg->overlay_out))
        return cli_error("palette has %d colours but %s has %d classes; add colours to the --palette file",
                         cfg->palette.count, cfg->model_path, it->classes);
    uint8_t *rgb = NULL;
    if (cfg->mask_out || cfg->overlay_out) {
        rgb = malloc((size_t)it->lw * it->lh * 3);
        if (!rgb) return cli_error("out of memory for a %dx%d mask", it->lh, it->lw);
    }
    int rc = CLI_OK;
    if (cfg->mask_out) {
        image_colorize(it->labels, it->lw, it->lh, &cfg->palette, rgb);
        output_path(cfg, cfg->mask_out, it->path, path, sizeof(path));
        if (image_write_png(path, it->lw, it->lh, 3, rgb, err) != 0) rc = cli_error("%s", err);
    }
    if (rc == CLI_OK && cfg->overlay_out) {
        if (!it->photo.rgb) {
            cli_warn("%s: --overlay needs a photo; skipped for a tensor input", it->path);
        } else {
            image_overlay(&it->photo, it->labels, &cfg->palette, cfg->alpha, rgb);
            output_path(cfg, cfg->overlay_out, it->path, path, sizeof(path));
            if (image_write_png(path, it->lw, it->lh, 3, rgb, err) != 0) rc = cli_error("%s", err);
        }
    }
    if (rc == CLI_OK && cfg->labels_out) {
        output_path(cfg, cfg->labels_out, it->path, path, sizeof(path));
        if (image_write_png(path, it->lw, it->lh, 1, it->labels, err) != 0) rc = cli_error("%s", err);
    }
    free(rgb);
    return rc;
}

static int save_tensors(const run_cfg *cfg, semseg_session *s, const run_item *it, int index)
{
    char dir[4096], path[4200];
    semseg_error err = {0};
    if (cfg->multi) snprintf(dir, sizeof(dir), "%s/test_data_set_%d", cfg->tensors_dir, index);
    else snprintf(dir, sizeof(dir), "%s", cfg->tensors_dir);
    if (cfg->multi && cli_mkdirs(dir) != CLI_OK) return CLI_ERROR;
    if (it->tensor) {
        snprintf(path, sizeof(path), "%s/input_0.pb", dir);
        if (semseg_tensor_file_write(path, cfg->in.name, cfg->in.dtype, 4, it->in_dims, it->tensor, &err) !=
            SEMSEG_STATUS_OK)
            return cli_error("%s", err.message);
    }
    for (int k = 0; k < semseg_session_output_count(s); k++) {
        semseg_tensor_desc d;
        const void *data;
        if (semseg_session_output(s, k, &d, &data, &err) != SEMSEG_STATUS_OK) return cli_error("%s", err.message);
        snprintf(path, sizeof(path), "%s/output_%d.pb", dir, k);
        if (semseg_tensor_file_write(path, d.name, d.dtype, d.rank, d.dims, data, &err) != SEMSEG_STATUS_OK)
            return cli_error("%s", err.message);
    }
    return CLI_OK;
}

/* ---- one input ---- */

/* Reads a .pb/.npy tensor and sets it as graph input 0, as is. */
static int feed_tensor(semseg_session *s, run_item *it, double t0)
{
    semseg_tensor_file t;
    semseg_error err = {0};
    memset(&t, 0, sizeof(t));
    if (semseg_tensor_file_read(it->path, &t, &err) != SEMSEG_STATUS_OK) return cli_error("%s", err.message);
    it->t_load = cli_now_ms() - t0;
    semseg_status st = semseg_session_set_input(s, 0, t.dtype, t.rank, t.dims, t.data, t.nbytes, &err);
    semseg_tensor_file_clear(&t);
    if (st != SEMSEG_STATUS_OK) return cli_error("%s: %s", it->path, err.message);
    return CLI_OK;
}

/* Graph inputs other than the image: --input NAME=FILE, else the photo as
 * float RGB 0..255 for an input shaped like an image at the model's size. */
static int feed_other_inputs(const run_cfg *cfg, semseg_session *s, const run_item *it)
{
    int n = semseg_session_input_count(s);
    semseg_error err = {0};
    for (int k = 1; k < n; k++) {
        semseg_tensor_desc d;
        semseg_session_input_desc(s, k, &d);
        const char *file = NULL;
        size_t len = strlen(d.name);
        for (int i = 0; i < cfg->args->nopt; i++) {
            const cli_opt *o = &cfg->args->opts[i];
            if (strcmp(o->spec->name, "--input") == 0 && strncmp(o->value, d.name, len) == 0 && o->value[len] == '=')
                file = o->value + len + 1;
        }
        if (file) {
            semseg_tensor_file t;
            memset(&t, 0, sizeof(t));
            if (semseg_tensor_file_read(file, &t, &err) != SEMSEG_STATUS_OK) return cli_error("%s", err.message);
            semseg_status st = semseg_session_set_input(s, k, t.dtype, t.rank, t.dims, t.data, t.nbytes, &err);
            semseg_tensor_file_clear(&t);
            if (st != SEMSEG_STATUS_OK) return cli_error("--input %s=%s: %s", d.name, file, err.message);
            continue;
        }
        int nchw = cfg->in.layout == CLI_LAYOUT_NCHW;
        int64_t h = it->in_dims[nchw ? 2 : 1], w = it->in_dims[nchw ? 3 : 2];
        if (it->rgb && d.rank == 4 && d.dtype == SEMSEG_DTYPE_FLOAT && d.dims[nchw ? 1 : 3] == 3) {
            int64_t dims[4] = {1, nchw ? 3 : h, nchw ? h : w, nchw ? w : 3};
            size_t npx = (size_t)(h * w);
            float *x = malloc(sizeof(float) * npx * 3);
            if (!x) return cli_error("out of memory");
            for (size_t p = 0; p < npx; p++)
                for (int c = 0; c < 3; c++) x[nchw ? (size_t)c * npx + p : p * 3 + c] = it->rgb[p * 3 + c];
            semseg_status st = semseg_session_set_input(s, k, SEMSEG_DTYPE_FLOAT, 4, dims, x, sizeof(float) * npx * 3, &err);
            free(x);
            if (st != SEMSEG_STATUS_OK) return cli_error("%s: input '%s' (the photo as RGB 0..255): %s", it->path, d.name, err.message);
            continue;
        }
        return cli_error("%s: model input '%s' needs a value; pass --input %s=FILE.pb", cfg->model_path, d.name, d.name);
    }
    return CLI_OK;
}

static void report(const run_cfg *cfg, semseg_session *s, const run_item *it)
{
    char in_dims[128], out_dims[128];
    semseg_tensor_desc in, out;
    semseg_session_input_desc(s, 0, &in);
    semseg_session_output_desc(s, 0, &out);
    cli_format_dims(in_dims, sizeof(in_dims), in.rank, in.dims);
    cli_format_dims(out_dims, sizeof(out_dims), out.rank, out.dims);
    if (it->photo.rgb)
        printf("%s: %dx%d %s -> input %s [%s] %s -> output %s [%s]\n", it->path, it->photo.h, it->photo.w,
               it->photo.source, in.name, in_dims, cfg->in.layout == CLI_LAYOUT_NCHW ? "NCHW" : "NHWC",
               out.name, out_dims);
    else
        printf("%s: tensor -> input %s [%s] -> output %s [%s]\n", it->path, in.name, in_dims, out.name, out_dims);
    printf("  time: load %.1f ms, preprocess %.1f ms, inference %.1f ms, postprocess %.1f ms\n", it->t_load,
           it->t_pre, it->t_infer, it->t_post);
    if (!it->labels) return;

    size_t count[MAX_CLASSES] = {0}, total = (size_t)it->lw * it->lh;
    for (size_t i = 0; i < total; i++) count[it->labels[i]]++;
    int order[MAX_CLASSES], n = 0;
    for (int c = 0; c < MAX_CLASSES; c++)
        if (count[c]) order[n++] = c;
    for (int i = 1; i < n; i++) /* by share, largest first; few classes, insertion sort */
        for (int j = i; j > 0 && count[order[j]] > count[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    printf("  classes:");
    for (int i = 0; i < n; i++) {
        int c = order[i];
        if (c < cfg->n_names && cfg->names[c][0]) printf("%s %s %.2f%%", i ? "," : "", cfg->names[c], 100.0 * count[c] / total);
        else printf("%s %d %.2f%%", i ? "," : "", c, 100.0 * count[c] / total);
    }
    printf("\n");
}

static int run_one(const run_cfg *cfg, semseg_session *s, const char *path, int index)
{
    run_item it;
    memset(&it, 0, sizeof(it));
    it.path = path;
    semseg_error err = {0};
    char ierr[IMAGE_ERR_SIZE];
    double t0 = cli_now_ms();
    uint8_t *bytes;
    size_t size;
    int rc = CLI_ERROR;

    if (image_read_file(path, &bytes, &size, ierr) != 0) return cli_error("%s", ierr);
    image_kind kind = image_sniff(bytes, size);
    const char *ext = strrchr(path, '.');
    int is_pb = ext && strcmp(ext, ".pb") == 0;
    if (kind == IMAGE_KIND_PNG || kind == IMAGE_KIND_JPEG) {
        int dec = kind == IMAGE_KIND_PNG ? image_decode_png(path, bytes, size, &it.photo, ierr)
                                         : image_decode_jpeg(path, bytes, size, &it.photo, ierr);
        free(bytes);
        if (dec != 0) return cli_error("%s", ierr);
        it.t_load = cli_now_ms() - t0;
        double t1 = cli_now_ms();
        if (preprocess(cfg, &it) != CLI_OK) goto done;
        it.t_pre = cli_now_ms() - t1;
        t1 = cli_now_ms();
        size_t nbytes = (size_t)(it.in_dims[0] * it.in_dims[1] * it.in_dims[2] * it.in_dims[3]) *
                        (cfg->in.dtype == SEMSEG_DTYPE_UINT8 ? 1 : sizeof(float));
        if (semseg_session_set_input(s, 0, cfg->in.dtype, 4, it.in_dims, it.tensor, nbytes, &err) != SEMSEG_STATUS_OK) {
            cli_error("%s: %s", path, err.message);
            goto done;
        }
        if (feed_other_inputs(cfg, s, &it) != CLI_OK) goto done;
        it.t_infer = t1; /* finished below */
    } else if (kind == IMAGE_KIND_NPY || is_pb) {
        free(bytes);
        it.t_infer = cli_now_ms();
        if (feed_tensor(s, &it, t0) != CLI_OK || feed_other_inputs(cfg, s, &it) != CLI_OK) goto done;
    } else {
        free(bytes);
        return cli_error("%s: not a JPEG or PNG image (its first bytes match neither signature) nor a "
                         ".npy/.pb tensor; pass a photo or a tensor file",
                         path);
    }
    if (semseg_session_run(s, &err) != SEMSEG_STATUS_OK) {
        cli_error("%s: %s", path, err.message);
        goto done;
    }
    it.t_infer = cli_now_ms() - it.t_infer;

    double t2 = cli_now_ms();
    semseg_tensor_desc d;
    const void *data;
    if (semseg_session_output(s, 0, &d, &data, &err) != SEMSEG_STATUS_OK) {
        cli_error("%s: %s", path, err.message);
        goto done;
    }
    int want_labels = cfg->mask_out || cfg->overlay_out || cfg->labels_out || it.photo.rgb;
    if (want_labels && labels_from_output(cfg, &it, &d, data) != CLI_OK) goto done;
    if (it.labels && write_images(cfg, &it) != CLI_OK) goto done;
    if (cfg->tensors_dir && save_tensors(cfg, s, &it, index) != CLI_OK) goto done;
    it.t_post = cli_now_ms() - t2;
    report(cfg, s, &it);
    rc = CLI_OK;
done:
    image_free(&it.photo);
    free(it.tensor);
    free(it.rgb);
    free(it.labels);
    return rc;
}

int cli_cmd_run(int argc, char **argv)
{
    cli_args a;
    if (cli_parse("run", argc, argv, run_specs, &a) != CLI_OK) return CLI_ERROR;
    if (cli_has(&a, "--help")) {
        fputs(run_help, stdout);
        cli_args_free(&a);
        return CLI_OK;
    }
    if (a.npos < 2) {
        cli_args_free(&a);
        return cli_error("run: expected MODEL and at least one INPUT; see 'semseg-onnx run --help'");
    }
    run_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.model_path = a.pos[0];
    cfg.args = &a;
    semseg_options *opts = NULL;
    semseg_session *s = NULL;
    int rc = cli_make_options(&a, 0, &opts);
    if (rc == CLI_OK) rc = cli_load_model(cfg.model_path, opts, &s);
    if (rc == CLI_OK) {
        /* Tensor inputs do not need an image-shaped model; check the geometry
         * only when some input is not a tensor file. */
        int any_photo = 0;
        for (int i = 1; i < a.npos; i++) {
            const char *ext = strrchr(a.pos[i], '.');
            if (!ext || (strcmp(ext, ".pb") != 0 && strcmp(ext, ".npy") != 0)) any_photo = 1;
        }
        if (any_photo) rc = configure(&cfg, &a, s);
        else {
            cfg.tensors_dir = cli_get(&a, "--save-tensors");
            cfg.multi = a.npos > 2;
            image_palette_voc(&cfg.palette);
            if (cfg.tensors_dir) rc = cli_mkdirs(cfg.tensors_dir);
            if (rc == CLI_OK && (cli_has(&a, "--output") || cli_has(&a, "--labels-png")))
                rc = configure(&cfg, &a, s);
            if (rc == CLI_OK && cli_has(&a, "--overlay"))
                cli_warn("--overlay needs a photo; no overlay is written for tensor inputs");
        }
    }
    if (rc == CLI_OK) rc = cli_crf_configure(&a, opts, &cfg.crf);
    int failed = 0;
    for (int i = 1; rc == CLI_OK && i < a.npos; i++) {
        if (cfg.progress) fprintf(stderr, "semseg-onnx: [%d/%d] %s\n", i, a.npos - 1, a.pos[i]);
        if (run_one(&cfg, s, a.pos[i], i - 1) != CLI_OK) failed = 1;
        fflush(stdout);
    }
    if (rc == CLI_OK && failed) rc = CLI_ERROR;
    cli_crf_free(&cfg.crf);
    semseg_session_free(s);
    semseg_options_free(opts);
    free(cfg.names_buf);
    cli_args_free(&a);
    return rc;
}
