/*
 * bench-map resize: growing a map while it is in use (smem_map_resize,
 * SMEM_GROW), in three parts, each on fresh maps of 16-byte keys and
 * 64-byte values (max_value 64), each key's value starting with the key:
 *
 *   move    a map of N entries at 75% of its max_entries (N = 75,000 and
 *           1,000,000) resized to twice its max_entries: the call's time,
 *           total and per entry moved, next to two figures of the same
 *           run: the open of an empty map of the new size (reserving as
 *           much memory as the new table, without the copy) and a set of a
 *           new key (the fill before the resize)
 *   reader  a reader process gets random present keys, each get timed on
 *           its own with bench_now_ns, while this process resizes a map of
 *           1,000,000 entries from 75% load to 2x, 4x and 8x its
 *           max_entries, with 300 ms of no resize before and after each:
 *           percentiles of the gets that overlapped a resize next to those
 *           of the gets with no resize running, in the same round; every
 *           get is checked (0, 64 bytes, its own key's value)
 *   grow    1,000,000 keys set into a map created with 16 entries and
 *           SMEM_GROW, and into one created with 1,000,000 entries, in
 *           turn in every run
 *
 * The figures are medians over the runs (rounds, for the reader).  The
 * maps are named bench-map-resize-PART-PID-RUN; each is closed, which
 * removes it and its tables, before the next is made.  On Windows
 * smem_map_resize gives SMEM_ENOTSUP, and the section says it is skipped.
 */
#include "bench.h"
#include "bench-map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG 1000000         /* entries of the large maps */
#define SMALL 75000         /* and of the small one (part move) */
#define ROUNDS_MAX 3        /* reader rounds: min(runs, ROUNDS_MAX) */
#define STEPS 3             /* resizes per round: to 2x, 4x, 8x */
#define QUIET_NS 300000000  /* no resize for 300 ms before and after each */
#define HIST_NS (1u << 20)  /* get latencies under 1.05 ms are counted per ns */
#define READY_WAIT_NS 120000000000LL /* how long the reader may take to start */

static key_t16 *keys; /* keys[0..BIG) */

/* max_entries for N entries at 75% load. */
static size_t at_75(size_t n)
{
    return (n * 4 + 2) / 3;
}

static void map_name(char *buf, size_t size, const char *part, int run)
{
    snprintf(buf, size, "bench-map-resize-%s-%ld-%d", part, bench_pid(), run);
}

/* A new map: never one that someone else made under the name. */
static smem_map *new_map(const char *name, size_t entries, unsigned flags)
{
    smem_map *m;
    int rc = smem_map_open(name, entries, MAX_VALUE, &(smem_opts){.flags = flags}, &m);
    if (rc < 0)
        bench_die("bench-map resize: smem_map_open", rc);
    if (!smem_map_created(m)) {
        fprintf(stderr, "bench-map resize: %s existed already; not ours, left alone\n", name);
        exit(1);
    }
    return m;
}

/* Closes our last handle, which removes the map and its tables. */
static void drop_map(smem_map *m, const char *name)
{
    smem_map_close(m);
    smem_info info;
    if (smem_region_stat(name, &info) != SMEM_ENOENT) {
        fprintf(stderr, "bench-map resize: %s still there after its last close; removing it\n",
                name);
        smem_region_remove(name);
    }
}

static void value_of(unsigned char *v, const char *key)
{
    memset(v, 'v', VAL_LEN);
    memcpy(v, key, KEY_LEN);
}

/* Sets keys[0..n) in M, each to its value: ns per set. */
static double fill(smem_map *m, int n)
{
    unsigned char v[VAL_LEN];
    value_of(v, keys[0]);
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < n; i++) {
        memcpy(v, keys[i], KEY_LEN);
        int rc = smem_map_set(m, keys[i], v, VAL_LEN);
        if (rc < 0)
            bench_die("bench-map resize: smem_map_set", rc);
    }
    return (double)(bench_now_ns() - t0) / n;
}

