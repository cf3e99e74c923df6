// The conformance suite: every program in testprogs/, built three ways,
// runs on the host Linux and in Villa, and the two runs must agree byte
// for byte on stdout and stderr and on how the program ended.
//
// The host is the oracle, so a program must first pass there: exit as
// its source declares (0 unless an "expect-status: N" or "expect-signal:
// N" line says otherwise), print its tally with no failed check, and
// print no "FAIL" line; if not, the program itself is broken and the
// suite fails. Both runs get the same argv, environment and stdin
// (ConformanceInput, mirrored in testprogs/check.h).
//
// Known gaps are listed in testprogs/expected-failures.txt, one
// "PROGRAM BUILD REASON" line each (BUILD may be *). Such a run is
// reported apart, and if it starts to agree with the host the suite
// fails, so that the list stays true. Transcripts of every run are kept
// under .build/conformance/ for a closer look.
//
// A few programs also run on q35, where interrupts, timers and devices
// go through other hardware (PCI, MSI-X, SeaBIOS's setup); the whole
// suite on q35 is `VILLA_TEST_MACHINE=q35`.
//
// Environment: VILLA_TEST_ONLY=name[,name...] runs only those programs;
// VILLA_TEST_JOBS (default 2) is how many programs run at once;
// VILLA_TEST_ACCEL picks tcg, kvm or auto (the default);
// VILLA_TEST_MACHINE picks microvm (the default) or q35.

import Foundation
import Glibc
import VillaHost
import XCTest

/// The argv, environment and stdin every program gets in both worlds.
enum ConformanceInput {
  static let arguments = ["alpha", "two words", "", "--flag=x"]
  static let environment = ["VILLA_TEST=1", "TZ=UTC"]
  static let standardInput = Array(
    "stdin line one\nstdin line two\nthe last line, without a newline".utf8)
  /// Per run, in seconds, in Villa and on the host alike.
  static let timeout = 60.0
}

/// The three ways every program is built (folders of build-testprogs.sh).
enum ProgramBuild: String, CaseIterable, Sendable {
  case glibc
  case musl
  case staticPie = "static-pie"
}

/// One test program and how it must end.
struct ConformanceProgram: Sendable {
  var name: String
  var expectedExit: ProgramExit

  /// Every testprogs/NAME.c, sorted by name.
  static func all(in directory: String) throws -> [ConformanceProgram] {
    let files = try FileManager.default.contentsOfDirectory(atPath: directory)
    return try files.filter { $0.hasSuffix(".c") }.sorted().map { file in
      let source = try String(
        contentsOfFile: directory + "/" + file, encoding: .utf8)
      return ConformanceProgram(
        name: String(file.dropLast(2)),
        expectedExit: try expectedExit(in: source, file: file))
    }
  }

  /// The ending a source declares in an "expect-status: N" or
  /// "expect-signal: N" line; exit 0 when it declares none.
  static func expectedExit(in source: String, file: String) throws
    -> ProgramExit
  {
    for line in source.split(separator: "\n") {
      for (key, make) in [
        ("expect-status:", ProgramExit.exited),
        ("expect-signal:", ProgramExit.signaled),
      ] {
        guard let range = line.range(of: key) else { continue }
        let value = line[range.upperBound...]
          .trimmingCharacters(in: .whitespaces)
        guard let number = Int32(value) else {
          throw HarnessError("\(file): bad \(key) line: \(line)")
        }
        return make(number)
      }
    }
    return .exited(0)
  }
}

/// testprogs/expected-failures.txt: runs known to disagree with the host.
struct ExpectedFailures {
  struct Entry {
    var program: String
    /// nil for "*": every build.
    var build: ProgramBuild?
    var reason: String
  }
  var entries: [Entry] = []

