// The profiler's records on the kernel channel, format version 1.
//
//   @profile 1 HZ BIAS
//       sampling starts: format version, samples per second, and the
//       program's load bias in hex (0 unless it is a static PIE), which
//       the host subtracts before looking user addresses up in the ELF.
//   @sample TOKEN...
//       one sample. Addresses are hex, innermost frame first: the
//       interrupted RIP, then return addresses. "k" and "u" say whether
//       the addresses that follow are the kernel's or the program's (a
//       sample taken in a system call has kernel frames, then the
//       program's). A last token "~N" stands for the outermost N frames
//       of the previous sample, which a loop repeats every time. "i"
//       alone is a sample taken while the CPU was idle.
//
// For example "@sample u 401a2c 401b80 ~2" is the program at 0x401a2c,
// called from 0x401b80, called from the previous sample's two outermost
// frames.

/// Constants of the profile records.
public enum ProfileFormat {
  public static let version = 1
}

/// One frame of a sample: an address and whose it is.
public struct ProfileFrame: Equatable, Hashable, Sendable {
  public var address: UInt64
  public var isKernel: Bool

  public init(address: UInt64, isKernel: Bool) {
    self.address = address
    self.isKernel = isKernel
  }
}

/// One @sample record as sent: its own frames, innermost first, and how
/// many outermost frames it shares with the previous sample.
public struct ProfileSampleRecord: Equatable, Sendable {
  public var isIdle: Bool
  public var frames: [ProfileFrame]
  public var sharedWithPrevious: Int

  public init(isIdle: Bool = false, frames: [ProfileFrame] = [],
              sharedWithPrevious: Int = 0)
  {
    self.isIdle = isIdle
    self.frames = frames
    self.sharedWithPrevious = sharedWithPrevious
  }

  public static let idle = ProfileSampleRecord(isIdle: true)

  /// Parses the text after "@sample "; nil if malformed.
  public init?(tokens text: String) {
    let tokens = text.split(separator: " ")
    if tokens == ["i"] {
      self = .idle
      return
    }
    var frames: [ProfileFrame] = []
    var kernel: Bool? = nil
    var shared = 0
    for (index, token) in tokens.enumerated() {
      switch token {
      case "k": kernel = true
      case "u": kernel = false
      default:
        if token.hasPrefix("~") {
          // Only last, and never "~0".
          guard index == tokens.count - 1,
            let count = Int(token.dropFirst()), count > 0
          else { return nil }
          shared = count
        } else {
          guard let kernel, let address = UInt64(token, radix: 16) else {
            return nil
          }
          frames.append(ProfileFrame(address: address, isKernel: kernel))
        }
      }
    }
    guard !frames.isEmpty || shared > 0 else { return nil }
    self.init(frames: frames, sharedWithPrevious: shared)
  }

  /// The text after "@sample ", as the kernel writes it.
  public var tokens: String {
    if isIdle { return "i" }
    var words: [String] = []
    var kernel: Bool? = nil
    for frame in frames {
      if frame.isKernel != kernel {
        words.append(frame.isKernel ? "k" : "u")
        kernel = frame.isKernel
      }
      words.append(String(frame.address, radix: 16))
    }
    if sharedWithPrevious > 0 { words.append("~\(sharedWithPrevious)") }
    return words.joined(separator: " ")
  }
}

/// Turns the stream of @sample records back into whole stacks, resolving
/// "~N" against the previous sample.
public struct ProfileStackDecoder: Equatable, Sendable {
  private var previous: [ProfileFrame] = []

  public init() {}

  /// The sample's whole stack, innermost first; [] for an idle sample;
  /// nil when it refers to more frames than the previous sample had
  /// (a record was lost).
  public mutating func decode(_ record: ProfileSampleRecord)
    -> [ProfileFrame]?
  {
    if record.isIdle {
      previous = []
      return []
    }
    guard record.sharedWithPrevious <= previous.count else {
      previous = []
      return nil
    }
    let stack = record.frames + previous.suffix(record.sharedWithPrevious)
    previous = stack
    return stack
  }
}
