// `villa run --profile`: the sample records and their decoding, the
// folded format, symbolization with a load bias, and, booted, a program
// whose profile is known: two functions of equal work called 3:1 must
// get about 75% and 25% of the samples, under main.

import Foundation
import HostLink
import VillaHost
import XCTest

final class ProfileTests: XCTestCase {
  func testSampleRecordsRoundTrip() {
    let samples = [
      "@sample u 401a2c 401b80 ~2",
      "@sample k 7f8000123456 7f8000100000 u 401a2c",
      "@sample i",
      "@sample ~3",
    ]
    for line in samples {
      let record = KernelChannelRecord(line: line)
      guard case .sample = record else {
        return XCTFail("\(line) parsed as \(record)")
      }
      XCTAssertEqual(record.line, line)
    }
    XCTAssertEqual(KernelChannelRecord(line: "@profile 1 997 555555554000"),
                   .profile(version: 1, frequency: 997,
                            loadBias: 0x5555_5555_4000))
    // Malformed: kept as log lines, never half-read.
    for bad in ["@sample", "@sample 401a2c", "@sample u zz", "@sample u 1 ~0",
                "@sample ~2 u 1", "@profile 1 997"] {
      XCTAssertEqual(KernelChannelRecord(line: bad), .log(bad), bad)
    }
  }

  func testCommandLineOptions() throws {
    guard case .run(let options) = try parseCommandLine(
      ["run", "--profile", "out.folded", "--profile-frequency=499", "prog"])
    else { return XCTFail("not a run") }
    XCTAssertEqual(options.profilePath, "out.folded")
    XCTAssertEqual(options.profileFrequency, 499)
    XCTAssertEqual(options.program, "prog")
    guard case .run(let plain) = try parseCommandLine(
      ["run", "--profile", "p.folded", "prog"])
    else { return XCTFail("not a run") }
    XCTAssertEqual(plain.profileFrequency, 997)
    for bad in [["run", "--profile-frequency", "0", "p"],
                ["run", "--profile-frequency", "fast", "p"],
                ["run", "--profile", "", "p"]] {
      XCTAssertThrowsError(try parseCommandLine(bad), "\(bad)")
    }
  }

  func testDecoderSharesOutermostFrames() {
    func user(_ addresses: UInt64...) -> [ProfileFrame] {
      addresses.map { ProfileFrame(address: $0, isKernel: false) }
    }
    var decoder = ProfileStackDecoder()
    XCTAssertEqual(decoder.decode(ProfileSampleRecord(frames: user(1, 2, 3))),
                   user(1, 2, 3))
    XCTAssertEqual(
      decoder.decode(ProfileSampleRecord(frames: user(4),
                                         sharedWithPrevious: 2)),
      user(4, 2, 3))
    XCTAssertEqual(decoder.decode(ProfileSampleRecord(sharedWithPrevious: 3)),
                   user(4, 2, 3))
    XCTAssertEqual(decoder.decode(.idle), [])
    // After an idle sample there is nothing to share: a lost record.
    XCTAssertNil(decoder.decode(ProfileSampleRecord(frames: user(5),
                                                    sharedWithPrevious: 1)))

    var transcript = KernelChannelTranscript()
    for line in ["@sample u 1", "@profile 1 100 0", "@sample u 10 20",
                 "@sample u 11 ~1", "@sample i", "@sample ~1"] {
      transcript.take(line: line)
    }
    let profile = try! XCTUnwrap(transcript.profile)
    XCTAssertEqual(profile.frequency, 100)
    XCTAssertEqual(profile.stacks[user(0x10, 0x20)], 1)
    XCTAssertEqual(profile.stacks[user(0x11, 0x20)], 1)
    XCTAssertEqual(profile.stacks[[]], 1)
    XCTAssertEqual(profile.lostSamples, 1)
  }

  func testFoldedTextRoundTripAndShares() throws {
    let text = """
      main;work_long 30
      main;work_short 10

      main 2
      main;work_long 3
      [idle] 5
      """
    let profile = try FoldedProfile.parse(text)
    XCTAssertEqual(profile.totalSamples, 50)
    XCTAssertEqual(profile.text,
                   "[idle] 5\nmain 2\nmain;work_long 33\nmain;work_short 10\n")
    XCTAssertEqual(try FoldedProfile.parse(profile.text), profile)
    let shares = profile.functionShares()
    XCTAssertEqual(shares.map(\.name),
                   ["work_long", "work_short", "[idle]", "main"])
    XCTAssertEqual(shares.last?.selfSamples, 2)
    XCTAssertEqual(shares.last?.totalSamples, 45)
    // flamegraph.pl accepts fractional counts; other garbage is refused
    // with the line number.
    XCTAssertEqual(try FoldedProfile.parse("a;b 2.5\n").totalSamples, 2)
    XCTAssertThrowsError(try FoldedProfile.parse("a 1\nb;c\n")) { error in
      XCTAssertEqual((error as? FoldedParseError)?.line, 2)
    }
    XCTAssertThrowsError(try FoldedProfile.parse("a -3\n"))
    XCTAssertEqual(FoldedProfile.sanitize("a;b\nc"), "a:b c")

    let report = ProfileReport.text(
      program: "p", profile: profile, frequency: 997, lostSamples: 0,
      outputPath: "out.folded")
    XCTAssertTrue(report.contains("  66.00%   66.00%  work_long"),
                  report.joined(separator: "\n"))
    XCTAssertTrue(report.contains("   4.00%   90.00%  main"))
  }

