/*
 * The vDSO: the four calls the C libraries and Go look up in the shared
 * object that AT_SYSINFO_EHDR points at, answered in user mode from the
 * vvar page the kernel maps one page below this object's ELF header (see
 * include/VDSOData.h for the data and its formula).
 *
 * Clocks whose value lives only in the kernel (CPU-time clocks, the alarm
 * clocks, ids encoding another thread) and unknown ids take the real
 * system call, so errors and values are exactly the kernel's.
 *
 * Built by tools/build-kernel.sh into a small shared object without libc
 * (vdso.lds names it and gives the symbols their LINUX_2.6 version) and
 * embedded in the kernel by ../vdso-image.S. It must need no relocation:
 * the kernel maps the same bytes into every process as they are.
 */
#include <stdint.h>

#include "../include/VDSOData.h"

struct timespec64 { int64_t tv_sec, tv_nsec; };
struct timeval64 { int64_t tv_sec, tv_usec; };
struct timezone32 { int32_t minuteswest, dsttime; };

/* Placed by vdso.lds one page below the ELF header. */
extern const volatile struct villa_vvar villa_vvar
  __attribute__((visibility("hidden")));

enum { SYS_clock_gettime = 228 };

static long syscall2(long number, long a, long b)
{
  long result;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(number), "D"(a), "S"(b)
                   : "rcx", "r11", "memory");
  return result;
}

/* lfence keeps rdtsc from running ahead of earlier loads, as a value
 * read before a system call must not be later than one read inside it. */
static uint64_t rdtsc_ordered(void)
{
  uint32_t low, high;
  __asm__ volatile("lfence; rdtsc" : "=a"(low), "=d"(high) : : "memory");
  return (uint64_t)high << 32 | low;
}

/* Monotonic nanoseconds and the realtime offset, read consistently. */
static uint64_t monotonic(uint64_t *realtime_offset)
{
  const volatile struct villa_vvar *data = &villa_vvar;
  for (;;) {
    uint32_t sequence = data->sequence;
    __asm__ volatile("" ::: "memory");
    if (sequence & 1)
      continue;
    uint64_t tsc = rdtsc_ordered();
    uint64_t base_tsc = data->base_tsc;
    uint64_t ticks = tsc > base_tsc ? tsc - base_tsc : 0;
    uint64_t ns = data->base_ns
      + (uint64_t)(((unsigned __int128)ticks * data->multiplier)
                   >> data->shift);
    uint64_t offset = data->realtime_offset;
    __asm__ volatile("" ::: "memory");
    if (data->sequence == sequence) {
      *realtime_offset = offset;
      return ns;
    }
  }
}

int __vdso_clock_gettime(int clock, struct timespec64 *ts)
{
  uint64_t offset, ns;
  switch (clock) {
  case 0: case 5: case 11:        /* REALTIME, REALTIME_COARSE, TAI */
    ns = monotonic(&offset) + offset;
    break;
  case 1: case 4: case 6: case 7: /* MONOTONIC, _RAW, _COARSE, BOOTTIME */
    ns = monotonic(&offset);
    break;
  default:
    return (int)syscall2(SYS_clock_gettime, clock, (long)ts);
  }
  ts->tv_sec = (int64_t)(ns / 1000000000);
  ts->tv_nsec = (int64_t)(ns % 1000000000);
  return 0;
}

int __vdso_gettimeofday(struct timeval64 *tv, struct timezone32 *tz)
{
  if (tv) {
    uint64_t offset;
    uint64_t ns = monotonic(&offset) + offset;
    tv->tv_sec = (int64_t)(ns / 1000000000);
    tv->tv_usec = (int64_t)(ns % 1000000000 / 1000);
  }
  if (tz) {
    /* UTC, no daylight saving: what the system call reports. */
    tz->minuteswest = 0;
    tz->dsttime = 0;
  }
  return 0;
}

int64_t __vdso_time(int64_t *t)
{
  uint64_t offset;
  int64_t seconds = (int64_t)((monotonic(&offset) + offset) / 1000000000);
  if (t)
    *t = seconds;
  return seconds;
}

int __vdso_getcpu(uint32_t *cpu, uint32_t *node, void *unused)
{
  (void)unused;
  if (cpu)
    *cpu = villa_vvar.cpu;
  if (node)
    *node = villa_vvar.node;
  return 0;
}
