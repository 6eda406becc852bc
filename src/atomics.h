/*
 * Atomic operations on words in shared memory, with the memory order in the
 * name.  Shared structures hold plain integers (they are copied, checked
 * and hashed as bytes); every concurrent access goes through these.
 * GCC, Clang and MinGW provide the builtins; another compiler adds its
 * branch here and nowhere else.
 */
#ifndef SMEM_ATOMICS_H
#define SMEM_ATOMICS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t smem__load_acquire_u32(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline uint32_t smem__load_relaxed_u32(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline uint32_t smem__load_seq_cst_u32(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static inline void smem__store_release_u32(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void smem__store_relaxed_u32(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void smem__store_seq_cst_u32(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static inline uint64_t smem__load_seq_cst_u64(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static inline void smem__store_seq_cst_u64(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static inline uint32_t smem__fetch_add_release_u32(uint32_t *p, uint32_t v)
{
    return __atomic_fetch_add(p, v, __ATOMIC_RELEASE);
}

static inline uint32_t smem__fetch_add_seq_cst_u32(uint32_t *p, uint32_t v)
{
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}

static inline int smem__load_acquire_int(const int *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline uint64_t smem__load_acquire_u64(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline uint64_t smem__load_relaxed_u64(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void smem__store_relaxed_u64(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void smem__store_release_u64(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline uint64_t smem__fetch_add_relaxed_u64(uint64_t *p, uint64_t v)
{
    return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

/* Compare-and-swap with acquire ordering on success (taking a lock). */
static inline int smem__cas_acquire_u64(uint64_t *p, uint64_t expected, uint64_t desired)
{
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

/* Compare-and-swap, seq_cst on success: the writer lock's waiters word,
 * whose every change must be ordered with the lock word (wlock.c). */
static inline int smem__cas_seq_cst_u32(uint32_t *p, uint32_t expected, uint32_t desired)
{
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_RELAXED);
}

static inline uint32_t smem__fetch_or_seq_cst_u32(uint32_t *p, uint32_t v)
{
    return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
}

static inline uint32_t smem__fetch_and_seq_cst_u32(uint32_t *p, uint32_t v)
{
    return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
}

/* Sets *P to V and gives what it was. */
static inline uint32_t smem__exchange_seq_cst_u32(uint32_t *p, uint32_t v)
{
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

/* A pointer in private memory that threads publish to each other. */
static inline void *smem__load_acquire_ptr(void *const *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Replaces *P with DESIRED if it still is EXPECTED: 1 if it did. */
static inline int smem__cas_release_ptr(void **p, void *expected, void *desired)
{
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}

static inline void smem__fence_acquire(void)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}

static inline void smem__fence_release(void)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void smem__fence_seq_cst(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* A hint to the CPU that we are spinning. */
static inline void smem__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/*
 * Copies to or from bytes that another process may be writing at the same
 * moment: a seqlock payload, which the reader checks afterwards and throws
 * away if a writer touched it.  That race is the seqlock's design, so the
 * copy is a plain memcpy; under ThreadSanitizer it is made of relaxed atomic
 * byte accesses instead, which are the same race stated in terms the tool
 * understands.
 */
#if defined(__SANITIZE_THREAD__)
#define SMEM__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SMEM__TSAN 1
#endif
#endif

static inline void smem__copy_from_shared(void *dst, const void *src, size_t n)
{
#ifdef SMEM__TSAN
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++)
        d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
#else
    memcpy(dst, src, n);
#endif
}

/* Whether N bytes that another process may be writing equal N private
 * bytes; a seqlock reader checks afterwards whether the answer counts. */
static inline int smem__equal_shared(const void *shared, const void *mine, size_t n)
{
#ifdef SMEM__TSAN
    const unsigned char *s = shared, *p = mine;
    for (size_t i = 0; i < n; i++)
        if (__atomic_load_n(&s[i], __ATOMIC_RELAXED) != p[i])
            return 0;
    return 1;
#else
    return memcmp(shared, mine, n) == 0;
#endif
}

static inline void smem__copy_to_shared(void *dst, const void *src, size_t n)
{
#ifdef SMEM__TSAN
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++)
        __atomic_store_n(&d[i], s[i], __ATOMIC_RELAXED);
#else
    memcpy(dst, src, n);
#endif
}

#endif
