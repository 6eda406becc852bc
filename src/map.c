/*
 * Maps: up to max_entries keys, each with a value of up to max_value bytes,
 * in one region; lock-free reads, serialised writes that survive a killed
 * writer, versions, notification.
 *
 * Layout of the region's data (all offsets from smem_region_data):
 *
 *     0  smem__mhdr    the fixed figures, versions, counters, writer lock
 *   128  groups        ngroups cache lines: a seq word and 15 bucket heads
 *   ...  records       max_entries + 1 records: version, next, lengths,
 *                      64 key bytes, max_value value bytes (rounded to 8)
 *
 * A bucket is a chain of records linked by index (index + 1; 0 ends it).
 * Records are never changed while linked: a write fills a free record
 * (copy on write), then links it in with one store, which either inserts
 * it at its bucket's head or puts it in the place of the record holding
 * the same key; a delete unlinks with one store.  After its one link
 * store, the writer adds 1 to the seq of the bucket's group, and only then
 * does a record it unlinked go back on the free list.
 *
 * A reader reads its group's seq, walks the chain, copies what it found,
 * and reads the seq again.  If it did not change, the reader saw at most
 * the one link store of the single writer at work, which leaves a whole
 * chain, and every record it read was linked and unchanged while it read
 * it (see read_chain for the ordering).  Otherwise it tries again.  No
 * seq is ever left odd or locked, so a writer killed at any instant blocks
 * no reader.
 *
 * A writer killed between its link store and the end of its change leaves
 * records that are neither linked nor free, and counters behind.  The next
 * writer takes the lock over from the dead one (wlock.h) and rebuilds the
 * free list, the count and the version from the chains (repair), which are
 * whole at every instant: every other entry is intact, and the one being
 * written has its old value or its new one.
 *
 * Every index, length and key read from the region is checked before use:
 * an index is compared with the record count this process validated at
 * open, a walk is bounded by that count, lengths by the figures.  Garbage
 * gives SMEM_EBADREGION (readers) or is repaired (writers), never an access
 * outside the region.
 */
#include "map.h"

#include "atomics.h"
#include "os.h"
#include "region.h"
#include "wlock.h"

#include <stdlib.h>
#include <string.h>

#define MHDR_SIZE 128
#define GROUP_SIZE 64
#define GROUP_BUCKETS 15
#define REC_HDR_SIZE 16
#define KEY_MAX SMEM_MAP_KEY_MAX
#define VLEN_MASK 0x00ffffffu /* rec.lens: value length below, key length in the top byte */
#define ALIGN8(n) (((n) + 7) & ~(uint64_t)7)

/* A reader that saw its group change this many times running takes the
 * writer lock and reads under it (writable handles); see read_locked. */
#define READ_TRIES 64
/* How long a waiter spins before it sleeps, and how often a sleeper wakes
 * anyway (in case a writer died before waking anyone); a read-only handle
 * cannot ask writers for a wake-up, so it looks more often. */
#define WAIT_SPIN_NS 20000
#define WAIT_SLICE_NS 1000000000
#define WAIT_SLICE_RDONLY_NS 1000000

typedef struct smem__mhdr {
    /* Fixed at creation. */
    uint64_t max_entries; /*  0 */
    uint64_t max_value;   /*  8 */
    uint64_t seed;        /* 16: of the key hash */
    /* Changed by writers, read by waiters. */
    uint64_t version;     /* 24: the map-wide version: the last change's number */
    uint32_t changes;     /* 32: +1 per change; futex word for waiters */
    uint32_t sleepers;    /* 36: nonzero if a waiter may be asleep on changes */
    uint32_t count;       /* 40: entries linked */
    uint32_t free_head;   /* 44: first record of the free list (index + 1), 0 if none */
    uint32_t fresh;       /* 48: records from this index on were never used */
    uint32_t repair;      /* 52: nonzero: rebuild before the next change (see repair) */
    uint8_t pad0[8];
    smem__wlock lock;     /* 64: the writer lock */
    uint8_t pad1[40];
} smem__mhdr;

