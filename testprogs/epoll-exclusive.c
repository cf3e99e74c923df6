/*
 * epoll-exclusive: EPOLLEXCLUSIVE (epoll_ctl(2)). When several epoll
 * instances wait on one file with EPOLLEXCLUSIVE, an event wakes one of
 * their waiters (Linux says "one or more"), not all of them; without the
 * flag every waiter wakes. And the rules: the flag is allowed only with
 * EPOLL_CTL_ADD, only with EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP,
 * EPOLLWAKEUP and EPOLLET, never on an epoll file, and an exclusive
 * interest cannot be modified afterwards. The same holds for a
 * listening TCP socket, the flag's everyday use (several acceptors).
 */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>

#define WAITERS 4

static int event_fd;
/* The file the waiters watch: how to open it (fresh, not readable), make
 * it readable once more, and close it. */
static int watched_fd;
static void (*open_watched)(void);
static void (*make_ready)(void);
static void (*close_watched)(void);
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

static void open_eventfd(void)
{
    event_fd = eventfd(0, EFD_NONBLOCK);
    watched_fd = event_fd;
}

static void close_eventfd(void)
{
    close(event_fd);
}

static void signal_event(void)
{
    uint64_t one = 1;
    if (write(event_fd, &one, sizeof one) != sizeof one)
        say("write to the eventfd failed\n");
}

/* A listening socket on 127.0.0.1 and the clients connected to it. */
static int listener;
static struct sockaddr_in listener_address;
static int clients[256];
static int client_count;

static void connect_client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&listener_address,
                sizeof listener_address) != 0)
        say("connect failed: %s\n", errno_name(errno));
    if (client_count < 256)
        clients[client_count++] = fd;
}

static void open_listener(void)
{
    listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    listener_address.sin_family = AF_INET;
    listener_address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listener_address.sin_port = 0;
    bind(listener, (struct sockaddr *)&listener_address,
         sizeof listener_address);
    socklen_t length = sizeof listener_address;
    getsockname(listener, (struct sockaddr *)&listener_address, &length);
    listen(listener, 64);
    watched_fd = listener;
}

static void close_listener(void)
{
    for (int i = 0; i < client_count; i++)
        close(clients[i]);
    client_count = 0;
    close(listener);
}

/* WAITERS threads, each in epoll_wait on its own instance watching
 * `watched_fd`; returns how many woke from one event. Nobody consumes
 * the event, so the file stays readable: a waiter not woken by the
 * event would see it at once. */
static int wake_count(uint32_t flags)
{
    open_watched();
    woken = 0;
    pthread_t threads[WAITERS];
    int epolls[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        epolls[i] = epoll_create1(0);
        struct epoll_event event = {.events = EPOLLIN | flags};
        epoll_ctl(epolls[i], EPOLL_CTL_ADD, watched_fd, &event);
        pthread_create(&threads[i], NULL, waiter, (void *)(intptr_t)epolls[i]);
    }
    pause_ms(200);          /* all of them asleep in epoll_wait */
    make_ready();
    pause_ms(300);          /* whoever was woken has counted itself */
    int count = woken_now();
    /* Each further event wakes at least one more, until all are done. */
    for (int tries = 0; woken_now() < WAITERS && tries < 100; tries++) {
        make_ready();
        pause_ms(20);
    }
    for (int i = 0; i < WAITERS; i++) {
        pthread_join(threads[i], NULL);
        close(epolls[i]);
    }
    close_watched();
    return count;
}

static void wake_ups(const char *what)
{
    char line[128];
    int plain = wake_count(0);
    snprintf(line, sizeof line, "%s: without EPOLLEXCLUSIVE one event "
             "wakes all 4 waiters", what);
    CHECK_EQ(line, plain, WAITERS);
    int exclusive = wake_count(EPOLLEXCLUSIVE);
    snprintf(line, sizeof line, "%s: with EPOLLEXCLUSIVE one event wakes "
             "at least one waiter", what);
    CHECK(line, exclusive >= 1);
    snprintf(line, sizeof line, "%s: ... but not all 4", what);
    CHECK(line, exclusive < WAITERS);
    snprintf(line, sizeof line, "%s: every exclusive waiter woke in the "
             "end", what);
    CHECK_EQ(line, woken, WAITERS);
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

    SECTION("who wakes");
    open_watched = open_eventfd;
    make_ready = signal_event;
    close_watched = close_eventfd;
    wake_ups("eventfd");
    open_watched = open_listener;
    make_ready = connect_client;
    close_watched = close_listener;
    wake_ups("listening socket");
    return check_finish();
}
