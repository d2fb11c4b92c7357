/*
 * The opencl plugin's ABI table: device choice, the per-node dispatch to the
 * operator files, and device memory (one cl_mem per host allocation).
 *
 * Device choice: $SEMSEG_OPENCL_DEVICE=<platform>:<device> (indices as
 * `clinfo -l` and describe() list them) if set, else the first GPU of any
 * platform, else the first device of the first platform that has one. No
 * platform at all (no ICD, or an empty vendor directory) makes init() answer
 * SEMSEG_STATUS_UNUSABLE in one line so the host falls through to the next
 * backend. On a CPU device the user's thread count is honoured by carving a
 * sub-device of that many compute units when the driver can.
 *
 * Every kernel gets its constant inputs uploaded once at create time (or packs
 * them itself, see ocl_op.own_consts); at run the host's copies of those
 * constants are ignored. All work goes to one in-order queue; mem_read blocks,
 * which is where the host waits for results.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"

#ifndef SEMSEG_OPENCL_VERSION
#define SEMSEG_OPENCL_VERSION "0"
#endif

static const ocl_op *const *op_tables(void)
{
    static const ocl_op *const tables[] = {
        ocl_ops_conv, ocl_ops_conv_transpose, ocl_ops_resize, ocl_ops_pool,
        ocl_ops_batchnorm, ocl_ops_eltwise, ocl_ops_concat, ocl_ops_softmax,
        ocl_ops_argmax, ocl_ops_adaptive_avgpool, NULL};
    return tables;
}

static const ocl_op *op_find(const char *domain, const char *op)
{
    if (!domain || strcmp(domain, "ai.onnx") == 0) domain = "";
    for (const ocl_op *const *t = op_tables(); *t; t++)
        for (const ocl_op *o = *t; o->op; o++)
            if (strcmp(o->domain, domain) == 0 && strcmp(o->op, op) == 0) return o;
    return NULL;
}

static const ocl_op_scratch *op_scratch(const ocl_op *op)
{
    for (const ocl_op_scratch *x = ocl_ops_with_scratch; x->op; x++)
        if (x->op == op) return x;
    return NULL;
}

/* ---- device choice ---- */

#define MAX_PLATFORMS 16
#define MAX_DEVICES 32

static int device_list(cl_platform_id p, cl_device_type type, cl_device_id *ids, cl_uint *n)
{
    *n = 0;
    if (clGetDeviceIDs(p, type, MAX_DEVICES, ids, n) != CL_SUCCESS) *n = 0;
    if (*n > MAX_DEVICES) *n = MAX_DEVICES;
    return *n > 0;
}

/* Parses "<platform>:<device>"; 0 on a malformed value. */
static int parse_device_env(const char *s, unsigned *p, unsigned *d)
{
    char *end;
    unsigned long a = strtoul(s, &end, 10);
    if (end == s || *end != ':') return 0;
    const char *s2 = end + 1;
    unsigned long b = strtoul(s2, &end, 10);
    if (end == s2 || *end != '\0') return 0;
    *p = (unsigned)a;
    *d = (unsigned)b;
    return 1;
}

