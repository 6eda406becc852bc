/* Maps, one call at a time: open and its errors (figures, kinds, limits,
 * options), keys (NULL, empty, 64 and 65 bytes, every byte 1..255),
 * set/get round trips at 0 and max_value bytes, every E2BIG / ENOENT /
 * EFULL / EEXIST / ECHANGED / EINVAL / ERANGE path (and that a refused call
 * changes nothing: entries, versions), incr's number format, versions,
 * count, foreach (each entry once, stopping, map calls from the callback),
 * read-only and inherited handles, the new error codes' texts, stat of a
 * map, and the lifetime a map shares with its region. */
#include "check.h"

#include "test_map_kit.c"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* KEY must hold exactly BUF/LEN with VERSION (0: any version, returned). */
static uint64_t expect_entry(smem_map *m, const char *key, const void *buf, size_t len,
                             uint64_t version)
{
    size_t mv = smem_map_max_value(m);
    tv_guard g;
    unsigned char *b = tv_guard_alloc(&g, mv ? mv : 1);
    size_t got = (size_t)-1;
    uint64_t ver = UINT64_MAX;
    int rc = smem_map_get(m, key, b, mv, &got, &ver);
    CHECKF(rc == 0, "get(\"%.20s...\") gave %d (%s)", key, rc, smem_err_name(rc));
    CHECK_EQ_SIZE(got, len);
    CHECK(len == 0 || memcmp(b, buf, len) == 0);
    CHECK(tv_guard_front_ok(&g));
    CHECK(ver > 0);
    if (version)
        CHECK_EQ_SIZE(ver, version);
    tv_guard_free(&g);
    return ver;
}

static void expect_absent(smem_map *m, const char *key)
{
    unsigned char b[16];
    size_t len = 12345;
    uint64_t ver = 12345;
    CHECK_ERR(smem_map_get(m, key, b, sizeof b, &len, &ver), SMEM_ENOENT);
    CHECK_EQ_SIZE(len, 0);
    CHECK_EQ_SIZE(ver, 0);
}

/* ---- foreach callbacks ------------------------------------------------ */

#define MAXSEEN 1024
struct walk {
    smem_map *m;
    int calls, stop_after;
    char keys[MAXSEEN][TM_KEY_BUF];
    unsigned char vals[MAXSEEN][320];
    size_t lens[MAXSEEN];
    uint64_t vers[MAXSEEN];
    int del_self, set_other;
};

static int walk_fn(const char *key, const void *val, size_t len, uint64_t version, void *arg)
{
    struct walk *w = arg;
    CHECK(w->calls < MAXSEEN);
    CHECK(key && strlen(key) >= 1 && strlen(key) <= SMEM_MAP_KEY_MAX);
    CHECK(len <= sizeof w->vals[0]);
    CHECK(len == 0 || val != NULL);
    snprintf(w->keys[w->calls], TM_KEY_BUF, "%s", key);
    if (len)
        memcpy(w->vals[w->calls], val, len);
    w->lens[w->calls] = len;
    w->vers[w->calls] = version;
    w->calls++;
    if (w->del_self) /* a map call from inside the walk: no deadlock */
        CHECK_OK(smem_map_del(w->m, key));
    if (w->set_other && strcmp(key, "visited-by-walk") != 0)
        CHECK_OK(smem_map_set(w->m, "visited-by-walk", key, strlen(key)));
    return w->stop_after && w->calls >= w->stop_after;
}

/* Index of KEY in the walk's record, -1 if absent; fails if seen twice. */
static int walk_find(const struct walk *w, const char *key)
{
    int at = -1;
    for (int i = 0; i < w->calls; i++) {
        if (strcmp(w->keys[i], key) == 0) {
            CHECKF(at < 0, "foreach visited \"%s\" twice", key);
            at = i;
        }
    }
    return at;
}

/* ---- helpers ---------------------------------------------------------- */

/* get NAME KEY: prints "RC LEN VALUE" from another process. */
static int helper_get(int argc, char **argv)
{
    CHECK(argc == 2);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(argv[0], 0, 0, &nocreate, &m));
    CHECK_EQ_INT(smem_map_created(m), 0);
    char b[256];
    size_t len = 0;
    int rc = smem_map_get(m, argv[1], b, sizeof b - 1, &len, NULL);
    b[rc == 0 ? len : 0] = '\0';
    th_say("%d %zu %s", rc, len, b);
    smem_map_close(m);
    return 0;
}

static const th_helper helpers[] = {
    {"get", helper_get},
    {NULL, NULL},
};

/* ---- open ------------------------------------------------------------- */