typedef struct smem__group {
    uint32_t seq;                   /* +1 after each change to one of its chains */
    uint32_t head[GROUP_BUCKETS];   /* index + 1 of each chain's first record */
} smem__group;

typedef struct smem__rec {
    uint64_t version; /* the map version of the change that wrote it */
    uint32_t next;    /* the next record in its chain or the free list (index + 1) */
    uint32_t lens;    /* key length << 24 | value length */
    /* KEY_MAX key bytes, then the value */
} smem__rec;

_Static_assert(sizeof(smem__mhdr) == MHDR_SIZE, "map header is part of the layout");
_Static_assert(sizeof(smem__group) == GROUP_SIZE, "bucket group is part of the layout");
_Static_assert(sizeof(smem__rec) == REC_HDR_SIZE, "record header is part of the layout");
_Static_assert(SMEM_MAP_VALUE_MAX <= VLEN_MASK, "value lengths fit rec.lens");

/*
 * Crash points, for tests/test_map_crash.c: a library built with
 * SMEM_CRASH_POINTS ends its process at the point of a change named by the
 * environment variable SMEM_CRASH_AT, as a SIGKILL arriving there would.
 * Random kills (test_map_kill) rarely land in the few instructions
 * between two steps of a change; these make every such instant a case.
 */
#ifdef SMEM_CRASH_POINTS
static void crash_point(const char *where)
{
    const char *at = getenv("SMEM_CRASH_AT");
    if (at && strcmp(at, where) == 0)
        smem__os_die();
}
#else
#define crash_point(where) ((void)0)
#endif

/* The layout that max_entries and max_value give. */
typedef struct geometry {
    uint64_t records;  /* max_entries + 1: a full map still has a record to write into */
    uint64_t ngroups;
    uint64_t nbuckets; /* at least max_entries */
    uint64_t rec_size;
    uint64_t size;     /* of the region's data */
} geometry;

struct smem_map {
    smem_region *region;
    smem__mhdr *hdr;
    smem__group *groups;
    unsigned char *recs;
    /* As validated at open: never re-read from the region. */
    size_t max_entries, max_value;
    uint64_t seed;
    geometry g;
    const uint64_t *tail; /* smem__region_tail: one load per call */
    const uint64_t *lit; /* the beacon word (smem__wlock_writer_id) */
    int rdonly;      /* opened SMEM_RDONLY */
};

/* RC, or SMEM_EBADREGION if the region's file was shrunk under the handle
 * (its memory reads as zeros since: see smem__region_shrunk).  Checked
 * after the memory was touched, so that nothing read from the zeros
 * escapes. */
static int unless_lost(const smem_map *m, int rc)
{
    return smem__region_shrunk(m->tail) ? SMEM_EBADREGION : rc;
}

/* What a chain walk is looking for, computed once per call. */
typedef struct lookup {
    const char *key;
    uint32_t klen;
    uint32_t group;
    uint32_t slot;
} lookup;

static int geometry_of(uint64_t max_entries, uint64_t max_value, geometry *g)
{
    if (max_entries == 0 || max_entries > SMEM_MAP_ENTRIES_MAX || max_value > SMEM_MAP_VALUE_MAX)
        return SMEM_E2BIG;
    g->records = max_entries + 1;
    g->ngroups = (max_entries + GROUP_BUCKETS - 1) / GROUP_BUCKETS;
    g->nbuckets = g->ngroups * GROUP_BUCKETS;
    g->rec_size = REC_HDR_SIZE + KEY_MAX + ALIGN8(max_value);
    /* No overflow: at most 2^30 records of at most 2^20 + 80 bytes. */
    g->size = MHDR_SIZE + g->ngroups * GROUP_SIZE + g->records * g->rec_size;
    return g->size <= SMEM_SIZE_MAX ? 0 : SMEM_E2BIG;
}

static smem__rec *rec_at(const smem_map *m, uint32_t index1)
{
    return (smem__rec *)(m->recs + (uint64_t)(index1 - 1) * m->g.rec_size);
}

static char *rec_key(smem__rec *r)
{
    return (char *)r + REC_HDR_SIZE;
}

