/*
 * The benchmarks' OS part on Linux (see bench.h).
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

long bench_pid(void)
{
    return (long)getpid();
}

const char bench_raw_attach_label[] = "raw shm_open+fstat+mmap+munmap+close";

double bench_raw_attach(const char *name, int iters)
{
    char shm_name[80];
    snprintf(shm_name, sizeof shm_name, "/smem.%s", name);
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < iters; i++) {
        int fd = shm_open(shm_name, O_RDWR, 0);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) < 0) {
            perror("bench-region: shm_open/fstat");
            exit(1);
        }
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            perror("bench-region: mmap");
            exit(1);
        }
        munmap(p, (size_t)sb.st_size);
        close(fd);
    }
    return (double)(bench_now_ns() - t0) / iters;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Wake-up latency between two processes                                   */

/* Shared between the two processes of a latency run. */
struct board {
    uint32_t ready;   /* the waiter is about to wait (sequence number) */
    uint32_t word;    /* raw futex / spin word */
    int64_t sent_at;  /* when the setter published */
    int64_t seen_at;  /* when the waiter returned */
    uint32_t done;    /* the waiter has recorded seen_at (sequence number) */
};

static void futex_wait(uint32_t *w, uint32_t expected)
{
    syscall(SYS_futex, w, FUTEX_WAIT, expected, NULL, NULL, 0);
}

