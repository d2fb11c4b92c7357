/*
 * Permutohedral lattice: the tables the passes read (the blur's chains, the
 * splat as a gather table) and the three filtering passes. Construction of
 * the simplices and vertices is in lattice_build.c. See lattice.h for the
 * model.
 *
 * The filtering passes run C labels at a time over compact arrays (a row of
 * floats per point, a row of binary16 per vertex), which is where the time
 * goes: their inner loops are unit-stride loops over a row that the compiler
 * vectorises, and they are bound by moving scattered rows through memory,
 * not by arithmetic (hence the binary16 vertex rows, the prefetches, the
 * in-place blur and the huge pages).
 */
#include "lattice.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

#if defined(__GNUC__)
#define LATTICE_PREFETCH(p) __builtin_prefetch(p)
#else
#define LATTICE_PREFETCH(p) ((void)(p))
#endif

/* The chains from the links (L->build_next); -1 when out of memory. */
static int lattice_build_chains(lattice *L)
{
    const int d = L->d, d1 = d + 1;
    const int32_t m = L->m;
    const int32_t *next = L->build_next;
    unsigned char *has_prev = calloc((size_t)d1 * m, 1);
    if (!has_prev) return -1;
    for (int axis = 0; axis <= d; axis++)
        for (int32_t v = 0; v < m; v++) {
            const int32_t u = next[(size_t)axis * m + v];
            if (u >= 0) has_prev[(size_t)axis * m + u] = 1;
        }
    /* a vertex is on a chain when it has a neighbour on either side */
    size_t nv = 0, nc = 0;
    for (size_t e = 0; e < (size_t)d1 * m; e++) {
        nv += has_prev[e] || next[e] >= 0;
        nc += !has_prev[e] && next[e] >= 0;
    }
    L->chain_v = nv < INT32_MAX ? lattice_alloc((nv + 1) * sizeof *L->chain_v) : NULL; /* offsets are int32 */
    L->chain_off = malloc((nc + 1) * sizeof *L->chain_off);
    if (!L->chain_v || !L->chain_off) {
        free(has_prev);
        return -1;
    }
    nv = nc = 0;
    for (int axis = 0; axis <= d; axis++) {
        const int32_t *nx = next + (size_t)axis * m;
        const unsigned char *hp = has_prev + (size_t)axis * m;
        L->chain_axis[axis] = (int32_t)nc;
        for (int32_t v = 0; v < m; v++) {
            if (hp[v] || nx[v] < 0) continue;
            L->chain_off[nc++] = (int32_t)nv;
            for (int32_t u = v; u >= 0; u = nx[u]) L->chain_v[nv++] = u;
        }
    }
    L->chain_axis[d1] = (int32_t)nc;
    L->chain_off[nc] = (int32_t)nv;
    L->chain_v[nv] = 0; /* read (not used) after the last chain */
    free(has_prev);
    return 0;
}

/* The chains (lattice_build_chains) and the splat table from the simplices;
 * -1 when out of memory (what was allocated is freed by lattice_free). */
int lattice_tables(lattice *L)
{
    const int d = L->d, d1 = d + 1;
    const int32_t n = L->n, m = L->m;
    const size_t nc = (size_t)n * d1;
    if (lattice_build_chains(L)) return -1;

    /* The splat as a gather: per vertex, its (point, weight) entries. */
    L->csr_start = calloc((size_t)m + 1, sizeof *L->csr_start);
    L->csr_pt = lattice_alloc(nc * sizeof *L->csr_pt);
    L->csr_w = lattice_alloc(nc * sizeof *L->csr_w);
    if (!L->csr_start || !L->csr_pt || !L->csr_w) return -1;
    for (size_t e = 0; e < nc; e++) L->csr_start[L->vert[e] + 1]++;
    for (int32_t v = 0; v < m; v++) L->csr_start[v + 1] += L->csr_start[v];
    int32_t *fill = malloc((size_t)m * sizeof *fill);
    if (!fill) return -1;
    memcpy(fill, L->csr_start, (size_t)m * sizeof *fill);
    for (int32_t p = 0; p < n; p++)
        for (int k = 0; k <= d; k++) {
            const size_t e = (size_t)p * d1 + k;
            const int32_t at = fill[L->vert[e]]++;
            L->csr_pt[at] = p;
            L->csr_w[at] = L->slice_w[e];
        }
    free(fill);

    return 0;
}

