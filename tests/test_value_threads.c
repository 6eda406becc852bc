/* The seqlock within one process: writer threads (two sharing one handle,
 * one with a handle of its own) set self-checking values of random length
 * while reader threads get them and a waiter thread follows the changes.
 * Every read must be a whole value, versions never go backwards for a
 * reader, each writer's values arrive in order, and the waiter is never
 * left asleep while the value changes.  CI runs this under ThreadSanitizer:
 * the test's own threads share nothing but atomics and what they hand over
 * at pthread_join. */
#include "check.h"

#include "test_value_kit.c"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP 2048
#define RUN_MS 3000
#define WRITERS 3
#define READERS 3

static smem_value *va, *vb; /* two handles on one value */
static atomic_int stop;
static atomic_ullong sets_done;

struct writer {
    pthread_t t;
    uint32_t id;
    smem_value *v;
    unsigned long long sets, refused;
};

struct reader {
    pthread_t t;
    int id;
    smem_value *v;
    int small_buffers;
    unsigned long long reads, changes, e2big;
};

struct waiter {
    pthread_t t;
    smem_value *v;
    unsigned long long wakes;
};

static void *writer_main(void *p)
{
    struct writer *w = p;
    unsigned char *b = malloc(CAP + 1);
    CHECK(b);
    tv_rng rng;
    tv_seed(&rng, w->id);
    uint64_t counter = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        size_t len;
        switch (tv_below(&rng, 8)) {
        case 0:
            len = 0;
            break;
        case 1:
            len = CAP;
            break;
        case 2:
            len = (size_t)tv_below(&rng, TV_BLOB_MIN);
            break;
        default:
            len = (size_t)tv_below(&rng, CAP + 1);
        }
        tv_blob_fill(b, len, w->id, ++counter);
        int rc = smem_value_set(w->v, len ? b : NULL, len);
        if (rc != 0)
            FAIL("writer %u: set gave %d (%s)", (unsigned)w->id, rc, smem_err_name(rc));
        atomic_fetch_add_explicit(&sets_done, 1, memory_order_relaxed);
        if (tv_below(&rng, 100) == 0) {
            rc = smem_value_set(w->v, b, CAP + 1);
            if (rc != SMEM_E2BIG)
                FAIL("writer %u: a set of capacity + 1 gave %d (%s)", (unsigned)w->id, rc,
                     smem_err_name(rc));
            w->refused++;
        }
    }
    w->sets = counter;
    free(b);
    return NULL;
}

static void *reader_main(void *p)
{
    struct reader *r = p;
    char who[32];
    snprintf(who, sizeof who, "reader thread %d", r->id);
    tv_observer o;
    memset(&o, 0, sizeof o);
    o.who = who;
    o.check_order = 1;
    unsigned char *buf = malloc(CAP);
    CHECK(buf);
    tv_rng rng;
    tv_seed(&rng, 1000u + (unsigned)r->id);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        size_t bs = r->small_buffers && tv_below(&rng, 4) == 0 ? (size_t)tv_below(&rng, CAP) : CAP;
        size_t len = (size_t)-1;
        uint64_t ver = 0;
        int rc = smem_value_get(r->v, buf, bs, &len, &ver);
        if (rc == SMEM_E2BIG) {
            if (!(len > bs && len <= CAP))
                FAIL("%s: E2BIG into %zu bytes with a needed length of %zu", who, bs, len);
            r->e2big++;
            continue;
        }
        if (rc != 0)
            FAIL("%s: get gave %d (%s)", who, rc, smem_err_name(rc));
        if (len > bs)
            FAIL("%s: %zu bytes into a buffer of %zu", who, len, bs);
        tv_observe(&o, buf, len, ver);
    }
    r->reads = o.reads;
    r->changes = o.changes;
    free(buf);
    return NULL;
}

