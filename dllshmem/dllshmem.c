/*
 * dllshmem.c — the seed's shared-memory DLL (SetSharedMem / GetSharedMem)
 * on top of the value layer.  Portable: the load/unload hooks are in the
 * OS file the build picks (attach.h), the wchar_t encoding is found with
 * sizeof (utf.h).
 *
 * The seed copies strings into the mapped block without bounds or locks.
 * Here the block is a sharedmem value of DLLSHMEM_SIZE bytes holding UTF-8
 * text (its length is the byte count; no NUL is stored): every reader sees
 * a whole string, the copies are bounded on both sides, and the text is
 * checked on the way in and decoded defensively on the way out, since any
 * process may have written any bytes there.
 */
#include "dllshmem.h"

#include "attach.h"
#include "sharedmem.h"
#include "utf.h"

#include <stdatomic.h>

/* How long detach waits for calls still running in other threads before it
 * gives up and leaves the value attached (safe: the process's attachment
 * then ends when it exits). */
#define DETACH_WAIT_MS 2000

/* The attached value, NULL when not attached. */
static _Atomic(smem_value *) g_value;
/* What calls return when g_value is NULL: why the attach failed, or
 * SMEM_EBADF when the library is not (or no longer) attached. */
static atomic_int g_error = SMEM_EBADF;
/* Calls that have loaded g_value and may still use it. */
static atomic_int g_calls;
/* Set in the child of a fork(): the next call re-attaches (see attach.h). */
static atomic_int g_forked;
/* Serialises re-attaching with detaching. */
static atomic_flag g_lock = ATOMIC_FLAG_INIT;
/* The name attached to, for re-attaching. */
static char g_name[SMEM_NAME_MAX + 1];

static void lock(void)
{
    while (atomic_flag_test_and_set(&g_lock))
        dllshmem__pause();
}

static void unlock(void)
{
    atomic_flag_clear(&g_lock);
}

void dllshmem__attach(void)
{
    /* DLLSHMEM_NAME, when set, is the name, even if empty (then an invalid
     * one): a test or a second application never touches the default by
     * accident. */
    const char *name = dllshmem__getenv("DLLSHMEM_NAME");
    if (name == NULL)
        name = DLLSHMEM_DEFAULT_NAME;
    /* The first process creates the value, empty (the seed's memset); the
     * others attach to it. */
    smem_value *v = NULL;
    int rc = smem_value_open(name, DLLSHMEM_SIZE, NULL, &v);
    if (rc < 0) {
        atomic_store(&g_error, rc);
        return;
    }
    for (size_t i = 0; i < SMEM_NAME_MAX && name[i] != 0; i++) /* a valid name: it fits */
        g_name[i] = name[i];
    atomic_store(&g_value, v);
}

void dllshmem__forked(void)
{
    /* Only the forking thread lives on in the child: no call is in
     * progress, and nobody holds the lock. */
    atomic_store(&g_calls, 0);
    atomic_flag_clear(&g_lock);
    atomic_store(&g_forked, 1);
}

/* In a forked child, before its first call: leaves the inherited handle
 * (closing it leaves the parent's attachment alone) and opens the value
 * anew, as a user of its own.  Every thread of the child comes through here
 * before it can load g_value, so none is still using the old handle. */
static void reattach(void)
{
    lock();
    if (atomic_load(&g_forked)) {
        smem_value *old = atomic_exchange(&g_value, NULL);
        if (old != NULL) { /* else the attach had failed: keep its error */
            smem_value_close(old);
            smem_value *v = NULL;
            int rc = smem_value_open(g_name, DLLSHMEM_SIZE, NULL, &v);
            if (rc < 0)
                atomic_store(&g_error, rc);
            else
                atomic_store(&g_value, v);
        }
        atomic_store(&g_forked, 0);
    }
    unlock();
}

void dllshmem__detach(void)
{
    /* After the exchange no new call can get the value; wait for the ones
     * that already have it.  Both sides use sequentially consistent
     * operations: a call either counted itself before the exchange (and we
     * see it here) or sees NULL. */
    lock();
    smem_value *v = atomic_exchange(&g_value, NULL);
    unlock();
    if (v == NULL)
        return;
    for (int waited = 0; atomic_load(&g_calls) != 0; waited++) {
        if (waited >= DETACH_WAIT_MS)
            return; /* a call is stuck: leaking the handle beats freeing it under it */
        dllshmem__pause();
    }
    smem_value_close(v);
}

/* Starts a call: returns the value, or NULL with *err set. */
static smem_value *enter(int *err)
{
    if (atomic_load(&g_forked))
        reattach();
    atomic_fetch_add(&g_calls, 1);
    smem_value *v = atomic_load(&g_value);
    if (v == NULL) {
        atomic_fetch_sub(&g_calls, 1);
        *err = atomic_load(&g_error);
    }
    return v;
}

static void leave(void)
{
    atomic_fetch_sub(&g_calls, 1);
}