/* ---- filtering passes ---- */

/*
 * The passes come in two builds of the same code: for x86-64-v3 (AVX2, FMA
 * and F16C, whose vcvtph2ps/vcvtps2ph convert 8 binary16 values in one
 * instruction) and for any other machine, where the conversions are integer
 * operations in plain C that any vectoriser handles. A processor check at
 * each call picks one (GCC function multiversioning by hand: C has no
 * `target` overloads). Both round to nearest even; the plain one flushes
 * magnitudes below 2^-14 (after the gain) to 0 where F16C keeps subnormals,
 * and without FMA a*b + c rounds twice, so the two differ in the last bits.
 * LATTICE_PORTABLE forces the plain build (the tests run both).
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(LATTICE_PORTABLE)
#define LATTICE_X86_V3 1
#include <immintrin.h>
#define LATTICE_V3 __attribute__((target("arch=x86-64-v3")))
#else
#define LATTICE_X86_V3 0
#endif
#if defined(__GNUC__)
#define LATTICE_INLINE static inline __attribute__((always_inline))
#else
#define LATTICE_INLINE static inline
#endif

/* The passes read rows at scattered places (chain neighbours, a vertex's
 * points, a point's corners); asking for them this many rows ahead hides
 * the latency (16 measured faster than 4 or 8, and no slower than 32). */
#define LATTICE_AHEAD 16

/* Asks for each 64-byte line of a row of `bytes` once. */
static inline void lattice_prefetch_row(const void *row, size_t bytes)
{
    const uintptr_t end = (uintptr_t)row + bytes - 1;
    for (uintptr_t a = (uintptr_t)row & ~(uintptr_t)63; a <= end; a += 64) LATTICE_PREFETCH((const void *)a);
}

/* Rows whose lane count is a multiple of LATTICE_LANES move lane block by
 * lane block through registers; other counts (the normaliser's 1) take a
 * plain loop. */
#define LATTICE_LANES 8

/* binary16 <-> float, one value, in integer operations: round to nearest
 * even, magnitudes below 2^-14 to 0 (never a subnormal), no overflow check
 * (the gain of lattice_values_alloc keeps magnitudes below 2^15). */
static inline uint16_t lattice_to_half(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    const uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    const uint32_t h = (a - 0x38000000u + 0xfffu + ((a >> 13) & 1u)) >> 13; /* rebias 127 -> 15, round */
    return (uint16_t)(sign | (h & -(uint32_t)(a >= 0x38800000u)));
}

static inline float lattice_from_half(uint16_t h)
{
    const uint32_t e = (uint32_t)h & 0x7fffu;
    const uint32_t u = ((uint32_t)(h & 0x8000u) << 16) | (((e << 13) + 0x38000000u) & -(uint32_t)(e != 0));
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* LATTICE_LANES of them at a time: the two conversions the pass bodies take. */
typedef void (*lattice_load8)(const uint16_t *h, float *x);
typedef void (*lattice_store8)(const float *x, uint16_t *h);

static inline void lattice_load8_plain(const uint16_t *restrict h, float *restrict x)
{
    uint32_t u[LATTICE_LANES];
    for (int c = 0; c < LATTICE_LANES; c++) {
        const uint32_t e = (uint32_t)h[c] & 0x7fffu;
        u[c] = ((uint32_t)(h[c] & 0x8000u) << 16) | (((e << 13) + 0x38000000u) & -(uint32_t)(e != 0));
    }
    memcpy(x, u, sizeof u);
}

static inline void lattice_store8_plain(const float *restrict x, uint16_t *restrict h)
{
    uint32_t u[LATTICE_LANES];
    memcpy(u, x, sizeof u);
    for (int c = 0; c < LATTICE_LANES; c++) {
        const uint32_t sign = (u[c] >> 16) & 0x8000u, a = u[c] & 0x7fffffffu;
        const uint32_t v = (a - 0x38000000u + 0xfffu + ((a >> 13) & 1u)) >> 13;
        h[c] = (uint16_t)(sign | (v & -(uint32_t)(a >= 0x38800000u)));
    }
}

#if LATTICE_X86_V3
LATTICE_V3 static inline void lattice_load8_v3(const uint16_t *h, float *x)
{
    _mm256_storeu_ps(x, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)h)));
}

