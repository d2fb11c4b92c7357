/*
 * semseg-onnx plugin ABI: the only header a backend needs.
 *
 * A backend is a shared object that exports one C symbol,
 *
 *     const semseg_plugin_i *semseg_plugin_entry(void);
 *
 * returning a table of function pointers (static storage, never freed). The
 * table begins with the ABI version it was built against and its own size.
 * The host refuses a table whose abi_major differs from its own, and reads a
 * field only when struct_size says the plugin's table is long enough to hold
 * it, so later minor versions may append fields without breaking old plugins.
 *
 * Life cycle, for each session that uses the plugin:
 *   init(config)            -> plugin context, or SEMSEG_STATUS_UNUSABLE
 *   supports(ctx, node)     -> per node, at load time, with everything known
 *   kernel_create(ctx,node) -> per resolved node, at load time (pack weights)
 *   kernel_run(kernel, ...) -> per run
 *   kernel_destroy, shutdown
 *
 * Tensors are handles (buffer + byte offset + dtype + dims). For a plugin with
 * host memory (mem_alloc == NULL) the buffer is a host pointer and the data
 * begins at (char *)buffer + offset. A plugin with its own memory (a cl_mem,
 * say) provides mem_alloc/mem_free/mem_write/mem_read; the host then hands it
 * only tensors in its own memory, inserting copies where neighbouring nodes
 * live in different memory, with one exception: inputs that are constants at
 * load time (weights) are always passed as host tensors (host == 1); a device
 * plugin normally uploads them in kernel_create and ignores them at run.
 *
 * Kernels keep no tensor pointer after kernel_run returns. A plugin keeps no
 * mutable global state: everything lives in its context, so two sessions in
 * one process never interfere.
 */
#ifndef SEMSEG_PLUGIN_H
#define SEMSEG_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI history: 1.0 the table and types below; 1.1 adds the epilogue act
 * SEMSEG_ACT_HARDSWISH (no new fields: a 1.0 plugin loads unchanged). */
#define SEMSEG_PLUGIN_ABI_MAJOR 1
#define SEMSEG_PLUGIN_ABI_MINOR 1
#define SEMSEG_PLUGIN_ENTRY "semseg_plugin_entry"
#define SEMSEG_MAX_RANK 8
#define SEMSEG_ERRMSG_SIZE 512

#if defined(_WIN32)
#define SEMSEG_PLUGIN_EXPORT __declspec(dllexport)
#else
#define SEMSEG_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* Status codes shared by the plugin ABI and the public API. */
typedef enum semseg_status {
    SEMSEG_STATUS_OK = 0,
    SEMSEG_STATUS_INVALID_ARGUMENT = 1, /* bad input from a caller or file */
    SEMSEG_STATUS_UNSUPPORTED = 2,      /* valid, but nobody implements it */
    SEMSEG_STATUS_NO_MEMORY = 3,
    SEMSEG_STATUS_IO = 4,
    SEMSEG_STATUS_MODEL = 5,            /* malformed or inconsistent model */
    SEMSEG_STATUS_UNUSABLE = 6,         /* plugin cannot work on this machine */
    SEMSEG_STATUS_INTERNAL = 7,
    SEMSEG_STATUS_PLUGIN = 8            /* a plugin failed or was refused */
} semseg_status;

/* Element types, numbered as ONNX's TensorProto.DataType. */
typedef enum semseg_dtype {
    SEMSEG_DTYPE_UNDEFINED = 0,
    SEMSEG_DTYPE_FLOAT = 1,
    SEMSEG_DTYPE_UINT8 = 2,
    SEMSEG_DTYPE_INT8 = 3,
    SEMSEG_DTYPE_UINT16 = 4,
    SEMSEG_DTYPE_INT16 = 5,
    SEMSEG_DTYPE_INT32 = 6,
    SEMSEG_DTYPE_INT64 = 7,
    SEMSEG_DTYPE_STRING = 8,
    SEMSEG_DTYPE_BOOL = 9, /* one byte, 0 or 1 */
    SEMSEG_DTYPE_FLOAT16 = 10,
    SEMSEG_DTYPE_DOUBLE = 11,
    SEMSEG_DTYPE_UINT32 = 12,
    SEMSEG_DTYPE_UINT64 = 13
} semseg_dtype;

/* Bytes per element; 0 for types without a fixed size (string, undefined). */
static inline size_t semseg_dtype_size(int dtype)
{
    switch (dtype) {
    case SEMSEG_DTYPE_FLOAT: case SEMSEG_DTYPE_INT32: case SEMSEG_DTYPE_UINT32: return 4;
    case SEMSEG_DTYPE_UINT8: case SEMSEG_DTYPE_INT8: case SEMSEG_DTYPE_BOOL: return 1;
    case SEMSEG_DTYPE_UINT16: case SEMSEG_DTYPE_INT16: case SEMSEG_DTYPE_FLOAT16: return 2;
    case SEMSEG_DTYPE_INT64: case SEMSEG_DTYPE_DOUBLE: case SEMSEG_DTYPE_UINT64: return 8;
    default: return 0;
    }
}

