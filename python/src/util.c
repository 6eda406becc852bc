/*
 * util.c — the helpers every class of the module uses: raising the
 * library's errors as exceptions, the object head (close while another
 * thread is in a call, dealloc, the context manager), argument parsing for
 * METH_FASTCALL, keys, values, times, waits and large reads.
 */
#include "common.h"

#include <math.h>
#include <stdio.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <time.h>
#endif

/* ---- errors ------------------------------------------------------------- */

static PyObject *class_for(smempy_state *st, int code)
{
    switch (code) {
    case SMEM_ENOENT: return st->NotFoundError;
    case SMEM_EEXIST: return st->ExistsError;
    case SMEM_EACCES:
    case SMEM_EPERM:
    case SMEM_EBADF: return st->PermissionDenied;
    case SMEM_ETIMEDOUT: return st->Timeout;
    case SMEM_EINVAL:
    case SMEM_ENAMETOOLONG:
    case SMEM_E2BIG:
    case SMEM_ERANGE: return st->InvalidArgument;
    case SMEM_EMISMATCH: return st->Mismatch;
    case SMEM_EFULL: return st->Full;
    case SMEM_EBADREGION:
    case SMEM_EVERSION: return st->Damaged;
    default: return st->Error;
    }
}

static int set_attr(PyObject *exc, const char *attr, PyObject *v)
{
    if (!v)
        return -1;
    int rc = PyObject_SetAttrString(exc, attr, v);
    Py_DECREF(v);
    return rc;
}

/* Makes the exception of class CLS with message MSG and the attributes,
 * and raises it. */
static PyObject *raise_with(PyObject *cls, int code, PyObject *region, PyObject *msg)
{
    if (!msg)
        return NULL;
    PyObject *exc = PyObject_CallFunctionObjArgs(cls, msg, NULL);
    Py_DECREF(msg);
    if (!exc)
        return NULL;
    int bad = set_attr(exc, "code", PyLong_FromLong(code)) < 0 ||
              set_attr(exc, "errname", PyUnicode_FromString(smem_err_name(code))) < 0;
    if (!bad) {
        Py_INCREF(region ? region : Py_None);
        bad = set_attr(exc, "region", region ? region : Py_None) < 0;
    }
    /* The OSError kinds also get the errno of a system code. */
    if (!bad && code > -1000 && PyObject_IsSubclass(cls, PyExc_OSError) == 1)
        bad = set_attr(exc, "errno", PyLong_FromLong(-code)) < 0;
    if (bad) {
        Py_DECREF(exc);
        return NULL;
    }
    PyErr_SetObject(cls, exc);
    Py_DECREF(exc);
    return NULL;
}

PyObject *smempy_raise(smempy_state *st, int code, PyObject *region, const char *what)
{
    PyObject *msg;
    /* "open map NAME: no such region (SMEM_ENOENT)": the thing, the reason. */
    if (region)
        msg = PyUnicode_FromFormat("%s %U: %s (%s)", what, region, smem_strerror(code),
                                   smem_err_name(code));
    else
        msg = PyUnicode_FromFormat("%s: %s (%s)", what, smem_strerror(code), smem_err_name(code));
    return raise_with(class_for(st, code), code, region, msg);
}

PyObject *smempy_invalid(smempy_state *st, int code, PyObject *region, const char *text)
{
    PyObject *msg = PyUnicode_FromFormat("%s (%s)", text, smem_err_name(code));
    return raise_with(st->InvalidArgument, code, region, msg);
}

PyObject *smempy_type_error(const char *what, PyObject *obj)
{
    PyObject *name = PyType_GetName(Py_TYPE(obj));
    if (name) {
        PyErr_Format(PyExc_TypeError, "%s, not %U", what, name);
        Py_DECREF(name);
    }
    return NULL;
}

PyObject *smempy_closed(smempy_head *h)
{
    PyErr_Format(PyExc_ValueError, "%s %U is closed", h->kind, h->name);
    return NULL;
}

