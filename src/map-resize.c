/*
 * Growing a map while it is in use: smem_map_resize and SMEM_GROW, and how
 * every handle follows the map to its new table (the design is in map.c).
 *
 * A table object (generation 1 on) is a 64-byte header (smem__thdr: magic,
 * generation, figures), the bucket groups and the records as in the
 * region's own table, then a tail that must read SMEM__TAIL_MAGIC.
 */
#include "map-layout.h"

/* How often a handle looks again for a table the map left while it
 * followed (each time, the map moved on again). */
#define FOLLOW_TRIES 1000

static uint64_t object_total(const geometry *g)
{
    return THDR_SIZE + g->tables + SMEM__TAIL_SIZE;
}

void smem__map_place_table(table *t, uint32_t gen, unsigned char *groups, uint64_t max_entries,
                           uint64_t max_value, const geometry *g, const uint64_t *tail)
{
    t->gen = gen;
    t->groups = (smem__group *)groups;
    t->recs = groups + g->ngroups * GROUP_SIZE;
    t->g = *g;
    t->max_entries = (size_t)max_entries;
    t->max_value = (size_t)max_value;
    t->tail = tail;
}

/* The table object at BASE of TOTAL bytes, as a handle's table. */
static table *new_table(uint32_t gen, void *base, uint64_t total, uint64_t max_entries,
                        uint64_t max_value, const geometry *g)
{
    table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    unsigned char *b = base;
    smem__map_place_table(t, gen, b + THDR_SIZE, max_entries, max_value, g,
                          (const uint64_t *)(b + total - SMEM__TAIL_SIZE));
    t->base = base;
    t->total = total;
    return t;
}

static void free_table(table *t)
{
    smem__os_unmap(t->base, t->total);
    free(t);
}

/* Maps table object GEN and checks it: its own header must give figures
 * whose table fills the object exactly, and its tail must be there. */
static int open_table(smem_map *m, uint32_t gen, table **out)
{
    void *base;
    uint64_t total;
    int rc = smem__os_table_open(smem__region_obj(m->region), gen, m->rdonly, &base, &total);
    if (rc < 0)
        return rc;
    const smem__thdr *th = base;
    geometry g;
    uint64_t entries = 0, value = 0;
    int sound = total >= THDR_SIZE + SMEM__TAIL_SIZE;
    if (sound) {
        entries = smem__load_relaxed_u64(&th->max_entries);
        value = smem__load_relaxed_u64(&th->max_value);
        sound = smem__load_relaxed_u64(&th->magic) == TABLE_MAGIC &&
                smem__load_relaxed_u64(&th->gen) == gen && geometry_of(entries, value, &g) == 0 &&
                object_total(&g) == total &&
                !smem__region_shrunk((const uint64_t *)((char *)base + total - SMEM__TAIL_SIZE));
    }
    table *t = sound ? new_table(gen, base, total, entries, value, &g) : NULL;
    if (!t) {
        smem__os_unmap(base, total);
        return sound ? SMEM_ENOMEM : SMEM_EBADREGION;
    }
    *out = t;
    return 0;
}

/* Gives back the memory of a table that no walk of this handle is in. */
static void release(table *t)
{
    if (t->base && smem__exchange_seq_cst_u32(&t->released, 1) == 0)
        smem__os_table_release(t->base, t->total);
}

/*
 * T was replaced in the handle by a newer table.  A get still in T reads
 * zeros once it is released, and looks again (table_moved); a walk keeps
 * it (smem__map_walk_begin).  Seq_cst on both sides, as in Dekker's
 * algorithm: either the walk sees T retired and leaves it, or this sees
 * the walk and leaves the release to the last walk out.
 */
static void retire(table *t)
{
    smem__store_seq_cst_u32(&t->retired, 1);
    if (smem__load_seq_cst_u32(&t->walkers) == 0)
        release(t);
}

/* Makes NEXT the handle's table in place of CUR: 1 if it did, 0 if
 * another thread had replaced CUR first. */
static int take_over(smem_map *m, table *cur, table *next)
{
    next->older = cur;
    if (!smem__cas_release_ptr((void **)&m->t, cur, next))
        return 0;
    retire(cur);
    return 1;
}

