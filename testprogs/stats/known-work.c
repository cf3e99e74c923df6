/*
 * known-work: a program whose work is known in advance, for the tests of
 * `villa run --stats`: N getpid calls, K fresh pages touched, and B bytes
 * written to a file and fsync'd. The counts come from the command line.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    long calls = atol(argv[1]);
    long pages = atol(argv[2]);
    long bytes = atol(argv[3]);
    const char *path = argv[4];

    for (long i = 0; i < calls; i++)
        syscall(SYS_getpid);

    char *memory = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        return 3;
    for (long i = 0; i < pages; i++)
        memory[i * 4096] = 1;

    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0)
        return 4;
    static char block[65536];
    memset(block, 'v', sizeof block);
    for (long done = 0; done < bytes;) {
        long chunk = bytes - done < (long)sizeof block
            ? bytes - done : (long)sizeof block;
        if (write(fd, block, chunk) != chunk)
            return 5;
        done += chunk;
    }
    if (fsync(fd) != 0)
        return 6;
    close(fd);
    return 0;
}
