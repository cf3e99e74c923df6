// A process's user address space: its page tables and the list of regions
// (VMAs) that say what may be mapped where, with which protection.
//
// Pages are backed on first touch (demand paging): mmap and brk only record
// a region; the page-fault handler finds the region, checks the access
// against its protection and maps a zeroed frame. A fault outside every
// region, or one the protection forbids, is the program's fault (SIGSEGV).
// A frame belongs to exactly one page-table entry and unmapping frees
// it, except in shared file mappings: their frames belong to the file's
// page cache (FileSystems/PageCache.swift), which several mappings may
// map; unmapping them collects their dirty bits into the cache instead.
// Private file mappings copy each page from the file at first touch.
// A touch of a file mapping past the end of the file is SIGBUS.
//
// Layout: programs load where their ELF says (static PIE at pieBase), the
// stack ends at stackTop, and mmap places regions downward from below the
// stack. Everything stays under userLimit, where the kernel's direct map
// begins.

import Arch
import LinuxABI

private let log = Logger("memory")

struct Protection: OptionSet {
  var rawValue: UInt8
  static let read = Protection(rawValue: 1)
  static let write = Protection(rawValue: 2)
  static let execute = Protection(rawValue: 4)

  init(rawValue: UInt8) { self.rawValue = rawValue }

  init(linux prot: UInt64) {
    var p: Protection = []
    if prot & 1 != 0 { p.insert(.read) }
    if prot & 2 != 0 { p.insert(.write) }
    if prot & 4 != 0 { p.insert(.execute) }
    self = p
  }

  /// Leaf page flags. x86 cannot map write-only or execute-only pages;
  /// like Linux, such pages are also readable.
  var pageFlags: PageFlags {
    var flags: PageFlags = [.present, .user]
    if contains(.write) { flags.insert(.writable) }
    if !contains(.execute) { flags.insert(.noExecute) }
    return flags
  }
}

struct Region {
  /// vdso and vvar map the kernel's own frames (Process/VDSO.swift),
  /// shared by every address space and never freed by one.
  enum Kind {
    case anonymous, image, stack, heap, vdso, vvar

    var ownsFrames: Bool { self != .vdso && self != .vvar }
  }
  var start: UInt64
  var end: UInt64
  var protection: Protection
  var kind: Kind
  /// MAP_SHARED: madvise(MADV_DONTNEED) keeps the contents.
  var shared = false
  /// A file mapping's file, and the file offset that `start` maps.
  var file: Inode? = nil
  var fileOffset: UInt64 = 0
  /// The path the file was opened by, for /proc/self/maps.
  var fileName: [UInt8] = []
  /// Whether mprotect may add PROT_WRITE: not to a shared mapping of a
  /// file opened without write access.
  var writeAllowed = true

  var isSharedFile: Bool { shared && file != nil }

  func fileOffset(of address: UInt64) -> UInt64 {
    fileOffset + (address - start)
  }

  /// The part of this region over [from, to), keeping the file offsets.
  func slice(_ from: UInt64, _ to: UInt64) -> Region {
    var part = self
    part.start = from
    part.end = to
    if file != nil { part.fileOffset = fileOffset(of: from) }
    return part
  }
}

/// What the page-fault handler made of a fault in user space.
enum FaultResult {
  case resolved
  /// No region allows the access: SIGSEGV.
  case invalid
  /// A file mapping's page past the end of the file: SIGBUS.
  case beyondEndOfFile
}

final class AddressSpace {
  static let pageSize: UInt64 = 4096
  static let userLimit: UInt64 = 0x7F00_0000_0000
  static let stackTop: UInt64 = 0x7EFF_FFFF_F000
  static let stackSize: UInt64 = 8 << 20
  static let pieBase: UInt64 = 0x5555_5555_4000
  /// mmap searches downward from here, leaving a guard gap under the stack.
  static let mmapTop: UInt64 = stackTop - stackSize - (1 << 30)

  let pageTable: PageTable
  /// Sorted by start; never overlapping.
  private(set) var regions: [Region] = []
  private(set) var breakStart: UInt64 = 0
  private(set) var programBreak: UInt64 = 0
  /// The files some region maps; each holds one open reference to its
  /// inode, as an open file would, so it outlives its descriptors.
  private var mappedFiles: [Inode] = []

  init?() {
    guard let table = PageTable.create() else { return nil }
    pageTable = table
  }

  deinit {
    unmap(start: 0, end: AddressSpace.userLimit)
    pageTable.destroy()
  }

  // MARK: Regions

  func region(containing address: UInt64) -> Region? {
    for region in regions where address >= region.start {
      if address < region.end { return region }
    }
    return nil
  }

