// Reading, writing and inspecting descriptors: read(2), write(2),
// readv(2), writev(2), pread64(2), pwrite64(2), close(2), fstat(2),
// newfstatat(2) on a descriptor, lseek(2), ioctl(2), fcntl(2), dup(2),
// dup2(2), dup3(2), and readlink(2) for /proc/self/exe.
//
// Until the VFS exists the only files are the standard streams, so path
// lookups other than /proc/self/exe answer ENOENT.

import LinuxABI

private let log = Logger("files")

enum FileDescriptorSyscalls {
  /// Linux caps one read or write at this many bytes (MAX_RW_COUNT).
  static let maximumTransfer = 0x7FFF_F000
  static let maximumIovecs = 1024

  static func register() {
    let d = SyscallDispatcher.self
    d.register(.read, .implemented) { args throws(Errno) in
      try read(fd: args.int(args.a0), buffer: args.address(args.a1),
               count: args.a2)
    }
    d.register(.write, .implemented) { args throws(Errno) in
      try write(fd: args.int(args.a0), buffer: args.address(args.a1),
                count: args.a2)
    }
    d.register(.readv, .implemented) { args throws(Errno) in
      var total = 0
      for (base, length) in try iovecs(args.address(args.a1), args.a2) {
        // One readv is one read: only its start may wait.
        let n: Int
        do throws(Errno) {
          n = try read(fd: args.int(args.a0), buffer: base, count: length,
                       mayWait: total == 0)
        } catch {
          if total > 0 && error == .EAGAIN { break }
          throw error
        }
        total += n
        if n < Int(length) { break }
      }
      return total
    }
    d.register(.writev, .implemented) { args throws(Errno) in
      var total = 0
      for (base, length) in try iovecs(args.address(args.a1), args.a2) {
        total += try write(fd: args.int(args.a0), buffer: base,
                           count: length)
      }
      return total
    }
    d.register(.pread64, .partial("streams only: ESPIPE")) {
      args throws(Errno) in
      _ = try Process.current.files.get(args.int(args.a0))
      throw .ESPIPE
    }
    d.register(.pwrite64, .partial("streams only: ESPIPE")) {
      args throws(Errno) in
      _ = try Process.current.files.get(args.int(args.a0))
      throw .ESPIPE
    }
    d.register(.close, .implemented) { args throws(Errno) in
      try Process.current.files.close(args.int(args.a0))
      return 0
    }
    d.register(.fstat, .implemented) { args throws(Errno) in
      let file = try Process.current.files.get(args.int(args.a0))
      try writeStat(file.status(), to: args.address(args.a1))
      return 0
    }
    d.register(.newfstatat, .partial("descriptors only (AT_EMPTY_PATH)")) {
      args throws(Errno) in
      let path = try UserMemory.readString(at: args.address(args.a1))
      let flags = args.int(args.a3)
      guard path.isEmpty else { throw .ENOENT }
      guard flags & 0x1000 != 0 else { throw .ENOENT }  // AT_EMPTY_PATH
      let file = try Process.current.files.get(args.int(args.a0))
      try writeStat(file.status(), to: args.address(args.a2))
      return 0
    }
    d.register(.lseek, .implemented) { args throws(Errno) in
      let file = try Process.current.files.get(args.int(args.a0))
      return Int(try file.seek(offset: Int64(bitPattern: args.a1),
                               whence: args.int(args.a2)))
    }
    d.register(.ioctl, .partial("no terminal requests: ENOTTY")) {
      args throws(Errno) in
      let file = try Process.current.files.get(args.int(args.a0))
      return try file.ioctl(request: args.a1 & 0xFFFF_FFFF,
                            argument: args.address(args.a2))
    }
    d.register(.fcntl, .partial("F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD only")) {
      args throws(Errno) in
      try fcntl(fd: args.int(args.a0), command: args.int(args.a1),
                argument: args.a2)
    }
    d.register(.dup, .implemented) { args throws(Errno) in
      let files = Process.current.files
      return Int(files.install(try files.get(args.int(args.a0))))
    }
    d.register(.dup2, .implemented) { args throws(Errno) in
      try dup3(args.int(args.a0), args.int(args.a1), flags: 0,
               sameAllowed: true)
    }
    d.register(.dup3, .implemented) { args throws(Errno) in
      try dup3(args.int(args.a0), args.int(args.a1),
               flags: args.int(args.a2), sameAllowed: false)
    }
    d.register(.readlink, .partial("/proc/self/exe only")) {
      args throws(Errno) in
      try readlink(path: args.address(args.a0), buffer: args.address(args.a1),
                   size: args.a2)
    }
    d.register(.readlinkat, .partial("/proc/self/exe only")) {
      args throws(Errno) in
      try readlink(path: args.address(args.a1), buffer: args.address(args.a2),
                   size: args.a3)
    }
  }

  static func read(fd: Int32, buffer: UserAddress, count: UInt64,
                   mayWait: Bool = true) throws(Errno) -> Int
  {
    let file = try Process.current.files.get(fd)
    let size = Int(min(count, UInt64(maximumTransfer)))
    try UserMemory.checkRange(buffer, size)
    // Bounce through a kernel buffer in chunks: the user pages may fault.
    var done = 0
    let chunkSize = 16384
    let chunk = UnsafeMutableRawBufferPointer.allocate(
      byteCount: chunkSize, alignment: 16)
    defer { chunk.deallocate() }
    while done < size {
      let want = min(chunkSize, size - done)
      let got: Int
      do throws(Errno) {
        got = try file.read(
          into: UnsafeMutableRawBufferPointer(rebasing: chunk[0..<want]),
          mayBlock: mayWait && done == 0 && !file.isNonBlocking)
      } catch {
        if done > 0 && error == .EAGAIN { break }
        throw error
      }
      if got > 0 {
        try UserMemory.copyOut(to: buffer + done,
                               from: chunk.baseAddress!, count: got)
      }
      done += got
      if got < want { break }
    }
    return done
  }

