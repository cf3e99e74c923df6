// Waiting for readiness: poll(2), ppoll(2), select(2), pselect6(2),
// epoll_create(2), epoll_create1(2), epoll_ctl(2), epoll_wait(2),
// epoll_pwait(2), epoll_pwait2(2). All of them compute readiness from the
// files' pollEvents and sleep on the shared readiness queue (see
// Process/Readiness.swift).

import LinuxABI

private let log = Logger("poll")

enum PollSyscalls {
  /// Restart only if no handler ran (Linux's ERESTARTNOHAND): poll and
  /// select fail with EINTR after a handler, whatever SA_RESTART says.
  static let restartWithoutHandler = Signals.restartNoHandler

  static func register() {
    let d = SyscallDispatcher.self
    d.register(.poll, .implemented) { args throws(Errno) in
      let timeout = Int32(truncatingIfNeeded: args.a2)
      return try poll(fds: args.address(args.a0), count: args.a1,
                      deadline: deadline(milliseconds: timeout))
    }
    d.register(.ppoll, .implemented) { args throws(Errno) in
      let deadline = try deadline(timespec: args.address(args.a2))
      return try withTemporaryMask(args.address(args.a3), size: args.a4) {
        () throws(Errno) -> Int in
        try poll(fds: args.address(args.a0), count: args.a1,
                 deadline: deadline)
      }
    }
    d.register(.select, .implemented) { args throws(Errno) in
      let timeout = args.address(args.a4)
      var deadline: UInt64? = nil
      if !timeout.isNull {
        let (seconds, micros) = try UserMemory.read((Int64, Int64).self,
                                                    at: timeout)
        guard seconds >= 0, micros >= 0, micros < 1_000_000 else {
          throw .EINVAL
        }
        deadline = Clock.monotonicNanoseconds()
          &+ UInt64(seconds) &* 1_000_000_000 &+ UInt64(micros) &* 1000
      }
      let result = try select(count: args.int(args.a0),
                              read: args.address(args.a1),
                              write: args.address(args.a2),
                              except: args.address(args.a3),
                              deadline: deadline)
      // Linux writes back the time left.
      if let deadline {
        let now = Clock.monotonicNanoseconds()
        let left = deadline > now ? deadline - now : 0
        try UserMemory.write((Int64(left / 1_000_000_000),
                              Int64(left % 1_000_000_000 / 1000)), to: timeout)
      }
      return result
    }
    d.register(.pselect6, .implemented) { args throws(Errno) in
      let deadline = try deadline(timespec: args.address(args.a4))
      // The sixth argument points at { const sigset_t *set; size_t size }.
      var maskAddress = UserAddress(0)
      var maskSize: UInt64 = 8
      if !args.address(args.a5).isNull {
        let pair = try UserMemory.read((UInt64, UInt64).self,
                                       at: args.address(args.a5))
        maskAddress = UserAddress(pair.0)
        maskSize = pair.1
      }
      return try withTemporaryMask(maskAddress, size: maskSize) {
        () throws(Errno) -> Int in
        try select(count: args.int(args.a0), read: args.address(args.a1),
                   write: args.address(args.a2),
                   except: args.address(args.a3), deadline: deadline)
      }
    }
    d.register(.epollCreate, .implemented) { args throws(Errno) in
      guard Int32(truncatingIfNeeded: args.a0) > 0 else { throw .EINVAL }
      return Int(try Process.current.files.install(EpollInstance()))
    }
    d.register(.epollCreate1, .implemented) { args throws(Errno) in
      let flags = UInt32(truncatingIfNeeded: args.a0)
      guard flags & ~PipeSyscalls.closeOnExecFlag == 0 else { throw .EINVAL }
      let files = Process.current.files
      let fd = try files.install(EpollInstance())
      files.setCloseOnExec(fd, flags != 0)
      return Int(fd)
    }
    d.register(.epollCtl, .implemented) { args throws(Errno) in
      try epollCtl(epfd: args.int(args.a0), operation: args.int(args.a1),
                   fd: args.int(args.a2), event: args.address(args.a3))
      return 0
    }
    d.register(.epollWait, .implemented) { args throws(Errno) in
      try epollWait(epfd: args.int(args.a0), events: args.address(args.a1),
                    limit: args.int(args.a2),
                    deadline: deadline(milliseconds: args.int(args.a3)))
    }
    d.register(.epollPwait, .implemented) { args throws(Errno) in
      let deadline = deadline(milliseconds: args.int(args.a3))
      return try withTemporaryMask(args.address(args.a4), size: args.a5) {
        () throws(Errno) -> Int in
        try epollWait(epfd: args.int(args.a0), events: args.address(args.a1),
                      limit: args.int(args.a2), deadline: deadline)
      }
    }
    d.register(.epollPwait2, .implemented) { args throws(Errno) in
      let deadline = try deadline(timespec: args.address(args.a3))
      return try withTemporaryMask(args.address(args.a4), size: args.a5) {
        () throws(Errno) -> Int in
        try epollWait(epfd: args.int(args.a0), events: args.address(args.a1),
                      limit: args.int(args.a2), deadline: deadline)
      }
    }
  }

