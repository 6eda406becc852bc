/*
 * libFuzzer target: a map region whose bytes are (partly) the fuzzer's,
 * and every map call run on it, through the handle that was open while the
 * bytes were scribbled on and through fresh attaches that must validate
 * them.  Every call must return 0 (or a count) or a negative SMEM_E* code,
 * and neither crash, nor touch memory outside the region (AddressSanitizer),
 * nor hang (libFuzzer's -timeout).
 *
 * Per input:
 *   1. create the map NAME (fixed per process) with figures chosen by the
 *      input's first bytes, and put a few entries in it;
 *   2. attach the same region raw (SMEM_ANYKIND) and lay the fuzzed image
 *      over the map's data: overwrite from an offset, XOR from an offset,
 *      patch single bytes, or leave it whole;
 *   3. run a fixed sweep of every map call (those of maps as caches too:
 *      put with flags and times to live, expire, ttl, get_stale, incr_ex,
 *      flush, stats, walk), then the input's script of calls, on the
 *      first handle; then smem_region_stat, which reads the
 *      map's header without attaching; then the sweep and the script on a
 *      fresh attach with 0 figures, on one with the creation's figures,
 *      and (if the input asks) on a read-only attach;
 *   4. close everything, which removes the region.
 *
 * Input layout:
 *   [0] max_entries - 1 (mod 40)     [1] max_value (mod 72)
 *   [2] bits 0-1: scribble mode (0 overwrite, 1 xor, 2 patch, 3 none),
 *       bits 2-4: entries put in before scribbling, bit 5: read-only attach,
 *       bit 6: an SMEM_EVICT map, bit 7: the entries put in first have
 *       times to live (every other one 1 ms, expired by the time the
 *       calls run on a later attach; the others an hour)
 *   [3] offset / 8 where the overwrite or XOR starts
 *   [4] number of script calls (mod 33)
 *   then the image, and the script at the end: 2 bytes per call.
 * Keys come from a fixed list and from the input's own bytes.
 */
#include "sharedmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEAD 5
#define MAX_SCRIPT 32

static char name[SMEM_NAME_MAX + 1];

/* Reading the input                                                        */

typedef struct input {
    const uint8_t *data;
    size_t size;
    size_t max_entries, max_value;
    unsigned mode, prefill, rdonly, offset, evict, ttls;
    const uint8_t *image;
    size_t image_len;
    const uint8_t *script;
    size_t script_len; /* calls */
} input;

static void fail(const char *what, const char *detail, long long n)
{
    fprintf(stderr, "fuzz_map: %s: %s (%lld)\n", what, detail, n);
    abort();
}

/* A call returned RC, which must be 0 or a code this library defines (or,
 * with COUNT_OK, a non-negative count). */
static void check_rc(const char *call, int rc, int count_ok)
{
    if (rc > 0 && !count_ok)
        fail(call, "returned a positive value", rc);
    if (rc < 0 && strcmp(smem_err_name(rc), "SMEM_E?") == 0)
        fail(call, "returned an unknown code", rc);
}

/* Keys                                                                     */

/* Key number SEL: one of a fixed list (the entries put in first, a
 * counter, the longest key, one too long, an empty one, NULL) or up to 70
 * bytes of the input, stopping at a NUL. */
static const char *key_of(const input *in, unsigned sel, char *buf)
{
    static const char *fixed[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "n",
                                  "k0k0k0k0k0k0k0k0"};
    enum { NFIXED = sizeof fixed / sizeof fixed[0] };
    sel %= 16;
    if (sel < NFIXED)
        return fixed[sel];
    switch (sel) {
    case NFIXED:
        memset(buf, 'x', SMEM_MAP_KEY_MAX);
        buf[SMEM_MAP_KEY_MAX] = '\0';
        return buf;
    case NFIXED + 1:
        memset(buf, 'y', SMEM_MAP_KEY_MAX + 1);
        buf[SMEM_MAP_KEY_MAX + 1] = '\0';
        return buf;
    case NFIXED + 2:
        return "";
    case NFIXED + 3:
        return NULL;
    default: {
        /* From the image: (sel - NFIXED - 4) picks where. */
        size_t at = in->image_len ? ((sel - NFIXED - 4) * 7u) % in->image_len : 0;
        size_t n = 0;
        while (at + n < in->image_len && n < 70 && in->image[at + n])
            n++;
        memcpy(buf, in->image + at, n);
        buf[n] = '\0';
        return buf;
    }
    }
}

