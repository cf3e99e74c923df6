// Physical page frames: a buddy allocator over the usable RAM of the PVH
// memory map. Blocks are 2^order frames (order 0 = 4 KiB, up to 4 MiB),
// naturally aligned, so a freed block finds its buddy by flipping one bit
// of its frame number and merges while the buddy is free too.
//
// Bookkeeping lives in the frames themselves and in one table of a 16-bit
// word per frame, carved from RAM at boot before anything else allocates:
// the free lists link free blocks through their first bytes (via the direct
// map), and the table says what each block head is (free of some order,
// allocated, a heap page). The heap reads the table to learn the size of
// what it frees.

import Arch

private let log = Logger("memory")

enum FrameAllocator {
  static let pageSize: UInt64 = 4096
  /// 2^15 pages, 128 MiB: the largest block, and so the largest
  /// contiguous heap allocation (a program read whole from the root
  /// filesystem before it is loaded is one).
  static let maxOrder = 15

  /// What a frame's table word says, in its high byte.
  enum Tag: UInt8 {
    case unavailable = 0
    case freeHead = 1
    case allocatedHead = 2
    case heapSmallPage = 3
    case heapLargeHead = 4
  }

  private static var table: UnsafeMutablePointer<UInt16>? = nil
  private static var frameCount: UInt64 = 0
  /// Physical address of the first block of each order's free list
  /// (0 = empty). Nodes hold next and previous physical addresses.
  private static var freeHeads: UnsafeMutablePointer<UInt64>? = nil

  private(set) static var totalFrames: UInt64 = 0
  private(set) static var usedFrames: UInt64 = 0
  private(set) static var peakUsedFrames: UInt64 = 0

  /// Builds the allocator from the usable regions minus the reserved ones.
  static func initialize(usable: [MemoryRegion], reserved: [MemoryRegion]) {
    var highest: UInt64 = 0
    for region in usable { highest = max(highest, region.end) }
    frameCount = highest / pageSize

    // Carve the table and the list heads out of the first usable region
    // large enough, past every reserved range.
    let tableBytes = alignUp(frameCount * 2 + 64 * 8, pageSize)
    var carved: MemoryRegion? = nil
    for region in usable {
      var start = alignUp(max(region.start, 0x10_0000), pageSize)
      for r in reserved where r.start < start + tableBytes && r.end > start {
        start = alignUp(r.end, pageSize)
      }
      if start + tableBytes <= region.end {
        carved = MemoryRegion(start: start, length: tableBytes)
        break
      }
    }
    guard let carved else {
      panic("no room for the page frame table")
    }
    let raw = DirectMap.pointer(carved.start)
    memset(raw, 0, Int(tableBytes))
    table = raw.bindMemory(to: UInt16.self, capacity: Int(frameCount))
    freeHeads = (raw + Int(frameCount * 2)).bindMemory(
      to: UInt64.self, capacity: maxOrder + 1)

    // Free-list nodes are written into the frames themselves, and the
    // boot page tables reach only the first 4 GiB: RAM above that (q35
    // puts what does not fit below its PCI hole there) waits until the
    // kernel's direct map covers it.
    let excluded = reserved + [carved]
    for region in usable {
      let low = min(region.end, bootMappedLimit)
      if low > region.start {
        addFree(region: MemoryRegion(start: region.start,
                                     length: low - region.start),
                excluding: excluded)
      }
      if region.end > bootMappedLimit {
        let start = max(region.start, bootMappedLimit)
        aboveBootMap.append(
          MemoryRegion(start: start, length: region.end - start))
      }
    }
    aboveBootMapExcluded = excluded
    log.info("\(totalFrames / 256) MiB of page frames")
  }

  /// What the boot page tables map; see `initialize`.
  private static let bootMappedLimit: UInt64 = 0x1_0000_0000
  private static var aboveBootMap: [MemoryRegion] = []
  private static var aboveBootMapExcluded: [MemoryRegion] = []

  /// Adds the RAM above 4 GiB, once the kernel page tables map it.
  static func addMemoryAboveBootMap() {
    guard !aboveBootMap.isEmpty else { return }
    let before = totalFrames
    for region in aboveBootMap {
      addFree(region: region, excluding: aboveBootMapExcluded)
    }
    aboveBootMap = []
    log.info("\((totalFrames - before) / 256) MiB more above 4 GiB")
  }

