// The socket interface the kernel's syscall layer calls, one method per
// operation, in the shape of the BSD calls behind it: open, bind, listen,
// connect, accept, send, receive, shutdown, close, readiness, options and
// addresses. Calls never block and never read the clock: an operation that
// must wait throws .wouldBlock, and the kernel waits on readiness (through
// readinessEpoch) before trying again. After any call that may produce
// packets, the caller polls the stack.

extension NetworkStack {
  // MARK: Creating and binding

  /// socket(AF_INET, SOCK_STREAM, 0).
  public func openTCP() throws(NetError) -> SocketHandle {
    try allocate(.tcp(TCPConnection(local: .unspecified,
                                     options: socketDefaults,
                                     configuration: tcpConfiguration)))
  }

  /// socket(AF_INET, SOCK_DGRAM, 0).
  public func openUDP() throws(NetError) -> SocketHandle {
    try allocate(.udp(UDPSocket(options: socketDefaults)))
  }

  /// bind(2). Port 0 picks an ephemeral port. The address must be the
  /// wildcard, a loopback address or the interface's.
  public func bind(_ handle: SocketHandle, to address: SocketAddress)
    throws(NetError)
  {
    let entry = try lookup(handle)
    guard address.address.isUnspecified || address.address.isLoopback
      || address.address == ipv4?.address
    else { throw .addressNotAvailable }
    switch entry {
    case .tcp(let connection):
      guard connection.local.port == 0, connection.state == .closed,
        !connection.wasConnected
      else { throw .invalidArgument }
      let port = try choosePort(address.port, address: address.address,
                                isTCP: true, options: connection.options)
      connection.local = SocketAddress(address.address, port)
    case .udp(let socket):
      guard socket.local == nil else { throw .invalidArgument }
      let port = try choosePort(address.port, address: address.address,
                                isTCP: false, options: socket.options)
      socket.local = SocketAddress(address.address, port)
    case .listener:
      throw .invalidArgument
    }
  }

  /// listen(2): the socket becomes a listener with room for `backlog`
  /// connections not yet accepted (SYN-RECEIVED ones included).
  public func listen(_ handle: SocketHandle, backlog: Int) throws(NetError) {
    switch try lookup(handle) {
    case .tcp(let connection):
      guard connection.state == .closed, !connection.wasConnected,
        connection.closeReason == nil
      else { throw .invalidArgument }
      var local = connection.local
      if local.port == 0 {
        local.port = try choosePort(0, address: local.address, isTCP: true,
                                    options: connection.options)
      }
      // SO_REUSEADDR lets sockets share a port, but only one may listen.
      for entry in sockets {
        if case .listener(let other)? = entry, other.local.port == local.port,
          other.local.address.isUnspecified || local.address.isUnspecified
            || other.local.address == local.address
        {
          throw .addressInUse
        }
      }
      sockets[Int(handle.rawValue)] = .listener(TCPListener(
        local: local, backlog: min(max(backlog, 1), 4096),
        options: connection.options))
    case .listener(let listener):
      listener.backlog = min(max(backlog, 1), 4096)
    case .udp:
      throw .notSupported
    }
  }

  /// Convenience: open, bind and listen.
  public func tcpListen(port: UInt16, backlog: Int,
                        address: IPv4Address = .any) throws(NetError)
    -> SocketHandle
  {
    let handle = try openTCP()
    do throws(NetError) {
      try bind(handle, to: SocketAddress(address, port))
      try listen(handle, backlog: backlog)
    } catch {
      try? close(handle)
      throw error
    }
    return handle
  }

  // MARK: Connecting

  /// connect(2). For TCP this starts the handshake and returns at once;
  /// the socket becomes `.connected` (or reports an error) later, and the
  /// kernel implements blocking connect and EINPROGRESS on top. For UDP
  /// it sets the default peer; the unspecified address dissolves it.
  public func connect(_ handle: SocketHandle, to address: SocketAddress)
    throws(NetError)
  {
    // Linux treats INADDR_ANY as "this host".
    var target = address
    if target.address.isUnspecified { target.address = .loopback }
    switch try lookup(handle) {
    case .tcp(let connection):
      try connectTCP(handle, connection, to: target)
    case .udp(let socket):
      if address.address.isUnspecified && address.port == 0 {
        socket.remote = nil
        return
      }
      guard route(to: target.address) != nil else {
        throw .networkUnreachable
      }
      if socket.local == nil {
        let port = try choosePort(0, address: .any, isTCP: false,
                                  options: socket.options)
        socket.local = SocketAddress(.any, port)
      }
      socket.remote = target
    case .listener:
      throw .alreadyConnected
    }
  }