static void test_open(void)
{
    char name[SMEM_NAME_MAX + 1], vname[SMEM_NAME_MAX + 1], rname[SMEM_NAME_MAX + 1];
    smem_map *m = NULL, *m2 = NULL;
    th_name(name, "mapi");

    /* Creating needs max_entries; nothing is left behind by a refusal. */
    m = (smem_map *)1;
    CHECK_ERR(smem_map_open(name, 0, 10, NULL, &m), SMEM_EINVAL);
    CHECK(m == NULL);
    CHECK_ERR(smem_map_open(name, 0, 0, NULL, &m), SMEM_EINVAL);
    CHECK(!th_shm_exists(name));
    /* Over the limits, or a map too large for a region: E2BIG. */
    m = (smem_map *)1;
    CHECK_ERR(smem_map_open(name, SMEM_MAP_ENTRIES_MAX + 1, 10, NULL, &m), SMEM_E2BIG);
    CHECK(m == NULL);
    CHECK_ERR(smem_map_open(name, 10, SMEM_MAP_VALUE_MAX + 1, NULL, &m), SMEM_E2BIG);
    CHECK_ERR(smem_map_open(name, (size_t)-1, 10, NULL, &m), SMEM_E2BIG);
    CHECK_ERR(smem_map_open(name, 10, (size_t)-1, NULL, &m), SMEM_E2BIG);
    /* 2^30 entries of 1 MiB: 2^50 bytes, over SMEM_SIZE_MAX. */
    CHECK_ERR(smem_map_open(name, SMEM_MAP_ENTRIES_MAX, SMEM_MAP_VALUE_MAX, NULL, &m),
              SMEM_E2BIG);
    CHECK(!th_shm_exists(name));
    /* Options values accept, maps refuse. */
    int ran = 0;
    smem_opts with_init = {0, 0, 0, init_never, &ran};
    m = (smem_map *)1;
    CHECK_ERR(smem_map_open(name, 10, 10, &with_init, &m), SMEM_EINVAL);
    CHECK(m == NULL);
    CHECK_EQ_INT(ran, 0);
    CHECK_ERR(smem_map_open(name, 10, 10, &anykind, &m), SMEM_EINVAL);
    CHECK(!th_shm_exists(name));
    /* Bad names, a missing map without create. */
    CHECK_ERR(smem_map_open("", 10, 10, NULL, &m), SMEM_EINVAL);
    CHECK_ERR(smem_map_open("a/b", 10, 10, NULL, &m), SMEM_EINVAL);
    char longname[SMEM_NAME_MAX + 2];
    memset(longname, 'n', SMEM_NAME_MAX + 1);
    longname[SMEM_NAME_MAX + 1] = '\0';
    CHECK_ERR(smem_map_open(longname, 10, 10, NULL, &m), SMEM_ENAMETOOLONG);
    CHECK_ERR(smem_map_open(name, 10, 10, &nocreate, &m), SMEM_ENOENT);
    CHECK_ERR(smem_map_open(name, 0, 0, &rdonly, &m), SMEM_ENOENT);
    CHECK(!th_shm_exists(name));

    /* Create, then attach with 0,0 or the same figures. */
    CHECK_OK(smem_map_open(name, 10, 100, NULL, &m));
    CHECK(m != NULL);
    CHECK_EQ_INT(smem_map_created(m), 1);
    CHECK_EQ_SIZE(smem_map_max_entries(m), 10);
    CHECK_EQ_SIZE(smem_map_max_value(m), 100);
    CHECK_EQ_INT(smem_map_count(m), 0);
    CHECK_EQ_SIZE(smem_map_version(m), 0);
    CHECK(th_shm_exists(name));
    CHECK_OK(smem_map_open(name, 0, 0, NULL, &m2));
    CHECK_EQ_INT(smem_map_created(m2), 0);
    CHECK_EQ_SIZE(smem_map_max_entries(m2), 10);
    CHECK_EQ_SIZE(smem_map_max_value(m2), 100);
    smem_map_close(m2);
    CHECK_OK(smem_map_open(name, 10, 100, NULL, &m2));
    CHECK_EQ_INT(smem_map_created(m2), 0);
    smem_map_close(m2);
    CHECK_OK(smem_map_open(name, 0, 0, &nocreate, &m2));
    smem_map_close(m2);
    m2 = (smem_map *)1;
    CHECK_ERR(smem_map_open(name, 10, 100, &excl, &m2), SMEM_EEXIST);
    CHECK(m2 == NULL);
    /* Other figures: EMISMATCH (max_value 0 is a figure: keys alone). */
    CHECK_ERR(smem_map_open(name, 11, 100, NULL, &m2), SMEM_EMISMATCH);
    CHECK(m2 == NULL);
    CHECK_ERR(smem_map_open(name, 9, 100, NULL, &m2), SMEM_EMISMATCH);
    CHECK_ERR(smem_map_open(name, 10, 101, NULL, &m2), SMEM_EMISMATCH);
    CHECK_ERR(smem_map_open(name, 10, 99, NULL, &m2), SMEM_EMISMATCH);
    CHECK_ERR(smem_map_open(name, 10, 0, NULL, &m2), SMEM_EMISMATCH);
    CHECK_ERR(smem_map_open(name, 1, 1, NULL, &m2), SMEM_EMISMATCH);
    /* max_entries 0 with a max_value: not "accept", and cannot create. */
    CHECK_ERR2(smem_map_open(name, 0, 100, NULL, &m2), SMEM_EMISMATCH, SMEM_EINVAL);
    /* Over the limits against an existing map: still E2BIG or EMISMATCH,
     * never success. */
    CHECK_ERR2(smem_map_open(name, SMEM_MAP_ENTRIES_MAX + 1, 100, NULL, &m2), SMEM_E2BIG,
               SMEM_EMISMATCH);
    CHECK(m2 == NULL);

    /* Another kind under the name: EMISMATCH both ways. */
    th_name(vname, "mapiv");
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(vname, 100, NULL, &v));
    CHECK_ERR(smem_map_open(vname, 0, 0, NULL, &m2), SMEM_EMISMATCH);
    CHECK_ERR(smem_map_open(vname, 10, 100, NULL, &m2), SMEM_EMISMATCH);
    CHECK_ERR(smem_map_open(vname, 0, 0, &rdonly, &m2), SMEM_EMISMATCH);
    CHECK(m2 == NULL);
    smem_value *v2 = NULL;
    CHECK_ERR(smem_value_open(name, 0, NULL, &v2), SMEM_EMISMATCH);
    CHECK(v2 == NULL);
    smem_value_close(v);
    th_name(rname, "mapir");
    smem_region *r = NULL;
    CHECK_OK(smem_region_open(rname, 4096, NULL, &r));
    CHECK_ERR(smem_map_open(rname, 0, 0, NULL, &m2), SMEM_EMISMATCH);
    CHECK_ERR(smem_map_open(rname, 10, 100, NULL, &m2), SMEM_EMISMATCH);
    smem_region_close(r);
    /* A raw handle of any kind attaches to a map and sees its bytes. */
    CHECK_OK(smem_region_open(name, 0, &anykind, &r));
    CHECK(smem_region_size(r) > 0);
    smem_region_close(r);

    /* stat of a map: kind, figures, entries. */
    CHECK_OK(smem_map_set(m, "a", "1", 1));
    CHECK_OK(smem_map_set(m, "b", "2", 1));
    smem_info info;
    CHECK_OK(smem_region_stat(name, &info));
    CHECK_EQ_INT(info.kind, SMEM_KIND_MAP);
    CHECK_EQ_INT(info.state, SMEM_STATE_READY);
    CHECK_EQ_SIZE(info.capacity, 10);
    CHECK_EQ_SIZE(info.max_value, 100);
    CHECK_EQ_SIZE(info.entries, 2);

    /* A map of keys alone (max_value 0). */
    char kname[SMEM_NAME_MAX + 1];
    th_name(kname, "mapik");
    smem_map *k = NULL;
    CHECK_OK(smem_map_open(kname, 3, 0, NULL, &k));
    CHECK_EQ_SIZE(smem_map_max_value(k), 0);
    CHECK_OK(smem_map_set(k, "x", NULL, 0));
    CHECK_ERR(smem_map_set(k, "y", "1", 1), SMEM_E2BIG);
    expect_absent(k, "y");
    size_t len = 99;
    CHECK_OK(smem_map_get(k, "x", NULL, 0, &len, NULL));
    CHECK_EQ_SIZE(len, 0);
    CHECK_ERR(smem_map_incr(k, "n", 1, NULL), SMEM_E2BIG); /* "1" needs a byte */
    expect_absent(k, "n");
    CHECK_EQ_INT(smem_map_count(k), 1);
    smem_map_close(k);
    CHECK(!th_shm_exists(kname));

    smem_map_close(m);
    CHECK(!th_shm_exists(name));
    smem_map_close(NULL); /* a no-op */
    th_log("open: figures, kinds, limits and options checked");
}

