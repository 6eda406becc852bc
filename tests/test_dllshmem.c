/*
 * dllshmem, the seed-compatible library: SetSharedMem / GetSharedMem and
 * their narrow twins, attach on load, detach on unload.
 *
 *   test_dllshmem PATH/TO/libdllshmem.so CASE     (Linux)
 *   test_dllshmem dllshmem.dll CASE               (Windows)
 *
 * The library attaches from its constructor (DllMain on Windows) to the
 * value named by $DLLSHMEM_NAME, so it must not be linked into this
 * program (it would attach to the default name before main runs).  Each
 * case sets DLLSHMEM_NAME to a unique name, then loads the library with
 * dlopen (LoadLibrary), in this process or in helper processes (which
 * inherit the environment).  Loading and unloading also exercise attach
 * and detach.
 *
 * On Windows wchar_t is UTF-16, so every case there runs the UTF-16 code
 * paths (surrogate pairs).  On Linux, test_dllshmem_wchar16 is the same
 * program with a 16-bit wchar_t, run on a library built the same way.
 */
#include "check.h"
#include "dllshmem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#define SIZE DLLSHMEM_SIZE

static const char *lib_path;

/* ---- what differs between the systems ---------------------------------- */

/*
 * lib_*: loading and unloading the library (dlopen, LoadLibrary);
 * check_exports: what it exports.
 * set_env: setting a variable that the library and helper processes see.
 * (The kit, check.h, does the rest.)
 */
#ifdef _WIN32

static const wchar_t *wide(const char *s)
{
    static wchar_t buf[MAX_PATH];
    CHECKF(MultiByteToWideChar(CP_ACP, 0, s, -1, buf, MAX_PATH) > 0, "path too long: %s", s);
    return buf;
}

/* The build passes the library's bare name: Windows looks for it beside
 * this program first, where the build puts both. */
static void *lib_load(const char *path)
{
    return LoadLibraryW(wide(path));
}

static int lib_unload(void *handle)
{
    return FreeLibrary(handle) ? 0 : -1;
}

static void *lib_sym(void *handle, const char *name)
{
    return (void *)GetProcAddress(handle, name);
}

static int lib_loaded(const char *path)
{
    return GetModuleHandleW(wide(path)) != NULL;
}

static const char *lib_error(void)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "Windows error %lu", (unsigned long)GetLastError());
    return buf;
}

/* The process's environment, which the library reads (not through a C
 * runtime: see attach-win.c) and helper processes inherit.  The C
 * runtime's copy, which getenv here would read, is left as it was: that
 * the library still sees the change is part of the test. */
static int set_env(const char *name, const char *value)
{
    return SetEnvironmentVariableA(name, value) ? 0 : -1;
}

/* Exactly the four functions are exported, by name: the export directory
 * of the loaded image lists them (sorted, as Windows requires). */
static void check_exports(void *handle)
{
    const unsigned char *base = handle;
    const IMAGE_DOS_HEADER *dos = handle;
    const IMAGE_NT_HEADERS *nt = (const void *)(base + dos->e_lfanew);
    const IMAGE_DATA_DIRECTORY *dir =
        &nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT];
    CHECK(dir->VirtualAddress != 0 && dir->Size != 0);
    const IMAGE_EXPORT_DIRECTORY *exports = (const void *)(base + dir->VirtualAddress);
    static const char *const want[] = {"GetSharedMem", "GetSharedMemA", "SetSharedMem",
                                       "SetSharedMemA"};
    CHECK_EQ_INT(exports->NumberOfFunctions, 4);
    CHECK_EQ_INT(exports->NumberOfNames, 4);
    const DWORD *names = (const void *)(base + exports->AddressOfNames);
    for (size_t i = 0; i < 4; i++)
        CHECK_EQ_STR((const char *)(base + names[i]), want[i]);
}

#else

static void *lib_load(const char *path)
{
    return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

static int lib_unload(void *handle)
{
    return dlclose(handle);
}

static void *lib_sym(void *handle, const char *name)
{
    return dlsym(handle, name);
}

static int lib_loaded(const char *path)
{
    void *again = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (again)
        dlclose(again);
    return again != NULL;
}

static const char *lib_error(void)
{
    const char *e = dlerror();
    return e ? e : "no error";
}

static int set_env(const char *name, const char *value)
{
    return setenv(name, value, 1);
}

/* Only the four functions are exported (the version script): none of the
 * library's internal functions can be found. */
static void check_exports(void *handle)
{
    CHECK(dlsym(handle, "dllshmem__attach") == NULL);
    CHECK(dlsym(handle, "dllshmem__utf8_next") == NULL);
    CHECK(dlsym(handle, "dllshmem__wide_next") == NULL);
}

#endif

/* ---- loading the library ---------------------------------------------- */

typedef struct dll {
    void *handle;
    int (*set)(const wchar_t *s);
    int (*get)(wchar_t *buf, uint32_t cch);
    int (*set_a)(const char *s);
    int (*get_a)(char *buf, uint32_t cch);
} dll;

static void *sym(void *handle, const char *name)
{
    void *p = lib_sym(handle, name);
    CHECKF(p != NULL, "symbol %s: %s", name, lib_error());
    return p;
}

/* Loads the library with DLLSHMEM_NAME=NAME (NAME NULL: as the environment
 * has it). */
static void dll_open(dll *d, const char *name)
{
    if (name)
        CHECK_SYS(set_env("DLLSHMEM_NAME", name));
    d->handle = lib_load(lib_path);
    CHECKF(d->handle != NULL, "loading %s: %s", lib_path, lib_error());
    d->set = (int (*)(const wchar_t *))sym(d->handle, "SetSharedMem");
    d->get = (int (*)(wchar_t *, uint32_t))sym(d->handle, "GetSharedMem");
    d->set_a = (int (*)(const char *))sym(d->handle, "SetSharedMemA");
    d->get_a = (int (*)(char *, uint32_t))sym(d->handle, "GetSharedMemA");
}

/* Unloads it, and checks that it really is unloaded (so that the next
 * dll_open runs the constructor again). */
static void dll_close(dll *d)
{
    CHECKF(lib_unload(d->handle) == 0, "unloading: %s", lib_error());
    CHECKF(!lib_loaded(lib_path), "the library is still loaded after its last unload");
    memset(d, 0, sizeof *d);
}

/* ---- Unicode, written independently of the library's code -------------- */

/* This program is also built with -fshort-wchar (a 16-bit wchar_t, as on
 * Windows) against a library built the same way, where the C library's
 * wcs* functions do not apply: these replace them. */
static size_t w_len(const wchar_t *s)
{
    size_t n = 0;
    while (s[n] != 0)
        n++;
    return n;
}

static int w_cmp(const wchar_t *a, const wchar_t *b)
{
    for (; *a == *b; a++, b++)
        if (*a == 0)
            return 0;
    return *a < *b ? -1 : 1;
}

static size_t u8len(uint32_t c)
{
    if (c <= 0x7F)
        return 1;
    if (c <= 0x7FF)
        return 2;
    return c <= 0xFFFF ? 3 : 4;
}

static size_t wlen(uint32_t c)
{
    return sizeof(wchar_t) == 2 && c >= 0x10000 ? 2 : 1;
}

/* Encodes N code points as NUL-terminated UTF-8 / wide; returns the length. */
static size_t mk_utf8(char *out, const uint32_t *cps, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cps[i];
        switch (u8len(c)) {
        case 1:
            out[o++] = (char)c;
            break;
        case 2:
            out[o++] = (char)(0xC0 | (c >> 6));
            out[o++] = (char)(0x80 | (c & 0x3F));
            break;
        case 3:
            out[o++] = (char)(0xE0 | (c >> 12));
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (c & 0x3F));
            break;
        default:
            out[o++] = (char)(0xF0 | (c >> 18));
            out[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    out[o] = 0;
    return o;
}

static size_t mk_wide(wchar_t *out, const uint32_t *cps, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (wlen(cps[i]) == 2) {
            out[o++] = (wchar_t)(0xD800 | ((cps[i] - 0x10000) >> 10));
            out[o++] = (wchar_t)(0xDC00 | ((cps[i] - 0x10000) & 0x3FF));
        } else {
            out[o++] = (wchar_t)cps[i];
        }
    }
    out[o] = 0;
    return o;
}

/* Decodes LEN bytes of strict UTF-8 into CPS; returns the count or -1 if
 * the bytes are not valid UTF-8 (or contain a NUL). */
static long dec_utf8(const char *str, size_t len, uint32_t *cps)
{
    const unsigned char *s = (const unsigned char *)str;
    long n = 0;
    for (size_t i = 0; i < len;) {
        unsigned char b = s[i];
        uint32_t c;
        size_t k;
        if (b == 0)
            return -1;
        if (b < 0x80) {
            c = b;
            k = 1;
        } else if ((b & 0xE0) == 0xC0) {
            c = b & 0x1F;
            k = 2;
        } else if ((b & 0xF0) == 0xE0) {
            c = b & 0x0F;
            k = 3;
        } else if ((b & 0xF8) == 0xF0) {
            c = b & 0x07;
            k = 4;
        } else {
            return -1;
        }
        if (i + k > len)
            return -1;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return -1;
            c = (c << 6) | (s[i + j] & 0x3F);
        }
        if (u8len(c) != k || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return -1; /* overlong, too large or a surrogate */
        cps[n++] = c;
        i += k;
    }
    return n;
}

/* The same for LEN wide units. */
static long dec_wide(const wchar_t *s, size_t len, uint32_t *cps)
{
    long n = 0;
    for (size_t i = 0; i < len; i++) {
        uint32_t c = sizeof(wchar_t) == 2 ? (uint32_t)s[i] & 0xFFFF : (uint32_t)s[i];
        if (c == 0 || c > 0x10FFFF)
            return -1;
        if (c >= 0xD800 && c <= 0xDFFF) {
            if (sizeof(wchar_t) != 2 || c > 0xDBFF || i + 1 >= len)
                return -1;
            uint32_t low = (uint32_t)s[i + 1] & 0xFFFF;
            if (low < 0xDC00 || low > 0xDFFF)
                return -1;
            c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
            i++;
        }
        cps[n++] = c;
    }
    return n;
}

/* Printable forms for failure messages (two rotating buffers each). */
static const char *show(const char *s)
{
    static char bufs[2][1024];
    static int which;
    char *b = bufs[which++ & 1];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o < 1000; p++)
        o += (size_t)snprintf(b + o, 1024 - o, *p >= 0x20 && *p < 0x7F ? "%c" : "\\x%02x", *p);
    b[o] = 0;
    return b;
}

