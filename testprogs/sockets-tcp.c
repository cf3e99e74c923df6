/*
 * sockets-tcp: TCP over loopback in one process. A listener on
 * 127.0.0.1 (port chosen by the kernel, never printed), a blocking
 * client, a client in a second thread, a megabyte through a
 * non-blocking pair driven by poll(2), half close with shutdown(2),
 * non-blocking connect (EINPROGRESS, then SO_ERROR 0), connection
 * refused by a port nobody listens on, and a write to a reset
 * connection: ECONNRESET or EPIPE, then EPIPE with SIGPIPE.
 */
#include "check.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>

static struct sockaddr_in loopback(unsigned short port)
{
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

/* A listener on 127.0.0.1 with a port the kernel picks. */
static int listener(struct sockaddr_in *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = loopback(0);
    bind(fd, (struct sockaddr *)&address, sizeof address);
    listen(fd, 16);
    socklen_t length = sizeof *bound;
    getsockname(fd, (struct sockaddr *)bound, &length);
    return fd;
}

static int same_address(const struct sockaddr_in *a,
                        const struct sockaddr_in *b)
{
    return a->sin_family == b->sin_family && a->sin_port == b->sin_port &&
           a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/* Reads exactly `length` bytes (a blocking socket), or fewer at EOF. */
static size_t read_fully(int fd, char *buffer, size_t length)
{
    size_t done = 0;
    while (done < length) {
        ssize_t n = read(fd, buffer + done, length - done);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    return done;
}

static struct sockaddr_in server_address;

/* The second thread: connects, sends a request, reads the answer. */
static void *client_thread(void *unused)
{
    (void)unused;
    static char answer[64];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&server_address,
                sizeof server_address) != 0)
        return "connect failed";
    const char request[] = "GET /thread";
    if (write(fd, request, sizeof request - 1) != sizeof request - 1)
        return "write failed";
    shutdown(fd, SHUT_WR);
    size_t n = read_fully(fd, answer, sizeof answer - 1);
    answer[n] = 0;
    close(fd);
    return answer;
}

static volatile sig_atomic_t pipe_signals, alarms;

static void on_alarm(int signal)
{
    (void)signal;
    alarms++;
}

static void on_sigpipe(int signal)
{
    (void)signal;
    pipe_signals++;
}

int main(void)
{
    SECTION("listen and connect");
    int server = listener(&server_address);
    CHECK("the listener has a port", server_address.sin_port != 0);
    CHECK_EQ("on 127.0.0.1", ntohl(server_address.sin_addr.s_addr),
             INADDR_LOOPBACK);
    int type = 0;
    socklen_t size = sizeof type;
    CHECK_OK("SO_TYPE", getsockopt(server, SOL_SOCKET, SO_TYPE, &type,
                                   &size));
    CHECK_EQ("is SOCK_STREAM", type, SOCK_STREAM);
    int accepting = 0;
    size = sizeof accepting;
    CHECK_OK("SO_ACCEPTCONN", getsockopt(server, SOL_SOCKET, SO_ACCEPTCONN,
                                         &accepting, &size));
    CHECK_EQ("is set on a listener", accepting, 1);

    int client = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_RET("blocking connect",
              connect(client, (struct sockaddr *)&server_address,
                      sizeof server_address), 0);
    struct sockaddr_in peer, local, accepted_local;
    socklen_t length = sizeof peer;
    int connection = accept(server, (struct sockaddr *)&peer, &length);
    CHECK("accept", connection >= 0);
    CHECK_EQ("accept's address length", length, sizeof peer);
    length = sizeof local;
    getsockname(client, (struct sockaddr *)&local, &length);
    CHECK("accept names the client's address", same_address(&peer, &local));
    length = sizeof accepted_local;
    getsockname(connection, (struct sockaddr *)&accepted_local, &length);
    CHECK("the accepted socket is the listener's address",
          same_address(&accepted_local, &server_address));
    length = sizeof peer;
    CHECK_OK("getpeername", getpeername(client, (struct sockaddr *)&peer,
                                        &length));
    CHECK("the client's peer is the listener",
          same_address(&peer, &server_address));

    SECTION("data both ways");
    CHECK_RET("write", write(client, "hello, server", 13), 13);
    char buffer[256];
    struct pollfd arrival = {.fd = connection, .events = POLLIN};
    CHECK_RET("it arrives", poll(&arrival, 1, 5000), 1);
    int waiting = -1;
    CHECK_RET("FIONREAD", ioctl(connection, FIONREAD, &waiting), 0);
    CHECK_EQ("counts it all", waiting, 13);
    CHECK_RET("MSG_PEEK", recv(connection, buffer, 5, MSG_PEEK), 5);
    CHECK_MEM("sees the start", buffer, "hello", 5);
    CHECK_RET("read what was written", read_fully(connection, buffer, 13),
              13);
    CHECK_MEM("the bytes", buffer, "hello, server", 13);
    CHECK_RET("send", send(connection, "hi", 2, 0), 2);
    CHECK_RET("recv", recv(client, buffer, sizeof buffer, 0), 2);
    struct iovec parts[3] = {
        {.iov_base = "one ", .iov_len = 4},
        {.iov_base = "two ", .iov_len = 4},
        {.iov_base = "three", .iov_len = 5},
    };
    CHECK_RET("writev", writev(client, parts, 3), 13);
    CHECK_RET("MSG_WAITALL gathers all", recv(connection, buffer, 13,
                                              MSG_WAITALL), 13);
    CHECK_MEM("in order", buffer, "one two three", 13);
    CHECK_RET("sendto ignores an address on a stream",
              sendto(client, "x", 1, 0, (struct sockaddr *)&server_address,
                     sizeof server_address), 1);
    struct sockaddr_in from;
    socklen_t from_length = sizeof from;
    CHECK_RET("recvfrom on a stream",
              recvfrom(connection, buffer, sizeof buffer, 0,
                       (struct sockaddr *)&from, &from_length), 1);
    CHECK_EQ("gives no address", from_length, 0);
    CHECK_ERR("nothing to read: MSG_DONTWAIT",
              recv(client, buffer, sizeof buffer, MSG_DONTWAIT), EAGAIN);

    SECTION("options");
    int value = 1;
    CHECK_OK("TCP_NODELAY", setsockopt(client, IPPROTO_TCP, TCP_NODELAY,
                                       &value, sizeof value));
    value = 0;
    size = sizeof value;
    getsockopt(client, IPPROTO_TCP, TCP_NODELAY, &value, &size);
    CHECK_EQ("reads back as set", value != 0, 1);
    value = 1;
    CHECK_OK("SO_KEEPALIVE", setsockopt(client, SOL_SOCKET, SO_KEEPALIVE,
                                        &value, sizeof value));
    value = 30;
    CHECK_OK("TCP_KEEPIDLE", setsockopt(client, IPPROTO_TCP, TCP_KEEPIDLE,
                                        &value, sizeof value));
    value = 0;
    size = sizeof value;
    getsockopt(client, IPPROTO_TCP, TCP_KEEPIDLE, &value, &size);
    CHECK_EQ("TCP_KEEPIDLE reads back", value, 30);
    value = 0;
    CHECK_ERR("TCP_KEEPCNT of 0", setsockopt(client, IPPROTO_TCP,
                                             TCP_KEEPCNT, &value,
                                             sizeof value), EINVAL);
    value = 0x10;
    CHECK_OK("IP_TOS", setsockopt(client, IPPROTO_IP, IP_TOS, &value,
                                  sizeof value));
    value = 0;
    size = sizeof value;
    getsockopt(client, IPPROTO_IP, IP_TOS, &value, &size);
    CHECK_EQ("IP_TOS reads back", value, 0x10);
    value = 65536;
    CHECK_OK("SO_RCVBUF", setsockopt(client, SOL_SOCKET, SO_RCVBUF, &value,
                                     sizeof value));
    value = 0;
    size = sizeof value;
    getsockopt(client, SOL_SOCKET, SO_RCVBUF, &value, &size);
    CHECK_EQ("SO_RCVBUF is doubled", value, 131072);
    struct linger linger = {.l_onoff = 0, .l_linger = 0};
    CHECK_OK("SO_LINGER off", setsockopt(client, SOL_SOCKET, SO_LINGER,
                                         &linger, sizeof linger));
    int domain = 0;
    size = sizeof domain;
    getsockopt(client, SOL_SOCKET, SO_DOMAIN, &domain, &size);
    CHECK_EQ("SO_DOMAIN", domain, AF_INET);
    char small = 0;
    size = 1;
    CHECK_OK("a short option buffer",
             getsockopt(client, SOL_SOCKET, SO_TYPE, &small, &size));
    CHECK_EQ("is filled as far as it goes", size, 1);

    SECTION("timeouts");
    struct timeval limit = {.tv_sec = 0, .tv_usec = 50000};
    CHECK_OK("SO_RCVTIMEO", setsockopt(client, SOL_SOCKET, SO_RCVTIMEO,
                                       &limit, sizeof limit));
    struct timeval seen = {0, 0};
    size = sizeof seen;
    getsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &seen, &size);
    /* Linux rounds up to its clock tick (HZ), so allow a little more. */
    CHECK("reads back", seen.tv_sec == 0 && seen.tv_usec >= 50000 &&
          seen.tv_usec <= 60000);
    struct timespec before, after;
    clock_gettime(CLOCK_MONOTONIC, &before);
    CHECK_ERR("a read times out", read(client, buffer, sizeof buffer),
              EAGAIN);
    clock_gettime(CLOCK_MONOTONIC, &after);
    long waited = (after.tv_sec - before.tv_sec) * 1000 +
                  (after.tv_nsec - before.tv_nsec) / 1000000;
    CHECK("after the timeout", waited >= 45);
    limit.tv_usec = 2000000;
    CHECK_ERR("microseconds out of range",
              setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit,
                         sizeof limit), EDOM);
    limit.tv_usec = 0;
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_alarm;
    sigaction(SIGALRM, &action, NULL);
    struct itimerval soon = {.it_value = {.tv_sec = 0, .tv_usec = 20000}};
    setitimer(ITIMER_REAL, &soon, NULL);
    CHECK_ERR("a signal without SA_RESTART interrupts a read",
              read(client, buffer, sizeof buffer), EINTR);
    CHECK_EQ("the handler ran", alarms, 1);
    /* socket(7): with a receive timeout set, SA_RESTART does not
     * restart the call. */
    action.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &action, NULL);
    limit.tv_sec = 1;
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    setitimer(ITIMER_REAL, &soon, NULL);
    CHECK_ERR("nor, with a timeout, one with SA_RESTART",
              read(client, buffer, sizeof buffer), EINTR);
    CHECK_EQ("the handler ran again", alarms, 2);
    limit.tv_sec = 0;
    limit.tv_usec = 0;
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    value = 1;
    CHECK_OK("SO_REUSEPORT", setsockopt(client, SOL_SOCKET, SO_REUSEPORT,
                                        &value, sizeof value));
    value = 0;
    size = sizeof value;
    getsockopt(client, SOL_SOCKET, SO_REUSEPORT, &value, &size);
    CHECK_EQ("reads back", value, 1);

    SECTION("half close");
    CHECK_RET("shutdown(SHUT_WR)", shutdown(client, SHUT_WR), 0);
    CHECK_RET("the peer reads end of file", read(connection, buffer, 10), 0);
    struct pollfd event = {.fd = connection, .events = POLLIN | POLLRDHUP};
    CHECK_RET("poll sees it", poll(&event, 1, 1000), 1);
    CHECK("with POLLRDHUP", event.revents & POLLRDHUP);
    CHECK_RET("the other direction still works",
              write(connection, "bye", 3), 3);
    CHECK_RET("the client reads it", read_fully(client, buffer, 3), 3);
    close(connection);
    CHECK_RET("then end of file", read(client, buffer, 10), 0);
    close(client);

    SECTION("a client thread");
    pthread_t thread;
    pthread_create(&thread, NULL, client_thread, NULL);
    connection = accept(server, NULL, NULL);
    CHECK("accept waits for the thread's connection", connection >= 0);
    size_t n = read_fully(connection, buffer, sizeof buffer - 1);
    buffer[n] = 0;
    CHECK_STR("the request, to its end", buffer, "GET /thread");
    CHECK_RET("the answer", write(connection, "200 OK", 6), 6);
    close(connection);
    void *answer;
    pthread_join(thread, &answer);
    CHECK_STR("the thread read it", answer, "200 OK");

    SECTION("a megabyte, non-blocking");
    enum { total = 1 << 20 };
    char *out = malloc(total), *in = malloc(total);
    for (int i = 0; i < total; i++)
        out[i] = (char)(i * 7 + i / 4096);
    client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int result = connect(client, (struct sockaddr *)&server_address,
                         sizeof server_address);
    CHECK("non-blocking connect is under way",
          result == -1 && errno == EINPROGRESS);
    struct pollfd writable = {.fd = client, .events = POLLOUT};
    CHECK_RET("poll: connected", poll(&writable, 1, 5000), 1);
    int error = -1;
    size = sizeof error;
    CHECK_OK("SO_ERROR", getsockopt(client, SOL_SOCKET, SO_ERROR, &error,
                                    &size));
    CHECK_EQ("is 0", error, 0);
    connection = accept4(server, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    CHECK("accept4", connection >= 0);
    CHECK("with O_NONBLOCK", fcntl(connection, F_GETFL) & O_NONBLOCK);
    CHECK("and FD_CLOEXEC", fcntl(connection, F_GETFD) & FD_CLOEXEC);
    size_t sent = 0, received = 0;
    int rounds = 0;
    while (received < total && rounds < 100000) {
        rounds++;
        struct pollfd fds[2] = {
            {.fd = client, .events = sent < total ? POLLOUT : 0},
            {.fd = connection, .events = POLLIN},
        };
        if (poll(fds, 2, 5000) <= 0)
            break;
        if (fds[0].revents & POLLOUT) {
            ssize_t w = write(client, out + sent, total - sent);
            if (w > 0)
                sent += (size_t)w;
            else if (errno != EAGAIN)
                break;
        }
        if (fds[1].revents & POLLIN) {
            ssize_t r = read(connection, in + received, total - received);
            if (r > 0)
                received += (size_t)r;
            else if (r == 0 || errno != EAGAIN)
                break;
        }
    }
    CHECK_EQ("every byte arrived", received, total);
    CHECK("intact", memcmp(in, out, total) == 0);
    CHECK_ERR("an empty non-blocking read", read(connection, in, 10),
              EAGAIN);
    close(client);
    close(connection);
    free(in);
    free(out);

    SECTION("refused");
    int bound = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in closed = loopback(0);
    bind(bound, (struct sockaddr *)&closed, sizeof closed);
    length = sizeof closed;
    getsockname(bound, (struct sockaddr *)&closed, &length);
    client = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_ERR("a bound port that does not listen",
              connect(client, (struct sockaddr *)&closed, sizeof closed),
              ECONNREFUSED);
    error = -1;
    size = sizeof error;
    getsockopt(client, SOL_SOCKET, SO_ERROR, &error, &size);
    CHECK_EQ("the error was reported, not kept", error, 0);
    close(client);
    client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK_ERR("non-blocking: in progress",
              connect(client, (struct sockaddr *)&closed, sizeof closed),
              EINPROGRESS);
    writable.fd = client;
    writable.events = POLLOUT;
    CHECK_RET("poll reports the end", poll(&writable, 1, 5000), 1);
    CHECK("with POLLERR", writable.revents & POLLERR);
    size = sizeof error;
    getsockopt(client, SOL_SOCKET, SO_ERROR, &error, &size);
    CHECK_EQ("SO_ERROR is ECONNREFUSED", error, ECONNREFUSED);
    size = sizeof error;
    getsockopt(client, SOL_SOCKET, SO_ERROR, &error, &size);
    CHECK_EQ("and reading it cleared it", error, 0);
    close(client);
    close(bound);

    SECTION("writing to a reset connection");
    signal(SIGPIPE, on_sigpipe);
    client = socket(AF_INET, SOCK_STREAM, 0);
    connect(client, (struct sockaddr *)&server_address,
            sizeof server_address);
    connection = accept(server, NULL, NULL);
    close(connection);
    /* The first write reaches a closed socket, whose answer is a reset;
     * what follows fails. */
    int failures = 0, last = 0;
    for (int i = 0; i < 50 && !failures; i++) {
        if (send(client, "data", 4, MSG_NOSIGNAL) < 0) {
            failures++;
            last = errno;
        } else {
            struct timespec pause = {0, 2000000};
            nanosleep(&pause, NULL);
        }
    }
    CHECK("a later send fails", failures == 1);
    CHECK("with ECONNRESET or EPIPE", last == ECONNRESET || last == EPIPE);
    CHECK_EQ("MSG_NOSIGNAL raised no SIGPIPE", pipe_signals, 0);
    if (last == ECONNRESET)
        send(client, "data", 4, MSG_NOSIGNAL);
    CHECK_ERR("then EPIPE", send(client, "data", 4, 0), EPIPE);
    CHECK_EQ("with one SIGPIPE", pipe_signals, 1);
    CHECK_ERR("write too", write(client, "data", 4), EPIPE);
    CHECK_EQ("another SIGPIPE", pipe_signals, 2);
    close(client);
    close(server);
    return check_finish();
}
