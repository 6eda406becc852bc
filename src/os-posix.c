/*
 * The OS layer on Linux.  A region NAME is two files in /dev/shm (where
 * shm_open puts them):
 *
 *   smem.NAME         the region's bytes, with the mode its creator asked
 *                     for; mapped by every user, and never locked
 *   smem.-lock.NAME   the lock file: empty, owner-only (0600), never mapped
 *
 * All the locks that decide lifetime and liveness are on the lock file:
 * the gate is flock() on it, the users lock an open-file-description (OFD)
 * read lock on its byte 0, and each writer's beacon an OFD read lock on a
 * byte far beyond.  Why a second file:
 *
 *   - A lock lives as long as its open file description, and a mapping
 *     holds a reference to the description it was made from.  Were the
 *     locks on the region's file, a forked child's copy of a mapping would
 *     keep a dead parent's gate, users lock and beacon alive.  No mapping
 *     is ever made of the lock file, and a fork gives the child its own
 *     description of it (see the registry), so a lock goes with its process.
 *   - Anyone who can read a file can flock it and take OFD read locks on
 *     it.  Were the locks on the region's file, a process allowed only to
 *     read a group- or world-readable region could hold the gate (every open
 *     hangs), pose as a user (it is never removed) or light any beacon (a
 *     dead writer is never taken over).  The lock file is the owner's alone.
 *
 * flock and OFD locks are independent on Linux, so the gate and the byte
 * locks do not interfere.  A new region is always a new file (reset), and
 * a mapping whose file is truncated under it turns into zeros instead of
 * raising SIGBUS (guards).
 */
#include "os.h"

#include "sharedmem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The codes in sharedmem.h are fixed numbers so that they are the same on
 * every OS; on this one they must equal -errno. */
