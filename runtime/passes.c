/*
 * Graph passes (see passes.h for the order and purpose of each).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodeview.h"
#include "opdef.h"
#include "passes.h"

static int is_op(const ir_node *n, const char *op)
{
    return !n->dead && (n->domain[0] == '\0' || strcmp(n->domain, "ai.onnx") == 0) && strcmp(n->op, op) == 0;
}

int32_t *passes_use_counts(const ir_graph *g)
{
    int32_t *uses = calloc((size_t)g->n_values + 1, sizeof *uses);
    if (!uses) return NULL;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int32_t k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) uses[n->inputs[k]]++;
    }
    for (int32_t k = 0; k < g->n_outputs; k++) uses[g->outputs[k]]++;
    return uses;
}

static void replace_uses(ir_graph *g, int32_t from, int32_t to)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int32_t k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] == from) n->inputs[k] = to;
    }
}

void passes_remove_identity(ir_graph *g)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (!(is_op(n, "Identity") || is_op(n, "Dropout")) || n->n_inputs < 1 || n->inputs[0] < 0) continue;
        /* Dropout's mask output, if anyone reads it, keeps the node. */
        if (n->n_outputs > 1 && n->outputs[1] >= 0) continue;
        int32_t out = n->outputs[0];
        /* A graph output must stay produced under its own name. */
        if (out < 0 || (g->values[out].flags & IR_VALUE_OUTPUT)) continue;
        replace_uses(g, out, n->inputs[0]);
        n->dead = 1;
    }
}

static semseg_status fold_node(ir_graph *g, ir_node *n, const semseg_node_info *info,
                               host_plugin *ref, int dims_only, char *err)
{
    if (ref->api->supports(ref->ctx, info) == SEMSEG_SUPPORT_NO) return SEMSEG_STATUS_OK;
    semseg_kernel *k = NULL;
    size_t scratch_bytes = 0;
    char msg[SEMSEG_ERRMSG_SIZE] = "";
    semseg_status st = ref->api->kernel_create(ref->ctx, info, &k, &scratch_bytes, msg);
    if (st != SEMSEG_STATUS_OK) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "node '%s' (%s): %s", n->name, n->op, msg);
        return st;
    }
    semseg_tensor *t = calloc((size_t)(info->n_inputs + info->n_outputs + 1), sizeof *t);
    void *scratch = scratch_bytes ? malloc(scratch_bytes) : NULL;
    if (!t || (scratch_bytes && !scratch)) {
        st = SEMSEG_STATUS_NO_MEMORY;
        snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory folding node '%s'", n->name);
        goto out;
    }
    for (int32_t i = 0; i < info->n_inputs; i++) {
        const semseg_value_info *vi = &info->inputs[i];
        t[i] = (semseg_tensor){ dims_only ? NULL : (void *)vi->data, 0, vi->dtype, vi->rank, vi->dims, 1 };
    }
    for (int32_t i = 0; i < n->n_outputs; i++) {
        int32_t o = n->outputs[i];
        semseg_tensor *ot = &t[info->n_inputs + i];
        if (o < 0) {
            *ot = (semseg_tensor){ NULL, 0, SEMSEG_DTYPE_UNDEFINED, 0, NULL, 1 };
            continue;
        }
        ir_value *v = &g->values[o];
        int64_t numel = ir_value_numel(v);
        size_t es = semseg_dtype_size(v->dtype);
        v->nbytes = (size_t)numel * es;
        v->data = ir_alloc(g, v->nbytes);
        if (!v->data) {
            st = SEMSEG_STATUS_NO_MEMORY;
            snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory folding node '%s'", n->name);
            goto out;
        }
        *ot = (semseg_tensor){ v->data, 0, v->dtype, v->rank, v->dims, 1 };
    }
    semseg_tensor sc = { scratch, 0, SEMSEG_DTYPE_UINT8, 1, NULL, 1 };
    int64_t sdims[1] = { (int64_t)scratch_bytes };
    sc.dims = sdims;
    st = ref->api->kernel_run(k, t, info->n_inputs, t + info->n_inputs, n->n_outputs, &sc, msg);
    if (st != SEMSEG_STATUS_OK) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "node '%s' (%s): %s", n->name, n->op, msg);
        goto out;
    }
    n->dead = 1;
out:
    if (st != SEMSEG_STATUS_OK) {
        for (int32_t i = 0; i < n->n_outputs; i++)
            if (n->outputs[i] >= 0) g->values[n->outputs[i]].data = NULL;
    }
    ref->api->kernel_destroy(k);
    free(t);
    free(scratch);
    return st;
}

