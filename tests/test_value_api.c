/* Values, one call at a time: open and its errors (capacity 0, too big,
 * init, another kind, another capacity, flags), set/get/version of a
 * single process and across processes, every E2BIG and EINVAL path (and
 * that a refused call changes nothing), read-only handles, the kind in the
 * region header, and the lifetime a value shares with its region. */
#include "check.h"

#include "test_value_kit.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP 1000

static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};
static const smem_opts excl = {SMEM_EXCL, 0, 0, NULL, NULL};
static const smem_opts rdonly = {SMEM_RDONLY, 0, 0, NULL, NULL};
static const smem_opts persist = {SMEM_PERSIST, 0, 0, NULL, NULL};
static const smem_opts anykind = {SMEM_ANYKIND, 0, 0, NULL, NULL};

static int init_never(void *data, size_t size, void *arg)
{
    (void)data;
    (void)size;
    *(int *)arg = 1;
    return 0;
}

/* The value's current content must be exactly BUF/LEN with VERSION. */
static void expect_value(smem_value *v, const void *buf, size_t len, uint64_t version)
{
    tv_guard g;
    size_t cap = smem_value_capacity(v);
    unsigned char *b = tv_guard_alloc(&g, cap);
    size_t got = (size_t)-1;
    uint64_t ver = UINT64_MAX;
    CHECK_OK(smem_value_get(v, b, cap, &got, &ver));
    CHECK_EQ_SIZE(got, len);
    CHECK_EQ_SIZE(ver, version);
    CHECK(len == 0 || memcmp(b, buf, len) == 0);
    CHECK(tv_guard_front_ok(&g));
    CHECK_EQ_SIZE(smem_value_version(v), version);
    tv_guard_free(&g);
}

/* ---- helpers ---------------------------------------------------------- */

/* get NAME [ro]: prints "LEN VERSION HASH" of the value. */
static int helper_get(int argc, char **argv)
{
    CHECK(argc >= 1);
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(argv[0], 0, argc > 1 ? &rdonly : &nocreate, &v));
    CHECK_EQ_INT(smem_value_created(v), 0);
    size_t cap = smem_value_capacity(v);
    unsigned char *b = malloc(cap ? cap : 1);
    CHECK(b);
    size_t len;
    uint64_t ver;
    CHECK_OK(smem_value_get(v, b, cap, &len, &ver));
    th_say("%zu %llu %016llx", len, (unsigned long long)ver,
           (unsigned long long)tv_hash(b, len));
    free(b);
    smem_value_close(v);
    return 0;
}

/* set NAME LEN WRITER COUNTER: sets a blob, prints the version after it. */
static int helper_set(int argc, char **argv)
{
    CHECK(argc == 4);
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(argv[0], 0, &nocreate, &v));
    size_t len = (size_t)tv_num(argv[1]);
    unsigned char *b = malloc(len + 1);
    CHECK(b);
    tv_blob_fill(b, len, (uint32_t)tv_num(argv[2]), tv_num(argv[3]));
    CHECK_OK(smem_value_set(v, b, len));
    th_say("%llu", (unsigned long long)smem_value_version(v));
    free(b);
    smem_value_close(v);
    return 0;
}

/* hold NAME: opens the value (capacity 0), says "ready", closes on EOF. */
static int helper_hold(int argc, char **argv)
{
    CHECK(argc == 1);
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(argv[0], 0, NULL, &v));
    th_say("ready");
    char line[64];
    while (th_listen(line, sizeof line) == 0) {
    }
    smem_value_close(v);
    return 0;
}

/* roset NAME: a read-only handle: get works, set is EBADF. */
static int helper_roset(int argc, char **argv)
{
    CHECK(argc == 1);
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(argv[0], 0, &rdonly, &v));
    unsigned char b[8] = "readonly";
    CHECK_ERR(smem_value_set(v, b, sizeof b), SMEM_EBADF);
    CHECK_ERR(smem_value_set(v, NULL, 0), SMEM_EBADF);
    th_say("ok %llu", (unsigned long long)smem_value_version(v));
    smem_value_close(v);
    return 0;
}

