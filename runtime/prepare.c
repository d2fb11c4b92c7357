/*
 * From the imported model to a runnable plan, and running it.
 *
 *   clone the model -> fix input dims -> passes (infer/fold, BN folding,
 *   fusion marks) -> resolve each node to the first plugin that supports it
 *   (absorbing a proposed epilogue when the plugin says FUSED) -> create
 *   kernels -> place every tensor in a slot of its plugin's memory kind,
 *   inserting copies where a value crosses kinds -> assign arena offsets.
 *
 * A new input size drops the prepared state and repeats this from the kept
 * imported model: the file is never read again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nodeview.h"
#include "opdef.h"
#include "passes.h"
#include "session_impl.h"

static const char *dom_name(const ir_node *n)
{
    return n->domain[0] ? n->domain : "ai.onnx";
}

/* ---- resolution ---- */

static int32_t *grow_inputs(ir_graph *g, const ir_node *n, int32_t extra)
{
    int32_t *ins = ir_alloc(g, sizeof(int32_t) * (size_t)(n->n_inputs + 1));
    if (!ins) return NULL;
    memcpy(ins, n->inputs, sizeof(int32_t) * (size_t)n->n_inputs);
    ins[n->n_inputs] = extra;
    return ins;
}

static semseg_status absorb_epilogue(ir_graph *g, int32_t i, char *err)
{
    ir_node *n = &g->nodes[i];
    int32_t final = n->outputs[0];
    const char *desc = "";
    if (n->fuse_add_node >= 0) {
        int32_t *ins = grow_inputs(g, n, n->fuse_residual_value);
        if (!ins) goto oom;
        n->inputs = ins;
        n->epilogue.residual = n->n_inputs++;
        final = g->nodes[n->fuse_add_node].outputs[0];
        g->nodes[n->fuse_add_node].dead = 1;
        desc = "Add";
    } else {
        n->epilogue.residual = -1;
    }
    if (n->fuse_act_node >= 0) {
        const ir_node *a = &g->nodes[n->fuse_act_node];
        final = a->outputs[0];
        size_t len = strlen(desc) + strlen(a->op) + 2;
        char *d = ir_alloc(g, len);
        if (!d) goto oom;
        snprintf(d, len, "%s%s%s", desc, desc[0] ? "+" : "", a->op);
        desc = d;
        g->nodes[n->fuse_act_node].dead = 1;
    } else {
        n->epilogue.act = SEMSEG_ACT_NONE;
    }
    n->outputs[0] = final;
    n->fused = 1;
    n->fused_desc = desc;
    return SEMSEG_STATUS_OK;
oom:
    snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory");
    return SEMSEG_STATUS_NO_MEMORY;
}

static semseg_status resolve(semseg_session *s, ir_graph *g, char *err)
{
    host *h = &s->host;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        int proposal = n->fuse_add_node >= 0 || n->fuse_act_node >= 0;
        /* two Convs feeding one Add both propose it: the first to fuse wins */
        if ((n->fuse_add_node >= 0 && g->nodes[n->fuse_add_node].dead) ||
            (n->fuse_act_node >= 0 && g->nodes[n->fuse_act_node].dead))
            proposal = 0;
        nodeview plain, fused;
        if (nodeview_init(&plain, g, n, -1)) goto oom;
        semseg_epilogue ep = n->epilogue;
        if (proposal) {
            if (nodeview_init(&fused, g, n, n->fuse_add_node >= 0 ? n->fuse_residual_value : -1)) {
                nodeview_clear(&plain);
                goto oom;
            }
            ep.residual = n->fuse_add_node >= 0 ? n->n_inputs : -1;
            if (n->fuse_act_node < 0) ep.act = SEMSEG_ACT_NONE;
            fused.info.epilogue = &ep;
        }
        int fuse = 0;
        n->plugin = -1;
        for (int k = 0; k < h->n_order && n->plugin < 0; k++) {
            host_plugin *p = &h->all[h->order[k]];
            semseg_support ans = SEMSEG_SUPPORT_NO;
            if (proposal) {
                ans = p->api->supports(p->ctx, &fused.info);
                fuse = ans == SEMSEG_SUPPORT_FUSED;
            }
            if (ans == SEMSEG_SUPPORT_NO) ans = p->api->supports(p->ctx, &plain.info);
            if (ans != SEMSEG_SUPPORT_NO) n->plugin = h->order[k];
        }
        nodeview_clear(&plain);
        if (proposal) nodeview_clear(&fused);
        if (n->plugin < 0) {
            const ir_value *v0 = n->n_inputs > 0 && n->inputs[0] >= 0 ? &g->values[n->inputs[0]] : NULL;
            snprintf(err, SEMSEG_ERRMSG_SIZE,
                     "no plugin supports op '%s' (domain '%s', opset %d) at node '%s' with input dtype %d rank %d",
                     n->op, dom_name(n), n->opset, n->name, v0 ? v0->dtype : 0, v0 ? v0->rank : 0);
            return SEMSEG_STATUS_UNSUPPORTED;
        }
        if (fuse) {
            n->epilogue = ep;
            semseg_status st = absorb_epilogue(g, i, err);
            if (st != SEMSEG_STATUS_OK) return st;
        }
    }
    return SEMSEG_STATUS_OK;
