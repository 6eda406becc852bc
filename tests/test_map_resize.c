/* Maps that grow while in use: smem_map_resize and SMEM_GROW.
 *
 * 1. The calls one at a time: every error; the same figures are a no-op
 *    (no table made); entries, their versions and expiries, and the map
 *    version survive a resize; another handle follows without reopening;
 *    open takes the first figures and the current ones, nothing else;
 *    SMEM_GROW doubles entries and raises max_value, is checked like
 *    SMEM_EVICT, and is for maps only.
 * 2. Reclaim: after a second resize only the newest table is left; a
 *    process that had the old table mapped lets go of it on its next call
 *    (its /proc/self/maps); the last close removes the map's tables.
 * 3. Resizes while 2 reader processes (of 2 threads each, sharing a
 *    handle) check self-checking values and 1 writer process rewrites
 *    them: 100 resizes from 1,000 to 1,000,000 entries, and never a
 *    failed, torn, missing or older value (each reader checks that a
 *    key's writes only move forward).
 * 4. SMEM_GROW from 16 entries to 1,000,000 with 2 processes inserting
 *    500,000 keys each: every key there with its value, the count exact.
 *
 * Crashes at every step of a resize: test_map_resize_crash.c.  Under a
 * sanitizer the sizes are ten times smaller.  Windows: maps do not grow
 * yet; the calls give SMEM_ENOTSUP, which is checked, and the rest skips. */
#include "check.h"

#include "test_map_kit.c"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};
static const smem_opts grow = {SMEM_GROW, 0, 0, NULL, NULL};

#define VLEN 64 /* the values of parts 3 and 4 */

static smem_map *attach(const char *name)
{
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 0, 0, &nocreate, &m));
    return m;
}

/* ---- 1: the calls ------------------------------------------------------ */

/* Key I's value in fill: the first 8 bytes of the key at most. */
static size_t value_len(const char *key)
{
    size_t n = strlen(key);
    return n < 8 ? n : 8;
}

static void fill(smem_map *m, int n)
{
    char k[TM_KEY_BUF];
    for (int i = 0; i < n; i++) {
        tm_key(k, (uint32_t)i);
        CHECK_OK(smem_map_set(m, k, k, value_len(k)));
    }
}

/* Every key of fill(N) is there with its value, and VERSIONS[i] is still
 * key i's version (if VERSIONS). */
static void expect_filled(smem_map *m, int n, const uint64_t *versions, const char *when)
{
    char k[TM_KEY_BUF], buf[SMEM_MAP_KEY_MAX];
    for (int i = 0; i < n; i++) {
        size_t len = 0;
        uint64_t v = 0;
        int rc = smem_map_get(m, tm_key(k, (uint32_t)i), buf, sizeof buf, &len, &v);
        CHECKF(rc == 0 && len == value_len(k) && memcmp(buf, k, len) == 0,
               "%s: key %d gives %s (%zu bytes)", when, i, smem_err_name(rc), len);
        CHECKF(!versions || v == versions[i], "%s: key %d has version %llu, was %llu", when, i,
               (unsigned long long)v, (unsigned long long)(versions ? versions[i] : 0));
    }
    CHECKF(smem_map_count(m) == n, "%s: count %d, not %d", when, smem_map_count(m), n);
}

