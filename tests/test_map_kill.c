/* Map writers that die or stop in the middle of a change.
 *
 * A writer process sets, deletes and adds large values (32-64 KiB, so
 * that a change spends its time copying) of a few "victim" keys in a loop,
 * saying in shared memory which change it is about to make and which it
 * has made, and is killed (SIGKILL; on Windows TerminateProcess) at a
 * random instant, 500 times (300 under AddressSanitizer, 150 on Windows,
 * 50 under ThreadSanitizer),
 * while two "survivor" processes keep setting, getting, deleting and
 * adding keys of their own, each checking it reads back exactly what it
 * wrote and that no call takes long.  After each kill:
 *   - the fixed entries (set once by this process) are all intact, byte
 *     for byte, with their versions;
 *   - every victim key holds what the writer's last completed change left,
 *     except the key of the change it was in, which holds its old value
 *     or its new one (or is absent / present accordingly), whole;
 *   - set/get/del/add from here work, at once;
 *   - count agrees with what is present.
 * Every 100 kills (survivors paused) the count is exact and the map fills
 * to exactly max_entries, then SMEM_EFULL: no entry leaked.
 *
 * First, a writer stopped (SIGSTOP; on Windows NtSuspendProcess) inside a
 * change: gets still return at once, and a set from here waits the open's
 * timeout_ms and gives SMEM_ETIMEDOUT; once the writer is continued, sets
 * work again. */
#include "check.h"

#include "test_map_kit.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ME 64
#define MV (64 * 1024)
#define FIXED 16           /* keys 0..15: set here once, never changed */
#define VICTIMS 8          /* keys 100..107: changed by the writer */
#define VBASE 100
#define SURVIVORS 2
#define SKEYS 4            /* keys 200 + 10*s + 0..3: survivor s's */
#define MINE 300           /* this process's own key */
#define NBLOBS 3
/* Any call after a death, or beside one: 1 s.  (On this 2-core machine a
 * writer, two survivors and this process compete for the CPU: a call can
 * wait for a lock holder that is preempted; 0.4 s was the worst seen.
 * Sanitizers make every holder several times slower: 3 s there.) */
#define MAX_RECOVERY_NS (TM_SANITIZED ? INT64_C(3000000000) : INT64_C(1000000000))
#define STOP_TIMEOUT_MS 300
#if TM_TSAN /* every helper starts slowly there: 150 kills took 220 s */
#define KILLS 50
#elif TH_WINDOWS
#define KILLS 150
#elif TM_SANITIZED
#define KILLS 300
#else
#define KILLS 500
#endif

static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};

/* Shared with the writers through a raw region. */
struct ctl {
    uint32_t st_writer[VICTIMS]; /* the state after the last completed change: */
    uint64_t st_counter[VICTIMS]; /* writer 0 = absent */
    uint32_t at_key, at_writer;  /* the change about to be made (writer 0: a delete) */
    uint64_t at_counter;
    uint64_t at_seq, done_seq;
};

static struct ctl *open_ctl(const char *name, smem_region **r)
{
    CHECK_OK(smem_region_open(name, sizeof(struct ctl), NULL, r));
    return smem_region_data(*r);
}

static size_t blob_len(uint32_t key, uint32_t writer, uint64_t counter)
{
    return MV / 2 + (size_t)(tv_mix(key * 1000003u + writer * 31u + counter) % (MV / 2 + 1));
}

static size_t small_len(uint32_t key, uint64_t counter)
{
    return TM_VAL_MIN + (size_t)(tv_mix(key + counter * 977u) % 200);
}

