/*
 * fsync-loop: the workload of the crash test, which kills QEMU while it
 * runs. Not a conformance program: it needs a disk and never ends.
 *
 *   fsync-loop write DIR   appends records to DIR/log forever, from the
 *       first index the log does not yet hold; after each record the log
 *       is fsync'd, and every tenth record also gets a file of its own
 *       (DIR/fNNNNNNN, then the file and DIR are fsync'd). Only then is
 *       "synced N" printed, so every index printed was durable before the
 *       host saw it.
 *   fsync-loop check DIR   reads the log back: the records must run
 *       0, 1, 2, ... with intact contents up to some N (a torn record
 *       after them is allowed: its fsync never returned), and the file of
 *       every tenth record below N must be there, whole, except the last
 *       record's: the crash may have come between the log's fsync and
 *       the file's (write mode makes that file again before going on).
 *       Prints "intact N" and exits 0, or names the first damage and
 *       exits 1.
 *
 * A record is a 16-byte header (magic, index, length of the body) and a
 * body of 64 to 4159 bytes derived from the index, so records straddle
 * block boundaries at varying offsets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { magic = 0x5646534c, file_every = 10, largest_body = 4159 };

struct header {
    uint32_t magic;
    uint32_t length;
    uint64_t index;
};

static uint32_t body_length(uint64_t index)
{
    return 64 + (uint32_t)(index * 2654435761u % (largest_body - 63));
}

static void body(unsigned char *buffer, uint64_t index, uint32_t length)
{
    for (uint32_t i = 0; i < length; i++)
        buffer[i] = (unsigned char)(index * 31 + i * 7 + (i >> 8));
}

static void fail(const char *what, const char *path)
{
    printf("FAIL %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static void say(const char *text)
{
    size_t length = strlen(text);
    if (write(1, text, length) != (ssize_t)length)
        exit(3);
}

/* Reads the log's intact records; returns how many and sets `*end` to
 * the byte offset just after the last one. */
static uint64_t scan(int fd, off_t *end)
{
    static unsigned char expected[largest_body], actual[largest_body];
    uint64_t index = 0;
    off_t offset = 0;
    for (;;) {
        struct header header;
        if (pread(fd, &header, sizeof header, offset) != sizeof header)
            break;
        uint32_t length = body_length(index);
        if (header.magic != magic || header.index != index ||
            header.length != length)
            break;
        if (pread(fd, actual, length, offset + sizeof header) !=
            (ssize_t)length)
            break;
        body(expected, index, length);
        if (memcmp(actual, expected, length) != 0)
            break;
        offset += sizeof header + length;
        index++;
    }
    *end = offset;
    return index;
}

static void file_path(char *path, size_t size, const char *dir,
                      uint64_t index)
{
    snprintf(path, size, "%s/f%07llu", dir, (unsigned long long)index);
}

/* Writes record `index`'s own file with its body and makes the file
 * and its folder durable. */
static void write_file(const char *dir, uint64_t index,
                       const unsigned char *contents)
{
    char path[256];
    file_path(path, sizeof path, dir, index);
    uint32_t length = body_length(index);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        fail("create", path);
    if (write(fd, contents, length) != (ssize_t)length || fsync(fd) != 0)
        fail("write", path);
    close(fd);
    int folder = open(dir, O_RDONLY | O_DIRECTORY);
    if (folder < 0 || fsync(folder) != 0)
        fail("fsync", dir);
    close(folder);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fsync-loop write|check DIR\n");
        return 2;
    }
    const char *dir = argv[2];
    char path[256], line[64];
    static unsigned char buffer[sizeof(struct header) + largest_body];

    if (strcmp(argv[1], "write") == 0 && mkdir(dir, 0755) != 0 &&
        errno != EEXIST)
        fail("mkdir", dir);
    snprintf(path, sizeof path, "%s/log", dir);
    int log = open(path, O_RDWR | O_CREAT, 0644);
    if (log < 0)
        fail("open", path);
    off_t end;
    uint64_t intact = scan(log, &end);

    if (strcmp(argv[1], "check") == 0) {
        for (uint64_t i = 0; i + 1 < intact; i += file_every) {
            file_path(path, sizeof path, dir, i);
            int fd = open(path, O_RDONLY);
            if (fd < 0)
                fail("open", path);
            uint32_t length = body_length(i);
            static unsigned char expected[largest_body];
            ssize_t got = read(fd, buffer, sizeof buffer);
            body(expected, i, length);
            if (got != (ssize_t)length ||
                memcmp(buffer, expected, length) != 0) {
                printf("FAIL %s: %zd bytes or contents wrong\n", path, got);
                return 1;
            }
            close(fd);
        }
        snprintf(line, sizeof line, "intact %llu\n",
                 (unsigned long long)intact);
        say(line);
        return 0;
    }

    /* A torn record after the intact ones is cut off before appending,
     * and the last record's file, which the crash may have cut short,
     * is made again. */
    if (ftruncate(log, end) != 0)
        fail("ftruncate", "log");
    if (intact > 0 && (intact - 1) % file_every == 0) {
        body(buffer, intact - 1, body_length(intact - 1));
        write_file(dir, intact - 1, buffer);
    }
    for (uint64_t index = intact;; index++) {
        struct header header = {magic, body_length(index), index};
        memcpy(buffer, &header, sizeof header);
        body(buffer + sizeof header, index, header.length);
        size_t size = sizeof header + header.length;
        if (pwrite(log, buffer, size, end) != (ssize_t)size)
            fail("write", "log");
        if (fsync(log) != 0)
            fail("fsync", "log");
        end += size;
        if (index % file_every == 0)
            write_file(dir, index, buffer + sizeof header);
        snprintf(line, sizeof line, "synced %llu\n",
                 (unsigned long long)index);
        say(line);
    }
}
