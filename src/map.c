/*
 * Maps: up to max_entries keys, each with a value of up to max_value bytes,
 * in one region; lock-free reads, serialised writes that survive a killed
 * writer, versions, notification.
 *
 * Layout of the region's data (all offsets from smem_region_data):
 *
 *     0  smem__mhdr    the fixed figures, versions, counters, writer lock,
 *                      then the cache's bookkeeping and statistics
 *   256  groups        ngroups cache lines: a seq word and 15 bucket heads
 *   ...  records       max_entries + 1 records: version, next, lengths,
 *                      expiry, recency mark (32 bytes), 64 key bytes,
 *                      max_value value bytes (rounded to 8)
 *
 * A bucket is a chain of records linked by index (index + 1; 0 ends it).
 * Records are never changed while linked (but for the recency mark, no
 * part of an entry, which readers of evicting maps set): a write fills a
 * free record (copy on write), then links it in with one store, which
 * either inserts it at its bucket's head or puts it in the place of the
 * record holding the same key; a delete unlinks with one store.  After
 * its one link store, the writer adds 1 to the seq of the bucket's group,
 * and only then does a record it unlinked go back on the free list.
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
 *
 * Caches.  A record may carry an expiry (ms of the host's monotonic
 * clock; 0: never).  Readers treat an expired record as absent, and no
 * thread sweeps: writers reclaim expired records as part of their
 * changes (a few records swept per change, a write of that key, or a new
 * key in a full map), and a new key in a full map created with SMEM_EVICT
 * evicts the entry CLOCK picks (map-evict.c).  Removing either is one
 * unlink store, like a delete.  Statistics are counted by
 * writers in the header and by each handle for its gets (map-read.c).
 *
 * Where things are:
 *
 *   map-layout.h   the structures above, the handle, record access, key
 *                  hashing, the bucket of a key, the clock of expiries
 *   map-read.c     get, get_stale, ttl, version, count, walk, foreach,
 *                  stats: the lock-free read path (read_chain walks a
 *                  chain) and its ordering argument
 *   map-write.c    set, add, put, cas, incr, expire, del, flush: the
 *                  copy-on-write changes under the writer lock, and
 *                  making room in a full map
 *   map-evict.c    choosing what goes: an expired record, or CLOCK's
 *   map-rebuild.c  repair after a dead writer; the free list after flush
 *   map-wait.c     smem_map_wait
 *   map.c          this overview; open, close and the map's figures
 */
#include "map-layout.h"

#include <stddef.h>

/* ------------------------------------------------------------------------ */
/* Open and close                                                           */

typedef struct figures {
    uint64_t max_entries, max_value, seed;
    uint32_t policy;
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
    h->policy = f->policy;
    h->next_expiry = NEVER;
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

/* Inspection copies the start of the header, up to the lock. */
_Static_assert(offsetof(smem__mhdr, lock) <= SMEM__KIND_HDR_WORDS * 8, "the figures are copied");

int smem__map_figures(const uint64_t *mhdr, smem_info *info)
{
    smem__mhdr h;
    memcpy(&h, mhdr, offsetof(smem__mhdr, lock));
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
    uint32_t policy = smem__load_relaxed_u32(&m->hdr->policy);
    if (policy & ~MAP_EVICT)
        return SMEM_EBADREGION;
    if (m->evicting && !(policy & MAP_EVICT))
        return SMEM_EMISMATCH; /* asked for an evicting map, and this one is not */
    m->evicting = (policy & MAP_EVICT) != 0;
    m->marks = m->evicting && !m->rdonly;
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
    int evict = (o.flags & SMEM_EVICT) != 0;
    o.flags &= ~(unsigned)SMEM_EVICT; /* the map's own: regions do not know it */
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
    m->evicting = evict;
    figures f = {max_entries, max_value, new_seed(m), evict ? MAP_EVICT : 0};
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

/* Adds this handle's last gets to the map's totals (see count_get). */
static void add_last_gets(smem_map *m)
{
    if (m->rdonly || smem__region_shrunk(m->tail))
        return;
    smem__fetch_add_relaxed_u64(&m->hdr->hits, smem__load_relaxed_u64(&m->hits) & 255);
    smem__fetch_add_relaxed_u64(&m->hdr->misses, smem__load_relaxed_u64(&m->misses) & 255);
}

void smem_map_close(smem_map *m)
{
    if (!m)
        return;
    add_last_gets(m);
    smem_region_close(m->region); /* puts the beacon out with the descriptor */
    free(m);
}