oom:
    snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory");
    return SEMSEG_STATUS_NO_MEMORY;
}

/* ---- planning ---- */

typedef struct builder {
    sess_prepared *p;
    int32_t cap_steps, cap_slots;
    int32_t n_kinds;
    int32_t *vslot; /* [value * n_kinds + kind] -> slot */
} builder;

static int add_slot(builder *b, int32_t value, int32_t kind, size_t bytes, int32_t first, int external)
{
    sess_prepared *p = b->p;
    if (p->n_slots == b->cap_slots) {
        int32_t nc = b->cap_slots ? 2 * b->cap_slots : 64;
        plan_slot *ns = realloc(p->slots, sizeof *ns * (size_t)nc);
        if (!ns) return -1;
        p->slots = ns;
        void **ne = realloc(p->slot_ext, sizeof *ne * (size_t)nc);
        if (!ne) return -1;
        p->slot_ext = ne;
        b->cap_slots = nc;
    }
    plan_slot *sl = &p->slots[p->n_slots];
    *sl = (plan_slot){ value, kind, bytes, first, first, -1, external, 0 };
    p->slot_ext[p->n_slots] = NULL;
    if (value >= 0) b->vslot[(size_t)value * (size_t)b->n_kinds + (size_t)kind] = p->n_slots;
    return p->n_slots++;
}

static sess_step *add_step(builder *b)
{
    sess_prepared *p = b->p;
    if (p->n_steps == b->cap_steps) {
        int32_t nc = b->cap_steps ? 2 * b->cap_steps : 64;
        sess_step *ns = realloc(p->steps, sizeof *ns * (size_t)nc);
        if (!ns) return NULL;
        p->steps = ns;
        b->cap_steps = nc;
    }
    sess_step *st = &p->steps[p->n_steps++];
    memset(st, 0, sizeof *st);
    st->node = st->plugin = -1;
    st->scratch_slot = st->src_slot = st->dst_slot = -1;
    return st;
}

static size_t value_bytes(const ir_value *v)
{
    int64_t n = ir_value_numel(v);
    return n < 0 ? 0 : (size_t)n * semseg_dtype_size(v->dtype);
}

/* The slot holding value v in memory kind `kind`, inserting a copy if needed. */
static int32_t slot_in_kind(builder *b, const ir_graph *g, int32_t v, int32_t kind)
{
    int32_t have = b->vslot[(size_t)v * (size_t)b->n_kinds + (size_t)kind];
    if (have >= 0) return have;
    int32_t src = -1;
    for (int32_t k = 0; k < b->n_kinds && src < 0; k++) src = b->vslot[(size_t)v * (size_t)b->n_kinds + (size_t)k];
    if (src < 0) return -1;
    int32_t step_idx = b->p->n_steps;
    int32_t dst = add_slot(b, v, kind, value_bytes(&g->values[v]), step_idx, 0);
    if (dst < 0) return -1;
    sess_step *cp = add_step(b);
    if (!cp) return -1;
    cp->kind = STEP_COPY;
    cp->src_slot = src;
    cp->dst_slot = dst;
    b->p->slots[src].last = step_idx;
    return dst;
}

