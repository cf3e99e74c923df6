// Files by name: open(2) and openat(2) and their relatives, stat(2),
// statx(2), access(2), mkdir(2), unlink(2), rmdir(2), rename(2), link(2),
// symlink(2), readlink(2), truncate(2), chdir(2), getcwd(2), chmod(2),
// chown(2), utimensat(2), statfs(2), umask(2). Every path goes through
// PathWalker; the *at variants start from a directory descriptor.
//
// Villa's program runs as root, so permission bits never refuse access,
// except that executing needs some execute bit, as for root on Linux.

import LinuxABI

private let log = Logger("files")

enum PathSyscalls {
  static let atFDCWD: Int32 = -100
  static let atSymlinkNofollow: Int32 = 0x100
  static let atRemoveDir: Int32 = 0x200
  static let atSymlinkFollow: Int32 = 0x400
  static let atEmptyPath: Int32 = 0x1000

  static func register() {
    let d = SyscallDispatcher.self
    d.register(.open, .implemented) { a throws(Errno) in
      try open(at: atFDCWD, path: a.address(a.a0),
               flags: UInt32(truncatingIfNeeded: a.a1),
               mode: UInt32(truncatingIfNeeded: a.a2))
    }
    d.register(.openat, .implemented) { a throws(Errno) in
      try open(at: a.int(a.a0), path: a.address(a.a1),
               flags: UInt32(truncatingIfNeeded: a.a2),
               mode: UInt32(truncatingIfNeeded: a.a3))
    }
    d.register(.openat2, .partial("no RESOLVE_* restrictions")) {
      a throws(Errno) in
      // struct open_how: u64 flags, u64 mode, u64 resolve.
      guard a.a3 >= 24 else { throw .EINVAL }
      let how = try UserMemory.read((UInt64, UInt64, UInt64).self,
                                    at: a.address(a.a2))
      guard how.2 == 0 else {
        log.warn("openat2: RESOLVE flags are not supported")
        throw .EINVAL
      }
      guard how.0 >> 32 == 0, how.1 & ~UInt64(0o7777) == 0 else {
        throw .EINVAL
      }
      return try open(at: a.int(a.a0), path: a.address(a.a1),
                      flags: UInt32(how.0), mode: UInt32(how.1))
    }
    d.register(.creat, .implemented) { a throws(Errno) in
      try open(at: atFDCWD, path: a.address(a.a0),
               flags: OpenFlags([.creat, .wronly, .trunc]).rawValue,
               mode: UInt32(truncatingIfNeeded: a.a1))
    }
    d.register(.stat, .implemented) { a throws(Errno) in
      try writeStat(at: atFDCWD, path: a.address(a.a0), flags: 0,
                    to: a.address(a.a1))
    }
    d.register(.lstat, .implemented) { a throws(Errno) in
      try writeStat(at: atFDCWD, path: a.address(a.a0),
                    flags: atSymlinkNofollow, to: a.address(a.a1))
    }
    d.register(.newfstatat, .implemented) { a throws(Errno) in
      try writeStat(at: a.int(a.a0), path: a.address(a.a1),
                    flags: a.int(a.a3), to: a.address(a.a2))
    }
    d.register(.statx, .partial("no birth time")) { a throws(Errno) in
      try statx(at: a.int(a.a0), path: a.address(a.a1), flags: a.int(a.a2),
                mask: UInt32(truncatingIfNeeded: a.a3), to: a.address(a.a4))
    }
    d.register(.access, .implemented) { a throws(Errno) in
      try access(at: atFDCWD, path: a.address(a.a0), mode: a.int(a.a1),
                 flags: 0)
    }
    d.register(.faccessat, .implemented) { a throws(Errno) in
      try access(at: a.int(a.a0), path: a.address(a.a1), mode: a.int(a.a2),
                 flags: 0)
    }
    d.register(.faccessat2, .implemented) { a throws(Errno) in
      try access(at: a.int(a.a0), path: a.address(a.a1), mode: a.int(a.a2),
                 flags: a.int(a.a3))
    }
    d.register(.mkdir, .implemented) { a throws(Errno) in
      try mkdir(at: atFDCWD, path: a.address(a.a0),
                mode: UInt32(truncatingIfNeeded: a.a1))
    }
    d.register(.mkdirat, .implemented) { a throws(Errno) in
      try mkdir(at: a.int(a.a0), path: a.address(a.a1),
                mode: UInt32(truncatingIfNeeded: a.a2))
    }
    d.register(.mknod, .partial("device nodes only for the kernel's "
      + "own character devices, on tmpfs")) { a throws(Errno) in
      try mknod(at: atFDCWD, path: a.address(a.a0),
                mode: UInt32(truncatingIfNeeded: a.a1),
                device: UInt32(truncatingIfNeeded: a.a2))
    }
    d.register(.mknodat, .partial("device nodes only for the kernel's "
      + "own character devices, on tmpfs")) { a throws(Errno) in
      try mknod(at: a.int(a.a0), path: a.address(a.a1),
                mode: UInt32(truncatingIfNeeded: a.a2),
                device: UInt32(truncatingIfNeeded: a.a3))
    }
    d.register(.rmdir, .implemented) { a throws(Errno) in
      try remove(at: atFDCWD, path: a.address(a.a0), directory: true)
    }
    d.register(.unlink, .implemented) { a throws(Errno) in
      try remove(at: atFDCWD, path: a.address(a.a0), directory: false)
    }
    d.register(.unlinkat, .implemented) { a throws(Errno) in
      let flags = a.int(a.a2)
      guard flags & ~atRemoveDir == 0 else { throw .EINVAL }
      return try remove(at: a.int(a.a0), path: a.address(a.a1),
                        directory: flags & atRemoveDir != 0)
    }
    d.register(.rename, .implemented) { a throws(Errno) in
      try rename(from: atFDCWD, a.address(a.a0), to: atFDCWD,
                 a.address(a.a1), flags: 0)
    }
    d.register(.renameat, .implemented) { a throws(Errno) in
      try rename(from: a.int(a.a0), a.address(a.a1), to: a.int(a.a2),
                 a.address(a.a3), flags: 0)
    }
    d.register(.renameat2, .partial("no RENAME_WHITEOUT")) {
      a throws(Errno) in
      try rename(from: a.int(a.a0), a.address(a.a1), to: a.int(a.a2),
                 a.address(a.a3), flags: UInt32(truncatingIfNeeded: a.a4))
    }
    d.register(.link, .implemented) { a throws(Errno) in
      try link(from: atFDCWD, a.address(a.a0), to: atFDCWD, a.address(a.a1),
               flags: 0)
    }
    d.register(.linkat, .implemented) { a throws(Errno) in
      try link(from: a.int(a.a0), a.address(a.a1), to: a.int(a.a2),
               a.address(a.a3), flags: a.int(a.a4))
    }
    d.register(.symlink, .implemented) { a throws(Errno) in
      try symlink(target: a.address(a.a0), at: atFDCWD, path: a.address(a.a1))
    }
    d.register(.symlinkat, .implemented) { a throws(Errno) in
      try symlink(target: a.address(a.a0), at: a.int(a.a1),
                  path: a.address(a.a2))
    }
    d.register(.readlink, .implemented) { a throws(Errno) in
      try readlink(at: atFDCWD, path: a.address(a.a0),
                   buffer: a.address(a.a1), size: a.a2)
    }
    d.register(.readlinkat, .implemented) { a throws(Errno) in
      try readlink(at: a.int(a.a0), path: a.address(a.a1),
                   buffer: a.address(a.a2), size: a.a3)
    }
    d.register(.truncate, .implemented) { a throws(Errno) in
      let length = Int64(bitPattern: a.a1)
      guard length >= 0 else { throw .EINVAL }
      let inode = try lookup(at: atFDCWD, path: a.address(a.a0), follow: true)
      if inode.isDirectory { throw .EISDIR }
      guard inode.isRegular else { throw .EINVAL }
      try inode.truncate(to: UInt64(length))
      return 0
    }
    d.register(.chdir, .implemented) { a throws(Errno) in
      let inode = try lookup(at: atFDCWD, path: a.address(a.a0), follow: true)
      guard inode.isDirectory else { throw .ENOTDIR }
      Process.current.workingDirectory = inode
      return 0
    }
    d.register(.fchdir, .implemented) { a throws(Errno) in
      let file = try Process.current.files.get(a.int(a.a0))
      guard let inode = file.inode else { throw .ENOTDIR }
      guard inode.isDirectory else { throw .ENOTDIR }
      Process.current.workingDirectory = inode
      return 0
    }
    d.register(.getcwd, .implemented) { a throws(Errno) in
      let path = try PathWalker.absolutePath(
        of: Process.current.workingDirectory) + [0]
      guard UInt64(path.count) <= a.a1 else { throw .ERANGE }
      try UserMemory.writeBytes(path, to: a.address(a.a0))
      return path.count
    }
    d.register(.chmod, .implemented) { a throws(Errno) in
      let inode = try lookup(at: atFDCWD, path: a.address(a.a0), follow: true)
      return try chmod(inode, UInt32(truncatingIfNeeded: a.a1))
    }
    d.register(.fchmod, .implemented) { a throws(Errno) in
      guard let inode = try Process.current.files.get(a.int(a.a0)).inode
      else { throw .EINVAL }
      return try chmod(inode, UInt32(truncatingIfNeeded: a.a1))
    }
    d.register(.fchmodat, .implemented) { a throws(Errno) in
      let inode = try lookup(at: a.int(a.a0), path: a.address(a.a1),
                             follow: true)
      return try chmod(inode, UInt32(truncatingIfNeeded: a.a2))
    }
    d.register(.chown, .implemented) { a throws(Errno) in
      let inode = try lookup(at: atFDCWD, path: a.address(a.a0), follow: true)
      return chown(inode, a.a1, a.a2)
    }
    d.register(.lchown, .implemented) { a throws(Errno) in
      let inode = try lookup(at: atFDCWD, path: a.address(a.a0), follow: false)
      return chown(inode, a.a1, a.a2)
    }
    d.register(.fchown, .implemented) { a throws(Errno) in
      guard let inode = try Process.current.files.get(a.int(a.a0)).inode
      else { throw .EINVAL }
      return chown(inode, a.a1, a.a2)
    }
    d.register(.fchownat, .implemented) { a throws(Errno) in
      let flags = a.int(a.a4)
      guard flags & ~(atSymlinkNofollow | atEmptyPath) == 0 else {
        throw .EINVAL
      }
      let inode = try lookup(at: a.int(a.a0), path: a.address(a.a1),
                             follow: flags & atSymlinkNofollow == 0,
                             allowEmpty: flags & atEmptyPath != 0)
      return chown(inode, a.a2, a.a3)
    }
    d.register(.utimensat, .implemented) { a throws(Errno) in
      try utimensat(at: a.int(a.a0), path: a.address(a.a1),
                    times: a.address(a.a2), flags: a.int(a.a3))
    }
    d.register(.statfs, .implemented) { a throws(Errno) in
      let inode = try lookup(at: atFDCWD, path: a.address(a.a0), follow: true)
      try writeStatfs(inode.fileSystem, to: a.address(a.a1))
      return 0
    }
    d.register(.fstatfs, .implemented) { a throws(Errno) in
      let file = try Process.current.files.get(a.int(a.a0))
      let fileSystem = file.inode?.fileSystem ?? Mounts.root.fileSystem
      try writeStatfs(fileSystem, to: a.address(a.a1))
      return 0
    }
    d.register(.umask, .implemented) { a throws(Errno) in
      let process = Process.current
      let old = process.umask
      process.umask = UInt32(truncatingIfNeeded: a.a0) & 0o777
      return Int(old)
    }
  }

