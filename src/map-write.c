/*
 * Writing a map: set, add, cas, del and incr, one at a time under the
 * writer lock (wlock.h), and the repair of what a dead writer left.
 *
 * The invariant every step keeps: the chains are whole at every instant.
 * A change fills a free record (copy on write), links it with one release
 * store, bumps its group's seq, and only then frees the record it replaced
 * (put, unlink_record); crash points (test_map_crash.c) name each step.
 * A writer killed anywhere leaves at worst records that are neither linked
 * nor free and counters behind, which the next writer rebuilds from the
 * chains (repair) before its own change.
 */
#include "map-layout.h"

/* ------------------------------------------------------------------------ */
/* Repair                                                                   */

/* Whether a linked record is what it must be: a valid key of the chain's
 * bucket, and a value that fits. */
static int rec_sound(const smem_map *m, smem__rec *r, uint64_t bucket)
{
    uint32_t lens = smem__load_relaxed_u32(&r->lens);
    uint32_t klen = lens >> 24;
    if (klen < 1 || klen > KEY_MAX || (lens & VLEN_MASK) > m->max_value)
        return 0;
    char key[KEY_MAX];
    smem__copy_from_shared(key, rec_key(r), klen);
    if (memchr(key, 0, klen))
        return 0;
    return bucket_of(m, key_hash(m->seed, key, klen)) == bucket;
}

/*
 * Writer lock held.  Rebuilds what a dead writer (or a scribbler) may have
 * left inconsistent, from the chains: cuts each chain at its first link
 * that is out of range, loops, or leads to a record that does not belong
 * there; then makes every record not linked free, and recomputes the count
 * and the map version.  Chains that were whole (all of them, unless the
 * region was scribbled on) lose nothing.  Every group's seq moves, so that
 * readers in flight look again.  SMEM_ENOMEM leaves the repair for the
 * next writer.
 */
static int repair(smem_map *m)
{
    smem__mhdr *h = m->hdr;
    uint64_t records = m->g.records;
    unsigned char *linked = calloc((size_t)(records + 7) / 8, 1);
    if (!linked)
        return SMEM_ENOMEM;
    uint64_t count = 0, version = smem__load_relaxed_u64(&h->version);
    for (uint64_t b = 0; b < m->g.nbuckets; b++) {
        smem__group *grp = &m->groups[b / GROUP_BUCKETS];
        uint32_t *link = &grp->head[b % GROUP_BUCKETS];
        for (;;) {
            uint32_t index1 = smem__load_relaxed_u32(link);
            if (index1 == 0)
                break;
            uint32_t i = index1 - 1;
            if (!valid_index(m, index1) || (linked[i / 8] & (1u << (i % 8))) ||
                !rec_sound(m, rec_at(m, index1), b)) {
                smem__store_release_u32(link, 0);
                break;
            }
            linked[i / 8] |= (unsigned char)(1u << (i % 8));
            count++;
            smem__rec *r = rec_at(m, index1);
            uint64_t v = smem__load_relaxed_u64(&r->version);
            version = v > version ? v : version;
            link = &r->next;
        }
    }
    crash_point("repair");
    for (uint64_t g = 0; g < m->g.ngroups; g++)
        smem__store_release_u32(&m->groups[g].seq, smem__load_relaxed_u32(&m->groups[g].seq) + 1);
    /* The free list, in index order: every record not linked. */
    smem__fence_release(); /* as in alloc_record: after the seq increments */
    uint32_t head = 0;
    for (uint64_t i = records; i-- > 0;) {
        if (!(linked[i / 8] & (1u << (i % 8)))) {
            smem__store_relaxed_u64(&rec_at(m, (uint32_t)(i + 1))->version, 0);
            smem__store_relaxed_u32(&rec_at(m, (uint32_t)(i + 1))->next, head);
            head = (uint32_t)(i + 1);
        }
    }
    free(linked);
    smem__store_relaxed_u32(&h->free_head, head);
    smem__store_relaxed_u32(&h->fresh, (uint32_t)records);
    smem__store_relaxed_u32(&h->count, (uint32_t)count);
    smem__store_release_u64(&h->version, version);
    smem__store_relaxed_u32(&h->repair, 0);
    return 0;
}

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
    if (smem__load_relaxed_u32(&m->hdr->repair)) {
        rc = repair(m);
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
    uint32_t *link = &m->groups[k->group].head[k->slot];
    for (uint64_t steps = 0;; steps++) {
        uint32_t index1 = smem__load_relaxed_u32(link);
        if (index1 == 0)
            break;
        if (!valid_index(m, index1) || steps >= m->g.records)
            return 1;
        smem__rec *r = rec_at(m, index1);
        if (rec_holds(r, smem__load_relaxed_u32(&r->lens), k)) {
            *link_out = link;
            *index_out = index1;
            return 0;
        }
        link = &r->next;
    }
    *link_out = &m->groups[k->group].head[k->slot];
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
        if (fresh >= m->g.records)
            return 0; /* a consistent map always has a free record */
        index1 = fresh + 1;
    }
    if (!valid_index(m, index1) || smem__load_relaxed_u64(&rec_at(m, index1)->version) != 0)
        return 0;
    if (from_list)
        smem__store_relaxed_u32(&h->free_head, smem__load_relaxed_u32(&rec_at(m, index1)->next));
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
    smem__store_relaxed_u64(&rec_at(m, index1)->version, 0); /* free (see alloc_record) */
    smem__store_relaxed_u32(&rec_at(m, index1)->next, smem__load_relaxed_u32(&m->hdr->free_head));
    crash_point("freeing");
    smem__store_relaxed_u32(&m->hdr->free_head, index1);
}

