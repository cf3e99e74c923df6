/*
 * Every way into the kernel after boot: interrupt and exception stubs, the
 * SYSCALL entry, the context switch, and the user-memory copy routines.
 *
 * All entries build the same trap frame on the current kernel stack, lowest
 * address first: r15 ... rax (15 registers), vector, error code, then the
 * hardware frame rip, cs, rflags, rsp, ss: 22 quadwords, which keeps the
 * stack 16-byte aligned. Below the frame sits a 512-byte FXSAVE area with
 * the interrupted code's FPU/SSE state, since the Swift kernel itself uses
 * SSE registers. Swift receives the frame's address; %rbx keeps it across
 * the call, and %rsp points at the FXSAVE area until the return path.
 *
 * %gs holds the per-CPU block while in the kernel: offset 0 is the current
 * thread's kernel stack top, offset 8 a scratch slot for the user %rsp.
 */

#define PERCPU_KERNEL_STACK 0
#define PERCPU_USER_RSP 8
#define USER_CS 0x2b
#define USER_SS 0x23
#define FRAME_RCX 96
#define FRAME_R11 32
#define FRAME_RIP 136
#define FRAME_RFLAGS 152
#define SYSCALL_VECTOR -1

        .text

.macro PUSH_REGISTERS
        push    %rax
        push    %rbx
        push    %rcx
        push    %rdx
        push    %rsi
        push    %rdi
        push    %rbp
        push    %r8
        push    %r9
        push    %r10
        push    %r11
        push    %r12
        push    %r13
        push    %r14
        push    %r15
.endm

.macro POP_REGISTERS
        pop     %r15
        pop     %r14
        pop     %r13
        pop     %r12
        pop     %r11
        pop     %r10
        pop     %r9
        pop     %r8
        pop     %rbp
        pop     %rdi
        pop     %rsi
        pop     %rdx
        pop     %rcx
        pop     %rbx
        pop     %rax
.endm

/* One stub per vector. Vectors without a CPU-pushed error code push a zero
 * so that every frame has the same shape. */
.macro INTERRUPT_STUB n
        .p2align 4
interrupt_stub_\n:
        .if (\n == 8) || (\n == 10) || (\n == 11) || (\n == 12) || (\n == 13) || (\n == 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
        .else
        push    $0
        .endif
        push    $\n
        jmp     interrupt_common
.endm

        .altmacro
.macro STUB_ADDRESS n
        .quad interrupt_stub_\n
.endm

        .set vector, 0
        .rept 256
        INTERRUPT_STUB %vector
        .set vector, vector + 1
        .endr

interrupt_common:
        testb   $3, 24(%rsp)            /* came from user mode? */
        jz      1f
        swapgs
1:      PUSH_REGISTERS
        cld
        mov     %rsp, %rbx
        sub     $512, %rsp
        fxsave64 (%rsp)
        mov     %rbx, %rdi
        call    villa_trap
        jmp     trap_return

/* Returns through the frame at %rbx; %rsp is at its FXSAVE area. */
trap_return:
        cli
        fxrstor64 (%rsp)
        mov     %rbx, %rsp
        POP_REGISTERS
        add     $16, %rsp               /* vector and error code */
        testb   $3, 8(%rsp)
        jz      2f
        swapgs
2:      iretq

        .global arch_syscall_entry
arch_syscall_entry:
        swapgs
        mov     %rsp, %gs:PERCPU_USER_RSP
        mov     %gs:PERCPU_KERNEL_STACK, %rsp
        push    $USER_SS
        push    %gs:PERCPU_USER_RSP
        push    %r11
        push    $USER_CS
        push    %rcx
        push    $0
        push    $SYSCALL_VECTOR
        PUSH_REGISTERS
        cld
        mov     %rsp, %rbx
        sub     $512, %rsp
        fxsave64 (%rsp)
        sti
        mov     %rbx, %rdi
        call    villa_syscall
        cli

        /* SYSRET restores rip from rcx and rflags from r11. It is only
         * exact when the frame still holds them there (a signal return
         * changes that) and rip is a canonical user address. */
        mov     FRAME_RIP(%rbx), %rax
        cmp     FRAME_RCX(%rbx), %rax
        jne     trap_return
        shr     $47, %rax
        jnz     trap_return
        mov     FRAME_RFLAGS(%rbx), %rax
        cmp     FRAME_R11(%rbx), %rax
        jne     trap_return

        fxrstor64 (%rsp)
        mov     %rbx, %rsp
        POP_REGISTERS
        mov     40(%rsp), %rsp          /* the user rsp in the frame */
        swapgs
        sysretq

        .global arch_switch_context
arch_switch_context:
        push    %rbp
        push    %rbx
        push    %r12
        push    %r13
        push    %r14
        push    %r15
        mov     %rsp, (%rdi)
        mov     %rsi, %rsp
        pop     %r15
        pop     %r14
        pop     %r13
        pop     %r12
        pop     %rbx
        pop     %rbp
        ret

/* A new thread's stack holds, from its top: the trap frame, the FXSAVE
 * area, and a switch frame whose %rbx is the trap frame and whose return
 * address is this label. */
        .global arch_thread_start
arch_thread_start:
        mov     %rbx, %rdi
        call    villa_thread_started
        jmp     trap_return

/* User-memory access. These routines push nothing, so a fault inside them
 * can resume at arch_user_access_fault, which returns -1 to the caller. */
        .global arch_user_access_start, arch_user_access_end
        .global arch_user_access_fault
        .global arch_user_copy, arch_user_strnlen, arch_user_zero
arch_user_access_start:
arch_user_copy:
        mov     %rdx, %rcx
        rep movsb
        xor     %eax, %eax
        ret

arch_user_strnlen:
        xor     %eax, %eax
3:      cmp     %rsi, %rax
        jae     4f
        cmpb    $0, (%rdi,%rax)
        je      4f
        inc     %rax
        jmp     3b
4:      ret

arch_user_zero:
        mov     %rsi, %rcx
        xor     %eax, %eax
        rep stosb
        ret

arch_user_access_fault:
        mov     $-1, %rax
        ret
arch_user_access_end:

        .section .rodata
        .p2align 3
        .global arch_interrupt_stubs
arch_interrupt_stubs:
        .set vector, 0
        .rept 256
        STUB_ADDRESS %vector
        .set vector, vector + 1
        .endr
