/*
 * Public API: sessions. A session owns its plugins' contexts, the imported
 * model (kept so that a new input size re-prepares without re-reading the
 * file), the user's input copies and the prepared plan (prepare.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_import.h"
#include "passes.h"
#include "session_impl.h"

static semseg_status finish_load(ir_graph *model, const semseg_options *opts, semseg_session **out,
                                 semseg_error *err)
{
    *out = NULL;
    semseg_session *s = calloc(1, sizeof *s);
    if (!s) {
        ir_free(model);
        return sess_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory");
    }
    s->model = model;
    semseg_options defaults = { 0 };
    if (!opts) {
        semseg_options *d = semseg_options_new();
        if (!d) {
            semseg_session_free(s);
            return sess_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory");
        }
        defaults = *d;
        free(d);
        opts = &defaults;
    }
    s->opts = *opts;
    /* the session keeps its own copies of the option strings */
    s->opts.backends = NULL;
    s->opts.files = NULL;
    s->opts.n_files = 0;
    if (opts->backends && !(s->opts.backends = strdup(opts->backends))) goto oom;
    if (opts->n_files) {
        s->opts.files = calloc((size_t)opts->n_files, sizeof(char *));
        if (!s->opts.files) goto oom;
        for (int i = 0; i < opts->n_files; i++) {
            if (!(s->opts.files[i] = strdup(opts->files[i]))) goto oom;
            s->opts.n_files++;
        }
    }
    s->inputs = calloc((size_t)model->n_inputs + 1, sizeof *s->inputs);
    if (!s->inputs) goto oom;

    char msg[SEMSEG_ERRMSG_SIZE] = "";
    semseg_status st = passes_check_ops(model, msg);
    if (st != SEMSEG_STATUS_OK) {
        semseg_session_free(s);
        return sess_fail(err, st, "%s", msg);
    }
    host_config hc = sess_host_config(&s->opts);
    st = host_open(&s->host, &hc, msg);
    if (st != SEMSEG_STATUS_OK) {
        semseg_session_free(s);
        return sess_fail(err, st, "%s", msg);
    }
    /* Prepare now when every input dim is known; otherwise on set_input. */
    int all_known = 1;
    for (int32_t k = 0; k < model->n_inputs; k++) {
        const ir_value *v = &model->values[model->inputs[k]];
        if (v->rank < 0) all_known = 0;
        for (int32_t r = 0; r < v->rank; r++)
            if (v->dims[r] < 0) all_known = 0;
        if (sess_input_freezable(s, k)) all_known = 0; /* its value may shape the graph */
    }
    if (all_known) {
        st = sess_prepare(s, err);
        if (st != SEMSEG_STATUS_OK) {
            semseg_session_free(s);
            return st;
        }
    }
    *out = s;
    return SEMSEG_STATUS_OK;
oom:
    semseg_session_free(s);
    return sess_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory");
}

/* The importer's caps from the options (NULL: its defaults). */
static const onnx_import_limits *import_limits(const semseg_options *opts, onnx_import_limits *lim)
{
    if (!opts) return NULL;
    lim->max_file_bytes = opts->max_model_bytes;
    lim->max_total_bytes = opts->max_model_bytes;
    lim->max_tensor_elements = opts->max_tensor_elements;
    return lim;
}

semseg_status semseg_session_load_file(const char *path, const semseg_options *opts, semseg_session **out,
                                       semseg_error *err)
{
    ir_graph *g = NULL;
    char msg[SEMSEG_ERRMSG_SIZE] = "";
    if (!path || !out) return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "no model path given");
    *out = NULL;
    onnx_import_limits lim;
    semseg_status st = onnx_import_file(path, import_limits(opts, &lim), &g, msg);
    if (st != SEMSEG_STATUS_OK) return sess_fail(err, st, "%s", msg);
    return finish_load(g, opts, out, err);
}

semseg_status semseg_session_load_buffer(const void *data, size_t size, const char *base_dir,
                                         const semseg_options *opts, semseg_session **out, semseg_error *err)
{
    ir_graph *g = NULL;
    char msg[SEMSEG_ERRMSG_SIZE] = "";
    if (!out) return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "no output session pointer");
    *out = NULL;
    onnx_import_limits lim;
    semseg_status st = onnx_import_buffer(data, size, base_dir, import_limits(opts, &lim), &g, msg);
    if (st != SEMSEG_STATUS_OK) return sess_fail(err, st, "%s", msg);
    return finish_load(g, opts, out, err);
}

