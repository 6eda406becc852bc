/* common.c — implementation of the test kit declared in check.h. */
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t main_pid;          /* the test process (not a helper or a fork) */
static const char *helper_role; /* set in a helper */
static const char *argv0 = "test";

static char **names; /* registered for cleanup */
static size_t n_names, cap_names;

#define MAX_PROCS 256
static pid_t procs[MAX_PROCS]; /* helpers not yet reaped */

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
        if (procs[i] > 0) {
            kill(procs[i], SIGKILL);
            waitpid(procs[i], NULL, 0);
            procs[i] = 0;
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

char *th_shm_path(char *buf, const char *name)
{
    snprintf(buf, 128, "/dev/shm/smem.%s", name);
    return buf;
}

int th_shm_exists(const char *name)
{
    char path[128];
    struct stat st;
    return lstat(th_shm_path(path, name), &st) == 0;
}

void th_shm_unlink(const char *name)
{
    char path[128];
    th_shm_path(path, name);
    if (unlink(path) != 0 && (errno == EISDIR || errno == EPERM))
        rmdir(path);
}

int th_shm_count(const char *prefix)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        FAIL("opendir /dev/shm: %s", strerror(errno));
    int n = 0;
    size_t len = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            strncmp(e->d_name, prefix, len) == 0)
            n++;
    }
    closedir(d);
    return n;
}

int th_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        FAIL("opendir /proc/self/fd: %s", strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* not the directory's own descriptor */
}

int th_count_maps(void)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        FAIL("open /proc/self/maps: %s", strerror(errno));
    char buf[8192];
    int lines = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    close(fd);
    return lines;
}

ssize_t th_read_file(const char *path, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return (ssize_t)got;
}

void th_pattern(void *buf, size_t len, unsigned seed)
{
    unsigned char *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)((i * 131 + seed * 17 + (i >> 9)) % 255 + 1);
}

int th_pattern_ok(const void *buf, size_t len, unsigned seed)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < len; i++)
        if (p[i] != (unsigned char)((i * 131 + seed * 17 + (i >> 9)) % 255 + 1))
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

int64_t th_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void th_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int th_is_root(void)
{
    return geteuid() == 0;
}

/* ---- helper processes ------------------------------------------------- */

static void track(pid_t pid)
{
    for (int i = 0; i < MAX_PROCS; i++) {
        if (procs[i] == 0) {
            procs[i] = pid;
            return;
        }
    }
}

static void untrack(pid_t pid)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i] == pid)
            procs[i] = 0;
}

void th_spawn(th_proc *p, int extra_fd, const char *role, ...)
{
    const char *argv[64];
    int argc = 0;
    argv[argc++] = argv0;
    argv[argc++] = "--helper";
    argv[argc++] = role;
    va_list ap;
    va_start(ap, role);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        if (argc >= 62)
            FAIL("too many helper arguments");
        argv[argc++] = a;
    }
    va_end(ap);
    argv[argc] = NULL;

    int in[2], out[2];
    CHECK_SYS(pipe2(in, O_CLOEXEC));
    CHECK_SYS(pipe2(out, O_CLOEXEC));
    fflush(NULL);
    pid_t pid = fork();
    CHECK_SYS(pid);
    if (pid == 0) {
        /* Only async-signal-safe calls until exec. */
        if (extra_fd >= 0) {
            if (extra_fd == 3)
                fcntl(3, F_SETFD, 0);
            else if (dup2(extra_fd, 3) < 0)
                _exit(127);
        }
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
            _exit(127);
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->pid = pid;
    p->to = in[1];
    p->from = out[0];
    track(pid);
}

void th_send(th_proc *p, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof buf - 1)
        FAIL("th_send: line too long");
    buf[n++] = '\n';
    for (int off = 0; off < n;) {
        ssize_t w = write(p->to, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            FAIL("writing to helper %d: %s", (int)p->pid, strerror(errno));
        off += (int)w;
    }
}

void th_recv(th_proc *p, char *buf, size_t len, int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    size_t n = 0;
    for (;;) {
        int left = (int)(deadline - th_now_ms());
        if (left < 0)
            left = 0;
        struct pollfd pfd = {p->from, POLLIN, 0};
        int r = poll(&pfd, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            FAIL("poll: %s", strerror(errno));
        if (r == 0) {
            buf[n < len ? n : len - 1] = '\0';
            FAIL("helper %d sent no line within %d ms (partial: \"%s\")", (int)p->pid,
                 timeout_ms, buf);
        }
        char c;
        ssize_t got = read(p->from, &c, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            FAIL("reading from helper %d: %s", (int)p->pid, strerror(errno));
        if (got == 0) {
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

const char *th_status_str(int status)
{
    static char buf[64];
    if (WIFEXITED(status))
        snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, sizeof buf, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, sizeof buf, "status 0x%x", status);
    return buf;
}

int th_waitpid(pid_t pid, int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    int delay = 1;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            untrack(pid);
            return st;
        }
        if (r < 0 && errno != EINTR)
            FAIL("waitpid(%d): %s", (int)pid, strerror(errno));
        if (th_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            untrack(pid);
            FAIL("process %d did not exit within %d ms; killed it", (int)pid, timeout_ms);
        }
        th_sleep_ms(delay);
        if (delay < 10)
            delay++;
    }
}

int th_wait(th_proc *p, int timeout_ms)
{
    if (p->to >= 0)
        close(p->to);
    if (p->from >= 0)
        close(p->from);
    p->to = p->from = -1;
    return th_waitpid(p->pid, timeout_ms);
}

void th_wait_ok(th_proc *p, int timeout_ms)
{
    pid_t pid = p->pid;
    int st = th_wait(p, timeout_ms);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        FAIL("helper %d ended with %s", (int)pid, th_status_str(st));
}

void th_kill(th_proc *p)
{
    kill(p->pid, SIGKILL);
    int st = th_wait(p, 10000);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
        FAIL("helper %d ended with %s before SIGKILL", (int)p->pid, th_status_str(st));
}

void th_say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof buf - 1)
        FAIL("th_say: line too long");
    buf[n++] = '\n';
    for (int off = 0; off < n;) {
        ssize_t w = write(1, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            FAIL("writing to parent: %s", strerror(errno));
        off += (int)w;
    }
}

int th_listen(char *buf, size_t len)
{
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t got = read(0, &c, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            FAIL("reading from parent: %s", strerror(errno));
        if (got == 0) {
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

void th_dispatch(int argc, char **argv, const th_helper *helpers)
{
    if (argc > 0)
        argv0 = argv[0];
    signal(SIGPIPE, SIG_IGN);
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