static int store(const unsigned char *text, size_t len)
{
    int err;
    smem_value *v = enter(&err);
    if (v == NULL)
        return err;
    err = smem_value_set(v, text, len);
    leave();
    return err;
}

/* Reads the stored bytes into BUF (DLLSHMEM_SIZE bytes); returns their
 * number or a negative code. */
static int load(unsigned char *buf)
{
    int err;
    smem_value *v = enter(&err);
    if (v == NULL)
        return err;
    size_t len = 0;
    err = smem_value_get(v, buf, DLLSHMEM_SIZE, &len, NULL);
    leave();
    if (err < 0)
        return err;
    return (int)(len < DLLSHMEM_SIZE ? len : DLLSHMEM_SIZE);
}

/* 0 if attached, else the code that calls return (for a Get* with CCH 0,
 * which reads nothing but still reports a failed attach). */
static int status(void)
{
    int err;
    if (enter(&err) == NULL)
        return err;
    leave();
    return 0;
}

/* The stored text is read up to its length or its first NUL byte. */
static size_t text_len(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == 0)
            return i;
    return len;
}

DLLSHMEM_API int DLLSHMEM_CALL SetSharedMem(const wchar_t *s)
{
    if (s == NULL)
        return SMEM_EINVAL;
    /* Encode what fits; check the whole string even past the cut, so that
     * whether bad text is refused does not depend on where it is. */
    unsigned char text[DLLSHMEM_SIZE];
    size_t len = 0, stored = 0; /* bytes in text, wchar_t units they came from */
    int full = 0;
    for (size_t i = 0; s[i] != 0;) {
        uint32_t cp;
        size_t units = dllshmem__wide_next(s + i, &cp);
        if (units == 0)
            return SMEM_EINVAL;
        if (!full && len + dllshmem__utf8_len(cp) <= sizeof text) {
            len += dllshmem__utf8_put(text + len, cp);
            stored += units;
        } else {
            full = 1;
        }
        i += units;
    }
    int rc = store(text, len);
    return rc < 0 ? rc : (int)stored;
}

DLLSHMEM_API int DLLSHMEM_CALL SetSharedMemA(const char *s)
{
    if (s == NULL)
        return SMEM_EINVAL;
    /* Valid UTF-8 is stored as it is, up to the last whole character that
     * fits. */
    const unsigned char *u = (const unsigned char *)s;
    size_t len = 0; /* bytes that fit */
    int full = 0;
    for (size_t i = 0; u[i] != 0;) {
        uint32_t cp;
        size_t n = dllshmem__utf8_next(u + i, 4, &cp); /* the NUL stops a short sequence */
        if (cp == DLLSHMEM_UTF_INVALID)
            return SMEM_EINVAL;
        i += n;
        if (!full && i <= DLLSHMEM_SIZE)
            len = i;
        else
            full = 1;
    }
    int rc = store(u, len);
    return rc < 0 ? rc : (int)len;
}

DLLSHMEM_API int DLLSHMEM_CALL GetSharedMem(wchar_t *buf, uint32_t cch)
{
    if (buf == NULL)
        return SMEM_EINVAL;
    if (cch == 0)
        return status();
    unsigned char text[DLLSHMEM_SIZE];
    int rc = load(text);
    if (rc < 0) {
        buf[0] = 0;
        return rc;
    }
    size_t len = text_len(text, (size_t)rc);
    size_t room = (size_t)cch - 1, out = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = dllshmem__utf8_next(text + i, len - i, &cp);
        if (cp == DLLSHMEM_UTF_INVALID)
            cp = DLLSHMEM_UTF_REPLACEMENT;
        if (dllshmem__wide_len(cp) > room - out)
            break;
        out += dllshmem__wide_put(buf + out, cp);
        i += n;
    }
    buf[out] = 0;
    return (int)out;
}

DLLSHMEM_API int DLLSHMEM_CALL GetSharedMemA(char *buf, uint32_t cch)
{
    if (buf == NULL)
        return SMEM_EINVAL;
    if (cch == 0)
        return status();
    unsigned char text[DLLSHMEM_SIZE];
    int rc = load(text);
    if (rc < 0) {
        buf[0] = 0;
        return rc;
    }
    static const unsigned char replacement[3] = {0xEF, 0xBF, 0xBD}; /* U+FFFD */
    size_t len = text_len(text, (size_t)rc);
    size_t room = (size_t)cch - 1, out = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = dllshmem__utf8_next(text + i, len - i, &cp);
        const unsigned char *from = cp == DLLSHMEM_UTF_INVALID ? replacement : text + i;
        size_t k = cp == DLLSHMEM_UTF_INVALID ? sizeof replacement : n;
        if (k > room - out)
            break;
        for (size_t j = 0; j < k; j++)
            buf[out + j] = (char)from[j];
        out += k;
        i += n;
    }
    buf[out] = 0;
    return (int)out;
}
