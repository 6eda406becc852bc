/*
 * The OS layer on Windows.  An object NAME is a set of named kernel
 * objects in the session's Local\ namespace:
 *
 *   Local\smem.NAME          a pagefile-backed section: an OS prefix (below),
 *                            then the region the portable layers see
 *   Local\smem.NAME:gate     a mutex: the gate.  A holder that dies leaves
 *                            it "abandoned", which the next waiter is
 *                            given as owned (WAIT_ABANDONED)
 *   Local\smem.NAME:users    an event that every open holds a handle to
 *                            until it closes: the users lock
 *   Local\smem.NAME:wake     a semaphore that smem__os_wait sleeps on
 *   Local\smem.NAME:b.ID     an event that exists while beacon ID is lit
 *
 * The ':' is not allowed in region names, so no region's section can take
 * the name of another region's gate, semaphore or beacon.
 *
 * Windows destroys a named object when its last handle closes, and a
 * process that dies loses its handles, so handle counts are the users
 * lock: "others attached" is the users event's handle count beyond our own.
 * Not the section's: an onlooker (smem_region_stat, `sharedmem ls`) opens
 * the section for a moment, and must not make a region it happens to keep
 * alive past its last user look used.  A region never outlives its last
 * user (SMEM_PERSIST needs a holder, such as `sharedmem hold`), and a name
 * cannot be removed while someone still has it open.
 *
 * Every object is created with a security descriptor that gives the
 * calling user, and nobody else, access; an object that exists with any
 * other owner or access list is refused (SMEM_EACCES).
 *
 * This file owns the section and its OS prefix (open, reset, map), the
 * gate, the open and close of an object, waiting and beacons, and the
 * clocks.  The invariant it keeps: an open holds its users event from
 * under the gate until it closes, and drops it before giving up the gate,
 * so that whoever holds the gate counts exactly the opens attached.
 * Errors, names and security are in os-win-sec.c; handle counts, peek and
 * listing (ntdll) in os-win-nt.c; os-win.h holds what they share.
 */
#include "os-win.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Clocks                                                                   */

int64_t smem__os_now_ns(void)
{
    static LARGE_INTEGER freq; /* constant after boot; a racy first fill is harmless */
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    int64_t s = t.QuadPart / freq.QuadPart, rest = t.QuadPart % freq.QuadPart;
    return s * 1000000000 + rest * 1000000000 / freq.QuadPart;
}

int64_t smem__os_wall_seconds(void)
{
    FILETIME ft; /* 100 ns units since 1601 */
    GetSystemTimeAsFileTime(&ft);
    uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    return (int64_t)(t / 10000000) - INT64_C(11644473600);
}

#ifdef SMEM_CRASH_POINTS
void smem__os_die(void)
{
    TerminateProcess(GetCurrentProcess(), 137); /* the test kit's "killed" status */
}
#endif

/* Milliseconds for a wait that must end by DEADLINE_NS, rounded up so that
 * a short wait still sleeps rather than spinning. */
static DWORD ms_until(int64_t deadline_ns)
{
    int64_t left = deadline_ns - smem__os_now_ns();
    if (left <= 0)
        return 0;
    int64_t ms = (left + 999999) / 1000000;
    return ms > 0x7fffffff ? 0x7fffffff : (DWORD)ms;
}

/* ------------------------------------------------------------------------ */
/* The section                                                              */

static void drop_section(smem__os_obj *o)
{
    if (o->ctl)
        UnmapViewOfFile(o->ctl);
    if (o->section)
        CloseHandle(o->section);
    o->ctl = NULL;
    o->section = NULL;
    o->section_size = 0;
}

/* Opens the section if it exists: 0 (with o->section NULL if it does not)
 * or an error. */
static int open_section(smem__os_obj *o, smem__os_stat *st)
{
    HANDLE h = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE | READ_CONTROL, FALSE, o->name);
    if (!h) {
        DWORD e = GetLastError();
        return e == ERROR_FILE_NOT_FOUND ? 0 : smem__win_error(e);
    }
    int rc = smem__win_check_ours(h);
    uint64_t total = 0;
    if (rc == 0)
        rc = smem__win_map_section(h, FILE_MAP_READ | FILE_MAP_WRITE, &o->ctl, &o->section_size,
                                   &total);
    if (rc < 0) {
        CloseHandle(h);
        return rc;
    }
    o->section = h;
    st->size = total;
    st->mode = o->ctl->mode & 0777;
    st->others = smem__win_users_besides(o->users);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The gate                                                                 */

