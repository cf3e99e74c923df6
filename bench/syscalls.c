/*
 * syscalls: the cost of entering the kernel and coming back.
 *
 *   syscall.getpid       getpid(2), the nearest Linux has to a null call;
 *                        made through syscall(2) so no C library can
 *                        answer it from a cache;
 *   syscall.write_null   write(2) of 64 bytes to /dev/null: a descriptor
 *                        lookup and a device's write on top of that;
 *   clock.vdso           clock_gettime(CLOCK_MONOTONIC) through the C
 *                        library, which the vDSO answers in user mode;
 *   clock.syscall        the same clock through syscall(2), entering the
 *                        kernel every time.
 *
 * Usage: syscalls [CALLS_PER_ROUND]   (default 20000)
 */
#include "bench.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <time.h>

static long calls;
static int null_fd;

static void getpid_round(void *unused)
{
    (void)unused;
    for (long i = 0; i < calls; i++)
        if (syscall(SYS_getpid) <= 0)
            bench_fail("getpid");
}

static void write_null_round(void *unused)
{
    (void)unused;
    static const char bytes[64] = "sixty-four bytes for /dev/null";
    for (long i = 0; i < calls; i++)
        if (write(null_fd, bytes, sizeof bytes) != sizeof bytes)
            bench_fail("write /dev/null");
}

static void clock_vdso_round(void *unused)
{
    (void)unused;
    struct timespec t;
    for (long i = 0; i < calls; i++)
        if (clock_gettime(CLOCK_MONOTONIC, &t) != 0)
            bench_fail("clock_gettime");
}

static void clock_syscall_round(void *unused)
{
    (void)unused;
    struct timespec t;
    for (long i = 0; i < calls; i++)
        if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t) != 0)
            bench_fail("clock_gettime syscall");
}

int main(int argc, char **argv)
{
    calls = bench_count(argc, argv, 1, 20000);
    BENCH_CHECK(null_fd = open("/dev/null", O_WRONLY));

    bench_measure("syscall.getpid", calls, 0, NULL, getpid_round, NULL);
    bench_measure("syscall.write_null", calls, 0, NULL, write_null_round,
                  NULL);
    bench_measure("clock.vdso", calls, 0, NULL, clock_vdso_round, NULL);
    bench_measure("clock.syscall", calls, 0, NULL, clock_syscall_round,
                  NULL);
    return 0;
}
