/*
 * Internals of the `blas` plugin: the fast CPU path on OpenBLAS. Each operator
 * lives in its own file and exports one blas_op; plugin.c holds the ABI table
 * and dispatches by op name. Every op works on host float32 NCHW tensors and
 * answers NO in supports() for anything else, so `ref` takes it.
 *
 * Threads: a session asks for T threads (semseg_plugin_config.threads). The
 * convolutions, pooling, Resize, Concat and element-wise loops split their
 * work into tiles that T threads claim (blas_parallel_for); each thread calls
 * OpenBLAS single-threaded on its own tile, so im2col, the Winograd
 * transforms and the fused epilogue run in parallel too, not only the GEMM.
 * Gemm and MatMul (one big call each) let OpenBLAS itself use T threads.
 * OpenBLAS's thread count is process-global (openblas_set_num_threads), so
 * blas_gemm_threads() sets it at run time, just before the calls that rely on
 * it; two sessions with different counts in one process race on that setting,
 * which can cost speed but never changes a result.
 */
#ifndef SEMSEG_BLAS_H
#define SEMSEG_BLAS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "semseg/plugin.h"

typedef struct blas_ctx {
    int threads;            /* the session's thread count, >= 1 */
} blas_ctx;

typedef struct blas_op {
    const char *op;         /* default domain only */
    semseg_support (*supports)(const blas_ctx *ctx, const semseg_node_info *n);
    /* Reads attributes/dims, packs constant weights, declares scratch bytes. */
    semseg_status (*create)(const blas_ctx *ctx, const semseg_node_info *n, void **state,
                            size_t *scratch_bytes, char *err);
    semseg_status (*run)(void *state, const semseg_tensor *in, int32_t n_in,
                         const semseg_tensor *out, int32_t n_out, void *scratch, char *err);
    void (*destroy)(void *state);   /* NULL: free(state) */
} blas_op;

extern const blas_op blas_op_conv;
extern const blas_op blas_op_conv_transpose;
extern const blas_op blas_op_gemm;
extern const blas_op blas_op_matmul;
extern const blas_op blas_op_resize;
extern const blas_op blas_op_concat;
extern const blas_op blas_op_pool_max;
extern const blas_op blas_op_pool_avg;
extern const blas_op blas_op_pool_global_avg;
extern const blas_op blas_op_add, blas_op_sub, blas_op_mul, blas_op_div;
extern const blas_op blas_op_hardsigmoid, blas_op_hardswish, blas_op_relu, blas_op_sigmoid;

/* ---- helpers (common.c) ---- */