static semseg_status choose_device(ocl_ctx *c, char *err)
{
    cl_platform_id plats[MAX_PLATFORMS];
    cl_uint np = 0;
    cl_int rc = clGetPlatformIDs(MAX_PLATFORMS, plats, &np);
    if (rc != CL_SUCCESS || np == 0)
        return ocl_fail(err, SEMSEG_STATUS_UNUSABLE,
                        "opencl: no OpenCL platform found (clGetPlatformIDs: %s); "
                        "install an ICD such as pocl-opencl-icd",
                        rc == CL_SUCCESS ? "0 platforms" : ocl_error_name(rc));
    if (np > MAX_PLATFORMS) np = MAX_PLATFORMS;
    cl_device_id ids[MAX_DEVICES];
    cl_uint nd;
    const char *env = getenv("SEMSEG_OPENCL_DEVICE");
    if (env && *env) {
        unsigned pi, di;
        if (!parse_device_env(env, &pi, &di))
            return ocl_fail(err, SEMSEG_STATUS_UNUSABLE,
                            "opencl: SEMSEG_OPENCL_DEVICE='%s' is not <platform>:<device>", env);
        if (pi >= np || !device_list(plats[pi], CL_DEVICE_TYPE_ALL, ids, &nd) || di >= nd)
            return ocl_fail(err, SEMSEG_STATUS_UNUSABLE,
                            "opencl: SEMSEG_OPENCL_DEVICE=%s names no device "
                            "(%u platform(s); see `semseg-onnx plugins`)", env, (unsigned)np);
        c->platform = plats[pi];
        c->device = ids[di];
        c->platform_index = pi;
        c->device_index = di;
        return SEMSEG_STATUS_OK;
    }
    /* First GPU anywhere; indices are positions in the CL_DEVICE_TYPE_ALL list. */
    for (int pass = 0; pass < 2; pass++) {
        for (cl_uint pi = 0; pi < np; pi++) {
            if (!device_list(plats[pi], CL_DEVICE_TYPE_ALL, ids, &nd)) continue;
            for (cl_uint di = 0; di < nd; di++) {
                cl_device_type t = 0;
                clGetDeviceInfo(ids[di], CL_DEVICE_TYPE, sizeof t, &t, NULL);
                if (pass == 0 && !(t & CL_DEVICE_TYPE_GPU)) continue;
                c->platform = plats[pi];
                c->device = ids[di];
                c->platform_index = pi;
                c->device_index = di;
                return SEMSEG_STATUS_OK;
            }
        }
    }
    return ocl_fail(err, SEMSEG_STATUS_UNUSABLE,
                    "opencl: %u OpenCL platform(s) but no device", (unsigned)np);
}

static void device_strings(ocl_ctx *c)
{
    clGetPlatformInfo(c->platform, CL_PLATFORM_NAME, sizeof c->platform_name, c->platform_name, NULL);
    clGetDeviceInfo(c->device, CL_DEVICE_NAME, sizeof c->device_name, c->device_name, NULL);
    clGetDeviceInfo(c->device, CL_DEVICE_VERSION, sizeof c->device_version, c->device_version, NULL);
    clGetDeviceInfo(c->device, CL_DRIVER_VERSION, sizeof c->driver_version, c->driver_version, NULL);
    c->platform_name[sizeof c->platform_name - 1] = '\0';
    c->device_name[sizeof c->device_name - 1] = '\0';
    c->device_version[sizeof c->device_version - 1] = '\0';
    c->driver_version[sizeof c->driver_version - 1] = '\0';
    cl_device_type t = 0;
    clGetDeviceInfo(c->device, CL_DEVICE_TYPE, sizeof t, &t, NULL);
    c->is_gpu = (t & CL_DEVICE_TYPE_GPU) != 0;
    clGetDeviceInfo(c->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof c->compute_units,
                    &c->compute_units, NULL);
    clGetDeviceInfo(c->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof c->max_work_group,
                    &c->max_work_group, NULL);
    clGetDeviceInfo(c->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof c->local_mem, &c->local_mem, NULL);
    if (c->compute_units == 0) c->compute_units = 1;
    if (c->max_work_group == 0) c->max_work_group = 1;
}

/* A CPU device with more compute units than the user wants threads: use a
 * sub-device of `threads` units, so the thread count means the same as for
 * the host backends. Silently keeps the whole device if the driver says no. */
static void limit_threads(ocl_ctx *c, int threads)
{
    if (c->is_gpu || threads < 1 || (cl_uint)threads >= c->compute_units) return;
    cl_device_partition_property props[] = {CL_DEVICE_PARTITION_BY_COUNTS, threads,
                                            CL_DEVICE_PARTITION_BY_COUNTS_LIST_END, 0};
    cl_device_id sub;
    cl_uint n = 0;
    if (clCreateSubDevices(c->device, props, 1, &sub, &n) == CL_SUCCESS && n == 1) {
        c->device = sub;
        c->sub_device = 1;
        c->compute_units = (cl_uint)threads;
    }
}

