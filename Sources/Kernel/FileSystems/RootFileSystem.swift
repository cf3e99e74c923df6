// The file tree a Villa program starts with. The root is the persistent
// filesystem on the first disk when there is one (a `villa` image), and a
// tmpfs otherwise, holding the program itself at the path it was started
// as. Either way /tmp is a tmpfs, /dev and /proc are mounted, and the /etc
// files C libraries read (hostname, hosts, resolv.conf, passwd, group)
// are generated unless the root already has them.

import HostLink
import LinuxABI

private let log = Logger("files")

enum RootFileSystem {
  /// Builds the tree. Returns the program's bytes when they come from the
  /// image: read before /tmp is mounted over the image's own /tmp.
  static func build(launch: ProgramLoader.Launch,
                    bundle: BootBundleReader) throws(Errno)
    -> UnsafeRawBufferPointer?
  {
    var persistent: PersistentFileSystem? = nil
    if let disk = Devices.disks.first {
      persistent = PersistentFileSystem.mount(
        disk: disk, readOnly: launch.options.contains(Array("ro".utf8)))
      if persistent == nil {
        throw .EIO
      }
    }
    let root: FileSystem = persistent
      ?? Tmpfs(deviceNumber: DeviceNumber.make(major: 0, minor: 1))
    Mounts.setRoot(root)
    let top = root.root!
    var programFromImage: UnsafeRawBufferPointer? = nil
    if persistent != nil && bundle.firstPayload(of: .program) == nil {
      programFromImage = try readFile(launch.executablePath)
    }

    let tmp = try directory("tmp", in: top, mode: 0o1777)
    let tmpfs = Tmpfs(deviceNumber: DeviceNumber.make(major: 0, minor: 2))
    tmpfs.root.mode = FileMode.ifdir.rawValue | 0o1777
    for option in launch.options {
      let text = String(decoding: option, as: UTF8.self)
      if text.hasPrefix("tmp-size="), let size = UInt64(text.dropFirst(9)) {
        tmpfs.limit = size
      }
    }
    Mounts.mount(tmpfs, on: tmp)
    _ = try directory("root", in: top, mode: 0o700)

    let dev = try directory("dev", in: top, mode: 0o755)
    let devfs = Tmpfs(deviceNumber: DeviceNumber.make(major: 0, minor: 5))
    devfs.root.mode = FileMode.ifdir.rawValue | 0o755
    try DeviceDirectory.populate(devfs.root, fileSystem: devfs)
    Mounts.mount(devfs, on: dev)

    let proc = try directory("proc", in: top, mode: 0o555)
    Mounts.mount(Procfs(deviceNumber: DeviceNumber.make(major: 0,
                                                        minor: 4)), on: proc)

    let etc = try directory("etc", in: top, mode: 0o755)
    let hostname = String(decoding: launch.hostname, as: UTF8.self)
    let generated: [(String, String)] = [
      ("hostname", hostname + "\n"),
      ("hosts", "127.0.0.1\tlocalhost\n127.0.1.1\t\(hostname)\n"
        + "::1\tlocalhost ip6-localhost ip6-loopback\n"),
      // From the DHCP lease, which boot waited for.
      ("resolv.conf", NetworkService.resolverConfiguration),
      ("passwd", "root:x:0:0:root:/root:/bin/sh\n"),
      ("group", "root:x:0:\n"),
      ("nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n"),
    ]
    for (name, contents) in generated {
      // What the image ships wins; a read-only root keeps its own.
      if (try etc.lookup(Array(name.utf8))) != nil { continue }
      guard let file = try? etc.create(Array(name.utf8),
                                       mode: FileMode.ifreg.rawValue | 0o644)
      else { continue }
      try file.write(bytes: Array(contents.utf8))
    }

    // The program, readable at the path it was started as (an image
    // already holds it there).
    if persistent == nil, let range = bundle.firstPayload(of: .program),
      launch.executablePath.first == UInt8(ascii: "/")
    {
      let image = UnsafeRawBufferPointer(rebasing: bundle.bytes[range])
      try place(BundleFileInode(fileSystem: root, contents: image),
                at: launch.executablePath, root: top)
    }
    return programFromImage
  }

  /// A whole file, in kernel memory that lives as long as the kernel.
  static func readFile(_ path: [UInt8]) throws(Errno)
    -> UnsafeRawBufferPointer
  {
    let found = try PathWalker.resolve(path, from: Mounts.root,
                                       followLast: true)
    guard let inode = found.inode else { throw .ENOENT }
    guard inode.isRegular else { throw .EACCES }
    let size = Int(inode.size)
    let buffer = UnsafeMutableRawBufferPointer.allocate(
      byteCount: max(size, 1), alignment: 4096)
    var done = 0
    while done < size {
      let n = try inode.read(at: UInt64(done), into:
        UnsafeMutableRawBufferPointer(rebasing: buffer[done..<size]))
      if n == 0 { break }
      done += n
    }
    return UnsafeRawBufferPointer(rebasing: buffer[0..<done])
  }

  /// The directory `name` in `parent`, made if missing.
  static func directory(_ name: String, in parent: Inode, mode: UInt32)
    throws(Errno) -> Inode
  {
    if let found = try parent.lookup(Array(name.utf8)) { return found }
    return try parent.create(Array(name.utf8),
                             mode: FileMode.ifdir.rawValue | mode)
  }

  /// Links `inode` at an absolute path, creating directories on the way.
  static func place(_ inode: Inode, at path: [UInt8], root: Inode)
    throws(Errno)
  {
    let parts = path.split(separator: UInt8(ascii: "/")).map { Array($0) }
    guard let name = parts.last else { return }
    var directory = root
    for part in parts.dropLast() {
      if let existing = try directory.lookup(part) {
        directory = Mounts.crossDown(existing)
      } else {
        directory = try directory.create(part,
                                         mode: FileMode.ifdir.rawValue | 0o755)
      }
    }
    if (try directory.lookup(name)) != nil { try directory.removeEntry(name) }
    try directory.link(name, to: inode)
    inode.links = 1
  }
}

/// A read-only file whose bytes stay where the boot bundle put them.
final class BundleFileInode: Inode {
  private let contents: UnsafeRawBufferPointer

  init(fileSystem: FileSystem, contents: UnsafeRawBufferPointer) {
    self.contents = contents
    super.init(fileSystem: fileSystem, mode: FileMode.ifreg.rawValue | 0o755)
  }

  override var size: UInt64 { UInt64(contents.count) }

  override func readContents(at offset: UInt64,
                             into buffer: UnsafeMutableRawBufferPointer)
    throws(Errno) -> Int
  {
    guard offset < UInt64(contents.count) else { return 0 }
    let n = min(buffer.count, contents.count - Int(offset))
    buffer.baseAddress!.copyMemory(from: contents.baseAddress! + Int(offset),
                                   byteCount: n)
    return n
  }

  /// The running program's image cannot be written (ETXTBSY, as Linux).
  override func writeContents(at offset: UInt64,
                              from buffer: UnsafeRawBufferPointer)
    throws(Errno) -> Int
  {
    throw .ETXTBSY
  }

  override func truncateContents(to size: UInt64) throws(Errno) {
    throw .ETXTBSY
  }
}