/* Values: LEN bytes of the input (zeros past its end), or decimal text. */
static size_t value_of(const input *in, unsigned arg, unsigned char *buf, size_t cap)
{
    static const char *numbers[] = {"-12", "9223372036854775807", "-9223372036854775808",
                                    "12x", "", "+5", "00000000000000000000000000001", " 1"};
    if ((arg & 7) == 7) {
        const char *s = numbers[(arg >> 3) % 8];
        size_t n = strlen(s);
        memcpy(buf, s, n);
        return n;
    }
    size_t len = (arg >> 1) % (cap + 1);
    memset(buf, 0, len);
    if (in->image_len)
        memcpy(buf, in->image, len < in->image_len ? len : in->image_len);
    return len;
}

/* The map's first calls                                                   */

typedef struct walk {
    smem_map *m;
    size_t max_value;
    unsigned action;
    int visited;
} walk;

static int visit(const char *key, const void *val, size_t len, uint64_t version, void *arg)
{
    walk *w = arg;
    (void)val;
    (void)version;
    size_t klen = strlen(key); /* ASan: within the private copy */
    if (klen < 1 || klen > SMEM_MAP_KEY_MAX)
        fail("foreach", "visited a bad key length", (long long)klen);
    if (len > w->max_value)
        fail("foreach", "visited a value longer than max_value", (long long)len);
    if (len > 0)
        (void)((volatile const unsigned char *)val)[len - 1];
    w->visited++;
    /* FN may call any map function. */
    unsigned char buf[80];
    switch (w->action % 4) {
    case 1:
        check_rc("foreach/get", smem_map_get(w->m, key, buf, sizeof buf, NULL, NULL), 0);
        break;
    case 2:
        check_rc("foreach/del", smem_map_del(w->m, key), 0);
        break;
    case 3:
        check_rc("foreach/set", smem_map_set(w->m, key, "v", 1), 0);
        break;
    }
    return w->action >= 4 && w->visited >= (int)(w->action / 4);
}

static void do_get(smem_map *m, const char *key, size_t bufsize, size_t max_value)
{
    unsigned char buf[80];
    size_t len = 12345;
    uint64_t ver = 1;
    int rc = smem_map_get(m, key, buf, bufsize, &len, &ver);
    check_rc("get", rc, 0);
    if (rc == 0 && (len > bufsize || len > max_value))
        fail("get", "returned a length past the buffer or max_value", (long long)len);
    if (rc == SMEM_E2BIG && (len <= bufsize || len > max_value))
        fail("get", "E2BIG with a wrong length", (long long)len);
    if (rc == SMEM_ENOENT && (len != 0 || ver != 0))
        fail("get", "ENOENT without zeroing len and version", (long long)len);
    if (rc == 0 && len > 0)
        (void)((volatile unsigned char *)buf)[len - 1];
}

static void do_foreach(smem_map *m, size_t max_value, unsigned arg)
{
    walk w = {m, max_value, arg, 0};
    int rc = smem_map_foreach(m, visit, &w);
    check_rc("foreach", rc, 1);
    if (rc >= 0 && rc != w.visited)
        fail("foreach", "returned another count than it visited", rc);
    /* Not checked: rc <= max_entries.  A map has one record more than
     * max_entries (a full map still has one to write into), and scribbled
     * links can make foreach visit it too; that is an answer made of
     * garbage, not a fault. */
}

/* Maps as caches                                                           */

#define NCALLS 20 /* calls 0-11: the map's first calls; 12-19: the cache's */

/* Times to live: none, short, long, the longest, one too long. */
static uint64_t ttl_of(unsigned sel)
{
    static const uint64_t ttls[] = {0, 1, 2, 1000, 3600000, SMEM_TTL_MAX_MS,
                                    SMEM_TTL_MAX_MS + 1, UINT64_MAX};
    return ttls[sel % 8];
}

