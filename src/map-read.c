/*
 * Reading a map without any lock: get, get_stale, ttl, version, count,
 * walk, foreach and stats; the counting of gets and the recency marks of
 * evicting maps.
 *
 * What keeps a read safe, all in this file: a reader reads its group's
 * seq, walks the chain, copies what it found, and reads the seq again
 * (read_chain, with the ordering argument); a changed seq means "look
 * again", never "wait", so no writer, alive or dead, can block a reader.
 * The write path (map-write.c) keeps its side of the bargain: a record is
 * whole before the one store that links it, and is reused only after the
 * seq increment that retired it.  Only a reader that keeps losing, on a
 * writable handle, takes the writer lock (read_consistent).
 */
#include "map-layout.h"

/* A reader that saw its group change this many times running takes the
 * writer lock and reads under it (writable handles); see read_locked. */
#define READ_TRIES 64

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */

/* What a reader found: the value's length and version, and whether it
 * was copied. */
typedef struct found {
    int present;
    size_t len;
    uint64_t version;
    uint64_t expires; /* 0: never */
    smem__rec *rec;   /* where it was found (for its recency mark) */
} found;

enum { READ_OK = 0, READ_RETRY = 1 };

/*
 * One attempt at reading K: walks its chain, copies the value into BUF if
 * it fits in BUFSIZE, and fills *F.  READ_OK if the group did not change
 * meanwhile (so *F is true of some instant during the call), READ_RETRY if
 * it did, SMEM_EBADREGION if the chain was found unchanged and impossible.
 *
 * Ordering: the seq is read with acquire before the walk, and the links
 * with acquire (a record's contents were written before the release store
 * that linked it).  The copies are followed by an acquire fence and the
 * second read of seq: if any byte we copied was written by a writer
 * reusing a record, that writer's release fence (alloc_record) came after
 * the seq increment that retired the record, so we see the seq changed.
 * The table's generation is read after the same fence: if the map moved
 * to a new table before the second read of seq, what we read may miss a
 * change made there since.
 */
static int read_chain(smem_map *m, lookup *k, void *buf, size_t bufsize, found *f)
{
    const table *t;
    int rc = map_table(m, &t);
    if (rc < 0)
        return rc;
    if (k->t != t)
        lookup_place(k, t); /* the map moved to another table */
    smem__group *grp = &t->groups[k->group];
    uint32_t s0 = smem__load_acquire_u32(&grp->seq);
    uint32_t index1 = smem__load_acquire_u32(&grp->head[k->slot]);
    int bad = 0;
    f->present = 0;
    for (uint64_t steps = 0; index1 != 0; steps++) {
        if (!valid_index(t, index1) || steps >= t->g.records) {
            bad = 1; /* out of range, or a cycle */
            break;
        }
        smem__rec *r = rec_at(t, index1);
        uint32_t lens = smem__load_relaxed_u32(&r->lens);
        if (rec_holds(r, lens, k)) {
            f->present = 1;
            f->len = lens & VLEN_MASK;
            f->version = smem__load_relaxed_u64(&r->version);
            f->expires = smem__load_relaxed_u64(&r->expires);
            f->rec = r;
            if (f->len <= t->max_value && f->len <= bufsize && f->len > 0)
                smem__copy_from_shared(buf, rec_val(r), f->len);
            bad = f->len > t->max_value;
            break;
        }
        index1 = smem__load_acquire_u32(&r->next);
    }
    smem__fence_acquire();
    /* A moved map may have changed since in its new table (and a reader
     * of a retired table may have read zeros): look again there. */
    if (smem__load_relaxed_u32(&grp->seq) != s0 || table_moved(m, t))
        return READ_RETRY;
    return bad ? SMEM_EBADREGION : READ_OK;
}

/* One attempt at a read of the map: READ_OK, READ_RETRY or an error. */
typedef int (*attempt_fn)(smem_map *m, void *arg);