/* ---- keys ------------------------------------------------------------- */

static void test_keys(void)
{
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "mapkeys");
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 600, 16, NULL, &m));
    char key[SMEM_MAP_KEY_MAX + 2], b[16];
    size_t len;
    uint64_t ver;

    /* NULL and empty keys: EINVAL from every call that takes a key (wait
     * takes NULL for the whole map). */
    CHECK_ERR(smem_map_set(m, NULL, "v", 1), SMEM_EINVAL);
    CHECK_ERR(smem_map_set(m, "", "v", 1), SMEM_EINVAL);
    CHECK_ERR(smem_map_get(m, NULL, b, sizeof b, &len, &ver), SMEM_EINVAL);
    CHECK_ERR(smem_map_get(m, "", b, sizeof b, &len, &ver), SMEM_EINVAL);
    CHECK_ERR(smem_map_del(m, NULL), SMEM_EINVAL);
    CHECK_ERR(smem_map_del(m, ""), SMEM_EINVAL);
    CHECK_ERR(smem_map_add(m, NULL, "v", 1), SMEM_EINVAL);
    CHECK_ERR(smem_map_add(m, "", "v", 1), SMEM_EINVAL);
    CHECK_ERR(smem_map_cas(m, NULL, 0, "v", 1), SMEM_EINVAL);
    CHECK_ERR(smem_map_cas(m, "", 0, "v", 1), SMEM_EINVAL);
    CHECK_ERR(smem_map_incr(m, NULL, 1, NULL), SMEM_EINVAL);
    CHECK_ERR(smem_map_incr(m, "", 1, NULL), SMEM_EINVAL);
    CHECK_ERR(smem_map_wait(m, "", 0, 0), SMEM_EINVAL);

    /* 65 bytes: ENAMETOOLONG everywhere; 64 bytes: fine. */
    memset(key, 'L', SMEM_MAP_KEY_MAX + 1);
    key[SMEM_MAP_KEY_MAX + 1] = '\0';
    CHECK_ERR(smem_map_set(m, key, "v", 1), SMEM_ENAMETOOLONG);
    CHECK_ERR(smem_map_get(m, key, b, sizeof b, &len, &ver), SMEM_ENAMETOOLONG);
    CHECK_ERR(smem_map_del(m, key), SMEM_ENAMETOOLONG);
    CHECK_ERR(smem_map_add(m, key, "v", 1), SMEM_ENAMETOOLONG);
    CHECK_ERR(smem_map_cas(m, key, 0, "v", 1), SMEM_ENAMETOOLONG);
    CHECK_ERR(smem_map_incr(m, key, 1, NULL), SMEM_ENAMETOOLONG);
    CHECK_ERR(smem_map_wait(m, key, 0, 0), SMEM_ENAMETOOLONG);
    /* A much longer key too (no reading it to the end is required, but it
     * must not be cut to 64 bytes and matched). */
    char huge[1000];
    memset(huge, 'L', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    CHECK_ERR(smem_map_set(m, huge, "v", 1), SMEM_ENAMETOOLONG);
    CHECK_EQ_INT(smem_map_count(m), 0);
    CHECK_EQ_SIZE(smem_map_version(m), 0);
    key[SMEM_MAP_KEY_MAX] = '\0'; /* 64 'L's */
    CHECK_OK(smem_map_set(m, key, "64", 2));
    expect_entry(m, key, "64", 2, 0);
    huge[SMEM_MAP_KEY_MAX] = '\0';
    expect_entry(m, huge, "64", 2, 0);
    key[SMEM_MAP_KEY_MAX - 1] = '\0'; /* 63 'L's: another key */
    expect_absent(m, key);

    /* Every byte 1..255 as a one-byte key, and inside a long key; keys
     * that are prefixes of each other are different keys. */
    for (int c = 1; c <= 255; c++) {
        char k1[2] = {(char)c, '\0'};
        unsigned char val = (unsigned char)c;
        CHECK_OK(smem_map_set(m, k1, &val, 1));
    }
    for (int c = 1; c <= 255; c++) {
        memset(key, (char)c, SMEM_MAP_KEY_MAX);
        key[SMEM_MAP_KEY_MAX] = '\0';
        key[c % SMEM_MAP_KEY_MAX] = (char)(256 - c);
        unsigned char val[2] = {(unsigned char)c, 0xEE};
        CHECK_OK(smem_map_set(m, key, val, 2));
    }
    CHECK_OK(smem_map_set(m, "ab", "ab", 2));
    CHECK_OK(smem_map_set(m, "abc", "abc", 3));
    CHECK_OK(smem_map_set(m, "ab\x01", "ab1", 3));
    CHECK_OK(smem_map_set(m, "\xff\xfe", "fffe", 4));
    for (int c = 1; c <= 255; c++) {
        char k1[2] = {(char)c, '\0'};
        unsigned char val = (unsigned char)c;
        expect_entry(m, k1, &val, 1, 0);
        memset(key, (char)c, SMEM_MAP_KEY_MAX);
        key[SMEM_MAP_KEY_MAX] = '\0';
        key[c % SMEM_MAP_KEY_MAX] = (char)(256 - c);
        unsigned char val2[2] = {(unsigned char)c, 0xEE};
        expect_entry(m, key, val2, 2, 0);
    }
    expect_entry(m, "ab", "ab", 2, 0);
    expect_entry(m, "abc", "abc", 3, 0);
    expect_entry(m, "ab\x01", "ab1", 3, 0);
    expect_entry(m, "\xff\xfe", "fffe", 4, 0);
    expect_absent(m, "a\x01");
    expect_absent(m, "abcd");
    int n = 1 + 255 + 255 + 4;
    CHECK_EQ_INT(smem_map_count(m), n);
    /* foreach gives each of them back, byte for byte. */
    static struct walk w;
    memset(&w, 0, sizeof w);
    w.m = m;
    CHECK_EQ_INT(smem_map_foreach(m, walk_fn, &w), n);
    CHECK_EQ_INT(w.calls, n);
    for (int c = 1; c <= 255; c++) {
        char k1[2] = {(char)c, '\0'};
        int at = walk_find(&w, k1);
        CHECKF(at >= 0, "foreach missed the key of byte %d", c);
        CHECK(w.lens[at] == 1 && w.vals[at][0] == (unsigned char)c);
    }
    CHECK(walk_find(&w, "ab\x01") >= 0);
    smem_map_close(m);
    th_log("keys: NULL, empty, 64/65 bytes, bytes 1..255, prefixes checked");
}

