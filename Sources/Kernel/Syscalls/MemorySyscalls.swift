// The program's memory: brk(2), mmap(2), munmap(2), mprotect(2),
// madvise(2). Anonymous private mappings only until files exist; mappings
// are backed on first touch (see AddressSpace).

import LinuxABI

private let log = Logger("memory")

enum MemorySyscalls {
  static let page: UInt64 = 4096

  static func register() {
    let d = SyscallDispatcher.self
    d.register(.brk, .implemented) { args throws(Errno) in
      Int(Process.current.addressSpace.moveBreak(to: args.a0))
    }
    d.register(.mmap, .partial("anonymous private mappings only")) {
      args throws(Errno) in
      try mmap(address: args.a0, length: args.a1, protection: args.a2,
               flags: UInt32(truncatingIfNeeded: args.a3),
               fd: args.int(args.a4), offset: args.a5)
    }
    d.register(.munmap, .implemented) { args throws(Errno) in
      let (start, end) = try pageRange(args.a0, args.a1)
      Process.current.addressSpace.unmap(start: start, end: end)
      return 0
    }
    d.register(.mprotect, .implemented) { args throws(Errno) in
      let (start, end) = try pageRange(args.a0, args.a1)
      guard args.a2 & ~UInt64(7) == 0 else { throw .EINVAL }
      try Process.current.addressSpace.protect(
        start: start, end: end, protection: Protection(linux: args.a2))
      return 0
    }
    d.register(.madvise, .partial("advice other than DONTNEED is accepted "
      + "and ignored, as Linux may")) { args throws(Errno) in
      let (start, end) = try pageRange(args.a0, args.a1)
      // MADV_DONTNEED: private anonymous pages read back as zero.
      if args.a2 == 4 {
        let space = Process.current.addressSpace
        guard space.isFullyMapped(start: start, end: end) else {
          throw .ENOMEM
        }
        space.discardPages(start: start, end: end)
      }
      return 0
    }
  }

  /// Checks a page-aligned address and rounds the length up to pages.
  static func pageRange(_ address: UInt64, _ length: UInt64)
    throws(Errno) -> (UInt64, UInt64)
  {
    guard address % page == 0, length > 0 else { throw .EINVAL }
    let end = alignUp(address &+ length, page)
    guard end > address, end <= AddressSpace.userLimit else {
      throw .EINVAL
    }
    return (address, end)
  }

  static func mmap(address: UInt64, length: UInt64, protection: UInt64,
                   flags: UInt32, fd: Int32, offset: UInt64)
    throws(Errno) -> Int
  {
    let mapType = flags & 0x0F
    let fixed = flags & 0x10 != 0
    let fixedNoReplace = flags & 0x10_0000 != 0
    let anonymous = flags & 0x20 != 0
    guard length > 0, protection & ~UInt64(7) == 0 else { throw .EINVAL }
    guard mapType == 0x01 || mapType == 0x02 || mapType == 0x03 else {
      throw .EINVAL
    }
    guard anonymous else {
      // TODO(files): file-backed mappings arrive with the VFS.
      throw .ENODEV
    }
    guard mapType == 0x02 else {
      // TODO(memory): MAP_SHARED anonymous memory (needs fork to matter).
      log.warn("mmap: MAP_SHARED is not supported")
      throw .EINVAL
    }
    let size = alignUp(length, page)
    guard size >= length, size < AddressSpace.userLimit else {
      throw .ENOMEM
    }
    let space = Process.current.addressSpace
    var start: UInt64
    if fixed || fixedNoReplace {
      guard address % page == 0 else { throw .EINVAL }
      guard address &+ size <= AddressSpace.mmapTop, address &+ size > address
      else { throw .ENOMEM }
      if fixedNoReplace && !fixed {
        for region in space.regions
        where region.start < address + size && region.end > address {
          throw .EEXIST
        }
      }
      start = address
    } else if address != 0, address % page == 0,
      address &+ size <= AddressSpace.mmapTop,
      address >= AddressSpace.mmapMinimum,
      !space.overlaps(start: address, end: address + size)
    {
      // A free hint is honoured, as Linux does.
      start = address
    } else {
      guard let found = space.findFree(length: size) else { throw .ENOMEM }
      start = found
    }
    let prot = Protection(linux: protection)
    space.map(start: start, end: start + size, protection: prot,
              kind: .anonymous)
    // MAP_POPULATE backs everything now instead of on first touch.
    if flags & 0x8000 != 0 && !prot.isEmpty {
      var page = start
      while page < start + size {
        _ = space.kernelPointer(toPage: page)
        page += MemorySyscalls.page
      }
    }
    return Int(start)
  }
}
