/*
 * module.c — the module sharedmem: its state, the exception classes, the
 * inspection functions (list_regions, stat, remove, gc), version,
 * and the multi-phase initialisation that makes the types.
 */
#include "common.h"

/* ---- region figures as a dict ------------------------------------------- */

static const char *kind_name(enum smem_kind k)
{
    switch (k) {
    case SMEM_KIND_REGION: return "region";
    case SMEM_KIND_VALUE: return "value";
    case SMEM_KIND_MAP: return "map";
    default: return "unknown";
    }
}

static const char *state_name(enum smem_state s)
{
    switch (s) {
    case SMEM_STATE_READY: return "ready";
    case SMEM_STATE_INITIALISING: return "initialising";
    case SMEM_STATE_STALE: return "stale";
    default: return "bad";
    }
}

static PyObject *info_dict(const smem_info *i)
{
    return Py_BuildValue(
        "{sssssssnsnsnsnsNsNsisIsIsLsKsi}", "name", i->name, "kind", kind_name(i->kind), "state",
        state_name(i->state), "size", (Py_ssize_t)i->size, "capacity", (Py_ssize_t)i->capacity,
        "entries", (Py_ssize_t)i->entries, "max_value", (Py_ssize_t)i->max_value, "persistent",
        PyBool_FromLong(i->persistent), "in_use", PyBool_FromLong(i->in_use), "users", i->users,
        "uid", i->uid, "mode", i->mode, "created", (long long)i->created, "memory",
        (unsigned long long)i->memory, "error", i->error);
}

/* ---- module functions --------------------------------------------------- */

static smempy_state *state_of(PyObject *module)
{
    return (smempy_state *)PyModule_GetState(module);
}

typedef struct {
    PyObject *list;
    int failed;
} list_ctx;

static int list_fn(const smem_info *info, void *arg)
{
    list_ctx *c = arg;
    PyObject *d = info_dict(info);
    if (!d || PyList_Append(c->list, d) < 0) {
        Py_XDECREF(d);
        c->failed = 1;
        return 1;
    }
    Py_DECREF(d);
    return 0;
}

static PyObject *list_regions(PyObject *module, PyObject *unused)
{
    (void)unused;
    list_ctx c = {PyList_New(0), 0};
    if (!c.list)
        return NULL;
    int rc = smem_region_list(list_fn, &c);
    if (c.failed || rc < 0) {
        Py_DECREF(c.list);
        return c.failed ? NULL : smempy_raise(state_of(module), rc, NULL, "list regions");
    }
    return c.list;
}

/* The one argument "name" (a str) of stat, remove and gc. */
static const char *name_arg(PyObject *module, const char *fname, PyObject *const *args,
                            Py_ssize_t nargs, PyObject *kwnames, PyObject **name)
{
    static const char *const kw[] = {"name", NULL};
    if (smempy_args(fname, args, nargs, kwnames, kw, 1, 1, name) < 0)
        return NULL;
    if (!PyUnicode_Check(*name)) {
        return smempy_type_error("a region name is a str", *name), NULL;
    }
    return smempy_name(state_of(module), *name);
}

static PyObject *stat_fn(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    PyObject *name;
    const char *n = name_arg(module, "stat", args, nargs, kwnames, &name);
    if (!n)
        return NULL;
    smem_info info;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smem_region_stat(n, &info);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return smempy_raise(state_of(module), rc, name, "stat");
    return info_dict(&info);
}

static PyObject *remove_fn(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    PyObject *name;
    const char *n = name_arg(module, "remove", args, nargs, kwnames, &name);
    if (!n)
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smem_region_remove(n);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return smempy_raise(state_of(module), rc, name, "remove");
    Py_RETURN_NONE;
}

/* gc(): every stale region of this user (of every program: a test suite
 * passes only names it made), as smem_region_gc(NULL). */
static PyObject *gc_every_region(PyObject *module)
{
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smem_region_gc(NULL);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return smempy_raise(state_of(module), rc, NULL, "gc of every region");
    return PyLong_FromLong(rc);
}

static PyObject *gc_fn(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                       PyObject *kwnames)
{
    int every = kwnames == NULL && (nargs == 0 || (nargs == 1 && args[0] == Py_None));
    if (every)
        return gc_every_region(module);
    PyObject *name;
    const char *n = name_arg(module, "gc", args, nargs, kwnames, &name);
    if (!n)
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smem_region_gc(n);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return smempy_raise(state_of(module), rc, name, "gc");
    return PyBool_FromLong(rc);
}

static PyObject *version_fn(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyUnicode_FromString(smem_version());
}

#define FASTCALL_KW(fn) (PyCFunction)(void (*)(void))(fn), METH_FASTCALL | METH_KEYWORDS

static PyMethodDef module_methods[] = {
    {"list_regions", list_regions, METH_NOARGS,
     "list_regions() -> list[dict]\n\nThe figures of every region (see stat), in no order."},
    {"stat", FASTCALL_KW(stat_fn),
     "stat(name) -> dict\n\nThe figures of region name, without attaching: name, kind "
     "('region', 'value',\n'map', 'unknown'), state ('ready', 'initialising', 'stale', "
     "'bad'), size, capacity,\nentries, max_value, persistent, in_use, users, uid, mode, "
     "created, memory, error\n(0, or the code saying why the state is 'bad').  NotFoundError "
     "if absent."},
    {"remove", FASTCALL_KW(remove_fn),
     "remove(name)\n\nRemoves the name; processes that have it open keep their memory.  "
     "NotFoundError if\nabsent."},
    {"gc", FASTCALL_KW(gc_fn),
     "gc(name=None) -> bool | int\n\nRemoves region name if it is stale (its users all "
     "died, or its creator\ndied initialising it): True if removed.  With no name, does "
     "that for every\nregion of this user, of every program, and returns how many it "
     "removed."},
    {"version", version_fn, METH_NOARGS, "version() -> str\n\nThe C library's version."},
    {NULL, NULL, 0, NULL},
};

