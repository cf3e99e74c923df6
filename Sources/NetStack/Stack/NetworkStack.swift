// Villa's TCP/IP stack: one Ethernet interface plus loopback, the sockets
// on them, and the driver-facing loop that moves frames.
//
//   device ── receive(frame:now:) ──▶ Ethernet ─▶ ARP / IPv4 ─▶ ICMP, UDP,
//                                                  (reassembly)  TCP, DHCP
//   device ◀── poll(now:) frames ◀── routing, ARP hold ◀── timers, sockets
//
// The stack owns no thread and reads no clock. The driver hands it each
// received frame, then calls poll(now:) for the frames to transmit; the
// socket calls (SocketCalls.swift) only change buffers and flags, so the
// caller polls after them too. nextDeadline says when timers next need a
// poll. Loopback traffic (127.0.0.0/8 and the interface's own address) is
// queued inside the stack and fed back to IPv4 input within the same
// poll, never reaching the device.
//
// Input is in StackInput.swift, output and routing in StackOutput.swift.

/// Counters for diagnostics and tests.
public struct NetStatistics: Equatable, Sendable {
  public var framesReceived = 0
  public var framesSent = 0
  /// Frames or packets whose headers did not parse.
  public var malformed = 0
  public var badChecksums = 0
  /// Well-formed traffic not for this host, or of an unsupported kind.
  public var ignored = 0
  public var arpRequestsSent = 0
  public var arpUnresolvedDrops = 0
  public var fragmentsReassembled = 0
  public var icmpEchoRepliesSent = 0
  public var icmpErrorsSent = 0
  public var udpDropped = 0
  public var tcpSegmentsSent = 0
  public var tcpRetransmissions = 0
  public var tcpFastRetransmits = 0
  public var tcpTimeouts = 0
  public var tcpResetsSent = 0
  public var tcpListenOverflows = 0
}

/// What the stack needs to start.
public struct StackConfiguration: Sendable {
  public var interface: InterfaceConfiguration
  public var tcp: TCPConfiguration
  /// Seeds ISNs, ports and DHCP transaction IDs; the kernel passes
  /// entropy, tests a constant.
  public var randomSeed: UInt64
  /// Defaults for new sockets.
  public var socketDefaults: SocketOptions

  public init(interface: InterfaceConfiguration,
              tcp: TCPConfiguration = TCPConfiguration(),
              randomSeed: UInt64 = 0x5EED,
              socketDefaults: SocketOptions = SocketOptions())
  {
    self.interface = interface
    self.tcp = tcp
    self.randomSeed = randomSeed
    self.socketDefaults = socketDefaults
  }
}

/// A received ICMP echo reply (for the ping API).
public struct EchoReply: Equatable, Sendable {
  public var source: IPv4Address
  public var identifier: UInt16
  public var sequence: UInt16
  public var data: [UInt8]

  public init(source: IPv4Address, identifier: UInt16, sequence: UInt16,
              data: [UInt8])
  {
    self.source = source
    self.identifier = identifier
    self.sequence = sequence
    self.data = data
  }
}

/// What a socket handle refers to.
enum SocketEntry {
  case tcp(TCPConnection)
  case listener(TCPListener)
  case udp(UDPSocket)
}

/// A listening socket and the connections it has not handed out yet.
final class TCPListener {
  var local: SocketAddress
  var backlog: Int
  var options: SocketOptions
  /// SYN-RECEIVED and established connections, oldest first.
  var children: [TCPConnection] = []

  init(local: SocketAddress, backlog: Int, options: SocketOptions) {
    self.local = local
    self.backlog = backlog
    self.options = options
  }

  var hasReadyChild: Bool {
    children.contains { $0.wasConnected }
  }
}

