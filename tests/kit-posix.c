/* kit-posix.c — the test kit on Linux: files in /dev/shm, fork + exec,
 * pipes, wait statuses (kit.h). */
#include "kit.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- objects: files in /dev/shm --------------------------------------- */

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

void *th_shm_look(const char *name)
{
    char path[128];
    int fd = open(th_shm_path(path, name), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        FAIL("looking at %s: %s", path, strerror(errno));
    return (void *)(intptr_t)(fd + 1); /* never NULL */
}

void th_shm_let_go(void *look)
{
    close((int)(intptr_t)look - 1);
}

/* The lock file the library keeps beside the region NAME (os-posix.c). */
static char *lock_path(char *buf, const char *name)
{
    snprintf(buf, 128, "/dev/shm/smem.-lock.%s", name);
    return buf;
}

/* Whether FILE (in /dev/shm) is a table of the map NAME, a file
 * "smem.-table.NAME.GEN" the library keeps beside a map that grew
 * (os-posix-table.c). */
static int is_table_of(const char *file, const char *name)
{
    char prefix[160];
    int n = snprintf(prefix, sizeof prefix, "smem.-table.%s.", name);
    if (strncmp(file, prefix, (size_t)n) != 0 || file[n] == '\0')
        return 0;
    return strspn(file + n, "0123456789") == strlen(file + n);
}

void th_shm_unlink(const char *name)
{
    char path[128];
    th_shm_path(path, name);
    if (unlink(path) != 0 && (errno == EISDIR || errno == EPERM))
        rmdir(path);
    unlink(lock_path(path, name));
    DIR *d = opendir("/dev/shm");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (is_table_of(e->d_name, name))
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

int th_shm_tables(const char *name)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        FAIL("opendir /dev/shm: %s", strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += is_table_of(e->d_name, name);
    closedir(d);
    return n;
}

int th_shm_count(const char *prefix)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        FAIL("opendir /dev/shm: %s", strerror(errno));
    int n = 0;
    size_t len = strlen(prefix);
    /* A region's lock file counts too: "smem.NAME" has "smem.-lock.NAME". */
    char lock_prefix[160] = "";
    if (strncmp(prefix, "smem.", 5) == 0)
        snprintf(lock_prefix, sizeof lock_prefix, "smem.-lock.%s", prefix + 5);
    size_t lock_len = strlen(lock_prefix);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strncmp(e->d_name, prefix, len) == 0 ||
            (lock_len && strncmp(e->d_name, lock_prefix, lock_len) == 0))
            n++;
    }
    closedir(d);
    return n;
}

static void write_all(int fd, const void *buf, size_t len, const char *what)
{
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, (const char *)buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            FAIL("writing to %s: %s", what, strerror(errno));
        off += (size_t)w;
    }
}

void th_obj_plant(const char *obj, const void *buf, size_t len)
{
    char path[160];
    snprintf(path, sizeof path, "/dev/shm/%s", obj);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        FAIL("creating %s: %s", path, strerror(errno));
    if (buf)
        write_all(fd, buf, len, path);
    else if (ftruncate(fd, (off_t)len) != 0)
        FAIL("sizing %s: %s", path, strerror(errno));
    close(fd);
}

void th_obj_remove(const char *obj)
{
    char path[160];
    snprintf(path, sizeof path, "/dev/shm/%s", obj);
    unlink(path);
}

