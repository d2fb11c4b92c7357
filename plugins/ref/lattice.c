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

/* The passes read rows at scattered places (chain neighbours, a vertex's
 * points, a point's corners); asking for them this many rows ahead hides
 * the latency (16 measured faster than 4 or 8, and no slower than 32). */
#define LATTICE_AHEAD 16

/*
 * The blur's chains, axis after axis. Within an axis they are ordered by
 * length (chains of one length in the order of their first vertex): the
 * blur then meets long runs of chains of the same length and walks each
 * with a loop unrolled for that length, whose branches the processor
 * predicts; in vertex order, a chain's end was a mispredicted branch about
 * once every three vertices (most chains have 2 or 3). The order of the
 * chains does not change any value: each vertex is on one chain per axis
 * and a chain's blur reads only its own vertices.
 *
 * Building them is the same story: where a chain ends, and whether a
 * vertex starts one, are coin tosses, so the passes below decide them with
 * arithmetic instead of branches wherever they can (on the benchmark's
 * lattice, branches there cost more than all the memory traffic).
 */
#define LATTICE_SORT_LEN 16 /* chains this long or longer share the last bucket */

/* nx[u] for a vertex u, -1 for u = -1 (past a chain's end), without a
 * branch: vertex 0's link is read and masked instead. */
static inline int32_t lattice_link(const int32_t *nx, int32_t u)
{
    const int32_t none = -(int32_t)(u < 0);
    return nx[u & ~none] | none;
}

/* 1 for x < 0, else 0. */
static inline int32_t lattice_neg(int32_t x)
{
    return (int32_t)((uint32_t)x >> 31);
}

/* Bytes b[0..63], each 0 or 1, as the bits of a word (byte i: bit i). Per
 * eight bytes, the multiplication moves each byte's bit to the top byte,
 * none overlapping. */
static inline uint64_t lattice_byte_bits(const unsigned char *b)
{
    uint64_t w = 0;
    for (int j = 0; j < 64; j += 8) {
        const unsigned char *c = b + j;
        const uint64_t x = (uint64_t)c[0] | (uint64_t)c[1] << 8 | (uint64_t)c[2] << 16 | (uint64_t)c[3] << 24 |
                           (uint64_t)c[4] << 32 | (uint64_t)c[5] << 40 | (uint64_t)c[6] << 48 |
                           (uint64_t)c[7] << 56;
        w |= (x * 0x0102040810204080u >> 56) << j;
    }
    return w;
}

/* The lowest set bit of w != 0. */
static inline int lattice_ctz64(uint64_t w)
{
#if defined(__GNUC__)
    return __builtin_ctzll(w);
#else
    int i = 0;
    for (; !(w & 1); w >>= 1) i++;
    return i;
#endif
}

/* Scratch for lattice_axis_chains, sized for m vertices. */
typedef struct lattice_chain_scratch {
    unsigned char *head; /* [m rounded up to 64, +1] 1: the vertex starts a chain */
    int32_t *three;      /* [m+4] the chains of three */
    int32_t *four;       /* [m+4] the first four vertices of the longer chains */
    int32_t *tail;       /* [m+4] their vertices past the fourth */
    int32_t *tail_at;    /* [m/4+2] where each one's are in tail */
} lattice_chain_scratch;

/*
 * The chains of one axis (nx: its links), written from cv[at] and co[ci]
 * on with offsets counting from cv. Returns the number of vertices, -1 when
 * they would take the offsets to INT32_MAX; *nc the number of chains. May
 * write four entries of cv past its last.
 *
 * The heads (a successor but no predecessor) come from a byte per vertex,
 * read 64 at a time as the bits of a word. A chain's first four vertices
 * are read without branching on its length, and it is written to three
 * places, of which the one its length picks is kept and the others are
 * written over by the next chain: chains of two (most) straight to their
 * place, as their bucket comes first; chains of three in order, to be
 * copied after them in one go; longer chains to a list that is walked on
 * and put in its buckets chain by chain.
 */