  func testFoldingNamesFramesWithTheLoadBias() throws {
    let program = try buildHotSplit(extraFlags: ["-static-pie"])
    let elf = try XCTUnwrap(FileManager.default.contents(atPath: program))
    let symbols = CodeSymbols(elf: Array(elf))
    let bias: UInt64 = 0x5555_5555_4000
    // Find the unbiased addresses of main and work_long from the table
    // itself, then present them as the kernel would, biased.
    func start(of name: String) throws -> UInt64 {
      for address in stride(from: UInt64(0x1000), to: 0x10_0000, by: 16)
        where symbols.lookup(address)?.name == name
          && symbols.lookup(address)?.offset == 0
      {
        return address
      }
      throw XCTSkip("no \(name) in the test program")
    }
    let main = try start(of: "main")
    let work = try start(of: "work_long")
    var samples = ProfileSamples(frequency: 997, loadBias: bias)
    samples.stacks[[
      ProfileFrame(address: bias + work + 5, isKernel: false),
      ProfileFrame(address: bias + main + 9, isKernel: false),
      ProfileFrame(address: 0x10, isKernel: false),
    ]] = 7
    samples.stacks[[]] = 2
    let folded = ProfileReport.fold(samples, program: Array(elf), kernel: [])
    XCTAssertEqual(folded.text,
                   "[idle] 2\n[unknown];main;work_long 7\n")
  }

  func testFlameGraphBoxesFollowTheSamples() throws {
    let profile = try FoldedProfile.parse("""
      main;work_long 30
      main;work_short 10
      main;write;villa_syscall_[k] 4
      a<b>&"c" 6
      """)
    let svg = FlameGraph.svg(profile, title: "t & t", width: 1020)
    XCTAssertTrue(svg.hasPrefix("<?xml"))
    XCTAssertTrue(svg.hasSuffix("</svg>\n"))
    XCTAssertTrue(svg.contains(">t &amp; t</text>"))
    XCTAssertFalse(svg.contains("a<b>"), "names must be escaped")

    // One box per node of the merged tree: all, main, work_long,
    // work_short, write, villa_syscall_[k], and the odd name.
    let boxes = flameBoxes(svg)
    XCTAssertEqual(boxes.count, 7, svg)
    let all = try XCTUnwrap(boxes["all"])
    let main = try XCTUnwrap(boxes["main"])
    let long = try XCTUnwrap(boxes["work_long"])
    let short = try XCTUnwrap(boxes["work_short"])
    let kernel = try XCTUnwrap(boxes["villa_syscall_[k]"])
    XCTAssertEqual(all.width, 1000, accuracy: 0.01)   // width - margins
    XCTAssertEqual(main.width, 1000 * 44 / 50, accuracy: 0.01)
    XCTAssertEqual(long.width, 3 * short.width, accuracy: 0.02)
    // Children sit one row above their parent, left to right by name.
    XCTAssertEqual(main.y, all.y - 16)
    XCTAssertEqual(long.y, main.y - 16)
    XCTAssertEqual(kernel.y, main.y - 32)
    XCTAssertEqual(long.x, main.x, accuracy: 0.01)
    XCTAssertEqual(short.x, long.x + long.width, accuracy: 0.02)
    XCTAssertNotEqual(FlameGraph.colour(for: "villa_syscall_[k]"),
                      FlameGraph.colour(for: "villa_syscall"))

    // A box too narrow to see is left out, with everything above it.
    let tiny = try FoldedProfile.parse("big 100000\nsmall;deeper 1\n")
    XCTAssertNil(flameBoxes(FlameGraph.svg(tiny, title: ""))["deeper"])
    XCTAssertNotNil(flameBoxes(FlameGraph.svg(tiny, title: ""))["big"])
  }

