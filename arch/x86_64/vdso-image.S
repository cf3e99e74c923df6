/*
 * The vDSO's bytes inside the kernel image. tools/build-kernel.sh links
 * arch/x86_64/vdso/ into a shared object first and passes its path as
 * VILLA_VDSO_PATH; the kernel copies these bytes into frames at boot and
 * maps them into every process (Process/VDSO.swift). Swift cannot name
 * an .incbin symbol, so two accessors hand out its address and size.
 */

#ifndef VILLA_VDSO_PATH
#error "VILLA_VDSO_PATH must name the built vDSO (see tools/build-kernel.sh)"
#endif

        .section .rodata.villa_vdso, "a"
        .balign 4096
vdso_image_start:
        .incbin VILLA_VDSO_PATH
vdso_image_end:

        .text
        .globl arch_vdso_image
arch_vdso_image:
        lea     vdso_image_start(%rip), %rax
        ret

        .globl arch_vdso_image_size
arch_vdso_image_size:
        lea     vdso_image_end(%rip), %rax
        lea     vdso_image_start(%rip), %rcx
        sub     %rcx, %rax
        ret