  // MARK: Resolution helpers

  /// The directory a *at call starts from.
  static func startDirectory(_ dirfd: Int32) throws(Errno) -> Inode {
    if dirfd == atFDCWD { return Process.current.workingDirectory }
    let file = try Process.current.files.get(dirfd)
    guard let inode = file.inode, inode.isDirectory else { throw .ENOTDIR }
    return inode
  }

  static func resolve(at dirfd: Int32, path: UserAddress, follow: Bool)
    throws(Errno) -> PathResolution
  {
    let name = try UserMemory.readString(at: path, limit: PathWalker.maximumPath)
    guard !name.isEmpty else { throw .ENOENT }
    let start = name.first == UInt8(ascii: "/")
      ? Mounts.root! : try startDirectory(dirfd)
    return try PathWalker.resolve(name, from: start, followLast: follow)
  }

  /// The inode a path names; with `allowEmpty` (AT_EMPTY_PATH), an empty
  /// path names the descriptor itself.
  static func lookup(at dirfd: Int32, path: UserAddress, follow: Bool,
                     allowEmpty: Bool = false) throws(Errno) -> Inode
  {
    if allowEmpty {
      let name = try UserMemory.readString(at: path,
                                           limit: PathWalker.maximumPath)
      if name.isEmpty {
        if dirfd == atFDCWD { return Process.current.workingDirectory }
        let file = try Process.current.files.get(dirfd)
        guard let inode = file.inode else { throw .EBADF }
        return inode
      }
    }
    let resolution = try resolve(at: dirfd, path: path, follow: follow)
    guard let inode = resolution.inode else { throw .ENOENT }
    return inode
  }

