/*
 * sockets-udp: UDP over loopback. sendto(2) and recvfrom(2) between two
 * sockets on 127.0.0.1 (ports chosen by the kernel, compared and never
 * printed), datagram boundaries, truncation (MSG_TRUNC), empty
 * datagrams, a connected socket that filters its sender, sendmsg(2) and
 * recvmsg(2) with iovecs, sendmmsg(2) and recvmmsg(2), poll, and the
 * errors of an unconnected socket.
 */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

static struct sockaddr_in loopback(unsigned short port)
{
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

/* A UDP socket bound to 127.0.0.1 and a kernel-chosen port. */
static int bound_socket(struct sockaddr_in *address)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    *address = loopback(0);
    bind(fd, (struct sockaddr *)address, sizeof *address);
    socklen_t length = sizeof *address;
    getsockname(fd, (struct sockaddr *)address, &length);
    return fd;
}

static int same_address(const struct sockaddr_in *a,
                        const struct sockaddr_in *b)
{
    return a->sin_family == b->sin_family && a->sin_port == b->sin_port &&
           a->sin_addr.s_addr == b->sin_addr.s_addr;
}

int main(void)
{
    SECTION("sendto and recvfrom");
    struct sockaddr_in a_address, b_address;
    int a = bound_socket(&a_address);
    int b = bound_socket(&b_address);
    CHECK("both have ports", a_address.sin_port && b_address.sin_port);
    CHECK("different ones", a_address.sin_port != b_address.sin_port);
    CHECK_RET("sendto", sendto(a, "datagram one", 12, 0,
                               (struct sockaddr *)&b_address,
                               sizeof b_address), 12);
    CHECK_RET("a second", sendto(a, "two", 3, 0,
                                 (struct sockaddr *)&b_address,
                                 sizeof b_address), 3);
    char buffer[128];
    struct sockaddr_in from;
    socklen_t length = sizeof from;
    int waiting = -1;
    CHECK_RET("FIONREAD", ioctl(b, FIONREAD, &waiting), 0);
    CHECK_EQ("is the first datagram's size", waiting, 12);
    CHECK_RET("MSG_PEEK", recv(b, buffer, 4, MSG_PEEK), 4);
    CHECK_MEM("sees its start", buffer, "data", 4);
    CHECK_RET("recvfrom takes one datagram",
              recvfrom(b, buffer, sizeof buffer, 0,
                       (struct sockaddr *)&from, &length), 12);
    CHECK_MEM("its bytes", buffer, "datagram one", 12);
    CHECK_EQ("the address length", length, sizeof from);
    CHECK("names the sender", same_address(&from, &a_address));
    CHECK_RET("then the next", recv(b, buffer, sizeof buffer, 0), 3);
    CHECK_ERR("then none (MSG_DONTWAIT)",
              recv(b, buffer, sizeof buffer, MSG_DONTWAIT), EAGAIN);

    SECTION("boundaries and truncation");
    sendto(a, "0123456789", 10, 0, (struct sockaddr *)&b_address,
           sizeof b_address);
    CHECK_RET("a short buffer gets the start", recv(b, buffer, 4, 0), 4);
    CHECK_MEM("of the datagram", buffer, "0123", 4);
    sendto(a, "next", 4, 0, (struct sockaddr *)&b_address, sizeof b_address);
    CHECK_RET("the rest was discarded", recv(b, buffer, sizeof buffer, 0), 4);
    sendto(a, "0123456789", 10, 0, (struct sockaddr *)&b_address,
           sizeof b_address);
    CHECK_RET("MSG_TRUNC gives the real length",
              recv(b, buffer, 4, MSG_TRUNC), 10);
    CHECK_RET("an empty datagram", sendto(a, "", 0, 0,
                                          (struct sockaddr *)&b_address,
                                          sizeof b_address), 0);
    struct pollfd event = {.fd = b, .events = POLLIN};
    CHECK_RET("makes the socket readable", poll(&event, 1, 1000), 1);
    CHECK_RET("and reads as 0 bytes", recv(b, buffer, sizeof buffer, 0), 0);
    CHECK_RET("nothing left", poll(&event, 1, 0), 0);

    SECTION("connected");
    CHECK_RET("connect", connect(b, (struct sockaddr *)&a_address,
                                 sizeof a_address), 0);
    struct sockaddr_in peer;
    length = sizeof peer;
    CHECK_OK("getpeername", getpeername(b, (struct sockaddr *)&peer,
                                        &length));
    CHECK("is the peer", same_address(&peer, &a_address));
    CHECK_RET("send without an address", send(b, "reply", 5, 0), 5);
    length = sizeof from;
    CHECK_RET("arrives", recvfrom(a, buffer, sizeof buffer, 0,
                                  (struct sockaddr *)&from, &length), 5);
    CHECK("from b", same_address(&from, &b_address));
    struct sockaddr_in c_address;
    int c = bound_socket(&c_address);
    sendto(c, "stranger", 8, 0, (struct sockaddr *)&b_address,
           sizeof b_address);
    sendto(a, "friend", 6, 0, (struct sockaddr *)&b_address,
           sizeof b_address);
    CHECK_RET("only the peer's datagram is taken",
              recv(b, buffer, sizeof buffer, 0), 6);
    CHECK_MEM("the friend's", buffer, "friend", 6);
    CHECK_ERR("the stranger's was dropped",
              recv(b, buffer, sizeof buffer, MSG_DONTWAIT), EAGAIN);
    struct sockaddr unspecified = {.sa_family = AF_UNSPEC};
    CHECK_RET("AF_UNSPEC dissolves the connection",
              connect(b, &unspecified, sizeof unspecified), 0);
    length = sizeof peer;
    CHECK_ERR("no peer then", getpeername(b, (struct sockaddr *)&peer,
                                          &length), ENOTCONN);
    CHECK_ERR("send needs an address again", send(b, "x", 1, 0),
              EDESTADDRREQ);
    /* Linux also forgets a port that bind chose when the connection is
     * dissolved; carry on with a fresh socket. */
    close(b);
    b = bound_socket(&b_address);

    SECTION("sendmsg and recvmsg");
    struct iovec out[2] = {
        {.iov_base = "scatter", .iov_len = 7},
        {.iov_base = "gather", .iov_len = 6},
    };
    struct msghdr message = {
        .msg_name = &b_address, .msg_namelen = sizeof b_address,
        .msg_iov = out, .msg_iovlen = 2,
    };
    CHECK_RET("sendmsg gathers one datagram", sendmsg(a, &message, 0), 13);
    char first[5], second[20];
    struct iovec in[2] = {
        {.iov_base = first, .iov_len = sizeof first},
        {.iov_base = second, .iov_len = sizeof second},
    };
    struct sockaddr_in name;
    memset(&message, 0, sizeof message);
    message.msg_name = &name;
    message.msg_namelen = sizeof name;
    message.msg_iov = in;
    message.msg_iovlen = 2;
    CHECK_RET("recvmsg scatters it", recvmsg(b, &message, 0), 13);
    CHECK_MEM("first part", first, "scatt", 5);
    CHECK_MEM("second part", second, "ergather", 8);
    CHECK_EQ("msg_namelen", message.msg_namelen, sizeof name);
    CHECK("msg_name is the sender", same_address(&name, &a_address));
    CHECK_EQ("msg_flags", message.msg_flags, 0);
    sendto(a, "0123456789", 10, 0, (struct sockaddr *)&b_address,
           sizeof b_address);
    in[0].iov_len = 3;
    message.msg_iovlen = 1;
    CHECK_RET("recvmsg into too little", recvmsg(b, &message, 0), 3);
    CHECK_EQ("says MSG_TRUNC", message.msg_flags, MSG_TRUNC);

    SECTION("sendmmsg and recvmmsg");
    struct mmsghdr many[3];
    struct iovec pieces[3] = {
        {.iov_base = "alpha", .iov_len = 5},
        {.iov_base = "be", .iov_len = 2},
        {.iov_base = "gam", .iov_len = 3},
    };
    memset(many, 0, sizeof many);
    for (int i = 0; i < 3; i++) {
        many[i].msg_hdr.msg_name = &b_address;
        many[i].msg_hdr.msg_namelen = sizeof b_address;
        many[i].msg_hdr.msg_iov = &pieces[i];
        many[i].msg_hdr.msg_iovlen = 1;
    }
    CHECK_RET("sendmmsg sends three", sendmmsg(a, many, 3, 0), 3);
    CHECK_EQ("with their lengths", many[0].msg_len * 100 +
             many[1].msg_len * 10 + many[2].msg_len, 523);
    char slots[3][16];
    struct iovec targets[3];
    memset(many, 0, sizeof many);
    for (int i = 0; i < 3; i++) {
        targets[i].iov_base = slots[i];
        targets[i].iov_len = sizeof slots[i];
        many[i].msg_hdr.msg_iov = &targets[i];
        many[i].msg_hdr.msg_iovlen = 1;
    }
    CHECK_RET("recvmmsg takes them", recvmmsg(b, many, 3, 0, NULL), 3);
    CHECK_EQ("lengths", many[0].msg_len * 100 + many[1].msg_len * 10 +
             many[2].msg_len, 523);
    CHECK_MEM("in order", slots[2], "gam", 3);
    sendto(a, "one", 3, 0, (struct sockaddr *)&b_address, sizeof b_address);
    CHECK_RET("MSG_WAITFORONE stops at what is there",
              recvmmsg(b, many, 3, MSG_WAITFORONE, NULL), 1);

    SECTION("errors");
    int fresh = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in any;
    length = sizeof any;
    CHECK_OK("getsockname before bind",
             getsockname(fresh, (struct sockaddr *)&any, &length));
    CHECK("is 0.0.0.0:0", any.sin_port == 0 && any.sin_addr.s_addr == 0);
    CHECK_ERR("listen on UDP", listen(fresh, 1), EOPNOTSUPP);
    CHECK_ERR("accept on UDP", accept(fresh, NULL, NULL), EOPNOTSUPP);
    CHECK_ERR("send without a peer", send(fresh, "x", 1, 0), EDESTADDRREQ);
    length = sizeof any;
    getsockname(fresh, (struct sockaddr *)&any, &length);
    CHECK("yet sending bound a port", any.sin_port != 0);
    struct sockaddr_in first_port = any;
    CHECK_RET("sendto", sendto(fresh, "auto", 4, 0,
                               (struct sockaddr *)&b_address,
                               sizeof b_address), 4);
    length = sizeof any;
    getsockname(fresh, (struct sockaddr *)&any, &length);
    CHECK("keeps that port", any.sin_port == first_port.sin_port);
    length = sizeof from;
    recvfrom(b, buffer, sizeof buffer, 0, (struct sockaddr *)&from, &length);
    CHECK_EQ("which the receiver sees", from.sin_port, any.sin_port);
    CHECK_ERR("a second bind", bind(fresh, (struct sockaddr *)&c_address,
                                    sizeof c_address), EINVAL);
    struct sockaddr_in taken = c_address;
    int other = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK_ERR("a port in use", bind(other, (struct sockaddr *)&taken,
                                    sizeof taken), EADDRINUSE);
    close(other);
    close(fresh);
    close(a);
    close(b);
    close(c);
    return check_finish();
}
