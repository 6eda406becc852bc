/* smem_region_open is thread-safe: threads of one process racing to open a
 * new name create it exactly once, and attach/close from many threads
 * works. */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define THREADS 4
#define ROUNDS 200
#define ATTACHES 5000
#define SIZE 4096

static pthread_barrier_t barrier;
static char names[ROUNDS][SMEM_NAME_MAX + 1];
static char held[SMEM_NAME_MAX + 1];
static atomic_int creators[ROUNDS];
static atomic_int init_runs[ROUNDS];
static atomic_int errors;

static int init_fn(void *data, size_t size, void *arg)
{
    atomic_fetch_add(&init_runs[(int)(intptr_t)arg], 1);
    th_pattern(data, size, 5);
    return 0;
}

static void err(const char *what, int rc)
{
    fprintf(stderr, "%s: %d (%s)\n", what, rc, smem_strerror(rc));
    atomic_fetch_add(&errors, 1);
}

static void *thread_main(void *arg)
{
    (void)arg;
    /* A loaded machine can keep a thread from the gate for seconds (under
     * Wine every gate goes through the one wineserver): this is about
     * thread safety, not speed. */
    const smem_opts patient = {0, 0, 60000, NULL, NULL};
    for (int i = 0; i < ATTACHES; i++) {
        smem_region *r = NULL;
        int rc = smem_region_open(held, 0, &patient, &r);
        if (rc != 0) {
            err("attach", rc);
            break;
        }
        if (smem_region_created(r) || !th_pattern_ok(smem_region_data(r), 64, 1))
            err("attach gave a new region", 0);
        smem_region_close(r);
    }
    for (int round = 0; round < ROUNDS; round++) {
        pthread_barrier_wait(&barrier);
        smem_opts o = {0, 0, 10000, init_fn, (void *)(intptr_t)round};
        smem_region *r = NULL;
        int rc = smem_region_open(names[round], SIZE, &o, &r);
        if (rc != 0) {
            err("racing open", rc);
        } else {
            if (smem_region_created(r))
                atomic_fetch_add(&creators[round], 1);
            if (!th_pattern_ok(smem_region_data(r), SIZE, 5))
                err("open returned before init was done", 0);
        }
        pthread_barrier_wait(&barrier);
        smem_region_close(r);
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    th_name(held, "thr");
    for (int i = 0; i < ROUNDS; i++)
        th_name(names[i], "thr");
    smem_region *h = NULL;
    CHECK_OK(smem_region_open(held, SIZE, NULL, &h));
    th_pattern(smem_region_data(h), SIZE, 1);

    CHECK(pthread_barrier_init(&barrier, NULL, THREADS + 1) == 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, thread_main, NULL) == 0);
    for (int round = 0; round < ROUNDS; round++) {
        pthread_barrier_wait(&barrier); /* go */
        pthread_barrier_wait(&barrier); /* all opened */
        CHECKF(atomic_load(&creators[round]) == 1, "round %d: %d creators", round,
               atomic_load(&creators[round]));
        CHECKF(atomic_load(&init_runs[round]) == 1, "round %d: init ran %d times", round,
               atomic_load(&init_runs[round]));
        pthread_barrier_wait(&barrier); /* all closed */
        CHECKF(!th_shm_exists(names[round]), "round %d: region left after every close", round);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ_INT(atomic_load(&errors), 0);
    CHECK(th_pattern_ok(smem_region_data(h), SIZE, 1));
    smem_region_close(h);
    CHECK(!th_shm_exists(held));
    return 0;
}
