/* Maps under concurrent use by several processes.
 *
 * 1. Two writer processes set, delete, add and cas overlapping keys (one
 *    map, values of random length up to max_value) as fast as they can
 *    while three reader processes (one read-only) get random keys, more
 *    than a million reads in all (a quarter of that under a sanitizer).
 *    Every value read must be whole, belong to the key asked for, and
 *    come from one of the writers; one version is always one content and
 *    a key's versions never go back for a reader; ENOENT comes with
 *    length and version 0; a small buffer gives E2BIG with a sane length.
 *    Reads are also fresh: a key whose delete has returned (the writer
 *    says so in shared memory) is absent for every get begun after that,
 *    and a get begun after a set returned never gives an older value.
 * 2. incr from 4 processes, 100,000 times each, ends at exactly 400,000,
 *    and each process sees its own results grow.
 * 3. cas races: 4 processes read the same version of a key (a barrier
 *    makes sure), then all cas it; in every one of many rounds exactly one
 *    wins and the others get SMEM_ECHANGED.
 * 4. foreach while two processes insert and delete other keys: every
 *    visited entry is whole and under its own key, none is visited twice,
 *    and every key present for the whole walk is visited. */
#include "check.h"

#include "test_map_kit.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MV 1024          /* max_value */
#define ME 64            /* max_entries */
#define NK 48            /* keys 0..NK-1: shared by the writers */
#define ND 8             /* keys NK..NK+ND-1: deleted once, for good */
#define FRESH (NK + ND)  /* key FRESH + w: set only by writer w */
#define WRITERS 2
#define READERS 3
#define INCRS 4
#define CASERS 4

static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};
static const smem_opts rdonly = {SMEM_RDONLY, 0, 0, NULL, NULL};

/* Shared with the helpers through a raw region. */
#define MAX_ROUNDS 20000
struct ctl {
    uint32_t doomed_gone[ND];      /* 1 once the delete of doomed key j returned */
    uint64_t fresh_done[WRITERS];  /* the counter of writer w's last completed set of its key */
    uint32_t incr_arrive;
    uint32_t cas_arrive[MAX_ROUNDS];
    uint32_t cas_wins[MAX_ROUNDS];
};

static struct ctl *open_ctl(const char *name, smem_region **r)
{
    CHECK_OK(smem_region_open(name, sizeof(struct ctl), NULL, r));
    return smem_region_data(*r);
}

static size_t random_len(tv_rng *r, size_t mv)
{
    switch (tv_below(r, 8)) {
    case 0:
        return TM_VAL_MIN;
    case 1:
        return mv;
    default:
        return TM_VAL_MIN + (size_t)tv_below(r, mv - TM_VAL_MIN + 1);
    }
}

/* ---- 1 and 4: writers --------------------------------------------------- */

/* writer NAME CTL ID BASE NKEYS main|churn: changes keys BASE..BASE+NKEYS-1
 * until stdin closes ("main" also deletes the doomed keys and sets its
 * fresh key); says "ops N sets S dels D adds A cas C". */
