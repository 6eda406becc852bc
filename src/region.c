/*
 * Regions: create-or-open, first-attacher initialisation, lifetime,
 * header validation.  Portable: everything the OS does goes through os.h.
 *
 * Every decision about an object's life is taken while holding its gate:
 *
 *   open    looks at the object.  If another process is attached, or the
 *           region is persistent, it is live: check it and attach.
 *           Otherwise it is new (just created, empty), unfinished (its
 *           creator died while initialising) or stale (all its users are
 *           gone): this open becomes its creator and initialises it in
 *           place, before releasing the gate, so that nobody can see it
 *           half-made.
 *   close   if no other process is attached and the region is not
 *           persistent, removes the name.
 *
 * Attachment is the OS layer's users lock, which dies with its process, so
 * no counter in shared memory can go wrong when a process is killed.
 */
#include "region.h"

#include "atomics.h"
#include "os.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MODE 0600u
#define DEFAULT_TIMEOUT_MS 5000
#define KNOWN_FLAGS (SMEM_NOCREATE | SMEM_EXCL | SMEM_PERSIST | SMEM_RDONLY | SMEM_ANYKIND)

struct smem_region {
    smem__os_obj *obj;
    void *base;     /* the mapping: header, then data */
    uint64_t total; /* bytes mapped */
    size_t size;    /* usable bytes */
    enum smem_kind kind;
    int created;
    int persistent;
    int rdonly;
    int timeout_ms;
    char name[SMEM_NAME_MAX + 1];
};

/* What a header says about its region (see look_at). */
enum { LOOK_READY = 0, LOOK_UNFINISHED = 1 };

/* FNV-1a over the fixed fields, so that a scribbled header is noticed. */
static uint64_t hdr_check(const smem__hdr *h)
{
    const unsigned char *p = (const unsigned char *)h;
    uint64_t x = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < offsetof(smem__hdr, check); i++)
        x = (x ^ p[i]) * UINT64_C(0x100000001b3);
    return x;
}

/* The bytes of the object of a region of DATA_SIZE usable bytes: header,
 * data, padding to 8 bytes, tail.  DATA_SIZE is at most SMEM_SIZE_MAX. */
static uint64_t object_size(uint64_t data_size)
{
    return SMEM__HDR_SIZE + ((data_size + 7) & ~UINT64_C(7)) + SMEM__TAIL_SIZE;
}

static uint64_t *tail_of(void *base, uint64_t data_size)
{
    return (uint64_t *)((char *)base + object_size(data_size) - SMEM__TAIL_SIZE);
}

static int is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Copies a header out of shared memory, so that what is checked is what is
 * used.  The state is loaded first, with acquire ordering: it pairs with the
 * creator's release store, so READY implies the rest of the region is
 * visible (the gate's syscalls order it too; this keeps it true without
 * relying on them). */
static void copy_header(smem__hdr *h, const void *base)
{
    uint32_t state = smem__load_acquire_u32(&((const smem__hdr *)base)->state);
    memcpy(h, base, sizeof *h);
    h->state = state;
}

/*
 * Judges a header copied from an object of OBJSIZE bytes:
 * LOOK_READY, LOOK_UNFINISHED (empty, or its creator has not finished), or
 * why it is not a region we can use.
 */
static int look_at(const smem__hdr *h, uint64_t objsize)
{
    if (objsize == 0)
        return LOOK_UNFINISHED;
    if (objsize < SMEM__HDR_SIZE)
        return SMEM_EBADREGION;
    if (is_zero(h, sizeof *h)) /* reserved, header not written yet */
        return LOOK_UNFINISHED;
    if (h->magic != SMEM__MAGIC)
        return SMEM_EBADREGION;
    if (h->layout != SMEM__LAYOUT)
        return SMEM_EVERSION;
    if (h->hdr_size != SMEM__HDR_SIZE || h->check != hdr_check(h))
        return SMEM_EBADREGION;
    if (h->data_size == 0 || h->data_size > SMEM_SIZE_MAX ||
        object_size(h->data_size) != objsize)
        return SMEM_EBADREGION;
    if (h->kind < SMEM_KIND_REGION || h->kind > SMEM_KIND_LAST)
        return SMEM_EBADREGION;
    if (h->state == SMEM__STATE_READY)
        return LOOK_READY;
    if (h->state == SMEM__STATE_INIT)
        return LOOK_UNFINISHED;
    return SMEM_EBADREGION;
}

