/*
 * mmap: anonymous private memory. mmap(2) with and without MAP_FIXED and
 * MAP_FIXED_NOREPLACE, munmap(2) of whole and partial ranges, madvise(2)
 * with MADV_DONTNEED, and the errors of each for bad lengths, unaligned
 * addresses, bad flags and unmapped ranges. Shared mappings are left to
 * mmap-shared.c.
 *
 * Whether a page is mapped is asked without touching it (a fault would
 * end the program): an mmap with MAP_FIXED_NOREPLACE fails with EEXIST
 * on a mapped page and succeeds on a free one.
 */
#include "check.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define PAGE 4096UL
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static unsigned char *map(size_t pages, int protection)
{
    void *p = mmap(NULL, pages * PAGE, protection, ANON, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* 1 if the page at `address` is mapped, 0 if free, -1 on a surprise. */
static int is_mapped(void *address)
{
    void *p = mmap(address, PAGE, PROT_NONE, ANON | MAP_FIXED_NOREPLACE,
                   -1, 0);
    if (p == address) {
        munmap(p, PAGE);
        return 0;
    }
    if (p == MAP_FAILED && errno == EEXIST)
        return 1;
    return -1;
}

static int filled_with(const unsigned char *p, size_t n, unsigned char value)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != value)
            return 0;
    return 1;
}

static void anonymous(void)
{
    SECTION("anonymous mappings");
    unsigned char *p = map(4, RW);
    CHECK("mmap of four read-write pages", p != NULL);
    CHECK_EQ("the address is page aligned", (uintptr_t)p % PAGE, 0);
    CHECK("new memory reads as zero", filled_with(p, 4 * PAGE, 0));
    memset(p, 0x5A, 4 * PAGE);
    CHECK("written memory reads back", filled_with(p, 4 * PAGE, 0x5A));
    CHECK_RET("munmap of the four pages", munmap(p, 4 * PAGE), 0);
    CHECK_EQ("the pages are gone", is_mapped(p), 0);

    unsigned char *q = mmap(NULL, 5000, RW, ANON, -1, 0);
    CHECK("mmap of a length that is not a page multiple", q != MAP_FAILED);
    q[2 * PAGE - 1] = 1;
    CHECK_EQ("the length is rounded up to whole pages", q[2 * PAGE - 1], 1);
    CHECK_RET("munmap of the rounded length", munmap(q, 5000), 0);

    unsigned char *n = map(2, PROT_NONE);
    CHECK("mmap with PROT_NONE", n != NULL);
    CHECK_EQ("a PROT_NONE mapping is mapped", is_mapped(n), 1);
    CHECK_RET("munmap of PROT_NONE pages", munmap(n, 2 * PAGE), 0);

    unsigned char *f = mmap(NULL, 8 * PAGE, RW, ANON | MAP_POPULATE, -1, 0);
    CHECK("mmap with MAP_POPULATE", f != MAP_FAILED);
    CHECK("populated memory reads as zero", filled_with(f, 8 * PAGE, 0));
    CHECK_RET("munmap of populated pages", munmap(f, 8 * PAGE), 0);

    unsigned char *d = mmap(NULL, PAGE, RW, ANON, 1, 0);
    CHECK("an anonymous mmap ignores its descriptor", d != MAP_FAILED);
    CHECK_RET("munmap of it", munmap(d, PAGE), 0);

    /* Memory is given on first touch, so a large mapping is cheap. */
    size_t large = 128UL << 20;
    unsigned char *l = mmap(NULL, large, RW, ANON, -1, 0);
    CHECK("mmap of 128 MiB", l != MAP_FAILED);
    int zero = 1;
    for (size_t off = 0; off < large; off += 1UL << 20) {
        if (l[off] != 0)
            zero = 0;
        l[off] = 1;
    }
    CHECK("one byte per MiB reads zero and takes a write", zero);
    CHECK_RET("munmap of 128 MiB", munmap(l, large), 0);

    unsigned char *pages[64];
    int distinct = 1, kept = 1;
    for (int i = 0; i < 64; i++) {
        pages[i] = map(1, RW);
        if (!pages[i])
            distinct = 0;
        else
            pages[i][0] = (unsigned char)i;
    }
    for (int i = 0; i < 64 && distinct; i++)
        for (int j = 0; j < i; j++)
            if (pages[i] == pages[j])
                distinct = 0;
    for (int i = 0; i < 64 && distinct; i++)
        if (pages[i][0] != i)
            kept = 0;
    CHECK("64 one-page mappings are distinct", distinct);
    CHECK("each of the 64 keeps its own byte", kept);
    int unmapped = 1;
    for (int i = 0; i < 64; i++)
        if (pages[i] && munmap(pages[i], PAGE) != 0)
            unmapped = 0;
    CHECK("the 64 pages unmap", unmapped);
}

