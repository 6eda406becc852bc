/* Hostile peers (issue #10, promises 3-7 on Linux):
 *
 *   1. shrink   another process truncates a region's file (to 0 bytes, 64
 *               bytes, a page, one byte short; rounds of their own) while
 *               2 processes get/set in a loop on a map
 *               and on a value: every call then gives SMEM_EBADREGION, no
 *               process dies of a signal, the name can be removed and
 *               re-created.  A program that installed its own SIGBUS
 *               handler before opening regions still gets its own faults
 *               outside regions, and none from inside a truncated region.
 *   2. newfile  a descriptor kept from a 0666 region (removed by its last
 *               close, or made stale by SIGKILL) sees none of the bytes
 *               that the 0600 region re-created under the name holds.
 *   3. readers  (root) uid nobody, with read access to 0644 regions, holds
 *               flock and OFD read locks on every byte range it can: the
 *               owner's open, get, set, remove and takeover of a killed
 *               writer do not wait.  The lock file is 0600 and nobody
 *               cannot open it.
 *   4. scribble garbage count, free list and lock-owner word in a map's
 *               header: the next writer repairs them.
 *   5. gc       (root) smem_region_gc(NULL) in a private /dev/shm (a mount
 *               namespace of its own) removes the stale region only.
 *
 * Exit 77 only if every case skipped. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* memmem, unshare */
#endif
#include "check.h"

#ifdef _WIN32
int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    SKIP("Linux only: files in /dev/shm, fork, SIGBUS, uids, mount namespaces");
}
#else

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HDR 128 /* region header before the data */

static int ran, skipped, failures;

