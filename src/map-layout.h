/*
 * The map's shared structures and what every part of it uses with them:
 * the layout of a map region (see map.c for the whole design), the handle,
 * record access, key hashing and the lookup of a key's bucket.  Everything
 * here either describes the layout or is a pure function of it; the
 * invariants of reading, writing and waiting are in map-read.c,
 * map-write.c and map-wait.c.
 *
 * Nothing here trusts the region: an index is checked with valid_index
 * against the record count this process validated at open.
 */
#ifndef SMEM_MAP_LAYOUT_H
#define SMEM_MAP_LAYOUT_H

#include "map.h"

#include "atomics.h"
#include "os.h"
#include "region.h"
#include "wlock.h"

#include <stdlib.h>
#include <string.h>

#define MHDR_SIZE 256
#define GROUP_SIZE 64
#define GROUP_BUCKETS 15
#define REC_HDR_SIZE 32
#define KEY_MAX SMEM_MAP_KEY_MAX
#define VLEN_MASK 0x00ffffffu /* rec.lens: value length below, key length in the top byte */
#define ALIGN8(n) (((n) + 7) & ~(uint64_t)7)
#define MAP_EVICT 0x1u        /* mhdr.policy: created with SMEM_EVICT */
#define MAP_GROW 0x2u         /* mhdr.policy: created with SMEM_GROW */
#define THDR_SIZE 64          /* the header of a table of its own (generation 1 on) */
#define TABLE_MAGIC UINT64_C(0x454c424154504d53) /* "SMPTABLE" on little-endian */
#define NEVER UINT64_MAX      /* mhdr.next_expiry when nothing expires */

typedef struct smem__mhdr {
    /* The figures of the current table (map-resize.c). */
    uint64_t max_entries; /*  0 */
    uint64_t max_value;   /*  8 */
    uint64_t seed;        /* 16: of the key hash, fixed at creation */
    /* Changed by writers, read by waiters. */
    uint64_t version;     /* 24: the map-wide version: the last change's number */
    uint32_t changes;     /* 32: +1 per change; futex word for waiters */
    uint32_t sleepers;    /* 36: nonzero if a waiter may be asleep on changes */
    uint32_t count;       /* 40: entries linked (live or expired) */
    uint32_t free_head;   /* 44: first record of the free list (index + 1), 0 if none */
    uint32_t fresh;       /* 48: records from this index on were never used */
    uint32_t repair;      /* 52: nonzero: rebuild before the next change (see repair) */
    uint32_t policy;      /* 56: MAP_EVICT, MAP_GROW, fixed at creation */
    uint32_t resizing;    /* 60: nonzero: the generation a resize is building */
    smem__wlock lock;     /* 64: the writer lock */
    /* The cache's positions, changed by writers under the lock. */
    uint32_t expiring;    /* 88: linked records with an expiry */
    uint32_t hand;        /* 92: the record (index) eviction looks at next */
    uint32_t reap;        /* 96: the record (index) the sweep for expired ones looks at next */
    uint32_t sweep_left;  /* 100: records the sweep has yet to visit in this turn */
    /* The figures of generation 0, the table in this region: fixed. */
    uint64_t first_entries; /* 104 */
    uint64_t first_value;   /* 112 */
    uint8_t pad1[8];
    /* The cache's figures, changed by writers under the lock. */
    uint64_t bytes;       /* 128: key and value bytes of the linked records */
    uint64_t next_expiry; /* 136: no linked record expires before this (a bound; NEVER) */
    uint64_t sweep_min;   /* 144: the soonest expiry the sweep saw in this turn */
    uint64_t sets, deletes, evictions, expirations; /* 152 */
    uint8_t pad2[8];
    /* Gets, added in batches by each handle (smem_map_stats). */
    uint64_t hits, misses; /* 192 */
    /* The current table's generation: 0 is the one in this region, n > 0
     * the table object n (map-resize.c).  Written once per resize, read
     * by every call: in a line that changes seldom. */
    uint32_t gen;          /* 208 */
    uint8_t pad3[44];
} smem__mhdr;

/* The start of a table object (generation 1 on); groups and records
 * follow, then the tail (map-resize.c). */
typedef struct smem__thdr {
    uint64_t magic;       /* TABLE_MAGIC, written before the table is published */
    uint64_t gen;
    uint64_t max_entries;
    uint64_t max_value;
    uint8_t pad[32];
} smem__thdr;