LATTICE_V3 static inline void lattice_store8_v3(const float *x, uint16_t *h)
{
    _mm_storeu_si128((__m128i *)(void *)h, _mm256_cvtps_ph(_mm256_loadu_ps(x), _MM_FROUND_TO_NEAREST_INT));
}

/* Tells whether this processor runs the x86-64-v3 build. */
static int lattice_use_v3(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}
#endif

int lattice_pitch(int lanes)
{
    /* a row never straddles more 64-byte lines than it must */
    if (lanes <= 1) return 1;
    if (lanes <= 8) return 8;
    if (lanes <= 16) return 16;
    return (lanes + 31) / 32 * 32;
}

semseg_status lattice_values_alloc(lattice_values *V, const lattice *L, int lanes, float in_max)
{
    /* |value| <= in_max · (splat weight of the vertex) before the blur, and
     * each of the d+1 blur passes at most doubles the largest one. */
    double most = 0;
    for (int32_t v = 0; v < L->m; v++) {
        double s = 0;
        for (int32_t e = L->csr_start[v]; e < L->csr_start[v + 1]; e++) s += fabs(L->csr_w[e]);
        most = s > most ? s : most;
    }
    const double bound = ldexp(most * fabs(in_max), L->d + 1);
    int k = 0;
    if (bound > 0 && isfinite(bound)) {
        frexp(32768.0 / bound, &k); /* 2^(k-1) <= 2^15 / bound < 2^k */
        k -= 1;
    }
    if (k > 100) k = 100;
    if (k < -100) k = -100;
    V->lanes = lanes;
    V->pitch = lattice_pitch(lanes);
    V->gain = (float)ldexp(1.0, k);
    /* Not zeroed: the splat writes every row's `lanes` values before anything
     * reads them, and the padding past them is never read. */
    V->h = lattice_alloc((L->m > 0 ? (size_t)L->m : 1) * V->pitch * sizeof *V->h);
    return V->h ? SEMSEG_STATUS_OK : SEMSEG_STATUS_NO_MEMORY;
}

void lattice_values_free(lattice_values *V)
{
    free(V->h);
    memset(V, 0, sizeof *V);
}

void lattice_chain_part(const lattice *L, int axis, int part, int parts, int32_t *c0, int32_t *c1)
{
    const int32_t first = L->chain_axis[axis], last = L->chain_axis[axis + 1];
    const int64_t v0 = L->chain_off[first], nv = L->chain_off[last] - v0;
    int32_t cut[2];
    /* the first chain starting at or after the part's share of vertices */
    for (int s = 0; s < 2; s++) {
        const int64_t want = v0 + nv * (part + s) / parts;
        int32_t lo = first, hi = last;
        while (lo < hi) {
            const int32_t mid = lo + (hi - lo) / 2;
            if (L->chain_off[mid] < want) lo = mid + 1;
            else hi = mid;
        }
        cut[s] = part + s == parts ? last : lo;
    }
    *c0 = cut[0];
    *c1 = cut[1];
}

/* One vertex's splat with `nb` lane blocks summed in registers at once
 * (nb a constant after inlining), so its entries are walked once. */
LATTICE_INLINE void lattice_splat_vertex(const int32_t *pt, const float *cw, int32_t e0, int32_t e1,
                                         const float *in, int stride, float gain, int nb, uint16_t *o,
                                         lattice_store8 store8)
{
    float a0[LATTICE_LANES] = {0}, a1[LATTICE_LANES] = {0}, a2[LATTICE_LANES] = {0}, a3[LATTICE_LANES] = {0};
    for (int32_t e = e0; e < e1; e++) {
        const float w = cw[e] * gain;
        const float *restrict r = in + (size_t)pt[e] * stride;
        for (int c = 0; c < LATTICE_LANES; c++) a0[c] += w * r[c];
        if (nb > 1)
            for (int c = 0; c < LATTICE_LANES; c++) a1[c] += w * r[LATTICE_LANES + c];
        if (nb > 2)
            for (int c = 0; c < LATTICE_LANES; c++) a2[c] += w * r[2 * LATTICE_LANES + c];
        if (nb > 3)
            for (int c = 0; c < LATTICE_LANES; c++) a3[c] += w * r[3 * LATTICE_LANES + c];
    }
    store8(a0, o);
    if (nb > 1) store8(a1, o + LATTICE_LANES);
    if (nb > 2) store8(a2, o + 2 * LATTICE_LANES);
    if (nb > 3) store8(a3, o + 3 * LATTICE_LANES);
}

