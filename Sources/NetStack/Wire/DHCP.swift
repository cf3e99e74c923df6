// DHCPv4 messages (RFC 2131) with the options a client needs (RFC 2132):
// message type, subnet mask, router, DNS servers, lease, renewal and
// rebinding times, server identifier, requested address, parameter list,
// host name. A message is the fixed BOOTP header (236 bytes), the magic
// cookie, then options. Option overload (52), which moves options into the
// sname and file fields, is not read.
// TODO(dhcp): option overload is ignored; servers rarely use it.

/// The DHCP message type option (53).
public struct DHCPMessageType: RawRepresentable, Hashable, Sendable {
  public var rawValue: UInt8
  public init(rawValue: UInt8) { self.rawValue = rawValue }

  public static let discover = DHCPMessageType(rawValue: 1)
  public static let offer = DHCPMessageType(rawValue: 2)
  public static let request = DHCPMessageType(rawValue: 3)
  public static let decline = DHCPMessageType(rawValue: 4)
  public static let ack = DHCPMessageType(rawValue: 5)
  public static let nak = DHCPMessageType(rawValue: 6)
  public static let release = DHCPMessageType(rawValue: 7)
  public static let inform = DHCPMessageType(rawValue: 8)
}

/// A checked view of a DHCP message over Ethernet.
public struct DHCPView {
  /// The fixed BOOTP fields before the magic cookie.
  public static let fixedLength = 236
  static let magicCookie: UInt32 = 0x6382_5363
  public static let serverPort: UInt16 = 67
  public static let clientPort: UInt16 = 68

  public let bytes: ArraySlice<UInt8>

  public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
    guard bytes.count >= DHCPView.fixedLength + 4 else { throw .truncated }
    let op = bytes.byte(at: 0)
    guard op == 1 || op == 2, bytes.byte(at: 1) == 1,
      bytes.byte(at: 2) == 6,
      bytes.uint32(at: DHCPView.fixedLength) == DHCPView.magicCookie
    else { throw .unsupported }
    self.bytes = bytes
  }

  /// 1 for a client's request, 2 for a server's reply.
  public var operation: UInt8 { bytes.byte(at: 0) }
  public var transactionID: UInt32 { bytes.uint32(at: 4) }
  public var secondsElapsed: UInt16 { bytes.uint16(at: 8) }
  public var broadcast: Bool { bytes.uint16(at: 10) & 0x8000 != 0 }
  public var clientAddress: IPv4Address { IPv4Address(bytes, at: 12) }
  public var yourAddress: IPv4Address { IPv4Address(bytes, at: 16) }
  public var serverAddress: IPv4Address { IPv4Address(bytes, at: 20) }
  public var relayAddress: IPv4Address { IPv4Address(bytes, at: 24) }
  public var clientHardwareAddress: MACAddress { MACAddress(bytes, at: 28) }
  public var optionBytes: ArraySlice<UInt8> {
    bytes.bytes(from: DHCPView.fixedLength + 4)
  }
}

/// A DHCP message with the options Villa reads and writes.
public struct DHCPMessage: Equatable, Sendable {
  public static let bootRequest: UInt8 = 1
  public static let bootReply: UInt8 = 2

  public var operation: UInt8
  public var transactionID: UInt32
  public var secondsElapsed: UInt16 = 0
  public var broadcast = false
  public var clientAddress = IPv4Address.any
  public var yourAddress = IPv4Address.any
  public var serverAddress = IPv4Address.any
  public var relayAddress = IPv4Address.any
  public var clientHardwareAddress: MACAddress

  public var messageType: DHCPMessageType?
  public var subnetMask: IPv4Address?
  public var routers: [IPv4Address] = []
  public var dnsServers: [IPv4Address] = []
  /// Seconds.
  public var leaseTime: UInt32?
  public var renewalTime: UInt32?
  public var rebindingTime: UInt32?
  public var serverIdentifier: IPv4Address?
  public var requestedAddress: IPv4Address?
  public var parameterRequestList: [UInt8] = []
  public var hostName: [UInt8] = []
  public var maximumMessageSize: UInt16?

  enum Option {
    static let pad: UInt8 = 0
    static let subnetMask: UInt8 = 1
    static let router: UInt8 = 3
    static let dns: UInt8 = 6
    static let hostName: UInt8 = 12
    static let requestedAddress: UInt8 = 50
    static let leaseTime: UInt8 = 51
    static let messageType: UInt8 = 53
    static let serverIdentifier: UInt8 = 54
    static let parameterRequestList: UInt8 = 55
    static let maximumMessageSize: UInt8 = 57
    static let renewalTime: UInt8 = 58
    static let rebindingTime: UInt8 = 59
    static let end: UInt8 = 255
  }

  public init(operation: UInt8, transactionID: UInt32,
              clientHardwareAddress: MACAddress,
              messageType: DHCPMessageType?)
  {
    self.operation = operation
    self.transactionID = transactionID
    self.clientHardwareAddress = clientHardwareAddress
    self.messageType = messageType
  }

