/*
 * tcp-client: the guest's side of the end-to-end outbound test
 * (Tests/VillaTests/NetworkTests.swift). Connects to ADDRESS:PORT
 * (argv[1], argv[2]), sends a greeting, shuts down its sending side,
 * prints what the server answered, and exits 0; a failure to connect is
 * reported with its errno name and exit status 1.
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
