// The `villa` command line, parsed by hand into a `VillaCommand`.
//
//   villa run [OPTIONS] [PROGRAM [ARGS...]]
//   villa run [OPTIONS] PROGRAM -- ARGS...
//   villa help [run] | villa --help | villa --version
//
// Options come before PROGRAM; everything after PROGRAM belongs to the
// program, so `villa run ls -l` passes "-l" to ls. A "--" right after
// PROGRAM is dropped; a "--" before PROGRAM ends villa's options, for a
// program whose name starts with '-'. Options taking a value accept both
// `--memory 512M` and `--memory=512M`. The parser only checks syntax and
// ranges; whether the program or kernel exist is checked when running.

/// What the user asked villa to do.
public enum VillaCommand: Equatable, Sendable {
  case help(HelpTopic)
  case version
  case run(RunOptions)
  /// `villa trace-diff`: the run options, with a program required.
  case traceDiff(RunOptions)
  /// `villa image SUBCOMMAND ...`, parsed by `parseImageCommand`.
  case image(ImageCommand)
  /// `villa profile-svg FOLDED -o OUT.svg [--title TEXT] [--width PX]`.
  case profileSVG(input: String, output: String, title: String?,
                  width: Int)
}

/// Parses the words after `villa profile-svg`.
public func parseProfileSVGCommand(_ arguments: [String])
  throws(VillaError) -> VillaCommand
{
  let usage = "usage: villa profile-svg FOLDED -o OUT.svg [--title TEXT]"
    + " [--width PIXELS]"
  var input: String? = nil
  var output: String? = nil
  var title: String? = nil
  var width = FlameGraph.defaultWidth
  var index = 0
  while index < arguments.count {
    let word = arguments[index]
    index += 1
    func value() throws(VillaError) -> String {
      guard index < arguments.count else {
        throw .usage("option \(word) needs a value")
      }
      index += 1
      return arguments[index - 1]
    }
    switch word {
    case "-o", "--output": output = try value()
    case "--title": title = try value()
    case "--width":
      let text = try value()
      guard let pixels = Int(text), (200...20_000).contains(pixels) else {
        throw .usage("--width takes 200 to 20000 pixels, got '\(text)'")
      }
      width = pixels
    default:
      guard input == nil, !word.hasPrefix("-") || word == "-" else {
        throw .usage(usage)
      }
      input = word
    }
  }
  guard let input, let output else { throw .usage(usage) }
  return .profileSVG(input: input, output: output, title: title,
                     width: width)
}

/// What `villa image` was asked to do.
public enum ImageCommand: Equatable, Sendable {
  /// build -o IMAGE [--size SIZE] [--file GUEST=HOST]... [--dir
  /// GUEST=HOST]... [--env K=V]... [--hostname NAME] PROGRAM [ARGS...]
  case build(output: String, sizeMiB: Int, files: [String], dirs: [String],
             run: RunOptions)
  case list(image: String)
  case cat(image: String, path: String)
  case get(image: String, guest: String, host: String)
  case put(image: String, host: String, guest: String)
}

/// Parses the words after `villa image`.
public func parseImageCommand(_ arguments: [String])
  throws(VillaError) -> ImageCommand
{
  guard let verb = arguments.first else {
    throw .usage("villa image needs a command: build, ls, cat, get, put")
  }
  let rest = Array(arguments.dropFirst())
  func exactly(_ count: Int, _ usage: String) throws(VillaError) {
    guard rest.count == count else { throw .usage("usage: villa image \(usage)") }
  }
  switch verb {
  case "ls", "tree":
    try exactly(1, "ls IMAGE")
    return .list(image: rest[0])
  case "cat":
    try exactly(2, "cat IMAGE PATH")
    return .cat(image: rest[0], path: rest[1])
  case "get":
    try exactly(3, "get IMAGE GUEST_PATH HOST_PATH")
    return .get(image: rest[0], guest: rest[1], host: rest[2])
  case "put":
    try exactly(3, "put IMAGE HOST_PATH GUEST_PATH")
    return .put(image: rest[0], host: rest[1], guest: rest[2])
  case "build":
    var output: String? = nil
    var sizeMiB = 64
    var files: [String] = []
    var dirs: [String] = []
    var remaining: [String] = []
    var index = 0
    while index < rest.count {
      let word = rest[index]
      func value() throws(VillaError) -> String {
        index += 1
        guard index < rest.count else {
          throw .usage("option \(word) needs a value")
        }
        return rest[index]
      }
      switch word {
      case "-o", "--output": output = try value()
      case "--manifest":
        remaining = ["--manifest", try value()] + remaining
      case "--size": sizeMiB = try parseMemorySize(try value())
      case "--file", "--dir":
        let pair = try value()
        guard pair.contains("="), !pair.hasPrefix("="), pair.hasPrefix("/")
        else {
          throw .usage("\(word) takes GUEST_PATH=HOST_PATH, got '\(pair)'")
        }
        if word == "--file" { files.append(pair) } else { dirs.append(pair) }
      default:
        remaining = Array(rest[index...])
        index = rest.count
        continue
      }
      index += 1
    }
    guard let output else { throw .usage("villa image build needs -o IMAGE") }
    guard case .run(let options) = try parseRunArguments(remaining),
      options.program != nil || options.manifest != nil
    else { throw .usage("villa image build needs a PROGRAM or --manifest") }
    return .build(output: output, sizeMiB: sizeMiB, files: files, dirs: dirs,
                  run: options)
  default:
    throw .usage("unknown image command '\(verb)'; commands: build, ls,"
      + " cat, get, put")
  }
}

