/*
 * Internals of the `opencl` plugin, shared by plugin.c (the ABI table, device
 * choice, memory), program.c (program build + on-disk binary cache), util.c
 * (errors, launches) and one file per operator family. Each operator file
 * exports a table of ocl_op; create() reads attributes and dims (all known at
 * load time), uploads constants and creates its cl_kernels; run() only sets
 * arguments and enqueues. Nothing here is global: it all hangs off ocl_ctx.
 *
 * Tensors on the device are (cl_mem, byte offset); kernels take the offset in
 * elements (the runtime's offsets are 256-byte aligned, so always a whole
 * number of elements) rather than sub-buffers, which would need
 * CL_DEVICE_MEM_BASE_ADDR_ALIGN alignment and an object per run.
 */
#ifndef SEMSEG_OCL_H
#define SEMSEG_OCL_H

#include <stdint.h>

#include <CL/cl.h>

#include "semseg/plugin.h"

/* One program per .cl file; common.cl is prepended to each. */
typedef enum ocl_prog {
    OCL_PROG_CONV,
    OCL_PROG_CONV_DW,
    OCL_PROG_CONV_PX,
    OCL_PROG_CONV_WINO,
    OCL_PROG_CONV_TRANSPOSE,
    OCL_PROG_RESIZE,
    OCL_PROG_POOL,
    OCL_PROG_BATCHNORM,
    OCL_PROG_ELTWISE,
    OCL_PROG_CONCAT,
    OCL_PROG_SOFTMAX,
    OCL_PROG_ARGMAX,
    OCL_PROG_ADAPTIVE_AVGPOOL,
    OCL_PROG_COUNT
} ocl_prog;

typedef struct ocl_ctx {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    unsigned platform_index, device_index;
    char platform_name[128];
    char device_name[128];
    char device_version[128];
    char driver_version[128];
    int is_gpu;
    int sub_device;                  /* device is a sub-device we created */
    cl_uint compute_units;
    size_t max_work_group;
    cl_ulong local_mem;              /* CL_DEVICE_LOCAL_MEM_SIZE */
    char cache_dir[1024];            /* "" when no cache directory is usable */
    cl_program programs[OCL_PROG_COUNT];
    /* What building programs cost this context (docs/opencl.md, tests). */
    double build_ms;
    int built_from_source, loaded_from_cache;
} ocl_ctx;

typedef struct ocl_op {
    const char *domain;   /* "" or "ai.semseg" */
    const char *op;
    semseg_support (*supports)(const ocl_ctx *c, const semseg_node_info *n);
    semseg_status (*create)(ocl_ctx *c, const semseg_node_info *n, void **state, char *err);
    /* Inputs that are load-time constants arrive as device tensors too
     * (plugin.c uploads them), except those in own_consts. */
    semseg_status (*run)(void *state, const semseg_tensor *in, int32_t n_in,
                         const semseg_tensor *out, int32_t n_out, char *err);
    void (*destroy)(void *state);
    /* Bit i set: constant input i is consumed by create() (packed weights,
     * Resize scales) and needs no generic upload. */
    uint32_t own_consts;
} ocl_op;

/* Ops that need device scratch at run: the host plans it in its arena
 * (semseg_plugin_i.kernel_create's scratch_bytes). scratch_bytes is asked
 * once after create(); run_scratch then replaces op->run and checks the
 * scratch tensor it is given (absent or bufferless when it asked for 0). A
 * table of its own so that the ocl_op tables stay as they are. */
typedef struct ocl_op_scratch {
    const ocl_op *op;
    size_t (*scratch_bytes)(const void *state);
    semseg_status (*run_scratch)(void *state, const semseg_tensor *in, int32_t n_in,
                                 const semseg_tensor *out, int32_t n_out,
                                 const semseg_tensor *scratch, char *err);
} ocl_op_scratch;

/* NULL-terminated (op == NULL) tables, one per operator file. */
extern const ocl_op ocl_ops_conv[];
extern const ocl_op ocl_ops_conv_transpose[];
extern const ocl_op ocl_ops_resize[];
extern const ocl_op ocl_ops_pool[];
extern const ocl_op ocl_ops_batchnorm[];
extern const ocl_op ocl_ops_eltwise[];
extern const ocl_op ocl_ops_concat[];
extern const ocl_op ocl_ops_softmax[];
extern const ocl_op ocl_ops_argmax[];
extern const ocl_op ocl_ops_adaptive_avgpool[];
extern const ocl_op_scratch ocl_ops_with_scratch[]; /* conv.c */

/* ---- conv_wino.c: Winograd F(2x2, 3x3) for conv.c ---- */
typedef struct ocl_wino ocl_wino;
typedef struct ocl_wino_geom {
    const char *name;                       /* the node's */
    int N, C, H, W, OC, OH, OW, dh, dw, pt, pl;
} ocl_wino_geom;
/* w: [OC][C][3][3], bias: [OC] or NULL. Asks for *scratch_bytes of device
 * scratch at run. */
