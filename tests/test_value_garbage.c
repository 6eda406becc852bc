/* Nothing read from a value's region is trusted.  Garbage is written
 * straight into the bytes of a live value's region (through a raw handle
 * that maps them: the 128-byte region header, then the value's own header
 * and slots): extreme integers at every aligned offset outside the
 * payloads, 0xff and random windows sliding over the whole data area,
 * random bytes here and there, whole random data areas, damaged region
 * headers.  After each, get, version, wait and set through a handle opened
 * before the damage, and open + the same calls through a new handle, must
 * return a known error code or a sane result (a length within the capacity
 * and the buffer; a set that succeeded is what the next get returns) and
 * never write outside the caller's buffers (guard pages; AddressSanitizer
 * in CI), crash, or take much longer than the timeouts involved.  The
 * calls run in a helper process watched by this one, so a crash or a hang
 * is reported with the damage that caused it.
 *
 * The test does not rely on the value's layout: it finds where the two
 * slots' payloads are by looking for values it set, and treats every
 * other byte of the data area as a field. */
#include "check.h"

#include "test_value_kit.c"

#define GK_ITER "iteration"
#include "garbage_kit.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP 200
#define HDR 128
#define TIMEOUT_MS 10   /* the handles' timeout_ms: bounds retries and lock waits */
#define MAX_FILE 4096

static unsigned char *mem; /* the region's bytes, from its header on */

static const smem_opts quick = {0, 0, TIMEOUT_MS, NULL, NULL};

/* What the test knows of the healthy region, set before the worker starts:
 * the test's part of the control region. */
struct shared {
    size_t total;      /* the region's bytes, header included */
    size_t payload[4]; /* offsets of the slots' payloads */
    int npayload;
    tv_id healthy_id; /* the value in the healthy bytes */
    uint64_t healthy_version;
    unsigned char healthy[MAX_FILE];
};
static struct shared *sh;

/* ---- the region's bytes ----------------------------------------------- */

/* The region's bytes from the DATA of a raw handle (gk_open_raw), which
 * maps the same bytes as the value's handles: the region header sits right
 * before the data, as it does in every mapping of a region. */
static unsigned char *region_bytes(unsigned char *data)
{
    return data - HDR;
}

static void put(size_t off, const void *buf, size_t len)
{
    memcpy(mem + off, buf, len);
}

static void restore(void)
{
    put(0, sh->healthy, sh->total);
}

static int in_payload(size_t off)
{
    for (int i = 0; i < sh->npayload; i++)
        if (off >= sh->payload[i] && off < sh->payload[i] + CAP)
            return 1;
    return 0;
}

/* ---- the calls, judged ------------------------------------------------ */

/* An error code the library knows, never positive. */
static void known_error(int rc)
{
    if (rc >= 0 || strcmp(smem_err_name(rc), "SMEM_E?") == 0)
        gfail("returned %d, not a known error code", rc);
}

/* get into a guarded buffer of BS bytes. */
static int get_judged(smem_value *v, size_t bs, size_t *len, uint64_t *ver, unsigned char *copy)
{
    size_t cap = smem_value_capacity(v);
    tv_guard g;
    unsigned char *b = tv_guard_alloc(&g, bs);
    *len = (size_t)-1;
    int64_t t0 = th_now_ms();
    begin("get");
    int rc = smem_value_get(v, bs ? b : NULL, bs, len, ver);
    end(t0, TIMEOUT_MS);
    if (!tv_guard_front_ok(&g))
        gfail("get wrote in front of the buffer");
    if (rc == 0) {
        if (*len > bs || *len > cap)
            gfail("get returned %zu bytes (buffer %zu, capacity %zu)", *len, bs, cap);
        if (copy)
            memcpy(copy, b, *len);
    } else if (rc == SMEM_E2BIG) {
        if (!(*len > bs && *len <= cap))
            gfail("E2BIG into %zu bytes said %zu are needed (capacity %zu)", bs, *len, cap);
    } else {
        known_error(rc);
    }
    tv_guard_free(&g);
    return rc;
}

static void wait_judged(smem_value *v, uint64_t seen, int timeout_ms)
{
    int64_t t0 = th_now_ms();
    begin("wait");
    int rc = smem_value_wait(v, seen, timeout_ms);
    /* A wait's own timeout, plus a read's worth of retries. */
    end(t0, (timeout_ms < 0 ? 0 : timeout_ms) + TIMEOUT_MS);
    if (timeout_ms < 0 && rc == SMEM_ETIMEDOUT)
        gfail("wait with no time limit gave SMEM_ETIMEDOUT");
    if (rc != 0 && rc != SMEM_ETIMEDOUT)
        known_error(rc);
}

