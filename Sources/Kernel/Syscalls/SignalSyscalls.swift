// Signals: rt_sigaction(2), rt_sigprocmask(2), rt_sigpending(2),
// rt_sigreturn(2), sigaltstack(2), kill(2), tgkill(2), tkill(2),
// rt_sigsuspend(2), pause(2), rt_sigtimedwait(2), rt_sigqueueinfo(2).
// Delivery and the frame layout are in Process/Signals.swift.

import LinuxABI

private let log = Logger("signal")

enum SignalSyscalls {
  static let signalSetSize: UInt64 = 8

  static func register() {
    let d = SyscallDispatcher.self
    d.register(.rtSigaction, .implemented) { args throws(Errno) in
      try sigaction(signal: args.int(args.a0), new: args.address(args.a1),
                    old: args.address(args.a2), setSize: args.a3)
      return 0
    }
    d.register(.rtSigprocmask, .implemented) { args throws(Errno) in
      try sigprocmask(how: args.int(args.a0), new: args.address(args.a1),
                      old: args.address(args.a2), setSize: args.a3)
      return 0
    }
    d.register(.rtSigpending, .implemented) { args throws(Errno) in
      guard args.a1 <= signalSetSize else { throw .EINVAL }
      guard let thread = Scheduler.current else { throw .ESRCH }
      let pending = thread.pendingSignals & thread.signalMask
      try UserMemory.writeBytes(
        Array(littleEndian: pending).prefix(Int(args.a1)).map { $0 },
        to: args.address(args.a0))
      return 0
    }
    d.register(.rtSigreturn, .implemented) { args throws(Errno) in
      do throws(Errno) {
        try Signals.sigreturn(frame: args.frame)
      } catch {
        // A corrupt frame: Linux kills the program with SIGSEGV.
        Process.current.terminate(bySignal: Signal.segv.rawValue)
      }
      // The frame now holds the interrupted state, rax included.
      return Int(Int64(bitPattern: args.frame.pointee.rax))
    }
    d.register(.sigaltstack, .implemented) { args throws(Errno) in
      try sigaltstack(new: args.address(args.a0), old: args.address(args.a1),
                      userStack: args.frame.pointee.rsp)
      return 0
    }
    d.register(.kill, .partial("only the program itself (pid 1, 0, -1)")) {
      args throws(Errno) in
      let pid = args.int(args.a0)
      guard pid == 1 || pid == 0 || pid == -1 else { throw .ESRCH }
      try send(signal: args.int(args.a1), code: SignalInfo.codeUser) {
        info in Signals.send(info, to: Process.current)
      }
      return 0
    }
    d.register(.tgkill, .implemented) { args throws(Errno) in
      guard args.int(args.a0) == Process.current.pid else { throw .ESRCH }
      let thread = try findThread(args.int(args.a1))
      try send(signal: args.int(args.a2), code: SignalInfo.codeTkill) {
        info in Signals.send(info, to: thread)
      }
      return 0
    }
    d.register(.tkill, .implemented) { args throws(Errno) in
      let thread = try findThread(args.int(args.a0))
      try send(signal: args.int(args.a1), code: SignalInfo.codeTkill) {
        info in Signals.send(info, to: thread)
      }
      return 0
    }
    d.register(.rtSigqueueinfo, .partial("only the program itself")) {
      args throws(Errno) in
      guard args.int(args.a0) == Process.current.pid else { throw .ESRCH }
      let raw = try UserMemory.readBytes(at: args.address(args.a2), count: 128)
      let code: Int32 = raw.load(at: 8)
      // Only the kernel may send with si_code >= 0 (or SI_TKILL).
      guard code < 0, code != SignalInfo.codeTkill else { throw .EPERM }
      try send(signal: args.int(args.a1), code: code) { info in
        Signals.send(info, to: Process.current)
      }
      return 0
    }
    d.register(.rtSigsuspend, .implemented) { args throws(Errno) in
      guard args.a1 == signalSetSize else { throw .EINVAL }
      let mask = try UserMemory.read(UInt64.self, at: args.address(args.a0))
      return try suspend(mask: mask)
    }
    d.register(.pause, .implemented) { _ throws(Errno) in
      guard let thread = Scheduler.current else { throw .ESRCH }
      return try suspend(mask: thread.signalMask)
    }
    d.register(.rtSigtimedwait, .implemented) { args throws(Errno) in
      guard args.a3 == signalSetSize else { throw .EINVAL }
      let set = try UserMemory.read(UInt64.self, at: args.address(args.a0))
      var deadline: UInt64? = nil
      if !args.address(args.a2).isNull {
        deadline = Clock.monotonicNanoseconds()
          &+ (try TimeSyscalls.readTimespec(at: args.address(args.a2)))
      }
      return try timedWait(set: set & ~unblockableSignals,
                           info: args.address(args.a1), deadline: deadline)
    }
  }