static void test_errors(const char *name)
{
    smem_map *m = NULL, *ro = NULL;
    CHECK_OK(smem_map_open(name, 10, 16, NULL, &m));
    CHECK_ERR(smem_map_resize(NULL, 20, 16), SMEM_EINVAL);
    CHECK_ERR(smem_map_resize(m, 9, 16), SMEM_EINVAL);  /* fewer entries */
    CHECK_ERR(smem_map_resize(m, 20, 15), SMEM_EINVAL); /* shorter values */
    CHECK_ERR(smem_map_resize(m, 20, 0), SMEM_EINVAL);
    CHECK_ERR(smem_map_resize(m, SMEM_MAP_ENTRIES_MAX + 1, 16), SMEM_E2BIG);
    CHECK_ERR(smem_map_resize(m, 20, SMEM_MAP_VALUE_MAX + 1), SMEM_E2BIG);
    CHECK_ERR(smem_map_resize(m, SMEM_MAP_ENTRIES_MAX, SMEM_MAP_VALUE_MAX), SMEM_E2BIG);
    CHECK_OK(smem_map_resize(m, 10, 16)); /* the same: nothing to do */
    CHECK(th_shm_tables(name) == 0);
    smem_opts rdonly = {SMEM_RDONLY, 0, 0, NULL, NULL};
    CHECK_OK(smem_map_open(name, 0, 0, &rdonly, &ro));
    CHECK_ERR(smem_map_resize(ro, 20, 16), SMEM_EBADF);
    CHECK(smem_map_max_entries(m) == 10 && smem_map_max_value(m) == 16);
    smem_map_close(ro);
    smem_map_close(m);
}

static void test_moves(const char *name)
{
    smem_map *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(smem_map_open(name, 100, 16, NULL, &a));
    CHECK_OK(smem_map_open(name, 100, 16, NULL, &b));
    fill(a, 90);
    smem_put ttl = {60000, 0};
    CHECK_OK(smem_map_put(a, "timed", "t", 1, &ttl, NULL));
    CHECK_OK(smem_map_del(a, "timed"));
    CHECK_OK(smem_map_put(a, "timed", "t", 1, &ttl, NULL));
    uint64_t versions[90];
    char k[TM_KEY_BUF];
    for (int i = 0; i < 90; i++) {
        size_t len = 0;
        int rc = smem_map_get(a, tm_key(k, (uint32_t)i), NULL, 0, &len, &versions[i]);
        CHECKF(rc == SMEM_E2BIG, "key %d (%s): %d, %zu bytes", i, k, rc, len);
    }
    uint64_t mver = smem_map_version(a);
    CHECK_OK(smem_map_resize(a, 1000, 40));
    CHECK(smem_map_max_entries(a) == 1000 && smem_map_max_value(a) == 40);
    CHECKF(smem_map_version(a) == mver, "a resize moved the map version");
    /* b follows on its next call, without reopening. */
    CHECKF(smem_map_max_entries(b) == 1000 && smem_map_max_value(b) == 40,
           "the other handle has figures %zu, %zu", smem_map_max_entries(b),
           smem_map_max_value(b));
    int64_t left = 0;
    CHECK_OK(smem_map_ttl(b, "timed", &left));
    CHECKF(left > 50000 && left <= 60000, "the expiry moved: %lld ms left", (long long)left);
    CHECK_OK(smem_map_del(b, "timed"));
    expect_filled(b, 90, versions, "after a resize, another handle");
    /* Room for what the new figures say, from either handle. */
    unsigned char v40[40];
    memset(v40, 'x', sizeof v40);
    CHECK_OK(smem_map_set(b, "long", v40, 40));
    unsigned char v41[41] = {0};
    CHECK_ERR(smem_map_set(a, "longer", v41, sizeof v41), SMEM_E2BIG);
    CHECK_OK(smem_map_del(b, "long"));
    for (int i = 90; i < 1000; i++) {
        tm_key(k, (uint32_t)i);
        CHECK_OK(smem_map_set(b, k, k, value_len(k)));
    }
    CHECK_ERR(smem_map_set(a, "one-more", "x", 1), SMEM_EFULL);
    expect_filled(a, 1000, NULL, "a full grown map");
    /* Open: the first figures and the current ones, nothing else. */
    CHECK_OK(smem_map_open(name, 100, 16, NULL, &c));
    CHECK(smem_map_max_entries(c) == 1000);
    smem_map_close(c);
    CHECK_OK(smem_map_open(name, 1000, 40, NULL, &c));
    smem_map_close(c);
    CHECK_ERR(smem_map_open(name, 1000, 16, NULL, &c), SMEM_EMISMATCH);
    CHECK_ERR(smem_map_open(name, 500, 40, NULL, &c), SMEM_EMISMATCH);
    CHECK_ERR(smem_map_open(name, 0, 0, &grow, &c), SMEM_EMISMATCH); /* not made to grow */
    CHECK(th_shm_tables(name) == 1);
    smem_map_close(b);
    smem_map_close(a);
    CHECKF(th_shm_tables(name) == 0, "the last close left %d tables", th_shm_tables(name));
}

