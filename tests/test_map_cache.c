/* Maps as caches, one call at a time, in one process: smem_map_put and
 * its flags (NX, XX, KEEPTTL, both, unknown) and limits, expire, ttl,
 * get_stale, incr_ex, flush (one change), walk with and without
 * SMEM_WALK_STALE, stats (exact in one process), count, which calls keep
 * a key's expiry and which drop it, that an expired entry is absent at
 * once for every read, that a full map reclaims expired entries before it
 * evicts a live one or says SMEM_EFULL, the order in which CLOCK evicts
 * and the second chance a read gives, SMEM_EVICT's options and mismatch,
 * read-only handles on an evicting map, and waits that expire.
 * (test_map_evict.c does the same between processes.) */
#include "check.h"

#include "test_map_kit.c"

#include <stdio.h>
#include <string.h>

static const smem_opts evict = {SMEM_EVICT, 0, 0, NULL, NULL};
static const smem_opts evict_excl = {SMEM_EVICT | SMEM_EXCL, 0, 0, NULL, NULL};
static const smem_opts rdonly = {SMEM_RDONLY, 0, 0, NULL, NULL};

static smem_map *new_map(const char *tag, size_t entries, const smem_opts *o, char *name)
{
    th_name(name, tag);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, entries, 32, o, &m));
    return m;
}

static void put_ttl(smem_map *m, const char *key, const char *val, uint64_t ttl_ms)
{
    smem_put how = {ttl_ms, 0};
    int evicted = -1;
    CHECK_OK(smem_map_put(m, key, val, strlen(val), &how, &evicted));
    CHECK_EQ_INT(evicted, 0);
}

/* KEY holds VAL. */
static void expect_val(smem_map *m, const char *key, const char *val)
{
    char b[64];
    size_t len = 0;
    int rc = smem_map_get(m, key, b, sizeof b, &len, NULL);
    CHECKF(rc == 0, "get(%s) gave %s", key, smem_err_name(rc));
    CHECKF(len == strlen(val) && memcmp(b, val, len) == 0, "%s holds \"%.*s\", not \"%s\"", key,
           (int)len, b, val);
}

/* KEY's version, which must be present. */
static uint64_t version_of(smem_map *m, const char *key)
{
    char b[64];
    uint64_t ver = 0;
    CHECK_OK(smem_map_get(m, key, b, sizeof b, NULL, &ver));
    return ver;
}

static int present(smem_map *m, const char *key)
{
    char b[64];
    int rc = smem_map_get(m, key, b, sizeof b, NULL, NULL);
    CHECKF(rc == 0 || rc == SMEM_ENOENT, "get(%s) gave %s", key, smem_err_name(rc));
    return rc == 0;
}

static int64_t ttl_of(smem_map *m, const char *key)
{
    int64_t left = -2;
    CHECK_OK(smem_map_ttl(m, key, &left));
    return left;
}

static struct smem_map_stats stats_of(smem_map *m)
{
    struct smem_map_stats s;
    CHECK_OK(smem_map_stats(m, &s));
    return s;
}

/* ---- put -------------------------------------------------------------- */

