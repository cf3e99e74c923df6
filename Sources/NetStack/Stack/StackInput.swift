// The receive path, bottom up: ARP, IPv4 (address filter, checksum,
// reassembly), then ICMP, UDP (sockets and the DHCP client) and TCP
// (connections, listeners, resets for closed ports). Every parse goes
// through a checked view, and anything malformed is counted and dropped:
// nothing a peer sends can make the stack trap.

extension NetworkStack {
  // MARK: ARP

  func arpInput(_ bytes: ArraySlice<UInt8>, now: Instant) {
    let packet: ARPPacket
    do {
      packet = ARPPacket(try ARPView(bytes))
    } catch {
      counters.malformed += 1
      return
    }
    guard let ipv4, !packet.senderProtocolAddress.isUnspecified else {
      counters.ignored += 1
      return
    }
    let forUs = packet.targetProtocolAddress == ipv4.address
    let released = arp.learn(packet.senderProtocolAddress,
                             is: packet.senderHardwareAddress, now: now,
                             create: forUs)
    for var held in released {
      EthernetHeader(destination: packet.senderHardwareAddress,
                     source: hardwareAddress, etherType: .ipv4)
        .write(over: &held)
      transmitQueue.append(held)
    }
    guard forUs, packet.operation == .request else { return }
    let reply = ARPPacket(
      operation: .reply, senderHardwareAddress: hardwareAddress,
      senderProtocolAddress: ipv4.address,
      targetHardwareAddress: packet.senderHardwareAddress,
      targetProtocolAddress: packet.senderProtocolAddress)
    var frame: [UInt8] = []
    EthernetHeader(destination: packet.senderHardwareAddress,
                   source: hardwareAddress, etherType: .arp)
      .emit(into: &frame)
    reply.emit(into: &frame)
    padFrame(&frame)
    transmitQueue.append(frame)
  }

  // MARK: IPv4

  func ipv4Input(_ bytes: ArraySlice<UInt8>, fromLoopback: Bool,
                 now: Instant)
  {
    let view: IPv4View
    do {
      view = try IPv4View(bytes)
    } catch {
      counters.malformed += 1
      return
    }
    // TODO(offload): checksums are always verified here and in UDP and
    // TCP, even for loopback or when virtio-net has validated them.
    guard view.verifyChecksum() else {
      counters.badChecksums += 1
      return
    }
    let source = view.source
    let destination = view.destination
    // RFC 1122 3.2.1.3: loopback addresses never appear on a wire.
    if !fromLoopback && (source.isLoopback || destination.isLoopback) {
      counters.ignored += 1
      return
    }
    // Until DHCP binds, replies may come to the offered address, which
    // is not ours yet; UDP input lets only the client's port through.
    let dhcpListening = dhcp != nil && dhcp?.state != .stopped
      && view.protocolNumber == .udp
    let addressedToUs = isLocal(destination, fromLoopback: fromLoopback)
    guard addressedToUs || dhcpListening else {
      // A host does not forward (RFC 1122 3.3.1.5 forbids silently
      // acting as a gateway).
      counters.ignored += 1
      return
    }

    if view.isFragment {
      guard let (header, payload) = reassembler.insert(view, now: now) else {
        return
      }
      counters.fragmentsReassembled += 1
      var whole: [UInt8] = []
      header.emit(into: &whole)
      whole.append(contentsOf: payload)
      deliver(header, payload: whole[IPv4View.minimumHeaderLength...],
              original: whole[...], addressedToUs: addressedToUs, now: now)
      return
    }
    deliver(IPv4Header(view), payload: view.payload, original: view.bytes,
            addressedToUs: addressedToUs, now: now)
  }

  /// Whether a datagram to `destination` is for this host.
  /// TODO(multicast): no group membership (IGMP), so multicast datagrams
  /// are not received.
  func isLocal(_ destination: IPv4Address, fromLoopback: Bool) -> Bool {
    if fromLoopback { return true }
    if destination.isBroadcast { return true }
    guard let ipv4 else { return false }
    return destination == ipv4.address
      || destination == ipv4.broadcastAddress
  }

  private func deliver(_ header: IPv4Header, payload: ArraySlice<UInt8>,
                       original: ArraySlice<UInt8>, addressedToUs: Bool,
                       now: Instant)
  {
    if header.protocolNumber == .udp {
      udpInput(header, payload, original: original,
               addressedToUs: addressedToUs, now: now)
      return
    }
    guard addressedToUs else { return }
    switch header.protocolNumber {
    case .icmp:
      icmpInput(header, payload, now: now)
    case .tcp:
      tcpInput(header, payload, now: now)
    default:
      counters.ignored += 1
      sendICMPError(.protocolUnreachable, quoting: original, now: now)
    }
  }

