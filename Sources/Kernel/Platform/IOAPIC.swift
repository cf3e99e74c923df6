// The I/O APIC: routes device interrupt lines (GSIs) to CPU vectors, and
// the table of who handles each vector. Villa gives GSI n the vector
// `IOAPIC.vectorBase + n`, level-triggered, to the one CPU. Drivers
// register a handler and the trap code calls it, then acknowledges the
// interrupt at the local APIC.

private let log = Logger("ioapic")

enum IOAPIC {
  static let physicalBase: UInt64 = 0xFEC0_0000
  static let vectorBase: UInt8 = 0x30
  private static var handlers: [(() -> Void)?] =
    [(() -> Void)?](repeating: nil, count: 24)

  /// Routes `gsi` to its vector, level-triggered and active high (as
  /// virtio-mmio and PCI lines are), and calls `handler` when it fires.
  static func route(gsi: Int, handler: @escaping () -> Void) {
    guard gsi >= 0 && gsi < handlers.count else {
      log.warn("interrupt line \(gsi) is beyond the IOAPIC")
      return
    }
    handlers[gsi] = handler
    let low = UInt32(vectorBase) + UInt32(gsi) | 1 << 15   // level
    write(0x10 + 2 * UInt32(gsi) + 1, 0)                   // CPU 0
    write(0x10 + 2 * UInt32(gsi), low)
  }

  /// Whether a handler already owns `gsi`.
  static func isRouted(gsi: Int) -> Bool {
    gsi >= 0 && gsi < handlers.count && handlers[gsi] != nil
  }

  /// Runs the handler of an interrupt vector; false if it is not ours.
  static func dispatch(vector: UInt64) -> Bool {
    guard vector >= UInt64(vectorBase),
      vector < UInt64(vectorBase) + UInt64(handlers.count)
    else { return false }
    handlers[Int(vector - UInt64(vectorBase))]?()
    LocalAPIC.endOfInterrupt()
    return true
  }

  // The IOAPIC is two registers: an index (IOREGSEL) and a window.
  private static func write(_ register: UInt32, _ value: UInt32) {
    MMIO.store(register, at: physicalBase)
    MMIO.store(value, at: physicalBase + 0x10)
  }
}
