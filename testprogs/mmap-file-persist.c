/*
 * mmap-file-persist: what a shared file mapping stores is the file's
 * contents for everyone after msync(2), also for a later boot. Run as a
 * conformance program it maps a new file under /tmp, fills it through
 * the mapping, msyncs, and reads it back through a new descriptor.
 *
 * The image test (Tests/VillaTests/MappedFileImageTests.swift) runs it
 * with arguments instead: "write PATH" fills PATH through a mapping,
 * msyncs with MS_SYNC, says "synced" and waits to be killed, so only
 * msync can have put the bytes on the disk; "check PATH" maps PATH on the
 * next boot and says "intact" when every byte is as written.
 */
#include "check.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define PAGE 4096L
#define PAGES 40L
#define SIZE (PAGES * PAGE - 123)

static unsigned char expected(long i)
{
    return (unsigned char)(i * 131 + i / PAGE);
}

/* Maps `path` shared, `size` bytes, and fills it. 0 on success. */
static int fill(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, SIZE) != 0)
        return -1;
    unsigned char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                            fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return -1;
    for (long i = 0; i < SIZE; i++)
        p[i] = expected(i);
    return msync(p, SIZE, MS_SYNC);
}

/* How many bytes of `path`, read through a mapping, are not as written;
 * -1 if it cannot be mapped or has the wrong size. */
static long damaged(const char *path)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size != SIZE)
        return -1;
    unsigned char *p = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return -1;
    long bad = 0;
    for (long i = 0; i < SIZE; i++)
        if (p[i] != expected(i))
            bad++;
    munmap(p, SIZE);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "write") == 0) {
        if (fill(argv[2]) != 0) {
            say("write failed: %s\n", errno_name(errno));
            return 1;
        }
        say("synced\n");
        for (;;)
            pause();
    }
    if (argc == 3 && strcmp(argv[1], "check") == 0) {
        long bad = damaged(argv[2]);
        say(bad == 0 ? "intact\n" : "damaged: %ld\n", bad);
        return bad == 0 ? 0 : 1;
    }

    char base[] = "/tmp/villa-mmap-persist-XXXXXX";
    CHECK("mkdtemp under /tmp", mkdtemp(base) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/data", base);
    CHECK_RET("fill a file through a shared mapping and msync", fill(path),
              0);
    CHECK_EQ("a new mapping reads every byte back", damaged(path), 0);
    int fd = open(path, O_RDONLY);
    unsigned char buffer[PAGE];
    long bad = 0;
    for (long at = 0; at < SIZE; at += PAGE) {
        long n = pread(fd, buffer, PAGE, at);
        for (long i = 0; i < n; i++)
            if (buffer[i] != expected(at + i))
                bad++;
    }
    CHECK_EQ("and so does pread", bad, 0);
    close(fd);
    CHECK_RET("unlink", unlink(path), 0);
    CHECK_RET("rmdir", rmdir(base), 0);
    return check_finish();
}
