/*
 * os-win.c — THE OPERATING-SYSTEM-SPECIFIC PART of the `sharedmem` tool
 * (Windows): the same functions as os-posix.c (see cli.h).  All other files
 * of the tool use only the sharedmem API and standard C.
 *
 * Windows has no numeric user ids: the library opens only the calling
 * user's own objects and reports uid 0, so every region counts as ours and
 * has no user name.
 *
 * Stop requests are console control events (Ctrl-C, Ctrl-Break, closing
 * the console, logoff, shutdown); the handler, which Windows runs on a
 * thread of its own, only signals an event.  `hold` also stops when
 * `sharedmem rm` asks it to let go of its region: a region cannot be
 * removed on Windows while a process keeps it open.  Every hold of NAME
 * waits on one named event, Local\sharedmem-hold.NAME, which rm sets.
 * Its prefix is not "smem.", the library's, so it never meets a region's
 * own objects.
 */
#include "cli.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <fcntl.h>
#include <io.h>

int cli_os_has_uids(void)
{
    return 0;
}

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

int cli_os_is_terminal(FILE *f)
{
    return _isatty(_fileno(f));
}

void cli_os_sleep_ms(int ms)
{
    Sleep((DWORD)ms);
}

/* ---------------------------------------------------------------------- */
/* The release event of a region name                                     */

#define RELEASE_PREFIX L"Local\\sharedmem-hold."
#define RELEASE_CAP (sizeof RELEASE_PREFIX / sizeof(WCHAR) + SMEM_NAME_MAX)

/* Local\sharedmem-hold.NAME into OUT (RELEASE_CAP characters).  The tool
 * checked NAME against the name grammar: it is ASCII. */
static void release_event_name(WCHAR *out, const char *name)
{
    size_t n = 0, i;
    for (i = 0; RELEASE_PREFIX[i]; i++)
        out[n++] = RELEASE_PREFIX[i];
    for (i = 0; name[i] && n < RELEASE_CAP - 1; i++)
        out[n++] = (WCHAR)(unsigned char)name[i];
    out[n] = 0;
}

/* Security attributes that give the calling user, and nobody else, access
 * to the release event (as the library does for a region's objects), so
 * that no other user can make our holds let go.  (Another user of the
 * session who made the name first either keeps us out, and hold fails, or
 * lets us in and can end our holds early: nothing worse.) */
static int user_only(SECURITY_ATTRIBUTES *sa, SECURITY_DESCRIPTOR *sd, ACL *acl, DWORD acl_size)
{
    union {
        TOKEN_USER user;
        unsigned char bytes[256]; /* TOKEN_USER and the SID it points to */
    } tok;
    HANDLE token;
    DWORD len;
    BOOL ok;

    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return -1;
    ok = GetTokenInformation(token, TokenUser, &tok, sizeof tok, &len);
    CloseHandle(token);
    /* The ACE keeps its own copy of the SID. */
    if (!ok || !InitializeAcl(acl, acl_size, ACL_REVISION) ||
        !AddAccessAllowedAce(acl, ACL_REVISION, EVENT_ALL_ACCESS, tok.user.User.Sid) ||
        !InitializeSecurityDescriptor(sd, SECURITY_DESCRIPTOR_REVISION) ||
        !SetSecurityDescriptorDacl(sd, TRUE, acl, FALSE))
        return -1;
    sa->nLength = sizeof *sa;
    sa->lpSecurityDescriptor = sd;
    sa->bInheritHandle = FALSE;
    return 0;
}

/* Opens (or creates, not set) the release event of NAME; NULL on error.
 * Every hold of NAME shares it, so one request releases them all. */
static HANDLE open_release_event(const char *name)
{
    union {
        ACL acl;
        unsigned char bytes[128]; /* one ACE with one SID */
    } acl;
    SECURITY_DESCRIPTOR sd;
    SECURITY_ATTRIBUTES sa;
    WCHAR wname[RELEASE_CAP];

    if (user_only(&sa, &sd, &acl.acl, sizeof acl) != 0)
        return NULL;
    release_event_name(wname, name);
    return CreateEventW(&sa, TRUE, FALSE, wname); /* manual reset */
}

void *cli_os_release_ask(const char *name)
{
    WCHAR wname[RELEASE_CAP];
    HANDLE h;

    release_event_name(wname, name);
    h = OpenEventW(EVENT_MODIFY_STATE, FALSE, wname);
    if (!h)
        return NULL; /* no hold of NAME is running */
    SetEvent(h);
    return h;
}

void cli_os_release_end(void *request)
{
    if (!request)
        return;
    /* The holds that were running have let go by now; one started since
     * must not find an old request and leave at once. */
    ResetEvent((HANDLE)request);
    CloseHandle((HANDLE)request);
}

/* ---------------------------------------------------------------------- */
/* Stop requests                                                          */

static HANDLE stop_event;    /* set by the console handler */
static HANDLE done_event;    /* set once the region is released */
static HANDLE release_event; /* set by `rm` (hold only), or NULL */

static BOOL WINAPI on_console_event(DWORD type)
{
    SetEvent(stop_event);
    /* For these, Windows ends the process as soon as the handler returns:
     * give the main thread time to close the region first. */
    if (type == CTRL_CLOSE_EVENT || type == CTRL_LOGOFF_EVENT || type == CTRL_SHUTDOWN_EVENT)
        WaitForSingleObject(done_event, 5000);
    return TRUE;
}

static void close_events(void)
{
    if (stop_event)
        CloseHandle(stop_event);
    if (done_event)
        CloseHandle(done_event);
    if (release_event)
        CloseHandle(release_event);
    stop_event = done_event = release_event = NULL;
}

int cli_os_stop_begin(const char *release_name)
{
    stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    done_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (release_name)
        release_event = open_release_event(release_name);
    if (!stop_event || !done_event || (release_name && !release_event) ||
        !SetConsoleCtrlHandler(on_console_event, TRUE)) {
        close_events();
        return -1;
    }
    return 0;
}

/* Waits up to MS milliseconds for a stop request: 1 if one came, else 0. */
static int wait_stop(DWORD ms)
{
    HANDLE h[2] = {stop_event, release_event};
    DWORD n = release_event ? 2 : 1;
    DWORD rc = WaitForMultipleObjects(n, h, FALSE, ms);
    return rc - WAIT_OBJECT_0 < n; /* WAIT_TIMEOUT and WAIT_FAILED are larger */
}

int cli_os_stop_wait(void)
{
    /* A failed wait (impossible with valid handles) ends it too, rather
     * than spinning. */
    wait_stop(INFINITE);
    return 1;
}

int cli_os_stop_requested(void)
{
    return wait_stop(0);
}

void cli_os_stop_end(void)
{
    SetConsoleCtrlHandler(on_console_event, FALSE);
    SetEvent(done_event);
    /* The stop and done events stay open: a handler still running on its
     * own thread may be using them, and the process is about to exit
     * anyway.  The release event goes now, so that it vanishes once every
     * hold of the name and the rm that set it have closed it. */
    if (release_event)
        CloseHandle(release_event);
    release_event = NULL;
}