static int helper_writer(int argc, char **argv)
{
    CHECK(argc == 6);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(argv[0], 0, 0, &nocreate, &m));
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(argv[1], &cr);
    uint32_t id = (uint32_t)tv_num(argv[2]);
    uint32_t base = (uint32_t)tv_num(argv[3]), nkeys = (uint32_t)tv_num(argv[4]);
    int main_role = strcmp(argv[5], "main") == 0;
    unsigned char *b = malloc(MV);
    CHECK(b);
    tv_rng rng;
    tv_seed(&rng, id * 7919u + tv_pid());
    uint64_t counter = 0, ops = 0, sets = 0, dels = 0, adds = 0, cas = 0;
    uint32_t doomed = 0;
    char k[TM_KEY_BUF];
    th_say("ready");
    while (!th_listen_ready()) {
        for (int i = 0; i < 64; i++, ops++) {
            uint32_t key = base + (uint32_t)tv_below(&rng, nkeys);
            size_t len = random_len(&rng, smem_map_max_value(m));
            int rc;
            switch (tv_below(&rng, 10)) {
            case 0:
            case 1:
            case 2:
            case 3:
                CHECK_OK(tm_set(m, key, len, id, ++counter, b));
                sets++;
                break;
            case 4:
            case 5:
                rc = smem_map_del(m, tm_key(k, key));
                CHECK_ERR2(rc, 0, SMEM_ENOENT);
                dels += rc == 0;
                break;
            case 6:
            case 7:
                tm_val_fill(b, len, key, id, ++counter);
                rc = smem_map_add(m, tm_key(k, key), b, len);
                CHECK_ERR2(rc, 0, SMEM_EEXIST);
                adds += rc == 0;
                break;
            default: {
                uint64_t ver = 0;
                rc = smem_map_get(m, tm_key(k, key), NULL, 0, NULL, &ver);
                CHECK(rc == SMEM_E2BIG || rc == SMEM_ENOENT);
                tm_val_fill(b, len, key, id, ++counter);
                rc = smem_map_cas(m, k, ver, b, len);
                CHECK_ERR2(rc, 0, SMEM_ECHANGED);
                cas += rc == 0;
                break;
            }
            }
        }
        if (main_role) {
            /* The fresh key: published once set returned. */
            uint32_t w = id - 1;
            CHECK_OK(tm_set(m, FRESH + w, TM_VAL_MIN + (size_t)tv_below(&rng, 64), id,
                            ++counter, b));
            __atomic_store_n(&c->fresh_done[w], counter, __ATOMIC_SEQ_CST);
            /* Writer 1 deletes a doomed key every 2,000 operations. */
            if (id == 1 && doomed < ND && ops >= 2000u * (doomed + 1)) {
                CHECK_OK(smem_map_del(m, tm_key(k, NK + doomed)));
                __atomic_store_n(&c->doomed_gone[doomed], 1, __ATOMIC_SEQ_CST);
                doomed++;
            }
        }
    }
    th_say("ops %llu sets %llu dels %llu adds %llu cas %llu", (unsigned long long)ops,
           (unsigned long long)sets, (unsigned long long)dels, (unsigned long long)adds,
           (unsigned long long)cas);
    free(b);
    smem_region_close(cr);
    smem_map_close(m);
    return 0;
}

/* ---- 1: readers ------------------------------------------------------- */

struct seen {
    uint64_t version; /* the last nonzero version seen */
    tm_val val;
};

/* reader NAME CTL ID rw|ro COUNT MS: at least COUNT gets and MS ms; says
 * "reads N found F absent A e2big E gone G fresh R". */
