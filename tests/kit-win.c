/* kit-win.c — the test kit on Windows: sections in the Local\ namespace,
 * CreateProcessW with anonymous pipes, exit codes (kit.h). */
#include "kit.h"

#include <windows.h>
#include <winternl.h>

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>

/* The status th_kill leaves: what a shell reports for a SIGKILLed process. */
#define KILLED_STATUS 137

/* ---- object names ----------------------------------------------------- */

/* L"Local\\" followed by OBJ, byte for byte (the names here are ASCII). */
static void local_name(wchar_t *w, size_t cap, const char *obj)
{
    static const char ns[] = "Local\\";
    size_t n = 0;
    for (const char *s = ns; *s; s++)
        w[n++] = (unsigned char)*s;
    for (const char *s = obj; *s; s++) {
        if (n + 1 >= cap)
            FAIL("object name too long: %.80s", obj);
        w[n++] = (unsigned char)*s;
    }
    w[n] = 0;
}

/* The wide name of the section of region NAME. */
static void section_name(wchar_t *w, size_t cap, const char *name)
{
    char obj[160];
    snprintf(obj, sizeof obj, "smem.%s", name);
    local_name(w, cap, obj);
}

char *th_shm_path(char *buf, const char *name)
{
    snprintf(buf, 128, "Local\\smem.%s", name);
    return buf;
}

int th_shm_exists(const char *name)
{
    wchar_t w[200];
    section_name(w, 200, name);
    HANDLE h = OpenFileMappingW(FILE_MAP_READ, FALSE, w);
    if (h) {
        CloseHandle(h);
        return 1;
    }
    DWORD e = GetLastError(); /* anything but "no such name" means it is there */
    return e != ERROR_FILE_NOT_FOUND && e != ERROR_PATH_NOT_FOUND && e != ERROR_BAD_PATHNAME &&
           e != ERROR_INVALID_NAME;
}

void *th_shm_look(const char *name)
{
    wchar_t w[200];
    section_name(w, 200, name);
    HANDLE h = OpenFileMappingW(FILE_MAP_READ, FALSE, w);
    if (!h)
        FAIL("looking at %s: error %lu", name, GetLastError());
    return h;
}

void th_shm_let_go(void *look)
{
    CloseHandle(look);
}

/* ---- planted objects: sections the kit holds open --------------------- */

struct planted {
    char obj[160];
    HANDLE h;
};
static struct planted *planted;
static size_t n_planted, cap_planted;

/* Security like that of the library's objects: the user owns it and
 * alone has access.  A planted object is then taken for one of the
 * library's own (a damaged one), not for a squatter's (SMEM_EACCES). */
static SECURITY_ATTRIBUTES *user_only(void)
{
    static SECURITY_ATTRIBUTES sa;
    static SECURITY_DESCRIPTOR sd;
    static union {
        TOKEN_USER tu;
        unsigned char bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } user;
    static union {
        ACL acl;
        unsigned char bytes[sizeof(ACL) + sizeof(ACCESS_ALLOWED_ACE) + SECURITY_MAX_SID_SIZE];
    } dacl;
    if (sa.nLength)
        return &sa;
    HANDLE token;
    DWORD len;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        FAIL("OpenProcessToken: error %lu", GetLastError());
    BOOL ok = GetTokenInformation(token, TokenUser, &user, sizeof user, &len);
    CloseHandle(token);
    PSID sid = user.tu.User.Sid;
    if (!ok || !InitializeAcl(&dacl.acl, sizeof dacl, ACL_REVISION) ||
        !AddAccessAllowedAce(&dacl.acl, ACL_REVISION, GENERIC_ALL, sid) ||
        !InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION) ||
        !SetSecurityDescriptorOwner(&sd, sid, FALSE) ||
        !SetSecurityDescriptorDacl(&sd, TRUE, &dacl.acl, FALSE))
        FAIL("making a security descriptor: error %lu", GetLastError());
    sa.lpSecurityDescriptor = &sd;
    sa.bInheritHandle = FALSE;
    sa.nLength = sizeof sa;
    return &sa;
}

