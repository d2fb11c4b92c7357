/*
 * Small shared pieces of the opencl plugin: OpenCL error names (so a failure
 * reads "clEnqueueNDRangeKernel failed for node conv1: CL_OUT_OF_RESOURCES"
 * rather than "-5"), error lines, uploads, launches with a work-group size
 * chosen for the device, and the attribute checks several operators share.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ocl.h"

const char *ocl_error_name(cl_int rc)
{
    switch (rc) {
#define E(x) case x: return #x;
    E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE)
    E(CL_COMPILER_NOT_AVAILABLE) E(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
    E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_MEM_COPY_OVERLAP) E(CL_IMAGE_FORMAT_MISMATCH)
    E(CL_IMAGE_FORMAT_NOT_SUPPORTED) E(CL_BUILD_PROGRAM_FAILURE) E(CL_MAP_FAILURE)
    E(CL_MISALIGNED_SUB_BUFFER_OFFSET) E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    E(CL_COMPILE_PROGRAM_FAILURE) E(CL_LINKER_NOT_AVAILABLE) E(CL_LINK_PROGRAM_FAILURE)
    E(CL_DEVICE_PARTITION_FAILED) E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    E(CL_INVALID_VALUE) E(CL_INVALID_DEVICE_TYPE) E(CL_INVALID_PLATFORM)
    E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT) E(CL_INVALID_QUEUE_PROPERTIES)
    E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR) E(CL_INVALID_MEM_OBJECT)
    E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) E(CL_INVALID_IMAGE_SIZE) E(CL_INVALID_SAMPLER)
    E(CL_INVALID_BINARY) E(CL_INVALID_BUILD_OPTIONS) E(CL_INVALID_PROGRAM)
    E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME)
    E(CL_INVALID_KERNEL_DEFINITION) E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX)
    E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE) E(CL_INVALID_KERNEL_ARGS)
    E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE)
    E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET)
    E(CL_INVALID_EVENT_WAIT_LIST) E(CL_INVALID_EVENT) E(CL_INVALID_OPERATION)
    E(CL_INVALID_GL_OBJECT) E(CL_INVALID_BUFFER_SIZE) E(CL_INVALID_MIP_LEVEL)
    E(CL_INVALID_GLOBAL_WORK_SIZE) E(CL_INVALID_PROPERTY)
    E(CL_INVALID_IMAGE_DESCRIPTOR) E(CL_INVALID_COMPILER_OPTIONS)
    E(CL_INVALID_LINKER_OPTIONS) E(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef E
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "unknown OpenCL error";
    }
}

semseg_status ocl_fail(char *err, semseg_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, SEMSEG_ERRMSG_SIZE, fmt, ap);
        va_end(ap);
    }
    return st;
}

semseg_status ocl_check(cl_int rc, const char *call, const char *what, char *err)
{
    if (rc == CL_SUCCESS) return SEMSEG_STATUS_OK;
    semseg_status st = (rc == CL_OUT_OF_HOST_MEMORY || rc == CL_MEM_OBJECT_ALLOCATION_FAILURE)
                           ? SEMSEG_STATUS_NO_MEMORY : SEMSEG_STATUS_PLUGIN;
    return ocl_fail(err, st, "opencl: %s failed for %s: %s (%d)", call, what,
                    ocl_error_name(rc), (int)rc);
}

semseg_status ocl_kernel(ocl_ctx *c, ocl_prog p, const char *name, cl_kernel *k, char *err)
{
    cl_program prog;
    semseg_status st = ocl_program_get(c, p, &prog, err);
    if (st) return st;
    cl_int rc;
    *k = clCreateKernel(prog, name, &rc);
    return ocl_check(rc, "clCreateKernel", name, err);
}

semseg_status ocl_upload(ocl_ctx *c, const void *data, size_t bytes, cl_mem *m,
                         const char *what, char *err)
{
    cl_int rc;
    /* A zero-byte buffer is invalid in OpenCL; keep one float for empty data. */
    size_t size = bytes ? bytes : 4;
    *m = clCreateBuffer(c->context, CL_MEM_READ_ONLY, size, NULL, &rc);
    if (rc != CL_SUCCESS) return ocl_check(rc, "clCreateBuffer", what, err);
    if (bytes) {
        rc = clEnqueueWriteBuffer(c->queue, *m, CL_TRUE, 0, bytes, data, 0, NULL, NULL);
        if (rc != CL_SUCCESS) {
            clReleaseMemObject(*m);
            *m = NULL;
            return ocl_check(rc, "clEnqueueWriteBuffer", what, err);
        }
    }
    return SEMSEG_STATUS_OK;
}

