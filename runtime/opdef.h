/*
 * What the runtime knows about each operator independent of any backend:
 * arity, shape/type inference, and whether it may run in place. Inference sees
 * the node as a plugin would (semseg_node_info: input dtypes/dims, constant
 * input data, attributes) and writes each output's dtype and dims.
 *
 * The tables live by family: opdef_nn.c (Conv, pooling, Resize, ...),
 * opdef_tensor.c (element-wise, shape manipulation, reductions, ...),
 * opdef_semseg.c (the ai.semseg domain). opdef.c searches them.
 */
#ifndef SEMSEG_OPDEF_H
#define SEMSEG_OPDEF_H

#include "semseg/plugin.h"

typedef struct opdef_out {
    int32_t dtype;
    int32_t rank;
    int64_t dims[SEMSEG_MAX_RANK];
} opdef_out;

/* Fills out[0..n->n_outputs-1]; on a problem returns a status and writes one
 * line to err (SEMSEG_ERRMSG_SIZE bytes) naming the input/attribute at fault.
 * Outputs whose value is absent (optional) may be left untouched. Inputs' dims
 * are all known; inputs that are load-time constants carry data. */
typedef semseg_status (*opdef_infer_fn)(const semseg_node_info *n, opdef_out *out, char *err);

enum {
    OPDEF_INPLACE = 1u << 0,      /* output 0 may share input 0's memory */
    OPDEF_DIMS_ONLY = 1u << 1     /* output depends on input dims only (Shape, Size) */
};

typedef struct opdef {
    const char *domain;           /* "" or "ai.semseg" */
    const char *op;
    int32_t min_inputs, max_inputs;
    int32_t min_outputs, max_outputs;
    uint32_t flags;
    opdef_infer_fn infer;
} opdef;

/* NULL-terminated (op == NULL) tables. */
extern const opdef opdef_nn_table[];
extern const opdef opdef_tensor_table[];
extern const opdef opdef_semseg_table[];

/* Finds an op; "ai.onnx" is the default domain. NULL when unknown. */
const opdef *opdef_find(const char *domain, const char *op);

/* Helpers shared by the infer functions. */
int opdef_broadcast(int32_t ra, const int64_t *da, int32_t rb, const int64_t *db,
                    int32_t *rank, int64_t *dims);
int64_t opdef_const_int(const semseg_value_info *v, int64_t i); /* int32/int64 data */

#endif
