// A small deterministic generator for the values the stack must not make
// predictable to outsiders yet must reproduce in tests: initial sequence
// numbers, DHCP transaction IDs, ephemeral ports, IP identifications.
// The kernel seeds it from its entropy source; tests seed it with a
// constant. It is splitmix64: well mixed, fast, and not cryptographic.
// TODO(security): RFC 6528 derives ISNs from a keyed hash of the 4-tuple.

struct RandomSource {
  private var state: UInt64

  init(seed: UInt64) {
    state = seed
  }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func next32() -> UInt32 {
    UInt32(truncatingIfNeeded: next() >> 16)
  }

  /// A value in `0..<bound`; `bound` must be positive.
  mutating func next(below bound: Int) -> Int {
    Int(next() % UInt64(bound))
  }
}