public final class NetworkStack {
  public let hardwareAddress: MACAddress
  public let mtu: Int
  /// Loopback carries the largest IPv4 datagram, as Linux's lo does.
  public static let loopbackMTU = 65_535
  /// The current IPv4 assignment, static or from DHCP.
  public internal(set) var ipv4: IPv4Configuration?
  /// Counters kept by the stack itself; TCP keeps its own per connection.
  var counters = NetStatistics()
  /// Increases whenever a socket's readiness may have changed, so the
  /// kernel can wake waiters only then.
  public internal(set) var readinessEpoch: UInt64 = 0

  let tcpConfiguration: TCPConfiguration
  let socketDefaults: SocketOptions
  var random: RandomSource
  var arp = ARPCache()
  var reassembler = FragmentReassembler()
  var dhcp: DHCPClient?

  var sockets: [SocketEntry?] = []
  static let maximumSockets = 65_536
  /// Every TCP connection with a live control block, with or without a
  /// handle (children awaiting accept, closed sockets finishing).
  var connections: [TCPConnection] = []
  var retiredTCPStatistics = TCPConnectionStatistics()
  var echoReplies: [EchoReply] = []

  /// Frames ready for the device.
  var transmitQueue: [[UInt8]] = []
  /// IP packets (after 14 bytes of headroom) sent to ourselves.
  var loopbackQueue: [[UInt8]] = []
  var lastNow = Instant.zero
  /// Set by input and socket calls: a poll has work to do now.
  var needsPoll = false
  var nextIdentification: UInt16

  public init(configuration: StackConfiguration) {
    hardwareAddress = configuration.interface.hardwareAddress
    mtu = configuration.interface.mtu
    ipv4 = configuration.interface.ipv4
    tcpConfiguration = configuration.tcp
    socketDefaults = configuration.socketDefaults
    random = RandomSource(seed: configuration.randomSeed)
    nextIdentification = UInt16(truncatingIfNeeded: random.next())
  }

  // MARK: Device interface

  /// Takes one received Ethernet frame (without FCS).
  public func receive(frame: [UInt8], now: Instant) {
    receive(frame: frame[...], now: now)
  }

  public func receive(frame: ArraySlice<UInt8>, now: Instant) {
    advanceClock(now)
    counters.framesReceived += 1
    needsPoll = true
    let view: EthernetView
    do {
      view = try EthernetView(frame)
    } catch {
      counters.malformed += 1
      return
    }
    let destination = view.destination
    guard destination == hardwareAddress || destination.isBroadcast
      || destination.isMulticast
    else {
      counters.ignored += 1
      return
    }
    switch view.etherType {
    case .arp:
      arpInput(view.payload, now: now)
    case .ipv4:
      ipv4Input(view.payload, fromLoopback: false, now: now)
    default:
      // TODO(net): IPv6, neighbour discovery and SLAAC are not
      // implemented; such frames are counted and dropped.
      counters.ignored += 1
    }
  }

  /// Runs timers and sockets; returns the frames to transmit, in order.
  public func poll(now: Instant) -> [[UInt8]] {
    advanceClock(now)
    needsPoll = false
    runInterfaceTimers(now: now)
    var rounds = 0
    while true {
      dispatchConnections(now: now)
      flushDatagrams(now: now)
      if loopbackQueue.isEmpty { break }
      if rounds == 64 {
        // Leave the rest for the next poll rather than starve the
        // device; nextDeadline reports that a poll is due now.
        needsPoll = true
        break
      }
      rounds += 1
      let packets = loopbackQueue
      loopbackQueue.removeAll()
      for packet in packets {
        ipv4Input(packet[EthernetView.headerLength...], fromLoopback: true,
                  now: now)
      }
    }
    removeFinishedConnections()
    let frames = transmitQueue
    transmitQueue.removeAll()
    counters.framesSent += frames.count
    return frames
  }

  /// When the stack next needs a poll: now if work is pending, else the
  /// earliest timer, else nil (only input or a socket call can create
  /// work).
  public var nextDeadline: Instant? {
    if needsPoll || !loopbackQueue.isEmpty || !transmitQueue.isEmpty {
      return lastNow
    }
    var deadline = earliest(arp.nextDeadline, reassembler.nextDeadline)
    deadline = earliest(deadline, dhcp?.nextDeadline)
    for connection in connections {
      if !connection.controlSegments.isEmpty || connection.synPending
        || connection.ackNow
      {
        return lastNow
      }
      deadline = earliest(deadline, connection.nextDeadline)
    }
    return deadline
  }

