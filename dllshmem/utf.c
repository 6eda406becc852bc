/*
 * utf.c — UTF-8 and wchar_t conversions for dllshmem (see utf.h).
 *
 * wchar_t is UTF-32 where it has 4 bytes (Linux and the other Unix
 * systems) and UTF-16 where it has 2 (Windows).  The code tests
 * sizeof(wchar_t) rather than the platform: one source, both encodings,
 * and the compiler drops the branch that does not apply.
 */
#include "utf.h"

_Static_assert(sizeof(wchar_t) == 2 || sizeof(wchar_t) == 4,
               "wchar_t must be UTF-16 (2 bytes) or UTF-32 (4 bytes)");

#define WIDE_IS_UTF16 (sizeof(wchar_t) == 2)

static int is_surrogate(uint32_t u)
{
    return u >= 0xD800 && u <= 0xDFFF;
}

size_t dllshmem__utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }

    /* The length the lead byte announces, its payload bits, and the range
     * the second byte must be in (the range excludes overlong forms,
     * surrogates and values above 0x10FFFF: Unicode Table 3-7). */
    size_t len;
    uint32_t c;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
        c = b & 0x1Fu;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        c = b & 0x0Fu;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        c = b & 0x07u;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else { /* a continuation byte, C0, C1 or F5..FF: never valid */
        *cp = DLLSHMEM_UTF_INVALID;
        return 1;
    }

    for (size_t i = 1; i < len; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *cp = DLLSHMEM_UTF_INVALID;
            return i; /* the maximal subpart: the bytes that were valid so far */
        }
        c = (c << 6) | (s[i] & 0x3Fu);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = c;
    return len;
}

size_t dllshmem__utf8_len(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

size_t dllshmem__utf8_put(unsigned char *out, uint32_t cp)
{
    size_t len = dllshmem__utf8_len(cp);
    static const unsigned char lead[5] = {0, 0x00, 0xC0, 0xE0, 0xF0};
    for (size_t i = len - 1; i > 0; i--) {
        out[i] = (unsigned char)(0x80 | (cp & 0x3F));
        cp >>= 6;
    }
    out[0] = (unsigned char)(lead[len] | cp);
    return len;
}

/* A wchar_t as an unsigned code unit (wchar_t is signed on some systems). */
static uint32_t unit(wchar_t w)
{
    return WIDE_IS_UTF16 ? (uint32_t)w & 0xFFFFu : (uint32_t)w;
}

size_t dllshmem__wide_next(const wchar_t *s, uint32_t *cp)
{
    uint32_t u = unit(s[0]);
    if (WIDE_IS_UTF16 && u >= 0xD800 && u <= 0xDBFF) {
        /* s[1] exists: s[0] is not NUL and the string is NUL-terminated. */
        uint32_t low = unit(s[1]);
        if (low < 0xDC00 || low > 0xDFFF)
            return 0;
        *cp = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
        return 2;
    }
    if (is_surrogate(u) || u > 0x10FFFF)
        return 0;
    *cp = u;
    return 1;
}

size_t dllshmem__wide_len(uint32_t cp)
{
    return WIDE_IS_UTF16 && cp > 0xFFFF ? 2 : 1;
}

size_t dllshmem__wide_put(wchar_t *out, uint32_t cp)
{
    if (dllshmem__wide_len(cp) == 2) {
        cp -= 0x10000;
        out[0] = (wchar_t)(0xD800 + (cp >> 10));
        out[1] = (wchar_t)(0xDC00 + (cp & 0x3FF));
        return 2;
    }
    out[0] = (wchar_t)cp;
    return 1;
}
