// PCI configuration space, base address registers and capabilities.
//
// Configuration space is reached through the legacy I/O ports 0xCF8 (an
// address) and 0xCFC (the data): it works on q35 and on any PC without
// reading ACPI's MCFG table, which Villa does not parse, and it covers
// the first 256 bytes of each function, where virtio and MSI-X keep their
// capabilities. On a machine without PCI (microvm) every read returns all
// ones, so enumeration finds nothing.
//
// The firmware (SeaBIOS on q35) has usually assigned every BAR an
// address when the kernel starts; Villa keeps those, sizes the BARs (to
// check that a structure a capability points at lies inside), and
// assigns an address itself to a memory BAR left at zero.

import Arch

private let log = Logger("pci")

/// One function of one PCI device, named by its bus, device and function
/// numbers.
struct PCIFunction {
  let bus: UInt8
  let device: UInt8
  let function: UInt8

  /// Standard register offsets of a type 0 (endpoint) header, and the
  /// one of a type 1 (bridge) header that enumeration follows.
  enum Register {
    static let vendorID: UInt8 = 0x00
    static let deviceID: UInt8 = 0x02
    static let command: UInt8 = 0x04
    static let status: UInt8 = 0x06
    static let classCode: UInt8 = 0x08
    static let headerType: UInt8 = 0x0E
    static let firstBAR: UInt8 = 0x10
    static let secondaryBus: UInt8 = 0x19
    static let capabilitiesPointer: UInt8 = 0x34
  }

  enum Command {
    static let memorySpace: UInt16 = 1 << 1
    static let busMaster: UInt16 = 1 << 2
    static let interruptDisable: UInt16 = 1 << 10
  }

  /// Capability ids (PCI Local Bus 3.0, appendix H).
  enum CapabilityID {
    static let msiX: UInt8 = 0x11
    static let vendorSpecific: UInt8 = 0x09
  }

  /// "bb:dd.f", as lspci prints it.
  var name: String {
    func two(_ value: UInt8) -> String {
      let digits = String(value, radix: 16)
      return digits.count < 2 ? "0" + digits : digits
    }
    return two(bus) + ":" + two(device) + "." + String(function)
  }

  // MARK: Configuration space

  private func select(_ offset: UInt8) {
    let address: UInt32 = 1 << 31 | UInt32(bus) << 16
      | UInt32(device) << 11 | UInt32(function) << 8
      | UInt32(offset & 0xFC)
    arch_outl(0xCF8, address)
  }

  // The address and data ports are a pair that an interrupt handler
  // could disturb between the two accesses; none touches configuration
  // space, and drivers configure their devices before enabling their
  // interrupts, so no lock is taken.
  func read32(_ offset: UInt8) -> UInt32 {
    select(offset)
    return arch_inl(0xCFC)
  }

  func read16(_ offset: UInt8) -> UInt16 {
    UInt16(truncatingIfNeeded: read32(offset) >> (UInt32(offset & 2) * 8))
  }

  func read8(_ offset: UInt8) -> UInt8 {
    UInt8(truncatingIfNeeded: read32(offset) >> (UInt32(offset & 3) * 8))
  }

  func write32(_ offset: UInt8, _ value: UInt32) {
    select(offset)
    arch_outl(0xCFC, value)
  }

  func write16(_ offset: UInt8, _ value: UInt16) {
    select(offset)
    arch_outw(0xCFC + UInt16(offset & 2), value)
  }

  var vendorID: UInt16 { read16(Register.vendorID) }
  var deviceID: UInt16 { read16(Register.deviceID) }
  /// Class, subclass and programming interface.
  var classCode: UInt32 { read32(Register.classCode) >> 8 }
  var isMultiFunction: Bool { read8(Register.headerType) & 0x80 != 0 }
  var isBridge: Bool {
    read8(Register.headerType) & 0x7F == 1 && classCode >> 8 == 0x0604
  }

  /// Turns on memory decoding and bus mastering (the device reads and
  /// writes the rings itself) and turns off the legacy INTx line, since
  /// Villa takes message-signalled interrupts only.
  func enableMemoryAndBusMaster() {
    let command = read16(Register.command)
    write16(Register.command, command | Command.memorySpace
      | Command.busMaster | Command.interruptDisable)
  }

  // MARK: Capabilities

  /// The capability list: each entry's id and where it starts.
  func capabilities() -> [(id: UInt8, offset: UInt8)] {
    var found: [(id: UInt8, offset: UInt8)] = []
    // Status bit 4: the function has a capability list at all.
    guard read16(Register.status) & (1 << 4) != 0 else { return found }
    var offset = read8(Register.capabilitiesPointer) & 0xFC
    // A malformed list could loop; 48 entries fill the 192 bytes after
    // the header, so more than that is a cycle.
    while offset >= 0x40 && found.count < 48 {
      found.append((read8(offset), offset))
      offset = read8(offset + 1) & 0xFC
    }
    return found
  }

  // MARK: Base address registers

