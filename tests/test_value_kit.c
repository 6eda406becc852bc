/*
 * test_value_kit.c — helpers shared by the value tests (test_value_*.c).
 *
 * Not a test and not a library: each value test #includes this file, so the
 * helpers stay next to the tests that use them without a header of their
 * own.  Everything here is static and marked unused-ok.
 *
 *   - the few things check.h does not give that differ between Linux and
 *     Windows, one short implementation for each;
 *   - a small PRNG (splitmix64);
 *   - self-checking blobs: a value of any length whose bytes prove that it
 *     is whole (a torn mix of two blobs, a truncated one or stray bytes fail
 *     tv_blob_check) and tell who wrote it;
 *   - an observer that checks what one reader sees over time (versions never
 *     go backwards, one version is always one content, a writer's values
 *     arrive in order);
 *   - guarded buffers, whose last byte sits right before an inaccessible
 *     page, so that writing past the end faults in any build;
 *   - small time and cost helpers.
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if TH_WINDOWS
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN /* and no rpcndr.h, whose macro "small" breaks C */
#endif
#include <windows.h>
#else
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#endif

#ifdef __GNUC__
#define TV_UNUSED __attribute__((unused))
#else
#define TV_UNUSED
#endif

/* ---- PRNG ------------------------------------------------------------- */

TV_UNUSED static uint64_t tv_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

typedef struct tv_rng {
    uint64_t s;
} tv_rng;

TV_UNUSED static void tv_seed(tv_rng *r, uint64_t seed)
{
    r->s = tv_mix(seed ^ UINT64_C(0x5851f42d4c957f2d));
}

TV_UNUSED static uint64_t tv_next(tv_rng *r)
{
    r->s += UINT64_C(0x9e3779b97f4a7c15);
    return tv_mix(r->s);
}

/* Uniform enough in [0, n); 0 when n is 0. */
TV_UNUSED static uint64_t tv_below(tv_rng *r, uint64_t n)
{
    return n ? tv_next(r) % n : 0;
}

/* ---- what differs between the systems ------------------------------- */

/*
 *   tv_now_ns          a monotonic clock, the same in every process
 *   tv_cpu_ns          CPU time of the calling thread (see tv_cpu_tick_ns)
 *   tv_sleeps          how many times the calling thread went to sleep
 *   tv_sleep_us        a short pause
 *   tv_pages...        whole pages, and making one inaccessible
 *   tv_pause_process   stops (and tv_resume_process restarts) a helper
 *   tv_pid             this process's id
 *   tv_forked          FN(ARG) in a child made by fork(), where there is one
 *   TV_KERNEL_PERSIST  1 if a persistent region outlives its last handle
 *   TV_COUNTS_SLEEPS   1 if tv_sleeps counts (else it is always 0)
 */
#if TH_WINDOWS

/* Windows deletes a section with its last handle: SMEM_PERSIST keeps a
 * region only while a holder has it open. */
#define TV_KERNEL_PERSIST 0
/* Windows counts no voluntary context switches per thread. */
#define TV_COUNTS_SLEEPS 0

TV_UNUSED static int64_t tv_now_ns(void)
{
    LARGE_INTEGER f, t;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t);
    return t.QuadPart / f.QuadPart * 1000000000 + t.QuadPart % f.QuadPart * 1000000000 / f.QuadPart;
}

/* Charged a clock tick at a time: 15.6 ms on Windows, 10 ms under Wine. */
TV_UNUSED static int64_t tv_cpu_ns(void)
{
    FILETIME created, ended, kernel, user;
    if (!GetThreadTimes(GetCurrentThread(), &created, &ended, &kernel, &user))
        FAIL("GetThreadTimes: error %lu", (unsigned long)GetLastError());
    ULARGE_INTEGER k = {{kernel.dwLowDateTime, kernel.dwHighDateTime}};
    ULARGE_INTEGER u = {{user.dwLowDateTime, user.dwHighDateTime}};
    return (int64_t)(k.QuadPart + u.QuadPart) * 100;
}

TV_UNUSED static long tv_sleeps(void)
{
    return 0;
}

