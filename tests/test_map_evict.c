/* Maps as caches between processes.
 *
 * 1. Expiry as another process sees it: a helper sets keys with times to
 *    live of 50 ms to 2 s and says when (its clock before and after each
 *    set); this process polls them.  Every get that found a key began
 *    less than 10 ms after its expiry could have been due, every get that
 *    missed it ended at most 10 ms before it could have been due.  (Late
 *    polls cannot fail this; only a wrong expiry can.)
 * 2. Hot keys survive eviction: an evicting map of N entries, 10% of them
 *    read over and over by a reader process while two processes insert 2N
 *    new keys, keeps at least 90% of the hot ones.  The inserters wait
 *    for the reader to finish a pass every 500 inserts each, so that
 *    "read over and over" holds however the two cores are shared; a
 *    control run with no reader shows that reads are what keeps them.
 *    The evictions the inserters were told of (smem_map_put's *evicted)
 *    add up to the map's evictions counter exactly.
 * 3. incr_ex from 4 processes, 100,000 times each with an init and a time
 *    to live, ends exact, and the counter keeps the first one's expiry.
 * 4. Statistics between processes: the gets of helpers that closed are all
 *    in the totals; a helper SIGKILLed after 1000 gets left exactly the
 *    768 (3 x 256) it had added; a helper filling a full map whose entries
 *    expired counts each reclaimed one as an expiration, none as an
 *    eviction. */
#include "check.h"

#include "test_map_kit.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};
static const smem_opts evict = {SMEM_EVICT, 0, 0, NULL, NULL};

/* Shared with the helpers through a raw region. */
struct ctl {
    uint64_t passes;  /* hot passes the reader finished */
    uint32_t stop;    /* the reader stops when nonzero */
    uint32_t arrive;  /* barrier of the inserters */
    uint32_t incr_arrive;
};

static struct ctl *open_ctl(const char *name, smem_region **r)
{
    CHECK_OK(smem_region_open(name, sizeof(struct ctl), NULL, r));
    return smem_region_data(*r);
}

static smem_map *attach(const char *name)
{
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 0, 0, &nocreate, &m));
    return m;
}

/* ---- 1: expiry seen from another process ------------------------------ */

static const int ttls[] = {50, 100, 200, 500, 1000, 2000};
#define NTTL (int)(sizeof ttls / sizeof ttls[0])

/* setter NAME: sets t<T> for each T with that TTL; says "T BEFORE AFTER". */
static int helper_setter(int argc, char **argv)
{
    CHECK(argc == 1);
    smem_map *m = attach(argv[0]);
    for (int i = 0; i < NTTL; i++) {
        char key[32];
        snprintf(key, sizeof key, "t%d", ttls[i]);
        smem_put how = {(uint64_t)ttls[i], 0};
        int64_t before = th_now_ms();
        CHECK_OK(smem_map_put(m, key, "v", 1, &how, NULL));
        th_say("%d %lld %lld", ttls[i], (long long)before, (long long)th_now_ms());
    }
    smem_map_close(m);
    return 0;
}

static void test_expiry_seen_elsewhere(void)
{
    char name[SMEM_NAME_MAX + 1], line[128];
    th_name(name, "ettl");
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 16, 8, NULL, &m));
    th_proc p;
    th_spawn(&p, -1, "setter", name, NULL);
    int64_t due_lo[NTTL], due_hi[NTTL], seen[NTTL], gone_lag[NTTL];
    for (int i = 0; i < NTTL; i++) {
        th_recv(&p, line, sizeof line, 20000);
        long long t, a, b;
        CHECKF(sscanf(line, "%lld %lld %lld", &t, &a, &b) == 3 && t == ttls[i], "setter: %s", line);
        due_lo[i] = a + t; /* the expiry the library gave it is in [due_lo, due_hi] */
        due_hi[i] = b + t;
        seen[i] = 0;
        gone_lag[i] = -1;
    }
    th_wait_ok(&p, 20000);
    int64_t give_up = th_now_ms() + 10000;
    for (int left = NTTL; left > 0 && th_now_ms() < give_up; th_sleep_ms(1)) {
        for (int i = 0; i < NTTL; i++) {
            if (gone_lag[i] >= 0)
                continue;
            char key[32], b[8];
            snprintf(key, sizeof key, "t%d", ttls[i]);
            int64_t c = th_now_ms();
            int rc = smem_map_get(m, key, b, sizeof b, NULL, NULL);
            int64_t d = th_now_ms();
            CHECKF(rc == 0 || rc == SMEM_ENOENT, "get(%s): %s", key, smem_err_name(rc));
            if (rc == 0) {
                CHECKF(c < due_hi[i] + 10, "%s: present at %lld ms, due by %lld", key,
                       (long long)c, (long long)due_hi[i]);
                seen[i]++;
            } else {
                CHECKF(d >= due_lo[i] - 10, "%s: gone at %lld ms, not due before %lld", key,
                       (long long)d, (long long)due_lo[i]);
                gone_lag[i] = c - due_hi[i];
                left--;
            }
        }
    }
    for (int i = 0; i < NTTL; i++) {
        CHECKF(gone_lag[i] >= -10, "t%d never expired", ttls[i]);
        CHECKF(ttls[i] < 200 || seen[i] > 0, "t%d was never seen present", ttls[i]);
    }
    th_log("expiry seen by another process: 50 ms to 2 s, each within 10 ms of its time "
           "(first miss %lld..%lld ms after it was due, as late as the polls ran)",
           (long long)gone_lag[0], (long long)gone_lag[NTTL - 1]);
    smem_map_close(m);
}

