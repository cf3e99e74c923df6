// A socket as an open file: what every address family shares. The
// socket system calls (Syscalls/SocketSyscalls.swift) copy addresses and
// data between user memory and kernel buffers and then call these
// methods; each family (InetSocket, UnixSocket) overrides what it
// supports, and the defaults fail as Linux does for a socket that cannot.
// read(2) and write(2) are recv and send without flags, so poll, epoll,
// select, read, write, readv and writev work on sockets unchanged.
//
// Addresses cross this interface as the raw bytes of a sockaddr, which
// each family checks itself: the errno for a short or foreign address
// differs between families and calls.

import LinuxABI

private let log = Logger("socket")

/// What one receive delivered.
struct ReceivedMessage {
  /// Bytes copied into the caller's buffer.
  var count: Int
  /// The message's full length (larger than `count` when a datagram was
  /// cut; equal for streams).
  var length: Int
  /// The sender's address as a sockaddr, or empty when there is none to
  /// report (a connected stream).
  var source: [UInt8]
}

class Socket: OpenFile {
  /// AF_INET or AF_UNIX.
  let domain: UInt16
  /// SOCK_STREAM or SOCK_DGRAM.
  let kind: Int32
  /// SO_RCVTIMEO and SO_SNDTIMEO in nanoseconds; 0 waits forever.
  var receiveTimeout: UInt64 = 0
  var sendTimeout: UInt64 = 0
  /// A number for fstat and /proc/self/fd, unique among sockets.
  let socketInode: UInt64

  private static var nextInode: UInt64 = 100_000

  init(domain: UInt16, kind: Int32, flags: UInt32) {
    self.domain = domain
    self.kind = kind
    Socket.nextInode += 1
    socketInode = Socket.nextInode
    super.init()
    statusFlags = OpenFlags.rdwr.rawValue | (flags & OpenFile.nonBlockFlag)
  }

  var isStream: Bool { kind == SocketType.stream }

  // MARK: The calls each family implements

  func bind(_ address: [UInt8]) throws(Errno) { throw .EOPNOTSUPP }

  func listen(backlog: Int) throws(Errno) { throw .EOPNOTSUPP }

  /// Waits (when allowed) for a connection and returns its socket, with
  /// `flags` (O_NONBLOCK) as its status flags.
  func accept(mayBlock: Bool, flags: UInt32) throws(Errno) -> Socket {
    throw .EOPNOTSUPP
  }

  func connect(_ address: [UInt8], mayBlock: Bool) throws(Errno) {
    throw .EOPNOTSUPP
  }

  /// Sends one datagram, or stream bytes (all of them unless the call
  /// may not block or is interrupted after some went). `address` is
  /// sendto's destination, nil when none was given.
  func send(_ data: UnsafeRawBufferPointer, to address: [UInt8]?,
            flags: Int32, mayBlock: Bool) throws(Errno) -> Int
  {
    throw .EOPNOTSUPP
  }

  func receive(into buffer: UnsafeMutableRawBufferPointer, flags: Int32,
               mayBlock: Bool) throws(Errno) -> ReceivedMessage
  {
    throw .EOPNOTSUPP
  }

  func shutdown(_ how: Int32) throws(Errno) { throw .EOPNOTSUPP }

  func localName() throws(Errno) -> [UInt8] { throw .EOPNOTSUPP }

  func peerName() throws(Errno) -> [UInt8] { throw .ENOTCONN }

  var isListening: Bool { false }

  /// SO_PROTOCOL: what socket(2)'s third argument would have named.
  var protocolNumber: Int32 { 0 }

  /// getsockopt for options of the family or protocol; the shared
  /// SOL_SOCKET ones are answered in `option(level:name:)` first.
  func familyOption(level: Int32, name: Int32) throws(Errno) -> [UInt8] {
    throw Socket.unsupportedOption(level: level, name: name)
  }

  func setFamilyOption(level: Int32, name: Int32, value: [UInt8])
    throws(Errno)
  {
    throw Socket.unsupportedOption(level: level, name: name)
  }

  // MARK: Options every socket has

  func option(level: Int32, name: Int32) throws(Errno) -> [UInt8] {
    if level == SocketLevel.socket {
      switch name {
      case SocketOption.type: return Socket.int(kind)
      case SocketOption.domain: return Socket.int(Int32(domain))
      case SocketOption.protocolNumber: return Socket.int(protocolNumber)
      case SocketOption.acceptsConnections:
        return Socket.int(isListening ? 1 : 0)
      case SocketOption.receiveTimeout:
        return Socket.timeval(nanoseconds: receiveTimeout)
      case SocketOption.sendTimeout:
        return Socket.timeval(nanoseconds: sendTimeout)
      default: break
      }
    }
    return try familyOption(level: level, name: name)
  }

