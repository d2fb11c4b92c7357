/*
 * The permutohedral lattice's geometry, checked against its definition rather
 * than against its own output: for every point, the corners are lattice points
 * of A*_d (coordinates sum to 0, all ≡ k mod d+1 for corner k), the weights
 * are barycentric (≥ 0, sum 1) and reproduce the lifted point
 * (Σ w_k·corner_k = E·f·scale, with E written out here independently), the
 * blur's chains agree with a brute-force neighbour search over all vertex keys, and
 * the splat table is the transpose of the slice table. Also: features so far
 * apart that 16-bit keys would overflow still work, and features beyond the
 * int32 key range are refused with a message.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crf_test.h"
#include "lattice.h"

static int checks = 0;

/* Lifts f (d values) to R^(d+1): column i of E is (1,..,1,-(i+1),0,..)/√((i+1)(i+2)),
 * scaled by (d+1)·√(2/3). */
static void lift(const double *f, int d, double *x)
{
    const double s = (d + 1) * sqrt(2.0 / 3.0);
    for (int r = 0; r <= d; r++) x[r] = 0;
    for (int i = 0; i < d; i++) {
        const double c = s * f[i] / sqrt((i + 1.0) * (i + 2.0));
        for (int r = 0; r <= i; r++) x[r] += c;
        x[i + 1] -= (i + 1) * c;
    }
}

static void full_key(const lattice *L, int32_t v, int64_t *key)
{
    int64_t sum = 0;
    for (int i = 0; i < L->d; i++) {
        key[i] = L->keys[(size_t)v * L->d + i];
        sum += key[i];
    }
    key[L->d] = -sum;
}

static int64_t mod(int64_t a, int64_t b)
{
    return ((a % b) + b) % b;
}