  static func checkSignal(_ signal: Int32) throws(Errno) {
    guard signal >= 1 && signal <= 64 else { throw .EINVAL }
  }

  static func findThread(_ tid: Int32) throws(Errno) -> Thread {
    guard tid > 0, let thread = Process.current.threads.first(where: {
      $0.tid == tid && $0.state != .exited
    }) else { throw tid <= 0 ? .EINVAL : .ESRCH }
    return thread
  }

  /// Signal 0 only checks that the target exists, as kill(2) specifies.
  static func send(signal: Int32, code: Int32,
                   to target: (SignalInfo) -> Void) throws(Errno)
  {
    if signal == 0 { return }
    try checkSignal(signal)
    target(SignalInfo(signal: signal, code: code,
                      senderPID: Process.current.pid, senderUID: 0))
  }

  static func sigaction(signal: Int32, new: UserAddress, old: UserAddress,
                        setSize: UInt64) throws(Errno)
  {
    guard setSize == signalSetSize else { throw .EINVAL }
    try checkSignal(signal)
    let process = Process.current
    let index = Int(signal - 1)
    var replacement: SignalAction? = nil
    if !new.isNull {
      guard signal != Signal.kill.rawValue && signal != Signal.stop.rawValue
      else { throw .EINVAL }
      let raw = try UserMemory.read((UInt64, UInt64, UInt64, UInt64).self,
                                    at: new)
      replacement = SignalAction(handler: raw.0, flags: raw.1,
                                 restorer: raw.2,
                                 mask: raw.3 & ~unblockableSignals)
    }
    if !old.isNull {
      let a = process.signalActions[index]
      try UserMemory.write((a.handler, a.flags, a.restorer, a.mask), to: old)
    }
    if let replacement {
      process.signalActions[index] = replacement
      // Setting a signal to be ignored discards it where it is pending.
      if replacement.handler == SignalAction.ignoreHandler ||
        (replacement.handler == SignalAction.defaultHandler &&
         Signal(rawValue: signal).defaultAction == .ignore)
      {
        for thread in process.threads {
          thread.pendingSignals &= ~signalBit(signal)
        }
      }
    }
  }

  static func sigprocmask(how: Int32, new: UserAddress, old: UserAddress,
                          setSize: UInt64) throws(Errno)
  {
    guard setSize == signalSetSize else { throw .EINVAL }
    guard let thread = Scheduler.current else { throw .ESRCH }
    var set: UInt64? = nil
    if !new.isNull {
      guard how >= 0 && how <= 2 else { throw .EINVAL }
      set = try UserMemory.read(UInt64.self, at: new)
    }
    if !old.isNull { try UserMemory.write(thread.signalMask, to: old) }
    guard let set else { return }
    switch how {
    case 0: thread.signalMask |= set           // SIG_BLOCK
    case 1: thread.signalMask &= ~set          // SIG_UNBLOCK
    default: thread.signalMask = set           // SIG_SETMASK
    }
    thread.signalMask &= ~unblockableSignals
  }

