/*
 * check.h — the test suite's tiny assertion and helper-process kit.
 *
 * Every test is a standalone program: exit 0 = pass, 1 = fail, 77 = skip.
 * A failed CHECK prints file:line, the expression and the values (with the
 * sharedmem error name and message for error codes) and exits 1.
 *
 * Cross-process tests re-run their own binary as a helper:
 *     ./test_x --helper ROLE ARGS...
 * th_spawn() does that (fork + exec of /proc/self/exe on Linux,
 * CreateProcessW of the program's own .exe on Windows), so a helper is an
 * unrelated, fresh process image; th_dispatch() at the top of main() runs
 * the role.  A helper talks to the parent by lines on its stdin / stdout.
 *
 * Every region name made with th_name() is unlinked from /dev/shm when the
 * test process exits (pass or fail; on Windows its objects go with their
 * last handle), and every helper still running is killed.
 *
 * The kit is portable: common.c, plus kit-posix.c or kit-win.c for what
 * the operating system does.  A test asks TH_WINDOWS (below) or a kit
 * function rather than testing for a system itself.
 */
#ifndef SMEM_TEST_CHECK_H
#define SMEM_TEST_CHECK_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "sharedmem.h"

#if defined(__MINGW32__) /* C99 formats (%zu): the kit builds with __USE_MINGW_ANSI_STDIO */
#define TH_PRINTF(a, b) __attribute__((format(gnu_printf, a, b)))
#define TH_NORETURN __attribute__((noreturn))
#elif defined(__GNUC__)
#define TH_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define TH_NORETURN __attribute__((noreturn))
#else
#define TH_PRINTF(a, b)
#define TH_NORETURN
#endif

/* ---- the platform ----------------------------------------------------- */

/* 1 on Windows.  What differs there, for sharedmem's tests: a region is a
 * section that Windows destroys with its last handle (so nothing outlives
 * its users: no SMEM_PERSIST without a holder, no stale regions), a name
 * cannot be removed while anyone holds it (SMEM_EBUSY), and there are no
 * files, uids, fork() or POSIX signals. */
#ifdef _WIN32
#define TH_WINDOWS 1
#else
#define TH_WINDOWS 0
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

/* ---- names and objects ------------------------------------------------ */

/* Writes a region name unique to this run into buf (at least
 * SMEM_NAME_MAX + 1 bytes): "t<tag>-<pid>-<counter>", and registers it for
 * cleanup at exit.  Returns buf. */
char *th_name(char *buf, const char *tag);

/* Registers an extra name (made some other way) for cleanup at exit. */
void th_cleanup_name(const char *name);

/* The object behind region NAME is "smem.NAME": the file /dev/shm/smem.NAME
 * on Linux, the section Local\smem.NAME on Windows.  The functions below
 * look at or change it without going through the library. */

/* Writes the object's path, "/dev/shm/smem.NAME" (Windows:
 * "Local\smem.NAME"), into buf (at least 128 bytes).  Returns buf. */
char *th_shm_path(char *buf, const char *name);

/* 1 if the object of region NAME exists (on Linux any file type, not
 * following symlinks). */
int th_shm_exists(const char *name);

/* Opens the object behind region NAME as an onlooker would (stat, ls: no
 * lock, no attach) and keeps it open until th_shm_let_go.  Fails the test
 * if it does not exist. */
void *th_shm_look(const char *name);
void th_shm_let_go(void *look);

/* Unlinks /dev/shm/smem.NAME (or removes the directory) if present; on
 * Windows, where a name cannot be unlinked, drops the object if the kit
 * planted it (th_obj_plant) and else does nothing. */
void th_shm_unlink(const char *name);

/* How many tables (objects beside a map that grew: os-posix-table.c) the
 * map NAME has; 0 on Windows, where maps do not grow yet. */
int th_shm_tables(const char *name);

/* Number of shared-memory objects (on Windows: named kernel objects of
 * this session) whose name starts with PREFIX, e.g. "smem.tx-". */
int th_shm_count(const char *prefix);

/* Creates the shared-memory object OBJ (a whole object name such as
 * "smem.NAME") that is not a region of the library's making, holding the
 * LEN bytes at BUF (zeros if BUF is NULL), with the owner and access the
 * library gives its own.  Linux: the file /dev/shm/OBJ, mode 0600.
 * Windows: a section (never empty: LEN 0 gives one zero byte) that the
 * kit holds open, or it would vanish, until th_obj_remove or the end of
 * the process.  Fails the test if OBJ exists. */
void th_obj_plant(const char *obj, const void *buf, size_t len);
/* Removes a planted OBJ. */
void th_obj_remove(const char *obj);

/* Writes LEN bytes at offset OFF of region NAME's bytes as the portable
 * layers of the library see them, header first: the whole file on Linux;
 * on Windows the section after the 64 bytes that src/os-win.c keeps for
 * itself.  On Linux a plain file is created if missing; a Windows section
 * must exist, and keeps its size.  Fails the test on error. */
