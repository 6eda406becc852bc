/*
 * The OS layer: the contract that src/os-posix*.c (Linux) and
 * src/os-win*.c (Windows) implement.  Portable code (region.c and above)
 * calls only these functions for anything the operating system does.
 *
 * An object is the named shared-memory object behind a region.  It has two
 * locks that the OS releases by itself when a process dies:
 *
 *   the gate   exclusive; held while a process decides whether an object
 *              is new, stale or live, initialises it, attaches to it,
 *              detaches from it or removes it.  Held briefly, except by a
 *              creator running its init callback.
 *   the users  shared; held by every process attached to the object for as
 *              long as it is attached.  "Others attached" means some other
 *              open holds it.
 *
 * Every function returns 0 or a negative SMEM_E* code unless it says
 * otherwise.  Times are CLOCK_MONOTONIC-style nanoseconds.
 */
#ifndef SMEM_OS_H
#define SMEM_OS_H

#include <stddef.h>
#include <stdint.h>

typedef struct smem__os_obj smem__os_obj; /* defined by each OS layer */

/* What the OS says about an object. */
typedef struct smem__os_stat {
    uint64_t size;   /* bytes in the object */
    unsigned uid;    /* owner */
    unsigned mode;   /* permission bits */
    int others;      /* 1 if some other open holds the users lock */
    int users;       /* smem__os_peek: how many opens hold it (-1 if unknown) */
    int lasting;     /* 1 if the object can outlive its last user (a file
                        in /dev/shm can; a Windows section cannot, and one
                        found without users was only kept by an onlooker) */
} smem__os_stat;

enum {
    SMEM__OS_CREATE = 1 << 0, /* create the object if it does not exist */
    SMEM__OS_RDONLY = 1 << 1, /* open for reading only (never creates) */
};

/* Now, in nanoseconds of a monotonic clock. */
int64_t smem__os_now_ns(void);

/* Now, in seconds since 1970. */
int64_t smem__os_wall_seconds(void);

#ifdef SMEM_CRASH_POINTS
/* Tests only (see map.c: crash_point): ends the calling process at once,
 * the way SIGKILL or TerminateProcess would, running no exit handlers. */
void smem__os_die(void);
#endif


/*
 * Opens the object NAME (a valid region name), creating an empty one if HOW
 * has SMEM__OS_CREATE and it does not exist, and takes its gate, waiting
 * until DEADLINE_NS.  A new object gets exactly MODE (no umask).
 *
 * Pre:  name passed smem_name_check.
 * Post: on 0, *out is open with its gate held, and *st describes it.  The
 *       object is a regular file owned by the calling user and still has
 *       its name (an object removed while we waited is never returned).
 *       Errors: SMEM_ENOENT (missing and not created), SMEM_EACCES (owned by
 *       someone else, a symbolic link, or no permission), SMEM_EBADREGION
 *       (not a regular file), SMEM_ETIMEDOUT (gate busy until the deadline),
 *       or a system error.
 */
int smem__os_acquire(const char *name, unsigned how, unsigned mode, int64_t deadline_ns,
                     smem__os_obj **out, smem__os_stat *st);

/* Takes the gate of an open object again (after smem__os_gate_unlock),
 * waiting until DEADLINE_NS: 0 or SMEM_ETIMEDOUT. */
int smem__os_gate_lock(smem__os_obj *o, int64_t deadline_ns);
void smem__os_gate_unlock(smem__os_obj *o);

/* Gate held: 1 if some other open is attached, else 0. */
int smem__os_others_attached(smem__os_obj *o);

/* Registers this open as a user (takes the users lock, shared). */
int smem__os_attach(smem__os_obj *o);

/*
 * Gate held: replaces the object with a new one of TOTAL zero bytes, with
 * the space reserved (SMEM_ENOSPC when it cannot be, so that touching the
 * memory later can never fault), and exactly MODE.  Whoever kept a handle
 * to the old object (a descriptor from when it had another mode) sees none
 * of the new one.
 */
int smem__os_reset(smem__os_obj *o, uint64_t total, unsigned mode);

/* 1 if O's name still leads to O's object, 0 if it leads elsewhere or
 * nowhere, or a negative code. */
int smem__os_named(const smem__os_obj *o);

/* Maps the first TOTAL bytes, shared, read-only if RDONLY.  If another
 * process shrinks the object under the mapping, touching a page beyond its
 * new end maps zeros over the whole mapping instead of killing the process
 * with SIGBUS; what is left of a partial last page reads as zeros anyway.
 * The region layer notices the zeros in its tail (region.h). */
