/* A full /dev/shm gives SMEM_ENOSPC at open, never a SIGBUS later, and
 * leaves nothing behind.  Runs in a child with its own mount namespace and
 * a 1 MiB tmpfs on /dev/shm; skips when that is not permitted.  Windows
 * has its own, smaller, version below. */
#include "check.h"

#ifdef _WIN32
/* Windows has no file system to fill: a section's memory is committed when
 * it is made, so a region too big for the machine fails at open, with
 * SMEM_ENOSPC, and leaves nothing behind.  (Wine does not count committed
 * memory: it makes the section and fails to map it, which the library
 * reports the same way.) */
int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "nospc");
    const smem_opts opts[] = {
        {0, 0, 0, NULL, NULL},
        {SMEM_PERSIST, 0, 0, NULL, NULL},
        {SMEM_EXCL, 0, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        smem_region *r = (smem_region *)1;
        CHECK_ERR(smem_region_open(name, SMEM_SIZE_MAX, &opts[i], &r), SMEM_ENOSPC);
        CHECK(r == NULL);
        CHECKF(!th_shm_exists(name), "a failed open (flags %#x) left a section", opts[i].flags);
        smem_info info;
        CHECK_ERR(smem_region_stat(name, &info), SMEM_ENOENT);
    }
    /* The name is free for a region that fits, every page of it there. */
    smem_region *r = NULL;
    CHECK_OK(smem_region_open(name, 256 * 1024, NULL, &r));
    CHECK_EQ_INT(smem_region_created(r), 1);
    volatile unsigned char *d = smem_region_data(r);
    for (size_t i = 0; i < smem_region_size(r); i += 512)
        d[i] = 1;
    smem_region_close(r);
    CHECK(!th_shm_exists(name));
    return 0;
}
#else

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

static int dir_entries(const char *path)
{
    DIR *d = opendir(path);
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void check_empty(const char *when)
{
    CHECKF(dir_entries("/dev/shm") == 0, "/dev/shm not empty %s", when);
    struct statvfs sv;
    CHECK_SYS(statvfs("/dev/shm", &sv));
    CHECKF(sv.f_bfree == sv.f_blocks, "%s: %lu of %lu blocks still used", when,
           (unsigned long)(sv.f_blocks - sv.f_bfree), (unsigned long)sv.f_blocks);
}

static void touch_all(smem_region *r)
{
    volatile unsigned char *d = smem_region_data(r);
    size_t n = smem_region_size(r);
    for (size_t i = 0; i < n; i += 512)
        d[i] = (unsigned char)(i >> 9 | 1);
    d[n - 1] = 0xee;
}

/* In the child: private /dev/shm of 1 MiB. */
static int child(void)
{
    if (unshare(CLONE_NEWNS) != 0) {
        printf("SKIP: unshare(CLONE_NEWNS): %s\n", strerror(errno));
        return 77;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        printf("SKIP: making / private: %s\n", strerror(errno));
        return 77;
    }
    if (mount("smemtest", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=1777") != 0) {
        printf("SKIP: mounting a tmpfs on /dev/shm: %s\n", strerror(errno));
        return 77;
    }
    check_empty("at start");

    char name[SMEM_NAME_MAX + 1], name2[SMEM_NAME_MAX + 1];
    th_name(name, "nospc");
    th_name(name2, "nospc");
    smem_region *r = (smem_region *)1, *r2 = NULL;

    /* Too big for the file system. */
    CHECK_ERR(smem_region_open(name, 4 * MiB, NULL, &r), SMEM_ENOSPC);
    CHECK(r == NULL);
    check_empty("after a failed 4 MiB open");
    CHECK_ERR(smem_region_open(name, 1 * MiB, NULL, &r), SMEM_ENOSPC);
    check_empty("after a failed 1 MiB open");
    const smem_opts persist = {SMEM_PERSIST, 0, 0, NULL, NULL};
    CHECK_ERR(smem_region_open(name, 2 * MiB, &persist, &r), SMEM_ENOSPC);
    check_empty("after a failed persistent open");
    const smem_opts excl = {SMEM_EXCL, 0, 0, NULL, NULL};
    CHECK_ERR(smem_region_open(name, 2 * MiB, &excl, &r), SMEM_ENOSPC);
    check_empty("after a failed EXCL open");
    /* The largest size allowed still fails cleanly with ENOSPC. */
    CHECK_ERR(smem_region_open(name, SMEM_SIZE_MAX, NULL, &r), SMEM_ENOSPC);
    check_empty("after a failed SMEM_SIZE_MAX open");

    /* 256 KiB fits and every page is really there. */
    CHECK_OK(smem_region_open(name, 256 * KiB, NULL, &r));
    CHECK_EQ_INT(smem_region_created(r), 1);
    touch_all(r);
    smem_region_close(r);
    check_empty("after closing the 256 KiB region");

    /* Two regions that fit alone but not together. */
    CHECK_OK(smem_region_open(name, 600 * KiB, NULL, &r));
    touch_all(r);
    r2 = (smem_region *)1;
    CHECK_ERR(smem_region_open(name2, 600 * KiB, NULL, &r2), SMEM_ENOSPC);
    CHECK(r2 == NULL);
    /* The first region's file and its lock file (os-posix.c). */
    CHECKF(dir_entries("/dev/shm") == 2, "the failed second region left a file");
    CHECK_OK(smem_region_open(name2, 300 * KiB, NULL, &r2));
    touch_all(r2);
    touch_all(r);
    smem_region_close(r);
    smem_region_close(r2);
    check_empty("at the end");
    return 0;
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    fflush(NULL);
    pid_t pid = fork();
    CHECK_SYS(pid);
    if (pid == 0)
        _exit(child());
    int st = th_waitpid(pid, 60000);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
        return 77;
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child ended with %s", th_status_str(st));
    return 0;
}
#endif
