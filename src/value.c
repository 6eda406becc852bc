/*
 * Values: one value of up to `capacity` bytes in a region, replaced
 * atomically, read without locks, with change notification.
 *
 * Layout of the region's data (all offsets from smem_region_data):
 *
 *     0  smem__vhdr      capacity, the publish word, the writer lock
 *   128  slot 0          seq, len, version, then capacity bytes (rounded to 64)
 *   ...  slot 1
 *
 * Two slots, so that a writer never touches the value readers are reading:
 * slot (pub & 1) holds the latest complete value, and a set writes the
 * other slot, then increments `pub` to publish it.  Each slot is also a
 * seqlock (seq odd while written), which catches the one race left: a
 * reader still copying a slot after a second set has begun to overwrite
 * it.  A slot also records the pub that publishes it, so that a reader
 * never returns a value before it is published.  A writer killed in
 * mid-copy leaves only the unpublished slot odd; readers never look at it,
 * and the next writer rewrites it.  Writers of large values pace
 * themselves so that a slow reader is not overtaken forever (see
 * wait_for_slow_readers).
 *
 * Writers are serialised by the writer lock (wlock.h), which a writer
 * takes over from an owner that died.
 *
 * Every number read from the region is checked before use: the index is
 * masked to one bit, a length is compared with the capacity this process
 * validated at open, and retries are bounded in time.
 */
#include "value.h"

#include "atomics.h"
#include "os.h"
#include "region.h"
#include "wlock.h"

#include <stdlib.h>
#include <string.h>

#define VHDR_SIZE 128
#define SLOT_HDR_SIZE 64
#define ALIGN64(n) (((n) + 63) & ~(uint64_t)63)

/* How long a waiter spins before it sleeps. */
#define WAIT_SPIN_NS 20000
/* A sleeping waiter wakes this often anyway, in case the writer that
 * published a change died before waking anyone.  (A read-only handle
 * cannot ask writers for a wake-up, so it polls faster.) */
#define WAIT_SLICE_NS 1000000000
#define WAIT_SLICE_RDONLY_NS 1000000
/* Pacing: before a set overwrites a slot holding at least PACE_MIN_BYTES,
 * the slot must have been out of date for PACE_FACTOR times as long as its
 * writer took to copy it in, and at least as long as copying it at
 * PACE_BYTES_PER_US would take (at most PACE_MAX_NS), so that a reader who
 * started copying it just before it went out of date can finish, even into
 * memory that is not in its cache. */
#define PACE_MIN_BYTES 16384
#define PACE_FACTOR 3
#define PACE_BYTES_PER_US 1024
#define PACE_MAX_NS 10000000

typedef struct smem__vhdr {
    uint64_t capacity;  /*  0: fixed at creation */
    uint32_t pub;       /*  8: +1 per set; slot (pub & 1) is current; futex word for waiters */
    uint32_t sleepers;  /* 12: nonzero if a waiter may be asleep on pub */
    uint64_t published; /* 16: when a large value last went out of date (monotonic ns) */
    uint64_t reader_need; /* 24: how long a reader that kept losing needs (ns), for pacing */
    uint8_t pad0[32];
    /* The writers' line, apart from the readers' one above. */
    smem__wlock lock;   /* 64: the writer lock (wlock.h) */
    uint8_t pad1[40];
} smem__vhdr;

typedef struct smem__slot {
    uint32_t seq;     /* even: stable; odd: being written */
    uint32_t pubno;   /* the value of pub that publishes this slot's contents */
    uint64_t len;     /* bytes of data */
    uint64_t version; /* 0 only before the first set */
    uint64_t copy_ns; /* how long the writer took to copy a large value in, for pacing */
    uint8_t pad1[32];
    /* data follows */
} smem__slot;

_Static_assert(sizeof(smem__vhdr) == VHDR_SIZE, "value header is part of the layout");
_Static_assert(sizeof(smem__slot) == SLOT_HDR_SIZE, "slot header is part of the layout");
_Static_assert(offsetof(smem__vhdr, lock) == 64, "the writer lock is part of the layout");

struct smem_value {
    smem_region *region;
    smem__vhdr *hdr;
    unsigned char *slots; /* slot 0; slot 1 is slot_stride bytes later */
    size_t capacity;      /* as validated at open: never re-read from the region */
    size_t slot_stride;
    const uint64_t *tail;  /* smem__region_tail: one load per call */
    const uint64_t *lit;  /* the beacon word (smem__wlock_writer_id) */
};

