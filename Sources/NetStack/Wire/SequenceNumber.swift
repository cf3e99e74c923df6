// TCP sequence numbers: 32-bit counters compared modulo 2^32 (RFC 9293
// 3.4). "a < b" means b is less than 2^31 ahead of a, which is what every
// window test in the RFC intends; the order is not transitive over the
// whole circle, so it is only meaningful for numbers within a window of
// each other.

public struct SequenceNumber: Hashable, Comparable, Sendable,
  CustomStringConvertible
{
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  public static func + (lhs: SequenceNumber, rhs: Int) -> SequenceNumber {
    SequenceNumber(rawValue: lhs.rawValue &+ UInt32(truncatingIfNeeded: rhs))
  }

  public static func - (lhs: SequenceNumber, rhs: Int) -> SequenceNumber {
    SequenceNumber(rawValue: lhs.rawValue &- UInt32(truncatingIfNeeded: rhs))
  }

  public static func += (lhs: inout SequenceNumber, rhs: Int) {
    lhs = lhs + rhs
  }

  /// The signed distance from `rhs` to `lhs`.
  public static func - (lhs: SequenceNumber, rhs: SequenceNumber) -> Int {
    Int(Int32(bitPattern: lhs.rawValue &- rhs.rawValue))
  }

  public static func < (lhs: SequenceNumber, rhs: SequenceNumber) -> Bool {
    lhs - rhs < 0
  }

  public static func max(_ a: SequenceNumber, _ b: SequenceNumber)
    -> SequenceNumber
  {
    a < b ? b : a
  }

  public static func min(_ a: SequenceNumber, _ b: SequenceNumber)
    -> SequenceNumber
  {
    a < b ? a : b
  }

  public var description: String { String(rawValue) }
}
