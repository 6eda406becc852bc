/*
 * Cost of attaching to and detaching from an existing region
 * (smem_region_open + smem_region_close), next to the raw system calls
 * that any shared-memory attach needs (shm_open + fstat + mmap + munmap +
 * close) on the same object, measured in the same run.
 *
 * Both loops run in alternating batches, so that a burst of noise on this
 * shared machine hits both alike; the figures are medians over batches.
 *
 * usage: bench-region [BATCHES [ITERATIONS]]
 */
#include "sharedmem.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REGION_SIZE 4096

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "bench-region: %s: %s\n", what, smem_strerror(err));
    exit(1);
}

/* ns per attach+detach through the library */
static double batch_library(const char *name, int iters)
{
    smem_opts opts = {.flags = SMEM_NOCREATE};
    double t0 = now_ns();
    for (int i = 0; i < iters; i++) {
        smem_region *r;
        int rc = smem_region_open(name, REGION_SIZE, &opts, &r);
        if (rc < 0)
            die("smem_region_open", rc);
        smem_region_close(r);
    }
    return (now_ns() - t0) / iters;
}

/* ns per shm_open + fstat + mmap + munmap + close of the same object */
static double batch_raw(const char *shm_name, int iters)
{
    double t0 = now_ns();
    for (int i = 0; i < iters; i++) {
        int fd = shm_open(shm_name, O_RDWR, 0);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) < 0) {
            perror("bench-region: shm_open/fstat");
            exit(1);
        }
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            perror("bench-region: mmap");
            exit(1);
        }
        munmap(p, (size_t)sb.st_size);
        close(fd);
    }
    return (now_ns() - t0) / iters;
}

int main(int argc, char **argv)
{
    int batches = argc > 1 ? atoi(argv[1]) : 21;
    int iters = argc > 2 ? atoi(argv[2]) : 2000;
    if (batches < 1 || iters < 1) {
        fprintf(stderr, "usage: bench-region [BATCHES [ITERATIONS]]\n");
        return 2;
    }

    char name[64], shm_name[80];
    snprintf(name, sizeof name, "bench-region-%ld", (long)getpid());
    snprintf(shm_name, sizeof shm_name, "/smem.%s", name);

    /* Held open throughout, so every measured open attaches to it. */
    smem_region *keep;
    int rc = smem_region_open(name, REGION_SIZE, NULL, &keep);
    if (rc < 0)
        die("create", rc);

    double *lib = malloc(sizeof(double) * (size_t)batches);
    double *raw = malloc(sizeof(double) * (size_t)batches);
    if (!lib || !raw)
        die("malloc", SMEM_ENOMEM);
    batch_library(name, iters / 10 + 1); /* warm up */
    batch_raw(shm_name, iters / 10 + 1);
    for (int b = 0; b < batches; b++) {
        raw[b] = batch_raw(shm_name, iters);
        lib[b] = batch_library(name, iters);
    }
    smem_region_close(keep);

    double m_raw = median(raw, batches), m_lib = median(lib, batches);
    printf("attach+detach of an existing %d-byte region, median of %d batches x %d:\n",
           REGION_SIZE, batches, iters);
    printf("  raw shm_open+fstat+mmap+munmap+close  %8.0f ns\n", m_raw);
    printf("  smem_region_open+smem_region_close    %8.0f ns\n", m_lib);
    printf("  ratio                                 %8.2fx   (goal: <= 3x)\n", m_lib / m_raw);
    free(lib);
    free(raw);
    return 0;
}
