// Sockets: socket(2), socketpair(2), bind(2), listen(2), accept(2),
// accept4(2), connect(2), sendto(2), recvfrom(2), sendmsg(2), recvmsg(2),
// sendmmsg(2), recvmmsg(2), shutdown(2), getsockname(2), getpeername(2),
// getsockopt(2), setsockopt(2). read(2), write(2), readv(2) and writev(2)
// on a socket come here too (from FileDescriptorSyscalls), so that a
// datagram written with writev is one datagram.
//
// This layer only moves bytes: addresses and options between user memory
// and arrays, data through kernel buffers of at most `chunkSize` bytes.
// The sockets themselves (Net/) decide what the calls mean. AF_INET and
// AF_UNIX are supported; every other family is EAFNOSUPPORT, logged once.

import LinuxABI

private let log = Logger("socket")

enum SocketSyscalls {
  /// The largest sockaddr a call accepts (sizeof(struct sockaddr_storage)).
  static let maximumAddressLength = 128
  /// Data moves through kernel buffers of this size; a datagram must fit
  /// in one.
  static let chunkSize = 256 * 1024
  /// The most messages one sendmmsg or recvmmsg handles (UIO_MAXIOV).
  static let maximumMessages = 1024

  static func register() {
    let d = SyscallDispatcher.self
    d.register(.socket, .partial(
      "AF_INET TCP and UDP, AF_INET6 over IPv4-mapped addresses only, "
        + "AF_UNIX stream and datagram; no IPv6 traffic, raw"
        + " or SOCK_SEQPACKET"))
    { a throws(Errno) in
      try socket(domain: a.int(a.a0), type: a.int(a.a1),
                 protocolNumber: a.int(a.a2))
    }
    d.register(.socketpair, .partial("AF_UNIX only, as on Linux")) {
      a throws(Errno) in
      try socketpair(domain: a.int(a.a0), type: a.int(a.a1),
                     protocolNumber: a.int(a.a2), fds: a.address(a.a3))
    }
    d.register(.bind, .implemented) { a throws(Errno) in
      let socket = try socketFile(a.int(a.a0))
      try socket.bind(try readAddress(a.address(a.a1), length: a.a2))
      return 0
    }
    d.register(.listen, .implemented) { a throws(Errno) in
      try socketFile(a.int(a.a0)).listen(backlog: Int(a.int(a.a1)))
      return 0
    }
    d.register(.accept, .implemented) { a throws(Errno) in
      try accept(a.int(a.a0), address: a.address(a.a1),
                 lengthAddress: a.address(a.a2), flags: 0)
    }
    d.register(.accept4, .implemented) { a throws(Errno) in
      try accept(a.int(a.a0), address: a.address(a.a1),
                 lengthAddress: a.address(a.a2), flags: a.int(a.a3))
    }
    d.register(.connect, .implemented) { a throws(Errno) in
      let socket = try socketFile(a.int(a.a0))
      let address = try readAddress(a.address(a.a1), length: a.a2)
      try socket.connect(address, mayBlock: !socket.isNonBlocking)
      return 0
    }
    d.register(.sendto, .partial("no MSG_OOB")) { a throws(Errno) in
      let socket = try socketFile(a.int(a.a0))
      let flags = a.int(a.a3)
      var destination: [UInt8]? = nil
      if !a.address(a.a4).isNull && a.a5 != 0 {
        destination = try readAddress(a.address(a.a4), length: a.a5)
      }
      return try send(socket, buffers: [(a.address(a.a1), a.a2)],
                      to: destination, flags: flags)
    }
    d.register(.recvfrom, .partial("no MSG_OOB")) {
      a throws(Errno) in
      let socket = try socketFile(a.int(a.a0))
      let received = try receive(socket, buffers: [(a.address(a.a1), a.a2)],
                                 flags: a.int(a.a3))
      try writeAddress(received.source, to: a.address(a.a4),
                       lengthAddress: a.address(a.a5))
      return received.flags & MessageFlags.truncate != 0
        && a.int(a.a3) & MessageFlags.truncate != 0
        ? received.length : received.count
    }
    d.register(.sendmsg, .partial("no ancillary data (SCM_RIGHTS)")) {
      a throws(Errno) in
      try sendMessage(socketFile(a.int(a.a0)), header: a.address(a.a1),
                      flags: a.int(a.a2))
    }
    d.register(.recvmsg, .partial("no ancillary data (SCM_RIGHTS)")) {
      a throws(Errno) in
      try receiveMessage(socketFile(a.int(a.a0)), header: a.address(a.a1),
                         flags: a.int(a.a2))
    }
    d.register(.sendmmsg, .partial("no ancillary data")) { a throws(Errno) in
      try sendMessages(socketFile(a.int(a.a0)), vector: a.address(a.a1),
                       count: a.a2, flags: a.int(a.a3))
    }
    d.register(.recvmmsg, .partial("no ancillary data")) { a throws(Errno) in
      try receiveMessages(socketFile(a.int(a.a0)), vector: a.address(a.a1),
                          count: a.a2, flags: a.int(a.a3),
                          timeout: a.address(a.a4))
    }
    d.register(.shutdown, .implemented) { a throws(Errno) in
      try socketFile(a.int(a.a0)).shutdown(a.int(a.a1))
      return 0
    }
    d.register(.getsockname, .implemented) { a throws(Errno) in
      let socket = try socketFile(a.int(a.a0))
      try writeAddress(try socket.localName(), to: a.address(a.a1),
                       lengthAddress: a.address(a.a2), required: true)
      return 0
    }
    d.register(.getpeername, .implemented) { a throws(Errno) in
      let socket = try socketFile(a.int(a.a0))
      try writeAddress(try socket.peerName(), to: a.address(a.a1),
                       lengthAddress: a.address(a.a2), required: true)
      return 0
    }
    d.register(.setsockopt, .partial(
      "common SOL_SOCKET, TCP and IP options; others ENOPROTOOPT"))
    { a throws(Errno) in
      try setOption(a.int(a.a0), level: a.int(a.a1), name: a.int(a.a2),
                    value: a.address(a.a3), length: a.int(a.a4))
    }
    d.register(.getsockopt, .partial(
      "common SOL_SOCKET, TCP and IP options; others ENOPROTOOPT"))
    { a throws(Errno) in
      try option(a.int(a.a0), level: a.int(a.a1), name: a.int(a.a2),
                 value: a.address(a.a3), lengthAddress: a.address(a.a4))
    }
  }

