/*
 * hello: the boot benchmark's program, a static hello world that says
 * when it ran.
 *
 * Its first statement reads the TSC, which in a TCG guest counts from
 * the VM's start: that reading is how long the kernel took to reach the
 * program's first instruction (of main; the C library's start-up before
 * it is a few thousand instructions). The last reading, just before
 * exit, is the time to the program's end. The host measures the whole
 * command by the wall clock around it. It also reports the RAM in use
 * when it started, from sysinfo(2): total minus free memory. Both
 * kernels count their own image, page tables and heap in it; Linux
 * also counts the initramfs it unpacked into its page cache.
 */
#include "bench.h"

#include <sys/sysinfo.h>

int main(void)
{
    uint64_t first = bench_tsc();

    static const char greeting[] = "hello, world\n";
    BENCH_CHECK(write(1, greeting, sizeof greeting - 1));

    struct sysinfo info;
    BENCH_CHECK(sysinfo(&info));
    uint64_t unit = info.mem_unit ? info.mem_unit : 1;
    bench_print("value memory.total %llu bytes\n",
                (unsigned long long)(info.totalram * unit));
    bench_print("value memory.used %llu bytes\n",
                (unsigned long long)((info.totalram - info.freeram) * unit));
    bench_print("value boot.first_instruction %llu ticks\n",
                (unsigned long long)first);

    uint64_t last = bench_tsc();
    bench_print("value boot.exit %llu ticks\n", (unsigned long long)last);
    return 0;
}
