/*
 * Rebuilding a map's bookkeeping from its chains, writer lock held: the
 * repair of what a dead writer (or a scribbler) left, and the free list
 * after a flush.
 *
 * The chains are the truth: every change keeps them whole at every
 * instant (map-write.c), while the free list, the counters and the bounds
 * next to them may lag behind a writer that died.  Repair therefore keeps
 * every sound chain as it is and recomputes everything else from it.
 */
#include "map-layout.h"

/* Whether a linked record is what it must be: a valid key of the chain's
 * bucket, and a value that fits. */
static int rec_sound(const smem_map *m, smem__rec *r, uint64_t bucket)
{
    uint32_t lens = smem__load_relaxed_u32(&r->lens);
    uint32_t klen = lens >> 24;
    if (klen < 1 || klen > KEY_MAX || (lens & VLEN_MASK) > m->t->max_value)
        return 0;
    char key[KEY_MAX];
    smem__copy_from_shared(key, rec_key(r), klen);
    if (memchr(key, 0, klen))
        return 0;
    return bucket_of(m->t, key_hash(m->seed, key, klen)) == bucket;
}

/* What a walk of the chains finds. */
typedef struct tally {
    uint64_t count, version, bytes, expiring, next_expiry;
} tally;

static void tally_record(smem__rec *r, tally *t)
{
    uint32_t lens = smem__load_relaxed_u32(&r->lens);
    uint64_t v = smem__load_relaxed_u64(&r->version);
    uint64_t expires = smem__load_relaxed_u64(&r->expires);
    t->count++;
    t->version = v > t->version ? v : t->version;
    t->bytes += (lens >> 24) + (lens & VLEN_MASK);
    if (expires != 0) {
        t->expiring++;
        t->next_expiry = expires < t->next_expiry ? expires : t->next_expiry;
    }
}

/* Cuts each chain at its first link that is out of range, loops, or leads
 * to a record that does not belong there; marks the records linked in
 * LINKED and tallies them. */
static void cut_chains(smem_map *m, unsigned char *linked, tally *t)
{
    for (uint64_t b = 0; b < m->t->g.nbuckets; b++) {
        smem__group *grp = &m->t->groups[b / GROUP_BUCKETS];
        uint32_t *link = &grp->head[b % GROUP_BUCKETS];
        for (;;) {
            uint32_t index1 = smem__load_relaxed_u32(link);
            if (index1 == 0)
                break;
            uint32_t i = index1 - 1;
            if (!valid_index(m->t, index1) || (linked[i / 8] & (1u << (i % 8))) ||
                !rec_sound(m, rec_at(m->t, index1), b)) {
                smem__store_release_u32(link, 0);
                break;
            }
            linked[i / 8] |= (unsigned char)(1u << (i % 8));
            tally_record(rec_at(m->t, index1), t);
            link = &rec_at(m->t, index1)->next;
        }
    }
}

/* Every group's seq moves, so that readers in flight look again; then
 * every record not marked in LINKED (NULL: none is) goes on the free list,
 * in index order. */
static void free_unlinked(smem_map *m, const unsigned char *linked)
{
    for (uint64_t g = 0; g < m->t->g.ngroups; g++)
        smem__store_release_u32(&m->t->groups[g].seq, smem__load_relaxed_u32(&m->t->groups[g].seq) + 1);
    smem__fence_release(); /* as in alloc_record: after the seq increments */
    uint32_t head = 0;
    for (uint64_t i = m->t->g.records; i-- > 0;) {
        if (!linked || !(linked[i / 8] & (1u << (i % 8)))) {
            smem__rec *r = rec_at(m->t, (uint32_t)(i + 1));
            smem__store_relaxed_u64(&r->version, 0);
            smem__store_relaxed_u32(&r->next, head);
            head = (uint32_t)(i + 1);
        }
    }
    smem__store_relaxed_u32(&m->hdr->free_head, head);
    smem__store_relaxed_u32(&m->hdr->fresh, (uint32_t)m->t->g.records);
}

static void store_tally(smem_map *m, const tally *t)
{
    smem__mhdr *h = m->hdr;
    smem__store_relaxed_u32(&h->count, (uint32_t)t->count);
    smem__store_relaxed_u64(&h->bytes, t->bytes);
    smem__store_relaxed_u32(&h->expiring, (uint32_t)t->expiring);
    smem__store_relaxed_u64(&h->next_expiry, t->next_expiry);
    smem__store_relaxed_u32(&h->sweep_left, 0); /* the sweep starts a new turn */
    smem__store_release_u64(&h->version, t->version);
}

/*
 * Rebuilds what a dead writer (or a scribbler) may have left inconsistent,
 * from the chains: cuts each chain where it goes wrong, then makes every
 * record not linked free, and recomputes the count, the bytes, the expiry
 * bound and the map version.  Chains that were whole (all of them, unless
 * the region was scribbled on) lose nothing.  SMEM_ENOMEM leaves the
 * repair for the next writer.
 */
int smem__map_repair(smem_map *m)
{
    unsigned char *linked = calloc((size_t)(m->t->g.records + 7) / 8, 1);
    if (!linked)
        return SMEM_ENOMEM;
    smem__map_settle_resize(m); /* what a resize that died left */
    smem__store_relaxed_u64(&m->hdr->max_entries, m->t->max_entries);
    smem__store_relaxed_u64(&m->hdr->max_value, m->t->max_value);
    tally t = {0, smem__load_relaxed_u64(&m->hdr->version), 0, 0, NEVER};
    cut_chains(m, linked, &t);
    crash_point("repair");
    free_unlinked(m, linked);
    free(linked);
    store_tally(m, &t);
    smem__store_relaxed_u32(&m->hdr->repair, 0);
    return 0;
}

void smem__map_free_all(smem_map *m)
{
    free_unlinked(m, NULL);
    tally t = {0, smem__load_relaxed_u64(&m->hdr->version), 0, 0, NEVER};
    store_tally(m, &t);
}
