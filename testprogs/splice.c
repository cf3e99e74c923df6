/*
 * splice: splice(2), tee(2) and vmsplice(2) between pipes, between a
 * pipe and a regular file, with and without offsets, and between a pipe
 * and a socket. Checks which bytes move, that offsets given leave the
 * file position alone and are advanced, that SPLICE_F_NONBLOCK and
 * O_NONBLOCK make a waiting call EAGAIN, and the errors: neither end a
 * pipe (EINVAL), an offset for a pipe (ESPIPE), a pipe to itself
 * (EINVAL), an O_APPEND output (EINVAL), wrong access modes (EBADF),
 * unknown flags (EINVAL), no reader (EPIPE).
 * Works in a directory made with mkdtemp under /tmp, removed at the end.
 */
#include "check.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>

static int make_pipe(int fds[2], int flags)
{
    return pipe2(fds, flags);
}

/* Reads exactly what the pipe holds now (it is non-blocking). */
static long drain(int fd, char *out, long size)
{
    long total = 0;
    for (;;) {
        long n = read(fd, out + total, size - total);
        if (n <= 0)
            return total;
        total += n;
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    char base[] = "/tmp/villa-splice-XXXXXX";
    CHECK("mkdtemp under /tmp", mkdtemp(base) != NULL);
    char path[64], other[64];
    snprintf(path, sizeof path, "%s/source", base);
    snprintf(other, sizeof other, "%s/target", base);
    int file = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
    CHECK("create a file", file >= 0);
    const char *text = "0123456789abcdefghij";
    CHECK_RET("write twenty bytes", write(file, text, 20), 20);

    int a[2], b[2];
    CHECK_RET("pipe a", make_pipe(a, O_NONBLOCK), 0);
    CHECK_RET("pipe b", make_pipe(b, O_NONBLOCK), 0);
    char buffer[64];

    SECTION("file to pipe");
    loff_t offset = 4;
    CHECK_RET("splice six bytes from offset 4", splice(file, &offset, a[1],
              NULL, 6, 0), 6);
    CHECK_EQ("the offset advanced", offset, 10);
    CHECK_EQ("the file position stayed", lseek(file, 0, SEEK_CUR), 20);
    CHECK_RET("lseek to 15", lseek(file, 15, SEEK_SET), 15);
    CHECK_RET("splice from the file position", splice(file, NULL, a[1], NULL,
              100, 0), 5);
    CHECK_EQ("which moved to the end", lseek(file, 0, SEEK_CUR), 20);
    CHECK_RET("splice at the end of the file", splice(file, NULL, a[1], NULL,
              100, 0), 0);
    memset(buffer, 0, sizeof buffer);
    CHECK_EQ("the pipe holds both pieces", drain(a[0], buffer, 64), 11);
    CHECK_STR("in order", buffer, "456789fghij");

    SECTION("pipe to file");
    CHECK_RET("write to pipe a", write(a[1], "SPLICED", 7), 7);
    offset = 2;
    CHECK_RET("splice five bytes to offset 2", splice(a[0], NULL, file,
              &offset, 5, 0), 5);
    CHECK_EQ("the offset advanced", offset, 7);
    CHECK_RET("pread shows them", pread(file, buffer, 8, 0), 8);
    buffer[8] = 0;
    CHECK_STR("in the file", buffer, "01SPLIC7");
    CHECK_RET("lseek to the end", lseek(file, 0, SEEK_END), 20);
    CHECK_RET("splice the rest to the file position", splice(a[0], NULL,
              file, NULL, 100, 0), 2);
    CHECK_EQ("the file grew", lseek(file, 0, SEEK_END), 22);
    CHECK_RET("pread the tail", pread(file, buffer, 2, 20), 2);
    CHECK_MEM("it is the pipe's rest", buffer, "ED", 2);
    CHECK_ERR("an empty pipe with SPLICE_F_NONBLOCK",
              splice(a[0], NULL, file, NULL, 10, SPLICE_F_NONBLOCK), EAGAIN);
    CHECK_ERR("an empty O_NONBLOCK pipe",
              splice(a[0], NULL, file, NULL, 10, 0), EAGAIN);

    SECTION("pipe to pipe");
    CHECK_RET("write to pipe a", write(a[1], "hello pipes", 11), 11);
    CHECK_RET("splice five bytes from a to b", splice(a[0], NULL, b[1], NULL,
              5, 0), 5);
    memset(buffer, 0, sizeof buffer);
    CHECK_EQ("b holds them", drain(b[0], buffer, 64), 5);
    CHECK_STR("the first five", buffer, "hello");
    CHECK_RET("splice the rest", splice(a[0], NULL, b[1], NULL, 100, 0), 6);
    memset(buffer, 0, sizeof buffer);
    CHECK_EQ("b holds the rest", drain(b[0], buffer, 64), 6);
    CHECK_STR("in order", buffer, " pipes");
    CHECK_ERR("from an empty pipe", splice(a[0], NULL, b[1], NULL, 10, 0),
              EAGAIN);

    SECTION("tee");
    CHECK_RET("write to pipe a", write(a[1], "teedata", 7), 7);
    CHECK_RET("tee four bytes from a to b", tee(a[0], b[1], 4, 0), 4);
    memset(buffer, 0, sizeof buffer);
    CHECK_EQ("b holds the copy", drain(b[0], buffer, 64), 4);
    CHECK_STR("of the first four", buffer, "teed");
    memset(buffer, 0, sizeof buffer);
    CHECK_EQ("a still holds everything", drain(a[0], buffer, 64), 7);
    CHECK_STR("unconsumed", buffer, "teedata");
    CHECK_ERR("tee from an empty pipe", tee(a[0], b[1], 4, 0), EAGAIN);
    CHECK_ERR("tee from a file", tee(file, b[1], 4, 0), EINVAL);
    CHECK_ERR("tee to the same pipe", tee(a[0], a[1], 4, 0), EINVAL);
    CHECK_ERR("tee with unknown flags", tee(a[0], b[1], 4, 0x100), EINVAL);
    CHECK_RET("tee of nothing", tee(a[0], b[1], 0, 0), 0);

    SECTION("vmsplice");
    struct iovec pieces[2] = {
        {.iov_base = "vm", .iov_len = 2},
        {.iov_base = "splice", .iov_len = 6},
    };
    CHECK_RET("vmsplice two pieces into a", vmsplice(a[1], pieces, 2, 0), 8);
    char first[3] = {0}, second[6] = {0};
    struct iovec out[2] = {
        {.iov_base = first, .iov_len = 2},
        {.iov_base = second, .iov_len = 5},
    };
    CHECK_RET("vmsplice seven bytes out of a", vmsplice(a[0], out, 2, 0), 7);
    CHECK_STR("into the first piece", first, "vm");
    CHECK_MEM("and the second", second, "splic", 5);
    memset(buffer, 0, sizeof buffer);
    CHECK_EQ("one byte is left", drain(a[0], buffer, 64), 1);
    CHECK_ERR("vmsplice out of an empty pipe",
              vmsplice(a[0], out, 2, SPLICE_F_NONBLOCK), EAGAIN);
    CHECK_ERR("vmsplice into a file", vmsplice(file, pieces, 2, 0), EBADF);
    CHECK_RET("vmsplice of no pieces", vmsplice(a[1], pieces, 0, 0), 0);

    SECTION("pipe and socket");
    int pair[2];
    CHECK_RET("socketpair", socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK,
                                       0, pair), 0);
    CHECK_RET("write to pipe a", write(a[1], "to the socket", 13), 13);
    CHECK_RET("splice pipe to socket", splice(a[0], NULL, pair[0], NULL, 64,
              0), 13);
    memset(buffer, 0, sizeof buffer);
    CHECK_RET("the peer receives it", read(pair[1], buffer, 64), 13);
    CHECK_STR("all of it", buffer, "to the socket");
    CHECK_RET("send from the peer", write(pair[1], "from it", 7), 7);
    CHECK_RET("splice socket to pipe", splice(pair[0], NULL, b[1], NULL, 64,
              0), 7);
    memset(buffer, 0, sizeof buffer);
    CHECK_EQ("pipe b holds it", drain(b[0], buffer, 64), 7);
    CHECK_STR("all of it", buffer, "from it");
    CHECK_ERR("an empty non-blocking socket",
              splice(pair[0], NULL, b[1], NULL, 64, 0), EAGAIN);
    offset = 0;
    CHECK_ERR("an offset for the socket",
              splice(pair[0], &offset, b[1], NULL, 64, 0), EINVAL);
    close(pair[0]);
    close(pair[1]);

    SECTION("what splice refuses");
    int target = open(other, O_RDWR | O_CREAT | O_EXCL, 0644);
    CHECK_ERR("file to file", splice(file, NULL, target, NULL, 4, 0),
              EINVAL);
    offset = 0;
    CHECK_ERR("an offset for the input pipe",
              splice(a[0], &offset, file, NULL, 4, 0), ESPIPE);
    CHECK_ERR("an offset for the output pipe",
              splice(file, NULL, a[1], &offset, 4, 0), ESPIPE);
    CHECK_ERR("a pipe to itself", splice(a[0], NULL, a[1], NULL, 4, 0),
              EINVAL);
    CHECK_ERR("unknown flags", splice(file, NULL, a[1], NULL, 4, 0x100),
              EINVAL);
    CHECK_RET("a length of zero", splice(-1, NULL, -1, NULL, 0, 0), 0);
    CHECK_ERR("a closed descriptor", splice(99, NULL, a[1], NULL, 4, 0),
              EBADF);
    CHECK_ERR("the write end as input",
              splice(a[1], NULL, file, NULL, 4, 0), EBADF);
    CHECK_ERR("the read end as output",
              splice(file, NULL, a[0], NULL, 4, 0), EBADF);
    int reader = open(path, O_RDONLY);
    CHECK_RET("write to pipe a", write(a[1], "x", 1), 1);
    CHECK_ERR("a read-only output file",
              splice(a[0], NULL, reader, NULL, 4, 0), EBADF);
    close(reader);
    int appender = open(path, O_WRONLY | O_APPEND);
    CHECK_ERR("an O_APPEND output", splice(a[0], NULL, appender, NULL, 4, 0),
              EINVAL);
    close(appender);
    offset = -1;
    CHECK_ERR("a negative offset", splice(file, &offset, b[1], NULL, 4, 0),
              EINVAL);
    CHECK_ERR("a bad offset pointer",
              splice(file, (loff_t *)8, b[1], NULL, 4, 0), EFAULT);
    int dir = open(base, O_RDONLY | O_DIRECTORY);
    CHECK_ERR("a directory as input", splice(dir, NULL, b[1], NULL, 4, 0),
              EINVAL);
    close(dir);

    SECTION("no reader");
    CHECK_RET("close b's read end", close(b[0]), 0);
    CHECK_ERR("file to a pipe without a reader",
              splice(file, NULL, b[1], NULL, 4, 0), EPIPE);
    CHECK_ERR("pipe to a pipe without a reader",
              splice(a[0], NULL, b[1], NULL, 4, 0), EPIPE);
    CHECK_ERR("tee to a pipe without a reader", tee(a[0], b[1], 4, 0),
              EPIPE);
    CHECK_RET("close a's write end", close(a[1]), 0);
    CHECK_EQ("drain a", drain(a[0], buffer, 64), 1);
    CHECK_RET("splice from a pipe without a writer is end-of-file",
              splice(a[0], NULL, file, NULL, 4, 0), 0);

    close(a[0]);
    close(b[1]);
    close(file);
    close(target);
    CHECK_RET("unlink the source", unlink(path), 0);
    CHECK_RET("unlink the target", unlink(other), 0);
    CHECK_RET("rmdir the directory", rmdir(base), 0);
    return check_finish();
}
