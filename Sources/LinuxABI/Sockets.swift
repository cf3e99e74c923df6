// The socket ABI: address families, socket types and their flags, option
// levels and names, message flags, and the structs the socket calls
// exchange (sockaddr_in, sockaddr_un, msghdr, mmsghdr, linger), in their
// Linux x86_64 layouts. See socket(2), socket(7), ip(7), tcp(7), unix(7)
// and recvmsg(2).
//
// Constant names drop the C prefix (SO_REUSEADDR is
// `SocketOption.reuseAddress`) and keep the C name in each comment.
// Ports and IPv4 addresses are in network byte order inside sockaddr_in;
// `SockaddrIn` stores them in host order and swaps when encoding, so no
// caller ever handles a byte-swapped number.

/// `AF_*`: the `domain` of socket(2) and the `sa_family` of an address.
public enum AddressFamily {
  /// `AF_UNSPEC`: in connect(2) on a datagram socket, dissolves the peer.
  public static let unspecified: UInt16 = 0
  /// `AF_UNIX` (`AF_LOCAL`): local IPC.
  public static let unix: UInt16 = 1
  /// `AF_INET`: IPv4.
  public static let inet: UInt16 = 2
  /// `AF_INET6`: IPv6.
  public static let inet6: UInt16 = 10
  /// `AF_NETLINK`.
  public static let netlink: UInt16 = 16
  /// `AF_PACKET`.
  public static let packet: UInt16 = 17
}

/// The `type` argument of socket(2): a kind in the low bits, flags above.
public enum SocketType {
  /// `SOCK_STREAM`.
  public static let stream: Int32 = 1
  /// `SOCK_DGRAM`.
  public static let datagram: Int32 = 2
  /// `SOCK_RAW`.
  public static let raw: Int32 = 3
  /// `SOCK_SEQPACKET`.
  public static let sequencedPacket: Int32 = 5
  /// The bits that hold the kind (`SOCK_TYPE_MASK`).
  public static let kindMask: Int32 = 0xF
  /// `SOCK_NONBLOCK`: the same bit as O_NONBLOCK.
  public static let nonBlock: Int32 = 0o4000
  /// `SOCK_CLOEXEC`: the same bit as O_CLOEXEC.
  public static let closeOnExec: Int32 = 0o2000000
}

/// `IPPROTO_*` and `SOL_*`: protocols for socket(2), and the `level` of
/// getsockopt(2) and setsockopt(2).
public enum SocketLevel {
  /// `IPPROTO_IP` (also "the default protocol" in socket(2)).
  public static let ip: Int32 = 0
  /// `SOL_SOCKET`.
  public static let socket: Int32 = 1
  /// `IPPROTO_TCP`.
  public static let tcp: Int32 = 6
  /// `IPPROTO_UDP`.
  public static let udp: Int32 = 17
  /// `IPPROTO_IPV6`.
  public static let ipv6: Int32 = 41
}

/// Option names at `SOL_SOCKET` (socket(7)).
public enum SocketOption {
  /// `SO_DEBUG`.
  public static let debug: Int32 = 1
  /// `SO_REUSEADDR`.
  public static let reuseAddress: Int32 = 2
  /// `SO_TYPE`: the socket's kind (read-only).
  public static let type: Int32 = 3
  /// `SO_ERROR`: the pending error, cleared by reading (read-only).
  public static let error: Int32 = 4
  /// `SO_DONTROUTE`.
  public static let dontRoute: Int32 = 5
  /// `SO_BROADCAST`.
  public static let broadcast: Int32 = 6
  /// `SO_SNDBUF`.
  public static let sendBuffer: Int32 = 7
  /// `SO_RCVBUF`.
  public static let receiveBuffer: Int32 = 8
  /// `SO_KEEPALIVE`.
  public static let keepAlive: Int32 = 9
  /// `SO_OOBINLINE`.
  public static let outOfBandInline: Int32 = 10
  /// `SO_LINGER`: a `struct linger`.
  public static let linger: Int32 = 13
  /// `SO_REUSEPORT`.
  public static let reusePort: Int32 = 15
  /// `SO_PASSCRED`.
  public static let passCredentials: Int32 = 16
  /// `SO_PEERCRED`: a `struct ucred` (read-only).
  public static let peerCredentials: Int32 = 17
  /// `SO_RCVLOWAT`.
  public static let receiveLowWater: Int32 = 18
  /// `SO_SNDLOWAT`.
  public static let sendLowWater: Int32 = 19
  /// `SO_RCVTIMEO` (the 64-bit `struct timeval` form on x86_64).
  public static let receiveTimeout: Int32 = 20
  /// `SO_SNDTIMEO`.
  public static let sendTimeout: Int32 = 21
  /// `SO_ACCEPTCONN`: whether the socket listens (read-only).
  public static let acceptsConnections: Int32 = 30
  /// `SO_PROTOCOL` (read-only).
  public static let protocolNumber: Int32 = 38
  /// `SO_DOMAIN` (read-only).
  public static let domain: Int32 = 39
}

