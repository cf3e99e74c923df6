// The stack a Linux x86_64 process finds at its entry point, built as a
// plain byte image so that the host can test it and the kernel only has to
// copy it below the stack top and point %rsp at its first byte.
//
// From the top of the stack down (x86_64 psABI, "Process Initialization",
// and the order Linux's exec uses):
//
//   stackTop -  8  zero word (end marker)
//                  AT_EXECFN string
//                  argv[0] ... argv[argc-1], envp[0] ... envp[envc-1]
//                    (ascending: the environment strings follow the
//                    argument strings, which programs that rewrite their
//                    process title count on)
//                  alignment to 16, then the AT_PLATFORM string
//                  16 AT_RANDOM bytes
//                  padding so that stackPointer is a multiple of 16
//   stackPointer   argc, argv pointers, 0, envp pointers, 0,
//                  auxv pairs ending with AT_NULL
//
// All strings are NUL-terminated. The builder adds the AT_RANDOM,
// AT_EXECFN and AT_PLATFORM entries itself, since only it knows where it
// put their data; the caller supplies every other entry.

/// Why an initial stack could not be built.
public enum InitialStackError: Error, Equatable, Sendable {
  /// A string contains a NUL byte, which would silently cut it short.
  case nulInString
  /// The caller passed an entry the builder owns (AT_NULL, AT_PLATFORM,
  /// AT_RANDOM, AT_EXECFN).
  case reservedAuxiliaryType(UInt64)
  /// AT_RANDOM needs exactly 16 bytes (the count given).
  case badRandomLength(Int)
  /// The image would reach below address 0.
  case doesNotFit

  public var message: String {
    switch self {
    case .nulInString:
      return "an argument or environment string contains a NUL byte"
    case .reservedAuxiliaryType(let type):
      return "auxiliary vector entry \(type) is written by the stack "
        + "builder, not the caller"
    case .badRandomLength(let count):
      return "AT_RANDOM needs 16 bytes, not \(count)"
    case .doesNotFit:
      return "the initial stack does not fit below the stack top"
    }
  }
}

public struct InitialStack: Sendable {
  // Auxiliary vector types from Linux's include/uapi/linux/auxvec.h.
  // Defined here rather than taken from LinuxABI to keep this module's
  // only dependency optional.
  static let atNull: UInt64 = 0
  static let atPlatform: UInt64 = 15
  static let atRandom: UInt64 = 25
  static let atExecfn: UInt64 = 31

  /// The image. Copy it to [stackPointer, stackTop).
  public let bytes: [UInt8]
  /// Where %rsp points at entry: at argc, a multiple of 16.
  public let stackPointer: UInt64
  public let stackTop: UInt64
  /// Addresses of the argv and envp strings, in order.
  public let argumentAddresses: [UInt64]
  public let environmentAddresses: [UInt64]
  /// The string areas, as Linux records them for /proc/<pid>/cmdline and
  /// /proc/<pid>/environ (arg_start..arg_end, env_start..env_end).
  public let argumentArea: Range<UInt64>
  public let environmentArea: Range<UInt64>
  /// Where the auxiliary vector starts (the first type word).
  public let auxiliaryAddress: UInt64
  public let randomAddress: UInt64
  public let executableNameAddress: UInt64
  /// nil when no platform string was given (AT_PLATFORM is then absent).
  public let platformAddress: UInt64?