static const char *wshow(const wchar_t *s)
{
    static char bufs[2][1024];
    static int which;
    char *b = bufs[which++ & 1];
    size_t o = 0;
    for (; *s && o < 1000; s++) {
        uint32_t c = (uint32_t)*s;
        o += (size_t)snprintf(b + o, 1024 - o, c >= 0x20 && c < 0x7F ? "%c" : "\\u{%x}", c);
    }
    b[o] = 0;
    return b;
}

#define CHECK_EQ_WSTR(a, b)                                                    \
    do {                                                                       \
        const wchar_t *a_ = (a), *b_ = (b);                                    \
        if (w_cmp(a_, b_) != 0)                                               \
            FAIL("CHECK_EQ_WSTR(%s, %s): \"%s\" != \"%s\"", #a, #b, wshow(a_), wshow(b_)); \
    } while (0)

#define CHECK_EQ_BYTES(a, b)                                                   \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (strcmp(a_, b_) != 0)                                               \
            FAIL("CHECK_EQ_BYTES(%s, %s): \"%s\" != \"%s\"", #a, #b, show(a_), show(b_)); \
    } while (0)

/* ---- calls on guarded buffers ------------------------------------------ */

/* Get* writes into a buffer between canaries.  The library promises to
 * write the characters and the NUL (or, on failure, only the NUL) and
 * nothing else, never more than CCH elements. */
#define GUARD 32
#define MAXCCH 16384
#define CANARY 0xA5
static wchar_t w_area[GUARD + MAXCCH + GUARD];
static char a_area[GUARD + MAXCCH + GUARD];

static int untouched(const void *p, size_t bytes)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < bytes; i++)
        if (b[i] != CANARY)
            return 0;
    return 1;
}

/* Calls GetSharedMem(buf, CCH) (CCH <= MAXCCH, or larger than the content
 * needs), checks the canaries, and copies the result into OUT (MAXCCH + 1
 * units) if given.  Returns what the call returned. */
static int wget_at(const dll *d, uint32_t cch, wchar_t *out, const char *file, int line)
{
    memset(w_area, CANARY, sizeof w_area);
    wchar_t *buf = w_area + GUARD;
    int rc = d->get(buf, cch);
    size_t written = rc >= 0 ? (size_t)rc + 1 : 1;
    if (cch == 0)
        written = 0;
    if (!untouched(w_area, GUARD * sizeof(wchar_t)))
        th_fail(file, line, "GetSharedMem(cch %u) wrote before its buffer", cch);
    if (cch > 0 && rc >= 0 && (uint32_t)rc >= cch)
        th_fail(file, line, "GetSharedMem(cch %u) returned %d", cch, rc);
    if (cch > 0 && buf[written - 1] != 0)
        th_fail(file, line, "GetSharedMem(cch %u) returned %d without a NUL there", cch, rc);
    if (cch > 0 && rc >= 0 && w_len(buf) < (size_t)rc)
        th_fail(file, line, "GetSharedMem(cch %u) returned %d with a NUL inside", cch, rc);
    if (!untouched(buf + written, (MAXCCH + GUARD - written) * sizeof(wchar_t)))
        th_fail(file, line, "GetSharedMem(cch %u) returned %d and wrote past its NUL", cch, rc);
    if (out) {
        size_t n = cch == 0 ? 0 : written - 1;
        memcpy(out, buf, n * sizeof *out);
        out[n] = 0;
    }
    return rc;
}

static int aget_at(const dll *d, uint32_t cch, char *out, const char *file, int line)
{
    memset(a_area, CANARY, sizeof a_area);
    char *buf = a_area + GUARD;
    int rc = d->get_a(buf, cch);
    size_t written = rc >= 0 ? (size_t)rc + 1 : 1;
    if (cch == 0)
        written = 0;
    if (!untouched(a_area, GUARD))
        th_fail(file, line, "GetSharedMemA(cch %u) wrote before its buffer", cch);
    if (cch > 0 && rc >= 0 && (uint32_t)rc >= cch)
        th_fail(file, line, "GetSharedMemA(cch %u) returned %d", cch, rc);
    if (cch > 0 && buf[written - 1] != 0)
        th_fail(file, line, "GetSharedMemA(cch %u) returned %d without a NUL there", cch, rc);
    if (cch > 0 && rc >= 0 && memchr(buf, 0, (size_t)rc) != NULL)
        th_fail(file, line, "GetSharedMemA(cch %u) returned %d with a NUL inside", cch, rc);
    if (!untouched(buf + written, MAXCCH + GUARD - written))
        th_fail(file, line, "GetSharedMemA(cch %u) returned %d and wrote past its NUL", cch, rc);
    if (out) {
        size_t n = cch == 0 ? 0 : written - 1;
        memcpy(out, buf, n);
        out[n] = 0;
    }
    return rc;
}

#define WGET(d, cch, out) wget_at((d), (cch), (out), __FILE__, __LINE__)
#define AGET(d, cch, out) aget_at((d), (cch), (out), __FILE__, __LINE__)

/* The stored text, read both ways, is EXPECT (UTF-8). */
static void expect_text_at(const dll *d, const char *expect, const char *file, int line)
{
    static char a[MAXCCH + 1];
    static wchar_t w[MAXCCH + 1], ew[MAXCCH + 1];
    static uint32_t cps[MAXCCH];
    int rc = aget_at(d, MAXCCH, a, file, line);
    if (rc != (int)strlen(expect) || strcmp(a, expect) != 0)
        th_fail(file, line, "GetSharedMemA gave %d \"%s\", expected \"%s\"", rc, show(a), show(expect));
    long n = dec_utf8(expect, strlen(expect), cps);
    if (n < 0)
        th_fail(file, line, "bad test: expected text is not UTF-8");
    size_t units = mk_wide(ew, cps, (size_t)n);
    rc = wget_at(d, MAXCCH, w, file, line);
    if (rc != (int)units || w_cmp(w, ew) != 0)
        th_fail(file, line, "GetSharedMem gave %d \"%s\", expected \"%s\"", rc, wshow(w), wshow(ew));
}

