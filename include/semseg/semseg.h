/*
 * semseg-onnx library API.
 *
 * Load an ONNX model into a session (import, shape inference, constant folding,
 * graph passes, per-node plugin resolution, memory planning), set inputs, run,
 * read outputs. Every call that can fail returns a semseg_status and, when err
 * is not NULL, writes one line naming what is wrong into err->message.
 *
 * No global state: sessions are independent; one session is used by one thread
 * at a time.
 */
#ifndef SEMSEG_H
#define SEMSEG_H

#include <stddef.h>
#include <stdint.h>

#include "semseg/plugin.h" /* semseg_status, semseg_dtype, SEMSEG_MAX_RANK */

#ifdef __cplusplus
extern "C" {
#endif

#define SEMSEG_VERSION "0.1.0"

typedef struct semseg_error {
    semseg_status status;
    char message[SEMSEG_ERRMSG_SIZE];
} semseg_error;

typedef struct semseg_options semseg_options;
typedef struct semseg_session semseg_session;

/* Name of a status code ("invalid argument", ...). */
const char *semseg_status_name(semseg_status st);

/* ---- options ---- */
semseg_options *semseg_options_new(void);   /* NULL on OOM */
void semseg_options_free(semseg_options *o);
/* Comma-separated plugin names in priority order, e.g. "blas,ref". NULL or ""
 * means the default: third-party plugins, then blas, then ref; opencl is
 * used only when named. `ref` is always appended if missing. */
semseg_status semseg_options_set_backends(semseg_options *o, const char *list, semseg_error *err);
semseg_status semseg_options_set_threads(semseg_options *o, int threads, semseg_error *err);
/* Loads this plugin file in addition to the search path. */
semseg_status semseg_options_add_plugin_file(semseg_options *o, const char *path, semseg_error *err);
/* 0 disables constant folding and fusion (for debugging); default 1. */
void semseg_options_set_optimize(semseg_options *o, int on);
/* Records per-node time on each run (semseg_node_desc.last_ms). */
void semseg_options_set_profile(semseg_options *o, int on);
/* Caps on what a model file can make the library allocate, so a hostile file
 * gets an error instead of a huge allocation (docs/fuzzing.md lists them all).
 * max_tensor_elements bounds every tensor: each weight or constant in the file
 * and each activation shape inference derives (graph inputs included).
 * max_model_bytes bounds the model file and, separately, the sum of its
 * constant data (initializers, Constant nodes, external data). 0 (or a
 * negative element count) keeps the default. */
#define SEMSEG_DEFAULT_MAX_TENSOR_ELEMENTS ((int64_t)1 << 31)
#define SEMSEG_DEFAULT_MAX_MODEL_FILE_BYTES ((size_t)4 << 30)
#define SEMSEG_DEFAULT_MAX_MODEL_DATA_BYTES ((size_t)8 << 30)
void semseg_options_set_limits(semseg_options *o, int64_t max_tensor_elements, size_t max_model_bytes);

/* ---- plugins on the search path (`semseg-onnx plugins`) ---- */
typedef struct semseg_plugin_desc {
    const char *name;       /* "" when the file could not be read as a plugin */
    const char *version;
    const char *description;
    const char *file;
    unsigned abi_major, abi_minor;
    int usable;             /* 1 loaded and usable, 0 refused/unusable */
    const char *reason;     /* why refused/unusable, or device description when usable */
} semseg_plugin_desc;
typedef void (*semseg_plugin_visit_fn)(const semseg_plugin_desc *d, void *user);
/* Visits every plugin the options' search path finds (build tree,
 * <libdir>/semseg-onnx/plugins, $SEMSEG_PLUGIN_PATH, explicit files). */
semseg_status semseg_plugins_list(const semseg_options *o, semseg_plugin_visit_fn fn,
                                  void *user, semseg_error *err);

/* ---- sessions ---- */
/* opts may be NULL for defaults. The model's symbolic input dims stay unknown
 * until inputs are set or semseg_session_set_input_dims is called; static
 * models are fully prepared by the load. */
semseg_status semseg_session_load_file(const char *path, const semseg_options *opts,
                                       semseg_session **out, semseg_error *err);
/* base_dir: where external data files are looked up (NULL: external data is refused). */
semseg_status semseg_session_load_buffer(const void *data, size_t size, const char *base_dir,
                                         const semseg_options *opts, semseg_session **out,
                                         semseg_error *err);
void semseg_session_free(semseg_session *s);


typedef struct semseg_tensor_desc {
    const char *name;
    int32_t dtype;
    int32_t rank;                       /* -1 if unknown */
    int64_t dims[SEMSEG_MAX_RANK];      /* -1 where unknown/symbolic */
    const char *dim_names[SEMSEG_MAX_RANK]; /* symbolic names from the model, or NULL */
} semseg_tensor_desc;

/* A session that runs one operator with the given inputs (graph inputs named
 * as in `inputs`; symbolic dims as -1) and one output named "output": for
 * tools that apply an op outside a model, such as `run --crf`. Attribute
 * strings and arrays are copied. */
semseg_status semseg_session_new_op(const char *domain, const char *op, int opset,
                                    int n_inputs, const semseg_tensor_desc *inputs,
                                    int n_attrs, const semseg_attr *attrs,
                                    const semseg_options *opts, semseg_session **out,
                                    semseg_error *err);

int semseg_session_input_count(const semseg_session *s);
int semseg_session_output_count(const semseg_session *s);
/* -1 if there is no input/output with this name. */
int semseg_session_input_index(const semseg_session *s, const char *name);
int semseg_session_output_index(const semseg_session *s, const char *name);
/* Dims as currently known (after the last prepare/run). */
semseg_status semseg_session_input_desc(const semseg_session *s, int index, semseg_tensor_desc *d);
semseg_status semseg_session_output_desc(const semseg_session *s, int index, semseg_tensor_desc *d);

/* Fixes the dims of input `index` and prepares the graph for them (inference,
 * folding, resolution, planning) without running it; cheap when unchanged. */
semseg_status semseg_session_set_input_dims(semseg_session *s, int index, int32_t rank,
                                            const int64_t *dims, semseg_error *err);
/* Copies data in; dims must fit the model (symbolic dims may take any value > 0). */
semseg_status semseg_session_set_input(semseg_session *s, int index, int32_t dtype,
                                       int32_t rank, const int64_t *dims, const void *data,
                                       size_t nbytes, semseg_error *err);
semseg_status semseg_session_run(semseg_session *s, semseg_error *err);
/* Output of the last run; *data is host memory owned by the session, valid until
 * the next run, set_input with new dims, or free. */
semseg_status semseg_session_output(const semseg_session *s, int index, semseg_tensor_desc *d,
                                    const void **data, semseg_error *err);

/* ---- introspection (`semseg-onnx info`, `bench --profile`) ---- */
typedef struct semseg_model_desc {
    int64_t ir_version;
    const char *producer_name;
    const char *producer_version;
    int64_t opset;            /* default-domain opset */
    int64_t semseg_opset;     /* ai.semseg opset, or -1 */
    int64_t parameter_count;  /* elements of all initializers */
    size_t peak_activation_bytes; /* host + device arenas of the current plan */
    int node_count;           /* nodes in the prepared graph */
    int metadata_count;
} semseg_model_desc;
semseg_status semseg_session_model_desc(const semseg_session *s, semseg_model_desc *d);
/* metadata_props entry i; NULL key if out of range. Lookup returns NULL if absent. */
void semseg_session_metadata(const semseg_session *s, int i, const char **key, const char **value);
const char *semseg_session_metadata_get(const semseg_session *s, const char *key);

typedef struct semseg_node_desc {
    const char *name;
    const char *domain;
    const char *op;
    const char *plugin;       /* plugin the node resolved to */
    const char *fused;        /* "Relu", "Add+Relu", ... absorbed into this node, or "" */
    int32_t out_rank;         /* output 0 */
    int64_t out_dims[SEMSEG_MAX_RANK];
    int32_t out_dtype;
    double last_ms;           /* time of the last run when profiling, else 0 */
} semseg_node_desc;
semseg_status semseg_session_node_desc(const semseg_session *s, int index, semseg_node_desc *d);

/* ---- tensor files (ONNX TensorProto .pb, NumPy .npy) ---- */
/* Reads a tensor; the format is chosen by content (.npy magic) else TensorProto.
 * *data is malloc'd (free() it); d->name points into static storage or is "". */
typedef struct semseg_tensor_file {
    char name[256];
    int32_t dtype;
    int32_t rank;
    int64_t dims[SEMSEG_MAX_RANK];
    void *data;               /* malloc'd, dense row-major */
    size_t nbytes;
} semseg_tensor_file;
semseg_status semseg_tensor_file_read(const char *path, semseg_tensor_file *t, semseg_error *err);
/* Writes a TensorProto (.pb) with raw_data. */
semseg_status semseg_tensor_file_write(const char *path, const char *name, int32_t dtype,
                                       int32_t rank, const int64_t *dims, const void *data,
                                       semseg_error *err);
void semseg_tensor_file_clear(semseg_tensor_file *t); /* frees data */

#ifdef __cplusplus
}
#endif
#endif /* SEMSEG_H */
