/*
 * host-tsc-rate: how fast the host's TSC ticks, in Hz.
 *
 * Under QEMU's TCG a guest's TSC is the host's, counted from the VM's
 * start, so bench/run.sh turns the ticks the benchmarks report into
 * time with this rate. It counts TSC ticks across half a second of
 * CLOCK_MONOTONIC, three times, and prints the median.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static uint64_t read_tsc(void)
{
    uint32_t low, high;
    __asm__ volatile("lfence; rdtsc" : "=a"(low), "=d"(high));
    return ((uint64_t)high << 32) | low;
}

static double seconds_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

int main(void)
{
    double rates[3];
    for (int i = 0; i < 3; i++) {
        double start = seconds_now();
        uint64_t ticks = read_tsc();
        struct timespec pause = {0, 500 * 1000 * 1000};
        nanosleep(&pause, NULL);
        rates[i] = (double)(read_tsc() - ticks) / (seconds_now() - start);
    }
    /* The median of three without sorting. */
    double a = rates[0], b = rates[1], c = rates[2];
    double median = a > b ? (b > c ? b : (a > c ? c : a))
                          : (a > c ? a : (b > c ? c : b));
    printf("%.0f\n", median);
    return 0;
}
