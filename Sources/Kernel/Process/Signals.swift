// Signal state and delivery: dispositions per process, masks and pending
// sets per thread, and the x86_64 signal frame. See signal(7),
// rt_sigaction(2), and Linux's arch/x86 signal frame layout, which glibc
// and musl read (ucontext, sigcontext, siginfo).
//
// Delivery happens on the way back to user mode, after a system call or
// an interrupt or exception from user mode: the kernel picks a pending,
// unblocked signal and either applies its default action or rewrites the
// trap frame so that the thread resumes in the handler, with a frame on
// its stack that rt_sigreturn(2) later undoes.

import LinuxABI

private let log = Logger("signal")

/// One entry of rt_sigaction's struct k_sigaction.
struct SignalAction {
  static let defaultHandler: UInt64 = 0
  static let ignoreHandler: UInt64 = 1

  var handler: UInt64 = SignalAction.defaultHandler
  var flags: UInt64 = 0
  var restorer: UInt64 = 0
  var mask: UInt64 = 0

  static let saSiginfo: UInt64 = 0x4
  static let saOnstack: UInt64 = 0x0800_0000
  static let saRestart: UInt64 = 0x1000_0000
  static let saNodefer: UInt64 = 0x4000_0000
  static let saResethand: UInt64 = 0x8000_0000
  static let saRestorer: UInt64 = 0x0400_0000
}

/// The 128-byte siginfo_t the kernel hands to SA_SIGINFO handlers.
struct SignalInfo {
  var signal: Int32
  var code: Int32
  /// si_pid and si_uid for signals sent by a process.
  var senderPID: Int32 = 0
  var senderUID: UInt32 = 0
  /// si_addr for faults.
  var address: UInt64 = 0
  var isFault = false
  /// si_timerid and si_value for POSIX timer signals.
  var timerID: Int32? = nil
  var timerValue: UInt64 = 0

  static let codeUser: Int32 = 0          // SI_USER: kill(2)
  static let codeKernel: Int32 = 0x80     // SI_KERNEL
  static let codeQueue: Int32 = -1        // SI_QUEUE
  static let codeTkill: Int32 = -6        // SI_TKILL: tgkill(2)
  static let codeTimer: Int32 = -2        // SI_TIMER: POSIX timers

  func encoded() -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: 128)
    bytes.store(signal, at: 0)
    bytes.store(code, at: 8)
    if isFault {
      bytes.store(address, at: 16)
    } else if let timerID {
      // _timer: si_tid, si_overrun, si_sigval.
      bytes.store(timerID, at: 16)
      bytes.store(timerValue, at: 24)
    } else {
      bytes.store(senderPID, at: 16)
      bytes.store(senderUID, at: 20)
    }
    return bytes
  }
}

/// sigaltstack(2) state of a thread.
struct AlternateStack {
  var base: UInt64 = 0
  var size: UInt64 = 0
  var disabled = true

  static let onStack: Int32 = 1
  static let disable: Int32 = 2
  static let minimumSize: UInt64 = 2048

  func contains(_ address: UInt64) -> Bool {
    !disabled && address > base && address <= base + size
  }
}

func signalBit(_ signal: Int32) -> UInt64 { 1 << UInt64(signal - 1) }

/// SIGKILL and SIGSTOP can be neither caught, blocked nor ignored.
let unblockableSignals = signalBit(Signal.kill.rawValue)
  | signalBit(Signal.stop.rawValue)

enum Signals {
  /// Errno value, never seen by programs, for "interrupted; restart the
  /// call if the handler has SA_RESTART, else fail with EINTR".
  static let restartSyscall = Errno(512)
  /// "Restart if no handler ran, else EINTR" (poll, select, epoll_wait).
  static let restartNoHandler = Errno(514)

  /// Queues a signal for one thread, waking it if it waits
  /// interruptibly and does not block the signal.
  static func send(_ info: SignalInfo, to thread: Thread) {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    let bit = signalBit(info.signal)
    if thread.pendingSignals & bit == 0 {
      thread.pendingSignals |= bit
      thread.pendingInfo[Int(info.signal - 1)] = info
    }
    let waitedFor = thread.waitingForSignals & bit != 0
    if (thread.signalMask & bit == 0 || waitedFor) &&
      thread.state == .blocked && thread.interruptible
    {
      thread.interruptedBySignal = true
      Scheduler.wake(thread)
    }
  }

