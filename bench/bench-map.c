/*
 * Maps: cost of smem_map_get and smem_map_set on a 100,000-entry map with
 * 16-byte keys and 64-byte values at 25%, 75% and 90% load, keys in random
 * order, next to two baselines measured in the same repetitions:
 * smem_value_get of a 64-byte value, and a dependent read at a random
 * place in a region as large as the map's (the memory's latency, which a
 * lookup at a random key pays at least once); the same calls on 1,000 keys
 * that stay in the caches; the memory the map takes per entry; and, when
 * built with hiredis and a redis-server is installed, the same GET and SET
 * against a private Redis on the loopback interface, as a speed ratio;
 * and the cost of the cache: get and set with SMEM_EVICT on and off, a put
 * into a full evicting map, smem_map_stats.
 *
 * The key order is computed before anything is timed: a timed loop only
 * walks an array of key pointers.  Every repetition measures each figure
 * once, in turn, so that a burst of noise on this shared machine hits them
 * alike; the figures are medians over repetitions.
 *
 * usage: bench-map [REPETITIONS [CALLS]]
 *        bench-map resize [RUNS]   (bench-map-resize.c: growth)
 */
#include "bench.h"
#include "bench-map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SMEM_BENCH_HIREDIS
#include <hiredis/hiredis.h>
#endif

#define MAX_ENTRIES 100000
#define MISS_KEYS 20000 /* keys that are never inserted */
#define REGION_HEADER 128

static const int loads[] = {25, 75, 90}; /* percent of MAX_ENTRIES */
#define NLOADS ((int)(sizeof loads / sizeof loads[0]))

/* splitmix64: a bijection of 64-bit integers, so distinct I give distinct
 * keys; also the shuffle's random numbers. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static uint64_t rng_state = 42;

uint64_t rng(void)
{
    return mix64(rng_state++);
}

void make_key(key_t16 k, uint64_t i)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t x = mix64(i ^ 0x5bd1e995u);
    for (int j = 0; j < KEY_LEN; j++)
        k[j] = hex[(x >> (4 * j)) & 15];
    k[KEY_LEN] = '\0';
}

void fill_order(const char **seq, int n, key_t16 *keys, int first, int count)
{
    int *perm = malloc(sizeof(int) * (size_t)count);
    if (!perm)
        bench_die("bench-map: malloc", SMEM_ENOMEM);
    for (int i = 0; i < count; i++)
        perm[i] = first + i;
    for (int done = 0; done < n;) {
        for (int i = count - 1; i > 0; i--) {
            int j = (int)(rng() % (uint64_t)(i + 1));
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int i = 0; i < count && done < n; i++)
            seq[done++] = keys[perm[i]];
    }
    free(perm);
}

/* ------------------------------------------------------------------------ */
/* Timed loops: ns per call                                                 */

static double time_value_get(smem_value *v, int calls)
{
    unsigned char buf[VAL_LEN];
    size_t len;
    uint64_t ver;
    int bad = 0;
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < calls; i++) {
        bad |= smem_value_get(v, buf, sizeof buf, &len, &ver);
        bench_clobber(buf);
    }
    double ns = (double)(bench_now_ns() - t0) / calls;
    if (bad)
        bench_die("bench-map: smem_value_get", bad);
    return ns;
}

static double time_map_get(smem_map *m, const char **seq, int calls, int expect)
{
    unsigned char buf[MAX_VALUE];
    size_t len;
    uint64_t ver;
    int wrong = 0;
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < calls; i++) {
        wrong += smem_map_get(m, seq[i], buf, sizeof buf, &len, &ver) != expect;
        bench_clobber(buf);
    }
    double ns = (double)(bench_now_ns() - t0) / calls;
    if (wrong) {
        fprintf(stderr, "bench-map: %d of %d gets did not return %s\n", wrong, calls,
                smem_err_name(expect));
        exit(1);
    }
    return ns;
}

static double time_map_set(smem_map *m, const char **seq, int calls, unsigned char *val)
{
    int bad = 0;
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < calls; i++)
        bad |= smem_map_set(m, seq[i], val, VAL_LEN);
    double ns = (double)(bench_now_ns() - t0) / calls;
    if (bad)
        bench_die("bench-map: smem_map_set", bad);
    return ns;
}