static int gate_wait(smem__os_obj *o, int64_t deadline_ns)
{
    switch (WaitForSingleObject(o->gate, ms_until(deadline_ns))) {
    case WAIT_OBJECT_0:
    case WAIT_ABANDONED: /* its holder died: the region layer sees what it left */
        o->gate_held = 1;
        return 0;
    case WAIT_TIMEOUT:
        return SMEM_ETIMEDOUT;
    default:
        return smem__win_last_error();
    }
}

int smem__os_gate_lock(smem__os_obj *o, int64_t deadline_ns)
{
    return gate_wait(o, deadline_ns);
}

void smem__os_gate_unlock(smem__os_obj *o)
{
    if (o->gate_held)
        ReleaseMutex(o->gate);
    o->gate_held = 0;
}

int smem__os_acquire(const char *name, unsigned how, unsigned mode, int64_t deadline_ns,
                     smem__os_obj **out, smem__os_stat *st)
{
    (void)mode; /* recorded by smem__os_reset, when the section is made */
    int rc;
    SECURITY_ATTRIBUTES *sa = smem__win_user_only(&rc);
    if (!sa)
        return rc;
    smem__os_obj *o = calloc(1, sizeof *o);
    if (!o)
        return SMEM_ENOMEM;
    smem__win_object_name(o->name, name, L"");
    WCHAR gate_name[NAME_CAP];
    smem__win_sibling_name(gate_name, o->name, L":gate");
    memset(st, 0, sizeof *st);

    rc = smem__win_create_ours(&o->gate, CreateMutexW(sa, FALSE, gate_name));
    if (rc == 0)
        rc = gate_wait(o, deadline_ns);
    if (rc == 0) {
        /* Taken under the gate, so that whoever holds it next counts us. */
        WCHAR users_name[NAME_CAP];
        smem__win_sibling_name(users_name, o->name, L":users");
        rc = smem__win_create_ours(&o->users, CreateEventW(sa, TRUE, FALSE, users_name));
    }
    if (rc == 0)
        rc = open_section(o, st);
    if (rc == 0 && !o->section && !(how & SMEM__OS_CREATE))
        rc = SMEM_ENOENT;
    if (rc < 0) {
        smem__os_close(o);
        return rc;
    }
    *out = o;
    return 0;
}

int smem__os_others_attached(smem__os_obj *o)
{
    return smem__win_users_besides(o->users);
}

int smem__os_attach(smem__os_obj *o)
{
    (void)o; /* the users event handle, held until close, is the attachment */
    return 0;
}

/*
 * Gives O a section of SIZE bytes under its name: a new one, committed in
 * full so that touching it can never fail later (*REUSED = 0), or, if an
 * onlooker still holds the old one (a name stays with its object), that
 * one when it is ours and big enough (*REUSED = 1, mapped).  Otherwise
 * waits a little for the onlooker to let go.
 */
static int create_section(smem__os_obj *o, uint64_t size, int *reused)
{
    int rc;
    SECURITY_ATTRIBUTES *sa = smem__win_user_only(&rc);
    int64_t give_up = smem__os_now_ns() + 1000000000;
    while (smem__os_now_ns() < give_up) {
        HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, sa, PAGE_READWRITE | SEC_COMMIT,
                                      (DWORD)(size >> 32), (DWORD)size, o->name);
        if (!h) {
            DWORD e = GetLastError();
            return e == ERROR_NOT_ENOUGH_MEMORY ? SMEM_ENOSPC : smem__win_error(e);
        }
        *reused = GetLastError() == ERROR_ALREADY_EXISTS;
        if (!*reused) {
            o->section = h;
            return 0;
        }
        rc = smem__win_check_ours(h);
        if (rc < 0) {
            CloseHandle(h);
            return rc;
        }
        if (smem__win_map_whole(h, FILE_MAP_READ | FILE_MAP_WRITE, &o->ctl, &o->section_size) == 0) {
            if (o->section_size >= size) {
                o->section = h;
                return 0;
            }
            UnmapViewOfFile(o->ctl);
            o->ctl = NULL;
        }
        CloseHandle(h);
        Sleep(1);
    }
    return SMEM_EBUSY;
}