  // MARK: open

  static func open(at dirfd: Int32, path: UserAddress, flags: UInt32,
                   mode: UInt32) throws(Errno) -> Int
  {
    let creating = flags & OpenFlags.creat.rawValue != 0
    let exclusive = flags & OpenFlags.excl.rawValue != 0
    let unnamedFlag: UInt32 = 0o2000_0000   // __O_TMPFILE
    if flags & unnamedFlag != 0 {
      return try openUnnamed(at: dirfd, path: path, flags: flags, mode: mode)
    }
    let follow = flags & OpenFlags.nofollow.rawValue == 0
      && !(creating && exclusive)
    let resolution = try resolve(at: dirfd, path: path, follow: follow)
    let accessMode = flags & OpenFlags.accmode.rawValue
    var inode: Inode
    if let existing = resolution.inode {
      if creating && exclusive { throw .EEXIST }
      inode = existing
      if inode.isSymlink && flags & OpenFlags.path.rawValue == 0 {
        throw .ELOOP   // O_NOFOLLOW on a symbolic link
      }
    } else {
      guard creating else { throw .ENOENT }
      guard !resolution.trailingSlash else { throw .EISDIR }
      let permissions = mode & 0o7777 & ~Process.current.umask
      inode = try resolution.parent.create(
        resolution.name, mode: FileMode.ifreg.rawValue | permissions)
    }
    let directoryWanted = flags & OpenFlags.directory.rawValue != 0
    if directoryWanted && !inode.isDirectory { throw .ENOTDIR }
    if inode.isDirectory && flags & OpenFlags.path.rawValue == 0 &&
      (accessMode != OpenFlags.rdonly.rawValue || creating)
    {
      throw .EISDIR
    }
    let file: OpenFile
    if flags & OpenFlags.path.rawValue != 0 {
      file = InodeFile(inode: inode, flags: flags)
    } else {
      if flags & OpenFlags.trunc.rawValue != 0 && inode.isRegular &&
        accessMode != OpenFlags.rdonly.rawValue
      {
        try inode.truncate(to: 0)
      }
      file = try inode.open(flags: flags)
    }
    if let inodeFile = file as? InodeFile {
      inodeFile.path = (try? PathWalker.absolutePath(of: resolution.parent))
        .map { parentPath in
          let name = resolution.name
          if name.isEmpty || name == [UInt8(ascii: ".")] { return parentPath }
          return (parentPath == [UInt8(ascii: "/")] ? [] : parentPath)
            + [UInt8(ascii: "/")] + name
        } ?? []
    }
    let files = Process.current.files
    let fd = try files.install(file)
    files.setCloseOnExec(fd, flags & OpenFlags.cloexec.rawValue != 0)
    return Int(fd)
  }