void th_obj_plant(const char *obj, const void *buf, size_t len)
{
    wchar_t w[200];
    local_name(w, 200, obj);
    size_t size = len ? len : 1; /* a section cannot be empty */
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, user_only(), PAGE_READWRITE,
                                  (DWORD)((uint64_t)size >> 32), (DWORD)size, w);
    if (!h || GetLastError() == ERROR_ALREADY_EXISTS)
        FAIL("creating the section %s: error %lu", obj, h ? ERROR_ALREADY_EXISTS : GetLastError());
    if (buf) {
        void *v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, size);
        if (!v)
            FAIL("mapping the section %s: error %lu", obj, GetLastError());
        memcpy(v, buf, len);
        UnmapViewOfFile(v);
    }
    if (n_planted == cap_planted) {
        size_t cap = cap_planted ? 2 * cap_planted : 64;
        struct planted *p = realloc(planted, cap * sizeof *p);
        if (!p)
            FAIL("out of memory");
        planted = p;
        cap_planted = cap;
    }
    snprintf(planted[n_planted].obj, sizeof planted[n_planted].obj, "%s", obj);
    planted[n_planted++].h = h;
}

void th_obj_remove(const char *obj)
{
    for (size_t i = 0; i < n_planted; i++) {
        if (strcmp(planted[i].obj, obj) == 0) {
            CloseHandle(planted[i].h); /* the last handle: the section goes */
            planted[i] = planted[--n_planted];
            return;
        }
    }
}

void th_shm_unlink(const char *name)
{
    char obj[160];
    snprintf(obj, sizeof obj, "smem.%s", name);
    th_obj_remove(obj);
}

int th_shm_tables(const char *name)
{
    (void)name;
    return 0; /* maps do not grow on Windows yet */
}

/* ---- raw access to a region's section --------------------------------- */

/* src/os-win.c keeps 64 bytes of its own at the start of a section: a
 * magic number, then the exact size of the region after them. */
#define OS_PREFIX 64

/* Maps the whole section of region NAME; NULL if it does not exist.
 * *size is the size of the region in it. */
static unsigned char *map_section(const char *name, int write, size_t *size)
{
    wchar_t w[200];
    section_name(w, 200, name);
    DWORD access = write ? FILE_MAP_WRITE : FILE_MAP_READ;
    HANDLE h = OpenFileMappingW(access, FALSE, w);
    if (!h)
        return NULL;
    unsigned char *v = MapViewOfFile(h, access, 0, 0, 0);
    CloseHandle(h); /* the view keeps the section */
    if (!v)
        FAIL("mapping the section of %s: error %lu", name, GetLastError());
    MEMORY_BASIC_INFORMATION mi;
    if (VirtualQuery(v, &mi, sizeof mi) != sizeof mi || mi.RegionSize < OS_PREFIX)
        FAIL("the section of %s has no room for the OS prefix", name);
    uint64_t total;
    memcpy(&total, v + 8, sizeof total);
    *size = total < mi.RegionSize - OS_PREFIX ? (size_t)total : mi.RegionSize - OS_PREFIX;
    return v;
}

void th_shm_write(const char *name, uint64_t off, const void *buf, size_t len)
{
    size_t size;
    unsigned char *v = map_section(name, 1, &size);
    if (!v)
        FAIL("no section for %s (Windows cannot create one from outside)", name);
    if (off > size || len > size - off)
        FAIL("writing %zu bytes at %llu past the %zu bytes of %s", len, (unsigned long long)off,
             size, name);
    memcpy(v + OS_PREFIX + off, buf, len);
    UnmapViewOfFile(v);
}

ssize_t th_shm_read(const char *name, void *buf, size_t len)
{
    size_t size;
    unsigned char *v = map_section(name, 0, &size);
    if (!v)
        return -1;
    size_t n = len < size ? len : size;
    memcpy(buf, v + OS_PREFIX, n);
    UnmapViewOfFile(v);
    return (ssize_t)n;
}

int th_shm_resizable(void)
{
    return 0;
}

void th_shm_truncate(const char *name, uint64_t len)
{
    FAIL("cannot make the section of %s %llu bytes: a section's size is fixed", name,
         (unsigned long long)len);
}