/* A failure that lets the other cases run; the test still fails at the end. */
#define SOFT(cond, ...)                                                        \
    do {                                                                       \
        if (!(cond)) {                                                         \
            th_log("FAILED (line %d): ", __LINE__);                            \
            th_log(__VA_ARGS__);                                               \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static char *lockpath(char *buf, const char *name)
{
    snprintf(buf, 128, "/dev/shm/smem.-lock.%s", name);
    return buf;
}

/* fork + pipe: the child writes one byte when ready. */
static pid_t fork_ready(int *rfd, int (*fn)(int wfd, void *arg), void *arg)
{
    int p[2];
    CHECK_SYS(pipe(p));
    fflush(NULL);
    pid_t pid = fork();
    CHECK_SYS(pid);
    if (pid == 0) {
        close(p[0]);
        _exit(fn(p[1], arg));
    }
    close(p[1]);
    *rfd = p[0];
    return pid;
}

static void wait_byte(int fd, const char *what)
{
    char c;
    ssize_t n;
    while ((n = read(fd, &c, 1)) < 0 && errno == EINTR) {
    }
    CHECKF(n == 1, "%s: child did not get ready", what);
}

/* ==== 1. shrink ========================================================= */

struct loop_arg {
    const char *name;
    int is_map;
};

static int nop_fn(const char *k, const void *v, size_t l, uint64_t ver, void *a)
{
    (void)k, (void)v, (void)l, (void)ver, (void)a;
    return 0;
}

/* Every call on a lost handle; returns the number that did not give
 * SMEM_EBADREGION (and says which on stderr). */
static int all_bad_map(smem_map *m, const char *who)
{
    int bad = 0;
    char buf[64];
    size_t len;
    uint64_t ver;
    int rc;
#define EXPECT_BAD(call)                                                       \
    do {                                                                       \
        rc = (call);                                                           \
        if (rc != SMEM_EBADREGION) {                                           \
            fprintf(stderr, "%s: %s gave %d (%s)\n", who, #call, rc,           \
                    smem_err_name(rc));                                        \
            bad++;                                                             \
        }                                                                      \
    } while (0)
    EXPECT_BAD(smem_map_get(m, "k1", buf, sizeof buf, &len, &ver));
    EXPECT_BAD(smem_map_get(m, "absent", buf, sizeof buf, &len, &ver));
    EXPECT_BAD(smem_map_set(m, "k1", "x", 1));
    EXPECT_BAD(smem_map_set(m, "newkey", "x", 1));
    EXPECT_BAD(smem_map_del(m, "k2"));
    EXPECT_BAD(smem_map_add(m, "addkey", "x", 1));
    EXPECT_BAD(smem_map_cas(m, "k3", 1, "x", 1));
    EXPECT_BAD(smem_map_incr(m, "ctr", 1, NULL));
    EXPECT_BAD(smem_map_count(m));
    EXPECT_BAD(smem_map_foreach(m, nop_fn, NULL));
    EXPECT_BAD(smem_map_wait(m, NULL, smem_map_version(m), 10));
    return bad;
}

static int all_bad_value(smem_value *v, const char *who)
{
    int bad = 0, rc;
    char buf[256];
    size_t len;
    uint64_t ver;
    len = 0, ver = 0;
    EXPECT_BAD(smem_value_get(v, buf, sizeof buf, &len, &ver));
    if (rc == 0)
        fprintf(stderr, "%s: (that get gave len %zu, version %llu)\n", who, len,
                (unsigned long long)ver);
    EXPECT_BAD(smem_value_set(v, "hello", 5));
    EXPECT_BAD(smem_value_wait(v, smem_value_version(v), 10));
    EXPECT_BAD(smem_value_get(v, buf, sizeof buf, &len, &ver));
    return bad;
}

/* Exit codes: 0 saw SMEM_EBADREGION and then every call gave it; 2 never
 * saw it (10 s); 3 a call gave something else first; 4 some call after
 * gave something else; 5 open failed. */
static int shrink_loop(int wfd, void *varg)
{
    struct loop_arg *a = varg;
    const smem_opts o = {SMEM_NOCREATE, 0, 1000, NULL, NULL};
    smem_map *m = NULL;
    smem_value *v = NULL;
    smem_region *raw = NULL;
    int rc = a->is_map ? smem_map_open(a->name, 0, 0, &o, &m)
                       : smem_value_open(a->name, 0, &o, &v);
    if (rc != 0) {
        fprintf(stderr, "loop open %s: %s\n", a->name, smem_err_name(rc));
        return 5;
    }
    const smem_opts any = {SMEM_ANYKIND, 0, 1000, NULL, NULL};
    if ((rc = smem_region_open(a->name, 0, &any, &raw)) != 0) {
        fprintf(stderr, "loop raw open %s: %s\n", a->name, smem_err_name(rc));
        return 5;
    }
    int64_t end = th_now_ms() + 10000;
    long i = 0;
    int first = 0;
    char buf[256];
    size_t len;
    while (th_now_ms() < end) {
        char key[16], val[32];
        snprintf(key, sizeof key, "k%ld", i % 8);
        snprintf(val, sizeof val, "v%ld", i);
        if (a->is_map) {
            rc = smem_map_set(m, key, val, strlen(val));
            if (rc == 0) {
                rc = smem_map_get(m, key, buf, sizeof buf, &len, NULL);
                if (rc == 0 && smem_map_foreach(m, nop_fn, NULL) < 0)
                    rc = smem_map_foreach(m, nop_fn, NULL);
            }
        } else {
            rc = smem_value_set(v, val, strlen(val));
            if (rc == 0)
                rc = smem_value_get(v, buf, sizeof buf, &len, NULL);
        }
        if (i == 100) {
            if (write(wfd, "r", 1) != 1)
                return 6;
        }
        i++;
        if (rc != 0) {
            first = rc;
            break;
        }
    }
    if (first == 0) {
        fprintf(stderr, "loop %s: no error in 10 s (%ld rounds)\n", a->name, i);
        return 2;
    }
    if (first != SMEM_EBADREGION) {
        fprintf(stderr, "loop %s: first error %d (%s) after %ld rounds\n", a->name, first,
                smem_err_name(first), i);
        return 3;
    }
    int bad = a->is_map ? all_bad_map(m, a->name) : all_bad_value(v, a->name);
    int rcheck = smem_region_check(raw);
    if (rcheck != SMEM_EBADREGION) {
        /* The raw handle may not have faulted yet: touch its bytes. */
        volatile unsigned char *d = smem_region_data(raw);
        size_t sz = smem_region_size(raw);
        unsigned sum = 0;
        for (size_t off = 0; off < sz; off += 4096)
            sum += d[off];
        (void)sum;
        rcheck = smem_region_check(raw);
        if (rcheck != SMEM_EBADREGION) {
            fprintf(stderr, "loop %s: smem_region_check gave %d after touching\n", a->name,
                    rcheck);
            bad++;
        }
    }
    a->is_map ? smem_map_close(m) : smem_value_close(v);
    smem_region_close(raw);
    fprintf(stderr, "loop %s: SMEM_EBADREGION after %ld rounds, %d other results after\n",
            a->name, i, bad);
    return bad ? 4 : 0;
}

/* Truncates the file of region NAME to TO bytes, or, if TO is negative,
 * to -TO bytes less than it has. */
static int truncate_region(const char *name, int64_t to)
{
    char path[128];
    th_shm_path(path, name);
    struct stat sb;
    if (to < 0 && stat(path, &sb) != 0)
        return -1;
    return truncate(path, to < 0 ? sb.st_size + to : to);
}

static void shrink_round(int64_t to)
{
    char mname[SMEM_NAME_MAX + 1], vname[SMEM_NAME_MAX + 1];
    th_name(mname, "shm");
    th_name(vname, "shv");
    smem_map *m = NULL;
    smem_value *v = NULL;
    /* Big enough to span several pages. */
    CHECK_OK(smem_map_open(mname, 256, 64, NULL, &m));
    CHECK_OK(smem_value_open(vname, 20000, NULL, &v));
    CHECK_OK(smem_map_set(m, "k1", "one", 3));
    CHECK_OK(smem_value_set(v, "start", 5));

    struct loop_arg am = {mname, 1}, av = {vname, 0};
    int fm, fv;
    pid_t pm = fork_ready(&fm, shrink_loop, &am);
    pid_t pv = fork_ready(&fv, shrink_loop, &av);
    wait_byte(fm, "map loop");
    wait_byte(fv, "value loop");
    close(fm);
    close(fv);
    th_sleep_ms(20);
    /* The third process: truncates both files. */
    fflush(NULL);
    pid_t pt = fork();
    CHECK_SYS(pt);
    if (pt == 0) {
        if (truncate_region(mname, to) != 0 || truncate_region(vname, to) != 0)
            _exit(1);
        _exit(0);
    }
    int st = th_waitpid(pt, 10000);
    CHECK_EQ_INT(th_exit_code(st), 0);

    int sm = th_waitpid(pm, 30000), sv = th_waitpid(pv, 30000);
    th_log("shrink to %lld: map loop %s,", (long long)to, th_status_str(sm));
    th_log("shrink to %lld: value loop %s", (long long)to, th_status_str(sv));
    CHECKF(!WIFSIGNALED(sm), "map loop died: %s", th_status_str(sm));
    CHECKF(!WIFSIGNALED(sv), "value loop died: %s", th_status_str(sv));
    SOFT(th_exit_code(sm) == 0, "shrink to %lld: map loop %s (2 none seen, 3 other first, 4 others after)",
         (long long)to, th_status_str(sm));
    SOFT(th_exit_code(sv) == 0, "shrink to %lld: value loop %s (2 none seen, 3 other first, 4 others after)",
         (long long)to, th_status_str(sv));

    /* This process's own handles, opened before, are lost too. */
    int bad = all_bad_map(m, "parent map"), badv = all_bad_value(v, "parent value");
    SOFT(bad == 0, "shrink to %lld: %d calls on the parent's map handle did not give SMEM_EBADREGION",
         (long long)to, bad);
    SOFT(badv == 0, "shrink to %lld: %d calls on the parent's value handle did not give SMEM_EBADREGION",
         (long long)to, badv);

    /* Remove and re-create. */
    CHECK_OK(smem_region_remove(mname));
    CHECK_OK(smem_region_remove(vname));
    smem_map_close(m);
    smem_value_close(v);
    CHECK_OK(smem_map_open(mname, 16, 16, NULL, &m));
    CHECK_EQ_INT(smem_map_created(m), 1);
    CHECK_OK(smem_map_set(m, "again", "yes", 3));
    char buf[16];
    size_t len = 0;
    CHECK_OK(smem_map_get(m, "again", buf, sizeof buf, &len, NULL));
    CHECK_EQ_SIZE(len, 3);
    CHECK_OK(smem_value_open(vname, 64, NULL, &v));
    CHECK_EQ_INT(smem_value_created(v), 1);
    CHECK_OK(smem_value_set(v, "new", 3));
    CHECK_OK(smem_value_get(v, buf, sizeof buf, &len, NULL));
    CHECK_EQ_SIZE(len, 3);
    smem_map_close(m);
    smem_value_close(v);
    CHECK(!th_shm_exists(mname) && !th_shm_exists(vname));
}

/* Helper (a fresh image, so that our handler is there before the
 * library's): its own SIGBUS handler. */
static sigjmp_buf own_env;
static volatile sig_atomic_t own_hits;

static void own_handler(int sig, siginfo_t *info, void *ctx)
{
    (void)sig, (void)info, (void)ctx;
    own_hits++;
    siglongjmp(own_env, 1);
}

static int h_ownbus(int argc, char **argv)
{
    if (argc < 1)
        return 2;
    const char *name = argv[0];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = own_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK_SYS(sigaction(SIGBUS, &sa, NULL));

    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 64, 64, NULL, &m));
    CHECK_OK(smem_map_set(m, "a", "b", 1));
    char buf[8];
    size_t len;
    CHECK_OK(smem_map_get(m, "a", buf, sizeof buf, &len, NULL));

    /* A fault outside any region: ours. */
    char tmp[] = "/tmp/smem-hostile-XXXXXX";
    int fd = mkstemp(tmp);
    CHECK_SYS(fd);
    unlink(tmp);
    CHECK_SYS(ftruncate(fd, 2 * 4096));
    volatile unsigned char *p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    p[4096] = 1;
    CHECK_SYS(ftruncate(fd, 0));
    int reached = 0;
    if (sigsetjmp(own_env, 1) == 0) {
        p[4096] = 2; /* SIGBUS */
        reached = 0;
    } else {
        reached = 1;
    }
    CHECKF(reached && own_hits == 1, "own handler ran %d times for a fault outside regions",
           (int)own_hits);
    munmap((void *)p, 2 * 4096);
    close(fd);

    /* A fault inside a truncated region: not ours. */
    th_shm_truncate(name, 0);
    int rc = 0;
    if (sigsetjmp(own_env, 1) == 0) {
        rc = smem_map_get(m, "a", buf, sizeof buf, &len, NULL);
    } else {
        FAIL("own SIGBUS handler ran for a fault inside a truncated region");
    }
    CHECK_ERR(rc, SMEM_EBADREGION);
    CHECK_ERR(smem_map_set(m, "a", "c", 1), SMEM_EBADREGION);
    CHECKF(own_hits == 1, "own handler ran %d times", (int)own_hits);

    /* And once more outside, after the library's handler has done its work. */
    char tmp2[] = "/tmp/smem-hostile-XXXXXX";
    fd = mkstemp(tmp2);
    CHECK_SYS(fd);
    unlink(tmp2);
    CHECK_SYS(ftruncate(fd, 4096));
    p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK_SYS(ftruncate(fd, 0));
    if (sigsetjmp(own_env, 1) == 0) {
        unsigned char c = p[0];
        (void)c;
        FAIL("no SIGBUS on a truncated private file");
    }
    CHECKF(own_hits == 2, "own handler ran %d times, expected 2", (int)own_hits);
    munmap((void *)p, 4096);
    close(fd);
    CHECK_OK(smem_region_remove(name));
    smem_map_close(m);
    th_say("ok");
    return 0;
}

