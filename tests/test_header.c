/* A damaged region file gives an error code, never a crash: bad magic,
 * another layout version, a damaged tail, a file size that does not match
 * the header, a file shorter than the header, random headers; then 1,000
 * fuzzed ones.
 * On Windows the damage is written into the section, which this process
 * holds open (a section dies with its last handle), and cannot be
 * resized: the cases about sizes do not apply there. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR 128
#define SIZE 4096
#define TAIL 8 /* the last 8 bytes: a constant while the file has its size */
#define FILE_SIZE (HDR + SIZE + TAIL)
#define SEED 3

static char name[SMEM_NAME_MAX + 1];
static unsigned char original[FILE_SIZE]; /* the healthy file */

/* Puts back the healthy file (same bytes; a new inode if it was removed). */
static void restore(void)
{
    th_shm_write(name, 0, original, FILE_SIZE);
    if (th_shm_resizable())
        th_shm_truncate(name, FILE_SIZE);
}

static void put(uint64_t off, const void *buf, size_t len)
{
    th_shm_write(name, off, buf, len);
}

static void resize(uint64_t len)
{
    th_shm_truncate(name, len);
}

static int file_unchanged_since(const unsigned char *before, ssize_t len)
{
    static unsigned char now[8 * FILE_SIZE];
    ssize_t n = th_shm_read(name, now, sizeof now);
    return n == len && memcmp(now, before, (size_t)len) == 0;
}

/* Every way to open the damaged file gives CODE (or CODE2); the file is
 * left as it is; stat reports it BAD with that code. */
static void expect_refused(const char *what, int code, int code2)
{
    static unsigned char before[8 * FILE_SIZE];
    ssize_t len = th_shm_read(name, before, sizeof before);
    CHECKF(len >= 0, "%s: the file is gone", what);

    const smem_opts def = {0, 0, 200, NULL, NULL};
    const smem_opts nc = {SMEM_NOCREATE, 0, 200, NULL, NULL};
    const smem_opts ro = {SMEM_RDONLY, 0, 200, NULL, NULL};
    const smem_opts any = {SMEM_ANYKIND, 0, 200, NULL, NULL};
    struct {
        const smem_opts *o;
        size_t size;
    } tries[] = {{&def, 0}, {&def, SIZE}, {&nc, 0}, {&ro, 0}, {&any, 0}};
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        smem_region *r = (smem_region *)1;
        int rc = smem_region_open(name, tries[i].size, tries[i].o, &r);
        CHECKF(rc == code || rc == code2,
               "%s: open (flags %#x, size %zu) gave %d (%s), expected %s", what,
               tries[i].o->flags, tries[i].size, rc, smem_err_name(rc), smem_err_name(code));
        CHECK(r == NULL);
        CHECKF(file_unchanged_since(before, len), "%s: a failed open changed the file", what);
    }
    smem_info info;
    int rc = smem_region_stat(name, &info);
    CHECKF(rc == 0, "%s: stat gave %d (%s)", what, rc, smem_err_name(rc));
    CHECKF(info.state == SMEM_STATE_BAD, "%s: stat state %d, expected BAD", what, (int)info.state);
    CHECKF(info.error == code || info.error == code2, "%s: stat error %d (%s), expected %s", what,
           info.error, smem_err_name(info.error), smem_err_name(code));
    rc = smem_region_gc(name);
    CHECKF(rc <= 0, "%s: gc removed a damaged persistent region", what);
    CHECKF(file_unchanged_since(before, len), "%s: stat or gc changed the file", what);
}

/* ---- fuzzing ---------------------------------------------------------- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* What the fuzzer is doing, in a region of its own that the test reads
 * if the fuzzer dies. */
struct progress {
    int iter;
    int strategy;
    int64_t file_len;
    unsigned char header[HDR];
};

