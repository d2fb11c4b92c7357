/*
 * The graph IR: values (dtype, dims, optional constant data) and nodes (domain,
 * op, opset, attributes, inputs, outputs). The importer produces it, the passes
 * rewrite it, the resolver and planner read it.
 *
 * Memory: every string, array and constant buffer of a graph comes from the
 * graph's pool and dies with ir_free(). A clone (ir_clone) copies the value and
 * node tables but shares constant data and attribute arrays with its source,
 * which must outlive it; passes therefore never write into shared data or
 * attribute arrays in place: they allocate new ones from the clone's pool.
 */
#ifndef SEMSEG_IR_H
#define SEMSEG_IR_H

#include <stddef.h>
#include <stdint.h>

#include "semseg/plugin.h"

#define IR_DIM_UNKNOWN (-1)

enum {
    IR_VALUE_INPUT = 1u << 0,       /* graph input (fed by the user) */
    IR_VALUE_OUTPUT = 1u << 1,      /* graph output */
    IR_VALUE_INITIALIZER = 1u << 2  /* came from graph.initializer */
};

typedef struct ir_value {
    char *name;
    int32_t dtype;                        /* semseg_dtype; UNDEFINED if not known yet */
    int32_t rank;                         /* -1 while unknown */
    int64_t dims[SEMSEG_MAX_RANK];        /* IR_DIM_UNKNOWN for symbolic / unknown */
    char *dim_param[SEMSEG_MAX_RANK];     /* symbolic dim names of graph inputs/outputs */
    void *data;                           /* constant data (host, dense, row-major) or NULL */
    size_t nbytes;                        /* size of data */
    int32_t producer;                     /* index of the producing node, or -1 */
    uint32_t flags;                       /* IR_VALUE_* */
} ir_value;

typedef struct ir_node {
    char *name;
    char *domain;                         /* "" for the default domain */
    char *op;
    int32_t opset;                        /* opset version of the node's domain */
    int32_t n_inputs;
    int32_t *inputs;                      /* value indices; -1 = absent optional input */
    int32_t n_outputs;
    int32_t *outputs;                     /* value indices; -1 = absent optional output */
    int32_t n_attrs;
    semseg_attr *attrs;
    int32_t dead;                         /* removed by a pass; skipped everywhere */
    semseg_epilogue epilogue;             /* fusion proposal (passes) / applied fusion (resolve);
                                             residual is an input index once fused */
    int32_t fuse_residual_value;          /* value index of the proposed residual, or -1 */
    int32_t fuse_act_node;                /* node index of the fusable Relu/Clip, or -1 */
    int32_t fuse_add_node;                /* node index of the fusable residual Add, or -1 */
    int32_t plugin;                       /* resolution: index into the host's plugins, -1 before */
    int32_t fused;                        /* 1 when the epilogue above was absorbed into this node */
    const char *fused_desc;               /* "Relu", "Add+Relu", ... for `info` */
} ir_node;

typedef struct ir_opset {
    char *domain;
    int64_t version;
} ir_opset;

typedef struct ir_meta {
    char *key;
    char *value;
} ir_meta;

typedef struct ir_pool ir_pool;

typedef struct ir_graph {
    int64_t ir_version;
    char *producer_name;
    char *producer_version;
    char *graph_name;
    int32_t n_opsets;
    ir_opset *opsets;
    int32_t n_meta;
    ir_meta *meta;

    int32_t n_values, cap_values;
    ir_value *values;
    int32_t n_nodes, cap_nodes;
    ir_node *nodes;                       /* topological order after ir_toposort */
    int32_t n_inputs;
    int32_t *inputs;                      /* graph inputs without initializers, in file order */
    int32_t n_outputs;
    int32_t *outputs;

    ir_pool *pool;
} ir_graph;

ir_graph *ir_new(void);
void ir_free(ir_graph *g);

/* A node's attributes as a plugin-style view, for the semseg_attr_* helpers. */
static inline semseg_node_info ir_node_attrs(const ir_node *n)
{
    semseg_node_info v = { 0 };
    v.name = n->name;
    v.op = n->op;
    v.n_attrs = n->n_attrs;
    v.attrs = n->attrs;
    return v;
}

/* Pool allocation: zeroed memory that lives as long as the graph. NULL on OOM. */
void *ir_alloc(ir_graph *g, size_t bytes);
char *ir_strdup(ir_graph *g, const char *s);
char *ir_strndup(ir_graph *g, const char *s, size_t n);

/* Appends a value (name copied) with unknown type and shape; returns its index or -1 on OOM. */
int32_t ir_add_value(ir_graph *g, const char *name);
/* Appends a node (strings copied, inputs/outputs arrays allocated, filled with -1);
 * returns its index or -1 on OOM. */
int32_t ir_add_node(ir_graph *g, const char *name, const char *domain, const char *op,
                    int32_t n_inputs, int32_t n_outputs);
/* Index of the value with this name, or -1. Linear; importers build their own map. */
int32_t ir_find_value(const ir_graph *g, const char *name);
/* Opset version imported for a domain ("" and "ai.onnx" are the same), or -1. */
int64_t ir_opset_version(const ir_graph *g, const char *domain);

/* Element count of a value with known dims; -1 if unknown or overflowing. */
int64_t ir_value_numel(const ir_value *v);
/* Sets a value's type, shape and constant data (data copied into the pool unless NULL). */
int ir_value_set_const(ir_graph *g, ir_value *v, int32_t dtype, int32_t rank,
                       const int64_t *dims, const void *data);

/* Deep copy of tables; constant data and attribute arrays are shared (see top). */
ir_graph *ir_clone(const ir_graph *g);

/* Sorts live nodes topologically (stable: keeps file order where possible),
 * drops dead nodes, sets every value's producer. Fails with a message naming the
 * node on a cycle, on an input no one produces, or on a value produced twice. */
semseg_status ir_toposort(ir_graph *g, char *err, size_t errlen);

#endif /* SEMSEG_IR_H */