  // MARK: Timeouts and masks

  /// A negative timeout waits forever; zero does not wait.
  static func deadline(milliseconds: Int32) -> UInt64? {
    if milliseconds < 0 { return nil }
    return Clock.monotonicNanoseconds() &+ UInt64(milliseconds) &* 1_000_000
  }

  static func deadline(timespec: UserAddress) throws(Errno) -> UInt64? {
    if timespec.isNull { return nil }
    return Clock.monotonicNanoseconds()
      &+ (try TimeSyscalls.readTimespec(at: timespec))
  }

  /// Runs `body` with the signal mask replaced, as ppoll, pselect6 and
  /// epoll_pwait do. If a signal interrupts the wait, the old mask comes
  /// back when its handler returns (through the frame), else right away.
  static func withTemporaryMask(_ mask: UserAddress, size: UInt64,
                                _ body: () throws(Errno) -> Int)
    throws(Errno) -> Int
  {
    guard !mask.isNull else { return try body() }
    guard size == SignalSyscalls.signalSetSize else { throw .EINVAL }
    guard let thread = Scheduler.current else { throw .ESRCH }
    let newMask = try UserMemory.read(UInt64.self, at: mask)
    let saved = thread.signalMask
    thread.signalMask = newMask & ~unblockableSignals
    do throws(Errno) {
      let result = try body()
      thread.signalMask = saved
      return result
    } catch {
      if error == .EINTR || error == Signals.restartNoHandler ||
        error == Signals.restartSyscall
      {
        thread.maskToRestore = saved
      } else {
        thread.signalMask = saved
      }
      throw error
    }
  }

  // MARK: poll and select

  /// struct pollfd: int fd; short events; short revents.
  static func poll(fds: UserAddress, count: UInt64, deadline: UInt64?)
    throws(Errno) -> Int
  {
    let process = Process.current
    guard count <= process.limits[7].0 else { throw .EINVAL }
    let size = Int(count) * 8
    var entries = try UserMemory.readBytes(at: fds, count: size)
    while true {
      var ready = 0
      for i in 0..<Int(count) {
        let fd: Int32 = entries.load(at: i * 8)
        let requested = UInt32(UInt16(truncatingIfNeeded:
          entries.load(at: i * 8 + 4) as Int16))
        var revents: UInt32 = 0
        if fd >= 0 {
          if let file = try? process.files.get(fd) {
            revents = file.pollEvents()
              & (requested | PollEvents.error | PollEvents.hangUp)
          } else {
            revents = PollEvents.invalid
          }
        }
        entries.store(Int16(truncatingIfNeeded: revents), at: i * 8 + 6)
        if revents != 0 { ready += 1 }
      }
      if ready > 0 || deadline.map({ Clock.monotonicNanoseconds() >= $0 })
        == true
      {
        try UserMemory.writeBytes(entries, to: fds)
        return ready
      }
      try Readiness.wait(until: deadline, restart: restartWithoutHandler)
    }
  }

