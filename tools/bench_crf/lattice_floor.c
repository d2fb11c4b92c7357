/*
 * How far the DenseCRF's lattice passes are from the memory traffic they
 * cannot avoid (a measurement for docs/densecrf.md, not a test).
 *
 * Builds the bilateral kernel's lattice of a photo as the op does (features
 * x/xy_std, y/xy_std, rgb/rgb_std), then per round times the real passes
 * (lattice_splat, lattice_blur over every plane and axis, lattice_slice_add,
 * on rows of `lanes` values) and their floors: the same rows read and
 * written in the same order, with prefetches as the passes do, but no
 * arithmetic beyond one add per value (the splat's and slice's sums, without
 * weights) or none at all (the blur's rows are read and written back with
 * one bit changed). What the floors take is what moving those rows costs on
 * this machine, whatever the arithmetic.
 *
 *   lattice_floor IMAGE.u8 H W [--lanes L] [--rounds R] [--bi-xy-std S] [--bi-rgb-std S]
 *     IMAGE.u8   3·H·W uint8, [3][H][W] RGB (what bench_crf.py writes)
 *     defaults   24 lanes (21 labels padded), 10 rounds, stds 67 and 3
 *
 * Prints the lattice's size and, per pass, the median milliseconds of the
 * real pass and of its floor, then their sums times 10 (one image's ten
 * mean-field iterations).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lattice.h"
#include "ref.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define FLOOR_V3 __attribute__((target("arch=x86-64-v3")))
#else
#define FLOOR_V3
#endif
#define FLOOR_AHEAD 16 /* rows prefetched ahead, as lattice.c's passes */
#define FLOOR_MAX_LANES 64

static double floor_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int floor_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Every vertex row of V once per axis, along the chains, each value's low bit flipped. */
FLOOR_V3 static void floor_blur(const lattice *L, lattice_values *V)
{
    const int32_t *cv = L->chain_v, *co = L->chain_off;
    for (int q = 0; q < V->planes; q++) {
        uint16_t *h = V->plane_h[q];
        const size_t pitch = (size_t)V->plane_pitch[q];
        const int lanes = V->plane_lane0[q + 1] - V->plane_lane0[q];
        for (int axis = 0; axis <= L->d; axis++)
            for (int32_t e = co[L->chain_axis[axis]]; e < co[L->chain_axis[axis + 1]]; e++) {
                __builtin_prefetch(h + (size_t)cv[e + FLOOR_AHEAD] * pitch);
                uint16_t *row = h + (size_t)cv[e] * pitch;
                for (int c = 0; c < lanes; c++) row[c] ^= 1u;
            }
    }
}

