/*
 * Writing a map: set, add, cas, del, incr, put, expire and flush, one at a
 * time under the writer lock (wlock.h).
 *
 * The invariant every step keeps: the chains are whole at every instant.
 * A change fills a free record (copy on write), links it with one release
 * store, bumps its group's seq, and only then frees the record it replaced
 * (put, unlink_record); crash points (test_map_crash.c) name each step.
 * Making room for a new key in a full map (make_room) unlinks one chosen
 * record the same way before the new one is written, so the entry it
 * removes is present up to that one store and gone after it.  A writer
 * killed anywhere leaves at worst records that are neither linked nor free
 * and counters behind, which the next writer rebuilds from the chains
 * (smem__map_repair, map-rebuild.c) before its own change.
 */
#include "map-layout.h"

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */

/* Takes the writer lock; repairs first if the last owner died in a change
 * or a repair is pending.  0 or a negative code, with the lock not held. */
int smem__map_write_begin(smem_map *m)
{
    uint64_t id;
    int rc = smem__wlock_writer_id(&m->hdr->lock, m->region, m->lit, &id);
    if (rc == 0)
        rc = smem__wlock_take(&m->hdr->lock, m->region, id);
    if (rc < 0)
        return rc;
    crash_point("locked");
    if (rc == 1) /* taken over from a dead owner: its change may be half done */
        smem__store_relaxed_u32(&m->hdr->repair, 1);
    const table *t;
    rc = smem__map_follow(m, &t); /* changes go to the current table */
    if (rc < 0) {
        smem__wlock_give(&m->hdr->lock, m->region);
        return rc;
    }
    if (smem__load_relaxed_u32(&m->hdr->repair)) {
        rc = smem__map_repair(m);
        if (rc < 0) {
            smem__wlock_give(&m->hdr->lock, m->region);
            return rc;
        }
    }
    return 0;
}

void smem__map_write_end(smem_map *m)
{
    smem__wlock_give(&m->hdr->lock, m->region);
}

/* Writer lock held: the link that points to K's record (its bucket's head
 * or the previous record's next) and the record (0 if absent).  1 if the
 * chain is damaged (then a repair is due). */
static int locate(smem_map *m, const lookup *k, uint32_t **link_out, uint32_t *index_out)
{
    uint32_t *link = &m->t->groups[k->group].head[k->slot];
    for (uint64_t steps = 0;; steps++) {
        uint32_t index1 = smem__load_relaxed_u32(link);
        if (index1 == 0)
            break;
        if (!valid_index(m->t, index1) || steps >= m->t->g.records)
            return 1;
        smem__rec *r = rec_at(m->t, index1);
        if (rec_holds(r, smem__load_relaxed_u32(&r->lens), k)) {
            *link_out = link;
            *index_out = index1;
            return 0;
        }
        link = &r->next;
    }
    *link_out = &m->t->groups[k->group].head[k->slot];
    *index_out = 0;
    return 0;
}

/*
 * Writer lock held: takes a free record (index + 1), or 0 if the free list
 * is damaged (then a repair is due).  A free record has version 0 (linked
 * ones never do: versions start at 1), so that a free list or a fresh
 * mark scribbled to lead to a linked record is noticed before that record
 * is overwritten.
 */
static uint32_t alloc_record(smem_map *m)
{
    smem__mhdr *h = m->hdr;
    uint32_t index1 = smem__load_relaxed_u32(&h->free_head);
    int from_list = index1 != 0;
    if (!from_list) {
        uint32_t fresh = smem__load_relaxed_u32(&h->fresh);
        if (fresh >= m->t->g.records)
            return 0; /* a consistent map always has a free record */
        index1 = fresh + 1;
    }
    if (!valid_index(m->t, index1) || smem__load_relaxed_u64(&rec_at(m->t, index1)->version) != 0)
        return 0;
    if (from_list)
        smem__store_relaxed_u32(&h->free_head, smem__load_relaxed_u32(&rec_at(m->t, index1)->next));
    else
        smem__store_relaxed_u32(&h->fresh, index1);
    /* A reader may still be reading this record from its previous life.
     * Whatever we write into it from here on comes after the increment of
     * its old group's seq that retired it, so a reader that sees any of it
     * sees that increment too (read_chain). */
    smem__fence_release();
    return index1;
}