/* ---- values, full maps, add, del, cas --------------------------------- */

static void test_values(void)
{
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "mapval");
    const size_t MV = 300;
    const int ME = 8;
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, (size_t)ME, MV, NULL, &m));
    unsigned char big[301], b[301];
    th_pattern(big, sizeof big, 7);
    size_t len;
    uint64_t ver, v1;

    /* 0 bytes (NULL allowed), max_value bytes. */
    CHECK_OK(smem_map_set(m, "zero", NULL, 0));
    v1 = expect_entry(m, "zero", NULL, 0, 0);
    CHECK_EQ_SIZE(v1, smem_map_version(m));
    CHECK_OK(smem_map_set(m, "zero2", "ignored", 0));
    expect_entry(m, "zero2", NULL, 0, 0);
    CHECK_OK(smem_map_set(m, "max", big, MV));
    uint64_t vmax = expect_entry(m, "max", big, MV, 0);
    /* Over max_value: E2BIG, nothing changes (value, version, map version,
     * count), for a present key and an absent one. */
    uint64_t mv0 = smem_map_version(m);
    CHECK_ERR(smem_map_set(m, "max", big, MV + 1), SMEM_E2BIG);
    CHECK_ERR(smem_map_set(m, "new", big, MV + 1), SMEM_E2BIG);
    CHECK_ERR(smem_map_set(m, "new", big, (size_t)-1), SMEM_E2BIG);
    CHECK_ERR(smem_map_add(m, "new", big, MV + 1), SMEM_E2BIG);
    CHECK_ERR(smem_map_cas(m, "max", vmax, big, MV + 1), SMEM_E2BIG);
    CHECK_ERR(smem_map_cas(m, "new", 0, big, MV + 1), SMEM_E2BIG);
    expect_entry(m, "max", big, MV, vmax);
    expect_absent(m, "new");
    CHECK_EQ_SIZE(smem_map_version(m), mv0);
    CHECK_EQ_INT(smem_map_count(m), 3);

    /* Small buffers: E2BIG with the length needed; LEN/VERSION NULL ok. */
    len = 0;
    CHECK_ERR(smem_map_get(m, "max", b, MV - 1, &len, &ver), SMEM_E2BIG);
    CHECK_EQ_SIZE(len, MV);
    len = 0;
    CHECK_ERR(smem_map_get(m, "max", NULL, 0, &len, NULL), SMEM_E2BIG);
    CHECK_EQ_SIZE(len, MV);
    CHECK_ERR(smem_map_get(m, "max", b, 1, NULL, NULL), SMEM_E2BIG);
    CHECK_OK(smem_map_get(m, "max", b, MV, NULL, NULL));
    CHECK(memcmp(b, big, MV) == 0);
    CHECK_OK(smem_map_get(m, "zero", NULL, 0, &len, &ver));
    CHECK_EQ_SIZE(len, 0);
    CHECK_EQ_SIZE(ver, v1);
    /* A get into an exact-size guarded buffer writes nothing past it. */
    {
        tv_guard g;
        unsigned char *gb = tv_guard_alloc(&g, MV);
        CHECK_OK(smem_map_get(m, "max", gb, MV, &len, NULL));
        CHECK(len == MV && memcmp(gb, big, MV) == 0 && tv_guard_front_ok(&g));
        tv_guard_free(&g);
    }
    /* Missing: ENOENT, *len and *version 0. */
    expect_absent(m, "missing");
    CHECK_ERR(smem_map_get(m, "missing", NULL, 0, NULL, NULL), SMEM_ENOENT);

    /* Replacing keeps one entry and gives a new version. */
    CHECK_OK(smem_map_set(m, "max", "short", 5));
    uint64_t v2 = expect_entry(m, "max", "short", 5, 0);
    CHECK(v2 > vmax);
    CHECK_EQ_INT(smem_map_count(m), 3);

    /* del: absent is ENOENT and changes nothing. */
    mv0 = smem_map_version(m);
    CHECK_ERR(smem_map_del(m, "missing"), SMEM_ENOENT);
    CHECK_EQ_SIZE(smem_map_version(m), mv0);
    CHECK_OK(smem_map_del(m, "zero2"));
    CHECK(smem_map_version(m) > mv0);
    expect_absent(m, "zero2");
    CHECK_ERR(smem_map_del(m, "zero2"), SMEM_ENOENT);
    CHECK_EQ_INT(smem_map_count(m), 2);

    /* add: only if absent. */
    CHECK_OK(smem_map_add(m, "added", "first", 5));
    uint64_t va = expect_entry(m, "added", "first", 5, 0);
    mv0 = smem_map_version(m);
    CHECK_ERR(smem_map_add(m, "added", "second", 6), SMEM_EEXIST);
    expect_entry(m, "added", "first", 5, va);
    CHECK_EQ_SIZE(smem_map_version(m), mv0);
    CHECK_OK(smem_map_add(m, "added-empty", NULL, 0));
    CHECK_ERR(smem_map_add(m, "added-empty", NULL, 0), SMEM_EEXIST);

    /* cas: the right version, a wrong one, 0 = only if absent. */
    CHECK_OK(smem_map_cas(m, "added", va, "third", 5));
    uint64_t vc = expect_entry(m, "added", "third", 5, 0);
    CHECK(vc > va);
    mv0 = smem_map_version(m);
    CHECK_ERR(smem_map_cas(m, "added", va, "stale", 5), SMEM_ECHANGED);
    CHECK_ERR(smem_map_cas(m, "added", vc + 1, "future", 6), SMEM_ECHANGED);
    CHECK_ERR(smem_map_cas(m, "added", 0, "absent?", 7), SMEM_ECHANGED);
    CHECK_ERR(smem_map_cas(m, "never", 5, "x", 1), SMEM_ECHANGED);
    expect_entry(m, "added", "third", 5, vc);
    expect_absent(m, "never");
    CHECK_EQ_SIZE(smem_map_version(m), mv0);
    CHECK_OK(smem_map_cas(m, "casnew", 0, "made", 4));
    uint64_t vn = expect_entry(m, "casnew", "made", 4, 0);
    CHECK_ERR(smem_map_cas(m, "casnew", 0, "again", 5), SMEM_ECHANGED);
    CHECK_OK(smem_map_cas(m, "casnew", vn, NULL, 0));
    expect_entry(m, "casnew", NULL, 0, 0);

    /* Fill up: the map holds max_entries keys, a new key is EFULL (from
     * set, add, cas and incr alike) and changes nothing; replacing and
     * deleting still work, and a freed entry can be used again. */
    char k[32];
    int filled = smem_map_count(m);
    CHECK(filled > 0 && filled < ME);
    for (int i = 0; filled < ME; i++, filled++) {
        snprintf(k, sizeof k, "fill-%d", i);
        CHECK_OK(smem_map_set(m, k, k, strlen(k)));
    }
    CHECK_EQ_INT(smem_map_count(m), ME);
    mv0 = smem_map_version(m);
    CHECK_ERR(smem_map_set(m, "one-too-many", "x", 1), SMEM_EFULL);
    CHECK_ERR(smem_map_set(m, "one-too-many", NULL, 0), SMEM_EFULL);
    CHECK_ERR(smem_map_add(m, "one-too-many", "x", 1), SMEM_EFULL);
    CHECK_ERR(smem_map_cas(m, "one-too-many", 0, "x", 1), SMEM_EFULL);
    CHECK_ERR(smem_map_incr(m, "one-too-many", 1, NULL), SMEM_EFULL);
    CHECK_ERR(smem_map_add(m, "added", "x", 1), SMEM_EEXIST); /* present: EEXIST */
    expect_absent(m, "one-too-many");
    CHECK_EQ_SIZE(smem_map_version(m), mv0);
    CHECK_EQ_INT(smem_map_count(m), ME);
    CHECK_OK(smem_map_set(m, "max", big, MV)); /* replacing in a full map */
    expect_entry(m, "max", big, MV, 0);
    CHECK_OK(smem_map_set(m, "fill-0", "again", 5));
    CHECK_ERR(smem_map_incr(m, "fill-1", 0, NULL), SMEM_EINVAL); /* "fill-1": not a number */
    CHECK_EQ_INT(smem_map_count(m), ME);
    CHECK_OK(smem_map_del(m, "fill-0"));
    CHECK_EQ_INT(smem_map_count(m), ME - 1);
    CHECK_OK(smem_map_set(m, "one-too-many", "now fits", 8));
    expect_entry(m, "one-too-many", "now fits", 8, 0);
    CHECK_ERR(smem_map_set(m, "fill-0", "x", 1), SMEM_EFULL);
    /* Empty it and fill it again, several times: nothing is lost. */
    for (int round = 0; round < 5; round++) {
        static struct walk w;
        memset(&w, 0, sizeof w);
        w.m = m;
        CHECK_EQ_INT(smem_map_foreach(m, walk_fn, &w), ME);
        for (int i = 0; i < w.calls; i++)
            CHECK_OK(smem_map_del(m, w.keys[i]));
        CHECK_EQ_INT(smem_map_count(m), 0);
        for (int i = 0; i < ME; i++) {
            snprintf(k, sizeof k, "r%d-%d", round, i);
            CHECK_OK(smem_map_add(m, k, big, (size_t)(i * 37) % (MV + 1)));
        }
        CHECK_ERR(smem_map_add(m, "extra", "x", 1), SMEM_EFULL);
        for (int i = 0; i < ME; i++) {
            snprintf(k, sizeof k, "r%d-%d", round, i);
            expect_entry(m, k, big, (size_t)(i * 37) % (MV + 1), 0);
        }
    }
    smem_map_close(m);
    CHECK(!th_shm_exists(name));
    th_log("values: 0 and max_value bytes, E2BIG, ENOENT, del, add, cas, EFULL checked");
}

