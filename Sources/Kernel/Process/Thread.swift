// A thread: a kernel stack, the saved user state at its top, and what the
// scheduler needs to park and resume it. Each thread enters and leaves the
// kernel on its own kernel stack, so a thread blocked in a system call just
// keeps its place there until it is switched back in.

import Arch

final class Thread {
  enum State { case runnable, running, blocked, exited }

  static let kernelStackSize = 32 * 1024

  let tid: Int32
  let process: Process
  var state: State = .runnable
  /// Where arch_switch_context saved this thread's kernel stack pointer.
  var savedStackPointer: UInt64 = 0
  /// User FS and GS bases (the TLS pointer), restored when switched in.
  var fsBase: UInt64 = 0
  var gsBase: UInt64 = 0
  /// set_tid_address(2): cleared and woken when the thread exits.
  var clearChildTID: UserAddress = UserAddress(0)
  /// set_robust_list(2): recorded for the futex code.
  var robustList: UserAddress = UserAddress(0)
  var robustListLength: UInt64 = 0
  /// Blocked signals (rt_sigprocmask), one bit per signal number - 1.
  var signalMask: UInt64 = 0
  /// Signals sent to this thread and not yet delivered, with their info.
  var pendingSignals: UInt64 = 0
  var pendingInfo = [SignalInfo](
    repeating: SignalInfo(signal: 0, code: 0), count: 64)
  /// rt_sigtimedwait's set: these wake the thread even when blocked.
  var waitingForSignals: UInt64 = 0
  /// rt_sigsuspend's saved mask, put back when a handler is entered.
  var maskToRestore: UInt64? = nil
  var alternateStack = AlternateStack()
  /// Whether the current block may be cut short by a signal, and whether
  /// it was.
  var interruptible = false
  var interruptedBySignal = false
  /// The name prctl(PR_SET_NAME) gives, at most 15 bytes.
  var name: [UInt8] = []
  /// When a sleeping thread should wake (monotonic nanoseconds).
  var wakeDeadline: UInt64? = nil
  /// Readiness.epoch when this thread last looked at files' readiness
  /// (the start of its system call, or its last wait).
  var readinessSeen: UInt64 = 0
  /// Set by Scheduler.wake, so a blocked thread knows it was not a timeout.
  var wokenUp = false
  /// The futex word this thread waits on, if any, and its wait bitset.
  var futexAddress: UInt64? = nil
  var futexBitset: UInt32 = 0
  /// CPU time used in user mode and in the kernel, in TSC ticks, as of
  /// the thread's last switch-out (Process/CPUTime.swift).
  var userTicks: UInt64 = 0
  var systemTicks: UInt64 = 0

  private let stack: UnsafeMutableRawPointer

  var kernelStackTop: UInt64 {
    UInt64(UInt(bitPattern: stack)) + UInt64(Thread.kernelStackSize)
  }

  /// The user-state frame at the top of the kernel stack.
  var frame: UnsafeMutablePointer<TrapFrame> {
    UnsafeMutablePointer<TrapFrame>(
      bitPattern: UInt(kernelStackTop) - UInt(TrapFrame.size))!
  }

  /// A thread that will start in user mode with the registers in `entry`.
  init(tid: Int32, process: Process, entry: TrapFrame) {
    self.tid = tid
    self.process = process
    stack = UnsafeMutableRawPointer.allocate(
      byteCount: Thread.kernelStackSize, alignment: 4096)
    frame.initialize(to: entry)

    // Below the frame: a clean FPU state, then a switch frame that
    // "returns" into arch_thread_start with %rbx = the trap frame.
    let fpuArea = UnsafeMutableRawPointer(frame) - TrapFrame.fpuAreaSize
    initializeFPUArea(fpuArea)
    let switchFrame = (fpuArea - 7 * 8).bindMemory(to: UInt64.self,
                                                   capacity: 7)
    let rbx = UInt64(UInt(bitPattern: frame))
    // Popped in order r15, r14, r13, r12, rbx, rbp, then the return.
    let values: [UInt64] = [0, 0, 0, 0, rbx, 0, arch_thread_start_address()]
    for i in 0..<7 { switchFrame[i] = values[i] }
    savedStackPointer = UInt64(UInt(bitPattern: switchFrame))
  }

  deinit {
    stack.deallocate()
  }
}

/// The first Swift code a new thread runs, on its own stack, before it
/// returns to user mode through its trap frame.
@_cdecl("villa_thread_started")
func villaThreadStarted(_ frame: UnsafeMutableRawPointer) {
  Scheduler.threadStarted()
}