/* ---- 2: hot keys under eviction --------------------------------------- */

/* reader NAME CTL HOT: gets h0..h<HOT-1> over and over until stopped;
 * says "passes P". */
static int helper_reader(int argc, char **argv)
{
    CHECK(argc == 3);
    smem_map *m = attach(argv[0]);
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(argv[1], &cr);
    long hot = (long)tv_num(argv[2]);
    th_say("ready");
    uint64_t passes = 0;
    while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
        for (long i = 0; i < hot; i++) {
            char key[32], b[16];
            snprintf(key, sizeof key, "h%ld", i);
            int rc = smem_map_get(m, key, b, sizeof b, NULL, NULL);
            CHECKF(rc == 0 || rc == SMEM_ENOENT, "reader: %s", smem_err_name(rc));
        }
        passes = __atomic_add_fetch(&c->passes, 1, __ATOMIC_RELEASE);
    }
    th_say("passes %llu", (unsigned long long)passes);
    smem_region_close(cr);
    smem_map_close(m);
    return 0;
}

/* inserter NAME CTL ID N PACED: inserts n<ID>-0..N-1; if PACED, waits for
 * a reader's pass every 500 inserts; says "evicted E". */
static int helper_inserter(int argc, char **argv)
{
    CHECK(argc == 5);
    smem_map *m = attach(argv[0]);
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(argv[1], &cr);
    long id = (long)tv_num(argv[2]), n = (long)tv_num(argv[3]);
    int paced = argv[4][0] == '1';
    th_say("ready");
    tm_barrier(&c->arrive, 2, 60000);
    long evicted = 0;
    uint64_t last = __atomic_load_n(&c->passes, __ATOMIC_ACQUIRE);
    for (long j = 0; j < n; j++) {
        char key[32];
        snprintf(key, sizeof key, "n%ld-%ld", id, j);
        int e = -1;
        CHECK_OK(smem_map_put(m, key, "cold", 4, NULL, &e));
        CHECK(e == 0 || e == 1);
        evicted += e;
        if (paced && j % 500 == 499) {
            int64_t give_up = th_now_ms() + 60000;
            while (__atomic_load_n(&c->passes, __ATOMIC_ACQUIRE) == last) {
                tm_yield();
                CHECKF(th_now_ms() < give_up, "inserter %ld: the reader made no pass in 60 s", id);
            }
            last = __atomic_load_n(&c->passes, __ATOMIC_ACQUIRE);
        }
    }
    th_say("evicted %ld", evicted);
    smem_region_close(cr);
    smem_map_close(m);
    return 0;
}

/* One run: N entries (the first N/10 hot), 2N inserted by two helpers,
 * with a reader of the hot ones or without; the share of hot keys kept,
 * in percent. */
