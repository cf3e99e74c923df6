/*
 * fault-readonly: a store to a page mapped PROT_READ gives SIGSEGV.
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
    volatile char *page = mmap(NULL, 4096, PROT_READ,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap of a read-only page", page != MAP_FAILED);
    CHECK_EQ("it reads as zero", page[0], 0);
    check_finish();
    page[0] = 1;
    say("FAIL - still running after the fault\n");
    return 1;
}
