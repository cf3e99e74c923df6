// The readiness model: how a thread waits for files to become readable or
// writable. Every file change that can make someone's wait end (data into
// a pipe, a counter written, a socket connected) calls Readiness.changed,
// which wakes every waiting thread; each rechecks its own condition and
// waits again if it still cannot proceed. Waits are rare and the number
// of files small in a one-program VM, so a single queue keeps this simple
// and free of lost wake-ups: on one CPU, with kernel code never
// preempted, nothing changes between a thread's check and its wait.

import LinuxABI

enum Readiness {
  private static var waiters: [Thread] = []

  static func changed() {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    let woken = waiters
    waiters.removeAll()
    for thread in woken { Scheduler.wake(thread) }
  }

  /// Waits until some file changes, the deadline passes, or a signal
  /// arrives. Returns false on timeout; throws the restart marker on a
  /// signal, so the caller's system call restarts or fails with EINTR.
  @discardableResult
  static func wait(until deadline: UInt64? = nil,
                   restart: Errno = Signals.restartSyscall) throws(Errno)
    -> Bool
  {
    guard let thread = Scheduler.current else { throw .ESRCH }
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    waiters.append(thread)
    let woken = Scheduler.block(until: deadline, interruptible: true)
    waiters.removeAll { $0 === thread }
    if thread.interruptedBySignal { throw restart }
    return woken
  }
}
