// Link and network addresses. They are small values with the operations
// routing needs (masks, classification) and a dotted or colon-separated
// text form for logs and tests; parsing that form is for configuration,
// not for anything read off the wire.

/// A 48-bit Ethernet address.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
  /// The six bytes in transmission order, in the low 48 bits.
  public var rawValue: UInt64

  public init(rawValue: UInt64) {
    self.rawValue = rawValue & 0xFFFF_FFFF_FFFF
  }

  public init(_ a: UInt8, _ b: UInt8, _ c: UInt8,
              _ d: UInt8, _ e: UInt8, _ f: UInt8)
  {
    var value: UInt64 = 0
    for byte in [a, b, c, d, e, f] { value = value << 8 | UInt64(byte) }
    rawValue = value
  }

  init(_ bytes: ArraySlice<UInt8>, at offset: Int) {
    var value: UInt64 = 0
    for i in 0..<6 { value = value << 8 | UInt64(bytes.byte(at: offset + i)) }
    rawValue = value
  }

  public static let broadcast = MACAddress(rawValue: 0xFFFF_FFFF_FFFF)
  public static let zero = MACAddress(rawValue: 0)

  public var isBroadcast: Bool { self == .broadcast }
  /// Group addresses have the low bit of the first byte set.
  public var isMulticast: Bool { rawValue & 0x0100_0000_0000 != 0 }

  public var bytes: [UInt8] {
    (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * $0)) }
  }

  func append(to buffer: inout [UInt8]) {
    for i in 0..<6 {
      buffer.append(UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * i)))
    }
  }

  public var description: String {
    var text = ""
    for (i, byte) in bytes.enumerated() {
      if i > 0 { text += ":" }
      if byte < 16 { text += "0" }
      text += String(byte, radix: 16)
    }
    return text
  }
}

/// An IPv4 address.
public struct IPv4Address: Hashable, Comparable, Sendable,
  CustomStringConvertible
{
  /// The address in host order: 10.0.2.15 is 0x0A00_020F.
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
    rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
  }

  init(_ bytes: ArraySlice<UInt8>, at offset: Int) {
    rawValue = bytes.uint32(at: offset)
  }

  /// Parses dotted-quad text such as "10.0.2.15".
  public init?(_ text: String) {
    var parts: [UInt32] = []
    var current: UInt32 = 0
    var digits = 0
    for unit in text.utf8 {
      if unit == UInt8(ascii: ".") {
        guard digits > 0 else { return nil }
        parts.append(current)
        current = 0
        digits = 0
      } else if unit >= UInt8(ascii: "0") && unit <= UInt8(ascii: "9") {
        current = current * 10 + UInt32(unit - UInt8(ascii: "0"))
        digits += 1
        guard digits <= 3, current <= 255 else { return nil }
      } else {
        return nil
      }
    }
    guard digits > 0 else { return nil }
    parts.append(current)
    guard parts.count == 4 else { return nil }
    rawValue = parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]
  }

  public static let any = IPv4Address(rawValue: 0)
  public static let broadcast = IPv4Address(rawValue: 0xFFFF_FFFF)
  public static let loopback = IPv4Address(127, 0, 0, 1)

  public var isUnspecified: Bool { rawValue == 0 }
  public var isBroadcast: Bool { rawValue == 0xFFFF_FFFF }
  /// 127.0.0.0/8 (RFC 1122 3.2.1.3).
  public var isLoopback: Bool { rawValue >> 24 == 127 }
  /// 224.0.0.0/4.
  public var isMulticast: Bool { rawValue >> 28 == 0xE }

  public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool {
    lhs.rawValue < rhs.rawValue
  }

  /// The netmask with `prefixLength` leading ones.
  public static func netmask(prefixLength: Int) -> IPv4Address {
    let length = min(max(prefixLength, 0), 32)
    return IPv4Address(
      rawValue: length == 0 ? 0 : UInt32.max << UInt32(32 - length))
  }

  /// The number of leading ones, when this is a contiguous netmask.
  public var prefixLength: Int? {
    let ones = rawValue.leadingZeroBitCount == 0
      ? (~rawValue).leadingZeroBitCount : 0
    return IPv4Address.netmask(prefixLength: ones) == self ? ones : nil
  }

  public func masked(by mask: IPv4Address) -> IPv4Address {
    IPv4Address(rawValue: rawValue & mask.rawValue)
  }

  func append(to buffer: inout [UInt8]) {
    buffer.appendUInt32(rawValue)
  }

  public var description: String {
    let bytes = [24, 16, 8, 0].map { String((rawValue >> UInt32($0)) & 0xFF) }
    return bytes[0] + "." + bytes[1] + "." + bytes[2] + "." + bytes[3]
  }
}

/// An IPv4 address and a port: one end of a TCP connection or UDP flow.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
  public var address: IPv4Address
  public var port: UInt16

  public init(_ address: IPv4Address, _ port: UInt16) {
    self.address = address
    self.port = port
  }

  public static let unspecified = SocketAddress(.any, 0)

  public var description: String {
    address.description + ":" + String(port)
  }
}
