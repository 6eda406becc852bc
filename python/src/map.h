/*
 * map.h — the methods of sharedmem.Map that map-ops.c defines (the writes
 * with options, counters, compare-and-set, the cache calls, versions,
 * waits and resize) for the type of map.c.
 */
#ifndef SMEMPY_MAP_H
#define SMEMPY_MAP_H

#include "common.h"

#define SMEMPY_FASTCALL(name)                                                                  \
    PyObject *name(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)

SMEMPY_FASTCALL(smempy_map_add);
SMEMPY_FASTCALL(smempy_map_cas);
SMEMPY_FASTCALL(smempy_map_incr);
SMEMPY_FASTCALL(smempy_map_set);
SMEMPY_FASTCALL(smempy_map_expire);
SMEMPY_FASTCALL(smempy_map_ttl);
SMEMPY_FASTCALL(smempy_map_get_stale);
SMEMPY_FASTCALL(smempy_map_version);
SMEMPY_FASTCALL(smempy_map_wait);
SMEMPY_FASTCALL(smempy_map_resize);
PyObject *smempy_map_flush(PyObject *self, PyObject *unused);
PyObject *smempy_map_stats(PyObject *self, PyObject *unused);

/* The docstrings of those methods. */
extern const char smempy_map_add_doc[], smempy_map_cas_doc[], smempy_map_incr_doc[],
    smempy_map_set_doc[], smempy_map_expire_doc[], smempy_map_ttl_doc[],
    smempy_map_get_stale_doc[], smempy_map_version_doc[], smempy_map_wait_doc[],
    smempy_map_flush_doc[], smempy_map_stats_doc[], smempy_map_resize_doc[];

/* Reads KEY (C string K) into a new bytes: the stack buffer, then a large
 * value without the GIL.  Returns the bytes, or NULL with *RC the library's
 * code (no exception set) or 1 (exception set).  STALE as for
 * smem_map_get_stale (NULL: a plain get). */
PyObject *smempy_map_read(smempy_map *self, const char *k, int *stale, int *rc);

/* Reads the map's current figures (the library's: a resize in any process
 * changes them) into SELF->max_entries and max_value; closed, leaves the
 * last ones seen. */
void smempy_map_figures(smempy_map *self);

#endif /* SMEMPY_MAP_H */
