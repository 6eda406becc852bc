/*
 * What bench-map's files share: the keys and values every section uses,
 * and the sections that live in files of their own.
 */
#ifndef SMEM_BENCH_MAP_H
#define SMEM_BENCH_MAP_H

#include <stdint.h>

#define MAX_VALUE 64
#define KEY_LEN 16
#define VAL_LEN 64

/* Key I: 16 hex digits. */
typedef char key_t16[KEY_LEN + 1];

/* The bench's random numbers: the same sequence in every run. */
uint64_t rng(void);

/* The key of number I (distinct I give distinct keys). */
void make_key(key_t16 k, uint64_t i);

/* SEQ[0..n) = keys[first..first+count) in random order, reshuffled for
 * every pass over them. */
void fill_order(const char **seq, int n, key_t16 *keys, int first, int count);

/* bench-map resize (bench-map-resize.c): the cost of smem_map_resize per
 * entry moved, the latency of a reader's gets while the map is resized,
 * and SMEM_GROW against a map made large enough; RUNS runs.  0 on
 * success, 1 if a get went wrong. */
int resize_figures(int runs);

#endif
