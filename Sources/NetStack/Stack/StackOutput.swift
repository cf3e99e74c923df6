// The send path, top down: connections and datagram sockets produce
// payloads; routing picks loopback, the on-link neighbour, the gateway or
// broadcast (RFC 1122 3.3.1); IPv4 adds its header and fragments what
// exceeds the MTU; Ethernet addressing comes from the ARP cache, or the
// packet waits there while a request goes out.
//
// Every packet is built once, behind 14 bytes of headroom, so adding the
// Ethernet header later never copies the packet.

/// Where a packet goes next.
enum Route: Equatable {
  /// To this host: fed back to input inside the stack.
  case loopback
  /// To an on-link neighbour (the destination or the gateway).
  case link(nextHop: IPv4Address)
  /// To every host on the link.
  case broadcast
  /// To an IPv4 multicast group's Ethernet address (RFC 1112 6.4).
  case multicast(MACAddress)
}

/// The ICMP errors the stack generates.
enum ICMPErrorKind {
  case portUnreachable
  case protocolUnreachable
  case reassemblyTimeExceeded
}

extension NetworkStack {
  // MARK: Routing

  func route(to destination: IPv4Address) -> Route? {
    if destination.isLoopback || destination == ipv4?.address {
      return .loopback
    }
    guard let ipv4 else { return nil }
    if destination.isBroadcast || destination == ipv4.broadcastAddress {
      return .broadcast
    }
    if destination.isMulticast {
      return .multicast(MACAddress(
        rawValue: 0x0100_5E00_0000 | UInt64(destination.rawValue & 0x7F_FFFF)))
    }
    if destination.isUnspecified { return nil }
    if ipv4.isOnLink(destination) { return .link(nextHop: destination) }
    if let gateway = ipv4.gateway { return .link(nextHop: gateway) }
    return nil
  }

  /// The source address for traffic to `destination` (RFC 1122 3.3.4.3:
  /// the address of the interface the route uses).
  func sourceAddress(for destination: IPv4Address) -> IPv4Address? {
    if destination.isLoopback { return .loopback }
    return ipv4?.address
  }

  func routeMTU(to destination: IPv4Address) -> Int {
    route(to: destination) == .loopback ? NetworkStack.loopbackMTU : mtu
  }

  // MARK: IPv4 output

  /// A packet with headroom and an IPv4 header for `payloadLength` bytes
  /// that the caller appends.
  func startPacket(_ header: inout IPv4Header, payloadLength: Int)
    -> [UInt8]
  {
    header.payloadLength = payloadLength
    header.identification = nextIdentification
    nextIdentification &+= 1
    var packet: [UInt8] = []
    packet.reserveCapacity(EthernetView.headerLength + 20 + payloadLength)
    packet.appendZeros(EthernetView.headerLength)
    header.emit(into: &packet)
    return packet
  }

  /// Sends a finished packet along `route`, fragmenting on the link.
  func transmit(_ packet: [UInt8], header: IPv4Header, route: Route,
                now: Instant)
  {
    if route == .loopback {
      loopbackQueue.append(packet)
      return
    }
    let ipLength = packet.count - EthernetView.headerLength
    if ipLength > mtu && !header.dontFragment {
      fragment(packet, header: header, route: route, now: now)
      return
    }
    guard ipLength <= mtu else { return }
    sendOnLink(packet, route: route, now: now)
  }

  /// RFC 791 3.2: cuts the payload at multiples of 8 bytes, each piece
  /// with a copy of the header, More Fragments set on all but the last.
  private func fragment(_ packet: [UInt8], header: IPv4Header, route: Route,
                        now: Instant)
  {
    let payloadStart = EthernetView.headerLength + 20
    let payload = packet[payloadStart...]
    let piece = (mtu - 20) & ~7
    var offset = 0
    while offset < payload.count {
      let length = min(piece, payload.count - offset)
      var part = header
      part.fragmentOffset = offset
      part.moreFragments = offset + length < payload.count
      part.payloadLength = length
      var fragment: [UInt8] = []
      fragment.reserveCapacity(payloadStart + length)
      fragment.appendZeros(EthernetView.headerLength)
      part.emit(into: &fragment)
      let from = payload.startIndex + offset
      fragment.append(contentsOf: payload[from..<(from + length)])
      sendOnLink(fragment, route: route, now: now)
      offset += length
    }
  }

  private func sendOnLink(_ packet: [UInt8], route: Route, now: Instant) {
    var frame = packet
    switch route {
    case .loopback:
      return
    case .broadcast:
      addEthernetHeader(to: &frame, destination: .broadcast)
    case .multicast(let group):
      addEthernetHeader(to: &frame, destination: group)
    case .link(let nextHop):
      if let neighbour = arp.lookup(nextHop, now: now) {
        addEthernetHeader(to: &frame, destination: neighbour)
      } else {
        if arp.hold(packet, for: nextHop, now: now) {
          sendARPRequest(for: nextHop)
        }
        return
      }
    }
    transmitQueue.append(frame)
  }