  /// BAR `index` (0...5) as the firmware set it up, with its size; nil
  /// when it is unused or the upper half of a 64-bit BAR.
  func bar(_ index: Int) -> PCIBar? {
    guard index >= 0 && index < 6 else { return nil }
    let offset = Register.firstBAR + UInt8(index * 4)
    let low = read32(offset)
    let isIO = low & 1 != 0
    let is64 = !isIO && (low >> 1) & 3 == 2
    if is64 && index == 5 { return nil }

    // Sizing: write all ones and read back which address bits stick.
    // Decoding is off meanwhile, so the device never answers at the
    // bogus address.
    let command = read16(Register.command)
    write16(Register.command,
            command & ~(Command.memorySpace | 1))  // bit 0: I/O space
    let lowMask: UInt32 = isIO ? ~0x3 : ~0xF
    write32(offset, 0xFFFF_FFFF)
    let sizedLow = read32(offset) & lowMask
    write32(offset, low)
    var high: UInt32 = 0
    var sizedHigh: UInt32 = 0xFFFF_FFFF
    if is64 {
      high = read32(offset + 4)
      write32(offset + 4, 0xFFFF_FFFF)
      sizedHigh = read32(offset + 4)
      write32(offset + 4, high)
    }
    write16(Register.command, command)

    // No writable address bit: the BAR is not implemented.
    guard sizedLow != 0 || (is64 && sizedHigh != 0) else { return nil }
    // I/O BARs decode 16 address bits; the upper ones may read as zero.
    let ioBits: UInt32 = isIO ? 0xFFFF_0000 : 0
    let mask = UInt64(sizedHigh) << 32 | UInt64(sizedLow | ioBits)
    let size = ~mask &+ 1
    var address = UInt64(high) << 32 | UInt64(low & lowMask)
    if address == 0 && !isIO {
      // Firmware that does not set up PCI (qboot) leaves BARs at zero.
      guard let assigned = PCI.assignAddress(size: size) else { return nil }
      write32(offset, UInt32(truncatingIfNeeded: assigned) | (low & 0xF))
      if is64 {
        write32(offset + 4, UInt32(truncatingIfNeeded: assigned >> 32))
      }
      address = assigned
      log.debug("\(name): BAR \(index) assigned \(hex(address))")
    }
    return PCIBar(address: address, size: size, isIO: isIO, is64: is64)
  }

  // MARK: MSI-X

  /// Enables MSI-X with table entry `entry` sending `vector` to the boot
  /// CPU, every other entry masked. False if the function has no MSI-X
  /// or its table is out of reach.
  func enableMSIX(entry: Int, vector: UInt8) -> Bool {
    guard let capability = capabilities().first(where: {
      $0.id == CapabilityID.msiX
    }) else { return false }
    let control = read16(capability.offset + 2)
    let tableSize = Int(control & 0x7FF) + 1
    let tableLocation = read32(capability.offset + 4)
    guard entry < tableSize,
      let bar = bar(Int(tableLocation & 7)), !bar.isIO, bar.address != 0,
      UInt64(tableLocation & ~7) + UInt64(tableSize) * 16 <= bar.size,
      DeviceMemory.map(physical: bar.address, length: bar.size)
    else {
      log.warn("\(name): MSI-X table out of reach")
      return false
    }
    let table = bar.address + UInt64(tableLocation & ~7)
    // Mask the whole function while the table is written (bit 14), so no
    // half-written entry fires.
    write16(capability.offset + 2, control | 1 << 14 | 1 << 15)
    for index in 0..<tableSize {
      let address = table + UInt64(index) * 16
      if index == entry {
        let message = MessageInterrupts.message(vector: vector)
        MMIO.store(UInt32(truncatingIfNeeded: message.address), at: address)
        MMIO.store(UInt32(truncatingIfNeeded: message.address >> 32),
                   at: address + 4)
        MMIO.store(message.data, at: address + 8)
        MMIO.store(UInt32(0), at: address + 12)      // unmasked
      } else {
        MMIO.store(UInt32(1), at: address + 12)      // masked
      }
    }
    write16(capability.offset + 2, (control & ~(1 << 14)) | 1 << 15)
    return true
  }
}

/// A base address register: where the firmware put the device's
/// registers, and how many bytes they span.
struct PCIBar {
  var address: UInt64
  var size: UInt64
  var isIO: Bool
  var is64: Bool
}

enum PCI {
  /// Where BARs left at zero get their addresses: the 32-bit PCI hole of
  /// q35 above its ECAM window (0xB0000000, 256 MiB) and below the
  /// IOAPIC. Firmware that assigns BARs (SeaBIOS) fills this hole from
  /// the top, and assigns all of them or none, so counting up from the
  /// bottom meets nothing it placed.
  private static let holeEnd: UInt64 = 0xFEC0_0000
  private static var nextFree: UInt64 = 0xC000_0000

  /// A naturally aligned address for a memory BAR of `size` bytes.
  static func assignAddress(size: UInt64) -> UInt64? {
    guard size > 0, size & (size - 1) == 0 else { return nil }
    let address = alignUp(nextFree, max(size, 4096))
    guard address < holeEnd, size <= holeEnd - address else {
      log.warn("no room in the PCI hole for a BAR of \(size) bytes")
      return nil
    }
    nextFree = address + size
    return address
  }

  /// Every function on every bus reachable from bus 0 through bridges.
  static func enumerate() -> [PCIFunction] {
    var found: [PCIFunction] = []
    var buses: [UInt8] = [0]
    var scanned = Set<UInt8>()
    while let bus = buses.popLast() {
      guard scanned.insert(bus).inserted else { continue }
      for device in UInt8(0)..<32 {
        let first = PCIFunction(bus: bus, device: device, function: 0)
        guard first.vendorID != 0xFFFF else { continue }
        let functions: UInt8 = first.isMultiFunction ? 8 : 1
        for number in UInt8(0)..<functions {
          let function = PCIFunction(bus: bus, device: device,
                                     function: number)
          guard function.vendorID != 0xFFFF else { continue }
          found.append(function)
          if function.isBridge {
            let secondary = function.read8(PCIFunction.Register.secondaryBus)
            if secondary != 0 { buses.append(secondary) }
          }
        }
      }
    }
    log.debug("\(found.count) PCI functions")
    return found
  }
}