  /// A process-directed signal (kill): the first thread that does not
  /// block it gets it, else the first thread.
  static func send(_ info: SignalInfo, to process: Process) {
    let live = process.threads.filter { $0.state != .exited }
    let bit = signalBit(info.signal)
    let target = live.first { $0.signalMask & bit == 0 } ?? live.first
    if let target { send(info, to: target) }
  }

  /// Delivers what is pending and unblocked for the current thread before
  /// it returns to user mode through `frame`. `syscallResult` is the
  /// pending return value of an interrupted system call, if any.
  static func deliver(frame: UnsafeMutablePointer<TrapFrame>,
                      syscallNumber: UInt64?)
  {
    guard let thread = Scheduler.current else { return }
    while true {
      let deliverable = thread.pendingSignals & ~thread.signalMask
      if deliverable == 0 { break }
      let signal = Int32(deliverable.trailingZeroBitCount + 1)
      thread.pendingSignals &= ~signalBit(signal)
      let info = thread.pendingInfo[Int(signal - 1)]
      let action = thread.process.signalActions[Int(signal - 1)]

      if action.handler == SignalAction.ignoreHandler {
        continue
      }
      if action.handler == SignalAction.defaultHandler {
        switch Signal(rawValue: signal).defaultAction {
        case .ignore, .resume, nil:
          continue
        case .stop:
          // Nothing could ever continue a stopped Villa program.
          log.warn("signal \(signal) would stop the program; ignored")
          continue
        case .terminate, .dumpCore:
          thread.process.terminate(bySignal: signal)
        }
      }
      resolveRestart(frame: frame, syscallNumber: syscallNumber,
                     action: action)
      do {
        try pushFrame(frame: frame, thread: thread, signal: signal,
                      info: info, action: action)
      } catch {
        // No room for the frame: Linux kills the program with SIGSEGV.
        log.info("cannot write the signal frame: SIGSEGV")
        thread.process.terminate(bySignal: Signal.segv.rawValue)
      }
      // Handlers run one at a time: the next pending one waits for this
      // one's mask to be lifted at sigreturn.
      break
    }
    // A call interrupted with nothing to handle it restarts.
    resolveRestart(frame: frame, syscallNumber: syscallNumber,
                   action: SignalAction(flags: SignalAction.saRestart))
  }

  /// An interrupted system call either restarts (the instruction pointer
  /// goes back to the SYSCALL instruction) or fails with EINTR.
  private static func resolveRestart(frame: UnsafeMutablePointer<TrapFrame>,
                                     syscallNumber: UInt64?,
                                     action: SignalAction)
  {
    guard let number = syscallNumber else { return }
    let result = Int64(bitPattern: frame.pointee.rax)
    let restartable = result == Int64(restartSyscall.syscallResult)
    let restartableWithoutHandler =
      result == Int64(restartNoHandler.syscallResult)
    guard restartable || restartableWithoutHandler else { return }
    if (restartable && action.flags & SignalAction.saRestart != 0) ||
      (restartableWithoutHandler && action.handler <= 1)
    {
      frame.pointee.rax = number
      frame.pointee.rip -= 2
    } else {
      frame.pointee.rax = UInt64(bitPattern: Int64(Errno.EINTR.syscallResult))
    }
  }