/*
 * Runs ATTEMPT until it sees its group unchanged.  A reader that keeps
 * losing to writers (of large values, in the same group) reads under the
 * writer lock instead, where no chain can change, so that it cannot be
 * starved.  A read-only handle cannot take the lock: it keeps trying until
 * the open's timeout, then gives SMEM_EAGAIN.
 */
static int read_consistent(smem_map *m, attempt_fn attempt, void *arg)
{
    for (int tries = 0; tries < READ_TRIES; tries++) {
        int rc = attempt(m, arg);
        if (rc != READ_RETRY)
            return rc;
        smem__cpu_relax();
    }
    if (smem__region_rdonly(m->region)) {
        int64_t deadline = smem__os_now_ns() + (int64_t)smem__region_timeout_ms(m->region) * 1000000;
        for (;;) {
            uint32_t c = smem__load_acquire_u32(&m->hdr->changes);
            int rc = attempt(m, arg);
            if (rc != READ_RETRY)
                return rc;
            if (smem__os_now_ns() > deadline || smem__region_shrunk(m->tail))
                return SMEM_EAGAIN;
            smem__os_wait(smem__region_obj(m->region), &m->hdr->changes, c, 100000);
        }
    }
    int rc = smem__map_write_begin(m);
    if (rc < 0)
        return rc;
    rc = attempt(m, arg);
    smem__map_write_end(m);
    /* Only a scribbler can change a chain while we hold the lock. */
    return rc == READ_RETRY ? SMEM_EBADREGION : rc;
}

typedef struct key_read {
    lookup *k;
    void *buf;
    size_t bufsize;
    found f;
} key_read;

static int read_attempt(smem_map *m, void *arg)
{
    key_read *r = arg;
    return read_chain(m, r->k, r->buf, r->bufsize, &r->f);
}

/* read_key after a first attempt lost the race. */
static int read_key_again(smem_map *m, lookup *k, void *buf, size_t bufsize, found *f)
{
    key_read r = {k, buf, bufsize, {0, 0, 0, 0, NULL}};
    int rc = read_consistent(m, read_attempt, &r);
    *f = r.f;
    return rc;
}

static inline int read_key(smem_map *m, lookup *k, void *buf, size_t bufsize, found *f)
{
    int rc = read_chain(m, k, buf, bufsize, f); /* almost always enough */
    return rc != READ_RETRY ? rc : read_key_again(m, k, buf, bufsize, f);
}

int smem__map_current_version(smem_map *m, lookup *k, uint64_t *version,
                              uint64_t *expires)
{
    *expires = 0;
    if (!k) {
        *version = smem__load_acquire_u64(&m->hdr->version);
        return 0;
    }
    found f;
    clock c = {0};
    int rc = read_key(m, k, NULL, 0, &f);
    int live = rc == 0 && f.present && !has_expired(f.expires, &c);
    *version = live ? f.version : 0;
    *expires = live ? f.expires : 0;
    return rc;
}

/* Counts a get in the handle (see smem_map_stats), and every 256th in the
 * map's totals.  A load and a store, not an atomic add: a locked add
 * would cost more than the rest of a cached get and keep the next get's
 * cache misses from overlapping this one's; two threads that share a
 * handle may therefore lose a count now and then.  Relaxed: the totals
 * order nothing. */
static inline void count_get(smem_map *m, int hit)
{
    uint64_t *mine = hit ? &m->hits : &m->misses;
    uint64_t n = smem__load_relaxed_u64(mine) + 1;
    smem__store_relaxed_u64(mine, n);
    if ((n & 255) == 0 && !m->rdonly)
        smem__fetch_add_relaxed_u64(hit ? &m->hdr->hits : &m->hdr->misses, 256);
}

/* Marks a record that a get found in an evicting map as used, for CLOCK
 * (map-evict.c): a store only if the mark is clear, so that readers of a
 * hot entry do not write its line.  The record may have been reused since
 * the read: then a new entry gets a mark it did not earn, which costs it
 * nothing but a later eviction. */
