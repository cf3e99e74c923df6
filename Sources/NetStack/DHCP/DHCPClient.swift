// The DHCP client state machine (RFC 2131 4.4, figure 5): INIT,
// SELECTING, REQUESTING, BOUND, RENEWING, REBINDING. It decides which
// message to send and when; the stack carries the messages (broadcast
// from 0.0.0.0 until an address is bound, unicast to the server when
// renewing) and applies the lease to the interface.
//
// Retransmission follows 4.1: 4 s doubling to 64 s with up to a second
// of random jitter; in RENEWING and REBINDING, half the time left until
// T2 (or the lease's end), at least 60 s.
// TODO(dhcp): DHCPDECLINE after an ARP probe finds the offered address in
// use (RFC 2131 2.2) is not done; QEMU's server does not hand out
// conflicting addresses.

/// What the client is doing (RFC 2131's state names).
public enum DHCPState: Equatable, Sendable {
  case stopped
  case selecting
  case requesting
  case bound
  case renewing
  case rebinding
}

/// An address lease as the server granted it.
public struct DHCPLease: Equatable, Sendable {
  public var address: IPv4Address
  public var subnetMask: IPv4Address
  public var routers: [IPv4Address]
  public var dnsServers: [IPv4Address]
  public var server: IPv4Address
  /// Seconds, from the ACK's option 51.
  public var leaseTime: UInt32
  public var obtained: Instant

  /// The configuration this lease gives the interface.
  public var configuration: IPv4Configuration {
    IPv4Configuration(address: address,
                      prefixLength: subnetMask.prefixLength ?? 24,
                      gateway: routers.first, dnsServers: dnsServers)
  }
}

struct DHCPClient {
  /// Where a message should go.
  enum Destination {
    case broadcast
    case server(IPv4Address)
  }

  /// What an incoming message changed.
  enum Event {
    case bound(DHCPLease)
    case lost
  }

  private(set) var state: DHCPState = .stopped
  private(set) var lease: DHCPLease?
  let hardwareAddress: MACAddress
  var hostName: [UInt8] = []

  private var transactionID: UInt32 = 0
  private var offer: DHCPMessage?
  private var started = Instant.zero
  private var attempts = 0
  private var nextTransmission: Instant?
  private var renewAt = Instant.zero
  private var rebindAt = Instant.zero
  private var expiresAt = Instant.zero

  /// The options a client asks for (RFC 2132 9.8).
  private static let requestedParameters: [UInt8] = [1, 3, 6, 51, 58, 59]

  init(hardwareAddress: MACAddress) {
    self.hardwareAddress = hardwareAddress
  }

  /// Starts (or restarts) from INIT: a DISCOVER goes out at once.
  mutating func start(now: Instant, transactionID: UInt32) {
    state = .selecting
    lease = nil
    offer = nil
    self.transactionID = transactionID
    started = now
    attempts = 0
    nextTransmission = now
  }

  mutating func stop() {
    state = .stopped
    lease = nil
    nextTransmission = nil
  }

  var nextDeadline: Instant? {
    switch state {
    case .stopped: return nil
    case .bound: return renewAt
    case .renewing: return earliest(nextTransmission, rebindAt)
    case .rebinding: return earliest(nextTransmission, expiresAt)
    default: return nextTransmission
    }
  }

  /// Runs the timers. Returns a message to send, and whether the lease
  /// ran out (the caller deconfigures the interface and starts over).
  mutating func poll(now: Instant, random: inout RandomSource)
    -> (message: (DHCPMessage, Destination)?, expired: Bool)
  {
    switch state {
    case .stopped:
      return (nil, false)
    case .bound:
      guard !(now < renewAt) else { return (nil, false) }
      state = .renewing
      nextTransmission = now
    case .renewing where !(now < rebindAt):
      state = .rebinding
      nextTransmission = now
    case .rebinding where !(now < expiresAt):
      start(now: now, transactionID: random.next32())
      return (nil, true)
    default:
      break
    }
    guard let due = nextTransmission, !(now < due) else { return (nil, false) }

    attempts += 1
    switch state {
    case .selecting, .requesting:
      if state == .requesting && attempts > 4 {
        // The chosen server went quiet: begin again.
        start(now: now, transactionID: random.next32())
        attempts = 1
      }
      let delay = UInt64(4000) << UInt64(min(attempts - 1, 4))
      nextTransmission = now.adding(
        milliseconds: delay + UInt64(random.next(below: 1000)))
    case .renewing, .rebinding:
      let end = state == .renewing ? rebindAt : expiresAt
      let half = end.milliseconds(since: now) / 2
      nextTransmission = now.adding(milliseconds: max(half, 60_000))
    default:
      break
    }
    return (outgoingMessage(now: now), false)
  }

