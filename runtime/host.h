/*
 * Plugin host: finds plugin files on the search path, opens them with dlopen,
 * checks their ABI, initialises a context per session and orders them by the
 * user's backend priority list.
 */
#ifndef SEMSEG_HOST_H
#define SEMSEG_HOST_H

#include "semseg/semseg.h"

typedef struct host_plugin {
    char *file;
    void *dl;
    const semseg_plugin_i *api;
    void *ctx;                 /* from init, NULL if not initialised */
    int usable;
    char reason[SEMSEG_ERRMSG_SIZE];  /* why refused/unusable, or describe() text */
    unsigned abi_major, abi_minor; /* as the entry reported, even when refused */
    int mem_kind;              /* 0 host, >0 own memory (index into the session's kinds) */
} host_plugin;

typedef struct host {
    host_plugin *all;          /* every file found, in search order */
    int n_all;
    int *order;                /* indices into all: the usable plugins in priority order */
    int n_order;
    int ref;                   /* index into all of the `ref` plugin (always usable), or -1 */
    int n_kinds;               /* 1 + plugins with own memory */
} host;

typedef struct host_config {
    const char *backends;      /* comma list or NULL/"" for default */
    int threads;
    char **files;              /* explicit plugin files */
    int n_files;
} host_config;

/* Scans the search path and loads every plugin (without init). */
semseg_status host_scan(host *h, const host_config *cfg, char *err);
/* Initialises the plugins the backend list asks for and orders them. */
semseg_status host_open(host *h, const host_config *cfg, char *err);
void host_close(host *h);
/* Initialises plugin i of h->all once (a no-op when already done); returns 1
 * when usable. reason then holds describe()'s text, or why init failed. */
int host_init_plugin(host *h, int i, int threads);

/* Has this plugin its own memory? */
static inline int host_has_memory(const host_plugin *p)
{
    return p->api->mem_alloc != NULL;
}

#endif