/* set LEN bytes of a blob; if it worked, a get must return it (or fail). */
static void set_judged(smem_value *v, size_t len, uint64_t counter)
{
    unsigned char blob[MAX_FILE];
    tv_blob_fill(blob, len, 9, counter);
    int64_t t0 = th_now_ms();
    begin("set");
    int rc = smem_value_set(v, len ? blob : NULL, len);
    end(t0, TIMEOUT_MS);
    if (rc != 0) {
        known_error(rc);
        return;
    }
    size_t cap = smem_value_capacity(v), got;
    uint64_t ver;
    unsigned char copy[MAX_FILE];
    rc = get_judged(v, cap, &got, &ver, copy);
    if (rc == 0 && (got != len || memcmp(copy, blob, len) != 0))
        gfail("a set of %zu bytes returned 0, then get returned %zu other bytes", len, got);
}

static void calls(smem_value *v)
{
    size_t cap = smem_value_capacity(v), len;
    uint64_t ver = 0, ver2 = 0;
    if (cap == 0 || cap > sh->total)
        gfail("a handle with capacity %zu in a region of %zu bytes", cap, sh->total);
    int64_t t0 = th_now_ms();
    begin("version");
    uint64_t v0 = smem_value_version(v);
    end(t0, TIMEOUT_MS);
    get_judged(v, cap, &len, &ver, NULL);
    get_judged(v, 7, &len, &ver2, NULL);
    get_judged(v, 0, &len, &ver2, NULL);
    wait_judged(v, v0, 0);
    wait_judged(v, v0, 1);
    if (ver != v0)
        wait_judged(v, ver, 1);
    wait_judged(v, v0 + 1, 1);
    wait_judged(v, v0 + 1, -1); /* stale: returns at once, no limit needed */
    wait_judged(v, 0, 1);
    set_judged(v, 40, 1);
    set_judged(v, cap, 2);
    set_judged(v, 0, 3);
    set_judged(v, 5, 4);
}

/* One round: the damage is in the region; judge every call. */
static void judge(smem_value *pre)
{
    calls(pre);

    smem_value *v = (smem_value *)1;
    int64_t t0 = th_now_ms();
    begin("open");
    int rc = smem_value_open(name, 0, &quick, &v);
    end(t0, TIMEOUT_MS);
    if (rc == 0) {
        calls(v);
        begin("close");
        smem_value_close(v);
    } else {
        known_error(rc);
        if (v != NULL)
            gfail("failed open left *out set");
    }
    t0 = th_now_ms();
    begin("open with the capacity");
    rc = smem_value_open(name, CAP, &quick, &v);
    end(t0, TIMEOUT_MS);
    if (rc == 0) {
        if (smem_value_capacity(v) != CAP)
            gfail("open with capacity %d gave a handle of capacity %zu", CAP,
                  smem_value_capacity(v));
        smem_value_close(v);
    } else {
        known_error(rc);
    }
    smem_info info;
    t0 = th_now_ms();
    begin("stat");
    rc = smem_region_stat(name, &info);
    end(t0, 0);
    if (rc != 0)
        known_error(rc);
    else if (info.kind == SMEM_KIND_VALUE && info.capacity > sh->total)
        gfail("stat reports a capacity of %zu in a region of %zu bytes", info.capacity, sh->total);
}

/* ---- the damage ------------------------------------------------------- */

static void round_with(smem_value *pre, size_t off, const void *bytes, size_t len)
{
    gk->iter++;
    restore();
    put(off, bytes, len);
    judge(pre);
}

