// AF_UNIX sockets (unix(7)): local IPC entirely inside the kernel, no
// network stack involved.
//
// A connected stream is two byte queues, one per direction, like a pair
// of pipes: each socket reads from its own `incoming` queue and writes
// into its peer's. connect(2) on a listening socket makes a server-side
// socket at once, paired with the caller, and queues it for accept(2),
// so connect succeeds before the accept (as on Linux). A datagram
// socket keeps a queue of whole messages with their senders' names.
//
// Names: a path binds a socket inode (S_IFSOCK) in the filesystem, which
// stays after close, as on Linux; an abstract name (first byte NUL) lives
// only in the kernel's table; an unbound socket is unnamed. `UnixNames`
// maps both kinds of name to the socket bound there.

import LinuxABI

private let log = Logger("unix")

/// A ring of bytes with a capacity; the stream's receive buffer.
final class ByteQueue {
  private var storage: [UInt8]
  private var head = 0
  private(set) var count = 0

  init(capacity: Int) {
    storage = [UInt8](repeating: 0, count: capacity)
  }

  var capacity: Int { storage.count }
  var space: Int { capacity - count }
  var isEmpty: Bool { count == 0 }

  /// Copies up to `destination.count` bytes out; consumes them unless
  /// `peek`.
  func take(into destination: UnsafeMutableRawBufferPointer, peek: Bool)
    -> Int
  {
    let n = min(destination.count, count)
    storage.withUnsafeBytes { source in
      let first = min(n, capacity - head)
      if first > 0 {
        UnsafeMutableRawBufferPointer(rebasing: destination[0..<first])
          .copyMemory(from: UnsafeRawBufferPointer(
            rebasing: source[head..<(head + first)]))
      }
      if n > first {
        UnsafeMutableRawBufferPointer(rebasing: destination[first..<n])
          .copyMemory(from: UnsafeRawBufferPointer(
            rebasing: source[0..<(n - first)]))
      }
    }
    if !peek {
      head = (head + n) % capacity
      count -= n
    }
    return n
  }

  /// Appends what fits of `source`; returns how much.
  func put(_ source: UnsafeRawBufferPointer) -> Int {
    let n = min(source.count, space)
    let tail = (head + count) % capacity
    storage.withUnsafeMutableBytes { destination in
      let first = min(n, capacity - tail)
      if first > 0 {
        UnsafeMutableRawBufferPointer(
          rebasing: destination[tail..<(tail + first)])
          .copyMemory(from: UnsafeRawBufferPointer(
            rebasing: source[0..<first]))
      }
      if n > first {
        UnsafeMutableRawBufferPointer(rebasing: destination[0..<(n - first)])
          .copyMemory(from: UnsafeRawBufferPointer(
            rebasing: source[first..<n]))
      }
    }
    count += n
    return n
  }

  func removeAll() {
    head = 0
    count = 0
  }
}

/// Where AF_UNIX sockets are bound: path names by their inode, abstract
/// names by their bytes.
enum UnixNames {
  struct Binding {
    var inode: Inode?
    var abstractName: [UInt8]
    var socket: UnixSocket
  }

  private(set) static var bindings: [Binding] = []
  private static var nextAutomaticName = 0

  static func find(inode: Inode) -> UnixSocket? {
    bindings.first { $0.inode === inode }?.socket
  }

  static func find(abstractName: [UInt8]) -> UnixSocket? {
    bindings.first { $0.inode == nil && $0.abstractName == abstractName }?
      .socket
  }

  static func add(_ binding: Binding) { bindings.append(binding) }

  static func remove(_ socket: UnixSocket) {
    bindings.removeAll { $0.socket === socket }
  }

  /// An unused abstract name of five hex digits (unix(7), autobind).
  static func automaticName() -> [UInt8] {
    while true {
      nextAutomaticName = (nextAutomaticName + 1) & 0xFFFFF
      var name: [UInt8] = [0]
      for shift in stride(from: 16, through: 0, by: -4) {
        let digit = UInt8((nextAutomaticName >> shift) & 0xF)
        name.append(digit < 10 ? 48 + digit : 87 + digit)
      }
      if find(abstractName: name) == nil { return name }
    }
  }
}

final class UnixSocket: Socket {
  /// Linux's default SO_SNDBUF for AF_UNIX is about this; a stream's
  /// receive queue holds this much.
  static let bufferSize = 212_992
  /// net.unix.max_dgram_qlen.
  static let datagramQueueLength = 512