static int helper_reader(int argc, char **argv)
{
    CHECK(argc == 6);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(argv[0], 0, 0, strcmp(argv[3], "ro") == 0 ? &rdonly : &nocreate, &m));
    CHECK_EQ_SIZE(smem_map_max_value(m), MV);
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(argv[1], &cr);
    char who[64];
    snprintf(who, sizeof who, "reader %s (%s)", argv[2], argv[3]);
    unsigned long long count = tv_num(argv[4]);
    int64_t until = th_now_ms() + (int64_t)tv_num(argv[5]);
    tv_rng rng;
    tv_seed(&rng, tv_num(argv[2]) * 31u + tv_pid());
    unsigned char *buf = malloc(MV);
    CHECK(buf);
    static struct seen seen[FRESH + WRITERS];
    unsigned long long reads = 0, found = 0, absent = 0, e2big = 0, gone = 0, fresh = 0;
    char k[TM_KEY_BUF];
    th_say("ready");
    for (unsigned long long i = 0; i < count || (i % 1024 != 0 || th_now_ms() < until); i++) {
        uint32_t key;
        uint32_t pick = (uint32_t)tv_below(&rng, 16);
        if (pick == 0)
            key = NK + (uint32_t)tv_below(&rng, ND);
        else if (pick == 1)
            key = FRESH + (uint32_t)tv_below(&rng, WRITERS);
        else
            key = (uint32_t)tv_below(&rng, NK);
        /* What is known to have happened before this get began. */
        uint32_t was_gone = key >= NK && key < FRESH
                                ? __atomic_load_n(&c->doomed_gone[key - NK], __ATOMIC_SEQ_CST)
                                : 0;
        uint64_t done = key >= FRESH
                            ? __atomic_load_n(&c->fresh_done[key - FRESH], __ATOMIC_SEQ_CST)
                            : 0;
        size_t bs = MV;
        if ((i & 31) == 17)
            bs = (size_t)tv_below(&rng, 100);
        size_t len = (size_t)-1;
        uint64_t ver = UINT64_MAX;
        int rc = smem_map_get(m, tm_key(k, key), buf, bs, &len, &ver);
        reads++;
        if (rc == SMEM_ENOENT) {
            CHECKF(len == 0 && ver == 0, "%s: ENOENT with length %zu, version %llu", who, len,
                   (unsigned long long)ver);
            CHECKF(done == 0, "%s: key %u absent after its writer's set #%llu returned", who,
                   (unsigned)key, (unsigned long long)done);
            absent++;
            continue;
        }
        CHECKF(!was_gone, "%s: key %u (deleted for good before this get began) gave %d (%s)",
               who, (unsigned)key, rc, smem_err_name(rc));
        if (rc == SMEM_E2BIG) {
            CHECKF(bs < MV && len > bs && len <= MV,
                   "%s: E2BIG into %zu bytes said %zu are needed", who, bs, len);
            e2big++;
            continue;
        }
        CHECKF(rc == 0, "%s: get of key %u gave %d (%s)", who, (unsigned)key, rc,
               smem_err_name(rc));
        CHECKF(len <= bs, "%s: %zu bytes into a buffer of %zu", who, len, bs);
        tm_val v = tm_val_expect(who, buf, len, key);
        CHECKF(v.writer >= 1 && v.writer <= WRITERS + 1, "%s: key %u: a value by writer %u",
               who, (unsigned)key, (unsigned)v.writer);
        CHECKF(ver > 0, "%s: a value with version 0", who);
        struct seen *s = &seen[key];
        CHECKF(ver >= s->version, "%s: key %u: version %llu after %llu", who, (unsigned)key,
               (unsigned long long)ver, (unsigned long long)s->version);
        CHECKF(ver != s->version || (v.writer == s->val.writer && v.counter == s->val.counter &&
                                     v.len == s->val.len),
               "%s: key %u: version %llu with two contents", who, (unsigned)key,
               (unsigned long long)ver);
        if (key >= FRESH) {
            CHECKF(v.writer == key - FRESH + 1 && v.counter >= done,
                   "%s: key %u gave write #%llu of writer %u after #%llu had returned", who,
                   (unsigned)key, (unsigned long long)v.counter, (unsigned)v.writer,
                   (unsigned long long)done);
            fresh++;
        }
        s->version = ver;
        s->val = v;
        found++;
        if ((i & 255) == 0) {
            int n = smem_map_count(m);
            CHECKF(n >= 0 && n <= ME, "%s: count %d", who, n);
        }
    }
    for (uint32_t j = 0; j < ND; j++)
        gone += __atomic_load_n(&c->doomed_gone[j], __ATOMIC_SEQ_CST);
    th_say("reads %llu found %llu absent %llu e2big %llu gone %llu fresh %llu", reads, found,
           absent, e2big, gone, fresh);
    free(buf);
    smem_region_close(cr);
    smem_map_close(m);
    return 0;
}

/* ---- 2: incr ---------------------------------------------------------- */

/* incr NAME CTL N: after all INCRS arrived, N increments; says "last R". */
static int helper_incr(int argc, char **argv)
{
    CHECK(argc == 3);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(argv[0], 0, 0, &nocreate, &m));
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(argv[1], &cr);
    long n = (long)tv_num(argv[2]);
    th_say("ready");
    tm_barrier(&c->incr_arrive, INCRS, 60000);
    int64_t prev = 0, r = 0;
    for (long i = 0; i < n; i++) {
        CHECK_OK(smem_map_incr(m, "counter", 1, &r));
        CHECKF(r > prev && r <= (int64_t)n * INCRS, "incr #%ld gave %lld after %lld", i,
               (long long)r, (long long)prev);
        prev = r;
    }
    th_say("last %lld", (long long)r);
    smem_region_close(cr);
    smem_map_close(m);
    return 0;
}

/* ---- 3: cas races ----------------------------------------------------- */

/* caser NAME CTL ROUNDS ID: in each round, reads the key's version, waits
 * for all CASERS, cas'es it; says "wins W". */
