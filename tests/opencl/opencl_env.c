/*
 * The opencl plugin's environment: what happens without an OpenCL platform,
 * how SEMSEG_OPENCL_DEVICE picks a device, and the on-disk program cache.
 *
 *   opencl_env no-platform OPENCL.so   (run with OCL_ICD_VENDORS=<empty dir>)
 *       init must answer UNUSABLE with one line naming the problem.
 *   opencl_env device-env OPENCL.so
 *       SEMSEG_OPENCL_DEVICE=0:0 works; a malformed or absent device is
 *       UNUSABLE with a message that names the value.
 *   opencl_env cache OPENCL.so DIR
 *       with SEMSEG_CACHE_DIR=DIR (emptied first): the first context compiles
 *       and writes an entry, a second loads it and compiles nothing, a
 *       corrupted entry is rebuilt (and the kernel still right), an entry of
 *       another key is ignored.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static int failures;

static void expect(int ok, const char *what, const char *detail)
{
    printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what, detail && *detail ? ": " : "",
           detail ? detail : "");
    if (!ok) failures++;
}

static int test_no_platform(const char *so)
{
    plug p;
    char err[SEMSEG_ERRMSG_SIZE] = "";
    semseg_status st = plug_open(&p, so, 1, err);
    expect(st == SEMSEG_STATUS_UNUSABLE, "init without a platform is UNUSABLE", err);
    expect(err[0] && !strchr(err, '\n'), "one-line reason", err);
    if (st == SEMSEG_STATUS_OK) plug_close(&p);
    return failures;
}

static int test_device_env(const char *so)
{
    plug p;
    char err[SEMSEG_ERRMSG_SIZE] = "", desc[1024] = "";
    setenv("SEMSEG_OPENCL_DEVICE", "0:0", 1);
    semseg_status st = plug_open(&p, so, 1, err);
    if (st == SEMSEG_STATUS_OK) {
        p.p->describe(p.ctx, desc, sizeof desc);
        plug_close(&p);
    }
    expect(st == SEMSEG_STATUS_OK && strncmp(desc, "0:0 ", 4) == 0, "SEMSEG_OPENCL_DEVICE=0:0",
           st ? err : desc);
    static const char *const bad[] = {"7:0", "0:99", "zero", "1", "0:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("SEMSEG_OPENCL_DEVICE", bad[i], 1);
        err[0] = '\0';
        st = plug_open(&p, so, 1, err);
        if (st == SEMSEG_STATUS_OK) plug_close(&p);
        char what[64];
        snprintf(what, sizeof what, "SEMSEG_OPENCL_DEVICE=%s is refused", bad[i]);
        expect(st == SEMSEG_STATUS_UNUSABLE && strstr(err, bad[i]) != NULL, what, err);
    }
    unsetenv("SEMSEG_OPENCL_DEVICE");
    return failures;
}

/* A small Relu node: builds (or loads) the eltwise program. */
static void relu_node(node_b *b)
{
    nb_init(b, "", "Relu", 14, "cache relu");
    nb_input(b, 1, (const int64_t[]){64}, -1, 1, 0);
    nb_output(b, SEMSEG_DTYPE_FLOAT, 1, (const int64_t[]){64});
}

/* One context: create + run a Relu; returns 0 and the describe() line. */
static int cache_round(const char *so, char *desc, size_t size)
{
    plug p;
    char err[SEMSEG_ERRMSG_SIZE] = "";
    if (plug_open(&p, so, 1, err)) {
        snprintf(desc, size, "init: %s", err);
        return 1;
    }
    node_b b;
    relu_node(&b);
    semseg_kernel *k = NULL;
    size_t scratch = 0;
    int bad = 1;
    void *buf = p.p->mem_alloc(p.ctx, 1024);
    float y[64];
    if (buf && !p.p->kernel_create(p.ctx, &b.n, &k, &scratch, err)) {
        semseg_tensor in = {buf, 0, SEMSEG_DTYPE_FLOAT, 1, b.in[0].dims, 0};
        semseg_tensor out = {buf, 512, SEMSEG_DTYPE_FLOAT, 1, b.out[0].dims, 0};
        if (!p.p->mem_write(p.ctx, buf, 0, b.data[0], sizeof y, err) &&
            !p.p->kernel_run(k, &in, 1, &out, 1, NULL, err) &&
            !p.p->mem_read(p.ctx, buf, 512, y, sizeof y, err)) {
            bad = 0;
            for (int i = 0; i < 64; i++) {
                float x = ((float *)b.data[0])[i];
                if (y[i] != (x > 0 ? x : 0)) bad = 1;
            }
        }
        p.p->kernel_destroy(k);
    }
    if (buf) p.p->mem_free(p.ctx, buf);
    p.p->describe(p.ctx, desc, size);
    if (bad && err[0]) snprintf(desc, size, "%s", err);
    nb_free(&b);
    plug_close(&p);
    return bad;
}

