// The PVH start information that QEMU leaves for the kernel (the Xen
// hvm_start_info structure, version 1): the physical memory map, the
// modules (Villa's boot bundle) and the command line. Read once at boot
// through the direct map; nothing here is trusted beyond bounds checks.

struct MemoryRegion {
  var start: UInt64
  var length: UInt64
  var end: UInt64 { start + length }
}

struct StartInfo {
  static let magic: UInt32 = 0x336E_C578
  /// E820 type of usable RAM.
  static let usableType: UInt32 = 1

  var usableMemory: [MemoryRegion] = []
  var reservedMemory: [MemoryRegion] = []
  var module: MemoryRegion?
  /// The command line QEMU passed (-append, plus what the machine adds).
  var commandLine: [UInt8] = []
  /// The physical range of the structure and its tables, kept out of the
  /// frame allocator until boot has read them.
  var ownRange: MemoryRegion

  /// Layout (all little-endian): magic u32, version u32, flags u32,
  /// nr_modules u32, modlist_paddr u64, cmdline_paddr u64, rsdp_paddr u64,
  /// memmap_paddr u64, memmap_entries u32, reserved u32.
  init?(physical: UInt64) {
    let base = DirectMap.pointer(physical)
    guard base.load(fromByteOffset: 0, as: UInt32.self) == StartInfo.magic
    else { return nil }
    let version = base.load(fromByteOffset: 4, as: UInt32.self)
    let moduleCount = base.load(fromByteOffset: 12, as: UInt32.self)
    let moduleList = base.load(fromByteOffset: 16, as: UInt64.self)
    let commandLineAddress = base.load(fromByteOffset: 24, as: UInt64.self)
    ownRange = MemoryRegion(start: physical, length: 64)
    if commandLineAddress != 0 {
      let text = DirectMap.pointer(commandLineAddress)
      var i = 0
      while i < 4096 {
        let byte = text.load(fromByteOffset: i, as: UInt8.self)
        if byte == 0 { break }
        commandLine.append(byte)
        i += 1
      }
    }

    if moduleCount > 0 && moduleList != 0 {
      // Module entry: paddr u64, size u64, cmdline_paddr u64, reserved u64.
      let entry = DirectMap.pointer(moduleList)
      module = MemoryRegion(
        start: entry.load(fromByteOffset: 0, as: UInt64.self),
        length: entry.load(fromByteOffset: 8, as: UInt64.self))
    }

    guard version >= 1 else { return }
    let mapAddress = base.load(fromByteOffset: 40, as: UInt64.self)
    let mapEntries = base.load(fromByteOffset: 48, as: UInt32.self)
    // Entry: addr u64, size u64, type u32, reserved u32.
    let map = DirectMap.pointer(mapAddress)
    for i in 0..<Int(min(mapEntries, 128)) {
      let entry = map + i * 24
      let region = MemoryRegion(
        start: entry.load(fromByteOffset: 0, as: UInt64.self),
        length: entry.load(fromByteOffset: 8, as: UInt64.self))
      if entry.load(fromByteOffset: 16, as: UInt32.self)
        == StartInfo.usableType
      {
        usableMemory.append(region)
      } else {
        reservedMemory.append(region)
      }
    }
  }
}
