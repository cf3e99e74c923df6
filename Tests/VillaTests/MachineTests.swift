// The two QEMU machines side by side, where they differ most: how much
// RAM fits below 4 GiB. q35 keeps 0x8000_0000 up for PCI once the guest
// has more than about 2.75 GiB, and microvm 0xC000_0000 up, so larger
// guests have RAM above 4 GiB, which the boot page tables do not map.
// The kernel must take that RAM only once its own direct map covers it.

import Foundation
import Glibc
import VillaHost
import XCTest

final class MachineTests: XCTestCase {
  /// MemTotal from /proc/meminfo in a guest of `memoryMiB`, in MiB.
  private func reportedMemory(_ machine: MachineType, memoryMiB: Int)
    throws -> Int?
  {
    let busybox = "/bin/busybox"
    try XCTSkipUnless(access(busybox, X_OK) == 0,
                      "no \(busybox): run tools/setup.sh (busybox-static)")
    let configuration = RunConfiguration(
      programPath: busybox, arguments: ["head", "-1", "/proc/meminfo"],
      kernelPath: try TestPackage.kernel(), memoryMiB: memoryMiB,
      accelerator: testAccelerator, machine: machine,
      timeout: .seconds(60))
    let outcome = try runInVilla(configuration, sink: .capture)
    XCTAssertEqual(outcome.exit, .exited(0),
                   outcome.kernelLog.joined(separator: "\n"))
    // "MemTotal: 5235628 kB"
    let words = String(decoding: outcome.stdout, as: UTF8.self)
      .split(separator: " ")
    guard words.count >= 2, words[0] == "MemTotal:",
      let kilobytes = Int(words[1])
    else { return nil }
    return kilobytes / 1024
  }

  // Guests with 1 GiB (q35) and 512 MiB (microvm) above the 4 GiB line;
  // what the kernel counts is all but its own image's, the firmware's
  // and the boot bundle's few MiB.
  func testQ35WithMemoryAbove4GiB() throws {
    XCTAssertGreaterThan(try reportedMemory(.q35, memoryMiB: 3072) ?? 0,
                         3000)
  }

  func testMicrovmWithMemoryAbove4GiB() throws {
    XCTAssertGreaterThan(
      try reportedMemory(.microvm, memoryMiB: 3584) ?? 0, 3500)
  }
}
