/* smem_value_wait: a waiter in another process (read-write or read-only)
 * is woken by a set, quickly, with timeout -1 and with a timeout; several
 * waiters are woken by one set; a wait times out after about its timeout;
 * it returns at once when SEEN is already stale (even with -1); a refused
 * set wakes nobody; a thread is woken by another thread; and a waiter that
 * follows thousands of quick sets never misses one (no lost wake-up). */
#include "check.h"

#include "test_value_kit.c"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP 256
/* A set wakes a waiter within this.  (Wake-ups take microseconds; the
 * bound leaves room for a busy machine, but not for a waiter that slept
 * through the set and woke up on a periodic timer of a second.) */
#define MAX_LATENCY_NS INT64_C(500000000)
#define SLACK_MS 400                       /* a timeout may end this late */

static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};
static const smem_opts rdonly = {SMEM_RDONLY, 0, 0, NULL, NULL};

/* ---- helpers ---------------------------------------------------------- */

/*
 * waiter NAME rw|ro: for each line "wait SEEN TIMEOUT" from the parent,
 * says "waiting", calls smem_value_wait(SEEN, TIMEOUT) and says
 * "woke RC START_NS END_NS VERSION".
 */
static int helper_waiter(int argc, char **argv)
{
    CHECK(argc == 2);
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(argv[0], 0, strcmp(argv[1], "ro") == 0 ? &rdonly : &nocreate, &v));
    char line[256];
    while (th_listen(line, sizeof line) == 0) {
        unsigned long long seen;
        int timeout;
        if (sscanf(line, "wait %llu %d", &seen, &timeout) != 2)
            FAIL("bad line \"%s\"", line);
        th_say("waiting");
        int64_t t0 = tv_now_ns();
        int rc = smem_value_wait(v, seen, timeout);
        int64_t t1 = tv_now_ns();
        th_say("woke %d %lld %lld %llu", rc, (long long)t0, (long long)t1,
               (unsigned long long)smem_value_version(v));
    }
    smem_value_close(v);
    return 0;
}

/*
 * follow NAME: waits for change after change until the value is "END",
 * never waiting more than 3 s for one (the parent sets every few
 * microseconds), checking each wake-up brings a new version; says
 * "done WAKES LONGEST_WAIT_US".
 */
static int helper_follow(int argc, char **argv)
{
    CHECK(argc == 1);
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(argv[0], 0, &rdonly, &v));
    unsigned char buf[CAP];
    size_t len;
    uint64_t seen;
    CHECK_OK(smem_value_get(v, buf, sizeof buf, &len, &seen));
    th_say("ready");
    unsigned long wakes = 0;
    int64_t longest = 0;
    for (;;) {
        int64_t t0 = tv_now_ns();
        int rc = smem_value_wait(v, seen, 3000);
        int64_t took = tv_now_ns() - t0;
        if (took > longest)
            longest = took;
        if (rc == SMEM_ETIMEDOUT)
            FAIL("no wake-up within 3 s after version %llu (version now %llu): a lost wake-up",
                 (unsigned long long)seen, (unsigned long long)smem_value_version(v));
        CHECK_OK(rc);
        uint64_t ver;
        CHECK_OK(smem_value_get(v, buf, sizeof buf, &len, &ver));
        CHECKF(ver > seen, "wait returned 0 but the version went from %llu to %llu",
               (unsigned long long)seen, (unsigned long long)ver);
        wakes++;
        seen = ver;
        if (len == 3 && memcmp(buf, "END", 3) == 0)
            break;
    }
    th_say("done %lu %lld", wakes, (long long)(longest / 1000));
    smem_value_close(v);
    return 0;
}

static const th_helper helpers[] = {
    {"waiter", helper_waiter},
    {"follow", helper_follow},
    {NULL, NULL},
};

/* ---- parent side ------------------------------------------------------ */

struct woke {
    int rc;
    int64_t t0, t1;
    uint64_t version;
};

