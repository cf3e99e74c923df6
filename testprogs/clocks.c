/*
 * clocks: reading time. clock_gettime(2) on every clock Linux has,
 * clock_getres(2), gettimeofday(2) and time(2): monotonic clocks never
 * go back, the realtime clock is a plausible date (after 2024), the
 * clocks agree with each other, and bad clock ids and bad pointers fail.
 *
 * The error cases use raw system calls: on the host the C library
 * answers clock_gettime from the vDSO, which would fault on a bad
 * pointer instead of returning EFAULT.
 */
#include "check.h"

#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#define NSEC 1000000000LL
/* 2024-01-01T00:00:00Z and 2100-01-01T00:00:00Z. */
#define YEAR_2024 1704067200LL
#define YEAR_2100 4102444800LL

static long long nanoseconds(clockid_t clock)
{
    struct timespec t;
    if (clock_gettime(clock, &t) != 0)
        return -1;
    return t.tv_sec * NSEC + t.tv_nsec;
}

static int valid(const struct timespec *t)
{
    return t->tv_sec >= 0 && t->tv_nsec >= 0 && t->tv_nsec < NSEC;
}

static void every_clock(void)
{
    SECTION("every clock reads");
    static const struct {
        clockid_t id;
        const char *name;
    } clocks[] = {
        {CLOCK_REALTIME, "CLOCK_REALTIME"},
        {CLOCK_MONOTONIC, "CLOCK_MONOTONIC"},
        {CLOCK_PROCESS_CPUTIME_ID, "CLOCK_PROCESS_CPUTIME_ID"},
        {CLOCK_THREAD_CPUTIME_ID, "CLOCK_THREAD_CPUTIME_ID"},
        {CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW"},
        {CLOCK_REALTIME_COARSE, "CLOCK_REALTIME_COARSE"},
        {CLOCK_MONOTONIC_COARSE, "CLOCK_MONOTONIC_COARSE"},
        {CLOCK_BOOTTIME, "CLOCK_BOOTTIME"},
        {CLOCK_TAI, "CLOCK_TAI"},
    };
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        struct timespec t = {-1, -1};
        char what[96];
        snprintf(what, sizeof what, "raw clock_gettime(%s)", clocks[i].name);
        CHECK_RET(what, syscall(SYS_clock_gettime, clocks[i].id, &t), 0);
        snprintf(what, sizeof what, "%s gives a valid timespec",
                 clocks[i].name);
        CHECK(what, valid(&t));
        snprintf(what, sizeof what, "clock_getres(%s)", clocks[i].name);
        struct timespec r = {-1, -1};
        CHECK_RET(what, clock_getres(clocks[i].id, &r), 0);
        snprintf(what, sizeof what, "%s resolution is at most 10 ms",
                 clocks[i].name);
        CHECK(what, r.tv_sec == 0 && r.tv_nsec > 0 && r.tv_nsec <= 10000000);
    }
}

