// Pipes: a 64 KiB ring buffer between a read end and a write end. See
// pipe(7): reads wait for data and return 0 once every writer is gone;
// writes wait for room, and writes of at most PIPE_BUF bytes are atomic;
// writing with no reader left raises SIGPIPE and fails with EPIPE.

import LinuxABI

final class Pipe {
  static let defaultCapacity = 65536
  /// /proc/sys/fs/pipe-max-size's default.
  static let maximumCapacity = 1 << 20
  static let atomicSize = 4096   // PIPE_BUF

  private var buffer = [UInt8](repeating: 0, count: Pipe.defaultCapacity)
  private var head = 0
  private(set) var count = 0
  var readers = 0
  var writers = 0
  /// How many times each end was ever opened (FIFO opens wait for the
  /// other side to have opened, even if it has closed again since).
  var readerOpens = 0
  var writerOpens = 0

  /// Edges for edge-triggered epoll, one count per end, as Linux's pipe
  /// wakes its waiters: every write is an edge for the read end; a read
  /// is one for the write end only when it makes a full pipe writable
  /// again; a close is one for both.
  private(set) var readEndEdges: UInt64 = 0
  private(set) var writeEndEdges: UInt64 = 0

  var capacity: Int { buffer.count }
  var space: Int { capacity - count }

  func take(into destination: UnsafeMutableRawBufferPointer) -> Int {
    let n = min(destination.count, count)
    for i in 0..<n { destination[i] = buffer[(head + i) % capacity] }
    drop(n)
    return n
  }

  func endClosed() {
    readEndEdges &+= 1
    writeEndEdges &+= 1
  }

  /// Copies the oldest bytes without consuming them (splice, tee).
  func peek(into destination: UnsafeMutableRawBufferPointer) -> Int {
    let n = min(destination.count, count)
    for i in 0..<n { destination[i] = buffer[(head + i) % capacity] }
    return n
  }

  /// Consumes `n` bytes already looked at with peek.
  func drop(_ n: Int) {
    let n = min(n, count)
    let wasFull = space < Pipe.atomicSize
    head = (head + n) % capacity
    count -= n
    if wasFull && space >= Pipe.atomicSize { writeEndEdges &+= 1 }
  }

  func put(_ source: UnsafeRawBufferPointer) -> Int {
    let n = min(source.count, space)
    for i in 0..<n { buffer[(head + count + i) % capacity] = source[i] }
    count += n
    if n > 0 { readEndEdges &+= 1 }
    return n
  }

  /// F_SETPIPE_SZ: a power-of-two number of pages, at least one, and not
  /// below what the pipe holds now (EBUSY).
  func resize(to requested: Int) throws(Errno) -> Int {
    guard requested >= 0 else { throw .EINVAL }
    guard requested <= Pipe.maximumCapacity else { throw .EPERM }
    var size = 4096
    while size < requested { size *= 2 }
    guard size >= count else { throw .EBUSY }
    var contents = [UInt8](repeating: 0, count: size)
    for i in 0..<count { contents[i] = buffer[(head + i) % capacity] }
    buffer = contents
    head = 0
    writeEndEdges &+= 1
    return size
  }
}

final class PipeEnd: OpenFile {
  let pipe: Pipe
  let isWriteEnd: Bool
  /// A FIFO opened O_RDWR reads and writes.
  private(set) var bothEnds = false

  init(pipe: Pipe, isWriteEnd: Bool, flags: UInt32) {
    self.pipe = pipe
    self.isWriteEnd = isWriteEnd
    self.bothEnds = false
    super.init()
    statusFlags = (isWriteEnd ? OpenFlags.wronly : OpenFlags.rdonly).rawValue
      | (flags & OpenFile.nonBlockFlag)
    if isWriteEnd {
      pipe.writers += 1
      pipe.writerOpens += 1
    } else {
      pipe.readers += 1
      pipe.readerOpens += 1
    }
  }


  override func read(into buffer: UnsafeMutableRawBufferPointer,
                     mayBlock: Bool) throws(Errno) -> Int
  {
    guard !isWriteEnd || bothEnds else { throw .EBADF }
    if buffer.count == 0 { return 0 }
    while true {
      if pipe.count > 0 {
        let n = pipe.take(into: buffer)
        notifyChanged()
        return n
      }
      if pipe.writers == 0 { return 0 }
      guard mayBlock else { throw .EAGAIN }
      try Readiness.wait()
    }
  }

