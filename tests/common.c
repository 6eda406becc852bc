/* common.c — the portable part of the test kit declared in check.h; the
 * operating system's part is in kit-posix.c or kit-win.c (kit.h). */
#include "kit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pid_t main_pid;          /* the test process (not a helper or a fork) */
static const char *helper_role; /* set in a helper */
static const char *argv0 = "test";

static char **names; /* registered for cleanup */
static size_t n_names, cap_names;

#define MAX_PROCS 256
static struct {
    pid_t pid;
    void *handle;
} procs[MAX_PROCS]; /* helpers not yet reaped */

/* ---- assertions ------------------------------------------------------- */

TH_PRINTF(4, 0)
static void vreport(const char *kind, const char *file, int line, const char *fmt, va_list ap)
{
    char msg[2048];
    int n = 0;
    if (helper_role)
        n = snprintf(msg, sizeof msg, "[helper %s, pid %d] ", helper_role, (int)getpid());
    else if (main_pid && getpid() != main_pid)
        n = snprintf(msg, sizeof msg, "[child pid %d] ", (int)getpid());
    if (n < 0)
        n = 0;
    if (file)
        n += snprintf(msg + n, sizeof msg - (size_t)n, "%s:%d: ", file, line);
    n += snprintf(msg + n, sizeof msg - (size_t)n, "%s", kind);
    if ((size_t)n < sizeof msg)
        vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    fprintf(stderr, "%s\n", msg);
    fflush(stderr);
}

void th_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("FAIL: ", file, line, fmt, ap);
    va_end(ap);
    exit(1);
}

void th_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("SKIP: ", NULL, 0, fmt, ap);
    va_end(ap);
    exit(77);
}

void th_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("", NULL, 0, fmt, ap);
    va_end(ap);
}

/* ---- cleanup at exit -------------------------------------------------- */

static void cleanup(void)
{
    if (helper_role || getpid() != main_pid)
        return;
    for (int i = 0; i < MAX_PROCS; i++) {
        if (procs[i].pid > 0) {
            int st;
            th__os_kill(procs[i].pid, procs[i].handle);
            th__os_reap(procs[i].pid, procs[i].handle, -1, &st);
            procs[i].pid = 0;
        }
    }
    for (size_t i = 0; i < n_names; i++) {
        th_shm_unlink(names[i]);
        free(names[i]);
    }
    free(names);
    names = NULL;
    n_names = cap_names = 0;
}

void th_cleanup_name(const char *name)
{
    if (n_names == cap_names) {
        size_t cap = cap_names ? cap_names * 2 : 64;
        char **p = realloc(names, cap * sizeof *p);
        if (!p)
            FAIL("out of memory");
        names = p;
        cap_names = cap;
    }
    names[n_names] = strdup(name);
    if (!names[n_names])
        FAIL("out of memory");
    n_names++;
}

char *th_name(char *buf, const char *tag)
{
    static unsigned counter;
    int n = snprintf(buf, SMEM_NAME_MAX + 1, "t%s-%d-%u", tag, (int)getpid(), counter++);
    if (n < 0 || n > SMEM_NAME_MAX)
        FAIL("test name tag too long: %s", tag);
    th_cleanup_name(buf);
    return buf;
}

/* ---- bytes ------------------------------------------------------------ */

static unsigned char pattern_byte(size_t i, unsigned seed)
{
    return (unsigned char)((i * 131 + seed * 17 + (i >> 9)) % 255 + 1);
}

void th_pattern(void *buf, size_t len, unsigned seed)
{
    unsigned char *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = pattern_byte(i, seed);
}

int th_pattern_ok(const void *buf, size_t len, unsigned seed)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < len; i++)
        if (p[i] != pattern_byte(i, seed))
            return 0;
    return 1;
}

int th_all_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return 0;
    return 1;
}

/* ---- helper processes ------------------------------------------------- */

static void track(const th_proc *p)
{
    for (int i = 0; i < MAX_PROCS; i++) {
        if (procs[i].pid == 0) {
            procs[i].pid = p->pid;
            procs[i].handle = p->handle;
            return;
        }
    }
}

/* Forgets PID; returns the handle the kit held for it (NULL if none). */
static void *untrack(pid_t pid)
{
    void *handle = NULL;
    for (int i = 0; i < MAX_PROCS; i++) {
        if (procs[i].pid == pid) {
            handle = procs[i].handle;
            procs[i].pid = 0;
        }
    }
    return handle;
}