  /// The connected peer (a stream's other end, a datagram socket's
  /// default destination).
  private var peer: UnixSocket?
  private var everConnected = false
  /// Stream bytes the peer wrote, not yet read.
  private var incoming: ByteQueue?
  /// The peer will write no more (it shut down writing or closed).
  private var peerFinished = false
  /// The peer is gone (closed): writes fail with EPIPE.
  private var peerClosed = false
  private var readShutdown = false
  private var writeShutdown = false
  /// SO_SNDBUF: how much this socket may have queued at its peer;
  /// SO_RCVBUF: how much its own queue holds.
  private var sendLimit = UnixSocket.bufferSize
  private var receiveLimit = UnixSocket.bufferSize

  private var listening = false
  private var backlog = 0
  private var acceptQueue: [UnixSocket] = []

  /// This socket's name as getsockname(2) reports it (sun_path bytes,
  /// with the NUL of a path); empty while unnamed.
  private(set) var name: [UInt8] = []

  /// Datagrams waiting, with the sender's name.
  private var messages: [(data: [UInt8], source: [UInt8])] = []
  private var queuedBytes = 0

  init(kind: Int32, flags: UInt32) {
    super.init(domain: AddressFamily.unix, kind: kind, flags: flags)
  }

  /// socketpair(2): two connected sockets.
  static func pair(kind: Int32, flags: UInt32) -> (UnixSocket, UnixSocket) {
    let first = UnixSocket(kind: kind, flags: flags)
    let second = UnixSocket(kind: kind, flags: flags)
    first.connectPair(second)
    return (first, second)
  }

  private func connectPair(_ other: UnixSocket) {
    peer = other
    other.peer = self
    everConnected = true
    other.everConnected = true
    if isStream {
      incoming = ByteQueue(capacity: UnixSocket.bufferSize)
      other.incoming = ByteQueue(capacity: UnixSocket.bufferSize)
    }
  }

  override var isListening: Bool { listening }

  // MARK: Names

  /// The sockaddr_un for `name`: the family, then the name's bytes.
  static func sockaddr(_ name: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = [UInt8(AddressFamily.unix), 0]
    bytes += name
    return bytes
  }

  /// A checked sockaddr_un: nil for the bare family (unnamed), else the
  /// sun_path bytes that name something: a path cut at its first NUL, or
  /// an abstract name (leading NUL) as long as the address says.
  static func parse(_ address: [UInt8]) throws(Errno) -> [UInt8]? {
    guard address.count >= SockaddrUn.pathOffset,
      address.count <= SockaddrUn.byteCount
    else { throw .EINVAL }
    let family = UInt16(address[0]) | UInt16(address[1]) << 8
    guard family == AddressFamily.unix else { throw .EINVAL }
    let path = Array(address[SockaddrUn.pathOffset...])
    if path.isEmpty { return nil }
    if path[0] == 0 { return path }
    let end = path.firstIndex(of: 0) ?? path.count
    return Array(path[0..<end])
  }

  /// Resolves a path or abstract name to the socket bound there.
  private static func lookUp(_ name: [UInt8]) throws(Errno) -> UnixSocket {
    if name.first == 0 {
      guard let socket = UnixNames.find(abstractName: name) else {
        throw .ECONNREFUSED
      }
      return socket
    }
    let start = name.first == UInt8(ascii: "/")
      ? Mounts.root! : Process.current.workingDirectory
    let resolution = try PathWalker.resolve(name, from: start,
                                            followLast: true)
    guard let inode = resolution.inode else { throw .ENOENT }
    guard inode.type == FileMode.ifsock.rawValue,
      let socket = UnixNames.find(inode: inode)
    else { throw .ECONNREFUSED }
    return socket
  }

  override func localName() throws(Errno) -> [UInt8] {
    UnixSocket.sockaddr(name)
  }

  override func peerName() throws(Errno) -> [UInt8] {
    guard let peer else { throw .ENOTCONN }
    return UnixSocket.sockaddr(peer.name)
  }

  // MARK: Setting up

