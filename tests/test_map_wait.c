/* smem_map_wait across processes.  A waiter in another process (read-write
 * and read-only handles) on a key, or on the whole map (KEY NULL):
 *   - returns 0 at once when SEEN is already stale (even with no limit);
 *   - is woken by a change made here, quickly (well under a second: not a
 *     periodic poll), never before the change;
 *   - times out with SMEM_ETIMEDOUT after about its timeout;
 *   - waiting for key A, is not returned by changes to key B (it sleeps
 *     again), until A changes or its time is up;
 *   - wait(key, 0) on an absent key returns when the key is added;
 *   - a delete wakes a waiter of that key;
 *   - a refused change (EEXIST, ECHANGED, E2BIG) wakes nobody for good. */
#include "check.h"

#include "test_map_kit.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LATENCY_NS INT64_C(500000000) /* half the 1 s a poll would take */
#define SLACK_MS 400                      /* a timeout may end this late */

static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};
static const smem_opts rdonly = {SMEM_RDONLY, 0, 0, NULL, NULL};

/*
 * waiter NAME rw|ro: for each line "wait KEY SEEN TIMEOUT" (KEY "-" for
 * NULL) says "waiting", calls smem_map_wait and says
 * "woke RC START_NS END_NS KEYVERSION MAPVERSION".
 */
static int helper_waiter(int argc, char **argv)
{
    CHECK(argc == 2);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(argv[0], 0, 0, strcmp(argv[1], "ro") == 0 ? &rdonly : &nocreate, &m));
    char line[256], key[128];
    while (th_listen(line, sizeof line) == 0) {
        unsigned long long seen;
        int timeout;
        if (sscanf(line, "wait %127s %llu %d", key, &seen, &timeout) != 3)
            FAIL("bad line \"%s\"", line);
        const char *k = strcmp(key, "-") == 0 ? NULL : key;
        th_say("waiting");
        int64_t t0 = tv_now_ns();
        int rc = smem_map_wait(m, k, seen, timeout);
        int64_t t1 = tv_now_ns();
        uint64_t kv = 0;
        if (k) {
            int g = smem_map_get(m, k, NULL, 0, NULL, &kv);
            CHECK(g == 0 || g == SMEM_E2BIG || g == SMEM_ENOENT);
        }
        th_say("woke %d %lld %lld %llu %llu", rc, (long long)t0, (long long)t1,
               (unsigned long long)kv, (unsigned long long)smem_map_version(m));
    }
    smem_map_close(m);
    return 0;
}

static const th_helper helpers[] = {
    {"waiter", helper_waiter},
    {NULL, NULL},
};

struct woke {
    int rc;
    int64_t t0, t1;
    uint64_t kv, mv;
};

static struct woke recv_woke(th_proc *h, int timeout_ms)
{
    char line[256];
    th_recv(h, line, sizeof line, timeout_ms);
    struct woke w;
    long long t0, t1;
    unsigned long long kv, mv;
    if (sscanf(line, "woke %d %lld %lld %llu %llu", &w.rc, &t0, &t1, &kv, &mv) != 5)
        FAIL("helper %d said \"%s\"", (int)h->pid, line);
    w.t0 = t0;
    w.t1 = t1;
    w.kv = kv;
    w.mv = mv;
    return w;
}

static uint64_t key_version(smem_map *m, const char *key)
{
    uint64_t v = 99;
    int rc = smem_map_get(m, key, NULL, 0, NULL, &v);
    CHECK(rc == 0 || rc == SMEM_E2BIG || rc == SMEM_ENOENT);
    return v;
}

static void start_wait(th_proc *h, const char *key, uint64_t seen, int timeout)
{
    th_send(h, "wait %s %llu %d", key ? key : "-", (unsigned long long)seen, timeout);
    th_expect(h, "waiting", 20000);
}

/* What CHANGE does wakes a waiter of KEY (NULL: the map) in H. */
typedef void (*change_fn)(smem_map *m, const char *key, int round);

static void change_set(smem_map *m, const char *key, int round)
{
    char v[32];
    snprintf(v, sizeof v, "value %d", round);
    CHECK_OK(smem_map_set(m, key, v, strlen(v)));
}

static void change_incr(smem_map *m, const char *key, int round)
{
    (void)round;
    CHECK_OK(smem_map_incr(m, key, 1, NULL));
}

