/*
 * PVH entry: QEMU's -kernel finds the entry point in the Xen ELF note below
 * and jumps to it in 32-bit protected mode, paging off, with %ebx holding
 * the physical address of the hvm_start_info structure.
 *
 * This code builds just enough paging to reach long mode: the first 4 GiB
 * mapped both at 0 (so this code keeps running after paging turns on) and
 * at DIRECT_MAP (where the Swift kernel is linked). It turns on SSE, since
 * Swift code uses it, and calls kernel_main(startInfoPhysical). The Swift
 * side then builds the real page tables and drops the identity map.
 */

#define DIRECT_MAP 0x7f8000000000
#define PML4_DIRECT_SLOT 255

        .section .note.pvh, "a", @note
        .p2align 2
        .long 4                 /* name size: "Xen\0" */
        .long 8                 /* descriptor size */
        .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .p2align 2
        .quad pvh_start32
        .p2align 2

        .section .boot.text, "ax"
        .code32
        .global pvh_start32
pvh_start32:
        cli
        cld
        mov     %ebx, %edi
        mov     $boot_stack_top, %esp

        /* Both top-level slots share one PDPT; four page directories of
         * 2 MiB pages cover the first 4 GiB. */
        mov     $boot_pdpt, %eax
        or      $3, %eax
        mov     %eax, boot_pml4
        mov     %eax, boot_pml4 + PML4_DIRECT_SLOT * 8

        mov     $boot_pd, %eax
        or      $3, %eax
        xor     %ecx, %ecx
1:      mov     %eax, boot_pdpt(,%ecx,8)
        add     $4096, %eax
        inc     %ecx
        cmp     $4, %ecx
        jb      1b

        xor     %ecx, %ecx
2:      mov     %ecx, %eax
        shl     $21, %eax
        or      $0x83, %eax             /* present, writable, 2 MiB */
        mov     %eax, boot_pd(,%ecx,8)
        movl    $0, boot_pd + 4(,%ecx,8)
        inc     %ecx
        cmp     $2048, %ecx
        jb      2b

        /* CR4: PAE, OSFXSR, OSXMMEXCPT. */
        mov     %cr4, %eax
        or      $((1 << 5) | (1 << 9) | (1 << 10)), %eax
        mov     %eax, %cr4

        mov     $boot_pml4, %eax
        mov     %eax, %cr3

        /* EFER: long mode enable, no-execute enable. */
        mov     $0xC0000080, %ecx
        rdmsr
        or      $((1 << 8) | (1 << 11)), %eax
        wrmsr

        /* CR0: paging, write protect, monitor coprocessor, protected mode;
         * clear emulation so SSE instructions run. */
        mov     %cr0, %eax
        and     $~(1 << 2), %eax
        or      $((1 << 31) | (1 << 16) | (1 << 1) | 1), %eax
        mov     %eax, %cr0

        lgdt    boot_gdt_descriptor
        ljmp    $0x08, $pvh_start64

        .code64
pvh_start64:
        mov     $0x10, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %ss
        xor     %eax, %eax
        mov     %ax, %fs
        mov     %ax, %gs

        fninit
        movabs  $boot_kernel_stack_top, %rsp
        xor     %ebp, %ebp
        mov     %edi, %edi              /* zero-extend start info */
        movabs  $kernel_main, %rax
        call    *%rax
3:      cli
        hlt
        jmp     3b

        .section .boot.data, "aw"
        .p2align 3
boot_gdt:
        .quad 0
        .quad 0x00209A0000000000        /* 0x08: kernel code, 64-bit */
        .quad 0x0000920000000000        /* 0x10: kernel data */
boot_gdt_end:
boot_gdt_descriptor:
        .word boot_gdt_end - boot_gdt - 1
        .long boot_gdt

        .section .boot.bss, "aw", @nobits
        .p2align 12
boot_pml4:      .skip 4096
boot_pdpt:      .skip 4096
boot_pd:        .skip 4 * 4096
boot_stack:     .skip 4096
boot_stack_top:

        /* The first kernel stack, used until the scheduler gives each
         * thread its own. */
        .section .bss.boot_kernel_stack, "aw", @nobits
        .p2align 12
        .global boot_kernel_stack_bottom
boot_kernel_stack_bottom:
        .skip 64 * 1024
        .global boot_kernel_stack_top
boot_kernel_stack_top:

        /* Pages for the kernel heap before the frame allocator is up. */
        .section .bss.heap_bootstrap, "aw", @nobits
        .p2align 12
        .global heap_bootstrap_area
heap_bootstrap_area:
        .skip 64 * 4096
