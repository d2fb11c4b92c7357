/*
 * The plugin test harness (see harness.h): loading plugins through their one
 * exported symbol, and the node builder.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

semseg_status plug_open(plug *pl, const char *path, int threads, char *err)
{
    memset(pl, 0, sizeof *pl);
    pl->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!pl->dl) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "dlopen %s: %s", path, dlerror());
        return SEMSEG_STATUS_PLUGIN;
    }
    semseg_plugin_entry_fn entry;
    *(void **)&entry = dlsym(pl->dl, SEMSEG_PLUGIN_ENTRY);
    if (!entry || !(pl->p = entry()) || pl->p->abi_major != SEMSEG_PLUGIN_ABI_MAJOR) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "%s: no usable %s", path, SEMSEG_PLUGIN_ENTRY);
        dlclose(pl->dl);
        pl->dl = NULL;
        return SEMSEG_STATUS_PLUGIN;
    }
    semseg_plugin_config cfg = {sizeof cfg, threads, path};
    err[0] = '\0';
    semseg_status st = pl->p->init(&cfg, &pl->ctx, err);
    if (st) {
        dlclose(pl->dl);
        pl->dl = NULL;
    }
    return st;
}

void plug_close(plug *pl)
{
    if (pl->ctx) pl->p->shutdown(pl->ctx);
    if (pl->dl) dlclose(pl->dl);
    memset(pl, 0, sizeof *pl);
}

float test_rand(float lo, float hi)
{
    static uint64_t s = 0x9e3779b97f4a7c15ull; /* test-only; single-threaded */
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((s >> 40) & 0xffffff) / (float)0xffffff;
}

void nb_init(node_b *b, const char *domain, const char *op, int opset, const char *name)
{
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    b->n.name = b->name;
    b->n.domain = domain;
    b->n.op = op;
    b->n.opset = opset;
    b->n.inputs = b->in;
    b->n.outputs = b->out;
    b->n.attrs = b->attrs;
}

void nb_free(node_b *b)
{
    for (int i = 0; i < NB_MAX_IN; i++) free(b->data[i]);
    memset(b, 0, sizeof *b);
}

static int add_input(node_b *b, int32_t dtype, int rank, const int64_t *dims)
{
    int i = b->n.n_inputs++;
    semseg_value_info *v = &b->in[i];
    for (int d = 0; d < rank; d++) b->in_dims[i][d] = dims[d];
    v->name = "x";
    v->dtype = dtype;
    v->rank = rank;
    v->dims = b->in_dims[i];
    return i;
}

int nb_input(node_b *b, int rank, const int64_t *dims, float lo, float hi, int is_const)
{
    int i = add_input(b, SEMSEG_DTYPE_FLOAT, rank, dims);
    int64_t n = semseg_numel(rank, dims);
    float *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    if (!d) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (int64_t k = 0; k < n; k++) d[k] = test_rand(lo, hi);
    b->data[i] = d;
    if (is_const) b->in[i].data = d;
    return i;
}

int nb_input_const(node_b *b, int32_t dtype, int rank, const int64_t *dims, const void *data)
{
    int i = add_input(b, dtype, rank, dims);
    size_t bytes = (size_t)semseg_numel(rank, dims) * semseg_dtype_size(dtype);
    b->data[i] = malloc(bytes ? bytes : 1);
    if (!b->data[i]) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memcpy(b->data[i], data, bytes);
    b->in[i].data = b->data[i];
    return i;
}

int nb_input_absent(node_b *b)
{
    int i = add_input(b, SEMSEG_DTYPE_UNDEFINED, 0, NULL);
    b->in[i].name = "";
    return i;
}

void nb_output(node_b *b, int32_t dtype, int rank, const int64_t *dims)
{
    int i = b->n.n_outputs++;
    for (int d = 0; d < rank; d++) b->out_dims[i][d] = dims[d];
    b->out[i].name = "y";
    b->out[i].dtype = dtype;
    b->out[i].rank = rank;
    b->out[i].dims = b->out_dims[i];
}

static semseg_attr *add_attr(node_b *b, const char *name, int32_t type)
{
    semseg_attr *a = &b->attrs[b->n.n_attrs++];
    a->name = name;
    a->type = type;
    return a;
}

void nb_attr_int(node_b *b, const char *name, int64_t v)
{
    add_attr(b, name, SEMSEG_ATTR_INT)->i = v;
}

void nb_attr_ints(node_b *b, const char *name, int n, const int64_t *v)
{
    int k = b->n.n_attrs;
    semseg_attr *a = add_attr(b, name, SEMSEG_ATTR_INTS);
    memcpy(b->attr_ints[k], v, (size_t)n * sizeof *v);
    a->n = n;
    a->ints = b->attr_ints[k];
}

void nb_attr_float(node_b *b, const char *name, float v)
{
    add_attr(b, name, SEMSEG_ATTR_FLOAT)->f = v;
}

void nb_attr_floats(node_b *b, const char *name, int n, const float *v)
{
    int k = b->n.n_attrs;
    semseg_attr *a = add_attr(b, name, SEMSEG_ATTR_FLOATS);
    memcpy(b->attr_floats[k], v, (size_t)n * sizeof *v);
    a->n = n;
    a->floats = b->attr_floats[k];
}

void nb_attr_string(node_b *b, const char *name, const char *v)
{
    add_attr(b, name, SEMSEG_ATTR_STRING)->s = v;
}

void nb_epilogue(node_b *b, int act, float lo, float hi, int residual)
{
    b->epi.act = act;
    b->epi.act_min = lo;
    b->epi.act_max = hi;
    b->epi.residual = residual;
    b->n.epilogue = &b->epi;
}

float *nb_fdata(node_b *b, int i)
{
    return b->data[i];
}
