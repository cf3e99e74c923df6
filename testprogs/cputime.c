/*
 * cputime: CPU-time clocks per thread. A thread that spins accumulates
 * CPU time on its own clock (CLOCK_THREAD_CPUTIME_ID) while a thread that
 * sleeps does not; another thread reads both through the clock ids of
 * pthread_getcpuclockid(3); the process clock (CLOCK_PROCESS_CPUTIME_ID,
 * clock_getcpuclockid(3)) covers them all. getrusage(2) with
 * RUSAGE_THREAD and RUSAGE_SELF, and times(2), agree with the clocks.
 * Linux's encoded clock ids that name no thread, or no valid clock, fail.
 */
#include "check.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <time.h>

#define NSEC 1000000000LL
#define MSEC 1000000LL
#define SPIN (100 * MSEC)

static long long read_clock(clockid_t clock)
{
    struct timespec t;
    if (clock_gettime(clock, &t) != 0)
        return -1;
    return t.tv_sec * NSEC + t.tv_nsec;
}

static long long timeval_ns(struct timeval tv)
{
    return tv.tv_sec * NSEC + tv.tv_usec * 1000LL;
}

static pthread_barrier_t measured, done;
static long long spinner_clock, sleeper_clock;
static int spinner_rusage_ok, spinner_user_dominates;

static void *spinner(void *unused)
{
    (void)unused;
    volatile unsigned long sink = 0;
    long long start = read_clock(CLOCK_THREAD_CPUTIME_ID);
    while (read_clock(CLOCK_THREAD_CPUTIME_ID) - start < SPIN) {
        for (int i = 0; i < 10000; i++)
            sink += i;
    }
    struct rusage usage;
    long long before = read_clock(CLOCK_THREAD_CPUTIME_ID);
    getrusage(RUSAGE_THREAD, &usage);
    long long after = read_clock(CLOCK_THREAD_CPUTIME_ID);
    long long total = timeval_ns(usage.ru_utime) + timeval_ns(usage.ru_stime);
    /* rusage is in microseconds, truncated. */
    spinner_rusage_ok = total >= before - 2 * MSEC && total <= after;
    spinner_user_dominates = usage.ru_utime.tv_sec * 1000000LL
        + usage.ru_utime.tv_usec > usage.ru_stime.tv_sec * 1000000LL
        + usage.ru_stime.tv_usec;
    spinner_clock = after;
    pthread_barrier_wait(&measured);
    pthread_barrier_wait(&done);
    return NULL;
}

static void *sleeper(void *unused)
{
    (void)unused;
    struct timespec nap = {0, 150 * MSEC};
    nanosleep(&nap, NULL);
    sleeper_clock = read_clock(CLOCK_THREAD_CPUTIME_ID);
    pthread_barrier_wait(&measured);
    pthread_barrier_wait(&done);
    return NULL;
}