static int copy_attr(ir_graph *g, semseg_attr *d, const semseg_attr *a)
{
    *d = *a;
    d->name = ir_strdup(g, a->name);
    if (!d->name) return -1;
    if (a->type == SEMSEG_ATTR_STRING && !(d->s = ir_strdup(g, a->s))) return -1;
    if (a->type == SEMSEG_ATTR_INTS || a->type == SEMSEG_ATTR_FLOATS) {
        if (a->n < 0 || a->n > 1 << 20) return -1;
        size_t bytes = (size_t)a->n * (a->type == SEMSEG_ATTR_INTS ? sizeof(int64_t) : sizeof(float));
        void *p = ir_alloc(g, bytes);
        if (!p) return -1;
        if (bytes) memcpy(p, a->type == SEMSEG_ATTR_INTS ? (const void *)a->ints : (const void *)a->floats, bytes);
        if (a->type == SEMSEG_ATTR_INTS) d->ints = p;
        else d->floats = p;
    }
    if (a->type == SEMSEG_ATTR_TENSOR || a->type == SEMSEG_ATTR_STRINGS) return -1; /* not needed by any tool */
    return 0;
}

semseg_status semseg_session_new_op(const char *domain, const char *op, int opset, int n_inputs,
                                    const semseg_tensor_desc *inputs, int n_attrs, const semseg_attr *attrs,
                                    const semseg_options *opts, semseg_session **out, semseg_error *err)
{
    if (!out || !op || n_inputs < 0 || n_inputs > 64 || n_attrs < 0 || (n_inputs && !inputs) || (n_attrs && !attrs))
        return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "semseg_session_new_op: bad arguments");
    *out = NULL;
    if (!domain) domain = "";
    ir_graph *g = ir_new();
    if (!g) return sess_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory");
    g->ir_version = 8;
    g->producer_name = ir_strdup(g, "semseg_session_new_op");
    g->opsets = ir_alloc(g, sizeof *g->opsets * 2);
    g->inputs = ir_alloc(g, sizeof(int32_t) * (size_t)(n_inputs + 1));
    g->outputs = ir_alloc(g, sizeof(int32_t));
    if (!g->producer_name || !g->opsets || !g->inputs || !g->outputs) goto oom;
    g->opsets[0].domain = ir_strdup(g, "");
    g->opsets[0].version = domain[0] ? 17 : opset;
    g->n_opsets = 1;
    if (domain[0]) {
        g->opsets[1].domain = ir_strdup(g, domain);
        g->opsets[1].version = opset;
        g->n_opsets = 2;
    }
    int32_t ni = ir_add_node(g, op, domain, op, n_inputs, 1);
    if (ni < 0) goto oom;
    g->nodes[ni].opset = opset;
    for (int k = 0; k < n_inputs; k++) {
        const semseg_tensor_desc *d = &inputs[k];
        if (d->rank < 0 || d->rank > SEMSEG_MAX_RANK || semseg_dtype_size(d->dtype) == 0) {
            ir_free(g);
            return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "input %d: bad dtype or rank", k);
        }
        char name[32];
        snprintf(name, sizeof name, "input_%d", k);
        int32_t v = ir_add_value(g, d->name && d->name[0] ? d->name : name);
        if (v < 0) goto oom;
        g->values[v].dtype = d->dtype;
        g->values[v].rank = d->rank;
        for (int r = 0; r < d->rank; r++) g->values[v].dims[r] = d->dims[r] >= 0 ? d->dims[r] : IR_DIM_UNKNOWN;
        g->values[v].flags = IR_VALUE_INPUT;
        g->inputs[g->n_inputs++] = v;
        g->nodes[ni].inputs[k] = v;
    }
    int32_t ov = ir_add_value(g, "output");
    if (ov < 0) goto oom;
    g->values[ov].flags = IR_VALUE_OUTPUT;
    g->outputs[0] = ov;
    g->n_outputs = 1;
    g->nodes[ni].outputs[0] = ov;
    g->nodes[ni].attrs = ir_alloc(g, sizeof(semseg_attr) * (size_t)(n_attrs + 1));
    if (!g->nodes[ni].attrs) goto oom;
    for (int i = 0; i < n_attrs; i++) {
        if (copy_attr(g, &g->nodes[ni].attrs[i], &attrs[i])) {
            ir_free(g);
            return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "attribute %d ('%s'): unsupported kind or size", i,
                             attrs[i].name ? attrs[i].name : "");
        }
    }
    g->nodes[ni].n_attrs = n_attrs;
    char msg[SEMSEG_ERRMSG_SIZE] = "";
    if (ir_toposort(g, msg, sizeof msg) != SEMSEG_STATUS_OK) {
        ir_free(g);
        return sess_fail(err, SEMSEG_STATUS_INTERNAL, "%s", msg);
    }
    return finish_load(g, opts, out, err);