/// Which help page to show.
public enum HelpTopic: Equatable, Sendable {
  case general
  case run
}

/// The options of `villa run`, as parsed.
public struct RunOptions: Equatable, Sendable {
  /// The program as given; nil runs the bundled demo.
  public var program: String?
  public var arguments: [String] = []
  public var environment: [String] = []
  public var memoryMiB = RunConfiguration.defaultMemoryMiB
  public var accelerator: AcceleratorRequest = .auto
  public var machine: MachineType = .microvm
  public var kernelPath: String?
  public var showKernelLog = false
  public var logLevel: KernelLogLevel?
  public var hostname = RunConfiguration.defaultHostname
  public var timeout: Duration?
  public var extraQEMUArguments: [String] = []
  /// nil: no tracing; empty: trace every system call.
  public var traceSyscalls: [String]?
  /// `--image IMAGE`: boot this Villa disk image.
  public var image: String?
  /// `--manifest FILE`: the application's JSON description.
  public var manifest: String?
  /// `--read-only`: mount the image's filesystem read-only.
  public var readOnlyRoot = false
  /// `--stats`, `--stats-json FILE`: report the kernel's counters.
  public var stats = false
  public var statsJSON: String?
  /// `--profile FILE`: sample the program and write folded stacks there,
  /// at `--profile-frequency HZ` samples per second.
  public var profilePath: String?
  public var profileFrequency = RunOptions.defaultProfileFrequency
  /// A prime, so that sampling does not beat with periodic work (the
  /// scheduler's 10 ms slice, a program's own timers).
  public static let defaultProfileFrequency = 997
  /// `-p` / `--publish`, in the order given.
  public var portForwards: [PortForward] = []

  public init() {}
}

/// Parses villa's arguments (without argv[0]).
public func parseCommandLine(_ arguments: [String])
  throws(VillaError) -> VillaCommand
{
  guard let command = arguments.first else {
    throw .usage("missing command (try 'villa run PROGRAM')")
  }
  let rest = Array(arguments.dropFirst())
  switch command {
  case "run":
    return try parseRunArguments(rest)
  case "image":
    return .image(try parseImageCommand(rest))
  case "profile-svg":
    return try parseProfileSVGCommand(rest)
  case "trace-diff":
    guard case .run(let options) = try parseRunArguments(rest) else {
      return .help(.run)
    }
    guard options.program != nil else {
      throw .usage("trace-diff needs a PROGRAM")
    }
    return .traceDiff(options)
  case "help", "-h", "--help":
    guard let topic = rest.first else { return .help(.general) }
    guard command == "help", rest.count == 1 else {
      throw .usage("unexpected argument '\(topic)'")
    }
    switch topic {
    case "run": return .help(.run)
    default: throw .usage("no help for '\(topic)'; commands: run")
    }
  case "--version", "version":
    guard rest.isEmpty else {
      throw .usage("unexpected argument '\(rest[0])'")
    }
    return .version
  default:
    if command.hasPrefix("-") {
      throw .usage("unknown option '\(command)'")
    }
    throw .usage("unknown command '\(command)'")
  }
}

