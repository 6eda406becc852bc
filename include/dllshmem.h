/*
 * dllshmem — the seed's shared-memory DLL, as a library.
 *
 * Loading libdllshmem attaches the process to the value named
 * "dllmemfilemap" (or $DLLSHMEM_NAME), of 4096 bytes: the first process
 * creates it, the last one to detach removes it, unless `sharedmem hold`
 * keeps it.  Unloading (or exit) detaches.
 *
 * The text is stored as UTF-8, so the wide and narrow calls and the
 * `sharedmem` tool all see the same string.  "Characters" below are
 * elements of the caller's type, as in the seed's cch: wchar_t units for
 * the wide calls, bytes for the narrow ones.
 *
 * Set* stores the string, cut at a character boundary if it does not fit,
 * and returns the number of characters stored.  Get* writes at most CCH
 * elements including the terminating NUL, cut at a character boundary, and
 * returns the number of characters written without the NUL; CCH 0 writes
 * nothing and returns 0.  On failure they return a negative SMEM_E* code
 * (see sharedmem.h): SMEM_EINVAL for a NULL pointer or text that is not
 * valid Unicode, or the error that kept the library from attaching when it
 * was loaded.  No call ever writes outside its buffer.  Thread-safe.
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

DLLSHMEM_API int DLLSHMEM_CALL SetSharedMem(const wchar_t *s);
DLLSHMEM_API int DLLSHMEM_CALL GetSharedMem(wchar_t *buf, uint32_t cch);
DLLSHMEM_API int DLLSHMEM_CALL SetSharedMemA(const char *s);
DLLSHMEM_API int DLLSHMEM_CALL GetSharedMemA(char *buf, uint32_t cch);

#ifdef __cplusplus
}
#endif

#endif /* DLLSHMEM_H */
