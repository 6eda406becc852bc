/*
 * common.h — what the files of the CPython module `sharedmem` share: the
 * module state (the exception classes and the types), the head every
 * object starts with (its handle and the bookkeeping that lets close() run
 * while another thread is inside a call without the GIL), and the helpers
 * of util.c (errors, keys, values, times, argument parsing).
 *
 * The module is written against the stable ABI of CPython 3.11
 * (Py_LIMITED_API 0x030B0000): heap types from specs, module state, no
 * private API, so that one sharedmem.abi3.so loads into 3.11 and later.
 */
#ifndef SMEMPY_COMMON_H
#define SMEMPY_COMMON_H

#ifndef Py_LIMITED_API
#define Py_LIMITED_API 0x030B0000
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include "sharedmem.h"

/* Gets read into a buffer of this size on the stack first (with the GIL:
 * releasing it would cost more than the copy); a larger value is read
 * again into one of its own size, without the GIL. */
#define SMEMPY_STACK_BUF 4096

/* A wait sleeps in slices of this many milliseconds, taking the GIL back
 * between them to look for signals (Ctrl-C interrupts a wait). */
#define SMEMPY_WAIT_SLICE_MS 100

typedef struct smempy_state {
    PyObject *Error, *NotFoundError, *ExistsError, *PermissionDenied, *Timeout;
    PyObject *InvalidArgument, *Mismatch, *Full, *Damaged;
    PyObject *MapType, *ValueType, *RegionType;
} smempy_state;

/*
 * The head of every object.  HANDLE is the library's handle, NULL once
 * closed.  BUSY counts the calls running on it without the GIL (changed
 * only with the GIL held); a close() while BUSY > 0 moves the handle to
 * PENDING, and the last of those calls to leave closes it, so a handle is
 * never freed under a thread that uses it.
 */
typedef struct smempy_head {
    PyObject_HEAD
    smempy_state *st; /* the module's; the type keeps the module alive */
    PyObject *name;   /* str */
    void *handle;
    void *pending;
    void (*close_fn)(void *handle);
    const char *kind; /* "map", "value", "region": for messages */
    int busy;
} smempy_head;

typedef struct {
    smempy_head h;
    size_t max_entries, max_value; /* the last figures read (map.c: smempy_map_figures) */
    int created, evicting;
} smempy_map;

typedef struct {
    smempy_head h;
    size_t capacity;
    int created;
} smempy_value;

typedef struct {
    smempy_head h;
    void *data;
    size_t size;
    int created, readonly;
    Py_ssize_t exports; /* buffers exported and not released */
} smempy_region;

/* The type specs (map.c, value.c, region.c). */
extern PyType_Spec smempy_map_spec, smempy_value_spec, smempy_region_spec;

/* ---- errors (util.c) ---------------------------------------------------- */

/* Raises the exception class for library code CODE (< 0), with .code,
 * .errname, .region (REGION: a str, or NULL for None) and the message
 * "SMEM_EXXX: WHAT REGION: reason".  Returns NULL. */
PyObject *smempy_raise(smempy_state *st, int code, PyObject *region, const char *what);

/* Raises InvalidArgument (a ValueError) with code CODE and message TEXT
 * (not smem_strerror).  Returns NULL. */
PyObject *smempy_invalid(smempy_state *st, int code, PyObject *region, const char *text);

/* TypeError("WHAT, not <type of OBJ>").  Returns NULL. */
PyObject *smempy_type_error(const char *what, PyObject *obj);

/* ValueError("<kind> <name> is closed").  Returns NULL. */
PyObject *smempy_closed(smempy_head *h);

/* ---- handles (util.c) --------------------------------------------------- */

/* The open handle, or NULL with ValueError raised if closed. */
static inline void *smempy_handle(smempy_head *h)
{
    if (h->handle)
        return h->handle;
    smempy_closed(h);
    return NULL;
}

/* Around a call made without the GIL: enter returns the handle (NULL with
 * ValueError if closed) and counts the call; leave (GIL held) uncounts it
 * and closes a handle that close() left pending. */
void *smempy_enter(smempy_head *h);
void smempy_leave(smempy_head *h);

