/*
 * sharedmem — named shared memory between processes.
 *
 * A region is a named block of memory that every process on the host can
 * open by name.  The first process to open a new name creates and
 * initialises it; the others attach to the same bytes.  The region goes away
 * when its last user closes it or dies, unless it was created persistent.
 *
 * Conventions of this header:
 *   - Every function that can fail returns int: 0 (or a non-negative count)
 *     on success, a negative SMEM_E* code on failure.
 *   - A handle may be used from any thread.  Fork: a handle inherited
 *     across fork() works in the child for everything the parent can do
 *     with it, writes included.  From the fork on, the child is a user of
 *     the region of its own: it keeps the region alive while it lives,
 *     stops counting as one the moment it exits or is killed, and a write
 *     it dies in is taken over like any other.  Parent and child each
 *     close their own copy; neither close affects the other.
 *   - This header includes no operating-system header.
 */
#ifndef SHAREDMEM_H
#define SHAREDMEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SMEM_VERSION_MAJOR 0
#define SMEM_VERSION_MINOR 1
#define SMEM_VERSION_PATCH 0
#define SMEM_VERSION_STRING "0.1.0"

#if defined(_WIN32) && defined(SMEM_SHARED_BUILD)
#define SMEM_API __declspec(dllexport)
#elif defined(_WIN32) && !defined(SMEM_STATIC)
#define SMEM_API __declspec(dllimport)
#elif defined(__GNUC__)
#define SMEM_API __attribute__((visibility("default")))
#else
#define SMEM_API
#endif

/*
 * Error codes.  The system codes have the same values on every platform and
 * equal -errno on Linux (the build checks this).  Library codes live in
 * their own range.  Codes are only ever appended, never renumbered.
 *
 * XX(name, value, message).  SMEM_ERROR_MAP lists every code: the system
 * ones (SMEM_ERRNO_MAP) and the library's own (SMEM_LIBERR_MAP).
 */
#define SMEM_ERROR_MAP(XX) SMEM_ERRNO_MAP(XX) SMEM_LIBERR_MAP(XX)

#define SMEM_ERRNO_MAP(XX)                                                     \
    XX(EPERM, -1, "operation not permitted")                                   \
    XX(ENOENT, -2, "no such region")                                           \
    XX(EINTR, -4, "interrupted")                                               \
    XX(EIO, -5, "input/output error")                                          \
    XX(E2BIG, -7, "too large")                                                 \
    XX(EBADF, -9, "bad handle")                                                \
    XX(EAGAIN, -11, "resource temporarily unavailable")                        \
    XX(ENOMEM, -12, "out of memory")                                           \
    XX(EACCES, -13, "permission denied")                                       \
    XX(EBUSY, -16, "in use")                                                   \
    XX(EEXIST, -17, "region already exists")                                   \
    XX(ENOTDIR, -20, "not a directory")                                        \
    XX(EISDIR, -21, "is a directory")                                          \
    XX(EINVAL, -22, "invalid argument")                                        \
    XX(ENFILE, -23, "too many open files in the system")                       \
    XX(EMFILE, -24, "too many open files")                                     \
    XX(EFBIG, -27, "file too large")                                           \
    XX(ENOSPC, -28, "no space left for shared memory")                         \
    XX(EROFS, -30, "read-only file system")                                    \
    XX(ERANGE, -34, "result out of range")                                     \
    XX(ENAMETOOLONG, -36, "name too long")                                     \
    XX(ENOSYS, -38, "function not implemented")                                \
    XX(ELOOP, -40, "is a symbolic link")                                       \
    XX(EOVERFLOW, -75, "value too large for defined data type")                \
    XX(ENOTSUP, -95, "operation not supported")                                \
    XX(ETIMEDOUT, -110, "timed out")                                           \
    XX(ECANCELED, -125, "cancelled by the init callback")

#define SMEM_LIBERR_MAP(XX)                                                    \
    XX(EBADREGION, -1001, "not a sharedmem region, or its header is damaged") \
    XX(EVERSION, -1002, "made by an incompatible sharedmem layout version")    \
    XX(EMISMATCH, -1003, "exists with another size or kind")                  \
    XX(EFULL, -1004, "the map is full")                                        \
    XX(ECHANGED, -1005, "changed since its version was read")

