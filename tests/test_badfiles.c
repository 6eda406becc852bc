/* Things that are not regions under a region name: symlinks (never
 * followed, their targets untouched), garbage files, directories, FIFOs.
 * Each gives an error, never a crash or a hang. */
#include "check.h"

#ifdef _WIN32
int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    SKIP("plants symbolic links, directories, FIFOs and plain files in /dev/shm; Windows "
         "has no files behind regions");
}
#else

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[64];

static void rm_tmpdir(void)
{
    char cmd[128];
    if (tmpdir[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) {
        }
    }
}

static int is_refusal(int rc)
{
    return rc == SMEM_EACCES || rc == SMEM_ELOOP;
}

struct filestate {
    int exists;
    struct stat st;
    unsigned char bytes[8192];
    ssize_t len;
};

static void get_state(const char *path, struct filestate *s)
{
    s->exists = lstat(path, &s->st) == 0;
    s->len = s->exists ? th_read_file(path, s->bytes, sizeof s->bytes) : -1;
}

static void check_same(const char *path, const struct filestate *b, const char *what)
{
    struct filestate a;
    get_state(path, &a);
    CHECKF(a.exists == b->exists, "%s: %s %s", what, path, b->exists ? "vanished" : "was created");
    if (!a.exists)
        return;
    CHECKF(a.st.st_ino == b->st.st_ino && a.st.st_mode == b->st.st_mode &&
               a.st.st_uid == b->st.st_uid && a.st.st_size == b->st.st_size,
           "%s: %s changed (mode %o -> %o, size %lld -> %lld)", what, path,
           (unsigned)b->st.st_mode, (unsigned)a.st.st_mode, (long long)b->st.st_size,
           (long long)a.st.st_size);
    CHECKF(a.len == b->len && memcmp(a.bytes, b->bytes, (size_t)a.len) == 0,
           "%s: content of %s changed", what, path);
    CHECKF(a.st.st_mtim.tv_sec == b->st.st_mtim.tv_sec &&
               a.st.st_mtim.tv_nsec == b->st.st_mtim.tv_nsec,
           "%s: %s was written to", what, path);
}

/* Every open of NAME (a symlink to TARGET) is refused and TARGET is
 * unchanged.  Then remove/gc/stat must still not touch TARGET. */