static int hot_kept(long n, int with_reader)
{
    char name[SMEM_NAME_MAX + 1], ctlname[SMEM_NAME_MAX + 1], line[128], num[32], hotnum[32];
    th_name(name, "ehot");
    th_name(ctlname, "ehotctl");
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(ctlname, &cr);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, (size_t)n, 16, &evict, &m));
    long hot = n / 10;
    for (long i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, i < hot ? "h%ld" : "c%ld", i);
        CHECK_OK(smem_map_set(m, key, "warm", 4));
    }
    snprintf(num, sizeof num, "%ld", n);
    snprintf(hotnum, sizeof hotnum, "%ld", hot);
    th_proc reader, ins[2];
    if (with_reader) {
        th_spawn(&reader, -1, "reader", name, ctlname, hotnum, NULL);
        th_expect(&reader, "ready", 20000);
    }
    for (int i = 0; i < 2; i++) {
        th_spawn(&ins[i], -1, "inserter", name, ctlname, i ? "1" : "0", num,
                 with_reader ? "1" : "0", NULL);
        th_expect(&ins[i], "ready", 20000);
    }
    long evicted = 0;
    for (int i = 0; i < 2; i++) {
        long e;
        th_recv(&ins[i], line, sizeof line, 200000);
        CHECKF(sscanf(line, "evicted %ld", &e) == 1, "inserter: %s", line);
        evicted += e;
        th_wait_ok(&ins[i], 20000);
    }
    __atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
    if (with_reader) {
        th_recv(&reader, line, sizeof line, 20000);
        th_wait_ok(&reader, 20000);
    }
    long kept = 0;
    for (long i = 0; i < hot; i++) {
        char key[32], b[16];
        snprintf(key, sizeof key, "h%ld", i);
        kept += smem_map_get(m, key, b, sizeof b, NULL, NULL) == 0;
    }
    struct smem_map_stats s;
    CHECK_OK(smem_map_stats(m, &s));
    CHECKF(s.evictions == (uint64_t)evicted, "the map counted %llu evictions, the inserters %ld",
           (unsigned long long)s.evictions, evicted);
    CHECK(s.evictions == (uint64_t)(2 * n) && s.expirations == 0);
    CHECK(s.sets == (uint64_t)(3 * n) && s.entries == (uint64_t)n);
    CHECK_EQ_INT(smem_map_count(m), (int)n);
    th_log("%s: %ld of %ld hot keys kept after %ld inserts (%llu reader passes), %ld evictions "
           "counted", with_reader ? "hot keys read" : "control, no reader", kept, hot, 2 * n,
           (unsigned long long)__atomic_load_n(&c->passes, __ATOMIC_ACQUIRE), evicted);
    smem_map_close(m);
    smem_region_close(cr);
    return (int)(kept * 100 / hot);
}

static void test_hot_keys(void)
{
    long n = tm_scaled(20000, 4);
    int kept = hot_kept(n, 1);
    CHECKF(kept >= 90, "only %d%% of the hot keys were kept", kept);
    int control = hot_kept(n, 0);
    CHECKF(control < 50, "with no reads, %d%% of the hot keys were kept anyway", control);
}

/* ---- 3: incr_ex from 4 processes -------------------------------------- */

#define INCRS 4

/* incr NAME CTL N: after all INCRS arrived, N incr_ex; says "last R". */
static int helper_incr(int argc, char **argv)
{
    CHECK(argc == 3);
    smem_map *m = attach(argv[0]);
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(argv[1], &cr);
    long n = (long)tv_num(argv[2]);
    th_say("ready");
    tm_barrier(&c->incr_arrive, INCRS, 60000);
    int64_t prev = 0, r = 0;
    for (long i = 0; i < n; i++) {
        CHECK_OK(smem_map_incr_ex(m, "counter", 1, 1000, 600000, &r));
        CHECKF(r > prev, "incr_ex #%ld gave %lld after %lld", i, (long long)r, (long long)prev);
        prev = r;
    }
    th_say("last %lld", (long long)r);
    smem_region_close(cr);
    smem_map_close(m);
    return 0;
}

static void test_incr_ex(void)
{
    char name[SMEM_NAME_MAX + 1], ctlname[SMEM_NAME_MAX + 1], line[128], num[32];
    th_name(name, "eincr");
    th_name(ctlname, "eincrctl");
    smem_region *cr = NULL;
    open_ctl(ctlname, &cr);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 4, 32, NULL, &m));
    long n = TM_TSAN ? 25000 : tm_scaled(100000, 4);
    snprintf(num, sizeof num, "%ld", n);
    th_proc h[INCRS];
    for (int i = 0; i < INCRS; i++) {
        th_spawn(&h[i], -1, "incr", name, ctlname, num, NULL);
        th_expect(&h[i], "ready", 20000);
    }
    for (int i = 0; i < INCRS; i++) {
        th_recv(&h[i], line, sizeof line, 200000);
        th_wait_ok(&h[i], 20000);
    }
    char b[32], want[32];
    size_t len;
    CHECK_OK(smem_map_get(m, "counter", b, sizeof b, &len, NULL));
    int wl = snprintf(want, sizeof want, "%ld", 1000 + n * INCRS);
    CHECKF(len == (size_t)wl && memcmp(b, want, len) == 0, "the counter is \"%.*s\", not %s",
           (int)len, b, want);
    int64_t left;
    CHECK_OK(smem_map_ttl(m, "counter", &left));
    CHECKF(left > 0 && left <= 600000, "the counter has %lld ms to live", (long long)left);
    th_log("incr_ex: %d processes x %ld = %s exactly (from init 1000), first expiry kept", INCRS,
           n, want);
    smem_map_close(m);
    smem_region_close(cr);
}

