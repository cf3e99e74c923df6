/*
 * mapped-files: file-backed mappings of a file in /tmp (tmpfs in both
 * guests), so the figures compare the kernels' page-cache paths, not
 * storage.
 *
 *   mapped.fault_shared   the first write to each page of a fresh
 *                         MAP_SHARED mapping of a 1 MiB file: a fault
 *                         that maps the file's page-cache page;
 *   mapped.fault_private  the first read of each page of a fresh
 *                         MAP_PRIVATE mapping of it;
 *   mapped.msync          msync(MS_SYNC) of the whole shared mapping
 *                         after a write to every page (throughput);
 *   mapped.read_after     read(2) of the file, 64 KiB at a time, while
 *                         the shared mapping holds every page
 *                         (throughput).
 *
 * Usage: mapped-files   (no counts: one round is the whole file)
 */
#include "bench.h"

#include <fcntl.h>
#include <sys/mman.h>

enum {
    page_size = 4096,
    file_pages = 256,
    file_size = file_pages * page_size,
    chunk_size = 64 * 1024,
};

static int fd;
static char *region;
static char chunk[chunk_size];

static void map_fresh(int flags)
{
    if (region && munmap(region, file_size) != 0)
        bench_fail("munmap");
    region = mmap(NULL, file_size, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (region == MAP_FAILED)
        bench_fail("mmap");
}

static void map_fresh_shared(void *unused)
{
    (void)unused;
    map_fresh(MAP_SHARED);
}

static void map_fresh_private(void *unused)
{
    (void)unused;
    map_fresh(MAP_PRIVATE);
}

static void write_every_page(void *unused)
{
    (void)unused;
    for (int i = 0; i < file_pages; i++)
        ((volatile char *)region)[i * page_size] = (char)i;
}

static void read_every_page(void *unused)
{
    (void)unused;
    for (int i = 0; i < file_pages; i++)
        (void)((volatile char *)region)[i * page_size];
}

static void sync_mapping(void *unused)
{
    (void)unused;
    BENCH_CHECK(msync(region, file_size, MS_SYNC));
}

static void read_file(void *unused)
{
    (void)unused;
    for (long at = 0; at < file_size; at += chunk_size)
        if (pread(fd, chunk, chunk_size, at) != chunk_size)
            bench_fail("pread 64 KiB");
}

int main(void)
{
    fd = open("/tmp/bench-mapped", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        bench_fail("open /tmp/bench-mapped");
    memset(chunk, 'm', sizeof chunk);
    for (long at = 0; at < file_size; at += chunk_size)
        if (write(fd, chunk, chunk_size) != chunk_size)
            bench_fail("write 64 KiB");

    bench_measure("mapped.fault_shared", file_pages, 0, map_fresh_shared,
                  write_every_page, NULL);
    bench_measure("mapped.fault_private", file_pages, 0, map_fresh_private,
                  read_every_page, NULL);
    map_fresh(MAP_SHARED);
    bench_measure("mapped.msync", 1, file_size, write_every_page,
                  sync_mapping, NULL);
    bench_measure("mapped.read_after", file_size / chunk_size, chunk_size,
                  NULL, read_file, NULL);
    BENCH_CHECK(munmap(region, file_size));
    BENCH_CHECK(close(fd));
    BENCH_CHECK(unlink("/tmp/bench-mapped"));
    return 0;
}