/* The memory baseline: a region as large as the map's, whose 64-byte lines
 * form one random cycle (Sattolo's algorithm); a chase along it pays one
 * cache (and TLB) miss per step, none overlapped: the latency of a read at
 * a random place in that much shared memory. */
static smem_region *chase_open(const char *name, size_t size)
{
    smem_region *r;
    int rc = smem_region_open(name, size, NULL, &r);
    if (rc < 0)
        bench_die("bench-map: smem_region_open (memory baseline)", rc);
    unsigned char *base = smem_region_data(r);
    uint32_t lines = (uint32_t)(smem_region_size(r) / 64);
    uint32_t *next = malloc(sizeof(uint32_t) * lines);
    if (!next)
        bench_die("bench-map: malloc", SMEM_ENOMEM);
    for (uint32_t i = 0; i < lines; i++)
        next[i] = i;
    for (uint32_t i = lines - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(rng() % i), t = next[i];
        next[i] = next[j];
        next[j] = t;
    }
    for (uint32_t i = 0; i < lines; i++)
        memcpy(base + (size_t)i * 64, &next[i], sizeof next[i]);
    free(next);
    return r;
}

static double time_chase(smem_region *r, int steps)
{
    const unsigned char *base = smem_region_data(r);
    static uint32_t at;
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < steps; i++)
        at = *(const volatile uint32_t *)(const void *)(base + (size_t)at * 64);
    return (double)(bench_now_ns() - t0) / steps;
}

/* ------------------------------------------------------------------------ */
/* Redis through hiredis                                                    */

#ifdef SMEM_BENCH_HIREDIS
static void redis_check(redisContext *c, redisReply *r, const char *what)
{
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bench-map: redis %s: %s\n", what,
                r ? r->str : (c->errstr[0] ? c->errstr : "no reply"));
        exit(1); /* the exit handler stops the server */
    }
}

/* Inserts keys[from..to) with VAL, pipelined. */
static void redis_fill(redisContext *c, key_t16 *keys, int from, int to, const unsigned char *val)
{
    for (int i = from; i < to; i += 1000) {
        int end = i + 1000 < to ? i + 1000 : to;
        for (int j = i; j < end; j++)
            redisAppendCommand(c, "SET %b %b", keys[j], (size_t)KEY_LEN, val, (size_t)VAL_LEN);
        for (int j = i; j < end; j++) {
            void *r = NULL;
            if (redisGetReply(c, &r) != REDIS_OK)
                redis_check(c, NULL, "SET");
            redis_check(c, r, "SET");
            freeReplyObject(r);
        }
    }
}

static double time_redis_get(redisContext *c, const char **seq, int calls)
{
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < calls; i++) {
        redisReply *r = redisCommand(c, "GET %b", seq[i], (size_t)KEY_LEN);
        if (!r || r->type != REDIS_REPLY_STRING || r->len != VAL_LEN)
            redis_check(c, r, "GET");
        freeReplyObject(r);
    }
    return (double)(bench_now_ns() - t0) / calls;
}

static double time_redis_set(redisContext *c, const char **seq, int calls,
                             const unsigned char *val)
{
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < calls; i++) {
        redisReply *r = redisCommand(c, "SET %b %b", seq[i], (size_t)KEY_LEN, val,
                                     (size_t)VAL_LEN);
        redis_check(c, r, "SET");
        freeReplyObject(r);
    }
    return (double)(bench_now_ns() - t0) / calls;
}