static void test_put_flags(void)
{
    char name[SMEM_NAME_MAX + 1];
    smem_map *m = new_map("cput", 8, NULL, name);
    smem_put nx = {0, SMEM_PUT_NX}, xx = {0, SMEM_PUT_XX}, both = {0, SMEM_PUT_NX | SMEM_PUT_XX};
    smem_put unknown = {0, 0x8u}, too_long = {SMEM_TTL_MAX_MS + 1, 0};
    int evicted = -1;
    CHECK_ERR(smem_map_put(m, "a", "1", 1, &xx, &evicted), SMEM_ENOENT);
    CHECK_EQ_INT(evicted, 0);
    CHECK_ERR(smem_map_get(m, "a", NULL, 0, NULL, NULL), SMEM_ENOENT);
    CHECK_OK(smem_map_put(m, "a", "1", 1, &nx, NULL));
    CHECK_ERR(smem_map_put(m, "a", "2", 1, &nx, NULL), SMEM_EEXIST);
    expect_val(m, "a", "1");
    CHECK_OK(smem_map_put(m, "a", "3", 1, &xx, NULL));
    expect_val(m, "a", "3");
    uint64_t v = smem_map_version(m);
    CHECK_ERR(smem_map_put(m, "a", "4", 1, &both, NULL), SMEM_EINVAL);
    CHECK_ERR(smem_map_put(m, "a", "4", 1, &unknown, NULL), SMEM_EINVAL);
    CHECK_ERR(smem_map_put(m, "a", "4", 1, &too_long, NULL), SMEM_ERANGE);
    char big[40] = {0};
    CHECK_ERR(smem_map_put(m, "a", big, sizeof big, NULL, NULL), SMEM_E2BIG);
    CHECK_ERR(smem_map_put(m, "a", NULL, 1, NULL, NULL), SMEM_EINVAL);
    CHECK_ERR(smem_map_put(NULL, "a", "4", 1, NULL, NULL), SMEM_EINVAL);
    CHECK_ERR(smem_map_put(m, "", "4", 1, NULL, NULL), SMEM_EINVAL);
    CHECK_ERR(smem_map_expire(m, "a", SMEM_TTL_MAX_MS + 1), SMEM_ERANGE);
    CHECK_ERR(smem_map_incr_ex(m, "n", 1, 0, SMEM_TTL_MAX_MS + 1, NULL), SMEM_ERANGE);
    CHECK_EQ_SIZE(smem_map_version(m), v); /* none of them changed anything */
    expect_val(m, "a", "3");
    smem_put longest = {SMEM_TTL_MAX_MS, 0};
    CHECK_OK(smem_map_put(m, "far", "x", 1, &longest, NULL));
    CHECK(ttl_of(m, "far") > (int64_t)(SMEM_TTL_MAX_MS - 1000));
    smem_map *ro = NULL;
    CHECK_OK(smem_map_open(name, 0, 0, &rdonly, &ro));
    CHECK_ERR(smem_map_put(ro, "b", "1", 1, NULL, NULL), SMEM_EBADF);
    CHECK_ERR(smem_map_expire(ro, "a", 10), SMEM_EBADF);
    CHECK_ERR(smem_map_flush(ro), SMEM_EBADF);
    smem_map_close(ro);
    smem_map_close(m);
    th_log("put: NX, XX, NX|XX, unknown flags, TTL limits, E2BIG, bad keys, read-only");
}

/* Which calls keep an expiry and which give none. */
static void test_keep_ttl(void)
{
    char name[SMEM_NAME_MAX + 1];
    smem_map *m = new_map("ckeep", 8, NULL, name);
    put_ttl(m, "k", "1", 100000);
    CHECK(ttl_of(m, "k") > 90000 && ttl_of(m, "k") <= 100000);
    smem_put keep = {0, SMEM_PUT_KEEPTTL}, keep_new = {5000, SMEM_PUT_KEEPTTL};
    CHECK_OK(smem_map_put(m, "k", "2", 1, &keep, NULL));
    CHECK(ttl_of(m, "k") > 90000);
    CHECK_OK(smem_map_put(m, "fresh", "2", 1, &keep_new, NULL)); /* a new key gets ttl_ms */
    CHECK(ttl_of(m, "fresh") > 4000 && ttl_of(m, "fresh") <= 5000);
    CHECK_OK(smem_map_cas(m, "k", version_of(m, "k"), "3", 1));
    CHECK(ttl_of(m, "k") > 90000); /* cas keeps it */
    CHECK_OK(smem_map_put(m, "c", "5", 1, &keep_new, NULL));
    CHECK_OK(smem_map_incr(m, "c", 1, NULL));
    CHECK(ttl_of(m, "c") > 4000); /* incr keeps it */
    expect_val(m, "c", "6");
    CHECK_OK(smem_map_set(m, "k", "4", 1));
    CHECK_EQ_INT((int)ttl_of(m, "k"), -1); /* set gives none */
    put_ttl(m, "k", "5", 100000);
    CHECK_OK(smem_map_put(m, "k", "6", 1, NULL, NULL));
    CHECK_EQ_INT((int)ttl_of(m, "k"), -1); /* and so does put without KEEPTTL */
    smem_map_close(m);
    th_log("expiry: KEEPTTL keeps it (a new key gets ttl_ms), cas and incr keep it, set drops it");
}