/* "1x3x224x224" for messages. */
static void format_dims(char *buf, size_t size, const ir_value *v)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int32_t r = 0; r < v->rank && used < size; r++) {
        int w = snprintf(buf + used, size - used, "%s%lld", r ? "x" : "", (long long)v->dims[r]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

/* The type of every attribute the supported ops read, where one name means
 * one type across all of them (ONNX keeps it so; "value" does not: Pad-2's is
 * a FLOAT, Constant's a TENSOR, so it is left to the op). The semseg_attr_*
 * helpers treat a wrong type as absent; refusing it here turns a silently
 * ignored kernel_shape into a load error that names it. */
static const struct {
    const char *name;
    int32_t type;
} attr_types[] = {
    {"alpha", SEMSEG_ATTR_FLOAT}, {"beta", SEMSEG_ATTR_FLOAT}, {"epsilon", SEMSEG_ATTR_FLOAT},
    {"cubic_coeff_a", SEMSEG_ATTR_FLOAT}, {"extrapolation_value", SEMSEG_ATTR_FLOAT},
    {"min", SEMSEG_ATTR_FLOAT}, {"max", SEMSEG_ATTR_FLOAT},
    {"axis", SEMSEG_ATTR_INT}, {"group", SEMSEG_ATTR_INT}, {"keepdims", SEMSEG_ATTR_INT},
    {"ceil_mode", SEMSEG_ATTR_INT}, {"count_include_pad", SEMSEG_ATTR_INT}, {"to", SEMSEG_ATTR_INT},
    {"transA", SEMSEG_ATTR_INT}, {"transB", SEMSEG_ATTR_INT}, {"select_last_index", SEMSEG_ATTR_INT},
    {"exclude_outside", SEMSEG_ATTR_INT}, {"allowzero", SEMSEG_ATTR_INT}, {"training_mode", SEMSEG_ATTR_INT},
    {"storage_order", SEMSEG_ATTR_INT}, {"noop_with_empty_axes", SEMSEG_ATTR_INT},
    {"kernel_shape", SEMSEG_ATTR_INTS}, {"strides", SEMSEG_ATTR_INTS}, {"dilations", SEMSEG_ATTR_INTS},
    {"pads", SEMSEG_ATTR_INTS}, {"output_padding", SEMSEG_ATTR_INTS}, {"output_shape", SEMSEG_ATTR_INTS},
    {"perm", SEMSEG_ATTR_INTS}, {"axes", SEMSEG_ATTR_INTS}, {"split", SEMSEG_ATTR_INTS},
    {"starts", SEMSEG_ATTR_INTS}, {"ends", SEMSEG_ATTR_INTS}, {"output_size", SEMSEG_ATTR_INTS},
    {"auto_pad", SEMSEG_ATTR_STRING}, {"mode", SEMSEG_ATTR_STRING},
    {"coordinate_transformation_mode", SEMSEG_ATTR_STRING}, {"nearest_mode", SEMSEG_ATTR_STRING},
    {"keep_aspect_ratio_policy", SEMSEG_ATTR_STRING},
};

static const char *attr_type_name(int32_t t)
{
    switch (t) {
    case SEMSEG_ATTR_FLOAT: return "FLOAT";
    case SEMSEG_ATTR_INT: return "INT";
    case SEMSEG_ATTR_STRING: return "STRING";
    case SEMSEG_ATTR_TENSOR: return "TENSOR";
    case SEMSEG_ATTR_FLOATS: return "FLOATS";
    case SEMSEG_ATTR_INTS: return "INTS";
    case SEMSEG_ATTR_STRINGS: return "STRINGS";
    default: return "another type";
    }
}

static semseg_status check_attr_types(const ir_node *n, char *err)
{
    for (int32_t a = 0; a < n->n_attrs; a++) {
        const semseg_attr *at = &n->attrs[a];
        for (size_t k = 0; k < sizeof attr_types / sizeof attr_types[0]; k++) {
            if (strcmp(at->name, attr_types[k].name) != 0 || at->type == attr_types[k].type) continue;
            snprintf(err, SEMSEG_ERRMSG_SIZE, "node '%s' (%s): attribute '%s' is %s, expected %s", n->name,
                     n->op, at->name, attr_type_name(at->type), attr_type_name(attr_types[k].type));
            return SEMSEG_STATUS_MODEL;
        }
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status unknown_op(const ir_node *n, char *err)
{
    snprintf(err, SEMSEG_ERRMSG_SIZE, "no plugin supports op '%s' (domain '%s', opset %d) at node '%s'", n->op,
             n->domain[0] ? n->domain : "ai.onnx", n->opset, n->name);
    return SEMSEG_STATUS_UNSUPPORTED;
}

semseg_status passes_check_ops(const ir_graph *g, char *err)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        if (!opdef_find(n->domain, n->op)) return unknown_op(n, err);
        semseg_status st = check_attr_types(n, err);
        if (st != SEMSEG_STATUS_OK) return st;
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status infer_node(ir_graph *g, ir_node *n, host_plugin *ref, int64_t max_elements, char *err)
{
    const opdef *d = opdef_find(n->domain, n->op);
    if (!d) return unknown_op(n, err); /* passes_check_ops ran at load; kept for graphs built otherwise */
    if (n->n_inputs < d->min_inputs || n->n_inputs > d->max_inputs ||
        n->n_outputs < d->min_outputs || n->n_outputs > d->max_outputs) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "node '%s' (%s): has %d inputs and %d outputs; the op takes "
                 "%d..%d inputs and %d..%d outputs", n->name, n->op, n->n_inputs, n->n_outputs,
                 d->min_inputs, d->max_inputs, d->min_outputs, d->max_outputs);
        return SEMSEG_STATUS_MODEL;
    }
    int all_const = 1;
    for (int32_t k = 0; k < n->n_inputs; k++) {
        int32_t v = n->inputs[k];
        /* an empty name marks an optional input absent; the first min_inputs are not optional */
        if (v < 0 && k < d->min_inputs) {
            snprintf(err, SEMSEG_ERRMSG_SIZE, "node '%s' (%s): input %d is required but absent (empty name)",
                     n->name, n->op, k);
            return SEMSEG_STATUS_MODEL;
        }
        if (v < 0) continue;
        if (g->values[v].rank < 0 || g->values[v].dtype == SEMSEG_DTYPE_UNDEFINED) {
            snprintf(err, SEMSEG_ERRMSG_SIZE, "node '%s' (%s): input %d '%s' has unknown type or shape",
                     n->name, n->op, k, g->values[v].name);
            return SEMSEG_STATUS_MODEL;
        }
        if (!g->values[v].data) all_const = 0;
    }
    if (n->n_inputs < d->min_inputs) all_const = 0;

    nodeview view;
    opdef_out *out = calloc((size_t)n->n_outputs + 1, sizeof *out);
    if (!out || nodeview_init(&view, g, n, -1)) {
        free(out);
        snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory");
        return SEMSEG_STATUS_NO_MEMORY;
    }
    char msg[SEMSEG_ERRMSG_SIZE] = "";
    semseg_status st = d->infer(&view.info, out, msg);
    if (st != SEMSEG_STATUS_OK) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "node '%s' (%s): %s", n->name, n->op, msg[0] ? msg : "shape inference failed");
        goto done;
    }
    for (int32_t i = 0; i < n->n_outputs; i++) {
        int32_t o = n->outputs[i];
        if (o < 0) continue;
        ir_value *v = &g->values[o];
        if (out[i].rank < 0 || out[i].rank > SEMSEG_MAX_RANK) {
            snprintf(err, SEMSEG_ERRMSG_SIZE, "node '%s' (%s): output %d has rank %d, above the limit %d",
                     n->name, n->op, i, out[i].rank, SEMSEG_MAX_RANK);
            st = SEMSEG_STATUS_UNSUPPORTED;
            goto done;
        }
        v->dtype = out[i].dtype;
        v->rank = out[i].rank;
        for (int32_t r = 0; r < v->rank; r++) v->dims[r] = out[i].dims[r];
        int64_t numel = ir_value_numel(v);
        size_t es = semseg_dtype_size(v->dtype);
        if (numel < 0 || es == 0 || (uint64_t)numel > (uint64_t)(SIZE_MAX / 4) / es) {
            snprintf(err, SEMSEG_ERRMSG_SIZE, "node '%s' (%s): output %d '%s' has invalid or too large dims",
                     n->name, n->op, i, v->name);
            st = SEMSEG_STATUS_MODEL;
            goto done;
        }
        if (numel > max_elements) {
            char dims[160];
            format_dims(dims, sizeof dims, v);
            snprintf(err, SEMSEG_ERRMSG_SIZE, "node '%s' (%s): output %d '%s' [%s] has %lld elements, more "
                     "than the limit of %lld per tensor", n->name, n->op, i, v->name, dims,
                     (long long)numel, (long long)max_elements);
            st = SEMSEG_STATUS_MODEL;
            goto done;
        }
    }
    if (all_const || (d->flags & OPDEF_DIMS_ONLY)) {
        /* outputs now have dims: rebuild the view so the kernel sees them */
        nodeview_clear(&view);
        if (nodeview_init(&view, g, n, -1)) {
            st = SEMSEG_STATUS_NO_MEMORY;
            snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory");
            goto done;
        }
        st = fold_node(g, n, &view.info, ref, !all_const, err);
    }
done:
    nodeview_clear(&view);
    free(out);
    return st;
}