static void woken_by(th_proc *h, const char *mode, smem_map *m, const char *wkey,
                     const char *ckey, change_fn change, int rounds, int64_t *worst)
{
    for (int round = 0; round < rounds; round++) {
        uint64_t seen = wkey ? key_version(m, wkey) : smem_map_version(m);
        int timeout = (round & 1) ? -1 : 30000;
        start_wait(h, wkey, seen, timeout);
        th_sleep_ms(round < 2 ? 100 : 20); /* let it go to sleep */
        int64_t t0 = tv_now_ns();
        change(m, ckey, round);
        uint64_t now = wkey ? key_version(m, wkey) : smem_map_version(m);
        struct woke w = recv_woke(h, 10000);
        CHECKF(w.rc == 0, "%s waiter on %s: wait gave %d (%s)", mode, wkey ? wkey : "the map",
               w.rc, smem_err_name(w.rc));
        uint64_t got = wkey ? w.kv : w.mv;
        CHECKF(got != seen && (now == 0 || got <= now),
               "%s waiter on %s: woke with version %llu (seen %llu, the change made %llu)", mode,
               wkey ? wkey : "the map", (unsigned long long)got, (unsigned long long)seen,
               (unsigned long long)now);
        int64_t latency = w.t1 - t0;
        CHECKF(w.t1 >= t0, "%s waiter: returned %lld us before the change", mode,
               (long long)((t0 - w.t1) / 1000));
        CHECKF(latency < MAX_LATENCY_NS, "%s waiter on %s: woken %lld us after the change", mode,
               wkey ? wkey : "the map", (long long)(latency / 1000));
        if (latency > *worst)
            *worst = latency;
    }
}

static void test_waiter(const char *name, smem_map *m, const char *mode)
{
    th_proc h;
    th_spawn(&h, -1, "waiter", name, mode, NULL);
    int64_t worst = 0;

    /* Stale SEEN: at once, even with no limit. */
    CHECK_OK(smem_map_set(m, "a", "1", 1));
    uint64_t va = key_version(m, "a"), mv = smem_map_version(m);
    const uint64_t stale_k[] = {0, va - 1, va + 1, UINT64_MAX};
    for (int i = 0; i < 4; i++) {
        start_wait(&h, "a", stale_k[i], -1);
        struct woke w = recv_woke(&h, 5000);
        CHECK_OK(w.rc);
        CHECKF(w.t1 - w.t0 < INT64_C(100000000), "wait(a, stale) took %lld us",
               (long long)((w.t1 - w.t0) / 1000));
        start_wait(&h, NULL, mv + 1 + (uint64_t)i, -1);
        w = recv_woke(&h, 5000);
        CHECK_OK(w.rc);
    }
    /* Absent key, SEEN not 0: at once. */
    start_wait(&h, "absent", 5, -1);
    CHECK_OK(recv_woke(&h, 5000).rc);

    /* Woken by set and incr of the key; the map waiter by any key. */
    woken_by(&h, mode, m, "a", "a", change_set, 8, &worst);
    woken_by(&h, mode, m, "n", "n", change_incr, 4, &worst);
    woken_by(&h, mode, m, NULL, "b", change_set, 4, &worst);
    woken_by(&h, mode, m, NULL, "n", change_incr, 4, &worst);

    /* wait(key, 0) on an absent key: returns when it is added (by add,
     * by cas 0, by incr). */
    for (int i = 0; i < 3; i++) {
        char k[32];
        snprintf(k, sizeof k, "new%d-%s", i, mode);
        start_wait(&h, k, 0, 30000);
        th_sleep_ms(30);
        int64_t t0 = tv_now_ns();
        if (i == 0)
            CHECK_OK(smem_map_add(m, k, "x", 1));
        else if (i == 1)
            CHECK_OK(smem_map_cas(m, k, 0, "x", 1));
        else
            CHECK_OK(smem_map_incr(m, k, 3, NULL));
        struct woke w = recv_woke(&h, 10000);
        CHECK_OK(w.rc);
        CHECK(w.kv == key_version(m, k) && w.kv > 0);
        CHECK(w.t1 >= t0 && w.t1 - t0 < MAX_LATENCY_NS);
    }

    /* A delete wakes a waiter of the key (its version becomes 0). */
    {
        CHECK_OK(smem_map_set(m, "d", "x", 1));
        uint64_t vd = key_version(m, "d");
        start_wait(&h, "d", vd, 30000);
        th_sleep_ms(30);
        int64_t t0 = tv_now_ns();
        CHECK_OK(smem_map_del(m, "d"));
        struct woke w = recv_woke(&h, 10000);
        CHECK_OK(w.rc);
        CHECK_EQ_SIZE(w.kv, 0);
        CHECK(w.t1 >= t0 && w.t1 - t0 < MAX_LATENCY_NS);
    }

    /* Timeouts: nobody changes anything. */
    const int timeouts[] = {1, 10, 100, 300};
    for (int i = 0; i < 4; i++) {
        uint64_t seen = key_version(m, "a");
        start_wait(&h, i & 1 ? NULL : "a", i & 1 ? smem_map_version(m) : seen, timeouts[i]);
        struct woke w = recv_woke(&h, 10000);
        CHECK_ERR(w.rc, SMEM_ETIMEDOUT);
        int64_t us = (w.t1 - w.t0) / 1000;
        CHECKF(us >= (int64_t)timeouts[i] * 1000 - 1000 && us <= (timeouts[i] + SLACK_MS) * 1000,
               "%s waiter: timeout %d ms ended after %lld us", mode, timeouts[i], (long long)us);
    }

    /* A waiter for key A is not returned by changes to key B: it sleeps
     * again until A changes; then until its time is up. */
    {
        uint64_t seen = key_version(m, "a");
        start_wait(&h, "a", seen, 30000);
        int64_t until = th_now_ms() + 300;
        int changes = 0;
        while (th_now_ms() < until) {
            change_set(m, "b", changes++);
            CHECK_OK(smem_map_incr(m, "n", 1, NULL));
            CHECK_OK(smem_map_del(m, "b"));
            CHECKF(!th_ready(&h, 2), "%s waiter on a returned after %d changes to other keys",
                   mode, changes * 3);
        }
        CHECK(key_version(m, "a") == seen);
        int64_t t0 = tv_now_ns();
        change_set(m, "a", 1000);
        struct woke w = recv_woke(&h, 10000);
        CHECK_OK(w.rc);
        CHECK(w.kv > seen && w.t1 >= t0 && w.t1 - t0 < MAX_LATENCY_NS);
        th_log("%s waiter on a key slept through %d changes to other keys, woke on its own",
               mode, changes * 3);

        seen = key_version(m, "a");
        start_wait(&h, "a", seen, 250);
        int64_t t_start = th_now_ms();
        while (th_now_ms() - t_start < 150) {
            change_set(m, "b", 1);
            th_sleep_ms(1);
        }
        w = recv_woke(&h, 10000);
        CHECK_ERR(w.rc, SMEM_ETIMEDOUT);
        int64_t us = (w.t1 - w.t0) / 1000;
        CHECKF(us >= 249000 && us <= (250 + SLACK_MS) * 1000,
               "%s waiter: wait(a, 250 ms) amid changes to b ended after %lld us", mode,
               (long long)us);
    }

    /* Refused changes change no version and end no wait. */
    {
        CHECK_OK(smem_map_set(m, "a", "r", 1));
        uint64_t seen = key_version(m, "a"), mseen = smem_map_version(m);
        start_wait(&h, "a", seen, 300);
        th_sleep_ms(20);
        CHECK_ERR(smem_map_add(m, "a", "x", 1), SMEM_EEXIST);
        CHECK_ERR(smem_map_cas(m, "a", seen + 1, "x", 1), SMEM_ECHANGED);
        unsigned char big[65];
        memset(big, 'x', sizeof big);
        CHECK_ERR(smem_map_set(m, "a", big, sizeof big), SMEM_E2BIG);
        CHECK_ERR(smem_map_incr(m, "a", 1, NULL), SMEM_EINVAL);
        CHECK_ERR(smem_map_del(m, "nothing"), SMEM_ENOENT);
        struct woke w = recv_woke(&h, 10000);
        CHECK_ERR(w.rc, SMEM_ETIMEDOUT);
        CHECK_EQ_SIZE(w.kv, seen);
        CHECK_EQ_SIZE(smem_map_version(m), mseen);
    }
    th_log("%s waiter in another process: worst wake-up latency %lld us", mode,
           (long long)(worst / 1000));
    th_wait_ok(&h, 10000);
}