/* writer NAME CTL ID: changes the victim keys until killed. */
static int helper_writer(int argc, char **argv)
{
    CHECK(argc == 3);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(argv[0], 0, 0, &nocreate, &m));
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(argv[1], &cr);
    uint32_t id = (uint32_t)tv_num(argv[2]);
    unsigned char *blob[VICTIMS][NBLOBS];
    for (uint32_t k = 0; k < VICTIMS; k++)
        for (int j = 0; j < NBLOBS; j++) {
            size_t len = blob_len(VBASE + k, id, (uint64_t)j + 1);
            blob[k][j] = malloc(len);
            CHECK(blob[k][j]);
            tm_val_fill(blob[k][j], len, VBASE + k, id, (uint64_t)j + 1);
        }
    tv_rng rng;
    tv_seed(&rng, id);
    char key[TM_KEY_BUF];
    uint64_t seq = __atomic_load_n(&c->done_seq, __ATOMIC_SEQ_CST);
    th_say("ready");
    for (;;) {
        uint32_t k = (uint32_t)tv_below(&rng, VICTIMS);
        int j = (int)tv_below(&rng, NBLOBS);
        int op = (int)tv_below(&rng, 10); /* 0-5 set, 6-7 del, 8-9 add */
        uint32_t w = op < 6 || op >= 8 ? id : 0;
        uint64_t cnt = w ? (uint64_t)j + 1 : 0;
        int present = c->st_writer[k] != 0;
        if (op >= 8 && present) { /* add of a present key: changes nothing */
            w = c->st_writer[k];
            cnt = c->st_counter[k];
        }
        if (op == 6 || op == 7) {
            if (!present) { /* delete of an absent key: nothing */
                w = 0;
                cnt = 0;
            }
        }
        seq++;
        __atomic_store_n(&c->at_key, k, __ATOMIC_SEQ_CST);
        __atomic_store_n(&c->at_writer, w, __ATOMIC_SEQ_CST);
        __atomic_store_n(&c->at_counter, cnt, __ATOMIC_SEQ_CST);
        __atomic_store_n(&c->at_seq, seq, __ATOMIC_SEQ_CST);
        tm_key(key, VBASE + k);
        size_t len = blob_len(VBASE + k, id, (uint64_t)j + 1);
        int rc;
        if (op < 6)
            rc = smem_map_set(m, key, blob[k][j], len);
        else if (op < 8)
            rc = smem_map_del(m, key);
        else
            rc = smem_map_add(m, key, blob[k][j], len);
        CHECKF(rc == 0 || (op >= 6 && op < 8 && !present && rc == SMEM_ENOENT) ||
                   (op >= 8 && present && rc == SMEM_EEXIST),
               "writer %u: op %d on victim %u (present %d) gave %d (%s)", (unsigned)id, op,
               (unsigned)k, present, rc, smem_err_name(rc));
        __atomic_store_n(&c->st_writer[k], w, __ATOMIC_SEQ_CST);
        __atomic_store_n(&c->st_counter[k], cnt, __ATOMIC_SEQ_CST);
        __atomic_store_n(&c->done_seq, seq, __ATOMIC_SEQ_CST);
    }
}

/* survivor NAME S: works on its own keys until "stop"; on "pause" says
 * "paused P" (P of its keys present) and waits for "go".  Says
 * "ops N worst_us W" at the end. */