/* ---- 4: statistics between processes ---------------------------------- */

/* getter NAME HITS MISSES STAY: that many gets of "k" and of absent keys,
 * then says "done"; if STAY, waits to be killed. */
static int helper_getter(int argc, char **argv)
{
    CHECK(argc == 4);
    smem_map *m = attach(argv[0]);
    long hits = (long)tv_num(argv[1]), misses = (long)tv_num(argv[2]);
    char b[8];
    for (long i = 0; i < hits; i++)
        CHECK_OK(smem_map_get(m, "k", b, sizeof b, NULL, NULL));
    for (long i = 0; i < misses; i++)
        CHECK_ERR(smem_map_get(m, "absent", b, sizeof b, NULL, NULL), SMEM_ENOENT);
    th_say("done");
    if (argv[3][0] == '1')
        th_sleep_ms(600000);
    smem_map_close(m);
    return 0;
}

/* filler NAME N: N new keys into a full map. */
static int helper_filler(int argc, char **argv)
{
    CHECK(argc == 2);
    smem_map *m = attach(argv[0]);
    long n = (long)tv_num(argv[1]);
    for (long i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "new%ld", i);
        int e = -1;
        CHECK_OK(smem_map_put(m, key, "v", 1, NULL, &e));
        CHECK_EQ_INT(e, 0);
    }
    th_say("done");
    smem_map_close(m);
    return 0;
}

static void run_getter(const char *name, const char *hits, const char *misses, int stay)
{
    th_proc p;
    th_spawn(&p, -1, "getter", name, hits, misses, stay ? "1" : "0", NULL);
    th_expect(&p, "done", 60000);
    if (stay)
        th_kill(&p);
    else
        th_wait_ok(&p, 20000);
}

static void test_stats_between(void)
{
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "estat");
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 200, 8, NULL, &m));
    CHECK_OK(smem_map_set(m, "k", "v", 1));
    run_getter(name, "1000", "37", 0);
    run_getter(name, "513", "0", 0);
    run_getter(name, "7", "300", 0);
    struct smem_map_stats s;
    CHECK_OK(smem_map_stats(m, &s));
    CHECKF(s.hits == 1520 && s.misses == 337, "hits %llu misses %llu after three helpers",
           (unsigned long long)s.hits, (unsigned long long)s.misses);
    run_getter(name, "1000", "0", 1); /* killed: only its whole batches count */
    CHECK_OK(smem_map_stats(m, &s));
    CHECKF(s.hits == 1520 + 768, "hits %llu after a killed helper's 1000 gets",
           (unsigned long long)s.hits);
    /* Expirations: a full plain map whose entries expired takes 199 new
     * keys from another process, each reclaiming an expired entry. */
    for (int i = 0; i < 199; i++) {
        char key[32];
        snprintf(key, sizeof key, "old%d", i);
        smem_put how = {40, 0};
        CHECK_OK(smem_map_put(m, key, "o", 1, &how, NULL));
    }
    th_sleep_ms(100);
    th_proc f;
    th_spawn(&f, -1, "filler", name, "199", NULL);
    th_expect(&f, "done", 60000);
    th_wait_ok(&f, 20000);
    CHECK_OK(smem_map_stats(m, &s));
    CHECK(s.expirations == 199 && s.evictions == 0 && s.entries == 200 && s.stale == 0);
    CHECK(s.sets == 1 + 199 + 199);
    th_log("stats between processes: hits and misses exact after close, a killed helper's "
           "whole batches kept (768 of 1000), 199 expirations counted by another process");
    smem_map_close(m);
}

static const th_helper helpers[] = {
    {"setter", helper_setter}, {"reader", helper_reader}, {"inserter", helper_inserter},
    {"incr", helper_incr},     {"getter", helper_getter}, {"filler", helper_filler},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    test_expiry_seen_elsewhere();
    test_hot_keys();
    test_incr_ex();
    test_stats_between();
    return 0;
}