enum {
#define SMEM__ERR_ENUM(name, value, msg) SMEM_##name = (value),
    SMEM_ERROR_MAP(SMEM__ERR_ENUM)
#undef SMEM__ERR_ENUM
};

/* A message for any code ("unknown error" for codes this version does not
 * know).  Never NULL; the string is static. */
SMEM_API const char *smem_strerror(int err);

/* The code's symbolic name, e.g. "SMEM_ENOENT"; "SMEM_E?" for unknown codes. */
SMEM_API const char *smem_err_name(int err);

/* The library's version as "MAJOR.MINOR.PATCH"; compare with
 * SMEM_VERSION_STRING to detect a header/library mismatch. */
SMEM_API const char *smem_version(void);

/* ------------------------------------------------------------------------ */
/* Regions                                                                  */

typedef struct smem_region smem_region; /* opaque */

enum { /* smem_opts.flags */
    SMEM_NOCREATE = 1 << 0, /* open an existing region only; missing -> SMEM_ENOENT */
    SMEM_EXCL = 1 << 1,     /* create a new region only; existing -> SMEM_EEXIST */
    SMEM_PERSIST = 1 << 2,  /* keep the region after its last user is gone, until removed */
    SMEM_RDONLY = 1 << 3,   /* map read-only; never creates (implies SMEM_NOCREATE) */
    SMEM_ANYKIND = 1 << 4,  /* attach to an existing region of any kind (a value, a map):
                               implies SMEM_NOCREATE; used by tools such as `sharedmem hold` */
    SMEM_EVICT = 1 << 5,    /* maps only: a new map evicts to make room for a new key when full
                               instead of SMEM_EFULL (see smem_map_put) */
    SMEM_GROW = 1 << 6,     /* maps only: a new map doubles its max_entries (smem_map_resize)
                               when a new key finds it full, and its max_value when a value is
                               longer, instead of SMEM_EFULL or SMEM_E2BIG */
};

typedef struct smem_opts { /* all-zero (or a NULL pointer) means the defaults */
    unsigned flags;
    unsigned mode;  /* permission bits of a new region; 0 means 0600 */
    int timeout_ms; /* how long to wait for another process still initialising; 0 means 5000 */
    int (*init)(void *data, size_t size, void *arg); /* run by the creator before anyone else can
                                                        use the region; nonzero return aborts the create */
    void *init_arg;
} smem_opts;

/* The largest usable size a region can have. */
#define SMEM_SIZE_MAX ((size_t)1 << 40)
/* Names: 1 to SMEM_NAME_MAX characters from [A-Za-z0-9._-], the first a
 * letter or digit. */
#define SMEM_NAME_MAX 64

/*
 * Opens the region NAME, creating it if it does not exist (unless
 * SMEM_NOCREATE).  SIZE counts usable bytes: it must be nonzero to create;
 * 0 accepts the size of an existing region; any other size that differs
 * from the existing one gives SMEM_EMISMATCH.
 *
 * The creator reserves the memory (a full shared-memory file system gives
 * SMEM_ENOSPC here, never a SIGBUS later), zero-fills it, and runs
 * opts->init if given, all before any other process can attach: they wait
 * up to opts->timeout_ms and then give SMEM_ETIMEDOUT.  If init returns
 * nonzero, the region is removed and the open fails with SMEM_ECANCELED.
 * If the creator dies while initialising, the next opener initialises.
 *
 * A region whose users all exited or were killed, and that is not
 * persistent, is stale: the next open creates it anew.
 *
 * On success *out is a handle to close with smem_region_close.  On failure
 * *out is NULL and nothing is left behind.  Thread-safe.
 */
SMEM_API int smem_region_open(const char *name, size_t size, const smem_opts *opts,
                              smem_region **out);

/* The usable bytes (aligned to at least 64 bytes); the library's header is
 * not part of them. */