int smem__map_follow(smem_map *m, const table **out)
{
    for (int tries = 0;; tries++) {
        table *cur = smem__load_acquire_ptr((void *const *)&m->t);
        /* Acquire: the table's contents were written before its
         * generation was published (smem__map_grow). */
        uint32_t gen = smem__load_acquire_u32(&m->hdr->gen);
        if (gen == cur->gen) {
            *out = cur;
            return 0;
        }
        if (gen < cur->gen)
            return SMEM_EBADREGION; /* generations only grow: scribbled */
        table *next;
        int rc = open_table(m, gen, &next);
        if (rc == SMEM_ENOENT && tries < FOLLOW_TRIES &&
            smem__load_acquire_u32(&m->hdr->gen) != gen)
            continue; /* it moved on again, and dropped that one */
        if (rc < 0)
            return rc == SMEM_ENOENT ? SMEM_EBADREGION : rc;
        if (!take_over(m, cur, next)) {
            free_table(next); /* another thread followed first */
            continue;
        }
        *out = next;
        return 0;
    }
}

int smem__map_walk_begin(smem_map *m, const table **out)
{
    for (;;) {
        const table *t;
        int rc = map_table(m, &t);
        if (rc < 0)
            return rc;
        table *w = (table *)t;
        smem__fetch_add_seq_cst_u32(&w->walkers, 1);
        if (!smem__load_seq_cst_u32(&w->retired)) {
            *out = t;
            return 0;
        }
        smem__map_walk_end(t);
    }
}

void smem__map_walk_end(const table *t)
{
    table *w = (table *)t;
    if (smem__fetch_add_seq_cst_u32(&w->walkers, (uint32_t)-1) == 1 &&
        smem__load_seq_cst_u32(&w->retired))
        release(w);
}

void smem__map_free_tables(smem_map *m)
{
    for (table *t = m->t, *older; t && t != &m->first; t = older) {
        older = t->older;
        free_table(t);
    }
}

/* ------------------------------------------------------------------------ */
/* Moving                                                                   */

/*
 * Writer lock held, TO not published yet (so plain stores do): copies
 * every entry linked in FROM into TO, as records 1 to n, each at the head
 * of its chain in TO.  1 if FROM is damaged (a repair is due), else 0
 * with the number copied in *N.
 */
static int copy_entries(smem_map *m, const table *from, const table *to, uint64_t *n)
{
    uint64_t copied = 0, half = smem__load_relaxed_u32(&m->hdr->count) / 2;
    for (uint64_t b = 0; b < from->g.nbuckets; b++) {
        uint32_t index1 = smem__load_relaxed_u32(&from->groups[b / GROUP_BUCKETS].head[b % GROUP_BUCKETS]);
        for (uint64_t steps = 0; index1 != 0; steps++) {
            if (!valid_index(from, index1) || steps >= from->g.records ||
                copied >= to->max_entries)
                return 1; /* out of range, or a cycle */
            smem__rec *r = rec_at(from, index1);
            uint32_t lens = smem__load_relaxed_u32(&r->lens);
            uint32_t klen = lens >> 24, vlen = lens & VLEN_MASK;
            if (klen < 1 || klen > KEY_MAX || vlen > from->max_value)
                return 1;
            smem__rec *d = rec_at(to, (uint32_t)++copied);
            smem__store_relaxed_u64(&d->version, smem__load_relaxed_u64(&r->version));
            smem__store_relaxed_u32(&d->lens, lens);
            smem__store_relaxed_u64(&d->expires, smem__load_relaxed_u64(&r->expires));
            smem__store_relaxed_u32(&d->used, smem__load_relaxed_u32(&r->used));
            smem__copy_from_shared(rec_key(d), rec_key(r), klen);
            smem__copy_from_shared(rec_val(d), rec_val(r), vlen);
            uint64_t bucket = bucket_of(to, key_hash(m->seed, rec_key(d), klen));
            uint32_t *head = &to->groups[bucket / GROUP_BUCKETS].head[bucket % GROUP_BUCKETS];
            smem__store_relaxed_u32(&d->next, smem__load_relaxed_u32(head));
            smem__store_relaxed_u32(head, (uint32_t)copied);
            if (copied == half)
                crash_point("resize-copying");
            index1 = smem__load_relaxed_u32(&r->next);
        }
    }
    *n = copied;
    return 0;
}

/* Writer lock held: the new table's bookkeeping, in place of the old
 * one's: N records in use, from index 1 on, and no free list. */
static void start_bookkeeping(smem_map *m, const table *to, uint64_t n)
{
    smem__mhdr *h = m->hdr;
    smem__store_relaxed_u32(&h->count, (uint32_t)n);
    smem__store_relaxed_u32(&h->free_head, 0);
    smem__store_relaxed_u32(&h->fresh, (uint32_t)n);
    smem__store_relaxed_u32(&h->hand, 0);
    smem__store_relaxed_u32(&h->reap, 0);
    smem__store_relaxed_u32(&h->sweep_left, 0);
    smem__store_relaxed_u64(&h->max_entries, to->max_entries);
    smem__store_relaxed_u64(&h->max_value, to->max_value);
}

