/*
 * The writer lock: serialises the writers of one region across processes,
 * and survives the death of its owner.
 *
 * The lock word holds the id of the open that owns it.  Each writable open
 * takes an id no other open of the region has had and lights the OS beacon
 * of that id (os.h); a writer that finds the lock held for a while by an
 * owner whose beacon is out knows the owner died, and takes the lock over.
 * The new owner is told, so that it can repair what the dead one left.
 *
 * The struct lives in the region's shared memory, in a layer's own header;
 * every field may have been scribbled on, and nothing here trusts it.
 */
#ifndef SMEM_WLOCK_H
#define SMEM_WLOCK_H

#include "sharedmem.h"

#include "atomics.h"

#include <stdint.h>

typedef struct smem__wlock {
    uint64_t owner;   /* 0 free, else the owner's id */
    uint32_t seq;     /* +1 per unlock that found waiters; futex word */
    uint32_t waiters; /* bit 0: a writer may be asleep on seq; bits 1-31: the
                       * tag of the writer that claimed the next turn (wlock.c) */
    uint64_t next_id; /* the last id given to an open */
} smem__wlock;

_Static_assert(sizeof(smem__wlock) == 24, "the writer lock is part of the layout");

/* Gives this open of R an id no other open has had, and lights its beacon. */
int smem__wlock_new_id(smem__wlock *l, smem_region *r, uint64_t *id);

/* The id under which this process writes through R: the one its open
 * took, or, in a child forked since, a new one of its own (taken at its
 * first write).  SMEM_EBADF for a read-only handle.  LIT is R's beacon
 * word (smem__os_beacon_word), which the handle keeps at hand: the fast
 * path is one load. */
int smem__wlock_new_writer_id(smem__wlock *l, smem_region *r, uint64_t *id);

static inline int smem__wlock_writer_id(smem__wlock *l, smem_region *r, const uint64_t *lit,
                                        uint64_t *id)
{
    *id = smem__load_acquire_u64(lit);
    return *id != 0 ? 0 : smem__wlock_new_writer_id(l, r, id);
}

/* Takes the lock for ID, waiting up to R's open timeout: 0, 1 if it was
 * taken over from a dead owner (whose work may be half done), or
 * SMEM_ETIMEDOUT.  The clock is read only once the lock is found busy. */
int smem__wlock_take(smem__wlock *l, smem_region *r, uint64_t id);

void smem__wlock_give(smem__wlock *l, smem_region *r);

/*
 * The open of a kind whose writers take this lock (values, maps), in two
 * steps so that a kind checks its own arguments in between.
 *
 * smem__wlock_open_opts: OPTS (may be NULL: the defaults) as such a kind
 * takes them, in *O: SMEM_EINVAL for an init function or SMEM_ANYKIND,
 * which only the kind itself may set.
 *
 * smem__wlock_open: opens (or creates, with O's init) the region NAME of
 * KIND with SIZE bytes of data (0: whatever it has); ADOPT checks the
 * region's figures against what the caller asked for, keeps them in HANDLE
 * with the region, and gives the region's writer lock; a writable open
 * then takes its writer id.  On failure nothing is left open.
 */
typedef int (*smem__adopt_fn)(void *handle, smem_region *r, smem__wlock **lock);

int smem__wlock_open_opts(const smem_opts *opts, smem_opts *o);
int smem__wlock_open(const char *name, size_t size, enum smem_kind kind, const smem_opts *o,
                     smem__adopt_fn adopt, void *handle);

#endif
