/*
 * Internals of the `ref` plugin: the definition of right. Each operator lives
 * in its own file and exports one ref_op. create() reads attributes and dims
 * (all known at load time) into a private state; run() computes on host
 * tensors. Plain loops, float32 unless the op says otherwise.
 */
#ifndef SEMSEG_REF_H
#define SEMSEG_REF_H

#include <stdio.h>
#include <stdlib.h>

#include "semseg/plugin.h"

typedef struct ref_op {
    const char *domain;   /* "" or "ai.semseg" */
    const char *op;
    /* NULL: supported whenever the dtypes are float (or the op's own check in create). */
    int (*supports)(const semseg_node_info *n);
    /* Validates and stores what run needs; *state may stay NULL. */
    semseg_status (*create)(const semseg_node_info *n, void **state, char *err);
    semseg_status (*run)(void *state, const semseg_tensor *in, int32_t n_in,
                         const semseg_tensor *out, int32_t n_out, char *err);
    void (*destroy)(void *state);  /* NULL: free(state) */
} ref_op;

/* Ops worth threading (DenseCRF) are told the session's thread count once,
 * after create(), through this list (NULL-terminated, in ops_semseg.c). */
typedef struct ref_threaded {
    const ref_op *op;
    void (*set_threads)(void *state, int threads);
} ref_threaded;
extern const ref_threaded ref_threaded_ops[];

/* Writes one line into err (SEMSEG_ERRMSG_SIZE bytes) and returns status. */
semseg_status ref_fail(char *err, semseg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The op tables: each family file lists its ops. */
extern const ref_op *const ref_ops_nn[];      /* NULL-terminated */
extern const ref_op *const ref_ops_tensor[];
extern const ref_op *const ref_ops_semseg[];

#endif
