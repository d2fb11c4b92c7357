/*
 * Library API checks that need no numeric oracle: resolution errors name the
 * op, domain, version and node; a plugin for another ABI is refused and the
 * next plugin takes over; fusion is applied and visible; a new input size
 * re-prepares the same session; bad arguments give errors, not crashes.
 * Usage: test_api MODELS_DIR BAD_ABI_PLUGIN.so
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "semseg/semseg.h"

static int failures;

#define CHECK(cond, ...)                                    \
    do {                                                    \
        if (!(cond)) {                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                   \
            fputc('\n', stderr);                            \
            failures++;                                     \
        }                                                   \
    } while (0)

static void test_unknown_op(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/unknown_op.onnx", dir);
    semseg_session *s = NULL;
    semseg_error err = { 0 };
    semseg_status st = semseg_session_load_file(path, NULL, &s, &err);
    CHECK(st == SEMSEG_STATUS_UNSUPPORTED, "unknown op: status %d (%s)", st, err.message);
    CHECK(s == NULL, "unknown op: session returned");
    CHECK(strstr(err.message, "FooBar") && strstr(err.message, "com.example") && strstr(err.message, "opset 3") &&
          strstr(err.message, "mystery"), "unknown op message lacks op/domain/version/node: %s", err.message);
    CHECK(!strchr(err.message, '\n'), "message is not one line");
}

struct seen {
    int future_refused;
    char reason[512];
};

static void visit(const semseg_plugin_desc *d, void *user)
{
    struct seen *s = user;
    if (strstr(d->file, "bad_abi")) {
        s->future_refused = !d->usable;
        snprintf(s->reason, sizeof s->reason, "%s", d->reason);
    }
}

static void test_bad_abi(const char *dir, const char *plugin)
{
    semseg_options *o = semseg_options_new();
    semseg_error err = { 0 };
    CHECK(semseg_options_add_plugin_file(o, plugin, &err) == SEMSEG_STATUS_OK, "add plugin: %s", err.message);
    struct seen seen = { 0 };
    CHECK(semseg_plugins_list(o, visit, &seen, &err) == SEMSEG_STATUS_OK, "list: %s", err.message);
    CHECK(seen.future_refused, "plugin for another ABI was not refused");
    char host_abi[32];
    snprintf(host_abi, sizeof host_abi, "%d.%d", SEMSEG_PLUGIN_ABI_MAJOR, SEMSEG_PLUGIN_ABI_MINOR);
    CHECK(strstr(seen.reason, "ABI 2.0") && strstr(seen.reason, host_abi), "refusal names both versions: %s",
          seen.reason);
    char path[4096];
    snprintf(path, sizeof path, "%s/residual/model.onnx", dir);
    semseg_session *s = NULL;
    CHECK(semseg_session_load_file(path, o, &s, &err) == SEMSEG_STATUS_OK, "load beside a bad plugin: %s", err.message);
    if (s) {
        semseg_node_desc nd;
        for (int i = 0; semseg_session_node_desc(s, i, &nd) == SEMSEG_STATUS_OK; i++)
            CHECK(strcmp(nd.plugin, "future") != 0, "node %s went to the refused plugin", nd.name);
        semseg_session_free(s);
    }
    /* asking for it by name: it is not a usable backend */
    CHECK(semseg_options_set_backends(o, "future,ref", &err) == SEMSEG_STATUS_OK, "set backends");
    semseg_status st = semseg_session_load_file(path, o, &s, &err);
    CHECK(st != SEMSEG_STATUS_OK && strstr(err.message, "future"), "named refused backend: %d %s", st, err.message);
    semseg_options_free(o);
}

