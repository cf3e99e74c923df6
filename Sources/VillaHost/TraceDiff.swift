// `villa trace-diff`: runs a program under strace on the host and with
// `--trace` in Villa, and reports the first system call where the two
// runs part ways. When a program misbehaves in Villa, the first difference
// is usually the cause: a call Villa refuses, or answers differently.
//
// Both traces are reduced to (name, result) pairs. Results are compared
// by kind where the exact value differs legitimately between machines:
// addresses (mmap, brk), ids (getpid, gettid, set_tid_address). Calls in
// `ignoredByDefault` are dropped from both sides, each for a stated
// reason, and the report says so.

import Foundation

public struct TracedCall: Equatable, Sendable {
  public var name: String
  public var result: String
  /// The line as the tracer printed it.
  public var text: String

  /// The result as compared: errno name, "<address>", "<id>" or the value.
  public var comparable: String {
    if result.hasPrefix("-1 ") {
      return String(result.dropFirst(3).split(separator: " ").first ?? "")
    }
    if result.hasPrefix("0x") { return "<address>" }
    if TraceDiff.idReturning.contains(name) { return "<id>" }
    return result
  }
}

public enum TraceDiff {
  /// Calls dropped from both traces, and why.
  public static let ignoredByDefault: [(String, String)] = [
    ("execve", "the host trace starts with it; Villa starts the program"
      + " without one"),
    ("rseq", "Villa does not register restartable sequences (ENOSYS);"
      + " glibc goes on without them"),
  ]

  static let idReturning: Set<String> = [
    "getpid", "gettid", "getppid", "set_tid_address", "clone", "clone3",
  ]

  /// Parses one line of `strace -f -qq` or of Villa's trace. Returns nil
  /// for lines that are not finished calls (signals, exits, resumptions).
  public static func parse(_ line: String) -> TracedCall? {
    var text = Substring(line)
    // strace -f prefixes a pid.
    if let first = text.first, first.isNumber {
      text = text.drop { $0.isNumber }.drop { $0 == " " }
    }
    guard let open = text.firstIndex(of: "("),
      !text.hasPrefix("+++"), !text.hasPrefix("---"),
      !text.contains("<unfinished"), !text.contains("resumed>")
    else { return nil }
    let name = String(text[..<open])
    guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber
      || $0 == "_" })
    else { return nil }
    guard let equals = text.range(of: " = ", options: .backwards) else {
      return nil
    }
    let result = String(text[equals.upperBound...])
    return TracedCall(name: name, result: result, text: String(text))
  }

  /// The index of the first pair that differs, or nil if one trace is a
  /// prefix of the other and both have the same length.
  public static func firstDifference(host: [TracedCall],
                                     villa: [TracedCall]) -> Int?
  {
    for i in 0..<min(host.count, villa.count) {
      if host[i].name != villa[i].name ||
        host[i].comparable != villa[i].comparable
      {
        return i
      }
    }
    return host.count == villa.count ? nil : min(host.count, villa.count)
  }

  public static func filtered(_ calls: [TracedCall]) -> [TracedCall] {
    let ignored = Set(ignoredByDefault.map { $0.0 })
    return calls.filter { !ignored.contains($0.name) }
  }

  /// Runs the program under strace on the host; returns its calls.
  public static func hostTrace(program: String, arguments: [String],
                               environment: [String],
                               standardInput: [UInt8]?)
    throws(VillaError) -> [TracedCall]
  {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("villa-trace-\(getpid())-\(UUID().uuidString)")
    let traceFile = directory.appendingPathComponent("strace.txt")
    do {
      try FileManager.default.createDirectory(
        at: directory, withIntermediateDirectories: true)
    } catch {
      throw .hostFailure("cannot create \(directory.path)")
    }
    defer { try? FileManager.default.removeItem(at: directory) }
    let process = Foundation.Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/strace")
    process.arguments = ["-f", "-qq", "-o", traceFile.path, program]
      + arguments
    var env: [String: String] = [:]
    for entry in environment {
      let parts = entry.split(separator: "=", maxSplits: 1)
      env[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
    }
    process.environment = env
    // Pipes, as in Villa, where stdout and stderr are streams too: C
    // libraries choose their buffering (and their system calls) by it.
    let input = Pipe()
    let output = Pipe()
    let errors = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    let drained = DispatchGroup()
    for pipe in [output, errors] {
      DispatchQueue.global().async(group: drained) {
        _ = pipe.fileHandleForReading.readDataToEndOfFile()
      }
    }
    do {
      try process.run()
    } catch {
      throw .hostFailure("cannot run strace (install it: tools/setup.sh)")
    }
    if let standardInput {
      input.fileHandleForWriting.write(Data(standardInput))
    }
    try? input.fileHandleForWriting.close()
    process.waitUntilExit()
    drained.wait()
    guard let text = try? String(contentsOf: traceFile, encoding: .utf8)
    else {
      throw .hostFailure("strace wrote no trace")
    }
    return text.split(separator: "\n").compactMap { parse(String($0)) }
  }

  /// The report: the ignored calls, then either agreement or the first
  /// difference with a few calls of context from each side.
  public static func report(host: [TracedCall], villa: [TracedCall])
    -> (text: [String], differs: Bool)
  {
    var lines = ["trace-diff: ignoring "
      + ignoredByDefault.map { "\($0.0) (\($0.1))" }
        .joined(separator: "; ")]
    guard let index = firstDifference(host: host, villa: villa) else {
      lines.append("trace-diff: the \(host.count) calls agree")
      return (lines, false)
    }
    lines.append("trace-diff: first difference at call \(index + 1):")
    let start = max(0, index - 3)
    lines.append("  host:")
    for i in start..<min(host.count, index + 2) {
      lines.append((i == index ? "  > " : "    ") + host[i].text)
    }
    if index >= host.count { lines.append("  > (the host trace ends here)") }
    lines.append("  villa:")
    for i in start..<min(villa.count, index + 2) {
      lines.append((i == index ? "  > " : "    ") + villa[i].text)
    }
    if index >= villa.count { lines.append("  > (the Villa trace ends here)") }
    return (lines, true)
  }
}
