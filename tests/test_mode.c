/* Permissions: 0600 by default whatever the umask, exactly opts->mode when
 * given; owned by us; descriptors are not inherited across exec. */
#include "check.h"

#ifdef _WIN32
/* Windows has no permission bits or umask (a security descriptor admits
 * the creator alone); the mode is only recorded, exactly as given, and a
 * later opener's mode changes nothing. */
int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    const unsigned asked[] = {0, 0640, 0604, 0666}, expect[] = {0600, 0640, 0604, 0666};
    for (size_t i = 0; i < sizeof asked / sizeof asked[0]; i++) {
        char name[SMEM_NAME_MAX + 1];
        th_name(name, "mode");
        const smem_opts o = {0, asked[i], 0, NULL, NULL}, o2 = {0, 0666, 0, NULL, NULL};
        smem_region *r = NULL, *r2 = NULL;
        smem_info info;
        CHECK_OK(smem_region_open(name, 4096, &o, &r));
        CHECK_OK(smem_region_stat(name, &info));
        CHECK_EQ_INT(info.mode, expect[i]);
        CHECK_OK(smem_region_open(name, 4096, &o2, &r2));
        CHECK_EQ_INT(smem_region_created(r2), 0);
        CHECK_OK(smem_region_stat(name, &info));
        CHECK_EQ_INT(info.mode, expect[i]);
        smem_region_close(r2);
        smem_region_close(r);
        CHECK(!th_shm_exists(name));
    }
    th_log("skipped: permission bits, the umask, descriptors inherited across exec (POSIX)");
    return 0;
}
#else

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned file_mode(const char *name)
{
    char path[128];
    struct stat st;
    CHECKF(lstat(th_shm_path(path, name), &st) == 0, "no %s", path);
    CHECKF(S_ISREG(st.st_mode), "%s is not a regular file", path);
    CHECK_EQ_INT(st.st_uid, geteuid());
    return (unsigned)(st.st_mode & 07777);
}

static void mode_case(mode_t mask, unsigned asked, unsigned expect)
{
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "mode");
    umask(mask);
    const smem_opts o = {0, asked, 0, NULL, NULL};
    smem_region *r = NULL, *r2 = NULL;
    CHECK_OK(smem_region_open(name, 4096, &o, &r));
    unsigned got = file_mode(name);
    CHECKF(got == expect, "umask %03o, mode %04o: file has mode %04o, expected %04o",
           (unsigned)mask, asked, got, expect);
    smem_info info;
    CHECK_OK(smem_region_stat(name, &info));
    CHECK_EQ_INT(info.mode, expect);
    CHECK_EQ_INT(info.uid, geteuid());
    /* A second opener (asking for another mode) changes nothing. */
    const smem_opts o2 = {0, 0666, 0, NULL, NULL};
    CHECK_OK(smem_region_open(name, 4096, &o2, &r2));
    CHECK_EQ_INT(smem_region_created(r2), 0);
    CHECK_EQ_INT(file_mode(name), expect);
    smem_region_close(r2);
    smem_region_close(r);
    CHECK(!th_shm_exists(name));
}

/* fds: fail if any inherited descriptor refers to a region. */
static int helper_fds(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char link[512], path[64];
    for (int fd = 0; fd < 1024; fd++) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n < 0)
            continue;
        link[n] = '\0';
        CHECKF(strstr(link, "/dev/shm/smem.") == NULL, "inherited descriptor %d -> %s", fd, link);
    }
    return 0;
}

static const th_helper helpers[] = {{"fds", helper_fds}, {NULL, NULL}};

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    const mode_t masks[] = {0, 022, 077, 0777};
    for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        mode_case(masks[i], 0, 0600);
        mode_case(masks[i], 0640, 0640);
        mode_case(masks[i], 0604, 0604);
        mode_case(masks[i], 0666, 0666);
    }
    umask(022);

    /* Persistent regions keep their mode too. */
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "mode");
    umask(0);
    const smem_opts p = {SMEM_PERSIST, 0, 0, NULL, NULL};
    smem_region *r = NULL;
    CHECK_OK(smem_region_open(name, 4096, &p, &r));
    smem_region_close(r);
    CHECK_EQ_INT(file_mode(name), 0600);
    CHECK_OK(smem_region_remove(name));
    umask(022);

    /* No region descriptor leaks into an exec'd child. */
    th_name(name, "mode");
    smem_region *ro = NULL;
    CHECK_OK(smem_region_open(name, 4096, NULL, &r));
    const smem_opts rdonly = {SMEM_RDONLY, 0, 0, NULL, NULL};
    CHECK_OK(smem_region_open(name, 0, &rdonly, &ro));
    th_proc h;
    th_spawn(&h, -1, "fds", NULL);
    th_wait_ok(&h, 10000);
    smem_region_close(ro);
    smem_region_close(r);
    CHECK(!th_shm_exists(name));
    return 0;
}
#endif