/* M holds keys[0..n), their values, and room for ENTRIES. */
static void check_map(smem_map *m, int n, size_t entries)
{
    if (smem_map_count(m) != n || smem_map_max_entries(m) != entries) {
        fprintf(stderr, "bench-map resize: %d entries of %zu, expected %d of %zu\n",
                smem_map_count(m), smem_map_max_entries(m), n, entries);
        exit(1);
    }
    unsigned char buf[VAL_LEN], want[VAL_LEN];
    size_t len;
    for (int i = 0; i < n; i += n / 1000 + 1) {
        value_of(want, keys[i]);
        int rc = smem_map_get(m, keys[i], buf, sizeof buf, &len, NULL);
        if (rc != 0 || len != VAL_LEN || memcmp(buf, want, VAL_LEN) != 0) {
            fprintf(stderr, "bench-map resize: key %d wrong after the resize (%s)\n", i,
                    smem_err_name(rc));
            exit(1);
        }
    }
}

static void spin_ns(int64_t ns)
{
    int64_t end = bench_now_ns() + ns;
    while (bench_now_ns() < end) {
    }
}

/* ------------------------------------------------------------------------ */
/* Part move: the time of one resize to 2x max_entries                      */

/* One run on a fresh map of N entries: T[0] the resize in ms, T[1] ns per
 * entry moved, T[2] the open of an empty map of the new size in ms, T[3]
 * ns per set of a new key (the fill). */
static void move_run(int n, int run, double *t)
{
    char name[96], empty[96];
    map_name(name, sizeof name, "move", run);
    map_name(empty, sizeof empty, "empty", run);
    size_t entries = at_75((size_t)n);
    smem_map *m = new_map(name, entries, 0);
    t[3] = fill(m, n);
    int64_t t0 = bench_now_ns();
    smem_map *e = new_map(empty, 2 * entries, 0);
    int64_t t1 = bench_now_ns();
    drop_map(e, empty);
    int64_t t2 = bench_now_ns();
    int rc = smem_map_resize(m, 2 * entries, MAX_VALUE);
    int64_t t3 = bench_now_ns();
    if (rc < 0)
        bench_die("bench-map resize: smem_map_resize", rc);
    check_map(m, n, 2 * entries);
    drop_map(m, name);
    t[0] = (double)(t3 - t2) / 1e6;
    t[1] = (double)(t3 - t2) / n;
    t[2] = (double)(t1 - t0) / 1e6;
}

static void move_figures(int runs)
{
    static const int sizes[] = {SMALL, BIG};
    printf("\nsmem_map_resize of a map at 75%% load to 2x its max_entries, %d B keys, %d B\n"
           "values (max_value %d); median of %d runs, each on a fresh map.  Same runs:\n"
           "the open of an empty map of the new size (it reserves as much memory as the\n"
           "new table; the pages are cleared and mapped when first written, which the\n"
           "resize pays, as the fill does), and a set of a new key (the fill before).\n\n"
           "  entries  max_entries -> new  |  resize    per entry moved | empty map open"
           " | set of a new key | per entry moved / set\n",
           KEY_LEN, VAL_LEN, MAX_VALUE, runs);
    double *t = malloc(sizeof(double) * (size_t)runs * 5);
    if (!t)
        bench_die("bench-map resize: malloc", SMEM_ENOMEM);
    for (int s = 0; s < 2; s++) {
        int n = sizes[s];
        double *ms = t, *per = t + runs, *empty = t + 2 * runs, *set = t + 3 * runs,
               *ratio = t + 4 * runs;
        for (int r = 0; r < runs; r++) {
            double one[4];
            move_run(n, r, one);
            ms[r] = one[0];
            per[r] = one[1];
            empty[r] = one[2];
            set[r] = one[3];
            ratio[r] = one[1] / one[3];
        }
        size_t entries = at_75((size_t)n);
        printf("  %7d  %7zu -> %7zu  | %7.1f ms  %6.1f ns     |  %7.2f ms    |  %6.1f ns       |"
               "  %.2fx\n",
               n, entries, 2 * entries, bench_median(ms, runs), bench_median(per, runs),
               bench_median(empty, runs), bench_median(set, runs), bench_median(ratio, runs));
        fflush(stdout);
    }
    free(t);
}

/* ------------------------------------------------------------------------ */
/* Part reader: a reader process's gets while the map is resized           */

enum { NONE, BEFORE, AFTER, DURING, NCLASS }; /* NONE: BEFORE and AFTER */

struct pcts {
    uint64_t n;
    int64_t p50, p99, p999, max;
};

