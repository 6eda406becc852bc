/* A resize dies at every step, deterministically: the library is built
 * with crash points (src/map-layout.h: crash_point), and a helper process
 * ends itself, as a SIGKILL would, at the step named by $SMEM_CRASH_AT.
 *
 * For each step, from a map still on its first table and from one that
 * grew once already (so that a table object must be dropped), by
 * smem_map_resize and by a SMEM_GROW map's new key: before any other
 * writer, a handle opened before the death and one opened after it read
 * every entry whole with its version, and the figures are the old ones
 * (died before the generation store) or the new ones (after it); then the
 * next writer finishes or undoes the move, after which exactly one table
 * is left (none if the map is back on its first), the count is exact,
 * exactly max_entries fit, and another resize works.  One more case: the
 * next writer dies too, in the repair, after dropping the left-over
 * table. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ME 12
#define MV 24

static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};
static const smem_opts grow = {SMEM_GROW, 0, 0, NULL, NULL};

static const char *const steps[] = {"resize-begun",   "resize-created",   "resize-copying",
                                    "resize-copied",  "resize-counted",   "resize-published",
                                    "resize-settled"};
#define NSTEPS (int)(sizeof steps / sizeof steps[0])
#define FIRST_PUBLISHED 5 /* steps from here on come after the generation store */

static void set_crash_point(const char *point)
{
#if TH_WINDOWS
    CHECK(_putenv_s("SMEM_CRASH_AT", point) == 0);
#else
    CHECK(setenv("SMEM_CRASH_AT", point, 1) == 0);
#endif
}

/* victim NAME HOW POINT: resizes the map (HOW "resize": to 3 times its
 * entries and MV * 2; "grow": a new key into a full SMEM_GROW map; "set":
 * a write, whose repair dies), dying at POINT; says "survived" if not. */
static int helper_victim(int argc, char **argv)
{
    CHECK(argc == 3);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(argv[0], 0, 0, &nocreate, &m));
    size_t me = smem_map_max_entries(m);
    set_crash_point(argv[2]);
    int rc;
    if (strcmp(argv[1], "resize") == 0)
        rc = smem_map_resize(m, 3 * me, 2 * MV);
    else if (strcmp(argv[1], "grow") == 0)
        rc = smem_map_set(m, "newkey", "new", 3);
    else
        rc = smem_map_set(m, "p", "after", 5);
    th_say("survived %d", rc);
    smem_map_close(m);
    return 0;
}

static const th_helper helpers[] = {
    {"victim", helper_victim},
    {NULL, NULL},
};

static void run_victim(const char *name, const char *how, const char *point)
{
    th_proc p;
    th_spawn(&p, -1, "victim", name, how, point, (char *)NULL);
    int status = th_wait(&p, 30000);
    CHECKF(th_was_killed(status), "a %s meant to die at %s ended with %s", how, point,
           th_status_str(status));
}

/* Every entry k0..k<N-1> is there, whole, with VERSIONS. */
static void expect_entries(smem_map *m, int n, const uint64_t *versions, const char *when,
                           const char *point)
{
    for (int i = 0; i < n; i++) {
        char key[16], buf[MV];
        size_t len = 0;
        uint64_t v = 0;
        snprintf(key, sizeof key, "k%d", i);
        int rc = smem_map_get(m, key, buf, sizeof buf, &len, &v);
        CHECKF(rc == 0 && len == strlen(key) && memcmp(buf, key, len) == 0 && v == versions[i],
               "died at %s, %s: %s gives %s, %zu bytes, version %llu (was %llu)", point, when,
               key, smem_err_name(rc), len, (unsigned long long)v,
               (unsigned long long)versions[i]);
    }
}

/* Fills the map to CAP, then one more key must be SMEM_EFULL. */
static void expect_fills_to(smem_map *m, size_t cap, const char *point)
{
    int n = smem_map_count(m);
    for (int i = 0; (size_t)n < cap; i++, n++) {
        char key[16];
        snprintf(key, sizeof key, "fill%d", i);
        CHECKF(smem_map_set(m, key, "f", 1) == 0, "died at %s: fill %d of %zu failed", point, n,
               cap);
    }
    CHECKF(smem_map_set(m, "one-more", "f", 1) == SMEM_EFULL && smem_map_count(m) == (int)cap,
           "died at %s: not full at exactly %zu (count %d)", point, cap, smem_map_count(m));
}