  override func write(_ buffer: UnsafeRawBufferPointer, mayBlock: Bool)
    throws(Errno) -> Int
  {
    guard isWriteEnd else { throw .EBADF }
    var done = 0
    while done < buffer.count {
      if pipe.readers == 0 {
        if let thread = Scheduler.current {
          Signals.send(SignalInfo(signal: Signal.pipe.rawValue,
                                  code: SignalInfo.codeUser,
                                  senderPID: Process.current.pid),
                       to: thread)
        }
        if done > 0 { return done }
        throw .EPIPE
      }
      let left = buffer.count - done
      // Small writes go in whole or not at all.
      let fits = left <= Pipe.atomicSize ? pipe.space >= left : pipe.space > 0
      if fits {
        done += pipe.put(UnsafeRawBufferPointer(rebasing: buffer[done...]))
        notifyChanged()
        continue
      }
      guard mayBlock else {
        if done > 0 { return done }
        throw .EAGAIN
      }
      do throws(Errno) {
        try Readiness.wait()
      } catch {
        if done > 0 { return done }
        throw error
      }
    }
    return done
  }

  override var generation: UInt64 {
    if bothEnds { return pipe.readEndEdges &+ pipe.writeEndEdges }
    return isWriteEnd ? pipe.writeEndEdges : pipe.readEndEdges
  }

  override func pollEvents() -> UInt32 {
    if bothEnds {
      return (pipe.count > 0 ? PollEvents.input : 0)
        | (pipe.space >= Pipe.atomicSize ? PollEvents.output : 0)
    }
    if isWriteEnd {
      if pipe.readers == 0 { return PollEvents.output | PollEvents.error }
      return pipe.space >= Pipe.atomicSize ? PollEvents.output : 0
    }
    var events: UInt32 = pipe.count > 0 ? PollEvents.input : 0
    if pipe.writers == 0 { events |= PollEvents.hangUp }
    return events
  }

  override func ioctl(request: UInt64, argument: UserAddress)
    throws(Errno) -> Int
  {
    if request == 0x541B {  // FIONREAD
      try UserMemory.write(Int32(isWriteEnd ? 0 : pipe.count), to: argument)
      return 0
    }
    return try super.ioctl(request: request, argument: argument)
  }

  override func lastDescriptorClosed() {
    if isWriteEnd || bothEnds { pipe.writers -= 1 }
    if !isWriteEnd || bothEnds { pipe.readers -= 1 }
    pipe.endClosed()
    notifyChanged()
  }

  /// A FIFO opened read-write counts as both ends.
  init(pipe: Pipe, bothEnds flags: UInt32) {
    self.pipe = pipe
    self.isWriteEnd = true
    self.bothEnds = true
    super.init()
    statusFlags = OpenFlags.rdwr.rawValue | (flags & OpenFile.nonBlockFlag)
    pipe.writers += 1
    pipe.readers += 1
  }

  /// A stable number per pipe, shared by both ends, as on Linux.
  var pipeInode: UInt64 {
    UInt64(UInt(bitPattern: ObjectIdentifier(pipe)) >> 4) & 0xFFFF_FFFF
  }

  override func status() -> Stat {
    var stat = super.status()
    stat.ino = pipeInode
    stat.size = Int64(isWriteEnd ? 0 : pipe.count)
    return stat
  }

  override var procName: [UInt8] { Array("pipe:[\(pipeInode)]".utf8) }
}

/// eventfd(2): a 64-bit counter as a file.
final class EventCounter: OpenFile {
  static let maximum: UInt64 = 0xFFFF_FFFF_FFFF_FFFE
  private var value: UInt64
  private let semaphore: Bool

  init(initial: UInt64, semaphore: Bool, flags: UInt32) {
    value = initial
    self.semaphore = semaphore
    super.init()
    statusFlags = OpenFlags.rdwr.rawValue | (flags & OpenFile.nonBlockFlag)
  }

  override func read(into buffer: UnsafeMutableRawBufferPointer,
                     mayBlock: Bool) throws(Errno) -> Int
  {
    guard buffer.count >= 8 else { throw .EINVAL }
    while value == 0 {
      guard mayBlock else { throw .EAGAIN }
      try Readiness.wait()
    }
    let result = semaphore ? 1 : value
    value -= result
    buffer.storeBytes(of: result, as: UInt64.self)
    notifyChanged()
    return 8
  }

  override func write(_ buffer: UnsafeRawBufferPointer, mayBlock: Bool)
    throws(Errno) -> Int
  {
    guard buffer.count >= 8 else { throw .EINVAL }
    let addend = buffer.loadUnaligned(as: UInt64.self)
    guard addend != UInt64.max else { throw .EINVAL }
    while EventCounter.maximum - value < addend {
      guard mayBlock else { throw .EAGAIN }
      try Readiness.wait()
    }
    value += addend
    notifyChanged()
    return 8
  }

  override func pollEvents() -> UInt32 {
    var events: UInt32 = 0
    if value > 0 { events |= PollEvents.input }
    if value < EventCounter.maximum { events |= PollEvents.output }
    return events
  }

  override func status() -> Stat {
    var stat = super.status()
    stat.mode = FileMode(rawValue: 0o600)  // an anonymous inode: no type
    return stat
  }

  override var procName: [UInt8] { Array("anon_inode:[eventfd]".utf8) }
}
