/* Readers make progress against writers that never pause.
 *
 * "Takes no lock and never waits for a writer": a get must not be held up
 * by a live writer either, even one that sets big values back to back
 * (a producer publishing frames).  A writer process sets 512 KiB (or
 * 64 KiB, 1 MiB) values nonstop while this process gets them, into buffers
 * taken in turn from 32 MiB (a reader's buffer is not always hot in the
 * cache; a copy into cold memory is slower than the writer's copy from
 * its hot source, the case where a reader can lose the race to the writer
 * again and again).  Every get must be
 * whole, and must cost a bounded amount of work: its CPU time is compared
 * with that of a get with no writer about (a seqlock reader that keeps
 * losing the race to the writer burns CPU copying and retrying; a reader
 * that is merely preempted by a busy machine does not), and the number of
 * times it went to sleep (a get that sleeps is waiting for the writer) is
 * bounded.  Wall-clock time per get is reported and bounded loosely (a
 * loaded machine stalls any loop for tens of milliseconds).  A get must
 * never fail because a writer is busy, whatever the handle's timeout_ms. */
#include "check.h"

#include "test_value_kit.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CPU_FACTOR 200                  /* a get may cost this many quiet gets */
#define CPU_EXTRA_NS INT64_C(2000000)   /* plus 2 ms */
#define MAX_WALL_NS INT64_C(1000000000) /* 1 s (plus 100 quiet gets: sanitizers) */
#define RING_BYTES ((size_t)32 << 20) /* the reader's buffers: cold in the cache */
#define MAX_SLEEPS 50 /* times one get may go to sleep (it lost the race 64+ times first) */
/* Gets per run that may exceed the CPU limit.  On this shared VM a single
 * get now and then is charged tens of milliseconds of CPU along with a
 * 100 ms stall of the whole machine; a reader that keeps losing the race
 * shows as many such gets (19 in a run before writers paced themselves),
 * or as failed or sleeping gets, which are not excused. */
#define MAX_OVER 2

static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};

/* writer NAME: sets two big values in turn until stdin closes. */
static int helper_writer(int argc, char **argv)
{
    CHECK(argc == 1);
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(argv[0], 0, &nocreate, &v));
    size_t cap = smem_value_capacity(v);
    unsigned char *b[2];
    size_t len[2] = {cap, cap - cap / 8};
    for (int j = 0; j < 2; j++) {
        b[j] = malloc(cap);
        CHECK(b[j]);
        tv_blob_fill(b[j], len[j], 2, (uint64_t)j + 1);
    }
    th_say("ready");
    unsigned long long sets = 0;
    while (!th_listen_ready()) {
        for (int i = 0; i < 16; i++, sets++)
            CHECK_OK(smem_value_set(v, b[sets & 1], len[sets & 1]));
    }
    th_say("sets %llu", sets);
    free(b[0]);
    free(b[1]);
    smem_value_close(v);
    return 0;
}

static const th_helper helpers[] = {
    {"writer", helper_writer},
    {NULL, NULL},
};

struct quiet_gets {
    smem_value *v;
    unsigned char *ring;
    size_t nbufs, cap;
};

/* Get number I into the ring's next buffer, for tv_average_cpu_ns. */
static void quiet_get(void *arg, unsigned long i)
{
    struct quiet_gets *q = arg;
    size_t len;
    CHECK_OK(smem_value_get(q->v, q->ring + (i % q->nbufs) * q->cap, q->cap, &len, NULL));
}

/* A reader whose handle has the open option timeout_ms TIMEOUT_MS gets
 * nonstop for MS milliseconds while a writer sets CAP-byte values nonstop.
 * Logs what it saw; returns the number of broken promises (each logged). */