/* Two waiters on different keys and one on the map; one change to the
 * first key wakes its waiter and the map's, not the other. */
static void test_three_waiters(const char *name, smem_map *m)
{
    th_proc h[3];
    for (int i = 0; i < 3; i++)
        th_spawn(&h[i], -1, "waiter", name, i == 1 ? "ro" : "rw", NULL);
    for (int round = 0; round < 5; round++) {
        start_wait(&h[0], "x", key_version(m, "x"), 3000);
        start_wait(&h[1], "y", key_version(m, "y"), 600);
        start_wait(&h[2], NULL, smem_map_version(m), 3000);
        th_sleep_ms(30);
        int64_t t0 = tv_now_ns();
        change_set(m, "x", round);
        struct woke w0 = recv_woke(&h[0], 10000), w2 = recv_woke(&h[2], 10000);
        CHECK_OK(w0.rc);
        CHECK_OK(w2.rc);
        CHECK(w0.t1 - t0 < MAX_LATENCY_NS && w2.t1 - t0 < MAX_LATENCY_NS);
        CHECKF(!th_ready(&h[1], 100), "a waiter on y returned after a change to x");
        struct woke w1 = recv_woke(&h[1], 10000);
        CHECK_ERR(w1.rc, SMEM_ETIMEDOUT);
    }
    for (int i = 0; i < 3; i++)
        th_wait_ok(&h[i], 10000);
    th_log("three waiters (x, y, the map): a change to x woke x's and the map's only");
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "mwait");
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 64, 64, NULL, &m));

    /* In one process: stale at once, a timeout. */
    CHECK_OK(smem_map_wait(m, NULL, 1, 0));
    CHECK_OK(smem_map_wait(m, "nokey", 1, -1));
    CHECK_ERR(smem_map_wait(m, NULL, 0, 0), SMEM_ETIMEDOUT);
    CHECK_ERR(smem_map_wait(m, "nokey", 0, 0), SMEM_ETIMEDOUT);
    int64_t t0 = th_now_ms();
    CHECK_ERR(smem_map_wait(m, "nokey", 0, 50), SMEM_ETIMEDOUT);
    CHECK(th_now_ms() - t0 >= 49);

    test_waiter(name, m, "rw");
    test_waiter(name, m, "ro");
    test_three_waiters(name, m);
    smem_map_close(m);
    CHECK(!th_shm_exists(name));
    return 0;
}