  /// open(2) with O_TMPFILE: a regular file with no name in the
  /// directory `path` names, which linkat(2) may name later unless
  /// O_EXCL was given. Like Linux, the flags must say O_DIRECTORY and
  /// O_WRONLY or O_RDWR, and not O_CREAT (EINVAL).
  static func openUnnamed(at dirfd: Int32, path: UserAddress, flags: UInt32,
                          mode: UInt32) throws(Errno) -> Int
  {
    let accessMode = flags & OpenFlags.accmode.rawValue
    guard flags & OpenFlags.directory.rawValue != 0,
      flags & OpenFlags.creat.rawValue == 0,
      accessMode == OpenFlags.wronly.rawValue
        || accessMode == OpenFlags.rdwr.rawValue
    else { throw .EINVAL }
    let directory = try lookup(at: dirfd, path: path, follow: true)
    guard directory.isDirectory else { throw .ENOTDIR }
    let permissions = mode & 0o7777 & ~Process.current.umask
    let inode = try directory.createUnnamed(
      mode: FileMode.ifreg.rawValue | permissions)
    inode.linkable = flags & OpenFlags.excl.rawValue == 0
    let file = InodeFile(inode: inode, flags: flags
      & ~(OpenFlags.directory.rawValue | 0o2000_0000))
    // /proc/self/fd shows such a file the way Linux does.
    let place = (try? PathWalker.absolutePath(of: directory)) ?? []
    file.path = (place == [UInt8(ascii: "/")] ? [] : place)
      + Array("/#\(inode.number) (deleted)".utf8)
    let files = Process.current.files
    let fd = try files.install(file)
    files.setCloseOnExec(fd, flags & OpenFlags.cloexec.rawValue != 0)
    return Int(fd)
  }

