/*
 * The map layer's internals that other parts of the library need.
 */
#ifndef SMEM_MAP_H
#define SMEM_MAP_H

#include "sharedmem.h"

#include <stdint.h>

/* For inspection (inspect.c): fills INFO's capacity, max_value and
 * entries from MHDR, a copy of the map header (the first 128 bytes of a
 * map region's data, INFO->size of them in all): 0, or SMEM_EBADREGION if
 * its figures do not fit the size. */
int smem__map_figures(const uint64_t *mhdr, smem_info *info);

#endif
