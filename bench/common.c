/*
 * What every benchmark shares and the operating system has no part in
 * (bench.h).
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>

void bench_die(const char *what, int err)
{
    fprintf(stderr, "%s: %s\n", what, smem_strerror(err));
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
