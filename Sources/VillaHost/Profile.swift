// `villa run --profile FILE`: the kernel's samples, symbolized.
//
// The transcript holds the samples as the kernel sent them: whole stacks
// of raw addresses, innermost first, with a count each. Here user
// addresses are named from the program's ELF symbol table (after taking
// off the load bias of a static PIE) and kernel addresses from the kernel
// ELF's, demangled; then the stacks are written in the folded format that
// flamegraph.pl, speedscope and `villa profile-svg` read, one line per
// stack, outermost frame first:
//
//   main;work_long 748
//   main;work_short 251
//   main;write;villa_syscall_[k];... 3
//
// Kernel frames end in "_[k]" (as perf's stack collapsing writes them),
// idle samples are the one frame "[idle]", and an address no symbol holds
// is "[unknown]". The terminal report is a `perf report`-like top list:
// for each function the share of samples in it (self) and under it
// (total).

import HostLink

/// One stack of a folded profile, outermost frame first.
public struct FoldedStack: Equatable, Sendable {
  public var frames: [String]
  public var count: UInt64

  public init(frames: [String], count: UInt64) {
    self.frames = frames
    self.count = count
  }
}

/// A profile in the folded-stack format.
public struct FoldedProfile: Equatable, Sendable {
  /// Sorted by frames, each stack once.
  public private(set) var stacks: [FoldedStack]

  public static let idleFrame = "[idle]"
  public static let unknownFrame = "[unknown]"
  public static let kernelSuffix = "_[k]"

  /// Merges equal stacks and sorts them.
  public init(_ stacks: [FoldedStack]) {
    var counts: [[String]: UInt64] = [:]
    for stack in stacks where !stack.frames.isEmpty && stack.count > 0 {
      counts[stack.frames, default: 0] += stack.count
    }
    self.stacks = counts.map { FoldedStack(frames: $0.key, count: $0.value) }
      .sorted { $0.frames.lexicographicallyPrecedes($1.frames) }
  }

  public var totalSamples: UInt64 { stacks.reduce(0) { $0 + $1.count } }

  /// The folded text: "frame;frame;leaf COUNT" per line.
  public var text: String {
    stacks.map { $0.frames.joined(separator: ";") + " \($0.count)\n" }
      .joined()
  }

  /// A frame name as the format allows it: no ';' (the separator), no
  /// line breaks, and not empty.
  public static func sanitize(_ name: String) -> String {
    let cleaned = String(name.map { $0 == ";" ? ":" : $0.isNewline ? " " : $0 })
    return cleaned.isEmpty ? unknownFrame : cleaned
  }

  /// Reads folded text. Blank lines are skipped; a line is frames, a
  /// space, and a decimal count (flamegraph.pl also takes a fractional
  /// count, which this rounds down).
  public static func parse(_ text: String) throws(FoldedParseError)
    -> FoldedProfile
  {
    var stacks: [FoldedStack] = []
    var number = 0
    for rawLine in text.split(separator: "\n",
                              omittingEmptySubsequences: false) {
      number += 1
      let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
      if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
      guard let space = line.lastIndex(where: { $0 == " " || $0 == "\t" })
      else { throw FoldedParseError(line: number, reason: "no count") }
      let countText = line[line.index(after: space)...]
      let whole = countText.split(separator: ".", maxSplits: 1,
                                 omittingEmptySubsequences: false)
      guard let first = whole.first, !first.isEmpty,
        first.allSatisfy({ $0.isASCII && $0.isNumber }),
        let count = UInt64(first),
        whole.count == 1 || whole[1].allSatisfy({ $0.isASCII && $0.isNumber })
      else {
        throw FoldedParseError(
          line: number, reason: "'\(countText)' is not a sample count")
      }
      let frames = line[..<space].split(separator: ";").map(String.init)
      guard !frames.isEmpty else {
        throw FoldedParseError(line: number, reason: "no frames")
      }
      stacks.append(FoldedStack(frames: frames, count: count))
    }
    return FoldedProfile(stacks)
  }

  /// One function's share of the samples.
  public struct FunctionShare: Equatable, Sendable {
    public var name: String
    /// Samples with the function as the innermost frame.
    public var selfSamples: UInt64
    /// Samples with the function anywhere on the stack (once each).
    public var totalSamples: UInt64
  }

