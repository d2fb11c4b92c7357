/*
 * Window geometry for the ref plugin's Conv, ConvTranspose and pools, as ONNX
 * defines it (docs/Operators.md and the shape inference of onnx/defs/nn):
 *
 *   effective kernel  ek  = (kernel - 1) * dilation + 1
 *   explicit pads     out = floor((in + pad_begin + pad_end - ek) / stride) + 1
 *                     (ceil for pools with ceil_mode; a last window that would
 *                     start beyond input + pad_begin is dropped, as PyTorch
 *                     and ONNX's shape inference do)
 *   VALID             pads 0, same formula
 *   SAME_UPPER/LOWER  out = ceil(in / stride), total pad =
 *                     max(0, (out - 1) * stride + ek - in), the odd unit at
 *                     the end (UPPER) or the beginning (LOWER)
 *   ConvTranspose     out = stride * (in - 1) + output_padding + ek - pads,
 *                     or output_shape / SAME giving out and the pads derived
 *                     from it (odd unit at the beginning unless SAME_UPPER).
 */
#include <math.h>
#include <string.h>

#include "ref_nn_util.h"

/* Reads an INTS attribute of exactly count entries into v, or leaves the
 * defaults in v when it is absent. */
static semseg_status read_ints(const semseg_node_info *n, const char *name, int64_t count,
                               int64_t *v, char *err)
{
    const int64_t *a;
    int64_t k = semseg_attr_ints(n, name, &a);
    if (k < 0) return SEMSEG_STATUS_OK;
    if (k != count)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "%s %s: attribute %s has %lld values, expected %lld",
                        n->op, n->name, name, (long long)k, (long long)count);
    memcpy(v, a, (size_t)count * sizeof *v);
    return SEMSEG_STATUS_OK;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    /* b > 0; rounds toward +infinity for either sign of a */
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Output size and pads of a Conv or pool axis; returns the size (may be <= 0). */
static int64_t forward_size(nn_window *w, int i, const char *auto_pad, int ceil_mode)
{
    int64_t ek = (w->kernel[i] - 1) * w->dilation[i] + 1;
    if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
        int64_t out = ceil_div(w->in[i], w->stride[i]);
        int64_t total = (out - 1) * w->stride[i] + ek - w->in[i];
        if (total < 0) total = 0;
        int64_t small = total / 2;
        int upper = strcmp(auto_pad, "SAME_UPPER") == 0;
        w->pad_begin[i] = upper ? small : total - small;
        w->pad_end[i] = total - w->pad_begin[i];
        return out;
    }
    if (strcmp(auto_pad, "VALID") == 0) w->pad_begin[i] = w->pad_end[i] = 0;
    int64_t span = w->in[i] + w->pad_begin[i] + w->pad_end[i] - ek;
    if (span < 0) return 0;
    if (!ceil_mode) return floor_div(span, w->stride[i]) + 1;
    int64_t out = ceil_div(span, w->stride[i]) + 1;
    if ((out - 1) * w->stride[i] >= w->in[i] + w->pad_begin[i]) out--;
    return out;
}

