/*
 * dllshmem — the seed's shared-memory DLL, as a library.
 *
 * Loading libdllshmem attaches the process to the value named
 * "dllmemfilemap" (or $DLLSHMEM_NAME), of 4096 bytes: the first process
 * creates it, the last one to detach removes it, unless `sharedmem hold`
 * keeps it.  Unloading (or exit) detaches.  $DLLSHMEM_NAME, when set, is
 * the name even if it is empty or invalid (then every call fails): a
 * program never falls back to the shared default by accident.  On Windows
 * the library is dllshmem.dll (import library libdllshmem.dll.a with
 * MinGW, dllshmem.lib with MSVC), which attaches and detaches from DllMain;
 * at process exit it leaves the detach to Windows, which closes the
 * process's handles anyway.
 *
 * The text is stored as UTF-8, so the wide and narrow calls and the
 * `sharedmem` tool all see the same string.  "Characters" below are
 * elements of the caller's type, as in the seed's cch: wchar_t units for
 * the wide calls, bytes for the narrow ones.  wchar_t is UTF-32 on Linux
 * and UTF-16 on Windows, where a character outside the BMP (an emoji)
 * counts 2.
 *
 * Set* stores the string, cut at a character boundary if it does not fit,
 * and returns the number of characters stored.  Get* writes at most CCH
 * elements including the terminating NUL, cut at a character boundary, and
 * returns the number of characters written without the NUL; CCH 0 writes
 * nothing and returns 0.  On failure they return a negative SMEM_E* code
 * (see sharedmem.h): SMEM_EINVAL for a NULL pointer or text that is not
 * valid Unicode, or the error that kept the library from attaching when it
 * was loaded.  No call ever writes outside its buffer.  Thread-safe.
 *
 * In more detail:
 *   - Set* checks the whole string, also the part past the cut: a lone
 *     surrogate, a code point above U+10FFFF, or (SetSharedMemA) bytes that
 *     are not strict UTF-8 (overlong forms, encoded surrogates, stray
 *     continuation bytes, truncated sequences) give SMEM_EINVAL and leave
 *     the stored string as it was.
 *   - The stored bytes may come from anything (`sharedmem set`, another
 *     program), so Get* reads them defensively: the text ends at the
 *     value's length or at its first NUL byte, and each ill-formed UTF-8
 *     sequence reads as one U+FFFD (Unicode's "maximal subpart" practice),
 *     for the wide call and the narrow one alike: GetSharedMemA writes
 *     U+FFFD's UTF-8 (EF BF BD), so what it gives is always valid UTF-8.
 *   - Get* writes the characters and the NUL, nothing else; on failure it
 *     leaves an empty string in BUF when CCH > 0.  A NULL BUF is
 *     SMEM_EINVAL whatever CCH; with CCH 0 and a library that failed to
 *     attach, Get* returns that error.
 *   - Errors: SMEM_EINVAL as above; the attach error (SMEM_EINVAL or
 *     SMEM_ENAMETOOLONG for a bad $DLLSHMEM_NAME, SMEM_EBADREGION or
 *     SMEM_EACCES for something else squatting the name, SMEM_EMISMATCH for
 *     a value of another size or a region of another kind, ...); the value
 *     layer's (SMEM_ETIMEDOUT if a writer in another process stays stuck,
 *     SMEM_EBADREGION if the memory was scribbled on); SMEM_EBADF once the
 *     library is being unloaded.
 *   - After fork(), the child attaches on its own at its first call (the
 *     parent's handle belongs to the parent); it is a user of the value
 *     from then on.
 *   - Any thread may call at any time while the library is loaded; when it
 *     is unloaded, detach waits (up to 2 seconds) for calls still running.
 */
#ifndef DLLSHMEM_H
#define DLLSHMEM_H

#include <stdint.h>
#include <wchar.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(DLLSHMEM_BUILD)
#define DLLSHMEM_API __declspec(dllexport)
#elif defined(_WIN32)
#define DLLSHMEM_API __declspec(dllimport)
#elif defined(__GNUC__)
#define DLLSHMEM_API __attribute__((visibility("default")))
#else
#define DLLSHMEM_API
#endif

#if defined(_WIN32)
#define DLLSHMEM_CALL __cdecl
#else
#define DLLSHMEM_CALL
#endif

/* The name and size of the seed's block. */
#define DLLSHMEM_DEFAULT_NAME "dllmemfilemap"
#define DLLSHMEM_SIZE 4096

/* Stores the NUL-terminated wide string S (UTF-32 or UTF-16), cut to the
 * whole characters whose UTF-8 fits in DLLSHMEM_SIZE bytes; returns the
 * wchar_t units stored. */
DLLSHMEM_API int DLLSHMEM_CALL SetSharedMem(const wchar_t *s);

/* Copies the stored string into BUF as wide text: at most CCH - 1 units of
 * whole characters, then a NUL; returns the units written before the NUL. */
DLLSHMEM_API int DLLSHMEM_CALL GetSharedMem(wchar_t *buf, uint32_t cch);

/* SetSharedMem for a NUL-terminated UTF-8 string; returns the bytes
 * stored. */
DLLSHMEM_API int DLLSHMEM_CALL SetSharedMemA(const char *s);

/* GetSharedMem as UTF-8: at most CCH - 1 bytes of whole characters, then a
 * NUL; returns the bytes written before the NUL. */
DLLSHMEM_API int DLLSHMEM_CALL GetSharedMemA(char *buf, uint32_t cch);

#ifdef __cplusplus
}
#endif

#endif /* DLLSHMEM_H */
