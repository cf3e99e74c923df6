// /dev: the device files every Linux program may open. Each is an inode
// whose open gives a file with the device's behaviour (null(4),
// random(4), console(4)); the rest of /dev are links into /proc/self/fd.

import LinuxABI

final class DeviceInode: Inode {
  enum Kind { case null, zero, random, console, full }
  let kind: Kind

  init(fileSystem: FileSystem, kind: Kind, major: UInt64, minor: UInt64,
       mode: UInt32 = 0o666)
  {
    self.kind = kind
    super.init(fileSystem: fileSystem, mode: FileMode.ifchr.rawValue | mode)
    rdev = DeviceNumber.make(major: UInt32(major), minor: UInt32(minor))
  }

  override func open(flags: UInt32) throws(Errno) -> OpenFile {
    let file = DeviceFile(device: self)
    file.statusFlags = flags & ~OpenFlags.cloexec.rawValue
    return file
  }

  override func truncateContents(to size: UInt64) throws(Errno) {
    // O_TRUNC on a device is ignored, as Linux does.
  }
}

final class DeviceFile: OpenFile {
  let device: DeviceInode

  init(device: DeviceInode) {
    self.device = device
    super.init()
  }

  override var inode: Inode? { device }
  override var procName: [UInt8] {
    switch device.kind {
    case .null: return Array("/dev/null".utf8)
    case .zero: return Array("/dev/zero".utf8)
    case .random: return Array("/dev/urandom".utf8)
    case .console: return Array("/dev/console".utf8)
    case .full: return Array("/dev/full".utf8)
    }
  }

  override func read(into buffer: UnsafeMutableRawBufferPointer,
                     mayBlock: Bool) throws(Errno) -> Int
  {
    switch device.kind {
    case .null, .console:
      return 0
    case .zero, .full:
      buffer.initializeMemory(as: UInt8.self, repeating: 0)
      return buffer.count
    case .random:
      Entropy.fill(buffer)
      return buffer.count
    }
  }

  override func write(_ buffer: UnsafeRawBufferPointer, mayBlock: Bool)
    throws(Errno) -> Int
  {
    switch device.kind {
    case .console:
      SerialPort.programStdout.write(buffer)
      return buffer.count
    case .full:
      throw .ENOSPC
    case .null, .zero, .random:
      return buffer.count
    }
  }

  override func read(at offset: UInt64,
                     into buffer: UnsafeMutableRawBufferPointer)
    throws(Errno) -> Int
  {
    try read(into: buffer, mayBlock: false)
  }

  override func write(at offset: UInt64, from buffer: UnsafeRawBufferPointer)
    throws(Errno) -> Int
  {
    try write(buffer, mayBlock: false)
  }

  override func seek(offset: Int64, whence: Int32) throws(Errno) -> Int64 {
    // Seeking a character device "succeeds" at position 0 on Linux.
    0
  }

  override func pollEvents() -> UInt32 {
    PollEvents.input | PollEvents.output
  }

  override func status() -> Stat { device.stat() }
}

enum DeviceDirectory {
  /// The character devices the kernel provides: name, kind, major, minor.
  static let devices: [(String, DeviceInode.Kind, UInt64, UInt64)] = [
    ("null", .null, 1, 3), ("zero", .zero, 1, 5), ("full", .full, 1, 7),
    ("random", .random, 1, 8), ("urandom", .random, 1, 9),
    ("console", .console, 5, 1), ("tty", .console, 5, 0),
  ]

  /// The kind of the character device numbered (major, minor), if the
  /// kernel provides it (mknod makes nodes for these only).
  static func kind(major: UInt64, minor: UInt64) -> DeviceInode.Kind? {
    devices.first { $0.2 == major && $0.3 == minor }?.1
  }

  /// Fills /dev.
  static func populate(_ dev: Inode, fileSystem: FileSystem) throws(Errno) {
    for (name, kind, major, minor) in devices {
      let inode = DeviceInode(fileSystem: fileSystem, kind: kind,
                              major: major, minor: minor)
      try dev.link(Array(name.utf8), to: inode)
      inode.links = 1
    }
    let links: [(String, String)] = [
      ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
      ("stderr", "/proc/self/fd/2"), ("fd", "/proc/self/fd"),
    ]
    for (name, target) in links {
      _ = try dev.createSymlink(Array(name.utf8), target: Array(target.utf8))
    }
    _ = try dev.create(Array("shm".utf8),
                       mode: FileMode.ifdir.rawValue | 0o1777)
  }
}