static void relations(void)
{
    SECTION("monotonic clocks");
    long long previous = nanoseconds(CLOCK_MONOTONIC);
    int backwards = 0;
    for (int i = 0; i < 2000; i++) {
        long long now = nanoseconds(CLOCK_MONOTONIC);
        if (now < previous)
            backwards++;
        previous = now;
    }
    CHECK_EQ("CLOCK_MONOTONIC never goes back in 2000 reads", backwards, 0);
    previous = nanoseconds(CLOCK_MONOTONIC_RAW);
    backwards = 0;
    for (int i = 0; i < 2000; i++) {
        long long now = nanoseconds(CLOCK_MONOTONIC_RAW);
        if (now < previous)
            backwards++;
        previous = now;
    }
    CHECK_EQ("CLOCK_MONOTONIC_RAW never goes back", backwards, 0);
    long long start = nanoseconds(CLOCK_MONOTONIC);
    long long later = start;
    for (long i = 0; i < 100000000 && later == start; i++)
        later = nanoseconds(CLOCK_MONOTONIC);
    CHECK("CLOCK_MONOTONIC advances", later > start);
    long long mono = nanoseconds(CLOCK_MONOTONIC);
    long long boot = nanoseconds(CLOCK_BOOTTIME);
    CHECK("CLOCK_BOOTTIME is not behind CLOCK_MONOTONIC", boot >= mono);

    SECTION("realtime");
    long long real = nanoseconds(CLOCK_REALTIME);
    CHECK("CLOCK_REALTIME is after 2024", real / NSEC >= YEAR_2024);
    CHECK("CLOCK_REALTIME is before 2100", real / NSEC < YEAR_2100);
    struct timeval tv = {-1, -1};
    CHECK_RET("gettimeofday", gettimeofday(&tv, NULL), 0);
    CHECK("gettimeofday's microseconds are in range",
          tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    long long gap = tv.tv_sec * NSEC + tv.tv_usec * 1000LL - real;
    CHECK("gettimeofday agrees with CLOCK_REALTIME within 1 s",
          gap > -NSEC && gap < NSEC);
    struct timeval raw_tv;
    struct timezone tz = {-1, -1};
    CHECK_RET("raw gettimeofday with a timezone",
              syscall(SYS_gettimeofday, &raw_tv, &tz), 0);
    CHECK_RET("raw gettimeofday with neither argument",
              syscall(SYS_gettimeofday, NULL, NULL), 0);
    time_t t = 0;
    long r = syscall(SYS_time, &t);
    CHECK("raw time returns what it stores", r == t);
    CHECK("time agrees with CLOCK_REALTIME within 2 s",
          t >= real / NSEC - 1 && t <= real / NSEC + 2);
    CHECK("raw time(NULL) works", syscall(SYS_time, NULL) >= YEAR_2024);
    long long coarse = nanoseconds(CLOCK_REALTIME_COARSE);
    CHECK("CLOCK_REALTIME_COARSE is within 1 s of CLOCK_REALTIME",
          coarse > real - NSEC && coarse < real + 2 * NSEC);

    SECTION("cpu time");
    long long cpu0 = nanoseconds(CLOCK_PROCESS_CPUTIME_ID);
    long long wall0 = nanoseconds(CLOCK_MONOTONIC);
    volatile unsigned long sink = 0;
    long long wall1 = wall0;
    while (wall1 - wall0 < 30 * 1000000LL) {
        for (int i = 0; i < 10000; i++)
            sink += i;
        wall1 = nanoseconds(CLOCK_MONOTONIC);
    }
    long long cpu1 = nanoseconds(CLOCK_PROCESS_CPUTIME_ID);
    CHECK("process CPU time advances while spinning", cpu1 > cpu0);
    CHECK("process CPU time does not outrun the wall clock by much",
          cpu1 - cpu0 <= (wall1 - wall0) + 10 * 1000000LL);
    long long thread = nanoseconds(CLOCK_THREAD_CPUTIME_ID);
    CHECK("thread CPU time is positive", thread > 0);
}

static void errors(void)
{
    SECTION("errors");
    struct timespec t;
    CHECK_ERR("clock_gettime of clock 100",
              syscall(SYS_clock_gettime, 100, &t), EINVAL);
    CHECK_ERR("clock_gettime of clock 16",
              syscall(SYS_clock_gettime, 16, &t), EINVAL);
    CHECK_ERR("clock_gettime into a bad pointer",
              syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD_POINTER),
              EFAULT);
    CHECK_ERR("clock_gettime(CLOCK_REALTIME) into a kernel address",
              syscall(SYS_clock_gettime, CLOCK_REALTIME, KERNEL_POINTER),
              EFAULT);
    CHECK_ERR("clock_getres of clock 100",
              syscall(SYS_clock_getres, 100, &t), EINVAL);
    CHECK_RET("clock_getres with a NULL result",
              syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL), 0);
    CHECK_ERR("clock_getres of a bad clock with a NULL result",
              syscall(SYS_clock_getres, 100, NULL), EINVAL);
    CHECK_ERR("clock_getres into a bad pointer",
              syscall(SYS_clock_getres, CLOCK_MONOTONIC, BAD_POINTER), EFAULT);
    CHECK_ERR("gettimeofday into a bad pointer",
              syscall(SYS_gettimeofday, BAD_POINTER, NULL), EFAULT);
    CHECK_ERR("gettimeofday with a bad timezone pointer",
              syscall(SYS_gettimeofday, NULL, BAD_POINTER), EFAULT);
    CHECK_ERR("time into a bad pointer", syscall(SYS_time, BAD_POINTER),
              EFAULT);
}

int main(void)
{
    every_clock();
    relations();
    errors();
    return check_finish();
}
