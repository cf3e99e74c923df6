// Moving data through pipes without a user buffer: splice(2), tee(2) and
// vmsplice(2). Villa's pipes are byte rings, not lists of pages, so each
// move is a copy through a kernel buffer; what the calls promise the
// program is Linux's: which bytes go where, when a call waits (for data
// in the input pipe, for room in the output pipe) and how it fails.
//
// The rules, from splice(2) and fs/splice.c's order of checks: one end
// at least must be a pipe (else EINVAL); an offset given for a pipe is
// ESPIPE, and for an end that cannot pread/pwrite it is EINVAL; an
// output opened O_APPEND is EINVAL; a pipe spliced to itself is EINVAL.
// SPLICE_F_NONBLOCK, or O_NONBLOCK on a pipe end, makes a call that
// would wait fail with EAGAIN. SPLICE_F_MOVE, SPLICE_F_MORE and
// SPLICE_F_GIFT are hints, which Linux may ignore too.

import LinuxABI

enum SpliceSyscalls {
  static let nonBlockFlag: UInt32 = 2        // SPLICE_F_NONBLOCK
  static let allFlags: UInt32 = 0xF          // MOVE | NONBLOCK | MORE | GIFT
  /// The most one call copies through its kernel buffer at a time.
  static let chunk = 65536

  static func register() {
    let d = SyscallDispatcher.self
    d.register(.splice, .implemented) { args throws(Errno) in
      try splice(from: args.int(args.a0), offset: args.address(args.a1),
                 to: args.int(args.a2), offset: args.address(args.a3),
                 count: args.a4, flags: UInt32(truncatingIfNeeded: args.a5))
    }
    d.register(.tee, .implemented) { args throws(Errno) in
      try tee(from: args.int(args.a0), to: args.int(args.a1),
              count: args.a2, flags: UInt32(truncatingIfNeeded: args.a3))
    }
    d.register(.vmsplice, .implemented) { args throws(Errno) in
      try vmsplice(args.int(args.a0), vector: args.address(args.a1),
                   count: args.a2, flags: UInt32(truncatingIfNeeded: args.a3))
    }
  }

  // MARK: splice

  static func splice(from inputFD: Int32, offset inputOffset: UserAddress,
                     to outputFD: Int32, offset outputOffset: UserAddress,
                     count: UInt64, flags: UInt32) throws(Errno) -> Int
  {
    guard count > 0 else { return 0 }
    guard flags & ~allFlags == 0 else { throw .EINVAL }
    let files = Process.current.files
    let input = try files.get(inputFD)
    let output = try files.get(outputFD)
    let inputPipe = input as? PipeEnd
    let outputPipe = output as? PipeEnd
    if inputPipe != nil && !inputOffset.isNull { throw .ESPIPE }
    if outputPipe != nil && !outputOffset.isNull { throw .ESPIPE }
    let inputPosition = try offset(at: inputOffset)
    let outputPosition = try offset(at: outputOffset)
    guard canRead(input), canWrite(output) else { throw .EBADF }
    let total = Int(min(count, UInt64(FileDescriptorSyscalls.maximumTransfer)))
    var nonBlocking = flags & nonBlockFlag != 0

    if let inputPipe, let outputPipe {
      guard inputPipe.pipe !== outputPipe.pipe else { throw .EINVAL }
      nonBlocking = nonBlocking || input.isNonBlocking
        || output.isNonBlocking
      return try pipeToPipe(inputPipe, outputPipe, count: total,
                            nonBlocking: nonBlocking)
    }
    if let inputPipe {
      guard isSpliceable(output) else { throw .EINVAL }
      if outputPosition != nil && !isPositionable(output) { throw .EINVAL }
      if output.statusFlags & OpenFlags.append.rawValue != 0 {
        throw .EINVAL
      }
      nonBlocking = nonBlocking || input.isNonBlocking
      let (done, end) = try pipeToFile(
        inputPipe, output, at: outputPosition, count: total,
        nonBlocking: nonBlocking)
      if let end { try UserMemory.write(Int64(end), to: outputOffset) }
      return done
    }
    if let outputPipe {
      guard isSpliceable(input) else { throw .EINVAL }
      if inputPosition != nil && !isPositionable(input) { throw .EINVAL }
      nonBlocking = nonBlocking || output.isNonBlocking
      let (done, end) = try fileToPipe(
        input, at: inputPosition, outputPipe, count: total,
        nonBlocking: nonBlocking)
      if let end { try UserMemory.write(Int64(end), to: inputOffset) }
      return done
    }
    throw .EINVAL
  }

