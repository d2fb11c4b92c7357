/*
 * Public API: options, status names and the plugin listing for
 * `semseg-onnx plugins`.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "session_impl.h"

const char *semseg_status_name(semseg_status st)
{
    switch (st) {
    case SEMSEG_STATUS_OK: return "ok";
    case SEMSEG_STATUS_INVALID_ARGUMENT: return "invalid argument";
    case SEMSEG_STATUS_UNSUPPORTED: return "unsupported";
    case SEMSEG_STATUS_NO_MEMORY: return "out of memory";
    case SEMSEG_STATUS_IO: return "i/o error";
    case SEMSEG_STATUS_MODEL: return "invalid model";
    case SEMSEG_STATUS_UNUSABLE: return "unusable";
    case SEMSEG_STATUS_INTERNAL: return "internal error";
    case SEMSEG_STATUS_PLUGIN: return "plugin error";
    }
    return "unknown status";
}

semseg_status sess_fail(semseg_error *err, semseg_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = st;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        /* Names come from the file and may hold any byte: keep it one printable line. */
        for (unsigned char *c = (unsigned char *)err->message; *c; c++)
            if (*c < 0x20 || *c == 0x7f) *c = '?';
    }
    return st;
}

semseg_options *semseg_options_new(void)
{
    semseg_options *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = n > 0 ? (int)n : 1;
    o->optimize = 1;
    return o;
}

void semseg_options_free(semseg_options *o)
{
    if (!o) return;
    free(o->backends);
    for (int i = 0; i < o->n_files; i++) free(o->files[i]);
    free(o->files);
    free(o);
}

semseg_status semseg_options_set_backends(semseg_options *o, const char *list, semseg_error *err)
{
    char *copy = NULL;
    if (list && list[0]) {
        copy = strdup(list);
        if (!copy) return sess_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory");
    }
    free(o->backends);
    o->backends = copy;
    return SEMSEG_STATUS_OK;
}

semseg_status semseg_options_set_threads(semseg_options *o, int threads, semseg_error *err)
{
    if (threads < 1 || threads > 1024)
        return sess_fail(err, SEMSEG_STATUS_INVALID_ARGUMENT, "thread count %d is out of range (1..1024)", threads);
    o->threads = threads;
    return SEMSEG_STATUS_OK;
}

semseg_status semseg_options_add_plugin_file(semseg_options *o, const char *path, semseg_error *err)
{
    char **nf = realloc(o->files, sizeof *nf * (size_t)(o->n_files + 1));
    if (!nf) return sess_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory");
    o->files = nf;
    if (!(o->files[o->n_files] = strdup(path))) return sess_fail(err, SEMSEG_STATUS_NO_MEMORY, "out of memory");
    o->n_files++;
    return SEMSEG_STATUS_OK;
}

void semseg_options_set_optimize(semseg_options *o, int on)
{
    o->optimize = on != 0;
}

void semseg_options_set_profile(semseg_options *o, int on)
{
    o->profile = on != 0;
}

void semseg_options_set_limits(semseg_options *o, int64_t max_tensor_elements, size_t max_model_bytes)
{
    o->max_tensor_elements = max_tensor_elements > 0 ? max_tensor_elements : 0;
    o->max_model_bytes = max_model_bytes;
}

host_config sess_host_config(const semseg_options *o)
{
    host_config c = { o->backends, o->threads, o->files, o->n_files };
    return c;
}

semseg_status semseg_plugins_list(const semseg_options *o, semseg_plugin_visit_fn fn, void *user,
                                  semseg_error *err)
{
    semseg_options defaults = { 0 };
    defaults.threads = 1;
    if (!o) o = &defaults;
    host_config cfg = sess_host_config(o);
    host h;
    char msg[SEMSEG_ERRMSG_SIZE] = "";
    semseg_status st = host_scan(&h, &cfg, msg);
    if (st != SEMSEG_STATUS_OK) {
        host_close(&h);
        return sess_fail(err, st, "%s", msg);
    }
    for (int i = 0; i < h.n_all; i++) {
        host_plugin *p = &h.all[i];
        semseg_plugin_desc d = { "", "", "", p->file, 0, 0, 0, p->reason };
        if (p->api) {
            d.name = p->api->name;
            d.version = p->api->version ? p->api->version : "";
            d.description = p->api->description ? p->api->description : "";
            d.abi_major = p->api->abi_major;
            d.abi_minor = p->api->abi_minor;
            /* probe: init and describe; host_close shuts it down */
            if (!p->reason[0]) {
                d.usable = host_init_plugin(&h, i, o->threads);
                if (!d.usable) {
                    char why[SEMSEG_ERRMSG_SIZE];
                    snprintf(why, sizeof why, "%s", p->reason);
                    snprintf(p->reason, sizeof p->reason, "unusable here: %.*s",
                             (int)(sizeof p->reason - 16), why);
                }
            }
        } else {
            d.abi_major = p->abi_major;
            d.abi_minor = p->abi_minor;
        }
        fn(&d, user);
    }
    host_close(&h);
    return SEMSEG_STATUS_OK;
}