void th_shm_write(const char *name, uint64_t off, const void *buf, size_t len);
/* Reads up to LEN bytes from the start of the region NAME (as above);
 * returns how many (its whole size if LEN is larger), or -1 if it does not
 * exist. */
ssize_t th_shm_read(const char *name, void *buf, size_t len);
/* 1 if th_shm_truncate can change an object's size (files: Linux), 0 if
 * sizes are fixed at creation (sections: Windows). */
int th_shm_resizable(void);
/* Sets the size of the object of region NAME; fails the test on error or
 * where !th_shm_resizable(). */
void th_shm_truncate(const char *name, uint64_t len);

/* Number of open descriptors (Windows: handles) of this process. */
int th_count_fds(void);
/* Number of memory mappings of this process (lines of /proc/self/maps;
 * Windows: allocations in the address space), and of those the ones of
 * shared-memory objects (of /dev/shm; Windows: views of sections). */
int th_count_maps(void);
int th_count_shm_maps(void);

/* Reads a whole small file; returns the bytes read or -1. */
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

/* 1 when running as root (tests needing it skip otherwise); 0 on Windows. */
int th_is_root(void);

/* The uid smem_info reports for our own regions: geteuid(); 0 on Windows. */
unsigned th_uid(void);

/* ---- helper processes ------------------------------------------------- */

typedef struct th_proc {
    pid_t pid;
    int to;       /* write end of the helper's stdin, or -1 */
    int from;     /* read end of the helper's stdout, or -1 */
    void *handle; /* Windows: the process handle; NULL elsewhere */
} th_proc;

/* Starts "this program --helper ROLE ARGS..." (ARGS NULL-terminated) with
 * pipes on its stdin and stdout.  If extra_fd >= 0 it becomes the helper's
 * descriptor 3 (not on Windows: there it fails the test).  Fails the test
 * if the helper cannot be started. */
void th_spawn(th_proc *p, int extra_fd, const char *role, ...);

/* Sends a line (a newline is appended) to the helper's stdin. */
TH_PRINTF(2, 3) void th_send(th_proc *p, const char *fmt, ...);

/* Reads one line (without its newline) from the helper's stdout into buf,
 * failing the test on EOF or if nothing comes within timeout_ms. */
void th_recv(th_proc *p, char *buf, size_t len, int timeout_ms);

/* Reads a line and fails unless it equals EXPECT. */
void th_expect(th_proc *p, const char *expect, int timeout_ms);

/* 1 if the helper's stdout has something to read (or is at EOF) within
 * timeout_ms, else 0.  Reads nothing. */
int th_ready(th_proc *p, int timeout_ms);

/* Closes our ends of the pipes and waits for the helper; returns its raw
 * status (see th_exit_code).  If it has not exited within timeout_ms it is
 * killed and the test fails. */
int th_wait(th_proc *p, int timeout_ms);

/* Like th_wait, and fails unless the helper exited with status 0. */
void th_wait_ok(th_proc *p, int timeout_ms);

/* Kills the helper the hard way (SIGKILL; TerminateProcess on Windows)
 * and reaps it. */
void th_kill(th_proc *p);

/* Waits for a child process (a helper, or a fork on POSIX); kills it and
 * fails after timeout_ms.  Returns the raw status. */
int th_waitpid(pid_t pid, int timeout_ms);

/* What a raw status says: the exit code of a process that exited (-1 if
 * it did not: killed or crashed); 1 if th_kill killed it; 1 if it died of
 * a bad memory access (SIGSEGV; an access violation on Windows). */
int th_exit_code(int status);
int th_was_killed(int status);
int th_was_segv(int status);

/* A short description of a raw status ("exit 1", "signal 11 (...)"). */
const char *th_status_str(int status);

/* In a helper: a line to / from the parent (stdout / stdin). */
TH_PRINTF(1, 2) void th_say(const char *fmt, ...);
/* Reads one line from stdin; returns 0, or -1 on EOF. */
int th_listen(char *buf, size_t len);
/* 1 if input (or EOF) from the parent is waiting, else 0. */
int th_listen_ready(void);

typedef struct th_helper {
    const char *role;
    int (*fn)(int argc, char **argv); /* argv[0] is the first argument after ROLE */
} th_helper;

/* Call first thing in main(): if argv[1] is "--helper", runs the role from
 * HELPERS (terminated by {NULL, NULL}) and exits with its return value.
 * Otherwise returns, and remembers this process as the test's main one. */
void th_dispatch(int argc, char **argv, const th_helper *helpers);

/* ---- starting gates --------------------------------------------------- */

/* A gate that helpers wait at until the test opens it, releasing them all
 * at once (to make them race).  Make it before spawning the helpers that
 * will wait at it (on POSIX they inherit it), pass its id to them, and
 * open it once.  Linux: a pipe; Windows: a named event. */
typedef struct th_gate {
    char id[64]; /* what a helper passes to th_gate_wait */
    int fd[2];
    void *event;
} th_gate;

void th_gate_make(th_gate *g);
void th_gate_open(th_gate *g);
/* In a helper: blocks until the gate ID is open. */
void th_gate_wait(const char *id);

#endif
