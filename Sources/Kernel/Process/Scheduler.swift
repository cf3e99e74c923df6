// The scheduler: which thread runs, and what the CPU does when none can.
//
// Like xv6, the scheduler has a context of its own (the boot stack): a
// thread that blocks, yields or is preempted switches to it, and it picks
// the next runnable thread round-robin or, with none, arms the timer for
// the nearest wake-up and halts the CPU until an interrupt.
//
// Preemption: while other threads are runnable, the local APIC timer is
// armed for a time slice; when it fires in user mode, the thread yields.
// Kernel code is never preempted (it runs with interrupts enabled only
// where it can be interrupted, and an interrupt there only wakes threads),
// which keeps the kernel's data structures consistent without locks on
// this single CPU.

import Arch

private let log = Logger("sched")

enum Scheduler {
  static let timeSlice: UInt64 = 10_000_000

  private(set) static var current: Thread? = nil
  private static var threads: [Thread] = []
  private static var nextIndex = 0
  private static var schedulerStackPointer: UInt64 = 0
  private static var sliceEnd: UInt64 = 0
  private(set) static var contextSwitches: UInt64 = 0
  private(set) static var preemptions: UInt64 = 0
  /// Time the CPU spent halted with nothing to run, up to the last
  /// wake-up; `idleNanosecondsNow` also counts a halt under way.
  private(set) static var idleNanoseconds: UInt64 = 0
  private static var idleSince: UInt64? = nil

  /// Idle time including the current halt (counters asked for from an
  /// interrupt that ends one).
  static var idleNanosecondsNow: UInt64 {
    guard let idleSince else { return idleNanoseconds }
    return idleNanoseconds + (Clock.monotonicNanoseconds() - idleSince)
  }

  static func add(_ thread: Thread) {
    let guardState = InterruptGuard()
    threads.append(thread)
    guardState.restore()
    // The running thread may now spin without a system call: the new
    // one needs a time slice to end.
    rearmTimer()
  }

  static var threadCount: Int { threads.count }

  /// Runs threads forever; called once at the end of boot.
  static func run() -> Never {
    while true {
      arch_disable_interrupts()
      wakeSleepers()
      if let next = pickNext() {
        switchTo(next)
        continue
      }
      if threads.isEmpty {
        panic("no threads left to run")
      }
      armTimer(now: Clock.monotonicNanoseconds(), slicing: false)
      let idleStart = Clock.monotonicNanoseconds()
      idleSince = idleStart
      arch_wait_for_interrupt()
      idleSince = nil
      idleNanoseconds += Clock.monotonicNanoseconds() - idleStart
    }
  }

  private static func pickNext() -> Thread? {
    guard !threads.isEmpty else { return nil }
    for step in 0..<threads.count {
      let index = (nextIndex + step) % threads.count
      if threads[index].state == .runnable {
        nextIndex = (index + 1) % threads.count
        return threads[index]
      }
    }
    return nil
  }

  private static func switchTo(_ thread: Thread) {
    thread.state = .running
    current = thread
    CPUTime.switchedIn(thread)
    contextSwitches += 1
    let now = Clock.monotonicNanoseconds()
    sliceEnd = now + timeSlice
    armTimer(now: now, slicing: true)
    PerCPU.setKernelStack(thread.kernelStackTop)
    thread.process.addressSpace.pageTable.activate()
    arch_wrmsr(MSR.fsBase, thread.fsBase)
    arch_wrmsr(MSR.kernelGSBase, thread.gsBase)
    arch_switch_context(&schedulerStackPointer, thread.savedStackPointer)
    // Back in the scheduler: the thread blocked, yielded or exited.
    current = nil
  }

  /// Gives the CPU back to the scheduler; returns when this thread is
  /// switched in again. Interrupts are off across the switch.
  private static func enterScheduler() {
    guard let thread = current else { panic("no current thread") }
    let guardState = InterruptGuard()
    CPUTime.switchingOut(thread)
    thread.fsBase = arch_rdmsr(MSR.fsBase)
    thread.gsBase = arch_rdmsr(MSR.kernelGSBase)
    arch_switch_context(&thread.savedStackPointer, schedulerStackPointer)
    guardState.restore()
  }

  /// A new thread's first switch-in: it goes straight to user mode.
  static func threadStarted() { CPUTime.leaveKernel() }

  static func yield() {
    current?.state = .runnable
    enterScheduler()
  }

  /// A thread gave up the CPU itself (blocked or yielded).
  private static func countVoluntary() {
    Counters.voluntarySwitches &+= 1
  }