/* ---- the object head ---------------------------------------------------- */

void *smempy_enter(smempy_head *h)
{
    void *handle = smempy_handle(h);
    if (handle)
        h->busy++;
    return handle;
}

static void close_now(smempy_head *h, void *handle)
{
    void (*fn)(void *) = h->close_fn;
    Py_BEGIN_ALLOW_THREADS /* the last user out removes the region: a lock */
    fn(handle);
    Py_END_ALLOW_THREADS
}

void smempy_leave(smempy_head *h)
{
    if (--h->busy == 0 && h->pending) {
        void *handle = h->pending;
        h->pending = NULL;
        close_now(h, handle);
    }
}

void smempy_close_head(smempy_head *h)
{
    void *handle = h->handle;
    if (!handle)
        return;
    h->handle = NULL;
    if (h->busy > 0)
        h->pending = handle;
    else
        close_now(h, handle);
}

PyObject *smempy_alloc(PyTypeObject *type, PyObject *name, const char *kind,
                       void (*close_fn)(void *))
{
    allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    smempy_head *h = (smempy_head *)alloc(type, 0);
    if (!h)
        return NULL;
    h->st = (smempy_state *)PyType_GetModuleState(type);
    if (!h->st) {
        Py_DECREF(h);
        return NULL;
    }
    Py_INCREF(name);
    h->name = name;
    h->kind = kind;
    h->close_fn = close_fn;
    return (PyObject *)h;
}

void smempy_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    smempy_head *h = (smempy_head *)self;
    /* No call can be running: each holds a reference to the object. */
    if (h->handle)
        close_now(h, h->handle);
    if (h->pending)
        close_now(h, h->pending);
    Py_XDECREF(h->name);
    freefunc free_fn = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    free_fn(self);
    Py_DECREF(tp);
}

PyObject *smempy_enter_method(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (!smempy_handle((smempy_head *)self))
        return NULL;
    Py_INCREF(self);
    return self;
}

PyObject *smempy_exit_method(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    PyObject *r = PyObject_CallMethod(self, "close", NULL);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

PyObject *smempy_get_name(PyObject *self, void *closure)
{
    (void)closure;
    PyObject *name = ((smempy_head *)self)->name;
    Py_INCREF(name);
    return name;
}

PyObject *smempy_get_closed(PyObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(((smempy_head *)self)->handle == NULL);
}

/* ---- arguments ---------------------------------------------------------- */

static int find_kw(PyObject *name, const char *const *kw)
{
    for (int i = 0; kw[i]; i++)
        if (PyUnicode_CompareWithASCIIString(name, kw[i]) == 0)
            return i;
    return -1;
}

int smempy_args(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                const char *const *kw, int npos, int nreq, PyObject **out)
{
    int n = 0;
    while (kw[n])
        out[n++] = NULL;
    if (nargs > npos) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d positional argument%s (%zd given)",
                     fname, npos, npos == 1 ? "" : "s", nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        out[i] = args[i];
    Py_ssize_t nkw = kwnames ? PyTuple_Size(kwnames) : 0;
    for (Py_ssize_t j = 0; j < nkw; j++) {
        PyObject *name = PyTuple_GetItem(kwnames, j);
        int i = name ? find_kw(name, kw) : -1;
        if (i < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%S'", fname,
                         name);
            return -1;
        }
        if (out[i]) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fname,
                         kw[i]);
            return -1;
        }
        out[i] = args[nargs + j];
    }
    for (int i = 0; i < nreq; i++) {
        if (!out[i]) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", fname, kw[i]);
            return -1;
        }
    }
    return 0;
}

