/*
 * The map layer's internals that other parts of the library need.
 */
#ifndef SMEM_MAP_H
#define SMEM_MAP_H

#include <stddef.h>
#include <stdint.h>

/* For inspection: what the map header MHDR (its first 128 bytes, copied
 * out) of a map region with DATA_SIZE usable bytes says: 0, or
 * SMEM_EBADREGION if its figures do not fit the size. */
int smem__map_figures_in(const void *mhdr, uint64_t data_size, size_t *max_entries,
                         size_t *max_value, size_t *entries);

#endif