static int64_t lattice_axis_chains(const int32_t *nx, int32_t m, int32_t *cv, int64_t at, int32_t *co, int32_t ci,
                                   const lattice_chain_scratch *S, int32_t *nc)
{
    unsigned char *head = S->head;
    int32_t *three = S->three, *four = S->four, *tail = S->tail, *tail_at = S->tail_at;
    const size_t m64 = ((size_t)m + 63) / 64 * 64;

    /* every vertex with a successor, then every successor cleared: plain
     * stores, the vertices with none (about half) to the spare head[m]
     * (unrolled, as the stores are the bottleneck: -0.3 ms on the benchmark) */
    for (int32_t v = 0; v < m; v++) head[v] = nx[v] >= 0;
    memset(head + m, 0, m64 + 1 - m);
#pragma GCC unroll 4
    for (int32_t v = 0; v < m; v++) {
        const int32_t u = nx[v];
        head[u + (-(int32_t)(u < 0) & (m - u))] = 0;
    }

    int32_t n2 = 0, n3 = 0, n4 = 0;
    for (size_t v0 = 0; v0 < m64; v0 += 64)
        for (uint64_t w = lattice_byte_bits(head + v0); w; w &= w - 1) {
            const int32_t v = (int32_t)v0 + lattice_ctz64(w), a1 = nx[v], a2 = nx[a1], a3 = lattice_link(nx, a2);
            const int32_t q[4] = {v, a1, a2, a3}, short2 = lattice_neg(a2), short3 = lattice_neg(a3);
            memcpy(cv + at + 2 * (size_t)n2, q, sizeof q);
            memcpy(three + 3 * (size_t)n3, q, sizeof q);
            memcpy(four + 4 * (size_t)n4, q, sizeof q);
            n2 += short2;
            n3 += short3 - short2;
            n4 += 1 - short3;
        }

    /* The longer chains, four vertices at a time as above (most end within
     * the first four), and how many chains and vertices each bucket gets. */
    int32_t chains[LATTICE_SORT_LEN + 1] = {0};
    int64_t verts[LATTICE_SORT_LEN + 1] = {0};
    int32_t t = 0;
    for (int32_t i = 0; i < n4; i++) {
        int32_t u = four[4 * (size_t)i + 3], more;
        tail_at[i] = t;
        /* the first link a later chain's walk reads (its fourth vertex's) */
        if (i + 8 < n4) LATTICE_PREFETCH(nx + four[4 * (size_t)(i + 8) + 3]);
        do {
            const int32_t b0 = nx[u], b1 = lattice_link(nx, b0), b2 = lattice_link(nx, b1), b3 = lattice_link(nx, b2);
            const int32_t q[4] = {b0, b1, b2, b3};
            memcpy(tail + t, q, sizeof q);
            t += 4 - lattice_neg(b0) - lattice_neg(b1) - lattice_neg(b2) - lattice_neg(b3);
            u = b3;
            more = b3 >= 0;
        } while (more);
        const int32_t len = 4 + t - tail_at[i];
        const int b = len < LATTICE_SORT_LEN ? len : LATTICE_SORT_LEN;
        chains[b]++;
        verts[b] += len;
    }
    tail_at[n4] = t;
    chains[2] = n2;
    verts[2] = 2 * (int64_t)n2;
    chains[3] = n3;
    verts[3] = 3 * (int64_t)n3;

    /* where each bucket's chains and vertices start */
    int32_t cpos[LATTICE_SORT_LEN + 1];
    int64_t vpos[LATTICE_SORT_LEN + 1];
    int64_t v_at = at;
    int32_t c_at = ci;
    for (int b = 0; b <= LATTICE_SORT_LEN; b++) {
        cpos[b] = c_at;
        vpos[b] = v_at;
        c_at += chains[b];
        v_at += verts[b];
    }
    if (v_at >= INT32_MAX) return -1;

    /* chains of two are in place, chains of three go after them */
    for (int32_t r = 0; r < n2; r++) co[cpos[2] + r] = (int32_t)(vpos[2] + 2 * (int64_t)r);
    for (int32_t r = 0; r < n3; r++) co[cpos[3] + r] = (int32_t)(vpos[3] + 3 * (int64_t)r);
    memcpy(cv + vpos[3], three, 3 * (size_t)n3 * sizeof *cv);
    /* the longer ones to their buckets; their tails are copied four at a
     * time, an entry past the chain's end going to its first, which the
     * first four then write (the tail list has them: see above) */
    for (int32_t i = 0; i < n4; i++) {
        const int32_t len = 4 + tail_at[i + 1] - tail_at[i], *tl = tail + tail_at[i] - 4;
        const int b = len < LATTICE_SORT_LEN ? len : LATTICE_SORT_LEN;
        int32_t *dst = cv + vpos[b];
        co[cpos[b]++] = (int32_t)vpos[b];
        vpos[b] += len;
        int32_t e = 4;
        do {
            for (int j = 0; j < 4; j++) dst[(e + j) & -(int32_t)(e + j < len)] = tl[e + j];
            e += 4;
        } while (e < len);
        memcpy(dst, four + 4 * (size_t)i, 4 * sizeof *dst);
    }
    *nc = c_at - ci;
    return v_at - at;
}

