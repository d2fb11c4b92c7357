/*
 * Permutohedral lattice, construction: simplex location and vertex hashing
 * (lattice_build_begin), the neighbour links (lattice_build_links); the
 * tables the passes read (chains, splat table) are made by lattice_tables in
 * lattice.c. See lattice.h for the model; the geometry follows Adams, Baek &
 * Davis (2010), section 3. Construction runs once per image.
 */
#include "lattice.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ref.h"

/* Hash probes miss the cache (the tables are megabytes); asking for a batch
 * of slots before touching any lets the misses overlap. */
#if defined(__GNUC__)
#define LATTICE_PREFETCH(p) __builtin_prefetch(p)
#else
#define LATTICE_PREFETCH(p) ((void)(p))
#endif
#define LATTICE_BATCH 8 /* points located and hashed together */

/* Lifted coordinates must stay well inside int32 so that keys, their rounding
 * and their neighbours (± d+1) never overflow. */
#define LATTICE_COORD_LIMIT 1073741824.0 /* 2^30 */

#define LATTICE_HUGE ((size_t)2 << 20) /* bytes in a huge page */

void *lattice_alloc(size_t bytes)
{
    void *p = NULL;
    if (bytes < LATTICE_HUGE) return malloc(bytes ? bytes : 1);
    if (posix_memalign(&p, LATTICE_HUGE, bytes)) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE); /* advice only: without it the memory works as well */
#endif
    return p;
}

/* ---- vertex hash: open addressing over int32 keys of d coordinates ---- */

/*
 * Each slot holds the vertex index (int32, -1: empty) followed by its key:
 * a probe costs one cache miss, not one for the slot and another for a key
 * array. Keys are stored as int16 when lattice_build has bounded every
 * coordinate below LATTICE_NARROW (any image at sensible stds), else int32;
 * a slot is a power of two bytes (16 for the 5-D bilateral kernel with
 * narrow keys), so it never straddles a cache line. Linear probing, at most
 * three quarters full. The table is the largest structure of the build and
 * probing it is where the build's time goes, hence the care for its size.
 */
#define LATTICE_NARROW 32000

typedef struct lattice_hash {
    int d, narrow;
    size_t bytes;           /* per slot */
    unsigned char *slot;    /* [cap][bytes] */
    size_t cap;             /* power of two */
    int32_t m;              /* vertices so far */
} lattice_hash;

/* The coordinates are multiplied by independent odd constants (so the
 * multiplications overlap) and the sum is mixed. */
static uint32_t hash_key(const int32_t *k, int d)
{
    static const uint64_t mul[LATTICE_MAX_D] = {
        0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full, 0x165667b19e3779f9ull, 0xd6e8feb86659fd93ull,
        0xff51afd7ed558ccdull, 0xc4ceb9fe1a85ec53ull, 0x94d049bb133111ebull, 0xbf58476d1ce4e5b9ull,
        0x2127599bf4325c37ull, 0x880355f21e6d1965ull, 0x9fb21c651e98df25ull, 0xa0761d6478bd642full,
        0xe7037ed1a0b428dbull, 0x8ebc6af09c88c6e3ull, 0x589965cc75374cc3ull, 0x1d8e4e27c47d124full};
    uint64_t h = 0;
    for (int i = 0; i < d; i++) h += (uint64_t)(uint32_t)k[i] * mul[i];
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(h ^ (h >> 32));
}

