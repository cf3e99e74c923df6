/*
 * mmap-file: file-backed mappings, mmap(2) of a regular file with
 * MAP_SHARED and MAP_PRIVATE. A shared mapping and read(2)/write(2) see
 * one copy of the file: stores through the mapping reach the file, and
 * writes to the file show in the mapping. A private mapping keeps its
 * stores to itself. A touch past the end of the file is SIGBUS, also
 * after ftruncate shrinks the file under the mapping; msync, munmap of
 * parts, mprotect and mremap work on file mappings; mmap refuses what
 * cannot be mapped (EACCES, ENODEV, EBADF, EINVAL) in Linux's order.
 * Works in a directory made with mkdtemp under /tmp (or the directory
 * given with --in), removed at the end.
 */
#include "check.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define PAGE 4096L
#define RW (PROT_READ | PROT_WRITE)

static sigjmp_buf escape;
static volatile int fault_signal;
static volatile int fault_code;
static volatile uintptr_t fault_address;

static void on_fault(int signal, siginfo_t *info, void *context)
{
    (void)context;
    fault_signal = signal;
    fault_code = info->si_code;
    fault_address = (uintptr_t)info->si_addr;
    siglongjmp(escape, 1);
}

/* Reads (or writes, with `store`) one byte at p; returns the signal the
 * access raised, or 0. */
static int touch(volatile unsigned char *p, int store)
{
    fault_signal = 0;
    if (sigsetjmp(escape, 1) == 0) {
        if (store)
            *p = 1;
        else
            (void)*p;
    }
    return fault_signal;
}

/* The first `length` bytes of the file at `offset`, by pread(2). */
static unsigned char file_byte(int fd, off_t offset)
{
    unsigned char byte = 0xEE;
    if (pread(fd, &byte, 1, offset) != 1)
        return 0xEE;
    return byte;
}

static long file_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (long)st.st_size : -1;
}

static void pattern(unsigned char *buffer, long length, int seed)
{
    for (long i = 0; i < length; i++)
        buffer[i] = (unsigned char)(i * 7 + seed);
}

static unsigned char contents[3 * PAGE];
static char maps[65536];

/* The permissions /proc/self/maps gives the mapping at `address` when
 * its line names `path`, or "none". */
static const char *maps_permissions(void *address, const char *path)
{
    static char permissions[8];
    int fd = open("/proc/self/maps", O_RDONLY);
    long total = 0, n;
    while (fd >= 0 && (n = read(fd, maps + total,
                                sizeof maps - 1 - total)) > 0)
        total += n;
    if (fd >= 0)
        close(fd);
    maps[total] = 0;
    char start[32];
    snprintf(start, sizeof start, "%lx-", (unsigned long)address);
    for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, start, strlen(start)) != 0 || !strstr(line, path))
            continue;
        char *space = strchr(line, ' ');
        if (space == NULL)
            break;
        snprintf(permissions, sizeof permissions, "%.4s", space + 1);
        return permissions;
    }
    return "none";
}

