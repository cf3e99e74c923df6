/*
 * villa-demo: what `villa run` runs when no program is named.
 *
 * An ordinary static C program that shows off a few things the Villa
 * kernel provides: argv, uname(2) and the clock (time(2)). It runs the
 * same on the host, which is the point: compare the two outputs.
 */
#include <stdio.h>
#include <sys/utsname.h>
#include <time.h>

int main(int argc, char **argv)
{
    printf("Hello from inside Villa!\n");

    printf("argv (%d):", argc);
    for (int i = 0; i < argc; i++)
        printf(" [%s]", argv[i]);
    printf("\n");

    struct utsname name;
    if (uname(&name) == 0)
        printf("uname: %s %s %s (host name %s)\n", name.sysname,
               name.release, name.machine, name.nodename);
    else
        perror("uname");

    time_t now = time(NULL);
    struct tm utc;
    char date[64];
    if (now != (time_t)-1 && gmtime_r(&now, &utc) != NULL &&
        strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &utc) > 0)
        printf("date: %s\n", date);
    else
        perror("time");

    return 0;
}
