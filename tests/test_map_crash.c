/* A writer dies at every step of every kind of change, deterministically:
 * the library is built with crash points (src/map.c: crash_point), and a
 * helper process ends itself, as a SIGKILL would, at the step named by
 * $SMEM_CRASH_AT.  Random kills (map_kill) rarely land in the few
 * instructions between two steps; here each of those instants is a case.
 *
 * After each death: the other entries are intact (values and versions);
 * the entry being changed has exactly its state from before the change
 * (if the process died before the link store) or after it; the next write
 * by another process works and gets a version larger than every version
 * in the map (a dead writer may have linked a version it never published);
 * the count is exact, and the map takes exactly max_entries keys, then
 * SMEM_EFULL.  One more case: a writer dies in the middle of the repair
 * that follows another writer's death.
 *
 * The cache's changes too: expire and incr_ex (a new counter with a time
 * to live) at every step, the expiry as whole as the value; a new key in a
 * full map, which first removes an entry (evicted by CLOCK in an SMEM_EVICT
 * map, or an expired one reclaimed, evicting or not), at every step from
 * the lock to the end, "evicted" (right after the unlink store) included:
 * the removed entry is whole (get_stale) or gone, the new key absent or
 * whole, the eviction or expiration counted once or not yet, and the
 * statistics agree with a walk once the next writer repaired; and a flush
 * that dies after its first bucket group, or after emptying them all:
 * each entry whole or gone, and the map as good as new afterwards. */
#include "check.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ME 12 /* max_entries */
#define MV 24 /* max_value */
#define OTHERS 6
#define HOUR_MS 3600000 /* a time to live that no case outlives */

static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};

static void set_crash_point(const char *point)
{
#if TH_WINDOWS
    CHECK(_putenv_s("SMEM_CRASH_AT", point) == 0);
#else
    CHECK(setenv("SMEM_CRASH_AT", point, 1) == 0);
#endif
}

/* victim NAME OP POINT: makes change OP to key "victim", dying at POINT;
 * says "survived" if it did not die. */
static int helper_victim(int argc, char **argv)
{
    CHECK(argc == 3);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(argv[0], 0, 0, &nocreate, &m));
    const char *op = argv[1];
    set_crash_point(argv[2]);
    int rc, evicted = -1;
    if (strcmp(op, "del") == 0)
        rc = smem_map_del(m, "victim");
    else if (strcmp(op, "incr") == 0)
        rc = smem_map_incr(m, "victim", 5, NULL);
    else if (strcmp(op, "expire") == 0)
        rc = smem_map_expire(m, "victim", HOUR_MS);
    else if (strcmp(op, "incrx") == 0)
        rc = smem_map_incr_ex(m, "victim", 5, 100, HOUR_MS, NULL);
    else if (strcmp(op, "newkey") == 0)
        rc = smem_map_put(m, "newkey", "new value", 9, &(smem_put){0, SMEM_PUT_NX}, &evicted);
    else if (strcmp(op, "newincr") == 0)
        rc = smem_map_incr_ex(m, "newkey", 5, 100, 0, NULL);
    else if (strcmp(op, "flush") == 0)
        rc = smem_map_flush(m);
    else
        rc = smem_map_set(m, "victim", "new value", 9);
    th_say("survived %d (evicted %d)", rc, evicted);
    smem_map_close(m);
    return 0;
}

static const th_helper helpers[] = {
    {"victim", helper_victim},
    {NULL, NULL},
};

struct snapshot {
    int n;
    uint64_t max_version;
};

static int note_entry(const char *key, const void *val, size_t len, uint64_t version, void *arg)
{
    struct snapshot *s = arg;
    (void)key;
    (void)val;
    (void)len;
    s->n++;
    if (version > s->max_version)
        s->max_version = version;
    return 0;
}

/* The version of KEY, which holds a nonempty value. */
static uint64_t version_of(smem_map *m, const char *key)
{
    uint64_t version = 0;
    CHECK_ERR(smem_map_get(m, key, NULL, 0, NULL, &version), SMEM_E2BIG);
    return version;
}

/* What a walk with SMEM_WALK_STALE finds: live and expired entries, and
 * the key and value bytes of them all (what smem_map_stats counts). */
