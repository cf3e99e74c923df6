/*
 * readwrite: moving bytes through the standard descriptors with read(2),
 * write(2), readv(2) and writev(2), and the calls that streams refuse:
 * lseek(2), pread64(2) and pwrite64(2) answer ESPIPE. Standard input
 * holds CHECK_STDIN_TEXT (from check.h) in a pipe on the host and in the
 * boot bundle in Villa; stdout and stderr are pipes to the harness.
 *
 * A buffer that runs into an unmapped page gives a short write on Linux
 * (the bytes before the hole go out); a buffer that is bad from its
 * first byte gives EFAULT, and a failed read must not eat the input.
 */
#include "check.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#define PAGE 4096UL

static const char input[] = CHECK_STDIN_TEXT;

static void writing(void)
{
    SECTION("write");
    CHECK_RET("write to stdout", write(1, "a line by write\n", 16), 16);
    CHECK_RET("write of 0 bytes", write(1, "unseen", 0), 0);
    CHECK_RET("write of 0 bytes from NULL", write(1, NULL, 0), 0);
    CHECK_ERR("write from a bad pointer", write(1, BAD_POINTER, 10), EFAULT);
    CHECK_ERR("write from a kernel address",
              write(1, KERNEL_POINTER, 10), EFAULT);
    CHECK_ERR("write to stdin's read-only pipe", write(0, "x", 1), EBADF);
    CHECK_ERR("write to a closed descriptor", write(42, "x", 1), EBADF);
    CHECK_ERR("write to descriptor -1", write(-1, "x", 1), EBADF);

    /* One good page followed by an unmapped one. */
    char *two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < PAGE; i++)
        two[i] = i % 64 == 63 ? '\n' : '=';
    munmap(two + PAGE, PAGE);
    CHECK_RET("write running into an unmapped page is short",
              write(2, two, 2 * PAGE), PAGE);
    munmap(two, PAGE);

    SECTION("writev");
    struct iovec parts[] = {
        {"ab", 2}, {"", 0}, {"cd", 2}, {"\n", 1},
    };
    CHECK_RET("writev of four parts, one empty", writev(1, parts, 4), 5);
    CHECK_RET("writev of no parts", writev(1, parts, 0), 0);
    CHECK_ERR("writev with a negative count", writev(1, parts, (int)OPAQUE(-1)),
              EINVAL);
    CHECK_ERR("writev with more than IOV_MAX parts",
              writev(1, parts, (int)OPAQUE(1025)), EINVAL);
    CHECK_ERR("writev from a bad iovec array",
              writev(1, (struct iovec *)BAD_POINTER, 1), EFAULT);
    struct iovec bad[] = {{BAD_POINTER, 4}};
    CHECK_ERR("writev of a part at a bad pointer", writev(1, bad, 1), EFAULT);
    struct iovec huge[] = {{"x", 1}, {"y", SIZE_MAX / 2 + 1}};
    CHECK_ERR("writev whose length overflows ssize_t",
              writev(1, huge, 2), EINVAL);
    CHECK_ERR("writev to stdin", writev(0, parts, 1), EBADF);
    CHECK_ERR("writev to a closed descriptor", writev(42, parts, 1), EBADF);
}

static void reading(void)
{
    SECTION("read and readv");
    char buffer[256];
    memset(buffer, 0, sizeof buffer);
    CHECK_RET("read of 0 bytes", read(0, buffer, 0), 0);
    CHECK_ERR("read into a bad pointer", read(0, BAD_POINTER, 5), EFAULT);
    CHECK_ERR("read into a kernel address",
              read(0, KERNEL_POINTER, 5), EFAULT);
    CHECK_RET("read of 5 bytes", read(0, buffer, 5), 5);
    CHECK_MEM("the first 5 bytes of stdin", buffer, input, 5);
    CHECK_RET("a failed read consumed nothing", buffer[0], 's');

    char a[3], b[1], c[4];
    struct iovec parts[] = {{a, 3}, {b, 0}, {c, 4}};
    CHECK_RET("readv into three parts, one empty", readv(0, parts, 3), 7);
    CHECK_MEM("the first part", a, input + 5, 3);
    CHECK_MEM("the third part", c, input + 8, 4);
    CHECK_ERR("readv with a negative count", readv(0, parts, (int)OPAQUE(-1)),
              EINVAL);
    CHECK_ERR("readv from a bad iovec array",
              readv(0, (struct iovec *)BAD_POINTER, 1), EFAULT);

    size_t rest = sizeof input - 1 - 12;
    memset(buffer, 0, sizeof buffer);
    CHECK_RET("read of the rest, asking for more", read(0, buffer, 200),
              rest);
    CHECK_MEM("the rest of stdin", buffer, input + 12, rest);
    CHECK_RET("read at end of file", read(0, buffer, 10), 0);
    CHECK_RET("read at end of file again", read(0, buffer, 10), 0);
    CHECK_RET("readv at end of file", readv(0, parts, 3), 0);

    CHECK_ERR("read from stdout's write-only pipe", read(1, buffer, 1),
              EBADF);
    CHECK_ERR("read from stderr's write-only pipe", read(2, buffer, 1),
              EBADF);
    CHECK_ERR("read from a closed descriptor", read(42, buffer, 1), EBADF);
    CHECK_ERR("read from descriptor -1", read(-1, buffer, 1), EBADF);
    CHECK_ERR("readv from a closed descriptor", readv(42, parts, 1), EBADF);
}

static void seeking(void)
{
    SECTION("streams do not seek");
    char byte;
    CHECK_ERR("lseek on stdin", lseek(0, 0, SEEK_CUR), ESPIPE);
    CHECK_ERR("lseek on stdout", lseek(1, 0, SEEK_SET), ESPIPE);
    CHECK_ERR("lseek on stderr", lseek(2, 10, SEEK_END), ESPIPE);
    CHECK_ERR("lseek on a closed descriptor", lseek(42, 0, SEEK_SET), EBADF);
    CHECK_ERR("pread64 on stdin", pread(0, &byte, 1, 0), ESPIPE);
    CHECK_ERR("pwrite64 on stdout", pwrite(1, "x", 1, 0), ESPIPE);
    CHECK_ERR("pread64 on a closed descriptor", pread(42, &byte, 1, 0),
              EBADF);
    CHECK_ERR("pwrite64 on a closed descriptor", pwrite(42, "x", 1, 0),
              EBADF);
}

int main(void)
{
    writing();
    reading();
    seeking();
    return check_finish();
}
