// Tests of the NetStack module, in the layers it is built in: byte-level
// round trips of each wire format against literal packets (their
// checksums computed by a separate implementation), refusals of malformed
// input and a seeded fuzz of every parser and of the whole receive path;
// then protocol behaviour on a simulated Ethernet segment between stacks,
// driven by a virtual clock, with loss, reordering, duplication and delay
// under the test's control.

import NetStack
import XCTest

/// Real packets, written out byte by byte.
enum Packets {
  /// "Who has 10.0.2.2? Tell 10.0.2.15", padded to 60 bytes.
  static let arpRequest: [UInt8] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
    0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x54,
    0x00, 0x12, 0x34, 0x56, 0x0a, 0x00, 0x02, 0x0f, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x0a, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  ]

  /// A SYN from 10.0.2.15:40000 to 93.184.216.34:80 with Linux's option
  /// layout: MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
  static let tcpSyn: [UInt8] = [
    0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x00, 0x00, 0x40, 0x06,
    0x1c, 0x8d, 0x0a, 0x00, 0x02, 0x0f, 0x5d, 0xb8, 0xd8, 0x22, 0x9c, 0x40,
    0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
    0xfa, 0xf0, 0x01, 0xe3, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02,
    0x08, 0x0a, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03,
    0x03, 0x07,
  ]

  /// An echo request from 10.0.2.2 to 10.0.2.15, id 0x1234, seq 1.
  static let icmpEcho: [UInt8] = [
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x24, 0x00, 0x07, 0x00, 0x00, 0x40, 0x01,
    0x62, 0xc2, 0x0a, 0x00, 0x02, 0x02, 0x0a, 0x00, 0x02, 0x0f, 0x08, 0x00,
    0x54, 0x35, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
    0x67, 0x68,
  ]

  /// UDP from 10.0.2.15:5353 to 10.0.2.3:53 carrying "hello villa".
  static let udpDatagram: [UInt8] = [
    0x14, 0xe9, 0x00, 0x35, 0x00, 0x13, 0x4a, 0xd0, 0x68, 0x65, 0x6c, 0x6c,
    0x6f, 0x20, 0x76, 0x69, 0x6c, 0x6c, 0x61,
  ]

  /// A DHCP offer of 10.0.2.15 from server 10.0.2.2, padded to 300
  /// bytes.
  static let dhcpOffer: [UInt8] = [
    0x02, 0x01, 0x06, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x02, 0x0f, 0x0a, 0x00, 0x02, 0x02,
    0x00, 0x00, 0x00, 0x00, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x82, 0x53, 0x63,
    0x35, 0x01, 0x02, 0x36, 0x04, 0x0a, 0x00, 0x02, 0x02, 0x33, 0x04, 0x00,
    0x01, 0x51, 0x80, 0x01, 0x04, 0xff, 0xff, 0xff, 0x00, 0x03, 0x04, 0x0a,
    0x00, 0x02, 0x02, 0x06, 0x04, 0x0a, 0x00, 0x02, 0x03, 0xff, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  ]

  /// The IPv4 header of RFC 1071-style textbook fame: 192.168.0.1 to
  /// 192.168.0.199, UDP, checksum 0xb861.
  static let textbookIPv4Header: [UInt8] = [
    0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61,
    0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
  ]
}