/* Writer lock held: puts an unlinked record on the free list.  Its old
 * group's seq was incremented before (see alloc_record for the fence). */
static void free_record(smem_map *m, uint32_t index1)
{
    smem__fence_release();
    smem__store_relaxed_u64(&rec_at(m->t, index1)->version, 0); /* free (see alloc_record) */
    smem__store_relaxed_u32(&rec_at(m->t, index1)->next, smem__load_relaxed_u32(&m->hdr->free_head));
    crash_point("freeing");
    smem__store_relaxed_u32(&m->hdr->free_head, index1);
}

/* After a chain of group GROUP changed: readers of the group look again. */
static void group_changed(smem_map *m, uint32_t group)
{
    smem__group *grp = &m->t->groups[group];
    smem__store_release_u32(&grp->seq, smem__load_relaxed_u32(&grp->seq) + 1);
}

/* After a change numbered VERSION: publish the map version, then wake
 * sleepers if any announced themselves.  The increment of changes and the
 * load of sleepers are seq_cst, and so are a waiter's announcement and
 * its look at changes: either it sees the new count, or we see it. */
static void announce(smem_map *m, uint64_t version)
{
    smem__mhdr *h = m->hdr;
    smem__store_release_u64(&h->version, version);
    smem__fetch_add_seq_cst_u32(&h->changes, 1);
    if (smem__load_seq_cst_u32(&h->sleepers)) {
        smem__store_relaxed_u32(&h->sleepers, 0);
        smem__os_wake_all(smem__region_obj(m->region), &h->changes);
    }
}

/* What a record adds to the cache's bookkeeping. */
typedef struct footprint {
    uint64_t bytes;   /* of key and value */
    uint64_t expires; /* 0: never */
} footprint;

static footprint footprint_of(const smem__rec *r)
{
    uint32_t lens = smem__load_relaxed_u32(&r->lens);
    footprint f = {(lens >> 24) + (lens & VLEN_MASK), smem__load_relaxed_u64(&r->expires)};
    return f;
}

/* account's part for expiries, rarely needed. */
static void account_expiry(smem_map *m, uint64_t in, uint64_t out)
{
    smem__mhdr *h = m->hdr;
    uint32_t expiring = smem__load_relaxed_u32(&h->expiring);
    expiring += in != 0;
    expiring -= out != 0 && expiring > 0;
    smem__store_relaxed_u32(&h->expiring, expiring);
    /* Before the link store: readers must never see the record linked
     * and a bound that says nothing expires before it does.  The sweep's
     * turn must count it too (map-evict.c). */
    if (in != 0 && in < smem__load_relaxed_u64(&h->next_expiry))
        smem__store_relaxed_u64(&h->next_expiry, in);
    if (in != 0 && in < smem__load_relaxed_u64(&h->sweep_min))
        smem__store_relaxed_u64(&h->sweep_min, in);
}

/* Writer lock held: the cache's bookkeeping for a record IN about to be
 * linked and a record OUT unlinked (either may be empty: all zero).
 * Stores only: the figures are hints for readers (map-layout.h) and
 * rebuilt by repair. */
static void account(smem_map *m, footprint in, footprint out)
{
    smem__mhdr *h = m->hdr;
    uint64_t bytes = smem__load_relaxed_u64(&h->bytes) + in.bytes;
    smem__store_relaxed_u64(&h->bytes, bytes >= out.bytes ? bytes - out.bytes : 0);
    if (in.expires | out.expires)
        account_expiry(m, in.expires, out.expires);
}