/* Path of the one cache entry for the eltwise program, "" if none. */
static void find_entry(const char *dir, char *path, size_t size)
{
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/opencl", dir);
    path[0] = '\0';
    DIR *d = opendir(sub);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "eltwise-", 8) == 0 && strstr(e->d_name, ".bin") &&
            !strstr(e->d_name, ".tmp"))
            snprintf(path, size, "%s/%s", sub, e->d_name);
    closedir(d);
}

static int test_cache(const char *so, const char *dir)
{
    char cmd[2048], desc[1024], entry[1400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    setenv("SEMSEG_CACHE_DIR", dir, 1);

    int bad = cache_round(so, desc, sizeof desc);
    expect(!bad && strstr(desc, "1 compiled, 0 from cache"), "empty cache: compiles once", desc);
    find_entry(dir, entry, sizeof entry);
    expect(entry[0] != 0, "entry written", entry);

    bad = cache_round(so, desc, sizeof desc);
    expect(!bad && strstr(desc, "0 compiled, 1 from cache"), "second context compiles nothing", desc);

    /* Corrupt the payload's last byte: the checksum must catch it. */
    FILE *f = entry[0] ? fopen(entry, "r+b") : NULL;
    if (f) {
        fseek(f, -1, SEEK_END);
        int c = fgetc(f);
        fseek(f, -1, SEEK_END);
        fputc(c ^ 0x5a, f);
        fclose(f);
    }
    bad = cache_round(so, desc, sizeof desc);
    expect(f && !bad && strstr(desc, "1 compiled, 0 from cache"), "corrupt entry is rebuilt", desc);
    bad = cache_round(so, desc, sizeof desc);
    expect(!bad && strstr(desc, "0 compiled, 1 from cache"), "rebuilt entry is used", desc);

    /* Garbage of the right name: refused by the magic, rebuilt. */
    f = fopen(entry, "wb");
    if (f) {
        fputs("not a program", f);
        fclose(f);
    }
    bad = cache_round(so, desc, sizeof desc);
    expect(f && !bad && strstr(desc, "1 compiled"), "garbage entry is rebuilt", desc);

    /* A cache directory that cannot be created costs time, not the run. */
    setenv("SEMSEG_CACHE_DIR", "/proc/semseg-no-such-dir", 1);
    bad = cache_round(so, desc, sizeof desc);
    expect(!bad && strstr(desc, "1 compiled"), "unwritable cache dir still works", desc);

    setenv("SEMSEG_OPENCL_NO_CACHE", "1", 1);
    bad = cache_round(so, desc, sizeof desc);
    expect(!bad && strstr(desc, "program cache off"), "SEMSEG_OPENCL_NO_CACHE=1 disables it", desc);
    unsetenv("SEMSEG_OPENCL_NO_CACHE");
    return failures;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "no-platform")) return test_no_platform(argv[2]) ? 1 : 0;
    if (argc >= 3 && !strcmp(argv[1], "device-env")) return test_device_env(argv[2]) ? 1 : 0;
    if (argc >= 4 && !strcmp(argv[1], "cache")) return test_cache(argv[2], argv[3]) ? 1 : 0;
    fprintf(stderr, "usage: %s no-platform|device-env|cache OPENCL.so [DIR]\n", argv[0]);
    return 2;
}