semseg_status passes_infer_fold(ir_graph *g, host_plugin *ref, int64_t max_elements, char *err)
{
    if (max_elements <= 0) max_elements = SEMSEG_DEFAULT_MAX_TENSOR_ELEMENTS;
    for (int32_t k = 0; k < g->n_inputs; k++) {
        const ir_value *v = &g->values[g->inputs[k]];
        int64_t numel = ir_value_numel(v);
        size_t es = semseg_dtype_size(v->dtype);
        if (v->rank >= 0 && (numel < 0 || numel > max_elements || (es && (uint64_t)numel > SIZE_MAX / 4 / es))) {
            char dims[160];
            format_dims(dims, sizeof dims, v);
            snprintf(err, SEMSEG_ERRMSG_SIZE, "graph input '%s' [%s] has more than the limit of %lld elements "
                     "per tensor", v->name, dims, (long long)max_elements);
            return SEMSEG_STATUS_MODEL;
        }
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        semseg_status st = infer_node(g, n, ref, max_elements, err);
        if (st != SEMSEG_STATUS_OK) return st;
    }
    for (int32_t k = 0; k < g->n_outputs; k++) {
        const ir_value *v = &g->values[g->outputs[k]];
        if (v->rank < 0) {
            snprintf(err, SEMSEG_ERRMSG_SIZE, "graph output '%s' is never computed", v->name);
            return SEMSEG_STATUS_MODEL;
        }
    }
    return SEMSEG_STATUS_OK;
}

