/*
 * fault-write-code: a store into the program's own code (a PT_LOAD
 * segment without write permission) gives SIGSEGV.
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
    volatile unsigned char *code =
        (volatile unsigned char *)(uintptr_t)&main;
    CHECK("main's first byte is readable", code[0] == code[0]);
    check_finish();
    code[0] = 0xC3;
    say("FAIL - still running after the fault\n");
    return 1;
}