/* Stale: nobody is attached and nothing keeps it, so it counts as absent.
 * Only an object that can outlive its users is kept by SMEM_PERSIST. */
static int is_stale(int look, const smem__hdr *h, const smem__os_stat *st)
{
    if (st->others)
        return 0;
    return look == LOOK_UNFINISHED || !(h->flags & SMEM__HDR_PERSIST) || !st->lasting;
}

/* Gate held: maps the object as it is and judges its header and, if it
 * is ready, its tail.  On LOOK_READY or LOOK_UNFINISHED with a mapping,
 * r->base/total are set. */
static int load_header(smem_region *r, const smem__os_stat *st, int rdonly, smem__hdr *h)
{
    memset(h, 0, sizeof *h);
    if (st->size == 0)
        return LOOK_UNFINISHED;
    if (st->size < SMEM__HDR_SIZE || st->size - SMEM__HDR_SIZE > SMEM_SIZE_MAX)
        return SMEM_EBADREGION;
    int rc = smem__os_map(r->obj, st->size, rdonly, &r->base);
    if (rc < 0)
        return rc;
    r->total = st->size;
    copy_header(h, r->base);
    int look = look_at(h, st->size);
    if (look == LOOK_READY && smem__region_shrunk(tail_of(r->base, h->data_size)))
        return SMEM_EBADREGION;
    return look;
}

static void unmap(smem_region *r)
{
    smem__os_unmap(r->base, r->total);
    r->base = NULL;
    r->total = 0;
}

static int attach_existing(smem_region *r, const smem__hdr *h, size_t size, enum smem_kind kind,
                           unsigned flags)
{
    if (flags & SMEM_EXCL)
        return SMEM_EEXIST;
    if (!(flags & SMEM_ANYKIND) && h->kind != (uint32_t)kind)
        return SMEM_EMISMATCH;
    if (size != 0 && size != h->data_size)
        return SMEM_EMISMATCH;
    int rc = smem__os_attach(r->obj);
    if (rc < 0)
        return rc;
    r->size = (size_t)h->data_size;
    r->kind = (enum smem_kind)h->kind;
    r->persistent = (h->flags & SMEM__HDR_PERSIST) != 0;
    return 0;
}

/* Gate held, object new or stale: make it a fresh region.  On failure the
 * name is removed, so nothing is left behind. */
static int create(smem_region *r, size_t size, enum smem_kind kind, const smem_opts *o)
{
    uint64_t total = object_size(size);
    unsigned mode = o->mode ? o->mode : DEFAULT_MODE;
    int rc = smem__os_attach(r->obj); /* first, so that stat shows "initialising" */
    if (rc == 0)
        rc = smem__os_reset(r->obj, total, mode);
    if (rc == 0)
        rc = smem__os_map(r->obj, total, 0, &r->base);
    if (rc < 0) {
        r->base = NULL;
        smem__os_unlink(r->obj);
        return rc;
    }
    r->total = total;

    smem__hdr *h = r->base; /* zero-filled by the reset */
    h->magic = SMEM__MAGIC;
    h->layout = SMEM__LAYOUT;
    h->hdr_size = SMEM__HDR_SIZE;
    h->data_size = size;
    h->kind = (uint32_t)kind;
    h->flags = (o->flags & SMEM_PERSIST) ? SMEM__HDR_PERSIST : 0;
    h->created = smem__os_wall_seconds();
    h->check = hdr_check(h);
    smem__store_relaxed_u64(tail_of(r->base, size), SMEM__TAIL_MAGIC);

    void *data = (char *)r->base + SMEM__HDR_SIZE;
    if (o->init && o->init(data, size, o->init_arg) != 0) {
        unmap(r);
        smem__os_unlink(r->obj);
        return SMEM_ECANCELED;
    }
    /* Release: everything written above (header, tail, init's data) is
     * visible to whoever reads READY with acquire ordering. */
    smem__store_release_u32(&h->state, SMEM__STATE_READY);

    r->size = size;
    r->kind = kind;
    r->persistent = (h->flags & SMEM__HDR_PERSIST) != 0;
    r->created = 1;
    return 0;
}

