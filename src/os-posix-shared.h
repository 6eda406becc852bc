/*
 * Internal to the POSIX OS layer: what its files share, and nothing else
 * includes it.  The layer is
 *
 *   os-posix.c         the region's file: open, reset, peek, list, unlink,
 *                      close
 *   os-posix-lock.c    the lock file: the registry and its fork renewal
 *                      (pthread_atfork), the gate (flock), the users lock
 *                      and the beacons (OFD locks)
 *   os-posix-sigbus.c  mappings, and the SIGBUS guards that keep a shrunk
 *                      file from killing the process
 *   os-posix-wait.c    clocks, futexes (the bottom: calls none of the others)
 *
 * The functions declared here are smem__posix_*: the version script
 * (sharedmem.map) exports only smem_*, so none leaves the library.
 */
#ifndef SMEM_OS_POSIX_SHARED_H
#define SMEM_OS_POSIX_SHARED_H

#include "os.h"

#include "sharedmem.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHM_DIR "/dev/shm"
#define OBJ_PREFIX "smem."
#define LOCK_PREFIX "smem.-lock." /* "-lock.NAME" is no region name: never listed */
#define TABLE_PREFIX "smem.-table." /* then NAME.GEN (os-posix-table.c); never listed */

/* Flags for every open of an object: never follow a symbolic link, never
 * block on a FIFO, never make a terminal ours, never leak into exec. */
#define OPEN_FLAGS (O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

typedef struct guard guard;

struct smem__os_obj {
    int fd;          /* the region's file: mapped, never locked; -1 while there is none */
    int lock_fd;     /* the lock file: gate, users lock, beacon; never mapped; -1 once let go */
    int gate_held;   /* this open holds the gate, or is waiting for it */
    int lock_ours;   /* the lock file was checked: ours, and still named */
    int attached;    /* this open holds the users lock */
    int others;      /* smem__os_others_attached's answer while the gate is held, else -1 */
    uint64_t beacon; /* the id of the beacon this open has lit, 0 if none (atomic) */
    smem__os_obj *prev, *next; /* in the registry while the lock file is open */
    const char *name; /* the region's name, inside path */
    char path[sizeof SHM_DIR "/" OBJ_PREFIX + SMEM_NAME_MAX];
    char lock_path[sizeof SHM_DIR "/" LOCK_PREFIX + SMEM_NAME_MAX];
};

/* 0 if the file SB describes is a regular file owned by us, else why not
 * (the region's file and the lock file alike). */
static inline int smem__posix_check_ours(const struct stat *sb)
{
    if (!S_ISREG(sb->st_mode))
        return SMEM_EBADREGION;
    if (sb->st_uid != geteuid())
        return SMEM_EACCES;
    return 0;
}

/* os-posix-sigbus.c: maps TOTAL bytes of FD with a SIGBUS guard. */
int smem__posix_map_fd(int fd, uint64_t total, int rdonly, void **addr);

/* os-posix-table.c, gate held: removes every table of O's region. */
void smem__posix_drop_tables(smem__os_obj *o);

/* os-posix-lock.c: the lock file of an object (see there). */
int smem__posix_open_lock_file(smem__os_obj *o);
int smem__posix_users_lock_held_by_others(int fd);
int smem__posix_check_lock_file(smem__os_obj *o);
void smem__posix_unlink_lock_file(smem__os_obj *o);
void smem__posix_release_lock_file(smem__os_obj *o);

#endif