static const footprint nothing = {0, 0};

static void count_up(uint64_t *counter)
{
    smem__store_relaxed_u64(counter, smem__load_relaxed_u64(counter) + 1);
}

/*
 * Writer lock held: unlinks the record INDEX1 that make_room chose, found
 * through its own key's chain, and counts it in COUNTER.  1 if it is not
 * linked where its key says (then a repair is due).
 */
static int remove_chosen(smem_map *m, uint32_t index1, uint64_t *counter)
{
    smem__rec *r = rec_at(m->t, index1);
    uint32_t klen = smem__load_relaxed_u32(&r->lens) >> 24;
    if (klen < 1 || klen > KEY_MAX)
        return 1;
    char key[KEY_MAX];
    smem__copy_from_shared(key, rec_key(r), klen);
    lookup k;
    lookup_init(m, m->t, key, (int)klen, &k);
    uint32_t *link = &m->t->groups[k.group].head[k.slot];
    for (uint64_t steps = 0; smem__load_relaxed_u32(link) != index1; steps++) {
        uint32_t at = smem__load_relaxed_u32(link);
        if (at == 0 || !valid_index(m->t, at) || steps >= m->t->g.records)
            return 1;
        link = &rec_at(m->t, at)->next;
    }
    /* The one store that removes it: present before, gone after. */
    smem__store_release_u32(link, smem__load_relaxed_u32(&r->next));
    crash_point("evicted");
    group_changed(m, k.group);
    account(m, nothing, footprint_of(r));
    free_record(m, index1);
    uint32_t count = smem__load_relaxed_u32(&m->hdr->count);
    smem__store_relaxed_u32(&m->hdr->count, count > 0 ? count - 1 : 0);
    count_up(counter);
    return 0;
}

/* How many records every change sweeps while something may have expired,
 * and how many expired entries it reclaims at most (a little work per
 * change, as nginx's shared dictionaries reclaim two per set). */
#define SWEEP_STEP 4
#define REAP_MAX 2

/* Writer lock held, at the start of every change: reclaims expired
 * entries the sweep finds in the next few records.  Like the removal in
 * make_room, it takes no version.  1 if damaged (then a repair is due). */
static int reap_some(smem_map *m, clock *c)
{
    for (int reaped = 0; reaped < REAP_MAX && may_have_expired(m, c); reaped++) {
        uint32_t gone = smem__map_sweep(m, clock_now(c), SWEEP_STEP);
        if (!gone)
            return 0;
        if (remove_chosen(m, gone, &m->hdr->expirations))
            return 1;
    }
    return 0;
}

/* What a change gives when SMEM_GROW moved the map to a larger table
 * before it changed anything: the caller places its key in the new table
 * and starts again. */
#define MAP_GREW 2

static int grown(int rc)
{
    return rc == 0 ? MAP_GREW : rc;
}

/*
 * Writer lock held, before a new key goes in: 0 if the map has room or
 * was given some (an expired entry reclaimed, or with SMEM_EVICT the
 * CLOCK victim evicted, counted in *EVICTED), SMEM_EFULL, or 1 if the
 * count or the records are damaged (then a repair is due).  The removal
 * takes no version of its own: it is part of the change that needed it.
 */
static int make_room(smem_map *m, clock *c, int *evicted)
{
    uint32_t count = smem__load_relaxed_u32(&m->hdr->count);
    if (count > m->t->max_entries)
        return 1; /* more entries than there is room for: scribbled */
    if (count < m->t->max_entries)
        return 0;
    if (may_have_expired(m, c)) {
        uint32_t gone = smem__map_sweep(m, clock_now(c), m->t->g.records);
        if (gone)
            return remove_chosen(m, gone, &m->hdr->expirations);
    }
    if (m->growing) {
        int rc = smem__map_grow_for(m, 0);
        if (rc != SMEM_E2BIG)
            return grown(rc); /* at the limits, evict or give SMEM_EFULL */
    }
    if (!m->evicting)
        return SMEM_EFULL;
    uint32_t victim = smem__map_clock_victim(m);
    int rc = victim ? remove_chosen(m, victim, &m->hdr->evictions) : 1;
    *evicted += rc == 0;
    return rc;
}