/* ---- expire, ttl, get_stale ------------------------------------------- */

static void test_expire_ttl(void)
{
    char name[SMEM_NAME_MAX + 1];
    smem_map *m = new_map("cexp", 8, NULL, name);
    int64_t left = 7;
    CHECK_ERR(smem_map_ttl(m, "nope", &left), SMEM_ENOENT);
    CHECK_ERR(smem_map_ttl(m, "nope", NULL), SMEM_EINVAL);
    CHECK_ERR(smem_map_expire(m, "nope", 100), SMEM_ENOENT);
    CHECK_OK(smem_map_set(m, "k", "v", 1));
    CHECK_EQ_INT((int)ttl_of(m, "k"), -1);
    uint64_t v0 = smem_map_version(m);
    CHECK_OK(smem_map_expire(m, "k", 60000));
    CHECK_EQ_SIZE(smem_map_version(m), v0 + 1); /* a change, */
    CHECK_EQ_SIZE(version_of(m, "k"), v0 + 1);  /* with the key's new version */
    char b[8];
    size_t len;
    CHECK(ttl_of(m, "k") > 59000 && ttl_of(m, "k") <= 60000);
    CHECK_OK(smem_map_expire(m, "k", 0));
    CHECK_EQ_INT((int)ttl_of(m, "k"), -1);
    expect_val(m, "k", "v");
    CHECK_OK(smem_map_expire(m, "k", 30));
    th_sleep_ms(80);
    /* No writer since it expired: absent for every read, but there. */
    CHECK_ERR(smem_map_ttl(m, "k", &left), SMEM_ENOENT);
    CHECK_ERR(smem_map_get(m, "k", b, sizeof b, &len, NULL), SMEM_ENOENT);
    CHECK_EQ_INT(smem_map_count(m), 0);
    int stale = -1;
    uint64_t ver = 0;
    CHECK_OK(smem_map_get_stale(m, "k", b, sizeof b, &len, &ver, &stale));
    CHECK(stale == 1 && len == 1 && b[0] == 'v' && ver > 0);
    CHECK_OK(smem_map_get_stale(m, "k", b, sizeof b, &len, NULL, NULL));
    CHECK_ERR(smem_map_get_stale(m, "k", b, 0, &len, NULL, &stale), SMEM_E2BIG);
    CHECK_EQ_SIZE(len, 1);
    struct smem_map_stats st;
    CHECK_OK(smem_map_stats(m, &st));
    CHECK(st.entries == 0 && st.stale == 1 && st.expirations == 0);
    /* A change's sweep reclaims it, even a change that fails. */
    CHECK_ERR(smem_map_expire(m, "k", 1000), SMEM_ENOENT); /* expired is absent */
    CHECK_ERR(smem_map_get_stale(m, "k", b, sizeof b, &len, NULL, &stale), SMEM_ENOENT);
    CHECK_OK(smem_map_stats(m, &st));
    CHECK(st.entries == 0 && st.stale == 0 && st.expirations == 1 && st.bytes == 0);
    CHECK_ERR(smem_map_del(m, "k"), SMEM_ENOENT);
    CHECK_OK(smem_map_set(m, "live", "w", 1));
    CHECK_OK(smem_map_get_stale(m, "live", b, sizeof b, &len, NULL, &stale));
    CHECK_EQ_INT(stale, 0);
    stale = 5;
    CHECK_ERR(smem_map_get_stale(m, "none", b, sizeof b, &len, NULL, &stale), SMEM_ENOENT);
    CHECK_EQ_INT(stale, 0);
    CHECK_EQ_INT(smem_map_count(m), 1);
    smem_map_close(m);
    th_log("expire: a change with a version, 0 removes it; ttl; expired is absent for get, ttl, "
           "expire, del and count; get_stale finds it until a writer's sweep reclaims it");
}