static const th_helper helpers[] = {
    {"get", helper_get},
    {"set", helper_set},
    {"hold", helper_hold},
    {"roset", helper_roset},
    {NULL, NULL},
};

/* ---- the checks ------------------------------------------------------- */

static void test_open_errors(void)
{
    char name[SMEM_NAME_MAX + 1];
    smem_value *v;

    /* Capacity 0 cannot create; nothing is left behind. */
    th_name(name, "vapi");
    v = (smem_value *)1;
    CHECK_ERR(smem_value_open(name, 0, NULL, &v), SMEM_EINVAL);
    CHECK(v == NULL);
    CHECK(!th_shm_exists(name));

    /* Above SMEM_VALUE_MAX: E2BIG, for a new name and for an existing one. */
    v = (smem_value *)1;
    CHECK_ERR(smem_value_open(name, SMEM_VALUE_MAX + 1, NULL, &v), SMEM_E2BIG);
    CHECK(v == NULL);
    CHECK_ERR(smem_value_open(name, (size_t)-1, NULL, &v), SMEM_E2BIG);
    CHECK_ERR(smem_value_open(name, SMEM_VALUE_MAX * 2, NULL, &v), SMEM_E2BIG);
    CHECK(!th_shm_exists(name));

    /* opts->init must be NULL, and is never called. */
    int called = 0;
    smem_opts with_init = {0, 0, 0, init_never, &called};
    v = (smem_value *)1;
    CHECK_ERR(smem_value_open(name, CAP, &with_init, &v), SMEM_EINVAL);
    CHECK(v == NULL);
    CHECK_EQ_INT(called, 0);
    CHECK(!th_shm_exists(name));

    /* SMEM_ANYKIND is for tools attaching to regions, not for values. */
    v = (smem_value *)1;
    CHECK_ERR(smem_value_open(name, CAP, &anykind, &v), SMEM_EINVAL);
    CHECK(v == NULL);
    CHECK(!th_shm_exists(name));

    /* Bad names. */
    CHECK_ERR(smem_value_open("", CAP, NULL, &v), SMEM_EINVAL);
    CHECK_ERR(smem_value_open("a/b", CAP, NULL, &v), SMEM_EINVAL);
    CHECK_ERR(smem_value_open(".hidden", CAP, NULL, &v), SMEM_EINVAL);
    char longname[SMEM_NAME_MAX + 2];
    memset(longname, 'a', SMEM_NAME_MAX + 1);
    longname[SMEM_NAME_MAX + 1] = '\0';
    CHECK_ERR(smem_value_open(longname, CAP, NULL, &v), SMEM_ENAMETOOLONG);

    /* Missing name with NOCREATE or RDONLY. */
    v = (smem_value *)1;
    CHECK_ERR(smem_value_open(name, CAP, &nocreate, &v), SMEM_ENOENT);
    CHECK(v == NULL);
    CHECK_ERR(smem_value_open(name, 0, &nocreate, &v), SMEM_ENOENT);
    CHECK_ERR(smem_value_open(name, 0, &rdonly, &v), SMEM_ENOENT);
    CHECK(!th_shm_exists(name));

    /* The limit itself is a valid capacity: for an existing value of another
     * capacity it is a mismatch, not too big.  (Not created here: it would
     * reserve a gigabyte per slot.) */
    th_name(name, "vapi");
    CHECK_OK(smem_value_open(name, CAP, NULL, &v));
    smem_value *v2 = (smem_value *)1;
    CHECK_ERR(smem_value_open(name, SMEM_VALUE_MAX, NULL, &v2), SMEM_EMISMATCH);
    CHECK(v2 == NULL);
    smem_value_close(v);
    CHECK(!th_shm_exists(name));
}

