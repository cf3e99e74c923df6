/*
 * errors: the error paths that cut across families. Bad descriptors
 * answer EBADF and bad pointers answer EFAULT, without crashing the
 * program or the kernel. (Bad system call numbers are enosys.c's and
 * syscall-range.c's.)
 */
#include "check.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>

static void bad_descriptors(void)
{
    SECTION("EBADF");
    static const int fds[] = {-1, -1000, 3, 255, 1023, 65536, 0x7fffffff};
    char byte;
    struct stat st;
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        int fd = fds[i];
        char what[64];
        snprintf(what, sizeof what, "read(%d)", fd);
        CHECK_ERR(what, read(fd, &byte, 1), EBADF);
        snprintf(what, sizeof what, "write(%d)", fd);
        CHECK_ERR(what, write(fd, "x", 1), EBADF);
        snprintf(what, sizeof what, "fstat(%d)", fd);
        CHECK_ERR(what, fstat(fd, &st), EBADF);
        snprintf(what, sizeof what, "close(%d)", fd);
        CHECK_ERR(what, close(fd), EBADF);
    }
}

static void bad_pointers(void)
{
    SECTION("EFAULT");
    static const struct {
        uintptr_t address;
        const char *name;
    } pointers[] = {
        {8, "page zero"},
        {0x7ffffffff000ul, "the last user page"},
        {0x800000000000ul, "the first non-canonical address"},
        {0xffff800000000000ul, "the kernel half"},
        {0xfffffffffffff000ul, "the top page"},
    };
    for (size_t i = 0; i < sizeof pointers / sizeof pointers[0]; i++) {
        void *p = (void *)OPAQUE(pointers[i].address);
        char what[96];
        snprintf(what, sizeof what, "write from %s", pointers[i].name);
        CHECK_ERR(what, write(1, p, 4), EFAULT);
        snprintf(what, sizeof what, "read into %s", pointers[i].name);
        CHECK_ERR(what, read(0, p, 4), EFAULT);
        snprintf(what, sizeof what, "clock_gettime into %s",
                 pointers[i].name);
        CHECK_ERR(what, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p),
                  EFAULT);
        snprintf(what, sizeof what, "uname into %s", pointers[i].name);
        CHECK_ERR(what, syscall(SYS_uname, p), EFAULT);
        snprintf(what, sizeof what, "getrandom into %s", pointers[i].name);
        CHECK_ERR(what, syscall(SYS_getrandom, p, 8, 0), EFAULT);
        snprintf(what, sizeof what, "fstat into %s", pointers[i].name);
        CHECK_ERR(what, syscall(SYS_fstat, 1, p), EFAULT);
        snprintf(what, sizeof what, "writev of an iovec array at %s",
                 pointers[i].name);
        CHECK_ERR(what, syscall(SYS_writev, 1, p, 1), EFAULT);
        snprintf(what, sizeof what, "getrlimit into %s", pointers[i].name);
        CHECK_ERR(what, syscall(SYS_getrlimit, RLIMIT_CORE, p), EFAULT);
    }
    CHECK("the program is still alive", getpid() > 0);

    SECTION("EFAULT at the edge of a mapping");
    /* A struct that starts on a mapped page and ends on an unmapped one. */
    char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(two + 4096, 4096);
    char *edge = two + 4096 - 8;
    CHECK_ERR("clock_gettime into a timespec that straddles a hole",
              syscall(SYS_clock_gettime, CLOCK_MONOTONIC, edge), EFAULT);
    CHECK_ERR("uname into a buffer that straddles a hole",
              syscall(SYS_uname, two + 4096 - 100), EFAULT);
    CHECK_ERR("fstat into a buffer that straddles a hole",
              syscall(SYS_fstat, 1, two + 4096 - 64), EFAULT);
    CHECK_RET("a timespec that ends right at the hole is fine",
              syscall(SYS_clock_gettime, CLOCK_MONOTONIC, two + 4096 - 16), 0);
    char *readonly = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
    CHECK_ERR("clock_gettime into read-only memory",
              syscall(SYS_clock_gettime, CLOCK_MONOTONIC, readonly), EFAULT);
    CHECK_ERR("uname into read-only memory", syscall(SYS_uname, readonly),
              EFAULT);
    CHECK_ERR("read into read-only memory", read(0, readonly, 4), EFAULT);
    CHECK_RET("write from read-only memory is fine",
              write(1, readonly, 0), 0);
    munmap(two, 4096);
    munmap(readonly, 4096);
}

int main(void)
{
    bad_descriptors();
    bad_pointers();
    return check_finish();
}
