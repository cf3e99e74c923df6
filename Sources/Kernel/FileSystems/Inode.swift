// The VFS's view of a file: an inode. Each filesystem (tmpfs, devices,
// /proc, the persistent log-structured one) subclasses Inode and overrides
// what its files can do; the defaults fail the way Linux fails when a
// file cannot do something (EISDIR, ENOTDIR, EINVAL, EPERM).
//
// The VFS itself (PathResolution.swift, the path syscalls) only talks to
// this interface: it walks directories by name, checks kinds, and turns
// inodes into open files.

import LinuxABI

struct Timestamp: Equatable {
  var seconds: Int64
  var nanoseconds: Int64

  static var now: Timestamp {
    let ns = Clock.realtimeNanoseconds()
    return Timestamp(seconds: Int64(ns / 1_000_000_000),
                     nanoseconds: Int64(ns % 1_000_000_000))
  }

  var timespec: Timespec { Timespec(sec: seconds, nsec: nanoseconds) }
}

/// One directory entry as getdents64 reports it.
struct DirectoryEntry {
  var name: [UInt8]
  var inode: UInt64
  /// The d_type value (DT_REG 8, DT_DIR 4, DT_LNK 10, DT_CHR 2, ...).
  var type: UInt8
}

class Inode {
  let number: UInt64
  let fileSystem: FileSystem
  var mode: UInt32
  var uid: UInt32 = 0
  var gid: UInt32 = 0
  var links: UInt32 = 1
  var rdev: UInt64 = 0
  var accessTime = Timestamp.now
  var modifyTime = Timestamp.now
  var changeTime = Timestamp.now
  /// A named pipe's buffer (FIFO inodes only), made at first open.
  var fifo: Pipe? = nil
  /// flock(2) locks on this file, by open file description.
  var flockHolders: [FlockHolder] = []
  /// A nameless O_TMPFILE file (made without O_EXCL) that linkat may
  /// still give a name; any other file with no links may not get one.
  var linkable = false
  /// Open descriptions of this inode; an unlinked inode lives on while
  /// any remain (the filesystem frees it at the last close).
  var openCount = 0

  /// A new inode; `number` is the filesystem's own number when it has
  /// one (persistent filesystems), else one is allocated.
  init(fileSystem: FileSystem, mode: UInt32, number: UInt64? = nil) {
    self.fileSystem = fileSystem
    self.number = number ?? fileSystem.allocateInodeNumber()
    self.mode = mode
    if isDirectory { links = 2 }
  }

  var type: UInt32 { mode & FileMode.ifmt.rawValue }
  var isDirectory: Bool { type == FileMode.ifdir.rawValue }
  var isRegular: Bool { type == FileMode.ifreg.rawValue }
  var isSymlink: Bool { type == FileMode.iflnk.rawValue }
  var isFIFO: Bool { type == FileMode.ififo.rawValue }

  var directoryEntryType: UInt8 { UInt8(type >> 12) }

  // MARK: Contents of regular files

  var size: UInt64 { 0 }

  /// The pages shared mappings of this file map (see PageCache.swift);
  /// nil while no shared mapping exists.
  var pageCache: PageCache? = nil

  // Everything reads, writes and truncates a file through these three,
  // which keep the file coherent with its shared mappings; filesystems
  // override the *Contents methods below them.

