// perf-style counters. Each is a plain integer bumped where the event
// happens (one CPU, no locks needed); the per-syscall ones live in the
// dispatcher. With the "stats" option the kernel sends them all to the
// host when the program ends, as @counter and @syscall-counter records
// (format version 1, names in HostLink's CounterNames) closed by
// "@counters-end exit", and `villa run --stats` renders them. The host
// may also ask for them while the program runs (HostRequests).

import Arch
import HostLink
import LinuxABI

enum Counters {
  /// Why a set of counters is sent.
  enum Reason: String {
    case exit
    case request
  }

  static var enabled = false
#if VILLA_NO_COUNTERS
  // Built with -DVILLA_NO_COUNTERS (bench/counters.sh), to measure what
  // counting costs: every counter reads 0 and bumping it compiles to
  // nothing. The dispatcher leaves out its per-call figures likewise.
  static var pageFaults: UInt64 { get { 0 } set {} }
  static var voluntarySwitches: UInt64 { get { 0 } set {} }
  static var involuntarySwitches: UInt64 { get { 0 } set {} }
  static var timerInterrupts: UInt64 { get { 0 } set {} }
  static var deviceInterrupts: UInt64 { get { 0 } set {} }
  static var syscallCycles: UInt64 { get { 0 } set {} }
#else
  static var pageFaults: UInt64 = 0
  static var voluntarySwitches: UInt64 = 0
  static var involuntarySwitches: UInt64 = 0
  static var timerInterrupts: UInt64 = 0
  static var deviceInterrupts: UInt64 = 0
  /// Cycles spent handling system calls (kernel time on their behalf).
  static var syscallCycles: UInt64 = 0
#endif

  /// Sends every counter: as the program ends when "stats" is on, and
  /// whenever the host asks.
  static func report(reason: Reason = .exit) {
    guard enabled || reason == .request else { return }
    func send(_ name: String, _ value: UInt64) {
      KernelChannel.writeLine(
        KernelChannelRecord.counter(name: name, value: value).line)
    }
    let uptime = Clock.monotonicNanoseconds()
    let idle = Scheduler.idleNanosecondsNow
    let kernel = Clock.nanoseconds(ticks: syscallCycles)
    let busy = uptime > idle ? uptime - idle : 0
    send(CounterNames.formatVersion, 1)
    send(CounterNames.tscHz, Clock.tscHz)
    send(CounterNames.uptime, uptime)
    send(CounterNames.idle, idle)
    send(CounterNames.kernelTime, min(kernel, busy))
    send(CounterNames.userTime, busy > kernel ? busy - kernel : 0)
    send(CounterNames.pageFaults, pageFaults)
    send(CounterNames.majorPageFaults, 0)
    send(CounterNames.voluntarySwitches, voluntarySwitches)
    send(CounterNames.involuntarySwitches, involuntarySwitches)
    send(CounterNames.timerInterrupts, timerInterrupts)
    send(CounterNames.deviceInterrupts, deviceInterrupts)
    var readBytes: UInt64 = 0
    var writeBytes: UInt64 = 0
    var operations: UInt64 = 0
    for disk in Devices.disks {
      readBytes += disk.bytesRead
      writeBytes += disk.bytesWritten
      operations += disk.operations
    }
    send(CounterNames.blockReadBytes, readBytes)
    send(CounterNames.blockWriteBytes, writeBytes)
    send(CounterNames.blockOperations, operations)
    var packetsIn: UInt64 = 0, packetsOut: UInt64 = 0
    var bytesIn: UInt64 = 0, bytesOut: UInt64 = 0
    for network in Devices.networks {
      packetsIn += network.packetsReceived
      packetsOut += network.packetsSent
      bytesIn += network.bytesReceived
      bytesOut += network.bytesSent
    }
    send(CounterNames.packetsReceived, packetsIn)
    send(CounterNames.packetsSent, packetsOut)
    send(CounterNames.bytesReceived, bytesIn)
    send(CounterNames.bytesSent, bytesOut)
    send(CounterNames.heapBytes, UInt64(Heap.bytesInUse))
    send(CounterNames.heapPeakBytes, UInt64(Heap.peakBytesInUse))
    send(CounterNames.framesUsed, FrameAllocator.usedFrames)
    send(CounterNames.framesPeak, FrameAllocator.peakUsedFrames)
    let table = SyscallDispatcher.statistics
    var total: UInt64 = 0
    for (number, entry) in table.enumerated() where entry.calls > 0 {
      total += entry.calls
      KernelChannel.writeLine(KernelChannelRecord.syscallCounter(
        name: SyscallTable.name(of: number) ?? "syscall_\(number)",
        calls: entry.calls, errors: entry.errors,
        cycles: entry.cycles).line)
    }
    send(CounterNames.syscalls, total)
    KernelChannel.writeLine(
      KernelChannelRecord.countersEnd(reason: reason.rawValue).line)
  }
}
