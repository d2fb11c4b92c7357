/*
 * oot_relu: the smallest useful semseg-onnx backend, as a third party would
 * write it with nothing but <semseg/plugin.h>. It claims Relu on float32 host
 * tensors and nothing else, so every other node of a model falls through to
 * the next plugin in the priority list (ref). The out-of-tree plugin test
 * checks exactly that through `semseg-onnx info`.
 */
#include <stdio.h>
#include <stdlib.h>

#include <semseg/plugin.h>

struct semseg_kernel {
    int64_t count;   /* elements, known at load time */
};

static semseg_status oot_init(const semseg_plugin_config *cfg, void **ctx, char *err)
{
    (void)cfg;
    (void)err;
    *ctx = NULL; /* nothing to keep: no devices, no global state */
    return SEMSEG_STATUS_OK;
}

static void oot_shutdown(void *ctx)
{
    (void)ctx;
}

static void oot_describe(void *ctx, char *buf, size_t size)
{
    (void)ctx;
    snprintf(buf, size, "out-of-tree example: Relu on host float32");
}

static semseg_support oot_supports(void *ctx, const semseg_node_info *n)
{
    (void)ctx;
    if (n->domain[0] != '\0' || strcmp(n->op, "Relu") != 0) return SEMSEG_SUPPORT_NO;
    if (n->n_inputs != 1 || n->n_outputs != 1) return SEMSEG_SUPPORT_NO;
    if (n->inputs[0].dtype != SEMSEG_DTYPE_FLOAT) return SEMSEG_SUPPORT_NO;
    return SEMSEG_SUPPORT_YES;
}

static semseg_status oot_kernel_create(void *ctx, const semseg_node_info *n, semseg_kernel **kernel,
                                       size_t *scratch_bytes, char *err)
{
    (void)ctx;
    (void)scratch_bytes;
    semseg_kernel *k = malloc(sizeof(*k));
    if (!k) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "oot_relu: out of memory creating node '%s'", n->name);
        return SEMSEG_STATUS_NO_MEMORY;
    }
    k->count = semseg_numel(n->inputs[0].rank, n->inputs[0].dims);
    *kernel = k;
    return SEMSEG_STATUS_OK;
}

static semseg_status oot_kernel_run(semseg_kernel *k, const semseg_tensor *in, int32_t n_in,
                                    const semseg_tensor *out, int32_t n_out, const semseg_tensor *scratch,
                                    char *err)
{
    (void)n_in;
    (void)n_out;
    (void)scratch;
    (void)err;
    const float *x = semseg_tensor_data(&in[0]);
    float *y = semseg_tensor_data(&out[0]);
    for (int64_t i = 0; i < k->count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return SEMSEG_STATUS_OK;
}

static void oot_kernel_destroy(semseg_kernel *k)
{
    free(k);
}

static const semseg_plugin_i oot_plugin = {
    /* .abi_major      = */ SEMSEG_PLUGIN_ABI_MAJOR,
    /* .abi_minor      = */ SEMSEG_PLUGIN_ABI_MINOR,
    /* .struct_size    = */ sizeof(semseg_plugin_i),
    /* .name           = */ "oot_relu",
    /* .version        = */ "1.0",
    /* .description    = */ "out-of-tree example plugin (Relu only)",
    /* .init           = */ oot_init,
    /* .shutdown       = */ oot_shutdown,
    /* .describe       = */ oot_describe,
    /* .supports       = */ oot_supports,
    /* .kernel_create  = */ oot_kernel_create,
    /* .kernel_run     = */ oot_kernel_run,
    /* .kernel_destroy = */ oot_kernel_destroy,
    /* .mem_alloc      = */ NULL,
    /* .mem_free       = */ NULL,
    /* .mem_write      = */ NULL,
    /* .mem_read       = */ NULL,
    /* .synchronize    = */ NULL,
};

SEMSEG_PLUGIN_EXPORT const semseg_plugin_i *semseg_plugin_entry(void)
{
    return &oot_plugin;
}
