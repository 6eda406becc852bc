/*
 * map-ops.c — the methods of sharedmem.Map beyond the mapping protocol:
 * add, cas, incr, set (smem_map_put), expire, ttl, get_stale, flush,
 * stats, version, wait and resize.  Every write runs without the GIL (it
 * takes the writer lock, which another process may hold); so do a wait, in
 * slices, and a resize.
 */
#include "map.h"

#define SELF ((smempy_map *)self)
#define ST (SELF->h.st)
#define NAME (SELF->h.name)

/* A write's key, value and handle; end_write undoes begin_write. */
typedef struct {
    smem_map *m;
    const char *k;
    smempy_data d;
} write_args;

static int begin_write(PyObject *self, PyObject *key, PyObject *value, write_args *w)
{
    w->d.has_view = 0;
    w->d.data = NULL;
    w->d.len = 0;
    if (!(w->k = smempy_key(ST, NAME, key)))
        return -1;
    if (value && smempy_data_get(value, &w->d) < 0)
        return -1;
    if (!(w->m = smempy_enter(&SELF->h))) {
        smempy_data_release(&w->d);
        return -1;
    }
    return 0;
}

static void end_write(PyObject *self, write_args *w)
{
    smempy_leave(&SELF->h);
    smempy_data_release(&w->d);
}

static int flag(PyObject *o, int *out)
{
    *out = o ? PyObject_IsTrue(o) : 0;
    return *out;
}