#define EXPECT_TEXT(d, s) expect_text_at((d), (s), __FILE__, __LINE__)

/* A small deterministic random generator. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* A random scalar of a random UTF-8 length. */
static uint32_t rnd_scalar(void)
{
    for (;;) {
        uint32_t c;
        switch (rnd() % 4) {
        case 0:
            c = 1 + rnd() % 0x7F;
            break;
        case 1:
            c = 0x80 + rnd() % (0x800 - 0x80);
            break;
        case 2:
            c = 0x800 + rnd() % (0x10000 - 0x800);
            break;
        default:
            c = 0x10000 + rnd() % (0x110000 - 0x10000);
        }
        if (c < 0xD800 || c > 0xDFFF)
            return c;
    }
}

/* ---- case: api --------------------------------------------------------- */

/* Arguments, small buffers, the empty string, invalid text, exports. */
static int case_api(void)
{
    char name[SMEM_NAME_MAX + 1];
    dll d;
    dll_open(&d, th_name(name, "dapi"));
    CHECKF(th_shm_exists(name), "loading the library did not create %s", name);

    static wchar_t w[MAXCCH + 1];
    static char a[MAXCCH + 1];

    /* A new value holds the empty string (the seed's memset). */
    CHECK_EQ_INT(WGET(&d, 100, w), 0);
    CHECK_EQ_INT(AGET(&d, 100, a), 0);

    /* NULL pointers, whatever CCH. */
    CHECK_ERR(d.set(NULL), SMEM_EINVAL);
    CHECK_ERR(d.set_a(NULL), SMEM_EINVAL);
    CHECK_ERR(d.get(NULL, 10), SMEM_EINVAL);
    CHECK_ERR(d.get(NULL, 0), SMEM_EINVAL);
    CHECK_ERR(d.get_a(NULL, 10), SMEM_EINVAL);
    CHECK_ERR(d.get_a(NULL, 0), SMEM_EINVAL);

    /* CCH 0, 1, 5, and around the length. */
    CHECK_EQ_INT(d.set(L"Hello, world"), 12);
    CHECK_EQ_INT(WGET(&d, 0, w), 0);
    CHECK_EQ_INT(AGET(&d, 0, a), 0);
    CHECK_EQ_INT(WGET(&d, 1, w), 0);
    CHECK_EQ_WSTR(w, L"");
    CHECK_EQ_INT(AGET(&d, 1, a), 0);
    CHECK_EQ_STR(a, "");
    CHECK_EQ_INT(WGET(&d, 5, w), 4);
    CHECK_EQ_WSTR(w, L"Hell");
    CHECK_EQ_INT(AGET(&d, 5, a), 4);
    CHECK_EQ_STR(a, "Hell");
    CHECK_EQ_INT(WGET(&d, 12, w), 11);
    CHECK_EQ_WSTR(w, L"Hello, worl");
    CHECK_EQ_INT(WGET(&d, 13, w), 12);
    CHECK_EQ_WSTR(w, L"Hello, world");
    CHECK_EQ_INT(AGET(&d, 12, a), 11);
    CHECK_EQ_INT(AGET(&d, 13, a), 12);
    CHECK_EQ_STR(a, "Hello, world");
    /* A CCH far larger than the buffer: only the string and NUL are written. */
    CHECK_EQ_INT(WGET(&d, UINT32_MAX, w), 12);
    CHECK_EQ_INT(AGET(&d, UINT32_MAX, a), 12);

    CHECK_EQ_INT(d.set_a("narrow"), 6);
    EXPECT_TEXT(&d, "narrow");

    /* The empty string. */
    CHECK_EQ_INT(d.set(L""), 0);
    EXPECT_TEXT(&d, "");
    CHECK_EQ_INT(d.set_a("x"), 1);
    CHECK_EQ_INT(d.set_a(""), 0);
    EXPECT_TEXT(&d, "");

    /* Invalid wide text: SMEM_EINVAL, the old value stays. */
    CHECK_EQ_INT(d.set(L"old"), 3);
    const wchar_t bad_wide[][5] = {
        {(wchar_t)0xD800, 0},                     /* lone high surrogate */
        {(wchar_t)0xDBFF, L'a', 0},               /* high surrogate, then a letter */
        {(wchar_t)0xDC00, 0},                     /* lone low surrogate */
        {L'a', (wchar_t)0xDFFF, L'b', 0},         /* low surrogate in the middle */
        {(wchar_t)0xDC00, (wchar_t)0xD800, 0},    /* a pair in the wrong order */
        {(wchar_t)0xD800, (wchar_t)0xD800, 0},    /* two high surrogates */
        {L'o', L'k', (wchar_t)0xD83D, 0},         /* high surrogate at the end */
    };
    for (size_t i = 0; i < sizeof bad_wide / sizeof bad_wide[0]; i++) {
        CHECKF(d.set(bad_wide[i]) == SMEM_EINVAL, "SetSharedMem accepted bad text #%zu", i);
        EXPECT_TEXT(&d, "old");
    }
    if (sizeof(wchar_t) == 4) {
        const wchar_t bad32[][3] = {
            {(wchar_t)0x110000, 0},
            {L'a', (wchar_t)0x7FFFFFFF, 0},
            {(wchar_t)-1, 0},
            {(wchar_t)0xD83D, (wchar_t)0xDE00, 0}, /* a UTF-16 pair is not UTF-32 */
        };
        for (size_t i = 0; i < sizeof bad32 / sizeof bad32[0]; i++) {
            CHECKF(d.set(bad32[i]) == SMEM_EINVAL, "SetSharedMem accepted bad UTF-32 #%zu", i);
            EXPECT_TEXT(&d, "old");
        }
    }

    /* Invalid UTF-8. */
    const char *bad_utf8[] = {
        "\x80", "a\xbf", "\xff", "\xfe", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc3(",
        "\xe0\x80\x80", "\xe0\x9f\xbf", "\xe2\x82", "\xe2\x82x", "\xe2(\xac",
        "\xed\xa0\x80", "\xed\xbf\xbf", "\xed\xa0\xbd\xed\xb8\x80", /* CESU-8 emoji */
        "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf0\x9f\x98", "\xf0\x9f\x98\x61" /* then "a" */,
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf7\xbf\xbf\xbf", "\xf8\x88\x80\x80\x80",
        "\xfc\x84\x80\x80\x80\x80", "ok\xe2\x82\xac\x80",
    };
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        CHECKF(d.set_a(bad_utf8[i]) == SMEM_EINVAL, "SetSharedMemA accepted \"%s\"",
               show(bad_utf8[i]));
        EXPECT_TEXT(&d, "old");
    }

    /* Bad text past the cut is refused too: the whole string is checked. */
    {
        static char longa[10010];
        memset(longa, 'a', 10000);
        strcpy(longa + 10000, "\xff");
        CHECK_ERR(d.set_a(longa), SMEM_EINVAL);
        static wchar_t longw[10010];
        for (size_t i = 0; i < 10000; i++)
            longw[i] = L'a';
        longw[10000] = (wchar_t)0xDC00;
        longw[10001] = 0;
        CHECK_ERR(d.set(longw), SMEM_EINVAL);
        EXPECT_TEXT(&d, "old");
    }

    /* The edges of each UTF-8 length, and the largest code point. */
    const uint32_t edges[] = {0x01, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000,
                              0xFFFD, 0xFFFE, 0xFFFF, 0x10000, 0x10FFFF};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        uint32_t cps[3] = {'<', edges[i], '>'};
        char u[16];
        wchar_t wc[8];
        size_t nu = mk_utf8(u, cps, 3), nw = mk_wide(wc, cps, 3);
        CHECK_EQ_INT(d.set(wc), nw);
        EXPECT_TEXT(&d, u);
        CHECK_EQ_INT(d.set(L"-"), 1);
        CHECK_EQ_INT(d.set_a(u), nu);
        EXPECT_TEXT(&d, u);
    }

    check_exports(d.handle);

    dll_close(&d);
    CHECKF(!th_shm_exists(name), "unloading the library did not remove %s", name);
    return 0;
}

/* ---- case: cut ---------------------------------------------------------- */

static uint32_t cps_in[20000];
static char u_in[80000];
static wchar_t w_in[40000];