#define SMEM__CHECK_ERRNO(name, value, msg)                                    \
    _Static_assert((value) == -(name), #name " must equal -errno");
SMEM_ERRNO_MAP(SMEM__CHECK_ERRNO)
#undef SMEM__CHECK_ERRNO

#define SHM_DIR "/dev/shm"
#define OBJ_PREFIX "smem."
#define LOCK_PREFIX "smem.-lock." /* "-lock.NAME" is no region name: never listed */

typedef struct guard guard;

struct smem__os_obj {
    int fd;          /* the region's file: mapped, never locked; -1 while there is none */
    int lock_fd;     /* the lock file: gate, users lock, beacon; never mapped; -1 once let go */
    int gate_held;   /* this open holds the gate, or is waiting for it */
    int lock_ours;   /* the lock file was checked: ours, and still named */
    int attached;    /* this open holds the users lock */
    int others;      /* smem__os_others_attached's answer while the gate is held, else -1 */
    uint64_t beacon; /* the id of the beacon this open has lit, 0 if none (atomic) */
    guard *guard;    /* the mapping's SIGBUS guard, or NULL */
    smem__os_obj *prev, *next; /* in the registry while the lock file is open */
    char path[sizeof SHM_DIR "/" OBJ_PREFIX + SMEM_NAME_MAX];
    char lock_path[sizeof SHM_DIR "/" LOCK_PREFIX + SMEM_NAME_MAX];
};

/*
 * Every open lock file is in this registry, so that a child forked from
 * this process can renew them all (pthread_atfork): a descriptor copied by
 * fork shares its open file description, and with it the parent's gate,
 * users lock and beacon, which would then outlive a dead parent for as
 * long as the child runs.  The child's handler gives each object a new
 * description of the same lock file and takes the users lock on it, so the
 * child is a user of its own from birth (eagerly: a child that is idle
 * still keeps the region alive, as its handles promise), and lights a
 * beacon of its own at its first write (lazily: most children never
 * write, and an id costs a store to shared memory).  An object that was
 * being opened or closed by another thread at the fork (its gate taken or
 * wanted) is let go of in the child instead: that call never returns
 * there.  Every change to the lock file's descriptor or to the gate_held
 * and attached flags happens under the lock that fork takes, so that the
 * child sees them consistent.
 */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static smem__os_obj registry = {.fd = -1, .lock_fd = -1, .prev = &registry, .next = &registry};
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

static void registry_lock_take(void)
{
    pthread_mutex_lock(&registry_lock);
}

static void registry_lock_give(void)
{
    pthread_mutex_unlock(&registry_lock);
}

static void registry_remove(smem__os_obj *o)
{
    o->prev->next = o->next;
    o->next->prev = o->prev;
    o->prev = o->next = o;
}

static int take_users_lock(int fd)
{
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

static int same_file(int a, int b)
{
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Async-signal-safe: "/proc/self/fd/" and the decimal FD. */
static void proc_fd_path(char *buf, int fd)
{
    static const char dir[] = "/proc/self/fd/";
    char digits[12];
    int n = 0;
    do
        digits[n++] = (char)('0' + fd % 10);
    while ((fd /= 10) > 0);
    memcpy(buf, dir, sizeof dir - 1);
    for (int i = 0; i < n; i++)
        buf[sizeof dir - 1 + i] = digits[n - 1 - i];
    buf[sizeof dir - 1 + n] = '\0';
}

/* In a forked child: a new open file description of O's lock file, or -1.
 * Through /proc, which reaches the file even if its name was removed;
 * without /proc, by name, if the name still leads to the same file. */
static int reopen_lock_file(const smem__os_obj *o)
{
    char proc[32];
    proc_fd_path(proc, o->lock_fd);
    int fd = open(proc, O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0)
        return fd;
    fd = open(o->lock_path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
    if (fd >= 0 && !same_file(fd, o->lock_fd)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* In a forked child (one thread, async-signal-safe calls only). */
static void renew_in_child(smem__os_obj *o)
{
    int fd = o->gate_held ? -1 : reopen_lock_file(o);
    if (fd < 0 || dup3(fd, o->lock_fd, O_CLOEXEC) < 0) {
        close(o->lock_fd); /* never usable here: let go of the parent's locks */
        o->lock_fd = -1;
        o->attached = 0;
    } else if (o->attached && take_users_lock(o->lock_fd) < 0) {
        o->attached = 0;
    }
    if (fd >= 0)
        close(fd);
    o->gate_held = 0;
    __atomic_store_n(&o->beacon, 0, __ATOMIC_RELAXED);
}

static void registry_renew_in_child(void)
{
    smem__os_obj *o = registry.next;
    while (o != &registry) {
        smem__os_obj *next = o->next;
        renew_in_child(o);
        if (o->lock_fd < 0)
            registry_remove(o);
        o = next;
    }
    registry_lock_give();
}

static void registry_setup(void)
{
    pthread_atfork(registry_lock_take, registry_lock_give, registry_renew_in_child);
}

/* Opens O's lock file, creating it (owner only) if missing, and enters
 * the registry with it. */
static int open_lock_file(smem__os_obj *o)
{
    pthread_once(&registry_once, registry_setup);
    registry_lock_take();
    int fd = open(o->lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                  0600);
    int saved = errno;
    if (fd >= 0) {
        o->lock_fd = fd;
        o->next = &registry;
        o->prev = registry.prev;
        registry.prev->next = o;
        registry.prev = o;
    }
    registry_lock_give();
    errno = saved;
    return fd;
}

/* Closes O's lock file, leaving the registry.  The users lock and the
 * gate go first, explicitly, under the registry lock: whoever takes the
 * gate next must not see us attached, and a fork cannot slip in between. */
static void close_lock_file(smem__os_obj *o)
{
    registry_lock_take();
    if (o->lock_fd >= 0) {
        struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        fcntl(o->lock_fd, F_OFD_SETLK, &fl);
        flock(o->lock_fd, LOCK_UN);
        close(o->lock_fd);
        o->lock_fd = -1;
        registry_remove(o);
    }
    o->gate_held = o->attached = 0;
    registry_lock_give();
}

/* Flags for every open of an object: never follow a symbolic link, never
 * block on a FIFO, never make a terminal ours, never leak into exec. */
#define OPEN_FLAGS (O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

int64_t smem__os_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t smem__os_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

#ifdef SMEM_CRASH_POINTS
void smem__os_die(void)
{
    raise(SIGKILL);
}
#endif

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    nanosleep(&ts, NULL);
}

/* PATH = SHM_DIR "/" PREFIX NAME (NAME passed smem_name_check). */
static void object_path(char *path, size_t cap, const char *prefix, const char *name)
{
    size_t dir = strlen(SHM_DIR "/") + strlen(prefix);
    size_t n = strlen(name);
    if (dir + n + 1 > cap) /* name_check bounds n; keep the copy safe anyway */
        n = cap - dir - 1;
    memcpy(path, SHM_DIR "/", strlen(SHM_DIR "/"));
    memcpy(path + strlen(SHM_DIR "/"), prefix, strlen(prefix));
    memcpy(path + dir, name, n);
    path[dir + n] = '\0';
}

/* Errors from opening an object, in the library's terms. */
static int open_error(int e)
{
    switch (e) {
    case ELOOP: /* a symbolic link sits on the name */
    case EPERM:
        return SMEM_EACCES;
    case EISDIR:
    case ENXIO:
    case ENODEV:
    case ETXTBSY:
        return SMEM_EBADREGION;
    default:
        return -e;
    }
}

/* 0 if the descriptor is a regular file owned by us, else why not. */
static int check_ours(const struct stat *sb)
{
    if (!S_ISREG(sb->st_mode))
        return SMEM_EBADREGION;
    if (sb->st_uid != geteuid())
        return SMEM_EACCES;
    return 0;
}

static void fill_stat(smem__os_stat *st, const struct stat *sb)
{
    st->size = sb->st_size > 0 ? (uint64_t)sb->st_size : 0;
    st->uid = (unsigned)sb->st_uid;
    st->mode = (unsigned)(sb->st_mode & 07777);
    st->lasting = 1; /* a file stays until it is unlinked */
}

/* The users lock is a read lock on byte 0; "others attached" asks whether a
 * write lock there would conflict.  Locks of our own open file description
 * never conflict with it, so our own attachment does not count. */
static int users_lock_held_by_others(int fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
        return -errno;
    return fl.l_type != F_UNLCK;
}

/*
 * The gate is flock() on the lock file.  flock has no timed wait, so poll
 * with exponential backoff: the gate is held for microseconds except while
 * a creator runs its init.  Each try is made under the registry lock, so
 * that a fork sees gate_held and the lock agree.
 */
static int gate_try(smem__os_obj *o)
{
    registry_lock_take();
    int rc = flock(o->lock_fd, LOCK_EX | LOCK_NB) == 0 ? 0 : -errno;
    registry_lock_give();
    return rc;
}

int smem__os_gate_lock(smem__os_obj *o, int64_t deadline_ns)
{
    if (o->lock_fd < 0)
        return SMEM_EBADF;
    registry_lock_take();
    o->gate_held = 1; /* from now on a fork lets go of this object in the child */
    o->others = -1;
    registry_lock_give();
    int64_t delay = 10000;
    for (;;) {
        int rc = gate_try(o);
        if (rc == 0)
            return 0;
        if (rc == -EINTR)
            continue;
        int64_t left = deadline_ns - smem__os_now_ns();
        if (rc != -EWOULDBLOCK || left <= 0) {
            registry_lock_take();
            o->gate_held = 0;
            registry_lock_give();
            return rc == -EWOULDBLOCK ? SMEM_ETIMEDOUT : rc;
        }
        sleep_ns(delay < left ? delay : left);
        if (delay < 2000000)
            delay *= 2;
    }
}

void smem__os_gate_unlock(smem__os_obj *o)
{
    registry_lock_take();
    if (o->lock_fd >= 0)
        flock(o->lock_fd, LOCK_UN);
    o->gate_held = 0;
    o->others = -1;
    registry_lock_give();
}

/* Gate held: opens the region's file if there is one (o->fd stays -1 if
 * not) and checks that it is ours. */
static int open_region_file(smem__os_obj *o, unsigned how, struct stat *sb)
{
    int access = (how & SMEM__OS_RDONLY) ? O_RDONLY : O_RDWR;
    o->fd = open(o->path, access | OPEN_FLAGS);
    if (o->fd < 0) {
        memset(sb, 0, sizeof *sb);
        return errno == ENOENT ? 0 : open_error(errno);
    }
    if (fstat(o->fd, sb) < 0)
        return -errno;
    return check_ours(sb);
}

/* Gate held, lock file still linked: is it ours?  1 if it was removed
 * while we waited for the gate (start again), 0, or why not. */
static int check_lock_file(smem__os_obj *o)
{
    struct stat sb;
    if (fstat(o->lock_fd, &sb) < 0)
        return -errno;
    int rc = check_ours(&sb);
    if (rc < 0)
        return rc;
    o->lock_ours = sb.st_nlink > 0;
    return sb.st_nlink == 0;
}

/* Gate held: removes the lock file's name if it still has it. */
static void unlink_lock_file(smem__os_obj *o)
{
    struct stat sb;
    if (o->lock_ours && fstat(o->lock_fd, &sb) == 0 && sb.st_nlink > 0)
        unlink(o->lock_path);
}

/*
 * Lets go of O's lock file.  A lock file that nobody else is attached
 * through goes with it, if we hold the gate: it is made again by the next
 * open, so lock files are left only beside regions in use (and beside
 * persistent or stale ones).  Whoever waits for the gate meanwhile finds
 * the file unlinked and starts again by name.
 */
static void release_lock_file(smem__os_obj *o)
{
    if (o->gate_held && o->lock_fd >= 0 &&
        (o->others >= 0 ? o->others : users_lock_held_by_others(o->lock_fd)) == 0)
        unlink_lock_file(o);
    close_lock_file(o);
}

/* One try at smem__os_acquire: 1 to start again (the lock file was
 * removed while we waited), 0, or an error, with O released. */
static int acquire_once(smem__os_obj *o, unsigned how, int64_t deadline_ns, smem__os_stat *st)
{
    if (open_lock_file(o) < 0)
        return open_error(errno);
    int rc = smem__os_gate_lock(o, deadline_ns);
    if (rc == 0)
        rc = check_lock_file(o);
    struct stat sb;
    if (rc == 0)
        rc = open_region_file(o, how, &sb);
    if (rc == 0 && o->fd < 0 && !(how & SMEM__OS_CREATE))
        rc = SMEM_ENOENT;
    int others = rc == 0 ? users_lock_held_by_others(o->lock_fd) : 0;
    if (others < 0)
        rc = others;
    if (rc != 0) {
        if (o->fd >= 0)
            close(o->fd);
        o->fd = -1;
        release_lock_file(o);
        return rc;
    }
    fill_stat(st, &sb);
    st->others = others;
    return 0;
}

int smem__os_acquire(const char *name, unsigned how, unsigned mode, int64_t deadline_ns,
                     smem__os_obj **out, smem__os_stat *st)
{
    (void)mode; /* the region's file gets its mode when it is made (reset) */
    smem__os_obj *o = calloc(1, sizeof *o);
    if (!o)
        return SMEM_ENOMEM;
    o->fd = o->lock_fd = -1;
    o->others = -1;
    o->prev = o->next = o;
    object_path(o->path, sizeof o->path, OBJ_PREFIX, name);
    object_path(o->lock_path, sizeof o->lock_path, LOCK_PREFIX, name);
    for (;;) {
        int rc = acquire_once(o, how, deadline_ns, st);
        if (rc == 0) {
            *out = o;
            return 0;
        }
        if (rc < 0 || smem__os_now_ns() > deadline_ns) {
            free(o);
            return rc < 0 ? rc : SMEM_ETIMEDOUT;
        }
    }
}

int smem__os_others_attached(smem__os_obj *o)
{
    if (o->lock_fd < 0)
        return 1; /* when in doubt, someone is there: never remove it */
    int r = users_lock_held_by_others(o->lock_fd);
    /* Kept for release_lock_file while the gate is held: under it nobody
     * attaches, so "nobody" stays true; "someone" may turn false if they
     * die, and then the lock file stays, as the region does, which was
     * kept on the same answer: both go with the next open or gc. */
    if (r >= 0 && o->gate_held)
        o->others = r;
    return r < 0 ? 1 : r;
}

int smem__os_attach(smem__os_obj *o)
{
    registry_lock_take();
    int rc = o->lock_fd < 0 ? SMEM_EBADF : take_users_lock(o->lock_fd);
    if (rc == 0)
        o->attached = 1;
    registry_lock_give();
    return rc;
}

/* Gate held: a new, empty file under the region's name, replacing the old
 * one.  Whoever kept a descriptor or a mapping of the old file keeps that
 * file: none of what goes into the new one can reach them. */
static int new_region_file(smem__os_obj *o)
{
    if (o->fd >= 0) {
        close(o->fd);
        o->fd = -1;
    }
    if (unlink(o->path) < 0 && errno != ENOENT)
        return -errno;
    o->fd = open(o->path, O_RDWR | O_CREAT | O_EXCL | OPEN_FLAGS, 0600);
    if (o->fd >= 0)
        return 0;
    /* EEXIST: a process that does not take the gate put a file there
     * since the unlink; it is not ours to reuse. */
    return errno == EEXIST ? SMEM_EACCES : open_error(errno);
}

int smem__os_reset(smem__os_obj *o, uint64_t total, unsigned mode)
{
    if (total > (uint64_t)INT64_MAX)
        return SMEM_E2BIG;
    int rc = new_region_file(o);
    if (rc < 0)
        return rc;
    /* posix_fallocate returns the error instead of setting errno.  On
     * tmpfs it allocates the pages, so a full /dev/shm fails here with
     * ENOSPC rather than with SIGBUS at the first touch. */
    int e;
    do
        e = posix_fallocate(o->fd, 0, (off_t)total);
    while (e == EINTR);
    if (e) {
        (void)ftruncate(o->fd, 0); /* give back what was allocated */
        return e == EFBIG ? SMEM_ENOSPC : -e;
    }
    if (fchmod(o->fd, (mode_t)mode) < 0)
        return -errno;
    return 0;
}

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

int smem__os_map(smem__os_obj *o, uint64_t total, int rdonly, void **addr)
{
    if (total > SIZE_MAX)
        return SMEM_E2BIG;
    if (o->fd < 0)
        return SMEM_EBADF;
    int prot = rdonly ? PROT_READ : PROT_READ | PROT_WRITE;
    void *p = mmap(NULL, (size_t)total, prot, MAP_SHARED, o->fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    o->guard = guard_take(p, (size_t)total, prot);
    if (!o->guard) {
        munmap(p, (size_t)total);
        return SMEM_ENOMEM;
    }
    *addr = p;
    return 0;
}

void smem__os_unmap(void *addr, uint64_t total)
{
    if (!addr)
        return;
    guard *g = guard_of((uintptr_t)addr);
    if (g)
        __atomic_store_n(&g->base, 0, __ATOMIC_RELEASE); /* before the pages go */
    munmap(addr, (size_t)total);
}

int smem__os_named(const smem__os_obj *o)
{
    struct stat mine, named;
    if (o->fd < 0)
        return SMEM_EBADF;
    if (fstat(o->fd, &mine) < 0)
        return -errno;
    if (lstat(o->path, &named) < 0)
        return errno == ENOENT ? 0 : -errno;
    return mine.st_dev == named.st_dev && mine.st_ino == named.st_ino;
}

int smem__os_unlink(smem__os_obj *o)
{
    /* Every remover holds the gate of the lock file, and we hold this
     * one's: if a file still has a link, that link is its name. */
    struct stat sb;
    if (o->fd >= 0) {
        if (fstat(o->fd, &sb) < 0)
            return -errno;
        if (sb.st_nlink > 0 && unlink(o->path) < 0 && errno != ENOENT)
            return -errno;
    }
    if (o->lock_fd >= 0)
        unlink_lock_file(o);
    return 0;
}

void smem__os_close(smem__os_obj *o)
{
    if (!o)
        return;
    release_lock_file(o); /* leaves as a user before giving up the gate */
    if (o->fd >= 0)
        close(o->fd);
    free(o);
}

/* Futexes: FUTEX_WAIT/FUTEX_WAKE without FUTEX_PRIVATE_FLAG, so that the
 * kernel keys them by the shared page and they work across processes. */
int smem__os_wait(smem__os_obj *o, const uint32_t *addr, uint32_t expected, int64_t timeout_ns)
{
    (void)o;
    if (timeout_ns <= 0)
        return SMEM_ETIMEDOUT;
    struct timespec ts = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
    long r = syscall(SYS_futex, addr, FUTEX_WAIT, expected, &ts, NULL, 0);
    return r < 0 && errno == ETIMEDOUT ? SMEM_ETIMEDOUT : 0;
}

void smem__os_wake_all(smem__os_obj *o, uint32_t *addr)
{
    (void)o;
    syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* A beacon is an OFD read lock on one byte of the lock file far beyond
 * anything: byte 2^62 + id.  It belongs to the open file description, which
 * only this process has (forked children get their own), so it goes out
 * when the process dies. */
#define BEACON_BASE ((off_t)1 << 62)

int smem__os_beacon_light(smem__os_obj *o, uint64_t id)
{
    if (id == 0 || id >= ((uint64_t)1 << 62))
        return SMEM_EINVAL;
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET,
                       .l_start = BEACON_BASE + (off_t)id, .l_len = 1};
    registry_lock_take();
    int rc;
    if (o->lock_fd < 0)
        rc = SMEM_EBADF;
    else if (__atomic_load_n(&o->beacon, __ATOMIC_RELAXED) != 0)
        rc = SMEM_EEXIST; /* another thread lit one first */
    else
        rc = fcntl(o->lock_fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
    if (rc == 0)
        __atomic_store_n(&o->beacon, id, __ATOMIC_RELEASE);
    registry_lock_give();
    return rc;
}

uint64_t smem__os_beacon_id(const smem__os_obj *o)
{
    return __atomic_load_n(&o->beacon, __ATOMIC_ACQUIRE);
}

const uint64_t *smem__os_beacon_word(const smem__os_obj *o)
{
    return &o->beacon;
}

int smem__os_beacon_lit(smem__os_obj *o, uint64_t id)
{
    if (id == 0 || id >= ((uint64_t)1 << 62))
        return 0; /* not an id: no beacon can be lit for it */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
                       .l_start = BEACON_BASE + (off_t)id, .l_len = 1};
    if (o->lock_fd < 0 || fcntl(o->lock_fd, F_OFD_GETLK, &fl) < 0)
        return 1; /* when in doubt, it is alive: waiting is safe, stealing is not */
    return fl.l_type != F_UNLCK;
}

/*
 * How many opens hold the users lock of the lock file SB (a read lock on
 * its byte 0, one per open), from /proc/locks, whose lines read
 * "ID: OFDLCK ADVISORY READ -1 MAJ:MIN:INODE 0 0" (major and minor in
 * hexadecimal); lines of waiters start with " ->".  -1 if it cannot be
 * read.  Only for reports: a lock may come or go as we read.
 */
static int count_users(const struct stat *sb)
{
    FILE *f = fopen("/proc/locks", "re");
    if (!f)
        return -1;
    char line[256], kind[16], rw[16];
    unsigned maj, min;
    unsigned long long ino;
    long long start;
    char end[24];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%*d: %15s %*s %15s %*d %x:%x:%llu %lld %23s", kind, rw, &maj, &min,
                   &ino, &start, end) == 7 &&
            strcmp(kind, "OFDLCK") == 0 && strcmp(rw, "READ") == 0 && start == 0 &&
            strcmp(end, "0") == 0 && maj == major(sb->st_dev) && min == minor(sb->st_dev) &&
            ino == (unsigned long long)sb->st_ino)
            n++;
    }
    fclose(f);
    return n;
}

/* For an onlooker: 1 if some open holds the users lock of the region whose
 * lock file is at LOCK_PATH, 0 if none or there is no lock file; how many
 * opens do in *USERS. */
static int peek_users(const char *lock_path, int *users)
{
    *users = 0;
    int fd = open(lock_path, O_RDONLY | OPEN_FLAGS);
    if (fd < 0)
        return errno == ENOENT ? 0 : open_error(errno);
    struct stat sb;
    int rc = fstat(fd, &sb) < 0 ? -errno : check_ours(&sb);
    if (rc == 0)
        rc = users_lock_held_by_others(fd);
    if (rc >= 0)
        *users = rc ? count_users(&sb) : 0;
    close(fd);
    return rc;
}

/* Reads LEN bytes at OFF of FD; fewer at the end of the file. */
static int read_at(int fd, void *buf, size_t len, off_t off)
{
    ssize_t n;
    do
        n = pread(fd, buf, len, off); /* not a mapping: a shrunk file cannot fault */
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

static int peek_file(const char *path, smem__os_stat *st, void *buf, size_t len, uint64_t *end)
{
    int fd = open(path, O_RDONLY | OPEN_FLAGS);
    if (fd < 0)
        return open_error(errno);
    struct stat sb;
    int rc = fstat(fd, &sb) < 0 ? -errno : 0;
    if (rc == 0) {
        fill_stat(st, &sb);
        rc = check_ours(&sb);
    }
    if (rc == 0)
        rc = read_at(fd, buf, len, 0);
    if (rc == 0 && sb.st_size >= (off_t)sizeof *end)
        rc = read_at(fd, end, sizeof *end, sb.st_size - (off_t)sizeof *end);
    close(fd);
    return rc;
}

int smem__os_peek(const char *name, smem__os_stat *st, void *buf, size_t len, uint64_t *end)
{
    char path[sizeof ((smem__os_obj *)0)->path];
    char lock_path[sizeof ((smem__os_obj *)0)->lock_path];
    object_path(path, sizeof path, OBJ_PREFIX, name);
    object_path(lock_path, sizeof lock_path, LOCK_PREFIX, name);
    memset(st, 0, sizeof *st);
    memset(buf, 0, len);
    *end = 0;

    struct stat sb;
    if (lstat(path, &sb) < 0)
        return -errno;
    fill_stat(st, &sb);
    if (S_ISLNK(sb.st_mode))
        return SMEM_ELOOP;
    int rc = check_ours(&sb);
    if (rc == 0)
        rc = peek_file(path, st, buf, len, end);
    if (rc < 0)
        return rc;
    int others = peek_users(lock_path, &st->users);
    if (others < 0)
        return others;
    st->others = others;
    return 0;
}

int smem__os_list(int (*fn)(const char *name, void *arg), void *arg)
{
    DIR *d = opendir(SHM_DIR);
    if (!d)
        return -errno;
    size_t plen = strlen(OBJ_PREFIX);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name + plen;
        if (strncmp(e->d_name, OBJ_PREFIX, plen) != 0 || smem_name_check(name) != 0)
            continue;
        if (fn(name, arg))
            break;
    }
    closedir(d);
    return 0;
}
