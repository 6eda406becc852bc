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
 *
 * This file owns the region's file (smem.NAME): its open under the gate,
 * reset, named, unlink, close, peek and list.
 * The invariant it keeps: what a region's name leads to is used only if it
 * is a regular file owned by us, and a new region is always a new file.
 * The lock file (gate, users lock, beacons, fork renewal) is in
 * os-posix-lock.c, mappings and their SIGBUS guards in os-posix-sigbus.c,
 * clocks and futexes in os-posix-wait.c;
 * os-posix-shared.h holds what they share.
 */
#include "os-posix-shared.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The codes in sharedmem.h are fixed numbers so that they are the same on
 * every OS; on this one they must equal -errno. */
#define SMEM__CHECK_ERRNO(name, value, msg)                                    \
    _Static_assert((value) == -(name), #name " must equal -errno");
SMEM_ERRNO_MAP(SMEM__CHECK_ERRNO)
#undef SMEM__CHECK_ERRNO


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

static void fill_stat(smem__os_stat *st, const struct stat *sb)
{
    st->size = sb->st_size > 0 ? (uint64_t)sb->st_size : 0;
    st->uid = (unsigned)sb->st_uid;
    st->mode = (unsigned)(sb->st_mode & 07777);
    st->lasting = 1; /* a file stays until it is unlinked */
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
    return smem__posix_check_ours(sb);
}

/* One try at smem__os_acquire: 1 to start again (the lock file was
 * removed while we waited), 0, or an error, with O released. */
static int acquire_once(smem__os_obj *o, unsigned how, int64_t deadline_ns, smem__os_stat *st)
{
    if (smem__posix_open_lock_file(o) < 0)
        return open_error(errno);
    int rc = smem__os_gate_lock(o, deadline_ns);
    if (rc == 0)
        rc = smem__posix_check_lock_file(o);
    struct stat sb;
    if (rc == 0)
        rc = open_region_file(o, how, &sb);
    if (rc == 0 && o->fd < 0 && !(how & SMEM__OS_CREATE))
        rc = SMEM_ENOENT;
    int others = rc == 0 ? smem__posix_users_lock_held_by_others(o->lock_fd) : 0;
    if (others < 0)
        rc = others;
    if (rc != 0) {
        if (o->fd >= 0)
            close(o->fd);
        o->fd = -1;
        smem__posix_release_lock_file(o);
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
    o->name = o->path + strlen(SHM_DIR "/" OBJ_PREFIX);
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
    smem__posix_drop_tables(o); /* the old region's: the new one starts without */
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
        smem__posix_drop_tables(o);
    }
    if (o->lock_fd >= 0)
        smem__posix_unlink_lock_file(o);
    return 0;
}

void smem__os_close(smem__os_obj *o)
{
    if (!o)
        return;
    smem__posix_release_lock_file(o); /* leaves as a user before giving up the gate */
    if (o->fd >= 0)
        close(o->fd);
    free(o);
}

/* One pass over /proc/locks for count_users: -1 if it cannot be read. */
static int count_users_once(const struct stat *sb)
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

/*
 * How many opens hold the users lock of the lock file SB (a read lock on
 * its byte 0, one per open), from /proc/locks, whose lines read
 * "ID: OFDLCK ADVISORY READ -1 MAJ:MIN:INODE 0 0" (major and minor in
 * hexadecimal); lines of waiters start with " ->".  -1 if it cannot be
 * read.  Only for reports.
 *
 * The kernel hands /proc/locks out a page per read(), and between two
 * pages any process's lock may come or go, which shifts the rest of the
 * list: a line is then missed or shown twice, though our region's locks
 * did not change.  So the file is read until two passes in a row agree
 * (at most a few times).  That makes a miscount rarer, not impossible:
 * with locks taken by the thousand elsewhere, two passes were seen to
 * agree on a wrong count (under the ThreadSanitizer suite, beside
 * test_leaks).  The figure is for reports only.
 */
static int count_users(const struct stat *sb)
{
    int n = count_users_once(sb);
    for (int pass = 0; pass < 6 && n >= 0; pass++) {
        int again = count_users_once(sb);
        if (again == n)
            break;
        n = again;
    }
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
    int rc = fstat(fd, &sb) < 0 ? -errno : smem__posix_check_ours(&sb);
    if (rc == 0)
        rc = smem__posix_users_lock_held_by_others(fd);
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
        rc = smem__posix_check_ours(&sb);
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
    int rc = smem__posix_check_ours(&sb);
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
