// A process's user address space: its page tables and the list of regions
// (VMAs) that say what may be mapped where, with which protection.
//
// Pages are backed on first touch (demand paging): mmap and brk only record
// a region; the page-fault handler finds the region, checks the access
// against its protection and maps a zeroed frame. A fault outside every
// region, or one the protection forbids, is the program's fault (SIGSEGV).
// Each user frame belongs to exactly one page-table entry (no sharing until
// fork and shared file mappings exist), so unmapping frees it.
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
    unmap(start: start, end: end)
    let region = Region(start: start, end: end, protection: protection,
                        kind: kind, shared: shared)
    let index = regions.firstIndex { $0.start > start } ?? regions.count
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
        var left = region
        left.end = start
        kept.append(left)
      }
      if region.end > end {
        var right = region
        right.start = end
        kept.append(right)
      }
      releasePages(start: max(region.start, start),
                   end: min(region.end, end), free: region.kind.ownsFrames)
    }
    regions = kept
  }

  /// Changes the protection of [start, end). Fails with ENOMEM, as Linux
  /// does, when part of the range is not mapped.
  func protect(start: UInt64, end: UInt64, protection: Protection)
    throws(Errno)
  {
    guard isFullyMapped(start: start, end: end) else { throw .ENOMEM }
    // TODO(mm): Linux lets the vDSO's text become writable by copying it
    // on write; here the kernel's shared frames stay read-only.
    if protection.contains(.write), regions.contains(where: {
      !$0.kind.ownsFrames && $0.start < end && $0.end > start
    }) {
      throw .EACCES
    }
    var updated: [Region] = []
    for region in regions {
      if region.end <= start || region.start >= end {
        updated.append(region)
        continue
      }
      if region.start < start {
        var left = region
        left.end = start
        updated.append(left)
      }
      var middle = region
      middle.start = max(region.start, start)
      middle.end = min(region.end, end)
      middle.protection = protection
      updated.append(middle)
      if region.end > end {
        var right = region
        right.start = end
        updated.append(right)
      }
      var page = middle.start
      while page < middle.end {
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
            protection: Protection, kind: Region.Kind)
  {
    map(start: to, end: to + newLength, protection: protection, kind: kind)
    var offset: UInt64 = 0
    while offset < min(oldLength, newLength) {
      if let frame = pageTable.unmap(from + offset) {
        _ = pageTable.map(to + offset, to: frame,
                          flags: protection.pageFlags)
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
      releasePages(start: max(start, region.start),
                   end: min(end, region.end))
    }
  }

  /// Copies a file's bytes from `offset` into [start, start + size),
  /// backing the pages (a private file mapping).
  func fill(start: UInt64, size: UInt64, from inode: Inode, offset: UInt64)
    throws(Errno)
  {
    var done: UInt64 = 0
    while done < size {
      guard offset + done < inode.size else { break }
      guard let page = kernelPointer(toPage: start + done) else {
        throw .ENOMEM
      }
      _ = try inode.read(at: offset + done, into: UnsafeMutableRawBufferPointer(
        start: page, count: Int(AddressSpace.pageSize)))
      done += AddressSpace.pageSize
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
  func handleFault(at address: UInt64, access: PageFaultAccess) -> Bool {
    guard let region = region(containing: address),
      region.kind.ownsFrames
    else { return false }
    if access.write && !region.protection.contains(.write) { return false }
    if access.execute && !region.protection.contains(.execute) {
      return false
    }
    if region.protection.isEmpty { return false }
    if access.present { return false }
    let page = alignDown(address, AddressSpace.pageSize)
    Counters.pageFaults &+= 1
    return back(page, protection: region.protection)
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
      back(page, protection: region.protection),
      let (physical, _) = pageTable.lookup(page)
    else { return nil }
    return DirectMap.pointer(physical)
  }

  /// Maps frames the kernel owns (`free: false` later, when unmapped)
  /// as one region of `kind`, every page present from the start.
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

  private func releasePages(start: UInt64, end: UInt64, free: Bool = true) {
    var page = alignDown(start, AddressSpace.pageSize)
    while page < end {
      if let frame = pageTable.unmap(page), free {
        FrameAllocator.free(frame)
      }
      page += AddressSpace.pageSize
    }
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
