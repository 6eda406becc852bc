/*
 * kit.h — the operating-system half of the test kit, private to it.
 * kit-posix.c and kit-win.c implement these for common.c (and the
 * OS-specific functions of check.h).  They fail the test themselves on
 * errors they cannot report otherwise.
 */
#ifndef SMEM_TEST_KIT_H
#define SMEM_TEST_KIT_H

#include "check.h"

/* Once per process, from th_dispatch: no SIGPIPE / no crash dialogs. */
void th__os_init(void);

/* Starts this program again with the arguments ARGS (NULL-terminated:
 * argv[0] as this process got it, "--helper", ROLE, ...) and pipes on its
 * stdin and stdout; fills *p. */
void th__os_spawn(th_proc *p, int extra_fd, const char *const *args);

/* Writes LEN bytes to the helper's stdin. */
void th__os_send(th_proc *p, const char *buf, size_t len);

/* 1 once the helper's stdout has a byte or is at EOF, 0 if not by
 * DEADLINE (th_now_ms).  Reads nothing. */
int th__os_poll(th_proc *p, int64_t deadline);

/* Reads one byte from the helper's stdout: 1, or 0 at EOF. */
int th__os_recv(th_proc *p, char *c);

/* Closes our ends of the pipes (to and from become -1). */
void th__os_close_pipes(th_proc *p);

/* Waits up to TIMEOUT_MS for the process PID (HANDLE on Windows) to end:
 * 1 with its raw *status, and frees what the kit held for it; 0 if it is
 * still running. */
int th__os_reap(pid_t pid, void *handle, int timeout_ms, int *status);

/* Kills the process the way th_kill does; it must still be reaped. */
void th__os_kill(pid_t pid, void *handle);

/* In a helper: writes LEN bytes to stdout; reads one byte from stdin
 * (1, or 0 at EOF); 1 if reading would not block. */
void th__os_say(const char *buf, size_t len);
int th__os_listen(char *c);
int th__os_listen_ready(void);

#endif
