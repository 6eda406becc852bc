/*
 * The bottom of the Windows OS layer, what its other files use: the one
 * place where Win32 errors become SMEM_E* codes, the names of an object's
 * kernel objects (Local\smem.NAME and its ':' siblings), the security
 * descriptor every object is created with, and the mapping of a section
 * with its prefix checked.  It calls nothing of os-win.c or os-win-nt.c.
 *
 * Invariant: every object this layer creates gives the calling user, and
 * nobody else, access, and one that already exists is used only if it has
 * exactly that owner and access list (else SMEM_EACCES).
 */
#include "os-win.h"

#include <aclapi.h>

#include <string.h>

/* ------------------------------------------------------------------------ */
/* Errors and names                                                         */

/* The one place where Win32 errors become SMEM_E* codes. */
int smem__win_error(DWORD e)
{
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
        return SMEM_ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD:
        return SMEM_EACCES;
    case ERROR_ALREADY_EXISTS:
        return SMEM_EEXIST;
    case ERROR_INVALID_HANDLE: /* the name belongs to another kind of object */
        return SMEM_EBADREGION;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        return SMEM_ENOMEM;
    case ERROR_COMMITMENT_LIMIT:
    case ERROR_DISK_FULL:
        return SMEM_ENOSPC;
    case ERROR_INVALID_PARAMETER:
        return SMEM_EINVAL;
    case ERROR_TOO_MANY_OPEN_FILES:
    case ERROR_NO_SYSTEM_RESOURCES:
        return SMEM_EMFILE;
    case ERROR_FILENAME_EXCED_RANGE:
        return SMEM_ENAMETOOLONG;
    case ERROR_BUSY:
        return SMEM_EBUSY;
    default:
        return SMEM_EIO;
    }
}

int smem__win_last_error(void)
{
    return smem__win_error(GetLastError());
}

/* OBJ_PREFIX NAME SUFFIX, widened (a checked name is ASCII). */
void smem__win_object_name(WCHAR *out, const char *name, const WCHAR *suffix)
{
    size_t n = wcslen(OBJ_PREFIX);
    memcpy(out, OBJ_PREFIX, n * sizeof(WCHAR));
    for (size_t i = 0; name[i] && i < SMEM_NAME_MAX; i++)
        out[n++] = (WCHAR)(unsigned char)name[i];
    for (size_t i = 0; suffix[i] && n < NAME_CAP - 1; i++)
        out[n++] = suffix[i];
    out[n] = 0;
}

/* BASE (an object's Local\smem.NAME) with SUFFIX appended, into OUT
 * (NAME_CAP wide chars). */
void smem__win_sibling_name(WCHAR *out, const WCHAR *base, const WCHAR *suffix)
{
    size_t n = wcslen(base);
    memcpy(out, base, n * sizeof(WCHAR));
    for (size_t i = 0; suffix[i] && n < NAME_CAP - 1; i++)
        out[n++] = suffix[i];
    out[n] = 0;
}

/* ------------------------------------------------------------------------ */
/* Security: the calling user only                                          */

static struct {
    INIT_ONCE once;
    int error;             /* 0, or why the descriptor could not be made */
    PSID user;             /* points into token_user */
    SECURITY_ATTRIBUTES sa;
    SECURITY_DESCRIPTOR sd;
    union {
        TOKEN_USER tu;
        unsigned char bytes[SECURITY_MAX_SID_SIZE + sizeof(TOKEN_USER)];
    } token_user;
    union {
        ACL acl;
        unsigned char bytes[sizeof(ACL) + sizeof(ACCESS_ALLOWED_ACE) + SECURITY_MAX_SID_SIZE];
    } dacl;
} sec = {.once = INIT_ONCE_STATIC_INIT};

static BOOL CALLBACK make_security(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once;
    (void)param;
    (void)ctx;
    HANDLE token;
    DWORD len;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
        sec.error = smem__win_last_error();
        return TRUE;
    }
    BOOL ok = GetTokenInformation(token, TokenUser, &sec.token_user, sizeof sec.token_user, &len);
    CloseHandle(token);
    sec.user = sec.token_user.tu.User.Sid;
    /* Owner: the user (not the Administrators group an elevated token
     * would put there by default); access: the user, with everything. */
    if (!ok || !InitializeAcl(&sec.dacl.acl, sizeof sec.dacl, ACL_REVISION) ||
        !AddAccessAllowedAce(&sec.dacl.acl, ACL_REVISION, GENERIC_ALL, sec.user) ||
        !InitializeSecurityDescriptor(&sec.sd, SECURITY_DESCRIPTOR_REVISION) ||
        !SetSecurityDescriptorOwner(&sec.sd, sec.user, FALSE) ||
        !SetSecurityDescriptorDacl(&sec.sd, TRUE, &sec.dacl.acl, FALSE)) {
        sec.error = smem__win_last_error();
        return TRUE;
    }
    sec.sa.nLength = sizeof sec.sa;
    sec.sa.lpSecurityDescriptor = &sec.sd;
    sec.sa.bInheritHandle = FALSE;
    return TRUE;
}

