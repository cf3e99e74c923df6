/*
 * threads: POSIX threads and the futex(2) calls under them. Threads
 * start, return values to pthread_join, get their own thread ids and
 * thread-local storage, share memory under a mutex and a condition
 * variable, and the futex errors are Linux's: EAGAIN when the word
 * differs, ETIMEDOUT when nobody wakes the waiter, EINVAL for an
 * unaligned word.
 */
#include "check.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

/* From the Linux UAPI (musl ships no linux/ headers). */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

static __thread int local_value = 7;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t condition = PTHREAD_COND_INITIALIZER;
static long shared_counter;
static int ready;

static void *report_identity(void *argument)
{
    long *out = argument;
    out[0] = syscall(SYS_gettid);
    out[1] = getpid();
    out[2] = local_value;
    local_value = 99;
    return (void *)(intptr_t)42;
}

static void *count_up(void *argument)
{
    (void)argument;
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&mutex);
        shared_counter++;
        pthread_mutex_unlock(&mutex);
    }
    return NULL;
}

static void *wait_for_ready(void *argument)
{
    (void)argument;
    pthread_mutex_lock(&mutex);
    while (!ready)
        pthread_cond_wait(&condition, &mutex);
    pthread_mutex_unlock(&mutex);
    return (void *)(intptr_t)5;
}

static long futex(int *word, int op, int value, const struct timespec *timeout)
{
    return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

int main(void)
{
    SECTION("one thread");
    pthread_t thread;
    long seen[3] = {0, 0, 0};
    CHECK_RET("pthread_create",
              pthread_create(&thread, NULL, report_identity, seen), 0);
    void *result = NULL;
    CHECK_RET("pthread_join", pthread_join(thread, &result), 0);
    CHECK_EQ("the thread's return value", (intptr_t)result, 42);
    CHECK("the thread had its own tid", seen[0] > 0 && seen[0] != getpid());
    CHECK_EQ("and the process's pid", seen[1], getpid());
    CHECK_EQ("its thread-local started from the initial value", seen[2], 7);
    CHECK_EQ("its write did not touch ours", local_value, 7);
    CHECK_EQ("our tid is still the pid", syscall(SYS_gettid), getpid());

    SECTION("a mutex");
    pthread_t workers[4];
    int started = 1;
    for (int i = 0; i < 4; i++)
        if (pthread_create(&workers[i], NULL, count_up, NULL) != 0)
            started = 0;
    CHECK("four threads start", started);
    for (int i = 0; i < 4; i++)
        pthread_join(workers[i], NULL);
    CHECK_EQ("80000 locked increments", shared_counter, 80000);

    SECTION("a condition variable");
    pthread_t waiter;
    CHECK_RET("pthread_create", pthread_create(&waiter, NULL, wait_for_ready,
                                               NULL), 0);
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, NULL);
    pthread_mutex_lock(&mutex);
    ready = 1;
    pthread_cond_signal(&condition);
    pthread_mutex_unlock(&mutex);
    CHECK_RET("pthread_join", pthread_join(waiter, &result), 0);
    CHECK_EQ("the waiter woke and returned", (intptr_t)result, 5);

    SECTION("futex");
    int word = 1;
    CHECK_ERR("FUTEX_WAIT on a word that differs",
              futex(&word, FUTEX_WAIT_PRIVATE, 2, NULL), EAGAIN);
    struct timespec short_wait = {0, 5 * 1000 * 1000};
    CHECK_ERR("FUTEX_WAIT times out",
              futex(&word, FUTEX_WAIT_PRIVATE, 1, &short_wait), ETIMEDOUT);
    CHECK_RET("FUTEX_WAKE with no waiters",
              futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL), 0);
    CHECK_ERR("FUTEX_WAIT on an unaligned word",
              futex((int *)((char *)&word + 1), FUTEX_WAIT_PRIVATE, 0, NULL),
              EINVAL);
    CHECK_ERR("FUTEX_WAIT on a bad pointer",
              futex((int *)BAD_POINTER, FUTEX_WAIT_PRIVATE, 0, NULL), EFAULT);
    CHECK_ERR("an unknown futex operation", futex(&word, 99, 0, NULL), ENOSYS);
    return check_finish();
}
