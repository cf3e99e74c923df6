// The kernel log: leveled, tagged by subsystem, written to the kernel
// channel as "[seconds] level subsystem: message". Messages are built only
// when their level is enabled, so debug and trace logging cost a comparison
// when off. The level is chosen by the host (`villa run --log-level`).

enum LogLevel: UInt8, Comparable {
  case error, warn, info, debug, trace

  static func < (a: LogLevel, b: LogLevel) -> Bool {
    a.rawValue < b.rawValue
  }

  var name: String {
    switch self {
    case .error: return "error"
    case .warn: return "warn"
    case .info: return "info"
    case .debug: return "debug"
    case .trace: return "trace"
    }
  }

  init?(name: String) {
    switch name {
    case "error": self = .error
    case "warn": self = .warn
    case "info": self = .info
    case "debug": self = .debug
    case "trace": self = .trace
    default: return nil
    }
  }
}

/// A subsystem's log. Each file declares its own once, for example
/// `private let log = Logger("memory")`.
struct Logger {
  let subsystem: String

  init(_ subsystem: String) { self.subsystem = subsystem }

  static var threshold: LogLevel = .info

  func error(_ message: @autoclosure () -> String) { emit(.error, message) }
  func warn(_ message: @autoclosure () -> String) { emit(.warn, message) }
  func info(_ message: @autoclosure () -> String) { emit(.info, message) }
  func debug(_ message: @autoclosure () -> String) { emit(.debug, message) }
  func trace(_ message: @autoclosure () -> String) { emit(.trace, message) }

  func isEnabled(_ level: LogLevel) -> Bool { level <= Logger.threshold }

  private func emit(_ level: LogLevel, _ message: () -> String) {
    guard isEnabled(level) else { return }
    KernelChannel.writeLine(
      "[\(Clock.uptimeText())] \(level.name) \(subsystem): \(message())")
  }
}

/// The kernel channel: log lines and records for the host.
enum KernelChannel {
  /// Writes one line whole: interrupts are off meanwhile, so a record the
  /// timer interrupt writes (a profiler sample) never lands inside it.
  static func writeLine(_ line: String) {
    let guardState = InterruptGuard()
    let port = SerialPort.kernelChannel
    port.write(line)
    port.write(UInt8(ascii: "\n"))
    guardState.restore()
  }
}