/* ---- incr --------------------------------------------------------------- */

static void expect_text(smem_map *m, const char *key, const char *text)
{
    expect_entry(m, key, text, strlen(text), 0);
}

static void test_incr(void)
{
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "mapincr");
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 32, 40, NULL, &m));
    int64_t r = 99;

    /* An absent key counts as 0; the sum is stored as decimal text. */
    CHECK_OK(smem_map_incr(m, "c", 5, &r));
    CHECK_EQ_INT(r, 5);
    expect_text(m, "c", "5");
    CHECK_OK(smem_map_incr(m, "c", -12, &r));
    CHECK_EQ_INT(r, -7);
    expect_text(m, "c", "-7");
    CHECK_OK(smem_map_incr(m, "c", 0, &r));
    CHECK_EQ_INT(r, -7);
    CHECK_OK(smem_map_incr(m, "c", 7, NULL)); /* RESULT may be NULL */
    expect_text(m, "c", "0");
    CHECK_OK(smem_map_incr(m, "zero", 0, &r));
    CHECK_EQ_INT(r, 0);
    expect_text(m, "zero", "0");
    CHECK_OK(smem_map_incr(m, "big", 1234567890123LL, &r));
    expect_text(m, "big", "1234567890123");

    /* Text set by hand is read as a number. */
    CHECK_OK(smem_map_set(m, "t", "-12", 3));
    CHECK_OK(smem_map_incr(m, "t", 2, &r));
    CHECK_EQ_INT(r, -10);
    expect_text(m, "t", "-10");
    CHECK_OK(smem_map_set(m, "t", "41", 2));
    uint64_t before = smem_map_version(m);
    CHECK_OK(smem_map_incr(m, "t", 1, &r));
    CHECK_EQ_INT(r, 42);
    uint64_t vt = expect_entry(m, "t", "42", 2, 0);
    CHECK(vt > before);
    CHECK_EQ_SIZE(vt, smem_map_version(m));

    /* Not a number: EINVAL, nothing changed. */
    const char *bad[] = {"", "abc", "12x", " 1", "1.5", "99999999999999999999", "-",
                         "1 ", "0x10", "--1", "9223372036854775808",
                         "-9223372036854775809"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_OK(smem_map_set(m, "bad", bad[i], strlen(bad[i])));
        uint64_t vb = expect_entry(m, "bad", bad[i], strlen(bad[i]), 0);
        uint64_t mv = smem_map_version(m);
        r = 777;
        int rc = smem_map_incr(m, "bad", 1, &r);
        CHECKF(rc == SMEM_EINVAL, "incr of \"%s\" gave %d (%s), expected SMEM_EINVAL", bad[i],
               rc, smem_err_name(rc));
        expect_entry(m, "bad", bad[i], strlen(bad[i]), vb);
        CHECK_EQ_SIZE(smem_map_version(m), mv);
    }
    /* Bytes after a NUL are not ignored: "1\0" is not a number. */
    CHECK_OK(smem_map_set(m, "bad", "1\0", 2));
    CHECK_ERR(smem_map_incr(m, "bad", 1, &r), SMEM_EINVAL);

    /* The ends of the range. */
    const char *maxs = "9223372036854775807", *mins = "-9223372036854775808";
    CHECK_OK(smem_map_set(m, "e", maxs, strlen(maxs)));
    CHECK_OK(smem_map_incr(m, "e", 0, &r));
    CHECK(r == INT64_MAX);
    uint64_t ve = expect_entry(m, "e", maxs, strlen(maxs), 0);
    uint64_t mv = smem_map_version(m);
    CHECK_ERR(smem_map_incr(m, "e", 1, &r), SMEM_ERANGE);
    CHECK_ERR(smem_map_incr(m, "e", INT64_MAX, &r), SMEM_ERANGE);
    expect_entry(m, "e", maxs, strlen(maxs), ve);
    CHECK_EQ_SIZE(smem_map_version(m), mv);
    CHECK_OK(smem_map_incr(m, "e", INT64_MIN, &r));
    CHECK_EQ_INT(r, -1);
    expect_text(m, "e", "-1");
    CHECK_OK(smem_map_incr(m, "e", INT64_MIN + 1, &r));
    CHECK(r == INT64_MIN);
    expect_text(m, "e", mins);
    CHECK_ERR(smem_map_incr(m, "e", -1, &r), SMEM_ERANGE);
    CHECK_ERR(smem_map_incr(m, "e", INT64_MIN, &r), SMEM_ERANGE);
    expect_text(m, "e", mins);
    CHECK_OK(smem_map_incr(m, "e", INT64_MAX, &r));
    CHECK_EQ_INT(r, -1);
    CHECK_OK(smem_map_incr(m, "m", INT64_MIN, &r)); /* absent + INT64_MIN */
    CHECK(r == INT64_MIN);
    expect_text(m, "m", mins);
    CHECK_OK(smem_map_set(m, "m", mins, strlen(mins)));
    CHECK_OK(smem_map_incr(m, "m", 1, &r));
    CHECK(r == INT64_MIN + 1);
    expect_text(m, "m", "-9223372036854775807");
    smem_map_close(m);

    /* A sum too long for max_value: E2BIG, nothing changed. */
    th_name(name, "mapincr3");
    CHECK_OK(smem_map_open(name, 8, 3, NULL, &m));
    CHECK_OK(smem_map_incr(m, "n", 999, &r));
    expect_text(m, "n", "999");
    mv = smem_map_version(m);
    CHECK_ERR(smem_map_incr(m, "n", 1, &r), SMEM_E2BIG);
    expect_text(m, "n", "999");
    CHECK_OK(smem_map_incr(m, "n", -1098, &r));
    expect_text(m, "n", "-99");
    CHECK_ERR(smem_map_incr(m, "n", -1, &r), SMEM_E2BIG);
    expect_text(m, "n", "-99");
    CHECK_ERR(smem_map_incr(m, "absent", 1000, &r), SMEM_E2BIG);
    expect_absent(m, "absent");
    CHECK_EQ_INT(smem_map_count(m), 1);
    smem_map_close(m);
    th_log("incr: absent 0, negative deltas, text, bad numbers, range ends, E2BIG checked");
}