final class NetStackWireTests: XCTestCase {
  let guestMAC = MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56)
  let gatewayMAC = MACAddress(0x52, 0x55, 0x0a, 0x00, 0x02, 0x02)
  let guest = IPv4Address(10, 0, 2, 15)
  let gateway = IPv4Address(10, 0, 2, 2)

  func testARPRequestRoundTrip() throws {
    let frame = try EthernetView(Packets.arpRequest[...])
    XCTAssertEqual(frame.destination, .broadcast)
    XCTAssertEqual(frame.source, guestMAC)
    XCTAssertEqual(frame.etherType, .arp)
    let packet = ARPPacket(try ARPView(frame.payload))
    XCTAssertEqual(packet.operation, .request)
    XCTAssertEqual(packet.senderHardwareAddress, guestMAC)
    XCTAssertEqual(packet.senderProtocolAddress, guest)
    XCTAssertEqual(packet.targetHardwareAddress, .zero)
    XCTAssertEqual(packet.targetProtocolAddress, gateway)

    var rebuilt = [UInt8](repeating: 0, count: 14)
    packet.emit(into: &rebuilt)
    EthernetHeader(frame).write(over: &rebuilt)
    XCTAssertEqual(rebuilt, Packets.arpRequest)
  }

  func testTextbookIPv4HeaderChecksum() throws {
    var bytes = Packets.textbookIPv4Header
    bytes.append(contentsOf: [UInt8](repeating: 0xAB, count: 0x73 - 20))
    let view = try IPv4View(bytes[...])
    XCTAssertTrue(view.verifyChecksum())
    XCTAssertEqual(view.checksum, 0xB861)
    XCTAssertTrue(view.dontFragment)
    XCTAssertEqual(view.protocolNumber, .udp)
    XCTAssertEqual(view.source, IPv4Address(192, 168, 0, 1))
    XCTAssertEqual(view.destination, IPv4Address(192, 168, 0, 199))
    var emitted: [UInt8] = []
    IPv4Header(view).emit(into: &emitted)
    XCTAssertEqual(emitted, Packets.textbookIPv4Header)
    // One flipped bit must fail verification.
    bytes[15] ^= 0x10
    XCTAssertFalse(try IPv4View(bytes[...]).verifyChecksum())
  }

  func testIPv4OptionsAreSkipped() throws {
    // IHL 6: four bytes of options (three NOPs and an end of list).
    var packet: [UInt8] = [0x46, 0, 0, UInt8(24 + 19), 0, 1, 0, 0, 64, 17,
                           0, 0, 10, 0, 2, 15, 10, 0, 2, 3, 1, 1, 1, 0]
    let sum = InternetChecksum.checksum(packet[...])
    packet[10] = UInt8(sum >> 8)
    packet[11] = UInt8(sum & 0xFF)
    packet.append(contentsOf: Packets.udpDatagram)
    packet.append(contentsOf: [0xEE, 0xEE])  // link padding
    let (header, payload) = try IPv4Header.parse(packet[...])
    XCTAssertEqual(header.payloadLength, Packets.udpDatagram.count)
    XCTAssertEqual(Array(payload), Packets.udpDatagram)
    XCTAssertNoThrow(try UDPHeader.parse(payload, source: guest,
                                         destination: IPv4Address(10, 0, 2, 3)))
  }

  func testTCPSynWithOptionsRoundTrip() throws {
    let frame = try EthernetView(Packets.tcpSyn[...])
    XCTAssertEqual(frame.etherType, .ipv4)
    let (ip, segmentBytes) = try IPv4Header.parse(frame.payload)
    XCTAssertEqual(ip.source, guest)
    XCTAssertEqual(ip.destination, IPv4Address(93, 184, 216, 34))
    XCTAssertEqual(ip.identification, 0x1C46)
    XCTAssertEqual(ip.protocolNumber, .tcp)
    let (tcp, payload) = try TCPHeader.parse(
      segmentBytes, source: ip.source, destination: ip.destination)
    XCTAssertTrue(payload.isEmpty)
    XCTAssertEqual(tcp.sourcePort, 40000)
    XCTAssertEqual(tcp.destinationPort, 80)
    XCTAssertEqual(tcp.sequenceNumber.rawValue, 0x1234_5678)
    XCTAssertEqual(tcp.flags, .syn)
    XCTAssertEqual(tcp.window, 64240)
    XCTAssertEqual(tcp.options.maximumSegmentSize, 1460)
    XCTAssertEqual(tcp.options.windowScale, 7)
    XCTAssertTrue(tcp.options.sackPermitted)
    XCTAssertEqual(tcp.options.timestamps,
                   TCPTimestamps(value: 0x0102_0304, echoReply: 0))
    XCTAssertEqual(tcp.headerLength, 40)

    var rebuilt = [UInt8](repeating: 0, count: 14)
    var header = ip
    header.payloadLength = tcp.headerLength
    header.emit(into: &rebuilt)
    tcp.emit(into: &rebuilt, payload: [], source: ip.source,
             destination: ip.destination)
    EthernetHeader(frame).write(over: &rebuilt)
    XCTAssertEqual(rebuilt, Packets.tcpSyn)

    // A corrupted segment fails its checksum.
    var bad = Array(segmentBytes)
    bad[bad.count - 1] ^= 1
    XCTAssertThrowsError(try TCPHeader.parse(
      bad[...], source: ip.source, destination: ip.destination))
  }

  func testTCPOptionsWithSACKBlocksFitAndRoundTrip() throws {
    func block(_ left: UInt32, _ right: UInt32) -> SACKBlock {
      SACKBlock(left: SequenceNumber(rawValue: left),
                right: SequenceNumber(rawValue: right))
    }
    let blocks = [block(100, 200), block(300, 400), block(500, 600),
                  block(700, 800)]
    // Timestamps leave room for three blocks; without them, four.
    var options = TCPOptions(sackBlocks: blocks,
                             timestamps: TCPTimestamps(value: 7,
                                                       echoReply: 9))
    var bytes: [UInt8] = []
    options.emit(into: &bytes)
    XCTAssertEqual(bytes.count, options.encodedLength)
    XCTAssertEqual(bytes.count, 12 + 4 + 24)
    var parsed = TCPOptions(parsing: bytes[...])
    XCTAssertEqual(parsed.sackBlocks, Array(blocks.prefix(3)))
    XCTAssertEqual(parsed.timestamps, options.timestamps)

    options.timestamps = nil
    bytes.removeAll()
    options.emit(into: &bytes)
    XCTAssertEqual(bytes.count, 36)
    parsed = TCPOptions(parsing: bytes[...])
    XCTAssertEqual(parsed.sackBlocks, blocks)

    // A whole segment with data, through emit and parse.
    let header = TCPHeader(
      sourcePort: 1, destinationPort: 2,
      sequenceNumber: SequenceNumber(rawValue: 0xFFFF_FFF0),
      acknowledgmentNumber: SequenceNumber(rawValue: 5),
      flags: [.ack, .psh, .fin], window: 1234, urgentPointer: 0,
      options: TCPOptions(sackBlocks: [block(1, 2)],
                          timestamps: TCPTimestamps(value: 1, echoReply: 2)))
    var segment: [UInt8] = []
    header.emit(into: &segment, payload: [9, 8, 7], source: guest,
                destination: gateway)
    XCTAssertEqual(segment.count % 4, 3)
    let (back, payload) = try TCPHeader.parse(segment[...], source: guest,
                                              destination: gateway)
    XCTAssertEqual(back, header)
    XCTAssertEqual(Array(payload), [9, 8, 7])
  }

  func testTCPOptionWalkStopsAtBadLength() {
    // MSS, then an option claiming 40 bytes in a 6-byte list.
    let bytes: [UInt8] = [2, 4, 0x05, 0xB4, 8, 40]
    let parsed = TCPOptions(parsing: bytes[...])
    XCTAssertEqual(parsed.maximumSegmentSize, 1460)
    XCTAssertNil(parsed.timestamps)
    // A zero length would loop forever if believed.
    XCTAssertEqual(TCPOptions(parsing: [3, 0, 3, 0][...]),
                   TCPOptions())
  }

  func testICMPEchoRoundTrip() throws {
    let frame = try EthernetView(Packets.icmpEcho[...])
    let (ip, body) = try IPv4Header.parse(frame.payload)
    XCTAssertEqual(ip.protocolNumber, .icmp)
    let message = try ICMPMessage.parse(body)
    XCTAssertEqual(message, .echoRequest(identifier: 0x1234, sequence: 1,
                                         data: Array("abcdefgh".utf8)))
    var emitted: [UInt8] = []
    message.emit(into: &emitted)
    XCTAssertEqual(emitted, Array(body))
  }

  func testUDPRoundTrip() throws {
    let dns = IPv4Address(10, 0, 2, 3)
    let (header, payload) = try UDPHeader.parse(
      Packets.udpDatagram[...], source: guest, destination: dns)
    XCTAssertEqual(header, UDPHeader(sourcePort: 5353, destinationPort: 53))
    XCTAssertEqual(Array(payload), Array("hello villa".utf8))
    var emitted: [UInt8] = []
    header.emit(into: &emitted, payload: payload, source: guest,
                destination: dns)
    XCTAssertEqual(emitted, Packets.udpDatagram)
    // The pseudo-header binds the datagram to its addresses.
    XCTAssertThrowsError(try UDPHeader.parse(
      Packets.udpDatagram[...], source: guest, destination: gateway))
  }

  func testDHCPOfferRoundTrip() throws {
    let offer = try DHCPMessage.parse(Packets.dhcpOffer[...])
    XCTAssertEqual(offer.operation, DHCPMessage.bootReply)
    XCTAssertEqual(offer.transactionID, 0xDEAD_BEEF)
    XCTAssertEqual(offer.messageType, .offer)
    XCTAssertEqual(offer.yourAddress, guest)
    XCTAssertEqual(offer.serverAddress, gateway)
    XCTAssertEqual(offer.clientHardwareAddress, guestMAC)
    XCTAssertEqual(offer.serverIdentifier, gateway)
    XCTAssertEqual(offer.leaseTime, 86400)
    XCTAssertEqual(offer.subnetMask, IPv4Address(255, 255, 255, 0))
    XCTAssertEqual(offer.routers, [gateway])
    XCTAssertEqual(offer.dnsServers, [IPv4Address(10, 0, 2, 3)])
    var emitted: [UInt8] = []
    offer.emit(into: &emitted)
    XCTAssertEqual(emitted, Packets.dhcpOffer)
  }

  func testChecksumInPiecesAndOddLengths() {
    let data: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05]
    // Computed by hand: 0x0102 + 0x0304 + 0x0500 = 0x0906.
    XCTAssertEqual(InternetChecksum.checksum(data[...]), ~UInt16(0x0906))
    // Pieces of even length followed by one odd tail sum the same.
    let pieces = InternetChecksum.add(
      data[2...], to: InternetChecksum.add(data[..<2]))
    XCTAssertEqual(InternetChecksum.finish(pieces), ~UInt16(0x0906))
    // A buffer that includes its own checksum sums to zero.
    var packet: [UInt8] = [0x45, 0x00, 0x12, 0x34, 0, 0, 0xAB, 0xCD]
    let sum = InternetChecksum.checksum(packet[...])
    packet[4] = UInt8(sum >> 8)
    packet[5] = UInt8(sum & 0xFF)
    XCTAssertEqual(InternetChecksum.checksum(packet[...]), 0)
  }

  func testMalformedHeadersAreRefusedWithReasons() {
    func refusal(_ parse: () throws -> Void) -> WireError? {
      do {
        try parse()
        return nil
      } catch {
        return error as? WireError
      }
    }
    XCTAssertEqual(refusal { _ = try EthernetView([1, 2, 3][...]) },
                   .truncated)
    var ip = Packets.textbookIPv4Header
    XCTAssertEqual(refusal { _ = try IPv4View(ip[...]) }, .truncated,
                   "total length 0x73 exceeds 20 bytes")
    ip[0] = 0x44
    XCTAssertEqual(refusal { _ = try IPv4View(ip[...]) }, .badLength)
    ip[0] = 0x65
    XCTAssertEqual(refusal { _ = try IPv4View(ip[...]) }, .unsupported)
    ip[0] = 0x45
    ip[2] = 0
    ip[3] = 10
    XCTAssertEqual(refusal { _ = try IPv4View(ip[...]) }, .badLength)

    var udp = Packets.udpDatagram
    udp[5] = 4
    XCTAssertEqual(refusal { _ = try UDPView(udp[...]) }, .badLength)
    udp[5] = 200
    XCTAssertEqual(refusal { _ = try UDPView(udp[...]) }, .truncated)

    var tcp = [UInt8](repeating: 0, count: 20)
    tcp[12] = 0x40
    XCTAssertEqual(refusal { _ = try TCPView(tcp[...]) }, .badLength)
    tcp[12] = 0xF0
    XCTAssertEqual(refusal { _ = try TCPView(tcp[...]) }, .truncated)

    var dhcp = Packets.dhcpOffer
    // The router option (kind 3) says 4 bytes; make it claim 3.
    let routerIndex = 240 + 3 + 6 + 6 + 6
    XCTAssertEqual(dhcp[routerIndex], 3)
    dhcp[routerIndex + 1] = 3
    XCTAssertEqual(refusal { _ = try DHCPMessage.parse(dhcp[...]) },
                   .badOption)
    dhcp = Packets.dhcpOffer
    dhcp[236] = 0
    XCTAssertEqual(refusal { _ = try DHCPMessage.parse(dhcp[...]) },
                   .unsupported)
  }

  /// Thousands of random and mutated packets through every parser and
  /// through a running stack. Success is not trapping; the stack must
  /// also still work afterwards.
  func testFuzzedInputNeverTraps() throws {
    var random = TestRandom(seed: 0xF022)
    let seeds = [Packets.arpRequest, Packets.tcpSyn, Packets.icmpEcho,
                 Packets.dhcpOffer]
    let stack = NetworkStack(configuration: StackConfiguration(
      interface: InterfaceConfiguration(
        hardwareAddress: guestMAC,
        ipv4: IPv4Configuration(address: guest, prefixLength: 24,
                                gateway: gateway))))
    let listener = try stack.tcpListen(port: 80, backlog: 8)
    let udp = try stack.openUDP()
    try stack.bind(udp, to: SocketAddress(.any, 53))
    var time: UInt64 = 0

    for round in 0..<6000 {
      var bytes: [UInt8]
      if round % 3 == 0 {
        bytes = (0..<random.below(120)).map { _ in random.byte() }
      } else {
        bytes = seeds[random.below(seeds.count)]
        for _ in 0..<(1 + random.below(6)) {
          let index = random.below(bytes.count)
          bytes[index] = random.byte()
        }
        if random.below(4) == 0 {
          bytes.removeLast(random.below(bytes.count))
        }
      }
      // Every view over every offset of the bytes.
      let slice = bytes[...]
      _ = try? EthernetView(slice).payload
      _ = try? ARPPacket(ARPView(slice))
      _ = try? IPv4Header.parse(slice)
      _ = try? IPv4View(slice).payload
      _ = try? ICMPMessage.parse(slice)
      _ = try? ICMPQuotedDatagram(slice).destinationPort
      _ = try? UDPHeader.parse(slice, source: guest, destination: gateway)
      _ = try? TCPView(slice).options
      _ = try? DHCPMessage.parse(slice)
      _ = TCPOptions(parsing: slice)
      if bytes.count > 14 {
        let inner = bytes[14...]
        _ = try? IPv4Header.parse(inner)
        _ = try? TCPHeader.parse(inner, source: guest, destination: gateway)
      }
      // And the whole receive path, addressed to the stack so the frames
      // get past the MAC filter.
      var frame = bytes
      if frame.count >= 6 {
        for (i, byte) in guestMAC.bytes.enumerated() { frame[i] = byte }
      }
      time += 7
      stack.receive(frame: frame, now: Instant(milliseconds: time))
      _ = stack.poll(now: Instant(milliseconds: time))
    }
    let statistics = stack.statistics
    XCTAssertGreaterThan(statistics.malformed + statistics.badChecksums,
                         1000)

    // Still alive: once the gateway's address is known, the literal echo
    // request gets its reply.
    var arpReply = [UInt8](repeating: 0, count: 14)
    ARPPacket(operation: .reply, senderHardwareAddress: gatewayMAC,
              senderProtocolAddress: gateway,
              targetHardwareAddress: guestMAC, targetProtocolAddress: guest)
      .emit(into: &arpReply)
    EthernetHeader(destination: guestMAC, source: gatewayMAC,
                   etherType: .arp).write(over: &arpReply)
    let later = Instant(milliseconds: time + 1)
    stack.receive(frame: arpReply, now: later)
    _ = stack.poll(now: later)
    stack.receive(frame: Packets.icmpEcho, now: later)
    let replies = stack.poll(now: later).compactMap { frame -> ICMPMessage? in
      guard let ethernet = try? EthernetView(frame[...]),
        ethernet.destination == gatewayMAC,
        let (ip, body) = try? IPv4Header.parse(ethernet.payload),
        ip.protocolNumber == .icmp, ip.destination == gateway
      else { return nil }
      return try? ICMPMessage.parse(body)
    }
    XCTAssertEqual(replies, [.echoReply(identifier: 0x1234, sequence: 1,
                                        data: Array("abcdefgh".utf8))])
    try stack.close(listener)
    try stack.close(udp)
  }
}

// MARK: - TCP

final class NetStackTCPTests: XCTestCase {
  let addressA = IPv4Address(10, 0, 0, 1)
  let addressB = IPv4Address(10, 0, 0, 2)

  /// The error a socket call throws, or nil.
  func failure<T>(_ call: () throws -> T) -> NetError? {
    do {
      _ = try call()
      return nil
    } catch {
      return error as? NetError
    }
  }

  /// A listening on nothing, B on `port`; returns A's connected socket
  /// and B's accepted one.
  func connect(_ link: SimulatedLink, _ a: NetworkStack, _ b: NetworkStack,
               port: UInt16 = 80) throws
    -> (client: SocketHandle, server: SocketHandle)
  {
    let listener = try b.tcpListen(port: port, backlog: 8)
    let client = try a.tcpConnect(address: addressB, port: port)
    var server: SocketHandle?
    let connected = link.run(for: 5_000, step: {
      if server == nil { server = try? b.tcpAccept(listener) }
    }) {
      server != nil && (try? a.tcpState(client)) == .established
    }
    XCTAssertTrue(connected, "handshake did not finish")
    try b.close(listener)
    return (client, try XCTUnwrap(server))
  }