static void fixed(void)
{
    SECTION("MAP_FIXED");
    unsigned char *p = map(4, RW);
    memset(p, 1, 4 * PAGE);
    unsigned char *r = mmap(p + PAGE, PAGE, RW, ANON | MAP_FIXED, -1, 0);
    CHECK("MAP_FIXED returns the address asked for", r == p + PAGE);
    CHECK("the replaced page reads as zero", filled_with(p + PAGE, PAGE, 0));
    CHECK("the page before is untouched", filled_with(p, PAGE, 1));
    CHECK("the pages after are untouched",
          filled_with(p + 2 * PAGE, 2 * PAGE, 1));
    CHECK_ERR("MAP_FIXED at an unaligned address",
              mmap(p + 1, PAGE, RW, ANON | MAP_FIXED, -1, 0), EINVAL);
    CHECK_ERR("MAP_FIXED beyond the user address space",
              mmap((void *)0x800000000000ul, PAGE, RW, ANON | MAP_FIXED,
                   -1, 0), ENOMEM);

    SECTION("MAP_FIXED_NOREPLACE");
    CHECK_ERR("MAP_FIXED_NOREPLACE over a mapped page",
              mmap(p, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
    CHECK_ERR("MAP_FIXED_NOREPLACE overlapping the end",
              mmap(p + 3 * PAGE, 2 * PAGE, RW, ANON | MAP_FIXED_NOREPLACE,
                   -1, 0), EEXIST);
    CHECK("a refused MAP_FIXED_NOREPLACE leaves the data",
          filled_with(p, PAGE, 1));
    CHECK_ERR("MAP_FIXED_NOREPLACE at an unaligned address",
              mmap(p + 1, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0),
              EINVAL);
    CHECK_RET("munmap of the four pages", munmap(p, 4 * PAGE), 0);
    r = mmap(p + 2 * PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK("MAP_FIXED_NOREPLACE on a free page returns it", r == p + 2 * PAGE);
    CHECK("and the page reads as zero", filled_with(r, PAGE, 0));
    CHECK_RET("munmap of it", munmap(r, PAGE), 0);

    SECTION("address hints");
    /* A free, aligned hint is taken as is by Linux. */
    unsigned char *h = mmap(p, PAGE, RW, ANON, -1, 0);
    CHECK("a free hint is honoured", h == p);
    CHECK_RET("munmap of it", munmap(h, PAGE), 0);
    unsigned char *busy = map(1, RW);
    unsigned char *other = mmap(busy, PAGE, RW, ANON, -1, 0);
    CHECK("a busy hint gives another address",
          other != MAP_FAILED && other != busy);
    CHECK_EQ("the busy page is still mapped", is_mapped(busy), 1);
    munmap(busy, PAGE);
    munmap(other, PAGE);
}

static void unmapping(void)
{
    SECTION("munmap");
    unsigned char *p = map(3, RW);
    memset(p, 2, 3 * PAGE);
    CHECK_RET("munmap of the middle page", munmap(p + PAGE, PAGE), 0);
    CHECK_EQ("the middle page is free", is_mapped(p + PAGE), 0);
    CHECK_EQ("the first page is still mapped", is_mapped(p), 1);
    CHECK_EQ("the last page is still mapped", is_mapped(p + 2 * PAGE), 1);
    CHECK("the first page keeps its data", filled_with(p, PAGE, 2));
    CHECK("the last page keeps its data", filled_with(p + 2 * PAGE, PAGE, 2));
    CHECK_RET("munmap across the hole", munmap(p, 3 * PAGE), 0);
    CHECK_EQ("the first page is free", is_mapped(p), 0);
    CHECK_EQ("the last page is free", is_mapped(p + 2 * PAGE), 0);
    CHECK_RET("munmap of an unmapped range succeeds", munmap(p, 3 * PAGE), 0);

    unsigned char *q = map(2, RW);
    CHECK_RET("munmap of a partial page", munmap(q, 100), 0);
    CHECK_EQ("the whole first page went", is_mapped(q), 0);
    CHECK_EQ("the second page stayed", is_mapped(q + PAGE), 1);
    CHECK_ERR("munmap at an unaligned address", munmap(q + PAGE + 1, PAGE),
              EINVAL);
    CHECK_ERR("munmap of length 0", munmap(q + PAGE, 0), EINVAL);
    CHECK_ERR("munmap of a range that wraps around",
              munmap(q + PAGE, (size_t)-PAGE), EINVAL);
    CHECK_RET("munmap of the second page", munmap(q + PAGE, PAGE), 0);
}

/* mmap by raw system call: musl's mmap() refuses some bad arguments
 * itself, and the point is what the kernel does with them. */
static long raw_mmap(void *address, size_t length, int protection, int flags,
                     int fd, long offset)
{
    return syscall(SYS_mmap, address, length, protection, flags, fd, offset);
}

static void errors(void)
{
    SECTION("mmap errors");
    CHECK_ERR("mmap of length 0", raw_mmap(NULL, 0, RW, ANON, -1, 0), EINVAL);
    CHECK_ERR("mmap with neither MAP_PRIVATE nor MAP_SHARED",
              raw_mmap(NULL, PAGE, RW, MAP_ANONYMOUS, -1, 0), EINVAL);
    CHECK_ERR("mmap of 2^62 bytes",
              raw_mmap(NULL, 1UL << 62, RW, ANON, -1, 0), ENOMEM);
    CHECK_ERR("mmap of a length that wraps when rounded",
              raw_mmap(NULL, (size_t)-1, RW, ANON, -1, 0), ENOMEM);
    CHECK_ERR("mmap with an unaligned offset",
              raw_mmap(NULL, PAGE, RW, ANON, -1, 1), EINVAL);
    CHECK_ERR("mmap of a file with a bad descriptor",
              raw_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, -1, 0), EBADF);
    CHECK_ERR("mmap of a closed descriptor",
              raw_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 77, 0), EBADF);
    CHECK_ERR("mmap of a pipe (stdin)",
              raw_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 0, 0), ENODEV);
}