/* Starts the server and connects: NULL, with a notice, if it cannot. */
static redisContext *redis_connect(void)
{
    int port;
    int rc = bench_redis_start(&port);
    if (rc == SMEM_ENOENT) {
        printf("\nRedis: redis-server is not installed; comparison skipped\n");
        return NULL;
    }
    if (rc < 0) {
        printf("\nRedis: could not start redis-server (%s); comparison skipped\n",
               smem_strerror(rc));
        return NULL;
    }
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err) {
        printf("\nRedis: cannot connect to 127.0.0.1:%d (%s); comparison skipped\n", port,
               c ? c->errstr : "out of memory");
        redisFree(c);
        bench_redis_stop();
        return NULL;
    }
    redisReply *r = redisCommand(c, "INFO server");
    const char *ver = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "redis_version:") : NULL;
    printf("\nRedis %.*s via hiredis %d.%d.%d, private server on 127.0.0.1:%d (TCP loopback,\n"
           "--save \"\" --appendonly no), one synchronous request per call.\n",
           ver ? (int)strcspn(ver + 14, "\r\n") : 1, ver ? ver + 14 : "?", HIREDIS_MAJOR,
           HIREDIS_MINOR, HIREDIS_PATCH, port);
    freeReplyObject(r);
    return c;
}
#endif

/* ------------------------------------------------------------------------ */

struct row {
    int entries;
    double get, miss, set, value_get, mem;
    double redis_get, redis_set;
};

#define HOT_KEYS 1000

/* ---- the cache ---------------------------------------------------------- */

#define CACHE_LOAD 75000 /* 75% of MAX_ENTRIES, and the full evicting map's size */
#define CACHE_POOL (3 * CACHE_LOAD)

static smem_map *cache_map(const char *tag, size_t entries, unsigned flags, key_t16 *keys,
                           int n, const unsigned char *val)
{
    char name[64];
    snprintf(name, sizeof name, "bench-map-%s-%ld", tag, bench_pid());
    smem_map *m;
    int rc = smem_map_open(name, entries, MAX_VALUE, &(smem_opts){.flags = flags}, &m);
    if (rc < 0)
        bench_die("bench-map: smem_map_open (cache)", rc);
    for (int i = 0; i < n; i++)
        if ((rc = smem_map_set(m, keys[i], val, VAL_LEN)) < 0)
            bench_die("bench-map: filling a cache map", rc);
    return m;
}

/* ns per smem_map_put of a new key into a map that is full of live
 * entries: each one evicts.  The keys cycle through a pool three times
 * the map's size, so the one put was evicted long before it comes back. */
static double time_full_put(smem_map *m, key_t16 *pool, int *next, int calls,
                            const unsigned char *val)
{
    int bad = 0, evicted = 0, e;
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < calls; i++) {
        bad |= smem_map_put(m, pool[*next], val, VAL_LEN, NULL, &e);
        evicted += e;
        *next = *next + 1 < CACHE_POOL ? *next + 1 : 0;
    }
    double ns = (double)(bench_now_ns() - t0) / calls;
    if (bad)
        bench_die("bench-map: smem_map_put into a full map", bad);
    if (evicted != calls) {
        fprintf(stderr, "bench-map: %d of %d puts into a full map evicted\n", evicted, calls);
        exit(1);
    }
    return ns;
}

static double time_stats(smem_map *m, int calls)
{
    struct smem_map_stats s;
    int bad = 0;
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < calls; i++) {
        bad |= smem_map_stats(m, &s);
        bench_clobber(&s);
    }
    double ns = (double)(bench_now_ns() - t0) / calls;
    if (bad)
        bench_die("bench-map: smem_map_stats", bad);
    return ns;
}

/*
 * The cost of the cache: get and set at 75% load on two maps of the same
 * figures, created without and with SMEM_EVICT (whose gets mark what they
 * read); a put into a full evicting map (an eviction each); smem_map_stats.
 * KEYS holds at least CACHE_POOL keys; HIT and T have room for CALLS and
 * 6 * REPS figures.
 */