  /// Builds the rt_sigframe on the user stack and points the frame at
  /// the handler. Layout from the new stack pointer up: the return address
  /// (sa_restorer), the ucontext (304 bytes), the siginfo (128), and
  /// above them the 512-byte FXSAVE image that uc_mcontext.fpstate
  /// points at.
  private static func pushFrame(frame: UnsafeMutablePointer<TrapFrame>,
                                thread: Thread, signal: Int32,
                                info: SignalInfo, action: SignalAction)
    throws(Errno)
  {
    let f = frame.pointee
    var stackPointer = f.rsp
    let stack = thread.alternateStack
    let onAlternate = stack.contains(f.rsp)
    if action.flags & SignalAction.saOnstack != 0 && !stack.disabled &&
      !onAlternate
    {
      stackPointer = stack.base + stack.size
    } else {
      stackPointer -= 128     // the System V red zone
    }

    stackPointer = (stackPointer - 512) & ~UInt64(63)
    let fpuAddress = stackPointer
    let fpuArea = UnsafeRawPointer(frame) - TrapFrame.fpuAreaSize
    try UserMemory.copyOut(to: UserAddress(fpuAddress), from: fpuArea,
                           count: 512)

    let frameSize: UInt64 = 8 + 304 + 128
    stackPointer = ((stackPointer - frameSize) & ~UInt64(15)) - 8
    let ucontext = stackPointer + 8
    let siginfo = ucontext + 304

    var uc = [UInt8](repeating: 0, count: 304)
    // uc_flags, uc_link, uc_stack.
    uc.store(UInt64(0), at: 0)
    uc.store(stack.base, at: 16)
    uc.store(Int32(stack.disabled ? AlternateStack.disable
                   : (onAlternate ? AlternateStack.onStack : 0)), at: 24)
    uc.store(stack.size, at: 32)
    // uc_mcontext (struct sigcontext) at 40.
    let registers: [UInt64] = [
      f.r8, f.r9, f.r10, f.r11, f.r12, f.r13, f.r14, f.r15,
      f.rdi, f.rsi, f.rbp, f.rbx, f.rdx, f.rax, f.rcx, f.rsp, f.rip,
      f.rflags,
    ]
    for (i, value) in registers.enumerated() { uc.store(value, at: 40 + i * 8) }
    // cs, gs, fs, ss as four 16-bit fields.
    uc.store(UInt16(f.cs), at: 40 + 144)
    uc.store(UInt16(f.ss), at: 40 + 150)
    uc.store(f.errorCode, at: 40 + 152)
    uc.store(f.vector == TrapFrame.syscallVector ? 0 : f.vector, at: 40 + 160)
    uc.store(thread.maskToRestore ?? thread.signalMask, at: 40 + 168)
    uc.store(info.isFault ? info.address : 0, at: 40 + 176)
    uc.store(fpuAddress, at: 40 + 184)
    // uc_sigmask at 296: the mask to restore at sigreturn.
    uc.store(thread.maskToRestore ?? thread.signalMask, at: 296)

    try UserMemory.write(action.restorer, to: UserAddress(stackPointer))
    try UserMemory.writeBytes(uc, to: UserAddress(ucontext))
    try UserMemory.writeBytes(info.encoded(), to: UserAddress(siginfo))

    var newMask = thread.signalMask | action.mask
    if thread.maskToRestore != nil {
      // rt_sigsuspend's temporary mask ends with this delivery.
      newMask = thread.maskToRestore! | action.mask
      thread.maskToRestore = nil
    }
    if action.flags & SignalAction.saNodefer == 0 {
      newMask |= signalBit(signal)
    }
    thread.signalMask = newMask & ~unblockableSignals
    if action.flags & SignalAction.saResethand != 0 {
      thread.process.signalActions[Int(signal - 1)] = SignalAction()
    }

    frame.pointee.rsp = stackPointer
    frame.pointee.rip = action.handler
    frame.pointee.rdi = UInt64(signal)
    frame.pointee.rsi = siginfo
    frame.pointee.rdx = ucontext
    frame.pointee.rax = 0
    // The handler starts with a clean direction flag and no trap flag.
    frame.pointee.rflags &= ~UInt64(0x400 | 0x100 | 0x40000)
  }