LATTICE_INLINE void lattice_splat_body(const lattice *L, const float *in, int stride, lattice_values *V,
                                       int32_t v0, int32_t v1, lattice_store8 store8)
{
    const int32_t *start = L->csr_start, *pt = L->csr_pt;
    const int32_t end = start[v1];
    const int lanes = V->lanes, pitch = V->pitch;
    const float gain = V->gain;
    for (int32_t v = v0; v < v1; v++) {
        uint16_t *restrict o = V->h + (size_t)v * pitch;
        const int32_t e0 = start[v], e1 = start[v + 1];
        for (int32_t e = e0; e < e1 && e + LATTICE_AHEAD < end; e++)
            lattice_prefetch_row(in + (size_t)pt[e + LATTICE_AHEAD] * stride, lanes * sizeof *in);
        switch (lanes % LATTICE_LANES == 0 ? lanes / LATTICE_LANES : 0) {
        case 1: lattice_splat_vertex(pt, L->csr_w, e0, e1, in, stride, gain, 1, o, store8); continue;
        case 2: lattice_splat_vertex(pt, L->csr_w, e0, e1, in, stride, gain, 2, o, store8); continue;
        case 3: lattice_splat_vertex(pt, L->csr_w, e0, e1, in, stride, gain, 3, o, store8); continue;
        case 4: lattice_splat_vertex(pt, L->csr_w, e0, e1, in, stride, gain, 4, o, store8); continue;
        default: break;
        }
        if (lanes % LATTICE_LANES == 0) {
            for (int c0 = 0; c0 < lanes; c0 += LATTICE_LANES) {
                float acc[LATTICE_LANES] = {0};
                for (int32_t e = e0; e < e1; e++) {
                    const float w = L->csr_w[e] * gain;
                    const float *restrict r = in + (size_t)pt[e] * stride + c0;
                    for (int c = 0; c < LATTICE_LANES; c++) acc[c] += w * r[c];
                }
                store8(acc, o + c0);
            }
            continue;
        }
        for (int c = 0; c < lanes; c++) {
            float acc = 0.0f;
            for (int32_t e = e0; e < e1; e++) acc += L->csr_w[e] * gain * in[(size_t)pt[e] * stride + c];
            o[c] = lattice_to_half(acc);
        }
    }
}

/* Chains are short (a few vertices), so the walk is one flat loop over their
 * entries. A chain's ends are handled by multiplying the missing neighbour
 * by 0 instead of branching (a branch would be mispredicted about once per
 * chain); x·1 and x·0 are exact, so the sums are those of the formula. The
 * old value of the previous vertex is kept in float (it is exactly the
 * binary16 that was stored), so each row is read and written once. */
LATTICE_INLINE void lattice_blur_body(const lattice *L, lattice_values *V, int32_t c0, int32_t c1, float *tmp,
                                      lattice_load8 load8, lattice_store8 store8)
{
    const int32_t *cv = L->chain_v, *co = L->chain_off;
    const int32_t end = co[c1];
    const int lanes = V->lanes, pitch = V->pitch;
    uint16_t *H = V->h;
    float *keep[2] = {tmp, tmp + lanes};
    int32_t ch = c0;
    for (int c = 0; c < 2 * lanes; c++) tmp[c] = 0.0f; /* finite: it is multiplied by 0 */
    for (int32_t e = co[c0]; e < end; e++) {
        if (e + LATTICE_AHEAD < end) lattice_prefetch_row(H + (size_t)cv[e + LATTICE_AHEAD] * pitch, lanes * sizeof *H);
        const int first = e == co[ch], last = e + 1 == co[ch + 1];
        const float has_prev = first ? 0.0f : 1.0f, has_next = last ? 0.0f : 1.0f;
        uint16_t *restrict s = H + (size_t)cv[e] * pitch;
        float *restrict save = keep[e & 1];
        const float *restrict prev = keep[(e + 1) & 1];
        /* cv[e + 1] is a real row even after a chain's last entry (the next
         * chain's first vertex, or the sentinel) */
        const uint16_t *restrict nx = H + (size_t)cv[e + 1] * pitch;
        if (lanes % LATTICE_LANES == 0) {
            for (int b = 0; b < lanes; b += LATTICE_LANES) {
                float x[LATTICE_LANES], y[LATTICE_LANES], r[LATTICE_LANES];
                load8(s + b, x);
                load8(nx + b, y);
                for (int c = 0; c < LATTICE_LANES; c++) r[c] = x[c] + 0.5f * (has_prev * prev[b + c] + has_next * y[c]);
                store8(r, s + b);
                for (int c = 0; c < LATTICE_LANES; c++) save[b + c] = x[c];
            }
        } else {
            for (int c = 0; c < lanes; c++) {
                const float x = lattice_from_half(s[c]);
                s[c] = lattice_to_half(x + 0.5f * (has_prev * prev[c] + has_next * lattice_from_half(nx[c])));
                save[c] = x;
            }
        }
        ch += last;
    }
}