  override func bind(_ address: [UInt8]) throws(Errno) {
    guard name.isEmpty else { throw .EINVAL }
    guard let requested = try UnixSocket.parse(address) else {
      // The family alone: autobind to an abstract name.
      name = UnixNames.automaticName()
      UnixNames.add(.init(inode: nil, abstractName: name, socket: self))
      return
    }
    if requested.first == 0 {
      guard UnixNames.find(abstractName: requested) == nil else {
        throw .EADDRINUSE
      }
      name = requested
      UnixNames.add(.init(inode: nil, abstractName: name, socket: self))
      return
    }
    let start = requested.first == UInt8(ascii: "/")
      ? Mounts.root! : Process.current.workingDirectory
    let resolution = try PathWalker.resolve(requested, from: start,
                                            followLast: false)
    // bind(2) never reuses a name: an existing file is EADDRINUSE.
    guard resolution.inode == nil else { throw .EADDRINUSE }
    let permissions = 0o777 & ~Process.current.umask
    let inode = try resolution.parent.create(
      resolution.name, mode: FileMode.ifsock.rawValue | permissions)
    name = requested + [0]
    UnixNames.add(.init(inode: inode, abstractName: [], socket: self))
  }

  override func listen(backlog: Int) throws(Errno) {
    guard isStream else { throw .EOPNOTSUPP }
    guard peer == nil, !everConnected else { throw .EINVAL }
    // An unbound socket must be bound first (Linux autobinds only with
    // SO_PASSCRED; plain listen on an unbound socket is EINVAL).
    guard !name.isEmpty else { throw .EINVAL }
    self.backlog = backlog < 0 || backlog > 4096 ? 4096 : backlog
    listening = true
  }

  override func accept(mayBlock: Bool, flags: UInt32) throws(Errno)
    -> Socket
  {
    guard isStream else { throw .EOPNOTSUPP }
    guard listening else { throw .EINVAL }
    let deadline = deadline(receiving: true)
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    while acceptQueue.isEmpty {
      try wait(mayBlock: mayBlock, deadline: deadline, receiving: true)
    }
    let accepted = acceptQueue.removeFirst()
    accepted.statusFlags = OpenFlags.rdwr.rawValue
      | (flags & OpenFile.nonBlockFlag)
    notifyChanged()
    return accepted
  }

  override func connect(_ address: [UInt8], mayBlock: Bool) throws(Errno) {
    guard let targetName = try UnixSocket.parse(address) else {
      throw .EINVAL
    }
    let target = try UnixSocket.lookUp(targetName)
    guard target.kind == kind else { throw .EPROTOTYPE }
    if !isStream {
      // A datagram socket only records its default destination.
      peer = target
      everConnected = true
      return
    }
    guard !listening else { throw .EINVAL }
    guard peer == nil else { throw .EISCONN }
    guard target.listening else { throw .ECONNREFUSED }
    let deadline = deadline(receiving: false)
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    // A full backlog makes the caller wait (or EAGAIN), as on Linux.
    while target.acceptQueue.count >= max(target.backlog, 1) {
      try wait(mayBlock: mayBlock, deadline: deadline, receiving: false)
      guard target.listening else { throw .ECONNREFUSED }
    }
    let server = UnixSocket(kind: kind, flags: 0)
    server.name = target.name
    connectPair(server)
    target.acceptQueue.append(server)
    target.notifyChanged()
    notifyChanged()
  }

  // MARK: Data

  override func send(_ data: UnsafeRawBufferPointer, to address: [UInt8]?,
                     flags: Int32, mayBlock: Bool) throws(Errno) -> Int
  {
    if flags & MessageFlags.outOfBand != 0 { throw .EOPNOTSUPP }
    return isStream
      ? try sendStream(data, mayBlock: mayBlock)
      : try sendDatagram(data, to: address, mayBlock: mayBlock)
  }

  private func sendStream(_ data: UnsafeRawBufferPointer, mayBlock: Bool)
    throws(Errno) -> Int
  {
    let deadline = deadline(receiving: false)
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    var done = 0
    repeat {
      if writeShutdown || peerClosed || peer?.readShutdown == true {
        if done > 0 { return done }
        throw .EPIPE
      }
      guard let peer, let queue = peer.incoming else { throw .ENOTCONN }
      let room = streamRoom(in: peer)
      if room > 0 {
        let end = min(data.count, done + room)
        done += queue.put(UnsafeRawBufferPointer(
          rebasing: data[done..<end]))
        peer.notifyChanged()
        notifyChanged()
        continue
      }
      do throws(Errno) {
        try wait(mayBlock: mayBlock, deadline: deadline, receiving: false)
      } catch {
        if done > 0 { return done }
        throw error
      }
    } while done < data.count
    return done
  }

