/*
 * The machine layer as Swift sees it: tiny inline-assembly helpers for the
 * instructions Swift cannot express (port I/O, MSRs, control registers,
 * descriptor tables, interrupts), and the entry points that arch/x86_64's
 * assembly exports. Nothing here holds policy; the Swift kernel decides.
 */
#ifndef VILLA_ARCH_H
#define VILLA_ARCH_H

#include <stdint.h>
#include <stddef.h>

#include "VDSOData.h"

static inline void arch_outb(uint16_t port, uint8_t v) {
  __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t arch_inb(uint16_t port) {
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline void arch_outl(uint16_t port, uint32_t v) {
  __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint32_t arch_inl(uint16_t port) {
  uint32_t v;
  __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline void arch_outw(uint16_t port, uint16_t v) {
  __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint16_t arch_inw(uint16_t port) {
  uint16_t v;
  __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

static inline uint64_t arch_rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return ((uint64_t)hi << 32) | lo;
}
static inline void arch_wrmsr(uint32_t msr, uint64_t v) {
  __asm__ volatile("wrmsr"
                   : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t arch_read_cr0(void) {
  uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v;
}
static inline void arch_write_cr0(uint64_t v) {
  __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}
static inline uint64_t arch_read_cr2(void) {
  uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v;
}
static inline uint64_t arch_read_cr3(void) {
  uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v;
}
static inline void arch_write_cr3(uint64_t v) {
  __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline uint64_t arch_read_cr4(void) {
  uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v;
}
static inline void arch_write_cr4(uint64_t v) {
  __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}
static inline uint64_t arch_read_rbp(void) {
  uint64_t v; __asm__ volatile("mov %%rbp, %0" : "=r"(v)); return v;
}
static inline void arch_invlpg(uint64_t address) {
  __asm__ volatile("invlpg (%0)" : : "r"(address) : "memory");
}

struct __attribute__((packed)) arch_table_pointer {
  uint16_t limit;
  uint64_t base;
};
static inline void arch_lgdt(uint64_t base, uint16_t limit) {
  struct arch_table_pointer p = {limit, base};
  __asm__ volatile("lgdt %0" : : "m"(p) : "memory");
}
static inline void arch_lidt(uint64_t base, uint16_t limit) {
  struct arch_table_pointer p = {limit, base};
  __asm__ volatile("lidt %0" : : "m"(p) : "memory");
}
static inline void arch_ltr(uint16_t selector) {
  __asm__ volatile("ltr %0" : : "r"(selector));
}

static inline void arch_enable_interrupts(void) {
  __asm__ volatile("sti" : : : "memory");
}
static inline void arch_disable_interrupts(void) {
  __asm__ volatile("cli" : : : "memory");
}
static inline uint64_t arch_read_flags(void) {
  uint64_t v;
  __asm__ volatile("pushfq; popq %0" : "=r"(v) : : "memory");
  return v;
}
/* Halts until the next interrupt. The sti's one-instruction shadow makes
 * "enable and wait" atomic, so a wake-up cannot slip in between. */
static inline void arch_wait_for_interrupt(void) {
  __asm__ volatile("sti; hlt; cli" : : : "memory");
}
static inline void arch_pause(void) { __asm__ volatile("pause"); }

static inline uint64_t arch_rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

struct arch_cpuid_result { uint32_t eax, ebx, ecx, edx; };
static inline struct arch_cpuid_result arch_cpuid(uint32_t leaf,
                                                  uint32_t subleaf) {
  struct arch_cpuid_result r;
  __asm__ volatile("cpuid"
                   : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                   : "a"(leaf), "c"(subleaf));
  return r;
}

/* Returns 1 and the value when RDRAND produced one. */
static inline int arch_rdrand(uint64_t *out) {
  unsigned char ok;
  __asm__ volatile("rdrand %0; setc %1" : "=r"(*out), "=qm"(ok));
  return ok;
}

/* ---- Provided by runtime.c ---- */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* ---- Provided by arch/x86_64/*.S ---- */

/* Interrupt stub addresses, one per vector, for the IDT. */
extern const uint64_t arch_interrupt_stubs[256];

/* The syscall entry point for MSR_LSTAR. */
void arch_syscall_entry(void);

/* Saves callee-saved registers and the stack pointer into *from_rsp, then
 * resumes the thread whose stack pointer is to_rsp. */
void arch_switch_context(uint64_t *from_rsp, uint64_t to_rsp);

/* Where a new thread first runs: returns to user mode through the trap
 * frame its creator placed on its kernel stack. */
void arch_thread_start(void);

/* Copies between kernel and user memory. A page fault inside them that the
 * kernel cannot resolve makes them return -1 instead of crashing; 0 means
 * every byte was copied. The caller has already checked that the user range
 * lies below the user-space limit. */
int64_t arch_user_copy(void *dst, const void *src, uint64_t length);
/* Length of a user string, up to max; -1 on fault; max if no NUL within. */
int64_t arch_user_strnlen(const void *src, uint64_t max);
int64_t arch_user_zero(void *dst, uint64_t length);
/* The code range of the routines above and where a fault in them resumes. */
extern const char arch_user_access_start[], arch_user_access_end[];
extern const char arch_user_access_fault[];

/*
 * The running thread's CPU time in TSC ticks (Process/CPUTime.swift owns
 * the policy). Every system call charges twice, on entry and on exit, so
 * the charge lives here, where it is a dozen instructions with no
 * reference counting or exclusivity checks: the ticks since `stamp` go
 * to user or system time, and the function returns them. `timers_armed`
 * says whether a CPU-time interval timer needs them too.
 */
struct arch_cpu_account {
  uint64_t user;
  uint64_t system;
  uint64_t stamp;
  uint64_t timers_armed;
};
extern struct arch_cpu_account arch_cpu_account;

static inline uint64_t arch_cpu_charge(int user) {
  uint64_t now = arch_rdtsc();
  uint64_t elapsed = now > arch_cpu_account.stamp
    ? now - arch_cpu_account.stamp : 0;
  arch_cpu_account.stamp = now;
  if (user)
    arch_cpu_account.user += elapsed;
  else
    arch_cpu_account.system += elapsed;
  return elapsed;
}

/* The vDSO shared object embedded by vdso-image.S. */
const void *arch_vdso_image(void);
uint64_t arch_vdso_image_size(void);

/* Linker-script symbols. */
extern char __kernel_start[], __kernel_end[], __text_start[], __text_end[];
extern char boot_kernel_stack_top[], boot_kernel_stack_bottom[];
extern char heap_bootstrap_area[];

static inline uint64_t arch_heap_bootstrap_area(void) {
  return (uint64_t)heap_bootstrap_area;
}

static inline uint64_t arch_kernel_start(void) {
  return (uint64_t)__kernel_start;
}
static inline uint64_t arch_kernel_end(void) { return (uint64_t)__kernel_end; }
static inline uint64_t arch_text_start(void) { return (uint64_t)__text_start; }
static inline uint64_t arch_text_end(void) { return (uint64_t)__text_end; }
static inline uint64_t arch_boot_stack_top(void) {
  return (uint64_t)boot_kernel_stack_top;
}
static inline uint64_t arch_boot_stack_bottom(void) {
  return (uint64_t)boot_kernel_stack_bottom;
}
static inline uint64_t arch_interrupt_stub(int vector) {
  return arch_interrupt_stubs[vector];
}
static inline uint64_t arch_syscall_entry_address(void) {
  return (uint64_t)&arch_syscall_entry;
}
static inline uint64_t arch_thread_start_address(void) {
  return (uint64_t)&arch_thread_start;
}
static inline uint64_t arch_user_access_range_start(void) {
  return (uint64_t)arch_user_access_start;
}
static inline uint64_t arch_user_access_range_end(void) {
  return (uint64_t)arch_user_access_end;
}
static inline uint64_t arch_user_access_fault_address(void) {
  return (uint64_t)arch_user_access_fault;
}

#endif