/* The chains from the links (L->build_next); -1 when out of memory. The
 * arrays are sized for the most the links could make (every vertex on a
 * chain of two on every axis), which spares a counting pass; pages past
 * the end are never touched. */
static int lattice_build_chains(lattice *L)
{
    const int d1 = L->d + 1;
    const int32_t m = L->m;
    const size_t most_v = (size_t)d1 * m, most_c = (size_t)d1 * (m / 2);
    lattice_chain_scratch S;
    S.head = malloc(((size_t)m + 63) / 64 * 64 + 1);
    S.three = malloc(((size_t)m + 4) * sizeof *S.three);
    S.four = malloc(((size_t)m + 4) * sizeof *S.four);
    S.tail = malloc(((size_t)m + 4) * sizeof *S.tail);
    S.tail_at = malloc(((size_t)m / 4 + 2) * sizeof *S.tail_at);
    /* room for the four entries an axis may write past its last, and for
     * the LATTICE_AHEAD entries the blur reads (to prefetch) past the end */
    L->chain_v = lattice_alloc((most_v + 1 + LATTICE_AHEAD) * sizeof *L->chain_v);
    L->chain_off = malloc((most_c + 1) * sizeof *L->chain_off);
    int64_t nv = 0;
    int32_t nc = 0;
    if (!S.head || !S.three || !S.four || !S.tail || !S.tail_at || !L->chain_v || !L->chain_off) nv = -1;
    for (int axis = 0; axis < d1 && nv >= 0; axis++) {
        int32_t nc_axis = 0;
        const int64_t nv_axis =
            lattice_axis_chains(L->build_next + (size_t)axis * m, m, L->chain_v, nv, L->chain_off, nc, &S, &nc_axis);
        L->chain_axis[axis] = nc;
        nv = nv_axis < 0 ? -1 : nv + nv_axis;
        nc += nc_axis;
    }
    free(S.head);
    free(S.three);
    free(S.four);
    free(S.tail);
    free(S.tail_at);
    if (nv < 0) return -1;
    L->chain_axis[d1] = nc;
    L->chain_off[nc] = (int32_t)nv;
    /* vertex 0 past the last chain: the blur prefetches that far ahead */
    memset(L->chain_v + nv, 0, (1 + LATTICE_AHEAD) * sizeof *L->chain_v);
    return 0;
}

/* The chains (lattice_build_chains) and the splat table from the simplices;
 * -1 when out of memory (what was allocated is freed by lattice_free). The
 * links are freed once the chains are made, so that the splat table can
 * take their pages rather than fresh ones. */