static unsigned char *rec_val(smem__rec *r)
{
    return (unsigned char *)r + REC_HDR_SIZE + KEY_MAX;
}

/* An index read from the region that names a record. */
static int valid_index(const smem_map *m, uint32_t index1)
{
    return index1 >= 1 && index1 <= m->g.records;
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                     */

/* The length of KEY (1 to KEY_MAX), or SMEM_EINVAL / SMEM_ENAMETOOLONG. */
static int key_length(const char *key)
{
    if (!key || !key[0])
        return SMEM_EINVAL;
    size_t n = strnlen(key, KEY_MAX + 1);
    return n <= KEY_MAX ? (int)n : SMEM_ENAMETOOLONG;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    return x;
}

static uint64_t load64(const char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static uint64_t load32(const char *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

/* A seeded hash of the key's KLEN (1 to KEY_MAX) bytes, 8 at a time; the
 * last word overlaps the one before rather than being assembled byte by
 * byte.  (Every process computes the same hash: it must not depend on
 * anything but the bytes and the seed.) */
static uint64_t key_hash(uint64_t seed, const char *key, size_t klen)
{
    const uint64_t k = UINT64_C(0x9e3779b97f4a7c15);
    uint64_t h = seed ^ (klen * k), last;
    if (klen >= 8) {
        const char *end = key + klen;
        for (; end - key > 8; key += 8) {
            h = (h ^ load64(key)) * k;
            h ^= h >> 29;
        }
        last = load64(end - 8);
    } else if (klen >= 4) {
        last = load32(key) | load32(key + klen - 4) << 32;
    } else {
        last = (uint64_t)(unsigned char)key[0] | (uint64_t)(unsigned char)key[klen / 2] << 8 |
               (uint64_t)(unsigned char)key[klen - 1] << 16;
    }
    return mix64((h ^ last) * k);
}

/* The bucket of a hash: a multiply instead of a division by nbuckets. */
static uint64_t bucket_of(const smem_map *m, uint64_t hash)
{
    return ((hash >> 32) * m->g.nbuckets) >> 32;
}

static void lookup_init(const smem_map *m, const char *key, int klen, lookup *k)
{
    uint64_t b = bucket_of(m, key_hash(m->seed, key, (size_t)klen));
    k->key = key;
    k->klen = (uint32_t)klen;
    k->group = (uint32_t)(b / GROUP_BUCKETS);
    k->slot = (uint32_t)(b % GROUP_BUCKETS);
}

/* Whether record R holds the key K.  (R may be changing under a reader,
 * who checks afterwards whether the answer counts.) */
static int rec_holds(smem__rec *r, uint32_t lens, const lookup *k)
{
    return lens >> 24 == k->klen && smem__equal_shared(rec_key(r), k->key, k->klen);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */

/* What a reader found: the value's length and version, and whether it
 * was copied. */
typedef struct found {
    int present;
    size_t len;
    uint64_t version;
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
 */
static int read_chain(smem_map *m, const lookup *k, void *buf, size_t bufsize, found *f)
{
    smem__group *grp = &m->groups[k->group];
    uint32_t s0 = smem__load_acquire_u32(&grp->seq);
    uint32_t index1 = smem__load_acquire_u32(&grp->head[k->slot]);
    int bad = 0;
    f->present = 0;
    for (uint64_t steps = 0; index1 != 0; steps++) {
        if (!valid_index(m, index1) || steps >= m->g.records) {
            bad = 1; /* out of range, or a cycle */
            break;
        }
        smem__rec *r = rec_at(m, index1);
        uint32_t lens = smem__load_relaxed_u32(&r->lens);
        if (rec_holds(r, lens, k)) {
            f->present = 1;
            f->len = lens & VLEN_MASK;
            f->version = smem__load_relaxed_u64(&r->version);
            if (f->len <= m->max_value && f->len <= bufsize && f->len > 0)
                smem__copy_from_shared(buf, rec_val(r), f->len);
            bad = f->len > m->max_value;
            break;
        }
        index1 = smem__load_acquire_u32(&r->next);
    }
    smem__fence_acquire();
    if (smem__load_relaxed_u32(&grp->seq) != s0)
        return READ_RETRY;
    return bad ? SMEM_EBADREGION : READ_OK;
}

static int write_begin(smem_map *m);
static void write_end(smem_map *m);

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
    int rc = write_begin(m);
    if (rc < 0)
        return rc;
    rc = attempt(m, arg);
    write_end(m);
    /* Only a scribbler can change a chain while we hold the lock. */
    return rc == READ_RETRY ? SMEM_EBADREGION : rc;
}

typedef struct key_read {
    const lookup *k;
    void *buf;
    size_t bufsize;
    found f;
} key_read;

static int read_attempt(smem_map *m, void *arg)
{
    key_read *r = arg;
    return read_chain(m, r->k, r->buf, r->bufsize, &r->f);
}

static int read_key(smem_map *m, const lookup *k, void *buf, size_t bufsize, found *f)
{
    int rc = read_chain(m, k, buf, bufsize, f); /* almost always enough */
    if (rc != READ_RETRY)
        return rc;
    key_read r = {k, buf, bufsize, {0, 0, 0}};
    rc = read_consistent(m, read_attempt, &r);
    *f = r.f;
    return rc;
}

static int current_version(smem_map *m, const lookup *k, uint64_t *version)
{
    if (!k) {
        *version = smem__load_acquire_u64(&m->hdr->version);
        return 0;
    }
    found f;
    int rc = read_key(m, k, NULL, 0, &f);
    *version = rc == 0 && f.present ? f.version : 0;
    return rc;
}

int smem_map_get(smem_map *m, const char *key, void *buf, size_t bufsize, size_t *len,
                 uint64_t *version)
{
    if (len)
        *len = 0;
    if (version)
        *version = 0;
    if (!m || (!buf && bufsize > 0))
        return SMEM_EINVAL;
    int klen = key_length(key);
    if (klen < 0)
        return klen;
    lookup k;
    lookup_init(m, key, klen, &k);
    found f;
    int rc = unless_lost(m, read_key(m, &k, buf, bufsize, &f));
    if (rc < 0)
        return rc;
    if (!f.present)
        return SMEM_ENOENT;
    if (len)
        *len = f.len;
    if (version)
        *version = f.version;
    return f.len <= bufsize ? 0 : SMEM_E2BIG;
}

uint64_t smem_map_version(smem_map *m)
{
    if (!m)
        return 0;
    uint64_t version = smem__load_acquire_u64(&m->hdr->version);
    return unless_lost(m, 0) < 0 ? 0 : version;
}

int smem_map_count(smem_map *m)
{
    if (!m)
        return SMEM_EINVAL;
    uint32_t n = smem__load_relaxed_u32(&m->hdr->count);
    return unless_lost(m, n <= m->max_entries ? (int)n : SMEM_EBADREGION);
}

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
static int write_begin(smem_map *m)
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

static void write_end(smem_map *m)
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
    int rc = write_begin(m);
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
    write_end(m);
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

/* ------------------------------------------------------------------------ */
/* Waiting                                                                  */

static int wait_for_change(smem_map *m, const char *key, uint64_t seen, int timeout_ms)
{
    lookup k;
    if (key) {
        int klen = key_length(key);
        if (klen < 0)
            return klen;
        lookup_init(m, key, klen, &k);
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
        uint64_t version;
        int rc = current_version(m, key ? &k : NULL, &version);
        if (rc < 0)
            return rc;
        if (version != seen)
            return 0;
        /* Spin first: a change that comes within microseconds is seen
         * within nanoseconds, without the cost of sleeping and waking. */
        int changed = 0;
        for (unsigned i = 0; !changed; i++) {
            changed = smem__load_acquire_u32(&h->changes) != c;
            if ((i & 31) == 31) {
                int64_t now = smem__os_now_ns();
                if (now >= deadline)
                    return SMEM_ETIMEDOUT;
                if (now >= spin_until)
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
        int64_t left = deadline - smem__os_now_ns();
        if (left <= 0)
            return SMEM_ETIMEDOUT;
        smem__os_wait(smem__region_obj(m->region), &h->changes, c, left < slice ? left : slice);
    }
}

int smem_map_wait(smem_map *m, const char *key, uint64_t seen, int timeout_ms)
{
    if (!m || timeout_ms < -1)
        return SMEM_EINVAL;
    return unless_lost(m, wait_for_change(m, key, seen, timeout_ms));
}

/* ------------------------------------------------------------------------ */
/* Walking                                                                  */

/* A private copy of an entry, as foreach hands it over. */
typedef struct entry_copy {
    uint64_t version;
    size_t len;
    char key[KEY_MAX + 1];
    /* the value follows, at offset VAL_OFFSET */
} entry_copy;

#define VAL_OFFSET ALIGN8(sizeof(entry_copy))

typedef struct group_copy {
    uint32_t group;
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
    smem__group *grp = &m->groups[gc->group];
    uint32_t s0 = smem__load_acquire_u32(&grp->seq);
    int bad = 0;
    gc->n = 0;
    for (uint32_t slot = 0; slot < GROUP_BUCKETS && !bad; slot++) {
        uint32_t index1 = smem__load_acquire_u32(&grp->head[slot]);
        for (uint64_t steps = 0; index1 != 0 && !bad; steps++) {
            if (!valid_index(m, index1) || steps >= m->g.records || gc->n >= m->g.records) {
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
            smem__rec *r = rec_at(m, index1);
            entry_copy *e = copy_at(gc, gc->n);
            uint32_t lens = smem__load_relaxed_u32(&r->lens);
            size_t klen = lens >> 24;
            e->len = lens & VLEN_MASK;
            e->version = smem__load_relaxed_u64(&r->version);
            bad = klen < 1 || klen > KEY_MAX || e->len > m->max_value;
            if (!bad) {
                smem__copy_from_shared(e->key, rec_key(r), klen);
                e->key[klen] = 0;
                if (e->len > 0)
                    smem__copy_from_shared((unsigned char *)e + VAL_OFFSET, rec_val(r), e->len);
                /* A record can only be reached from its own bucket, so
                 * that garbage links cannot show one entry twice. */
                bad = strlen(e->key) != klen ||
                      bucket_of(m, key_hash(m->seed, e->key, klen)) !=
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

int smem_map_foreach(smem_map *m,
                     int (*fn)(const char *key, const void *val, size_t len, uint64_t version,
                               void *arg),
                     void *arg)
{
    if (!m || !fn)
        return SMEM_EINVAL;
    group_copy gc = {.stride = (size_t)ALIGN8(VAL_OFFSET + m->max_value)};
    int visited = 0, rc = 0;
    for (uint64_t g = 0; g < m->g.ngroups && rc == 0; g++) {
        gc.group = (uint32_t)g;
        rc = unless_lost(m, read_consistent(m, copy_group, &gc));
        for (size_t i = 0; rc == 0 && i < gc.n; i++) {
            entry_copy *e = copy_at(&gc, i);
            visited += visited < INT32_MAX;
            if (fn(e->key, (unsigned char *)e + VAL_OFFSET, e->len, e->version, arg))
                rc = 1;
        }
    }
    free(gc.buf);
    return rc < 0 ? rc : visited;
}

/* ------------------------------------------------------------------------ */
/* Open and close                                                           */

typedef struct figures {
    uint64_t max_entries, max_value, seed;
} figures;

/* Runs before anyone else can see the map; the region is zero-filled:
 * every chain empty, no record used, version 0. */
static int init_map(void *data, size_t size, void *arg)
{
    (void)size;
    const figures *f = arg;
    smem__mhdr *h = data;
    h->max_entries = f->max_entries;
    h->max_value = f->max_value;
    h->seed = f->seed;
    return 0;
}

/* A seed for the key hash that other processes cannot guess in advance,
 * so that keys chosen by an outsider cannot all fall in one chain.  (A
 * process that can write the map can do worse than that anyway.) */
static uint64_t new_seed(const void *handle)
{
    uint64_t x = (uint64_t)smem__os_now_ns();
    x ^= (uint64_t)smem__os_wall_seconds() << 32;
    x ^= (uint64_t)(uintptr_t)handle ^ (uint64_t)(uintptr_t)&x;
    return mix64(mix64(x) + UINT64_C(0x9e3779b97f4a7c15));
}

/* Whether a region's data of DATA_SIZE bytes is a map with these stored
 * figures. */
static int figures_fit(uint64_t max_entries, uint64_t max_value, uint64_t data_size,
                       geometry *g)
{
    return geometry_of(max_entries, max_value, g) == 0 && g->size == data_size;
}

_Static_assert(sizeof(smem__mhdr) <= SMEM__KIND_HDR_WORDS * 8, "inspection copies the header whole");

int smem__map_figures(const uint64_t *mhdr, smem_info *info)
{
    smem__mhdr h;
    memcpy(&h, mhdr, sizeof h);
    geometry g;
    if (!figures_fit(h.max_entries, h.max_value, info->size, &g))
        return SMEM_EBADREGION;
    info->capacity = (size_t)h.max_entries;
    info->max_value = (size_t)h.max_value;
    info->entries = h.count <= h.max_entries ? h.count : 0;
    return 0;
}

/* Checks what the region R says about the map against what it must be,
 * and keeps R and the checked figures in the handle (smem__adopt_fn). */
static int adopt_layout(void *handle, smem_region *r, smem__wlock **lock)
{
    smem_map *m = handle;
    m->region = r;
    m->hdr = smem_region_data(r);
    m->tail = smem__region_tail(r);
    m->lit = smem__os_beacon_word(smem__region_obj(r));
    m->rdonly = smem__region_rdonly(r);
    uint64_t entries = smem__load_relaxed_u64(&m->hdr->max_entries);
    uint64_t value = smem__load_relaxed_u64(&m->hdr->max_value);
    if (!figures_fit(entries, value, smem_region_size(r), &m->g))
        return SMEM_EBADREGION;
    if ((m->max_entries != 0 || m->max_value != 0) &&
        (entries != m->max_entries || value != m->max_value))
        return SMEM_EMISMATCH;
    m->max_entries = (size_t)entries;
    m->max_value = (size_t)value;
    m->seed = smem__load_relaxed_u64(&m->hdr->seed);
    m->groups = (smem__group *)((unsigned char *)m->hdr + MHDR_SIZE);
    m->recs = (unsigned char *)m->groups + m->g.ngroups * GROUP_SIZE;
    *lock = &m->hdr->lock;
    return 0;
}

int smem_map_open(const char *name, size_t max_entries, size_t max_value, const smem_opts *opts,
                  smem_map **out)
{
    if (!out)
        return SMEM_EINVAL;
    *out = NULL;
    smem_opts o;
    int rc = smem__wlock_open_opts(opts, &o);
    if (rc < 0)
        return rc;
    if (max_entries == 0 && max_value != 0)
        return SMEM_EINVAL;
    geometry g = {0};
    if (max_entries != 0) {
        rc = geometry_of(max_entries, max_value, &g);
        if (rc < 0)
            return rc;
    }
    smem_map *m = calloc(1, sizeof *m);
    if (!m)
        return SMEM_ENOMEM;
    /* What the caller asked for, until adopt_layout. */
    m->max_entries = max_entries;
    m->max_value = max_value;
    figures f = {max_entries, max_value, new_seed(m)};
    o.init = init_map;
    o.init_arg = &f;
    rc = smem__wlock_open(name, (size_t)g.size, SMEM_KIND_MAP, &o, adopt_layout, m);
    if (rc < 0) {
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

size_t smem_map_max_entries(const smem_map *m)
{
    return m ? m->max_entries : 0;
}

size_t smem_map_max_value(const smem_map *m)
{
    return m ? m->max_value : 0;
}

int smem_map_created(const smem_map *m)
{
    return m ? smem_region_created(m->region) : 0;
}

int smem_map_named(const smem_map *m)
{
    return m ? smem_region_named(m->region) : SMEM_EINVAL;
}

void smem_map_close(smem_map *m)
{
    if (!m)
        return;
    smem_region_close(m->region); /* puts the beacon out with the descriptor */
    free(m);
}
