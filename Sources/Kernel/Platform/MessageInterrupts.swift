// Message-signalled interrupts (MSI and MSI-X): a device raises one by
// writing a small value to an address in the local APIC's window, so no
// interrupt line and no IOAPIC routing is involved. This file hands out
// CPU vectors for them, composes the address and data a device must
// write (Intel SDM vol. 3, 11.11), and runs the handler registered for a
// vector when it fires.
//
// The vectors sit above the IOAPIC's (IOAPIC.vectorBase + 24) and below
// the spurious vector; messages are edge-triggered, so the handler runs
// once per message and the local APIC is acknowledged after it.

private let log = Logger("msi")

enum MessageInterrupts {
  static let firstVector: UInt8 = 0x50
  static let lastVector: UInt8 = 0xEF
  private static var handlers: [(() -> Void)?] =
    [(() -> Void)?](repeating: nil, count: Int(lastVector - firstVector) + 1)
  private static var nextFree = firstVector

  /// A vector nobody else uses, or nil when all are taken.
  static func allocateVector() -> UInt8? {
    guard nextFree <= lastVector else {
      log.warn("no message-signalled interrupt vector left")
      return nil
    }
    defer { nextFree += 1 }
    return nextFree
  }

  /// The address and data that make a device interrupt the boot CPU
  /// (local APIC id 0, where Villa runs) at `vector`: fixed delivery,
  /// edge-triggered, physical destination mode.
  static func message(vector: UInt8) -> (address: UInt64, data: UInt32) {
    (0xFEE0_0000, UInt32(vector))
  }

  /// Calls `handler`, in interrupt context, whenever `vector` fires.
  static func register(vector: UInt8, handler: @escaping () -> Void) {
    guard vector >= firstVector && vector <= lastVector else { return }
    handlers[Int(vector - firstVector)] = handler
  }

  /// Runs the handler of an interrupt vector; false if it is not one of
  /// the message-signalled ones.
  static func dispatch(vector: UInt64) -> Bool {
    guard vector >= UInt64(firstVector), vector <= UInt64(lastVector) else {
      return false
    }
    handlers[Int(vector - UInt64(firstVector))]?()
    LocalAPIC.endOfInterrupt()
    return true
  }
}