static void case_shrink(void)
{
    th_log("== 1. shrink");
    /* To nothing; to a few bytes, a page, and one byte short, where the
     * first or the last page stays mapped and reads zeros past the new end
     * instead of faulting. */
    shrink_round(0);
    shrink_round(64);
    shrink_round(4096);
    shrink_round(-1);
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "bus");
    th_proc h;
    th_spawn(&h, -1, "ownbus", name, NULL);
    char line[64];
    th_recv(&h, line, sizeof line, 20000);
    CHECK_EQ_STR(line, "ok");
    th_wait_ok(&h, 10000);
    th_log("own SIGBUS handler: gets faults outside regions, none from inside");
    ran++;
}

/* ==== 2. a new region is a new file ===================================== */

#define SECRET "S3cr3t-hostile-marker-"

static int hold_value(int wfd, void *arg)
{
    const smem_opts o = {0, 0666, 0, NULL, NULL};
    smem_value *v = NULL;
    int rc = smem_value_open(arg, 4096, &o, &v);
    if (rc != 0)
        return 1;
    smem_value_set(v, "public", 6);
    if (write(wfd, "r", 1) != 1)
        return 1;
    for (;;)
        pause();
}

static void check_old_fd(int fd, const char *name, const char *how)
{
    struct stat os, ns;
    char path[128];
    CHECK_SYS(fstat(fd, &os));
    CHECK_SYS(stat(th_shm_path(path, name), &ns));
    CHECKF(os.st_ino != ns.st_ino || os.st_dev != ns.st_dev,
           "%s: the old descriptor is the new file (inode %llu)", how,
           (unsigned long long)ns.st_ino);
    size_t sz = (size_t)os.st_size;
    unsigned char *buf = malloc(sz + 1);
    CHECK(buf);
    ssize_t n = pread(fd, buf, sz, 0);
    CHECK(n >= 0);
    CHECKF(memmem(buf, (size_t)n, "S3cr3t", 6) == NULL, "%s: pread of the old fd sees the secret",
           how);
    if (sz > 0) {
        unsigned char *p = mmap(NULL, sz, PROT_READ, MAP_SHARED, fd, 0);
        CHECK(p != MAP_FAILED);
        CHECKF(memmem(p, sz, "S3cr3t", 6) == NULL, "%s: mmap of the old fd sees the secret",
               how);
        munmap(p, sz);
    }
    free(buf);
    th_log("%s: old fd inode %llu size %zu, new inode %llu: no secret bytes", how,
           (unsigned long long)os.st_ino, sz, (unsigned long long)ns.st_ino);
}

