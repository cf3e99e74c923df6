// The program's memory: brk(2), mmap(2), munmap(2), mprotect(2),
// mremap(2), msync(2), madvise(2). Mappings are anonymous or of regular
// files, private or shared, and backed on first touch (see AddressSpace;
// shared file pages live in the file's page cache, PageCache.swift).

import LinuxABI

private let log = Logger("memory")

enum MemorySyscalls {
  static let page: UInt64 = 4096

  static func register() {
    let d = SyscallDispatcher.self
    d.register(.brk, .implemented) { args throws(Errno) in
      Int(Process.current.addressSpace.moveBreak(to: args.a0))
    }
    d.register(.mmap, .implemented) { args throws(Errno) in
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
      guard args.a0 % page == 0, args.a2 & ~UInt64(7) == 0 else {
        throw .EINVAL
      }
      if args.a1 == 0 { return 0 }
      let end = alignUp(args.a0 &+ args.a1, page)
      guard end > args.a0, end <= AddressSpace.userLimit else {
        throw .ENOMEM
      }
      let start = args.a0
      try Process.current.addressSpace.protect(
        start: start, end: end, protection: Protection(linux: args.a2))
      return 0
    }
    d.register(.mremap, .implemented) { args throws(Errno) in
      try mremap(address: args.a0, oldLength: args.a1, newLength: args.a2,
                 flags: UInt32(truncatingIfNeeded: args.a3),
                 newAddress: args.a4)
    }
    d.register(.mincore, .implemented) { args throws(Errno) in
      let (start, end) = try pageRange(args.a0, args.a1)
      let space = Process.current.addressSpace
      guard space.isFullyMapped(start: start, end: end) else {
        throw .ENOMEM
      }
      var vector: [UInt8] = []
      var page = start
      while page < end {
        vector.append(space.pageTable.lookup(page) != nil ? 1 : 0)
        page += MemorySyscalls.page
      }
      try UserMemory.writeBytes(vector, to: args.address(args.a2))
      return 0
    }
    d.register(.msync, .implemented) { args throws(Errno) in
      let flags = args.a2
      // MS_ASYNC 1, MS_INVALIDATE 2, MS_SYNC 4; ASYNC and SYNC exclude.
      guard flags & ~UInt64(7) == 0, flags & 5 != 5 else { throw .EINVAL }
      guard args.a0 % page == 0 else { throw .EINVAL }
      let end = alignUp(args.a0 &+ args.a1, page)
      let space = Process.current.addressSpace
      guard space.isFullyMapped(start: args.a0, end: end) else {
        throw .ENOMEM
      }
      // Shared file mappings write their dirty pages back; MS_SYNC also
      // waits for the disk. MS_INVALIDATE has nothing to do, since the
      // page cache is the only copy mappings see.
      try space.writeBack(start: args.a0, end: end, durably: flags & 4 != 0)
      return 0
    }
    d.register(.madvise, .partial("DONTNEED discards; other advice is "
      + "accepted and has no effect, as Linux may")) { args throws(Errno) in
      guard args.a0 % page == 0 else { throw .EINVAL }
      let advice = args.int(args.a2)
      // The advice values Linux knows (MADV_NORMAL ... MADV_COLLAPSE).
      guard (0...25).contains(advice) && ![5, 6, 7].contains(advice) else {
        throw .EINVAL
      }
      if args.a1 == 0 { return 0 }
      let end = alignUp(args.a0 &+ args.a1, page)
      guard end > args.a0, end <= AddressSpace.userLimit else {
        throw .EINVAL
      }
      let space = Process.current.addressSpace
      guard space.isFullyMapped(start: args.a0, end: end) else {
        throw .ENOMEM
      }
      if advice == 4 {
        // MADV_DONTNEED: private anonymous pages read back as zero;
        // shared ones keep their contents (they live in the mapping).
        space.discardPages(start: args.a0, end: end)
      }
      return 0
    }
  }

