/* opts->init: runs once, in the creator, before anyone can attach; waiters
 * time out; a failing init cancels the create; a creator killed inside init
 * hands the job to the next opener. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIZE 4096
#define HELLO "hello from init"

static int init_calls;
static void *init_data;

static int init_hello(void *data, size_t size, void *arg)
{
    init_calls++;
    init_data = data;
    if (size != SIZE || arg != (void *)&init_calls || !th_all_zero(data, size))
        return 1;
    th_pattern(data, size, 20);
    memcpy(data, HELLO, sizeof HELLO);
    return 0;
}

static int init_never(void *data, size_t size, void *arg)
{
    (void)data;
    (void)size;
    (void)arg;
    init_calls++;
    return 0;
}

/* attach NAME: attach without running our init; see the creator's bytes. */
static int helper_attach(int argc, char **argv)
{
    CHECK(argc == 1);
    smem_opts o = {0, 0, 0, init_never, NULL};
    smem_region *r = NULL;
    CHECK_OK(smem_region_open(argv[0], 0, &o, &r));
    CHECK_EQ_INT(smem_region_created(r), 0);
    CHECK_EQ_INT(init_calls, 0);
    CHECK_EQ_STR((const char *)smem_region_data(r), HELLO);
    static unsigned char want[SIZE];
    th_pattern(want, SIZE, 20);
    memcpy(want, HELLO, sizeof HELLO);
    CHECK(memcmp(smem_region_data(r), want, SIZE) == 0);
    smem_region_close(r);
    th_say("ok");
    return 0;
}

static int slow_ms, slow_ret;

static int init_slow(void *data, size_t size, void *arg)
{
    (void)arg;
    if (!th_all_zero(data, size))
        return 1;
    if (slow_ret != 0)
        th_pattern(data, size, 23); /* garbage that must never be seen */
    th_say("in-init");
    th_sleep_ms(slow_ms);
    if (slow_ret == 0)
        th_pattern(data, size, 21);
    return slow_ret;
}

/* slowinit NAME MS RET: create with an init that says "in-init", sleeps MS
 * and returns RET. */
static int helper_slowinit(int argc, char **argv)
{
    CHECK(argc == 3);
    slow_ms = atoi(argv[1]);
    slow_ret = atoi(argv[2]);
    smem_opts o = {0, 0, 0, init_slow, NULL};
    smem_region *r = (smem_region *)1;
    int rc = smem_region_open(argv[0], SIZE, &o, &r);
    if (slow_ret != 0) {
        CHECK_ERR(rc, SMEM_ECANCELED);
        CHECK(r == NULL);
        th_say("cancelled");
        return 0;
    }
    CHECK_OK(rc);
    th_say("opened c%d", smem_region_created(r));
    char line[64];
    while (th_listen(line, sizeof line) == 0) {
    }
    smem_region_close(r);
    return 0;
}

static int init_die(void *data, size_t size, void *arg)
{
    (void)arg;
    th_pattern(data, size, 22);
    th_say("in-init");
    for (;;)
        th_sleep_ms(1000);
    return 1;
}

/* dieinit NAME: create with an init that never returns (we get killed). */
static int helper_dieinit(int argc, char **argv)
{
    CHECK(argc == 1);
    smem_opts o = {0, 0, 0, init_die, NULL};
    smem_region *r = NULL;
    smem_region_open(argv[0], SIZE, &o, &r);
    FAIL("init returned");
}

/* opener NAME TIMEOUT: open and report "rc=R c=C zero=Z ms=T"; close on
 * EOF. */
static int helper_opener(int argc, char **argv)
{
    CHECK(argc == 2);
    smem_opts o = {0, 0, atoi(argv[1]), NULL, NULL};
    smem_region *r = NULL;
    int64_t t0 = th_now_ms();
    int rc = smem_region_open(argv[0], SIZE, &o, &r);
    int64_t ms = th_now_ms() - t0;
    th_say("rc=%d c=%d zero=%d ms=%lld", rc, rc == 0 ? smem_region_created(r) : -1,
           rc == 0 ? th_all_zero(smem_region_data(r), SIZE) : -1, (long long)ms);
    char line[64];
    while (th_listen(line, sizeof line) == 0) {
    }
    smem_region_close(r);
    return 0;
}