/// Parses the arguments that follow `villa run`.
public func parseRunArguments(_ arguments: [String])
  throws(VillaError) -> VillaCommand
{
  var options = RunOptions()
  var index = 0

  // The program starts at the first argument that is not an option.
  while index < arguments.count {
    let argument = arguments[index]
    index += 1
    if argument == "--" {
      if index < arguments.count {
        options.program = arguments[index]
        options.arguments = Array(arguments[(index + 1)...])
      }
      return .run(options)
    }
    guard argument.hasPrefix("-"), argument != "-" else {
      options.program = argument
      var tail = arguments[index...]
      if tail.first == "--" { tail = tail.dropFirst() }
      options.arguments = Array(tail)
      return .run(options)
    }

    // "--name=value" carries its value inline; otherwise a value-taking
    // option consumes the next argument.
    var name = argument
    var inline: String? = nil
    if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
      name = String(argument[..<equals])
      inline = String(argument[argument.index(after: equals)...])
    }
    func value() throws(VillaError) -> String {
      if let inline { return inline }
      guard index < arguments.count else {
        throw .usage("option \(name) needs a value")
      }
      index += 1
      return arguments[index - 1]
    }
    func flag() throws(VillaError) {
      if inline != nil { throw .usage("option \(name) takes no value") }
    }

    switch name {
    case "-h", "--help":
      try flag()
      return .help(.run)
    case "--env":
      options.environment.append(try parseEnvironmentEntry(try value()))
    case "--memory":
      options.memoryMiB = try parseMemorySize(try value())
    case "--accel":
      options.accelerator = try parseChoice(
        try value(), option: name, as: AcceleratorRequest.self)
    case "--machine":
      options.machine = try parseChoice(
        try value(), option: name, as: MachineType.self)
    case "--kernel":
      let path = try value()
      guard !path.isEmpty else { throw .usage("option --kernel needs a path") }
      options.kernelPath = path
    case "--kernel-log":
      try flag()
      options.showKernelLog = true
    case "--log-level":
      options.logLevel = try parseChoice(
        try value(), option: name, as: KernelLogLevel.self)
    case "--hostname":
      options.hostname = try parseHostname(try value())
    case "--timeout":
      options.timeout = try parseTimeout(try value())
    case "--qemu-arg":
      options.extraQEMUArguments.append(try value())
    case "--image":
      options.image = try value()
    case "--manifest":
      options.manifest = try value()
    case "--read-only":
      try flag()
      options.readOnlyRoot = true
    case "--stats":
      try flag()
      options.stats = true
    case "--stats-json":
      options.statsJSON = try value()
    case "--profile":
      let path = try value()
      guard !path.isEmpty else { throw .usage("option --profile needs a file") }
      options.profilePath = path
    case "--profile-frequency":
      let text = try value()
      guard let hz = Int(text), (1...10_000).contains(hz) else {
        throw .usage("--profile-frequency takes samples per second,"
          + " 1 to 10000; got '\(text)'")
      }
      options.profileFrequency = hz
    case "-p", "--publish":
      let forward = try parsePortForward(try value())
      if options.portForwards.contains(where: {
        $0.transport == forward.transport && $0.hostPort == forward.hostPort
      }) {
        throw .usage("host port \(forward.hostPort)/"
          + "\(forward.transport.rawValue) is published twice")
      }
      options.portForwards.append(forward)
    case "--trace":
      // "--trace" traces every call; "--trace=open,read" only those.
      let names = (inline ?? "").split(separator: ",").map(String.init)
      if inline != nil && names.isEmpty {
        throw .usage("--trace= needs syscall names, e.g. --trace=open,read")
      }
      options.traceSyscalls = names
    default:
      throw .usage("unknown option '\(name)' for 'villa run'")
    }
  }
  return .run(options)
}

