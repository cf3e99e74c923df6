/*
 * fpu: floating-point and vector state belongs to the program. Values
 * held in SSE and x87 registers, and the rounding modes in MXCSR and the
 * x87 control word, must survive system calls and sleeps (where the
 * kernel runs other code and may switch to its idle loop). Also checks
 * that arithmetic gives IEEE 754 results, since the kernel sets the FPU
 * up for the program.
 */
#include "check.h"

#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

/* Keeps values in xmm registers across a system call by hand, so the
 * compiler cannot save them in memory around it. */
static int xmm_survive_syscall(void)
{
    double in[4] = {1.5, -2.25, 3.125, 1e300}, out[4];
    __asm__ volatile(
        "movsd 0(%[in]), %%xmm8\n\t"
        "movsd 8(%[in]), %%xmm9\n\t"
        "movsd 16(%[in]), %%xmm10\n\t"
        "movsd 24(%[in]), %%xmm15\n\t"
        "mov %[number], %%eax\n\t"
        "syscall\n\t"
        "movsd %%xmm8, 0(%[out])\n\t"
        "movsd %%xmm9, 8(%[out])\n\t"
        "movsd %%xmm10, 16(%[out])\n\t"
        "movsd %%xmm15, 24(%[out])\n\t"
        :
        : [in] "r"(in), [out] "r"(out), [number] "i"(SYS_getpid)
        : "rax", "rcx", "r11", "xmm8", "xmm9", "xmm10", "xmm15", "memory");
    return memcmp(in, out, sizeof in) == 0;
}

static int xmm_survive_sleep(void)
{
    double in[2] = {42.0, -0.5}, out[2];
    struct timespec pause = {0, 5 * 1000 * 1000};
    __asm__ volatile(
        "movsd 0(%[in]), %%xmm12\n\t"
        "movsd 8(%[in]), %%xmm13\n\t"
        "mov %[number], %%eax\n\t"
        "mov %[pause], %%rdi\n\t"
        "xor %%esi, %%esi\n\t"
        "syscall\n\t"
        "movsd %%xmm12, 0(%[out])\n\t"
        "movsd %%xmm13, 8(%[out])\n\t"
        :
        : [in] "r"(in), [out] "r"(out), [number] "i"(SYS_nanosleep),
          [pause] "r"(&pause)
        : "rax", "rcx", "r11", "rdi", "rsi", "xmm12", "xmm13", "memory");
    return memcmp(in, out, sizeof in) == 0;
}

static int x87_survive_syscall(void)
{
    long double a = 1.0L / 3.0L, b;
    __asm__ volatile(
        "fldt %[a]\n\t"
        "mov %[number], %%eax\n\t"
        "syscall\n\t"
        "fstpt %[b]\n\t"
        : [b] "=m"(b)
        : [a] "m"(a), [number] "i"(SYS_getpid)
        : "rax", "rcx", "r11", "memory");
    return memcmp(&a, &b, 10) == 0;
}

static uint32_t mxcsr(void)
{
    uint32_t value;
    __asm__ volatile("stmxcsr %0" : "=m"(value));
    return value;
}

static uint16_t x87_control(void)
{
    uint16_t value;
    __asm__ volatile("fnstcw %0" : "=m"(value));
    return value;
}

int main(void)
{
    SECTION("initial state");
    /* The ABI's initial state: all exceptions masked, round to nearest. */
    CHECK_EQ("MXCSR control bits at start", mxcsr() & 0xffc0, 0x1f80);
    CHECK_EQ("x87 control word at start", x87_control(), 0x037f);

    SECTION("registers across system calls");
    CHECK("xmm registers survive a system call", xmm_survive_syscall());
    CHECK("xmm registers survive a sleep", xmm_survive_sleep());
    CHECK("an x87 register survives a system call", x87_survive_syscall());

    SECTION("rounding modes");
    CHECK_RET("fesetround(FE_UPWARD)", fesetround(FE_UPWARD), 0);
    syscall(SYS_getpid);
    struct timespec pause = {0, 2 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK_EQ("the SSE rounding mode survives", (mxcsr() >> 13) & 3, 2);
    CHECK_EQ("the x87 rounding mode survives", (x87_control() >> 10) & 3, 2);
    volatile double one = 1.0, three = 3.0;
    double up = one / three;
    CHECK_RET("fesetround(FE_DOWNWARD)", fesetround(FE_DOWNWARD), 0);
    double down = one / three;
    CHECK("rounding up and down give neighbours", up > down &&
          nextafter(down, 1.0) == up);
    fesetround(FE_TONEAREST);

    SECTION("arithmetic");
    volatile double x = 2.0;
    CHECK("sqrt(2)^2 is within an ulp of 2",
          fabs(sqrt(x) * sqrt(x) - 2.0) <= 2 * DBL_EPSILON);
    volatile double zero = 0.0;
    CHECK("1/0 is infinity", isinf(1.0 / zero));
    CHECK("0/0 is NaN", isnan(zero / zero));
    volatile float f = 16777216.0f;
    CHECK("float has 24 bits of mantissa", f + 1.0f == f);
    volatile long double ld = 1.0L;
    CHECK("long double has 64 bits of mantissa",
          ld + 1.0L / 18446744073709551616.0L * 2 != ld);
    char text[64];
    snprintf(text, sizeof text, "%.17g %.3e %a", 0.1, 12345.678, 1.0);
    CHECK_STR("printf of doubles", text,
              "0.10000000000000001 1.235e+04 0x1p+0");
    return check_finish();
}
