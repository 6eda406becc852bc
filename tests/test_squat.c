/* Another user's object under a region name is refused with SMEM_EACCES
 * and left exactly as it was; another user cannot open, change or remove
 * ours.  Needs root (to act as uid 65534); skips otherwise. */
#include "check.h"

#ifdef _WIN32
int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    SKIP("needs another user (root acting as uid 65534); Windows tests run as one user");
}
#else

#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY 65534
#define SIZE 4096

struct snapshot {
    struct stat st;
    unsigned char bytes[SIZE + 4096];
    ssize_t len;
};

static void snap(const char *name, struct snapshot *s)
{
    char path[128];
    th_shm_path(path, name);
    CHECK_SYS(lstat(path, &s->st));
    s->len = th_read_file(path, s->bytes, sizeof s->bytes);
    CHECK(s->len >= 0);
}

static void same(const char *name, const struct snapshot *before, const char *what)
{
    struct snapshot now;
    char path[128];
    th_shm_path(path, name);
    CHECKF(lstat(path, &now.st) == 0, "%s: the file is gone", what);
    now.len = th_read_file(path, now.bytes, sizeof now.bytes);
    CHECKF(now.st.st_ino == before->st.st_ino, "%s: the file was replaced", what);
    CHECKF(now.st.st_uid == before->st.st_uid, "%s: owner changed", what);
    CHECKF(now.st.st_mode == before->st.st_mode, "%s: mode %o -> %o", what,
           (unsigned)before->st.st_mode, (unsigned)now.st.st_mode);
    CHECKF(now.st.st_size == before->st.st_size, "%s: size %lld -> %lld", what,
           (long long)before->st.st_size, (long long)now.st.st_size);
    CHECKF(now.len == before->len && memcmp(now.bytes, before->bytes, (size_t)now.len) == 0,
           "%s: content changed", what);
}

/* Runs fn(name) in a forked child as uid/gid 65534; returns its exit code. */
static int as_nobody(int (*fn)(const char *), const char *name)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK_SYS(pid);
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0) {
            perror("dropping privileges");
            _exit(2);
        }
        _exit(fn(name));
    }
    int st = th_waitpid(pid, 30000);
    CHECKF(WIFEXITED(st), "child ended with %s", th_status_str(st));
    return WEXITSTATUS(st);
}

/* A plain file, mode 0666, with some bytes. */
static int make_raw(const char *name)
{
    char path[128];
    umask(0);
    int fd = open(th_shm_path(path, name), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0666);
    if (fd < 0)
        return 1;
    unsigned char buf[SIZE + 128];
    th_pattern(buf, sizeof buf, 77);
    if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
        return 1;
    close(fd);
    return 0;
}

/* An empty file, mode 0666: an empty file of ours would be a creator that
 * died before initialising, but this one is not ours. */
static int make_empty(const char *name)
{
    char path[128];
    umask(0);
    int fd = open(th_shm_path(path, name), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0666);
    if (fd < 0)
        return 1;
    close(fd);
    return 0;
}

/* A genuine persistent region, mode 0666. */
static int make_region(const char *name)
{
    const smem_opts o = {SMEM_PERSIST, 0666, 0, NULL, NULL};
    smem_region *r = NULL;
    int rc = smem_region_open(name, SIZE, &o, &r);
    if (rc != 0) {
        fprintf(stderr, "uid %d: open %s: %s\n", NOBODY, name, smem_strerror(rc));
        return 1;
    }
    th_pattern(smem_region_data(r), SIZE, 78);
    smem_region_close(r);
    return 0;
}

/* Every way we might touch NAME is refused; the file stays the same. */
static void refused(const char *name, const char *what)
{
    struct snapshot before;
    snap(name, &before);
    CHECK_EQ_INT(before.st.st_uid, NOBODY);
    smem_region *r = (smem_region *)1;
    CHECK_ERR(smem_region_open(name, SIZE, NULL, &r), SMEM_EACCES);
    CHECK(r == NULL);
    CHECK_ERR(smem_region_open(name, 0, NULL, &r), SMEM_EACCES);
    const smem_opts nc = {SMEM_NOCREATE, 0, 0, NULL, NULL};
    CHECK_ERR(smem_region_open(name, 0, &nc, &r), SMEM_EACCES);
    const smem_opts ro = {SMEM_RDONLY, 0, 0, NULL, NULL};
    CHECK_ERR(smem_region_open(name, 0, &ro, &r), SMEM_EACCES);
    const smem_opts persist = {SMEM_PERSIST, 0666, 0, NULL, NULL};
    CHECK_ERR(smem_region_open(name, SIZE, &persist, &r), SMEM_EACCES);
    const smem_opts excl = {SMEM_EXCL, 0, 0, NULL, NULL};
    CHECK_ERR2(smem_region_open(name, SIZE, &excl, &r), SMEM_EACCES, SMEM_EEXIST);
    CHECK(r == NULL);
    same(name, &before, what);
    CHECK_ERR(smem_region_remove(name), SMEM_EACCES);
    same(name, &before, what);
    int rc = smem_region_gc(name);
    CHECKF(rc <= 0, "gc removed another user's %s (%d)", what, rc);
    same(name, &before, what);
    smem_info info;
    CHECK_OK(smem_region_stat(name, &info));
    CHECK_EQ_STR(info.name, name);
    CHECK_EQ_INT(info.uid, NOBODY);
    CHECK_EQ_INT(info.mode, 0666);
    same(name, &before, what);
}

