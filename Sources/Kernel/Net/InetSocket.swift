// AF_INET sockets: TCP (SOCK_STREAM) and UDP (SOCK_DGRAM) over the
// kernel's NetStack, through NetworkService. Each socket holds one stack
// handle. The stack never blocks; this file gives the calls their
// blocking shapes (ip(7), tcp(7), udp(7)):
// - connect waits for the handshake, or returns EINPROGRESS on a
//   non-blocking socket and leaves the outcome to SO_ERROR;
// - a stream send waits until every byte is queued, a datagram send
//   queues the whole datagram or nothing;
// - receive waits until something arrives, or the end of the stream.
// Sending on a stream whose sending side is finished is EPIPE (the
// syscall layer raises SIGPIPE unless MSG_NOSIGNAL).
//
// AF_INET6 sockets are the same sockets with IPv6 names: the stack
// carries IPv4 only, so an AF_INET6 socket works with IPv4-mapped
// addresses (::ffff:a.b.c.d) and the wildcard ::, as a dual-stack
// socket with IPV6_V6ONLY off does on Linux (ipv6(7)). A server that
// listens on [::] thus serves IPv4 clients, and names come back as
// sockaddr_in6. Real IPv6 addresses are refused: binding one is
// EADDRNOTAVAIL, reaching one ENETUNREACH, and IPV6_V6ONLY cannot be
// turned on.
// TODO(net): IPv6 itself (neighbour discovery, SLAAC, ::1) in NetStack.

import LinuxABI
import NetStack

private let log = Logger("inet")

final class InetSocket: Socket {
  let handle: SocketHandle
  /// A non-blocking connect is under way: a second connect reports
  /// EALREADY, and the first one after it completes returns 0, as Linux's
  /// does.
  private var connectInProgress = false
  private var listening = false
  /// SO_REUSEPORT is recorded and reported back.
  /// TODO(net): SO_REUSEPORT does not let two sockets listen on one port
  /// (the second listen is EADDRINUSE); the stack has no load balancing.
  private var reusePort = false
  /// The poll events last seen by NetworkService's readiness scan.
  var reportedEvents: UInt32 = 0

  override func pollEventsWithoutStack() -> UInt32 { reportedEvents }

  /// socket(AF_INET or AF_INET6, kind, 0).
  static func open(family: UInt16, kind: Int32, flags: UInt32)
    throws(Errno) -> InetSocket
  {
    let handle: SocketHandle
    do throws(NetError) {
      handle = try NetworkService.withStack { (stack) throws(NetError) in
        kind == SocketType.stream ? try stack.openTCP() : try stack.openUDP()
      }
    } catch {
      throw Errno(error)
    }
    return InetSocket(handle: handle, family: family, kind: kind,
                      flags: flags)
  }

  private init(handle: SocketHandle, family: UInt16, kind: Int32,
               flags: UInt32)
  {
    self.handle = handle
    super.init(domain: family, kind: kind, flags: flags)
    reportedEvents = pollEvents()
    NetworkService.register(self)
  }

  override var isListening: Bool { listening }

  override var protocolNumber: Int32 {
    isStream ? SocketLevel.tcp : SocketLevel.udp
  }

  // MARK: Addresses

  /// What an address from the caller is for: a real IPv6 one is
  /// refused with a different errno for each.
  enum AddressUse {
    case binding, reaching
  }

