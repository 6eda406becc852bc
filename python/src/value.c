/*
 * value.c — the type sharedmem.Value: one value of up to `capacity` bytes,
 * replaced atomically, with a version and a wait for the next change.
 */
#include "common.h"

#define SELF ((smempy_value *)self)
#define ST (SELF->h.st)
#define NAME (SELF->h.name)

static int read_fn(void *ctx, void *buf, size_t size, size_t *len)
{
    return smem_value_get(ctx, buf, size, len, NULL);
}

static PyObject *value_get(PyObject *self, PyObject *unused)
{
    (void)unused;
    smem_value *v = smempy_handle(&SELF->h);
    if (!v)
        return NULL;
    char buf[SMEMPY_STACK_BUF];
    size_t len;
    int rc = smem_value_get(v, buf, sizeof buf, &len, NULL);
    if (rc == 0)
        return PyBytes_FromStringAndSize(buf, (Py_ssize_t)len);
    if (rc == SMEM_E2BIG) {
        PyObject *b = smempy_read_big(&SELF->h, read_fn, v, len, &rc);
        if (b || rc == 1)
            return b;
    }
    return smempy_raise(ST, rc, NAME, "get value");
}

static PyObject *value_set(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    static const char *const kw[] = {"data", NULL};
    PyObject *a[1];
    smempy_data d;
    if (smempy_args("set", args, nargs, kwnames, kw, 1, 1, a) < 0 || smempy_data_get(a[0], &d) < 0)
        return NULL;
    smem_value *v = smempy_enter(&SELF->h);
    if (!v) {
        smempy_data_release(&d);
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smem_value_set(v, d.data, d.len);
    Py_END_ALLOW_THREADS
    smempy_leave(&SELF->h);
    smempy_data_release(&d);
    if (rc < 0)
        return smempy_raise(ST, rc, NAME, "set value");
    Py_RETURN_NONE;
}

typedef struct {
    smem_value *v;
    uint64_t seen;
} wait_ctx;

static int wait_fn(void *ctx, int ms)
{
    wait_ctx *c = ctx;
    return smem_value_wait(c->v, c->seen, ms);
}

static PyObject *value_wait(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    static const char *const kw[] = {"seen", "timeout", NULL};
    PyObject *a[2];
    wait_ctx c = {NULL, 0};
    int timeout_ms;
    if (smempy_args("wait", args, nargs, kwnames, kw, 2, 0, a) < 0 ||
        smempy_timeout_ms(a[1], -1, &timeout_ms) < 0)
        return NULL;
    if (a[0] && a[0] != Py_None) {
        c.seen = PyLong_AsUnsignedLongLong(a[0]);
        if (c.seen == (uint64_t)-1 && PyErr_Occurred())
            return NULL;
    }
    if (!(c.v = smempy_enter(&SELF->h)))
        return NULL;
    if (!a[0] || a[0] == Py_None)
        c.seen = smem_value_version(c.v);
    int rc = smempy_wait(wait_fn, &c, timeout_ms);
    uint64_t now = smem_value_version(c.v);
    smempy_leave(&SELF->h);
    if (rc == 1)
        return NULL;
    if (rc < 0)
        return smempy_raise(ST, rc, NAME, "wait on value");
    return PyLong_FromUnsignedLongLong(now);
}

static PyObject *get_version(PyObject *self, void *closure)
{
    (void)closure;
    smem_value *v = smempy_handle(&SELF->h);
    return v ? PyLong_FromUnsignedLongLong(smem_value_version(v)) : NULL;
}

static PyObject *get_capacity(PyObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromSize_t(SELF->capacity);
}

static PyObject *get_created(PyObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(SELF->created);
}

static void close_value(void *handle)
{
    smem_value_close(handle);
}

static PyObject *value_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kw[] = {"name",     "capacity", "create", "exclusive", "persist",
                         "readonly", "mode",     "timeout", NULL};
    PyObject *name, *timeout = NULL;
    Py_ssize_t capacity = 0;
    int create = 1, exclusive = 0, persist = 0, readonly = 0, mode = 0600;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "U|n$ppppiO:Value", kw, &name, &capacity,
                                     &create, &exclusive, &persist, &readonly, &mode, &timeout))
        return NULL;
    PyObject *self = smempy_alloc(type, name, "value", close_value);
    if (!self)
        return NULL;
    smem_opts o;
    const char *cname = smempy_name(ST, name);
    if (!cname || smempy_opts(ST, &o, create, exclusive, persist, readonly, 0, mode, timeout) < 0)
        goto fail;
    if (capacity < 0) {
        smempy_invalid(ST, SMEM_EINVAL, name, "capacity is >= 0");
        goto fail;
    }
    smem_value *v;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smem_value_open(cname, (size_t)capacity, &o, &v);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        smempy_raise(ST, rc, name, "open value");
        goto fail;
    }
    SELF->h.handle = v;
    SELF->capacity = smem_value_capacity(v);
    SELF->created = smem_value_created(v);
    return self;
