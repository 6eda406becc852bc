/*
 * Windows only: the security of the named objects behind a region.
 *
 *  - what the library creates admits the creating user and nobody else:
 *    the owner is the user, the DACL is not NULL and has one entry, for
 *    the user (the seed's sample passes no security attributes at all);
 *  - a name that someone created first with other security (a NULL DACL,
 *    access for Everyone, the default descriptor) is refused with
 *    SMEM_EACCES, and the squatter's bytes are left as they were;
 *  - a name held by another kind of object is SMEM_EBADREGION;
 *  - a region's gate, semaphore and beacons never collide with another
 *    region's name;
 *  - smem_region_stat reports a squatted name as bad, with the reason.
 *
 * On Linux, test_squat and test_badfiles cover the same promises.
 */
#include "check.h"

#include <windows.h>
#include <aclapi.h>

#include <stdio.h>

/* ---- the user's SID and descriptors to squat with --------------------- */

static union {
    TOKEN_USER tu;
    unsigned char bytes[SECURITY_MAX_SID_SIZE + sizeof(TOKEN_USER)];
} me;

static PSID my_sid(void)
{
    HANDLE token;
    DWORD len;
    CHECK(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token));
    CHECK(GetTokenInformation(token, TokenUser, &me, sizeof me, &len));
    CloseHandle(token);
    return me.tu.User.Sid;
}

enum squat { NULL_DACL, EVERYONE, DEFAULT };

struct squat_sa {
    SECURITY_ATTRIBUTES sa;
    SECURITY_DESCRIPTOR sd;
    union {
        ACL acl;
        unsigned char bytes[256];
    } dacl;
    unsigned char world[SECURITY_MAX_SID_SIZE];
};

/* Security attributes for a squatter of kind HOW (NULL for DEFAULT). */
static SECURITY_ATTRIBUTES *squat_sa(struct squat_sa *s, enum squat how)
{
    if (how == DEFAULT)
        return NULL;
    CHECK(InitializeSecurityDescriptor(&s->sd, SECURITY_DESCRIPTOR_REVISION));
    if (how == NULL_DACL) {
        CHECK(SetSecurityDescriptorDacl(&s->sd, TRUE, NULL, FALSE));
    } else {
        DWORD n = sizeof s->world;
        CHECK(CreateWellKnownSid(WinWorldSid, NULL, s->world, &n));
        CHECK(InitializeAcl(&s->dacl.acl, sizeof s->dacl, ACL_REVISION));
        CHECK(AddAccessAllowedAce(&s->dacl.acl, ACL_REVISION, GENERIC_ALL, my_sid()));
        CHECK(AddAccessAllowedAce(&s->dacl.acl, ACL_REVISION, GENERIC_ALL, s->world));
        CHECK(SetSecurityDescriptorDacl(&s->sd, TRUE, &s->dacl.acl, FALSE));
    }
    s->sa.nLength = sizeof s->sa;
    s->sa.lpSecurityDescriptor = &s->sd;
    s->sa.bInheritHandle = FALSE;
    return &s->sa;
}

static void object_name(WCHAR *out, size_t cap, const char *name, const char *suffix)
{
    _snwprintf(out, cap, L"Local\\smem.%hs%hs", name, suffix);
    out[cap - 1] = 0;
}

/* ---- checks ------------------------------------------------------------ */

/* The object behind H is owned by the user and admits only the user. */
static void check_user_only(HANDLE h, const char *what)
{
    PSID owner;
    PACL dacl;
    PSECURITY_DESCRIPTOR sd;
    DWORD e = GetSecurityInfo(h, SE_KERNEL_OBJECT,
                              OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner, NULL,
                              &dacl, NULL, &sd);
    CHECKF(e == ERROR_SUCCESS, "%s: GetSecurityInfo: error %lu", what, e);
    CHECKF(owner && EqualSid(owner, my_sid()), "%s: not owned by the user", what);
    CHECKF(dacl != NULL, "%s: NULL DACL (open to everyone)", what);
    CHECKF(dacl->AceCount == 1, "%s: %u entries in the DACL, expected 1", what, dacl->AceCount);
    ACCESS_ALLOWED_ACE *ace;
    CHECK(GetAce(dacl, 0, (void **)&ace));
    CHECKF(ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE, "%s: not an allow entry", what);
    CHECKF(EqualSid((PSID)&ace->SidStart, my_sid()), "%s: the entry is not for the user", what);
    LocalFree(sd);
}