  func makePair(tcp: TCPConfiguration = TCPConfiguration(),
                defaultsA: SocketOptions = SocketOptions(),
                defaultsB: SocketOptions = SocketOptions(),
                seed: UInt64 = 1)
    -> (SimulatedLink, NetworkStack, NetworkStack)
  {
    let link = SimulatedLink(seed: seed)
    let a = makeStack(1, tcp: tcp, defaults: defaultsA)
    let b = makeStack(2, tcp: tcp, defaults: defaultsB)
    link.add(a)
    link.add(b)
    return (link, a, b)
  }

  /// A closed socket's last data and FIN count as closing until the
  /// peer acknowledges them (what the kernel waits for before it stops).
  func testClosingConnectionsUntilTheFINIsAcknowledged() throws {
    let (link, a, b) = makePair()
    link.delay = 20
    let (client, server) = try connect(link, a, b)
    XCTAssertEqual(a.closingConnections, 0)
    let data = randomBytes(seed: 9, count: 100_000)
    XCTAssertEqual(try a.send(client, data), data.count)
    try a.close(client)
    XCTAssertEqual(a.closingConnections, 1)
    var received: [UInt8] = []
    XCTAssertTrue(link.run(for: 10_000, step: {
      b.drain(server, into: &received)
    }) { a.closingConnections == 0 })
    XCTAssertEqual(received, data)
    XCTAssertEqual(b.closingConnections, 0)
  }

  func testHandshakeDataBothWaysAndGracefulClose() throws {
    var tcp = TCPConfiguration()
    tcp.timeWaitDuration = 5_000
    let (link, a, b) = makePair(tcp: tcp)
    link.delay = 5
    let listener = try b.tcpListen(port: 80, backlog: 4)
    let client = try a.tcpConnect(address: addressB, port: 80)
    XCTAssertEqual(try a.tcpState(client), .synSent)
    XCTAssertFalse(try a.readiness(client).contains(.writable))
    var accepted: SocketHandle?
    XCTAssertTrue(link.run(for: 1_000, step: {
      if accepted == nil { accepted = try? b.tcpAccept(listener) }
    }) { accepted != nil && (try? a.tcpState(client)) == .established })
    let server = try XCTUnwrap(accepted)
    XCTAssertTrue(try a.readiness(client).contains([.connected, .writable]))
    XCTAssertEqual(try a.peerAddress(client), SocketAddress(addressB, 80))
    XCTAssertEqual(try b.peerAddress(server), try a.localAddress(client))
    XCTAssertEqual(try b.localAddress(server), SocketAddress(addressB, 80))
    XCTAssertEqual(failure { try b.tcpAccept(listener) }, .wouldBlock)

    // Data both ways.
    XCTAssertEqual(try a.send(client, Array("hello".utf8)), 5)
    XCTAssertEqual(try b.send(server, Array("world!".utf8)), 6)
    var atServer: [UInt8] = []
    var atClient: [UInt8] = []
    XCTAssertTrue(link.run(for: 1_000, step: {
      b.drain(server, into: &atServer)
      a.drain(client, into: &atClient)
    }) { atServer.count == 5 && atClient.count == 6 })
    XCTAssertEqual(atServer, Array("hello".utf8))
    XCTAssertEqual(atClient, Array("world!".utf8))
    XCTAssertEqual(failure { try a.receive(client, maximumCount: 10) },
                   .wouldBlock)

    // The client finishes sending: the server reads end of stream and
    // may still answer on its half.
    try a.shutdown(client, .write)
    var serverEOF = false
    XCTAssertTrue(link.run(for: 1_000, step: {
      serverEOF = b.drain(server, into: &atServer) || serverEOF
    }) { serverEOF && (try? a.tcpState(client)) == .finWait2 })
    XCTAssertEqual(try b.tcpState(server), .closeWait)
    XCTAssertTrue(try b.readiness(server).contains(.readHangUp))
    XCTAssertEqual(failure { try a.send(client, [1]) }, .brokenPipe)
    XCTAssertEqual(try b.send(server, [7, 8, 9]), 3)
    XCTAssertTrue(link.run(for: 1_000, step: {
      a.drain(client, into: &atClient)
    }) { atClient.count == 9 })
    XCTAssertEqual(Array(atClient.suffix(3)), [7, 8, 9])

    // The server closes: it passes LAST-ACK, the client TIME-WAIT.
    try b.close(server)
    var clientEOF = false
    XCTAssertTrue(link.run(for: 1_000, step: {
      clientEOF = a.drain(client, into: &atClient) || clientEOF
    }) { (try? a.tcpState(client)) == .timeWait })
    XCTAssertTrue(clientEOF)
    XCTAssertEqual(failure { try b.tcpState(server) }, .badHandle)
    XCTAssertTrue(try a.readiness(client).contains(.hangUp))

    // TIME-WAIT lasts its configured 2 MSL, then the connection is gone.
    let entered = link.now
    XCTAssertTrue(link.run(for: 10_000) {
      (try? a.tcpState(client)) == .closed
    })
    XCTAssertGreaterThanOrEqual(link.now - entered, 5_000)
    XCTAssertLessThan(link.now - entered, 5_100)
    XCTAssertEqual(try a.receive(client, maximumCount: 10), [])
    try a.close(client)
  }

  func testTimeWaitHoldsThePortUnlessReuseAddress() throws {
    // Linux's rule: a new bind may share the port of a TIME-WAIT
    // connection only if both set SO_REUSEADDR.
    for oldReuses in [false, true] {
      var tcp = TCPConfiguration()
      tcp.timeWaitDuration = 3_000
      let (link, a, b) = makePair(tcp: tcp)
      let listener = try b.tcpListen(port: 80, backlog: 4)
      let client = try a.openTCP()
      var reuse = try a.options(client)
      reuse.reuseAddress = oldReuses
      try a.setOptions(client, reuse)
      try a.bind(client, to: SocketAddress(.any, 4000))
      try a.connect(client, to: SocketAddress(addressB, 80))
      var server: SocketHandle?
      XCTAssertTrue(link.run(for: 2_000, step: {
        if server == nil { server = try? b.tcpAccept(listener) }
      }) { server != nil })
      // The client closes first, so it is the side left in TIME-WAIT.
      try a.close(client)
      var sink: [UInt8] = []
      var serverClosed = false
      XCTAssertTrue(link.run(for: 2_000, step: {
        if let server, !serverClosed, b.drain(server, into: &sink) {
          try? b.close(server)
          serverClosed = true
        }
      }) { serverClosed })
      link.advance(by: 500)

      let again = try a.openTCP()
      XCTAssertEqual(failure {
        try a.bind(again, to: SocketAddress(.any, 4000))
      }, .addressInUse)
      var options = try a.options(again)
      options.reuseAddress = true
      try a.setOptions(again, options)
      let shared = failure {
        try a.bind(again, to: SocketAddress(.any, 4000))
      }
      if oldReuses {
        XCTAssertNil(shared)
      } else {
        XCTAssertEqual(shared, .addressInUse)
        // Once TIME-WAIT ends the port is free.
        link.advance(by: 3_100)
        XCTAssertNil(failure {
          try a.bind(again, to: SocketAddress(.any, 4000))
        })
      }
    }
  }

  func testReuseAddressSharesAPortButNotAListener() throws {
    let (_, a, _) = makePair()
    var reuse = SocketOptions()
    reuse.reuseAddress = true
    let first = try a.openTCP()
    let second = try a.openTCP()
    try a.setOptions(first, reuse)
    try a.setOptions(second, reuse)
    try a.bind(first, to: SocketAddress(.any, 7000))
    try a.bind(second, to: SocketAddress(.any, 7000))
    try a.listen(first, backlog: 4)
    XCTAssertEqual(failure { try a.listen(second, backlog: 4) },
                   .addressInUse)
    // Without SO_REUSEADDR the bind itself is refused.
    let third = try a.openTCP()
    XCTAssertEqual(failure {
      try a.bind(third, to: SocketAddress(.any, 7000))
    }, .addressInUse)
    XCTAssertEqual(failure { try a.bind(first, to: .unspecified) },
                   .invalidArgument)
    XCTAssertEqual(failure { try a.tcpAccept(second) }, .invalidArgument)
    XCTAssertEqual(failure { try a.tcpAccept(first) }, .wouldBlock)
    XCTAssertEqual(failure { try a.peerAddress(first) }, .notConnected)
    XCTAssertEqual(try a.localAddress(first), SocketAddress(.any, 7000))
  }

  func testResetOnClosedPortRefusesTheConnection() throws {
    let (link, a, b) = makePair()
    link.logging = true
    let client = try a.tcpConnect(address: addressB, port: 81)
    XCTAssertTrue(link.run(for: 2_000) {
      (try? a.readiness(client))?.contains(.error) == true
    })
    XCTAssertEqual(try a.tcpState(client), .closed)
    XCTAssertEqual(try a.takeError(client), .connectionRefused)
    XCTAssertNil(try a.takeError(client))
    XCTAssertEqual(b.statistics.tcpResetsSent, 1)
    // RFC 9293 3.10.7.1: the SYN had no ACK, so the reset has SEQ 0 and
    // acknowledges the SYN.
    let segments = link.log.compactMap { sniffTCP($0.bytes) }
    let syn = try XCTUnwrap(segments.first { $0.tcp.flags == .syn })
    let reset = try XCTUnwrap(segments.first { $0.tcp.flags.contains(.rst) })
    XCTAssertEqual(reset.tcp.flags, [.rst, .ack])
    XCTAssertEqual(reset.tcp.sequenceNumber.rawValue, 0)
    XCTAssertEqual(reset.tcp.acknowledgmentNumber, syn.tcp.sequenceNumber + 1)
    // A refused socket may try again, and now someone listens.
    let listener = try b.tcpListen(port: 81, backlog: 1)
    try a.connect(client, to: SocketAddress(addressB, 81))
    XCTAssertTrue(link.run(for: 2_000) {
      (try? a.tcpState(client)) == .established
    })
    try b.close(listener)
  }

  func testResetOfEstablishedConnectionReportsConnectionReset() throws {
    let (link, a, b) = makePair()
    let (client, server) = try connect(link, a, b)
    // Unread data at close turns the close into a reset (RFC 2525).
    XCTAssertEqual(try a.send(client, [1, 2, 3]), 3)
    XCTAssertTrue(link.run(for: 1_000) {
      (try? b.readiness(server))?.contains(.readable) == true
    })
    try b.close(server)
    XCTAssertTrue(link.run(for: 1_000) {
      (try? a.readiness(client))?.contains(.error) == true
    })
    XCTAssertEqual(failure { try a.receive(client, maximumCount: 8) },
                   .connectionReset)
    XCTAssertEqual(try a.receive(client, maximumCount: 8), [])
    XCTAssertEqual(failure { try a.send(client, [1]) }, .brokenPipe)
  }

