/*
 * The POSIX OS layer's mappings: smem__os_map and smem__os_unmap, and the
 * SIGBUS guard of every mapping, so that a region's file truncated under
 * its mappings turns them into zeros instead of killing the process.
 *
 * Invariant: the SIGBUS handler only reads the guard list, which only
 * grows (at its head, with a release store) and whose guards are never
 * freed; a guard's base is published last (release) and cleared before
 * its pages go.
 */
#include "os-posix-shared.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ------------------------------------------------------------------------ */
/* Mappings that survive their file shrinking                               */

/*
 * Anyone who may write a region's file may also truncate it, and touching
 * a mapped page beyond the new end of a file raises SIGBUS.  Checking the
 * size before each access cannot help (the file may shrink just after),
 * so every mapping has a guard, and a SIGBUS handler that finds the guard
 * of the faulting address maps anonymous zero pages over the whole
 * mapping: the access that faulted is retried on the zeros and completes,
 * and the region layer finds zeros where its tail should be (region.h)
 * and gives SMEM_EBADREGION for every later call on the handle.  A fault
 * anywhere else goes to the handler that was installed before ours, or
 * kills the process as it would have without us.
 *
 * The handler only reads the guard list, so guards are never freed: one
 * whose mapping is gone is marked free (base 0) and reused by a later
 * mapping.  The list only grows at its head, with a release store, so the
 * handler always walks whole nodes.  A reader may look at a guard while
 * it is being reused, so its fields are read and written atomically; the
 * release store of base orders len and prot before it.
 */
struct guard {
    uintptr_t base;  /* start of the mapping; 0 while free, 1 while claimed (atomic) */
    size_t len;      /* set before base is published (atomic: read unlocked) */
    int prot;        /* likewise */
    guard *next;
};

static guard *guards; /* head of the list (atomic) */
static struct sigaction sigbus_before; /* the handler that was there before ours */
static pthread_once_t sigbus_once = PTHREAD_ONCE_INIT;

static guard *guard_of(uintptr_t addr)
{
    for (guard *g = __atomic_load_n(&guards, __ATOMIC_ACQUIRE); g; g = g->next) {
        uintptr_t base = __atomic_load_n(&g->base, __ATOMIC_ACQUIRE);
        if (base > 1 && addr - base < __atomic_load_n(&g->len, __ATOMIC_RELAXED))
            return g;
    }
    return NULL;
}

static void sigbus_chain(int sig, siginfo_t *info, void *ctx)
{
    if (sigbus_before.sa_flags & SA_SIGINFO) {
        sigbus_before.sa_sigaction(sig, info, ctx);
    } else if (sigbus_before.sa_handler != SIG_DFL && sigbus_before.sa_handler != SIG_IGN) {
        sigbus_before.sa_handler(sig);
    } else {
        /* What would have happened without us: the default action.  A
         * fault that is retried after we return raises it again; a SIGBUS
         * sent by kill() is raised again here, and delivered on return. */
        signal(sig, SIG_DFL);
        raise(sig);
    }
}

static void on_sigbus(int sig, siginfo_t *info, void *ctx)
{
    int saved = errno;
    guard *g = guard_of((uintptr_t)info->si_addr);
    if (g) {
        void *p = mmap((void *)__atomic_load_n(&g->base, __ATOMIC_RELAXED),
                       __atomic_load_n(&g->len, __ATOMIC_RELAXED),
                       __atomic_load_n(&g->prot, __ATOMIC_RELAXED),
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p != MAP_FAILED) {
            errno = saved;
            return;
        }
    }
    errno = saved;
    sigbus_chain(sig, info, ctx);
}

static void sigbus_setup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &sigbus_before);
}

/* A guard for the mapping [BASE, BASE + LEN). */
static guard *guard_take(void *base, size_t len, int prot)
{
    pthread_once(&sigbus_once, sigbus_setup);
    for (guard *g = __atomic_load_n(&guards, __ATOMIC_ACQUIRE); g; g = g->next) {
        uintptr_t free_base = 0;
        /* Claim a free guard with a base no address can be in (1), then
         * fill it in and publish the real base. */
        if (__atomic_compare_exchange_n(&g->base, &free_base, 1, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            __atomic_store_n(&g->len, len, __ATOMIC_RELAXED);
            __atomic_store_n(&g->prot, prot, __ATOMIC_RELAXED);
            __atomic_store_n(&g->base, (uintptr_t)base, __ATOMIC_RELEASE);
            return g;
        }
    }
    guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->base = (uintptr_t)base;
    g->len = len;
    g->prot = prot;
    g->next = __atomic_load_n(&guards, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&guards, &g->next, g, 1, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
        ;
    return g;
}

int smem__posix_map_fd(int fd, uint64_t total, int rdonly, void **addr)
{
    if (total > SIZE_MAX)
        return SMEM_E2BIG;
    if (fd < 0)
        return SMEM_EBADF;
    int prot = rdonly ? PROT_READ : PROT_READ | PROT_WRITE;
    void *p = mmap(NULL, (size_t)total, prot, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    if (!guard_take(p, (size_t)total, prot)) {
        munmap(p, (size_t)total);
        return SMEM_ENOMEM;
    }
    *addr = p;
    return 0;
}

int smem__os_map(smem__os_obj *o, uint64_t total, int rdonly, void **addr)
{
    return smem__posix_map_fd(o->fd, total, rdonly, addr);
}

/* Frees the guard of the mapping at ADDR, if it has one, before its pages
 * go or change. */
static void guard_drop(void *addr)
{
    guard *g = guard_of((uintptr_t)addr);
    if (g)
        __atomic_store_n(&g->base, 0, __ATOMIC_RELEASE);
}

/* ThreadSanitizer takes the mmap below for a write of every byte, racing
 * with the loads of a reader still in the table; the design makes that
 * race harmless (the reader looks again), but the sanitizer cannot know.
 * Its builds keep old tables mapped until the handle closes. */
#if defined(__SANITIZE_THREAD__)
#define KEEP_OLD_TABLES 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KEEP_OLD_TABLES 1
#endif
#endif

void smem__os_table_release(void *addr, uint64_t total)
{
#ifdef KEEP_OLD_TABLES
    (void)addr, (void)total;
#else
    if (!addr)
        return;
    guard_drop(addr);
    /* One call replaces the file's pages with zeros: a thread still
     * reading there reads zeros, never a fault, and the file's memory is
     * the kernel's to free once no other process maps it.  Writable
     * (private) too: a get that marks a record it found (evicting maps)
     * may store into a table just released. */
    (void)mmap(addr, (size_t)total, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
#endif
}

void smem__os_unmap(void *addr, uint64_t total)
{
    if (!addr)
        return;
    guard_drop(addr);
    munmap(addr, (size_t)total);
}