static void test_ours_are_private(void)
{
    char name[64];
    th_name(name, "mine");
    smem_region *r;
    CHECK_OK(smem_region_open(name, 4096, NULL, &r));

    WCHAR w[128];
    object_name(w, 128, name, "");
    HANDLE sec = OpenFileMappingW(READ_CONTROL, FALSE, w);
    CHECKF(sec != NULL, "open the region's section: error %lu", GetLastError());
    check_user_only(sec, "section");
    CloseHandle(sec);

    object_name(w, 128, name, ":gate");
    HANDLE gate = OpenMutexW(READ_CONTROL, FALSE, w);
    CHECKF(gate != NULL, "open the region's gate: error %lu", GetLastError());
    check_user_only(gate, "gate");
    CloseHandle(gate);
    smem_region_close(r);
}

/* A section squatted with HOW: the library refuses it and leaves its bytes. */
static void squat_section(enum squat how, const char *tag)
{
    char name[64];
    th_name(name, tag);
    struct squat_sa s;
    WCHAR w[128];
    object_name(w, 128, name, "");
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, squat_sa(&s, how), PAGE_READWRITE, 0,
                                  65536, w);
    CHECKF(h && GetLastError() != ERROR_ALREADY_EXISTS, "squat %s: error %lu", tag,
           GetLastError());
    unsigned char *p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    CHECK(p != NULL);
    th_pattern(p, 65536, 7);

    smem_region *r = NULL;
    CHECK_ERR(smem_region_open(name, 4096, NULL, &r), SMEM_EACCES);
    CHECK(r == NULL);
    smem_opts ro = {.flags = SMEM_RDONLY};
    CHECK_ERR(smem_region_open(name, 0, &ro, &r), SMEM_EACCES);
    smem_value *v = NULL;
    CHECK_ERR(smem_value_open(name, 64, NULL, &v), SMEM_EACCES);
    CHECK_ERR(smem_region_remove(name), SMEM_EACCES);

    smem_info info;
    CHECK_OK(smem_region_stat(name, &info));
    CHECK_EQ_INT(info.state, SMEM_STATE_BAD);
    CHECK_EQ_INT(info.error, SMEM_EACCES);

    CHECKF(th_pattern_ok(p, 65536, 7), "squat %s: the squatter's bytes changed", tag);
    UnmapViewOfFile(p);
    CloseHandle(h);
}

/* The gate's name squatted: the library refuses the region. */
static void squat_gate(enum squat how, const char *tag)
{
    char name[64];
    th_name(name, tag);
    struct squat_sa s;
    WCHAR w[128];
    object_name(w, 128, name, ":gate");
    HANDLE h = CreateMutexW(squat_sa(&s, how), FALSE, w);
    CHECK(h != NULL);
    smem_region *r = NULL;
    CHECK_ERR(smem_region_open(name, 4096, NULL, &r), SMEM_EACCES);
    CHECK_ERR(smem_region_stat(name, &(smem_info){0}), SMEM_ENOENT); /* no section was made */
    CloseHandle(h);
    CHECK_OK(smem_region_open(name, 4096, NULL, &r)); /* the name is free again */
    smem_region_close(r);
}

/* The region's name held by an event: not a region. */
static void test_other_kind(void)
{
    char name[64];
    th_name(name, "event");
    WCHAR w[128];
    object_name(w, 128, name, "");
    HANDLE h = CreateEventW(NULL, TRUE, FALSE, w);
    CHECK(h != NULL);
    smem_region *r = NULL;
    CHECK_ERR(smem_region_open(name, 4096, NULL, &r), SMEM_EBADREGION);
    CloseHandle(h);
}

/* A region's own objects never take another region's name: with X open
 * (and waited on, so its semaphore exists), X.gate and X.wake are regions
 * like any other. */
static void test_no_collisions(void)
{
    char name[64], other[80];
    th_name(name, "x");
    smem_value *x;
    CHECK_OK(smem_value_open(name, 64, NULL, &x));
    CHECK_ERR(smem_value_wait(x, smem_value_version(x), 1), SMEM_ETIMEDOUT);
    static const char *const suffixes[] = {".gate", ".wake", ".b.0000000000000001"};
    for (int i = 0; i < 3; i++) {
        snprintf(other, sizeof other, "%s%s", name, suffixes[i]);
        smem_region *r;
        CHECK_OK(smem_region_open(other, 4096, NULL, &r));
        CHECK(smem_region_created(r));
        smem_region_close(r);
    }
    smem_value_close(x);
}

int main(int argc, char **argv)
{
    static const th_helper none[] = {{NULL, NULL}};
    th_dispatch(argc, argv, none);

    test_ours_are_private();
    squat_section(NULL_DACL, "nulldacl");
    squat_section(EVERYONE, "everyone");
    squat_section(DEFAULT, "default");
    squat_gate(NULL_DACL, "gatenull");
    squat_gate(EVERYONE, "gateworld");
    test_other_kind();
    test_no_collisions();
    th_log("all security checks passed");
    return 0;
}