  // MARK: Creating sockets

  /// Splits socket(2)'s type into the kind and the SOCK_NONBLOCK and
  /// SOCK_CLOEXEC flags; other flag bits are EINVAL.
  private static func splitType(_ type: Int32) throws(Errno)
    -> (kind: Int32, nonBlock: Bool, closeOnExec: Bool)
  {
    let flags = type & ~SocketType.kindMask
    guard flags & ~(SocketType.nonBlock | SocketType.closeOnExec) == 0 else {
      throw .EINVAL
    }
    return (type & SocketType.kindMask, flags & SocketType.nonBlock != 0,
            flags & SocketType.closeOnExec != 0)
  }

  static func socket(domain: Int32, type: Int32, protocolNumber: Int32)
    throws(Errno) -> Int
  {
    let (kind, nonBlock, closeOnExec) = try splitType(type)
    let flags = nonBlock ? OpenFile.nonBlockFlag : 0
    let file: Socket
    switch domain {
    case Int32(AddressFamily.inet), Int32(AddressFamily.inet6):
      switch (kind, protocolNumber) {
      case (SocketType.stream, 0), (SocketType.stream, SocketLevel.tcp),
        (SocketType.datagram, 0), (SocketType.datagram, SocketLevel.udp):
        file = try InetSocket.open(family: UInt16(domain), kind: kind,
                                   flags: flags)
      case (SocketType.stream, _), (SocketType.datagram, _):
        // TODO(net): ICMP "ping" sockets (SOCK_DGRAM, IPPROTO_ICMP).
        throw Socket.refuse("AF_INET type \(kind) protocol \(protocolNumber)",
                            .EPROTONOSUPPORT)
      default:
        // TODO(net): raw sockets.
        throw Socket.refuse("AF_INET socket type \(kind)", .ESOCKTNOSUPPORT)
      }
    case Int32(AddressFamily.unix):
      guard protocolNumber == 0 else { throw .EPROTONOSUPPORT }
      guard kind == SocketType.stream || kind == SocketType.datagram else {
        // TODO(net): SOCK_SEQPACKET on AF_UNIX.
        throw Socket.refuse("AF_UNIX socket type \(kind)", .ESOCKTNOSUPPORT)
      }
      file = UnixSocket(kind: kind, flags: flags)
    default:
      throw Socket.refuse("address family \(domain)", .EAFNOSUPPORT)
    }
    return Int(try install(file, closeOnExec: closeOnExec))
  }