static void cache_figures(int reps, int calls, key_t16 *keys, const char **hit, double *t,
                          const unsigned char *val)
{
    smem_map *plain = cache_map("plain", MAX_ENTRIES, 0, keys, CACHE_LOAD, val);
    smem_map *evict = cache_map("evict", MAX_ENTRIES, SMEM_EVICT, keys, CACHE_LOAD, val);
    smem_map *full = cache_map("full", CACHE_LOAD, SMEM_EVICT, keys, CACHE_LOAD, val);
    int next = CACHE_LOAD;
    fill_order(hit, calls, keys, 0, CACHE_LOAD);
    time_map_get(plain, hit, calls / 10, 0);
    time_map_get(evict, hit, calls / 10, 0);
    time_full_put(full, keys, &next, calls / 10, val);
    double *g0 = t, *g1 = t + reps, *s0 = t + 2 * reps, *s1 = t + 3 * reps, *fp = t + 4 * reps,
           *st = t + 5 * reps;
    unsigned char v[VAL_LEN];
    memcpy(v, val, sizeof v);
    for (int r = 0; r < reps; r++) {
        v[0] = (unsigned char)('a' + r % 26);
        g0[r] = time_map_get(plain, hit, calls, 0);
        g1[r] = time_map_get(evict, hit, calls, 0);
        s0[r] = time_map_set(plain, hit, calls, v);
        s1[r] = time_map_set(evict, hit, calls, v);
        fp[r] = time_full_put(full, keys, &next, calls, v);
        st[r] = time_stats(evict, calls);
    }
    double get0 = bench_median(g0, reps), get1 = bench_median(g1, reps);
    double set0 = bench_median(s0, reps), set1 = bench_median(s1, reps);
    double put_full = bench_median(fp, reps), stats = bench_median(st, reps);
    printf("\ncache, at 75%% load (%d of %d entries), keys in random order:\n"
           "  without SMEM_EVICT: get %5.1f ns, set %5.1f ns\n"
           "  with SMEM_EVICT:    get %5.1f ns, set %5.1f ns   get evict/plain %.2fx "
           "(goal <= 1.2x)\n"
           "  put of a new key into a full evicting map (%d entries, one eviction each):\n"
           "                      %5.1f ns   full put / set with room %.2fx (goal <= 2x)\n"
           "  smem_map_stats:     %5.1f ns (nothing expired: no walk)\n",
           CACHE_LOAD, MAX_ENTRIES, get0, set0, get1, set1, get1 / get0, CACHE_LOAD, put_full,
           put_full / set1, stats);
    smem_map_close(plain);
    smem_map_close(evict);
    smem_map_close(full);
}

static int usage(FILE *to, int status)
{
    fprintf(to, "usage: bench-map [REPETITIONS [CALLS]]\n"
                "       bench-map resize [RUNS]\n"
                "       bench-map --help\n"
                "  the first form: get, set, memory, Redis and the cache\n"
                "  REPETITIONS >= 1 (default 11): the figures are their medians\n"
                "  CALLS >= 1000 (default 100000): calls timed per figure and\n"
                "  repetition (Redis: CALLS/50)\n"
                "  resize: smem_map_resize per entry moved, a reader's get latency\n"
                "  during resizes, SMEM_GROW against a map made large enough\n"
                "  RUNS >= 1 (default 5): runs, each on fresh maps; the figures are\n"
                "  their medians (the reader: min(RUNS, 3) rounds)\n");
    return status;
}

