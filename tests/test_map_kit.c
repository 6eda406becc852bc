/*
 * test_map_kit.c — helpers shared by the map tests (test_map_*.c).
 *
 * Not a test: each map test #includes this file (which includes the value
 * tests' kit, test_value_kit.c, for its PRNG, clocks, guarded buffers and
 * process pausing).  What it adds:
 *
 *   - keys made from an index, of many lengths (1 to SMEM_MAP_KEY_MAX
 *     bytes), and the index read back from a key;
 *   - self-checking map values: the bytes of a value say which key they
 *     belong to, which write made them, and prove that they are whole (a
 *     torn mix of two values, a truncated one, or another key's value
 *     fail tm_val_check); cheap to make and to check even when large;
 *   - how much slower this build is (sanitizers, Wine), to scale loops;
 *   - a yield, and a spin barrier for processes over a shared counter.
 */
#include "check.h"

#include "test_value_kit.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !TH_WINDOWS
#include <sched.h>
#endif

/* ---- how fast this build is ------------------------------------------- */

/* 1 under AddressSanitizer or ThreadSanitizer (several times slower, and
 * ThreadSanitizer starts helpers slowly), else 0. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TM_SANITIZED 1
#endif
#endif
#ifndef TM_SANITIZED
#define TM_SANITIZED 0
#endif

#if defined(__SANITIZE_THREAD__)
#define TM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TM_TSAN 1
#endif
#endif
#ifndef TM_TSAN
#define TM_TSAN 0
#endif

/* Divides a loop count for slow builds: by 4 under a sanitizer, and by
 * SLOW_WIN under Wine / Windows (where each helper start and each named
 * object costs a round trip to the wineserver). */
TV_UNUSED static long tm_scaled(long n, long slow_win)
{
    if (TH_WINDOWS)
        n /= slow_win;
    if (TM_SANITIZED)
        n /= 4;
    return n > 0 ? n : 1;
}

/* ---- yielding and a barrier ------------------------------------------- */

#if TH_WINDOWS
TV_UNUSED static void tm_yield(void)
{
    SwitchToThread();
}
#else
TV_UNUSED static void tm_yield(void)
{
    sched_yield();
}
#endif

/* Processes arrive at *COUNTER (shared memory) and wait until N have;
 * fails after TIMEOUT_MS (a helper died or is stuck). */
TV_UNUSED static void tm_barrier(uint32_t *counter, uint32_t n, int timeout_ms)
{
    __atomic_add_fetch(counter, 1, __ATOMIC_SEQ_CST);
    int64_t give_up = th_now_ms() + timeout_ms;
    for (unsigned spins = 0; __atomic_load_n(counter, __ATOMIC_SEQ_CST) < n; spins++) {
        tm_yield();
        if ((spins & 255) == 255 && th_now_ms() > give_up)
            FAIL("barrier: %u of %u arrived after %d ms", __atomic_load_n(counter, __ATOMIC_SEQ_CST),
                 n, timeout_ms);
    }
}

/* ---- keys -------------------------------------------------------------- */

#define TM_KEY_BUF (SMEM_MAP_KEY_MAX + 1)

/* The key of index I: "k<I>." padded with letters to a length between
 * the digits' and SMEM_MAP_KEY_MAX that depends on I, so a map holds keys
 * of every length, and sharing long prefixes.  Returns buf. */
TV_UNUSED static char *tm_key(char *buf, uint32_t i)
{
    int n = snprintf(buf, TM_KEY_BUF, "k%u.", (unsigned)i);
    size_t want = (size_t)n + (size_t)(tv_mix(i) % (SMEM_MAP_KEY_MAX + 1 - (size_t)n));
    for (size_t j = (size_t)n; j < want; j++)
        buf[j] = (char)('a' + (j * 7 + i) % 26);
    buf[want] = '\0';
    return buf;
}

/* The index of a key made by tm_key, or -1 if KEY is not one. */
TV_UNUSED static long tm_key_index(const char *key)
{
    if (key[0] != 'k')
        return -1;
    char *end;
    unsigned long i = strtoul(key + 1, &end, 10);
    if (end == key + 1 || *end != '.' || i > UINT32_MAX)
        return -1;
    char check[TM_KEY_BUF];
    if (strcmp(tm_key(check, (uint32_t)i), key) != 0)
        return -1;
    return (long)i;
}

/* ---- self-checking values --------------------------------------------- */