static inline void mark_used(smem_map *m, smem__rec *r)
{
    if (m->marks && smem__load_relaxed_u32(&r->used) == 0)
        smem__store_relaxed_u32(&r->used, 1);
}

/* Reads KEY as read_key does, after checking it: 0 (with *F filled) or a
 * negative code. */
static inline int find_key(smem_map *m, const char *key, void *buf, size_t bufsize, found *f)
{
    int klen = key_length(key);
    if (klen < 0)
        return klen;
    const table *t;
    int rc = map_table(m, &t);
    if (rc < 0)
        return unless_lost(m, rc);
    lookup k;
    lookup_init(m, t, key, klen, &k);
    rc = unless_lost(m, read_key(m, &k, buf, bufsize, f));
    return rc < 0 ? rc : 0;
}

/* get and get_stale: with STALE NULL, an expired entry is absent. */
static inline int get_entry(smem_map *m, const char *key, void *buf, size_t bufsize, size_t *len,
                     uint64_t *version, int *stale)
{
    if (len)
        *len = 0;
    if (version)
        *version = 0;
    if (stale)
        *stale = 0;
    if (!m || (!buf && bufsize > 0))
        return SMEM_EINVAL;
    found f;
    int rc = find_key(m, key, buf, bufsize, &f);
    if (rc < 0)
        return rc;
    clock c = {0};
    int expired = f.present && has_expired(f.expires, &c);
    count_get(m, f.present && !expired);
    if (!f.present || (expired && !stale))
        return SMEM_ENOENT;
    if (expired)
        *stale = 1;
    else
        mark_used(m, f.rec);
    if (len)
        *len = f.len;
    if (version)
        *version = f.version;
    return f.len <= bufsize ? 0 : SMEM_E2BIG;
}

int smem_map_get(smem_map *m, const char *key, void *buf, size_t bufsize, size_t *len,
                 uint64_t *version)
{
    return get_entry(m, key, buf, bufsize, len, version, NULL);
}

int smem_map_get_stale(smem_map *m, const char *key, void *buf, size_t bufsize, size_t *len,
                       uint64_t *version, int *stale)
{
    int ignored;
    return get_entry(m, key, buf, bufsize, len, version, stale ? stale : &ignored);
}

int smem_map_ttl(smem_map *m, const char *key, int64_t *ms_left)
{
    if (ms_left)
        *ms_left = 0;
    if (!m || !ms_left)
        return SMEM_EINVAL;
    found f;
    int rc = find_key(m, key, NULL, 0, &f);
    if (rc < 0)
        return rc;
    clock c = {0};
    if (!f.present || has_expired(f.expires, &c))
        return SMEM_ENOENT;
    *ms_left = f.expires == 0 ? -1 : ms_until(f.expires, clock_now(&c));
    return 0;
}

uint64_t smem_map_version(smem_map *m)
{
    if (!m)
        return 0;
    uint64_t version = smem__load_acquire_u64(&m->hdr->version);
    return unless_lost(m, 0) < 0 ? 0 : version;
}

/* ------------------------------------------------------------------------ */
/* Walking                                                                  */

/* A private copy of an entry, as a walk hands it over. */
typedef struct entry_copy {
    uint64_t version;
    uint64_t expires;
    size_t len;
    char key[KEY_MAX + 1];
    /* the value follows, at offset VAL_OFFSET */
} entry_copy;

#define VAL_OFFSET ALIGN8(sizeof(entry_copy))

typedef struct group_copy {
    const table *t;     /* kept by the walk (smem__map_walk_begin) */
    uint32_t group;
    int values;         /* copy the values too, not only keys and figures */
    unsigned char *buf; /* n copies of stride bytes */
    size_t n, cap, stride;
} group_copy;

static entry_copy *copy_at(group_copy *gc, size_t i)
{
    return (entry_copy *)(gc->buf + i * gc->stride);
}

