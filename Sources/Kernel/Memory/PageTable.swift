// Four-level x86_64 page tables, walked and edited through the direct map.
//
// The kernel half of every address space is one top-level entry (the
// direct map slot) that all page tables share, built once at boot with
// 2 MiB pages; user mappings are 4 KiB pages below AddressSpace.userLimit.
// Intermediate entries of user tables allow everything (present, writable,
// user) so that only the leaf entry decides a page's protection.

import Arch

struct PageFlags: OptionSet {
  var rawValue: UInt64

  static let present = PageFlags(rawValue: 1 << 0)
  static let writable = PageFlags(rawValue: 1 << 1)
  static let user = PageFlags(rawValue: 1 << 2)
  static let writeThrough = PageFlags(rawValue: 1 << 3)
  static let cacheDisable = PageFlags(rawValue: 1 << 4)
  static let accessed = PageFlags(rawValue: 1 << 5)
  static let dirty = PageFlags(rawValue: 1 << 6)
  static let huge = PageFlags(rawValue: 1 << 7)
  static let global = PageFlags(rawValue: 1 << 8)
  static let noExecute = PageFlags(rawValue: 1 << 63)
}

struct PageTable {
  static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000
  /// The physical address of the top-level table (what CR3 holds).
  let root: UInt64

  private static var kernelSlotEntry: UInt64 = 0
  private static let directMapSlot = Int(DirectMap.base >> 39) & 511

  /// A new address space's tables: empty but for the shared kernel slot.
  static func create() -> PageTable? {
    guard let root = FrameAllocator.allocateZeroed() else { return nil }
    table(root)[directMapSlot] = kernelSlotEntry
    return PageTable(root: root)
  }

  /// Builds the direct map over [0, top) with 2 MiB pages, marks the
  /// MMIO window below 4 GiB uncached, and switches to the new tables,
  /// which drops the boot code's identity map.
  static func initializeKernel(physicalTop: UInt64) -> PageTable {
    let top = alignUp(max(physicalTop, 0x1_0000_0000), 0x4000_0000)
    guard let pdpt = FrameAllocator.allocateZeroed() else {
      panic("no memory for the kernel page tables")
    }
    var gigabyte: UInt64 = 0
    while gigabyte < top / 0x4000_0000 {
      guard let directory = FrameAllocator.allocateZeroed() else {
        panic("no memory for the kernel page tables")
      }
      for i in 0..<512 {
        let physical = gigabyte * 0x4000_0000 + UInt64(i) * 0x20_0000
        var flags: PageFlags = [.present, .writable, .huge, .global]
        if physical >= 0xC000_0000 && physical < 0x1_0000_0000 {
          flags.formUnion([.cacheDisable, .writeThrough])
        }
        table(directory)[i] = physical | flags.rawValue
      }
      table(pdpt)[Int(gigabyte)] = directory
        | PageFlags([.present, .writable]).rawValue
      gigabyte += 1
    }
    kernelSlotEntry = pdpt | PageFlags([.present, .writable]).rawValue
    guard let kernel = create() else {
      panic("no memory for the kernel page tables")
    }
    arch_write_cr4(arch_read_cr4() | (1 << 7))     // global pages
    kernel.activate()
    return kernel
  }

  /// Maps [physical, physical + length) in the direct map with uncached
  /// 2 MiB pages, for device registers outside the window that
  /// `initializeKernel` maps uncached (DeviceMemory.swift decides).
  /// Every address space shares the direct map slot, so all see it.
  static func mapDeviceMemory(physical: UInt64, length: UInt64) -> Bool {
    let pdpt = kernelSlotEntry & addressMask
    let flags: PageFlags = [.present, .writable, .huge, .global,
                            .cacheDisable, .writeThrough, .noExecute]
    var page = physical & ~UInt64(0x1F_FFFF)
    while page < physical + length {
      let gigabyte = Int(page >> 30)
      if table(pdpt)[gigabyte] & PageFlags.present.rawValue == 0 {
        guard let directory = FrameAllocator.allocateZeroed() else {
          return false
        }
        table(pdpt)[gigabyte] = directory
          | PageFlags([.present, .writable]).rawValue
      }
      let directory = table(pdpt)[gigabyte] & addressMask
      table(directory)[Int(page >> 21) & 511] = page | flags.rawValue
      // A global entry survives CR3 reloads; drop it explicitly.
      arch_invlpg(DirectMap.base + page)
      page += 0x20_0000
    }
    return true
  }

