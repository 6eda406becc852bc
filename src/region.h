/*
 * The region layer's internals, shared with the layers built on it.
 *
 * Every region starts with this 128-byte header; the usable bytes follow
 * it.  The first 16 bytes (magic, layout, header size) keep their meaning
 * in every layout version, so any version can recognise a region made by
 * another one and refuse it with SMEM_EVERSION instead of misreading it.
 */
#ifndef SMEM_REGION_H
#define SMEM_REGION_H

#include "sharedmem.h"

#include <stdint.h>

#define SMEM__MAGIC UINT64_C(0x4e4745524d454d53) /* "SMEMREGN" on little-endian */
#define SMEM__LAYOUT 1
#define SMEM__HDR_SIZE 128

enum { SMEM__HDR_PERSIST = 1u << 0 }; /* smem__hdr.flags */

enum {                      /* smem__hdr.state */
    SMEM__STATE_INIT = 0,   /* being initialised (a zero-filled header reads as this) */
    SMEM__STATE_READY = 0x52454459, /* "READ"+"Y": initialised, usable */
};

typedef struct smem__hdr {
    uint64_t magic;     /*  0: SMEM__MAGIC, 0 until the creator writes the header */
    uint32_t layout;    /*  8: SMEM__LAYOUT */
    uint32_t hdr_size;  /* 12: SMEM__HDR_SIZE */
    uint64_t data_size; /* 16: usable bytes; the object is hdr_size + data_size bytes */
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

/* For the layers built on regions. */
struct smem__os_obj *smem__region_obj(const smem_region *r);
int smem__region_timeout_ms(const smem_region *r);
int smem__region_rdonly(const smem_region *r);
/* 1 if R's file was shrunk under it by another process: its memory reads
 * as zeros since, and every call on a handle built on R must give
 * SMEM_EBADREGION (os.h: smem__os_lost).  Cheap: one load. */
int smem__region_lost(const smem_region *r);

/* The word behind smem__region_lost, for handles that check it on every
 * call (os.h: smem__os_lost_word); load it with smem__load_acquire_int. */
const int *smem__region_lost_word(const smem_region *r);

#endif