static void case_newfile(void)
{
    th_log("== 2. newfile");
    char path[128];
    /* (a) removed by its last close */
    {
        char name[SMEM_NAME_MAX + 1];
        th_name(name, "nf");
        const smem_opts o = {0, 0666, 0, NULL, NULL};
        smem_value *v = NULL;
        CHECK_OK(smem_value_open(name, 4096, &o, &v));
        CHECK_OK(smem_value_set(v, "public", 6));
        struct stat st;
        CHECK_SYS(stat(th_shm_path(path, name), &st));
        CHECKF((st.st_mode & 0777) == 0666, "mode %o, asked 0666", st.st_mode & 0777);
        int fd = open(path, O_RDWR | O_CLOEXEC);
        CHECK_SYS(fd);
        smem_value_close(v);
        const smem_opts o2 = {0, 0600, 0, NULL, NULL};
        CHECK_OK(smem_value_open(name, 4096, &o2, &v));
        CHECK_EQ_INT(smem_value_created(v), 1);
        char secret[4096];
        for (size_t i = 0; i < sizeof secret; i++)
            secret[i] = SECRET[i % (sizeof SECRET - 1)];
        CHECK_OK(smem_value_set(v, secret, sizeof secret));
        check_old_fd(fd, name, "closed then re-created");
        close(fd);
        smem_value_close(v);
    }
    /* (b) stale: its holder SIGKILLed */
    {
        char name[SMEM_NAME_MAX + 1];
        th_name(name, "nfk");
        int rfd;
        pid_t pid = fork_ready(&rfd, hold_value, name);
        wait_byte(rfd, "holder");
        close(rfd);
        int fd = open(th_shm_path(path, name), O_RDWR | O_CLOEXEC);
        CHECK_SYS(fd);
        kill(pid, SIGKILL);
        th_waitpid(pid, 10000);
        smem_info info;
        CHECK_OK(smem_region_stat(name, &info));
        CHECK_EQ_INT(info.state, SMEM_STATE_STALE);
        const smem_opts o2 = {0, 0600, 0, NULL, NULL};
        smem_value *v = NULL;
        CHECK_OK(smem_value_open(name, 4096, &o2, &v));
        CHECK_EQ_INT(smem_value_created(v), 1);
        char secret[4096];
        for (size_t i = 0; i < sizeof secret; i++)
            secret[i] = SECRET[i % (sizeof SECRET - 1)];
        CHECK_OK(smem_value_set(v, secret, sizeof secret));
        struct stat st;
        CHECK_SYS(stat(path, &st));
        CHECKF((st.st_mode & 0777) == 0600, "re-created file has mode %o", st.st_mode & 0777);
        check_old_fd(fd, name, "stale then re-created");
        /* Also writing through the old descriptor does not reach the new value. */
        CHECK(pwrite(fd, "XXXXXXXXXXXXXXXX", 16, HDR + 64) == 16);
        char got[4096];
        size_t len = 0;
        CHECK_OK(smem_value_get(v, got, sizeof got, &len, NULL));
        CHECK_EQ_SIZE(len, sizeof secret);
        CHECK(memcmp(got, secret, len) == 0);
        close(fd);
        smem_value_close(v);
    }
    ran++;
}