  private func connectTCP(_ handle: SocketHandle, _ old: TCPConnection,
                          to target: SocketAddress) throws(NetError)
  {
    switch old.state {
    case .synSent, .synReceived: throw .alreadyInProgress
    case .closed: break
    default: throw .alreadyConnected
    }
    guard !target.address.isBroadcast, !target.address.isMulticast,
      target.port != 0
    else { throw target.port == 0 ? .connectionRefused : .networkUnreachable }
    guard route(to: target.address) != nil,
      let source = old.local.address.isUnspecified
        ? sourceAddress(for: target.address) : old.local.address
    else { throw .networkUnreachable }

    // A socket whose earlier attempt failed starts over with a fresh
    // control block, keeping its options and bound port.
    let connection = TCPConnection(local: old.local, options: old.options,
                                   configuration: tcpConfiguration)
    var port = old.local.port
    if port == 0 {
      port = try choosePort(0, address: source, isTCP: true,
                            options: old.options)
    } else if findConnection(local: SocketAddress(source, port),
                             remote: target) != nil
    {
      throw .addressNotAvailable
    }
    connection.local = SocketAddress(source, port)
    connection.routeMTU = routeMTU(to: target.address)
    connection.connect(to: target, iss: makeISS(),
                       timestampOffset: random.next32(), now: lastNow)
    sockets[Int(handle.rawValue)] = .tcp(connection)
    connections.append(connection)
    needsPoll = true
  }

  /// Convenience: open and connect.
  public func tcpConnect(address: IPv4Address, port: UInt16)
    throws(NetError) -> SocketHandle
  {
    let handle = try openTCP()
    do throws(NetError) {
      try connect(handle, to: SocketAddress(address, port))
    } catch {
      try? close(handle)
      throw error
    }
    return handle
  }

  /// accept(2): the oldest established connection of a listener, as a
  /// new handle.
  public func tcpAccept(_ handle: SocketHandle) throws(NetError)
    -> SocketHandle
  {
    guard case .listener(let listener) = try lookup(handle) else {
      throw .invalidArgument
    }
    guard let index = listener.children.firstIndex(where: {
      $0.wasConnected
    }) else { throw .wouldBlock }
    let child = listener.children[index]
    let accepted = try allocate(.tcp(child))
    listener.children.remove(at: index)
    return accepted
  }

  // MARK: Data

  /// send(2) on a stream or connected datagram socket: how many bytes
  /// were taken, possibly fewer than offered.
  public func send(_ handle: SocketHandle, _ bytes: UnsafeRawBufferPointer)
    throws(NetError) -> Int
  {
    switch try lookup(handle) {
    case .tcp(let connection):
      let count = try connection.write(bytes)
      needsPoll = true
      return count
    case .udp:
      return try sendTo(handle, bytes, to: nil)
    case .listener:
      throw .notConnected
    }
  }

  public func send(_ handle: SocketHandle, _ bytes: [UInt8])
    throws(NetError) -> Int
  {
    var result: Result<Int, NetError> = .success(0)
    bytes.withUnsafeBytes { raw in
      do throws(NetError) {
        result = .success(try send(handle, raw))
      } catch {
        result = .failure(error)
      }
    }
    return try result.get()
  }

  /// recv(2): bytes copied into `buffer`; 0 means end of stream (or an
  /// empty datagram).
  public func receive(_ handle: SocketHandle,
                      into buffer: UnsafeMutableRawBufferPointer)
    throws(NetError) -> Int
  {
    switch try lookup(handle) {
    case .tcp(let connection):
      let count = try connection.read(into: buffer)
      if connection.ackNow { needsPoll = true }
      return count
    case .udp:
      return try receiveFrom(handle, into: buffer).count
    case .listener:
      throw .notConnected
    }
  }

