/*
 * DenseCRF benchmark driver: times the ref op's mean field (densecrf.c,
 * lattice.c and lattice_build.c linked in directly, so the thread count can
 * be chosen) on raw input files that bench_crf.py writes, and writes the
 * result for the script to compare with pydensecrf.
 *
 *   bench_crf LOGITS.f32 IMAGE.u8 C H W [options]
 *     LOGITS.f32   C·H·W float32, [C][H][W]
 *     IMAGE.u8     3·H·W uint8, [3][H][W] RGB
 *   --threads T    (default 1)      --runs R (default 5; the median is reported)
 *   --iterations I --pos-w --pos-xy-std --bi-w --bi-xy-std --bi-rgb-std
 *   --norm after|symmetric          --out Q.f32 (probabilities of the last run)
 *
 * Prints one line: "threads T runs R median S min S max S cpu_median S"
 * (seconds per image: wall clock, and the process's CPU time, which a busy
 * machine inflates less).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "densecrf.h"
#include "ref.h"

static double bench_clock(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *bench_read(const char *path, size_t bytes)
{
    FILE *f = fopen(path, "rb");
    void *buf = malloc(bytes ? bytes : 1);
    if (!f || !buf || fread(buf, 1, bytes, f) != bytes) {
        fprintf(stderr, "bench_crf: cannot read %zu bytes from %s\n", bytes, path);
        if (f) fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    return buf;
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    crf_params p;
    int threads = 1, runs = 5;
    const char *out_path = NULL;
    char err[SEMSEG_ERRMSG_SIZE];
    if (argc < 6) {
        fprintf(stderr, "usage: bench_crf LOGITS.f32 IMAGE.u8 C H W [--threads T] [--runs R] "
                        "[--iterations I] [--pos-w X] [--pos-xy-std X] [--bi-w X] [--bi-xy-std X] "
                        "[--bi-rgb-std X] [--norm after|symmetric] [--out Q.f32]\n");
        return 2;
    }
    const long C = atol(argv[3]), H = atol(argv[4]), W = atol(argv[5]);
    if (C < 1 || H < 1 || W < 1) {
        fprintf(stderr, "bench_crf: C, H, W must be positive\n");
        return 2;
    }
    crf_params_default(&p);
    for (int i = 6; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_crf: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--runs")) runs = atoi(v);
        else if (!strcmp(a, "--iterations")) p.iterations = atoi(v);
        else if (!strcmp(a, "--pos-w")) p.pos_w = (float)atof(v);
        else if (!strcmp(a, "--pos-xy-std")) p.pos_xy_std = (float)atof(v);
        else if (!strcmp(a, "--bi-w")) p.bi_w = (float)atof(v);
        else if (!strcmp(a, "--bi-xy-std")) p.bi_xy_std = (float)atof(v);
        else if (!strcmp(a, "--bi-rgb-std")) p.bi_rgb_std = (float)atof(v);
        else if (!strcmp(a, "--norm")) p.normalization = strcmp(v, "symmetric") ? CRF_NORM_AFTER : CRF_NORM_SYMMETRIC;
        else if (!strcmp(a, "--out")) out_path = v;
        else {
            fprintf(stderr, "bench_crf: unknown option %s\n", a);
            return 2;
        }
    }
    if (runs < 1) runs = 1;
    const size_t n = (size_t)H * W;
    float *logits = bench_read(argv[1], C * n * sizeof(float));
    unsigned char *img = bench_read(argv[2], 3 * n);
    float *q = malloc(C * n * sizeof *q);
    double *t = malloc(runs * sizeof *t), *cpu = malloc(runs * sizeof *cpu);
    if (!logits || !img || !q || !t || !cpu) return 1;
    for (int r = 0; r < runs; r++) {
        double c0 = bench_clock(CLOCK_PROCESS_CPUTIME_ID), t0 = bench_clock(CLOCK_MONOTONIC);
        semseg_status st = densecrf_run_threads(&p, C, H, W, logits, img, SEMSEG_DTYPE_UINT8, q, threads,
                                                "bench", err);
        t[r] = bench_clock(CLOCK_MONOTONIC) - t0;
        cpu[r] = bench_clock(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (st != SEMSEG_STATUS_OK) {
            fprintf(stderr, "bench_crf: %s\n", err);
            return 1;
        }
    }
    qsort(t, runs, sizeof *t, bench_cmp);
    qsort(cpu, runs, sizeof *cpu, bench_cmp);
    printf("threads %d runs %d median %.4f min %.4f max %.4f cpu_median %.4f\n", threads, runs, t[runs / 2], t[0],
           t[runs - 1], cpu[runs / 2]);
    if (out_path) {
        FILE *f = fopen(out_path, "wb");
        if (!f || fwrite(q, sizeof *q, C * n, f) != C * n) {
            fprintf(stderr, "bench_crf: cannot write %s\n", out_path);
            if (f) fclose(f);
            return 1;
        }
        fclose(f);
    }
    free(logits);
    free(img);
    free(q);
    free(t);
    free(cpu);
    return 0;
}
