/*
 * ai.semseg::DenseCRF through the ref plugin's op table entry (ref_op_densecrf),
 * as the host calls it: create() with the node as the loader describes it,
 * run() on host tensors. Checks attribute defaults (DeepLab-v2 VOC values, so
 * no attributes = densecrf_run_threads with crf_params_default), attributes
 * given as ints or floats, logprob = log(prob), a batch of 2 = two single
 * images, and that bad nodes are refused with a message naming node and input.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crf_test.h"
#include "ref.h"

extern const ref_op ref_op_densecrf;

static int checks = 0;

typedef struct op_case {
    int64_t ldims[4], idims[4], odims[4];
    semseg_value_info in[2], out[1];
    semseg_node_info node;
} op_case;

static void op_case_init(op_case *k, int64_t N, int64_t C, int64_t H, int64_t W, int img_dtype,
                         const semseg_attr *attrs, int n_attrs)
{
    memset(k, 0, sizeof *k);
    int64_t l[4] = {N, C, H, W}, im[4] = {N, 3, H, W};
    memcpy(k->ldims, l, sizeof l);
    memcpy(k->idims, im, sizeof im);
    memcpy(k->odims, l, sizeof l);
    k->in[0] = (semseg_value_info){"logits", SEMSEG_DTYPE_FLOAT, 4, k->ldims, NULL};
    k->in[1] = (semseg_value_info){"image", img_dtype, 4, k->idims, NULL};
    k->out[0] = (semseg_value_info){"probs", SEMSEG_DTYPE_FLOAT, 4, k->odims, NULL};
    k->node = (semseg_node_info){"crf_node", "ai.semseg", "DenseCRF", 1, 2, k->in, 1, k->out, n_attrs, attrs, NULL};
}

static semseg_status op_run(op_case *k, const float *logits, const void *img, float *out, char *err)
{
    void *state = NULL;
    semseg_status st = ref_op_densecrf.create(&k->node, &state, err);
    if (st != SEMSEG_STATUS_OK) return st;
    semseg_tensor in[2] = {
        {(void *)logits, 0, SEMSEG_DTYPE_FLOAT, 4, k->ldims, 1},
        {(void *)img, 0, k->in[1].dtype, 4, k->idims, 1},
    };
    semseg_tensor o[1] = {{out, 0, SEMSEG_DTYPE_FLOAT, 4, k->odims, 1}};
    st = ref_op_densecrf.run(state, in, 2, o, 1, err);
    if (ref_op_densecrf.destroy) ref_op_densecrf.destroy(state);
    else free(state);
    return st;
}

static semseg_attr attr_f(const char *name, float f)
{
    return (semseg_attr){.name = name, .type = SEMSEG_ATTR_FLOAT, .f = f};
}

static semseg_attr attr_i(const char *name, int64_t i)
{
    return (semseg_attr){.name = name, .type = SEMSEG_ATTR_INT, .i = i};
}

static semseg_attr attr_s(const char *name, const char *s)
{
    return (semseg_attr){.name = name, .type = SEMSEG_ATTR_STRING, .s = s};
}

int main(void)
{
    const int C = 4, H = 20, W = 26, n = H * W;
    crf_scene a, b;
    char err[SEMSEG_ERRMSG_SIZE] = "";
    if (crf_scene_make(&a, C, H, W, 1.0, 1.0, 21) || crf_scene_make(&b, C, H, W, 1.0, 1.0, 22)) return 1;
    float *want = malloc((size_t)2 * C * n * sizeof *want), *got = malloc((size_t)2 * C * n * sizeof *got);
    float *logits = malloc((size_t)2 * C * n * sizeof *logits);
    uint8_t *img = malloc((size_t)2 * 3 * n);
    if (!want || !got || !logits || !img) return 1;
    memcpy(logits, a.logits, (size_t)C * n * sizeof *logits);
    memcpy(logits + (size_t)C * n, b.logits, (size_t)C * n * sizeof *logits);
    memcpy(img, a.img8, (size_t)3 * n);
    memcpy(img + (size_t)3 * n, b.img8, (size_t)3 * n);

    /* Defaults, batch of 2. */
    crf_params p;
    crf_params_default(&p);
    checks++;
    CRF_CHECK(p.iterations == 10 && p.pos_w == 3 && p.pos_xy_std == 1 && p.bi_w == 4 && p.bi_xy_std == 67 &&
              p.bi_rgb_std == 3 && p.normalization == CRF_NORM_AFTER && !p.logprob,
              "defaults are not DeepLab-v2's VOC values");
    densecrf_run_threads(&p, C, H, W, a.logits, a.img8, SEMSEG_DTYPE_UINT8, want, 1, "x", err);
    densecrf_run_threads(&p, C, H, W, b.logits, b.img8, SEMSEG_DTYPE_UINT8, want + (size_t)C * n, 1, "x", err);
    op_case k;
    op_case_init(&k, 2, C, H, W, SEMSEG_DTYPE_UINT8, NULL, 0);
    semseg_status st = op_run(&k, logits, img, got, err);
    checks += 2;
    CRF_CHECK(st == SEMSEG_STATUS_OK, "defaults: %s", err);
    CRF_CHECK(memcmp(got, want, (size_t)2 * C * n * sizeof *got) == 0, "batch of 2 != two single images");

    /* Attributes as ints and floats, symmetric, logprob. */
    semseg_attr attrs[] = {attr_i("iterations", 5), attr_i("pos_w", 2), attr_f("pos_xy_std", 1.5f),
                           attr_f("bi_w", 3.5f), attr_i("bi_xy_std", 20), attr_f("bi_rgb_std", 6.0f),
                           attr_s("normalization", "symmetric"), attr_s("output", "prob")};
    const int na = sizeof attrs / sizeof attrs[0];
    p = (crf_params){5, 2.0f, 1.5f, 3.5f, 20.0f, 6.0f, CRF_NORM_SYMMETRIC, 0};
    densecrf_run_threads(&p, C, H, W, a.logits, a.img8, SEMSEG_DTYPE_UINT8, want, 1, "x", err);
    op_case_init(&k, 1, C, H, W, SEMSEG_DTYPE_UINT8, attrs, na);
    st = op_run(&k, a.logits, a.img8, got, err);
    checks += 2;
    CRF_CHECK(st == SEMSEG_STATUS_OK, "attributes: %s", err);
    CRF_CHECK(memcmp(got, want, (size_t)C * n * sizeof *got) == 0, "attributes not applied as given");

    attrs[na - 1] = attr_s("output", "logprob");
    op_case_init(&k, 1, C, H, W, SEMSEG_DTYPE_FLOAT, attrs, na);
    st = op_run(&k, a.logits, a.imgf, got, err);
    double d = 0;
    for (size_t i = 0; i < (size_t)C * n; i++) d = fmax(d, fabs(exp(got[i]) - want[i]));
    checks += 2;
    CRF_CHECK(st == SEMSEG_STATUS_OK, "logprob: %s", err);
    CRF_CHECK(d < 1e-5, "exp(logprob) differs from prob by %.2e", d);

    /* Refusals, each with a message naming the node. */
    struct {
        const char *what;
        semseg_attr attr;
        int64_t image_c, image_h;
        int img_dtype;
    } bad[] = {
        {"normalization", attr_s("normalization", "before"), 3, H, SEMSEG_DTYPE_UINT8},
        {"output", attr_s("output", "logits"), 3, H, SEMSEG_DTYPE_UINT8},
        {"bi_rgb_std", attr_f("bi_rgb_std", 0.0f), 3, H, SEMSEG_DTYPE_UINT8},
        {"iterations", attr_i("iterations", -1), 3, H, SEMSEG_DTYPE_UINT8},
        {"iterations", attr_f("iterations", 2.0f), 3, H, SEMSEG_DTYPE_UINT8},
        {"input 1", attr_i("iterations", 1), 4, H, SEMSEG_DTYPE_UINT8},
        {"input 1", attr_i("iterations", 1), 3, H + 1, SEMSEG_DTYPE_UINT8},
        {"input 1", attr_i("iterations", 1), 3, H, SEMSEG_DTYPE_INT32},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *state = NULL;
        op_case_init(&k, 1, C, H, W, bad[i].img_dtype, &bad[i].attr, 1);
        k.idims[1] = bad[i].image_c;
        k.idims[2] = bad[i].image_h;
        err[0] = 0;
        st = ref_op_densecrf.create(&k.node, &state, err);
        checks += 3;
        CRF_CHECK(st != SEMSEG_STATUS_OK, "bad %s accepted", bad[i].what);
        CRF_CHECK(strstr(err, "crf_node") && strstr(err, bad[i].what), "bad %s: message '%s'", bad[i].what, err);
        CRF_CHECK(!ref_op_densecrf.supports(&k.node), "bad %s: supports() said yes", bad[i].what);
        if (st == SEMSEG_STATUS_OK) free(state);
    }
    op_case_init(&k, 1, C, H, W, SEMSEG_DTYPE_UINT8, NULL, 0);
    checks++;
    CRF_CHECK(ref_op_densecrf.supports(&k.node), "supports() refused a good node");

    /* Non-finite logits are refused at run time. */
    a.logits[5] = NAN;
    st = op_run(&k, a.logits, a.img8, got, err);
    checks++;
    CRF_CHECK(st == SEMSEG_STATUS_INVALID_ARGUMENT && strstr(err, "not finite"), "NaN logits: '%s'", err);

    free(want);
    free(got);
    free(logits);
    free(img);
    crf_scene_free(&a);
    crf_scene_free(&b);
    return crf_test_finish("crf.op", checks);
}
