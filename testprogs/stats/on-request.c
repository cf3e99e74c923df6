/*
 * on-request: for the test of counters sent on request while a program
 * runs (SIGUSR1 to villa). It makes BEFORE getpid calls, says "ready" on
 * stdout, sleeps SECONDS (the test asks for the counters meanwhile), then
 * makes AFTER more getpid calls and exits: the counters taken on request
 * must show BEFORE calls, those at exit BEFORE + AFTER.
 *
 * Usage: on-request BEFORE SECONDS AFTER
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    long before = atol(argv[1]);
    unsigned seconds = (unsigned)atol(argv[2]);
    long after = atol(argv[3]);

    for (long i = 0; i < before; i++)
        syscall(SYS_getpid);
    printf("ready\n");
    fflush(stdout);
    sleep(seconds);
    for (long i = 0; i < after; i++)
        syscall(SYS_getpid);
    return 0;
}