  /// Loads these tables unless they are loaded already: threads of one
  /// process share them, and reloading CR3 would flush the TLB for
  /// nothing.
  func activate() {
    if arch_read_cr3() & PageTable.addressMask != root {
      arch_write_cr3(root)
    }
  }

  /// Maps one 4 KiB user page, creating intermediate tables as needed.
  func map(_ virtual: UInt64, to physical: UInt64, flags: PageFlags) -> Bool {
    guard let entry = leaf(virtual, create: true) else { return false }
    entry.pointee = physical | flags.union(.present).rawValue
    return true
  }

  /// Unmaps one page; returns the physical frame it held.
  func unmap(_ virtual: UInt64) -> UInt64? {
    guard let entry = leaf(virtual, create: false),
      entry.pointee & PageFlags.present.rawValue != 0
    else { return nil }
    let physical = entry.pointee & PageTable.addressMask
    entry.pointee = 0
    arch_invlpg(virtual)
    return physical
  }

  /// The frame and flags of a mapped page.
  func lookup(_ virtual: UInt64) -> (physical: UInt64, flags: PageFlags)? {
    guard let entry = leaf(virtual, create: false),
      entry.pointee & PageFlags.present.rawValue != 0
    else { return nil }
    return (entry.pointee & PageTable.addressMask,
            PageFlags(rawValue: entry.pointee & ~PageTable.addressMask))
  }

  /// Changes the flags of a mapped page, keeping its frame.
  func protect(_ virtual: UInt64, flags: PageFlags) {
    guard let entry = leaf(virtual, create: false),
      entry.pointee & PageFlags.present.rawValue != 0
    else { return }
    entry.pointee = (entry.pointee & PageTable.addressMask)
      | flags.union(.present).rawValue
    arch_invlpg(virtual)
  }

  /// Frees every user page-table page (not the frames they map, which the
  /// address space owns and frees itself).
  func destroy() {
    let top = PageTable.table(root)
    for i in 0..<PageTable.directMapSlot {
      guard top[i] & 1 != 0 else { continue }
      let pdpt = top[i] & PageTable.addressMask
      for j in 0..<512 where PageTable.table(pdpt)[j] & 1 != 0 {
        let pd = PageTable.table(pdpt)[j] & PageTable.addressMask
        for k in 0..<512 where PageTable.table(pd)[k] & 1 != 0 {
          FrameAllocator.free(PageTable.table(pd)[k] & PageTable.addressMask)
        }
        FrameAllocator.free(pd)
      }
      FrameAllocator.free(pdpt)
    }
    FrameAllocator.free(root)
  }

  private func leaf(_ virtual: UInt64, create: Bool)
    -> UnsafeMutablePointer<UInt64>?
  {
    var current = root
    for level in stride(from: 3, through: 1, by: -1) {
      let index = Int(virtual >> (12 + 9 * UInt64(level))) & 511
      let entry = PageTable.table(current) + index
      if entry.pointee & PageFlags.present.rawValue == 0 {
        guard create, let next = FrameAllocator.allocateZeroed() else {
          return nil
        }
        entry.pointee = next
          | PageFlags([.present, .writable, .user]).rawValue
      }
      current = entry.pointee & PageTable.addressMask
    }
    return PageTable.table(current) + (Int(virtual >> 12) & 511)
  }

  private static func table(_ physical: UInt64)
    -> UnsafeMutablePointer<UInt64>
  {
    DirectMap.pointer(physical).bindMemory(to: UInt64.self, capacity: 512)
  }
}