struct census {
    uint64_t live, stale, bytes;
};

static int census_entry(const smem_map_entry *e, void *arg)
{
    struct census *c = arg;
    if (e->ms_left == 0)
        c->stale++;
    else
        c->live++;
    c->bytes += strlen(e->key) + e->len;
    return 0;
}

/* After the next writer repaired: smem_map_stats agrees with what a walk
 * finds (entries, stale entries, bytes), and so does smem_map_count. */
static void check_stats(smem_map *m, const char *op, const char *point)
{
    struct census c = {0, 0, 0};
    int n = smem_map_walk(m, SMEM_WALK_STALE, census_entry, &c);
    CHECKF(n >= 0 && (uint64_t)n == c.live + c.stale, "%s died at %s: walk gave %d", op, point,
           n);
    struct smem_map_stats st;
    CHECK_OK(smem_map_stats(m, &st));
    CHECKF(st.entries == c.live && st.stale == c.stale && st.bytes == c.bytes,
           "%s died at %s: stats say %llu entries, %llu stale, %llu bytes; a walk finds %llu, "
           "%llu, %llu",
           op, point, (unsigned long long)st.entries, (unsigned long long)st.stale,
           (unsigned long long)st.bytes, (unsigned long long)c.live, (unsigned long long)c.stale,
           (unsigned long long)c.bytes);
    CHECKF(smem_map_count(m) == (int)c.live, "%s died at %s: count %d, a walk finds %llu live", op,
           point, smem_map_count(m), (unsigned long long)c.live);
}

static void other_key(char *buf, int i)
{
    snprintf(buf, 16, "other%d", i);
}

/* The state of "victim" that OP starts from, and the one it makes. */
static const char *before_of(const char *op)
{
    if (strcmp(op, "insert") == 0 || strcmp(op, "incrx") == 0)
        return NULL;
    return strcmp(op, "incr") == 0 ? "40" : "old value";
}

static const char *after_of(const char *op)
{
    if (strcmp(op, "del") == 0)
        return NULL;
    if (strcmp(op, "incrx") == 0)
        return "105"; /* a new counter: INIT 100 + 5 */
    if (strcmp(op, "expire") == 0)
        return "old value";
    return strcmp(op, "incr") == 0 ? "45" : "new value";
}

/* Whether OP leaves "victim" with a time to live (expire, and incr_ex of
 * an absent key); the others leave it with none. */
static int timed_after(const char *op)
{
    return strcmp(op, "expire") == 0 || strcmp(op, "incrx") == 0;
}

/* "victim", if present, has a time to live iff TIMED (then at most an
 * hour), else none: the expiry is part of the entry, whole like its value. */
static void expect_victim_ttl(smem_map *m, int timed, const char *op, const char *point)
{
    int64_t left = 0;
    int rc = smem_map_ttl(m, "victim", &left);
    if (rc == SMEM_ENOENT)
        return;
    CHECKF(rc == 0, "%s died at %s: ttl of victim gives %d", op, point, rc);
    if (timed)
        CHECKF(left > 0 && left <= HOUR_MS, "%s died at %s: victim expires in %lld ms, not an hour",
               op, point, (long long)left);
    else
        CHECKF(left == -1, "%s died at %s: victim expires in %lld ms, not never", op, point,
               (long long)left);
}

static void expect_victim(smem_map *m, const char *want, const char *op, const char *point)
{
    char buf[MV];
    size_t len = 0;
    int rc = smem_map_get(m, "victim", buf, sizeof buf, &len, NULL);
    if (!want) {
        CHECKF(rc == SMEM_ENOENT, "%s died at %s: victim is present (%d)", op, point, rc);
        return;
    }
    CHECKF(rc == 0, "%s died at %s: victim gives %d", op, point, rc);
    CHECKF(len == strlen(want) && memcmp(buf, want, len) == 0,
           "%s died at %s: victim is \"%.*s\", not \"%s\"", op, point, (int)len, buf, want);
}

static void run_victim(const char *name, const char *op, const char *point)
{
    th_proc p;
    th_spawn(&p, -1, "victim", name, op, point, (char *)NULL);
    int status = th_wait(&p, 30000);
    CHECKF(th_was_killed(status), "a %s meant to die at %s ended with %s", op, point,
           th_status_str(status));
}