static semseg_status transpose_size(const semseg_node_info *n, nn_window *w, const char *auto_pad,
                                    char *err)
{
    int nsp = w->nsp, off = NN_SPATIAL - nsp;
    int64_t outpad[NN_SPATIAL] = { 0, 0, 0 };
    semseg_status st = read_ints(n, "output_padding", nsp, outpad + off, err);
    if (st) return st;

    const int64_t *oshape = NULL;
    int64_t k = semseg_attr_ints(n, "output_shape", &oshape);
    if (k >= 0 && k != nsp && k != nsp + 2)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "%s %s: output_shape has %lld values for %d spatial axes",
                        n->op, n->name, (long long)k, nsp);
    int same = strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0;
    for (int i = off; i < NN_SPATIAL; i++) {
        int64_t ek = (w->kernel[i] - 1) * w->dilation[i] + 1;
        int64_t full = w->stride[i] * (w->in[i] - 1) + outpad[i] + ek;
        if (outpad[i] < 0 || (outpad[i] >= w->stride[i] && outpad[i] >= w->dilation[i]))
            return ref_fail(err, SEMSEG_STATUS_MODEL, "%s %s: output_padding %lld must be below stride or dilation",
                            n->op, n->name, (long long)outpad[i]);
        if (k >= 0 || same) {
            int64_t out = k >= 0 ? oshape[k - nsp + (i - off)] : w->in[i] * w->stride[i];
            /* total may be negative (output_shape larger than the natural
             * size): halves round toward -infinity, as ONNX's reference does */
            int64_t total = full - out, half = floor_div(total, 2);
            int upper = strcmp(auto_pad, "SAME_UPPER") == 0;
            w->pad_begin[i] = upper ? half : total - half;
            w->pad_end[i] = total - w->pad_begin[i];
            w->out[i] = out;
        } else {
            if (strcmp(auto_pad, "VALID") == 0) w->pad_begin[i] = w->pad_end[i] = 0;
            w->out[i] = full - w->pad_begin[i] - w->pad_end[i];
        }
    }
    return SEMSEG_STATUS_OK;
}

semseg_status nn_window_read(const semseg_node_info *n, nn_window_kind kind, int nsp,
                             const int64_t *x_dims, const int64_t *kernel,
                             nn_window *w, char *err)
{
    if (nsp < 1 || nsp > NN_SPATIAL)
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "%s %s: %d spatial axes (ref does 1 to 3)",
                        n->op, n->name, nsp);
    int off = NN_SPATIAL - nsp;
    for (int i = 0; i < NN_SPATIAL; i++) {
        w->in[i] = i < off ? 1 : x_dims[i - off];
        w->out[i] = w->kernel[i] = w->stride[i] = w->dilation[i] = 1;
        w->pad_begin[i] = w->pad_end[i] = 0;
    }
    w->nsp = nsp;

    const int64_t *ks;
    int64_t nk = semseg_attr_ints(n, "kernel_shape", &ks);
    if (nk < 0 && !kernel)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "%s %s: kernel_shape is required", n->op, n->name);
    if (nk >= 0 && nk != nsp)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "%s %s: kernel_shape has %lld values for %d spatial axes",
                        n->op, n->name, (long long)nk, nsp);
    for (int i = 0; i < nsp; i++) {
        if (nk >= 0 && kernel && ks[i] != kernel[i])
            return ref_fail(err, SEMSEG_STATUS_MODEL, "%s %s: kernel_shape[%d]=%lld but the weight says %lld",
                            n->op, n->name, i, (long long)ks[i], (long long)kernel[i]);
        w->kernel[off + i] = nk >= 0 ? ks[i] : kernel[i];
    }

    int64_t pads[2 * NN_SPATIAL] = { 0 };
    semseg_status st;
    if ((st = read_ints(n, "strides", nsp, w->stride + off, err)) ||
        (st = read_ints(n, "dilations", nsp, w->dilation + off, err)) ||
        (st = read_ints(n, "pads", 2 * nsp, pads, err)))
        return st;
    for (int i = 0; i < nsp; i++) {
        w->pad_begin[off + i] = pads[i];
        w->pad_end[off + i] = pads[nsp + i];
    }
    for (int i = off; i < NN_SPATIAL; i++) {
        if (w->kernel[i] < 1 || w->stride[i] < 1 || w->dilation[i] < 1 ||
            w->pad_begin[i] < 0 || w->pad_end[i] < 0)
            return ref_fail(err, SEMSEG_STATUS_MODEL,
                            "%s %s: axis %d has kernel %lld, stride %lld, dilation %lld, pads %lld/%lld",
                            n->op, n->name, i - off, (long long)w->kernel[i], (long long)w->stride[i],
                            (long long)w->dilation[i], (long long)w->pad_begin[i], (long long)w->pad_end[i]);
    }

    const char *auto_pad = semseg_attr_string(n, "auto_pad", "NOTSET");
    if (strcmp(auto_pad, "NOTSET") != 0 && strcmp(auto_pad, "VALID") != 0 &&
        strcmp(auto_pad, "SAME_UPPER") != 0 && strcmp(auto_pad, "SAME_LOWER") != 0 && auto_pad[0] != '\0')
        return ref_fail(err, SEMSEG_STATUS_MODEL, "%s %s: unknown auto_pad '%s'", n->op, n->name, auto_pad);

    if (kind == NN_WINDOW_CONV_TRANSPOSE) {
        if ((st = transpose_size(n, w, auto_pad, err))) return st;
    } else {
        int ceil_mode = kind == NN_WINDOW_POOL && semseg_attr_int(n, "ceil_mode", 0) != 0;
        for (int i = off; i < NN_SPATIAL; i++) w->out[i] = forward_size(w, i, auto_pad, ceil_mode);
    }
    for (int i = off; i < NN_SPATIAL; i++)
        if (w->out[i] < 1)
            return ref_fail(err, SEMSEG_STATUS_MODEL, "%s %s: spatial axis %d of size %lld gives output size %lld",
                            n->op, n->name, i - off, (long long)w->in[i], (long long)w->out[i]);
    return SEMSEG_STATUS_OK;
}