static void do_get_stale(smem_map *m, const char *key, size_t bufsize, size_t max_value)
{
    unsigned char buf[80];
    size_t len = 12345;
    uint64_t ver = 1;
    int stale = -1;
    int rc = smem_map_get_stale(m, key, buf, bufsize, &len, &ver, &stale);
    check_rc("get_stale", rc, 0);
    if (stale != 0 && stale != 1)
        fail("get_stale", "*stale neither 0 nor 1", stale);
    if (rc == 0 && (len > bufsize || len > max_value))
        fail("get_stale", "returned a length past the buffer or max_value", (long long)len);
    if (rc == SMEM_E2BIG && (len <= bufsize || len > max_value))
        fail("get_stale", "E2BIG with a wrong length", (long long)len);
    if (rc == SMEM_ENOENT && (len != 0 || ver != 0 || stale != 0))
        fail("get_stale", "ENOENT without zeroing len, version and stale", (long long)len);
    if (rc == 0 && len > 0)
        (void)((volatile unsigned char *)buf)[len - 1];
}

typedef struct cwalk {
    smem_map *m;
    size_t max_value;
    unsigned flags, action;
    int visited;
} cwalk;

static int visit_entry(const smem_map_entry *e, void *arg)
{
    cwalk *w = arg;
    size_t klen = strlen(e->key); /* ASan: within the private copy */
    if (klen < 1 || klen > SMEM_MAP_KEY_MAX)
        fail("walk", "visited a bad key length", (long long)klen);
    if (e->len > w->max_value)
        fail("walk", "visited a value longer than max_value", (long long)e->len);
    if (e->len > 0)
        (void)((volatile const unsigned char *)e->val)[e->len - 1];
    /* Not checked: ms_left >= -1.  A scribbled expiry 2^63 ms or more
     * ahead gives a negative time left (a known library bug, see
     * tests/map_garbage_cache.c: bad_time_left); no memory is touched. */
    w->visited++;
    unsigned char buf[80];
    switch (w->action % 4) { /* FN may call any map function */
    case 1:
        do_get_stale(w->m, e->key, sizeof buf, w->max_value);
        break;
    case 2:
        check_rc("walk/expire", smem_map_expire(w->m, e->key, ttl_of(w->action >> 2)), 0);
        break;
    case 3:
        check_rc("walk/put", smem_map_put(w->m, e->key, "v", 1, &(smem_put){1, SMEM_PUT_XX}, NULL),
                 0);
        break;
    }
    return w->action >= 16 && w->visited >= (int)(w->action / 16);
}

static void do_stats(smem_map *m)
{
    struct smem_map_stats st;
    int rc = smem_map_stats(m, &st);
    check_rc("stats", rc, 0);
    if (rc == 0 && (st.max_entries != smem_map_max_entries(m) || st.entries > st.max_entries ||
                    (st.evicting != 0 && st.evicting != 1)))
        fail("stats", "figures past the map's", (long long)st.entries);
}