static int run(size_t cap, int ms, int timeout_ms)
{
    char name[SMEM_NAME_MAX + 1], line[128];
    th_name(name, "vprog");
    smem_value *v = NULL;
    const smem_opts opts = {0, 0, timeout_ms, NULL, NULL};
    CHECK_OK(smem_value_open(name, cap, &opts, &v));
    size_t nbufs = RING_BYTES / cap;
    unsigned char *ring = malloc(nbufs * cap);
    CHECK(ring);
    memset(ring, 0, nbufs * cap);
    unsigned char *buf = ring;
    tv_blob_fill(buf, cap, 1, 1);
    CHECK_OK(smem_value_set(v, buf, cap));

    /* What a get costs with no writer about, into the same buffers.  A
     * limit on one get allows for a coarse CPU clock's two ticks (see the
     * kit). */
    struct quiet_gets q = {v, ring, nbufs, cap};
    int64_t quiet = tv_average_cpu_ns(quiet_get, &q, 200);
    int64_t limit = CPU_FACTOR * quiet + CPU_EXTRA_NS + 2 * tv_cpu_tick_ns();
    int64_t max_wall = MAX_WALL_NS + 100 * quiet;

    th_proc w;
    th_spawn(&w, -1, "writer", name, NULL);
    th_expect(&w, "ready", 20000);
    tv_observer o;
    memset(&o, 0, sizeof o);
    o.who = "reader";
    int64_t end = tv_now_ns() + (int64_t)ms * 1000000;
    int64_t worst_cpu = 0, worst_wall = 0, total_cpu = 0, worst_slept_wall = 0;
    unsigned long over = 0, slept = 0, failed = 0;
    long worst_sleeps = 0;
    int first_rc = 0;
    unsigned long long gets = 0;
    while (tv_now_ns() < end) {
        size_t len;
        uint64_t ver;
        buf = ring + (size_t)(gets % nbufs) * cap;
        tv_meter m;
        tv_meter_start(&m);
        int rc = smem_value_get(v, buf, cap, &len, &ver);
        tv_cost c = tv_meter_stop(&m);
        gets++;
        total_cpu += c.cpu_ns;
        if (c.cpu_ns > worst_cpu)
            worst_cpu = c.cpu_ns;
        if (c.wall_ns > worst_wall)
            worst_wall = c.wall_ns;
        if (c.cpu_ns > limit)
            over++;
        if (c.sleeps > worst_sleeps)
            worst_sleeps = c.sleeps;
        if (c.sleeps > 0) {
            slept++;
            if (c.wall_ns > worst_slept_wall)
                worst_slept_wall = c.wall_ns;
        }
        if (rc != 0) {
            if (failed++ == 0)
                first_rc = rc;
            continue;
        }
        if ((gets & 63) == 0) /* checking 512 KiB costs much more than getting it */
            tv_observe(&o, buf, len, ver);
    }
    th_send(&w, "stop");
    th_recv(&w, line, sizeof line, 20000);
    th_wait_ok(&w, 20000);
    th_log("%zu KiB values, reader's timeout_ms %d, writer nonstop (%s): %llu gets (%lu failed), "
           "%llu changes seen; CPU per get: quiet %lld us, average %lld us, worst %lld us "
           "(limit %lld us, %lu over); %lu gets slept, one up to %ld times; worst wall time "
           "%lld us (of gets that slept: %lld us)",
           cap / 1024, timeout_ms, line, gets, failed, (unsigned long long)o.changes,
           (long long)(quiet / 1000), (long long)(total_cpu / (int64_t)gets / 1000),
           (long long)(worst_cpu / 1000), (long long)(limit / 1000), over, slept, worst_sleeps,
           (long long)(worst_wall / 1000), (long long)(worst_slept_wall / 1000));
    int problems = 0;
    if (failed) {
        th_log("PROBLEM: %lu of %llu gets failed (the first with %d, %s) though the region is "
               "healthy and its writer alive",
               failed, gets, first_rc, smem_err_name(first_rc));
        problems++;
    }
    if (over > MAX_OVER) {
        th_log("PROBLEM: %lu gets (more than %d) cost more than %lld us of CPU (200 quiet gets + "
               "2 ms + 2 CPU clock ticks), the worst %lld us: the reader kept losing the race to "
               "the writer",
               over, MAX_OVER, (long long)(limit / 1000), (long long)(worst_cpu / 1000));
        problems++;
    }
    if (worst_sleeps > MAX_SLEEPS) {
        th_log("PROBLEM: a get went to sleep %ld times (more than %d), waiting for the writer",
               worst_sleeps, MAX_SLEEPS);
        problems++;
    }
    if (worst_wall >= max_wall) {
        th_log("PROBLEM: a get took %lld ms", (long long)(worst_wall / 1000000));
        problems++;
    }
    unsigned long long sets = 0;
    CHECKF(sscanf(line, "sets %llu", &sets) == 1 && sets >= 10, "writer said \"%s\"", line);
    free(ring);
    smem_value_close(v);
    return problems;
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    if (!TV_COUNTS_SLEEPS)
        th_log("this system counts no sleeps per thread: MAX_SLEEPS is not checked");
    th_log("the CPU clock's step: %lld us", (long long)(tv_cpu_tick_ns() / 1000));
    int problems = 0;
    problems += run(512 * 1024, 3000, 0);
    problems += run(64 * 1024, 2000, 0);
    problems += run(1024 * 1024, 2000, 0);
    /* A short timeout_ms is the open's business (and a set's lock wait):
     * it must not make gets fail while a writer is merely busy. */
    problems += run(512 * 1024, 2000, 10);
    problems += run(64 * 1024, 2000, 10);
    CHECKF(problems == 0, "%d problems (see PROBLEM above): readers are held up by a writer "
                          "that sets nonstop",
           problems);
    return 0;
}
