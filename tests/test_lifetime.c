/* Region lifetime: last close removes, death of every user makes it stale,
 * SMEM_PERSIST keeps it, smem_region_remove unlinks only the name.  On
 * Windows a region lives exactly as long as some process holds it, and a
 * name in use cannot be removed: cases 7 to 10 become what that means. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

/* hold NAME SIZE SEED FLAGS: open; if SEED != 0 and we created it, write
 * pattern SEED; say "ready c<created>".  Then obey lines:
 *   check SEED -> "ok"/"bad"   write SEED -> "ok"   exit -> exit(0) without
 *   closing.  EOF -> close and exit 0. */
static int helper_hold(int argc, char **argv)
{
    CHECK(argc == 4);
    size_t size = strtoull(argv[1], NULL, 0);
    unsigned seed = (unsigned)atoi(argv[2]);
    smem_opts o = {(unsigned)atoi(argv[3]), 0, 0, NULL, NULL};
    smem_region *r = NULL;
    CHECK_OK(smem_region_open(argv[0], size, &o, &r));
    size = smem_region_size(r);
    if (seed && smem_region_created(r))
        th_pattern(smem_region_data(r), size, seed);
    th_say("ready c%d", smem_region_created(r));
    char line[128];
    while (th_listen(line, sizeof line) == 0) {
        if (strncmp(line, "check ", 6) == 0) {
            th_say(th_pattern_ok(smem_region_data(r), size, (unsigned)atoi(line + 6)) ? "ok" : "bad");
        } else if (strncmp(line, "write ", 6) == 0) {
            th_pattern(smem_region_data(r), size, (unsigned)atoi(line + 6));
            th_say("ok");
        } else if (strcmp(line, "exit") == 0) {
            exit(0);
        } else {
            FAIL("bad command %s", line);
        }
    }
    smem_region_close(r);
    return 0;
}

static const th_helper helpers[] = {{"hold", helper_hold}, {NULL, NULL}};

static void spawn_hold(th_proc *h, const char *name, size_t size, unsigned seed, unsigned flags,
                       int expect_created)
{
    char s_size[32], s_seed[16], s_flags[16], want[16];
    snprintf(s_size, sizeof s_size, "%zu", size);
    snprintf(s_seed, sizeof s_seed, "%u", seed);
    snprintf(s_flags, sizeof s_flags, "%u", flags);
    th_spawn(h, -1, "hold", name, s_size, s_seed, s_flags, NULL);
    snprintf(want, sizeof want, "ready c%d", expect_created);
    th_expect(h, want, 10000);
}

static void ask(th_proc *h, const char *cmd, const char *reply)
{
    th_send(h, "%s", cmd);
    th_expect(h, reply, 10000);
}

#define SIZE 65536

