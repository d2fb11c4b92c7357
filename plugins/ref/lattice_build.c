/*
 * Permutohedral lattice, construction: simplex location and vertex hashing
 * (lattice_build_begin), the neighbour links (lattice_build_links); the
 * tables the passes read (chains, splat table) are made by lattice_tables in
 * lattice.c. See lattice.h for the model; the geometry follows Adams, Baek &
 * Davis (2010), section 3. Construction runs once per image.
 *
 * Two ways to the same lattice: when the features' ranges allow (any image
 * at sensible stds), a vertex key is packed into one uint64, the vertices
 * are found with a table of such keys and the links by merging the sorted
 * keys with themselves (see "packed keys"); else keys are int32 arrays in a
 * hash table, and links are looked up there. Both number the vertices in
 * the order the points first reach them, so the result is the same.
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
/* (the general way; the packed one below is taken when it can be) */

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

/* Packed keys (see "packed keys" below). */
typedef struct lattice_pack {
    int32_t lo[LATTICE_MAX_D];            /* z_i is stored as z_i - lo[i] .. */
    int shift[LATTICE_MAX_D];             /* .. at bits shift[i] .. */
    uint64_t mask[LATTICE_MAX_D];         /* .. under mask[i] */
    int bits;                             /* of a key */
    uint64_t step[LATTICE_MAX_D + 1];     /* key + δa packs to packed(key) + step[a] (mod 2^64) */
    int vbits;                            /* a slot is key << vbits | vertex */
    uint64_t *slot;                       /* [cap] (cap in lattice_hash), begin only */
    int home_shift;                       /* 64 - log2(cap) */
    uint64_t *key;                        /* [room] packed key of each vertex */
    int32_t room;
    uint64_t *sorted;                     /* [m+1] the slots sorted by key, LATTICE_PEMPTY last */
} lattice_pack;