/* Readers need no repair: they see whole chains at every instant.  The
 * first N others hold their own key as value, at VERSIONS. */
static void expect_others(smem_map *m, int n, const uint64_t *versions, const char *op,
                          const char *point)
{
    char key[16];
    for (int i = 0; i < n; i++) {
        char buf[MV];
        size_t len = 0;
        uint64_t version = 0;
        other_key(key, i);
        int rc = smem_map_get(m, key, buf, sizeof buf, &len, &version);
        CHECKF(rc == 0, "%s died at %s: %s gives %d", op, point, key, rc);
        CHECKF(len == strlen(key) && memcmp(buf, key, len) == 0 && version == versions[i],
               "%s died at %s: %s changed", op, point, key);
    }
}

/* The next write (a set of PROBE: "probe", new, or in a map that may be
 * full "other0", replaced by the same value) takes the dead writer's lock
 * over and repairs: it works, with a version above every one in the map;
 * then the count and the statistics are exact. */
static void expect_next_write(smem_map *m, const char *probe, const char *op, const char *point)
{
    struct snapshot s = {0, 0};
    CHECK(smem_map_foreach(m, note_entry, &s) == s.n);
    int rc = smem_map_set(m, probe, probe, strlen(probe));
    CHECKF(rc == 0, "%s died at %s: the next set gave %d", op, point, rc);
    uint64_t probe_version = version_of(m, probe);
    CHECKF(probe_version > s.max_version,
           "%s died at %s: the next change got version %" PRIu64 ", not above %" PRIu64, op,
           point, probe_version, s.max_version);
    CHECK(smem_map_version(m) == probe_version);
    s.n = 0;
    CHECK(smem_map_foreach(m, note_entry, &s) == s.n);
    CHECKF(smem_map_count(m) == s.n, "%s died at %s: count %d, but %d entries", op, point,
           smem_map_count(m), s.n);
    check_stats(m, op, point);
}

/* Nothing lost or counted twice: new keys go in until exactly CAP are
 * live, none of them evicting anything; then one more is SMEM_EFULL, or
 * (EVICTING) evicts exactly one. */
static void expect_fills_to(smem_map *m, int cap, int evicting, const char *op,
                            const char *point)
{
    char key[16];
    int n = smem_map_count(m);
    CHECKF(n >= 0 && n <= cap, "%s died at %s: count %d", op, point, n);
    const smem_put nx = {0, SMEM_PUT_NX};
    for (int i = 0; n < cap; i++, n++) {
        snprintf(key, sizeof key, "fill%d", i);
        int ev = -1, rc = smem_map_put(m, key, "f", 1, &nx, &ev);
        CHECKF(rc == 0 && ev == 0, "%s died at %s: put %d (of %d entries) gave %d, evicted %d",
               op, point, i, n, rc, ev);
    }
    int ev = -1, rc = smem_map_put(m, "one-more", "f", 1, &nx, &ev);
    CHECKF(evicting ? rc == 0 && ev == 1 : rc == SMEM_EFULL && ev == 0,
           "%s died at %s: a new key in a full map gave %d, evicted %d", op, point, rc, ev);
    struct snapshot s = {0, 0};
    CHECK(smem_map_foreach(m, note_entry, &s) == s.n);
    CHECKF(s.n == cap && smem_map_count(m) == cap,
           "%s died at %s: full at %d entries (count %d), not %d", op, point, s.n,
           smem_map_count(m), cap);
    check_stats(m, op, point);
}

/* One case: OP dies at POINT (and, if REPAIR_POINT, the next writer dies
 * in the repair).  LINKED: whether POINT comes after the link store. */
