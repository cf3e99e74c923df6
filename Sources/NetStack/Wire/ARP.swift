// ARP for IPv4 over Ethernet (RFC 826): the only hardware and protocol
// types a host on an Ethernet needs. Other combinations are refused as
// unsupported rather than half-read.

/// The ARP operation field.
public struct ARPOperation: RawRepresentable, Hashable, Sendable {
  public var rawValue: UInt16
  public init(rawValue: UInt16) { self.rawValue = rawValue }

  public static let request = ARPOperation(rawValue: 1)
  public static let reply = ARPOperation(rawValue: 2)
}

/// A checked view of an Ethernet/IPv4 ARP packet.
public struct ARPView {
  public static let length = 28

  public let bytes: ArraySlice<UInt8>

  public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
    guard bytes.count >= ARPView.length else { throw .truncated }
    // Hardware type 1 (Ethernet), protocol 0x0800, lengths 6 and 4.
    guard bytes.uint16(at: 0) == 1, bytes.uint16(at: 2) == 0x0800,
      bytes.byte(at: 4) == 6, bytes.byte(at: 5) == 4
    else { throw .unsupported }
    self.bytes = bytes
  }

  public var operation: ARPOperation {
    ARPOperation(rawValue: bytes.uint16(at: 6))
  }
  public var senderHardwareAddress: MACAddress { MACAddress(bytes, at: 8) }
  public var senderProtocolAddress: IPv4Address { IPv4Address(bytes, at: 14) }
  public var targetHardwareAddress: MACAddress { MACAddress(bytes, at: 18) }
  public var targetProtocolAddress: IPv4Address { IPv4Address(bytes, at: 24) }
}

/// The fields of an Ethernet/IPv4 ARP packet.
public struct ARPPacket: Equatable, Sendable {
  public var operation: ARPOperation
  public var senderHardwareAddress: MACAddress
  public var senderProtocolAddress: IPv4Address
  public var targetHardwareAddress: MACAddress
  public var targetProtocolAddress: IPv4Address

  public init(operation: ARPOperation,
              senderHardwareAddress: MACAddress,
              senderProtocolAddress: IPv4Address,
              targetHardwareAddress: MACAddress,
              targetProtocolAddress: IPv4Address)
  {
    self.operation = operation
    self.senderHardwareAddress = senderHardwareAddress
    self.senderProtocolAddress = senderProtocolAddress
    self.targetHardwareAddress = targetHardwareAddress
    self.targetProtocolAddress = targetProtocolAddress
  }

  public init(_ view: ARPView) {
    operation = view.operation
    senderHardwareAddress = view.senderHardwareAddress
    senderProtocolAddress = view.senderProtocolAddress
    targetHardwareAddress = view.targetHardwareAddress
    targetProtocolAddress = view.targetProtocolAddress
  }

  /// Appends the 28 packet bytes.
  public func emit(into buffer: inout [UInt8]) {
    buffer.appendUInt16(1)
    buffer.appendUInt16(EtherType.ipv4.rawValue)
    buffer.append(6)
    buffer.append(4)
    buffer.appendUInt16(operation.rawValue)
    senderHardwareAddress.append(to: &buffer)
    senderProtocolAddress.append(to: &buffer)
    targetHardwareAddress.append(to: &buffer)
    targetProtocolAddress.append(to: &buffer)
  }
}
