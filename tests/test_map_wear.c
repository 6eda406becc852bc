/* A map worn by ten million random changes at 90% of max_entries.
 *
 * A map of N = 20,000 entries takes 10,000,000 random sets (inserts and
 * replacements) and deletes over a universe of 2N keys, staying about 90%
 * full (fewer operations under a sanitizer or Wine: the output says how
 * many).  Then:
 *   - every key holds exactly what a model of the map says (and count
 *     agrees, checked every million operations too);
 *   - lookups (hits and misses) are not measurably slower than on a fresh
 *     map holding the same entries: a map that leaves tombstones behind, or
 *     lets chains grow, gets slower with wear and would fail here;
 *   - the map still fills to exactly N entries, then gives SMEM_EFULL;
 *     emptied, it fills to exactly N again: no entry leaked.
 *
 * Then the same with times to live, on a map without and on one with
 * SMEM_EVICT (half as many operations each): a quarter of the writes put
 * one of N/2 more keys with 1 to 8 ms to live, so that entries expire all
 * the time while others are written, and expired ones fill the map until
 * new keys reclaim them.  The model knows when each such key may expire
 * (between the clock read before its put and the one after, plus its time
 * to live) and checks it is live before, gone (get) or stale with its last
 * value (get_stale) after, either in between; live entries never reach N,
 * so no set fails and nothing is ever evicted: a new key in a full map
 * always finds an expired entry to reclaim.  Once every short time to live
 * has passed: the model exactly, the statistics (entries, stale, bytes,
 * no evictions, reclaims counted), lookups against a fresh map holding the
 * same entries and the same expired ones, and the fill to exactly N. */
#include "check.h"

#include "test_map_kit.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 20000
#define U (2 * N)           /* the keys changed: 0..U-1 */
#define TARGET (N * 9 / 10) /* about this many present */
#define VAL 16
#define RUNS 7              /* timing runs of each map; the median counts */
#define MAX_RATIO 1.5
/* Times to live: short keys U..U+S-1, live entries below N at all times. */
#define S (N / 2)
#define TTL_TARGET (N * 8 / 10) /* long keys present, with times to live */
#define RING (N / 10)           /* short puts that may still be live, at most */
#define TTL_MAX 8               /* ms */

static uint32_t counter[U + S]; /* 0: absent, else the write that set it */
static uint32_t plist[U], ppos[U];
static uint32_t npresent;
/* A short key may expire from lo on and has expired from hi on (ms). */
static uint64_t lo[S], hi[S];
static uint32_t ring[RING], ring_head, ring_len; /* short keys by put, oldest first */

static void val_of(unsigned char *b, uint32_t key, uint32_t cnt)
{
    uint64_t h = tv_mix(((uint64_t)key << 32) | cnt);
    memcpy(b, &key, 4);
    memcpy(b + 4, &cnt, 4);
    memcpy(b + 8, &h, 8);
}

/* The map's clock (smem_map_ttl's): ms of the host's monotonic clock. */
static uint64_t now_ms(void)
{
    return (uint64_t)tv_now_ns() / 1000000;
}

static void model_add(uint32_t k)
{
    ppos[k] = npresent;
    plist[npresent++] = k;
}

static void model_del(uint32_t k)
{
    uint32_t at = ppos[k], last = plist[--npresent];
    plist[at] = last;
    ppos[last] = at;
}

static void model_reset(void)
{
    memset(counter, 0, sizeof counter);
    npresent = 0;
    ring_head = ring_len = 0;
}

static char keys[U + S][TM_KEY_BUF];
static int ttl_run; /* the run with times to live: sets are puts, and say what they evicted */

/* Short key K (U..U+S-1): what get and get_stale find, against when it may
 * have expired. */