int smem__os_reset(smem__os_obj *o, uint64_t total, unsigned mode)
{
    if (total > SMEM_SIZE_MAX + (uint64_t)4096)
        return SMEM_E2BIG;
    /* A section cannot be resized: ours goes with our handle, since nobody
     * else is attached, and a new one takes the name.  Windows fills new
     * sections with zeros; one that an onlooker kept is zeroed here. */
    drop_section(o);
    int reused = 0;
    int rc = create_section(o, PREFIX_SIZE + total, &reused);
    if (rc == 0 && !o->ctl)
        rc = smem__win_map_whole(o->section, FILE_MAP_READ | FILE_MAP_WRITE, &o->ctl, &o->section_size);
    if (rc == SMEM_ENOMEM) /* Wine commits lazily, and says so only here */
        rc = SMEM_ENOSPC;
    if (rc < 0) {
        drop_section(o);
        return rc;
    }
    if (reused)
        memset(o->ctl, 0, (size_t)(PREFIX_SIZE + total));
    o->ctl->total = total;
    o->ctl->mode = mode & 0777;
    o->ctl->magic = PREFIX_MAGIC;
    return 0;
}

int smem__os_map(smem__os_obj *o, uint64_t total, int rdonly, void **addr)
{
    if (!o->section)
        return SMEM_EBADF;
    if (total > o->section_size - PREFIX_SIZE)
        return SMEM_EBADREGION;
    char *p = MapViewOfFile(o->section, rdonly ? FILE_MAP_READ : FILE_MAP_READ | FILE_MAP_WRITE,
                            0, 0, (SIZE_T)(PREFIX_SIZE + total));
    if (!p)
        return smem__win_last_error();
    *addr = p + PREFIX_SIZE;
    return 0;
}

void smem__os_unmap(void *addr, uint64_t total)
{
    (void)total;
    if (addr)
        UnmapViewOfFile((char *)addr - PREFIX_SIZE);
}

int smem__os_unlink(smem__os_obj *o)
{
    /* A name goes with the last handle; it cannot be taken away from
     * processes that still have it open. */
    return smem__os_others_attached(o) ? SMEM_EBUSY : 0;
}

/* Tables (os.h) are not built here yet.  A section lives only as long as
 * some handle to it: a table made by a process that closes the map before
 * every other user has opened the table would take the map's entries
 * with it, so growth waits for a way to hand tables over. */
int smem__os_table_create(smem__os_obj *o, uint32_t gen, uint64_t total, void **addr)
{
    (void)o, (void)gen, (void)total, (void)addr;
    return SMEM_ENOTSUP;
}

int smem__os_table_open(smem__os_obj *o, uint32_t gen, int rdonly, void **addr, uint64_t *total)
{
    (void)o, (void)gen, (void)rdonly, (void)addr, (void)total;
    return SMEM_ENOTSUP;
}

int smem__os_table_drop(smem__os_obj *o, uint32_t gen)
{
    (void)o, (void)gen;
    return 0;
}

void smem__os_table_release(void *addr, uint64_t total)
{
    (void)addr, (void)total;
}

void smem__os_close(smem__os_obj *o)
{
    if (!o)
        return;
    /* Leave (drop the users handle) before giving up the gate, so that
     * whoever takes the gate next does not count us. */
    drop_section(o);
    if (o->users)
        CloseHandle(o->users);
    if (o->beacon)
        CloseHandle(o->beacon);
    if (o->wake)
        CloseHandle(o->wake);
    if (o->gate) {
        smem__os_gate_unlock(o);
        CloseHandle(o->gate);
    }
    free(o);
}

