/*
 * fault-breakpoint: a breakpoint instruction (int3) gives SIGTRAP.
 * The fault must end the program with signal 5 (status 133), on
 * the host and in Villa alike, after the transcript is out, and the
 * kernel must not panic. Core dumps are turned off first so that the
 * host run leaves no core file behind.
 *
 * expect-signal: 5
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
    check_finish();
    __asm__ volatile("int3");
    say("FAIL - still running after the fault\n");
    return 1;
}
