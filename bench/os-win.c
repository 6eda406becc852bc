/*
 * The benchmarks' OS part on Windows (see bench.h).
 */
#include "bench.h"

#include <windows.h>

#include <stdio.h>
#include <stdlib.h>

int64_t bench_now_ns(void)
{
    LARGE_INTEGER f, t;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t);
    return (int64_t)((double)t.QuadPart * 1e9 / (double)f.QuadPart);
}

long bench_pid(void)
{
    return (long)GetCurrentProcessId();
}

const char bench_raw_attach_label[] = "raw OpenFileMapping+MapView+Unmap+Close";

/* The library's section for NAME is Local\smem.NAME (src/os-win.c). */
double bench_raw_attach(const char *name, int iters)
{
    WCHAR wname[128];
    swprintf(wname, 128, L"Local\\smem.%hs", name);
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < iters; i++) {
        HANDLE h = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, wname);
        void *p = h ? MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0) : NULL;
        if (!p) {
            fprintf(stderr, "bench-region: OpenFileMapping/MapViewOfFile: error %lu\n",
                    GetLastError());
            exit(1);
        }
        UnmapViewOfFile(p);
        CloseHandle(h);
    }
    return (double)(bench_now_ns() - t0) / iters;
}

void bench_wake_latency(smem_value *v, const char *name, int samples)
{
    (void)v;
    (void)name;
    (void)samples;
    printf("\nwake-up latency across processes: not measured on Windows yet (the\n"
           "bench's waiter is a forked child; see bench/os-posix.c)\n");
}

/* bench-map's Redis comparison runs on Linux only. */
int bench_redis_start(int *port)
{
    (void)port;
    return SMEM_ENOTSUP;
}

void bench_redis_stop(void)
{
}

/* bench-map's resize section forks its reader, and smem_map_resize is not
 * built on Windows yet: private memory will do, and no child starts. */
void *bench_shared_alloc(size_t size)
{
    return calloc(1, size);
}

void bench_shared_free(void *p, size_t size)
{
    (void)size;
    free(p);
}

long bench_child_start(int (*fn)(void *arg), void *arg)
{
    (void)fn;
    (void)arg;
    return SMEM_ENOTSUP;
}

int bench_child_wait(long child)
{
    (void)child;
    return -1;
}
