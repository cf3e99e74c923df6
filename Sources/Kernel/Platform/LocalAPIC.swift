// The local APIC: the kernel's timer interrupt and interrupt
// acknowledgement. Villa uses its timer in one-shot mode, armed for the
// next deadline only (no periodic tick), so an idle VM costs the host
// nothing. The legacy 8259 PICs are masked: nothing reaches the CPU
// through them.

import Arch
import _Volatile

private let log = Logger("apic")

enum LocalAPIC {
  static let timerVector: UInt8 = 0x20
  static let spuriousVector: UInt8 = 0xFF

  private static var base: UnsafeMutableRawPointer? = nil
  /// Timer counts per nanosecond, as a 32.32 fixed-point number.
  private static var countsPerNanosecond: UInt64 = 1 << 32

  private enum Register {
    static let eoi = 0xB0
    static let spurious = 0xF0
    static let timerVector = 0x320
    static let timerInitialCount = 0x380
    static let timerCurrentCount = 0x390
    static let timerDivide = 0x3E0
  }

  static func initialize() {
    // Mask both PICs; some machines (microvm) have none, which is harmless.
    arch_outb(0x21, 0xFF)
    arch_outb(0xA1, 0xFF)

    let physical = arch_rdmsr(MSR.apicBase) & 0xF_FFFF_F000
    base = DirectMap.pointer(physical)
    write(Register.spurious, 0x100 | UInt32(spuriousVector))
    write(Register.timerDivide, 0xB)       // divide by 1
    write(Register.timerVector, 1 << 16)   // masked until armed
    calibrate()
  }

  /// Measures the timer's rate against the (already calibrated) TSC.
  private static func calibrate() {
    write(Register.timerVector, 1 << 16 | UInt32(timerVector))
    write(Register.timerInitialCount, UInt32.max)
    let start = Clock.monotonicNanoseconds()
    while Clock.monotonicNanoseconds() - start < 2_000_000 { arch_pause() }
    let counted = UInt64(UInt32.max - read(Register.timerCurrentCount))
    let elapsed = Clock.monotonicNanoseconds() - start
    write(Register.timerInitialCount, 0)
    countsPerNanosecond = max(1, (counted << 32) / max(elapsed, 1))
    log.debug("timer: \(counted * 1000 / max(elapsed, 1)) MHz")
  }

  /// Arms the one-shot timer to fire after `nanoseconds` (clamped to what
  /// the 32-bit counter can hold; the caller re-arms if it woke early).
  static func arm(afterNanoseconds nanoseconds: UInt64) {
    let product = nanoseconds.multipliedFullWidth(by: countsPerNanosecond)
    var counts = product.high << 32 | product.low >> 32
    if product.high >> 32 != 0 { counts = UInt64(UInt32.max) }
    counts = min(max(counts, 1), UInt64(UInt32.max))
    write(Register.timerVector, UInt32(timerVector))
    write(Register.timerInitialCount, UInt32(counts))
  }

  static func disarm() {
    write(Register.timerInitialCount, 0)
  }

  static func endOfInterrupt() {
    write(Register.eoi, 0)
  }

  // MMIO registers: each access is one volatile 32-bit load or store.
  private static func write(_ register: Int, _ value: UInt32) {
    VolatileMappedRegister<UInt32>(
      unsafeBitPattern: UInt(bitPattern: base!) + UInt(register)
    ).store(value)
  }

  private static func read(_ register: Int) -> UInt32 {
    VolatileMappedRegister<UInt32>(
      unsafeBitPattern: UInt(bitPattern: base!) + UInt(register)
    ).load()
  }
}