static void test_grow_flag(const char *name)
{
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 16, 8, &grow, &m));
    char k[16];
    for (int i = 0; i < 16; i++) {
        snprintf(k, sizeof k, "g%d", i);
        CHECK_OK(smem_map_set(m, k, k, strlen(k)));
    }
    CHECK(smem_map_max_entries(m) == 16 && th_shm_tables(name) == 0);
    CHECK_OK(smem_map_set(m, "seventeenth", "x", 1));
    CHECKF(smem_map_max_entries(m) == 32 && smem_map_max_value(m) == 8,
           "a full SMEM_GROW map grew to %zu entries of %zu bytes", smem_map_max_entries(m),
           smem_map_max_value(m));
    unsigned char v[100] = {7};
    CHECK_OK(smem_map_set(m, "long", v, 9)); /* up to twice 8 */
    CHECK(smem_map_max_value(m) == 16 && smem_map_max_entries(m) == 32);
    CHECK_OK(smem_map_set(m, "longer", v, 100)); /* to the length, more than twice */
    CHECK(smem_map_max_value(m) == 100);
    for (int i = 0; i < 16; i++) {
        char buf[8];
        size_t len = 0;
        snprintf(k, sizeof k, "g%d", i);
        CHECK_OK(smem_map_get(m, k, buf, sizeof buf, &len, NULL));
        CHECK(len == strlen(k) && memcmp(buf, k, len) == 0);
    }
    CHECK(smem_map_count(m) == 19);
    smem_map *again = NULL;
    CHECK_OK(smem_map_open(name, 0, 0, &grow, &again)); /* it is a growing map */
    smem_map_close(again);
    char other[SMEM_NAME_MAX + 1];
    th_name(other, "rsflag");
    smem_region *r = NULL;
    CHECK_ERR(smem_region_open(other, 64, &grow, &r), SMEM_EINVAL);
    smem_value *val = NULL;
    CHECK_ERR(smem_value_open(other, 64, &grow, &val), SMEM_EINVAL);
    smem_map_close(m);
}

/* ---- 2: reclaim -------------------------------------------------------- */

/* holder NAME: opens the map, gets a key, says "ready", and on each line
 * gets a key again and says whether its mappings hold table GEN of NAME. */
static int helper_holder(int argc, char **argv)
{
    CHECK(argc == 1);
    smem_map *m = attach(argv[0]);
    char line[64], want[160], maps[1 << 16];
    CHECK(smem_map_get(m, "k", NULL, 0, NULL, NULL) == SMEM_E2BIG);
    th_say("ready");
    while (th_listen(line, sizeof line) == 0) {
        CHECK(smem_map_get(m, "k", NULL, 0, NULL, NULL) == SMEM_E2BIG);
        ssize_t n = th_read_file("/proc/self/maps", maps, sizeof maps - 1);
        CHECK(n > 0);
        maps[n] = 0;
        /* The mapping's path may end in " (deleted)". */
        snprintf(want, sizeof want, "smem.-table.%s.%s", argv[0], line);
        th_say("%s", strstr(maps, want) ? "mapped" : "gone");
    }
    smem_map_close(m);
    return 0;
}

static void test_reclaim(const char *name)
{
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 10, 8, NULL, &m));
    CHECK_OK(smem_map_set(m, "k", "v", 1));
    CHECK_OK(smem_map_resize(m, 20, 8));
    th_proc p;
    th_spawn(&p, -1, "holder", name, NULL);
    th_expect(&p, "ready", 20000);
    th_send(&p, "1");
    th_expect(&p, "mapped", 20000); /* table 1 is the current one */
    CHECK_OK(smem_map_resize(m, 40, 8));
    CHECKF(th_shm_tables(name) == 1, "after two resizes %d tables are left", th_shm_tables(name));
    th_send(&p, "1");
    /* Its next call let go of table 1 (but for ThreadSanitizer's builds,
     * which keep old tables mapped: os-posix-sigbus.c). */
    th_expect(&p, TM_TSAN ? "mapped" : "gone", 20000);
    th_send(&p, "2");
    th_expect(&p, "mapped", 20000);
    th_wait_ok(&p, 20000);
    smem_map_close(m);
    CHECK(th_shm_tables(name) == 0);
}

