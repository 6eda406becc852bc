/*
 * The POSIX OS layer's clocks and waiting: the monotonic and wall clocks,
 * futex wait and wake on words of shared memory, and (for crash-point
 * builds) dying at once.  The bottom of the layer: it calls nothing of the
 * other os-posix files, which all may call it.
 */
#include "os.h"

#include "sharedmem.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int64_t smem__os_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t smem__os_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

#ifdef SMEM_CRASH_POINTS
void smem__os_die(void)
{
    raise(SIGKILL);
}
#endif

/* Futexes: FUTEX_WAIT/FUTEX_WAKE without FUTEX_PRIVATE_FLAG, so that the
 * kernel keys them by the shared page and they work across processes. */
int smem__os_wait(smem__os_obj *o, const uint32_t *addr, uint32_t expected, int64_t timeout_ns)
{
    (void)o;
    if (timeout_ns <= 0)
        return SMEM_ETIMEDOUT;
    struct timespec ts = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
    long r = syscall(SYS_futex, addr, FUTEX_WAIT, expected, &ts, NULL, 0);
    return r < 0 && errno == ETIMEDOUT ? SMEM_ETIMEDOUT : 0;
}

void smem__os_wake_all(smem__os_obj *o, uint32_t *addr)
{
    (void)o;
    syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