/* Cases 7 to 10, where a region can outlive its users (POSIX). */
static void persist_and_remove(const char *name, th_proc *h)
{
    smem_region *a = NULL, *b = NULL;

    /* 7. SMEM_PERSIST survives its last close, exit and SIGKILL. */
    const smem_opts persist = {SMEM_PERSIST, 0, 0, NULL, NULL};
    CHECK_OK(smem_region_open(name, SIZE, &persist, &a));
    CHECK_EQ_INT(smem_region_created(a), 1);
    th_pattern(smem_region_data(a), SIZE, 9);
    smem_region_close(a);
    CHECKF(th_shm_exists(name), "persistent region removed by its last close");
    CHECK_OK(smem_region_open(name, 0, NULL, &a));
    CHECKF(smem_region_created(a) == 0, "persistent region re-created");
    CHECK_EQ_SIZE(smem_region_size(a), SIZE);
    CHECKF(th_pattern_ok(smem_region_data(a), SIZE, 9), "persistent region lost its bytes");
    smem_region_close(a);
    CHECK(th_shm_exists(name));
    spawn_hold(&h[0], name, 0, 0, 0, 0);
    ask(&h[0], "check 9", "ok");
    ask(&h[0], "write 10", "ok");
    th_send(&h[0], "exit");
    th_wait_ok(&h[0], 10000);
    CHECK(th_shm_exists(name));
    spawn_hold(&h[0], name, 0, 0, 0, 0);
    ask(&h[0], "check 10", "ok");
    ask(&h[0], "write 11", "ok");
    th_kill(&h[0]);
    CHECK(th_shm_exists(name));
    CHECK_OK(smem_region_open(name, SIZE, NULL, &a));
    CHECKF(smem_region_created(a) == 0, "persistent region re-created after its user was killed");
    CHECK(th_pattern_ok(smem_region_data(a), SIZE, 11));
    smem_region_close(a);
    CHECK_OK(smem_region_remove(name));
    CHECK(!th_shm_exists(name));
    CHECK_ERR(smem_region_remove(name), SMEM_ENOENT);
    CHECK_OK(smem_region_open(name, SIZE, NULL, &a));
    CHECKF(smem_region_created(a) == 1, "open after remove did not create");
    CHECK(th_all_zero(smem_region_data(a), SIZE));
    smem_region_close(a);
    CHECK(!th_shm_exists(name)); /* not persistent any more */

    /* 8. Remove while another process has it open: it keeps its bytes, the
     * name is free, and its later close leaves the new region alone. */
    spawn_hold(&h[0], name, SIZE, 12, 0, 1);
    CHECK_OK(smem_region_remove(name));
    CHECK(!th_shm_exists(name));
    CHECK_OK(smem_region_open(name, SIZE, NULL, &a));
    CHECKF(smem_region_created(a) == 1, "open after remove attached to the removed region");
    CHECK(th_all_zero(smem_region_data(a), SIZE));
    th_pattern(smem_region_data(a), SIZE, 13);
    ask(&h[0], "check 12", "ok");
    ask(&h[0], "write 14", "ok");
    CHECK(th_pattern_ok(smem_region_data(a), SIZE, 13));
    th_wait_ok(&h[0], 10000); /* closes the removed region */
    CHECKF(th_shm_exists(name), "closing a removed region removed the new one");
    CHECK(th_pattern_ok(smem_region_data(a), SIZE, 13));
    CHECK_OK(smem_region_open(name, 0, NULL, &b));
    CHECK_EQ_INT(smem_region_created(b), 0);
    CHECK(th_pattern_ok(smem_region_data(b), SIZE, 13));
    smem_region_close(b);
    smem_region_close(a);
    CHECK(!th_shm_exists(name));

    /* 9. Remove while we hold it ourselves. */
    CHECK_OK(smem_region_open(name, SIZE, NULL, &a));
    th_pattern(smem_region_data(a), SIZE, 15);
    CHECK_OK(smem_region_remove(name));
    CHECK(!th_shm_exists(name));
    CHECK(th_pattern_ok(smem_region_data(a), SIZE, 15));
    th_pattern(smem_region_data(a), SIZE, 16);
    CHECK_OK(smem_region_open(name, SIZE, NULL, &b));
    CHECK_EQ_INT(smem_region_created(b), 1);
    CHECK(th_all_zero(smem_region_data(b), SIZE));
    smem_region_close(a);
    CHECK(th_shm_exists(name));
    smem_region_close(b);
    CHECK(!th_shm_exists(name));

    /* 10. Remove a persistent region held by a helper. */
    spawn_hold(&h[0], name, SIZE, 17, SMEM_PERSIST, 1);
    CHECK_OK(smem_region_remove(name));
    CHECK(!th_shm_exists(name));
    ask(&h[0], "check 17", "ok");
    th_wait_ok(&h[0], 10000);
    CHECK(!th_shm_exists(name));
}

/* Cases 7 to 10 on Windows: SMEM_PERSIST keeps a region only while a
 * holder has it, and removing a name that is in use (even by the caller)
 * gives SMEM_EBUSY and changes nothing. */
static void persist_and_remove_windows(const char *name, th_proc *h)
{
    smem_region *a = NULL;
    const smem_opts persist = {SMEM_PERSIST, 0, 0, NULL, NULL};

    /* 7. With no holder, the last close takes a persistent region too. */
    CHECK_OK(smem_region_open(name, SIZE, &persist, &a));
    CHECK_EQ_INT(smem_region_created(a), 1);
    smem_region_close(a);
    CHECK(!th_shm_exists(name));
    CHECK_ERR(smem_region_remove(name), SMEM_ENOENT);

    /* While its holder is there, it outlives other users' closes, exits
     * and kills. */
    spawn_hold(&h[0], name, SIZE, 9, SMEM_PERSIST, 1);
    spawn_hold(&h[1], name, 0, 0, 0, 0);
    ask(&h[1], "check 9", "ok");
    ask(&h[1], "write 10", "ok");
    th_send(&h[1], "exit");
    th_wait_ok(&h[1], 10000);
    spawn_hold(&h[1], name, 0, 0, 0, 0);
    ask(&h[1], "check 10", "ok");
    th_kill(&h[1]);
    CHECK(th_shm_exists(name));

    /* 8, 10. Remove while another process holds it: EBUSY, no change. */
    CHECK_ERR(smem_region_remove(name), SMEM_EBUSY);
    CHECK_OK(smem_region_open(name, SIZE, NULL, &a));
    CHECKF(smem_region_created(a) == 0, "a refused remove let the region be re-created");
    CHECK(th_pattern_ok(smem_region_data(a), SIZE, 10));

    /* 9. ... and while we hold it ourselves. */
    CHECK_ERR(smem_region_remove(name), SMEM_EBUSY);
    CHECK(th_pattern_ok(smem_region_data(a), SIZE, 10));
    smem_region_close(a);
    ask(&h[0], "check 10", "ok");
    th_wait_ok(&h[0], 10000); /* the holder: the last user */
    CHECK(!th_shm_exists(name));
    CHECK_ERR(smem_region_remove(name), SMEM_ENOENT);
}