/* One of the cache's calls: OP picks it, ARG its key and argument. */
static void call_cache(smem_map *m, const input *in, size_t max_value, unsigned op, unsigned arg)
{
    static const unsigned flags[] = {0, SMEM_PUT_NX, SMEM_PUT_XX, SMEM_PUT_KEEPTTL,
                                     SMEM_PUT_NX | SMEM_PUT_KEEPTTL, SMEM_PUT_XX | SMEM_PUT_KEEPTTL,
                                     SMEM_PUT_NX | SMEM_PUT_XX, 0x100};
    static const int64_t deltas[] = {1, -1, 0, 1000, INT64_MAX, INT64_MIN, -7, 42};
    char kbuf[80];
    unsigned char vbuf[80];
    const char *key = key_of(in, arg, kbuf);
    size_t vcap = max_value + 8 < sizeof vbuf ? max_value + 8 : sizeof vbuf;
    switch (op % NCALLS) {
    case 12: {
        size_t len = value_of(in, op >> 5 | arg << 3, vbuf, vcap);
        smem_put how = {ttl_of(arg >> 4), flags[(op >> 5) % 8]};
        int evicted = -1;
        int rc = smem_map_put(m, key, (op & 0x10) && len == 0 ? NULL : vbuf, len,
                              (op & 0x80) && !(op & 0x60) ? NULL : &how, &evicted);
        check_rc("put", rc, 0);
        if (evicted != 0 && (evicted != 1 || rc != 0))
            fail("put", "evicted neither 0 nor 1 entry, or evicted and failed", evicted);
        break;
    }
    case 13:
        check_rc("expire", smem_map_expire(m, key, ttl_of(op >> 5)), 0);
        break;
    case 14: {
        int64_t left = 7;
        int rc = smem_map_ttl(m, key, (op & 0x10) ? NULL : &left);
        check_rc("ttl", rc, 0);
        if (rc < 0 && !(op & 0x10) && left != 0)
            fail("ttl", "failed without zeroing *ms_left", (long long)left);
        break;
    }
    case 15:
        do_get_stale(m, key, (op & 0x10) ? (arg >> 4) * 5 % 80 : 80, max_value);
        break;
    case 16: {
        int64_t result = 0;
        static const int64_t inits[] = {0, 1, -1, 99, INT64_MAX, INT64_MIN, INT64_MAX - 1, -100};
        int rc = smem_map_incr_ex(m, key, deltas[(op >> 5) % 8], inits[(arg >> 4) % 8],
                                  ttl_of(op >> 4 ^ arg), (op & 0x10) ? &result : NULL);
        check_rc("incr_ex", rc, 0);
        break;
    }
    case 17:
        check_rc("flush", smem_map_flush(m), 0);
        break;
    case 18:
        do_stats(m);
        break;
    default: {
        cwalk w = {m, max_value, (op >> 5) % 3, arg, 0};
        int rc = smem_map_walk(m, w.flags, visit_entry, &w);
        check_rc("walk", rc, 1);
        if (w.flags > SMEM_WALK_STALE && rc != SMEM_EINVAL)
            fail("walk", "took an unknown flag", rc);
        if (rc >= 0 && rc != w.visited)
            fail("walk", "returned another count than it visited", rc);
        break;
    }
    }
}

/* Calls                                                                    */

/* Calls with bad arguments. */
static void bad_calls(smem_map *m, const char *key)
{
    unsigned char vbuf[8];
    check_rc("get(NULL map)", smem_map_get(NULL, "k", vbuf, 1, NULL, NULL), 0);
    check_rc("get(NULL buf)", smem_map_get(m, key, NULL, 4, NULL, NULL), 0);
    check_rc("set(NULL val)", smem_map_set(m, key, NULL, 3), 0);
    check_rc("put(NULL val)", smem_map_put(m, key, NULL, 3, NULL, NULL), 0);
    check_rc("get_stale(NULL buf)", smem_map_get_stale(m, key, NULL, 4, NULL, NULL, NULL), 0);
    check_rc("walk(NULL fn)", smem_map_walk(m, 0, NULL, NULL), 0);
    check_rc("stats(NULL)", smem_map_stats(m, NULL), 0);
    check_rc("flush(NULL map)", smem_map_flush(NULL), 0);
    check_rc("incr_ex(NULL map)", smem_map_incr_ex(NULL, "k", 1, 0, 0, NULL), 0);
}