static int key_equal(const int32_t *a, const int32_t *b, int d)
{
    for (int i = 0; i < d; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static int32_t *slot_v(const lattice_hash *h, size_t i)
{
    return (int32_t *)(void *)(h->slot + i * h->bytes);
}

static inline int slot_match(const lattice_hash *h, size_t i, const int32_t *k)
{
    const unsigned char *s = h->slot + i * h->bytes + sizeof(int32_t);
    if (h->narrow) {
        const int16_t *q = (const int16_t *)(const void *)s;
        for (int j = 0; j < h->d; j++)
            if (q[j] != k[j]) return 0;
        return 1;
    }
    return key_equal((const int32_t *)(const void *)s, k, h->d);
}

static void slot_key(const lattice_hash *h, size_t i, int32_t *k)
{
    const unsigned char *s = h->slot + i * h->bytes + sizeof(int32_t);
    for (int j = 0; j < h->d; j++)
        k[j] = h->narrow ? ((const int16_t *)(const void *)s)[j] : ((const int32_t *)(const void *)s)[j];
}

static void slot_set(const lattice_hash *h, size_t i, int32_t v, const int32_t *k)
{
    unsigned char *s = h->slot + i * h->bytes + sizeof(int32_t);
    *slot_v(h, i) = v;
    for (int j = 0; j < h->d; j++) {
        if (h->narrow) ((int16_t *)(void *)s)[j] = (int16_t)k[j];
        else ((int32_t *)(void *)s)[j] = k[j];
    }
}

static unsigned char *hash_alloc(size_t cap, size_t bytes)
{
    unsigned char *slot = lattice_alloc(cap * bytes);
    if (slot)
        for (size_t i = 0; i < cap; i++) *(int32_t *)(void *)(slot + i * bytes) = -1;
    return slot;
}

/* narrow: every key coordinate (and neighbour key) lies in ±LATTICE_NARROW. */
static int hash_init(lattice_hash *h, int d, int narrow, int32_t expect)
{
    memset(h, 0, sizeof *h);
    h->d = d;
    h->narrow = narrow;
    h->bytes = 8;
    while (h->bytes < sizeof(int32_t) + d * (narrow ? sizeof(int16_t) : sizeof(int32_t))) h->bytes *= 2;
    h->cap = 64;
    while (h->cap < 2 * (size_t)expect) h->cap *= 2;
    h->slot = hash_alloc(h->cap, h->bytes);
    return h->slot ? 0 : -1;
}

static void hash_free(lattice_hash *h)
{
    free(h->slot);
    memset(h, 0, sizeof *h);
}

/* The slot holding key k (hash hk), or the empty slot where it would go. */
static inline size_t hash_probe(const lattice_hash *h, const int32_t *k, uint32_t hk)
{
    const size_t mask = h->cap - 1;
    for (size_t i = hk & mask;; i = (i + 1) & mask)
        if (*slot_v(h, i) < 0 || slot_match(h, i, k)) return i;
}

static int32_t hash_find(const lattice_hash *h, const int32_t *k, uint32_t hk)
{
    return *slot_v(h, hash_probe(h, k, hk));
}

static int hash_grow(lattice_hash *h)
{
    lattice_hash g = *h;
    g.cap = h->cap * 2;
    g.slot = hash_alloc(g.cap, g.bytes);
    if (!g.slot) return -1;
    for (size_t j = 0; j < h->cap; j++) {
        int32_t k[LATTICE_MAX_D];
        if (*slot_v(h, j) < 0) continue;
        slot_key(h, j, k);
        slot_set(&g, hash_probe(&g, k, hash_key(k, h->d)), *slot_v(h, j), k);
    }
    free(h->slot);
    *h = g;
    return 0;
}

static void hash_prefetch(const lattice_hash *h, uint32_t hk)
{
    LATTICE_PREFETCH(h->slot + (hk & (h->cap - 1)) * h->bytes);
}

/* Index of key k (hash hk), inserting it when new; -1 when out of memory. */
static int32_t hash_insert(lattice_hash *h, const int32_t *k, uint32_t hk)
{
    size_t i = hash_probe(h, k, hk);
    if (*slot_v(h, i) >= 0) return *slot_v(h, i);
    if (h->m == INT32_MAX) return -1;
    if (4 * (size_t)(h->m + 1) > 3 * h->cap) {
        if (hash_grow(h)) return -1;
        i = hash_probe(h, k, hk);
    }
    slot_set(h, i, h->m, k);
    return h->m++;
}

/* keys[v] = the key of vertex v, for the m vertices. */
static void hash_keys(const lattice_hash *h, int32_t *keys)
{
    for (size_t j = 0; j < h->cap; j++)
        if (*slot_v(h, j) >= 0) slot_key(h, j, keys + (size_t)*slot_v(h, j) * h->d);
}

/* ---- geometry ---- */

/*
 * Finds the simplex enclosing one point: writes the first d coordinates of
 * its d+1 corners (corner k is the remainder-k lattice point) and their
 * barycentric weights. Returns -1 when a lifted coordinate is not finite or
 * too large for int32 keys.
 */
static int lattice_locate(int d, const double *pos, const double *scale,
                          int32_t *corner, float *w)
{
    const int d1 = d + 1;
    double el[LATTICE_MAX_D + 1], bary[LATTICE_MAX_D + 2];
    int32_t rem0[LATTICE_MAX_D + 1];
    int rank[LATTICE_MAX_D + 1];

    /* Lift onto Σx = 0 with orthogonal columns of equal length, so that
     * distances are kept up to the factor folded into scale. */
    double sm = 0;
    for (int i = d; i > 0; i--) {
        double cf = pos[i - 1] * scale[i - 1];
        el[i] = sm - i * cf;
        sm += cf;
    }
    el[0] = sm;

    /* Nearest point whose coordinates are all multiples of d+1; its
     * coordinate sum (in units of d+1) says how far it is off the plane. */
    int sum = 0;
    double diff[LATTICE_MAX_D + 1];
    for (int i = 0; i <= d; i++) {
        if (!(fabs(el[i]) < LATTICE_COORD_LIMIT)) return -1;
        /* floor by truncation (|q| < 2^30): floor() is a library call on x86-64 */
        const double q = el[i] / d1;
        double fq = (double)(int32_t)q;
        if (fq > q) fq -= 1.0;
        const double down = fq * d1, up = down + d1;
        const int take_up = up - el[i] < el[i] - down;
        rem0[i] = (int32_t)(take_up ? up : down);
        sum += (int)fq + take_up;
        diff[i] = el[i] - rem0[i];
        rank[i] = 0;
    }
    /* rank[i]: how many coordinates lie further above their rounding. */
    for (int i = 0; i < d; i++)
        for (int j = i + 1; j <= d; j++) {
            const int lt = diff[i] < diff[j];
            rank[i] += lt;
            rank[j] += !lt;
        }
    /* Bring the point back onto the plane by moving the |sum| coordinates
     * that rounded worst by d+1; the ranks rotate accordingly. */
    if (sum > 0) {
        for (int i = 0; i <= d; i++) {
            if (rank[i] >= d1 - sum) {
                rem0[i] -= d1;
                rank[i] += sum - d1;
            } else {
                rank[i] += sum;
            }
        }
    } else if (sum < 0) {
        for (int i = 0; i <= d; i++) {
            if (rank[i] < -sum) {
                rem0[i] += d1;
                rank[i] += d1 + sum;
            } else {
                rank[i] += sum;
            }
        }
    }
    /* Barycentric weights from the sorted differences (paper, eq. 3 area). */
    for (int i = 0; i <= d1; i++) bary[i] = 0;
    for (int i = 0; i <= d; i++) {
        double delta = (el[i] - rem0[i]) / d1;
        bary[d - rank[i]] += delta;
        bary[d1 - rank[i]] -= delta;
    }
    bary[0] += 1.0 + bary[d1];

    /* Corner k: rem0 plus the canonical simplex vertex k, permuted by rank. */
    for (int k = 0; k <= d; k++) {
        for (int i = 0; i < d; i++)
            corner[k * d + i] = rem0[i] + (rank[i] <= d - k ? k : k - d1);
        w[k] = (float)bary[k];
    }
    return 0;
}

static semseg_status lattice_fail_memory(lattice *L, lattice_hash *h, char *err)
{
    hash_free(h);
    lattice_free(L);
    return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "DenseCRF lattice: out of memory");
}

/*
 * The blur runs along chains: for axis a, maximal runs v1, v2, .., vk of
 * vertices with v(i+1) = vi + δa, δa = (1,..,1) - (d+1)·e_a (last coordinate
 * implied). A vertex without neighbours along an axis is on no chain of that
 * axis: its blur is the identity and costs nothing. Writes chain_v and
 * chain_off (see lattice.h); -1 when out of memory.
 */
void lattice_build_links(lattice *L, int part, int parts)
{
    enum { BATCH = 4 }; /* vertices whose neighbour slots are fetched together */
    const lattice_hash *h = L->build_hash;
    const int d = L->d;
    const int32_t m = L->m;
    const int32_t v1 = (int32_t)((int64_t)m * (part + 1) / parts);
    int32_t *next = L->build_next;
    if (!h) return;
    for (int32_t v0 = (int32_t)((int64_t)m * part / parts); v0 < v1; v0 += BATCH) {
        const int nb = v1 - v0 < BATCH ? (int)(v1 - v0) : BATCH;
        int32_t nk[BATCH][LATTICE_MAX_D + 1][LATTICE_MAX_D];
        uint32_t nh[BATCH][LATTICE_MAX_D + 1];
        for (int b = 0; b < nb; b++) {
            const int32_t *key = L->keys + (size_t)(v0 + b) * d;
            for (int axis = 0; axis <= d; axis++) {
                for (int i = 0; i < d; i++) nk[b][axis][i] = key[i] + 1;
                if (axis < d) nk[b][axis][axis] = key[axis] - d;
                nh[b][axis] = hash_key(nk[b][axis], d);
                hash_prefetch(h, nh[b][axis]);
            }
        }
        for (int b = 0; b < nb; b++)
            for (int axis = 0; axis <= d; axis++)
                next[(size_t)axis * m + v0 + b] = hash_find(h, nk[b][axis], nh[b][axis]);
    }
}

semseg_status lattice_build_begin(lattice *L, const double *f, int32_t n, int d, char *err)
{
    const int d1 = d + 1;
    lattice_hash h;
    double scale[LATTICE_MAX_D];
    /* corner[0] holds the corners of the point before the batch */
    int32_t corner[LATTICE_BATCH + 1][(LATTICE_MAX_D + 1) * LATTICE_MAX_D];
    float weight[LATTICE_BATCH][LATTICE_MAX_D + 1];
    uint32_t hk[LATTICE_BATCH][LATTICE_MAX_D + 1];
    unsigned char same[LATTICE_BATCH][LATTICE_MAX_D + 1];

    memset(L, 0, sizeof *L);
    memset(&h, 0, sizeof h);
    if (d < 1 || d > LATTICE_MAX_D || n < 1)
        return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT,
                        "DenseCRF lattice: %d features of %ld points not supported", d, (long)n);
    if ((int64_t)n * d1 >= INT32_MAX)
        return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED,
                        "DenseCRF lattice: %ld points are too many (limit %ld)",
                        (long)n, (long)(INT32_MAX / d1 - 1));
    L->d = d;
    L->n = n;
    size_t nc = (size_t)n * d1;
    L->vert = lattice_alloc(nc * sizeof *L->vert);
    L->slice_w = lattice_alloc(nc * sizeof *L->slice_w);

    /* The blur is [1 2 1] along d+1 axes and splat/slice add a tent each;
     * this spacing makes the whole approximate a unit-std Gaussian. */
    for (int i = 0; i < d; i++) scale[i] = d1 * sqrt(2.0 / 3.0) / sqrt((i + 1.0) * (i + 2.0));

    /* A bound on every key coordinate: a lifted coordinate is at most
     * (d+1)·Σ|f_i·scale_i|; rounding, the simplex corners and the chains'
     * neighbours move it by less than 4(d+1) more. */
    double fmax[LATTICE_MAX_D] = {0}, bound = 0;
    for (int32_t p = 0; p < n; p++)
        for (int i = 0; i < d; i++) {
            const double a = fabs(f[(size_t)p * d + i]);
            fmax[i] = a > fmax[i] ? a : fmax[i]; /* NaN never wins; lattice_locate refuses it */
        }
    for (int i = 0; i < d; i++) bound += fmax[i] * scale[i];
    bound = bound * d1 + 4.0 * d1;
    if (!L->vert || !L->slice_w || hash_init(&h, d, bound < LATTICE_NARROW, n)) return lattice_fail_memory(L, &h, err);

    /* Points go in batches: locate and hash a batch, prefetch its slots,
     * then insert. A corner equal to the previous point's (neighbouring
     * points often share a simplex) reuses its vertex without hashing. */
    for (int32_t p0 = 0; p0 < n; p0 += LATTICE_BATCH) {
        const int nb = n - p0 < LATTICE_BATCH ? (int)(n - p0) : LATTICE_BATCH;
        for (int b = 0; b < nb; b++) {
            const int32_t p = p0 + b;
            if (lattice_locate(d, f + (size_t)p * d, scale, corner[b + 1], weight[b])) {
                hash_free(&h);
                lattice_free(L);
                return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT,
                                "DenseCRF lattice: feature of point %ld is not finite or too large "
                                "(a std too small for the image?)", (long)p);
            }
            for (int k = 0; k <= d; k++) {
                same[b][k] = p > 0 && key_equal(corner[b] + k * d, corner[b + 1] + k * d, d)
                             ? 1 : 0;
                if (!same[b][k]) {
                    hk[b][k] = hash_key(corner[b + 1] + k * d, d);
                    hash_prefetch(&h, hk[b][k]);
                }
            }
        }
        for (int b = 0; b < nb; b++) {
            const size_t at = (size_t)(p0 + b) * d1;
            for (int k = 0; k <= d; k++) {
                int32_t v = same[b][k] ? L->vert[at - d1 + k] : hash_insert(&h, corner[b + 1] + k * d, hk[b][k]);
                if (v < 0) return lattice_fail_memory(L, &h, err);
                L->vert[at + k] = v;
                L->slice_w[at + k] = weight[b][k];
            }
        }
        memcpy(corner[0], corner[nb], sizeof corner[0]);
    }
    const int32_t m = h.m;
    L->m = m;

    /* Chains along every axis come next (lattice_build_links): they need
     * the keys by vertex, the table, and room for the links. */
    L->keys = malloc(((size_t)m * d + 1) * sizeof *L->keys);
    L->build_next = malloc(((size_t)d1 * m + 1) * sizeof *L->build_next);
    L->build_hash = calloc(1, sizeof *L->build_hash);
    if (!L->keys || !L->build_next || !L->build_hash) return lattice_fail_memory(L, &h, err);
    hash_keys(&h, L->keys);
    *L->build_hash = h;
    return SEMSEG_STATUS_OK;
}