/* Work-group sizes for a launch of n0 x n1 x n2 items of kernel k. GPUs want
 * full wavefronts: 256 along dim 0. PoCL on a CPU runs a work-group as a loop
 * over its work-items (vectorised along dim 0 when the body allows) and pays
 * a cost per group, so light kernels get groups of up to 256 items: dim 0
 * the power of two of at least n0, then dims 1 and 2 the largest power of
 * two that divides them and keeps the group within 256, so the kernels
 * (which check only dim 0's bound) need no change. (Against groups of at
 * most 64 along dim 0 alone this took ~10% off a broadcast Mul; 1024 gained
 * nothing more.) Powers of two also bound the work-group functions PoCL
 * compiles (one per kernel and local size, cached in its kcache). Heavy
 * kernels keep groups of at most 64 along dim 0 so there are groups enough
 * for every thread. */
static void local_sizes(ocl_ctx *c, cl_kernel k, const size_t n[3], size_t cap, int spread,
                        size_t local[3])
{
    size_t kmax = c->max_work_group;
    clGetKernelWorkGroupInfo(k, c->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax, &kmax, NULL);
    if (kmax == 0) kmax = 1;
    while (cap > kmax) cap /= 2;
    size_t want = cap;
    while (want > 1 && want / 2 >= n[0]) want /= 2;
    local[0] = want ? want : 1;
    local[1] = local[2] = 1;
    if (c->is_gpu || !spread) return;
    for (int d = 1; d < 3; d++)
        while (local[0] * local[1] * local[2] * 2 <= cap && n[d] % (local[d] * 2) == 0)
            local[d] *= 2;
}

semseg_status ocl_launch1(ocl_ctx *c, cl_kernel k, size_t n, const char *what, char *err)
{
    return ocl_launch3(c, k, n, 1, 1, what, err);
}

static semseg_status launch(ocl_ctx *c, cl_kernel k, size_t n0, size_t n1, size_t n2,
                            int heavy, const char *what, char *err)
{
    if (n0 == 0 || n1 == 0 || n2 == 0) return SEMSEG_STATUS_OK;
    size_t n[3] = {n0, n1, n2}, local[3];
    local_sizes(c, k, n, heavy && !c->is_gpu ? 64 : 256, !heavy, local);
    size_t global[3] = {(n0 + local[0] - 1) / local[0] * local[0], n1, n2};
    cl_uint dims = n2 > 1 ? 3 : n1 > 1 ? 2 : 1;
    cl_int rc = clEnqueueNDRangeKernel(c->queue, k, dims, NULL, global, local, 0, NULL, NULL);
    return ocl_check(rc, "clEnqueueNDRangeKernel", what, err);
}

semseg_status ocl_launch3(ocl_ctx *c, cl_kernel k, size_t n0, size_t n1, size_t n2,
                          const char *what, char *err)
{
    return launch(c, k, n0, n1, n2, 0, what, err);
}

semseg_status ocl_launch_heavy(ocl_ctx *c, cl_kernel k, size_t n0, size_t n1, size_t n2,
                               const char *what, char *err)
{
    return launch(c, k, n0, n1, n2, 1, what, err);
}

semseg_status ocl_launch_local(ocl_ctx *c, cl_kernel k, const size_t global[3],
                               const size_t local[3], const char *what, char *err)
{
    if (global[0] == 0 || global[1] == 0 || global[2] == 0) return SEMSEG_STATUS_OK;
    /* A device may allow fewer work-items per group for this kernel: the
     * band kernels then take fewer planes per group (dimension 2), which
     * they all allow. */
    size_t kmax = 0, l[3] = {local[0], local[1], local[2]};
    clGetKernelWorkGroupInfo(k, c->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax, &kmax, NULL);
    while (kmax && l[0] * l[1] * l[2] > kmax && l[2] > 1 && l[2] % 2 == 0) l[2] /= 2;
    cl_int rc = clEnqueueNDRangeKernel(c->queue, k, 3, NULL, global, l, 0, NULL, NULL);
    return ocl_check(rc, "clEnqueueNDRangeKernel", what, err);
}

