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
 *     emptied, it fills to exactly N again: no entry leaked. */
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

static uint32_t counter[U]; /* 0: absent, else the write that set it */
static uint32_t plist[U], ppos[U];
static uint32_t npresent;

static void val_of(unsigned char *b, uint32_t key, uint32_t cnt)
{
    uint64_t h = tv_mix(((uint64_t)key << 32) | cnt);
    memcpy(b, &key, 4);
    memcpy(b + 4, &cnt, 4);
    memcpy(b + 8, &h, 8);
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

static char keys[U][TM_KEY_BUF];

static void check_all(smem_map *m, const char *when)
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
    CHECKF(smem_map_count(m) == (int)npresent, "%s: count %d, the model has %u", when,
           smem_map_count(m), (unsigned)npresent);
}

/* Nanoseconds for one get of every key of the universe (hits and misses). */
static int64_t time_gets(smem_map *m)
{
    unsigned char b[VAL];
    size_t len;
    unsigned hits = 0;
    int64_t t0 = tv_now_ns();
    for (uint32_t k = 0; k < U; k++)
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

/* Fills M from COUNT entries to exactly N with new keys (tagged TAG), and
 * checks that one more is SMEM_EFULL; returns how many were added. */
static int fill_up(smem_map *m, const char *tag)
{
    char k[32];
    int n = smem_map_count(m), added = 0;
    CHECK(n >= 0);
    for (int i = 0; n + added < N; i++, added++) {
        snprintf(k, sizeof k, "%s-%d", tag, i);
        int rc = smem_map_add(m, k, "x", 1);
        CHECKF(rc == 0, "filling (%s) with %d + %d entries: add gave %d (%s)", tag, n, added, rc,
               smem_err_name(rc));
    }
    CHECK_EQ_INT(smem_map_count(m), N);
    CHECK_ERR(smem_map_add(m, "one-more", "x", 1), SMEM_EFULL);
    CHECK_ERR(smem_map_set(m, "one-more", "x", 1), SMEM_EFULL);
    return added;
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    /* ThreadSanitizer: 2.5 million took 60 s; one million there. */
    long ops = TM_TSAN ? 1000000 : tm_scaled(10000000, 5);
    if (ops < 10000000)
        th_log("a slow build (sanitizer or Wine): %ld operations instead of 10,000,000", ops);
    for (uint32_t k = 0; k < U; k++)
        tm_key(keys[k], k);
    char name[SMEM_NAME_MAX + 1], fname[SMEM_NAME_MAX + 1];
    th_name(name, "mwear");
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, N, VAL, NULL, &m));
    unsigned char b[VAL];
    tv_rng rng;
    tv_seed(&rng, 42);
    uint32_t next = 1;
    int64_t t0 = th_now_ms();
    unsigned long long inserts = 0, replaces = 0, dels = 0;
    for (long i = 1; i <= ops; i++) {
        uint32_t k = (uint32_t)tv_below(&rng, U);
        if (counter[k] && (tv_next(&rng) & 1)) {
            CHECK_OK(smem_map_del(m, keys[k]));
            counter[k] = 0;
            model_del(k);
            dels++;
        } else if (counter[k] || npresent < TARGET) {
            val_of(b, k, next);
            int rc = smem_map_set(m, keys[k], b, VAL);
            CHECKF(rc == 0, "operation %ld: set of key %u (%u present) gave %d (%s)", i,
                   (unsigned)k, (unsigned)npresent, rc, smem_err_name(rc));
            if (counter[k])
                replaces++;
            else {
                model_add(k);
                inserts++;
            }
            counter[k] = next++;
        } else {
            uint32_t victim = plist[tv_below(&rng, npresent)];
            CHECK_OK(smem_map_del(m, keys[victim]));
            counter[victim] = 0;
            model_del(victim);
            dels++;
        }
        if (i % 1000000 == 0)
            CHECKF(smem_map_count(m) == (int)npresent, "after %ld operations: count %d, not %u",
                   i, smem_map_count(m), (unsigned)npresent);
    }
    th_log("%ld operations (%llu inserts, %llu replacements, %llu deletes) at ~%d%% of %d "
           "entries in %lld ms",
           ops, inserts, replaces, dels, TARGET * 100 / N, N, (long long)(th_now_ms() - t0));
    CHECK(npresent > TARGET - 100 && npresent <= TARGET);
    check_all(m, "worn");

    /* A fresh map with the same entries, set in another order. */
    th_name(fname, "mwearf");
    smem_map *f = NULL;
    CHECK_OK(smem_map_open(fname, N, VAL, NULL, &f));
    for (uint32_t i = npresent; i > 0; i--) {
        uint32_t k = plist[i - 1];
        val_of(b, k, counter[k]);
        CHECK_OK(smem_map_set(f, keys[k], b, VAL));
    }
    check_all(f, "fresh");

    /* Lookups on the worn map are no slower than on the fresh one.  The
     * runs alternate between the maps, so that a slow patch of a noisy
     * machine hits both; the medians are compared; and a comparison that
     * fails is made again (up to 3 times) before the test fails: a worn
     * map that is really slower stays slower, noise does not. */
    double ratio = 0;
    int64_t med_w = 0, med_f = 0;
    for (int attempt = 1; attempt <= 3; attempt++) {
        int64_t tw[RUNS], tf[RUNS];
        time_gets(m); /* warm both */
        time_gets(f);
        for (int r = 0; r < RUNS; r++) {
            tf[r] = time_gets(f);
            tw[r] = time_gets(m);
        }
        qsort(tw, RUNS, sizeof tw[0], cmp64);
        qsort(tf, RUNS, sizeof tf[0], cmp64);
        med_w = tw[RUNS / 2];
        med_f = tf[RUNS / 2];
        ratio = (double)med_w / (double)med_f;
        th_log("lookups (%d keys, %u hits): fresh map %lld ns per get, worn map %lld ns "
               "(median of %d): worn/fresh = %.2f",
               U, (unsigned)npresent, (long long)(med_f / U), (long long)(med_w / U), RUNS,
               ratio);
        if (ratio <= MAX_RATIO)
            break;
    }
    CHECKF(ratio <= MAX_RATIO, "lookups on the worn map take %.2f times as long as on a fresh "
                               "one (limit %.1f)",
           ratio, MAX_RATIO);
    smem_map_close(f);

    /* Every operation still works, and the map fills to exactly N. */
    int added = fill_up(m, "fill");
    th_log("the worn map held %u entries and took exactly %d more, then SMEM_EFULL",
           (unsigned)npresent, added);
    for (uint32_t k = 0; k < U; k++)
        if (counter[k]) {
            size_t len;
            CHECK_OK(smem_map_get(m, keys[k], b, sizeof b, &len, NULL));
        }
    /* Emptied and filled again. */
    char k[32];
    for (int i = 0; i < added; i++) {
        snprintf(k, sizeof k, "fill-%d", i);
        CHECK_OK(smem_map_del(m, k));
    }
    for (uint32_t i = npresent; i > 0; i--) {
        uint32_t key = plist[i - 1];
        CHECK_OK(smem_map_del(m, keys[key]));
        counter[key] = 0;
    }
    npresent = 0;
    CHECK_EQ_INT(smem_map_count(m), 0);
    check_all(m, "emptied");
    CHECK_EQ_INT(fill_up(m, "again"), N);
    CHECK_OK(smem_map_set(m, "again-0", "replaced", 8));
    CHECK_OK(smem_map_del(m, "again-1"));
    CHECK_OK(smem_map_add(m, "one-more", "y", 1));
    CHECK_ERR(smem_map_add(m, "again-1", "y", 1), SMEM_EFULL);
    smem_map_close(m);
    CHECK(!th_shm_exists(name));
    return 0;
}