SECURITY_ATTRIBUTES *smem__win_user_only(int *err)
{
    InitOnceExecuteOnce(&sec.once, make_security, NULL, NULL);
    *err = sec.error;
    return sec.error ? NULL : &sec.sa;
}

/* 1 if every entry of DACL allows access to the user and nothing else. */
static int dacl_is_user_only(const ACL *dacl)
{
    if (!dacl || dacl->AceCount == 0)
        return 0; /* a NULL DACL lets everyone in */
    for (DWORD i = 0; i < dacl->AceCount; i++) {
        ACE_HEADER *ace;
        if (!GetAce((PACL)dacl, i, (void **)&ace) || ace->AceType != ACCESS_ALLOWED_ACE_TYPE)
            return 0;
        if (!EqualSid((PSID)&((ACCESS_ALLOWED_ACE *)ace)->SidStart, sec.user))
            return 0;
    }
    return 1;
}

/* 0 if the object behind H has the security we give ours, else
 * SMEM_EACCES: someone else made it first, or made it open to others. */
int smem__win_check_ours(HANDLE h)
{
    PSID owner;
    PACL dacl;
    PSECURITY_DESCRIPTOR sd;
    DWORD e = GetSecurityInfo(h, SE_KERNEL_OBJECT,
                              OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
                              NULL, &dacl, NULL, &sd);
    if (e != ERROR_SUCCESS)
        return smem__win_error(e);
    int ours = owner && EqualSid(owner, sec.user) && dacl_is_user_only(dacl);
    LocalFree(sd);
    return ours ? 0 : SMEM_EACCES;
}

/* Takes HANDLE, just returned by a Create* call for a named object (so
 * that GetLastError still tells whether the object existed): an object
 * that existed must be ours.  On success *H is HANDLE, else NULL and the
 * handle is closed. */
int smem__win_create_ours(HANDLE *h, HANDLE handle)
{
    DWORD e = GetLastError(); /* ERROR_ALREADY_EXISTS when opened */
    *h = NULL;
    if (!handle)
        return smem__win_error(e);
    if (e == ERROR_ALREADY_EXISTS) {
        int rc = smem__win_check_ours(handle);
        if (rc < 0) {
            CloseHandle(handle);
            return rc;
        }
    }
    *h = handle;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Mapping a section                                                        */

/* Maps the whole of section H and measures it. */
int smem__win_map_whole(HANDLE h, DWORD access, os_prefix **view, uint64_t *size)
{
    MEMORY_BASIC_INFORMATION mbi;
    os_prefix *p = MapViewOfFile(h, access, 0, 0, 0);
    if (!p)
        return smem__win_last_error();
    if (VirtualQuery(p, &mbi, sizeof mbi) == 0 || mbi.RegionSize < PREFIX_SIZE) {
        UnmapViewOfFile(p);
        return SMEM_EBADREGION;
    }
    *view = p;
    *size = mbi.RegionSize;
    return 0;
}

/* Maps the whole of section H and checks its prefix.  *TOTAL is 0 for a
 * section whose creator has not written the prefix yet. */
int smem__win_map_section(HANDLE h, DWORD access, os_prefix **view, uint64_t *size,
                          uint64_t *total)
{
    os_prefix *p = NULL; /* GCC cannot see that a 0 return sets it */
    int rc = smem__win_map_whole(h, access, &p, size);
    if (rc < 0)
        return rc;
    uint64_t magic = p->magic, t = p->total; /* each read once */
    if (!(magic == 0 && t == 0) && !(magic == PREFIX_MAGIC && t <= *size - PREFIX_SIZE)) {
        UnmapViewOfFile(p);
        return SMEM_EBADREGION;
    }
    *view = p;
    *total = t;
    return 0;
}