SMEM_API void *smem_region_data(const smem_region *r);
SMEM_API size_t smem_region_size(const smem_region *r);

/* 1 if this open created and initialised the region (the seed's fInit),
 * else 0. */
SMEM_API int smem_region_created(const smem_region *r);

/* The region's name as given to smem_region_open. */
SMEM_API const char *smem_region_name(const smem_region *r);

/* 0 while the region's memory is sound; SMEM_EBADREGION once another
 * process has shrunk its file (ftruncate) under this handle.  The library
 * then maps zeros over the region instead of letting an access die of
 * SIGBUS, so reading smem_region_data stays safe but means nothing: a
 * program that reads raw bytes it cannot check calls this after reading.
 * Values and maps check it themselves on every call. */
SMEM_API int smem_region_check(const smem_region *r);

/* 1 while the region's name still leads to this region; 0 once it was
 * removed (smem_region_remove, `sharedmem rm`), or removed and made again
 * (a new region under the same name), or renamed; a negative code if it
 * cannot be told.  The handle keeps working either way: this is for
 * programs that follow a name, such as `sharedmem watch`.  One fstat and
 * one stat.  On Windows a name cannot be removed while it is open: 1. */
SMEM_API int smem_region_named(const smem_region *r);

/* Unmaps the region and frees the handle.  If this was the last user of a
 * region that is not persistent, the region is removed.  NULL is a no-op. */
SMEM_API void smem_region_close(smem_region *r);

/* Removes the name NAME.  Processes that have it open keep their memory
 * until they close it; the next open of NAME creates a new region.
 * Removes only our own regions (SMEM_EACCES otherwise).  Missing NAME gives
 * SMEM_ENOENT. */
SMEM_API int smem_region_remove(const char *name);

/* Checks a name against the grammar: 0, SMEM_EINVAL or SMEM_ENAMETOOLONG. */
SMEM_API int smem_name_check(const char *name);

/* ------------------------------------------------------------------------ */
/* Values: a region holding one value of up to `capacity` bytes.           */

typedef struct smem_value smem_value;

/* The largest capacity a value can have. */
#define SMEM_VALUE_MAX ((size_t)1 << 30)

/*
 * Opens the value NAME, creating it if needed, like smem_region_open (same
 * options, except that opts->init must be NULL and SMEM_ANYKIND is not
 * allowed: SMEM_EINVAL; a new value is empty, with version 0, until its
 * first set).  CAPACITY is the largest value it
 * holds: nonzero to create; 0 accepts an existing value's capacity; any
 * other capacity than the existing one gives SMEM_EMISMATCH, and so does a
 * region of another kind.  A capacity above SMEM_VALUE_MAX is SMEM_E2BIG.
 * Thread-safe.
 */
SMEM_API int smem_value_open(const char *name, size_t capacity, const smem_opts *opts,
                             smem_value **out);

/*
 * Replaces the whole value with LEN bytes from DATA (DATA may be NULL when
 * LEN is 0).  Every reader sees the old value or the new one, whole.
 * LEN > capacity gives SMEM_E2BIG and changes nothing.  Writers in all
 * processes are serialised; one killed in the middle of a set delays the
 * next writer by a moment and readers not at all.  A writer that stays
 * alive inside set (stopped by a debugger) makes others wait up to the
 * open's timeout_ms, then give SMEM_ETIMEDOUT.  A set that overwrites a
 * large value (16 KiB or more) soon after it went out of date first waits
 * until it has been out of date for three times as long as copying it in
 * took, for no less than copying it at 1 GB/s would take, and for as long
 * as a reader that kept losing the race asked for (10 ms at most), so that
 * readers copying it can finish: writers setting large values back to back
 * slow down rather than starve readers.  (A read-only handle cannot ask.)  SMEM_EBADF on a
 * read-only handle.  Thread-safe.
 */
SMEM_API int smem_value_set(smem_value *v, const void *data, size_t len);