static int helper_survivor(int argc, char **argv)
{
    CHECK(argc == 2);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(argv[0], 0, 0, &nocreate, &m));
    uint32_t s = (uint32_t)tv_num(argv[1]);
    uint64_t counter[SKEYS] = {0}; /* 0: absent */
    unsigned char b[256 + TM_VAL_MIN], r[256 + TM_VAL_MIN];
    char key[TM_KEY_BUF], line[64];
    tv_rng rng;
    tv_seed(&rng, s * 13u + tv_pid());
    unsigned long long ops = 0;
    int64_t worst = 0;
    uint64_t next = 1;
    th_say("ready");
    for (;;) {
        if ((ops & 15) == 0 && th_listen_ready()) {
            if (th_listen(line, sizeof line) != 0 || strcmp(line, "stop") == 0)
                break;
            CHECK(strcmp(line, "pause") == 0);
            int present = 0;
            for (int i = 0; i < SKEYS; i++)
                present += counter[i] != 0;
            th_say("paused %d", present);
            CHECK(th_listen(line, sizeof line) == 0 && strcmp(line, "go") == 0);
        }
        if ((ops & 127) == 127)
            tv_sleep_us(50); /* leave the writer and the parent some CPU */
        int i = (int)tv_below(&rng, SKEYS);
        uint32_t kid = 200 + 10 * s + (uint32_t)i;
        tm_key(key, kid);
        int op = (int)tv_below(&rng, 4);
        int64_t t0 = tv_now_ns();
        int rc;
        if (op == 0) { /* set */
            uint64_t cnt = next++;
            size_t len = small_len(kid, cnt);
            tm_val_fill(b, len, kid, 1000 + s, cnt);
            CHECK_OK(smem_map_set(m, key, b, len));
            counter[i] = cnt;
        } else if (op == 1) { /* del */
            rc = smem_map_del(m, key);
            CHECK_ERR(rc, counter[i] ? 0 : SMEM_ENOENT);
            counter[i] = 0;
        } else if (op == 2) { /* add */
            uint64_t cnt = next++;
            size_t len = small_len(kid, cnt);
            tm_val_fill(b, len, kid, 1000 + s, cnt);
            rc = smem_map_add(m, key, b, len);
            CHECK_ERR(rc, counter[i] ? SMEM_EEXIST : 0);
            if (rc == 0)
                counter[i] = cnt;
        } else { /* get: exactly what this process left there */
            size_t len;
            rc = smem_map_get(m, key, r, sizeof r, &len, NULL);
            if (counter[i] == 0) {
                CHECK_ERR(rc, SMEM_ENOENT);
            } else {
                CHECK_OK(rc);
                tm_val v = tm_val_expect("survivor", r, len, kid);
                CHECKF(v.writer == 1000 + s && v.counter == counter[i],
                       "survivor %u: key %u holds write %llu of %u, not its own %llu",
                       (unsigned)s, (unsigned)kid, (unsigned long long)v.counter,
                       (unsigned)v.writer, (unsigned long long)counter[i]);
            }
        }
        int64_t t = tv_now_ns() - t0;
        if (t > worst)
            worst = t;
        CHECKF(t < MAX_RECOVERY_NS, "survivor %u: op %d took %lld ms", (unsigned)s, op,
               (long long)(t / 1000000));
        ops++;
    }
    th_say("ops %llu worst_us %lld", ops, (long long)(worst / 1000));
    smem_map_close(m);
    return 0;
}

static const th_helper helpers[] = {
    {"writer", helper_writer},
    {"survivor", helper_survivor},
    {NULL, NULL},
};

/* ---- parent ----------------------------------------------------------- */

static unsigned char *buf, *want;
static uint64_t fixed_ver[FIXED];

static void spawn_writer(th_proc *w, const char *name, const char *ctlname, uint32_t id)
{
    char idbuf[16];
    snprintf(idbuf, sizeof idbuf, "%u", (unsigned)id);
    th_spawn(w, -1, "writer", name, ctlname, idbuf, NULL);
}

static size_t fixed_len(uint32_t i)
{
    return i % 4 == 0 ? MV : small_len(i, 1);
}

/* The fixed entries are intact: exact bytes and versions. */
static void check_fixed(smem_map *m, const char *when)
{
    char key[TM_KEY_BUF];
    for (uint32_t i = 0; i < FIXED; i++) {
        size_t len;
        uint64_t ver;
        int rc = smem_map_get(m, tm_key(key, i), buf, MV, &len, &ver);
        CHECKF(rc == 0, "%s: fixed key %u: get gave %d (%s)", when, (unsigned)i, rc,
               smem_err_name(rc));
        tm_val_fill(want, fixed_len(i), i, 7, 1);
        CHECKF(len == fixed_len(i) && memcmp(buf, want, len) == 0 && ver == fixed_ver[i],
               "%s: fixed key %u changed (%zu bytes, version %llu; was %zu bytes, version %llu)",
               when, (unsigned)i, len, (unsigned long long)ver, fixed_len(i),
               (unsigned long long)fixed_ver[i]);
    }
}

