/*
 * parent.c — the seed's parent process, ported to Linux.
 *
 * It writes "This is a test string" into the shared memory of dllshmem,
 * starts the child program named on its command line, and waits for it.
 * The child reads the string back (see child.c):
 *
 *   $ ./parent ./child
 *
 *   Process is writing to shared memory...
 *
 *   Child process read from shared memory: This is a test string
 *
 * Loading libdllshmem attached this process to the shared memory before
 * main() started; the child attaches when it starts.  The memory lives as
 * long as one of them has it: the parent waits for the child, so the child
 * always finds the string, and when the parent exits too, it is gone.
 */
#define _POSIX_C_SOURCE 200809L

#include "dllshmem.h"
#include "sharedmem.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

/* Starts the program CMDLINE (looked up in PATH, like CreateProcess does
 * with a bare name) with any further arguments; returns its pid or -1. */
static pid_t create_child_process(char **cmdline)
{
    pid_t pid;
    int rc = posix_spawnp(&pid, cmdline[0], NULL, NULL, cmdline, environ);
    if (rc != 0) {
        printf("posix_spawn failed (%s)\n", strerror(rc));
        return -1;
    }
    return pid;
}

int main(int argc, char *argv[])
{
    if (argc == 1) {
        printf("Please specify an input file\n");
        return 0;
    }

    // Call the library function
    printf("\nProcess is writing to shared memory...\n\n");
    fflush(stdout); /* before the child writes to the same output */
    int rc = SetSharedMem(L"This is a test string");
    if (rc < 0) {
        printf("SetSharedMem failed (%s)\n", smem_strerror(rc));
        return 1;
    }

    // Start the child process that will read the memory
    pid_t child = create_child_process(argv + 1);
    if (child == -1)
        return 1;

    // Ensure this process is around until the child process terminates
    int status;
    while (waitpid(child, &status, 0) == -1) {
        if (errno != EINTR)
            return 1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
