/*
 * echo-server: an epoll echo server for the end-to-end network test
 * (Tests/VillaTests/NetworkTests.swift), not a conformance program. On
 * PORT (argv[1]) it echoes every TCP connection's bytes back and every
 * UDP datagram to its sender, all from one thread with non-blocking
 * sockets. A UDP datagram "quit" ends it; it then prints how many TCP
 * connections it served and how many bytes and datagrams it echoed,
 * and on stderr the most connections it held open at once.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* What one connection still has to send back. */
struct pending {
    int fd;
    char data[65536];
    size_t start, end;
};

static int bound_socket(int type, int port)
{
    int fd = socket(AF_INET, type | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {
        .sin_family = AF_INET,
        .sin_port = htons((unsigned short)port),
        .sin_addr.s_addr = htonl(INADDR_ANY),
    };
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("echo-server: bind");
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: echo-server PORT\n");
        return 2;
    }
    int port = atoi(argv[1]);
    int listener = bound_socket(SOCK_STREAM, port);
    if (listen(listener, 128) != 0) {
        perror("echo-server: listen");
        return 1;
    }
    int datagrams = bound_socket(SOCK_DGRAM, port);
    int epoll = epoll_create1(0);
    /* Data 1 and 2 mark the two servers; connections carry pointers. */
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = 1};
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
    event.data.u64 = 2;
    epoll_ctl(epoll, EPOLL_CTL_ADD, datagrams, &event);

    long connections = 0, bytes = 0, echoed_datagrams = 0;
    long open_now = 0, open_peak = 0;
    int running = 1;
    while (running) {
        struct epoll_event ready[64];
        int n = epoll_wait(epoll, ready, 64, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            perror("echo-server: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (ready[i].data.u64 == 1) {
                int fd;
                while ((fd = accept4(listener, NULL, NULL,
                                     SOCK_NONBLOCK)) >= 0) {
                    struct pending *p = calloc(1, sizeof *p);
                    p->fd = fd;
                    struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP,
                                            .data.ptr = p};
                    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &e);
                    connections++;
                    if (++open_now > open_peak)
                        open_peak = open_now;
                }
                continue;
            }
            if (ready[i].data.u64 == 2) {
                char message[2048];
                struct sockaddr_in from;
                socklen_t length = sizeof from;
                ssize_t got;
                while ((got = recvfrom(datagrams, message, sizeof message, 0,
                                       (struct sockaddr *)&from,
                                       &length)) >= 0) {
                    if (got == 4 && memcmp(message, "quit", 4) == 0) {
                        running = 0;
                        break;
                    }
                    sendto(datagrams, message, (size_t)got, 0,
                           (struct sockaddr *)&from, length);
                    echoed_datagrams++;
                    length = sizeof from;
                }
                continue;
            }
            struct pending *p = ready[i].data.ptr;
            int finished = 0;
            if (ready[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP |
                                   EPOLLERR)) {
                if (p->start == p->end) {
                    ssize_t got = read(p->fd, p->data, sizeof p->data);
                    if (got > 0) {
                        p->start = 0;
                        p->end = (size_t)got;
                        bytes += got;
                    } else if (got == 0 || errno != EAGAIN) {
                        finished = 1;
                    }
                }
            }
            while (!finished && p->start < p->end) {
                ssize_t sent = write(p->fd, p->data + p->start,
                                     p->end - p->start);
                if (sent > 0) {
                    p->start += (size_t)sent;
                } else if (errno == EAGAIN) {
                    break;
                } else {
                    finished = 1;
                }
            }
            if (finished) {
                epoll_ctl(epoll, EPOLL_CTL_DEL, p->fd, NULL);
                close(p->fd);
                free(p);
                open_now--;
                continue;
            }
            /* Wait for room to write the rest, or for more to read. */
            struct epoll_event e = {
                .events = p->start < p->end ? EPOLLOUT : EPOLLIN | EPOLLRDHUP,
                .data.ptr = p,
            };
            epoll_ctl(epoll, EPOLL_CTL_MOD, p->fd, &e);
        }
    }
    printf("tcp connections %ld, bytes %ld; udp datagrams %ld\n",
           connections, bytes, echoed_datagrams);
    fprintf(stderr, "at most %ld connections open at once\n", open_peak);
    return 0;
}
