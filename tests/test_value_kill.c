/* Writers that die or stop in the middle of a set.
 *
 * A writer process sets big self-checking values (256-512 KiB, so that a
 * set spends its time copying) in a loop and is killed (SIGKILL; on
 * Windows TerminateProcess) at a random instant, 1,000 times (400 on
 * Windows), while reader processes get the value nonstop.
 * Readers must never wait long for one get (the worst is measured: wall
 * time, time of gets that slept, CPU time; see MAX_GET_*) and
 * never see anything but whole values, with versions that never go back.
 * After each kill, the value is the last one the dead writer completed (or
 * the one it was setting, if that set was complete), a set from here works
 * within a bounded time, and it is what a get then returns.
 *
 * First, a writer stopped (SIGSTOP; on Windows NtSuspendProcess) inside a
 * set: gets still return at once, and a set from here waits the open's
 * timeout_ms and gives SMEM_ETIMEDOUT.  Last, a persistent value whose only
 * user is killed in mid-set, 30 times: the next process to open it finds
 * the last whole value and sets at once. */
#include "check.h"

#include "test_value_kit.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP (512 * 1024)
/* ThreadSanitizer sees nothing across processes and makes every helper
 * start slowly: fewer kills there (1,000 in every other build).  So does
 * Wine: a round (start a writer, kill it, check) takes 50 ms there, and up
 * to 160 ms on a busy machine (10 to 17 ms on Linux); 400 kills still land
 * some 330 inside a set. */
#if TH_WINDOWS
#define KILLS 400
#elif defined(__SANITIZE_THREAD__)
#define KILLS 250
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KILLS 250
#endif
#endif
#ifndef KILLS
#define KILLS 1000
#endif
#define READERS 2
#define NBLOBS 3
#define PARENT_WRITER 0x40000000u /* + kill number: the parent's values */
/* A get never waits for a writer: one that slept (waited in the kernel)
 * must have been quick, one that did not may only have been preempted (a
 * busy machine stalls anything for tens of milliseconds), but not for
 * long, and no get burns much CPU (retrying). */
#define MAX_GET_NS INT64_C(100000000)        /* 100 ms, for a get that slept */
#define MAX_GET_CPU_NS INT64_C(50000000)     /* 50 ms of CPU, plus: */
#define CPU_FACTOR 200 /* times the CPU a get of CAP bytes costs with no writer about */
#define MAX_GET_PREEMPTED_NS INT64_C(1000000000) /* 1 s, for any get */
/* Gets per process that may exceed the CPU limit.  On this shared VM a get
 * is now and then charged CPU time it did not use (tv_meter_stop drops what
 * exceeds its wall time, as in 183 ms in 69 us): 61 ms for a get that,
 * counted in an instrumented build, made fewer than 200 attempts of 28 us;
 * under Wine 160 ms for one that made fewer than 100.  A reader that keeps
 * losing the race shows as many such gets. */
#define MAX_OVER 2
#define MAX_RECOVERY_NS INT64_C(1000000000) /* 1 s: the next set after a death */
#define STOP_TIMEOUT_MS 300

static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};

/* Shared with the writer through a raw region: which set it was in. */
struct ctl {
    uint64_t attempt; /* set number k (1, 2, ...) about to be called */
    uint64_t done;    /* set number k returned 0 */
};

static struct ctl *open_ctl(const char *name, smem_region **r)
{
    CHECK_OK(smem_region_open(name, sizeof(struct ctl), NULL, r));
    return smem_region_data(*r);
}

/* Blob j (0-based) of writer ID: its length is a function of both. */
static size_t blob_len(uint32_t id, int j)
{
    return CAP / 2 + (size_t)(tv_mix(id * 31u + (unsigned)j) % (CAP / 2 + 1));
}

/* writer NAME CTL ID: sets its NBLOBS values in turn until killed. */
static int helper_writer(int argc, char **argv)
{
    CHECK(argc == 3);
    uint32_t id = (uint32_t)tv_num(argv[2]);
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(argv[0], 0, &nocreate, &v));
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(argv[1], &cr);
    unsigned char *blob[NBLOBS];
    for (int j = 0; j < NBLOBS; j++) {
        blob[j] = malloc(CAP);
        CHECK(blob[j]);
        tv_blob_fill(blob[j], blob_len(id, j), id, (uint64_t)j + 1);
    }
    th_say("ready");
    for (uint64_t k = 1;; k++) {
        int j = (int)((k - 1) % NBLOBS);
        __atomic_store_n(&c->attempt, k, __ATOMIC_SEQ_CST);
        int rc = smem_value_set(v, blob[j], blob_len(id, j));
        CHECKF(rc == 0, "writer %u: set #%llu gave %d (%s)", (unsigned)id, (unsigned long long)k,
               rc, smem_err_name(rc));
        __atomic_store_n(&c->done, k, __ATOMIC_SEQ_CST);
    }
}

