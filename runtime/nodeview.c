/*
 * Builds semseg_node_info from the IR. Value infos point into the graph (names,
 * dims, constant data), so a view is valid while the graph is unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "nodeview.h"

static void fill(semseg_value_info *vi, const ir_graph *g, int32_t idx)
{
    if (idx < 0) {
        memset(vi, 0, sizeof *vi);
        vi->name = "";
        return;
    }
    const ir_value *v = &g->values[idx];
    vi->name = v->name;
    vi->dtype = v->dtype;
    vi->rank = v->rank < 0 ? 0 : v->rank;
    vi->dims = v->dims;
    vi->data = v->data;
}

int nodeview_init(nodeview *v, const ir_graph *g, const ir_node *n, int32_t residual)
{
    int32_t n_in = n->n_inputs + (residual >= 0);
    v->values = calloc((size_t)(n_in + n->n_outputs + 1), sizeof *v->values);
    if (!v->values) return -1;
    for (int32_t i = 0; i < n->n_inputs; i++) fill(&v->values[i], g, n->inputs[i]);
    if (residual >= 0) fill(&v->values[n->n_inputs], g, residual);
    for (int32_t i = 0; i < n->n_outputs; i++) fill(&v->values[n_in + i], g, n->outputs[i]);
    semseg_node_info *info = &v->info;
    memset(info, 0, sizeof *info);
    info->name = n->name;
    info->domain = n->domain;
    info->op = n->op;
    info->opset = n->opset;
    info->n_inputs = n_in;
    info->inputs = v->values;
    info->n_outputs = n->n_outputs;
    info->outputs = v->values + n_in;
    info->n_attrs = n->n_attrs;
    info->attrs = n->attrs;
    info->epilogue = NULL;
    return 0;
}

void nodeview_clear(nodeview *v)
{
    free(v->values);
    v->values = NULL;
}