/* KeyError(KEY) for SMEM_ENOENT, else the library's error. */
static PyObject *key_error(PyObject *self, PyObject *key, int rc, const char *what)
{
    if (rc == SMEM_ENOENT) {
        PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    return smempy_raise(ST, rc, NAME, what);
}

/* The version of key K now (0 if absent), or of the map (K NULL). */
static int current_version(smem_map *m, const char *k, uint64_t *version)
{
    if (!k) {
        *version = smem_map_version(m);
        return 0;
    }
    size_t len;
    int rc = smem_map_get(m, k, NULL, 0, &len, version);
    return rc == SMEM_E2BIG || rc == SMEM_ENOENT ? 0 : rc;
}

const char smempy_map_add_doc[] =
    "add(key, value) -> bool\n\nInserts key only if it is absent: True if inserted, False if "
    "it was present.";

SMEMPY_FASTCALL(smempy_map_add)
{
    static const char *const kw[] = {"key", "value", NULL};
    PyObject *a[2];
    write_args w;
    if (smempy_args("add", args, nargs, kwnames, kw, 2, 2, a) < 0 ||
        begin_write(self, a[0], a[1], &w) < 0)
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smem_map_add(w.m, w.k, w.d.data, w.d.len);
    Py_END_ALLOW_THREADS
    end_write(self, &w);
    if (rc == 0 || rc == SMEM_EEXIST)
        return PyBool_FromLong(rc == 0);
    return smempy_raise(ST, rc, NAME, "add to map");
}

const char smempy_map_cas_doc[] =
    "cas(key, version, value) -> bool\n\nSets key only if its version is still version "
    "(0: only if absent): True if set, False if it changed.";

SMEMPY_FASTCALL(smempy_map_cas)
{
    static const char *const kw[] = {"key", "version", "value", NULL};
    PyObject *a[3];
    write_args w;
    if (smempy_args("cas", args, nargs, kwnames, kw, 3, 3, a) < 0)
        return NULL;
    unsigned long long version = PyLong_AsUnsignedLongLong(a[1]);
    if (version == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    if (begin_write(self, a[0], a[2], &w) < 0)
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smem_map_cas(w.m, w.k, version, w.d.data, w.d.len);
    Py_END_ALLOW_THREADS
    end_write(self, &w);
    if (rc == 0 || rc == SMEM_ECHANGED)
        return PyBool_FromLong(rc == 0);
    return smempy_raise(ST, rc, NAME, "cas in map");
}

const char smempy_map_incr_doc[] =
    "incr(key, delta=1, *, init=0, ttl=None) -> int\n\nAdds delta to the counter key (decimal "
    "text of a 64-bit integer) and returns the sum.  An absent key starts from init, with a\n"
    "time to live of ttl seconds (None: none).  InvalidArgument (a ValueError) if the value "
    "is not an integer or the sum is out of range.";

SMEMPY_FASTCALL(smempy_map_incr)
{
    static const char *const kw[] = {"key", "delta", "init", "ttl", NULL};
    PyObject *a[4];
    write_args w;
    if (smempy_args("incr", args, nargs, kwnames, kw, 2, 1, a) < 0)
        return NULL;
    long long delta = 1, init = 0;
    uint64_t ttl;
    if (a[1] && (delta = PyLong_AsLongLong(a[1])) == -1 && PyErr_Occurred())
        return NULL;
    if (a[2] && (init = PyLong_AsLongLong(a[2])) == -1 && PyErr_Occurred())
        return NULL;
    if (smempy_ttl_ms(ST, NAME, a[3], 0, &ttl) < 0 || begin_write(self, a[0], NULL, &w) < 0)
        return NULL;
    int64_t result;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smem_map_incr_ex(w.m, w.k, delta, init, ttl, &result);
    Py_END_ALLOW_THREADS
    end_write(self, &w);
    if (rc < 0)
        return smempy_raise(ST, rc, NAME, "incr in map");
    return PyLong_FromLongLong(result);
}

const char smempy_map_set_doc[] =
    "set(key, value, *, ttl=None, nx=False, xx=False, keep_ttl=False) -> bool\n\n"
    "Writes key, expiring after ttl seconds (None: never).  nx: only if absent; xx: only if\n"
    "present; keep_ttl: a replace keeps the key's expiry.  True if written, False if nx or\n"
    "xx stopped it.  An evicting map evicts an entry to make room when full.";

SMEMPY_FASTCALL(smempy_map_set)
{
    static const char *const kw[] = {"key", "value", "ttl", "nx", "xx", "keep_ttl", NULL};
    PyObject *a[6];
    int nx, xx, keep;
    smem_put how = {0, 0};
    write_args w;
    if (smempy_args("set", args, nargs, kwnames, kw, 2, 2, a) < 0 ||
        smempy_ttl_ms(ST, NAME, a[2], 0, &how.ttl_ms) < 0 || flag(a[3], &nx) < 0 ||
        flag(a[4], &xx) < 0 || flag(a[5], &keep) < 0)
        return NULL;
    how.flags = (nx ? SMEM_PUT_NX : 0u) | (xx ? SMEM_PUT_XX : 0u) | (keep ? SMEM_PUT_KEEPTTL : 0u);
    if (begin_write(self, a[0], a[1], &w) < 0)
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smem_map_put(w.m, w.k, w.d.data, w.d.len, &how, NULL);
    Py_END_ALLOW_THREADS
    end_write(self, &w);
    if (rc == 0)
        Py_RETURN_TRUE;
    if ((rc == SMEM_EEXIST && nx) || (rc == SMEM_ENOENT && xx))
        Py_RETURN_FALSE;
    return smempy_raise(ST, rc, NAME, "set in map");
}

const char smempy_map_expire_doc[] =
    "expire(key, ttl)\n\nGives key a new time to live of ttl seconds from now (None or 0: "
    "never expires).  KeyError if absent.";

SMEMPY_FASTCALL(smempy_map_expire)
{
    static const char *const kw[] = {"key", "ttl", NULL};
    PyObject *a[2];
    uint64_t ttl;
    write_args w;
    if (smempy_args("expire", args, nargs, kwnames, kw, 2, 2, a) < 0 ||
        smempy_ttl_ms(ST, NAME, a[1], 1, &ttl) < 0 || begin_write(self, a[0], NULL, &w) < 0)
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smem_map_expire(w.m, w.k, ttl);
    Py_END_ALLOW_THREADS
    end_write(self, &w);
    if (rc < 0)
        return key_error(self, a[0], rc, "expire in map");
    Py_RETURN_NONE;
}

const char smempy_map_ttl_doc[] =
    "ttl(key) -> float | None\n\nThe seconds before key expires, or None if it never does.  "
    "KeyError if absent.";

SMEMPY_FASTCALL(smempy_map_ttl)
{
    static const char *const kw[] = {"key", NULL};
    PyObject *a[1];
    if (smempy_args("ttl", args, nargs, kwnames, kw, 1, 1, a) < 0)
        return NULL;
    smem_map *m = smempy_handle(&SELF->h);
    const char *k = m ? smempy_key(ST, NAME, a[0]) : NULL;
    if (!k)
        return NULL;
    int64_t ms;
    int rc = smem_map_ttl(m, k, &ms);
    if (rc < 0)
        return key_error(self, a[0], rc, "ttl in map");
    if (ms < 0)
        Py_RETURN_NONE;
    return PyFloat_FromDouble((double)ms / 1000.0);
}

const char smempy_map_get_stale_doc[] =
    "get_stale(key, default=None) -> tuple[bytes, bool] | default\n\n(value, stale): also "
    "finds an expired entry not reclaimed yet (stale True).  default if absent.";

SMEMPY_FASTCALL(smempy_map_get_stale)
{
    static const char *const kw[] = {"key", "default", NULL};
    PyObject *a[2];
    if (smempy_args("get_stale", args, nargs, kwnames, kw, 2, 1, a) < 0)
        return NULL;
    if (!smempy_handle(&SELF->h))
        return NULL;
    const char *k = smempy_key(ST, NAME, a[0]);
    if (!k)
        return NULL;
    int stale = 0, rc;
    PyObject *v = smempy_map_read(SELF, k, &stale, &rc);
    if (v)
        return Py_BuildValue("(NN)", v, PyBool_FromLong(stale));
    if (rc == 1)
        return NULL;
    if (rc != SMEM_ENOENT)
        return smempy_raise(ST, rc, NAME, "get from map");
    PyObject *dflt = a[1] ? a[1] : Py_None;
    Py_INCREF(dflt);
    return dflt;
}

const char smempy_map_flush_doc[] = "flush()\n\nRemoves every entry, as one change.";

PyObject *smempy_map_flush(PyObject *self, PyObject *unused)
{
    (void)unused;
    smem_map *m = smempy_enter(&SELF->h);
    if (!m)
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smem_map_flush(m);
    Py_END_ALLOW_THREADS
    smempy_leave(&SELF->h);
    if (rc < 0)
        return smempy_raise(ST, rc, NAME, "flush map");
    Py_RETURN_NONE;
}

const char smempy_map_stats_doc[] =
    "stats() -> dict\n\nhits, misses, sets, deletes, evictions, expirations, entries, "
    "max_entries, bytes, stale (ints) and evicting (bool).";

PyObject *smempy_map_stats(PyObject *self, PyObject *unused)
{
    (void)unused;
    smem_map *m = smempy_handle(&SELF->h);
    if (!m)
        return NULL;
    struct smem_map_stats s;
    int rc = smem_map_stats(m, &s);
    if (rc < 0)
        return smempy_raise(ST, rc, NAME, "stats of map");
    return Py_BuildValue("{sKsKsKsKsKsKsKsKsKsKsN}", "hits", (unsigned long long)s.hits,
                         "misses", (unsigned long long)s.misses, "sets",
                         (unsigned long long)s.sets, "deletes", (unsigned long long)s.deletes,
                         "evictions", (unsigned long long)s.evictions, "expirations",
                         (unsigned long long)s.expirations, "entries",
                         (unsigned long long)s.entries, "max_entries",
                         (unsigned long long)s.max_entries, "bytes", (unsigned long long)s.bytes,
                         "stale", (unsigned long long)s.stale, "evicting",
                         PyBool_FromLong(s.evicting));
}

const char smempy_map_version_doc[] =
    "version(key=None) -> int\n\nThe version of key (0 if absent), or with key None the "
    "map-wide version.";

SMEMPY_FASTCALL(smempy_map_version)
{
    static const char *const kw[] = {"key", NULL};
    PyObject *a[1];
    if (smempy_args("version", args, nargs, kwnames, kw, 1, 0, a) < 0)
        return NULL;
    smem_map *m = smempy_handle(&SELF->h);
    if (!m)
        return NULL;
    const char *k = NULL;
    if (a[0] && a[0] != Py_None && !(k = smempy_key(ST, NAME, a[0])))
        return NULL;
    uint64_t version;
    int rc = current_version(m, k, &version);
    if (rc < 0)
        return smempy_raise(ST, rc, NAME, "version in map");
    return PyLong_FromUnsignedLongLong(version);
}

typedef struct {
    smem_map *m;
    const char *k;
    uint64_t seen;
} wait_ctx;

static int wait_fn(void *ctx, int ms)
{
    wait_ctx *c = ctx;
    return smem_map_wait(c->m, c->k, c->seen, ms);
}

const char smempy_map_wait_doc[] =
    "wait(key=None, seen=None, timeout=None) -> int\n\nWaits until the version of key (None: "
    "of the map) differs from seen (None: its\ncurrent version, i.e. the next change) and "
    "returns the new version.  timeout in\nseconds (None: no limit); raises Timeout (a "
    "TimeoutError) when it passes.  The GIL\nis released while it waits.";

SMEMPY_FASTCALL(smempy_map_wait)
{
    static const char *const kw[] = {"key", "seen", "timeout", NULL};
    PyObject *a[3];
    wait_ctx c = {NULL, NULL, 0};
    int timeout_ms, rc;
    if (smempy_args("wait", args, nargs, kwnames, kw, 3, 0, a) < 0 ||
        smempy_timeout_ms(a[2], -1, &timeout_ms) < 0)
        return NULL;
    if (a[0] && a[0] != Py_None && !(c.k = smempy_key(ST, NAME, a[0])))
        return NULL;
    if (a[1] && a[1] != Py_None) {
        c.seen = PyLong_AsUnsignedLongLong(a[1]);
        if (c.seen == (uint64_t)-1 && PyErr_Occurred())
            return NULL;
    }
    if (!(c.m = smempy_enter(&SELF->h)))
        return NULL;
    rc = a[1] && a[1] != Py_None ? 0 : current_version(c.m, c.k, &c.seen);
    if (rc == 0)
        rc = smempy_wait(wait_fn, &c, timeout_ms);
    uint64_t now = 0;
    if (rc == 0)
        rc = current_version(c.m, c.k, &now);
    smempy_leave(&SELF->h);
    if (rc == 1)
        return NULL;
    if (rc < 0)
        return smempy_raise(ST, rc, NAME, "wait on map");
    return PyLong_FromUnsignedLongLong(now);
}

/* A figure argument (an int, or what has __index__) into *OUT; -1 with an
 * exception if it is not one or does not fit. */
static int figure(PyObject *o, Py_ssize_t *out)
{
    PyObject *i = PyNumber_Index(o);
    if (!i)
        return -1;
    *out = PyLong_AsSsize_t(i);
    Py_DECREF(i);
    return *out == -1 && PyErr_Occurred() ? -1 : 0;
}

/* smem_map_resize to ENTRIES and VALUE, or with KEEP to ENTRIES and the
 * current max_value: if another process raised that meanwhile (the resize
 * then looks like a shrink), again with its new figure.  It only grows, to
 * a limit, so this ends. */
static int resize_map(smem_map *m, size_t entries, int keep, size_t value)
{
    for (;;) {
        size_t v = keep ? smem_map_max_value(m) : value;
        int rc = smem_map_resize(m, entries, v);
        if (rc != SMEM_EINVAL || !keep || smem_map_max_value(m) == v)
            return rc;
    }
}

/* InvalidArgument for a resize below the current figures, naming them. */
static PyObject *cannot_shrink(PyObject *self, size_t entries, size_t value, Py_ssize_t want_e,
                               size_t want_v)
{
    PyObject *msg = PyUnicode_FromFormat("resize map %U: a map cannot shrink: it has "
                                         "max_entries=%zu and max_value=%zu, asked for %zd "
                                         "and %zu",
                                         NAME, entries, value, want_e, want_v);
    if (!msg)
        return NULL;
    const char *text = PyUnicode_AsUTF8AndSize(msg, NULL);
    if (text)
        smempy_invalid(ST, SMEM_EINVAL, NAME, text);
    Py_DECREF(msg);
    return NULL;
}

const char smempy_map_resize_doc[] =
    "resize(max_entries, max_value=None)\n\nMakes the map hold up to max_entries keys with "
    "values of up to max_value bytes\n(None: the current max_value), while every process "
    "keeps using it; the entries keep\ntheir values, versions and expiry, and other Map "
    "objects see the new figures at once.\nThe same figures are a no-op.  InvalidArgument (a "
    "ValueError) for a figure below the\ncurrent one (a map cannot shrink) or over the "
    "limits; PermissionDenied if read-only.\nThe GIL is released while the entries move.";

SMEMPY_FASTCALL(smempy_map_resize)
{
    static const char *const kw[] = {"max_entries", "max_value", NULL};
    PyObject *a[2];
    Py_ssize_t entries, value = -1;
    if (smempy_args("resize", args, nargs, kwnames, kw, 2, 1, a) < 0 || figure(a[0], &entries) < 0)
        return NULL;
    int keep = !a[1] || a[1] == Py_None;
    if (!keep && figure(a[1], &value) < 0)
        return NULL;
    if (entries < 0 || (!keep && value < 0))
        return smempy_invalid(ST, SMEM_EINVAL, NAME, "max_entries and max_value are >= 0");
    smem_map *m = smempy_enter(&SELF->h);
    if (!m)
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = resize_map(m, (size_t)entries, keep, (size_t)value);
    Py_END_ALLOW_THREADS
    size_t now_e = smem_map_max_entries(m), now_v = smem_map_max_value(m);
    smempy_map_figures(SELF);
    smempy_leave(&SELF->h);
    if (rc == SMEM_EINVAL)
        return cannot_shrink(self, now_e, now_v, entries, keep ? now_v : (size_t)value);
    if (rc < 0)
        return smempy_raise(ST, rc, NAME, "resize map");
    Py_RETURN_NONE;
}