static void check_short(smem_map *m, uint32_t k, const char *when)
{
    unsigned char b[VAL], w[VAL];
    size_t len = 99;
    int stale = -1;
    uint64_t t0 = now_ms();
    int rc = smem_map_get_stale(m, keys[k], b, sizeof b, &len, NULL, &stale);
    uint64_t t1 = now_ms(), l = lo[k - U], h = hi[k - U];
    if (counter[k] == 0) {
        CHECKF(rc == SMEM_ENOENT, "%s: short key %u was never set, get_stale gave %d", when,
               (unsigned)k, rc);
        return;
    }
    if (rc == SMEM_ENOENT) { /* reclaimed, which only an expired entry can be */
        CHECKF(t1 >= l, "%s: short key %u is gone at %llu, expiring %llu-%llu", when,
               (unsigned)k, (unsigned long long)t1, (unsigned long long)l,
               (unsigned long long)h);
        return;
    }
    CHECKF(rc == 0, "%s: short key %u (expiring %llu-%llu, now %llu): get_stale gave %d (%s)",
           when, (unsigned)k, (unsigned long long)l, (unsigned long long)h,
           (unsigned long long)t0, rc, smem_err_name(rc));
    val_of(w, k, counter[k]);
    CHECKF(len == VAL && memcmp(b, w, VAL) == 0, "%s: short key %u holds the wrong value", when,
           (unsigned)k);
    CHECKF(stale == 1 ? t1 >= l : t0 < h,
           "%s: short key %u is %s at %llu-%llu, expiring %llu-%llu", when, (unsigned)k,
           stale ? "stale" : "live", (unsigned long long)t0, (unsigned long long)t1,
           (unsigned long long)l, (unsigned long long)h);
}

/* Every key against the model; short keys (NKEYS > U) as check_short. */
static void check_all(smem_map *m, uint32_t nkeys, const char *when)
{
    unsigned char b[VAL], w[VAL];
    for (uint32_t k = 0; k < U; k++) {
        size_t len = 99;
        int rc = smem_map_get(m, keys[k], b, sizeof b, &len, NULL);
        if (counter[k] == 0) {
            CHECKF(rc == SMEM_ENOENT, "%s: key %u should be absent, get gave %d (%s)", when,
                   (unsigned)k, rc, smem_err_name(rc));
        } else {
            CHECKF(rc == 0, "%s: key %u: get gave %d (%s)", when, (unsigned)k, rc,
                   smem_err_name(rc));
            val_of(w, k, counter[k]);
            CHECKF(len == VAL && memcmp(b, w, VAL) == 0, "%s: key %u holds the wrong value",
                   when, (unsigned)k);
        }
    }
    for (uint32_t k = U; k < nkeys; k++)
        check_short(m, k, when);
    if (nkeys == U)
        CHECKF(smem_map_count(m) == (int)npresent, "%s: count %d, the model has %u", when,
               smem_map_count(m), (unsigned)npresent);
}

/* While short keys expire: count is at least the long keys and the short
 * ones live for the whole call, at most those and the short ones live at
 * its start. */
static void check_count(smem_map *m, long op)
{
    uint64_t t0 = now_ms();
    int n = smem_map_count(m);
    uint64_t t1 = now_ms();
    uint32_t low = npresent, high = npresent;
    for (uint32_t s = 0; s < S; s++) {
        if (!counter[U + s])
            continue;
        low += t1 < lo[s];
        high += t0 < hi[s];
    }
    CHECKF(n >= (int)low && n <= (int)high, "after %ld operations: count %d, the model says %u "
           "to %u", op, n, (unsigned)low, (unsigned)high);
}

/* Nanoseconds for one get of each of the first NKEYS keys (hits and
 * misses). */