  /// Adds a region over [start, end), replacing whatever was there.
  func map(start: UInt64, end: UInt64, protection: Protection,
           kind: Region.Kind, shared: Bool = false)
  {
    map(Region(start: start, end: end, protection: protection, kind: kind,
               shared: shared))
  }

  /// Adds `region`, replacing whatever was there; a file region takes a
  /// reference to its file and, if shared, joins its page cache.
  func map(_ region: Region) {
    unmap(start: region.start, end: region.end)
    if let file = region.file {
      if !mappedFiles.contains(where: { $0 === file }) {
        mappedFiles.append(file)
        file.openCount += 1
      }
      if region.shared {
        let cache = file.pageCache ?? PageCache()
        file.pageCache = cache
        cache.addMapper(self)
      }
    }
    let index = regions.firstIndex { $0.start > region.start }
      ?? regions.count
    regions.insert(region, at: index)
  }

  /// Removes [start, end) from every region, freeing backed pages.
  func unmap(start: UInt64, end: UInt64) {
    var kept: [Region] = []
    for region in regions {
      if region.end <= start || region.start >= end {
        kept.append(region)
        continue
      }
      if region.start < start {
        kept.append(region.slice(region.start, start))
      }
      if region.end > end {
        kept.append(region.slice(end, region.end))
      }
      releasePages(of: region, start: max(region.start, start),
                   end: min(region.end, end))
    }
    regions = kept
    releaseUnmappedFiles()
  }

  /// Drops the reference of each file no region maps any more. The last
  /// shared mapping of a file writes its dirty pages back and frees its
  /// page cache.
  private func releaseUnmappedFiles() {
    var still: [Inode] = []
    for file in mappedFiles {
      if regions.contains(where: { $0.file === file }) {
        still.append(file)
        continue
      }
      if let cache = file.pageCache, cache.removeMapper(self) {
        do throws(Errno) {
          try cache.writeBack(file)
        } catch {
          log.error("writing a shared mapping back failed: \(error.name)")
        }
        cache.release()
        file.pageCache = nil
      }
      file.openCount -= 1
      if file.openCount == 0 { file.lastOpenClosed() }
    }
    mappedFiles = still
  }

  /// Changes the protection of [start, end). Fails with ENOMEM, as Linux
  /// does, when part of the range is not mapped.
  func protect(start: UInt64, end: UInt64, protection: Protection)
    throws(Errno)
  {
    guard isFullyMapped(start: start, end: end) else { throw .ENOMEM }
    // TODO(mm): Linux lets the vDSO's text become writable by copying it
    // on write; here the kernel's shared frames stay read-only. A shared
    // mapping of a file opened read-only can never be written either.
    if protection.contains(.write) {
      for region in regions where region.start < end && region.end > start {
        if !region.kind.ownsFrames || !region.writeAllowed { throw .EACCES }
      }
    }
    var updated: [Region] = []
    for region in regions {
      if region.end <= start || region.start >= end {
        updated.append(region)
        continue
      }
      if region.start < start {
        updated.append(region.slice(region.start, start))
      }
      var middle = region.slice(max(region.start, start),
                                min(region.end, end))
      middle.protection = protection
      updated.append(middle)
      if region.end > end {
        updated.append(region.slice(end, region.end))
      }
      var page = middle.start
      while page < middle.end {
        // Changing the flags clears the dirty bit; keep what it said.
        if middle.isSharedFile { collectDirtyPage(page, of: middle) }
        pageTable.protect(page, flags: protection.pageFlags)
        page += AddressSpace.pageSize
      }
    }
    regions = updated
  }

  func isFullyMapped(start: UInt64, end: UInt64) -> Bool {
    var cursor = start
    for region in regions where region.end > cursor {
      if region.start > cursor { return false }
      cursor = region.end
      if cursor >= end { return true }
    }
    return cursor >= end
  }

  func overlaps(start: UInt64, end: UInt64) -> Bool {
    regions.contains { $0.start < end && $0.end > start }
  }

  /// Moves the pages of [from, from + oldLength) to `to`, keeping their
  /// frames, makes [to, to + newLength) one region, and unmaps the old
  /// range (mremap).
  func move(from: UInt64, oldLength: UInt64, to: UInt64, newLength: UInt64,
            like region: Region)
  {
    var moved = region.slice(from, from + oldLength)
    moved.start = to
    moved.end = to + newLength
    map(moved)
    var offset: UInt64 = 0
    while offset < min(oldLength, newLength) {
      if region.isSharedFile { collectDirtyPage(from + offset, of: region) }
      if let frame = pageTable.unmap(from + offset) {
        _ = pageTable.map(to + offset, to: frame,
                          flags: region.protection.pageFlags)
      }
      offset += AddressSpace.pageSize
    }
    unmap(start: from, end: from + oldLength)
  }

