// What a program writes to a disk image survives, end to end: ten
// thousand files and 100 MB written and fsync'd in one boot are all
// there, byte for byte, in the next; and killing QEMU (SIGKILL, so the
// guest gets no chance to sync) while a program fsyncs in a loop loses
// nothing whose fsync had returned, at several points in the loop, and
// leaves an image that mounts. The workloads are testprogs/disk/*.c.

import Foundation
import VillaFS
import VillaHost
import XCTest

final class PersistenceTests: XCTestCase {
  private var directory = ""

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "villa-persist-\(getpid())"
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// Builds testprogs/disk/NAME.c with gcc -static into the test folder.
  private func build(_ name: String) throws -> String {
    let program = directory + "/" + name
    let build = try runOnHost(
      "/usr/bin/gcc",
      arguments: ["-static", "-O2", "-Wall", "-Werror", "-o", program,
                  TestPackage.root + "/testprogs/disk/\(name).c"],
      environment: ["PATH=/usr/bin:/bin"], standardInput: [], timeout: 120)
    XCTAssertEqual(build.exit, .exited(0),
                   String(decoding: build.stderr, as: UTF8.self))
    return program
  }

  private func makeImage(_ program: String, arguments: [String],
                         sizeMiB: Int) throws -> String
  {
    let image = directory + "/disk.img"
    try VillaImage.build(
      VillaImage.Contents(
        program: try loadProgram(program, searchPath: nil,
                                 currentDirectory: "/"),
        arguments: arguments, environment: [], hostname: "villa"),
      at: image, sizeMiB: sizeMiB)
    return image
  }

  func testTenThousandFilesAndAHundredMegabytesSurviveAReboot() throws {
    let kernel = try TestPackage.kernel()
    let count = 10_000
    let bytes = 100 << 20
    let image = try makeImage(
      try build("many-files"),
      arguments: ["write", "/data", "\(count)", "\(bytes)"], sizeMiB: 256)
    var configuration = RunConfiguration(
      programPath: "", kernelPath: kernel, accelerator: .tcg,
      timeout: .seconds(600))
    configuration.diskImage = image

    let write = try runInVilla(configuration, sink: .capture)
    XCTAssertEqual(write.exit, .exited(0), "\(write.kernelLog)")
    let written = String(decoding: write.stdout, as: UTF8.self)
    XCTAssertTrue(written.hasPrefix("wrote \(count) files, \(bytes) bytes,"),
                  written)

    // The second boot regenerates every file's bytes and compares; its
    // checksum line must be the first boot's.
    configuration.arguments = ["verify", "/data", "\(count)", "\(bytes)"]
    let verify = try runInVilla(configuration, sink: .capture)
    XCTAssertEqual(verify.exit, .exited(0), "\(verify.kernelLog)")
    XCTAssertEqual(String(decoding: verify.stdout, as: UTF8.self),
                   written.replacingOccurrences(of: "wrote", with: "verified"))

    // And the host's own reading of the image agrees on names and sizes.
    let files = try VillaImage.listing(image: image)
      .filter { $0.hasPrefix("- ") && $0.contains("\t/data/d") }
    XCTAssertEqual(files.count, count)
    let total = files.reduce(0) { sum, line in
      sum + (Int(line.split(separator: "\t")[0].split(separator: " ")[2]) ?? 0)
    }
    XCTAssertEqual(total, bytes)
  }

  /// Files removed in one boot stay removed in the next, and their
  /// folders with them; then the same names can be written again.
  func testRemovedFilesAndFoldersStayRemoved() throws {
    let kernel = try TestPackage.kernel()
    let sizes = ["250", "300000"]
    let image = try makeImage(try build("many-files"),
                              arguments: ["write", "/data"] + sizes,
                              sizeMiB: 16)
    var configuration = RunConfiguration(
      programPath: "", kernelPath: kernel, accelerator: .tcg,
      timeout: .seconds(120))
    configuration.diskImage = image
    for (step, verb) in ["write", "remove", "write", "verify"].enumerated() {
      configuration.arguments = [verb, "/data"] + sizes
      let run = try runInVilla(configuration, sink: .capture)
      let said = String(decoding: run.stdout, as: UTF8.self)
      XCTAssertEqual(run.exit, .exited(0), "\(verb): \(said)\(run.kernelLog)")
      let past = ["write": "wrote", "remove": "removed", "verify": "verified"]
      XCTAssertTrue(said.hasPrefix("\(past[verb]!) 250 files"), said)
      if step == 1 {
        let left = try VillaImage.listing(image: image)
          .filter { $0.contains("\t/data/") }
        XCTAssertEqual(left, [], "removed files are still listed")
      }
    }
  }