static void symlink_case(const char *name, const char *target, const char *what)
{
    struct filestate before;
    get_state(target, &before);
    smem_region *r = (smem_region *)1;
    const smem_opts flags[] = {
        {0, 0, 0, NULL, NULL},
        {SMEM_NOCREATE, 0, 0, NULL, NULL},
        {SMEM_EXCL, 0, 0, NULL, NULL},
        {SMEM_RDONLY, 0, 0, NULL, NULL},
        {SMEM_PERSIST, 0666, 0, NULL, NULL},
        {SMEM_ANYKIND, 0, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        for (int k = 0; k < 2; k++) {
            size_t size = k ? 4096 : 0;
            if (size == 0 && !(flags[i].flags & (SMEM_NOCREATE | SMEM_RDONLY | SMEM_ANYKIND)))
                continue;
            r = (smem_region *)1;
            int rc = smem_region_open(name, size, &flags[i], &r);
            CHECKF(is_refusal(rc) || (rc == SMEM_EEXIST && (flags[i].flags & SMEM_EXCL)),
                   "%s: open with flags %#x size %zu gave %d (%s), expected EACCES or ELOOP", what,
                   flags[i].flags, size, rc, smem_err_name(rc));
            CHECK(r == NULL);
            check_same(target, &before, what);
        }
    }
    smem_info info;
    int rc = smem_region_stat(name, &info); /* an error code is fine too */
    if (rc == 0)
        CHECKF(info.state == SMEM_STATE_BAD, "%s: stat says state %d, expected BAD", what,
               (int)info.state);
    check_same(target, &before, what);
    rc = smem_region_gc(name);
    CHECKF(rc <= 0 || !th_shm_exists(name), "gc");
    check_same(target, &before, what);
    rc = smem_region_remove(name);
    (void)rc; /* removing our own symlink is allowed; following it is not */
    check_same(target, &before, what);
}

/* FIFO: run the calls in a child with a deadline, as a blocking open would
 * hang forever. */
static int fifo_child(const char *name)
{
    smem_region *r = NULL;
    const smem_opts ro = {SMEM_RDONLY, 0, 0, NULL, NULL};
    const smem_opts nc = {SMEM_NOCREATE, 0, 0, NULL, NULL};
    int rc;
    if ((rc = smem_region_open(name, 4096, NULL, &r)) >= 0)
        return 10;
    if ((rc = smem_region_open(name, 0, &ro, &r)) >= 0)
        return 11;
    if ((rc = smem_region_open(name, 0, &nc, &r)) >= 0)
        return 12;
    smem_info info;
    rc = smem_region_stat(name, &info);
    if (rc == 0 && info.state != SMEM_STATE_BAD)
        return 13;
    smem_region_gc(name);
    return 0;
}

static int count_cb(const smem_info *info, void *arg)
{
    (void)info;
    (*(int *)arg)++;
    return 0;
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/smemtest.XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
    atexit(rm_tmpdir);

    char name[SMEM_NAME_MAX + 1], path[128], target[128];

    /* ---- symlink to a regular file with known content ---- */
    snprintf(target, sizeof target, "%s/target", tmpdir);
    {
        int fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0644);
        CHECK_SYS(fd);
        unsigned char buf[4096 + 128];
        th_pattern(buf, sizeof buf, 5);
        CHECK(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
        close(fd);
        CHECK_SYS(chmod(target, 0644));
    }
    th_name(name, "link");
    CHECK_SYS(symlink(target, th_shm_path(path, name)));
    symlink_case(name, target, "symlink to a file");
    th_shm_unlink(name);

    /* ---- a symlink to an empty file (an empty region file would be
     * re-initialised: it must not be, through a link) ---- */
    snprintf(target, sizeof target, "%s/empty", tmpdir);
    CHECK_SYS(close(open(target, O_WRONLY | O_CREAT | O_EXCL, 0600)));
    th_name(name, "link");
    CHECK_SYS(symlink(target, th_shm_path(path, name)));
    symlink_case(name, target, "symlink to an empty file");
    th_shm_unlink(name);

    /* ---- dangling symlink: open must not create the target ---- */
    snprintf(target, sizeof target, "%s/nonexistent", tmpdir);
    th_name(name, "link");
    CHECK_SYS(symlink(target, th_shm_path(path, name)));
    symlink_case(name, target, "dangling symlink");
    th_shm_unlink(name);

    /* ---- symlink to a live region ---- */
    {
        char real[SMEM_NAME_MAX + 1];
        th_name(real, "real");
        smem_region *r = NULL;
        CHECK_OK(smem_region_open(real, 4096, NULL, &r));
        th_pattern(smem_region_data(r), 4096, 9);
        th_name(name, "link");
        char realpath_[128];
        CHECK_SYS(symlink(th_shm_path(realpath_, real), th_shm_path(path, name)));
        symlink_case(name, realpath_, "symlink to a region");
        CHECK(th_pattern_ok(smem_region_data(r), 4096, 9));
        th_shm_unlink(name);
        smem_region_close(r);
        CHECK(!th_shm_exists(real));
    }

    /* ---- a non-empty garbage file of ours ---- */
    const size_t gsizes[] = {1, 100, 127, 128, 129, 4096 + 128, 8000};
    for (size_t i = 0; i < sizeof gsizes / sizeof gsizes[0]; i++) {
        th_name(name, "junk");
        th_shm_path(path, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        CHECK_SYS(fd);
        unsigned char buf[8192];
        th_pattern(buf, gsizes[i], (unsigned)i + 20);
        CHECK(write(fd, buf, gsizes[i]) == (ssize_t)gsizes[i]);
        close(fd);
        struct filestate before;
        get_state(path, &before);
        smem_region *r = (smem_region *)1;
        CHECK_ERR(smem_region_open(name, 0, NULL, &r), SMEM_EBADREGION);
        CHECK(r == NULL);
        CHECK_ERR(smem_region_open(name, 4096, NULL, &r), SMEM_EBADREGION);
        const smem_opts nc = {SMEM_NOCREATE, 0, 0, NULL, NULL};
        CHECK_ERR(smem_region_open(name, 0, &nc, &r), SMEM_EBADREGION);
        const smem_opts ro = {SMEM_RDONLY, 0, 0, NULL, NULL};
        CHECK_ERR(smem_region_open(name, 0, &ro, &r), SMEM_EBADREGION);
        const smem_opts any = {SMEM_ANYKIND, 0, 0, NULL, NULL};
        CHECK_ERR(smem_region_open(name, 0, &any, &r), SMEM_EBADREGION);
        const smem_opts excl = {SMEM_EXCL, 0, 0, NULL, NULL};
        CHECK_ERR2(smem_region_open(name, 4096, &excl, &r), SMEM_EEXIST, SMEM_EBADREGION);
        check_same(path, &before, "garbage file");
        smem_info info;
        CHECK_OK(smem_region_stat(name, &info));
        CHECK_EQ_INT(info.state, SMEM_STATE_BAD);
        CHECK_EQ_INT(info.error, SMEM_EBADREGION);
        CHECK_EQ_INT(info.kind, SMEM_KIND_UNKNOWN);
        int rc = smem_region_gc(name);
        CHECKF(rc == 0 || rc == SMEM_EBADREGION, "gc of a garbage file gave %d (%s)", rc,
               smem_err_name(rc));
        check_same(path, &before, "garbage file");
        /* Our own file: remove may clean it up, or refuse it as not a region. */
        rc = smem_region_remove(name);
        if (rc == 0)
            CHECK(!th_shm_exists(name));
        else {
            CHECK_ERR(rc, SMEM_EBADREGION);
            check_same(path, &before, "garbage file");
        }
        th_shm_unlink(name);
    }

    /* ---- a directory ---- */
    th_name(name, "dir");
    CHECK_SYS(mkdir(th_shm_path(path, name), 0700));
    {
        smem_region *r = (smem_region *)1;
        int rc = smem_region_open(name, 4096, NULL, &r);
        CHECKF(rc < 0, "open of a directory gave %d", rc);
        CHECK(r == NULL);
        const smem_opts nc = {SMEM_NOCREATE, 0, 0, NULL, NULL};
        CHECK(smem_region_open(name, 0, &nc, &r) < 0);
        const smem_opts ro = {SMEM_RDONLY, 0, 0, NULL, NULL};
        CHECK(smem_region_open(name, 0, &ro, &r) < 0);
        smem_info info;
        rc = smem_region_stat(name, &info);
        if (rc == 0)
            CHECK_EQ_INT(info.state, SMEM_STATE_BAD);
        CHECK(smem_region_gc(name) <= 0);
        struct stat st;
        CHECKF(lstat(path, &st) == 0 && S_ISDIR(st.st_mode), "the directory is gone");
        int n = 0;
        CHECK(smem_region_list(count_cb, &n) >= 0);
    }
    rmdir(path);

    /* ---- a FIFO ---- */
    th_name(name, "fifo");
    CHECK_SYS(mkfifo(th_shm_path(path, name), 0600));
    {
        fflush(NULL);
        pid_t pid = fork();
        CHECK_SYS(pid);
        if (pid == 0)
            _exit(fifo_child(name));
        int st = th_waitpid(pid, 20000);
        CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "FIFO case: child ended with %s",
               th_status_str(st));
        /* list must not hang on it either */
        pid = fork();
        CHECK_SYS(pid);
        if (pid == 0) {
            int n = 0;
            _exit(smem_region_list(count_cb, &n) >= 0 ? 0 : 1);
        }
        st = th_waitpid(pid, 20000);
        CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "list with a FIFO: %s", th_status_str(st));
    }
    unlink(path);
    return 0;
}
#endif
