/*
 * The Windows OS layer's questions to ntdll: the handle count of an open's
 * users event (NtQueryObject), which is the users lock; smem__os_peek,
 * which looks at an object without taking its gate; and smem__os_list,
 * which reads the session's Local\ object directory
 * (NtQueryDirectoryObject).
 *
 * Invariant: in doubt, someone is there: a handle count that cannot be
 * read counts as another user, so that nothing is reset or removed on it;
 * an onlooker only ever holds an object for a moment and never counts as
 * one of its users.
 */
#include "os-win.h"

#include <winternl.h>

#include <string.h>

/* ------------------------------------------------------------------------ */
/* Handle counts: the users lock                                            */

/* Number of handles open to H, in every process.  NtQueryObject's handle
 * count is part of the documented PUBLIC_OBJECT_BASIC_INFORMATION. */
static long handle_count(HANDLE h)
{
    PUBLIC_OBJECT_BASIC_INFORMATION info;
    if (NtQueryObject(h, ObjectBasicInformation, &info, sizeof info, NULL) != 0)
        return -1;
    return (long)info.HandleCount;
}

/* 1 if someone besides the holder of H (an open's users event) holds it. */
int smem__win_users_besides(HANDLE h)
{
    long n = handle_count(h);
    return n < 0 ? 1 : n > 1; /* in doubt, someone is there: never reset it */
}

/* ------------------------------------------------------------------------ */
/* Inspection                                                               */

/* How many opens hold the users event of BASE besides the caller's look
 * (-1 if unknown). */
static int users_count(const WCHAR *base)
{
    WCHAR name[NAME_CAP];
    smem__win_sibling_name(name, base, L":users");
    HANDLE h = OpenEventW(SYNCHRONIZE, FALSE, name);
    if (!h)
        return GetLastError() == ERROR_FILE_NOT_FOUND ? 0 : -1;
    long n = handle_count(h);
    CloseHandle(h);
    return n < 0 ? -1 : (int)(n - 1);
}

int smem__os_peek(const char *name, smem__os_stat *st, void *buf, size_t len, uint64_t *end)
{
    memset(st, 0, sizeof *st);
    memset(buf, 0, len);
    *end = 0;
    int rc;
    if (!smem__win_user_only(&rc))
        return rc;
    WCHAR wname[NAME_CAP];
    smem__win_object_name(wname, name, L"");
    HANDLE h = OpenFileMappingW(FILE_MAP_READ | READ_CONTROL, FALSE, wname);
    if (!h)
        return smem__win_last_error();
    os_prefix *view = NULL;
    uint64_t size, total = 0;
    rc = smem__win_check_ours(h);
    if (rc == 0)
        rc = smem__win_map_section(h, FILE_MAP_READ, &view, &size, &total);
    if (rc == 0) {
        st->size = total;
        st->mode = view->mode & 0777;
        st->users = users_count(wname);
        st->others = st->users != 0;
        memcpy(buf, (char *)view + PREFIX_SIZE, len < total ? len : (size_t)total);
        if (total >= sizeof *end)
            memcpy(end, (char *)view + PREFIX_SIZE + total - sizeof *end, sizeof *end);
        UnmapViewOfFile(view);
    }
    CloseHandle(h);
    return rc;
}

/* The object directory behind Local\: NtQueryDirectoryObject lists it. */
typedef struct {
    UNICODE_STRING name;
    UNICODE_STRING type;
} dir_entry;

NTSTATUS NTAPI NtOpenDirectoryObject(PHANDLE, ACCESS_MASK, POBJECT_ATTRIBUTES);
NTSTATUS NTAPI NtQueryDirectoryObject(HANDLE, PVOID, ULONG, BOOLEAN, BOOLEAN, PULONG, PULONG);
#define DIRECTORY_QUERY 0x0001

static HANDLE open_local_directory(void)
{
    DWORD session = 0;
    WCHAR path[64] = L"\\BaseNamedObjects", digits[12];
    ProcessIdToSessionId(GetCurrentProcessId(), &session);
    if (session != 0) {
        int n = 0;
        do
            digits[n++] = (WCHAR)(L'0' + session % 10);
        while ((session /= 10) != 0);
        wcscpy(path, L"\\Sessions\\");
        size_t at = wcslen(path);
        while (n > 0)
            path[at++] = digits[--n];
        wcscpy(path + at, L"\\BaseNamedObjects");
    }
    UNICODE_STRING us = {(USHORT)(wcslen(path) * sizeof(WCHAR)),
                         (USHORT)(wcslen(path) * sizeof(WCHAR)), path};
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
    HANDLE dir;
    return NtOpenDirectoryObject(&dir, DIRECTORY_QUERY, &oa) == 0 ? dir : NULL;
}

/* If ENTRY is a section named smem.NAME, writes NAME into OUT: 1, else 0. */
static int region_name_of(const dir_entry *e, char *out)
{
    static const WCHAR prefix[] = L"smem.";
    size_t n = e->name.Length / sizeof(WCHAR), plen = wcslen(prefix);
    if (e->type.Length != 7 * sizeof(WCHAR) || wcsncmp(e->type.Buffer, L"Section", 7) != 0)
        return 0;
    if (n <= plen || n - plen > SMEM_NAME_MAX || wcsncmp(e->name.Buffer, prefix, plen) != 0)
        return 0;
    for (size_t i = plen; i < n; i++) {
        WCHAR c = e->name.Buffer[i];
        if (c > 127)
            return 0;
        out[i - plen] = (char)c;
    }
    out[n - plen] = 0;
    return smem_name_check(out) == 0;
}

int smem__os_list(int (*fn)(const char *name, void *arg), void *arg)
{
    HANDLE dir = open_local_directory();
    if (!dir)
        return 0; /* nothing we can look through: nothing found */
    union {
        dir_entry e;
        unsigned char bytes[4096];
    } buf;
    ULONG context = 0, len;
    BOOLEAN first = TRUE;
    /* One entry per call: simple, and a directory has few of them. */
    while (NtQueryDirectoryObject(dir, &buf, sizeof buf, TRUE, first, &context, &len) == 0) {
        char name[SMEM_NAME_MAX + 1];
        first = FALSE;
        if (region_name_of(&buf.e, name) && fn(name, arg))
            break;
    }
    CloseHandle(dir);
    return 0;
}
