// CPU time: what each thread spent running in user mode and in the
// kernel on its behalf, the clocks that read it (CLOCK_THREAD_CPUTIME_ID,
// CLOCK_PROCESS_CPUTIME_ID and the encoded ids of clock_getcpuclockid(3)
// and pthread_getcpuclockid(3)), and the interval timers that count it
// down (setitimer's ITIMER_VIRTUAL and ITIMER_PROF).
//
// Accounting happens at the edges: the time since a thread's stamp is
// user time when it enters the kernel (a system call, an interrupt or an
// exception from user mode) and kernel time when it goes back, or when
// it gives up the CPU. Time the scheduler spends between threads, and
// idle time, belongs to nobody. Every system call passes two edges, so
// they are kept cheap: they count raw TSC ticks (converted to nanoseconds
// only when a clock is read), and the running thread's counts live in a
// C struct (arch_cpu_account, charged by arch_cpu_charge), copied from
// and back to its Thread when it is switched in and out.

import Arch
import LinuxABI

/// One of the two CPU-time interval timers: it counts down while the
/// process runs (in user mode only, or also in the kernel) and sends its
/// signal to the process when it reaches zero, then reloads.
final class CPUIntervalTimer {
  let signal: Int32
  let countsKernelTime: Bool
  /// Nanoseconds of CPU time left; 0 when disarmed.
  var remaining: UInt64 = 0
  var interval: UInt64 = 0

  init(signal: Signal, countsKernelTime: Bool) {
    self.signal = signal.rawValue
    self.countsKernelTime = countsKernelTime
  }

  /// Counts `elapsed` nanoseconds of CPU time; fires when they use up
  /// what was left. A long stretch that spans several intervals fires
  /// once, as Linux's do (the signal is not queued twice).
  func consume(_ elapsed: UInt64, process: Process) {
    guard remaining > 0 else { return }
    if elapsed < remaining {
      remaining -= elapsed
      return
    }
    let late = elapsed - remaining
    remaining = interval == 0 ? 0 : interval - late % interval
    Signals.send(SignalInfo(signal: signal, code: SignalInfo.codeKernel),
                 to: process)
  }
}

enum CPUTime {
  /// ITIMER_VIRTUAL and ITIMER_PROF: one of each per process.
  static let virtualTimer = CPUIntervalTimer(signal: .vtalrm,
                                             countsKernelTime: false)
  static let profilingTimer = CPUIntervalTimer(signal: .prof,
                                               countsKernelTime: true)

  /// Call after changing a timer's `remaining`: every edge checks the
  /// flag this sets before it looks at the timers.
  static func timersChanged() {
    let armed = virtualTimer.remaining > 0 || profilingTimer.remaining > 0
    arch_cpu_account.timers_armed = armed ? 1 : 0
  }

  // MARK: Accounting

  /// The running thread came from user mode into the kernel.
  static func enterKernel() { charge(user: true) }

  /// The running thread goes back to user mode.
  static func leaveKernel() { charge(user: false) }

  /// The scheduler switched `thread` in: its time starts now.
  static func switchedIn(_ thread: Thread) {
    arch_cpu_account.user = thread.userTicks
    arch_cpu_account.system = thread.systemTicks
    arch_cpu_account.stamp = arch_rdtsc()
  }

  /// `thread`, the running one, gives up the CPU (it blocks, yields or
  /// exits): its kernel time so far is charged and its counts saved.
  static func switchingOut(_ thread: Thread) {
    charge(user: false)
    thread.userTicks = arch_cpu_account.user
    thread.systemTicks = arch_cpu_account.system
  }

  @inline(__always)
  private static func charge(user: Bool) {
    let elapsed = arch_cpu_charge(user ? 1 : 0)
    guard arch_cpu_account.timers_armed != 0,
      let process = Process.currentOrNil else { return }
    let nanoseconds = Clock.nanoseconds(ticks: elapsed)
    if user || virtualTimer.countsKernelTime {
      virtualTimer.consume(nanoseconds, process: process)
    }
    if user || profilingTimer.countsKernelTime {
      profilingTimer.consume(nanoseconds, process: process)
    }
    timersChanged()
  }

  /// How soon, at the earliest, a CPU timer can expire while a thread
  /// runs: the scheduler arms the APIC timer for it, since a thread
  /// spinning in user mode would otherwise never enter the kernel.
  static var nearestExpiry: UInt64? {
    guard arch_cpu_account.timers_armed != 0 else { return nil }
    let virtual = virtualTimer.remaining
    let profiling = profilingTimer.remaining
    if virtual == 0 { return profiling }
    if profiling == 0 { return virtual }
    return min(virtual, profiling)
  }

  // MARK: Reading

  struct Usage {
    var user: UInt64 = 0
    var system: UInt64 = 0
    var total: UInt64 { user &+ system }
  }

  /// A thread's CPU time so far; for the running thread this includes
  /// the kernel time of the system call now in progress.
  static func usage(of thread: Thread) -> Usage {
    guard thread === Scheduler.current else {
      return Usage(user: Clock.nanoseconds(ticks: thread.userTicks),
                   system: Clock.nanoseconds(ticks: thread.systemTicks))
    }
    let account = arch_cpu_account
    let now = arch_rdtsc()
    let inProgress = now > account.stamp ? now - account.stamp : 0
    return Usage(
      user: Clock.nanoseconds(ticks: account.user),
      system: Clock.nanoseconds(ticks: account.system &+ inProgress))
  }

  /// The whole process: its live threads and the ones that ended.
  static func usage(of process: Process) -> Usage {
    var sum = Usage()
    for thread in process.threads {
      let one = usage(of: thread)
      sum.user &+= one.user
      sum.system &+= one.system
    }
    return sum
  }

  /// The value of a CPU-time clock: CLOCK_PROCESS_CPUTIME_ID (2),
  /// CLOCK_THREAD_CPUTIME_ID (3), or a negative id made by
  /// clock_getcpuclockid(3) or pthread_getcpuclockid(3). Linux encodes
  /// those as the bitwise NOT of the pid or tid shifted left by 3, bit 2
  /// set for a thread, and the low two bits choosing what is counted:
  /// 0 user and kernel time (PROF), 1 user time (VIRT), 2 both (SCHED).
  /// Anything else, or an id naming no thread of this process, is
  /// EINVAL, as on Linux.
  static func read(clock: Int32) throws(Errno) -> UInt64 {
    guard let thread = Scheduler.current else { throw .EINVAL }
    let process = thread.process
    switch clock {
    case 2: return usage(of: process).total
    case 3: return usage(of: thread).total
    case ..<0: break
    default: throw .EINVAL
    }
    let which = clock & 3
    guard which != 3 else { throw .EINVAL }
    let id = ~(clock >> 3)
    let usage: Usage
    if clock & 4 != 0 {
      guard let target = id == 0 ? thread : process.threads.first(where: {
        $0.tid == id && $0.state != .exited
      }) else { throw .EINVAL }
      usage = CPUTime.usage(of: target)
    } else {
      guard id == 0 || id == process.pid else { throw .EINVAL }
      usage = CPUTime.usage(of: process)
    }
    return which == 1 ? usage.user : usage.total
  }
}
