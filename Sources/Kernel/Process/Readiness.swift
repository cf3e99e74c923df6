// The readiness model: how a thread waits for files to become readable or
// writable. Every file change that can make someone's wait end (data into
// a pipe, a counter written, a socket connected) calls Readiness.changed,
// which wakes every waiting thread; each rechecks its own condition and
// waits again if it still cannot proceed. Waits are rare and the number
// of files small in a one-program VM, so a single queue keeps this simple.
//
// Lost wake-ups: kernel code is never preempted by another thread, but
// interrupts run in the middle of it, and the network and the timers
// change readiness from there. A change that lands between a thread's
// check and its wait would wake nobody, and the thread would sleep
// until some later change (seconds later for a server whose client
// waits for it). So every change also counts in `epoch`; a thread
// notes the epoch when its system call starts and after every wait, and
// a wait that finds the epoch moved since returns at once, for the
// caller to check again.
//
// One exception to waking everyone: EPOLLEXCLUSIVE. A thread waiting in
// epoll_wait on an instance whose reportable events all come from
// exclusive interests is one of a group, and a change wakes only the
// first of that group (it handles the event); the others sleep on until
// a later change, as Linux wakes one exclusive waiter per event.

import LinuxABI

enum Readiness {
  private static var waiters: [(thread: Thread, epoll: EpollInstance?)] = []
  /// How many changes there have been.
  private(set) static var epoch: UInt64 = 0

  static func changed() {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    epoch &+= 1
    let woken = waiters
    waiters.removeAll()
    var exclusiveWoken = false
    for waiter in woken {
      if let epoll = waiter.epoll, epoll.hasExclusiveInterests {
        let pending = epoll.pendingReport()
        // Nothing to report: waking it would only put it back to sleep.
        // Only exclusive interests to report: the first such waiter
        // takes the event.
        if !pending.any || (pending.onlyExclusive && exclusiveWoken) {
          waiters.append(waiter)
          continue
        }
        if pending.onlyExclusive { exclusiveWoken = true }
      }
      Scheduler.wake(waiter.thread)
    }
  }

  /// Waits until some file changes, the deadline passes, or a signal
  /// arrives. Returns false on timeout; throws the restart marker on a
  /// signal, so the caller's system call restarts or fails with EINTR.
  /// `epoll` names the instance an epoll_wait sleeps on, for
  /// EPOLLEXCLUSIVE.
  @discardableResult
  static func wait(until deadline: UInt64? = nil,
                   restart: Errno = Signals.restartSyscall,
                   epoll: EpollInstance? = nil) throws(Errno)
    -> Bool
  {
    guard let thread = Scheduler.current else { throw .ESRCH }
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    // Something changed since the caller last looked: look again first.
    if thread.readinessSeen != epoch {
      thread.readinessSeen = epoch
      return true
    }
    waiters.append((thread, epoll))
    let woken = Scheduler.block(until: deadline, interruptible: true)
    waiters.removeAll { $0.thread === thread }
    thread.readinessSeen = epoch
    if thread.interruptedBySignal { throw restart }
    return woken
  }
}
