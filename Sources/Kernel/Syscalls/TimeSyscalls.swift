// Clocks and sleeping: clock_gettime(2), clock_getres(2), gettimeofday(2),
// time(2), nanosleep(2), clock_nanosleep(2).
//
// The CPU-time clocks (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID
// and the negative ids of clock_getcpuclockid(3)) read the per-thread
// accounting in Process/CPUTime.swift. The other clocks come from
// Platform/Clock.swift, with the formula the vDSO uses in user mode.

import LinuxABI

enum TimeSyscalls {
  static let nanosecondsPerSecond: UInt64 = 1_000_000_000

  static func register() {
    let d = SyscallDispatcher.self
    d.register(.clockGettime, .implemented) { args throws(Errno) in
      let now = try read(clock: args.int(args.a0))
      try writeTimespec(now, to: args.address(args.a1))
      return 0
    }
    d.register(.clockGetres, .implemented) { args throws(Errno) in
      _ = try read(clock: args.int(args.a0))
      if !args.address(args.a1).isNull {
        let coarse = [5, 6].contains(args.int(args.a0))
        try writeTimespec(coarse ? 4_000_000 : 1, to: args.address(args.a1))
      }
      return 0
    }
    d.register(.gettimeofday, .implemented) { args throws(Errno) in
      let now = Clock.realtimeNanoseconds()
      if !args.address(args.a0).isNull {
        let value = (Int64(now / nanosecondsPerSecond),
                     Int64(now % nanosecondsPerSecond / 1000))
        try UserMemory.write(value, to: args.address(args.a0))
      }
      if !args.address(args.a1).isNull {
        // struct timezone: minutes west of UTC and DST type, both 0.
        try UserMemory.write((Int32(0), Int32(0)), to: args.address(args.a1))
      }
      return 0
    }
    d.register(.time, .implemented) { args throws(Errno) in
      let seconds = Int64(Clock.realtimeNanoseconds() / nanosecondsPerSecond)
      if !args.address(args.a0).isNull {
        try UserMemory.write(seconds, to: args.address(args.a0))
      }
      return Int(seconds)
    }
    d.register(.nanosleep, .implemented) { args throws(Errno) in
      let duration = try readTimespec(at: args.address(args.a0))
      try sleep(until: Clock.monotonicNanoseconds() &+ duration,
                remaining: args.address(args.a1))
      return 0
    }
    d.register(.clockNanosleep, .implemented) { args throws(Errno) in
      let clock = args.int(args.a0)
      // Only TIMER_ABSTIME means anything; Linux ignores other bits.
      let absolute = args.int(args.a1) & 1 != 0
      // A thread's CPU clock cannot be slept on (Linux: EOPNOTSUPP).
      // TODO(time): sleeping until the process CPU clock reaches a value.
      if clock == 3 { throw .EOPNOTSUPP }
      guard [0, 1, 7, 11].contains(clock) else {
        throw .EINVAL
      }
      let request = try readTimespec(at: args.address(args.a2))
      var deadline = Clock.monotonicNanoseconds() &+ request
      if absolute {
        let now = try read(clock: clock)
        deadline = request > now
          ? Clock.monotonicNanoseconds() + (request - now)
          : Clock.monotonicNanoseconds()
      }
      // An absolute sleep has no remaining time to report.
      try sleep(until: deadline,
                remaining: absolute ? UserAddress(0) : args.address(args.a3))
      return 0
    }
  }

  /// Sleeps; a handled signal ends the sleep with EINTR and the time left
  /// written to `remaining`, as nanosleep(2) is never restarted.
  static func sleep(until deadline: UInt64, remaining: UserAddress)
    throws(Errno)
  {
    if Scheduler.sleep(until: deadline) { return }
    if !remaining.isNull {
      let now = Clock.monotonicNanoseconds()
      try writeTimespec(deadline > now ? deadline - now : 0, to: remaining)
    }
    throw .EINTR
  }

  /// A clock's current value in nanoseconds, or EINVAL for a bad id.
  static func read(clock: Int32) throws(Errno) -> UInt64 {
    switch clock {
    case 0, 5, 8, 11:        // REALTIME, REALTIME_COARSE, ..._ALARM, TAI
      // TAI differs from UTC by leap seconds, which Villa does not track:
      // the kernel's TAI offset is 0 until set, as on Linux.
      return Clock.realtimeNanoseconds()
    case 1, 4, 6, 7, 9:      // MONOTONIC, _RAW, _COARSE, BOOTTIME, ..._ALARM
      return Clock.monotonicNanoseconds()
    case 2, 3, ..<0:         // PROCESS_ and THREAD_CPUTIME_ID, encoded ids
      return try CPUTime.read(clock: clock)
    default:
      throw .EINVAL
    }
  }

  static func writeTimespec(_ nanoseconds: UInt64, to address: UserAddress)
    throws(Errno)
  {
    let value = (Int64(nanoseconds / nanosecondsPerSecond),
                 Int64(nanoseconds % nanosecondsPerSecond))
    try UserMemory.write(value, to: address)
  }

  /// Reads a struct timespec, checking it as nanosleep(2) does.
  static func readTimespec(at address: UserAddress) throws(Errno) -> UInt64 {
    let (seconds, nanoseconds) = try UserMemory.read((Int64, Int64).self,
                                                     at: address)
    guard seconds >= 0, nanoseconds >= 0,
      nanoseconds < Int64(nanosecondsPerSecond)
    else { throw .EINVAL }
    let total = UInt64(seconds).multipliedReportingOverflow(
      by: nanosecondsPerSecond)
    if total.overflow { return UInt64.max / 2 }
    return total.partialValue &+ UInt64(nanoseconds)
  }
}
