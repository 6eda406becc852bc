/* Nothing read from a map's region is trusted.  Garbage is written into the
 * bytes of a live map (through a raw SMEM_ANYKIND handle that maps them:
 * the map header, buckets, entries): random bytes at random places,
 * extreme words (huge and negative offsets, lengths, counts) at random
 * aligned places and all over the first bytes (the map header), every
 * 4-byte or 8-byte word set to one small number (chains that loop, indexes
 * that all point at one entry), random windows, the whole area random,
 * 0xff or 0x80.  After each, every map call through a handle opened before
 * (get into guarded buffers of several sizes, set, del, add, cas, incr,
 * foreach, count, version, wait with small timeouts and with a stale
 * version and no limit) and a fresh smem_map_open(name, 0, 0) with the
 * same calls must return 0 or a known negative code, with sane results
 * (lengths within max_value and the buffer, keys NUL-terminated and at
 * most 64 bytes, no more foreach calls than max_entries + 1), and never crash,
 * write outside the caller's buffers, or take much longer than the
 * timeouts involved.  Thousands of rounds; the calls run in a helper
 * watched by this process, so a crash or a hang is reported with the
 * damage that caused it.  Under AddressSanitizer (CI) this is what catches
 * out-of-bounds reads.
 *
 * Maps as caches too (map_garbage_cache.c): the map holds an entry that
 * expires in an hour and one that has expired; damage also aims at the
 * header's cache words (policy, bytes, next_expiry, expiring, the eviction
 * hand, the reaper's position, the statistics) and the records' expires
 * and used words; and every round also judges get_stale, ttl, walk (with
 * and without SMEM_WALK_STALE), stats, put with every flag and time to
 * live, expire, incr_ex and flush.  All of it twice: on a half-full map,
 * and on a full SMEM_EVICT map, where new keys evict. */
#include "check.h"

#include "test_map_kit.c"

#include "garbage_kit.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ME 16
#define MV 64
#define HDR 128           /* the region header before the data */
#define TIMEOUT_MS 10     /* the handles' timeout_ms */
#define MAX_BYTES (1 << 16)

static unsigned char *data; /* the map's bytes (the region's data) */
static const smem_opts quick = {0, 0, TIMEOUT_MS, NULL, NULL};

/* The test's part of the control region (gk holds the size of the data). */
struct shared {
    unsigned char healthy[MAX_BYTES];
    int rounds;
    int live; /* live entries in the healthy bytes */
    long bad_left; /* times left out of range (map_garbage_cache.c: bad_time_left) */
    char bad_left_what[256];
};
static struct shared *sh;

static void known(int rc, const char *what)
{
    if (rc > 0 || (rc < 0 && strcmp(smem_err_name(rc), "SMEM_E?") == 0))
        gfail("%s returned %d, not 0 or a known error code", what, rc);
}

/* ---- the calls -------------------------------------------------------- */

static int get_judged(smem_map *m, const char *key, size_t bs, uint64_t *ver)
{
    size_t mv = smem_map_max_value(m);
    tv_guard g;
    unsigned char *b = tv_guard_alloc(&g, bs ? bs : 1);
    size_t len = (size_t)-1;
    int64_t t0 = th_now_ms();
    begin("get");
    int rc = smem_map_get(m, key, bs ? b : NULL, bs, &len, ver);
    end(t0, TIMEOUT_MS);
    if (!tv_guard_front_ok(&g))
        gfail("get wrote in front of the buffer");
    known(rc, "get");
    if (rc == 0 && (len > bs || len > mv))
        gfail("get returned %zu bytes (buffer %zu, max_value %zu)", len, bs, mv);
    if (rc == SMEM_E2BIG && !(len > bs && len <= mv))
        gfail("E2BIG into %zu bytes said %zu are needed (max_value %zu)", bs, len, mv);
    tv_guard_free(&g);
    return rc;
}

struct walk {
    size_t mv, me;
    long calls;
};

static int walk_fn(const char *key, const void *val, size_t len, uint64_t version, void *arg)
{
    struct walk *w = arg;
    (void)version;
    size_t kl = strnlen(key, SMEM_MAP_KEY_MAX + 1);
    if (kl == 0 || kl > SMEM_MAP_KEY_MAX)
        gfail("foreach gave a key of %zu bytes", kl);
    if (len > w->mv || (len && !val))
        gfail("foreach gave a value of %zu bytes (max_value %zu)", len, w->mv);
    volatile unsigned char sum = 0;
    for (size_t i = 0; i < len; i++) /* touch every byte: ASan checks the copy */
        sum ^= ((const unsigned char *)val)[i];
    (void)sum;
    /* Garbage can link one record into several chains, but a walk only
     * hands over a record from the chain its key belongs to: each of the
     * max_entries + 1 records (one is the spare a full map writes into)
     * at most once. */
    if ((size_t)++w->calls > w->me + 1)
        gfail("foreach called back %ld times in a map of %zu entries", w->calls, w->me);
    return 0;
}