  /// Drops the backing of [start, end) but keeps the regions, so the
  /// pages read back as zeroes (madvise MADV_DONTNEED).
  func discardPages(start: UInt64, end: UInt64) {
    for region in regions where !region.shared && region.kind.ownsFrames &&
      region.end > start && region.start < end
    {
      releasePages(of: region, start: max(start, region.start),
                   end: min(end, region.end))
    }
  }

  /// The lowest address mmap may hand out (Linux's mmap_min_addr).
  static let mmapMinimum: UInt64 = 0x1_0000

  /// The highest free range of `length` bytes that ends at or below
  /// `below`.
  func findFree(length: UInt64, below: UInt64 = AddressSpace.mmapTop)
    -> UInt64?
  {
    var gapEnd = below
    for region in regions.reversed() where region.start < gapEnd {
      if region.end <= gapEnd && gapEnd - region.end >= length {
        return gapEnd - length
      }
      gapEnd = region.start
    }
    return gapEnd >= AddressSpace.mmapMinimum + length
      ? gapEnd - length : nil
  }

  // MARK: Faults and backing

  /// Backs the page at `address` if its region allows the access.
  func handleFault(at address: UInt64, access: PageFaultAccess)
    -> FaultResult
  {
    guard let region = region(containing: address),
      region.kind.ownsFrames
    else { return .invalid }
    if access.write && !region.protection.contains(.write) {
      return .invalid
    }
    if access.execute && !region.protection.contains(.execute) {
      return .invalid
    }
    if region.protection.isEmpty { return .invalid }
    if access.present { return .invalid }
    let page = alignDown(address, AddressSpace.pageSize)
    Counters.pageFaults &+= 1
    return back(page, in: region)
  }

  /// Backs `page` as its region says: a zeroed frame, or the file's page.
  private func back(_ page: UInt64, in region: Region) -> FaultResult {
    guard let file = region.file else {
      return back(page, protection: region.protection) ? .resolved
        : .invalid
    }
    let offset = region.fileOffset(of: page)
    guard offset < alignUp(file.size, AddressSpace.pageSize) else {
      return .beyondEndOfFile
    }
    if region.shared {
      guard let cache = file.pageCache,
        let frame = try? cache.frame(at: offset / AddressSpace.pageSize,
                                     of: file)
      else {
        log.error("cannot read a file page for \(hex(page))")
        return .invalid
      }
      // Reading the page may have waited for the disk, and another
      // thread may have changed the mapping meanwhile: then let the
      // access fault again against what is there now.
      guard stillMaps(page, file: file, shared: true) else {
        return .resolved
      }
      return pageTable.map(page, to: frame,
                           flags: region.protection.pageFlags)
        ? .resolved : .invalid
    }
    // A private mapping copies the page as the file holds it now; the
    // part past the end of the file stays zero.
    guard let frame = FrameAllocator.allocateZeroed() else {
      log.error("out of memory backing \(hex(page))")
      return .invalid
    }
    _ = try? file.read(at: offset, into: UnsafeMutableRawBufferPointer(
      start: DirectMap.pointer(frame), count: Int(AddressSpace.pageSize)))
    guard stillMaps(page, file: file, shared: false) else {
      FrameAllocator.free(frame)
      return .resolved
    }
    guard pageTable.map(page, to: frame, flags: region.protection.pageFlags)
    else {
      FrameAllocator.free(frame)
      return .invalid
    }
    return .resolved
  }

  /// Whether `page` is still an unbacked page of a mapping of `file`
  /// after a wait.
  private func stillMaps(_ page: UInt64, file: Inode, shared: Bool) -> Bool {
    guard let now = region(containing: page), now.file === file,
      now.shared == shared
    else { return false }
    return pageTable.lookup(page) == nil
  }

  /// Maps a zeroed frame at `page`.
  @discardableResult
  func back(_ page: UInt64, protection: Protection) -> Bool {
    guard let frame = FrameAllocator.allocateZeroed() else {
      log.error("out of memory backing \(hex(page))")
      return false
    }
    guard pageTable.map(page, to: frame, flags: protection.pageFlags) else {
      FrameAllocator.free(frame)
      return false
    }
    return true
  }

  /// The kernel's view of a user page, backing it first if needed; used
  /// to fill pages at load time and to read them without faulting.
  func kernelPointer(toPage page: UInt64) -> UnsafeMutableRawPointer? {
    if let (physical, _) = pageTable.lookup(page) {
      return DirectMap.pointer(physical)
    }
    guard let region = region(containing: page),
      back(page, in: region) == .resolved,
      let (physical, _) = pageTable.lookup(page)
    else { return nil }
    return DirectMap.pointer(physical)
  }

