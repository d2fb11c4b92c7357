/*
 * Session internals shared by the API files (options.c, session.c,
 * prepare.c): what a session holds and the prepared, runnable state.
 */
#ifndef SEMSEG_SESSION_IMPL_H
#define SEMSEG_SESSION_IMPL_H

#include "host.h"
#include "ir.h"
#include "plan.h"
#include "semseg/semseg.h"

struct semseg_options {
    char *backends;
    int threads;
    char **files;
    int n_files;
    int optimize;
    int profile;
    int64_t max_tensor_elements; /* semseg_options_set_limits; 0: default */
    size_t max_model_bytes;      /* 0: the importer's defaults */
};

enum { STEP_KERNEL = 0, STEP_COPY = 1 };

typedef struct sess_step {
    int32_t kind;             /* STEP_KERNEL or STEP_COPY */
    int32_t node;             /* KERNEL: node index in the prepared graph */
    int32_t plugin;           /* KERNEL: index into host.all */
    semseg_kernel *kernel;
    int32_t n_in, n_out;
    int32_t *in_slot;         /* slot per input; -1 absent; -2 constant (host data) */
    int32_t *out_slot;
    int32_t scratch_slot;     /* -1 if none */
    semseg_tensor *tin, *tout; /* filled at run time */
    int64_t scratch_dims[1];
    int32_t src_slot, dst_slot; /* COPY */
    double last_ms;
} sess_step;

typedef struct sess_input {
    int32_t rank;
    int64_t dims[SEMSEG_MAX_RANK];
    int dims_set;
    void *data;               /* host copy of the user's data */
    size_t nbytes, cap;
    int data_set;
} sess_input;

typedef struct sess_prepared {
    ir_graph *g;
    sess_step *steps;
    int32_t n_steps;
    plan_slot *slots;
    int32_t n_slots;
    void **slot_ext;          /* external slots' host pointers (inputs/outputs) */
    int32_t *out_slot;        /* per graph output: host slot holding it, or -1 */
    void **arena;             /* per memory kind */
    size_t *arena_bytes;
    size_t peak;
    char *frozen;             /* per graph input: 1 when its value was folded in */
} sess_prepared;

/* Graph inputs this small (int32, int64, float, bool) are treated as values known at prepare time: shape
 * operands fed as inputs (Reshape's shape, Resize's scales, Slice's starts)
 * then fold like constants. A new value re-prepares the session. */
#define SESS_FREEZE_MAX_ELEMENTS 16
int sess_input_freezable(const semseg_session *s, int index);

struct semseg_session {
    semseg_options opts;
    host host;
    ir_graph *model;
    sess_input *inputs;       /* per graph input of the model */
    sess_prepared *prep;      /* NULL until prepared */
    int ran;
};

semseg_status sess_fail(semseg_error *err, semseg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
host_config sess_host_config(const semseg_options *o);

/* prepare.c */
semseg_status sess_prepare(semseg_session *s, semseg_error *err);
void sess_unprepare(semseg_session *s);
semseg_status sess_execute(semseg_session *s, semseg_error *err);

#endif