/* One call: OP picks it, ARG its key and argument. */
static void call(smem_map *m, const input *in, size_t max_value, unsigned op, unsigned arg)
{
    if (op % NCALLS >= 12) {
        call_cache(m, in, max_value, op, arg);
        return;
    }
    char kbuf[80];
    unsigned char vbuf[80];
    const char *key = key_of(in, arg, kbuf);
    size_t vcap = max_value + 8 < sizeof vbuf ? max_value + 8 : sizeof vbuf;
    switch (op % NCALLS) {
    case 0:
        do_get(m, key, (arg >> 4) * 5 % 80, max_value);
        break;
    case 1:
        do_get(m, key, sizeof vbuf, max_value);
        break;
    case 2: {
        size_t len = value_of(in, op >> 4 | arg << 4, vbuf, vcap);
        check_rc("set", smem_map_set(m, key, vbuf, len), 0);
        break;
    }
    case 3:
        check_rc("del", smem_map_del(m, key), 0);
        break;
    case 4: {
        size_t len = value_of(in, op >> 4 | arg << 4, vbuf, vcap);
        check_rc("add", smem_map_add(m, key, vbuf, len), 0);
        break;
    }
    case 5: {
        uint64_t ver = 0;
        if (op & 0x10) {
            int rc = smem_map_get(m, key, vbuf, sizeof vbuf, NULL, &ver);
            check_rc("get", rc, 0);
        } else {
            ver = arg >> 4;
        }
        size_t len = value_of(in, op >> 5 | arg << 3, vbuf, vcap);
        check_rc("cas", smem_map_cas(m, key, ver, vbuf, len), 0);
        break;
    }
    case 6: {
        static const int64_t deltas[] = {1, -1, 0, 1000, INT64_MAX, INT64_MIN, -7, 42};
        int64_t result = 0;
        check_rc("incr", smem_map_incr(m, key, deltas[(op >> 4) % 8], (op & 0x80) ? &result : NULL),
                 0);
        break;
    }
    case 7:
        (void)smem_map_version(m);
        break;
    case 8: {
        uint64_t seen = 0;
        if (op & 0x10)
            (void)smem_map_get(m, key, NULL, 0, NULL, &seen);
        else if (op & 0x20)
            seen = smem_map_version(m);
        check_rc("wait", smem_map_wait(m, (op & 0x40) ? NULL : key, seen, 0), 0);
        break;
    }
    case 9:
        do_foreach(m, max_value, arg);
        break;
    case 10: {
        int rc = smem_map_count(m);
        check_rc("count", rc, 1);
        if (rc > (int)smem_map_max_entries(m))
            fail("count", "more than max_entries", rc);
        break;
    }
    default:
        bad_calls(m, key);
        break;
    }
}

/* Every call once, then the input's script. */
static void exercise(smem_map *m, const input *in)
{
    size_t max_value = smem_map_max_value(m);
    if (max_value > SMEM_MAP_VALUE_MAX)
        fail("max_value", "above SMEM_MAP_VALUE_MAX", (long long)max_value);
    for (unsigned op = 0; op < NCALLS; op++)
        call(m, in, max_value, op, op * 5);
    for (size_t i = 0; i < in->script_len; i++)
        call(m, in, max_value, in->script[2 * i], in->script[2 * i + 1]);
}

/* The region's bytes                                                       */

static void scribble(unsigned char *p, size_t size, const input *in)
{
    size_t off = (size_t)in->offset * 8;
    switch (in->mode) {
    case 0: /* overwrite from OFF */
        if (off < size) {
            size_t n = in->image_len < size - off ? in->image_len : size - off;
            memcpy(p + off, in->image, n);
        }
        break;
    case 1: /* XOR from OFF */
        for (size_t i = 0; i < in->image_len && off + i < size; i++)
            p[off + i] ^= in->image[i];
        break;
    case 2: /* patches: (offset high, offset low, byte) triples */
        for (size_t i = 0; i + 3 <= in->image_len; i += 3) {
            size_t at = ((size_t)in->image[i] << 8 | in->image[i + 1]) % size;
            p[at] = in->image[i + 2];
        }
        break;
    default: /* whole */
        break;
    }
    /* A policy scribbled to say SMEM_GROW (src/map-layout.h: policy at 56,
     * MAP_GROW 0x2) makes the later attaches grow the map, rightly, past
     * the figures this fuzzer bounds values by; growth has its own tests
     * (map_resize), as in map_garbage. */
    if (size > 56)
        p[56] &= (unsigned char)~0x2u;
}