static void calls(smem_map *m)
{
    size_t me = smem_map_max_entries(m), mv = smem_map_max_value(m);
    if (me != ME || mv != MV)
        gfail("a handle with figures %zu, %zu (made with %d, %d)", me, mv, ME, MV);
    int64_t t0;
    uint64_t ver = 0, kver = 0;
    char k[TM_KEY_BUF];
    unsigned char val[MV];
    /* Waits that time out cost their timeout: one round in 8 has them. */
    int timed = gk->iter % 8 == 0;

    t0 = th_now_ms();
    begin("version");
    uint64_t mver = smem_map_version(m);
    end(t0, TIMEOUT_MS);
    t0 = th_now_ms();
    begin("count");
    int n = smem_map_count(m);
    end(t0, TIMEOUT_MS);
    known(n < 0 ? n : 0, "count");
    if (n > ME)
        gfail("count %d in a map of %d entries", n, ME);
    for (uint32_t i = 0; i < 12; i++) {
        int rc = get_judged(m, tm_key(k, i), MV, &kver);
        get_judged(m, k, 3, &ver);
        get_judged(m, k, 0, &ver);
        if (i < 3) {
            /* Stale SEEN: returns at once, even with no limit. */
            t0 = th_now_ms();
            begin("wait (stale, no limit)");
            int w = smem_map_wait(m, k, kver + 1, -1);
            end(t0, TIMEOUT_MS);
            known(w, "wait");
            if (w == SMEM_ETIMEDOUT)
                gfail("wait with no limit timed out");
            if (!timed)
                continue;
            t0 = th_now_ms();
            begin("wait (1 ms)");
            w = smem_map_wait(m, k, rc == 0 ? kver : 0, 1);
            end(t0, 1 + TIMEOUT_MS);
            known(w, "wait");
        }
    }
    t0 = th_now_ms();
    begin("wait on the map (stale, no limit)");
    int w = smem_map_wait(m, NULL, mver + 1, -1);
    end(t0, TIMEOUT_MS);
    known(w, "wait");
    if (w == SMEM_ETIMEDOUT)
        gfail("wait with no limit timed out");
    if (timed) {
        t0 = th_now_ms();
        begin("wait on the map (2 ms)");
        known(smem_map_wait(m, NULL, mver, 2), "wait");
        end(t0, 2 + TIMEOUT_MS);
    }

    struct walk wk = {MV, ME, 0};
    t0 = th_now_ms();
    begin("foreach");
    int r = smem_map_foreach(m, walk_fn, &wk);
    end(t0, TIMEOUT_MS);
    known(r < 0 ? r : 0, "foreach");
    if (r >= 0 && r != wk.calls)
        gfail("foreach returned %d after %ld calls", r, wk.calls);

    /* Changes: each returns cleanly; a set that worked is what get finds
     * (or get fails), never other bytes.  Once one times out (garbage in
     * the lock word that names a live owner), the others would too: the
     * rest are skipped, to keep rounds short. */
    int rc = 0;
    for (uint32_t i = 0; i < 6 && rc != SMEM_ETIMEDOUT; i++) {
        tm_key(k, i * 3);
        size_t len = TM_VAL_MIN + (size_t)(i * 5) % (MV - TM_VAL_MIN + 1);
        tm_val_fill(val, len, i, 5, (uint64_t)gk->iter + 1);
        t0 = th_now_ms();
        begin("set");
        rc = smem_map_set(m, k, val, len);
        end(t0, TIMEOUT_MS);
        known(rc, "set");
        if (rc == 0) {
            unsigned char b[MV];
            size_t got;
            begin("get after set");
            t0 = th_now_ms();
            int g = smem_map_get(m, k, b, sizeof b, &got, NULL);
            end(t0, TIMEOUT_MS);
            known(g, "get");
            if (g == 0 && (got != len || memcmp(b, val, len) != 0))
                gfail("a set of %zu bytes returned 0, then get returned %zu other bytes", len,
                      got);
        }
        if (rc == SMEM_ETIMEDOUT)
            break;
        int64_t res;
        const char *what[6] = {"add", "cas", "cas 0", "incr", "incr of a value", "del"};
        for (int op = 0; op < 6 && rc != SMEM_ETIMEDOUT; op++) {
            t0 = th_now_ms();
            begin(what[op]);
            if (op == 0)
                rc = smem_map_add(m, tm_key(k, 100 + i), val, len);
            else if (op == 1)
                rc = smem_map_cas(m, k, kver, val, len);
            else if (op == 2)
                rc = smem_map_cas(m, tm_key(k, 200 + i), 0, val, 8);
            else if (op == 3)
                rc = smem_map_incr(m, "counter", (int64_t)i - 2, &res);
            else if (op == 4)
                rc = smem_map_incr(m, tm_key(k, i * 3), 1, &res);
            else
                rc = smem_map_del(m, tm_key(k, i * 5));
            end(t0, TIMEOUT_MS);
            known(rc, what[op]);
        }
    }
    t0 = th_now_ms();
    begin("count (after)");
    n = smem_map_count(m);
    end(t0, TIMEOUT_MS);
    if (n > ME)
        gfail("count %d in a map of %d entries", n, ME);
    known(n < 0 ? n : 0, "count");
}

