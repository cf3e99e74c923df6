// Signals: their numbers and names, what each does by default, the 64-bit
// signal set, and the flag words of rt_sigaction(2), rt_sigprocmask(2) and
// sigaltstack(2). Values are x86_64's (x86's asm/signal.h and
// asm-generic/signal-defs.h); default actions follow signal(7).
//
// Linux numbers signals 1...64. 1...31 are the classic signals; 32...64
// are real-time signals, of which libc keeps the first two or three for
// itself, so its SIGRTMIN is higher than the kernel's 32.
//
// Constant names drop the SIG prefix and use lowerCamelCase, so SIGSEGV is
// `Signal.segv` and SIGRTMIN is `Signal.rtmin`; the `name` property gives
// the C spelling back.

/// A signal number, 1...64 when valid.
public struct Signal: RawRepresentable, Hashable, Sendable,
  CustomStringConvertible
{
  public var rawValue: Int32

  public init(rawValue: Int32) {
    self.rawValue = rawValue
  }

  /// The kernel's `_NSIG`: the highest signal number, and the number of
  /// bits in a signal set. (glibc's _NSIG is one more.)
  public static let count: Int32 = 64

  /// Whether the number names a signal (1...64). Zero is not a signal:
  /// kill(2) uses it to probe for a process.
  public var isValid: Bool {
    rawValue >= 1 && rawValue <= Signal.count
  }

  /// Whether this is a real-time signal (32...64), which queues instead of
  /// coalescing.
  public var isRealtime: Bool {
    rawValue >= Signal.rtmin.rawValue && rawValue <= Signal.rtmax.rawValue
  }

  /// The C name: "SIGSEGV", "SIGRTMIN", "SIGRTMIN+5", "SIGRTMAX", or
  /// "signal N" for an invalid number.
  public var name: String {
    if rawValue >= 1 && Int(rawValue) <= Signal.classicNames.count {
      return Signal.classicNames[Int(rawValue) - 1]
    }
    if rawValue == Signal.rtmin.rawValue {
      return "SIGRTMIN"
    }
    if rawValue == Signal.rtmax.rawValue {
      return "SIGRTMAX"
    }
    if isRealtime {
      return "SIGRTMIN+\(rawValue - Signal.rtmin.rawValue)"
    }
    return "signal \(rawValue)"
  }

  public var description: String {
    name
  }

  /// What happens when the signal arrives with its disposition at SIG_DFL,
  /// per signal(7); nil for an invalid number. Real-time signals
  /// terminate.
  public var defaultAction: SignalDefaultAction? {
    guard isValid else {
      return nil
    }
    switch self {
    case .chld, .urg, .winch:
      return .ignore
    case .quit, .ill, .trap, .abrt, .bus, .fpe, .segv, .xcpu, .xfsz, .sys:
      return .dumpCore
    case .stop, .tstp, .ttin, .ttou:
      return .stop
    case .cont:
      return .resume
    default:
      return .terminate
    }
  }

  /// Names of 1...31, indexed by number minus one.
  static let classicNames: [String] = [
    /* 1 */ "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT",
    /* 7 */ "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2",
    /* 13 */ "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD",
    /* 18 */ "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU",
    /* 23 */ "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF",
    /* 28 */ "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
  ]

  /// `SIGHUP`: hangup of the controlling terminal.
  public static let hup = Signal(rawValue: 1)
  /// `SIGINT`: interrupt from the keyboard.
  public static let int = Signal(rawValue: 2)
  /// `SIGQUIT`: quit from the keyboard.
  public static let quit = Signal(rawValue: 3)
  /// `SIGILL`: illegal instruction.
  public static let ill = Signal(rawValue: 4)
  /// `SIGTRAP`: breakpoint or trace trap.
  public static let trap = Signal(rawValue: 5)
  /// `SIGABRT` (also `SIGIOT`): abort(3).
  public static let abrt = Signal(rawValue: 6)
  /// `SIGBUS`: bus error, such as touching a mapping past its file's end.
  public static let bus = Signal(rawValue: 7)
  /// `SIGFPE`: arithmetic exception, such as integer division by zero.
  public static let fpe = Signal(rawValue: 8)
  /// `SIGKILL`: cannot be caught, blocked or ignored.
  public static let kill = Signal(rawValue: 9)
  /// `SIGUSR1`
  public static let usr1 = Signal(rawValue: 10)
  /// `SIGSEGV`: invalid memory reference.
  public static let segv = Signal(rawValue: 11)
  /// `SIGUSR2`
  public static let usr2 = Signal(rawValue: 12)
  /// `SIGPIPE`: write to a pipe or socket with no reader.
  public static let pipe = Signal(rawValue: 13)
  /// `SIGALRM`: alarm(2) and ITIMER_REAL expiry.
  public static let alrm = Signal(rawValue: 14)
  /// `SIGTERM`: polite termination request.
  public static let term = Signal(rawValue: 15)
  /// `SIGSTKFLT`: unused on x86.
  public static let stkflt = Signal(rawValue: 16)
  /// `SIGCHLD`: a child stopped, continued or exited.
  public static let chld = Signal(rawValue: 17)
  /// `SIGCONT`: continue if stopped.
  public static let cont = Signal(rawValue: 18)
  /// `SIGSTOP`: stop; cannot be caught, blocked or ignored.
  public static let stop = Signal(rawValue: 19)
  /// `SIGTSTP`: stop typed at the terminal.
  public static let tstp = Signal(rawValue: 20)
  /// `SIGTTIN`: background read from the terminal.
  public static let ttin = Signal(rawValue: 21)
  /// `SIGTTOU`: background write to the terminal.
  public static let ttou = Signal(rawValue: 22)
  /// `SIGURG`: urgent data on a socket.
  public static let urg = Signal(rawValue: 23)
  /// `SIGXCPU`: RLIMIT_CPU soft limit exceeded.
  public static let xcpu = Signal(rawValue: 24)
  /// `SIGXFSZ`: RLIMIT_FSIZE exceeded.
  public static let xfsz = Signal(rawValue: 25)
  /// `SIGVTALRM`: ITIMER_VIRTUAL expiry.
  public static let vtalrm = Signal(rawValue: 26)
  /// `SIGPROF`: ITIMER_PROF expiry.
  public static let prof = Signal(rawValue: 27)
  /// `SIGWINCH`: the terminal window size changed.
  public static let winch = Signal(rawValue: 28)
  /// `SIGIO` (also `SIGPOLL`): I/O is possible.
  public static let io = Signal(rawValue: 29)
  /// `SIGPWR`: power failure.
  public static let pwr = Signal(rawValue: 30)
  /// `SIGSYS`: bad system call (seccomp).
  public static let sys = Signal(rawValue: 31)
  /// `SIGRTMIN` as the kernel counts: the first real-time signal.
  public static let rtmin = Signal(rawValue: 32)
  /// `SIGRTMAX`: the last real-time signal.
  public static let rtmax = Signal(rawValue: 64)
}