static struct woke recv_woke(th_proc *h, int timeout_ms)
{
    char line[256];
    th_recv(h, line, sizeof line, timeout_ms);
    struct woke w;
    long long t0, t1;
    unsigned long long ver;
    if (sscanf(line, "woke %d %lld %lld %llu", &w.rc, &t0, &t1, &ver) != 4)
        FAIL("helper %d said \"%s\"", (int)h->pid, line);
    w.t0 = t0;
    w.t1 = t1;
    w.version = ver;
    return w;
}

static void set_blob(smem_value *v, size_t len, uint64_t counter)
{
    unsigned char b[CAP];
    tv_blob_fill(b, len, 1, counter);
    CHECK_OK(smem_value_set(v, b, len));
}

/* One waiter process woken by sets from here, ROUNDS times. */
static void test_cross_process_wake(const char *name, smem_value *v, const char *mode)
{
    th_proc h;
    th_spawn(&h, -1, "waiter", name, mode, NULL);
    int64_t worst = 0;
    for (int round = 0; round < 20; round++) {
        uint64_t seen = smem_value_version(v);
        int timeout = (round & 1) ? -1 : 30000;
        th_send(&h, "wait %llu %d", (unsigned long long)seen, timeout);
        th_expect(&h, "waiting", 10000);
        th_sleep_ms(round < 4 ? 100 : 20); /* let it go to sleep in the kernel */
        int64_t t0 = tv_now_ns();
        set_blob(v, (size_t)(round * 7) % CAP, (uint64_t)round + 1);
        uint64_t now = smem_value_version(v);
        struct woke w = recv_woke(&h, 10000);
        CHECKF(w.rc == 0, "%s waiter (timeout %d): wait gave %d (%s)", mode, timeout, w.rc,
               smem_err_name(w.rc));
        CHECKF(w.version > seen && w.version <= now,
               "%s waiter: woke with version %llu (seen %llu, set made %llu)", mode,
               (unsigned long long)w.version, (unsigned long long)seen,
               (unsigned long long)now);
        int64_t latency = w.t1 - t0;
        CHECKF(latency < MAX_LATENCY_NS, "%s waiter: woken %lld us after the set", mode,
               (long long)(latency / 1000));
        CHECKF(w.t1 >= t0, "%s waiter: wait returned 0 %lld us before the set", mode,
               (long long)((t0 - w.t1) / 1000));
        if (latency > worst)
            worst = latency;
    }
    th_log("%s waiter in another process: worst wake-up latency %lld us", mode,
           (long long)(worst / 1000));

    /* A wait that nobody ends times out after about its timeout. */
    const int timeouts[] = {1, 10, 100, 300};
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        uint64_t seen = smem_value_version(v);
        th_send(&h, "wait %llu %d", (unsigned long long)seen, timeouts[i]);
        th_expect(&h, "waiting", 10000);
        struct woke w = recv_woke(&h, 10000);
        CHECK_ERR(w.rc, SMEM_ETIMEDOUT);
        int64_t ms = (w.t1 - w.t0) / 1000000;
        CHECKF(w.t1 - w.t0 >= (int64_t)timeouts[i] * 1000000 - 1000000 &&
                   ms <= timeouts[i] + SLACK_MS,
               "%s waiter: timeout %d ms ended after %lld us", mode, timeouts[i],
               (long long)((w.t1 - w.t0) / 1000));
        CHECK_EQ_SIZE(w.version, seen);
    }

    /* A refused set (too big, or through a read-only handle) changes no
     * version and wakes nobody for good. */
    {
        uint64_t seen = smem_value_version(v);
        th_send(&h, "wait %llu %d", (unsigned long long)seen, 400);
        th_expect(&h, "waiting", 10000);
        th_sleep_ms(50);
        unsigned char big[CAP + 1];
        memset(big, 1, sizeof big);
        CHECK_ERR(smem_value_set(v, big, sizeof big), SMEM_E2BIG);
        smem_value *ro = NULL;
        CHECK_OK(smem_value_open(name, 0, &rdonly, &ro));
        CHECK_ERR(smem_value_set(ro, big, 1), SMEM_EBADF);
        smem_value_close(ro);
        struct woke w = recv_woke(&h, 10000);
        CHECKF(w.rc == SMEM_ETIMEDOUT, "%s waiter: a refused set ended its wait with %d (%s)",
               mode, w.rc, smem_err_name(w.rc));
        CHECK_EQ_SIZE(w.version, seen);
        CHECK_EQ_SIZE(smem_value_version(v), seen);
    }

    /* SEEN already stale: at once, even with no time limit. */
    {
        uint64_t cur = smem_value_version(v);
        const uint64_t stale[] = {0, cur - 1, cur + 1, UINT64_MAX};
        for (size_t i = 0; i < 4; i++) {
            th_send(&h, "wait %llu %d", (unsigned long long)stale[i], -1);
            th_expect(&h, "waiting", 10000);
            struct woke w = recv_woke(&h, 5000);
            CHECK_OK(w.rc);
            CHECKF(w.t1 - w.t0 < INT64_C(100000000),
                   "%s waiter: wait(seen %llu, version %llu) took %lld us", mode,
                   (unsigned long long)stale[i], (unsigned long long)cur,
                   (long long)((w.t1 - w.t0) / 1000));
        }
    }
    th_wait_ok(&h, 10000);
}