/* ---- 3: resizes under readers and a writer ----------------------------- */

/* Shared with the helpers through a raw region. */
struct ctl {
    uint64_t passes[2]; /* passes over every key each reader finished */
    uint32_t stop;      /* the readers and the writer stop when nonzero */
    uint32_t arrive;    /* barrier of the inserters (part 4) */
};

static struct ctl *open_ctl(const char *name, smem_region **r)
{
    CHECK_OK(smem_region_open(name, sizeof(struct ctl), NULL, r));
    return smem_region_data(*r);
}

static int stopped(struct ctl *c)
{
    return __atomic_load_n(&c->stop, __ATOMIC_ACQUIRE) != 0;
}

/* One reading thread of a reader process: all of them share the handle,
 * so that one follows the map to a new table (and gives the old one's
 * memory back) while another is in the middle of a get there. */
struct rloop {
    smem_map *m;
    struct ctl *c;
    int id, thread;
    uint32_t k;
    uint64_t reads;
    pthread_t t;
};

static void *reader_loop(void *arg)
{
    struct rloop *r = arg;
    uint64_t *last = calloc(r->k, sizeof *last);
    size_t seen_max = 0;
    CHECK(last);
    while (!stopped(r->c)) {
        for (uint32_t i = 0; i < r->k; i++) {
            unsigned char buf[VLEN];
            char key[TM_KEY_BUF];
            size_t len = 0;
            int rc = smem_map_get(r->m, tm_key(key, i), buf, sizeof buf, &len, NULL);
            CHECKF(rc == 0 && len == VLEN, "reader %d.%d: key %u gave %s, %zu bytes", r->id,
                   r->thread, (unsigned)i, smem_err_name(rc), len);
            tm_val v = tm_val_expect("reader", buf, len, i);
            CHECKF(v.counter >= last[i], "reader %d.%d: key %u went back from write %llu to %llu",
                   r->id, r->thread, (unsigned)i, (unsigned long long)last[i],
                   (unsigned long long)v.counter);
            last[i] = v.counter;
            r->reads++;
        }
        size_t me = smem_map_max_entries(r->m);
        CHECKF(me >= seen_max, "reader %d: max_entries went back from %zu to %zu", r->id,
               seen_max, me);
        seen_max = me;
        if (r->thread == 0)
            __atomic_add_fetch(&r->c->passes[r->id], 1, __ATOMIC_RELEASE);
    }
    free(last);
    return NULL;
}

/* reader NAME CTL ID K: two threads that get keys 0..K-1 over and over
 * through one handle until stopped; every get must find a whole value of
 * its key, and a key's writes must never go back; says "reads N". */
static int helper_reader(int argc, char **argv)
{
    CHECK(argc == 4);
    smem_map *m = attach(argv[0]);
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(argv[1], &cr);
    struct rloop r[2];
    for (int t = 0; t < 2; t++) {
        r[t] = (struct rloop){.m = m, .c = c, .id = (int)tv_num(argv[2]), .thread = t,
                              .k = (uint32_t)tv_num(argv[3])};
        CHECK(pthread_create(&r[t].t, NULL, reader_loop, &r[t]) == 0);
    }
    th_say("ready");
    for (int t = 0; t < 2; t++)
        CHECK(pthread_join(r[t].t, NULL) == 0);
    th_say("reads %llu", (unsigned long long)(r[0].reads + r[1].reads));
    smem_region_close(cr);
    smem_map_close(m);
    return 0;
}

/* writer NAME CTL K: rewrites keys 0..K-1 in turn until stopped, each with
 * the next write's number; says "writes N". */