int smem__os_named(const smem__os_obj *o)
{
    (void)o; /* a section's name goes only with its last handle */
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Waiting: a semaphore and a count of sleepers in the prefix               */

/* The wake semaphore, opened at first use by whichever thread gets there
 * first; a loser closes its own handle. */
static HANDLE wake_semaphore(smem__os_obj *o)
{
    HANDLE h = o->wake;
    if (h)
        return h;
    int rc;
    SECURITY_ATTRIBUTES *sa = smem__win_user_only(&rc);
    WCHAR name[NAME_CAP];
    smem__win_sibling_name(name, o->name, L":wake");
    if (!sa || smem__win_create_ours(&h, CreateSemaphoreW(sa, 0, 0x7fffffff, name)) < 0)
        return NULL;
    HANDLE prev = InterlockedCompareExchangePointer(&o->wake, h, NULL);
    if (prev) {
        CloseHandle(h);
        return prev;
    }
    return h;
}

/*
 * A sleeper counts itself in WAITERS, then checks the word, then sleeps;
 * a waker changes the word, then takes the whole count and releases that
 * many.  Both steps are full barriers (Interlocked*), so either the sleeper
 * sees the new word or the waker sees the sleeper.  Nobody ever decrements
 * the count: a sleeper that leaves on its own (timeout, word changed) leaves
 * one extra release behind, which makes some later sleep return early;
 * callers re-check, and that beats a lost wake.
 */
int smem__os_wait(smem__os_obj *o, const uint32_t *addr, uint32_t expected, int64_t timeout_ns)
{
    if (timeout_ns <= 0)
        return SMEM_ETIMEDOUT;
    HANDLE sem = o->ctl ? wake_semaphore(o) : NULL;
    if (!sem) { /* cannot sleep properly: sleep briefly and let the caller re-check */
        Sleep(1);
        return 0;
    }
    InterlockedIncrement(&o->ctl->waiters);
    if (*(const volatile uint32_t *)addr != expected)
        return 0;
    DWORD r = WaitForSingleObject(sem, ms_until(smem__os_now_ns() + timeout_ns));
    return r == WAIT_TIMEOUT ? SMEM_ETIMEDOUT : 0;
}

void smem__os_wake_all(smem__os_obj *o, uint32_t *addr)
{
    (void)addr; /* one semaphore per object: every sleeper wakes and re-checks */
    if (!o->ctl)
        return;
    LONG n = InterlockedExchange(&o->ctl->waiters, 0);
    if (n <= 0)
        return;
    HANDLE sem = wake_semaphore(o);
    if (sem)
        ReleaseSemaphore(sem, n < 65536 ? n : 65536, NULL);
}

/* ------------------------------------------------------------------------ */
/* Beacons: a named event that exists while its open does                  */

static void beacon_name(WCHAR *out, const smem__os_obj *o, uint64_t id)
{
    WCHAR suffix[24] = L":b.";
    for (int i = 0; i < 16; i++)
        suffix[3 + i] = L"0123456789abcdef"[(id >> (60 - 4 * i)) & 15];
    suffix[19] = 0;
    smem__win_sibling_name(out, o->name, suffix);
}

int smem__os_beacon_light(smem__os_obj *o, uint64_t id)
{
    if (id == 0 || id >= ((uint64_t)1 << 62))
        return SMEM_EINVAL;
    if (o->beacon)
        return SMEM_EEXIST;
    int rc;
    SECURITY_ATTRIBUTES *sa = smem__win_user_only(&rc);
    if (!sa)
        return rc;
    WCHAR name[NAME_CAP];
    beacon_name(name, o, id);
    rc = smem__win_create_ours(&o->beacon, CreateEventW(sa, TRUE, FALSE, name));
    if (rc == 0)
        __atomic_store_n(&o->beacon_id, id, __ATOMIC_RELEASE);
    return rc;
}

uint64_t smem__os_beacon_id(const smem__os_obj *o)
{
    return __atomic_load_n(&o->beacon_id, __ATOMIC_ACQUIRE);
}

const uint64_t *smem__os_beacon_word(const smem__os_obj *o)
{
    return &o->beacon_id;
}

int smem__os_beacon_lit(smem__os_obj *o, uint64_t id)
{
    if (id == 0 || id >= ((uint64_t)1 << 62))
        return 0; /* not an id: no beacon can be lit for it */
    WCHAR name[NAME_CAP];
    beacon_name(name, o, id);
    HANDLE h = OpenEventW(SYNCHRONIZE, FALSE, name);
    if (h) {
        CloseHandle(h);
        return 1;
    }
    /* In doubt it is alive: waiting is safe, stealing is not. */
    return GetLastError() == ERROR_FILE_NOT_FOUND ? 0 : 1;
}