/// Parses a `-p` value: "PORT", "HOST:GUEST" or "ADDRESS:HOST:GUEST",
/// each optionally followed by "/tcp" (the default) or "/udp". Ports are
/// 1 to 65535; ADDRESS is a dotted IPv4 address on the host.
public func parsePortForward(_ text: String) throws(VillaError)
  -> PortForward
{
  let usage = "bad port forward '\(text)' (use PORT, HOST:GUEST or"
    + " ADDRESS:HOST:GUEST, optionally with /tcp or /udp)"
  var spec = Substring(text)
  var transport = PortForward.Transport.tcp
  if let slash = spec.lastIndex(of: "/") {
    switch spec[spec.index(after: slash)...] {
    case "tcp": transport = .tcp
    case "udp": transport = .udp
    default: throw .usage(usage)
    }
    spec = spec[..<slash]
  }
  let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
  func port(_ part: Substring) throws(VillaError) -> UInt16 {
    guard !part.isEmpty, part.allSatisfy({ $0.isASCII && $0.isNumber }),
      let number = UInt16(part), number > 0
    else { throw .usage(usage + ": ports are 1 to 65535") }
    return number
  }
  switch parts.count {
  case 1:
    let number = try port(parts[0])
    return PortForward(transport: transport, hostPort: number,
                       guestPort: number)
  case 2:
    return PortForward(transport: transport, hostPort: try port(parts[0]),
                       guestPort: try port(parts[1]))
  case 3:
    let address = String(parts[0])
    let octets = address.split(separator: ".",
                               omittingEmptySubsequences: false)
    guard octets.count == 4, octets.allSatisfy({
      !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber)
        && Int($0).map({ $0 <= 255 }) == true
    }) else {
      throw .usage(usage + ": '\(address)' is not an IPv4 address")
    }
    return PortForward(transport: transport, hostAddress: address,
                       hostPort: try port(parts[1]),
                       guestPort: try port(parts[2]))
  default:
    throw .usage(usage)
  }
}

/// Checks one `--env` value: "KEY=VALUE" with a non-empty KEY.
public func parseEnvironmentEntry(_ text: String)
  throws(VillaError) -> String
{
  guard let equals = text.firstIndex(of: "=") else {
    throw .usage("--env needs KEY=VALUE, got '\(text)' (no '=')")
  }
  guard equals != text.startIndex else {
    throw .usage("--env needs KEY=VALUE, got '\(text)' (empty KEY)")
  }
  guard !text.utf8.contains(0) else {
    throw .usage("--env value contains a NUL byte")
  }
  return text
}

/// Parses a memory size into MiB: a plain number is MiB; the suffixes
/// M and G (any case, optionally followed by "iB") scale it. The result
/// must lie between 16 MiB and 1 TiB.
public func parseMemorySize(_ text: String) throws(VillaError) -> Int {
  let digits = text.prefix { $0.isASCII && $0.isNumber }
  let suffix = text.dropFirst(digits.count).lowercased()
  let scale: Int
  switch suffix {
  case "", "m", "mib": scale = 1
  case "g", "gib": scale = 1024
  default:
    throw .usage(
      "bad memory size '\(text)' (use MiB, or a suffix: 512M, 1G)")
  }
  let limit = RunConfiguration.maximumMemoryMiB
  guard !digits.isEmpty, let number = Int(digits), number <= limit else {
    throw .usage(
      "bad memory size '\(text)' (use MiB, or a suffix: 512M, 1G)")
  }
  let mebibytes = number * scale
  guard mebibytes >= RunConfiguration.minimumMemoryMiB else {
    throw .usage("memory size '\(text)' is below the minimum of 16M")
  }
  guard mebibytes <= limit else {
    throw .usage("memory size '\(text)' is above the maximum of 1024G")
  }
  return mebibytes
}

/// Parses `--timeout`: seconds, a positive decimal number.
public func parseTimeout(_ text: String) throws(VillaError) -> Duration {
  guard let seconds = Double(text), seconds.isFinite, seconds > 0,
    seconds <= 1e9
  else {
    throw .usage("bad timeout '\(text)' (seconds, greater than 0)")
  }
  return .milliseconds(Int64((seconds * 1000).rounded(.up)))
}

/// Checks a host name as uname(2) can report it: 1 to 64 bytes, no NUL.
public func parseHostname(_ text: String) throws(VillaError) -> String {
  guard !text.isEmpty, text.utf8.count <= 64, !text.utf8.contains(0) else {
    throw .usage("bad host name '\(text)' (1 to 64 bytes)")
  }
  return text
}

/// One of an enum's raw values, or a message listing them.
private func parseChoice<Choice>(
  _ text: String, option: String, as: Choice.Type
) throws(VillaError) -> Choice
where Choice: RawRepresentable<String> & CaseIterable {
  if let choice = Choice(rawValue: text) { return choice }
  let names = Choice.allCases.map(\.rawValue).joined(separator: ", ")
  throw .usage("bad value '\(text)' for \(option) (one of: \(names))")
}