/* The cache's calls and damage: map_garbage_cache.c, included below. */
static void cache_calls(smem_map *m);

static void judge(smem_map *pre)
{
    calls(pre);
    cache_calls(pre);
    smem_map *m = (smem_map *)1;
    int64_t t0 = th_now_ms();
    begin("open");
    int rc = smem_map_open(name, 0, 0, &quick, &m);
    end(t0, TIMEOUT_MS);
    if (rc == 0) {
        calls(m);
        cache_calls(m);
        begin("close");
        smem_map_close(m);
    } else {
        known(rc, "open");
        if (m != NULL)
            gfail("a failed open left *out set");
    }
}

/* ---- the damage ------------------------------------------------------- */

static void restore(void)
{
    memcpy(data, sh->healthy, gk->size);
}

static const uint64_t extremes[] = {0,
                                    1,
                                    2,
                                    3,
                                    7,
                                    ME - 1,
                                    ME,
                                    ME + 1,
                                    MV,
                                    MV + 1,
                                    255,
                                    0x7fffffff,
                                    0x80000000u,
                                    0xfffffffeu,
                                    0xffffffffu,
                                    (uint64_t)1 << 32,
                                    (uint64_t)1 << 62,
                                    (uint64_t)1 << 63,
                                    UINT64_MAX,
                                    UINT64_MAX - 1,
                                    SMEM_MAP_ENTRIES_MAX,
                                    SMEM_MAP_VALUE_MAX + 1};
#define NEXTREMES (sizeof extremes / sizeof extremes[0])

static void put_word(size_t off, uint64_t v, int width)
{
    if (off + (size_t)width > gk->size)
        return;
    if (width == 4) {
        uint32_t x = (uint32_t)v;
        memcpy(data + off, &x, 4);
    } else {
        memcpy(data + off, &v, 8);
    }
}

#include "map_garbage_cache.c"

static void damage_words(tv_rng *rng, int kind, int round)
{
    size_t size = gk->size;
    if (kind == 3) { /* every word one small number: loops, all indexes alike */
        int width = tv_below(rng, 2) ? 8 : 4;
        uint64_t v = tv_below(rng, ME + 2);
        size_t from = (size_t)tv_below(rng, 4) * 64;
        for (size_t off = from; off + (size_t)width <= size; off += (size_t)width)
            put_word(off, v, width);
        set_what("every u%d from offset %zu set to %llu", width * 8, from,
                 (unsigned long long)v);
    } else { /* small words, each different: chains that go anywhere */
        for (size_t off = 0; off + 4 <= size; off += 4)
            put_word(off, tv_below(rng, ME + 2), 4);
        set_what("every u32 a random number below %d (round %d)", ME + 2, round);
    }
}

