/*
 * The OS layer on Linux: objects are files in /dev/shm (what shm_open uses),
 * the gate is flock(), the users lock is an open-file-description (OFD)
 * read lock on byte 0.  Both belong to the open file description, so the
 * kernel drops them when the last descriptor of a process that dies is
 * closed, and they do not interfere with each other (flock and fcntl locks
 * are independent on Linux).  flock also works on a read-only descriptor,
 * which lets SMEM_RDONLY users take the gate.
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
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

struct smem__os_obj {
    int fd;                    /* -1 when not open (or let go of in a forked child) */
    smem__os_obj *prev, *next; /* in the registry while open */
    char path[sizeof SHM_DIR "/" OBJ_PREFIX + SMEM_NAME_MAX];
};

/*
 * Every open object is in this registry, so that a child forked from this
 * process can let go of all of them at once (pthread_atfork).  Otherwise
 * the child's copies of the descriptors would share their open file
 * descriptions, and with them the parent's gate, users lock and beacons,
 * keeping a dead parent's locks alive for as long as the child runs.  The
 * child keeps its copies of the mappings.  A descriptor enters and leaves
 * the registry in the same step as it is opened and closed, under the lock
 * that fork takes, so no fork can see one without the other.
 */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static smem__os_obj registry = {.fd = -1, .prev = &registry, .next = &registry};
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

static void registry_lock_take(void)
{
    pthread_mutex_lock(&registry_lock);
}

static void registry_lock_give(void)
{
    pthread_mutex_unlock(&registry_lock);
}

static void registry_let_go_in_child(void)
{
    for (smem__os_obj *o = registry.next; o != &registry; o = o->next) {
        close(o->fd);
        o->fd = -1;
    }
    registry.next = registry.prev = &registry;
    registry_lock_give();
}

static void registry_setup(void)
{
    pthread_atfork(registry_lock_take, registry_lock_give, registry_let_go_in_child);
}

/* open() for O, entering the registry with the descriptor. */
static int tracked_open(smem__os_obj *o, int flags, unsigned mode)
{
    pthread_once(&registry_once, registry_setup);
    registry_lock_take();
    int fd = open(o->path, flags, (mode_t)mode);
    int saved = errno;
    if (fd >= 0) {
        o->fd = fd;
        o->next = &registry;
        o->prev = registry.prev;
        registry.prev->next = o;
        registry.prev = o;
    }
    registry_lock_give();
    errno = saved;
    return fd;
}

/* Closes O's descriptor, leaving the registry.  Locks that must go first
 * (see smem__os_close) are released here, under the registry lock, so that
 * a fork cannot slip in between. */
static void tracked_close(smem__os_obj *o)
{
    registry_lock_take();
    if (o->fd >= 0) {
        struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
        fcntl(o->fd, F_OFD_SETLK, &fl);
        flock(o->fd, LOCK_UN);
        close(o->fd);
        o->fd = -1;
        o->prev->next = o->next;
        o->next->prev = o->prev;
    }
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

static void object_path(char *path, size_t cap, const char *name)
{
    size_t dir = strlen(SHM_DIR "/" OBJ_PREFIX);
    size_t n = strlen(name);
    if (dir + n + 1 > cap) /* name_check bounds n; keep the copy safe anyway */
        n = cap - dir - 1;
    memcpy(path, SHM_DIR "/" OBJ_PREFIX, dir);
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

static int gate_lock_fd(int fd, int64_t deadline_ns)
{
    /* flock has no timed wait, so poll with exponential backoff: the gate
     * is held for microseconds except while a creator runs its init. */
    int64_t delay = 10000;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK)
            return -errno;
        int64_t left = deadline_ns - smem__os_now_ns();
        if (left <= 0)
            return SMEM_ETIMEDOUT;
        sleep_ns(delay < left ? delay : left);
        if (delay < 2000000)
            delay *= 2;
    }
}

int smem__os_gate_lock(smem__os_obj *o, int64_t deadline_ns)
{
    return gate_lock_fd(o->fd, deadline_ns);
}

void smem__os_gate_unlock(smem__os_obj *o)
{
    flock(o->fd, LOCK_UN);
}

/* Opens the object, creating it with O_EXCL if allowed and missing.  A
 * creator that loses the race to another one opens theirs instead. */
static int open_or_create(smem__os_obj *o, unsigned how, unsigned mode, int64_t deadline_ns)
{
    int access = (how & SMEM__OS_RDONLY) ? O_RDONLY : O_RDWR;
    for (;;) {
        if (tracked_open(o, access | OPEN_FLAGS, 0) >= 0)
            return 0;
        if (errno != ENOENT || !(how & SMEM__OS_CREATE) || (how & SMEM__OS_RDONLY))
            return open_error(errno);
        if (tracked_open(o, O_RDWR | O_CREAT | O_EXCL | OPEN_FLAGS, mode) >= 0)
            return 0;
        if (errno != EEXIST)
            return open_error(errno);
        if (smem__os_now_ns() > deadline_ns) /* it keeps appearing and vanishing */
            return SMEM_ETIMEDOUT;
    }
}