/* What a change writes: the value and when it expires. */
typedef struct entry_out {
    const void *val;
    size_t len;
    uint64_t expires; /* 0: never */
    int is_set;       /* counted in the sets (not an expire) */
} entry_out;

/*
 * Writer lock held, K located at (LINK, OLD): makes K hold E, as a new
 * record that takes OLD's place or goes first in the chain.  SMEM_EFULL
 * if K is new and the map full; 1 if the count or the free list is
 * damaged (then a repair is due).
 */
static int put(smem_map *m, const lookup *k, uint32_t *link, uint32_t old, const entry_out *e,
               clock *c, int *evicted)
{
    smem__mhdr *h = m->hdr;
    if (!old) {
        int rc = make_room(m, c, evicted);
        if (rc != 0)
            return rc;
    }
    uint32_t fresh = alloc_record(m);
    if (!fresh)
        return 1;
    crash_point("allocated");
    uint64_t version = smem__load_relaxed_u64(&h->version) + 1;
    smem__rec *r = rec_at(m->t, fresh);
    smem__store_relaxed_u64(&r->version, version);
    smem__store_relaxed_u32(&r->lens, k->klen << 24 | (uint32_t)e->len);
    smem__store_relaxed_u64(&r->expires, e->expires);
    smem__store_relaxed_u32(&r->used, 0);
    smem__copy_to_shared(rec_key(r), k->key, k->klen);
    if (e->len > 0)
        smem__copy_to_shared(rec_val(r), e->val, e->len);
    /* Read after make_room, which may have changed this very chain. */
    uint32_t next = old ? smem__load_relaxed_u32(&rec_at(m->t, old)->next) : smem__load_relaxed_u32(link);
    smem__store_relaxed_u32(&r->next, next);
    footprint in = {k->klen + e->len, e->expires};
    account(m, in, old ? footprint_of(rec_at(m->t, old)) : nothing);
    crash_point("written");
    /* The one link store: the record is whole before it is reachable. */
    smem__store_release_u32(link, fresh);
    crash_point("linked");
    group_changed(m, k->group);
    crash_point("bumped");
    if (old) {
        free_record(m, old);
    } else {
        smem__store_relaxed_u32(&h->count, smem__load_relaxed_u32(&h->count) + 1);
    }
    if (e->is_set)
        count_up(&h->sets);
    crash_point("counted");
    announce(m, version);
    crash_point("announced");
    return 0;
}

/* Writer lock held: unlinks OLD (at LINK). */
static void unlink_record(smem_map *m, const lookup *k, uint32_t *link, uint32_t old)
{
    smem__mhdr *h = m->hdr;
    smem__store_release_u32(link, smem__load_relaxed_u32(&rec_at(m->t, old)->next));
    crash_point("unlinked");
    group_changed(m, k->group);
    account(m, nothing, footprint_of(rec_at(m->t, old)));
    free_record(m, old);
    crash_point("freed");
    uint32_t count = smem__load_relaxed_u32(&h->count);
    if (count == 0 || count > m->t->max_entries) /* scribbled: the next change recounts */
        smem__store_relaxed_u32(&h->repair, 1);
    smem__store_relaxed_u32(&h->count, count > 0 ? count - 1 : 0);
    count_up(&h->deletes);
    crash_point("uncounted");
    announce(m, smem__load_relaxed_u64(&h->version) + 1);
}

/* ------------------------------------------------------------------------ */
/* Counters                                                                 */

/* Writer lock held: the counter's next value, as text in BUF; an absent
 * counter (OLD 0) starts from INIT. */
