/*
 * fault-exec-data: a jump into a read-write page without PROT_EXEC
 * gives SIGSEGV: the kernel must set the no-execute bit.
 * The fault must end the program with signal 11 (status 139), on
 * the host and in Villa alike, after the transcript is out, and the
 * kernel must not panic. Core dumps are turned off first so that the
 * host run leaves no core file behind.
 *
 * expect-signal: 11
 */
#include "check.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>

int main(void)
{
    SECTION("before the fault");
    struct rlimit none = {0, 0};
    CHECK_RET("turn core dumps off", setrlimit(RLIMIT_CORE, &none), 0);
    unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap of a read-write page", page != MAP_FAILED);
    page[0] = 0xC3; /* ret: harmless if it did run */
    check_finish();
    ((void (*)(void))(void *)page)();
    say("FAIL - still running after the fault\n");
    return 1;
}