/* What victim K holds: writer 0 = absent. */
static void victim_state(smem_map *m, uint32_t k, uint32_t *writer, uint64_t *counter)
{
    char key[TM_KEY_BUF];
    size_t len;
    int rc = smem_map_get(m, tm_key(key, VBASE + k), buf, MV, &len, NULL);
    if (rc == SMEM_ENOENT) {
        *writer = 0;
        *counter = 0;
        return;
    }
    CHECKF(rc == 0, "victim %u: get gave %d (%s)", (unsigned)k, rc, smem_err_name(rc));
    tm_val v = tm_val_expect("victim", buf, len, VBASE + k);
    CHECKF(len == blob_len(VBASE + k, v.writer, v.counter),
           "victim %u: a value of %zu bytes by writer %u", (unsigned)k, len, (unsigned)v.writer);
    *writer = v.writer;
    *counter = v.counter;
}

/* Pauses the survivors; returns how many of their keys are present. */
static int pause_survivors(th_proc *s)
{
    char line[64];
    int total = 0;
    for (int i = 0; i < SURVIVORS; i++)
        th_send(&s[i], "pause");
    for (int i = 0; i < SURVIVORS; i++) {
        int p;
        th_recv(&s[i], line, sizeof line, 20000);
        CHECKF(sscanf(line, "paused %d", &p) == 1, "survivor said \"%s\"", line);
        total += p;
    }
    return total;
}

/* With everyone else quiet: count is exact, and the map fills to exactly
 * max_entries. */
static void check_no_leak(smem_map *m, th_proc *s, struct ctl *c, const char *when)
{
    int spresent = pause_survivors(s);
    int vpresent = 0;
    for (uint32_t k = 0; k < VICTIMS; k++)
        vpresent += c->st_writer[k] != 0;
    int n = smem_map_count(m);
    CHECKF(n == FIXED + vpresent + spresent,
           "%s: count %d, but %d fixed + %d victims + %d survivors' keys are present", when, n,
           FIXED, vpresent, spresent);
    char key[32];
    int added = 0;
    for (;; added++) {
        snprintf(key, sizeof key, "filler-%d", added);
        int rc = smem_map_add(m, key, "f", 1);
        if (rc == SMEM_EFULL)
            break;
        CHECKF(rc == 0, "%s: filling, add #%d gave %d (%s)", when, added, rc, smem_err_name(rc));
    }
    CHECKF(n + added == ME, "%s: the map was full after %d + %d entries, not %d: entries leaked",
           when, n, added, ME);
    CHECK_EQ_INT(smem_map_count(m), ME);
    for (int i = 0; i < added; i++) {
        snprintf(key, sizeof key, "filler-%d", i);
        CHECK_OK(smem_map_del(m, key));
    }
    CHECK_EQ_INT(smem_map_count(m), n);
    for (int i = 0; i < SURVIVORS; i++)
        th_send(&s[i], "go");
}