static semseg_status ocl_init(const semseg_plugin_config *cfg, void **out, char *err)
{
    *out = NULL;
    ocl_ctx *c = calloc(1, sizeof *c);
    if (!c) return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: out of memory for the context");
    semseg_status st = choose_device(c, err);
    if (st) {
        free(c);
        return st;
    }
    device_strings(c);
    if (cfg && cfg->struct_size >= offsetof(semseg_plugin_config, threads) + sizeof(int32_t))
        limit_threads(c, cfg->threads);
    cl_int rc;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)c->platform, 0};
    c->context = clCreateContext(props, 1, &c->device, NULL, NULL, &rc);
    if (rc != CL_SUCCESS) {
        st = ocl_check(rc, "clCreateContext", c->device_name, err);
        if (c->sub_device) clReleaseDevice(c->device);
        free(c);
        return st == SEMSEG_STATUS_NO_MEMORY ? st : SEMSEG_STATUS_UNUSABLE;
    }
    c->queue = clCreateCommandQueue(c->context, c->device, 0, &rc);
    if (rc != CL_SUCCESS) {
        st = ocl_check(rc, "clCreateCommandQueue", c->device_name, err);
        clReleaseContext(c->context);
        if (c->sub_device) clReleaseDevice(c->device);
        free(c);
        return st == SEMSEG_STATUS_NO_MEMORY ? st : SEMSEG_STATUS_UNUSABLE;
    }
    ocl_cache_dir_init(c);
    *out = c;
    return SEMSEG_STATUS_OK;
}

static void ocl_shutdown(void *ctx)
{
    ocl_ctx *c = ctx;
    if (!c) return;
    clFinish(c->queue);
    /* Opt-in, for tests and docs/opencl.md: what building programs cost. */
    const char *verbose = getenv("SEMSEG_OPENCL_VERBOSE");
    if (verbose && *verbose && strcmp(verbose, "0") != 0)
        fprintf(stderr, "opencl: programs: %d compiled, %d from cache, %.0f ms\n",
                c->built_from_source, c->loaded_from_cache, c->build_ms);
    ocl_programs_release(c);
    clReleaseCommandQueue(c->queue);
    clReleaseContext(c->context);
    /* A sub-device is deliberately not released. PoCL 3.1's pthread driver
     * still touches it from a worker thread after clFinish has returned, so
     * releasing it crashed that worker (POclReleaseEvent) in about 1 of 100
     * processes that made contexts one after another under load; kept, 0 in
     * 300 (docs/opencl.md). What stays is one device object per context. */
    free(c);
}

/* Appends to buf what snprintf would print, keeping it NUL-terminated. */
static void append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, size - len, fmt, ap);
    va_end(ap);
}

static void ocl_describe(void *ctx, char *buf, size_t size)
{
    ocl_ctx *c = ctx;
    if (!size) return;
    snprintf(buf, size, "%u:%u %s (%s, %s, %u compute units, driver %s); devices:",
             c->platform_index, c->device_index, c->device_name, c->platform_name,
             c->is_gpu ? "GPU" : "not a GPU", (unsigned)c->compute_units, c->driver_version);
    cl_platform_id plats[MAX_PLATFORMS];
    cl_uint np = 0;
    if (clGetPlatformIDs(MAX_PLATFORMS, plats, &np) != CL_SUCCESS) np = 0;
    if (np > MAX_PLATFORMS) np = MAX_PLATFORMS;
    for (cl_uint pi = 0; pi < np; pi++) {
        cl_device_id ids[MAX_DEVICES];
        cl_uint nd;
        if (!device_list(plats[pi], CL_DEVICE_TYPE_ALL, ids, &nd)) continue;
        for (cl_uint di = 0; di < nd; di++) {
            char name[128] = "";
            clGetDeviceInfo(ids[di], CL_DEVICE_NAME, sizeof name, name, NULL);
            name[sizeof name - 1] = '\0';
            append(buf, size, " %u:%u %s", (unsigned)pi, (unsigned)di, name);
        }
    }
    append(buf, size, "; program cache %s", c->cache_dir[0] ? c->cache_dir : "off");
    if (c->built_from_source || c->loaded_from_cache)
        append(buf, size, "; programs: %d compiled, %d from cache, %.0f ms", c->built_from_source,
               c->loaded_from_cache, c->build_ms);
}

