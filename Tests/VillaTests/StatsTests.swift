// `villa run --stats`: the kernel's counters must match a program whose
// work is known: N getpid calls show as N in the syscall table, K fresh
// pages touched give at least K page faults, and B bytes written to a
// file on a disk image and fsync'd give at least B bytes of block writes.
// And N clock reads through the C library cost far fewer than N
// clock_gettime system calls, since the vDSO answers them in user mode.

import Foundation
import HostLink
import VillaHost
import XCTest

final class StatsTests: XCTestCase {
  func testCountersMatchKnownWork() throws {
    let kernel = try TestPackage.kernel()
    let directory = NSTemporaryDirectory() + "villa-stats-\(getpid())"
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let program = directory + "/known-work"
    let build = try runOnHost(
      "/usr/bin/gcc",
      arguments: ["-static", "-O2", "-o", program,
                  TestPackage.root + "/testprogs/stats/known-work.c"],
      environment: ["PATH=/usr/bin:/bin"], standardInput: [], timeout: 120)
    XCTAssertEqual(build.exit, .exited(0), String(decoding: build.stderr,
                                                  as: UTF8.self))

    let calls = 1234
    let pages = 300
    let bytes = 200_000
    let image = directory + "/disk.img"
    try VillaImage.build(
      VillaImage.Contents(
        program: try loadProgram(program, searchPath: nil,
                                 currentDirectory: "/"),
        arguments: ["\(calls)", "\(pages)", "\(bytes)", "/data.bin"],
        environment: [], hostname: "villa"),
      at: image, sizeMiB: 16)
    var configuration = RunConfiguration(
      programPath: "", arguments: [], kernelPath: kernel,
      accelerator: .tcg, timeout: .seconds(60))
    configuration.diskImage = image
    configuration.kernelOptions = ["stats"]
    let outcome = try runInVilla(configuration, sink: .capture)
    XCTAssertEqual(outcome.exit, .exited(0), "\(outcome.kernelLog)")

    let syscalls = outcome.transcript.syscallCounters
    XCTAssertEqual(syscalls.first { $0.name == "getpid" }?.calls,
                   UInt64(calls))
    var counters: [String: UInt64] = [:]
    for counter in outcome.transcript.counters {
      counters[counter.name] = counter.value
    }
    XCTAssertEqual(counters[CounterNames.formatVersion], 1)
    XCTAssertGreaterThanOrEqual(counters[CounterNames.pageFaults] ?? 0,
                                UInt64(pages))
    XCTAssertGreaterThanOrEqual(counters[CounterNames.blockWriteBytes] ?? 0,
                                UInt64(bytes))
    XCTAssertGreaterThan(counters[CounterNames.tscHz] ?? 0, 0)

    let text = StatsReport.text(program: "known-work",
                                counters: outcome.transcript.counters,
                                syscalls: syscalls)
    XCTAssertTrue(text.contains { $0.hasSuffix(" getpid")
      && $0.contains(" \(calls) ") }, text.joined(separator: "\n"))
  }

  func testLibcClockReadsUseTheVDSO() throws {
    let kernel = try TestPackage.kernel()
    let directory = NSTemporaryDirectory() + "villa-vdso-\(getpid())"
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let reads = 20_000
    for compiler in ["/usr/bin/gcc", "/usr/bin/musl-gcc"] {
      guard FileManager.default.isExecutableFile(atPath: compiler) else {
        continue
      }
      let program = directory + "/clock-reads"
      let build = try runOnHost(
        compiler,
        arguments: ["-static", "-O2", "-o", program,
                    TestPackage.root + "/testprogs/stats/clock-reads.c"],
        environment: ["PATH=/usr/bin:/bin"], standardInput: [],
        timeout: 120)
      XCTAssertEqual(build.exit, .exited(0),
                     String(decoding: build.stderr, as: UTF8.self))

      var configuration = RunConfiguration(
        programPath: program, arguments: ["\(reads)"], kernelPath: kernel,
        accelerator: .tcg, timeout: .seconds(60))
      configuration.kernelOptions = ["stats"]
      let outcome = try runInVilla(configuration, sink: .capture)
      XCTAssertEqual(outcome.exit, .exited(0),
                     "\(compiler): \(outcome.kernelLog)")
      let calls = outcome.transcript.syscallCounters
        .first { $0.name == "clock_gettime" }?.calls ?? 0
      XCTAssertLessThan(calls, UInt64(reads / 100),
                        "\(compiler): \(calls) clock_gettime system calls")
    }
  }
}