/* A writer stopped inside a change: readers go on, writers time out. */
static void test_stopped_writer(const char *name, const char *ctlname, struct ctl *c)
{
    smem_map *m = NULL;
    const smem_opts quick = {SMEM_NOCREATE, 0, STOP_TIMEOUT_MS, NULL, NULL};
    CHECK_OK(smem_map_open(name, 0, 0, &quick, &m));
    th_proc w;
    spawn_writer(&w, name, ctlname, 1);
    th_expect(&w, "ready", 20000);
    tv_rng rng;
    tv_seed(&rng, 99);
    int tries = 0, inside = 0, timeouts = 0;
    char key[TM_KEY_BUF];
    while (timeouts < 3 && tries < 100) {
        tries++;
        tv_sleep_us((long)tv_below(&rng, 2000));
        tv_pause_process(&w);
        uint64_t a = __atomic_load_n(&c->at_seq, __ATOMIC_SEQ_CST);
        uint64_t d = __atomic_load_n(&c->done_seq, __ATOMIC_SEQ_CST);
        if (a != d) {
            inside++;
            int64_t t0 = tv_now_ns();
            check_fixed(m, "writer stopped");
            uint32_t vw;
            uint64_t vc;
            victim_state(m, (c->at_key + 1) % VICTIMS, &vw, &vc);
            int64_t t = tv_now_ns() - t0;
            CHECKF(t < INT64_C(200000000), "gets took %lld ms while a writer was stopped",
                   (long long)(t / 1000000));
            unsigned char small[TM_VAL_MIN];
            tm_val_fill(small, sizeof small, MINE, 9, (uint64_t)tries);
            t0 = tv_now_ns();
            int rc = smem_map_set(m, tm_key(key, MINE), small, sizeof small);
            t = tv_now_ns() - t0;
            if (rc == SMEM_ETIMEDOUT) {
                timeouts++;
                CHECKF(t >= (int64_t)(STOP_TIMEOUT_MS - 50) * 1000000 &&
                           t <= (int64_t)(STOP_TIMEOUT_MS + 2000) * 1000000,
                       "a set held up by a stopped writer gave up after %lld ms (timeout_ms %d)",
                       (long long)(t / 1000000), STOP_TIMEOUT_MS);
            } else {
                CHECKF(rc == 0, "set while a writer is stopped gave %d (%s)", rc,
                       smem_err_name(rc));
            }
        }
        tv_resume_process(&w);
        if (a != d) {
            /* Continued: writers get through again. */
            unsigned char small[TM_VAL_MIN];
            tm_val_fill(small, sizeof small, MINE, 9, (uint64_t)tries + 1000);
            int64_t t0 = tv_now_ns();
            int rc = smem_map_set(m, tm_key(key, MINE), small, sizeof small);
            int64_t t = tv_now_ns() - t0;
            CHECKF(rc == 0 && t < MAX_RECOVERY_NS,
                   "after the writer was continued, a set gave %d (%s) in %lld ms", rc,
                   smem_err_name(rc), (long long)(t / 1000000));
        }
    }
    th_log("stopped a writer %d times, %d inside a change: %d sets timed out after ~%d ms, "
           "and worked once it was continued",
           tries, inside, timeouts, STOP_TIMEOUT_MS);
    CHECKF(timeouts >= 1, "no set ever timed out behind a writer stopped inside a change (%d "
                          "stops inside one)",
           inside);
    th_kill(&w);
    /* The kill may have landed anywhere: take the victims as they are. */
    for (uint32_t k = 0; k < VICTIMS; k++)
        victim_state(m, k, &c->st_writer[k], &c->st_counter[k]);
    c->at_seq = c->done_seq;
    CHECK_OK(smem_map_del(m, tm_key(key, MINE)));
    smem_map_close(m);
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    char name[SMEM_NAME_MAX + 1], ctlname[SMEM_NAME_MAX + 1], line[256], key[TM_KEY_BUF];
    th_name(name, "mkill");
    th_name(ctlname, "mkillctl");
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, ME, MV, NULL, &m));
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(ctlname, &cr);
    buf = malloc(MV);
    want = malloc(MV);
    CHECK(buf && want);
    for (uint32_t i = 0; i < FIXED; i++) {
        tm_val_fill(want, fixed_len(i), i, 7, 1);
        CHECK_OK(smem_map_set(m, tm_key(key, i), want, fixed_len(i)));
        CHECK_ERR(smem_map_get(m, key, NULL, 0, NULL, &fixed_ver[i]), SMEM_E2BIG);
    }

    test_stopped_writer(name, ctlname, c);

    th_proc s[SURVIVORS];
    for (int i = 0; i < SURVIVORS; i++) {
        char sb[16];
        snprintf(sb, sizeof sb, "%d", i);
        th_spawn(&s[i], -1, "survivor", name, sb, NULL);
        th_expect(&s[i], "ready", 20000);
    }

    int64_t t_start = th_now_ms(), worst = 0;
    tv_rng rng;
    tv_seed(&rng, 2025);
    int inside = 0, early = 0, old_kept = 0, new_seen = 0;
    for (int i = 1; i <= KILLS; i++) {
        uint32_t id = 10 + (uint32_t)i;
        th_proc w;
        spawn_writer(&w, name, ctlname, id);
        if (i % 10 == 0) {
            tv_sleep_us((long)tv_below(&rng, 4000)); /* anywhere in its life */
            early++;
        } else {
            th_expect(&w, "ready", 20000);
            tv_sleep_us((long)tv_below(&rng, 2000));
        }
        th_kill(&w);
        uint64_t a = c->at_seq, d = c->done_seq;
        int in_change = a != d;
        inside += in_change;

        char when[64];
        snprintf(when, sizeof when, "kill %d", i);
        check_fixed(m, when);
        int vpresent = 0;
        for (uint32_t k = 0; k < VICTIMS; k++) {
            uint32_t vw;
            uint64_t vc;
            victim_state(m, k, &vw, &vc);
            int is_old = vw == c->st_writer[k] && vc == c->st_counter[k];
            int is_new = in_change && c->at_key == k && vw == c->at_writer && vc == c->at_counter;
            CHECKF(is_old || is_new,
                   "kill %d: victim %u holds (writer %u, #%llu); its last completed change left "
                   "(writer %u, #%llu)%s; in a change: %d (key %u to writer %u, #%llu)",
                   i, (unsigned)k, (unsigned)vw, (unsigned long long)vc,
                   (unsigned)c->st_writer[k], (unsigned long long)c->st_counter[k],
                   vw == 0 ? " [absent]" : "", in_change, (unsigned)c->at_key,
                   (unsigned)c->at_writer, (unsigned long long)c->at_counter);
            if (in_change && c->at_key == k && !(is_old && is_new)) {
                if (is_old)
                    old_kept++;
                else
                    new_seen++;
            }
            c->st_writer[k] = vw;
            c->st_counter[k] = vc;
            vpresent += vw != 0;
        }
        c->at_seq = c->done_seq;
        int n = smem_map_count(m);
        CHECKF(n >= FIXED + vpresent && n <= FIXED + vpresent + SURVIVORS * SKEYS,
               "kill %d: count %d with %d fixed and %d victim keys present (and up to %d of the "
               "survivors')",
               i, n, FIXED, vpresent, SURVIVORS * SKEYS);

        /* The next changes from here work, at once. */
        size_t len = small_len(MINE, (uint64_t)i);
        tm_val_fill(want, len, MINE, 9, (uint64_t)i);
        int64_t t0 = tv_now_ns();
        int rc = smem_map_set(m, tm_key(key, MINE), want, len);
        int64_t t = tv_now_ns() - t0;
        CHECKF(rc == 0 && t < MAX_RECOVERY_NS, "kill %d: the set after it gave %d (%s) in %lld ms",
               i, rc, smem_err_name(rc), (long long)(t / 1000000));
        if (t > worst)
            worst = t;
        size_t got;
        CHECK_OK(smem_map_get(m, key, buf, MV, &got, NULL));
        CHECK(got == len && memcmp(buf, want, len) == 0);
        CHECK_OK(smem_map_del(m, key));
        CHECK_OK(smem_map_add(m, key, want, len));
        CHECK_ERR(smem_map_add(m, key, want, len), SMEM_EEXIST);
        CHECK_OK(smem_map_del(m, key));
        if (i % 100 == 0)
            check_no_leak(m, s, c, when);
    }
    int64_t elapsed = th_now_ms() - t_start;
    th_log("%d kills in %lld ms: %d inside a change (the key kept its old state %d times, had "
           "its new one %d times), %d early in the writer's life; worst set after a kill %lld us",
           KILLS, (long long)elapsed, inside, old_kept, new_seen, early,
           (long long)(worst / 1000));
    CHECKF(inside >= KILLS / 4, "only %d of %d kills landed inside a change", inside, KILLS);
    check_no_leak(m, s, c, "the end");
    for (int i = 0; i < SURVIVORS; i++) {
        th_send(&s[i], "stop");
        th_recv(&s[i], line, sizeof line, 20000);
        unsigned long long ops;
        long long worst_us;
        CHECKF(sscanf(line, "ops %llu worst_us %lld", &ops, &worst_us) == 2,
               "survivor said \"%s\"", line);
        th_log("survivor %d: %llu operations on its own keys, all as expected; slowest %lld us",
               i, ops, worst_us);
        CHECK(ops > (unsigned long long)KILLS);
        th_wait_ok(&s[i], 20000);
    }
    check_fixed(m, "the end");
    free(buf);
    free(want);
    smem_region_close(cr);
    smem_map_close(m);
    CHECK(!th_shm_exists(name));
    return 0;
}