/*
 * Copies the value into BUF (BUFSIZE bytes) and sets *LEN to its length and
 * *VERSION to its version (0: never set; every set makes it larger); LEN
 * and VERSION may be NULL.  If BUFSIZE is too small it returns SMEM_E2BIG
 * with *LEN set to the size needed.  Takes no lock and never waits for a
 * writer: if a value it is copying is overwritten under it (possible only
 * when two sets complete during one copy), it copies the newer one.  If
 * the region's bytes were scribbled on by another process it returns
 * SMEM_EBADREGION, or SMEM_EAGAIN after the open's timeout_ms if they keep
 * a copy from ever completing, rather than anything invalid.  Thread-safe.
 */
SMEM_API int smem_value_get(smem_value *v, void *buf, size_t bufsize, size_t *len,
                            uint64_t *version);

/* The current version alone (0 if never set, or if the region is damaged);
 * cheaper than a get. */
SMEM_API uint64_t smem_value_version(smem_value *v);

/*
 * Waits until the version differs from SEEN: returns 0 at once if it
 * already does, else as soon as a set (in any process) changes it, or
 * SMEM_ETIMEDOUT after TIMEOUT_MS milliseconds (-1: no limit).  Spins for
 * a few microseconds, then sleeps in the kernel, where a set wakes it.  A
 * read-only handle (SMEM_RDONLY) cannot ask setters for a wake-up, so while
 * it sleeps it looks again every millisecond.  A damaged region gives the
 * error smem_value_get would give.  Thread-safe.
 */
SMEM_API int smem_value_wait(smem_value *v, uint64_t seen, int timeout_ms);

/* The capacity, and whether this open created the value. */
SMEM_API size_t smem_value_capacity(const smem_value *v);
SMEM_API int smem_value_created(const smem_value *v);

/* smem_region_named for the value's region. */
SMEM_API int smem_value_named(const smem_value *v);

/* Detaches; the last user of a non-persistent value removes it.  NULL is a
 * no-op. */
SMEM_API void smem_value_close(smem_value *v);

/* ------------------------------------------------------------------------ */
/* Maps: many named values in one region.                                  */

typedef struct smem_map smem_map;

/* Keys are NUL-terminated strings of 1 to SMEM_MAP_KEY_MAX bytes (any
 * bytes but NUL).  A map holds at most SMEM_MAP_ENTRIES_MAX entries of at
 * most SMEM_MAP_VALUE_MAX bytes each. */
#define SMEM_MAP_KEY_MAX 64
#define SMEM_MAP_ENTRIES_MAX ((size_t)1 << 30)
#define SMEM_MAP_VALUE_MAX ((size_t)1 << 20)

/*
 * Opens the map NAME, creating it if needed, like smem_value_open (same
 * options: opts->init must be NULL and SMEM_ANYKIND is not allowed).  A
 * new map holds up to MAX_ENTRIES keys with values of up to MAX_VALUE
 * bytes (MAX_VALUE may be 0: keys alone), until smem_map_resize.  Attaching
 * with 0 for both accepts the existing figures; any other figures than the
 * existing ones (those it was created with, or its current ones), or a
 * region of another kind, give SMEM_EMISMATCH.
 * MAX_ENTRIES of 0 when creating is SMEM_EINVAL; figures above the limits
 * above, or a map larger than SMEM_SIZE_MAX, are SMEM_E2BIG.  SMEM_EVICT
 * (maps only) makes a new map evict when full (see smem_map_put); asking
 * it of an existing map created without it is SMEM_EMISMATCH, while an
 * open without it attaches to either kind.  Thread-safe.
 */
SMEM_API int smem_map_open(const char *name, size_t max_entries, size_t max_value,
                           const smem_opts *opts, smem_map **out);

/*
 * Makes the map hold up to MAX_ENTRIES keys with values of up to
 * MAX_VALUE bytes, while other processes keep it open and keep reading
 * and writing: the entries move to a new table under the writer lock,
 * readers never wait and never miss an entry, and every other handle
 * follows on its next call.  Neither figure may shrink (SMEM_EINVAL);
 * the same figures are a no-op; beyond the limits SMEM_E2BIG.  A writer
 * killed at any instant of the move leaves the old table or the new one
 * whole, and the next writer finishes or undoes the move.  After a
 * resize, smem_map_open accepts both the figures the map was created
 * with and its current ones.  SMEM_EBADF on a read-only handle,
 * SMEM_ENOSPC if the memory cannot be had, SMEM_ENOTSUP on Windows
 * (not built there yet).  See SMEM_GROW for growth on demand.
 */
