/*
 * The vvar page: the time data the kernel publishes read-only to every
 * process, next to the vDSO that reads it. Both sides compute time with
 * the same formula from the same fields, so a clock read through the
 * vDSO and one read through the system call agree and never cross:
 *
 *   monotonic ns = base_ns + ((tsc - base_tsc) * multiplier) >> shift
 *   realtime ns  = monotonic ns + realtime_offset
 *
 * with a 128-bit product. The kernel makes `sequence` odd while it
 * rewrites the other fields and even again afterwards; a reader retries
 * while it sees an odd value or a value that changed under it.
 *
 * The layout is defined here once: the kernel (Swift, through the Arch
 * module) writes it and arch/x86_64/vdso/vdso.c reads it.
 */
#ifndef VILLA_VDSO_DATA_H
#define VILLA_VDSO_DATA_H

#include <stdint.h>

struct villa_vvar {
  uint32_t sequence;
  uint32_t shift;
  uint64_t multiplier;
  uint64_t base_tsc;
  uint64_t base_ns;
  uint64_t realtime_offset;
  /* What getcpu(2) reports: the CPU and NUMA node the caller runs on. */
  uint32_t cpu;
  uint32_t node;
};

#endif
