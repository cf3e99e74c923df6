// The vocabulary of the socket interface the kernel's syscall layer calls:
// handles, errors, readiness and options. The stack reports failures as a
// NetError; the kernel turns each into an errno in one table, so these
// cases follow the errno values sockets(7), tcp(7) and udp(7) document.

/// A socket owned by the caller. Handles are small integers, reused after
/// `close`, like file descriptors.
public struct SocketHandle: Hashable, Sendable, CustomStringConvertible {
  public var rawValue: Int32

  public init(rawValue: Int32) {
    self.rawValue = rawValue
  }

  public var description: String { "socket " + String(rawValue) }
}

/// Why a socket call failed. The comment names the errno it becomes.
public enum NetError: Error, Equatable, Sendable {
  /// EAGAIN: nothing to read, no buffer space, or not yet connected.
  case wouldBlock
  /// ECONNREFUSED: the peer answered with a reset or port unreachable.
  case connectionRefused
  /// ECONNRESET: the peer reset an established connection.
  case connectionReset
  /// ECONNABORTED: the connection died before it was accepted.
  case connectionAborted
  /// ETIMEDOUT: retransmissions or keepalive probes went unanswered.
  case timedOut
  /// EADDRINUSE: the local address is taken.
  case addressInUse
  /// EADDRNOTAVAIL: the address is not this host's, or no port is free.
  case addressNotAvailable
  /// ENOTCONN: the operation needs a connected socket.
  case notConnected
  /// EISCONN: the socket is already connected.
  case alreadyConnected
  /// EALREADY: a connection attempt is in progress.
  case alreadyInProgress
  /// EINVAL: the argument does not suit the socket's state.
  case invalidArgument
  /// EBADF: no such handle.
  case badHandle
  /// EOPNOTSUPP: the operation does not apply to this kind of socket.
  case notSupported
  /// EMSGSIZE: a datagram larger than the protocol allows.
  case messageTooLong
  /// EHOSTUNREACH: the peer did not answer address resolution.
  case hostUnreachable
  /// ENETUNREACH: no route to the destination.
  case networkUnreachable
  /// EPIPE: sending after the sending side was shut down.
  case brokenPipe
  /// ENOBUFS: the stack's tables are full.
  case noBufferSpace
  /// EACCES: broadcast without SO_BROADCAST.
  case permissionDenied
  /// EDESTADDRREQ: a datagram without a destination on an unconnected
  /// socket.
  case destinationAddressRequired
}

/// The conditions poll(2) and epoll(7) report, as the stack sees them.
public struct SocketReadiness: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// A read or accept would not block (data, end of stream, or error).
  public static let readable = SocketReadiness(rawValue: 1 << 0)
  /// A write would not block (buffer space, or a failure to report).
  public static let writable = SocketReadiness(rawValue: 1 << 1)
  /// A pending error (SO_ERROR) is set.
  public static let error = SocketReadiness(rawValue: 1 << 2)
  /// Both directions are finished (POLLHUP).
  public static let hangUp = SocketReadiness(rawValue: 1 << 3)
  /// The peer finished sending (POLLRDHUP).
  public static let readHangUp = SocketReadiness(rawValue: 1 << 4)
  /// The connection was established (non-blocking connect completed).
  public static let connected = SocketReadiness(rawValue: 1 << 5)
}

/// Which direction `shutdown` finishes (SHUT_RD, SHUT_WR, SHUT_RDWR).
public enum ShutdownDirection: Sendable {
  case read
  case write
  case both
}

/// Per-socket settings; read them, change a field, write them back.
public struct SocketOptions: Equatable, Sendable {
  /// TCP_NODELAY: send small segments without waiting (no Nagle).
  public var noDelay = false
  /// SO_KEEPALIVE and its timing (TCP_KEEPIDLE, TCP_KEEPINTVL,
  /// TCP_KEEPCNT), in seconds and probes; Linux's defaults.
  public var keepAlive = false
  public var keepIdle: UInt32 = 7200
  public var keepInterval: UInt32 = 75
  public var keepCount: UInt32 = 9
  /// SO_SNDBUF and SO_RCVBUF in bytes. A TCP receive buffer is fixed
  /// when the connection's SYN is sent (it decides the window scale);
  /// later changes only grow it.
  public var sendBufferSize: Int
  public var receiveBufferSize: Int
  /// SO_REUSEADDR: bind despite connections in TIME-WAIT on the port.
  public var reuseAddress = false
  /// SO_BROADCAST: allow datagrams to broadcast addresses.
  public var broadcast = false
  /// SO_LINGER with a zero timeout: close sends a reset and discards
  /// unsent data; false is the default graceful close.
  /// TODO(sockets): a non-zero linger time (blocking close) is not
  /// modelled; the kernel must refuse it.
  public var lingerZero = false
  /// IP_TTL and IP_TOS.
  public var timeToLive: UInt8 = 64
  public var typeOfService: UInt8 = 0

  public init(sendBufferSize: Int = 256 * 1024,
              receiveBufferSize: Int = 256 * 1024)
  {
    self.sendBufferSize = sendBufferSize
    self.receiveBufferSize = receiveBufferSize
  }
}

/// What `receiveFrom` delivered for one datagram.
public struct DatagramInfo: Equatable, Sendable {
  /// Bytes copied into the caller's buffer.
  public var count: Int
  /// The datagram's full length; larger than `count` when truncated.
  public var length: Int
  public var source: SocketAddress

  public init(count: Int, length: Int, source: SocketAddress) {
    self.count = count
    self.length = length
    self.source = source
  }
}

/// The TCP connection states of RFC 9293 3.3.2.
public enum TCPState: Equatable, Sendable {
  case closed
  case listen
  case synSent
  case synReceived
  case established
  case finWait1
  case finWait2
  case closeWait
  case closing
  case lastAck
  case timeWait
}
