// Ethernet II frames (IEEE 802.3 with a type field): destination, source,
// EtherType, payload. The device hands frames over without the FCS. Frames
// shorter than the 60-byte minimum are padded on emit; received padding is
// harmless because IPv4 and ARP carry their own lengths.

/// The EtherType field: which protocol the payload holds.
public struct EtherType: RawRepresentable, Hashable, Sendable {
  public var rawValue: UInt16
  public init(rawValue: UInt16) { self.rawValue = rawValue }

  public static let ipv4 = EtherType(rawValue: 0x0800)
  public static let arp = EtherType(rawValue: 0x0806)
  public static let ipv6 = EtherType(rawValue: 0x86DD)
  public static let vlan = EtherType(rawValue: 0x8100)
}

/// A checked view of an Ethernet II frame.
public struct EthernetView {
  public static let headerLength = 14
  /// The shortest frame a sender may put on the wire, without the FCS.
  public static let minimumFrameLength = 60

  public let bytes: ArraySlice<UInt8>

  public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
    guard bytes.count >= EthernetView.headerLength else {
      throw .truncated
    }
    // Values up to 1500 are 802.3 lengths (LLC frames), not types.
    guard bytes.uint16(at: 12) >= 0x0600 else { throw .unsupported }
    self.bytes = bytes
  }

  public var destination: MACAddress { MACAddress(bytes, at: 0) }
  public var source: MACAddress { MACAddress(bytes, at: 6) }
  public var etherType: EtherType {
    EtherType(rawValue: bytes.uint16(at: 12))
  }
  public var payload: ArraySlice<UInt8> {
    bytes.bytes(from: EthernetView.headerLength)
  }
}

/// The fields of an Ethernet II header.
public struct EthernetHeader: Equatable, Sendable {
  public var destination: MACAddress
  public var source: MACAddress
  public var etherType: EtherType

  public init(destination: MACAddress, source: MACAddress,
              etherType: EtherType)
  {
    self.destination = destination
    self.source = source
    self.etherType = etherType
  }

  public init(_ view: EthernetView) {
    destination = view.destination
    source = view.source
    etherType = view.etherType
  }

  /// Appends the 14 header bytes.
  public func emit(into buffer: inout [UInt8]) {
    destination.append(to: &buffer)
    source.append(to: &buffer)
    buffer.appendUInt16(etherType.rawValue)
  }

  /// Writes the header over the first 14 bytes of `frame` (the headroom
  /// the stack leaves in front of every IP packet) and pads the frame to
  /// the minimum length.
  public func write(over frame: inout [UInt8]) {
    var header: [UInt8] = []
    header.reserveCapacity(EthernetView.headerLength)
    emit(into: &header)
    for i in 0..<EthernetView.headerLength { frame[i] = header[i] }
    if frame.count < EthernetView.minimumFrameLength {
      frame.appendZeros(EthernetView.minimumFrameLength - frame.count)
    }
  }
}