  private func advanceClock(_ now: Instant) {
    if lastNow < now { lastNow = now }
  }

  func socketsChanged() {
    readinessEpoch &+= 1
  }

  // MARK: Configuration

  /// Sets a static address (or removes it with nil), stopping DHCP.
  public func configure(ipv4 configuration: IPv4Configuration?) {
    dhcp?.stop()
    dhcp = nil
    ipv4 = configuration
    arp.removeAll()
    socketsChanged()
  }

  /// Starts the DHCP client; the interface is configured when a lease is
  /// bound. `hostName` is sent as option 12.
  public func startDHCP(hostName: String = "") {
    var client = DHCPClient(hardwareAddress: hardwareAddress)
    client.hostName = Array(hostName.utf8)
    client.start(now: lastNow, transactionID: random.next32())
    dhcp = client
    needsPoll = true
  }

  public var dhcpState: DHCPState { dhcp?.state ?? .stopped }
  public var dhcpLease: DHCPLease? { dhcp?.lease }

  private func runInterfaceTimers(now: Instant) {
    let arpResult = arp.expire(now: now)
    for address in arpResult.retry { sendARPRequest(for: address) }
    counters.arpUnresolvedDrops += arpResult.dropped
    for first in reassembler.expire(now: now) {
      // RFC 792: time exceeded, code 1 (reassembly time exceeded).
      sendICMPError(.reassemblyTimeExceeded, quoting: first[...], now: now)
    }
    if var client = dhcp {
      let result = client.poll(now: now, random: &random)
      dhcp = client
      if result.expired { leaseLost() }
      if let (message, destination) = result.message {
        sendDHCP(message, to: destination, now: now)
      }
    }
  }

  func leaseLost() {
    ipv4 = nil
    arp.removeAll()
    socketsChanged()
  }

  /// Connections whose sending side is closed but not yet acknowledged
  /// (FIN-WAIT-1, CLOSING, LAST-ACK): data or a FIN still on its way.
  /// A kernel about to stop waits for this to reach 0, as the program's
  /// last bytes would otherwise never arrive.
  public var closingConnections: Int {
    connections.filter {
      $0.state == .finWait1 || $0.state == .closing || $0.state == .lastAck
    }.count
  }

  // MARK: Statistics

  /// Counters, with TCP's summed over live and finished connections.
  public var statistics: NetStatistics {
    var result = counters
    var tcp = retiredTCPStatistics
    for connection in connections { tcp.add(connection.statistics) }
    result.tcpSegmentsSent = tcp.segmentsSent
    result.tcpRetransmissions = tcp.retransmissions
    result.tcpFastRetransmits = tcp.fastRetransmits
    result.tcpTimeouts = tcp.timeouts
    result.tcpResetsSent += tcp.resetsSent
    return result
  }

  private func removeFinishedConnections() {
    var changed = false
    connections.removeAll { connection in
      guard connection.state == .closed,
        connection.controlSegments.isEmpty
      else { return false }
      retiredTCPStatistics.add(connection.statistics)
      connection.statistics = TCPConnectionStatistics()
      changed = true
      return true
    }
    guard changed else { return }
    for entry in sockets {
      if case .listener(let listener)? = entry {
        listener.children.removeAll {
          $0.state == .closed && !$0.wasConnected
        }
      }
    }
    socketsChanged()
  }
}

extension TCPConnectionStatistics {
  mutating func add(_ other: TCPConnectionStatistics) {
    segmentsSent += other.segmentsSent
    retransmissions += other.retransmissions
    fastRetransmits += other.fastRetransmits
    timeouts += other.timeouts
    resetsSent += other.resetsSent
  }
}
