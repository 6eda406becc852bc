/*
 * attach-win.c — load and unload hooks on Windows: the seed's DllMain.
 * The loader calls it after the C runtime of the DLL and the DLLs it
 * imports (libsharedmem) are initialised, and before LoadLibrary returns
 * or the program's main starts.
 *
 * DllMain runs under the loader lock, so it does only what the seed's own
 * DllMain does: open or create named kernel objects and map a view.  No
 * LoadLibrary, no thread creation, and no waiting on another thread of
 * this process that might need the loader lock.  Opening and closing the
 * value take its gate, a named mutex, with the value layer's timeout: the
 * wait is for another *process* initialising or leaving the value, which
 * never needs our loader lock, and it is bounded.
 */
#include "attach.h"

#include <windows.h>

#include <string.h>

/*
 * FreeLibrary (RESERVED == NULL): a real detach, as on Linux.  Calls still
 * running in other threads of the process finish without the loader lock,
 * so the bounded wait in dllshmem__detach sees them out.
 *
 * Process exit (RESERVED != NULL): nothing.  By then Windows has terminated
 * every other thread wherever it was.  One may have died inside a call, so
 * that the count of running calls never drops and the detach would wait
 * its full 2 seconds for nothing (each busy_exit of test_dllshmem would); one
 * may have died holding a lock that closing the value needs, such as the C
 * runtime heap's.  Microsoft's advice for this case is to leave the
 * cleanup to the system, and here the system does all of it: the value's
 * attachment is its handles and view, which the exit closes (a mutex held
 * by a dead thread is abandoned, which the value layer recovers from), and
 * the last handle closed frees the memory.
 *
 * Thread notifications are left on (no DisableThreadLibraryCalls): they
 * cost nothing here, and the MinGW runtime linked into the DLL may rely on
 * them.
 */
BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, LPVOID reserved); /* windows.h has none */

BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, LPVOID reserved)
{
    (void)dll;
    switch (reason) {
    case DLL_PROCESS_ATTACH:
        dllshmem__attach(); /* never fails the load: calls report the error */
        break;
    case DLL_PROCESS_DETACH:
        if (reserved == NULL)
            dllshmem__detach();
        break;
    default: /* DLL_THREAD_ATTACH, DLL_THREAD_DETACH: nothing per thread */
        break;
    }
    return TRUE;
}

void dllshmem__pause(void)
{
    Sleep(1);
}

/*
 * The process's own environment, not a C runtime's copy of it: a program
 * may use another C runtime than this DLL (MSVC's UCRT, say), whose
 * _putenv this DLL's getenv would not see, while every runtime's _putenv
 * also sets the process's variable.
 */
const char *dllshmem__getenv(const char *var)
{
    static char value[4096];
    SetLastError(0); /* an empty variable also gives 0 */
    DWORD n = GetEnvironmentVariableA(var, value, sizeof value);
    if (n == 0 && GetLastError() == ERROR_ENVVAR_NOT_FOUND)
        return NULL;
    if (n >= sizeof value) {
        /* Too long for the buffer (left undefined), so far too long for a
         * region name: keep it so, to be refused rather than cut into a
         * name that might be valid. */
        memset(value, 'x', sizeof value - 1);
        n = sizeof value - 1;
    }
    value[n] = 0;
    return value;
}
