/*
 * Permutohedral lattice: construction (simplex location, vertex hashing,
 * neighbour and splat tables) and the three filtering passes. See lattice.h
 * for the model; the geometry follows Adams, Baek & Davis (2010), section 3.
 *
 * Construction runs once per image (about a sixth of a 10-iteration run);
 * the filtering passes run C labels at a time over compact arrays (each row
 * is `stride` contiguous floats), which is where the time goes: their inner
 * loops are unit-stride loops over a row that the compiler vectorises, and
 * they are bound by the latency of fetching scattered rows, not by arithmetic.
 */
#include "lattice.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- vertex hash: open addressing over int32 keys of d coordinates ---- */

/* A slot keeps the key's hash beside the vertex index, so a probe touches
 * the key itself only when the hashes already match. */
typedef struct lattice_slot {
    uint32_t hash;
    int32_t v;          /* vertex index, or -1 when empty */
} lattice_slot;

typedef struct lattice_hash {
    int d;
    lattice_slot *slot;
    size_t cap;         /* power of two, kept at least twice the vertex count */
    int32_t *keys;      /* [kcap][d] */
    int32_t m, kcap;
} lattice_hash;

static uint32_t hash_key(const int32_t *k, int d)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < d; i++) h = (h ^ (uint32_t)k[i]) * 0x100000001b3ull;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(h ^ (h >> 32));
}