/* Sleep() has a granularity of 1 to 15.6 ms: yield until the time is up. */
TV_UNUSED static void tv_sleep_us(long us)
{
    int64_t end = tv_now_ns() + (int64_t)us * 1000;
    while (tv_now_ns() < end)
        SwitchToThread();
}

TV_UNUSED static size_t tv_page_size(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwPageSize;
}

TV_UNUSED static unsigned char *tv_pages(size_t len)
{
    unsigned char *p = VirtualAlloc(NULL, len, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!p)
        FAIL("VirtualAlloc of %zu bytes: error %lu", len, (unsigned long)GetLastError());
    return p;
}

TV_UNUSED static void tv_pages_noaccess(unsigned char *p, size_t len)
{
    DWORD old;
    if (!VirtualProtect(p, len, PAGE_NOACCESS, &old))
        FAIL("VirtualProtect: error %lu", (unsigned long)GetLastError());
}

TV_UNUSED static void tv_pages_free(unsigned char *p, size_t len)
{
    (void)len;
    VirtualFree(p, 0, MEM_RELEASE);
}

/* NtSuspendProcess / NtResumeProcess: ntdll's, not declared by the SDK. */
static void tv_nt_process_call(th_proc *p, const char *fn_name)
{
    typedef LONG(NTAPI * nt_process_fn)(HANDLE);
    nt_process_fn fn =
        (nt_process_fn)(void (*)(void))GetProcAddress(GetModuleHandleW(L"ntdll.dll"), fn_name);
    if (!fn)
        FAIL("ntdll has no %s", fn_name);
    LONG st = fn(p->handle);
    if (st != 0)
        FAIL("%s(helper %d): status %#lx", fn_name, (int)p->pid, (unsigned long)st);
}

/* A thread stops a moment after its suspension is asked for (when the
 * kernel's APC, or Wine's signal, reaches it): give it that moment. */
TV_UNUSED static void tv_pause_process(th_proc *p)
{
    tv_nt_process_call(p, "NtSuspendProcess");
    Sleep(2);
}

TV_UNUSED static void tv_resume_process(th_proc *p)
{
    tv_nt_process_call(p, "NtResumeProcess");
}

TV_UNUSED static uint64_t tv_pid(void)
{
    return GetCurrentProcessId();
}

TV_UNUSED static int tv_forked(int (*fn)(void *), void *arg)
{
    (void)fn;
    (void)arg;
    return -1; /* no fork() */
}

#else /* POSIX */

#define TV_KERNEL_PERSIST 1
#define TV_COUNTS_SLEEPS 1

TV_UNUSED static int64_t tv_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

TV_UNUSED static int64_t tv_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Voluntary context switches: a call during which this grows waited for
 * something. */
TV_UNUSED static long tv_sleeps(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) != 0)
        FAIL("getrusage: %s", strerror(errno));
    return ru.ru_nvcsw;
}

TV_UNUSED static void tv_sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

TV_UNUSED static size_t tv_page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

TV_UNUSED static unsigned char *tv_pages(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        FAIL("mmap of %zu bytes: %s", len, strerror(errno));
    return p;
}

TV_UNUSED static void tv_pages_noaccess(unsigned char *p, size_t len)
{
    if (mprotect(p, len, PROT_NONE) != 0)
        FAIL("mprotect: %s", strerror(errno));
}

TV_UNUSED static void tv_pages_free(unsigned char *p, size_t len)
{
    munmap(p, len);
}

/* Returns once the helper is stopped. */
TV_UNUSED static void tv_pause_process(th_proc *p)
{
    int st;
    CHECK_SYS(kill(p->pid, SIGSTOP));
    CHECK(waitpid(p->pid, &st, WUNTRACED) == p->pid && WIFSTOPPED(st));
}

TV_UNUSED static void tv_resume_process(th_proc *p)
{
    CHECK_SYS(kill(p->pid, SIGCONT));
}

TV_UNUSED static uint64_t tv_pid(void)
{
    return (uint64_t)getpid();
}

/* The child exits with FN's return value; returns that, failing the test
 * if the child ended otherwise. */
