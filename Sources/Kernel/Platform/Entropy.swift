// Random bytes for getrandom(2), AT_RANDOM and hash seeding. RDRAND when
// the CPU has it; otherwise a xorshift generator seeded from the TSC, which
// is unpredictable enough for hash seeds but not for cryptography, and the
// kernel says so in its log at boot.
//
// TODO(entropy): a virtio-rng device would give real entropy without
// RDRAND.

import Arch

private let log = Logger("entropy")

enum Entropy {
  private static var hasRDRAND = false
  private static var state: UInt64 = 0

  static func initialize() {
    hasRDRAND = arch_cpuid(1, 0).ecx & (1 << 30) != 0
    state = arch_rdtsc() | 1
    if !hasRDRAND {
      log.warn("no RDRAND: random bytes come from a TSC-seeded generator")
    }
  }

  static func next() -> UInt64 {
    if hasRDRAND {
      var value: UInt64 = 0
      for _ in 0..<10 where arch_rdrand(&value) != 0 { return value }
    }
    if state == 0 { state = arch_rdtsc() | 1 }
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return state &* 0x2545_F491_4F6C_DD1D
  }

  static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
    var index = 0
    while index < buffer.count {
      var word = next()
      for _ in 0..<8 where index < buffer.count {
        buffer[index] = UInt8(truncatingIfNeeded: word)
        word >>= 8
        index += 1
      }
    }
  }
}
