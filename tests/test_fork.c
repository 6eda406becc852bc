/* Handles inherited across fork() (issue #10), with real forks and real
 * SIGKILLs; Linux only.
 *
 *   workers   a parent opens a map and a value and forks 4 workers; each
 *             makes 10,000 incr, races the others through 1,000 shared
 *             cas rounds, 1,000 value sets, add/del, wait and foreach, all
 *             on the inherited handles: the total is exact, every round
 *             has exactly one winner, the value's version grew by exactly
 *             the number of sets
 *   master    the same under a master process that opened the map itself,
 *             forked the workers and is SIGKILLed half-way (while it writes):
 *             the workers finish, totals still exact
 *   takeover  200 rounds: a writer forks a child, idle or (every third
 *             round) busy getting and setting on the inherited handle, then
 *             dies in the middle of a set (crash points, each step of a
 *             replace and of an insert); another writer's set succeeds
 *             within timeout/10 every round while the child lives
 *   init      a creator dies in its init callback while another of its
 *             threads forks a long-lived child: the next opener initialises
 */
#include "check.h"

#ifdef _WIN32
#include <stdio.h>
int main(void)
{
    printf("SKIP: fork() is POSIX only; this test covers inherited handles on Linux\n");
    return 77;
}
#else

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 4
#define INCRS 10000
#define ROUNDS 1000  /* cas rounds, shared by all workers */
#define VSETS 1000   /* value sets per worker */
#define ME (ROUNDS + 64)
#define MV 64

/* ---- small helpers ------------------------------------------------------ */

/* The decimal counter KEY (0 if absent), and its version. */
static int64_t counter(smem_map *m, const char *key, uint64_t *version)
{
    char buf[MV + 1];
    size_t len = 0;
    uint64_t ver = 0;
    int rc = smem_map_get(m, key, buf, MV, &len, &ver);
    if (version)
        *version = ver;
    if (rc == SMEM_ENOENT)
        return 0;
    CHECKF(rc == 0, "get(%s) gave %d (%s)", key, rc, smem_err_name(rc));
    buf[len] = 0;
    char *end = NULL;
    long long v = strtoll(buf, &end, 10);
    CHECKF(len > 0 && *end == 0, "%s holds \"%s\", not a number", key, buf);
    return v;
}

static void put_number(smem_map *m, const char *key, int64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%" PRId64, v);
    CHECK_OK(smem_map_set(m, key, buf, (size_t)n));
}

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        CHECK_SYS(n);
        p += n;
        len -= (size_t)n;
    }
}

