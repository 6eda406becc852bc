/* SMEM_NOCREATE, SMEM_EXCL, SMEM_RDONLY, SMEM_ANYKIND. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <signal.h>
#include <unistd.h>
#endif

#define SIZE 8192

static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};
static const smem_opts excl = {SMEM_EXCL, 0, 0, NULL, NULL};
static const smem_opts rdonly = {SMEM_RDONLY, 0, 0, NULL, NULL};
static const smem_opts anykind = {SMEM_ANYKIND, 0, 0, NULL, NULL};

/* hold NAME SEED: create, write pattern SEED, say "ready", close on EOF. */
static int helper_hold(int argc, char **argv)
{
    CHECK(argc == 2);
    smem_region *r = NULL;
    CHECK_OK(smem_region_open(argv[0], SIZE, NULL, &r));
    th_pattern(smem_region_data(r), SIZE, (unsigned)atoi(argv[1]));
    th_say("ready");
    char line[64];
    while (th_listen(line, sizeof line) == 0) {
    }
    smem_region_close(r);
    return 0;
}

/* rdwrite NAME: open read-only and write: must die of SIGSEGV (an access
 * violation on Windows). */
static int helper_rdwrite(int argc, char **argv)
{
    CHECK(argc == 1);
    smem_region *r = NULL;
    CHECK_OK(smem_region_open(argv[0], 0, &rdonly, &r));
    th_say("opened");
    volatile unsigned char *d = smem_region_data(r);
    d[10] = 0x42;
    th_say("wrote");
    return 0;
}

#ifdef _WIN32
static void write_in_fork(smem_region *ro)
{
    (void)ro;
    th_log("skipped: writing through a read-only handle in a forked child (no fork())");
}
#else
/* A forked child writing through our read-only handle RO dies of SIGSEGV. */
static void write_in_fork(smem_region *ro)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK_SYS(pid);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        ((volatile unsigned char *)smem_region_data(ro))[0] = 0;
        _exit(0);
    }
    int st = th_waitpid(pid, 10000);
    CHECKF(th_was_segv(st), "child ended with %s", th_status_str(st));
}
#endif