  final func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer)
    throws(Errno) -> Int
  {
    let n = try readContents(at: offset, into: buffer)
    if let pageCache, n > 0 {
      pageCache.overlay(at: offset, onto: UnsafeMutableRawBufferPointer(
        rebasing: buffer[0..<n]))
    }
    return n
  }

  final func write(at offset: UInt64, from buffer: UnsafeRawBufferPointer)
    throws(Errno) -> Int
  {
    let n = try writeContents(at: offset, from: buffer)
    if let pageCache, n > 0 {
      pageCache.update(at: offset, from: UnsafeRawBufferPointer(
        rebasing: buffer[0..<n]))
    }
    return n
  }

  final func truncate(to size: UInt64) throws(Errno) {
    // Mappings let go of the pages past the new end first: the
    // filesystem may free their memory.
    pageCache?.truncate(to: size, of: self)
    try truncateContents(to: size)
  }

  /// The physical frame that holds page `index` of the contents, for a
  /// filesystem whose contents are page-aligned memory (tmpfs): shared
  /// mappings then map the contents themselves. nil: the page cache
  /// keeps its own copy and writes it back.
  func contentsFrame(at index: UInt64) throws(Errno) -> UInt64? { nil }

  func readContents(at offset: UInt64,
                    into buffer: UnsafeMutableRawBufferPointer)
    throws(Errno) -> Int
  {
    throw isDirectory ? .EISDIR : .EINVAL
  }

  func writeContents(at offset: UInt64, from buffer: UnsafeRawBufferPointer)
    throws(Errno) -> Int
  {
    throw isDirectory ? .EISDIR : .EINVAL
  }

  func truncateContents(to size: UInt64) throws(Errno) {
    throw isDirectory ? .EISDIR : .EINVAL
  }

  /// Replaces the contents with `bytes` (for files the kernel makes).
  func write(bytes: [UInt8]) throws(Errno) {
    try truncate(to: 0)
    let buffer = UnsafeMutableRawBufferPointer.allocate(
      byteCount: max(bytes.count, 1), alignment: 8)
    defer { buffer.deallocate() }
    for (i, byte) in bytes.enumerated() { buffer[i] = byte }
    _ = try write(at: 0, from: UnsafeRawBufferPointer(
      rebasing: buffer[0..<bytes.count]))
  }

  /// Makes the contents durable (fsync). In-memory files have nothing to
  /// do.
  func sync() throws(Errno) {}

  // MARK: Directories

  /// The inode called `name` in this directory, or nil. Never "." or "..":
  /// the path walker handles those.
  func lookup(_ name: [UInt8]) throws(Errno) -> Inode? { throw .ENOTDIR }

  /// The directory containing this one (the root returns itself).
  var parent: Inode? { nil }

  func create(_ name: [UInt8], mode: UInt32) throws(Errno) -> Inode {
    throw .ENOTDIR
  }

  func createSymlink(_ name: [UInt8], target: [UInt8]) throws(Errno) -> Inode {
    throw .ENOTDIR
  }

  /// A new regular file with no name in this directory (O_TMPFILE).
  /// Filesystems that cannot keep a nameless file say EOPNOTSUPP, as
  /// Linux does.
  func createUnnamed(mode: UInt32) throws(Errno) -> Inode {
    guard isDirectory else { throw .ENOTDIR }
    throw .EOPNOTSUPP
  }

  /// Adds a hard link to an existing inode.
  func link(_ name: [UInt8], to inode: Inode) throws(Errno) {
    throw .ENOTDIR
  }

  /// Removes the entry `name`; the caller has checked its kind.
  func removeEntry(_ name: [UInt8]) throws(Errno) { throw .ENOTDIR }

  /// Moves entry `name` to `newName` in `destination` (same filesystem),
  /// replacing what is there; the caller has checked kinds and emptiness.
  func moveEntry(_ name: [UInt8], to destination: Inode, as newName: [UInt8])
    throws(Errno)
  {
    throw .ENOTDIR
  }

  func entries() throws(Errno) -> [DirectoryEntry] { throw .ENOTDIR }

  // MARK: Symbolic links

  func symlinkTarget() throws(Errno) -> [UInt8] { throw .EINVAL }

  // MARK: Opening

  /// For /proc/self/fd links: the open file's own inode, which following
  /// the link reaches without going through the link's text (a "magic
  /// link", so an unlinked or nameless file can be reached).
  var magicTarget: Inode? { nil }

  /// The open file for this inode. Regular files and directories get the
  /// VFS's InodeFile; devices and generated files override this.
  func open(flags: UInt32) throws(Errno) -> OpenFile {
    if isFIFO { return try openFIFO(flags: flags) }
    return InodeFile(inode: self, flags: flags)
  }

  /// Opening a named pipe (fifo(7)): a reader waits for a writer and a
  /// writer for a reader, unless O_NONBLOCK, where a reader goes ahead
  /// and a writer fails with ENXIO. Both ends share the inode's pipe.
  func openFIFO(flags: UInt32) throws(Errno) -> OpenFile {
    let pipe = fifo ?? Pipe()
    fifo = pipe
    let access = flags & OpenFlags.accmode.rawValue
    let nonBlocking = flags & OpenFile.nonBlockFlag != 0
    if access == OpenFlags.rdwr.rawValue {
      // Linux allows it: the opener is both ends, so nobody waits.
      return PipeEnd(pipe: pipe, bothEnds: flags)
    }
    let writing = access == OpenFlags.wronly.rawValue
    if writing && nonBlocking && pipe.readers == 0 { throw .ENXIO }
    let otherOpensBefore = writing ? pipe.readerOpens : pipe.writerOpens
    let end = PipeEnd(pipe: pipe, isWriteEnd: writing, flags: flags)
    end.notifyChanged()
    if !nonBlocking {
      while (writing ? pipe.readers : pipe.writers) == 0 &&
        (writing ? pipe.readerOpens : pipe.writerOpens) == otherOpensBefore
      {
        do throws(Errno) {
          try Readiness.wait()
        } catch {
          end.lastDescriptorClosed()
          throw error
        }
      }
    }
    return end
  }

  /// Called when the last open description goes away.
  func lastOpenClosed() {}

  // MARK: Attributes

  func stat() -> Stat {
    Stat(dev: fileSystem.deviceNumber, ino: number, nlink: UInt64(links),
         mode: FileMode(rawValue: mode), uid: uid, gid: gid, rdev: rdev,
         size: Int64(size), blksize: 4096,
         blocks: Int64((size + 511) / 512),
         atime: accessTime.timespec, mtime: modifyTime.timespec,
         ctime: changeTime.timespec)
  }

  func touchModified() {
    let now = Timestamp.now
    modifyTime = now
    changeTime = now
  }
}

/// A mounted filesystem: its root, its device number and its figures.
class FileSystem {
  private var nextInode: UInt64 = 1
  let deviceNumber: UInt64
  let name: String
  /// statfs(2) f_type.
  let magic: UInt64
  var root: Inode! = nil

  init(name: String, deviceNumber: UInt64, magic: UInt64) {
    self.name = name
    self.deviceNumber = deviceNumber
    self.magic = magic
  }

  func allocateInodeNumber() -> UInt64 {
    defer { nextInode += 1 }
    return nextInode
  }

  /// statfs figures: (block size, total blocks, free blocks, files, free
  /// files).
  func statistics() -> (UInt64, UInt64, UInt64, UInt64, UInt64) {
    let free = UInt64(FrameAllocator.totalFrames - FrameAllocator.usedFrames)
    return (4096, UInt64(FrameAllocator.totalFrames), free, nextInode,
            1 << 20)
  }

  /// Writes everything to stable storage (sync, syncfs).
  func sync() throws(Errno) {}
}

/// One flock(2) lock: which open file description holds it, and how.
struct FlockHolder {
  var file: OpenFile
  var exclusive: Bool
}