/* ---- exceptions --------------------------------------------------------- */

static PyObject *new_error(PyObject *module, const char *name, const char *doc, PyObject *base,
                           PyObject *builtin)
{
    PyObject *bases = builtin ? PyTuple_Pack(2, base, builtin) : PyTuple_Pack(1, base);
    if (!bases)
        return NULL;
    PyObject *cls = PyErr_NewExceptionWithDoc(name, doc, bases, NULL);
    Py_DECREF(bases);
    if (cls && PyModule_AddObjectRef(module, strchr(name, '.') + 1, cls) < 0)
        Py_CLEAR(cls);
    return cls;
}

static int add_errors(PyObject *module, smempy_state *st)
{
    PyObject *dict = Py_BuildValue("{sOsOsO}", "code", Py_None, "errname", Py_None, "region",
                                   Py_None);
    if (!dict)
        return -1;
    st->Error = PyErr_NewExceptionWithDoc(
        "sharedmem.Error",
        "A sharedmem library error: .code (the negative SMEM_E* code), .errname\n"
        "('SMEM_ENOENT'), .region (the region's name or None).",
        PyExc_Exception, dict);
    Py_DECREF(dict);
    if (!st->Error || PyModule_AddObjectRef(module, "Error", st->Error) < 0)
        return -1;
#define ERR(field, doc, builtin)                                                               \
    if (!(st->field = new_error(module, "sharedmem." #field, doc, st->Error, builtin)))       \
        return -1;
    ERR(NotFoundError, "No such region (SMEM_ENOENT).", PyExc_FileNotFoundError)
    ERR(ExistsError, "The region exists and exclusive=True (SMEM_EEXIST).", PyExc_FileExistsError)
    ERR(PermissionDenied, "SMEM_EACCES, SMEM_EPERM, or a write through a read-only handle "
        "(SMEM_EBADF).", PyExc_PermissionError)
    ERR(Timeout, "Timed out (SMEM_ETIMEDOUT).", PyExc_TimeoutError)
    ERR(InvalidArgument, "SMEM_EINVAL, SMEM_ENAMETOOLONG, SMEM_E2BIG or SMEM_ERANGE.",
        PyExc_ValueError)
    ERR(Mismatch, "The region exists with another size or kind (SMEM_EMISMATCH).", NULL)
    ERR(Full, "The map is full (SMEM_EFULL).", NULL)
    ERR(Damaged, "Not a sharedmem region, damaged, or of another layout version "
        "(SMEM_EBADREGION, SMEM_EVERSION).", NULL)
#undef ERR
    return 0;
}

/* ---- the module --------------------------------------------------------- */

static PyObject *add_type(PyObject *module, PyType_Spec *spec)
{
    PyObject *t = PyType_FromModuleAndSpec(module, spec, NULL);
    if (t && PyModule_AddObjectRef(module, strchr(spec->name, '.') + 1, t) < 0)
        Py_CLEAR(t);
    return t;
}

static int module_exec(PyObject *module)
{
    smempy_state *st = state_of(module);
    if (add_errors(module, st) < 0)
        return -1;
    if (!(st->MapType = add_type(module, &smempy_map_spec)) ||
        !(st->ValueType = add_type(module, &smempy_value_spec)) ||
        !(st->RegionType = add_type(module, &smempy_region_spec)))
        return -1;
    if (PyModule_AddStringConstant(module, "__version__", SMEM_VERSION_STRING) < 0 ||
        PyModule_AddIntConstant(module, "NAME_MAX", SMEM_NAME_MAX) < 0 ||
        PyModule_AddIntConstant(module, "KEY_MAX", SMEM_MAP_KEY_MAX) < 0 ||
        PyModule_AddIntConstant(module, "MAP_VALUE_MAX", (long)SMEM_MAP_VALUE_MAX) < 0 ||
        PyModule_AddIntConstant(module, "MAP_ENTRIES_MAX", (long)SMEM_MAP_ENTRIES_MAX) < 0 ||
        PyModule_AddIntConstant(module, "VALUE_MAX", (long)SMEM_VALUE_MAX) < 0)
        return -1;
    return 0;
}

#define STATE_FIELDS(X)                                                                        \
    X(Error) X(NotFoundError) X(ExistsError) X(PermissionDenied) X(Timeout)                    \
    X(InvalidArgument) X(Mismatch) X(Full) X(Damaged) X(MapType) X(ValueType) X(RegionType)

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    smempy_state *st = state_of(module);
    if (!st)
        return 0;
#define VISIT(f) Py_VISIT(st->f);
    STATE_FIELDS(VISIT)
#undef VISIT
    return 0;
}

static int module_clear(PyObject *module)
{
    smempy_state *st = state_of(module);
    if (!st)
        return 0;
#define CLEAR(f) Py_CLEAR(st->f);
    STATE_FIELDS(CLEAR)
#undef CLEAR
    return 0;
}

static void module_free(void *module)
{
    module_clear(module);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, (void *)module_exec},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "sharedmem",
    .m_doc = "Named shared memory between processes: raw regions (Region), waitable values\n"
             "(Value) and maps with lock-free reads, expiry and eviction (Map).  A binding\n"
             "of the C library sharedmem, linked into this module.",
    .m_size = sizeof(smempy_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC PyInit_sharedmem(void);

PyMODINIT_FUNC PyInit_sharedmem(void)
{
    return PyModuleDef_Init(&module_def);
}