/* ==== 3. read access grants reading only ================================ */

struct nobody_arg {
    const char *names[2];
    uid_t uid;
    gid_t gid;
};

static int nobody_fn(int wfd, void *varg)
{
    struct nobody_arg *a = varg;
    if (setgroups(0, NULL) != 0 || setgid(a->gid) != 0 || setuid(a->uid) != 0) {
        perror("dropping privileges");
        return 2;
    }
    int fails = 0, held = 0;
    for (int i = 0; i < 2; i++) {
        char path[128], lp[128];
        th_shm_path(path, a->names[i]);
        lockpath(lp, a->names[i]);
        int lfd = open(lp, O_RDONLY);
        if (lfd >= 0 || errno != EACCES) {
            fprintf(stderr, "nobody: open %s O_RDONLY: %s\n", lp,
                    lfd >= 0 ? "succeeded" : strerror(errno));
            fails++;
        }
        int wr = open(path, O_RDWR);
        if (wr >= 0 || errno != EACCES) {
            fprintf(stderr, "nobody: open %s O_RDWR: %s\n", path,
                    wr >= 0 ? "succeeded" : strerror(errno));
            fails++;
        }
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "nobody: open %s O_RDONLY: %s\n", path, strerror(errno));
            fails++;
            continue;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            held++;
        else
            fprintf(stderr, "nobody: flock EX %s: %s\n", path, strerror(errno));
        int fd2 = open(path, O_RDONLY);
        if (fd2 >= 0 && flock(fd2, LOCK_SH | LOCK_NB) == 0)
            held++;
        int fd3 = open(path, O_RDONLY); /* holds the OFD locks, and tries a LOCK_SH */
        struct flock fl[] = {
            {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 2},
            {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0},
            {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = ((off_t)1 << 62) + 1,
             .l_len = 1000},
        };
        for (int k = 0; k < 3; k++) {
            int lk = fd3 >= 0 ? fd3 : fd;
            if (fcntl(lk, F_OFD_SETLK, &fl[k]) == 0)
                held++;
            else
                fprintf(stderr, "nobody: OFD lock %d on %s: %s\n", k, path, strerror(errno));
        }
        /* And a whole-file read lock on the first descriptor too. */
        if (fcntl(fd, F_OFD_SETLK, &fl[1]) == 0)
            held++;
    }
    fprintf(stderr, "nobody: holding %d locks; %d unexpected opens\n", held, fails);
    if (write(wfd, fails ? "f" : "r", 1) != 1)
        return 3;
    for (;;)
        pause();
}

