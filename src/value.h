/*
 * The value layer's internals that other parts of the library need.
 */
#ifndef SMEM_VALUE_H
#define SMEM_VALUE_H

#include "sharedmem.h"

#include <stdint.h>

/* For inspection (inspect.c): VHDR is a copy of the value header (the
 * first bytes of a value region's data, INFO->size of them in all).  Sets
 * INFO->capacity to the capacity it claims, or to 0 if that claim does not
 * fit the size; returns 0. */
int smem__value_figures(const uint64_t *vhdr, smem_info *info);

#endif