  /// Lays out the stack so that it ends at `stackTop`.
  /// - Parameters:
  ///   - auxiliary: every entry but AT_RANDOM, AT_EXECFN, AT_PLATFORM and
  ///     AT_NULL, in the order they should appear.
  ///   - random: the 16 bytes AT_RANDOM points at (libc seeds its stack
  ///     protector and pointer guard from them).
  ///   - executableName: the AT_EXECFN string, the path the program was
  ///     started as.
  ///   - platform: the AT_PLATFORM string, "x86_64" on Linux; empty to
  ///     leave AT_PLATFORM out.
  public static func build(
    stackTop: UInt64, arguments: [[UInt8]], environment: [[UInt8]],
    auxiliary: [(type: UInt64, value: UInt64)], random: [UInt8],
    executableName: [UInt8], platform: [UInt8]
  ) throws(InitialStackError) -> InitialStack {
    guard random.count == 16 else {
      throw .badRandomLength(random.count)
    }
    for string in arguments + environment + [executableName, platform]
    where string.contains(0) {
      throw .nulInString
    }
    for entry in auxiliary {
      switch entry.type {
      case atNull, atPlatform, atRandom, atExecfn:
        throw .reservedAuxiliaryType(entry.type)
      default:
        break
      }
    }

    // Addresses, from the top down. Every subtraction is checked: a
    // stack top near zero must fail, not wrap.
    var cursor = stackTop
    func reserve(_ size: Int) throws(InitialStackError) -> UInt64 {
      let (next, wrapped) = cursor.subtractingReportingOverflow(
        UInt64(size))
      guard !wrapped else { throw .doesNotFit }
      cursor = next
      return next
    }
    _ = try reserve(8)
    let executableNameAddress = try reserve(executableName.count + 1)
    let stringsSize = (arguments + environment).reduce(0) {
      $0 + $1.count + 1
    }
    let stringsStart = try reserve(stringsSize)
    cursor = alignDown(cursor, 16)
    let platformAddress: UInt64? = platform.isEmpty
      ? nil : try reserve(platform.count + 1)
    let randomAddress = try reserve(16)

    var auxiliaryWords: [UInt64] = []
    for entry in auxiliary {
      auxiliaryWords += [entry.type, entry.value]
    }
    auxiliaryWords += [atRandom, randomAddress]
    auxiliaryWords += [atExecfn, executableNameAddress]
    if let platformAddress {
      auxiliaryWords += [atPlatform, platformAddress]
    }
    auxiliaryWords += [atNull, 0]
    let words = 1 + arguments.count + 1 + environment.count + 1
      + auxiliaryWords.count
    _ = try reserve(words * 8)
    let stackPointer = alignDown(cursor, 16)

    // Then the bytes, indexed from stackPointer.
    var image = [UInt8](repeating: 0, count: Int(stackTop - stackPointer))
    func place(_ string: [UInt8], at address: UInt64) {
      let start = Int(address - stackPointer)
      image.replaceSubrange(start..<start + string.count, with: string)
      // The NUL and the end marker are already zero.
    }
    place(executableName, at: executableNameAddress)
    if let platformAddress { place(platform, at: platformAddress) }
    place(random, at: randomAddress)

    var stringAddress = stringsStart
    var argumentAddresses: [UInt64] = []
    for string in arguments {
      place(string, at: stringAddress)
      argumentAddresses.append(stringAddress)
      stringAddress += UInt64(string.count + 1)
    }
    let argumentEnd = stringAddress
    var environmentAddresses: [UInt64] = []
    for string in environment {
      place(string, at: stringAddress)
      environmentAddresses.append(stringAddress)
      stringAddress += UInt64(string.count + 1)
    }

    var vector: [UInt64] = [UInt64(arguments.count)]
    vector += argumentAddresses + [0]
    vector += environmentAddresses + [0]
    let auxiliaryAddress = stackPointer + UInt64(vector.count * 8)
    vector += auxiliaryWords
    for (i, word) in vector.enumerated() {
      image.storeELFUInt64(word, at: i * 8)
    }

    return InitialStack(
      bytes: image, stackPointer: stackPointer, stackTop: stackTop,
      argumentAddresses: argumentAddresses,
      environmentAddresses: environmentAddresses,
      argumentArea: stringsStart..<argumentEnd,
      environmentArea: argumentEnd..<stringAddress,
      auxiliaryAddress: auxiliaryAddress, randomAddress: randomAddress,
      executableNameAddress: executableNameAddress,
      platformAddress: platformAddress)
  }
}