ssize_t th_read_file(const char *path, void *buf, size_t len)
{
    int fd = _open(path, _O_RDONLY | _O_BINARY);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < len) {
        int n = _read(fd, (char *)buf + got, (unsigned)(len - got));
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    _close(fd);
    return (ssize_t)got;
}

/* ---- counting named objects ------------------------------------------- */

/* ntdll's object directories, which the SDK headers leave out. */
typedef struct {
    UNICODE_STRING name;
    UNICODE_STRING type;
} th_dir_entry;
NTSTATUS NTAPI NtOpenDirectoryObject(HANDLE *dir, ACCESS_MASK access, OBJECT_ATTRIBUTES *attr);
NTSTATUS NTAPI NtQueryDirectoryObject(HANDLE dir, void *buf, ULONG len, BOOLEAN single,
                                      BOOLEAN restart, ULONG *context, ULONG *ret_len);
#define TH_DIRECTORY_QUERY 0x0001
#define TH_STATUS_NO_MORE_ENTRIES ((NTSTATUS)0x8000001AL)

/* The directory behind "Local\": this session's BaseNamedObjects. */
static HANDLE open_local_dir(void)
{
    DWORD session = 0;
    wchar_t path[64];
    ProcessIdToSessionId(GetCurrentProcessId(), &session);
    if (session == 0)
        wcscpy(path, L"\\BaseNamedObjects");
    else
        swprintf(path, 64, L"\\Sessions\\%lu\\BaseNamedObjects", session);
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, path);
    OBJECT_ATTRIBUTES attr;
    InitializeObjectAttributes(&attr, &u, 0, NULL, NULL);
    HANDLE dir;
    NTSTATUS st = NtOpenDirectoryObject(&dir, TH_DIRECTORY_QUERY, &attr);
    if (st < 0)
        FAIL("opening %ls: status 0x%08lx", path, (unsigned long)st);
    return dir;
}