static void test_kinds(void)
{
    char vname[SMEM_NAME_MAX + 1], rname[SMEM_NAME_MAX + 1];
    th_name(vname, "vapi");
    th_name(rname, "vapi");
    smem_value *v = NULL, *v2;
    smem_region *r = NULL, *r2;

    CHECK_OK(smem_value_open(vname, CAP, NULL, &v));
    CHECK_EQ_INT(smem_value_created(v), 1);
    CHECK_EQ_SIZE(smem_value_capacity(v), CAP);

    /* The kind is in the header. */
    smem_info info;
    CHECK_OK(smem_region_stat(vname, &info));
    CHECK_EQ_INT(info.kind, SMEM_KIND_VALUE);
    CHECK_EQ_INT(info.state, SMEM_STATE_READY);
    CHECK_EQ_INT(info.error, 0);
    CHECK_EQ_INT(info.in_use, 1);
    CHECK(info.size >= CAP);
    CHECK_EQ_SIZE(info.capacity, CAP);

    /* A raw region open of a value's name: EMISMATCH, whatever the size. */
    r2 = (smem_region *)1;
    CHECK_ERR(smem_region_open(vname, 0, NULL, &r2), SMEM_EMISMATCH);
    CHECK(r2 == NULL);
    CHECK_ERR(smem_region_open(vname, info.size, NULL, &r2), SMEM_EMISMATCH);
    CHECK_ERR(smem_region_open(vname, CAP, NULL, &r2), SMEM_EMISMATCH);
    CHECK_ERR(smem_region_open(vname, 0, &nocreate, &r2), SMEM_EMISMATCH);
    CHECK_ERR(smem_region_open(vname, 0, &rdonly, &r2), SMEM_EMISMATCH);
    /* ...but SMEM_ANYKIND (for tools) attaches. */
    CHECK_OK(smem_region_open(vname, 0, &anykind, &r2));
    CHECK_EQ_SIZE(smem_region_size(r2), info.size);
    CHECK_EQ_INT(smem_region_created(r2), 0);
    smem_region_close(r2);

    /* Another capacity: EMISMATCH; capacity 0 or the same: attach. */
    v2 = (smem_value *)1;
    CHECK_ERR(smem_value_open(vname, CAP + 1, NULL, &v2), SMEM_EMISMATCH);
    CHECK(v2 == NULL);
    CHECK_ERR(smem_value_open(vname, CAP - 1, NULL, &v2), SMEM_EMISMATCH);
    CHECK_ERR(smem_value_open(vname, 1, &nocreate, &v2), SMEM_EMISMATCH);
    CHECK_ERR(smem_value_open(vname, info.size, NULL, &v2), SMEM_EMISMATCH);
    CHECK_ERR(smem_value_open(vname, SMEM_VALUE_MAX + 1, NULL, &v2), SMEM_E2BIG);
    CHECK_OK(smem_value_open(vname, 0, NULL, &v2));
    CHECK_EQ_SIZE(smem_value_capacity(v2), CAP);
    CHECK_EQ_INT(smem_value_created(v2), 0);
    smem_value_close(v2);
    CHECK_OK(smem_value_open(vname, CAP, &nocreate, &v2));
    CHECK_EQ_SIZE(smem_value_capacity(v2), CAP);
    CHECK_EQ_INT(smem_value_created(v2), 0);
    smem_value_close(v2);
    /* EXCL on an existing value. */
    v2 = (smem_value *)1;
    CHECK_ERR(smem_value_open(vname, CAP, &excl, &v2), SMEM_EEXIST);
    CHECK(v2 == NULL);
    /* So are SMEM_ANYKIND and init, even when only attaching. */
    CHECK_ERR(smem_value_open(vname, 0, &anykind, &v2), SMEM_EINVAL);
    int called = 0;
    smem_opts with_init = {0, 0, 0, init_never, &called};
    CHECK_ERR(smem_value_open(vname, 0, &with_init, &v2), SMEM_EINVAL);
    CHECK_EQ_INT(called, 0);

    /* A value's open of a raw region's name: EMISMATCH. */
    CHECK_OK(smem_region_open(rname, 4096, NULL, &r));
    memset(smem_region_data(r), 0xff, 4096);
    v2 = (smem_value *)1;
    CHECK_ERR(smem_value_open(rname, 0, NULL, &v2), SMEM_EMISMATCH);
    CHECK(v2 == NULL);
    CHECK_ERR(smem_value_open(rname, CAP, NULL, &v2), SMEM_EMISMATCH);
    CHECK_ERR(smem_value_open(rname, 4096, NULL, &v2), SMEM_EMISMATCH);
    CHECK_ERR(smem_value_open(rname, 0, &rdonly, &v2), SMEM_EMISMATCH);
    CHECK_OK(smem_region_stat(rname, &info));
    CHECK_EQ_INT(info.kind, SMEM_KIND_REGION);
    CHECK_EQ_SIZE(info.capacity, 0);
    smem_region_close(r);
    CHECK(!th_shm_exists(rname));

    smem_value_close(v);
    CHECK(!th_shm_exists(vname));
    smem_value_close(NULL); /* a no-op */
}