  func testSimultaneousOpen() throws {
    let (link, a, b) = makePair()
    link.delay = 20
    link.logging = true
    let sideA = try a.openTCP()
    try a.bind(sideA, to: SocketAddress(.any, 5000))
    let sideB = try b.openTCP()
    try b.bind(sideB, to: SocketAddress(.any, 6000))
    try a.connect(sideA, to: SocketAddress(addressB, 6000))
    try b.connect(sideB, to: SocketAddress(addressA, 5000))
    XCTAssertTrue(link.run(for: 5_000) {
      (try? a.tcpState(sideA)) == .established
        && (try? b.tcpState(sideB)) == .established
    })
    // Both sent a bare SYN, then a SYN-ACK: the crossing-SYN path of RFC
    // 9293 figure 7, not one side answering the other.
    for side in 0..<2 {
      let flags = link.log.filter { $0.from == side }
        .compactMap { sniffTCP($0.bytes)?.tcp.flags }
      XCTAssertEqual(Array(flags.prefix(2)), [.syn, [.syn, .ack]],
                     "side \(side)")
    }
    XCTAssertEqual(try a.send(sideA, [1, 2]), 2)
    var received: [UInt8] = []
    XCTAssertTrue(link.run(for: 1_000, step: {
      b.drain(sideB, into: &received)
    }) { received == [1, 2] })
  }

  func testSimultaneousCloseEndsInTimeWaitOnBothSides() throws {
    var tcp = TCPConfiguration()
    tcp.timeWaitDuration = 4_000
    let (link, a, b) = makePair(tcp: tcp)
    link.delay = 20
    let (client, server) = try connect(link, a, b)
    try a.shutdown(client, .write)
    try b.shutdown(server, .write)
    var statesA: [TCPState] = []
    var statesB: [TCPState] = []
    XCTAssertTrue(link.run(for: 2_000, step: {
      if let state = try? a.tcpState(client), statesA.last != state {
        statesA.append(state)
      }
      if let state = try? b.tcpState(server), statesB.last != state {
        statesB.append(state)
      }
    }) {
      (try? a.tcpState(client)) == .timeWait
        && (try? b.tcpState(server)) == .timeWait
    })
    XCTAssertEqual(statesA, [.finWait1, .closing, .timeWait])
    XCTAssertEqual(statesB, [.finWait1, .closing, .timeWait])
    XCTAssertTrue(link.run(for: 5_000) {
      (try? a.tcpState(client)) == .closed
        && (try? b.tcpState(server)) == .closed
    })
  }

  func testRetransmissionTimeoutRecoversLostSegment() throws {
    let (link, a, b) = makePair()
    link.delay = 5
    let (client, server) = try connect(link, a, b)
    var dropped = 0
    link.filter = { from, frame in
      guard from == 0, dropped == 0, let segment = sniffTCP(frame),
        segment.payloadCount > 0
      else { return true }
      dropped += 1
      return false
    }
    let start = link.now
    XCTAssertEqual(try a.send(client, [UInt8](repeating: 42, count: 100)),
                   100)
    var received: [UInt8] = []
    XCTAssertTrue(link.run(for: 5_000, step: {
      b.drain(server, into: &received)
    }) { received.count == 100 })
    XCTAssertEqual(dropped, 1)
    XCTAssertEqual(a.statistics.tcpTimeouts, 1)
    XCTAssertEqual(a.statistics.tcpRetransmissions, 1)
    // RFC 6298 2.4: the timeout was at least a second.
    XCTAssertGreaterThanOrEqual(link.now - start, 1_000)
    XCTAssertLessThan(link.now - start, 1_100)
  }

  func testFastRetransmitWithoutTimeout() throws {
    var tcp = TCPConfiguration()
    tcp.selectiveAcknowledgments = false
    let (link, a, b) = makePair(tcp: tcp)
    link.delay = 5
    let (client, server) = try connect(link, a, b)
    var dataSegments = 0
    link.filter = { from, frame in
      guard from == 0, let segment = sniffTCP(frame),
        segment.payloadCount > 0
      else { return true }
      dataSegments += 1
      return dataSegments != 5
    }
    let data = randomBytes(seed: 5, count: 200_000)
    var sent = 0
    var received: [UInt8] = []
    let start = link.now
    XCTAssertTrue(link.run(for: 10_000, step: {
      sent += a.sendSome(client, data[sent...])
      b.drain(server, into: &received)
    }) { received.count == data.count })
    XCTAssertEqual(received, data)
    let statistics = a.statistics
    XCTAssertEqual(statistics.tcpFastRetransmits, 1)
    XCTAssertEqual(statistics.tcpTimeouts, 0)
    XCTAssertEqual(statistics.tcpRetransmissions, 1)
    XCTAssertLessThan(link.now - start, 1_000)
  }

  func testSACKRetransmitsOnlyTheHoles() throws {
    let (link, a, b) = makePair()
    link.delay = 5
    link.logging = true
    let (client, server) = try connect(link, a, b)
    // Lose the first transmission of the 5th, 8th and 11th segments.
    var firstSent: [SequenceNumber] = []
    let lost: Set<Int> = [5, 8, 11]
    link.filter = { from, frame in
      guard from == 0, let segment = sniffTCP(frame),
        segment.payloadCount > 0,
        !firstSent.contains(segment.tcp.sequenceNumber)
      else { return true }
      firstSent.append(segment.tcp.sequenceNumber)
      return !lost.contains(firstSent.count)
    }
    let data = randomBytes(seed: 6, count: 300_000)
    var sent = 0
    var received: [UInt8] = []
    XCTAssertTrue(link.run(for: 10_000, step: {
      sent += a.sendSome(client, data[sent...])
      b.drain(server, into: &received)
    }) { received.count == data.count })
    XCTAssertEqual(received, data)
    let statistics = a.statistics
    XCTAssertEqual(statistics.tcpTimeouts, 0)
    XCTAssertEqual(statistics.tcpRetransmissions, 3)
    // The receiver reported the data beyond each hole in SACK blocks.
    let sackBlocks = link.log.filter { $0.from == 1 }
      .compactMap { sniffTCP($0.bytes)?.tcp.options.sackBlocks }
      .filter { !$0.isEmpty }
    XCTAssertGreaterThanOrEqual(sackBlocks.count, 3)
    XCTAssertTrue(sackBlocks.contains { $0.count >= 2 },
                  "two holes at once give two blocks")
  }

  /// Thousands of well-formed but random segments (any flags, sequence
  /// and acknowledgment numbers near or far from the real ones, random
  /// options and payloads) at a live connection and a listener. Nothing
  /// may trap, and the stack must still carry a fresh connection after.
  func testRandomSegmentsAgainstLiveConnectionsNeverTrap() throws {
    let (link, a, b) = makePair()
    link.logging = true
    let (client, server) = try connect(link, a, b)
    let listener = try a.tcpListen(port: 8080, backlog: 4)
    let clientPort = try a.localAddress(client).port
    var random = TestRandom(seed: 0x7C9)
    var sink: [UInt8] = []
    for round in 0..<4000 {
      let near = link.log.last { $0.from == 1 }.flatMap { sniffTCP($0.bytes) }
      let base = near?.tcp.sequenceNumber
        ?? SequenceNumber(rawValue: UInt32(truncatingIfNeeded: random.next()))
      let acked = near?.tcp.acknowledgmentNumber ?? base
      var options = TCPOptions()
      if random.below(2) == 0 {
        options.timestamps = TCPTimestamps(
          value: UInt32(truncatingIfNeeded: random.next()),
          echoReply: UInt32(truncatingIfNeeded: random.next()))
      }
      if random.below(3) == 0 {
        options.sackBlocks = (0..<random.below(4)).map { _ in
          SACKBlock(left: acked + (random.below(200_000) - 100_000),
                    right: acked + (random.below(200_000) - 100_000))
        }
      }
      if random.below(5) == 0 {
        options.maximumSegmentSize = UInt16(truncatingIfNeeded: random.next())
        options.windowScale = UInt8(random.below(20))
        options.sackPermitted = true
      }
      let header = TCPHeader(
        sourcePort: random.below(3) == 0 ? UInt16(random.below(65536)) : 80,
        destinationPort: [clientPort, 8080, 9][random.below(3)],
        sequenceNumber: random.below(4) == 0
          ? SequenceNumber(rawValue: UInt32(truncatingIfNeeded: random.next()))
          : base + (random.below(140_000) - 70_000),
        acknowledgmentNumber: random.below(4) == 0
          ? SequenceNumber(rawValue: UInt32(truncatingIfNeeded: random.next()))
          : acked + (random.below(4_000) - 2_000),
        flags: TCPFlags(rawValue: UInt16(random.below(512))),
        window: UInt16(truncatingIfNeeded: random.next()),
        urgentPointer: UInt16(truncatingIfNeeded: random.next()),
        options: options)
      let payload = random.bytes(random.below(4) == 0 ? random.below(3000)
                                                      : 0)
      a.receive(frame: frame(header, payload: payload, from: 2, to: 1),
                now: link.instant)
      if round % 10 == 0 {
        _ = a.sendSome(client, random.bytes(random.below(5000))[...])
        link.advance(by: UInt64(1 + random.below(300)), step: {
          a.drain(client, into: &sink)
          b.drain(server, into: &sink)
          _ = try? a.tcpAccept(listener)
        })
      }
    }
    link.advance(by: 200_000)
    XCTAssertGreaterThan(a.statistics.tcpResetsSent, 0)

    // Still working: a new connection carries data both ways.
    link.filter = nil
    link.logging = false
    let (fresh, freshServer) = try connect(link, a, b, port: 81)
    _ = try a.send(fresh, [1, 2, 3])
    _ = try b.send(freshServer, [4, 5])
    var atA: [UInt8] = []
    var atB: [UInt8] = []
    XCTAssertTrue(link.run(for: 2_000, step: {
      a.drain(fresh, into: &atA)
      b.drain(freshServer, into: &atB)
    }) { atA == [4, 5] && atB == [1, 2, 3] })
  }

  /// After a timeout, data the receiver SACKed is not sent again: with
  /// three holes whose fast retransmissions are lost as well, the walk
  /// from SND.UNA after the timeout skips the SACKed ranges between them,
  /// so every retransmitted segment is a hole. Without SACK, go-back-N
  /// resends data that had arrived.
  func testSACKAvoidsResendingReceivedDataAfterTimeout() throws {
    for sack in [true, false] {
      var tcp = TCPConfiguration()
      tcp.selectiveAcknowledgments = sack
      let (link, a, b) = makePair(tcp: tcp)
      link.delay = 5
      let (client, server) = try connect(link, a, b)
      // Original segments 5, 9 and 13 are lost, and so are their first
      // retransmissions.
      var order: [SequenceNumber] = []
      var transmissions: [SequenceNumber: Int] = [:]
      var resent: [SequenceNumber] = []
      link.filter = { from, frame in
        guard from == 0, let segment = sniffTCP(frame),
          segment.payloadCount > 0
        else { return true }
        let sequence = segment.tcp.sequenceNumber
        if !order.contains(sequence) { order.append(sequence) }
        let index = order.firstIndex(of: sequence)! + 1
        let count = transmissions[sequence, default: 0] + 1
        transmissions[sequence] = count
        if count > 1 { resent.append(sequence) }
        return !([5, 9, 13].contains(index) && count <= 2)
      }
      let data = randomBytes(seed: 12, count: 100_000)
      var sent = 0
      var received: [UInt8] = []
      XCTAssertTrue(link.run(for: 20_000, step: {
        sent += a.sendSome(client, data[sent...])
        b.drain(server, into: &received)
      }) { received.count == data.count })
      XCTAssertEqual(received, data)
      XCTAssertGreaterThanOrEqual(a.statistics.tcpTimeouts, 1)
      // Each hole went out at least three times.
      XCTAssertGreaterThanOrEqual(resent.count, 6)
      let holes = Set([order[4], order[8], order[12]])
      let needless = resent.filter { !holes.contains($0) }.count
      if sack {
        XCTAssertEqual(needless, 0, "resent data the peer had SACKed")
      } else {
        XCTAssertGreaterThan(needless, 0, "go-back-N should have resent")
      }
    }
  }

