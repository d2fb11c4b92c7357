/*
 * Resize (opsets 10-19) for 4-D float tensors that keep N and C, threaded
 * over output rows: the 21x520x520 bilinear upsampling at the end of FCN and
 * DeepLab, the feature-map upsampling inside LR-ASPP and DeepLab's ASPP.
 *
 * ONNX: each output coordinate o maps to an input coordinate x by the
 * coordinate_transformation_mode (s = the scale, from `scales` when given,
 * else out_len / in_len):
 *   half_pixel          x = (o + 0.5) / s - 0.5
 *   pytorch_half_pixel  the same, but x = 0 when out_len == 1
 *   align_corners       x = o * (in_len - 1) / (out_len - 1)   (0 if out_len == 1)
 *   asymmetric          x = o / s
 * linear: x clamped to [0, in_len-1], interpolate floor(x) and floor(x)+1
 * (clamped); nearest: x rounded by nearest_mode (round_prefer_floor default),
 * clamped. Cubic, tf_crop_and_resize, antialias, axes and
 * keep_aspect_ratio_policy other than stretch are left to `ref`.
 * Tables of source indices and weights are built once at load. Linear
 * interpolates each needed input row horizontally once into a per-thread row
 * buffer (scratch) and blends two such rows per output row, so an 8x
 * upsampling does 8x less horizontal work than blending four pixels per output.
 */
#include <math.h>
#include <string.h>

#include "blas.h"

enum { RZ_HALF_PIXEL, RZ_PYTORCH_HALF_PIXEL, RZ_ALIGN_CORNERS, RZ_ASYMMETRIC };
enum { RZ_ROUND_PREFER_FLOOR, RZ_ROUND_PREFER_CEIL, RZ_FLOOR, RZ_CEIL };

typedef struct rz_state {
    int threads, linear;
    int64_t nc, h, w, oh, ow;
    int32_t *y0, *y1, *x0, *x1;   /* source rows/cols (nearest: y0/x0 only) */
    float *ly, *lx;               /* weight of y1/x1 */
    char name[96];          /* for error lines; the node may not outlive us */
} rz_state;

static int rz_ctm(const char *s)
{
    if (strcmp(s, "half_pixel") == 0) return RZ_HALF_PIXEL;
    if (strcmp(s, "pytorch_half_pixel") == 0) return RZ_PYTORCH_HALF_PIXEL;
    if (strcmp(s, "align_corners") == 0) return RZ_ALIGN_CORNERS;
    if (strcmp(s, "asymmetric") == 0) return RZ_ASYMMETRIC;
    return -1;
}

static int rz_nearest_mode(const char *s)
{
    if (strcmp(s, "round_prefer_floor") == 0) return RZ_ROUND_PREFER_FLOOR;
    if (strcmp(s, "round_prefer_ceil") == 0) return RZ_ROUND_PREFER_CEIL;
    if (strcmp(s, "floor") == 0) return RZ_FLOOR;
    if (strcmp(s, "ceil") == 0) return RZ_CEIL;
    return -1;
}

/* Index of the scales input for this opset, or -1 when it has none. */
static int rz_scales_input(const semseg_node_info *n)
{
    int i = n->opset < 11 ? 1 : 2;
    return semseg_input_present(n, i) && semseg_numel(n->inputs[i].rank, n->inputs[i].dims) > 0 ? i : -1;
}

static semseg_support rz_supports(const blas_ctx *ctx, const semseg_node_info *n)
{
    (void)ctx;
    if (n->n_inputs < 1 || n->n_outputs != 1) return SEMSEG_SUPPORT_NO;
    const semseg_value_info *x = &n->inputs[0], *y = &n->outputs[0];
    if (x->dtype != SEMSEG_DTYPE_FLOAT || y->dtype != SEMSEG_DTYPE_FLOAT || x->rank != 4 || y->rank != 4)
        return SEMSEG_SUPPORT_NO;
    if (x->dims[0] != y->dims[0] || x->dims[1] != y->dims[1]) return SEMSEG_SUPPORT_NO;
    for (int i = 0; i < 4; i++)
        if (x->dims[i] < 1 || y->dims[i] < 1) return SEMSEG_SUPPORT_NO;
    const char *mode = semseg_attr_string(n, "mode", "nearest");
    if (strcmp(mode, "nearest") != 0 && strcmp(mode, "linear") != 0) return SEMSEG_SUPPORT_NO;
    const char *ctm = semseg_attr_string(n, "coordinate_transformation_mode", "half_pixel");
    if (n->opset < 11) ctm = "asymmetric";
    if (rz_ctm(ctm) < 0) return SEMSEG_SUPPORT_NO;
    if (rz_nearest_mode(semseg_attr_string(n, "nearest_mode", "round_prefer_floor")) < 0) return SEMSEG_SUPPORT_NO;
    if (semseg_attr_int(n, "antialias", 0) != 0 || semseg_attr_find(n, "axes")) return SEMSEG_SUPPORT_NO;
    if (strcmp(semseg_attr_string(n, "keep_aspect_ratio_policy", "stretch"), "stretch") != 0)
        return SEMSEG_SUPPORT_NO;
    int si = rz_scales_input(n);
    if (si >= 0) {
        const semseg_value_info *sc = &n->inputs[si];
        if (!sc->data || sc->dtype != SEMSEG_DTYPE_FLOAT || semseg_numel(sc->rank, sc->dims) != 4)
            return SEMSEG_SUPPORT_NO;
        const float *f = sc->data;
        if (f[0] != 1.0f || f[1] != 1.0f || !(f[2] > 0.0f) || !(f[3] > 0.0f)) return SEMSEG_SUPPORT_NO;
    }
    return SEMSEG_SUPPORT_YES;
}