void nn_tap_range(int64_t offset, int64_t stride, int64_t size, int64_t count, int64_t *lo, int64_t *hi)
{
    int64_t a = ceil_div(-offset, stride), b = floor_div(size - 1 - offset, stride) + 1;
    *lo = a < 0 ? 0 : a;
    *hi = b > count ? count : b;
}

semseg_status nn_check_output(const semseg_node_info *n, int out_index, int rank,
                              const int64_t *dims, char *err)
{
    const semseg_value_info *o = &n->outputs[out_index];
    int same = o->rank == rank;
    for (int i = 0; same && i < rank; i++) same = o->dims[i] == dims[i];
    if (same) return SEMSEG_STATUS_OK;
    char want[128] = "", got[128] = "";
    for (int i = 0; i < rank; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? "x" : "", (long long)dims[i]);
    for (int i = 0; i < o->rank; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? "x" : "", (long long)o->dims[i]);
    return ref_fail(err, SEMSEG_STATUS_MODEL, "%s %s: output %d is [%s], the op computes [%s]",
                    n->op, n->name, out_index, got, want);
}

semseg_status nn_check_float_input(const semseg_node_info *n, int i, int min_rank, int max_rank,
                                   char *err)
{
    if (!semseg_input_present(n, i))
        return ref_fail(err, SEMSEG_STATUS_MODEL, "%s %s: input %d is missing", n->op, n->name, i);
    const semseg_value_info *v = &n->inputs[i];
    if (v->dtype != SEMSEG_DTYPE_FLOAT)
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "%s %s: input %d has dtype %d, ref does float only",
                        n->op, n->name, i, (int)v->dtype);
    if (v->rank < min_rank || v->rank > max_rank)
        return ref_fail(err, SEMSEG_STATUS_MODEL, "%s %s: input %d has rank %d, expected %d..%d",
                        n->op, n->name, i, (int)v->rank, min_rank, max_rank);
    return SEMSEG_STATUS_OK;
}

/* ---- Resize / Upsample ----
 *
 * Separable: each resized axis is one pass that turns every line along that
 * axis into out[a] weighted sums of input elements ("taps"). Coordinates and
 * weights follow ONNX's Resize (docs/Operators.md and onnx/reference/ops/
 * op_resize.py): the output coordinate x maps to x_ori by the transformation
 * mode; neighbours outside the input repeat the edge element, except that
 * exclude_outside gives them weight 0 (and renormalises), and that
 * tf_crop_and_resize writes extrapolation_value wherever x_ori falls outside
 * [0, in - 1]. Antialiasing (opset 18, linear/cubic) widens the kernel by 1/scale
 * when shrinking. */

