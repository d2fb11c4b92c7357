/*
 * Permutohedral lattice (Adams, Baek & Davis, "Fast High-Dimensional Filtering
 * Using the Permutohedral Lattice", Eurographics 2010): Gaussian filtering of
 * values attached to n points in a d-dimensional feature space in O(n·d²)
 * time instead of O(n²).
 *
 * The features are lifted onto the hyperplane Σx = 0 of R^(d+1), tiled by
 * simplices whose corners are the lattice points of A*_d. Filtering is
 *   splat  - each point spreads its value over the d+1 corners of its simplex
 *            with barycentric weights;
 *   blur   - a [1 2 1] filter along each of the d+1 lattice axes (neighbour
 *            vertices only, missing ones count as zero);
 *   slice  - each point reads the corners back with the same weights.
 * With the features divided by their std, K ≈ exp(-|fi - fj|² / 2) up to a
 * constant factor (callers normalise, so that factor never shows).
 *
 * Everything that depends on the points only (simplex corners, weights, the
 * chains of neighbouring vertices along every axis, and the splat as a list
 * of contributions per vertex) is computed once by lattice_build and reused for
 * every filtering, every label and every mean-field iteration.
 *
 * Point values are rows of `stride` floats, one row per point; vertex values
 * are rows of binary16 (lattice_values, below). The splat/blur/slice
 * functions work on a range of rows or chains
 * so that threads can share the work without locks: splat is a gather (each
 * vertex sums its own contributions) and each vertex is on one chain per
 * axis, so no two threads ever write the same row.
 *
 * Keys are int32 per coordinate; lattice_build refuses features whose lifted
 * coordinates would not fit (|x| ≥ 2^30), which with pixel positions would
 * take an image wider than about 10^8 std's.
 */
#ifndef SEMSEG_REF_LATTICE_H
#define SEMSEG_REF_LATTICE_H

#include <stddef.h>
#include <stdint.h>

#include "semseg/plugin.h"

#define LATTICE_MAX_D 16

typedef struct lattice {
    int d;              /* feature dimensions */
    int32_t n;          /* points */
    int32_t m;          /* lattice vertices */
    int32_t *keys;      /* [m][d] first d coordinates; the last is minus their sum */
    int32_t *vert;      /* [n][d+1] vertex of each simplex corner */
    float *slice_w;     /* [n][d+1] slice weight of each corner (barycentric, scalable) */
    int32_t *chain_v;   /* vertices of every chain (see lattice_blur), axis after axis; within an
                           axis, chains by length (shortest first), then in vertex order */
    int32_t *chain_off; /* chain c is chain_v[chain_off[c]] .. chain_v[chain_off[c+1]-1] */
    int32_t chain_axis[LATTICE_MAX_D + 2]; /* chains of axis a: chain_axis[a] .. chain_axis[a+1]-1 */
    int32_t *csr_start; /* [m+1] splat entries of vertex v: csr_start[v] .. csr_start[v+1]-1 */
    int32_t *csr_pt;    /* [n(d+1)] point of each splat entry */
    float *csr_w;       /* [n(d+1)] splat weight of each entry (barycentric, scalable) */
    struct lattice_hash *build_hash; /* between lattice_build_begin and _end only */
    int32_t *build_next;             /* the links, idem */
} lattice;

/* Memory for a large array that is read at scattered places (vertex rows,
 * the lattice's tables): aligned to 2 MB and, where the system offers
 * transparent huge pages on request (Linux madvise), backed by them, which
 * spares the passes a TLB miss on nearly every row. Small requests are a
 * plain malloc. Release with free(); NULL when out of memory. */
void *lattice_alloc(size_t bytes);

/* Builds the lattice of n points with features f[n][d] (already divided by
 * their std). On failure *L is left empty and err names the problem. */
semseg_status lattice_build(lattice *L, const double *f, int32_t n, int d, char *err);
void lattice_free(lattice *L);

/* lattice_build in three steps, so that a team of threads can share the
 * middle one (the neighbour lookups, a third of the build):
 *   lattice_build_begin   one thread: simplices and vertices;
 *   lattice_build_links   every thread its part (0 <= part < parts), after begin;
 *   lattice_build_end     one thread, after all parts: chains, splat table.
 * A failing begin or end leaves *L empty; lattice_free frees a lattice left
 * between begin and end. */
/* The features of points p0 <= p < p1 (at most LATTICE_FEATURE_BLOCK of
 * them), f[(p - p0)·d + i], already divided by their std. begin asks for
 * every point twice, block by block (once for the features' ranges, once to
 * place the points), so that no array of n·d features need exist: a caller
 * that computes them cheaply spares the memory and its first touch. */
typedef void (*lattice_features)(const void *ctx, int32_t p0, int32_t p1, double *f);
#define LATTICE_FEATURE_BLOCK 128