int smem__os_acquire(const char *name, unsigned how, unsigned mode, int64_t deadline_ns,
                     smem__os_obj **out, smem__os_stat *st)
{
    smem__os_obj *o = malloc(sizeof *o);
    if (!o)
        return SMEM_ENOMEM;
    o->fd = -1;
    object_path(o->path, sizeof o->path, name);
    for (;;) {
        int rc = open_or_create(o, how, mode, deadline_ns);
        if (rc < 0) {
            free(o);
            return rc;
        }
        /* The checks come after the gate, since the object may change
         * while we wait for it; but a gate we cannot have on an object that
         * is not ours (a squatter holding it) is reported as not ours. */
        rc = gate_lock_fd(o->fd, deadline_ns);
        struct stat sb;
        int ours = fstat(o->fd, &sb) < 0 ? -errno : check_ours(&sb);
        if (ours < 0)
            rc = ours;
        if (rc == 0 && sb.st_nlink == 0) {
            /* Removed while we waited for the gate: start again, by name. */
            tracked_close(o);
            if (smem__os_now_ns() > deadline_ns) {
                free(o);
                return SMEM_ETIMEDOUT;
            }
            continue;
        }
        int others = rc == 0 ? users_lock_held_by_others(o->fd) : 0;
        if (others < 0)
            rc = others;
        if (rc < 0) {
            smem__os_close(o);
            return rc;
        }
        fill_stat(st, &sb);
        st->others = others;
        *out = o;
        return 0;
    }
}

int smem__os_others_attached(smem__os_obj *o)
{
    int r = users_lock_held_by_others(o->fd);
    return r < 0 ? 1 : r; /* when in doubt, someone is there: never remove it */
}

int smem__os_attach(smem__os_obj *o)
{
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    return fcntl(o->fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

int smem__os_reset(smem__os_obj *o, uint64_t total, unsigned mode)
{
    if (total > (uint64_t)INT64_MAX)
        return SMEM_E2BIG;
    /* Truncating to zero first discards every old page, so the whole
     * object reads as zeros once it has grown again. */
    if (ftruncate(o->fd, 0) < 0)
        return -errno;
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

int smem__os_map(smem__os_obj *o, uint64_t total, int rdonly, void **addr)
{
    if (total > SIZE_MAX)
        return SMEM_E2BIG;
    int prot = rdonly ? PROT_READ : PROT_READ | PROT_WRITE;
    void *p = mmap(NULL, (size_t)total, prot, MAP_SHARED, o->fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    *addr = p;
    return 0;
}

void smem__os_unmap(void *addr, uint64_t total)
{
    if (addr)
        munmap(addr, (size_t)total);
}

int smem__os_unlink(smem__os_obj *o)
{
    /* Every remover holds the gate of the object it removes, and we hold
     * this one's: if it still has a link, that link is its name. */
    struct stat sb;
    if (fstat(o->fd, &sb) < 0)
        return -errno;
    if (sb.st_nlink == 0)
        return 0;
    if (unlink(o->path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

void smem__os_close(smem__os_obj *o)
{
    if (!o)
        return;
    /* Leave as a user before giving up the gate: whoever takes the gate
     * next must not see us attached, or nobody would remove the region.
     * Both go explicitly (tracked_close) rather than with the descriptor:
     * that way nothing depends on the kernel's order of release. */
    tracked_close(o);
    free(o);
}

int smem__os_inherited(const smem__os_obj *o)
{
    return o->fd < 0; /* open objects have a descriptor until the fork lets go of it */
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

/* A beacon is an OFD read lock on one byte far beyond any region's end:
 * byte 2^62 + id.  It belongs to the open file description, so it goes out
 * with the last descriptor of a process that dies. */
#define BEACON_BASE ((off_t)1 << 62)

int smem__os_beacon_light(smem__os_obj *o, uint64_t id)
{
    if (id == 0 || id >= ((uint64_t)1 << 62))
        return SMEM_EINVAL;
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET,
                       .l_start = BEACON_BASE + (off_t)id, .l_len = 1};
    return fcntl(o->fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

int smem__os_beacon_lit(smem__os_obj *o, uint64_t id)
{
    if (id == 0 || id >= ((uint64_t)1 << 62))
        return 0; /* not an id: no beacon can be lit for it */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
                       .l_start = BEACON_BASE + (off_t)id, .l_len = 1};
    if (fcntl(o->fd, F_OFD_GETLK, &fl) < 0)
        return 1; /* when in doubt, it is alive: waiting is safe, stealing is not */
    return fl.l_type != F_UNLCK;
}

int smem__os_peek(const char *name, smem__os_stat *st, void *buf, size_t len)
{
    char path[sizeof ((smem__os_obj *)0)->path];
    object_path(path, sizeof path, name);
    memset(st, 0, sizeof *st);
    memset(buf, 0, len);

    struct stat sb;
    if (lstat(path, &sb) < 0)
        return -errno;
    fill_stat(st, &sb);
    if (S_ISLNK(sb.st_mode))
        return SMEM_EACCES;
    int rc = check_ours(&sb);
    if (rc < 0)
        return rc;

    int fd = open(path, O_RDONLY | OPEN_FLAGS);
    if (fd < 0)
        return open_error(errno);
    if (fstat(fd, &sb) < 0)
        rc = -errno;
    if (rc == 0) {
        fill_stat(st, &sb);
        rc = check_ours(&sb);
    }
    if (rc == 0) {
        ssize_t n;
        do
            n = pread(fd, buf, len, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            rc = -errno;
    }
    if (rc == 0) {
        int others = users_lock_held_by_others(fd);
        if (others < 0)
            rc = others;
        else
            st->others = others;
    }
    close(fd);
    return rc;
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
