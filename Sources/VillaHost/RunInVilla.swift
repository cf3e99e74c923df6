// The engine: run one program in a Villa VM.
//
// `runInVilla` does, in order: find and read the program, refuse what the
// kernel cannot run, find the kernel, choose the accelerator, write the
// boot bundle into a private temporary directory, start QEMU and pump its
// channels into the sink, then decide how the run ended. Problems found
// before QEMU starts are thrown as `VillaError`; from then on every ending
// is a `ProgramExit` inside the returned `RunOutcome`, since output may
// already have reached the user.
//
// How an ending is decided (`programExit(for:transcript:)`): a panic
// (an `@panic` record, or QEMU's status 3) wins, then the kernel's
// `@exit`/`@signal` record, then villa's own reason for stopping the VM
// (timeout, interrupt, closed output); anything else is a VM failure.
// QEMU's status 1 alone proves nothing: QEMU also exits with 1 when it
// fails to start, which is why the record is needed.

import HostLink

import Glibc

/// Where the program's output goes.
public enum OutputSink: Sendable {
  /// Keep it: `RunOutcome.stdout` and `.stderr` hold the bytes.
  case capture
  /// Write each chunk as it arrives to these descriptors; kernel log
  /// lines go, prefixed "kernel: ", to `kernelLog` when it is not nil.
  /// The caller should ignore SIGPIPE, so that a closed reader ends the
  /// run as `.outputClosed` instead of killing the process.
  case stream(stdout: Int32, stderr: Int32, kernelLog: Int32?)

  /// villa's own stdout and stderr, without the kernel log.
  public static let standardStreams =
    OutputSink.stream(stdout: 1, stderr: 2, kernelLog: nil)
}

/// Everything a run produced.
public struct RunOutcome: Sendable {
  /// How the run ended.
  public var exit: ProgramExit
  /// What the kernel said: log lines, records, a panic's report.
  public var transcript: KernelChannelTranscript
  /// A panic's `@frame` addresses, symbolized.
  public var backtrace: [BacktraceFrame]
  /// The profiler's samples, symbolized (`kernelOptions` had
  /// "profile=HZ"); the raw samples are in `transcript.profile`.
  public var profile: FoldedProfile? = nil
  /// The program's output, when the sink was `.capture`; else empty.
  public var stdout: [UInt8]
  public var stderr: [UInt8]
  /// QEMU's own messages and how it ended.
  public var termination: VMTermination
  /// The command line QEMU was started with.
  public var qemuCommandLine: [String]
  public var accelerator: Accelerator

  public init(
    exit: ProgramExit, transcript: KernelChannelTranscript,
    backtrace: [BacktraceFrame], stdout: [UInt8], stderr: [UInt8],
    termination: VMTermination, qemuCommandLine: [String],
    accelerator: Accelerator
  ) {
    self.exit = exit
    self.transcript = transcript
    self.backtrace = backtrace
    self.stdout = stdout
    self.stderr = stderr
    self.termination = termination
    self.qemuCommandLine = qemuCommandLine
    self.accelerator = accelerator
  }

  /// How many of the kernel's last log lines a VM failure report shows.
  public static let failureLogLines = 10

  /// The status villa exits with.
  public var status: Int32 { exit.villaStatus }
  /// The kernel's log lines, in order.
  public var kernelLog: [String] { transcript.log }

  /// What villa prints on stderr after the run, one line each: the panic
  /// report, why the VM failed, or that the timeout expired. Kernel log
  /// lines are repeated in a panic report only if `kernelLogShown` is
  /// false (with --kernel-log they were shown as they came).
  public func report(kernelLogShown: Bool) -> [String] {
    switch exit {
    case .exited, .interrupted, .outputClosed:
      return []
    case .signaled(let signal):
      return ["villa: the program was killed by signal \(signal)"]
    case .timedOut:
      return ["villa: timed out; the VM was stopped"]
    case .panic(let message):
      var lines = ["villa: kernel panic: \(message)"]
      if !kernelLogShown {
        lines += transcript.panicReport.map { "kernel: \($0)" }
      }
      if !backtrace.isEmpty {
        lines.append("kernel backtrace:")
        lines += backtrace.enumerated().map { $1.line(index: $0) }
      }
      return lines
    case .vmFailed(let message):
      var lines = ["villa: \(message)"]
      // The kernel's last words often say why it stopped.
      if !kernelLogShown {
        let tail = transcript.log.suffix(RunOutcome.failureLogLines)
        lines += tail.map { "kernel: \($0)" }
      }
      let said = termination.diagnostics.split(separator: "\n")
      if !said.isEmpty {
        lines.append("villa: QEMU said:")
        lines += said.map { "  \($0)" }
      }
      lines.append(
        "villa: QEMU command: " + qemuCommandLine.joined(separator: " "))
      return lines
    }
  }
}