/* ---- versions, count, foreach ----------------------------------------- */

static void test_versions_foreach(void)
{
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "mapver");
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(name, 64, 64, NULL, &m));
    CHECK_EQ_SIZE(smem_map_version(m), 0);
    uint64_t last = 0, v;
    int64_t r;
    char k[32];

    /* Each change takes the next map version, which is the key's too. */
    for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof k, "v%d", i % 20);
        int op = (i / 20) % 5; /* every key meets every kind of change */
        if (op == 0)
            CHECK_OK(smem_map_set(m, k, k, strlen(k)));
        else if (op == 1)
            CHECK_OK(smem_map_incr(m, "counter", 1, &r));
        else if (op == 2) {
            if (smem_map_add(m, k, "a", 1) == SMEM_EEXIST)
                CHECK_OK(smem_map_set(m, k, "s", 1));
        } else if (op == 3) {
            uint64_t cur = 0;
            size_t len;
            unsigned char b[64];
            int rc = smem_map_get(m, k, b, sizeof b, &len, &cur);
            CHECK(rc == 0 || rc == SMEM_ENOENT);
            CHECK_OK(smem_map_cas(m, k, cur, "c", 1));
        } else {
            CHECK_OK(smem_map_set(m, k, NULL, 0));
        }
        v = smem_map_version(m);
        CHECKF(v > last, "change %d: map version %llu after %llu", i, (unsigned long long)v,
               (unsigned long long)last);
        uint64_t kv;
        size_t len;
        unsigned char b[64];
        CHECK_OK(smem_map_get(m, op == 1 ? "counter" : k, b, sizeof b, &len, &kv));
        CHECK_EQ_SIZE(kv, v);
        last = v;
    }
    /* del too; a deleted and re-added key gets a larger version. */
    CHECK_OK(smem_map_set(m, "gone", "1", 1));
    uint64_t vg = expect_entry(m, "gone", "1", 1, 0);
    CHECK_OK(smem_map_del(m, "gone"));
    CHECK(smem_map_version(m) > vg);
    uint64_t vdel = smem_map_version(m);
    CHECK_OK(smem_map_add(m, "gone", "1", 1));
    uint64_t vg2 = expect_entry(m, "gone", "1", 1, 0);
    CHECK(vg2 > vdel && vg2 > vg);
    CHECK_EQ_SIZE(vg2, smem_map_version(m));
    /* The same on a map whose other keys did not change meanwhile. */
    CHECK_OK(smem_map_del(m, "gone"));
    CHECK_OK(smem_map_cas(m, "gone", 0, "2", 1));
    CHECK(expect_entry(m, "gone", "2", 1, 0) > vg2);

    /* count and foreach: every entry once, exact contents and versions. */
    int n = smem_map_count(m);
    CHECK_EQ_INT(n, 22); /* v0..v19, counter, gone */
    static struct walk w;
    memset(&w, 0, sizeof w);
    w.m = m;
    CHECK_EQ_INT(smem_map_foreach(m, walk_fn, &w), n);
    CHECK_EQ_INT(w.calls, n);
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof k, "v%d", i);
        int at = walk_find(&w, k);
        CHECKF(at >= 0, "foreach missed %s", k);
        unsigned char b[64];
        size_t len;
        uint64_t kv;
        CHECK_OK(smem_map_get(m, k, b, sizeof b, &len, &kv));
        CHECK_EQ_SIZE(w.lens[at], len);
        CHECK(memcmp(w.vals[at], b, len) == 0);
        CHECK_EQ_SIZE(w.vers[at], kv);
    }
    int at = walk_find(&w, "counter");
    CHECK(at >= 0);
    CHECK_EQ_SIZE(w.lens[at], 2);
    CHECK(memcmp(w.vals[at], "40", 2) == 0);

    /* Stopping: the callback's nonzero return ends the walk there. */
    memset(&w, 0, sizeof w);
    w.m = m;
    w.stop_after = 3;
    CHECK_EQ_INT(smem_map_foreach(m, walk_fn, &w), 3);
    CHECK_EQ_INT(w.calls, 3);
    memset(&w, 0, sizeof w);
    w.m = m;
    w.stop_after = 1;
    CHECK_EQ_INT(smem_map_foreach(m, walk_fn, &w), 1);

    /* The callback calls map functions: set another key and delete the
     * one it is given, without deadlock; each entry still visited once. */
    memset(&w, 0, sizeof w);
    w.m = m;
    w.del_self = 1;
    w.set_other = 1;
    uint64_t vbefore = smem_map_version(m);
    int visited = smem_map_foreach(m, walk_fn, &w);
    CHECK(visited >= n);   /* every old entry (+ maybe "visited-by-walk") */
    CHECK(visited <= n + 1);
    CHECK_EQ_INT(visited, w.calls);
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof k, "v%d", i);
        CHECK(walk_find(&w, k) >= 0);
        expect_absent(m, k);
    }
    CHECK(smem_map_version(m) > vbefore);
    /* Left at most "visited-by-walk" (set by the callback, deleted if
     * the walk came across it after that). */
    int left = smem_map_count(m);
    CHECK(left == 0 || left == 1);
    if (left == 1) {
        size_t len;
        CHECK_ERR(smem_map_get(m, "visited-by-walk", NULL, 0, &len, NULL), SMEM_E2BIG);
    }
    /* An empty map: no calls. */
    if (left)
        CHECK_OK(smem_map_del(m, "visited-by-walk"));
    memset(&w, 0, sizeof w);
    w.m = m;
    CHECK_EQ_INT(smem_map_foreach(m, walk_fn, &w), 0);
    CHECK_EQ_INT(w.calls, 0);
    CHECK_EQ_INT(smem_map_count(m), 0);
    smem_map_close(m);
    th_log("versions, count, foreach (stop, map calls inside) checked");
}