static int killed_writer(int wfd, void *arg)
{
    const char *name = arg;
    const smem_opts o = {SMEM_NOCREATE, 0, 1000, NULL, NULL};
    int is_map = name[strlen(name) + 1] == 'm';
    smem_map *m = NULL;
    smem_value *v = NULL;
    int rc = is_map ? smem_map_open(name, 0, 0, &o, &m) : smem_value_open(name, 0, &o, &v);
    if (rc != 0)
        return 1;
    char val[2048];
    memset(val, 'w', sizeof val);
    for (long i = 0;; i++) {
        if (i == 10 && write(wfd, "r", 1) != 1)
            return 1;
        is_map ? smem_map_set(m, "k", val, 32 + (size_t)(i % 32))
               : smem_value_set(v, val, sizeof val - (size_t)(i % 64));
    }
}

static void timed_ok(int rc, int64_t t0, int limit_ms, const char *what)
{
    int64_t dt = th_now_ms() - t0;
    CHECKF(rc == 0, "%s gave %d (%s) after %lld ms", what, rc, smem_err_name(rc), (long long)dt);
    CHECKF(dt < limit_ms, "%s took %lld ms (limit %d)", what, (long long)dt, limit_ms);
}

static void case_readers(void)
{
    th_log("== 3. readers");
    if (!th_is_root()) {
        th_log("3. readers: SKIPPED: needs root (to act as nobody)");
        skipped++;
        return;
    }
    struct passwd *pw = getpwnam("nobody");
    if (!pw) {
        th_log("3. readers: SKIPPED: no user nobody");
        skipped++;
        return;
    }
    /* Names carry a kind tag after their NUL for killed_writer. */
    char mname[SMEM_NAME_MAX + 2], vname[SMEM_NAME_MAX + 2], other[SMEM_NAME_MAX + 1];
    th_name(mname, "rdm");
    th_name(vname, "rdv");
    th_name(other, "rdo");
    mname[strlen(mname) + 1] = 'm';
    vname[strlen(vname) + 1] = 'v';
    const smem_opts o = {0, 0644, 1000, NULL, NULL};
    smem_map *m = NULL;
    smem_value *v = NULL;
    CHECK_OK(smem_map_open(mname, 64, 64, &o, &m));
    CHECK_OK(smem_value_open(vname, 4096, &o, &v));
    CHECK_OK(smem_map_set(m, "k", "v", 1));
    CHECK_OK(smem_value_set(v, "v", 1));
    const char *names[2] = {mname, vname};
    for (int i = 0; i < 2; i++) {
        char path[128];
        struct stat st;
        CHECK_SYS(stat(th_shm_path(path, names[i]), &st));
        CHECKF((st.st_mode & 0777) == 0644, "%s: mode %o", path, st.st_mode & 0777);
        CHECK_SYS(stat(lockpath(path, names[i]), &st));
        CHECKF((st.st_mode & 0777) == 0600, "%s: mode %o, not 0600", path, st.st_mode & 0777);
        CHECKF(S_ISREG(st.st_mode) && st.st_uid == geteuid(), "%s: not our regular file", path);
    }

    struct nobody_arg na = {{mname, vname}, pw->pw_uid, pw->pw_gid};
    int rfd;
    pid_t nb = fork_ready(&rfd, nobody_fn, &na);
    char c = 0;
    CHECK(read(rfd, &c, 1) == 1);
    close(rfd);
    CHECKF(c == 'r', "nobody could open a file it should not (see its stderr)");

    int64_t t0 = th_now_ms();
    smem_map *m2 = NULL;
    timed_ok(smem_map_open(mname, 0, 0, &o, &m2), t0, 500, "smem_map_open");
    t0 = th_now_ms();
    char buf[4096];
    size_t len;
    timed_ok(smem_map_get(m2, "k", buf, sizeof buf, &len, NULL), t0, 500, "smem_map_get");
    t0 = th_now_ms();
    timed_ok(smem_map_set(m2, "k2", "v2", 2), t0, 500, "smem_map_set");
    t0 = th_now_ms();
    timed_ok(smem_value_set(v, "v2", 2), t0, 500, "smem_value_set");
    smem_value *v2 = NULL;
    t0 = th_now_ms();
    timed_ok(smem_value_open(vname, 0, &o, &v2), t0, 500, "smem_value_open");
    timed_ok(smem_value_get(v2, buf, sizeof buf, &len, NULL), t0, 500, "smem_value_get");
    smem_value_close(v2);
    smem_region *r = NULL;
    CHECK_OK(smem_region_open(other, 4096, NULL, &r));
    t0 = th_now_ms();
    timed_ok(smem_region_remove(other), t0, 500, "smem_region_remove (another name)");
    smem_region_close(r);

    /* Takeovers of writers SIGKILLed mid-write. */
    int64_t worst = 0;
    for (int round = 0; round < 20; round++) {
        char *name = round % 2 ? vname : mname;
        int wfd;
        pid_t w = fork_ready(&wfd, killed_writer, name);
        wait_byte(wfd, "writer");
        close(wfd);
        th_sleep_ms(1 + round % 3);
        kill(w, SIGKILL);
        th_waitpid(w, 10000);
        t0 = th_now_ms();
        int rc = round % 2 ? smem_value_set(v, "after", 5) : smem_map_set(m, "k", "after", 5);
        timed_ok(rc, t0, 1000, round % 2 ? "value set after a killed writer"
                                         : "map set after a killed writer");
        if (th_now_ms() - t0 > worst)
            worst = th_now_ms() - t0;
    }
    th_log("3. readers: nobody held flock + OFD locks; opens/gets/sets/remove quick; "
           "20 takeovers, slowest %lld ms",
           (long long)worst);
    kill(nb, SIGKILL);
    th_waitpid(nb, 10000);
    smem_map_close(m2);
    smem_map_close(m);
    smem_value_close(v);
    ran++;
}