static void test_fusion_and_reshape(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/residual/model.onnx", dir);
    semseg_session *s = NULL;
    semseg_error err = { 0 };
    semseg_options *o = semseg_options_new();
    semseg_options_set_backends(o, "ref", NULL);
    CHECK(semseg_session_load_file(path, o, &s, &err) == SEMSEG_STATUS_OK, "load residual: %s", err.message);
    semseg_options_free(o);
    if (s) {
        semseg_model_desc md;
        semseg_session_model_desc(s, &md);
        /* ref never fuses: all three nodes stay */
        CHECK(md.node_count == 3, "residual on ref: %d nodes", md.node_count);
        CHECK(md.peak_activation_bytes > 0, "peak bytes reported");
        semseg_session_free(s);
    }
    /* conv_relu: BN folded into the conv, dims re-inferred per input size */
    snprintf(path, sizeof path, "%s/conv_relu/model.onnx", dir);
    CHECK(semseg_session_load_file(path, NULL, &s, &err) == SEMSEG_STATUS_OK, "load conv_relu: %s", err.message);
    if (!s) return;
    int64_t d1[4] = { 1, 3, 5, 6 }, d2[4] = { 1, 3, 11, 4 };
    CHECK(semseg_session_set_input_dims(s, 0, 4, d1, &err) == SEMSEG_STATUS_OK, "dims: %s", err.message);
    semseg_node_desc nd;
    CHECK(semseg_session_node_desc(s, 0, &nd) == SEMSEG_STATUS_OK && !strcmp(nd.op, "Conv"), "first node is Conv");
    semseg_model_desc md;
    semseg_session_model_desc(s, &md);
    CHECK(md.node_count <= 2, "BatchNormalization folded: %d nodes left", md.node_count);
    CHECK(semseg_session_set_input_dims(s, 0, 4, d2, &err) == SEMSEG_STATUS_OK, "dims 2: %s", err.message);
    semseg_tensor_desc od;
    semseg_session_output_desc(s, 0, &od);
    CHECK(od.rank == 4 && od.dims[2] == 11 && od.dims[3] == 4, "output dims follow the input");
    /* wrong rank, wrong fixed dim, wrong byte count, wrong dtype */
    int64_t bad[3] = { 1, 3, 5 };
    CHECK(semseg_session_set_input_dims(s, 0, 3, bad, &err) == SEMSEG_STATUS_INVALID_ARGUMENT, "wrong rank accepted");
    int64_t badc[4] = { 1, 4, 5, 5 };
    CHECK(semseg_session_set_input_dims(s, 0, 4, badc, &err) == SEMSEG_STATUS_INVALID_ARGUMENT && strstr(err.message, "must be 3"),
          "wrong fixed dim: %s", err.message);
    float x[15] = { 0 };
    CHECK(semseg_session_set_input(s, 0, SEMSEG_DTYPE_FLOAT, 4, d1, x, sizeof x, &err) == SEMSEG_STATUS_INVALID_ARGUMENT,
          "short buffer accepted");
    CHECK(semseg_session_set_input(s, 0, SEMSEG_DTYPE_INT64, 4, d1, x, sizeof x, &err) == SEMSEG_STATUS_INVALID_ARGUMENT,
          "wrong dtype accepted");
    const void *data;
    CHECK(semseg_session_output(s, 0, &od, &data, &err) != SEMSEG_STATUS_OK, "output before run");
    CHECK(semseg_session_run(s, &err) != SEMSEG_STATUS_OK, "run without inputs");
    semseg_session_free(s);
}

/* Counts the prepared graph's nodes of op `op`; *fused_hs gets the number
 * of nodes that absorbed a HardSwish. */
static int count_op(const semseg_session *s, const char *op, int *fused_hs)
{
    semseg_node_desc nd;
    int n = 0;
    *fused_hs = 0;
    for (int i = 0; semseg_session_node_desc(s, i, &nd) == SEMSEG_STATUS_OK; i++) {
        n += strcmp(nd.op, op) == 0;
        *fused_hs += strstr(nd.fused, "HardSwish") != NULL;
    }
    return n;
}

static semseg_session *load_with(const char *dir, const char *model, const char *backends)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/model.onnx", dir, model);
    semseg_options *o = semseg_options_new();
    semseg_error err = { 0 };
    semseg_session *s = NULL;
    if (backends) semseg_options_set_backends(o, backends, NULL);
    CHECK(semseg_session_load_file(path, o, &s, &err) == SEMSEG_STATUS_OK, "load %s on %s: %s", model,
          backends ? backends : "default", err.message);
    semseg_options_free(o);
    return s;
}

/* HardSigmoid(x; alpha 1/6)*x becomes one HardSwish node, which blas then
 * fuses into the Conv before it; near misses stay as they are. The values
 * are checked against ONNX Runtime by node_runner (unit.model.hardswish*). */