  // MARK: stat

  static func statTarget(at dirfd: Int32, path: UserAddress, flags: Int32)
    throws(Errno) -> Stat
  {
    guard flags & ~(atSymlinkNofollow | atEmptyPath | 0x800 | 0x6000) == 0
    else { throw .EINVAL }
    if flags & atEmptyPath != 0 {
      let name = try UserMemory.readString(at: path,
                                           limit: PathWalker.maximumPath)
      if name.isEmpty {
        if dirfd == atFDCWD {
          return Process.current.workingDirectory.stat()
        }
        return try Process.current.files.get(dirfd).status()
      }
    }
    let inode = try lookup(at: dirfd, path: path,
                           follow: flags & atSymlinkNofollow == 0)
    return inode.stat()
  }

  static func writeStat(at dirfd: Int32, path: UserAddress, flags: Int32,
                        to buffer: UserAddress) throws(Errno) -> Int
  {
    let stat = try statTarget(at: dirfd, path: path, flags: flags)
    try UserMemory.writeBytes(stat.encoded(), to: buffer)
    return 0
  }

  static func statx(at dirfd: Int32, path: UserAddress, flags: Int32,
                    mask: UInt32, to buffer: UserAddress) throws(Errno) -> Int
  {
    // STATX__RESERVED must be clear.
    guard mask & 0x8000_0000 == 0 else { throw .EINVAL }
    let s = try statTarget(at: dirfd, path: path, flags: flags)
    // STATX_BASIC_STATS: everything but the birth time.
    var x = Statx(mask: StatxMask(rawValue: 0x7FF), blksize: 4096,
                  nlink: UInt32(s.nlink), uid: s.uid, gid: s.gid,
                  mode: s.mode, ino: s.ino, size: UInt64(s.size),
                  blocks: UInt64(s.blocks),
                  atime: StatxTimestamp(s.atime),
                  ctime: StatxTimestamp(s.ctime),
                  mtime: StatxTimestamp(s.mtime))
    x.rdevMajor = UInt32((s.rdev >> 8) & 0xFFF)
    x.rdevMinor = UInt32((s.rdev & 0xFF) | ((s.rdev >> 12) & 0xFFF00))
    x.devMajor = UInt32((s.dev >> 8) & 0xFFF)
    x.devMinor = UInt32((s.dev & 0xFF) | ((s.dev >> 12) & 0xFFF00))
    try UserMemory.writeBytes(x.encoded(), to: buffer)
    return 0
  }