/* close(): closes now, or when the last call without the GIL leaves. */
void smempy_close_head(smempy_head *h);

/* The shared tp_dealloc, and the methods and getters every class has. */
void smempy_dealloc(PyObject *self);
PyObject *smempy_enter_method(PyObject *self, PyObject *unused);
PyObject *smempy_exit_method(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *smempy_get_name(PyObject *self, void *closure);
PyObject *smempy_get_closed(PyObject *self, void *closure);

/* Allocates an object of TYPE with its head filled in (handle NULL). */
PyObject *smempy_alloc(PyTypeObject *type, PyObject *name, const char *kind,
                       void (*close_fn)(void *));

/* ---- arguments (util.c) ------------------------------------------------- */

/* METH_FASTCALL|METH_KEYWORDS parsing.  KW names every parameter (NULL
 * ends it); the first NPOS may be given by position, the first NREQ are
 * required.  OUT[i] is the argument (borrowed) or NULL if not given. */
int smempy_args(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                const char *const *kw, int npos, int nreq, PyObject **out);

/* The options of an open: the flags of create/exclusive/persist/readonly
 * (and evict, grow), the mode, and TIMEOUT (seconds or None) as timeout_ms. */
int smempy_opts(smempy_state *st, smem_opts *o, int create, int exclusive, int persist,
                int readonly, unsigned extra_flags, int mode, PyObject *timeout);

/* A region name argument as UTF-8 (NUL-free), or NULL with an error. */
const char *smempy_name(smempy_state *st, PyObject *name);

/* A key (str or bytes, 1..64 bytes, no NUL) as a NUL-terminated string,
 * or NULL with an exception (TypeError, InvalidArgument).  The pointer
 * lives as long as KEY. */
const char *smempy_key_slow(smempy_state *st, PyObject *region, PyObject *key);
static inline const char *smempy_key(smempy_state *st, PyObject *region, PyObject *key)
{
    if (PyUnicode_CheckExact(key)) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(key, &n);
        if (s && n > 0 && n <= SMEM_MAP_KEY_MAX && !memchr(s, 0, (size_t)n))
            return s;
    }
    return smempy_key_slow(st, region, key);
}

/* A key the library handed back: str if it is UTF-8, else bytes. */
PyObject *smempy_key_object(const char *key);

/* A value argument: bytes-like (buffer protocol) or str (UTF-8). */
typedef struct {
    const void *data;
    size_t len;
    Py_buffer view;
    int has_view;
} smempy_data;
int smempy_data_get(PyObject *obj, smempy_data *d);
void smempy_data_release(smempy_data *d);

/* Seconds (int or float) to milliseconds, rounded up.  A timeout: None is
 * NONE_MS, negative is ValueError.  A ttl: None (and 0 if ALLOW_ZERO) is 0,
 * else it must be > 0 and below SMEM_TTL_MAX_MS / 1000 (InvalidArgument). */
int smempy_timeout_ms(PyObject *obj, int none_ms, int *out);
int smempy_ttl_ms(smempy_state *st, PyObject *region, PyObject *obj, int allow_zero,
                  uint64_t *out);

/* Waits without the GIL in slices, looking for signals in between.
 * WAIT_FN(CTX, MS) is the library's wait for at most MS ms.  Returns its
 * code (0, SMEM_ETIMEDOUT once TIMEOUT_MS (-1: none) passed, ...), or 1
 * with a Python exception set (a signal handler raised). */
int smempy_wait(int (*wait_fn)(void *ctx, int ms), void *ctx, int timeout_ms);

/* A library read into a Python bytes: GET_FN(CTX, BUF, SIZE, &LEN) reads
 * into BUF; the first try (stack, GIL held) gave SMEM_E2BIG with LEN, so
 * this reads again into a buffer of that size without the GIL, again while
 * the length keeps changing.  Returns the bytes, or NULL with *RC set to
 * the library's code (no exception) or 1 (exception set). */
PyObject *smempy_read_big(smempy_head *h, int (*get_fn)(void *ctx, void *buf, size_t size,
                                                       size_t *len),
                          void *ctx, size_t len, int *rc);

#endif /* SMEMPY_COMMON_H */