/* Stores CPS[0..N) wide and narrow, and checks what is stored: the longest
 * prefix of whole characters that fits in SIZE bytes. */
static void check_store(const dll *d, size_t n, const char *what)
{
    size_t fit = 0, bytes = 0, units = 0;
    while (fit < n && bytes + u8len(cps_in[fit]) <= SIZE) {
        bytes += u8len(cps_in[fit]);
        units += wlen(cps_in[fit]);
        fit++;
    }
    static char want_u[SIZE + 1];
    static wchar_t want_w[SIZE + 1];
    mk_utf8(want_u, cps_in, fit);
    mk_wide(want_w, cps_in, fit);
    static char got_u[MAXCCH + 1];
    static wchar_t got_w[MAXCCH + 1];

    mk_wide(w_in, cps_in, n);
    mk_utf8(u_in, cps_in, n);
    CHECKF(d->set(w_in) == (int)units, "%s: SetSharedMem stored %d units, expected %zu", what,
           d->set(w_in), units);
    CHECKF(WGET(d, MAXCCH, got_w) == (int)units && w_cmp(got_w, want_w) == 0,
           "%s: wide read-back after a wide set differs", what);
    CHECKF(AGET(d, MAXCCH, got_u) == (int)bytes && strcmp(got_u, want_u) == 0,
           "%s: narrow read-back after a wide set differs", what);

    CHECK_EQ_INT(d->set(L"-"), 1);
    CHECKF(d->set_a(u_in) == (int)bytes, "%s: SetSharedMemA stored %d bytes, expected %zu", what,
           d->set_a(u_in), bytes);
    CHECKF(AGET(d, MAXCCH, got_u) == (int)bytes && strcmp(got_u, want_u) == 0,
           "%s: narrow read-back after a narrow set differs", what);
    CHECKF(WGET(d, MAXCCH, got_w) == (int)units && w_cmp(got_w, want_w) == 0,
           "%s: wide read-back after a narrow set differs", what);
}

/* With CPS[0..N) stored, reads with every CCH from 0 to the whole string
 * plus 2, and checks the longest prefix of whole characters is returned. */
static void check_reads(const dll *d, size_t n, size_t max_cch)
{
    static char got_u[MAXCCH + 1], want_u[MAXCCH + 1];
    static wchar_t got_w[MAXCCH + 1], want_w[MAXCCH + 1];
    for (size_t cch = 0; cch <= max_cch; cch++) {
        size_t k = 0, units = 0;
        while (k < n && cch > 0 && units + wlen(cps_in[k]) <= cch - 1)
            units += wlen(cps_in[k++]);
        mk_wide(want_w, cps_in, k);
        int rc = WGET(d, (uint32_t)cch, got_w);
        CHECKF(rc == (int)units && w_cmp(got_w, want_w) == 0,
               "GetSharedMem(cch %zu) gave %d \"%s\", expected \"%s\"", cch, rc, wshow(got_w),
               wshow(want_w));

        size_t bytes = 0;
        k = 0;
        while (k < n && cch > 0 && bytes + u8len(cps_in[k]) <= cch - 1)
            bytes += u8len(cps_in[k++]);
        mk_utf8(want_u, cps_in, k);
        rc = AGET(d, (uint32_t)cch, got_u);
        CHECKF(rc == (int)bytes && strcmp(got_u, want_u) == 0,
               "GetSharedMemA(cch %zu) gave %d \"%s\", expected \"%s\"", cch, rc, show(got_u),
               show(want_u));
    }
}

static int case_cut(void)
{
    char name[SMEM_NAME_MAX + 1];
    dll d;
    dll_open(&d, th_name(name, "dcut"));

    /* 10,000 ASCII characters: the first 4096 are kept. */
    for (size_t i = 0; i < 10000; i++)
        cps_in[i] = 'a' + i % 26;
    check_store(&d, 10000, "10000 ASCII");
    static char a[MAXCCH + 1];
    CHECK_EQ_INT(AGET(&d, SIZE, a), SIZE - 1);
    CHECK_EQ_INT(AGET(&d, SIZE + 1, a), SIZE);

    /* 10,000 characters of each UTF-8 length. */
    const uint32_t of_len[] = {0xE9, 0x20AC, 0x1F600}; /* é € 😀: 2, 3, 4 bytes */
    for (size_t l = 0; l < 3; l++) {
        for (size_t i = 0; i < 10000; i++)
            cps_in[i] = of_len[l];
        char what[64];
        snprintf(what, sizeof what, "10000 x U+%X", of_len[l]);
        check_store(&d, 10000, what); /* 2048, 1365 or 1024 characters */
    }

    /* A 2-, 3- or 4-byte character straddling the 4096-byte limit, at every
     * offset, and just fitting. */
    for (size_t l = 0; l < 3; l++) {
        size_t k = l + 2;
        for (size_t j = 0; j <= k + 1; j++) { /* the character starts at SIZE - j */
            size_t n = 0;
            for (size_t i = 0; i < SIZE - j; i++)
                cps_in[n++] = 'x';
            cps_in[n++] = of_len[l];
            cps_in[n++] = 'y';
            cps_in[n++] = 'z';
            char what[64];
            snprintf(what, sizeof what, "U+%X at byte %zu", of_len[l], SIZE - j);
            check_store(&d, n, what);
        }
    }

    /* Random mixes of all lengths. */
    for (int round = 0; round < 60; round++) {
        size_t n = 1000 + rnd() % 3000;
        for (size_t i = 0; i < n; i++)
            cps_in[i] = rnd_scalar();
        char what[64];
        snprintf(what, sizeof what, "random text #%d", round);
        check_store(&d, n, what);
    }

    /* Reads cut inside a character of each length, both ways. */
    const uint32_t mix[] = {'a', 0xE9, 0x20AC, 0x1F600, 'b', 0x1F389, 0x10FFFF, 0x7FF, 0x800, 'c'};
    size_t n = sizeof mix / sizeof mix[0];
    memcpy(cps_in, mix, sizeof mix);
    mk_wide(w_in, cps_in, n);
    CHECK_EQ_INT(d.set(w_in), (int)w_len(w_in));
    check_reads(&d, n, 30);

    /* ... and at random lengths of a long random text. */
    n = 2000;
    for (size_t i = 0; i < n; i++)
        cps_in[i] = rnd_scalar();
    size_t fit = 0, bytes = 0;
    while (fit < n && bytes + u8len(cps_in[fit]) <= SIZE)
        bytes += u8len(cps_in[fit++]);
    mk_utf8(u_in, cps_in, n);
    CHECK_EQ_INT(d.set_a(u_in), (int)bytes);
    n = fit;
    static wchar_t want_w[MAXCCH + 1], got_w[MAXCCH + 1];
    static char want_u[MAXCCH + 1];
    for (int round = 0; round < 300; round++) {
        uint32_t cch = 1 + rnd() % (SIZE + 10);
        size_t k = 0, units = 0;
        while (k < n && units + wlen(cps_in[k]) <= cch - 1)
            units += wlen(cps_in[k++]);
        mk_wide(want_w, cps_in, k);
        CHECK_EQ_INT(WGET(&d, cch, got_w), units);
        CHECK(w_cmp(got_w, want_w) == 0);
        k = 0;
        bytes = 0;
        while (k < n && bytes + u8len(cps_in[k]) <= cch - 1)
            bytes += u8len(cps_in[k++]);
        mk_utf8(want_u, cps_in, k);
        CHECK_EQ_INT(AGET(&d, cch, a), bytes);
        CHECK(strcmp(a, want_u) == 0);
    }

    dll_close(&d);
    return 0;
}

/* ---- case: long --------------------------------------------------------- */

/* The seed's 3000-wide-character string.  The seed's SetSharedMem copies up
 * to 4095 wide characters into its 4096-byte block, so with a 2-byte
 * wchar_t anything from 2048 on overflows it.  Here the string is cut to
 * the whole characters whose UTF-8 fits in SIZE bytes and read back
 * exactly; a reader with a short buffer (the seed's child uses MAX_PATH)
 * gets the first characters that fit, and nothing past CCH is written
 * (WGET checks every byte after the NUL up to the end of its area). */