/* ---- incr_ex ---------------------------------------------------------- */

static void test_incr_ex(void)
{
    char name[SMEM_NAME_MAX + 1];
    smem_map *m = new_map("cincr", 8, NULL, name);
    int64_t r = 0;
    CHECK_OK(smem_map_incr_ex(m, "n", 5, 100, 60000, &r));
    CHECK_EQ_INT((int)r, 105);
    CHECK(ttl_of(m, "n") > 59000);
    CHECK_OK(smem_map_expire(m, "n", 0));
    CHECK_OK(smem_map_incr_ex(m, "n", 5, 100, 60000, &r));
    CHECK_EQ_INT((int)r, 110);
    CHECK_EQ_INT((int)ttl_of(m, "n"), -1); /* a present counter keeps its (lack of) expiry */
    CHECK_OK(smem_map_incr_ex(m, "short", 1, 0, 30, &r));
    th_sleep_ms(80);
    CHECK_OK(smem_map_incr_ex(m, "short", 1, 41, 0, &r)); /* expired: starts from init */
    CHECK_EQ_INT((int)r, 42);
    CHECK_EQ_INT((int)ttl_of(m, "short"), -1);
    CHECK_OK(smem_map_set(m, "text", "abc", 3));
    CHECK_ERR(smem_map_incr_ex(m, "text", 1, 0, 0, &r), SMEM_EINVAL);
    CHECK_ERR(smem_map_incr_ex(m, "big", 1, INT64_MAX, 0, &r), SMEM_ERANGE);
    CHECK_ERR(smem_map_get(m, "big", NULL, 0, NULL, NULL), SMEM_ENOENT);
    CHECK_OK(smem_map_incr_ex(m, "neg", -1, INT64_MIN + 1, 0, &r));
    CHECK(r == INT64_MIN);
    smem_map_close(m);
    th_log("incr_ex: init and init_ttl for a new or expired counter; a present one keeps its expiry");
}

/* ---- flush, walk, stats ----------------------------------------------- */

struct seen {
    int n, stale;
    int64_t ms_left[16];
    char keys[16][8];
};

static int note_entry(const smem_map_entry *e, void *arg)
{
    struct seen *s = arg;
    CHECK(s->n < 16);
    snprintf(s->keys[s->n], sizeof s->keys[0], "%s", e->key);
    s->ms_left[s->n] = e->ms_left;
    s->stale += e->ms_left == 0;
    s->n++;
    return 0;
}

