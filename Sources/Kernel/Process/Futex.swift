// Futex wait queues. One address space means the key of a futex is just
// its user address. Waiters are kept in arrival order so wakes are FIFO,
// as programs expect from Linux in practice. See futex(2).

import LinuxABI

enum FutexQueues {
  /// Waiting threads, oldest first. Few threads wait at once in the
  /// programs Villa runs, so a list scan is cheaper than a hash table.
  private static var waiters: [Thread] = []

  /// Blocks the current thread on `address` while the word there equals
  /// `expected`. Returns normally when woken; throws EAGAIN if the word
  /// differs, ETIMEDOUT at the deadline.
  static func wait(address: UserAddress, expected: UInt32, bitset: UInt32,
                   deadline: UInt64?) throws(Errno)
  {
    guard let thread = Scheduler.current else { throw .ESRCH }
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    // Reading the word and queueing with interrupts off makes the check
    // and the sleep one step for any waker, which runs in a syscall.
    let value = try UserMemory.read(UInt32.self, at: address)
    guard value == expected else { throw .EAGAIN }
    thread.futexAddress = address.raw
    thread.futexBitset = bitset
    waiters.append(thread)
    let woken = Scheduler.block(until: deadline, interruptible: true)
    if thread.futexAddress != nil {
      // Not woken by a futex wake: a signal or the deadline.
      waiters.removeAll { $0 === thread }
      thread.futexAddress = nil
      if thread.interruptedBySignal { throw Signals.restartSyscall }
      if !woken { throw .ETIMEDOUT }
    }
  }

  /// Wakes up to `count` waiters on `address` whose bitset intersects
  /// `bitset`; returns how many.
  @discardableResult
  static func wake(address: UserAddress, count: Int, bitset: UInt32) -> Int {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    var woken = 0
    var kept: [Thread] = []
    for thread in waiters {
      if woken < count && thread.futexAddress == address.raw &&
        thread.futexBitset & bitset != 0
      {
        thread.futexAddress = nil
        Scheduler.wake(thread)
        woken += 1
      } else {
        kept.append(thread)
      }
    }
    waiters = kept
    return woken
  }

  /// Wakes up to `wakeCount` waiters on `from` and moves up to
  /// `requeueCount` of the rest to wait on `to`. Returns the number woken
  /// plus the number moved, as FUTEX_CMP_REQUEUE does.
  static func requeue(from: UserAddress, to: UserAddress, wakeCount: Int,
                      requeueCount: Int) -> Int
  {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    var woken = 0
    var moved = 0
    var kept: [Thread] = []
    for thread in waiters {
      guard thread.futexAddress == from.raw else {
        kept.append(thread)
        continue
      }
      if woken < wakeCount {
        thread.futexAddress = nil
        Scheduler.wake(thread)
        woken += 1
      } else {
        if moved < requeueCount {
          thread.futexAddress = to.raw
          moved += 1
        }
        kept.append(thread)
      }
    }
    waiters = kept
    return woken + moved
  }

  /// Drops a thread that ends while waiting (it cannot be, but a killed
  /// process's threads all end at once).
  static func forget(_ thread: Thread) {
    waiters.removeAll { $0 === thread }
  }
}