/* Where lane block b (8 lanes) of the vertex rows lives: base + v·pitch. */
static void floor_block(const lattice_values *V, int b, uint16_t **base, size_t *pitch)
{
    int q = 0;
    while (V->plane_lane0[q + 1] <= 8 * b) q++;
    *base = V->plane_h[q] + (8 * b - V->plane_lane0[q]);
    *pitch = (size_t)V->plane_pitch[q];
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>

/* Each vertex: the unweighted sum of its points' rows, up to 4 blocks in
 * registers, stored as binary16. */
FLOOR_V3 static inline __attribute__((always_inline)) void floor_splat_nb(const lattice *L, const float *in,
                                                                        int stride, lattice_values *V, int nb)
{
    const int32_t *pt = L->csr_pt;
    uint16_t *base[FLOOR_MAX_LANES / 8];
    size_t pitch[FLOOR_MAX_LANES / 8];
    for (int b = 0; b < nb; b++) floor_block(V, b, &base[b], &pitch[b]);
    for (int32_t v = 0; v < L->m; v++) {
        __m256 acc[FLOOR_MAX_LANES / 8];
        for (int b = 0; b < nb; b++) acc[b] = _mm256_setzero_ps();
        for (int32_t e = L->csr_start[v]; e < L->csr_start[v + 1]; e++) {
            __builtin_prefetch(in + (size_t)pt[e + FLOOR_AHEAD] * stride);
            const float *r = in + (size_t)pt[e] * stride;
            for (int b = 0; b < nb; b++) acc[b] = _mm256_add_ps(acc[b], _mm256_loadu_ps(r + 8 * b));
        }
        for (int b = 0; b < nb; b++)
            _mm_storeu_si128((__m128i *)(void *)(base[b] + v * pitch[b]), _mm256_cvtps_ph(acc[b], 0));
    }
}

/* With nb a constant (the callers' switch), so that the sums stay in registers. */
FLOOR_V3 static void floor_splat(const lattice *L, const float *in, int stride, lattice_values *V)
{
    switch (V->lanes / 8) {
    case 1: floor_splat_nb(L, in, stride, V, 1); break;
    case 2: floor_splat_nb(L, in, stride, V, 2); break;
    case 3: floor_splat_nb(L, in, stride, V, 3); break;
    case 4: floor_splat_nb(L, in, stride, V, 4); break;
    default: floor_splat_nb(L, in, stride, V, V->lanes / 8); break;
    }
}

/* Each point: the unweighted sum of its corners' rows. */
FLOOR_V3 static inline __attribute__((always_inline)) void floor_slice_nb(const lattice *L, const lattice_values *V,
                                                                        float *out, int stride, int nb)
{
    const int d1 = L->d + 1, ahead = (FLOOR_AHEAD + d1 - 1) / d1;
    uint16_t *base[FLOOR_MAX_LANES / 8];
    size_t pitch[FLOOR_MAX_LANES / 8];
    for (int b = 0; b < nb; b++) floor_block(V, b, &base[b], &pitch[b]);
    for (int32_t p = 0; p < L->n; p++) {
        const int32_t *vert = L->vert + (size_t)p * d1;
        __m256 acc[FLOOR_MAX_LANES / 8];
        if (p + ahead < L->n)
            for (int q = 0; q < V->planes; q++)
                for (int k = 0; k < d1; k++)
                    __builtin_prefetch(V->plane_h[q] + (size_t)vert[ahead * d1 + k] * V->plane_pitch[q]);
        for (int b = 0; b < nb; b++) acc[b] = _mm256_loadu_ps(out + (size_t)p * stride + 8 * b);
        for (int k = 0; k < d1; k++)
            for (int b = 0; b < nb; b++) {
                const uint16_t *row = base[b] + (size_t)vert[k] * pitch[b];
                acc[b] = _mm256_add_ps(acc[b], _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)row)));
            }
        for (int b = 0; b < nb; b++) _mm256_storeu_ps(out + (size_t)p * stride + 8 * b, acc[b]);
    }
}

FLOOR_V3 static void floor_slice(const lattice *L, const lattice_values *V, float *out, int stride)
{
    switch (V->lanes / 8) {
    case 1: floor_slice_nb(L, V, out, stride, 1); break;
    case 2: floor_slice_nb(L, V, out, stride, 2); break;
    case 3: floor_slice_nb(L, V, out, stride, 3); break;
    case 4: floor_slice_nb(L, V, out, stride, 4); break;
    default: floor_slice_nb(L, V, out, stride, V->lanes / 8); break;
    }
}
#else
#error "lattice_floor measures the x86-64-v3 passes: build it with GCC on x86-64"
#endif

static double floor_median(double *t, int n)
{
    qsort(t, n, sizeof *t, floor_cmp);
    return t[n / 2];
}