/// A signal's default disposition, the Term/Ign/Core/Stop/Cont column of
/// signal(7).
public enum SignalDefaultAction: Hashable, Sendable {
  /// Terminate the process.
  case terminate
  /// Ignore the signal.
  case ignore
  /// Terminate the process and dump core.
  case dumpCore
  /// Stop the process.
  case stop
  /// Continue the process if it is stopped.
  case resume
}

/// A `sigset_t` as the kernel sees it: 64 bits, signal n at bit n - 1.
/// rt_sigprocmask(2) and rt_sigaction(2) insist on this size (8) as their
/// `sigsetsize` argument.
public struct SignalSet: OptionSet, Hashable, Sendable {
  public var rawValue: UInt64

  public init(rawValue: UInt64) {
    self.rawValue = rawValue
  }

  /// The size of a kernel signal set in bytes.
  public static let byteCount = 8

  /// The set holding just `signal`, or the empty set for an invalid
  /// number.
  public init(_ signal: Signal) {
    self.rawValue =
      signal.isValid ? UInt64(1) << UInt64(signal.rawValue - 1) : 0
  }

  /// Whether `signal` is in the set; false for an invalid number.
  public func contains(_ signal: Signal) -> Bool {
    !SignalSet(signal).isEmpty && contains(SignalSet(signal))
  }

