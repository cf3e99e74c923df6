// The `villa` command: parse the command line, run, exit with the status.
//
// All the work is in VillaHost; this file only connects it to the process:
// villa's own stdin becomes the program's, the program's output streams to
// villa's stdout and stderr as it arrives, and the messages villa adds go
// to stderr prefixed "villa: ". See `villa --help` for the options and
// the exit statuses.

import Glibc
import VillaHost

@main
struct VillaCommandLine {
  static func main() {
    let status = run(Array(CommandLine.arguments.dropFirst()))
    exit(status)
  }

  static func run(_ arguments: [String]) -> Int32 {
    do throws(VillaError) {
      switch try parseCommandLine(arguments) {
      case .help(.general):
        printOut(VillaHelp.general)
      case .help(.run):
        printOut(VillaHelp.run)
      case .version:
        printOut(VillaHelp.versionText)
      case .run(let options):
        return try runProgram(options)
      case .traceDiff(let options):
        return try traceDiff(options)
      }
      return 0
    } catch {
      printError("villa: \(error.message)")
      if case .usage = error {
        let page = arguments.first == "run"
          ? "villa run --help" : "villa --help"
        printError("Try '\(page)' for more information.")
      }
      return error.exitStatus.rawValue
    }
  }

  static func runProgram(_ options: RunOptions) throws(VillaError) -> Int32 {
    let root = PackageLayout.findRoot()
    let environmentKernel = getenv("VILLA_KERNEL").map {
      String(cString: $0)
    }
    // The kernel first: without it nothing runs, demo or not.
    let kernel = try PackageLayout.locateKernel(
      explicit: options.kernelPath, environment: environmentKernel,
      packageRoot: root)

    let program: String
    if let given = options.program {
      program = given
    } else {
      guard let root else {
        throw .demoBuildFailed(
          "villa's package directory was not found; name a PROGRAM")
      }
      let demo = try PackageLayout.prepareDemo(packageRoot: root)
      let built = demo.rebuilt ? "built just now from" : "from"
      printError(
        "villa: no PROGRAM given; running the demo \(demo.path)"
          + " (\(built) \(PackageLayout.demoSourceRelativePath))")
      program = demo.path
    }

    var configuration = RunConfiguration(
      programPath: program, arguments: options.arguments,
      environment: options.environment, kernelPath: kernel,
      memoryMiB: options.memoryMiB, accelerator: options.accelerator,
      machine: options.machine, hostname: options.hostname,
      logLevel: options.logLevel, timeout: options.timeout,
      extraQEMUArguments: options.extraQEMUArguments)
    configuration.standardInput = try readRedirectedStandardInput()
    configuration.traceSyscalls = options.traceSyscalls
    configuration.portForwards = options.portForwards

    // A closed reader must end the run (EPIPE), not kill villa, and an
    // interrupt must stop QEMU too.
    _ = signal(SIGPIPE, SIG_IGN)
    try VillaInterrupts.install()

    let outcome = try runInVilla(
      configuration,
      sink: .stream(stdout: 1, stderr: 2,
                    kernelLog: options.showKernelLog ? 2 : nil))
    for line in outcome.report(kernelLogShown: options.showKernelLog) {
      printError(line)
    }
    return outcome.status
  }

  /// Runs the program on the host under strace and in Villa with --trace,
  /// and prints where the two traces first differ (status 1) or that they
  /// agree (status 0).
  static func traceDiff(_ options: RunOptions) throws(VillaError) -> Int32 {
    let kernel = try PackageLayout.locateKernel(
      explicit: options.kernelPath,
      environment: getenv("VILLA_KERNEL").map { String(cString: $0) },
      packageRoot: PackageLayout.findRoot())
    let program = options.program!
    let input = try readRedirectedStandardInput()
    var configuration = RunConfiguration(
      programPath: program, arguments: options.arguments,
      environment: options.environment, kernelPath: kernel,
      memoryMiB: options.memoryMiB, accelerator: options.accelerator,
      machine: options.machine, hostname: options.hostname,
      timeout: options.timeout)
    configuration.standardInput = input
    configuration.traceSyscalls = []
    var directory = [CChar](repeating: 0, count: 4096)
    let resolved = try resolveProgramPath(
      program, searchPath: getenv("PATH").map { String(cString: $0) },
      currentDirectory: getcwd(&directory, directory.count) != nil
        ? String(cString: directory) : "/")
    let host = try TraceDiff.hostTrace(
      program: resolved, arguments: options.arguments,
      environment: options.environment, standardInput: input)
    let outcome = try runInVilla(configuration, sink: .capture)
    let villa = outcome.transcript.trace.compactMap { TraceDiff.parse($0) }
    let (lines, differs) = TraceDiff.report(
      host: TraceDiff.filtered(host), villa: TraceDiff.filtered(villa))
    for line in lines { printOut(line) }
    return differs ? 1 : 0
  }

  static func printOut(_ text: String) {
    writeText(1, text.hasSuffix("\n") ? text : text + "\n")
  }

  static func printError(_ text: String) {
    writeText(2, text + "\n")
  }

  /// write(2) in a loop: villa's messages go out unbuffered, in order with
  /// the program's output on the same descriptor.
  static func writeText(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
      let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { return }
      bytes = bytes.dropFirst(count)
    }
  }
}