/* ==== 4. scribbled bookkeeping ========================================== */

static void put32(const char *name, uint64_t doff, uint32_t x)
{
    th_shm_write(name, HDR + doff, &x, sizeof x);
}

static void case_scribble(void)
{
    th_log("== 4. scribble");
    const smem_opts o = {0, 0, 1000, NULL, NULL};
    char buf[64];
    size_t len;
    /* (a) count = 0xffffffff */
    {
        char name[SMEM_NAME_MAX + 1];
        th_name(name, "scc");
        smem_map *m = NULL;
        CHECK_OK(smem_map_open(name, 16, 32, &o, &m));
        for (int i = 0; i < 4; i++) {
            char k[8];
            snprintf(k, sizeof k, "k%d", i);
            CHECK_OK(smem_map_set(m, k, k, strlen(k)));
        }
        put32(name, 40, 0xffffffffu);
        CHECK_OK(smem_map_set(m, "fresh", "f", 1));
        CHECK_EQ_INT(smem_map_count(m), 5);
        CHECK_OK(smem_map_set(m, "fresh2", "f", 1));
        CHECK_EQ_INT(smem_map_count(m), 6);
        th_log("4a. count=0xffffffff: next new key set, count back to %d", smem_map_count(m));
        smem_map_close(m);
    }
    /* (b) free_head at a linked record, fresh = 0 */
    {
        char name[SMEM_NAME_MAX + 1];
        th_name(name, "scf");
        smem_map *m = NULL;
        CHECK_OK(smem_map_open(name, 16, 32, &o, &m));
        for (int i = 0; i < 4; i++) {
            char k[8], val[16];
            snprintf(k, sizeof k, "k%d", i);
            snprintf(val, sizeof val, "val-%d", i);
            CHECK_OK(smem_map_set(m, k, val, strlen(val)));
        }
        put32(name, 44, 1); /* record 0: k0's */
        put32(name, 48, 0);
        for (int i = 0; i < 6; i++) {
            char k[8], val[16];
            snprintf(k, sizeof k, "n%d", i);
            snprintf(val, sizeof val, "new-%d", i);
            CHECK_OK(smem_map_set(m, k, val, strlen(val)));
        }
        CHECK_OK(smem_map_set(m, "k3", "val-3b", 6));
        for (int i = 0; i < 4; i++) {
            char k[8], val[16];
            snprintf(k, sizeof k, "k%d", i);
            snprintf(val, sizeof val, i == 3 ? "val-%db" : "val-%d", i);
            len = 0;
            CHECK_OK(smem_map_get(m, k, buf, sizeof buf, &len, NULL));
            CHECKF(len == strlen(val) && memcmp(buf, val, len) == 0, "%s: \"%.*s\" != \"%s\"",
                   k, (int)len, buf, val);
        }
        for (int i = 0; i < 6; i++) {
            char k[8], val[16];
            snprintf(k, sizeof k, "n%d", i);
            snprintf(val, sizeof val, "new-%d", i);
            len = 0;
            CHECK_OK(smem_map_get(m, k, buf, sizeof buf, &len, NULL));
            CHECKF(len == strlen(val) && memcmp(buf, val, len) == 0, "%s: \"%.*s\" != \"%s\"",
                   k, (int)len, buf, val);
        }
        CHECK_EQ_INT(smem_map_count(m), 10);
        /* Fill it to the top: exactly max_entries fit. */
        for (int i = 0; i < 6; i++) {
            char k[8];
            snprintf(k, sizeof k, "f%d", i);
            CHECK_OK(smem_map_set(m, k, "x", 1));
        }
        CHECK_EQ_INT(smem_map_count(m), 16);
        CHECK_ERR(smem_map_set(m, "over", "x", 1), SMEM_EFULL);
        th_log("4b. free_head=1 (a linked record), fresh=0: 10 entries intact, map fills to 16");
        smem_map_close(m);
    }
    /* (c) garbage owner word */
    {
        char name[SMEM_NAME_MAX + 1];
        th_name(name, "sco");
        smem_map *m = NULL;
        CHECK_OK(smem_map_open(name, 16, 32, &o, &m));
        CHECK_OK(smem_map_set(m, "a", "1", 1));
        uint64_t owner = 0x123456789ull;
        th_shm_write(name, HDR + 64, &owner, sizeof owner);
        int64_t t0 = th_now_ms();
        int rc = smem_map_set(m, "b", "2", 1);
        int64_t dt = th_now_ms() - t0;
        CHECKF(rc == 0, "set after a garbage owner gave %d (%s) after %lld ms", rc,
               smem_err_name(rc), (long long)dt);
        CHECKF(dt < 1000 + 300, "set after a garbage owner took %lld ms", (long long)dt);
        CHECK_OK(smem_map_get(m, "a", buf, sizeof buf, &len, NULL));
        CHECK_OK(smem_map_get(m, "b", buf, sizeof buf, &len, NULL));
        t0 = th_now_ms();
        CHECK_OK(smem_map_set(m, "c", "3", 1));
        CHECKF(th_now_ms() - t0 < 300, "the set after took %lld ms", (long long)(th_now_ms() - t0));
        th_log("4c. owner=0x123456789: next set ok in %lld ms", (long long)dt);
        smem_map_close(m);
    }
    ran++;
}