int main(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
        return usage(stdout, 0);
    if (argc > 1 && !strcmp(argv[1], "resize")) {
        int runs = argc > 2 ? atoi(argv[2]) : 5;
        if (argc > 3 || runs < 1)
            return usage(stderr, 2);
        return resize_figures(runs);
    }
    int reps = argc > 1 ? atoi(argv[1]) : 11;
    int calls = argc > 2 ? atoi(argv[2]) : 100000;
    if (argc > 3 || reps < 1 || calls < 1000)
        return usage(stderr, 2);
    int rcalls = calls / 50;

    char name[64], vname[64], mname[64];
    snprintf(name, sizeof name, "bench-map-%ld", bench_pid());
    snprintf(vname, sizeof vname, "bench-map-value-%ld", bench_pid());
    snprintf(mname, sizeof mname, "bench-map-memory-%ld", bench_pid());

    smem_map *m;
    int rc = smem_map_open(name, MAX_ENTRIES, MAX_VALUE, NULL, &m);
    if (rc < 0)
        bench_die("bench-map: smem_map_open", rc);
    smem_value *v;
    rc = smem_value_open(vname, VAL_LEN, NULL, &v);
    if (rc < 0)
        bench_die("bench-map: smem_value_open", rc);

    /* The memory the map takes: its whole region, as any process maps it. */
    smem_region *raw;
    rc = smem_region_open(name, 0, &(smem_opts){.flags = SMEM_ANYKIND}, &raw);
    if (rc < 0)
        bench_die("bench-map: smem_region_open(SMEM_ANYKIND)", rc);
    size_t region_size = smem_region_size(raw);
    smem_region_close(raw);
    smem_region *chase = chase_open(mname, region_size);

    unsigned char val[VAL_LEN];
    memset(val, 'v', sizeof val);
    if ((rc = smem_value_set(v, val, sizeof val)) < 0)
        bench_die("bench-map: smem_value_set", rc);

    /* All keys and all orders, before anything is timed. */
    _Static_assert(CACHE_POOL >= MAX_ENTRIES + MISS_KEYS, "one key array for all");
    key_t16 *keys = malloc(sizeof(key_t16) * CACHE_POOL);
    const char **hit = malloc(sizeof(char *) * (size_t)calls);
    const char **miss = malloc(sizeof(char *) * (size_t)calls);
    double *t = malloc(sizeof(double) * (size_t)reps * 7);
    if (!keys || !hit || !miss || !t)
        bench_die("bench-map: malloc", SMEM_ENOMEM);
    for (int i = 0; i < CACHE_POOL; i++)
        make_key(keys[i], (uint64_t)i);
    double *t_val = t, *t_get = t + reps, *t_miss = t + 2 * reps, *t_set = t + 3 * reps,
           *t_mem = t + 4 * reps, *t_rget = t + 5 * reps, *t_rset = t + 6 * reps;
    fill_order(miss, calls, keys, MAX_ENTRIES, MISS_KEYS);

#ifdef SMEM_BENCH_HIREDIS
    redisContext *redis = redis_connect();
#else
    void *redis = NULL;
    (void)rcalls;
#endif

    printf("\nsmem_map_get / smem_map_set on a map of %d entries (max_value %d), %d B keys,\n"
           "%d B values, keys in random order; median of %d repetitions x %d calls%s.\n"
           "Measured in the same repetitions: smem_value_get of a %d B value, and a\n"
           "dependent read at a random place in a region as large as the map's\n"
           "(one cache and TLB miss: the memory's latency).\n\n",
           MAX_ENTRIES, MAX_VALUE, KEY_LEN, VAL_LEN, reps, calls,
           redis ? " (Redis: x CALLS/50)" : "", VAL_LEN);
    printf("  load  entries | map_get  get absent  map_set | value_get  mem read"
           " | get/value set/value get/mem%s\n",
           redis ? " | redis GET redis SET" : "");

    struct row rows[NLOADS];
    int filled = 0;
    for (int l = 0; l < NLOADS; l++) {
        int n = (int)((long)MAX_ENTRIES * loads[l] / 100);
        for (; filled < n; filled++)
            if ((rc = smem_map_set(m, keys[filled], val, VAL_LEN)) < 0)
                bench_die("bench-map: filling the map", rc);
        if ((rc = smem_map_count(m)) != n) {
            fprintf(stderr, "bench-map: count %d, expected %d\n", rc, n);
            return 1;
        }
        fill_order(hit, calls, keys, 0, n);
#ifdef SMEM_BENCH_HIREDIS
        if (redis)
            redis_fill(redis, keys, l ? (int)((long)MAX_ENTRIES * loads[l - 1] / 100) : 0, n, val);
#endif
        /* Warm up: one untimed pass of each. */
        time_value_get(v, calls / 10);
        time_chase(chase, calls / 10);
        time_map_get(m, hit, calls / 10, 0);
        time_map_set(m, hit, calls / 10, val);
        for (int r = 0; r < reps; r++) {
            val[0] = (unsigned char)('a' + r % 26); /* every set writes new bytes */
            t_val[r] = time_value_get(v, calls);
            t_mem[r] = time_chase(chase, calls / 4);
            t_get[r] = time_map_get(m, hit, calls, 0);
            t_miss[r] = time_map_get(m, miss, calls, SMEM_ENOENT);
            t_set[r] = time_map_set(m, hit, calls, val);
#ifdef SMEM_BENCH_HIREDIS
            if (redis) {
                t_rget[r] = time_redis_get(redis, hit, rcalls);
                t_rset[r] = time_redis_set(redis, hit, rcalls, val);
            }
#endif
        }
        struct row *w = &rows[l];
        w->entries = n;
        w->value_get = bench_median(t_val, reps);
        w->mem = bench_median(t_mem, reps);
        w->get = bench_median(t_get, reps);
        w->miss = bench_median(t_miss, reps);
        w->set = bench_median(t_set, reps);
        w->redis_get = redis ? bench_median(t_rget, reps) : 0;
        w->redis_set = redis ? bench_median(t_rset, reps) : 0;
        printf("  %3d%%  %7d | %5.0f ns  %5.0f ns  %5.0f ns | %6.1f ns  %5.0f ns | %6.1fx %6.1fx %6.2fx",
               loads[l], n, w->get, w->miss, w->set, w->value_get, w->mem, w->get / w->value_get,
               w->set / w->value_get, w->get / w->mem);
        if (redis)
            printf(" | %6.0f ns %6.0f ns", w->redis_get, w->redis_set);
        printf("\n");
        fflush(stdout);
    }

    /* The same map at 90% load, but only HOT_KEYS keys, in random order:
     * they stay in the caches, so this is the cost of the code alone. */
    fill_order(hit, calls, keys, 0, HOT_KEYS);
    time_map_get(m, hit, calls / 10, 0);
    for (int r = 0; r < reps; r++) {
        t_val[r] = time_value_get(v, calls);
        t_get[r] = time_map_get(m, hit, calls, 0);
        t_set[r] = time_map_set(m, hit, calls, val);
    }
    double hot_val = bench_median(t_val, reps), hot_get = bench_median(t_get, reps),
           hot_set = bench_median(t_set, reps);
    printf("\n  the same map, %d of its keys in random order (they stay in the caches):\n"
           "  get %.1f ns, set %.1f ns, value_get %.1f ns; get/value %.2fx, set/value %.2fx\n",
           HOT_KEYS, hot_get, hot_set, hot_val, hot_get / hot_val, hot_set / hot_val);

    cache_figures(reps, calls, keys, hit, t, val);

    /* The goals are set at 75% load. */
    const struct row *g = &rows[1];
    printf("\n  at 75%% load, keys in random order: get %.1f ns (goal <= 60), "
           "set %.1f ns (goal <= 150)\n", g->get, g->set);

    if (redis) {
        printf("\n  smem faster than Redis (redis ns / smem ns; goal >= 100x):\n");
        for (int l = 0; l < NLOADS; l++)
            printf("  %3d%%   get %7.0fx   set %7.0fx\n", loads[l],
                   rows[l].redis_get / rows[l].get, rows[l].redis_set / rows[l].set);
    }

    double per = (double)(region_size + REGION_HEADER) / MAX_ENTRIES;
    printf("\nmemory: %zu B region + %d B header for %d entries = %.1f B per entry\n",
           region_size, REGION_HEADER, MAX_ENTRIES, per);
    printf("  beyond %d B key + %d B value:                   %6.1f B per entry (goal <= 64)\n",
           KEY_LEN, VAL_LEN, per - (KEY_LEN + VAL_LEN));
    printf("  beyond the %d B key capacity + %d B max_value:  %6.1f B per entry\n",
           SMEM_MAP_KEY_MAX, MAX_VALUE, per - (SMEM_MAP_KEY_MAX + MAX_VALUE));

#ifdef SMEM_BENCH_HIREDIS
    if (redis) {
        redisFree(redis);
        bench_redis_stop();
    }
#else
    printf("\nRedis: bench-map was built without hiredis; the comparison was not built\n");
#endif
    smem_region_close(chase);
    smem_map_close(m);
    smem_value_close(v);
    free(keys);
    free(hit);
    free(miss);
    free(t);
    return 0;
}