static int helper_caser(int argc, char **argv)
{
    CHECK(argc == 4);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(argv[0], 0, 0, &nocreate, &m));
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(argv[1], &cr);
    long rounds = (long)tv_num(argv[2]);
    unsigned id = (unsigned)tv_num(argv[3]);
    th_say("ready");
    long wins = 0;
    char val[64], want[64];
    for (long r = 1; r <= rounds; r++) {
        size_t len;
        uint64_t ver;
        CHECK_OK(smem_map_get(m, "race", val, sizeof val - 1, &len, &ver));
        val[len] = '\0';
        /* The value says which round was won last: the previous one. */
        long last;
        unsigned by;
        CHECKF(sscanf(val, "round %ld by %u", &last, &by) == 2 && last == r - 1,
               "caser %u, round %ld: the key holds \"%s\"", id, r, val);
        tm_barrier(&c->cas_arrive[r], CASERS, 60000);
        int n = snprintf(want, sizeof want, "round %ld by %u", r, id);
        int rc = smem_map_cas(m, "race", ver, want, (size_t)n);
        if (rc == 0) {
            wins++;
            __atomic_add_fetch(&c->cas_wins[r], 1, __ATOMIC_SEQ_CST);
        } else {
            CHECKF(rc == SMEM_ECHANGED, "caser %u: cas gave %d (%s)", id, rc, smem_err_name(rc));
        }
    }
    th_say("wins %ld", wins);
    smem_region_close(cr);
    smem_map_close(m);
    return 0;
}

static const th_helper helpers[] = {
    {"writer", helper_writer}, {"reader", helper_reader}, {"incr", helper_incr},
    {"caser", helper_caser},   {NULL, NULL},
};

/* ---- parent ----------------------------------------------------------- */

static void spawn_writer(th_proc *w, const char *name, const char *ctl, int id, int base,
                         int nkeys, const char *role)
{
    char a[16], b[16], n[16];
    snprintf(a, sizeof a, "%d", id);
    snprintf(b, sizeof b, "%d", base);
    snprintf(n, sizeof n, "%d", nkeys);
    th_spawn(w, -1, "writer", name, ctl, a, b, n, role, NULL);
    th_expect(w, "ready", 20000);
}

static void stop_writer(th_proc *w, int id, unsigned long long *total_ops)
{
    char line[256];
    unsigned long long ops, sets, dels, adds, cas;
    th_send(w, "stop");
    th_recv(w, line, sizeof line, 20000);
    CHECKF(sscanf(line, "ops %llu sets %llu dels %llu adds %llu cas %llu", &ops, &sets, &dels,
                  &adds, &cas) == 5,
           "writer said \"%s\"", line);
    th_log("writer %d: %llu operations: %llu sets, %llu deletes, %llu adds, %llu cas that "
           "worked",
           id, ops, sets, dels, adds, cas);
    CHECK(sets > 0 && dels > 0 && adds > 0 && cas > 0);
    *total_ops += ops;
    th_wait_ok(w, 20000);
}

static void test_readers_writers(const char *ctlname, struct ctl *c)
{
    char name[SMEM_NAME_MAX + 1], line[256], num[32], ms[32], idbuf[16];
    th_name(name, "mstress");
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, ME, MV, NULL, &m));
    unsigned char *b = malloc(MV);
    CHECK(b);
    for (uint32_t j = 0; j < ND; j++)
        CHECK_OK(tm_set(m, NK + j, 100, WRITERS + 1, 1, b));
    long reads_each = tm_scaled(400000, 2);
    int min_ms = 3000;

    int64_t t0 = th_now_ms();
    th_proc w[WRITERS], r[READERS];
    for (int i = 0; i < WRITERS; i++)
        spawn_writer(&w[i], name, ctlname, i + 1, 0, NK, "main");
    snprintf(num, sizeof num, "%ld", reads_each);
    snprintf(ms, sizeof ms, "%d", min_ms);
    for (int i = 0; i < READERS; i++) {
        snprintf(idbuf, sizeof idbuf, "%d", i + 1);
        th_spawn(&r[i], -1, "reader", name, ctlname, idbuf, i == 0 ? "ro" : "rw", num, ms, NULL);
        th_expect(&r[i], "ready", 20000);
    }
    unsigned long long total = 0, found = 0, absent = 0, gone_max = 0, ops = 0;
    for (int i = 0; i < READERS; i++) {
        th_recv(&r[i], line, sizeof line, 200000);
        unsigned long long n, f, a, e, g, fr;
        CHECKF(sscanf(line, "reads %llu found %llu absent %llu e2big %llu gone %llu fresh %llu",
                      &n, &f, &a, &e, &g, &fr) == 6,
               "reader said \"%s\"", line);
        th_log("reader %d: %llu gets: %llu whole values of the right key, %llu absent, %llu "
               "E2BIG, %llu of the fresh keys; %llu doomed keys deleted by then",
               i + 1, n, f, a, e, fr, g);
        CHECK(f > 0 && a > 0 && e > 0 && fr > 0);
        total += n;
        found += f;
        absent += a;
        if (g > gone_max)
            gone_max = g;
        th_wait_ok(&r[i], 20000);
    }
    for (int i = 0; i < WRITERS; i++)
        stop_writer(&w[i], i + 1, &ops);
    th_log("%llu gets by %d readers while %d writers made %llu changes, in %lld ms: no torn, "
           "misplaced, stale or deleted value",
           total, READERS, WRITERS, ops, (long long)(th_now_ms() - t0));
    CHECKF(total >= (unsigned long long)reads_each * READERS, "only %llu reads", total);
    CHECKF(gone_max >= 1, "no doomed key was deleted while the readers ran");
    /* Quiet now: every entry is whole; doomed keys deleted are absent. */
    int n = smem_map_count(m);
    CHECK(n >= 0 && n <= ME);
    int present = 0;
    char k[TM_KEY_BUF];
    for (uint32_t key = 0; key < FRESH + WRITERS; key++) {
        size_t len;
        int rc = smem_map_get(m, tm_key(k, key), b, MV, &len, NULL);
        if (rc == SMEM_ENOENT)
            continue;
        CHECK_OK(rc);
        tm_val_expect("parent", b, len, key);
        present++;
        if (key >= NK && key < FRESH)
            CHECK(!c->doomed_gone[key - NK]);
    }
    CHECK_EQ_INT(present, n);
    free(b);
    smem_map_close(m);
}