  /// stack_t: ss_sp u64, ss_flags i32 (+ padding), ss_size u64.
  static func sigaltstack(new: UserAddress, old: UserAddress,
                          userStack: UInt64) throws(Errno)
  {
    guard let thread = Scheduler.current else { throw .ESRCH }
    let current = thread.alternateStack
    var replacement: AlternateStack? = nil
    if !new.isNull {
      let raw = try UserMemory.read((UInt64, Int32, Int32, UInt64).self,
                                    at: new)
      // Changing the stack while running on it is refused.
      guard !current.contains(userStack) else { throw .EPERM }
      if raw.1 & AlternateStack.disable != 0 {
        guard raw.1 == AlternateStack.disable else { throw .EINVAL }
        replacement = AlternateStack()
      } else {
        guard raw.1 == 0 || raw.1 == AlternateStack.onStack else {
          throw .EINVAL
        }
        guard raw.3 >= AlternateStack.minimumSize else { throw .ENOMEM }
        replacement = AlternateStack(base: raw.0, size: raw.3,
                                     disabled: false)
      }
    }
    if !old.isNull {
      let flags: Int32 = current.disabled ? AlternateStack.disable
        : (current.contains(userStack) ? AlternateStack.onStack : 0)
      try UserMemory.write(
        (current.disabled ? 0 : current.base, flags, Int32(0),
         current.disabled ? 0 : current.size), to: old)
    }
    if let replacement { thread.alternateStack = replacement }
  }

  /// rt_sigsuspend and pause: wait with a temporary mask until a signal
  /// is delivered; always "fails" with EINTR.
  static func suspend(mask: UInt64) throws(Errno) -> Int {
    guard let thread = Scheduler.current else { throw .ESRCH }
    thread.maskToRestore = thread.signalMask
    thread.signalMask = mask & ~unblockableSignals
    while true {
      let guardState = InterruptGuard()
      Scheduler.block(interruptible: true)
      guardState.restore()
      if thread.pendingSignals & ~thread.signalMask != 0 { break }
    }
    // Delivery (on the way out) enters the handler with the saved mask
    // recorded in its frame; if no handler runs, put the mask back here.
    let deliverable = thread.pendingSignals & ~thread.signalMask
    let actions = thread.process.signalActions
    var handled = false
    for signal in 1...64 where deliverable & signalBit(Int32(signal)) != 0 {
      if actions[signal - 1].handler > SignalAction.ignoreHandler {
        handled = true
      }
    }
    if !handled, let saved = thread.maskToRestore {
      thread.signalMask = saved
      thread.maskToRestore = nil
    }
    throw .EINTR
  }

  static func timedWait(set: UInt64, info: UserAddress, deadline: UInt64?)
    throws(Errno) -> Int
  {
    guard let thread = Scheduler.current else { throw .ESRCH }
    while true {
      let ready = thread.pendingSignals & set
      if ready != 0 {
        let signal = Int32(ready.trailingZeroBitCount + 1)
        thread.pendingSignals &= ~signalBit(signal)
        if !info.isNull {
          try UserMemory.writeBytes(
            thread.pendingInfo[Int(signal - 1)].encoded(), to: info)
        }
        return Int(signal)
      }
      if let deadline, Clock.monotonicNanoseconds() >= deadline {
        throw .EAGAIN
      }
      thread.waitingForSignals = set
      let guardState = InterruptGuard()
      Scheduler.block(until: deadline, interruptible: true)
      guardState.restore()
      thread.waitingForSignals = 0
      // Another unblocked signal arrived: it is handled, and we fail.
      if thread.pendingSignals & ~thread.signalMask & ~set != 0 {
        throw .EINTR
      }
    }
  }
}

extension Array where Element == UInt8 {
  init(littleEndian value: UInt64) {
    self = (0..<8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
  }
}