/* ---- read-only and inherited handles ---------------------------------- */

struct fork_arg {
    smem_map *m;
};

static int child_uses_handle(void *arg)
{
    smem_map *m = ((struct fork_arg *)arg)->m;
    unsigned char b[16];
    size_t len;
    uint64_t v;
    int64_t n = 0;
    if (smem_map_get(m, "k", b, sizeof b, &len, NULL) != 0 || len != 2 || memcmp(b, "rw", 2))
        return 10;
    /* Every write works through the inherited handle, as in the parent. */
    if (smem_map_set(m, "k", "xx", 2) != 0)
        return 11;
    if (smem_map_incr(m, "n", 5, &n) != 0 || n != 5)
        return 12;
    if (smem_map_add(m, "new", "x", 1) != 0 || smem_map_add(m, "new", "x", 1) != SMEM_EEXIST)
        return 13;
    if (smem_map_get(m, "new", b, sizeof b, &len, &v) != 0 ||
        smem_map_cas(m, "new", v, "y", 1) != 0 || smem_map_cas(m, "new", v, "z", 1) != SMEM_ECHANGED)
        return 14;
    if (smem_map_count(m) != 3)
        return 15;
    if (smem_map_del(m, "new") != 0 || smem_map_del(m, "n") != 0 ||
        smem_map_set(m, "k", "rw", 2) != 0)
        return 16;
    smem_map_close(m); /* leaves the parent's attachment alone */
    return 0;
}