/* Gate held: attach to the object if it is live, else (re)create it. */
static int settle(smem_region *r, size_t size, enum smem_kind kind, const smem_opts *o,
                  const smem__os_stat *st)
{
    int nocreate = (o->flags & (SMEM_NOCREATE | SMEM_RDONLY | SMEM_ANYKIND)) != 0;
    smem__hdr h;
    int look = load_header(r, st, (o->flags & SMEM_RDONLY) != 0, &h);
    if (look < 0 || !is_stale(look, &h, st)) {
        if (look == LOOK_UNFINISHED) /* unfinished with a user attached */
            look = SMEM_EBADREGION;
        if (look == LOOK_READY)
            look = attach_existing(r, &h, size, kind, o->flags);
        if (look < 0)
            unmap(r);
        return look;
    }
    unmap(r);
    if (nocreate) { /* a stale region counts as absent; clear it away */
        smem__os_unlink(r->obj);
        return SMEM_ENOENT;
    }
    if (size == 0)
        return SMEM_EINVAL;
    return create(r, size, kind, o);
}

static int64_t deadline_after(int timeout_ms)
{
    return smem__os_now_ns() + (int64_t)timeout_ms * 1000000;
}

static int check_opts(const smem_opts *o)
{
    if (o->flags & ~(unsigned)KNOWN_FLAGS)
        return SMEM_EINVAL;
    if ((o->flags & SMEM_EXCL) && (o->flags & (SMEM_NOCREATE | SMEM_RDONLY | SMEM_ANYKIND)))
        return SMEM_EINVAL; /* "create only" and "never create" at once */
    if (o->mode > 0777 || o->timeout_ms < 0)
        return SMEM_EINVAL;
    return 0;
}

