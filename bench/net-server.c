/*
 * net-server: the guest's side of the network benchmarks. It runs
 * unchanged in Villa and in the Linux baseline guest, behind QEMU's
 * user network and a host port forward; bench/net-client.c on the host
 * drives it and does the timing, so that both guests are measured by
 * the same clock.
 *
 *   net-server stream PORT BYTES
 *       Serves two connections, one after the other. The first is an
 *       upload: the host sends until it shuts down its side, and the
 *       server answers with the count it received. The second is a
 *       download: the server sends BYTES and closes. Then it exits.
 *   net-server http PORT
 *       A small static HTTP/1.1 server with keep-alive, on one thread
 *       with epoll, as event-loop servers are written: every GET gets
 *       the same 1 KiB page; GET /quit ends it.
 *
 * Each accepted connection first receives the line "ready\n" in stream
 * mode. The host needs it: QEMU's user network accepts a forwarded
 * connection at once, before the guest listens, and closes it if the
 * guest refuses, so a connection is only known to reach the program
 * once the program has said something.
 *
 * It prints what it moved on stdout ("note" lines, for the record) and
 * ends with status 0; a failed call ends it with status 1 and the call's
 * name on stderr.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    BENCH_CHECK(fd);
    int one = 1;
    BENCH_CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    struct sockaddr_in address = {
        .sin_family = AF_INET,
        .sin_port = htons((unsigned short)port),
        .sin_addr.s_addr = htonl(INADDR_ANY),
    };
    BENCH_CHECK(bind(fd, (struct sockaddr *)&address, sizeof address));
    BENCH_CHECK(listen(fd, 128));
    return fd;
}

static void write_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        BENCH_CHECK(n);
        data += n;
        length -= (size_t)n;
    }
}

static char buffer[1 << 16];

static int stream(int port, long long bytes)
{
    int listener = listen_on(port);

    int upload = accept(listener, NULL, NULL);
    BENCH_CHECK(upload);
    write_all(upload, "ready\n", 6);
    long long received = 0;
    ssize_t n;
    while ((n = read(upload, buffer, sizeof buffer)) > 0)
        received += n;
    BENCH_CHECK(n);
    char answer[64];
    int length = snprintf(answer, sizeof answer, "%lld\n", received);
    write_all(upload, answer, (size_t)length);
    BENCH_CHECK(close(upload));

    int download = accept(listener, NULL, NULL);
    BENCH_CHECK(download);
    write_all(download, "ready\n", 6);
    memset(buffer, 'v', sizeof buffer);
    for (long long sent = 0; sent < bytes;) {
        size_t chunk = bytes - sent < (long long)sizeof buffer
                           ? (size_t)(bytes - sent) : sizeof buffer;
        write_all(download, buffer, chunk);
        sent += (long long)chunk;
    }
    /* Linux's close() returns with data still queued, and the guest
     * stops when the program exits: wait for the host to close its end,
     * which it does once it has every byte. */
    BENCH_CHECK(shutdown(download, SHUT_WR));
    while ((n = read(download, buffer, sizeof buffer)) > 0)
        continue;
    BENCH_CHECK(close(download));
    bench_print("note received %lld bytes, sent %lld\n", received, bytes);
    return 0;
}

/* One keep-alive connection's unparsed request bytes. */
struct client {
    int fd;
    size_t used;
    char request[4096];
};

static char page[1024];
static char reply[2048];
static size_t reply_length;

/* Answers every complete request in the client's buffer; returns -1
 * when the connection should close, 1 after GET /quit, else 0. */
static int serve_requests(struct client *c, long *served)
{
    for (;;) {
        c->request[c->used] = 0;
        char *end = strstr(c->request, "\r\n\r\n");
        if (end == NULL)
            return c->used + 1 >= sizeof c->request ? -1 : 0;
        int quit = strncmp(c->request, "GET /quit ", 10) == 0;
        if (strncmp(c->request, "GET ", 4) != 0)
            return -1;
        write_all(c->fd, reply, reply_length);
        (*served)++;
        if (quit)
            return 1;
        size_t consumed = (size_t)(end + 4 - c->request);
        memmove(c->request, c->request + consumed, c->used - consumed);
        c->used -= consumed;
    }
}

static int http(int port)
{
    memset(page, 'v', sizeof page - 1);
    page[sizeof page - 1] = '\n';
    reply_length = (size_t)snprintf(
        reply, sizeof reply,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        "Content-Length: %zu\r\n\r\n%.*s",
        sizeof page, (int)sizeof page, page);

    int listener = listen_on(port);
    int epoll = epoll_create1(0);
    BENCH_CHECK(epoll);
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL};
    BENCH_CHECK(epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event));
    long served = 0, connections = 0;
    for (;;) {
        struct epoll_event ready[64];
        int n = epoll_wait(epoll, ready, 64, -1);
        if (n < 0 && errno == EINTR)
            continue;
        BENCH_CHECK(n);
        for (int i = 0; i < n; i++) {
            if (ready[i].data.ptr == NULL) {
                int fd = accept(listener, NULL, NULL);
                BENCH_CHECK(fd);
                int one = 1;
                BENCH_CHECK(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
                                       sizeof one));
                struct client *c = calloc(1, sizeof *c);
                if (c == NULL)
                    bench_fail("calloc");
                c->fd = fd;
                struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
                BENCH_CHECK(epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &e));
                connections++;
                continue;
            }
            struct client *c = ready[i].data.ptr;
            ssize_t got = read(c->fd, c->request + c->used,
                               sizeof c->request - 1 - c->used);
            int outcome = -1;
            if (got > 0) {
                c->used += (size_t)got;
                outcome = serve_requests(c, &served);
            }
            if (outcome == 1) {
                bench_print("note served %ld requests on %ld connections\n",
                            served, connections);
                return 0;
            }
            if (outcome < 0) {
                BENCH_CHECK(epoll_ctl(epoll, EPOLL_CTL_DEL, c->fd, NULL));
                close(c->fd);
                free(c);
            }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "stream") == 0)
        return stream(atoi(argv[2]), atoll(argv[3]));
    if (argc == 3 && strcmp(argv[1], "http") == 0)
        return http(atoi(argv[2]));
    bench_print("usage: net-server stream PORT BYTES | http PORT\n");
    return 2;
}
