// What the CPU offers, as the program is told through AT_HWCAP (on x86_64
// that is CPUID leaf 1's EDX, as Linux reports it).

import Arch

enum CPUFeatures {
  static var hwcap: UInt32 { arch_cpuid(1, 0).edx }
}