/// Option names at `IPPROTO_TCP` (tcp(7)).
public enum TCPOption {
  /// `TCP_NODELAY`.
  public static let noDelay: Int32 = 1
  /// `TCP_MAXSEG`.
  public static let maximumSegment: Int32 = 2
  /// `TCP_KEEPIDLE`, in seconds.
  public static let keepIdle: Int32 = 4
  /// `TCP_KEEPINTVL`, in seconds.
  public static let keepInterval: Int32 = 5
  /// `TCP_KEEPCNT`, in probes.
  public static let keepCount: Int32 = 6
}

/// Option names at `IPPROTO_IP` (ip(7)).
public enum IPOption {
  /// `IP_TOS`.
  public static let typeOfService: Int32 = 1
  /// `IP_TTL`.
  public static let timeToLive: Int32 = 2
}

/// Option names at `IPPROTO_IPV6` (ipv6(7)).
public enum IPv6Option {
  /// `IPV6_V6ONLY`: the socket carries IPv6 only, never IPv4-mapped
  /// traffic.
  public static let v6Only: Int32 = 26
}

/// `MSG_*`: the `flags` of send(2) and recv(2), and `msg_flags`.
public enum MessageFlags {
  /// `MSG_OOB`: urgent data.
  public static let outOfBand: Int32 = 0x1
  /// `MSG_PEEK`: read without consuming.
  public static let peek: Int32 = 0x2
  /// `MSG_DONTROUTE`.
  public static let dontRoute: Int32 = 0x4
  /// `MSG_CTRUNC`: ancillary data was cut (in `msg_flags`).
  public static let controlTruncated: Int32 = 0x8
  /// `MSG_TRUNC`: on receive, return a datagram's real length; in
  /// `msg_flags`, the datagram was cut.
  public static let truncate: Int32 = 0x20
  /// `MSG_DONTWAIT`: this call does not block.
  public static let dontWait: Int32 = 0x40
  /// `MSG_EOR`.
  public static let endOfRecord: Int32 = 0x80
  /// `MSG_WAITALL`: wait for the whole buffer.
  public static let waitAll: Int32 = 0x100
  /// `MSG_NOSIGNAL`: no SIGPIPE on a broken stream.
  public static let noSignal: Int32 = 0x4000
  /// `MSG_MORE`: more data follows (a hint).
  public static let more: Int32 = 0x8000
  /// `MSG_WAITFORONE`: recvmmsg(2) stops waiting after one message.
  public static let waitForOne: Int32 = 0x10000
  /// `MSG_CMSG_CLOEXEC`: close-on-exec for received descriptors.
  public static let controlCloseOnExec: Int32 = 0x4000_0000
}

/// `SHUT_*`: the `how` of shutdown(2).
public enum ShutdownHow {
  public static let read: Int32 = 0
  public static let write: Int32 = 1
  public static let both: Int32 = 2
}

/// `struct sockaddr_in` (16 bytes): an IPv4 address and port.
///
/// On the wire of the ABI, `sin_port` and `sin_addr` are big-endian;
/// here both are host-order numbers (127.0.0.1 is 0x7F00_0001).
public struct SockaddrIn: LinuxStruct, Hashable, Sendable {
  /// `sin_port`, at offset 2 (big-endian in memory).
  public var port: UInt16
  /// `sin_addr.s_addr`, at offset 4 (big-endian in memory).
  public var address: UInt32

  public init(address: UInt32, port: UInt16) {
    self.address = address
    self.port = port
  }

