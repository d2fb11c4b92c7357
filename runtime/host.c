/*
 * Plugin host. Search path, in order: explicit files (--plugin), every folder of
 * $SEMSEG_PLUGIN_PATH, then the build tree's plugin folder when this library
 * runs from the build tree, else the installed <libdir>/semseg-onnx/plugins
 * found relative to the library (so an install moved elsewhere still works).
 * The first plugin of a given name wins; later ones are listed as shadowed.
 *
 * A file is refused with one line when it is not a shared object, lacks the
 * entry symbol, or was built for another ABI major version. A plugin whose
 * init says UNUSABLE is skipped with its own one-line reason.
 *
 * Default priority (no --backend): third-party plugins (by name), then blas,
 * then ref. opencl is opt-in (`--backend opencl,blas,ref`): on CPU-only
 * machines PoCL is slower than blas, so it is not a sensible default there.
 */
#define _GNU_SOURCE /* dladdr */
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host.h"

#ifndef SEMSEG_PLUGIN_BUILD_DIR
#define SEMSEG_PLUGIN_BUILD_DIR ""
#endif
#ifndef SEMSEG_PLUGIN_INSTALL_DIR
#define SEMSEG_PLUGIN_INSTALL_DIR ""
#endif
#ifndef SEMSEG_INSTALL_LIBDIR_REL
#define SEMSEG_INSTALL_LIBDIR_REL "lib"
#endif

static int already_listed(const host *h, const char *file)
{
    for (int i = 0; i < h->n_all; i++)
        if (strcmp(h->all[i].file, file) == 0) return 1;
    return 0;
}

static semseg_status add_file(host *h, const char *file)
{
    char *real = realpath(file, NULL);
    const char *key = real ? real : file;
    if (already_listed(h, key)) {
        free(real);
        return SEMSEG_STATUS_OK;
    }
    host_plugin *np = realloc(h->all, sizeof *np * (size_t)(h->n_all + 1));
    if (!np) {
        free(real);
        return SEMSEG_STATUS_NO_MEMORY;
    }
    h->all = np;
    host_plugin *p = &h->all[h->n_all++];
    memset(p, 0, sizeof *p);
    p->file = real ? real : strdup(file);
    if (!p->file) return SEMSEG_STATUS_NO_MEMORY;

    /* RTLD_LOCAL keeps plugins' symbols apart; RTLD_NOW reports missing ones
     * here; RTLD_NODELETE keeps the code mapped after dlclose, because the
     * libraries a plugin pulls in (OpenBLAS, an OpenCL driver) may leave
     * worker threads running that would otherwise jump into unmapped code. */
    p->dl = dlopen(p->file, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!p->dl) {
        const char *e = dlerror();
        snprintf(p->reason, sizeof p->reason, "not a loadable shared object: %s", e ? e : "dlopen failed");
        return SEMSEG_STATUS_OK;
    }
    semseg_plugin_entry_fn entry;
    *(void **)&entry = dlsym(p->dl, SEMSEG_PLUGIN_ENTRY);
    if (!entry) {
        snprintf(p->reason, sizeof p->reason, "not a semseg plugin (no %s symbol)", SEMSEG_PLUGIN_ENTRY);
        return SEMSEG_STATUS_OK;
    }
    const semseg_plugin_i *api = entry();
    if (!api) {
        snprintf(p->reason, sizeof p->reason, "%s returned NULL", SEMSEG_PLUGIN_ENTRY);
        return SEMSEG_STATUS_OK;
    }
    p->abi_major = api->abi_major;
    p->abi_minor = api->abi_minor;
    if (api->abi_major != SEMSEG_PLUGIN_ABI_MAJOR) {
        snprintf(p->reason, sizeof p->reason,
                 "built for plugin ABI %u.%u, this host speaks %d.%d: rebuild it against this semseg/plugin.h",
                 api->abi_major, api->abi_minor, SEMSEG_PLUGIN_ABI_MAJOR, SEMSEG_PLUGIN_ABI_MINOR);
        return SEMSEG_STATUS_OK;
    }
    /* Fields up to synchronize are ABI 1.0; a shorter table is broken. */
    if (api->struct_size < offsetof(semseg_plugin_i, synchronize) + sizeof api->synchronize ||
        !api->name || !api->init || !api->supports || !api->kernel_create || !api->kernel_run ||
        !api->kernel_destroy) {
        snprintf(p->reason, sizeof p->reason, "plugin table is incomplete (struct_size %u)", api->struct_size);
        return SEMSEG_STATUS_OK;
    }
    if ((api->mem_alloc != NULL) != (api->mem_free != NULL) ||
        (api->mem_alloc && (!api->mem_read || !api->mem_write))) {
        snprintf(p->reason, sizeof p->reason, "plugin '%s' provides only part of the memory interface", api->name);
        return SEMSEG_STATUS_OK;
    }
    for (int i = 0; i < h->n_all - 1; i++) {
        if (h->all[i].api && strcmp(h->all[i].api->name, api->name) == 0) {
            snprintf(p->reason, sizeof p->reason, "shadowed by %s (same name '%s')", h->all[i].file, api->name);
            return SEMSEG_STATUS_OK;
        }
    }
    p->api = api;
    return SEMSEG_STATUS_OK;
}