static void test_incr(const char *ctlname)
{
    char name[SMEM_NAME_MAX + 1], line[256], num[32];
    th_name(name, "mincr");
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 4, 32, NULL, &m));
    long n = TM_TSAN ? 25000 : 100000;
    snprintf(num, sizeof num, "%ld", n);
    th_proc h[INCRS];
    int64_t t0 = th_now_ms();
    for (int i = 0; i < INCRS; i++) {
        th_spawn(&h[i], -1, "incr", name, ctlname, num, NULL);
        th_expect(&h[i], "ready", 20000);
    }
    for (int i = 0; i < INCRS; i++) {
        th_recv(&h[i], line, sizeof line, 200000);
        long long last;
        CHECKF(sscanf(line, "last %lld", &last) == 1, "incr helper said \"%s\"", line);
        CHECK(last > 0 && last <= n * INCRS);
        th_wait_ok(&h[i], 20000);
    }
    char b[32], want[32];
    size_t len;
    CHECK_OK(smem_map_get(m, "counter", b, sizeof b, &len, NULL));
    int wl = snprintf(want, sizeof want, "%ld", n * INCRS);
    CHECKF(len == (size_t)wl && memcmp(b, want, len) == 0, "the counter is \"%.*s\", not %s",
           (int)len, b, want);
    th_log("incr: %d processes x %ld increments = %s exactly, in %lld ms", INCRS, n, want,
           (long long)(th_now_ms() - t0));
    smem_map_close(m);
}

static void test_cas_race(const char *ctlname, struct ctl *c)
{
    char name[SMEM_NAME_MAX + 1], line[256], num[32], idbuf[16];
    th_name(name, "mcas");
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 4, 64, NULL, &m));
    CHECK_OK(smem_map_set(m, "race", "round 0 by 0", 12));
    long rounds = tm_scaled(5000, 5);
    CHECK(rounds < MAX_ROUNDS);
    snprintf(num, sizeof num, "%ld", rounds);
    th_proc h[CASERS];
    int64_t t0 = th_now_ms();
    for (int i = 0; i < CASERS; i++) {
        snprintf(idbuf, sizeof idbuf, "%d", i + 1);
        th_spawn(&h[i], -1, "caser", name, ctlname, num, idbuf, NULL);
        th_expect(&h[i], "ready", 20000);
    }
    long total = 0;
    for (int i = 0; i < CASERS; i++) {
        th_recv(&h[i], line, sizeof line, 200000);
        long wins;
        CHECKF(sscanf(line, "wins %ld", &wins) == 1, "caser said \"%s\"", line);
        th_log("caser %d won %ld of %ld rounds", i + 1, wins, rounds);
        total += wins;
        th_wait_ok(&h[i], 20000);
    }
    for (long r = 1; r <= rounds; r++)
        CHECKF(c->cas_wins[r] == 1, "cas race round %ld had %u winners", r,
               (unsigned)c->cas_wins[r]);
    CHECK_EQ_INT(total, rounds);
    char b[64];
    size_t len;
    CHECK_OK(smem_map_get(m, "race", b, sizeof b - 1, &len, NULL));
    b[len] = '\0';
    long last;
    unsigned by;
    CHECK(sscanf(b, "round %ld by %u", &last, &by) == 2 && last == rounds);
    th_log("cas races: %ld rounds of %d processes from one version: one winner each, in %lld ms",
           rounds, CASERS, (long long)(th_now_ms() - t0));
    smem_map_close(m);
}