/* Source coordinate of output index o along one axis. */
static double rz_coord(int ctm, int64_t o, int64_t in_len, int64_t out_len, double scale)
{
    switch (ctm) {
    case RZ_ALIGN_CORNERS:
        return out_len == 1 ? 0.0 : (double)o * (double)(in_len - 1) / (double)(out_len - 1);
    case RZ_ASYMMETRIC:
        return (double)o / scale;
    case RZ_PYTORCH_HALF_PIXEL:
        if (out_len == 1) return 0.0;
        /* fall through */
    default:
        return ((double)o + 0.5) / scale - 0.5;
    }
}

static void rz_axis(int linear, int ctm, int nmode, int64_t in_len, int64_t out_len, double scale,
                    int32_t *i0, int32_t *i1, float *l)
{
    for (int64_t o = 0; o < out_len; o++) {
        double x = rz_coord(ctm, o, in_len, out_len, scale);
        if (linear) {
            if (x < 0.0) x = 0.0;
            if (x > (double)(in_len - 1)) x = (double)(in_len - 1);
            int64_t f = (int64_t)floor(x);
            i0[o] = (int32_t)f;
            i1[o] = (int32_t)(f + 1 < in_len ? f + 1 : in_len - 1);
            l[o] = (float)(x - (double)f);
        } else {
            double r;
            switch (nmode) {
            case RZ_ROUND_PREFER_CEIL: r = floor(x + 0.5); break;
            case RZ_FLOOR: r = floor(x); break;
            case RZ_CEIL: r = ceil(x); break;
            default: r = ceil(x - 0.5); break;   /* round half down */
            }
            if (r < 0.0) r = 0.0;
            if (r > (double)(in_len - 1)) r = (double)(in_len - 1);
            i0[o] = (int32_t)r;
        }
    }
}

static void rz_destroy(void *state)
{
    rz_state *s = state;
    if (!s) return;
    free(s->y0); free(s->y1); free(s->x0); free(s->x1); free(s->ly); free(s->lx);
    free(s);
}

static semseg_status rz_create(const blas_ctx *ctx, const semseg_node_info *n, void **out,
                               size_t *scratch_bytes, char *err)
{
    if (rz_supports(ctx, n) == SEMSEG_SUPPORT_NO)
        return blas_fail(err, SEMSEG_STATUS_UNSUPPORTED, "Resize '%s': unsupported form", n->name);
    rz_state *s = calloc(1, sizeof *s);
    if (!s) return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "Resize '%s': out of memory", n->name);
    const int64_t *xd = n->inputs[0].dims, *yd = n->outputs[0].dims;
    snprintf(s->name, sizeof s->name, "%s", n->name);
    s->threads = ctx->threads;
    s->linear = strcmp(semseg_attr_string(n, "mode", "nearest"), "linear") == 0;
    s->nc = xd[0] * xd[1]; s->h = xd[2]; s->w = xd[3]; s->oh = yd[2]; s->ow = yd[3];
    int ctm = rz_ctm(n->opset < 11 ? "asymmetric"
                     : semseg_attr_string(n, "coordinate_transformation_mode", "half_pixel"));
    int nmode = rz_nearest_mode(semseg_attr_string(n, "nearest_mode", "round_prefer_floor"));
    double sy = (double)s->oh / (double)s->h, sx = (double)s->ow / (double)s->w;
    int si = rz_scales_input(n);
    if (si >= 0) {
        const float *f = n->inputs[si].data;
        sy = f[2];
        sx = f[3];
    }
    s->y0 = malloc((size_t)s->oh * sizeof(int32_t));
    s->y1 = malloc((size_t)s->oh * sizeof(int32_t));
    s->ly = malloc((size_t)s->oh * sizeof(float));
    s->x0 = malloc((size_t)s->ow * sizeof(int32_t));
    s->x1 = malloc((size_t)s->ow * sizeof(int32_t));
    s->lx = malloc((size_t)s->ow * sizeof(float));
    if (!s->y0 || !s->y1 || !s->ly || !s->x0 || !s->x1 || !s->lx) {
        rz_destroy(s);
        return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "Resize '%s': out of memory", n->name);
    }
    rz_axis(s->linear, ctm, nmode, s->h, s->oh, sy, s->y0, s->y1, s->ly);
    rz_axis(s->linear, ctm, nmode, s->w, s->ow, sx, s->x0, s->x1, s->lx);
    if (s->linear) *scratch_bytes = (size_t)s->threads * 2 * (size_t)s->ow * sizeof(float);
    *out = s;
    return SEMSEG_STATUS_OK;
}

