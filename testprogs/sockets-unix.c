/*
 * sockets-unix: AF_UNIX sockets for local IPC. socketpair(2) streams
 * (both directions, half close, end of file, EPIPE with SIGPIPE, peeking,
 * poll) and datagrams (boundaries, truncation); a stream server bound to
 * a path in /tmp (the socket file, getsockname, accept, a second client
 * in a thread); abstract names; datagrams sent to a bound path; and the
 * errors of names that are taken, missing or not sockets.
 */
#include "check.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static volatile sig_atomic_t pipe_signals;

static void on_sigpipe(int signal)
{
    (void)signal;
    pipe_signals++;
}

/* A sockaddr_un for `path`, and its length as bind(2) wants it. */
static socklen_t unix_address(struct sockaddr_un *address, const char *path)
{
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    strcpy(address->sun_path, path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
                       strlen(path) + 1);
}

/* An abstract name: a NUL, then `name`; the length counts no final NUL. */
static socklen_t abstract_address(struct sockaddr_un *address,
                                  const char *name)
{
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    memcpy(address->sun_path + 1, name, strlen(name));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                       strlen(name));
}

/* Names carry the pid (never printed): the harness runs builds of one
 * program side by side on the host. */
static char socket_path[64], dgram_path[64], abstract_name[64];

static void *thread_client(void *unused)
{
    (void)unused;
    struct sockaddr_un address;
    socklen_t length = unix_address(&address, socket_path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&address, length) != 0)
        return "connect failed";
    static char reply[32];
    write(fd, "from the thread", 15);
    ssize_t n = read(fd, reply, sizeof reply - 1);
    reply[n > 0 ? n : 0] = 0;
    close(fd);
    return reply;
}

