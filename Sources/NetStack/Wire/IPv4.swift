// IPv4 headers (RFC 791). The view validates version, header length and
// total length against the bytes it was given, so the payload accessor is
// exactly the datagram's payload even when the link padded the frame.
// Options are skipped, not interpreted: a host may ignore the ones it does
// not implement (RFC 1122 3.2.1.8), and the stack emits none.

/// The IPv4 protocol field.
public struct IPProtocol: RawRepresentable, Hashable, Sendable {
  public var rawValue: UInt8
  public init(rawValue: UInt8) { self.rawValue = rawValue }

  public static let icmp = IPProtocol(rawValue: 1)
  public static let tcp = IPProtocol(rawValue: 6)
  public static let udp = IPProtocol(rawValue: 17)
}

/// A checked view of an IPv4 datagram.
public struct IPv4View {
  public static let minimumHeaderLength = 20

  public let bytes: ArraySlice<UInt8>

  /// Checks lengths and version. The checksum is left to
  /// `verifyChecksum()`, because a caller may trust an offloading device.
  public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
    guard bytes.count >= IPv4View.minimumHeaderLength else {
      throw .truncated
    }
    guard bytes.byte(at: 0) >> 4 == 4 else { throw .unsupported }
    let headerLength = Int(bytes.byte(at: 0) & 0x0F) * 4
    let totalLength = Int(bytes.uint16(at: 2))
    guard headerLength >= IPv4View.minimumHeaderLength,
      totalLength >= headerLength
    else { throw .badLength }
    guard totalLength <= bytes.count else { throw .truncated }
    self.bytes = bytes.bytes(at: 0, length: totalLength)
  }

  public var headerLength: Int { Int(bytes.byte(at: 0) & 0x0F) * 4 }
  public var typeOfService: UInt8 { bytes.byte(at: 1) }
  public var totalLength: Int { Int(bytes.uint16(at: 2)) }
  public var identification: UInt16 { bytes.uint16(at: 4) }
  public var dontFragment: Bool { bytes.byte(at: 6) & 0x40 != 0 }
  public var moreFragments: Bool { bytes.byte(at: 6) & 0x20 != 0 }
  /// The fragment's offset in bytes (the field counts 8-byte units).
  public var fragmentOffset: Int { Int(bytes.uint16(at: 6) & 0x1FFF) * 8 }
  public var timeToLive: UInt8 { bytes.byte(at: 8) }
  public var protocolNumber: IPProtocol {
    IPProtocol(rawValue: bytes.byte(at: 9))
  }
  public var checksum: UInt16 { bytes.uint16(at: 10) }
  public var source: IPv4Address { IPv4Address(bytes, at: 12) }
  public var destination: IPv4Address { IPv4Address(bytes, at: 16) }
  public var header: ArraySlice<UInt8> {
    bytes.bytes(at: 0, length: headerLength)
  }
  public var payload: ArraySlice<UInt8> { bytes.bytes(from: headerLength) }

  public var isFragment: Bool { moreFragments || fragmentOffset != 0 }

  public func verifyChecksum() -> Bool {
    InternetChecksum.checksum(header) == 0
  }
}

/// The fields of an IPv4 header, as the stack uses them.
public struct IPv4Header: Equatable, Sendable {
  public var source: IPv4Address
  public var destination: IPv4Address
  public var protocolNumber: IPProtocol
  /// Bytes after the header.
  public var payloadLength: Int
  public var timeToLive: UInt8
  public var typeOfService: UInt8
  public var identification: UInt16
  public var dontFragment: Bool
  public var moreFragments: Bool
  /// In bytes; a multiple of 8.
  public var fragmentOffset: Int

  public init(source: IPv4Address, destination: IPv4Address,
              protocolNumber: IPProtocol, payloadLength: Int,
              timeToLive: UInt8 = 64, typeOfService: UInt8 = 0,
              identification: UInt16 = 0, dontFragment: Bool = false,
              moreFragments: Bool = false, fragmentOffset: Int = 0)
  {
    self.source = source
    self.destination = destination
    self.protocolNumber = protocolNumber
    self.payloadLength = payloadLength
    self.timeToLive = timeToLive
    self.typeOfService = typeOfService
    self.identification = identification
    self.dontFragment = dontFragment
    self.moreFragments = moreFragments
    self.fragmentOffset = fragmentOffset
  }

  public init(_ view: IPv4View) {
    source = view.source
    destination = view.destination
    protocolNumber = view.protocolNumber
    payloadLength = view.totalLength - view.headerLength
    timeToLive = view.timeToLive
    typeOfService = view.typeOfService
    identification = view.identification
    dontFragment = view.dontFragment
    moreFragments = view.moreFragments
    fragmentOffset = view.fragmentOffset
  }

  /// Checks the header checksum and returns the header and payload.
  public static func parse(_ bytes: ArraySlice<UInt8>) throws(WireError)
    -> (header: IPv4Header, payload: ArraySlice<UInt8>)
  {
    let view = try IPv4View(bytes)
    guard view.verifyChecksum() else { throw .badChecksum }
    return (IPv4Header(view), view.payload)
  }

  /// Appends a 20-byte header, without options, with its checksum.
  public func emit(into buffer: inout [UInt8]) {
    let start = buffer.count
    buffer.append(0x45)
    buffer.append(typeOfService)
    buffer.appendUInt16(UInt16(truncatingIfNeeded: 20 + payloadLength))
    buffer.appendUInt16(identification)
    var flags: UInt16 = UInt16(truncatingIfNeeded: fragmentOffset / 8)
      & 0x1FFF
    if dontFragment { flags |= 0x4000 }
    if moreFragments { flags |= 0x2000 }
    buffer.appendUInt16(flags)
    buffer.append(timeToLive)
    buffer.append(protocolNumber.rawValue)
    buffer.appendUInt16(0)
    source.append(to: &buffer)
    destination.append(to: &buffer)
    let sum = InternetChecksum.checksum(buffer[start..<start + 20])
    buffer.setUInt16(sum, at: start + 10)
  }
}
