/*
 * arch-prctl: the FS and GS segment bases through arch_prctl(2). FS holds
 * the C library's thread pointer, so it is only read: ARCH_GET_FS must
 * give the address that %fs:0 holds (the thread control block points to
 * itself on x86_64, in glibc and musl alike). GS is free for the
 * program: set, read back by arch_prctl and through %gs, kept across
 * system calls and a sleep, and reset to 0 at the end.
 */
#include "check.h"

#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

static uint64_t fs_word(void)
{
    uint64_t value;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(value));
    return value;
}

static uint64_t gs_word(unsigned offset)
{
    uint64_t value;
    __asm__ volatile("mov %%gs:(%1), %0" : "=r"(value) : "r"((uint64_t)offset));
    return value;
}

static __thread int thread_local_marker = 1234;

int main(void)
{
    SECTION("FS");
    uint64_t fs = 0;
    CHECK_RET("ARCH_GET_FS", syscall(SYS_arch_prctl, ARCH_GET_FS, &fs), 0);
    CHECK("the FS base is not zero", fs != 0);
    CHECK_EQ("%fs:0 holds the FS base (the TCB points to itself)",
             fs_word(), fs);
    CHECK_EQ("a thread-local variable is reachable", thread_local_marker,
             1234);
    CHECK_ERR("ARCH_GET_FS into a bad pointer",
              syscall(SYS_arch_prctl, ARCH_GET_FS, BAD_POINTER), EFAULT);
    CHECK_ERR("ARCH_SET_FS to a kernel address",
              syscall(SYS_arch_prctl, ARCH_SET_FS, 0xffff800000000000ul),
              EPERM);
    uint64_t after = 0;
    syscall(SYS_arch_prctl, ARCH_GET_FS, &after);
    CHECK_EQ("the refused ARCH_SET_FS left FS alone", after, fs);

    SECTION("GS");
    static uint64_t block[4] = {0x1111, 0x2222, 0x3333, 0x4444};
    uint64_t gs = 1;
    CHECK_RET("ARCH_GET_GS", syscall(SYS_arch_prctl, ARCH_GET_GS, &gs), 0);
    CHECK_EQ("GS starts at 0", gs, 0);
    CHECK_RET("ARCH_SET_GS to a block of ours",
              syscall(SYS_arch_prctl, ARCH_SET_GS, block), 0);
    CHECK_RET("ARCH_GET_GS", syscall(SYS_arch_prctl, ARCH_GET_GS, &gs), 0);
    CHECK_EQ("ARCH_GET_GS returns the block", gs, (uintptr_t)block);
    CHECK_EQ("%gs:0 reads the block's first word", gs_word(0), 0x1111);
    CHECK_EQ("%gs:24 reads the block's last word", gs_word(24), 0x4444);
    for (int i = 0; i < 100; i++)
        syscall(SYS_getpid);
    CHECK_EQ("GS survives 100 system calls", gs_word(8), 0x2222);
    struct timespec pause = {0, 5 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK_EQ("GS survives a sleep", gs_word(16), 0x3333);
    gs = 0;
    syscall(SYS_arch_prctl, ARCH_GET_GS, &gs);
    CHECK_EQ("ARCH_GET_GS after the sleep", gs, (uintptr_t)block);
    CHECK_ERR("ARCH_SET_GS to a non-canonical address",
              syscall(SYS_arch_prctl, ARCH_SET_GS, 0x800000000000ul), EPERM);
    CHECK_EQ("the refused ARCH_SET_GS left GS alone", gs_word(0), 0x1111);
    CHECK_ERR("ARCH_GET_GS into a bad pointer",
              syscall(SYS_arch_prctl, ARCH_GET_GS, BAD_POINTER), EFAULT);
    CHECK_RET("ARCH_SET_GS back to 0",
              syscall(SYS_arch_prctl, ARCH_SET_GS, 0), 0);
    gs = 1;
    syscall(SYS_arch_prctl, ARCH_GET_GS, &gs);
    CHECK_EQ("GS reads back 0", gs, 0);

    SECTION("errors");
    CHECK_ERR("an unknown code", syscall(SYS_arch_prctl, 0x1fff, 0), EINVAL);
    CHECK_ERR("code 0", syscall(SYS_arch_prctl, 0, 0), EINVAL);
    CHECK_EQ("FS is unchanged at the end", fs_word(), fs);
    return check_finish();
}
