/*
 * The POSIX OS layer's lock file (smem.-lock.NAME, see os-posix.c for why
 * there is a second file): its open and close, the registry of every open
 * lock file and its renewal in a forked child (pthread_atfork), the gate
 * (flock), the users lock (an OFD read lock on byte 0) and the beacons
 * (OFD read locks far beyond).
 *
 * Invariant: every change to an object's lock file descriptor or to its
 * gate_held and attached flags, and every lighting of a beacon, happens
 * under the registry lock, which fork takes: a child always sees them
 * consistent, and never keeps one of its parent's locks alive.
 */
#include "os-posix-shared.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
int smem__posix_open_lock_file(smem__os_obj *o)
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

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    nanosleep(&ts, NULL);
}

/* The users lock is a read lock on byte 0; "others attached" asks whether a
 * write lock there would conflict.  Locks of our own open file description
 * never conflict with it, so our own attachment does not count. */
int smem__posix_users_lock_held_by_others(int fd)
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

/* Gate held, lock file still linked: is it ours?  1 if it was removed
 * while we waited for the gate (start again), 0, or why not. */
int smem__posix_check_lock_file(smem__os_obj *o)
{
    struct stat sb;
    if (fstat(o->lock_fd, &sb) < 0)
        return -errno;
    int rc = smem__posix_check_ours(&sb);
    if (rc < 0)
        return rc;
    o->lock_ours = sb.st_nlink > 0;
    return sb.st_nlink == 0;
}

/* Gate held: removes the lock file's name if it still has it. */
void smem__posix_unlink_lock_file(smem__os_obj *o)
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
void smem__posix_release_lock_file(smem__os_obj *o)
{
    if (o->gate_held && o->lock_fd >= 0 &&
        (o->others >= 0 ? o->others : smem__posix_users_lock_held_by_others(o->lock_fd)) == 0)
        smem__posix_unlink_lock_file(o);
    close_lock_file(o);
}

int smem__os_others_attached(smem__os_obj *o)
{
    if (o->lock_fd < 0)
        return 1; /* when in doubt, someone is there: never remove it */
    int r = smem__posix_users_lock_held_by_others(o->lock_fd);
    /* Kept for smem__posix_release_lock_file while the gate is held: under it nobody
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
