// The `villa` command: parse the command line, run, exit with the status.
//
// All the work is in VillaHost; this file only connects it to the process:
// villa's own stdin becomes the program's, the program's output streams to
// villa's stdout and stderr as it arrives, and the messages villa adds go
// to stderr prefixed "villa: ". See `villa --help` for the options and
// the exit statuses.

import Foundation
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
      case .image(let command):
        return try image(command)
      case .profileSVG(let input, let output, let title, let width):
        return try profileSVG(input: input, output: output, title: title,
                              width: width)
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

  /// Folds a manifest into the options; what the command line gave wins.
  static func applyManifest(_ given: RunOptions) throws(VillaError)
    -> (RunOptions, Manifest?)
  {
    guard let path = given.manifest else { return (given, nil) }
    let manifest = try Manifest.load(path: path)
    var options = given
    if options.program == nil { options.program = manifest.program }
    if options.arguments.isEmpty { options.arguments = manifest.arguments }
    options.environment = manifest.environment + options.environment
    if options.memoryMiB == RunConfiguration.defaultMemoryMiB,
      let memory = manifest.memoryMiB
    {
      options.memoryMiB = memory
    }
    if options.hostname == RunConfiguration.defaultHostname,
      let hostname = manifest.hostname
    {
      options.hostname = hostname
    }
    // The manifest's ports are -p values; the command line's come first.
    for port in manifest.ports {
      let forward = try parsePortForward(port)
      if !options.portForwards.contains(where: {
        $0.transport == forward.transport && $0.hostPort == forward.hostPort
      }) {
        options.portForwards.append(forward)
      }
    }
    return (options, manifest)
  }

  static func runProgram(_ givenOptions: RunOptions) throws(VillaError)
    -> Int32
  {
    var (options, manifest) = try applyManifest(givenOptions)
    let root = PackageLayout.findRoot()
    let environmentKernel = getenv("VILLA_KERNEL").map {
      String(cString: $0)
    }
    // The kernel first: without it nothing runs, demo or not.
    let kernel = try PackageLayout.locateKernel(
      explicit: options.kernelPath, environment: environmentKernel,
      packageRoot: root)

    let program: String
    var arguments = options.arguments
    if options.image != nil {
      // The image holds the program; words after the options are its
      // arguments, replacing the stored ones.
      program = ""
      arguments = (options.program.map { [$0] } ?? []) + options.arguments
    } else if let given = options.program {
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
      programPath: program, arguments: arguments,
      environment: options.environment, kernelPath: kernel,
      memoryMiB: options.memoryMiB, accelerator: options.accelerator,
      machine: options.machine, hostname: options.hostname,
      logLevel: options.logLevel, timeout: options.timeout,
      extraQEMUArguments: options.extraQEMUArguments)
    configuration.standardInput = try readRedirectedStandardInput()
    configuration.traceSyscalls = options.traceSyscalls
    configuration.diskImage = options.image
    if options.readOnlyRoot {
      guard options.image != nil else {
        throw .usage("--read-only applies to --image")
      }
      configuration.kernelOptions.append("ro")
    }
    if let size = manifest?.tmpSize {
      configuration.kernelOptions.append("tmp-size=\(size)")
    }
    // A manifest that ships files runs from a cached image holding the
    // program and them, through a throwaway overlay (see ImageCache).
    if let manifest, options.image == nil,
      !manifest.files.isEmpty || !manifest.directories.isEmpty
    {
      let image = try loadProgram(
        program, searchPath: getenv("PATH").map { String(cString: $0) },
        currentDirectory: currentWorkingDirectory())
      if let reason = programRefusal(image.bytes) {
        throw .programRefused(program: program, reason: reason)
      }
      let cached = try ImageCache.image(
        for: VillaImage.Contents(
          program: image, arguments: [], environment: [],
          hostname: RunConfiguration.defaultHostname,
          files: manifest.files, directories: manifest.directories))
      configuration.diskImage = cached.path
      configuration.diskSnapshot = true
    }
    options.manifest = nil
    if options.stats || options.statsJSON != nil {
      configuration.kernelOptions.append("stats")
    }
    if options.profilePath != nil {
      configuration.kernelOptions.append(
        "profile=\(options.profileFrequency)")
    }
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
    let counters = outcome.transcript.counters
    let syscalls = outcome.transcript.syscallCounters
    if options.stats {
      for line in StatsReport.text(program: program.isEmpty
                                     ? options.image ?? "" : program,
                                   counters: counters, syscalls: syscalls) {
        printError(line)
      }
    }
    if let path = options.statsJSON {
      let data = StatsReport.json(counters: counters, syscalls: syscalls)
      guard FileManager.default.createFile(atPath: path, contents: data) else {
        throw .hostFailure("cannot write \(path)")
      }
    }
    if let path = options.profilePath {
      try writeProfile(outcome, to: path,
                       program: program.isEmpty ? options.image ?? "" : program)
    }
    return outcome.status
  }

  /// `--profile FILE`: the folded stacks to FILE, the top list to stderr.
  static func writeProfile(_ outcome: RunOutcome, to path: String,
                           program: String) throws(VillaError)
  {
    guard let profile = outcome.profile,
      let samples = outcome.transcript.profile
    else {
      printError("villa: no profile: the kernel sent no samples")
      return
    }
    guard FileManager.default.createFile(
      atPath: path, contents: Data(profile.text.utf8))
    else { throw .hostFailure("cannot write \(path)") }
    for line in ProfileReport.text(
      program: program, profile: profile, frequency: samples.frequency,
      lostSamples: samples.lostSamples, outputPath: path)
    {
      printError(line)
    }
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
    let resolved = try resolveProgramPath(
      program, searchPath: getenv("PATH").map { String(cString: $0) },
      currentDirectory: currentWorkingDirectory())
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

  /// `villa profile-svg`: folded stacks in, a flame graph out ("-" reads
  /// standard input).
  static func profileSVG(input: String, output: String, title: String?,
                         width: Int) throws(VillaError) -> Int32
  {
    let handle = input == "-"
      ? FileHandle.standardInput : FileHandle(forReadingAtPath: input)
    guard let handle, let data = try? handle.readToEnd() ?? Data() else {
      throw .hostFailure("cannot read \(input)")
    }
    let profile: FoldedProfile
    do throws(FoldedParseError) {
      profile = try FoldedProfile.parse(String(decoding: data, as: UTF8.self))
    } catch {
      throw .hostFailure("\(input): \(error.message)")
    }
    let svg = FlameGraph.svg(
      profile, title: title ?? "Flame graph of \(input)", width: width)
    guard FileManager.default.createFile(atPath: output,
                                         contents: Data(svg.utf8)) else {
      throw .hostFailure("cannot write \(output)")
    }
    return 0
  }

  /// `villa image ...`: build an image, or read and change one.
  static func image(_ command: ImageCommand) throws(VillaError) -> Int32 {
    switch command {
    case .build(let output, let sizeMiB, let givenFiles, let dirs,
                let givenRun):
      let (run, manifest) = try applyManifest(givenRun)
      guard run.program != nil else {
        throw .usage("the manifest names no program")
      }
      let cwd = currentWorkingDirectory()
      let program = try loadProgram(
        run.program!, searchPath: getenv("PATH").map { String(cString: $0) },
        currentDirectory: cwd)
      if let reason = programRefusal(program.bytes) {
        throw .programRefused(program: run.program!, reason: reason)
      }
      func pairs(_ list: [String]) -> [(String, String)] {
        list.map { pair in
          let parts = pair.split(separator: "=", maxSplits: 1)
          return (String(parts[0]), absolutePath(String(parts[1]), from: cwd))
        }
      }
      try VillaImage.build(
        VillaImage.Contents(
          program: program, arguments: run.arguments,
          environment: run.environment, hostname: run.hostname,
          files: pairs(givenFiles) + (manifest?.files ?? []),
          directories: pairs(dirs) + (manifest?.directories ?? [])),
        at: output, sizeMiB: sizeMiB)
      printError("villa: wrote \(output) (\(sizeMiB) MiB)")
    case .list(let path):
      for line in try VillaImage.listing(image: path) { printOut(line) }
    case .cat(let path, let guest):
      let fs = try VillaImage.mount(path, readOnly: true)
      let bytes = try VillaImage.read(fs, guest, image: path)
      writeBytes(1, bytes)
    case .get(let path, let guest, let host):
      try VillaImage.get(image: path, guest: guest, host: host)
    case .put(let path, let host, let guest):
      try VillaImage.put(image: path, host: host, guest: guest)
    }
    return 0
  }

  static func writeBytes(_ fd: Int32, _ bytes: [UInt8]) {
    var rest = bytes[...]
    while !rest.isEmpty {
      let count = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { return }
      rest = rest.dropFirst(count)
    }
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