/* One point's slice with `nb` lane blocks summed in registers at once (nb a
 * constant after inlining), so each corner's row is read once. */
LATTICE_INLINE void lattice_slice_point(const uint16_t *H, int pitch, const int32_t *vert, const float *w, int d1,
                                        float inv, int nb, float *o, lattice_load8 load8)
{
    float a0[LATTICE_LANES], a1[LATTICE_LANES], a2[LATTICE_LANES], a3[LATTICE_LANES];
    for (int c = 0; c < LATTICE_LANES; c++) {
        a0[c] = o[c];
        a1[c] = nb > 1 ? o[LATTICE_LANES + c] : 0.0f;
        a2[c] = nb > 2 ? o[2 * LATTICE_LANES + c] : 0.0f;
        a3[c] = nb > 3 ? o[3 * LATTICE_LANES + c] : 0.0f;
    }
    for (int k = 0; k < d1; k++) {
        const float wk = w[k] * inv;
        const uint16_t *r = H + (size_t)vert[k] * pitch;
        float x[LATTICE_LANES];
        load8(r, x);
        for (int c = 0; c < LATTICE_LANES; c++) a0[c] += wk * x[c];
        if (nb > 1) {
            load8(r + LATTICE_LANES, x);
            for (int c = 0; c < LATTICE_LANES; c++) a1[c] += wk * x[c];
        }
        if (nb > 2) {
            load8(r + 2 * LATTICE_LANES, x);
            for (int c = 0; c < LATTICE_LANES; c++) a2[c] += wk * x[c];
        }
        if (nb > 3) {
            load8(r + 3 * LATTICE_LANES, x);
            for (int c = 0; c < LATTICE_LANES; c++) a3[c] += wk * x[c];
        }
    }
    for (int c = 0; c < LATTICE_LANES; c++) {
        o[c] = a0[c];
        if (nb > 1) o[LATTICE_LANES + c] = a1[c];
        if (nb > 2) o[2 * LATTICE_LANES + c] = a2[c];
        if (nb > 3) o[3 * LATTICE_LANES + c] = a3[c];
    }
}

LATTICE_INLINE void lattice_slice_body(const lattice *L, const lattice_values *V, float *out, int stride,
                                       int32_t p0, int32_t p1, lattice_load8 load8)
{
    const int d1 = L->d + 1;
    const int ahead = (LATTICE_AHEAD + d1 - 1) / d1; /* points */
    const int lanes = V->lanes, pitch = V->pitch;
    const float inv = 1.0f / V->gain; /* a power of two: exact */
    const uint16_t *H = V->h;
    for (int32_t p = p0; p < p1; p++) {
        float *restrict o = out + (size_t)(p - p0) * stride;
        const int32_t *vert = L->vert + (size_t)p * d1;
        const float *w = L->slice_w + (size_t)p * d1;
        if (p + ahead < p1)
            for (int k = 0; k < d1; k++)
                lattice_prefetch_row(H + (size_t)vert[ahead * d1 + k] * pitch, lanes * sizeof *H);
        switch (lanes % LATTICE_LANES == 0 ? lanes / LATTICE_LANES : 0) {
        case 1: lattice_slice_point(H, pitch, vert, w, d1, inv, 1, o, load8); continue;
        case 2: lattice_slice_point(H, pitch, vert, w, d1, inv, 2, o, load8); continue;
        case 3: lattice_slice_point(H, pitch, vert, w, d1, inv, 3, o, load8); continue;
        case 4: lattice_slice_point(H, pitch, vert, w, d1, inv, 4, o, load8); continue;
        default: break;
        }
        if (lanes % LATTICE_LANES == 0) {
            for (int c0 = 0; c0 < lanes; c0 += LATTICE_LANES) {
                float acc[LATTICE_LANES];
                for (int c = 0; c < LATTICE_LANES; c++) acc[c] = o[c0 + c];
                for (int k = 0; k < d1; k++) {
                    const float wk = w[k] * inv;
                    float r[LATTICE_LANES];
                    load8(H + (size_t)vert[k] * pitch + c0, r);
                    for (int c = 0; c < LATTICE_LANES; c++) acc[c] += wk * r[c];
                }
                for (int c = 0; c < LATTICE_LANES; c++) o[c0 + c] = acc[c];
            }
            continue;
        }
        for (int k = 0; k < d1; k++) {
            const float wk = w[k] * inv;
            const uint16_t *restrict r = H + (size_t)vert[k] * pitch;
            for (int c = 0; c < lanes; c++) o[c] += wk * lattice_from_half(r[c]);
        }
    }
}

