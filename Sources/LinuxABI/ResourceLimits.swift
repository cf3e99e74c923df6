// Resource numbers of getrlimit(2), setrlimit(2) and prlimit64(2), with
// Linux's x86_64 values (asm-generic/resource.h). The limits themselves
// travel in `Rlimit` (Structs.swift), where RLIM_INFINITY also lives.
//
// Constant names drop the RLIMIT_ prefix and use lowerCamelCase, so
// RLIMIT_NOFILE is `RlimitResource.nofile`; RLIMIT_AS is `.as`, which
// Swift lets a member be named.

/// The `resource` argument of getrlimit(2) and friends.
public struct RlimitResource: RawRepresentable, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// `RLIM_NLIMITS`: the number of resources; valid values are below it.
  public static let count: UInt32 = 16

  /// `RLIMIT_CPU`: CPU time in seconds.
  public static let cpu = RlimitResource(rawValue: 0)
  /// `RLIMIT_FSIZE`: largest file the process may create, in bytes.
  public static let fsize = RlimitResource(rawValue: 1)
  /// `RLIMIT_DATA`: data segment and heap size, in bytes.
  public static let data = RlimitResource(rawValue: 2)
  /// `RLIMIT_STACK`: main thread stack size, in bytes.
  public static let stack = RlimitResource(rawValue: 3)
  /// `RLIMIT_CORE`: largest core dump, in bytes.
  public static let core = RlimitResource(rawValue: 4)
  /// `RLIMIT_RSS`: resident set size; ignored by Linux.
  public static let rss = RlimitResource(rawValue: 5)
  /// `RLIMIT_NPROC`: number of threads of the real user ID.
  public static let nproc = RlimitResource(rawValue: 6)
  /// `RLIMIT_NOFILE`: one more than the highest descriptor number.
  public static let nofile = RlimitResource(rawValue: 7)
  /// `RLIMIT_MEMLOCK`: bytes of memory that may be locked.
  public static let memlock = RlimitResource(rawValue: 8)
  /// `RLIMIT_AS`: address space size, in bytes.
  public static let `as` = RlimitResource(rawValue: 9)
  /// `RLIMIT_LOCKS`: file locks; ignored by Linux.
  public static let locks = RlimitResource(rawValue: 10)
  /// `RLIMIT_SIGPENDING`: queued signals of the real user ID.
  public static let sigpending = RlimitResource(rawValue: 11)
  /// `RLIMIT_MSGQUEUE`: bytes in POSIX message queues.
  public static let msgqueue = RlimitResource(rawValue: 12)
  /// `RLIMIT_NICE`: ceiling of the nice value, as 20 - nice.
  public static let nice = RlimitResource(rawValue: 13)
  /// `RLIMIT_RTPRIO`: ceiling of the real-time priority.
  public static let rtprio = RlimitResource(rawValue: 14)
  /// `RLIMIT_RTTIME`: CPU time without blocking under a real-time policy,
  /// in microseconds.
  public static let rttime = RlimitResource(rawValue: 15)
}