  /// RFC 5961: a reset whose sequence number is in the window but not
  /// exactly RCV.NXT may be forged; it earns a challenge ACK, and only
  /// an exact one resets.
  func testBlindResetGetsAChallengeAck() throws {
    let (link, a, b) = makePair()
    link.logging = true
    let (client, _) = try connect(link, a, b)
    let fromB = link.log.filter { $0.from == 1 }
      .compactMap { sniffTCP($0.bytes) }
    let last = try XCTUnwrap(fromB.last)
    let next = last.tcp.sequenceNumber + last.payloadCount
      + (last.tcp.flags.contains(.syn) ? 1 : 0)
    let port = try a.localAddress(client).port

    func injectReset(_ sequence: SequenceNumber) {
      let reset = TCPHeader(sourcePort: 80, destinationPort: port,
                            sequenceNumber: sequence, flags: .rst)
      a.receive(frame: frame(reset, payload: [], from: 2, to: 1),
                now: link.instant)
    }
    link.clearLog()
    injectReset(next + 1000)
    link.advance(by: 10)
    XCTAssertEqual(try a.tcpState(client), .established)
    let challenge = link.log.filter { $0.from == 0 }
      .compactMap { sniffTCP($0.bytes) }
    XCTAssertEqual(challenge.map(\.tcp.flags), [.ack])
    XCTAssertEqual(challenge.first?.tcp.acknowledgmentNumber, next)

    injectReset(next)
    link.advance(by: 10)
    XCTAssertEqual(try a.tcpState(client), .closed)
    XCTAssertEqual(try a.takeError(client), .connectionReset)
  }

  /// RFC 7323 5: a segment whose timestamp is older than the last one
  /// seen is an old duplicate and is dropped, even inside the window.
  func testPAWSDropsSegmentsWithOldTimestamps() throws {
    let (link, a, b) = makePair()
    link.logging = true
    let (client, server) = try connect(link, a, b)
    _ = try b.send(server, [1])
    var received: [UInt8] = []
    XCTAssertTrue(link.run(for: 1_000, step: {
      a.drain(client, into: &received)
    }) { received == [1] })
    let fromB = link.log.filter { $0.from == 1 }
      .compactMap { sniffTCP($0.bytes) }
    let last = try XCTUnwrap(fromB.last { $0.payloadCount == 1 })
    let stamp = try XCTUnwrap(last.tcp.options.timestamps)
    let port = try a.localAddress(client).port

    func injectData(_ byte: UInt8, timestamp: UInt32) {
      let segment = TCPHeader(
        sourcePort: 80, destinationPort: port,
        sequenceNumber: last.tcp.sequenceNumber + 1,
        acknowledgmentNumber: last.tcp.acknowledgmentNumber,
        flags: [.ack, .psh], window: 1000,
        options: TCPOptions(timestamps: TCPTimestamps(
          value: timestamp, echoReply: stamp.echoReply)))
      a.receive(frame: frame(segment, payload: [byte], from: 2, to: 1),
                now: link.instant)
      link.advance(by: 5, step: { a.drain(client, into: &received) })
    }
    injectData(66, timestamp: stamp.value &- 5_000)
    XCTAssertEqual(received, [1])
    injectData(77, timestamp: stamp.value &+ 1)
    XCTAssertEqual(received, [1, 77])
  }

  func testLossyTransferBothWaysArrivesIntact() throws {
    let (link, a, b) = makePair(seed: 77)
    link.delay = 10
    let (client, server) = try connect(link, a, b)
    link.lossRate = 0.05
    link.reorderRate = 0.05
    link.duplicationRate = 0.01
    let upload = randomBytes(seed: 1, count: 4 << 20)
    let download = randomBytes(seed: 2, count: 1 << 20)
    var sentUp = 0
    var sentDown = 0
    var atServer: [UInt8] = []
    var atClient: [UInt8] = []
    var serverEOF = false
    var clientEOF = false
    XCTAssertTrue(link.run(for: 1_200_000, step: {
      sentUp += a.sendSome(client, upload[sentUp...])
      sentDown += b.sendSome(server, download[sentDown...])
      if sentUp == upload.count { try? a.shutdown(client, .write) }
      if sentDown == download.count { try? b.shutdown(server, .write) }
      serverEOF = b.drain(server, into: &atServer) || serverEOF
      clientEOF = a.drain(client, into: &atClient) || clientEOF
    }) { serverEOF && clientEOF })
    XCTAssertEqual(atServer.count, upload.count)
    XCTAssertEqual(fnv1a(atServer), fnv1a(upload))
    XCTAssertEqual(atClient.count, download.count)
    XCTAssertEqual(fnv1a(atClient), fnv1a(download))
    XCTAssertGreaterThan(a.statistics.tcpRetransmissions, 100)
  }

  func testWindowScalingLetsASmallScaledWindowBeHonoured() throws {
    // 70,000 bytes of receive buffer need a scale of 1.
    var small = SocketOptions()
    small.receiveBufferSize = 70_000
    let (link, a, b) = makePair(defaultsB: small)
    link.delay = 20
    link.logging = true
    let (client, server) = try connect(link, a, b)
    let segments = link.log.compactMap { frame in
      sniffTCP(frame.bytes).map { (frame.from, $0) }
    }
    let synAck = try XCTUnwrap(segments.first {
      $0.0 == 1 && $0.1.tcp.flags == [.syn, .ack]
    })
    XCTAssertEqual(synAck.1.tcp.options.windowScale, 1)
    let syn = try XCTUnwrap(segments.first { $0.1.tcp.flags == .syn })
    XCTAssertEqual(syn.1.tcp.options.windowScale, 3)

    // The server reads slowly; the client must stay inside the scaled
    // window, and must use more than an unscaled field could say.
    link.clearLog()
    let data = randomBytes(seed: 9, count: 600_000)
    var sent = 0
    var received: [UInt8] = []
    link.maximumStep = 1
    XCTAssertTrue(link.run(for: 60_000, step: {
      sent += a.sendSome(client, data[sent...])
      if link.now % 2 == 0 {
        var chunk = [UInt8](repeating: 0, count: 3_000)
        if let count = chunk.withUnsafeMutableBytes({
          try? b.receive(server, into: $0)
        }) {
          received.append(contentsOf: chunk.prefix(count))
        }
      }
    }) { received.count == data.count })
    XCTAssertEqual(received, data)

    var rightEdge: SequenceNumber?
    var largestFlight = 0
    var highestAck: SequenceNumber?
    for frame in link.log {
      guard let segment = sniffTCP(frame.bytes) else { continue }
      let tcp = segment.tcp
      if frame.from == 1 {
        XCTAssertLessThanOrEqual(tcp.window, 35_001)
        let edge = tcp.acknowledgmentNumber + (Int(tcp.window) << 1)
        if rightEdge == nil || rightEdge! < edge { rightEdge = edge }
        if highestAck == nil || highestAck! < tcp.acknowledgmentNumber {
          highestAck = tcp.acknowledgmentNumber
        }
      } else if segment.payloadCount > 1, let edge = rightEdge,
        let acked = highestAck
      {
        let end = tcp.sequenceNumber + segment.payloadCount
        XCTAssertFalse(edge < end, "segment beyond the advertised window")
        largestFlight = max(largestFlight, end - acked)
      }
    }
    // An unscaled reading of the field would have allowed 35,000.
    XCTAssertGreaterThan(largestFlight, 40_000)
  }

  func testZeroWindowIsProbedUntilItOpens() throws {
    var tiny = SocketOptions()
    tiny.receiveBufferSize = 4096
    let (link, a, b) = makePair(defaultsB: tiny)
    link.delay = 5
    link.logging = true
    let (client, server) = try connect(link, a, b)
    let data = randomBytes(seed: 3, count: 20_000)
    var sent = 0
    // The server does not read for 30 s.
    link.advance(by: 30_000, step: {
      sent += a.sendSome(client, data[sent...])
    })
    let segments = link.log.compactMap { frame in
      sniffTCP(frame.bytes).map { (frame.from, frame.time, $0) }
    }
    let closed = try XCTUnwrap(segments.first {
      $0.0 == 1 && $0.2.tcp.window == 0 && !$0.2.tcp.flags.contains(.syn)
    })
    let probes = segments.filter {
      $0.0 == 0 && $0.1 > closed.1 && $0.2.payloadCount == 1
    }
    XCTAssertGreaterThanOrEqual(probes.count, 3)
    // Probes back off: each interval at least the one before.
    let gaps = zip(probes.dropFirst(), probes).map { $0.1 - $1.1 }
    XCTAssertEqual(gaps, gaps.sorted())
    XCTAssertEqual(try a.tcpState(client), .established)

    var received: [UInt8] = []
    XCTAssertTrue(link.run(for: 120_000, step: {
      sent += a.sendSome(client, data[sent...])
      b.drain(server, into: &received)
    }) { received.count == data.count })
    XCTAssertEqual(received, data)
  }

  func testKeepaliveDetectsADeadPeer() throws {
    var keepalive = SocketOptions()
    keepalive.keepAlive = true
    keepalive.keepIdle = 10
    keepalive.keepInterval = 2
    keepalive.keepCount = 3
    let (link, a, b) = makePair(defaultsA: keepalive)
    link.logging = true
    let (client, _) = try connect(link, a, b)
    // A live peer answers the probes; the connection stays up.
    link.clearLog()
    link.advance(by: 35_000)
    XCTAssertEqual(try a.tcpState(client), .established)
    let probes = link.log.filter { $0.from == 0 }
      .compactMap { sniffTCP($0.bytes) }
    XCTAssertGreaterThanOrEqual(probes.count, 3)
    XCTAssertTrue(probes.allSatisfy { $0.payloadCount == 0 })

    // Now the peer vanishes.
    link.filter = { from, _ in from != 1 }
    let start = link.now
    XCTAssertTrue(link.run(for: 60_000) {
      (try? a.readiness(client))?.contains(.error) == true
    })
    XCTAssertEqual(try a.takeError(client), .timedOut)
    XCTAssertEqual(try a.tcpState(client), .closed)
    // Idle time, then three unanswered probes two seconds apart.
    XCTAssertLessThanOrEqual(link.now - start, 10_000 + 4 * 2_000 + 100)
  }

