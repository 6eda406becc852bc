/*
 * The writer lock (wlock.h), and the open of the kinds that take it
 * (smem__wlock_open: open or create the region, check its figures, take a
 * writer id), so that values and maps share one open sequence.
 */
#include "wlock.h"

#include "atomics.h"
#include "os.h"
#include "region.h"

#define ID_MAX (((uint64_t)1 << 62) - 1) /* ids are 1 to ID_MAX (os.h: beacons) */

/* How long a writer spins before it checks whether the owner is alive,
 * and how often a sleeping writer checks again. */
#define LOCK_SPIN_NS 20000
#define LOCK_SLICE_NS 2000000

int smem__wlock_new_id(smem__wlock *l, smem_region *r, uint64_t *id)
{
    uint64_t n;
    do
        n = (smem__fetch_add_relaxed_u64(&l->next_id, 1) + 1) & ID_MAX;
    while (n == 0);
    *id = n;
    return smem__os_beacon_light(smem__region_obj(r), n);
}

int smem__wlock_new_writer_id(smem__wlock *l, smem_region *r, uint64_t *id)
{
    smem__os_obj *obj = smem__region_obj(r);
    *id = smem__os_beacon_id(obj);
    if (*id != 0)
        return 0;
    if (smem__region_rdonly(r))
        return SMEM_EBADF;
    int rc = smem__wlock_new_id(l, r, id);
    if (rc == SMEM_EEXIST) /* another thread of this child was first */
        *id = smem__os_beacon_id(obj);
    return rc == SMEM_EEXIST ? 0 : rc;
}

int smem__wlock_take(smem__wlock *l, smem_region *r, uint64_t id)
{
    smem__os_obj *obj = smem__region_obj(r);
    int64_t spin_until = 0, deadline = 0;
    for (;;) {
        uint64_t owner = smem__load_relaxed_u64(&l->owner);
        if (owner == 0) {
            if (smem__cas_acquire_u64(&l->owner, 0, id))
                return 0;
            continue;
        }
        int64_t now = smem__os_now_ns();
        if (spin_until == 0) {
            spin_until = now + LOCK_SPIN_NS;
            deadline = now + (int64_t)smem__region_timeout_ms(r) * 1000000;
        }
        if (now < spin_until) {
            smem__cpu_relax();
            continue;
        }
        /* Held for a while.  By a live open (perhaps another thread of
         * ours, using this very handle), or by a dead one?  A word that
         * is no id at all was scribbled: nobody can own it. */
        if (owner != id && (owner > ID_MAX || !smem__os_beacon_lit(obj, owner))) {
            if (smem__cas_acquire_u64(&l->owner, owner, id))
                return 1;
            continue;
        }
        if (now >= deadline)
            return SMEM_ETIMEDOUT;
        /* Sleep until an unlock, or a slice passes and the beacon is
         * checked again.  Announce ourselves, then look at the lock again:
         * our store and load and smem__wlock_give's are all seq_cst, so
         * either we see its unlock or it sees our announcement and wakes
         * us. */
        uint32_t seq = smem__load_acquire_u32(&l->seq);
        smem__store_seq_cst_u32(&l->waiters, 1);
        if (smem__load_seq_cst_u64(&l->owner) != owner)
            continue;
        int64_t slice = deadline - now < LOCK_SLICE_NS ? deadline - now : LOCK_SLICE_NS;
        smem__os_wait(obj, &l->seq, seq, slice);
    }
}

void smem__wlock_give(smem__wlock *l, smem_region *r)
{
    /* seq_cst: the unlock is ordered before the look at the waiters flag
     * (the other half is in smem__wlock_take). */
    smem__store_seq_cst_u64(&l->owner, 0);
    if (smem__load_seq_cst_u32(&l->waiters)) {
        smem__store_relaxed_u32(&l->waiters, 0);
        smem__fetch_add_release_u32(&l->seq, 1);
        smem__os_wake_all(smem__region_obj(r), &l->seq);
    }
}

int smem__wlock_open_opts(const smem_opts *opts, smem_opts *o)
{
    static const smem_opts defaults;
    *o = opts ? *opts : defaults;
    return o->init || (o->flags & SMEM_ANYKIND) ? SMEM_EINVAL : 0;
}

int smem__wlock_open(const char *name, size_t size, enum smem_kind kind, const smem_opts *o,
                     smem__adopt_fn adopt, void *handle)
{
    smem_region *r;
    int rc = smem__region_open(name, size, kind, o, &r);
    if (rc < 0)
        return rc;
    smem__wlock *lock;
    rc = adopt(handle, r, &lock);
    uint64_t id;
    if (rc == 0 && !(o->flags & SMEM_RDONLY))
        rc = smem__wlock_new_id(lock, r, &id);
    if (rc < 0)
        smem_region_close(r);
    return rc;
}