oom:
    ir_free(g);
    return sess_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory");
}

void semseg_session_free(semseg_session *s)
{
    if (!s) return;
    sess_unprepare(s);
    host_close(&s->host);
    if (s->inputs && s->model)
        for (int32_t k = 0; k < s->model->n_inputs; k++) free(s->inputs[k].data);
    free(s->inputs);
    ir_free(s->model);
    free(s->opts.backends);
    for (int i = 0; i < s->opts.n_files; i++) free(s->opts.files[i]);
    free(s->opts.files);
    free(s);
}

int semseg_session_input_count(const semseg_session *s)
{
    return s->model->n_inputs;
}

int semseg_session_output_count(const semseg_session *s)
{
    return s->model->n_outputs;
}

static int find_io(const ir_graph *g, const int32_t *list, int32_t n, const char *name)
{
    for (int32_t k = 0; k < n; k++)
        if (strcmp(g->values[list[k]].name, name) == 0) return k;
    return -1;
}

int semseg_session_input_index(const semseg_session *s, const char *name)
{
    return find_io(s->model, s->model->inputs, s->model->n_inputs, name);
}

int semseg_session_output_index(const semseg_session *s, const char *name)
{
    return find_io(s->model, s->model->outputs, s->model->n_outputs, name);
}

static void describe(const ir_graph *g, int32_t v, semseg_tensor_desc *d)
{
    const ir_value *x = &g->values[v];
    memset(d, 0, sizeof *d);
    d->name = x->name;
    d->dtype = x->dtype;
    d->rank = x->rank;
    for (int32_t r = 0; r < x->rank && r < SEMSEG_MAX_RANK; r++) {
        d->dims[r] = x->dims[r];
        d->dim_names[r] = x->dim_param[r];
    }
}

semseg_status semseg_session_input_desc(const semseg_session *s, int index, semseg_tensor_desc *d)
{
    if (index < 0 || index >= s->model->n_inputs) return SEMSEG_STATUS_INVALID_ARGUMENT;
    const ir_graph *g = s->prep ? s->prep->g : s->model;
    describe(g, g->inputs[index], d);
    if (s->prep) /* keep the model's symbolic names */
        for (int32_t r = 0; r < d->rank; r++) d->dim_names[r] = s->model->values[s->model->inputs[index]].dim_param[r];
    return SEMSEG_STATUS_OK;
}

semseg_status semseg_session_output_desc(const semseg_session *s, int index, semseg_tensor_desc *d)
{
    if (index < 0 || index >= s->model->n_outputs) return SEMSEG_STATUS_INVALID_ARGUMENT;
    const ir_graph *g = s->prep ? s->prep->g : s->model;
    describe(g, g->outputs[index], d);
    return SEMSEG_STATUS_OK;
}

/* Checks dims against the model's declaration: static dims must match. */
static semseg_status check_dims(const semseg_session *s, int index, int32_t rank, const int64_t *dims,
                                semseg_error *err)
{
    const ir_value *v = &s->model->values[s->model->inputs[index]];
    if (rank < 0 || rank > SEMSEG_MAX_RANK)
        return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "input '%s': rank %d is out of range", v->name, rank);
    if (v->rank >= 0 && v->rank != rank)
        return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "input '%s' has rank %d in the model, got rank %d",
                         v->name, v->rank, rank);
    for (int32_t r = 0; r < rank; r++) {
        if (dims[r] < 0 || (dims[r] == 0 && v->dims[r] != 0))
            return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "input '%s': dim %d is %lld",
                             v->name, r, (long long)dims[r]);
        if (v->rank >= 0 && v->dims[r] >= 0 && v->dims[r] != dims[r])
            return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT,
                             "input '%s': dim %d must be %lld (fixed in the model), got %lld", v->name, r,
                             (long long)v->dims[r], (long long)dims[r]);
    }
    return SEMSEG_STATUS_OK;
}