/* Three waiters, one set: all woken. */
static void test_many_waiters(const char *name, smem_value *v)
{
    th_proc h[3];
    const char *modes[3] = {"rw", "ro", "ro"};
    for (int i = 0; i < 3; i++)
        th_spawn(&h[i], -1, "waiter", name, modes[i], NULL);
    for (int round = 0; round < 5; round++) {
        uint64_t seen = smem_value_version(v);
        for (int i = 0; i < 3; i++) {
            th_send(&h[i], "wait %llu %d", (unsigned long long)seen, i == 0 ? -1 : 20000);
            th_expect(&h[i], "waiting", 10000);
        }
        th_sleep_ms(30);
        int64_t t0 = tv_now_ns();
        set_blob(v, 40, 100 + (uint64_t)round);
        for (int i = 0; i < 3; i++) {
            struct woke w = recv_woke(&h[i], 10000);
            CHECK_OK(w.rc);
            CHECK(w.version > seen);
            CHECKF(w.t1 - t0 < MAX_LATENCY_NS, "waiter %d of 3 woken %lld us after the set", i,
                   (long long)((w.t1 - t0) / 1000));
        }
    }
    for (int i = 0; i < 3; i++)
        th_wait_ok(&h[i], 10000);
}

/* In this process: timeouts and stale SEEN. */
static void test_local(smem_value *v)
{
    uint64_t cur = smem_value_version(v);
    int64_t t0 = tv_now_ns();
    CHECK_ERR(smem_value_wait(v, cur, 0), SMEM_ETIMEDOUT);
    CHECK_OK(smem_value_wait(v, cur + 1, 0));
    CHECK_OK(smem_value_wait(v, cur - 1, 10000));
    CHECK_OK(smem_value_wait(v, 0, -1));
    CHECK_OK(smem_value_wait(v, UINT64_MAX, -1));
    CHECKF(tv_now_ns() - t0 < INT64_C(100000000), "waits that should return at once took %lld us",
           (long long)((tv_now_ns() - t0) / 1000));
    for (int ms = 1; ms <= 256; ms *= 4) {
        t0 = tv_now_ns();
        CHECK_ERR(smem_value_wait(v, cur, ms), SMEM_ETIMEDOUT);
        int64_t took = tv_now_ns() - t0;
        CHECKF(took >= (int64_t)ms * 1000000 - 1000000 && took <= (int64_t)(ms + SLACK_MS) * 1000000,
               "wait with timeout %d ms took %lld us", ms, (long long)(took / 1000));
    }
    CHECK_EQ_SIZE(smem_value_version(v), cur);
}

