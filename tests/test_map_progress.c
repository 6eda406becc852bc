/* Readers of large values make progress against writers that never pause.
 *
 * Two writer processes replace the 1 MiB value of one key back to back
 * (less under a sanitizer: see VALUE);
 * every set moves the seq of that key's bucket group, so a reader copying
 * the value keeps finding that it changed under it.  A reader that loses
 * 64 times running reads under the writer lock (src/map.c:
 * read_consistent), so every get of a writable handle must return a whole
 * value, and soon.  A read-only handle cannot take the lock: its gets
 * return a whole value or, at worst, SMEM_EAGAIN after its timeout_ms;
 * the test counts how often. */
#include "check.h"

#include "test_map_kit.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 MiB; less under the sanitizers, whose byte-wise copies (ThreadSanitizer:
 * one atomic load per byte) would leave too few sets and gets to count. */
#if TM_TSAN
#define VALUE (32u << 10)
#elif TM_SANITIZED
#define VALUE (256u << 10)
#else
#define VALUE (1u << 20)
#endif
#define RUN_MS 3000
/* Far above a copy of VALUE, far below "starved".  Under a sanitizer, 3 s:
 * a reader that falls back to the writer lock competes for it with writers
 * that take it again at once (the lock is not fair), and ThreadSanitizer
 * makes each of their turns long (one run saw a get of 1.26 s). */
#define SLOW_GET_MS (TM_SANITIZED ? 3000 : 1000)

static const smem_opts nocreate = {SMEM_NOCREATE, 0, 0, NULL, NULL};
static const smem_opts rdonly_short = {SMEM_RDONLY, 0, 500, NULL, NULL};

/* writer NAME ID: sets key 0 to 1 MiB values until its stdin closes. */
static int helper_writer(int argc, char **argv)
{
    CHECK(argc == 2);
    smem_map *m = NULL;
    CHECK_OK(smem_map_open(argv[0], 0, 0, &nocreate, &m));
    unsigned char *buf = malloc(VALUE);
    CHECK(buf != NULL);
    /* One value per writer, made once: the sets follow each other as fast
     * as the copy allows.  (A get that mixed the two writers' values would
     * fail tm_val_check.) */
    uint32_t id = (uint32_t)atoi(argv[1]);
    char k[TM_KEY_BUF];
    tm_key(k, 0);
    tm_val_fill(buf, VALUE, 0, id, id);
    th_say("ready");
    uint64_t n = 0;
    for (; !th_listen_ready(); n++)
        CHECK_OK(smem_map_set(m, k, buf, VALUE));
    th_say("%llu", (unsigned long long)n);
    free(buf);
    smem_map_close(m);
    return 0;
}

static const th_helper helpers[] = {
    {"writer", helper_writer},
    {NULL, NULL},
};

struct tally {
    long gets, again;
    int64_t slowest_ms;
};

/* Gets key 0 through M for RUN_MS: every get whole, or (if EAGAIN_OK)
 * SMEM_EAGAIN. */
static struct tally read_for_a_while(smem_map *m, int eagain_ok, unsigned char *buf)
{
    struct tally t = {0, 0, 0};
    char k[TM_KEY_BUF];
    tm_key(k, 0);
    int64_t end = th_now_ms() + RUN_MS;
    while (th_now_ms() < end) {
        size_t len = 0;
        int64_t t0 = th_now_ms();
        int rc = smem_map_get(m, k, buf, VALUE, &len, NULL);
        int64_t took = th_now_ms() - t0;
        t.slowest_ms = took > t.slowest_ms ? took : t.slowest_ms;
        if (rc == SMEM_EAGAIN && eagain_ok) {
            t.again++;
            continue;
        }
        CHECK_OK(rc);
        tm_val_expect("reader", buf, len, 0);
        t.gets++;
    }
    return t;
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "mprog");
    smem_map *m = NULL, *ro = NULL;
    CHECK_OK(smem_map_open(name, 4, VALUE, NULL, &m));
    CHECK_OK(smem_map_open(name, 0, 0, &rdonly_short, &ro));
    unsigned char *buf = malloc(VALUE);
    CHECK(buf != NULL);
    CHECK_OK(tm_set(m, 0, VALUE, 9, 1, buf));

    th_proc w[2];
    for (int i = 0; i < 2; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", i + 1);
        th_spawn(&w[i], -1, "writer", name, id, (char *)NULL);
        th_expect(&w[i], "ready", 20000);
    }
    struct tally rw = read_for_a_while(m, 0, buf);
    struct tally r = read_for_a_while(ro, 1, buf);
    unsigned long long each[2], sets = 0;
    for (int i = 0; i < 2; i++) {
        char line[64];
        th_send(&w[i], "stop");
        th_recv(&w[i], line, sizeof line, 20000);
        each[i] = strtoull(line, NULL, 10);
        sets += each[i];
        th_wait_ok(&w[i], 20000);
    }
    th_log("%llu + %llu sets of %u KiB by 2 writers; writable reader: %ld whole gets in %d ms, "
           "slowest %lld ms; read-only reader: %ld whole gets, %ld SMEM_EAGAIN, slowest %lld ms",
           each[0], each[1], VALUE >> 10, rw.gets, RUN_MS, (long long)rw.slowest_ms, r.gets,
           r.again, (long long)r.slowest_ms);
    CHECKF(sets >= 100, "the writers made only %llu sets", sets);
    /* The lock hands a turn to a writer passed over for a millisecond
     * (src/wlock.c), so neither writer is kept out for long. */
    for (int i = 0; i < 2; i++)
        CHECKF(each[i] * 20 >= sets, "writer %d made only %llu of the %llu sets", i + 1, each[i],
               sets);
    /* A copy of VALUE bytes takes well under a millisecond: a reader that
     * is not starved gets hundreds in 3 s, even on a busy machine. */
    CHECKF(rw.gets >= 50, "the writable reader got only %ld values in %d ms", rw.gets, RUN_MS);
    CHECKF(rw.slowest_ms <= SLOW_GET_MS, "a get took %lld ms", (long long)rw.slowest_ms);
    free(buf);
    smem_map_close(ro);
    smem_map_close(m);
    return 0;
}
