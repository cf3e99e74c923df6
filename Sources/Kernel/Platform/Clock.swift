// Time. The TSC is the clock: calibrated once at boot against the PIT
// (channel 0 read back by polling, so no interrupt is involved), then
// converted to nanoseconds with a 32.32 fixed-point multiplier. Wall time
// is the CMOS RTC read at boot plus the monotonic time since.
//
// The conversion's parameters live in the vvar page (VDSOData.h), which
// every process also maps read-only for its vDSO: the kernel and the
// vDSO apply one formula to one copy of the data, so a clock read in
// user mode and one read by a system call agree to the nanosecond.

import Arch

private let log = Logger("clock")

enum Clock {
  private(set) static var tscHz: UInt64 = 0
  /// The physical frame of the vvar page, mapped into every process.
  private(set) static var vvarFrame: UInt64 = 0
  private static var vvar: UnsafeMutablePointer<villa_vvar>? = nil

  static func initialize() {
    guard let frame = FrameAllocator.allocateZeroed() else {
      panic("no memory for the vvar page")
    }
    vvarFrame = frame
    let data = DirectMap.pointer(frame).bindMemory(to: villa_vvar.self,
                                                   capacity: 1)
    let bootTSC = arch_rdtsc()
    tscHz = measureTSC()
    let realtime = readRTC() * 1_000_000_000
    publish(data) {
      $0.shift = 32
      $0.multiplier = (1_000_000_000 << 32) / tscHz
      $0.base_tsc = bootTSC
      $0.base_ns = 0
      $0.realtime_offset = realtime
    }
    vvar = data
    log.info("TSC \(tscHz / 1_000_000) MHz; "
      + "realtime \(realtime / 1_000_000_000)")
  }

  /// Rewrites the vvar fields inside an odd sequence number, so that a
  /// reader (the vDSO, or this file) that overlaps the change retries.
  private static func publish(_ data: UnsafeMutablePointer<villa_vvar>,
                              _ change: (inout villa_vvar) -> Void)
  {
    var fields = data.pointee
    let sequence = fields.sequence
    data.pointee.sequence = sequence &+ 1
    change(&fields)
    fields.sequence = sequence &+ 1
    data.pointee = fields
    data.pointee.sequence = sequence &+ 2
  }

  /// Nanoseconds since boot, from the vvar page with the vDSO's formula.
  static func monotonicNanoseconds() -> UInt64 {
    monotonicAndOffset().monotonic
  }

  /// A span of TSC ticks in nanoseconds, with the clock's conversion.
  static func nanoseconds(ticks: UInt64) -> UInt64 {
    guard let data = vvar else { return 0 }
    return scale(ticks, data.pointee.multiplier, data.pointee.shift)
  }

  /// (ticks * multiplier) >> shift with a 128-bit product, as the vDSO
  /// computes it.
  @inline(__always)
  private static func scale(_ ticks: UInt64, _ multiplier: UInt64,
                            _ shift: UInt32) -> UInt64
  {
    let product = ticks.multipliedFullWidth(by: multiplier)
    let shift = UInt64(shift)
    return shift == 0 ? product.low
      : product.high << (64 - shift) | product.low >> shift
  }

  static func realtimeNanoseconds() -> UInt64 {
    let (monotonic, offset) = monotonicAndOffset()
    return monotonic &+ offset
  }

  private static func monotonicAndOffset()
    -> (monotonic: UInt64, offset: UInt64)
  {
    guard let data = vvar else { return (0, 0) }
    // Field by field rather than a copy of the whole page's struct: this
    // runs on every scheduler decision and timer.
    while true {
      let sequence = data.pointee.sequence
      if sequence & 1 != 0 { continue }
      let tsc = arch_rdtsc()
      let base = data.pointee.base_tsc
      let ticks = tsc > base ? tsc - base : 0
      let scaled = scale(ticks, data.pointee.multiplier, data.pointee.shift)
      let monotonic = data.pointee.base_ns &+ scaled
      let offset = data.pointee.realtime_offset
      if data.pointee.sequence == sequence { return (monotonic, offset) }
    }
  }

