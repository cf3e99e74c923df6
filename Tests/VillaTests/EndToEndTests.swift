// Villa-only runs, end to end through the engine the CLI uses: real
// programs (Debian's static busybox), the kernel's handling of a system
// call it does not know, programs refused before anything boots, and a
// program that faults. Unlike the conformance suite, these check Villa
// against fixed expectations rather than against a host run.

import Foundation
import Glibc
import VillaHost
import XCTest

final class EndToEndTests: XCTestCase {
  private static let busybox = "/bin/busybox"

  /// Boots `program` with `arguments` and returns the outcome.
  private func boot(
    _ program: String, _ arguments: [String] = [],
    standardInput: [UInt8]? = nil
  ) throws -> RunOutcome {
    let configuration = RunConfiguration(
      programPath: program, arguments: arguments,
      kernelPath: try TestPackage.kernel(), accelerator: testAccelerator,
      timeout: .seconds(60), standardInput: standardInput)
    return try runInVilla(configuration, sink: .capture)
  }

  private func text(_ bytes: [UInt8]) -> String {
    String(decoding: bytes, as: UTF8.self)
  }

  /// A program from testprogs/, glibc build.
  private func testProgram(_ name: String) throws -> String {
    try TestPackage.testPrograms() + "/glibc/" + name
  }

  // MARK: - Real programs

  func testBusyboxEcho() throws {
    try XCTSkipUnless(
      access(Self.busybox, X_OK) == 0,
      "no \(Self.busybox): run tools/setup.sh (busybox-static)")
    let outcome = try boot(Self.busybox, ["echo", "hi"])
    XCTAssertEqual(outcome.exit, .exited(0), outcome.kernelLog.joined())
    XCTAssertEqual(text(outcome.stdout), "hi\n")
    XCTAssertEqual(text(outcome.stderr), "")
  }

  func testBusyboxUname() throws {
    try XCTSkipUnless(
      access(Self.busybox, X_OK) == 0,
      "no \(Self.busybox): run tools/setup.sh (busybox-static)")
    let outcome = try boot(Self.busybox, ["uname", "-s"])
    XCTAssertEqual(outcome.exit, .exited(0), outcome.kernelLog.joined())
    XCTAssertEqual(text(outcome.stdout), "Linux\n")
  }

  // MARK: - Unknown system calls

  /// enosys.c calls syscall 1000 (past the table) and tuxcall (184,
  /// named but never implemented by Linux) twice each: the program gets
  /// ENOSYS every time, and the kernel names each number once.
  func testUnknownSyscallGivesENOSYSAndOneLogLine() throws {
    let outcome = try boot(try testProgram("enosys"))
    XCTAssertEqual(outcome.exit, .exited(0))
    let stdout = text(outcome.stdout)
    for line in [
      "ok - syscall 1000: -1 ENOSYS",
      "ok - syscall 1000 again: -1 ENOSYS",
      "ok - tuxcall (184), never implemented: -1 ENOSYS",
      "ok - tuxcall again: -1 ENOSYS",
    ] {
      XCTAssertTrue(stdout.contains(line + "\n"), "missing: \(line)")
    }
    let unknown = outcome.kernelLog.filter {
      $0.contains("unimplemented syscall") && $0.contains("(1000)")
    }
    XCTAssertEqual(unknown.count, 1, outcome.kernelLog.joined(separator: "\n"))
    let tuxcall = outcome.kernelLog.filter {
      $0.contains("unimplemented syscall tuxcall (184)")
    }
    XCTAssertEqual(tuxcall.count, 1, outcome.kernelLog.joined(separator: "\n"))
    XCTAssertNil(outcome.transcript.panicMessage)
  }

  // MARK: - Refused before boot

  /// Asserts that `bytes`, as a program, is refused before QEMU starts
  /// with status 126 and a message containing `words`.
  private func assertRefused(
    _ bytes: [UInt8], _ words: String, file: StaticString = #filePath,
    line: UInt = #line
  ) throws {
    let directory = NSTemporaryDirectory() + "villa-e2e-\(getpid())"
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/program"
    FileManager.default.createFile(
      atPath: path, contents: Data(bytes),
      attributes: [.posixPermissions: 0o755])
    try assertRefusedProgram(path, words, file: file, line: line)
  }