int main(void)
{
    signal(SIGPIPE, on_sigpipe);
    snprintf(socket_path, sizeof socket_path, "/tmp/villa-unix-%d.sock",
             (int)getpid());
    snprintf(dgram_path, sizeof dgram_path, "/tmp/villa-unix-%d.dgram",
             (int)getpid());
    snprintf(abstract_name, sizeof abstract_name, "villa-abstract-%d",
             (int)getpid());

    SECTION("a stream pair");
    int pair[2];
    CHECK_RET("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    CHECK_RET("write one way", write(pair[0], "ping", 4), 4);
    char buffer[256];
    CHECK_RET("read it", read(pair[1], buffer, sizeof buffer), 4);
    CHECK_MEM("the bytes", buffer, "ping", 4);
    CHECK_RET("and back", write(pair[1], "pong!", 5), 5);
    CHECK_RET("peek", recv(pair[0], buffer, sizeof buffer, MSG_PEEK), 5);
    CHECK_RET("the peeked bytes are still there",
              recv(pair[0], buffer, 3, 0), 3);
    CHECK_MEM("from the start", buffer, "pon", 3);
    CHECK_RET("the rest", read(pair[0], buffer, sizeof buffer), 2);
    struct stat status;
    fstat(pair[0], &status);
    CHECK("fstat says S_IFSOCK", S_ISSOCK(status.st_mode));
    int type = 0;
    socklen_t size = sizeof type;
    getsockopt(pair[0], SOL_SOCKET, SO_TYPE, &type, &size);
    CHECK_EQ("SO_TYPE", type, SOCK_STREAM);
    struct sockaddr_un name;
    socklen_t length = sizeof name;
    CHECK_OK("getsockname", getsockname(pair[0], (struct sockaddr *)&name,
                                        &length));
    CHECK_EQ("an unnamed socket's name is the family alone", length,
             sizeof(sa_family_t));
    length = sizeof name;
    CHECK_OK("getpeername", getpeername(pair[0], (struct sockaddr *)&name,
                                        &length));
    CHECK_EQ("is unnamed too", length, sizeof(sa_family_t));
    struct pollfd events[2] = {
        {.fd = pair[0], .events = POLLIN | POLLOUT},
        {.fd = pair[1], .events = POLLIN | POLLOUT},
    };
    CHECK_RET("poll: both writable", poll(events, 2, 0), 2);
    CHECK_EQ("nothing to read", events[0].revents, POLLOUT);

    SECTION("half close and end of file");
    CHECK_RET("shutdown(SHUT_WR)", shutdown(pair[0], SHUT_WR), 0);
    CHECK_RET("the peer reads end of file", read(pair[1], buffer, 10), 0);
    CHECK_ERR("writing after it", write(pair[0], "x", 1), EPIPE);
    CHECK_EQ("raised SIGPIPE", pipe_signals, 1);
    CHECK_ERR("MSG_NOSIGNAL", send(pair[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    CHECK_EQ("raises none", pipe_signals, 1);
    CHECK_RET("the other way still works", write(pair[1], "late", 4), 4);
    CHECK_RET("and reads", read(pair[0], buffer, sizeof buffer), 4);
    close(pair[1]);
    CHECK_RET("after close: end of file", read(pair[0], buffer, 10), 0);
    length = sizeof name;
    CHECK_OK("getpeername still works",
             getpeername(pair[0], (struct sockaddr *)&name, &length));
    events[0].events = POLLIN;
    CHECK_RET("poll sees it", poll(events, 1, 0), 1);
    CHECK("with POLLHUP", events[0].revents & POLLHUP);
    close(pair[0]);

    SECTION("a large write with a blocking reader");
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair);
    CHECK("SOCK_NONBLOCK", fcntl(pair[0], F_GETFL) & O_NONBLOCK);
    size_t queued = 0;
    while (1) {
        ssize_t n = write(pair[0], buffer, sizeof buffer);
        if (n < 0)
            break;
        queued += (size_t)n;
    }
    CHECK_EQ("a full buffer: EAGAIN", errno, EAGAIN);
    CHECK("after some bytes", queued > 4096);
    events[0].fd = pair[0];
    events[0].events = POLLOUT;
    CHECK_RET("not writable then", poll(events, 1, 0), 0);
    size_t drained = 0;
    while (1) {
        ssize_t n = read(pair[1], buffer, sizeof buffer);
        if (n <= 0)
            break;
        drained += (size_t)n;
    }
    CHECK("every byte came out", drained == queued);
    CHECK_RET("writable again", poll(events, 1, 0), 1);
    close(pair[0]);
    close(pair[1]);

    SECTION("a datagram pair");
    CHECK_RET("socketpair", socketpair(AF_UNIX, SOCK_DGRAM, 0, pair), 0);
    send(pair[0], "first", 5, 0);
    send(pair[0], "second", 6, 0);
    send(pair[0], "", 0, 0);
    CHECK_RET("one datagram per read", read(pair[1], buffer, sizeof buffer),
              5);
    CHECK_RET("a short read cuts it", recv(pair[1], buffer, 3, 0), 3);
    CHECK_RET("an empty one", recv(pair[1], buffer, sizeof buffer, 0), 0);
    CHECK_ERR("then nothing",
              recv(pair[1], buffer, sizeof buffer, MSG_DONTWAIT), EAGAIN);
    send(pair[1], "0123456789", 10, 0);
    CHECK_RET("MSG_TRUNC", recv(pair[0], buffer, 2, MSG_TRUNC), 10);
    close(pair[0]);
    close(pair[1]);

    SECTION("a server on a path");
    unlink(socket_path);
    int server = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address;
    length = unix_address(&address, socket_path);
    CHECK_RET("bind", bind(server, (struct sockaddr *)&address, length), 0);
    CHECK_RET("the name is a socket file", stat(socket_path, &status), 0);
    CHECK("S_IFSOCK", S_ISSOCK(status.st_mode));
    length = sizeof name;
    getsockname(server, (struct sockaddr *)&name, &length);
    CHECK_EQ("getsockname's length", length,
             offsetof(struct sockaddr_un, sun_path) +
             strlen(socket_path) + 1);
    CHECK("and path", strcmp(name.sun_path, socket_path) == 0);
    CHECK_RET("listen", listen(server, 4), 0);
    int client = socket(AF_UNIX, SOCK_STREAM, 0);
    length = unix_address(&address, socket_path);
    CHECK_RET("connect before accept", connect(client,
                                               (struct sockaddr *)&address,
                                               length), 0);
    length = sizeof name;
    int connection = accept(server, (struct sockaddr *)&name, &length);
    CHECK("accept", connection >= 0);
    CHECK_EQ("the client is unnamed", length, sizeof(sa_family_t));
    length = sizeof name;
    getpeername(client, (struct sockaddr *)&name, &length);
    CHECK("the client's peer is the path",
          strcmp(name.sun_path, socket_path) == 0);
    CHECK_RET("send", write(client, "over the path", 13), 13);
    CHECK_RET("receive", read(connection, buffer, sizeof buffer), 13);
    close(client);
    close(connection);
    pthread_t thread;
    pthread_create(&thread, NULL, thread_client, NULL);
    connection = accept(server, NULL, NULL);
    CHECK("accept waits for a thread's connect", connection >= 0);
    ssize_t n = read(connection, buffer, sizeof buffer - 1);
    buffer[n > 0 ? n : 0] = 0;
    CHECK_STR("its message", buffer, "from the thread");
    write(connection, "answered", 8);
    void *reply;
    pthread_join(thread, &reply);
    CHECK_STR("the thread's reply", reply, "answered");
    close(connection);

    SECTION("names");
    int again = socket(AF_UNIX, SOCK_STREAM, 0);
    length = unix_address(&address, socket_path);
    CHECK_ERR("a bound path is taken",
              bind(again, (struct sockaddr *)&address, length), EADDRINUSE);
    close(server);
    client = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR("the file outlives its server",
              connect(client, (struct sockaddr *)&address, length),
              ECONNREFUSED);
    unlink(socket_path);
    CHECK_ERR("a missing path",
              connect(client, (struct sockaddr *)&address, length), ENOENT);
    length = unix_address(&address, "/tmp");
    CHECK_ERR("a directory is no socket",
              connect(client, (struct sockaddr *)&address, length),
              ECONNREFUSED);
    length = abstract_address(&address, abstract_name);
    CHECK_RET("an abstract name",
              bind(again, (struct sockaddr *)&address, length), 0);
    listen(again, 1);
    CHECK_RET("connect to it", connect(client, (struct sockaddr *)&address,
                                       length), 0);
    length = sizeof name;
    getpeername(client, (struct sockaddr *)&name, &length);
    CHECK("its length counts no NUL",
          length == offsetof(struct sockaddr_un, sun_path) + 1 +
                        strlen(abstract_name));
    CHECK("and its bytes", name.sun_path[0] == 0 &&
          memcmp(name.sun_path + 1, abstract_name,
                 strlen(abstract_name)) == 0);
    close(client);
    close(again);
    int stream = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR("listen before bind", listen(stream, 1), EINVAL);
    CHECK_ERR("a stream with no peer", write(stream, "x", 1), ENOTCONN);
    close(stream);

    SECTION("datagrams to a path");
    unlink(dgram_path);
    int receiver = socket(AF_UNIX, SOCK_DGRAM, 0);
    length = unix_address(&address, dgram_path);
    bind(receiver, (struct sockaddr *)&address, length);
    int sender = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK_RET("sendto a path", sendto(sender, "note", 4, 0,
                                      (struct sockaddr *)&address, length),
              4);
    struct sockaddr_un from;
    socklen_t from_length = sizeof from;
    CHECK_RET("recvfrom", recvfrom(receiver, buffer, sizeof buffer, 0,
                                   (struct sockaddr *)&from, &from_length),
              4);
    CHECK_EQ("from an unnamed sender: no address", from_length, 0);
    CHECK_ERR("send without a destination", send(sender, "x", 1, 0),
              ENOTCONN);
    int stream_socket = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR("connect a stream to a datagram socket",
              connect(stream_socket, (struct sockaddr *)&address, length),
              EPROTOTYPE);
    close(stream_socket);
    close(sender);
    close(receiver);
    unlink(dgram_path);
    return check_finish();
}
