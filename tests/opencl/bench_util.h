/* Timing helpers shared by the opencl benchmarks (opencl_opbench,
 * opencl_modelbench): a monotonic clock in ms and a qsort comparator. */
#ifndef SEMSEG_TEST_BENCH_UTIL_H
#define SEMSEG_TEST_BENCH_UTIL_H

#include <time.h>

static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