static int has_prefix(const UNICODE_STRING *name, const char *prefix)
{
    size_t len = strlen(prefix);
    if (name->Length / sizeof(wchar_t) < len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (name->Buffer[i] != (unsigned char)prefix[i])
            return 0;
    return 1;
}

int th_shm_count(const char *prefix)
{
    HANDLE dir = open_local_dir();
    union {
        th_dir_entry e;
        unsigned char bytes[4096];
    } buf;
    ULONG context = 0, ret_len;
    int n = 0;
    for (BOOLEAN restart = TRUE;; restart = FALSE) {
        NTSTATUS st =
            NtQueryDirectoryObject(dir, &buf, sizeof buf, TRUE, restart, &context, &ret_len);
        if (st == TH_STATUS_NO_MORE_ENTRIES)
            break;
        if (st < 0)
            FAIL("listing the Local namespace: status 0x%08lx", (unsigned long)st);
        n += has_prefix(&buf.e.name, prefix);
    }
    CloseHandle(dir);
    return n;
}

/* ---- this process ----------------------------------------------------- */

/* Wine 8 does not count handles (GetProcessHandleCount says 0): count the
 * handle values that are valid instead.  Handles are multiples of 4 and
 * the lowest free one is handed out first, so a long run of invalid
 * values means there are no more. */
static int probe_handles(void)
{
    int n = 0, misses = 0;
    for (uintptr_t v = 4; misses < 4096; v += 4) {
        DWORD flags;
        if (GetHandleInformation((HANDLE)v, &flags)) {
            n++;
            misses = 0;
        } else {
            misses++;
        }
    }
    return n;
}

int th_count_fds(void)
{
    DWORD n = 0;
    if (!GetProcessHandleCount(GetCurrentProcess(), &n) || n == 0)
        return probe_handles();
    return (int)n;
}

/* Allocations in our address space, of TYPE (MEM_MAPPED...) or any if 0. */
static int count_allocations(DWORD type)
{
    int n = 0;
    void *last = NULL;
    MEMORY_BASIC_INFORMATION mi;
    for (char *p = NULL; VirtualQuery(p, &mi, sizeof mi) == sizeof mi;
         p = (char *)mi.BaseAddress + mi.RegionSize) {
        if (mi.State == MEM_FREE || mi.AllocationBase == last)
            continue;
        last = mi.AllocationBase;
        n += !type || mi.Type == type;
    }
    return n;
}

int th_count_maps(void)
{
    return count_allocations(0);
}

int th_count_shm_maps(void)
{
    return count_allocations(MEM_MAPPED);
}

int64_t th_now_ms(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    return (int64_t)(now.QuadPart / freq.QuadPart * 1000 +
                     now.QuadPart % freq.QuadPart * 1000 / freq.QuadPart);
}

void th_sleep_ms(int ms)
{
    Sleep((DWORD)ms);
}

int th_is_root(void)
{
    return 0;
}

unsigned th_uid(void)
{
    return 0;
}

/* An unhandled exception ends the process at once with the exception's
 * code as its exit status, as Windows does after its error report, but
 * with no dialog and no debugger (Wine would start winedbg). */
static LONG WINAPI crash_filter(EXCEPTION_POINTERS *ep)
{
    DWORD code = ep->ExceptionRecord->ExceptionCode;
    char msg[128];
    int n = snprintf(msg, sizeof msg, "process %lu: unhandled exception 0x%08lx at %p\n",
                     GetCurrentProcessId(), code, ep->ExceptionRecord->ExceptionAddress);
    DWORD w;
    WriteFile(GetStdHandle(STD_ERROR_HANDLE), msg, (DWORD)n, &w, NULL);
    TerminateProcess(GetCurrentProcess(), code);
    return EXCEPTION_EXECUTE_HANDLER;
}

void th__os_init(void)
{
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    SetUnhandledExceptionFilter(crash_filter);
}

/* ---- helper processes: CreateProcessW of our own .exe ----------------- */

/* Appends ARG to the command line CMD (CAP wide characters) at *POS,
 * quoted the way the C runtime's argv parser undoes. */
static void append_arg(wchar_t *cmd, size_t cap, size_t *pos, const wchar_t *arg)
{
    size_t n = *pos;
#define PUT(c)                                                                 \
    do {                                                                       \
        if (n + 2 >= cap)                                                      \
            FAIL("helper command line too long");                              \
        cmd[n++] = (c);                                                        \
    } while (0)
    if (n)
        PUT(L' ');
    if (*arg && !wcspbrk(arg, L" \t\n\v\"")) {
        while (*arg)
            PUT(*arg++);
    } else {
        PUT(L'"');
        for (;; arg++) {
            size_t slashes = 0;
            while (*arg == L'\\') {
                slashes++;
                arg++;
            }
            /* backslashes are literal unless a quote (ours at the end,
             * or one in ARG) follows them: then they are doubled */
            size_t times = !*arg || *arg == L'"' ? 2 * slashes : slashes;
            for (size_t i = 0; i < times; i++)
                PUT(L'\\');
            if (!*arg)
                break;
            if (*arg == L'"')
                PUT(L'\\');
            PUT(*arg);
        }
        PUT(L'"');
    }
#undef PUT
    cmd[n] = 0;
    *pos = n;
}

/* A copy of a standard handle that a child can inherit (NULL if none). */
static HANDLE inheritable(DWORD which)
{
    HANDLE h = GetStdHandle(which), dup = NULL;
    if (h && h != INVALID_HANDLE_VALUE)
        DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &dup, 0, TRUE,
                        DUPLICATE_SAME_ACCESS);
    return dup;
}

/* The helper's ends of the pipes are inheritable, ours are not.  Helpers
 * are spawned from one thread at a time, so no other child inherits the
 * helper's ends by accident (they are closed before the next spawn). */
static void make_pipe(HANDLE *rd, HANDLE *wr, int ours_is_write)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    if (!CreatePipe(rd, wr, &sa, 0))
        FAIL("CreatePipe: error %lu", GetLastError());
    SetHandleInformation(ours_is_write ? *wr : *rd, HANDLE_FLAG_INHERIT, 0);
}