/// Counters on request: SIGUSR1 to villa while the program runs makes the
/// kernel send its counters at once. The program makes `before` getpid
/// calls, says "ready", sleeps, then makes `after` more; the counters
/// asked for in between must show `before`, those at exit both.
final class CountersOnRequestTests: XCTestCase {
  func testSIGUSR1DumpsTheCountersWhileTheProgramRuns() throws {
    let kernel = try TestPackage.kernel()
    let directory = NSTemporaryDirectory() + "villa-request-\(getpid())"
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let program = directory + "/on-request"
    let build = try runOnHost(
      "/usr/bin/gcc",
      arguments: ["-static", "-O2", "-o", program,
                  TestPackage.root + "/testprogs/stats/on-request.c"],
      environment: ["PATH=/usr/bin:/bin"], standardInput: [], timeout: 120)
    XCTAssertEqual(build.exit, .exited(0), String(decoding: build.stderr,
                                                  as: UTF8.self))

    // The CLI's signal routing, in this process: SIGUSR1 goes to the VM.
    try VillaInterrupts.install()
    let before = 321, after = 45
    var configuration = RunConfiguration(
      programPath: program, arguments: ["\(before)", "3", "\(after)"],
      kernelPath: kernel, accelerator: .tcg, timeout: .seconds(60))
    configuration.kernelOptions = ["stats"]

    // The program's stdout comes through a pipe, watched for "ready".
    var ends: [Int32] = [-1, -1]
    XCTAssertEqual(pipe(&ends), 0)
    let readEnd = ends[0]
    let errors = directory + "/stderr"
    let errorFD = open(errors, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let watcher = Thread {
      var seen: [UInt8] = []
      var buffer = [UInt8](repeating: 0, count: 256)
      while true {
        let count = read(readEnd, &buffer, buffer.count)
        guard count > 0 else { break }
        seen += buffer[..<count]
        if String(decoding: seen, as: UTF8.self).contains("ready\n") {
          kill(getpid(), SIGUSR1)
          break
        }
      }
      // Drain the rest so the program never blocks on its output.
      while read(readEnd, &buffer, buffer.count) > 0 {}
      close(readEnd)
    }
    watcher.start()
    let outcome = try runInVilla(
      configuration,
      sink: .stream(stdout: ends[1], stderr: errorFD, kernelLog: nil))
    close(ends[1])
    close(errorFD)
    XCTAssertEqual(outcome.exit, .exited(0), "\(outcome.kernelLog)")

    let requested = try XCTUnwrap(outcome.transcript.requestedCounters.first,
                                  "no counters on request")
    XCTAssertEqual(outcome.transcript.requestedCounters.count, 1)
    func getpids(_ rows: [SyscallCounter]) -> UInt64? {
      rows.first { $0.name == "getpid" }?.calls
    }
    XCTAssertEqual(getpids(requested.syscalls), UInt64(before))
    XCTAssertEqual(getpids(outcome.transcript.syscallCounters),
                   UInt64(before + after))
    // villa printed them on stderr as they came.
    let printed = try String(contentsOfFile: errors, encoding: .utf8)
    XCTAssertTrue(printed.contains("villa: counters on request:"), printed)
    XCTAssertTrue(printed.split(separator: "\n").contains {
      $0.hasSuffix(" getpid") && $0.contains(" \(before) ")
    }, printed)
  }
}
