/*
 * sleep: nanosleep(2) and clock_nanosleep(2). A sleep lasts at least the
 * time asked for, measured on CLOCK_MONOTONIC; a deadline in the past
 * returns at once; bad timespecs, flags and clocks fail with EINVAL and
 * bad pointers with EFAULT. Upper bounds are not checked: a loaded host
 * may oversleep by any amount.
 */
#include "check.h"

#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#define NSEC 1000000000LL
#define MSEC 1000000LL

static long long now(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * NSEC + t.tv_nsec;
}

static struct timespec span(long long ns)
{
    struct timespec t = {ns / NSEC, ns % NSEC};
    return t;
}

static void relative(void)
{
    SECTION("nanosleep");
    struct timespec request = span(20 * MSEC);
    struct timespec remaining = {-1, -1};
    long long before = now(CLOCK_MONOTONIC);
    CHECK_RET("nanosleep for 20 ms", nanosleep(&request, &remaining), 0);
    long long slept = now(CLOCK_MONOTONIC) - before;
    CHECK("it slept at least 20 ms", slept >= 20 * MSEC);
    request = span(0);
    CHECK_RET("nanosleep for 0", nanosleep(&request, NULL), 0);
    request = span(1);
    CHECK_RET("nanosleep for 1 ns", nanosleep(&request, NULL), 0);
    request = span(1500 * 1000);
    before = now(CLOCK_MONOTONIC);
    CHECK_RET("nanosleep for 1.5 ms", nanosleep(&request, NULL), 0);
    CHECK("it slept at least 1.5 ms",
          now(CLOCK_MONOTONIC) - before >= 1500 * 1000);
    request.tv_sec = 1;
    request.tv_nsec = -995 * MSEC; /* invalid, not "5 ms" */
    CHECK_ERR("nanosleep with a negative tv_nsec",
              syscall(SYS_nanosleep, &request, NULL), EINVAL);
    request.tv_sec = 0;
    request.tv_nsec = NSEC;
    CHECK_ERR("nanosleep with tv_nsec of a whole second",
              syscall(SYS_nanosleep, &request, NULL), EINVAL);
    request.tv_sec = -1;
    request.tv_nsec = 0;
    CHECK_ERR("nanosleep with a negative tv_sec",
              syscall(SYS_nanosleep, &request, NULL), EINVAL);
    CHECK_ERR("nanosleep from a bad pointer",
              syscall(SYS_nanosleep, BAD_POINTER, NULL), EFAULT);
    CHECK_ERR("nanosleep from NULL", syscall(SYS_nanosleep, NULL, NULL),
              EFAULT);
}

static void on_clocks(void)
{
    SECTION("clock_nanosleep");
    /* clock_nanosleep returns the error number; it does not set errno. */
    struct timespec request = span(10 * MSEC);
    long long before = now(CLOCK_MONOTONIC);
    CHECK_RET("relative 10 ms on CLOCK_MONOTONIC",
              clock_nanosleep(CLOCK_MONOTONIC, 0, &request, NULL), 0);
    CHECK("it slept at least 10 ms",
          now(CLOCK_MONOTONIC) - before >= 10 * MSEC);
    before = now(CLOCK_MONOTONIC);
    CHECK_RET("relative 10 ms on CLOCK_REALTIME",
              clock_nanosleep(CLOCK_REALTIME, 0, &request, NULL), 0);
    CHECK("that slept at least 10 ms too",
          now(CLOCK_MONOTONIC) - before >= 10 * MSEC);
    before = now(CLOCK_MONOTONIC);
    CHECK_RET("relative 10 ms on CLOCK_BOOTTIME",
              clock_nanosleep(CLOCK_BOOTTIME, 0, &request, NULL), 0);
    CHECK("and on CLOCK_BOOTTIME",
          now(CLOCK_MONOTONIC) - before >= 10 * MSEC);

    long long deadline = now(CLOCK_MONOTONIC) + 15 * MSEC;
    request = span(deadline);
    CHECK_RET("absolute deadline 15 ms ahead on CLOCK_MONOTONIC",
              clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &request, NULL),
              0);
    CHECK("it woke at or after the deadline",
          now(CLOCK_MONOTONIC) >= deadline);
    deadline = now(CLOCK_REALTIME) + 15 * MSEC;
    request = span(deadline);
    CHECK_RET("absolute deadline 15 ms ahead on CLOCK_REALTIME",
              clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &request, NULL),
              0);
    CHECK("it woke at or after the realtime deadline",
          now(CLOCK_REALTIME) >= deadline);
    /* Half of now: in the past, yet a valid (non-negative) timespec even
     * just after boot. */
    request = span(now(CLOCK_MONOTONIC) / 2);
    before = now(CLOCK_MONOTONIC);
    CHECK_RET("a deadline in the past returns at once",
              clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &request, NULL),
              0);
    CHECK("without sleeping a second",
          now(CLOCK_MONOTONIC) - before < 1000 * MSEC);
    request = span(now(CLOCK_REALTIME) - 3600 * NSEC);
    CHECK_RET("a realtime deadline an hour ago returns at once",
              clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &request, NULL),
              0);
    request = span(0);
    CHECK_RET("an absolute deadline of 0",
              clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &request, NULL),
              0);

    SECTION("clock_nanosleep errors");
    request = span(MSEC);
    /* Linux refuses the thread's own CPU clock with EOPNOTSUPP. */
    CHECK_ERR("on CLOCK_THREAD_CPUTIME_ID",
              syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0,
                      &request, NULL), EOPNOTSUPP);
    CHECK_ERR("on clock 100",
              syscall(SYS_clock_nanosleep, 100, 0, &request, NULL), EINVAL);
    /* Linux looks at TIMER_ABSTIME alone and ignores other flag bits. */
    CHECK_RET("with an unknown flag, which is ignored",
              syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 2, &request,
                      NULL), 0);
    request.tv_nsec = NSEC;
    CHECK_ERR("with tv_nsec of a whole second",
              syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &request,
                      NULL), EINVAL);
    request.tv_nsec = -1;
    CHECK_ERR("with a negative tv_nsec",
              syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME,
                      &request, NULL), EINVAL);
    CHECK_ERR("from a bad pointer",
              syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, BAD_POINTER,
                      NULL), EFAULT);
    request = span(MSEC);
    CHECK_RET("the C library returns the error number",
              clock_nanosleep(100, 0, &request, NULL), EINVAL);
}

int main(void)
{
    relative();
    on_clocks();
    return check_finish();
}