/* One attempt at copying every entry of a group (an attempt_fn). */
static int copy_group(smem_map *m, void *arg)
{
    group_copy *gc = arg;
    const table *t = gc->t;
    smem__group *grp = &t->groups[gc->group];
    uint32_t s0 = smem__load_acquire_u32(&grp->seq);
    int bad = 0;
    gc->n = 0;
    for (uint32_t slot = 0; slot < GROUP_BUCKETS && !bad; slot++) {
        uint32_t index1 = smem__load_acquire_u32(&grp->head[slot]);
        for (uint64_t steps = 0; index1 != 0 && !bad; steps++) {
            if (!valid_index(t, index1) || steps >= t->g.records || gc->n >= t->g.records) {
                bad = 1;
                break;
            }
            if (gc->n == gc->cap) {
                size_t cap = gc->cap ? 2 * gc->cap : 16;
                unsigned char *more = realloc(gc->buf, cap * gc->stride);
                if (!more)
                    return SMEM_ENOMEM;
                gc->buf = more;
                gc->cap = cap;
            }
            smem__rec *r = rec_at(t, index1);
            entry_copy *e = copy_at(gc, gc->n);
            uint32_t lens = smem__load_relaxed_u32(&r->lens);
            size_t klen = lens >> 24;
            e->len = lens & VLEN_MASK;
            e->version = smem__load_relaxed_u64(&r->version);
            e->expires = smem__load_relaxed_u64(&r->expires);
            bad = klen < 1 || klen > KEY_MAX || e->len > t->max_value;
            if (!bad) {
                smem__copy_from_shared(e->key, rec_key(r), klen);
                e->key[klen] = 0;
                if (e->len > 0 && gc->values)
                    smem__copy_from_shared((unsigned char *)e + VAL_OFFSET, rec_val(r), e->len);
                /* A record can only be reached from its own bucket, so
                 * that garbage links cannot show one entry twice. */
                bad = strlen(e->key) != klen ||
                      bucket_of(t, key_hash(m->seed, e->key, klen)) !=
                          (uint64_t)gc->group * GROUP_BUCKETS + slot;
            }
            gc->n++;
            index1 = smem__load_acquire_u32(&r->next);
        }
    }
    smem__fence_acquire(); /* as in read_chain */
    if (smem__load_relaxed_u32(&grp->seq) != s0)
        return READ_RETRY;
    return bad ? SMEM_EBADREGION : READ_OK;
}

/* Calls FN for each entry that a walk of the map finds (the expired ones
 * too if STALE), with a private copy (its value only if VALUES). */
static int walk(smem_map *m, int values, int stale,
                int (*fn)(const entry_copy *e, clock *c, void *arg), void *arg)
{
    group_copy gc = {.values = values};
    int rc = smem__map_walk_begin(m, &gc.t);
    if (rc < 0)
        return unless_lost(m, rc);
    gc.stride = (size_t)ALIGN8(VAL_OFFSET + (values ? gc.t->max_value : 0));
    clock c = {0};
    int visited = 0;
    for (uint64_t g = 0; g < gc.t->g.ngroups && rc == 0; g++) {
        gc.group = (uint32_t)g;
        rc = unless_lost(m, read_consistent(m, copy_group, &gc));
        for (size_t i = 0; rc == 0 && i < gc.n; i++) {
            entry_copy *e = copy_at(&gc, i);
            if (!stale && has_expired(e->expires, &c))
                continue;
            visited += visited < INT32_MAX;
            if (fn(e, &c, arg))
                rc = 1;
        }
    }
    smem__map_walk_end(gc.t);
    free(gc.buf);
    return rc < 0 ? rc : visited;
}

/* What smem_map_walk calls (and smem_map_foreach through it). */
typedef struct walker {
    int (*fn)(const smem_map_entry *e, void *arg);
    void *arg;
} walker;

