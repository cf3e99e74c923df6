// The persistent filesystem in the VFS: VillaFS (the shared log-structured
// format) on a virtio-blk disk. Each VillaFS inode gets one kernel Inode,
// kept in a table so that the VFS sees the same object for the same file
// (it compares inodes by identity). Attributes are read from and written
// to VillaFS, never cached, so what stat reports is what is on disk.
// VillaFS is not thread-safe and waits for the disk, so every call holds
// one sleeping lock.

import LinuxABI
import VillaFS

private let log = Logger("persistent-fs")

/// virtio-blk as VillaFS's block device: 512-byte blocks (the sector
/// size, which images are built with).
final class DiskBlockDevice: VillaFS.BlockDevice {
  let disk: VirtioBlockDevice
  let blockSize = 512
  var blockCount: UInt64 { disk.sectors }
  /// Requests are split so one bounce buffer never exceeds this.
  private static let chunk = 256 * 1024

  init(disk: VirtioBlockDevice) { self.disk = disk }

  func read(block: UInt64, count: Int, into buffer: UnsafeMutableRawBufferPointer)
    throws(BlockDeviceError)
  {
    try transfer(block: block, count: count, buffer: buffer, write: false)
  }

  func write(block: UInt64, count: Int, from buffer: UnsafeRawBufferPointer)
    throws(BlockDeviceError)
  {
    try transfer(block: block, count: count,
                 buffer: UnsafeMutableRawBufferPointer(mutating: buffer),
                 write: true)
  }

  func flush() throws(BlockDeviceError) {
    do throws(VirtioBlockDevice.Failure) {
      try disk.flush()
    } catch {
      throw .ioError
    }
  }

  private func transfer(block: UInt64, count: Int,
                        buffer: UnsafeMutableRawBufferPointer, write: Bool)
    throws(BlockDeviceError)
  {
    let total = count * blockSize
    guard buffer.count >= total else { throw .outOfRange }
    var done = 0
    while done < total {
      let length = min(DiskBlockDevice.chunk, total - done)
      do throws(VirtioBlockDevice.Failure) {
        try disk.transfer(
          sector: block + UInt64(done / blockSize),
          buffer: UnsafeMutableRawBufferPointer(
            rebasing: buffer[done..<(done + length)]),
          write: write)
      } catch {
        switch error {
        case .readOnly: throw .readOnly
        case .outOfRange: throw .outOfRange
        case .io, .noMemory: throw .ioError
        }
      }
      done += length
    }
  }
}

extension FSError {
  /// The one place VillaFS errors become errno values.
  var errno: Errno {
    switch self {
    case .notFound: return .ENOENT
    case .exists: return .EEXIST
    case .notDirectory: return .ENOTDIR
    case .isDirectory: return .EISDIR
    case .notEmpty: return .ENOTEMPTY
    case .noSpace: return .ENOSPC
    case .nameTooLong: return .ENAMETOOLONG
    case .invalid: return .EINVAL
    case .notPermitted: return .EPERM
    case .tooManyLinks: return .EMLINK
    case .fileTooLarge: return .EFBIG
    case .readOnly: return .EROFS
    case .io, .corrupted, .unsupportedVersion: return .EIO
    }
  }
}

final class PersistentFileSystem: FileSystem {
  let volume: VillaFS.FileSystem<DiskBlockDevice>
  let mutex = KernelMutex()
  private var inodes: [UInt64: PersistentInode] = [:]

  init(volume: VillaFS.FileSystem<DiskBlockDevice>, deviceNumber: UInt64) {
    self.volume = volume
    super.init(name: "villafs", deviceNumber: deviceNumber,
               magic: 0x5649_4C41)  // "VILA"
    root = inode(VillaFS.FileSystem<DiskBlockDevice>.rootInode)
  }

  /// Mounts the filesystem on `disk`; nil (with a log line) if it has
  /// none or it is damaged beyond recovery.
  static func mount(disk: VirtioBlockDevice, readOnly: Bool)
    -> PersistentFileSystem?
  {
    do throws(FSError) {
      let volume = try VillaFS.FileSystem(
        mounting: DiskBlockDevice(disk: disk), readOnly: readOnly || disk.readOnly,
        clock: {
          let now = Timestamp.now
          return VillaFS.Timestamp(seconds: now.seconds,
                                   nanoseconds: UInt32(now.nanoseconds))
        })
      log.info("mounted the disk" + (volume.isReadOnly ? " read-only" : ""))
      return PersistentFileSystem(
        volume: volume,
        deviceNumber: DeviceNumber.make(major: 254, minor: 0))
    } catch {
      log.error("cannot mount the disk: \(error.description)")
      return nil
    }
  }

