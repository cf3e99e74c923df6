/*
 * memory: demand paging and the cost of mapping.
 *
 *   memory.page_fault    the first write to each page of a fresh
 *                        anonymous private mapping: a fault, a zeroed
 *                        frame and a page-table entry, per page;
 *   memory.mmap_munmap   mmap(2) of 64 KiB of anonymous memory and
 *                        munmap(2) of it again, never touched.
 *
 * The faulted mapping is 1 MiB: smaller than a 2 MiB huge page, so
 * Linux's transparent huge pages cannot serve it with one fault and
 * both kernels take one fault per 4 KiB page.
 *
 * Usage: memory [MAPPINGS_PER_ROUND]   (default 2000)
 */
#include "bench.h"

#include <sys/mman.h>

enum {
    page_size = 4096,
    fault_pages = 256,
    mapping_size = 64 * 1024,
};

static long mappings;
static char *region;

static void map_fresh_region(void *unused)
{
    (void)unused;
    if (region && munmap(region, fault_pages * page_size) != 0)
        bench_fail("munmap");
    region = mmap(NULL, fault_pages * page_size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED)
        bench_fail("mmap");
}

static void touch_every_page(void *unused)
{
    (void)unused;
    for (int i = 0; i < fault_pages; i++)
        ((volatile char *)region)[i * page_size] = 1;
}

static void map_and_unmap(void *unused)
{
    (void)unused;
    for (long i = 0; i < mappings; i++) {
        void *mapping = mmap(NULL, mapping_size, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mapping == MAP_FAILED)
            bench_fail("mmap");
        if (munmap(mapping, mapping_size) != 0)
            bench_fail("munmap");
    }
}

int main(int argc, char **argv)
{
    mappings = bench_count(argc, argv, 1, 2000);

    bench_measure("memory.page_fault", fault_pages, 0, map_fresh_region,
                  touch_every_page, NULL);
    bench_measure("memory.mmap_munmap", mappings, 0, NULL, map_and_unmap,
                  NULL);
    return 0;
}