/* A value as known at load time: dims are concrete (shape inference ran). */
typedef struct semseg_value_info {
    const char *name;
    int32_t dtype;          /* semseg_dtype */
    int32_t rank;           /* 0..SEMSEG_MAX_RANK; 0 is a scalar */
    const int64_t *dims;    /* rank entries */
    const void *data;       /* host data when the value is a load-time constant, else NULL */
} semseg_value_info;

/* Attribute kinds, numbered as ONNX's AttributeProto.AttributeType. */
typedef enum semseg_attr_type {
    SEMSEG_ATTR_UNDEFINED = 0,
    SEMSEG_ATTR_FLOAT = 1,
    SEMSEG_ATTR_INT = 2,
    SEMSEG_ATTR_STRING = 3,
    SEMSEG_ATTR_TENSOR = 4,
    SEMSEG_ATTR_GRAPH = 5,   /* kept by name only; no op we support takes one */
    SEMSEG_ATTR_FLOATS = 6,
    SEMSEG_ATTR_INTS = 7,
    SEMSEG_ATTR_STRINGS = 8
} semseg_attr_type;

typedef struct semseg_attr {
    const char *name;
    int32_t type;                 /* semseg_attr_type */
    float f;                      /* FLOAT */
    int64_t i;                    /* INT */
    const char *s;                /* STRING, NUL-terminated */
    int64_t n;                    /* count for FLOATS / INTS / STRINGS */
    const float *floats;
    const int64_t *ints;
    const char *const *strings;
    const semseg_value_info *t;   /* TENSOR (data always set) */
} semseg_attr;

/* Fused epilogue proposed by the runtime for Conv/ConvTranspose/Gemm-like
 * nodes: y = act(op(x) + residual). A plugin that accepts it returns
 * SEMSEG_SUPPORT_FUSED and then applies it in the output pass.
 *
 * Later minor versions may add act values, and a host proposes them to every
 * plugin whatever minor version it was built for: a plugin must answer FUSED
 * only for act values it knows, and YES or NO (the node unfused) for others. */
typedef enum semseg_act {
    SEMSEG_ACT_NONE = 0,
    SEMSEG_ACT_RELU = 1,
    SEMSEG_ACT_CLIP = 2,     /* clamp to [act_min, act_max] */
    SEMSEG_ACT_HARDSWISH = 3 /* ABI 1.1: v * clamp(v / 6 + 1/2, 0, 1), ONNX's HardSwish
                                (alpha 1/6, beta 0.5 as float32) */
} semseg_act;

typedef struct semseg_epilogue {
    int32_t act;            /* semseg_act */
    float act_min, act_max; /* CLIP bounds */
    int32_t residual;       /* index into node inputs of the tensor added before
                               the activation, or -1 for none; same dims as
                               output 0 */
} semseg_epilogue;

/* Everything known about one node at load time. */
typedef struct semseg_node_info {
    const char *name;
    const char *domain;     /* "" for the default ONNX domain, "ai.semseg", ... */
    const char *op;
    int32_t opset;          /* the model's opset version for this domain */
    int32_t n_inputs;       /* absent optional inputs have dtype UNDEFINED, rank 0, name "" */
    const semseg_value_info *inputs;
    int32_t n_outputs;
    const semseg_value_info *outputs;
    int32_t n_attrs;
    const semseg_attr *attrs;
    const semseg_epilogue *epilogue; /* NULL unless the runtime proposes a fusion */
} semseg_node_info;

/* A tensor at run time. */
typedef struct semseg_tensor {
    void *buffer;           /* host pointer, or the plugin's own memory handle */
    size_t offset;          /* in bytes from the start of buffer */
    int32_t dtype;
    int32_t rank;
    const int64_t *dims;
    int32_t host;           /* 1: buffer is a host pointer (always for constants) */
} semseg_tensor;

static inline void *semseg_tensor_data(const semseg_tensor *t)
{
    return (char *)t->buffer + t->offset;
}

static inline int64_t semseg_numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    return n;
}

/* Plugin-side configuration for one session. */
typedef struct semseg_plugin_config {
    size_t struct_size;     /* sizeof(semseg_plugin_config) of the host */
    int32_t threads;        /* threads the user asked for (>= 1) */
    const char *plugin_path;/* the file the plugin was loaded from */
} semseg_plugin_config;

/* Answers of supports(). */
typedef enum semseg_support {
    SEMSEG_SUPPORT_NO = 0,
    SEMSEG_SUPPORT_YES = 1,   /* takes the node; ignores any proposed epilogue */
    SEMSEG_SUPPORT_FUSED = 2  /* takes the node and applies node->epilogue */
} semseg_support;