static void damage(tv_rng *rng, int round)
{
    size_t size = gk->size;
    int kind = (int)tv_below(rng, 12);
    restore();
    switch (kind) {
    case 0: { /* a few random bytes */
        int count = 1 + (int)tv_below(rng, 8);
        for (int i = 0; i < count; i++)
            data[tv_below(rng, size)] = (unsigned char)tv_next(rng);
        set_what("%d random bytes (round %d)", count, round);
        break;
    }
    case 1: { /* an extreme word at a random aligned place */
        int width = tv_below(rng, 2) ? 8 : 4;
        size_t off = (size_t)tv_below(rng, size / (size_t)width) * (size_t)width;
        uint64_t v = extremes[tv_below(rng, NEXTREMES)];
        put_word(off, v, width);
        set_what("u%d %#llx at offset %zu", width * 8, (unsigned long long)v, off);
        break;
    }
    case 2: { /* an extreme word in the first 256 bytes (the map header) */
        int width = tv_below(rng, 2) ? 8 : 4;
        size_t off = (size_t)tv_below(rng, 256 / (size_t)width) * (size_t)width;
        uint64_t v = extremes[tv_below(rng, NEXTREMES)];
        put_word(off, v, width);
        set_what("header: u%d %#llx at offset %zu", width * 8, (unsigned long long)v, off);
        break;
    }
    case 3:
    case 4:
        damage_words(rng, kind, round);
        break;
    case 5: { /* a random window */
        size_t len = 1 + (size_t)tv_below(rng, 64);
        size_t off = (size_t)tv_below(rng, size);
        if (off + len > size)
            len = size - off;
        for (size_t i = 0; i < len; i++)
            data[off + i] = (unsigned char)tv_next(rng);
        set_what("%zu random bytes at offset %zu", len, off);
        break;
    }
    case 6: /* all random */
        for (size_t i = 0; i < size; i++)
            data[i] = (unsigned char)tv_next(rng);
        set_what("the whole map random (round %d)", round);
        break;
    case 7: { /* a fill */
        static const unsigned char fills[] = {0xff, 0x80, 0x01, 0x00, 0x7f};
        unsigned char f = fills[tv_below(rng, sizeof fills)];
        memset(data, f, size);
        set_what("the whole map filled with %#x", f);
        break;
    }
    case 8: { /* several extreme words anywhere */
        int count = 2 + (int)tv_below(rng, 6);
        for (int i = 0; i < count; i++) {
            size_t off = (size_t)tv_below(rng, size / 4) * 4;
            put_word(off, extremes[tv_below(rng, NEXTREMES)], tv_below(rng, 2) ? 8 : 4);
        }
        set_what("%d extreme words at random places (round %d)", count, round);
        break;
    }
    case 10:
    case 11:
        damage_cache(rng, kind);
        break;
    default: { /* bit flips */
        int count = 1 + (int)tv_below(rng, 4);
        for (int i = 0; i < count; i++) {
            size_t off = (size_t)tv_below(rng, size);
            data[off] ^= (unsigned char)(1u << tv_below(rng, 8));
        }
        set_what("%d bit flips (round %d)", count, round);
        break;
    }
    }
    /* A policy scribbled to say SMEM_GROW makes a map that is full grow,
     * which is no damage but a move to a table this test does not know
     * (test_map_resize covers it): this map keeps its figures. */
    data[POLICY_AT] &= (unsigned char)~POLICY_GROW;
}

static int worker(void *own, unsigned char *bytes)
{
    sh = own;
    data = bytes;
    smem_map *pre = NULL;
    CHECK_OK(smem_map_open(name, 0, 0, &quick, &pre));
    int fds = th_count_fds();
    restore();
    set_what("nothing (the healthy bytes)");
    judge(pre);
    tv_rng rng;
    tv_seed(&rng, gk->seed);
    for (int round = 0; round < sh->rounds; round++) {
        gk->iter = round;
        damage(&rng, round);
        judge(pre);
    }
    /* The region header under the handle opened before (new opens refuse
     * a damaged one). */
    for (size_t off = 0; off + 8 <= HDR; off += 8) {
        for (size_t i = 0; i < NEXTREMES; i++) {
            gk->iter++;
            restore();
            unsigned char *hdr = data - HDR;
            unsigned char saved[8];
            memcpy(saved, hdr + off, 8);
            memcpy(hdr + off, &extremes[i], 8);
            set_what("region header: u64 %#llx at offset %zu", (unsigned long long)extremes[i],
                     off);
            calls(pre);
            cache_calls(pre);
            memcpy(hdr + off, saved, 8);
        }
    }
    /* Healthy again: everything works. */
    restore();
    set_what("nothing (restored at the end)");
    unsigned char b[MV];
    size_t len;
    char k[TM_KEY_BUF];
    CHECK_OK(smem_map_get(pre, tm_key(k, 1), b, sizeof b, &len, NULL));
    tm_val_expect("restored", b, len, 1);
    tm_val_fill(b, MV, 1, 6, 1);
    CHECK_OK(smem_map_set(pre, k, b, MV));
    CHECK_EQ_INT(smem_map_count(pre), sh->live);
    CHECK_OK(smem_map_del(pre, tm_key(k, 2)));
    CHECK_EQ_INT(smem_map_count(pre), sh->live - 1);
    int64_t left = 0;
    CHECK_OK(smem_map_ttl(pre, "ttl-long", &left));
    CHECK(left > 0);
    int stale = 0;
    CHECK_OK(smem_map_get_stale(pre, "ttl-gone", b, sizeof b, &len, NULL, &stale));
    CHECK(stale == 1 && len == 4 && memcmp(b, "gone", 4) == 0);
    smem_map_close(pre);
    CHECKF(th_count_fds() <= fds, "descriptors leaked: %d before, %d after", fds, th_count_fds());
    return 0;
}