  private func assertRefusedProgram(
    _ path: String, _ words: String, file: StaticString = #filePath,
    line: UInt = #line
  ) throws {
    let configuration = RunConfiguration(
      programPath: path, kernelPath: try TestPackage.kernel(),
      accelerator: testAccelerator, timeout: .seconds(60))
    do {
      let outcome = try runInVilla(configuration, sink: .capture)
      XCTFail(
        "\(path) booted and ended with \(outcome.exit.summary)",
        file: file, line: line)
    } catch {
      guard case .programRefused = error else {
        XCTFail("expected a refusal, got \(error)", file: file, line: line)
        return
      }
      XCTAssertEqual(error.exitStatus.rawValue, 126, file: file, line: line)
      XCTAssertTrue(
        error.message.contains(words),
        "message \"\(error.message)\" lacks \"\(words)\"",
        file: file, line: line)
    }
  }

  func testTruncatedELFIsRefused() throws {
    let hello = try Data(contentsOf: URL(fileURLWithPath: testProgram("hello")))
    try assertRefused(Array(hello.prefix(40)), "too short")
    // A whole ELF header whose program headers are cut off.
    try assertRefused(Array(hello.prefix(100)), "program header")
  }

  func testRandomBytesAreRefused() throws {
    var generator = SystemRandomNumberGenerator()
    var bytes = (0..<4096).map { _ in UInt8.random(in: 0...255,
      using: &generator) }
    // Whatever the draw, it must not start like an ELF file.
    if bytes[0] == 0x7f { bytes[0] = 0 }
    try assertRefused(bytes, "not an ELF file")
  }

  func testDynamicallyLinkedProgramIsRefused() throws {
    let trueProgram = "/bin/true"
    try XCTSkipUnless(access(trueProgram, X_OK) == 0, "no /bin/true")
    try assertRefusedProgram(trueProgram, "dynamically linked")
  }

  // MARK: - Faults

  func testNullDereferenceEndsWithSIGSEGV() throws {
    let outcome = try boot(try testProgram("fault-null"))
    XCTAssertEqual(outcome.exit, .signaled(11))
    XCTAssertEqual(outcome.status, 139)
    XCTAssertNil(outcome.transcript.panicMessage)
    XCTAssertTrue(text(outcome.stdout).hasSuffix("1 passed, 0 failed\n"))
  }

  // MARK: - Go

  /// A static Go program (goroutines, channels, timers) gives the same
  /// output in Villa as on the host. Skipped when Go is not installed.
  func testStaticGoProgram() throws {
    let output = try TestPackage.goProgram("goroutines")
    let host = try runOnHost(output, arguments: [], environment: [],
                             standardInput: [], timeout: 60)
    XCTAssertEqual(host.exit, .exited(0), "on the host: \(host.exit)")
    let villa = try boot(output)
    XCTAssertEqual(villa.exit, .exited(0),
                   "in Villa: \(villa.exit)\n" + text(villa.stderr))
    XCTAssertEqual(text(villa.stdout), text(host.stdout))
    XCTAssertEqual(text(villa.stderr), text(host.stderr))
    XCTAssertTrue(text(villa.stdout).contains("counter: 16000"))
  }

  // MARK: - Kernel panics

  /// A fault in the kernel ends the run with the panic status, a report
  /// naming the exception with registers, and a backtrace symbolized from
  /// the kernel ELF.
  func testKernelFaultGivesAPanicReport() throws {
    var configuration = RunConfiguration(
      programPath: try testProgram("hello"), arguments: [],
      kernelPath: try TestPackage.kernel(), accelerator: testAccelerator,
      timeout: .seconds(60))
    configuration.kernelOptions = ["test-panic"]
    let outcome = try runInVilla(configuration, sink: .capture)
    XCTAssertEqual(outcome.status, VillaExitStatus.kernelPanic.rawValue)
    guard case .panic(let message) = outcome.exit else {
      return XCTFail("expected a panic, got \(outcome.exit)")
    }
    XCTAssertTrue(message.contains("page fault"), message)
    let report = outcome.transcript.panicReport.joined(separator: "\n")
    XCTAssertTrue(report.contains("cr2 0x0000000000000010"), report)
    XCTAssertTrue(report.contains("rip 0x"), report)
    XCTAssertFalse(outcome.backtrace.isEmpty, "no backtrace")
    let symbols = outcome.backtrace.compactMap { $0.symbol }
    XCTAssertTrue(symbols.contains { $0.contains("applyOptions") },
                  "backtrace: \(symbols)")
  }
}
