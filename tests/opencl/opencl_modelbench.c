/*
 * Whole-model latency of several backend configurations in one process, run
 * by run in turn so that all of them see the same load on a shared machine:
 * the figures of docs/opencl.md ("Performance against blas"). A benchmark,
 * not a test (not registered with CTest).
 *
 *     opencl_modelbench MODEL HxW THREADS ROUNDS RUNS LABEL=BACKENDS[@PLUGIN.so]...
 *
 * Each LABEL=BACKENDS is one session (e.g. new=opencl,ref or
 * blas=blas,ref@/other/build/plugins/semseg-blas.so: the plugin file is
 * loaded before the search path, so its plugin wins over the build tree's).
 * Per round, each session runs RUNS times (the sessions alternating run by
 * run after two warm-up runs each) and the round prints each session's
 * median in ms and the ratio of the first session's median to each other's.
 * The inputs are fixed pseudo-random data in [-1, 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "semseg/semseg.h"
#include "bench_util.h"

#define MAX_SESSIONS 8
#define MAX_RUNS 64

/* A session for "LABEL=BACKENDS[@PLUGIN.so]"; label copied into label. */
static semseg_session *open_session(const char *spec, const char *model, int threads, char *label,
                                    size_t label_size)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    char *eq = strchr(buf, '='), *at;
    if (!eq) {
        fprintf(stderr, "opencl_modelbench: '%s' is not LABEL=BACKENDS[@PLUGIN.so]\n", spec);
        return NULL;
    }
    *eq = '\0';
    snprintf(label, label_size, "%s", buf);
    if ((at = strchr(eq + 1, '@'))) *at = '\0';
    semseg_error err;
    semseg_session *s = NULL;
    semseg_options *o = semseg_options_new();
    if (!o) return NULL;
    if ((at && semseg_options_add_plugin_file(o, at + 1, &err)) ||
        semseg_options_set_backends(o, eq + 1, &err) || semseg_options_set_threads(o, threads, &err) ||
        semseg_session_load_file(model, o, &s, &err)) {
        fprintf(stderr, "opencl_modelbench: %s: %s\n", label, err.message);
        s = NULL;
    }
    semseg_options_free(o);
    return s;
}

/* Feeds every input as [1, C, H, W] (C from the model, 3 if symbolic)
 * and runs twice. */
static int feed(semseg_session *s, int h, int w)
{
    semseg_error err;
    int bad = 0;
    for (int k = 0; k < semseg_session_input_count(s) && !bad; k++) {
        semseg_tensor_desc d;
        if (semseg_session_input_desc(s, k, &d)) return 1;
        int64_t dims[4] = {1, d.rank == 4 && d.dims[1] > 0 ? d.dims[1] : 3, h, w};
        size_t n = (size_t)(dims[1] * h * w);
        float *x = malloc(n * sizeof *x);
        if (!x) return 1;
        unsigned r = 1u + (unsigned)k;
        for (size_t i = 0; i < n; i++) {
            r = r * 1103515245u + 12345u;
            x[i] = (float)((r >> 8) & 0xffff) / 32768.0f - 1.0f;
        }
        bad = semseg_session_set_input(s, k, SEMSEG_DTYPE_FLOAT, 4, dims, x, n * sizeof *x, &err);
        free(x);
    }
    if (!bad) bad = semseg_session_run(s, &err) || semseg_session_run(s, &err);
    if (bad) fprintf(stderr, "opencl_modelbench: %s\n", err.message);
    return bad;
}

int main(int argc, char **argv)
{
    int h, w;
    if (argc < 7 || sscanf(argv[2], "%dx%d", &h, &w) != 2) {
        fprintf(stderr, "usage: %s MODEL HxW THREADS ROUNDS RUNS LABEL=BACKENDS[@PLUGIN.so]...\n",
                argv[0]);
        return 2;
    }
    int threads = atoi(argv[3]), rounds = atoi(argv[4]), runs = atoi(argv[5]);
    int ns = argc - 6;
    if (runs < 1) runs = 1;
    if (runs > MAX_RUNS) runs = MAX_RUNS;
    if (ns > MAX_SESSIONS) ns = MAX_SESSIONS;
    semseg_session *s[MAX_SESSIONS] = {NULL};
    char label[MAX_SESSIONS][64];
    int rc = 0;
    for (int i = 0; i < ns && !rc; i++) {
        s[i] = open_session(argv[6 + i], argv[1], threads, label[i], sizeof label[i]);
        rc = !s[i] || feed(s[i], h, w);
    }
    static double t[MAX_SESSIONS][MAX_RUNS];
    for (int r = 0; r < rounds && !rc; r++) {
        for (int k = 0; k < runs && !rc; k++)
            for (int i = 0; i < ns && !rc; i++) {
                semseg_error err;
                double t0 = now_ms();
                if (semseg_session_run(s[i], &err)) {
                    fprintf(stderr, "opencl_modelbench: %s: %s\n", label[i], err.message);
                    rc = 1;
                }
                t[i][k] = now_ms() - t0;
            }
        if (rc) break;
        double med[MAX_SESSIONS];
        printf("round %d:", r);
        for (int i = 0; i < ns; i++) {
            qsort(t[i], (size_t)runs, sizeof t[i][0], cmp_double);
            med[i] = t[i][runs / 2];
            printf("  %s %.2f", label[i], med[i]);
        }
        for (int i = 1; i < ns; i++) printf("  %s/%s %.3f", label[0], label[i], med[0] / med[i]);
        printf("\n");
        fflush(stdout);
    }
    for (int i = 0; i < ns; i++) semseg_session_free(s[i]);
    return rc;
}