  func testNagleCoalescesSmallWritesAndNoDelayDoesNot() throws {
    for noDelay in [false, true] {
      let (link, a, b) = makePair()
      link.delay = 50
      link.logging = true
      link.maximumStep = 1
      let (client, server) = try connect(link, a, b)
      var options = try a.options(client)
      options.noDelay = noDelay
      try a.setOptions(client, options)
      link.clearLog()
      let start = link.now
      var written = 0
      var received: [UInt8] = []
      XCTAssertTrue(link.run(for: 2_000, step: {
        // One byte every 5 ms, ten times, well within one round trip.
        if written < 10 && link.now >= start + UInt64(5 * written) {
          written += a.sendSome(client, [UInt8(written)][...])
        }
        b.drain(server, into: &received)
      }) { received.count == 10 })
      XCTAssertEqual(received, Array(0..<10))
      let dataSegments = link.log.filter { $0.from == 0 }
        .compactMap { sniffTCP($0.bytes) }.filter { $0.payloadCount > 0 }
      if noDelay {
        XCTAssertEqual(dataSegments.count, 10)
      } else {
        XCTAssertEqual(dataSegments.map(\.payloadCount), [1, 9])
      }
    }
  }

  func testDelayedAcknowledgments() throws {
    var tcp = TCPConfiguration()
    tcp.delayedAckTimeout = 40
    let (link, a, b) = makePair(tcp: tcp)
    link.delay = 5
    link.logging = true
    let (client, server) = try connect(link, a, b)
    var received: [UInt8] = []
    // The first read opens the window beyond the SYN's unscaled 64 KiB,
    // which is announced at once; get that out of the way.
    _ = try a.send(client, [0])
    link.advance(by: 500, step: { b.drain(server, into: &received) })
    // One small segment: the ACK waits for the delayed-ACK timer.
    link.clearLog()
    _ = try a.send(client, [1])
    link.advance(by: 500, step: { b.drain(server, into: &received) })
    var acks = link.log.filter { $0.from == 1 }
    XCTAssertEqual(acks.count, 1)
    let arrival = try XCTUnwrap(link.log.first { $0.from == 0 }).time
      + link.delay
    XCTAssertEqual(acks[0].time, arrival + 40)

    // Two full segments: acknowledged at once on the second.
    link.clearLog()
    _ = try a.send(client, [UInt8](repeating: 2, count: 2 * 1448))
    link.advance(by: 500, step: { b.drain(server, into: &received) })
    acks = link.log.filter { $0.from == 1 }
    let data = link.log.filter { $0.from == 0 }
    XCTAssertEqual(data.count, 2)
    XCTAssertEqual(acks.count, 1)
    XCTAssertEqual(acks[0].time, data[1].time + link.delay)
    XCTAssertEqual(received.count, 2 + 2 * 1448)
  }

  func testListenBacklogAndAcceptQueue() throws {
    let (link, a, b) = makePair()
    let listener = try b.tcpListen(port: 80, backlog: 2)
    let clients = try (0..<3).map { _ in
      try a.tcpConnect(address: addressB, port: 80)
    }
    link.advance(by: 500)
    let states = try clients.map { try a.tcpState($0) }
    XCTAssertEqual(states.filter { $0 == .established }.count, 2)
    XCTAssertEqual(states.filter { $0 == .synSent }.count, 1)
    XCTAssertGreaterThanOrEqual(b.statistics.tcpListenOverflows, 1)
    XCTAssertTrue(try b.readiness(listener).contains(.readable))

    var accepted: [SocketHandle] = []
    XCTAssertTrue(link.run(for: 10_000, step: {
      while let handle = try? b.tcpAccept(listener) {
        accepted.append(handle)
      }
    }) { accepted.count == 3 })
    XCTAssertTrue(try clients.allSatisfy {
      try a.tcpState($0) == .established
    })
    let peers = try Set(accepted.map { try b.peerAddress($0).port })
    let locals = try Set(clients.map { try a.localAddress($0).port })
    XCTAssertEqual(peers, locals)
    XCTAssertEqual(peers.count, 3)

    // Closing the listener resets a connection nobody accepted.
    let late = try a.tcpConnect(address: addressB, port: 80)
    XCTAssertTrue(link.run(for: 1_000) {
      (try? a.tcpState(late)) == .established
    })
    try b.close(listener)
    XCTAssertTrue(link.run(for: 1_000) {
      (try? a.takeError(late)) == .connectionReset
    })
  }

  func testLoopbackTrafficNeverLeavesTheStack() throws {
    let link = SimulatedLink()
    let stack = makeStack(1)
    link.add(stack)
    link.logging = true
    let listener = try stack.tcpListen(port: 7, backlog: 4)
    var accepted: [SocketHandle] = []
    var clients: [SocketHandle] = []
    for target in [IPv4Address.loopback, IPv4Address(10, 0, 0, 1)] {
      let client = try stack.tcpConnect(address: target, port: 7)
      XCTAssertTrue(link.run(for: 1_000, step: {
        if let handle = try? stack.tcpAccept(listener) {
          accepted.append(handle)
        }
      }) { accepted.count == clients.count + 1 })
      clients.append(client)
    }
    XCTAssertEqual(try stack.localAddress(clients[0]).address, .loopback)
    XCTAssertEqual(try stack.localAddress(clients[1]).address,
                   IPv4Address(10, 0, 0, 1))

    let data = randomBytes(seed: 4, count: 1 << 20)
    var sent = 0
    var echoed = 0
    var back: [UInt8] = []
    var buffer: [UInt8] = []
    XCTAssertTrue(link.run(for: 60_000, step: {
      sent += stack.sendSome(clients[0], data[sent...])
      stack.drain(accepted[0], into: &buffer)
      echoed += stack.sendSome(accepted[0], buffer[echoed...])
      stack.drain(clients[0], into: &back)
    }) { back.count == data.count })
    XCTAssertEqual(back, data)

    // UDP over loopback too.
    let udp = try stack.openUDP()
    try stack.bind(udp, to: SocketAddress(.loopback, 9999))
    let sender = try stack.openUDP()
    XCTAssertEqual(try stack.sendTo(sender, [1, 2, 3],
                                    to: SocketAddress(.loopback, 9999)), 3)
    link.advance(by: 10)
    var datagram = [UInt8](repeating: 0, count: 16)
    let info = try datagram.withUnsafeMutableBytes {
      try stack.receiveFrom(udp, into: $0)
    }
    XCTAssertEqual(info.count, 3)
    XCTAssertEqual(info.source, SocketAddress(
      .loopback, try stack.localAddress(sender).port))
    XCTAssertEqual(Array(datagram.prefix(3)), [1, 2, 3])
    XCTAssertTrue(link.log.isEmpty, "loopback traffic reached the device")
    XCTAssertEqual(stack.statistics.framesSent, 0)
  }
}

// MARK: - UDP, ICMP, ARP, IPv4 fragments, DHCP

final class NetStackProtocolTests: XCTestCase {
  let addressA = IPv4Address(10, 0, 0, 1)
  let addressB = IPv4Address(10, 0, 0, 2)
  static let ephemeral = 32_768...60_999

  func pair() -> (SimulatedLink, NetworkStack, NetworkStack) {
    let link = SimulatedLink()
    let a = makeStack(1)
    let b = makeStack(2)
    link.add(a)
    link.add(b)
    return (link, a, b)
  }

  func receiveDatagram(_ stack: NetworkStack, _ handle: SocketHandle,
                       capacity: Int = 2048)
    -> (bytes: [UInt8], info: DatagramInfo)?
  {
    var buffer = [UInt8](repeating: 0, count: capacity)
    guard let info = buffer.withUnsafeMutableBytes({
      try? stack.receiveFrom(handle, into: $0)
    }) else { return nil }
    return (Array(buffer.prefix(info.count)), info)
  }

  func testUDPEchoAndTruncation() throws {
    let (link, a, b) = pair()
    let echo = try b.openUDP()
    try b.bind(echo, to: SocketAddress(.any, 7))
    let client = try a.openUDP()
    let message = Array("ping over udp".utf8)
    XCTAssertEqual(try a.sendTo(client, message,
                                to: SocketAddress(addressB, 7)), 13)
    var reply: (bytes: [UInt8], info: DatagramInfo)?
    XCTAssertTrue(link.run(for: 1_000, step: {
      if let request = self.receiveDatagram(b, echo) {
        _ = try? b.sendTo(echo, request.bytes, to: request.info.source)
      }
      if reply == nil { reply = self.receiveDatagram(a, client) }
    }) { reply != nil })
    XCTAssertEqual(reply?.bytes, message)
    XCTAssertEqual(reply?.info.source, SocketAddress(addressB, 7))
    // Sending bound the client to an ephemeral port.
    XCTAssertTrue(NetStackProtocolTests.ephemeral.contains(
      Int(try a.localAddress(client).port)))

    // A datagram longer than the buffer is cut, and the rest discarded.
    _ = try a.sendTo(client, [UInt8](repeating: 5, count: 100),
                     to: SocketAddress(addressB, 7))
    link.advance(by: 100)
    let cut = try XCTUnwrap(receiveDatagram(b, echo, capacity: 10))
    XCTAssertEqual(cut.info.count, 10)
    XCTAssertEqual(cut.info.length, 100)
    XCTAssertNil(receiveDatagram(b, echo))
  }

  /// MSG_PEEK leaves what it copies; FIONREAD counts what waits.
  func testPeekAndBytesAvailable() throws {
    let link = SimulatedLink()
    let stack = makeStack(1)
    link.add(stack)
    let listener = try stack.tcpListen(port: 80, backlog: 1)
    let client = try stack.tcpConnect(address: .loopback, port: 80)
    var server: SocketHandle?
    XCTAssertTrue(link.run(for: 1_000, step: {
      if server == nil { server = try? stack.tcpAccept(listener) }
    }) { server != nil })
    let accepted = try XCTUnwrap(server)
    XCTAssertEqual(try stack.bytesAvailable(accepted), 0)
    XCTAssertThrowsError(try stack.bytesAvailable(listener))
    XCTAssertEqual(try stack.send(client, Array("peekaboo".utf8)), 8)
    XCTAssertTrue(link.run(for: 1_000) {
      (try? stack.bytesAvailable(accepted)) == 8
    })
    var buffer = [UInt8](repeating: 0, count: 4)
    let peeked = try buffer.withUnsafeMutableBytes {
      try stack.peek(accepted, into: $0)
    }
    XCTAssertEqual(peeked.count, 4)
    XCTAssertEqual(buffer, Array("peek".utf8))
    XCTAssertEqual(try stack.bytesAvailable(accepted), 8)
    XCTAssertEqual(try stack.receive(accepted, maximumCount: 16),
                   Array("peekaboo".utf8))
    XCTAssertThrowsError(try buffer.withUnsafeMutableBytes {
      try stack.peek(accepted, into: $0)
    }) { XCTAssertEqual($0 as? NetError, .wouldBlock) }

    let udp = try stack.openUDP()
    try stack.bind(udp, to: SocketAddress(.loopback, 53))
    let sender = try stack.openUDP()
    _ = try stack.sendTo(sender, [9, 8, 7, 6, 5],
                         to: SocketAddress(.loopback, 53))
    link.advance(by: 10)
    XCTAssertEqual(try stack.bytesAvailable(udp), 5)
    let info = try buffer.withUnsafeMutableBytes {
      try stack.peek(udp, into: $0)
    }
    XCTAssertEqual(info.count, 4)
    XCTAssertEqual(info.length, 5)
    XCTAssertEqual(buffer, [9, 8, 7, 6])
    // Still there, whole.
    let taken = try XCTUnwrap(receiveDatagram(stack, udp))
    XCTAssertEqual(taken.bytes, [9, 8, 7, 6, 5])
    XCTAssertEqual(try stack.bytesAvailable(udp), 0)
  }