static int ends_with_so(const char *s)
{
    size_t n = strlen(s);
    return n > 3 && strcmp(s + n - 3, ".so") == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static semseg_status add_dir(host *h, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return SEMSEG_STATUS_OK; /* a missing folder on the path is not an error */
    char **names = NULL;
    int n = 0;
    semseg_status st = SEMSEG_STATUS_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!ends_with_so(e->d_name)) continue;
        char **nn = realloc(names, sizeof *nn * (size_t)(n + 1));
        if (!nn) {
            st = SEMSEG_STATUS_NO_MEMORY;
            break;
        }
        names = nn;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(len);
        if (!path) {
            st = SEMSEG_STATUS_NO_MEMORY;
            break;
        }
        snprintf(path, len, "%s/%s", dir, e->d_name);
        names[n++] = path;
    }
    closedir(d);
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n; i++) {
        struct stat sb;
        if (st == SEMSEG_STATUS_OK && stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode))
            st = add_file(h, names[i]);
        free(names[i]);
    }
    free(names);
    return st;
}

static int is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The default plugin folder, found from where this code was loaded:
 * relocatably, <libdir>/semseg-onnx/plugins beside the library (or
 * ../<libdir>/... from a statically linked executable in bin/); else the build
 * tree's plugins/ when running from the build tree; else the configured install
 * path. The install layout is tried first so that an install whose prefix lies
 * inside the build tree (cmake --install build --prefix build/inst) uses its
 * own plugins. */
static void default_dir(char *out, size_t size)
{
    Dl_info info;
    const char *build = SEMSEG_PLUGIN_BUILD_DIR;
    snprintf(out, size, "%s", SEMSEG_PLUGIN_INSTALL_DIR);
    if (!dladdr((void *)default_dir, &info) || !info.dli_fname) return;
    char *real = realpath(info.dli_fname, NULL);
    if (!real) return;
    char *slash = strrchr(real, '/');
    if (slash) *slash = '\0';
    const char *bslash = strrchr(build, '/');
    size_t root = bslash ? (size_t)(bslash - build) : 0;
    char cand[4096];
    if (snprintf(cand, sizeof cand, "%s/semseg-onnx/plugins", real) > 0 && is_dir(cand)) {
        snprintf(out, size, "%s", cand);
    } else if (snprintf(cand, sizeof cand, "%s/../%s/semseg-onnx/plugins", real, SEMSEG_INSTALL_LIBDIR_REL) > 0 &&
               is_dir(cand)) {
        snprintf(out, size, "%s", cand);
    } else if (build[0] && root && strncmp(real, build, root) == 0 && real[root] == '/') {
        snprintf(out, size, "%s", build);
    }
    free(real);
}

semseg_status host_scan(host *h, const host_config *cfg, char *err)
{
    memset(h, 0, sizeof *h);
    h->ref = -1;
    semseg_status st = SEMSEG_STATUS_OK;
    for (int i = 0; i < cfg->n_files && st == SEMSEG_STATUS_OK; i++) {
        struct stat sb;
        if (stat(cfg->files[i], &sb) != 0) {
            snprintf(err, SEMSEG_ERRMSG_SIZE, "plugin file %s: no such file", cfg->files[i]);
            return SEMSEG_STATUS_IO;
        }
        st = add_file(h, cfg->files[i]);
    }
    const char *env = getenv("SEMSEG_PLUGIN_PATH");
    if (env && st == SEMSEG_STATUS_OK) {
        char *copy = strdup(env);
        if (!copy) st = SEMSEG_STATUS_NO_MEMORY;
        for (char *save = NULL, *tok = copy ? strtok_r(copy, ":", &save) : NULL;
             tok && st == SEMSEG_STATUS_OK; tok = strtok_r(NULL, ":", &save))
            st = add_dir(h, tok);
        free(copy);
    }
    if (st == SEMSEG_STATUS_OK) {
        char dir[4096];
        default_dir(dir, sizeof dir);
        st = add_dir(h, dir);
    }
    if (st != SEMSEG_STATUS_OK) snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory while scanning plugins");
    return st;
}