/* ---- nodes ---- */

static semseg_support ocl_supports(void *ctx, const semseg_node_info *n)
{
    const ocl_op *op = op_find(n->domain, n->op);
    if (!op) return SEMSEG_SUPPORT_NO;
    for (int32_t i = 0; i < n->n_inputs; i++)
        if (!ocl_fits_int(&n->inputs[i])) return SEMSEG_SUPPORT_NO;
    for (int32_t i = 0; i < n->n_outputs; i++)
        if (!ocl_fits_int(&n->outputs[i])) return SEMSEG_SUPPORT_NO;
    return op->supports(ctx, n);
}

struct semseg_kernel {
    ocl_ctx *ctx;
    const ocl_op *op;
    const ocl_op_scratch *scratch_op; /* NULL: op->run, no scratch */
    void *state;
    int32_t n_inputs;
    cl_mem *consts;        /* per input: uploaded constant, or NULL */
    semseg_tensor *args;   /* run-time inputs with constants swapped in */
    char name[128];
};

static void ocl_kernel_destroy(semseg_kernel *k)
{
    if (!k) return;
    if (k->state) {
        if (k->op->destroy) k->op->destroy(k->state);
        else free(k->state);
    }
    for (int32_t i = 0; i < k->n_inputs; i++)
        if (k->consts[i]) clReleaseMemObject(k->consts[i]);
    free(k->consts);
    free(k->args);
    free(k);
}

static semseg_status ocl_kernel_create(void *ctx, const semseg_node_info *n, semseg_kernel **out,
                                       size_t *scratch_bytes, char *err)
{
    ocl_ctx *c = ctx;
    *out = NULL;
    const ocl_op *op = op_find(n->domain, n->op);
    if (!op)
        return ocl_fail(err, SEMSEG_STATUS_UNSUPPORTED, "opencl: node %s: no kernel for op %s",
                        n->name, n->op);
    semseg_kernel *k = calloc(1, sizeof *k);
    int32_t ni = n->n_inputs > 0 ? n->n_inputs : 1;
    if (!k || !(k->consts = calloc((size_t)ni, sizeof *k->consts)) ||
        !(k->args = calloc((size_t)ni, sizeof *k->args))) {
        ocl_kernel_destroy(k);
        return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    }
    k->ctx = c;
    k->op = op;
    k->n_inputs = n->n_inputs;
    snprintf(k->name, sizeof k->name, "%s", n->name ? n->name : "");
    semseg_status st = SEMSEG_STATUS_OK;
    for (int32_t i = 0; i < n->n_inputs && !st; i++) {
        const semseg_value_info *v = &n->inputs[i];
        if (!v->data || (i < 32 && (op->own_consts >> i) & 1u)) continue;
        size_t bytes = (size_t)semseg_numel(v->rank, v->dims) * semseg_dtype_size(v->dtype);
        char what[200];
        snprintf(what, sizeof what, "node %s input %d", k->name, (int)i);
        st = ocl_upload(c, v->data, bytes, &k->consts[i], what, err);
    }
    if (!st) st = op->create(c, n, &k->state, err);
    if (st) {
        ocl_kernel_destroy(k);
        return st;
    }
    k->scratch_op = op_scratch(op);
    if (k->scratch_op) *scratch_bytes = k->scratch_op->scratch_bytes(k->state);
    *out = k;
    return SEMSEG_STATUS_OK;
}

