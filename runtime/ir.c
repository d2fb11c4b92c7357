/*
 * Graph IR storage: a pool allocator that owns everything a graph points to,
 * value/node tables that grow, cloning for re-preparation at a new input size,
 * and the topological sort that turns any node order into an executable one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* Pool: a list of malloc'd blocks, each freed with the graph. */
struct ir_pool {
    struct ir_pool *next;
    max_align_t align[]; /* payload */
};

ir_graph *ir_new(void)
{
    ir_graph *g = calloc(1, sizeof *g);
    return g;
}

void ir_free(ir_graph *g)
{
    if (!g) return;
    ir_pool *p = g->pool;
    while (p) {
        ir_pool *next = p->next;
        free(p);
        p = next;
    }
    free(g->values);
    free(g->nodes);
    free(g);
}

void *ir_alloc(ir_graph *g, size_t bytes)
{
    if (bytes > SIZE_MAX - sizeof(ir_pool)) return NULL;
    ir_pool *p = calloc(1, sizeof *p + (bytes ? bytes : 1));
    if (!p) return NULL;
    p->next = g->pool;
    g->pool = p;
    return p->align;
}

char *ir_strndup(ir_graph *g, const char *s, size_t n)
{
    char *d = ir_alloc(g, n + 1);
    if (d && n) memcpy(d, s, n);
    return d;
}

char *ir_strdup(ir_graph *g, const char *s)
{
    return ir_strndup(g, s ? s : "", s ? strlen(s) : 0);
}

static int grow(void **arr, int32_t *cap, int32_t need, size_t elem)
{
    if (need <= *cap) return 0;
    int32_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > INT32_MAX / 2) return -1;
        nc *= 2;
    }
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p) return -1;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *arr = p;
    *cap = nc;
    return 0;
}

int32_t ir_add_value(ir_graph *g, const char *name)
{
    if (grow((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof *g->values)) return -1;
    ir_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = ir_strdup(g, name);
    if (!v->name) return -1;
    v->rank = -1;
    v->producer = -1;
    for (int i = 0; i < SEMSEG_MAX_RANK; i++) v->dims[i] = IR_DIM_UNKNOWN;
    return g->n_values++;
}

int32_t ir_add_node(ir_graph *g, const char *name, const char *domain, const char *op,
                    int32_t n_inputs, int32_t n_outputs)
{
    if (n_inputs < 0 || n_outputs < 0) return -1;
    if (grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes)) return -1;
    ir_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->name = ir_strdup(g, name);
    n->domain = ir_strdup(g, domain);
    n->op = ir_strdup(g, op);
    n->inputs = ir_alloc(g, sizeof(int32_t) * (size_t)(n_inputs ? n_inputs : 1));
    n->outputs = ir_alloc(g, sizeof(int32_t) * (size_t)(n_outputs ? n_outputs : 1));
    if (!n->name || !n->domain || !n->op || !n->inputs || !n->outputs) return -1;
    n->n_inputs = n_inputs;
    n->n_outputs = n_outputs;
    for (int32_t i = 0; i < n_inputs; i++) n->inputs[i] = -1;
    for (int32_t i = 0; i < n_outputs; i++) n->outputs[i] = -1;
    n->epilogue.residual = -1;
    n->fuse_act_node = -1;
    n->fuse_add_node = -1;
    n->fuse_residual_value = -1;
    n->plugin = -1;
    n->fused_desc = "";
    return g->n_nodes++;
}

int32_t ir_find_value(const ir_graph *g, const char *name)
{
    for (int32_t i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i].name, name) == 0) return i;
    return -1;
}

int64_t ir_opset_version(const ir_graph *g, const char *domain)
{
    int want_default = domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0;
    for (int32_t i = 0; i < g->n_opsets; i++) {
        const char *d = g->opsets[i].domain;
        int is_default = d[0] == '\0' || strcmp(d, "ai.onnx") == 0;
        if (want_default ? is_default : strcmp(d, domain) == 0) return g->opsets[i].version;
    }
    return -1;
}

int64_t ir_value_numel(const ir_value *v)
{
    if (v->rank < 0) return -1;
    int64_t n = 1;
    for (int32_t i = 0; i < v->rank; i++) {
        if (v->dims[i] < 0) return -1;
        if (v->dims[i] != 0 && n > INT64_MAX / v->dims[i]) return -1;
        n *= v->dims[i];
    }
    return n;
}