static const th_helper helpers[] = {
    {"attach", helper_attach},   {"slowinit", helper_slowinit}, {"dieinit", helper_dieinit},
    {"opener", helper_opener},   {NULL, NULL},
};

static int init_fail_1(void *data, size_t size, void *arg)
{
    (void)arg;
    th_pattern(data, size, 30);
    return 1;
}

static int init_fail_neg(void *data, size_t size, void *arg)
{
    (void)arg;
    th_pattern(data, size, 31);
    return -5;
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    char name[SMEM_NAME_MAX + 1], line[128];
    smem_region *r = NULL, *r2 = NULL;
    th_proc h, h2;

    /* 1. init runs once, in the creator, on zeroed memory; an attacher in
     * another process sees its bytes and does not run its own init. */
    th_name(name, "init");
    smem_opts o = {0, 0, 0, init_hello, &init_calls};
    CHECK_OK(smem_region_open(name, SIZE, &o, &r));
    CHECK_EQ_INT(smem_region_created(r), 1);
    CHECK_EQ_INT(init_calls, 1);
    CHECK(init_data == smem_region_data(r));
    CHECK_EQ_STR((const char *)smem_region_data(r), HELLO);
    th_spawn(&h, -1, "attach", name, NULL);
    th_expect(&h, "ok", 10000);
    th_wait_ok(&h, 10000);
    CHECK_OK(smem_region_open(name, SIZE, &o, &r2));
    CHECK_EQ_INT(smem_region_created(r2), 0);
    CHECK_EQ_INT(init_calls, 1);
    smem_region_close(r2);
    smem_region_close(r);
    CHECK(!th_shm_exists(name));

    /* 2. A slow init (2 s): short waits time out, a default wait (timeout
     * 0 = 5 s) gets the region once init is done. */
    th_name(name, "init");
    th_spawn(&h, -1, "slowinit", name, "2000", "0", NULL);
    th_expect(&h, "in-init", 10000);
    int64_t t_init = th_now_ms();
    {
        smem_info info;
        CHECK_OK(smem_region_stat(name, &info));
        CHECK_EQ_INT(info.state, SMEM_STATE_INITIALISING);
        CHECK_EQ_INT(info.in_use, 1);
        CHECK_EQ_INT(smem_region_gc(name), 0);
        CHECK(th_shm_exists(name));
    }
    const smem_opts quick[] = {
        {0, 0, 200, NULL, NULL},
        {SMEM_NOCREATE, 0, 200, NULL, NULL},
        {SMEM_RDONLY, 0, 200, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof quick / sizeof quick[0]; i++) {
        int64_t t0 = th_now_ms();
        r = (smem_region *)1;
        CHECK_ERR(smem_region_open(name, quick[i].flags ? 0 : SIZE, &quick[i], &r), SMEM_ETIMEDOUT);
        int64_t ms = th_now_ms() - t0;
        CHECK(r == NULL);
        CHECKF(ms >= 150 && ms < 1000, "timeout_ms 200 (flags %#x) returned after %lld ms",
               quick[i].flags, (long long)ms);
    }
    CHECKF(th_now_ms() - t_init < 1900, "the timeouts took too long to test the default wait");
    {
        const smem_opts dflt = {0, 0, 0, NULL, NULL};
        CHECK_OK(smem_region_open(name, SIZE, &dflt, &r));
        int64_t ms = th_now_ms() - t_init;
        CHECK_EQ_INT(smem_region_created(r), 0);
        CHECKF(th_pattern_ok(smem_region_data(r), SIZE, 21),
               "open returned before init was done");
        CHECKF(ms >= 1500 && ms < 4500, "default wait returned %lld ms after init started",
               (long long)ms);
    }
    th_expect(&h, "opened c1", 10000);
    th_wait_ok(&h, 10000);
    CHECK(th_shm_exists(name));
    smem_region_close(r);
    CHECK(!th_shm_exists(name));

    /* 3. init returning nonzero: ECANCELED and nothing left. */
    th_name(name, "init");
    const smem_opts f1 = {0, 0, 0, init_fail_1, NULL};
    const smem_opts fneg = {SMEM_PERSIST, 0, 0, init_fail_neg, NULL};
    r = (smem_region *)1;
    CHECK_ERR(smem_region_open(name, SIZE, &f1, &r), SMEM_ECANCELED);
    CHECK(r == NULL);
    CHECK(!th_shm_exists(name));
    r = (smem_region *)1;
    CHECK_ERR(smem_region_open(name, SIZE, &fneg, &r), SMEM_ECANCELED);
    CHECK(r == NULL);
    CHECK(!th_shm_exists(name));
    CHECK_ERR(smem_region_stat(name, &(smem_info){0}), SMEM_ENOENT);
    CHECK_OK(smem_region_open(name, SIZE, NULL, &r));
    CHECK_EQ_INT(smem_region_created(r), 1);
    CHECKF(th_all_zero(smem_region_data(r), SIZE), "bytes of a cancelled init survived");
    smem_region_close(r);
    CHECK(!th_shm_exists(name));

    /* 3b. A waiter never attaches to a region whose init failed. */
    th_spawn(&h, -1, "slowinit", name, "500", "1", NULL);
    th_expect(&h, "in-init", 10000);
    {
        const smem_opts w = {0, 0, 5000, NULL, NULL};
        r = NULL;
        int rc = smem_region_open(name, SIZE, &w, &r);
        if (rc == 0) {
            CHECKF(smem_region_created(r) == 1, "attached to a region whose init failed");
            CHECKF(th_all_zero(smem_region_data(r), SIZE), "saw the bytes of a failed init");
        } else {
            CHECKF(rc != SMEM_ETIMEDOUT, "waiter timed out although init ended after 500 ms");
            th_log("waiter on a failing init got %s", smem_err_name(rc));
        }
        th_expect(&h, "cancelled", 10000);
        th_wait_ok(&h, 10000);
        smem_region_close(r);
        CHECK(!th_shm_exists(name));
    }

    /* 4. The creator is killed inside init: the next opener initialises. */
    th_name(name, "init");
    th_spawn(&h, -1, "dieinit", name, NULL);
    th_expect(&h, "in-init", 10000);
    th_kill(&h);
    CHECK_OK(smem_region_open(name, SIZE, NULL, &r));
    CHECKF(smem_region_created(r) == 1, "open after the creator died in init did not create");
    CHECKF(th_all_zero(smem_region_data(r), SIZE), "half-initialised bytes survived");
    smem_region_close(r);
    CHECK(!th_shm_exists(name));

    /* 4b. ... also when that opener was already waiting. */
    th_spawn(&h, -1, "dieinit", name, NULL);
    th_expect(&h, "in-init", 10000);
    th_spawn(&h2, -1, "opener", name, "8000", NULL);
    th_sleep_ms(300); /* let it start waiting */
    int64_t t_kill = th_now_ms();
    th_kill(&h);
    th_recv(&h2, line, sizeof line, 10000);
    int64_t waited = th_now_ms() - t_kill;
    int rc = 1, created = -1, zero = -1;
    long long ms = -1;
    CHECKF(sscanf(line, "rc=%d c=%d zero=%d ms=%lld", &rc, &created, &zero, &ms) == 4, "got %s",
           line);
    CHECKF(rc == 0, "waiting opener got %d (%s) after the creator died", rc, smem_err_name(rc));
    CHECKF(created == 1, "waiting opener did not re-initialise");
    CHECKF(zero == 1, "waiting opener saw half-initialised bytes");
    CHECKF(waited < 5000, "waiting opener needed %lld ms after the creator died", (long long)waited);
    CHECK_OK(smem_region_open(name, SIZE, NULL, &r));
    CHECK_EQ_INT(smem_region_created(r), 0);
    th_wait_ok(&h2, 10000);
    smem_region_close(r);
    CHECK(!th_shm_exists(name));
    return 0;
}