/* RC, or SMEM_EBADREGION if the region's file was shrunk under the handle
 * (its memory reads as zeros since: see smem__region_shrunk).  Checked
 * after the memory was touched, so that nothing read from the zeros
 * escapes. */
static int unless_lost(const smem_value *v, int rc)
{
    return smem__region_shrunk(v->tail) ? SMEM_EBADREGION : rc;
}

static uint64_t region_size_for(uint64_t capacity)
{
    return VHDR_SIZE + 2 * (SLOT_HDR_SIZE + ALIGN64(capacity));
}

static smem__slot *slot_at(const smem_value *v, uint32_t pub)
{
    return (smem__slot *)(v->slots + (pub & 1) * v->slot_stride);
}

static unsigned char *slot_data(smem__slot *s)
{
    return (unsigned char *)s + SLOT_HDR_SIZE;
}

static int init_value(void *data, size_t size, void *arg)
{
    (void)size;
    smem__vhdr *h = data; /* the region is zero-filled: both slots empty */
    h->capacity = *(const size_t *)arg;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */

/* A reader that keeps losing the race to writers of large values tells
 * them how long it needs (see wait_for_slow_readers).  A read-only handle
 * cannot write to the region: it relies on the writers' own estimate. */
static void ask_writers_for_time(smem_value *v, int64_t attempt_ns)
{
    if (smem__region_rdonly(v->region) || attempt_ns <= 0)
        return;
    uint64_t need = 2 * (uint64_t)attempt_ns;
    if (need > smem__load_relaxed_u64(&v->hdr->reader_need))
        smem__store_relaxed_u64(&v->hdr->reader_need, need);
}

/* What one look at the current slot saw. */
typedef struct snapshot {
    uint64_t len, version;
    uint32_t pub;   /* pub when the look began, and when it ended */
    uint32_t pub1;
    uint32_t pubno; /* the value of pub that published the slot */
} snapshot;

enum { READ_AGAIN = 1 }; /* read_once: a writer got in the way */

/*
 * One seqlock read of the current value: copies it into BUF if it fits in
 * BUFSIZE, and fills *SN.  0, SMEM_E2BIG (not copied), SMEM_EBADREGION (a
 * stable slot says something impossible, or the region was shrunk: see
 * unless_lost), or READ_AGAIN.  Inline and alone, so that the fast path
 * keeps what it needs after the copy in registers.
 */
static inline int read_once(const smem_value *v, void *buf, size_t bufsize, snapshot *sn)
{
    const smem__vhdr *h = v->hdr;
    const uint64_t *tail = v->tail;
    /* Acquire on pub: the slot it names was complete when published. */
    uint32_t pub = smem__load_acquire_u32(&h->pub);
    smem__slot *s = slot_at(v, pub);
    uint32_t s0 = smem__load_acquire_u32(&s->seq);
    uint32_t pubno = smem__load_relaxed_u32(&s->pubno);
    uint64_t len = smem__load_relaxed_u64(&s->len);
    uint64_t version = smem__load_relaxed_u64(&s->version);
    int fits = len <= v->capacity && len <= bufsize;
    if (!(s0 & 1) && fits && len > 0)
        smem__copy_from_shared(buf, slot_data(s), (size_t)len);
    /* The copy before the second look at seq and pub (Boehm's seqlock
     * reader: acquire fence, then relaxed loads). */
    smem__fence_acquire();
    uint32_t s1 = smem__load_relaxed_u32(&s->seq);
    uint32_t pub1 = smem__load_relaxed_u32(&h->pub);
    if (smem__region_shrunk(tail)) /* what we copied may be zeros */
        return SMEM_EBADREGION;
    *sn = (snapshot){len, version, pub, pub1, pubno};
    /* Unchanged seq: nobody wrote the slot while we read it.  Its
     * contents published by now (pub has reached pubno): a slot can be
     * rewritten completely just before it is published, and returning
     * that value early could make versions seem to go backwards.  pub
     * may move on while we copy: the slot we read stays intact until a
     * second set begins, which the seq check catches. */
    if ((s0 & 1) || s0 != s1 || (int32_t)(pub1 - pubno) < 0)
        return READ_AGAIN;
    if (len > v->capacity)
        return SMEM_EBADREGION;
    return fits ? 0 : SMEM_E2BIG;
}

/* read_once until it counts, after it did not: 0, SMEM_E2BIG,
 * SMEM_EBADREGION, or SMEM_EAGAIN if writers kept changing the slot
 * under us until the timeout (only a region being scribbled on can make
 * that happen). */
static int read_contended(smem_value *v, void *buf, size_t bufsize, snapshot *sn)
{
    int64_t deadline = 0, started = 0;
    unsigned stuck = 0;
    for (unsigned tries = 1;; tries++) {
        /* A writer only ever writes the slot that pub does not name.  So
         * if pub did not move at all while the slot it names failed the
         * checks, no writer is at work: the region was scribbled on.
         * (A few tries, not one, for safety's sake.) */
        stuck = sn->pub1 == sn->pub ? stuck + 1 : 0;
        if (stuck >= 8)
            return SMEM_EBADREGION;
        if (started && sn->pub1 != sn->pub)
            ask_writers_for_time(v, smem__os_now_ns() - started);
        /* Changed under us: retry at once, a few times; then with pauses,
         * within a time limit. */
        if (tries > 64) {
            int64_t now = smem__os_now_ns();
            if (deadline == 0)
                deadline = now + (int64_t)smem__region_timeout_ms(v->region) * 1000000;
            else if (now > deadline)
                return SMEM_EAGAIN;
            smem__os_wait(smem__region_obj(v->region), &v->hdr->pub, sn->pub1, 100000);
        } else {
            smem__cpu_relax();
        }
        if (tries >= 2) /* losing: time the attempt, to tell the writers */
            started = smem__os_now_ns();
        int rc = read_once(v, buf, bufsize, sn);
        if (rc != READ_AGAIN)
            return rc;
    }
}

/*
 * The seqlock read: copies the current value into BUF if it fits in
 * BUFSIZE; always reports its length, its version and the value of pub
 * that published it (for smem_value_wait).  0, SMEM_E2BIG, SMEM_EBADREGION
 * or SMEM_EAGAIN (read_once, read_contended).
 */
static int read_current(smem_value *v, void *buf, size_t bufsize, size_t *len_out,
                        uint64_t *version_out, uint32_t *pubno_out)
{
    snapshot sn;
    int rc = read_once(v, buf, bufsize, &sn);
    if (rc == READ_AGAIN)
        rc = read_contended(v, buf, bufsize, &sn);
    if (rc == 0 || rc == SMEM_E2BIG) {
        if (len_out)
            *len_out = (size_t)sn.len;
        if (version_out)
            *version_out = sn.version;
        if (pubno_out)
            *pubno_out = sn.pubno;
    }
    return rc;
}

int smem_value_get(smem_value *v, void *buf, size_t bufsize, size_t *len, uint64_t *version)
{
    if (!v || (!buf && bufsize > 0))
        return SMEM_EINVAL;
    return read_current(v, buf, bufsize, len, version, NULL);
}

uint64_t smem_value_version(smem_value *v)
{
    uint64_t version = 0;
    if (v && read_current(v, NULL, 0, NULL, &version, NULL) == SMEM_EBADREGION)
        return 0;
    return version;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */

/*
 * Pacing, for large values only.  A reader copying slot S may have loaded
 * pub just before S went out of date; a set that overwrites S before that
 * reader is done makes it start again.  A writer setting large values back
 * to back could do that to a slower reader every time, so before it
 * overwrites S it lets S be out of date for a few times as long as
 * copying S in took.  Small values copy in nanoseconds: no pacing, no
 * clock reads.  The figures come from shared memory: the wait is capped.
 */
static void wait_for_slow_readers(smem__vhdr *h, const smem__slot *s, uint64_t len)
{
    uint64_t copy_ns = smem__load_relaxed_u64(&s->copy_ns);
    uint64_t by_writer = copy_ns < PACE_MAX_NS / PACE_FACTOR ? copy_ns * PACE_FACTOR : PACE_MAX_NS;
    uint64_t by_size = len < (uint64_t)PACE_MAX_NS * PACE_BYTES_PER_US / 1000
                           ? len * 1000 / PACE_BYTES_PER_US
                           : PACE_MAX_NS;
    /* A reader that kept losing the race said how long it needs; honour
     * it, and let it shrink a little each time, so that one slow reader
     * does not slow the writers down for ever. */
    uint64_t need = smem__load_relaxed_u64(&h->reader_need);
    if (need > 0)
        smem__store_relaxed_u64(&h->reader_need, need - need / 8);
    need = need < PACE_MAX_NS ? need : PACE_MAX_NS;
    uint64_t most = by_writer > by_size ? by_writer : by_size;
    int64_t grace = (int64_t)(most > need ? most : need);
    int64_t until = (int64_t)smem__load_relaxed_u64(&h->published) + grace;
    int64_t now = smem__os_now_ns();
    if (until - now > PACE_MAX_NS) /* a time in the future: scribbled */
        return;
    while (now < until) {
        smem__cpu_relax();
        now = smem__os_now_ns();
    }
}

/* Writer lock held: writes LEN bytes of DATA as the new value. */
static void publish(smem_value *v, const void *data, size_t len)
{
    smem__vhdr *h = v->hdr;
    uint32_t pub = smem__load_relaxed_u32(&h->pub); /* only writers change it, and we hold the lock */
    uint64_t version = smem__load_relaxed_u64(&slot_at(v, pub)->version) + 1;
    smem__slot *s = slot_at(v, pub + 1);
    /* Pacing (see wait_for_slow_readers): time the copy of a large value;
     * note when a large value goes out of date; give readers of the one
     * about to be overwritten their time. */
    int timing = len >= PACE_MIN_BYTES;
    int retiring_large = smem__load_relaxed_u64(&slot_at(v, pub)->len) >= PACE_MIN_BYTES;
    uint64_t overwritten_len = smem__load_relaxed_u64(&s->len);
    if (overwritten_len >= PACE_MIN_BYTES)
        wait_for_slow_readers(h, s, overwritten_len);

    /* Seqlock write: seq odd, release fence, payload, seq even with
     * release.  A dead writer may have left seq odd: step past it. */
    uint32_t seq = smem__load_relaxed_u32(&s->seq);
    seq += (seq & 1) ? 1 : 0;
    smem__store_relaxed_u32(&s->seq, seq + 1);
    smem__fence_release();
    smem__store_relaxed_u32(&s->pubno, pub + 1);
    smem__store_relaxed_u64(&s->len, len);
    smem__store_relaxed_u64(&s->version, version);
    int64_t copy_start = timing ? smem__os_now_ns() : 0;
    if (len > 0)
        smem__copy_to_shared(slot_data(s), data, len);
    if (timing)
        smem__store_relaxed_u64(&s->copy_ns, (uint64_t)(smem__os_now_ns() - copy_start));
    smem__store_release_u32(&s->seq, seq + 2);

    /* Publish, then wake sleepers if any announced themselves.  The store
     * and the load are seq_cst, and so are the waiter's announcement and
     * its look at pub: either it sees the new pub, or we see it. */
    smem__store_seq_cst_u32(&h->pub, pub + 1);
    if (retiring_large)
        smem__store_relaxed_u64(&h->published, (uint64_t)smem__os_now_ns());
    if (smem__load_seq_cst_u32(&h->sleepers)) {
        smem__store_relaxed_u32(&h->sleepers, 0);
        smem__os_wake_all(smem__region_obj(v->region), &h->pub);
    }
}

int smem_value_set(smem_value *v, const void *data, size_t len)
{
    if (!v || (!data && len > 0))
        return SMEM_EINVAL;
    uint64_t id;
    int rc = smem__wlock_writer_id(&v->hdr->lock, v->region, v->lit, &id);
    if (rc < 0)
        return unless_lost(v, rc);
    if (len > v->capacity)
        return SMEM_E2BIG;
    if (smem__region_shrunk(v->tail))
        return SMEM_EBADREGION;
    /* A dead owner's unpublished slot is simply rewritten by this set. */
    rc = smem__wlock_take(&v->hdr->lock, v->region, id);
    if (rc < 0)
        return unless_lost(v, rc);
    publish(v, data, len);
    smem__wlock_give(&v->hdr->lock, v->region);
    return unless_lost(v, 0);
}

/* ------------------------------------------------------------------------ */
/* Waiting                                                                  */

static int wait_for_change(smem_value *v, uint64_t seen, int timeout_ms)
{
    smem__vhdr *h = v->hdr;
    smem__os_obj *obj = smem__region_obj(v->region);
    int64_t start = smem__os_now_ns();
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : start + (int64_t)timeout_ms * 1000000;

    /* The version read comes with the value of pub that published it
     * (the slot's pubno).  Every set moves pub, so from here on "the
     * version changed" is "pub moved off pubno": one word to watch. */
    uint64_t version = 0;
    uint32_t pubno = 0;
    int rc = read_current(v, NULL, 0, NULL, &version, &pubno);
    if (rc < 0 && rc != SMEM_E2BIG) /* E2BIG: the value, not copied (no buffer) */
        return rc;
    if (version != seen)
        return 0;

    /* Spin first: a change that comes within microseconds is seen within
     * nanoseconds, without the cost of sleeping and waking. */
    int64_t spin_until = start + WAIT_SPIN_NS;
    for (unsigned i = 0;; i++) {
        if (smem__load_acquire_u32(&h->pub) != pubno)
            return 0;
        if ((i & 31) == 31) {
            int64_t now = smem__os_now_ns();
            if (now >= deadline)
                return SMEM_ETIMEDOUT;
            if (now >= spin_until)
                break;
        }
        smem__cpu_relax();
    }

    int writable = !smem__region_rdonly(v->region);
    int64_t slice = writable ? WAIT_SLICE_NS : WAIT_SLICE_RDONLY_NS;
    for (;;) {
        /* Announce the sleep, then look at pub (see smem_value_set: either
         * we see its new pub here, or it sees our announcement). */
        if (writable)
            smem__store_seq_cst_u32(&h->sleepers, 1);
        if (smem__load_seq_cst_u32(&h->pub) != pubno || smem__region_shrunk(v->tail))
            return 0;
        int64_t left = deadline - smem__os_now_ns();
        if (left <= 0)
            return SMEM_ETIMEDOUT;
        /* Returns at once if pub has moved off pubno. */
        smem__os_wait(obj, &h->pub, pubno, left < slice ? left : slice);
    }
}

int smem_value_wait(smem_value *v, uint64_t seen, int timeout_ms)
{
    if (!v || timeout_ms < -1)
        return SMEM_EINVAL;
    return unless_lost(v, wait_for_change(v, seen, timeout_ms));
}


/* ------------------------------------------------------------------------ */
/* Open and close                                                           */

/* Whether a region of DATA_SIZE usable bytes can hold a value of
 * capacity STORED, as read from it. */
static int capacity_fits(uint64_t stored, uint64_t data_size)
{
    return stored <= SMEM_VALUE_MAX && region_size_for(stored) == data_size;
}

_Static_assert(sizeof(smem__vhdr) <= SMEM__KIND_HDR_WORDS * 8, "inspection copies the header whole");

int smem__value_figures(const uint64_t *vhdr, smem_info *info)
{
    smem__vhdr h;
    memcpy(&h, vhdr, sizeof h);
    info->capacity = capacity_fits(h.capacity, info->size) ? (size_t)h.capacity : 0;
    return 0;
}

/* Checks what the region R says about the value against what it must be,
 * and keeps R and the checked figures in the handle (smem__adopt_fn). */
static int adopt_layout(void *handle, smem_region *r, smem__wlock **lock)
{
    smem_value *v = handle;
    v->region = r;
    v->hdr = smem_region_data(r);
    v->tail = smem__region_tail(r);
    v->lit = smem__os_beacon_word(smem__region_obj(r));
    uint64_t stored = smem__load_relaxed_u64(&v->hdr->capacity);
    if (!capacity_fits(stored, smem_region_size(r)))
        return SMEM_EBADREGION;
    if (v->capacity != 0 && stored != v->capacity)
        return SMEM_EMISMATCH;
    v->capacity = (size_t)stored;
    v->slot_stride = (size_t)(SLOT_HDR_SIZE + ALIGN64(stored));
    v->slots = (unsigned char *)v->hdr + VHDR_SIZE;
    *lock = &v->hdr->lock;
    return 0;
}

int smem_value_open(const char *name, size_t capacity, const smem_opts *opts, smem_value **out)
{
    if (!out)
        return SMEM_EINVAL;
    *out = NULL;
    smem_opts o;
    int rc = smem__wlock_open_opts(opts, &o);
    if (rc < 0)
        return rc;
    if (capacity > SMEM_VALUE_MAX)
        return SMEM_E2BIG;
    o.init = init_value;
    o.init_arg = &capacity;

    smem_value *v = calloc(1, sizeof *v);
    if (!v)
        return SMEM_ENOMEM;
    v->capacity = capacity; /* what the caller asked for, until adopt_layout */
    size_t size = capacity ? (size_t)region_size_for(capacity) : 0;
    rc = smem__wlock_open(name, size, SMEM_KIND_VALUE, &o, adopt_layout, v);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    return 0;
}

size_t smem_value_capacity(const smem_value *v)
{
    return v ? v->capacity : 0;
}

int smem_value_created(const smem_value *v)
{
    return v ? smem_region_created(v->region) : 0;
}

int smem_value_named(const smem_value *v)
{
    return v ? smem_region_named(v->region) : SMEM_EINVAL;
}

void smem_value_close(smem_value *v)
{
    if (!v)
        return;
    smem_region_close(v->region); /* puts the beacon out with the descriptor */
    free(v);
}
