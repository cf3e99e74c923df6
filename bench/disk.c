/*
 * disk: file-system calls on a disk, in a folder of the disk's file
 * system: VillaFS on virtio-blk in Villa (the image is the root), ext4
 * on virtio-blk in Linux (linux-init mounts /dev/vda on /data). Both
 * disks are the same size, behind the same QEMU drive options.
 *
 *   disk.create         open(O_CREAT | O_EXCL) and close of a new file;
 *   disk.create_fsync   the same, then fsync of the file and its folder
 *                       (what a durable create costs);
 *   disk.write          sequential write(2) of 64 KiB chunks into an
 *                       empty file, with the fsync at the end counted
 *                       (throughput);
 *   disk.read_cold      read(2) of that file in 64 KiB chunks after the
 *                       caches are dropped (throughput);
 *   disk.random_read    pread(2) of 4 KiB at random aligned offsets of
 *                       it, caches dropped first (throughput);
 *   disk.random_write   pwrite(2) of 4 KiB at random aligned offsets,
 *                       then one fsync, counted (throughput);
 *   disk.write_fsync    an appended 4 KiB write followed by fsync(2).
 *
 * "Caches dropped" means writing 3 to /proc/sys/vm/drop_caches after a
 * sync, which Linux does; Villa has no page cache (every read goes to
 * the disk) and no such file, so there the step does nothing.
 *
 * Usage: disk DIR [FILES_PER_ROUND [MIB]]   (default /data 100 8)
 */
#include "bench.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

/* File systems in memory, on which these figures would mean nothing. */
enum { tmpfs_magic = 0x01021994, ramfs_magic = 0x858458f6 };

enum { chunk_size = 64 * 1024, small_size = 4096, random_ops = 256 };

static const char *folder;
static long file_count;
static long chunk_count;
static int data_fd;
static char chunk[chunk_size];
static off_t offsets[random_ops];

static void file_name(char *name, size_t size, long index)
{
    snprintf(name, size, "%s/c/%ld", folder, index);
}

static void remove_files(void *unused)
{
    (void)unused;
    char name[256];
    for (long i = 0; i < file_count; i++) {
        file_name(name, sizeof name, i);
        if (unlink(name) != 0 && errno != ENOENT)
            bench_fail("unlink");
    }
}

static void create_files(void *unused)
{
    (void)unused;
    char name[256];
    for (long i = 0; i < file_count; i++) {
        file_name(name, sizeof name, i);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0)
            bench_fail("open O_CREAT");
        BENCH_CHECK(close(fd));
    }
}

static void fsync_folder(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        bench_fail("open folder");
    BENCH_CHECK(fsync(fd));
    BENCH_CHECK(close(fd));
}

static void create_files_durably(void *unused)
{
    (void)unused;
    char name[256], parent[256];
    snprintf(parent, sizeof parent, "%s/c", folder);
    for (long i = 0; i < file_count; i++) {
        file_name(name, sizeof name, i);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0)
            bench_fail("open O_CREAT");
        BENCH_CHECK(fsync(fd));
        BENCH_CHECK(close(fd));
        fsync_folder(parent);
    }
}

/* Writes back everything, then asks Linux to forget its clean pages. */
static void drop_caches(void)
{
    sync();
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    if (fd < 0)
        return;
    if (write(fd, "3\n", 2) != 2)
        bench_fail("write drop_caches");
    close(fd);
}

static void empty_data_file(void *unused)
{
    (void)unused;
    BENCH_CHECK(ftruncate(data_fd, 0));
    BENCH_CHECK(fsync(data_fd));
    BENCH_CHECK(lseek(data_fd, 0, SEEK_SET));
}

static void write_chunks(void *unused)
{
    (void)unused;
    for (long i = 0; i < chunk_count; i++)
        if (write(data_fd, chunk, chunk_size) != chunk_size)
            bench_fail("write 64 KiB");
    BENCH_CHECK(fsync(data_fd));
}

static void cold_rewind(void *unused)
{
    (void)unused;
    drop_caches();
    BENCH_CHECK(lseek(data_fd, 0, SEEK_SET));
}

static void read_chunks(void *unused)
{
    (void)unused;
    for (long i = 0; i < chunk_count; i++)
        if (read(data_fd, chunk, chunk_size) != chunk_size)
            bench_fail("read 64 KiB");
}

/* Fresh random offsets each round (a fixed-seed generator, so both
 * kernels get the same sequence), and cold caches. */
static void random_setup(void *unused)
{
    (void)unused;
    static uint64_t state = 0x9E3779B97F4A7C15ull;
    long blocks = chunk_count * (chunk_size / small_size);
    for (int i = 0; i < random_ops; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        offsets[i] = (off_t)(state % (uint64_t)blocks) * small_size;
    }
    drop_caches();
}

static void random_reads(void *unused)
{
    (void)unused;
    for (int i = 0; i < random_ops; i++)
        if (pread(data_fd, chunk, small_size, offsets[i]) != small_size)
            bench_fail("pread 4 KiB");
}

static void random_writes(void *unused)
{
    (void)unused;
    for (int i = 0; i < random_ops; i++)
        if (pwrite(data_fd, chunk, small_size, offsets[i]) != small_size)
            bench_fail("pwrite 4 KiB");
    BENCH_CHECK(fsync(data_fd));
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
    folder = argc > 1 ? argv[1] : "/data";
    file_count = bench_count(argc, argv, 2, 100);
    chunk_count = bench_count(argc, argv, 3, 8) * (1024 * 1024 / chunk_size);
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (char)(i * 7 + 1);

    char path[256];
    if (mkdir(folder, 0755) != 0 && errno != EEXIST)
        bench_fail("mkdir DIR");
    struct statfs where;
    BENCH_CHECK(statfs(folder, &where));
    if (where.f_type == tmpfs_magic || where.f_type == ramfs_magic) {
        errno = EINVAL;
        bench_fail("DIR is in memory, not on a disk");
    }
    snprintf(path, sizeof path, "%s/c", folder);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        bench_fail("mkdir DIR/c");

    bench_measure("disk.create", file_count, 0, remove_files, create_files,
                  NULL);
    bench_measure("disk.create_fsync", file_count, 0, remove_files,
                  create_files_durably, NULL);
    remove_files(NULL);

    snprintf(path, sizeof path, "%s/data", folder);
    data_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (data_fd < 0)
        bench_fail("open DIR/data");
    bench_measure("disk.write", chunk_count, chunk_size, empty_data_file,
                  write_chunks, NULL);
    bench_measure("disk.read_cold", chunk_count, chunk_size, cold_rewind,
                  read_chunks, NULL);
    bench_measure("disk.random_read", random_ops, small_size, random_setup,
                  random_reads, NULL);
    bench_measure("disk.random_write", random_ops, small_size, random_setup,
                  random_writes, NULL);
    bench_measure("disk.write_fsync", file_count, 0, empty_data_file,
                  write_and_fsync, NULL);
    BENCH_CHECK(close(data_fd));
    return 0;
}
