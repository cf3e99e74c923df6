// Disk images end to end: `villa image build` puts a program and a file
// in an image, the program runs from it twice and what it wrote on the
// first boot is there on the second, and the host reads the result back
// byte for byte. Once on microvm (the disk on virtio-mmio) and once on
// q35 (virtio-pci, with MSI-X interrupts).

import Foundation
import VillaHost
import XCTest

final class ImageTests: XCTestCase {
  func testWritesPersistAcrossBootsAndReadBackOnTheHost() throws {
    try writesPersistAcrossBoots(on: .microvm)
  }

  func testWritesPersistAcrossBootsOnQ35() throws {
    try writesPersistAcrossBoots(on: .q35)
  }

  private func writesPersistAcrossBoots(on machine: MachineType) throws {
    let kernel = try TestPackage.kernel()
    let programs = try TestPackage.testPrograms()
    let directory = NSTemporaryDirectory()
      + "villa-image-\(machine)-\(getpid())"
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }

    // A shell from busybox writes a growing file; its contents prove
    // both boots happened, in order, on the same disk. Only builtins and
    // redirections: Villa runs one process, so the shell cannot fork.
    let busybox = "/bin/busybox"
    try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: busybox),
                      "busybox-static is not installed")
    let config = directory + "/app.conf"
    try "greeting=hello\n".write(toFile: config, atomically: true,
                                 encoding: .utf8)
    let image = directory + "/app.img"
    let program = try loadProgram(busybox, searchPath: nil,
                                  currentDirectory: "/")
    try VillaImage.build(
      VillaImage.Contents(
        program: program,
        arguments: ["sh", "-c",
                    "while read l; do echo \"$l\"; done < /etc/app.conf >> /log;"
                      + " echo boot >> /log;"
                      + " while read l; do echo \"$l\"; done < /log"],
        environment: [], hostname: "villa",
        files: [("/etc/app.conf", config)]),
      at: image, sizeMiB: 16)
    _ = programs

    var configuration = RunConfiguration(
      programPath: "", arguments: [], kernelPath: kernel,
      accelerator: .tcg, machine: machine, timeout: .seconds(60))
    configuration.diskImage = image
    let first = try runInVilla(configuration, sink: .capture)
    XCTAssertEqual(first.exit, .exited(0), "\(first.kernelLog)")
    XCTAssertEqual(String(decoding: first.stdout, as: UTF8.self),
                   "greeting=hello\nboot\n")
    let second = try runInVilla(configuration, sink: .capture)
    XCTAssertEqual(second.exit, .exited(0), "\(second.kernelLog)")
    XCTAssertEqual(String(decoding: second.stdout, as: UTF8.self),
                   "greeting=hello\nboot\ngreeting=hello\nboot\n")

    let fs = try VillaImage.mount(image, readOnly: true)
    let log = try VillaImage.read(fs, "/log", image: image)
    XCTAssertEqual(log, Array("greeting=hello\nboot\ngreeting=hello\nboot\n"
      .utf8))
    // What `villa image get` does: the file the program wrote, copied out
    // byte for byte.
    let copied = directory + "/log"
    try VillaImage.get(image: image, guest: "/log", host: copied)
    XCTAssertEqual(FileManager.default.contents(atPath: copied).map(Array.init),
                   log)
  }
}
