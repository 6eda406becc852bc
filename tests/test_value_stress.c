/* Torn reads across processes: writer processes set self-checking values of
 * random length (0..capacity, the extremes often) as fast as they can while
 * reader processes get them, more than a million reads in all.  Every read
 * must be one whole value; versions never go backwards for a reader; one
 * version always comes with one content; each writer's values arrive in the
 * order it set them; a get into a small buffer gives E2BIG with a length
 * that fits the capacity; refused sets (too big) change nothing. */
#include "check.h"

#include "test_value_kit.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP 4000
#define WRITERS 2
#define READERS 3
#define READS_EACH 400000 /* 1.2 million in all, at least */
#define MIN_MS 5000       /* and reading for at least this long */
#define INITIAL_WRITER 63

static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};
static const smem_opts rdonly = {SMEM_RDONLY, 0, 0, NULL, NULL};

static size_t random_len(tv_rng *r)
{
    switch (tv_below(r, 10)) {
    case 0:
        return 0;
    case 1:
        return CAP;
    case 2:
        return (size_t)tv_below(r, TV_BLOB_MIN + 2);
    case 3:
        return CAP - (size_t)tv_below(r, 16);
    default:
        return (size_t)tv_below(r, CAP + 1);
    }
}

/* writer NAME ID: sets values until stdin closes; says "sets N". */
static int helper_writer(int argc, char **argv)
{
    CHECK(argc == 2);
    uint32_t id = (uint32_t)tv_num(argv[1]);
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(argv[0], 0, &nocreate, &v));
    CHECK_EQ_SIZE(smem_value_capacity(v), CAP);
    unsigned char *b = malloc(CAP + 16);
    CHECK(b);
    tv_rng rng;
    tv_seed(&rng, id * 1000u + tv_pid());
    uint64_t counter = 0, refused = 0;
    th_say("ready");
    while (!th_listen_ready()) {
        for (int i = 0; i < 64; i++) {
            size_t len = random_len(&rng);
            tv_blob_fill(b, len, id, ++counter);
            uint64_t before = smem_value_version(v);
            CHECK_OK(smem_value_set(v, len ? b : NULL, len));
            uint64_t after = smem_value_version(v);
            CHECKF(after > before, "version %llu after a set, %llu before",
                   (unsigned long long)after, (unsigned long long)before);
            if (tv_below(&rng, 64) == 0) {
                /* Too big: refused, whatever the bytes are. */
                tv_blob_fill(b, CAP + 1 + (size_t)tv_below(&rng, 15), id, counter + 1);
                CHECK_ERR(smem_value_set(v, b, CAP + 1 + (size_t)tv_below(&rng, 15)),
                          SMEM_E2BIG);
                refused++;
            }
        }
    }
    th_say("sets %llu refused %llu", (unsigned long long)counter, (unsigned long long)refused);
    free(b);
    smem_value_close(v);
    return 0;
}

/* reader NAME ID rw|ro COUNT MS: at least COUNT gets for at least MS
 * milliseconds, each checked; says "reads N changes C small S e2big E". */
static int helper_reader(int argc, char **argv)
{
    CHECK(argc == 5);
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(argv[0], 0, strcmp(argv[2], "ro") == 0 ? &rdonly : &nocreate, &v));
    CHECK_EQ_SIZE(smem_value_capacity(v), CAP);
    unsigned long long count = tv_num(argv[3]);
    int64_t until = th_now_ms() + (int64_t)tv_num(argv[4]);
    char who[64];
    snprintf(who, sizeof who, "reader %s (%s)", argv[1], argv[2]);
    tv_observer o;
    memset(&o, 0, sizeof o);
    o.who = who;
    o.check_order = 1;
    tv_rng rng;
    tv_seed(&rng, tv_num(argv[1]) * 77u + tv_pid());
    unsigned char *buf = malloc(CAP);
    CHECK(buf);
    unsigned long long small = 0, e2big = 0;
    th_say("ready");
    for (unsigned long long i = 0; i < count || (i % 1024 != 0 || th_now_ms() < until); i++) {
        size_t bs = CAP;
        if ((i & 15) == 7) {
            bs = (size_t)tv_below(&rng, CAP);
            small++;
        }
        size_t len = (size_t)-1;
        uint64_t ver = 0;
        int rc = smem_value_get(v, buf, bs, &len, &ver);
        if (rc == SMEM_E2BIG) {
            CHECKF(bs < CAP && len > bs && len <= CAP,
                   "%s: E2BIG with buffer %zu gave a needed length of %zu (capacity %d)", who,
                   bs, len, CAP);
            e2big++;
            continue;
        }
        CHECKF(rc == 0, "%s: get gave %d (%s)", who, rc, smem_err_name(rc));
        CHECKF(len <= bs, "%s: get returned %zu bytes into a buffer of %zu", who, len, bs);
        tv_observe(&o, buf, len, ver);
        if ((i & 63) == 0) {
            uint64_t now = smem_value_version(v);
            CHECKF(now >= o.version, "%s: smem_value_version %llu after a get of version %llu",
                   who, (unsigned long long)now, (unsigned long long)o.version);
        }
    }
    th_say("reads %llu changes %llu small %llu e2big %llu", (unsigned long long)o.reads,
           (unsigned long long)o.changes, small, e2big);
    free(buf);
    smem_value_close(v);
    return 0;
}

