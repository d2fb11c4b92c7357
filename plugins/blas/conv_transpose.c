/*
 * ConvTranspose (2-D, NCHW, float32) as GEMM + col2im.
 *
 * ONNX: each input pixel scatters a kernel-sized patch: for every
 *   oy = iy*sh - pt + ky*dh, ox = ix*sw - pl + kx*dw inside Y,
 *   Y[n,co,oy,ox] += X[n,ci,iy,ix] * W[ci,co',ky,kx]      (co' = co within its group)
 * plus B[co]. W is [Cin, Cout/group, kh, kw]. Output dims come from shape
 * inference (output_padding / output_shape are settled there); we need only
 * the leading pads, so we take explicit pads and refuse auto_pad SAME_* and
 * output_shape without pads, leaving those to `ref`.
 *
 * W is transposed once at load to Wt[g][co'*kh*kw + ky*kw + kx][ci], so one
 * GEMM gives col = Wt * X for a block of output channels and a tile of input
 * rows, which col2im then adds into Y. Threads take disjoint blocks of output
 * channels, so their scatters never touch the same pixels.
 */
#include <string.h>

#include <cblas.h>

#include "blas.h"

#define CT_TILE_BYTES ((size_t)2 << 20)
#define CT_MIN_ROWS 64        /* GEMM rows (co * kh * kw) per block, at least */

typedef struct ct_state {
    int threads;
    int64_t n, c, h, w, m, oh, ow;
    int64_t kh, kw, sh, sw, dh, dw, pt, pl;
    int64_t group, cg, mg;     /* in/out channels per group */
    int64_t cob;               /* output channels per block */
    int64_t tile_rows;         /* input rows per GEMM tile */
    float *wt;                 /* [group][mg*kh*kw][cg] */
    float *bias;
    blas_epilogue epi;
    char name[96];          /* for error lines; the node may not outlive us */
} ct_state;

static int ct_pair(const semseg_node_info *n, const char *name, int64_t *a, int64_t *b)
{
    const int64_t *v;
    int64_t cnt = semseg_attr_ints(n, name, &v);
    if (cnt < 0) { *a = *b = 1; return 1; }
    if (cnt != 2 || v[0] < 1 || v[1] < 1) return 0;
    *a = v[0];
    *b = v[1];
    return 1;
}

static semseg_support ct_supports(const blas_ctx *ctx, const semseg_node_info *n)
{
    (void)ctx;
    if (n->n_inputs < 2 || n->n_outputs != 1) return SEMSEG_SUPPORT_NO;
    if (!blas_all_float(n, 4) || n->inputs[0].rank != 4 || n->inputs[1].rank != 4 || !n->inputs[1].data)
        return SEMSEG_SUPPORT_NO;
    blas_epilogue e;
    int fused = blas_epilogue_from_node(n, 2, &e);
    int bi = e.residual == 2 ? -1 : 2;
    if (bi >= 0 && semseg_input_present(n, bi) && (!n->inputs[bi].data || n->inputs[bi].rank != 1))
        return SEMSEG_SUPPORT_NO;
    int64_t a, b;
    if (!ct_pair(n, "strides", &a, &b) || !ct_pair(n, "dilations", &a, &b)) return SEMSEG_SUPPORT_NO;
    const char *ap = semseg_attr_string(n, "auto_pad", "NOTSET");
    const int64_t *p;
    int64_t np = semseg_attr_ints(n, "pads", &p);
    if (strcmp(ap, "NOTSET") != 0 && strcmp(ap, "VALID") != 0) return SEMSEG_SUPPORT_NO;
    if (np >= 0 && np != 4) return SEMSEG_SUPPORT_NO;
    if (np < 0 && semseg_attr_find(n, "output_shape")) return SEMSEG_SUPPORT_NO;
    int64_t g = semseg_attr_int(n, "group", 1);
    const int64_t *xd = n->inputs[0].dims, *wd = n->inputs[1].dims;
    if (g < 1 || xd[1] != wd[0] || xd[1] % g || n->outputs[0].dims[1] != wd[1] * g) return SEMSEG_SUPPORT_NO;
    return fused ? SEMSEG_SUPPORT_FUSED : SEMSEG_SUPPORT_YES;
}