typedef struct semseg_kernel semseg_kernel; /* defined by each plugin */

/* err: a buffer of SEMSEG_ERRMSG_SIZE bytes for one line naming what is wrong. */
typedef struct semseg_plugin_i {
    /* .abi_major   = */ uint32_t abi_major;   /* SEMSEG_PLUGIN_ABI_MAJOR */
    /* .abi_minor   = */ uint32_t abi_minor;   /* SEMSEG_PLUGIN_ABI_MINOR */
    /* .struct_size = */ uint32_t struct_size; /* sizeof(semseg_plugin_i) */
    /* .name        = */ const char *name;     /* short, e.g. "ref", "blas" */
    /* .version     = */ const char *version;
    /* .description = */ const char *description;

    /* Creates a context. SEMSEG_STATUS_UNUSABLE with a one-line err means
     * "cannot work on this machine" (no device, say): the host skips it. */
    semseg_status (*init)(const semseg_plugin_config *cfg, void **ctx, char *err);
    void (*shutdown)(void *ctx);

    /* One line describing devices etc. for `semseg-onnx plugins`; may be NULL. */
    void (*describe)(void *ctx, char *buf, size_t size);

    semseg_support (*supports)(void *ctx, const semseg_node_info *node);

    /* Creates a kernel for a node this plugin said it supports. *scratch_bytes
     * (preset to 0) may be raised: the host then passes a scratch tensor of
     * that many bytes (dtype UINT8, rank 1) in the plugin's memory. */
    semseg_status (*kernel_create)(void *ctx, const semseg_node_info *node,
                                   semseg_kernel **kernel, size_t *scratch_bytes,
                                   char *err);
    semseg_status (*kernel_run)(semseg_kernel *kernel,
                                const semseg_tensor *inputs, int32_t n_inputs,
                                const semseg_tensor *outputs, int32_t n_outputs,
                                const semseg_tensor *scratch, char *err);
    void (*kernel_destroy)(semseg_kernel *kernel);

    /* Own memory; all four NULL for plugins that work on host memory. */
    void *(*mem_alloc)(void *ctx, size_t bytes);
    void (*mem_free)(void *ctx, void *buffer);
    semseg_status (*mem_write)(void *ctx, void *buffer, size_t offset,
                               const void *src, size_t bytes, char *err);
    semseg_status (*mem_read)(void *ctx, const void *buffer, size_t offset,
                              void *dst, size_t bytes, char *err);
    /* Waits for queued work (may be NULL). */
    semseg_status (*synchronize)(void *ctx, char *err);
} semseg_plugin_i;

typedef const semseg_plugin_i *(*semseg_plugin_entry_fn)(void);

/* ---- attribute helpers (header-only, so plugins need nothing else) ---- */

static inline const semseg_attr *semseg_attr_find(const semseg_node_info *n, const char *name)
{
    for (int32_t i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

static inline int64_t semseg_attr_int(const semseg_node_info *n, const char *name, int64_t def)
{
    const semseg_attr *a = semseg_attr_find(n, name);
    return (a && a->type == SEMSEG_ATTR_INT) ? a->i : def;
}

static inline float semseg_attr_float(const semseg_node_info *n, const char *name, float def)
{
    const semseg_attr *a = semseg_attr_find(n, name);
    return (a && a->type == SEMSEG_ATTR_FLOAT) ? a->f : def;
}

static inline const char *semseg_attr_string(const semseg_node_info *n, const char *name, const char *def)
{
    const semseg_attr *a = semseg_attr_find(n, name);
    return (a && a->type == SEMSEG_ATTR_STRING) ? a->s : def;
}

/* Returns the count and sets *v, or returns -1 when absent / not INTS. */
static inline int64_t semseg_attr_ints(const semseg_node_info *n, const char *name, const int64_t **v)
{
    const semseg_attr *a = semseg_attr_find(n, name);
    if (!a || a->type != SEMSEG_ATTR_INTS) return -1;
    *v = a->ints;
    return a->n;
}

static inline int64_t semseg_attr_floats(const semseg_node_info *n, const char *name, const float **v)
{
    const semseg_attr *a = semseg_attr_find(n, name);
    if (!a || a->type != SEMSEG_ATTR_FLOATS) return -1;
    *v = a->floats;
    return a->n;
}

/* True when input i exists (optional inputs may be absent). */
static inline int semseg_input_present(const semseg_node_info *n, int32_t i)
{
    return i < n->n_inputs && n->inputs[i].dtype != SEMSEG_DTYPE_UNDEFINED;
}

#ifdef __cplusplus
}
#endif
#endif /* SEMSEG_PLUGIN_H */
