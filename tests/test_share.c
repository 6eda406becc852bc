/* Two unrelated processes (the helper is exec'd) share the same bytes. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE (3 * 4096 + 100)
#define ANSWER_OFF 5000

/* reader NAME: attach, check the parent's pattern, write an answer, then
 * follow live changes on request. */
static int helper_reader(int argc, char **argv)
{
    CHECK(argc == 1);
    smem_region *r = NULL;
    CHECK_OK(smem_region_open(argv[0], 0, NULL, &r));
    CHECK_EQ_INT(smem_region_created(r), 0);
    CHECK_EQ_SIZE(smem_region_size(r), SIZE);
    CHECK_EQ_STR(smem_region_name(r), argv[0]);
    unsigned char *d = smem_region_data(r);
    CHECKF(th_pattern_ok(d, SIZE, 1), "helper does not see the parent's pattern");

    char answer[64];
    snprintf(answer, sizeof answer, "answer from pid %d", (int)getpid());
    memcpy(d + ANSWER_OFF, answer, strlen(answer) + 1);
    th_say("%s", answer);

    /* The mapping is shared, not a copy: changes made after we attached
     * are seen. */
    char line[64];
    while (th_listen(line, sizeof line) == 0) {
        unsigned seed = (unsigned)atoi(line);
        CHECKF(th_pattern_ok(d, 4096, seed), "helper does not see the parent's new bytes %u", seed);
        th_pattern(d + 4096, 4096, seed + 1000);
        th_say("ok");
    }
    smem_region_close(r);
    return 0;
}

/* creator NAME: create, write a pattern, report, wait for EOF. */
static int helper_creator(int argc, char **argv)
{
    CHECK(argc == 1);
    smem_region *r = NULL;
    CHECK_OK(smem_region_open(argv[0], SIZE, NULL, &r));
    CHECK_EQ_INT(smem_region_created(r), 1);
    th_pattern(smem_region_data(r), SIZE, 42);
    th_say("ready");
    char line[64];
    while (th_listen(line, sizeof line) == 0) {
    }
    CHECKF(th_pattern_ok(smem_region_data(r), 16, 43), "creator does not see the parent's write");
    smem_region_close(r);
    return 0;
}

static const th_helper helpers[] = {
    {"reader", helper_reader},
    {"creator", helper_creator},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);
    char name[SMEM_NAME_MAX + 1];
    th_name(name, "share");

    /* Parent creates and writes; the helper reads and answers. */
    smem_region *r = NULL;
    CHECK_OK(smem_region_open(name, SIZE, NULL, &r));
    CHECK_EQ_INT(smem_region_created(r), 1);
    unsigned char *d = smem_region_data(r);
    CHECK(th_all_zero(d, SIZE));
    th_pattern(d, SIZE, 1);

    th_proc h;
    th_spawn(&h, -1, "reader", name, NULL);
    char line[128], expect[64];
    th_recv(&h, line, sizeof line, 10000);
    snprintf(expect, sizeof expect, "answer from pid %d", (int)h.pid);
    CHECK_EQ_STR(line, expect);
    CHECK_EQ_STR((const char *)d + ANSWER_OFF, expect);

    for (unsigned seed = 2; seed < 50; seed++) {
        th_pattern(d, 4096, seed);
        th_send(&h, "%u", seed);
        th_expect(&h, "ok", 10000);
        CHECKF(th_pattern_ok(d + 4096, 4096, seed + 1000), "parent does not see the helper's bytes");
    }
    th_wait_ok(&h, 10000);
    /* The helper closed; we still hold the region. */
    CHECK(th_shm_exists(name));
    CHECK(th_pattern_ok(d + 4096, 4096, 49 + 1000));
    smem_region_close(r);
    CHECK(!th_shm_exists(name));

    /* The other way round: the helper creates, we attach. */
    th_spawn(&h, -1, "creator", name, NULL);
    th_expect(&h, "ready", 10000);
    CHECK_OK(smem_region_open(name, SIZE, NULL, &r));
    CHECK_EQ_INT(smem_region_created(r), 0);
    CHECK(th_pattern_ok(smem_region_data(r), SIZE, 42));
    th_pattern(smem_region_data(r), 16, 43);
    th_wait_ok(&h, 10000);
    CHECK(th_shm_exists(name));
    {
        /* the rest of the helper's pattern is still there */
        static unsigned char want[SIZE];
        th_pattern(want, SIZE, 42);
        CHECK(memcmp((unsigned char *)smem_region_data(r) + 16, want + 16, SIZE - 16) == 0);
    }
    smem_region_close(r);
    CHECK(!th_shm_exists(name));
    return 0;
}