  /// The signals no mask may block: SIGKILL and SIGSTOP. The kernel
  /// removes them from every mask a program sets.
  public static let unblockable: SignalSet = [
    SignalSet(.kill), SignalSet(.stop),
  ]
}

/// The `how` argument of rt_sigprocmask(2).
public struct SigprocmaskHow: RawRepresentable, Hashable, Sendable {
  public var rawValue: Int32

  public init(rawValue: Int32) {
    self.rawValue = rawValue
  }

  /// `SIG_BLOCK`: add the set to the mask.
  public static let block = SigprocmaskHow(rawValue: 0)
  /// `SIG_UNBLOCK`: remove the set from the mask.
  public static let unblock = SigprocmaskHow(rawValue: 1)
  /// `SIG_SETMASK`: replace the mask with the set.
  public static let setmask = SigprocmaskHow(rawValue: 2)
}

/// Special values of the handler field of `struct sigaction`.
public enum SignalHandlerAddress {
  /// `SIG_DFL`: take the default action.
  public static let dfl: UInt64 = 0
  /// `SIG_IGN`: ignore the signal.
  public static let ign: UInt64 = 1
}

/// The `sa_flags` field of the kernel's `struct sigaction`, an unsigned
/// long on x86_64.
public struct SigactionFlags: OptionSet, Hashable, Sendable {
  public var rawValue: UInt64

  public init(rawValue: UInt64) {
    self.rawValue = rawValue
  }

  /// `SA_NOCLDSTOP`: no SIGCHLD when a child stops or continues.
  public static let nocldstop = SigactionFlags(rawValue: 0x1)
  /// `SA_NOCLDWAIT`: children do not become zombies.
  public static let nocldwait = SigactionFlags(rawValue: 0x2)
  /// `SA_SIGINFO`: the handler takes (signo, siginfo, ucontext).
  public static let siginfo = SigactionFlags(rawValue: 0x4)
  /// `SA_UNSUPPORTED`: never supported; lets a program probe whether the
  /// kernel clears unknown flags.
  public static let unsupported = SigactionFlags(rawValue: 0x400)
  /// `SA_EXPOSE_TAGBITS`: meaningful on arm64 only.
  public static let exposeTagbits = SigactionFlags(rawValue: 0x800)
  /// `SA_RESTORER`: `sa_restorer` holds the return trampoline. x86_64
  /// libcs always set it, since the kernel has no default trampoline.
  public static let restorer = SigactionFlags(rawValue: 0x0400_0000)
  /// `SA_ONSTACK`: run the handler on the sigaltstack(2) stack.
  public static let onstack = SigactionFlags(rawValue: 0x0800_0000)
  /// `SA_RESTART`: restart interrupted system calls.
  public static let restart = SigactionFlags(rawValue: 0x1000_0000)
  /// `SA_NODEFER`: do not block the signal while its handler runs.
  public static let nodefer = SigactionFlags(rawValue: 0x4000_0000)
  /// `SA_RESETHAND`: reset the disposition to SIG_DFL on delivery.
  public static let resethand = SigactionFlags(rawValue: 0x8000_0000)
}

/// The `ss_flags` field of `stack_t`, for sigaltstack(2).
public struct SigaltstackFlags: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// `SS_ONSTACK`: reported while running on the alternate stack.
  public static let onstack = SigaltstackFlags(rawValue: 1)
  /// `SS_DISABLE`: no alternate stack.
  public static let disable = SigaltstackFlags(rawValue: 2)
  /// `SS_AUTODISARM`: clear the alternate stack while a handler runs on
  /// it.
  public static let autodisarm = SigaltstackFlags(rawValue: 0x8000_0000)

  /// The kernel's `MINSIGSTKSZ`: the smallest alternate stack x86_64
  /// sigaltstack(2) accepts. AT_MINSIGSTKSZ reports what signal delivery
  /// really needs, which with AVX-512 state is more.
  public static let minimumStackSize = 2048
  /// The kernel's `SIGSTKSZ`: the suggested alternate stack size. (glibc
  /// 2.34 and later compute both values at run time instead.)
  public static let suggestedStackSize = 8192
}