static void check_geometry(const char *name, const double *f, int32_t n, int d, int brute_force)
{
    lattice L;
    char err[SEMSEG_ERRMSG_SIZE] = "";
    const int d1 = d + 1;
    semseg_status st = lattice_build(&L, f, n, d, err);
    checks++;
    CRF_CHECK(st == SEMSEG_STATUS_OK, "%s: build failed: %s", name, err);
    if (st != SEMSEG_STATUS_OK) return;
    int bad_key = 0, bad_w = 0, bad_pos = 0;
    double worst = 0;
    for (int32_t p = 0; p < n; p++) {
        double x[LATTICE_MAX_D + 1], rec[LATTICE_MAX_D + 1] = {0}, wsum = 0;
        int64_t k0[LATTICE_MAX_D + 1];
        lift(f + (size_t)p * d, d, x);
        full_key(&L, L.vert[(size_t)p * d1], k0);
        for (int k = 0; k <= d; k++) {
            int64_t key[LATTICE_MAX_D + 1];
            const double w = L.slice_w[(size_t)p * d1 + k];
            full_key(&L, L.vert[(size_t)p * d1 + k], key);
            for (int r = 0; r <= d; r++)
                if (mod(key[r], d1) != k) bad_key++;
            if (w < -1e-6) bad_w++;
            wsum += w;
            /* relative to corner 0, so large coordinates keep their precision */
            for (int r = 0; r <= d; r++) rec[r] += w * (double)(key[r] - k0[r]);
        }
        if (fabs(wsum - 1) > 1e-5) bad_w++;
        for (int r = 0; r <= d; r++) {
            double e = fabs(rec[r] + (double)k0[r] - x[r]) / d1;
            worst = fmax(worst, e);
            if (e > 1e-4 * (1 + fabs(x[r]) * 1e-7)) bad_pos++;
        }
    }
    checks += 3;
    CRF_CHECK(bad_key == 0, "%s: %d corner coordinates not in their remainder class", name, bad_key);
    CRF_CHECK(bad_w == 0, "%s: %d weights negative or not summing to 1", name, bad_w);
    CRF_CHECK(bad_pos == 0, "%s: %d points not reproduced by their corners (worst %.2e)", name, bad_pos, worst);

    /* splat table == transpose of (vert, slice_w) */
    int bad_csr = L.csr_start[0] != 0 || L.csr_start[L.m] != n * d1;
    for (int32_t v = 0; v < L.m && !bad_csr; v++)
        for (int32_t e = L.csr_start[v]; e < L.csr_start[v + 1]; e++) {
            int32_t p = L.csr_pt[e];
            int found = 0;
            for (int k = 0; k <= d; k++)
                found |= L.vert[(size_t)p * d1 + k] == v && L.slice_w[(size_t)p * d1 + k] == L.csr_w[e];
            if (!found) bad_csr++;
        }
    checks++;
    CRF_CHECK(!bad_csr, "%s: splat table is not the transpose of the slice table", name);

    if (brute_force) {
        /* Along every axis: the chains' links are exactly the neighbour pairs
         * (key and key + δ, found by a search over all keys), each vertex is
         * on at most one chain, and chains are maximal with length >= 2. */
        int bad_nb = 0;
        int32_t *nx = malloc((size_t)L.m * sizeof *nx), *pv = malloc((size_t)L.m * sizeof *pv);
        for (int axis = 0; axis <= d && nx && pv; axis++) {
            for (int32_t v = 0; v < L.m; v++) nx[v] = pv[v] = -2; /* -2: on no chain */
            for (int32_t c = L.chain_axis[axis]; c < L.chain_axis[axis + 1]; c++) {
                const int32_t e0 = L.chain_off[c], e1 = L.chain_off[c + 1];
                if (e1 - e0 < 2) bad_nb++;
                for (int32_t e = e0; e < e1; e++) {
                    const int32_t v = L.chain_v[e];
                    if (nx[v] != -2) bad_nb++;
                    nx[v] = e + 1 < e1 ? L.chain_v[e + 1] : -1;
                    pv[v] = e > e0 ? L.chain_v[e - 1] : -1;
                }
            }
            for (int32_t v = 0; v < L.m; v++) {
                int64_t key[LATTICE_MAX_D + 1], want[2][LATTICE_MAX_D + 1], other[LATTICE_MAX_D + 1];
                int32_t found[2] = {-1, -1};
                full_key(&L, v, key);
                for (int s = 0; s < 2; s++) {
                    const int sign = s == 0 ? -1 : 1;
                    for (int r = 0; r <= d; r++) want[s][r] = key[r] + sign * (r == axis ? -d : 1);
                }
                for (int32_t u = 0; u < L.m; u++) {
                    full_key(&L, u, other);
                    for (int s = 0; s < 2; s++)
                        if (memcmp(other, want[s], d1 * sizeof *other) == 0) found[s] = u;
                }
                if (found[0] < 0 && found[1] < 0) bad_nb += nx[v] != -2;
                else bad_nb += pv[v] != found[0] || nx[v] != found[1];
            }
        }
        checks++;
        CRF_CHECK(nx && pv && bad_nb == 0, "%s: %d chain entries disagree with a brute-force neighbour search", name,
                  bad_nb);
        free(nx);
        free(pv);
    }
    lattice_free(&L);
}

