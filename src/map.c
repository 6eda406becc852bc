/*
 * Maps: up to max_entries keys, each with a value of up to max_value bytes,
 * in one region (and, once it grew, a table object beside it); lock-free
 * reads, serialised writes that survive a killed writer, versions,
 * notification, growth while in use.
 *
 * Layout of the region's data (all offsets from smem_region_data):
 *
 *     0  smem__mhdr    the figures, versions, counters, writer lock, the
 *                      cache's bookkeeping and statistics, the generation
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
 * Growth (map-resize.c).  The groups and records above are the map's
 * table of generation 0.  smem_map_resize (and SMEM_GROW, when a new key
 * finds the map full or a value is longer than max_value) moves the map
 * to a larger table: a table object of its own, generation n+1 (os.h:
 * tables), that the writer fills under the writer lock with a copy of
 * every linked record, and then publishes with one release store of the
 * header's generation.  Until that store, everyone is on the old table,
 * which nothing changes while the lock is held; from it on, every change
 * goes to the new one.
 *
 *   Readers never wait: a read loads the handle's table, checks it is the
 *   header's generation (else follows: maps the new table, which its own
 *   header describes and which is checked like a region), reads as above,
 *   and after the acquire fence that ends the read checks the generation
 *   again.  If it moved, the read looks again in the new table: what it
 *   found was true before the move, but a change may have been made in
 *   the new table since.  So no read misses an entry or a change, and
 *   every other handle follows on its next call, without reopening.
 *
 *   Reclaim.  After the move the writer removes the old table object's
 *   name; its memory stays as long as some process maps it.  A handle that
 *   follows replaces its mapping of the old table with zeros in one call
 *   (smem__os_table_release), which lets go of the memory; a get of
 *   another thread still in it reads zeros, fails the generation check
 *   and looks again.  A walk in progress keeps its table mapped instead
 *   (a count of walks per table, Dekker-style against the release), and
 *   goes on in it: it is the map as it was at the move.  So the old table's
 *   memory is freed by the kernel when the last process that had it has
 *   made a call since (or closed the map, or died).  Generation 0 is part
 *   of the region, and its memory stays until the map is removed.
 *
 *   A killed resizer.  The resize sets the header's resizing mark and the
 *   repair flag first.  Killed before the generation store, it leaves the
 *   old table whole and current; after it, the new one.  The next writer's
 *   repair drops whichever table object is left over (the unpublished new
 *   one, or the old one's name), then rebuilds the free list and counters
 *   of the current table from its chains, as after any writer's death.
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
 *   map-resize.c   tables: following the map to its current one, moving
 *                  it to a larger one, reclaiming the old
 *   map-counter.c  the decimal text of counters
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
    h->max_entries = h->first_entries = f->max_entries;
    h->max_value = h->first_value = f->max_value;
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

/* Inspection copies the start of the header, up to the lock and the
 * figures of generation 0. */
_Static_assert(offsetof(smem__mhdr, pad1) <= SMEM__KIND_HDR_WORDS * 8, "the figures are copied");

int smem__map_figures(const uint64_t *mhdr, smem_info *info)
{
    smem__mhdr h;
    memcpy(&h, mhdr, offsetof(smem__mhdr, pad1));
    geometry g;
    if (!figures_fit(h.first_entries, h.first_value, info->size, &g) ||
        geometry_of(h.max_entries, h.max_value, &g) < 0)
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
    smem__map_free_tables(m); /* a first try's, when open tries again */
    m->region = r;
    m->hdr = smem_region_data(r);
    m->tail = smem__region_tail(r);
    m->lit = smem__os_beacon_word(smem__region_obj(r));
    m->rdonly = smem__region_rdonly(r);
    uint64_t entries = smem__load_relaxed_u64(&m->hdr->first_entries);
    uint64_t value = smem__load_relaxed_u64(&m->hdr->first_value);
    geometry g;
    if (!figures_fit(entries, value, smem_region_size(r), &g))
        return SMEM_EBADREGION;
    m->seed = smem__load_relaxed_u64(&m->hdr->seed);
    uint32_t policy = smem__load_relaxed_u32(&m->hdr->policy);
    if (policy & ~(MAP_EVICT | MAP_GROW))
        return SMEM_EBADREGION;
    if (m->evicting && !(policy & MAP_EVICT))
        return SMEM_EMISMATCH; /* asked for an evicting map, and this one is not */
    if (m->growing && !(policy & MAP_GROW))
        return SMEM_EMISMATCH;
    m->evicting = (policy & MAP_EVICT) != 0;
    m->growing = (policy & MAP_GROW) != 0;
    m->marks = m->evicting && !m->rdonly;
    smem__map_place_table(&m->first, 0, (unsigned char *)m->hdr + MHDR_SIZE, entries, value, &g,
                          m->tail);
    m->t = &m->first;
    const table *t;
    int rc = smem__map_follow(m, &t); /* to the current table, if it grew */
    if (rc < 0)
        return rc;
    int first = m->asked_entries == entries && m->asked_value == value;
    int now = m->asked_entries == t->max_entries && m->asked_value == t->max_value;
    if ((m->asked_entries != 0 || m->asked_value != 0) && !first && !now)
        return SMEM_EMISMATCH;
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
    int evict = (o.flags & SMEM_EVICT) != 0, grow = (o.flags & SMEM_GROW) != 0;
    o.flags &= ~(unsigned)(SMEM_EVICT | SMEM_GROW); /* the map's own: regions do not know them */
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
    m->asked_entries = max_entries;
    m->asked_value = max_value;
    m->evicting = evict;
    m->growing = grow;
    figures f = {max_entries, max_value, new_seed(m), (evict ? MAP_EVICT : 0) | (grow ? MAP_GROW : 0)};
    o.init = init_map;
    o.init_arg = &f;
    rc = smem__wlock_open(name, (size_t)g.size, SMEM_KIND_MAP, &o, adopt_layout, m);
    if (rc == SMEM_EMISMATCH && max_entries != 0) {
        /* A map that grew has a region the size of its first figures:
         * attach to whatever is there, and let adopt_layout compare. */
        o.flags |= SMEM_NOCREATE;
        o.flags &= ~(unsigned)SMEM_EXCL;
        rc = smem__wlock_open(name, 0, SMEM_KIND_MAP, &o, adopt_layout, m);
        if (rc == SMEM_ENOENT)
            rc = SMEM_EMISMATCH;
    }
    if (rc < 0) {
        smem__map_free_tables(m);
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* The table a const handle's figures come from: the current one if it
 * can be followed to (the handle's state, not the map's, changes). */
static const table *current_table(const smem_map *m)
{
    const table *t;
    return map_table((smem_map *)m, &t) == 0 ? t : handle_table(m);
}

size_t smem_map_max_entries(const smem_map *m)
{
    return m ? current_table(m)->max_entries : 0;
}

size_t smem_map_max_value(const smem_map *m)
{
    return m ? current_table(m)->max_value : 0;
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
    smem__map_free_tables(m);
    free(m);
}