typedef struct smem__group {
    uint32_t seq;                   /* +1 after each change to one of its chains */
    uint32_t head[GROUP_BUCKETS];   /* index + 1 of each chain's first record */
} smem__group;

typedef struct smem__rec {
    uint64_t version; /* the map version of the change that wrote it */
    uint32_t next;    /* the next record in its chain or the free list (index + 1) */
    uint32_t lens;    /* key length << 24 | value length */
    uint64_t expires; /* when it expires, in ms of the host's clock (now_ms); 0: never */
    uint32_t used;    /* nonzero: read since the eviction hand passed it (MAP_EVICT) */
    uint32_t pad;
    /* KEY_MAX key bytes, then the value */
} smem__rec;

_Static_assert(sizeof(smem__mhdr) == MHDR_SIZE, "map header is part of the layout");
_Static_assert(sizeof(smem__group) == GROUP_SIZE, "bucket group is part of the layout");
_Static_assert(sizeof(smem__rec) == REC_HDR_SIZE, "record header is part of the layout");
_Static_assert(sizeof(smem__thdr) == THDR_SIZE, "table header is part of the layout");
_Static_assert(SMEM_MAP_VALUE_MAX <= VLEN_MASK, "value lengths fit rec.lens");

/*
 * Crash points, for tests/test_map_crash.c: a library built with
 * SMEM_CRASH_POINTS ends its process at the point of a change named by the
 * environment variable SMEM_CRASH_AT, as a SIGKILL arriving there would.
 * Random kills (test_map_kill) rarely land in the few instructions
 * between two steps of a change; these make every such instant a case.
 */
#ifdef SMEM_CRASH_POINTS
static inline void crash_point(const char *where)
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
    uint64_t tables;   /* bytes of the groups and the records */
    uint64_t size;     /* of the region's data, were this table generation 0 */
} geometry;

/*
 * A table as this handle maps it: generation 0 inside the region, later
 * ones in table objects of their own (map-resize.c).  Everything in it was
 * validated when the handle mapped it, and is never re-read from shared
 * memory.  A handle's tables form a list, newest first (smem_map.t); an
 * older one stays in the list until close, its memory given back as soon
 * as no walk of this handle is in it (map-resize.c).
 */
typedef struct table {
    uint32_t gen;
    smem__group *groups;
    unsigned char *recs;
    geometry g;
    size_t max_entries, max_value;
    const uint64_t *tail;  /* the object's tail (the region's for generation 0) */
    void *base;            /* the table object's mapping (generation 1 on), else NULL */
    uint64_t total;        /* its size */
    struct table *older;
    uint32_t walkers;      /* walks of this handle in it (atomic) */
    uint32_t retired;      /* a newer table replaced it in the handle (atomic) */
    uint32_t released;     /* its mapping was given back (atomic) */
} table;

struct smem_map {
    smem_region *region;
    smem__mhdr *hdr;
    table *t;              /* the newest table this handle follows (atomic) */
    table first;           /* generation 0 */
    /* As validated at open: never re-read from the region. */
    uint64_t seed;
    size_t asked_entries, asked_value; /* what the opener asked for (0: anything) */
    const uint64_t *tail; /* smem__region_tail: one load per call */
    const uint64_t *lit; /* the beacon word (smem__wlock_writer_id) */
    int rdonly;      /* opened SMEM_RDONLY */
    int evicting;    /* created with SMEM_EVICT (mhdr.policy, checked at open) */
    int marks;       /* gets mark what they find (evicting, and writable) */
    int growing;     /* created with SMEM_GROW */
    /* This handle's gets; every 256th adds 256 to the map's totals
     * (count_get), and close adds the rest. */
    uint64_t hits, misses;
};

/* RC, or SMEM_EBADREGION if the region's file was shrunk under the handle
 * (its memory reads as zeros since: see smem__region_shrunk).  Checked
 * after the memory was touched, so that nothing read from the zeros
 * escapes. */
static inline const table *handle_table(const smem_map *m)
{
    return __atomic_load_n(&m->t, __ATOMIC_ACQUIRE);
}

/* The table's tail reads zeros too when another thread of the handle
 * gave the table's memory back since this one loaded it (map-resize.c:
 * retire): that is no loss, and the map has moved on by then. */
static inline int unless_lost(const smem_map *m, int rc)
{
    const table *t = handle_table(m);
    if (smem__region_shrunk(m->tail))
        return SMEM_EBADREGION;
    if (!smem__region_shrunk(t->tail))
        return rc;
    smem__fence_acquire();
    return smem__load_relaxed_u32(&m->hdr->gen) == t->gen ? SMEM_EBADREGION : rc;
}

