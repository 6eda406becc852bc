/* Many open/close cycles (attach, create, persistent create + remove, and
 * failing opens) leak no descriptor, no mapping and no /dev/shm object
 * (on Windows: no handle, no view and no named object). */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE 4096

struct counts {
    int fds, maps, shm_maps, objects;
};

static char prefix[64];

static void measure(struct counts *c)
{
    c->fds = th_count_fds();
    c->maps = th_count_maps();
    c->shm_maps = th_count_shm_maps();
    c->objects = th_shm_count(prefix);
}

static void compare(const struct counts *b, const char *what)
{
    struct counts a;
    measure(&a);
    CHECKF(a.fds == b->fds, "%s: %d descriptors before, %d after", what, b->fds, a.fds);
    CHECKF(a.shm_maps == b->shm_maps, "%s: %d mappings of /dev/shm before, %d after", what,
           b->shm_maps, a.shm_maps);
    CHECKF(a.maps <= b->maps + 8, "%s: %d mappings before, %d after", what, b->maps, a.maps);
    CHECKF(a.objects == b->objects, "%s: %d objects in /dev/shm before, %d after", what,
           b->objects, a.objects);
}

static int fail_init(void *data, size_t size, void *arg)
{
    (void)data;
    (void)size;
    (void)arg;
    return 1;
}

static int n_cycles(int dflt)
{
    const char *s = getenv("SMEM_TEST_CYCLES");
    return s ? atoi(s) : dflt;
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    snprintf(prefix, sizeof prefix, "smem.tleak-%d-", (int)getpid());
    char held[SMEM_NAME_MAX + 1], name[SMEM_NAME_MAX + 1], junk[SMEM_NAME_MAX + 1];
    char missing[SMEM_NAME_MAX + 1];
    th_name(held, "leak");
    th_name(name, "leak");
    th_name(junk, "leak");
    th_name(missing, "leak");
    /* Under Wine every open and close is some twenty round trips to the
     * wineserver, and a cycle takes 1-5 ms on this machine: 20,000 cycles
     * still turn a leak of one handle per cycle into 20,000. */
    const int cycles = n_cycles(TH_WINDOWS ? 20000 : 100000);
    struct counts base;
    smem_region *h = NULL, *r = NULL;

    /* Warm up whatever the library sets up lazily. */
    CHECK_OK(smem_region_open(name, SIZE, NULL, &r));
    smem_region_close(r);
    CHECK(!th_shm_exists(name));

    /* 1. Attach and close, while we hold the region. */
    CHECK_OK(smem_region_open(held, SIZE, NULL, &h));
    th_pattern(smem_region_data(h), SIZE, 1);
    measure(&base);
    int64_t t0 = th_now_ms();
    for (int i = 0; i < cycles; i++) {
        int rc = smem_region_open(held, (i & 1) ? SIZE : 0, NULL, &r);
        CHECKF(rc == 0, "attach %d: %s", i, smem_strerror(rc));
        CHECKF(smem_region_created(r) == 0, "attach %d created the region", i);
        smem_region_close(r);
    }
    compare(&base, "attach/close cycles");
    CHECK(th_shm_exists(held));
    CHECK(th_pattern_ok(smem_region_data(h), SIZE, 1));
    th_log("%d attach/close cycles: %lld ms", cycles, (long long)(th_now_ms() - t0));

    /* 2. Create and close (the last close removes). */
    t0 = th_now_ms();
    for (int i = 0; i < cycles; i++) {
        int rc = smem_region_open(name, SIZE, NULL, &r);
        CHECKF(rc == 0, "create %d: %s", i, smem_strerror(rc));
        CHECKF(smem_region_created(r) == 1, "create %d attached to a leftover region", i);
        smem_region_close(r);
        CHECKF(!th_shm_exists(name), "create %d: region left after close", i);
    }
    compare(&base, "create/close cycles");
    th_log("%d create/close cycles: %lld ms", cycles, (long long)(th_now_ms() - t0));

    /* 3. Persistent create, close, remove.  (Windows: the close removes
     * it, so remove while we still hold it, which it refuses.) */
    t0 = th_now_ms();
    const smem_opts persist = {SMEM_PERSIST, 0, 0, NULL, NULL};
    for (int i = 0; i < cycles / 5; i++) {
        int rc = smem_region_open(name, SIZE, &persist, &r);
        CHECKF(rc == 0, "persistent create %d: %s", i, smem_strerror(rc));
        CHECK(smem_region_created(r) == 1);
        if (TH_WINDOWS)
            CHECK_ERR(smem_region_remove(name), SMEM_EBUSY);
        smem_region_close(r);
        if (!TH_WINDOWS) {
            rc = smem_region_remove(name);
            CHECKF(rc == 0, "remove %d: %s", i, smem_strerror(rc));
        }
    }
    compare(&base, "persistent create/remove cycles");
    th_log("%d persistent create/close/remove cycles: %lld ms", cycles / 5,
           (long long)(th_now_ms() - t0));

    /* 4. Failing opens. */
    {
        char obj[SMEM_NAME_MAX + 8];
        unsigned char buf[SIZE + 128];
        snprintf(obj, sizeof obj, "smem.%s", junk);
        th_pattern(buf, sizeof buf, 2);
        th_obj_plant(obj, buf, sizeof buf);
    }
    measure(&base);
    t0 = th_now_ms();
    const smem_opts nc = {SMEM_NOCREATE, 0, 0, NULL, NULL};
    const smem_opts ro = {SMEM_RDONLY, 0, 0, NULL, NULL};
    const smem_opts excl = {SMEM_EXCL, 0, 0, NULL, NULL};
    const smem_opts bad_init = {0, 0, 0, fail_init, NULL};
    for (int i = 0; i < cycles / 10; i++) {
        CHECK_ERR(smem_region_open(missing, 0, &nc, &r), SMEM_ENOENT);
        CHECK_ERR(smem_region_open(missing, 0, &ro, &r), SMEM_ENOENT);
        CHECK_ERR(smem_region_open(held, SIZE * 2, NULL, &r), SMEM_EMISMATCH);
        CHECK_ERR(smem_region_open(held, SIZE, &excl, &r), SMEM_EEXIST);
        CHECK_ERR(smem_region_open(junk, 0, NULL, &r), SMEM_EBADREGION);
        CHECK_ERR(smem_region_open(missing, SIZE, &bad_init, &r), SMEM_ECANCELED);
        CHECK_ERR(smem_region_open("-bad", SIZE, NULL, &r), SMEM_EINVAL);
        CHECK_ERR(smem_region_remove(missing), SMEM_ENOENT);
    }
    compare(&base, "failing opens");
    CHECK(!th_shm_exists(missing));
    th_log("%d x 8 failing calls: %lld ms", cycles / 10, (long long)(th_now_ms() - t0));

    /* 5. Read-only attaches. */
    measure(&base);
    for (int i = 0; i < cycles / 10; i++) {
        CHECK_OK(smem_region_open(held, 0, &ro, &r));
        CHECK(th_pattern_ok(smem_region_data(r), 64, 1));
        smem_region_close(r);
    }
    compare(&base, "read-only attach cycles");

    th_shm_unlink(junk);
    smem_region_close(h);
    CHECK(!th_shm_exists(held));
    CHECKF(th_shm_count(prefix) == 0, "objects left in /dev/shm");
    return 0;
}
