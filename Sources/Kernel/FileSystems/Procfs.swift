// /proc: files generated from the kernel's state when they are opened, as
// proc(5) describes them, for the one process Villa runs (pid 1):
// /proc/self (a link to 1), /proc/1/{exe,cwd,cmdline,comm,maps,status,fd/},
// /proc/cpuinfo, /proc/meminfo, /proc/uptime, /proc/version, /proc/mounts.
// A file's contents are a snapshot taken at open.

import LinuxABI

final class Procfs: FileSystem {
  init(deviceNumber: UInt64) {
    super.init(name: "proc", deviceNumber: deviceNumber, magic: 0x9FA0)
    root = ProcDirectory(fileSystem: self, listing: { fs in
      [
        ("self", ProcSymlink(fileSystem: fs) { Array("1".utf8) }),
        ("1", Procfs.processDirectory(fs)),
        ("cpuinfo", ProcFile(fileSystem: fs, generate: Procfs.cpuinfo)),
        ("meminfo", ProcFile(fileSystem: fs, generate: Procfs.meminfo)),
        ("uptime", ProcFile(fileSystem: fs, generate: Procfs.uptime)),
        ("version", ProcFile(fileSystem: fs) {
          Array(("Linux version \(SystemSyscalls.release) (villa) "
            + "\(SystemSyscalls.version)\n").utf8)
        }),
        ("mounts", ProcFile(fileSystem: fs, generate: Procfs.mounts)),
      ]
    })
  }

  static func processDirectory(_ fs: FileSystem) -> Inode {
    ProcDirectory(fileSystem: fs, listing: { fs in
      [
        ("exe", ProcSymlink(fileSystem: fs) {
          Process.current.executablePath
        }),
        ("cwd", ProcSymlink(fileSystem: fs) {
          (try? PathWalker.absolutePath(of: Process.current.workingDirectory))
            ?? Array("/".utf8)
        }),
        ("root", ProcSymlink(fileSystem: fs) { Array("/".utf8) }),
        ("cmdline", ProcFile(fileSystem: fs) {
          var bytes: [UInt8] = []
          for argument in Process.current.arguments { bytes += argument + [0] }
          return bytes
        }),
        ("environ", ProcFile(fileSystem: fs) {
          var bytes: [UInt8] = []
          for entry in Process.current.environment { bytes += entry + [0] }
          return bytes
        }),
        ("comm", ProcFile(fileSystem: fs) {
          (Process.current.threads.first?.name ?? []) + [10]
        }),
        ("maps", ProcFile(fileSystem: fs, generate: Procfs.maps)),
        ("status", ProcFile(fileSystem: fs, generate: Procfs.status)),
        ("mounts", ProcFile(fileSystem: fs, generate: Procfs.mounts)),
        ("fd", ProcDirectory(fileSystem: fs, listing: { fs in
          let files = Process.current.files
          var entries: [(String, Inode)] = []
          for fd in files.openDescriptors {
            guard let file = try? files.get(fd) else { continue }
            entries.append(("\(fd)", ProcSymlink(
              fileSystem: fs, linked: (file as? InodeFile)?.node
            ) {
              file.procName
            }))
          }
          return entries
        })),
      ]
    })
  }

  static func cpuinfo() -> [UInt8] {
    let mhz = Clock.tscHz / 1_000_000
    let text = """
      processor\t: 0
      vendor_id\t: \(CPUFeatures.vendor)
      model name\t: \(CPUFeatures.brand)
      cpu MHz\t\t: \(mhz).000
      cache size\t: 512 KB
      physical id\t: 0
      siblings\t: 1
      core id\t\t: 0
      cpu cores\t: 1
      fpu\t\t: yes
      flags\t\t: \(CPUFeatures.flagNames)
      bogomips\t: \(mhz * 2).00
      clflush size\t: 64
      cache_alignment\t: 64
      address sizes\t: 40 bits physical, 48 bits virtual


      """
    return Array(text.utf8)
  }

  static func meminfo() -> [UInt8] {
    let total = FrameAllocator.totalFrames * 4
    let free = (FrameAllocator.totalFrames - FrameAllocator.usedFrames) * 4
    func line(_ name: String, _ kb: UInt64) -> String {
      let number = String(kb)
      let padding = String(repeating: " ",
                           count: max(1, 16 - name.count - number.count))
      return "\(name):\(padding)\(number) kB\n"
    }
    return Array((line("MemTotal", total) + line("MemFree", free)
      + line("MemAvailable", free) + line("Buffers", 0)
      + line("Cached", 0) + line("SwapTotal", 0) + line("SwapFree", 0)).utf8)
  }

  static func uptime() -> [UInt8] {
    func seconds(_ ns: UInt64) -> String {
      let hundredths = String(ns / 10_000_000 % 100)
      return "\(ns / 1_000_000_000)."
        + (hundredths.count < 2 ? "0" : "") + hundredths
    }
    let up = seconds(Clock.monotonicNanoseconds())
    let idle = seconds(Scheduler.idleNanoseconds)
    return Array("\(up) \(idle)\n".utf8)
  }

  static func mounts() -> [UInt8] {
    var text = "rootfs / tmpfs rw 0 0\n"
    for (mountPoint, fileSystem) in Mounts.all {
      let path = (try? PathWalker.absolutePath(of: mountPoint))
        .map { String(decoding: $0, as: UTF8.self) } ?? "?"
      text += "\(fileSystem.name) \(path) \(fileSystem.name) rw 0 0\n"
    }
    return Array(text.utf8)
  }