static void test_walk_flush(void)
{
    char name[SMEM_NAME_MAX + 1];
    smem_map *m = new_map("cwalk", 8, NULL, name);
    CHECK_OK(smem_map_set(m, "never", "1", 1));
    put_ttl(m, "later", "2", 60000);
    put_ttl(m, "soon", "3", 30);
    th_sleep_ms(80);
    struct seen s = {0};
    CHECK_EQ_INT(smem_map_walk(m, 0, note_entry, &s), 2);
    CHECK(s.stale == 0);
    memset(&s, 0, sizeof s);
    CHECK_EQ_INT(smem_map_walk(m, SMEM_WALK_STALE, note_entry, &s), 3);
    CHECK_EQ_INT(s.stale, 1);
    for (int i = 0; i < s.n; i++) {
        int64_t left = s.ms_left[i];
        int ok = strcmp(s.keys[i], "never") == 0  ? left == -1
                 : strcmp(s.keys[i], "soon") == 0 ? left == 0
                                                  : left > 59000 && left <= 60000;
        CHECKF(ok, "walk: %s has ms_left %lld", s.keys[i], (long long)left);
    }
    CHECK_ERR(smem_map_walk(m, 0x2u, note_entry, &s), SMEM_EINVAL);
    CHECK_ERR(smem_map_walk(m, 0, NULL, &s), SMEM_EINVAL);
    struct smem_map_stats st = stats_of(m);
    CHECK(st.entries == 2 && st.stale == 1 && st.max_entries == 8 && st.bytes == 5 + 5 + 4 + 3);
    uint64_t v = smem_map_version(m);
    CHECK_OK(smem_map_flush(m));
    CHECK_EQ_SIZE(smem_map_version(m), v + 1); /* one change */
    CHECK_EQ_INT(smem_map_count(m), 0);
    int stale;
    CHECK_ERR(smem_map_get_stale(m, "soon", NULL, 0, NULL, NULL, &stale), SMEM_ENOENT);
    memset(&s, 0, sizeof s);
    CHECK_EQ_INT(smem_map_walk(m, SMEM_WALK_STALE, note_entry, &s), 0);
    st = stats_of(m);
    CHECK(st.entries == 0 && st.stale == 0 && st.bytes == 0 && st.deletes == 3);
    for (int i = 0; i < 8; i++) { /* every record is free again */
        char k[8];
        snprintf(k, sizeof k, "n%d", i);
        CHECK_OK(smem_map_set(m, k, "x", 1));
    }
    CHECK_ERR(smem_map_set(m, "ninth", "x", 1), SMEM_EFULL);
    smem_map_close(m);
    th_log("walk: SMEM_WALK_STALE shows expired entries (ms_left 0), -1 for none; flush: one "
           "change, nothing left, stale ones too, every record reusable");
}

static void test_stats_one_process(void)
{
    char name[SMEM_NAME_MAX + 1];
    smem_map *m = new_map("cstat", 4, NULL, name);
    CHECK_OK(smem_map_set(m, "a", "1", 1));
    CHECK_OK(smem_map_set(m, "b", "2", 1));
    CHECK_OK(smem_map_add(m, "c", "3", 1));
    CHECK_ERR(smem_map_add(m, "c", "3", 1), SMEM_EEXIST); /* no set */
    CHECK_OK(smem_map_incr(m, "n", 1, NULL));
    CHECK_OK(smem_map_del(m, "a"));
    CHECK_ERR(smem_map_del(m, "a"), SMEM_ENOENT); /* no delete */
    char b[8];
    for (int i = 0; i < 300; i++) /* past one batch of 256 */
        CHECK_OK(smem_map_get(m, "b", b, sizeof b, NULL, NULL));
    for (int i = 0; i < 7; i++)
        CHECK_ERR(smem_map_get(m, "zz", b, sizeof b, NULL, NULL), SMEM_ENOENT);
    struct smem_map_stats s = stats_of(m);
    CHECK_EQ_SIZE(s.sets, 4);
    CHECK_EQ_SIZE(s.deletes, 1);
    CHECK_EQ_SIZE(s.hits, 300);
    CHECK_EQ_SIZE(s.misses, 7);
    CHECK(s.evictions == 0 && s.expirations == 0 && s.entries == 3 && s.max_entries == 4);
    CHECK(s.bytes == 2 + 2 + 2 && !s.evicting);
    /* Another handle sees the gets of this one in batches of 256, and all
     * of them once it closes. */
    smem_map *again = NULL;
    CHECK_OK(smem_map_open(name, 0, 0, NULL, &again));
    s = stats_of(again);
    CHECK(s.hits == 256 && s.misses == 0 && s.sets == 4);
    smem_map_close(m);
    s = stats_of(again);
    CHECKF(s.hits == 300 && s.misses == 7, "after close: hits %llu misses %llu",
           (unsigned long long)s.hits, (unsigned long long)s.misses);
    CHECK_ERR(smem_map_stats(again, NULL), SMEM_EINVAL);
    CHECK_ERR(smem_map_stats(NULL, &s), SMEM_EINVAL);
    smem_map_close(again);
    th_log("stats: sets, deletes, hits and misses exact, and kept by the map when a handle closes");
}

/* ---- full maps -------------------------------------------------------- */