int main(int argc, char **argv)
{
    int lanes = 24, rounds = 10;
    double xy_std = 67.0, rgb_std = 3.0;
    char err[SEMSEG_ERRMSG_SIZE];
    if (argc < 4) {
        fprintf(stderr, "usage: lattice_floor IMAGE.u8 H W [--lanes L] [--rounds R] [--bi-xy-std S] [--bi-rgb-std S]\n");
        return 2;
    }
    const long H = atol(argv[2]), W = atol(argv[3]);
    for (int i = 4; i < argc; i += 2) {
        if (i + 1 == argc) {
            fprintf(stderr, "lattice_floor: %s needs a value\n", argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "--lanes")) lanes = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--bi-xy-std")) xy_std = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--bi-rgb-std")) rgb_std = atof(argv[i + 1]);
        else {
            fprintf(stderr, "lattice_floor: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (H < 1 || W < 1 || H * W > 100000000L || lanes < 8 || lanes % 8 || lanes > FLOOR_MAX_LANES || rounds < 1 ||
        !(xy_std > 0) || !(rgb_std > 0)) {
        fprintf(stderr, "lattice_floor: need H, W >= 1, lanes a multiple of 8 up to %d, rounds >= 1, stds > 0\n",
                FLOOR_MAX_LANES);
        return 2;
    }
    const int32_t n = (int32_t)(H * W);
    unsigned char *img = malloc((size_t)3 * n);
    double *f = malloc((size_t)5 * n * sizeof *f);
    FILE *in = fopen(argv[1], "rb");
    if (!img || !f || !in || fread(img, 1, (size_t)3 * n, in) != (size_t)3 * n) {
        fprintf(stderr, "lattice_floor: cannot read %ld bytes from %s\n", 3 * H * W, argv[1]);
        return 1;
    }
    fclose(in);
    for (int32_t p = 0; p < n; p++) {
        f[5 * (size_t)p] = (p % W) / xy_std;
        f[5 * (size_t)p + 1] = (p / W) / xy_std;
        for (int c = 0; c < 3; c++) f[5 * (size_t)p + 2 + c] = img[(size_t)c * n + p] / rgb_std;
    }
    lattice L;
    lattice_values V;
    if (lattice_build(&L, f, n, 5, err) != SEMSEG_STATUS_OK) {
        fprintf(stderr, "lattice_floor: %s\n", err);
        return 1;
    }
    float *q = lattice_alloc((size_t)n * lanes * sizeof *q), *out = lattice_alloc((size_t)n * lanes * sizeof *out);
    double *t = malloc((size_t)6 * rounds * sizeof *t);
    if (!q || !out || !t || lattice_values_alloc(&V, &L, lanes, 1.0f) != SEMSEG_STATUS_OK) {
        fprintf(stderr, "lattice_floor: out of memory\n");
        return 1;
    }
    /* values in [0, 1) that sum to about one per point, like Q */
    for (size_t i = 0; i < (size_t)n * lanes; i++) q[i] = (float)((i * 2654435761u) % 1000u) / (500.0f * lanes);
    memset(out, 0, (size_t)n * lanes * sizeof *out);
    for (int r = 0; r < rounds; r++) {
        double t0 = floor_now();
        lattice_splat(&L, q, lanes, &V, 0, L.m);
        double t1 = floor_now();
        for (int pl = 0; pl < V.planes; pl++)
            for (int axis = 0; axis <= L.d; axis++) lattice_blur(&L, &V, pl, L.chain_axis[axis], L.chain_axis[axis + 1]);
        double t2 = floor_now();
        lattice_slice_add(&L, &V, out, lanes, 0, n);
        double t3 = floor_now();
        floor_splat(&L, q, lanes, &V);
        double t4 = floor_now();
        floor_blur(&L, &V);
        double t5 = floor_now();
        floor_slice(&L, &V, out, lanes);
        double t6 = floor_now();
        const double d[6] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5};
        for (int k = 0; k < 6; k++) t[(size_t)k * rounds + r] = d[k] * 1e3;
    }
    double checksum = 0;
    for (size_t i = 0; i < (size_t)n * lanes; i++) checksum += out[i];
    const char *name[3] = {"splat", "blur", "slice"};
    double real = 0, flo = 0;
    printf("%ldx%ld points, %d lattice vertices, %d lanes in %d plane(s), median of %d rounds (checksum %.3g)\n", W,
           H, L.m, lanes, V.planes, rounds, checksum);
    printf("pass    real ms   floor ms\n");
    for (int k = 0; k < 3; k++) {
        const double a = floor_median(t + (size_t)k * rounds, rounds), b = floor_median(t + (size_t)(k + 3) * rounds, rounds);
        printf("%-6s %8.2f %10.2f\n", name[k], a, b);
        real += a;
        flo += b;
    }
    printf("10 iterations: real %.0f ms, floor %.0f ms\n", 10 * real, 10 * flo);
    lattice_values_free(&V);
    lattice_free(&L);
    free(q);
    free(out);
    free(t);
    free(f);
    free(img);
    return 0;
}
