/*
 * polling: waiting on several descriptors. poll(2), ppoll(2), select(2),
 * epoll and eventfd(2) and timerfd(2) on pipes and on the standard
 * streams: stdout is writable, stdin (a pipe with data whose writer is
 * gone) is readable and hung up, an empty pipe is not readable until
 * written, a timeout of 0 returns at once, and a closed descriptor shows
 * POLLNVAL. Edge-triggered epoll on a pipe reports the edges Linux's
 * pipe makes: each write for the reader, a full pipe made writable for
 * the writer, and a close.
 */
#include "check.h"

#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

int main(void)
{
    SECTION("poll");
    struct pollfd out = {.fd = 1, .events = POLLOUT};
    CHECK_RET("stdout is writable", poll(&out, 1, 0), 1);
    CHECK_EQ("with POLLOUT", out.revents, POLLOUT);
    struct pollfd in = {.fd = 0, .events = POLLIN};
    CHECK_RET("stdin is ready", poll(&in, 1, 0), 1);
    CHECK_EQ("readable and hung up", in.revents, POLLIN | POLLHUP);
    int fds[2];
    pipe(fds);
    struct pollfd empty = {.fd = fds[0], .events = POLLIN};
    CHECK_RET("an empty pipe is not ready", poll(&empty, 1, 0), 0);
    long long start = now_ms();
    CHECK_RET("a 30 ms timeout expires", poll(&empty, 1, 30), 0);
    CHECK("after at least 30 ms", now_ms() - start >= 30);
    write(fds[1], "x", 1);
    CHECK_RET("a written pipe is readable", poll(&empty, 1, -1), 1);
    CHECK_EQ("with POLLIN", empty.revents, POLLIN);
    struct pollfd closed = {.fd = 77, .events = POLLIN};
    CHECK_RET("a closed descriptor counts as ready", poll(&closed, 1, 0), 1);
    CHECK_EQ("with POLLNVAL", closed.revents, POLLNVAL);
    struct pollfd ignored = {.fd = -1, .events = POLLIN};
    CHECK_RET("a negative descriptor is ignored", poll(&ignored, 1, 0), 0);
    CHECK_ERR("poll from a bad pointer",
              syscall(SYS_poll, BAD_POINTER, 1, 0), EFAULT);
    struct timespec zero = {0, 0};
    CHECK_RET("ppoll with a zero timeout", ppoll(&empty, 1, &zero, NULL), 1);

    SECTION("select");
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(fds[0], &readable);
    struct timeval tv = {0, 0};
    CHECK_RET("select sees the readable pipe",
              select(fds[0] + 1, &readable, NULL, NULL, &tv), 1);
    CHECK("and marks it", FD_ISSET(fds[0], &readable));
    char byte;
    read(fds[0], &byte, 1);
    FD_ZERO(&readable);
    FD_SET(fds[0], &readable);
    tv.tv_usec = 10000;
    CHECK_RET("select times out on an empty pipe",
              select(fds[0] + 1, &readable, NULL, NULL, &tv), 0);
    FD_ZERO(&readable);
    FD_SET(40, &readable);
    tv.tv_usec = 0;
    CHECK_ERR("select on a closed descriptor",
              select(41, &readable, NULL, NULL, &tv), EBADF);

    SECTION("epoll");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK("epoll_create1", ep >= 0);
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = 1234};
    CHECK_RET("EPOLL_CTL_ADD", epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &event),
              0);
    CHECK_ERR("adding it twice", epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &event),
              EEXIST);
    struct epoll_event got[4];
    CHECK_RET("nothing ready yet", epoll_wait(ep, got, 4, 0), 0);
    write(fds[1], "y", 1);
    CHECK_RET("one event after a write", epoll_wait(ep, got, 4, 100), 1);
    CHECK_EQ("carrying our data", got[0].data.u64, 1234);
    CHECK_EQ("for input", got[0].events, EPOLLIN);
    CHECK_RET("EPOLL_CTL_DEL", epoll_ctl(ep, EPOLL_CTL_DEL, fds[0], NULL), 0);
    CHECK_ERR("deleting it again", epoll_ctl(ep, EPOLL_CTL_DEL, fds[0], NULL),
              ENOENT);
    CHECK_ERR("epoll_ctl on a closed descriptor",
              epoll_ctl(ep, EPOLL_CTL_ADD, 40, &event), EBADF);
    CHECK_ERR("epoll_wait with no room", epoll_wait(ep, got, 0, 0), EINVAL);
    close(ep);

    SECTION("edge-triggered epoll on a pipe");
    {
        /* Linux's pipe wakes its reader on every write and its writer
         * when a read makes a full pipe writable again; an edge-
         * triggered interest reports exactly those. */
        int ends[2];
        CHECK_RET("pipe2", pipe2(ends, O_NONBLOCK), 0);
        int readers = epoll_create1(0), writers = epoll_create1(0);
        struct epoll_event in = {.events = EPOLLIN | EPOLLET};
        struct epoll_event out = {.events = EPOLLOUT | EPOLLET};
        struct epoll_event got[2];
        epoll_ctl(readers, EPOLL_CTL_ADD, ends[0], &in);
        epoll_ctl(writers, EPOLL_CTL_ADD, ends[1], &out);
        CHECK_RET("empty: no input edge", epoll_wait(readers, got, 2, 0), 0);
        CHECK_RET("a write", write(ends[1], "a", 1), 1);
        CHECK_RET("is an edge", epoll_wait(readers, got, 2, 0), 1);
        CHECK_RET("reported once", epoll_wait(readers, got, 2, 0), 0);
        CHECK_RET("a second write", write(ends[1], "b", 1), 1);
        CHECK_RET("is another, unread data or not",
                  epoll_wait(readers, got, 2, 0), 1);
        char byte;
        CHECK_RET("a partial read", read(ends[0], &byte, 1), 1);
        CHECK_RET("is no input edge", epoll_wait(readers, got, 2, 0), 0);
        CHECK_RET("writable at first", epoll_wait(writers, got, 2, 0), 1);
        CHECK_RET("reported once", epoll_wait(writers, got, 2, 0), 0);
        CHECK_RET("the last byte read", read(ends[0], &byte, 1), 1);
        CHECK_RET("is no output edge", epoll_wait(writers, got, 2, 0), 0);
        static char block[4096];
        while (write(ends[1], block, sizeof block) > 0)
            continue;
        CHECK_EQ("until the pipe is full", errno, EAGAIN);
        epoll_wait(writers, got, 2, 0);
        static char drain[65536];
        CHECK("reading it out", read(ends[0], drain, sizeof drain) > 0);
        CHECK_RET("makes it writable: an edge",
                  epoll_wait(writers, got, 2, 0), 1);
        close(ends[1]);
        CHECK_RET("the writer's close is an edge",
                  epoll_wait(readers, got, 2, 0), 1);
        CHECK_EQ("with hang-up", got[0].events & EPOLLHUP, EPOLLHUP);
        close(ends[0]);
        close(readers);
        close(writers);
    }

    SECTION("eventfd");
    int ev = eventfd(3, 0);
    CHECK("eventfd", ev >= 0);
    uint64_t value = 4;
    CHECK_RET("write adds to the counter", write(ev, &value, 8), 8);
    value = 0;
    CHECK_RET("read takes the counter", read(ev, &value, 8), 8);
    CHECK_EQ("which was 3 + 4", value, 7);
    CHECK_ERR("a short read", read(ev, &value, 4), EINVAL);
    close(ev);
    ev = eventfd(0, EFD_NONBLOCK);
    CHECK_ERR("reading a zero counter without blocking",
              read(ev, &value, 8), EAGAIN);
    close(ev);

    SECTION("timerfd");
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    CHECK("timerfd_create", tfd >= 0);
    struct itimerspec spec = {{0, 0}, {0, 20 * 1000 * 1000}};
    /* The clock starts before the timer is armed, so the wait measured
     * can only be longer than the timer's, never shorter. */
    start = now_ms();
    CHECK_RET("arm for 20 ms", timerfd_settime(tfd, 0, &spec, NULL), 0);
    uint64_t expirations = 0;
    CHECK_RET("read waits for the expiry", read(tfd, &expirations, 8), 8);
    CHECK_EQ("one expiration", expirations, 1);
    CHECK("after at least 20 ms", now_ms() - start >= 19);
    close(tfd);
    close(fds[0]);
    close(fds[1]);
    return check_finish();
}