int smempy_opts(smempy_state *st, smem_opts *o, int create, int exclusive, int persist,
                int readonly, unsigned extra_flags, int mode, PyObject *timeout)
{
    memset(o, 0, sizeof *o);
    o->flags = extra_flags | (create ? 0u : (unsigned)SMEM_NOCREATE) |
               (exclusive ? (unsigned)SMEM_EXCL : 0u) | (persist ? (unsigned)SMEM_PERSIST : 0u) |
               (readonly ? (unsigned)SMEM_RDONLY : 0u);
    if (mode < 0 || mode > 0777) {
        smempy_invalid(st, SMEM_EINVAL, NULL, "mode must be permission bits (0 to 0o777)");
        return -1;
    }
    o->mode = (unsigned)mode;
    /* The library's 0 means its default (5 s): the shortest wait is 1 ms. */
    if (smempy_timeout_ms(timeout, INT32_MAX, &o->timeout_ms) < 0)
        return -1;
    if (o->timeout_ms == 0)
        o->timeout_ms = 1;
    return 0;
}

const char *smempy_name(smempy_state *st, PyObject *name)
{
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(name, &n);
    if (!s)
        return NULL;
    if (memchr(s, 0, (size_t)n)) {
        smempy_invalid(st, SMEM_EINVAL, name, "a region name cannot hold a NUL");
        return NULL;
    }
    return s;
}

/* ---- keys and values ---------------------------------------------------- */

const char *smempy_key_slow(smempy_state *st, PyObject *region, PyObject *key)
{
    const char *s;
    Py_ssize_t n;
    if (PyUnicode_Check(key)) {
        s = PyUnicode_AsUTF8AndSize(key, &n);
        if (!s)
            return NULL;
    } else if (PyBytes_Check(key)) {
        char *b;
        if (PyBytes_AsStringAndSize(key, &b, &n) < 0)
            return NULL;
        s = b;
    } else {
        return smempy_type_error("a key is str or bytes", key), NULL;
    }
    if (n == 0)
        return smempy_invalid(st, SMEM_EINVAL, region, "a key cannot be empty"), NULL;
    if (n > SMEM_MAP_KEY_MAX)
        return smempy_invalid(st, SMEM_ENAMETOOLONG, region, "a key has at most 64 bytes"), NULL;
    if (memchr(s, 0, (size_t)n))
        return smempy_invalid(st, SMEM_EINVAL, region, "a key cannot hold a NUL"), NULL;
    return s;
}

PyObject *smempy_key_object(const char *key)
{
    size_t n = strlen(key);
    PyObject *s = PyUnicode_DecodeUTF8(key, (Py_ssize_t)n, NULL);
    if (s || !PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
        return s;
    PyErr_Clear();
    return PyBytes_FromStringAndSize(key, (Py_ssize_t)n);
}

int smempy_data_get(PyObject *obj, smempy_data *d)
{
    d->has_view = 0;
    Py_ssize_t n;
    if (PyBytes_CheckExact(obj)) {
        char *s;
        if (PyBytes_AsStringAndSize(obj, &s, &n) < 0)
            return -1;
        d->data = s;
    } else if (PyUnicode_Check(obj)) {
        d->data = PyUnicode_AsUTF8AndSize(obj, &n);
        if (!d->data)
            return -1;
    } else if (PyObject_CheckBuffer(obj)) {
        if (PyObject_GetBuffer(obj, &d->view, PyBUF_SIMPLE) < 0)
            return -1;
        d->has_view = 1;
        d->data = d->view.buf;
        n = d->view.len;
    } else {
        smempy_type_error("a value is bytes-like or str", obj);
        return -1;
    }
    d->len = (size_t)n;
    return 0;
}

void smempy_data_release(smempy_data *d)
{
    if (d->has_view)
        PyBuffer_Release(&d->view);
    d->has_view = 0;
}

/* ---- times -------------------------------------------------------------- */

/* OBJ (int or float) in seconds; -1 with TypeError for other types.  A
 * huge int is +-inf. */
static int seconds(PyObject *obj, double *out)
{
    if (PyFloat_Check(obj)) {
        *out = PyFloat_AsDouble(obj);
    } else if (PyLong_Check(obj)) {
        *out = PyLong_AsDouble(obj);
        if (*out == -1.0 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError))
                return -1;
            PyErr_Clear();
            *out = PyObject_RichCompareBool(obj, Py_False, Py_GT) == 1 ? INFINITY : -INFINITY;
        }
    } else {
        smempy_type_error("a time is int or float seconds, or None", obj);
        return -1;
    }
    return PyErr_Occurred() ? -1 : 0;
}