SMEM_API int smem_map_resize(smem_map *m, size_t max_entries, size_t max_value);

/*
 * Inserts KEY or replaces its value with LEN bytes from VAL (VAL may be
 * NULL when LEN is 0).  Readers see the old value or the new one, whole.
 * LEN > max_value gives SMEM_E2BIG, and a new key in a full map
 * SMEM_EFULL; neither changes anything.  A bad key is SMEM_EINVAL (NULL or
 * empty) or SMEM_ENAMETOOLONG (over SMEM_MAP_KEY_MAX bytes).  Writers in
 * all processes are serialised; one killed at any instant leaves every
 * other entry intact, and the entry it was writing with its old value or
 * its new one.  SMEM_EBADF on a read-only handle, and
 * SMEM_ETIMEDOUT as for smem_value_set.  Thread-safe; so are all the calls
 * below.
 */
SMEM_API int smem_map_set(smem_map *m, const char *key, const void *val, size_t len);

/*
 * Copies KEY's value into BUF (BUFSIZE bytes) and sets *LEN to its length
 * and *VERSION to its version; LEN and VERSION may be NULL.  SMEM_E2BIG
 * with *LEN set when BUFSIZE is too small; SMEM_ENOENT (with *LEN and
 * *VERSION 0) when KEY is absent.  Takes no lock and never returns a torn
 * value, another key's value, or a deleted one.  A damaged region gives
 * SMEM_EBADREGION.  A reader that keeps losing the race to writers of the
 * same part of the map (64 times running) reads under the writer lock
 * instead, so it cannot be starved, and may then wait like a writer
 * (SMEM_ETIMEDOUT); a read-only handle cannot take the lock, and gives
 * SMEM_EAGAIN if it keeps losing until the open's timeout_ms.
 */
SMEM_API int smem_map_get(smem_map *m, const char *key, void *buf, size_t bufsize, size_t *len,
                          uint64_t *version);

/* Removes KEY: 0, or SMEM_ENOENT if absent. */
SMEM_API int smem_map_del(smem_map *m, const char *key);

/* Inserts KEY only if it is absent: SMEM_EEXIST (nothing changed) if not. */
SMEM_API int smem_map_add(smem_map *m, const char *key, const void *val, size_t len);

/*
 * Sets KEY only if its version is still VERSION (0: only if KEY is
 * absent); otherwise SMEM_ECHANGED and nothing changes.
 */
SMEM_API int smem_map_cas(smem_map *m, const char *key, uint64_t version, const void *val,
                          size_t len);

/*
 * Adds DELTA to the counter KEY, whose value is the decimal text of a
 * signed 64-bit integer ("-12"; an absent key counts as 0), stores the sum
 * the same way and sets *RESULT to it (RESULT may be NULL).  A value that
 * is not such a number is SMEM_EINVAL, a sum out of range SMEM_ERANGE, and
 * a sum too long for max_value SMEM_E2BIG; none changes anything.
 */
SMEM_API int smem_map_incr(smem_map *m, const char *key, int64_t delta, int64_t *result);

/*
 * Every change to a map (set, add, put, cas, incr, incr_ex, expire, del,
 * flush) takes the next number of its map-wide version, which is also the
 * new version of the key it changed: versions only grow, per key and per
 * map, and a deleted and re-inserted key never gets an old version back.
 * An absent (or expired) key's version is 0.  smem_map_version returns the map-wide version (0 if never changed).
 */
SMEM_API uint64_t smem_map_version(smem_map *m);

/*
 * Waits until KEY's version differs from SEEN (KEY NULL: until the map-wide
 * version does): 0 at once if it already does, else as soon as a change in
 * any process makes it so, or SMEM_ETIMEDOUT after TIMEOUT_MS (-1: no
 * limit).  Spins for a few microseconds, then sleeps; every change to the
 * map wakes its sleepers, and those waiting for another key sleep again.
 * A read-only handle looks again every millisecond, as smem_value_wait.
 */