  private func sendDatagram(_ data: UnsafeRawBufferPointer,
                            to address: [UInt8]?, mayBlock: Bool)
    throws(Errno) -> Int
  {
    if writeShutdown { throw .EPIPE }
    var target: UnixSocket
    if let address {
      guard let targetName = try UnixSocket.parse(address) else {
        throw .EINVAL
      }
      target = try UnixSocket.lookUp(targetName)
      guard target.kind == kind else { throw .EPROTOTYPE }
    } else {
      if peerClosed { throw .ECONNREFUSED }
      guard let peer else { throw .ENOTCONN }
      target = peer
    }
    guard data.count <= UnixSocket.bufferSize else { throw .EMSGSIZE }
    // A socket connected elsewhere accepts datagrams only from its peer.
    if let targetPeer = target.peer, targetPeer !== self {
      throw .EPERM
    }
    let deadline = deadline(receiving: false)
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    while !target.hasRoom(for: data.count, from: self) {
      try wait(mayBlock: mayBlock, deadline: deadline, receiving: false)
    }
    target.messages.append((Array(data), name))
    target.queuedBytes += data.count
    target.notifyChanged()
    return data.count
  }

  /// Whether a datagram of `count` bytes from `sender` fits the queue,
  /// by the receiver's SO_RCVBUF and the sender's SO_SNDBUF.
  private func hasRoom(for count: Int, from sender: UnixSocket) -> Bool {
    let limit = min(receiveLimit, sender.sendLimit)
    return messages.count < UnixSocket.datagramQueueLength
      && (queuedBytes == 0 || queuedBytes + count <= limit)
  }

  /// How many more stream bytes this socket may queue at `peer`.
  private func streamRoom(in peer: UnixSocket) -> Int {
    guard let queue = peer.incoming else { return 0 }
    let limit = min(queue.capacity, peer.receiveLimit, sendLimit)
    return max(0, min(queue.space, limit - queue.count))
  }