static void *waiter_main(void *p)
{
    struct waiter *w = p;
    uint64_t seen = smem_value_version(w->v);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        int rc = smem_value_wait(w->v, seen, 2000);
        if (rc == SMEM_ETIMEDOUT) {
            if (atomic_load(&stop))
                break;
            FAIL("waiter thread: no wake-up within 2 s while writers were setting (version %llu, "
                 "now %llu)",
                 (unsigned long long)seen, (unsigned long long)smem_value_version(w->v));
        }
        if (rc != 0)
            FAIL("waiter thread: wait gave %d (%s)", rc, smem_err_name(rc));
        uint64_t now = smem_value_version(w->v);
        if (now <= seen)
            FAIL("waiter thread: wait returned 0 but the version went from %llu to %llu",
                 (unsigned long long)seen, (unsigned long long)now);
        seen = now;
        w->wakes++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "vthr");
    CHECK_OK(smem_value_open(name, CAP, NULL, &va));
    CHECK_OK(smem_value_open(name, 0, NULL, &vb));
    CHECK_EQ_SIZE(smem_value_capacity(vb), CAP);

    struct writer w[WRITERS];
    struct reader r[READERS];
    struct waiter wt;
    memset(w, 0, sizeof w);
    memset(r, 0, sizeof r);
    memset(&wt, 0, sizeof wt);
    for (int i = 0; i < WRITERS; i++) {
        w[i].id = (uint32_t)i + 1;
        w[i].v = i < 2 ? va : vb; /* two writers share a handle */
        CHECK(pthread_create(&w[i].t, NULL, writer_main, &w[i]) == 0);
    }
    for (int i = 0; i < READERS; i++) {
        r[i].id = i + 1;
        r[i].v = i < 2 ? va : vb;
        r[i].small_buffers = i == 1;
        CHECK(pthread_create(&r[i].t, NULL, reader_main, &r[i]) == 0);
    }
    wt.v = va;
    CHECK(pthread_create(&wt.t, NULL, waiter_main, &wt) == 0);

    int64_t t0 = th_now_ms();
    while (th_now_ms() - t0 < RUN_MS)
        th_sleep_ms(50);
    atomic_store(&stop, 1);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i].t, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_join(r[i].t, NULL);
    pthread_join(wt.t, NULL);

    unsigned long long reads = 0, sets = 0;
    for (int i = 0; i < WRITERS; i++) {
        th_log("writer thread %d: %llu sets, %llu refused as too big", i + 1, w[i].sets,
               w[i].refused);
        CHECKF(w[i].sets >= 50, "writer thread %d made only %llu sets", i + 1, w[i].sets);
        sets += w[i].sets;
    }
    for (int i = 0; i < READERS; i++) {
        th_log("reader thread %d: %llu whole values, %llu changes, %llu E2BIG", i + 1,
               r[i].reads, r[i].changes, r[i].e2big);
        CHECKF(r[i].reads >= 500, "reader thread %d made only %llu reads", i + 1, r[i].reads);
        CHECKF(r[i].changes >= 10, "reader thread %d saw only %llu changes", i + 1,
               r[i].changes);
        reads += r[i].reads;
    }
    th_log("waiter thread: %llu wake-ups", wt.wakes);
    CHECK(wt.wakes >= 10);
    CHECK_EQ_SIZE(sets, atomic_load(&sets_done));
    th_log("%llu sets and %llu reads in %d ms, no torn or invalid value", sets, reads, RUN_MS);

    /* Quiet: both handles see the same last value. */
    unsigned char a[CAP], b[CAP];
    size_t la, lb;
    uint64_t xa, xb;
    CHECK_OK(smem_value_get(va, a, CAP, &la, &xa));
    CHECK_OK(smem_value_get(vb, b, CAP, &lb, &xb));
    CHECK_EQ_SIZE(la, lb);
    CHECK_EQ_SIZE(xa, xb);
    CHECK(memcmp(a, b, la) == 0);
    CHECK(tv_blob_check(a, la, NULL) == NULL);
    smem_value_close(vb);
    smem_value_close(va);
    CHECK(!th_shm_exists(name));
    return 0;
}