static void futex_wake(uint32_t *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void spin_for(int64_t ns)
{
    int64_t end = bench_now_ns() + ns;
    while (bench_now_ns() < end) {
    }
}

enum mode { RAW_FUTEX, RAW_SPIN, SMEM_SLEEPING, SMEM_SPINNING };

/* The waiter's side of one run: N rounds. */
static void waiter(enum mode mode, struct board *bd, const char *name, int n)
{
    smem_value *v = NULL;
    if (mode >= SMEM_SLEEPING && smem_value_open(name, 0, &(smem_opts){.flags = SMEM_NOCREATE}, &v) < 0)
        _exit(1);
    for (int i = 1; i <= n; i++) {
        uint32_t w = __atomic_load_n(&bd->word, __ATOMIC_ACQUIRE);
        uint64_t seen = v ? smem_value_version(v) : 0;
        __atomic_store_n(&bd->ready, (uint32_t)i, __ATOMIC_RELEASE);
        switch (mode) {
        case RAW_FUTEX:
            while (__atomic_load_n(&bd->word, __ATOMIC_ACQUIRE) == w)
                futex_wait(&bd->word, w);
            break;
        case RAW_SPIN:
            while (__atomic_load_n(&bd->word, __ATOMIC_ACQUIRE) == w) {
            }
            break;
        default:
            if (smem_value_wait(v, seen, 5000) < 0)
                _exit(1);
        }
        bd->seen_at = bench_now_ns();
        __atomic_store_n(&bd->done, (uint32_t)i, __ATOMIC_RELEASE);
    }
    smem_value_close(v);
    _exit(0);
}

/* One run: the setter publishes DELAY ns after the waiter said it was
 * about to wait.  Prints median and 99th percentile of set -> return. */
static void latency(const char *label, enum mode mode, smem_value *v, const char *name, int n,
                    int64_t delay, int64_t *median_out)
{
    struct board *bd = mmap(NULL, sizeof *bd, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                            -1, 0);
    if (bd == MAP_FAILED)
        bench_die("bench-value: mmap", SMEM_ENOMEM);
    memset(bd, 0, sizeof *bd);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        waiter(mode, bd, name, n);
    int64_t *lat = malloc(sizeof(int64_t) * (size_t)n);
    for (int i = 1; i <= n; i++) {
        while (__atomic_load_n(&bd->ready, __ATOMIC_ACQUIRE) != (uint32_t)i) {
        }
        spin_for(delay);
        int64_t t0 = bench_now_ns();
        if (mode == SMEM_SLEEPING || mode == SMEM_SPINNING) {
            smem_value_set(v, &t0, sizeof t0);
        } else {
            __atomic_fetch_add(&bd->word, 1, __ATOMIC_RELEASE);
            if (mode == RAW_FUTEX)
                futex_wake(&bd->word);
        }
        while (__atomic_load_n(&bd->done, __ATOMIC_ACQUIRE) != (uint32_t)i) {
        }
        lat[i - 1] = bd->seen_at - t0;
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench-value: waiter failed\n");
        exit(1);
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_i64);
    int64_t p50 = lat[n / 2], p99 = lat[(n * 99) / 100];
    printf("  %-44s median %7lld ns   p99 %7lld ns\n", label, (long long)p50, (long long)p99);
    *median_out = p50;
    free(lat);
    munmap(bd, sizeof *bd);
}


void bench_wake_latency(smem_value *v, const char *name, int samples)
{
    printf("\nfrom a set in one process to the waiter's return in another, %d samples:\n",
           samples);
    int64_t raw_futex, raw_spin, smem_sleep, smem_spin;
    /* The waiter has been asleep for 200 us (past the library's 20 us
     * spin) when the set comes. */
    latency("raw futex wake (waiter asleep)", RAW_FUTEX, v, name, samples, 200000, &raw_futex);
    latency("smem_value_wait (waiter asleep)", SMEM_SLEEPING, v, name, samples, 200000,
            &smem_sleep);
    /* The set comes 2 us after the waiter started waiting. */
    latency("raw spinning (waiter spinning)", RAW_SPIN, v, name, samples, 2000, &raw_spin);
    latency("smem_value_wait (waiter still spinning)", SMEM_SPINNING, v, name, samples, 2000,
            &smem_spin);
    printf("  ratios: asleep %.2fx raw futex (goal <= 1.2x); spinning %.2fx raw spin (goal <= 3x)\n",
           (double)smem_sleep / (double)raw_futex, (double)smem_spin / (double)raw_spin);
}

/* ------------------------------------------------------------------------ */
/* A private redis-server for bench-map                                     */

static volatile pid_t redis_pid; /* 0: none running */

void bench_redis_stop(void)
{
    pid_t pid = redis_pid;
    if (pid <= 0)
        return;
    redis_pid = 0;
    kill(pid, SIGTERM);
    /* Give it 5 s to exit, then kill it outright. */
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void redis_on_signal(int sig)
{
    pid_t pid = redis_pid;
    if (pid > 0) {
        /* Only async-signal-safe calls: stop it, and reap it if it exits
         * within a second. */
        kill(pid, SIGTERM);
        for (int i = 0; i < 100 && waitpid(pid, NULL, WNOHANG) == 0; i++)
            nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* The full path of redis-server on PATH into BUF, or 0 if there is none. */
static int find_redis(char *buf, size_t size)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        if (n > 0 && (size_t)snprintf(buf, size, "%.*s/redis-server", (int)n, path) < size &&
            access(buf, X_OK) == 0)
            return 1;
        path += n + (end ? 1 : 0);
    }
    return 0;
}

/* A TCP port on 127.0.0.1 that nothing listens on right now, or -1. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static int can_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

int bench_redis_start(int *port_out)
{
    char exe[4096];
    if (!find_redis(exe, sizeof exe))
        return SMEM_ENOENT;
    static int hooked;
    if (!hooked) {
        hooked = 1;
        atexit(bench_redis_stop);
        signal(SIGINT, redis_on_signal);
        signal(SIGTERM, redis_on_signal);
        signal(SIGHUP, redis_on_signal);
    }
    /* Another program may take the free port between our look and the
     * server's bind: then the server exits, and we try another port. */
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = free_port();
        if (port < 0)
            return -errno;
        char portstr[16];
        snprintf(portstr, sizeof portstr, "%d", port);
        pid_t parent = getpid();
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            return -errno;
        if (pid == 0) {
            /* Die with the bench, however it dies. */
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(127);
            int null = open("/dev/null", O_RDWR);
            if (null >= 0) {
                dup2(null, 0);
                dup2(null, 1);
                dup2(null, 2);
            }
            execl(exe, "redis-server", "--port", portstr, "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no", "--daemonize", "no", "--dir", "/tmp", (char *)NULL);
            _exit(127);
        }
        redis_pid = pid;
        for (int i = 0; i < 500; i++) { /* up to 5 s */
            if (can_connect(port)) {
                *port_out = port;
                return 0;
            }
            if (waitpid(pid, NULL, WNOHANG) == pid) {
                redis_pid = 0;
                break;
            }
            usleep(10000);
        }
        bench_redis_stop(); /* no-op if it already exited */
    }
    return SMEM_EIO;
}

/* ------------------------------------------------------------------------ */
/* A reader process for bench-map's resize section                          */

void *bench_shared_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p; /* zero-filled */
}

void bench_shared_free(void *p, size_t size)
{
    if (p)
        munmap(p, size);
}

long bench_child_start(int (*fn)(void *arg), void *arg)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* Die with the bench, however it dies. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        _exit(fn(arg));
    }
    return (long)pid;
}

int bench_child_wait(long child)
{
    int status;
    while (waitpid((pid_t)child, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
