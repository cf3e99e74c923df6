// An open regular file or directory: an inode, an offset and the open
// flags. Descriptors made by dup share one InodeFile, and so its offset,
// as open(2) describes for "open file descriptions".

import LinuxABI

final class InodeFile: OpenFile {
  let node: Inode
  var offset: UInt64 = 0
  /// The path it was opened by, for /proc/self/fd and getcwd-like needs.
  var path: [UInt8] = []
  /// getdents64's place in a directory: the index of the next entry.
  private var directoryCursor = 0

  init(inode: Inode, flags: UInt32) {
    node = inode
    super.init()
    statusFlags = flags & ~(OpenFlags.creat.rawValue | OpenFlags.excl.rawValue
      | OpenFlags.noctty.rawValue | OpenFlags.trunc.rawValue
      | OpenFlags.cloexec.rawValue)
    inode.openCount += 1
  }

  override var inode: Inode? { node }
  override var procName: [UInt8] { path }

  var accessMode: UInt32 { statusFlags & OpenFlags.accmode.rawValue }
  var canRead: Bool { accessMode != OpenFlags.wronly.rawValue && !isPath }
  var canWrite: Bool { accessMode != OpenFlags.rdonly.rawValue && !isPath }
  var isPath: Bool { statusFlags & OpenFlags.path.rawValue != 0 }
  var appends: Bool { statusFlags & OpenFlags.append.rawValue != 0 }

  override func read(into buffer: UnsafeMutableRawBufferPointer,
                     mayBlock: Bool) throws(Errno) -> Int
  {
    guard canRead else { throw .EBADF }
    if node.isDirectory { throw .EISDIR }
    let n = try node.read(at: offset, into: buffer)
    offset += UInt64(n)
    return n
  }

  override func write(_ buffer: UnsafeRawBufferPointer, mayBlock: Bool)
    throws(Errno) -> Int
  {
    guard canWrite else { throw .EBADF }
    if appends { offset = node.size }
    let n = try node.write(at: offset, from: buffer)
    offset += UInt64(n)
    return n
  }

  override func read(at position: UInt64,
                     into buffer: UnsafeMutableRawBufferPointer)
    throws(Errno) -> Int
  {
    guard canRead else { throw .EBADF }
    if node.isDirectory { throw .EISDIR }
    return try node.read(at: position, into: buffer)
  }

  override func write(at position: UInt64, from buffer: UnsafeRawBufferPointer)
    throws(Errno) -> Int
  {
    guard canWrite else { throw .EBADF }
    // Linux appends even for pwrite on an O_APPEND file.
    return try node.write(at: appends ? node.size : position, from: buffer)
  }

  override func seek(offset requested: Int64, whence: Int32)
    throws(Errno) -> Int64
  {
    if isPath { throw .EBADF }
    let base: Int64
    switch whence {
    case 0: base = 0                                    // SEEK_SET
    case 1: base = Int64(offset)                        // SEEK_CUR
    case 2: base = Int64(node.size)                     // SEEK_END
    case 3, 4:                                          // SEEK_DATA, HOLE
      guard !node.isDirectory else { throw .EINVAL }
      guard requested >= 0, UInt64(requested) < node.size else {
        throw .ENXIO
      }
      // Without hole tracking the whole file is data, ending in one hole.
      let target = whence == 3 ? requested : Int64(node.size)
      offset = UInt64(target)
      return target
    default: throw .EINVAL
    }
    let (target, overflow) = base.addingReportingOverflow(requested)
    guard !overflow, target >= 0 else { throw .EINVAL }
    if node.isDirectory {
      // Directory offsets are entry indexes; only rewinding is portable.
      directoryCursor = Int(target)
    }
    offset = UInt64(target)
    return target
  }

  override func pollEvents() -> UInt32 {
    // Regular files are always ready, as poll(2) says.
    PollEvents.input | PollEvents.output | PollEvents.readNormal
      | PollEvents.writeNormal
  }

  override func status() -> Stat { node.stat() }

  override func ioctl(request: UInt64, argument: UserAddress)
    throws(Errno) -> Int
  {
    if request == 0x541B && node.isRegular {  // FIONREAD
      let left = node.size > offset ? node.size - offset : 0
      try UserMemory.write(Int32(min(left, UInt64(Int32.max))), to: argument)
      return 0
    }
    return try super.ioctl(request: request, argument: argument)
  }

  /// The next directory entries that fit in `capacity` bytes of
  /// linux_dirent64 records.
  func readDirectory(capacity: Int) throws(Errno) -> [UInt8] {
    guard node.isDirectory else { throw .ENOTDIR }
    var all = [DirectoryEntry(name: Array(".".utf8), inode: node.number,
                              type: node.directoryEntryType)]
    let parent = node.parent ?? node
    all.append(DirectoryEntry(name: Array("..".utf8), inode: parent.number,
                              type: parent.directoryEntryType))
    all += try node.entries()
    var out: [UInt8] = []
    while directoryCursor < all.count {
      let entry = all[directoryCursor]
      // d_ino u64, d_off i64, d_reclen u16, d_type u8, name, NUL, padding.
      let length = (19 + entry.name.count + 1 + 7) & ~7
      if out.count + length > capacity {
        if out.isEmpty { throw .EINVAL }
        break
      }
      var record = [UInt8](repeating: 0, count: length)
      record.store(entry.inode, at: 0)
      record.store(Int64(directoryCursor + 1), at: 8)
      record.store(UInt16(length), at: 16)
      record[18] = entry.type
      for (i, byte) in entry.name.enumerated() { record[19 + i] = byte }
      out += record
      directoryCursor += 1
    }
    offset = UInt64(directoryCursor)
    node.accessTime = Timestamp.now
    return out
  }

  override func lastDescriptorClosed() {
    // Closing the last descriptor releases this description's flock.
    if !node.flockHolders.isEmpty {
      node.flockHolders.removeAll { $0.file === self }
      Readiness.changed()
    }
    node.openCount -= 1
    if node.openCount == 0 { node.lastOpenClosed() }
  }
}
