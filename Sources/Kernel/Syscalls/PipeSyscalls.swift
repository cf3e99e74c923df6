// Pipes and event counters: pipe(2), pipe2(2), eventfd(2), eventfd2(2).

import LinuxABI

enum PipeSyscalls {
  static let closeOnExecFlag: UInt32 = 0o2000000

  static func register() {
    let d = SyscallDispatcher.self
    d.register(.pipe, .implemented) { args throws(Errno) in
      try pipe(fds: args.address(args.a0), flags: 0)
    }
    d.register(.pipe2, .partial("no O_DIRECT (packet mode)")) {
      args throws(Errno) in
      try pipe(fds: args.address(args.a0),
               flags: UInt32(truncatingIfNeeded: args.a1))
    }
    d.register(.eventfd, .implemented) { args throws(Errno) in
      try eventfd(initial: args.a0, flags: 0)
    }
    d.register(.eventfd2, .implemented) { args throws(Errno) in
      try eventfd(initial: args.a0, flags: UInt32(truncatingIfNeeded: args.a1))
    }
  }

  static func pipe(fds: UserAddress, flags: UInt32) throws(Errno) -> Int {
    guard flags & ~(closeOnExecFlag | OpenFile.nonBlockFlag) == 0 else {
      throw .EINVAL
    }
    try UserMemory.checkRange(fds, 8)
    let shared = Pipe()
    let readEnd = PipeEnd(pipe: shared, isWriteEnd: false, flags: flags)
    let writeEnd = PipeEnd(pipe: shared, isWriteEnd: true, flags: flags)
    let files = Process.current.files
    let readFD = try files.install(readEnd)
    let writeFD: Int32
    do throws(Errno) {
      writeFD = try files.install(writeEnd)
    } catch {
      try? files.close(readFD)
      throw error
    }
    let cloexec = flags & closeOnExecFlag != 0
    files.setCloseOnExec(readFD, cloexec)
    files.setCloseOnExec(writeFD, cloexec)
    do throws(Errno) {
      try UserMemory.write((readFD, writeFD), to: fds)
    } catch {
      try? files.close(readFD)
      try? files.close(writeFD)
      throw error
    }
    return 0
  }

  /// EFD_SEMAPHORE is 1; EFD_CLOEXEC and EFD_NONBLOCK share O_ values.
  static func eventfd(initial: UInt64, flags: UInt32) throws(Errno) -> Int {
    let semaphore: UInt32 = 1
    guard flags & ~(semaphore | closeOnExecFlag | OpenFile.nonBlockFlag) == 0
    else { throw .EINVAL }
    let counter = EventCounter(initial: initial & 0xFFFF_FFFF,
                               semaphore: flags & semaphore != 0,
                               flags: flags)
    let files = Process.current.files
    let fd = try files.install(counter)
    files.setCloseOnExec(fd, flags & closeOnExecFlag != 0)
    return Int(fd)
  }
}