static int dims_changed(const semseg_session *s, int index, int32_t rank, const int64_t *dims)
{
    if (!s->prep) return 1;
    const ir_value *v = &s->prep->g->values[s->prep->g->inputs[index]];
    return v->rank != rank || memcmp(v->dims, dims, sizeof(int64_t) * (size_t)rank) != 0;
}

semseg_status semseg_session_set_input_dims(semseg_session *s, int index, int32_t rank, const int64_t *dims,
                                            semseg_error *err)
{
    if (index < 0 || index >= s->model->n_inputs)
        return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "input index %d out of range (model has %d)",
                         index, s->model->n_inputs);
    semseg_status st = check_dims(s, index, rank, dims, err);
    if (st != SEMSEG_STATUS_OK) return st;
    sess_input *in = &s->inputs[index];
    in->rank = rank;
    memcpy(in->dims, dims, sizeof(int64_t) * (size_t)rank);
    in->dims_set = 1;
    /* Inputs not given yet keep their declared dims; prepare only when all are known. */
    for (int32_t k = 0; k < s->model->n_inputs; k++) {
        const ir_value *v = &s->model->values[s->model->inputs[k]];
        if (s->inputs[k].dims_set) continue;
        for (int32_t r = 0; r < v->rank; r++)
            if (v->dims[r] < 0) {
                sess_unprepare(s);
                return SEMSEG_STATUS_OK;
            }
    }
    if (!dims_changed(s, index, rank, dims)) return SEMSEG_STATUS_OK;
    return sess_prepare(s, err);
}

int sess_input_freezable(const semseg_session *s, int index)
{
    const ir_value *v = &s->model->values[s->model->inputs[index]];
    const sess_input *in = &s->inputs[index];
    int64_t n = in->dims_set ? semseg_numel(in->rank, in->dims) : ir_value_numel(v);
    return (v->dtype == SEMSEG_DTYPE_INT64 || v->dtype == SEMSEG_DTYPE_INT32 || v->dtype == SEMSEG_DTYPE_FLOAT ||
            v->dtype == SEMSEG_DTYPE_BOOL) &&
           n >= 0 && n <= SESS_FREEZE_MAX_ELEMENTS;
}

semseg_status semseg_session_set_input(semseg_session *s, int index, int32_t dtype, int32_t rank,
                                       const int64_t *dims, const void *data, size_t nbytes, semseg_error *err)
{
    if (index < 0 || index >= s->model->n_inputs)
        return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "input index %d out of range (model has %d)",
                         index, s->model->n_inputs);
    const ir_value *v = &s->model->values[s->model->inputs[index]];
    if (dtype != v->dtype)
        return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "input '%s' takes dtype %d, got dtype %d",
                         v->name, v->dtype, dtype);
    semseg_status st = check_dims(s, index, rank, dims, err);
    if (st != SEMSEG_STATUS_OK) return st;
    int64_t numel = semseg_numel(rank, dims);
    size_t want = (size_t)numel * semseg_dtype_size(dtype);
    if (numel < 0 || nbytes != want)
        return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "input '%s': got %zu bytes, dims need %zu",
                         v->name, nbytes, want);
    sess_input *in = &s->inputs[index];
    if (in->cap < want || !in->data) {
        void *nd = malloc(want ? want : 1);
        if (!nd) return sess_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory for input '%s'", v->name);
        free(in->data);
        in->data = nd;
        in->cap = want;
    }
    /* a value folded into the prepared graph: a different value re-prepares */
    int refreeze = s->prep && (s->prep->frozen[index] ? (in->nbytes != want || memcmp(in->data, data, want) != 0)
                                                      : (semseg_numel(rank, dims) <= SESS_FREEZE_MAX_ELEMENTS &&
                                                         sess_input_freezable(s, index)));
    memcpy(in->data, data, want);
    in->nbytes = want;
    in->data_set = 1;
    /* preparation waits for run(), when every input (and frozen value) is in */
    if (s->prep && (refreeze || dims_changed(s, index, rank, dims))) sess_unprepare(s);
    in->rank = rank;
    memcpy(in->dims, dims, sizeof(int64_t) * (size_t)rank);
    in->dims_set = 1;
    return SEMSEG_STATUS_OK;
}

