/*
 * OpenCL programs of the opencl plugin: each .cl file (with common.cl in
 * front) is built at most once per context, on the first kernel that needs it,
 * and its device binary is kept on disk so that the next process loads it
 * instead of compiling.
 *
 * Cache entry: <cache dir>/opencl/<program>-<key>.bin, key = FNV-1a 64 of the
 * sources, the build options, the platform and device names, the device
 * version and the driver version, so a new driver or a changed kernel simply
 * misses. The file holds a magic, the key, the payload size and a checksum of
 * the payload; anything that does not verify, or that the driver refuses, is
 * rebuilt from source and rewritten. Writes go to a temporary file renamed
 * over the entry, so a concurrent reader never sees half a file. A cache that
 * cannot be read or written costs time, never correctness.
 *
 * PoCL compiles a work-group function per kernel and local size at the first
 * launch; program binaries do not carry those, PoCL's own kernel cache
 * ($POCL_CACHE_DIR, by default ~/.cache/pocl/kcache) does. docs/opencl.md
 * measures what each cache saves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ocl.h"

extern const char ocl_src_common[], ocl_src_conv[], ocl_src_conv_dw[], ocl_src_conv_px[],
    ocl_src_conv_wino[], ocl_src_conv_transpose[],
    ocl_src_resize[], ocl_src_pool[], ocl_src_batchnorm[], ocl_src_eltwise[],
    ocl_src_concat[], ocl_src_softmax[], ocl_src_argmax[], ocl_src_adaptive_avgpool[];

static const struct {
    const char *name;
    const char *src;
} sources[OCL_PROG_COUNT] = {
    [OCL_PROG_CONV] = {"conv", ocl_src_conv},
    [OCL_PROG_CONV_DW] = {"conv_dw", ocl_src_conv_dw},
    [OCL_PROG_CONV_PX] = {"conv_px", ocl_src_conv_px},
    [OCL_PROG_CONV_WINO] = {"conv_wino", ocl_src_conv_wino},
    [OCL_PROG_CONV_TRANSPOSE] = {"conv_transpose", ocl_src_conv_transpose},
    [OCL_PROG_RESIZE] = {"resize", ocl_src_resize},
    [OCL_PROG_POOL] = {"pool", ocl_src_pool},
    [OCL_PROG_BATCHNORM] = {"batchnorm", ocl_src_batchnorm},
    [OCL_PROG_ELTWISE] = {"eltwise", ocl_src_eltwise},
    [OCL_PROG_CONCAT] = {"concat", ocl_src_concat},
    [OCL_PROG_SOFTMAX] = {"softmax", ocl_src_softmax},
    [OCL_PROG_ARGMAX] = {"argmax", ocl_src_argmax},
    [OCL_PROG_ADAPTIVE_AVGPOOL] = {"adaptive_avgpool", ocl_src_adaptive_avgpool},
};

static const char build_options[] = "-cl-std=CL1.2 -cl-mad-enable";
static const char cache_magic[8] = {'S', 'S', 'O', 'C', 'L', 'B', 'N', '1'};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    return fnv1a(h, s, strlen(s) + 1); /* the NUL separates fields */
}

/* Creates dir and its parents; 0 on success (or when it already exists). */
static int mkdirs(const char *dir)
{
    char tmp[1024];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, dir, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return (mkdir(tmp, 0755) != 0 && errno != EEXIST) ? -1 : 0;
}

void ocl_cache_dir_init(ocl_ctx *c)
{
    const char *env = getenv("SEMSEG_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME"), *off = getenv("SEMSEG_OPENCL_NO_CACHE");
    int n = -1;
    c->cache_dir[0] = '\0';
    if (off && *off && strcmp(off, "0") != 0) return;
    if (env && *env)
        n = snprintf(c->cache_dir, sizeof c->cache_dir, "%s/opencl", env);
    else if (xdg && *xdg)
        n = snprintf(c->cache_dir, sizeof c->cache_dir, "%s/semseg-onnx/opencl", xdg);
    else if (home && *home)
        n = snprintf(c->cache_dir, sizeof c->cache_dir, "%s/.cache/semseg-onnx/opencl", home);
    if (n < 0 || (size_t)n >= sizeof c->cache_dir) c->cache_dir[0] = '\0';
}

static uint64_t cache_key(const ocl_ctx *c, ocl_prog p)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv_str(h, "semseg-opencl-cache-1");
    h = fnv_str(h, ocl_src_common);
    h = fnv_str(h, sources[p].src);
    h = fnv_str(h, build_options);
    h = fnv_str(h, c->platform_name);
    h = fnv_str(h, c->device_name);
    h = fnv_str(h, c->device_version);
    h = fnv_str(h, c->driver_version);
    return h;
}

static int cache_path(const ocl_ctx *c, ocl_prog p, uint64_t key, char *buf, size_t size)
{
    if (!c->cache_dir[0]) return 0;
    int n = snprintf(buf, size, "%s/%s-%016llx.bin", c->cache_dir, sources[p].name,
                     (unsigned long long)key);
    return n > 0 && (size_t)n < size;
}

