// How a run ends, and the status `villa` exits with for each ending.
//
// villa behaves like a shell running the program: it exits with the
// program's own status, or 128 + N when signal N killed the program. The
// statuses villa needs for its own failures follow the conventions of
// env(1), timeout(1) and POSIX shells (124 to 127), so scripts can tell a
// failing program from a program that never ran. As with a shell, a
// program may itself exit with one of those values; the message villa
// prints on stderr tells the cases apart.

/// The statuses `villa` exits with when the status is not the program's.
public enum VillaExitStatus: Int32, CaseIterable, Sendable {
  /// The command line was wrong (unknown option, bad value).
  case usage = 2
  /// The kernel ELF was not found: run tools/build-kernel.sh.
  case kernelMissing = 122
  /// The kernel panicked; its report went to stderr.
  case kernelPanic = 123
  /// `--timeout` expired and villa stopped the VM.
  case timedOut = 124
  /// villa or QEMU failed: QEMU did not start, or the VM ended without
  /// telling how the program ended.
  case failed = 125
  /// The program is not a static x86_64 Linux ELF villa can run.
  case cannotExecute = 126
  /// The program was not found or could not be read.
  case notFound = 127

  /// Added to a signal number, as shells do: SIGKILL (9) gives 137.
  public static let signalBase: Int32 = 128

  /// SIGPIPE's number on Linux, used when villa's own output is closed.
  public static let brokenPipeSignal: Int32 = 13
}

/// How the program (or the VM around it) ended.
public enum ProgramExit: Equatable, Sendable {
  /// The program called exit(N) (`@exit N` from the kernel).
  case exited(Int32)
  /// Signal N killed the program (`@signal N`).
  case signaled(Int32)
  /// The kernel panicked with this message (`@panic`, or QEMU status 3).
  case panic(String)
  /// The VM did not run to an end the kernel reported; the text says why.
  case vmFailed(String)
  /// `--timeout` expired; villa killed the VM.
  case timedOut
  /// villa received signal N (Ctrl-C, for instance) and stopped the VM.
  case interrupted(Int32)
  /// Whoever read villa's stdout or stderr went away (EPIPE), so villa
  /// stopped the VM, as a pipeline's writer dies of SIGPIPE.
  case outputClosed

  /// The status `villa` exits with for this ending.
  public var villaStatus: Int32 {
    switch self {
    case .exited(let code): return code
    case .signaled(let signal): return VillaExitStatus.signalBase + signal
    case .panic: return VillaExitStatus.kernelPanic.rawValue
    case .vmFailed: return VillaExitStatus.failed.rawValue
    case .timedOut: return VillaExitStatus.timedOut.rawValue
    case .interrupted(let signal):
      return VillaExitStatus.signalBase + signal
    case .outputClosed:
      return VillaExitStatus.signalBase + VillaExitStatus.brokenPipeSignal
    }
  }
}