int lattice_tables(lattice *L)
{
    const int d = L->d, d1 = d + 1;
    const int32_t n = L->n, m = L->m;
    const size_t nc = (size_t)n * d1;
    if (lattice_build_chains(L)) return -1;
    free(L->build_next);
    L->build_next = NULL;

    /* The splat as a gather: per vertex, its (point, weight) entries. The
     * counts go to csr_start[v+2], so that after the running sum
     * csr_start[v+1] is where vertex v's entries start; the fill advances it
     * to where they end, which is where v+1's start. */
    L->csr_start = calloc((size_t)m + 2, sizeof *L->csr_start);
    /* LATTICE_AHEAD entries past the end name point 0, so that the splat
     * can prefetch that far ahead without a bounds check */
    L->csr_pt = lattice_alloc((nc + LATTICE_AHEAD) * sizeof *L->csr_pt);
    L->csr_w = lattice_alloc(nc * sizeof *L->csr_w);
    if (!L->csr_start || !L->csr_pt || !L->csr_w) return -1;
    int32_t *start = L->csr_start;
    memset(L->csr_pt + nc, 0, LATTICE_AHEAD * sizeof *L->csr_pt);
    for (size_t e = 0; e < nc; e++) start[L->vert[e] + 2]++;
    for (int32_t v = 0; v < m; v++) start[v + 2] += start[v + 1];
    /* one loop over the entries, not points and corners: with d+1 only
     * known at run time, the inner loop's exit cost 0.7 ms on the benchmark */
    const int32_t *vert = L->vert;
    const float *sw = L->slice_w;
    int32_t *pt = L->csr_pt, p = 0;
    float *w = L->csr_w;
    int k = 0;
    for (size_t e = 0; e < nc; e++) {
        const int32_t at = start[vert[e] + 1]++;
        pt[at] = p;
        w[at] = sw[e];
        if (++k == d1) {
            k = 0;
            p++;
        }
    }
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


/* Asks for the lines of a row's first and last byte: the whole row when it
 * spans at most two lines (every row the passes read, up to 32 labels),
 * without a loop; longer rows are asked for at their ends only. */
static inline void lattice_prefetch_row(const void *row, size_t bytes)
{
    LATTICE_PREFETCH(row);
    LATTICE_PREFETCH((const char *)row + bytes - 1);
}

/* Vertex rows hold a multiple of this many lanes and move lane block by
 * lane block through registers (the one-lane normaliser has a float path of
 * its own, lattice_filter_one). */
#define LATTICE_LANES 8

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
    if (lanes <= 8) return 8;
    if (lanes <= 16) return 16;
    return (lanes + 31) / 32 * 32;
}

/* A plane's vertex rows should stay in the last-level cache while the blur
 * runs its d+1 passes over them: this many bytes at most (the processor
 * here has 16 MB of L3, shared with everything else that runs). */
#define LATTICE_PLANE_BYTES ((size_t)10 << 20)

/* Lanes per plane for rows of `lanes` values on m vertices: all in one plane
 * when that fits LATTICE_PLANE_BYTES, else the widest of 32, 16, 8 lanes
 * that fits, and never more than LATTICE_MAX_PLANES planes. */
static int lattice_plane_lanes(int lanes, int32_t m)
{
    const size_t row = sizeof(uint16_t) * (size_t)(m > 0 ? m : 1);
    if (row * (size_t)lattice_pitch(lanes) <= LATTICE_PLANE_BYTES) return lanes;
    int pl = 32;
    while (pl > LATTICE_LANES && row * (size_t)pl > LATTICE_PLANE_BYTES) pl /= 2;
    const int least = (lanes + LATTICE_MAX_PLANES - 1) / LATTICE_MAX_PLANES;
    if (pl < least) pl = (least + LATTICE_LANES - 1) / LATTICE_LANES * LATTICE_LANES;
    return pl < lanes ? pl : lanes;
}

