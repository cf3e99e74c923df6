// The errors that stop villa before the program runs.
//
// Once QEMU is running, every ending is a `ProgramExit` (the program's
// output may already have reached the user, so there is nothing to throw
// back). Before that point, a problem is one of these cases; each knows
// the status villa exits with and the message it prints after "villa: ".

/// Why villa could not start the program.
public enum VillaError: Error, Equatable, Sendable {
  /// The command line is wrong; the text says how.
  case usage(String)
  /// No kernel ELF at this path.
  case kernelMissing(path: String)
  /// No kernel path was given and villa's package directory, where the
  /// kernel is built, was not found.
  case kernelNotLocated
  /// The program does not exist or cannot be read.
  case programNotFound(program: String, reason: String)
  /// The program is not something the kernel can run.
  case programRefused(program: String, reason: String)
  /// The requested accelerator cannot be used on this host.
  case acceleratorUnavailable(String)
  /// QEMU could not be started.
  case qemuUnavailable(qemu: String, reason: String)
  /// Building the bundled demo program failed.
  case demoBuildFailed(String)
  /// The host failed villa: a system call, a temporary file, a size limit.
  case hostFailure(String)

  /// The status villa exits with.
  public var exitStatus: VillaExitStatus {
    switch self {
    case .usage: return .usage
    case .kernelMissing, .kernelNotLocated: return .kernelMissing
    case .programNotFound: return .notFound
    case .programRefused: return .cannotExecute
    case .acceleratorUnavailable, .qemuUnavailable, .demoBuildFailed,
      .hostFailure:
      return .failed
    }
  }

  /// The message, to be printed after "villa: ".
  public var message: String {
    switch self {
    case .usage(let text):
      return text
    case .kernelMissing(let path):
      return "kernel not built; run tools/build-kernel.sh"
        + " (no kernel at \(path))"
    case .kernelNotLocated:
      return "cannot find the kernel: no villa package directory (with"
        + " Package.swift and arch/x86_64) above the villa executable or"
        + " the current directory; use --kernel PATH or set VILLA_KERNEL"
    case .programNotFound(let program, let reason):
      return "\(program): \(reason)"
    case .programRefused(let program, let reason):
      return "cannot run \(program): \(reason)"
    case .acceleratorUnavailable(let text):
      return text
    case .qemuUnavailable(let qemu, let reason):
      return "cannot start QEMU (\(qemu)): \(reason);"
        + " install qemu-system-x86 or set VILLA_QEMU"
    case .demoBuildFailed(let text):
      return "cannot build the demo program: \(text)"
    case .hostFailure(let text):
      return text
    }
  }
}