  /// Every function, most self samples first, then most total.
  public func functionShares() -> [FunctionShare] {
    var selfCount: [String: UInt64] = [:]
    var totalCount: [String: UInt64] = [:]
    for stack in stacks {
      selfCount[stack.frames.last!, default: 0] += stack.count
      for name in Set(stack.frames) {
        totalCount[name, default: 0] += stack.count
      }
    }
    return totalCount.map { name, total in
      FunctionShare(name: name, selfSamples: selfCount[name] ?? 0,
                    totalSamples: total)
    }.sorted {
      ($0.selfSamples, $0.totalSamples, $1.name)
        > ($1.selfSamples, $1.totalSamples, $0.name)
    }
  }
}

public struct FoldedParseError: Error, Equatable, Sendable {
  public var line: Int
  public var reason: String

  public var message: String { "line \(line): \(reason)" }
}

public enum ProfileReport {
  /// Names the frames of every sampled stack. `program` and `kernel` are
  /// the ELF files' bytes; an unreadable one leaves its frames unknown.
  public static func fold(_ samples: ProfileSamples, program: [UInt8],
                          kernel: [UInt8]) -> FoldedProfile
  {
    let user = CodeSymbols(elf: program, bias: samples.loadBias)
    let system = CodeSymbols(elf: kernel)

    // Named stacks first, so that all kernel names can be demangled in
    // one go.
    var named: [([String?], UInt64)] = []
    var kernelNames: Set<String> = []
    for (stack, count) in samples.stacks {
      if stack.isEmpty {
        named.append(([idleMarker], count))
        continue
      }
      var names: [String?] = []
      for (index, frame) in stack.enumerated() {
        // The innermost frame is where the CPU was; the others are
        // return addresses.
        let code = frame.isKernel ? system : user
        let found = index == 0
          ? code.lookup(frame.address)
          : code.lookup(returnAddress: frame.address)
        guard let name = found?.name else {
          names.append(frame.isKernel ? kernelUnknown : nil)
          continue
        }
        if frame.isKernel { kernelNames.insert(name) }
        names.append(frame.isKernel ? kernelMarker + name : name)
      }
      named.append((names, count))
    }
    let readable = demangledNames(Array(kernelNames))

    var stacks: [FoldedStack] = []
    for (names, count) in named {
      let frames = names.reversed().map { name -> String in
        guard let name else { return FoldedProfile.unknownFrame }
        if name == idleMarker { return FoldedProfile.idleFrame }
        if name == kernelUnknown {
          return FoldedProfile.unknownFrame + FoldedProfile.kernelSuffix
        }
        if name.hasPrefix(kernelMarker) {
          let raw = String(name.dropFirst(kernelMarker.count))
          return FoldedProfile.sanitize(readable[raw] ?? raw)
            + FoldedProfile.kernelSuffix
        }
        return FoldedProfile.sanitize(name)
      }
      stacks.append(FoldedStack(frames: frames, count: count))
    }
    return FoldedProfile(stacks)
  }

  // Private markers while naming; no symbol name contains a NUL.
  private static let idleMarker = "\u{0}idle"
  private static let kernelMarker = "\u{0}k:"
  private static let kernelUnknown = "\u{0}k?"

  /// How many functions the top list shows.
  public static let topCount = 20

  /// The terminal report: a summary line, then the top functions.
  public static func text(program: String, profile: FoldedProfile,
                          frequency: UInt64, lostSamples: UInt64,
                          outputPath: String) -> [String]
  {
    let total = profile.totalSamples
    let idle = profile.stacks.filter {
      $0.frames == [FoldedProfile.idleFrame]
    }.reduce(0) { $0 + $1.count }
    var summary = " Profile of '\(program)' in Villa: \(total) samples"
      + " at \(frequency) Hz (\(idle) idle"
    if lostSamples > 0 { summary += ", \(lostSamples) lost" }
    summary += "), folded stacks in \(outputPath)"
    var lines = ["", summary, ""]
    guard total > 0 else { return lines }
    lines.append("    self    total  function")
    func percent(_ samples: UInt64) -> String {
      let hundredths = (samples * 10_000 + total / 2) / total
      let text = "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")"
        + "\(hundredths % 100)%"
      return String(repeating: " ", count: max(0, 7 - text.count)) + text
    }
    for share in profile.functionShares().prefix(topCount) {
      lines.append(" \(percent(share.selfSamples))  "
        + "\(percent(share.totalSamples))  \(share.name)")
    }
    return lines
  }
}
