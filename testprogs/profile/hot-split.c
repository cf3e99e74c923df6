/*
 * hot-split: a CPU-bound program with a known profile, for the tests of
 * `villa run --profile`. Two functions do the same work per call; main
 * calls work_long three times for each call of work_short, so a sampling
 * profiler should find about 75% of the samples in the first and 25% in
 * the second, both under main.
 *
 * Built with -fno-omit-frame-pointer, since the profiler walks frame
 * pointers; GCC still leaves them out of a leaf function with no stack
 * frame, so each hot function keeps its step count in a volatile local,
 * which gives it a frame. The two differ in their constants and are
 * noinline, so the compiler can neither inline them nor merge them.
 *
 * Usage: hot-split ROUNDS (each round is four calls of equal work).
 */
#include <stdio.h>
#include <stdlib.h>

#define STEPS 20000

__attribute__((noinline)) static unsigned long work_long(unsigned long x)
{
    volatile unsigned long steps = STEPS;
    for (unsigned long i = 0; i < steps; i++)
        x = (x ^ (x >> 7)) * 0x9E3779B97F4A7C15ul + 11;
    return x;
}

__attribute__((noinline)) static unsigned long work_short(unsigned long x)
{
    volatile unsigned long steps = STEPS;
    for (unsigned long i = 0; i < steps; i++)
        x = (x ^ (x >> 9)) * 0xD1B54A32D192ED03ul + 13;
    return x;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    long rounds = atol(argv[1]);
    unsigned long sum = 1;
    for (long r = 0; r < rounds; r++) {
        sum = work_long(sum);
        sum = work_long(sum);
        sum = work_long(sum);
        sum = work_short(sum);
    }
    printf("%lx\n", sum);
    return 0;
}