/* ==== 5. gc(NULL) in a private /dev/shm ================================= */

static int idle_open(int wfd, void *arg)
{
    smem_region *r = NULL;
    if (smem_region_open(arg, 4096, NULL, &r) != 0)
        return 1;
    if (write(wfd, "r", 1) != 1)
        return 1;
    for (;;)
        pause();
}

/* In the child, in its own mount namespace.  0 pass, 1 fail, 77 skip. */
static int gc_child(void)
{
    if (unshare(CLONE_NEWNS) != 0) {
        fprintf(stderr, "unshare(CLONE_NEWNS): %s\n", strerror(errno));
        return 77;
    }
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        fprintf(stderr, "mount --make-rprivate /: %s\n", strerror(errno));
        return 77;
    }
    if (mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=16m") != 0) {
        fprintf(stderr, "mount tmpfs /dev/shm: %s\n", strerror(errno));
        return 77;
    }
    /* Make sure this /dev/shm is the new, empty one before any gc. */
    if (th_shm_count("") != 0) {
        fprintf(stderr, "the private /dev/shm is not empty: no gc\n");
        return 1;
    }
    char stale[SMEM_NAME_MAX + 1], held[SMEM_NAME_MAX + 1], pers[SMEM_NAME_MAX + 1];
    th_name(stale, "gcs");
    th_name(held, "gch");
    th_name(pers, "gcp");
    int rfd;
    pid_t g = fork_ready(&rfd, idle_open, stale);
    wait_byte(rfd, "stale opener");
    close(rfd);
    kill(g, SIGKILL);
    th_waitpid(g, 10000);
    smem_region *h = NULL, *p = NULL;
    CHECK_OK(smem_region_open(held, 4096, NULL, &h));
    const smem_opts po = {SMEM_PERSIST, 0, 0, NULL, NULL};
    CHECK_OK(smem_region_open(pers, 4096, &po, &p));
    smem_region_close(p);
    CHECK(th_shm_exists(stale) && th_shm_exists(held) && th_shm_exists(pers));
    int n = smem_region_gc(NULL);
    CHECKF(n == 1, "smem_region_gc(NULL) returned %d (%s), expected 1", n,
           n < 0 ? smem_err_name(n) : "count");
    char lp[128];
    struct stat st;
    CHECKF(!th_shm_exists(stale), "the stale region is still there");
    CHECKF(lstat(lockpath(lp, stale), &st) != 0, "the stale region's lock file is still there");
    CHECKF(th_shm_exists(held), "gc removed the held region");
    CHECKF(th_shm_exists(pers), "gc removed the persistent region");
    CHECK_OK(smem_region_remove(pers));
    smem_region_close(h);
    CHECK_EQ_INT(th_shm_count(""), 0);
    return 0;
}

static void case_gc(void)
{
    th_log("== 5. gc");
    if (!th_is_root()) {
        th_log("5. gc: SKIPPED: needs root (a mount namespace with its own /dev/shm)");
        skipped++;
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    CHECK_SYS(pid);
    if (pid == 0) {
        int rc = gc_child();
        fflush(NULL);
        _exit(rc);
    }
    int st = th_waitpid(pid, 30000);
    int code = th_exit_code(st);
    if (code == 77) {
        th_log("5. gc: SKIPPED: no private mount namespace (see above)");
        skipped++;
        return;
    }
    CHECKF(code == 0, "gc child: %s", th_status_str(st));
    th_log("5. gc: gc(NULL) in a private /dev/shm removed the stale region only");
    ran++;
}

static const th_helper helpers[] = {{"ownbus", h_ownbus}, {NULL, NULL}};

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    case_shrink();
    case_newfile();
    case_readers();
    case_scribble();
    case_gc();
    th_log("%d cases ran, %d skipped, %d soft failures", ran, skipped, failures);
    if (failures)
        return 1;
    if (ran == 0)
        SKIP("every case skipped");
    return 0;
}

#endif
