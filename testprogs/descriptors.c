/*
 * descriptors: the descriptor table. dup(2), dup2(2) and dup3(2) with
 * their errors; fcntl(2) F_GETFD, F_SETFD, F_GETFL, F_DUPFD and
 * F_DUPFD_CLOEXEC; close(2) twice; fstat(2) and newfstatat(2) with
 * AT_EMPTY_PATH on the standard streams (pipes on both sides); ioctl(2)
 * terminal requests on them (ENOTTY: they are not terminals).
 *
 * The harness starts the program with exactly descriptors 0, 1 and 2
 * open, so the lowest free descriptor is 3.
 */
#include "check.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>

static void duplicating(void)
{
    SECTION("dup");
    CHECK_ERR("descriptor 3 is not open", fcntl(3, F_GETFD), EBADF);
    CHECK_RET("dup(1) takes the lowest free descriptor", dup(1), 3);
    CHECK_RET("dup(1) again takes the next", dup(1), 4);
    CHECK_RET("write through the copy", write(3, "via dup\n", 8), 8);
    CHECK_RET("close(3)", close(3), 0);
    CHECK_RET("dup(2) fills the hole at 3", dup(2), 3);
    CHECK_ERR("dup of a closed descriptor", dup(40), EBADF);
    CHECK_ERR("dup of descriptor -1", dup(-1), EBADF);
    CHECK_RET("close(3) again", close(3), 0);
    CHECK_RET("close(4)", close(4), 0);

    SECTION("dup2");
    CHECK_RET("dup2(1, 10)", dup2(1, 10), 10);
    CHECK_RET("write through descriptor 10", write(10, "via dup2\n", 9), 9);
    CHECK_RET("dup2 onto an open descriptor replaces it", dup2(0, 10), 10);
    CHECK_ERR("descriptor 10 now reads stdin, so writing fails",
              write(10, "x", 1), EBADF);
    CHECK_RET("dup2 of a descriptor onto itself", dup2(10, 10), 10);
    CHECK_ERR("dup2 of a closed descriptor onto itself", dup2(40, 40),
              EBADF);
    CHECK_ERR("dup2 of a closed descriptor", dup2(40, 11), EBADF);
    CHECK_ERR("dup2 onto descriptor -1", dup2(1, -1), EBADF);
    CHECK_ERR("dup2 onto a descriptor past every limit",
              dup2(1, 0x7fffffff), EBADF);
    CHECK_ERR("the failed dup2 left 11 closed", fcntl(11, F_GETFD), EBADF);
    CHECK_RET("close(10)", close(10), 0);

    SECTION("dup3");
    CHECK_RET("dup3(1, 12, O_CLOEXEC)", dup3(1, 12, O_CLOEXEC), 12);
    CHECK_RET("the copy is close-on-exec", fcntl(12, F_GETFD), FD_CLOEXEC);
    CHECK_RET("dup3(1, 13, 0)", dup3(1, 13, 0), 13);
    CHECK_RET("that copy is not close-on-exec", fcntl(13, F_GETFD), 0);
    CHECK_RET("dup2 clears close-on-exec on its target", dup2(1, 12), 12);
    CHECK_RET("descriptor 12 is no longer close-on-exec",
              fcntl(12, F_GETFD), 0);
    CHECK_ERR("dup3 of a descriptor onto itself", dup3(12, 12, 0), EINVAL);
    /* By raw call: musl's dup3() takes a flag other than O_CLOEXEC as 0. */
    CHECK_ERR("dup3 with an unknown flag",
              syscall(SYS_dup3, 1, 14, O_NONBLOCK), EINVAL);
    CHECK_ERR("the failed dup3 left 14 closed", fcntl(14, F_GETFD), EBADF);
    CHECK_ERR("dup3 of a closed descriptor", dup3(40, 14, 0), EBADF);
    CHECK_RET("close(12)", close(12), 0);
    CHECK_RET("close(13)", close(13), 0);
}