static const th_helper helpers[] = {
    {"writer", helper_writer},
    {"reader", helper_reader},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    char name[SMEM_NAME_MAX + 1], line[256], num[32], ms[32], idbuf[16];
    th_name(name, "vstress");
    smem_value *v = NULL;
    CHECK_OK(smem_value_open(name, CAP, NULL, &v));
    unsigned char *b = malloc(CAP);
    CHECK(b);
    tv_blob_fill(b, CAP / 2, INITIAL_WRITER, 1);
    CHECK_OK(smem_value_set(v, b, CAP / 2));

    int64_t t0 = th_now_ms();
    th_proc w[WRITERS], r[READERS];
    for (int i = 0; i < WRITERS; i++) {
        snprintf(idbuf, sizeof idbuf, "%d", i + 1);
        th_spawn(&w[i], -1, "writer", name, idbuf, NULL);
        th_expect(&w[i], "ready", 10000);
    }
    snprintf(num, sizeof num, "%d", READS_EACH);
    snprintf(ms, sizeof ms, "%d", MIN_MS);
    for (int i = 0; i < READERS; i++) {
        snprintf(idbuf, sizeof idbuf, "%d", i + 1);
        th_spawn(&r[i], -1, "reader", name, idbuf, i == 0 ? "ro" : "rw", num, ms, NULL);
        th_expect(&r[i], "ready", 10000);
    }

    /* Meanwhile this process reads too, through its own handle. */
    tv_observer o;
    memset(&o, 0, sizeof o);
    o.who = "parent";
    o.check_order = 1;
    unsigned long long total = 0, changes = 0;
    for (int i = 0; i < READERS; i++) {
        for (;;) {
            /* A reader that is still busy: read while waiting for it. */
            for (int k = 0; k < 50; k++) {
                size_t len;
                uint64_t ver;
                CHECK_OK(smem_value_get(v, b, CAP, &len, &ver));
                tv_observe(&o, b, len, ver);
            }
            if (th_ready(&r[i], 1))
                break;
            CHECKF(th_now_ms() - t0 < 110000, "readers not done after 110 s");
        }
        th_recv(&r[i], line, sizeof line, 10000);
        unsigned long long n, c, s, e;
        CHECKF(sscanf(line, "reads %llu changes %llu small %llu e2big %llu", &n, &c, &s, &e) == 4,
               "reader said \"%s\"", line);
        th_log("reader %d: %llu whole values, %llu version changes seen, %llu small buffers "
               "(%llu E2BIG)",
               i + 1, n, c, s, e);
        CHECKF(c >= 100, "reader %d saw only %llu changes: the writers hardly ran", i + 1, c);
        CHECK(e > 0);
        total += n + e;
        changes += c;
        th_wait_ok(&r[i], 10000);
    }
    for (int i = 0; i < WRITERS; i++) {
        th_send(&w[i], "stop");
        th_recv(&w[i], line, sizeof line, 10000);
        unsigned long long sets, refused;
        CHECKF(sscanf(line, "sets %llu refused %llu", &sets, &refused) == 2,
               "writer said \"%s\"", line);
        th_log("writer %d: %llu sets, %llu refused as too big", i + 1, sets, refused);
        CHECK(sets > 0);
        th_wait_ok(&w[i], 10000);
    }
    th_log("%llu reads by %d reader processes (+%llu here) in %lld ms, %llu version changes seen, "
           "no torn or invalid value",
           total, READERS, (unsigned long long)o.reads, (long long)(th_now_ms() - t0), changes);
    CHECK(total >= 1000000);

    /* Quiet now: the last value is whole, and stays put. */
    size_t len;
    uint64_t ver, ver2;
    CHECK_OK(smem_value_get(v, b, CAP, &len, &ver));
    tv_observe(&o, b, len, ver);
    CHECK_OK(smem_value_get(v, b, CAP, &len, &ver2));
    CHECK_EQ_SIZE(ver2, ver);
    CHECK_EQ_SIZE(smem_value_version(v), ver);
    free(b);
    smem_value_close(v);
    CHECK(!th_shm_exists(name));
    return 0;
}