/* The CPU a get may use: measured in main() (sanitizers make copies slow). */
static int64_t max_cpu_ns = MAX_GET_CPU_NS;

/* Fails unless a get of this cost is one that did not wait for a writer
 * (but excuses MAX_OVER gets over the CPU limit).  Where sleeps are not
 * counted (TV_COUNTS_SLEEPS 0) only the CPU and the wall-time bounds
 * apply. */
static void judge_cost(const char *who, tv_cost c)
{
    static int over;
    CHECKF(c.sleeps == 0 || c.wall_ns < MAX_GET_NS,
           "%s: a get slept %ld times and took %lld us: it waited for a writer", who, c.sleeps,
           (long long)(c.wall_ns / 1000));
    if (c.cpu_ns >= max_cpu_ns) {
        over++;
        CHECKF(over <= MAX_OVER,
               "%s: %d gets used more than %lld us of CPU (retrying?), the last %lld us in "
               "%lld us",
               who, over, (long long)(max_cpu_ns / 1000), (long long)(c.cpu_ns / 1000),
               (long long)(c.wall_ns / 1000));
        th_log("%s: a get was charged %lld us of CPU in %lld us (limit %lld us): excused, %d "
               "of %d",
               who, (long long)(c.cpu_ns / 1000), (long long)(c.wall_ns / 1000),
               (long long)(max_cpu_ns / 1000), over, MAX_OVER);
    }
    CHECKF(c.wall_ns < MAX_GET_PREEMPTED_NS, "%s: a get took %lld us", who,
           (long long)(c.wall_ns / 1000));
}

/* reader NAME ID MAX_CPU_NS: gets until stdin closes; says
 * "reads N changes C wall_us W slept_us S cpu_us C". */
static int helper_reader(int argc, char **argv)
{
    CHECK(argc == 3);
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(argv[0], 0, &nocreate, &v));
    max_cpu_ns = (int64_t)tv_num(argv[2]);
    char who[64];
    snprintf(who, sizeof who, "reader %s", argv[1]);
    tv_observer o;
    memset(&o, 0, sizeof o);
    o.who = who;
    unsigned char *buf = malloc(CAP);
    CHECK(buf);
    int64_t worst_wall = 0, worst_slept = 0, worst_cpu = 0;
    th_say("ready");
    for (unsigned long i = 0;; i++) {
        if ((i & 3) == 0 && th_listen_ready())
            break;
        size_t len;
        uint64_t ver;
        tv_meter m;
        tv_meter_start(&m);
        int rc = smem_value_get(v, buf, CAP, &len, &ver);
        tv_cost c = tv_meter_stop(&m);
        CHECKF(rc == 0, "%s: get gave %d (%s)", who, rc, smem_err_name(rc));
        judge_cost(who, c);
        if (c.wall_ns > worst_wall)
            worst_wall = c.wall_ns;
        if (c.sleeps && c.wall_ns > worst_slept)
            worst_slept = c.wall_ns;
        if (c.cpu_ns > worst_cpu)
            worst_cpu = c.cpu_ns;
        tv_observe(&o, buf, len, ver);
    }
    th_say("reads %llu changes %llu wall_us %lld slept_us %lld cpu_us %lld",
           (unsigned long long)o.reads, (unsigned long long)o.changes,
           (long long)(worst_wall / 1000), (long long)(worst_slept / 1000),
           (long long)(worst_cpu / 1000));
    free(buf);
    smem_value_close(v);
    return 0;
}

static const th_helper helpers[] = {
    {"writer", helper_writer},
    {"reader", helper_reader},
    {NULL, NULL},
};

/* ---- parent ----------------------------------------------------------- */

static unsigned char *buf;

/* A get from here: whole, quick; returns its identity and version. */
static tv_id get_checked(smem_value *v, tv_observer *o, uint64_t *version)
{
    size_t len;
    tv_meter m;
    tv_meter_start(&m);
    int rc = smem_value_get(v, buf, CAP, &len, version);
    tv_cost c = tv_meter_stop(&m);
    CHECKF(rc == 0, "get gave %d (%s)", rc, smem_err_name(rc));
    judge_cost("parent", c);
    tv_observe(o, buf, len, *version);
    return o->id;
}

/* A get of CAP bytes into buf, for tv_average_cpu_ns. */
static void quiet_get(void *v, unsigned long i)
{
    (void)i;
    size_t len;
    CHECK_OK(smem_value_get(v, buf, CAP, &len, NULL));
}