int ir_value_set_const(ir_graph *g, ir_value *v, int32_t dtype, int32_t rank,
                       const int64_t *dims, const void *data)
{
    if (rank < 0 || rank > SEMSEG_MAX_RANK) return -1;
    v->dtype = dtype;
    v->rank = rank;
    for (int32_t i = 0; i < rank; i++) v->dims[i] = dims[i];
    if (!data) return 0;
    int64_t n = ir_value_numel(v);
    size_t es = semseg_dtype_size(dtype);
    if (n < 0 || es == 0 || (uint64_t)n > SIZE_MAX / es) return -1;
    v->nbytes = (size_t)n * es;
    v->data = ir_alloc(g, v->nbytes);
    if (!v->data) return -1;
    memcpy(v->data, data, v->nbytes);
    return 0;
}

ir_graph *ir_clone(const ir_graph *src)
{
    ir_graph *g = ir_new();
    if (!g) return NULL;
    /* Scalars and pointers into src's pool (names, attrs, const data) are shared. */
    *g = *src;
    g->pool = NULL;
    g->values = NULL;
    g->nodes = NULL;
    g->cap_values = g->cap_nodes = 0;
    if (grow((void **)&g->values, &g->cap_values, src->n_values ? src->n_values : 1, sizeof *g->values) ||
        grow((void **)&g->nodes, &g->cap_nodes, src->n_nodes ? src->n_nodes : 1, sizeof *g->nodes)) {
        ir_free(g);
        return NULL;
    }
    /* a graph without nodes (or values) has NULL tables: memcpy may not see them */
    if (src->n_values) memcpy(g->values, src->values, sizeof *g->values * (size_t)src->n_values);
    if (src->n_nodes) memcpy(g->nodes, src->nodes, sizeof *g->nodes * (size_t)src->n_nodes);
    for (int32_t i = 0; i < src->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        int32_t *in = ir_alloc(g, sizeof(int32_t) * (size_t)(n->n_inputs + 1));
        int32_t *out = ir_alloc(g, sizeof(int32_t) * (size_t)(n->n_outputs + 1));
        if (!in || !out) {
            ir_free(g);
            return NULL;
        }
        memcpy(in, n->inputs, sizeof(int32_t) * (size_t)n->n_inputs);
        memcpy(out, n->outputs, sizeof(int32_t) * (size_t)n->n_outputs);
        n->inputs = in;
        n->outputs = out;
    }
    int32_t *gi = ir_alloc(g, sizeof(int32_t) * (size_t)(src->n_inputs + 1));
    int32_t *go = ir_alloc(g, sizeof(int32_t) * (size_t)(src->n_outputs + 1));
    if (!gi || !go) {
        ir_free(g);
        return NULL;
    }
    memcpy(gi, src->inputs, sizeof(int32_t) * (size_t)src->n_inputs);
    memcpy(go, src->outputs, sizeof(int32_t) * (size_t)src->n_outputs);
    g->inputs = gi;
    g->outputs = go;
    return g;
}

static void heap_push(int32_t *h, int32_t *n, int32_t x)
{
    int32_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > x) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static int32_t heap_pop(int32_t *h, int32_t *n)
{
    int32_t top = h[0], x = h[--(*n)], i = 0;
    for (;;) {
        int32_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= x) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
    return top;
}

