// The file tree a Villa program starts with: a tmpfs root holding the
// program itself (at the path it was started as), /tmp, /dev, /proc, and
// the /etc files C libraries read (hostname, hosts, resolv.conf, passwd,
// group), each generated unless the boot bundle ships its own.

import HostLink
import LinuxABI

private let log = Logger("files")

enum RootFileSystem {
  static func build(launch: ProgramLoader.Launch,
                    bundle: BootBundleReader) throws(Errno)
  {
    let root = Tmpfs(deviceNumber: DeviceNumber.make(major: 0, minor: 1))
    Mounts.setRoot(root)
    let top = root.root!
    _ = try top.create(Array("tmp".utf8),
                       mode: FileMode.ifdir.rawValue | 0o1777)
    _ = try top.create(Array("root".utf8),
                       mode: FileMode.ifdir.rawValue | 0o700)

    let dev = try top.create(Array("dev".utf8),
                             mode: FileMode.ifdir.rawValue | 0o755)
    let devfs = Tmpfs(deviceNumber: DeviceNumber.make(major: 0, minor: 5))
    devfs.root.mode = FileMode.ifdir.rawValue | 0o755
    try DeviceDirectory.populate(devfs.root, fileSystem: devfs)
    Mounts.mount(devfs, on: dev)

    let proc = try top.create(Array("proc".utf8),
                              mode: FileMode.ifdir.rawValue | 0o555)
    Mounts.mount(Procfs(deviceNumber: DeviceNumber.make(major: 0,
                                                        minor: 4)), on: proc)

    let etc = try top.create(Array("etc".utf8),
                             mode: FileMode.ifdir.rawValue | 0o755)
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
      let file = try etc.create(Array(name.utf8),
                                mode: FileMode.ifreg.rawValue | 0o644)
      try file.write(bytes: Array(contents.utf8))
    }

    // The program, readable at the path it was started as.
    if let range = bundle.firstPayload(of: .program),
      launch.executablePath.first == UInt8(ascii: "/")
    {
      let image = UnsafeRawBufferPointer(rebasing: bundle.bytes[range])
      try place(BundleFileInode(fileSystem: root, contents: image),
                at: launch.executablePath, root: top)
    }
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

  override func read(at offset: UInt64,
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
  override func write(at offset: UInt64, from buffer: UnsafeRawBufferPointer)
    throws(Errno) -> Int
  {
    throw .ETXTBSY
  }

  override func truncate(to size: UInt64) throws(Errno) { throw .ETXTBSY }
}