/* Writer lock held: a resize to GEN failed before it was published. */
static void abandon(smem_map *m, uint32_t gen, table *to)
{
    if (to)
        free_table(to);
    smem__os_table_drop(smem__region_obj(m->region), gen);
    smem__store_relaxed_u32(&m->hdr->resizing, 0);
    smem__store_relaxed_u32(&m->hdr->repair, 0);
}

/* Writer lock held, resizing done or undone: the names left behind. */
void smem__map_settle_resize(smem_map *m)
{
    smem__mhdr *h = m->hdr;
    uint32_t building = smem__load_relaxed_u32(&h->resizing);
    if (building == 0)
        return;
    uint32_t gen = smem__load_relaxed_u32(&h->gen);
    smem__os_obj *obj = smem__region_obj(m->region);
    if (building != gen)
        smem__os_table_drop(obj, building); /* never published: undone */
    else if (gen > 1)
        smem__os_table_drop(obj, gen - 1); /* published: the old table's name goes */
    crash_point("resize-settled");
    smem__store_relaxed_u32(&h->resizing, 0);
}

/*
 * Writer lock held, no repair due: moves every entry into a new table of
 * ENTRIES and VALUE (each at least the current figure), then publishes
 * it.  Until the one store of the generation, readers and the map are on
 * the old table, which nothing changes; from it on, on the new one.  A
 * writer killed before it leaves the new table to be dropped, after it the
 * old table's name, by the next writer's repair (the resizing mark and the
 * repair flag are set first).  0, 1 if the old table is damaged (a repair
 * is due), or a negative code with nothing changed.
 */
int smem__map_grow(smem_map *m, uint64_t entries, uint64_t value)
{
    smem__mhdr *h = m->hdr;
    table *from = m->t;
    geometry g;
    if (geometry_of(entries, value, &g) < 0 || from->gen == UINT32_MAX)
        return SMEM_E2BIG;
    uint32_t gen = from->gen + 1;
    smem__store_relaxed_u32(&h->resizing, gen);
    smem__store_relaxed_u32(&h->repair, 1);
    crash_point("resize-begun");
    void *base;
    uint64_t total = object_total(&g);
    int rc = smem__os_table_create(smem__region_obj(m->region), gen, total, &base);
    if (rc < 0) {
        abandon(m, gen, NULL);
        return rc;
    }
    crash_point("resize-created");
    table *to = new_table(gen, base, total, entries, value, &g);
    if (!to) {
        smem__os_unmap(base, total);
        abandon(m, gen, NULL);
        return SMEM_ENOMEM;
    }
    smem__thdr *th = base;
    smem__store_relaxed_u64(&th->gen, gen);
    smem__store_relaxed_u64(&th->max_entries, to->max_entries);
    smem__store_relaxed_u64(&th->max_value, to->max_value);
    smem__store_relaxed_u64(&th->magic, TABLE_MAGIC);
    smem__store_relaxed_u64((uint64_t *)to->tail, SMEM__TAIL_MAGIC);
    uint64_t n;
    if (copy_entries(m, from, to, &n)) {
        abandon(m, gen, to);
        return 1;
    }
    crash_point("resize-copied");
    start_bookkeeping(m, to, n);
    crash_point("resize-counted");
    /* The one store that moves the map: release, so that whoever loads
     * the generation with acquire sees the whole table. */
    smem__store_release_u32(&h->gen, gen);
    crash_point("resize-published");
    if (!take_over(m, from, to))
        free_table(to); /* another thread of this handle followed already */
    smem__map_settle_resize(m);
    smem__store_relaxed_u32(&h->repair, 0);
    return 0;
}

/* The figures that SMEM_GROW doubles to: entries (or the value length
 * NEED, if longer than the current max_value), within the limits. */
int smem__map_grow_for(smem_map *m, size_t need)
{
    const table *t = m->t;
    uint64_t entries = t->max_entries, value = t->max_value;
    if (need > value) {
        value = 2 * value > need ? 2 * value : need;
        value = value < SMEM_MAP_VALUE_MAX ? value : SMEM_MAP_VALUE_MAX;
    } else {
        entries = 2 * entries < SMEM_MAP_ENTRIES_MAX ? 2 * entries : SMEM_MAP_ENTRIES_MAX;
    }
    if (entries == t->max_entries && value == t->max_value)
        return SMEM_E2BIG;
    return smem__map_grow(m, entries, value);
}
