/*
 * Runs one ONNX backend node test through the library: loads DIR/model.onnx,
 * feeds every test_data_set_N/input_K.pb to graph input K, runs, and compares
 * each output with output_K.pb as ONNX's runner does (numpy assert_allclose:
 * |got - want| <= atol + rtol * |want|, NaNs must match; integer and bool
 * outputs must be equal). Prints one line per failure. Exit 0 pass, 1 fail,
 * 2 error. --model switches to the model tolerance (1e-4 + 1e-3 * max|ref|)
 * plus argmax agreement. Usage: node_runner DIR... [--backend LIST] [--rtol R]
 * [--atol A] [--model]
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "semseg/semseg.h"

static double elem(const void *p, int32_t dtype, int64_t i)
{
    switch (dtype) {
    case SEMSEG_DTYPE_FLOAT: return ((const float *)p)[i];
    case SEMSEG_DTYPE_DOUBLE: return ((const double *)p)[i];
    case SEMSEG_DTYPE_INT64: return (double)((const int64_t *)p)[i];
    case SEMSEG_DTYPE_INT32: return ((const int32_t *)p)[i];
    case SEMSEG_DTYPE_INT16: return ((const int16_t *)p)[i];
    case SEMSEG_DTYPE_UINT16: return ((const uint16_t *)p)[i];
    case SEMSEG_DTYPE_INT8: return ((const int8_t *)p)[i];
    case SEMSEG_DTYPE_UINT8: case SEMSEG_DTYPE_BOOL: return ((const uint8_t *)p)[i];
    case SEMSEG_DTYPE_UINT32: return ((const uint32_t *)p)[i];
    case SEMSEG_DTYPE_UINT64: return (double)((const uint64_t *)p)[i];
    default: return NAN;
    }
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Model mode: tolerance atol + rtol * max|ref| over the whole output, and for
 * 4-D float outputs the argmax over axis 1 must agree on >= 99.9 % of pixels. */

static int argmax_check(const char *set, int k, const semseg_tensor_desc *d, const float *got, const float *want)
{
    int64_t n = d->dims[0], c = d->dims[1], hw = d->dims[2] * d->dims[3], agree = 0;
    for (int64_t b = 0; b < n; b++) {
        for (int64_t i = 0; i < hw; i++) {
            const float *g = got + b * c * hw + i, *w = want + b * c * hw + i;
            int64_t ag = 0, aw = 0;
            for (int64_t j = 1; j < c; j++) {
                if (g[j * hw] > g[ag * hw]) ag = j;
                if (w[j * hw] > w[aw * hw]) aw = j;
            }
            agree += ag == aw;
        }
    }
    double frac = (n * hw) > 0 ? (double)agree / (double)(n * hw) : 1.0;
    printf("%s: output %d argmax agreement %.4f%%\n", set, k, 100.0 * frac);
    if (frac < 0.999) {
        fprintf(stderr, "%s: output %d '%s': argmax agrees on %.3f%% of pixels (< 99.9%%)\n", set, k, d->name, 100 * frac);
        return 1;
    }
    return 0;
}