size_t ocl_local_floats(const ocl_ctx *c, size_t want)
{
    size_t half = (size_t)(c->local_mem / 2 / sizeof(float));
    return c->local_mem && half < want ? half : want;
}

semseg_status ocl_launch2(ocl_ctx *c, cl_kernel k, size_t n0, size_t n1,
                          const char *what, char *err)
{
    return ocl_launch3(c, k, n0, n1, 1, what, err);
}

int ocl_all_float(const semseg_node_info *n, int32_t n_inputs)
{
    for (int32_t i = 0; i < n_inputs && i < n->n_inputs; i++)
        if (semseg_input_present(n, i) && n->inputs[i].dtype != SEMSEG_DTYPE_FLOAT) return 0;
    for (int32_t i = 0; i < n->n_outputs; i++)
        if (n->outputs[i].dtype != SEMSEG_DTYPE_FLOAT) return 0;
    return 1;
}

int ocl_fits_int(const semseg_value_info *v)
{
    return semseg_numel(v->rank, v->dims) < ((int64_t)1 << 31);
}

/* auto_pad SAME_*: total padding so that out = ceil(in / stride). */
static void same_pads(const char *mode, int in, int out, int k, int s, int d, int *b, int *e)
{
    int total = (out - 1) * s + (k - 1) * d + 1 - in;
    if (total < 0) total = 0;
    if (strcmp(mode, "SAME_LOWER") == 0) {
        *b = total - total / 2;
        *e = total / 2;
    } else {
        *b = total / 2;
        *e = total - total / 2;
    }
}

int ocl_window_read(const semseg_node_info *n, int kh, int kw, ocl_window *w)
{
    const int64_t *v;
    if (n->inputs[0].rank != 4 || n->outputs[0].rank != 4) return 0;
    int64_t cnt = semseg_attr_ints(n, "kernel_shape", &v);
    if (cnt >= 0) {
        if (cnt != 2) return 0;
        kh = (int)v[0];
        kw = (int)v[1];
    }
    if (kh <= 0 || kw <= 0) return 0;
    w->kh = kh;
    w->kw = kw;
    w->sh = w->sw = w->dh = w->dw = 1;
    w->pt = w->pl = w->pb = w->pr = 0;
    if ((cnt = semseg_attr_ints(n, "strides", &v)) >= 0) {
        if (cnt != 2) return 0;
        w->sh = (int)v[0];
        w->sw = (int)v[1];
    }
    if ((cnt = semseg_attr_ints(n, "dilations", &v)) >= 0) {
        if (cnt != 2) return 0;
        w->dh = (int)v[0];
        w->dw = (int)v[1];
    }
    if (w->sh <= 0 || w->sw <= 0 || w->dh <= 0 || w->dw <= 0) return 0;
    const char *ap = semseg_attr_string(n, "auto_pad", "NOTSET");
    const int64_t *id = n->inputs[0].dims, *od = n->outputs[0].dims;
    if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
        same_pads(ap, (int)id[2], (int)od[2], kh, w->sh, w->dh, &w->pt, &w->pb);
        same_pads(ap, (int)id[3], (int)od[3], kw, w->sw, w->dw, &w->pl, &w->pr);
    } else if (strcmp(ap, "VALID") == 0) {
        /* no padding */
    } else if (strcmp(ap, "NOTSET") == 0) {
        if ((cnt = semseg_attr_ints(n, "pads", &v)) >= 0) {
            if (cnt != 4) return 0;
            w->pt = (int)v[0];
            w->pl = (int)v[1];
            w->pb = (int)v[2];
            w->pr = (int)v[3];
        }
    } else {
        return 0;
    }
    return w->pt >= 0 && w->pl >= 0 && w->pb >= 0 && w->pr >= 0;
}
