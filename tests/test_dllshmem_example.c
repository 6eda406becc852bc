/*
 * The seed's parent and child programs (examples/parent.c, child.c), run as
 * built, linked to libdllshmem:
 *
 *   test_dllshmem_example PATH/TO/parent PATH/TO/child
 *
 * DLLSHMEM_NAME is set to a unique name so that the run never meets the
 * default "dllmemfilemap" of a real user.
 */
#include "check.h"
#include "dllshmem.h"

#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[65536];

/* Runs ARGV (environment inherited) with stdout and stderr into OUT;
 * returns its wait status. */
static int run(char *const argv[])
{
    int p[2];
    CHECK_SYS(pipe2(p, O_CLOEXEC));
    fflush(NULL);
    pid_t pid = fork();
    CHECK_SYS(pid);
    if (pid == 0) {
        if (dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    int64_t deadline = th_now_ms() + 10000;
    for (;;) {
        int left = (int)(deadline - th_now_ms());
        struct pollfd pfd = {p[0], POLLIN, 0};
        int r = left > 0 ? poll(&pfd, 1, left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        CHECK_SYS(r);
        if (r == 0)
            FAIL("%s wrote nothing more for 10 s (so far: \"%.*s\")", argv[0], (int)n, out);
        ssize_t got = read(p[0], out + n, sizeof out - 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        CHECK_SYS(got);
        if (got == 0)
            break;
        n += (size_t)got;
        CHECK(n < sizeof out - 1);
    }
    out[n] = 0;
    close(p[0]);
    return th_waitpid(pid, 10000);
}

#define CHECK_EXIT(st, code)                                                   \
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == (code), "ended with %s, expected exit %d; output: \"%s\"", \
           th_status_str(st), (code), out)

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    if (argc != 3) {
        fprintf(stderr, "usage: %s PATH/TO/parent PATH/TO/child\n", argv[0]);
        return 2;
    }
    char *parent = argv[1], *child = argv[2];
    char name[SMEM_NAME_MAX + 1];
    CHECK_SYS(setenv("DLLSHMEM_NAME", th_name(name, "dexample"), 1));

    /* The seed's run: parent writes, starts the child, the child prints. */
    int st = run((char *[]){parent, child, NULL});
    CHECK_EXIT(st, 0);
    CHECK_EQ_STR(out, "\nProcess is writing to shared memory...\n\n"
                      "Child process read from shared memory: This is a test string\n");
    /* Both are gone: so is the memory. */
    CHECKF(!th_shm_exists(name), "the value outlived the parent and the child");

    /* Again, in the C locale and with the child found in PATH. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", child);
    char *slash = strrchr(dir, '/');
    CHECK(slash != NULL);
    *slash = 0;
    CHECK_SYS(setenv("PATH", dir, 1));
    CHECK_SYS(setenv("LC_ALL", "C", 1));
    st = run((char *[]){parent, slash + 1, NULL});
    CHECK_EXIT(st, 0);
    CHECK_EQ_STR(out, "\nProcess is writing to shared memory...\n\n"
                      "Child process read from shared memory: This is a test string\n");
    CHECK(!th_shm_exists(name));

    /* No argument: the seed's message. */
    st = run((char *[]){parent, NULL});
    CHECK_EXIT(st, 0);
    CHECK_EQ_STR(out, "Please specify an input file\n");
    CHECK(!th_shm_exists(name));

    /* A child that cannot be started. */
    st = run((char *[]){parent, "/nonexistent/child", NULL});
    CHECK_EXIT(st, 1);
    CHECKF(strstr(out, "posix_spawn failed") != NULL, "output: \"%s\"", out);

    /* The child alone is the first to attach: the memory is empty. */
    st = run((char *[]){child, NULL});
    CHECK_EXIT(st, 0);
    CHECK_EQ_STR(out, "Child process read from shared memory: \n");
    CHECK(!th_shm_exists(name));

    /* Non-ASCII text, kept by a holder (this process), printed as UTF-8
     * even in the C locale when C.UTF-8 exists. */
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(name, DLLSHMEM_SIZE, NULL, &v));
    const char *text = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";
    CHECK_OK(smem_value_set(v, text, strlen(text)));
    st = run((char *[]){child, NULL});
    CHECK_EXIT(st, 0);
    if (setlocale(LC_CTYPE, "C.UTF-8") != NULL) {
        char expect[256];
        snprintf(expect, sizeof expect, "Child process read from shared memory: %s\n", text);
        CHECK_EQ_STR(out, expect);
    } else {
        th_log("no C.UTF-8 locale: not checking the child's non-ASCII output (\"%s\")", out);
    }
    setlocale(LC_CTYPE, "C");
    CHECK(th_shm_exists(name)); /* we hold it */
    smem_value_close(v);
    CHECK(!th_shm_exists(name));
    return 0;
}
