// Device registers that PCI BARs place in physical memory, made
// reachable through the direct map (MMIO.swift) uncached.
//
// The boot page tables already map the window below 4 GiB where the
// IOAPIC, the local APIC and the firmware's 32-bit BARs live
// (0xC000_0000 up) uncached. A BAR elsewhere (a 64-bit BAR the
// firmware put above 4 GiB, or above the RAM the direct map covers)
// has its 2 MiB pages of the direct map switched to uncached here.

private let log = Logger("mmio")

enum DeviceMemory {
  static let uncachedWindow: Range<UInt64> = 0xC000_0000..<0x1_0000_0000

  /// Makes [physical, physical + length) reachable with MMIO's volatile
  /// accesses; false if it lies beyond what the direct map can cover.
  static func map(physical: UInt64, length: UInt64) -> Bool {
    guard length > 0, physical <= DirectMap.size,
      length <= DirectMap.size - physical
    else {
      log.warn("device memory at \(hex(physical)) is beyond the direct map")
      return false
    }
    if physical >= uncachedWindow.lowerBound
      && physical + length <= uncachedWindow.upperBound
    {
      return true
    }
    return PageTable.mapDeviceMemory(physical: physical, length: length)
  }
}