void th_spawn(th_proc *p, int extra_fd, const char *role, ...)
{
    const char *args[64];
    int argc = 0;
    args[argc++] = argv0;
    args[argc++] = "--helper";
    args[argc++] = role;
    va_list ap;
    va_start(ap, role);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        if (argc >= 62)
            FAIL("too many helper arguments");
        args[argc++] = a;
    }
    va_end(ap);
    args[argc] = NULL;

    fflush(NULL);
    th__os_spawn(p, extra_fd, args);
    track(p);
}

TH_PRINTF(3, 0)
static int format_line(char *buf, size_t size, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, size - 1, fmt, ap);
    if (n < 0 || n >= (int)size - 1)
        FAIL("line too long to send: %s", fmt);
    buf[n++] = '\n';
    return n;
}

void th_send(th_proc *p, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = format_line(buf, sizeof buf, fmt, ap);
    va_end(ap);
    th__os_send(p, buf, (size_t)n);
}

void th_recv(th_proc *p, char *buf, size_t len, int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    size_t n = 0;
    for (;;) {
        if (!th__os_poll(p, deadline)) {
            buf[n < len ? n : len - 1] = '\0';
            FAIL("helper %d sent no line within %d ms (partial: \"%s\")", (int)p->pid,
                 timeout_ms, buf);
        }
        char c;
        if (!th__os_recv(p, &c)) {
            int st = th_wait(p, 5000);
            FAIL("helper %d ended (%s) instead of sending a line", (int)p->pid, th_status_str(st));
        }
        if (c == '\n')
            break;
        if (n + 1 < len)
            buf[n++] = c;
    }
    buf[n] = '\0';
}

void th_expect(th_proc *p, const char *expect, int timeout_ms)
{
    char line[512];
    th_recv(p, line, sizeof line, timeout_ms);
    if (strcmp(line, expect) != 0)
        FAIL("helper %d said \"%s\", expected \"%s\"", (int)p->pid, line, expect);
}

int th_ready(th_proc *p, int timeout_ms)
{
    return th__os_poll(p, th_now_ms() + timeout_ms);
}

int th_waitpid(pid_t pid, int timeout_ms)
{
    void *handle = untrack(pid);
    int st;
    if (th__os_reap(pid, handle, timeout_ms, &st))
        return st;
    th__os_kill(pid, handle);
    th__os_reap(pid, handle, -1, &st);
    FAIL("process %d did not exit within %d ms; killed it", (int)pid, timeout_ms);
}

int th_wait(th_proc *p, int timeout_ms)
{
    th__os_close_pipes(p);
    int st = th_waitpid(p->pid, timeout_ms);
    p->handle = NULL; /* freed with the process */
    return st;
}

void th_wait_ok(th_proc *p, int timeout_ms)
{
    pid_t pid = p->pid;
    int st = th_wait(p, timeout_ms);
    if (th_exit_code(st) != 0)
        FAIL("helper %d ended with %s", (int)pid, th_status_str(st));
}

void th_kill(th_proc *p)
{
    th__os_kill(p->pid, p->handle);
    int st = th_wait(p, 10000);
    if (!th_was_killed(st))
        FAIL("helper %d ended with %s before it was killed", (int)p->pid, th_status_str(st));
}

void th_say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = format_line(buf, sizeof buf, fmt, ap);
    va_end(ap);
    th__os_say(buf, (size_t)n);
}

int th_listen(char *buf, size_t len)
{
    size_t n = 0;
    for (;;) {
        char c;
        if (!th__os_listen(&c)) {
            buf[n] = '\0';
            return -1;
        }
        if (c == '\n')
            break;
        if (n + 1 < len)
            buf[n++] = c;
    }
    buf[n] = '\0';
    return 0;
}

int th_listen_ready(void)
{
    return th__os_listen_ready();
}

void th_dispatch(int argc, char **argv, const th_helper *helpers)
{
    th__os_init();
    if (argc > 0)
        argv0 = argv[0];
    if (argc >= 3 && strcmp(argv[1], "--helper") == 0) {
        helper_role = argv[2];
        for (const th_helper *h = helpers; h && h->role; h++)
            if (strcmp(h->role, argv[2]) == 0)
                exit(h->fn(argc - 3, argv + 3));
        FAIL("unknown helper role %s", argv[2]);
    }
    if (argc >= 2 && strcmp(argv[1], "--helper") == 0)
        FAIL("--helper needs a role");
    main_pid = getpid();
    atexit(cleanup);
    setvbuf(stdout, NULL, _IONBF, 0);
}