  override func receive(into buffer: UnsafeMutableRawBufferPointer,
                        flags: Int32, mayBlock: Bool) throws(Errno)
    -> ReceivedMessage
  {
    if flags & MessageFlags.outOfBand != 0 { throw .EOPNOTSUPP }
    let peek = flags & MessageFlags.peek != 0
    let deadline = deadline(receiving: true)
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    if !isStream {
      while messages.isEmpty {
        if readShutdown { return ReceivedMessage(count: 0, length: 0,
                                                 source: []) }
        try wait(mayBlock: mayBlock, deadline: deadline, receiving: true)
      }
      let message = messages[0]
      let count = min(buffer.count, message.data.count)
      message.data.withUnsafeBytes { source in
        if count > 0 {
          UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            .copyMemory(from: UnsafeRawBufferPointer(
              rebasing: source[0..<count]))
        }
      }
      if !peek {
        messages.removeFirst()
        queuedBytes -= message.data.count
        notifyChanged()
        peer?.notifyChanged()
      }
      // An unnamed sender gives no address at all (msg_namelen 0).
      let source = message.source.isEmpty
        ? [] : UnixSocket.sockaddr(message.source)
      return ReceivedMessage(count: count, length: message.data.count,
                             source: source)
    }

    if listening { throw .EINVAL }
    guard incoming != nil else { throw .ENOTCONN }
    let waitAll = flags & MessageFlags.waitAll != 0 && !peek
    var done = 0
    while true {
      let queue = incoming!
      if !queue.isEmpty && !readShutdown {
        done += queue.take(
          into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]),
          peek: peek)
        if !peek {
          notifyChanged()
          peer?.notifyChanged()
        }
        if !waitAll || done == buffer.count { break }
        continue
      }
      if peerFinished || readShutdown || buffer.count == 0 { break }
      do throws(Errno) {
        try wait(mayBlock: mayBlock, deadline: deadline, receiving: true)
      } catch {
        if done > 0 { break }
        throw error
      }
    }
    return ReceivedMessage(count: done, length: done, source: [])
  }

  override func shutdown(_ how: Int32) throws(Errno) {
    guard how >= ShutdownHow.read, how <= ShutdownHow.both else {
      throw .EINVAL
    }
    // unix_shutdown: allowed unconnected too; a stream's peer learns.
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    if how != ShutdownHow.write {
      readShutdown = true
      incoming?.removeAll()
    }
    if how != ShutdownHow.read {
      writeShutdown = true
      if isStream { peer?.peerFinished = true }
    }
    notifyChanged()
    peer?.notifyChanged()
  }

  // MARK: Waiting and readiness

  /// One wait for a change, honouring non-blocking mode and the timeout.
  /// Interrupts are off in the caller, so no change is missed between
  /// its check and this wait.
  private func wait(mayBlock: Bool, deadline: UInt64?, receiving: Bool)
    throws(Errno)
  {
    guard mayBlock else { throw .EAGAIN }
    if let deadline, Clock.monotonicNanoseconds() >= deadline {
      throw .EAGAIN
    }
    try Readiness.wait(until: deadline,
                       restart: restartMarker(receiving: receiving))
  }

  override func pollEvents() -> UInt32 {
    let input = PollEvents.input | PollEvents.readNormal
    let output = PollEvents.output | PollEvents.writeNormal
    if listening { return acceptQueue.isEmpty ? 0 : input }
    var events: UInt32 = 0
    if !isStream {
      if !messages.isEmpty || readShutdown { events |= input }
      if let peer {
        if peer.hasRoom(for: 1, from: self) || peerClosed {
          events |= output
        }
      } else {
        events |= output
      }
      if readShutdown && writeShutdown { events |= PollEvents.hangUp }
      return events
    }
    guard let incoming else {
      // Never connected: writable and hung up (unix_poll).
      return output | PollEvents.hangUp
    }
    if !incoming.isEmpty || peerFinished || readShutdown { events |= input }
    if peerFinished || readShutdown { events |= PollEvents.readHangUp }
    if (peerFinished || readShutdown) && (peerClosed || writeShutdown) {
      events |= PollEvents.hangUp
    }
    if let peer, !writeShutdown, !peerClosed {
      if streamRoom(in: peer) > 0 { events |= output }
    } else {
      events |= output
    }
    return events
  }

  override func lastDescriptorClosed() {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    UnixNames.remove(self)
    if let peer {
      if peer.peer === self {
        // The survivor keeps its reference, as Linux's does: getpeername
        // still names the closed peer; reads end and writes fail.
        peer.peerFinished = true
        peer.peerClosed = true
      }
      peer.notifyChanged()
    }
    peer = nil
    // Connections nobody accepted lose their server side.
    for pending in acceptQueue { pending.lastDescriptorClosed() }
    acceptQueue.removeAll()
    listening = false
    messages.removeAll()
    notifyChanged()
  }

  override func ioctl(request: UInt64, argument: UserAddress)
    throws(Errno) -> Int
  {
    if request == 0x541B {  // FIONREAD: bytes (or next datagram) waiting
      let waiting = isStream
        ? (incoming?.count ?? 0) : (messages.first?.data.count ?? 0)
      try UserMemory.write(Int32(waiting), to: argument)
      return 0
    }
    return try super.ioctl(request: request, argument: argument)
  }

  // MARK: Options

  override func familyOption(level: Int32, name: Int32) throws(Errno)
    -> [UInt8]
  {
    guard level == SocketLevel.socket else {
      throw Socket.unsupportedOption(level: level, name: name)
    }
    switch name {
    case SocketOption.error: return Socket.int(0)
    case SocketOption.sendBuffer: return Socket.int(Int32(sendLimit))
    case SocketOption.receiveBuffer: return Socket.int(Int32(receiveLimit))
    case SocketOption.peerCredentials:
      // struct ucred: the one process is the peer of every connection.
      guard peer != nil else { throw .ENOTCONN }
      var bytes = [UInt8](repeating: 0, count: 12)
      bytes.store(Process.current.pid, at: 0)
      return bytes
    default:
      throw Socket.unsupportedOption(level: level, name: name)
    }
  }

  override func setFamilyOption(level: Int32, name: Int32, value: [UInt8])
    throws(Errno)
  {
    if level == SocketLevel.socket
      && (name == SocketOption.sendBuffer
        || name == SocketOption.receiveBuffer)
    {
      // Doubled as Linux does (socket(7)), bounded by the queues' size.
      let requested = Int(max(try Socket.intValue(value), 0))
      let limit = min(max(requested * 2, 2304), UnixSocket.bufferSize)
      let guardState = InterruptGuard()
      defer { guardState.restore() }
      if name == SocketOption.sendBuffer {
        sendLimit = limit
      } else {
        receiveLimit = limit
      }
      notifyChanged()
      peer?.notifyChanged()
      return
    }
    throw Socket.unsupportedOption(level: level, name: name)
  }
}