semseg_status lattice_build_begin(lattice *L, lattice_features feat, const void *ctx, int32_t n, int d, char *err);
void lattice_build_links(lattice *L, int part, int parts);
semseg_status lattice_build_end(lattice *L, char *err);

/* Inside lattice_build_end (lattice.c): the blur's chains from the links and
 * the splat table from the simplices; -1 when out of memory. */
int lattice_tables(lattice *L);

/* Multiplies every splat weight of point p by in_scale[p] and every slice weight
 * of point p by out_scale[p] (either may be NULL). Turns K into diag(out)·K·diag(in). */
void lattice_scale(lattice *L, const float *in_scale, const float *out_scale);

/*
 * Vertex values: rows of binary16 (IEEE half precision), in one or more
 * planes of lanes (below). The splat, blur and slice move scattered rows
 * through memory and are bound by it, not by arithmetic; halves halve that
 * traffic (a 21-label row is 48 bytes instead of 96), and all
 * arithmetic stays in float. The cost is a relative rounding of at most
 * 2^-11 per stored value (after the splat and after each blur pass), far below
 * the lattice's own approximation of the Gaussian (~9 %). Stored values are
 * gain · the true ones, gain a power of two chosen so that nothing can
 * exceed 2^15 (binary16 ends at 65504); magnitudes below 2^-14 of the gain
 * scale are flushed to 0.
 */
#define LATTICE_MAX_PLANES 16

typedef struct lattice_values {
    uint16_t *h;    /* the one allocation; plane 0's rows start here */
    int lanes;      /* values per row (the float rows' lane count, a multiple of 8) */
    float gain;     /* stored = gain · value */
    /* Planes: the lanes split into groups stored apart, plane q holding lanes
     * plane_lane0[q] .. plane_lane0[q+1]-1 of every vertex in rows of
     * plane_pitch[q] halves at plane_h[q], so that the blur can run all its
     * passes over one plane while that plane stays in the last-level cache.
     * One plane when the whole buffer is small; the split changes no value. */
    int planes;
    int plane_lane0[LATTICE_MAX_PLANES + 1];
    int plane_pitch[LATTICE_MAX_PLANES];
    uint16_t *plane_h[LATTICE_MAX_PLANES];
} lattice_values;

/* The pitch lattice_values_alloc uses for a plane of `lanes` values (a
 * multiple of 8): 8, 16, or a multiple of 32, so a row is aligned to its
 * size and never straddles more 64-byte lines than it must. */
int lattice_pitch(int lanes);

/* Room for L's vertex values, rows of `lanes` (a positive multiple of 8,
 * else SEMSEG_STATUS_INVALID_ARGUMENT), sized for inputs whose magnitude is
 * at most in_max (after L's scaling). Not initialised: a splat over all
 * vertices comes first. */
semseg_status lattice_values_alloc(lattice_values *V, const lattice *L, int lanes, float in_max);
void lattice_values_free(lattice_values *V);

/* V[v] = Σ w · in[p] over the splat entries of vertices v0 <= v < v1, summed
 * in float in entry order and stored once. in: rows of `stride` floats. */
void lattice_splat(const lattice *L, const float *in, int stride, lattice_values *V, int32_t v0, int32_t v1);

/* The blur along one axis, in place, of plane `plane`'s lanes:
 * V[v] = V[v] + ½(V[prev] + V[next]) on the values before the pass, for the
 * chains c0 <= c < c1 of that axis (a chain lists the vertices v, v+δ, v+2δ,
 * .. that exist; a vertex with no neighbour on the axis is on no chain, its
 * value stays). A full blur is every axis's chains for every plane, planes
 * in any order (each plane is independent of the others). */
void lattice_blur(const lattice *L, lattice_values *V, int plane, int32_t c0, int32_t c1);

/* The chains [*c0, *c1) of one axis that make share `part` of `parts`,
 * balanced by vertex count. */
void lattice_chain_part(const lattice *L, int axis, int part, int parts, int32_t *c0, int32_t *c1);

/* out[p - p0] += Σ w · V[corner] for points p0 <= p < p1 (V->lanes values,
 * rows of `stride` floats): out holds the rows of those points only, so a
 * caller can slice into a small block. */
void lattice_slice_add(const lattice *L, const lattice_values *V, float *out, int stride, int32_t p0, int32_t p1);

/* Single-threaded convenience: out[n][stride] = K · in[n][stride], vertex
 * values in binary16 as above (stride a multiple of 8); with stride 1 (the
 * normaliser K·1) in float, as one lane's values fit in cache. Returns
 * SEMSEG_STATUS_INVALID_ARGUMENT for any other stride,
 * SEMSEG_STATUS_NO_MEMORY when the vertex buffers cannot be allocated. */
semseg_status lattice_filter(const lattice *L, const float *in, int stride, float *out);

#endif