/* Reads exactly LEN bytes; 0, or -1 at EOF. */
static int read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        CHECK_SYS(n);
        if (n == 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* An idle child: blocks until FD (a pipe's read end whose write end the
 * test holds) gives EOF or a byte, i.e. until told or until the test dies;
 * a safety limit of 60 s. */
static TH_NORETURN void idle_until(int fd)
{
    alarm(60);
    char c;
    while (read(fd, &c, 1) < 0 && errno == EINTR)
        ;
    _exit(0);
}

/* A busy child: reads M in a loop (gets, and sets of a key of its own
 * every 64th time) until FD gives EOF or a byte, like idle_until. */
static TH_NORETURN void busy_until(int fd, smem_map *m)
{
    alarm(60);
    CHECK_SYS(fcntl(fd, F_SETFL, O_NONBLOCK));
    char key[32], buf[MV];
    snprintf(key, sizeof key, "busy.%ld", (long)getpid());
    for (long i = 0;; i++) {
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n >= 0 || (errno != EAGAIN && errno != EINTR))
            break;
        size_t len;
        int rc = smem_map_get(m, "victim", buf, sizeof buf, &len, NULL);
        CHECKF(rc == 0 || rc == SMEM_ENOENT, "busy child: get gave %s", smem_err_name(rc));
        if (i % 64 == 0) {
            rc = smem_map_set(m, key, "busy", 4);
            CHECKF(rc == 0, "busy child: set gave %s", smem_err_name(rc));
        }
    }
    smem_map_del(m, key);
    _exit(0);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- the worker (cases 1 and 2) ----------------------------------------- */

struct tally {
    int entries;
    int wins_seen; /* "w.*" keys */
};

static int tally_fn(const char *key, const void *val, size_t len, uint64_t version, void *arg)
{
    struct tally *t = arg;
    (void)val;
    (void)len;
    CHECK(version > 0);
    t->entries++;
    if (strncmp(key, "w.", 2) == 0)
        t->wins_seen++;
    return 0;
}

/* Worker ID on inherited handles M and V: waits for "go", then
 * interleaves its incrs, its cas tries on "round" and its value sets.
 * Every winner of round r adds the key "w.<r>" (an add: a second winner of
 * the same round would get SMEM_EEXIST) and counts its wins in
 * "wins.<id>".  Ends by counting "done" and exiting 0. */
static TH_NORETURN void worker(int id, smem_map *m, smem_value *v)
{
    CHECK_OK(smem_map_wait(m, "go", 0, 30000));

    char key[40], tmp[40];
    snprintf(tmp, sizeof tmp, "tmp.%d", id);
    int incrs = 0, sets = 0, wins = 0, tries = 0, round_done = 0;
    while (incrs < INCRS || sets < VSETS || !round_done) {
        if (incrs < INCRS) {
            CHECK_OK(smem_map_incr(m, "total", 1, NULL));
            incrs++;
        }
        if (incrs % 10 == 0 && sets < VSETS) {
            char buf[16];
            int n = snprintf(buf, sizeof buf, "%d:%d", id, sets);
            CHECK_OK(smem_value_set(v, buf, (size_t)n));
            sets++;
        }
        if (incrs % 5 == 0 || incrs >= INCRS) {
            if (!round_done) {
                uint64_t ver = 0;
                int64_t r = counter(m, "round", &ver);
                CHECK(r >= 0 && r <= ROUNDS);
                if (r == ROUNDS) {
                    round_done = 1;
                } else {
                    char buf[32];
                    int n = snprintf(buf, sizeof buf, "%" PRId64, r + 1);
                    tries++;
                    int rc = smem_map_cas(m, "round", ver, buf, (size_t)n);
                    if (rc == 0) {
                        wins++;
                        snprintf(key, sizeof key, "w.%" PRId64, r);
                        char who[8];
                        int k = snprintf(who, sizeof who, "%d", id);
                        rc = smem_map_add(m, key, who, (size_t)k);
                        CHECKF(rc == 0, "worker %d won round %" PRId64 ", but add(%s) gave %s",
                               id, r, key, smem_err_name(rc));
                    } else {
                        CHECKF(rc == SMEM_ECHANGED, "cas gave %d (%s)", rc, smem_err_name(rc));
                    }
                }
            }
        }
        if (incrs % 100 == 0) {
            CHECK_OK(smem_map_add(m, tmp, "x", 1));
            CHECK_OK(smem_map_del(m, tmp));
        }
    }
    snprintf(key, sizeof key, "wins.%d", id);
    put_number(m, key, wins);
    snprintf(key, sizeof key, "tries.%d", id);
    put_number(m, key, tries);

    /* A walk: every round's key is there once every worker is past its
     * loop (a winner adds its key after its cas, and may be slow to), so
     * wait for all of them at "finished". */
    CHECK_OK(smem_map_incr(m, "finished", 1, NULL));
    for (;;) {
        uint64_t ver = 0;
        if (counter(m, "finished", &ver) >= WORKERS)
            break;
        int rc = smem_map_wait(m, "finished", ver, 30000);
        CHECKF(rc == 0, "worker %d: waiting for the others gave %s", id, smem_err_name(rc));
    }
    struct tally t = {0, 0};
    int n = smem_map_foreach(m, tally_fn, &t);
    CHECKF(n == t.entries, "foreach returned %d after %d calls", n, t.entries);
    CHECKF(t.wins_seen == ROUNDS, "worker %d's foreach saw %d round keys, not %d", id,
           t.wins_seen, ROUNDS);

    CHECK_OK(smem_map_incr(m, "done", 1, NULL));
    smem_map_close(m);
    smem_value_close(v);
    _exit(0);
}

/* What cases 1 and 2 check once all workers are done. */
static void check_totals(smem_map *m, smem_value *v, const char *what)
{
    int64_t total = counter(m, "total", NULL);
    CHECKF(total == (int64_t)WORKERS * INCRS, "%s: total %" PRId64 ", not %d", what, total,
           WORKERS * INCRS);
    int64_t rounds = counter(m, "round", NULL);
    CHECKF(rounds == ROUNDS, "%s: round %" PRId64 ", not %d", what, rounds, ROUNDS);

    int64_t wins[WORKERS], sum = 0, tries = 0;
    char key[40];
    for (int i = 0; i < WORKERS; i++) {
        snprintf(key, sizeof key, "wins.%d", i);
        wins[i] = counter(m, key, NULL);
        sum += wins[i];
        snprintf(key, sizeof key, "tries.%d", i);
        tries += counter(m, key, NULL);
    }
    CHECKF(sum == ROUNDS, "%s: %" PRId64 " wins in all, not %d", what, sum, ROUNDS);

    /* Exactly one winner per round, and it is the one that counted it. */
    int64_t owned[WORKERS] = {0};
    for (int r = 0; r < ROUNDS; r++) {
        char buf[MV];
        size_t len = 0;
        snprintf(key, sizeof key, "w.%d", r);
        int rc = smem_map_get(m, key, buf, sizeof buf, &len, NULL);
        CHECKF(rc == 0, "%s: round %d has no winner (%s)", what, r, smem_err_name(rc));
        CHECK(len == 1 && buf[0] >= '0' && buf[0] < '0' + WORKERS);
        owned[buf[0] - '0']++;
    }
    for (int i = 0; i < WORKERS; i++)
        CHECKF(owned[i] == wins[i], "%s: worker %d counted %" PRId64 " wins but owns %" PRId64
               " rounds", what, i, wins[i], owned[i]);
    char buf[16];
    size_t len = 0;
    uint64_t version = 0;
    CHECK_OK(smem_value_get(v, buf, sizeof buf, &len, &version));
    CHECKF(version == (uint64_t)WORKERS * VSETS, "%s: value version %" PRIu64 ", not %d", what,
           version, WORKERS * VSETS);
    th_log("%s: total %" PRId64 " (exact), %d cas rounds with one winner each out of %" PRId64
           " tries (wins %" PRId64 "/%" PRId64 "/%" PRId64 "/%" PRId64 "), value version %" PRIu64,
           what, total, ROUNDS, tries, wins[0], wins[1], wins[2], wins[3], version);
}

/* ---- case 1 --------------------------------------------------------------- */

static void case_workers(void)
{
    char mname[SMEM_NAME_MAX + 1], vname[SMEM_NAME_MAX + 1];
    th_name(mname, "fkw");
    th_name(vname, "fkv");
    smem_map *m = NULL;
    smem_value *v = NULL;
    CHECK_OK(smem_map_open(mname, ME, MV, NULL, &m));
    CHECK_OK(smem_value_open(vname, 16, NULL, &v));

    pid_t pids[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        pids[i] = fork();
        CHECK_SYS(pids[i]);
        if (pids[i] == 0)
            worker(i, m, v);
    }
    int64_t t0 = th_now_ms();
    CHECK_OK(smem_map_set(m, "go", "1", 1));
    for (int i = 0; i < WORKERS; i++) {
        int st = th_waitpid(pids[i], 120000);
        CHECKF(th_exit_code(st) == 0, "worker %d: %s", i, th_status_str(st));
    }
    int64_t ms = th_now_ms() - t0;
    CHECK(counter(m, "done", NULL) == WORKERS);
    check_totals(m, v, "workers");
    th_log("workers: 4 forked workers done in %lld ms", (long long)ms);
    smem_map_close(m);
    smem_value_close(v);
    CHECK(!th_shm_exists(mname) && !th_shm_exists(vname));
}

/* ---- case 2 --------------------------------------------------------------- */

static void case_master(void)
{
    char mname[SMEM_NAME_MAX + 1], vname[SMEM_NAME_MAX + 1];
    th_name(mname, "fkm");
    th_name(vname, "fkmv");
    /* The test holds both open, so nothing depends on who closes last. */
    smem_map *tm = NULL;
    smem_value *tv = NULL;
    CHECK_OK(smem_map_open(mname, ME, MV, NULL, &tm));
    CHECK_OK(smem_value_open(vname, 16, NULL, &tv));

    int pfd[2];
    CHECK_SYS(pipe(pfd));
    pid_t master = fork();
    CHECK_SYS(master);
    if (master == 0) {
        close(pfd[0]);
        smem_map *m = NULL;
        smem_value *v = NULL;
        static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};
        CHECK_OK(smem_map_open(mname, 0, 0, &nocreate, &m));
        CHECK_OK(smem_value_open(vname, 0, &nocreate, &v));
        for (int i = 0; i < WORKERS; i++) {
            pid_t p = fork();
            CHECK_SYS(p);
            if (p == 0) {
                close(pfd[1]);
                worker(i, m, v);
            }
            int32_t pid32 = (int32_t)p;
            write_all(pfd[1], &pid32, sizeof pid32);
        }
        close(pfd[1]);
        CHECK_OK(smem_map_set(m, "go", "1", 1));
        /* Writes until killed, so that it may die in the middle of one. */
        for (;;)
            CHECK_OK(smem_map_incr(m, "master", 1, NULL));
    }
    close(pfd[1]);
    pid_t pids[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        int32_t pid32 = 0;
        CHECK(read_all(pfd[0], &pid32, sizeof pid32) == 0);
        pids[i] = (pid_t)pid32;
    }
    close(pfd[0]);

    /* Kill the master once the workers are about half-way. */
    int64_t t0 = th_now_ms(), total = 0;
    uint64_t seen = 0;
    while ((total = counter(tm, "total", &seen)) < (int64_t)WORKERS * INCRS / 2) {
        CHECKF(th_now_ms() - t0 < 60000, "workers stuck at %" PRId64 " incrs", total);
        smem_map_wait(tm, "total", seen, 100);
    }
    CHECK_SYS(kill(master, SIGKILL));
    int st = th_waitpid(master, 10000);
    CHECKF(!WIFEXITED(st), "the master ended with %s", th_status_str(st));
    int64_t master_incrs = counter(tm, "master", NULL);

    /* The workers are ours now (we are their subreaper). */
    for (int i = 0; i < WORKERS; i++) {
        st = th_waitpid(pids[i], 120000);
        CHECKF(th_exit_code(st) == 0, "worker %d: %s", i, th_status_str(st));
    }
    int64_t ms = th_now_ms() - t0;

    static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};
    smem_map *m = NULL;
    smem_value *v = NULL;
    CHECK_OK(smem_map_open(mname, 0, 0, &nocreate, &m));
    CHECK_OK(smem_value_open(vname, 0, &nocreate, &v));
    CHECK(counter(m, "done", NULL) == WORKERS);
    check_totals(m, v, "master");
    th_log("master: SIGKILLed at %" PRId64 " of %d incrs (after %" PRId64
           " writes of its own); workers finished in %lld ms",
           total, WORKERS * INCRS, master_incrs, (long long)ms);
    smem_map_close(m);
    smem_value_close(v);
    smem_map_close(tm);
    smem_value_close(tv);
    CHECK(!th_shm_exists(mname) && !th_shm_exists(vname));
}

