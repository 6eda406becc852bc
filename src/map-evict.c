/*
 * Choosing what goes when a full map needs room, writer lock held: an
 * expired entry if there is one, else (SMEM_EVICT) the entry CLOCK picks.
 * map-write.c unlinks what is chosen here; nothing here changes a chain.
 *
 * Why CLOCK: it approximates least-recently-used with one word per record
 * that a reader sets only when it is clear, so a hot entry costs its
 * readers a load, not a store, and no reader ever takes a lock or writes a
 * line that other readers write on every get (a list kept in LRU order
 * would, and Redis's sampled LRU needs a clock read and a timestamp store
 * per get).  The hand goes round the records in index order: one read since
 * the hand last passed keeps its place once (its mark is cleared), the
 * first one not read is the victim.  An entry survives as long as it is
 * read at least once per turn of the hand, and a turn takes one eviction
 * for every entry that was not read during it.
 *
 * Finding an expired entry is a second sweep, with its own position, that
 * runs only when the header's bound on the soonest expiry says that one
 * may exist.  A sweep that finds none has looked at every record, so it
 * makes the bound exact, and no sweep runs again before that time.
 */
#include "map-layout.h"

/* The record after the one at I (0 to records - 1), going round. */
static uint64_t next_index(const smem_map *m, uint64_t i)
{
    return i + 1 < m->g.records ? i + 1 : 0;
}

/* A position read from the region, as an index below the record count. */
static uint64_t position(const smem_map *m, const uint32_t *word)
{
    uint64_t i = smem__load_relaxed_u32(word);
    return i < m->g.records ? i : 0;
}

uint32_t smem__map_find_expired(smem_map *m, uint64_t now)
{
    uint64_t i = position(m, &m->hdr->reap), soonest = NEVER;
    for (uint64_t steps = 0; steps < m->g.records; steps++, i = next_index(m, i)) {
        smem__rec *r = rec_at(m, (uint32_t)(i + 1));
        uint64_t expires = smem__load_relaxed_u64(&r->expires);
        if (smem__load_relaxed_u64(&r->version) == 0 || expires == 0)
            continue; /* free, or never expires */
        if (now >= expires) {
            smem__store_relaxed_u32(&m->hdr->reap, (uint32_t)next_index(m, i));
            return (uint32_t)(i + 1);
        }
        soonest = expires < soonest ? expires : soonest;
    }
    smem__store_relaxed_u64(&m->hdr->next_expiry, soonest);
    return 0;
}

uint32_t smem__map_clock_victim(smem_map *m)
{
    uint64_t i = position(m, &m->hdr->hand);
    /* Two turns: the first may only clear marks. */
    for (uint64_t steps = 0; steps < 2 * m->g.records; steps++, i = next_index(m, i)) {
        smem__rec *r = rec_at(m, (uint32_t)(i + 1));
        if (smem__load_relaxed_u64(&r->version) == 0)
            continue; /* free */
        if (smem__load_relaxed_u32(&r->used) != 0) {
            smem__store_relaxed_u32(&r->used, 0); /* a second chance */
            continue;
        }
        smem__store_relaxed_u32(&m->hdr->hand, (uint32_t)next_index(m, i));
        return (uint32_t)(i + 1);
    }
    return 0;
}
