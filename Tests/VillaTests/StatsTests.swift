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