static semseg_status create_kernel(semseg_session *s, sess_step *st, char *err)
{
    const ir_graph *g = s->prep->g;
    const ir_node *n = &g->nodes[st->node];
    host_plugin *pl = &s->host.all[st->plugin];
    nodeview v;
    if (nodeview_init(&v, g, n, -1)) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory");
        return SEMSEG_STATUS_NO_MEMORY;
    }
    if (n->fused) v.info.epilogue = &n->epilogue;
    size_t scratch = 0;
    char msg[SEMSEG_ERRMSG_SIZE] = "";
    semseg_status rs = pl->api->kernel_create(pl->ctx, &v.info, &st->kernel, &scratch, msg);
    nodeview_clear(&v);
    if (rs != SEMSEG_STATUS_OK) {
        st->kernel = NULL;
        snprintf(err, SEMSEG_ERRMSG_SIZE, "node '%s' (%s) on %s: %s", n->name, n->op, pl->api->name,
                 msg[0] ? msg : "kernel creation failed");
        return rs;
    }
    st->scratch_dims[0] = (int64_t)scratch;
    st->tin = calloc((size_t)st->n_in + 1, sizeof *st->tin);
    st->tout = calloc((size_t)st->n_out + 1, sizeof *st->tout);
    if (!st->tin || !st->tout) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory");
        return SEMSEG_STATUS_NO_MEMORY;
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status build_plan(semseg_session *s, char *err)
{
    sess_prepared *p = s->prep;
    ir_graph *g = p->g;
    builder b = { p, 0, 0, s->host.n_kinds, NULL };
    b.vslot = malloc(sizeof(int32_t) * (size_t)g->n_values * (size_t)b.n_kinds + 1);
    int32_t *last_use = malloc(sizeof(int32_t) * ((size_t)g->n_values + 1));
    if (!b.vslot || !last_use) goto oom;
    for (size_t i = 0; i < (size_t)g->n_values * (size_t)b.n_kinds; i++) b.vslot[i] = -1;
    for (int32_t v = 0; v < g->n_values; v++) last_use[v] = -1;
    for (int32_t i = 0; i < g->n_nodes; i++)
        for (int32_t k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] >= 0) last_use[g->nodes[i].inputs[k]] = i;

    for (int32_t k = 0; k < g->n_inputs; k++) {
        int32_t v = g->inputs[k];
        int32_t sl = add_slot(&b, v, 0, value_bytes(&g->values[v]), -1, 1);
        if (sl < 0) goto oom;
        p->slot_ext[sl] = s->inputs[k].data;
    }

    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        host_plugin *pl = &s->host.all[n->plugin];
        int32_t kind = pl->mem_kind;
        int32_t *in_slot = malloc(sizeof(int32_t) * (size_t)(n->n_inputs + 1));
        int32_t *out_slot = malloc(sizeof(int32_t) * (size_t)(n->n_outputs + 1));
        if (!in_slot || !out_slot) {
            free(in_slot);
            free(out_slot);
            goto oom;
        }
        for (int32_t k = 0; k < n->n_inputs; k++) {
            int32_t v = n->inputs[k];
            if (v < 0) in_slot[k] = -1;
            else if (g->values[v].data) in_slot[k] = -2;
            else in_slot[k] = slot_in_kind(&b, g, v, kind);
            if (v >= 0 && !g->values[v].data && in_slot[k] < 0) {
                free(in_slot);
                free(out_slot);
                snprintf(err, SEMSEG_ERRMSG_SIZE, "internal: value '%s' has no slot", g->values[v].name);
                return SEMSEG_STATUS_INTERNAL;
            }
        }
        int32_t step_idx = p->n_steps;
        sess_step *st = add_step(&b);
        if (!st) {
            free(in_slot);
            free(out_slot);
            goto oom;
        }
        st->kind = STEP_KERNEL;
        st->node = i;
        st->plugin = n->plugin;
        st->n_in = n->n_inputs;
        st->n_out = n->n_outputs;
        st->in_slot = in_slot;
        st->out_slot = out_slot;
        for (int32_t k = 0; k < n->n_inputs; k++)
            if (in_slot[k] >= 0) p->slots[in_slot[k]].last = step_idx;
        semseg_status cs = create_kernel(s, st, err);
        if (cs != SEMSEG_STATUS_OK) {
            free(b.vslot);
            free(last_use);
            return cs;
        }
        if (st->scratch_dims[0] > 0) {
            int32_t sl = add_slot(&b, -1, kind, (size_t)st->scratch_dims[0], step_idx, 0);
            if (sl < 0) goto oom;
            p->steps[step_idx].scratch_slot = sl;
        }

        const opdef *d = opdef_find(n->domain, n->op);
        for (int32_t k = 0; k < n->n_outputs; k++) {
            int32_t v = n->outputs[k];
            out_slot[k] = -1;
            if (v < 0) continue;
            const ir_value *val = &g->values[v];
            int is_out = (val->flags & IR_VALUE_OUTPUT) != 0;
            int32_t sl = add_slot(&b, v, kind, value_bytes(val), step_idx, is_out && kind == 0);
            if (sl < 0) goto oom;
            out_slot[k] = sl;
            /* in place: output 0 over input 0 when input 0 dies here */
            int32_t in0 = n->n_inputs > 0 ? n->inputs[0] : -1;
            if (k == 0 && !is_out && d && (d->flags & OPDEF_INPLACE) && in0 >= 0 && in_slot[0] >= 0 &&
                last_use[in0] == i && !p->slots[in_slot[0]].external &&
                p->slots[in_slot[0]].bytes == p->slots[sl].bytes && !(g->values[in0].flags & IR_VALUE_OUTPUT)) {
                int only_once = 1;
                for (int32_t j = 1; j < n->n_inputs; j++) only_once &= n->inputs[j] != in0;
                if (only_once) p->slots[sl].alias = in_slot[0];
            }
            if (is_out && kind != 0) {
                /* add_step may move the step table */
                /* device result: copy to a host output buffer right away */
                int32_t cidx = p->n_steps;
                int32_t hs = add_slot(&b, v, 0, value_bytes(val), cidx, 1);
                sess_step *cp = hs < 0 ? NULL : add_step(&b);
                if (!cp) goto oom;
                cp->kind = STEP_COPY;
                cp->src_slot = sl;
                cp->dst_slot = hs;
                p->slots[sl].last = cidx;
            }
        }
    }
    /* graph outputs: where their host copy lives */
    p->out_slot = malloc(sizeof(int32_t) * ((size_t)g->n_outputs + 1));
    if (!p->out_slot) goto oom;
    for (int32_t k = 0; k < g->n_outputs; k++) p->out_slot[k] = b.vslot[(size_t)g->outputs[k] * (size_t)b.n_kinds];
    /* external host output buffers */
    for (int32_t i = 0; i < p->n_slots; i++) {
        plan_slot *sl = &p->slots[i];
        if (!sl->external || sl->first < 0) continue;
        p->slot_ext[i] = malloc(sl->bytes ? sl->bytes : 1);
        if (!p->slot_ext[i]) goto oom;
    }
    free(b.vslot);
    free(last_use);
    return SEMSEG_STATUS_OK;