static const char *mutate(unsigned char *h, int64_t *len, int strategy)
{
    static const uint32_t u32s[] = {0, 1, 2, 64, 127, 128, 129, 4096, 0x7fffffff, 0x80000000u,
                                    0xffffffffu};
    static const uint64_t u64s[] = {0, 1, 127, 128, 4095, 4096, 4097, 4096 + 128,
                                    (uint64_t)1 << 40, ((uint64_t)1 << 40) + 1, UINT64_MAX,
                                    UINT64_MAX - 127, (uint64_t)1 << 63};
    switch (strategy) {
    case 0:
        for (int i = 0; i < HDR; i++)
            h[i] = (unsigned char)rnd();
        return "random header";
    case 1: {
        int flips = 1 + (int)(rnd() % 3);
        for (int i = 0; i < flips; i++) {
            unsigned bit = (unsigned)(rnd() % (HDR * 8));
            h[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        }
        return "bit flips";
    }
    case 2:
        h[rnd() % HDR] = (unsigned char)rnd();
        return "one random byte";
    case 3: {
        uint32_t v = u32s[rnd() % (sizeof u32s / sizeof u32s[0])];
        memcpy(h + 4 * (rnd() % (HDR / 4)), &v, 4);
        return "extreme uint32";
    }
    case 4: {
        uint64_t v = u64s[rnd() % (sizeof u64s / sizeof u64s[0])];
        memcpy(h + 8 * (rnd() % (HDR / 8)), &v, 8);
        return "extreme uint64";
    }
    case 5:
        *len = (int64_t)(1 + rnd() % (FILE_SIZE + 4096));
        return "file size";
    default: {
        uint64_t v = u64s[rnd() % (sizeof u64s / sizeof u64s[0])];
        memcpy(h + 8 * (rnd() % (HDR / 8)), &v, 8);
        *len = (int64_t)(HDR + rnd() % (2 * SIZE));
        return "extreme uint64 and file size";
    }
    }
}

/* rc of an open of a fuzzed file must be a known code; a successful open
 * must give sane bytes. */
static void judge(int iter, const char *how, int rc, smem_region *r, int rdonly)
{
    if (rc != 0) {
        CHECKF(rc < 0 && strcmp(smem_err_name(rc), "SMEM_E?") != 0,
               "iteration %d (%s): open gave unknown code %d", iter, how, rc);
        CHECKF(r == NULL, "iteration %d: failed open left *out set", iter);
        return;
    }
    CHECKF(smem_region_size(r) == SIZE, "iteration %d (%s): open succeeded with size %zu", iter,
           how, smem_region_size(r));
    const unsigned char *d = smem_region_data(r);
    if (smem_region_created(r))
        CHECKF(th_all_zero(d, SIZE), "iteration %d (%s): re-created region not zeroed", iter, how);
    else
        CHECKF(th_pattern_ok(d, SIZE, SEED),
               "iteration %d (%s): attached to a damaged region and got wrong bytes", iter, how);
    (void)rdonly;
    smem_region_close(r);
}

static void fuzz(int iterations, uint64_t seed, struct progress *prog)
{
    rng_state = seed;
    int fds = th_count_fds(), maps = th_count_maps();
    for (int iter = 0; iter < iterations; iter++) {
        restore();
        unsigned char h[HDR];
        memcpy(h, original, HDR);
        int64_t len = FILE_SIZE;
        int strategy = (int)(rnd() % 7);
        const char *how = mutate(h, &len, strategy);
        put(0, h, HDR);
        if (len != FILE_SIZE && th_shm_resizable())
            resize((uint64_t)len);
        else
            len = FILE_SIZE;
        prog->iter = iter;
        prog->strategy = strategy;
        prog->file_len = len;
        memcpy(prog->header, h, HDR);

        smem_info info;
        int rc = smem_region_stat(name, &info);
        CHECKF(rc == 0 || rc == SMEM_ENOENT, "iteration %d (%s): stat gave %d (%s)", iter, how, rc,
               smem_err_name(rc));
        if (rc == 0) {
            CHECK(info.state >= SMEM_STATE_READY && info.state <= SMEM_STATE_BAD);
            CHECK(memchr(info.name, '\0', sizeof info.name) != NULL);
        }
        smem_region *r = NULL;
        const smem_opts ro = {SMEM_RDONLY, 0, 20, NULL, NULL};
        rc = smem_region_open(name, 0, &ro, &r);
        judge(iter, how, rc, r, 1);
        r = NULL;
        const smem_opts def = {0, 0, 20, NULL, NULL};
        rc = smem_region_open(name, SIZE, &def, &r);
        judge(iter, how, rc, r, 0);
    }
    restore();
    CHECKF(th_count_fds() == fds, "fuzzing leaked descriptors: %d -> %d", fds, th_count_fds());
    CHECKF(th_count_maps() <= maps + 8, "fuzzing leaked mappings: %d -> %d", maps, th_count_maps());
}

/* fuzz NAME PROGRESS ITERATIONS SEED: fuzzes the header of region NAME,
 * recording each input in the region PROGRESS first. */
static int helper_fuzz(int argc, char **argv)
{
    CHECK(argc == 4);
    snprintf(name, sizeof name, "%s", argv[0]);
    CHECK_EQ_INT(th_shm_read(name, original, sizeof original), FILE_SIZE);
    smem_region *p = NULL;
    CHECK_OK(smem_region_open(argv[1], sizeof(struct progress), NULL, &p));
    fuzz(atoi(argv[2]), strtoull(argv[3], NULL, 0), smem_region_data(p));
    smem_region_close(p);
    return 0;
}

static const th_helper helpers[] = {{"fuzz", helper_fuzz}, {NULL, NULL}};

/* Runs the fuzzer as a helper, so that a crash is reported with its
 * input. */
static void run_fuzzer(int iterations, uint64_t seed)
{
    char progname[SMEM_NAME_MAX + 1], s_iter[16], s_seed[32];
    th_name(progname, "hdrprog");
    smem_region *p = NULL;
    CHECK_OK(smem_region_open(progname, sizeof(struct progress), NULL, &p));
    struct progress *prog = smem_region_data(p);
    prog->iter = -1;
    snprintf(s_iter, sizeof s_iter, "%d", iterations);
    snprintf(s_seed, sizeof s_seed, "%llu", (unsigned long long)seed);
    th_proc h;
    th_spawn(&h, -1, "fuzz", name, progname, s_iter, s_seed, NULL);
    int status = th_wait(&h, 120000);
    if (th_exit_code(status) != 0) {
        char hex[3 * HDR + 1];
        for (int i = 0; i < HDR; i++)
            snprintf(hex + 3 * i, 4, "%02x ", prog->header[i]);
        FAIL("fuzzing (seed %#llx) ended with %s at iteration %d, strategy %d, file size %lld, "
             "header: %s",
             (unsigned long long)seed, th_status_str(status), prog->iter, prog->strategy,
             (long long)prog->file_len, hex);
    }
    CHECK_EQ_INT(prog->iter, iterations - 1);
    smem_region_close(p);
}

/* Files whose size does not match their header (not on Windows, where a
 * section's size is fixed). */
static void size_cases(void)
{
    const int64_t lens[] = {HDR + SIZE / 2, FILE_SIZE - 1, FILE_SIZE + 1, FILE_SIZE + 4096,
                            HDR + 2 * SIZE, 4 * FILE_SIZE, HDR + 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "file of %lld bytes", (long long)lens[i]);
        restore();
        resize((uint64_t)lens[i]);
        expect_refused(what, SMEM_EBADREGION, SMEM_EBADREGION);
    }
    /* Shorter than its header. */
    const int64_t shorts[] = {1, 8, 12, 64, HDR - 1, HDR};
    for (size_t i = 0; i < sizeof shorts / sizeof shorts[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "file cut to %lld bytes", (long long)shorts[i]);
        restore();
        resize((uint64_t)shorts[i]);
        expect_refused(what, SMEM_EBADREGION, SMEM_EBADREGION);
    }

    /* An empty file with no user is a creator that died before
     * initialising: the next open initialises it. */
    smem_region *r = NULL;
    restore();
    resize(0);
    CHECK_OK(smem_region_open(name, SIZE, NULL, &r));
    CHECK_EQ_INT(smem_region_created(r), 1);
    CHECK(th_all_zero(smem_region_data(r), SIZE));
    smem_region_close(r);
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    th_name(name, "hdr");

    /* A healthy persistent region to damage.  Windows keeps it only while
     * someone has it open: we do, throughout. */
    const smem_opts persist = {SMEM_PERSIST, 0, 0, NULL, NULL};
    smem_region *r = NULL, *keep = NULL;
    CHECK_OK(smem_region_open(name, SIZE, &persist, &r));
    th_pattern(smem_region_data(r), SIZE, SEED);
    if (TH_WINDOWS)
        keep = r;
    else
        smem_region_close(r);
    {
        static unsigned char whole[2 * FILE_SIZE];
        ssize_t n = th_shm_read(name, whole, sizeof whole);
        CHECKF(n == FILE_SIZE, "region file has %lld bytes, expected %d", (long long)n, FILE_SIZE);
        memcpy(original, whole, FILE_SIZE);
    }
    CHECK(memcmp(original, "\0\0\0\0\0\0\0\0", 8) != 0);
    /* Sanity: restore() gives a region we can open. */
    restore();
    CHECK_OK(smem_region_open(name, 0, NULL, &r));
    CHECK_EQ_INT(smem_region_created(r), 0);
    CHECK(th_pattern_ok(smem_region_data(r), SIZE, SEED));
    smem_region_close(r);
    CHECK(th_shm_exists(name));

    /* Garbage magic. */
    restore();
    put(0, "NOTSMEM!", 8);
    expect_refused("garbage magic", SMEM_EBADREGION, SMEM_EBADREGION);
    restore();
    {
        unsigned char b = original[3] ^ 0x20;
        put(3, &b, 1);
    }
    expect_refused("one magic byte changed", SMEM_EBADREGION, SMEM_EBADREGION);

    /* Another layout version. */
    restore();
    {
        uint32_t v = 0x7fffffff;
        put(8, &v, 4);
        expect_refused("layout version 0x7fffffff", SMEM_EVERSION, SMEM_EVERSION);
        smem_info info;
        CHECK_OK(smem_region_stat(name, &info));
        CHECK_EQ_INT(info.layout, 0x7fffffff);
        uint32_t cur;
        memcpy(&cur, original + 8, 4);
        v = cur + 1;
        restore();
        put(8, &v, 4);
        expect_refused("next layout version", SMEM_EVERSION, SMEM_EVERSION);
        v = 0;
        restore();
        put(8, &v, 4);
        expect_refused("layout version 0", SMEM_EVERSION, SMEM_EBADREGION);
    }

    /* A tail that is not the constant: what a file cut short and grown
     * back, or scribbled on, looks like. */
    restore();
    put(FILE_SIZE - TAIL, "\0\0\0\0\0\0\0\0", TAIL);
    expect_refused("tail zeroed", SMEM_EBADREGION, SMEM_EBADREGION);
    restore();
    {
        unsigned char b = original[FILE_SIZE - 1] ^ 0x01;
        put(FILE_SIZE - 1, &b, 1);
    }
    expect_refused("one tail bit flipped", SMEM_EBADREGION, SMEM_EBADREGION);

    if (th_shm_resizable())
        size_cases();
    else
        th_log("skipped: regions of the wrong size (a section's size is fixed)");

    /* Random bytes over the whole header. */
    rng_state = 0x5eed5eed5eedULL;
    for (int i = 0; i < 20; i++) {
        unsigned char h[HDR];
        for (int j = 0; j < HDR; j++)
            h[j] = (unsigned char)rnd();
        restore();
        put(0, h, HDR);
        expect_refused("random header", SMEM_EBADREGION, SMEM_EVERSION);
    }
    /* Random bytes after an intact magic and version. */
    for (int i = 0; i < 20; i++) {
        unsigned char h[HDR];
        memcpy(h, original, 12);
        for (int j = 12; j < HDR; j++)
            h[j] = (unsigned char)rnd();
        restore();
        put(0, h, HDR);
        expect_refused("random header after magic and version", SMEM_EBADREGION, SMEM_EBADREGION);
    }

    /* A live region whose header another process scribbles on: new opens
     * are refused, the holder keeps working and its close does not crash. */
    restore();
    smem_region *holder = NULL;
    CHECK_OK(smem_region_open(name, 0, NULL, &holder));
    CHECK_EQ_INT(smem_region_created(holder), 0);
    put(0, "NOTSMEM!", 8);
    r = (smem_region *)1;
    CHECK_ERR(smem_region_open(name, 0, NULL, &r), SMEM_EBADREGION);
    CHECK(th_pattern_ok(smem_region_data(holder), SIZE, SEED));
    smem_region_close(holder);

    /* Fuzzing, in a helper. */
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    if (getenv("SMEM_FUZZ_SEED"))
        seed = strtoull(getenv("SMEM_FUZZ_SEED"), NULL, 0) | 1;
    run_fuzzer(1000, seed);
    th_log("fuzzed %d damaged headers (seed %#llx)", 1000, (unsigned long long)seed);

    smem_region_close(keep);
    th_shm_unlink(name);
    return 0;
}
