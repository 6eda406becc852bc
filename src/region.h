/*
 * The region layer's internals, shared with the layers built on it.
 *
 * Every region starts with this 128-byte header; the usable bytes follow
 * it, then, 8-byte aligned, the tail: the object's last 8 bytes, which
 * hold SMEM__TAIL_MAGIC for as long as the object has its full size.
 * The first 16 bytes (magic, layout, header size) keep their meaning in
 * every layout version, so any version can recognise a region made by
 * another one and refuse it with SMEM_EVERSION instead of misreading it.
 *
 * Layout 2 added the tail, and moved the locks to a lock file beside the
 * region (os-posix.c): a library of layout 1 would neither see nor take
 * them, so it must not open these regions.  Layout 3 gave map records an
 * expiry and a recency mark, and the map header the cache's bookkeeping
 * (map-layout.h): a library of layout 2 would misread every record.
 * Layout 4 lets a map grow into table objects beside its region
 * (map-resize.c): a library of layout 3 would read the first table only,
 * and miss every change made since the map grew.
 */
#ifndef SMEM_REGION_H
#define SMEM_REGION_H

#include "sharedmem.h"
#include "atomics.h"

#include <stdint.h>

#define SMEM__MAGIC UINT64_C(0x4e4745524d454d53) /* "SMEMREGN" on little-endian */
#define SMEM__LAYOUT 4
#define SMEM__HDR_SIZE 128
#define SMEM__TAIL_SIZE 8
#define SMEM__TAIL_MAGIC UINT64_C(0x4c49415447455253) /* "SREGTAIL" on little-endian */

enum { SMEM__HDR_PERSIST = 1u << 0 }; /* smem__hdr.flags */

enum {                      /* smem__hdr.state */
    SMEM__STATE_INIT = 0,   /* being initialised (a zero-filled header reads as this) */
    SMEM__STATE_READY = 0x52454459, /* "READ"+"Y": initialised, usable */
};

typedef struct smem__hdr {
    uint64_t magic;     /*  0: SMEM__MAGIC, 0 until the creator writes the header */
    uint32_t layout;    /*  8: SMEM__LAYOUT */
    uint32_t hdr_size;  /* 12: SMEM__HDR_SIZE */
    uint64_t data_size; /* 16: usable bytes; then the tail (smem__region_tail) */
    uint32_t kind;      /* 24: enum smem_kind */
    uint32_t flags;     /* 28: SMEM__HDR_* */
    int64_t created;    /* 32: seconds since 1970 */
    uint64_t check;     /* 40: smem__hdr_check() of bytes 0..39 */
    uint32_t state;     /* 48: SMEM__STATE_*, written with a release store */
    uint8_t reserved[SMEM__HDR_SIZE - 52];
} smem__hdr;

_Static_assert(sizeof(smem__hdr) == SMEM__HDR_SIZE, "header size is part of the layout");

/* Opens a region of the given kind; smem_region_open is this with
 * SMEM_KIND_REGION.  SMEM_ANYKIND in opts->flags accepts any kind. */
int smem__region_open(const char *name, size_t size, enum smem_kind kind, const smem_opts *opts,
                      smem_region **out);

/*
 * Inspection without opening: what the file and the header of the region
 * NAME say (smem_region_stat without a kind's figures).  If a header was
 * written (info->kind is not SMEM_KIND_UNKNOWN), KIND_HDR gets a copy of
 * the first bytes of its data, where each kind keeps its own header; they
 * may hold anything, and a kind's figures check them (inspect.c).
 */
#define SMEM__KIND_HDR_WORDS 16
int smem__region_stat(const char *name, smem_info *info, uint64_t kind_hdr[SMEM__KIND_HDR_WORDS]);

/* For the layers built on regions. */
struct smem__os_obj *smem__region_obj(const smem_region *r);
int smem__region_timeout_ms(const smem_region *r);
int smem__region_rdonly(const smem_region *r);
/*
 * Shrinking.  Anyone who may write a region's file may truncate it.  The
 * OS layer then maps zeros over what faults (os.h, smem__os_map), and what
 * is left of a partial last page reads as zeros too: either way the tail,
 * the object's last 8 bytes, no longer holds SMEM__TAIL_MAGIC.  Handles
 * keep smem__region_tail at hand and check it after they touched the
 * memory, so that nothing read from the zeros escapes: SMEM_EBADREGION.
 * A relaxed load is enough: the truncation's unmapping reaches every CPU
 * before ftruncate returns, so a call that starts after it sees zeros; a
 * call that overlaps it may see either, and the next one sees zeros.
 */
const uint64_t *smem__region_tail(const smem_region *r);

static inline int smem__region_shrunk(const uint64_t *tail)
{
    return smem__load_relaxed_u64(tail) != SMEM__TAIL_MAGIC;
}

#endif
