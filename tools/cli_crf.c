/*
 * `run --crf`: DeepLab's fully connected CRF over the network's logits at the
 * photo's resolution. The logits are resized bilinearly (half-pixel centres)
 * to the photo, the photo is fed as float RGB 0..255, and the op runs in a
 * one-node session (semseg_session_new_op) on the same backends as the model,
 * so the CLI needs nothing of the op beyond its name and attributes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "image.h"

int cli_crf_configure(const cli_args *a, const semseg_options *opts, cli_crf *crf)
{
    memset(crf, 0, sizeof(*crf));
    if (!cli_has(a, "--crf")) return CLI_OK;
    static const struct {
        const char *flag, *attr;
    } floats[] = {
        {"--crf-pos-w", "pos_w"},     {"--crf-pos-xy-std", "pos_xy_std"}, {"--crf-bi-w", "bi_w"},
        {"--crf-bi-xy-std", "bi_xy_std"}, {"--crf-bi-rgb-std", "bi_rgb_std"},
    };
    semseg_attr *at = crf->attrs;
    int n = 0;
    const char *v = cli_get(a, "--crf-iters");
    if (v) {
        long it;
        if (cli_parse_int("--crf-iters", v, 0, 1000, &it) != 0) return CLI_ERROR;
        at[n].name = "iterations";
        at[n].type = SEMSEG_ATTR_INT;
        at[n++].i = it;
    }
    for (size_t i = 0; i < sizeof(floats) / sizeof(floats[0]); i++) {
        if (!(v = cli_get(a, floats[i].flag))) continue;
        double d;
        if (cli_parse_double(floats[i].flag, v, &d) != 0) return CLI_ERROR;
        if (d < 0) return cli_error("%s must be >= 0, got %s", floats[i].flag, v);
        at[n].name = floats[i].attr;
        at[n].type = SEMSEG_ATTR_FLOAT;
        at[n++].f = (float)d;
    }
    if ((v = cli_get(a, "--crf-normalization"))) {
        if (strcmp(v, "after") != 0 && strcmp(v, "symmetric") != 0)
            return cli_error("--crf-normalization must be 'after' or 'symmetric', got '%s'", v);
        at[n].name = "normalization";
        at[n].type = SEMSEG_ATTR_STRING;
        at[n++].s = v;
    }
    semseg_tensor_desc in[2];
    memset(in, 0, sizeof(in));
    in[0].name = "logits";
    in[1].name = "image";
    for (int k = 0; k < 2; k++) {
        in[k].dtype = SEMSEG_DTYPE_FLOAT;
        in[k].rank = 4;
        in[k].dims[0] = 1;
        in[k].dims[1] = k ? 3 : -1;
        in[k].dims[2] = in[k].dims[3] = -1;
    }
    semseg_error err = {0};
    if (semseg_session_new_op("ai.semseg", "DenseCRF", 1, 2, in, n, at, opts, &crf->session, &err) != SEMSEG_STATUS_OK)
        return cli_error("--crf: %s", err.message);
    return CLI_OK;
}

void cli_crf_free(cli_crf *crf)
{
    semseg_session_free(crf->session);
    crf->session = NULL;
}

/* logits: ho x wo, class stride cs, pixel stride ps -> labels at the photo's size. */
int cli_crf_labels(const cli_crf *crf, const image *photo, const float *logits, int ho, int wo, int classes,
                   size_t cs, size_t ps, uint8_t *labels)
{
    int h = photo->h, w = photo->w;
    size_t npx = (size_t)h * w;
    float *q_in = malloc(sizeof(float) * npx * (size_t)classes);
    float *img = malloc(sizeof(float) * npx * 3);
    if (!q_in || !img) {
        free(q_in);
        free(img);
        return cli_error("--crf: out of memory for a %dx%d image with %d classes", h, w, classes);
    }
    for (int y = 0; y < h; y++) {
        double sy = (y + 0.5) * ho / h - 0.5;
        if (sy < 0) sy = 0;
        if (sy > ho - 1) sy = ho - 1;
        int y0 = (int)sy, y1 = y0 + 1 < ho ? y0 + 1 : y0;
        float fy = (float)(sy - y0);
        for (int x = 0; x < w; x++) {
            double sx = (x + 0.5) * wo / w - 0.5;
            if (sx < 0) sx = 0;
            if (sx > wo - 1) sx = wo - 1;
            int x0 = (int)sx, x1 = x0 + 1 < wo ? x0 + 1 : x0;
            float fx = (float)(sx - x0);
            const float *p00 = logits + ((size_t)y0 * wo + x0) * ps, *p01 = logits + ((size_t)y0 * wo + x1) * ps;
            const float *p10 = logits + ((size_t)y1 * wo + x0) * ps, *p11 = logits + ((size_t)y1 * wo + x1) * ps;
            size_t p = (size_t)y * w + x;
            for (int c = 0; c < classes; c++) {
                size_t o = (size_t)c * cs;
                float top = p00[o] + (p01[o] - p00[o]) * fx, bot = p10[o] + (p11[o] - p10[o]) * fx;
                q_in[(size_t)c * npx + p] = top + (bot - top) * fy;
            }
            for (int c = 0; c < 3; c++) img[(size_t)c * npx + p] = photo->rgb[p * 3 + c];
        }
    }
    int64_t ld[4] = {1, classes, h, w}, id[4] = {1, 3, h, w};
    semseg_error err = {0};
    const float *q = NULL;
    semseg_tensor_desc d;
    int rc = CLI_OK;
    if (semseg_session_set_input(crf->session, 0, SEMSEG_DTYPE_FLOAT, 4, ld, q_in, sizeof(float) * npx * classes, &err) ||
        semseg_session_set_input(crf->session, 1, SEMSEG_DTYPE_FLOAT, 4, id, img, sizeof(float) * npx * 3, &err) ||
        semseg_session_run(crf->session, &err) ||
        semseg_session_output(crf->session, 0, &d, (const void **)&q, &err)) {
        rc = cli_error("--crf: %s", err.message);
    } else {
        for (size_t p = 0; p < npx; p++) {
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (q[(size_t)c * npx + p] > q[(size_t)best * npx + p]) best = c;
            labels[p] = (uint8_t)best;
        }
    }
    free(q_in);
    free(img);
    return rc;
}