  /// Maps frames the kernel owns (never freed here when unmapped) as
  /// one region of `kind`, every page present from the start.
  func mapKernelFrames(_ frames: [UInt64], at start: UInt64,
                       protection: Protection, kind: Region.Kind) -> Bool
  {
    let end = start + UInt64(frames.count) * AddressSpace.pageSize
    map(start: start, end: end, protection: protection, kind: kind)
    for (i, frame) in frames.enumerated() {
      let page = start + UInt64(i) * AddressSpace.pageSize
      guard pageTable.map(page, to: frame, flags: protection.pageFlags)
      else { return false }
    }
    return true
  }

  /// Unmaps the pages of [start, end) in `region`, freeing their frames
  /// unless the file's page cache or the kernel (the vDSO) owns them.
  private func releasePages(of region: Region, start: UInt64, end: UInt64) {
    var page = alignDown(start, AddressSpace.pageSize)
    while page < end {
      if region.isSharedFile { collectDirtyPage(page, of: region) }
      if let frame = pageTable.unmap(page), !region.isSharedFile,
        region.kind.ownsFrames
      {
        FrameAllocator.free(frame)
      }
      page += AddressSpace.pageSize
    }
  }

  // MARK: Shared file mappings

  /// Moves the dirty bit of `page` (in a shared file region) into the
  /// file's page cache.
  private func collectDirtyPage(_ page: UInt64, of region: Region) {
    guard let file = region.file, let cache = file.pageCache,
      cache.holdsCopies,
      let (_, flags) = pageTable.lookup(page), flags.contains(.dirty)
    else { return }
    cache.markDirty(region.fileOffset(of: page) / AddressSpace.pageSize)
    pageTable.protect(page, flags: region.protection.pageFlags)
  }

  /// Moves every dirty bit of `file`'s shared mappings into its cache.
  func collectDirtyPages(of file: Inode) {
    guard file.pageCache?.holdsCopies == true else { return }
    for region in regions where region.isSharedFile && region.file === file
    {
      var page = region.start
      while page < region.end {
        collectDirtyPage(page, of: region)
        page += AddressSpace.pageSize
      }
    }
  }

  /// Takes the pages of `file` from page index `first` on out of the
  /// shared mappings (the file was truncated); the cache frees them.
  func unmapFilePages(of file: Inode, fromPage first: UInt64) {
    for region in regions where region.isSharedFile && region.file === file
    {
      var page = region.start
      while page < region.end {
        if region.fileOffset(of: page) / AddressSpace.pageSize >= first {
          _ = pageTable.unmap(page)
        }
        page += AddressSpace.pageSize
      }
    }
  }

  /// Writes back what shared mappings of the files overlapping [start,
  /// end) changed (msync), and with `durably` makes it durable.
  func writeBack(start: UInt64, end: UInt64, durably: Bool) throws(Errno) {
    var files: [Inode] = []
    for region in regions where region.isSharedFile &&
      region.start < end && region.end > start
    {
      if let file = region.file, !files.contains(where: { $0 === file }) {
        files.append(file)
      }
    }
    for file in files {
      try file.pageCache?.writeBack(file)
      if durably { try file.sync() }
    }
  }

  /// Writes back every shared file mapping (the program is ending).
  func writeBackSharedMappings() throws(Errno) {
    for file in mappedFiles { try file.pageCache?.writeBack(file) }
  }

  // MARK: The program break

  func setBreakStart(_ address: UInt64) {
    breakStart = address
    programBreak = address
  }

  /// brk(2): moves the break if the new heap does not collide with another
  /// region; always returns the resulting break, as the syscall does.
  func moveBreak(to requested: UInt64) -> UInt64 {
    guard requested >= breakStart, requested < AddressSpace.mmapTop else {
      return programBreak
    }
    let oldEnd = alignUp(programBreak, AddressSpace.pageSize)
    let newEnd = alignUp(requested, AddressSpace.pageSize)
    if newEnd > oldEnd {
      for region in regions where region.start < newEnd &&
        region.end > oldEnd && region.kind != .heap
      {
        return programBreak
      }
      map(start: oldEnd, end: newEnd, protection: [.read, .write],
          kind: .heap)
      mergeHeap()
    } else if newEnd < oldEnd {
      unmap(start: newEnd, end: oldEnd)
    }
    programBreak = requested
    return programBreak
  }

  /// Keeps the heap one region as it grows page range by page range.
  private func mergeHeap() {
    var merged: [Region] = []
    for region in regions {
      if var last = merged.last, last.kind == .heap, region.kind == .heap,
        last.end == region.start
      {
        last.end = region.end
        merged[merged.count - 1] = last
      } else {
        merged.append(region)
      }
    }
    regions = merged
  }
}
