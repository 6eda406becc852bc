/*
 * os-posix.c — THE OPERATING-SYSTEM-SPECIFIC PART of the `sharedmem` tool
 * (POSIX): user names, ids, binary streams, sleeping, and catching stop
 * signals for `hold` and `watch`.  All other files of the tool use only
 * the sharedmem API and standard C.  A Windows build provides the same
 * functions (cli.h) in os-win.c.
 */
#include "cli.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

int cli_os_has_uids(void)
{
    return 1;
}

int cli_os_user_name(unsigned uid, char *buf, size_t n)
{
    struct passwd pw, *res = NULL;
    size_t len = 1024;
    char *tmp = NULL;
    int rc;

    for (;;) {
        char *p = realloc(tmp, len);
        if (!p)
            break;
        tmp = p;
        rc = getpwuid_r((uid_t)uid, &pw, tmp, len, &res);
        if (rc == ERANGE && len < 1024 * 1024) {
            len *= 2;
            continue;
        }
        break;
    }
    if (res && res->pw_name && res->pw_name[0]) {
        snprintf(buf, n, "%s", res->pw_name);
        free(tmp);
        return 0;
    }
    free(tmp);
    return -1;
}

int cli_os_is_mine(unsigned uid)
{
    return (uid_t)uid == geteuid();
}

long cli_os_pid(void)
{
    return (long)getpid();
}

int cli_os_binary(FILE *f)
{
    (void)f; /* POSIX streams never translate bytes */
    return 0;
}

int cli_os_is_terminal(FILE *f)
{
    return isatty(fileno(f));
}

void cli_os_sleep_ms(int ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* rm never needs a holder's help here: removing a name works while
 * processes have the region open. */
void *cli_os_release_ask(const char *name)
{
    (void)name;
    return NULL;
}

void cli_os_release_end(void *request)
{
    (void)request;
}

/* ---------------------------------------------------------------------- */
/* Stop signals.  The handler only records the signal.  The signals stay
 * blocked outside sigsuspend(), so none is lost between the check of the
 * flag and going to sleep, and nothing busy-waits.                       */

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NSTOP (sizeof stop_signals / sizeof stop_signals[0])

static volatile sig_atomic_t stop_signo;
static struct sigaction saved_actions[NSTOP];
static sigset_t saved_mask;

static void on_stop_signal(int signo)
{
    stop_signo = signo;
}

int cli_os_stop_begin(const char *release_name)
{
    struct sigaction sa;
    sigset_t block;
    size_t i;

    (void)release_name; /* see cli_os_release_ask */
    sigemptyset(&block);
    for (i = 0; i < NSTOP; i++)
        sigaddset(&block, stop_signals[i]);
    if (sigprocmask(SIG_BLOCK, &block, &saved_mask) != 0)
        return -1;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    stop_signo = 0;
    for (i = 0; i < NSTOP; i++) {
        if (sigaction(stop_signals[i], &sa, &saved_actions[i]) != 0) {
            while (i-- > 0)
                sigaction(stop_signals[i], &saved_actions[i], NULL);
            sigprocmask(SIG_SETMASK, &saved_mask, NULL);
            return -1;
        }
    }
    return 0;
}

int cli_os_stop_wait(void)
{
    sigset_t wait_mask = saved_mask;
    size_t i;

    for (i = 0; i < NSTOP; i++)
        sigdelset(&wait_mask, stop_signals[i]);
    while (!stop_signo)
        sigsuspend(&wait_mask); /* returns after a handler ran */
    return (int)stop_signo;
}

int cli_os_stop_requested(void)
{
    sigset_t pending;
    size_t i;
    int any = 0;

    if (stop_signo)
        return (int)stop_signo;
    if (sigpending(&pending) != 0)
        return 0;
    for (i = 0; i < NSTOP; i++)
        if (sigismember(&pending, stop_signals[i]) == 1)
            any = 1;
    /* Let it in: with a stop signal pending, cli_os_stop_wait's sigsuspend
     * runs the handler and returns at once. */
    return any ? cli_os_stop_wait() : 0;
}

void cli_os_stop_end(void)
{
    size_t i;
    /* Unblock first, while our handler is still installed, so that a
     * second pending signal only sets the flag again. */
    sigprocmask(SIG_SETMASK, &saved_mask, NULL);
    for (i = 0; i < NSTOP; i++)
        sigaction(stop_signals[i], &saved_actions[i], NULL);
}
