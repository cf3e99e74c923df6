// A sleeping lock for kernel data that a thread may hold across a wait
// (the persistent filesystem holds it across disk I/O). The kernel is
// never preempted, so only a thread that blocks can let another in;
// waiters queue and are woken one at a time.

final class KernelMutex {
  private var locked = false
  private var waiters: [Thread] = []

  func lock() {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    while locked {
      guard let thread = Scheduler.current else {
        panic("a kernel mutex is held while no thread runs")
      }
      waiters.append(thread)
      Scheduler.block()
    }
    locked = true
  }

  func unlock() {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    locked = false
    if !waiters.isEmpty { Scheduler.wake(waiters.removeFirst()) }
  }
}