  private func outgoingMessage(now: Instant) -> (DHCPMessage, Destination)? {
    var message = DHCPMessage(
      operation: DHCPMessage.bootRequest, transactionID: transactionID,
      clientHardwareAddress: hardwareAddress, messageType: .discover)
    message.secondsElapsed = UInt16(
      min(now.milliseconds(since: started) / 1000, 0xFFFF))
    message.parameterRequestList = DHCPClient.requestedParameters
    message.hostName = hostName
    message.maximumMessageSize = 1500
    switch state {
    case .selecting:
      return (message, .broadcast)
    case .requesting:
      guard let offer, let server = offer.serverIdentifier else { return nil }
      message.messageType = .request
      message.requestedAddress = offer.yourAddress
      message.serverIdentifier = server
      return (message, .broadcast)
    case .renewing, .rebinding:
      guard let lease else { return nil }
      // RFC 2131 4.3.2: ciaddr set, no requested address or server id.
      message.messageType = .request
      message.clientAddress = lease.address
      return (message, state == .renewing ? .server(lease.server)
                                          : .broadcast)
    default:
      return nil
    }
  }

  /// Handles a server's reply.
  mutating func receive(_ message: DHCPMessage, now: Instant,
                        random: inout RandomSource) -> Event?
  {
    guard message.operation == DHCPMessage.bootReply,
      message.transactionID == transactionID,
      message.clientHardwareAddress == hardwareAddress,
      let type = message.messageType
    else { return nil }
    switch (state, type) {
    case (.selecting, .offer):
      guard !message.yourAddress.isUnspecified,
        message.serverIdentifier != nil
      else { return nil }
      // The first acceptable offer wins (RFC 2131 4.4.1 lets the client
      // choose; waiting for more gains nothing on a virtual network).
      offer = message
      state = .requesting
      attempts = 0
      nextTransmission = now
      return nil
    case (.requesting, .ack), (.renewing, .ack), (.rebinding, .ack):
      guard !message.yourAddress.isUnspecified else { return nil }
      let server = message.serverIdentifier
        ?? offer?.serverIdentifier ?? lease?.server ?? .any
      let seconds = message.leaseTime ?? 3600
      let granted = DHCPLease(
        address: message.yourAddress,
        subnetMask: message.subnetMask ?? IPv4Address(255, 255, 255, 0),
        routers: message.routers, dnsServers: message.dnsServers,
        server: server, leaseTime: seconds, obtained: now)
      bind(granted, renewal: message.renewalTime,
           rebinding: message.rebindingTime, now: now)
      return .bound(granted)
    case (.requesting, .nak), (.renewing, .nak), (.rebinding, .nak):
      let hadLease = lease != nil
      start(now: now, transactionID: random.next32())
      return hadLease ? .lost : nil
    default:
      return nil
    }
  }

  /// BOUND: T1 and T2 default to 0.5 and 0.875 of the lease (4.4.5).
  private mutating func bind(_ granted: DHCPLease, renewal: UInt32?,
                             rebinding: UInt32?, now: Instant)
  {
    lease = granted
    state = .bound
    nextTransmission = nil
    attempts = 0
    let total = UInt64(granted.leaseTime) * 1000
    let t1 = renewal.map { UInt64($0) * 1000 } ?? total / 2
    let t2 = rebinding.map { UInt64($0) * 1000 } ?? total * 7 / 8
    if granted.leaseTime == UInt32.max {
      // An infinite lease (RFC 2131 3.3) never renews.
      renewAt = Instant(milliseconds: UInt64.max)
      rebindAt = renewAt
      expiresAt = renewAt
    } else {
      renewAt = now.adding(milliseconds: min(t1, total))
      rebindAt = now.adding(milliseconds: min(max(t2, t1), total))
      expiresAt = now.adding(milliseconds: total)
    }
  }
}