  private func addEthernetHeader(to frame: inout [UInt8],
                                 destination: MACAddress)
  {
    EthernetHeader(destination: destination, source: hardwareAddress,
                   etherType: .ipv4).write(over: &frame)
  }

  func padFrame(_ frame: inout [UInt8]) {
    if frame.count < EthernetView.minimumFrameLength {
      frame.appendZeros(EthernetView.minimumFrameLength - frame.count)
    }
  }

  func sendARPRequest(for address: IPv4Address) {
    guard let ipv4 else { return }
    let request = ARPPacket(
      operation: .request, senderHardwareAddress: hardwareAddress,
      senderProtocolAddress: ipv4.address, targetHardwareAddress: .zero,
      targetProtocolAddress: address)
    var frame: [UInt8] = []
    EthernetHeader(destination: .broadcast, source: hardwareAddress,
                   etherType: .arp).emit(into: &frame)
    request.emit(into: &frame)
    padFrame(&frame)
    transmitQueue.append(frame)
    counters.arpRequestsSent += 1
  }

  // MARK: ICMP output

  func sendICMP(_ message: ICMPMessage, from source: IPv4Address,
                to destination: IPv4Address, now: Instant)
  {
    guard let route = route(to: destination) else { return }
    var header = IPv4Header(source: source, destination: destination,
                            protocolNumber: .icmp, payloadLength: 0)
    var packet = startPacket(&header, payloadLength: message.encodedLength)
    message.emit(into: &packet)
    transmit(packet, header: header, route: route, now: now)
  }

  /// An ICMP error about `original` (its IP header and payload), unless
  /// RFC 1122 3.2.2 forbids one: never about an ICMP error, a broadcast or
  /// multicast, a later fragment, or a source that is not one host.
  func sendICMPError(_ kind: ICMPErrorKind, quoting original: ArraySlice<UInt8>,
                     now: Instant)
  {
    guard let view = try? IPv4View(original) else {
      // The reassembly timeout quotes a cut-off first fragment.
      guard let quoted = try? ICMPQuotedDatagram(original) else { return }
      sendICMPError(kind, source: quoted.destination,
                    destination: quoted.source, isICMPError: false,
                    isLaterFragment: false, quote: original, now: now)
      return
    }
    var isICMPError = false
    if view.protocolNumber == .icmp, let type = view.payload.first {
      isICMPError = [3, 4, 5, 11, 12].contains(type)
    }
    sendICMPError(kind, source: view.destination, destination: view.source,
                  isICMPError: isICMPError,
                  isLaterFragment: view.fragmentOffset != 0,
                  quote: original, now: now)
  }

  private func sendICMPError(_ kind: ICMPErrorKind, source: IPv4Address,
                             destination: IPv4Address, isICMPError: Bool,
                             isLaterFragment: Bool,
                             quote: ArraySlice<UInt8>, now: Instant)
  {
    guard !isICMPError, !isLaterFragment,
      !source.isBroadcast, !source.isMulticast,
      source != ipv4?.broadcastAddress,
      !destination.isUnspecified, !destination.isBroadcast,
      !destination.isMulticast, destination != ipv4?.broadcastAddress
    else { return }
    // RFC 1812 4.3.2.3: quote as much as fits in 576 bytes.
    let original = Array(quote.prefix(576 - 28))
    let message: ICMPMessage
    switch kind {
    case .portUnreachable:
      message = .destinationUnreachable(code: UnreachableCode.port,
                                        nextHopMTU: 0, original: original)
    case .protocolUnreachable:
      message = .destinationUnreachable(
        code: UnreachableCode.protocolUnreachable, nextHopMTU: 0,
        original: original)
    case .reassemblyTimeExceeded:
      message = .timeExceeded(code: 1, original: original)
    }
    // TODO(icmp): no rate limit on errors (RFC 1812 4.3.2.8).
    sendICMP(message, from: source, to: destination, now: now)
    counters.icmpErrorsSent += 1
  }

  // MARK: TCP output

  func sendTCP(_ segment: TCPHeader, payload: [UInt8],
               from source: IPv4Address, to destination: IPv4Address,
               timeToLive: UInt8, typeOfService: UInt8, now: Instant)
  {
    guard let route = route(to: destination) else { return }
    // TODO(pmtu): without path MTU discovery (RFC 1191) DF stays clear,
    // so routers may fragment rather than drop oversized segments.
    var header = IPv4Header(source: source, destination: destination,
                            protocolNumber: .tcp, payloadLength: 0,
                            timeToLive: timeToLive,
                            typeOfService: typeOfService)
    var packet = startPacket(&header,
                             payloadLength: segment.headerLength
                               + payload.count)
    segment.emit(into: &packet, payload: payload[...], source: source,
                 destination: destination)
    transmit(packet, header: header, route: route, now: now)
  }