static int next_counter(smem_map *m, uint32_t old, int64_t init, int64_t delta, int64_t *sum,
                        char *buf, size_t *len)
{
    int64_t cur = init;
    if (old) {
        smem__rec *r = rec_at(m->t, old);
        size_t n = smem__load_relaxed_u32(&r->lens) & VLEN_MASK;
        char text[20];
        if (n > sizeof text)
            return n <= m->t->max_value ? SMEM_EINVAL : SMEM_EBADREGION;
        smem__copy_from_shared(text, rec_val(r), n);
        int rc = smem__map_parse_counter(text, n, &cur);
        if (rc < 0)
            return rc == SMEM_ERANGE ? SMEM_EINVAL : rc; /* not a 64-bit integer */
    }
    if ((delta > 0 && cur > INT64_MAX - delta) || (delta < 0 && cur < INT64_MIN - delta))
        return SMEM_ERANGE;
    *sum = cur + delta;
    *len = smem__map_format_counter(*sum, buf);
    return *len <= m->t->max_value ? 0 : SMEM_E2BIG;
}

/* ------------------------------------------------------------------------ */
/* The changes                                                              */

enum how { HOW_PUT, HOW_CAS, HOW_INCR, HOW_EXPIRE, HOW_DEL };

typedef struct change {
    enum how how;
    const void *val;  /* HOW_PUT, HOW_CAS */
    size_t len;
    unsigned flags;   /* HOW_PUT: SMEM_PUT_* */
    uint64_t ttl_ms;  /* HOW_PUT, HOW_EXPIRE; HOW_INCR: of a new counter */
    uint64_t version; /* HOW_CAS */
    int64_t delta;    /* HOW_INCR */
    int64_t init;     /* HOW_INCR: a new counter's start */
    int64_t sum;      /* HOW_INCR: the result */
    int evicted;      /* live entries evicted to make room */
    clock clock;
} change;

/* When an entry written now with TTL_MS expires (0: never). */
static uint64_t expiry_of(uint64_t ttl_ms, clock *c)
{
    return ttl_ms ? clock_now(c) + ttl_ms : 0;
}

/* Writer lock held: what C writes for K, whose live record is OLD (0 if
 * absent or expired, whose expiry OLD_EXPIRES was), into *E; TEXT holds a
 * counter's digits.  0, a code that ends the change, or 1 (damaged). */
static int entry_of(smem_map *m, change *c, uint32_t old, uint64_t old_expires, char *text,
                    entry_out *e)
{
    e->val = c->val;
    e->len = c->len;
    e->is_set = c->how != HOW_EXPIRE;
    switch (c->how) {
    case HOW_PUT:
        if ((c->flags & SMEM_PUT_NX) && old)
            return SMEM_EEXIST;
        if ((c->flags & SMEM_PUT_XX) && !old)
            return SMEM_ENOENT;
        e->expires = old && (c->flags & SMEM_PUT_KEEPTTL) ? old_expires
                                                           : expiry_of(c->ttl_ms, &c->clock);
        return 0;
    case HOW_CAS: {
        uint64_t cur = old ? smem__load_relaxed_u64(&rec_at(m->t, old)->version) : 0;
        e->expires = old ? old_expires : 0;
        return cur == c->version ? 0 : SMEM_ECHANGED;
    }
    case HOW_EXPIRE: {
        if (!old)
            return SMEM_ENOENT;
        smem__rec *r = rec_at(m->t, old);
        e->val = rec_val(r); /* the same value, in a new record */
        e->len = smem__load_relaxed_u32(&r->lens) & VLEN_MASK;
        e->expires = expiry_of(c->ttl_ms, &c->clock);
        return e->len <= m->t->max_value ? 0 : 1;
    }
    case HOW_INCR:
        e->val = text;
        e->expires = old ? old_expires : expiry_of(c->ttl_ms, &c->clock);
        return next_counter(m, old, c->init, c->delta, &c->sum, text, &e->len);
    case HOW_DEL:
        break;
    }
    return SMEM_EINVAL;
}

