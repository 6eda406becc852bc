/*
 * map.c — the type sharedmem.Map: open, close, the mapping protocol
 * (m[key], m[key] = v, del m[key], key in m, len(m)), get, iteration and
 * the properties.  The other methods are in map-ops.c.
 *
 * m[key] is the hot path: the key's UTF-8 (cached by str), one
 * smem_map_get into a stack buffer with the GIL held, one bytes.
 */
#include "map.h"

/* ---- reads -------------------------------------------------------------- */

typedef struct {
    smem_map *m;
    const char *key;
    int *stale;
} read_ctx;

static int read_fn(void *ctx, void *buf, size_t size, size_t *len)
{
    read_ctx *c = ctx;
    if (c->stale)
        return smem_map_get_stale(c->m, c->key, buf, size, len, NULL, c->stale);
    return smem_map_get(c->m, c->key, buf, size, len, NULL);
}

static inline PyObject *read_value(smempy_map *self, smem_map *m, const char *k, int *stale,
                                   int *rc)
{
    char buf[SMEMPY_STACK_BUF];
    size_t len;
    if (stale)
        *rc = smem_map_get_stale(m, k, buf, sizeof buf, &len, NULL, stale);
    else
        *rc = smem_map_get(m, k, buf, sizeof buf, &len, NULL);
    if (*rc == 0)
        return PyBytes_FromStringAndSize(buf, (Py_ssize_t)len);
    if (*rc != SMEM_E2BIG)
        return NULL;
    read_ctx c = {m, k, stale};
    return smempy_read_big(&self->h, read_fn, &c, len, rc);
}

PyObject *smempy_map_read(smempy_map *self, const char *k, int *stale, int *rc)
{
    smem_map *m = smempy_handle(&self->h);
    if (!m) {
        *rc = 1;
        return NULL;
    }
    return read_value(self, m, k, stale, rc);
}