int main(int argc, char **argv)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &action, NULL);
    sigaction(SIGSEGV, &action, NULL);

    /* "--in DIR" works in DIR instead (the image test runs it on the
     * persistent filesystem, whose mappings take another path). */
    const char *where = "/tmp";
    if (argc == 3 && strcmp(argv[1], "--in") == 0)
        where = argv[2];
    char base[96];
    size_t length = strlen(where);
    snprintf(base, sizeof base, "%s%svilla-mmap-file-XXXXXX", where,
             length > 0 && where[length - 1] == '/' ? "" : "/");
    CHECK("mkdtemp under /tmp", mkdtemp(base) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/data", base);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
    CHECK("create the file", fd >= 0);
    /* Two pages and a bit: the third page is partly past the end. */
    long size = 2 * PAGE + 100;
    pattern(contents, size, 3);
    CHECK_RET("write its contents", write(fd, contents, size), size);

    SECTION("MAP_SHARED: the mapping is the file");
    unsigned char *p = mmap(NULL, 3 * PAGE, RW, MAP_SHARED, fd, 0);
    CHECK("mmap MAP_SHARED of three pages", p != MAP_FAILED);
    CHECK_MEM("the mapping holds the file", p, contents, size);
    int zero = 1;
    for (long i = size; i < 3 * PAGE; i++)
        if (p[i] != 0)
            zero = 0;
    CHECK("the last page reads as zero past the end", zero);
    p[10] = 'M';
    CHECK_EQ("a store shows in pread", file_byte(fd, 10), 'M');
    CHECK_RET("pwrite into the mapped range", pwrite(fd, "W", 1, 20), 1);
    CHECK_EQ("a pwrite shows in the mapping", p[20], 'W');
    unsigned char buffer[16];
    CHECK_RET("lseek to 8", lseek(fd, 8, SEEK_SET), 8);
    CHECK_RET("read through the descriptor", read(fd, buffer, 4), 4);
    CHECK_EQ("read(2) sees the store", buffer[2], 'M');
    p[size + 50] = 'T';
    CHECK_EQ("a store past the end does not grow the file",
             file_size(fd), size);

    CHECK_STR("/proc/self/maps names it, shared",
              maps_permissions(p, path), "rw-s");

    unsigned char *q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, PAGE);
    CHECK("a second shared mapping at offset one page", q != MAP_FAILED);
    p[PAGE + 5] = 'S';
    CHECK_EQ("it sees the first mapping's store", q[5], 'S');

    SECTION("MAP_PRIVATE keeps its stores to itself");
    unsigned char *r = mmap(NULL, 2 * PAGE, RW, MAP_PRIVATE, fd, 0);
    CHECK("mmap MAP_PRIVATE", r != MAP_FAILED);
    CHECK_EQ("it starts with the file's bytes", r[10], 'M');
    r[30] = 'P';
    CHECK_EQ("a private store stays out of the file",
             file_byte(fd, 30), contents[30]);
    CHECK_EQ("and out of the shared mapping", p[30], contents[30]);
    CHECK_EQ("the private mapping keeps it", r[30], 'P');
    CHECK_RET("munmap the private mapping", munmap(r, 2 * PAGE), 0);

    SECTION("msync");
    CHECK_RET("msync MS_SYNC", msync(p, 3 * PAGE, MS_SYNC), 0);
    CHECK_RET("msync MS_ASYNC", msync(p, PAGE, MS_ASYNC), 0);
    CHECK_RET("msync MS_INVALIDATE", msync(p, PAGE, MS_INVALIDATE), 0);
    CHECK_ERR("msync MS_SYNC | MS_ASYNC",
              msync(p, PAGE, MS_SYNC | MS_ASYNC), EINVAL);
    CHECK_ERR("msync of an unaligned address", msync(p + 1, PAGE, MS_SYNC),
              EINVAL);

    SECTION("past the end of the file");
    unsigned char *big = mmap(NULL, 5 * PAGE, RW, MAP_SHARED, fd, 0);
    CHECK("a mapping longer than the file", big != MAP_FAILED);
    CHECK_EQ("a page within the file", touch(big + 2 * PAGE, 0), 0);
    CHECK_EQ("a page past the end is SIGBUS", touch(big + 3 * PAGE, 0),
             SIGBUS);
    CHECK_EQ("with BUS_ADRERR", fault_code, BUS_ADRERR);
    CHECK("at the address touched",
          fault_address == (uintptr_t)(big + 3 * PAGE));
    CHECK_RET("grow the file by pwrite", pwrite(fd, "G", 1, 3 * PAGE + 8),
              1);
    CHECK_EQ("the new page maps", touch(big + 3 * PAGE, 0), 0);
    CHECK_EQ("with what was written", big[3 * PAGE + 8], 'G');
    CHECK_RET("munmap it", munmap(big, 5 * PAGE), 0);
    unsigned char *far = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd,
                              16 * PAGE);
    CHECK("mmap at an offset past the end", far != MAP_FAILED);
    CHECK_EQ("touching it is SIGBUS", touch(far, 0), SIGBUS);
    CHECK_RET("munmap it", munmap(far, PAGE), 0);

    SECTION("ftruncate under a mapping");
    CHECK_RET("ftruncate to a page and ten bytes",
              ftruncate(fd, PAGE + 10), 0);
    CHECK_EQ("the third page is SIGBUS now", touch(p + 2 * PAGE, 0),
             SIGBUS);
    CHECK_EQ("the second page still maps", touch(p + PAGE, 0), 0);
    CHECK_EQ("its bytes past the new end read as zero", p[PAGE + 10], 0);
    CHECK_EQ("the other mapping agrees", q[10], 0);
    CHECK_EQ("bytes before the end stay", p[PAGE + 5], 'S');
    CHECK_RET("ftruncate back to three pages",
              ftruncate(fd, 3 * PAGE), 0);
    CHECK_EQ("the third page maps again", touch(p + 2 * PAGE, 0), 0);
    CHECK_EQ("and reads as zero", p[2 * PAGE + 1], 0);

    SECTION("munmap of a part, mprotect, mremap");
    CHECK_RET("munmap the middle page", munmap(p + PAGE, PAGE), 0);
    CHECK_EQ("the middle page is gone", touch(p + PAGE, 0), SIGSEGV);
    p[2 * PAGE + 2] = 'L';
    CHECK_EQ("the last page still reaches the file",
             file_byte(fd, 2 * PAGE + 2), 'L');
    CHECK_EQ("the other mapping still sees the file", q[5], 'S');
    CHECK_RET("mprotect the first page read-only",
              mprotect(p, PAGE, PROT_READ), 0);
    CHECK_EQ("a store is SIGSEGV", touch(p + 11, 1), SIGSEGV);
    CHECK_EQ("with SEGV_ACCERR", fault_code, SEGV_ACCERR);
    CHECK_RET("mprotect it read-write", mprotect(p, PAGE, RW), 0);
    p[11] = 'R';
    CHECK_EQ("the store reaches the file", file_byte(fd, 11), 'R');
    CHECK_RET("munmap the first page", munmap(p, PAGE), 0);
    CHECK_RET("munmap the last page", munmap(p + 2 * PAGE, PAGE), 0);
    CHECK_RET("munmap the second mapping", munmap(q, PAGE), 0);
    CHECK_EQ("stores survive the last munmap", file_byte(fd, 11), 'R');

    unsigned char *m = mmap(NULL, PAGE, RW, MAP_SHARED, fd, 0);
    CHECK("map one page", m != MAP_FAILED);
    m[0] = 'A';
    unsigned char *grown = mremap(m, PAGE, 3 * PAGE, MREMAP_MAYMOVE);
    CHECK("mremap it to three pages", grown != MAP_FAILED);
    CHECK_EQ("the first page kept the store", grown[0], 'A');
    CHECK_EQ("the new part maps the file", grown[2 * PAGE + 2], 'L');
    grown[2 * PAGE + 3] = 'N';
    CHECK_EQ("a store in the new part reaches the file",
             file_byte(fd, 2 * PAGE + 3), 'N');
    CHECK_RET("munmap it", munmap(grown, 3 * PAGE), 0);
    CHECK_EQ("the moved page's store reached the file", file_byte(fd, 0),
             'A');

    SECTION("the mapping outlives the descriptor");
    unsigned char *kept = mmap(NULL, PAGE, RW, MAP_SHARED, fd, 0);
    CHECK("map a page", kept != MAP_FAILED);
    CHECK_RET("close the descriptor", close(fd), 0);
    kept[1] = 'K';
    CHECK_RET("munmap", munmap(kept, PAGE), 0);
    fd = open(path, O_RDONLY);
    CHECK("reopen read-only", fd >= 0);
    CHECK_EQ("the store is in the file", file_byte(fd, 1), 'K');

    SECTION("what cannot be mapped");
    CHECK_ERR("MAP_SHARED PROT_WRITE of a read-only descriptor",
              mmap(NULL, PAGE, RW, MAP_SHARED, fd, 0), EACCES);
    void *ro = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    CHECK("MAP_SHARED PROT_READ of it", ro != MAP_FAILED);
    CHECK_ERR("mprotect PROT_WRITE on it", mprotect(ro, PAGE, RW), EACCES);
    munmap(ro, PAGE);
    void *cow = mmap(NULL, PAGE, RW, MAP_PRIVATE, fd, 0);
    CHECK("MAP_PRIVATE PROT_WRITE of it", cow != MAP_FAILED);
    munmap(cow, PAGE);
    CHECK_ERR("an unaligned offset", mmap(NULL, PAGE, PROT_READ, MAP_SHARED,
                                          fd, 100), EINVAL);
    int wo = open(path, O_WRONLY);
    CHECK_ERR("a write-only descriptor",
              mmap(NULL, PAGE, PROT_WRITE, MAP_SHARED, wo, 0), EACCES);
    close(wo);
    int path_fd = open(path, O_PATH);
    CHECK_ERR("an O_PATH descriptor",
              mmap(NULL, PAGE, PROT_READ, MAP_SHARED, path_fd, 0), EBADF);
    close(path_fd);
    int dir = open(base, O_RDONLY | O_DIRECTORY);
    CHECK_ERR("a directory", mmap(NULL, PAGE, PROT_READ, MAP_SHARED, dir, 0),
              ENODEV);
    close(dir);
    int pipes[2];
    CHECK_RET("pipe", pipe(pipes), 0);
    CHECK_ERR("a pipe's read end",
              mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, pipes[0], 0), ENODEV);
    CHECK_ERR("a pipe's write end",
              mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, pipes[1], 0), EACCES);
    close(pipes[0]);
    close(pipes[1]);
    CHECK_ERR("a closed descriptor",
              mmap(NULL, PAGE, PROT_READ, MAP_SHARED, 99, 0), EBADF);

    close(fd);
    CHECK_RET("unlink the file", unlink(path), 0);
    CHECK_RET("rmdir the directory", rmdir(base), 0);
    return check_finish();
}