  static func maps() -> [UInt8] {
    let process = Process.current
    var text = ""
    for region in process.addressSpace.regions {
      let p = region.protection
      let permissions = (p.contains(.read) ? "r" : "-")
        + (p.contains(.write) ? "w" : "-")
        + (p.contains(.execute) ? "x" : "-") + (region.shared ? "s" : "p")
      var name = ""
      switch region.kind {
      case .image: name = String(decoding: process.executablePath, as: UTF8.self)
      case .stack: name = "[stack]"
      case .heap: name = "[heap]"
      case .vdso: name = "[vdso]"
      case .vvar: name = "[vvar]"
      case .anonymous:
        name = String(decoding: region.fileName, as: UTF8.self)
      }
      // A file mapping shows its offset, inode number and the path it
      // was opened by.
      let offset = region.file == nil ? 0 : region.fileOffset
      let inode = region.file?.number ?? 0
      let line = "\(hexDigits(region.start))-\(hexDigits(region.end)) "
        + "\(permissions) \(hexDigits(offset)) 00:00 \(inode)"
      text += name.isEmpty ? line + "\n"
        : line + String(repeating: " ", count: max(1, 73 - line.count))
          + name + "\n"
    }
    return Array(text.utf8)
  }

  static func status() -> [UInt8] {
    let process = Process.current
    let name = String(decoding: process.threads.first?.name ?? [],
                      as: UTF8.self)
    let text = """
      Name:\t\(name)
      State:\tR (running)
      Tgid:\t1
      Pid:\t1
      PPid:\t0
      Uid:\t0\t0\t0\t0
      Gid:\t0\t0\t0\t0
      Threads:\t\(process.liveThreads)

      """
    return Array(text.utf8)
  }

  static func hexDigits(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
  }
}

/// A /proc directory whose entries are computed at each lookup.
final class ProcDirectory: Inode {
  private let listing: (FileSystem) -> [(String, Inode)]
  private var parentDirectory: Inode? = nil

  init(fileSystem: FileSystem,
       listing: @escaping (FileSystem) -> [(String, Inode)])
  {
    self.listing = listing
    super.init(fileSystem: fileSystem,
               mode: FileMode.ifdir.rawValue | 0o555)
  }

  override var parent: Inode? { parentDirectory ?? self }

  private func children() -> [(String, Inode)] {
    let list = listing(fileSystem)
    for (_, child) in list {
      if let directory = child as? ProcDirectory {
        directory.parentDirectory = self
      }
    }
    return list
  }

  override func lookup(_ name: [UInt8]) throws(Errno) -> Inode? {
    children().first { Array($0.0.utf8) == name }?.1
  }

  override func entries() throws(Errno) -> [DirectoryEntry] {
    children().map {
      DirectoryEntry(name: Array($0.0.utf8), inode: $0.1.number,
                     type: $0.1.directoryEntryType)
    }
  }

  override func create(_ name: [UInt8], mode: UInt32) throws(Errno) -> Inode {
    throw .EACCES
  }
}

final class ProcSymlink: Inode {
  private let target: () -> [UInt8]
  /// The file a /proc/self/fd link stands for, reached directly.
  private let linked: Inode?

  init(fileSystem: FileSystem, linked: Inode? = nil,
       target: @escaping () -> [UInt8])
  {
    self.target = target
    self.linked = linked
    super.init(fileSystem: fileSystem, mode: FileMode.iflnk.rawValue | 0o777)
  }

  override var magicTarget: Inode? { linked }

  override var size: UInt64 { UInt64(target().count) }

  override func symlinkTarget() throws(Errno) -> [UInt8] { target() }
}

final class ProcFile: Inode {
  private let generate: () -> [UInt8]

  init(fileSystem: FileSystem, generate: @escaping () -> [UInt8]) {
    self.generate = generate
    super.init(fileSystem: fileSystem, mode: FileMode.ifreg.rawValue | 0o444)
  }

  /// Like Linux, /proc files report size 0; their contents are read.
  override var size: UInt64 { 0 }

  override func open(flags: UInt32) throws(Errno) -> OpenFile {
    guard flags & OpenFlags.accmode.rawValue == OpenFlags.rdonly.rawValue
    else { throw .EACCES }
    let file = InodeFile(inode: SnapshotInode(source: self,
                                              contents: generate()),
                         flags: flags)
    return file
  }
}

/// The contents of a /proc file as they were when it was opened.
final class SnapshotInode: Inode {
  private let contents: [UInt8]
  private let source: Inode

  init(source: Inode, contents: [UInt8]) {
    self.contents = contents
    self.source = source
    super.init(fileSystem: source.fileSystem, mode: source.mode)
  }

  override var size: UInt64 { 0 }

  override func readContents(at offset: UInt64,
                             into buffer: UnsafeMutableRawBufferPointer)
    throws(Errno) -> Int
  {
    guard offset < UInt64(contents.count) else { return 0 }
    let n = min(buffer.count, contents.count - Int(offset))
    for i in 0..<n { buffer[i] = contents[Int(offset) + i] }
    return n
  }

  override func writeContents(at offset: UInt64,
                              from buffer: UnsafeRawBufferPointer)
    throws(Errno) -> Int
  {
    throw .EBADF
  }

  override func stat() -> Stat {
    var s = source.stat()
    s.size = 0
    return s
  }
}