/* Writes one line into err (SEMSEG_ERRMSG_SIZE bytes) and returns st. */
semseg_status blas_fail(char *err, semseg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Calls fn(arg, begin, end, worker) over [0, n) in chunks of `grain` items
 * (<= 0: about 8 chunks per thread) claimed dynamically by up to `threads`
 * threads; the caller's thread is worker 0 and worker ids are < threads.
 * When a thread cannot be started the others do its share, so it never
 * fails. */
typedef void (*blas_task_fn)(void *arg, int64_t begin, int64_t end, int worker);
void blas_parallel_for(int threads, int64_t n, int64_t grain, blas_task_fn fn, void *arg);

/* Sets OpenBLAS's (process-global) thread count if it differs. */
void blas_gemm_threads(int threads);

/* True when every input/output the op reads is float32 of the given rank
 * (rank < 0: any). Absent optional inputs are skipped. */
int blas_all_float(const semseg_node_info *n, int rank);

/* Epilogue applied to rows of an output: y = act(y + bias[row] + res).
 * act is NONE, RELU, CLIP or HARDSWISH.
 * `res` may be NULL or equal y (already added). act is a semseg_act. */
typedef struct blas_epilogue {
    int act;
    float lo, hi;           /* CLIP bounds */
    int residual;           /* input index, or -1 */
} blas_epilogue;

/* Reads node->epilogue into e; returns 1 if it is one this plugin applies. */
int blas_epilogue_from_node(const semseg_node_info *n, int first_free_input, blas_epilogue *e);

/* Hot loops are compiled twice, for AVX2/FMA (x86-64-v3) and for any x86-64,
 * and the loader picks one (GCC on x86-64 Linux; elsewhere one build). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define BLAS_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define BLAS_HOT
#endif

/* ONNX HardSwish, computed as ref computes it (x * clamp(x/6 + 1/2, 0, 1)
 * with the float32 constants), so fused and unfused results agree; two
 * selects, which the vectoriser turns into max/min. */
static inline float blas_hardswish(float x)
{
    float v = (1.0f / 6.0f) * x + 0.5f;
    v = v > 0.0f ? v : 0.0f;
    v = v < 1.0f ? v : 1.0f;
    return x * v;
}

/* The epilogue's activation of one value (act a semseg_act; lo/hi for CLIP). */
static inline float blas_act(int act, float v, float lo, float hi)
{
    switch (act) {
    case SEMSEG_ACT_RELU: return v > 0.0f ? v : 0.0f;
    case SEMSEG_ACT_CLIP: v = v < lo ? lo : v; return v > hi ? hi : v;
    case SEMSEG_ACT_HARDSWISH: return blas_hardswish(v);
    default: return v;
    }
}

/* y[r*ldy + c] for r < rows, c < cols: += bias[r] (if bias), += res[r*ldr + c]
 * (if res and res != y), then the activation. */
void blas_epilogue_apply(const blas_epilogue *e, float *y, int64_t ldy, int64_t rows,
                         int64_t cols, const float *bias, const float *res, int64_t ldr);

/* Winograd F(r x r, 3x3), r = 2, 3 or 4, for a stride-1, one-group 3x3 Conv
 * (conv_winograd.c). create plans it and sets *scratch_bytes (for `threads`
 * workers); NULL on OOM, another r, or h*w >= 2^31. run does one image: x [c][h][w] ->
 * y [m][oh][ow] with the weights w [m][c][3][3] (transformed as it goes, not
 * kept), then + bias + residual (res, or y itself when res_in_y), then the
 * activation of epi. */
typedef struct blas_wino blas_wino;
blas_wino *blas_wino_create(int64_t m, int64_t c, int64_t h, int64_t wd, int64_t oh, int64_t ow, int64_t dh,
                            int64_t dw, int64_t pt, int64_t pl, int r, int threads, size_t *scratch_bytes);
void blas_wino_run(const blas_wino *p, const float *w, const float *x, float *y, const float *bias,
                   const float *res, int res_in_y, const blas_epilogue *epi, float *scratch);
void blas_wino_destroy(blas_wino *p);
/* Tile rows (or columns) F(r x r) needs for `out` outputs at dilation d. */
int64_t blas_wino_tiles(int64_t out, int64_t d, int r);

/* y[i][j] (row stride ldy) = act(sum over p < k of w[i][p] x[p][j] + bias[i]
 * + residual) for i < m, j < n, the residual being res[i][j] (ldr), or y's
 * own value when res_in_y, or none; bias may be NULL. For small k, where
 * OpenBLAS's packing costs more than the multiplications (conv_small.c). */
void blas_small_gemm(int64_t m, int64_t n, int64_t k, const float *w, int64_t ldw, const float *x,
                     int64_t ldx, float *y, int64_t ldy, const float *bias, const float *res, int64_t ldr,
                     int res_in_y, const blas_epilogue *e);

/* Depthwise Conv, one channel at a time (conv_depthwise.c). create sets
 * *plane_floats, the scratch one worker needs; NULL on OOM. channel computes
 * y [oh][ow] = bias + conv(x [h][w], wk [kh][kw]) (+ res, which may be y). */
typedef struct blas_dw blas_dw;
blas_dw *blas_dw_create(int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t sh,
                        int64_t sw, int64_t dh, int64_t dw, int64_t pt, int64_t pl, size_t *plane_floats);
void blas_dw_channel(const blas_dw *p, const float *x, const float *wk, float bias, const float *res, float *y,
                     float *plane);
void blas_dw_destroy(blas_dw *p);

/* A float copy of constant data (NULL on OOM). */
float *blas_copy_floats(const void *src, int64_t n);

#endif
