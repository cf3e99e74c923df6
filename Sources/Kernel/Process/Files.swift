// Open files and the descriptor table. Until the VFS exists, the only
// files are the standard streams: stdin serves the bytes the host put in
// the boot bundle and then end-of-file; stdout and stderr are serial ports
// to the host. All three report themselves as pipes (S_IFIFO), which is what
// they are from the program's point of view: a byte stream to another
// process, not a terminal.

import LinuxABI

/// An open file description. Subclasses override what they support; the
/// defaults fail the way Linux fails for a file that cannot do it.
///
/// `mayBlock` is false when the call must not wait: the descriptor is
/// non-blocking, or part of the transfer is already done and the rest may
/// only use what is available now.
class OpenFile {
  var statusFlags: UInt32 = 0
  /// How many descriptors (in any table) refer to this description.
  var descriptorReferences = 0
  /// Bumped on every change of readiness; edge-triggered epoll compares.
  /// A file whose edges come from elsewhere (a pipe's ends) overrides it.
  var generation: UInt64 { changes }
  private var changes: UInt64 = 0

  static let nonBlockFlag: UInt32 = 0o4000

  var isNonBlocking: Bool { statusFlags & OpenFile.nonBlockFlag != 0 }

  func read(into buffer: UnsafeMutableRawBufferPointer, mayBlock: Bool)
    throws(Errno) -> Int
  {
    throw .EBADF
  }

  func write(_ buffer: UnsafeRawBufferPointer, mayBlock: Bool)
    throws(Errno) -> Int
  {
    throw .EBADF
  }

  /// The poll(2) events this file is ready for now.
  func pollEvents() -> UInt32 { PollEvents.input | PollEvents.output }

  /// pollEvents for Readiness.changed, which may run inside the network
  /// stack: a file whose answer needs the stack gives what it last
  /// reported instead (readiness changes bump that first).
  func pollEventsWithoutStack() -> UInt32 { pollEvents() }

  /// Readiness changed: wake everything waiting on readiness.
  func notifyChanged() {
    changes &+= 1
    Readiness.changed()
  }

  /// The last descriptor referring to this file was closed.
  func lastDescriptorClosed() {}

  func seek(offset: Int64, whence: Int32) throws(Errno) -> Int64 {
    throw .ESPIPE
  }

  func ioctl(request: UInt64, argument: UserAddress) throws(Errno) -> Int {
    throw .ENOTTY
  }

  /// What fstat(2) reports. Streams without an inode of their own
  /// report themselves as pipes.
  func status() -> Stat {
    Stat(dev: 0x0C, ino: 0, mode: FileMode(rawValue: 0o010600), size: 0)
  }

  // MARK: Positioned I/O (regular files only)

  func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer)
    throws(Errno) -> Int
  {
    throw .ESPIPE
  }

  func write(at offset: UInt64, from buffer: UnsafeRawBufferPointer)
    throws(Errno) -> Int
  {
    throw .ESPIPE
  }

  /// The inode behind this file, if it has one (for fchdir, fstatfs,
  /// /proc/self/fd, getdents64).
  var inode: Inode? { nil }

  /// What /proc/self/fd/N shows for this file.
  var procName: [UInt8] { Array("anon_inode:[unknown]".utf8) }
}

/// A write-only stream to a serial port (program stdout or stderr).
final class SerialStream: OpenFile {
  let port: SerialPort
  let streamInode: UInt64

  init(port: SerialPort, inode: UInt64) {
    self.port = port
    self.streamInode = inode
    super.init()
    statusFlags = OpenFlags.wronly.rawValue
  }

  override func write(_ buffer: UnsafeRawBufferPointer, mayBlock: Bool)
    throws(Errno) -> Int
  {
    port.write(buffer)
    return buffer.count
  }

  override func pollEvents() -> UInt32 { PollEvents.output }

  override func status() -> Stat {
    var stat = super.status()
    stat.ino = streamInode
    return stat
  }

  override var procName: [UInt8] {
    Array("pipe:[\(streamInode)]".utf8)
  }
}