static const float *const_f32(const ir_graph *g, int32_t v, int64_t n)
{
    if (v < 0) return NULL;
    const ir_value *x = &g->values[v];
    if (!x->data || x->dtype != SEMSEG_DTYPE_FLOAT || ir_value_numel(x) != n) return NULL;
    return x->data;
}

static int32_t new_const(ir_graph *g, const char *base, const char *suffix, int32_t rank,
                         const int64_t *dims, const float *data)
{
    char name[512];
    snprintf(name, sizeof name, "%s%s", base, suffix);
    int32_t idx = ir_add_value(g, name);
    if (idx < 0) return -1;
    if (ir_value_set_const(g, &g->values[idx], SEMSEG_DTYPE_FLOAT, rank, dims, data)) return -1;
    return idx;
}

/* Conv -> BatchNormalization (inference) with constant parameters becomes one
 * Conv: w' = w * s, b' = (b - mean) * s + beta, s = gamma / sqrt(var + eps). */
semseg_status passes_fold_batchnorm(ir_graph *g, char *err)
{
    int32_t *uses = passes_use_counts(g);
    if (!uses) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory");
        return SEMSEG_STATUS_NO_MEMORY;
    }
    semseg_status st = SEMSEG_STATUS_OK;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        ir_node *bn = &g->nodes[i];
        if (!is_op(bn, "BatchNormalization") || bn->n_inputs != 5 || bn->n_outputs < 1) continue;
        if (bn->n_outputs > 1) {
            int extra = 0;
            for (int32_t k = 1; k < bn->n_outputs; k++) extra |= bn->outputs[k] >= 0;
            if (extra) continue;
        }
        semseg_node_info bn_attrs = ir_node_attrs(bn);
        if (semseg_attr_int(&bn_attrs, "training_mode", 0)) continue;
        int32_t x = bn->inputs[0];
        if (x < 0 || uses[x] != 1 || g->values[x].producer < 0) continue;
        ir_node *conv = &g->nodes[g->values[x].producer];
        if (!is_op(conv, "Conv") || conv->outputs[0] != x) continue;
        if (conv->n_inputs < 2 || conv->inputs[1] < 0) continue;
        const ir_value *w = &g->values[conv->inputs[1]];
        if (!w->data || w->dtype != SEMSEG_DTYPE_FLOAT || w->rank < 3) continue;
        int64_t m = w->dims[0];
        int64_t per = ir_value_numel(w) / (m ? m : 1);
        const float *gamma = const_f32(g, bn->inputs[1], m), *beta = const_f32(g, bn->inputs[2], m);
        const float *mean = const_f32(g, bn->inputs[3], m), *var = const_f32(g, bn->inputs[4], m);
        const float *bias = conv->n_inputs > 2 ? const_f32(g, conv->inputs[2], m) : NULL;
        if (!gamma || !beta || !mean || !var) continue;
        if (conv->n_inputs > 2 && conv->inputs[2] >= 0 && !bias) continue;
        float eps = semseg_attr_float(&bn_attrs, "epsilon", 1e-5f);

        float *nw = malloc(sizeof(float) * (size_t)(m * per));
        float *nb = malloc(sizeof(float) * (size_t)m);
        if (!nw || !nb) {
            free(nw);
            free(nb);
            st = SEMSEG_STATUS_NO_MEMORY;
            snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory");
            break;
        }
        const float *wd = w->data;
        for (int64_t o = 0; o < m; o++) {
            double s = gamma[o] / sqrt((double)var[o] + eps);
            for (int64_t j = 0; j < per; j++) nw[o * per + j] = (float)(wd[o * per + j] * s);
            nb[o] = (float)(((bias ? bias[o] : 0.0) - mean[o]) * s + beta[o]);
        }
        int64_t wdims[SEMSEG_MAX_RANK];
        int32_t wrank = w->rank;
        memcpy(wdims, w->dims, sizeof(int64_t) * (size_t)wrank);
        int32_t iw = new_const(g, conv->name, ".bnfold_w", wrank, wdims, nw);
        int32_t ib = new_const(g, conv->name, ".bnfold_b", 1, &m, nb);
        free(nw);
        free(nb);
        /* ir_add_value may move the value table: re-fetch pointers */
        conv = &g->nodes[g->values[x].producer];
        bn = &g->nodes[i];
        int32_t *ins = ir_alloc(g, sizeof(int32_t) * 3);
        if (iw < 0 || ib < 0 || !ins) {
            st = SEMSEG_STATUS_NO_MEMORY;
            snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory");
            break;
        }
        ins[0] = conv->inputs[0];
        ins[1] = iw;
        ins[2] = ib;
        conv->inputs = ins;
        conv->n_inputs = 3;
        conv->outputs[0] = bn->outputs[0];
        g->values[bn->outputs[0]].producer = g->values[x].producer;
        g->values[x].producer = -1;
        bn->dead = 1;
        int32_t *nu = realloc(uses, sizeof *uses * ((size_t)g->n_values + 1));
        if (!nu) {
            st = SEMSEG_STATUS_NO_MEMORY;
            snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory");
            break;
        }
        uses = nu;
        uses[iw] = uses[ib] = 1;
    }
    free(uses);
    return st;
}