  /// Receives up to `maximumCount` bytes into a new array.
  public func receive(_ handle: SocketHandle, maximumCount: Int)
    throws(NetError) -> [UInt8]
  {
    var bytes = [UInt8](repeating: 0, count: max(maximumCount, 0))
    var result: Result<Int, NetError> = .success(0)
    bytes.withUnsafeMutableBytes { raw in
      do throws(NetError) {
        result = .success(try receive(handle, into: raw))
      } catch {
        result = .failure(error)
      }
    }
    let count = try result.get()
    bytes.removeLast(bytes.count - count)
    return bytes
  }

  /// sendto(2) on a UDP socket: `destination` nil means the connected
  /// peer. The whole datagram is queued or none of it.
  public func sendTo(_ handle: SocketHandle, _ bytes: UnsafeRawBufferPointer,
                     to destination: SocketAddress?) throws(NetError) -> Int
  {
    guard case .udp(let socket) = try lookup(handle) else {
      // A stream socket ignores the address, as Linux's TCP does.
      return try send(handle, bytes)
    }
    if let error = socket.pendingError {
      socket.pendingError = nil
      throw error
    }
    if socket.writeShutdown { throw .brokenPipe }
    guard var target = destination ?? socket.remote else {
      throw .destinationAddressRequired
    }
    if target.address.isUnspecified { target.address = .loopback }
    guard bytes.count <= 65_535 - 20 - UDPView.headerLength else {
      throw .messageTooLong
    }
    if (target.address.isBroadcast || target.address == ipv4?.broadcastAddress)
      && !socket.options.broadcast
    {
      throw .permissionDenied
    }
    guard route(to: target.address) != nil else {
      throw .networkUnreachable
    }
    if socket.local == nil {
      let port = try choosePort(0, address: .any, isTCP: false,
                                options: socket.options)
      socket.local = SocketAddress(.any, port)
    }
    guard socket.enqueue(bytes, to: target) else { throw .wouldBlock }
    needsPoll = true
    return bytes.count
  }

  public func sendTo(_ handle: SocketHandle, _ bytes: [UInt8],
                     to destination: SocketAddress?) throws(NetError) -> Int
  {
    var result: Result<Int, NetError> = .success(0)
    bytes.withUnsafeBytes { raw in
      do throws(NetError) {
        result = .success(try sendTo(handle, raw, to: destination))
      } catch {
        result = .failure(error)
      }
    }
    return try result.get()
  }

  /// recvfrom(2): one datagram (or, on TCP, stream bytes and the peer).
  public func receiveFrom(_ handle: SocketHandle,
                          into buffer: UnsafeMutableRawBufferPointer)
    throws(NetError) -> DatagramInfo
  {
    switch try lookup(handle) {
    case .udp(let socket):
      if let info = socket.take(into: buffer) { return info }
      if let error = socket.pendingError {
        socket.pendingError = nil
        throw error
      }
      if socket.readShutdown {
        return DatagramInfo(count: 0, length: 0, source: .unspecified)
      }
      throw .wouldBlock
    case .tcp(let connection):
      let count = try receive(handle, into: buffer)
      return DatagramInfo(count: count, length: count,
                          source: connection.remote)
    case .listener:
      throw .notConnected
    }
  }

  /// recv(2) with MSG_PEEK: like `receiveFrom`, but what it copies stays
  /// queued (a datagram whole, stream bytes from the start).
  public func peek(_ handle: SocketHandle,
                   into buffer: UnsafeMutableRawBufferPointer)
    throws(NetError) -> DatagramInfo
  {
    switch try lookup(handle) {
    case .udp(let socket):
      if let info = socket.take(into: buffer, peek: true) { return info }
      if let error = socket.pendingError {
        socket.pendingError = nil
        throw error
      }
      if socket.readShutdown {
        return DatagramInfo(count: 0, length: 0, source: .unspecified)
      }
      throw .wouldBlock
    case .tcp(let connection):
      let count = try connection.read(into: buffer, peek: true)
      return DatagramInfo(count: count, length: count,
                          source: connection.remote)
    case .listener:
      throw .notConnected
    }
  }