/// Decides how a run ended from what QEMU did and what the kernel said.
public func programExit(
  for termination: VMTermination, transcript: KernelChannelTranscript
) -> ProgramExit {
  let panicStatus = termination.qemuStatus
    == .exited(MachineContract.qemuStatusPanic)
  if let message = transcript.panicMessage {
    return .panic(message)
  }
  if panicStatus && termination.cause == .finished {
    return .panic(
      "(no message: QEMU reported a panic exit but the kernel sent no"
        + " @panic record)")
  }
  if let ending = transcript.ending {
    return ending
  }
  switch termination.cause {
  case .timedOut: return .timedOut
  case .interrupted(let signal): return .interrupted(signal)
  case .outputClosed: return .outputClosed
  case .finished: break
  }
  switch termination.qemuStatus {
  case .exited(0):
    return .vmFailed(
      "the VM reset without an exit record from the kernel"
        + " (a triple fault, or the guest rebooted)")
  case .exited(let code):
    return .vmFailed(
      "QEMU exited with status \(code) and the kernel reported no exit"
        + " (QEMU failed to start, or the kernel stopped early)")
  case .signaled(let signal):
    return .vmFailed("QEMU was killed by signal \(signal)")
  }
}

/// Runs the program of `configuration` in a VM.
public func runInVilla(
  _ givenConfiguration: RunConfiguration, sink: OutputSink = .capture
) throws(VillaError) -> RunOutcome {
  var configuration = givenConfiguration
  // A configuration built in code gets the checks the CLI's parser makes.
  let memoryRange =
    RunConfiguration.minimumMemoryMiB...RunConfiguration.maximumMemoryMiB
  guard memoryRange.contains(configuration.memoryMiB) else {
    throw .usage("memory of \(configuration.memoryMiB) MiB is outside"
                   + " 16M...1024G")
  }
  _ = try parseHostname(configuration.hostname)
  for entry in configuration.environment {
    _ = try parseEnvironmentEntry(entry)
  }

  // The program: found, read and checked before anything else, so that
  // a typo never costs a boot. An image brings its own, which the kernel
  // loads from the image; its stored arguments apply unless others are
  // given.
  let program: ProgramImage
  var programFromImage = false
  if let image = configuration.diskImage {
    if configuration.programPath.isEmpty {
      let launch = try VillaImage.readLaunch(image: image)
      program = ProgramImage(
        pathAsGiven: launch.arguments.first ?? launch.programPath,
        absolutePath: launch.programPath, bytes: launch.programBytes)
      programFromImage = true
      if configuration.arguments.isEmpty {
        configuration.arguments = Array(launch.arguments.dropFirst())
      }
      configuration.environment = launch.environment
        + configuration.environment
    } else {
      program = try loadProgram(
        configuration.programPath,
        searchPath: getenv("PATH").map { String(cString: $0) },
        currentDirectory: POSIX.currentDirectory() ?? "/")
    }
  } else {
    let searchPath = getenv("PATH").map { String(cString: $0) }
    program = try loadProgram(
      configuration.programPath, searchPath: searchPath,
      currentDirectory: POSIX.currentDirectory() ?? "/")
  }
  if let reason = programRefusal(program.bytes) {
    throw .programRefused(program: configuration.programPath, reason: reason)
  }

  let kernelPath = absolutePath(
    configuration.kernelPath, from: POSIX.currentDirectory() ?? "/")
  guard access(kernelPath, R_OK) == 0 else {
    throw .kernelMissing(path: kernelPath)
  }
  let accelerator = try probeAccelerator(configuration.accelerator)

  // The kernel and the bundle both sit in guest memory; when they cannot
  // fit even before the kernel allocates anything, say so plainly rather
  // than let QEMU or the kernel fail obscurely.
  // A program the host has is sent in the bundle even when the image
  // holds it too: QEMU puts the bundle in guest memory at no cost, where
  // reading the program back through virtio-blk and VillaFS would add
  // tens of milliseconds to the boot.
  let bundle = makeBootBundle(
    program: program, configuration: configuration,
    includeProgram: !programFromImage)
  let kernelSize = fileSize(kernelPath) ?? 0
  let memory = configuration.memoryMiB << 20
  guard bundle.count + kernelSize < memory else {
    let needed = (bundle.count + kernelSize + (1 << 20) - 1) >> 20
    throw .hostFailure(
      "the kernel, the program and its input take \(needed) MiB, more than"
        + " --memory \(configuration.memoryMiB)M; give more memory")
  }

  let directory: String
  do {
    directory = try POSIX.makeTemporaryDirectory(prefix: "villa")
  } catch {
    throw .hostFailure("cannot create a temporary directory: \(error.message)")
  }
  let bundlePath = directory + "/bundle"
  defer {
    _ = unlink(bundlePath)
    _ = rmdir(directory)
  }
  do {
    try writeFile(bundlePath, bundle)
  } catch {
    throw .hostFailure("cannot write the boot bundle: \(error.message)")
  }

  var launch = QEMULaunch(
    qemuPath: configuration.qemuPath, machine: configuration.machine,
    accelerator: accelerator, memoryMiB: configuration.memoryMiB,
    kernelPath: kernelPath, bundlePath: bundlePath,
    stdoutPath: channelPaths.stdout, stderrPath: channelPaths.stderr,
    kernelChannelPath: channelPaths.kernel,
    portForwards: configuration.portForwards,
    diskImagePath: configuration.diskImage,
    extraArguments: configuration.extraQEMUArguments)
  launch.kernelChannelSocket = kernelChannelDescriptor
  launch.diskSnapshot = configuration.diskSnapshot

  // The pump's consumers: the program's streams into the sink, the
  // kernel channel through the splitter into the transcript.
  var stdout: [UInt8] = []
  var stderr: [UInt8] = []
  var splitter = KernelChannelLineSplitter()
  var transcript = KernelChannelTranscript()
  func take(_ lines: [String]) {
    for line in lines {
      let record = KernelChannelRecord(line: line)
      if case .trace(let text) = record, case .stream(_, let errFD, _) = sink {
        // Like strace, the trace goes to stderr as it happens.
        try? POSIX.writeAll(errFD, Array("\(text)\n".utf8))
      }
      let text = transcript.take(record)
      if case .countersEnd("request") = record,
        case .stream(_, let errFD, _) = sink,
        let snapshot = transcript.requestedCounters.last
      {
        // Asked for while the program runs (SIGUSR1): shown at once.
        let lines = ["villa: counters on request:"] + StatsReport.text(
          program: configuration.programPath, counters: snapshot.counters,
          syscalls: snapshot.syscalls)
        try? POSIX.writeAll(errFD, Array(
          lines.joined(separator: "\n").utf8 + [UInt8(ascii: "\n")]))
      }
      guard let text else { continue }
      if case .stream(_, _, let logFD?) = sink {
        try? POSIX.writeAll(logFD, Array("kernel: \(text)\n".utf8))
      }
    }
  }
  let consumers: ChannelConsumers
  switch sink {
  case .capture:
    consumers = ChannelConsumers(
      programStdout: { stdout += $0; return true },
      programStderr: { stderr += $0; return true },
      kernel: { take(splitter.lines(from: $0)) })
  case .stream(let outFD, let errFD, _):
    consumers = ChannelConsumers(
      programStdout: { deliver($0, to: outFD) },
      programStderr: { deliver($0, to: errFD) },
      kernel: { take(splitter.lines(from: $0)) })
  }

  let termination = try runQEMU(
    launch.commandLine, timeout: configuration.timeout,
    consumers: consumers)
  if let last = splitter.finish() { take([last]) }

  var backtrace: [BacktraceFrame] = []
  if !transcript.frames.isEmpty {
    let kernel = (try? readFile(kernelPath)) ?? []
    backtrace = demangleSymbols(
      symbolizeBacktrace(transcript.frames, kernel: kernel))
  }

  var outcome = RunOutcome(
    exit: programExit(for: termination, transcript: transcript),
    transcript: transcript, backtrace: backtrace,
    stdout: stdout, stderr: stderr, termination: termination,
    qemuCommandLine: launch.commandLine, accelerator: accelerator)
  if let samples = transcript.profile {
    outcome.profile = ProfileReport.fold(
      samples, program: program.bytes,
      kernel: (try? readFile(kernelPath)) ?? [])
  }
  return outcome
}

/// Writes program output; false once the reader has gone away.
private func deliver(_ bytes: [UInt8], to fd: Int32) -> Bool {
  do {
    try POSIX.writeAll(fd, bytes)
    return true
  } catch {
    // EPIPE: nobody reads any more. Other errors (a full disk behind a
    // redirect) also mean the output cannot be delivered; stop as well.
    return false
  }
}

private func fileSize(_ path: String) -> Int? {
  var status = stat()
  guard stat(path, &status) == 0 else { return nil }
  return Int(status.st_size)
}

private func readFile(_ path: String) throws(SystemCallError) -> [UInt8] {
  let fd = try POSIX.openForReading(path)
  defer { POSIX.close(fd) }
  return try POSIX.readToEnd(fd)
}

private func writeFile(_ path: String, _ bytes: [UInt8])
  throws(SystemCallError)
{
  let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
  guard fd >= 0 else {
    throw SystemCallError(call: "open", errno: lastErrno())
  }
  defer { POSIX.close(fd) }
  try POSIX.writeAll(fd, bytes)
}