static int key_equal(const int32_t *a, const int32_t *b, int d)
{
    for (int i = 0; i < d; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static void hash_clear(lattice_slot *slot, size_t cap)
{
    for (size_t i = 0; i < cap; i++) slot[i] = (lattice_slot){0, -1};
}

static int hash_init(lattice_hash *h, int d, int32_t expect)
{
    memset(h, 0, sizeof *h);
    h->d = d;
    h->cap = 64;
    while (h->cap < 2 * (size_t)expect) h->cap *= 2;
    h->kcap = expect > 16 ? expect : 16;
    h->slot = malloc(h->cap * sizeof *h->slot);
    h->keys = malloc((size_t)h->kcap * d * sizeof *h->keys);
    if (!h->slot || !h->keys) return -1;
    hash_clear(h->slot, h->cap);
    return 0;
}

static void hash_free(lattice_hash *h)
{
    free(h->slot);
    free(h->keys);
    memset(h, 0, sizeof *h);
}

/* The slot holding key k (hash hk), or the empty slot where it would go. */
static size_t hash_probe(const lattice_hash *h, const int32_t *k, uint32_t hk)
{
    size_t mask = h->cap - 1, i = hk & mask;
    for (;;) {
        const lattice_slot *s = &h->slot[i];
        if (s->v < 0 || (s->hash == hk && key_equal(h->keys + (size_t)s->v * h->d, k, h->d))) return i;
        i = (i + 1) & mask;
    }
}

static int32_t hash_find(const lattice_hash *h, const int32_t *k, uint32_t hk)
{
    return h->slot[hash_probe(h, k, hk)].v;
}

static int hash_grow(lattice_hash *h)
{
    size_t cap = h->cap * 2, mask = cap - 1;
    lattice_slot *slot = malloc(cap * sizeof *slot);
    if (!slot) return -1;
    hash_clear(slot, cap);
    for (size_t j = 0; j < h->cap; j++) {
        if (h->slot[j].v < 0) continue;
        size_t i = h->slot[j].hash & mask;
        while (slot[i].v >= 0) i = (i + 1) & mask;
        slot[i] = h->slot[j];
    }
    free(h->slot);
    h->slot = slot;
    h->cap = cap;
    return 0;
}

static void hash_prefetch(const lattice_hash *h, uint32_t hk)
{
    LATTICE_PREFETCH(&h->slot[hk & (h->cap - 1)]);
}

/* Index of key k (hash hk), inserting it when new; -1 when out of memory. */
static int32_t hash_insert(lattice_hash *h, const int32_t *k, uint32_t hk)
{
    size_t i = hash_probe(h, k, hk);
    if (h->slot[i].v >= 0) return h->slot[i].v;
    if (h->m == h->kcap) {
        int32_t kcap = h->kcap > INT32_MAX / 2 ? INT32_MAX : h->kcap * 2;
        int32_t *keys = realloc(h->keys, (size_t)kcap * h->d * sizeof *keys);
        if (!keys) return -1;
        h->keys = keys;
        h->kcap = kcap;
    }
    memcpy(h->keys + (size_t)h->m * h->d, k, h->d * sizeof *k);
    if (2 * (size_t)(h->m + 1) > h->cap) {
        if (hash_grow(h)) return -1;
        i = hash_probe(h, k, hk);
    }
    h->slot[i] = (lattice_slot){hk, h->m};
    return h->m++;
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
    for (int i = 0; i <= d; i++) {
        if (!(fabs(el[i]) < LATTICE_COORD_LIMIT)) return -1;
        double down = floor(el[i] / d1) * d1, up = down + d1;
        rem0[i] = (int32_t)(up - el[i] < el[i] - down ? up : down);
        sum += rem0[i] / d1;
        rank[i] = 0;
    }
    /* rank[i]: how many coordinates lie further above their rounding. */
    for (int i = 0; i < d; i++)
        for (int j = i + 1; j <= d; j++) {
            if (el[i] - rem0[i] < el[j] - rem0[j]) rank[i]++;
            else rank[j]++;
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

semseg_status lattice_build(lattice *L, const double *f, int32_t n, int d, char *err)
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
    L->vert = malloc(nc * sizeof *L->vert);
    L->slice_w = malloc(nc * sizeof *L->slice_w);
    if (!L->vert || !L->slice_w || hash_init(&h, d, n)) return lattice_fail_memory(L, &h, err);

    /* The blur is [1 2 1] along d+1 axes and splat/slice add a tent each;
     * this spacing makes the whole approximate a unit-std Gaussian. */
    for (int i = 0; i < d; i++) scale[i] = d1 * sqrt(2.0 / 3.0) / sqrt((i + 1.0) * (i + 2.0));

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

    /* Neighbours of every vertex along every axis: ±(1,..,1) ∓ (d+1)·e_axis. */
    L->nbr = malloc((size_t)d1 * m * 2 * sizeof *L->nbr);
    if (!L->nbr) return lattice_fail_memory(L, &h, err);
    for (int32_t v = 0; v < m; v++) {
        const int32_t *key = h.keys + (size_t)v * d;
        int32_t nk[2 * (LATTICE_MAX_D + 1)][LATTICE_MAX_D];
        uint32_t nh[2 * (LATTICE_MAX_D + 1)];
        for (int axis = 0; axis <= d; axis++) {
            int32_t *k1 = nk[2 * axis], *k2 = nk[2 * axis + 1];
            for (int i = 0; i < d; i++) {
                k1[i] = key[i] - 1;
                k2[i] = key[i] + 1;
            }
            if (axis < d) {
                k1[axis] = key[axis] + d;
                k2[axis] = key[axis] - d;
            }
            for (int s2 = 0; s2 < 2; s2++) {
                nh[2 * axis + s2] = hash_key(nk[2 * axis + s2], d);
                hash_prefetch(&h, nh[2 * axis + s2]);
            }
        }
        for (int j = 0; j < 2 * d1; j++) {
            int32_t u = hash_find(&h, nk[j], nh[j]);
            L->nbr[((size_t)(j / 2) * m + v) * 2 + j % 2] = u < 0 ? m : u;
        }
    }

    /* The splat as a gather: per vertex, its (point, weight) entries. */
    L->csr_start = calloc((size_t)m + 1, sizeof *L->csr_start);
    L->csr_pt = malloc(nc * sizeof *L->csr_pt);
    L->csr_w = malloc(nc * sizeof *L->csr_w);
    if (!L->csr_start || !L->csr_pt || !L->csr_w) return lattice_fail_memory(L, &h, err);
    for (size_t e = 0; e < nc; e++) L->csr_start[L->vert[e] + 1]++;
    for (int32_t v = 0; v < m; v++) L->csr_start[v + 1] += L->csr_start[v];
    int32_t *fill = malloc((size_t)m * sizeof *fill);
    if (!fill) return lattice_fail_memory(L, &h, err);
    memcpy(fill, L->csr_start, (size_t)m * sizeof *fill);
    for (size_t e = 0; e < nc; e++) {
        int32_t at = fill[L->vert[e]]++;
        L->csr_pt[at] = (int32_t)(e / d1);
        L->csr_w[at] = L->slice_w[e];
    }
    free(fill);

    /* Keep the keys (tests check the geometry with them), trimmed to size. */
    L->keys = h.keys;
    h.keys = NULL;
    int32_t *trim = realloc(L->keys, ((size_t)m * d + 1) * sizeof *trim);
    if (trim) L->keys = trim;
    hash_free(&h);
    return SEMSEG_STATUS_OK;
}

void lattice_free(lattice *L)
{
    free(L->keys);
    free(L->vert);
    free(L->slice_w);
    free(L->nbr);
    free(L->csr_start);
    free(L->csr_pt);
    free(L->csr_w);
    memset(L, 0, sizeof *L);
}

void lattice_scale(lattice *L, const float *in_scale, const float *out_scale)
{
    const int d1 = L->d + 1;
    const size_t nc = (size_t)L->n * d1;
    if (in_scale)
        for (size_t e = 0; e < nc; e++) L->csr_w[e] *= in_scale[L->csr_pt[e]];
    if (out_scale)
        for (size_t e = 0; e < nc; e++) L->slice_w[e] *= out_scale[e / d1];
}

/* ---- filtering passes ---- */

/* The blur reads its neighbour rows at scattered places; asking for them a
 * few vertices ahead hid enough latency to save 15 % of a run (measured;
 * the same for splat and slice gained nothing, so they do without). */
#define LATTICE_AHEAD 8

static inline void lattice_prefetch_row(const float *row, int stride)
{
    for (int c = 0; c < stride; c += 16) LATTICE_PREFETCH(row + c);
    LATTICE_PREFETCH(row + stride - 1);
}

void lattice_splat(const lattice *L, const float *in, int stride, float *V, int32_t v0, int32_t v1)
{
    for (int32_t v = v0; v < v1; v++) {
        float *restrict o = V + (size_t)v * stride;
        for (int c = 0; c < stride; c++) o[c] = 0.0f;
        for (int32_t e = L->csr_start[v]; e < L->csr_start[v + 1]; e++) {
            const float w = L->csr_w[e];
            const float *restrict r = in + (size_t)L->csr_pt[e] * stride;
            for (int c = 0; c < stride; c++) o[c] += w * r[c];
        }
    }
}

void lattice_blur(const lattice *L, int axis, const float *src, float *dst, int stride,
                  int32_t v0, int32_t v1)
{
    const int32_t *nb = L->nbr + (size_t)axis * L->m * 2;
    for (int32_t v = v0; v < v1; v++) {
        if (v + LATTICE_AHEAD < v1) {
            lattice_prefetch_row(src + (size_t)nb[2 * (v + LATTICE_AHEAD)] * stride, stride);
            lattice_prefetch_row(src + (size_t)nb[2 * (v + LATTICE_AHEAD) + 1] * stride, stride);
        }
        const float *restrict s = src + (size_t)v * stride;
        const float *restrict a = src + (size_t)nb[2 * v] * stride;
        const float *restrict b = src + (size_t)nb[2 * v + 1] * stride;
        float *restrict o = dst + (size_t)v * stride;
        for (int c = 0; c < stride; c++) o[c] = s[c] + 0.5f * (a[c] + b[c]);
    }
}

void lattice_slice_add(const lattice *L, const float *V, int stride, float *out,
                       int32_t p0, int32_t p1)
{
    const int d1 = L->d + 1;
    for (int32_t p = p0; p < p1; p++) {
        float *restrict o = out + (size_t)(p - p0) * stride;
        const int32_t *vert = L->vert + (size_t)p * d1;
        const float *w = L->slice_w + (size_t)p * d1;
        for (int k = 0; k < d1; k++) {
            const float wk = w[k];
            const float *restrict r = V + (size_t)vert[k] * stride;
            for (int c = 0; c < stride; c++) o[c] += wk * r[c];
        }
    }
}

semseg_status lattice_filter(const lattice *L, const float *in, int stride, float *out)
{
    float *a = calloc(((size_t)L->m + 1) * stride, sizeof *a);
    float *b = calloc(((size_t)L->m + 1) * stride, sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return SEMSEG_STATUS_NO_MEMORY;
    }
    lattice_splat(L, in, stride, a, 0, L->m);
    for (int axis = 0; axis <= L->d; axis++) {
        lattice_blur(L, axis, a, b, stride, 0, L->m);
        float *t = a;
        a = b;
        b = t;
    }
    memset(out, 0, (size_t)L->n * stride * sizeof *out);
    lattice_slice_add(L, a, stride, out, 0, L->n);
    free(a);
    free(b);
    return SEMSEG_STATUS_OK;
}