/* What a chain walk is looking for, computed once per call, and placed in
 * the table T (lookup_place: again if the map moved to another one). */
typedef struct lookup {
    const char *key;
    uint32_t klen;
    uint32_t group;
    uint32_t slot;
    uint64_t hash;
    const table *t;
} lookup;

static inline int geometry_of(uint64_t max_entries, uint64_t max_value, geometry *g)
{
    if (max_entries == 0 || max_entries > SMEM_MAP_ENTRIES_MAX || max_value > SMEM_MAP_VALUE_MAX)
        return SMEM_E2BIG;
    g->records = max_entries + 1;
    g->ngroups = (max_entries + GROUP_BUCKETS - 1) / GROUP_BUCKETS;
    g->nbuckets = g->ngroups * GROUP_BUCKETS;
    g->rec_size = REC_HDR_SIZE + KEY_MAX + ALIGN8(max_value);
    /* No overflow: at most 2^30 records of at most 2^20 + 80 bytes. */
    g->tables = g->ngroups * GROUP_SIZE + g->records * g->rec_size;
    g->size = MHDR_SIZE + g->tables;
    return g->size <= SMEM_SIZE_MAX ? 0 : SMEM_E2BIG;
}

static inline smem__rec *rec_at(const table *t, uint32_t index1)
{
    return (smem__rec *)(t->recs + (uint64_t)(index1 - 1) * t->g.rec_size);
}

static inline char *rec_key(smem__rec *r)
{
    return (char *)r + REC_HDR_SIZE;
}

static inline unsigned char *rec_val(smem__rec *r)
{
    return (unsigned char *)r + REC_HDR_SIZE + KEY_MAX;
}

/* An index read from the region that names a record. */
static inline int valid_index(const table *t, uint32_t index1)
{
    return index1 >= 1 && index1 <= t->g.records;
}

/* ------------------------------------------------------------------------ */
/* Expiry and recency                                                       */

/* Milliseconds on the clock that every process of the host shares (see
 * smem__os_now_ns): what rec.expires counts in.  Never 0 once booted. */
static inline uint64_t now_ms(void)
{
    return (uint64_t)smem__os_now_ns() / 1000000;
}

/* The clock, read at most once per call, and only if a record has an
 * expiry: most maps never pay for it. */
typedef struct clock {
    uint64_t ms; /* 0: not read yet */
} clock;

static inline uint64_t clock_now(clock *c)
{
    if (c->ms == 0)
        c->ms = now_ms();
    return c->ms;
}

/* Whether an entry that expires at EXPIRES (0: never) has expired. */
static inline int has_expired(uint64_t expires, clock *c)
{
    return expires != 0 && clock_now(c) >= expires;
}

/* The milliseconds from NOW until EXPIRES (which is later), as an int64_t
 * however far a scribbled expiry is. */
static inline int64_t ms_until(uint64_t expires, uint64_t now)
{
    uint64_t left = expires - now;
    return left <= (uint64_t)INT64_MAX ? (int64_t)left : INT64_MAX;
}

/* Whether some linked record may have expired: the header's bound on the
 * soonest expiry has passed.  (Read without the lock by readers, who then
 * look; a wrong answer from scribbled words costs time, not correctness.) */
static inline int may_have_expired(const smem_map *m, clock *c)
{
    return smem__load_relaxed_u32(&m->hdr->expiring) != 0 &&
           clock_now(c) >= smem__load_relaxed_u64(&m->hdr->next_expiry);
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                     */

/* The length of KEY (1 to KEY_MAX), or SMEM_EINVAL / SMEM_ENAMETOOLONG. */
static inline int key_length(const char *key)
{
    if (!key || !key[0])
        return SMEM_EINVAL;
    size_t n = strnlen(key, KEY_MAX + 1);
    return n <= KEY_MAX ? (int)n : SMEM_ENAMETOOLONG;
}

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    return x;
}

