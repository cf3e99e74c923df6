// Keeps docs/syscalls.md true: boots the kernel to list its syscall
// table, straces every conformance program (glibc build) on the host to
// learn which calls each makes, renders the document and compares it
// with the checked-in one. VILLA_UPDATE_DOCS=1 rewrites it instead.
//
// Which programs make a call is not always the same from run to run:
// glibc takes a futex only when threads happen to contend. So the
// comparison is exact for everything but the "exercised by" cells, where
// it asks only whether some program makes the call or none does.

import Foundation
import VillaHost
import XCTest

final class SyscallDocumentTests: XCTestCase {
  /// The document with each table row's last cell ("exercised by")
  /// reduced to whether it names any program.
  static func withoutProgramNames(_ document: String) -> String {
    document.split(separator: "\n", omittingEmptySubsequences: false)
      .map { line -> String in
        guard line.hasPrefix("| "), line.hasSuffix("|") else {
          return String(line)
        }
        var cells = line.split(separator: "|",
                               omittingEmptySubsequences: false)
        // "| a | b | c | d |" splits into "", 4 cells, "".
        guard cells.count == 6 else { return String(line) }
        let programs = cells[4].trimmingCharacters(in: .whitespaces)
        cells[4] = programs.isEmpty ? " " : " some "
        return cells.joined(separator: "|")
      }
      .joined(separator: "\n")
  }

  func testProgramNamesAreLeftOutOfTheComparison() {
    XCTAssertEqual(
      SyscallDocumentTests.withoutProgramNames(
        "x\n| 202 | `futex` | implemented | a, b |\n| 3 | `c` | absent |  |"),
      "x\n| 202 | `futex` | implemented | some |\n| 3 | `c` | absent | |")
    XCTAssertNotEqual(
      SyscallDocumentTests.withoutProgramNames("| 1 | `w` | implemented | a |"),
      SyscallDocumentTests.withoutProgramNames("| 1 | `w` | partial | a |"))
  }

  func testStatusLinesParse() {
    XCTAssertEqual(SyscallStatus.parse("@syscall 0 read implemented")?.status,
                   .implemented)
    XCTAssertEqual(
      SyscallStatus.parse("@syscall 9 mmap partial: anonymous only")?.status,
      .partial("anonymous only"))
    XCTAssertEqual(SyscallStatus.parse("@syscall 163 acct absent")?.name,
                   "acct")
    XCTAssertNil(SyscallStatus.parse("@syscall x read implemented"))
    XCTAssertNil(SyscallStatus.parse("[0.1] info boot: hello"))
  }

  func testSyscallDocumentIsCurrent() throws {
    let kernel = try TestPackage.kernel()
    let programs = try TestPackage.testPrograms()
    let glibc = programs + "/glibc"

    var configuration = RunConfiguration(
      programPath: glibc + "/hello", arguments: [], environment: [],
      kernelPath: kernel, accelerator: .tcg, timeout: .seconds(120))
    configuration.kernelOptions = ["list-syscalls"]
    let outcome = try runInVilla(configuration, sink: .capture)
    XCTAssertEqual(outcome.status, 0, "list-syscalls run: \(outcome.exit)")
    var statuses: [Int: (String, SyscallStatus)] = [:]
    for line in outcome.kernelLog {
      if let entry = SyscallStatus.parse(line) {
        statuses[entry.number] = (entry.name, entry.status)
      }
    }
    XCTAssertGreaterThan(statuses.count, 370,
                         "the kernel listed too few syscalls")
    XCTAssertEqual(statuses[0]?.0, "read")
    XCTAssertEqual(statuses[0]?.1, .implemented)

    var exercisedBy: [String: [String]] = [:]
    let names = try FileManager.default.contentsOfDirectory(atPath: glibc)
      .filter { !$0.hasPrefix(".") }.sorted()
    for name in names {
      let log = NSTemporaryDirectory() + "villa-strace-\(name).txt"
      defer { try? FileManager.default.removeItem(atPath: log) }
      _ = try runOnHost(
        "/usr/bin/strace", arguments: ["-f", "-qq", "-o", log,
                                       glibc + "/" + name],
        environment: ["VILLA_TEST=1", "TZ=UTC"],
        standardInput: Array("conformance input\n".utf8), timeout: 120)
      let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
      for call in SyscallDocument.names(inStraceLog: text) {
        exercisedBy[call, default: []].append(name)
      }
    }
    XCTAssertFalse(exercisedBy.isEmpty, "strace recorded nothing")

    let document = SyscallDocument.render(statuses: statuses,
                                          exercisedBy: exercisedBy)
    let path = TestPackage.root + "/docs/syscalls.md"
    if ProcessInfo.processInfo.environment["VILLA_UPDATE_DOCS"] == "1" {
      try document.write(toFile: path, atomically: true, encoding: .utf8)
      return
    }
    let checkedIn = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    XCTAssertEqual(
      SyscallDocumentTests.withoutProgramNames(checkedIn),
      SyscallDocumentTests.withoutProgramNames(document),
      "docs/syscalls.md is out of date: run VILLA_UPDATE_DOCS=1 swift test"
        + " --filter SyscallDocumentTests")
  }
}