/* After a chain of group GROUP changed: readers of the group look again. */
static void group_changed(smem_map *m, uint32_t group)
{
    smem__group *grp = &m->groups[group];
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

/*
 * Writer lock held, K located at (LINK, OLD): makes K hold LEN bytes of
 * VAL, as a new record that takes OLD's place or goes first in the chain.
 * SMEM_EFULL if K is new and the map full; 1 if the count or the free list
 * is damaged (then a repair is due).
 */
static int put(smem_map *m, const lookup *k, uint32_t *link, uint32_t old, const void *val,
               size_t len)
{
    smem__mhdr *h = m->hdr;
    uint32_t count = smem__load_relaxed_u32(&h->count);
    if (!old && count > m->max_entries)
        return 1; /* more entries than there is room for: scribbled */
    if (!old && count == m->max_entries)
        return SMEM_EFULL;
    uint32_t fresh = alloc_record(m);
    if (!fresh)
        return 1;
    crash_point("allocated");
    uint64_t version = smem__load_relaxed_u64(&h->version) + 1;
    smem__rec *r = rec_at(m, fresh);
    smem__store_relaxed_u64(&r->version, version);
    smem__store_relaxed_u32(&r->lens, k->klen << 24 | (uint32_t)len);
    smem__copy_to_shared(rec_key(r), k->key, k->klen);
    if (len > 0)
        smem__copy_to_shared(rec_val(r), val, len);
    uint32_t next = old ? smem__load_relaxed_u32(&rec_at(m, old)->next) : smem__load_relaxed_u32(link);
    smem__store_relaxed_u32(&r->next, next);
    crash_point("written");
    /* The one link store: the record is whole before it is reachable. */
    smem__store_release_u32(link, fresh);
    crash_point("linked");
    group_changed(m, k->group);
    crash_point("bumped");
    if (old)
        free_record(m, old);
    else
        smem__store_relaxed_u32(&h->count, count + 1);
    crash_point("counted");
    announce(m, version);
    crash_point("announced");
    return 0;
}

/* Writer lock held: unlinks OLD (at LINK). */
static void unlink_record(smem_map *m, const lookup *k, uint32_t *link, uint32_t old)
{
    smem__mhdr *h = m->hdr;
    smem__store_release_u32(link, smem__load_relaxed_u32(&rec_at(m, old)->next));
    crash_point("unlinked");
    group_changed(m, k->group);
    free_record(m, old);
    crash_point("freed");
    uint32_t count = smem__load_relaxed_u32(&h->count);
    if (count == 0 || count > m->max_entries) /* scribbled: the next change recounts */
        smem__store_relaxed_u32(&h->repair, 1);
    smem__store_relaxed_u32(&h->count, count > 0 ? count - 1 : 0);
    crash_point("uncounted");
    announce(m, smem__load_relaxed_u64(&h->version) + 1);
}

/* ------------------------------------------------------------------------ */
/* Counters                                                                 */

/* Parses the decimal text of a signed 64-bit integer: an optional '-',
 * then 1 to 19 digits.  0, SMEM_EINVAL, or SMEM_ERANGE. */
static int parse_counter(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = len > 0 && s[0] == '-';
    i += (size_t)neg;
    if (i == len)
        return SMEM_EINVAL;
    uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return SMEM_EINVAL;
        unsigned d = (unsigned)(s[i] - '0');
        if (mag > (limit - d) / 10)
            return SMEM_ERANGE;
        mag = mag * 10 + d;
    }
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

/* Writes N in decimal into BUF (at least 20 bytes); returns the length. */
static size_t format_counter(int64_t n, char *buf)
{
    char tmp[20];
    uint64_t mag = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
    size_t len = 0;
    do {
        tmp[len++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag);
    size_t out = 0;
    if (n < 0)
        buf[out++] = '-';
    while (len)
        buf[out++] = tmp[--len];
    return out;
}

/* Writer lock held: the counter's next value, as text in BUF. */
static int next_counter(smem_map *m, uint32_t old, int64_t delta, int64_t *sum, char *buf,
                        size_t *len)
{
    int64_t cur = 0;
    if (old) {
        smem__rec *r = rec_at(m, old);
        size_t n = smem__load_relaxed_u32(&r->lens) & VLEN_MASK;
        char text[20];
        if (n > sizeof text)
            return n <= m->max_value ? SMEM_EINVAL : SMEM_EBADREGION;
        smem__copy_from_shared(text, rec_val(r), n);
        int rc = parse_counter(text, n, &cur);
        if (rc < 0)
            return rc == SMEM_ERANGE ? SMEM_EINVAL : rc; /* not a 64-bit integer */
    }
    if ((delta > 0 && cur > INT64_MAX - delta) || (delta < 0 && cur < INT64_MIN - delta))
        return SMEM_ERANGE;
    *sum = cur + delta;
    *len = format_counter(*sum, buf);
    return *len <= m->max_value ? 0 : SMEM_E2BIG;
}

/* ------------------------------------------------------------------------ */
/* The changes                                                              */

enum how { HOW_SET, HOW_ADD, HOW_CAS, HOW_INCR, HOW_DEL };

typedef struct change {
    enum how how;
    const void *val;
    size_t len;
    uint64_t version; /* HOW_CAS */
    int64_t delta;    /* HOW_INCR */
    int64_t sum;      /* HOW_INCR: the result */
} change;

/* Writer lock held: one attempt at C on K.  1 if the region was found
 * damaged (then the caller repairs and tries again). */
static int apply(smem_map *m, const lookup *k, change *c)
{
    uint32_t *link, old;
    if (locate(m, k, &link, &old))
        return 1;
    switch (c->how) {
    case HOW_DEL:
        if (!old)
            return SMEM_ENOENT;
        unlink_record(m, k, link, old);
        return 0;
    case HOW_ADD:
        if (old)
            return SMEM_EEXIST;
        break;
    case HOW_CAS: {
        uint64_t cur = old ? smem__load_relaxed_u64(&rec_at(m, old)->version) : 0;
        if (cur != c->version)
            return SMEM_ECHANGED;
        break;
    }
    case HOW_INCR:
    case HOW_SET:
        break;
    }
    if (c->how == HOW_INCR) {
        char text[20];
        size_t len;
        int rc = next_counter(m, old, c->delta, &c->sum, text, &len);
        if (rc < 0)
            return rc;
        return put(m, k, link, old, text, len);
    }
    return put(m, k, link, old, c->val, c->len);
}

static int write_key(smem_map *m, const char *key, change *c)
{
    if (!m)
        return SMEM_EINVAL;
    int klen = key_length(key);
    if (klen < 0)
        return klen;
    if (c->how != HOW_DEL && c->how != HOW_INCR) {
        if (!c->val && c->len > 0)
            return SMEM_EINVAL;
        if (c->len > m->max_value)
            return SMEM_E2BIG;
    }
    if (m->rdonly)
        return SMEM_EBADF;
    if (smem__region_shrunk(m->tail))
        return SMEM_EBADREGION;
    lookup k;
    lookup_init(m, key, klen, &k);
    int rc = smem__map_write_begin(m);
    if (rc < 0)
        return unless_lost(m, rc);
    rc = apply(m, &k, c);
    if (rc == 1) { /* damaged: repair, then once more */
        rc = repair(m);
        if (rc == 0)
            rc = apply(m, &k, c);
        if (rc == 1)
            rc = SMEM_EBADREGION;
    }
    smem__map_write_end(m);
    return unless_lost(m, rc);
}

int smem_map_set(smem_map *m, const char *key, const void *val, size_t len)
{
    change c = {.how = HOW_SET, .val = val, .len = len};
    return write_key(m, key, &c);
}

int smem_map_add(smem_map *m, const char *key, const void *val, size_t len)
{
    change c = {.how = HOW_ADD, .val = val, .len = len};
    return write_key(m, key, &c);
}

int smem_map_cas(smem_map *m, const char *key, uint64_t version, const void *val, size_t len)
{
    change c = {.how = HOW_CAS, .val = val, .len = len, .version = version};
    return write_key(m, key, &c);
}

int smem_map_del(smem_map *m, const char *key)
{
    change c = {.how = HOW_DEL};
    return write_key(m, key, &c);
}

int smem_map_incr(smem_map *m, const char *key, int64_t delta, int64_t *result)
{
    change c = {.how = HOW_INCR, .delta = delta};
    int rc = write_key(m, key, &c);
    if (rc == 0 && result)
        *result = c.sum;
    return rc;
}