  /// FIONREAD: the bytes a stream read would return now, or the size of
  /// the next datagram. A listener has none to give (EINVAL, as Linux).
  public func bytesAvailable(_ handle: SocketHandle) throws(NetError)
    -> Int
  {
    switch try lookup(handle) {
    case .tcp(let connection): return connection.readableCount
    case .udp(let socket): return socket.nextDatagramLength
    case .listener: throw .invalidArgument
    }
  }

  // MARK: Ending

  /// shutdown(2).
  public func shutdown(_ handle: SocketHandle, _ direction: ShutdownDirection)
    throws(NetError)
  {
    switch try lookup(handle) {
    case .tcp(let connection):
      switch connection.state {
      case .closed, .listen, .synSent:
        throw .notConnected
      default:
        break
      }
      if direction != .write { connection.shutdownRead() }
      if direction != .read { connection.shutdownWrite() }
    case .udp(let socket):
      guard socket.remote != nil else { throw .notConnected }
      if direction != .write { socket.readShutdown = true }
      if direction != .read { socket.writeShutdown = true }
    case .listener:
      // TODO(sockets): Linux lets SHUT_RD stop a listener and wake its
      // accept; here it is refused.
      throw .notConnected
    }
    needsPoll = true
    socketsChanged()
  }

  /// close(2): the handle is gone at once; a TCP connection finishes its
  /// close in the background (FIN, TIME-WAIT), and a listener resets the
  /// connections nobody accepted.
  public func close(_ handle: SocketHandle) throws(NetError) {
    switch try lookup(handle) {
    case .tcp(let connection):
      connection.close()
    case .listener(let listener):
      for child in listener.children {
        child.orphaned = true
        child.abort(error: nil, sendReset: child.state != .closed)
      }
      listener.children.removeAll()
    case .udp:
      break
    }
    sockets[Int(handle.rawValue)] = nil
    needsPoll = true
    socketsChanged()
  }

  // MARK: State

  /// What poll(2) would report for the socket.
  public func readiness(_ handle: SocketHandle) throws(NetError)
    -> SocketReadiness
  {
    switch try lookup(handle) {
    case .tcp(let connection): return connection.readiness
    case .listener(let listener):
      return listener.hasReadyChild ? .readable : []
    case .udp(let socket): return socket.readiness
    }
  }

  /// getsockopt(SO_ERROR): the pending error, cleared by reading it.
  public func takeError(_ handle: SocketHandle) throws(NetError)
    -> NetError?
  {
    switch try lookup(handle) {
    case .tcp(let connection):
      defer { connection.pendingError = nil }
      return connection.pendingError
    case .udp(let socket):
      defer { socket.pendingError = nil }
      return socket.pendingError
    case .listener:
      return nil
    }
  }

  /// The TCP state, for diagnostics (TCP_INFO) and tests.
  public func tcpState(_ handle: SocketHandle) throws(NetError) -> TCPState {
    switch try lookup(handle) {
    case .tcp(let connection): return connection.state
    case .listener: return .listen
    case .udp: throw .notSupported
    }
  }

  public func options(_ handle: SocketHandle) throws(NetError)
    -> SocketOptions
  {
    switch try lookup(handle) {
    case .tcp(let connection): return connection.options
    case .listener(let listener): return listener.options
    case .udp(let socket): return socket.options
    }
  }

  public func setOptions(_ handle: SocketHandle, _ options: SocketOptions)
    throws(NetError)
  {
    guard options.sendBufferSize > 0, options.receiveBufferSize > 0,
      options.keepIdle > 0, options.keepInterval > 0, options.keepCount > 0
    else { throw .invalidArgument }
    switch try lookup(handle) {
    case .tcp(let connection): connection.apply(options)
    case .listener(let listener): listener.options = options
    case .udp(let socket): socket.options = options
    }
    needsPoll = true
  }

  /// getsockname(2): the wildcard address and port 0 before binding.
  public func localAddress(_ handle: SocketHandle) throws(NetError)
    -> SocketAddress
  {
    switch try lookup(handle) {
    case .tcp(let connection): return connection.local
    case .listener(let listener): return listener.local
    case .udp(let socket): return socket.local ?? .unspecified
    }
  }

  /// getpeername(2).
  public func peerAddress(_ handle: SocketHandle) throws(NetError)
    -> SocketAddress
  {
    switch try lookup(handle) {
    case .tcp(let connection):
      switch connection.state {
      case .closed, .listen: throw .notConnected
      default: return connection.remote
      }
    case .listener:
      throw .notConnected
    case .udp(let socket):
      guard let remote = socket.remote else { throw .notConnected }
      return remote
    }
  }