static void test_set_get(void)
{
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "vapi");
    smem_value *v = NULL, *v2 = NULL;
    CHECK_OK(smem_value_open(name, CAP, NULL, &v));
    CHECK_OK(smem_value_open(name, 0, NULL, &v2));

    /* Never set: length 0, version 0, whatever the buffer. */
    unsigned char buf[CAP + 64], blob[CAP + 64];
    size_t len = 12345;
    uint64_t ver = 12345;
    CHECK_OK(smem_value_get(v, buf, sizeof buf, &len, &ver));
    CHECK_EQ_SIZE(len, 0);
    CHECK_EQ_SIZE(ver, 0);
    len = 12345;
    ver = 12345;
    CHECK_OK(smem_value_get(v, NULL, 0, &len, &ver));
    CHECK_EQ_SIZE(len, 0);
    CHECK_EQ_SIZE(ver, 0);
    CHECK_OK(smem_value_get(v, NULL, 0, NULL, NULL));
    CHECK_OK(smem_value_get(v, buf, 1, NULL, NULL));
    CHECK_EQ_SIZE(smem_value_version(v), 0);
    CHECK_EQ_SIZE(smem_value_version(v2), 0);

    /* A set is seen through both handles; each set makes the version
     * larger, including sets of the same bytes and of nothing. */
    uint64_t last = 0;
    tv_rng rng;
    tv_seed(&rng, 42);
    size_t lens[] = {CAP, 1, 0, 31, 32, 33, CAP - 1, 0, 0, 500, 500, CAP, 7};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        tv_blob_fill(blob, lens[i], 1, i + 1);
        smem_value *w = (i & 1) ? v2 : v;
        CHECK_OK(smem_value_set(w, lens[i] ? blob : NULL, lens[i]));
        uint64_t now = smem_value_version(v);
        CHECKF(now > last, "set #%zu: version %llu after %llu", i, (unsigned long long)now,
               (unsigned long long)last);
        expect_value(v, blob, lens[i], now);
        expect_value(v2, blob, lens[i], now);
        last = now;
    }
    /* A shorter value replaces a longer one whole: no tail of the old one. */
    tv_blob_fill(blob, CAP, 2, 1);
    CHECK_OK(smem_value_set(v, blob, CAP));
    memset(buf, 0x77, sizeof buf);
    CHECK_OK(smem_value_set(v, "abc", 3));
    CHECK_OK(smem_value_get(v, buf, sizeof buf, &len, &ver));
    CHECK_EQ_SIZE(len, 3);
    CHECK(memcmp(buf, "abc", 3) == 0);
    /* A zero-length set with a non-NULL pointer. */
    CHECK_OK(smem_value_set(v, blob, 0));
    last = smem_value_version(v);
    expect_value(v, NULL, 0, last);

    /* Exactly the capacity fits; one more is E2BIG and changes nothing. */
    tv_blob_fill(blob, CAP, 3, 1);
    CHECK_OK(smem_value_set(v, blob, CAP));
    last = smem_value_version(v);
    tv_blob_fill(buf, CAP + 1, 3, 2);
    CHECK_ERR(smem_value_set(v, buf, CAP + 1), SMEM_E2BIG);
    CHECK_ERR(smem_value_set(v2, buf, CAP + 64), SMEM_E2BIG);
    CHECK_ERR(smem_value_set(v, buf, (size_t)-1), SMEM_E2BIG);
    CHECK_ERR(smem_value_set(v, buf, SMEM_VALUE_MAX + 1), SMEM_E2BIG);
    CHECK_ERR2(smem_value_set(v, NULL, CAP + 1), SMEM_E2BIG, SMEM_EINVAL);
    expect_value(v, blob, CAP, last);
    expect_value(v2, blob, CAP, last);

    /* NULL data with a length: EINVAL, nothing changes. */
    CHECK_ERR(smem_value_set(v, NULL, 1), SMEM_EINVAL);
    CHECK_ERR(smem_value_set(v, NULL, CAP), SMEM_EINVAL);
    expect_value(v, blob, CAP, last);

    /* get into a buffer too small: E2BIG with the size needed, and not a
     * byte written past the buffer (the guard page would fault). */
    for (size_t bs = 0; bs < CAP; bs += (bs < 70 ? 1 : 97)) {
        tv_guard g;
        unsigned char *b = tv_guard_alloc(&g, bs);
        len = 0;
        ver = 0;
        CHECK_ERR(smem_value_get(v, bs ? b : NULL, bs, &len, &ver), SMEM_E2BIG);
        CHECK_EQ_SIZE(len, CAP);
        CHECK(tv_guard_front_ok(&g));
        CHECK_ERR(smem_value_get(v, b, bs, NULL, NULL), SMEM_E2BIG);
        CHECK_ERR(smem_value_get(v, b, bs, NULL, &ver), SMEM_E2BIG);
        len = 0;
        CHECK_ERR(smem_value_get(v, b, bs, &len, NULL), SMEM_E2BIG);
        CHECK_EQ_SIZE(len, CAP);
        tv_guard_free(&g);
    }
    /* A buffer bigger than the value is fine; one exactly its size too. */
    {
        tv_guard g;
        unsigned char *b = tv_guard_alloc(&g, CAP);
        CHECK_OK(smem_value_get(v, b, CAP, &len, &ver));
        CHECK_EQ_SIZE(len, CAP);
        CHECK_EQ_SIZE(ver, last);
        CHECK(memcmp(b, blob, CAP) == 0);
        tv_guard_free(&g);
        CHECK_OK(smem_value_set(v, blob, 10));
        b = tv_guard_alloc(&g, 10);
        CHECK_OK(smem_value_get(v, b, 10, &len, NULL));
        CHECK_EQ_SIZE(len, 10);
        CHECK(memcmp(b, blob, 10) == 0);
        CHECK_ERR(smem_value_get(v, b + 1, 9, &len, NULL), SMEM_E2BIG);
        CHECK_EQ_SIZE(len, 10);
        tv_guard_free(&g);
        last = smem_value_version(v);
    }
    /* buf NULL with a nonzero size: EINVAL, for an empty value too. */
    CHECK_ERR(smem_value_get(v, NULL, 1, &len, &ver), SMEM_EINVAL);
    CHECK_ERR(smem_value_get(v, NULL, CAP, NULL, NULL), SMEM_EINVAL);
    CHECK_OK(smem_value_set(v, NULL, 0));
    CHECK_ERR(smem_value_get(v, NULL, 5, &len, &ver), SMEM_EINVAL);
    CHECK(smem_value_version(v) > last);

    /* wait on a fresh value returns at once when seen is stale. */
    CHECK_OK(smem_value_wait(v, 0, 0));
    CHECK_OK(smem_value_wait(v, smem_value_version(v) + 1, 0));
    CHECK_ERR(smem_value_wait(v, smem_value_version(v), 0), SMEM_ETIMEDOUT);

    smem_value_close(v2);
    smem_value_close(v);
    CHECK(!th_shm_exists(name));
}