static int helper_writer(int argc, char **argv)
{
    CHECK(argc == 3);
    smem_map *m = attach(argv[0]);
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(argv[1], &cr);
    uint32_t k = (uint32_t)tv_num(argv[2]);
    unsigned char scratch[VLEN];
    th_say("ready");
    uint64_t n = 0;
    while (!stopped(c)) {
        n++;
        CHECK_OK(tm_set(m, (uint32_t)(n % k), VLEN, 1, n, scratch));
    }
    th_say("writes %llu", (unsigned long long)n);
    smem_region_close(cr);
    smem_map_close(m);
    return 0;
}

/* Waits until each reader finished a pass since PASSES, and updates it. */
static void await_passes(struct ctl *c, uint64_t passes[2])
{
    int64_t give_up = th_now_ms() + 60000;
    for (int id = 0; id < 2; id++) {
        while (__atomic_load_n(&c->passes[id], __ATOMIC_ACQUIRE) == passes[id]) {
            tm_yield();
            CHECKF(th_now_ms() < give_up, "reader %d made no pass in 60 s", id);
        }
        passes[id] = __atomic_load_n(&c->passes[id], __ATOMIC_ACQUIRE);
    }
}

static void test_resizes_under_load(void)
{
    const uint32_t k = 1000;
    const uint64_t top = TM_SANITIZED ? 100000 : 1000000;
    const int rounds = TM_SANITIZED ? 30 : 100;
    char name[SMEM_NAME_MAX + 1], ctlname[SMEM_NAME_MAX + 1], line[128], num[16], id[4];
    th_name(name, "rsload");
    th_name(ctlname, "rsloadctl");
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(ctlname, &cr);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, k, VLEN, NULL, &m));
    unsigned char scratch[VLEN];
    for (uint32_t i = 0; i < k; i++)
        CHECK_OK(tm_set(m, i, VLEN, 1, 0, scratch));
    snprintf(num, sizeof num, "%u", (unsigned)k);
    th_proc readers[2], writer;
    for (int i = 0; i < 2; i++) {
        snprintf(id, sizeof id, "%d", i);
        th_spawn(&readers[i], -1, "reader", name, ctlname, id, num, NULL);
        th_expect(&readers[i], "ready", 20000);
    }
    th_spawn(&writer, -1, "writer", name, ctlname, num, NULL);
    th_expect(&writer, "ready", 20000);
    uint64_t passes[2] = {0, 0}, entries = k;
    int64_t t0 = th_now_ms();
    for (int r = 1; r <= rounds; r++) {
        await_passes(c, passes); /* so that reads overlap every resize */
        uint64_t next = k + (top - k) * (uint64_t)r * (uint64_t)r / ((uint64_t)rounds * rounds);
        entries = next > entries ? next : entries + 1;
        CHECK_OK(smem_map_resize(m, (size_t)entries, VLEN));
    }
    int64_t took = th_now_ms() - t0;
    await_passes(c, passes);
    __atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
    unsigned long long reads[2], writes;
    for (int i = 0; i < 2; i++) {
        th_recv(&readers[i], line, sizeof line, 60000);
        CHECKF(sscanf(line, "reads %llu", &reads[i]) == 1, "reader: %s", line);
        th_wait_ok(&readers[i], 20000);
    }
    th_recv(&writer, line, sizeof line, 60000);
    CHECKF(sscanf(line, "writes %llu", &writes) == 1, "writer: %s", line);
    th_wait_ok(&writer, 20000);
    CHECK(smem_map_max_entries(m) == top && smem_map_count(m) == (int)k);
    CHECKF(th_shm_tables(name) == 1, "%d tables left after %d resizes", th_shm_tables(name),
           rounds);
    th_log("%d resizes from %u to %llu entries in %lld ms, while 2 processes read %llu and %llu "
           "values (each whole, its key's, never older) and one wrote %llu",
           rounds, (unsigned)k, (unsigned long long)top, (long long)took, reads[0], reads[1],
           writes);
    smem_map_close(m);
    smem_region_close(cr);
}

/* ---- 4: SMEM_GROW with two inserters ----------------------------------- */

