/*
 * bad-frames: a CPU-bound loop that keeps garbage in the frame pointer,
 * for the test that the profiler's stack walk survives it: %rbp holds in
 * turn a kernel address, an unmapped page, a misaligned value, and a
 * word that points at itself, while the profiler samples. The walk must
 * stop at each without faulting the kernel; the program exits 0.
 *
 * Usage: bad-frames ROUNDS
 */
#include <stdio.h>
#include <stdlib.h>

static unsigned long self_loop[2];

/* Spins `steps` times with %rbp set to `frame`, restoring it after. */
static void spin_with_frame(unsigned long frame, long steps)
{
    __asm__ volatile(
        "push %%rbp\n\t"
        "mov %0, %%rbp\n\t"
        "1: dec %1\n\t"
        "jnz 1b\n\t"
        "pop %%rbp"
        : "+r"(frame), "+r"(steps)
        :
        : "memory", "cc");
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    long rounds = atol(argv[1]);
    self_loop[0] = (unsigned long)self_loop;
    self_loop[1] = 0x401000;
    const unsigned long frames[] = {
        0x7f8000100000ul,          /* the kernel's direct map */
        0x1000ul,                  /* never mapped */
        0x7effffffe003ul,          /* misaligned, on the stack */
        (unsigned long)self_loop,  /* a frame that points at itself */
        0xffff800000000000ul,      /* not even canonical for users */
    };
    for (long r = 0; r < rounds; r++)
        for (unsigned i = 0; i < sizeof frames / sizeof *frames; i++)
            spin_with_frame(frames[i], 200000);
    printf("survived\n");
    return 0;
}