void th__os_spawn(th_proc *p, int extra_fd, const char *const *args)
{
    if (extra_fd >= 0)
        FAIL("th_spawn: passing a descriptor to a helper is not supported on Windows");
    static wchar_t exe[MAX_PATH], cmd[32768];
    if (!GetModuleFileNameW(NULL, exe, MAX_PATH))
        FAIL("GetModuleFileNameW: error %lu", GetLastError());
    size_t pos = 0;
    append_arg(cmd, 32768, &pos, exe);
    for (const char *const *a = args + 1; *a; a++) {
        wchar_t w[1024];
        if (!MultiByteToWideChar(CP_ACP, 0, *a, -1, w, 1024))
            FAIL("helper argument too long: %.80s", *a);
        append_arg(cmd, 32768, &pos, w);
    }

    HANDLE in_r, in_w, out_r, out_w;
    make_pipe(&in_r, &in_w, 1);
    make_pipe(&out_r, &out_w, 0);
    STARTUPINFOW si = {.cb = sizeof si, .dwFlags = STARTF_USESTDHANDLES};
    si.hStdInput = in_r;
    si.hStdOutput = out_w;
    si.hStdError = inheritable(STD_ERROR_HANDLE);
    PROCESS_INFORMATION pi;
    BOOL ok;
    DWORD err;
    /* Wine's CreateProcess now and then fails with ERROR_INTERNAL_ERROR
     * (1359) when a process was just terminated (twice in ~15 loaded
     * runs of value_kill, once in a serial CI run): the new process died
     * while starting.  What a test checks is never whether CreateProcess
     * works, so that one error gets a few more tries. */
    for (int tries = 0;; tries++) {
        ok = CreateProcessW(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
        err = GetLastError();
        if (ok || err != ERROR_INTERNAL_ERROR || tries == 4)
            break;
        Sleep(10);
    }
    CloseHandle(in_r);
    CloseHandle(out_w);
    if (si.hStdError)
        CloseHandle(si.hStdError);
    if (!ok)
        FAIL("starting %ls: error %lu", exe, err);
    CloseHandle(pi.hThread);
    p->pid = (pid_t)pi.dwProcessId;
    p->handle = pi.hProcess;
    p->to = _open_osfhandle((intptr_t)in_w, 0);
    p->from = _open_osfhandle((intptr_t)out_r, _O_RDONLY);
    if (p->to < 0 || p->from < 0)
        FAIL("_open_osfhandle failed");
}

static void write_all(HANDLE h, const char *buf, size_t len, const char *what)
{
    while (len > 0) {
        DWORD w;
        if (!WriteFile(h, buf, (DWORD)len, &w, NULL))
            FAIL("writing to %s: error %lu", what, GetLastError());
        buf += w;
        len -= w;
    }
}

void th__os_send(th_proc *p, const char *buf, size_t len)
{
    char what[32];
    snprintf(what, sizeof what, "helper %d", (int)p->pid);
    write_all((HANDLE)_get_osfhandle(p->to), buf, len, what);
}

/* 1 if reading H would not block: a byte is there, or the writer is gone
 * (the read then reports EOF). */
static int pipe_ready(HANDLE h)
{
    DWORD avail = 0;
    return !PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL) || avail > 0;
}

/* Anonymous pipes cannot be waited on: poll, yielding at first, then
 * sleeping a millisecond at a time. */
int th__os_poll(th_proc *p, int64_t deadline)
{
    HANDLE h = (HANDLE)_get_osfhandle(p->from);
    for (int spins = 0;; spins++) {
        if (pipe_ready(h))
            return 1;
        if (th_now_ms() >= deadline)
            return 0;
        Sleep(spins < 20 ? 0 : 1);
    }
}

/* One byte from H: 1, or 0 at EOF. */
static int read_byte(HANDLE h, char *c, const char *what)
{
    DWORD n;
    if (ReadFile(h, c, 1, &n, NULL))
        return n == 1;
    if (GetLastError() == ERROR_BROKEN_PIPE)
        return 0;
    FAIL("reading from %s: error %lu", what, GetLastError());
}

int th__os_recv(th_proc *p, char *c)
{
    char what[32];
    snprintf(what, sizeof what, "helper %d", (int)p->pid);
    return read_byte((HANDLE)_get_osfhandle(p->from), c, what);
}

void th__os_close_pipes(th_proc *p)
{
    if (p->to >= 0)
        _close(p->to);
    if (p->from >= 0)
        _close(p->from);
    p->to = p->from = -1;
}