/* The entries put in before scribbling ("k0" to "k6"). */
static void prefill(smem_map *m, const input *in)
{
    for (unsigned i = 0; i < in->prefill; i++) {
        char key[4] = {'k', (char)('0' + i), 0, 0};
        unsigned char val[8] = {'v', (unsigned char)i, 0, 0, 0, 0, 0, 0};
        size_t len = in->max_value < 8 ? in->max_value : 8;
        smem_put how = {in->ttls ? (i & 1 ? 1 : 3600000) : 0, 0};
        int evicted = -1;
        int rc = smem_map_put(m, key, val, len, &how, &evicted);
        if (rc < 0 && rc != SMEM_EFULL)
            fail("prefill put", smem_strerror(rc), rc);
        if (evicted != 0 && evicted != (int)(rc == 0 && in->evict))
            fail("prefill put", "evicted a wrong number of entries", evicted);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEAD)
        return 0;
    if (!name[0])
        snprintf(name, sizeof name, "fuzz-map-%ld", (long)getpid());

    input in = {.data = data, .size = size};
    in.max_entries = 1 + data[0] % 40;
    in.max_value = data[1] % 72;
    in.mode = data[2] & 3;
    in.prefill = (data[2] >> 2) & 7;
    in.rdonly = (data[2] >> 5) & 1;
    in.evict = (data[2] >> 6) & 1;
    in.ttls = (data[2] >> 7) & 1;
    in.offset = data[3];
    in.script_len = data[4] % (MAX_SCRIPT + 1);
    size_t rest = size - HEAD;
    if (in.script_len * 2 > rest)
        in.script_len = rest / 2;
    in.image = data + HEAD;
    in.image_len = rest - in.script_len * 2;
    in.script = in.image + in.image_len;

    /* timeout_ms 1: a lock or a read that scribbled bytes keep busy gives
     * up at once instead of after the default 5 s. */
    smem_opts opts = {.flags = in.evict ? SMEM_EVICT : 0, .timeout_ms = 1};
    smem_map *m;
    int rc = smem_map_open(name, in.max_entries, in.max_value, &opts, &m);
    if (rc < 0)
        fail("smem_map_open (create)", smem_strerror(rc), rc);
    if (!smem_map_created(m))
        fail("smem_map_open (create)", "did not create: a region was left behind", 0);
    prefill(m, &in);

    smem_region *raw;
    rc = smem_region_open(name, 0, &(smem_opts){.flags = SMEM_ANYKIND, .timeout_ms = 1}, &raw);
    if (rc < 0)
        fail("smem_region_open (SMEM_ANYKIND)", smem_strerror(rc), rc);
    scribble(smem_region_data(raw), smem_region_size(raw), &in);

    exercise(m, &in);

    /* What tools see: smem_region_stat reads the map's figures and count
     * from its header without attaching. */
    smem_info info;
    rc = smem_region_stat(name, &info);
    check_rc("smem_region_stat", rc, 0);
    if (rc == 0 && info.kind != SMEM_KIND_MAP && info.state != SMEM_STATE_BAD)
        fail("smem_region_stat", "a map is not SMEM_KIND_MAP", info.kind);

    smem_map *m2;
    rc = smem_map_open(name, 0, 0, &(smem_opts){.flags = SMEM_NOCREATE, .timeout_ms = 1}, &m2);
    check_rc("smem_map_open (attach)", rc, 0);
    if (rc == 0) {
        /* An attach with 0 figures takes what the (scribbled) header
         * says, once they fit the region: its bounds are the handle's. */
        input as_found = in;
        as_found.max_entries = smem_map_max_entries(m2);
        as_found.max_value = smem_map_max_value(m2);
        exercise(m2, &as_found);
        smem_map_close(m2);
    }
    rc = smem_map_open(name, in.max_entries, in.max_value,
                       &(smem_opts){.flags = SMEM_NOCREATE, .timeout_ms = 1}, &m2);
    check_rc("smem_map_open (attach with figures)", rc, 0);
    if (rc == 0) {
        if (smem_map_max_entries(m2) != in.max_entries || smem_map_max_value(m2) != in.max_value)
            fail("smem_map_open (attach with figures)", "accepted other figures", 0);
        exercise(m2, &in);
        smem_map_close(m2);
    }
    if (in.rdonly) {
        rc = smem_map_open(name, 0, 0, &(smem_opts){.flags = SMEM_RDONLY, .timeout_ms = 1}, &m2);
        check_rc("smem_map_open (read-only)", rc, 0);
        if (rc == 0) {
            input as_found = in; /* 0 figures: as above */
            as_found.max_entries = smem_map_max_entries(m2);
            as_found.max_value = smem_map_max_value(m2);
            exercise(m2, &as_found);
            smem_map_close(m2);
        }
    }

    smem_region_close(raw);
    smem_map_close(m);
    return 0;
}
