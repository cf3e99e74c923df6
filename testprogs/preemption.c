/*
 * preemption: a thread that spins in user space, never making a system
 * call, must not stop the rest of the program: a timer signal interrupts
 * the spin (its handler runs on the spinning thread), and a second thread
 * gets the CPU to finish its own work while the spinner still spins.
 */
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>

static atomic_int alarms;
static atomic_int other_done;
static atomic_int stop;

static void on_alarm(int signal)
{
    (void)signal;
    atomic_fetch_add(&alarms, 1);
}

static void *other_work(void *unused)
{
    (void)unused;
    volatile long sum = 0;
    for (long i = 0; i < 1000000; i++)
        sum += i;
    atomic_store(&other_done, 1);
    return NULL;
}

static void *spinner(void *unused)
{
    (void)unused;
    while (!atomic_load(&stop)) {
    }
    return NULL;
}

int main(void)
{
    SECTION("a timer signal interrupts a spinning thread");
    struct sigaction action = {0};
    action.sa_handler = on_alarm;
    CHECK_OK("sigaction(SIGALRM)", sigaction(SIGALRM, &action, NULL));
    struct itimerval timer = {{0, 10000}, {0, 10000}};
    CHECK_OK("setitimer every 10 ms", setitimer(ITIMER_REAL, &timer, NULL));
    /* Spin with no system call until three alarms have arrived. */
    while (atomic_load(&alarms) < 3) {
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    CHECK_OK("setitimer off", setitimer(ITIMER_REAL, &off, NULL));
    CHECK("three alarms interrupted the spin", atomic_load(&alarms) >= 3);

    SECTION("a spinning thread does not starve another");
    pthread_t spin, work;
    CHECK_EQ("start the spinner", pthread_create(&spin, NULL, spinner, NULL),
             0);
    CHECK_EQ("start the worker", pthread_create(&work, NULL, other_work, NULL),
             0);
    /* The main thread spins too, waiting for the worker. */
    while (!atomic_load(&other_done)) {
    }
    CHECK("the worker finished while two threads spun",
          atomic_load(&other_done) == 1);
    atomic_store(&stop, 1);
    CHECK_EQ("join the spinner", pthread_join(spin, NULL), 0);
    CHECK_EQ("join the worker", pthread_join(work, NULL), 0);
    return check_finish();
}