typedef struct nn_taps {
    int64_t *first;     /* out + 1 offsets into idx/w */
    int64_t *idx;
    double *w;
    unsigned char *outside;  /* per output index: write extrapolation_value */
} nn_taps;

static void taps_free(nn_taps *t)
{
    free(t->first);
    free(t->idx);
    free(t->w);
    free(t->outside);
}

static double map_coord(const nn_resize_spec *sp, double x, int64_t in, int64_t out, double scale,
                        double roi_start, double roi_end)
{
    double out_w = scale * (double)in;   /* the reference uses the unrounded length */
    switch (sp->coord) {
    case NN_COORD_HALF_PIXEL_SYMMETRIC: {
        double adjustment = (double)out / out_w;
        double offset = (double)in / 2.0 * (1.0 - adjustment);
        return offset + (x + 0.5) / scale - 0.5;
    }
    case NN_COORD_PYTORCH_HALF_PIXEL: return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case NN_COORD_ALIGN_CORNERS: return out_w == 1.0 ? 0.0 : x * (double)(in - 1) / (out_w - 1.0);
    case NN_COORD_ASYMMETRIC: return x / scale;
    case NN_COORD_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / scale;
    case NN_COORD_TF_CROP_AND_RESIZE: {
        double span = (roi_end - roi_start) * (double)(in - 1);
        double xo = out_w == 1.0 ? span / 2.0 : x * span / (out_w - 1.0);
        return xo + roi_start * (double)(in - 1);
    }
    case NN_COORD_HALF_PIXEL:
    default: return (x + 0.5) / scale - 0.5;
    }
}

static int64_t nearest_index(const nn_resize_spec *sp, double xo, double scale)
{
    double f = floor(xo);
    if (xo == f) return (int64_t)f;
    double frac = xo - f;
    switch (sp->nearest) {
    case NN_NEAREST_ROUND_PREFER_CEIL: return (int64_t)(frac < 0.5 ? f : f + 1);
    case NN_NEAREST_FLOOR: return (int64_t)f;
    case NN_NEAREST_CEIL: return (int64_t)f + 1;
    case NN_NEAREST_SIMPLE: return (int64_t)(scale < 1.0 ? f + 1 : f);
    case NN_NEAREST_ROUND_PREFER_FLOOR:
    default: return (int64_t)(frac <= 0.5 ? f : f + 1);
    }
}