#ifdef _WIN32
static void fork_case(const char *name, th_proc *h)
{
    (void)name;
    (void)h;
    th_log("case 11 skipped: Windows has no fork()");
}
#else
/* Case 11 (fork). */
static void fork_case(const char *name, th_proc *h)
{
    smem_region *a = NULL, *b = NULL;

    /* 11. A child forked (not exec'd) while we hold the region, which never
     * touches it, is a user of its own: it holds none of our locks (others
     * can open the region at once after we close it), and it keeps the
     * region alive for as long as it lives, and not longer. */
    CHECK_OK(smem_region_open(name, SIZE, NULL, &a));
    {
        int p[2];
        CHECK_SYS(pipe2(p, O_CLOEXEC));
        fflush(NULL);
        pid_t child = fork();
        CHECK_SYS(child);
        if (child == 0) { /* an unrelated worker: waits, then exits */
            char ch;
            close(p[1]);
            while (read(p[0], &ch, 1) < 0 && errno == EINTR) {
            }
            _exit(0);
        }
        close(p[0]);
        spawn_hold(&h[0], name, 0, 0, 0, 0); /* after the fork: the child has no pipe to it */
        smem_region_close(a);
        const smem_opts quick = {0, 0, 1000, NULL, NULL};
        int64_t t0 = th_now_ms();
        int rc = smem_region_open(name, 0, &quick, &b);
        CHECKF(rc == 0, "open after closing a region held across fork() gave %d (%s) after %lld ms",
               rc, smem_err_name(rc), (long long)(th_now_ms() - t0));
        CHECK_EQ_INT(smem_region_created(b), 0);
        smem_region_close(b);
        th_wait_ok(&h[0], 10000);
        smem_info info;
        CHECK_OK(smem_region_stat(name, &info));
        CHECKF(info.in_use == 1 && info.state == SMEM_STATE_READY,
               "the forked child does not keep the region alive (in use %d, state %d)",
               info.in_use, (int)info.state);
        close(p[1]);
        int st = th_waitpid(child, 10000);
        CHECK_EQ_INT(th_exit_code(st), 0);
        CHECK_OK(smem_region_stat(name, &info));
        CHECKF(info.in_use == 0 && info.state == SMEM_STATE_STALE,
               "the forked child still counts as a user after it exited (in use %d, state %d)",
               info.in_use, (int)info.state);
        CHECK_EQ_INT(smem_region_gc(name), 1);
    }
}
#endif

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    char name[SMEM_NAME_MAX + 1];
    smem_region *a = NULL, *b = NULL;
    th_proc h[3];

    /* 1. The last close removes the file. */
    th_name(name, "life");
    CHECK_OK(smem_region_open(name, SIZE, NULL, &a));
    CHECK(th_shm_exists(name));
    smem_region_close(a);
    CHECK(!th_shm_exists(name));

    /* 2. Two handles in one process: closing one keeps the region. */
    CHECK_OK(smem_region_open(name, SIZE, NULL, &a));
    CHECK_EQ_INT(smem_region_created(a), 1);
    th_pattern(smem_region_data(a), SIZE, 3);
    CHECK_OK(smem_region_open(name, SIZE, NULL, &b));
    CHECK_EQ_INT(smem_region_created(b), 0);
    smem_region_close(a);
    CHECK(th_shm_exists(name));
    CHECK(th_pattern_ok(smem_region_data(b), SIZE, 3));
    CHECK_OK(smem_region_open(name, 0, NULL, &a));
    CHECK_EQ_INT(smem_region_created(a), 0);
    CHECK(th_pattern_ok(smem_region_data(a), SIZE, 3));
    smem_region_close(b);
    smem_region_close(a);
    CHECK(!th_shm_exists(name));

    /* 2b. An onlooker (stat, ls) that has the object open at the last
     * close does not keep the region: the next opener gets a new, zeroed
     * one.  (On Windows the onlooker's handle keeps the old section, and
     * with it the name, alive; the library must not attach to it.)  The
     * same for a persistent region that nobody holds on Windows. */
    for (int persist = 0; persist <= TH_WINDOWS; persist++) {
        smem_opts o = {persist ? SMEM_PERSIST : 0, 0, 0, NULL, NULL};
        CHECK_OK(smem_region_open(name, SIZE, &o, &a));
        th_pattern(smem_region_data(a), SIZE, 6);
        void *look = th_shm_look(name);
        smem_region_close(a);
        CHECK_OK(smem_region_open(name, SIZE, &o, &a));
        CHECKF(smem_region_created(a) == 1, "an onlooker kept a region alive (persist %d)",
               persist);
        CHECK(th_all_zero(smem_region_data(a), SIZE));
        th_shm_let_go(look);
        smem_region_close(a);
        if (persist && !TH_WINDOWS)
            CHECK_OK(smem_region_remove(name));
        CHECK(!th_shm_exists(name));
    }

    /* 3. We create, a helper attaches, we close first: still there. */
    CHECK_OK(smem_region_open(name, SIZE, NULL, &a));
    th_pattern(smem_region_data(a), SIZE, 4);
    spawn_hold(&h[0], name, 0, 0, 0, 0);
    smem_region_close(a);
    CHECK(th_shm_exists(name));
    ask(&h[0], "check 4", "ok");
    th_wait_ok(&h[0], 10000); /* it closes on EOF: the last user */
    CHECK(!th_shm_exists(name));

    /* 4. A helper creates, we attach, it closes first. */
    spawn_hold(&h[0], name, SIZE, 5, 0, 1);
    CHECK_OK(smem_region_open(name, SIZE, NULL, &a));
    CHECK_EQ_INT(smem_region_created(a), 0);
    CHECK(th_pattern_ok(smem_region_data(a), SIZE, 5));
    th_wait_ok(&h[0], 10000);
    CHECK(th_shm_exists(name));
    CHECK(th_pattern_ok(smem_region_data(a), SIZE, 5));
    smem_region_close(a);
    CHECK(!th_shm_exists(name));

    /* 5. A user that exits without closing is not the last user while we
     * hold the region; once it is the only user, its exit makes the region
     * stale: the next open creates it anew, zeroed. */
    CHECK_OK(smem_region_open(name, SIZE, NULL, &a));
    spawn_hold(&h[0], name, 0, 0, 0, 0);
    th_send(&h[0], "exit");
    th_wait_ok(&h[0], 10000);
    CHECK(th_shm_exists(name));
    smem_region_close(a);
    CHECK(!th_shm_exists(name));
    spawn_hold(&h[0], name, SIZE, 6, 0, 1);
    th_send(&h[0], "exit");
    th_wait_ok(&h[0], 10000);
    CHECK_OK(smem_region_open(name, SIZE, NULL, &a));
    CHECKF(smem_region_created(a) == 1, "region of an exited user was not re-created");
    CHECKF(th_all_zero(smem_region_data(a), SIZE), "re-created region is not zeroed");
    smem_region_close(a);
    CHECK(!th_shm_exists(name));

    /* 6. SIGKILL every user: the next open re-creates it, zeroed. */
    spawn_hold(&h[0], name, SIZE, 7, 0, 1);
    spawn_hold(&h[1], name, 0, 0, 0, 0);
    spawn_hold(&h[2], name, SIZE, 0, 0, 0);
    ask(&h[2], "check 7", "ok");
    for (int i = 0; i < 3; i++)
        th_kill(&h[i]);
    CHECK_OK(smem_region_open(name, SIZE, NULL, &a));
    CHECKF(smem_region_created(a) == 1, "region whose users were all killed was not re-created");
    CHECKF(th_all_zero(smem_region_data(a), SIZE), "re-created region still holds the old bytes");
    smem_region_close(a);
    CHECK(!th_shm_exists(name));

    /* 6b. A stale region is new to its next opener: any size goes, and a
     * NOCREATE open does not attach to the dead bytes. */
    spawn_hold(&h[0], name, SIZE, 8, 0, 1);
    spawn_hold(&h[1], name, 0, 0, 0, 0);
    th_kill(&h[0]);
    th_kill(&h[1]);
    {
        const smem_opts nc = {SMEM_NOCREATE, 0, 0, NULL, NULL};
        int rc = smem_region_open(name, 0, &nc, &a);
        CHECKF(rc == SMEM_ENOENT, "NOCREATE open of a stale region: %d (%s), expected ENOENT", rc,
               smem_err_name(rc));
    }
    CHECK_OK(smem_region_open(name, 4096, NULL, &a));
    CHECK_EQ_INT(smem_region_created(a), 1);
    CHECK_EQ_SIZE(smem_region_size(a), 4096);
    CHECK(th_all_zero(smem_region_data(a), 4096));
    smem_region_close(a);
    CHECK(!th_shm_exists(name));

    if (TH_WINDOWS)
        persist_and_remove_windows(name, h);
    else
        persist_and_remove(name, h);
    fork_case(name, h);
    return 0;
}
