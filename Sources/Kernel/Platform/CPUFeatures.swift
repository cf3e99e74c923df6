// What the CPU offers, as the program is told through AT_HWCAP (on x86_64
// that is CPUID leaf 1's EDX, as Linux reports it).

import Arch

enum CPUFeatures {
  static var hwcap: UInt32 { arch_cpuid(1, 0).edx }

  /// "GenuineIntel", "AuthenticAMD", ... from leaf 0.
  static var vendor: String {
    let r = arch_cpuid(0, 0)
    return text([r.ebx, r.edx, r.ecx])
  }

  /// The brand string from leaves 0x80000002...4, or the vendor.
  static var brand: String {
    guard arch_cpuid(0x8000_0000, 0).eax >= 0x8000_0004 else { return vendor }
    var words: [UInt32] = []
    for leaf: UInt32 in 0x8000_0002...0x8000_0004 {
      let r = arch_cpuid(leaf, 0)
      words += [r.eax, r.ebx, r.ecx, r.edx]
    }
    var name = text(words)
    while name.hasPrefix(" ") { name.removeFirst() }
    return name
  }

  /// /proc/cpuinfo flag names for the features leaf 1 reports.
  static var flagNames: String {
    let r = arch_cpuid(1, 0)
    let edx: [(Int, String)] = [
      (0, "fpu"), (4, "tsc"), (5, "msr"), (6, "pae"), (8, "cx8"),
      (9, "apic"), (11, "sep"), (13, "pge"), (15, "cmov"), (16, "pat"),
      (19, "clflush"), (23, "mmx"), (24, "fxsr"), (25, "sse"), (26, "sse2"),
    ]
    let ecx: [(Int, String)] = [
      (0, "pni"), (1, "pclmulqdq"), (9, "ssse3"), (13, "cx16"),
      (19, "sse4_1"), (20, "sse4_2"), (22, "movbe"), (23, "popcnt"),
      (25, "aes"), (30, "rdrand"),
    ]
    var names: [String] = []
    for (bit, name) in edx where r.edx & (1 << UInt32(bit)) != 0 {
      names.append(name)
    }
    for (bit, name) in ecx where r.ecx & (1 << UInt32(bit)) != 0 {
      names.append(name)
    }
    var result = ""
    for (i, name) in names.enumerated() {
      result += (i == 0 ? "" : " ") + name
    }
    return result
  }

  private static func text(_ words: [UInt32]) -> String {
    var bytes: [UInt8] = []
    for word in words {
      for i in 0..<4 {
        let byte = UInt8(truncatingIfNeeded: word >> (UInt32(i) * 8))
        if byte != 0 { bytes.append(byte) }
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}