oom:
    free(b.vslot);
    free(last_use);
    snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory while planning");
    return SEMSEG_STATUS_NO_MEMORY;
}

static host_plugin *kind_plugin(semseg_session *s, int32_t kind)
{
    for (int k = 0; k < s->host.n_order; k++) {
        host_plugin *p = &s->host.all[s->host.order[k]];
        if (p->mem_kind == kind) return p;
    }
    return NULL;
}

static semseg_status alloc_arenas(semseg_session *s, char *err)
{
    sess_prepared *p = s->prep;
    int32_t nk = s->host.n_kinds;
    p->arena = calloc((size_t)nk, sizeof *p->arena);
    p->arena_bytes = calloc((size_t)nk, sizeof *p->arena_bytes);
    if (!p->arena || !p->arena_bytes || plan_assign(p->slots, p->n_slots, nk, p->arena_bytes)) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory while planning");
        return SEMSEG_STATUS_NO_MEMORY;
    }
    p->peak = 0;
    for (int32_t k = 0; k < nk; k++) {
        p->peak += p->arena_bytes[k];
        if (p->arena_bytes[k] == 0) continue;
        if (k == 0) {
            p->arena[k] = aligned_alloc(PLAN_ALIGN, p->arena_bytes[k]);
        } else {
            host_plugin *pl = kind_plugin(s, k);
            p->arena[k] = pl ? pl->api->mem_alloc(pl->ctx, p->arena_bytes[k]) : NULL;
        }
        if (!p->arena[k]) {
            snprintf(err, SEMSEG_ERRMSG_SIZE, "cannot allocate %zu bytes of activations in memory kind %d",
                     p->arena_bytes[k], k);
            return SEMSEG_STATUS_NO_MEMORY;
        }
    }
    return SEMSEG_STATUS_OK;
}