/* HANDLE, or a new handle to process PID if it is NULL (*opened = 1). */
static HANDLE process_handle(pid_t pid, void *handle, DWORD access, int *opened)
{
    *opened = handle == NULL;
    if (handle)
        return handle;
    HANDLE h = OpenProcess(access, FALSE, (DWORD)pid);
    if (!h)
        FAIL("OpenProcess(%d): error %lu", (int)pid, GetLastError());
    return h;
}

int th__os_reap(pid_t pid, void *handle, int timeout_ms, int *status)
{
    int opened;
    HANDLE h = process_handle(pid, handle,
                              SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, &opened);
    DWORD r = WaitForSingleObject(h, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
    if (r == WAIT_TIMEOUT) {
        if (opened)
            CloseHandle(h);
        return 0;
    }
    DWORD code;
    if (r != WAIT_OBJECT_0 || !GetExitCodeProcess(h, &code))
        FAIL("waiting for process %d: error %lu", (int)pid, GetLastError());
    CloseHandle(h);
    *status = (int)code;
    return 1;
}

void th__os_kill(pid_t pid, void *handle)
{
    int opened;
    HANDLE h = process_handle(pid, handle, PROCESS_TERMINATE, &opened);
    TerminateProcess(h, KILLED_STATUS); /* fails only if it has ended */
    if (opened)
        CloseHandle(h);
}

/* An NTSTATUS error code as exit status: the process died of an
 * exception (0xC0000005 is an access violation). */
static int is_exception(int status)
{
    return ((DWORD)status & 0xF0000000u) == 0xC0000000u;
}

int th_exit_code(int status)
{
    return status == KILLED_STATUS || is_exception(status) ? -1 : status;
}

int th_was_killed(int status)
{
    return status == KILLED_STATUS;
}

int th_was_segv(int status)
{
    return (DWORD)status == EXCEPTION_ACCESS_VIOLATION;
}

const char *th_status_str(int status)
{
    static char buf[64];
    if (status == KILLED_STATUS)
        snprintf(buf, sizeof buf, "killed (TerminateProcess)");
    else if (is_exception(status))
        snprintf(buf, sizeof buf, "exception 0x%08lx", (unsigned long)(DWORD)status);
    else
        snprintf(buf, sizeof buf, "exit %d", status);
    return buf;
}

/* ---- in a helper: stdin and stdout ------------------------------------ */

void th__os_say(const char *buf, size_t len)
{
    write_all(GetStdHandle(STD_OUTPUT_HANDLE), buf, len, "the parent");
}

int th__os_listen(char *c)
{
    return read_byte(GetStdHandle(STD_INPUT_HANDLE), c, "the parent");
}

int th__os_listen_ready(void)
{
    return pipe_ready(GetStdHandle(STD_INPUT_HANDLE));
}

/* ---- starting gates: a named manual-reset event ----------------------- */

void th_gate_make(th_gate *g)
{
    static unsigned counter;
    wchar_t w[100];
    snprintf(g->id, sizeof g->id, "smemtest-gate-%lu-%u", GetCurrentProcessId(), counter++);
    local_name(w, 100, g->id);
    g->event = CreateEventW(NULL, TRUE, FALSE, w);
    if (!g->event)
        FAIL("CreateEventW(%s): error %lu", g->id, GetLastError());
    g->fd[0] = g->fd[1] = -1;
}

void th_gate_open(th_gate *g)
{
    SetEvent(g->event);
    CloseHandle(g->event);
    g->event = NULL;
}

void th_gate_wait(const char *id)
{
    wchar_t w[100];
    local_name(w, 100, id);
    HANDLE e = OpenEventW(SYNCHRONIZE, FALSE, w);
    if (!e) {
        /* The gate existed when we were given its id: if its name is gone,
         * the test has opened it and let go of it already. */
        if (GetLastError() == ERROR_FILE_NOT_FOUND)
            return;
        FAIL("OpenEventW(%s): error %lu", id, GetLastError());
    }
    DWORD r = WaitForSingleObject(e, 120000);
    CloseHandle(e);
    CHECKF(r == WAIT_OBJECT_0, "gate %s was not opened within 120 s", id);
}