  /// Kills QEMU with SIGKILL while fsync-loop runs: after a few records,
  /// after many, and at moments that depend on timing; each time the
  /// next boot must find every record whose "synced" line the host saw.
  /// The log carries on across the kills, so recovery runs on an image
  /// that has already been recovered.
  func testKillingQEMUKeepsEveryFsyncedRecord() throws {
    let kernel = try TestPackage.kernel()
    let image = try makeImage(try build("fsync-loop"),
                              arguments: ["write", "/data"], sizeMiB: 64)
    // QEMU started through a script that leaves its pid behind.
    let pidFile = directory + "/qemu.pid"
    let wrapper = directory + "/qemu"
    try """
      #!/bin/sh
      echo $$ > \(pidFile)
      exec \(RunConfiguration.defaultQEMUPath) "$@"

      """.write(toFile: wrapper, atomically: true, encoding: .utf8)
    chmod(wrapper, 0o755)

    var generator = SystemRandomNumberGenerator()
    let killPoints: [KillPoint] = [
      .afterLines(1), .afterLines(40), .afterLines(200),
      .afterSeconds(Double.random(in: 0.2...1.5, using: &generator)),
      .afterSeconds(Double.random(in: 0.2...1.5, using: &generator)),
    ]
    var lastSynced = -1
    var previousIntact = 0
    for point in killPoints {
      var configuration = RunConfiguration(
        programPath: "", kernelPath: kernel, accelerator: .tcg,
        timeout: .seconds(120), qemuPath: wrapper)
      configuration.diskImage = image
      unlink(pidFile)
      let reported = try runAndKill(configuration, at: point,
                                    pidFile: pidFile)
      XCTAssertGreaterThan(reported.count, 0, "\(point): nothing synced")
      // Indices carry on from the records the previous check found.
      XCTAssertEqual(reported.first, previousIntact, "\(point)")
      lastSynced = reported.last ?? lastSynced

      configuration.qemuPath = RunConfiguration.defaultQEMUPath
      configuration.arguments = ["check", "/data"]
      let check = try runInVilla(configuration, sink: .capture)
      let said = String(decoding: check.stdout, as: UTF8.self)
      XCTAssertEqual(check.exit, .exited(0), "\(point): \(said)"
                     + "\(check.kernelLog)")
      let intact = said.hasPrefix("intact ")
        ? Int(said.dropFirst(7).trimmingCharacters(in: .whitespacesAndNewlines))
        : nil
      XCTAssertNotNil(intact, said)
      XCTAssertGreaterThanOrEqual(intact ?? -1, lastSynced + 1,
                                  "\(point): fsync'd records were lost")
      previousIntact = intact ?? 0
      // The host mounts it too (replaying the log after a crash).
      XCTAssertNoThrow(try VillaImage.mount(image, readOnly: true))
    }
  }

  enum KillPoint: CustomStringConvertible {
    case afterLines(Int)
    case afterSeconds(Double)

    var description: String {
      switch self {
      case .afterLines(let count): return "kill after \(count) synced lines"
      case .afterSeconds(let time):
        return "kill \(String(format: "%.2f", time)) s after the first line"
      }
    }
  }

  /// Runs the configuration with its stdout in a pipe, kills QEMU at
  /// `point`, and returns the indices of the "synced N" lines printed.
  private func runAndKill(_ configuration: RunConfiguration,
                          at point: KillPoint, pidFile: String) throws
    -> [Int]
  {
    var ends: [Int32] = [0, 0]
    XCTAssertEqual(pipe(&ends), 0)
    let (readEnd, writeEnd) = (ends[0], ends[1])
    let finished = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var outcome: Result<RunOutcome, Error>?
    let thread = Thread {
      outcome = Result {
        try runInVilla(configuration,
                       sink: .stream(stdout: writeEnd, stderr: writeEnd,
                                     kernelLog: nil))
      }
      close(writeEnd)
      finished.signal()
    }
    thread.start()

    var text = ""
    var killed = false
    var firstLine: Date?
    var buffer = [UInt8](repeating: 0, count: 4096)
    func lines() -> [Int] {
      text.split(separator: "\n").compactMap { line in
        line.hasPrefix("synced ") ? Int(line.dropFirst(7)) : nil
      }
    }
    func kill() {
      guard !killed,
        let pid = try? String(contentsOfFile: pidFile, encoding: .utf8)
          .trimmingCharacters(in: .whitespacesAndNewlines),
        let number = Int32(pid)
      else { return }
      Glibc.kill(number, SIGKILL)
      killed = true
    }
    while true {
      var ready = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
      _ = poll(&ready, 1, 20)
      if ready.revents != 0 {
        let count = read(readEnd, &buffer, buffer.count)
        if count <= 0 { break }
        text += String(decoding: buffer[0..<count], as: UTF8.self)
      }
      // Only whole lines count: a kill may cut the last one.
      let complete = text.hasSuffix("\n") ? lines()
        : Array(lines().dropLast())
      if firstLine == nil && !complete.isEmpty { firstLine = Date() }
      switch point {
      case .afterLines(let wanted) where complete.count >= wanted:
        kill()
      case .afterSeconds(let delay):
        if let firstLine, Date().timeIntervalSince(firstLine) >= delay {
          kill()
        }
      default:
        break
      }
    }
    finished.wait()
    close(readEnd)
    let run = try XCTUnwrap(outcome).get()
    XCTAssertTrue(killed, "\(point): the program ended first: \(text)")
    XCTAssertEqual(run.exit, .vmFailed("QEMU was killed by signal 9"),
                   "\(point)")
    // A line cut by the kill was never fully reported.
    return text.hasSuffix("\n") ? lines() : Array(lines().dropLast())
  }
}
