/*
 * What the benchmarks need from the operating system: a clock, a process
 * id for unique names, the raw attach that bench-region compares the
 * library with, the cross-process wake-up bench, the Redis server
 * bench-map compares the map with, and the reader process (with memory
 * shared with it) of bench-map's resize section.  bench/os-posix.c and
 * bench/os-win.c implement it; the build picks one.
 */
#ifndef SMEM_BENCH_H
#define SMEM_BENCH_H

#include "sharedmem.h"

#include <stddef.h>
#include <stdint.h>

/* A monotonic clock, in nanoseconds. */
int64_t bench_now_ns(void);

long bench_pid(void);

/* Prints "WHAT: smem_strerror(ERR)" and exits with status 1. */
void bench_die(const char *what, int err);

/* The median of the N figures at V (reorders them). */
double bench_median(double *v, int n);

/* Keeps the compiler from dropping a copy into P that nobody reads. */
static inline void bench_clobber(void *p)
{
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

/* What bench_raw_attach does, for the table ("shm_open+fstat+mmap+..."). */
extern const char bench_raw_attach_label[];

/* ns per raw attach + detach of the object behind the existing region
 * NAME, with the system calls any shared-memory attach needs. */
double bench_raw_attach(const char *name, int iters);

/* Prints the latency from a set of V (named NAME) in this process to the
 * return of smem_value_wait in another, next to raw hand-offs, over
 * SAMPLES samples. */
void bench_wake_latency(smem_value *v, const char *name, int samples);

/* Starts a redis-server for bench-map, listening on 127.0.0.1 only, on a
 * free port it picks, with no persistence (--save "" --appendonly no),
 * and waits until it accepts connections.  Returns 0 with *port set,
 * SMEM_ENOENT if no redis-server is installed, SMEM_ENOTSUP where the
 * bench cannot run one (Windows), or another negative code.  The server
 * is stopped by bench_redis_stop, at exit, on SIGINT/SIGTERM/SIGHUP, and
 * (on Linux) when the bench dies in any other way. */
int bench_redis_start(int *port);

/* Stops the server bench_redis_start started, if any; idempotent. */
void bench_redis_stop(void);

/* SIZE bytes of zeroed memory that children started after this call
 * share with this process (anonymous shared memory on Linux), or NULL;
 * bench_shared_free gives it back. */
void *bench_shared_alloc(size_t size);
void bench_shared_free(void *p, size_t size);

/* Starts a child process that runs FN(ARG) and exits with its return
 * value (0: all went well).  The child is killed if this process dies.
 * Returns the child's id (> 0), SMEM_ENOTSUP where the bench cannot start
 * one (Windows: its children are forked), or another negative code. */
long bench_child_start(int (*fn)(void *arg), void *arg);

/* Waits for the child bench_child_start started: its exit status (0 if
 * FN returned 0), or -1 if it was killed. */
int bench_child_wait(long child);

#endif