  /// "seconds.microseconds" since boot, for log lines.
  static func uptimeText() -> String {
    let microseconds = monotonicNanoseconds() / 1000
    let fraction = String(microseconds % 1_000_000)
    return "\(microseconds / 1_000_000)."
      + String(repeating: "0", count: 6 - fraction.count) + fraction
  }

  // MARK: Calibration

  private static let pitHz: UInt64 = 1_193_182

  /// Counts TSC ticks across 5 ms of PIT time (enough for a 0.1%
  /// estimate; boot waits for it). The PIT runs as a rate
  /// generator from 0xFFFF; its count is latched and read back until
  /// enough ticks have passed, handling its wrap-around.
  private static func measureTSC() -> UInt64 {
    arch_outb(0x43, 0x34)          // channel 0, lo/hi byte, mode 2
    arch_outb(0x40, 0xFF)
    arch_outb(0x40, 0xFF)
    let target = pitHz / 200
    var previous = readPIT()
    var elapsed: UInt64 = 0
    var polls = 0
    let start = arch_rdtsc()
    while elapsed < target {
      let now = readPIT()
      elapsed += UInt64(previous &- now)
      previous = now
      polls += 1
      if polls > 10_000_000 { break }
    }
    let ticks = arch_rdtsc() - start
    if elapsed < target {
      let fallback = cpuidTSCFrequency() ?? 1_000_000_000
      log.warn("PIT not counting; assuming TSC \(fallback) Hz")
      return fallback
    }
    return ticks * pitHz / elapsed
  }

  private static func readPIT() -> UInt16 {
    arch_outb(0x43, 0x00)          // latch channel 0
    let low = UInt16(arch_inb(0x40))
    let high = UInt16(arch_inb(0x40))
    return high << 8 | low
  }

  private static func cpuidTSCFrequency() -> UInt64? {
    guard arch_cpuid(0, 0).eax >= 0x16 else { return nil }
    let mhz = UInt64(arch_cpuid(0x16, 0).eax & 0xFFFF)
    return mhz == 0 ? nil : mhz * 1_000_000
  }

  // MARK: The CMOS real-time clock

  private static func cmos(_ register: UInt8) -> UInt8 {
    arch_outb(0x70, register)
    return arch_inb(0x71)
  }

  /// Seconds since the Unix epoch, from the RTC (which holds UTC on QEMU).
  private static func readRTC() -> UInt64 {
    // Wait out an update in progress so the fields agree with each other.
    var spins = 0
    while cmos(0x0A) & 0x80 != 0 && spins < 1_000_000 { spins += 1 }
    var second = cmos(0x00), minute = cmos(0x02), hour = cmos(0x04)
    var day = cmos(0x07), month = cmos(0x08), year = cmos(0x09)
    var century = cmos(0x32)
    let status = cmos(0x0B)
    if status & 0x04 == 0 {
      func binary(_ bcd: UInt8) -> UInt8 { (bcd >> 4) * 10 + (bcd & 0xF) }
      second = binary(second); minute = binary(minute)
      hour = binary(hour & 0x7F) | (hour & 0x80)
      day = binary(day); month = binary(month); year = binary(year)
      century = binary(century)
    }
    if status & 0x02 == 0 && hour & 0x80 != 0 {
      hour = ((hour & 0x7F) + 12) % 24
    }
    let fullYear = Int(century >= 19 && century <= 21 ? century : 20) * 100
      + Int(year)
    let days = daysSinceEpoch(year: fullYear, month: Int(month),
                              day: Int(day))
    return UInt64(days) * 86400 + UInt64(hour) * 3600
      + UInt64(minute) * 60 + UInt64(second)
  }

  /// Days from 1970-01-01 to a proleptic Gregorian date.
  static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
    // Count years from March so the leap day falls at a year's end.
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let shiftedMonth = month > 2 ? month - 3 : month + 9
    let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100
      + dayOfYear
    return era * 146097 + dayOfEra - 719468
  }
}