static void one_case(const char *op, const char *point, int linked, const char *repair_point)
{
    char name[SMEM_NAME_MAX + 1], key[16];
    th_name(name, "mcrash");
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, ME, MV, NULL, &m));
    uint64_t other_versions[OTHERS];
    for (int i = 0; i < OTHERS; i++) {
        other_key(key, i);
        CHECK_OK(smem_map_set(m, key, key, strlen(key)));
        other_versions[i] = version_of(m, key);
    }
    const char *before = before_of(op);
    if (before)
        CHECK_OK(smem_map_set(m, "victim", before, strlen(before)));

    run_victim(name, op, point);
    if (repair_point)
        run_victim(name, "replace", repair_point);

    expect_others(m, OTHERS, other_versions, op, point);
    expect_victim(m, linked ? after_of(op) : before, op, point);
    expect_victim_ttl(m, linked && timed_after(op), op, point);
    expect_next_write(m, "probe", op, point);
    expect_fills_to(m, ME, 0, op, point);
    expect_victim(m, linked ? after_of(op) : before, op, point);
    expect_victim_ttl(m, linked && timed_after(op), op, point);
    smem_map_close(m);
}

/* ---- a new key in a full map: making room ----------------------------- */

/* The steps of a put that makes room, in order (map-write.c: make_room,
 * remove_chosen, then put): the chosen entry is gone from "evicted" on
 * (its one unlink store), counted as evicted or expired from "allocated"
 * on, and the new key is there from "linked" on. */
static const char *const room_steps[] = {"locked", "evicted", "freeing", "allocated", "written",
                                         "linked", "bumped",  "counted", "announced"};
enum { ROOM_GONE = 1, ROOM_COUNTED = 3, ROOM_LINKED = 5, ROOM_STEPS = 9 };

#define DOOMED "doomed value"

struct room {
    const char *op; /* "newkey" (put) or "newincr" (incr_ex) */
    int evicting;   /* an SMEM_EVICT map */
    int expired;    /* "doomed" has expired (else it is live and not read since) */
};

/* Until KEY has expired (a few ms: it was given 1 ms to live). */
static void wait_expired(smem_map *m, const char *key)
{
    int64_t left, deadline = th_now_ms() + 10000;
    while (smem_map_ttl(m, key, &left) == 0) {
        CHECKF(th_now_ms() < deadline, "%s has not expired after 10 s", key);
        th_sleep_ms(1);
    }
}

/* A full map: ME - 1 others, each read since it was written (so that CLOCK
 * passes them over once), and "doomed", never read, or expired. */
static smem_map *full_map(const char *name, const struct room *c, uint64_t *versions)
{
    smem_map *m = NULL;
    const smem_opts o = {c->evicting ? SMEM_EVICT : 0, 0, 0, NULL, NULL};
    CHECK_OK(smem_map_open(name, ME, MV, &o, &m));
    char key[16];
    for (int i = 0; i < ME - 1; i++) {
        other_key(key, i);
        CHECK_OK(smem_map_set(m, key, key, strlen(key)));
        versions[i] = version_of(m, key); /* a get: marks it */
    }
    const smem_put how = {c->expired ? 1 : 0, 0};
    CHECK_OK(smem_map_put(m, "doomed", DOOMED, strlen(DOOMED), &how, NULL));
    if (c->expired)
        wait_expired(m, "doomed");
    struct smem_map_stats st;
    CHECK_OK(smem_map_stats(m, &st));
    CHECK(st.entries + st.stale == ME && st.stale == (uint64_t)c->expired);
    return m;
}

/* "doomed" is whole (live, or expired but not reclaimed: get_stale finds
 * it), or GONE. */
static void expect_doomed(smem_map *m, int gone, const struct room *c, const char *point)
{
    char buf[MV];
    size_t len = 0;
    int stale = -1;
    int rc = smem_map_get_stale(m, "doomed", buf, sizeof buf, &len, NULL, &stale);
    if (gone) {
        CHECKF(rc == SMEM_ENOENT, "%s died at %s: doomed is still there (%d)", c->op, point, rc);
        return;
    }
    CHECKF(rc == 0 && stale == c->expired && len == strlen(DOOMED) && memcmp(buf, DOOMED, len) == 0,
           "%s died at %s: doomed gives %d (stale %d, \"%.*s\")", c->op, point, rc, stale,
           (int)len, buf);
}