static void test_hardswish(const char *dir)
{
    int fused;
    semseg_session *s = load_with(dir, "hardswish", "ref");
    if (s) {
        CHECK(count_op(s, "HardSwish", &fused) == 2, "ref: both HardSigmoid*Mul pairs become HardSwish");
        CHECK(count_op(s, "HardSigmoid", &fused) == 0 && count_op(s, "Mul", &fused) == 0 && fused == 0,
              "ref: no HardSigmoid/Mul left and nothing fused");
        semseg_session_free(s);
    }
    s = load_with(dir, "hardswish", "blas,ref");
    if (s) {
        semseg_node_desc nd;
        int blas = semseg_session_node_desc(s, 0, &nd) == SEMSEG_STATUS_OK && strcmp(nd.plugin, "blas") == 0;
        if (blas) {
            semseg_model_desc md;
            semseg_session_model_desc(s, &md);
            count_op(s, "Conv", &fused);
            CHECK(md.node_count == 2 && fused == 2, "blas: %d nodes, %d Conv+HardSwish (want 2, 2)",
                  md.node_count, fused);
        }
        semseg_session_free(s);
    }
    s = load_with(dir, "hardswish_nomatch", "ref");
    if (s) {
        CHECK(count_op(s, "HardSwish", &fused) == 0, "near misses were rewritten into HardSwish");
        CHECK(count_op(s, "HardSigmoid", &fused) == 3 && count_op(s, "Mul", &fused) == 3,
              "near misses: HardSigmoid and Mul nodes lost");
        semseg_session_free(s);
    }
}

static void test_garbage(void)
{
    semseg_session *s = NULL;
    semseg_error err = { 0 };
    const char junk[] = "this is not an onnx model at all";
    CHECK(semseg_session_load_buffer(junk, sizeof junk, NULL, NULL, &s, &err) != SEMSEG_STATUS_OK && !s,
          "garbage buffer loaded");
    CHECK(err.message[0] && !strchr(err.message, '\n'), "one-line message: %s", err.message);
    CHECK(semseg_session_load_file("/nonexistent/model.onnx", NULL, &s, &err) != SEMSEG_STATUS_OK,
          "missing file loaded");
    semseg_options *o = semseg_options_new();
    CHECK(semseg_options_set_threads(o, 0, &err) == SEMSEG_STATUS_INVALID_ARGUMENT, "0 threads accepted");
    semseg_options_set_backends(o, "nosuch,ref", NULL);
    CHECK(semseg_session_load_buffer(junk, sizeof junk, NULL, o, &s, &err) != SEMSEG_STATUS_OK, "garbage with options");
    semseg_options_free(o);
}

/* One-op sessions: LeakyRelu with an attribute, any input size. */
static void test_new_op(void)
{
    semseg_tensor_desc in = { 0 };
    in.name = "x";
    in.dtype = SEMSEG_DTYPE_FLOAT;
    in.rank = 2;
    in.dims[0] = -1;
    in.dims[1] = 3;
    semseg_attr alpha = { 0 };
    alpha.name = "alpha";
    alpha.type = SEMSEG_ATTR_FLOAT;
    alpha.f = 0.5f;
    semseg_session *s = NULL;
    semseg_error err = { 0 };
    CHECK(semseg_session_new_op("", "LeakyRelu", 13, 1, &in, 1, &alpha, NULL, &s, &err) == SEMSEG_STATUS_OK,
          "new_op: %s", err.message);
    if (!s) return;
    float x[6] = { -2, -1, 0, 1, 2, -4 };
    int64_t dims[2] = { 2, 3 };
    CHECK(semseg_session_set_input(s, 0, SEMSEG_DTYPE_FLOAT, 2, dims, x, sizeof x, &err) == SEMSEG_STATUS_OK,
          "new_op input: %s", err.message);
    CHECK(semseg_session_run(s, &err) == SEMSEG_STATUS_OK, "new_op run: %s", err.message);
    semseg_tensor_desc d;
    const float *y;
    if (semseg_session_output(s, 0, &d, (const void **)&y, &err) == SEMSEG_STATUS_OK) {
        const float want[6] = { -1, -0.5f, 0, 1, 2, -2 };
        for (int i = 0; i < 6; i++) CHECK(y[i] == want[i], "LeakyRelu(%g) = %g, want %g", x[i], y[i], want[i]);
    } else {
        CHECK(0, "new_op output: %s", err.message);
    }
    semseg_session_free(s);
    CHECK(semseg_session_new_op("", "NoSuchOp", 13, 1, &in, 0, NULL, NULL, &s, &err) == SEMSEG_STATUS_UNSUPPORTED,
          "unknown op in new_op: %s", err.message);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_api MODELS_DIR BAD_ABI_PLUGIN.so\n");
        return 2;
    }
    test_unknown_op(argv[1]);
    test_bad_abi(argv[1], argv[2]);
    test_fusion_and_reshape(argv[1]);
    test_hardswish(argv[1]);
    test_garbage();
    test_new_op();
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("test_api: all checks passed\n");
    return failures ? 1 : 0;
}