/* Shared with the reader. */
struct board {
    uint32_t ready; /* reader: 1 reading, 2 gave up */
    uint32_t stop;  /* writer: stop reading */
    uint32_t phase; /* writer: 2k - 1 while resize k runs, 2k after it */
    int rc;         /* reader: the code of its first failed get, or of the open */
    uint64_t gets, failed;
    int64_t clock_ns; /* two bench_now_ns back to back, median */
    struct pcts cls[NCLASS];
};

struct reader_arg {
    struct board *b;
    const char *name;
    const char **seq; /* keys in random order, n of them */
    int n;
};

/* Latencies: a count per ns under HIST_NS, the longer ones listed. */
struct lat {
    uint32_t *hist;
    int64_t *over;
    size_t nover, capover;
    uint64_t n;
    int64_t max;
};

static void lat_add(struct lat *l, int64_t ns)
{
    l->n++;
    l->max = ns > l->max ? ns : l->max;
    if (ns >= 0 && ns < (int64_t)HIST_NS) {
        l->hist[ns]++;
        return;
    }
    if (l->nover == l->capover) {
        size_t cap = l->capover ? 2 * l->capover : 1024;
        int64_t *o = realloc(l->over, sizeof *o * cap);
        if (!o)
            return; /* counted in n and max, not in the percentiles */
        l->over = o;
        l->capover = cap;
    }
    l->over[l->nover++] = ns;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The sample of rank floor(n * P) in increasing order; OVER sorted. */
static int64_t lat_rank(const struct lat *l, double p)
{
    uint64_t rank = (uint64_t)((double)l->n * p), seen = 0;
    if (rank >= l->n)
        rank = l->n - 1;
    for (uint32_t ns = 0; ns < HIST_NS; ns++) {
        seen += l->hist[ns];
        if (seen > rank)
            return ns;
    }
    uint64_t i = rank - seen;
    return i < l->nover ? l->over[i] : l->max;
}

static struct pcts lat_pcts(struct lat *l)
{
    struct pcts p = {.n = l->n};
    if (!l->n)
        return p;
    qsort(l->over, l->nover, sizeof *l->over, cmp_i64);
    p.p50 = lat_rank(l, 0.50);
    p.p99 = lat_rank(l, 0.99);
    p.p999 = lat_rank(l, 0.999);
    p.max = l->max;
    return p;
}

/* One get of KEY, checked: 0, VAL_LEN bytes, the key's own value. */
static int good_get(int rc, const unsigned char *buf, size_t len, const char *key)
{
    return rc == 0 && len == VAL_LEN && memcmp(buf, key, KEY_LEN) == 0 &&
           buf[KEY_LEN] == 'v' && buf[VAL_LEN - 1] == 'v';
}

static int64_t clock_cost(void)
{
    double t[15];
    for (int r = 0; r < 15; r++) {
        int64_t sum = 0;
        for (int i = 0; i < 10000; i++) {
            int64_t t0 = bench_now_ns();
            sum += bench_now_ns() - t0;
        }
        t[r] = (double)sum / 10000;
    }
    return (int64_t)(bench_median(t, 15) + 0.5);
}

/* The reader's loop: until the writer says stop, gets at the keys in turn,
 * each timed, filed by whether a resize ran during it. */
static void read_loop(smem_map *m, const struct reader_arg *a, struct lat *l)
{
    struct board *b = a->b;
    unsigned char buf[VAL_LEN];
    size_t len;
    uint64_t gets = 0, failed = 0;
    int first_rc = 0;
    for (int i = 0; !__atomic_load_n(&b->stop, __ATOMIC_RELAXED); i = i + 1 < a->n ? i + 1 : 0) {
        const char *key = a->seq[i];
        uint32_t p0 = __atomic_load_n(&b->phase, __ATOMIC_ACQUIRE);
        int64_t t0 = bench_now_ns();
        int rc = smem_map_get(m, key, buf, sizeof buf, &len, NULL);
        int64_t t1 = bench_now_ns();
        uint32_t p1 = __atomic_load_n(&b->phase, __ATOMIC_ACQUIRE);
        gets++;
        if (!good_get(rc, buf, len, key) && failed++ == 0)
            first_rc = rc ? rc : SMEM_EBADREGION; /* a wrong value: no code of its own */
        if ((p0 & 1) || p0 != p1) {
            lat_add(&l[DURING], t1 - t0);
        } else {
            lat_add(&l[p0 ? AFTER : BEFORE], t1 - t0);
            lat_add(&l[NONE], t1 - t0);
        }
    }
    b->gets += gets;
    if (failed && !b->failed)
        b->rc = first_rc;
    b->failed += failed;
}

/* The reader process: its own handle, one untimed pass over every key,
 * then read_loop; the percentiles go on the board. */
static int reader(void *arg)
{
    const struct reader_arg *a = arg;
    struct board *b = a->b;
    smem_map *m;
    int rc = smem_map_open(a->name, 0, 0, &(smem_opts){.flags = SMEM_NOCREATE}, &m);
    struct lat l[NCLASS] = {{0}};
    uint32_t *hist = rc < 0 ? NULL : calloc((size_t)NCLASS * HIST_NS, sizeof *hist);
    if (!hist) {
        b->rc = rc < 0 ? rc : SMEM_ENOMEM;
        __atomic_store_n(&b->ready, 2, __ATOMIC_RELEASE);
        return 1;
    }
    for (int c = 0; c < NCLASS; c++)
        l[c].hist = hist + (size_t)c * HIST_NS;
    unsigned char buf[VAL_LEN];
    size_t len;
    for (int i = 0; i < a->n; i++) {
        rc = smem_map_get(m, a->seq[i], buf, sizeof buf, &len, NULL);
        if (!good_get(rc, buf, len, a->seq[i]) && b->failed++ == 0)
            b->rc = rc ? rc : SMEM_EBADREGION;
    }
    b->gets = (uint64_t)a->n; /* counted with the failures */
    b->clock_ns = clock_cost();
    __atomic_store_n(&b->ready, 1, __ATOMIC_RELEASE);
    read_loop(m, a, l);
    smem_map_close(m);
    for (int c = 0; c < NCLASS; c++) {
        b->cls[c] = lat_pcts(&l[c]);
        free(l[c].over);
    }
    free(hist);
    return 0;
}

/* One round on a fresh map: RESIZE_MS[k] the k-th resize's time. */
static void reader_round(int round, struct board *b, const char **seq, double *resize_ms)
{
    char name[96];
    map_name(name, sizeof name, "read", round);
    size_t entries = at_75(BIG);
    smem_map *m = new_map(name, entries, 0);
    fill(m, BIG);
    memset(b, 0, sizeof *b);
    struct reader_arg a = {b, name, seq, BIG};
    long child = bench_child_start(reader, &a);
    if (child < 0)
        bench_die("bench-map resize: starting the reader", (int)child);
    int64_t deadline = bench_now_ns() + READY_WAIT_NS;
    uint32_t ready;
    while ((ready = __atomic_load_n(&b->ready, __ATOMIC_ACQUIRE)) == 0 &&
           bench_now_ns() < deadline) {
    }
    if (ready != 1) {
        fprintf(stderr, "bench-map resize: the reader did not start (%s)\n",
                ready ? smem_strerror(b->rc) : "timed out");
        exit(1); /* the reader dies with us */
    }
    spin_ns(QUIET_NS);
    for (int k = 1; k <= STEPS; k++) {
        __atomic_store_n(&b->phase, (uint32_t)(2 * k - 1), __ATOMIC_SEQ_CST);
        int64_t t0 = bench_now_ns();
        int rc = smem_map_resize(m, entries << k, MAX_VALUE);
        int64_t t1 = bench_now_ns();
        __atomic_store_n(&b->phase, (uint32_t)(2 * k), __ATOMIC_SEQ_CST);
        if (rc < 0)
            bench_die("bench-map resize: smem_map_resize (reader running)", rc);
        resize_ms[k - 1] = (double)(t1 - t0) / 1e6;
        spin_ns(QUIET_NS);
    }
    __atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
    int status = bench_child_wait(child);
    check_map(m, BIG, entries << STEPS);
    drop_map(m, name);
    if (status != 0) {
        fprintf(stderr, "bench-map resize: the reader failed (status %d)\n", status);
        exit(1);
    }
}

static void print_class(const char *label, const struct pcts *p, int rounds, int c)
{
    double v[4][ROUNDS_MAX];
    uint64_t n = 0;
    int64_t max = 0;
    for (int r = 0; r < rounds; r++) {
        const struct pcts *q = &p[r * NCLASS + c];
        v[0][r] = (double)q->p50;
        v[1][r] = (double)q->p99;
        v[2][r] = (double)q->p999;
        v[3][r] = (double)q->max;
        n += q->n;
        max = q->max > max ? q->max : max;
    }
    printf("  %-36s %9llu | %6.0f ns %7.0f ns %8.0f ns | %9.0f ns %9lld ns\n", label,
           (unsigned long long)n, bench_median(v[0], rounds), bench_median(v[1], rounds),
           bench_median(v[2], rounds), bench_median(v[3], rounds), (long long)max);
}

/* 0, or 1 if a get went wrong. */
static int reader_figures(int runs)
{
    int rounds = runs < ROUNDS_MAX ? runs : ROUNDS_MAX;
    size_t entries = at_75(BIG);
    printf("\nA reader process's smem_map_get of random present keys, each timed on its\n"
           "own (two bench_now_ns around it), while this process resizes the map: %d\n"
           "entries at 75%% load (max_entries %zu) resized to 2x, 4x, 8x, with %d ms of\n"
           "no resize before and after each; %d round%s, each on a fresh map; p50, p99,\n"
           "p99.9 and max are medians over the rounds, next to the largest of all.\n\n",
           BIG, entries, QUIET_NS / 1000000, rounds, rounds > 1 ? "s" : "");
    struct board *b = bench_shared_alloc(sizeof *b);
    const char **seq = malloc(sizeof(char *) * BIG);
    struct pcts p[ROUNDS_MAX * NCLASS];
    double ms[STEPS][ROUNDS_MAX], clk[ROUNDS_MAX];
    if (!b || !seq)
        bench_die("bench-map resize: memory for the reader", SMEM_ENOMEM);
    uint64_t gets = 0, failed = 0;
    int first_rc = 0;
    for (int r = 0; r < rounds; r++) {
        double one[STEPS];
        fill_order(seq, BIG, keys, 0, BIG);
        reader_round(r, b, seq, one);
        for (int k = 0; k < STEPS; k++)
            ms[k][r] = one[k];
        memcpy(&p[r * NCLASS], b->cls, sizeof b->cls);
        clk[r] = (double)b->clock_ns;
        gets += b->gets;
        first_rc = first_rc ? first_rc : (b->failed ? b->rc : 0);
        failed += b->failed;
    }
    printf("  gets                                     count |    p50       p99      p99.9"
           "   |  max (median) max (all)\n");
    print_class("no resize running", p, rounds, NONE);
    print_class("  before the first resize", p, rounds, BEFORE);
    print_class("  after a resize (in the new table)", p, rounds, AFTER);
    print_class("overlapping a resize", p, rounds, DURING);
    /* Against the reader's steady state: the gets before any resize. */
    double rat[2][3][ROUNDS_MAX];
    for (int r = 0; r < rounds; r++) {
        const struct pcts *q = &p[r * NCLASS], *base = &q[BEFORE];
        for (int i = 0; i < 2; i++) {
            const struct pcts *x = &q[i ? AFTER : DURING];
            rat[i][0][r] = (double)x->p50 / (double)base->p50;
            rat[i][1][r] = (double)x->p99 / (double)base->p99;
            rat[i][2][r] = (double)x->p999 / (double)base->p999;
        }
    }
    for (int i = 0; i < 2; i++)
        printf("  %s / before the first resize: p50 %.2fx, p99 %.2fx, p99.9 %.2fx\n",
               i ? "after a resize" : "overlapping a resize", bench_median(rat[i][0], rounds),
               bench_median(rat[i][1], rounds), bench_median(rat[i][2], rounds));
    printf("  the clock alone (two bench_now_ns back to back, in every figure): %.0f ns\n"
           "  resize calls (median): 2x %.1f ms, 4x %.1f ms, 8x %.1f ms\n"
           "  failed gets: %llu of %llu (each must give 0 and its key's %d B value)%s%s\n",
           bench_median(clk, rounds), bench_median(ms[0], rounds),
           bench_median(ms[1], rounds), bench_median(ms[2], rounds),
           (unsigned long long)failed, (unsigned long long)gets, VAL_LEN,
           failed ? "; first: " : "", failed ? smem_err_name(first_rc) : "");
    fflush(stdout);
    bench_shared_free(b, sizeof *b);
    free(seq);
    return failed != 0;
}

/* ------------------------------------------------------------------------ */
/* Part grow: SMEM_GROW against a map made large enough                     */

/* One run: T[0] ms of the sets into the growing map, T[1] into the fixed
 * one, T[2] and T[3] their opens; the growing one ends at *GREW entries. */
static void grow_run(int run, double *t, size_t *grew)
{
    for (int s = 0; s < 2; s++) {
        int grow = (s + run) % 2 == 0; /* each first in every other run */
        char name[96];
        map_name(name, sizeof name, grow ? "grow" : "fixed", run);
        int64_t t0 = bench_now_ns();
        smem_map *m = new_map(name, grow ? 16 : BIG, grow ? SMEM_GROW : 0);
        int64_t t1 = bench_now_ns();
        t[grow ? 0 : 1] = fill(m, BIG) * BIG / 1e6;
        t[grow ? 2 : 3] = (double)(t1 - t0) / 1e6;
        if (grow)
            *grew = smem_map_max_entries(m);
        check_map(m, BIG, grow ? *grew : BIG);
        drop_map(m, name);
    }
}

static void grow_figures(int runs)
{
    double *t = malloc(sizeof(double) * (size_t)runs * 6);
    if (!t)
        bench_die("bench-map resize: malloc", SMEM_ENOMEM);
    double *g = t, *f = t + runs, *go = t + 2 * runs, *fo = t + 3 * runs, *ratio = t + 4 * runs,
           *ratio_open = t + 5 * runs;
    size_t grew = 0;
    for (int r = 0; r < runs; r++) {
        double one[4];
        grow_run(r, one, &grew);
        g[r] = one[0];
        f[r] = one[1];
        go[r] = one[2];
        fo[r] = one[3];
        ratio[r] = one[0] / one[1];
        ratio_open[r] = (one[0] + one[2]) / (one[1] + one[3]);
    }
    int doublings = 0;
    for (size_t e = 16; e < grew; e *= 2)
        doublings++;
    double gm = bench_median(g, runs), fm = bench_median(f, runs);
    printf("\nSMEM_GROW: %d new keys set (%d B keys, %d B values) into a map created with\n"
           "16 entries and SMEM_GROW, and into one created with %d entries, in turn;\n"
           "median of %d runs, each on fresh maps:\n"
           "  SMEM_GROW, from 16:   %7.1f ms  %6.1f ns per key   (open %.2f ms; grew to %zu\n"
           "                        entries in %d doublings)\n"
           "  %d entries:      %7.1f ms  %6.1f ns per key   (open %.2f ms)\n"
           "  grow / fixed: %.2fx   (open + sets: %.2fx)\n",
           BIG, KEY_LEN, VAL_LEN, BIG, runs, gm, gm * 1e6 / BIG, bench_median(go, runs), grew,
           doublings, BIG, fm, fm * 1e6 / BIG, bench_median(fo, runs),
           bench_median(ratio, runs), bench_median(ratio_open, runs));
    fflush(stdout);
    free(t);
}

/* ------------------------------------------------------------------------ */

int resize_figures(int runs)
{
    char name[96];
    map_name(name, sizeof name, "probe", 0);
    smem_map *m = new_map(name, 16, 0);
    int rc = smem_map_resize(m, 32, MAX_VALUE);
    drop_map(m, name);
    if (rc == SMEM_ENOTSUP) {
        printf("\nresize: smem_map_resize gives SMEM_ENOTSUP on this platform; section skipped\n");
        return 0;
    }
    if (rc < 0)
        bench_die("bench-map resize: smem_map_resize", rc);
    keys = malloc(sizeof(key_t16) * BIG);
    if (!keys)
        bench_die("bench-map resize: malloc", SMEM_ENOMEM);
    for (int i = 0; i < BIG; i++)
        make_key(keys[i], (uint64_t)i);
    int64_t t0 = bench_now_ns();
    move_figures(runs);
    int64_t t1 = bench_now_ns();
    int bad = reader_figures(runs);
    int64_t t2 = bench_now_ns();
    grow_figures(runs);
    int64_t t3 = bench_now_ns();
    printf("\n  (took %.1f s, %.1f s and %.1f s)\n", (double)(t1 - t0) / 1e9,
           (double)(t2 - t1) / 1e9, (double)(t3 - t2) / 1e9);
    free(keys);
    return bad;
}