/* "newkey" has its whole new value if LINKED, else is absent. */
static void expect_newkey(smem_map *m, int linked, const struct room *c, const char *point)
{
    const char *want = strcmp(c->op, "newincr") == 0 ? "105" : "new value";
    char buf[MV];
    size_t len = 0;
    int rc = smem_map_get(m, "newkey", buf, sizeof buf, &len, NULL);
    if (!linked)
        CHECKF(rc == SMEM_ENOENT, "%s died at %s: newkey is present (%d)", c->op, point, rc);
    else
        CHECKF(rc == 0 && len == strlen(want) && memcmp(buf, want, len) == 0,
               "%s died at %s: newkey gives %d (\"%.*s\", not \"%s\")", c->op, point, rc,
               (int)len, buf, want);
}

/* The entry removed counts once, as evicted (a live one) or as expired,
 * from STAGE ROOM_COUNTED on; the other counter does not move. */
static void expect_room_counted(smem_map *m, const struct smem_map_stats *st0, int stage,
                                const struct room *c)
{
    struct smem_map_stats st;
    CHECK_OK(smem_map_stats(m, &st));
    uint64_t counted = stage >= ROOM_COUNTED;
    uint64_t evictions = st0->evictions + (c->expired ? 0 : counted);
    uint64_t expirations = st0->expirations + (c->expired ? counted : 0);
    CHECKF(st.evictions == evictions && st.expirations == expirations,
           "%s died at %s: %llu evictions, %llu expirations (before: %llu, %llu)", c->op,
           room_steps[stage], (unsigned long long)st.evictions,
           (unsigned long long)st.expirations, (unsigned long long)st0->evictions,
           (unsigned long long)st0->expirations);
}

/* C's put of a new key into a full map dies at room_steps[STAGE] (and the
 * next writer in the repair, if REPAIR_POINT). */
static void room_case(const struct room *c, int stage, const char *repair_point)
{
    const char *point = room_steps[stage];
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "mcroom");
    uint64_t versions[ME];
    smem_map *m = full_map(name, c, versions);
    struct smem_map_stats st0;
    CHECK_OK(smem_map_stats(m, &st0));

    run_victim(name, c->op, point);
    if (repair_point)
        run_victim(name, "replace", repair_point);

    expect_others(m, ME - 1, versions, c->op, point);
    expect_doomed(m, stage >= ROOM_GONE, c, point);
    expect_newkey(m, stage >= ROOM_LINKED, c, point);
    expect_room_counted(m, &st0, stage, c);
    expect_next_write(m, "other0", c->op, point);
    expect_fills_to(m, ME, c->evicting, c->op, point);
    smem_map_close(m);
}

/* ---- flush ------------------------------------------------------------ */

/* A map of several bucket groups, so that "flushing" (after the first
 * group was emptied) is the middle of a flush: the entries of the first
 * group are gone, the others left.  With 200 entries in 14 groups, the
 * chance that no entry falls in the first one (and the case fails) is
 * about 1 in a million. */
#define FME 210
#define FENTRIES 200
static const char *const flush_steps[] = {"locked", "flushing", "flushed"};

static void flush_key(char *buf, const char *what, int i)
{
    snprintf(buf, 16, "f%s%d", what, i);
}

/* A flush dies at flush_steps[STAGE] (and the next writer in the repair,
 * if REPAIR_POINT): each entry is whole or gone, none from STAGE 2 on,
 * all before STAGE 1; then the map works as a fresh one. */