static void advice(void)
{
    SECTION("madvise");
    unsigned char *p = map(3, RW);
    memset(p, 3, 3 * PAGE);
    CHECK_RET("MADV_DONTNEED on the first two pages",
              madvise(p, 2 * PAGE, MADV_DONTNEED), 0);
    CHECK("discarded pages read as zero", filled_with(p, 2 * PAGE, 0));
    CHECK("the third page keeps its data", filled_with(p + 2 * PAGE, PAGE, 3));
    p[0] = 9;
    CHECK_EQ("a discarded page takes writes again", p[0], 9);
    CHECK_RET("MADV_WILLNEED", madvise(p, 3 * PAGE, MADV_WILLNEED), 0);
    CHECK_RET("MADV_NORMAL", madvise(p, 3 * PAGE, MADV_NORMAL), 0);
    CHECK_RET("madvise of length 0", madvise(p, 0, MADV_DONTNEED), 0);
    CHECK_ERR("madvise at an unaligned address",
              madvise(p + 1, PAGE, MADV_DONTNEED), EINVAL);
    CHECK_ERR("madvise with unknown advice", madvise(p, PAGE, 12345), EINVAL);
    CHECK_RET("munmap of the last page", munmap(p + 2 * PAGE, PAGE), 0);
    CHECK_ERR("MADV_DONTNEED over a hole",
              madvise(p, 3 * PAGE, MADV_DONTNEED), ENOMEM);
    CHECK_ERR("MADV_NORMAL over a hole", madvise(p, 3 * PAGE, MADV_NORMAL),
              ENOMEM);
    CHECK_RET("munmap of the rest", munmap(p, 2 * PAGE), 0);
}

int main(void)
{
    anonymous();
    fixed();
    unmapping();
    errors();
    advice();
    return check_finish();
}
