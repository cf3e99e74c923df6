// The scheduler: which thread runs, and what the CPU does when none can.
//
// Like xv6, the scheduler has a context of its own (the boot stack): a
// thread that blocks or yields switches to it, and it picks the next
// runnable thread or, with none, arms the timer for the nearest wake-up
// and halts the CPU until an interrupt.
//
// TODO(threads): preemption. The timer is armed only for sleep deadlines,
// so a thread runs until it blocks, yields or exits.

import Arch

private let log = Logger("sched")

enum Scheduler {
  private(set) static var current: Thread? = nil
  private static var threads: [Thread] = []
  private static var schedulerStackPointer: UInt64 = 0
  private(set) static var contextSwitches: UInt64 = 0
  /// Time the CPU spent halted with nothing to run.
  private(set) static var idleNanoseconds: UInt64 = 0

  static func add(_ thread: Thread) {
    threads.append(thread)
  }

  static func remove(_ thread: Thread) {
    threads.removeAll { $0 === thread }
  }

  /// Runs threads forever; called once at the end of boot.
  static func run() -> Never {
    while true {
      arch_disable_interrupts()
      wakeSleepers()
      if let next = threads.first(where: { $0.state == .runnable }) {
        switchTo(next)
        continue
      }
      if threads.isEmpty {
        panic("no threads left to run")
      }
      armForNextDeadline()
      let idleStart = Clock.monotonicNanoseconds()
      arch_wait_for_interrupt()
      idleNanoseconds += Clock.monotonicNanoseconds() - idleStart
    }
  }

  private static func switchTo(_ thread: Thread) {
    thread.state = .running
    current = thread
    contextSwitches += 1
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
    thread.fsBase = arch_rdmsr(MSR.fsBase)
    thread.gsBase = arch_rdmsr(MSR.kernelGSBase)
    arch_switch_context(&thread.savedStackPointer, schedulerStackPointer)
    guardState.restore()
  }

  static func threadStarted() {}

  static func yield() {
    current?.state = .runnable
    enterScheduler()
  }

  /// Sleeps the current thread until the monotonic clock reaches
  /// `deadline`.
  static func sleep(until deadline: UInt64) {
    guard let thread = current else { return }
    while Clock.monotonicNanoseconds() < deadline {
      thread.wakeDeadline = deadline
      thread.state = .blocked
      enterScheduler()
    }
    thread.wakeDeadline = nil
  }

  /// Ends the current thread for good; never returns.
  static func exitCurrentThread() -> Never {
    guard let thread = current else { panic("no current thread") }
    thread.state = .exited
    remove(thread)
    arch_disable_interrupts()
    var discarded: UInt64 = 0
    arch_switch_context(&discarded, schedulerStackPointer)
    panic("an exited thread was resumed")
  }

  static func timerFired() {
    wakeSleepers()
  }

  private static func wakeSleepers() {
    let now = Clock.monotonicNanoseconds()
    for thread in threads where thread.state == .blocked {
      if let deadline = thread.wakeDeadline, deadline <= now {
        thread.wakeDeadline = nil
        thread.state = .runnable
      }
    }
  }

  private static func armForNextDeadline() {
    var nearest = UInt64.max
    for thread in threads {
      if let deadline = thread.wakeDeadline { nearest = min(nearest, deadline) }
    }
    if nearest == UInt64.max {
      LocalAPIC.disarm()
      return
    }
    let now = Clock.monotonicNanoseconds()
    LocalAPIC.arm(afterNanoseconds: nearest > now ? nearest - now : 1)
  }
}