  public static let byteCount = 16

  public func encoded() -> [UInt8] {
    var writer = ByteWriter(count: Self.byteCount)
    writer.put(AddressFamily.inet, at: 0)
    writer.put(port.byteSwapped, at: 2)
    writer.put(address.byteSwapped, at: 4)
    return writer.bytes
  }

  /// Decodes the 16 bytes; the family is not checked here (callers
  /// report a wrong family with their own errno), and `sin_zero` is
  /// ignored as Linux ignores it.
  public init?(bytes: some RandomAccessCollection<UInt8>) {
    guard let reader = ByteReader(bytes, count: Self.byteCount) else {
      return nil
    }
    port = reader.read(UInt16.self, at: 2).byteSwapped
    address = reader.read(UInt32.self, at: 4).byteSwapped
  }
}

/// `struct sockaddr_in6` (28 bytes): family, port (big-endian), flow
/// information, the 16-byte address, and the scope id (ipv6(7)).
public struct SockaddrIn6: LinuxStruct, Hashable, Sendable {
  /// `sin6_port`, at offset 2 (big-endian in memory).
  public var port: UInt16
  /// `sin6_flowinfo`, at offset 4.
  public var flowInfo: UInt32
  /// `sin6_addr`, at offset 8, in network order.
  public var address: [UInt8]
  /// `sin6_scope_id`, at offset 24.
  public var scopeID: UInt32

  public init(address: [UInt8], port: UInt16, flowInfo: UInt32 = 0,
              scopeID: UInt32 = 0)
  {
    self.address = address
    self.port = port
    self.flowInfo = flowInfo
    self.scopeID = scopeID
  }

  public static let byteCount = 28
  /// The shortest address Linux takes: the RFC 2133 layout, which had no
  /// scope id (SIN6_LEN_RFC2133).
  public static let minimumByteCount = 24

  /// The IPv4-mapped address ::ffff:a.b.c.d of an IPv4 address (host
  /// order), except that 0.0.0.0 maps to ::, as Linux names a socket
  /// bound to the wildcard.
  public static func mapped(ipv4 address: UInt32) -> [UInt8] {
    if address == 0 { return [UInt8](repeating: 0, count: 16) }
    return [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF]
      + [UInt8(address >> 24), UInt8(address >> 16 & 0xFF),
         UInt8(address >> 8 & 0xFF), UInt8(address & 0xFF)]
  }

  /// The IPv4 address (host order) that `address` carries: :: is the
  /// wildcard 0.0.0.0, ::ffff:a.b.c.d is a.b.c.d; nil for any other,
  /// a real IPv6 address.
  public var ipv4: UInt32? {
    if address.allSatisfy({ $0 == 0 }) { return 0 }
    guard address[0..<10].allSatisfy({ $0 == 0 }),
      address[10] == 0xFF, address[11] == 0xFF
    else { return nil }
    return UInt32(address[12]) << 24 | UInt32(address[13]) << 16
      | UInt32(address[14]) << 8 | UInt32(address[15])
  }

  public func encoded() -> [UInt8] {
    var writer = ByteWriter(count: Self.byteCount)
    writer.put(AddressFamily.inet6, at: 0)
    writer.put(port.byteSwapped, at: 2)
    writer.put(flowInfo, at: 4)
    for (i, byte) in address.prefix(16).enumerated() {
      writer.put(byte, at: 8 + i)
    }
    writer.put(scopeID, at: 24)
    return writer.bytes
  }

  /// Decodes 24 or more bytes (the scope id is zero when absent); the
  /// family is not checked here.
  public init?(bytes: some RandomAccessCollection<UInt8>) {
    let count = min(bytes.count, Self.byteCount)
    guard count >= Self.minimumByteCount,
      let reader = ByteReader(Array(bytes.prefix(count)), count: count)
    else { return nil }
    port = reader.read(UInt16.self, at: 2).byteSwapped
    flowInfo = reader.read(UInt32.self, at: 4)
    address = (8..<24).map { reader.read(UInt8.self, at: $0) }
    scopeID = count >= Self.byteCount ? reader.read(UInt32.self, at: 24) : 0
  }
}

