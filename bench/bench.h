/*
 * bench.h: the timing kit of the benchmark programs in bench/.
 *
 * Every benchmark runs unchanged in Villa and in the Linux baseline
 * guest (tools/linux-guest.sh), so it measures with the one clock both
 * guests share: the TSC, read in user mode. Under QEMU's TCG the guest
 * TSC is the host's TSC counted from the moment the VM started; under
 * `-icount shift=0` it counts one tick per guest instruction (virtual
 * nanoseconds). The programs therefore report raw ticks and leave the
 * conversion to time to bench/run.sh, which knows which case applies.
 *
 * A program prints one line per figure on stdout:
 *
 *     result NAME TICKS_PER_OP BYTES_PER_OP
 *
 * where TICKS_PER_OP is the median over `bench_repeats` timed rounds of
 * one round's ticks divided by its operations, and BYTES_PER_OP is zero
 * for latencies and the bytes each operation moves for throughputs.
 * Lines starting with "note" carry remarks for the report. Output goes
 * through write(2) only: stdout is a tty in the Linux guest and a UART
 * in Villa, and stdio would buffer the two differently.
 *
 * A failed call ends the program with status 1 and names the call on
 * stderr: a benchmark that silently measured an error would be worse
 * than none.
 */
#ifndef VILLA_BENCH_H
#define VILLA_BENCH_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Timed rounds per figure; the median of them is reported. Odd, so the
 * median is one of the measured rounds. */
enum { bench_repeats = 7 };

static inline uint64_t bench_tsc(void)
{
    uint32_t low, high;
    /* LFENCE keeps the read from drifting into the timed code on real
     * hardware (KVM); under TCG instructions run in order anyway. */
    __asm__ volatile("lfence; rdtsc" : "=a"(low), "=d"(high) : : "memory");
    return ((uint64_t)high << 32) | low;
}

static inline void bench_print(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

static inline void bench_print(const char *format, ...)
{
    char line[512];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (length > (int)sizeof line - 1)
        length = (int)sizeof line - 1;
    for (int done = 0; done < length;) {
        ssize_t written = write(1, line + done, (size_t)(length - done));
        if (written <= 0)
            _exit(1);
        done += (int)written;
    }
}

/* Ends the program: `what` failed with errno. */
static inline void bench_fail(const char *what) __attribute__((noreturn));

static inline void bench_fail(const char *what)
{
    char line[256];
    int length = snprintf(line, sizeof line, "bench: %s: %s\n", what,
                          strerror(errno));
    (void)!write(2, line, (size_t)length);
    _exit(1);
}

/* Checks the result of a call that returns -1 on failure. */
#define BENCH_CHECK(call)                                                 \
    do {                                                                  \
        if ((call) == -1)                                                 \
            bench_fail(#call);                                            \
    } while (0)

static int bench_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of `count` values; sorts them in place. */
static inline double bench_median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof *values, bench_compare);
    return count % 2 ? values[count / 2]
                     : (values[count / 2 - 1] + values[count / 2]) / 2;
}

static inline void bench_result(const char *name, double ticks_per_op,
                                double bytes_per_op)
{
    bench_print("result %s %.1f %.0f\n", name, ticks_per_op, bytes_per_op);
}

/*
 * Times `round` bench_repeats times, each call doing `operations`
 * operations, and reports the median ticks per operation. `setup`, when
 * given, runs untimed before each round (fresh mappings, empty files).
 */
static inline void bench_measure(const char *name, long operations,
                                 double bytes_per_op,
                                 void (*setup)(void *), void (*round)(void *),
                                 void *context)
{
    double per_op[bench_repeats];
    /* One untimed round first: it warms the caches and QEMU's
     * translation blocks, which would otherwise weigh on round one. */
    if (setup)
        setup(context);
    round(context);
    for (int i = 0; i < bench_repeats; i++) {
        if (setup)
            setup(context);
        uint64_t start = bench_tsc();
        round(context);
        uint64_t end = bench_tsc();
        per_op[i] = (double)(end - start) / (double)operations;
    }
    bench_result(name, bench_median(per_op, bench_repeats), bytes_per_op);
}

/* Reads a count from argv[index], or `fallback` without one; the run
 * script passes smaller counts in the slow -icount mode. */
static inline long bench_count(int argc, char **argv, int index,
                               long fallback)
{
    if (index >= argc)
        return fallback;
    char *end;
    long value = strtol(argv[index], &end, 10);
    if (*end != '\0' || value <= 0) {
        errno = EINVAL;
        bench_fail("count argument");
    }
    return value;
}

#endif