  func testUDPPortUnreachableReachesConnectedSocket() throws {
    let (link, a, b) = pair()
    let client = try a.openUDP()
    try a.connect(client, to: SocketAddress(addressB, 9))
    XCTAssertEqual(try a.send(client, [1, 2, 3]), 3)
    XCTAssertTrue(link.run(for: 1_000) {
      (try? a.readiness(client))?.contains(.error) == true
    })
    XCTAssertEqual(b.statistics.icmpErrorsSent, 1)
    var buffer = [UInt8](repeating: 0, count: 8)
    XCTAssertThrowsError(try buffer.withUnsafeMutableBytes {
      try a.receive(client, into: $0)
    }) { XCTAssertEqual($0 as? NetError, .connectionRefused) }
  }

  func testUDPRules() throws {
    let (_, a, _) = pair()
    let socket = try a.openUDP()
    XCTAssertThrowsError(try a.send(socket, [1])) {
      XCTAssertEqual($0 as? NetError, .destinationAddressRequired)
    }
    XCTAssertThrowsError(try a.sendTo(socket, [1],
                                      to: SocketAddress(.broadcast, 67))) {
      XCTAssertEqual($0 as? NetError, .permissionDenied)
    }
    XCTAssertThrowsError(try a.sendTo(
      socket, [UInt8](repeating: 0, count: 70_000),
      to: SocketAddress(addressB, 1))) {
      XCTAssertEqual($0 as? NetError, .messageTooLong)
    }
    let other = try a.openUDP()
    try a.bind(other, to: SocketAddress(.any, 5000))
    let clash = try a.openUDP()
    XCTAssertThrowsError(try a.bind(clash, to: SocketAddress(.any, 5000))) {
      XCTAssertEqual($0 as? NetError, .addressInUse)
    }
    XCTAssertThrowsError(try a.bind(clash, to: SocketAddress(
      IPv4Address(192, 168, 1, 1), 1))) {
      XCTAssertEqual($0 as? NetError, .addressNotAvailable)
    }
  }

  func testICMPEchoBetweenStacksAndOverLoopback() throws {
    let (link, a, b) = pair()
    try a.sendPing(to: addressB, identifier: 77, sequence: 3,
                   data: Array("payload".utf8))
    var reply: EchoReply?
    XCTAssertTrue(link.run(for: 1_000, step: {
      if reply == nil { reply = a.takeEchoReply() }
    }) { reply != nil })
    XCTAssertEqual(reply, EchoReply(source: addressB, identifier: 77,
                                    sequence: 3,
                                    data: Array("payload".utf8)))
    XCTAssertEqual(b.statistics.icmpEchoRepliesSent, 1)

    try a.sendPing(to: .loopback, identifier: 1, sequence: 1, data: [])
    link.advance(by: 10)
    XCTAssertEqual(a.takeEchoReply()?.source, .loopback)
  }

  func testARPResolvesQueuesAndGivesUp() throws {
    let (link, a, b) = pair()
    link.logging = true
    let receiver = try b.openUDP()
    try b.bind(receiver, to: SocketAddress(.any, 4000))
    let sender = try a.openUDP()
    // Three datagrams before the neighbour is known: all wait for ARP.
    for value in 0..<3 {
      _ = try a.sendTo(sender, [UInt8(value)],
                       to: SocketAddress(addressB, 4000))
    }
    var got: [[UInt8]] = []
    XCTAssertTrue(link.run(for: 1_000, step: {
      while let datagram = self.receiveDatagram(b, receiver) {
        got.append(datagram.bytes)
      }
    }) { got.count == 3 })
    XCTAssertEqual(got, [[0], [1], [2]])
    let arp = link.log.compactMap { frame -> ARPPacket? in
      guard let ethernet = try? EthernetView(frame.bytes[...]),
        ethernet.etherType == .arp
      else { return nil }
      return try? ARPPacket(ARPView(ethernet.payload))
    }
    XCTAssertEqual(arp.map(\.operation), [.request, .reply])
    XCTAssertEqual(arp[1].senderHardwareAddress, MACAddress(2, 0, 0, 0, 0, 2))
    // The reverse direction needs no request: B learnt A from it.
    _ = try b.sendTo(receiver, [9], to: SocketAddress(addressA, 1))
    link.advance(by: 100)
    XCTAssertEqual(a.statistics.arpRequestsSent, 1)
    XCTAssertEqual(b.statistics.arpRequestsSent, 0)

    // Nobody owns 10.0.0.99: three requests a second apart, then drop.
    _ = try a.sendTo(sender, [1], to: SocketAddress(IPv4Address(10, 0, 0, 99),
                                                   4000))
    link.advance(by: 5_000)
    XCTAssertEqual(a.statistics.arpRequestsSent, 4)
    XCTAssertEqual(a.statistics.arpUnresolvedDrops, 1)
  }

  func testLargeDatagramIsFragmentedAndReassembled() throws {
    let (link, a, b) = pair()
    link.logging = true
    link.reorderRate = 0.5
    let receiver = try b.openUDP()
    try b.bind(receiver, to: SocketAddress(.any, 4000))
    let sender = try a.openUDP()
    let payload = randomBytes(seed: 8, count: 9_000)
    _ = try a.sendTo(sender, payload, to: SocketAddress(addressB, 4000))
    var got: [UInt8]?
    XCTAssertTrue(link.run(for: 1_000, step: {
      if got == nil { got = self.receiveDatagram(b, receiver,
                                                 capacity: 10_000)?.bytes }
    }) { got != nil })
    XCTAssertEqual(got, payload)
    let fragments = link.log.filter { $0.from == 0 }.compactMap { frame in
      (try? EthernetView(frame.bytes[...]))
        .flatMap { try? IPv4View($0.payload) }
    }.filter { $0.isFragment }
    XCTAssertEqual(fragments.count, 7)
    XCTAssertTrue(fragments.allSatisfy { $0.totalLength <= 1500 })
    XCTAssertEqual(b.statistics.fragmentsReassembled, 1)
  }

  func testIncompleteFragmentsTimeOutWithTimeExceeded() throws {
    let (link, a, b) = pair()
    link.logging = true
    let receiver = try b.openUDP()
    try b.bind(receiver, to: SocketAddress(.any, 4000))
    let sender = try a.openUDP()
    var fragmentIndex = 0
    link.filter = { from, frame in
      guard from == 0, let ethernet = try? EthernetView(frame[...]),
        let ip = try? IPv4View(ethernet.payload), ip.isFragment
      else { return true }
      fragmentIndex += 1
      return fragmentIndex != 2
    }
    _ = try a.sendTo(sender, [UInt8](repeating: 1, count: 4_000),
                     to: SocketAddress(addressB, 4000))
    link.advance(by: 29_000)
    XCTAssertEqual(b.statistics.icmpErrorsSent, 0)
    link.advance(by: 2_000)
    XCTAssertEqual(b.statistics.icmpErrorsSent, 1)
    let timeExceeded = link.log.filter { $0.from == 1 }.compactMap { frame in
      (try? EthernetView(frame.bytes[...]))
        .flatMap { try? IPv4Header.parse($0.payload) }
        .flatMap { try? ICMPMessage.parse($0.payload) }
    }
    guard case .timeExceeded(1, let original)? = timeExceeded.last else {
      return XCTFail("no time exceeded: \(timeExceeded)")
    }
    XCTAssertEqual(original.count, 28)
    XCTAssertNil(receiveDatagram(b, receiver))
  }

  func testDHCPConfiguresRenewsAndLosesTheInterface() throws {
    let link = SimulatedLink()
    let client = NetworkStack(configuration: StackConfiguration(
      interface: InterfaceConfiguration(
        hardwareAddress: MACAddress(2, 0, 0, 0, 0, 9))))
    link.add(client)
    let server = FakeDHCPServer()
    link.responder = server.answer
    client.startDHCP(hostName: "villa")
    XCTAssertEqual(client.dhcpState, .selecting)
    XCTAssertTrue(link.run(for: 10_000) { client.dhcpState == .bound })
    XCTAssertEqual(client.ipv4, IPv4Configuration(
      address: IPv4Address(10, 0, 2, 15), prefixLength: 24,
      gateway: IPv4Address(10, 0, 2, 2),
      dnsServers: [IPv4Address(10, 0, 2, 3)]))
    XCTAssertEqual(server.seen.map(\.messageType),
                   [.discover, .request])
    XCTAssertEqual(server.seen[0].hostName, Array("villa".utf8))
    XCTAssertEqual(server.seen[1].requestedAddress,
                   IPv4Address(10, 0, 2, 15))
    XCTAssertEqual(server.seen[1].serverIdentifier, server.address)

    // T1 is half the 100 s lease: the renewal goes to the server itself,
    // from the leased address (which needs ARP for the server).
    let bound = link.now
    XCTAssertTrue(link.run(for: 60_000) { server.seen.count == 3 })
    XCTAssertGreaterThanOrEqual(link.now - bound, 50_000)
    XCTAssertEqual(server.seen[2].clientAddress, IPv4Address(10, 0, 2, 15))
    XCTAssertNil(server.seen[2].requestedAddress)
    XCTAssertEqual(server.unicastRequests, 1)
    link.advance(by: 100)
    XCTAssertEqual(client.dhcpState, .bound)
    XCTAssertGreaterThan(try XCTUnwrap(client.dhcpLease).obtained,
                         Instant(milliseconds: bound))

    // The server refuses the next renewal: the address goes away and the
    // client starts over.
    server.refuse = true
    XCTAssertTrue(link.run(for: 60_000) { client.ipv4 == nil })
    XCTAssertEqual(client.dhcpState, .selecting)
  }
}

/// A DHCP server at 10.0.2.2 handing out 10.0.2.15 for 100 s, answering
/// ARP for its own address.
final class FakeDHCPServer {
  let address = IPv4Address(10, 0, 2, 2)
  let hardwareAddress = MACAddress(2, 0, 0, 0, 0, 0xEE)
  var seen: [DHCPMessage] = []
  var unicastRequests = 0
  var refuse = false

