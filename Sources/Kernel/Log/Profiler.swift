// The sampling profiler (`villa run --profile`, kernel option
// "profile=HZ"). The one-shot APIC timer is also armed for the next sample
// (Scheduler.armTimer takes the earlier deadline), and when a sample is
// due the timer interrupt records where the CPU was:
//
// - in user mode: the user RIP and the return addresses found by walking
//   the program's frame pointers;
// - in the kernel on a thread's behalf (a system call, a page fault): the
//   kernel RIP and kernel frames, then that thread's user frames, read
//   from the trap frame at the top of its kernel stack;
// - halted in the scheduler with nothing to run: idle.
//
// Each sample goes out at once as one @sample record (format version 1,
// documented in HostLink's KernelChannel): hexadecimal addresses, and the
// outermost frames that equal the previous sample's sent as a count, so a
// loop sampled a thousand times a second costs a few bytes per sample.
//
// User memory is read by looking its pages up in the page table, never by
// touching user addresses: a bad frame pointer, or a stack page not yet
// backed, ends the walk instead of faulting (and demand paging must not
// run inside an interrupt). Nothing here allocates after `start`.

import Arch
import HostLink

enum Profiler {
  /// Samples per second, from the "profile=HZ" option; 0 when off.
  private(set) static var frequency: UInt64 = 0
  /// The program's load bias (non-zero for static PIE), for the host.
  static var loadBias: UInt64 = 0
  /// When the next sample is due (monotonic ns); .max while not sampling.
  private(set) static var nextSampleDeadline = UInt64.max
  private static var period: UInt64 = 0

  /// Frames kept per sample, for each of the kernel and user parts.
  static let maximumDepth = 64
  private static let kernelFrame: UInt64 = 1 << 63
  /// This sample's frames and the previous one's, innermost first; kernel
  /// addresses carry `kernelFrame` (user addresses stay below 2^47).
  private static var frames: UnsafeMutablePointer<UInt64>? = nil
  private static var previous: UnsafeMutablePointer<UInt64>? = nil
  private static var count = 0
  private static var previousCount = 0

  static let minimumFrequency: UInt64 = 1
  static let maximumFrequency: UInt64 = 10_000

  /// Reads "profile=HZ"; false when the value is not a usable rate.
  static func configure(_ option: String) -> Bool {
    guard let hz = UInt64(option.dropFirst("profile=".count)),
      (minimumFrequency...maximumFrequency).contains(hz)
    else { return false }
    frequency = hz
    return true
  }

  /// Starts sampling; called when the program is about to run, so boot
  /// time is not in the profile.
  static func start() {
    guard frequency > 0 else { return }
    frames = UnsafeMutablePointer<UInt64>.allocate(
      capacity: 2 * maximumDepth)
    previous = UnsafeMutablePointer<UInt64>.allocate(
      capacity: 2 * maximumDepth)
    period = 1_000_000_000 / frequency
    KernelChannel.writeLine(KernelChannelRecord.profile(
      version: ProfileFormat.version, frequency: frequency,
      loadBias: loadBias).line)
    nextSampleDeadline = Clock.monotonicNanoseconds() + period
  }

  /// Called from every timer interrupt, with interrupts off; takes a
  /// sample when one is due and moves the deadline on.
  static func timerFired(_ frame: UnsafeMutablePointer<TrapFrame>) {
    guard nextSampleDeadline != UInt64.max else { return }
    let now = Clock.monotonicNanoseconds()
    guard now >= nextSampleDeadline else { return }
    // Samples the CPU could not take (interrupts were off) are skipped,
    // not taken late in a burst: the rate stays even.
    nextSampleDeadline += period
    if nextSampleDeadline <= now { nextSampleDeadline = now + period }
    sample(frame.pointee)
  }

  private static func sample(_ frame: TrapFrame) {
    count = 0
    if frame.fromUserMode {
      walkUser(rip: frame.rip, rbp: frame.rbp)
    } else if let thread = Scheduler.current {
      walkKernel(rip: frame.rip, rbp: frame.rbp,
                 stackTop: thread.kernelStackTop)
      let user = thread.frame.pointee
      walkUser(rip: user.rip, rbp: user.rbp)
    } else {
      // The only place the scheduler's context takes interrupts is its
      // halt: the CPU had nothing to run.
      emitIdle()
      return
    }
    emit()
  }

  // MARK: Walking frames