TV_UNUSED static int tv_forked(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK_SYS(pid);
    if (pid == 0)
        _exit(fn(arg));
    int st = th_waitpid(pid, 10000);
    CHECKF(WIFEXITED(st), "a forked child ended with %s", th_status_str(st));
    return WEXITSTATUS(st);
}

#endif

/* ---- time and cost ---------------------------------------------------- */

/*
 * The resolution of tv_cpu_ns, measured once: the smallest of a few steps
 * of the clock.  Where CPU time is charged by clock ticks, one call can be
 * charged up to about two ticks more than it used (and an average is good
 * only over many ticks); a limit on one call's CPU time must allow for
 * that.
 */
TV_UNUSED static int64_t tv_cpu_tick_ns(void)
{
    static int64_t tick;
    if (tick)
        return tick;
    int64_t give_up = tv_now_ns() + 1000000000, t = tv_cpu_ns(), least = INT64_MAX;
    for (int steps = 0; steps < 4 && tv_now_ns() < give_up;) {
        int64_t now = tv_cpu_ns();
        if (now == t)
            continue;
        if (steps++ > 0 && now - t < least) /* the first step may be partial */
            least = now - t;
        t = now;
    }
    tick = least < INT64_MAX ? least : 1;
    return tick;
}

/* The CPU time of one call FN(ARG, I), averaged over calls I = 0, 1, ...:
 * at least N of them, and enough to use 20 ticks of the CPU clock. */
TV_UNUSED static int64_t tv_average_cpu_ns(void (*fn)(void *arg, unsigned long i), void *arg,
                                           unsigned long n)
{
    int64_t enough = 20 * tv_cpu_tick_ns(), c0 = tv_cpu_ns(), used = 0;
    unsigned long i = 0;
    while (i < n || used < enough) {
        fn(arg, i++);
        used = tv_cpu_ns() - c0;
    }
    return used / (int64_t)i;
}

/*
 * The cost of one call: wall time, CPU time, sleeps.  A call held up by
 * another process either sleeps (waits in the kernel) or burns CPU
 * (spins, retries); a call that is merely preempted on a busy machine does
 * neither, however long its wall time.
 */
typedef struct tv_cost {
    int64_t wall_ns, cpu_ns;
    long sleeps;
} tv_cost;

typedef struct tv_meter {
    int64_t w0, c0;
    long s0;
} tv_meter;

TV_UNUSED static void tv_meter_start(tv_meter *m)
{
    m->s0 = tv_sleeps();
    m->c0 = tv_cpu_ns();
    m->w0 = tv_now_ns();
}

/* A call cannot use more CPU than the time it took (the CPU clock is read
 * outside the wall clock), give or take the CPU clock's ticks: whatever
 * else the thread is charged with is not the call's doing.  (On this
 * shared VM a get was once charged 183 ms of CPU in 69 us; under Wine
 * 280 ms in 5 us.) */
TV_UNUSED static tv_cost tv_meter_stop(const tv_meter *m)
{
    tv_cost c;
    c.wall_ns = tv_now_ns() - m->w0;
    c.cpu_ns = tv_cpu_ns() - m->c0;
    c.sleeps = tv_sleeps() - m->s0;
    int64_t most = c.wall_ns + 2 * tv_cpu_tick_ns();
    if (c.cpu_ns > most)
        c.cpu_ns = most;
    return c;
}

/* ---- self-checking blobs ---------------------------------------------- */

/*
 * A blob of LEN bytes made by writer WRITER as its COUNTER-th value.
 * LEN >= TV_BLOB_MIN:
 *     0  u32 len
 *     4  u32 writer
 *     8  u64 counter
 *    16  len - 24 bytes from a PRNG seeded by (len, writer, counter)
 * len-8  u64 hash of bytes 0 .. len-9
 * Shorter blobs cannot carry an identity: their bytes depend on LEN alone
 * and they are "anonymous" (writer 0, counter 0).
 */
#define TV_BLOB_MIN 32

typedef struct tv_id {
    size_t len;
    uint32_t writer; /* 0 for anonymous (short) blobs */
    uint64_t counter;
} tv_id;