/* One case: HOW dies at STEP, from a map that grew GROWN times before;
 * with REPAIR_DIES, the next writer dies in its repair too. */
static void one_case(const char *how, int step, int grown, int repair_dies)
{
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "rscrash");
    int growing = strcmp(how, "grow") == 0;
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, ME, MV, growing ? &grow : NULL, &m));
    for (int i = 0; i < grown; i++)
        CHECK_OK(smem_map_resize(m, smem_map_max_entries(m), smem_map_max_value(m) + 8));
    size_t me0 = smem_map_max_entries(m), mv0 = smem_map_max_value(m);
    int n = growing ? ME - 1 : ME / 2; /* and "p": a growing map is full */
    uint64_t versions[ME];
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        CHECK_OK(smem_map_set(m, key, key, strlen(key)));
        CHECK(smem_map_get(m, key, NULL, 0, NULL, &versions[i]) == SMEM_E2BIG);
    }
    CHECK_OK(smem_map_set(m, "p", "p", 1));
    const char *point = steps[step];
    run_victim(name, how, point);
    int published = step >= FIRST_PUBLISHED;
    size_t me1 = published ? (growing ? 2 * me0 : 3 * me0) : me0;
    size_t mv1 = published && !growing ? 2 * MV : mv0;
    smem_map *late = NULL;
    CHECK_OK(smem_map_open(name, 0, 0, &nocreate, &late));
    smem_map *hs[2] = {m, late};
    for (int h = 0; h < 2; h++) {
        const char *when = h ? "a handle opened after" : "a handle opened before";
        expect_entries(hs[h], n, versions, when, point);
        CHECKF(smem_map_max_entries(hs[h]) == me1 && smem_map_max_value(hs[h]) == mv1,
               "died at %s, %s: figures %zu, %zu, not %zu, %zu", point, when,
               smem_map_max_entries(hs[h]), smem_map_max_value(hs[h]), me1, mv1);
        CHECKF(smem_map_get(hs[h], "newkey", NULL, 0, NULL, NULL) == SMEM_ENOENT,
               "died at %s: the new key is there", point);
    }
    if (repair_dies)
        run_victim(name, "set", "resize-settled");
    CHECK_OK(smem_map_set(late, "p", "p2", 2)); /* the next writer repairs */
    int gen = grown + published;
    CHECKF(th_shm_tables(name) == (gen > 0), "died at %s: %d tables left, generation %d", point,
           th_shm_tables(name), gen);
    expect_entries(m, n, versions, "after the repair", point);
    CHECKF(smem_map_count(m) == n + 1, "died at %s: count %d, not %d", point, smem_map_count(m),
           n + 1);
    CHECK(smem_map_max_entries(m) == me1);
    if (!growing)
        expect_fills_to(m, me1, point);
    CHECK_OK(smem_map_resize(late, 4 * me1, mv1));
    CHECKF(th_shm_tables(name) == 1, "died at %s: %d tables after one more resize", point,
           th_shm_tables(name));
    expect_entries(m, n, versions, "after one more resize", point);
    smem_map_close(late);
    smem_map_close(m);
    CHECK(th_shm_tables(name) == 0);
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    if (TH_WINDOWS)
        SKIP("maps do not grow on Windows yet (smem_map_resize gives SMEM_ENOTSUP)");
    int cases = 0;
    for (int step = 0; step < NSTEPS; step++)
        for (int grown = 0; grown < 2; grown++) {
            one_case("resize", step, grown, 0);
            one_case("grow", step, grown, 0);
            cases += 2;
        }
    for (int step = 0; step < NSTEPS; step++) {
        one_case("resize", step, 1, 1);
        cases++;
    }
    th_log("%d deaths at a step of a resize (of %d steps), 7 of them followed by a death in the "
           "repair: every entry whole, the figures old or new, one table left, exactly "
           "max_entries fit",
           cases, NSTEPS);
    return 0;
}