  /// The caller's sockaddr_in (or sockaddr_in6 on an AF_INET6 socket);
  /// `allowUnspecified` accepts AF_UNSPEC as AF_INET (bind does, for
  /// INADDR_ANY, as Linux's inet_bind).
  func address(_ bytes: [UInt8], use: AddressUse,
               allowUnspecified: Bool = false)
    throws(Errno) -> SocketAddress
  {
    let family = bytes.count >= 2 ? UInt16(bytes[0]) | UInt16(bytes[1]) << 8
      : 0
    // An AF_INET6 socket reaches a sockaddr_in as its mapped form
    // (tcp_v6_connect, udpv6_sendmsg); bind wants its own family.
    if domain == AddressFamily.inet6
      && !(use == .reaching && family == AddressFamily.inet)
    {
      return try InetSocket.mappedAddress(bytes, family: family, use: use)
    }
    guard bytes.count >= SockaddrIn.byteCount,
      let sockaddr = SockaddrIn(bytes: bytes[0..<SockaddrIn.byteCount])
    else { throw .EINVAL }
    if family != AddressFamily.inet {
      guard allowUnspecified, family == AddressFamily.unspecified,
        sockaddr.address == 0
      else { throw .EAFNOSUPPORT }
    }
    return SocketAddress(IPv4Address(rawValue: sockaddr.address),
                         sockaddr.port)
  }

  /// The IPv4 address a sockaddr_in6 carries (see the file's comment).
  private static func mappedAddress(_ bytes: [UInt8], family: UInt16,
                                    use: AddressUse)
    throws(Errno) -> SocketAddress
  {
    guard let sockaddr = SockaddrIn6(bytes: bytes) else { throw .EINVAL }
    guard family == AddressFamily.inet6 else { throw .EAFNOSUPPORT }
    guard let ipv4 = sockaddr.ipv4 else {
      throw Socket.refuse("IPv6 addresses other than IPv4-mapped ones",
                          use == .binding ? .EADDRNOTAVAIL : .ENETUNREACH)
    }
    return SocketAddress(IPv4Address(rawValue: ipv4), sockaddr.port)
  }

  /// A name for the caller, in the socket's own family.
  func sockaddr(_ address: SocketAddress) -> [UInt8] {
    if domain == AddressFamily.inet6 {
      return SockaddrIn6(
        address: SockaddrIn6.mapped(ipv4: address.address.rawValue),
        port: address.port
      ).encoded()
    }
    return SockaddrIn(address: address.address.rawValue, port: address.port)
      .encoded()
  }

  override func localName() throws(Errno) -> [UInt8] {
    let local = try inspect { (stack) throws(NetError) in
      try stack.localAddress(self.handle)
    }
    return sockaddr(local)
  }

  override func peerName() throws(Errno) -> [UInt8] {
    let peer = try inspect { (stack) throws(NetError) in
      try stack.peerAddress(self.handle)
    }
    return sockaddr(peer)
  }

  // MARK: Setting up

  override func bind(_ address: [UInt8]) throws(Errno) {
    let target = try self.address(address, use: .binding,
                                  allowUnspecified: true)
    try change { (stack) throws(NetError) in
      try stack.bind(self.handle, to: target)
    }
  }

  override func listen(backlog: Int) throws(Errno) {
    guard isStream else { throw .EOPNOTSUPP }
    // Linux clamps to somaxconn (4096); a negative backlog means that.
    let size = backlog < 0 || backlog > 4096 ? 4096 : backlog
    try change { (stack) throws(NetError) in
      try stack.listen(self.handle, backlog: size)
    }
    listening = true
  }

  override func accept(mayBlock: Bool, flags: UInt32) throws(Errno)
    -> Socket
  {
    guard isStream else { throw .EOPNOTSUPP }
    guard listening else { throw .EINVAL }
    let accepted = try NetworkService.perform(
      mayBlock: mayBlock, deadline: deadline(receiving: true),
      restart: restartMarker(receiving: true))
    { (stack) throws(NetError) in
      try stack.tcpAccept(self.handle)
    }
    return InetSocket(handle: accepted, family: domain,
                      kind: SocketType.stream, flags: flags)
  }