typedef struct rz_job {
    const rz_state *s;
    const float *x;
    float *y;
    float *rows;            /* 2 * ow floats per worker, or NULL */
} rz_job;

/* Input row y of plane, interpolated horizontally to the output width. */
static void rz_hrow(const rz_state *s, const float *plane, int32_t y, float *h)
{
    const float *r = plane + (int64_t)y * s->w;
    for (int64_t ox = 0; ox < s->ow; ox++) {
        const float a = r[s->x0[ox]], b = r[s->x1[ox]];
        h[ox] = a + s->lx[ox] * (b - a);
    }
}

/* Linear with row buffers: consecutive output rows of a plane mostly share
 * their two source rows, so those are interpolated once. */
static void rz_task_rows(void *arg, int64_t begin, int64_t end, int worker)
{
    const rz_job *j = arg;
    const rz_state *s = j->s;
    float *h0 = j->rows + (size_t)worker * 2 * (size_t)s->ow, *h1 = h0 + s->ow;
    int64_t plane_have = -1;
    int32_t y0_have = -1, y1_have = -1;
    for (int64_t t = begin; t < end; t++) {
        int64_t p = t / s->oh, oy = t % s->oh;
        const float *plane = j->x + p * s->h * s->w;
        int32_t y0 = s->y0[oy], y1 = s->y1[oy];
        if (p != plane_have || y0 != y0_have) {
            if (p == plane_have && y0 == y1_have) {   /* last row's lower row is this upper row */
                float *tmp = h0; h0 = h1; h1 = tmp;
            } else {
                rz_hrow(s, plane, y0, h0);
            }
            y1_have = -1;
        }
        if (y1 != y1_have) rz_hrow(s, plane, y1, h1);
        plane_have = p;
        y0_have = y0;
        y1_have = y1;
        const float ly = s->ly[oy];
        float *yr = j->y + t * s->ow;
        for (int64_t ox = 0; ox < s->ow; ox++) yr[ox] = h0[ox] + ly * (h1[ox] - h0[ox]);
    }
}

/* Tasks are output rows across all planes: (plane, oy). */
static void rz_task(void *arg, int64_t begin, int64_t end, int worker)
{
    (void)worker;
    const rz_job *j = arg;
    const rz_state *s = j->s;
    for (int64_t t = begin; t < end; t++) {
        int64_t p = t / s->oh, oy = t % s->oh;
        const float *plane = j->x + p * s->h * s->w;
        float *yr = j->y + t * s->ow;
        const float *r0 = plane + (int64_t)s->y0[oy] * s->w;
        if (!s->linear) {
            for (int64_t ox = 0; ox < s->ow; ox++) yr[ox] = r0[s->x0[ox]];
            continue;
        }
        const float *r1 = plane + (int64_t)s->y1[oy] * s->w;
        const float ly = s->ly[oy];
        for (int64_t ox = 0; ox < s->ow; ox++) {
            const int32_t a = s->x0[ox], b = s->x1[ox];
            const float lx = s->lx[ox];
            float top = r0[a] + lx * (r0[b] - r0[a]);
            float bot = r1[a] + lx * (r1[b] - r1[a]);
            yr[ox] = top + ly * (bot - top);
        }
    }
}

static semseg_status rz_run(void *state, const semseg_tensor *in, int32_t n_in,
                            const semseg_tensor *out, int32_t n_out, void *scratch, char *err)
{
    (void)n_in; (void)n_out;
    const rz_state *s = state;
    if (in[0].rank != 4 || in[0].dims[0] * in[0].dims[1] != s->nc || in[0].dims[2] != s->h || in[0].dims[3] != s->w)
        return blas_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT,
                         "Resize '%s': input 0 dims differ from the ones the kernel was created for", s->name);
    rz_job j = { s, semseg_tensor_data(&in[0]), semseg_tensor_data(&out[0]), s->linear ? scratch : NULL };
    int64_t rows = s->nc * s->oh;
    /* small resizes are not worth a thread start */
    int threads = rows * s->ow < (1 << 18) ? 1 : s->threads;   /* see eltwise.c */
    blas_parallel_for(threads, rows, 0, j.rows ? rz_task_rows : rz_task, &j);
    return SEMSEG_STATUS_OK;
}

const blas_op blas_op_resize = {
    /* .op       = */ "Resize",
    /* .supports = */ rz_supports,
    /* .create   = */ rz_create,
    /* .run      = */ rz_run,
    /* .destroy  = */ rz_destroy,
};
