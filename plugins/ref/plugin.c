/*
 * The `ref` plugin: every operator in plain C, the definition of right. This
 * file is the plugin table; each operator lives in its own file and is listed
 * in ops_nn.c, ops_tensor.c or ops_semseg.c. ref works on host memory, takes
 * every node whose op it knows (the op's own supports() may refuse dtypes) and
 * never fuses, so it also serves the runtime's constant folding.
 */
#include <string.h>

#include "ref.h"

struct semseg_kernel {
    const ref_op *op;
    void *state;
};

typedef struct ref_ctx {
    int threads;
} ref_ctx;

static int default_domain(const char *d)
{
    return d[0] == '\0' || strcmp(d, "ai.onnx") == 0;
}

static const ref_op *find_op(const semseg_node_info *n)
{
    const ref_op *const *tables[] = { ref_ops_nn, ref_ops_tensor, ref_ops_semseg };
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        for (const ref_op *const *o = tables[t]; *o; o++) {
            int same = default_domain(n->domain) ? default_domain((*o)->domain) : strcmp(n->domain, (*o)->domain) == 0;
            if (same && strcmp(n->op, (*o)->op) == 0) return *o;
        }
    }
    return NULL;
}

static semseg_status ref_init(const semseg_plugin_config *cfg, void **ctx, char *err)
{
    ref_ctx *c = calloc(1, sizeof *c);
    if (!c) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory");
    c->threads = cfg->threads > 0 ? cfg->threads : 1;
    *ctx = c;
    return SEMSEG_STATUS_OK;
}

static void ref_shutdown(void *ctx)
{
    free(ctx);
}

static void ref_describe(void *ctx, char *buf, size_t size)
{
    (void)ctx;
    snprintf(buf, size, "plain C on the host, every supported operator");
}

static semseg_support ref_supports(void *ctx, const semseg_node_info *n)
{
    (void)ctx;
    const ref_op *op = find_op(n);
    if (!op) return SEMSEG_SUPPORT_NO;
    if (op->supports && !op->supports(n)) return SEMSEG_SUPPORT_NO;
    return SEMSEG_SUPPORT_YES;
}

static semseg_status ref_kernel_create(void *ctx, const semseg_node_info *n, semseg_kernel **out,
                                       size_t *scratch_bytes, char *err)
{
    const ref_ctx *c = ctx;
    (void)scratch_bytes;
    const ref_op *op = find_op(n);
    if (!op) return ref_fail(err, SEMSEG_STATUS_UNSUPPORTED, "ref has no op '%s'", n->op);
    semseg_kernel *k = calloc(1, sizeof *k);
    if (!k) return ref_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory");
    k->op = op;
    semseg_status st = op->create ? op->create(n, &k->state, err) : SEMSEG_STATUS_OK;
    if (st != SEMSEG_STATUS_OK) {
        free(k);
        return st;
    }
    for (const ref_threaded *t = ref_threaded_ops; t->op; t++)
        if (t->op == op && k->state) t->set_threads(k->state, c->threads);
    *out = k;
    return SEMSEG_STATUS_OK;
}

static semseg_status ref_kernel_run(semseg_kernel *k, const semseg_tensor *in, int32_t n_in,
                                    const semseg_tensor *out, int32_t n_out, const semseg_tensor *scratch,
                                    char *err)
{
    (void)scratch;
    return k->op->run(k->state, in, n_in, out, n_out, err);
}

static void ref_kernel_destroy(semseg_kernel *k)
{
    if (!k) return;
    if (k->op->destroy) k->op->destroy(k->state);
    else free(k->state);
    free(k);
}

static const semseg_plugin_i ref_plugin = {
    /* .abi_major      = */ SEMSEG_PLUGIN_ABI_MAJOR,
    /* .abi_minor      = */ SEMSEG_PLUGIN_ABI_MINOR,
    /* .struct_size    = */ sizeof(semseg_plugin_i),
    /* .name           = */ "ref",
    /* .version        = */ "0.1.0",
    /* .description    = */ "reference operators in plain C",
    /* .init           = */ ref_init,
    /* .shutdown       = */ ref_shutdown,
    /* .describe       = */ ref_describe,
    /* .supports       = */ ref_supports,
    /* .kernel_create  = */ ref_kernel_create,
    /* .kernel_run     = */ ref_kernel_run,
    /* .kernel_destroy = */ ref_kernel_destroy,
    /* .mem_alloc      = */ NULL,
    /* .mem_free       = */ NULL,
    /* .mem_write      = */ NULL,
    /* .mem_read       = */ NULL,
    /* .synchronize    = */ NULL,
};

SEMSEG_PLUGIN_EXPORT const semseg_plugin_i *semseg_plugin_entry(void)
{
    return &ref_plugin;
}