static uint64_t tv_blob_seed(size_t len, uint32_t writer, uint64_t counter)
{
    return tv_mix((uint64_t)len * UINT64_C(0x100000001b3) ^ tv_mix(writer + UINT64_C(77)) ^
                  tv_mix(counter ^ UINT64_C(0xabcdef)));
}

static uint64_t tv_hash(const unsigned char *p, size_t n)
{
    uint64_t h = UINT64_C(0x243f6a8885a308d3) ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * UINT64_C(0x9e3779b97f4a7c15);
        h ^= h >> 29;
    }
    for (; i < n; i++) {
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
        h ^= h >> 31;
    }
    return tv_mix(h);
}

static unsigned char tv_short_byte(size_t len, size_t i)
{
    return (unsigned char)tv_mix((uint64_t)len * 1000003u + i + 0x51);
}

/* Payload bytes [from, to) of a blob, generated 8 bytes at a time. */
static void tv_payload(unsigned char *out, size_t n, uint64_t seed)
{
    tv_rng r;
    tv_seed(&r, seed);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = tv_next(&r);
        memcpy(out + i, &w, 8);
    }
    if (i < n) {
        uint64_t w = tv_next(&r);
        memcpy(out + i, &w, n - i);
    }
}

TV_UNUSED static void tv_blob_fill(void *buf, size_t len, uint32_t writer, uint64_t counter)
{
    unsigned char *p = buf;
    if (len < TV_BLOB_MIN) {
        for (size_t i = 0; i < len; i++)
            p[i] = tv_short_byte(len, i);
        return;
    }
    uint32_t l32 = (uint32_t)len;
    memcpy(p, &l32, 4);
    memcpy(p + 4, &writer, 4);
    memcpy(p + 8, &counter, 8);
    tv_payload(p + 16, len - 24, tv_blob_seed(len, writer, counter));
    uint64_t h = tv_hash(p, len - 8);
    memcpy(p + len - 8, &h, 8);
}

/*
 * NULL if BUF (LEN bytes) is a whole blob, with its identity in *ID (may be
 * NULL); else what is wrong with it.
 */
TV_UNUSED static const char *tv_blob_check(const void *buf, size_t len, tv_id *id)
{
    const unsigned char *p = buf;
    if (id) {
        id->len = len;
        id->writer = 0;
        id->counter = 0;
    }
    if (len < TV_BLOB_MIN) {
        for (size_t i = 0; i < len; i++)
            if (p[i] != tv_short_byte(len, i))
                return "short blob with a wrong byte";
        return NULL;
    }
    uint32_t l32, writer;
    uint64_t counter, h;
    memcpy(&l32, p, 4);
    memcpy(&writer, p + 4, 4);
    memcpy(&counter, p + 8, 8);
    memcpy(&h, p + len - 8, 8);
    if (l32 != (uint32_t)len)
        return "length field does not match the length read (torn or stale header)";
    if (writer == 0)
        return "writer 0 in a long blob";
    if (h != tv_hash(p, len - 8))
        return "trailing hash does not match (torn or damaged bytes)";
    unsigned char chunk[512];
    uint64_t seed = tv_blob_seed(len, writer, counter);
    tv_rng r;
    tv_seed(&r, seed);
    size_t n = len - 24;
    for (size_t off = 0; off < n; off += sizeof chunk) {
        size_t k = n - off < sizeof chunk ? n - off : sizeof chunk;
        /* Same stream as tv_payload: sizeof chunk is a multiple of 8. */
        size_t i = 0;
        for (; i + 8 <= k; i += 8) {
            uint64_t w = tv_next(&r);
            memcpy(chunk + i, &w, 8);
        }
        if (i < k) {
            uint64_t w = tv_next(&r);
            memcpy(chunk + i, &w, k - i);
        }
        if (memcmp(chunk, p + 16 + off, k) != 0)
            return "payload differs from the blob's PRNG stream (torn or damaged bytes)";
    }
    if (id) {
        id->writer = writer;
        id->counter = counter;
    }
    return NULL;
}