/* The value of KEY, or DFLT (NULL: KeyError) if absent. */
static inline PyObject *lookup(smempy_map *self, PyObject *key, PyObject *dflt)
{
    smem_map *m = self->h.handle;
    if (!m)
        return smempy_closed(&self->h);
    const char *k = smempy_key(self->h.st, self->h.name, key);
    if (!k)
        return NULL;
    int rc;
    PyObject *v = read_value(self, m, k, NULL, &rc);
    if (v || rc == 1)
        return v;
    if (rc != SMEM_ENOENT)
        return smempy_raise(self->h.st, rc, self->h.name, "get from map");
    if (!dflt) {
        PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    Py_INCREF(dflt);
    return dflt;
}

static PyObject *map_subscript(PyObject *self, PyObject *key)
{
    return lookup((smempy_map *)self, key, NULL);
}

static PyObject *map_get(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    static const char *const kw[] = {"key", "default", NULL};
    PyObject *a[2];
    if (nargs == 1 && !kwnames) /* the common case, without the parser */
        return lookup((smempy_map *)self, args[0], Py_None);
    if (smempy_args("get", args, nargs, kwnames, kw, 2, 1, a) < 0)
        return NULL;
    return lookup((smempy_map *)self, a[0], a[1] ? a[1] : Py_None);
}

static int map_contains(PyObject *o, PyObject *key)
{
    smempy_map *self = (smempy_map *)o;
    smem_map *m = smempy_handle(&self->h);
    if (!m)
        return -1;
    const char *k = smempy_key(self->h.st, self->h.name, key);
    if (!k)
        return -1;
    size_t len;
    int rc = smem_map_get(m, k, NULL, 0, &len, NULL);
    if (rc == 0 || rc == SMEM_E2BIG)
        return 1;
    if (rc == SMEM_ENOENT)
        return 0;
    smempy_raise(self->h.st, rc, self->h.name, "look up in map");
    return -1;
}

static Py_ssize_t map_length(PyObject *o)
{
    smempy_map *self = (smempy_map *)o;
    smem_map *m = smempy_handle(&self->h);
    if (!m)
        return -1;
    int n = smem_map_count(m);
    if (n < 0) {
        smempy_raise(self->h.st, n, self->h.name, "count map");
        return -1;
    }
    return n;
}

/* ---- m[key] = value, del m[key] ----------------------------------------- */

static int map_ass_subscript(PyObject *o, PyObject *key, PyObject *value)
{
    smempy_map *self = (smempy_map *)o;
    const char *k = smempy_key(self->h.st, self->h.name, key);
    if (!k)
        return -1;
    smempy_data d = {0};
    if (value && smempy_data_get(value, &d) < 0)
        return -1;
    smem_map *m = smempy_enter(&self->h);
    if (!m) {
        smempy_data_release(&d);
        return -1;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = value ? smem_map_set(m, k, d.data, d.len) : smem_map_del(m, k);
    Py_END_ALLOW_THREADS
    smempy_leave(&self->h);
    smempy_data_release(&d);
    if (rc == 0)
        return 0;
    if (rc == SMEM_ENOENT && !value)
        PyErr_SetObject(PyExc_KeyError, key);
    else
        smempy_raise(self->h.st, rc, self->h.name, value ? "set in map" : "delete from map");
    return -1;
}

/* ---- iteration ---------------------------------------------------------- */

enum { COLLECT_KEYS, COLLECT_VALUES, COLLECT_ITEMS };

typedef struct {
    PyObject *list;
    int what;
    int failed;
} collect_ctx;

static int collect_fn(const char *key, const void *val, size_t len, uint64_t version, void *arg)
{
    collect_ctx *c = arg;
    PyObject *k = NULL, *v = NULL, *item;
    (void)version;
    if (c->what != COLLECT_VALUES && !(k = smempy_key_object(key)))
        goto fail;
    if (c->what != COLLECT_KEYS && !(v = PyBytes_FromStringAndSize(val, (Py_ssize_t)len)))
        goto fail;
    if (c->what == COLLECT_ITEMS) {
        item = PyTuple_Pack(2, k, v);
        Py_DECREF(k);
        Py_DECREF(v);
        if (!item)
            goto fail_clean;
    } else {
        item = k ? k : v;
    }
    int rc = PyList_Append(c->list, item);
    Py_DECREF(item);
    if (rc < 0)
        goto fail_clean;
    return 0;
fail:
    Py_XDECREF(k);
    Py_XDECREF(v);
fail_clean:
    c->failed = 1;
    return 1;
}

/* A list of one walk's keys, values or (key, value) pairs. */
static PyObject *collect(smempy_map *self, int what)
{
    collect_ctx c = {PyList_New(0), what, 0};
    if (!c.list)
        return NULL;
    /* Counted as busy: making the objects may run code (a finalizer) that
     * closes the map, or lets another thread run that does. */
    smem_map *m = smempy_enter(&self->h);
    if (!m) {
        Py_DECREF(c.list);
        return NULL;
    }
    int rc = smem_map_foreach(m, collect_fn, &c);
    smempy_leave(&self->h);
    if (c.failed || rc < 0) {
        Py_DECREF(c.list);
        return c.failed ? NULL : smempy_raise(self->h.st, rc, self->h.name, "walk map");
    }
    return c.list;
}

static PyObject *map_iter(PyObject *self)
{
    PyObject *keys = collect((smempy_map *)self, COLLECT_KEYS);
    if (!keys)
        return NULL;
    PyObject *it = PyObject_GetIter(keys);
    Py_DECREF(keys);
    return it;
}

static PyObject *map_keys(PyObject *self, PyObject *unused)
{
    (void)unused;
    return collect((smempy_map *)self, COLLECT_KEYS);
}

static PyObject *map_values(PyObject *self, PyObject *unused)
{
    (void)unused;
    return collect((smempy_map *)self, COLLECT_VALUES);
}

static PyObject *map_items(PyObject *self, PyObject *unused)
{
    (void)unused;
    return collect((smempy_map *)self, COLLECT_ITEMS);
}

/* ---- open and close ----------------------------------------------------- */

static void close_map(void *handle)
{
    smem_map_close(handle);
}

static PyObject *map_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kw[] = {"name",     "max_entries", "max_value", "create", "exclusive", "persist",
                         "readonly", "evict",       "grow",      "mode",   "timeout",   NULL};
    PyObject *name, *timeout = NULL;
    Py_ssize_t max_entries = 0, max_value = 0;
    int create = 1, exclusive = 0, persist = 0, readonly = 0, evict = 0, grow = 0, mode = 0600;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "U|nn$ppppppiO:Map", kw, &name, &max_entries,
                                     &max_value, &create, &exclusive, &persist, &readonly,
                                     &evict, &grow, &mode, &timeout))
        return NULL;
    smempy_map *self = (smempy_map *)smempy_alloc(type, name, "map", close_map);
    if (!self)
        return NULL;
    smempy_state *st = self->h.st;
    smem_opts o;
    const char *cname = smempy_name(st, name);
    unsigned flags = (evict ? (unsigned)SMEM_EVICT : 0u) | (grow ? (unsigned)SMEM_GROW : 0u);
    if (!cname || smempy_opts(st, &o, create, exclusive, persist, readonly, flags, mode,
                              timeout) < 0)
        goto fail;
    if (max_entries < 0 || max_value < 0) {
        smempy_invalid(st, SMEM_EINVAL, name, "max_entries and max_value are >= 0");
        goto fail;
    }
    smem_map *m;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smem_map_open(cname, (size_t)max_entries, (size_t)max_value, &o, &m);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        smempy_raise(st, rc, name, "open map");
        goto fail;
    }
    self->h.handle = m;
    smempy_map_figures(self);
    self->created = smem_map_created(m);
    struct smem_map_stats s;
    self->evicting = smem_map_stats(m, &s) == 0 ? s.evicting : evict;
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

