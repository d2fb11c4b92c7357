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
 * neighbour of every vertex along every axis, and the splat as a list of
 * contributions per vertex) is computed once by lattice_build and reused for
 * every filtering, every label and every mean-field iteration.
 *
 * Value arrays are rows of `stride` floats, one row per point or per vertex.
 * Vertex buffers hold m + 1 rows: row m is the "missing neighbour" and must be
 * zero. The splat/blur/slice functions work on a range of rows so that threads
 * can share the work without locks: splat is a gather (each vertex sums its
 * own contributions), so no two threads ever write the same row.
 *
 * Keys are int32 per coordinate; lattice_build refuses features whose lifted
 * coordinates would not fit (|x| ≥ 2^30), which with pixel positions would
 * take an image wider than about 10^8 std's.
 */
#ifndef SEMSEG_REF_LATTICE_H
#define SEMSEG_REF_LATTICE_H

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
    int32_t *nbr;       /* [d+1][m][2] neighbours along each axis; m when absent */
    int32_t *csr_start; /* [m+1] splat entries of vertex v: csr_start[v] .. csr_start[v+1]-1 */
    int32_t *csr_pt;    /* [n(d+1)] point of each splat entry */
    float *csr_w;       /* [n(d+1)] splat weight of each entry (barycentric, scalable) */
} lattice;

/* Builds the lattice of n points with features f[n][d] (already divided by
 * their std). On failure *L is left empty and err names the problem. */
semseg_status lattice_build(lattice *L, const double *f, int32_t n, int d, char *err);
void lattice_free(lattice *L);

/* Multiplies every splat weight of point p by in_scale[p] and every slice weight
 * of point p by out_scale[p] (either may be NULL). Turns K into diag(out)·K·diag(in). */
void lattice_scale(lattice *L, const float *in_scale, const float *out_scale);

/* V[v] = Σ w · in[p] over the splat entries of vertices v0 <= v < v1. */
void lattice_splat(const lattice *L, const float *in, int stride, float *V, int32_t v0, int32_t v1);

/* dst[v] = src[v] + ½(src[n1] + src[n2]) along one axis (0..d), v0 <= v < v1. */
void lattice_blur(const lattice *L, int axis, const float *src, float *dst, int stride,
                  int32_t v0, int32_t v1);

/* out[p - p0] += Σ w · V[corner] for points p0 <= p < p1: out holds the rows
 * of those points only, so a caller can slice into a small block. */
void lattice_slice_add(const lattice *L, const float *V, int stride, float *out,
                       int32_t p0, int32_t p1);

/* Single-threaded convenience: out[n][stride] = K · in[n][stride]. Returns
 * SEMSEG_STATUS_NO_MEMORY when the vertex buffers cannot be allocated. */
semseg_status lattice_filter(const lattice *L, const float *in, int stride, float *out);

#endif
