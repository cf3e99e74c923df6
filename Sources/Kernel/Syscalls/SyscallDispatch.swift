// The system-call edge: villa_syscall (called from entry.S) looks the
// number up in the table, runs the handler, and turns a thrown Errno into
// the negative result Linux returns. This is the one place errors become
// numbers. A number with no handler returns ENOSYS and is logged once, by
// name, so a program's missing pieces show up in the kernel log.

import Arch
import LinuxABI

private let log = Logger("syscall")

/// The arguments of one system call, in the registers Linux uses
/// (rdi, rsi, rdx, r10, r8, r9), and the frame for the few calls that
/// need the rest of the user state.
struct SyscallArguments {
  let frame: UnsafeMutablePointer<TrapFrame>

  /// The number in rax; values that do not fit an Int (rax >= 2^63) come
  /// out negative, which no table entry matches.
  var number: Int { Int(bitPattern: UInt(frame.pointee.rax)) }
  var a0: UInt64 { frame.pointee.rdi }
  var a1: UInt64 { frame.pointee.rsi }
  var a2: UInt64 { frame.pointee.rdx }
  var a3: UInt64 { frame.pointee.r10 }
  var a4: UInt64 { frame.pointee.r8 }
  var a5: UInt64 { frame.pointee.r9 }

  /// An argument as a C int (the low 32 bits, sign-extended).
  func int(_ value: UInt64) -> Int32 { Int32(truncatingIfNeeded: value) }
  func address(_ value: UInt64) -> UserAddress { UserAddress(value) }
}

typealias SyscallHandler = (SyscallArguments) throws(Errno) -> Int

/// How completely Villa implements a system call; docs/syscalls.md is
/// generated from these.
enum SyscallSupport {
  case implemented
  /// Works for the common cases; the text names what is missing.
  case partial(String)
}

struct SyscallEntry {
  let handler: SyscallHandler
  let support: SyscallSupport
}

enum SyscallDispatcher {
  private static var table: [SyscallEntry?] = []
  private static var reportedMissing: [Bool] = []
  /// Numbers beyond the table already logged (kept small: a program
  /// probing many bogus numbers logs the first few dozen).
  private static var reportedUnknown: [Int] = []
  /// Per number: calls, failed calls, cycles spent (for --stats).
  private(set) static var statistics:
    [(calls: UInt64, errors: UInt64, cycles: UInt64)] = []

  static func initialize() {
    let size = SyscallTable.highest + 1
    table = [SyscallEntry?](repeating: nil, count: size)
    reportedMissing = [Bool](repeating: false, count: size)
    statistics = [(calls: UInt64, errors: UInt64, cycles: UInt64)](
      repeating: (0, 0, 0), count: size)
    registerAllSyscalls()
  }

  static func register(_ number: SyscallNumber, _ support: SyscallSupport,
                       _ handler: @escaping SyscallHandler)
  {
    table[number.rawValue] = SyscallEntry(handler: handler, support: support)
  }

  static func support(of number: Int) -> SyscallSupport? {
    guard number >= 0 && number < table.count else { return nil }
    return table[number]?.support
  }

  static func dispatch(_ frame: UnsafeMutablePointer<TrapFrame>) {
    // Whatever the call checks from here on is newer than this.
    Scheduler.current?.readinessSeen = Readiness.epoch
    let arguments = SyscallArguments(frame: frame)
    let number = arguments.number
    let tracing = SyscallTrace.shouldTrace(number)
    var inputs: [String] = []
    if tracing {
      inputs = SyscallTrace.capture(number: number, arguments: arguments)
      if number == SyscallNumber.exitGroup.rawValue ||
        number == SyscallNumber.exit.rawValue
      {
        // These never return; show them before they end the thread.
        let line = SyscallTrace.line(number: number, arguments: arguments,
                                     inputs: inputs, result: 0)
        KernelChannel.writeLine("@trace "
          + String(line.dropLast(1)) + "?")
      }
    }
    var result: Int
#if !VILLA_NO_COUNTERS
    let start = arch_rdtsc()
#endif
    if number >= 0 && number < table.count, let entry = table[number] {
      do {
        result = try entry.handler(arguments)
      } catch {
        result = error.syscallResult
      }
    } else {
      result = Errno.ENOSYS.syscallResult
      reportMissing(number)
    }
#if !VILLA_NO_COUNTERS
    if number >= 0 && number < statistics.count {
      let cycles = arch_rdtsc() &- start
      statistics[number].calls &+= 1
      statistics[number].cycles &+= cycles
      if result < 0 && result >= -4095 { statistics[number].errors &+= 1 }
      Counters.syscallCycles &+= cycles
    }
#endif
    if tracing {
      KernelChannel.writeLine("@trace " + SyscallTrace.line(
        number: number, arguments: arguments, inputs: inputs,
        result: result))
    }
    frame.pointee.rax = UInt64(bitPattern: Int64(result))
  }

  private static func reportMissing(_ number: Int) {
    if number >= 0 && number < reportedMissing.count {
      if reportedMissing[number] { return }
      reportedMissing[number] = true
    } else {
      if reportedUnknown.contains(number) || reportedUnknown.count >= 64 {
        return
      }
      reportedUnknown.append(number)
    }
    let name = SyscallTable.name(of: number) ?? "unknown"
    log.warn("unimplemented syscall \(name) (\(number)): ENOSYS")
  }
}

@_cdecl("villa_syscall")
func villaSyscall(_ rawFrame: UnsafeMutableRawPointer) {
  let frame = rawFrame.assumingMemoryBound(to: TrapFrame.self)
  let number = frame.pointee.rax
  CPUTime.enterKernel()
  SyscallDispatcher.dispatch(frame)
  Signals.deliver(frame: frame, syscallNumber: number)
  CPUTime.leaveKernel()
}