  /// rt_sigreturn(2): restores the state saved in the frame at the user
  /// stack pointer (which points at the ucontext once the restorer's
  /// return address has been popped).
  static func sigreturn(frame: UnsafeMutablePointer<TrapFrame>) throws(Errno) {
    guard let thread = Scheduler.current else { throw .ESRCH }
    let ucontext = UserAddress(frame.pointee.rsp)
    let uc = try UserMemory.readBytes(at: ucontext, count: 304)
    func word(_ offset: Int) -> UInt64 { uc.load(at: offset) }
    var f = frame.pointee
    f.r8 = word(40); f.r9 = word(48); f.r10 = word(56); f.r11 = word(64)
    f.r12 = word(72); f.r13 = word(80); f.r14 = word(88); f.r15 = word(96)
    f.rdi = word(104); f.rsi = word(112); f.rbp = word(120)
    f.rbx = word(128); f.rdx = word(136); f.rax = word(144)
    f.rcx = word(152); f.rsp = word(160); f.rip = word(168)
    // Only the flags a program may change (FIX_EFLAGS in Linux); IF
    // stays on.
    let userFlags: UInt64 = 0x40DD5
    f.rflags = (f.rflags & ~userFlags) | (word(176) & userFlags) | 0x200
    f.cs = UInt64(Descriptors.userCode)
    f.ss = UInt64(Descriptors.userData)
    f.vector = 0
    frame.pointee = f

    let fpuAddress = word(40 + 184)
    if fpuAddress != 0 {
      let fpuArea = UnsafeMutableRawPointer(frame) - TrapFrame.fpuAreaSize
      var image = try UserMemory.readBytes(at: UserAddress(fpuAddress),
                                           count: 512)
      // MXCSR's reserved bits must be zero or FXRSTOR faults.
      let mxcsr: UInt32 = image.load(at: 24)
      image.store(mxcsr & 0xFFFF, at: 24)
      image.withUnsafeBytes {
        fpuArea.copyMemory(from: $0.baseAddress!, byteCount: 512)
      }
    }
    thread.signalMask = word(296) & ~unblockableSignals

    let stackFlags: Int32 = uc.load(at: 24)
    if stackFlags & AlternateStack.disable == 0 {
      let base = word(16)
      let size = word(32)
      if size >= AlternateStack.minimumSize {
        thread.alternateStack = AlternateStack(base: base, size: size,
                                               disabled: false)
      }
    }
  }

  /// What a CPU exception in user mode means as a signal.
  static func faultInfo(vector: ExceptionVector?, address: UInt64,
                        errorCode: UInt64) -> SignalInfo
  {
    guard let vector else {
      return SignalInfo(signal: Signal.segv.rawValue,
                        code: SignalInfo.codeKernel)
    }
    switch vector {
    case .pageFault:
      // SEGV_ACCERR when the page was present, SEGV_MAPERR otherwise.
      return SignalInfo(signal: Signal.segv.rawValue,
                        code: errorCode & 1 != 0 ? 2 : 1,
                        address: address, isFault: true)
    case .divideError:
      return SignalInfo(signal: Signal.fpe.rawValue, code: 1,
                        address: address, isFault: true)
    case .invalidOpcode:
      return SignalInfo(signal: Signal.ill.rawValue, code: 2,
                        address: address, isFault: true)
    case .breakpoint:
      return SignalInfo(signal: Signal.trap.rawValue,
                        code: SignalInfo.codeKernel)
    case .generalProtection:
      return SignalInfo(signal: Signal.segv.rawValue,
                        code: SignalInfo.codeKernel)
    default:
      return SignalInfo(signal: vector.signal, code: SignalInfo.codeKernel,
                        address: address, isFault: true)
    }
  }

  /// Fault signals cannot be blocked or ignored away: like Linux's
  /// force_sig, a blocked or ignored one is reset to its default action.
  static func force(_ info: SignalInfo, on thread: Thread) {
    let index = Int(info.signal - 1)
    let bit = signalBit(info.signal)
    if thread.signalMask & bit != 0 ||
      thread.process.signalActions[index].handler == SignalAction.ignoreHandler
    {
      thread.signalMask &= ~bit
      thread.process.signalActions[index] = SignalAction()
    }
    send(info, to: thread)
  }
}

extension Array where Element == UInt8 {
  mutating func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
    for i in 0..<(T.bitWidth / 8) {
      self[offset + i] = UInt8(truncatingIfNeeded: value >> (i * 8))
    }
  }

  func load<T: FixedWidthInteger>(at offset: Int) -> T {
    var value: T = 0
    for i in 0..<(T.bitWidth / 8) {
      value |= T(truncatingIfNeeded: self[offset + i]) << (i * 8)
    }
    return value
  }
}
