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
 * that follows another writer's death. */
#include "check.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ME 12 /* max_entries */
#define MV 24 /* max_value */
#define OTHERS 6

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
    int rc;
    if (strcmp(op, "del") == 0)
        rc = smem_map_del(m, "victim");
    else if (strcmp(op, "incr") == 0)
        rc = smem_map_incr(m, "victim", 5, NULL);
    else
        rc = smem_map_set(m, "victim", "new value", 9);
    th_say("survived %d", rc);
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

static void other_key(char *buf, int i)
{
    snprintf(buf, 16, "other%d", i);
}

/* The state of "victim" that OP starts from, and the one it makes. */
static const char *before_of(const char *op)
{
    return strcmp(op, "insert") == 0 ? NULL : strcmp(op, "incr") == 0 ? "40" : "old value";
}

static const char *after_of(const char *op)
{
    return strcmp(op, "del") == 0 ? NULL : strcmp(op, "incr") == 0 ? "45" : "new value";
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

    /* Readers need no repair: they see whole chains at every instant. */
    for (int i = 0; i < OTHERS; i++) {
        char buf[MV];
        size_t len = 0;
        uint64_t version = 0;
        other_key(key, i);
        CHECK_OK(smem_map_get(m, key, buf, sizeof buf, &len, &version));
        CHECKF(len == strlen(key) && memcmp(buf, key, len) == 0 && version == other_versions[i],
               "%s died at %s: %s changed", op, point, key);
    }
    expect_victim(m, linked ? after_of(op) : before, op, point);

    /* The next write takes the dead writer's lock over and repairs. */
    struct snapshot s = {0, 0};
    CHECK(smem_map_foreach(m, note_entry, &s) == s.n);
    CHECK_OK(smem_map_set(m, "probe", "p", 1));
    uint64_t probe_version = version_of(m, "probe");
    CHECKF(probe_version > s.max_version,
           "%s died at %s: the next change got version %" PRIu64 ", not above %" PRIu64, op,
           point, probe_version, s.max_version);
    CHECK(smem_map_version(m) == probe_version);
    s.n = 0;
    CHECK(smem_map_foreach(m, note_entry, &s) == s.n);
    CHECKF(smem_map_count(m) == s.n, "%s died at %s: count %d, but %d entries", op, point,
           smem_map_count(m), s.n);

    /* Nothing lost or counted twice: exactly max_entries keys fit. */
    int added = 0;
    for (int i = 0;; i++) {
        snprintf(key, sizeof key, "fill%d", i);
        int rc = smem_map_add(m, key, "f", 1);
        if (rc == SMEM_EFULL)
            break;
        CHECK_OK(rc);
        CHECK(++added <= ME);
    }
    s.n = 0;
    CHECK(smem_map_foreach(m, note_entry, &s) == s.n);
    CHECKF(s.n == ME && smem_map_count(m) == ME,
           "%s died at %s: full at %d entries (count %d), not %d", op, point, s.n,
           smem_map_count(m), ME);
    expect_victim(m, linked ? after_of(op) : before, op, point);
    smem_map_close(m);
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
    };
    int n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++)
        one_case(cases[i].op, cases[i].point, cases[i].linked, NULL);
    /* A writer dies after linking; the next one dies repairing. */
    one_case("insert", "linked", 1, "repair");
    one_case("del", "unlinked", 1, "repair");
    th_log("%d kinds of death at a step of a change, and 2 in a repair: nothing lost, "
           "versions only grow, exactly max_entries fit after each",
           n);
    return 0;
}