  /// Moves bytes from one pipe to another: waits for data, then for
  /// room, then moves what fits, up to `count`.
  static func pipeToPipe(_ input: PipeEnd, _ output: PipeEnd, count: Int,
                         nonBlocking: Bool) throws(Errno) -> Int
  {
    try waitForData(in: input, nonBlocking: nonBlocking)
    if input.pipe.count == 0 { return 0 }
    try waitForRoom(in: output, nonBlocking: nonBlocking)
    let n = min(count, input.pipe.count, output.pipe.space)
    try copy(n, from: input.pipe, to: output.pipe, consuming: true)
    input.notifyChanged()
    output.notifyChanged()
    return n
  }

  /// Writes what the pipe holds (waiting only while nothing was moved)
  /// to a file, at `position` or at the file's own offset.
  static func pipeToFile(_ input: PipeEnd, _ output: OpenFile,
                         at position: UInt64?, count: Int,
                         nonBlocking: Bool)
    throws(Errno) -> (Int, UInt64?)
  {
    try waitForData(in: input, nonBlocking: nonBlocking)
    let buffer = UnsafeMutableRawBufferPointer.allocate(
      byteCount: chunk, alignment: 16)
    defer { buffer.deallocate() }
    var done = 0
    while done < count && input.pipe.count > 0 {
      let want = min(count - done, input.pipe.count, chunk)
      let part = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want])
      _ = input.pipe.peek(into: part)
      let wrote: Int
      do throws(Errno) {
        if let position {
          wrote = try output.write(at: position + UInt64(done),
                                   from: UnsafeRawBufferPointer(part))
        } else {
          wrote = try output.write(UnsafeRawBufferPointer(part),
                                   mayBlock: !output.isNonBlocking)
        }
      } catch {
        if done > 0 { break }
        throw error
      }
      input.pipe.drop(wrote)
      input.notifyChanged()
      done += wrote
      if wrote < want { break }
    }
    return (done, position.map { $0 + UInt64(done) })
  }

  /// Fills the pipe from a file, once: waits for room, then reads at
  /// most what fits.
  static func fileToPipe(_ input: OpenFile, at position: UInt64?,
                         _ output: PipeEnd, count: Int, nonBlocking: Bool)
    throws(Errno) -> (Int, UInt64?)
  {
    try waitForRoom(in: output, nonBlocking: nonBlocking)
    let want = min(count, output.pipe.space, chunk)
    let buffer = UnsafeMutableRawBufferPointer.allocate(
      byteCount: want, alignment: 16)
    defer { buffer.deallocate() }
    let got: Int
    if let position {
      got = try input.read(at: position, into: buffer)
    } else {
      got = try input.read(into: buffer,
                           mayBlock: !nonBlocking && !input.isNonBlocking)
    }
    _ = output.pipe.put(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
    if got > 0 { output.notifyChanged() }
    return (got, position.map { $0 + UInt64(got) })
  }

  // MARK: tee

  /// tee(2): copies up to `count` bytes from one pipe to another without
  /// consuming them.
  static func tee(from inputFD: Int32, to outputFD: Int32, count: UInt64,
                  flags: UInt32) throws(Errno) -> Int
  {
    guard flags & ~allFlags == 0 else { throw .EINVAL }
    guard count > 0 else { return 0 }
    let files = Process.current.files
    let input = try files.get(inputFD)
    let output = try files.get(outputFD)
    guard canRead(input), canWrite(output) else { throw .EBADF }
    guard let inputPipe = input as? PipeEnd,
      let outputPipe = output as? PipeEnd,
      inputPipe.pipe !== outputPipe.pipe
    else { throw .EINVAL }
    let nonBlocking = flags & nonBlockFlag != 0 || input.isNonBlocking
      || output.isNonBlocking
    try waitForData(in: inputPipe, nonBlocking: nonBlocking)
    if inputPipe.pipe.count == 0 { return 0 }
    try waitForRoom(in: outputPipe, nonBlocking: nonBlocking)
    let total = Int(min(count, UInt64(Int32.max)))
    let n = min(total, inputPipe.pipe.count, outputPipe.pipe.space)
    try copy(n, from: inputPipe.pipe, to: outputPipe.pipe, consuming: false)
    outputPipe.notifyChanged()
    return n
  }

  // MARK: vmsplice

  /// vmsplice(2): user memory into a pipe's write end (once, what fits
  /// after waiting for room), or out of its read end into user memory.
  static func vmsplice(_ fd: Int32, vector: UserAddress, count: UInt64,
                       flags: UInt32) throws(Errno) -> Int
  {
    guard flags & ~allFlags == 0 else { throw .EINVAL }
    let file = try Process.current.files.get(fd)
    let iovecs = try FileDescriptorSyscalls.iovecs(vector, count)
    var total = 0
    for (_, length) in iovecs {
      total += Int(min(length, UInt64(FileDescriptorSyscalls.maximumTransfer
        - total)))
    }
    guard canRead(file) || canWrite(file) else { throw .EBADF }
    if total == 0 { return 0 }
    guard let end = file as? PipeEnd else { throw .EBADF }
    let nonBlocking = flags & nonBlockFlag != 0 || file.isNonBlocking
    if canWrite(file) {
      try waitForRoom(in: end, nonBlocking: nonBlocking)
      let n = min(total, end.pipe.space)
      let bytes = try gather(iovecs, count: n)
      _ = bytes.withUnsafeBytes { end.pipe.put($0) }
      end.notifyChanged()
      return n
    }
    guard canRead(file) else { throw .EBADF }
    try waitForData(in: end, nonBlocking: nonBlocking)
    let n = min(total, end.pipe.count)
    var bytes = [UInt8](repeating: 0, count: n)
    _ = bytes.withUnsafeMutableBytes { end.pipe.peek(into: $0) }
    let copied = try scatter(bytes, to: iovecs)
    end.pipe.drop(copied)
    end.notifyChanged()
    return copied
  }

  /// The first `count` bytes the iovecs describe.
  private static func gather(_ iovecs: [(UserAddress, UInt64)], count: Int)
    throws(Errno) -> [UInt8]
  {
    var bytes: [UInt8] = []
    for (base, length) in iovecs where bytes.count < count {
      let n = min(Int(min(length, UInt64(Int32.max))), count - bytes.count)
      bytes += try UserMemory.readBytes(at: base, count: n)
    }
    return bytes
  }

  /// Stores `bytes` across the iovecs; a fault after some bytes stops
  /// there, as a short read would.
  private static func scatter(_ bytes: [UInt8],
                              to iovecs: [(UserAddress, UInt64)])
    throws(Errno) -> Int
  {
    var done = 0
    for (base, length) in iovecs where done < bytes.count {
      let n = min(Int(min(length, UInt64(Int32.max))), bytes.count - done)
      do throws(Errno) {
        try UserMemory.writeBytes(Array(bytes[done..<(done + n)]), to: base)
      } catch {
        if done > 0 { return done }
        throw error
      }
      done += n
    }
    return done
  }

  // MARK: Waiting and copying

  /// Waits until the pipe holds data or has no writer left.
  private static func waitForData(in end: PipeEnd, nonBlocking: Bool)
    throws(Errno)
  {
    while end.pipe.count == 0 && end.pipe.writers > 0 {
      if nonBlocking { throw .EAGAIN }
      try Readiness.wait()
    }
  }

  /// Waits until the pipe has room; no reader left is EPIPE and SIGPIPE.
  private static func waitForRoom(in end: PipeEnd, nonBlocking: Bool)
    throws(Errno)
  {
    while true {
      if end.pipe.readers == 0 {
        if let thread = Scheduler.current {
          Signals.send(SignalInfo(signal: Signal.pipe.rawValue,
                                  code: SignalInfo.codeUser,
                                  senderPID: Process.current.pid),
                       to: thread)
        }
        throw .EPIPE
      }
      if end.pipe.space > 0 { return }
      if nonBlocking { throw .EAGAIN }
      try Readiness.wait()
    }
  }

  private static func copy(_ n: Int, from source: Pipe, to target: Pipe,
                           consuming: Bool) throws(Errno)
  {
    guard n > 0 else { return }
    let buffer = UnsafeMutableRawBufferPointer.allocate(
      byteCount: n, alignment: 16)
    defer { buffer.deallocate() }
    _ = source.peek(into: buffer)
    _ = target.put(UnsafeRawBufferPointer(buffer))
    if consuming { source.drop(n) }
  }

  // MARK: The non-pipe end

  /// The offset an offset pointer holds, or nil for a null pointer.
  private static func offset(at address: UserAddress)
    throws(Errno) -> UInt64?
  {
    guard !address.isNull else { return nil }
    let value = try UserMemory.read(Int64.self, at: address)
    guard value >= 0 else { throw .EINVAL }
    return UInt64(value)
  }

  private static func canRead(_ file: OpenFile) -> Bool {
    let access = file.statusFlags & OpenFlags.accmode.rawValue
    return access != OpenFlags.wronly.rawValue
      && file.statusFlags & OpenFlags.path.rawValue == 0
  }

  private static func canWrite(_ file: OpenFile) -> Bool {
    let access = file.statusFlags & OpenFlags.accmode.rawValue
    return access != OpenFlags.rdonly.rawValue
      && file.statusFlags & OpenFlags.path.rawValue == 0
  }

  /// Files whose Linux counterparts splice: regular files, character
  /// devices, sockets and the console. Directories, eventfds, epoll and
  /// timer files have no splice operations there (EINVAL).
  private static func isSpliceable(_ file: OpenFile) -> Bool {
    if let inodeFile = file as? InodeFile { return inodeFile.node.isRegular }
    return file is DeviceFile || file is Socket || file is SerialStream
      || file is BundledInput
  }

  /// Ends that pread and pwrite, so an offset pointer makes sense.
  private static func isPositionable(_ file: OpenFile) -> Bool {
    (file as? InodeFile)?.node.isRegular == true
  }
}