static void flush_case(int stage, const char *repair_point)
{
    const char *point = flush_steps[stage];
    char name[SMEM_NAME_MAX + 1], key[16], val[16], buf[MV];
    th_name(name, "mcflush");
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, FME, MV, NULL, &m));
    static uint64_t versions[FENTRIES];
    for (int i = 0; i < FENTRIES; i++) {
        flush_key(key, "k", i);
        flush_key(val, "v", i);
        CHECK_OK(smem_map_set(m, key, val, strlen(val)));
        versions[i] = version_of(m, key);
    }
    run_victim(name, "flush", point);
    if (repair_point)
        run_victim(name, "replace", repair_point);

    int present = 0;
    for (int i = 0; i < FENTRIES; i++) {
        size_t len = 0;
        uint64_t version = 0;
        flush_key(key, "k", i);
        flush_key(val, "v", i);
        int rc = smem_map_get(m, key, buf, sizeof buf, &len, &version);
        CHECKF(rc == 0 || rc == SMEM_ENOENT, "flush died at %s: %s gives %d", point, key, rc);
        if (rc == 0)
            CHECKF(len == strlen(val) && memcmp(buf, val, len) == 0 && version == versions[i],
                   "flush died at %s: %s changed", point, key);
        present += rc == 0;
    }
    int want_lo = stage == 0 ? FENTRIES : stage == 1 ? 1 : 0;
    int want_hi = stage == 0 ? FENTRIES : stage == 1 ? FENTRIES - 1 : 0;
    CHECKF(present >= want_lo && present <= want_hi,
           "flush died at %s: %d of %d entries left (expected %d to %d)", point, present,
           FENTRIES, want_lo, want_hi);
    expect_next_write(m, "probe", "flush", point);
    expect_fills_to(m, FME, 0, "flush", point);
    CHECK_OK(smem_map_flush(m));
    CHECK_EQ_INT(smem_map_count(m), 0);
    check_stats(m, "flush", point);
    CHECK_OK(smem_map_set(m, "after", "a", 1));
    CHECK_EQ_INT(smem_map_count(m), 1);
    smem_map_close(m);
}

/* Every kind of room making, dying at every step of it. */
static int room_cases(void)
{
    static const struct room rooms[] = {
        {"newkey", 1, 0},  /* evicts the CLOCK victim */
        {"newkey", 0, 1},  /* reclaims an expired entry, no SMEM_EVICT */
        {"newkey", 1, 1},  /* reclaims an expired entry before evicting */
        {"newincr", 1, 0}, /* incr_ex of a new counter evicts */
    };
    int n = 0;
    for (size_t r = 0; r < sizeof rooms / sizeof rooms[0]; r++)
        for (int stage = 0; stage < ROOM_STEPS; stage++, n++)
            room_case(&rooms[r], stage, NULL);
    room_case(&rooms[0], ROOM_GONE, "repair");
    room_case(&rooms[1], ROOM_GONE, "repair");
    for (int stage = 0; stage < 3; stage++, n++)
        flush_case(stage, NULL);
    flush_case(1, "repair");
    return n;
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    /* The steps of a change, in order; those from "linked" on come after
     * its one link store.  (src/map.c: put, unlink_record, free_record.) */
    static const struct {
        const char *op, *point;
        int linked;
    } cases[] = {
        {"insert", "locked", 0},   {"insert", "allocated", 0}, {"insert", "written", 0},
        {"insert", "linked", 1},   {"insert", "bumped", 1},    {"insert", "counted", 1},
        {"insert", "announced", 1}, {"replace", "locked", 0},  {"replace", "allocated", 0},
        {"replace", "written", 0}, {"replace", "linked", 1},   {"replace", "bumped", 1},
        {"replace", "freeing", 1}, {"replace", "counted", 1},  {"replace", "announced", 1},
        {"incr", "allocated", 0},  {"incr", "written", 0},     {"incr", "linked", 1},
        {"incr", "counted", 1},    {"del", "locked", 0},       {"del", "unlinked", 1},
        {"del", "freeing", 1},     {"del", "freed", 1},        {"del", "uncounted", 1},
        {"expire", "locked", 0},   {"expire", "allocated", 0}, {"expire", "written", 0},
        {"expire", "linked", 1},   {"expire", "bumped", 1},    {"expire", "freeing", 1},
        {"expire", "counted", 1},  {"expire", "announced", 1}, {"incrx", "locked", 0},
        {"incrx", "allocated", 0}, {"incrx", "written", 0},    {"incrx", "linked", 1},
        {"incrx", "bumped", 1},    {"incrx", "counted", 1},    {"incrx", "announced", 1},
    };
    int n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++)
        one_case(cases[i].op, cases[i].point, cases[i].linked, NULL);
    /* A writer dies after linking; the next one dies repairing. */
    one_case("insert", "linked", 1, "repair");
    one_case("del", "unlinked", 1, "repair");
    one_case("expire", "linked", 1, "repair");
    int rooms = room_cases();
    th_log("%d kinds of death at a step of a change, %d in making room for a new key in a "
           "full map or in a flush, and 6 in a repair: nothing lost, versions only grow, "
           "statistics exact, exactly max_entries fit after each",
           n, rooms);
    return 0;
}
