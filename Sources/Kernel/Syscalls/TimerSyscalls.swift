// Timers: alarm(2), setitimer(2), getitimer(2), timer_create(2),
// timer_settime(2), timer_gettime(2), timer_getoverrun(2),
// timer_delete(2), timerfd_create(2), timerfd_settime(2),
// timerfd_gettime(2). They all run on KernelTimers.

import LinuxABI

private let log = Logger("timer")

enum TimerSyscalls {
  private static var realTimer: KernelTimer? = nil
  private static var posixTimers: [KernelTimer] = []
  private static var nextTimerID: Int32 = 0

  static func register() {
    let d = SyscallDispatcher.self
    d.register(.alarm, .implemented) { a throws(Errno) in
      let timer = itimerReal()
      let now = Clock.monotonicNanoseconds()
      let left = timer.remaining(now: now)
      KernelTimers.arm(timer, after: UInt64(UInt32(truncatingIfNeeded: a.a0))
        &* 1_000_000_000, interval: 0)
      // Whole seconds left, rounded up, as alarm(2) returns.
      return Int((left + 999_999_999) / 1_000_000_000)
    }
    d.register(.setitimer, .implemented) { a throws(Errno) in
      let which = a.int(a.a0)
      guard which >= 0 && which <= 2 else { throw .EINVAL }
      if which != 0 {
        try setCPUTimer(which == 1 ? CPUTime.virtualTimer
                          : CPUTime.profilingTimer,
                        new: a.address(a.a1), old: a.address(a.a2))
        return 0
      }
      let timer = itimerReal()
      if !a.address(a.a2).isNull {
        try writeTimeval(timer, to: a.address(a.a2))
      }
      if a.address(a.a1).isNull {
        KernelTimers.disarm(timer)
        return 0
      }
      let value = try UserMemory.read((Int64, Int64, Int64, Int64).self,
                                      at: a.address(a.a1))
      let interval = try nanoseconds(seconds: value.0, micros: value.1)
      let delay = try nanoseconds(seconds: value.2, micros: value.3)
      KernelTimers.arm(timer, after: delay, interval: interval)
      return 0
    }
    d.register(.getitimer, .implemented) { a throws(Errno) in
      switch a.int(a.a0) {
      case 0: try writeTimeval(itimerReal(), to: a.address(a.a1))
      case 1: try writeTimeval(CPUTime.virtualTimer, to: a.address(a.a1))
      case 2: try writeTimeval(CPUTime.profilingTimer, to: a.address(a.a1))
      default: throw .EINVAL
      }
      return 0
    }
    d.register(.timerCreate, .partial("SIGEV_SIGNAL, SIGEV_THREAD_ID, "
      + "SIGEV_NONE; no CPU-time clocks")) { a throws(Errno) in
      try timerCreate(clock: a.int(a.a0), event: a.address(a.a1),
                      result: a.address(a.a2))
    }
    d.register(.timerSettime, .implemented) { a throws(Errno) in
      let timer = try posixTimer(a.int(a.a0))
      try settime(timer, flags: a.int(a.a1), clock: 1,
                  new: a.address(a.a2), old: a.address(a.a3))
      return 0
    }
    d.register(.timerGettime, .implemented) { a throws(Errno) in
      try writeItimerspec(try posixTimer(a.int(a.a0)), to: a.address(a.a1))
      return 0
    }
    d.register(.timerGetoverrun, .implemented) { a throws(Errno) in
      let timer = try posixTimer(a.int(a.a0))
      return min(timer.overruns, Int(Int32.max))
    }
    d.register(.timerDelete, .implemented) { a throws(Errno) in
      let timer = try posixTimer(a.int(a.a0))
      KernelTimers.disarm(timer)
      posixTimers.removeAll { $0 === timer }
      return 0
    }
    d.register(.timerfdCreate, .implemented) { a throws(Errno) in
      let clock = a.int(a.a0)
      let flags = UInt32(truncatingIfNeeded: a.a1)
      guard [0, 1, 7, 8, 9].contains(clock) else { throw .EINVAL }
      guard flags & ~(PipeSyscalls.closeOnExecFlag | OpenFile.nonBlockFlag)
        == 0 else { throw .EINVAL }
      let file = TimerFile(clock: clock, flags: flags)
      let files = Process.current.files
      let fd = try files.install(file)
      files.setCloseOnExec(fd, flags & PipeSyscalls.closeOnExecFlag != 0)
      return Int(fd)
    }
    d.register(.timerfdSettime, .partial("no TFD_TIMER_CANCEL_ON_SET")) {
      a throws(Errno) in
      guard let file = try Process.current.files.get(a.int(a.a0))
        as? TimerFile else { throw .EINVAL }
      let flags = a.int(a.a1)
      guard flags & ~3 == 0 else { throw .EINVAL }
      try settime(file.timer, flags: flags & 1, clock: file.clock,
                  new: a.address(a.a2), old: a.address(a.a3))
      file.resetExpirations()
      return 0
    }
    d.register(.timerfdGettime, .implemented) { a throws(Errno) in
      guard let file = try Process.current.files.get(a.int(a.a0))
        as? TimerFile else { throw .EINVAL }
      try writeItimerspec(file.timer, to: a.address(a.a1))
      return 0
    }
  }

  private static func itimerReal() -> KernelTimer {
    if let timer = realTimer { return timer }
    let timer = KernelTimer(
      id: 0, action: .signal(Signal.alrm.rawValue,
                             code: SignalInfo.codeKernel, value: 0))
    realTimer = timer
    return timer
  }