  static func socketpair(domain: Int32, type: Int32, protocolNumber: Int32,
                         fds: UserAddress) throws(Errno) -> Int
  {
    let (kind, nonBlock, closeOnExec) = try splitType(type)
    guard domain == Int32(AddressFamily.unix) else {
      // Linux: AF_INET and AF_INET6 have no socketpair (EOPNOTSUPP);
      // other families do not exist here.
      throw domain == Int32(AddressFamily.inet)
        || domain == Int32(AddressFamily.inet6) ? .EOPNOTSUPP : .EAFNOSUPPORT
    }
    guard protocolNumber == 0 else { throw .EPROTONOSUPPORT }
    guard kind == SocketType.stream || kind == SocketType.datagram else {
      throw Socket.refuse("AF_UNIX socket type \(kind)", .ESOCKTNOSUPPORT)
    }
    try UserMemory.checkRange(fds, 8)
    let (first, second) = UnixSocket.pair(
      kind: kind, flags: nonBlock ? OpenFile.nonBlockFlag : 0)
    let files = Process.current.files
    let firstFD = try install(first, closeOnExec: closeOnExec)
    let secondFD: Int32
    do throws(Errno) {
      secondFD = try install(second, closeOnExec: closeOnExec)
    } catch {
      try? files.close(firstFD)
      throw error
    }
    do throws(Errno) {
      try UserMemory.write((firstFD, secondFD), to: fds)
    } catch {
      try? files.close(firstFD)
      try? files.close(secondFD)
      throw error
    }
    return 0
  }

  private static func install(_ file: Socket, closeOnExec: Bool)
    throws(Errno) -> Int32
  {
    let files = Process.current.files
    do throws(Errno) {
      let fd = try files.install(file)
      files.setCloseOnExec(fd, closeOnExec)
      return fd
    } catch {
      // The socket never got a descriptor: release it now.
      file.lastDescriptorClosed()
      throw error
    }
  }

  static func accept(_ fd: Int32, address: UserAddress,
                     lengthAddress: UserAddress, flags: Int32)
    throws(Errno) -> Int
  {
    guard flags & ~(SocketType.nonBlock | SocketType.closeOnExec) == 0 else {
      throw .EINVAL
    }
    let socket = try socketFile(fd)
    let accepted = try socket.accept(
      mayBlock: !socket.isNonBlocking,
      flags: flags & SocketType.nonBlock != 0 ? OpenFile.nonBlockFlag : 0)
    let newFD = try install(
      accepted, closeOnExec: flags & SocketType.closeOnExec != 0)
    do throws(Errno) {
      if !address.isNull {
        try writeAddress(try accepted.peerName(), to: address,
                         lengthAddress: lengthAddress)
      }
    } catch {
      // Linux drops the connection when the address cannot be written.
      try? Process.current.files.close(newFD)
      throw error
    }
    return Int(newFD)
  }

  // MARK: Descriptors and addresses

  /// The socket behind `fd`: EBADF for no file, ENOTSOCK for another kind.
  static func socketFile(_ fd: Int32) throws(Errno) -> Socket {
    guard let socket = try Process.current.files.get(fd) as? Socket else {
      throw .ENOTSOCK
    }
    return socket
  }

  /// A sockaddr from the caller (move_addr_to_kernel): at most 128 bytes.
  static func readAddress(_ address: UserAddress, length: UInt64)
    throws(Errno) -> [UInt8]
  {
    let size = Int32(truncatingIfNeeded: length)
    guard size >= 0, Int(size) <= maximumAddressLength else {
      throw .EINVAL
    }
    return try UserMemory.readBytes(at: address, count: Int(size))
  }

  /// Writes a sockaddr back (move_addr_to_user): as much as the caller's
  /// length allows, then the real length. A null address (recvfrom's) is
  /// skipped unless `required` (getsockname's).
  static func writeAddress(_ bytes: [UInt8], to address: UserAddress,
                           lengthAddress: UserAddress,
                           required: Bool = false) throws(Errno)
  {
    if address.isNull && !required { return }
    if lengthAddress.isNull {
      if required { throw .EFAULT }
      return
    }
    let room = try UserMemory.read(Int32.self, at: lengthAddress)
    guard room >= 0 else { throw .EINVAL }
    let count = min(Int(room), bytes.count)
    if count > 0 {
      try UserMemory.writeBytes(Array(bytes[0..<count]), to: address)
    }
    try UserMemory.write(Int32(bytes.count), to: lengthAddress)
  }

  // MARK: Sending

