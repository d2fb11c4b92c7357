/*
 * The plugin-facing view of an IR node (semseg_node_info), built from the
 * graph's values: what shape inference, constant folding, support queries and
 * kernel creation all see.
 */
#ifndef SEMSEG_NODEVIEW_H
#define SEMSEG_NODEVIEW_H

#include "ir.h"

typedef struct nodeview {
    semseg_node_info info;
    semseg_value_info *values;   /* inputs then outputs (+1 spare for a residual) */
} nodeview;

/* residual: value index appended as an extra input for a fusion proposal, or -1.
 * Returns 0, or -1 on OOM. */
int nodeview_init(nodeview *v, const ir_graph *g, const ir_node *n, int32_t residual);
void nodeview_clear(nodeview *v);

#endif
