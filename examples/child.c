/*
 * child.c — the seed's child process, ported to Linux.
 *
 * Started by parent.c, it reads the string from the shared memory of
 * dllshmem and prints it.  Started alone, it finds the memory empty (it is
 * the first process to attach) and prints an empty string.
 */
#define _POSIX_C_SOURCE 200809L

#include "dllshmem.h"
#include "sharedmem.h"

#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#define MAX_PATH 260 /* the seed's buffer size */

int main(void)
{
    /* printf's %ls converts to the locale's character set.  The default
     * "C" locale is ASCII only, so then use C.UTF-8 (the text is stored as
     * UTF-8 anyway) if the system has it. */
    setlocale(LC_CTYPE, "");
    if (strcmp(nl_langinfo(CODESET), "ANSI_X3.4-1968") == 0)
        setlocale(LC_CTYPE, "C.UTF-8");

    wchar_t cBuf[MAX_PATH];
    int rc = GetSharedMem(cBuf, MAX_PATH);
    if (rc < 0) {
        printf("GetSharedMem failed (%s)\n", smem_strerror(rc));
        return 1;
    }
    printf("Child process read from shared memory: %ls\n", cBuf);
    return 0;
}