static void check_long(const dll *d, uint32_t c)
{
    enum { UNITS = 3000, MAX_PATH_CCH = 260 };
    size_t n = UNITS / wlen(c); /* characters in 3000 wchar_t units */
    for (size_t i = 0; i < n; i++)
        cps_in[i] = c;
    mk_wide(w_in, cps_in, n);
    CHECK_EQ_SIZE(w_len(w_in), UNITS);

    size_t kept = SIZE / u8len(c); /* characters the value holds */
    if (kept > n)
        kept = n;
    static wchar_t want[UNITS + 1], got[MAXCCH + 1];
    mk_wide(want, cps_in, kept);
    int rc = d->set(w_in);
    CHECKF(rc == (int)(kept * wlen(c)), "3000 x U+%X: SetSharedMem stored %d units, expected %zu",
           c, rc, kept * wlen(c));
    rc = WGET(d, MAXCCH, got);
    CHECKF(rc == (int)(kept * wlen(c)) && w_cmp(got, want) == 0,
           "3000 x U+%X: GetSharedMem gave %d units, not the first %zu characters", c, rc, kept);

    /* Short buffers: the seed's MAX_PATH, and one unit short of it all. */
    const uint32_t cchs[] = {MAX_PATH_CCH, (uint32_t)(kept * wlen(c))};
    for (size_t i = 0; i < 2; i++) {
        size_t fit = (cchs[i] - 1) / wlen(c);
        mk_wide(want, cps_in, fit);
        rc = WGET(d, cchs[i], got);
        CHECKF(rc == (int)(fit * wlen(c)) && w_cmp(got, want) == 0,
               "3000 x U+%X: GetSharedMem(cch %u) gave %d units, expected %zu", c, cchs[i], rc,
               fit * wlen(c));
    }
}

static int case_long(void)
{
    char name[SMEM_NAME_MAX + 1];
    dll d;
    dll_open(&d, th_name(name, "dlong"));
    /* ASCII: all 3000 fit.  Then 2, 3 and 4 UTF-8 bytes a character: 2048,
     * 1365 and 1024 (of 1500 surrogate pairs with UTF-16) are kept. */
    const uint32_t chars[] = {'x', 0xE9, 0x20AC, 0x1F600};
    for (size_t i = 0; i < sizeof chars / sizeof chars[0]; i++)
        check_long(&d, chars[i]);
    dll_close(&d);
    return 0;
}

/* ---- case: unicode ---------------------------------------------------------- */

/* The wide and narrow calls see the same string; non-BMP characters
 * round-trip. */
static int case_unicode(void)
{
    char name[SMEM_NAME_MAX + 1];
    dll d;
    dll_open(&d, th_name(name, "duni"));

    static const wchar_t wide[] = L"h\u00e9llo w\u00f6rld \u20ac \u4e2d\u6587 \U0001F600\U0001F389!";
    static const char utf8[] = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac \xe4\xb8\xad\xe6\x96\x87 "
                               "\xf0\x9f\x98\x80\xf0\x9f\x8e\x89!";
    static wchar_t w[MAXCCH + 1];
    static char a[MAXCCH + 1];

    /* Set wide, get narrow (UTF-8) and wide. */
    CHECK_EQ_INT(d.set(wide), (int)w_len(wide));
    CHECK_EQ_INT(AGET(&d, 100, a), (int)strlen(utf8));
    CHECK_EQ_BYTES(a, utf8);
    CHECK_EQ_INT(WGET(&d, 100, w), (int)w_len(wide));
    CHECK_EQ_WSTR(w, wide);

    /* Set narrow, get wide and narrow. */
    CHECK_EQ_INT(d.set(L"-"), 1);
    CHECK_EQ_INT(d.set_a(utf8), (int)strlen(utf8));
    CHECK_EQ_INT(WGET(&d, 100, w), (int)w_len(wide));
    CHECK_EQ_WSTR(w, wide);
    CHECK_EQ_INT(AGET(&d, 100, a), (int)strlen(utf8));
    CHECK_EQ_BYTES(a, utf8);

    /* Emoji alone, each way. */
    static const wchar_t emoji_w[] = L"\U0001F600\U0001F44D\U0001F3FD\U0010FFFF";
    static const char emoji_u[] = "\xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd\xf4\x8f\xbf\xbf";
    CHECK_EQ_INT(d.set(emoji_w), (int)w_len(emoji_w)); /* 4 on Linux, 8 with UTF-16 */
    EXPECT_TEXT(&d, emoji_u);
    CHECK_EQ_INT(d.set_a(emoji_u), 16);
    EXPECT_TEXT(&d, emoji_u);

    /* The value is the UTF-8 bytes, without a NUL, as another program
     * using the value layer sees it. */
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(name, 0, NULL, &v));
    CHECK_EQ_SIZE(smem_value_capacity(v), SIZE);
    CHECK_EQ_INT(smem_value_created(v), 0);
    char raw[SIZE];
    size_t len = 0;
    CHECK_OK(smem_value_get(v, raw, sizeof raw, &len, NULL));
    CHECK_EQ_SIZE(len, 16);
    CHECK(memcmp(raw, emoji_u, 16) == 0);
    CHECK_EQ_INT(d.set(wide), (int)w_len(wide));
    CHECK_OK(smem_value_get(v, raw, sizeof raw, &len, NULL));
    CHECK_EQ_SIZE(len, strlen(utf8));
    CHECK(memcmp(raw, utf8, len) == 0);
    /* ... and what it stores is what the library reads. */
    CHECK_OK(smem_value_set(v, "set by the value layer", 22));
    EXPECT_TEXT(&d, "set by the value layer");
    smem_value_close(v);

    dll_close(&d);
    return 0;
}

/* ---- case: hostile ------------------------------------------------------- */

/* Bytes stored by something else (`sharedmem set`, a hostile process) are
 * decoded defensively: U+FFFD for each ill-formed part, a NUL ends the
 * text. */
struct stored_case {
    const char *bytes;
    size_t len;
    const char *utf8; /* what GetSharedMemA gives; GetSharedMem gives the same characters */
};

#define R "\xef\xbf\xbd" /* U+FFFD */
#define S(lit) lit, sizeof lit - 1
static const struct stored_case stored_cases[] = {
    {S("a\xff\x62"), "a" R "b"},
    {S("\x80\x80"), R R},
    {S("\xc0\xaf"), R R},                            /* overlong '/' */
    {S("\xe0\x80\xaf"), R R R},                      /* overlong, 3 bytes */
    {S("\xed\xa0\x80"), R R R},                      /* a surrogate */
    {S("\xf4\x90\x80\x80"), R R R R},                /* above U+10FFFF */
    {S("\xe2\x82"), R},                              /* cut at the end */
    {S("\xe2\x82x"), R "x"},                         /* cut in the middle */
    {S("\xf0\x9f\x98"), R},
    {S("\xf0\x9f\x98\xf0\x9f\x98\x80"), R "\xf0\x9f\x98\x80"},
    {S("\xc3\xa9\xff\xe2\x82\xac"), "\xc3\xa9" R "\xe2\x82\xac"},
    {S("abc\0def"), "abc"},                          /* a NUL ends the text */
    {S("\0abc"), ""},
    {S("\xe2\x82\0\xac"), R},
    {S("\xf8\x88\x80\x80\x80"), R R R R R},
    {S("\xef\xbf\xbd"), R},                          /* a real U+FFFD */
};
#undef S

