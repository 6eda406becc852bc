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

/* Fairness.  The lock is not a queue: an unlock wakes the sleepers, and the
 * writer that unlocked, still running, would usually take the lock again
 * before any of them is scheduled.  Writers that never pause could so keep
 * another from the lock until its timeout.  A writer passed over for
 * LOCK_STARVE_NS therefore claims the next turn: it writes its tag into the
 * waiters word, and the others leave a free lock to it.  They leave it for
 * at most LOCK_CLAIM_NS per claim, then void the claim: a claimant may have
 * died, stopped, or never been (a scribbled word). */
#define LOCK_STARVE_NS 1000000
#define LOCK_CLAIM_NS 5000000

#define SLEEPERS 1u /* the waiters word's bit 0; bits 1-31 are the claim */

static uint32_t claim_of(uint32_t waiters)
{
    return waiters >> 1;
}

/* The 31-bit tag by which a writer claims the next turn.  Threads of one
 * open share its id, so they share the claim; so would two opens whose ids
 * agree in 31 bits, which only makes the two of them compete for the turn. */
static uint32_t claim_tag(uint64_t id)
{
    uint32_t tag = (uint32_t)(id & 0x7fffffff);
    return tag != 0 ? tag : 1;
}

/* Claims the next turn for TAG unless another holds it: 1 if TAG holds it. */
static int claim_turn(smem__wlock *l, uint32_t tag)
{
    for (;;) {
        uint32_t w = smem__load_seq_cst_u32(&l->waiters);
        if (claim_of(w) != 0)
            return claim_of(w) == tag;
        if (smem__cas_seq_cst_u32(&l->waiters, w, w | tag << 1))
            return 1;
    }
}

/* Voids TAG's claim to the next turn, if it still holds it. */
static void drop_claim(smem__wlock *l, uint32_t tag)
{
    for (;;) {
        uint32_t w = smem__load_seq_cst_u32(&l->waiters);
        if (claim_of(w) != tag || smem__cas_seq_cst_u32(&l->waiters, w, w & SLEEPERS))
            return;
    }
}

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

/* One writer's wait for the lock. */
typedef struct lock_wait {
    int64_t spin_until, starve_at, deadline; /* 0 until the lock was found busy */
    uint32_t tag;                            /* claim_tag of the writer's id */
    uint32_t left_to;                        /* the claim a free lock was left to */
    int64_t left_since;                      /* and since when */
} lock_wait;

/* The time, starting W's clocks at the first call.  Uncontended takes
 * never read the clock. */
static int64_t wait_clock(lock_wait *w, smem_region *r)
{
    int64_t now = smem__os_now_ns();
    if (w->deadline == 0) {
        w->spin_until = now + LOCK_SPIN_NS;
        w->starve_at = now + LOCK_STARVE_NS;
        w->deadline = now + (int64_t)smem__region_timeout_ms(r) * 1000000;
    }
    return now;
}

/* Whether W leaves the free lock to the writer whose claim is CLAIM: yes,
 * for LOCK_CLAIM_NS at most (then the claim is void) and never past W's
 * own deadline, which a free lock must not make it miss. */
static int leave_free_lock(smem__wlock *l, lock_wait *w, uint32_t claim, smem_region *r)
{
    int64_t now = wait_clock(w, r);
    if (w->left_to != claim) {
        w->left_to = claim;
        w->left_since = now;
    }
    if (now >= w->deadline)
        return 0;
    if (now - w->left_since < LOCK_CLAIM_NS)
        return 1;
    drop_claim(l, claim);
    return 0;
}

/* The end of a successful take: a claim W held is spent.  Gives RC. */
static int taken(smem__wlock *l, const lock_wait *w, int rc)
{
    if (w->deadline != 0)
        drop_claim(l, w->tag);
    return rc;
}

int smem__wlock_take(smem__wlock *l, smem_region *r, uint64_t id)
{
    smem__os_obj *obj = smem__region_obj(r);
    lock_wait w = {0, 0, 0, claim_tag(id), 0, 0};
    for (;;) {
        uint64_t owner = smem__load_relaxed_u64(&l->owner);
        if (owner == 0) {
            /* Relaxed: a claim missed here costs its claimant one more
             * turn, nothing else. */
            uint32_t claim = claim_of(smem__load_relaxed_u32(&l->waiters));
            if (claim == 0 || claim == w.tag || !leave_free_lock(l, &w, claim, r)) {
                if (smem__cas_acquire_u64(&l->owner, 0, id))
                    return taken(l, &w, 0);
                continue;
            }
        }
        int64_t now = wait_clock(&w, r);
        if (now < w.spin_until) {
            smem__cpu_relax();
            continue;
        }
        /* Held for a while.  By a live open (perhaps another thread of
         * ours, using this very handle), or by a dead one?  A word that
         * is no id at all was scribbled: nobody can own it. */
        if (owner != 0 && owner != id &&
            (owner > ID_MAX || !smem__os_beacon_lit(obj, owner))) {
            if (smem__cas_acquire_u64(&l->owner, owner, id))
                return taken(l, &w, 1);
            continue;
        }
        if (now >= w.deadline) {
            drop_claim(l, w.tag);
            return SMEM_ETIMEDOUT;
        }
        if (now >= w.starve_at)
            claim_turn(l, w.tag);
        /* Sleep until an unlock, or a slice passes and the beacon is
         * checked again.  Announce ourselves, then look at the lock again:
         * our read-modify-write and load and smem__wlock_give's store and
         * load are all seq_cst, so either we see its unlock or it sees our
         * announcement and wakes us.  (A lock left free for a claimant is
         * "busy" here: its claimant's unlock wakes us, or the slice ends.) */
        uint32_t seq = smem__load_acquire_u32(&l->seq);
        smem__fetch_or_seq_cst_u32(&l->waiters, SLEEPERS);
        if (smem__load_seq_cst_u64(&l->owner) != owner)
            continue;
        int64_t slice = w.deadline - now < LOCK_SLICE_NS ? w.deadline - now : LOCK_SLICE_NS;
        smem__os_wait(obj, &l->seq, seq, slice);
    }
}

void smem__wlock_give(smem__wlock *l, smem_region *r)
{
    /* seq_cst: the unlock is ordered before the look at the sleepers bit
     * (the other half is in smem__wlock_take).  The claim stays. */
    smem__store_seq_cst_u64(&l->owner, 0);
    if (smem__load_seq_cst_u32(&l->waiters) & SLEEPERS) {
        smem__fetch_and_seq_cst_u32(&l->waiters, ~SLEEPERS);
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