/* Reads and verifies a cache entry; returns a malloc'd binary or NULL. */
static unsigned char *cache_read(const char *path, uint64_t key, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char magic[8];
    uint64_t hdr[3]; /* key, payload size, payload checksum */
    unsigned char *bin = NULL;
    if (fread(magic, 1, 8, f) == 8 && memcmp(magic, cache_magic, 8) == 0 &&
        fread(hdr, sizeof hdr, 1, f) == 1 && hdr[0] == key && hdr[1] > 0 &&
        hdr[1] < ((uint64_t)1 << 31)) {
        bin = malloc((size_t)hdr[1]);
        if (bin && (fread(bin, 1, (size_t)hdr[1], f) != hdr[1] ||
                    fnv1a(0xcbf29ce484222325ull, bin, (size_t)hdr[1]) != hdr[2] ||
                    fgetc(f) != EOF)) {
            free(bin);
            bin = NULL;
        }
        if (bin) *size = (size_t)hdr[1];
    }
    fclose(f);
    return bin;
}

static void cache_write(const ocl_ctx *c, const char *path, uint64_t key,
                        const unsigned char *bin, size_t size)
{
    char tmp[1100];
    if (mkdirs(c->cache_dir) != 0) return;
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%p", path, (long)getpid(), (const void *)c);
    if (n < 0 || (size_t)n >= sizeof tmp) return;
    FILE *f = fopen(tmp, "wb");
    if (!f) return;
    uint64_t hdr[3] = {key, size, fnv1a(0xcbf29ce484222325ull, bin, size)};
    int ok = fwrite(cache_magic, 1, 8, f) == 8 && fwrite(hdr, sizeof hdr, 1, f) == 1 &&
             fwrite(bin, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) remove(tmp);
}

/* The device binary of a built program, malloc'd; NULL when unavailable. */
static unsigned char *program_binary(cl_program prog, size_t *size)
{
    size_t sz = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof sz, &sz, NULL) != CL_SUCCESS ||
        sz == 0)
        return NULL;
    unsigned char *bin = malloc(sz);
    if (!bin) return NULL;
    unsigned char *bins[1] = {bin};
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS) {
        free(bin);
        return NULL;
    }
    *size = sz;
    return bin;
}

static cl_program load_binary(ocl_ctx *c, const unsigned char *bin, size_t size)
{
    cl_int rc, status;
    cl_program prog = clCreateProgramWithBinary(c->context, 1, &c->device, &size, &bin,
                                                &status, &rc);
    if (rc != CL_SUCCESS || status != CL_SUCCESS) {
        if (prog) clReleaseProgram(prog);
        return NULL;
    }
    if (clBuildProgram(prog, 1, &c->device, build_options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(prog);
        return NULL;
    }
    return prog;
}

/* First non-empty line of the build log, for the error message. */
static void build_log_line(ocl_ctx *c, cl_program prog, char *line, size_t size)
{
    size_t n = 0;
    line[0] = '\0';
    if (clGetProgramBuildInfo(prog, c->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) != CL_SUCCESS ||
        n == 0)
        return;
    char *log = malloc(n + 1);
    if (!log) return;
    if (clGetProgramBuildInfo(prog, c->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) == CL_SUCCESS) {
        log[n] = '\0';
        char *p = log + strspn(log, " \r\n");
        size_t len = strcspn(p, "\r\n");
        if (len >= size) len = size - 1;
        memcpy(line, p, len);
        line[len] = '\0';
    }
    free(log);
}

static semseg_status build_source(ocl_ctx *c, ocl_prog p, cl_program *out, char *err)
{
    const char *srcs[2] = {ocl_src_common, sources[p].src};
    cl_int rc;
    cl_program prog = clCreateProgramWithSource(c->context, 2, srcs, NULL, &rc);
    if (rc != CL_SUCCESS) return ocl_check(rc, "clCreateProgramWithSource", sources[p].name, err);
    rc = clBuildProgram(prog, 1, &c->device, build_options, NULL, NULL);
    if (rc != CL_SUCCESS) {
        char line[300];
        build_log_line(c, prog, line, sizeof line);
        clReleaseProgram(prog);
        return ocl_fail(err, SEMSEG_STATUS_PLUGIN, "opencl: clBuildProgram failed for %s.cl: %s: %s",
                        sources[p].name, ocl_error_name(rc), line);
    }
    *out = prog;
    return SEMSEG_STATUS_OK;
}

semseg_status ocl_program_get(ocl_ctx *c, ocl_prog p, cl_program *out, char *err)
{
    if (c->programs[p]) {
        *out = c->programs[p];
        return SEMSEG_STATUS_OK;
    }
    double t0 = now_ms();
    uint64_t key = cache_key(c, p);
    char path[1100];
    int cached = cache_path(c, p, key, path, sizeof path);
    cl_program prog = NULL;
    if (cached) {
        size_t size;
        unsigned char *bin = cache_read(path, key, &size);
        if (bin) {
            prog = load_binary(c, bin, size);
            free(bin);
        }
        if (prog) c->loaded_from_cache++;
    }
    if (!prog) {
        semseg_status st = build_source(c, p, &prog, err);
        if (st) return st;
        c->built_from_source++;
        size_t size;
        unsigned char *bin = cached ? program_binary(prog, &size) : NULL;
        if (bin) {
            cache_write(c, path, key, bin, size);
            free(bin);
        }
    }
    c->build_ms += now_ms() - t0;
    c->programs[p] = prog;
    *out = prog;
    return SEMSEG_STATUS_OK;
}

void ocl_programs_release(ocl_ctx *c)
{
    for (int i = 0; i < OCL_PROG_COUNT; i++) {
        if (!c->programs[i]) continue;
        clReleaseProgram(c->programs[i]);
        c->programs[i] = NULL;
    }
}