/* C is the clock the walk decided expiry by. */
static int visit_entry(const entry_copy *e, clock *c, void *arg)
{
    walker *w = arg;
    smem_map_entry out = {e->key, (const unsigned char *)e + VAL_OFFSET, e->len, e->version, -1};
    if (e->expires != 0) {
        uint64_t now = clock_now(c);
        out.ms_left = now >= e->expires ? 0 : ms_until(e->expires, now);
    }
    return w->fn(&out, w->arg);
}

int smem_map_walk(smem_map *m, unsigned flags, int (*fn)(const smem_map_entry *e, void *arg),
                  void *arg)
{
    if (!m || !fn || (flags & ~SMEM_WALK_STALE))
        return SMEM_EINVAL;
    walker w = {fn, arg};
    return walk(m, 1, (flags & SMEM_WALK_STALE) != 0, visit_entry, &w);
}

typedef struct foreach_call {
    int (*fn)(const char *key, const void *val, size_t len, uint64_t version, void *arg);
    void *arg;
} foreach_call;

static int visit_foreach(const smem_map_entry *e, void *arg)
{
    foreach_call *f = arg;
    return f->fn(e->key, e->val, e->len, e->version, f->arg);
}

int smem_map_foreach(smem_map *m,
                     int (*fn)(const char *key, const void *val, size_t len, uint64_t version,
                               void *arg),
                     void *arg)
{
    if (!fn)
        return SMEM_EINVAL;
    foreach_call f = {fn, arg};
    return smem_map_walk(m, 0, visit_foreach, &f);
}

/* ------------------------------------------------------------------------ */
/* Counting                                                                 */

typedef struct census {
    uint64_t live, stale;
} census;

static int count_entry(const entry_copy *e, clock *c, void *arg)
{
    census *n = arg;
    if (has_expired(e->expires, c))
        n->stale++;
    else
        n->live++;
    return 0;
}

/* The live and the stale entries: the count in the header while nothing
 * can have expired, else a walk that copies no value. */
static int take_census(smem_map *m, census *n)
{
    n->live = n->stale = 0;
    clock c = {0};
    if (!may_have_expired(m, &c)) {
        const table *t;
        int rc = map_table(m, &t);
        uint32_t count = smem__load_relaxed_u32(&m->hdr->count);
        n->live = count;
        if (rc == 0 && count > t->max_entries && !table_moved(m, t))
            rc = SMEM_EBADREGION;
        return unless_lost(m, rc);
    }
    int rc = walk(m, 0, 1, count_entry, n);
    return rc < 0 ? rc : 0;
}

int smem_map_count(smem_map *m)
{
    if (!m)
        return SMEM_EINVAL;
    census n = {0, 0};
    int rc = take_census(m, &n);
    return rc < 0 ? rc : (int)n.live;
}

/* This handle's gets that are not in the map's totals yet (count_get). */
static uint64_t not_added(const smem_map *m, const uint64_t *mine)
{
    uint64_t n = smem__load_relaxed_u64(mine);
    return m->rdonly ? n : n & 255;
}

int smem_map_stats(smem_map *m, struct smem_map_stats *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!m || !out)
        return SMEM_EINVAL;
    const smem__mhdr *h = m->hdr;
    census n = {0, 0};
    int rc = take_census(m, &n);
    if (rc < 0)
        return rc;
    out->hits = smem__load_relaxed_u64(&h->hits) + not_added(m, &m->hits);
    out->misses = smem__load_relaxed_u64(&h->misses) + not_added(m, &m->misses);
    out->sets = smem__load_relaxed_u64(&h->sets);
    out->deletes = smem__load_relaxed_u64(&h->deletes);
    out->evictions = smem__load_relaxed_u64(&h->evictions);
    out->expirations = smem__load_relaxed_u64(&h->expirations);
    out->entries = n.live;
    out->stale = n.stale;
    out->max_entries = handle_table(m)->max_entries;
    out->bytes = smem__load_relaxed_u64(&h->bytes);
    out->evicting = m->evicting;
    return unless_lost(m, 0);
}