semseg_status lattice_values_alloc(lattice_values *V, const lattice *L, int lanes, float in_max)
{
    memset(V, 0, sizeof *V);
    if (lanes < LATTICE_LANES || lanes % LATTICE_LANES) return SEMSEG_STATUS_INVALID_ARGUMENT;
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
    V->gain = (float)ldexp(1.0, k);
    const int pl = lattice_plane_lanes(lanes, L->m);
    const size_t m = L->m > 0 ? (size_t)L->m : 1;
    size_t halves = 0;
    for (int lane = 0; lane < lanes; lane += pl) {
        const int q = V->planes++;
        V->plane_lane0[q] = lane;
        V->plane_pitch[q] = lattice_pitch(lanes - lane < pl ? lanes - lane : pl);
        halves += m * V->plane_pitch[q];
    }
    V->plane_lane0[V->planes] = lanes;
    /* Not zeroed: the splat writes every row's `lanes` values before anything
     * reads them, and the padding past them is never read. */
    V->h = lattice_alloc(halves * sizeof *V->h);
    if (!V->h) return SEMSEG_STATUS_NO_MEMORY;
    V->plane_h[0] = V->h;
    for (int q = 1; q < V->planes; q++) V->plane_h[q] = V->plane_h[q - 1] + m * V->plane_pitch[q - 1];
    return SEMSEG_STATUS_OK;
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

/* Where lane block b (lanes 8b .. 8b+7) of vertex v lives: *base + v·(*pitch).
 * Planes hold whole blocks (their lane counts are multiples of 8 when there
 * is more than one). */
static void lattice_block(const lattice_values *V, int b, uint16_t **base, size_t *pitch)
{
    const int lane = b * LATTICE_LANES, pl = V->plane_lane0[1] - V->plane_lane0[0];
    const int q = lane / pl;
    *base = V->plane_h[q] + (lane - V->plane_lane0[q]);
    *pitch = (size_t)V->plane_pitch[q];
}

/* The first (up to) four blocks' places, for the passes' register-blocked
 * paths (rows of up to 32 lanes). */
typedef struct lattice_blocks {
    uint16_t *base[4];
    size_t pitch[4];
} lattice_blocks;

static void lattice_block_map(const lattice_values *V, lattice_blocks *B)
{
    for (int b = 0; b < 4 && b < V->lanes / LATTICE_LANES; b++) lattice_block(V, b, &B->base[b], &B->pitch[b]);
}

/* One vertex's splat with `nb` lane blocks summed in registers at once
 * (nb a constant after inlining), so its entries are walked once. */
LATTICE_INLINE void lattice_splat_vertex(const int32_t *pt, const float *cw, int32_t e0, int32_t e1,
                                         const float *in, int stride, float gain, int nb, const lattice_blocks *B,
                                         int32_t v, lattice_store8 store8)
{
    float a0[LATTICE_LANES] = {0}, a1[LATTICE_LANES] = {0}, a2[LATTICE_LANES] = {0}, a3[LATTICE_LANES] = {0};
    for (int32_t e = e0; e < e1; e++) {
        const float w = cw[e] * gain;
        const float *restrict r = in + (size_t)pt[e] * stride;
        lattice_prefetch_row(in + (size_t)pt[e + LATTICE_AHEAD] * stride, nb * LATTICE_LANES * sizeof *in);
        for (int c = 0; c < LATTICE_LANES; c++) a0[c] += w * r[c];
        if (nb > 1)
            for (int c = 0; c < LATTICE_LANES; c++) a1[c] += w * r[LATTICE_LANES + c];
        if (nb > 2)
            for (int c = 0; c < LATTICE_LANES; c++) a2[c] += w * r[2 * LATTICE_LANES + c];
        if (nb > 3)
            for (int c = 0; c < LATTICE_LANES; c++) a3[c] += w * r[3 * LATTICE_LANES + c];
    }
    store8(a0, B->base[0] + v * B->pitch[0]);
    if (nb > 1) store8(a1, B->base[1] + v * B->pitch[1]);
    if (nb > 2) store8(a2, B->base[2] + v * B->pitch[2]);
    if (nb > 3) store8(a3, B->base[3] + v * B->pitch[3]);
}

LATTICE_INLINE void lattice_splat_body(const lattice *L, const float *in, int stride, lattice_values *V,
                                       int32_t v0, int32_t v1, lattice_store8 store8)
{
    const int32_t *start = L->csr_start, *pt = L->csr_pt;
    const int lanes = V->lanes;
    const float gain = V->gain;
    lattice_blocks B;
    lattice_block_map(V, &B);
    for (int32_t v = v0; v < v1; v++) {
        const int32_t e0 = start[v], e1 = start[v + 1];
        switch (lanes / LATTICE_LANES) {
        case 1: lattice_splat_vertex(pt, L->csr_w, e0, e1, in, stride, gain, 1, &B, v, store8); continue;
        case 2: lattice_splat_vertex(pt, L->csr_w, e0, e1, in, stride, gain, 2, &B, v, store8); continue;
        case 3: lattice_splat_vertex(pt, L->csr_w, e0, e1, in, stride, gain, 3, &B, v, store8); continue;
        case 4: lattice_splat_vertex(pt, L->csr_w, e0, e1, in, stride, gain, 4, &B, v, store8); continue;
        default: break;
        }
        /* more than 4 blocks: block by block (csr_pt is padded past its end) */
        for (int32_t e = e0; e < e1; e++)
            lattice_prefetch_row(in + (size_t)pt[e + LATTICE_AHEAD] * stride, lanes * sizeof *in);
        for (int b = 0; b < lanes / LATTICE_LANES; b++) {
            float acc[LATTICE_LANES] = {0};
            uint16_t *base;
            size_t pitch;
            for (int32_t e = e0; e < e1; e++) {
                const float w = L->csr_w[e] * gain;
                const float *restrict r = in + (size_t)pt[e] * stride + b * LATTICE_LANES;
                for (int c = 0; c < LATTICE_LANES; c++) acc[c] += w * r[c];
            }
            lattice_block(V, b, &base, &pitch);
            store8(acc, base + v * pitch);
        }
    }
}

/*
 * The blur of one chain of `len` vertices (cv[0..len-1]) on rows of `nb`
 * lane blocks: y_i = x_i + ½(x_(i-1) + x_(i+1)), a missing neighbour 0.
 * Each row is read once and written once; the previous vertex's old value
 * stays in registers. With len and nb constants (the callers' switch), the
 * loop is unrolled and has no branch at all. The row LATTICE_AHEAD entries
 * on in chain_v (a later chain's, or the padding past the last) is
 * prefetched for each vertex.
 */
LATTICE_INLINE void lattice_blur_chain(uint16_t *H, size_t pitch, const int32_t *cv, int32_t len, int nb,
                                       lattice_load8 load8, lattice_store8 store8)
{
    float prev[4][LATTICE_LANES] = {{0}}, x[4][LATTICE_LANES], y[4][LATTICE_LANES], r[LATTICE_LANES];
    uint16_t *s = H + (size_t)cv[0] * pitch;
    for (int b = 0; b < nb; b++) load8(s + b * LATTICE_LANES, x[b]);
    for (int32_t i = 0; i < len; i++) {
        LATTICE_PREFETCH(H + (size_t)cv[i + LATTICE_AHEAD] * pitch);
        uint16_t *nx = i + 1 < len ? H + (size_t)cv[i + 1] * pitch : NULL;
        for (int b = 0; b < nb; b++) {
            if (nx) load8(nx + b * LATTICE_LANES, y[b]);
            else
                for (int c = 0; c < LATTICE_LANES; c++) y[b][c] = 0.0f;
            for (int c = 0; c < LATTICE_LANES; c++) r[c] = x[b][c] + 0.5f * (prev[b][c] + y[b][c]);
            store8(r, s + b * LATTICE_LANES);
            for (int c = 0; c < LATTICE_LANES; c++) {
                prev[b][c] = x[b][c];
                x[b][c] = y[b][c];
            }
        }
        s = nx;
    }
}

/* The blur of chains of one length with nb lane blocks: the length is a
 * constant here, so each chain's loop is unrolled. */
#define LATTICE_BLUR_LEN(len)                                                                                    \
    case len:                                                                                                    \
        lattice_blur_chain(H, pitch, cv + co[c], len, nb, load8, store8);                                        \
        break;

LATTICE_INLINE void lattice_blur_plane(const lattice *L, uint16_t *H, size_t pitch, int nb, int32_t c0, int32_t c1,
                                       lattice_load8 load8, lattice_store8 store8)
{
    const int32_t *cv = L->chain_v, *co = L->chain_off;
    for (int32_t c = c0; c < c1; c++) {
        switch (co[c + 1] - co[c]) {
            LATTICE_BLUR_LEN(2)
            LATTICE_BLUR_LEN(3)
            LATTICE_BLUR_LEN(4)
            LATTICE_BLUR_LEN(5)
            LATTICE_BLUR_LEN(6)
        default: lattice_blur_chain(H, pitch, cv + co[c], co[c + 1] - co[c], nb, load8, store8); break;
        }
    }
}

LATTICE_INLINE void lattice_blur_body(const lattice *L, lattice_values *V, int plane, int32_t c0, int32_t c1,
                                      lattice_load8 load8, lattice_store8 store8)
{
    uint16_t *H = V->plane_h[plane];
    const size_t pitch = (size_t)V->plane_pitch[plane];
    const int blocks = (V->plane_lane0[plane + 1] - V->plane_lane0[plane]) / LATTICE_LANES;
    /* up to 4 blocks per walk of the chains (a wider plane takes several:
     * each block's blur is independent of the others) */
    for (int b0 = 0; b0 < blocks; b0 += 4) {
        uint16_t *Hb = H + b0 * LATTICE_LANES;
        switch (blocks - b0 < 4 ? blocks - b0 : 4) {
        case 1: lattice_blur_plane(L, Hb, pitch, 1, c0, c1, load8, store8); break;
        case 2: lattice_blur_plane(L, Hb, pitch, 2, c0, c1, load8, store8); break;
        case 3: lattice_blur_plane(L, Hb, pitch, 3, c0, c1, load8, store8); break;
        default: lattice_blur_plane(L, Hb, pitch, 4, c0, c1, load8, store8); break;
        }
    }
}

/* One point's slice with `nb` lane blocks summed in registers at once (nb a
 * constant after inlining), so each corner's row is read once. */
LATTICE_INLINE void lattice_slice_point(const lattice_blocks *B, const int32_t *vert, const float *w, int d1,
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
        const size_t v = (size_t)vert[k];
        float x[LATTICE_LANES];
        load8(B->base[0] + v * B->pitch[0], x);
        for (int c = 0; c < LATTICE_LANES; c++) a0[c] += wk * x[c];
        if (nb > 1) {
            load8(B->base[1] + v * B->pitch[1], x);
            for (int c = 0; c < LATTICE_LANES; c++) a1[c] += wk * x[c];
        }
        if (nb > 2) {
            load8(B->base[2] + v * B->pitch[2], x);
            for (int c = 0; c < LATTICE_LANES; c++) a2[c] += wk * x[c];
        }
        if (nb > 3) {
            load8(B->base[3] + v * B->pitch[3], x);
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
    const int lanes = V->lanes;
    const float inv = 1.0f / V->gain; /* a power of two: exact */
    lattice_blocks B;
    lattice_block_map(V, &B);
    for (int32_t p = p0; p < p1; p++) {
        float *restrict o = out + (size_t)(p - p0) * stride;
        const int32_t *vert = L->vert + (size_t)p * d1;
        const float *w = L->slice_w + (size_t)p * d1;
        if (p + ahead < p1)
            for (int q = 0; q < V->planes; q++)
                for (int k = 0; k < d1; k++)
                    lattice_prefetch_row(V->plane_h[q] + (size_t)vert[ahead * d1 + k] * V->plane_pitch[q],
                                         (V->plane_lane0[q + 1] - V->plane_lane0[q]) * sizeof *V->h);
        switch (lanes / LATTICE_LANES) {
        case 1: lattice_slice_point(&B, vert, w, d1, inv, 1, o, load8); continue;
        case 2: lattice_slice_point(&B, vert, w, d1, inv, 2, o, load8); continue;
        case 3: lattice_slice_point(&B, vert, w, d1, inv, 3, o, load8); continue;
        case 4: lattice_slice_point(&B, vert, w, d1, inv, 4, o, load8); continue;
        default: break;
        }
        for (int b = 0; b < lanes / LATTICE_LANES; b++) { /* more than 4 blocks */
            float acc[LATTICE_LANES];
            uint16_t *base;
            size_t pitch;
            lattice_block(V, b, &base, &pitch);
            for (int c = 0; c < LATTICE_LANES; c++) acc[c] = o[b * LATTICE_LANES + c];
            for (int k = 0; k < d1; k++) {
                const float wk = w[k] * inv;
                float r[LATTICE_LANES];
                load8(base + (size_t)vert[k] * pitch, r);
                for (int c = 0; c < LATTICE_LANES; c++) acc[c] += wk * r[c];
            }
            for (int c = 0; c < LATTICE_LANES; c++) o[b * LATTICE_LANES + c] = acc[c];
        }
    }
}

#if LATTICE_X86_V3
LATTICE_V3 static void lattice_splat_v3(const lattice *L, const float *in, int stride, lattice_values *V,
                                        int32_t v0, int32_t v1)
{
    lattice_splat_body(L, in, stride, V, v0, v1, lattice_store8_v3);
}

LATTICE_V3 static void lattice_blur_v3(const lattice *L, lattice_values *V, int plane, int32_t c0, int32_t c1)
{
    lattice_blur_body(L, V, plane, c0, c1, lattice_load8_v3, lattice_store8_v3);
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

void lattice_blur(const lattice *L, lattice_values *V, int plane, int32_t c0, int32_t c1)
{
#if LATTICE_X86_V3
    if (lattice_use_v3()) {
        lattice_blur_v3(L, V, plane, c0, c1);
        return;
    }
#endif
    lattice_blur_body(L, V, plane, c0, c1, lattice_load8_plain, lattice_store8_plain);
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

/* lattice_filter of one lane (the normaliser K·1): vertex values in float,
 * a megabyte or two that stays in cache, so the plain loops are fast and the
 * binary16 rounding is not needed. */
static semseg_status lattice_filter_one(const lattice *L, const float *in, float *out)
{
    const int d1 = L->d + 1;
    const int32_t *cv = L->chain_v, *co = L->chain_off;
    float *val = malloc(((size_t)L->m + 1) * sizeof *val);
    if (!val) return SEMSEG_STATUS_NO_MEMORY;
    for (int32_t v = 0; v < L->m; v++) {
        float s = 0.0f;
        for (int32_t e = L->csr_start[v]; e < L->csr_start[v + 1]; e++) s += L->csr_w[e] * in[L->csr_pt[e]];
        val[v] = s;
    }
    for (int32_t c = 0; c < L->chain_axis[d1]; c++) {
        float prev = 0.0f, x = val[cv[co[c]]];
        for (int32_t e = co[c]; e < co[c + 1]; e++) {
            const float y = e + 1 < co[c + 1] ? val[cv[e + 1]] : 0.0f;
            val[cv[e]] = x + 0.5f * (prev + y);
            prev = x;
            x = y;
        }
    }
    for (int32_t p = 0; p < L->n; p++) {
        float s = 0.0f;
        for (int k = 0; k < d1; k++) s += L->slice_w[(size_t)p * d1 + k] * val[L->vert[(size_t)p * d1 + k]];
        out[p] = s;
    }
    free(val);
    return SEMSEG_STATUS_OK;
}

semseg_status lattice_filter(const lattice *L, const float *in, int stride, float *out)
{
    if (stride == 1) return lattice_filter_one(L, in, out);
    if (stride % LATTICE_LANES) return SEMSEG_STATUS_INVALID_ARGUMENT;
    lattice_values V;
    float in_max = 0;
    for (size_t i = 0; i < (size_t)L->n * stride; i++) in_max = fabsf(in[i]) > in_max ? fabsf(in[i]) : in_max;
    if (lattice_values_alloc(&V, L, stride, in_max) != SEMSEG_STATUS_OK) return SEMSEG_STATUS_NO_MEMORY;
    lattice_splat(L, in, stride, &V, 0, L->m);
    for (int q = 0; q < V.planes; q++)
        for (int axis = 0; axis <= L->d; axis++) lattice_blur(L, &V, q, L->chain_axis[axis], L->chain_axis[axis + 1]);
    memset(out, 0, (size_t)L->n * stride * sizeof *out);
    lattice_slice_add(L, &V, out, stride, 0, L->n);
    lattice_values_free(&V);
    return SEMSEG_STATUS_OK;
}