  /// mremap(2): grow or shrink in place, or move (MREMAP_MAYMOVE, and
  /// MREMAP_FIXED to a given address). Moving keeps the backing frames.
  static func mremap(address: UInt64, oldLength: UInt64, newLength: UInt64,
                     flags: UInt32, newAddress: UInt64) throws(Errno) -> Int
  {
    let mayMove: UInt32 = 1
    let fixed: UInt32 = 2
    let dontUnmap: UInt32 = 4
    guard flags & ~(mayMove | fixed | dontUnmap) == 0,
      flags & fixed == 0 || flags & mayMove != 0,
      address % page == 0, newLength > 0
    else { throw .EINVAL }
    guard flags & dontUnmap == 0 else {
      log.warn("mremap: MREMAP_DONTUNMAP is not supported")
      throw .EINVAL
    }
    let oldSize = alignUp(oldLength, page)
    let newSize = alignUp(newLength, page)
    guard newSize >= newLength, oldSize > 0 else { throw .EINVAL }
    let space = Process.current.addressSpace
    guard let region = space.region(containing: address),
      space.isFullyMapped(start: address, end: address + oldSize)
    else { throw .EFAULT }
    // The vDSO and vvar pages cannot grow, as on Linux (VM_DONTEXPAND).
    if !region.kind.ownsFrames && newSize > oldSize { throw .EFAULT }

    if flags & fixed == 0 {
      if newSize <= oldSize {
        space.unmap(start: address + newSize, end: address + oldSize)
        return Int(address)
      }
      let growEnd = address + newSize
      if growEnd <= AddressSpace.mmapTop &&
        !space.overlaps(start: address + oldSize, end: growEnd)
      {
        // The new part continues the region (and its file offsets).
        var grown = region.slice(region.start, region.end)
        grown.fileOffset = region.file == nil
          ? 0 : region.fileOffset(of: address + oldSize)
        grown.start = address + oldSize
        grown.end = growEnd
        space.map(grown)
        return Int(address)
      }
      guard flags & mayMove != 0 else { throw .ENOMEM }
    }
    var target: UInt64
    if flags & fixed != 0 {
      guard newAddress % page == 0 else { throw .EINVAL }
      let targetEnd = newAddress &+ newSize
      guard targetEnd > newAddress, targetEnd <= AddressSpace.mmapTop
      else { throw .EINVAL }
      // The ranges may not overlap.
      guard targetEnd <= address || newAddress >= address + oldSize else {
        throw .EINVAL
      }
      target = newAddress
    } else {
      guard let found = space.findFree(length: newSize) else {
        throw .ENOMEM
      }
      target = found
    }
    space.move(from: address, oldLength: oldSize, to: target,
               newLength: newSize, like: region)
    return Int(target)
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
    guard offset % page == 0 else { throw .EINVAL }
    // A length that cannot be rounded to pages cannot be mapped.
    guard length <= AddressSpace.userLimit else { throw .ENOMEM }
    // MAP_SHARED_VALIDATE checks flags for files; anonymous memory must
    // say plain MAP_SHARED or MAP_PRIVATE.
    if anonymous && mapType == 0x03 { throw .EINVAL }
    let shared = mapType != 0x02
    var backing: InodeFile? = nil
    if !anonymous {
      backing = try mappableFile(fd, shared: shared, protection: protection)
    }
    // MAP_SHARED and MAP_PRIVATE anonymous memory behave alike in a
    // process that cannot fork: no other process could see the pages.
    let size = alignUp(length, page)
    guard size >= length, size < AddressSpace.userLimit else {
      throw .ENOMEM
    }
    let space = Process.current.addressSpace
    var start: UInt64
    if fixed || fixedNoReplace {
      guard address % page == 0 else { throw .EINVAL }
      guard address &+ size <= AddressSpace.userLimit,
        address &+ size > address
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
    var region = Region(start: start, end: start + size, protection: prot,
                        kind: .anonymous, shared: shared)
    if let backing {
      region.file = backing.node
      region.fileOffset = offset
      region.fileName = backing.path
      region.writeAllowed = !shared || backing.canWrite
    }
    space.map(region)
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

  /// The open file behind a file mapping, checked in do_mmap's order:
  /// opened for reading, and for a writable shared mapping also for
  /// writing (EACCES); then a regular file, since nothing else here has
  /// pages to map (ENODEV: directories, pipes, sockets, devices).
  static func mappableFile(_ fd: Int32, shared: Bool, protection: UInt64)
    throws(Errno) -> InodeFile
  {
    let file = try Process.current.files.get(fd)
    let access = file.statusFlags & OpenFlags.accmode.rawValue
    if file.statusFlags & OpenFlags.path.rawValue != 0 { throw .EBADF }
    if shared && protection & 2 != 0 &&
      access == OpenFlags.rdonly.rawValue
    {
      throw .EACCES
    }
    guard access != OpenFlags.wronly.rawValue else { throw .EACCES }
    guard let inodeFile = file as? InodeFile, inodeFile.node.isRegular
    else { throw .ENODEV }
    return inodeFile
  }
}