/* Clip with constant (or absent) bounds; returns 0 when bounds are not constant. */
static int clip_bounds(const ir_graph *g, const ir_node *n, float *lo, float *hi)
{
    semseg_node_info view = ir_node_attrs(n);
    *lo = -INFINITY;
    *hi = INFINITY;
    if (n->opset < 11) {
        *lo = semseg_attr_float(&view, "min", -INFINITY);
        *hi = semseg_attr_float(&view, "max", INFINITY);
        return 1;
    }
    for (int32_t k = 1; k < n->n_inputs && k < 3; k++) {
        int32_t v = n->inputs[k];
        if (v < 0) continue;
        const float *p = const_f32(g, v, 1);
        if (!p) return 0;
        if (k == 1) *lo = p[0];
        else *hi = p[0];
    }
    return 1;
}

/* For each value, the index of the last live node reading it (-1: none);
 * with a use count of 1, the only one. malloc'd. */
static int32_t *last_consumers(const ir_graph *g)
{
    int32_t *consumer = malloc(sizeof(int32_t) * ((size_t)g->n_values + 1));
    if (!consumer) return NULL;
    for (int32_t v = 0; v < g->n_values; v++) consumer[v] = -1;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int32_t k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) consumer[n->inputs[k]] = i;
    }
    return consumer;
}

