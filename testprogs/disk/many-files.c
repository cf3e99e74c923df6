/*
 * many-files: the workload of the persistence test. It is not a
 * conformance program (its output depends on its arguments and it needs
 * a disk), so it lives apart from the
 * conformance programs in testprogs/.
 *
 *   many-files write DIR COUNT BYTES   creates COUNT files under DIR, in
 *       folders of 100, whose sizes add up to exactly BYTES, each filled
 *       from a generator seeded by its index; fsyncs every file and every
 *       folder; prints the totals and a checksum of everything written.
 *   many-files verify DIR COUNT BYTES  regenerates the same bytes and
 *       compares every file: prints the first difference and exits 1,
 *       or prints the same totals and checksum as `write`.
 *
 *   many-files remove DIR COUNT BYTES  unlinks every file and removes
 *       every folder under DIR, then prints how many files it removed.
 *
 * Sizes alternate above and below the mean, so both small files and
 * files of several blocks are covered.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { per_folder = 100 };

static long count;
static long total;

/* The size of file `index`: pairs of files share one random offset, one
 * above the mean and one below, and the last file takes the rounding. */
static long file_size(long index)
{
    long mean = total / count;
    if (index == count - 1)
        return total - mean * (count - 1);
    uint64_t pair = (uint64_t)(index / 2) * 0x9E3779B97F4A7C15ull;
    long offset = (long)((pair >> 33) % (uint64_t)(mean / 2 + 1));
    /* An unpaired file just before the last one stays at the mean. */
    if (index % 2 == 0 && index + 1 == count - 1)
        return mean;
    return index % 2 == 0 ? mean + offset : mean - offset;
}

/* xorshift64*: fast, and different for every file. */
static void fill(unsigned char *buffer, long size, long index)
{
    uint64_t state = 0x2545F4914F6CDD1Dull ^ ((uint64_t)index + 1) * 0x9E37;
    for (long i = 0; i < size; i++) {
        if (i % 8 == 0) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
        }
        buffer[i] = (unsigned char)((state * 0x2545F4914F6CDD1Dull)
                                    >> (8 * (i % 8)));
    }
}

static void path_of(char *path, size_t size, const char *dir, long index)
{
    snprintf(path, size, "%s/d%03ld/f%05ld", dir, index / per_folder, index);
}

static void folder_of(char *path, size_t size, const char *dir, long index)
{
    snprintf(path, size, "%s/d%03ld", dir, index / per_folder);
}

static void fail(const char *what, const char *path)
{
    printf("FAIL %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static void fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd) != 0)
        fail("fsync folder", path);
    close(fd);
}

static uint64_t mix(uint64_t sum, const unsigned char *bytes, long size)
{
    for (long i = 0; i < size; i++)
        sum = (sum ^ bytes[i]) * 0x100000001B3ull;
    return sum;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: many-files write|verify DIR COUNT BYTES\n");
        return 2;
    }
    int writing = strcmp(argv[1], "write") == 0;
    int removing = strcmp(argv[1], "remove") == 0;
    const char *dir = argv[2];
    count = atol(argv[3]);
    total = atol(argv[4]);
    if (count < 2 || total < count * 4)
        return 2;

    long largest = total / count * 2 + total % count + 1;
    unsigned char *expected = malloc(largest);
    unsigned char *actual = malloc(largest + 1);
    char path[256];
    uint64_t sum = 0xCBF29CE484222325ull;
    long bytes = 0;

    if (writing && mkdir(dir, 0755) != 0 && errno != EEXIST)
        fail("mkdir", dir);
    for (long i = 0; i < count; i++) {
        long size = file_size(i);
        fill(expected, size, i);
        sum = mix(sum, expected, size);
        bytes += size;
        if (i % per_folder == 0 && writing) {
            folder_of(path, sizeof path, dir, i);
            if (mkdir(path, 0755) != 0)
                fail("mkdir", path);
        }
        path_of(path, sizeof path, dir, i);
        if (removing) {
            if (unlink(path) != 0)
                fail("unlink", path);
            if (i % per_folder == per_folder - 1 || i == count - 1) {
                folder_of(path, sizeof path, dir, i);
                if (rmdir(path) != 0)
                    fail("rmdir", path);
            }
            continue;
        }
        if (writing) {
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
            if (fd < 0)
                fail("create", path);
            if (write(fd, expected, size) != size)
                fail("write", path);
            if (fsync(fd) != 0)
                fail("fsync", path);
            close(fd);
            if (i % per_folder == per_folder - 1 || i == count - 1) {
                folder_of(path, sizeof path, dir, i);
                fsync_path(path);
            }
            continue;
        }
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            fail("open", path);
        long got = 0;
        for (;;) {
            ssize_t n = read(fd, actual + got, largest + 1 - got);
            if (n < 0)
                fail("read", path);
            if (n == 0)
                break;
            got += n;
        }
        close(fd);
        if (got != size) {
            printf("FAIL %s: %ld bytes, expected %ld\n", path, got, size);
            return 1;
        }
        if (memcmp(actual, expected, size) != 0) {
            long at = 0;
            while (actual[at] == expected[at])
                at++;
            printf("FAIL %s: differs at byte %ld\n", path, at);
            return 1;
        }
    }
    if (writing || removing)
        fsync_path(dir);
    printf("%s %ld files, %ld bytes, checksum %016llx\n",
           writing ? "wrote" : removing ? "removed" : "verified", count, bytes,
           (unsigned long long)sum);
    return 0;
}