void sess_unprepare(semseg_session *s)
{
    sess_prepared *p = s->prep;
    if (!p) return;
    for (int32_t i = 0; i < p->n_steps; i++) {
        sess_step *st = &p->steps[i];
        if (st->kernel) s->host.all[st->plugin].api->kernel_destroy(st->kernel);
        free(st->in_slot);
        free(st->out_slot);
        free(st->tin);
        free(st->tout);
    }
    for (int32_t i = 0; i < p->n_slots; i++)
        if (p->slots[i].external && p->slots[i].first >= 0) free(p->slot_ext[i]);
    if (p->arena) {
        for (int32_t k = 0; k < s->host.n_kinds; k++) {
            if (!p->arena[k]) continue;
            if (k == 0) free(p->arena[k]);
            else {
                host_plugin *pl = kind_plugin(s, k);
                if (pl) pl->api->mem_free(pl->ctx, p->arena[k]);
            }
        }
    }
    free(p->arena);
    free(p->arena_bytes);
    free(p->steps);
    free(p->slots);
    free(p->slot_ext);
    free(p->out_slot);
    free(p->frozen);
    ir_free(p->g);
    free(p);
    s->prep = NULL;
    s->ran = 0;
}

semseg_status sess_prepare(semseg_session *s, semseg_error *err)
{
    char msg[SEMSEG_ERRMSG_SIZE] = "";
    sess_unprepare(s);
    sess_prepared *p = calloc(1, sizeof *p);
    if (!p) return sess_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory");
    s->prep = p;
    ir_graph *g = p->g = ir_clone(s->model);
    if (!g) {
        sess_unprepare(s);
        return sess_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory");
    }
    for (int32_t k = 0; k < g->n_inputs; k++) {
        ir_value *v = &g->values[g->inputs[k]];
        const sess_input *in = &s->inputs[k];
        if (in->dims_set) {
            v->rank = in->rank;
            memcpy(v->dims, in->dims, sizeof(int64_t) * (size_t)in->rank);
        }
        for (int32_t r = 0; r < v->rank; r++) {
            if (v->dims[r] < 0) {
                /* the message names v, which dies with the prepared graph: write it first */
                semseg_status fst = sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT,
                                 "input '%s' has a symbolic dim %d ('%s'): give its size (e.g. --input-size HxW)",
                                 v->name, r, v->dim_param[r] ? v->dim_param[r] : "?");
                sess_unprepare(s);
                return fst;
            }
        }
        if (v->rank < 0 || v->dtype == SEMSEG_DTYPE_UNDEFINED) {
            semseg_status fst = sess_fail(err, SEMSEG_STATUS_MODEL,
                                          "input '%s' has no tensor type or shape in the model", v->name);
            sess_unprepare(s);
            return fst;
        }
    }
    p->frozen = calloc((size_t)g->n_inputs + 1, 1);
    if (!p->frozen) {
        sess_unprepare(s);
        return sess_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory");
    }
    for (int32_t k = 0; k < g->n_inputs; k++) {
        if (!sess_input_freezable(s, k) || !s->inputs[k].data_set) continue;
        ir_value *v = &g->values[g->inputs[k]];
        if (ir_value_set_const(g, v, v->dtype, v->rank, v->dims, s->inputs[k].data)) {
            sess_unprepare(s);
            return sess_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory");
        }
        p->frozen[k] = 1;
    }
    semseg_status st;
    passes_remove_identity(g);
    st = passes_infer_fold(g, &s->host.all[s->host.ref], s->opts.max_tensor_elements, msg);
    if (st == SEMSEG_STATUS_OK && s->opts.optimize) st = passes_fold_batchnorm(g, msg);
    if (st == SEMSEG_STATUS_OK && s->opts.optimize) passes_fuse_hardswish(g);
    if (st == SEMSEG_STATUS_OK) st = ir_toposort(g, msg, sizeof msg);
    if (st == SEMSEG_STATUS_OK && s->opts.optimize) passes_mark_fusion(g);
    if (st == SEMSEG_STATUS_OK) st = resolve(s, g, msg);
    if (st == SEMSEG_STATUS_OK) st = ir_toposort(g, msg, sizeof msg);
    if (st == SEMSEG_STATUS_OK) st = build_plan(s, msg);
    if (st == SEMSEG_STATUS_OK) st = alloc_arenas(s, msg);
    if (st != SEMSEG_STATUS_OK) {
        sess_unprepare(s);
        return sess_fail(err, st, "%s", msg);
    }
    return SEMSEG_STATUS_OK;
}