static double cubic_weight(double a, double x)
{
    x = fabs(x);
    if (x <= 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
    return 0.0;
}

/* Writes the taps of output index j; returns how many (at most max). */
static int64_t taps_of(const nn_resize_spec *sp, double xo, int64_t in, double scale,
                       int64_t *idx, double *w, int64_t max)
{
    if (sp->mode == NN_RESIZE_NEAREST) {
        int64_t i = nearest_index(sp, xo, scale);
        idx[0] = i < 0 ? 0 : i >= in ? in - 1 : i;
        w[0] = 1.0;
        return 1;
    }
    /* As the reference: x0 is the neighbour at or left of xo, with xo - x0 in (0, 1]. */
    double f = floor(xo);
    int64_t x0 = (int64_t)f - (xo == f);
    double ratio = xo - (double)x0;
    double sa = sp->antialias && scale < 1.0 ? scale : 1.0;
    double reach = sp->mode == NN_RESIZE_LINEAR ? 1.0 : 2.0;
    int64_t start = (int64_t)floor(-reach / sa) + 1, end = 1 - start;
    int64_t n = 0;
    double sum = 0.0;
    for (int64_t j = start; j <= end && n < max; j++, n++) {
        double d = ((double)j - ratio) * sa;
        double v = sp->mode == NN_RESIZE_LINEAR ? fmax(0.0, 1.0 - fabs(d)) : cubic_weight(sp->cubic_a, d);
        int64_t i = x0 + j;
        if (sp->exclude_outside && (i < 0 || i >= in)) v = 0.0;
        idx[n] = i < 0 ? 0 : i >= in ? in - 1 : i;
        w[n] = v;
        sum += v;
    }
    if ((sa < 1.0 || sp->exclude_outside) && sum != 0.0)
        for (int64_t k = 0; k < n; k++) w[k] /= sum;
    return n;
}

static semseg_status taps_build(const nn_resize_spec *sp, int64_t in, int64_t out, double scale,
                                double roi_start, double roi_end, nn_taps *t, const char *what, char *err)
{
    double sa = sp->antialias && scale < 1.0 ? scale : 1.0;
    int64_t per = sp->mode == NN_RESIZE_NEAREST ? 1 : 2 * ((int64_t)ceil(2.0 / sa) + 2);
    t->first = malloc((size_t)(out + 1) * sizeof *t->first);
    t->idx = malloc((size_t)(out * per) * sizeof *t->idx);
    t->w = malloc((size_t)(out * per) * sizeof *t->w);
    t->outside = calloc((size_t)out, 1);
    if (!t->first || !t->idx || !t->w || !t->outside)
        return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "%s: out of memory for %lld resize taps", what,
                        (long long)(out * per));
    int64_t k = 0;
    for (int64_t j = 0; j < out; j++) {
        t->first[j] = k;
        double xo = map_coord(sp, (double)j, in, out, scale, roi_start, roi_end);
        if (sp->coord == NN_COORD_TF_CROP_AND_RESIZE && (xo < 0.0 || xo > (double)(in - 1))) {
            t->outside[j] = 1;
            continue;
        }
        k += taps_of(sp, xo, in, scale, t->idx + k, t->w + k, per);
    }
    t->first[out] = k;
    return SEMSEG_STATUS_OK;
}

/* True when the taps copy the axis unchanged. */
static int taps_identity(const nn_taps *t, int64_t in, int64_t out)
{
    if (in != out) return 0;
    for (int64_t j = 0; j < out; j++)
        if (t->outside[j] || t->first[j + 1] - t->first[j] != 1 || t->idx[t->first[j]] != j ||
            t->w[t->first[j]] != 1.0)
            return 0;
    return 1;
}

/* One pass along axis a: src has dims, dst gets dims with dims[a] = out. */
static void resize_pass(const nn_taps *t, double extrapolation, int rank, const int64_t *dims, int a,
                        int64_t out, const double *src, double *dst)
{
    int64_t outer = semseg_numel(a, dims), inner = semseg_numel(rank - a - 1, dims + a + 1);
    int64_t in = dims[a];
    for (int64_t o = 0; o < outer; o++) {
        const double *s = src + o * in * inner;
        double *d = dst + o * out * inner;
        for (int64_t j = 0; j < out; j++) {
            double *dj = d + j * inner;
            if (t->outside[j]) {
                for (int64_t i = 0; i < inner; i++) dj[i] = extrapolation;
                continue;
            }
            for (int64_t i = 0; i < inner; i++) dj[i] = 0.0;
            for (int64_t k = t->first[j]; k < t->first[j + 1]; k++) {
                const double *sk = s + t->idx[k] * inner;
                double wk = t->w[k];
                if (wk == 0.0) continue;
                for (int64_t i = 0; i < inner; i++) dj[i] += wk * sk[i];
            }
        }
    }
}

static double load_elem(const void *p, int32_t dtype, int64_t i)
{
    switch (dtype) {
    case SEMSEG_DTYPE_UINT8: return ((const uint8_t *)p)[i];
    case SEMSEG_DTYPE_INT8: return ((const int8_t *)p)[i];
    default: return ((const float *)p)[i];
    }
}

