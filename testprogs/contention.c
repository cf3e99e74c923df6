/*
 * contention: sixteen threads hammer one mutex and hand work through a
 * condition variable, then a robust mutex is left locked by a thread that
 * exits, and the next locker must be told the owner died (EOWNERDEAD).
 * Exercises futex WAIT/WAKE under preemption, pthread_join through
 * CLONE_CHILD_CLEARTID, and the robust-list walk at thread exit.
 */
#include "check.h"

#include <pthread.h>
#include <stdint.h>

#define THREADS 16
#define ROUNDS 2000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;
static int order[THREADS];
static int order_length;

static void *hammer(void *argument)
{
    int id = (int)(intptr_t)argument;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    /* Then wait for this thread's turn, which the others hand on. */
    pthread_mutex_lock(&lock);
    while (turn != id)
        pthread_cond_wait(&turn_changed, &lock);
    order[order_length++] = id;
    turn++;
    pthread_cond_broadcast(&turn_changed);
    pthread_mutex_unlock(&lock);
    return (void *)(intptr_t)(id * 2);
}

static pthread_mutex_t robust;

static void *die_holding(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&robust);
    return NULL;
}

int main(void)
{
    SECTION("sixteen threads, one mutex");
    pthread_t threads[THREADS];
    int created = 0;
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&threads[i], NULL, hammer, (void *)(intptr_t)i) == 0)
            created++;
    CHECK_EQ("threads created", created, THREADS);
    long sum = 0;
    for (int i = 0; i < created; i++) {
        void *result;
        if (pthread_join(threads[i], &result) == 0)
            sum += (intptr_t)result;
    }
    CHECK_EQ("every increment counted", counter, (long)THREADS * ROUNDS);
    CHECK_EQ("every thread returned its value", sum,
             (long)THREADS * (THREADS - 1));
    int in_order = order_length == THREADS;
    for (int i = 0; i < order_length; i++)
        in_order = in_order && order[i] == i;
    CHECK("the condition variable handed turns in order", in_order);

    SECTION("robust mutex");
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    CHECK_EQ("pthread_mutex_init (robust)",
             pthread_mutex_init(&robust, &attributes), 0);
    pthread_t owner;
    CHECK_EQ("pthread_create", pthread_create(&owner, NULL, die_holding, NULL),
             0);
    CHECK_EQ("pthread_join", pthread_join(owner, NULL), 0);
    CHECK_EQ("locking after the owner died gives EOWNERDEAD",
             pthread_mutex_lock(&robust), EOWNERDEAD);
    CHECK_EQ("pthread_mutex_consistent", pthread_mutex_consistent(&robust), 0);
    CHECK_EQ("unlock", pthread_mutex_unlock(&robust), 0);
    CHECK_EQ("lock again", pthread_mutex_lock(&robust), 0);
    CHECK_EQ("unlock again", pthread_mutex_unlock(&robust), 0);
    return check_finish();
}