  /// Adds the frames of one region that no excluded range touches, as the
  /// largest aligned blocks that fit.
  private static func addFree(
    region: MemoryRegion, excluding excluded: [MemoryRegion]
  ) {
    var pieces = [MemoryRegion(
      start: alignUp(max(region.start, 0x10_0000), pageSize),
      length: 0)]
    pieces[0].length = alignDown(region.end, pageSize) &- pieces[0].start
    if pieces[0].start >= alignDown(region.end, pageSize) { return }
    for cut in excluded {
      var next: [MemoryRegion] = []
      let cutStart = alignDown(cut.start, pageSize)
      let cutEnd = alignUp(cut.end, pageSize)
      for piece in pieces {
        if cutEnd <= piece.start || cutStart >= piece.end {
          next.append(piece)
          continue
        }
        if cutStart > piece.start {
          next.append(MemoryRegion(
            start: piece.start, length: cutStart - piece.start))
        }
        if cutEnd < piece.end {
          next.append(MemoryRegion(start: cutEnd, length: piece.end - cutEnd))
        }
      }
      pieces = next
    }
    for piece in pieces {
      var frame = piece.start / pageSize
      let end = piece.end / pageSize
      while frame < end {
        var order = maxOrder
        while order > 0 &&
          (frame & ((1 << UInt64(order)) - 1) != 0 ||
           frame + (1 << UInt64(order)) > end)
        {
          order -= 1
        }
        push(frame: frame, order: order)
        totalFrames += 1 << UInt64(order)
        frame += 1 << UInt64(order)
      }
    }
  }

  // MARK: Allocation

  /// Allocates 2^order contiguous frames; returns the physical address.
  static func allocate(order: Int = 0) -> UInt64? {
    let flags = InterruptGuard()
    defer { flags.restore() }
    var found = order
    while found <= maxOrder && freeHeads![found] == 0 { found += 1 }
    if found > maxOrder { return nil }
    let block = freeHeads![found] / pageSize
    remove(frame: block, order: found)
    // Split down, returning the upper halves to the free lists.
    while found > order {
      found -= 1
      push(frame: block + (1 << UInt64(found)), order: found)
    }
    setTag(block, .allocatedHead, order: order)
    usedFrames += 1 << UInt64(order)
    peakUsedFrames = max(peakUsedFrames, usedFrames)
    return block * pageSize
  }

  /// Allocates frames and fills them with zeroes.
  static func allocateZeroed(order: Int = 0) -> UInt64? {
    guard let physical = allocate(order: order) else { return nil }
    memset(DirectMap.pointer(physical), 0,
           Int(pageSize << UInt64(order)))
    return physical
  }

  static func free(_ physical: UInt64, order: Int = 0) {
    let flags = InterruptGuard()
    defer { flags.restore() }
    var frame = physical / pageSize
    var order = order
    usedFrames -= 1 << UInt64(order)
    while order < maxOrder {
      let buddy = frame ^ (1 << UInt64(order))
      guard buddy < frameCount, table![Int(buddy)] == word(.freeHead, order)
      else { break }
      remove(frame: buddy, order: order)
      frame = min(frame, buddy)
      order += 1
    }
    push(frame: frame, order: order)
  }

  // MARK: The frame table

  static func tag(of physical: UInt64) -> (Tag, UInt8) {
    let value = table![Int(physical / pageSize)]
    return (Tag(rawValue: UInt8(value >> 8)) ?? .unavailable,
            UInt8(truncatingIfNeeded: value))
  }

  static func setTag(_ frame: UInt64, _ tag: Tag, order: Int) {
    table![Int(frame)] = word(tag, order)
  }

  private static func word(_ tag: Tag, _ data: Int) -> UInt16 {
    UInt16(tag.rawValue) << 8 | UInt16(data)
  }

  // MARK: Free lists (doubly linked through the free blocks)

  private static func node(_ frame: UInt64) -> UnsafeMutablePointer<UInt64> {
    DirectMap.pointer(frame * pageSize).bindMemory(to: UInt64.self,
                                                   capacity: 2)
  }

  private static func push(frame: UInt64, order: Int) {
    let head = freeHeads![order]
    let n = node(frame)
    n[0] = head
    n[1] = 0
    if head != 0 { node(head / pageSize)[1] = frame * pageSize }
    freeHeads![order] = frame * pageSize
    setTag(frame, .freeHead, order: order)
  }

  private static func remove(frame: UInt64, order: Int) {
    let n = node(frame)
    let next = n[0]
    let previous = n[1]
    if previous != 0 {
      node(previous / pageSize)[0] = next
    } else {
      freeHeads![order] = next
    }
    if next != 0 { node(next / pageSize)[1] = previous }
    setTag(frame, .allocatedHead, order: order)
  }
}

/// Rounds up to a power-of-two alignment; wraps to 0 past the top of the
/// address space, which callers treat as out of range.
func alignUp(_ value: UInt64, _ alignment: UInt64) -> UInt64 {
  (value &+ alignment &- 1) & ~(alignment - 1)
}

func alignDown(_ value: UInt64, _ alignment: UInt64) -> UInt64 {
  value & ~(alignment - 1)
}

/// Disables interrupts for a critical section and restores the previous
/// state. The kernel runs on one CPU, so this is its only lock.
struct InterruptGuard {
  private let wereEnabled: Bool

  init() {
    wereEnabled = arch_read_flags() & 0x200 != 0
    arch_disable_interrupts()
  }

  func restore() {
    if wereEnabled { arch_enable_interrupts() }
  }
}