  /// Blocks the current thread until `wake(_:)` or the deadline (monotonic
  /// nanoseconds). Returns true when woken, false on timeout. The caller
  /// must have registered the thread wherever its waker will look, with
  /// interrupts disabled so that no wake-up is lost in between.
  /// With `interruptible`, a signal the thread does not block wakes it
  /// too, and `thread.interruptedBySignal` says so; a signal already
  /// pending makes the block return at once.
  @discardableResult
  static func block(until deadline: UInt64? = nil,
                    interruptible: Bool = false) -> Bool
  {
    guard let thread = current else { panic("block without a thread") }
    thread.wokenUp = false
    thread.interruptedBySignal = false
    if interruptible &&
      thread.pendingSignals & (~thread.signalMask | thread.waitingForSignals)
        != 0
    {
      thread.interruptedBySignal = true
      return false
    }
    thread.interruptible = interruptible
    thread.wakeDeadline = deadline
    thread.state = .blocked
    countVoluntary()
    enterScheduler()
    thread.interruptible = false
    thread.wakeDeadline = nil
    return thread.wokenUp
  }

  /// Makes a blocked thread runnable again.
  static func wake(_ thread: Thread) {
    guard thread.state == .blocked else { return }
    thread.wokenUp = true
    thread.state = .runnable
    if current != nil { rearmTimer() }
  }

  /// Sleeps the current thread until the monotonic clock reaches
  /// `deadline`. Returns false if a signal cut the sleep short.
  @discardableResult
  static func sleep(until deadline: UInt64) -> Bool {
    while Clock.monotonicNanoseconds() < deadline {
      let guardState = InterruptGuard()
      block(until: deadline, interruptible: true)
      guardState.restore()
      if current?.interruptedBySignal == true { return false }
    }
    return true
  }

  /// Ends the current thread for good; never returns.
  static func exitCurrentThread() -> Never {
    guard let thread = current else { panic("no current thread") }
    arch_disable_interrupts()
    CPUTime.switchingOut(thread)
    thread.state = .exited
    threads.removeAll { $0 === thread }
    nextIndex = 0
    current = nil
    // The thread's kernel stack is still in use until the switch; the
    // process keeps the Thread object (and so the stack) alive until the
    // process ends.
    var discarded: UInt64 = 0
    arch_switch_context(&discarded, schedulerStackPointer)
    panic("an exited thread was resumed")
  }

  /// The timer interrupt: wake sleepers, and preempt a thread whose slice
  /// ran out if it was interrupted in user mode.
  static func timerFired(interruptedUserMode: Bool) {
    wakeSleepers()
    let now = Clock.monotonicNanoseconds()
    guard let thread = current else { return }
    let othersWaiting = threads.contains {
      $0 !== thread && $0.state == .runnable
    }
    if interruptedUserMode && othersWaiting && now >= sliceEnd {
      sliceEnd = now + timeSlice
      preemptions += 1
      Counters.involuntarySwitches &+= 1
      yield()
    } else {
      armTimer(now: now, slicing: true)
    }
  }

  private static func wakeSleepers() {
    let now = Clock.monotonicNanoseconds()
    KernelTimers.fireDue(now: now)
    for thread in threads where thread.state == .blocked {
      if let deadline = thread.wakeDeadline, deadline <= now {
        thread.wakeDeadline = nil
        thread.state = .runnable
      }
    }
  }

  /// Re-arms the timer after a new deadline appeared (a kernel timer).
  static func rearmTimer() {
    let guardState = InterruptGuard()
    armTimer(now: Clock.monotonicNanoseconds(), slicing: current != nil)
    guardState.restore()
  }

  /// Arms the one-shot timer for the nearest sleeper's deadline and, when
  /// slicing and other threads could run, the end of the current slice.
  private static func armTimer(now: UInt64, slicing: Bool) {
    var nearest = KernelTimers.nearestDeadline ?? UInt64.max
    // The profiler's next sample (.max when it is off).
    nearest = min(nearest, Profiler.nextSampleDeadline)
    for thread in threads {
      if let deadline = thread.wakeDeadline { nearest = min(nearest, deadline) }
    }
    // A slice matters only while another thread waits for the CPU; a
    // slice that ran out with nobody waiting just starts over.
    if slicing, let running = current,
      threads.contains(where: { $0 !== running && $0.state == .runnable })
    {
      if sliceEnd <= now { sliceEnd = now + timeSlice }
      nearest = min(nearest, sliceEnd)
    }
    // A CPU-time timer expires no sooner than its CPU time left, counted
    // from now, if the running thread keeps the CPU all along.
    if current != nil, let left = CPUTime.nearestExpiry {
      nearest = min(nearest, now &+ left)
    }
    if nearest == UInt64.max {
      LocalAPIC.disarm()
      return
    }
    LocalAPIC.arm(afterNanoseconds: nearest > now ? nearest - now : 1)
  }
}
