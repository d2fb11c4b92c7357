/*
 * ref_fail for the benchmark drivers, which link the ref plugin's DenseCRF
 * and lattice sources without the rest of the plugin (ref.h declares it).
 */
#include <stdarg.h>
#include <stdio.h>

#include "ref.h"

semseg_status ref_fail(char *err, semseg_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, SEMSEG_ERRMSG_SIZE, fmt, ap);
    va_end(ap);
    return st;
}