  /// The boxes of a flame graph by name (from their <title>).
  private func flameBoxes(_ svg: String)
    -> [String: (x: Double, y: Double, width: Double)]
  {
    let pattern = try! NSRegularExpression(pattern:
      #"<title>(.*?) \([0-9]+ samples?, [0-9.]+%\)</title>"#
      + #"<rect x="([0-9.]+)" y="([0-9]+)" width="([0-9.]+)""#)
    var boxes: [String: (x: Double, y: Double, width: Double)] = [:]
    let range = NSRange(svg.startIndex..., in: svg)
    for match in pattern.matches(in: svg, range: range) {
      func group(_ i: Int) -> String {
        String(svg[Range(match.range(at: i), in: svg)!])
      }
      boxes[group(1)] = (Double(group(2))!, Double(group(3))!,
                         Double(group(4))!)
    }
    return boxes
  }

  /// The split must come out within ten points of 75/25, and main must be
  /// the hot functions' caller, in a static and a static-PIE build.
  func testProfileFindsTheKnownSplit() throws {
    let kernel = try TestPackage.kernel()
    for flags in [["-static"], ["-static-pie"]] {
      let program = try buildHotSplit(extraFlags: flags)
      var configuration = RunConfiguration(
        programPath: program, arguments: ["3000"], kernelPath: kernel,
        accelerator: .tcg, timeout: .seconds(120))
      configuration.kernelOptions = ["profile=997"]
      let outcome = try runInVilla(configuration, sink: .capture)
      XCTAssertEqual(outcome.exit, .exited(0), "\(outcome.kernelLog)")
      let folded = try XCTUnwrap(outcome.profile, "no samples")
      // What the user's FILE holds, read back as a tool would.
      let profile = try FoldedProfile.parse(folded.text)

      var long: UInt64 = 0, short: UInt64 = 0, underMain: UInt64 = 0
      for stack in profile.stacks {
        guard let leaf = stack.frames.last,
          leaf == "work_long" || leaf == "work_short"
        else { continue }
        if leaf == "work_long" { long += stack.count }
        else { short += stack.count }
        if stack.frames.dropLast().last == "main" {
          underMain += stack.count
        }
      }
      let hot = long + short
      XCTAssertGreaterThan(hot, 200, "too few samples: \(profile.text)")
      let share = Double(long) / Double(max(hot, 1))
      XCTAssertEqual(share, 0.75, accuracy: 0.10,
                     "\(flags): work_long \(long), work_short \(short)")
      // A sample taken in a prologue, before the frame is set up, skips
      // the caller; nearly every sample must still show main.
      XCTAssertGreaterThan(Double(underMain), 0.9 * Double(hot),
                           "\(flags): \(profile.text)")
    }
  }

  /// Garbage in the frame pointer (a kernel address, an unmapped page, a
  /// misaligned value, a frame pointing at itself) ends the walk; it
  /// never faults the kernel, and the samples still name the function.
  func testBadFramePointersEndTheWalk() throws {
    let kernel = try TestPackage.kernel()
    let program = try buildTestProgram("bad-frames", extraFlags: ["-static"])
    var configuration = RunConfiguration(
      programPath: program, arguments: ["40"], kernelPath: kernel,
      accelerator: .tcg, timeout: .seconds(120))
    configuration.kernelOptions = ["profile=5000"]
    let outcome = try runInVilla(configuration, sink: .capture)
    XCTAssertEqual(outcome.exit, .exited(0), "\(outcome.kernelLog)")
    XCTAssertEqual(String(decoding: outcome.stdout, as: UTF8.self),
                   "survived\n")
    let profile = try XCTUnwrap(outcome.profile)
    let inMain = profile.stacks.filter { $0.frames.last == "main" }
      .reduce(0) { $0 + $1.count }
    XCTAssertGreaterThan(inMain, 50, profile.text)
  }

  private func buildHotSplit(extraFlags: [String]) throws -> String {
    try buildTestProgram("hot-split", extraFlags: extraFlags)
  }

  /// Builds testprogs/profile/NAME.c with gcc and `extraFlags`.
  private func buildTestProgram(_ name: String, extraFlags: [String])
    throws -> String
  {
    let directory = NSTemporaryDirectory() + "villa-profile-\(getpid())"
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
    let program = directory + "/" + name
      + extraFlags.joined().replacingOccurrences(of: "-", with: "_")
    let build = try runOnHost(
      "/usr/bin/gcc",
      arguments: extraFlags + ["-O2", "-fno-omit-frame-pointer", "-o",
                               program,
                               TestPackage.root
                                 + "/testprogs/profile/\(name).c"],
      environment: ["PATH=/usr/bin:/bin"], standardInput: [], timeout: 120)
    XCTAssertEqual(build.exit, .exited(0),
                   String(decoding: build.stderr, as: UTF8.self))
    return program
  }
}