static PyObject *map_close(PyObject *self, PyObject *unused)
{
    (void)unused;
    smempy_close_head((smempy_head *)self);
    Py_RETURN_NONE;
}

static PyObject *map_repr(PyObject *o)
{
    smempy_map *self = (smempy_map *)o;
    if (!self->h.handle)
        return PyUnicode_FromFormat("<sharedmem.Map %R closed>", self->h.name);
    int n = smem_map_count(self->h.handle);
    smempy_map_figures(self);
    return PyUnicode_FromFormat("<sharedmem.Map %R entries=%d max_entries=%zu max_value=%zu%s>",
                                self->h.name, n, self->max_entries, self->max_value,
                                self->evicting ? " evicting" : "");
}

/* ---- properties --------------------------------------------------------- */

void smempy_map_figures(smempy_map *self)
{
    smem_map *m = self->h.handle;
    if (m) {
        self->max_entries = smem_map_max_entries(m);
        self->max_value = smem_map_max_value(m);
    }
}

/* The current figures, asked of the library each time (a resize in any
 * process changes them); once closed, the last ones seen. */
static PyObject *get_max_entries(PyObject *self, void *closure)
{
    (void)closure;
    smempy_map_figures((smempy_map *)self);
    return PyLong_FromSize_t(((smempy_map *)self)->max_entries);
}

static PyObject *get_max_value(PyObject *self, void *closure)
{
    (void)closure;
    smempy_map_figures((smempy_map *)self);
    return PyLong_FromSize_t(((smempy_map *)self)->max_value);
}

static PyObject *get_created(PyObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(((smempy_map *)self)->created);
}

static PyObject *get_evicting(PyObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(((smempy_map *)self)->evicting);
}

/* ---- the type ----------------------------------------------------------- */

#define FASTCALL_KW(fn) (PyCFunction)(void (*)(void))(fn), METH_FASTCALL | METH_KEYWORDS