  /// The kernel inode for a VillaFS inode number (one object per file).
  func inode(_ number: UInt64) -> PersistentInode {
    if let known = inodes[number] { return known }
    let made = PersistentInode(fileSystem: self, number: number)
    inodes[number] = made
    return made
  }

  func forget(_ number: UInt64) { inodes[number] = nil }

  /// Runs one VillaFS call under the lock, mapping its error.
  func locked<T>(_ body: () throws(FSError) -> T) throws(Errno) -> T {
    mutex.lock()
    defer { mutex.unlock() }
    do throws(FSError) {
      return try body()
    } catch {
      throw error.errno
    }
  }

  override func statistics() -> (UInt64, UInt64, UInt64, UInt64, UInt64) {
    let figures = volume.statfs()
    return (UInt64(figures.blockSize), figures.totalBlocks,
            figures.availableBlocks, figures.totalFiles, figures.freeFiles)
  }

  override func sync() throws(Errno) {
    try locked { () throws(FSError) in try volume.sync() }
  }
}

final class PersistentInode: Inode {
  private var persistent: PersistentFileSystem {
    fileSystem as! PersistentFileSystem
  }
  private var volume: VillaFS.FileSystem<DiskBlockDevice> {
    persistent.volume
  }

  init(fileSystem: PersistentFileSystem, number: UInt64) {
    let mode = (try? fileSystem.volume.attributes(of: number))?.mode ?? 0
    super.init(fileSystem: fileSystem, mode: mode, number: number)
  }

  private var attributes: Attributes? {
    try? persistent.locked { () throws(FSError) in
      try volume.attributes(of: number)
    }
  }

  private func change(_ changes: AttributeChanges) {
    _ = try? persistent.locked { () throws(FSError) in
      try volume.setAttributes(number, changes)
    }
  }

  // Attributes live on disk; the VFS's stores go through to it.
  override var mode: UInt32 {
    get { attributes?.mode ?? super.mode }
    set { change(AttributeChanges(mode: newValue & 0o7777)) }
  }
  override var uid: UInt32 {
    get { attributes?.uid ?? 0 }
    set { change(AttributeChanges(uid: newValue)) }
  }
  override var gid: UInt32 {
    get { attributes?.gid ?? 0 }
    set { change(AttributeChanges(gid: newValue)) }
  }
  override var links: UInt32 {
    get { attributes?.linkCount ?? 0 }
    set {}   // link counts follow the directory operations
  }
  override var accessTime: Timestamp {
    get { stamp(attributes?.accessTime) }
    set { change(AttributeChanges(accessTime: villa(newValue))) }
  }
  override var modifyTime: Timestamp {
    get { stamp(attributes?.modificationTime) }
    set { change(AttributeChanges(modificationTime: villa(newValue))) }
  }
  override var changeTime: Timestamp {
    get { stamp(attributes?.changeTime) }
    set { change(AttributeChanges(changeTime: villa(newValue))) }
  }
  override var size: UInt64 { attributes?.size ?? 0 }

  private func stamp(_ time: VillaFS.Timestamp?) -> Timestamp {
    Timestamp(seconds: time?.seconds ?? 0,
              nanoseconds: Int64(time?.nanoseconds ?? 0))
  }
  private func villa(_ time: Timestamp) -> VillaFS.Timestamp {
    VillaFS.Timestamp(seconds: time.seconds,
                      nanoseconds: UInt32(time.nanoseconds))
  }

  override func stat() -> Stat {
    guard let a = attributes else { return super.stat() }
    return Stat(dev: fileSystem.deviceNumber, ino: number,
                nlink: UInt64(a.linkCount), mode: FileMode(rawValue: a.mode),
                uid: a.uid, gid: a.gid, rdev: a.rdev, size: Int64(a.size),
                blksize: 4096, blocks: Int64(a.blocks),
                atime: stamp(a.accessTime).timespec,
                mtime: stamp(a.modificationTime).timespec,
                ctime: stamp(a.changeTime).timespec)
  }

  // MARK: Contents

  override func readContents(at offset: UInt64,
                             into buffer: UnsafeMutableRawBufferPointer)
    throws(Errno) -> Int
  {
    try persistent.locked { () throws(FSError) in
      try volume.read(number, at: offset, into: buffer)
    }
  }