  /// Reads the fixed fields and walks the options. An option whose length
  /// runs past the end, or whose length does not suit its kind, makes the
  /// whole message malformed: a lease built from half an option is worse
  /// than no lease.
  public init(_ view: DHCPView) throws(WireError) {
    operation = view.operation
    transactionID = view.transactionID
    secondsElapsed = view.secondsElapsed
    broadcast = view.broadcast
    clientAddress = view.clientAddress
    yourAddress = view.yourAddress
    serverAddress = view.serverAddress
    relayAddress = view.relayAddress
    clientHardwareAddress = view.clientHardwareAddress

    let options = view.optionBytes
    var offset = 0
    while offset < options.count {
      let kind = options.byte(at: offset)
      if kind == Option.end { break }
      if kind == Option.pad {
        offset += 1
        continue
      }
      guard offset + 1 < options.count else { throw .badOption }
      let length = Int(options.byte(at: offset + 1))
      guard offset + 2 + length <= options.count else { throw .badOption }
      let body = options.bytes(at: offset + 2, length: length)
      try read(option: kind, body)
      offset += 2 + length
    }
  }

  /// Parses a message from the payload of a UDP datagram.
  public static func parse(_ bytes: ArraySlice<UInt8>) throws(WireError)
    -> DHCPMessage
  {
    try DHCPMessage(DHCPView(bytes))
  }

  private mutating func read(option kind: UInt8, _ body: ArraySlice<UInt8>)
    throws(WireError)
  {
    func address() throws(WireError) -> IPv4Address {
      guard body.count == 4 else { throw .badOption }
      return IPv4Address(body, at: 0)
    }
    func addresses() throws(WireError) -> [IPv4Address] {
      guard body.count >= 4, body.count % 4 == 0 else { throw .badOption }
      return (0..<(body.count / 4)).map { IPv4Address(body, at: 4 * $0) }
    }
    func seconds() throws(WireError) -> UInt32 {
      guard body.count == 4 else { throw .badOption }
      return body.uint32(at: 0)
    }
    switch kind {
    case Option.messageType:
      guard body.count == 1 else { throw .badOption }
      messageType = DHCPMessageType(rawValue: body.byte(at: 0))
    case Option.subnetMask: subnetMask = try address()
    case Option.router: routers = try addresses()
    case Option.dns: dnsServers = try addresses()
    case Option.leaseTime: leaseTime = try seconds()
    case Option.renewalTime: renewalTime = try seconds()
    case Option.rebindingTime: rebindingTime = try seconds()
    case Option.serverIdentifier: serverIdentifier = try address()
    case Option.requestedAddress: requestedAddress = try address()
    case Option.parameterRequestList: parameterRequestList = Array(body)
    case Option.hostName: hostName = Array(body)
    case Option.maximumMessageSize:
      guard body.count == 2 else { throw .badOption }
      maximumMessageSize = body.uint16(at: 0)
    default:
      break
    }
  }

  /// Appends the message, padded to the 300 bytes of a BOOTP message that
  /// some relays and servers still expect (RFC 1542 2.1).
  public func emit(into buffer: inout [UInt8]) {
    let start = buffer.count
    buffer.append(operation)
    buffer.append(1)
    buffer.append(6)
    buffer.append(0)
    buffer.appendUInt32(transactionID)
    buffer.appendUInt16(secondsElapsed)
    buffer.appendUInt16(broadcast ? 0x8000 : 0)
    clientAddress.append(to: &buffer)
    yourAddress.append(to: &buffer)
    serverAddress.append(to: &buffer)
    relayAddress.append(to: &buffer)
    clientHardwareAddress.append(to: &buffer)
    buffer.appendZeros(10 + 64 + 128)
    buffer.appendUInt32(DHCPView.magicCookie)

    func put(_ kind: UInt8, _ body: [UInt8]) {
      // An option body holds at most 255 bytes; longer lists are cut.
      let cut = body.prefix(255)
      buffer.append(kind)
      buffer.append(UInt8(cut.count))
      buffer.append(contentsOf: cut)
    }
    func bytes(_ list: [IPv4Address]) -> [UInt8] {
      var out: [UInt8] = []
      for address in list { address.append(to: &out) }
      return out
    }
    func bytes(_ value: UInt32) -> [UInt8] {
      var out: [UInt8] = []
      out.appendUInt32(value)
      return out
    }
    if let type = messageType { put(Option.messageType, [type.rawValue]) }
    if let address = requestedAddress {
      put(Option.requestedAddress, bytes([address]))
    }
    if let server = serverIdentifier {
      put(Option.serverIdentifier, bytes([server]))
    }
    if let lease = leaseTime { put(Option.leaseTime, bytes(lease)) }
    if let t1 = renewalTime { put(Option.renewalTime, bytes(t1)) }
    if let t2 = rebindingTime { put(Option.rebindingTime, bytes(t2)) }
    if let mask = subnetMask { put(Option.subnetMask, bytes([mask])) }
    if !routers.isEmpty { put(Option.router, bytes(routers)) }
    if !dnsServers.isEmpty { put(Option.dns, bytes(dnsServers)) }
    if !hostName.isEmpty { put(Option.hostName, hostName) }
    if !parameterRequestList.isEmpty {
      put(Option.parameterRequestList, parameterRequestList)
    }
    if let size = maximumMessageSize {
      put(Option.maximumMessageSize,
          [UInt8(truncatingIfNeeded: size >> 8),
           UInt8(truncatingIfNeeded: size)])
    }
    buffer.append(Option.end)
    if buffer.count - start < 300 {
      buffer.appendZeros(300 - (buffer.count - start))
    }
  }
}