static void expect_line(th_proc *h, const void *buf, size_t len, uint64_t version)
{
    char want[128];
    snprintf(want, sizeof want, "%zu %llu %016llx", len, (unsigned long long)version,
             (unsigned long long)tv_hash(buf, len));
    th_expect(h, want, 10000);
}

/*
 * A persistent value keeps its content and version without users, until
 * removed.  Where a region goes with its last handle whatever its flags
 * (Windows), a helper holds it, as `sharedmem hold` does: it is then in
 * use, and cannot be removed until the holder lets go (SMEM_EBUSY).
 */
static void test_persistent(const char *name)
{
    smem_value *v = NULL;
    unsigned char blob[100];
    th_proc h, holder;
    CHECK_OK(smem_value_open(name, CAP, &persist, &v));
    if (!TV_KERNEL_PERSIST) {
        th_log("a persistent value needs a holder on this system: a helper holds it");
        th_spawn(&holder, -1, "hold", name, NULL);
        th_expect(&holder, "ready", 10000);
    }
    tv_blob_fill(blob, 100, 7, 1);
    CHECK_OK(smem_value_set(v, blob, 100));
    uint64_t ver = smem_value_version(v);
    smem_value_close(v);
    CHECK(th_shm_exists(name));
    smem_info info;
    CHECK_OK(smem_region_stat(name, &info));
    CHECK_EQ_INT(info.kind, SMEM_KIND_VALUE);
    CHECK_EQ_INT(info.persistent, 1);
    CHECK_EQ_INT(info.in_use, !TV_KERNEL_PERSIST);
    CHECK_EQ_SIZE(info.capacity, CAP);
    th_spawn(&h, -1, "get", name, NULL);
    expect_line(&h, blob, 100, ver);
    th_wait_ok(&h, 10000);
    CHECK_OK(smem_value_open(name, 0, NULL, &v));
    CHECK_EQ_INT(smem_value_created(v), 0);
    expect_value(v, blob, 100, ver);
    smem_value_close(v);
    if (TV_KERNEL_PERSIST) {
        CHECK_OK(smem_region_remove(name));
    } else {
        CHECK_ERR(smem_region_remove(name), SMEM_EBUSY);
        th_wait_ok(&holder, 10000); /* it closes the value when its stdin does */
    }
    CHECK(!th_shm_exists(name));
    CHECK_OK(smem_value_open(name, CAP, NULL, &v));
    CHECK_EQ_INT(smem_value_created(v), 1);
    expect_value(v, NULL, 0, 0);
    smem_value_close(v);
    CHECK(!th_shm_exists(name));
}