semseg_status ocl_wino_create(ocl_ctx *c, const ocl_wino_geom *g, const float *w, const float *bias,
                              ocl_wino **out, size_t *scratch_bytes, char *err);
semseg_status ocl_wino_run(ocl_wino *wn, const semseg_tensor *x, const semseg_tensor *res, cl_int has_res,
                           int act, float lo, float hi, const semseg_tensor *y,
                           const semseg_tensor *scratch, char *err);
void ocl_wino_destroy(ocl_wino *wn);
/* Tiles of 2x2 outputs (d apart) that cover an oh x ow output. */
int64_t ocl_wino_tiles(int oh, int ow, int dh, int dw);

/* ---- util.c ---- */
const char *ocl_error_name(cl_int rc);
semseg_status ocl_fail(char *err, semseg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* OK for CL_SUCCESS, else "<call> failed for <what>: CL_..." into err. */
semseg_status ocl_check(cl_int rc, const char *call, const char *what, char *err);

/* Creates kernel `name` of program p (built or loaded on first use). */
semseg_status ocl_kernel(ocl_ctx *c, ocl_prog p, const char *name, cl_kernel *k, char *err);
/* Copies host data into a new read-only buffer. */
semseg_status ocl_upload(ocl_ctx *c, const void *data, size_t bytes, cl_mem *m,
                         const char *what, char *err);
/* Enqueues a 1-D launch over n items (kernels bound-check against n); the
 * work-group size is picked for the device. */
semseg_status ocl_launch1(ocl_ctx *c, cl_kernel k, size_t n, const char *what, char *err);
/* 2-D and 3-D launches: dimension 0 is the fast one (n0 items, the only
 * one that is rounded up to the work-group size), then n1, n2. Kernels take
 * their coordinates from the ids instead of dividing a flat index, which
 * costs more than the arithmetic of a small element-wise kernel. */
semseg_status ocl_launch2(ocl_ctx *c, cl_kernel k, size_t n0, size_t n1,
                          const char *what, char *err);
semseg_status ocl_launch3(ocl_ctx *c, cl_kernel k, size_t n0, size_t n1, size_t n2,
                          const char *what, char *err);
/* The same for kernels whose work-items are heavy (a convolution tile loop):
 * groups of at most 64 along dimension 0 only, so that there are enough
 * groups to balance the device's threads. */
semseg_status ocl_launch_heavy(ocl_ctx *c, cl_kernel k, size_t n0, size_t n1, size_t n2,
                               const char *what, char *err);
/* A 3-D launch with the work-group size given (kernels that share local
 * memory within a group); global must be a multiple of local. */
semseg_status ocl_launch_local(ocl_ctx *c, cl_kernel k, const size_t global[3],
                               const size_t local[3], const char *what, char *err);

/* Floats of local memory a work-group may use: want, or half the device's
 * local memory when that is less. */
size_t ocl_local_floats(const ocl_ctx *c, size_t want);

/* Sequential clSetKernelArg with the first error kept. */
typedef struct ocl_args {
    cl_kernel k;
    cl_uint i;
    cl_int rc;
} ocl_args;
static inline void ocl_arg(ocl_args *a, size_t size, const void *v)
{
    if (a->rc == CL_SUCCESS) a->rc = clSetKernelArg(a->k, a->i, size, v);
    a->i++;
}
#define OCL_ARG(a, v) ocl_arg((a), sizeof(v), &(v))

/* A device tensor as kernels take it: the buffer and an element offset. */
static inline cl_mem ocl_mem(const semseg_tensor *t) { return (cl_mem)t->buffer; }
static inline cl_int ocl_off(const semseg_tensor *t)
{
    size_t es = semseg_dtype_size(t->dtype);
    return (cl_int)(t->offset / (es ? es : 1));
}
/* Both arguments of a tensor, in order (buffer, element offset). */
static inline void ocl_arg_tensor(ocl_args *a, const semseg_tensor *t)
{
    cl_mem m = ocl_mem(t);
    cl_int off = ocl_off(t);
    OCL_ARG(a, m);
    OCL_ARG(a, off);
}

/* Shared checks used by the supports() functions. */
int ocl_all_float(const semseg_node_info *n, int32_t n_inputs);
int ocl_fits_int(const semseg_value_info *v); /* numel < 2^31 */
/* Reads pads/strides/dilations/kernel_shape of a 2-D window op; pads honour
 * auto_pad given the known in/out sizes. Returns 0 on an attribute it cannot
 * take (not 2-D, bad count). */
typedef struct ocl_window {
    int kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
} ocl_window;
int ocl_window_read(const semseg_node_info *n, int kh, int kw, ocl_window *w);

/* ---- program.c ---- */
semseg_status ocl_program_get(ocl_ctx *c, ocl_prog p, cl_program *out, char *err);
void ocl_programs_release(ocl_ctx *c);
/* Cache directory per $SEMSEG_CACHE_DIR, $XDG_CACHE_HOME, $HOME ("" if none). */
void ocl_cache_dir_init(ocl_ctx *c);

#endif
