/*
 * attach-posix.c — load and unload hooks on ELF systems: the counterpart of
 * the seed's DllMain (DLL_PROCESS_ATTACH / DLL_PROCESS_DETACH).  The loader
 * runs the constructor after libsharedmem's (a dependency is initialised
 * first) and before dlopen() returns or main() starts; the destructor runs
 * at dlclose() of the last reference, or at exit().  A process that dies
 * without exit() (a signal, _exit) skips the destructor; the value layer's
 * kernel lock still ends its attachment.
 *
 * fork() is the one thing DllMain never sees: the child inherits the
 * parent's attachment, which it may read but not write through, so the
 * child handler asks for a fresh attach on the child's first call.
 */
#include "attach.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static void after_fork_in_child(void)
{
    dllshmem__forked();
}

__attribute__((constructor)) static void dllshmem_load(void)
{
    /* glibc drops the handler again when the library is unloaded.  If it
     * cannot be registered, a forked child reads through the parent's
     * attachment and its sets give SMEM_EBADF. */
    pthread_atfork(NULL, NULL, after_fork_in_child);
    dllshmem__attach();
}

__attribute__((destructor)) static void dllshmem_unload(void)
{
    dllshmem__detach();
}

void dllshmem__pause(void)
{
    struct timespec ts = {0, 1000 * 1000};
    nanosleep(&ts, NULL);
}

const char *dllshmem__getenv(const char *var)
{
    return getenv(var);
}