  static func write(fd: Int32, buffer: UserAddress, count: UInt64)
    throws(Errno) -> Int
  {
    let file = try Process.current.files.get(fd)
    let size = Int(min(count, UInt64(maximumTransfer)))
    try UserMemory.checkRange(buffer, size)
    var done = 0
    let chunkSize = 16384
    let chunk = UnsafeMutableRawBufferPointer.allocate(
      byteCount: chunkSize, alignment: 16)
    defer { chunk.deallocate() }
    while done < size {
      let want = min(chunkSize, size - done)
      do throws(Errno) {
        try UserMemory.copyIn(from: buffer + done, count: want,
                              into: chunk.baseAddress!)
      } catch {
        // Like Linux: a fault after some bytes went out is a short write.
        if done > 0 { return done }
        throw error
      }
      let wrote: Int
      do throws(Errno) {
        wrote = try file.write(
          UnsafeRawBufferPointer(rebasing: chunk[0..<want]),
          mayBlock: !file.isNonBlocking)
      } catch {
        if done > 0 && error == .EAGAIN { return done }
        throw error
      }
      done += wrote
      if wrote < want { break }
    }
    return done
  }

  /// Reads and checks an iovec array (struct iovec: base, length).
  static func iovecs(_ address: UserAddress, _ count: UInt64)
    throws(Errno) -> [(UserAddress, UInt64)]
  {
    guard count <= UInt64(maximumIovecs) else { throw .EINVAL }
    var result: [(UserAddress, UInt64)] = []
    var total: UInt64 = 0
    for i in 0..<Int(count) {
      let entry = try UserMemory.read((UInt64, UInt64).self,
                                      at: address + i * 16)
      guard entry.1 <= UInt64(Int.max) else { throw .EINVAL }
      total &+= entry.1
      guard total <= UInt64(Int.max) else { throw .EINVAL }
      result.append((UserAddress(entry.0), entry.1))
    }
    return result
  }

  static func writeStat(_ s: FileStatus, to address: UserAddress)
    throws(Errno)
  {
    // struct stat on x86_64: 144 bytes.
    var bytes = [UInt8](repeating: 0, count: 144)
    func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
      for i in 0..<(T.bitWidth / 8) {
        bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (i * 8))
      }
    }
    put(s.device, at: 0)
    put(s.inode, at: 8)
    put(s.links, at: 16)
    put(s.mode, at: 24)
    put(s.uid, at: 28)
    put(s.gid, at: 32)
    put(s.rdev, at: 40)
    put(s.size, at: 48)
    put(s.blockSize, at: 56)
    put(s.blocks, at: 64)
    put(s.accessTime.0, at: 72)
    put(s.accessTime.1, at: 80)
    put(s.modifyTime.0, at: 88)
    put(s.modifyTime.1, at: 96)
    put(s.changeTime.0, at: 104)
    put(s.changeTime.1, at: 112)
    try UserMemory.writeBytes(bytes, to: address)
  }

  static func fcntl(fd: Int32, command: Int32, argument: UInt64)
    throws(Errno) -> Int
  {
    let files = Process.current.files
    let file = try files.get(fd)
    switch command {
    case 0, 1030:  // F_DUPFD, F_DUPFD_CLOEXEC
      let minimum = Int32(truncatingIfNeeded: argument)
      guard minimum >= 0 && minimum < 1024 else { throw .EINVAL }
      return Int(files.install(file, minimum: minimum))
    case 1:  // F_GETFD
      return files.isCloseOnExec(fd) ? 1 : 0
    case 2:  // F_SETFD
      files.setCloseOnExec(fd, argument & 1 != 0)
      return 0
    case 3:  // F_GETFL
      return Int(file.statusFlags)
    case 4:  // F_SETFL: only O_APPEND, O_NONBLOCK, O_ASYNC, O_DIRECT and
      // O_NOATIME can change; the access mode cannot.
      let changeable: UInt32 = 0o2000 | 0o4000 | 0o20000 | 0o40000
        | 0o1000000
      let requested = UInt32(truncatingIfNeeded: argument)
      file.statusFlags = (file.statusFlags & ~changeable)
        | (requested & changeable)
      file.notifyChanged()
      return 0
    default:
      log.warn("fcntl command \(command) is not supported")
      throw .EINVAL
    }
  }

  static func dup3(_ old: Int32, _ new: Int32, flags: Int32,
                   sameAllowed: Bool) throws(Errno) -> Int
  {
    let files = Process.current.files
    let file = try files.get(old)
    if old == new {
      guard sameAllowed else { throw .EINVAL }
      return Int(new)
    }
    guard flags & ~Int32(0o2000000) == 0 else { throw .EINVAL }
    guard new >= 0 && new < 1024 else { throw .EBADF }
    files.place(file, at: new)
    files.setCloseOnExec(new, flags != 0)
    return Int(new)
  }

  static func readlink(path: UserAddress, buffer: UserAddress, size: UInt64)
    throws(Errno) -> Int
  {
    let name = try UserMemory.readString(at: path)
    guard Int64(bitPattern: size) > 0 else { throw .EINVAL }
    guard name == Array("/proc/self/exe".utf8) else {
      throw .ENOENT
    }
    let target = Process.current.executablePath
    let count = min(target.count, Int(min(size, 4096)))
    try UserMemory.writeBytes(Array(target[0..<count]), to: buffer)
    return count
  }
}
