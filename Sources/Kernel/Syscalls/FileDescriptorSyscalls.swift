// Reading, writing and inspecting descriptors: read(2), write(2),
// readv(2), writev(2), pread64(2), pwrite64(2), preadv(2), pwritev(2),
// preadv2(2), pwritev2(2), close(2), close_range(2), fstat(2), lseek(2),
// ioctl(2), fcntl(2), dup(2), dup2(2), dup3(2), getdents64(2), fsync(2),
// fdatasync(2), sync(2), syncfs(2), ftruncate(2), fallocate(2).
// Reads and writes on sockets go to SocketSyscalls, which keeps a
// datagram whole.

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
      if let socket = try Process.current.files.get(args.int(args.a0))
        as? Socket
      {
        // One readv is one recvmsg: a datagram lands across the vectors.
        return try SocketSyscalls.receive(
          socket, buffers: iovecs(args.address(args.a1), args.a2),
          flags: 0).count
      }
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
      if let socket = try Process.current.files.get(args.int(args.a0))
        as? Socket
      {
        return try SocketSyscalls.send(
          socket, buffers: iovecs(args.address(args.a1), args.a2),
          to: nil, flags: 0)
      }
      var total = 0
      for (base, length) in try iovecs(args.address(args.a1), args.a2) {
        total += try write(fd: args.int(args.a0), buffer: base,
                           count: length)
      }
      return total
    }
    d.register(.pread64, .implemented) { args throws(Errno) in
      try positioned(fd: args.int(args.a0), buffer: args.address(args.a1),
                     count: args.a2, offset: args.a3, write: false)
    }
    d.register(.pwrite64, .implemented) { args throws(Errno) in
      try positioned(fd: args.int(args.a0), buffer: args.address(args.a1),
                     count: args.a2, offset: args.a3, write: true)
    }
    d.register(.preadv, .implemented) { args throws(Errno) in
      try positionedVector(fd: args.int(args.a0), args.address(args.a1),
                           args.a2, offset: args.a3, write: false)
    }
    d.register(.pwritev, .implemented) { args throws(Errno) in
      try positionedVector(fd: args.int(args.a0), args.address(args.a1),
                           args.a2, offset: args.a3, write: true)
    }
    d.register(.preadv2, .partial("RWF_* flags refused")) {
      args throws(Errno) in
      guard args.a5 == 0 else { throw .EOPNOTSUPP }
      return try positionedVector(fd: args.int(args.a0), args.address(args.a1),
                                  args.a2, offset: args.a3, write: false)
    }
    d.register(.pwritev2, .partial("RWF_* flags refused")) {
      args throws(Errno) in
      guard args.a5 == 0 else { throw .EOPNOTSUPP }
      return try positionedVector(fd: args.int(args.a0), args.address(args.a1),
                                  args.a2, offset: args.a3, write: true)
    }
    d.register(.getdents64, .implemented) { args throws(Errno) in
      let file = try Process.current.files.get(args.int(args.a0))
      guard let directory = file as? InodeFile else { throw .ENOTDIR }
      let bytes = try directory.readDirectory(
        capacity: Int(min(args.a2, 1 << 20)))
      try UserMemory.writeBytes(bytes, to: args.address(args.a1))
      return bytes.count
    }
    d.register(.fsync, .implemented) { args throws(Errno) in
      let file = try Process.current.files.get(args.int(args.a0))
      try file.inode?.sync()
      return 0
    }
    d.register(.fdatasync, .implemented) { args throws(Errno) in
      let file = try Process.current.files.get(args.int(args.a0))
      try file.inode?.sync()
      return 0
    }
    d.register(.sync, .implemented) { _ throws(Errno) in
      for (_, fileSystem) in Mounts.all { try? fileSystem.sync() }
      try? Mounts.root.fileSystem.sync()
      return 0
    }
    d.register(.syncfs, .implemented) { args throws(Errno) in
      let file = try Process.current.files.get(args.int(args.a0))
      try (file.inode?.fileSystem ?? Mounts.root.fileSystem).sync()
      return 0
    }
    d.register(.ftruncate, .implemented) { args throws(Errno) in
      let file = try Process.current.files.get(args.int(args.a0))
      let length = Int64(bitPattern: args.a1)
      guard length >= 0 else { throw .EINVAL }
      guard let inodeFile = file as? InodeFile, inodeFile.node.isRegular,
        inodeFile.canWrite
      else { throw file is InodeFile ? .EINVAL : .EINVAL }
      try inodeFile.node.truncate(to: UInt64(length))
      return 0
    }
    d.register(.fallocate, .partial("mode 0 (allocate and extend) only")) {
      args throws(Errno) in
      let file = try Process.current.files.get(args.int(args.a0))
      let offset = Int64(bitPattern: args.a2)
      let length = Int64(bitPattern: args.a3)
      guard offset >= 0, length > 0 else { throw .EINVAL }
      guard args.int(args.a1) == 0 else { throw .EOPNOTSUPP }
      guard let inodeFile = file as? InodeFile, inodeFile.canWrite else {
        throw .EBADF
      }
      guard inodeFile.node.isRegular else { throw .ENODEV }
      let end = UInt64(offset) + UInt64(length)
      if end > inodeFile.node.size { try inodeFile.node.truncate(to: end) }
      return 0
    }
    d.register(.closeRange, .implemented) { args throws(Errno) in
      let first = UInt32(truncatingIfNeeded: args.a0)
      let last = UInt32(truncatingIfNeeded: args.a1)
      let flags = UInt32(truncatingIfNeeded: args.a2)
      let cloexec: UInt32 = 1 << 2
      let unshare: UInt32 = 1 << 1
      guard flags & ~(cloexec | unshare) == 0, first <= last else {
        throw .EINVAL
      }
      let files = Process.current.files
      for fd in files.openDescriptors
      where UInt32(fd) >= first && UInt32(fd) <= last {
        if flags & cloexec != 0 {
          files.setCloseOnExec(fd, true)
        } else {
          try? files.close(fd)
        }
      }
      return 0
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
    d.register(.lseek, .implemented) { args throws(Errno) in
      let file = try Process.current.files.get(args.int(args.a0))
      return Int(try file.seek(offset: Int64(bitPattern: args.a1),
                               whence: args.int(args.a2)))
    }
    d.register(.ioctl, .partial("FIONBIO, FIOCLEX, FIONCLEX, FIONREAD; "
      + "no terminal requests (ENOTTY)")) { args throws(Errno) in
      let fd = args.int(args.a0)
      let files = Process.current.files
      let file = try files.get(fd)
      switch args.a1 & 0xFFFF_FFFF {
      case 0x5421:  // FIONBIO
        let on = try UserMemory.read(Int32.self, at: args.address(args.a2))
        if on != 0 {
          file.statusFlags |= OpenFile.nonBlockFlag
        } else {
          file.statusFlags &= ~OpenFile.nonBlockFlag
        }
        return 0
      case 0x5451:  // FIOCLEX
        files.setCloseOnExec(fd, true)
        return 0
      case 0x5450:  // FIONCLEX
        files.setCloseOnExec(fd, false)
        return 0
      default:
        return try file.ioctl(request: args.a1 & 0xFFFF_FFFF,
                              argument: args.address(args.a2))
      }
    }
    d.register(.flock, .implemented) { args throws(Errno) in
      try flock(fd: args.int(args.a0), operation: args.int(args.a1))
      return 0
    }
    d.register(.sendfile, .implemented) { args throws(Errno) in
      try copy(from: args.int(args.a1), offsetAddress: args.address(args.a2),
               to: args.int(args.a0), targetOffset: UserAddress(0),
               count: args.a3)
    }
    d.register(.copyFileRange, .implemented) { args throws(Errno) in
      guard args.a5 == 0 else { throw .EINVAL }
      return try copy(from: args.int(args.a0),
                      offsetAddress: args.address(args.a1),
                      to: args.int(args.a2),
                      targetOffset: args.address(args.a3), count: args.a4,
                      regularOnly: true)
    }
    d.register(.fcntl, .partial("F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD only")) {
      args throws(Errno) in
      try fcntl(fd: args.int(args.a0), command: args.int(args.a1),
                argument: args.a2)
    }
    d.register(.dup, .implemented) { args throws(Errno) in
      let files = Process.current.files
      return Int(try files.install(try files.get(args.int(args.a0))))
    }
    d.register(.dup2, .implemented) { args throws(Errno) in
      try dup3(args.int(args.a0), args.int(args.a1), flags: 0,
               sameAllowed: true)
    }
    d.register(.dup3, .implemented) { args throws(Errno) in
      try dup3(args.int(args.a0), args.int(args.a1),
               flags: args.int(args.a2), sameAllowed: false)
    }
  }

  static func read(fd: Int32, buffer: UserAddress, count: UInt64,
                   mayWait: Bool = true) throws(Errno) -> Int
  {
    let file = try Process.current.files.get(fd)
    if let socket = file as? Socket {
      return try SocketSyscalls.receive(socket, buffers: [(buffer, count)],
                                        flags: 0).count
    }
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
      // Make sure the data can be delivered before taking it from the
      // file: a failed read must leave a pipe's or stdin's bytes in place.
      do throws(Errno) {
        try UserMemory.checkWritable(buffer + done, want)
      } catch {
        if done > 0 { break }
        throw error
      }
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
    if let socket = file as? Socket {
      return try SocketSyscalls.send(socket, buffers: [(buffer, count)],
                                     to: nil, flags: 0)
    }
    let size = Int(min(count, UInt64(maximumTransfer)))
    try UserMemory.checkRange(buffer, size)
    var done = 0
    let chunkSize = 16384
    let chunk = UnsafeMutableRawBufferPointer.allocate(
      byteCount: chunkSize, alignment: 16)
    defer { chunk.deallocate() }
    while done < size {
      var want = min(chunkSize, size - done)
      do throws(Errno) {
        try UserMemory.copyIn(from: buffer + done, count: want,
                              into: chunk.baseAddress!)
      } catch {
        // Like Linux, write what can be read before the unmapped page;
        // a fault at the very start is EFAULT.
        want = UserMemory.readablePrefix(buffer + done, want)
        if want == 0 {
          if done > 0 { return done }
          throw error
        }
        try UserMemory.copyIn(from: buffer + done, count: want,
                              into: chunk.baseAddress!)
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

  static func writeStat(_ stat: Stat, to address: UserAddress)
    throws(Errno)
  {
    try UserMemory.writeBytes(stat.encoded(), to: address)
  }

  static func fcntl(fd: Int32, command: Int32, argument: UInt64)
    throws(Errno) -> Int
  {
    let files = Process.current.files
    let file = try files.get(fd)
    switch command {
    case 0, 1030:  // F_DUPFD, F_DUPFD_CLOEXEC
      let minimum = Int32(truncatingIfNeeded: argument)
      guard minimum >= 0, UInt64(minimum) < FileTable.descriptorLimit else {
        throw .EINVAL
      }
      let fd = try files.install(file, minimum: minimum)
      files.setCloseOnExec(fd, command == 1030)
      return Int(fd)
    case 1031, 1032:  // F_SETPIPE_SZ, F_GETPIPE_SZ
      guard let end = file as? PipeEnd else { throw .EBADF }
      if command == 1032 { return end.pipe.capacity }
      return try end.pipe.resize(to: Int(truncatingIfNeeded: argument))
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
    guard new >= 0, UInt64(new) < FileTable.descriptorLimit else {
      throw .EBADF
    }
    files.place(file, at: new)
    files.setCloseOnExec(new, flags != 0)
    return Int(new)
  }

  /// flock(2): advisory whole-file locks held by open file descriptions.
  /// Within one process they conflict only between descriptions opened
  /// separately, which is exactly when Linux's do too.
  static func flock(fd: Int32, operation: Int32) throws(Errno) {
    let file = try Process.current.files.get(fd)
    guard let inode = file.inode else { throw .EINVAL }
    let shared: Int32 = 1, exclusive: Int32 = 2, unlock: Int32 = 8
    let nonBlocking: Int32 = 4
    let kind = operation & ~nonBlocking
    guard kind == shared || kind == exclusive || kind == unlock else {
      throw .EINVAL
    }
    while true {
      inode.flockHolders.removeAll { $0.file.descriptorReferences == 0 }
      if kind == unlock {
        inode.flockHolders.removeAll { $0.file === file }
        Readiness.changed()
        return
      }
      let others = inode.flockHolders.filter { $0.file !== file }
      let conflict = kind == exclusive
        ? !others.isEmpty : others.contains { $0.exclusive }
      if !conflict {
        inode.flockHolders.removeAll { $0.file === file }
        inode.flockHolders.append(
          FlockHolder(file: file, exclusive: kind == exclusive))
        return
      }
      if operation & nonBlocking != 0 { throw .EWOULDBLOCK }
      try Readiness.wait()
    }
  }

  /// sendfile(2) and copy_file_range(2): copy through a kernel buffer.
  /// With an offset pointer the source's own offset is left alone.
  static func copy(from source: Int32, offsetAddress: UserAddress,
                   to target: Int32, targetOffset: UserAddress,
                   count: UInt64, regularOnly: Bool = false)
    throws(Errno) -> Int
  {
    let files = Process.current.files
    let input = try files.get(source)
    let output = try files.get(target)
    if regularOnly {
      guard let a = input.inode, let b = output.inode, a.isRegular,
        b.isRegular
      else { throw .EINVAL }
    }
    var inputOffset: UInt64? = nil
    if !offsetAddress.isNull {
      let value = try UserMemory.read(Int64.self, at: offsetAddress)
      guard value >= 0 else { throw .EINVAL }
      inputOffset = UInt64(value)
    }
    var outputOffset: UInt64? = nil
    if !targetOffset.isNull {
      let value = try UserMemory.read(Int64.self, at: targetOffset)
      guard value >= 0 else { throw .EINVAL }
      outputOffset = UInt64(value)
    }
    let total = Int(min(count, UInt64(maximumTransfer)))
    let chunk = UnsafeMutableRawBufferPointer.allocate(
      byteCount: 65536, alignment: 16)
    defer { chunk.deallocate() }
    var done = 0
    while done < total {
      let want = min(chunk.count, total - done)
      let part = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<want])
      let got: Int
      if let offset = inputOffset {
        got = try input.read(at: offset + UInt64(done), into: part)
      } else {
        got = try input.read(into: part, mayBlock: done == 0)
      }
      if got == 0 { break }
      let data = UnsafeRawBufferPointer(rebasing: chunk[0..<got])
      let wrote: Int
      if let offset = outputOffset {
        wrote = try output.write(at: offset + UInt64(done), from: data)
      } else {
        wrote = try output.write(data, mayBlock: true)
      }
      done += wrote
      if wrote < got { break }
    }
    if let inputOffset {
      try UserMemory.write(Int64(inputOffset) + Int64(done), to: offsetAddress)
    }
    if let outputOffset {
      try UserMemory.write(Int64(outputOffset) + Int64(done), to: targetOffset)
    }
    return done
  }

  /// pread64 and pwrite64: at an offset, without moving the file's.
  static func positioned(fd: Int32, buffer: UserAddress, count: UInt64,
                         offset: UInt64, write: Bool) throws(Errno) -> Int
  {
    let file = try Process.current.files.get(fd)
    guard Int64(bitPattern: offset) >= 0 else { throw .EINVAL }
    let size = Int(min(count, UInt64(maximumTransfer)))
    try UserMemory.checkRange(buffer, size)
    guard size > 0 else {
      // A zero-length transfer still checks that the file supports it.
      if write {
        _ = try file.write(at: offset, from: UnsafeRawBufferPointer(
          start: nil, count: 0))
      } else {
        _ = try file.read(at: offset, into: UnsafeMutableRawBufferPointer(
          start: nil, count: 0))
      }
      return 0
    }
    let chunk = UnsafeMutableRawBufferPointer.allocate(
      byteCount: min(size, 1 << 20), alignment: 16)
    defer { chunk.deallocate() }
    var done = 0
    while done < size {
      let want = min(chunk.count, size - done)
      let part = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<want])
      let n: Int
      if write {
        try UserMemory.copyIn(from: buffer + done, count: want,
                              into: chunk.baseAddress!)
        n = try file.write(at: offset + UInt64(done),
                           from: UnsafeRawBufferPointer(part))
      } else {
        n = try file.read(at: offset + UInt64(done), into: part)
        if n > 0 {
          try UserMemory.copyOut(to: buffer + done, from: chunk.baseAddress!,
                                 count: n)
        }
      }
      done += n
      if n < want { break }
    }
    return done
  }

  static func positionedVector(fd: Int32, _ vector: UserAddress,
                               _ count: UInt64, offset: UInt64, write: Bool)
    throws(Errno) -> Int
  {
    guard Int64(bitPattern: offset) >= 0 else { throw .EINVAL }
    var total = 0
    for (base, length) in try iovecs(vector, count) {
      let n = try positioned(fd: fd, buffer: base, count: length,
                             offset: offset + UInt64(total), write: write)
      total += n
      if n < Int(length) { break }
    }
    return total
  }
}
