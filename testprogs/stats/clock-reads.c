/*
 * clock-reads: N reads of CLOCK_MONOTONIC through the C library, for the
 * test that the vDSO answers them in user mode: `villa run --stats`
 * must then count far fewer than N clock_gettime system calls. N comes
 * from the command line; the exit status says whether the clock ever
 * went back.
 */
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    long reads = atol(argv[1]);
    struct timespec previous = {0, 0}, now;
    for (long i = 0; i < reads; i++) {
        if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
            return 3;
        if (now.tv_sec < previous.tv_sec || (now.tv_sec == previous.tv_sec
                                             && now.tv_nsec < previous.tv_nsec))
            return 4;
        previous = now;
    }
    return 0;
}
