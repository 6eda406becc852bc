/*
 * check.h — the test suite's tiny assertion and helper-process kit.
 *
 * Every test is a standalone program: exit 0 = pass, 1 = fail, 77 = skip.
 * A failed CHECK prints file:line, the expression and the values (with the
 * sharedmem error name and message for error codes) and exits 1.
 *
 * Cross-process tests re-run their own binary as a helper:
 *     ./test_x --helper ROLE ARGS...
 * th_spawn() does that with fork + exec of /proc/self/exe, so a helper is an
 * unrelated, fresh process image; th_dispatch() at the top of main() runs
 * the role.  A helper talks to the parent by lines on its stdin / stdout.
 *
 * Every region name made with th_name() is unlinked from /dev/shm when the
 * test process exits (pass or fail), and every helper still running is
 * killed.
 */
#ifndef SMEM_TEST_CHECK_H
#define SMEM_TEST_CHECK_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "sharedmem.h"

#ifdef __GNUC__
#define TH_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define TH_NORETURN __attribute__((noreturn))
#else
#define TH_PRINTF(a, b)
#define TH_NORETURN
#endif

/* ---- assertions ------------------------------------------------------- */

TH_NORETURN TH_PRINTF(3, 4) void th_fail(const char *file, int line, const char *fmt, ...);
TH_NORETURN TH_PRINTF(1, 2) void th_skip(const char *fmt, ...);
TH_PRINTF(1, 2) void th_log(const char *fmt, ...);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            th_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond);            \
    } while (0)

/* Like CHECK, with a printf-style explanation. */
#define CHECKF(cond, ...)                                                      \
    do {                                                                       \
        if (!(cond))                                                           \
            th_fail(__FILE__, __LINE__, __VA_ARGS__);                          \
    } while (0)

#define FAIL(...) th_fail(__FILE__, __LINE__, __VA_ARGS__)

