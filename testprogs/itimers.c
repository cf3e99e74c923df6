/*
 * itimers: the CPU-time interval timers of setitimer(2). ITIMER_VIRTUAL
 * counts the process's user time and sends SIGVTALRM; ITIMER_PROF counts
 * user and system time and sends SIGPROF. A program that spins gets the
 * signal after about the CPU time it asked for; one that sleeps does not,
 * since sleeping uses no CPU time. getitimer(2) reports what is left and
 * the interval; a periodic timer keeps firing until disarmed.
 */
#include "check.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#define NSEC 1000000000LL
#define MSEC 1000000LL

static volatile sig_atomic_t vtalrm_count, prof_count;

static void on_signal(int signal)
{
    if (signal == SIGVTALRM)
        vtalrm_count++;
    else if (signal == SIGPROF)
        prof_count++;
}

static long long read_clock(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * NSEC + t.tv_nsec;
}

/* Spins until `*count` reaches `target` or 5 s of wall time pass. */
static void spin_until(volatile sig_atomic_t *count, int target)
{
    long long start = read_clock(CLOCK_MONOTONIC);
    volatile unsigned long sink = 0;
    while (*count < target
           && read_clock(CLOCK_MONOTONIC) - start < 5 * NSEC) {
        for (int i = 0; i < 10000; i++)
            sink += i;
    }
}

static struct itimerval timer(long value_us, long interval_us)
{
    struct itimerval v = {
        .it_interval = {interval_us / 1000000, interval_us % 1000000},
        .it_value = {value_us / 1000000, value_us % 1000000},
    };
    return v;
}

static void virtual_timer(void)
{
    SECTION("ITIMER_VIRTUAL");
    struct itimerval v = timer(50000, 0), now;
    long long cpu_before = read_clock(CLOCK_PROCESS_CPUTIME_ID);
    CHECK_RET("arm 50 ms of user time", setitimer(ITIMER_VIRTUAL, &v, NULL),
              0);
    CHECK_RET("getitimer", getitimer(ITIMER_VIRTUAL, &now), 0);
    /* Linux adds one clock tick (at most 10 ms) to a CPU timer's value,
     * so that tick-based accounting never fires it early. */
    CHECK("what is left is not zero and at most 50 ms and a tick",
          now.it_value.tv_sec == 0 && now.it_value.tv_usec > 0
          && now.it_value.tv_usec <= 60000);
    CHECK("no interval", now.it_interval.tv_sec == 0
          && now.it_interval.tv_usec == 0);
    spin_until(&vtalrm_count, 1);
    long long used = read_clock(CLOCK_PROCESS_CPUTIME_ID) - cpu_before;
    CHECK_EQ("SIGVTALRM arrived once while spinning", vtalrm_count, 1);
    /* Linux charges user time by sampling at clock ticks, so on a busy
     * host its timer may fire somewhat before the precise CPU clock has
     * counted the full 50 ms. */
    CHECK("after at least 20 ms of CPU time", used >= 20 * MSEC);
    CHECK_RET("getitimer after it fired", getitimer(ITIMER_VIRTUAL, &now), 0);
    CHECK("a one-shot timer is disarmed after firing",
          now.it_value.tv_sec == 0 && now.it_value.tv_usec == 0);

    SECTION("sleeping uses no CPU time");
    v = timer(50000, 0);
    CHECK_RET("arm 50 ms again", setitimer(ITIMER_VIRTUAL, &v, NULL), 0);
    struct timespec nap = {0, 150 * MSEC};
    CHECK_RET("sleep 150 ms", nanosleep(&nap, NULL), 0);
    CHECK_EQ("no SIGVTALRM during the sleep", vtalrm_count, 1);
    CHECK_RET("getitimer", getitimer(ITIMER_VIRTUAL, &now), 0);
    CHECK("most of the 50 ms is still left",
          now.it_value.tv_sec == 0 && now.it_value.tv_usec > 30000);
    struct itimerval off = timer(0, 0), old;
    CHECK_RET("disarm, reading the old value",
              setitimer(ITIMER_VIRTUAL, &off, &old), 0);
    CHECK("the old value is what getitimer said or less",
          old.it_value.tv_usec > 0
          && old.it_value.tv_usec <= now.it_value.tv_usec);
    CHECK_RET("getitimer", getitimer(ITIMER_VIRTUAL, &now), 0);
    CHECK("disarmed", now.it_value.tv_sec == 0 && now.it_value.tv_usec == 0);
}

static void profiling_timer(void)
{
    SECTION("ITIMER_PROF");
    struct itimerval v = timer(20000, 20000), now;
    CHECK_RET("arm a periodic 20 ms timer", setitimer(ITIMER_PROF, &v, NULL),
              0);
    CHECK_RET("getitimer", getitimer(ITIMER_PROF, &now), 0);
    CHECK("the interval reads back as 20 ms",
          now.it_interval.tv_sec == 0 && now.it_interval.tv_usec == 20000);
    spin_until(&prof_count, 3);
    CHECK("SIGPROF arrived three times while spinning", prof_count >= 3);
    struct itimerval off = timer(0, 0);
    CHECK_RET("disarm", setitimer(ITIMER_PROF, &off, NULL), 0);
    int count = prof_count;
    long long start = read_clock(CLOCK_PROCESS_CPUTIME_ID);
    volatile unsigned long sink = 0;
    while (read_clock(CLOCK_PROCESS_CPUTIME_ID) - start < 50 * MSEC)
        sink++;
    CHECK("no SIGPROF after disarming", prof_count == count);
    CHECK_EQ("SIGVTALRM did not fire for ITIMER_PROF", vtalrm_count, 1);
}

static void errors(void)
{
    SECTION("errors");
    struct itimerval v = timer(0, 0);
    CHECK_ERR("setitimer(3)", syscall(SYS_setitimer, 3, &v, NULL), EINVAL);
    CHECK_ERR("getitimer(-1)", syscall(SYS_getitimer, -1, &v), EINVAL);
    v.it_value.tv_usec = 1000000;
    CHECK_ERR("a value of 1000000 microseconds",
              syscall(SYS_setitimer, ITIMER_VIRTUAL, &v, NULL), EINVAL);
    CHECK_ERR("getitimer into a bad pointer",
              syscall(SYS_getitimer, ITIMER_PROF, BAD_POINTER), EFAULT);
}

int main(void)
{
    struct sigaction action = {.sa_handler = on_signal};
    sigaction(SIGVTALRM, &action, NULL);
    sigaction(SIGPROF, &action, NULL);
    virtual_timer();
    profiling_timer();
    errors();
    return check_finish();
}