  // MARK: ICMP

  private func icmpInput(_ ip: IPv4Header, _ bytes: ArraySlice<UInt8>,
                         now: Instant)
  {
    let message: ICMPMessage
    do {
      message = try ICMPMessage.parse(bytes)
    } catch .badChecksum {
      counters.badChecksums += 1
      return
    } catch {
      counters.malformed += 1
      return
    }
    switch message {
    case .echoRequest(let identifier, let sequence, let data):
      // Like Linux (icmp_echo_ignore_broadcasts), ignore broadcast pings.
      guard !ip.destination.isBroadcast,
        ip.destination != ipv4?.broadcastAddress
      else { return }
      let reply = ICMPMessage.echoReply(identifier: identifier,
                                        sequence: sequence, data: data)
      sendICMP(reply, from: ip.destination, to: ip.source, now: now)
      counters.icmpEchoRepliesSent += 1
    case .echoReply(let identifier, let sequence, let data):
      if echoReplies.count < 64 {
        echoReplies.append(EchoReply(source: ip.source,
                                     identifier: identifier,
                                     sequence: sequence, data: data))
        socketsChanged()
      }
    case .destinationUnreachable(let code, _, let original):
      unreachableInput(code: code, original: original)
    default:
      counters.ignored += 1
    }
  }

  /// A destination-unreachable about something we sent. Port and
  /// protocol unreachable are hard errors (RFC 1122 4.2.3.9): they refuse
  /// a TCP connection still opening, and a connected UDP socket reports
  /// ECONNREFUSED. Other codes are soft and ignored.
  private func unreachableInput(code: UInt8, original: [UInt8]) {
    guard code == UnreachableCode.port
      || code == UnreachableCode.protocolUnreachable,
      let quoted = try? ICMPQuotedDatagram(original[...])
    else { return }
    let local = SocketAddress(quoted.source, quoted.sourcePort)
    let remote = SocketAddress(quoted.destination, quoted.destinationPort)
    switch quoted.protocolNumber {
    case .tcp:
      if let connection = findConnection(local: local, remote: remote),
        connection.state == .synSent || connection.state == .synReceived
      {
        connection.enterClosed(reason: .connectionRefused)
        socketsChanged()
      }
    case .udp:
      for entry in sockets {
        if case .udp(let socket)? = entry, socket.local?.port == local.port,
          socket.remote == remote
        {
          socket.pendingError = .connectionRefused
          socketsChanged()
        }
      }
    default:
      break
    }
  }

  // MARK: UDP

  private func udpInput(_ ip: IPv4Header, _ bytes: ArraySlice<UInt8>,
                        original: ArraySlice<UInt8>, addressedToUs: Bool,
                        now: Instant)
  {
    let header: UDPHeader
    let payload: ArraySlice<UInt8>
    do {
      (header, payload) = try UDPHeader.parse(
        bytes, source: ip.source, destination: ip.destination)
    } catch .badChecksum {
      counters.badChecksums += 1
      return
    } catch {
      counters.malformed += 1
      return
    }
    if header.destinationPort == DHCPView.clientPort, var client = dhcp,
      client.state != .stopped
    {
      dhcpInput(payload, client: &client, now: now)
      dhcp = client
      return
    }
    guard addressedToUs else { return }
    let source = SocketAddress(ip.source, header.sourcePort)
    let destination = SocketAddress(ip.destination, header.destinationPort)
    if let socket = findUDPSocket(source: source, destination: destination) {
      socket.deliver(payload, from: source)
      socketsChanged()
      return
    }
    counters.udpDropped += 1
    sendICMPError(.portUnreachable, quoting: original, now: now)
  }

  /// The socket for a datagram: connected sockets first, then those
  /// bound to the exact address, then wildcard binds.
  func findUDPSocket(source: SocketAddress, destination: SocketAddress)
    -> UDPSocket?
  {
    var best: UDPSocket?
    var bestScore = -1
    for entry in sockets {
      guard case .udp(let socket)? = entry,
        socket.matches(source: source, destination: destination)
      else { continue }
      var score = 0
      if socket.remote != nil { score += 2 }
      if socket.local?.address.isUnspecified == false { score += 1 }
      if score > bestScore {
        best = socket
        bestScore = score
      }
    }
    return best
  }