semseg_status lattice_build_end(lattice *L, char *err)
{
    lattice_hash h;
    memset(&h, 0, sizeof h);
    if (!L->build_hash)
        return ref_fail(err, SEMSEG_STATUS_INTERNAL, "DenseCRF lattice: lattice_build_end without a begin");
    if (lattice_tables(L)) return lattice_fail_memory(L, &h, err);
    hash_free(L->build_hash);
    free(L->build_hash);
    free(L->build_next);
    L->build_hash = NULL;
    L->build_next = NULL;
    return SEMSEG_STATUS_OK;
}

semseg_status lattice_build(lattice *L, const double *f, int32_t n, int d, char *err)
{
    semseg_status st = lattice_build_begin(L, f, n, d, err);
    if (st != SEMSEG_STATUS_OK) return st;
    lattice_build_links(L, 0, 1);
    return lattice_build_end(L, err);
}

void lattice_free(lattice *L)
{
    free(L->keys);
    free(L->vert);
    free(L->slice_w);
    free(L->chain_v);
    free(L->chain_off);
    free(L->csr_start);
    free(L->csr_pt);
    free(L->csr_w);
    if (L->build_hash) hash_free(L->build_hash);
    free(L->build_hash);
    free(L->build_next);
    memset(L, 0, sizeof *L);
}

void lattice_scale(lattice *L, const float *in_scale, const float *out_scale)
{
    const int d1 = L->d + 1;
    const size_t nc = (size_t)L->n * d1;
    if (in_scale)
        for (size_t e = 0; e < nc; e++) L->csr_w[e] *= in_scale[L->csr_pt[e]];
    if (out_scale)
        for (int32_t p = 0; p < L->n; p++)
            for (int k = 0; k < d1; k++) L->slice_w[(size_t)p * d1 + k] *= out_scale[p];
}