  /// RFC 9293 3.10.7.1: the reset a closed port sends. If the segment
  /// had an ACK, the reset takes its sequence number from it; otherwise
  /// it acknowledges everything the segment occupied.
  func sendReset(answering header: TCPHeader, payloadLength: Int,
                 local: SocketAddress, remote: SocketAddress, now: Instant)
  {
    let flags = header.flags
    guard !flags.contains(.rst), !remote.address.isUnspecified,
      !remote.address.isBroadcast, !remote.address.isMulticast
    else { return }
    var reply: TCPHeader
    if flags.contains(.ack) {
      reply = TCPHeader(sourcePort: local.port, destinationPort: remote.port,
                        sequenceNumber: header.acknowledgmentNumber,
                        flags: .rst)
    } else {
      let length = payloadLength + (flags.contains(.syn) ? 1 : 0)
        + (flags.contains(.fin) ? 1 : 0)
      reply = TCPHeader(sourcePort: local.port, destinationPort: remote.port,
                        sequenceNumber: SequenceNumber(rawValue: 0),
                        acknowledgmentNumber: header.sequenceNumber + length,
                        flags: [.rst, .ack])
    }
    sendTCP(reply, payload: [], from: local.address, to: remote.address,
            timeToLive: 64, typeOfService: 0, now: now)
    counters.tcpResetsSent += 1
  }

  func dispatchConnections(now: Instant) {
    var segments: [TCPOutgoingSegment] = []
    for connection in connections {
      let before = connection.state
      segments.removeAll(keepingCapacity: true)
      connection.dispatch(now: now, into: &segments)
      if connection.state != before { socketsChanged() }
      for segment in segments {
        sendTCP(segment.header, payload: segment.payload,
                from: connection.local.address,
                to: connection.remote.address,
                timeToLive: connection.options.timeToLive,
                typeOfService: connection.options.typeOfService, now: now)
      }
    }
  }

  // MARK: UDP output

  func flushDatagrams(now: Instant) {
    for entry in sockets {
      guard case .udp(let socket)? = entry, !socket.outgoing.isEmpty,
        let local = socket.local
      else { continue }
      for datagram in socket.takeOutgoing() {
        if !sendUDP(datagram.data, from: local, to: datagram.address,
                    options: socket.options, now: now)
        {
          socket.pendingError = .networkUnreachable
        }
      }
      socketsChanged()
    }
  }

  @discardableResult
  func sendUDP(_ data: [UInt8], from local: SocketAddress,
               to destination: SocketAddress, options: SocketOptions,
               now: Instant) -> Bool
  {
    guard let route = route(to: destination.address),
      let source = local.address.isUnspecified
        ? sourceAddress(for: destination.address) : local.address
    else { return false }
    var header = IPv4Header(source: source,
                            destination: destination.address,
                            protocolNumber: .udp, payloadLength: 0,
                            timeToLive: options.timeToLive,
                            typeOfService: options.typeOfService)
    var packet = startPacket(&header,
                             payloadLength: UDPView.headerLength + data.count)
    UDPHeader(sourcePort: local.port, destinationPort: destination.port)
      .emit(into: &packet, payload: data[...], source: source,
            destination: destination.address)
    transmit(packet, header: header, route: route, now: now)
    return true
  }

  // MARK: DHCP output

  /// DHCP traffic before an address is bound goes from 0.0.0.0 to the
  /// limited broadcast address (RFC 2131 4.1); renewals are unicast to
  /// the server from the leased address.
  func sendDHCP(_ message: DHCPMessage, to destination: DHCPClient.Destination,
                now: Instant)
  {
    var payload: [UInt8] = []
    message.emit(into: &payload)
    let client = SocketAddress(message.clientAddress, DHCPView.clientPort)
    switch destination {
    case .server(let server):
      sendUDP(payload, from: client,
              to: SocketAddress(server, DHCPView.serverPort),
              options: socketDefaults, now: now)
    case .broadcast:
      var header = IPv4Header(source: message.clientAddress,
                              destination: .broadcast,
                              protocolNumber: .udp, payloadLength: 0)
      var packet = startPacket(
        &header, payloadLength: UDPView.headerLength + payload.count)
      UDPHeader(sourcePort: DHCPView.clientPort,
                destinationPort: DHCPView.serverPort)
        .emit(into: &packet, payload: payload[...],
              source: message.clientAddress, destination: .broadcast)
      sendOnLink(packet, route: .broadcast, now: now)
    }
  }
}
