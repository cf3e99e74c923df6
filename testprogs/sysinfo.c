/*
 * sysinfo: what the machine says about itself. uname(2) (only the
 * fields that must agree everywhere: the host name and kernel release
 * differ), getrandom(2) with its flags and lengths, and
 * sched_getaffinity(2). The number of CPUs differs between machines and
 * is never printed.
 */
#include "check.h"

#include <sched.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

static int terminated(const char *field, size_t size)
{
    return memchr(field, 0, size) != NULL;
}

static void naming(void)
{
    SECTION("uname");
    struct utsname name;
    memset(&name, 0x7f, sizeof name);
    CHECK_RET("uname", uname(&name), 0);
    CHECK_STR("sysname", name.sysname, "Linux");
    CHECK_STR("machine", name.machine, "x86_64");
    CHECK("every field is NUL-terminated",
          terminated(name.sysname, sizeof name.sysname) &&
              terminated(name.nodename, sizeof name.nodename) &&
              terminated(name.release, sizeof name.release) &&
              terminated(name.version, sizeof name.version) &&
              terminated(name.machine, sizeof name.machine) &&
              terminated(name.domainname, sizeof name.domainname));
    CHECK("the node name is not empty", name.nodename[0] != 0);
    CHECK("the release starts with a digit",
          name.release[0] >= '1' && name.release[0] <= '9');
    int major = 0, minor = -1;
    sscanf(name.release, "%d.%d", &major, &minor);
    CHECK("the release is at least 4.0", major >= 4 && minor >= 0);
    CHECK("the version is not empty", name.version[0] != 0);
    struct utsname raw;
    CHECK_RET("raw uname", syscall(SYS_uname, &raw), 0);
    CHECK("raw uname gives the same release",
          strcmp(raw.release, name.release) == 0);
    CHECK_ERR("uname into a bad pointer", syscall(SYS_uname, BAD_POINTER),
              EFAULT);
    CHECK_ERR("uname into a kernel address",
              syscall(SYS_uname, KERNEL_POINTER), EFAULT);
}

static void randomness(void)
{
    SECTION("getrandom");
    unsigned char a[64], b[64];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    CHECK_RET("getrandom of 64 bytes", getrandom(a, sizeof a, 0), 64);
    CHECK_RET("getrandom of 64 more", getrandom(b, sizeof b, 0), 64);
    CHECK("two draws differ", memcmp(a, b, sizeof a) != 0);
    int zero = 1;
    for (size_t i = 0; i < sizeof a; i++)
        if (a[i] != 0)
            zero = 0;
    CHECK("a draw is not all zero", !zero);
    CHECK_RET("getrandom of 0 bytes", getrandom(a, 0, 0), 0);
    CHECK_RET("getrandom of 0 bytes from NULL",
              syscall(SYS_getrandom, NULL, 0, 0), 0);
    CHECK_RET("GRND_NONBLOCK", getrandom(a, 16, GRND_NONBLOCK), 16);
    CHECK_RET("GRND_RANDOM", getrandom(a, 16, GRND_RANDOM), 16);
    CHECK_RET("GRND_INSECURE", getrandom(a, 16, GRND_INSECURE), 16);
    CHECK_RET("GRND_RANDOM | GRND_NONBLOCK",
              getrandom(a, 16, GRND_RANDOM | GRND_NONBLOCK), 16);
    CHECK_ERR("GRND_RANDOM | GRND_INSECURE",
              syscall(SYS_getrandom, a, 16, GRND_RANDOM | GRND_INSECURE),
              EINVAL);
    CHECK_ERR("an unknown flag", syscall(SYS_getrandom, a, 16, 0x80),
              EINVAL);
    CHECK_ERR("into a bad pointer",
              syscall(SYS_getrandom, BAD_POINTER, 16, 0), EFAULT);
    CHECK_ERR("into a kernel address",
              syscall(SYS_getrandom, KERNEL_POINTER, 16, 0), EFAULT);

    /* Up to 256 bytes are never cut short; a larger draw may be, but
     * must fill the whole buffer when repeated. */
    unsigned char big[1 << 16];
    size_t got = 0;
    int calls = 0;
    while (got < sizeof big && calls < 1000) {
        ssize_t n = getrandom(big + got, sizeof big - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        calls++;
    }
    CHECK_EQ("64 KiB of randomness in a few calls", got, sizeof big);
    int counts[256] = {0};
    for (size_t i = 0; i < sizeof big; i++)
        counts[big[i]]++;
    int missing = 0;
    for (int v = 0; v < 256; v++)
        if (counts[v] == 0)
            missing++;
    CHECK_EQ("every byte value appears in 64 KiB", missing, 0);
}

static void affinity(void)
{
    SECTION("sched_getaffinity");
    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK_RET("sched_getaffinity through the C library",
              sched_getaffinity(0, sizeof set, &set), 0);
    CHECK("at least one CPU is allowed", CPU_COUNT(&set) >= 1);
    unsigned long mask[16];
    memset(mask, 0, sizeof mask);
    long size = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    CHECK("the raw call returns a size in whole words",
          size > 0 && size % sizeof(long) == 0 && size <= (long)sizeof mask);
    CHECK("the raw mask has a CPU", mask[0] != 0);
    CHECK_RET("sched_getaffinity of our own pid",
              sched_getaffinity(getpid(), sizeof set, &set), 0);
    CHECK_ERR("a size that is not a whole word",
              syscall(SYS_sched_getaffinity, 0, 7, mask), EINVAL);
    CHECK_ERR("a size of 0", syscall(SYS_sched_getaffinity, 0, 0, mask),
              EINVAL);
    CHECK_ERR("into a bad pointer",
              syscall(SYS_sched_getaffinity, 0, sizeof mask, BAD_POINTER),
              EFAULT);
    CHECK_ERR("of a pid that does not exist",
              syscall(SYS_sched_getaffinity, 0x3ffffff0, sizeof mask, mask),
              ESRCH);
}

int main(void)
{
    naming();
    randomness();
    affinity();
    SECTION("page size");
    CHECK_EQ("sysconf(_SC_PAGESIZE) is 4096", sysconf(_SC_PAGESIZE), 4096);
    return check_finish();
}
