/*
 * sockets-errors: how the socket calls fail. Bad descriptors (EBADF),
 * descriptors that are not sockets (ENOTSOCK), families, types and
 * protocols nobody offers (EAFNOSUPPORT, EINVAL, EPROTONOSUPPORT),
 * short or foreign addresses (EINVAL, EAFNOSUPPORT), taken ports
 * (EADDRINUSE), calls in the wrong state (ENOTCONN, EINVAL, EISCONN,
 * EOPNOTSUPP), unknown options (ENOPROTOOPT) and bad pointers (EFAULT).
 */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>

static struct sockaddr_in loopback(unsigned short port)
{
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

int main(void)
{
    SECTION("descriptors");
    struct sockaddr_in address = loopback(0);
    socklen_t length = sizeof address;
    char buffer[16];
    CHECK_ERR("bind on a closed descriptor",
              bind(99, (struct sockaddr *)&address, sizeof address), EBADF);
    CHECK_ERR("listen on a closed descriptor", listen(99, 1), EBADF);
    CHECK_ERR("accept on a closed descriptor", accept(99, NULL, NULL),
              EBADF);
    CHECK_ERR("send on a closed descriptor", send(99, "x", 1, 0), EBADF);
    CHECK_ERR("getsockopt on a closed descriptor",
              getsockopt(99, SOL_SOCKET, SO_TYPE, buffer, &length), EBADF);
    CHECK_ERR("bind on stdin",
              bind(0, (struct sockaddr *)&address, sizeof address),
              ENOTSOCK);
    CHECK_ERR("connect on stdout",
              connect(1, (struct sockaddr *)&address, sizeof address),
              ENOTSOCK);
    CHECK_ERR("recv on stdin", recv(0, buffer, sizeof buffer, 0), ENOTSOCK);
    CHECK_ERR("shutdown on stdout", shutdown(1, SHUT_RDWR), ENOTSOCK);
    length = sizeof address;
    CHECK_ERR("getsockname on stderr",
              getsockname(2, (struct sockaddr *)&address, &length),
              ENOTSOCK);

    SECTION("creating");
    CHECK_ERR("an unknown family", socket(12345, SOCK_STREAM, 0),
              EAFNOSUPPORT);
    CHECK_ERR("unknown type flags", socket(AF_INET, SOCK_STREAM | 0x100, 0),
              EINVAL);
    CHECK_ERR("TCP by the UDP protocol",
              socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    CHECK_ERR("AF_UNIX with a protocol", socket(AF_UNIX, SOCK_STREAM, 6),
              EPROTONOSUPPORT);
    int fds[2];
    CHECK_ERR("socketpair of AF_INET",
              socketpair(AF_INET, SOCK_STREAM, 0, fds), EOPNOTSUPP);
    CHECK_ERR("socketpair into a bad pointer",
              socketpair(AF_UNIX, SOCK_STREAM, 0, BAD_POINTER), EFAULT);

    SECTION("addresses");
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_ERR("a short address",
              bind(tcp, (struct sockaddr *)&address, 8), EINVAL);
    CHECK_ERR("a negative length",
              bind(tcp, (struct sockaddr *)&address, -1), EINVAL);
    CHECK_ERR("a huge length",
              bind(tcp, (struct sockaddr *)&address, 4096), EINVAL);
    struct sockaddr_in foreign = loopback(0);
    foreign.sin_family = AF_INET6;
    CHECK_ERR("an AF_INET6 address for AF_INET",
              bind(tcp, (struct sockaddr *)&foreign, sizeof foreign),
              EAFNOSUPPORT);
    CHECK_ERR("an address from a bad pointer",
              bind(tcp, BAD_POINTER, sizeof address), EFAULT);
    struct sockaddr_in remote = loopback(0);
    remote.sin_addr.s_addr = inet_addr("192.0.2.1");
    CHECK_ERR("binding an address of another host",
              bind(tcp, (struct sockaddr *)&remote, sizeof remote),
              EADDRNOTAVAIL);
    CHECK_RET("bind", bind(tcp, (struct sockaddr *)&address,
                           sizeof address), 0);
    CHECK_ERR("a second bind",
              bind(tcp, (struct sockaddr *)&address, sizeof address),
              EINVAL);
    length = sizeof address;
    getsockname(tcp, (struct sockaddr *)&address, &length);
    CHECK_RET("listen", listen(tcp, 4), 0);
    int other = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_ERR("the port is taken",
              bind(other, (struct sockaddr *)&address, sizeof address),
              EADDRINUSE);
    int one = 1;
    setsockopt(other, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    CHECK_ERR("even with SO_REUSEADDR while it listens",
              bind(other, (struct sockaddr *)&address, sizeof address),
              EADDRINUSE);
    close(other);

    SECTION("state");
    int fresh = socket(AF_INET, SOCK_STREAM, 0);
    length = sizeof address;
    struct sockaddr_in peer;
    CHECK_ERR("getpeername unconnected",
              getpeername(fresh, (struct sockaddr *)&peer, &length),
              ENOTCONN);
    CHECK_ERR("recv unconnected", recv(fresh, buffer, sizeof buffer, 0),
              ENOTCONN);
    /* Linux records the shutdown even as it fails: use a throwaway. */
    int throwaway = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_ERR("shutdown unconnected", shutdown(throwaway, SHUT_RDWR),
              ENOTCONN);
    close(throwaway);
    CHECK_ERR("accept without listen", accept(fresh, NULL, NULL), EINVAL);
    /* Raw: musl's accept4 retries a refused call as plain accept. */
    CHECK_ERR("accept4 with bad flags",
              syscall(SYS_accept4, tcp, NULL, NULL, 0x1), EINVAL);
    CHECK_RET("connect", connect(fresh, (struct sockaddr *)&address,
                                 sizeof address), 0);
    CHECK_ERR("connect again", connect(fresh, (struct sockaddr *)&address,
                                       sizeof address), EISCONN);
    CHECK_ERR("shutdown with a bad how", shutdown(fresh, 7), EINVAL);
    CHECK_ERR("connect on a listener",
              connect(tcp, (struct sockaddr *)&address, sizeof address),
              EISCONN);
    int accepted = accept(tcp, NULL, NULL);
    CHECK_RET("send", send(accepted, "kept", 4, 0), 4);
    CHECK_ERR("recv into a bad pointer keeps the data",
              recv(fresh, BAD_POINTER, 4, 0), EFAULT);
    CHECK_RET("it is still there", recv(fresh, buffer, 4, 0), 4);
    CHECK_ERR("send from a bad pointer", send(fresh, BAD_POINTER, 4, 0),
              EFAULT);
    close(accepted);
    close(fresh);

    SECTION("options");
    int value = 1;
    CHECK_ERR("an unknown socket option",
              setsockopt(tcp, SOL_SOCKET, 9999, &value, sizeof value),
              ENOPROTOOPT);
    length = sizeof value;
    CHECK_ERR("getting it",
              getsockopt(tcp, SOL_SOCKET, 9999, &value, &length),
              ENOPROTOOPT);
    CHECK_ERR("SO_TYPE is read-only",
              setsockopt(tcp, SOL_SOCKET, SO_TYPE, &value, sizeof value),
              ENOPROTOOPT);
    CHECK_ERR("a short int option",
              setsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &value, 2), EINVAL);
    int negative = -1;
    CHECK_ERR("a negative option length",
              getsockopt(tcp, SOL_SOCKET, SO_TYPE, &value,
                         (socklen_t *)&negative), EINVAL);
    CHECK_ERR("an option length from a bad pointer",
              getsockopt(tcp, SOL_SOCKET, SO_TYPE, &value, BAD_POINTER),
              EFAULT);
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK_ERR("a TCP option on UDP",
              setsockopt(udp, IPPROTO_TCP, TCP_NODELAY, &value,
                         sizeof value), ENOPROTOOPT);
    close(udp);
    close(tcp);
    return check_finish();
}