static void spawn_writer(th_proc *w, const char *name, const char *ctlname, uint32_t id)
{
    char idbuf[16];
    snprintf(idbuf, sizeof idbuf, "%u", (unsigned)id);
    th_spawn(w, -1, "writer", name, ctlname, idbuf, NULL);
}

/* A writer stopped inside a set holds up other writers (until their
 * timeout) but no reader. */
static void test_stopped_writer(const char *name, const char *ctlname, struct ctl *c,
                                tv_observer *o)
{
    smem_value *v = NULL;
    const smem_opts quick = {SMEM_NOCREATE, 0, STOP_TIMEOUT_MS, NULL, NULL};
    CHECK_OK(smem_value_open(name, 0, &quick, &v));
    th_proc w;
    c->attempt = c->done = 0;
    spawn_writer(&w, name, ctlname, 1);
    th_expect(&w, "ready", 20000);
    tv_rng rng;
    tv_seed(&rng, 99);
    int tries = 0, inside = 0, timeouts = 0;
    while (timeouts < 3 && tries < 60) {
        tries++;
        tv_sleep_us((long)tv_below(&rng, 2000));
        tv_pause_process(&w);
        uint64_t a = __atomic_load_n(&c->attempt, __ATOMIC_SEQ_CST);
        uint64_t d = __atomic_load_n(&c->done, __ATOMIC_SEQ_CST);
        if (a != d) {
            inside++;
            uint64_t ver;
            get_checked(v, o, &ver); /* at once (checked inside) */
            unsigned char small[64];
            tv_blob_fill(small, sizeof small, PARENT_WRITER, (uint64_t)tries);
            int64_t t0 = tv_now_ns();
            int rc = smem_value_set(v, small, sizeof small);
            int64_t t = tv_now_ns() - t0;
            if (rc == SMEM_ETIMEDOUT) {
                timeouts++;
                CHECKF(t >= (int64_t)(STOP_TIMEOUT_MS - 50) * 1000000 &&
                           t <= (int64_t)(STOP_TIMEOUT_MS + 2000) * 1000000,
                       "a set held up by a stopped writer gave up after %lld ms (timeout_ms %d)",
                       (long long)(t / 1000000), STOP_TIMEOUT_MS);
                get_checked(v, o, &ver); /* still the last whole value */
            } else {
                /* The writer had not taken the lock yet, or had let it go. */
                CHECKF(rc == 0, "set while a writer is stopped gave %d (%s)", rc,
                       smem_err_name(rc));
                CHECKF(t < MAX_RECOVERY_NS, "a set took %lld ms", (long long)(t / 1000000));
            }
        }
        tv_resume_process(&w);
    }
    th_log("stopped a writer %d times, %d inside a set: %d sets timed out after ~%d ms", tries,
           inside, timeouts, STOP_TIMEOUT_MS);
    CHECKF(timeouts >= 1, "no set ever timed out behind a writer stopped inside a set (%d stops "
                          "inside a set)", inside);
    th_kill(&w);
    smem_value_close(v);
}

/* A persistent value whose only user, a writer, is killed in mid-set: the
 * lock it held and the slot it left half-written are in the file for the
 * next process that opens it, which must find the last whole value and
 * set a new one at once.  Where a region goes with its last handle
 * (Windows), a raw handle here holds it, as `sharedmem hold` would: then
 * the writer is the only user of the value itself. */
