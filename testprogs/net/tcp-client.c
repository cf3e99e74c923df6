/*
 * tcp-client: the guest's side of the end-to-end outbound tests
 * (Tests/VillaTests/NetworkTests.swift). Connects to ADDRESS:PORT
 * (argv[1], argv[2]), sends a greeting, shuts down its sending side,
 * prints what the server answered, and exits 0; a failure to connect is
 * reported with its error and exit status 1. With a third argument
 * SIZE it sends SIZE bytes of a fixed pattern (byte i is i * 7 + i /
 * 65536, truncated) through a large SO_SNDBUF instead and exits at
 * once, without closing or waiting: the kernel must still deliver every
 * byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: tcp-client ADDRESS PORT\n");
        return 2;
    }
    struct sockaddr_in address = {
        .sin_family = AF_INET,
        .sin_port = htons((unsigned short)atoi(argv[2])),
    };
    if (inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) {
        fprintf(stderr, "tcp-client: bad address %s\n", argv[1]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        fprintf(stderr, "tcp-client: connect: %s\n", strerror(errno));
        return 1;
    }
    if (argc > 3) {
        long size = atol(argv[3]);
        /* A large send buffer: much can still be unsent at exit. */
        int buffer_size = 4 << 20;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_size,
                   sizeof buffer_size);
        static char chunk[65536];
        for (long sent = 0; sent < size;) {
            long n = size - sent < (long)sizeof chunk ? size - sent
                                                      : (long)sizeof chunk;
            for (long i = 0; i < n; i++)
                chunk[i] = (char)((sent + i) * 7 + (sent + i) / 65536);
            ssize_t w = write(fd, chunk, (size_t)n);
            if (w <= 0) {
                fprintf(stderr, "tcp-client: write: %s\n", strerror(errno));
                return 1;
            }
            /* A short write refills the pattern from where it stopped. */
            sent += w;
        }
        printf("sent %ld bytes\n", size);
        return 0;
    }
    const char greeting[] = "hello from the guest\n";
    if (write(fd, greeting, sizeof greeting - 1) != sizeof greeting - 1) {
        fprintf(stderr, "tcp-client: write: %s\n", strerror(errno));
        return 1;
    }
    shutdown(fd, SHUT_WR);
    char reply[4096];
    size_t used = 0;
    ssize_t n;
    while (used < sizeof reply - 1 &&
           (n = read(fd, reply + used, sizeof reply - 1 - used)) > 0)
        used += (size_t)n;
    reply[used] = 0;
    printf("reply: %s", reply);
    close(fd);
    return 0;
}
