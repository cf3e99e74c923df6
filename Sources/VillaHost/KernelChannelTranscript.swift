// The host's reading of the kernel channel.
//
// Bytes arrive from the third UART in arbitrary chunks. The splitter cuts
// them into lines (a trailing '\r' dropped, invalid UTF-8 replaced, an
// endless line cut at a limit so a runaway kernel cannot exhaust memory),
// and the transcript keeps what the lines say: the log, the program's
// ending, and a panic with its report and backtrace. Both are pure values,
// fed by the VM pump and by tests alike.

import HostLink

/// Cuts the kernel channel's bytes into lines.
public struct KernelChannelLineSplitter: Sendable {
  /// A line longer than this is delivered in pieces of this size.
  public static let maximumLineLength = 16384

  private var pending: [UInt8] = []

  public init() {}

  /// The complete lines in `bytes` and whatever was pending before them.
  public mutating func lines(from bytes: [UInt8]) -> [String] {
    var result: [String] = []
    for byte in bytes {
      if byte == UInt8(ascii: "\n") {
        result.append(takePending())
        continue
      }
      pending.append(byte)
      if pending.count >= KernelChannelLineSplitter.maximumLineLength {
        result.append(takePending())
      }
    }
    return result
  }

  /// The last line, if the channel ended without a newline.
  public mutating func finish() -> String? {
    pending.isEmpty ? nil : takePending()
  }

  private mutating func takePending() -> String {
    if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
    defer { pending.removeAll(keepingCapacity: true) }
    return String(decoding: pending, as: UTF8.self)
  }
}

/// What the kernel said during one run.
public struct KernelChannelTranscript: Equatable, Sendable {
  /// How many log lines before `@panic` are kept as the panic report.
  public static let panicReportLimit = 40

  /// Every log line, in order.
  public private(set) var log: [String] = []
  /// The first `@exit` or `@signal`.
  public private(set) var ending: ProgramExit?
  /// The first `@panic`'s text.
  public private(set) var panicMessage: String?
  /// The log lines around the panic: those before the `@panic` record
  /// (from the kernel's "PANIC:" line, or the last `panicReportLimit`)
  /// and all after it.
  public private(set) var panicReport: [String] = []
  /// `@frame` addresses, in order.
  public private(set) var frames: [UInt64] = []
  /// `@trace` lines (traced system calls), in order.
  public private(set) var trace: [String] = []
  /// `@counter` values and `@syscall-counter` rows (`--stats`) of the
  /// latest set (each set starts with its format version).
  public private(set) var counters: [KernelCounter] = []
  public private(set) var syscallCounters: [SyscallCounter] = []
  /// The sets the host asked for while the program ran, in order.
  public private(set) var requestedCounters: [CounterSnapshot] = []
  /// The profiler's samples (`--profile`), counted per whole stack.
  public private(set) var profile: ProfileSamples?
  private var profileDecoder = ProfileStackDecoder()

  public init() {}

  /// The kernel begins a panic report with a line "PANIC: message";
  /// when such a line is among the last `panicReportLimit`, the report
  /// starts there, else it is those last lines, whatever they hold.
  static func report(endingWith log: [String]) -> [String] {
    let recent = log.suffix(panicReportLimit)
    if let start = recent.lastIndex(where: { $0.hasPrefix("PANIC:") }) {
      return Array(recent[start...])
    }
    return Array(recent)
  }

  /// Takes one line. Returns the text to show when the user asked for
  /// the kernel log (`--kernel-log`), or nil for a record.
  @discardableResult
  public mutating func take(line: String) -> String? {
    take(KernelChannelRecord(line: line))
  }

  /// Takes one parsed record; see `take(line:)`.
  @discardableResult
  public mutating func take(_ record: KernelChannelRecord) -> String? {
    switch record {
    case .log(let text):
      log.append(text)
      if panicMessage != nil { panicReport.append(text) }
      return text
    case .exit(let code):
      if ending == nil { ending = .exited(code) }
    case .signal(let signal):
      if ending == nil { ending = .signaled(signal) }
    case .panic(let text):
      // A panic while panicking says less than the first; keep the first.
      if panicMessage == nil {
        panicMessage = text
        panicReport = KernelChannelTranscript.report(endingWith: log)
      }
    case .frame(let address):
      frames.append(address)
    case .trace(let text):
      trace.append(text)
    case .counter(let name, let value):
      if name == CounterNames.formatVersion {
        counters = []
        syscallCounters = []
      }
      counters.append(KernelCounter(name: name, value: value))
    case .countersEnd(let reason):
      if reason == "request" {
        requestedCounters.append(CounterSnapshot(
          counters: counters, syscalls: syscallCounters))
      }
    case .syscallCounter(let name, let calls, let errors, let cycles):
      syscallCounters.append(SyscallCounter(name: name, calls: calls,
                                            errors: errors, cycles: cycles))
    case .profile(let version, let frequency, let bias):
      guard version == ProfileFormat.version else {
        log.append("villa: profile format \(version) is not understood")
        return nil
      }
      profile = ProfileSamples(frequency: frequency, loadBias: bias)
      profileDecoder = ProfileStackDecoder()
    case .sample(let record):
      guard profile != nil else { return nil }
      if let stack = profileDecoder.decode(record) {
        profile!.stacks[stack, default: 0] += 1
      } else {
        profile!.lostSamples += 1
      }
    }
    return nil
  }
}

/// The samples of one profile, as the kernel sent them.
public struct ProfileSamples: Equatable, Sendable {
  public var frequency: UInt64
  public var loadBias: UInt64
  /// How many samples had each stack (innermost frame first); the empty
  /// stack counts idle samples.
  public var stacks: [[ProfileFrame]: UInt64] = [:]
  /// Samples that could not be decoded (a record before them was lost).
  public var lostSamples: UInt64 = 0

  public init(frequency: UInt64, loadBias: UInt64) {
    self.frequency = frequency
    self.loadBias = loadBias
  }
}

/// One set of counters, as sent together.
public struct CounterSnapshot: Equatable, Sendable {
  public var counters: [KernelCounter]
  public var syscalls: [SyscallCounter]
}

public struct KernelCounter: Equatable, Sendable {
  public var name: String
  public var value: UInt64
}

public struct SyscallCounter: Equatable, Sendable {
  public var name: String
  public var calls: UInt64
  public var errors: UInt64
  public var cycles: UInt64
}
