// Shared file mappings on the persistent filesystem, whose pages are
// copies written back (tmpfs, where the conformance programs run, maps
// its own memory instead). The mmap-file conformance program gives the
// host's transcript in a directory of the image; and a program fills a
// file through MAP_SHARED and msync(MS_SYNC)s, then is killed with the
// VM (so no exit-time write-back can help): the next boot maps the file
// and finds every byte, and so does the host.

import Foundation
import VillaHost
import XCTest

final class MappedFileImageTests: XCTestCase {
  func testMappingsOnThePersistentFilesystemAgreeWithTheHost() throws {
    let kernel = try TestPackage.kernel()
    let programs = try TestPackage.testPrograms()
    let directory = NSTemporaryDirectory() + "villa-mapfs-\(getpid())"
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }

    let path = programs + "/glibc/mmap-file"
    let host = try runOnHost(path, arguments: [], environment: nil,
                             standardInput: [], timeout: 60)
    XCTAssertEqual(host.exit, .exited(0))
    let image = directory + "/mapfs.img"
    let program = try loadProgram(path, searchPath: nil,
                                  currentDirectory: "/")
    try VillaImage.build(
      VillaImage.Contents(program: program, arguments: ["mmap-file"],
                          environment: [], hostname: "villa"),
      at: image, sizeMiB: 16)
    var configuration = RunConfiguration(
      programPath: "", arguments: ["--in", "/"], kernelPath: kernel,
      accelerator: .tcg, timeout: .seconds(120))
    configuration.diskImage = image
    let villa = try runInVilla(configuration, sink: .capture)
    XCTAssertEqual(villa.exit, .exited(0), "\(villa.kernelLog)")
    XCTAssertEqual(String(decoding: villa.stdout, as: UTF8.self),
                   String(decoding: host.stdout, as: UTF8.self))
  }

  func testSharedMappingWritesSurviveAReboot() throws {
    let kernel = try TestPackage.kernel()
    let programs = try TestPackage.testPrograms()
    let directory = NSTemporaryDirectory() + "villa-mapped-\(getpid())"
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }

    let image = directory + "/mapped.img"
    let program = try loadProgram(programs + "/glibc/mmap-file-persist",
                                  searchPath: nil, currentDirectory: "/")
    try VillaImage.build(
      VillaImage.Contents(program: program,
                          arguments: ["mmap-file-persist"],
                          environment: [], hostname: "villa"),
      at: image, sizeMiB: 16)

    // The writer waits after msync until the timeout kills the VM.
    var configuration = RunConfiguration(
      programPath: "", arguments: ["write", "/mapped.bin"],
      kernelPath: kernel, accelerator: .tcg, timeout: .seconds(20))
    configuration.diskImage = image
    let first = try runInVilla(configuration, sink: .capture)
    XCTAssertEqual(first.exit, .timedOut, "\(first.kernelLog)")
    XCTAssertEqual(String(decoding: first.stdout, as: UTF8.self),
                   "synced\n", "\(first.kernelLog)")

    configuration.arguments = ["check", "/mapped.bin"]
    configuration.timeout = .seconds(60)
    let second = try runInVilla(configuration, sink: .capture)
    XCTAssertEqual(second.exit, .exited(0), "\(second.kernelLog)")
    XCTAssertEqual(String(decoding: second.stdout, as: UTF8.self),
                   "intact\n")

    // The same bytes as the program's pattern, read on the host.
    let fs = try VillaImage.mount(image, readOnly: true)
    let bytes = try VillaImage.read(fs, "/mapped.bin", image: image)
    let size = 40 * 4096 - 123
    XCTAssertEqual(bytes.count, size)
    let expected = (0..<size).map {
      UInt8(truncatingIfNeeded: $0 * 131 + $0 / 4096)
    }
    XCTAssertTrue(bytes == expected, "the file differs from what was mapped")
  }
}
