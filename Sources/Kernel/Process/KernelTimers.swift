// Timers that fire on their own: alarm(2) and setitimer(2) (ITIMER_REAL),
// POSIX timers (timer_create(2)) and timerfd(2). Each is a deadline on the
// monotonic clock, an optional interval, and what firing does: queue a
// signal, bump a timerfd's expiry count, or run kernel work (the network
// stack's timers). The scheduler arms the APIC
// timer for the nearest deadline and calls `fireDue` on every timer
// interrupt and idle wake-up.

import LinuxABI

final class KernelTimer {
  enum Action {
    case signal(Int32, code: Int32, value: UInt64)
    case signalThread(Int32, tid: Int32, value: UInt64)
    case timerFile(TimerFile)
    /// Kernel work that is not a process's (the network stack's timers):
    /// runs with interrupts off, whether or not a program is running.
    case kernel(() -> Void)
    case none
  }

  var deadline: UInt64? = nil
  var interval: UInt64 = 0
  var action: Action
  /// Expirations since last collected (POSIX timer overruns).
  var overruns: Int = 0
  let id: Int32

  init(id: Int32, action: Action) {
    self.id = id
    self.action = action
  }

  /// Time left until the next expiry, 0 if disarmed.
  func remaining(now: UInt64) -> UInt64 {
    guard let deadline else { return 0 }
    return deadline > now ? deadline - now : 1
  }
}

enum KernelTimers {
  private(set) static var armed: [KernelTimer] = []

  static func arm(_ timer: KernelTimer, after delay: UInt64,
                  interval: UInt64)
  {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    armed.removeAll { $0 === timer }
    timer.interval = interval
    if delay == 0 {
      timer.deadline = nil
      return
    }
    timer.deadline = Clock.monotonicNanoseconds() &+ delay
    armed.append(timer)
    // The running thread may spin without entering the kernel again, so
    // the APIC timer must know about this deadline now.
    Scheduler.rearmTimer()
  }

  static func disarm(_ timer: KernelTimer) {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    armed.removeAll { $0 === timer }
    timer.deadline = nil
  }

  static var nearestDeadline: UInt64? {
    armed.compactMap { $0.deadline }.min()
  }

  /// Fires every timer whose deadline has passed; periodic ones re-arm,
  /// counting the periods missed as one expiry each.
  static func fireDue(now: UInt64) {
    guard !armed.isEmpty else { return }
    var kept: [KernelTimer] = []
    var due: [(KernelTimer, Int)] = []
    for timer in armed {
      guard let deadline = timer.deadline else { continue }
      if deadline > now {
        kept.append(timer)
        continue
      }
      var expirations = 1
      if timer.interval > 0 {
        let late = now - deadline
        expirations += Int(late / timer.interval)
        timer.deadline = deadline &+ UInt64(expirations) &* timer.interval
        kept.append(timer)
      } else {
        timer.deadline = nil
      }
      due.append((timer, expirations))
    }
    armed = kept
    for (timer, expirations) in due { fire(timer, expirations) }
  }

  private static func fire(_ timer: KernelTimer, _ expirations: Int) {
    if case .kernel(let work) = timer.action {
      work()
      return
    }
    guard let process = Process.currentOrNil else { return }
    switch timer.action {
    case .signal(let signal, let code, let value):
      timer.overruns += expirations - 1
      var info = SignalInfo(signal: signal, code: code)
      info.timerID = timer.id
      info.timerValue = value
      Signals.send(info, to: process)
    case .signalThread(let signal, let tid, let value):
      timer.overruns += expirations - 1
      guard let thread = process.threads.first(where: {
        $0.tid == tid && $0.state != .exited
      }) else { return }
      var info = SignalInfo(signal: signal, code: SignalInfo.codeTimer)
      info.timerID = timer.id
      info.timerValue = value
      Signals.send(info, to: thread)
    case .timerFile(let file):
      file.expire(count: UInt64(expirations))
    case .kernel, .none:
      break
    }
  }
}

/// timerfd(2): a file that becomes readable when its timer expires and
/// reads as the number of expirations since the last read.
final class TimerFile: OpenFile {
  let clock: Int32
  private var expirations: UInt64 = 0
  lazy var timer = KernelTimer(id: 0, action: .timerFile(self))

  init(clock: Int32, flags: UInt32) {
    self.clock = clock
    super.init()
    statusFlags = OpenFlags.rdwr.rawValue | (flags & OpenFile.nonBlockFlag)
  }

  func expire(count: UInt64) {
    expirations &+= count
    notifyChanged()
  }

  func resetExpirations() { expirations = 0 }

  override func read(into buffer: UnsafeMutableRawBufferPointer,
                     mayBlock: Bool) throws(Errno) -> Int
  {
    guard buffer.count >= 8 else { throw .EINVAL }
    while expirations == 0 {
      guard mayBlock else { throw .EAGAIN }
      try Readiness.wait()
    }
    buffer.storeBytes(of: expirations, as: UInt64.self)
    expirations = 0
    return 8
  }

  override func pollEvents() -> UInt32 {
    expirations > 0 ? PollEvents.input : 0
  }

  override func lastDescriptorClosed() {
    KernelTimers.disarm(timer)
    timer.action = .none   // break the file-timer reference cycle
  }

  override func status() -> Stat {
    var stat = super.status()
    stat.mode = FileMode(rawValue: 0o600)
    return stat
  }

  override var procName: [UInt8] { Array("anon_inode:[timerfd]".utf8) }
}
