/*
 * ref_fail (ref.h): one line on what went wrong, into err. In a file of its
 * own so that the programs that link some of the plugin's sources without
 * the plugin table (the DenseCRF and nn-case tests, the DenseCRF benchmark
 * drivers) link this one too.
 */
#include <stdarg.h>
#include <stdio.h>

#include "ref.h"

semseg_status ref_fail(char *err, semseg_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, SEMSEG_ERRMSG_SIZE, fmt, ap);
        va_end(ap);
    }
    return st;
}
