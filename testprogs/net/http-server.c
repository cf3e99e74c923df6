/*
 * http-server: a small HTTP/1.0 server for the end-to-end network test
 * (Tests/VillaTests/NetworkTests.swift), not a conformance program: it
 * waits for a client from outside the VM. It listens on 0.0.0.0:PORT
 * (argv[1]), answers requests for /hello with a fixed body, anything
 * else with 404, and exits 0 after COUNT (argv[2], default 1) answered
 * requests, saying on stdout what it served.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_all(int fd, const char *text, size_t length)
{
    while (length > 0) {
        ssize_t n = write(fd, text, length);
        if (n <= 0)
            return -1;
        text += n;
        length -= (size_t)n;
    }
    return 0;
}

/* Reads up to the blank line that ends the request head; 0 at EOF. */
static size_t read_head(int fd, char *buffer, size_t size)
{
    size_t used = 0;
    while (used + 1 < size) {
        ssize_t n = read(fd, buffer + used, size - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        buffer[used] = 0;
        if (strstr(buffer, "\r\n\r\n"))
            break;
    }
    buffer[used] = 0;
    return used;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: http-server PORT [COUNT]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    int count = argc > 2 ? atoi(argv[2]) : 1;
    int server = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {
        .sin_family = AF_INET,
        .sin_port = htons((unsigned short)port),
        .sin_addr.s_addr = htonl(INADDR_ANY),
    };
    if (bind(server, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(server, 16) != 0) {
        perror("http-server: bind/listen");
        return 1;
    }
    printf("listening on %d\n", port);
    fflush(stdout);
    int served = 0;
    while (served < count) {
        struct sockaddr_in peer;
        socklen_t length = sizeof peer;
        int client = accept(server, (struct sockaddr *)&peer, &length);
        if (client < 0) {
            perror("http-server: accept");
            return 1;
        }
        char request[2048];
        if (read_head(client, request, sizeof request) == 0) {
            close(client);
            continue;
        }
        const char *body = "hello from villa\n";
        const char *status = "200 OK";
        if (strncmp(request, "GET /hello ", 11) != 0) {
            body = "not found\n";
            status = "404 Not Found";
        }
        char reply[512];
        int n = snprintf(reply, sizeof reply,
                         "HTTP/1.0 %s\r\nContent-Type: text/plain\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         status, strlen(body), body);
        write_all(client, reply, (size_t)n);
        close(client);
        served++;
        char *end = strchr(request, '\r');
        if (end)
            *end = 0;
        printf("served \"%s\" with %s\n", request, status);
        fflush(stdout);
    }
    close(server);
    return 0;
}