  /// setitimer(2) for ITIMER_VIRTUAL and ITIMER_PROF: the value is CPU
  /// time; a zero value disarms.
  private static func setCPUTimer(_ timer: CPUIntervalTimer,
                                  new: UserAddress, old: UserAddress)
    throws(Errno)
  {
    var value = (interval: UInt64(0), delay: UInt64(0))
    if !new.isNull {
      let raw = try UserMemory.read((Int64, Int64, Int64, Int64).self,
                                    at: new)
      value = (try nanoseconds(seconds: raw.0, micros: raw.1),
               try nanoseconds(seconds: raw.2, micros: raw.3))
    }
    if !old.isNull { try writeTimeval(timer, to: old) }
    let guardState = InterruptGuard()
    timer.remaining = value.delay
    timer.interval = value.delay == 0 ? 0 : value.interval
    CPUTime.timersChanged()
    guardState.restore()
    // The thread may now spin in user mode until the timer fires.
    Scheduler.rearmTimer()
  }

  private static func writeTimeval(_ timer: CPUIntervalTimer,
                                    to address: UserAddress) throws(Errno)
  {
    try UserMemory.write(
      (Int64(timer.interval / 1_000_000_000),
       Int64(timer.interval % 1_000_000_000 / 1000),
       Int64(timer.remaining / 1_000_000_000),
       Int64(timer.remaining % 1_000_000_000 / 1000)),
      to: address)
  }

  static func nanoseconds(seconds: Int64, micros: Int64) throws(Errno)
    -> UInt64
  {
    guard seconds >= 0, micros >= 0, micros < 1_000_000 else { throw .EINVAL }
    return UInt64(seconds) &* 1_000_000_000 &+ UInt64(micros) &* 1000
  }

  private static func writeTimeval(_ timer: KernelTimer, to address: UserAddress)
    throws(Errno)
  {
    let left = timer.remaining(now: Clock.monotonicNanoseconds())
    try UserMemory.write(
      (Int64(timer.interval / 1_000_000_000),
       Int64(timer.interval % 1_000_000_000 / 1000),
       Int64(left / 1_000_000_000), Int64(left % 1_000_000_000 / 1000)),
      to: address)
  }

  /// struct itimerspec: interval then value, each a timespec.
  private static func writeItimerspec(_ timer: KernelTimer,
                                      to address: UserAddress) throws(Errno)
  {
    let left = timer.remaining(now: Clock.monotonicNanoseconds())
    try UserMemory.write(
      (Int64(timer.interval / 1_000_000_000),
       Int64(timer.interval % 1_000_000_000),
       Int64(left / 1_000_000_000), Int64(left % 1_000_000_000)),
      to: address)
  }

  private static func settime(_ timer: KernelTimer, flags: Int32,
                              clock: Int32, new: UserAddress,
                              old: UserAddress) throws(Errno)
  {
    guard flags & ~1 == 0 else { throw .EINVAL }
    let spec = try UserMemory.read((Int64, Int64, Int64, Int64).self, at: new)
    for (seconds, nanoseconds) in [(spec.0, spec.1), (spec.2, spec.3)] {
      guard seconds >= 0, nanoseconds >= 0, nanoseconds < 1_000_000_000
      else { throw .EINVAL }
    }
    if !old.isNull { try writeItimerspec(timer, to: old) }
    let interval = UInt64(spec.0) &* 1_000_000_000 &+ UInt64(spec.1)
    var delay = UInt64(spec.2) &* 1_000_000_000 &+ UInt64(spec.3)
    if delay != 0 && flags & 1 != 0 {
      // TIMER_ABSTIME: the value is a time on the timer's clock.
      let now = try TimeSyscalls.read(clock: clock)
      delay = delay > now ? delay - now : 1
    }
    timer.overruns = 0
    KernelTimers.arm(timer, after: delay, interval: interval)
  }

  /// struct sigevent: sigev_value (8), sigev_signo (4), sigev_notify (4),
  /// then for SIGEV_THREAD_ID the thread id (4).
  private static func timerCreate(clock: Int32, event: UserAddress,
                                  result: UserAddress) throws(Errno) -> Int
  {
    guard [0, 1, 7, 11].contains(clock) else {
      if clock == 2 || clock == 3 {
        log.warn("timer_create: CPU-time clocks are not supported")
      }
      throw .EINVAL
    }
    let id = nextTimerID
    var action = KernelTimer.Action.signal(
      Signal.alrm.rawValue, code: SignalInfo.codeTimer, value: UInt64(id))
    if !event.isNull {
      let raw = try UserMemory.readBytes(at: event, count: 20)
      let value: UInt64 = raw.load(at: 0)
      let signal: Int32 = raw.load(at: 8)
      let notify: Int32 = raw.load(at: 12)
      switch notify {
      case 0:  // SIGEV_SIGNAL
        try SignalSyscalls.checkSignal(signal)
        action = .signal(signal, code: SignalInfo.codeTimer, value: value)
      case 1:  // SIGEV_NONE
        action = .none
      case 4:  // SIGEV_THREAD_ID
        try SignalSyscalls.checkSignal(signal)
        let tid: Int32 = raw.load(at: 16)
        _ = try SignalSyscalls.findThread(tid)
        action = .signalThread(signal, tid: tid, value: value)
      default:
        throw .EINVAL
      }
    }
    try UserMemory.write(id, to: result)
    nextTimerID += 1
    posixTimers.append(KernelTimer(id: id, action: action))
    return 0
  }

  private static func posixTimer(_ id: Int32) throws(Errno) -> KernelTimer {
    guard let timer = posixTimers.first(where: { $0.id == id }) else {
      throw .EINVAL
    }
    return timer
  }
}
