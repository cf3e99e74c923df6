// Clock IDs of clock_gettime(2), clock_nanosleep(2), timer_create(2) and
// timerfd_create(2), and the TIMER_ABSTIME flag, with Linux's values
// (linux/time.h). ID 10 once named an SGI clock and is unused.
//
// Constant names drop the CLOCK_ prefix and use lowerCamelCase, so
// CLOCK_MONOTONIC_RAW is `ClockID.monotonicRaw`.

/// A `clockid_t`. Negative values encode per-process and per-thread CPU
/// clocks and dynamic clocks (clock_getcpuclockid(3)); they can be wrapped
/// but are not named here.
public struct ClockID: RawRepresentable, Hashable, Sendable {
  public var rawValue: Int32

  public init(rawValue: Int32) {
    self.rawValue = rawValue
  }

  /// `CLOCK_REALTIME`: wall-clock time since the Unix epoch.
  public static let realtime = ClockID(rawValue: 0)
  /// `CLOCK_MONOTONIC`: time since an arbitrary start, never set, not
  /// counting suspend.
  public static let monotonic = ClockID(rawValue: 1)
  /// `CLOCK_PROCESS_CPUTIME_ID`: CPU time of the calling process.
  public static let processCputimeId = ClockID(rawValue: 2)
  /// `CLOCK_THREAD_CPUTIME_ID`: CPU time of the calling thread.
  public static let threadCputimeId = ClockID(rawValue: 3)
  /// `CLOCK_MONOTONIC_RAW`: monotonic time free of NTP adjustment.
  public static let monotonicRaw = ClockID(rawValue: 4)
  /// `CLOCK_REALTIME_COARSE`: a faster, lower-resolution `realtime`.
  public static let realtimeCoarse = ClockID(rawValue: 5)
  /// `CLOCK_MONOTONIC_COARSE`: a faster, lower-resolution `monotonic`.
  public static let monotonicCoarse = ClockID(rawValue: 6)
  /// `CLOCK_BOOTTIME`: like `monotonic`, but counting suspend.
  public static let boottime = ClockID(rawValue: 7)
  /// `CLOCK_REALTIME_ALARM`: `realtime` that wakes a suspended system.
  public static let realtimeAlarm = ClockID(rawValue: 8)
  /// `CLOCK_BOOTTIME_ALARM`: `boottime` that wakes a suspended system.
  public static let boottimeAlarm = ClockID(rawValue: 9)
  /// `CLOCK_TAI`: International Atomic Time.
  public static let tai = ClockID(rawValue: 11)
}

/// The `flags` argument of clock_nanosleep(2) and timer_settime(2).
public struct TimerFlags: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// `TIMER_ABSTIME`: the time is an absolute value of the clock rather
  /// than an interval from now.
  public static let abstime = TimerFlags(rawValue: 1)
}