static inline uint64_t load64(const char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static inline uint64_t load32(const char *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

/* A seeded hash of the key's KLEN (1 to KEY_MAX) bytes, 8 at a time; the
 * last word overlaps the one before rather than being assembled byte by
 * byte.  (Every process computes the same hash: it must not depend on
 * anything but the bytes and the seed.) */
static inline uint64_t key_hash(uint64_t seed, const char *key, size_t klen)
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
static inline uint64_t bucket_of(const table *t, uint64_t hash)
{
    return ((hash >> 32) * t->g.nbuckets) >> 32;
}

static inline void lookup_place(lookup *k, const table *t)
{
    uint64_t b = bucket_of(t, k->hash);
    k->group = (uint32_t)(b / GROUP_BUCKETS);
    k->slot = (uint32_t)(b % GROUP_BUCKETS);
    k->t = t;
}

static inline void lookup_init(const smem_map *m, const table *t, const char *key, int klen,
                               lookup *k)
{
    k->key = key;
    k->klen = (uint32_t)klen;
    k->hash = key_hash(m->seed, key, (size_t)klen);
    lookup_place(k, t);
}

/* Whether record R holds the key K.  (R may be changing under a reader,
 * who checks afterwards whether the answer counts.) */
static inline int rec_holds(smem__rec *r, uint32_t lens, const lookup *k)
{
    return lens >> 24 == k->klen && smem__equal_shared(rec_key(r), k->key, k->klen);
}

/* ------------------------------------------------------------------------ */
/* Between the parts of the map                                             */

/* map-write.c: takes the writer lock, repairing first if the last owner
 * died in a change; 0 or a negative code, with the lock not held. */
int smem__map_write_begin(smem_map *m);
void smem__map_write_end(smem_map *m);

/* map-read.c: the version of K's entry (0 if absent or expired) and when
 * it expires (0: never), or with K NULL the map version, as a consistent
 * read sees it. */
int smem__map_current_version(smem_map *m, lookup *k, uint64_t *version,
                              uint64_t *expires);

/* map-rebuild.c, writer lock held: repair rebuilds the free list, the
 * count and the cache's bookkeeping from the chains; free_all makes
 * every record free after all chains were emptied (flush).  0, or
 * SMEM_ENOMEM (repair). */
int smem__map_repair(smem_map *m);
void smem__map_free_all(smem_map *m);

/* map-counter.c: a counter's decimal text (an optional '-', then 1 to 19
 * digits) to its value (0, SMEM_EINVAL or SMEM_ERANGE), and back (into
 * at least 20 bytes; gives the length). */
int smem__map_parse_counter(const char *s, size_t len, int64_t *out);
size_t smem__map_format_counter(int64_t n, char *buf);

/* map-resize.c.  smem__map_follow makes the handle's table the map's
 * current one, mapping it first (map_table is its fast path).  A walk
 * keeps its table mapped from walk_begin to walk_end.  place_table fills
 * T for a table whose groups start at GROUPS.  Writer lock held: grow
 * moves the map to a table of ENTRIES and VALUE (0, 1 if damaged, or a
 * code), grow_for to the doubled figures SMEM_GROW asks for (a value of
 * NEED bytes), settle_resize ends a resize a dead writer left (repair),
 * and free_tables unmaps every table of a closing handle. */
int smem__map_follow(smem_map *m, const table **out);
int smem__map_walk_begin(smem_map *m, const table **out);
void smem__map_walk_end(const table *t);
void smem__map_place_table(table *t, uint32_t gen, unsigned char *groups, uint64_t max_entries,
                           uint64_t max_value, const geometry *g, const uint64_t *tail);
int smem__map_grow(smem_map *m, uint64_t entries, uint64_t value);
int smem__map_grow_for(smem_map *m, size_t need);
void smem__map_settle_resize(smem_map *m);
void smem__map_free_tables(smem_map *m);

/* The table the map is on, following it there first if it moved (one
 * load and a compare when it did not). */
static inline int map_table(smem_map *m, const table **out)
{
    const table *t = handle_table(m);
    if (smem__load_acquire_u32(&m->hdr->gen) == t->gen) {
        *out = t;
        return 0;
    }
    return smem__map_follow(m, out);
}

/* After reading T, and an acquire fence: whether the map moved on from T
 * meanwhile, so that what was read may be stale (or zeros: see retire in
 * map-resize.c).  Then the reader looks again, in the new table. */
static inline int table_moved(const smem_map *m, const table *t)
{
    return smem__load_relaxed_u32(&m->hdr->gen) != t->gen;
}

/* map-evict.c, writer lock held: the sweep goes on for up to BUDGET
 * records and gives the first expired one (index + 1), or 0; with BUDGET
 * the record count, 0 means that none is expired.  The record CLOCK
 * evicts, or 0 if no record is in use. */
uint32_t smem__map_sweep(smem_map *m, uint64_t now, uint64_t budget);
uint32_t smem__map_clock_victim(smem_map *m);

#endif