static void test_killed_alone(const char *ctlname, struct ctl *c)
{
    char pname[SMEM_NAME_MAX + 1];
    th_name(pname, "vkillp");
    const smem_opts persist = {SMEM_PERSIST, 0, 0, NULL, NULL};
    const smem_opts anykind = {SMEM_ANYKIND, 0, 0, NULL, NULL};
    smem_value *v = NULL;
    smem_region *holder = NULL;
    CHECK_OK(smem_value_open(pname, CAP, &persist, &v));
    if (!TV_KERNEL_PERSIST)
        CHECK_OK(smem_region_open(pname, 0, &anykind, &holder));
    tv_blob_fill(buf, 100, PARENT_WRITER, 1);
    CHECK_OK(smem_value_set(v, buf, 100));
    smem_value_close(v);
    tv_id last = {100, PARENT_WRITER, 1};
    tv_observer o;
    memset(&o, 0, sizeof o);
    o.who = "parent (persistent value)";
    tv_rng rng;
    tv_seed(&rng, 77);
    int inside = 0;
    for (int i = 1; i <= 30; i++) {
        uint32_t id = 5000 + (uint32_t)i;
        __atomic_store_n(&c->attempt, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&c->done, 0, __ATOMIC_SEQ_CST);
        th_proc w;
        spawn_writer(&w, pname, ctlname, id);
        th_expect(&w, "ready", 20000);
        tv_sleep_us((long)tv_below(&rng, 2000));
        th_kill(&w);
        uint64_t a = __atomic_load_n(&c->attempt, __ATOMIC_SEQ_CST);
        uint64_t d = __atomic_load_n(&c->done, __ATOMIC_SEQ_CST);
        inside += a != d;
        CHECK(th_shm_exists(pname));

        CHECK_OK(smem_value_open(pname, 0, NULL, &v));
        CHECK_EQ_INT(smem_value_created(v), 0);
        uint64_t ver;
        tv_id seen = get_checked(v, &o, &ver);
        int ok;
        if (seen.writer == id)
            ok = (d > 0 && (d - 1) % NBLOBS == seen.counter - 1) ||
                 (a > d && (a - 1) % NBLOBS == seen.counter - 1);
        else
            ok = d == 0 && tv_id_eq(&seen, &last);
        CHECKF(ok, "persistent value, kill %d: found (writer %u, blob %llu, %zu bytes) after "
                   "set #%llu completed and #%llu began",
               i, (unsigned)seen.writer, (unsigned long long)seen.counter, seen.len,
               (unsigned long long)d, (unsigned long long)a);
        size_t len = 1 + (size_t)tv_below(&rng, 4096);
        tv_blob_fill(buf, len, PARENT_WRITER + 10000 + (uint32_t)i, 1);
        int64_t t0 = tv_now_ns();
        int rc = smem_value_set(v, buf, len);
        int64_t t = tv_now_ns() - t0;
        CHECKF(rc == 0 && t < MAX_RECOVERY_NS,
               "persistent value, kill %d: the next set gave %d (%s) after %lld ms", i, rc,
               smem_err_name(rc), (long long)(t / 1000000));
        last = get_checked(v, &o, &ver);
        CHECK(last.writer == PARENT_WRITER + 10000 + (uint32_t)i && last.len == len);
        smem_value_close(v);
    }
    th_log("persistent value%s: its only user killed 30 times (%d inside a set), recovered "
           "each time",
           holder ? " (held by a raw handle)" : "", inside);
    if (holder)
        smem_region_close(holder);
    else
        CHECK_OK(smem_region_remove(pname));
    CHECK(!th_shm_exists(pname));
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    char name[SMEM_NAME_MAX + 1], ctlname[SMEM_NAME_MAX + 1], line[256];
    th_name(name, "vkill");
    th_name(ctlname, "vkillctl");
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(name, CAP, NULL, &v));
    smem_region *cr = NULL;
    struct ctl *c = open_ctl(ctlname, &cr);
    buf = malloc(CAP);
    unsigned char *mine = malloc(CAP);
    CHECK(buf && mine);
    tv_observer o;
    memset(&o, 0, sizeof o);
    o.who = "parent";
    /* What a get of CAP bytes costs with no writer about; a limit on one
     * get allows for a coarse CPU clock's two ticks (see the kit). */
    tv_blob_fill(mine, CAP, PARENT_WRITER, 1);
    CHECK_OK(smem_value_set(v, mine, CAP));
    int64_t quiet = tv_average_cpu_ns(quiet_get, v, 50);
    max_cpu_ns = MAX_GET_CPU_NS + CPU_FACTOR * quiet + 2 * tv_cpu_tick_ns();
    char cpubuf[32];
    snprintf(cpubuf, sizeof cpubuf, "%lld", (long long)max_cpu_ns);
    th_log("a quiet get of %d KiB costs %lld us of CPU: a get may use %lld us", CAP / 1024,
           (long long)(quiet / 1000), (long long)(max_cpu_ns / 1000));

    tv_blob_fill(mine, 1000, PARENT_WRITER, 1);
    CHECK_OK(smem_value_set(v, mine, 1000));
    uint64_t ver;
    tv_id last_mine = get_checked(v, &o, &ver);

    th_proc r[READERS];
    for (int i = 0; i < READERS; i++) {
        char idbuf[16];
        snprintf(idbuf, sizeof idbuf, "%d", i + 1);
        th_spawn(&r[i], -1, "reader", name, idbuf, cpubuf, NULL);
        th_expect(&r[i], "ready", 20000);
    }

    test_stopped_writer(name, ctlname, c, &o);
    last_mine = get_checked(v, &o, &ver);

    int64_t t_start = th_now_ms(), worst_recovery = 0;
    tv_rng rng;
    tv_seed(&rng, 2024);
    int inside = 0, before_ready = 0;
    for (int i = 1; i <= KILLS; i++) {
        uint32_t id = 100 + (uint32_t)i;
        __atomic_store_n(&c->attempt, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&c->done, 0, __ATOMIC_SEQ_CST);
        th_proc w;
        spawn_writer(&w, name, ctlname, id);
        if (i % 10 == 0) {
            /* Anywhere in its life: opening, preparing, first sets. */
            tv_sleep_us((long)tv_below(&rng, 4000));
            before_ready++;
        } else {
            th_expect(&w, "ready", 20000);
            tv_sleep_us((long)tv_below(&rng, 2500));
        }
        th_kill(&w);
        uint64_t a = __atomic_load_n(&c->attempt, __ATOMIC_SEQ_CST);
        uint64_t d = __atomic_load_n(&c->done, __ATOMIC_SEQ_CST);
        if (a != d)
            inside++;

        /* The value is the last whole one: the dead writer's last complete
         * set, or the one it was in if that got done, or (if it completed
         * none) the value before it. */
        uint64_t before = o.version;
        tv_id seen = get_checked(v, &o, &ver);
        int ok = 0;
        if (seen.writer == id) {
            uint64_t j = seen.counter - 1; /* which of its blobs */
            ok = (d > 0 && (d - 1) % NBLOBS == j) || (a > d && (a - 1) % NBLOBS == j);
        } else {
            ok = d == 0 && tv_id_eq(&seen, &last_mine);
        }
        CHECKF(ok,
               "kill %d: the value after the kill is (writer %u, blob %llu, %zu bytes, version "
               "%llu); the writer had completed set #%llu and was in #%llu (blob = (set-1) %% %d), "
               "the previous value was (writer %u, %zu bytes)",
               i, (unsigned)seen.writer, (unsigned long long)seen.counter, seen.len,
               (unsigned long long)ver, (unsigned long long)d, (unsigned long long)a, NBLOBS,
               (unsigned)last_mine.writer, last_mine.len);
        CHECK(ver >= before);

        /* The next set works, soon, and is what a get returns. */
        size_t len = 1 + (size_t)tv_below(&rng, CAP);
        tv_blob_fill(mine, len, PARENT_WRITER + (uint32_t)i, 1);
        int64_t t0 = tv_now_ns();
        int rc = smem_value_set(v, mine, len);
        int64_t t = tv_now_ns() - t0;
        CHECKF(rc == 0, "kill %d: the set after it gave %d (%s) after %lld ms", i, rc,
               smem_err_name(rc), (long long)(t / 1000000));
        CHECKF(t < MAX_RECOVERY_NS, "kill %d: the set after it took %lld ms", i,
               (long long)(t / 1000000));
        if (t > worst_recovery)
            worst_recovery = t;
        last_mine = get_checked(v, &o, &ver);
        CHECKF(last_mine.writer == PARENT_WRITER + (uint32_t)i && last_mine.len == len,
               "kill %d: after a set of %zu bytes, get returned (writer %u, %zu bytes)", i, len,
               (unsigned)last_mine.writer, last_mine.len);
        CHECK(ver > before);
    }
    int64_t elapsed = th_now_ms() - t_start;
    th_log("%d kills in %lld ms: %d landed inside a set, %d early in the writer's life; worst "
           "set after a kill: %lld us",
           KILLS, (long long)elapsed, inside, before_ready, (long long)(worst_recovery / 1000));
    CHECKF(inside >= KILLS / 4, "only %d of %d kills landed inside a set: the test is not "
                                "testing what it should",
           inside, KILLS);

    for (int i = 0; i < READERS; i++) {
        th_send(&r[i], "stop");
        th_recv(&r[i], line, sizeof line, 20000);
        unsigned long long n, ch;
        long long wall_us, slept_us, cpu_us;
        CHECKF(sscanf(line, "reads %llu changes %llu wall_us %lld slept_us %lld cpu_us %lld", &n,
                      &ch, &wall_us, &slept_us, &cpu_us) == 5,
               "reader said \"%s\"", line);
        th_log("reader %d: %llu whole values, %llu changes; slowest get %lld us (of those that "
               "slept: %lld us), most CPU for one get %lld us",
               i + 1, n, ch, wall_us, slept_us, cpu_us);
        CHECKF(ch >= KILLS / 10, "reader %d saw only %llu changes", i + 1, ch);
        th_wait_ok(&r[i], 20000);
    }
    test_killed_alone(ctlname, c);

    free(buf);
    free(mine);
    smem_region_close(cr);
    smem_value_close(v);
    CHECK(!th_shm_exists(name));
    return 0;
}