static void test_handles(void)
{
    char name[SMEM_NAME_MAX + 1], line[300];
    th_name(name, "maphdl");
    smem_map *m = NULL, *ro = NULL;
    CHECK_OK(smem_map_open(name, 16, 32, NULL, &m));
    CHECK_OK(smem_map_set(m, "k", "rw", 2));
    CHECK_OK(smem_map_open(name, 0, 0, &rdonly, &ro));
    CHECK_EQ_INT(smem_map_created(ro), 0);
    CHECK_EQ_SIZE(smem_map_max_entries(ro), 16);
    CHECK_EQ_SIZE(smem_map_max_value(ro), 32);
    /* Reading works. */
    uint64_t vk = expect_entry(ro, "k", "rw", 2, 0);
    expect_absent(ro, "nope");
    CHECK_EQ_INT(smem_map_count(ro), 1);
    CHECK_EQ_SIZE(smem_map_version(ro), smem_map_version(m));
    static struct walk w;
    memset(&w, 0, sizeof w);
    w.m = ro;
    CHECK_EQ_INT(smem_map_foreach(ro, walk_fn, &w), 1);
    CHECK_OK(smem_map_wait(ro, "k", vk + 1, 0));
    CHECK_OK(smem_map_wait(ro, NULL, 0, 0));
    CHECK_ERR(smem_map_wait(ro, "k", vk, 20), SMEM_ETIMEDOUT);
    /* Writing is EBADF, and changes nothing. */
    uint64_t mv = smem_map_version(m);
    CHECK_ERR(smem_map_set(ro, "k", "ro", 2), SMEM_EBADF);
    CHECK_ERR(smem_map_set(ro, "new", NULL, 0), SMEM_EBADF);
    CHECK_ERR(smem_map_del(ro, "k"), SMEM_EBADF);
    CHECK_ERR(smem_map_del(ro, "nope"), SMEM_EBADF);
    CHECK_ERR(smem_map_add(ro, "new", "x", 1), SMEM_EBADF);
    CHECK_ERR(smem_map_cas(ro, "k", vk, "x", 1), SMEM_EBADF);
    CHECK_ERR(smem_map_cas(ro, "new", 0, "x", 1), SMEM_EBADF);
    CHECK_ERR(smem_map_incr(ro, "n", 1, NULL), SMEM_EBADF);
    CHECK_EQ_SIZE(smem_map_version(m), mv);
    expect_entry(m, "k", "rw", 2, vk);
    /* A change through the writable handle is seen through the other. */
    CHECK_OK(smem_map_set(m, "k", "r2", 2));
    CHECK_OK(smem_map_wait(ro, "k", vk, 1000));
    expect_entry(ro, "k", "r2", 2, 0);
    CHECK_OK(smem_map_set(m, "k", "rw", 2));
    smem_map_close(ro);

    /* Another process reads what this one set. */
    th_proc h;
    th_spawn(&h, -1, "get", name, "k", NULL);
    th_recv(&h, line, sizeof line, 20000);
    CHECK_EQ_STR(line, "0 2 rw");
    th_wait_ok(&h, 10000);
    th_spawn(&h, -1, "get", name, "absent", NULL);
    th_recv(&h, line, sizeof line, 20000);
    snprintf(line + 200, 64, "%d 0 ", SMEM_ENOENT);
    CHECK_EQ_STR(line, line + 200);
    th_wait_ok(&h, 10000);

    /* A handle inherited through fork() reads and writes. */
    uint64_t before = smem_map_version(m);
    struct fork_arg f = {m};
    int code = tv_forked(child_uses_handle, &f);
    if (code < 0)
        th_log("handles: no fork() on this system: the inherited-handle case is not run");
    else
        CHECKF(code == 0, "a forked child using the inherited handle failed check %d", code);
    if (code == 0)
        CHECKF(smem_map_version(m) >= before + 7, "the child's changes are not seen");
    expect_entry(m, "k", "rw", 2, 0);
    CHECK_EQ_INT(smem_map_count(m), 1);
    CHECK_OK(smem_map_set(m, "k", "ok", 2));
    smem_map_close(m);
    CHECK(!th_shm_exists(name));
    th_log("read-only and inherited handles checked");
}

/* ---- errors and lifetime ---------------------------------------------- */

static void test_errors_lifetime(void)
{
    CHECK_EQ_STR(smem_err_name(SMEM_EFULL), "SMEM_EFULL");
    CHECK_EQ_STR(smem_err_name(SMEM_ECHANGED), "SMEM_ECHANGED");
    CHECK(strstr(smem_strerror(SMEM_EFULL), "full") != NULL);
    CHECK(strstr(smem_strerror(SMEM_ECHANGED), "changed") != NULL);
    CHECK(strcmp(smem_strerror(SMEM_EFULL), smem_strerror(-999999)) != 0);
    CHECK(strcmp(smem_strerror(SMEM_ECHANGED), smem_strerror(-999999)) != 0);

    /* The last close removes a map; the next open makes a new, empty one. */
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "maplife");
    smem_map *a = NULL, *b = NULL;
    CHECK_OK(smem_map_open(name, 4, 8, NULL, &a));
    CHECK_OK(smem_map_open(name, 0, 0, NULL, &b));
    CHECK_OK(smem_map_set(a, "x", "1", 1));
    smem_map_close(a);
    CHECK(th_shm_exists(name));
    expect_entry(b, "x", "1", 1, 0);
    smem_map_close(b);
    CHECK(!th_shm_exists(name));
    CHECK_OK(smem_map_open(name, 5, 9, NULL, &a));
    CHECK_EQ_INT(smem_map_created(a), 1);
    CHECK_EQ_INT(smem_map_count(a), 0);
    CHECK_EQ_SIZE(smem_map_version(a), 0);
    expect_absent(a, "x");
    smem_map_close(a);
    CHECK(!th_shm_exists(name));

    /* A persistent map keeps its entries without users (on Windows, only
     * while a holder keeps the section: a raw handle here). */
    smem_region *holder = NULL;
    CHECK_OK(smem_map_open(name, 4, 8, &persist, &a));
    if (!TV_KERNEL_PERSIST)
        CHECK_OK(smem_region_open(name, 0, &anykind, &holder));
    CHECK_OK(smem_map_set(a, "p", "kept", 4));
    uint64_t vp = expect_entry(a, "p", "kept", 4, 0);
    smem_map_close(a);
    CHECK(th_shm_exists(name));
    CHECK_OK(smem_map_open(name, 0, 0, &nocreate, &a));
    CHECK_EQ_INT(smem_map_created(a), 0);
    expect_entry(a, "p", "kept", 4, vp);
    CHECK_EQ_SIZE(smem_map_version(a), vp);
    smem_map_close(a);
    if (holder)
        smem_region_close(holder);
    else
        CHECK_OK(smem_region_remove(name));
    CHECK(!th_shm_exists(name));
    th_log("error texts, lifetime, persistence%s checked",
           TV_KERNEL_PERSIST ? "" : " (with a holder: Windows)");
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    test_open();
    test_keys();
    test_values();
    test_incr();
    test_versions_foreach();
    test_handles();
    test_errors_lifetime();
    return 0;
}