  override func connect(_ address: [UInt8], mayBlock: Bool) throws(Errno) {
    let family = address.count >= 2
      ? UInt16(address[0]) | UInt16(address[1]) << 8 : 0
    guard address.count >= 2 else { throw .EINVAL }
    if !isStream && family == AddressFamily.unspecified {
      // connect(2): AF_UNSPEC dissolves a datagram socket's peer.
      try change { (stack) throws(NetError) in
        try stack.connect(self.handle, to: .unspecified)
      }
      return
    }
    if isStream && family == AddressFamily.unspecified {
      // TODO(net): AF_UNSPEC on a stream socket disconnects on Linux.
      throw Socket.refuse("connect(AF_UNSPEC) on a TCP socket", .EOPNOTSUPP)
    }
    let target = try self.address(address, use: .reaching)
    guard isStream else {
      try change { (stack) throws(NetError) in
        try stack.connect(self.handle, to: target)
      }
      return
    }
    do throws(NetError) {
      try NetworkService.withStack { (stack) throws(NetError) in
        try stack.connect(self.handle, to: target)
      }
    } catch {
      switch error {
      case .alreadyInProgress:
        if !mayBlock { throw .EALREADY }
      case .alreadyConnected where connectInProgress:
        connectInProgress = false
        return
      default:
        throw Errno(error)
      }
    }
    guard mayBlock else {
      connectInProgress = true
      throw .EINPROGRESS
    }
    try waitForConnection()
  }

  /// Blocking connect: waits for ESTABLISHED or a failure, which becomes
  /// the error (and is cleared from SO_ERROR, as Linux's sock_error does).
  private func waitForConnection() throws(Errno) {
    do throws(Errno) {
      try NetworkService.perform(
        mayBlock: true, deadline: deadline(receiving: false),
        restart: restartMarker(receiving: false))
      { (stack) throws(NetError) in
        let readiness = try stack.readiness(self.handle)
        if readiness.contains(.connected) { return }
        if try stack.tcpState(self.handle) == .closed {
          throw try stack.takeError(self.handle) ?? .connectionAborted
        }
        throw .wouldBlock
      }
      connectInProgress = false
    } catch {
      // SO_SNDTIMEO ran out: the attempt goes on (connect(2)).
      if error == .EAGAIN {
        connectInProgress = true
        throw .EINPROGRESS
      }
      if error == .EINTR || error == Signals.restartSyscall {
        connectInProgress = true
      } else {
        connectInProgress = false
      }
      throw error
    }
  }

  // MARK: Data

  override func send(_ data: UnsafeRawBufferPointer, to address: [UInt8]?,
                     flags: Int32, mayBlock: Bool) throws(Errno) -> Int
  {
    if isStream { return try sendStream(data, mayBlock: mayBlock) }
    var destination: SocketAddress? = nil
    if let address {
      let family = address.count >= 2
        ? UInt16(address[0]) | UInt16(address[1]) << 8 : 0
      // udp_sendmsg: AF_UNSPEC is taken as AF_INET.
      if family == AddressFamily.unspecified && address.count >= 16 {
        var copy = address
        copy[0] = UInt8(AddressFamily.inet)
        destination = try self.address(copy, use: .reaching)
      } else {
        destination = try self.address(address, use: .reaching)
      }
    }
    return try NetworkService.perform(
      mayBlock: mayBlock, deadline: deadline(receiving: false),
      restart: restartMarker(receiving: false))
    { (stack) throws(NetError) in
      // inet_send_prepare: an unbound socket gets a port before the
      // send is even checked, so one that fails still binds.
      if try stack.localAddress(self.handle).port == 0 {
        try stack.bind(self.handle, to: .unspecified)
      }
      return try stack.sendTo(self.handle, data, to: destination)
    }
  }