/* ---- 4: foreach while others write ------------------------------------ */

#define STABLE 64
#define CHURN_BASE 1000
#define CHURN 96

struct walk {
    uint32_t visits[CHURN_BASE + CHURN];
    int calls;
    unsigned char *b;
};

static int walk_fn(const char *key, const void *val, size_t len, uint64_t version, void *arg)
{
    struct walk *w = arg;
    long i = tm_key_index(key);
    CHECKF(i >= 0 && i < CHURN_BASE + CHURN && (i < STABLE || i >= CHURN_BASE),
           "foreach: a key that was never set: \"%s\"", key);
    CHECKF(version > 0, "foreach: key %ld with version 0", i);
    tm_val_expect("foreach", val, len, (uint32_t)i);
    w->visits[i]++;
    CHECKF(w->visits[i] == 1, "foreach: key %ld visited twice in one walk", i);
    w->calls++;
    return 0;
}

static void test_foreach(const char *ctlname)
{
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "mwalk");
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, STABLE + CHURN, 256, NULL, &m));
    unsigned char *b = malloc(256);
    CHECK(b);
    /* Stable keys interleaved with churn keys in the table: set some churn
     * keys first, the stable ones, then delete the churn keys again. */
    char k[TM_KEY_BUF];
    for (uint32_t i = 0; i < CHURN; i++)
        CHECK_OK(tm_set(m, CHURN_BASE + i, 64, 9, 1, b));
    for (uint32_t i = 0; i < STABLE; i++)
        CHECK_OK(tm_set(m, i, TM_VAL_MIN + i, 9, 1, b));
    for (uint32_t i = 0; i < CHURN; i += 2)
        CHECK_OK(smem_map_del(m, tm_key(k, CHURN_BASE + i)));
    th_proc w[2];
    unsigned long long ops = 0;
    spawn_writer(&w[0], name, ctlname, 1, CHURN_BASE, CHURN, "churn");
    spawn_writer(&w[1], name, ctlname, 2, CHURN_BASE, CHURN, "churn");
    static struct walk walk;
    int walks = 0;
    long visited = 0;
    int64_t t0 = th_now_ms();
    while (th_now_ms() - t0 < 3000 || walks < 100) {
        memset(&walk, 0, sizeof walk);
        int n = smem_map_foreach(m, walk_fn, &walk);
        CHECKF(n == walk.calls, "foreach returned %d after %d calls", n, walk.calls);
        for (uint32_t i = 0; i < STABLE; i++)
            CHECKF(walk.visits[i] == 1, "walk %d: stable key %u visited %u times", walks,
                   (unsigned)i, (unsigned)walk.visits[i]);
        CHECK(n >= STABLE && n <= STABLE + CHURN);
        visited += n;
        walks++;
    }
    for (int i = 0; i < 2; i++)
        stop_writer(&w[i], i + 1, &ops);
    th_log("foreach: %d walks (%ld entries) while 2 writers made %llu changes to other keys: "
           "every stable key once, every entry whole",
           walks, visited, ops);
    free(b);
    smem_map_close(m);
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    if (TM_SANITIZED || TH_WINDOWS)
        th_log("a slow build (sanitizer or Wine): fewer reads and rounds");
    char ctlname[SMEM_NAME_MAX + 1];
    th_name(ctlname, "mstressctl");
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(ctlname, &cr);
    test_readers_writers(ctlname, c);
    test_incr(ctlname);
    test_cas_race(ctlname, c);
    test_foreach(ctlname);
    smem_region_close(cr);
    return 0;
}
