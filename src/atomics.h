/*
 * Atomic operations on words in shared memory, with the memory order in the
 * name.  Shared structures hold plain integers (they are copied, checked
 * and hashed as bytes); every concurrent access goes through these.
 * GCC, Clang and MinGW provide the builtins; another compiler adds its
 * branch here and nowhere else.
 */
#ifndef SMEM_ATOMICS_H
#define SMEM_ATOMICS_H

#include <stdint.h>

static inline uint32_t smem__load_acquire_u32(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline uint32_t smem__load_relaxed_u32(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void smem__store_release_u32(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

#endif
