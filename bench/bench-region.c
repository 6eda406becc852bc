/*
 * Cost of attaching to and detaching from an existing region
 * (smem_region_open + smem_region_close), next to the raw system calls
 * that any shared-memory attach needs on the same object (on Linux
 * shm_open + fstat + mmap + munmap + close; on Windows OpenFileMapping +
 * MapViewOfFile + UnmapViewOfFile + CloseHandle), measured in the same run.
 *
 * Both loops run in alternating batches, so that a burst of noise on this
 * shared machine hits both alike; the figures are medians over batches.
 *
 * usage: bench-region [BATCHES [ITERATIONS]]
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>

#define REGION_SIZE 4096

/* ns per attach+detach through the library */
static double batch_library(const char *name, int iters)
{
    smem_opts opts = {.flags = SMEM_NOCREATE};
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < iters; i++) {
        smem_region *r;
        int rc = smem_region_open(name, REGION_SIZE, &opts, &r);
        if (rc < 0)
            bench_die("bench-region: smem_region_open", rc);
        smem_region_close(r);
    }
    return (double)(bench_now_ns() - t0) / iters;
}

int main(int argc, char **argv)
{
    int batches = argc > 1 ? atoi(argv[1]) : 21;
    int iters = argc > 2 ? atoi(argv[2]) : 2000;
    if (batches < 1 || iters < 1) {
        fprintf(stderr, "usage: bench-region [BATCHES [ITERATIONS]]\n");
        return 2;
    }

    char name[64];
    snprintf(name, sizeof name, "bench-region-%ld", bench_pid());

    /* Held open throughout, so every measured open attaches to it. */
    smem_region *keep;
    int rc = smem_region_open(name, REGION_SIZE, NULL, &keep);
    if (rc < 0)
        bench_die("bench-region: create", rc);

    double *lib = malloc(sizeof(double) * (size_t)batches);
    double *raw = malloc(sizeof(double) * (size_t)batches);
    if (!lib || !raw)
        bench_die("bench-region: malloc", SMEM_ENOMEM);
    batch_library(name, iters / 10 + 1); /* warm up */
    bench_raw_attach(name, iters / 10 + 1);
    for (int b = 0; b < batches; b++) {
        raw[b] = bench_raw_attach(name, iters);
        lib[b] = batch_library(name, iters);
    }
    smem_region_close(keep);

    double m_raw = bench_median(raw, batches), m_lib = bench_median(lib, batches);
    printf("attach+detach of an existing %d-byte region, median of %d batches x %d:\n",
           REGION_SIZE, batches, iters);
    printf("  %-38s %8.0f ns\n", bench_raw_attach_label, m_raw);
    printf("  %-38s %8.0f ns\n", "smem_region_open+smem_region_close", m_lib);
    printf("  %-38s %8.2fx   (goal: <= 3x)\n", "ratio", m_lib / m_raw);
    free(lib);
    free(raw);
    return 0;
}