static int case_hostile(void)
{
    char name[SMEM_NAME_MAX + 1];
    dll d;
    dll_open(&d, th_name(name, "dhost"));
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(name, 0, NULL, &v));

    static char a[MAXCCH + 1];
    static wchar_t w[MAXCCH + 1];
    static uint32_t cps_a[MAXCCH], cps_w[MAXCCH];

    for (size_t i = 0; i < sizeof stored_cases / sizeof stored_cases[0]; i++) {
        const struct stored_case *c = &stored_cases[i];
        CHECK_OK(smem_value_set(v, c->bytes, c->len));
        int rc = AGET(&d, 100, a);
        CHECKF(rc == (int)strlen(c->utf8) && strcmp(a, c->utf8) == 0,
               "stored \"%s\": GetSharedMemA gave %d \"%s\", expected \"%s\"", show(c->bytes), rc,
               show(a), show(c->utf8));
        EXPECT_TEXT(&d, c->utf8);
    }

    /* A full value without any NUL. */
    static char full[SIZE];
    memset(full, 'q', sizeof full);
    CHECK_OK(smem_value_set(v, full, sizeof full));
    CHECK_EQ_INT(AGET(&d, MAXCCH, a), SIZE);
    CHECK_EQ_INT(WGET(&d, MAXCCH, w), SIZE);
    /* 4096 invalid bytes: 4096 U+FFFD, 12288 bytes as UTF-8. */
    memset(full, 0xff, sizeof full);
    CHECK_OK(smem_value_set(v, full, sizeof full));
    CHECK_EQ_INT(WGET(&d, MAXCCH, w), SIZE);
    CHECK_EQ_INT(AGET(&d, MAXCCH, a), 3 * SIZE);
    CHECK_EQ_INT(AGET(&d, 100, a), 99); /* 33 whole replacements */
    CHECK_EQ_INT(AGET(&d, 4, a), 3);
    CHECK_EQ_INT(AGET(&d, 3, a), 0);

    /* Random bytes, biased towards UTF-8 lead and continuation bytes: the
     * results are always valid text, the same both ways, and bounded. */
    static unsigned char junk[SIZE];
    for (int round = 0; round < 400; round++) {
        size_t len = rnd() % (SIZE + 1);
        for (size_t i = 0; i < len; i++) {
            uint32_t r = rnd();
            junk[i] = (unsigned char)(r % 4 == 0 ? 0x80 | (r >> 8) : r % 4 == 1 ? 0xC0 | (r >> 8)
                                                               : (r >> 8) % 251 + 1);
        }
        if (round % 10 == 0 && len > 0)
            junk[rnd() % len] = 0; /* sometimes a NUL */
        CHECK_OK(smem_value_set(v, junk, len));
        int na = AGET(&d, MAXCCH, a), nw = WGET(&d, MAXCCH, w);
        CHECKF(na >= 0 && nw >= 0, "round %d: %d %d", round, na, nw);
        long ca = dec_utf8(a, (size_t)na, cps_a), cw = dec_wide(w, (size_t)nw, cps_w);
        CHECKF(ca >= 0, "round %d: GetSharedMemA gave invalid UTF-8", round);
        CHECKF(cw >= 0, "round %d: GetSharedMem gave invalid wide text", round);
        CHECKF(ca == cw && memcmp(cps_a, cps_w, (size_t)ca * sizeof(uint32_t)) == 0,
               "round %d: the wide and narrow calls read different text", round);
        uint32_t cch = rnd() % 5000;
        na = AGET(&d, cch, a);
        nw = WGET(&d, cch, w);
        CHECK(na >= 0 && nw >= 0);
        CHECK(dec_utf8(a, (size_t)na, cps_a) >= 0 && dec_wide(w, (size_t)nw, cps_w) >= 0);
    }

    smem_value_close(v);
    dll_close(&d);
    return 0;
}

/* ---- case: scribble ------------------------------------------------------ */

/* Another process writes garbage over the region's bytes (header, control
 * words and data) behind the value layer's back.  Every call returns an
 * error or valid, bounded text, and never crashes. */
static int case_scribble(void)
{
    char name[SMEM_NAME_MAX + 1];
    dll d;
    dll_open(&d, th_name(name, "dscrib"));
    CHECK_EQ_INT(d.set(L"intact"), 6);

    /* The whole region, header included, to put back before each round. */
    static unsigned char saved[65536];
    ssize_t got = th_shm_read(name, saved, sizeof saved);
    CHECK(got > 0 && got < (ssize_t)sizeof saved);
    size_t size = (size_t)got;

    static char a[MAXCCH + 1];
    static wchar_t w[MAXCCH + 1];
    static uint32_t cps[MAXCCH];
    int errors = 0, texts = 0;
    for (int round = 0; round < 300; round++) {
        th_shm_write(name, 0, saved, size);
        /* A few random runs of random bytes, anywhere. */
        int runs = 1 + (int)(rnd() % 4);
        for (int r = 0; r < runs; r++) {
            size_t off = rnd() % size, len = 1 + rnd() % 64;
            if (rnd() % 3 == 0)
                off = rnd() % 256; /* often in the header */
            if (len > size - off)
                len = size - off;
            unsigned char junk[64];
            for (size_t i = 0; i < len; i++)
                junk[i] = (unsigned char)rnd();
            th_shm_write(name, off, junk, len);
        }
        int64_t t0 = th_now_ms();
        int na = AGET(&d, MAXCCH, a);
        int nw = WGET(&d, MAXCCH, w);
        CHECKF(th_now_ms() - t0 < 15000, "reads of a scribbled value took %lld ms",
               (long long)(th_now_ms() - t0));
        if (na >= 0) {
            CHECKF(dec_utf8(a, (size_t)na, cps) >= 0, "round %d: invalid UTF-8 out", round);
            texts++;
        } else {
            CHECK_EQ_INT(a[0], 0);
            errors++;
        }
        if (nw >= 0)
            CHECKF(dec_wide(w, (size_t)nw, cps) >= 0, "round %d: invalid wide text out", round);
        else
            CHECK_EQ_INT(w[0], 0);
    }
    th_log("scribbled 300 times: %d reads gave an error, %d gave text", errors, texts);

    th_shm_write(name, 0, saved, size);
    EXPECT_TEXT(&d, "intact");
    dll_close(&d);
    return 0;
}

/* ---- case: attach ------------------------------------------------------- */

/* A library that could not attach at load time returns the error from
 * every call, with valid arguments, and writes only an empty string. */
static void expect_unattached_at(const char *dllname, int expect, const char *file, int line)
{
    dll d;
    dll_open(&d, dllname);
    static wchar_t w[MAXCCH + 1];
    static char a[MAXCCH + 1];
    int rc[7];
    rc[0] = d.set(L"x");
    rc[1] = d.set_a("x");
    rc[2] = wget_at(&d, 10, w, file, line);
    rc[3] = aget_at(&d, 10, a, file, line);
    rc[4] = wget_at(&d, 0, NULL, file, line);
    rc[5] = aget_at(&d, 0, NULL, file, line);
    rc[6] = wget_at(&d, 1, w, file, line);
    for (int i = 0; i < 7; i++) {
        if (rc[i] >= 0 || (expect != 0 && rc[i] != expect) || rc[i] != rc[0])
            th_fail(file, line, "DLLSHMEM_NAME=%.70s: call %d returned %d (%s), expected %s",
                    dllname, i, rc[i], smem_err_name(rc[i]),
                    expect ? smem_err_name(expect) : "an error");
    }
    /* Bad arguments are still reported as such. */
    if (d.set(NULL) != SMEM_EINVAL || d.get(NULL, 1) != SMEM_EINVAL)
        th_fail(file, line, "NULL not refused with SMEM_EINVAL");
    th_log("DLLSHMEM_NAME=%.70s: %s (%s)", dllname, smem_err_name(rc[0]), smem_strerror(rc[0]));
    dll_close(&d);
}

#define EXPECT_UNATTACHED(n, e) expect_unattached_at((n), (e), __FILE__, __LINE__)

/* Squatters: objects that take a value's name before the library does.
 * The attach fails, and the squatter's object is left as it was. */

/* An object of garbage, with the library's own permissions (on Windows
 * the kit gives it the same user-only descriptor), that it did not make. */
static void squat_garbage(void)
{
    char name[SMEM_NAME_MAX + 1], obj[SMEM_NAME_MAX + 8];
    th_name(name, "dsqg");
    snprintf(obj, sizeof obj, "smem.%s", name);
    static unsigned char junk[3 * SIZE], before[3 * SIZE], after[3 * SIZE];
    th_pattern(junk, sizeof junk, 7);
    th_obj_plant(obj, junk, sizeof junk);
    ssize_t n = th_shm_read(name, before, sizeof before);
    CHECK(n > 0);
    EXPECT_UNATTACHED(name, SMEM_EBADREGION);
    CHECK_EQ_INT(th_shm_read(name, after, sizeof after), n);
    CHECKF(memcmp(before, after, (size_t)n) == 0, "the squatter's object was changed");
    th_obj_remove(obj);
}

#ifdef _WIN32

/* The section name of region NAME (th_shm_path: Local\smem.NAME), wide. */
static const wchar_t *section_name(const char *name)
{
    static wchar_t buf[128];
    char path[128];
    th_shm_path(path, name);
    size_t n = 0;
    for (const char *s = path; *s; s++)
        buf[n++] = (wchar_t)*s;
    buf[n] = 0;
    return buf;
}