  /// The kernel's frames: RIP, then return addresses while the saved
  /// frame pointers stay inside this thread's kernel stack, rise, and the
  /// return addresses lie in the kernel's text.
  private static func walkKernel(rip: UInt64, rbp start: UInt64,
                                 stackTop: UInt64)
  {
    let stackBottom = stackTop - UInt64(Thread.kernelStackSize)
    append(rip | kernelFrame)
    var rbp = start
    var depth = 1
    while depth < maximumDepth, rbp % 8 == 0, rbp >= stackBottom,
      rbp + 16 <= stackTop
    {
      // Safe: [rbp, rbp + 16) lies inside the thread's kernel stack,
      // which is mapped kernel memory.
      let pointer = UnsafePointer<UInt64>(bitPattern: UInt(rbp))!
      let returnAddress = pointer[1]
      guard returnAddress >= arch_text_start(),
        returnAddress < arch_text_end()
      else { break }
      append(returnAddress | kernelFrame)
      let next = pointer[0]
      guard next > rbp else { break }
      rbp = next
      depth += 1
    }
  }

  /// The program's frames: RIP, then the return address above each saved
  /// frame pointer, until a pointer is unaligned, does not rise, or points
  /// at a page that is not mapped for the program.
  private static func walkUser(rip: UInt64, rbp start: UInt64) {
    append(rip)
    guard let space = Process.currentOrNil?.addressSpace else { return }
    var rbp = start
    var depth = 1
    while depth < maximumDepth, rbp != 0, rbp % 8 == 0 {
      guard let next = readUserWord(rbp, space),
        let returnAddress = readUserWord(rbp + 8, space),
        returnAddress != 0, returnAddress < AddressSpace.userLimit
      else { break }
      append(returnAddress)
      guard next > rbp else { break }
      rbp = next
      depth += 1
    }
  }

  /// One aligned word of the program's memory, read through the page
  /// table and the direct map; nil unless the page is present and user-
  /// accessible. Never faults.
  private static func readUserWord(_ address: UInt64, _ space: AddressSpace)
    -> UInt64?
  {
    guard address % 8 == 0, address < AddressSpace.userLimit,
      let page = space.pageTable.lookup(address & ~0xFFF),
      page.flags.contains(.user)
    else { return nil }
    // Safe: the frame is mapped (present) and the direct map covers every
    // frame; an aligned word never crosses the page.
    return DirectMap.pointer(page.physical + (address & 0xFFF))
      .load(as: UInt64.self)
  }

  private static func append(_ address: UInt64) {
    guard count < 2 * maximumDepth else { return }
    frames![count] = address
    count += 1
  }

  // MARK: The @sample record

  /// Writes "@sample" and the frames innermost first, a "k" or "u" before
  /// each run of kernel or user frames, and "~N" when the outermost N
  /// frames equal the previous sample's.
  private static func emit() {
    guard let frames, let previous else { return }
    var shared = 0
    while shared < count && shared < previousCount &&
      frames[count - 1 - shared] == previous[previousCount - 1 - shared]
    {
      shared += 1
    }
    let port = SerialPort.kernelChannel
    port.write("@sample")
    var space: UInt64 = 2  // neither kernel nor user yet
    for index in 0..<(count - shared) {
      let address = frames[index]
      let kind = address & kernelFrame
      if kind != space {
        port.write(UInt8(ascii: " "))
        port.write(UInt8(ascii: kind != 0 ? "k" : "u"))
        space = kind
      }
      port.write(UInt8(ascii: " "))
      writeHex(address & ~kernelFrame, to: port)
    }
    if shared > 0 {
      port.write(" ~")
      writeDecimal(UInt64(shared), to: port)
    }
    port.write(UInt8(ascii: "\n"))
    Profiler.frames = previous
    Profiler.previous = frames
    previousCount = count
  }

  private static func emitIdle() {
    SerialPort.kernelChannel.write("@sample i\n")
    // An idle sample shares nothing with the next one.
    previousCount = 0
  }

  private static func writeHex(_ value: UInt64, to port: SerialPort) {
    var shift = 60
    while shift > 0 && (value >> UInt64(shift)) & 0xF == 0 { shift -= 4 }
    while shift >= 0 {
      let digit = UInt8((value >> UInt64(shift)) & 0xF)
      port.write(digit < 10 ? 48 + digit : 87 + digit)
      shift -= 4
    }
  }

  private static func writeDecimal(_ value: UInt64, to port: SerialPort) {
    if value >= 10 { writeDecimal(value / 10, to: port) }
    port.write(UInt8(48 + value % 10))
  }
}
