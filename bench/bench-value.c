/*
 * Values: cost of get and set next to memcpy of the same size, and the
 * latency from a set in one process to the return of a waiter in another,
 * next to raw futex and raw spinning hand-offs between two processes.
 * Every baseline is measured in the same run.
 *
 * usage: bench-value [SAMPLES]
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ------------------------------------------------------------------------ */
/* get and set next to memcpy                                              */

#define BATCHES 15

static void bench_copy(smem_value *v, size_t size)
{
    static unsigned char src[4096], dst[4096], shared_like[4096];
    memset(src, 'x', sizeof src);
    if (smem_value_set(v, src, size) < 0)
        bench_die("bench-value: set", SMEM_EINVAL);
    int iters = size >= 4096 ? 200000 : 2000000;
    double t_get[BATCHES], t_set[BATCHES], t_cpy[BATCHES];
    for (int b = 0; b < BATCHES; b++) {
        int64_t t0 = bench_now_ns();
        for (int i = 0; i < iters; i++) {
            memcpy(dst, shared_like, size);
            bench_clobber(dst);
        }
        t_cpy[b] = (double)(bench_now_ns() - t0) / iters;

        size_t len;
        uint64_t ver;
        t0 = bench_now_ns();
        for (int i = 0; i < iters; i++) {
            smem_value_get(v, dst, sizeof dst, &len, &ver);
            bench_clobber(dst);
        }
        t_get[b] = (double)(bench_now_ns() - t0) / iters;

        t0 = bench_now_ns();
        for (int i = 0; i < iters; i++)
            smem_value_set(v, src, size);
        t_set[b] = (double)(bench_now_ns() - t0) / iters;
    }
    double g = bench_median(t_get, BATCHES), s = bench_median(t_set, BATCHES),
           c = bench_median(t_cpy, BATCHES);
    printf("  %5zu B   get %7.1f ns   set %7.1f ns   memcpy %7.1f ns   get/(memcpy+10ns) %.2f\n",
           size, g, s, c, g / (c + 10));
}

int main(int argc, char **argv)
{
    int samples = argc > 1 ? atoi(argv[1]) : 2000;
    if (samples < 10) {
        fprintf(stderr, "usage: bench-value [SAMPLES >= 10]\n");
        return 2;
    }
    char name[64];
    snprintf(name, sizeof name, "bench-value-%ld", bench_pid());
    smem_value *v;
    int rc = smem_value_open(name, 4096, NULL, &v);
    if (rc < 0)
        bench_die("bench-value: open", rc);

    printf("get and set, median of %d batches, next to memcpy of the same size:\n", BATCHES);
    bench_copy(v, 16);
    bench_copy(v, 64);
    bench_copy(v, 256);
    bench_copy(v, 4096);

    bench_wake_latency(v, name, samples);
    smem_value_close(v);
    return 0;
}
