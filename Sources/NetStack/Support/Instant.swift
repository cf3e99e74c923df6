// Time as the stack sees it. The stack never reads a clock: every entry
// point that can move time forward takes the current instant, so a test can
// drive it with a virtual clock and the kernel with its monotonic clock.
// Milliseconds are fine enough for TCP's timers (RFC 6298 asks for a clock
// granularity of at most 100 ms) and for the timestamp option's TSval.

/// A point on the caller's monotonic clock, in milliseconds.
public struct Instant: Comparable, Hashable, Sendable {
  public var milliseconds: UInt64

  public init(milliseconds: UInt64) {
    self.milliseconds = milliseconds
  }

  public static let zero = Instant(milliseconds: 0)

  public static func < (lhs: Instant, rhs: Instant) -> Bool {
    lhs.milliseconds < rhs.milliseconds
  }

  /// This instant moved `milliseconds` later, saturating at the far future.
  public func adding(milliseconds delta: UInt64) -> Instant {
    let (sum, overflow) = milliseconds.addingReportingOverflow(delta)
    return Instant(milliseconds: overflow ? UInt64.max : sum)
  }

  /// Milliseconds from `earlier` to this instant, zero if `earlier` is
  /// later.
  public func milliseconds(since earlier: Instant) -> UInt64 {
    milliseconds >= earlier.milliseconds
      ? milliseconds - earlier.milliseconds : 0
  }
}

/// The earlier of two optional deadlines, where nil means "none".
func earliest(_ a: Instant?, _ b: Instant?) -> Instant? {
  guard let a else { return b }
  guard let b else { return a }
  return a < b ? a : b
}
