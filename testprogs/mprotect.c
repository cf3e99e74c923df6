/*
 * mprotect: changing the protection of anonymous memory with
 * mprotect(2). Contents survive every change; lengths round up to whole
 * pages; a range with a hole, an unaligned address or unknown protection
 * bits is refused. The faults that a protection causes are checked by
 * the fault-* programs, since a fault ends the program.
 */
#include "check.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define PAGE 4096UL
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static int filled_with(const volatile unsigned char *p, size_t n,
                       unsigned char value)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != value)
            return 0;
    return 1;
}

/* A function copied into a page and run there. */
static int (*copy_code(unsigned char *page))(void)
{
    /* mov eax, 42; ret */
    static const unsigned char code[] = {0xB8, 42, 0, 0, 0, 0xC3};
    memcpy(page, code, sizeof code);
    return (int (*)(void))(void *)page;
}

int main(void)
{
    SECTION("protection changes keep contents");
    unsigned char *p = mmap(NULL, 4 * PAGE, RW, ANON, -1, 0);
    CHECK("mmap of four pages", p != MAP_FAILED);
    memset(p, 0x11, 4 * PAGE);
    CHECK_RET("mprotect to PROT_READ", mprotect(p, 4 * PAGE, PROT_READ), 0);
    CHECK("read-only pages read back", filled_with(p, 4 * PAGE, 0x11));
    CHECK_RET("mprotect to PROT_NONE", mprotect(p, 4 * PAGE, PROT_NONE), 0);
    CHECK_RET("mprotect back to read-write", mprotect(p, 4 * PAGE, RW), 0);
    CHECK("the contents survive PROT_NONE", filled_with(p, 4 * PAGE, 0x11));
    p[0] = 0x22;
    CHECK_EQ("writable again", p[0], 0x22);

    SECTION("part of a mapping");
    CHECK_RET("mprotect of the middle two pages",
              mprotect(p + PAGE, 2 * PAGE, PROT_READ), 0);
    p[0] = 0x33;
    p[3 * PAGE] = 0x44;
    CHECK_EQ("the first page stays writable", p[0], 0x33);
    CHECK_EQ("the last page stays writable", p[3 * PAGE], 0x44);
    CHECK("the middle pages read back", filled_with(p + PAGE, 2 * PAGE, 0x11));
    CHECK_RET("mprotect of a partial page rounds up",
              mprotect(p + PAGE, 100, RW), 0);
    p[2 * PAGE - 1] = 0x55;
    CHECK_EQ("the whole page became writable", p[2 * PAGE - 1], 0x55);
    CHECK_RET("mprotect of length 0 does nothing", mprotect(p, 0, PROT_NONE),
              0);
    p[1] = 0x66;
    CHECK_EQ("the page is still writable", p[1], 0x66);

    SECTION("executable memory");
    unsigned char *code = mmap(NULL, PAGE, RW, ANON, -1, 0);
    int (*function)(void) = copy_code(code);
    CHECK_RET("mprotect to read and execute",
              mprotect(code, PAGE, PROT_READ | PROT_EXEC), 0);
    CHECK_EQ("code in the page runs", function(), 42);
    CHECK_RET("munmap of the code page", munmap(code, PAGE), 0);

    SECTION("errors");
    /* By raw call: musl's mprotect() rounds the address down itself. */
    CHECK_ERR("mprotect at an unaligned address",
              syscall(SYS_mprotect, p + 1, PAGE, PROT_READ), EINVAL);
    CHECK_ERR("mprotect with unknown protection bits",
              mprotect(p, PAGE, 0x40), EINVAL);
    CHECK_ERR("mprotect of a range that wraps around",
              mprotect(p, (size_t)-PAGE, PROT_READ), ENOMEM);
    CHECK_RET("munmap of the third page", munmap(p + 2 * PAGE, PAGE), 0);
    CHECK_ERR("mprotect over a hole", mprotect(p, 4 * PAGE, PROT_READ),
              ENOMEM);
    CHECK_ERR("mprotect of an unmapped page",
              mprotect(p + 2 * PAGE, PAGE, PROT_READ), ENOMEM);
    CHECK_RET("munmap of the rest", munmap(p, 4 * PAGE), 0);
    CHECK_ERR("mprotect after munmap", mprotect(p, PAGE, PROT_READ), ENOMEM);

    return check_finish();
}