/* ---- case 3 --------------------------------------------------------------- */

#define TAKEOVER_ROUNDS 200
/* The bound is timeout/10: with 5 s, 500 ms, which a loaded 2-core
 * machine under a sanitizer still keeps; takeovers take ~1 ms here. */
#define TAKEOVER_TIMEOUT 5000

static void case_takeover(void)
{
    /* The steps of a set (src/map.c crash_point): even rounds replace a
     * key, odd ones insert one, each going through the steps of its kind. */
    static const char *const replace_points[] = {"locked", "allocated", "written", "linked",
                                                 "bumped", "freeing",   "announced"};
    static const char *const insert_points[] = {"locked", "allocated", "written", "linked",
                                                "bumped", "counted",   "announced"};
    const int npoints = (int)(sizeof replace_points / sizeof replace_points[0]);
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "fkt");
    smem_opts opts = {0, 0, TAKEOVER_TIMEOUT, NULL, NULL};
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 64, MV, &opts, &m));
    CHECK_OK(smem_map_set(m, "victim", "old", 3));

    int64_t elapsed[TAKEOVER_ROUNDS];
    const int bound = TAKEOVER_TIMEOUT / 10 > 100 ? TAKEOVER_TIMEOUT / 10 : 100;
    for (int round = 0; round < TAKEOVER_ROUNDS; round++) {
        const char *point = (round % 2 ? insert_points : replace_points)[round / 2 % npoints];
        int hold[2], pidp[2];
        CHECK_SYS(pipe(hold));
        CHECK_SYS(pipe(pidp));
        pid_t writer = fork();
        CHECK_SYS(writer);
        if (writer == 0) {
            close(hold[1]);
            close(pidp[0]);
            static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};
            smem_map *wm = NULL;
            CHECK_OK(smem_map_open(name, 0, 0, &nocreate, &wm));
            pid_t idle = fork();
            CHECK_SYS(idle);
            if (idle == 0) {
                close(pidp[1]);
                /* Holds wm, inherited; every third round it uses it too. */
                if (round % 3 == 2)
                    busy_until(hold[0], wm);
                idle_until(hold[0]);
            }
            int32_t pid32 = (int32_t)idle;
            write_all(pidp[1], &pid32, sizeof pid32);
            close(pidp[1]);
            CHECK(setenv("SMEM_CRASH_AT", point, 1) == 0);
            char key[32];
            if (round % 2)
                snprintf(key, sizeof key, "new.%d", round);
            else
                snprintf(key, sizeof key, "victim");
            smem_map_set(wm, key, "new value", 9);
            _exit(3); /* not reached with a library built with crash points */
        }
        close(hold[0]);
        close(pidp[1]);
        int32_t idle32 = 0;
        CHECK(read_all(pidp[0], &idle32, sizeof idle32) == 0);
        close(pidp[0]);
        pid_t idle = (pid_t)idle32;
        int st = th_waitpid(writer, 30000);
        CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
               "round %d: the writer meant to die at %s ended with %s", round, point,
               th_status_str(st));
        CHECKF(kill(idle, 0) == 0, "round %d: the idle child is gone", round);

        char val[16];
        int n = snprintf(val, sizeof val, "r%d", round);
        int64_t t0 = th_now_ms();
        int rc = smem_map_set(m, "probe", val, (size_t)n);
        elapsed[round] = th_now_ms() - t0;
        CHECKF(rc != SMEM_ETIMEDOUT,
               "round %d (%s): set timed out after %lld ms while the dead writer's idle child "
               "lives", round, point, (long long)elapsed[round]);
        CHECKF(rc == 0, "round %d: set gave %d (%s)", round, rc, smem_err_name(rc));
        CHECKF(elapsed[round] <= bound, "round %d (%s): the set took %lld ms, over %d ms",
               round, point, (long long)elapsed[round], bound);
        char got[16];
        size_t len = 0;
        CHECK_OK(smem_map_get(m, "probe", got, sizeof got, &len, NULL));
        CHECK(len == (size_t)n && memcmp(got, val, len) == 0);
        CHECK(kill(idle, 0) == 0);

        /* Tell the idle child to go, and reap it (we are its subreaper). */
        close(hold[1]);
        st = th_waitpid(idle, 10000);
        CHECKF(th_exit_code(st) == 0, "round %d: the idle child ended with %s", round,
               th_status_str(st));
        /* Keep the map from filling up with inserted keys. */
        if (round % 2) {
            char key[32];
            snprintf(key, sizeof key, "new.%d", round);
            smem_map_del(m, key);
        }
    }
    qsort(elapsed, TAKEOVER_ROUNDS, sizeof elapsed[0], cmp_i64);
    th_log("takeover: %d writers killed mid-set with an idle or busy forked child alive: the "
           "next set "
           "took median %lld ms, max %lld ms (timeout %d ms, bound %d ms)",
           TAKEOVER_ROUNDS, (long long)elapsed[TAKEOVER_ROUNDS / 2],
           (long long)elapsed[TAKEOVER_ROUNDS - 1], TAKEOVER_TIMEOUT, bound);
    smem_map_close(m);
    CHECK(!th_shm_exists(name));
}