  static func access(at dirfd: Int32, path: UserAddress, mode: Int32,
                     flags: Int32) throws(Errno) -> Int
  {
    guard mode & ~7 == 0 else { throw .EINVAL }
    guard flags & ~(atSymlinkNofollow | 0x200 | atEmptyPath) == 0 else {
      throw .EINVAL
    }
    let inode = try lookup(at: dirfd, path: path,
                           follow: flags & atSymlinkNofollow == 0,
                           allowEmpty: flags & atEmptyPath != 0)
    // Root may read and write anything; executing needs an execute bit
    // (directories can always be searched).
    if mode & 1 != 0 && !inode.isDirectory && inode.mode & 0o111 == 0 {
      throw .EACCES
    }
    return 0
  }

  // MARK: Creating and removing names

  static func mkdir(at dirfd: Int32, path: UserAddress, mode: UInt32)
    throws(Errno) -> Int
  {
    let resolution = try resolve(at: dirfd, path: path, follow: false)
    guard resolution.inode == nil else { throw .EEXIST }
    let permissions = mode & 0o7777 & ~Process.current.umask
    _ = try resolution.parent.create(
      resolution.name, mode: FileMode.ifdir.rawValue | permissions)
    return 0
  }

  /// mknod(2): regular files, FIFOs and socket nodes anywhere; a
  /// character device node only for a device the kernel provides (the
  /// node then opens that device), and only on tmpfs. Other device nodes
  /// are EPERM: nothing could open them.
  static func mknod(at dirfd: Int32, path: UserAddress, mode: UInt32,
                    device: UInt32) throws(Errno) -> Int
  {
    var type = mode & FileMode.ifmt.rawValue
    if type == 0 { type = FileMode.ifreg.rawValue }
    switch type {
    case FileMode.ifreg.rawValue, FileMode.ififo.rawValue,
      FileMode.ifsock.rawValue, FileMode.ifchr.rawValue,
      FileMode.ifblk.rawValue:
      break
    case FileMode.ifdir.rawValue:
      throw .EPERM   // mkdir(2) makes directories
    default:
      throw .EINVAL
    }
    let resolution = try resolve(at: dirfd, path: path, follow: false)
    guard resolution.inode == nil else { throw .EEXIST }
    var deviceKind: DeviceInode.Kind? = nil
    if type == FileMode.ifchr.rawValue || type == FileMode.ifblk.rawValue {
      let number = UInt64(device)
      let major = UInt64(DeviceNumber.major(of: number))
      let minor = UInt64(DeviceNumber.minor(of: number))
      deviceKind = type == FileMode.ifchr.rawValue
        ? DeviceDirectory.kind(major: major, minor: minor) : nil
      guard deviceKind != nil else {
        log.warn("mknod: no device \(major):\(minor) of that type")
        throw .EPERM
      }
    }
    let permissions = mode & 0o7777 & ~Process.current.umask
    guard let kind = deviceKind else {
      _ = try resolution.parent.create(resolution.name,
                                       mode: type | permissions)
      return 0
    }
    guard resolution.parent is TmpfsInode else {
      log.warn("mknod: device nodes live on tmpfs only")
      throw .EPERM
    }
    let number = UInt64(device)
    let node = DeviceInode(
      fileSystem: resolution.parent.fileSystem, kind: kind,
      major: UInt64(DeviceNumber.major(of: number)),
      minor: UInt64(DeviceNumber.minor(of: number)), mode: permissions)
    node.links = 0
    try resolution.parent.link(resolution.name, to: node)
    return 0
  }

  static func remove(at dirfd: Int32, path: UserAddress, directory: Bool)
    throws(Errno) -> Int
  {
    let resolution = try resolve(at: dirfd, path: path, follow: false)
    guard let inode = resolution.inode else { throw .ENOENT }
    if directory {
      if resolution.name == [UInt8(ascii: ".")] { throw .EINVAL }
      if resolution.name == [UInt8(ascii: "."), UInt8(ascii: ".")] ||
        resolution.name.isEmpty
      {
        throw .ENOTEMPTY
      }
      guard inode.isDirectory else { throw .ENOTDIR }
      guard Mounts.crossDown(inode) === inode, inode !== Mounts.root else {
        throw .EBUSY
      }
      guard try inode.entries().isEmpty else { throw .ENOTEMPTY }
    } else {
      if inode.isDirectory { throw .EISDIR }
      if resolution.trailingSlash { throw .ENOTDIR }
    }
    try resolution.parent.removeEntry(resolution.name)
    return 0
  }

