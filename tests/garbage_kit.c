/*
 * garbage_kit.c — the harness shared by the garbage tests
 * (test_value_garbage.c, test_map_garbage.c).
 *
 * Not a test: each garbage test #includes this file after its own kit (it
 * uses test_value_kit.c's tv_num).  A garbage test writes damage into the
 * bytes of a live object and judges every call on it; the damage and the
 * calls run in a worker process that the test watches, so a crash or a hang
 * is reported with the damage that caused it.  The test keeps its own kinds
 * of damage and its own calls; this file gives:
 *
 *   - name, the object under test, and a control region both processes map:
 *     the harness's part (gk: the seed, the damage, the call and when it
 *     began, whether the worker got to the end), then the test's own part;
 *   - begin() and end() around each call (a heartbeat for the watchdog, and
 *     a time limit), gfail() to fail with the damage and the call,
 *     set_what() to name the damage;
 *   - the worker process (gk_helpers, for th_dispatch) and the watchdog
 *     that runs it (gk_watch).
 *
 * The test defines worker(): the damage and the calls, in the worker.
 *
 * A test may #define GK_ITER, the word its messages use for gk->iter
 * (default "round"), before including this file.
 */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef GK_ITER
#define GK_ITER "round"
#endif

#define SLACK_MS 1000 /* how much longer than its timeouts a call may take */
#define HANG_MS 20000 /* the watchdog's limit for one call */

static char name[SMEM_NAME_MAX + 1]; /* the object under test */
static char gk_ctlname[SMEM_NAME_MAX + 1];

/* The harness's part of the control region; the test's part follows it. */
struct gk_ctl {
    /* set before the worker starts */
    uint64_t seed; /* SMEM_FUZZ_SEED overrides the test's default */
    size_t size;   /* of the object's region's data (smem_region_size) */
    /* set by the worker */
    int iter;
    int step;
    int64_t beat_ms; /* when the current call began */
    int done;
    char what[160];
    char call[64];
};
static struct gk_ctl *gk;

/* Maps the control region (of SIZE bytes; 0: the size it has) and sets gk;
 * returns the test's part. */
static void *gk_open_ctl(const char *ctlname, size_t size, smem_region **r)
{
    CHECK_OK(smem_region_open(ctlname, size, NULL, r));
    gk = smem_region_data(*r);
    return gk + 1;
}

/* A raw handle (SMEM_ANYKIND) on the object: it maps the same bytes as the
 * object's own handles.  Returns its data. */
static unsigned char *gk_open_raw(smem_region **r)
{
    const smem_opts anykind = {SMEM_ANYKIND, 0, 0, NULL, NULL};
    CHECK_OK(smem_region_open(name, 0, &anykind, r));
    return smem_region_data(*r);
}

/* ---- the calls, judged ------------------------------------------------ */

static void begin(const char *call)
{
    snprintf(gk->call, sizeof gk->call, "%s", call);
    __atomic_store_n(&gk->beat_ms, th_now_ms(), __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&gk->step, 1, __ATOMIC_SEQ_CST);
}

TH_PRINTF(1, 2) TH_NORETURN static void gfail(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    FAIL("after \"%s\" (" GK_ITER " %d), %s: %s", gk->what, gk->iter, gk->call, msg);
}

/* The call begun at T0 took at most ALLOWED_MS (its timeouts) + SLACK_MS. */
static void end(int64_t t0, int allowed_ms)
{
    int64_t took = th_now_ms() - t0;
    if (took > allowed_ms + SLACK_MS)
        gfail("took %lld ms (allowed %d + %d)", (long long)took, allowed_ms, SLACK_MS);
}

static void set_what(const char *fmt, ...) TH_PRINTF(1, 2);
static void set_what(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(gk->what, sizeof gk->what, fmt, ap);
    va_end(ap);
}

/* ---- the worker and the watchdog -------------------------------------- */

/* The test's side, first: names the object and the control region after
 * TAG, creates the control region with OWN bytes for the test's part
 * (returned) and sets the seed (SMEM_FUZZ_SEED, else SEED). */
static void *gk_setup(const char *tag, size_t own, uint64_t seed, smem_region **ctl)
{
    char ctltag[32];
    snprintf(ctltag, sizeof ctltag, "%sctl", tag);
    th_name(name, tag);
    th_name(gk_ctlname, ctltag);
    void *p = gk_open_ctl(gk_ctlname, sizeof(struct gk_ctl) + own, ctl);
    gk->seed = getenv("SMEM_FUZZ_SEED") ? tv_num(getenv("SMEM_FUZZ_SEED")) : seed;
    return p;
}

/* The test's: does the damage and judges the calls, with OWN, the test's
 * part of the control region, and DATA, the object's bytes (a raw
 * handle's).  Returns 0 when it got to the end. */
static int worker(void *own, unsigned char *data);

/* The helper "worker NAME CTLNAME" that gk_watch starts: maps the control
 * region and the object's bytes, checks they are as many as the test saw,
 * says "ready" and runs worker(). */
static int gk_helper_worker(int argc, char **argv)
{
    CHECK(argc == 2);
    snprintf(name, sizeof name, "%s", argv[0]);
    smem_region *ctl = NULL, *raw = NULL;
    void *own = gk_open_ctl(argv[1], 0, &ctl);
    unsigned char *data = gk_open_raw(&raw);
    CHECK_EQ_SIZE(smem_region_size(raw), gk->size);
    th_say("ready");
    int rc = worker(own, data);
    if (rc == 0)
        __atomic_store_n(&gk->done, 1, __ATOMIC_SEQ_CST);
    smem_region_close(raw);
    smem_region_close(ctl);
    return rc;
}

static const th_helper gk_helpers[] = {
    {"worker", gk_helper_worker},
    {NULL, NULL},
};

/* Runs the worker until it ends (its stdout reaches EOF); fails with what
 * it was doing if it crashes, ends before the end, or hangs in one call for
 * HANG_MS.  Returns how long it ran (ms). */
static int64_t gk_watch(void)
{
    int64_t t_start = th_now_ms();
    th_proc w;
    th_spawn(&w, -1, "worker", name, gk_ctlname, NULL);
    th_expect(&w, "ready", 20000);
    while (!th_ready(&w, 10)) {
        int64_t beat = __atomic_load_n(&gk->beat_ms, __ATOMIC_SEQ_CST);
        if (beat && th_now_ms() - beat > HANG_MS) {
            th_kill(&w);
            FAIL("a call hung for more than %d ms: %s after \"%s\" (" GK_ITER " %d, seed %#llx)",
                 HANG_MS, gk->call, gk->what, gk->iter, (unsigned long long)gk->seed);
        }
    }
    int status = th_wait(&w, 20000);
    if (th_exit_code(status) != 0 || !gk->done)
        FAIL("the worker ended with %s during %s after \"%s\" (" GK_ITER " %d, seed %#llx)",
             th_status_str(status), gk->call, gk->what, gk->iter, (unsigned long long)gk->seed);
    return th_now_ms() - t_start;
}