/// Standard input: the bytes given at boot, then end-of-file.
final class BundledInput: OpenFile {
  private let bytes: [UInt8]
  private var position = 0

  init(bytes: [UInt8]) {
    self.bytes = bytes
    super.init()
    statusFlags = OpenFlags.rdonly.rawValue
  }

  /// Like a pipe whose writer has gone: readable, and hung up.
  override func pollEvents() -> UInt32 {
    PollEvents.input | PollEvents.hangUp
  }

  override func read(into buffer: UnsafeMutableRawBufferPointer,
                     mayBlock: Bool) throws(Errno) -> Int
  {
    let count = min(buffer.count, bytes.count - position)
    for i in 0..<count { buffer[i] = bytes[position + i] }
    position += count
    return count
  }

  override func status() -> Stat {
    var stat = super.status()
    stat.ino = 3
    stat.size = Int64(bytes.count - position)
    return stat
  }

  override var procName: [UInt8] { Array("pipe:[3]".utf8) }
}

/// The descriptor table: small integers to open files.
final class FileTable {
  private var entries: [OpenFile?] = []
  private var closeOnExec: [Bool] = []

  func get(_ fd: Int32) throws(Errno) -> OpenFile {
    guard fd >= 0, Int(fd) < entries.count, let file = entries[Int(fd)]
    else { throw .EBADF }
    return file
  }

  /// RLIMIT_NOFILE's soft limit: descriptors must stay below it.
  static var descriptorLimit: UInt64 {
    Process.currentOrNil?.limits[7].0 ?? 1024
  }

  /// Installs at the lowest free descriptor at or above `minimum`; EMFILE
  /// when that would reach RLIMIT_NOFILE.
  func install(_ file: OpenFile, minimum: Int32 = 0) throws(Errno) -> Int32 {
    var fd = Int(minimum)
    while fd < entries.count && entries[fd] != nil { fd += 1 }
    guard UInt64(fd) < FileTable.descriptorLimit else { throw .EMFILE }
    while entries.count <= fd {
      entries.append(nil)
      closeOnExec.append(false)
    }
    entries[fd] = file
    file.descriptorReferences += 1
    closeOnExec[fd] = false
    return Int32(fd)
  }

  /// Installs at exactly `fd`, replacing what was there (dup2).
  func place(_ file: OpenFile, at fd: Int32) {
    while entries.count <= Int(fd) {
      entries.append(nil)
      closeOnExec.append(false)
    }
    file.descriptorReferences += 1
    if let old = entries[Int(fd)] { release(old) }
    entries[Int(fd)] = file
    closeOnExec[Int(fd)] = false
  }

  func close(_ fd: Int32) throws(Errno) {
    let file = try get(fd)
    entries[Int(fd)] = nil
    closeOnExec[Int(fd)] = false
    release(file)
  }

  /// Every open descriptor, for close_range and poll bookkeeping.
  var openDescriptors: [Int32] {
    var result: [Int32] = []
    for (fd, entry) in entries.enumerated() where entry != nil {
      result.append(Int32(fd))
    }
    return result
  }

  private func release(_ file: OpenFile) {
    file.descriptorReferences -= 1
    if file.descriptorReferences == 0 { file.lastDescriptorClosed() }
  }

  func isCloseOnExec(_ fd: Int32) -> Bool {
    fd >= 0 && Int(fd) < closeOnExec.count && closeOnExec[Int(fd)]
  }

  func setCloseOnExec(_ fd: Int32, _ value: Bool) {
    if fd >= 0 && Int(fd) < closeOnExec.count { closeOnExec[Int(fd)] = value }
  }
}

/// poll(2) event bits (the same values epoll uses).
enum PollEvents {
  static let input: UInt32 = 0x001
  static let priority: UInt32 = 0x002
  static let output: UInt32 = 0x004
  static let error: UInt32 = 0x008
  static let hangUp: UInt32 = 0x010
  static let invalid: UInt32 = 0x020
  static let readNormal: UInt32 = 0x040
  static let writeNormal: UInt32 = 0x100
  static let readHangUp: UInt32 = 0x2000
}
