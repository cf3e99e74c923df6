/*
 * files: file-system calls on /tmp, which is a tmpfs (RAM) in both
 * guests. Villa has no disk file system yet, so these figures compare
 * the two kernels' in-memory file code, not storage.
 *
 *   files.create        open(O_CREAT | O_EXCL) and close of a new file;
 *   files.unlink        unlink(2) of such a file;
 *   files.write         write(2) of 64 KiB at a time into a file
 *                       truncated to zero first (throughput);
 *   files.read          read(2) of 64 KiB of that file back (throughput);
 *   files.write_fsync   write(2) of 4 KiB followed by fsync(2).
 *
 * The data file is 2 MiB by default because a larger one ends Villa
 * in a kernel panic today: its tmpfs keeps a file in one contiguous
 * buffer, and growing that past 2 MiB asks the heap for more than its
 * largest block.
 *
 * Usage: files [FILES_PER_ROUND [MIB_PER_ROUND]]   (default 200 2)
 */
#include "bench.h"

#include <fcntl.h>
#include <sys/stat.h>

enum { chunk_size = 64 * 1024, small_size = 4096 };

static long file_count;
static long chunk_count;
static int data_fd;
static char chunk[chunk_size];

static void file_name(char *name, size_t size, long index)
{
    snprintf(name, size, "/tmp/bench-%ld", index);
}

static void create_files(void *unused)
{
    (void)unused;
    char name[64];
    for (long i = 0; i < file_count; i++) {
        file_name(name, sizeof name, i);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0)
            bench_fail("open O_CREAT");
        BENCH_CHECK(close(fd));
    }
}

static void unlink_files(void *unused)
{
    (void)unused;
    char name[64];
    for (long i = 0; i < file_count; i++) {
        file_name(name, sizeof name, i);
        BENCH_CHECK(unlink(name));
    }
}

/* Set-up of the create rounds: the previous round's files go, untimed;
 * before the first round there are none. */
static void remove_files_if_present(void *unused)
{
    (void)unused;
    char name[64];
    for (long i = 0; i < file_count; i++) {
        file_name(name, sizeof name, i);
        if (unlink(name) != 0 && errno != ENOENT)
            bench_fail("unlink");
    }
}

static void empty_data_file(void *unused)
{
    (void)unused;
    BENCH_CHECK(ftruncate(data_fd, 0));
    BENCH_CHECK(lseek(data_fd, 0, SEEK_SET));
}

static void rewind_data_file(void *unused)
{
    (void)unused;
    BENCH_CHECK(lseek(data_fd, 0, SEEK_SET));
}

static void write_chunks(void *unused)
{
    (void)unused;
    for (long i = 0; i < chunk_count; i++)
        if (write(data_fd, chunk, chunk_size) != chunk_size)
            bench_fail("write 64 KiB");
}

static void read_chunks(void *unused)
{
    (void)unused;
    for (long i = 0; i < chunk_count; i++)
        if (read(data_fd, chunk, chunk_size) != chunk_size)
            bench_fail("read 64 KiB");
}

static void write_and_fsync(void *unused)
{
    (void)unused;
    for (long i = 0; i < file_count; i++) {
        if (write(data_fd, chunk, small_size) != small_size)
            bench_fail("write 4 KiB");
        BENCH_CHECK(fsync(data_fd));
    }
}

int main(int argc, char **argv)
{
    file_count = bench_count(argc, argv, 1, 200);
    chunk_count = bench_count(argc, argv, 2, 2) * (1024 * 1024 / chunk_size);
    memset(chunk, 'v', sizeof chunk);

    /* Each round's set-up leaves the directory as the round needs it:
     * without the files before a create round, with them before an
     * unlink round. */
    bench_measure("files.create", file_count, 0, remove_files_if_present,
                  create_files, NULL);
    remove_files_if_present(NULL);
    bench_measure("files.unlink", file_count, 0, create_files,
                  unlink_files, NULL);

    data_fd = open("/tmp/bench-data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (data_fd < 0)
        bench_fail("open /tmp/bench-data");
    bench_measure("files.write", chunk_count, chunk_size, empty_data_file,
                  write_chunks, NULL);
    bench_measure("files.read", chunk_count, chunk_size, rewind_data_file,
                  read_chunks, NULL);
    bench_measure("files.write_fsync", file_count, 0,
                  empty_data_file, write_and_fsync, NULL);
    BENCH_CHECK(close(data_fd));
    BENCH_CHECK(unlink("/tmp/bench-data"));
    return 0;
}