/* As uid 65534: our regions NAME (mode 0600) and NAME + "w" (mode 0666)
 * cannot be opened or removed. */
static int intrude(const char *name)
{
    char wide[SMEM_NAME_MAX + 2];
    snprintf(wide, sizeof wide, "%sw", name);
    smem_region *r = NULL;
    const smem_opts ro = {SMEM_RDONLY, 0, 0, NULL, NULL};
    const smem_opts nc = {SMEM_NOCREATE, 0, 0, NULL, NULL};
    int rcs[] = {
        smem_region_open(name, 0, NULL, &r), smem_region_open(name, SIZE, &nc, &r),
        smem_region_open(name, 0, &ro, &r),  smem_region_remove(name),
        smem_region_open(wide, 0, NULL, &r), smem_region_open(wide, 0, &ro, &r),
        smem_region_remove(wide),
    };
    for (size_t i = 0; i < sizeof rcs / sizeof rcs[0]; i++) {
        if (rcs[i] != SMEM_EACCES) {
            fprintf(stderr, "as uid %d, attempt %zu on root's region gave %d (%s), expected EACCES\n",
                    NOBODY, i, rcs[i], smem_err_name(rcs[i]));
            return 1;
        }
    }
    if (smem_region_gc(name) > 0 || smem_region_gc(wide) > 0)
        return 1;
    return 0;
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    if (!th_is_root())
        SKIP("needs root to act as another user");

    char name[SMEM_NAME_MAX + 1];

    /* A plain file of another user. */
    th_name(name, "squat");
    CHECK_EQ_INT(as_nobody(make_raw, name), 0);
    refused(name, "plain file");

    /* An empty file of another user. */
    th_name(name, "squat");
    CHECK_EQ_INT(as_nobody(make_empty, name), 0);
    refused(name, "empty file");

    /* A genuine region of another user, mode 0666, not in use. */
    th_name(name, "squat");
    CHECK_EQ_INT(as_nobody(make_region, name), 0);
    refused(name, "region");

    /* A squatter that also holds a lock on its file (flock, as the gate of
     * a region would be): still a prompt EACCES, nothing changed. */
    th_name(name, "squat");
    {
        int ready[2], done[2];
        CHECK_SYS(pipe2(ready, O_CLOEXEC));
        CHECK_SYS(pipe2(done, O_CLOEXEC));
        fflush(NULL);
        pid_t pid = fork();
        CHECK_SYS(pid);
        if (pid == 0) {
            char path[128], c = 'r';
            if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
                _exit(2);
            if (make_raw(name) != 0)
                _exit(3);
            int fd = open(th_shm_path(path, name), O_RDONLY | O_CLOEXEC);
            if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(ready[1], &c, 1) != 1)
                _exit(4);
            close(done[1]);
            while (read(done[0], &c, 1) < 0 && errno == EINTR) {
            }
            _exit(0);
        }
        close(ready[1]);
        close(done[0]);
        char c;
        CHECK(read(ready[0], &c, 1) == 1);
        struct snapshot before;
        snap(name, &before);
        const smem_opts quick = {0, 0, 300, NULL, NULL};
        const smem_opts quick_nc = {SMEM_NOCREATE, 0, 300, NULL, NULL};
        smem_region *r = (smem_region *)1;
        int64_t t0 = th_now_ms();
        CHECK_ERR(smem_region_open(name, SIZE, &quick, &r), SMEM_EACCES);
        CHECK(r == NULL);
        CHECK_ERR(smem_region_open(name, 0, &quick_nc, &r), SMEM_EACCES);
        int64_t ms = th_now_ms() - t0;
        CHECKF(ms < 2000, "refusing a locked squatter's file took %lld ms", (long long)ms);
        CHECK(smem_region_gc(name) <= 0);
        same(name, &before, "locked plain file");
        close(done[1]);
        int st = th_waitpid(pid, 10000);
        CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "squatter ended with %s", th_status_str(st));
        close(ready[0]);
    }

    /* Our regions, as another user. */
    th_name(name, "mine");
    char wide[SMEM_NAME_MAX + 2];
    snprintf(wide, sizeof wide, "%sw", name);
    th_cleanup_name(wide);
    smem_region *a = NULL, *b = NULL;
    CHECK_OK(smem_region_open(name, SIZE, NULL, &a));
    const smem_opts o666 = {0, 0666, 0, NULL, NULL};
    CHECK_OK(smem_region_open(wide, SIZE, &o666, &b));
    th_pattern(smem_region_data(a), SIZE, 1);
    th_pattern(smem_region_data(b), SIZE, 2);
    CHECK_EQ_INT(as_nobody(intrude, name), 0);
    CHECK(th_shm_exists(name));
    CHECK(th_shm_exists(wide));
    CHECK(th_pattern_ok(smem_region_data(a), SIZE, 1));
    CHECK(th_pattern_ok(smem_region_data(b), SIZE, 2));
    smem_region_close(a);
    smem_region_close(b);
    CHECK(!th_shm_exists(name));
    CHECK(!th_shm_exists(wide));
    return 0;
}
#endif