int smem__os_map(smem__os_obj *o, uint64_t total, int rdonly, void **addr);
void smem__os_unmap(void *addr, uint64_t total);

/* Gate held: removes the object's name if it still has it (another process
 * may have removed it while we did not hold the gate), and its tables. */
int smem__os_unlink(smem__os_obj *o);

/*
 * Tables: objects beside an object, that the layer built on a region
 * keeps more data in when it outgrows the region (a map that grew:
 * map-resize.c).  Table GEN (1 to 2^32-1) of O has no region name: nothing
 * lists, opens or removes it as a region, and it goes with O (unlink, and
 * reset, drop every table of O).
 *
 * smem__os_table_create makes table GEN of TOTAL zero bytes with the
 * space reserved (SMEM_ENOSPC) and O's mode, replacing any old one of that
 * GEN, and maps it writable.  smem__os_table_open maps an existing one
 * whole (SMEM_ENOENT if there is none) and says its size in *TOTAL.
 * smem__os_table_drop removes table GEN's name (none: 0); whoever maps it
 * keeps its memory until they let go.  smem__os_table_release gives a
 * table's memory back while keeping its addresses readable: whoever still
 * reads there reads zeros; smem__os_unmap frees the addresses.  Windows:
 * SMEM_ENOTSUP (not built yet).
 */
int smem__os_table_create(smem__os_obj *o, uint32_t gen, uint64_t total, void **addr);
int smem__os_table_open(smem__os_obj *o, uint32_t gen, int rdonly, void **addr, uint64_t *total);
int smem__os_table_drop(smem__os_obj *o, uint32_t gen);
void smem__os_table_release(void *addr, uint64_t total);

/*
 * Closes the object, releasing its locks and beacons.  NULL is a no-op.
 *
 * Fork: in a child, an object opened before the fork is the child's own:
 * it holds the users lock if the parent's open did (not the parent's
 * lock: one that goes when the child ends), and no beacon (the child
 * lights its own).  None of the parent's locks is kept alive by the child.
 * An object that another thread was opening or closing at the fork is let
 * go of in the child; every call on it then fails with SMEM_EBADF.
 */
void smem__os_close(smem__os_obj *o);

/*
 * Waiting on a 32-bit word in the object's shared memory, across
 * processes.  smem__os_wait sleeps while *ADDR == EXPECTED, until a wake,
 * for at most TIMEOUT_NS; it may return early (a spurious wake, a signal),
 * so callers re-check their condition.  Returns 0, or SMEM_ETIMEDOUT when
 * the time ran out.  smem__os_wake_all wakes every process sleeping on
 * ADDR.
 */
int smem__os_wait(smem__os_obj *o, const uint32_t *addr, uint32_t expected, int64_t timeout_ns);
void smem__os_wake_all(smem__os_obj *o, uint32_t *addr);

/*
 * Beacons tell whether the holder of a lock in shared memory is alive.  An
 * open lights beacon ID (a number unique to it, 1 to 2^62-1) for as long as
 * it stays open; the OS puts it out when the open is closed or its process
 * dies.  An open has at most one: SMEM_EEXIST if it has one already (lit
 * by another thread).  smem__os_beacon_id gives the id of the one this
 * process lit through O, or 0 (none yet, or O was inherited across a fork:
 * the child lights its own).  smem__os_beacon_lit says whether another
 * open has beacon ID lit (1) or not (0); the caller's own does not count.
 */
int smem__os_beacon_light(smem__os_obj *o, uint64_t id);
uint64_t smem__os_beacon_id(const smem__os_obj *o);
/* The word behind smem__os_beacon_id, for fast paths (valid while O is). */
const uint64_t *smem__os_beacon_word(const smem__os_obj *o);
int smem__os_beacon_lit(smem__os_obj *o, uint64_t id);

/*
 * Looks at the object NAME without locking or changing it: fills *st,
 * reads up to LEN bytes from its start into BUF (the rest of BUF is
 * zeroed) and its last 8 bytes into *END (0 if it is shorter).  Fails
 * with SMEM_ENOENT if missing; for an object that exists but cannot be
 * read as ours (another user's, a symbolic link, not a regular file) it
 * fills what it can of *st and returns the reason.
 */
int smem__os_peek(const char *name, smem__os_stat *st, void *buf, size_t len, uint64_t *end);

/* Calls FN with the region name of every object that looks like a region,
 * until FN returns nonzero.  Returns 0 or an error. */
int smem__os_list(int (*fn)(const char *name, void *arg), void *arg);

#endif