fail:
    Py_DECREF(self);
    return NULL;
}

static PyObject *value_close(PyObject *self, PyObject *unused)
{
    (void)unused;
    smempy_close_head(&SELF->h);
    Py_RETURN_NONE;
}

static PyObject *value_repr(PyObject *self)
{
    if (!SELF->h.handle)
        return PyUnicode_FromFormat("<sharedmem.Value %R closed>", NAME);
    return PyUnicode_FromFormat("<sharedmem.Value %R capacity=%zu version=%llu>", NAME,
                                SELF->capacity,
                                (unsigned long long)smem_value_version(SELF->h.handle));
}

#define FASTCALL_KW(fn) (PyCFunction)(void (*)(void))(fn), METH_FASTCALL | METH_KEYWORDS

static PyMethodDef value_methods[] = {
    {"get", value_get, METH_NOARGS, "get() -> bytes\n\nThe current value (b'' until the first set)."},
    {"set", FASTCALL_KW(value_set),
     "set(data)\n\nReplaces the whole value with data (bytes-like, or str as UTF-8); every\n"
     "reader sees the old value or the new one, whole."},
    {"wait", FASTCALL_KW(value_wait),
     "wait(seen=None, timeout=None) -> int\n\nWaits until the version differs from seen "
     "(None: the current version, i.e. the\nnext set) and returns the new version.  timeout "
     "in seconds (None: no limit); raises\nTimeout (a TimeoutError) when it passes.  The GIL "
     "is released while it waits."},
    {"close", value_close, METH_NOARGS,
     "close()\n\nDetaches (the last user of a non-persistent value removes it). Idempotent."},
    {"__enter__", smempy_enter_method, METH_NOARGS, "Returns the value itself."},
    {"__exit__", (PyCFunction)(void (*)(void))smempy_exit_method, METH_FASTCALL,
     "Closes the value."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef value_getset[] = {
    {"name", smempy_get_name, NULL, "The value's region name.", NULL},
    {"closed", smempy_get_closed, NULL, "True once close() was called.", NULL},
    {"version", get_version, NULL, "The current version (0: never set).", NULL},
    {"capacity", get_capacity, NULL, "The largest value in bytes.", NULL},
    {"created", get_created, NULL, "True if this open created the value.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const char value_doc[] =
    "Value(name, capacity=0, *, create=True, exclusive=False, persist=False, readonly=False,\n"
    "      mode=0o600, timeout=5.0)\n\n"
    "A shared value of up to capacity bytes, replaced atomically, read without locks, with\n"
    "a version and a wait for the next change.  Opens the value name, creating it if\n"
    "needed (capacity 0 attaches to an existing one).";

static PyType_Slot value_slots[] = {
    {Py_tp_doc, (void *)value_doc},
    {Py_tp_new, value_new},
    {Py_tp_dealloc, smempy_dealloc},
    {Py_tp_repr, value_repr},
    {Py_tp_methods, value_methods},
    {Py_tp_getset, value_getset},
    {0, NULL},
};

PyType_Spec smempy_value_spec = {
    .name = "sharedmem.Value",
    .basicsize = sizeof(smempy_value),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = value_slots,
};
