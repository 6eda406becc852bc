/*
 * Internal to the Windows OS layer: what its files share, and nothing else
 * includes it.  The layer is
 *
 *   os-win.c       the section (its OS prefix, reset, map), the gate, the
 *                  open and close, waiting, beacons; clocks
 *   os-win-nt.c    what ntdll tells: handle counts (the users lock), peek,
 *                  and listing the Local\ object directory
 *   os-win-sec.c   errors, object names, the security descriptor that
 *                  gives the calling user alone access to every object, and
 *                  mapping a section (the bottom: calls none of the others)
 *
 * The functions declared here are smem__win_*, never exported: a DLL
 * exports only what sharedmem.h marks, and the version script of the
 * Linux build only smem_*.
 */
#ifndef SMEM_OS_WIN_H
#define SMEM_OS_WIN_H

#include "os.h"

#include "sharedmem.h"

#include <windows.h>

#include <stdint.h>

/*
 * The first bytes of every section belong to this layer.  TOTAL is the
 * size the region layer asked for (Windows rounds a section up to pages,
 * and the region layer checks its header against the exact size).
 * WAITERS counts processes that may be asleep on the wake semaphore.
 * Like every byte in the section, all of it may be garbage: TOTAL is
 * checked against the section's real size before use.
 */
typedef struct os_prefix {
    uint64_t magic;
    uint64_t total;
    uint32_t mode;
    volatile LONG waiters;
    unsigned char reserved[40];
} os_prefix;

#define PREFIX_SIZE 64 /* keeps the region 64-byte aligned in the view */
#define PREFIX_MAGIC UINT64_C(0x58494665724d6d53) /* "SmMreFIX" */
_Static_assert(sizeof(os_prefix) == PREFIX_SIZE, "the OS prefix is 64 bytes");

#define OBJ_PREFIX L"Local\\smem."
#define NAME_CAP 128 /* OBJ_PREFIX + SMEM_NAME_MAX + ":b." + 16 hex digits */

struct smem__os_obj {
    HANDLE gate;           /* the mutex, always open */
    int gate_held;         /* owned by the calling thread */
    HANDLE users;          /* the users event, always open */
    HANDLE section;        /* NULL while the object is new (see reset) */
    os_prefix *ctl;        /* a view of the whole section, or NULL */
    uint64_t section_size; /* bytes in that view */
    HANDLE wake;           /* the semaphore, opened at first use */
    HANDLE beacon;         /* our beacon event, or NULL */
    uint64_t beacon_id;    /* its id (atomic), 0 if none */
    WCHAR name[NAME_CAP];  /* Local\smem.NAME */
};

/* os-win-sec.c: maps the whole of section H and measures it; the same
 * and checks its prefix (see there). */
int smem__win_map_whole(HANDLE h, DWORD access, os_prefix **view, uint64_t *size);
int smem__win_map_section(HANDLE h, DWORD access, os_prefix **view, uint64_t *size,
                          uint64_t *total);

/* os-win-sec.c: errors, names and security (see there). */
int smem__win_error(DWORD e);
int smem__win_last_error(void);
void smem__win_object_name(WCHAR *out, const char *name, const WCHAR *suffix);
void smem__win_sibling_name(WCHAR *out, const WCHAR *base, const WCHAR *suffix);
SECURITY_ATTRIBUTES *smem__win_user_only(int *err);
int smem__win_check_ours(HANDLE h);
int smem__win_create_ours(HANDLE *h, HANDLE handle);

/* os-win-nt.c: 1 if someone besides the holder of H (an open's users
 * event) holds it. */
int smem__win_users_besides(HANDLE h);

#endif
