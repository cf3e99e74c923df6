// UDP headers (RFC 768). The length field bounds the payload; a checksum
// of zero means the sender computed none, which IPv4 allows, and a
// computed zero is sent as 0xFFFF so the two never collide.

/// A checked view of a UDP datagram.
public struct UDPView {
  public static let headerLength = 8

  public let bytes: ArraySlice<UInt8>

  public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
    guard bytes.count >= UDPView.headerLength else { throw .truncated }
    let length = Int(bytes.uint16(at: 4))
    guard length >= UDPView.headerLength else { throw .badLength }
    guard length <= bytes.count else { throw .truncated }
    self.bytes = bytes.bytes(at: 0, length: length)
  }

  public var sourcePort: UInt16 { bytes.uint16(at: 0) }
  public var destinationPort: UInt16 { bytes.uint16(at: 2) }
  public var length: Int { Int(bytes.uint16(at: 4)) }
  public var checksum: UInt16 { bytes.uint16(at: 6) }
  public var payload: ArraySlice<UInt8> {
    bytes.bytes(from: UDPView.headerLength)
  }

  public func verifyChecksum(source: IPv4Address,
                             destination: IPv4Address) -> Bool
  {
    if checksum == 0 { return true }
    let pseudo = InternetChecksum.pseudoHeader(
      source: source, destination: destination,
      protocol: IPProtocol.udp.rawValue, length: bytes.count)
    return InternetChecksum.finish(InternetChecksum.add(bytes, to: pseudo))
      == 0
  }
}

/// The ports of a UDP header; length and checksum follow from the payload.
public struct UDPHeader: Equatable, Sendable {
  public var sourcePort: UInt16
  public var destinationPort: UInt16

  public init(sourcePort: UInt16, destinationPort: UInt16) {
    self.sourcePort = sourcePort
    self.destinationPort = destinationPort
  }

  public init(_ view: UDPView) {
    sourcePort = view.sourcePort
    destinationPort = view.destinationPort
  }

  /// Checks the checksum and returns the header and payload.
  public static func parse(_ bytes: ArraySlice<UInt8>,
                           source: IPv4Address,
                           destination: IPv4Address) throws(WireError)
    -> (header: UDPHeader, payload: ArraySlice<UInt8>)
  {
    let view = try UDPView(bytes)
    guard view.verifyChecksum(source: source, destination: destination)
    else { throw .badChecksum }
    return (UDPHeader(view), view.payload)
  }

  /// Appends the header and `payload`, with the checksum over both.
  public func emit(into buffer: inout [UInt8], payload: ArraySlice<UInt8>,
                   source: IPv4Address, destination: IPv4Address)
  {
    let start = buffer.count
    let length = UDPView.headerLength + payload.count
    buffer.appendUInt16(sourcePort)
    buffer.appendUInt16(destinationPort)
    buffer.appendUInt16(UInt16(truncatingIfNeeded: length))
    buffer.appendUInt16(0)
    buffer.append(contentsOf: payload)
    let pseudo = InternetChecksum.pseudoHeader(
      source: source, destination: destination,
      protocol: IPProtocol.udp.rawValue, length: length)
    var sum = InternetChecksum.finish(
      InternetChecksum.add(buffer[start...], to: pseudo))
    if sum == 0 { sum = 0xFFFF }
    buffer.setUInt16(sum, at: start + 6)
  }
}