static int worker(void *own, unsigned char *data)
{
    sh = own;
    mem = region_bytes(data);
    smem_value *pre = NULL;
    CHECK_OK(smem_value_open(name, 0, &quick, &pre));
    CHECK_EQ_SIZE(smem_value_capacity(pre), CAP);
    int fds = th_count_fds(), maps = th_count_maps();

    /* The healthy bytes are what they should be. */
    restore();
    set_what("nothing (the healthy bytes)");
    {
        unsigned char b[CAP];
        size_t len;
        uint64_t ver;
        CHECK_OK(smem_value_get(pre, b, CAP, &len, &ver));
        tv_id id;
        CHECK(tv_blob_check(b, len, &id) == NULL);
        CHECK(tv_id_eq(&id, &sh->healthy_id));
        CHECK_EQ_SIZE(ver, sh->healthy_version);
        judge(pre);
    }

    size_t data_end = sh->total;
    const uint32_t u32s_fixed[] = {0, 1, 2, 3, 0x7fffffff, 0x80000000u, 0xfffffffeu, 0xffffffffu,
                                   CAP, CAP + 1, (uint32_t)sh->total};
    const uint64_t u64s_fixed[] = {0, 1, CAP - 1, CAP, CAP + 1, 2 * CAP,
                                   (uint64_t)1 << 31, (uint64_t)1 << 32, (uint64_t)1 << 62,
                                   (uint64_t)1 << 63, UINT64_MAX, UINT64_MAX - 1, sh->total,
                                   SMEM_VALUE_MAX, (uint64_t)SMEM_VALUE_MAX + 1,
                                   ((uint64_t)1 << 32) + CAP};

    /* Extreme 32-bit values at every 4-aligned field offset, and the
     * healthy value nudged (odd/even, +-1). */
    for (size_t off = HDR; off + 4 <= data_end; off += 4) {
        if (in_payload(off))
            continue;
        uint32_t cur;
        memcpy(&cur, sh->healthy + off, 4);
        uint32_t vals[sizeof u32s_fixed / 4 + 4];
        size_t n = 0;
        for (size_t i = 0; i < sizeof u32s_fixed / 4; i++)
            vals[n++] = u32s_fixed[i];
        vals[n++] = cur ^ 1;
        vals[n++] = cur + 1;
        vals[n++] = cur - 1;
        vals[n++] = cur + 2;
        for (size_t i = 0; i < n; i++) {
            set_what("u32 %#x at offset %zu (was %#x)", vals[i], off, cur);
            round_with(pre, off, &vals[i], 4);
        }
    }
    /* Extreme 64-bit values at every 8-aligned field offset. */
    for (size_t off = HDR; off + 8 <= data_end; off += 8) {
        if (in_payload(off))
            continue;
        uint64_t cur;
        memcpy(&cur, sh->healthy + off, 8);
        uint64_t vals[sizeof u64s_fixed / 8 + 3];
        size_t n = 0;
        for (size_t i = 0; i < sizeof u64s_fixed / 8; i++)
            vals[n++] = u64s_fixed[i];
        vals[n++] = cur ^ 1;
        vals[n++] = cur + 1;
        vals[n++] = cur - 1;
        for (size_t i = 0; i < n; i++) {
            set_what("u64 %#llx at offset %zu (was %#llx)", (unsigned long long)vals[i], off,
                     (unsigned long long)cur);
            round_with(pre, off, &vals[i], 8);
        }
    }
    /* 16-byte windows of 0xff and of random bytes over the whole data area. */
    tv_rng rng;
    tv_seed(&rng, gk->seed);
    for (size_t off = HDR; off < data_end; off += 8) {
        unsigned char w[16];
        size_t n = data_end - off < 16 ? data_end - off : 16;
        memset(w, 0xff, sizeof w);
        set_what("16 bytes of 0xff at offset %zu", off);
        round_with(pre, off, w, n);
        for (size_t i = 0; i < sizeof w; i++)
            w[i] = (unsigned char)tv_next(&rng);
        set_what("16 random bytes at offset %zu", off);
        round_with(pre, off, w, n);
    }
    /* A few random bytes anywhere in the data area; bit flips. */
    for (int k = 0; k < 300; k++) {
        int count = 1 + (int)tv_below(&rng, 8);
        gk->iter++;
        restore();
        set_what("%d random bytes at random offsets (round %d)", count, k);
        for (int i = 0; i < count; i++) {
            size_t off = HDR + (size_t)tv_below(&rng, data_end - HDR);
            unsigned char b = (unsigned char)tv_next(&rng);
            if (k & 1)
                b = sh->healthy[off] ^ (unsigned char)(1u << tv_below(&rng, 8));
            put(off, &b, 1);
        }
        judge(pre);
    }
    /* The whole data area: random, 0xff, 0x80, zero. */
    {
        static unsigned char area[MAX_FILE];
        for (int k = 0; k < 40; k++) {
            for (size_t i = 0; i < data_end - HDR; i++)
                area[i] = (unsigned char)tv_next(&rng);
            set_what("random data area (round %d)", k);
            round_with(pre, HDR, area, data_end - HDR);
        }
        const unsigned char fills[] = {0xff, 0x80, 0x01, 0x00};
        for (size_t k = 0; k < sizeof fills; k++) {
            memset(area, fills[k], data_end - HDR);
            set_what("data area filled with %#x", fills[k]);
            round_with(pre, HDR, area, data_end - HDR);
        }
    }
    /* The region header under a handle already open (new opens refuse it). */
    for (size_t off = 0; off + 8 <= HDR; off += 8) {
        for (size_t i = 0; i < sizeof u64s_fixed / 8; i++) {
            set_what("region header: u64 %#llx at offset %zu", (unsigned long long)u64s_fixed[i],
                     off);
            round_with(pre, off, &u64s_fixed[i], 8);
        }
    }
    for (int k = 0; k < 20; k++) {
        unsigned char h[HDR];
        for (size_t i = 0; i < HDR; i++)
            h[i] = (unsigned char)tv_next(&rng);
        set_what("random region header (round %d)", k);
        round_with(pre, 0, h, HDR);
    }

    /* Healthy again: everything works as before. */
    restore();
    set_what("nothing (restored at the end)");
    {
        unsigned char b[CAP];
        size_t len;
        uint64_t ver;
        CHECK_OK(smem_value_get(pre, b, CAP, &len, &ver));
        tv_id id;
        CHECK(tv_blob_check(b, len, &id) == NULL && tv_id_eq(&id, &sh->healthy_id));
        tv_blob_fill(b, CAP, 10, 1);
        CHECK_OK(smem_value_set(pre, b, CAP));
        CHECK(smem_value_version(pre) > sh->healthy_version);
    }
    smem_value_close(pre);
    CHECKF(th_count_fds() == fds + 0 || th_count_fds() < fds,
           "descriptors leaked: %d before, %d after", fds, th_count_fds());
    CHECKF(th_count_maps() <= maps + 8, "mappings leaked: %d -> %d", maps, th_count_maps());
    return 0;
}