TV_UNUSED static int tv_id_eq(const tv_id *a, const tv_id *b)
{
    return a->len == b->len && a->writer == b->writer && a->counter == b->counter;
}

/* ---- what one reader sees over time ----------------------------------- */

#define TV_MAX_WRITERS 64

typedef struct tv_observer {
    const char *who;
    int have;              /* a value has been seen */
    uint64_t version;      /* the last version seen */
    tv_id id;              /* and its content */
    int check_order;       /* writers' counters must grow with the version */
    uint64_t last_counter[TV_MAX_WRITERS];
    uint64_t reads, changes;
} tv_observer;

/*
 * Records that a get returned LEN bytes in BUF with VERSION; fails the test
 * (with WHO in the message) if the bytes are not a whole blob, the version
 * went backwards, one version came with two contents, or (check_order) a
 * writer's later value arrived before an earlier one.
 */
TV_UNUSED static void tv_observe(tv_observer *o, const void *buf, size_t len, uint64_t version)
{
    tv_id id;
    const char *bad = tv_blob_check(buf, len, &id);
    o->reads++;
    if (bad)
        FAIL("%s: read #%llu (version %llu, %zu bytes) is not a whole value: %s", o->who,
             (unsigned long long)o->reads, (unsigned long long)version, len, bad);
    if (version == 0 && len != 0)
        FAIL("%s: version 0 with %zu bytes", o->who, len);
    if (o->have) {
        if (version < o->version)
            FAIL("%s: version went backwards: %llu then %llu", o->who,
                 (unsigned long long)o->version, (unsigned long long)version);
        if (version == o->version && !tv_id_eq(&id, &o->id))
            FAIL("%s: version %llu seen with two contents: (%zu bytes, writer %u, #%llu) and "
                 "(%zu bytes, writer %u, #%llu)",
                 o->who, (unsigned long long)version, o->id.len, (unsigned)o->id.writer,
                 (unsigned long long)o->id.counter, id.len, (unsigned)id.writer,
                 (unsigned long long)id.counter);
        if (version > o->version)
            o->changes++;
    }
    if (o->check_order && id.writer != 0 && id.writer < TV_MAX_WRITERS &&
        (!o->have || version != o->version)) {
        if (id.counter <= o->last_counter[id.writer])
            FAIL("%s: writer %u's value #%llu (version %llu) came after its #%llu", o->who,
                 (unsigned)id.writer, (unsigned long long)id.counter,
                 (unsigned long long)version, (unsigned long long)o->last_counter[id.writer]);
        o->last_counter[id.writer] = id.counter;
    }
    o->have = 1;
    o->version = version;
    o->id = id;
}

/* ---- guarded buffers -------------------------------------------------- */

typedef struct tv_guard {
    unsigned char *map;
    size_t maplen;
    unsigned char *p; /* SIZE usable bytes, ending at an inaccessible page */
    size_t size;
} tv_guard;

#define TV_CANARY 0xa5

TV_UNUSED static unsigned char *tv_guard_alloc(tv_guard *g, size_t size)
{
    size_t page = tv_page_size();
    size_t body = (size + page - 1) / page * page;
    g->maplen = body + page;
    g->map = tv_pages(g->maplen);
    tv_pages_noaccess(g->map + body, page);
    memset(g->map, TV_CANARY, body);
    g->size = size;
    g->p = g->map + body - size;
    return g->p;
}

/* 1 if nothing was written in front of the buffer. */
TV_UNUSED static int tv_guard_front_ok(const tv_guard *g)
{
    for (unsigned char *q = g->map; q < g->p; q++)
        if (*q != TV_CANARY)
            return 0;
    return 1;
}

TV_UNUSED static void tv_guard_free(tv_guard *g)
{
    if (g->map)
        tv_pages_free(g->map, g->maplen);
    g->map = g->p = NULL;
}

/* ---- small things ----------------------------------------------------- */

/* Parses an unsigned number or fails. */
TV_UNUSED static unsigned long long tv_num(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end)
        FAIL("bad number \"%s\"", s);
    return v;
}