  func answer(_ time: UInt64, _ frame: [UInt8]) -> [[UInt8]] {
    guard let ethernet = try? EthernetView(frame[...]) else { return [] }
    if ethernet.etherType == .arp,
      let request = try? ARPPacket(ARPView(ethernet.payload)),
      request.operation == .request, request.targetProtocolAddress == address
    {
      var reply = [UInt8](repeating: 0, count: 14)
      ARPPacket(operation: .reply, senderHardwareAddress: hardwareAddress,
                senderProtocolAddress: address,
                targetHardwareAddress: request.senderHardwareAddress,
                targetProtocolAddress: request.senderProtocolAddress)
        .emit(into: &reply)
      EthernetHeader(destination: request.senderHardwareAddress,
                     source: hardwareAddress, etherType: .arp)
        .write(over: &reply)
      return [reply]
    }
    guard ethernet.etherType == .ipv4,
      let (ip, body) = try? IPv4Header.parse(ethernet.payload),
      ip.protocolNumber == .udp,
      let (udp, payload) = try? UDPHeader.parse(
        body, source: ip.source, destination: ip.destination),
      udp.destinationPort == 67,
      let request = try? DHCPMessage.parse(payload)
    else { return [] }
    seen.append(request)
    if ip.destination == address { unicastRequests += 1 }

    var reply = DHCPMessage(
      operation: DHCPMessage.bootReply, transactionID: request.transactionID,
      clientHardwareAddress: request.clientHardwareAddress,
      messageType: request.messageType == .discover ? .offer : .ack)
    if refuse && request.messageType == .request { reply.messageType = .nak }
    if reply.messageType != .nak {
      reply.yourAddress = IPv4Address(10, 0, 2, 15)
      reply.subnetMask = IPv4Address(255, 255, 255, 0)
      reply.routers = [address]
      reply.dnsServers = [IPv4Address(10, 0, 2, 3)]
      reply.leaseTime = 100
    }
    reply.serverIdentifier = address
    var dhcp: [UInt8] = []
    reply.emit(into: &dhcp)
    var frame = [UInt8](repeating: 0, count: 14)
    var header = IPv4Header(source: address, destination: .broadcast,
                            protocolNumber: .udp,
                            payloadLength: 8 + dhcp.count)
    header.identification = UInt16(truncatingIfNeeded: seen.count)
    header.emit(into: &frame)
    UDPHeader(sourcePort: 67, destinationPort: 68)
      .emit(into: &frame, payload: dhcp[...], source: address,
            destination: .broadcast)
    EthernetHeader(destination: request.clientHardwareAddress,
                   source: hardwareAddress, etherType: .ipv4)
      .write(over: &frame)
    return [frame]
  }
}

// MARK: - The simulated network

/// splitmix64, for reproducible randomness in tests.
struct TestRandom {
  var state: UInt64

  init(seed: UInt64) {
    state = seed
  }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func below(_ bound: Int) -> Int {
    bound <= 0 ? 0 : Int(next() % UInt64(bound))
  }

  mutating func byte() -> UInt8 {
    UInt8(truncatingIfNeeded: next())
  }

  mutating func chance(_ probability: Double) -> Bool {
    probability > 0 && Double(next() >> 11) / Double(1 << 53) < probability
  }

  mutating func bytes(_ count: Int) -> [UInt8] {
    var result: [UInt8] = []
    result.reserveCapacity(count)
    while result.count < count {
      var word = next()
      for _ in 0..<min(8, count - result.count) {
        result.append(UInt8(truncatingIfNeeded: word))
        word >>= 8
      }
    }
    return result
  }
}

/// One Ethernet segment joining stacks, with a virtual clock in
/// milliseconds. Every frame a stack transmits reaches every other stack
/// after `delay`, unless the loss, duplication and reordering dice or the
/// test's filter say otherwise.
final class SimulatedLink {
  struct Frame {
    var time: UInt64
    var order: Int
    var from: Int
    var bytes: [UInt8]
  }

  struct LoggedFrame {
    var time: UInt64
    var from: Int
    var bytes: [UInt8]
  }

  private(set) var stacks: [NetworkStack] = []
  private(set) var now: UInt64 = 0
  var lossRate = 0.0
  var duplicationRate = 0.0
  var reorderRate = 0.0
  /// Milliseconds a frame takes; reordered frames take up to
  /// `reorderDelay` more, so later frames overtake them.
  var delay: UInt64 = 1
  var reorderDelay: UInt64 = 8
  var random: TestRandom
  /// Return false to drop a frame (targeted loss).
  var filter: ((_ from: Int, _ frame: [UInt8]) -> Bool)?
  /// Another device on the segment (a DHCP server): it sees every frame
  /// and may answer with frames of its own.
  var responder: ((_ time: UInt64, _ frame: [UInt8]) -> [[UInt8]])?
  /// When set, the clock never jumps further than this, so applications
  /// in `step` can act at times of their own choosing.
  var maximumStep: UInt64?
  var logging = false
  private(set) var log: [LoggedFrame] = []
  private var inFlight: [Frame] = []
  private var counter = 0

  init(seed: UInt64 = 1) {
    random = TestRandom(seed: seed)
  }

  var instant: Instant { Instant(milliseconds: now) }

  @discardableResult
  func add(_ stack: NetworkStack) -> Int {
    stacks.append(stack)
    return stacks.count - 1
  }

  func clearLog() {
    log.removeAll()
  }

  private func transmit(_ frame: [UInt8], from sender: Int) {
    if logging { log.append(LoggedFrame(time: now, from: sender,
                                        bytes: frame)) }
    if let filter, !filter(sender, frame) { return }
    if random.chance(lossRate) { return }
    var time = now + delay
    if random.chance(reorderRate) {
      time += 1 + UInt64(random.below(Int(reorderDelay)))
    }
    inFlight.append(Frame(time: time, order: counter, from: sender,
                          bytes: frame))
    counter += 1
    if random.chance(duplicationRate) {
      inFlight.append(Frame(time: time + 1, order: counter, from: sender,
                            bytes: frame))
      counter += 1
    }
  }

  /// Polls every stack (running `step`, the applications, in between)
  /// until none has work due at this instant.
  private func settle(_ step: () -> Void) {
    for _ in 0..<10_000 {
      step()
      for (index, stack) in stacks.enumerated() {
        for frame in stack.poll(now: instant) {
          transmit(frame, from: index)
        }
      }
      let due = stacks.contains { stack in
        guard let deadline = stack.nextDeadline else { return false }
        return deadline.milliseconds <= now
      }
      if !due { return }
    }
    XCTFail("the stacks never settled at \(now) ms")
  }

  /// Runs the network until `done` holds or `timeout` ms pass; returns
  /// whether `done` held. `step` runs the applications between polls.
  @discardableResult
  func run(for timeout: UInt64, step: () -> Void,
           until done: () -> Bool) -> Bool
  {
    let end = now + timeout
    while true {
      settle(step)
      if done() { return true }
      var next = inFlight.map(\.time).min()
      if let maximumStep { next = min(next ?? .max, now + maximumStep) }
      for stack in stacks {
        if let deadline = stack.nextDeadline?.milliseconds {
          next = min(next ?? .max, max(deadline, now + 1))
        }
      }
      guard let target = next, target <= end else {
        now = end
        settle(step)
        return done()
      }
      now = max(now, target)
      deliverDueFrames()
    }
  }

  @discardableResult
  func run(for timeout: UInt64, until done: () -> Bool) -> Bool {
    run(for: timeout, step: {}, until: done)
  }

  /// Lets `milliseconds` of virtual time pass.
  func advance(by milliseconds: UInt64, step: () -> Void = {}) {
    run(for: milliseconds, step: step, until: { false })
  }

  private func deliverDueFrames() {
    let due = inFlight.filter { $0.time <= now }
      .sorted { ($0.time, $0.order) < ($1.time, $1.order) }
    inFlight.removeAll { $0.time <= now }
    for frame in due {
      for (index, stack) in stacks.enumerated() where index != frame.from {
        stack.receive(frame: frame.bytes, now: instant)
      }
      if frame.from >= 0, let responder {
        for answer in responder(now, frame.bytes) {
          transmit(answer, from: -1)
        }
      }
    }
  }
}

/// What a logged frame carried, for tests that inspect traffic.
struct SniffedTCP {
  var ip: IPv4Header
  var tcp: TCPHeader
  var payloadCount: Int
}

/// A frame carrying `header` from host `from` to host `to` of makeStack.
func frame(_ header: TCPHeader, payload: [UInt8], from: UInt8, to: UInt8)
  -> [UInt8]
{
  let source = IPv4Address(10, 0, 0, from)
  let destination = IPv4Address(10, 0, 0, to)
  var bytes = [UInt8](repeating: 0, count: 14)
  IPv4Header(source: source, destination: destination, protocolNumber: .tcp,
             payloadLength: header.headerLength + payload.count)
    .emit(into: &bytes)
  header.emit(into: &bytes, payload: payload[...], source: source,
              destination: destination)
  EthernetHeader(destination: MACAddress(2, 0, 0, 0, 0, to),
                 source: MACAddress(2, 0, 0, 0, 0, from), etherType: .ipv4)
    .write(over: &bytes)
  return bytes
}

func sniffTCP(_ frame: [UInt8]) -> SniffedTCP? {
  guard let ethernet = try? EthernetView(frame[...]),
    ethernet.etherType == .ipv4,
    let (ip, body) = try? IPv4Header.parse(ethernet.payload),
    ip.protocolNumber == .tcp,
    let (tcp, payload) = try? TCPHeader.parse(
      body, source: ip.source, destination: ip.destination)
  else { return nil }
  return SniffedTCP(ip: ip, tcp: tcp, payloadCount: payload.count)
}

func randomBytes(seed: UInt64, count: Int) -> [UInt8] {
  var random = TestRandom(seed: seed)
  return random.bytes(count)
}

func fnv1a(_ bytes: [UInt8]) -> UInt64 {
  var hash: UInt64 = 0xCBF2_9CE4_8422_2325
  for byte in bytes {
    hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
  }
  return hash
}

extension NetworkStack {
  /// Sends what fits of `bytes`; 0 when the buffer is full.
  func sendSome(_ handle: SocketHandle, _ bytes: ArraySlice<UInt8>) -> Int {
    bytes.withUnsafeBytes { raw in
      (try? send(handle, raw)) ?? 0
    }
  }

  /// Reads everything available into `sink`; returns true at end of
  /// stream.
  @discardableResult
  func drain(_ handle: SocketHandle, into sink: inout [UInt8]) -> Bool {
    while true {
      do {
        let chunk = try receive(handle, maximumCount: 65536)
        if chunk.isEmpty { return true }
        sink.append(contentsOf: chunk)
      } catch {
        return false
      }
    }
  }
}

/// A stack at 10.0.0.`host`/24 with MAC 02:00:00:00:00:`host`.
func makeStack(_ host: UInt8, tcp: TCPConfiguration = TCPConfiguration(),
               defaults: SocketOptions = SocketOptions()) -> NetworkStack
{
  NetworkStack(configuration: StackConfiguration(
    interface: InterfaceConfiguration(
      hardwareAddress: MACAddress(2, 0, 0, 0, 0, host),
      ipv4: IPv4Configuration(address: IPv4Address(10, 0, 0, host),
                              prefixLength: 24,
                              gateway: IPv4Address(10, 0, 0, 254))),
    tcp: tcp, randomSeed: 0xC0FFEE &+ UInt64(host),
    socketDefaults: defaults))
}