SMEM_API int smem_map_wait(smem_map *m, const char *key, uint64_t seen, int timeout_ms);

/*
 * Calls FN with a consistent private copy of each live entry (KEY is
 * NUL-terminated, VAL has LEN bytes), in no particular order, until FN
 * returns nonzero.  FN may call any map function.  Each entry is visited at
 * most once; one present for the whole walk is visited, one inserted or
 * deleted during it may or may not be.  Returns the number of entries
 * visited, or a negative code (SMEM_ENOMEM, SMEM_EBADREGION, SMEM_EAGAIN).
 */
SMEM_API int smem_map_foreach(smem_map *m,
                              int (*fn)(const char *key, const void *val, size_t len,
                                        uint64_t version, void *arg),
                              void *arg);

/* The number of live entries (present and not expired), or a negative
 * code.  One load, unless an entry may have expired and not been
 * reclaimed yet (see "Maps as caches" below): then a walk of the map. */
SMEM_API int smem_map_count(smem_map *m);

/* ------------------------------------------------------------------------ */
/* Maps as caches: expiry, eviction, statistics.                           */

/*
 * Expiry: an entry may have a time to live.  It expires on a clock that
 * every process of the host shares (CLOCK_MONOTONIC on Linux, the
 * performance counter on Windows: both count from boot), in milliseconds.
 * An expired entry is absent at once for get, foreach, count, wait and
 * every change, with no thread sweeping; its record stays where it is, and
 * smem_map_get_stale still finds it, until a writer reclaims it: a write
 * of that key, a new key in a full map (which reclaims an expired entry
 * before anything else), or the sweep of every change but flush, which
 * looks at the next 4 records (and 4 more after each expired entry it
 * reclaims, up to 2) while any entry may have expired.  Expiring, and reclaiming, is not a change: it takes no
 * version.  smem_map_wait on a key wakes when the key expires;
 * a wait on the whole map wakes only when a writer changes the map.
 *
 * Eviction (SMEM_EVICT at creation): a new key in a full map first
 * reclaims an expired entry, if there is one anywhere, and otherwise
 * evicts the live entry that CLOCK chooses: a hand goes round the records;
 * one read since the hand last passed it gets a second chance (the hand
 * clears its mark and goes on), the first one not read is evicted.  A get
 * marks the entry it found, with one store only if the mark was clear;
 * gets through a read-only handle cannot mark.  A map created without
 * SMEM_EVICT still reclaims expired entries, then gives SMEM_EFULL.
 */
#define SMEM_PUT_NX 0x1u      /* only if absent (like add): SMEM_EEXIST if present */
#define SMEM_PUT_XX 0x2u      /* only if present: SMEM_ENOENT if absent */
#define SMEM_PUT_KEEPTTL 0x4u /* a replace keeps the key's expiry (a new key gets ttl_ms) */

/* The longest time to live (about 285,000 years); longer is SMEM_ERANGE. */
#define SMEM_TTL_MAX_MS ((uint64_t)1 << 53)

typedef struct smem_put {
    uint64_t ttl_ms; /* 0: never expires */
    unsigned flags;  /* SMEM_PUT_* */
} smem_put;

/*
 * smem_map_set with options (HOW NULL: those of smem_map_set, which gives
 * an entry no expiry).  *EVICTED (EVICTED may be NULL) is set to the
 * number of live, unexpired entries evicted to make room: 0, or 1 in an
 * evicting map that was full of live entries (even if the put then found
 * the map damaged and failed: the eviction happened).  NX and XX together, or an
 * unknown flag, are SMEM_EINVAL.  An evicted entry is either fully present
 * or fully gone, even if the writer is killed in the middle.
 */
SMEM_API int smem_map_put(smem_map *m, const char *key, const void *val, size_t len,
                          const smem_put *how, int *evicted);

