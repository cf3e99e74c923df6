// `villa run --stats`: the kernel's counters after the program's own
// output, as a `perf stat`-like summary and an `strace -c`-like table of
// system calls; `--stats-json FILE` writes the same figures for scripts.
// The counters arrive as @counter and @syscall-counter records (HostLink's
// CounterNames, format version 1).

import Foundation
import HostLink

public enum StatsReport {
  /// The text report, one line each.
  public static func text(program: String,
                          counters: [KernelCounter],
                          syscalls: [SyscallCounter]) -> [String]
  {
    var value: [String: UInt64] = [:]
    for counter in counters { value[counter.name] = counter.value }
    func get(_ name: String) -> UInt64 { value[name] ?? 0 }
    func milliseconds(_ ns: UInt64) -> String {
      String(format: "%.3f", Double(ns) / 1e6)
    }
    func row(_ number: String, _ label: String) -> String {
      String(repeating: " ", count: max(1, 16 - number.count)) + number
        + "      " + label
    }
    let tscHz = max(get(CounterNames.tscHz), 1)
    var lines = [
      "",
      " Counters for '\(program)' in Villa:",
      "",
      row(milliseconds(get(CounterNames.uptime)),
          "msec since boot (idle \(milliseconds(get(CounterNames.idle))))"),
      row(milliseconds(get(CounterNames.userTime)), "msec user"),
      row(milliseconds(get(CounterNames.kernelTime)),
          "msec kernel (in system calls)"),
      row("\(get(CounterNames.pageFaults))", "page-faults"),
      row("\(get(CounterNames.voluntarySwitches) + get(CounterNames.involuntarySwitches))",
          "context-switches (\(get(CounterNames.voluntarySwitches)) voluntary,"
            + " \(get(CounterNames.involuntarySwitches)) involuntary)"),
      row("\(get(CounterNames.timerInterrupts))", "timer interrupts"),
      row("\(get(CounterNames.deviceInterrupts))", "device interrupts"),
      row("\(get(CounterNames.blockReadBytes))",
          "bytes read from disk"),
      row("\(get(CounterNames.blockWriteBytes))",
          "bytes written to disk (\(get(CounterNames.blockOperations)) requests)"),
      row("\(get(CounterNames.packetsReceived))",
          "packets received (\(get(CounterNames.bytesReceived)) bytes)"),
      row("\(get(CounterNames.packetsSent))",
          "packets sent (\(get(CounterNames.bytesSent)) bytes)"),
      row("\(get(CounterNames.heapPeakBytes) / 1024)",
          "KiB kernel heap at peak (\(get(CounterNames.heapBytes) / 1024) now)"),
      row("\(get(CounterNames.framesPeak) * 4)",
          "KiB of page frames at peak (\(get(CounterNames.framesUsed) * 4) now)"),
      "",
    ]
    let totalCycles = syscalls.reduce(0) { $0 + $1.cycles }
    let totalCalls = syscalls.reduce(0) { $0 + $1.calls }
    let totalErrors = syscalls.reduce(0) { $0 + $1.errors }
    lines.append("% time     seconds  usecs/call     calls    errors syscall")
    lines.append("------ ----------- ----------- --------- --------- ----------------")
    func seconds(_ cycles: UInt64) -> Double { Double(cycles) / Double(tscHz) }
    for entry in syscalls.sorted(by: { $0.cycles > $1.cycles }) {
      let share = totalCycles == 0 ? 0
        : 100 * Double(entry.cycles) / Double(totalCycles)
      let perCall = seconds(entry.cycles) * 1e6 / Double(max(entry.calls, 1))
      lines.append(String(
        format: "%6.2f %11.6f %11.0f %9llu ", share,
        seconds(entry.cycles), perCall, entry.calls)
        + pad(entry.errors == 0 ? "" : "\(entry.errors)", 9) + " "
        + entry.name)
    }
    lines.append("------ ----------- ----------- --------- --------- ----------------")
    lines.append(String(
      format: "100.00 %11.6f %11.0f %9llu ", seconds(totalCycles),
      seconds(totalCycles) * 1e6 / Double(max(totalCalls, 1)), totalCalls)
      + pad(totalErrors == 0 ? "" : "\(totalErrors)", 9) + " total")
    return lines
  }

  /// Right-aligns `text` in `width` columns.
  static func pad(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
  }

  /// The figures as JSON: {"counters": {...}, "syscalls": [...]}.
  public static func json(counters: [KernelCounter],
                          syscalls: [SyscallCounter]) -> Data
  {
    var counterObject: [String: UInt64] = [:]
    for counter in counters { counterObject[counter.name] = counter.value }
    let rows = syscalls.map {
      ["name": $0.name, "calls": $0.calls, "errors": $0.errors,
       "cycles": $0.cycles] as [String: Any]
    }
    let object: [String: Any] = ["counters": counterObject, "syscalls": rows]
    return (try? JSONSerialization.data(
      withJSONObject: object, options: [.prettyPrinted, .sortedKeys]))
      ?? Data()
  }
}