/* An object of another kind under the section's name. */
static void squat_other_kinds(void)
{
    char name[SMEM_NAME_MAX + 1];
    HANDLE h = CreateEventW(NULL, TRUE, FALSE, section_name(th_name(name, "dsqe")));
    CHECKF(h != NULL, "CreateEvent: %s", lib_error());
    EXPECT_UNATTACHED(name, 0);
    CloseHandle(h);
}

#else

/* A directory, and a symbolic link. */
static void squat_other_kinds(void)
{
    char name[SMEM_NAME_MAX + 1], path[128];
    th_name(name, "dsqd");
    CHECK_SYS(mkdir(th_shm_path(path, name), 0700));
    EXPECT_UNATTACHED(name, 0);
    th_name(name, "dsql");
    CHECK_SYS(symlink("/dev/null", th_shm_path(path, name)));
    EXPECT_UNATTACHED(name, 0);
}

#endif

static int case_attach(void)
{
    char name[SMEM_NAME_MAX + 1];

    /* Names the value layer refuses. */
    EXPECT_UNATTACHED("bad/name", SMEM_EINVAL);
    EXPECT_UNATTACHED("", SMEM_EINVAL);
    EXPECT_UNATTACHED(".hidden", SMEM_EINVAL);
    char longname[SMEM_NAME_MAX + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    EXPECT_UNATTACHED(longname, SMEM_ENAMETOOLONG);
    static char hugename[5000]; /* longer than any buffer for it */
    memset(hugename, 'n', sizeof hugename - 1);
    EXPECT_UNATTACHED(hugename, SMEM_ENAMETOOLONG);

    squat_garbage();
    squat_other_kinds();

    /* A value of another capacity, and a raw region, of that name. */
    th_name(name, "dsqv");
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(name, 100, NULL, &v));
    EXPECT_UNATTACHED(name, SMEM_EMISMATCH);
    smem_value_close(v);
    th_name(name, "dsqr");
    smem_region *r = NULL;
    CHECK_OK(smem_region_open(name, SIZE, NULL, &r));
    EXPECT_UNATTACHED(name, SMEM_EMISMATCH);
    smem_region_close(r);

    /* After all this, a good name works in the same process. */
    dll d;
    dll_open(&d, th_name(name, "dgood"));
    CHECK_EQ_INT(d.set(L"fine"), 4);
    EXPECT_TEXT(&d, "fine");
    dll_close(&d);
    return 0;
}

/* ---- helper: lib -------------------------------------------------------- */

/* A process using the library.  Loads it (DLLSHMEM_NAME from the
 * environment), says "ready", then obeys lines:
 *   setw TEXT  SetSharedMem(TEXT as wide) -> "<rc>"
 *   seta TEXT  SetSharedMemA(TEXT)        -> "<rc>"
 *   getw       GetSharedMem               -> "<rc> <text as UTF-8>"
 *   geta       GetSharedMemA              -> "<rc> <text>"
 *   exit       exit(0): the destructor detaches
 * EOF: exit(0). */
static int helper_lib(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    dll d;
    dll_open(&d, NULL);
    th_say("ready");
    static char line[1024], a[MAXCCH + 1], out[MAXCCH + 1];
    static wchar_t w[MAXCCH + 1];
    static uint32_t cps[MAXCCH];
    while (th_listen(line, sizeof line) == 0) {
        if (strncmp(line, "setw ", 5) == 0) {
            long n = dec_utf8(line + 5, strlen(line + 5), cps);
            CHECK(n >= 0);
            mk_wide(w, cps, (size_t)n);
            th_say("%d", d.set(w));
        } else if (strncmp(line, "seta ", 5) == 0) {
            th_say("%d", d.set_a(line + 5));
        } else if (strcmp(line, "getw") == 0) {
            int rc = WGET(&d, MAXCCH, w);
            long n = rc < 0 ? 0 : dec_wide(w, (size_t)rc, cps);
            CHECK(n >= 0);
            mk_utf8(out, cps, (size_t)n);
            th_say("%d %s", rc, out);
        } else if (strcmp(line, "geta") == 0) {
            int rc = AGET(&d, MAXCCH, a);
            th_say("%d %s", rc, a);
        } else if (strcmp(line, "exit") == 0) {
            exit(0);
        } else {
            FAIL("bad command %s", line);
        }
    }
    return 0;
}

static void spawn_lib(th_proc *p)
{
    th_spawn(p, -1, "lib", NULL);
    th_expect(p, "ready", 10000);
}

static void ask(th_proc *p, const char *cmd, const char *reply)
{
    th_send(p, "%s", cmd);
    th_expect(p, reply, 10000);
}

static void exit_lib(th_proc *p)
{
    th_send(p, "exit");
    th_wait_ok(p, 10000);
}

/* ---- case: share -------------------------------------------------------- */

/* One process writes, another (exec'd) reads the same string. */
static int case_share(void)
{
    char name[SMEM_NAME_MAX + 1];
    CHECK_SYS(set_env("DLLSHMEM_NAME", th_name(name, "dshare")));

    th_proc writer, reader;
    spawn_lib(&writer);
    CHECK(th_shm_exists(name));
    ask(&writer, "setw This is a test string", "21");
    spawn_lib(&reader);
    ask(&reader, "getw", "21 This is a test string");
    ask(&reader, "geta", "21 This is a test string");

    /* And back, narrow to wide, with non-ASCII and non-BMP text. */
    const char *text = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";
    char cmd[128], reply[128];
    snprintf(cmd, sizeof cmd, "seta %s", text);
    snprintf(reply, sizeof reply, "%zu", strlen(text));
    ask(&reader, cmd, reply);
    snprintf(reply, sizeof reply, "%d %s", sizeof(wchar_t) == 4 ? 9 : 10, text);
    ask(&writer, "getw", reply);
    snprintf(reply, sizeof reply, "%zu %s", strlen(text), text);
    ask(&writer, "geta", reply);

    /* This process loads it too and sees the same. */
    dll d;
    dll_open(&d, name);
    EXPECT_TEXT(&d, text);
    CHECK_EQ_INT(d.set(L"from the test"), 13);
    ask(&writer, "geta", "13 from the test");
    dll_close(&d);

    /* The writer leaves; the reader still has the string. */
    exit_lib(&writer);
    CHECK(th_shm_exists(name));
    ask(&reader, "getw", "13 from the test");
    exit_lib(&reader);
    CHECKF(!th_shm_exists(name), "the value outlived its last user");
    return 0;
}

/* ---- case: lifetime ------------------------------------------------------- */

/* A fork()ed child shares the parent's attachment; its exit (running the
 * destructor) leaves the value to the parent. */
#ifdef _WIN32
static void fork_shares_attachment(const char *name)
{
    (void)name;
    th_log("lifetime: no fork() on Windows, the fork part does not apply");
}
#else
static void fork_shares_attachment(const char *name)
{
    dll d;
    dll_open(&d, name);
    CHECK_EQ_INT(d.set(L"before fork"), 11);
    fflush(NULL);
    pid_t pid = fork();
    CHECK_SYS(pid);
    if (pid == 0) {
        static char a[100];
        int rc = AGET(&d, sizeof a, a);
        CHECKF(rc == 11 && strcmp(a, "before fork") == 0, "fork child read %d \"%s\"", rc, a);
        rc = d.set_a("from the child");
        CHECKF(rc == 14, "fork child: SetSharedMemA gave %d (%s)", rc, smem_err_name(rc));
        exit(0);
    }
    int st = th_waitpid(pid, 10000);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork child: %s", th_status_str(st));
    CHECK(th_shm_exists(name));
    EXPECT_TEXT(&d, "from the child");
    dll_close(&d);
    CHECK(!th_shm_exists(name));
}
#endif

