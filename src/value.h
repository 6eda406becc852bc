/*
 * The value layer's internals that other parts of the library need.
 */
#ifndef SMEM_VALUE_H
#define SMEM_VALUE_H

#include <stddef.h>
#include <stdint.h>

/* For inspection: the capacity a value region of DATA_SIZE usable bytes
 * claims to have (STORED, the first word of its data), or 0 if that claim
 * does not fit the size. */
size_t smem__value_capacity_in(uint64_t stored, uint64_t data_size);

#endif