/* A thread in wait(-1) woken by a set from another thread. */
struct thr_arg {
    smem_value *v;
    uint64_t seen;
    int rc;
    atomic_int started;
    int64_t woke_ns;
};

static void *thr_wait(void *p)
{
    struct thr_arg *a = p;
    atomic_store(&a->started, 1);
    a->rc = smem_value_wait(a->v, a->seen, -1);
    a->woke_ns = tv_now_ns();
    return NULL;
}

static void test_threads(smem_value *v)
{
    for (int round = 0; round < 5; round++) {
        struct thr_arg a = {v, smem_value_version(v), 99, 0, 0};
        pthread_t t;
        CHECK(pthread_create(&t, NULL, thr_wait, &a) == 0);
        while (!atomic_load(&a.started))
            th_sleep_ms(1);
        th_sleep_ms(20);
        int64_t t0 = tv_now_ns();
        set_blob(v, 50, 200 + (uint64_t)round);
        /* Join with a bound: poll for the thread's end. */
        int64_t deadline = t0 + INT64_C(10000000000);
        int joined = 0;
        while (!joined && tv_now_ns() < deadline) {
#if defined(__GLIBC__)
            joined = pthread_tryjoin_np(t, NULL) == 0;
#else
            joined = pthread_join(t, NULL) == 0;
#endif
            if (!joined)
                th_sleep_ms(1);
        }
        CHECKF(joined, "a thread in wait(-1) was not woken by a set within 10 s");
        CHECK_OK(a.rc);
        CHECKF(a.woke_ns - t0 < MAX_LATENCY_NS, "thread woken %lld us after the set",
               (long long)((a.woke_ns - t0) / 1000));
    }
}

/* Thousands of quick sets followed by a waiter in another process. */
static void test_follow(const char *name, smem_value *v)
{
    th_proc h;
    th_spawn(&h, -1, "follow", name, NULL);
    th_expect(&h, "ready", 10000);
    tv_rng rng;
    tv_seed(&rng, 7);
    int sets = 3000;
    for (int i = 0; i < sets; i++) {
        set_blob(v, 8 + (size_t)tv_below(&rng, CAP - 8), 1000 + (uint64_t)i);
        long pause = (long)tv_below(&rng, 300);
        if (pause > 150)
            tv_sleep_us(pause);
    }
    CHECK_OK(smem_value_set(v, "END", 3));
    char line[128];
    th_recv(&h, line, sizeof line, 10000);
    unsigned long wakes;
    long long longest_us;
    CHECKF(sscanf(line, "done %lu %lld", &wakes, &longest_us) == 2, "follower said \"%s\"",
           line);
    CHECK(wakes >= 1 && wakes <= (unsigned long)sets + 1);
    th_log("follower woke %lu times for %d sets; its longest wait: %lld us", wakes, sets + 1,
           longest_us);
    /* The sets came every few hundred microseconds: a long wait slept
     * through some of them. */
    CHECKF(longest_us < MAX_LATENCY_NS / 1000,
           "the follower waited %lld us for a change while sets came every <= 300 us",
           longest_us);
    th_wait_ok(&h, 10000);
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "vwait");
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(name, CAP, NULL, &v));

    /* Never set: version 0; a wait for a change from 0 times out. */
    CHECK_ERR(smem_value_wait(v, 0, 20), SMEM_ETIMEDOUT);
    set_blob(v, 10, 1);

    test_local(v);
    test_cross_process_wake(name, v, "rw");
    test_cross_process_wake(name, v, "ro");
    test_many_waiters(name, v);
    test_threads(v);
    test_follow(name, v);

    smem_value_close(v);
    CHECK(!th_shm_exists(name));
    return 0;
}