/* The impulse response of the lattice filter on a pixel grid, std 2 pixels. */
static void check_filter(void)
{
    const int H = 20, W = 30, n = H * W;
    double *f = malloc((size_t)n * 2 * sizeof *f);
    float *in = malloc((size_t)n * sizeof *in), *out = malloc((size_t)n * sizeof *out);
    char err[SEMSEG_ERRMSG_SIZE];
    lattice L;
    if (!f || !in || !out) {
        CRF_CHECK(0, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        f[2 * i] = (i % W) / 2.0;
        f[2 * i + 1] = (i / W) / 2.0;
        in[i] = i == 10 * W + 15;
    }
    checks++;
    CRF_CHECK(lattice_build(&L, f, n, 2, err) == SEMSEG_STATUS_OK, "filter: build failed: %s", err);
    lattice_filter(&L, in, 1, out);
    /* The response is not exactly centred or symmetric (the lattice is not
     * shift-invariant), but it peaks within a pixel of the impulse, has the
     * width of a unit-std Gaussian and vanishes beyond a few std. */
    int peak = 0;
    for (int x = 1; x < W; x++)
        if (out[10 * W + x] > out[10 * W + peak]) peak = x;
    double ratio = 0.5 * (out[10 * W + 19] + out[10 * W + 11]) / out[10 * W + 15];
    double far = fmax(out[10 * W + 15 + 8], out[10 * W + 15 - 8]) / out[10 * W + 15];
    checks += 3;
    CRF_CHECK(abs(peak - 15) <= 1, "filter: impulse at x=15 peaks at x=%d", peak);
    CRF_CHECK(ratio > 0.07 && ratio < 0.25, "filter: response at 2 std is %.3f of the peak, want ~0.135", ratio);
    CRF_CHECK(far < 1e-3, "filter: response at 4 std is %.4f of the peak", far);
    printf("impulse response at 2 std: %.3f of the peak (Gaussian: 0.135)\n", ratio);

    /* The splat's binary16 rows against a float64 splat made here from the
     * slice table (point p's corners and weights): within the rounding of
     * one store (2^-11 relative, plus the flush to 0 below 2^-14 of the
     * gain) once the gain is divided out; and splatting the vertices in two
     * ranges (as two threads do) gives the same rows bit for bit. Values up
     * to 50, so the gain is not 1. */
    float *rows = malloc((size_t)n * 8 * sizeof *rows);
    double *want = calloc((size_t)L.m * 8, sizeof *want);
    lattice_values va = {0}, vb = {0};
    uint64_t seed = 5;
    checks += 3;
    if (rows && want && lattice_values_alloc(&va, &L, 8, 50.0f) == SEMSEG_STATUS_OK &&
        lattice_values_alloc(&vb, &L, 8, 50.0f) == SEMSEG_STATUS_OK) {
        for (int i = 0; i < n * 8; i++) rows[i] = (float)(50.0 * crf_rand_unit(&seed));
        for (int p = 0; p < n; p++)
            for (int k = 0; k < 3; k++)
                for (int c = 0; c < 8; c++)
                    want[(size_t)L.vert[p * 3 + k] * 8 + c] += (double)L.slice_w[p * 3 + k] * rows[p * 8 + c];
        lattice_splat(&L, rows, 8, &va, 0, L.m);
        lattice_splat(&L, rows, 8, &vb, 0, L.m / 3);
        lattice_splat(&L, rows, 8, &vb, L.m / 3, L.m);
        double worst = 0;
        int pitch_ok = va.plane_pitch[0] == lattice_pitch(8) && va.plane_pitch[0] >= 8;
        for (int32_t v = 0; v < L.m; v++)
            for (int c = 0; c < 8; c++) {
                const uint16_t h = va.h[(size_t)v * va.plane_pitch[0] + c];
                /* binary16 decoded here by its definition: 1.m · 2^(e-15) */
                const double got = (h & 0x7fff) ? ldexp(1.0 + (h & 0x3ff) / 1024.0, ((h >> 10) & 0x1f) - 15) : 0.0;
                const double tol = ldexp(1.0, -11) * want[(size_t)v * 8 + c] + ldexp(1.0, -14) / va.gain;
                worst = fmax(worst, fabs(got / va.gain - want[(size_t)v * 8 + c]) / tol);
            }
        printf("splat into binary16: worst error %.2f of the bound (gain 2^%d)\n", worst, (int)log2(va.gain));
        CRF_CHECK(pitch_ok, "values: pitch %d for 8 lanes", va.plane_pitch[0]);
        CRF_CHECK(worst <= 1.0, "splat into binary16: error %.2f times the rounding bound", worst);
        CRF_CHECK(memcmp(va.h, vb.h, (size_t)L.m * va.plane_pitch[0] * sizeof *va.h) == 0,
                  "splat in two vertex ranges differs from one");
    } else {
        CRF_CHECK(0, "out of memory");
    }
    free(rows);
    free(want);
    lattice_values_free(&va);
    lattice_values_free(&vb);
    lattice_free(&L);
done:
    free(f);
    free(in);
    free(out);
}

/*
 * Vertex rows of `lanes` values on N scattered points must give the same
 * values as filtering each 8-lane block on its own, bit for bit: split into
 * planes (`want`: "planes", a lattice too large for one plane in the
 * last-level cache), or in one plane of more than 4 blocks, which the blur
 * walks 4 blocks at a time ("wide"). Every block holds the same largest
 * value (1 at point 0), so every filtering picks the same binary16 gain.
 */
static void check_planes(int N, int LANES, const char *want)
{
    uint64_t seed = 9;
    lattice L;
    lattice_values V;
    char err[SEMSEG_ERRMSG_SIZE] = "";
    double *f = malloc((size_t)N * 5 * sizeof *f);
    float *in = malloc((size_t)N * LANES * sizeof *in), *out = malloc((size_t)N * LANES * sizeof *out);
    float *in8 = malloc((size_t)N * 8 * sizeof *in8), *out8 = malloc((size_t)N * 8 * sizeof *out8);
    checks += 3;
    if (!f || !in || !out || !in8 || !out8) {
        CRF_CHECK(0, "planes: out of memory");
        goto done;
    }
    /* scattered 5-D points: most get a simplex of their own (m ~ 6N) */
    for (int i = 0; i < N * 5; i++) f[i] = 40.0 * crf_rand_unit(&seed);
    for (int i = 0; i < N * LANES; i++) in[i] = (float)(0.9 * crf_rand_unit(&seed));
    for (int b = 0; b < LANES / 8; b++) in[b * 8] = 1.0f;
    if (lattice_build(&L, f, N, 5, err) != SEMSEG_STATUS_OK) {
        CRF_CHECK(0, "planes: build failed: %s", err);
        goto done;
    }
    int planes = 0;
    if (lattice_values_alloc(&V, &L, LANES, 1.0f) == SEMSEG_STATUS_OK) planes = V.planes;
    lattice_values_free(&V);
    if (strcmp(want, "planes") == 0)
        CRF_CHECK(planes > 1, "planes: %d vertices of %d lanes stored in %d plane(s), want several", L.m, LANES,
                  planes);
    else
        CRF_CHECK(planes == 1 && LANES > 32, "planes: %d lanes in %d plane(s), want one of more than 32", LANES,
                  planes);
    int same = lattice_filter(&L, in, LANES, out) == SEMSEG_STATUS_OK;
    for (int b = 0; same && b < LANES / 8; b++) {
        for (int p = 0; p < N; p++) memcpy(in8 + (size_t)p * 8, in + (size_t)p * LANES + b * 8, 8 * sizeof *in8);
        same = lattice_filter(&L, in8, 8, out8) == SEMSEG_STATUS_OK;
        for (int p = 0; same && p < N; p++)
            same = memcmp(out8 + (size_t)p * 8, out + (size_t)p * LANES + b * 8, 8 * sizeof *out8) == 0;
    }
    CRF_CHECK(same, "planes: filtering %d lanes in %d planes differs from 8 lanes at a time", LANES, planes);
    CRF_CHECK(L.m > N, "planes: only %d vertices for %d scattered points", L.m, N);
    printf("planes: %d vertices, %d lanes in %d planes, same as 8 lanes at a time\n", L.m, LANES, planes);
    lattice_free(&L);
done:
    free(f);
    free(in);
    free(out);
    free(in8);
    free(out8);
}

int main(void)
{
    uint64_t seed = 42;
    enum { N = 300 };
    double f[N * 5];
    for (int d = 1; d <= 5; d++) {
        char name[64];
        for (int i = 0; i < N * d; i++) f[i] = 6.0 * crf_rand_normal(&seed);
        snprintf(name, sizeof name, "random d=%d", d);
        check_geometry(name, f, N, d, 1);
    }
    /* A grid with a small std: 4000×3000 pixels at std 0.05 reach 80000 in
     * feature units and ~4·10^5 lifted, past any 16-bit key. */
    for (int i = 0; i < N; i++) {
        f[2 * i] = (3999 - (i * 37) % 4000) / 0.05;
        f[2 * i + 1] = ((i * 101) % 3000) / 0.05;
    }
    check_geometry("large coordinates", f, N, 2, 0);
    for (int i = 0; i < N * 5; i++) f[i] = 2.5e7 * (crf_rand_unit(&seed) - 0.5);
    check_geometry("very large coordinates d=5", f, N, 5, 0);

    /* Beyond int32 keys: refused, with a message. */
    lattice L;
    char err[SEMSEG_ERRMSG_SIZE] = "";
    f[0] = 1e12;
    f[1] = 0;
    semseg_status st = lattice_build(&L, f, 1, 2, err);
    checks += 2;
    CRF_CHECK(st == SEMSEG_STATUS_INVALID_ARGUMENT, "huge feature: status %d, want INVALID_ARGUMENT", st);
    CRF_CHECK(strstr(err, "too large") != NULL, "huge feature: message '%s'", err);
    f[0] = NAN;
    st = lattice_build(&L, f, 1, 2, err);
    checks++;
    CRF_CHECK(st == SEMSEG_STATUS_INVALID_ARGUMENT, "NaN feature: status %d, want INVALID_ARGUMENT", st);

    check_filter();
    check_planes(40000, 24, "planes");
    check_planes(300, 40, "wide");
    return crf_test_finish("crf.lattice", checks);
}