  /// Reads the list; every line must name an existing program, a build
  /// or *, and a reason, or the list is refused.
  static func load(_ path: String, programs: Set<String>) throws
    -> ExpectedFailures
  {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var list = ExpectedFailures()
    for (number, raw) in text.split(
      separator: "\n", omittingEmptySubsequences: false).enumerated()
    {
      let line = raw.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") { continue }
      let fields = line.split(
        separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
      let place = "expected-failures.txt:\(number + 1)"
      guard fields.count == 3 else {
        throw HarnessError("\(place): want PROGRAM BUILD REASON: \(line)")
      }
      let program = String(fields[0])
      guard programs.contains(program) else {
        throw HarnessError("\(place): no program \(program) in testprogs/")
      }
      var build: ProgramBuild? = nil
      if fields[1] != "*" {
        guard let named = ProgramBuild(rawValue: String(fields[1])) else {
          throw HarnessError(
            "\(place): build must be glibc, musl, static-pie or *")
        }
        build = named
      }
      list.entries.append(
        Entry(program: program, build: build, reason: String(fields[2])))
    }
    return list
  }

  /// Why this run is expected to fail, or nil.
  func reason(program: String, build: ProgramBuild) -> String? {
    entries.first {
      $0.program == program && ($0.build == nil || $0.build == build)
    }?.reason
  }
}

/// The outcome of one program in one build.
struct ConformanceResult: Sendable {
  enum Verdict: String, Sendable {
    case passed = "pass"
    case failed = "FAIL"
    /// The host run itself did not pass: the test program is wrong.
    case broken = "BROKEN"
    case expectedFailure = "xfail"
    /// Listed as an expected failure, yet Villa agreed with the host.
    case unexpectedPass = "XPASS"
  }
  var program: String
  var build: ProgramBuild
  var verdict: Verdict
  /// Why it failed, or why it is expected to; one line each.
  var details: [String]
  /// "ok - " lines in the host's transcript.
  var checks: Int
}

final class ConformanceTests: XCTestCase {
  func testEveryProgramAgreesWithTheHost() throws {
    let environment = ProcessInfo.processInfo.environment
    var machine = MachineType.microvm
    if let name = environment["VILLA_TEST_MACHINE"], !name.isEmpty {
      guard let chosen = MachineType(rawValue: name) else {
        throw HarnessError("VILLA_TEST_MACHINE must be microvm or q35")
      }
      machine = chosen
    }
    let only = environment["VILLA_TEST_ONLY"].map {
      Set($0.split(separator: ",").map(String.init))
    }
    try runSuite(only: only, machine: machine)
  }

  /// A sample on q35: start-up, files, threads and sleeps (the APIC
  /// timer), TCP over loopback and readiness.
  func testAFewProgramsAgreeOnQ35() throws {
    let environment = ProcessInfo.processInfo.environment
    // When the caller narrowed the suite to other programs, stay out.
    var sample: Set<String> = ["hello", "files", "threads", "sleep",
                               "sockets-tcp"]
    if let only = environment["VILLA_TEST_ONLY"], !only.isEmpty {
      sample.formIntersection(only.split(separator: ",").map(String.init))
      try XCTSkipIf(sample.isEmpty, "VILLA_TEST_ONLY names none of them")
    }
    try runSuite(only: sample, machine: .q35)
  }

  private func runSuite(only: Set<String>?, machine: MachineType) throws {
    let root = TestPackage.root
    let kernel = try TestPackage.kernel()
    let binaries = try TestPackage.testPrograms()
    var programs = try ConformanceProgram.all(in: root + "/testprogs")
    let expected = try ExpectedFailures.load(
      root + "/testprogs/expected-failures.txt",
      programs: Set(programs.map(\.name)))

    let environment = ProcessInfo.processInfo.environment
    if let wanted = only, !wanted.isEmpty {
      let unknown = wanted.subtracting(programs.map(\.name))
      guard unknown.isEmpty else {
        throw HarnessError(
          "VILLA_TEST_ONLY names no such program: "
            + unknown.sorted().joined(separator: ", "))
      }
      programs = programs.filter { wanted.contains($0.name) }
    }
    let jobs = environment["VILLA_TEST_JOBS"].flatMap { Int($0) } ?? 2

    let cases = programs.flatMap { program in
      ProgramBuild.allCases.map { (program, $0) }
    }
    let results = runConcurrently(cases.count, jobs: max(1, jobs)) { index in
      let (program, build) = cases[index]
      return Self.run(
        program, build: build, binaries: binaries, kernel: kernel,
        machine: machine,
        expectedFailure: expected.reason(program: program.name, build: build),
        transcripts: root + "/.build/conformance"
          + (machine == .microvm ? "" : "-\(machine)"))
    }

    report(results)
    for result in results {
      switch result.verdict {
      case .passed, .expectedFailure:
        continue
      case .failed, .broken, .unexpectedPass:
        XCTFail(
          "\(result.program) (\(result.build.rawValue)): "
            + "\(result.verdict.rawValue)\n  "
            + result.details.joined(separator: "\n  "))
      }
    }
  }

  // MARK: - One run

