/*
 * Waiting for a map (or one key of it) to change: smem_map_wait.
 *
 * The invariant: no change is missed.  A waiter reads the change counter
 * before the version it compares, and announces a sleep before its last
 * look at the counter; a writer counts the change (announce, map-write.c)
 * after it is visible and wakes sleepers after counting it.  Sleeps are
 * sliced, so that a writer that died before waking anyone delays a waiter
 * by one slice at most.
 */
#include "map-layout.h"

/* How long a waiter spins before it sleeps, and how often a sleeper wakes
 * anyway (in case a writer died before waking anyone); a read-only handle
 * cannot ask writers for a wake-up, so it looks more often. */
#define WAIT_SPIN_NS 20000
#define WAIT_SLICE_NS 1000000000
#define WAIT_SLICE_RDONLY_NS 1000000


/* ------------------------------------------------------------------------ */
/* Waiting                                                                  */

static int wait_for_change(smem_map *m, const char *key, uint64_t seen, int timeout_ms)
{
    lookup k;
    if (key) {
        int klen = key_length(key);
        if (klen < 0)
            return klen;
        const table *t;
        int rc = map_table(m, &t);
        if (rc < 0)
            return rc;
        lookup_init(m, t, key, klen, &k);
    }
    smem__mhdr *h = m->hdr;
    int64_t start = smem__os_now_ns();
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : start + (int64_t)timeout_ms * 1000000;
    int64_t spin_until = start + WAIT_SPIN_NS;
    int writable = !smem__region_rdonly(m->region);
    int64_t slice = writable ? WAIT_SLICE_NS : WAIT_SLICE_RDONLY_NS;
    for (;;) {
        /* changes first: a change that the version read below misses
         * increments it afterwards (announce comes last in a change). */
        uint32_t c = smem__load_acquire_u32(&h->changes);
        uint64_t version, expires;
        int rc = smem__map_current_version(m, key ? &k : NULL, &version, &expires);
        if (rc < 0)
            return rc;
        if (version != seen)
            return 0;
        /* The key's expiry changes its version to 0 without a change to
         * announce: wake for it (at the first instant now_ms says so). */
        int64_t wake_at = deadline;
        if (expires != 0 && expires < (uint64_t)(deadline / 1000000))
            wake_at = (int64_t)expires * 1000000;
        /* Spin first: a change that comes within microseconds is seen
         * within nanoseconds, without the cost of sleeping and waking. */
        int changed = 0;
        for (unsigned i = 0; !changed; i++) {
            changed = smem__load_acquire_u32(&h->changes) != c;
            if ((i & 31) == 31) {
                int64_t now = smem__os_now_ns();
                if (now >= wake_at || now >= spin_until)
                    break;
            }
            smem__cpu_relax();
        }
        if (changed)
            continue;
        /* Announce the sleep, then look at changes (see announce: either
         * we see its increment here, or it sees our announcement).  After
         * a slice, look again anyway: a writer may have died in a change
         * before announcing it. */
        if (writable)
            smem__store_seq_cst_u32(&h->sleepers, 1);
        if (smem__load_seq_cst_u32(&h->changes) != c)
            continue;
        if (smem__region_shrunk(m->tail))
            return SMEM_EBADREGION;
        int64_t now = smem__os_now_ns();
        if (now >= deadline)
            return SMEM_ETIMEDOUT;
        if (now >= wake_at)
            continue; /* the key expired: its version is 0 now */
        int64_t left = wake_at - now;
        smem__os_wait(smem__region_obj(m->region), &h->changes, c, left < slice ? left : slice);
    }
}

int smem_map_wait(smem_map *m, const char *key, uint64_t seen, int timeout_ms)
{
    if (!m || timeout_ms < -1)
        return SMEM_EINVAL;
    return unless_lost(m, wait_for_change(m, key, seen, timeout_ms));
}