/* Writer lock held: one attempt at C on K.  1 if the region was found
 * damaged (then the caller repairs and tries again).  An expired record
 * of K counts as absent, and a change that writes K reclaims it. */
static int apply(smem_map *m, const lookup *k, change *c)
{
    uint32_t *link, old;
    if ((c->how == HOW_PUT || c->how == HOW_CAS) && c->len > m->t->max_value)
        return m->growing ? grown(smem__map_grow_for(m, c->len)) : SMEM_E2BIG;
    if (reap_some(m, &c->clock) || locate(m, k, &link, &old))
        return 1;
    uint64_t old_expires = old ? smem__load_relaxed_u64(&rec_at(m->t, old)->expires) : 0;
    int stale = old && has_expired(old_expires, &c->clock);
    uint32_t live = stale ? 0 : old;
    if (c->how == HOW_DEL) {
        if (!live)
            return SMEM_ENOENT;
        unlink_record(m, k, link, old);
        return 0;
    }
    char text[20];
    entry_out e;
    int rc = entry_of(m, c, live, old_expires, text, &e);
    if (rc == 0)
        rc = put(m, k, link, old, &e, &c->clock, &c->evicted);
    if (rc == 0 && stale)
        count_up(&m->hdr->expirations);
    return rc;
}

/* The checks every change makes before it takes the lock. */
static int check_change(smem_map *m, const change *c)
{
    if (!m)
        return SMEM_EINVAL;
    if (c->how == HOW_PUT || c->how == HOW_CAS) {
        if (!c->val && c->len > 0)
            return SMEM_EINVAL;
        if (c->flags & ~(SMEM_PUT_NX | SMEM_PUT_XX | SMEM_PUT_KEEPTTL))
            return SMEM_EINVAL;
        if ((c->flags & SMEM_PUT_NX) && (c->flags & SMEM_PUT_XX))
            return SMEM_EINVAL;
        if (c->len > SMEM_MAP_VALUE_MAX)
            return SMEM_E2BIG; /* and longer than max_value: apply, under the lock */
    }
    if (c->ttl_ms > SMEM_TTL_MAX_MS)
        return SMEM_ERANGE;
    if (m->rdonly)
        return SMEM_EBADF;
    if (smem__region_shrunk(m->tail))
        return SMEM_EBADREGION;
    return 0;
}

static int write_key(smem_map *m, const char *key, change *c)
{
    int rc = check_change(m, c);
    if (rc < 0)
        return rc;
    int klen = key_length(key);
    if (klen < 0)
        return klen;
    rc = smem__map_write_begin(m);
    if (rc < 0)
        return unless_lost(m, rc);
    lookup k;
    lookup_init(m, m->t, key, klen, &k); /* the table is the lock holder's to change */
    int repaired = 0;
    for (;;) {
        rc = apply(m, &k, c);
        if (rc == 1 && !repaired) { /* damaged: repair, then once more */
            repaired = 1;
            rc = smem__map_repair(m);
            if (rc == 0)
                continue;
        }
        if (rc != MAP_GREW)
            break;
        lookup_place(&k, m->t);
    }
    if (rc == 1)
        rc = SMEM_EBADREGION;
    smem__map_write_end(m);
    return unless_lost(m, rc);
}

int smem_map_set(smem_map *m, const char *key, const void *val, size_t len)
{
    change c = {.how = HOW_PUT, .val = val, .len = len};
    return write_key(m, key, &c);
}

int smem_map_add(smem_map *m, const char *key, const void *val, size_t len)
{
    change c = {.how = HOW_PUT, .val = val, .len = len, .flags = SMEM_PUT_NX};
    return write_key(m, key, &c);
}