/* ---- case 4 --------------------------------------------------------------- */

#define INIT_ROUNDS 10
#define INIT_TIMEOUT 2000

struct dying_init {
    int hold_fd;  /* the read end the grandchild idles on */
    int pid_fd;   /* where the grandchild's pid goes */
};

static void *forker(void *arg)
{
    struct dying_init *d = arg;
    pid_t g = fork();
    if (g == 0) {
        close(d->pid_fd);
        idle_until(d->hold_fd);
    }
    if (g > 0) {
        int32_t pid32 = (int32_t)g;
        write_all(d->pid_fd, &pid32, sizeof pid32);
    }
    return NULL;
}

static int init_and_die(void *data, size_t size, void *arg)
{
    memset(data, 0xee, size); /* half-initialised garbage */
    pthread_t t;
    if (pthread_create(&t, NULL, forker, arg) != 0)
        _exit(4);
    pthread_join(t, NULL);
    raise(SIGKILL);
    return 0;
}

static int init_mark(void *data, size_t size, void *arg)
{
    (void)arg;
    memset(data, 0x5a, size);
    return 0;
}

static void case_init(void)
{
    int64_t elapsed[INIT_ROUNDS];
    for (int round = 0; round < INIT_ROUNDS; round++) {
        char name[SMEM_NAME_MAX + 1];
        th_name(name, "fki");
        int hold[2], pidp[2];
        CHECK_SYS(pipe(hold));
        CHECK_SYS(pipe(pidp));
        pid_t p = fork();
        CHECK_SYS(p);
        if (p == 0) {
            close(hold[1]);
            close(pidp[0]);
            struct dying_init d = {hold[0], pidp[1]};
            smem_opts opts = {0, 0, 0, init_and_die, &d};
            smem_region *r = NULL;
            smem_region_open(name, 4096, &opts, &r);
            _exit(3); /* not reached */
        }
        close(hold[0]);
        close(pidp[1]);
        int32_t g32 = 0;
        CHECKF(read_all(pidp[0], &g32, sizeof g32) == 0, "round %d: no grandchild pid", round);
        close(pidp[0]);
        pid_t g = (pid_t)g32;
        int st = th_waitpid(p, 30000);
        CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
               "round %d: the creator ended with %s", round, th_status_str(st));
        CHECK(kill(g, 0) == 0);

        smem_opts opts = {0, 0, INIT_TIMEOUT, init_mark, NULL};
        smem_region *r = NULL;
        int64_t t0 = th_now_ms();
        int rc = smem_region_open(name, 4096, &opts, &r);
        elapsed[round] = th_now_ms() - t0;
        CHECKF(rc == 0,
               "round %d: the open after a creator died in init (its forked grandchild alive) "
               "gave %d (%s) after %lld ms",
               round, rc, smem_err_name(rc), (long long)elapsed[round]);
        CHECKF(smem_region_created(r) == 1, "round %d: the next opener did not initialise",
               round);
        const unsigned char *b = smem_region_data(r);
        for (size_t i = 0; i < 4096; i++)
            CHECKF(b[i] == 0x5a, "round %d: byte %zu is %#x after the new init", round, i, b[i]);
        CHECKF(kill(g, 0) == 0, "round %d: the grandchild died", round);

        close(hold[1]);
        st = th_waitpid(g, 10000);
        CHECKF(th_exit_code(st) == 0, "round %d: the grandchild ended with %s", round,
               th_status_str(st));
        smem_region_close(r);
        CHECK(!th_shm_exists(name));
    }
    qsort(elapsed, INIT_ROUNDS, sizeof elapsed[0], cmp_i64);
    th_log("init: %d creators killed in init while a thread forked a long-lived child: the "
           "next open initialised after median %lld ms, max %lld ms (timeout %d ms)",
           INIT_ROUNDS, (long long)elapsed[INIT_ROUNDS / 2], (long long)elapsed[INIT_ROUNDS - 1],
           INIT_TIMEOUT);
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    /* Orphaned grandchildren (of a killed master, writer or creator) are
     * reparented to us, so that we can wait for them and kill them. */
    CHECK_SYS(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    int64_t t0 = th_now_ms();
    case_workers();
    case_master();
    case_takeover();
    case_init();
    th_log("all cases in %lld ms", (long long)(th_now_ms() - t0));
    return 0;
}

#endif