/*
 * The value written for key KEY as write COUNTER (> 0) by writer WRITER,
 * LEN bytes (LEN >= TM_VAL_MIN):
 *     0  u32 len
 *     4  u32 key
 *     8  u32 writer
 *    12  u32 0
 *    16  u64 counter
 *    24  u64 h = hash of the four fields above
 *    32  LEN - 40 bytes: byte i is (h >> 8 + i % 7) ^ i % 251, nonzero pattern
 * len-8  u64 h again
 * A torn mix of two values differs from both in the payload (a page of
 * one and a page of the other) or in the trailer; a value of another key
 * has another key field.
 */
#define TM_VAL_MIN 40

typedef struct tm_val {
    size_t len;
    uint32_t key, writer;
    uint64_t counter;
} tm_val;

static uint64_t tm_val_hash(size_t len, uint32_t key, uint32_t writer, uint64_t counter)
{
    return tv_mix(tv_mix((uint64_t)len ^ ((uint64_t)key << 32)) ^ tv_mix(writer + 0x1234567ull) ^
                  counter);
}

static unsigned char tm_val_byte(uint64_t h, size_t i)
{
    return (unsigned char)((h >> (8 + i % 7)) ^ (i % 251));
}

TV_UNUSED static void tm_val_fill(void *buf, size_t len, uint32_t key, uint32_t writer,
                                  uint64_t counter)
{
    unsigned char *p = buf;
    if (len < TM_VAL_MIN)
        FAIL("tm_val_fill: length %zu below %d", len, TM_VAL_MIN);
    uint32_t l32 = (uint32_t)len, zero = 0;
    uint64_t h = tm_val_hash(len, key, writer, counter);
    memcpy(p, &l32, 4);
    memcpy(p + 4, &key, 4);
    memcpy(p + 8, &writer, 4);
    memcpy(p + 12, &zero, 4);
    memcpy(p + 16, &counter, 8);
    memcpy(p + 24, &h, 8);
    for (size_t i = 0; i < len - 40; i++)
        p[32 + i] = tm_val_byte(h, i);
    memcpy(p + len - 8, &h, 8);
}

/* NULL if BUF (LEN bytes) is a whole value, with what it says in *V (may
 * be NULL); else what is wrong with it. */
TV_UNUSED static const char *tm_val_check(const void *buf, size_t len, tm_val *v)
{
    const unsigned char *p = buf;
    if (len < TM_VAL_MIN)
        return "shorter than any value the test writes";
    uint32_t l32, key, writer, zero;
    uint64_t counter, h, h2;
    memcpy(&l32, p, 4);
    memcpy(&key, p + 4, 4);
    memcpy(&writer, p + 8, 4);
    memcpy(&zero, p + 12, 4);
    memcpy(&counter, p + 16, 8);
    memcpy(&h, p + 24, 8);
    memcpy(&h2, p + len - 8, 8);
    if (l32 != (uint32_t)len)
        return "length field differs from the length read (torn, or a stale header)";
    if (zero != 0 || h != tm_val_hash(len, key, writer, counter))
        return "header hash does not match (torn or damaged header)";
    if (h2 != h)
        return "trailer differs from the header (torn value)";
    for (size_t i = 0; i < len - 40; i++)
        if (p[32 + i] != tm_val_byte(h, i))
            return "payload differs from the header's pattern (torn value)";
    if (v) {
        v->len = len;
        v->key = key;
        v->writer = writer;
        v->counter = counter;
    }
    return NULL;
}

/* Fails (saying WHO) unless BUF is a whole value of key KEY. */
TV_UNUSED static tm_val tm_val_expect(const char *who, const void *buf, size_t len, uint32_t key)
{
    tm_val v;
    const char *bad = tm_val_check(buf, len, &v);
    if (bad)
        FAIL("%s: key %u: a value of %zu bytes is not whole: %s", who, (unsigned)key, len, bad);
    if (v.key != key)
        FAIL("%s: key %u returned a value of key %u (writer %u, write %llu)", who, (unsigned)key,
             (unsigned)v.key, (unsigned)v.writer, (unsigned long long)v.counter);
    return v;
}

/* Sets KEY's value (index I) to a value of LEN bytes; returns what set
 * returned. */
TV_UNUSED static int tm_set(smem_map *m, uint32_t i, size_t len, uint32_t writer,
                            uint64_t counter, unsigned char *scratch)
{
    char k[TM_KEY_BUF];
    tm_val_fill(scratch, len, i, writer, counter);
    return smem_map_set(m, tm_key(k, i), scratch, len);
}