int smem_map_put(smem_map *m, const char *key, const void *val, size_t len, const smem_put *how,
                 int *evicted)
{
    change c = {.how = HOW_PUT, .val = val, .len = len};
    if (how) {
        c.flags = how->flags;
        c.ttl_ms = how->ttl_ms;
    }
    int rc = write_key(m, key, &c);
    if (evicted)
        *evicted = c.evicted;
    return rc;
}

int smem_map_cas(smem_map *m, const char *key, uint64_t version, const void *val, size_t len)
{
    change c = {.how = HOW_CAS, .val = val, .len = len, .version = version};
    return write_key(m, key, &c);
}

int smem_map_expire(smem_map *m, const char *key, uint64_t ttl_ms)
{
    change c = {.how = HOW_EXPIRE, .ttl_ms = ttl_ms};
    return write_key(m, key, &c);
}

int smem_map_del(smem_map *m, const char *key)
{
    change c = {.how = HOW_DEL};
    return write_key(m, key, &c);
}

int smem_map_incr_ex(smem_map *m, const char *key, int64_t delta, int64_t init,
                     uint64_t init_ttl_ms, int64_t *result)
{
    change c = {.how = HOW_INCR, .delta = delta, .init = init, .ttl_ms = init_ttl_ms};
    int rc = write_key(m, key, &c);
    if (rc == 0 && result)
        *result = c.sum;
    return rc;
}

int smem_map_incr(smem_map *m, const char *key, int64_t delta, int64_t *result)
{
    return smem_map_incr_ex(m, key, delta, 0, 0, result);
}

/* Writer lock held: empties every chain, then frees every record. */
static void flush_all(smem_map *m)
{
    smem__mhdr *h = m->hdr;
    uint32_t count = smem__load_relaxed_u32(&h->count);
    for (uint64_t g = 0; g < m->t->g.ngroups; g++) {
        for (int slot = 0; slot < GROUP_BUCKETS; slot++)
            smem__store_release_u32(&m->t->groups[g].head[slot], 0);
        crash_point("flushing");
    }
    /* Every group's seq moves before any record is freed (as in put). */
    smem__map_free_all(m);
    crash_point("flushed");
    uint64_t deletes = smem__load_relaxed_u64(&h->deletes);
    smem__store_relaxed_u64(&h->deletes, deletes + (count <= m->t->max_entries ? count : 0));
    announce(m, smem__load_relaxed_u64(&h->version) + 1);
}

int smem_map_flush(smem_map *m)
{
    change c = {.how = HOW_DEL};
    int rc = check_change(m, &c);
    if (rc < 0)
        return rc;
    rc = smem__map_write_begin(m);
    if (rc < 0)
        return unless_lost(m, rc);
    flush_all(m);
    smem__map_write_end(m);
    return unless_lost(m, 0);
}

/* Resizing, here since it is a change: the move itself is map-resize.c's. */
int smem_map_resize(smem_map *m, size_t max_entries, size_t max_value)
{
    if (!m)
        return SMEM_EINVAL;
    if (m->rdonly)
        return SMEM_EBADF;
    if (max_entries > SMEM_MAP_ENTRIES_MAX || max_value > SMEM_MAP_VALUE_MAX)
        return SMEM_E2BIG;
    int rc = smem__map_write_begin(m);
    if (rc < 0)
        return unless_lost(m, rc);
    const table *t = m->t;
    if (max_entries < t->max_entries || max_value < t->max_value)
        rc = SMEM_EINVAL; /* shrinking */
    else if (max_entries > t->max_entries || max_value > t->max_value)
        rc = smem__map_grow(m, max_entries, max_value);
    if (rc == 1) {
        rc = smem__map_repair(m);
        if (rc == 0)
            rc = smem__map_grow(m, max_entries, max_value);
        if (rc == 1)
            rc = SMEM_EBADREGION;
    }
    smem__map_write_end(m);
    return unless_lost(m, rc);
}