/* Kahn's algorithm over live nodes; ready nodes are taken in file order. */
semseg_status ir_toposort(ir_graph *g, char *err, size_t errlen)
{
    semseg_status st = SEMSEG_STATUS_OK;
    int32_t nn = g->n_nodes, nv = g->n_values;
    int32_t *producer = malloc(sizeof(int32_t) * (size_t)(nv + 1));
    int32_t *pending = calloc((size_t)nn + 1, sizeof(int32_t));
    int32_t *order = malloc(sizeof(int32_t) * (size_t)(nn + 1));
    /* consumers as CSR: for each value, the nodes that read it */
    int32_t *cstart = calloc((size_t)nv + 2, sizeof(int32_t));
    int32_t *clist = NULL;
    int32_t *fill = NULL;
    if (!producer || !pending || !order || !cstart) goto oom;

    for (int32_t v = 0; v < nv; v++) producer[v] = -1;
    for (int32_t i = 0; i < nn; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int32_t k = 0; k < n->n_outputs; k++) {
            int32_t v = n->outputs[k];
            if (v < 0) continue;
            if (producer[v] >= 0) {
                snprintf(err, errlen, "value '%s' is produced by two nodes ('%s' and '%s')",
                         g->values[v].name, g->nodes[producer[v]].name, n->name);
                st = SEMSEG_STATUS_MODEL;
                goto out;
            }
            if (g->values[v].data || (g->values[v].flags & IR_VALUE_INPUT)) {
                snprintf(err, errlen, "node '%s' writes '%s', which is a graph input or initializer",
                         n->name, g->values[v].name);
                st = SEMSEG_STATUS_MODEL;
                goto out;
            }
            producer[v] = i;
        }
    }
    size_t total = 0;
    for (int32_t i = 0; i < nn; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int32_t k = 0; k < n->n_inputs; k++) {
            int32_t v = n->inputs[k];
            if (v < 0) continue;
            if (producer[v] < 0 && !g->values[v].data && !(g->values[v].flags & IR_VALUE_INPUT)) {
                snprintf(err, errlen, "node '%s' (%s): input %d '%s' is not produced by any node, "
                         "nor a graph input or initializer", n->name, n->op, k, g->values[v].name);
                st = SEMSEG_STATUS_MODEL;
                goto out;
            }
            if (producer[v] >= 0) {
                pending[i]++;
                cstart[v + 1]++;
                total++;
            }
        }
    }
    for (int32_t v = 0; v < nv; v++) cstart[v + 1] += cstart[v];
    clist = malloc(sizeof(int32_t) * (total + 1));
    fill = malloc(sizeof(int32_t) * (size_t)(nv + 1));
    if (!clist || !fill) goto oom;
    memcpy(fill, cstart, sizeof(int32_t) * (size_t)nv);
    for (int32_t i = 0; i < nn; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int32_t k = 0; k < n->n_inputs; k++) {
            int32_t v = n->inputs[k];
            if (v >= 0 && producer[v] >= 0) clist[fill[v]++] = i;
        }
    }

    /* Ready nodes wait in a min-heap keyed by file index, so the result keeps
     * the file's order wherever dependencies allow. */
    int32_t n_order = 0, live = 0, heap_n = 0;
    int32_t *heap = malloc(sizeof(int32_t) * (size_t)(nn + 1));
    if (!heap) goto oom;
    for (int32_t i = 0; i < nn; i++) {
        if (g->nodes[i].dead) continue;
        live++;
        if (pending[i] == 0) heap_push(heap, &heap_n, i);
    }
    while (heap_n > 0) {
        int32_t pick = heap_pop(heap, &heap_n);
        order[n_order++] = pick;
        const ir_node *n = &g->nodes[pick];
        for (int32_t k = 0; k < n->n_outputs; k++) {
            int32_t v = n->outputs[k];
            if (v < 0) continue;
            for (int32_t c = cstart[v]; c < cstart[v + 1]; c++)
                if (--pending[clist[c]] == 0) heap_push(heap, &heap_n, clist[c]);
        }
    }
    free(heap);
    if (n_order < live) {
        for (int32_t i = 0; i < nn; i++) {
            if (!g->nodes[i].dead && pending[i] > 0) {
                snprintf(err, errlen, "the graph has a cycle through node '%s' (%s)",
                         g->nodes[i].name, g->nodes[i].op);
                break;
            }
        }
        st = SEMSEG_STATUS_MODEL;
        goto out;
    }

    ir_node *sorted = malloc(sizeof *sorted * (size_t)(live ? live : 1));
    int32_t *newidx = malloc(sizeof(int32_t) * (size_t)(nn + 1));
    if (!sorted || !newidx) {
        free(sorted);
        free(newidx);
        goto oom;
    }
    for (int32_t i = 0; i < nn; i++) newidx[i] = -1;
    for (int32_t i = 0; i < live; i++) {
        sorted[i] = g->nodes[order[i]];
        newidx[order[i]] = i;
    }
    for (int32_t i = 0; i < live; i++) {
        ir_node *n = &sorted[i];
        n->fuse_act_node = n->fuse_act_node >= 0 ? newidx[n->fuse_act_node] : -1;
        n->fuse_add_node = n->fuse_add_node >= 0 ? newidx[n->fuse_add_node] : -1;
    }
    free(g->nodes);
    g->nodes = sorted;
    g->n_nodes = live;
    g->cap_nodes = live ? live : 1;
    for (int32_t v = 0; v < nv; v++) g->values[v].producer = -1;
    for (int32_t i = 0; i < live; i++)
        for (int32_t k = 0; k < sorted[i].n_outputs; k++)
            if (sorted[i].outputs[k] >= 0) g->values[sorted[i].outputs[k]].producer = i;
    free(newidx);
    goto out;

oom:
    snprintf(err, errlen, "out of memory while sorting the graph");
    st = SEMSEG_STATUS_NO_MEMORY;
out:
    free(producer);
    free(pending);
    free(order);
    free(cstart);
    free(clist);
    free(fill);
    return st;
}