static semseg_status ct_create(const blas_ctx *ctx, const semseg_node_info *n, void **out,
                               size_t *scratch_bytes, char *err)
{
    if (ct_supports(ctx, n) == SEMSEG_SUPPORT_NO)
        return blas_fail(err, SEMSEG_STATUS_UNSUPPORTED, "ConvTranspose '%s': unsupported form", n->name);
    ct_state *s = calloc(1, sizeof *s);
    if (!s) return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "ConvTranspose '%s': out of memory", n->name);
    snprintf(s->name, sizeof s->name, "%s", n->name);
    s->threads = ctx->threads;
    blas_epilogue_from_node(n, 2, &s->epi);
    const int64_t *xd = n->inputs[0].dims, *wd = n->inputs[1].dims, *yd = n->outputs[0].dims;
    s->n = xd[0]; s->c = xd[1]; s->h = xd[2]; s->w = xd[3];
    s->m = yd[1]; s->oh = yd[2]; s->ow = yd[3];
    s->kh = wd[2]; s->kw = wd[3];
    s->group = semseg_attr_int(n, "group", 1);
    s->cg = s->c / s->group;
    s->mg = s->m / s->group;
    ct_pair(n, "strides", &s->sh, &s->sw);
    ct_pair(n, "dilations", &s->dh, &s->dw);
    const int64_t *p;
    if (strcmp(semseg_attr_string(n, "auto_pad", "NOTSET"), "VALID") != 0 &&
        semseg_attr_ints(n, "pads", &p) == 4) {
        s->pt = p[0];
        s->pl = p[1];
    }
    const int64_t kk = s->kh * s->kw, rows = s->mg * kk;
    s->wt = malloc((size_t)(s->group * rows * s->cg) * sizeof(float));
    int bi = s->epi.residual == 2 ? -1 : 2;
    if (bi >= 0 && semseg_input_present(n, bi))
        s->bias = blas_copy_floats(n->inputs[bi].data, s->m);
    if (!s->wt || (bi >= 0 && semseg_input_present(n, bi) && !s->bias)) {
        free(s->wt); free(s->bias); free(s);
        return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "ConvTranspose '%s': out of memory packing weights", n->name);
    }
    const float *w = n->inputs[1].data;   /* [c][mg][kk] */
    for (int64_t g = 0; g < s->group; g++)
        for (int64_t ci = 0; ci < s->cg; ci++)
            for (int64_t r = 0; r < rows; r++)
                s->wt[(g * rows + r) * s->cg + ci] = w[((g * s->cg + ci) * rows) + r];

    s->cob = (CT_MIN_ROWS + kk - 1) / kk;
    if (s->cob > s->mg) s->cob = s->mg;
    int64_t cols = (int64_t)(CT_TILE_BYTES / sizeof(float)) / (s->cob * kk);
    s->tile_rows = cols / s->w;
    if (s->tile_rows < 1) s->tile_rows = 1;
    if (s->tile_rows > s->h) s->tile_rows = s->h;
    *scratch_bytes = (size_t)s->threads * (size_t)(s->cob * kk * s->tile_rows * s->w) * sizeof(float);
    *out = s;
    return SEMSEG_STATUS_OK;
}

typedef struct ct_job {
    const ct_state *s;
    const float *x;
    float *y;
    const float *res;
    float *scratch;
    int64_t blocks;            /* channel blocks per group */
} ct_job;

/* Adds col[(co*kh+ky)*kw+kx][r*w+ix] (input rows iy0..) into y's channels. */
static void ct_col2im(const ct_state *s, const float *col, int64_t nco, int64_t iy0, int64_t rows, float *y)
{
    const int64_t ncols = rows * s->w, ohw = s->oh * s->ow;
    for (int64_t co = 0; co < nco; co++) {
        float *yc = y + co * ohw;
        for (int64_t ky = 0; ky < s->kh; ky++)
            for (int64_t kx = 0; kx < s->kw; kx++) {
                const float *src = col + ((co * s->kh + ky) * s->kw + kx) * ncols;
                int64_t off = kx * s->dw - s->pl;      /* ox = ix*sw + off */
                int64_t lo = off >= 0 ? 0 : (-off + s->sw - 1) / s->sw;
                int64_t hi = s->ow - off <= 0 ? 0 : (s->ow - off + s->sw - 1) / s->sw;
                if (hi > s->w) hi = s->w;
                for (int64_t r = 0; r < rows; r++) {
                    int64_t oy = (iy0 + r) * s->sh - s->pt + ky * s->dh;
                    if (oy < 0 || oy >= s->oh) continue;
                    float *yr = yc + oy * s->ow + off;
                    const float *sr = src + r * s->w;
                    if (s->sw == 1)
                        for (int64_t ix = lo; ix < hi; ix++) yr[ix] += sr[ix];
                    else
                        for (int64_t ix = lo; ix < hi; ix++) yr[ix * s->sw] += sr[ix];
                }
            }
    }
}

