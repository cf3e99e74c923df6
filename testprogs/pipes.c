/*
 * pipes: pipe(2) and pipe2(2). Bytes go through in order, a reader sees
 * end of file once every writer is closed, a writer without readers gets
 * EPIPE (SIGPIPE is ignored here so that the error is visible),
 * O_NONBLOCK turns waiting into EAGAIN, O_CLOEXEC marks both ends, and a
 * pipe fills up at its capacity. Descriptor numbers are checked where
 * Linux fixes them (lowest free first).
 */
#include "check.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>

int main(void)
{
    SECTION("a pipe");
    int fds[2] = {-1, -1};
    CHECK_RET("pipe", pipe(fds), 0);
    CHECK_EQ("the read end is descriptor 3", fds[0], 3);
    CHECK_EQ("the write end is descriptor 4", fds[1], 4);
    struct stat st;
    fstat(fds[0], &st);
    CHECK_EQ("the read end is a FIFO", st.st_mode & S_IFMT, S_IFIFO);
    CHECK_RET("F_GETFL of the read end", fcntl(fds[0], F_GETFL) & O_ACCMODE,
              O_RDONLY);
    CHECK_RET("F_GETFL of the write end", fcntl(fds[1], F_GETFL) & O_ACCMODE,
              O_WRONLY);
    CHECK_RET("write 5 bytes", write(fds[1], "hello", 5), 5);
    CHECK_RET("write 6 more", write(fds[1], " world", 6), 6);
    char buffer[64] = {0};
    CHECK_RET("read takes what is there, up to the count",
              read(fds[0], buffer, 3), 3);
    CHECK_STR("the first bytes", buffer, "hel");
    memset(buffer, 0, sizeof buffer);
    CHECK_RET("read the rest", read(fds[0], buffer, sizeof buffer), 8);
    CHECK_STR("in order", buffer, "lo world");
    CHECK_ERR("read from the write end", read(fds[1], buffer, 1), EBADF);
    CHECK_ERR("write to the read end", write(fds[0], "x", 1), EBADF);
    CHECK_ERR("lseek on a pipe", lseek(fds[0], 0, SEEK_CUR), ESPIPE);

    SECTION("end of file and broken pipes");
    write(fds[1], "last", 4);
    CHECK_RET("close the write end", close(fds[1]), 0);
    CHECK_RET("buffered bytes still arrive", read(fds[0], buffer, 64), 4);
    CHECK_RET("then end of file", read(fds[0], buffer, 64), 0);
    CHECK_RET("pipe again", pipe(fds), 0);
    CHECK_RET("close the read end", close(fds[0]), 0);
    signal(SIGPIPE, SIG_IGN);
    CHECK_ERR("write without readers", write(fds[1], "x", 1), EPIPE);
    close(fds[1]);

    SECTION("pipe2 flags");
    CHECK_RET("pipe2(O_CLOEXEC | O_NONBLOCK)",
              pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    CHECK_RET("the read end is close-on-exec", fcntl(fds[0], F_GETFD),
              FD_CLOEXEC);
    CHECK_RET("the write end is close-on-exec", fcntl(fds[1], F_GETFD),
              FD_CLOEXEC);
    CHECK_RET("O_NONBLOCK shows in F_GETFL",
              fcntl(fds[0], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    CHECK_ERR("an empty non-blocking read", read(fds[0], buffer, 1), EAGAIN);
    long capacity = fcntl(fds[1], F_GETPIPE_SZ);
    CHECK("F_GETPIPE_SZ is at least a page", capacity >= 4096);
    static char block[1 << 16];
    memset(block, 'p', sizeof block);
    long total = 0;
    for (;;) {
        ssize_t n = write(fds[1], block, sizeof block);
        if (n <= 0)
            break;
        total += n;
    }
    CHECK_EQ("a pipe takes exactly its capacity", total, capacity);
    CHECK_ERR("then a non-blocking write fails", write(fds[1], "x", 1),
              EAGAIN);
    long drained = 0;
    for (;;) {
        ssize_t n = read(fds[0], block, sizeof block);
        if (n <= 0)
            break;
        drained += n;
    }
    CHECK_EQ("everything written comes out", drained, capacity);
    CHECK_RET("F_SETFL clears O_NONBLOCK", fcntl(fds[0], F_SETFL, 0), 0);
    CHECK_RET("F_GETFL agrees", fcntl(fds[0], F_GETFL) & O_NONBLOCK, 0);
    close(fds[0]);
    close(fds[1]);
    CHECK_ERR("pipe2 with an unknown flag", pipe2(fds, O_APPEND), EINVAL);
    CHECK_ERR("pipe into a bad pointer", syscall(SYS_pipe2, BAD_POINTER, 0),
              EFAULT);

    SECTION("sharing");
    CHECK_RET("pipe", pipe(fds), 0);
    int copy = dup(fds[1]);
    close(fds[1]);
    CHECK_RET("a dup of the write end still writes", write(copy, "dup", 3), 3);
    close(copy);
    CHECK_RET("the reader gets it", read(fds[0], buffer, 64), 3);
    CHECK_RET("and end of file once the dup is closed",
              read(fds[0], buffer, 64), 0);
    close(fds[0]);
    return check_finish();
}
