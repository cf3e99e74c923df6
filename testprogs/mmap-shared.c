/*
 * mmap-shared: shared anonymous memory, mmap(2) with MAP_SHARED and
 * MAP_SHARED_VALIDATE. Within one process a shared mapping behaves like
 * a private one (zero-filled, readable, writable, unmappable); what sets
 * it apart is that fork(2) children see its writes, which arrives with
 * processes.
 */
#include "check.h"

#include <stdint.h>
#include <sys/mman.h>

#define PAGE 4096UL
#define RW (PROT_READ | PROT_WRITE)

int main(void)
{
    SECTION("MAP_SHARED | MAP_ANONYMOUS");
    unsigned char *p = mmap(NULL, 4 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS,
                            -1, 0);
    CHECK("mmap of four shared pages", p != MAP_FAILED);
    if (p != MAP_FAILED) {
        int zero = 1;
        for (size_t i = 0; i < 4 * PAGE; i++)
            if (p[i] != 0)
                zero = 0;
        CHECK("shared memory reads as zero", zero);
        memset(p, 7, 4 * PAGE);
        CHECK_EQ("and keeps what is written", p[4 * PAGE - 1], 7);
        CHECK_RET("mprotect of shared memory",
                  mprotect(p, PAGE, PROT_READ), 0);
        CHECK_EQ("read-only shared memory reads back", p[0], 7);
        CHECK_RET("MADV_DONTNEED on shared memory keeps the data",
                  madvise(p + PAGE, PAGE, MADV_DONTNEED), 0);
        CHECK_EQ("the shared page still holds its data", p[PAGE], 7);
        CHECK_RET("munmap of shared memory", munmap(p, 4 * PAGE), 0);
    }

    SECTION("MAP_SHARED_VALIDATE");
    /* Linux validates flags for file mappings only; an anonymous mapping
     * must say plain MAP_SHARED. */
    CHECK_ERR("MAP_SHARED_VALIDATE | MAP_ANONYMOUS",
              mmap(NULL, PAGE, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1,
                   0), EINVAL);
    return check_finish();
}