  static func select(count: Int32, read: UserAddress, write: UserAddress,
                     except: UserAddress, deadline: UInt64?)
    throws(Errno) -> Int
  {
    guard count >= 0, count <= 1024 else { throw .EINVAL }
    let bytes = (Int(count) + 63) / 64 * 8
    func load(_ set: UserAddress) throws(Errno) -> [UInt8]? {
      set.isNull ? nil : try UserMemory.readBytes(at: set, count: bytes)
    }
    let readSet = try load(read)
    let writeSet = try load(write)
    let exceptSet = try load(except)
    let files = Process.current.files
    func member(_ set: [UInt8]?, _ fd: Int) -> Bool {
      guard let set else { return false }
      return set[fd / 8] & (1 << UInt8(fd % 8)) != 0
    }
    // Every descriptor named in any set must be open.
    for fd in 0..<Int(count)
    where member(readSet, fd) || member(writeSet, fd) || member(exceptSet, fd)
    {
      _ = try files.get(Int32(fd))
    }
    while true {
      var outRead = readSet.map { [UInt8](repeating: 0, count: $0.count) }
      var outWrite = writeSet.map { [UInt8](repeating: 0, count: $0.count) }
      var outExcept = exceptSet.map { [UInt8](repeating: 0, count: $0.count) }
      var ready = 0
      for fd in 0..<Int(count) {
        let wanted = member(readSet, fd) || member(writeSet, fd)
          || member(exceptSet, fd)
        guard wanted, let file = try? files.get(Int32(fd)) else { continue }
        let events = file.pollEvents()
        let bit = UInt8(1) << UInt8(fd % 8)
        if member(readSet, fd) &&
          events & (PollEvents.input | PollEvents.hangUp | PollEvents.error)
            != 0
        {
          outRead![fd / 8] |= bit
          ready += 1
        }
        if member(writeSet, fd) &&
          events & (PollEvents.output | PollEvents.error) != 0
        {
          outWrite![fd / 8] |= bit
          ready += 1
        }
        if member(exceptSet, fd) && events & PollEvents.priority != 0 {
          outExcept![fd / 8] |= bit
          ready += 1
        }
      }
      if ready > 0 || deadline.map({ Clock.monotonicNanoseconds() >= $0 })
        == true
      {
        if let outRead { try UserMemory.writeBytes(outRead, to: read) }
        if let outWrite { try UserMemory.writeBytes(outWrite, to: write) }
        if let outExcept { try UserMemory.writeBytes(outExcept, to: except) }
        return ready
      }
      try Readiness.wait(until: deadline, restart: restartWithoutHandler)
    }
  }

  // MARK: epoll

  static func epollCtl(epfd: Int32, operation: Int32, fd: Int32,
                       event: UserAddress) throws(Errno)
  {
    let files = Process.current.files
    guard let epoll = try files.get(epfd) as? EpollInstance else {
      throw .EINVAL
    }
    let file = try files.get(fd)
    guard file !== epoll else { throw .EINVAL }
    // struct epoll_event is packed on x86_64: u32 events, u64 data.
    var events: UInt32 = 0
    var data: UInt64 = 0
    if operation != 2 {
      let raw = try UserMemory.readBytes(at: event, count: 12)
      events = raw.load(at: 0)
      data = raw.load(at: 4)
    }
    switch operation {
    case 1: try epoll.add(fd: fd, file: file, events: events, data: data)
    case 2: try epoll.remove(fd: fd, file: file)
    case 3: try epoll.modify(fd: fd, file: file, events: events, data: data)
    default: throw .EINVAL
    }
    // A change can make the epoll file itself readable.
    epoll.notifyChanged()
  }

  static func epollWait(epfd: Int32, events: UserAddress, limit: Int32,
                        deadline: UInt64?) throws(Errno) -> Int
  {
    guard limit > 0, limit <= 0x7FFF_FFFF / 12 else { throw .EINVAL }
    guard let epoll = try Process.current.files.get(epfd) as? EpollInstance
    else { throw .EINVAL }
    try UserMemory.checkRange(events, Int(limit) * 12)
    while true {
      let ready = epoll.collect(limit: Int(limit))
      if !ready.isEmpty {
        var bytes = [UInt8](repeating: 0, count: ready.count * 12)
        for (i, (mask, data)) in ready.enumerated() {
          bytes.store(mask, at: i * 12)
          bytes.store(data, at: i * 12 + 4)
        }
        try UserMemory.writeBytes(bytes, to: events)
        return ready.count
      }
      if let deadline, Clock.monotonicNanoseconds() >= deadline { return 0 }
      // epoll_wait is never restarted after a handler (EINTR).
      try Readiness.wait(until: deadline, restart: restartWithoutHandler,
                         epoll: epoll)
    }
  }
}