static semseg_status ocl_kernel_run(semseg_kernel *k, const semseg_tensor *in, int32_t n_in,
                                    const semseg_tensor *out, int32_t n_out,
                                    const semseg_tensor *scratch, char *err)
{
    if (n_in > k->n_inputs)
        return ocl_fail(err, SEMSEG_STATUS_INTERNAL, "opencl: node %s: %d inputs at run, %d at load",
                        k->name, (int)n_in, (int)k->n_inputs);
    for (int32_t i = 0; i < n_in; i++) {
        k->args[i] = in[i];
        if (k->consts[i]) {
            k->args[i].buffer = k->consts[i];
            k->args[i].offset = 0;
            k->args[i].host = 0;
        }
    }
    for (int32_t i = 0; i < n_out; i++)
        if (out[i].host)
            return ocl_fail(err, SEMSEG_STATUS_INTERNAL, "opencl: node %s: output %d is in host memory",
                            k->name, (int)i);
    if (k->scratch_op)
        return k->scratch_op->run_scratch(k->state, k->args, n_in, out, n_out, scratch, err);
    return k->op->run(k->state, k->args, n_in, out, n_out, err);
}

/* ---- memory ---- */

static void *ocl_mem_alloc(void *ctx, size_t bytes)
{
    ocl_ctx *c = ctx;
    cl_int rc;
    cl_mem m = clCreateBuffer(c->context, CL_MEM_READ_WRITE, bytes ? bytes : 4, NULL, &rc);
    return rc == CL_SUCCESS ? (void *)m : NULL;
}

static void ocl_mem_free(void *ctx, void *buffer)
{
    (void)ctx;
    if (buffer) clReleaseMemObject((cl_mem)buffer);
}

static semseg_status ocl_mem_write(void *ctx, void *buffer, size_t offset, const void *src,
                                   size_t bytes, char *err)
{
    ocl_ctx *c = ctx;
    if (!bytes) return SEMSEG_STATUS_OK;
    /* Blocking: the host may reuse src as soon as this returns. */
    cl_int rc = clEnqueueWriteBuffer(c->queue, (cl_mem)buffer, CL_TRUE, offset, bytes, src,
                                     0, NULL, NULL);
    return ocl_check(rc, "clEnqueueWriteBuffer", "a host-to-device copy", err);
}

static semseg_status ocl_mem_read(void *ctx, const void *buffer, size_t offset, void *dst,
                                  size_t bytes, char *err)
{
    ocl_ctx *c = ctx;
    if (!bytes) return SEMSEG_STATUS_OK;
    cl_int rc = clEnqueueReadBuffer(c->queue, (cl_mem)buffer, CL_TRUE, offset, bytes, dst,
                                    0, NULL, NULL);
    return ocl_check(rc, "clEnqueueReadBuffer", "a device-to-host copy", err);
}

static semseg_status ocl_synchronize(void *ctx, char *err)
{
    ocl_ctx *c = ctx;
    return ocl_check(clFinish(c->queue), "clFinish", c->device_name, err);
}

static const semseg_plugin_i ocl_plugin = {
    /* .abi_major      = */ SEMSEG_PLUGIN_ABI_MAJOR,
    /* .abi_minor      = */ SEMSEG_PLUGIN_ABI_MINOR,
    /* .struct_size    = */ sizeof(semseg_plugin_i),
    /* .name           = */ "opencl",
    /* .version        = */ SEMSEG_OPENCL_VERSION,
    /* .description    = */ "OpenCL 1.2 kernels in device memory (GPU first, else any device)",
    /* .init           = */ ocl_init,
    /* .shutdown       = */ ocl_shutdown,
    /* .describe       = */ ocl_describe,
    /* .supports       = */ ocl_supports,
    /* .kernel_create  = */ ocl_kernel_create,
    /* .kernel_run     = */ ocl_kernel_run,
    /* .kernel_destroy = */ ocl_kernel_destroy,
    /* .mem_alloc      = */ ocl_mem_alloc,
    /* .mem_free       = */ ocl_mem_free,
    /* .mem_write      = */ ocl_mem_write,
    /* .mem_read       = */ ocl_mem_read,
    /* .synchronize    = */ ocl_synchronize,
};

SEMSEG_PLUGIN_EXPORT const semseg_plugin_i *semseg_plugin_entry(void)
{
    return &ocl_plugin;
}