  /// Sends the bytes of `buffers` as one message. Streams go in chunks;
  /// a datagram is gathered whole. EPIPE on a stream raises SIGPIPE
  /// unless MSG_NOSIGNAL.
  static func send(_ socket: Socket, buffers: [(UserAddress, UInt64)],
                   to destination: [UInt8]?, flags: Int32)
    throws(Errno) -> Int
  {
    let known = MessageFlags.dontWait | MessageFlags.noSignal
      | MessageFlags.more | MessageFlags.endOfRecord
      | MessageFlags.dontRoute | MessageFlags.outOfBand
    if flags & ~known != 0 {
      throw Socket.refuse("send flags \(flags & ~known)", .EOPNOTSUPP)
    }
    let mayBlock = !socket.isNonBlocking && flags & MessageFlags.dontWait == 0
    do throws(Errno) {
      if !socket.isStream {
        let data = try gather(buffers, limit: chunkSize)
        var result: Result<Int, Errno> = .success(0)
        data.withUnsafeBytes { raw in
          do throws(Errno) {
            result = .success(try socket.send(
              raw, to: destination, flags: flags, mayBlock: mayBlock))
          } catch {
            result = .failure(error)
          }
        }
        return try result.get()
      }
      return try sendStream(socket, buffers: buffers, to: destination,
                            flags: flags, mayBlock: mayBlock)
    } catch {
      if error == .EPIPE && socket.isStream
        && flags & MessageFlags.noSignal == 0,
        let thread = Scheduler.current
      {
        Signals.send(SignalInfo(signal: Signal.pipe.rawValue,
                                code: SignalInfo.codeUser,
                                senderPID: Process.current.pid),
                     to: thread)
      }
      throw error
    }
  }

  private static func sendStream(_ socket: Socket,
                                 buffers: [(UserAddress, UInt64)],
                                 to destination: [UInt8]?, flags: Int32,
                                 mayBlock: Bool) throws(Errno) -> Int
  {
    let total = try totalLength(buffers)
    var done = 0
    let chunk = UnsafeMutableRawBufferPointer.allocate(
      byteCount: min(max(total, 1), chunkSize), alignment: 16)
    defer { chunk.deallocate() }
    while done < total || total == 0 {
      var want = min(chunk.count, total - done)
      do throws(Errno) {
        want = try copyIn(buffers, skipping: done, count: want, into: chunk)
      } catch {
        if done > 0 { return done }
        throw error
      }
      let sent: Int
      do throws(Errno) {
        sent = try socket.send(
          UnsafeRawBufferPointer(rebasing: chunk[0..<want]),
          to: destination, flags: flags, mayBlock: mayBlock)
      } catch {
        // tcp_sendmsg: an error after some bytes went reports those.
        if done > 0 { return done }
        throw error
      }
      done += sent
      if sent < want || total == 0 { break }
    }
    return done
  }

  // MARK: Receiving

  struct Received {
    var count: Int
    var length: Int
    var source: [UInt8]
    /// msg_flags: MSG_TRUNC when a datagram was cut.
    var flags: Int32
  }