  static func run(
    _ program: ConformanceProgram, build: ProgramBuild, binaries: String,
    kernel: String, machine: MachineType, expectedFailure: String?,
    transcripts: String
  ) -> ConformanceResult {
    let path = binaries + "/" + build.rawValue + "/" + program.name
    var result = ConformanceResult(
      program: program.name, build: build, verdict: .passed, details: [],
      checks: 0)
    let save = TranscriptSaver(
      folder: transcripts + "/" + build.rawValue, program: program.name)
    save.clear()

    // The oracle first.
    let host: HostRun
    do {
      host = try runOnHost(
        path, arguments: ConformanceInput.arguments,
        environment: ConformanceInput.environment,
        standardInput: ConformanceInput.standardInput,
        timeout: ConformanceInput.timeout)
    } catch {
      result.verdict = .broken
      result.details = ["host run: \(error)"]
      return result
    }
    save.write("host.stdout", host.stdout)
    save.write("host.stderr", host.stderr)
    let hostText = String(decoding: host.stdout, as: UTF8.self)
    result.checks = hostText.split(separator: "\n")
      .filter { $0.hasPrefix("ok - ") }.count
    let problems = hostProblems(host, text: hostText, program: program)
    if !problems.isEmpty {
      result.verdict = .broken
      result.details = problems.map { "on the host: " + $0 }
      return result
    }

    // Then Villa.
    var differences: [String]
    do {
      let configuration = RunConfiguration(
        programPath: path, arguments: ConformanceInput.arguments,
        environment: ConformanceInput.environment, kernelPath: kernel,
        accelerator: testAccelerator, machine: machine,
        timeout: .milliseconds(Int(ConformanceInput.timeout * 1000)),
        standardInput: ConformanceInput.standardInput)
      let villa = try runInVilla(configuration, sink: .capture)
      save.write("villa.stdout", villa.stdout)
      save.write("villa.stderr", villa.stderr)
      save.write("villa.log", Array(villa.kernelLog.joined(
        separator: "\n").utf8))
      differences = compare(host: host, villa: villa)
    } catch {
      differences = ["villa refused to run it: \(error.message)"]
    }

    switch (differences.isEmpty, expectedFailure) {
    case (true, nil):
      result.verdict = .passed
    case (true, let reason?):
      result.verdict = .unexpectedPass
      result.details = [
        "agrees with the host but is listed in expected-failures.txt"
          + " (\(reason)); remove the line"
      ]
    case (false, nil):
      result.verdict = .failed
      result.details = differences
    case (false, let reason?):
      result.verdict = .expectedFailure
      result.details = ["expected: \(reason)"] + differences
    }
    return result
  }

  /// Why a host run does not count as a pass; empty when it does.
  static func hostProblems(
    _ host: HostRun, text: String, program: ConformanceProgram
  ) -> [String] {
    var problems: [String] = []
    if host.timedOut { problems.append("timed out") }
    if host.exit != program.expectedExit {
      problems.append(
        "ended with \(host.exit.summary), expected "
          + program.expectedExit.summary)
    }
    let lines = text.split(separator: "\n")
    let tallies = lines.filter { isTally($0) }
    if tallies.count != 1 {
      problems.append("printed \(tallies.count) tally lines, expected 1")
    } else if !tallies[0].hasSuffix(" 0 failed") || tallies[0].hasPrefix("0 ")
    {
      problems.append("tally: \(tallies[0])")
    }
    problems += lines.filter { $0.hasPrefix("FAIL") }.prefix(10)
      .map(String.init)
    return problems
  }

  /// "N passed, N failed".
  static func isTally(_ line: Substring) -> Bool {
    let words = line.split(separator: " ")
    return words.count == 4 && Int(words[0]) != nil
      && words[1] == "passed," && Int(words[2]) != nil
      && words[3] == "failed"
  }

  /// Differences between the host's run and Villa's, one line each;
  /// empty when they agree.
  static func compare(host: HostRun, villa: RunOutcome) -> [String] {
    var differences: [String] = []
    if villa.exit != host.exit {
      differences.append(
        "ending: host \(host.exit.summary), Villa \(villa.exit.summary)")
    }
    if let text = firstDifference(host.stdout, villa.stdout) {
      differences.append("stdout: " + text)
    }
    if let text = firstDifference(host.stderr, villa.stderr) {
      differences.append("stderr: " + text)
    }
    if !differences.isEmpty {
      // What Villa's own transcript says went wrong, and what the
      // kernel logged about missing pieces.
      let villaText = String(decoding: villa.stdout, as: UTF8.self)
      differences += villaText.split(separator: "\n")
        .filter { $0.hasPrefix("FAIL") }.prefix(12)
        .map { "Villa: " + $0 }
      differences += villa.kernelLog.filter {
        $0.contains("unimplemented") || $0.contains("not supported")
          || $0.contains("PANIC")
      }.prefix(8).map { "kernel: " + $0 }
      // Where a panic happened, as the kernel's own frames.
      differences += villa.backtrace.prefix(4).enumerated().map {
        "kernel backtrace: "
          + $1.line(index: $0).trimmingCharacters(in: .whitespaces)
      }
    }
    return differences
  }

