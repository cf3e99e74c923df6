// Flags of getrandom(2), the call libc uses to seed its hashing and that
// programs use for random bytes, with Linux's values (linux/random.h).
//
// Constant names drop the GRND_ prefix and use lowerCamelCase.

/// The `flags` argument of getrandom(2).
public struct GetrandomFlags: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// `GRND_NONBLOCK`: fail with EAGAIN instead of waiting for entropy.
  public static let nonblock = GetrandomFlags(rawValue: 0x1)
  /// `GRND_RANDOM`: draw from the blocking pool (the same pool since
  /// Linux 5.6).
  public static let random = GetrandomFlags(rawValue: 0x2)
  /// `GRND_INSECURE`: never wait, even before the pool is initialised.
  /// Cannot be combined with `random`.
  public static let insecure = GetrandomFlags(rawValue: 0x4)
}