/* Gives KEY a new time to live (TTL_MS from now; 0: never expires).  A
 * change, with a new version.  SMEM_ENOENT if KEY is absent or expired. */
SMEM_API int smem_map_expire(smem_map *m, const char *key, uint64_t ttl_ms);

/* Sets *MS_LEFT to the milliseconds before KEY expires (at least 1), or -1
 * if it never does.  SMEM_ENOENT if absent or expired. */
SMEM_API int smem_map_ttl(smem_map *m, const char *key, int64_t *ms_left);

/* smem_map_get that also finds an expired entry whose record was not
 * reclaimed yet: then *STALE (may be NULL) is 1, else 0. */
SMEM_API int smem_map_get_stale(smem_map *m, const char *key, void *buf, size_t bufsize,
                                size_t *len, uint64_t *version, int *stale);

/* smem_map_incr, except that an absent (or expired) KEY starts from INIT
 * and gets a time to live of INIT_TTL_MS (0: none); a present key keeps its
 * expiry.  (smem_map_incr is this with INIT 0 and no time to live; cas and
 * incr keep a key's expiry, set and add give none.) */
SMEM_API int smem_map_incr_ex(smem_map *m, const char *key, int64_t delta, int64_t init,
                              uint64_t init_ttl_ms, int64_t *result);

/* Removes every entry, as one change (one new version).  Readers see each
 * entry present or gone; one killed in the middle leaves some gone. */
SMEM_API int smem_map_flush(smem_map *m);

/*
 * Statistics.  Writers count sets (set, add, put, cas, incr, incr_ex; not
 * expire),
 * deletes (del; flush counts each entry it removes), evictions (live
 * entries evicted) and expirations (expired entries reclaimed) in the map,
 * exactly, but for the change of a writer killed in its middle, which may
 * go uncounted.
 * Gets (get and get_stale; a stale find is a miss) are counted by each
 * handle in its own memory and added to the map's totals every 256 gets and
 * at close, so that no get writes a shared line: the totals lack fewer than
 * 256 gets of each other handle still open (and of each process killed),
 * and include this handle's own.  A handle counts with a plain load and
 * store, not an atomic add (which would cost more than a cached get):
 * threads that get through one handle at the same instant may lose a
 * count; a handle per thread counts exactly.  A forked child that goes on using a handle
 * may count its parent's last (fewer than 256) gets again.  A read-only
 * handle cannot add to the totals: its gets show in its own stats only.
 */
struct smem_map_stats {
    uint64_t hits, misses;   /* gets that found / did not find a live entry */
    uint64_t sets, deletes;
    uint64_t evictions, expirations;
    uint64_t entries, max_entries, bytes; /* now: live entries, the capacity, and the key
                                             and value bytes of every entry held (live
                                             or expired but not reclaimed) */
    uint64_t stale;          /* now: expired entries not reclaimed yet */
    int evicting;            /* created with SMEM_EVICT */
};

/* Fills *OUT: a walk of the map only when an entry may have expired (as for
 * smem_map_count), else a few loads.  (The struct has no typedef: in C a
 * typedef and a function cannot share the name smem_map_stats, so write
 * `struct smem_map_stats s; smem_map_stats(m, &s);`.) */
SMEM_API int smem_map_stats(smem_map *m, struct smem_map_stats *out);

/* One entry as smem_map_walk hands it over (a private copy). */
typedef struct smem_map_entry {
    const char *key; /* NUL-terminated */
    const void *val;
    size_t len;
    uint64_t version;
    int64_t ms_left; /* -1: never expires; 0: expired (only with SMEM_WALK_STALE) */
} smem_map_entry;

#define SMEM_WALK_STALE 0x1u /* also visit expired entries not reclaimed yet */

/* smem_map_foreach with each entry's expiry, and with SMEM_WALK_STALE the
 * expired entries too. */
SMEM_API int smem_map_walk(smem_map *m, unsigned flags,
                           int (*fn)(const smem_map_entry *e, void *arg), void *arg);

/* The map's current figures (raised by smem_map_resize), and whether
 * this open created the map. */
