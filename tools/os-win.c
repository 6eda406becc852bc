/*
 * os-win.c — THE OPERATING-SYSTEM-SPECIFIC PART of the `sharedmem` tool
 * (Windows): the same functions as os-posix.c (see cli.h).  All other files
 * of the tool use only the sharedmem API and standard C.
 *
 * Windows has no numeric user ids: the library decides which objects are
 * ours, so every region it reports counts as ours and has no user name.
 * Stop requests are console control events (Ctrl-C, Ctrl-Break, closing
 * the console, logoff, shutdown); the handler, which Windows runs on a
 * thread of its own, only signals an event.
 */
#include "cli.h"

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <fcntl.h>
#include <io.h>

int cli_os_user_name(unsigned uid, char *buf, size_t n)
{
    (void)uid;
    (void)buf;
    (void)n;
    return -1;
}

int cli_os_is_mine(unsigned uid)
{
    (void)uid;
    return 1;
}

long cli_os_pid(void)
{
    return (long)GetCurrentProcessId();
}

int cli_os_binary(FILE *f)
{
    return _setmode(_fileno(f), _O_BINARY) == -1 ? -1 : 0;
}

static HANDLE stop_event; /* set by the handler */
static HANDLE done_event; /* set once the region is released */
static volatile LONG stop_type = -1;

static BOOL WINAPI on_console_event(DWORD type)
{
    InterlockedCompareExchange(&stop_type, (LONG)type, -1);
    SetEvent(stop_event);
    /* For these, Windows ends the process as soon as the handler returns:
     * give the main thread time to close the region first. */
    if (type == CTRL_CLOSE_EVENT || type == CTRL_LOGOFF_EVENT || type == CTRL_SHUTDOWN_EVENT)
        WaitForSingleObject(done_event, 5000);
    return TRUE;
}

int cli_os_stop_begin(void)
{
    stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    done_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!stop_event || !done_event || !SetConsoleCtrlHandler(on_console_event, TRUE)) {
        if (stop_event)
            CloseHandle(stop_event);
        if (done_event)
            CloseHandle(done_event);
        stop_event = done_event = NULL;
        return -1;
    }
    return 0;
}

int cli_os_stop_wait(void)
{
    WaitForSingleObject(stop_event, INFINITE);
    return (int)stop_type;
}

int cli_os_stop_requested(void)
{
    /* Not the event type itself: CTRL_C_EVENT is 0. */
    return WaitForSingleObject(stop_event, 0) == WAIT_OBJECT_0 ? 1 : 0;
}

void cli_os_stop_end(void)
{
    SetConsoleCtrlHandler(on_console_event, FALSE);
    SetEvent(done_event);
    /* The handles stay open: a handler still running on its own thread may
     * be using them, and the process is about to exit anyway. */
}
