/*
 * region.c — the type sharedmem.Region: a named block of raw shared bytes,
 * exported through the buffer protocol (memoryview(r), numpy.frombuffer)
 * with no copy.  close() refuses while a buffer is exported, since the
 * memory would be unmapped under it.
 */
#include "common.h"

#define SELF ((smempy_region *)self)
#define ST (SELF->h.st)
#define NAME (SELF->h.name)

static int region_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    if (!SELF->h.handle) {
        smempy_closed(&SELF->h);
        view->obj = NULL;
        return -1;
    }
    if (PyBuffer_FillInfo(view, self, SELF->data, (Py_ssize_t)SELF->size, SELF->readonly,
                          flags) < 0)
        return -1;
    SELF->exports++;
    return 0;
}

static void region_releasebuffer(PyObject *self, Py_buffer *view)
{
    (void)view;
    SELF->exports--;
}

static Py_ssize_t region_length(PyObject *self)
{
    if (!smempy_handle(&SELF->h))
        return -1;
    return (Py_ssize_t)SELF->size;
}

static PyObject *get_size(PyObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromSize_t(SELF->size);
}

static PyObject *get_created(PyObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(SELF->created);
}

static PyObject *get_readonly(PyObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(SELF->readonly);
}

static void close_region(void *handle)
{
    smem_region_close(handle);
}

static PyObject *region_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kw[] = {"name",     "size", "create", "exclusive", "persist",
                         "readonly", "mode", "timeout", NULL};
    PyObject *name, *timeout = NULL;
    Py_ssize_t size = 0;
    int create = 1, exclusive = 0, persist = 0, readonly = 0, mode = 0600;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "U|n$ppppiO:Region", kw, &name, &size, &create,
                                     &exclusive, &persist, &readonly, &mode, &timeout))
        return NULL;
    PyObject *self = smempy_alloc(type, name, "region", close_region);
    if (!self)
        return NULL;
    smem_opts o;
    const char *cname = smempy_name(ST, name);
    if (!cname || smempy_opts(ST, &o, create, exclusive, persist, readonly, 0, mode, timeout) < 0)
        goto fail;
    if (size < 0) {
        smempy_invalid(ST, SMEM_EINVAL, name, "size is >= 0");
        goto fail;
    }
    smem_region *r;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smem_region_open(cname, (size_t)size, &o, &r);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        smempy_raise(ST, rc, name, "open region");
        goto fail;
    }
    SELF->h.handle = r;
    SELF->data = smem_region_data(r);
    SELF->size = smem_region_size(r);
    SELF->created = smem_region_created(r);
    SELF->readonly = readonly;
    return self;
fail:
    Py_DECREF(self);
    return NULL;
}

static PyObject *region_close(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (SELF->exports > 0) {
        PyErr_Format(PyExc_BufferError,
                     "region %U: cannot close while %zd buffer(s) (memoryview, array) use it",
                     NAME, SELF->exports);
        return NULL;
    }
    smempy_close_head(&SELF->h);
    SELF->data = NULL;
    Py_RETURN_NONE;
}

static PyObject *region_repr(PyObject *self)
{
    if (!SELF->h.handle)
        return PyUnicode_FromFormat("<sharedmem.Region %R closed>", NAME);
    return PyUnicode_FromFormat("<sharedmem.Region %R size=%zu%s>", NAME, SELF->size,
                                SELF->readonly ? " readonly" : "");
}

static PyMethodDef region_methods[] = {
    {"close", region_close, METH_NOARGS,
     "close()\n\nDetaches (the last user of a non-persistent region removes it).  Idempotent;\n"
     "BufferError (and the region stays open) while a buffer of it is exported."},
    {"__enter__", smempy_enter_method, METH_NOARGS, "Returns the region itself."},
    {"__exit__", (PyCFunction)(void (*)(void))smempy_exit_method, METH_FASTCALL,
     "Closes the region."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef region_getset[] = {
    {"name", smempy_get_name, NULL, "The region's name.", NULL},
    {"closed", smempy_get_closed, NULL, "True once close() was called.", NULL},
    {"size", get_size, NULL, "The usable bytes.", NULL},
    {"created", get_created, NULL, "True if this open created the region.", NULL},
    {"readonly", get_readonly, NULL, "True if opened read-only.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const char region_doc[] =
    "Region(name, size=0, *, create=True, exclusive=False, persist=False, readonly=False,\n"
    "       mode=0o600, timeout=5.0)\n\n"
    "A named block of shared memory of size bytes (0 attaches to an existing one).  It\n"
    "supports the buffer protocol: memoryview(r) and numpy.frombuffer(r) share its bytes\n"
    "without a copy (writable unless readonly).";

static PyType_Slot region_slots[] = {
    {Py_tp_doc, (void *)region_doc},
    {Py_tp_new, region_new},
    {Py_tp_dealloc, smempy_dealloc},
    {Py_tp_repr, region_repr},
    {Py_tp_methods, region_methods},
    {Py_tp_getset, region_getset},
    {Py_mp_length, region_length},
    {Py_bf_getbuffer, region_getbuffer},
    {Py_bf_releasebuffer, region_releasebuffer},
    {0, NULL},
};

PyType_Spec smempy_region_spec = {
    .name = "sharedmem.Region",
    .basicsize = sizeof(smempy_region),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = region_slots,
};
