// tmpfs: files and directories that live in kernel memory. Villa's root
// filesystem is one, filled at boot with the program's files, and /tmp is
// part of it. File contents are arrays of bytes grown on write; a sparse
// write fills the gap with zeroes, which read back as a hole would.
//
// TODO(files): contents are one contiguous array, so growing a large file
// copies it; page-sized chunks would avoid that.

import LinuxABI

final class Tmpfs: FileSystem {
  /// The size limit (the manifest's "tmpfs" field); nil: memory only.
  var limit: UInt64? = nil
  /// Bytes of file contents held.
  var usedBytes: UInt64 = 0

  override func statistics() -> (UInt64, UInt64, UInt64, UInt64, UInt64) {
    guard let limit else { return super.statistics() }
    let free = limit > usedBytes ? limit - usedBytes : 0
    let files = super.statistics().3
    return (4096, limit / 4096, free / 4096, files, 1 << 20)
  }

  init(deviceNumber: UInt64) {
    super.init(name: "tmpfs", deviceNumber: deviceNumber, magic: 0x0102_1994)
    let directory = TmpfsInode(fileSystem: self,
                               mode: FileMode.ifdir.rawValue | 0o755)
    root = directory
  }
}

final class TmpfsInode: Inode {
  private(set) var data: [UInt8] = []
  private var children: [(name: [UInt8], inode: Inode)] = []
  private var target: [UInt8] = []
  private var parentDirectory: Inode? = nil

  override var size: UInt64 {
    isSymlink ? UInt64(target.count) : UInt64(data.count)
  }

  override var parent: Inode? { parentDirectory ?? self }

  // MARK: Regular files

  override func read(at offset: UInt64,
                     into buffer: UnsafeMutableRawBufferPointer)
    throws(Errno) -> Int
  {
    guard isRegular else { throw isDirectory ? .EISDIR : .EINVAL }
    guard offset < UInt64(data.count) else { return 0 }
    let start = Int(offset)
    let n = min(buffer.count, data.count - start)
    data.withUnsafeBytes { source in
      buffer.baseAddress!.copyMemory(from: source.baseAddress! + start,
                                     byteCount: n)
    }
    accessTime = Timestamp.now
    return n
  }

  override func write(at offset: UInt64, from buffer: UnsafeRawBufferPointer)
    throws(Errno) -> Int
  {
    guard isRegular else { throw isDirectory ? .EISDIR : .EINVAL }
    guard buffer.count > 0 else { return 0 }
    let end = offset.addingReportingOverflow(UInt64(buffer.count))
    guard !end.overflow, end.partialValue <= TmpfsInode.maximumSize else {
      throw .EFBIG
    }
    try reserve(end.partialValue)
    let start = Int(offset)
    data.withUnsafeMutableBytes { target in
      (target.baseAddress! + start).copyMemory(from: buffer.baseAddress!,
                                               byteCount: buffer.count)
    }
    touchModified()
    return buffer.count
  }

  /// tmpfs files are limited by memory; refuse sizes that could never fit.
  static let maximumSize: UInt64 = 1 << 40

  private var tmpfs: Tmpfs? { fileSystem as? Tmpfs }

  private func reserve(_ length: UInt64) throws(Errno) {
    guard length > UInt64(data.count) else { return }
    let growth = length - UInt64(data.count)
    let freeBytes = (FrameAllocator.totalFrames - FrameAllocator.usedFrames)
      * FrameAllocator.pageSize
    guard growth < freeBytes else { throw .ENOSPC }
    if let tmpfs, let limit = tmpfs.limit {
      guard tmpfs.usedBytes + growth <= limit else { throw .ENOSPC }
    }
    data += [UInt8](repeating: 0, count: Int(length) - data.count)
    tmpfs?.usedBytes += growth
  }

  override func truncate(to length: UInt64) throws(Errno) {
    guard isRegular else { throw isDirectory ? .EISDIR : .EINVAL }
    guard length <= TmpfsInode.maximumSize else { throw .EFBIG }
    if length < UInt64(data.count) {
      tmpfs?.usedBytes -= UInt64(data.count) - length
      data.removeSubrange(Int(length)...)
    } else {
      try reserve(length)
    }
    touchModified()
  }

  // MARK: Directories

  override func lookup(_ name: [UInt8]) throws(Errno) -> Inode? {
    guard isDirectory else { throw .ENOTDIR }
    return children.first { $0.name == name }?.inode
  }

  override func create(_ name: [UInt8], mode: UInt32) throws(Errno) -> Inode {
    guard isDirectory else { throw .ENOTDIR }
    guard try lookup(name) == nil else { throw .EEXIST }
    let inode = TmpfsInode(fileSystem: fileSystem, mode: mode)
    if inode.isDirectory {
      inode.parentDirectory = self
      links += 1
    }
    children.append((name, inode))
    touchModified()
    return inode
  }

  override func createSymlink(_ name: [UInt8], target: [UInt8])
    throws(Errno) -> Inode
  {
    let inode = try create(name, mode: FileMode.iflnk.rawValue | 0o777)
      as! TmpfsInode
    inode.target = target
    return inode
  }

  override func link(_ name: [UInt8], to inode: Inode) throws(Errno) {
    guard isDirectory else { throw .ENOTDIR }
    guard try lookup(name) == nil else { throw .EEXIST }
    children.append((name, inode))
    inode.links += 1
    inode.changeTime = Timestamp.now
    touchModified()
  }

  override func removeEntry(_ name: [UInt8]) throws(Errno) {
    guard let index = children.firstIndex(where: { $0.name == name }) else {
      throw .ENOENT
    }
    let inode = children[index].inode
    children.remove(at: index)
    if inode.isDirectory {
      inode.links = 0
      links -= 1
    } else {
      inode.links -= 1
    }
    // TODO(files): an unlinked file still open keeps counting against
    // the limit until it is closed; its bytes are released at unlink.
    if inode.links == 0, let file = inode as? TmpfsInode, inode.isRegular {
      tmpfs?.usedBytes -= UInt64(file.data.count)
    }
    inode.changeTime = Timestamp.now
    touchModified()
  }

  override func moveEntry(_ name: [UInt8], to destination: Inode,
                          as newName: [UInt8]) throws(Errno)
  {
    guard let target = destination as? TmpfsInode else { throw .EXDEV }
    guard let index = children.firstIndex(where: { $0.name == name }) else {
      throw .ENOENT
    }
    let inode = children[index].inode
    if (try target.lookup(newName)) != nil {
      try target.removeEntry(newName)
    }
    children.remove(at: index)
    target.children.append((newName, inode))
    if let moved = inode as? TmpfsInode, moved.isDirectory {
      moved.parentDirectory = target
      links -= 1
      target.links += 1
    }
    inode.changeTime = Timestamp.now
    touchModified()
    target.touchModified()
  }

  override func entries() throws(Errno) -> [DirectoryEntry] {
    guard isDirectory else { throw .ENOTDIR }
    return children.map {
      DirectoryEntry(name: $0.name, inode: $0.inode.number,
                     type: $0.inode.directoryEntryType)
    }
  }

  var isEmptyDirectory: Bool { children.isEmpty }

  // MARK: Symbolic links

  override func symlinkTarget() throws(Errno) -> [UInt8] {
    guard isSymlink else { throw .EINVAL }
    return target
  }
}