  func setOption(level: Int32, name: Int32, value: [UInt8]) throws(Errno) {
    if level == SocketLevel.socket {
      switch name {
      case SocketOption.type, SocketOption.domain,
        SocketOption.protocolNumber, SocketOption.acceptsConnections:
        // Read-only, as on Linux.
        throw .ENOPROTOOPT
      case SocketOption.receiveTimeout:
        receiveTimeout = try Socket.timeout(value)
        return
      case SocketOption.sendTimeout:
        sendTimeout = try Socket.timeout(value)
        return
      default: break
      }
    }
    try setFamilyOption(level: level, name: name, value: value)
  }

  // MARK: Waiting

  /// The deadline a receive (or send) waits until, from SO_RCVTIMEO.
  func deadline(receiving: Bool) -> UInt64? {
    let timeout = receiving ? receiveTimeout : sendTimeout
    guard timeout > 0 else { return nil }
    return Clock.monotonicNanoseconds() &+ timeout
  }

  /// What a signal during the wait turns into: a restart when the socket
  /// has no timeout, else EINTR (Linux's sock_intr_errno).
  func restartMarker(receiving: Bool) -> Errno {
    (receiving ? receiveTimeout : sendTimeout) == 0
      ? Signals.restartSyscall : .EINTR
  }

  // MARK: As a file

  override func read(into buffer: UnsafeMutableRawBufferPointer,
                     mayBlock: Bool) throws(Errno) -> Int
  {
    try receive(into: buffer, flags: 0, mayBlock: mayBlock).count
  }

  override func write(_ buffer: UnsafeRawBufferPointer, mayBlock: Bool)
    throws(Errno) -> Int
  {
    try send(buffer, to: nil, flags: 0, mayBlock: mayBlock)
  }

  override func status() -> Stat {
    var stat = super.status()
    stat.ino = socketInode
    stat.mode = FileMode(rawValue: 0o140777)
    stat.dev = 0x08
    return stat
  }

  override var procName: [UInt8] { Array("socket:[\(socketInode)]".utf8) }

  /// Readiness changed: bump the generation and wake waiters.
  func bumpGeneration() { notifyChanged() }

  // MARK: Option values

  static func int(_ value: Int32) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: 4)
    bytes.store(value, at: 0)
    return bytes
  }

  /// An int option's value; Linux wants at least four bytes (EINVAL).
  static func intValue(_ value: [UInt8]) throws(Errno) -> Int32 {
    guard value.count >= 4 else { throw .EINVAL }
    return value.load(at: 0)
  }

  static func timeval(nanoseconds: UInt64) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: 16)
    bytes.store(Int64(nanoseconds / 1_000_000_000), at: 0)
    bytes.store(Int64(nanoseconds % 1_000_000_000 / 1000), at: 8)
    return bytes
  }

  /// SO_RCVTIMEO's struct timeval: a negative time means no timeout, a
  /// microsecond count outside 0..<1e6 is EDOM (socket(7)).
  static func timeout(_ value: [UInt8]) throws(Errno) -> UInt64 {
    guard value.count >= 16 else { throw .EINVAL }
    let seconds: Int64 = value.load(at: 0)
    let micros: Int64 = value.load(at: 8)
    guard micros >= 0, micros < 1_000_000 else { throw .EDOM }
    if seconds < 0 { return 0 }
    let total = UInt64(seconds).multipliedReportingOverflow(
      by: 1_000_000_000)
    if total.overflow { return 0 }
    return total.partialValue &+ UInt64(micros) * 1000
  }

  /// Options no family here implements: ENOPROTOOPT, logged once each.
  static func unsupportedOption(level: Int32, name: Int32) -> Errno {
    let key = Int(level) << 16 | Int(name & 0xFFFF)
    if !reportedOptions.contains(key) && reportedOptions.count < 64 {
      reportedOptions.append(key)
      log.warn("option level \(level) name \(name) not supported: "
        + "ENOPROTOOPT")
    }
    return .ENOPROTOOPT
  }

  private static var reportedOptions: [Int] = []

  /// Flags or modes refused loudly: the errno, logged once per text.
  static func refuse(_ what: String, _ error: Errno) -> Errno {
    if !reportedRefusals.contains(what) && reportedRefusals.count < 64 {
      reportedRefusals.append(what)
      log.warn("\(what) not supported: \(error.name)")
    }
    return error
  }

  private static var reportedRefusals: [String] = []
}