/* HardSwish's own constants: alpha = 1/6 and beta = 0.5 as float32. */
static int is_hardswish_sigmoid(const ir_node *n)
{
    semseg_node_info v = ir_node_attrs(n);
    return semseg_attr_float(&v, "alpha", 0.2f) == (float)(1.0 / 6.0) && semseg_attr_float(&v, "beta", 0.5f) == 0.5f;
}

/* Turns Mul node m, reading x and HardSigmoid node h's output, into HardSwish(x). */
static int rewrite_hardswish(ir_graph *g, ir_node *m, ir_node *h, int32_t x)
{
    int32_t *ins = ir_alloc(g, sizeof(int32_t));
    char *op = ir_strdup(g, "HardSwish");
    if (!ins || !op) return -1;
    ins[0] = x;
    m->inputs = ins;
    m->n_inputs = 1;
    m->n_attrs = 0;
    m->op = op;
    if (m->opset < 14) m->opset = 14; /* HardSwish is defined from opset 14 */
    g->values[h->outputs[0]].producer = -1;
    h->dead = 1;
    return 0;
}

void passes_fuse_hardswish(ir_graph *g)
{
    int32_t *uses = passes_use_counts(g);
    int32_t *consumer = uses ? last_consumers(g) : NULL;
    for (int32_t i = 0; consumer && i < g->n_nodes; i++) {
        ir_node *h = &g->nodes[i];
        if (h->dead || !is_op(h, "HardSigmoid") || h->n_inputs != 1 || h->n_outputs != 1 || !is_hardswish_sigmoid(h)) continue;
        int32_t x = h->inputs[0], s = h->outputs[0];
        if (x < 0 || s < 0 || g->values[x].dtype != SEMSEG_DTYPE_FLOAT || uses[s] != 1 || consumer[s] < 0) continue;
        ir_node *m = &g->nodes[consumer[s]];
        if (!is_op(m, "Mul") || m->n_inputs != 2 || m->n_outputs != 1) continue;
        if (!((m->inputs[0] == x && m->inputs[1] == s) || (m->inputs[0] == s && m->inputs[1] == x))) continue;
        if (rewrite_hardswish(g, m, h, x) != 0) break; /* out of memory: keep the rest as it is */
    }
    free(consumer);
    free(uses);
}

void passes_mark_fusion(ir_graph *g)
{
    int32_t *uses = passes_use_counts(g);
    if (!uses) return; /* fusion is an optimisation: without memory, skip it */
    int32_t *consumer = last_consumers(g);
    if (!consumer) {
        free(uses);
        return;
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        ir_node *c = &g->nodes[i];
        c->epilogue = (semseg_epilogue){ SEMSEG_ACT_NONE, 0, 0, -1 };
        c->fuse_act_node = c->fuse_add_node = c->fuse_residual_value = -1;
        if (!is_op(c, "Conv") || c->outputs[0] < 0) continue;
        int32_t y = c->outputs[0];
        if (g->values[y].dtype != SEMSEG_DTYPE_FLOAT) continue;
        for (int step = 0; step < 2; step++) {
            if (uses[y] != 1 || (g->values[y].flags & IR_VALUE_OUTPUT) || consumer[y] < 0) break;
            ir_node *nx = &g->nodes[consumer[y]];
            if (step == 0 && is_op(nx, "Add") && nx->n_inputs == 2 && nx->inputs[0] >= 0 && nx->inputs[1] >= 0) {
                int32_t other = nx->inputs[0] == y ? nx->inputs[1] : nx->inputs[0];
                const ir_value *ov = &g->values[other], *yv = &g->values[y];
                if (other == y || ov->data || ov->dtype != SEMSEG_DTYPE_FLOAT || ov->rank != yv->rank ||
                    memcmp(ov->dims, yv->dims, sizeof(int64_t) * (size_t)yv->rank) != 0)
                    break;
                c->fuse_residual_value = other;
                c->fuse_add_node = consumer[y];
                y = nx->outputs[0];
                continue;
            }
            float lo, hi;
            if (is_op(nx, "Relu")) {
                c->epilogue.act = SEMSEG_ACT_RELU;
            } else if (is_op(nx, "HardSwish")) {
                c->epilogue.act = SEMSEG_ACT_HARDSWISH;
            } else if (is_op(nx, "Clip") && clip_bounds(g, nx, &lo, &hi)) {
                c->epilogue.act = SEMSEG_ACT_CLIP;
                c->epilogue.act_min = lo;
                c->epilogue.act_max = hi;
            } else {
                break;
            }
            c->fuse_act_node = consumer[y];
            break;
        }
    }
    free(consumer);
    free(uses);
}