  private func dhcpInput(_ payload: ArraySlice<UInt8>,
                         client: inout DHCPClient, now: Instant)
  {
    let message: DHCPMessage
    do {
      message = try DHCPMessage.parse(payload)
    } catch {
      counters.malformed += 1
      return
    }
    switch client.receive(message, now: now, random: &random) {
    case .bound(let lease)?:
      let changed = ipv4 != lease.configuration
      ipv4 = lease.configuration
      if changed { arp.removeAll() }
      socketsChanged()
    case .lost?:
      leaseLost()
    case nil:
      break
    }
    needsPoll = true
  }

  // MARK: TCP

  private func tcpInput(_ ip: IPv4Header, _ bytes: ArraySlice<UInt8>,
                        now: Instant)
  {
    let header: TCPHeader
    let payload: ArraySlice<UInt8>
    do {
      (header, payload) = try TCPHeader.parse(
        bytes, source: ip.source, destination: ip.destination)
    } catch .badChecksum {
      counters.badChecksums += 1
      return
    } catch {
      counters.malformed += 1
      return
    }
    // TCP is unicast only (RFC 9293 3.9.1.1).
    guard !ip.destination.isBroadcast, !ip.destination.isMulticast,
      ip.destination != ipv4?.broadcastAddress
    else {
      counters.ignored += 1
      return
    }
    let local = SocketAddress(ip.destination, header.destinationPort)
    let remote = SocketAddress(ip.source, header.sourcePort)

    if let connection = findConnection(local: local, remote: remote) {
      // RFC 9293 3.10.7.4 (and RFC 6191): a new SYN may reuse a
      // connection in TIME-WAIT when its sequence number is past the old
      // connection's.
      let reopening = connection.state == .timeWait
        && header.flags.contains(.syn) && !header.flags.contains(.ack)
        && connection.rcvNxt < header.sequenceNumber
        && findListener(local: local) != nil
      if !reopening {
        connection.handle(header, payload: payload, now: now)
        socketsChanged()
        return
      }
      connection.enterClosed(reason: nil)
      connections.removeAll { $0 === connection }
    }
    if let listener = findListener(local: local) {
      listenerInput(listener, header, local: local, remote: remote, now: now)
      return
    }
    sendReset(answering: header, payloadLength: payload.count,
              local: local, remote: remote, now: now)
  }

  /// TODO(perf): a linear scan; a table keyed by the four-tuple would
  /// serve thousands of connections better.
  func findConnection(local: SocketAddress, remote: SocketAddress)
    -> TCPConnection?
  {
    for connection in connections
    where connection.local == local && connection.remote == remote
      && connection.state != .closed
    {
      return connection
    }
    return nil
  }

  func findListener(local: SocketAddress) -> TCPListener? {
    var wildcard: TCPListener?
    for entry in sockets {
      guard case .listener(let listener)? = entry,
        listener.local.port == local.port
      else { continue }
      if listener.local.address == local.address { return listener }
      if listener.local.address.isUnspecified { wildcard = listener }
    }
    return wildcard
  }

  /// LISTEN (RFC 9293 3.10.7.2): RSTs are ignored, ACKs answered with a
  /// reset, SYNs start a child connection if the backlog has room.
  private func listenerInput(_ listener: TCPListener, _ header: TCPHeader,
                             local: SocketAddress, remote: SocketAddress,
                             now: Instant)
  {
    let flags = header.flags
    if flags.contains(.rst) { return }
    if flags.contains(.ack) {
      sendReset(answering: header, payloadLength: 0, local: local,
                remote: remote, now: now)
      return
    }
    guard flags.contains(.syn) else { return }
    guard listener.children.count < max(listener.backlog, 1) else {
      // Like Linux, drop the SYN: the client retries, and by then the
      // application may have accepted.
      counters.tcpListenOverflows += 1
      return
    }
    let child = TCPConnection(local: local, options: listener.options,
                              configuration: tcpConfiguration)
    child.routeMTU = routeMTU(to: remote.address)
    child.acceptSyn(header, from: remote, iss: makeISS(),
                    timestampOffset: random.next32(), now: now)
    listener.children.append(child)
    connections.append(child)
  }

  func makeISS() -> SequenceNumber {
    SequenceNumber(rawValue: random.next32())
  }
}