static int case_lifetime(void)
{
    char name[SMEM_NAME_MAX + 1], name2[SMEM_NAME_MAX + 1];
    dll d, d2;
    th_proc p, q;

    /* Loading attaches, unloading by the last user removes. */
    dll_open(&d, th_name(name, "dlife"));
    CHECK(th_shm_exists(name));
    CHECK_EQ_INT(d.set(L"one"), 3);
    dll_close(&d);
    CHECK(!th_shm_exists(name));
    dll_open(&d, name);
    EXPECT_TEXT(&d, ""); /* a new value */

    /* Two loads, two unloads: detached at the second. */
    void *again = lib_load(lib_path);
    CHECK(again == d.handle);
    CHECK_EQ_INT(lib_unload(again), 0);
    CHECK(th_shm_exists(name));
    EXPECT_TEXT(&d, "");

    /* Unloading in this process leaves the value to another user. */
    spawn_lib(&p);
    ask(&p, "setw kept by the helper", "18");
    dll_close(&d);
    CHECK(th_shm_exists(name));
    ask(&p, "geta", "18 kept by the helper");
    exit_lib(&p);
    CHECKF(!th_shm_exists(name), "exit of the last user did not remove the value");

    /* A process that exits takes the string with it if it was the last
     * user: the next one starts empty. */
    spawn_lib(&p);
    ask(&p, "seta gone", "4");
    exit_lib(&p);
    CHECK(!th_shm_exists(name));
    spawn_lib(&p);
    ask(&p, "geta", "0 ");
    exit_lib(&p);

    /* A holder (like `sharedmem hold`, or the seed's detached process)
     * keeps it between users. */
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(name, SIZE, NULL, &v));
    spawn_lib(&p);
    ask(&p, "seta held", "4");
    exit_lib(&p);
    CHECK(th_shm_exists(name));
    spawn_lib(&q);
    ask(&q, "getw", "4 held");
    exit_lib(&q);
    smem_value_close(v);
    CHECK(!th_shm_exists(name));

    /* A user killed without running its destructor does not keep the
     * value: the next process starts afresh, and removes it on exit. */
    spawn_lib(&p);
    ask(&p, "seta killed", "6");
    th_kill(&p);
    spawn_lib(&q);
    ask(&q, "geta", "0 ");
    exit_lib(&q);
    CHECKF(!th_shm_exists(name), "the value of a killed user was left behind");

    fork_shares_attachment(name);

    /* Reloading with another name attaches to that one. */
    dll_open(&d, name);
    CHECK_EQ_INT(d.set(L"first"), 5);
    dll_close(&d);
    dll_open(&d2, th_name(name2, "dlife2"));
    CHECK(th_shm_exists(name2));
    CHECK(!th_shm_exists(name));
    EXPECT_TEXT(&d2, "");
    dll_close(&d2);
    CHECK(!th_shm_exists(name2));
    return 0;
}

/* ---- case: threads ------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 3000
static dll td;
static const uint32_t thread_chars[THREADS] = {'a', 0xE9, 0x20AC, 0x1F600};

/* Thread T stores its character repeated to fill the value, then reads:
 * it must see one whole string (one character, repeated as many times as
 * fit), never a mix. */
static void *thread_main(void *arg)
{
    size_t t = (size_t)arg;
    uint32_t c = thread_chars[t];
    static char us[THREADS][SIZE + 1];
    static wchar_t ws[THREADS][SIZE + 1];
    uint32_t *cps = malloc(SIZE * sizeof *cps);
    wchar_t *w = malloc((MAXCCH + 1) * sizeof *w);
    char *a = malloc(MAXCCH + 1);
    if (!cps || !w || !a)
        FAIL("out of memory");
    size_t n = SIZE / u8len(c);
    for (size_t i = 0; i < n; i++)
        cps[i] = c;
    mk_utf8(us[t], cps, n);
    mk_wide(ws[t], cps, n);
    for (int round = 0; round < ROUNDS; round++) {
        int rc = (round & 1) ? td.set(ws[t]) : td.set_a(us[t]);
        CHECKF(rc == (int)((round & 1) ? n * wlen(c) : n * u8len(c)), "thread %zu: set gave %d", t, rc);
        rc = td.get_a(a, MAXCCH);
        CHECK(rc > 0);
        long k = dec_utf8(a, (size_t)rc, cps);
        CHECKF(k > 0 && (size_t)k == SIZE / u8len(cps[0]), "thread %zu: torn narrow read", t);
        for (long i = 1; i < k; i++)
            CHECKF(cps[i] == cps[0], "thread %zu: mixed narrow read", t);
        rc = td.get(w, MAXCCH);
        CHECK(rc > 0);
        k = dec_wide(w, (size_t)rc, cps);
        CHECKF(k > 0 && (size_t)k == SIZE / u8len(cps[0]), "thread %zu: torn wide read", t);
        for (long i = 1; i < k; i++)
            CHECKF(cps[i] == cps[0], "thread %zu: mixed wide read", t);
    }
    free(cps);
    free(w);
    free(a);
    return NULL;
}

/* busy_exit: threads call the library in a loop while the main thread
 * calls exit(), which runs the destructor under their feet.  Calls return
 * text, or SMEM_EBADF once detached; anything else (or a crash) fails. */
static atomic_int busy_started;

static void *busy_main(void *arg)
{
    (void)arg;
    wchar_t w[64];
    char a[64];
    atomic_fetch_add(&busy_started, 1);
    for (unsigned i = 0;; i++) {
        int rc = (i & 1) ? td.set(L"busy") : td.set_a("BUSY");
        if (rc != 4 && rc != SMEM_EBADF)
            abort();
        rc = td.get(w, 64);
        if (rc != 4 && rc != SMEM_EBADF)
            abort();
        rc = td.get_a(a, 64);
        if (rc != 4 && rc != SMEM_EBADF)
            abort();
    }
    return NULL;
}

/* The program's destructors run after those of libraries it dlopen()ed:
 * linger there so that the threads go on calling a detached library for a
 * while before the process ends.  (On Windows they run first, and the
 * library is left attached until the process is gone: see attach-win.c.) */
static int busy_linger;

__attribute__((destructor)) static void linger_after_detach(void)
{
    if (busy_linger)
        th_sleep_ms(100);
}

static int helper_busy_exit(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    busy_linger = 1;
    dll_open(&td, NULL);
    pthread_t th;
    for (int t = 0; t < THREADS; t++)
        CHECK_EQ_INT(pthread_create(&th, NULL, busy_main, NULL), 0);
    while (atomic_load(&busy_started) < THREADS)
        th_sleep_ms(1);
    th_sleep_ms(50);
    exit(0);
}

static int case_threads(void)
{
    char name[SMEM_NAME_MAX + 1];
    dll_open(&td, th_name(name, "dthr"));
    CHECK(td.set_a("start") == 5);
    pthread_t th[THREADS];
    for (size_t t = 0; t < THREADS; t++)
        CHECK_EQ_INT(pthread_create(&th[t], NULL, thread_main, (void *)t), 0);
    for (size_t t = 0; t < THREADS; t++)
        CHECK_EQ_INT(pthread_join(th[t], NULL), 0);
    dll_close(&td);
    CHECK(!th_shm_exists(name));

    /* Exit while other threads are inside calls: no crash, and the value
     * is detached (here: removed, as no one else has it). */
    CHECK_SYS(set_env("DLLSHMEM_NAME", name));
    for (int round = 0; round < 5; round++) {
        th_proc p;
        th_spawn(&p, -1, "busy_exit", NULL);
        th_wait_ok(&p, 20000);
        CHECKF(!th_shm_exists(name), "exit with busy threads left the value behind");
    }
    return 0;
}

/* ------------------------------------------------------------------------ */

static const th_helper helpers[] = {
    {"lib", helper_lib},
    {"busy_exit", helper_busy_exit},
    {NULL, NULL},
};

static const struct {
    const char *name;
    int (*fn)(void);
} cases[] = {
    {"api", case_api},           {"cut", case_cut},           {"long", case_long},
    {"unicode", case_unicode},   {"hostile", case_hostile},   {"scribble", case_scribble},
    {"attach", case_attach},     {"share", case_share},       {"lifetime", case_lifetime},
    {"threads", case_threads},
};

int main(int argc, char **argv)
{
    /* Helpers get the library's path from the environment. */
    lib_path = getenv("TEST_DLLSHMEM_LIB");
    th_dispatch(argc, argv, helpers);
    if (argc != 3) {
        fprintf(stderr, "usage: %s LIBRARY CASE\n", argv[0]);
        return 2;
    }
    lib_path = argv[1];
    CHECK_SYS(set_env("TEST_DLLSHMEM_LIB", lib_path));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(argv[2], cases[i].name) == 0)
            return cases[i].fn();
    fprintf(stderr, "unknown case %s\n", argv[2]);
    return 2;
}
