// Round trips of the boot bundle and the kernel channel records, and the
// refusals of malformed bundles.

import HostLink
import XCTest

final class HostLinkTests: XCTestCase {
  func testBundleRoundTrip() throws {
    var writer = BootBundleWriter()
    writer.append(.program, [0x7F, 0x45, 0x4C, 0x46, 1, 2, 3])
    writer.append(.argument, "hello")
    writer.append(.argument, "")
    writer.append(.environment, "A=b")
    let bytes = writer.encoded()
    XCTAssertEqual(bytes.count % 8, 0)
    try bytes.withUnsafeBytes { raw in
      let reader = try BootBundleReader(bytes: raw)
      XCTAssertEqual(reader.records.map(\.kind),
                     [.program, .argument, .argument, .environment])
      let program = try XCTUnwrap(reader.firstPayload(of: .program))
      XCTAssertEqual(reader.copy(program), [0x7F, 0x45, 0x4C, 0x46, 1, 2, 3])
      let args = reader.payloads(of: .argument).map(reader.copy)
      XCTAssertEqual(args, [Array("hello".utf8), []])
    }
  }

  func testBundleRefusesTruncatedAndForeignInput() {
    var writer = BootBundleWriter()
    writer.append(.argument, "0123456789")
    let good = writer.encoded()
    for cut in [0, 8, 15, 20, good.count - 9] {
      XCTAssertNotNil(refusal(of: Array(good[0..<cut])), "cut \(cut)")
    }
    XCTAssertNil(refusal(of: good))
    var foreign = good
    foreign[0] = 0x7F
    XCTAssertEqual(refusal(of: foreign), .badMagic)
    var badKind = good
    badKind[16] = 99
    XCTAssertEqual(refusal(of: badKind), .unknownKind(99))
    var newer = good
    newer[8] = 2
    XCTAssertEqual(refusal(of: newer), .unsupportedVersion(2))
  }

  /// Why the reader refuses `bytes`, or nil if it accepts them.
  private func refusal(of bytes: [UInt8]) -> BootBundleError? {
    bytes.withUnsafeBytes { raw -> BootBundleError? in
      do throws(BootBundleError) {
        _ = try BootBundleReader(bytes: raw)
        return nil
      } catch {
        return error
      }
    }
  }

  func testKernelChannelRecords() {
    let records: [KernelChannelRecord] = [
      .exit(0), .exit(255), .signal(11), .panic("page fault"),
      .frame(0x7f80_0010_1234), .log("[0.001] info boot: hello"),
    ]
    for record in records {
      XCTAssertEqual(KernelChannelRecord(line: record.line), record)
    }
    XCTAssertEqual(KernelChannelRecord(line: "@exit 256"), .log("@exit 256"))
    XCTAssertEqual(KernelChannelRecord(line: "@bogus"), .log("@bogus"))
    XCTAssertEqual(KernelChannelRecord(line: "@frame zz"), .log("@frame zz"))
  }
}