/* Where NEEDLE (M bytes) first occurs in HAY (N bytes), or -1. */
static long find_bytes(const unsigned char *hay, size_t n, const unsigned char *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return (long)i;
    return -1;
}

/* Sets distinct full-capacity values and looks for their bytes. */
static void find_payloads(smem_value *holder)
{
    unsigned char blob[CAP];
    for (uint64_t k = 1; k <= 4; k++) {
        tv_blob_fill(blob, CAP, 2, k);
        CHECK_OK(smem_value_set(holder, blob, CAP));
        long at = find_bytes(mem, sh->total, blob, CAP);
        if (at < 0)
            continue;
        int known = 0;
        for (int i = 0; i < sh->npayload; i++)
            known |= sh->payload[i] == (size_t)at;
        if (!known && sh->npayload < 4)
            sh->payload[sh->npayload++] = (size_t)at;
    }
    if (sh->npayload == 0)
        th_log("value bytes not found verbatim in the region: every byte is treated as a field");
    for (int i = 0; i < sh->npayload; i++)
        th_log("a payload at offset %zu (data offset %zu)", sh->payload[i],
               sh->payload[i] - HDR);
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, gk_helpers);
    smem_region *ctl = NULL, *raw = NULL;
    sh = gk_setup("vgarb", sizeof *sh, 0x6a7ba6e, &ctl);

    /* A live value: this process holds it for the whole test. */
    smem_value *holder = NULL;
    CHECK_OK(smem_value_open(name, CAP, &quick, &holder));
    mem = region_bytes(gk_open_raw(&raw));
    gk->size = smem_region_size(raw);
    sh->total = HDR + gk->size;
    CHECKF(sh->total > HDR + CAP && sh->total <= MAX_FILE, "a value region of %zu bytes",
           sh->total);
    find_payloads(holder);

    /* The healthy state: two different values set, so both slots hold one. */
    unsigned char blob[CAP];
    tv_blob_fill(blob, 150, 3, 1);
    CHECK_OK(smem_value_set(holder, blob, 150));
    tv_blob_fill(blob, 77, 3, 2);
    CHECK_OK(smem_value_set(holder, blob, 77));
    sh->healthy_id.len = 77;
    sh->healthy_id.writer = 3;
    sh->healthy_id.counter = 2;
    sh->healthy_version = smem_value_version(holder);
    memcpy(sh->healthy, mem, sh->total);

    int64_t ms = gk_watch();
    th_log("%d kinds of damage (random ones from seed %#llx) in %lld ms: every call returned "
           "cleanly",
           gk->iter, (unsigned long long)gk->seed, (long long)ms);

    restore();
    smem_region_close(raw);
    smem_value_close(holder);
    smem_region_close(ctl);
    CHECK(!th_shm_exists(name));
    return 0;
}
