/*
 * sockets-epoll: an epoll-driven echo server and its clients in one
 * thread, over loopback TCP. The listener is level-triggered; accepted
 * connections are edge-triggered (read until EAGAIN). Twenty
 * non-blocking clients connect, each sends a request in two pieces and
 * reads its echo; then they close, and the server sees EPOLLRDHUP and
 * end of file on each. Also select(2) on a socket.
 */
#include "check.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>

enum { clients = 20 };

struct connection {
    int fd;
    int is_client;
    int index;
    char data[64];
    size_t length;
    int closed;
};

static struct connection table[2 * clients + 1];
static int used;

static struct connection *add(int epoll, int fd, int is_client, int index,
                              unsigned events)
{
    struct connection *c = &table[used++];
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->is_client = is_client;
    c->index = index;
    struct epoll_event event = {.events = events, .data.ptr = c};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    return c;
}

int main(void)
{
    SECTION("setting up");
    int server = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_OK("bind", bind(server, (struct sockaddr *)&address,
                          sizeof address));
    CHECK_OK("listen", listen(server, clients));
    socklen_t length = sizeof address;
    getsockname(server, (struct sockaddr *)&address, &length);
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    CHECK("epoll_create1", epoll >= 0);
    struct connection *listener = add(epoll, server, 0, -1, EPOLLIN);

    struct epoll_event ready[16];
    CHECK_RET("an idle listener is not ready",
              epoll_wait(epoll, ready, 16, 0), 0);

    struct connection *client[clients];
    int in_progress = 0;
    for (int i = 0; i < clients; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0 &&
            errno == EINPROGRESS)
            in_progress++;
        client[i] = add(epoll, fd, 1, i, EPOLLOUT | EPOLLIN | EPOLLRDHUP);
    }
    CHECK_EQ("every connect is in progress", in_progress, clients);

    SECTION("serving");
    int accepted = 0, connected = 0, echoed = 0, sent_first = 0;
    int rounds = 0;
    while (echoed < clients && rounds < 2000) {
        rounds++;
        int n = epoll_wait(epoll, ready, 16, 5000);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++) {
            struct connection *c = ready[i].data.ptr;
            unsigned events = ready[i].events;
            if (c == listener) {
                int fd;
                while ((fd = accept4(server, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    add(epoll, fd, 0, accepted, EPOLLIN | EPOLLET |
                        EPOLLRDHUP);
                    accepted++;
                }
                continue;
            }
            if (!c->is_client) {
                /* Edge-triggered: drain, echo what came. */
                while (1) {
                    char buffer[64];
                    ssize_t got = read(c->fd, buffer, sizeof buffer);
                    if (got <= 0)
                        break;
                    write(c->fd, buffer, (size_t)got);
                }
                continue;
            }
            if (events & EPOLLOUT) {
                int error = -1;
                socklen_t size = sizeof error;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &size);
                if (error == 0)
                    connected++;
                char request[32];
                int len = snprintf(request, sizeof request, "request %02d",
                                   c->index);
                /* In two pieces, so the server reads more than once. */
                write(c->fd, request, 4);
                write(c->fd, request + 4, (size_t)len - 4);
                sent_first++;
                struct epoll_event event = {
                    .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c,
                };
                epoll_ctl(epoll, EPOLL_CTL_MOD, c->fd, &event);
            }
            if (events & EPOLLIN) {
                ssize_t got = read(c->fd, c->data + c->length,
                                   sizeof c->data - 1 - c->length);
                if (got > 0)
                    c->length += (size_t)got;
                if (c->length == 10) {
                    echoed++;
                    epoll_ctl(epoll, EPOLL_CTL_DEL, c->fd, NULL);
                }
            }
        }
    }
    CHECK_EQ("accepted every client", accepted, clients);
    CHECK_EQ("every connect completed", connected, clients);
    CHECK_EQ("every request went out", sent_first, clients);
    CHECK_EQ("every echo came back", echoed, clients);
    int intact = 0;
    for (int i = 0; i < clients; i++) {
        char expected[32];
        snprintf(expected, sizeof expected, "request %02d", i);
        if (client[i]->length == 10 && memcmp(client[i]->data, expected,
                                              10) == 0)
            intact++;
    }
    CHECK_EQ("each its own", intact, clients);

    SECTION("closing");
    for (int i = 0; i < clients; i++)
        close(client[i]->fd);
    int hung_up = 0;
    rounds = 0;
    while (hung_up < clients && rounds < 200) {
        rounds++;
        int n = epoll_wait(epoll, ready, 16, 5000);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++) {
            struct connection *c = ready[i].data.ptr;
            if (c == listener || c->is_client || c->closed)
                continue;
            char buffer[16];
            if ((ready[i].events & EPOLLRDHUP) &&
                read(c->fd, buffer, sizeof buffer) == 0) {
                c->closed = 1;
                hung_up++;
                close(c->fd);
            }
        }
    }
    CHECK_EQ("the server saw every end of file", hung_up, clients);

    SECTION("select on a socket");
    int a = socket(AF_INET, SOCK_STREAM, 0);
    connect(a, (struct sockaddr *)&address, sizeof address);
    int b = -1;
    for (int i = 0; i < 100 && b < 0; i++) {
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(server, &readable);
        struct timeval wait = {1, 0};
        if (select(server + 1, &readable, NULL, NULL, &wait) == 1)
            b = accept(server, NULL, NULL);
    }
    CHECK("select saw the connection", b >= 0);
    fd_set readable, writable;
    FD_ZERO(&readable);
    FD_ZERO(&writable);
    FD_SET(b, &readable);
    FD_SET(b, &writable);
    struct timeval zero = {0, 0};
    CHECK_RET("writable, not readable",
              select(b + 1, &readable, &writable, NULL, &zero), 1);
    CHECK("the write bit", FD_ISSET(b, &writable));
    write(a, "x", 1);
    FD_ZERO(&readable);
    FD_SET(b, &readable);
    struct timeval second = {1, 0};
    CHECK_RET("readable once written",
              select(b + 1, &readable, NULL, NULL, &second), 1);
    close(a);
    close(b);
    close(server);
    close(epoll);
    return check_finish();
}