static const th_helper helpers[] = {
    {"hold", helper_hold},
    {"rdwrite", helper_rdwrite},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    char name[SMEM_NAME_MAX + 1];
    smem_region *r = NULL, *r2 = NULL;
    th_proc h;

    /* ---- NOCREATE ---- */
    th_name(name, "flags");
    r = (smem_region *)1;
    CHECK_ERR(smem_region_open(name, SIZE, &nocreate, &r), SMEM_ENOENT);
    CHECK(r == NULL);
    CHECK_ERR(smem_region_open(name, 0, &nocreate, &r), SMEM_ENOENT);
    CHECK(!th_shm_exists(name));
    CHECK_OK(smem_region_open(name, SIZE, NULL, &r));
    th_pattern(smem_region_data(r), SIZE, 1);
    CHECK_OK(smem_region_open(name, 0, &nocreate, &r2));
    CHECK_EQ_INT(smem_region_created(r2), 0);
    CHECK(th_pattern_ok(smem_region_data(r2), SIZE, 1));
    smem_region_close(r2);
    CHECK_OK(smem_region_open(name, SIZE, &nocreate, &r2));
    smem_region_close(r2);
    CHECK_ERR(smem_region_open(name, SIZE + 1, &nocreate, &r2), SMEM_EMISMATCH);
    smem_region_close(r);
    CHECK(!th_shm_exists(name));
    CHECK_ERR(smem_region_open(name, 0, &nocreate, &r2), SMEM_ENOENT);

    /* ---- EXCL ---- */
    CHECK_OK(smem_region_open(name, SIZE, &excl, &r));
    CHECK_EQ_INT(smem_region_created(r), 1);
    th_pattern(smem_region_data(r), SIZE, 2);
    r2 = (smem_region *)1;
    CHECK_ERR(smem_region_open(name, SIZE, &excl, &r2), SMEM_EEXIST);
    CHECK(r2 == NULL);
    CHECK(th_pattern_ok(smem_region_data(r), SIZE, 2));
    smem_region_close(r);
    CHECK(!th_shm_exists(name));
    /* held by another process */
    th_spawn(&h, -1, "hold", name, "3", NULL);
    th_expect(&h, "ready", 10000);
    CHECK_ERR(smem_region_open(name, SIZE, &excl, &r2), SMEM_EEXIST);
    CHECK_OK(smem_region_open(name, 0, NULL, &r2));
    CHECKF(th_pattern_ok(smem_region_data(r2), SIZE, 3), "EXCL attempt damaged the region");
    smem_region_close(r2);
    th_wait_ok(&h, 10000);
    CHECK(!th_shm_exists(name));
    /* persistent, no user: it exists (not on Windows, where it went with
     * its last close) */
    if (!TH_WINDOWS) {
        const smem_opts persist = {SMEM_PERSIST, 0, 0, NULL, NULL};
        CHECK_OK(smem_region_open(name, SIZE, &persist, &r));
        smem_region_close(r);
        CHECK_ERR(smem_region_open(name, SIZE, &excl, &r2), SMEM_EEXIST);
        CHECK_OK(smem_region_remove(name));
    }
    /* stale (its only user was killed): does not exist any more */
    th_spawn(&h, -1, "hold", name, "4", NULL);
    th_expect(&h, "ready", 10000);
    th_kill(&h);
    CHECK_OK(smem_region_open(name, SIZE, &excl, &r));
    CHECK_EQ_INT(smem_region_created(r), 1);
    CHECK(th_all_zero(smem_region_data(r), SIZE));
    smem_region_close(r);
    CHECK(!th_shm_exists(name));

    /* ---- RDONLY ---- */
    r = (smem_region *)1;
    CHECK_ERR(smem_region_open(name, 0, &rdonly, &r), SMEM_ENOENT);
    CHECK(r == NULL);
    CHECK_ERR(smem_region_open(name, SIZE, &rdonly, &r), SMEM_ENOENT);
    CHECKF(!th_shm_exists(name), "RDONLY created a region");
    const smem_opts rdonly_excl = {SMEM_RDONLY | SMEM_EXCL, 0, 0, NULL, NULL};
    CHECK(smem_region_open(name, SIZE, &rdonly_excl, &r) < 0);
    CHECKF(!th_shm_exists(name), "RDONLY|EXCL created a region");

    CHECK_OK(smem_region_open(name, SIZE, NULL, &r));
    th_pattern(smem_region_data(r), SIZE, 5);
    CHECK_OK(smem_region_open(name, 0, &rdonly, &r2));
    CHECK_EQ_INT(smem_region_created(r2), 0);
    CHECK_EQ_SIZE(smem_region_size(r2), SIZE);
    CHECK(th_pattern_ok(smem_region_data(r2), SIZE, 5));
    th_pattern(smem_region_data(r), SIZE, 6); /* writes are seen through it */
    CHECK(th_pattern_ok(smem_region_data(r2), SIZE, 6));
    {
        smem_region *r3 = (smem_region *)1;
        CHECK_ERR(smem_region_open(name, SIZE * 2, &rdonly, &r3), SMEM_EMISMATCH);
        CHECK(r3 == NULL);
    }
    /* Writing through a read-only mapping faults. */
    th_spawn(&h, -1, "rdwrite", name, NULL);
    th_expect(&h, "opened", 10000);
    {
        pid_t pid = h.pid;
        int st = th_wait(&h, 10000);
        CHECKF(th_was_segv(st),
               "helper %d writing to a RDONLY region ended with %s, expected SIGSEGV", (int)pid,
               th_status_str(st));
    }
    CHECK(th_pattern_ok(smem_region_data(r), SIZE, 6));
    write_in_fork(r2);
    CHECK(th_pattern_ok(smem_region_data(r), SIZE, 6));
    /* A read-only user counts as a user. */
    smem_region_close(r);
    CHECKF(th_shm_exists(name), "region removed while a read-only user holds it");
    CHECK(th_pattern_ok(smem_region_data(r2), SIZE, 6));
    CHECK_OK(smem_region_open(name, 0, NULL, &r));
    CHECK_EQ_INT(smem_region_created(r), 0);
    smem_region_close(r);
    smem_region_close(r2);
    CHECK(!th_shm_exists(name));

    /* ---- ANYKIND: attaches to a region, never creates ---- */
    CHECK_ERR(smem_region_open(name, 0, &anykind, &r), SMEM_ENOENT);
    CHECK_ERR(smem_region_open(name, SIZE, &anykind, &r), SMEM_ENOENT);
    CHECK(!th_shm_exists(name));
    CHECK_OK(smem_region_open(name, SIZE, NULL, &r));
    th_pattern(smem_region_data(r), SIZE, 7);
    CHECK_OK(smem_region_open(name, 0, &anykind, &r2));
    CHECK_EQ_INT(smem_region_created(r2), 0);
    CHECK_EQ_SIZE(smem_region_size(r2), SIZE);
    CHECK(th_pattern_ok(smem_region_data(r2), SIZE, 7));
    smem_region_close(r2);
    smem_region_close(r);
    CHECK(!th_shm_exists(name));
    return 0;
}