SMEM_API size_t smem_map_max_entries(const smem_map *m);
SMEM_API size_t smem_map_max_value(const smem_map *m);
SMEM_API int smem_map_created(const smem_map *m);

/* smem_region_named for the map's region. */
SMEM_API int smem_map_named(const smem_map *m);

/* Detaches; the last user of a non-persistent map removes it.  NULL is a
 * no-op. */
SMEM_API void smem_map_close(smem_map *m);

/* ------------------------------------------------------------------------ */
/* Inspection (for tools): looks at regions without attaching to them.      */

enum smem_kind {
    SMEM_KIND_UNKNOWN = 0, /* not readable, or not a sharedmem region */
    SMEM_KIND_REGION = 1,  /* raw bytes: smem_region_open */
    SMEM_KIND_VALUE = 2,   /* a value: smem_value_open */
    SMEM_KIND_MAP = 3,     /* a map: smem_map_open */
};
/* The kinds of this library are SMEM_KIND_REGION to SMEM_KIND_LAST; a header
 * that names any other is damaged (SMEM_STATE_BAD, SMEM_EBADREGION). */
#define SMEM_KIND_LAST SMEM_KIND_MAP

enum smem_state {
    SMEM_STATE_READY = 0,        /* usable */
    SMEM_STATE_INITIALISING = 1, /* its creator is still initialising it */
    SMEM_STATE_STALE = 2,        /* no user and not persistent, or its creator died:
                                    the next open re-creates it; `gc` removes it */
    SMEM_STATE_BAD = 3,          /* not usable: see smem_info.error */
};

typedef struct smem_info {
    char name[SMEM_NAME_MAX + 1];
    enum smem_kind kind;
    enum smem_state state;
    int error;          /* for SMEM_STATE_BAD: why (SMEM_EBADREGION, SMEM_EVERSION,
                           SMEM_EACCES for another user's object, SMEM_ELOOP for
                           a symbolic link, ...); else 0 */
    size_t size;        /* usable bytes (0 if unknown) */
    size_t capacity;    /* a value's capacity, or a map's max_entries (0 for regions,
                           or if unknown) */
    size_t entries;     /* a map's entries held: live, or expired and not reclaimed yet
                           (smem_map_count counts live ones); 0 for other kinds, or if
                           unknown */
    size_t max_value;   /* a map's max_value (0 for other kinds, or if unknown) */
    unsigned layout;    /* layout version found in the header */
    int persistent;     /* 1 if kept without users */
    int in_use;         /* 1 if at least one process has it open */
    unsigned uid;       /* owner */
    unsigned mode;      /* permission bits */
    int64_t created;    /* creation time, seconds since 1970 (0 if unknown) */
    uint64_t memory;    /* bytes of memory it takes: header, data and tail (the
                           object's size) */
    int users;          /* how many opens (handles, in any process) have it open,
                           or -1 if the system does not say; in_use is users != 0 */
} smem_info;

/* Fills *info for the region NAME.  SMEM_ENOENT if there is no such object;
 * an object that exists but is not a usable region still gives 0, with
 * info->state SMEM_STATE_BAD and info->error saying why. */
SMEM_API int smem_region_stat(const char *name, smem_info *info);

/* Calls fn for each object that has a region name, in no particular order,
 * until fn returns nonzero.  Returns the number of objects visited, or a
 * negative code if the list could not be read. */
SMEM_API int smem_region_list(int (*fn)(const smem_info *info, void *arg), void *arg);

/* Removes NAME if it is stale (see SMEM_STATE_STALE), deciding under the
 * same lock that openers take, so it never removes a region that someone is
 * attaching to.  Returns 1 if removed, 0 if not stale, or a negative code
 * (SMEM_EBADREGION for a damaged region: remove it with smem_region_remove;
 * SMEM_EACCES for another user's file; SMEM_ELOOP for a symbolic link).
 * With NAME NULL, does the same for every region of the calling user and
 * returns how many it removed: only regions whose users all died go, but
 * those of every program, so a test suite passes only names it made. */
SMEM_API int smem_region_gc(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* SHAREDMEM_H */