  /// Where two outputs part, as "line N: host "...", Villa "..."".
  static func firstDifference(_ host: [UInt8], _ villa: [UInt8]) -> String? {
    guard host != villa else { return nil }
    let hostLines = host.split(
      separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    let villaLines = villa.split(
      separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    var index = 0
    while index < hostLines.count, index < villaLines.count,
      hostLines[index] == villaLines[index]
    {
      index += 1
    }
    func show(_ lines: [ArraySlice<UInt8>]) -> String {
      guard index < lines.count else { return "(end)" }
      let text = String(decoding: lines[index].prefix(100), as: UTF8.self)
      return "\"\(text)\""
    }
    return "line \(index + 1): host \(show(hostLines)), "
      + "Villa \(show(villaLines)) (\(host.count) vs \(villa.count) bytes)"
  }

  // MARK: - Report

  func report(_ results: [ConformanceResult]) {
    let builds = ProgramBuild.allCases
    let width = max(8, results.map(\.program.count).max() ?? 0) + 2
    func pad(_ text: String, _ count: Int) -> String {
      text + String(repeating: " ", count: max(1, count - text.count))
    }
    var lines = ["", pad("program", width)
      + builds.map { pad($0.rawValue, 12) }.joined()]
    var byProgram: [String: [ProgramBuild: ConformanceResult]] = [:]
    for result in results {
      byProgram[result.program, default: [:]][result.build] = result
    }
    for program in byProgram.keys.sorted() {
      lines.append(pad(program, width) + builds.map {
        pad(byProgram[program]?[$0]?.verdict.rawValue ?? "-", 12)
      }.joined())
    }

    let notable = results.filter { $0.verdict != .passed }
    if !notable.isEmpty { lines.append("") }
    for result in notable {
      lines.append(
        "\(result.verdict.rawValue) \(result.program) "
          + "(\(result.build.rawValue))")
      lines += result.details.map { "    " + $0 }
    }

    let passed = results.filter { $0.verdict == .passed }.count
    let expected = results.filter { $0.verdict == .expectedFailure }.count
    let failed = results.count - passed - expected
    let checks = results.filter { $0.build == .glibc }.map(\.checks)
      .reduce(0, +)
    lines.append("")
    lines.append(
      "conformance: \(byProgram.count) programs, 3 builds each,"
        + " \(checks) checks per build")
    lines.append("conformance: \(passed) passed, \(failed) failed")
    lines.append("conformance: \(expected) expected failures")
    print(lines.joined(separator: "\n"))
  }
}

/// Keeps one run's outputs as files, for reading after a failure.
struct TranscriptSaver {
  var folder: String
  var program: String

  static let kinds = [
    "host.stdout", "host.stderr", "villa.stdout", "villa.stderr", "villa.log",
  ]

  /// Removes a previous run's files, so none outlives its run.
  func clear() {
    for kind in Self.kinds {
      try? FileManager.default.removeItem(
        atPath: folder + "/" + program + "." + kind)
    }
  }

  func write(_ kind: String, _ bytes: [UInt8]) {
    try? FileManager.default.createDirectory(
      atPath: folder, withIntermediateDirectories: true)
    FileManager.default.createFile(
      atPath: folder + "/" + program + "." + kind,
      contents: Data(bytes))
  }
}

/// The state the threads of `runConcurrently` share, under its lock.
private final class WorkQueueState<T>: @unchecked Sendable {
  let lock = NSLock()
  var next = 0
  var results: [Int: T] = [:]
}

/// Runs `body` for 0..<count on `jobs` threads; results in index order.
func runConcurrently<T: Sendable>(
  _ count: Int, jobs: Int, _ body: @escaping @Sendable (Int) -> T
) -> [T] {
  let shared = WorkQueueState<T>()
  let group = DispatchGroup()
  for _ in 0..<min(jobs, max(count, 1)) {
    group.enter()
    Thread.detachNewThread {
      while true {
        shared.lock.lock()
        let index = shared.next
        shared.next += 1
        shared.lock.unlock()
        guard index < count else { break }
        let value = body(index)
        shared.lock.lock()
        shared.results[index] = value
        shared.lock.unlock()
      }
      group.leave()
    }
  }
  group.wait()
  return (0..<count).map { shared.results[$0]! }
}
