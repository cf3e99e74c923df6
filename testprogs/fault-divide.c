/*
 * fault-divide: an integer division by zero gives SIGFPE.
 * The fault must end the program with signal 8 (status 136), on
 * the host and in Villa alike, after the transcript is out, and the
 * kernel must not panic. Core dumps are turned off first so that the
 * host run leaves no core file behind.
 *
 * expect-signal: 8
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
    int zero = (int)OPAQUE(0);
    check_finish();
    /* By hand: the compiler turns 1 / x into a comparison. */
    int dividend = 1;
    __asm__ volatile("cltd\n\tidivl %1"
                     : "+a"(dividend) : "r"(zero) : "edx");
    say("FAIL - still running after the fault\n");
    return 1;
}