/* A live map held here while the worker damages it: half full
 * (EVICTING 0), or full and SMEM_EVICT; with a counter, a freed entry,
 * an entry that expires in an hour and one that has expired. */
static smem_map *healthy_map(int evicting)
{
    smem_map *m = NULL;
    const smem_opts o = {evicting ? SMEM_EVICT : 0, 0, TIMEOUT_MS, NULL, NULL};
    CHECK_OK(smem_map_open(name, ME, MV, &o, &m));
    unsigned char b[MV];
    uint32_t n = evicting ? ME - 3 : ME / 2;
    for (uint32_t i = 0; i < n; i++)
        CHECK_OK(tm_set(m, i, TM_VAL_MIN + i, 3, 1, b));
    CHECK_OK(smem_map_set(m, "counter", "5", 1));
    char k[TM_KEY_BUF];
    if (!evicting)
        CHECK_OK(smem_map_del(m, tm_key(k, 0))); /* a freed entry too */
    CHECK_OK(smem_map_put(m, "ttl-long", "long", 4, &(smem_put){3600000, 0}, NULL));
    CHECK_OK(smem_map_put(m, "ttl-gone", "gone", 4, &(smem_put){1, 0}, NULL));
    int64_t left, deadline = th_now_ms() + 10000;
    while (smem_map_ttl(m, "ttl-gone", &left) == 0) {
        CHECKF(th_now_ms() < deadline, "ttl-gone has not expired after 10 s");
        th_sleep_ms(1);
    }
    return m;
}

/* One map (see healthy_map) damaged for ROUNDS rounds by the worker;
 * returns how many times left were out of range (bad_time_left). */
static long run_map(int evicting, int rounds)
{
    smem_region *ctl = NULL, *raw = NULL;
    sh = gk_setup(evicting ? "mgarbe" : "mgarb", sizeof *sh, 0x3a9e, &ctl);
    sh->rounds = rounds;
    smem_map *holder = healthy_map(evicting);
    sh->live = smem_map_count(holder);
    data = gk_open_raw(&raw);
    gk->size = smem_region_size(raw);
    CHECKF(gk->size > 0 && gk->size <= MAX_BYTES, "a map region of %zu bytes", gk->size);
    CHECKF(gk->size == RECS_AT + (ME + 1) * REC_SIZE, "a map of %zu bytes: not the layout of "
           "src/map-layout.h that the damage aims at", gk->size);
    memcpy(sh->healthy, data, gk->size);
    th_log("a map of %d entries of %d bytes%s, %d live: %zu bytes", ME, MV,
           evicting ? " (SMEM_EVICT, full)" : "", sh->live, gk->size);

    int64_t ms = gk_watch();
    th_log("%d rounds of damage (seed %#llx) in %lld ms: every call returned cleanly", gk->iter,
           (unsigned long long)gk->seed, (long long)ms);
    memcpy(data, sh->healthy, gk->size);
    long bad_left = sh->bad_left;
    if (bad_left)
        th_log("library bug: time left out of range (%ld times; first: %s)", bad_left,
               sh->bad_left_what);
    smem_region_close(raw);
    smem_map_close(holder);
    smem_region_close(ctl);
    CHECK(!th_shm_exists(name));
    return bad_left;
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, gk_helpers);
    int rounds = (int)tm_scaled(3000, 3);
    long bad_left = run_map(0, rounds);
    bad_left += run_map(1, rounds / 2);
    if (bad_left)
        FAIL("library bug: smem_map_ttl or smem_map_walk gave a time left below -1, or 0 "
             "for a live entry, %ld times (see bad_time_left in map_garbage_cache.c)",
             bad_left);
    return 0;
}
