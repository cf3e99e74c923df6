/*
 * sockets-inet6: AF_INET6 sockets carrying IPv4, as servers written for
 * both families use them (ipv6(7), "IPv4-mapped addresses"). A TCP
 * listener on [::] with IPV6_V6ONLY off takes a connection from an
 * AF_INET client and sees it as ::ffff:127.0.0.1; an AF_INET6 client
 * reaches an AF_INET listener through the mapped address; UDP datagrams
 * cross between the families; names come back as sockaddr_in6 with the
 * mapped address, and bad lengths and families are refused as Linux
 * refuses them. Ports are chosen by the kernel and never printed.
 */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static const char *text6(const struct sockaddr_in6 *address)
{
    static char buffer[INET6_ADDRSTRLEN];
    return inet_ntop(AF_INET6, &address->sin6_addr, buffer, sizeof buffer);
}

static struct sockaddr_in6 mapped_loopback(unsigned short port)
{
    struct sockaddr_in6 address;
    memset(&address, 0, sizeof address);
    address.sin6_family = AF_INET6;
    address.sin6_port = port;
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &address.sin6_addr);
    return address;
}

int main(void)
{
    SECTION("a dual-stack TCP listener");
    int listener = socket(AF_INET6, SOCK_STREAM, 0);
    CHECK("socket(AF_INET6, SOCK_STREAM)", listener >= 0);
    int value = 1;
    socklen_t length = sizeof value;
    CHECK_RET("IPV6_V6ONLY is off by default",
              getsockopt(listener, IPPROTO_IPV6, IPV6_V6ONLY, &value,
                         &length), 0);
    CHECK_EQ("its value", value, 0);
    value = 0;
    CHECK_RET("and may be set off", setsockopt(listener, IPPROTO_IPV6,
              IPV6_V6ONLY, &value, sizeof value), 0);
    struct sockaddr_in6 any;
    memset(&any, 0, sizeof any);
    any.sin6_family = AF_INET6;
    any.sin6_addr = in6addr_any;
    CHECK_ERR("a short address", bind(listener, (struct sockaddr *)&any,
                                      OPAQUE(20)), EINVAL);
    struct sockaddr_in plain = {.sin_family = AF_INET};
    CHECK_ERR("an AF_INET address", bind(listener, (struct sockaddr *)&plain,
                                         sizeof plain), EINVAL);
    CHECK_RET("bind [::]:0", bind(listener, (struct sockaddr *)&any,
                                  sizeof any), 0);
    CHECK_RET("listen", listen(listener, 8), 0);
    struct sockaddr_in6 bound;
    length = sizeof bound;
    CHECK_RET("getsockname", getsockname(listener, (struct sockaddr *)&bound,
                                         &length), 0);
    CHECK_EQ("gives a sockaddr_in6", length, sizeof bound);
    CHECK_EQ("of family AF_INET6", bound.sin6_family, AF_INET6);
    CHECK_STR("at ::", text6(&bound), "::");
    CHECK("with a port", bound.sin6_port != 0);

    SECTION("an IPv4 client");
    int client = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in target = {
        .sin_family = AF_INET,
        .sin_port = bound.sin6_port,
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    CHECK_RET("connects to 127.0.0.1", connect(client,
              (struct sockaddr *)&target, sizeof target), 0);
    struct sockaddr_in6 peer;
    length = sizeof peer;
    int served = accept(listener, (struct sockaddr *)&peer, &length);
    CHECK("accept", served >= 0);
    CHECK_EQ("the peer is a sockaddr_in6", length, sizeof peer);
    CHECK_STR("at ::ffff:127.0.0.1", text6(&peer), "::ffff:127.0.0.1");
    struct sockaddr_in client_name;
    length = sizeof client_name;
    getsockname(client, (struct sockaddr *)&client_name, &length);
    CHECK("with the client's port", peer.sin6_port == client_name.sin_port);
    struct sockaddr_in6 local;
    length = sizeof local;
    CHECK_RET("the accepted socket's name", getsockname(served,
              (struct sockaddr *)&local, &length), 0);
    CHECK_STR("is mapped too", text6(&local), "::ffff:127.0.0.1");
    CHECK("on the listener's port", local.sin6_port == bound.sin6_port);
    CHECK_RET("data one way", write(client, "ping", 4), 4);
    char buffer[16] = {0};
    CHECK_RET("arrives", read(served, buffer, sizeof buffer), 4);
    CHECK_MEM("intact", buffer, "ping", 4);
    CHECK_RET("and back", write(served, "pong", 4), 4);
    CHECK_RET("arrives", read(client, buffer, sizeof buffer), 4);
    CHECK_MEM("intact", buffer, "pong", 4);
    close(served);
    close(client);

    SECTION("an AF_INET6 client");
    client = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 mapped = mapped_loopback(bound.sin6_port);
    CHECK_RET("connects to ::ffff:127.0.0.1", connect(client,
              (struct sockaddr *)&mapped, sizeof mapped), 0);
    served = accept(listener, NULL, NULL);
    CHECK("accepted", served >= 0);
    length = sizeof peer;
    CHECK_RET("getpeername", getpeername(client, (struct sockaddr *)&peer,
                                         &length), 0);
    CHECK_STR("names the server", text6(&peer), "::ffff:127.0.0.1");
    CHECK("on its port", peer.sin6_port == bound.sin6_port);
    close(served);
    close(client);
    close(listener);

    SECTION("UDP across the families");
    int receiver = socket(AF_INET6, SOCK_DGRAM, 0);
    CHECK_RET("bind [::]:0", bind(receiver, (struct sockaddr *)&any,
                                  sizeof any), 0);
    length = sizeof bound;
    getsockname(receiver, (struct sockaddr *)&bound, &length);
    int sender = socket(AF_INET, SOCK_DGRAM, 0);
    target.sin_port = bound.sin6_port;
    CHECK_RET("an IPv4 sendto", sendto(sender, "datagram", 8, 0,
              (struct sockaddr *)&target, sizeof target), 8);
    struct sockaddr_in6 from;
    length = sizeof from;
    CHECK_RET("arrives", recvfrom(receiver, buffer, sizeof buffer, 0,
              (struct sockaddr *)&from, &length), 8);
    CHECK_STR("from ::ffff:127.0.0.1", text6(&from), "::ffff:127.0.0.1");
    CHECK_RET("the answer", sendto(receiver, "answer", 6, 0,
              (struct sockaddr *)&from, length), 6);
    struct sockaddr_in from4;
    length = sizeof from4;
    CHECK_RET("reaches the IPv4 socket", recvfrom(sender, buffer,
              sizeof buffer, 0, (struct sockaddr *)&from4, &length), 6);
    CHECK("from the AF_INET6 socket's port",
          from4.sin_port == bound.sin6_port);
    close(sender);
    close(receiver);

    SECTION("what does not exist");
    CHECK_ERR("socketpair(AF_INET6)", socketpair(AF_INET6, SOCK_STREAM, 0,
              (int[2]){0, 0}), EOPNOTSUPP);
    return check_finish();
}
