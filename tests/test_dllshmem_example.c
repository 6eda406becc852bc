/*
 * The seed's parent and child programs, run as built, linked to the
 * dllshmem library:
 *
 *   test_dllshmem_example PATH/TO/parent PATH/TO/child    (Linux)
 *   test_dllshmem_example parent.exe child.exe            (Windows)
 *
 * On Linux they are the port in examples/parent.c and child.c; on Windows
 * they are the seed's own programs, unchanged (examples/seed/), passed by
 * their bare names as the seed runs them.
 *
 * DLLSHMEM_NAME is set to a unique name so that the run never meets the
 * default "dllmemfilemap" of a real user.
 */
#include "check.h"
#include "dllshmem.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

/* What the last run() wrote on its stdout and stderr. */
static char out[65536];

/* ---- what differs between the systems ---------------------------------- */

/*
 * run: runs a program with its output into OUT and returns its exit code
 * (failing the test if it does not exit within 10 s, or dies of a signal).
 * set_env: sets a variable that programs started by run() inherit.
 * The EX_* constants: what each system's programs print.
 */
#ifdef _WIN32

/* The seed's parent prints to a pipe, which the C runtime buffers, so its
 * text can come out around the child's; it returns 0 even when it cannot
 * start the child; its "%)" format prints as it likes after the "(". */
#define EX_PARENT_FIRST 0
#define EX_NO_ARG "Please specify an input file"
#define EX_NO_CHILD "C:\\nonexistent\\child.exe"
#define EX_NO_CHILD_OUTPUT "CreateProcess failed ("
#define EX_NO_CHILD_EXIT 0

/* The process's environment, which CreateProcess passes on. */
static int set_env(const char *name, const char *value)
{
    return SetEnvironmentVariableA(name, value) ? 0 : -1;
}

/* Reads the pipe RD into OUT until every writer has closed it; WHAT names
 * the program for the failure message.  The C runtime writes "\r\n" for
 * "\n" in text mode: OUT gets "\n" back. */
static void read_output(HANDLE rd, const char *what)
{
    size_t n = 0;
    int64_t deadline = th_now_ms() + 10000;
    for (;;) {
        DWORD avail = 0, got = 0;
        if (!PeekNamedPipe(rd, NULL, 0, NULL, &avail, NULL))
            break; /* ERROR_BROKEN_PIPE: every writer is gone */
        if (avail == 0) {
            if (th_now_ms() > deadline)
                FAIL("%s wrote nothing more for 10 s (so far: \"%.*s\")", what, (int)n, out);
            th_sleep_ms(5);
            continue;
        }
        CHECK(n + avail < sizeof out);
        CHECK(ReadFile(rd, out + n, avail, &got, NULL));
        n += got;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        if (!(out[i] == '\r' && i + 1 < n && out[i + 1] == '\n'))
            out[o++] = out[i];
    out[o] = 0;
}

static int run(char *const argv[])
{
    char cmd[4096];
    size_t len = 0;
    for (int i = 0; argv[i] != NULL; i++) {
        len += (size_t)snprintf(cmd + len, sizeof cmd - len, "%s\"%s\"", i ? " " : "", argv[i]);
        CHECK(len < sizeof cmd);
    }
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE rd, wr;
    CHECK(CreatePipe(&rd, &wr, &sa, 0));
    CHECK(SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0));
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = wr;
    si.hStdError = wr;
    PROCESS_INFORMATION pi;
    fflush(NULL);
    BOOL ok = CreateProcessA(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
    DWORD err = GetLastError();
    CloseHandle(wr);
    CHECKF(ok, "CreateProcess %s: Windows error %lu", cmd, (unsigned long)err);
    CloseHandle(pi.hThread);
    read_output(rd, argv[0]);
    CloseHandle(rd);
    DWORD code = 0;
    if (WaitForSingleObject(pi.hProcess, 10000) != WAIT_OBJECT_0) {
        TerminateProcess(pi.hProcess, 1);
        FAIL("%s did not exit within 10 s", argv[0]);
    }
    CHECK(GetExitCodeProcess(pi.hProcess, &code));
    CloseHandle(pi.hProcess);
    return (int)code;
}

/* The child named another way than the seed's bare name: by its full path,
 * beside this program. */
static char *child_other_way(const char *child)
{
    static char path[MAX_PATH + 64];
    DWORD n = GetModuleFileNameA(NULL, path, MAX_PATH);
    CHECK(n > 0 && n < MAX_PATH);
    char *slash = strrchr(path, '\\');
    CHECK(slash != NULL);
    snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "%s", child);
    return path;
}

/* The seed's child prints with printf("%S"), which converts to the ANSI
 * code page: only ASCII comes out as it was stored. */
static void check_non_ascii(const char *child, smem_value *v)
{
    (void)child;
    (void)v;
    th_log("the seed's child prints in the ANSI code page: non-ASCII output not checked");
}

#else

/* The port flushes its output before it starts the child, and fails when
 * it cannot. */