static int run_set(semseg_session *s, const char *set, double rtol, double atol, int model_mode)
{
    char path[4096];
    semseg_error err = { 0 };
    int n_in = semseg_session_input_count(s), fails = 0;
    for (int k = 0; k < n_in; k++) {
        snprintf(path, sizeof path, "%s/input_%d.pb", set, k);
        if (!exists(path)) {
            fprintf(stderr, "%s: missing (model has %d inputs)\n", path, n_in);
            return 2;
        }
        semseg_tensor_file t;
        if (semseg_tensor_file_read(path, &t, &err) != SEMSEG_STATUS_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 2;
        }
        semseg_status st = semseg_session_set_input(s, k, t.dtype, t.rank, t.dims, t.data, t.nbytes, &err);
        semseg_tensor_file_clear(&t);
        if (st != SEMSEG_STATUS_OK) {
            fprintf(stderr, "set input %d: %s\n", k, err.message);
            return 2;
        }
    }
    if (semseg_session_run(s, &err) != SEMSEG_STATUS_OK) {
        fprintf(stderr, "run: %s\n", err.message);
        return 2;
    }
    for (int k = 0; k < semseg_session_output_count(s); k++) {
        snprintf(path, sizeof path, "%s/output_%d.pb", set, k);
        if (!exists(path)) continue;
        semseg_tensor_file want;
        if (semseg_tensor_file_read(path, &want, &err) != SEMSEG_STATUS_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 2;
        }
        semseg_tensor_desc d;
        const void *got;
        if (semseg_session_output(s, k, &d, &got, &err) != SEMSEG_STATUS_OK) {
            fprintf(stderr, "output %d: %s\n", k, err.message);
            semseg_tensor_file_clear(&want);
            return 2;
        }
        int same_shape = d.rank == want.rank && d.dtype == want.dtype;
        for (int r = 0; same_shape && r < d.rank; r++) same_shape = d.dims[r] == want.dims[r];
        if (!same_shape) {
            fprintf(stderr, "%s: output %d '%s' has dtype %d rank %d, expected dtype %d rank %d (or dims differ)\n",
                    set, k, d.name, d.dtype, d.rank, want.dtype, want.rank);
            fails++;
        } else {
            int64_t n = semseg_numel(d.rank, d.dims), bad = 0, worst_i = 0;
            double worst = 0, scale = 0, maxd = 0;
            for (int64_t i = 0; model_mode && i < n; i++) {
                double b = fabs(elem(want.data, want.dtype, i));
                if (b > scale) scale = b;
            }
            double tol_model = atol + rtol * scale;
            int exact = !(d.dtype == SEMSEG_DTYPE_FLOAT || d.dtype == SEMSEG_DTYPE_DOUBLE || d.dtype == SEMSEG_DTYPE_FLOAT16);
            for (int64_t i = 0; i < n; i++) {
                double a = elem(got, d.dtype, i), b = elem(want.data, want.dtype, i);
                int ok;
                if (isnan(b)) ok = isnan(a);
                else if (isinf(b)) ok = a == b;
                else if (exact) ok = a == b;
                else if (model_mode) ok = fabs(a - b) <= tol_model;
                else ok = fabs(a - b) <= atol + rtol * fabs(b);
                if (fabs(a - b) > maxd) maxd = fabs(a - b);
                if (!ok) {
                    double e = fabs(a - b);
                    if (bad == 0 || e > worst || isnan(e)) {
                        worst = e;
                        worst_i = i;
                    }
                    bad++;
                }
            }
            if (bad) {
                fprintf(stderr, "%s: output %d '%s': %lld of %lld elements outside tolerance; worst at %lld: got %g want %g\n",
                        set, k, d.name, (long long)bad, (long long)n, (long long)worst_i,
                        elem(got, d.dtype, worst_i), elem(want.data, want.dtype, worst_i));
                fails++;
            }
            if (model_mode) {
                printf("%s: output %d max|d| %.3g (tolerance %.3g, max|ref| %.3g)\n", set, k, maxd, tol_model, scale);
                if (d.rank == 4 && d.dtype == SEMSEG_DTYPE_FLOAT && d.dims[1] > 1)
                    fails += argmax_check(set, k, &d, got, want.data);
            }
        }
        semseg_tensor_file_clear(&want);
    }
    return fails ? 1 : 0;
}

static semseg_session *load(const char *dir, const char *backends)
{
    semseg_options *o = semseg_options_new();
    semseg_error err = { 0 };
    if (backends && backends[0]) semseg_options_set_backends(o, backends, NULL);
    semseg_options_set_threads(o, 1, NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    semseg_session *s = NULL;
    if (semseg_session_load_file(path, o, &s, &err) != SEMSEG_STATUS_OK) fprintf(stderr, "load: %s\n", err.message);
    semseg_options_free(o);
    return s;
}

/* Several DIRs run interleaved, set by set, each in its own session: this is
 * also the test that sessions in one process do not interfere. */
int main(int argc, char **argv)
{
    const char *backends = getenv("SEMSEG_TEST_BACKENDS");
    double rtol = 1e-3, atol = 1e-7;
    int model_mode = 0;
    const char *dirs[16];
    int n_dirs = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) backends = argv[++i];
        else if (!strcmp(argv[i], "--rtol") && i + 1 < argc) rtol = atof(argv[++i]);
        else if (!strcmp(argv[i], "--atol") && i + 1 < argc) atol = atof(argv[++i]);
        else if (!strcmp(argv[i], "--model")) {
            model_mode = 1;
            rtol = 1e-3;
            atol = 1e-4;
        }
        else if (n_dirs < 16) dirs[n_dirs++] = argv[i];
    }
    if (!n_dirs) {
        fprintf(stderr, "usage: node_runner DIR... [--backend LIST] [--rtol R] [--atol A] [--model]\n");
        return 2;
    }
    semseg_session *s[16] = { 0 };
    int rc = 0;
    for (int d = 0; d < n_dirs; d++)
        if (!(s[d] = load(dirs[d], backends))) rc = 2;
    int any = 1;
    for (int i = 0; rc < 2 && any && i < 100; i++) {
        any = 0;
        char path[4096];
        for (int d = 0; d < n_dirs; d++) {
            snprintf(path, sizeof path, "%s/test_data_set_%d", dirs[d], i);
            if (!exists(path)) continue;
            any = 1;
            int r = run_set(s[d], path, rtol, atol, model_mode);
            if (r > rc) rc = r;
        }
        if (i == 0 && !any) {
            fprintf(stderr, "%s: no test_data_set_N folders\n", dirs[0]);
            rc = 2;
        }
    }
    for (int d = 0; d < n_dirs; d++) semseg_session_free(s[d]);
    return rc;
}
