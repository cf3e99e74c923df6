// The kernel channel: what the kernel tells the host, one line at a time.
//
// The program's stdout and stderr travel on serial ports of their own and
// are never parsed. The third port carries the kernel's log and a few
// records for the host, each a line that starts with '@'. Every other line
// is a log line, shown to the user with `villa run --kernel-log`.
//
//   @exit N        the program exited with status N (0...255)
//   @signal N      the program was killed by signal N
//   @panic TEXT    the kernel panicked; the report precedes this line
//   @frame ADDR    one kernel return address of a panic backtrace (hex),
//                  which the host symbolizes from the kernel ELF
//   @trace TEXT    one traced system call, strace-style (`villa run
//                  --trace`): name(arguments) = result
//   @counter NAME VALUE
//                  one kernel counter (`villa run --stats`), sent when the
//                  program ends; format version 1 (see CounterNames)
//   @syscall-counter NAME CALLS ERRORS CYCLES
//                  one system call's totals, likewise
//   @counters-end REASON
//                  the end of one set of counters: "exit" for the set sent
//                  as the program ends, "request" for one the host asked
//                  for while it ran (by writing `counterDumpRequest` to
//                  the kernel channel's input)
//   @profile VERSION HZ BIAS
//                  sampling starts (`villa run --profile`); see
//                  ProfileFormat.swift for this and the next record
//   @sample TOKEN...
//                  one profiler sample: hex addresses, innermost first

/// One line of the kernel channel, parsed.
public enum KernelChannelRecord: Equatable, Sendable {
  case exit(Int32)
  case signal(Int32)
  case panic(String)
  case frame(UInt64)
  case trace(String)
  case counter(name: String, value: UInt64)
  case syscallCounter(name: String, calls: UInt64, errors: UInt64,
                      cycles: UInt64)
  case countersEnd(reason: String)
  case profile(version: Int, frequency: UInt64, loadBias: UInt64)
  case sample(ProfileSampleRecord)
  case log(String)

  /// Parses one line (without its newline). Malformed records are kept as
  /// log lines, so nothing the kernel said is lost.
  public init(line: String) {
    guard line.hasPrefix("@") else {
      self = .log(line)
      return
    }
    let parts = line.dropFirst().split(
      separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
    let word = parts.first.map(String.init) ?? ""
    let rest = parts.count > 1 ? String(parts[1]) : ""
    switch word {
    case "exit":
      if let code = Int32(rest), (0...255).contains(code) {
        self = .exit(code)
        return
      }
    case "signal":
      if let signal = Int32(rest), (1...64).contains(signal) {
        self = .signal(signal)
        return
      }
    case "panic":
      self = .panic(rest)
      return
    case "frame":
      if let address = UInt64(rest, radix: 16) {
        self = .frame(address)
        return
      }
    case "trace":
      self = .trace(rest)
      return
    case "counter":
      let fields = rest.split(separator: " ")
      if fields.count == 2, let value = UInt64(fields[1]) {
        self = .counter(name: String(fields[0]), value: value)
        return
      }
    case "syscall-counter":
      let fields = rest.split(separator: " ")
      if fields.count == 4, let calls = UInt64(fields[1]),
        let errors = UInt64(fields[2]), let cycles = UInt64(fields[3])
      {
        self = .syscallCounter(name: String(fields[0]), calls: calls,
                               errors: errors, cycles: cycles)
        return
      }
    case "counters-end":
      if !rest.isEmpty && !rest.contains(" ") {
        self = .countersEnd(reason: rest)
        return
      }
    case "profile":
      let fields = rest.split(separator: " ")
      if fields.count == 3, let version = Int(fields[0]),
        let frequency = UInt64(fields[1]),
        let bias = UInt64(fields[2], radix: 16)
      {
        self = .profile(version: version, frequency: frequency,
                        loadBias: bias)
        return
      }
    case "sample":
      if let sample = ProfileSampleRecord(tokens: rest) {
        self = .sample(sample)
        return
      }
    default:
      break
    }
    self = .log(line)
  }

  /// The line for this record, without its newline.
  public var line: String {
    switch self {
    case .exit(let code): return "@exit \(code)"
    case .signal(let signal): return "@signal \(signal)"
    case .panic(let text): return "@panic \(text)"
    case .frame(let address): return "@frame \(String(address, radix: 16))"
    case .trace(let text): return "@trace \(text)"
    case .counter(let name, let value): return "@counter \(name) \(value)"
    case .syscallCounter(let name, let calls, let errors, let cycles):
      return "@syscall-counter \(name) \(calls) \(errors) \(cycles)"
    case .countersEnd(let reason): return "@counters-end \(reason)"
    case .profile(let version, let frequency, let bias):
      return "@profile \(version) \(frequency) \(String(bias, radix: 16))"
    case .sample(let sample): return "@sample \(sample.tokens)"
    case .log(let text): return text
    }
  }
}

/// The I/O ports and exit codes both sides agree on.
public enum MachineContract {
  /// 16550 UART base ports: program stdout, program stderr, kernel channel.
  public static let stdoutPort: UInt16 = 0x3F8
  public static let stderrPort: UInt16 = 0x2F8
  public static let kernelPort: UInt16 = 0x3E8
  /// The kernel channel's ISA interrupt line: its UART interrupts when
  /// the host writes to it (the other two UARTs are output only).
  public static let kernelChannelIRQ = 6
  /// The byte the host writes to the kernel channel to ask for the
  /// counters now (`@counters-end request` ends the answer).
  public static let counterDumpRequest = UInt8(ascii: "c")
  /// QEMU's isa-debug-exit device.
  public static let debugExitPort: UInt16 = 0xF4
  /// Values the kernel writes to the debug-exit port. QEMU exits with
  /// (value << 1) | 1, so the host sees 1 and 3.
  public static let debugExitNormal: UInt32 = 0
  public static let debugExitPanic: UInt32 = 1
  public static let qemuStatusNormal: Int32 = 1
  public static let qemuStatusPanic: Int32 = 3
}

/// The counters the kernel reports, format version 1. Times are in TSC
/// cycles unless the name ends in -ns; "tsc-hz" converts them.
public enum CounterNames {
  public static let formatVersion = "counters-version"
  public static let tscHz = "tsc-hz"
  public static let uptime = "uptime-ns"
  public static let idle = "idle-ns"
  public static let userTime = "user-ns"
  public static let kernelTime = "kernel-ns"
  public static let pageFaults = "page-faults"
  public static let majorPageFaults = "major-page-faults"
  public static let voluntarySwitches = "context-switches-voluntary"
  public static let involuntarySwitches = "context-switches-involuntary"
  public static let timerInterrupts = "timer-interrupts"
  public static let deviceInterrupts = "device-interrupts"
  public static let blockReadBytes = "block-read-bytes"
  public static let blockWriteBytes = "block-write-bytes"
  public static let blockOperations = "block-operations"
  public static let packetsReceived = "net-packets-received"
  public static let packetsSent = "net-packets-sent"
  public static let bytesReceived = "net-bytes-received"
  public static let bytesSent = "net-bytes-sent"
  public static let tcpRetransmits = "tcp-retransmits"
  public static let heapBytes = "heap-bytes"
  public static let heapPeakBytes = "heap-peak-bytes"
  public static let framesUsed = "frames-used"
  public static let framesPeak = "frames-peak"
  public static let syscalls = "syscalls"
}