  /// Receives one message (a datagram, or the stream bytes available)
  /// into `buffers`. Every buffer is checked writable first, so that a
  /// bad pointer never consumes data.
  static func receive(_ socket: Socket, buffers: [(UserAddress, UInt64)],
                      flags: Int32) throws(Errno) -> Received
  {
    let known = MessageFlags.dontWait | MessageFlags.peek
      | MessageFlags.waitAll | MessageFlags.truncate
      | MessageFlags.outOfBand | MessageFlags.controlCloseOnExec
    if flags & ~known != 0 {
      throw Socket.refuse("receive flags \(flags & ~known)", .EOPNOTSUPP)
    }
    let mayBlock = !socket.isNonBlocking && flags & MessageFlags.dontWait == 0
    let total = try totalLength(buffers)
    for (base, length) in buffers {
      try UserMemory.checkWritable(base, Int(length))
    }
    let size = min(total, chunkSize)
    if size == 0 && socket.isStream {
      // recv(2) of nothing on a stream returns at once.
      return Received(count: 0, length: 0, source: [], flags: 0)
    }
    let buffer = UnsafeMutableRawBufferPointer.allocate(
      byteCount: max(size, 1), alignment: 16)
    defer { buffer.deallocate() }
    let message = try socket.receive(
      into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size]),
      flags: flags, mayBlock: mayBlock)
    try copyOut(UnsafeRawBufferPointer(rebasing: buffer[0..<message.count]),
                to: buffers)
    var result = Received(count: message.count, length: message.length,
                          source: message.source, flags: 0)
    if message.length > message.count {
      result.flags |= MessageFlags.truncate
    }
    guard socket.isStream, message.count == size, size < total else {
      return result
    }
    // A stream read larger than one chunk goes on into the rest of the
    // buffers with what is there now (waiting only with MSG_WAITALL).
    let waitAll = mayBlock && flags & MessageFlags.waitAll != 0
    var done = message.count
    while done < total {
      let next = min(total - done, chunkSize)
      let more: ReceivedMessage
      do throws(Errno) {
        more = try socket.receive(
          into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<next]),
          flags: flags, mayBlock: waitAll)
      } catch {
        break
      }
      if more.count == 0 { break }
      try copyOut(UnsafeRawBufferPointer(rebasing: buffer[0..<more.count]),
                  to: buffers, skipping: done)
      done += more.count
      if more.count < next { break }
    }
    result.count = done
    result.length = done
    return result
  }

  // MARK: sendmsg and recvmsg

  private static func readHeader(_ address: UserAddress) throws(Errno)
    -> Msghdr
  {
    let bytes = try UserMemory.readBytes(at: address, count: Msghdr.byteCount)
    guard let header = Msghdr(bytes: bytes) else { throw .EFAULT }
    return header
  }

  static func sendMessage(_ socket: Socket, header address: UserAddress,
                          flags: Int32) throws(Errno) -> Int
  {
    let header = try readHeader(address)
    if header.controlLength > 0 {
      // TODO(net): SCM_RIGHTS and SCM_CREDENTIALS over AF_UNIX.
      throw Socket.refuse("sendmsg ancillary data", .EOPNOTSUPP)
    }
    var destination: [UInt8]? = nil
    if header.name != 0 && header.nameLength != 0 {
      destination = try readAddress(UserAddress(header.name),
                                    length: UInt64(header.nameLength))
    }
    let buffers = try FileDescriptorSyscalls.iovecs(
      UserAddress(header.iov), header.iovLength)
    return try send(socket, buffers: buffers, to: destination, flags: flags)
  }

  static func receiveMessage(_ socket: Socket, header address: UserAddress,
                             flags: Int32) throws(Errno) -> Int
  {
    let header = try readHeader(address)
    let buffers = try FileDescriptorSyscalls.iovecs(
      UserAddress(header.iov), header.iovLength)
    let received = try receive(socket, buffers: buffers, flags: flags)
    if header.name != 0 {
      let count = min(Int(header.nameLength), received.source.count)
      if count > 0 {
        try UserMemory.writeBytes(Array(received.source[0..<count]),
                                  to: UserAddress(header.name))
      }
    }
    // msg_namelen gets the real length; no ancillary data is ever
    // delivered, so msg_controllen is 0.
    try UserMemory.write(UInt32(received.source.count),
                         to: address + Msghdr.nameLengthOffset)
    try UserMemory.write(UInt64(0), to: address + Msghdr.controlLengthOffset)
    try UserMemory.write(received.flags, to: address + Msghdr.flagsOffset)
    return flags & MessageFlags.truncate != 0 && !socket.isStream
      ? received.length : received.count
  }

  static func sendMessages(_ socket: Socket, vector: UserAddress,
                           count: UInt64, flags: Int32) throws(Errno) -> Int
  {
    let total = Int(min(count, UInt64(maximumMessages)))
    var sent = 0
    while sent < total {
      let entry = vector + sent * Mmsghdr.byteCount
      let length: Int
      do throws(Errno) {
        length = try sendMessage(socket, header: entry, flags: flags)
      } catch {
        // sendmmsg(2): an error after some messages went reports those.
        if sent > 0 { break }
        throw error
      }
      try UserMemory.write(UInt32(truncatingIfNeeded: length),
                           to: entry + Mmsghdr.lengthOffset)
      sent += 1
    }
    return sent
  }

  static func receiveMessages(_ socket: Socket, vector: UserAddress,
                              count: UInt64, flags: Int32,
                              timeout: UserAddress) throws(Errno) -> Int
  {
    var deadline: UInt64? = nil
    if !timeout.isNull {
      deadline = Clock.monotonicNanoseconds()
        &+ (try TimeSyscalls.readTimespec(at: timeout))
    }
    let total = Int(min(count, UInt64(maximumMessages)))
    var received = 0
    var messageFlags = flags & ~MessageFlags.waitForOne
    while received < total {
      let entry = vector + received * Mmsghdr.byteCount
      let length: Int
      do throws(Errno) {
        length = try receiveMessage(socket, header: entry,
                                    flags: messageFlags)
      } catch {
        if received > 0 { break }
        throw error
      }
      try UserMemory.write(UInt32(truncatingIfNeeded: length),
                           to: entry + Mmsghdr.lengthOffset)
      received += 1
      // MSG_WAITFORONE: only the first message may wait.
      if flags & MessageFlags.waitForOne != 0 {
        messageFlags |= MessageFlags.dontWait
      }
      // TODO(net): recvmmsg's timeout is only checked between messages,
      // as Linux does; a blocking receive does not end at it.
      if let deadline, Clock.monotonicNanoseconds() >= deadline { break }
    }
    return received
  }

  // MARK: Options

  static func setOption(_ fd: Int32, level: Int32, name: Int32,
                        value: UserAddress, length: Int32) throws(Errno)
    -> Int
  {
    let socket = try socketFile(fd)
    guard length >= 0 else { throw .EINVAL }
    let bytes = try UserMemory.readBytes(at: value,
                                         count: min(Int(length), 256))
    try socket.setOption(level: level, name: name, value: bytes)
    return 0
  }

  static func option(_ fd: Int32, level: Int32, name: Int32,
                     value: UserAddress, lengthAddress: UserAddress)
    throws(Errno) -> Int
  {
    let socket = try socketFile(fd)
    let room = try UserMemory.read(Int32.self, at: lengthAddress)
    guard room >= 0 else { throw .EINVAL }
    let bytes = try socket.option(level: level, name: name)
    let count = min(Int(room), bytes.count)
    if count > 0 {
      try UserMemory.writeBytes(Array(bytes[0..<count]), to: value)
    }
    try UserMemory.write(Int32(count), to: lengthAddress)
    return 0
  }

  // MARK: Moving bytes

  static func totalLength(_ buffers: [(UserAddress, UInt64)])
    throws(Errno) -> Int
  {
    var total: UInt64 = 0
    for (_, length) in buffers { total &+= length }
    guard total <= UInt64(FileDescriptorSyscalls.maximumTransfer) else {
      return FileDescriptorSyscalls.maximumTransfer
    }
    return Int(total)
  }

  /// All of `buffers` in one array, EMSGSIZE beyond `limit`.
  private static func gather(_ buffers: [(UserAddress, UInt64)],
                             limit: Int) throws(Errno) -> [UInt8]
  {
    var bytes: [UInt8] = []
    for (base, length) in buffers where length > 0 {
      guard bytes.count + Int(length) <= limit else { throw .EMSGSIZE }
      bytes += try UserMemory.readBytes(at: base, count: Int(length))
    }
    return bytes
  }

  /// Copies `count` bytes of the buffers, from byte `skipping` of their
  /// concatenation, into `chunk`; returns how many could be read (less
  /// than `count` only before an unmapped page, like write(2)).
  private static func copyIn(_ buffers: [(UserAddress, UInt64)],
                             skipping: Int, count: Int,
                             into chunk: UnsafeMutableRawBufferPointer)
    throws(Errno) -> Int
  {
    var offset = 0
    var copied = 0
    for (base, length) in buffers where copied < count {
      let size = Int(length)
      defer { offset += size }
      if offset + size <= skipping { continue }
      let start = max(0, skipping - offset)
      let want = min(size - start, count - copied)
      do throws(Errno) {
        try UserMemory.copyIn(from: base + start, count: want,
                              into: chunk.baseAddress! + copied)
      } catch {
        let readable = UserMemory.readablePrefix(base + start, want)
        if readable > 0 {
          try UserMemory.copyIn(from: base + start, count: readable,
                                into: chunk.baseAddress! + copied)
        }
        copied += readable
        if copied == 0 { throw error }
        return copied
      }
      copied += want
    }
    return copied
  }

  /// Scatters `bytes` into the buffers, starting `skipping` bytes in.
  private static func copyOut(_ bytes: UnsafeRawBufferPointer,
                              to buffers: [(UserAddress, UInt64)],
                              skipping: Int = 0) throws(Errno)
  {
    var offset = 0
    var written = 0
    for (base, length) in buffers where written < bytes.count {
      let size = Int(length)
      defer { offset += size }
      if offset + size <= skipping { continue }
      let start = max(0, skipping - offset)
      let want = min(size - start, bytes.count - written)
      try UserMemory.copyOut(to: base + start,
                             from: bytes.baseAddress! + written, count: want)
      written += want
    }
  }
}