/* inserter NAME CTL ID N: inserts keys ID*N .. ID*N+N-1 into a growing
 * map, each with a self-checking value; says "done". */
static int helper_inserter(int argc, char **argv)
{
    CHECK(argc == 4);
    smem_map *m = attach(argv[0]);
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(argv[1], &cr);
    uint32_t id = (uint32_t)tv_num(argv[2]), n = (uint32_t)tv_num(argv[3]);
    unsigned char scratch[TM_VAL_MIN];
    th_say("ready");
    tm_barrier(&c->arrive, 2, 60000);
    for (uint32_t i = id * n; i < id * n + n; i++) {
        int rc = tm_set(m, i, TM_VAL_MIN, id, i, scratch);
        CHECKF(rc == 0, "inserter %u: key %u gave %s (max_entries %zu)", (unsigned)id,
               (unsigned)i, smem_err_name(rc), smem_map_max_entries(m));
    }
    th_say("done");
    smem_region_close(cr);
    smem_map_close(m);
    return 0;
}

static void test_grow_under_load(void)
{
    const uint32_t n = TM_SANITIZED ? 50000 : 500000;
    char name[SMEM_NAME_MAX + 1], ctlname[SMEM_NAME_MAX + 1], num[16];
    th_name(name, "rsgrow");
    th_name(ctlname, "rsgrowctl");
    smem_region *cr = NULL;
    open_ctl(ctlname, &cr);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 16, TM_VAL_MIN, &grow, &m));
    snprintf(num, sizeof num, "%u", (unsigned)n);
    th_proc p[2];
    int64_t t0 = th_now_ms();
    for (int i = 0; i < 2; i++) {
        th_spawn(&p[i], -1, "inserter", name, ctlname, i ? "1" : "0", num, NULL);
        th_expect(&p[i], "ready", 20000);
    }
    for (int i = 0; i < 2; i++) {
        th_expect(&p[i], "done", 300000);
        th_wait_ok(&p[i], 20000);
    }
    int64_t took = th_now_ms() - t0;
    size_t me = smem_map_max_entries(m);
    CHECKF(smem_map_count(m) == (int)(2 * n) && me >= 2 * n && me < 4 * (size_t)n,
           "%u inserts left %d entries, max_entries %zu", (unsigned)(2 * n), smem_map_count(m),
           me);
    for (uint32_t i = 0; i < 2 * n; i++) {
        unsigned char buf[TM_VAL_MIN];
        char key[TM_KEY_BUF];
        size_t len = 0;
        int rc = smem_map_get(m, tm_key(key, i), buf, sizeof buf, &len, NULL);
        CHECKF(rc == 0, "key %u: %s", (unsigned)i, smem_err_name(rc));
        tm_val v = tm_val_expect("after growing", buf, len, i);
        CHECK(v.writer == i / n && v.counter == i);
    }
    th_log("SMEM_GROW: 2 processes inserted %u keys into a map of 16 entries, which grew to "
           "%zu, in %lld ms; every key whole",
           (unsigned)(2 * n), me, (long long)took);
    smem_map_close(m);
    smem_region_close(cr);
}

static const th_helper helpers[] = {
    {"holder", helper_holder},
    {"reader", helper_reader},
    {"writer", helper_writer},
    {"inserter", helper_inserter},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    char name[SMEM_NAME_MAX + 1];
    test_errors(th_name(name, "rserr"));
    if (TH_WINDOWS) {
        smem_map *m = NULL;
        CHECK_OK(smem_map_open(th_name(name, "rswin"), 10, 8, NULL, &m));
        CHECK_ERR(smem_map_resize(m, 20, 8), SMEM_ENOTSUP);
        smem_map_close(m);
        SKIP("maps do not grow on Windows yet (SMEM_ENOTSUP, checked); the errors were checked");
    }
    test_moves(th_name(name, "rsmove"));
    test_grow_flag(th_name(name, "rsflag"));
    test_reclaim(th_name(name, "rsgone"));
    test_resizes_under_load();
    test_grow_under_load();
    return 0;
}
