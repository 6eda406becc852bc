/*
 * attach.h — the contract between dllshmem.c (portable) and the one small
 * OS-specific file the build picks, which runs the attach and detach when
 * the library is loaded and unloaded:
 *
 *   attach-posix.c  __attribute__((constructor)) / ((destructor))
 *   (Windows)       DllMain: DLL_PROCESS_ATTACH / DLL_PROCESS_DETACH
 *
 * It is the seed's DllMain split in two: the switch on the reason lives in
 * the OS file, the work in dllshmem.c.
 */
#ifndef DLLSHMEM_ATTACH_H
#define DLLSHMEM_ATTACH_H

/* Called once when the library is loaded, before any exported function can
 * be called: opens the value.  Never fails the load: an error is kept and
 * returned by every call. */
void dllshmem__attach(void);

/* Called once when the library is unloaded (dlclose, FreeLibrary, process
 * exit): closes the value, after waiting a bounded time for calls still
 * running in other threads. */
void dllshmem__detach(void);

/* Called in the child right after a fork() (only async-signal-safe work):
 * the child's first call then attaches it on its own, since a value handle
 * belongs to the process that opened it.  Systems without fork never call
 * it. */
void dllshmem__forked(void);

/* Provided by the OS file: sleeps about one millisecond. */
void dllshmem__pause(void);

/* Provided by the OS file: the value of the environment variable VAR, or
 * NULL if it is not set.  Called only by the attach; the string stays
 * valid until the next call. */
const char *dllshmem__getenv(const char *var);

#endif