static PyMethodDef map_methods[] = {
    {"get", FASTCALL_KW(map_get),
     "get(key, default=None) -> bytes | default\n\nThe value of key, or default if absent."},
    {"keys", map_keys, METH_NOARGS, "keys() -> list\n\nThe keys of one consistent walk."},
    {"values", map_values, METH_NOARGS, "values() -> list[bytes]\n\nThe values of one walk."},
    {"items", map_items, METH_NOARGS,
     "items() -> list[tuple[key, bytes]]\n\nThe (key, value) pairs of one walk."},
    {"add", FASTCALL_KW(smempy_map_add), smempy_map_add_doc},
    {"cas", FASTCALL_KW(smempy_map_cas), smempy_map_cas_doc},
    {"incr", FASTCALL_KW(smempy_map_incr), smempy_map_incr_doc},
    {"version", FASTCALL_KW(smempy_map_version), smempy_map_version_doc},
    {"wait", FASTCALL_KW(smempy_map_wait), smempy_map_wait_doc},
    {"set", FASTCALL_KW(smempy_map_set), smempy_map_set_doc},
    {"expire", FASTCALL_KW(smempy_map_expire), smempy_map_expire_doc},
    {"ttl", FASTCALL_KW(smempy_map_ttl), smempy_map_ttl_doc},
    {"get_stale", FASTCALL_KW(smempy_map_get_stale), smempy_map_get_stale_doc},
    {"flush", smempy_map_flush, METH_NOARGS, smempy_map_flush_doc},
    {"stats", smempy_map_stats, METH_NOARGS, smempy_map_stats_doc},
    {"resize", FASTCALL_KW(smempy_map_resize), smempy_map_resize_doc},
    {"close", map_close, METH_NOARGS,
     "close()\n\nDetaches (the last user of a non-persistent map removes it). Idempotent."},
    {"__enter__", smempy_enter_method, METH_NOARGS, "Returns the map itself."},
    {"__exit__", (PyCFunction)(void (*)(void))smempy_exit_method, METH_FASTCALL,
     "Closes the map."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef map_getset[] = {
    {"name", smempy_get_name, NULL, "The map's region name.", NULL},
    {"closed", smempy_get_closed, NULL, "True once close() was called.", NULL},
    {"max_entries", get_max_entries, NULL,
     "The most keys the map holds now (resize and grow raise it).", NULL},
    {"max_value", get_max_value, NULL,
     "The largest value in bytes now (resize and grow raise it).", NULL},
    {"created", get_created, NULL, "True if this open created the map.", NULL},
    {"evicting", get_evicting, NULL, "True if the map was created with evict=True.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const char map_doc[] =
    "Map(name, max_entries=0, max_value=0, *, create=True, exclusive=False, persist=False,\n"
    "    readonly=False, evict=False, grow=False, mode=0o600, timeout=5.0)\n\n"
    "A shared map of up to max_entries keys (str or bytes, 1 to 64 bytes, no NUL) with\n"
    "values of up to max_value bytes, read without locks from every process.  Opens the\n"
    "map name, creating it if needed (0 for both figures attaches to an existing one).\n"
    "Values are bytes-like or str (stored as UTF-8) and read back as bytes.  A new map\n"
    "made with evict=True evicts an entry when full; with grow=True it grows instead\n"
    "(doubles max_entries, raises max_value for a longer value).  resize() grows any map.";

static PyType_Slot map_slots[] = {
    {Py_tp_doc, (void *)map_doc},
    {Py_tp_new, map_new},
    {Py_tp_dealloc, smempy_dealloc},
    {Py_tp_repr, map_repr},
    {Py_tp_iter, map_iter},
    {Py_tp_methods, map_methods},
    {Py_tp_getset, map_getset},
    {Py_mp_subscript, map_subscript},
    {Py_mp_ass_subscript, map_ass_subscript},
    {Py_mp_length, map_length},
    {Py_sq_contains, map_contains},
    {0, NULL},
};

PyType_Spec smempy_map_spec = {
    .name = "sharedmem.Map",
    .basicsize = sizeof(smempy_map),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = map_slots,
};