  // MARK: Ping

  /// Sends an ICMP echo request (what a ping socket would do).
  public func sendPing(to destination: IPv4Address, identifier: UInt16,
                       sequence: UInt16, data: [UInt8]) throws(NetError)
  {
    guard route(to: destination) != nil,
      let source = sourceAddress(for: destination)
    else { throw .networkUnreachable }
    sendICMP(.echoRequest(identifier: identifier, sequence: sequence,
                          data: data),
             from: source, to: destination, now: lastNow)
    needsPoll = true
  }

  /// The oldest echo reply received, if any.
  public func takeEchoReply() -> EchoReply? {
    echoReplies.isEmpty ? nil : echoReplies.removeFirst()
  }

  // MARK: Handles and ports

  func lookup(_ handle: SocketHandle) throws(NetError) -> SocketEntry {
    let index = Int(handle.rawValue)
    guard index >= 0, index < sockets.count, let entry = sockets[index] else {
      throw .badHandle
    }
    return entry
  }

  private func allocate(_ entry: SocketEntry) throws(NetError)
    -> SocketHandle
  {
    if let free = sockets.firstIndex(where: { $0 == nil }) {
      sockets[free] = entry
      return SocketHandle(rawValue: Int32(free))
    }
    guard sockets.count < NetworkStack.maximumSockets else {
      throw .noBufferSpace
    }
    sockets.append(entry)
    return SocketHandle(rawValue: Int32(sockets.count - 1))
  }

  /// Linux's ephemeral range (ip_local_port_range).
  static let ephemeralPorts: ClosedRange<Int> = 32_768...60_999

  /// `requested`, if free, or else (when it is 0) an ephemeral port no
  /// other socket of the protocol uses.
  func choosePort(_ requested: UInt16, address: IPv4Address, isTCP: Bool,
                  options: SocketOptions) throws(NetError) -> UInt16
  {
    if requested != 0 {
      guard !portConflicts(requested, address: address, isTCP: isTCP,
                           options: options)
      else { throw .addressInUse }
      return requested
    }
    let range = NetworkStack.ephemeralPorts
    let span = range.count
    let start = random.next(below: span)
    for step in 0..<span {
      let port = UInt16(range.lowerBound + (start + step) % span)
      if portConflicts(port, address: address, isTCP: isTCP,
                       options: options, ignoringReuse: true)
      {
        continue
      }
      return port
    }
    throw .addressNotAvailable
  }

  /// Whether binding `port` would clash with another socket. Two
  /// SO_REUSEADDR sockets may share a port unless one listens (Linux's
  /// rule), which lets a restarted server bind over TIME-WAIT.
  private func portConflicts(_ port: UInt16, address: IPv4Address,
                             isTCP: Bool, options: SocketOptions,
                             ignoringReuse: Bool = false) -> Bool
  {
    func overlaps(_ other: IPv4Address) -> Bool {
      other.isUnspecified || address.isUnspecified || other == address
    }
    func clash(_ local: SocketAddress, reuse: Bool, listening: Bool) -> Bool {
      guard local.port == port, overlaps(local.address) else { return false }
      if ignoringReuse { return true }
      return !(options.reuseAddress && reuse && !listening)
    }
    if isTCP {
      for connection in connections
      where clash(connection.local, reuse: connection.options.reuseAddress,
                  listening: false)
      {
        return true
      }
    }
    for entry in sockets {
      switch entry {
      case .tcp(let connection)? where isTCP:
        if connection.local.port != 0 && connection.state == .closed
          && !connection.wasConnected
          && clash(connection.local, reuse: connection.options.reuseAddress,
                   listening: false)
        {
          return true
        }
      case .listener(let listener)? where isTCP:
        if clash(listener.local, reuse: listener.options.reuseAddress,
                 listening: true)
        {
          return true
        }
      case .udp(let socket)? where !isTCP:
        if let local = socket.local,
          clash(local, reuse: socket.options.reuseAddress, listening: false)
        {
          return true
        }
      default:
        break
      }
    }
    return false
  }
}