/* A full map reclaims expired entries first, whether it evicts or not. */
static void test_expired_first(int evicting)
{
    char name[SMEM_NAME_MAX + 1], k[16];
    enum { N = 64 };
    smem_map *m = new_map(evicting ? "cfirste" : "cfirst", N, evicting ? &evict : NULL, name);
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof k, "old%d", i);
        if (i % 2)
            put_ttl(m, k, "t", 30);
        else
            CHECK_OK(smem_map_set(m, k, "p", 1));
    }
    th_sleep_ms(80);
    CHECK_EQ_INT(smem_map_count(m), N / 2);
    for (int i = 0; i < N / 2; i++) {
        snprintf(k, sizeof k, "new%d", i);
        int evicted = -1;
        CHECK_OK(smem_map_put(m, k, "n", 1, NULL, &evicted));
        CHECK_EQ_INT(evicted, 0);
    }
    for (int i = 0; i < N; i += 2) {
        snprintf(k, sizeof k, "old%d", i);
        expect_val(m, k, "p");
    }
    struct smem_map_stats s = stats_of(m);
    CHECK(s.evictions == 0 && s.expirations == N / 2 && s.entries == N && s.stale == 0);
    int evicted = -1;
    int rc = smem_map_put(m, "one-more", "x", 1, NULL, &evicted);
    if (evicting) {
        CHECK(rc == 0 && evicted == 1 && stats_of(m).evictions == 1);
    } else {
        CHECK_ERR(rc, SMEM_EFULL);
        CHECK_EQ_INT(evicted, 0);
    }
    smem_map_close(m);
    th_log("full %s map: %d expired entries reclaimed before any live one, then %s",
           evicting ? "evicting" : "plain", N / 2, evicting ? "evicts" : "SMEM_EFULL");
}

/* Changes sweep a few records each for expired entries, so that they go
 * even from a map that never fills, and the count is exact again. */
static void test_sweep(void)
{
    char name[SMEM_NAME_MAX + 1], k[16];
    enum { N = 64 };
    smem_map *m = new_map("csweep", N, NULL, name);
    for (int i = 0; i < N / 2; i++) {
        snprintf(k, sizeof k, "t%d", i);
        put_ttl(m, k, "t", 30);
    }
    CHECK_OK(smem_map_set(m, "other", "o", 1));
    th_sleep_ms(80);
    struct smem_map_stats s = stats_of(m);
    CHECK(s.entries == 1 && s.stale == N / 2 && s.expirations == 0);
    /* N + 1 records, 4 swept per change: 17 changes pass them all. */
    for (int i = 0; i < 17; i++)
        CHECK_OK(smem_map_set(m, "other", "o", 1));
    s = stats_of(m);
    CHECKF(s.entries == 1 && s.stale == 0 && s.expirations == N / 2,
           "after 17 changes: %llu live, %llu stale, %llu expirations",
           (unsigned long long)s.entries, (unsigned long long)s.stale,
           (unsigned long long)s.expirations);
    smem_map_close(m);
    th_log("sweep: %d expired entries of a map with room reclaimed within 17 changes", N / 2);
}

/* CLOCK: with no reads, entries go in the order the hand meets them; a
 * read gives an entry a second chance. */
static void test_clock_order(void)
{
    char name[SMEM_NAME_MAX + 1], k[16];
    enum { N = 32 };
    smem_map *m = new_map("cclock", N, &evict, name);
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof k, "k%d", i);
        CHECK_OK(smem_map_set(m, k, "v", 1));
    }
    /* Read every even key: each new key then evicts an odd one. */
    for (int i = 0; i < N; i += 2) {
        snprintf(k, sizeof k, "k%d", i);
        CHECK(present(m, k));
    }
    for (int i = 0; i < N / 2; i++) {
        snprintf(k, sizeof k, "x%d", i);
        int evicted = 0;
        CHECK_OK(smem_map_put(m, k, "v", 1, NULL, &evicted));
        CHECK_EQ_INT(evicted, 1);
    }
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof k, "k%d", i);
        CHECKF((i % 2 == 0) == present(m, k), "after %d evictions k%d is %s", N / 2, i,
               i % 2 ? "still there" : "gone");
    }
    struct smem_map_stats s = stats_of(m);
    CHECK(s.evictions == N / 2 && s.entries == N && s.evicting);
    smem_map_close(m);
    th_log("CLOCK: the %d entries read kept their place, the %d not read were evicted", N / 2,
           N / 2);
}

