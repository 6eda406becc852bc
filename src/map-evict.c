/*
 * Choosing what goes, writer lock held: when a full map needs room, an
 * expired entry if there is one, else (SMEM_EVICT) the entry CLOCK picks;
 * and, a few records per change, expired entries to reclaim.  map-write.c
 * unlinks what is chosen here; nothing here changes a chain.
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
 * Expired entries are found by a second hand, the sweep, which also keeps
 * the header's bound on the soonest expiry honest.  It goes round the
 * records in turns: the soonest expiry it sees in a turn (and that of
 * every record linked meanwhile, see account in map-write.c) becomes the
 * bound when the turn ends.  A full map that needs room sweeps a whole
 * turn's worth of records, from wherever the sweep is, so that it never
 * evicts a live entry while an expired one is left (and then the bound is
 * exact); every other change sweeps a few records, so that expired
 * entries are reclaimed and the bound rises even in a map that never
 * fills.  Both run only while the bound says that something may have
 * expired.
 */
#include "map-layout.h"

/* The record after the one at I (0 to records - 1), going round. */
static uint64_t next_index(const smem_map *m, uint64_t i)
{
    return i + 1 < m->t->g.records ? i + 1 : 0;
}

/* A position read from the region, as an index below the record count. */
static uint64_t position(const smem_map *m, const uint32_t *word)
{
    uint64_t i = smem__load_relaxed_u32(word);
    return i < m->t->g.records ? i : 0;
}

/* Where the sweep's turn stands: records left to visit, and the soonest
 * expiry seen in it. */
typedef struct turn {
    uint64_t left, least;
} turn;

/* One record visited by the sweep; a turn that ends sets the bound. */
static void sweep_visit(smem_map *m, turn *t, uint64_t expires)
{
    if (expires != 0 && expires < t->least)
        t->least = expires;
    if (--t->left == 0) {
        smem__store_relaxed_u64(&m->hdr->next_expiry, t->least);
        t->left = m->t->g.records;
        t->least = NEVER;
    }
}

uint32_t smem__map_sweep(smem_map *m, uint64_t now, uint64_t budget)
{
    smem__mhdr *h = m->hdr;
    uint64_t i = position(m, &h->reap), circle = NEVER;
    turn t = {smem__load_relaxed_u32(&h->sweep_left), smem__load_relaxed_u64(&h->sweep_min)};
    if (t.left == 0 || t.left > m->t->g.records)
        t = (turn){m->t->g.records, NEVER}; /* a fresh map, or scribbled: start a turn */
    uint32_t found = 0;
    for (uint64_t steps = 0; steps < budget && !found; steps++, i = next_index(m, i)) {
        smem__rec *r = rec_at(m->t, (uint32_t)(i + 1));
        uint64_t expires = 0;
        if (smem__load_relaxed_u64(&r->version) != 0) /* else free */
            expires = smem__load_relaxed_u64(&r->expires);
        if (expires != 0 && now >= expires) {
            found = (uint32_t)(i + 1); /* the caller removes it: no bound from it */
            expires = 0;
        }
        circle = expires != 0 && expires < circle ? expires : circle;
        sweep_visit(m, &t, expires);
    }
    if (!found && budget >= m->t->g.records) {
        /* Every record was seen just now and none has expired: the bound
         * is exact, and a new turn starts here. */
        smem__store_relaxed_u64(&h->next_expiry, circle);
        t = (turn){m->t->g.records, NEVER};
    }
    smem__store_relaxed_u32(&h->reap, (uint32_t)i);
    smem__store_relaxed_u32(&h->sweep_left, (uint32_t)t.left);
    smem__store_relaxed_u64(&h->sweep_min, t.least);
    return found;
}

uint32_t smem__map_clock_victim(smem_map *m)
{
    uint64_t i = position(m, &m->hdr->hand);
    /* Two turns: the first may only clear marks. */
    for (uint64_t steps = 0; steps < 2 * m->t->g.records; steps++, i = next_index(m, i)) {
        smem__rec *r = rec_at(m->t, (uint32_t)(i + 1));
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