  static func rename(from oldDirfd: Int32, _ oldPath: UserAddress,
                     to newDirfd: Int32, _ newPath: UserAddress, flags: UInt32)
    throws(Errno) -> Int
  {
    let noReplace: UInt32 = 1
    let exchange: UInt32 = 2
    guard flags & ~(noReplace | exchange) == 0,
      flags != noReplace | exchange
    else { throw .EINVAL }
    let source = try resolve(at: oldDirfd, path: oldPath, follow: false)
    let target = try resolve(at: newDirfd, path: newPath, follow: false)
    guard let moving = source.inode else { throw .ENOENT }
    for name in [source.name, target.name] where
      name.isEmpty || name == [UInt8(ascii: ".")] ||
      name == [UInt8(ascii: "."), UInt8(ascii: ".")]
    {
      throw .EBUSY
    }
    guard source.parent.fileSystem === target.parent.fileSystem else {
      throw .EXDEV
    }
    // A directory cannot move inside itself.
    if moving.isDirectory {
      var cursor = target.parent
      while true {
        if cursor === moving { throw .EINVAL }
        let up = PathWalker.parent(of: cursor)
        if up === cursor { break }
        cursor = up
      }
    }
    if let existing = target.inode {
      if existing === moving { return 0 }
      if flags & noReplace != 0 { throw .EEXIST }
      if flags & exchange != 0 {
        try source.parent.moveEntry(source.name, to: target.parent,
                                    as: Array("..villa-exchange".utf8))
        try target.parent.moveEntry(target.name, to: source.parent,
                                    as: source.name)
        try target.parent.moveEntry(Array("..villa-exchange".utf8),
                                    to: target.parent, as: target.name)
        return 0
      }
      if existing.isDirectory {
        guard moving.isDirectory else { throw .EISDIR }
        guard try existing.entries().isEmpty else { throw .ENOTEMPTY }
      } else if moving.isDirectory {
        throw .ENOTDIR
      }
    } else if flags & exchange != 0 {
      throw .ENOENT
    }
    try source.parent.moveEntry(source.name, to: target.parent,
                                as: target.name)
    return 0
  }

  static func link(from oldDirfd: Int32, _ oldPath: UserAddress,
                   to newDirfd: Int32, _ newPath: UserAddress, flags: Int32)
    throws(Errno) -> Int
  {
    guard flags & ~(atSymlinkFollow | atEmptyPath) == 0 else { throw .EINVAL }
    let inode = try lookup(at: oldDirfd, path: oldPath,
                           follow: flags & atSymlinkFollow != 0,
                           allowEmpty: flags & atEmptyPath != 0)
    if inode.isDirectory { throw .EPERM }
    let target = try resolve(at: newDirfd, path: newPath, follow: false)
    guard target.inode == nil else { throw .EEXIST }
    guard target.parent.fileSystem === inode.fileSystem else { throw .EXDEV }
    // A file whose last name is gone stays nameless (reached through
    // /proc/self/fd), except an O_TMPFILE file made to be linked.
    if inode.links == 0 && !inode.linkable { throw .ENOENT }
    try target.parent.link(target.name, to: inode)
    inode.linkable = false
    return 0
  }

  static func symlink(target: UserAddress, at dirfd: Int32, path: UserAddress)
    throws(Errno) -> Int
  {
    let contents = try UserMemory.readString(at: target,
                                             limit: PathWalker.maximumPath)
    guard !contents.isEmpty else { throw .ENOENT }
    let resolution = try resolve(at: dirfd, path: path, follow: false)
    guard resolution.inode == nil else { throw .EEXIST }
    _ = try resolution.parent.createSymlink(resolution.name, target: contents)
    return 0
  }

  static func readlink(at dirfd: Int32, path: UserAddress,
                       buffer: UserAddress, size: UInt64) throws(Errno) -> Int
  {
    guard Int64(bitPattern: size) > 0 else { throw .EINVAL }
    let inode = try lookup(at: dirfd, path: path, follow: false,
                           allowEmpty: true)
    guard inode.isSymlink else { throw .EINVAL }
    let target = try inode.symlinkTarget()
    let count = min(target.count, Int(min(size, 65536)))
    try UserMemory.writeBytes(Array(target[0..<count]), to: buffer)
    return count
  }