  /// Queues all of `data` unless the socket may not block (then what
  /// fits now) or a signal or timeout interrupts after some was queued.
  private func sendStream(_ data: UnsafeRawBufferPointer, mayBlock: Bool)
    throws(Errno) -> Int
  {
    var done = 0
    let deadline = deadline(receiving: false)
    repeat {
      do throws(Errno) {
        let rest = UnsafeRawBufferPointer(rebasing: data[done...])
        done += try NetworkService.perform(
          mayBlock: mayBlock, deadline: deadline,
          restart: restartMarker(receiving: false))
        { (stack) throws(NetError) in
          do throws(NetError) {
            return try stack.send(self.handle, rest)
          } catch {
            // tcp_sendmsg: a socket that never connected is EPIPE too.
            throw error == .notConnected ? .brokenPipe : error
          }
        }
      } catch {
        if done > 0 { return done }
        throw error
      }
    } while done < data.count
    return done
  }

  override func receive(into buffer: UnsafeMutableRawBufferPointer,
                        flags: Int32, mayBlock: Bool) throws(Errno)
    -> ReceivedMessage
  {
    if flags & MessageFlags.outOfBand != 0 {
      // TODO(net): urgent data is not implemented in NetStack.
      throw Socket.refuse("MSG_OOB", .EOPNOTSUPP)
    }
    let deadline = deadline(receiving: true)
    let restart = restartMarker(receiving: true)
    if flags & MessageFlags.peek != 0 {
      // MSG_PEEK: one look, waiting as a read would; nothing consumed.
      let info = try NetworkService.perform(
        mayBlock: mayBlock, deadline: deadline, restart: restart)
      { (stack) throws(NetError) in
        try stack.peek(self.handle, into: buffer)
      }
      return ReceivedMessage(
        count: info.count, length: info.length,
        source: isStream ? [] : sockaddr(info.source))
    }
    if !isStream {
      let info = try NetworkService.perform(
        mayBlock: mayBlock, deadline: deadline, restart: restart)
      { (stack) throws(NetError) in
        try stack.receiveFrom(self.handle, into: buffer)
      }
      return ReceivedMessage(count: info.count, length: info.length,
                             source: sockaddr(info.source))
    }
    if flags & MessageFlags.truncate != 0 {
      // TODO(net): MSG_TRUNC on TCP discards the bytes instead of
      // copying them.
      throw Socket.refuse("MSG_TRUNC on TCP", .EOPNOTSUPP)
    }
    // MSG_WAITALL keeps waiting until the buffer is full, the stream
    // ends, or an error or signal comes after some data.
    let waitAll = flags & MessageFlags.waitAll != 0
    var done = 0
    repeat {
      let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[done...])
      let count: Int
      do throws(Errno) {
        count = try NetworkService.perform(
          mayBlock: mayBlock, deadline: deadline, restart: restart)
        { (stack) throws(NetError) in
          try stack.receive(self.handle, into: rest)
        }
      } catch {
        if done > 0 { break }
        throw error
      }
      done += count
      if count == 0 { break }
    } while waitAll && done < buffer.count
    return ReceivedMessage(count: done, length: done, source: [])
  }

  override func shutdown(_ how: Int32) throws(Errno) {
    let direction: ShutdownDirection
    switch how {
    case ShutdownHow.read: direction = .read
    case ShutdownHow.write: direction = .write
    case ShutdownHow.both: direction = .both
    default: throw .EINVAL
    }
    try change { (stack) throws(NetError) in
      try stack.shutdown(self.handle, direction)
    }
  }

  // MARK: Readiness

  /// poll(2) events for the stack's view of the socket.
  func currentEvents(_ stack: NetworkStack) -> UInt32 {
    guard let readiness = try? stack.readiness(handle) else {
      return PollEvents.invalid
    }
    var events: UInt32 = 0
    if readiness.contains(.readable) {
      events |= PollEvents.input | PollEvents.readNormal
    }
    if readiness.contains(.writable) {
      events |= PollEvents.output | PollEvents.writeNormal
    }
    if readiness.contains(.error) { events |= PollEvents.error }
    if readiness.contains(.hangUp) { events |= PollEvents.hangUp }
    if readiness.contains(.readHangUp) { events |= PollEvents.readHangUp }
    return events
  }

  override func pollEvents() -> UInt32 {
    (try? NetworkService.inspect { (stack) throws(NetError) in
      self.currentEvents(stack)
    }) ?? PollEvents.invalid
  }

  override func lastDescriptorClosed() {
    NetworkService.unregister(self)
    NetworkService.withStackIgnoringErrors { stack in
      try? stack.close(self.handle)
    }
  }

  override func ioctl(request: UInt64, argument: UserAddress)
    throws(Errno) -> Int
  {
    if request == 0x541B {  // FIONREAD (SIOCINQ)
      let count = try inspect { (stack) throws(NetError) in
        try stack.bytesAvailable(self.handle)
      }
      try UserMemory.write(Int32(clamping: count), to: argument)
      return 0
    }
    return try super.ioctl(request: request, argument: argument)
  }

  // MARK: Options

  override func familyOption(level: Int32, name: Int32) throws(Errno)
    -> [UInt8]
  {
    if level == SocketLevel.socket && name == SocketOption.error {
      let pending = try change { (stack) throws(NetError) in
        try stack.takeError(self.handle)
      }
      return Socket.int(pending.map { Errno($0).rawValue } ?? 0)
    }
    if level == SocketLevel.socket && name == SocketOption.reusePort {
      return Socket.int(reusePort ? 1 : 0)
    }
    let options = try inspect { (stack) throws(NetError) in
      try stack.options(self.handle)
    }
    switch (level, name) {
    case (SocketLevel.socket, SocketOption.reuseAddress):
      return Socket.int(options.reuseAddress ? 1 : 0)
    case (SocketLevel.socket, SocketOption.keepAlive):
      return Socket.int(options.keepAlive ? 1 : 0)
    case (SocketLevel.socket, SocketOption.broadcast):
      return Socket.int(options.broadcast ? 1 : 0)
    case (SocketLevel.socket, SocketOption.sendBuffer):
      return Socket.int(Int32(clamping: options.sendBufferSize))
    case (SocketLevel.socket, SocketOption.receiveBuffer):
      return Socket.int(Int32(clamping: options.receiveBufferSize))
    case (SocketLevel.socket, SocketOption.linger):
      return Linger(enabled: options.lingerZero ? 1 : 0, seconds: 0)
        .encoded()
    case (SocketLevel.tcp, _) where isStream:
      switch name {
      case TCPOption.noDelay: return Socket.int(options.noDelay ? 1 : 0)
      case TCPOption.keepIdle: return Socket.int(Int32(options.keepIdle))
      case TCPOption.keepInterval:
        return Socket.int(Int32(options.keepInterval))
      case TCPOption.keepCount: return Socket.int(Int32(options.keepCount))
      default: break
      }
    case (SocketLevel.ipv6, IPv6Option.v6Only)
    where domain == AddressFamily.inet6:
      return Socket.int(0)
    case (SocketLevel.ip, IPOption.typeOfService):
      return Socket.int(Int32(options.typeOfService))
    case (SocketLevel.ip, IPOption.timeToLive):
      return Socket.int(Int32(options.timeToLive))
    default:
      break
    }
    throw Socket.unsupportedOption(level: level, name: name)
  }

  /// Linux's bounds for SO_SNDBUF and SO_RCVBUF: the request is capped
  /// at wmem_max/rmem_max (212992), doubled for bookkeeping overhead,
  /// and raised to the minimum (socket(7)).
  private static func bufferSize(_ requested: Int32, minimum: Int) -> Int {
    let capped = min(max(Int(requested), 0), 212_992)
    return max(capped * 2, minimum)
  }

  override func setFamilyOption(level: Int32, name: Int32, value: [UInt8])
    throws(Errno)
  {
    if level == SocketLevel.socket && name == SocketOption.linger {
      guard let linger = Linger(bytes: value.prefix(Linger.byteCount)) else {
        throw .EINVAL
      }
      if linger.enabled != 0 && linger.seconds > 0 {
        // TODO(net): a lingering close that waits for the data to be
        // acknowledged; only the zero timeout (reset on close) is done.
        throw Socket.refuse("SO_LINGER with a timeout", .EINVAL)
      }
      try updateOptions { $0.lingerZero = linger.enabled != 0 }
      return
    }
    let number = try Socket.intValue(value)
    switch (level, name) {
    case (SocketLevel.socket, SocketOption.reusePort):
      reusePort = number != 0
    case (SocketLevel.socket, SocketOption.reuseAddress):
      try updateOptions { $0.reuseAddress = number != 0 }
    case (SocketLevel.socket, SocketOption.keepAlive):
      try updateOptions { $0.keepAlive = number != 0 }
    case (SocketLevel.socket, SocketOption.broadcast):
      try updateOptions { $0.broadcast = number != 0 }
    case (SocketLevel.socket, SocketOption.sendBuffer):
      let size = InetSocket.bufferSize(number, minimum: 4608)
      try updateOptions { $0.sendBufferSize = size }
    case (SocketLevel.socket, SocketOption.receiveBuffer):
      let size = InetSocket.bufferSize(number, minimum: 2304)
      try updateOptions { $0.receiveBufferSize = size }
    case (SocketLevel.tcp, TCPOption.noDelay) where isStream:
      try updateOptions { $0.noDelay = number != 0 }
    case (SocketLevel.tcp, TCPOption.keepIdle) where isStream:
      guard number >= 1, number <= 32767 else { throw .EINVAL }
      try updateOptions { $0.keepIdle = UInt32(number) }
    case (SocketLevel.tcp, TCPOption.keepInterval) where isStream:
      guard number >= 1, number <= 32767 else { throw .EINVAL }
      try updateOptions { $0.keepInterval = UInt32(number) }
    case (SocketLevel.tcp, TCPOption.keepCount) where isStream:
      guard number >= 1, number <= 127 else { throw .EINVAL }
      try updateOptions { $0.keepCount = UInt32(number) }
    case (SocketLevel.ipv6, IPv6Option.v6Only)
    where domain == AddressFamily.inet6:
      // Off is what these sockets are; on would leave them nothing to
      // carry.
      guard number == 0 else {
        throw Socket.refuse("IPV6_V6ONLY (IPv6-only sockets)", .EOPNOTSUPP)
      }
    case (SocketLevel.ip, IPOption.typeOfService):
      // ip(7): the low two bits (ECN) are not settable this way.
      try updateOptions {
        $0.typeOfService = UInt8(truncatingIfNeeded: number) & 0xFC
      }
    case (SocketLevel.ip, IPOption.timeToLive):
      guard number == -1 || (number >= 1 && number <= 255) else {
        throw .EINVAL
      }
      try updateOptions {
        $0.timeToLive = number == -1 ? 64 : UInt8(number)
      }
    default:
      throw Socket.unsupportedOption(level: level, name: name)
    }
  }

  private func updateOptions(_ edit: (inout SocketOptions) -> Void)
    throws(Errno)
  {
    try change { (stack) throws(NetError) in
      var options = try stack.options(self.handle)
      edit(&options)
      try stack.setOptions(self.handle, options)
    }
  }

  // MARK: Stack access with errno

  /// A stack call that may change state (then the stack is serviced).
  private func change<Result>(
    _ body: (NetworkStack) throws(NetError) -> Result
  ) throws(Errno) -> Result {
    do throws(NetError) {
      return try NetworkService.withStack(body)
    } catch {
      throw Errno(error)
    }
  }

  /// A read-only stack call.
  private func inspect<Result>(
    _ body: (NetworkStack) throws(NetError) -> Result
  ) throws(Errno) -> Result {
    do throws(NetError) {
      return try NetworkService.inspect(body)
    } catch {
      throw Errno(error)
    }
  }
}