/* ---- running ---- */

static void slot_tensor(const semseg_session *s, int32_t slot, const ir_value *v, semseg_tensor *t)
{
    const sess_prepared *p = s->prep;
    const plan_slot *sl = &p->slots[slot];
    if (sl->external) {
        *t = (semseg_tensor){ p->slot_ext[slot], 0, v->dtype, v->rank, v->dims, 1 };
    } else {
        *t = (semseg_tensor){ p->arena[sl->kind], sl->offset, v->dtype, v->rank, v->dims, sl->kind == 0 };
    }
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static semseg_status run_copy(semseg_session *s, const sess_step *st, char *msg)
{
    sess_prepared *p = s->prep;
    const plan_slot *src = &p->slots[st->src_slot], *dst = &p->slots[st->dst_slot];
    size_t bytes = src->bytes;
    void *sp = src->external ? p->slot_ext[st->src_slot] : NULL;
    void *dp = dst->external ? p->slot_ext[st->dst_slot] : NULL;
    if (src->kind == 0 && !sp) sp = (char *)p->arena[0] + src->offset;
    if (dst->kind == 0 && !dp) dp = (char *)p->arena[0] + dst->offset;
    if (src->kind == 0 && dst->kind == 0) {
        memcpy(dp, sp, bytes);
        return SEMSEG_STATUS_OK;
    }
    if (src->kind == 0) {
        host_plugin *pl = kind_plugin(s, dst->kind);
        return pl->api->mem_write(pl->ctx, p->arena[dst->kind], dst->offset, sp, bytes, msg);
    }
    host_plugin *from = kind_plugin(s, src->kind);
    if (dst->kind == 0) return from->api->mem_read(from->ctx, p->arena[src->kind], src->offset, dp, bytes, msg);
    /* between two devices: through the host */
    void *tmp = malloc(bytes ? bytes : 1);
    if (!tmp) {
        snprintf(msg, SEMSEG_ERRMSG_SIZE, "out of memory");
        return SEMSEG_STATUS_NO_MEMORY;
    }
    host_plugin *to = kind_plugin(s, dst->kind);
    semseg_status rs = from->api->mem_read(from->ctx, p->arena[src->kind], src->offset, tmp, bytes, msg);
    if (rs == SEMSEG_STATUS_OK) rs = to->api->mem_write(to->ctx, p->arena[dst->kind], dst->offset, tmp, bytes, msg);
    free(tmp);
    return rs;
}

semseg_status sess_execute(semseg_session *s, semseg_error *err)
{
    sess_prepared *p = s->prep;
    const ir_graph *g = p->g;
    for (int32_t k = 0; k < g->n_inputs; k++) p->slot_ext[k] = s->inputs[k].data;
    char msg[SEMSEG_ERRMSG_SIZE] = "";
    for (int32_t i = 0; i < p->n_steps; i++) {
        sess_step *st = &p->steps[i];
        double t0 = s->opts.profile ? now_ms() : 0;
        semseg_status rs;
        if (st->kind == STEP_COPY) {
            rs = run_copy(s, st, msg);
            if (rs != SEMSEG_STATUS_OK)
                return sess_fail(err, rs, "copying '%s' between memories: %s",
                                 g->values[p->slots[st->src_slot].value].name, msg);
        } else {
            const ir_node *n = &g->nodes[st->node];
            host_plugin *pl = &s->host.all[st->plugin];
            for (int32_t k = 0; k < st->n_in; k++) {
                int32_t v = n->inputs[k];
                if (st->in_slot[k] == -1) {
                    st->tin[k] = (semseg_tensor){ NULL, 0, SEMSEG_DTYPE_UNDEFINED, 0, NULL, 1 };
                } else if (st->in_slot[k] == -2) {
                    const ir_value *cv = &g->values[v];
                    st->tin[k] = (semseg_tensor){ cv->data, 0, cv->dtype, cv->rank, cv->dims, 1 };
                } else {
                    slot_tensor(s, st->in_slot[k], &g->values[v], &st->tin[k]);
                }
            }
            for (int32_t k = 0; k < st->n_out; k++) {
                if (st->out_slot[k] < 0) st->tout[k] = (semseg_tensor){ NULL, 0, SEMSEG_DTYPE_UNDEFINED, 0, NULL, 1 };
                else slot_tensor(s, st->out_slot[k], &g->values[n->outputs[k]], &st->tout[k]);
            }
            semseg_tensor scratch = { NULL, 0, SEMSEG_DTYPE_UINT8, 1, st->scratch_dims, pl->mem_kind == 0 };
            if (st->scratch_slot >= 0) {
                const plan_slot *sl = &p->slots[st->scratch_slot];
                scratch.buffer = p->arena[sl->kind];
                scratch.offset = sl->offset;
            }
            msg[0] = '\0';
            rs = pl->api->kernel_run(st->kernel, st->tin, st->n_in, st->tout, st->n_out, &scratch, msg);
            if (rs != SEMSEG_STATUS_OK)
                return sess_fail(err, rs, "node '%s' (%s) on %s failed: %s", n->name, n->op, pl->api->name,
                                 msg[0] ? msg : semseg_status_name(rs));
            if (s->opts.profile && pl->mem_kind != 0 && pl->api->synchronize) pl->api->synchronize(pl->ctx, msg);
        }
        if (s->opts.profile) st->last_ms = now_ms() - t0;
    }
    for (int k = 0; k < s->host.n_order; k++) {
        host_plugin *pl = &s->host.all[s->host.order[k]];
        if (pl->mem_kind != 0 && pl->api->synchronize) {
            semseg_status rs = pl->api->synchronize(pl->ctx, msg);
            if (rs != SEMSEG_STATUS_OK) return sess_fail(err, rs, "%s: %s", pl->api->name, msg);
        }
    }
    s->ran = 1;
    return SEMSEG_STATUS_OK;
}