/// `struct sockaddr_un` (110 bytes): a family and `sun_path[108]`.
///
/// Three kinds of address share the layout (unix(7)): a path,
/// NUL-terminated unless it fills the array; an abstract name, whose
/// first byte is NUL and whose length is given by the address length;
/// and the unnamed address, the family alone.
public enum SockaddrUn {
  public static let byteCount = 110
  /// `offsetof(struct sockaddr_un, sun_path)`.
  public static let pathOffset = 2
  /// `sizeof(sun_path)`.
  public static let pathCapacity = 108
}

/// `struct msghdr` (56 bytes): the argument of sendmsg(2) and recvmsg(2).
/// The pointers are user addresses, as plain numbers.
public struct Msghdr: LinuxStruct, Hashable, Sendable {
  /// `msg_name`, at offset 0: the peer address, or 0.
  public var name: UInt64
  /// `msg_namelen`, at offset 8.
  public var nameLength: UInt32
  /// `msg_iov`, at offset 16.
  public var iov: UInt64
  /// `msg_iovlen`, at offset 24.
  public var iovLength: UInt64
  /// `msg_control`, at offset 32: ancillary data, or 0.
  public var control: UInt64
  /// `msg_controllen`, at offset 40.
  public var controlLength: UInt64
  /// `msg_flags`, at offset 48: set by recvmsg(2).
  public var flags: Int32

  public init(name: UInt64 = 0, nameLength: UInt32 = 0, iov: UInt64 = 0,
              iovLength: UInt64 = 0, control: UInt64 = 0,
              controlLength: UInt64 = 0, flags: Int32 = 0)
  {
    self.name = name
    self.nameLength = nameLength
    self.iov = iov
    self.iovLength = iovLength
    self.control = control
    self.controlLength = controlLength
    self.flags = flags
  }

  public static let byteCount = 56
  /// Where `msg_namelen` sits, for writing back only it.
  public static let nameLengthOffset = 8
  /// Where `msg_controllen` sits.
  public static let controlLengthOffset = 40
  /// Where `msg_flags` sits.
  public static let flagsOffset = 48

  public func encoded() -> [UInt8] {
    var writer = ByteWriter(count: Self.byteCount)
    writer.put(name, at: 0)
    writer.put(nameLength, at: 8)
    writer.put(iov, at: 16)
    writer.put(iovLength, at: 24)
    writer.put(control, at: 32)
    writer.put(controlLength, at: 40)
    writer.put(flags, at: 48)
    return writer.bytes
  }

  public init?(bytes: some RandomAccessCollection<UInt8>) {
    guard let reader = ByteReader(bytes, count: Self.byteCount) else {
      return nil
    }
    name = reader.read(UInt64.self, at: 0)
    nameLength = reader.read(UInt32.self, at: 8)
    iov = reader.read(UInt64.self, at: 16)
    iovLength = reader.read(UInt64.self, at: 24)
    control = reader.read(UInt64.self, at: 32)
    controlLength = reader.read(UInt64.self, at: 40)
    flags = reader.read(Int32.self, at: 48)
  }
}

/// `struct mmsghdr` (64 bytes): a `msghdr` and `msg_len`, the bytes that
/// sendmmsg(2) sent or recvmmsg(2) received for it.
public enum Mmsghdr {
  public static let byteCount = 64
  /// `offsetof(struct mmsghdr, msg_len)`.
  public static let lengthOffset = 56
}

/// `struct linger` (8 bytes): SO_LINGER's value.
public struct Linger: LinuxStruct, Hashable, Sendable {
  /// `l_onoff`, at offset 0.
  public var enabled: Int32
  /// `l_linger`, at offset 4: seconds.
  public var seconds: Int32

  public init(enabled: Int32, seconds: Int32) {
    self.enabled = enabled
    self.seconds = seconds
  }

  public static let byteCount = 8

  public func encoded() -> [UInt8] {
    var writer = ByteWriter(count: Self.byteCount)
    writer.put(enabled, at: 0)
    writer.put(seconds, at: 4)
    return writer.bytes
  }

  public init?(bytes: some RandomAccessCollection<UInt8>) {
    guard let reader = ByteReader(bytes, count: Self.byteCount) else {
      return nil
    }
    enabled = reader.read(Int32.self, at: 0)
    seconds = reader.read(Int32.self, at: 4)
  }
}
