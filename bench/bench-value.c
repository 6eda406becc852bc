/*
 * Values: cost of get and set next to memcpy of the same size, and the
 * latency from a set in one process to the return of a waiter in another,
 * next to raw futex and raw spinning hand-offs between two processes.
 * Every baseline is measured in the same run.
 *
 * usage: bench-value [SAMPLES]
 */
#include "sharedmem.h"

#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what, int err)
{
    fprintf(stderr, "bench-value: %s: %s\n", what, smem_strerror(err));
    exit(1);
}

/* Keeps the compiler from dropping a copy nobody reads. */
static void clobber(void *p)
{
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

/* ------------------------------------------------------------------------ */
/* get and set next to memcpy                                              */

#define BATCHES 15

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static void bench_copy(smem_value *v, size_t size)
{
    static unsigned char src[4096], dst[4096], shared_like[4096];
    memset(src, 'x', sizeof src);
    if (smem_value_set(v, src, size) < 0)
        die("set", SMEM_EINVAL);
    int iters = size >= 4096 ? 200000 : 2000000;
    double t_get[BATCHES], t_set[BATCHES], t_cpy[BATCHES];
    for (int b = 0; b < BATCHES; b++) {
        int64_t t0 = now_ns();
        for (int i = 0; i < iters; i++) {
            memcpy(dst, shared_like, size);
            clobber(dst);
        }
        t_cpy[b] = (double)(now_ns() - t0) / iters;

        size_t len;
        uint64_t ver;
        t0 = now_ns();
        for (int i = 0; i < iters; i++) {
            smem_value_get(v, dst, sizeof dst, &len, &ver);
            clobber(dst);
        }
        t_get[b] = (double)(now_ns() - t0) / iters;

        t0 = now_ns();
        for (int i = 0; i < iters; i++)
            smem_value_set(v, src, size);
        t_set[b] = (double)(now_ns() - t0) / iters;
    }
    double g = median_of(t_get, BATCHES), s = median_of(t_set, BATCHES),
           c = median_of(t_cpy, BATCHES);
    printf("  %5zu B   get %7.1f ns   set %7.1f ns   memcpy %7.1f ns   get/(memcpy+10ns) %.2f\n",
           size, g, s, c, g / (c + 10));
}

/* ------------------------------------------------------------------------ */
/* Wake-up latency between two processes                                   */

/* Shared between the two processes of a latency run. */
struct board {
    uint32_t ready;   /* the waiter is about to wait (sequence number) */
    uint32_t word;    /* raw futex / spin word */
    int64_t sent_at;  /* when the setter published */
    int64_t seen_at;  /* when the waiter returned */
    uint32_t done;    /* the waiter has recorded seen_at (sequence number) */
};

static void futex_wait(uint32_t *w, uint32_t expected)
{
    syscall(SYS_futex, w, FUTEX_WAIT, expected, NULL, NULL, 0);
}

static void futex_wake(uint32_t *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void spin_for(int64_t ns)
{
    int64_t end = now_ns() + ns;
    while (now_ns() < end) {
    }
}

enum mode { RAW_FUTEX, RAW_SPIN, SMEM_SLEEPING, SMEM_SPINNING };

/* The waiter's side of one run: N rounds. */
static void waiter(enum mode mode, struct board *bd, const char *name, int n)
{
    smem_value *v = NULL;
    if (mode >= SMEM_SLEEPING && smem_value_open(name, 0, &(smem_opts){.flags = SMEM_NOCREATE}, &v) < 0)
        _exit(1);
    for (int i = 1; i <= n; i++) {
        uint32_t w = __atomic_load_n(&bd->word, __ATOMIC_ACQUIRE);
        uint64_t seen = v ? smem_value_version(v) : 0;
        __atomic_store_n(&bd->ready, (uint32_t)i, __ATOMIC_RELEASE);
        switch (mode) {
        case RAW_FUTEX:
            while (__atomic_load_n(&bd->word, __ATOMIC_ACQUIRE) == w)
                futex_wait(&bd->word, w);
            break;
        case RAW_SPIN:
            while (__atomic_load_n(&bd->word, __ATOMIC_ACQUIRE) == w) {
            }
            break;
        default:
            if (smem_value_wait(v, seen, 5000) < 0)
                _exit(1);
        }
        bd->seen_at = now_ns();
        __atomic_store_n(&bd->done, (uint32_t)i, __ATOMIC_RELEASE);
    }
    smem_value_close(v);
    _exit(0);
}

/* One run: the setter publishes DELAY ns after the waiter said it was
 * about to wait.  Prints median and 99th percentile of set -> return. */
static void latency(const char *label, enum mode mode, smem_value *v, const char *name, int n,
                    int64_t delay, int64_t *median_out)
{
    struct board *bd = mmap(NULL, sizeof *bd, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                            -1, 0);
    if (bd == MAP_FAILED)
        die("mmap", SMEM_ENOMEM);
    memset(bd, 0, sizeof *bd);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        waiter(mode, bd, name, n);
    int64_t *lat = malloc(sizeof(int64_t) * (size_t)n);
    for (int i = 1; i <= n; i++) {
        while (__atomic_load_n(&bd->ready, __ATOMIC_ACQUIRE) != (uint32_t)i) {
        }
        spin_for(delay);
        int64_t t0 = now_ns();
        if (mode == SMEM_SLEEPING || mode == SMEM_SPINNING) {
            smem_value_set(v, &t0, sizeof t0);
        } else {
            __atomic_fetch_add(&bd->word, 1, __ATOMIC_RELEASE);
            if (mode == RAW_FUTEX)
                futex_wake(&bd->word);
        }
        while (__atomic_load_n(&bd->done, __ATOMIC_ACQUIRE) != (uint32_t)i) {
        }
        lat[i - 1] = bd->seen_at - t0;
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench-value: waiter failed\n");
        exit(1);
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_i64);
    int64_t p50 = lat[n / 2], p99 = lat[(n * 99) / 100];
    printf("  %-44s median %7lld ns   p99 %7lld ns\n", label, (long long)p50, (long long)p99);
    *median_out = p50;
    free(lat);
    munmap(bd, sizeof *bd);
}

int main(int argc, char **argv)
{
    int samples = argc > 1 ? atoi(argv[1]) : 2000;
    if (samples < 10) {
        fprintf(stderr, "usage: bench-value [SAMPLES >= 10]\n");
        return 2;
    }
    char name[64];
    snprintf(name, sizeof name, "bench-value-%ld", (long)getpid());
    smem_value *v;
    int rc = smem_value_open(name, 4096, NULL, &v);
    if (rc < 0)
        die("open", rc);

    printf("get and set, median of %d batches, next to memcpy of the same size:\n", BATCHES);
    bench_copy(v, 16);
    bench_copy(v, 64);
    bench_copy(v, 256);
    bench_copy(v, 4096);

    printf("\nfrom a set in one process to the waiter's return in another, %d samples:\n",
           samples);
    int64_t raw_futex, raw_spin, smem_sleep, smem_spin;
    /* The waiter has been asleep for 200 us (past the library's 20 us
     * spin) when the set comes. */
    latency("raw futex wake (waiter asleep)", RAW_FUTEX, v, name, samples, 200000, &raw_futex);
    latency("smem_value_wait (waiter asleep)", SMEM_SLEEPING, v, name, samples, 200000,
            &smem_sleep);
    /* The set comes 2 us after the waiter started waiting. */
    latency("raw spinning (waiter spinning)", RAW_SPIN, v, name, samples, 2000, &raw_spin);
    latency("smem_value_wait (waiter still spinning)", SMEM_SPINNING, v, name, samples, 2000,
            &smem_spin);
    printf("  ratios: asleep %.2fx raw futex (goal <= 1.2x); spinning %.2fx raw spin (goal <= 3x)\n",
           (double)smem_sleep / (double)raw_futex, (double)smem_spin / (double)raw_spin);
    smem_value_close(v);
    return 0;
}