int smempy_timeout_ms(PyObject *obj, int none_ms, int *out)
{
    double s;
    if (!obj || obj == Py_None) {
        *out = none_ms;
        return 0;
    }
    if (seconds(obj, &s) < 0)
        return -1;
    if (isnan(s) || s < 0) {
        PyErr_SetString(PyExc_ValueError, "a timeout is seconds >= 0, or None");
        return -1;
    }
    double ms = ceil(s * 1000.0);
    *out = ms >= (double)INT32_MAX ? none_ms : (int)ms;
    return 0;
}

int smempy_ttl_ms(smempy_state *st, PyObject *region, PyObject *obj, int allow_zero,
                  uint64_t *out)
{
    double s;
    *out = 0;
    if (!obj || obj == Py_None)
        return 0;
    if (seconds(obj, &s) < 0)
        return -1;
    if (allow_zero && s == 0)
        return 0;
    if (isnan(s) || s <= 0) {
        smempy_invalid(st, SMEM_EINVAL, region, "a ttl is seconds > 0, or None");
        return -1;
    }
    double ms = ceil(s * 1000.0);
    if (ms >= (double)SMEM_TTL_MAX_MS) {
        smempy_invalid(st, SMEM_ERANGE, region, "a ttl is below 2**53 ms (SMEM_TTL_MAX_MS)");
        return -1;
    }
    *out = (uint64_t)ms;
    return 0;
}

static int64_t now_ms(void)
{
#ifdef _WIN32
    return (int64_t)GetTickCount64();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

int smempy_wait(int (*wait_fn)(void *ctx, int ms), void *ctx, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? 0 : now_ms() + timeout_ms;
    for (;;) {
        int slice = SMEMPY_WAIT_SLICE_MS, rc;
        if (timeout_ms >= 0) {
            int64_t left = deadline - now_ms();
            slice = left <= 0 ? 0 : left < slice ? (int)left : slice;
        }
        Py_BEGIN_ALLOW_THREADS
        rc = wait_fn(ctx, slice);
        Py_END_ALLOW_THREADS
        if (rc != SMEM_ETIMEDOUT)
            return rc;
        if (PyErr_CheckSignals() < 0)
            return 1;
        if (timeout_ms >= 0 && now_ms() >= deadline)
            return SMEM_ETIMEDOUT;
    }
}

/* ---- large reads -------------------------------------------------------- */

PyObject *smempy_read_big(smempy_head *h, int (*get_fn)(void *ctx, void *buf, size_t size,
                                                       size_t *len),
                          void *ctx, size_t len, int *rc)
{
    h->busy++;
    for (;;) {
        size_t size = len;
        PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
        if (!b) {
            *rc = 1;
            break;
        }
        char *buf = PyBytes_AsString(b); /* ours alone until returned */
        Py_BEGIN_ALLOW_THREADS
        *rc = get_fn(ctx, buf, size, &len);
        Py_END_ALLOW_THREADS
        if (*rc == 0 && len == size) {
            smempy_leave(h);
            return b;
        }
        if (*rc == 0) { /* it shrank between the two reads */
            PyObject *exact = PyBytes_FromStringAndSize(buf, (Py_ssize_t)len);
            Py_DECREF(b);
            *rc = exact ? 0 : 1;
            smempy_leave(h);
            return exact;
        }
        Py_DECREF(b);
        if (*rc != SMEM_E2BIG)
            break;
    }
    smempy_leave(h);
    return NULL;
}