static int64_t time_gets(smem_map *m, uint32_t nkeys)
{
    unsigned char b[VAL];
    size_t len;
    unsigned hits = 0;
    int64_t t0 = tv_now_ns();
    for (uint32_t k = 0; k < nkeys; k++)
        hits += smem_map_get(m, keys[k], b, sizeof b, &len, NULL) == 0;
    int64_t t = tv_now_ns() - t0;
    CHECK_EQ_INT(hits, npresent);
    return t;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Fills M with new keys (tagged TAG) until exactly N are live, none
 * evicting anything (expired ones are reclaimed); then one more is
 * SMEM_EFULL, or (EVICTING) goes in, evicting exactly one: *EXTRA is then
 * 1.  Returns how many were added. */
static int fill_up(smem_map *m, const char *tag, int evicting, int *extra)
{
    char k[32];
    int n = smem_map_count(m), added = 0;
    CHECK(n >= 0);
    const smem_put nx = {0, SMEM_PUT_NX};
    for (int i = 0; n + added < N; i++, added++) {
        snprintf(k, sizeof k, "%s-%d", tag, i);
        int ev = -1, rc = smem_map_put(m, k, "x", 1, &nx, &ev);
        CHECKF(rc == 0 && ev == 0, "filling (%s) with %d + %d entries: put gave %d (%s), "
               "evicted %d", tag, n, added, rc, smem_err_name(rc), ev);
    }
    CHECK_EQ_INT(smem_map_count(m), N);
    int ev = -1, rc = smem_map_put(m, "one-more", "x", 1, &nx, &ev);
    *extra = evicting;
    if (evicting) {
        CHECKF(rc == 0 && ev == 1, "a new key in a full evicting map: %d, evicted %d", rc, ev);
    } else {
        CHECKF(rc == SMEM_EFULL && ev == 0, "a new key in a full map: %d, evicted %d", rc, ev);
        CHECK_ERR(smem_map_set(m, "one-more", "x", 1), SMEM_EFULL);
    }
    CHECK_EQ_INT(smem_map_count(m), N);
    return added;
}

/* One change of a long key (0..U-1), as the plain wear does it: a delete,
 * a set (insert or replace), or a delete of a random present key. */
static void long_op(smem_map *m, tv_rng *rng, uint32_t target, uint32_t *next, long i,
                    unsigned long long *tally)
{
    unsigned char b[VAL];
    uint32_t k = (uint32_t)tv_below(rng, U);
    if (counter[k] && (tv_next(rng) & 1)) {
        CHECK_OK(smem_map_del(m, keys[k]));
        counter[k] = 0;
        model_del(k);
        tally[2]++;
    } else if (counter[k] || npresent < target) {
        val_of(b, k, *next);
        int ev = 0, rc = ttl_run ? smem_map_put(m, keys[k], b, VAL, NULL, &ev)
                                 : smem_map_set(m, keys[k], b, VAL);
        CHECKF(rc == 0 && ev == 0, "operation %ld: set of key %u (%u present) gave %d (%s), "
               "evicted %d", i, (unsigned)k, (unsigned)npresent, rc, smem_err_name(rc), ev);
        if (counter[k])
            tally[1]++;
        else {
            model_add(k);
            tally[0]++;
        }
        counter[k] = (*next)++;
    } else {
        uint32_t victim = plist[tv_below(rng, npresent)];
        CHECK_OK(smem_map_del(m, keys[victim]));
        counter[victim] = 0;
        model_del(victim);
        tally[2]++;
    }
}

/* A put of a short key with 1 to TTL_MAX ms to live, unless RING puts may
 * still be live (then 0: the caller does a long op instead). */
static int short_op(smem_map *m, tv_rng *rng, uint32_t *next, long i)
{
    uint64_t t0 = now_ms();
    while (ring_len > 0 && hi[ring[ring_head] - U] <= t0) { /* expired: no longer counts */
        ring_head = (ring_head + 1) % RING;
        ring_len--;
    }
    if (ring_len == RING)
        return 0;
    uint32_t k = U + (uint32_t)tv_below(rng, S);
    unsigned char b[VAL];
    val_of(b, k, *next);
    smem_put how = {1 + tv_below(rng, TTL_MAX), 0};
    int ev = -1, rc = smem_map_put(m, keys[k], b, VAL, &how, &ev);
    uint64_t t1 = now_ms();
    CHECKF(rc == 0 && ev == 0, "operation %ld: put of short key %u gave %d (%s), evicted %d", i,
           (unsigned)k, rc, smem_err_name(rc), ev);
    counter[k] = (*next)++;
    lo[k - U] = t0 + how.ttl_ms;
    hi[k - U] = t1 + how.ttl_ms;
    ring[(ring_head + ring_len++) % RING] = k;
    return 1;
}

/* OPS random changes; with TTL, a quarter of them puts of short keys. */
static void wear(smem_map *m, long ops, int ttl)
{
    tv_rng rng;
    tv_seed(&rng, ttl ? 4242 : 42);
    ttl_run = ttl;
    uint32_t next = 1, target = ttl ? TTL_TARGET : TARGET;
    unsigned long long tally[3] = {0, 0, 0}, shorts = 0; /* inserts, replaces, deletes */
    int64_t t0 = th_now_ms();
    for (long i = 1; i <= ops; i++) {
        if (ttl && (tv_next(&rng) & 3) == 0 && short_op(m, &rng, &next, i))
            shorts++;
        else
            long_op(m, &rng, target, &next, i, tally);
        if (i % 1000000 != 0)
            continue;
        if (ttl)
            check_count(m, i);
        else
            CHECKF(smem_map_count(m) == (int)npresent, "after %ld operations: count %d, not %u",
                   i, smem_map_count(m), (unsigned)npresent);
    }
    char with[64] = "";
    if (ttl)
        snprintf(with, sizeof with, ", %llu puts with 1 to %d ms to live", shorts, TTL_MAX);
    th_log("%ld operations (%llu inserts, %llu replacements, %llu deletes%s) at ~%d%% of %d "
           "entries in %lld ms",
           ops, tally[0], tally[1], tally[2], with, target * 100 / N, N,
           (long long)(th_now_ms() - t0));
    CHECK(npresent > target - 100 && npresent <= target);
}

/* Until every short key's time to live has passed. */
static void outlive_shorts(void)
{
    uint64_t last = 0;
    for (uint32_t s = 0; s < S; s++)
        if (counter[U + s] && hi[s] > last)
            last = hi[s];
    while (now_ms() <= last)
        th_sleep_ms(1);
}

/* A fresh map (named NAME) with the same live entries as the model, set
 * in another order; and with the expired entries that M still holds. */
static smem_map *fresh_copy(const char *name, smem_map *m, int evicting)
{
    smem_map *f = NULL;
    const smem_opts o = {evicting ? SMEM_EVICT : 0, 0, 0, NULL, NULL};
    CHECK_OK(smem_map_open(name, N, VAL, &o, &f));
    unsigned char b[VAL];
    for (uint32_t i = npresent; i > 0; i--) {
        uint32_t k = plist[i - 1];
        val_of(b, k, counter[k]);
        CHECK_OK(smem_map_set(f, keys[k], b, VAL));
    }
    int stale;
    size_t len;
    for (uint32_t k = U; k < U + S && m; k++) {
        if (smem_map_get_stale(m, keys[k], b, sizeof b, &len, NULL, &stale) != 0)
            continue;
        CHECK(stale == 1);
        uint64_t t0 = now_ms();
        CHECK_OK(smem_map_put(f, keys[k], b, len, &(smem_put){1, 0}, NULL));
        lo[k - U] = t0 + 1;
        hi[k - U] = now_ms() + 1;
    }
    outlive_shorts();
    return f;
}

/* Lookups of the first NKEYS keys on the worn map M are no slower than on
 * the fresh one F.  The runs alternate between the maps, so that a slow
 * patch of a noisy machine hits both; the medians are compared; and a
 * comparison that fails is made again (up to 3 times) before the test
 * fails: a worn map that is really slower stays slower, noise does not. */
static void compare_lookups(smem_map *m, smem_map *f, uint32_t nkeys)
{
    double ratio = 0;
    int64_t med_w = 0, med_f = 0;
    for (int attempt = 1; attempt <= 3; attempt++) {
        int64_t tw[RUNS], tf[RUNS];
        time_gets(m, nkeys); /* warm both */
        time_gets(f, nkeys);
        for (int r = 0; r < RUNS; r++) {
            tf[r] = time_gets(f, nkeys);
            tw[r] = time_gets(m, nkeys);
        }
        qsort(tw, RUNS, sizeof tw[0], cmp64);
        qsort(tf, RUNS, sizeof tf[0], cmp64);
        med_w = tw[RUNS / 2];
        med_f = tf[RUNS / 2];
        ratio = (double)med_w / (double)med_f;
        th_log("lookups (%u keys, %u hits): fresh map %lld ns per get, worn map %lld ns "
               "(median of %d): worn/fresh = %.2f",
               (unsigned)nkeys, (unsigned)npresent, (long long)(med_f / nkeys),
               (long long)(med_w / nkeys), RUNS, ratio);
        if (ratio <= MAX_RATIO)
            break;
    }
    CHECKF(ratio <= MAX_RATIO, "lookups on the worn map take %.2f times as long as on a fresh "
                               "one (limit %.1f)",
           ratio, MAX_RATIO);
}

struct census {
    uint64_t stale, bytes;
};

static int census_entry(const smem_map_entry *e, void *arg)
{
    struct census *c = arg;
    c->stale += e->ms_left == 0;
    c->bytes += strlen(e->key) + e->len;
    return 0;
}

/* After every short time to live passed: the statistics agree with the
 * model and a walk; nothing was evicted; expired entries were reclaimed. */
static void check_stats(smem_map *m)
{
    struct census c = {0, 0};
    int n = smem_map_walk(m, SMEM_WALK_STALE, census_entry, &c);
    struct smem_map_stats st;
    CHECK_OK(smem_map_stats(m, &st));
    CHECKF(n >= 0 && st.entries == npresent && st.stale == c.stale &&
               st.entries + st.stale == (uint64_t)n && st.bytes == c.bytes,
           "stats: %llu entries, %llu stale, %llu bytes; the model has %u, a walk %d with %llu "
           "stale, %llu bytes",
           (unsigned long long)st.entries, (unsigned long long)st.stale,
           (unsigned long long)st.bytes, (unsigned)npresent, n, (unsigned long long)c.stale,
           (unsigned long long)c.bytes);
    CHECKF(st.evictions == 0 && st.expirations > 0, "%llu evictions, %llu expired reclaimed",
           (unsigned long long)st.evictions, (unsigned long long)st.expirations);
    th_log("%llu expired entries reclaimed, %llu still held, none evicted",
           (unsigned long long)st.expirations, (unsigned long long)st.stale);
}

/* Which key (a long one of the model, or "TAG-I" of a fill of ADDED) an
 * eviction took: exactly one is gone.  Returns I, or -1 for a long key
 * (then gone from the model too). */
static int find_evicted(smem_map *m, const char *tag, int added)
{
    char k[32];
    int gone = 0, which = -2;
    for (uint32_t i = 0; i < npresent; i++)
        if (smem_map_get(m, keys[plist[i]], NULL, 0, NULL, NULL) == SMEM_ENOENT)
            gone++, which = -1 - (int)i;
    for (int i = 0; i < added; i++) {
        snprintf(k, sizeof k, "%s-%d", tag, i);
        if (smem_map_get(m, k, NULL, 0, NULL, NULL) == SMEM_ENOENT)
            gone++, which = i;
    }
    CHECKF(gone == 1, "the eviction took %d entries", gone);
    if (which >= 0)
        return which;
    uint32_t key = plist[-1 - which];
    counter[key] = 0;
    model_del(key);
    return -1;
}

/* Every operation still works, and the map fills to exactly N; emptied,
 * it fills to exactly N again. */
static void refill(smem_map *m, int evicting)
{
    int extra;
    unsigned char b[VAL];
    uint32_t held = npresent;
    int added = fill_up(m, "fill", evicting, &extra);
    int evicted = extra ? find_evicted(m, "fill", added) : -2;
    th_log("the worn map held %u entries and took exactly %d more, then %s", (unsigned)held,
           added, evicting ? "evicted one for each new key" : "SMEM_EFULL");
    for (uint32_t k = 0; k < U; k++)
        if (counter[k]) {
            size_t len;
            CHECK_OK(smem_map_get(m, keys[k], b, sizeof b, &len, NULL));
        }
    char k[32];
    for (int i = 0; i < added; i++) {
        snprintf(k, sizeof k, "fill-%d", i);
        if (i != evicted)
            CHECK_OK(smem_map_del(m, k));
    }
    if (extra)
        CHECK_OK(smem_map_del(m, "one-more"));
    for (uint32_t i = npresent; i > 0; i--) {
        uint32_t key = plist[i - 1];
        CHECK_OK(smem_map_del(m, keys[key]));
        counter[key] = 0;
    }
    npresent = 0;
    CHECK_EQ_INT(smem_map_count(m), 0);
    check_all(m, U, "emptied");
    CHECK_EQ_INT(fill_up(m, "again", evicting, &extra), N);
    CHECK_OK(smem_map_set(m, "again-0", "replaced", 8));
    CHECK_OK(smem_map_del(m, extra ? "one-more" : "again-1"));
    CHECK_OK(smem_map_add(m, "one-more-2", "y", 1));
    int ev = -1;
    int rc = smem_map_put(m, "again-1-new", "y", 1, &(smem_put){0, SMEM_PUT_NX}, &ev);
    CHECK(evicting ? rc == 0 && ev == 1 : rc == SMEM_EFULL && ev == 0);
}

/* One worn map: OPS changes (TTL: with short times to live; EVICTING: an
 * SMEM_EVICT map), then every check. */
static void run(long ops, int ttl, int evicting)
{
    char name[SMEM_NAME_MAX + 1], fname[SMEM_NAME_MAX + 1];
    uint32_t nkeys = ttl ? U + S : U;
    th_name(name, ttl ? "mweart" : "mwear");
    model_reset();
    smem_map *m = NULL;
    const smem_opts o = {evicting ? SMEM_EVICT : 0, 0, 0, NULL, NULL};
    CHECK_OK(smem_map_open(name, N, VAL, &o, &m));
    wear(m, ops, ttl);
    check_all(m, nkeys, "worn");
    if (ttl) {
        outlive_shorts();
        check_all(m, nkeys, "worn, every short time to live passed");
        CHECKF(smem_map_count(m) == (int)npresent, "count %d, the model has %u",
               smem_map_count(m), (unsigned)npresent);
        check_stats(m);
    }
    th_name(fname, "mwearf");
    smem_map *f = fresh_copy(fname, ttl ? m : NULL, evicting);
    check_all(f, nkeys, "fresh");
    compare_lookups(m, f, nkeys);
    smem_map_close(f);
    refill(m, evicting);
    smem_map_close(m);
    CHECK(!th_shm_exists(name));
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    /* ThreadSanitizer: 2.5 million took 60 s; one million there. */
    long ops = TM_TSAN ? 1000000 : tm_scaled(10000000, 5);
    if (ops < 10000000)
        th_log("a slow build (sanitizer or Wine): %ld operations instead of 10,000,000", ops);
    for (uint32_t k = 0; k < U + S; k++)
        tm_key(keys[k], k);
    run(ops, 0, 0);
    th_log("with times to live, without SMEM_EVICT:");
    run(ops / 2, 1, 0);
    th_log("with times to live, SMEM_EVICT:");
    run(ops / 2, 1, 1);
    return 0;
}