struct forked {
    smem_value *v;
    uint64_t ver; /* the parent's value: "x", this version */
};

/* In a forked child: get through the inherited handle, try a set, close.
 * 10: the set worked; 11: it was refused; else what went wrong. */
static int child_uses_handle(void *arg)
{
    struct forked *f = arg;
    unsigned char b[CAP];
    size_t len = 0;
    uint64_t cver = 0;
    int rc = smem_value_get(f->v, b, CAP, &len, &cver);
    if (rc != 0 || len != 1 || b[0] != 'x' || cver != f->ver)
        return 2;
    rc = smem_value_set(f->v, "child", 5); /* a normal set: fork is a first-class use */
    if (rc != 0)
        return 3;
    smem_value_close(f->v);
    return rc == 0 ? 10 : 11;
}

static void test_processes(void)
{
    char name[SMEM_NAME_MAX + 1], line[256];
    unsigned char blob[CAP];
    th_name(name, "vapi");
    smem_value *v = NULL, *ro = NULL;
    CHECK_OK(smem_value_open(name, CAP, NULL, &v));
    th_proc h;

    /* Another process sees a never-set value as empty, version 0. */
    th_spawn(&h, -1, "get", name, NULL);
    expect_line(&h, NULL, 0, 0);
    th_wait_ok(&h, 10000);

    /* A set by another process is seen here, with the version it saw. */
    th_spawn(&h, -1, "set", name, "777", "5", "1", NULL);
    th_recv(&h, line, sizeof line, 10000);
    th_wait_ok(&h, 10000);
    uint64_t ver = tv_num(line);
    CHECK(ver > 0);
    tv_blob_fill(blob, 777, 5, 1);
    expect_value(v, blob, 777, ver);

    /* A set here is seen there, through read-write and read-only handles. */
    tv_blob_fill(blob, CAP, 6, 1);
    CHECK_OK(smem_value_set(v, blob, CAP));
    CHECK(smem_value_version(v) > ver);
    ver = smem_value_version(v);
    th_spawn(&h, -1, "get", name, NULL);
    expect_line(&h, blob, CAP, ver);
    th_wait_ok(&h, 10000);
    th_spawn(&h, -1, "get", name, "ro", NULL);
    expect_line(&h, blob, CAP, ver);
    th_wait_ok(&h, 10000);

    /* Read-only handles: get, version and wait work; set is EBADF and
     * changes nothing. */
    th_spawn(&h, -1, "roset", name, NULL);
    snprintf(line, sizeof line, "ok %llu", (unsigned long long)ver);
    th_expect(&h, line, 10000);
    th_wait_ok(&h, 10000);
    CHECK_OK(smem_value_open(name, 0, &rdonly, &ro));
    CHECK_EQ_INT(smem_value_created(ro), 0);
    CHECK_EQ_SIZE(smem_value_capacity(ro), CAP);
    CHECK_ERR(smem_value_set(ro, blob, 1), SMEM_EBADF);
    CHECK_ERR(smem_value_set(ro, NULL, 0), SMEM_EBADF);
    expect_value(ro, blob, CAP, ver);
    expect_value(v, blob, CAP, ver);
    CHECK_ERR(smem_value_wait(ro, ver, 0), SMEM_ETIMEDOUT);
    CHECK_OK(smem_value_wait(ro, ver - 1, 0));
    CHECK_OK(smem_value_set(v, "x", 1));
    CHECK_OK(smem_value_wait(ro, ver, 0));
    expect_value(ro, "x", 1, smem_value_version(v));
    smem_value_close(ro);

    /* A child after fork() may read through the inherited handle and close
     * it; the parent's handle keeps working (for sets too: the child's
     * close releases nothing of the parent's). */
    ver = smem_value_version(v);
    struct forked f = {v, ver};
    int code = tv_forked(child_uses_handle, &f);
    if (code < 0) {
        th_log("skip: a forked child using an inherited handle (no fork() on this system)");
    } else {
        CHECKF(code == 10, "child using the inherited handle exited with %d", code);
        if (code == 10)
            expect_value(v, "child", 5, smem_value_version(v));
        else
            expect_value(v, "x", 1, ver);
    }
    CHECK(th_shm_exists(name));
    CHECK_OK(smem_value_set(v, "x", 1));
    CHECK_OK(smem_value_set(v, "x", 1));
    CHECK(smem_value_version(v) > ver);
    expect_value(v, "x", 1, smem_value_version(v));

    /* Lifetime is the region's: a value outlives its creator's handle while
     * another process holds it, and keeps its content and version. */
    ver = smem_value_version(v);
    th_spawn(&h, -1, "hold", name, NULL);
    th_expect(&h, "ready", 10000);
    smem_value_close(v);
    CHECK(th_shm_exists(name));
    CHECK_OK(smem_value_open(name, 0, NULL, &v));
    CHECK_EQ_INT(smem_value_created(v), 0);
    expect_value(v, "x", 1, ver);
    smem_value_close(v);
    /* ...and when its last user is killed, the next open makes a new,
     * empty one. */
    th_kill(&h);
    CHECK_OK(smem_value_open(name, CAP, NULL, &v));
    CHECK_EQ_INT(smem_value_created(v), 1);
    expect_value(v, NULL, 0, 0);
    smem_value_close(v);
    CHECK(!th_shm_exists(name));

    test_persistent(name);
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    test_open_errors();
    test_kinds();
    test_set_get();
    test_processes();
    return 0;
}
