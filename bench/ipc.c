/*
 * ipc: round trips between two threads of one process.
 *
 *   ipc.pipe_round_trip   one byte there through a pipe and one back
 *                         through another: two writes, two reads, and
 *                         two switches between the threads;
 *   ipc.futex_round_trip  the same hand-over through a futex word: each
 *                         side sets the word, wakes the other and waits
 *                         with FUTEX_WAIT until the word is its turn.
 *
 * The guests have one CPU, so every hand-over is a sleep and a wake-up
 * through the scheduler, never a spin on another core.
 *
 * Usage: ipc [ROUND_TRIPS_PER_ROUND]   (default 2000)
 */
#include "bench.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

static long trips;

/* --- pipes --- */

static int there[2], back[2];

/* The echo side: reads each byte and sends it back. It serves every
 * round bench_measure runs, so it expects one trip per round and one
 * untimed warm-up round. */
static void *pipe_echo(void *unused)
{
    (void)unused;
    char byte;
    for (long i = 0; i < trips * (bench_repeats + 1); i++) {
        if (read(there[0], &byte, 1) != 1)
            bench_fail("read pipe (echo side)");
        if (write(back[1], &byte, 1) != 1)
            bench_fail("write pipe (echo side)");
    }
    return NULL;
}

static void pipe_round(void *unused)
{
    (void)unused;
    char byte = 'x';
    for (long i = 0; i < trips; i++) {
        if (write(there[1], &byte, 1) != 1)
            bench_fail("write pipe");
        if (read(back[0], &byte, 1) != 1)
            bench_fail("read pipe");
    }
}

/* --- futexes --- */

/* Whose turn it is: 1 the echo thread's, 0 the timing thread's. */
static atomic_int turn;

static void futex_wait(int expected)
{
    long r = syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, expected,
                     NULL, NULL, 0);
    /* EAGAIN: the word changed before the wait; EINTR: a signal.
     * Either way the caller looks at the word again. */
    if (r == -1 && errno != EAGAIN && errno != EINTR)
        bench_fail("futex wait");
}

static void futex_wake(void)
{
    if (syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0)
        == -1)
        bench_fail("futex wake");
}

static void *futex_echo(void *unused)
{
    (void)unused;
    for (long i = 0; i < trips * (bench_repeats + 1); i++) {
        while (atomic_load(&turn) != 1)
            futex_wait(0);
        atomic_store(&turn, 0);
        futex_wake();
    }
    return NULL;
}

static void futex_round(void *unused)
{
    (void)unused;
    for (long i = 0; i < trips; i++) {
        atomic_store(&turn, 1);
        futex_wake();
        while (atomic_load(&turn) != 0)
            futex_wait(1);
    }
}

static void run_with_echo(const char *name, void *(*echo)(void *),
                          void (*round)(void *))
{
    pthread_t thread;
    int error = pthread_create(&thread, NULL, echo, NULL);
    if (error != 0) {
        errno = error;
        bench_fail("pthread_create");
    }
    bench_measure(name, trips, 0, NULL, round, NULL);
    error = pthread_join(thread, NULL);
    if (error != 0) {
        errno = error;
        bench_fail("pthread_join");
    }
}

int main(int argc, char **argv)
{
    trips = bench_count(argc, argv, 1, 2000);
    BENCH_CHECK(pipe(there));
    BENCH_CHECK(pipe(back));

    run_with_echo("ipc.pipe_round_trip", pipe_echo, pipe_round);
    run_with_echo("ipc.futex_round_trip", futex_echo, futex_round);
    return 0;
}
