/*
 * Fuzz target: model bytes -> a full load, as far as a session goes without
 * running the graph: import (protobuf, initializers, external data), the
 * load-time op check, plugin resolution, and — with every input dim fixed to
 * a small size — shape inference, constant folding (ref kernels on constant
 * data), BN folding, fusion, resolution and memory planning.
 *
 * The limits are set low (FUZZ_MAX_ELEMENTS per tensor, FUZZ_MAX_BYTES per
 * model) so a hostile input is refused cheaply; that the limits hold is part
 * of what is being tested. External data is read from a scratch folder that
 * holds one file, weights.bin, so the location checks and reads are reached.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "semseg/semseg.h"

#define FUZZ_MAX_ELEMENTS ((int64_t)1 << 18)
#define FUZZ_MAX_BYTES ((size_t)16 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Harness state, made once per process: a scratch folder for external data
 * and the ref plugin held open so each session's dlopen is only a refcount. */
static char scratch_dir[64];

static void remove_scratch(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/weights.bin", scratch_dir);
    unlink(path);
    rmdir(scratch_dir);
}

static const char *setup_once(void)
{
    if (scratch_dir[0]) return scratch_dir;
    snprintf(scratch_dir, sizeof scratch_dir, "/tmp/semseg-fuzz-XXXXXX");
    if (!mkdtemp(scratch_dir)) {
        scratch_dir[0] = '\0';
        return NULL;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/weights.bin", scratch_dir);
    FILE *f = fopen(path, "wb");
    if (f) {
        /* 4 KiB of small floats: enough for any tensor the seeds point at */
        for (int i = 0; i < 1024; i++) {
            float v = (float)(i % 7) * 0.25f;
            fwrite(&v, sizeof v, 1, f);
        }
        fclose(f);
    }
    atexit(remove_scratch);
#ifdef FUZZ_REF_PLUGIN
    dlopen(FUZZ_REF_PLUGIN, RTLD_NOW | RTLD_LOCAL); /* kept for the process's life */
#endif
    return scratch_dir;
}

/* Small dims for what the model leaves open: batch 1, 8 elsewhere. */
static void pick_dims(const semseg_tensor_desc *d, int64_t *dims)
{
    for (int32_t r = 0; r < d->rank; r++) dims[r] = d->dims[r] >= 0 ? d->dims[r] : (r == 0 ? 1 : 8);
}

/* Gives every input dims (and small shape-like inputs a value of ones, the
 * way ONNX node tests feed Reshape's shape), which prepares the session. */
static void prepare_inputs(semseg_session *s, semseg_error *err)
{
    int n = semseg_session_input_count(s);
    for (int k = 0; k < n; k++) {
        semseg_tensor_desc d;
        if (semseg_session_input_desc(s, k, &d) != SEMSEG_STATUS_OK || d.rank < 0) return;
        int64_t dims[SEMSEG_MAX_RANK];
        pick_dims(&d, dims);
        int64_t numel = semseg_numel(d.rank, dims);
        size_t es = semseg_dtype_size(d.dtype);
        if (numel >= 0 && numel <= 16 && es > 0 &&
            (d.dtype == SEMSEG_DTYPE_INT64 || d.dtype == SEMSEG_DTYPE_INT32 || d.dtype == SEMSEG_DTYPE_FLOAT)) {
            unsigned char buf[16 * 8];
            for (int64_t i = 0; i < numel; i++) {
                if (d.dtype == SEMSEG_DTYPE_INT64) ((int64_t *)buf)[i] = 1;
                else if (d.dtype == SEMSEG_DTYPE_INT32) ((int32_t *)buf)[i] = 1;
                else ((float *)buf)[i] = 1.0f;
            }
            if (semseg_session_set_input(s, k, d.dtype, d.rank, dims, buf, (size_t)numel * es, err) !=
                SEMSEG_STATUS_OK)
                return;
        }
    }
    for (int k = 0; k < n; k++) {
        semseg_tensor_desc d;
        if (semseg_session_input_desc(s, k, &d) != SEMSEG_STATUS_OK || d.rank < 0) return;
        int64_t dims[SEMSEG_MAX_RANK];
        pick_dims(&d, dims);
        if (semseg_session_set_input_dims(s, k, d.rank, dims, err) != SEMSEG_STATUS_OK) return;
    }
}

/* Reads back everything `semseg-onnx info` shows. */
static void describe(const semseg_session *s)
{
    semseg_model_desc md;
    if (semseg_session_model_desc(s, &md) != SEMSEG_STATUS_OK) return;
    for (int i = 0; i < md.node_count; i++) {
        semseg_node_desc nd;
        if (semseg_session_node_desc(s, i, &nd) != SEMSEG_STATUS_OK) break;
        if (!nd.name || !nd.op || !nd.plugin) abort(); /* the API promises strings */
    }
    for (int k = 0; k < semseg_session_output_count(s); k++) {
        semseg_tensor_desc d;
        semseg_session_output_desc(s, k, &d);
    }
    const char *key, *value;
    for (int i = 0; i < md.metadata_count; i++) semseg_session_metadata(s, i, &key, &value);
}

/* Every failure is one terminated line (the CLI prints it as is). */
static void check_error(const char *stage, const semseg_error *err)
{
    if (err->status == SEMSEG_STATUS_OK) return;
    if (!memchr(err->message, '\0', sizeof err->message) || strchr(err->message, '\n')) abort();
    if (getenv("FUZZ_VERBOSE")) fprintf(stderr, "%s: %s\n", stage, err->message);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = setup_once();
    semseg_options *o = semseg_options_new();
    if (!o) return 0;
    semseg_options_set_backends(o, "ref", NULL);
    semseg_options_set_threads(o, 1, NULL);
    semseg_options_set_limits(o, FUZZ_MAX_ELEMENTS, FUZZ_MAX_BYTES);
    semseg_session *s = NULL;
    semseg_error err = { 0 };
    if (semseg_session_load_buffer(data, size, dir, o, &s, &err) == SEMSEG_STATUS_OK) {
        prepare_inputs(s, &err);
        check_error("prepare", &err);
        describe(s);
        semseg_session_free(s);
    } else {
        check_error("load", &err);
    }
    semseg_options_free(o);
    return 0;
}
