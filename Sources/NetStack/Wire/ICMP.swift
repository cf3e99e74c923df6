// ICMP for IPv4 (RFC 792): echo for ping, and the error messages a host
// sends and must understand (destination unreachable, time exceeded).
// Error messages carry the start of the offending datagram, which the
// stack uses to find the socket the error is about. Other types are kept
// as raw fields so they can be counted and ignored.

/// A checked view of an ICMP message.
public struct ICMPView {
  public static let headerLength = 8

  public let bytes: ArraySlice<UInt8>

  public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
    guard bytes.count >= ICMPView.headerLength else { throw .truncated }
    self.bytes = bytes
  }

  public var type: UInt8 { bytes.byte(at: 0) }
  public var code: UInt8 { bytes.byte(at: 1) }
  public var checksum: UInt16 { bytes.uint16(at: 2) }
  /// The four bytes after the checksum, whose meaning depends on the type.
  public var restOfHeader: UInt32 { bytes.uint32(at: 4) }
  public var data: ArraySlice<UInt8> {
    bytes.bytes(from: ICMPView.headerLength)
  }

  public func verifyChecksum() -> Bool {
    InternetChecksum.checksum(bytes) == 0
  }
}

/// Codes of the destination-unreachable message (RFC 792, RFC 1122).
public enum UnreachableCode {
  public static let network: UInt8 = 0
  public static let host: UInt8 = 1
  public static let protocolUnreachable: UInt8 = 2
  public static let port: UInt8 = 3
  public static let fragmentationNeeded: UInt8 = 4
}

/// An ICMP message.
public enum ICMPMessage: Equatable, Sendable {
  case echoRequest(identifier: UInt16, sequence: UInt16, data: [UInt8])
  case echoReply(identifier: UInt16, sequence: UInt16, data: [UInt8])
  /// `original` is the offending datagram's header and leading bytes.
  case destinationUnreachable(code: UInt8, nextHopMTU: UInt16,
                              original: [UInt8])
  case timeExceeded(code: UInt8, original: [UInt8])
  case other(type: UInt8, code: UInt8, restOfHeader: UInt32, data: [UInt8])

  static let echoReplyType: UInt8 = 0
  static let unreachableType: UInt8 = 3
  static let echoRequestType: UInt8 = 8
  static let timeExceededType: UInt8 = 11

  public init(_ view: ICMPView) {
    let rest = view.restOfHeader
    let data = Array(view.data)
    let high = UInt16(truncatingIfNeeded: rest >> 16)
    let low = UInt16(truncatingIfNeeded: rest)
    switch (view.type, view.code) {
    case (ICMPMessage.echoRequestType, 0):
      self = .echoRequest(identifier: high, sequence: low, data: data)
    case (ICMPMessage.echoReplyType, 0):
      self = .echoReply(identifier: high, sequence: low, data: data)
    case (ICMPMessage.unreachableType, _):
      self = .destinationUnreachable(code: view.code, nextHopMTU: low,
                                     original: data)
    case (ICMPMessage.timeExceededType, _):
      self = .timeExceeded(code: view.code, original: data)
    default:
      self = .other(type: view.type, code: view.code, restOfHeader: rest,
                    data: data)
    }
  }

  /// Checks the checksum and returns the message.
  public static func parse(_ bytes: ArraySlice<UInt8>) throws(WireError)
    -> ICMPMessage
  {
    let view = try ICMPView(bytes)
    guard view.verifyChecksum() else { throw .badChecksum }
    return ICMPMessage(view)
  }

  /// Appends the message with its checksum.
  public func emit(into buffer: inout [UInt8]) {
    let start = buffer.count
    let type: UInt8
    let code: UInt8
    let rest: UInt32
    let data: [UInt8]
    switch self {
    case .echoRequest(let identifier, let sequence, let body):
      (type, code, data) = (ICMPMessage.echoRequestType, 0, body)
      rest = UInt32(identifier) << 16 | UInt32(sequence)
    case .echoReply(let identifier, let sequence, let body):
      (type, code, data) = (ICMPMessage.echoReplyType, 0, body)
      rest = UInt32(identifier) << 16 | UInt32(sequence)
    case .destinationUnreachable(let c, let mtu, let original):
      (type, code, data) = (ICMPMessage.unreachableType, c, original)
      rest = UInt32(mtu)
    case .timeExceeded(let c, let original):
      (type, code, rest, data) = (ICMPMessage.timeExceededType, c, 0,
                                  original)
    case .other(let t, let c, let r, let body):
      (type, code, rest, data) = (t, c, r, body)
    }
    buffer.append(type)
    buffer.append(code)
    buffer.appendUInt16(0)
    buffer.appendUInt32(rest)
    buffer.append(contentsOf: data)
    let sum = InternetChecksum.checksum(buffer[start...])
    buffer.setUInt16(sum, at: start + 2)
  }

  public var encodedLength: Int {
    switch self {
    case .echoRequest(_, _, let data), .echoReply(_, _, let data),
      .destinationUnreachable(_, _, let data), .timeExceeded(_, let data),
      .other(_, _, _, let data):
      return ICMPView.headerLength + data.count
    }
  }
}

/// A checked view of the datagram an ICMP error quotes: an IPv4 header
/// and at least the first 8 bytes of its payload (RFC 792), which hold
/// the ports of UDP and TCP. The quoted total length is not checked
/// against the bytes, since the quote is cut short by design.
public struct ICMPQuotedDatagram {
  public let bytes: ArraySlice<UInt8>

  public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
    guard bytes.count >= IPv4View.minimumHeaderLength else {
      throw .truncated
    }
    guard bytes.byte(at: 0) >> 4 == 4 else { throw .unsupported }
    let headerLength = Int(bytes.byte(at: 0) & 0x0F) * 4
    guard headerLength >= IPv4View.minimumHeaderLength else {
      throw .badLength
    }
    guard bytes.count >= headerLength + 8 else { throw .truncated }
    self.bytes = bytes
  }

  private var headerLength: Int { Int(bytes.byte(at: 0) & 0x0F) * 4 }
  public var protocolNumber: IPProtocol {
    IPProtocol(rawValue: bytes.byte(at: 9))
  }
  public var source: IPv4Address { IPv4Address(bytes, at: 12) }
  public var destination: IPv4Address { IPv4Address(bytes, at: 16) }
  public var sourcePort: UInt16 { bytes.uint16(at: headerLength) }
  public var destinationPort: UInt16 { bytes.uint16(at: headerLength + 2) }
}