semseg_status semseg_session_run(semseg_session *s, semseg_error *err)
{
    for (int32_t k = 0; k < s->model->n_inputs; k++)
        if (!s->inputs[k].data_set)
            return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "input '%s' was not set",
                             s->model->values[s->model->inputs[k]].name);
    if (!s->prep) {
        semseg_status st = sess_prepare(s, err);
        if (st != SEMSEG_STATUS_OK) return st;
    }
    return sess_execute(s, err);
}

semseg_status semseg_session_output(const semseg_session *s, int index, semseg_tensor_desc *d, const void **data,
                                    semseg_error *err)
{
    if (index < 0 || index >= s->model->n_outputs)
        return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "output index %d out of range (model has %d)",
                         index, s->model->n_outputs);
    if (!s->prep || !s->ran)
        return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "the session has not run since its inputs were set");
    const sess_prepared *p = s->prep;
    int32_t v = p->g->outputs[index];
    describe(p->g, v, d);
    int32_t sl = p->out_slot[index];
    if (sl >= 0) {
        const plan_slot *ps = &p->slots[sl];
        *data = ps->external ? p->slot_ext[sl] : (char *)p->arena[0] + ps->offset;
    } else {
        *data = p->g->values[v].data; /* folded to a constant */
    }
    return SEMSEG_STATUS_OK;
}

semseg_status semseg_session_model_desc(const semseg_session *s, semseg_model_desc *d)
{
    const ir_graph *m = s->model;
    memset(d, 0, sizeof *d);
    d->ir_version = m->ir_version;
    d->producer_name = m->producer_name ? m->producer_name : "";
    d->producer_version = m->producer_version ? m->producer_version : "";
    d->opset = ir_opset_version(m, "");
    d->semseg_opset = ir_opset_version(m, "ai.semseg");
    for (int32_t v = 0; v < m->n_values; v++)
        if (m->values[v].flags & IR_VALUE_INITIALIZER) {
            int64_t n = ir_value_numel(&m->values[v]);
            if (n > 0) d->parameter_count += n;
        }
    d->peak_activation_bytes = s->prep ? s->prep->peak : 0;
    d->node_count = s->prep ? s->prep->g->n_nodes : m->n_nodes;
    d->metadata_count = m->n_meta;
    return SEMSEG_STATUS_OK;
}

void semseg_session_metadata(const semseg_session *s, int i, const char **key, const char **value)
{
    if (i < 0 || i >= s->model->n_meta) {
        *key = *value = NULL;
        return;
    }
    *key = s->model->meta[i].key;
    *value = s->model->meta[i].value;
}

const char *semseg_session_metadata_get(const semseg_session *s, const char *key)
{
    for (int32_t i = 0; i < s->model->n_meta; i++)
        if (strcmp(s->model->meta[i].key, key) == 0) return s->model->meta[i].value;
    return NULL;
}

semseg_status semseg_session_node_desc(const semseg_session *s, int index, semseg_node_desc *d)
{
    memset(d, 0, sizeof *d);
    if (!s->prep || index < 0 || index >= s->prep->g->n_nodes) return SEMSEG_STATUS_INVALID_ARGUMENT;
    const ir_graph *g = s->prep->g;
    const ir_node *n = &g->nodes[index];
    d->name = n->name;
    d->domain = n->domain;
    d->op = n->op;
    d->plugin = n->plugin >= 0 ? s->host.all[n->plugin].api->name : "";
    d->fused = n->fused_desc ? n->fused_desc : "";
    if (n->n_outputs > 0 && n->outputs[0] >= 0) {
        const ir_value *v = &g->values[n->outputs[0]];
        d->out_rank = v->rank;
        d->out_dtype = v->dtype;
        memcpy(d->out_dims, v->dims, sizeof(int64_t) * (size_t)(v->rank > 0 ? v->rank : 0));
    }
    for (int32_t i = 0; i < s->prep->n_steps; i++)
        if (s->prep->steps[i].kind == STEP_KERNEL && s->prep->steps[i].node == index) d->last_ms = s->prep->steps[i].last_ms;
    return SEMSEG_STATUS_OK;
}
