/*
 * net-client: the host's side of the network benchmarks, against
 * bench/net-server.c in a guest behind a port forward on 127.0.0.1. It
 * does the timing with the host's monotonic clock, so Villa and the
 * Linux guest are measured alike, and prints one line per figure:
 *
 *     value NAME VALUE UNIT
 *
 *   net-client stream PORT BYTES
 *       Uploads BYTES and checks the server's count of them, then
 *       downloads BYTES; prints tcp.host_to_guest and tcp.guest_to_host
 *       in MiB/s, from the first byte to the last.
 *   net-client http PORT CONNECTIONS SECONDS
 *       CONNECTIONS threads, each on one keep-alive connection, send GET
 *       requests one after the other for SECONDS and read each answer
 *       whole; prints http.requests_per_s over all of them, then sends
 *       GET /quit. A second figure, http.connect_requests_per_s, comes
 *       from one thread opening a new connection per request for a
 *       tenth of the time; http.connect_stalls counts the requests of
 *       that phase left unanswered for 5 s (not in the rate).
 *
 * Until the guest's program listens, QEMU's user network accepts the
 * connection and then closes it; the client retries for up to a minute.
 * Any other failure ends it with status 1 and a message.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void fail(const char *what)
{
    fprintf(stderr, "net-client: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int connect_once(int seconds)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        fail("socket");
    struct timeval timeout = {.tv_sec = seconds};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in address = {
        .sin_family = AF_INET,
        .sin_port = htons((unsigned short)port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void write_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n <= 0)
            fail("write");
        data += n;
        length -= (size_t)n;
    }
}

/* A connection on which the server has said "ready\n". */
static int connect_ready(void)
{
    double deadline = now() + 60;
    while (now() < deadline) {
        int fd = connect_once(60);
        char line[6];
        size_t got = 0;
        ssize_t n = 1;
        while (fd >= 0 && got < sizeof line &&
               (n = read(fd, line + got, sizeof line - got)) > 0)
            got += (size_t)n;
        if (got == sizeof line && memcmp(line, "ready\n", 6) == 0)
            return fd;
        if (fd >= 0)
            close(fd);
        usleep(100000);
    }
    errno = ETIMEDOUT;
    fail("waiting for the server");
    return -1;
}

static char buffer[1 << 16];

static void stream(long long bytes)
{
    int fd = connect_ready();
    memset(buffer, 'h', sizeof buffer);
    double start = now();
    for (long long sent = 0; sent < bytes;) {
        size_t chunk = bytes - sent < (long long)sizeof buffer
                           ? (size_t)(bytes - sent) : sizeof buffer;
        write_all(fd, buffer, chunk);
        sent += (long long)chunk;
    }
    shutdown(fd, SHUT_WR);
    char answer[64] = {0};
    size_t used = 0;
    ssize_t n;
    while (used < sizeof answer - 1 &&
           (n = read(fd, answer + used, sizeof answer - 1 - used)) > 0)
        used += (size_t)n;
    double upload = now() - start;
    close(fd);
    if (atoll(answer) != bytes) {
        fprintf(stderr, "net-client: the server received %s bytes, not "
                        "%lld\n", answer, bytes);
        exit(1);
    }

    fd = connect_ready();
    long long received = 0;
    start = now();
    while ((n = read(fd, buffer, sizeof buffer)) > 0)
        received += n;
    double download = now() - start;
    close(fd);
    if (received != bytes) {
        fprintf(stderr, "net-client: downloaded %lld of %lld bytes\n",
                received, bytes);
        exit(1);
    }
    printf("value tcp.host_to_guest %.2f MiB/s\n",
           (double)bytes / upload / 1048576);
    printf("value tcp.guest_to_host %.2f MiB/s\n",
           (double)bytes / download / 1048576);
}

/* Sends one GET and reads the answer whole; 0 on success. */
static int get(int fd, const char *path)
{
    char request[128];
    int length = snprintf(request, sizeof request,
                          "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n", path);
    write_all(fd, request, (size_t)length);
    char reply[4096];
    size_t used = 0;
    long body = -1;
    size_t head = 0;
    for (;;) {
        ssize_t n = read(fd, reply + used, sizeof reply - 1 - used);
        if (n <= 0)
            return -1;
        used += (size_t)n;
        reply[used] = 0;
        if (body < 0) {
            char *end = strstr(reply, "\r\n\r\n");
            if (end == NULL)
                continue;
            head = (size_t)(end + 4 - reply);
            char *field = strcasestr(reply, "Content-Length:");
            if (field == NULL || field > end)
                return -1;
            body = atol(field + 15);
        }
        if (used >= head + (size_t)body)
            return used == head + (size_t)body ? 0 : -1;
        if (used + 1 >= sizeof reply)
            return -1;
    }
}

struct worker {
    pthread_t thread;
    double until;
    long requests;
};

static void *keep_alive(void *argument)
{
    struct worker *w = argument;
    int fd = connect_once(60);
    if (fd < 0)
        fail("connect");
    while (now() < w->until) {
        if (get(fd, "/") != 0)
            fail("GET / on a keep-alive connection");
        w->requests++;
    }
    close(fd);
    return NULL;
}

static void http(int connections, double seconds)
{
    /* Wait for the server: a GET that is answered. */
    double deadline = now() + 60;
    for (;;) {
        int fd = connect_once(60);
        int answered = fd >= 0 && get(fd, "/") == 0;
        if (fd >= 0)
            close(fd);
        if (answered)
            break;
        if (now() > deadline) {
            errno = ETIMEDOUT;
            fail("waiting for the server");
        }
        usleep(100000);
    }

    struct worker workers[connections];
    double start = now();
    for (int i = 0; i < connections; i++) {
        workers[i] = (struct worker){.until = start + seconds};
        if (pthread_create(&workers[i].thread, NULL, keep_alive,
                           &workers[i]) != 0)
            fail("pthread_create");
    }
    long total = 0;
    for (int i = 0; i < connections; i++) {
        pthread_join(workers[i].thread, NULL);
        total += workers[i].requests;
    }
    double elapsed = now() - start;
    printf("value http.requests_per_s %.1f req/s\n", total / elapsed);

    /* A request that gets no answer within 5 s is counted as stalled
     * rather than ending the run: the figure is the rate of the others,
     * and the stalls are reported beside it. */
    long fresh = 0, stalled = 0;
    double stalled_time = 0;
    start = now();
    while (now() < start + seconds / 10) {
        double began = now();
        int fd = connect_once(5);
        int answered = fd >= 0 && get(fd, "/") == 0;
        if (fd >= 0)
            close(fd);
        if (answered) {
            fresh++;
        } else if (errno == EAGAIN || errno == ETIMEDOUT) {
            stalled++;
            stalled_time += now() - began;
        } else {
            fail("GET / on a new connection");
        }
    }
    printf("value http.connect_requests_per_s %.1f req/s\n",
           fresh / (now() - start - stalled_time));
    printf("value http.connect_stalls %ld requests\n", stalled);

    int fd = connect_once(60);
    if (fd < 0 || get(fd, "/quit") != 0)
        fail("GET /quit");
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "stream") == 0) {
        port = atoi(argv[2]);
        stream(atoll(argv[3]));
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "http") == 0) {
        port = atoi(argv[2]);
        http(atoi(argv[3]), atof(argv[4]));
        return 0;
    }
    fprintf(stderr, "usage: net-client stream PORT BYTES\n"
                    "       net-client http PORT CONNECTIONS SECONDS\n");
    return 2;
}