static void threads(void)
{
    SECTION("a spinning thread and a sleeping thread");
    pthread_barrier_init(&measured, NULL, 3);
    pthread_barrier_init(&done, NULL, 3);
    long long process_before = read_clock(CLOCK_PROCESS_CPUTIME_ID);
    pthread_t spin, sleep;
    CHECK_EQ("create the spinner",
             pthread_create(&spin, NULL, spinner, NULL), 0);
    CHECK_EQ("create the sleeper",
             pthread_create(&sleep, NULL, sleeper, NULL), 0);
    pthread_barrier_wait(&measured);

    CHECK("the spinner's own clock reached 100 ms", spinner_clock >= SPIN);
    CHECK("the sleeper's own clock stayed under 20 ms",
          sleeper_clock >= 0 && sleeper_clock < 20 * MSEC);
    CHECK("getrusage(RUSAGE_THREAD) matches the spinner's clock",
          spinner_rusage_ok);
    CHECK("the spinner's time is mostly user time", spinner_user_dominates);

    clockid_t spin_clock, sleep_clock;
    CHECK_EQ("pthread_getcpuclockid(spinner)",
             pthread_getcpuclockid(spin, &spin_clock), 0);
    CHECK_EQ("pthread_getcpuclockid(sleeper)",
             pthread_getcpuclockid(sleep, &sleep_clock), 0);
    CHECK("a thread clock id is negative", spin_clock < 0);
    long long spin_now = read_clock(spin_clock);
    long long sleep_now = read_clock(sleep_clock);
    CHECK("the spinner's clock, read from here, is at least what it saw",
          spin_now >= spinner_clock);
    CHECK("... and did not grow while it waited",
          spin_now < spinner_clock + 20 * MSEC);
    CHECK("the sleeper's clock, read from here, is small",
          sleep_now >= sleeper_clock && sleep_now < 20 * MSEC);

    long long mine = read_clock(CLOCK_THREAD_CPUTIME_ID);
    long long process = read_clock(CLOCK_PROCESS_CPUTIME_ID);
    CHECK("the process clock covers every thread",
          process >= spin_now + sleep_now + mine);
    CHECK("the process clock advanced by at least the spin",
          process - process_before >= SPIN);

    clockid_t process_clock;
    CHECK_EQ("clock_getcpuclockid(0)",
             clock_getcpuclockid(0, &process_clock), 0);
    long long via_id = read_clock(process_clock);
    CHECK("its clock reads like CLOCK_PROCESS_CPUTIME_ID",
          via_id >= process && via_id < process + 20 * MSEC);
    CHECK_EQ("clock_getcpuclockid(getpid())",
             clock_getcpuclockid(getpid(), &process_clock), 0);
    CHECK("that clock reads too", read_clock(process_clock) >= via_id);

    struct rusage self;
    CHECK_RET("getrusage(RUSAGE_SELF)", getrusage(RUSAGE_SELF, &self), 0);
    long long after = read_clock(CLOCK_PROCESS_CPUTIME_ID);
    long long total = timeval_ns(self.ru_utime) + timeval_ns(self.ru_stime);
    CHECK("getrusage(RUSAGE_SELF) lies between two process clock reads",
          total >= via_id - 2 * MSEC && total <= after);
    struct tms tms;
    long ticks_per_second = sysconf(_SC_CLK_TCK);
    CHECK_OK("times", (long)times(&tms));
    long long tick_ns = NSEC / ticks_per_second;
    long long from_times = (long long)(tms.tms_utime + tms.tms_stime)
        * tick_ns;
    after = read_clock(CLOCK_PROCESS_CPUTIME_ID);
    CHECK("times() agrees with the process clock within 3 ticks",
          from_times <= after && from_times >= after - 3 * tick_ns);

    pthread_barrier_wait(&done);
    pthread_join(spin, NULL);
    pthread_join(sleep, NULL);
}

static void errors(void)
{
    SECTION("errors");
    struct timespec t;
    /* Linux's encoding: ~id << 3, bit 2 for a thread, low bits the kind. */
    clockid_t no_thread = (clockid_t)((~(unsigned)999999 << 3) | 4 | 2);
    CHECK_ERR("a thread clock of a thread that does not exist",
              syscall(SYS_clock_gettime, no_thread, &t), EINVAL);
    clockid_t bad_kind = (clockid_t)((~(unsigned)0 << 3) | 4 | 3);
    CHECK_ERR("a thread clock of kind 3",
              syscall(SYS_clock_gettime, bad_kind, &t), EINVAL);
    clockid_t self_virt = (clockid_t)((~(unsigned)0 << 3) | 4 | 1);
    CHECK_RET("the calling thread's user-time clock",
              syscall(SYS_clock_gettime, self_virt, &t), 0);
    clockid_t self_prof = (clockid_t)((~(unsigned)0 << 3) | 0);
    CHECK_RET("the process's user-and-system clock",
              syscall(SYS_clock_gettime, self_prof, &t), 0);
    CHECK_RET("clock_getres of a thread clock",
              syscall(SYS_clock_getres, self_virt, &t), 0);
    CHECK_ERR("clock_getres of a thread that does not exist",
              syscall(SYS_clock_getres, no_thread, &t), EINVAL);
    CHECK_ERR("getrusage(5)", getrusage(5, (struct rusage *)&t), EINVAL);
}

int main(void)
{
    threads();
    errors();
    return check_finish();
}