#define EX_PARENT_FIRST 1
#define EX_NO_ARG "Please specify an input file\n"
#define EX_NO_CHILD "/nonexistent/child"
#define EX_NO_CHILD_OUTPUT "posix_spawn failed"
#define EX_NO_CHILD_EXIT 1

static int set_env(const char *name, const char *value)
{
    return setenv(name, value, 1);
}

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
    int st = th_waitpid(pid, 10000);
    CHECKF(WIFEXITED(st), "%s ended with %s; output: \"%s\"", argv[0], th_status_str(st), out);
    return WEXITSTATUS(st);
}

/* The child found in PATH rather than by its path, and in the C locale. */
static char *child_other_way(const char *child)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s", child);
    char *slash = strrchr(dir, '/');
    CHECK(slash != NULL);
    *slash = 0;
    CHECK_SYS(setenv("PATH", dir, 1));
    CHECK_SYS(setenv("LC_ALL", "C", 1));
    return slash + 1;
}

/* Non-ASCII text, printed as UTF-8 even in the C locale when C.UTF-8
 * exists. */
static void check_non_ascii(const char *child, smem_value *v)
{
    const char *text = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";
    CHECK_OK(smem_value_set(v, text, strlen(text)));
    int code = run((char *[]){(char *)child, NULL});
    CHECKF(code == 0, "the child ended with exit %d; output: \"%s\"", code, out);
    if (setlocale(LC_CTYPE, "C.UTF-8") != NULL) {
        char expect[256];
        snprintf(expect, sizeof expect, "Child process read from shared memory: %s\n", text);
        CHECK_EQ_STR(out, expect);
    } else {
        th_log("no C.UTF-8 locale: not checking the child's non-ASCII output (\"%s\")", out);
    }
    setlocale(LC_CTYPE, "C");
}

#endif

/* ------------------------------------------------------------------------ */

#define CHECK_EXIT(code, expect)                                               \
    CHECKF((code) == (expect), "ended with exit %d, expected exit %d; output: \"%s\"", (code), \
           (expect), out)

#define PARENT_TEXT "\nProcess is writing to shared memory...\n\n"
#define CHILD_TEXT "Child process read from shared memory: This is a test string\n"

/* OUT is the parent's text and the child's line: in that order where the
 * parent flushes first, else the child's line anywhere within the
 * parent's text. */
static void check_seed_output(void)
{
    if (EX_PARENT_FIRST) {
        CHECK_EQ_STR(out, PARENT_TEXT CHILD_TEXT);
        return;
    }
    char *at = strstr(out, CHILD_TEXT);
    CHECKF(at != NULL, "the child's line is missing: \"%s\"", out);
    memmove(at, at + strlen(CHILD_TEXT), strlen(at + strlen(CHILD_TEXT)) + 1);
    CHECKF(strcmp(out, PARENT_TEXT) == 0, "the parent's text, around the child's line, is \"%s\"",
           out);
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    if (argc != 3) {
        fprintf(stderr, "usage: %s PARENT CHILD\n", argv[0]);
        return 2;
    }
    char *parent = argv[1], *child = argv[2];
    char name[SMEM_NAME_MAX + 1];
    CHECK_SYS(set_env("DLLSHMEM_NAME", th_name(name, "dexample")));

    /* The seed's run: parent writes, starts the child, the child prints. */
    int code = run((char *[]){parent, child, NULL});
    CHECK_EXIT(code, 0);
    check_seed_output();
    /* Both are gone: so is the memory. */
    CHECKF(!th_shm_exists(name), "the value outlived the parent and the child");

    /* Again, with the child named the other way. */
    code = run((char *[]){parent, child_other_way(child), NULL});
    CHECK_EXIT(code, 0);
    check_seed_output();
    CHECK(!th_shm_exists(name));

    /* No argument: the seed's message. */
    code = run((char *[]){parent, NULL});
    CHECK_EXIT(code, 0);
    CHECK_EQ_STR(out, EX_NO_ARG);
    CHECK(!th_shm_exists(name));

    /* A child that cannot be started. */
    code = run((char *[]){parent, EX_NO_CHILD, NULL});
    CHECK_EXIT(code, EX_NO_CHILD_EXIT);
    CHECKF(strstr(out, EX_NO_CHILD_OUTPUT) != NULL, "output: \"%s\"", out);

    /* The child alone is the first to attach: the memory is empty. */
    code = run((char *[]){child, NULL});
    CHECK_EXIT(code, 0);
    CHECK_EQ_STR(out, "Child process read from shared memory: \n");
    CHECK(!th_shm_exists(name));

    /* Text kept by a holder (this process, like `sharedmem hold`) between
     * users. */
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(name, DLLSHMEM_SIZE, NULL, &v));
    CHECK_OK(smem_value_set(v, "kept by the holder", 18));
    code = run((char *[]){child, NULL});
    CHECK_EXIT(code, 0);
    CHECK_EQ_STR(out, "Child process read from shared memory: kept by the holder\n");
    check_non_ascii(child, v);
    CHECK(th_shm_exists(name)); /* we hold it */
    smem_value_close(v);
    CHECK(!th_shm_exists(name));
    return 0;
}