void th_shm_write(const char *name, uint64_t off, const void *buf, size_t len)
{
    char path[128];
    int fd = open(th_shm_path(path, name), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        FAIL("opening %s: %s", path, strerror(errno));
    if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
        FAIL("writing %zu bytes to %s: %s", len, path, strerror(errno));
    close(fd);
}

ssize_t th_shm_read(const char *name, void *buf, size_t len)
{
    char path[128];
    return th_read_file(th_shm_path(path, name), buf, len);
}

int th_shm_resizable(void)
{
    return 1;
}

void th_shm_truncate(const char *name, uint64_t len)
{
    char path[128];
    if (truncate(th_shm_path(path, name), (off_t)len) != 0)
        FAIL("truncating %s to %llu bytes: %s", path, (unsigned long long)len, strerror(errno));
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

/* ---- this process ----------------------------------------------------- */

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

/* Lines of /proc/self/maps that contain WHAT (all lines if NULL). */
static int count_map_lines(const char *what)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        FAIL("open /proc/self/maps: %s", strerror(errno));
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (!what || strstr(line, what))
            n++;
    fclose(f);
    return n;
}

int th_count_maps(void)
{
    return count_map_lines(NULL);
}

int th_count_shm_maps(void)
{
    return count_map_lines("/dev/shm/");
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

unsigned th_uid(void)
{
    return (unsigned)geteuid();
}

void th__os_init(void)
{
    signal(SIGPIPE, SIG_IGN);
}

/* ---- helper processes: fork + exec of /proc/self/exe ------------------ */

void th__os_spawn(th_proc *p, int extra_fd, const char *const *args)
{
    int in[2], out[2];
    CHECK_SYS(pipe2(in, O_CLOEXEC));
    CHECK_SYS(pipe2(out, O_CLOEXEC));
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
        execv("/proc/self/exe", (char *const *)args);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->pid = pid;
    p->to = in[1];
    p->from = out[0];
    p->handle = NULL;
}

void th__os_send(th_proc *p, const char *buf, size_t len)
{
    char what[32];
    snprintf(what, sizeof what, "helper %d", (int)p->pid);
    write_all(p->to, buf, len, what);
}

int th__os_poll(th_proc *p, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - th_now_ms();
        struct pollfd pfd = {p->from, POLLIN, 0};
        int r = poll(&pfd, 1, left < 0 ? 0 : (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            FAIL("poll: %s", strerror(errno));
        return r > 0;
    }
}

int th__os_recv(th_proc *p, char *c)
{
    for (;;) {
        ssize_t got = read(p->from, c, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            FAIL("reading from helper %d: %s", (int)p->pid, strerror(errno));
        return got == 1;
    }
}

void th__os_close_pipes(th_proc *p)
{
    if (p->to >= 0)
        close(p->to);
    if (p->from >= 0)
        close(p->from);
    p->to = p->from = -1;
}

int th__os_reap(pid_t pid, void *handle, int timeout_ms, int *status)
{
    (void)handle;
    int64_t deadline = th_now_ms() + timeout_ms;
    int delay = 1;
    for (;;) {
        pid_t r = waitpid(pid, status, timeout_ms < 0 ? 0 : WNOHANG);
        if (r == pid)
            return 1;
        if (r < 0 && errno != EINTR)
            FAIL("waitpid(%d): %s", (int)pid, strerror(errno));
        if (r == 0 && th_now_ms() > deadline)
            return 0;
        if (r == 0)
            th_sleep_ms(delay);
        if (delay < 10)
            delay++;
    }
}

void th__os_kill(pid_t pid, void *handle)
{
    (void)handle;
    kill(pid, SIGKILL);
}

int th_exit_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int th_was_killed(int status)
{
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

int th_was_segv(int status)
{
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
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

/* ---- in a helper: stdin and stdout ------------------------------------ */

void th__os_say(const char *buf, size_t len)
{
    write_all(1, buf, len, "the parent");
}

int th__os_listen(char *c)
{
    for (;;) {
        ssize_t got = read(0, c, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            FAIL("reading from parent: %s", strerror(errno));
        return got == 1;
    }
}

int th__os_listen_ready(void)
{
    struct pollfd pfd = {0, POLLIN, 0};
    return poll(&pfd, 1, 0) > 0;
}

/* ---- starting gates: a pipe whose write end only we hold -------------- */

void th_gate_make(th_gate *g)
{
    CHECK_SYS(pipe2(g->fd, O_CLOEXEC));
    CHECK_SYS(fcntl(g->fd[0], F_SETFD, 0)); /* helpers inherit the read end */
    snprintf(g->id, sizeof g->id, "%d", g->fd[0]);
    g->event = NULL;
}

void th_gate_open(th_gate *g)
{
    close(g->fd[1]); /* EOF to every reader at once */
    close(g->fd[0]);
    g->fd[0] = g->fd[1] = -1;
}

void th_gate_wait(const char *id)
{
    int fd = atoi(id);
    char c;
    ssize_t n;
    while ((n = read(fd, &c, 1)) < 0 && errno == EINTR) {
    }
    CHECKF(n == 0, "gate %s: read gave %zd (%s)", id, n, n < 0 ? strerror(errno) : "data");
    close(fd);
}
