// tmpfs: files and directories that live in kernel memory. Villa's root
// filesystem is one, filled at boot with the program's files, and /tmp is
// part of it. File contents are arrays of bytes grown on write; a sparse
// write fills the gap with zeroes, which read back as a hole would.
//
// File contents are kept in 64 KiB chunks allocated on first write, so a
// large file needs no contiguous memory and a hole costs nothing. The
// chunks are page-aligned, so a shared mapping maps their pages directly
// (the file's page cache borrows them; see PageCache.swift).

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

/// A file's bytes: a length and 64 KiB chunks, nil where never written.
final class ChunkedBytes {
  static let chunkSize = 65536
  private(set) var length = 0
  private var chunks: [UnsafeMutableRawPointer?] = []

  deinit {
    for chunk in chunks { chunk?.deallocate() }
  }

  func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer)
    -> Int
  {
    guard offset < length else { return 0 }
    let count = min(buffer.count, length - offset)
    var done = 0
    while done < count {
      let position = offset + done
      let index = position / ChunkedBytes.chunkSize
      let within = position % ChunkedBytes.chunkSize
      let n = min(count - done, ChunkedBytes.chunkSize - within)
      if let chunk = chunks[index] {
        (buffer.baseAddress! + done).copyMemory(from: chunk + within,
                                                byteCount: n)
      } else {
        (buffer.baseAddress! + done).initializeMemory(
          as: UInt8.self, repeating: 0, count: n)
      }
      done += n
    }
    return count
  }

  /// Writes within the current length (the caller grows it first).
  func write(at offset: Int, from buffer: UnsafeRawBufferPointer) {
    var done = 0
    while done < buffer.count {
      let position = offset + done
      let index = position / ChunkedBytes.chunkSize
      let within = position % ChunkedBytes.chunkSize
      let n = min(buffer.count - done, ChunkedBytes.chunkSize - within)
      if chunks[index] == nil {
        let chunk = UnsafeMutableRawPointer.allocate(
          byteCount: ChunkedBytes.chunkSize, alignment: 4096)
        chunk.initializeMemory(as: UInt8.self, repeating: 0,
                               count: ChunkedBytes.chunkSize)
        chunks[index] = chunk
      }
      (chunks[index]! + within).copyMemory(from: buffer.baseAddress! + done,
                                           byteCount: n)
      done += n
    }
  }

  /// The physical address of the page at `offset` (page-aligned, within
  /// the length), allocating its chunk if it is a hole: shared mappings
  /// map the file's own memory. Chunks are 4096-aligned heap blocks,
  /// which live in the direct map.
  func frame(at offset: Int) -> UInt64 {
    let index = offset / ChunkedBytes.chunkSize
    if chunks[index] == nil {
      let chunk = UnsafeMutableRawPointer.allocate(
        byteCount: ChunkedBytes.chunkSize, alignment: 4096)
      chunk.initializeMemory(as: UInt8.self, repeating: 0,
                             count: ChunkedBytes.chunkSize)
      chunks[index] = chunk
    }
    return DirectMap.physical(chunks[index]! + offset % ChunkedBytes.chunkSize)
  }

  /// Grows (the new bytes read as zero) or shrinks, freeing whole chunks
  /// past the end and zeroing the tail of the last one.
  func resize(to newLength: Int) {
    let needed = (newLength + ChunkedBytes.chunkSize - 1)
      / ChunkedBytes.chunkSize
    while chunks.count > needed { chunks.removeLast()?.deallocate() }
    while chunks.count < needed { chunks.append(nil) }
    if newLength < length, newLength % ChunkedBytes.chunkSize != 0,
      let last = chunks.last, let chunk = last
    {
      let within = newLength % ChunkedBytes.chunkSize
      (chunk + within).initializeMemory(
        as: UInt8.self, repeating: 0, count: ChunkedBytes.chunkSize - within)
    }
    length = newLength
  }
}

final class TmpfsInode: Inode {
  private(set) var data = ChunkedBytes()
  private var children: [(name: [UInt8], inode: Inode)] = []
  private var target: [UInt8] = []
  private var parentDirectory: Inode? = nil

  override var size: UInt64 {
    isSymlink ? UInt64(target.count) : UInt64(data.length)
  }

  override var parent: Inode? { parentDirectory ?? self }

  // MARK: Regular files

  override func readContents(at offset: UInt64,
                             into buffer: UnsafeMutableRawBufferPointer)
    throws(Errno) -> Int
  {
    guard isRegular else { throw isDirectory ? .EISDIR : .EINVAL }
    guard offset < UInt64(data.length) else { return 0 }
    let n = data.read(at: Int(offset), into: buffer)
    accessTime = Timestamp.now
    return n
  }

  override func writeContents(at offset: UInt64,
                              from buffer: UnsafeRawBufferPointer)
    throws(Errno) -> Int
  {
    guard isRegular else { throw isDirectory ? .EISDIR : .EINVAL }
    guard buffer.count > 0 else { return 0 }
    let end = offset.addingReportingOverflow(UInt64(buffer.count))
    guard !end.overflow, end.partialValue <= TmpfsInode.maximumSize else {
      throw .EFBIG
    }
    try reserve(end.partialValue)
    data.write(at: Int(offset), from: buffer)
    touchModified()
    return buffer.count
  }

  /// tmpfs files are limited by memory; refuse sizes that could never fit.
  static let maximumSize: UInt64 = 1 << 40

  private var tmpfs: Tmpfs? { fileSystem as? Tmpfs }

  private func reserve(_ length: UInt64) throws(Errno) {
    guard length > UInt64(data.length) else { return }
    let growth = length - UInt64(data.length)
    let freeBytes = (FrameAllocator.totalFrames - FrameAllocator.usedFrames)
      * FrameAllocator.pageSize
    guard growth < freeBytes else { throw .ENOSPC }
    if let tmpfs, let limit = tmpfs.limit {
      guard tmpfs.usedBytes + growth <= limit else { throw .ENOSPC }
    }
    data.resize(to: Int(length))
    tmpfs?.usedBytes += growth
  }

  override func contentsFrame(at index: UInt64) throws(Errno) -> UInt64? {
    guard isRegular, index * 4096 < UInt64(data.length) else {
      throw .EINVAL
    }
    return data.frame(at: Int(index * 4096))
  }

  override func truncateContents(to length: UInt64) throws(Errno) {
    guard isRegular else { throw isDirectory ? .EISDIR : .EINVAL }
    guard length <= TmpfsInode.maximumSize else { throw .EFBIG }
    if length < UInt64(data.length) {
      tmpfs?.usedBytes -= UInt64(data.length) - length
      data.resize(to: Int(length))
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

  override func createUnnamed(mode: UInt32) throws(Errno) -> Inode {
    guard isDirectory else { throw .ENOTDIR }
    let inode = TmpfsInode(fileSystem: fileSystem, mode: mode)
    inode.links = 0
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
      tmpfs?.usedBytes -= UInt64(file.data.length)
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