#if LATTICE_X86_V3
LATTICE_V3 static void lattice_splat_v3(const lattice *L, const float *in, int stride, lattice_values *V,
                                        int32_t v0, int32_t v1)
{
    lattice_splat_body(L, in, stride, V, v0, v1, lattice_store8_v3);
}

LATTICE_V3 static void lattice_blur_v3(const lattice *L, lattice_values *V, int32_t c0, int32_t c1, float *tmp)
{
    lattice_blur_body(L, V, c0, c1, tmp, lattice_load8_v3, lattice_store8_v3);
}

LATTICE_V3 static void lattice_slice_v3(const lattice *L, const lattice_values *V, float *out, int stride,
                                        int32_t p0, int32_t p1)
{
    lattice_slice_body(L, V, out, stride, p0, p1, lattice_load8_v3);
}
#endif

void lattice_splat(const lattice *L, const float *in, int stride, lattice_values *V, int32_t v0, int32_t v1)
{
#if LATTICE_X86_V3
    if (lattice_use_v3()) {
        lattice_splat_v3(L, in, stride, V, v0, v1);
        return;
    }
#endif
    lattice_splat_body(L, in, stride, V, v0, v1, lattice_store8_plain);
}

void lattice_blur(const lattice *L, lattice_values *V, int32_t c0, int32_t c1, float *tmp)
{
#if LATTICE_X86_V3
    if (lattice_use_v3()) {
        lattice_blur_v3(L, V, c0, c1, tmp);
        return;
    }
#endif
    lattice_blur_body(L, V, c0, c1, tmp, lattice_load8_plain, lattice_store8_plain);
}

void lattice_slice_add(const lattice *L, const lattice_values *V, float *out, int stride, int32_t p0, int32_t p1)
{
#if LATTICE_X86_V3
    if (lattice_use_v3()) {
        lattice_slice_v3(L, V, out, stride, p0, p1);
        return;
    }
#endif
    lattice_slice_body(L, V, out, stride, p0, p1, lattice_load8_plain);
}

semseg_status lattice_filter(const lattice *L, const float *in, int stride, float *out)
{
    lattice_values V;
    float in_max = 0;
    for (size_t i = 0; i < (size_t)L->n * stride; i++) in_max = fabsf(in[i]) > in_max ? fabsf(in[i]) : in_max;
    if (lattice_values_alloc(&V, L, stride, in_max) != SEMSEG_STATUS_OK) return SEMSEG_STATUS_NO_MEMORY;
    float *tmp = malloc(2 * (size_t)stride * sizeof *tmp);
    if (!tmp) {
        lattice_values_free(&V);
        return SEMSEG_STATUS_NO_MEMORY;
    }
    lattice_splat(L, in, stride, &V, 0, L->m);
    for (int axis = 0; axis <= L->d; axis++) lattice_blur(L, &V, L->chain_axis[axis], L->chain_axis[axis + 1], tmp);
    memset(out, 0, (size_t)L->n * stride * sizeof *out);
    lattice_slice_add(L, &V, out, stride, 0, L->n);
    free(tmp);
    lattice_values_free(&V);
    return SEMSEG_STATUS_OK;
}