static int find_named(const host *h, const char *name, size_t len)
{
    for (int i = 0; i < h->n_all; i++)
        if (h->all[i].api && strlen(h->all[i].api->name) == len && strncmp(h->all[i].api->name, name, len) == 0)
            return i;
    return -1;
}

static int in_order(const host *h, int idx)
{
    for (int i = 0; i < h->n_order; i++)
        if (h->order[i] == idx) return 1;
    return 0;
}

int host_init_plugin(host *h, int i, int threads)
{
    host_plugin *p = &h->all[i];
    if (p->ctx || p->usable) return p->usable;
    semseg_plugin_config cfg = { sizeof cfg, threads, p->file };
    char msg[SEMSEG_ERRMSG_SIZE] = "";
    semseg_status st = p->api->init(&cfg, &p->ctx, msg);
    if (st != SEMSEG_STATUS_OK) {
        snprintf(p->reason, sizeof p->reason, "%s", msg[0] ? msg : "init failed");
        p->ctx = NULL;
        return 0;
    }
    p->usable = 1;
    p->reason[0] = '\0';
    if (p->api->describe) p->api->describe(p->ctx, p->reason, sizeof p->reason);
    return 1;
}

static void list_names(const host *h, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < h->n_all; i++) {
        if (!h->all[i].api || (h->all[i].reason[0] && strncmp(h->all[i].reason, "shadowed", 8) == 0)) continue;
        int w = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", h->all[i].api->name);
        if (w < 0 || (size_t)w >= size - used) break;
        used += (size_t)w;
    }
}

semseg_status host_open(host *h, const host_config *cfg, char *err)
{
    semseg_status st = host_scan(h, cfg, err);
    if (st != SEMSEG_STATUS_OK) return st;
    h->order = calloc((size_t)h->n_all + 1, sizeof(int));
    if (!h->order) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory");
        return SEMSEG_STATUS_NO_MEMORY;
    }
    h->ref = find_named(h, "ref", 3);
    if (h->ref < 0 || !host_init_plugin(h, h->ref, cfg->threads)) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "the ref plugin (semseg-ref.so) was not found or failed: %s; "
                 "set SEMSEG_PLUGIN_PATH to the folder holding it",
                 h->ref >= 0 ? h->all[h->ref].reason : "not on the search path");
        return SEMSEG_STATUS_PLUGIN;
    }

    const char *list = cfg->backends;
    if (list && list[0]) {
        for (const char *s = list; *s;) {
            const char *e = strchr(s, ',');
            size_t len = e ? (size_t)(e - s) : strlen(s);
            while (len && *s == ' ') s++, len--;
            while (len && s[len - 1] == ' ') len--;
            if (len) {
                int i = find_named(h, s, len);
                if (i < 0) {
                    char names[256];
                    list_names(h, names, sizeof names);
                    snprintf(err, SEMSEG_ERRMSG_SIZE, "unknown backend '%.*s' in --backend; available: %s",
                             (int)len, s, names);
                    return SEMSEG_STATUS_INVALID_ARGUMENT;
                }
                if (!in_order(h, i)) {
                    if (host_init_plugin(h, i, cfg->threads))
                        h->order[h->n_order++] = i;
                    else
                        fprintf(stderr, "semseg: backend '%s' skipped: %s\n", h->all[i].api->name, h->all[i].reason);
                }
            }
            if (!e) break;
            s = e + 1;
        }
    } else {
        /* third-party, then blas, then ref */
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < h->n_all; i++) {
                const semseg_plugin_i *a = h->all[i].api;
                if (!a) continue;
                int builtin = !strcmp(a->name, "ref") || !strcmp(a->name, "blas") || !strcmp(a->name, "opencl");
                int want = pass == 0 ? !builtin : !strcmp(a->name, "blas");
                if (want && !in_order(h, i) && host_init_plugin(h, i, cfg->threads)) h->order[h->n_order++] = i;
            }
        }
    }
    if (!in_order(h, h->ref)) h->order[h->n_order++] = h->ref;

    h->n_kinds = 1;
    for (int k = 0; k < h->n_order; k++) {
        host_plugin *p = &h->all[h->order[k]];
        p->mem_kind = host_has_memory(p) ? h->n_kinds++ : 0;
    }
    return SEMSEG_STATUS_OK;
}

void host_close(host *h)
{
    for (int i = 0; i < h->n_all; i++) {
        host_plugin *p = &h->all[i];
        if (p->ctx && p->api->shutdown) p->api->shutdown(p->ctx);
        if (p->dl) dlclose(p->dl);
        free(p->file);
    }
    free(h->all);
    free(h->order);
    memset(h, 0, sizeof *h);
}
