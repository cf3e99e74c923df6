/*
 * epoll-exclusive: EPOLLEXCLUSIVE (epoll_ctl(2)). When several epoll
 * instances wait on one file with EPOLLEXCLUSIVE, an event wakes one of
 * their waiters (Linux says "one or more"), not all of them; without the
 * flag every waiter wakes. And the rules: the flag is allowed only with
 * EPOLL_CTL_ADD, only with EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP,
 * EPOLLWAKEUP and EPOLLET, never on an epoll file, and an exclusive
 * interest cannot be modified afterwards.
 */
#include "check.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>

#define WAITERS 4

static int event_fd;
static int woken;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *waiter(void *argument)
{
    int epoll_fd = (int)(intptr_t)argument;
    struct epoll_event event;
    int n;
    do {
        n = epoll_wait(epoll_fd, &event, 1, 10000);
    } while (n < 0 && errno == EINTR);
    if (n == 1) {
        pthread_mutex_lock(&lock);
        woken++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static int woken_now(void)
{
    pthread_mutex_lock(&lock);
    int n = woken;
    pthread_mutex_unlock(&lock);
    return n;
}

static void pause_ms(long ms)
{
    struct timespec t = {ms / 1000, ms % 1000 * 1000000L};
    nanosleep(&t, NULL);
}

static void signal_event(void)
{
    uint64_t one = 1;
    if (write(event_fd, &one, sizeof one) != sizeof one)
        say("write to the eventfd failed\n");
}

/* WAITERS threads, each in epoll_wait on its own instance watching the
 * one eventfd; returns how many woke from one event. Nobody reads the
 * eventfd, so it stays readable: a waiter not woken by the event would
 * see it at once. */
static int wake_count(uint32_t flags)
{
    event_fd = eventfd(0, EFD_NONBLOCK);
    woken = 0;
    pthread_t threads[WAITERS];
    int epolls[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        epolls[i] = epoll_create1(0);
        struct epoll_event event = {.events = EPOLLIN | flags};
        epoll_ctl(epolls[i], EPOLL_CTL_ADD, event_fd, &event);
        pthread_create(&threads[i], NULL, waiter, (void *)(intptr_t)epolls[i]);
    }
    pause_ms(200);          /* all of them asleep in epoll_wait */
    signal_event();
    pause_ms(300);          /* whoever was woken has counted itself */
    int count = woken_now();
    /* Each further event wakes at least one more, until all are done. */
    for (int tries = 0; woken_now() < WAITERS && tries < 100; tries++) {
        signal_event();
        pause_ms(20);
    }
    for (int i = 0; i < WAITERS; i++) {
        pthread_join(threads[i], NULL);
        close(epolls[i]);
    }
    close(event_fd);
    return count;
}

static void wake_ups(void)
{
    SECTION("who wakes");
    int plain = wake_count(0);
    CHECK_EQ("without EPOLLEXCLUSIVE one event wakes all 4 waiters", plain,
             WAITERS);
    int exclusive = wake_count(EPOLLEXCLUSIVE);
    CHECK("with EPOLLEXCLUSIVE one event wakes at least one waiter",
          exclusive >= 1);
    CHECK("... but not all 4", exclusive < WAITERS);
    CHECK_EQ("every exclusive waiter woke in the end", woken, WAITERS);
}

static void rules(void)
{
    SECTION("the rules");
    int ep = epoll_create1(0);
    int other_ep = epoll_create1(0);
    int fd = eventfd(0, 0);
    int fd2 = eventfd(0, 0);
    struct epoll_event e = {.events = EPOLLIN | EPOLLEXCLUSIVE};
    CHECK_RET("ADD with EPOLLIN|EPOLLEXCLUSIVE",
              epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), 0);
    e.events = EPOLLIN;
    CHECK_ERR("MOD of an exclusive interest",
              epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e), EINVAL);
    e.events = EPOLLIN | EPOLLEXCLUSIVE;
    CHECK_ERR("MOD with EPOLLEXCLUSIVE",
              epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e), EINVAL);
    CHECK_ERR("MOD with EPOLLEXCLUSIVE of an fd not in the set",
              epoll_ctl(ep, EPOLL_CTL_MOD, fd2, &e), EINVAL);
    CHECK_ERR("ADD twice", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), EEXIST);
    e.events = EPOLLIN;
    CHECK_RET("ADD a plain interest", epoll_ctl(ep, EPOLL_CTL_ADD, fd2, &e),
              0);
    e.events = EPOLLIN | EPOLLEXCLUSIVE;
    CHECK_ERR("MOD a plain interest to exclusive",
              epoll_ctl(ep, EPOLL_CTL_MOD, fd2, &e), EINVAL);
    CHECK_RET("DEL an exclusive interest",
              epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL), 0);
    e.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLERR | EPOLLHUP
        | EPOLLEXCLUSIVE;
    CHECK_RET("ADD with EPOLLIN|EPOLLOUT|EPOLLET|EPOLLERR|EPOLLHUP",
              epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), 0);
    CHECK_RET("DEL it again", epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL), 0);
    static const struct {
        uint32_t flag;
        const char *name;
    } refused[] = {
        {EPOLLONESHOT, "EPOLLONESHOT"},
        {EPOLLPRI, "EPOLLPRI"},
        {EPOLLRDHUP, "EPOLLRDHUP"},
        {EPOLLRDNORM, "EPOLLRDNORM"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "ADD EPOLLEXCLUSIVE with %s",
                 refused[i].name);
        e.events = EPOLLIN | EPOLLEXCLUSIVE | refused[i].flag;
        CHECK_ERR(what, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), EINVAL);
    }
    e.events = EPOLLIN | EPOLLEXCLUSIVE;
    CHECK_ERR("ADD EPOLLEXCLUSIVE of an epoll file",
              epoll_ctl(ep, EPOLL_CTL_ADD, other_ep, &e), EINVAL);
    e.events = EPOLLIN;
    CHECK_RET("ADD of an epoll file without it",
              epoll_ctl(ep, EPOLL_CTL_ADD, other_ep, &e), 0);

    SECTION("an exclusive interest reports as usual");
    int ep2 = epoll_create1(0);
    e.events = EPOLLIN | EPOLLEXCLUSIVE;
    e.data.u64 = 77;
    CHECK_RET("ADD", epoll_ctl(ep2, EPOLL_CTL_ADD, fd, &e), 0);
    struct epoll_event got = {0};
    CHECK_RET("nothing ready yet", epoll_wait(ep2, &got, 1, 0), 0);
    uint64_t one = 1;
    CHECK_RET("write the eventfd", write(fd, &one, sizeof one), 8);
    CHECK_RET("one event", epoll_wait(ep2, &got, 1, 0), 1);
    CHECK("EPOLLIN with its data", got.events == EPOLLIN && got.data.u64 == 77);
    CHECK_RET("still level-triggered", epoll_wait(ep2, &got, 1, 0), 1);
    close(ep2);
    close(ep);
    close(other_ep);
    close(fd);
    close(fd2);
}

int main(void)
{
    rules();
    wake_ups();
    return check_finish();
}