#define CHECK_EQ_INT(a, b)                                                     \
    do {                                                                       \
        long long th_a_ = (long long)(a), th_b_ = (long long)(b);              \
        if (th_a_ != th_b_)                                                    \
            th_fail(__FILE__, __LINE__, "CHECK_EQ_INT(%s, %s): %lld != %lld",  \
                    #a, #b, th_a_, th_b_);                                     \
    } while (0)

#define CHECK_EQ_SIZE(a, b)                                                    \
    do {                                                                       \
        unsigned long long th_a_ = (unsigned long long)(a);                    \
        unsigned long long th_b_ = (unsigned long long)(b);                    \
        if (th_a_ != th_b_)                                                    \
            th_fail(__FILE__, __LINE__, "CHECK_EQ_SIZE(%s, %s): %llu != %llu", \
                    #a, #b, th_a_, th_b_);                                     \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                     \
    do {                                                                       \
        const char *th_a_ = (a), *th_b_ = (b);                                 \
        if (th_a_ == NULL || th_b_ == NULL || strcmp(th_a_, th_b_) != 0)       \
            th_fail(__FILE__, __LINE__, "CHECK_EQ_STR(%s, %s): \"%s\" != \"%s\"", \
                    #a, #b, th_a_ ? th_a_ : "(null)", th_b_ ? th_b_ : "(null)"); \
    } while (0)

/* EXPR (a sharedmem call) must return exactly 0. */
#define CHECK_OK(expr)                                                         \
    do {                                                                       \
        int th_r_ = (expr);                                                    \
        if (th_r_ != 0)                                                        \
            th_fail(__FILE__, __LINE__, "%s returned %d (%s: %s), expected 0", \
                    #expr, th_r_, smem_err_name(th_r_), smem_strerror(th_r_)); \
    } while (0)

/* EXPR (a sharedmem call) must return the error code CODE. */
#define CHECK_ERR(expr, code)                                                  \
    do {                                                                       \
        int th_r_ = (expr), th_c_ = (code);                                    \
        if (th_r_ != th_c_)                                                    \
            th_fail(__FILE__, __LINE__, "%s returned %d (%s: %s), expected %s (%d)", \
                    #expr, th_r_, smem_err_name(th_r_), smem_strerror(th_r_),  \
                    smem_err_name(th_c_), th_c_);                              \
    } while (0)

/* EXPR must return one of two error codes. */
#define CHECK_ERR2(expr, code1, code2)                                         \
    do {                                                                       \
        int th_r_ = (expr), th_c1_ = (code1), th_c2_ = (code2);                \
        if (th_r_ != th_c1_ && th_r_ != th_c2_)                                \
            th_fail(__FILE__, __LINE__,                                        \
                    "%s returned %d (%s: %s), expected %s or %s", #expr,       \
                    th_r_, smem_err_name(th_r_), smem_strerror(th_r_),         \
                    smem_err_name(th_c1_), smem_err_name(th_c2_));             \
    } while (0)

/* A system call that returns -1 with errno on failure. */
#define CHECK_SYS(expr)                                                        \
    do {                                                                       \
        if ((expr) == -1)                                                      \
            th_fail(__FILE__, __LINE__, "%s failed: %s", #expr,                \
                    strerror(errno));                                          \
    } while (0)

#define SKIP(...) th_skip(__VA_ARGS__)

/* ---- names and files -------------------------------------------------- */

/* Writes a region name unique to this run into buf (at least
 * SMEM_NAME_MAX + 1 bytes): "t<tag>-<pid>-<counter>", and registers it for
 * cleanup at exit.  Returns buf. */
char *th_name(char *buf, const char *tag);

/* Registers an extra name (made some other way) for cleanup at exit. */
void th_cleanup_name(const char *name);

/* Writes "/dev/shm/smem.NAME" into buf (at least 128 bytes).  Returns buf. */
char *th_shm_path(char *buf, const char *name);

/* 1 if /dev/shm/smem.NAME exists (any file type, not following symlinks). */
int th_shm_exists(const char *name);

/* Unlinks /dev/shm/smem.NAME (or removes the directory) if present. */
void th_shm_unlink(const char *name);

/* Number of entries in /dev/shm whose name starts with PREFIX. */
int th_shm_count(const char *prefix);

/* Number of open descriptors / lines of /proc/self/maps. */
int th_count_fds(void);
int th_count_maps(void);

/* Reads or writes a whole small file; returns bytes transferred or -1. */
ssize_t th_read_file(const char *path, void *buf, size_t len);

/* Fills buf with a byte pattern depending on seed. */
void th_pattern(void *buf, size_t len, unsigned seed);
/* 1 if buf holds th_pattern(seed). */
int th_pattern_ok(const void *buf, size_t len, unsigned seed);
/* 1 if all len bytes are zero. */
int th_all_zero(const void *buf, size_t len);

/* Monotonic clock in milliseconds. */
int64_t th_now_ms(void);
void th_sleep_ms(int ms);

/* ---- helper processes ------------------------------------------------- */

typedef struct th_proc {
    pid_t pid;
    int to;   /* write end of the helper's stdin, or -1 */
    int from; /* read end of the helper's stdout, or -1 */
} th_proc;

/* Starts "/proc/self/exe --helper ROLE ARGS..." (ARGS NULL-terminated) with
 * pipes on its stdin and stdout.  If extra_fd >= 0 it becomes the helper's
 * descriptor 3.  Fails the test if the helper cannot be started. */
void th_spawn(th_proc *p, int extra_fd, const char *role, ...);

/* Sends a line (a newline is appended) to the helper's stdin. */
TH_PRINTF(2, 3) void th_send(th_proc *p, const char *fmt, ...);

/* Reads one line (without its newline) from the helper's stdout into buf,
 * failing the test on EOF or if nothing comes within timeout_ms. */
void th_recv(th_proc *p, char *buf, size_t len, int timeout_ms);

/* Reads a line and fails unless it equals EXPECT. */
void th_expect(th_proc *p, const char *expect, int timeout_ms);

/* Closes our ends of the pipes and waits for the helper; returns its raw
 * wait status.  If it has not exited within timeout_ms it is killed and the
 * test fails. */
int th_wait(th_proc *p, int timeout_ms);

/* Like th_wait, and fails unless the helper exited with status 0. */
void th_wait_ok(th_proc *p, int timeout_ms);

/* SIGKILLs the helper and reaps it. */
void th_kill(th_proc *p);

/* Waits for any child pid; kills it and fails after timeout_ms.  Returns
 * the raw wait status. */
int th_waitpid(pid_t pid, int timeout_ms);

/* A short description of a wait status ("exit 1", "signal 11"). */
const char *th_status_str(int status);

/* In a helper: a line to / from the parent (stdout / stdin). */
TH_PRINTF(1, 2) void th_say(const char *fmt, ...);
/* Reads one line from stdin; returns 0, or -1 on EOF. */
int th_listen(char *buf, size_t len);

typedef struct th_helper {
    const char *role;
    int (*fn)(int argc, char **argv); /* argv[0] is the first argument after ROLE */
} th_helper;

/* Call first thing in main(): if argv[1] is "--helper", runs the role from
 * HELPERS (terminated by {NULL, NULL}) and exits with its return value.
 * Otherwise returns, and remembers this process as the test's main one. */
void th_dispatch(int argc, char **argv, const th_helper *helpers);

/* 1 when running as root (tests needing it skip otherwise). */
int th_is_root(void);

#endif