int smem__region_open(const char *name, size_t size, enum smem_kind kind, const smem_opts *opts,
                      smem_region **out)
{
    static const smem_opts defaults;
    if (!out)
        return SMEM_EINVAL;
    *out = NULL;
    const smem_opts *o = opts ? opts : &defaults;
    int rc = smem_name_check(name);
    if (rc == 0)
        rc = check_opts(o);
    if (rc < 0)
        return rc;
    if (size > SMEM_SIZE_MAX)
        return SMEM_E2BIG;

    smem_region *r = calloc(1, sizeof *r);
    if (!r)
        return SMEM_ENOMEM;
    strcpy(r->name, name); /* length checked by smem_name_check */
    r->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    r->rdonly = (o->flags & SMEM_RDONLY) != 0;

    int nocreate = (o->flags & (SMEM_NOCREATE | SMEM_RDONLY | SMEM_ANYKIND)) != 0;
    unsigned how = (nocreate || size == 0) ? 0 : SMEM__OS_CREATE;
    if (o->flags & SMEM_RDONLY)
        how |= SMEM__OS_RDONLY;
    smem__os_stat st;
    rc = smem__os_acquire(name, how, o->mode ? o->mode : DEFAULT_MODE,
                          deadline_after(r->timeout_ms), &r->obj, &st);
    if (rc == SMEM_ENOENT && !nocreate && size == 0)
        rc = SMEM_EINVAL; /* it would have to be created, and size 0 cannot be */
    if (rc == 0) {
        rc = settle(r, size, kind, o, &st);
        if (rc == 0)
            smem__os_gate_unlock(r->obj);
        else
            smem__os_close(r->obj);
    }
    if (rc < 0) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int smem_region_open(const char *name, size_t size, const smem_opts *opts, smem_region **out)
{
    return smem__region_open(name, size, SMEM_KIND_REGION, opts, out);
}

void *smem_region_data(const smem_region *r)
{
    return r ? (char *)r->base + SMEM__HDR_SIZE : NULL;
}

size_t smem_region_size(const smem_region *r)
{
    return r ? r->size : 0;
}

int smem_region_created(const smem_region *r)
{
    return r ? r->created : 0;
}

const char *smem_region_name(const smem_region *r)
{
    return r ? r->name : NULL;
}

struct smem__os_obj *smem__region_obj(const smem_region *r)
{
    return r->obj;
}

int smem__region_timeout_ms(const smem_region *r)
{
    return r->timeout_ms;
}

int smem__region_rdonly(const smem_region *r)
{
    return r->rdonly;
}

const uint64_t *smem__region_tail(const smem_region *r)
{
    return tail_of(r->base, r->size);
}

int smem_region_named(const smem_region *r)
{
    return r ? smem__os_named(r->obj) : SMEM_EINVAL;
}

int smem_region_check(const smem_region *r)
{
    if (!r)
        return SMEM_EINVAL;
    return smem__region_shrunk(smem__region_tail(r)) ? SMEM_EBADREGION : 0;
}

void smem_region_close(smem_region *r)
{
    if (!r)
        return;
    unmap(r);
    /* If the gate cannot be had in time (a creator stuck in its init), the
     * region is left for the next opener or `gc`, which see it as stale. */
    if (!r->persistent && smem__os_gate_lock(r->obj, deadline_after(r->timeout_ms)) == 0 &&
        !smem__os_others_attached(r->obj))
        smem__os_unlink(r->obj);
    smem__os_close(r->obj);
    free(r);
}

int smem_region_remove(const char *name)
{
    int rc = smem_name_check(name);
    if (rc < 0)
        return rc;
    smem__os_obj *obj;
    smem__os_stat st;
    rc = smem__os_acquire(name, SMEM__OS_RDONLY, 0, deadline_after(DEFAULT_TIMEOUT_MS), &obj, &st);
    if (rc < 0)
        return rc;
    rc = smem__os_unlink(obj);
    smem__os_close(obj);
    return rc;
}

static int gc_one(const char *name, void *arg)
{
    int *removed = arg;
    if (smem_region_gc(name) == 1)
        (*removed)++;
    return 0;
}

int smem_region_gc(const char *name)
{
    if (!name) { /* every stale region of ours; what is not stale stays */
        int removed = 0;
        int rc = smem__os_list(gc_one, &removed);
        return rc < 0 ? rc : removed;
    }
    int rc = smem_name_check(name);
    if (rc < 0)
        return rc;
    smem_region r = {0};
    smem__os_stat st;
    /* No waiting: a gate that is busy means someone is using the region. */
    rc = smem__os_acquire(name, SMEM__OS_RDONLY, 0, deadline_after(0), &r.obj, &st);
    if (rc == SMEM_ETIMEDOUT)
        return 0;
    if (rc < 0)
        return rc;
    smem__hdr h;
    int look = load_header(&r, &st, 1, &h);
    unmap(&r);
    int removed = 0;
    if (look >= 0 && is_stale(look, &h, &st)) {
        rc = smem__os_unlink(r.obj);
        removed = rc == 0;
    } else if (look < 0) {
        rc = look;
    }
    smem__os_close(r.obj);
    return rc < 0 ? rc : removed;
}

/* ------------------------------------------------------------------------ */
/* Inspection                                                               */

/* What any region's file and header say; the figures of a kind are its
 * own layer's (inspect.c puts them together). */
int smem__region_stat(const char *name, smem_info *info, uint64_t kind_hdr[SMEM__KIND_HDR_WORDS])
{
    if (!info)
        return SMEM_EINVAL;
    memset(info, 0, sizeof *info);
    int rc = smem_name_check(name);
    if (rc < 0)
        return rc;
    strcpy(info->name, name);

    smem__os_stat st;
    struct {
        smem__hdr h;
        uint64_t data[SMEM__KIND_HDR_WORDS]; /* the start of the data: a kind's own header */
    } peek;
    smem__hdr h;
    uint64_t tail;
    rc = smem__os_peek(name, &st, &peek, sizeof peek, &tail);
    h = peek.h;
    if (rc == SMEM_ENOENT)
        return rc;
    info->uid = st.uid;
    info->mode = st.mode;
    info->in_use = st.others;
    info->users = st.others ? st.users : 0;
    info->memory = st.size;
    /* What the file has room for; a header that was written says better. */
    info->size = st.size > SMEM__HDR_SIZE + SMEM__TAIL_SIZE
                     ? (size_t)(st.size - SMEM__HDR_SIZE - SMEM__TAIL_SIZE)
                     : 0;
    int look = rc < 0 ? rc : look_at(&h, st.size);
    if (look == LOOK_READY && smem__region_shrunk(&tail))
        look = SMEM_EBADREGION;
    if (look < 0) {
        info->state = SMEM_STATE_BAD;
        info->error = look;
        if (look == SMEM_EVERSION)
            info->layout = h.layout;
        return 0;
    }
    if (h.magic == SMEM__MAGIC) { /* a header was written: it is checked */
        info->kind = (enum smem_kind)h.kind;
        info->size = (size_t)h.data_size;
        info->layout = h.layout;
        info->persistent = (h.flags & SMEM__HDR_PERSIST) != 0;
        info->created = h.created;
        memcpy(kind_hdr, peek.data, sizeof peek.data);
    }
    if (is_stale(look, &h, &st))
        info->state = SMEM_STATE_STALE;
    else if (look == LOOK_UNFINISHED)
        info->state = SMEM_STATE_INITIALISING;
    else
        info->state = SMEM_STATE_READY;
    return 0;
}