static void test_evict_options(void)
{
    char name[SMEM_NAME_MAX + 1];
    smem_map *plain = new_map("copt", 4, NULL, name);
    smem_map *m = NULL;
    CHECK_ERR(smem_map_open(name, 0, 0, &evict, &m), SMEM_EMISMATCH);
    CHECK_ERR(smem_map_open(name, 4, 32, &evict, &m), SMEM_EMISMATCH);
    smem_map_close(plain);
    smem_region *r = NULL;
    smem_value *v = NULL;
    char other[SMEM_NAME_MAX + 1];
    th_name(other, "coptr");
    CHECK_ERR(smem_region_open(other, 64, &evict, &r), SMEM_EINVAL);
    CHECK_ERR(smem_value_open(other, 64, &evict, &v), SMEM_EINVAL);
    smem_map *em = new_map("copte", 4, &evict_excl, name);
    smem_map *any = NULL;
    CHECK_OK(smem_map_open(name, 0, 0, NULL, &any)); /* not asking is fine */
    CHECK(stats_of(any).evicting);
    /* A read-only handle of an evicting map reads without marking (its
     * mapping would not take the store). */
    CHECK_OK(smem_map_set(em, "k", "v", 1));
    smem_map *ro = NULL;
    CHECK_OK(smem_map_open(name, 0, 0, &rdonly, &ro));
    for (int i = 0; i < 300; i++)
        expect_val(ro, "k", "v");
    struct smem_map_stats s = stats_of(ro);
    CHECK_EQ_SIZE(s.hits, 300); /* its own, never added to the map's */
    smem_map_close(ro);
    CHECK_EQ_SIZE(stats_of(any).hits, 0);
    smem_map_close(any);
    smem_map_close(em);
    th_log("SMEM_EVICT: only for maps, EMISMATCH on a map without it, read-only handles read");
}

/* ---- waits ------------------------------------------------------------ */

static void test_wait_expiry(void)
{
    char name[SMEM_NAME_MAX + 1];
    smem_map *m = new_map("cwait", 4, NULL, name);
    put_ttl(m, "k", "v", 150);
    uint64_t ver = version_of(m, "k");
    int64_t t0 = th_now_ms();
    CHECK_OK(smem_map_wait(m, "k", ver, 10000));
    int64_t took = th_now_ms() - t0;
    CHECKF(took >= 140 && took < 5000, "a wait on a key with 150 ms to live took %lld ms",
           (long long)took);
    CHECK_ERR(smem_map_get(m, "k", NULL, 0, NULL, NULL), SMEM_ENOENT);
    /* An expiry is not a change: a map-wide wait goes on until a writer. */
    put_ttl(m, "j", "v", 50);
    uint64_t mv = smem_map_version(m);
    t0 = th_now_ms();
    CHECK_ERR(smem_map_wait(m, NULL, mv, 300), SMEM_ETIMEDOUT);
    CHECK(th_now_ms() - t0 >= 290);
    CHECK_OK(smem_map_flush(m));
    CHECK_OK(smem_map_wait(m, NULL, mv, 0));
    smem_map_close(m);
    th_log("wait: a key's wait ends when it expires (%lld ms for 150), a map-wide wait only on a "
           "change", (long long)took);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    test_put_flags();
    test_keep_ttl();
    test_expire_ttl();
    test_incr_ex();
    test_walk_flush();
    test_stats_one_process();
    test_expired_first(0);
    test_expired_first(1);
    test_sweep();
    test_clock_order();
    test_evict_options();
    test_wait_expiry();
    return 0;
}
