/*
 * brk: the program break, by raw system call. The break grows and
 * shrinks, and new memory below it reads as zero. Where it starts is
 * not checked: Linux places it after the data of ET_EXEC programs but
 * elsewhere for static-pie, and static glibc moves it at startup.
 * Memory given back and taken again must be zero again, not stale.
 *
 * The C library's malloc also moves the break, so nothing here calls
 * malloc (check.h formats into a stack buffer) and the break is put back
 * where it was before the program ends.
 */
#include "check.h"

#include <stdint.h>
#include <sys/syscall.h>

static uintptr_t brk_to(uintptr_t address)
{
    return (uintptr_t)syscall(SYS_brk, address);
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

int main(void)
{
    SECTION("query");
    uintptr_t start = brk_to(0);
    CHECK("brk(0) returns a non-null break", start != 0);
    CHECK_EQ("brk(0) is stable", brk_to(0), start);

    SECTION("grow");
    uintptr_t base = (start + 4095) & ~(uintptr_t)4095;
    uintptr_t target = base + 3 * 4096;
    CHECK_EQ("brk grows by three pages", brk_to(target), target);
    CHECK_EQ("brk(0) reports the new break", brk_to(0), target);
    unsigned char *p = (unsigned char *)base;
    CHECK("new pages read as zero", all_zero(p, 3 * 4096));
    memset(p, 0xA5, 3 * 4096);
    CHECK_EQ("new pages keep what was written", p[3 * 4096 - 1], 0xA5);

    SECTION("unaligned");
    CHECK_EQ("an unaligned break is accepted as is",
             brk_to(target + 100), target + 100);
    CHECK_EQ("brk(0) reports the unaligned break", brk_to(0),
             target + 100);
    /* The page holding the unaligned end is mapped as a whole. */
    p[3 * 4096 + 4000] = 7;
    CHECK_EQ("the rest of the last page is usable", p[3 * 4096 + 4000], 7);

    SECTION("shrink");
    CHECK_EQ("brk shrinks by two pages", brk_to(base + 4096), base + 4096);
    CHECK_EQ("brk(0) reports the smaller break", brk_to(0), base + 4096);
    CHECK_EQ("memory below the break survives a shrink", p[100], 0xA5);
    CHECK_EQ("brk grows back", brk_to(target), target);
    CHECK("pages given back come back zeroed",
          all_zero(p + 4096, 2 * 4096));
    CHECK_EQ("the kept page is still intact", p[4095], 0xA5);

    SECTION("refusals");
    /* Linux answers a refused brk with the current break, not -1. */
    CHECK_EQ("brk below the start is refused", brk_to(start - 4096 * 1024),
             target);
    CHECK_EQ("brk to an absurd address is refused",
             brk_to((uintptr_t)1 << 62), target);
    CHECK_EQ("brk to a kernel address is refused",
             brk_to((uintptr_t)0xffff800000000000ull), target);
    CHECK_EQ("the break is unchanged after refusals", brk_to(0), target);

    SECTION("large growth");
    uintptr_t big = base + 64 * 1024 * 1024;
    CHECK_EQ("brk grows by 64 MiB", brk_to(big), big);
    unsigned char *q = (unsigned char *)base;
    int touched_zero = 1;
    for (size_t off = 3 * 4096; off < 64 * 1024 * 1024; off += 4096 * 16)
        if (q[off] != 0)
            touched_zero = 0;
    CHECK("sampled pages of the 64 MiB read as zero", touched_zero);
    q[64 * 1024 * 1024 - 1] = 1;
    CHECK_EQ("the last byte of the 64 MiB is writable",
             q[64 * 1024 * 1024 - 1], 1);

    SECTION("restore");
    CHECK_EQ("brk goes back to the start", brk_to(start), start);
    CHECK_EQ("brk(0) reports the start", brk_to(0), start);

    return check_finish();
}