static void store_elem(void *p, int32_t dtype, int64_t i, double v)
{
    if (dtype == SEMSEG_DTYPE_FLOAT) {
        ((float *)p)[i] = (float)v;
        return;
    }
    double lo = dtype == SEMSEG_DTYPE_UINT8 ? 0.0 : -128.0, hi = dtype == SEMSEG_DTYPE_UINT8 ? 255.0 : 127.0;
    v = nearbyint(v);
    v = v < lo ? lo : v > hi ? hi : v;
    if (dtype == SEMSEG_DTYPE_UINT8) ((uint8_t *)p)[i] = (uint8_t)v;
    else ((int8_t *)p)[i] = (int8_t)v;
}

semseg_status nn_resize(const nn_resize_spec *sp, int rank, const int64_t *in_dims,
                        const int64_t *out_dims, const double *scale, const double *roi,
                        int32_t dtype, const void *x, void *y, const char *what, char *err)
{
    nn_taps taps[SEMSEG_MAX_RANK];
    int order[SEMSEG_MAX_RANK], n_pass = 0;
    memset(taps, 0, sizeof taps);
    semseg_status st = SEMSEG_STATUS_OK;
    double *buf[2] = { NULL, NULL };
    int64_t dims[SEMSEG_MAX_RANK];

    for (int a = 0; a < rank && !st; a++) {
        if (in_dims[a] < 1 || out_dims[a] < 1 || !(scale[a] > 0.0)) {
            st = ref_fail(err, SEMSEG_STATUS_MODEL, "%s: axis %d resizes %lld to %lld with scale %g", what, a,
                          (long long)in_dims[a], (long long)out_dims[a], scale[a]);
            break;
        }
        st = taps_build(sp, in_dims[a], out_dims[a], scale[a], roi ? roi[a] : 0.0, roi ? roi[rank + a] : 1.0,
                        &taps[a], what, err);
        if (!st && !taps_identity(&taps[a], in_dims[a], out_dims[a])) order[n_pass++] = a;
    }
    /* Shrinking axes first keeps the intermediate buffers small. */
    for (int i = 1; i < n_pass; i++)
        for (int j = i; j > 0; j--) {
            int p = order[j - 1], q = order[j];
            if ((double)out_dims[p] / in_dims[p] <= (double)out_dims[q] / in_dims[q]) break;
            order[j - 1] = q;
            order[j] = p;
        }

    int64_t in_n = semseg_numel(rank, in_dims), biggest = in_n;
    memcpy(dims, in_dims, (size_t)rank * sizeof *dims);
    for (int i = 0; i < n_pass; i++) {
        dims[order[i]] = out_dims[order[i]];
        int64_t m = semseg_numel(rank, dims);
        if (m > biggest) biggest = m;
    }
    if (!st) {
        buf[0] = malloc((size_t)biggest * sizeof(double));
        buf[1] = n_pass > 0 ? malloc((size_t)biggest * sizeof(double)) : NULL;
        if (!buf[0] || (n_pass > 0 && !buf[1]))
            st = ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "%s: out of memory for %lld resize values", what,
                          (long long)biggest);
    }
    if (!st) {
        double *src = buf[0], *dst = buf[1];
        for (int64_t i = 0; i < in_n; i++) src[i] = load_elem(x, dtype, i);
        memcpy(dims, in_dims, (size_t)rank * sizeof *dims);
        for (int i = 0; i < n_pass; i++) {
            int a = order[i];
            resize_pass(&taps[a], sp->extrapolation, rank, dims, a, out_dims[a], src, dst);
            dims[a] = out_dims[a];
            double *tmp = src;
            src = dst;
            dst = tmp;
        }
        int64_t out_n = semseg_numel(rank, out_dims);
        for (int64_t i = 0; !st && i < out_n; i++) store_elem(y, dtype, i, src[i]);
    }
    free(buf[0]);
    free(buf[1]);
    for (int a = 0; a < rank; a++) taps_free(&taps[a]);
    return st;
}