  override func writeContents(at offset: UInt64,
                              from buffer: UnsafeRawBufferPointer)
    throws(Errno) -> Int
  {
    let written = try persistent.locked { () throws(FSError) in
      try volume.write(number, at: offset, from: buffer)
    }
    // VillaFS writes less only when the disk filled part-way.
    if written == 0 && buffer.count > 0 { throw .ENOSPC }
    return written
  }

  override func truncateContents(to length: UInt64) throws(Errno) {
    try persistent.locked { () throws(FSError) in
      try volume.truncate(number, to: length)
    }
  }

  override func sync() throws(Errno) {
    try persistent.locked { () throws(FSError) in try volume.fsync(number) }
  }

  // MARK: Directories

  override func lookup(_ name: [UInt8]) throws(Errno) -> Inode? {
    guard isDirectory else { throw .ENOTDIR }
    do throws(Errno) {
      let found = try persistent.locked { () throws(FSError) in
        try volume.lookup(name, in: number)
      }
      return persistent.inode(found)
    } catch {
      if error == .ENOENT { return nil }
      throw error
    }
  }

  override var parent: Inode? {
    guard let up = try? persistent.locked({ () throws(FSError) in
      try volume.lookup([0x2E, 0x2E], in: number)
    }) else { return self }
    return persistent.inode(up)
  }

  override func create(_ name: [UInt8], mode: UInt32) throws(Errno) -> Inode {
    let made: UInt64 = try persistent.locked { () throws(FSError) in
      if mode & LinuxABI.FileMode.ifmt.rawValue
        == LinuxABI.FileMode.ifdir.rawValue
      {
        return try volume.makeDirectory(name, in: number,
                                        mode: mode & 0o7777, uid: 0, gid: 0)
      }
      return try volume.create(name, in: number, mode: mode, uid: 0, gid: 0)
    }
    return persistent.inode(made)
  }

  /// O_TMPFILE: VillaFS keeps the nameless file as an orphan, held (and
  /// acquired once, for the descriptor about to be made) until its last
  /// close or until linkat names it.
  override func createUnnamed(mode: UInt32) throws(Errno) -> Inode {
    guard isDirectory else { throw .ENOTDIR }
    let made = try persistent.locked { () throws(FSError) in
      try volume.createUnnamed(mode: mode, uid: 0, gid: 0)
    }
    return persistent.inode(made)
  }

  override func createSymlink(_ name: [UInt8], target: [UInt8])
    throws(Errno) -> Inode
  {
    let made = try persistent.locked { () throws(FSError) in
      try volume.makeSymlink(name, in: number, target: target, uid: 0, gid: 0)
    }
    return persistent.inode(made)
  }

  override func link(_ name: [UInt8], to inode: Inode) throws(Errno) {
    guard inode.fileSystem === fileSystem else { throw .EXDEV }
    try persistent.locked { () throws(FSError) in
      try volume.link(inode.number, as: name, in: number)
    }
  }

  override func removeEntry(_ name: [UInt8]) throws(Errno) {
    guard let target = try lookup(name) else { throw .ENOENT }
    // Read before taking the lock: attributes take it themselves, and
    // the lock does not nest.
    let isDirectory = target.isDirectory
    try persistent.locked { () throws(FSError) in
      if isDirectory {
        try volume.removeDirectory(name, in: number)
      } else {
        try volume.unlink(name, in: number)
      }
    }
  }

  override func moveEntry(_ name: [UInt8], to destination: Inode,
                          as newName: [UInt8]) throws(Errno)
  {
    guard destination.fileSystem === fileSystem else { throw .EXDEV }
    try persistent.locked { () throws(FSError) in
      try volume.rename(name, in: number, to: newName,
                        in: destination.number, mode: .replace)
    }
  }

  override func entries() throws(Errno) -> [DirectoryEntry] {
    let listed = try persistent.locked { () throws(FSError) in
      try volume.readDirectory(number, after: 0)
    }
    return listed.map {
      DirectoryEntry(name: $0.name, inode: $0.inode,
                     type: $0.kind.directoryEntryType)
    }
  }

  override func symlinkTarget() throws(Errno) -> [UInt8] {
    try persistent.locked { () throws(FSError) in try volume.readLink(number) }
  }

  // MARK: Open files

  override func open(flags: UInt32) throws(Errno) -> OpenFile {
    if openCount == 0 {
      try persistent.locked { () throws(FSError) in
        try volume.acquire(number)
      }
    }
    return try super.open(flags: flags)
  }

  override func lastOpenClosed() {
    _ = try? persistent.locked { () throws(FSError) in
      try volume.release(number)
    }
  }
}