static void controlling(void)
{
    SECTION("fcntl");
    CHECK_RET("F_GETFL of stdin: read-only", fcntl(0, F_GETFL) & O_ACCMODE,
              O_RDONLY);
    CHECK_RET("F_GETFL of stdout: write-only",
              fcntl(1, F_GETFL) & O_ACCMODE, O_WRONLY);
    CHECK_RET("F_GETFL of stderr: write-only",
              fcntl(2, F_GETFL) & O_ACCMODE, O_WRONLY);
    CHECK_RET("stdout is not O_APPEND or O_NONBLOCK",
              fcntl(1, F_GETFL) & (O_APPEND | O_NONBLOCK), 0);
    CHECK_RET("F_GETFD of stdout: not close-on-exec", fcntl(1, F_GETFD), 0);
    CHECK_RET("F_DUPFD from 20", fcntl(1, F_DUPFD, 20), 20);
    CHECK_RET("F_DUPFD from 20 again gives 21", fcntl(1, F_DUPFD, 20), 21);
    CHECK_RET("F_DUPFD from 0 gives the lowest free", fcntl(1, F_DUPFD, 0),
              3);
    CHECK_RET("the F_DUPFD copy is not close-on-exec", fcntl(20, F_GETFD),
              0);
    CHECK_RET("F_SETFD FD_CLOEXEC", fcntl(20, F_SETFD, FD_CLOEXEC), 0);
    CHECK_RET("F_GETFD reads it back", fcntl(20, F_GETFD), FD_CLOEXEC);
    CHECK_RET("the flag is per descriptor, not per file",
              fcntl(21, F_GETFD), 0);
    CHECK_RET("F_SETFD 0", fcntl(20, F_SETFD, 0), 0);
    CHECK_RET("F_GETFD reads 0 back", fcntl(20, F_GETFD), 0);
    CHECK_RET("F_DUPFD_CLOEXEC from 30", fcntl(1, F_DUPFD_CLOEXEC, 30), 30);
    CHECK_RET("the F_DUPFD_CLOEXEC copy is close-on-exec",
              fcntl(30, F_GETFD), FD_CLOEXEC);
    CHECK_ERR("F_DUPFD with a negative minimum", fcntl(1, F_DUPFD, -1),
              EINVAL);
    CHECK_ERR("F_DUPFD past every limit", fcntl(1, F_DUPFD, 0x7fffffff),
              EINVAL);
    CHECK_ERR("F_GETFD of a closed descriptor", fcntl(40, F_GETFD), EBADF);
    CHECK_ERR("F_GETFL of a closed descriptor", fcntl(40, F_GETFL), EBADF);
    CHECK_ERR("fcntl of descriptor -1", fcntl(-1, F_GETFD), EBADF);
    CHECK_ERR("an unknown fcntl command",
              syscall(SYS_fcntl, 1, 0x7fff, 0), EINVAL);
    CHECK_RET("write through the F_DUPFD copy", write(21, "via F_DUPFD\n", 12),
              12);
    int closed = close(3) == 0 && close(20) == 0 && close(21) == 0 &&
                 close(30) == 0;
    CHECK("the copies close", closed);
}

static void closing(void)
{
    SECTION("close");
    int fd = dup(1);
    CHECK_RET("dup for closing", fd, 3);
    CHECK_RET("close once", close(fd), 0);
    CHECK_ERR("close twice", close(fd), EBADF);
    CHECK_ERR("close of descriptor -1", close(-1), EBADF);
    CHECK_ERR("close of a huge descriptor", close(0x7fffffff), EBADF);
    CHECK_ERR("write to the closed descriptor", write(fd, "x", 1), EBADF);
}

static void inspecting(void)
{
    SECTION("fstat");
    struct stat st;
    for (int fd = 0; fd <= 2; fd++) {
        char what[64];
        memset(&st, 0xff, sizeof st);
        snprintf(what, sizeof what, "fstat(%d)", fd);
        CHECK_RET(what, fstat(fd, &st), 0);
        snprintf(what, sizeof what, "descriptor %d is a pipe (S_IFIFO)", fd);
        CHECK_EQ(what, st.st_mode & S_IFMT, S_IFIFO);
        snprintf(what, sizeof what, "descriptor %d has one link", fd);
        CHECK_EQ(what, st.st_nlink, 1);
    }
    struct stat out, err, copy;
    fstat(1, &out);
    fstat(2, &err);
    int fd = dup(1);
    fstat(fd, &copy);
    close(fd);
    CHECK("stdout and stderr are different pipes",
          out.st_ino != err.st_ino || out.st_dev != err.st_dev);
    CHECK("a dup of stdout is the same pipe",
          copy.st_ino == out.st_ino && copy.st_dev == out.st_dev);
    CHECK("st_blksize is a positive power of two",
          out.st_blksize > 0 && (out.st_blksize & (out.st_blksize - 1)) == 0);
    CHECK_ERR("fstat of a closed descriptor", fstat(40, &st), EBADF);
    CHECK_ERR("fstat into a bad pointer",
              syscall(SYS_fstat, 1, BAD_POINTER), EFAULT);

    SECTION("newfstatat");
    memset(&st, 0, sizeof st);
    CHECK_RET("newfstatat(1, \"\", AT_EMPTY_PATH)",
              syscall(SYS_newfstatat, 1, "", &st, AT_EMPTY_PATH), 0);
    CHECK_EQ("it is the same pipe as fstat(1)", st.st_ino, out.st_ino);
    CHECK_EQ("and a pipe", st.st_mode & S_IFMT, S_IFIFO);
    CHECK_ERR("newfstatat(1, \"\") without AT_EMPTY_PATH",
              syscall(SYS_newfstatat, 1, "", &st, 0), ENOENT);
    CHECK_ERR("newfstatat of a closed descriptor",
              syscall(SYS_newfstatat, 40, "", &st, AT_EMPTY_PATH), EBADF);
    CHECK_ERR("newfstatat with a bad path pointer",
              syscall(SYS_newfstatat, 1, BAD_POINTER, &st, AT_EMPTY_PATH),
              EFAULT);

    SECTION("ioctl");
    struct termios tio;
    struct winsize ws;
    CHECK_ERR("TCGETS on stdin", ioctl(0, TCGETS, &tio), ENOTTY);
    CHECK_ERR("TCGETS on stdout", ioctl(1, TCGETS, &tio), ENOTTY);
    CHECK_ERR("TIOCGWINSZ on stdout", ioctl(1, TIOCGWINSZ, &ws), ENOTTY);
    CHECK_ERR("TCGETS on a closed descriptor", ioctl(40, TCGETS, &tio),
              EBADF);
    CHECK_ERR("isatty(1) is false with ENOTTY", isatty(1) ? 1 : -1, ENOTTY);
}

int main(void)
{
    duplicating();
    controlling();
    closing();
    inspecting();
    return check_finish();
}
