/* Among 8 processes opening a new name at the same moment, exactly one is
 * the creator, its init runs once, and every other opener sees the
 * initialised bytes as soon as its open returns.  200 rounds. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HELPERS 8
#define ROUNDS 200
#define SIZE 8192

static int init_calls;

static int init_fn(void *data, size_t size, void *arg)
{
    (void)arg;
    init_calls++;
    if (size != SIZE || !th_all_zero(data, size))
        return 1;
    th_pattern(data, size, 7);
    return 0;
}

/* racer: for each "round NAME GATE" line: say "ready", wait at GATE (the
 * parent opens it: every racer is released at once), open NAME and report
 * "c<created> i<init calls>", or "e<code>", or "bad" if the data is not
 * initialised; then on "close" close it and say "closed". */
static int helper_racer(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char line[256], name[SMEM_NAME_MAX + 1], gate[64];
    while (th_listen(line, sizeof line) == 0) {
        CHECKF(sscanf(line, "round %64s %63s", name, gate) == 2, "bad command %s", line);
        th_say("ready");
        th_gate_wait(gate);

        init_calls = 0;
        smem_opts o = {0, 0, 10000, init_fn, NULL};
        smem_region *r = NULL;
        int rc = smem_region_open(name, SIZE, &o, &r);
        if (rc != 0) {
            th_say("e%d", rc);
        } else if (!th_pattern_ok(smem_region_data(r), SIZE, 7)) {
            th_say("bad");
        } else {
            th_say("c%d i%d", smem_region_created(r), init_calls);
        }
        CHECK(th_listen(line, sizeof line) == 0);
        CHECK_EQ_STR(line, "close");
        smem_region_close(r);
        th_say("closed");
    }
    return 0;
}

static const th_helper helpers[] = {{"racer", helper_racer}, {NULL, NULL}};

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, helpers);

    /* One starting gate per round, made before the helpers start. */
    static th_gate go[ROUNDS];
    for (int i = 0; i < ROUNDS; i++)
        th_gate_make(&go[i]);
    th_proc h[HELPERS];
    for (int i = 0; i < HELPERS; i++)
        th_spawn(&h[i], -1, "racer", NULL);

    int64_t t0 = th_now_ms();
    for (int round = 0; round < ROUNDS; round++) {
        char name[SMEM_NAME_MAX + 1], line[128];
        th_name(name, "once");
        for (int i = 0; i < HELPERS; i++)
            th_send(&h[i], "round %s %s", name, go[round].id);
        for (int i = 0; i < HELPERS; i++)
            th_expect(&h[i], "ready", 10000);
        th_gate_open(&go[round]); /* go! */

        int creators = 0;
        for (int i = 0; i < HELPERS; i++) {
            th_recv(&h[i], line, sizeof line, 15000);
            if (strcmp(line, "c1 i1") == 0)
                creators++;
            else if (strcmp(line, "c0 i0") != 0) {
                int code = 0;
                if (line[0] == 'e')
                    code = atoi(line + 1);
                FAIL("round %d, helper %d: \"%s\" %s", round, i, line,
                     code ? smem_strerror(code) : "");
            }
        }
        CHECKF(creators == 1, "round %d: %d creators among %d openers", round, creators, HELPERS);
        CHECK(th_shm_exists(name));
        for (int i = 0; i < HELPERS; i++)
            th_send(&h[i], "close");
        for (int i = 0; i < HELPERS; i++)
            th_expect(&h[i], "closed", 10000);
        CHECKF(!th_shm_exists(name), "round %d: region left after every opener closed", round);
        th_shm_unlink(name);
    }
    for (int i = 0; i < HELPERS; i++)
        th_wait_ok(&h[i], 10000);
    th_log("%d rounds of %d openers in %lld ms", ROUNDS, HELPERS, (long long)(th_now_ms() - t0));
    return 0;
}