static void ct_task(void *arg, int64_t begin, int64_t end, int worker)
{
    const ct_job *j = arg;
    const ct_state *s = j->s;
    const int64_t kk = s->kh * s->kw, hw = s->h * s->w, ohw = s->oh * s->ow;
    float *col = j->scratch + (size_t)worker * (size_t)(s->cob * kk * s->tile_rows * s->w);
    for (int64_t t = begin; t < end; t++) {
        int64_t img = t / (s->group * j->blocks);
        int64_t g = (t / j->blocks) % s->group;
        int64_t co0 = (t % j->blocks) * s->cob;
        int64_t nco = s->mg - co0 < s->cob ? s->mg - co0 : s->cob;
        int64_t ch0 = g * s->mg + co0;                      /* first output channel */
        float *y = j->y + (img * s->m + ch0) * ohw;
        const float *res = j->res ? j->res + (img * s->m + ch0) * ohw : NULL;
        for (int64_t co = 0; co < nco; co++) {
            float b = s->bias ? s->bias[ch0 + co] : 0.0f;
            float *yc = y + co * ohw;
            const float *rc = res ? res + co * ohw : NULL;
            if (rc) for (int64_t i = 0; i < ohw; i++) yc[i] = rc[i] + b;  /* safe when aliased */
            else for (int64_t i = 0; i < ohw; i++) yc[i] = b;
        }
        const float *x = j->x + (img * s->c + g * s->cg) * hw;
        const float *wt = s->wt + (g * s->mg + co0) * kk * s->cg;
        for (int64_t iy0 = 0; iy0 < s->h; iy0 += s->tile_rows) {
            int64_t rows = s->h - iy0 < s->tile_rows ? s->h - iy0 : s->tile_rows;
            int64_t ncols = rows * s->w;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(nco * kk), (int)ncols, (int)s->cg,
                        1.0f, wt, (int)s->cg, x + iy0 * s->w, (int)hw, 0.0f, col, (int)ncols);
            ct_col2im(s, col, nco, iy0, rows, y);
        }
        blas_epilogue_apply(&s->epi, y, ohw, nco, ohw, NULL, NULL, 0);
    }
}

static semseg_status ct_run(void *state, const semseg_tensor *in, int32_t n_in,
                            const semseg_tensor *out, int32_t n_out, void *scratch, char *err)
{
    (void)n_out;
    const ct_state *s = state;
    const semseg_tensor *xt = &in[0];
    if (xt->rank != 4 || xt->dims[0] != s->n || xt->dims[1] != s->c || xt->dims[2] != s->h || xt->dims[3] != s->w)
        return blas_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT,
                         "ConvTranspose '%s': input 0 dims differ from the ones the kernel was created for", s->name);
    if (!scratch)
        return blas_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "ConvTranspose '%s': no scratch buffer", s->name);
    ct_job j = { s, semseg_tensor_data(xt), semseg_tensor_data(&out[0]), NULL, scratch,
                 (s->mg + s->cob - 1) / s->cob };
    if (s->epi.residual >= 0) {
        if (s->epi.residual >= n_in)
            return blas_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "ConvTranspose '%s': residual input missing", s->name);
        j.res = semseg_tensor_data(&in[s->epi.residual]);
    }
    blas_gemm_threads(1);
    blas_parallel_for(s->threads, s->n * s->group * j.blocks, 1, ct_task, &j);
    return SEMSEG_STATUS_OK;
}

static void ct_destroy(void *state)
{
    ct_state *s = state;
    if (!s) return;
    free(s->wt);
    free(s->bias);
    free(s);
}

const blas_op blas_op_conv_transpose = {
    /* .op       = */ "ConvTranspose",
    /* .supports = */ ct_supports,
    /* .create   = */ ct_create,
    /* .run      = */ ct_run,
    /* .destroy  = */ ct_destroy,
};