typedef struct lattice_hash {
    int d, narrow;
    size_t bytes;           /* per slot */
    unsigned char *slot;    /* [cap][bytes] */
    size_t cap;             /* power of two */
    int32_t m;              /* vertices so far */
    int packed;             /* the keys are packed: pack is used instead of slot */
    lattice_pack pack;      /* (m and cap above count for it too) */
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
    free(h->pack.slot);
    free(h->pack.key);
    free(h->pack.sorted);
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

/* ---- packed keys ---- */

/*
 * All coordinates of a lattice point are congruent mod d+1, so a vertex is
 * also given by the d integers z_i = (x_i - x_(i+1)) / (d+1), and these
 * have small ranges: z_i follows two features only, ((i+2)·f_i·scale_i -
 * i·f_(i-1)·scale_(i-1)) / (d+1). With the features bounded per dimension,
 * when the ranges' widths and the bits of a vertex index add up to at most
 * 63 (the 5-D bilateral kernel on a 500x375 photo needs 35 + 21), a slot of
 * the vertex table is one uint64, key << vbits | vertex, where the key holds
 * z_i - lo[i] at bits shift[i]. Hashing and comparing a key then cost a
 * multiplication and a compare, and the table is half the size of int16 key
 * slots. The packing is linear, so a neighbour key + δa packs to
 * packed(key) + step[a], and so does each corner of a simplex from the one
 * before: no key is unpacked except for L->keys. The ranges include the
 * neighbours of every vertex, so a packed neighbour never aliases another.
 * The 64th bit keeps every slot below the sentinel LATTICE_PEMPTY.
 */
#define LATTICE_PEMPTY UINT64_MAX /* an empty slot: no vertex index is all ones */

/* Plans the packing of the keys of n points whose features lie within
 * [flo[i], fhi[i]]; -1 when it does not fit (or the bounds are not finite). */
static int pack_plan(lattice_pack *pk, int d, int32_t n, const double *flo, const double *fhi, const double *scale)
{
    const int d1 = d + 1;
    /* A vertex coordinate is its point's lifted one rounded to a multiple of
     * d+1 (≤ (d+1)/2 away), moved by d+1 to reach the plane, plus a corner
     * offset in [-(d+1), d]; a neighbour adds [-d, 1]: within 4(d+1) in all,
     * so z_i is within 8 of its point's value. 9 leaves room for rounding. */
    const int64_t margin = 9;
    double a[LATTICE_MAX_D + 1], b[LATTICE_MAX_D + 1]; /* f_(j-1)·scale_(j-1), lifted as in lattice_simplex */
    a[0] = b[0] = 0;
    for (int j = 1; j <= d; j++) {
        a[j] = flo[j - 1] * scale[j - 1];
        b[j] = fhi[j - 1] * scale[j - 1];
    }
    pk->vbits = 1;
    while (((int64_t)1 << pk->vbits) <= (int64_t)n * d1) pk->vbits++;
    int bits = 0;
    for (int i = 0; i < d; i++) {
        /* x_i - x_(i+1) of the lifted point */
        const double lo = (i + 2) * a[i + 1] - i * b[i], hi = (i + 2) * b[i + 1] - i * a[i];
        if (!(fabs(lo) < LATTICE_COORD_LIMIT && fabs(hi) < LATTICE_COORD_LIMIT)) return -1;
        const int64_t l = (int64_t)floor(lo / d1) - margin, h = (int64_t)ceil(hi / d1) + margin;
        int w = 1;
        while ((h - l) >> w) w++;
        pk->lo[i] = (int32_t)l;
        pk->shift[i] = bits;
        pk->mask[i] = ((uint64_t)1 << w) - 1;
        bits += w;
        if (bits + pk->vbits > 63) return -1;
    }
    pk->bits = bits;
    /* δa lowers z_a by 1 and raises z_(a-1) by 1 */
    for (int s = 0; s <= d; s++)
        pk->step[s] = (s > 0 ? (uint64_t)1 << pk->shift[s - 1] : 0) - (s < d ? (uint64_t)1 << pk->shift[s] : 0);
    return 0;
}

/* The key of the lattice point (d+1)·q (q: d+1 integers). */
static uint64_t pack_key(const lattice_pack *pk, const int32_t *q, int d)
{
    uint64_t key = 0;
    for (int i = 0; i < d; i++) key += (uint64_t)(uint32_t)(q[i] - q[i + 1] - pk->lo[i]) << pk->shift[i];
    return key;
}

/* The first d coordinates of the point of key: x_d = -Σ (j+1)·z_j makes
 * the sum 0, and x_i = x_(i+1) + (d+1)·z_i. */
static inline void unpack_key(const lattice_pack *pk, uint64_t key, int32_t *x, const int d)
{
    int64_t z[LATTICE_MAX_D], xi = 0;
    for (int i = 0; i < d; i++) {
        z[i] = pk->lo[i] + (int64_t)((key >> pk->shift[i]) & pk->mask[i]);
        xi -= (i + 1) * z[i];
    }
    for (int i = d - 1; i >= 0; i--) {
        xi += (int64_t)(d + 1) * z[i];
        x[i] = (int32_t)xi;
    }
}

/* Fibonacci hashing: the top bits of key · 2^64/φ depend on every bit;
 * the table of 2^b slots starts at the top b bits (pack_home). */
static inline uint64_t pack_hash(uint64_t key)
{
    return key * 0x9e3779b97f4a7c15ull;
}

static inline const uint64_t *pack_home(const lattice_pack *pk, uint64_t hk)
{
    return pk->slot + (hk >> pk->home_shift);
}

/* The slot holding key (hash hk), or the empty slot where it would go. */
static inline size_t pack_probe(const lattice_pack *pk, uint64_t key, uint64_t hk)
{
    const size_t mask = ((size_t)1 << (64 - pk->home_shift)) - 1;
    size_t i = (size_t)(hk >> pk->home_shift);
    while (pk->slot[i] != LATTICE_PEMPTY && pk->slot[i] >> pk->vbits != key) i = (i + 1) & mask;
    return i;
}

static int pack_alloc(lattice_pack *pk, int log2cap)
{
    const size_t cap = (size_t)1 << log2cap;
    pk->slot = lattice_alloc(cap * sizeof *pk->slot);
    if (!pk->slot) return -1;
    memset(pk->slot, 0xff, cap * sizeof *pk->slot);
    pk->home_shift = 64 - log2cap;
    return 0;
}

/* Table and key room for expect vertices (grown when needed: at most three
 * quarters full, as the general table). */
static int pack_init(lattice_hash *h, int32_t expect)
{
    int log2cap = 6;
    while (((size_t)1 << log2cap) < 2 * (size_t)expect) log2cap++;
    h->packed = 1;
    h->cap = (size_t)1 << log2cap;
    h->pack.room = (int32_t)(h->cap * 3 / 4 < INT32_MAX ? h->cap * 3 / 4 : INT32_MAX);
    h->pack.key = malloc((size_t)h->pack.room * sizeof *h->pack.key);
    return h->pack.key && !pack_alloc(&h->pack, log2cap) ? 0 : -1;
}

static int pack_grow(lattice_hash *h)
{
    lattice_pack *pk = &h->pack;
    uint64_t *old = pk->slot;
    const size_t cap = h->cap;
    const int32_t room = pk->room <= INT32_MAX / 2 ? 2 * pk->room : INT32_MAX;
    uint64_t *key = realloc(pk->key, (size_t)room * sizeof *key);
    if (!key) return -1;
    pk->key = key;
    pk->room = room;
    if (pack_alloc(pk, 64 - pk->home_shift + 1)) {
        pk->slot = old;
        return -1;
    }
    h->cap = 2 * cap;
    for (size_t j = 0; j < cap; j++)
        if (old[j] != LATTICE_PEMPTY) pk->slot[pack_probe(pk, old[j] >> pk->vbits, pack_hash(old[j] >> pk->vbits))] = old[j];
    free(old);
    return 0;
}

/* pack_insert of a key not in the table, whose empty slot is i. */
static int32_t pack_add(lattice_hash *h, uint64_t key, uint64_t hk, size_t i)
{
    lattice_pack *pk = &h->pack;
    if (4 * (size_t)(h->m + 1) > 3 * h->cap || h->m == pk->room) {
        if (pack_grow(h)) return -1;
        i = pack_probe(pk, key, hk);
    }
    pk->slot[i] = key << pk->vbits | (uint64_t)h->m;
    pk->key[h->m] = key;
    return h->m++;
}

/* Index of key (hash hk), inserting it when new; -1 when out of memory.
 * The lookup is inlined (most keys are found: three in four on the
 * benchmark), the insertion is not. */
static inline int32_t pack_insert(lattice_hash *h, uint64_t key, uint64_t hk)
{
    lattice_pack *pk = &h->pack;
    const size_t i = pack_probe(pk, key, hk);
    if (pk->slot[i] != LATTICE_PEMPTY) return (int32_t)(pk->slot[i] & (((uint64_t)1 << pk->vbits) - 1));
    return pack_add(h, key, hk, i);
}

/* The slots key << vbits | vertex of all vertices sorted by key (radix
 * sort, least significant digit first, digits of at most 11 bits so that
 * the histograms stay in L1), then LATTICE_PEMPTY; -1 when out of memory.
 * The table of slots, no longer needed, is the sort's second buffer (it has
 * room: m < cap), which spares fresh pages. Each pass moves the slots of
 * LATTICE_SORT_PARTS parts of the array side by side, each part with its
 * own counters (a part's slots of one digit go after those of the parts
 * before, so the sort stays stable): consecutive slots often share a digit,
 * and with one counter each move waited for the one before. */
#define LATTICE_SORT_PARTS 4
static int pack_sort(lattice_hash *h)
{
    lattice_pack *pk = &h->pack;
    const int32_t m = h->m, part = m / LATTICE_SORT_PARTS;
    const int passes = (pk->bits + 10) / 11, digit = (pk->bits + passes - 1) / passes;
    const uint64_t dmask = ((uint64_t)1 << digit) - 1;
    uint64_t *a = lattice_alloc(((size_t)m + 1) * sizeof *a), *b = pk->slot;
    uint32_t count[LATTICE_SORT_PARTS][(size_t)1 << 11]; /* (m < 2^31) */
    pk->slot = NULL;
    if (!a) {
        free(b);
        return -1;
    }
    for (int32_t v = 0; v < m; v++) a[v] = pk->key[v] << pk->vbits | (uint64_t)v;
    for (int p = 0, shift = pk->vbits; p < passes; p++, shift += digit) {
        uint64_t *t = a;
        uint32_t at = 0;
        /* part q is a[q·part ..], the last one also taking the rest */
        memset(count, 0, sizeof count);
        for (int q = 0; q < LATTICE_SORT_PARTS; q++)
            for (int32_t e = q * part; e < (q + 1 < LATTICE_SORT_PARTS ? (q + 1) * part : m); e++)
                count[q][(a[e] >> shift) & dmask]++;
        for (size_t c = 0; c <= dmask; c++)
            for (int q = 0; q < LATTICE_SORT_PARTS; q++) {
                const uint32_t k = count[q][c];
                count[q][c] = at;
                at += k;
            }
        for (int32_t e = 0; e < part; e++)
            for (int q = 0; q < LATTICE_SORT_PARTS; q++) {
                const uint64_t x = a[q * part + e];
                b[count[q][(x >> shift) & dmask]++] = x;
            }
        for (int32_t e = LATTICE_SORT_PARTS * part; e < m; e++)
            b[count[LATTICE_SORT_PARTS - 1][(a[e] >> shift) & dmask]++] = a[e];
        a = b;
        b = t;
    }
    free(b);
    a[m] = LATTICE_PEMPTY;
    pk->sorted = a;
    return 0;
}

/* ---- geometry ---- */

/*
 * Finds the simplex enclosing one point: its remainder-0 corner (d+1)·q
 * (q: d+1 integers), and the barycentric weights of its d+1 corners, where
 * corner k+1 (the remainder-(k+1) lattice point) is corner k + δ_axis[d-k],
 * δa = (1,..,1) - (d+1)·e_a. Returns -1 when a lifted coordinate is not
 * finite or too large for int32 keys. Inlined with d a constant where it
 * matters (see vertices_packed): the arrays then live in registers.
 */
static inline int lattice_simplex(const int d, const double *pos, const double *scale,
                                  int32_t *q, int *axis, float *w)
{
    const int d1 = d + 1;
    const double inv = 1.0 / d1;
    double el[LATTICE_MAX_D + 1];
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

    /* Nearest point whose coordinates are all multiples of d+1 (ties go
     * down); its coordinate sum (in units of d+1) says how far it is off
     * the plane. */
    int sum = 0;
    double diff[LATTICE_MAX_D + 1];
    for (int i = 0; i <= d; i++) {
        if (!(fabs(el[i]) < LATTICE_COORD_LIMIT)) return -1;
        /* floor by truncation (|el| < 2^30): floor() is a library call on
         * x86-64. The reciprocal can make it one off next to a multiple of
         * d+1, which then is the nearest multiple either way. */
        const double fq = el[i] * inv;
        int32_t below = (int32_t)fq;
        below -= (double)below > fq;
        const double down = (double)below * d1, up = down + d1;
        const int take_up = up - el[i] < el[i] - down;
        q[i] = below + take_up;
        sum += q[i];
        diff[i] = el[i] - (double)(q[i] * d1); /* exact, and no branch to mispredict */
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
    for (int i = 0; i <= d; i++) {
        const int move = (sum < 0 && rank[i] < -sum) - (sum > 0 && rank[i] >= d1 - sum);
        q[i] += move;
        axis[rank[i] + sum + move * d1] = i;
    }
    /* Barycentric weights from the sorted differences (paper, eq. 3 area):
     * weight k is delta of rank d-k less delta of rank d+1-k, and the rest
     * of 1 for weight 0. (Summed in this form, not scattered into an array,
     * the values are the same: x + 0 = x and 0 - x = -x.) */
    double delta[LATTICE_MAX_D + 1];
    /* (the entries past d are never read, but setting them quiets
     * -Wmaybe-uninitialized; an "= {0}" was a rep stos, 4 % of the build) */
    for (int i = 0; i <= LATTICE_MAX_D; i++) delta[i] = i <= d ? (el[i] - (double)(q[i] * d1)) / d1 : 0.0;
    w[0] = (float)(delta[axis[d]] + (1.0 - delta[axis[0]]));
    for (int k = 1; k <= d; k++) w[k] = (float)(delta[axis[d - k]] - delta[axis[d1 - k]]);
    return 0;
}

/* lattice_simplex with the first d coordinates of every corner. */
static int lattice_locate(int d, const double *pos, const double *scale,
                          int32_t *corner, float *w)
{
    const int d1 = d + 1;
    int32_t q[LATTICE_MAX_D + 1];
    int axis[LATTICE_MAX_D + 1];
    if (lattice_simplex(d, pos, scale, q, axis, w)) return -1;
    for (int i = 0; i < d; i++) corner[i] = q[i] * d1;
    for (int k = 0; k < d; k++)
        for (int i = 0; i < d; i++)
            corner[(k + 1) * d + i] = corner[k * d + i] + (i == axis[d - k] ? -d : 1);
    return 0;
}

/* lattice_simplex with the packed keys of the corners. */
static inline int lattice_locate_packed(const int d, const double *pos, const double *scale,
                                        const lattice_pack *pk, uint64_t *key, float *w)
{
    int32_t q[LATTICE_MAX_D + 1];
    int axis[LATTICE_MAX_D + 1];
    if (lattice_simplex(d, pos, scale, q, axis, w)) return -1;
    key[0] = pack_key(pk, q, d);
    for (int k = 0; k < d; k++) key[k + 1] = key[k] + pk->step[axis[d - k]];
    return 0;
}

static semseg_status lattice_fail_memory(lattice *L, lattice_hash *h, char *err)
{
    hash_free(h);
    lattice_free(L);
    return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "DenseCRF lattice: out of memory");
}

/*
 * The links: next[a·m + v] is the vertex key(v) + δa, δa = (1,..,1) -
 * (d+1)·e_a (last coordinate implied), or -1; lattice_tables makes the
 * blur's chains from them. Probes are issued for a batch of vertices before
 * any is read, so that their misses overlap.
 */
enum { LATTICE_LINK_BATCH = 4 }; /* vertices whose neighbour slots are fetched together */

static void links_general(lattice *L, const lattice_hash *h, int32_t v0, int32_t v1)
{
    const int d = L->d;
    const int32_t m = L->m;
    int32_t *next = L->build_next;
    for (; v0 < v1; v0 += LATTICE_LINK_BATCH) {
        const int nb = v1 - v0 < LATTICE_LINK_BATCH ? (int)(v1 - v0) : LATTICE_LINK_BATCH;
        int32_t nk[LATTICE_LINK_BATCH][LATTICE_MAX_D + 1][LATTICE_MAX_D];
        uint32_t nh[LATTICE_LINK_BATCH][LATTICE_MAX_D + 1];
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

/* L->keys of vertices v0..v1-1 from their packed keys; with d a constant
 * (DenseCRF's d = 2 and 5) the loops unroll (the links took 1 to 2 ms less
 * on the benchmark). */
static inline void unpack_keys_d(const lattice_pack *pk, int32_t *keys, int32_t v0, int32_t v1, const int d)
{
    for (int32_t v = v0; v < v1; v++) unpack_key(pk, pk->key[v], keys + (size_t)v * d, d);
}

static void unpack_keys(const lattice_pack *pk, int32_t *keys, int32_t v0, int32_t v1, int d)
{
    switch (d) {
    case 2: unpack_keys_d(pk, keys, v0, v1, 2); break;
    case 5: unpack_keys_d(pk, keys, v0, v1, 5); break;
    default: unpack_keys_d(pk, keys, v0, v1, d); break;
    }
}

/* The first position at or after `at` whose slot is not below t. Mostly 0,
 * 1 or 2 steps, which no branch predicts: two are taken without branching,
 * a loop does the rest (the sentinel stops it). */
static inline int32_t pack_seek(const uint64_t *s, int32_t at, uint64_t t)
{
    at += s[at] < t;
    at += s[at] < t;
    while (s[at] < t) at++;
    return at;
}

/*
 * With the vertices sorted by key, the neighbours along axis a are a merge
 * of the sorted keys with themselves plus step[a] (a constant, so the
 * targets are sorted too): one pass, no hashing. A merge is a chain of
 * dependent loads, so LATTICE_LANES of them (over consecutive stretches of
 * the positions, each started by a binary search) run side by side. Share
 * part of parts takes the sorted positions i0..i1-1. Also unpacks the keys
 * of vertices i0..i1-1 into L->keys.
 */
#define LATTICE_LANES 8
static void links_packed(lattice *L, const lattice_pack *pk, int part, int parts)
{
    const int d = L->d, vb = pk->vbits;
    const int32_t m = L->m;
    const int32_t i0 = (int32_t)((int64_t)m * part / parts), i1 = (int32_t)((int64_t)m * (part + 1) / parts);
    /* slots compare as their keys: key << vb | v < t << vb iff key < t */
    const uint64_t *s = pk->sorted, vmask = ((uint64_t)1 << vb) - 1;
    const int32_t len = (i1 - i0) / LATTICE_LANES;
    if (i0 == i1) return;
    for (int axis = 0; axis <= d; axis++) {
        const uint64_t step = pk->step[axis] << vb;
        int32_t *next = L->build_next + (size_t)axis * m;
        int32_t j[LATTICE_LANES];
        for (int l = 0; l < LATTICE_LANES; l++) {
            /* lane l starts at i0 + l·len; the last lane also takes the rest */
            const int32_t i = i0 + l * len;
            const uint64_t t = (s[i] & ~vmask) + step;
            int32_t lo = 0, hi = m;
            while (lo < hi) {
                const int32_t mid = lo + (hi - lo) / 2;
                if (s[mid] < t) lo = mid + 1;
                else hi = mid;
            }
            j[l] = lo;
        }
        for (int32_t k = 0; k < len; k++)
#pragma GCC unroll 16
            for (int l = 0; l < LATTICE_LANES; l++) {
                const uint64_t si = s[i0 + l * len + k], t = (si & ~vmask) + step;
                j[l] = pack_seek(s, j[l], t);
                /* -1 when the key found is not t, without a branch (a coin toss) */
                const int32_t miss = -(int32_t)(s[j[l]] - t > vmask);
                next[si & vmask] = (int32_t)(s[j[l]] & vmask) | miss;
            }
        for (int32_t i = i0 + LATTICE_LANES * len; i < i1; i++) {
            const uint64_t t = (s[i] & ~vmask) + step;
            j[LATTICE_LANES - 1] = pack_seek(s, j[LATTICE_LANES - 1], t);
            const int32_t miss = -(int32_t)(s[j[LATTICE_LANES - 1]] - t > vmask);
            next[s[i] & vmask] = (int32_t)(s[j[LATTICE_LANES - 1]] & vmask) | miss;
        }
    }
    unpack_keys(pk, L->keys, i0, i1, d);
}

void lattice_build_links(lattice *L, int part, int parts)
{
    const lattice_hash *h = L->build_hash;
    const int32_t v0 = (int32_t)((int64_t)L->m * part / parts), v1 = (int32_t)((int64_t)L->m * (part + 1) / parts);
    if (!h) return;
    if (h->packed) links_packed(L, &h->pack, part, parts);
    else links_general(L, h, v0, v1);
}

static semseg_status lattice_fail_point(lattice *L, lattice_hash *h, int32_t p, char *err)
{
    hash_free(h);
    lattice_free(L);
    return ref_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT,
                    "DenseCRF lattice: feature of point %ld is not finite or too large "
                    "(a std too small for the image?)", (long)p);
}

/* The features of the points from p0 on, in fb, when p0 starts a block;
 * the features of point p0 (fb: room for LATTICE_FEATURE_BLOCK points). */
static inline const double *feature_block(lattice_features feat, const void *ctx, int32_t n, int d, int32_t p0,
                                          double *fb)
{
    const int32_t at = p0 % LATTICE_FEATURE_BLOCK;
    if (at == 0) feat(ctx, p0, n - p0 < LATTICE_FEATURE_BLOCK ? n : p0 + LATTICE_FEATURE_BLOCK, fb);
    return fb + (size_t)at * d;
}
_Static_assert(LATTICE_FEATURE_BLOCK % LATTICE_BATCH == 0, "a batch never straddles two feature blocks");

/* Points go in batches: locate and hash a batch, prefetch its slots, then
 * insert. A corner equal to the previous point's (neighbouring points often
 * share a simplex) reuses its vertex without hashing. */
static semseg_status vertices_general(lattice *L, lattice_hash *h, lattice_features feat, const void *ctx,
                                      double *fb, const double *scale, char *err)
{
    const int d = L->d, d1 = d + 1;
    const int32_t n = L->n;
    /* corner[0] holds the corners of the point before the batch */
    int32_t corner[LATTICE_BATCH + 1][(LATTICE_MAX_D + 1) * LATTICE_MAX_D];
    float weight[LATTICE_BATCH][LATTICE_MAX_D + 1];
    uint32_t hk[LATTICE_BATCH][LATTICE_MAX_D + 1];
    unsigned char same[LATTICE_BATCH][LATTICE_MAX_D + 1];
    for (int32_t p0 = 0; p0 < n; p0 += LATTICE_BATCH) {
        const int nb = n - p0 < LATTICE_BATCH ? (int)(n - p0) : LATTICE_BATCH;
        const double *f = feature_block(feat, ctx, n, d, p0, fb);
        for (int b = 0; b < nb; b++) {
            const int32_t p = p0 + b;
            if (lattice_locate(d, f + (size_t)b * d, scale, corner[b + 1], weight[b]))
                return lattice_fail_point(L, h, p, err);
            for (int k = 0; k <= d; k++) {
                same[b][k] = p > 0 && key_equal(corner[b] + k * d, corner[b + 1] + k * d, d)
                             ? 1 : 0;
                if (!same[b][k]) {
                    hk[b][k] = hash_key(corner[b + 1] + k * d, d);
                    hash_prefetch(h, hk[b][k]);
                }
            }
        }
        for (int b = 0; b < nb; b++) {
            const size_t at = (size_t)(p0 + b) * d1;
            for (int k = 0; k <= d; k++) {
                int32_t v = same[b][k] ? L->vert[at - d1 + k] : hash_insert(h, corner[b + 1] + k * d, hk[b][k]);
                if (v < 0) return lattice_fail_memory(L, h, err);
                L->vert[at + k] = v;
                L->slice_w[at + k] = weight[b][k];
            }
        }
        memcpy(corner[0], corner[nb], sizeof corner[0]);
    }
    return SEMSEG_STATUS_OK;
}

/* vertices_general with packed keys, for d = L->d (inlined with d a
 * constant by vertices_packed). Every corner is looked up, also one equal
 * to the previous point's (a third of them on the benchmark): its slot is
 * then in cache, and a branch on whether a corner is new, a coin toss,
 * cost more than those lookups (begin took 2 ms more). */
static inline semseg_status vertices_packed_d(lattice *L, lattice_hash *h, lattice_features feat, const void *ctx,
                                              double *fb, const double *scale, char *err, const int d)
{
    const int d1 = d + 1;
    const int32_t n = L->n;
    const lattice_pack *pk = &h->pack;
    uint64_t key[LATTICE_BATCH][LATTICE_MAX_D + 1];
    uint64_t hk[LATTICE_BATCH][LATTICE_MAX_D + 1];
    for (int32_t p0 = 0; p0 < n; p0 += LATTICE_BATCH) {
        const int nb = n - p0 < LATTICE_BATCH ? (int)(n - p0) : LATTICE_BATCH;
        const double *f = feature_block(feat, ctx, n, d, p0, fb);
        for (int b = 0; b < nb; b++) {
            const int32_t p = p0 + b;
            if (lattice_locate_packed(d, f + (size_t)b * d, scale, pk, key[b], L->slice_w + (size_t)p * d1))
                return lattice_fail_point(L, h, p, err);
            for (int k = 0; k <= d; k++) {
                hk[b][k] = pack_hash(key[b][k]);
                LATTICE_PREFETCH(pack_home(pk, hk[b][k]));
            }
        }
        for (int b = 0; b < nb; b++) {
            const size_t at = (size_t)(p0 + b) * d1;
            for (int k = 0; k <= d; k++) {
                const int32_t v = pack_insert(h, key[b][k], hk[b][k]);
                if (v < 0) return lattice_fail_memory(L, h, err);
                L->vert[at + k] = v;
            }
        }
    }
    return SEMSEG_STATUS_OK;
}

/* The kernels of DenseCRF, position (d = 2) and bilateral (d = 5), get a
 * build of their own: with d a constant, lattice_simplex keeps its arrays
 * in registers (on the benchmark, when it was measured, begin took 30 ms
 * instead of 35). */
static semseg_status vertices_packed(lattice *L, lattice_hash *h, lattice_features feat, const void *ctx, double *fb,
                                     const double *scale, char *err)
{
    switch (L->d) {
    case 2: return vertices_packed_d(L, h, feat, ctx, fb, scale, err, 2);
    case 5: return vertices_packed_d(L, h, feat, ctx, fb, scale, err, 5);
    default: return vertices_packed_d(L, h, feat, ctx, fb, scale, err, L->d);
    }
}

semseg_status lattice_build_begin(lattice *L, lattice_features feat, const void *ctx, int32_t n, int d, char *err)
{
    const int d1 = d + 1;
    lattice_hash h;
    double scale[LATTICE_MAX_D];
    double fb[LATTICE_FEATURE_BLOCK * LATTICE_MAX_D]; /* a block of features */

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

    /* Bounds on the key coordinates. Per dimension, the range of the
     * features gives the ranges the packed keys need (pack_plan). Else, a
     * lifted coordinate is at most (d+1)·Σ|f_i·scale_i|; rounding, the
     * simplex corners and the chains' neighbours move it by less than
     * 4(d+1) more. */
    double flo[LATTICE_MAX_D], fhi[LATTICE_MAX_D], bound = 0;
    for (int i = 0; i < d; i++) {
        flo[i] = INFINITY;
        fhi[i] = -INFINITY;
    }
    for (int32_t p = 0; p < n; p++) {
        const double *fp = feature_block(feat, ctx, n, d, p, fb);
        for (int i = 0; i < d; i++) {
            const double a = fp[i];
            /* NaN never wins; lattice_simplex refuses it */
            flo[i] = a < flo[i] ? a : flo[i];
            fhi[i] = a > fhi[i] ? a : fhi[i];
        }
    }
    semseg_status st;
    if (!pack_plan(&h.pack, d, n, flo, fhi, scale)) {
        if (!L->vert || !L->slice_w || pack_init(&h, n)) return lattice_fail_memory(L, &h, err);
        st = vertices_packed(L, &h, feat, ctx, fb, scale, err);
    } else {
        for (int i = 0; i < d; i++) bound += fmax(fabs(flo[i]), fabs(fhi[i])) * scale[i];
        bound = bound * d1 + 4.0 * d1;
        if (!L->vert || !L->slice_w || hash_init(&h, d, bound < LATTICE_NARROW, n)) return lattice_fail_memory(L, &h, err);
        st = vertices_general(L, &h, feat, ctx, fb, scale, err);
    }
    if (st != SEMSEG_STATUS_OK) return st;
    const int32_t m = h.m;
    L->m = m;

    /* The links come next (lattice_build_links): they need the keys by
     * vertex (packed keys: unpacked there), the table (packed keys: sorted
     * instead) and room for the links. */
    if (h.packed && pack_sort(&h)) return lattice_fail_memory(L, &h, err);
    L->keys = malloc(((size_t)m * d + 1) * sizeof *L->keys);
    L->build_next = malloc(((size_t)d1 * m + 1) * sizeof *L->build_next);
    L->build_hash = calloc(1, sizeof *L->build_hash);
    if (!L->keys || !L->build_next || !L->build_hash) return lattice_fail_memory(L, &h, err);
    if (!h.packed) hash_keys(&h, L->keys);
    *L->build_hash = h;
    return SEMSEG_STATUS_OK;
}

semseg_status lattice_build_end(lattice *L, char *err)
{
    lattice_hash h;
    memset(&h, 0, sizeof h);
    if (!L->build_hash)
        return ref_fail(err, SEMSEG_STATUS_INTERNAL, "DenseCRF lattice: lattice_build_end without a begin");
    /* The table (packed keys: the keys and their sorted slots) served the
     * links only: freed before the tables are allocated, which can then
     * reuse its pages instead of fresh ones (the system zeroes each new
     * page, which cost more than some steps of the build). */
    hash_free(L->build_hash);
    free(L->build_hash);
    L->build_hash = NULL;
    /* (lattice_tables frees the links itself, as soon as the chains are made) */
    if (lattice_tables(L)) return lattice_fail_memory(L, &h, err);
    return SEMSEG_STATUS_OK;
}

/* lattice_build's features: rows of an array f[n][d] (ctx). */
typedef struct lattice_feature_rows {
    const double *f;
    int d;
} lattice_feature_rows;

static void feature_rows(const void *ctx, int32_t p0, int32_t p1, double *f)
{
    const lattice_feature_rows *r = ctx;
    memcpy(f, r->f + (size_t)p0 * r->d, (size_t)(p1 - p0) * r->d * sizeof *f);
}

semseg_status lattice_build(lattice *L, const double *f, int32_t n, int d, char *err)
{
    const lattice_feature_rows rows = {f, d};
    semseg_status st = lattice_build_begin(L, feature_rows, &rows, n, d, err);
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
