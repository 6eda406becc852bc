/*
 * utf.h — the few Unicode conversions dllshmem needs: UTF-8 in the shared
 * value, wchar_t (UTF-32 on Linux, UTF-16 on Windows) and UTF-8 at the API.
 * Plain portable C: no locale, no OS header, no allocation.
 *
 * A "scalar" is a Unicode code point that is not a surrogate:
 * 0..0xD7FF or 0xE000..0x10FFFF.  Only scalars are ever encoded.
 */
#ifndef DLLSHMEM_UTF_H
#define DLLSHMEM_UTF_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

/* What an ill-formed UTF-8 sequence reads as (see dllshmem__utf8_next). */
#define DLLSHMEM_UTF_INVALID UINT32_C(0xFFFFFFFF)
#define DLLSHMEM_UTF_REPLACEMENT UINT32_C(0xFFFD)

/*
 * Reads the character that starts S (N >= 1 bytes available; a NUL byte is
 * an ordinary one-byte character here).  Strict UTF-8: no overlong forms,
 * no surrogates, nothing above 0x10FFFF.
 *
 * A well-formed character: returns its length (1 to 4) and stores its
 * scalar in *CP.  An ill-formed one: stores DLLSHMEM_UTF_INVALID and
 * returns the length of its "maximal subpart" (1 to 3 bytes: the longest
 * prefix of S that could start a well-formed character), so that a decoder
 * replacing each such part with one U+FFFD follows the Unicode Standard's
 * recommended practice (chapter 3, "U+FFFD Substitution of Maximal
 * Subparts").
 */
size_t dllshmem__utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* The UTF-8 length of scalar CP (1 to 4). */
size_t dllshmem__utf8_len(uint32_t cp);

/* Writes scalar CP as UTF-8 into OUT (room for dllshmem__utf8_len(cp)
 * bytes); returns the bytes written. */
size_t dllshmem__utf8_put(unsigned char *out, uint32_t cp);

/*
 * Reads the character that starts the NUL-terminated wide string S, whose
 * first unit is not NUL.  Returns the units it takes (1, or 2 for a UTF-16
 * surrogate pair) and stores the scalar in *CP; returns 0 if S starts with
 * something that is not a character: a lone surrogate, or (UTF-32) a value
 * above 0x10FFFF or negative.
 */
size_t dllshmem__wide_next(const wchar_t *s, uint32_t *cp);

/* The wchar_t units scalar CP takes: 2 for a non-BMP scalar with UTF-16
 * wchar_t, else 1. */
size_t dllshmem__wide_len(uint32_t cp);

/* Writes scalar CP into OUT (room for dllshmem__wide_len(cp) units);
 * returns the units written. */
size_t dllshmem__wide_put(wchar_t *out, uint32_t cp);

#endif