  // MARK: Attributes

  static func chmod(_ inode: Inode, _ mode: UInt32) throws(Errno) -> Int {
    inode.mode = (inode.mode & FileMode.ifmt.rawValue) | (mode & 0o7777)
    inode.changeTime = Timestamp.now
    return 0
  }

  /// -1 (as an unsigned 32-bit value) leaves an id unchanged.
  static func chown(_ inode: Inode, _ uid: UInt64, _ gid: UInt64) -> Int {
    let unchanged: UInt32 = 0xFFFF_FFFF
    let newUID = UInt32(truncatingIfNeeded: uid)
    let newGID = UInt32(truncatingIfNeeded: gid)
    if newUID != unchanged { inode.uid = newUID }
    if newGID != unchanged { inode.gid = newGID }
    inode.changeTime = Timestamp.now
    return 0
  }

  static func utimensat(at dirfd: Int32, path: UserAddress,
                        times: UserAddress, flags: Int32) throws(Errno) -> Int
  {
    guard flags & ~(atSymlinkNofollow | atEmptyPath) == 0 else {
      throw .EINVAL
    }
    let inode: Inode
    if path.isNull {
      // utimensat(fd, NULL, ...) acts on the descriptor (futimens).
      let file = try Process.current.files.get(dirfd)
      guard let fileInode = file.inode else { throw .EBADF }
      inode = fileInode
    } else {
      inode = try lookup(at: dirfd, path: path,
                         follow: flags & atSymlinkNofollow == 0,
                         allowEmpty: flags & atEmptyPath != 0)
    }
    let now = Timestamp.now
    var access = now
    var modify = now
    var changeAccess = true
    var changeModify = true
    if !times.isNull {
      let raw = try UserMemory.read((Int64, Int64, Int64, Int64).self,
                                    at: times)
      let utimeNow: Int64 = (1 << 30) - 1
      let utimeOmit: Int64 = (1 << 30) - 2
      for (seconds, nanoseconds, isAccess) in
        [(raw.0, raw.1, true), (raw.2, raw.3, false)]
      {
        if nanoseconds == utimeOmit {
          if isAccess { changeAccess = false } else { changeModify = false }
          continue
        }
        if nanoseconds == utimeNow { continue }
        guard nanoseconds >= 0 && nanoseconds < 1_000_000_000 else {
          throw .EINVAL
        }
        let stamp = Timestamp(seconds: seconds, nanoseconds: nanoseconds)
        if isAccess { access = stamp } else { modify = stamp }
      }
    }
    if changeAccess { inode.accessTime = access }
    if changeModify { inode.modifyTime = modify }
    if changeAccess || changeModify { inode.changeTime = now }
    return 0
  }

  /// struct statfs (x86_64): f_type, f_bsize, f_blocks, f_bfree, f_bavail,
  /// f_files, f_ffree (all 8 bytes), f_fsid (8), f_namelen, f_frsize,
  /// f_flags (8 each), f_spare[4]: 120 bytes.
  static func writeStatfs(_ fileSystem: FileSystem, to buffer: UserAddress)
    throws(Errno)
  {
    let (blockSize, blocks, free, files, freeFiles) = fileSystem.statistics()
    var bytes = [UInt8](repeating: 0, count: 120)
    bytes.store(fileSystem.magic, at: 0)
    bytes.store(blockSize, at: 8)
    bytes.store(blocks, at: 16)
    bytes.store(free, at: 24)
    bytes.store(free, at: 32)
    bytes.store(files, at: 40)
    bytes.store(freeFiles, at: 48)
    bytes.store(fileSystem.deviceNumber, at: 56)
    bytes.store(UInt64(PathWalker.maximumName), at: 64)
    bytes.store(blockSize, at: 72)
    bytes.store(UInt64(0x20), at: 80)   // ST_VALID
    try UserMemory.writeBytes(bytes, to: buffer)
  }
}
