// Tests of VillaFS against an in-memory block device: format and mount
// round trips, namespace semantics, sparse files and truncation, big files
// and random operation sequences checked against models, power cuts at
// every write and record boundary, corrupted bytes, cleaning under
// pressure, and image building.

@testable import VillaFS
import VillaHost
import XCTest

private typealias FS = FileSystem<MemoryBlockDevice>

private func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A clock that advances a microsecond per reading, so every change gets
/// a distinct, reproducible time.
private final class TestClock {
  var ticks: Int64 = 1_700_000_000_000_000

  func now() -> Timestamp {
    ticks += 1
    return Timestamp(seconds: ticks / 1_000_000,
                     nanoseconds: UInt32(ticks % 1_000_000) * 1000)
  }
}

private let formatTime = Timestamp(seconds: 1_600_000_000)

private func formatted(blockSize: Int = 512, bytes: Int,
                       segmentSize: UInt64? = nil) throws
  -> MemoryBlockDevice
{
  let device = MemoryBlockDevice(
    blockSize: blockSize, blockCount: UInt64(bytes / blockSize))
  try FS.format(device, options: FormatOptions(
    volumeID: 0x5EED_F00D, time: formatTime, segmentSize: segmentSize))
  return device
}

private func mount(_ device: MemoryBlockDevice, clock: TestClock,
                   readOnly: Bool = false) throws -> FS {
  try FS(mounting: device, readOnly: readOnly, clock: { clock.now() })
}

extension FileSystem {
  fileprivate func write(_ inode: InodeNumber, at offset: UInt64,
                         _ bytes: [UInt8]) throws -> Int {
    try bytes.withUnsafeBytes { try write(inode, at: offset, from: $0) }
  }

  fileprivate func read(_ inode: InodeNumber, at offset: UInt64,
                        count: Int) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0xA5, count: count)
    let got = try bytes.withUnsafeMutableBytes {
      try read(inode, at: offset, into: $0)
    }
    return Array(bytes[0..<got])
  }

  fileprivate func names(in directory: InodeNumber) throws -> [String] {
    try readDirectory(directory, after: 0).map {
      String(decoding: $0.name, as: UTF8.self)
    }
  }
}

/// Everything observable about the tree, one line per path: kinds,
/// modes, owners, link counts, sizes, inode numbers, mtimes, contents
/// and symlink targets. Equal digests mean equal filesystems.
private func digest(_ fs: FS) throws -> String {
  var lines: [String] = []
  for item in try fs.list() {
    let a = item.attributes
    var line = "\(item.pathDescription) \(a.kind) \(String(a.mode, radix: 8))"
      + " n\(a.linkCount) u\(a.uid) g\(a.gid) s\(a.size) i\(a.inode)"
      + " m\(a.modificationTime.seconds).\(a.modificationTime.nanoseconds)"
    if a.kind == .regular {
      line += " c\(CRC32C.checksum(try fs.contents(of: a.inode)))"
    }
    if let target = item.target {
      line += " -> " + String(decoding: target, as: UTF8.self)
    }
    lines.append(line)
  }
  return lines.joined(separator: "\n")
}

private func randomBytes(_ count: Int, _ random: inout SplitMix64)
  -> [UInt8]
{
  var bytes = [UInt8](repeating: 0, count: count)
  var index = 0
  while index < count {
    let word = random.next()
    for shift in stride(from: 0, to: 64, by: 8) where index < count {
      bytes[index] = UInt8(truncatingIfNeeded: word >> UInt64(shift))
      index += 1
    }
  }
  return bytes
}

private func expectError(
  _ expected: FSError, file: StaticString = #filePath, line: UInt = #line,
  _ body: () throws -> Void
) {
  do {
    try body()
    XCTFail("expected \(expected), got success", file: file, line: line)
  } catch let error as FSError {
    XCTAssertEqual(error, expected, file: file, line: line)
  } catch {
    XCTFail("unexpected \(error)", file: file, line: line)
  }
}

final class VillaFSTests: XCTestCase {
  // MARK: - Encodings

  func testCRC32CKnownAnswers() {
    // Check values from RFC 3720 (iSCSI), appendix B.4, and the common
    // "123456789" check value of CRC-32C.
    XCTAssertEqual(CRC32C.checksum(utf8("123456789")), 0xE306_9283)
    XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)),
                   0x8A91_36AA)
    XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)),
                   0x62A8_AB43)
    XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
    // Piecewise equals whole, across the eight-byte fast path.
    let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    var crc = CRC32C()
    crc.update(Array(bytes[0..<3]))
    crc.update(Array(bytes[3..<517]))
    crc.update(Array(bytes[517...]))
    XCTAssertEqual(crc.value, CRC32C.checksum(bytes))
  }

  func testSuperblockRoundTripAndRefusals() throws {
    let superblock = Superblock(
      blockSize: 512, segmentSize: 65536, segmentCount: 30,
      volumeID: 0x0102_0304_0506_0708, generation: 7,
      checkpointAddress: 8192 + 65536 + 64, checkpointSequence: 99,
      checkpointPrevious: 0xDEAD_BEEF, checkpointLastSequence: 104,
      formatTime: Timestamp(seconds: 12, nanoseconds: 34))
    let bytes = superblock.encoded(blockSize: 512)
    XCTAssertEqual(bytes.count, 512)
    XCTAssertEqual(Array(bytes[4..<12]), Array("VILLAFS\u{1}".utf8))
    XCTAssertEqual(Array(bytes[12..<16]), [1, 0, 0, 0])
    XCTAssertEqual(try Superblock.decode(bytes), superblock)
    XCTAssertNoThrow(try superblock.geometry(deviceBlockSize: 512,
                                             deviceBlockCount: 8192))
    XCTAssertThrowsError(try superblock.geometry(
      deviceBlockSize: 512, deviceBlockCount: 1000))

    var flipped = bytes
    flipped[60] ^= 4
    XCTAssertEqual(error { try Superblock.decode(flipped) },
                   .corrupted("superblock checksum mismatch"))
    // A checksummed superblock of a newer format version.
    var newer = bytes
    newer[12] = 2
    let checksum = CRC32C.checksum(Array(newer[4..<Superblock.size]))
    storeLittleEndian(checksum, into: &newer, at: 0)
    XCTAssertEqual(error { try Superblock.decode(newer) },
                   .unsupportedVersion(2))
    XCTAssertEqual(error { try Superblock.decode(Array(bytes[0..<100])) },
                   .corrupted("superblock is truncated"))
  }

  func testOperationPayloadsRoundTrip() throws {
    let time = Timestamp(seconds: -5, nanoseconds: 999_999_999)
    var attributes = AttributeRecord()
    attributes.mask = AttributeRecord.modeBit | AttributeRecord.sizeBit
    attributes.mode = 0o4755
    attributes.size = 1 << 40
    let operations: [LogOperation] = [
      .create(parent: 1, name: utf8("file"), inode: 9, mode: 0o100644,
              uid: 1000, gid: 100, rdev: 0, time: time, target: []),
      .create(parent: 1, name: utf8("l"), inode: 10, mode: 0o120777,
              uid: 0, gid: 0, rdev: 0, time: time, target: utf8("/etc")),
      .link(parent: 3, name: utf8("x"), inode: 9, time: time),
      .unlink(parent: 3, name: utf8("x"), time: time, release: true),
      .removeDirectory(parent: 1, name: utf8("d"), time: time,
                       release: false),
      .rename(fromParent: 1, fromName: utf8("a"), toParent: 4,
              toName: utf8("b"), mode: .exchange, time: time,
              release: true),
      .setAttributes(inode: 9, attributes),
      .release(inode: 12),
      .segmentCleaned(segment: 17, releaseGeneration: 4),
      .segmentLink(segment: 3),
    ]
    for operation in operations {
      let decoded = try LogOperation.decode(
        type: operation.recordType, payload: operation.encodedPayload())
      XCTAssertEqual(decoded, operation)
      // Every shorter payload is refused as truncated, never trapped on.
      let payload = operation.encodedPayload()
      for cut in 0..<payload.count {
        XCTAssertThrowsError(try LogOperation.decode(
          type: operation.recordType, payload: Array(payload[0..<cut])))
      }
    }
  }

  private func error(_ body: () throws -> Any) -> FSError? {
    do {
      _ = try body()
      return nil
    } catch let error as FSError {
      return error
    } catch {
      return nil
    }
  }

  // MARK: - Format, mount, namespace

  func testFormatMountRoundTrip() throws {
    let clock = TestClock()
    let device = try formatted(bytes: 4 << 20)
    var fs = try mount(device, clock: clock)
    let root = FS.rootInode
    let rootAttributes = try fs.attributes(of: root)
    XCTAssertEqual(rootAttributes.kind, .directory)
    XCTAssertEqual(rootAttributes.mode, 0o40755)
    XCTAssertEqual(rootAttributes.linkCount, 2)
    XCTAssertEqual(rootAttributes.modificationTime, formatTime)
    XCTAssertEqual(try fs.lookup(utf8("."), in: root), root)
    XCTAssertEqual(try fs.lookup(utf8(".."), in: root), root)

    let etc = try fs.makeDirectory(utf8("etc"), in: root, mode: 0o755,
                                   uid: 0, gid: 0)
    let hosts = try fs.create(utf8("hosts"), in: etc, mode: 0o100644,
                              uid: 7, gid: 8)
    XCTAssertEqual(try fs.write(hosts, at: 0, utf8("127.0.0.1 localhost\n")),
                   20)
    _ = try fs.makeSymlink(utf8("h"), in: root, target: utf8("etc/hosts"),
                           uid: 0, gid: 0)
    let fifo = try fs.create(utf8("pipe"), in: root, mode: 0o010600,
                             uid: 0, gid: 0)
    let device2 = try fs.create(utf8("null"), in: etc, mode: 0o020666,
                                uid: 0, gid: 0, rdev: 0x103)
    XCTAssertEqual(try fs.attributes(of: fifo).kind, .fifo)
    XCTAssertEqual(try fs.attributes(of: device2).rdev, 0x103)
    XCTAssertEqual(try fs.attributes(of: root).linkCount, 3)
    let before = try digest(fs)
    try fs.unmount()
    expectError(.invalid) { _ = try fs.attributes(of: root) }

    fs = try mount(device, clock: clock)
    XCTAssertEqual(fs.recovery.replayedRecords, 0,
                   "a clean unmount leaves a checkpoint at the end")
    XCTAssertEqual(try digest(fs), before)
    XCTAssertEqual(try fs.read(hosts, at: 0, count: 100),
                   utf8("127.0.0.1 localhost\n"))
    XCTAssertEqual(try fs.readLink(try fs.lookup(utf8("h"), in: root)),
                   utf8("etc/hosts"))
    XCTAssertEqual(try fs.attributes(of: hosts).uid, 7)
    XCTAssertEqual(try fs.lookup(utf8(".."), in: etc), root)
    XCTAssertEqual(fs.volume.volumeID, 0x5EED_F00D)

    // Without an unmount the log is replayed; sync made it durable.
    _ = try fs.create(utf8("late"), in: root, mode: 0o100600, uid: 0, gid: 0)
    try fs.sync()
    let synced = try digest(fs)
    device.powerCut(.dropUnflushed)
    fs = try mount(device, clock: clock)
    XCTAssertGreaterThan(fs.recovery.replayedRecords, 0)
    XCTAssertEqual(try digest(fs), synced)

    // A device that never held a filesystem is refused clearly.
    let blank = MemoryBlockDevice(blockSize: 512, blockCount: 8192)
    XCTAssertThrowsError(try mount(blank, clock: clock)) {
      XCTAssertEqual($0 as? FSError, .corrupted("no valid superblock"))
    }
  }

  func testFormatRefusesUnusableDevices() {
    let tiny = MemoryBlockDevice(blockSize: 512, blockCount: 100)
    expectError(.noSpace) {
      try FS.format(tiny, options: FormatOptions(volumeID: 1, time: .zero))
    }
    let odd = MemoryBlockDevice(blockSize: 1000, blockCount: 10000)
    expectError(.invalid) {
      try FS.format(odd, options: FormatOptions(volumeID: 1, time: .zero))
    }
    let device = MemoryBlockDevice(blockSize: 512, blockCount: 8192)
    expectError(.invalid) {
      try FS.format(device, options: FormatOptions(
        volumeID: 1, time: .zero, segmentSize: 70000))
    }
  }

  func testNamespaceErrorsAndLinks() throws {
    let fs = try mount(try formatted(bytes: 4 << 20), clock: TestClock())
    let root = FS.rootInode
    let dir = try fs.makeDirectory(utf8("d"), in: root, mode: 0o700,
                                   uid: 1, gid: 1)
    let file = try fs.create(utf8("f"), in: root, mode: 0o100644,
                             uid: 0, gid: 0)

    expectError(.notFound) { _ = try fs.lookup(utf8("missing"), in: root) }
    expectError(.notDirectory) { _ = try fs.lookup(utf8("x"), in: file) }
    expectError(.exists) {
      _ = try fs.create(utf8("f"), in: root, mode: 0o100644, uid: 0, gid: 0)
    }
    expectError(.exists) {
      _ = try fs.makeDirectory(utf8("d"), in: root, mode: 0, uid: 0, gid: 0)
    }
    expectError(.nameTooLong) {
      _ = try fs.create([UInt8](repeating: 0x61, count: 256), in: root,
                        mode: 0o100644, uid: 0, gid: 0)
    }
    XCTAssertNoThrow(try fs.create([UInt8](repeating: 0x61, count: 255),
                                   in: root, mode: 0o100644, uid: 0, gid: 0))
    for bad in ["", ".", "..", "a/b", "nul\u{0}"] {
      expectError(.invalid) {
        _ = try fs.create(utf8(bad), in: root, mode: 0o100644, uid: 0,
                          gid: 0)
      }
    }
    expectError(.invalid) {
      _ = try fs.create(utf8("s"), in: root, mode: 0o120777, uid: 0, gid: 0)
    }
    expectError(.notFound) {
      _ = try fs.makeSymlink(utf8("s"), in: root, target: [], uid: 0, gid: 0)
    }
    expectError(.nameTooLong) {
      _ = try fs.makeSymlink(utf8("s"), in: root,
                             target: [UInt8](repeating: 0x61, count: 4096),
                             uid: 0, gid: 0)
    }
    expectError(.isDirectory) { try fs.unlink(utf8("d"), in: root) }
    expectError(.notDirectory) { try fs.removeDirectory(utf8("f"), in: root) }
    expectError(.isDirectory) { _ = try fs.write(dir, at: 0, [1]) }
    expectError(.isDirectory) { _ = try fs.read(dir, at: 0, count: 1) }
    expectError(.isDirectory) { try fs.truncate(dir, to: 0) }
    expectError(.invalid) { _ = try fs.readLink(file) }
    expectError(.fileTooLarge) {
      _ = try fs.write(file, at: FormatLimits.maxFileSize, [1])
    }

    // Hard links share the inode and count names.
    try fs.link(file, as: utf8("g"), in: dir)
    XCTAssertEqual(try fs.lookup(utf8("g"), in: dir), file)
    XCTAssertEqual(try fs.attributes(of: file).linkCount, 2)
    expectError(.notPermitted) { try fs.link(dir, as: utf8("d2"), in: root) }
    expectError(.exists) { try fs.link(file, as: utf8("f"), in: root) }
    try fs.unlink(utf8("f"), in: root)
    XCTAssertEqual(try fs.attributes(of: file).linkCount, 1)
    XCTAssertEqual(try fs.write(file, at: 0, utf8("still here")), 10)
    try fs.unlink(utf8("g"), in: dir)
    expectError(.notFound) { _ = try fs.attributes(of: file) }

    // rmdir wants an empty directory; the parent's link count follows.
    let sub = try fs.makeDirectory(utf8("sub"), in: dir, mode: 0o755,
                                   uid: 0, gid: 0)
    XCTAssertEqual(try fs.attributes(of: dir).linkCount, 3)
    _ = try fs.create(utf8("x"), in: sub, mode: 0o100644, uid: 0, gid: 0)
    expectError(.notEmpty) { try fs.removeDirectory(utf8("sub"), in: dir) }
    try fs.unlink(utf8("x"), in: sub)
    try fs.removeDirectory(utf8("sub"), in: dir)
    XCTAssertEqual(try fs.attributes(of: dir).linkCount, 2)
    expectError(.notFound) { _ = try fs.attributes(of: sub) }
  }

  func testRenameSemantics() throws {
    let clock = TestClock()
    let device = try formatted(bytes: 4 << 20)
    var fs = try mount(device, clock: clock)
    let root = FS.rootInode
    let a = try fs.makeDirectory(utf8("a"), in: root, mode: 0o755,
                                 uid: 0, gid: 0)
    let b = try fs.makeDirectory(utf8("b"), in: root, mode: 0o755,
                                 uid: 0, gid: 0)
    let inner = try fs.makeDirectory(utf8("inner"), in: a, mode: 0o755,
                                     uid: 0, gid: 0)
    let one = try fs.create(utf8("one"), in: a, mode: 0o100644, uid: 0,
                            gid: 0)
    let two = try fs.create(utf8("two"), in: b, mode: 0o100644, uid: 0,
                            gid: 0)
    _ = try fs.write(one, at: 0, utf8("1"))
    _ = try fs.write(two, at: 0, utf8("22"))

    expectError(.notFound) {
      try fs.rename(utf8("nope"), in: a, to: utf8("x"), in: b)
    }
    expectError(.exists) {
      try fs.rename(utf8("one"), in: a, to: utf8("two"), in: b,
                    mode: .noReplace)
    }
    expectError(.notFound) {
      try fs.rename(utf8("one"), in: a, to: utf8("zz"), in: b,
                    mode: .exchange)
    }
    expectError(.invalid) {
      try fs.rename(utf8("a"), in: root, to: utf8("x"), in: inner)
    }
    expectError(.invalid) {
      try fs.rename(utf8("a"), in: root, to: utf8("a"), in: a)
    }
    expectError(.isDirectory) {
      try fs.rename(utf8("one"), in: a, to: utf8("inner"), in: a)
    }
    expectError(.notDirectory) {
      try fs.rename(utf8("inner"), in: a, to: utf8("two"), in: b)
    }

    // Replacing a file frees the old one.
    try fs.rename(utf8("one"), in: a, to: utf8("two"), in: b)
    XCTAssertEqual(try fs.lookup(utf8("two"), in: b), one)
    expectError(.notFound) { _ = try fs.attributes(of: two) }
    expectError(.notFound) { _ = try fs.lookup(utf8("one"), in: a) }

    // A directory moves with its ".." and the parents' link counts.
    try fs.rename(utf8("inner"), in: a, to: utf8("moved"), in: b)
    XCTAssertEqual(try fs.lookup(utf8(".."), in: inner), b)
    XCTAssertEqual(try fs.attributes(of: a).linkCount, 2)
    XCTAssertEqual(try fs.attributes(of: b).linkCount, 3)

    // Replacing an empty directory works; a non-empty one does not.
    let empty = try fs.makeDirectory(utf8("empty"), in: a, mode: 0o755,
                                     uid: 0, gid: 0)
    try fs.rename(utf8("moved"), in: b, to: utf8("empty"), in: a)
    expectError(.notFound) { _ = try fs.attributes(of: empty) }
    XCTAssertEqual(try fs.lookup(utf8("empty"), in: a), inner)
    XCTAssertEqual(try fs.attributes(of: a).linkCount, 3)
    XCTAssertEqual(try fs.attributes(of: b).linkCount, 2)
    _ = try fs.create(utf8("child"), in: inner, mode: 0o100644, uid: 0,
                      gid: 0)
    _ = try fs.makeDirectory(utf8("full"), in: b, mode: 0o755, uid: 0,
                             gid: 0)
    expectError(.notEmpty) {
      try fs.rename(utf8("full"), in: b, to: utf8("empty"), in: a)
    }

    // Exchange swaps a file and a directory across parents.
    try fs.rename(utf8("two"), in: b, to: utf8("empty"), in: a,
                  mode: .exchange)
    XCTAssertEqual(try fs.lookup(utf8("two"), in: b), inner)
    XCTAssertEqual(try fs.lookup(utf8("empty"), in: a), one)
    XCTAssertEqual(try fs.lookup(utf8(".."), in: inner), b)
    XCTAssertEqual(try fs.attributes(of: a).linkCount, 2)
    XCTAssertEqual(try fs.attributes(of: b).linkCount, 4)

    // Two names of one inode: rename does nothing, both stay.
    try fs.link(one, as: utf8("alias"), in: root)
    try fs.rename(utf8("alias"), in: root, to: utf8("empty"), in: a)
    XCTAssertEqual(try fs.lookup(utf8("alias"), in: root), one)
    XCTAssertEqual(try fs.attributes(of: one).linkCount, 2)

    let before = try digest(fs)
    try fs.sync()
    device.powerCut(.dropUnflushed)
    fs = try mount(device, clock: clock)
    XCTAssertEqual(try digest(fs), before)
  }

  func testReadDirectoryCookiesAreStable() throws {
    let fs = try mount(try formatted(bytes: 4 << 20), clock: TestClock())
    let root = FS.rootInode
    for index in 0..<100 {
      _ = try fs.create(utf8("f\(index)"), in: root, mode: 0o100644,
                        uid: 0, gid: 0)
    }
    let first = try fs.readDirectory(root, after: 0, limit: 30)
    XCTAssertEqual(first.count, 30)
    XCTAssertTrue(first.allSatisfy { $0.cookie > 2 && $0.kind == .regular })
    // Remove some entries already listed and some not yet listed, add new
    // ones: the listing continues without repeats or gaps among the ones
    // that stayed.
    for index in [0, 5, 29, 30, 31, 60, 99] {
      try fs.unlink(utf8("f\(index)"), in: root)
    }
    for index in 100..<120 {
      _ = try fs.create(utf8("f\(index)"), in: root, mode: 0o100644,
                        uid: 0, gid: 0)
    }
    var seen = Set(first.map { String(decoding: $0.name, as: UTF8.self) })
    var cookie = first.last!.cookie
    while true {
      let page = try fs.readDirectory(root, after: cookie, limit: 7)
      guard let last = page.last else { break }
      for entry in page {
        let text = String(decoding: entry.name, as: UTF8.self)
        XCTAssertFalse(seen.contains(text), "repeated \(text)")
        seen.insert(text)
      }
      cookie = last.cookie
    }
    let expected = Set((0..<120).map { "f\($0)" })
      .subtracting(["f30", "f31", "f60", "f99"])
    XCTAssertEqual(seen, expected)
    XCTAssertEqual(try fs.readDirectory(root, after: UInt64.max), [])
  }

  func testOrphansLiveUntilReleased() throws {
    let clock = TestClock()
    let device = try formatted(bytes: 4 << 20)
    var fs = try mount(device, clock: clock)
    let root = FS.rootInode
    let file = try fs.create(utf8("held"), in: root, mode: 0o100644,
                             uid: 0, gid: 0)
    _ = try fs.write(file, at: 0, [UInt8](repeating: 7, count: 10_000))
    try fs.acquire(file)
    try fs.unlink(utf8("held"), in: root)
    XCTAssertEqual(try fs.attributes(of: file).linkCount, 0)
    XCTAssertEqual(try fs.read(file, at: 9_990, count: 20),
                   [UInt8](repeating: 7, count: 10))
    _ = try fs.write(file, at: 10_000, [8])
    try fs.release(file)
    expectError(.notFound) { _ = try fs.attributes(of: file) }
    expectError(.notFound) { try fs.release(file) }

    // An unnamed file (O_TMPFILE) that gets a name survives its release.
    let temporary = try fs.createUnnamed(mode: 0o600, uid: 0, gid: 0)
    _ = try fs.write(temporary, at: 0, utf8("tmp"))
    try fs.link(temporary, as: utf8("kept"), in: root)
    try fs.release(temporary)
    XCTAssertEqual(try fs.contents(of: temporary), utf8("tmp"))

    // An orphan still open at a crash is freed by the next mount.
    let doomed = try fs.create(utf8("doomed"), in: root, mode: 0o100644,
                               uid: 0, gid: 0)
    _ = try fs.write(doomed, at: 0, [UInt8](repeating: 1, count: 50_000))
    try fs.acquire(doomed)
    try fs.unlink(utf8("doomed"), in: root)
    let unnamed = try fs.createUnnamed(mode: 0o600, uid: 0, gid: 0)
    _ = try fs.write(unnamed, at: 0, [1, 2, 3])
    try fs.sync()
    let live = fs.state.liveDataBytes
    device.powerCut(.dropUnflushed)
    fs = try mount(device, clock: clock)
    XCTAssertEqual(fs.recovery.releasedOrphans, 2)
    expectError(.notFound) { _ = try fs.attributes(of: doomed) }
    expectError(.notFound) { _ = try fs.attributes(of: unnamed) }
    XCTAssertEqual(fs.state.liveDataBytes, live - 50_003)
    XCTAssertEqual(try fs.contents(of: temporary), utf8("tmp"))
  }

  func testAttributesAndTimes() throws {
    let clock = TestClock()
    let device = try formatted(bytes: 4 << 20)
    var fs = try mount(device, clock: clock)
    let file = try fs.create(utf8("f"), in: FS.rootInode, mode: 0o100640,
                             uid: 5, gid: 6)
    let created = try fs.attributes(of: file)
    XCTAssertEqual(created.mode, 0o100640)
    XCTAssertEqual(created.accessTime, created.modificationTime)
    _ = try fs.write(file, at: 0, [1, 2, 3])
    let written = try fs.attributes(of: file)
    XCTAssertNotEqual(written.modificationTime, created.modificationTime)
    XCTAssertEqual(written.modificationTime, written.changeTime)
    XCTAssertEqual(written.accessTime, created.accessTime,
                   "reads and writes leave atime alone")
    _ = try fs.read(file, at: 0, count: 3)
    XCTAssertEqual(try fs.attributes(of: file).accessTime,
                   created.accessTime)

    let when = Timestamp(seconds: 1234, nanoseconds: 5678)
    let changed = try fs.setAttributes(file, AttributeChanges(
      mode: 0o104755, uid: 0, gid: 0, accessTime: when,
      modificationTime: when))
    XCTAssertEqual(changed.mode, 0o104755)
    XCTAssertEqual(changed.uid, 0)
    XCTAssertEqual(changed.accessTime, when)
    XCTAssertEqual(changed.modificationTime, when)
    XCTAssertNotEqual(changed.changeTime, written.changeTime)
    // Type bits cannot be changed through setattr.
    let kept = try fs.setAttributes(file, AttributeChanges(mode: 0o040777))
    XCTAssertEqual(kept.mode, 0o100777)
    XCTAssertEqual(kept.kind, .regular)

    let before = try fs.attributes(of: file)
    try fs.sync()
    device.powerCut(.dropUnflushed)
    fs = try mount(device, clock: clock)
    XCTAssertEqual(try fs.attributes(of: file), before)
  }

  // MARK: - File data

  func testSparseFilesAndTruncate() throws {
    let clock = TestClock()
    let device = try formatted(bytes: 8 << 20)
    var fs = try mount(device, clock: clock)
    let file = try fs.create(utf8("sparse"), in: FS.rootInode,
                             mode: 0o100644, uid: 0, gid: 0)
    let tail = [UInt8](repeating: 0xEE, count: 5000)
    XCTAssertEqual(try fs.write(file, at: 3 << 20, tail), 5000)
    var attributes = try fs.attributes(of: file)
    XCTAssertEqual(attributes.size, (3 << 20) + 5000)
    XCTAssertEqual(attributes.blocks, (5000 + 511) / 512,
                   "holes take no space")
    XCTAssertEqual(try fs.read(file, at: 1 << 20, count: 4096),
                   [UInt8](repeating: 0, count: 4096))
    XCTAssertEqual(try fs.read(file, at: (3 << 20) - 2, count: 4),
                   [0, 0, 0xEE, 0xEE])
    XCTAssertEqual(try fs.read(file, at: (3 << 20) + 4998, count: 100),
                   [0xEE, 0xEE], "reads stop at end of file")
    XCTAssertEqual(try fs.read(file, at: 10 << 20, count: 10), [])

    // Shrinking into the data, then growing: the cut part reads as zero,
    // not as the old bytes.
    _ = try fs.write(file, at: 0, [UInt8](repeating: 0x11, count: 10_000))
    try fs.truncate(file, to: 6_000)
    XCTAssertEqual(try fs.attributes(of: file).size, 6_000)
    try fs.truncate(file, to: 20_000)
    XCTAssertEqual(try fs.read(file, at: 5_998, count: 4), [0x11, 0x11, 0, 0])
    XCTAssertEqual(try fs.read(file, at: 6_000, count: 14_000),
                   [UInt8](repeating: 0, count: 14_000))
    attributes = try fs.attributes(of: file)
    XCTAssertEqual(attributes.size, 20_000)
    XCTAssertEqual(attributes.blocks, (6_000 + 511) / 512)
    try fs.truncate(file, to: 0)
    XCTAssertEqual(fs.state.liveDataBytes, 0)

    _ = try fs.write(file, at: 100, [1, 2, 3])
    try fs.truncate(file, to: 1 << 26)
    let before = try digest(fs)
    try fs.unmount()
    fs = try mount(device, clock: clock)
    XCTAssertEqual(try digest(fs), before)
    XCTAssertEqual(try fs.read(file, at: 98, count: 7), [0, 0, 1, 2, 3, 0, 0])
  }

  func testBigFileRandomWritesMatchModel() throws {
    let clock = TestClock()
    let device = try formatted(bytes: 32 << 20)
    var fs = try mount(device, clock: clock)
    let file = try fs.create(utf8("big"), in: FS.rootInode, mode: 0o100644,
                             uid: 0, gid: 0)
    var random = SplitMix64(seed: 42)
    var model = randomBytes(3 << 20, &random)
    XCTAssertEqual(try fs.write(file, at: 0, model), model.count)
    for step in 0..<300 {
      let length = Int(random.next() % 48_000) + 1
      let offset = Int(random.next() % UInt64(model.count + 20_000))
      let bytes = randomBytes(length, &random)
      if offset + length > model.count {
        model += [UInt8](repeating: 0, count: offset + length - model.count)
      }
      model.replaceSubrange(offset..<(offset + length), with: bytes)
      XCTAssertEqual(try fs.write(file, at: UInt64(offset), bytes), length)
      if step % 50 == 49 {
        let at = Int(random.next() % UInt64(model.count))
        let count = min(200_000, model.count - at)
        XCTAssertEqual(try fs.read(file, at: UInt64(at), count: count),
                       Array(model[at..<(at + count)]), "step \(step)")
      }
    }
    XCTAssertEqual(try fs.contents(of: file), model)
    XCTAssertLessThanOrEqual(fs.state.liveDataBytes, UInt64(model.count))
    try fs.sync()
    device.powerCut(.dropUnflushed)
    fs = try mount(device, clock: clock)
    XCTAssertEqual(try fs.contents(of: file), model)
    try fs.unmount()
    fs = try mount(device, clock: clock)
    XCTAssertEqual(try fs.contents(of: file), model)
    // Sequential appends coalesce into few records and extents.
    let log = try fs.create(utf8("log"), in: FS.rootInode, mode: 0o100644,
                            uid: 0, gid: 0)
    for index in 0..<256 {
      _ = try fs.write(log, at: UInt64(index * 4096),
                       [UInt8](repeating: UInt8(index), count: 4096))
    }
    XCTAssertLessThan(try fs.state.inode(log).extents.count, 10)
  }

  func testManyFilesAndDirectories() throws {
    let clock = TestClock()
    let device = try formatted(bytes: 16 << 20)
    var fs = try mount(device, clock: clock)
    var directories: [InodeNumber] = []
    for index in 0..<40 {
      directories.append(try fs.makeDirectory(
        utf8("dir\(index)"), in: FS.rootInode, mode: 0o755, uid: 0, gid: 0))
    }
    for index in 0..<2000 {
      let directory = directories[index % directories.count]
      let file = try fs.create(utf8("file-\(index)"), in: directory,
                               mode: 0o100644, uid: 0, gid: 0)
      _ = try fs.write(file, at: 0, utf8("contents of \(index)"))
    }
    XCTAssertEqual(try fs.attributes(of: FS.rootInode).linkCount, 42)
    try fs.unmount()
    fs = try mount(device, clock: clock)
    for index in stride(from: 0, to: 2000, by: 1) {
      let directory = directories[index % directories.count]
      let file = try fs.lookup(utf8("file-\(index)"), in: directory)
      XCTAssertEqual(try fs.contents(of: file), utf8("contents of \(index)"))
    }
    for index in stride(from: 0, to: 2000, by: 2) {
      try fs.unlink(utf8("file-\(index)"),
                    in: directories[index % directories.count])
    }
    let before = try digest(fs)
    try fs.sync()
    device.powerCut(.dropUnflushed)
    fs = try mount(device, clock: clock)
    XCTAssertEqual(try digest(fs), before)
    XCTAssertEqual(try fs.readDirectory(directories[1], after: 0).count, 50)
    XCTAssertEqual(try fs.readDirectory(directories[0], after: 0).count, 0)
  }

  func testCheckpointSizeIsExact() throws {
    // The space accounting relies on encodedSize being the exact length.
    let fs = try mount(try formatted(bytes: 8 << 20), clock: TestClock())
    var random = SplitMix64(seed: 7)
    let root = FS.rootInode
    let dir = try fs.makeDirectory(utf8("d"), in: root, mode: 0o755,
                                   uid: 0, gid: 0)
    _ = try fs.makeSymlink(utf8("s"), in: dir, target: utf8("../x/y/z"),
                           uid: 0, gid: 0)
    for index in 0..<50 {
      let file = try fs.create(utf8("f\(index)"), in: index % 2 == 0 ? root
                               : dir, mode: 0o100644, uid: 0, gid: 0)
      for _ in 0..<Int(random.next() % 6) {
        _ = try fs.write(file, at: random.next() % 100_000,
                         randomBytes(Int(random.next() % 3000) + 1, &random))
      }
      XCTAssertEqual(fs.state.encodedSize,
                     fs.state.encodeCheckpoint(generation: 1).count)
    }
    for index in stride(from: 0, to: 50, by: 3) {
      try fs.unlink(utf8("f\(index)"), in: index % 2 == 0 ? root : dir)
    }
    XCTAssertEqual(fs.state.encodedSize,
                   fs.state.encodeCheckpoint(generation: 1).count)
  }

  // MARK: - A random sequence of operations against a model

  func testRandomOperationsMatchModel() throws {
    for seed: UInt64 in [1, 2, 3] {
      try runModelSequence(seed: seed, steps: 2000)
    }
  }

  private func runModelSequence(seed: UInt64, steps: Int) throws {
    let clock = TestClock()
    // A small device, so that the sequence also cleans segments; files
    // stay under about 30 KB, so it never fills up.
    let device = try formatted(bytes: 2 << 20, segmentSize: 64 * 1024)
    var fs = try mount(device, clock: clock)
    let model = Model()
    var random = SplitMix64(seed: seed)
    var cleaned = 0
    let pool = ["a", "b", "c", "d", "e", "f"].map(utf8)

    for step in 0..<steps {
      let directory = model.randomDirectory(&random)
      let entry = pool[Int(random.next() % UInt64(pool.count))]
      let choice = random.next() % 100
      let expected: FSError?
      let context = "seed \(seed) step \(step) choice \(choice)"
      do {
        switch choice {
        case 0..<14:
          expected = model.checkCreate(entry, in: directory)
          let inode = try fs.create(entry, in: directory, mode: 0o100644,
                                    uid: 0, gid: 0)
          model.add(inode, .regular, entry, in: directory)
        case 14..<20:
          expected = model.checkCreate(entry, in: directory)
          let inode = try fs.makeDirectory(entry, in: directory, mode: 0o755,
                                           uid: 0, gid: 0)
          model.add(inode, .directory, entry, in: directory)
        case 20..<23:
          expected = model.checkCreate(entry, in: directory)
          let target = utf8("t\(step)")
          let inode = try fs.makeSymlink(entry, in: directory,
                                         target: target, uid: 0, gid: 0)
          model.add(inode, .symlink, entry, in: directory)
          model.nodes[inode]!.data = target
        case 23..<50:
          expected = nil
          guard let file = model.randomFile(&random) else { continue }
          let size = model.nodes[file]!.data.count
          let offset = Int(random.next() % UInt64(min(size + 3000, 22_000)))
          let bytes = randomBytes(Int(random.next() % 8000) + 1, &random)
          XCTAssertEqual(try fs.write(file, at: UInt64(offset), bytes),
                         bytes.count, context)
          model.write(file, at: offset, bytes)
        case 50..<56:
          expected = nil
          guard let file = model.randomFile(&random) else { continue }
          let size = Int(random.next()
                         % UInt64(min(model.nodes[file]!.data.count * 2 + 100,
                                      30_000)))
          try fs.truncate(file, to: UInt64(size))
          model.truncate(file, to: size)
        case 56..<66:
          expected = model.checkUnlink(entry, in: directory)
          try fs.unlink(entry, in: directory)
          model.remove(entry, in: directory)
        case 66..<71:
          expected = model.checkRemoveDirectory(entry, in: directory)
          try fs.removeDirectory(entry, in: directory)
          model.remove(entry, in: directory)
        case 71..<86:
          let target = model.randomDirectory(&random)
          let newName = pool[Int(random.next() % UInt64(pool.count))]
          let mode = [RenameMode.replace, .replace, .noReplace, .exchange][
            Int(random.next() % 4)]
          expected = model.checkRename(entry, in: directory, to: newName,
                                       in: target, mode: mode)
          try fs.rename(entry, in: directory, to: newName, in: target,
                        mode: mode)
          model.rename(entry, in: directory, to: newName, in: target,
                       mode: mode)
        case 86..<91:
          guard let file = model.randomNonDirectory(&random) else {
            continue
          }
          expected = model.checkCreate(entry, in: directory)
          try fs.link(file, as: entry, in: directory)
          model.nodes[directory]!.children[entry] = file
        case 91..<95:
          expected = nil
          guard let file = model.randomFile(&random) else { continue }
          let mode = UInt32(random.next() % 0o7777)
          try fs.setAttributes(file, AttributeChanges(mode: mode))
          model.nodes[file]!.mode = mode
        default:
          expected = nil
          try fs.sync()
          cleaned += fs.counters.cleanedSegments
          if random.next() % 2 == 0 {
            try fs.unmount()
          } else {
            device.powerCut(.dropUnflushed)
          }
          fs = try mount(device, clock: clock)
          try model.check(fs, context)
        }
        XCTAssertNil(expected, "\(context): succeeded, model expected error")
        if expected != nil { return }
      } catch let error as FSError {
        // The filesystem refused: the model must have refused the same
        // way, and nothing may have changed.
        XCTAssertEqual(error, model.lastExpectation, context)
        if error != model.lastExpectation { return }
      }
    }
    try model.check(fs, "seed \(seed) end")
    XCTAssertGreaterThan(cleaned + fs.counters.cleanedSegments, 0,
                         "seed \(seed): the sequence should clean")
  }

  // MARK: - Power cuts

  /// Runs a workload with a random mix of operations and fsyncs,
  /// recording the device's requests, the live digest after every
  /// operation and how many requests each operation had issued by its
  /// end.
  private struct RecordedRun {
    var initialImage: [UInt8]
    var requests: [DeviceRequest]
    /// digests[i]: the state after i operations.
    var digests: [String]
    /// requestsAfter[i]: requests issued when operation i had finished.
    var requestsAfter: [Int]
    var counters: MaintenanceCounters
  }

  private func recordWorkload(device: MemoryBlockDevice, seed: UInt64,
                              operations: Int, maxWrite: Int, files: Int,
                              coldWrites: Int = 0) throws -> RecordedRun {
    let clock = TestClock()
    let fs = try mount(device, clock: clock)
    let initial = device.durableContents
    device.isRecording = true
    var run = RecordedRun(initialImage: initial, requests: [],
                          digests: [try digest(fs)], requestsAfter: [0],
                          counters: MaintenanceCounters())
    var random = SplitMix64(seed: seed)
    let root = FS.rootInode
    let names = (0..<files).map { utf8("file\($0)") }
    // A file written once and left alone: its data sits in segments the
    // others fill with garbage, so the cleaner has live data to move.
    let cold = try fs.create(utf8("cold"), in: root, mode: 0o100644,
                             uid: 0, gid: 0)
    run.digests.append(try digest(fs))
    run.requestsAfter.append(device.requests.count)
    for index in 0..<coldWrites {
      _ = try fs.write(cold, at: UInt64(index * 4000),
                       randomBytes(4000, &random))
      run.digests.append(try digest(fs))
      run.requestsAfter.append(device.requests.count)
    }
    for _ in 0..<operations {
      let target = names[Int(random.next() % UInt64(names.count))]
      do {
        switch random.next() % 100 {
        case 0..<55:
          // One filesystem call per step: create, or else write.
          guard let file = try? fs.lookup(target, in: root) else {
            _ = try fs.create(target, in: root, mode: 0o100644, uid: 0,
                              gid: 0)
            break
          }
          if try fs.attributes(of: file).kind == .regular {
            let size = try fs.attributes(of: file).size
            let offset = random.next() % (size + 2048)
            _ = try fs.write(file, at: offset,
                             randomBytes(Int(random.next()
                                             % UInt64(maxWrite)) + 1,
                                         &random))
          }
        case 55..<61:
          try fs.unlink(target, in: root)
        case 61..<68:
          let other = names[Int(random.next() % UInt64(names.count))]
          try fs.rename(target, in: root, to: other, in: root,
                        mode: random.next() % 3 == 0 ? .exchange : .replace)
        case 68..<74:
          let file = try fs.lookup(target, in: root)
          try fs.truncate(file, to: random.next() % 20_000)
        case 74..<77:
          _ = try fs.makeDirectory(target, in: root, mode: 0o755,
                                   uid: 0, gid: 0)
        case 77..<80:
          try fs.removeDirectory(target, in: root)
        case 80..<84:
          let file = try fs.lookup(target, in: root)
          let other = names[Int(random.next() % UInt64(names.count))]
          try fs.link(file, as: other, in: root)
        default:
          try fs.fsync(root)
        }
      } catch let error as FSError {
        // Refused operations change nothing; they still count as steps.
        // Running out of room or failing would be a bug here.
        let expected: [FSError] = [.notFound, .exists, .isDirectory,
                                   .notDirectory, .notPermitted, .notEmpty]
        XCTAssertTrue(expected.contains(error), "workload: \(error)")
      }
      run.digests.append(try digest(fs))
      run.requestsAfter.append(device.requests.count)
    }
    run.requests = device.requests
    run.counters = fs.counters
    device.isRecording = false
    return run
  }

  /// Mounts `image` and checks it holds the state after some operation
  /// k with `durable <= k <= possible`. Returns that k.
  @discardableResult
  private func checkRecovered(
    _ image: [UInt8], blockSize: Int, run: RecordedRun, durable: Int,
    possible: Int, _ context: String
  ) -> Int? {
    let device = MemoryBlockDevice(blockSize: blockSize, image: image)
    do {
      let fs = try mount(device, clock: TestClock(), readOnly: true)
      let found = try digest(fs)
      let lower = min(durable, run.digests.count - 1)
      let upper = min(possible, run.digests.count - 1)
      for k in stride(from: upper, through: lower, by: -1)
      where run.digests[k] == found {
        return k
      }
      XCTFail("\(context): recovered a state that is not one of operations "
              + "\(durable)...\(possible)")

    } catch {
      XCTFail("\(context): mount failed: \(error)")
    }
    return nil
  }

  /// The number of operations whose records a flush at request index
  /// `flush` made durable.
  private func durableOperations(_ run: RecordedRun, lastFlush: Int?) -> Int {
    guard let lastFlush else { return 0 }
    var count = 0
    for (index, issued) in run.requestsAfter.enumerated()
    where issued <= lastFlush {
      count = index
    }
    return count
  }

  /// The most operations whose records can be in the first `requests`
  /// requests: operation i writes nothing before operation i-1 ended.
  private func possibleOperations(_ run: RecordedRun, requests: Int) -> Int {
    var count = 0
    for index in 1..<run.requestsAfter.count
    where run.requestsAfter[index - 1] < requests {
      count = index
    }
    return count
  }

  private func apply(_ request: DeviceRequest, to image: inout [UInt8],
                     blockSize: Int, bytes limit: Int? = nil) {
    guard case let .write(block, bytes) = request else { return }
    let count = min(limit ?? bytes.count, bytes.count)
    let start = Int(block) * blockSize
    image.replaceSubrange(start..<(start + count), with: bytes[0..<count])
  }

  /// Every record boundary in a log that never reused a segment, found by
  /// walking the chain from the first record.
  private func recordBoundaries(_ device: MemoryBlockDevice,
                                geometry: Geometry) throws -> [UInt64] {
    var cursor = LogCursor(device: device, geometry: geometry,
                           volumeID: 0x5EED_F00D)
    var position = geometry.segmentStart(0)
    var sequence: UInt64 = 1
    var previous: UInt32 = 0
    var ends: [UInt64] = []
    while let record = try cursor.nextRecord(
      at: position, sequence: sequence, previous: previous) {
      ends.append(record.address)
      ends.append(record.address + UInt64(RecordHeader.size)
                  + UInt64(record.header.length))
      if record.type == .segmentLink,
         case let .segmentLink(next) = try LogOperation.decode(
           type: .segmentLink, payload: record.payload) {
        position = geometry.segmentStart(next)
      } else {
        position = record.next
      }
      sequence += 1
      previous = record.header.checksum
    }
    return ends
  }

  func testPowerCutAtEveryWriteAndRecordBoundary() throws {
    let blockSize = 512
    let device = try formatted(blockSize: blockSize, bytes: 1 << 20,
                               segmentSize: 64 * 1024)
    let run = try recordWorkload(device: device, seed: 11, operations: 250,
                                 maxWrite: 3000, files: 6)
    // Walking the log from its first record needs segments never reused.
    XCTAssertEqual(run.counters.cleanedSegments, 0)
    let geometry = try mount(device, clock: TestClock(),
                             readOnly: true).geometry
    let boundaries = try recordBoundaries(device, geometry: geometry)
    XCTAssertGreaterThan(boundaries.count, 150)

    // Which request last wrote each block, and where each write starts.
    var writer: [UInt64: Int] = [:]
    for (index, request) in run.requests.enumerated() {
      if case let .write(block, bytes) = request {
        for offset in 0..<(bytes.count / blockSize) {
          writer[block + UInt64(offset)] = index
        }
      }
    }

    var image = run.initialImage
    var lastFlush: Int?
    var checks = 0
    var tears: [Int: Set<Int>] = [:]
    for address in boundaries {
      let block = address / UInt64(blockSize)
      guard let index = writer[block],
            case let .write(first, _) = run.requests[index] else { continue }
      let offset = Int(address - first * UInt64(blockSize))
      tears[index, default: []].insert(offset)
    }
    for (index, request) in run.requests.enumerated() {
      // Power lost before request `index`.
      let durable = durableOperations(run, lastFlush: lastFlush)
      checkRecovered(image, blockSize: blockSize, run: run, durable: durable,
                     possible: possibleOperations(run, requests: index),
                     "cut before request \(index)")
      checks += 1
      if case let .write(_, bytes) = request {
        // Torn inside this write: at every block boundary, at every
        // record boundary, and halfway into its first block.
        var cuts = Set(stride(from: blockSize, to: bytes.count,
                              by: blockSize))
        cuts.formUnion(tears[index] ?? [])
        cuts.insert(blockSize / 2)
        for cut in cuts.sorted() where cut > 0 && cut < bytes.count {
          var torn = image
          apply(request, to: &torn, blockSize: blockSize, bytes: cut)
          checkRecovered(torn, blockSize: blockSize, run: run,
                         durable: durable,
                         possible: possibleOperations(run,
                                                      requests: index + 1),
                         "torn request \(index) at byte \(cut)")
          checks += 1
        }
      } else {
        lastFlush = index
      }
      apply(request, to: &image, blockSize: blockSize)
    }
    checkRecovered(image, blockSize: blockSize, run: run,
                   durable: durableOperations(run, lastFlush: lastFlush),
                   possible: run.digests.count - 1, "after all requests")
    XCTAssertGreaterThan(checks, 500)
  }

  func testPowerCutsWhileCleaning() throws {
    // Big blocks and a device small enough that overwriting the files
    // forces checkpoints and cleaning during the workload.
    let blockSize = 4096
    let device = try formatted(blockSize: blockSize, bytes: 768 << 10,
                               segmentSize: 64 * 1024)
    // Writes stay within a page, which the filesystem never splits.
    let run = try recordWorkload(device: device, seed: 23, operations: 900,
                                 maxWrite: 4096, files: 4, coldWrites: 12)
    XCTAssertGreaterThan(run.counters.cleanedSegments, 3)
    XCTAssertGreaterThan(run.counters.movedBytes, 0)
    XCTAssertGreaterThan(run.counters.checkpoints, 3)

    var image = run.initialImage
    var lastFlush: Int?
    var random = SplitMix64(seed: 99)
    var flushedImage = image
    for (index, request) in run.requests.enumerated() {
      let durable = durableOperations(run, lastFlush: lastFlush)
      let possible = possibleOperations(run, requests: index)
      checkRecovered(image, blockSize: blockSize, run: run, durable: durable,
                     possible: possible, "cut before request \(index)")
      if case let .write(_, bytes) = request {
        for cut in stride(from: blockSize, to: bytes.count, by: blockSize) {
          var torn = image
          apply(request, to: &torn, blockSize: blockSize, bytes: cut)
          checkRecovered(torn, blockSize: blockSize, run: run,
                         durable: durable,
                         possible: possibleOperations(run,
                                                      requests: index + 1),
                         "torn request \(index) at byte \(cut)")
        }
      } else {
        // Writes since the previous flush may have reached the disk in
        // any order: keep a random half of their blocks.
        for variant in 0..<2 {
          var shuffled = flushedImage
          var start = 0
          if let lastFlush { start = lastFlush + 1 }
          for earlier in start..<index {
            guard case let .write(block, bytes) = run.requests[earlier]
            else { continue }
            for part in 0..<(bytes.count / blockSize)
            where random.next() % 2 == 0 {
              let at = (Int(block) + part) * blockSize
              shuffled.replaceSubrange(
                at..<(at + blockSize),
                with: bytes[(part * blockSize)..<((part + 1) * blockSize)])
            }
          }
          checkRecovered(shuffled, blockSize: blockSize, run: run,
                         durable: durable, possible: possible,
                         "reordered writes before flush \(index) #\(variant)")
        }
        lastFlush = index
      }
      apply(request, to: &image, blockSize: blockSize)
      if case .flush = request { flushedImage = image }
    }
  }

  func testWritingAfterRecoveryAndCrashingAgain() throws {
    // A power cut keeps a random half of the blocks written since the
    // last flush, so valid records of the lost timeline lie beyond the
    // hole where recovery stops. The recovered filesystem then writes
    // over and past them and loses power again: the second recovery must
    // find its own records and never the stale ones.
    let blockSize = 512
    let device = try formatted(blockSize: blockSize, bytes: 1 << 20,
                               segmentSize: 64 * 1024)
    let run = try recordWorkload(device: device, seed: 5, operations: 200,
                                 maxWrite: 5000, files: 4)
    var flushed = run.initialImage
    var image = run.initialImage
    var lastFlush: Int?
    var random = SplitMix64(seed: 3)
    var rounds = 0
    for (index, request) in run.requests.enumerated() {
      defer { apply(request, to: &image, blockSize: blockSize) }
      guard case .flush = request else { continue }
      defer {
        flushed = image
        apply(request, to: &flushed, blockSize: blockSize)
        lastFlush = index
      }
      var lossy = flushed
      var dropped = 0
      for earlier in (lastFlush.map { $0 + 1 } ?? 0)..<index {
        guard case let .write(block, bytes) = run.requests[earlier]
        else { continue }
        for part in 0..<(bytes.count / blockSize) {
          guard random.next() % 2 == 0 else {
            dropped += 1
            continue
          }
          let at = (Int(block) + part) * blockSize
          lossy.replaceSubrange(
            at..<(at + blockSize),
            with: bytes[(part * blockSize)..<((part + 1) * blockSize)])
        }
      }
      guard dropped > 0 else { continue }
      rounds += 1
      checkRecovered(lossy, blockSize: blockSize, run: run,
                     durable: durableOperations(run, lastFlush: lastFlush),
                     possible: possibleOperations(run, requests: index),
                     "lost blocks before flush \(index)")

      let crashed = MemoryBlockDevice(blockSize: blockSize, image: lossy)
      let clock = TestClock()
      clock.ticks += 10_000_000
      var fs = try mount(crashed, clock: clock)
      let file = try fs.create(utf8("second\(index)"), in: FS.rootInode,
                               mode: 0o100644, uid: 0, gid: 0)
      _ = try fs.write(file, at: 0, randomBytes(1500, &random))
      try fs.fsync(file)
      var later = [try digest(fs)]
      for step in 0..<3 {
        _ = try fs.write(file, at: UInt64(step * 700),
                         randomBytes(900, &random))
        later.append(try digest(fs))
      }
      crashed.powerCut(.keepRandomBlocks(seed: UInt64(index)))
      fs = try mount(crashed, clock: clock, readOnly: true)
      XCTAssertTrue(later.contains(try digest(fs)), "flush \(index)")
    }
    XCTAssertGreaterThan(rounds, 20)
  }

  func testStaleRecordOfALostTimelineIsNotReplayed() throws {
    // The exact case the chain of checksums exists for. Timeline A logs
    // a write r1 of exactly two blocks and then a create r2; the block
    // holding r1's start is lost. Recovery stops before r1, and timeline
    // B logs a write of the same size at the same place, so r2, still on
    // the disk, sits right where B's next record would go and carries
    // the next sequence number. Only its `previous` field gives it away.
    let clock = TestClock()
    let device = try formatted(blockSize: 512, bytes: 1 << 20)
    var fs = try mount(device, clock: clock)
    let file = try fs.create(utf8("f"), in: FS.rootInode, mode: 0o100644,
                             uid: 0, gid: 0)
    try fs.sync()
    let start = Int(fs.writer.head)
    XCTAssertEqual(start % 512, 0)
    // 32-byte header + 960 bytes + 32-byte trailer: 1024 bytes.
    _ = try fs.write(file, at: 0, [UInt8](repeating: 0xAA, count: 960))
    _ = try fs.create(utf8("stale"), in: FS.rootInode, mode: 0o100644,
                      uid: 0, gid: 0)
    try fs.sync()

    var image = device.durableContents
    image.replaceSubrange(start..<(start + 512),
                          with: [UInt8](repeating: 0, count: 512))
    let lossy = MemoryBlockDevice(blockSize: 512, image: image)
    fs = try mount(lossy, clock: clock)
    XCTAssertEqual(try fs.attributes(of: file).size, 0)
    XCTAssertEqual(Int(fs.writer.head), start)
    _ = try fs.write(file, at: 0, [UInt8](repeating: 0xBB, count: 960))
    try fs.sync()
    XCTAssertEqual(Int(fs.writer.head), start + 1024)
    let expected = try digest(fs)

    lossy.powerCut(.dropUnflushed)
    fs = try mount(lossy, clock: clock)
    XCTAssertEqual(try digest(fs), expected)
    XCTAssertThrowsError(try fs.lookup(utf8("stale"), in: FS.rootInode))
  }

  // MARK: - Corruption

  /// An image with two checkpoints and a log after the newer one, and the
  /// digest after every operation that built it.
  private func corruptionSubject() throws
    -> (image: [UInt8], digests: [String], logEnd: Int)
  {
    let device = try formatted(bytes: 1 << 20, segmentSize: 64 * 1024)
    let clock = TestClock()
    var fs = try mount(device, clock: clock)
    var digests = [try digest(fs)]
    var random = SplitMix64(seed: 17)
    let root = FS.rootInode
    for round in 0..<2 {
      for index in 0..<12 {
        let file = try fs.create(utf8("r\(round)f\(index)"), in: root,
                                 mode: 0o100644, uid: 0, gid: 0)
        digests.append(try digest(fs))
        _ = try fs.write(file, at: 0,
                         randomBytes(Int(random.next() % 3000) + 1, &random))
        digests.append(try digest(fs))
      }
      if round == 0 {
        try fs.unmount()
        fs = try mount(device, clock: clock)
      }
    }
    try fs.sync()
    XCTAssertEqual(fs.volume.generation, 2)
    let logEnd = Int(fs.writer.head)
    return (device.durableContents, digests, logEnd)
  }

  func testSpecificCorruptions() throws {
    let subject = try corruptionSubject()
    let final = subject.digests.last!

    func mountCopy(_ change: (inout [UInt8]) -> Void) throws -> FS {
      var image = subject.image
      change(&image)
      return try mount(MemoryBlockDevice(blockSize: 512, image: image),
                       clock: TestClock(), readOnly: true)
    }

    // Newest superblock (generation 2, slot 0) damaged: the older one's
    // checkpoint and the log after it give the same state.
    var fs = try mountCopy { $0[70] ^= 0x10 }
    XCTAssertEqual(fs.recovery.generation, 1)
    XCTAssertEqual(try digest(fs), final)

    // Newest checkpoint damaged: fall back to the older superblock, whose
    // log runs through the damaged checkpoint and beyond.
    let intact = try mountCopy { _ in }
    let newest = Int(intact.checkpointAddress)
    fs = try mountCopy { $0[newest + 200] ^= 0x01 }
    XCTAssertTrue(fs.recovery.usedOlderSuperblock)
    XCTAssertEqual(try digest(fs), final)

    // A checksummed superblock of a newer format version: this code must
    // refuse, not fall back to the older state beside it.
    XCTAssertThrowsError(try mountCopy { image in
      image[12] = 2
      storeLittleEndian(CRC32C.checksum(Array(image[4..<Superblock.size])),
                        into: &image, at: 0)
    }) { XCTAssertEqual($0 as? FSError, .unsupportedVersion(2)) }

    // Both superblocks gone.
    XCTAssertThrowsError(try mountCopy {
      $0[8] ^= 1
      $0[4096 + 8] ^= 1
    }) { XCTAssertEqual($0 as? FSError, .corrupted("no valid superblock")) }

    // A record after the checkpoint damaged: mount stops there, with an
    // earlier state that really existed.
    fs = try mountCopy { $0[subject.logEnd - 600] ^= 0x40 }
    let found = try digest(fs)
    XCTAssertNotEqual(found, final)
    XCTAssertTrue(subject.digests.contains(found))

    // File data inside a checkpointed record damaged: the read reports it.
    fs = try mountCopy { _ in }
    let file = try fs.lookup(utf8("r0f3"), in: FS.rootInode)
    let extent = try fs.state.inode(file).extents.extents[0]
    fs = try mountCopy { $0[Int(extent.address) + 5] ^= 0x80 }
    expectError(.corrupted("file data fails its checksum")) {
      _ = try fs.contents(of: file)
    }
  }

  func testRandomCorruptionsNeverTrap() throws {
    let subject = try corruptionSubject()
    let known = Set(subject.digests)
    var random = SplitMix64(seed: 2024)
    var outcomes: [String: Int] = [:]
    for iteration in 0..<3000 {
      var image = subject.image
      let flips = Int(random.next() % 3) + 1
      for _ in 0..<flips {
        let offset: Int
        switch random.next() % 10 {
        case 0: offset = Int(random.next() % 128)
        case 1: offset = 4096 + Int(random.next() % 128)
        default:
          offset = 8192 + Int(random.next() % UInt64(subject.logEnd - 8192))
        }
        image[offset] ^= UInt8(1 << (random.next() % 8))
      }
      let device = MemoryBlockDevice(blockSize: 512, image: image)
      do {
        let fs = try mount(device, clock: TestClock(),
                           readOnly: iteration % 10 != 0)
        do {
          let found = try digest(fs)
          XCTAssertTrue(known.contains(found),
                        "iteration \(iteration): a state that never existed")
          outcomes[found == subject.digests.last! ? "same" : "earlier",
                   default: 0] += 1
          if !fs.isReadOnly {
            // A recovered filesystem takes changes and mounts again.
            let file = try fs.create(utf8("after"), in: FS.rootInode,
                                     mode: 0o100644, uid: 0, gid: 0)
            _ = try fs.write(file, at: 0, [1, 2, 3])
            try fs.unmount()
            let again = try mount(device, clock: TestClock())
            XCTAssertEqual(try again.contents(of: file), [1, 2, 3])
          }
        } catch let error as FSError {
          guard case .corrupted = error else {
            XCTFail("iteration \(iteration): \(error)")
            continue
          }
          outcomes["bad data reported", default: 0] += 1
        }
      } catch let error as FSError {
        switch error {
        case .corrupted, .unsupportedVersion:
          outcomes["refused", default: 0] += 1
        default:
          XCTFail("iteration \(iteration): unexpected \(error)")
        }
      }
    }
    XCTAssertGreaterThan(outcomes["same"] ?? 0, 0)
    XCTAssertGreaterThan(outcomes["earlier"] ?? 0, 0)
    XCTAssertGreaterThan(outcomes["refused"] ?? 0, 0)
    XCTAssertGreaterThan(outcomes["bad data reported"] ?? 0, 0)
  }

  // MARK: - Space

  func testCleaningReclaimsSpace() throws {
    let clock = TestClock()
    let device = try formatted(bytes: 2 << 20, segmentSize: 64 * 1024)
    var fs = try mount(device, clock: clock)
    var random = SplitMix64(seed: 8)
    var files: [InodeNumber] = []
    var models: [[UInt8]] = []
    for index in 0..<4 {
      let file = try fs.create(utf8("f\(index)"), in: FS.rootInode,
                               mode: 0o100644, uid: 0, gid: 0)
      let bytes = randomBytes(150_000, &random)
      _ = try fs.write(file, at: 0, bytes)
      files.append(file)
      models.append(bytes)
    }
    // 40 rounds overwrite every file: about 4 MB through a 2 MiB disk.
    for round in 0..<40 {
      for (index, file) in files.enumerated() {
        let offset = Int(random.next() % 100_000)
        let bytes = randomBytes(Int(random.next() % 50_000) + 1, &random)
        XCTAssertEqual(try fs.write(file, at: UInt64(offset), bytes),
                       bytes.count, "round \(round)")
        models[index].replaceSubrange(offset..<(offset + bytes.count),
                                      with: bytes)
        if round % 9 == 0 { try fs.fsync(file) }
      }
    }
    XCTAssertGreaterThan(fs.counters.cleanedSegments, 30)
    XCTAssertGreaterThan(fs.counters.checkpoints, 5)
    for (index, file) in files.enumerated() {
      XCTAssertEqual(try fs.contents(of: file), models[index])
    }
    XCTAssertGreaterThan(fs.statfs().freeBlocks, 0)
    try fs.unmount()
    fs = try mount(device, clock: clock)
    for (index, file) in files.enumerated() {
      XCTAssertEqual(try fs.contents(of: file), models[index])
    }
  }

  func testFullDiskGivesNoSpaceAndRecovers() throws {
    let clock = TestClock()
    let device = try formatted(bytes: 1 << 20, segmentSize: 64 * 1024)
    var fs = try mount(device, clock: clock)
    var random = SplitMix64(seed: 4)
    var written: [(InodeNumber, [UInt8])] = []
    var refused = false
    for index in 0..<100 {
      let file: InodeNumber
      do {
        file = try fs.create(utf8("fill\(index)"), in: FS.rootInode,
                             mode: 0o100644, uid: 0, gid: 0)
      } catch FSError.noSpace {
        refused = true
        break
      }
      let bytes = randomBytes(40_000, &random)
      do {
        let count = try fs.write(file, at: 0, bytes)
        written.append((file, Array(bytes[0..<count])))
        if count < bytes.count {
          refused = true
          break
        }
      } catch FSError.noSpace {
        refused = true
        written.append((file, []))
        break
      }
    }
    XCTAssertTrue(refused)
    XCTAssertGreaterThan(written.count, 10)
    // statfs agrees: less room than the refused 40 000 bytes is left.
    XCTAssertLessThan(fs.statfs().availableBlocks, 10)
    for (file, bytes) in written {
      XCTAssertEqual(try fs.contents(of: file), bytes)
    }
    // Deleting makes room again, even on a full disk.
    for index in 0..<5 {
      try fs.unlink(utf8("fill\(index)"), in: FS.rootInode)
    }
    let again = try fs.create(utf8("again"), in: FS.rootInode,
                              mode: 0o100644, uid: 0, gid: 0)
    XCTAssertEqual(try fs.write(again, at: 0, randomBytes(100_000, &random)),
                   100_000)
    let before = try digest(fs)
    try fs.sync()
    device.powerCut(.dropUnflushed)
    fs = try mount(device, clock: clock)
    XCTAssertEqual(try digest(fs), before)
  }

  func testDeviceFailureStopsChanges() throws {
    let clock = TestClock()
    let device = try formatted(bytes: 4 << 20)
    var fs = try mount(device, clock: clock)
    let file = try fs.create(utf8("f"), in: FS.rootInode, mode: 0o100644,
                             uid: 0, gid: 0)
    _ = try fs.write(file, at: 0, [1, 2, 3])
    try fs.sync()
    let synced = try digest(fs)
    _ = try fs.write(file, at: 3, [4])
    device.writesBeforeFailure = 0
    expectError(.io) { try fs.sync() }
    expectError(.readOnly) { _ = try fs.write(file, at: 0, [9]) }
    expectError(.io) { try fs.sync() }
    XCTAssertEqual(try fs.contents(of: file), [1, 2, 3, 4])
    device.writesBeforeFailure = nil
    device.powerCut(.dropUnflushed)
    fs = try mount(device, clock: clock)
    XCTAssertEqual(try digest(fs), synced)
  }

  func testReadOnlyMountRefusesChanges() throws {
    let clock = TestClock()
    let device = try formatted(bytes: 4 << 20)
    var fs = try mount(device, clock: clock)
    let file = try fs.create(utf8("f"), in: FS.rootInode, mode: 0o100644,
                             uid: 0, gid: 0)
    _ = try fs.write(file, at: 0, [1])
    try fs.unmount()
    let writes = device.writeCount
    fs = try mount(device, clock: clock, readOnly: true)
    expectError(.readOnly) { _ = try fs.write(file, at: 0, [2]) }
    expectError(.readOnly) { try fs.unlink(utf8("f"), in: FS.rootInode) }
    XCTAssertEqual(try fs.contents(of: file), [1])
    try fs.sync()
    try fs.unmount()
    XCTAssertEqual(device.writeCount, writes)
  }

  // MARK: - Images

  func testBuildListAndReadImage() throws {
    let device = MemoryBlockDevice(blockSize: 512, blockCount: 8192)
    let time = Timestamp(seconds: 1_650_000_000, nanoseconds: 250)
    let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 * 31) }
    let entries = [
      ImageEntry(path: "/bin/app", mode: 0o755, modificationTime: time,
                 content: .file(big)),
      ImageEntry(path: "/etc", mode: 0o750, uid: 3, gid: 4,
                 modificationTime: time, content: .directory),
      ImageEntry(path: "/etc/app.conf", mode: 0o640, uid: 1000, gid: 1000,
                 modificationTime: Timestamp(seconds: 5),
                 content: .file(utf8("key=value\n"))),
      ImageEntry(path: "/etc/link", mode: 0o777, modificationTime: time,
                 content: .symlink(target: utf8("app.conf"))),
      ImageEntry(path: "/abs", mode: 0o777, modificationTime: time,
                 content: .symlink(target: utf8("/etc/link"))),
      ImageEntry(path: "/loop", mode: 0o777, modificationTime: time,
                 content: .symlink(target: utf8("/loop"))),
      ImageEntry(path: "/www/empty", mode: 0o644, modificationTime: time,
                 content: .file([])),
    ]
    try FS.buildImage(entries, on: device, options: FormatOptions(
      volumeID: 77, time: Timestamp(seconds: 1_000)))

    let fs = try mount(device, clock: TestClock(), readOnly: true)
    let listing = try fs.list()
    XCTAssertEqual(listing.map(\.pathDescription), [
      "/", "/abs", "/bin", "/bin/app", "/etc", "/etc/app.conf",
      "/etc/link", "/loop", "/www", "/www/empty",
    ])
    let byPath = Dictionary(uniqueKeysWithValues: listing.map {
      ($0.pathDescription, $0)
    })
    XCTAssertEqual(byPath["/bin"]?.attributes.mode, 0o40755)
    XCTAssertEqual(byPath["/bin"]?.attributes.uid, 0)
    XCTAssertEqual(byPath["/etc"]?.attributes.mode, 0o40750)
    XCTAssertEqual(byPath["/etc"]?.attributes.uid, 3)
    XCTAssertEqual(byPath["/etc"]?.attributes.modificationTime, time,
                   "directory times are set after their children")
    XCTAssertEqual(byPath["/etc/app.conf"]?.attributes.mode, 0o100640)
    XCTAssertEqual(byPath["/etc/app.conf"]?.attributes.gid, 1000)
    XCTAssertEqual(byPath["/etc/app.conf"]?.attributes.modificationTime,
                   Timestamp(seconds: 5))
    XCTAssertEqual(byPath["/bin/app"]?.attributes.size, 200_000)
    XCTAssertEqual(byPath["/etc/link"]?.target, utf8("app.conf"))

    XCTAssertEqual(try fs.contents(of: try fs.resolve(utf8("/bin/app"))), big)
    let conf = try fs.resolve(utf8("/etc/app.conf"))
    XCTAssertEqual(try fs.resolve(utf8("/abs")), conf)
    XCTAssertEqual(try fs.resolve(utf8("etc/./link")), conf)
    XCTAssertEqual(try fs.resolve(utf8("/www/../etc/app.conf")), conf)
    XCTAssertNotEqual(try fs.resolve(utf8("/abs"),
                                     followingFinalSymlink: false), conf)
    XCTAssertThrowsError(try fs.resolve(utf8("/loop"))) {
      XCTAssertEqual($0 as? ImageError, .symlinkLoop("/loop"))
    }
    XCTAssertThrowsError(try fs.resolve(utf8("/etc/app.conf/x"))) {
      XCTAssertEqual($0 as? ImageError,
                     .filesystem(.notDirectory, path: "/etc/app.conf/x"))
    }
    XCTAssertThrowsError(try fs.resolve(utf8("/nope"))) {
      XCTAssertEqual($0 as? ImageError, .filesystem(.notFound, path: "/nope"))
    }
    try fs.unmount()

    // Putting a file into an existing image replaces its contents.
    let writable = try mount(device, clock: TestClock())
    try writable.add(ImageEntry(path: "/etc/app.conf", mode: 0o600,
                                modificationTime: time,
                                content: .file(utf8("new"))))
    XCTAssertEqual(try writable.contents(of: conf), utf8("new"))
    XCTAssertEqual(try writable.attributes(of: conf).mode, 0o100600)
    XCTAssertThrowsError(try writable.add(ImageEntry(
      path: "relative", mode: 0, modificationTime: time, content: .directory)))
    XCTAssertThrowsError(try writable.add(ImageEntry(
      path: "/a/../b", mode: 0, modificationTime: time, content: .directory)))
    XCTAssertThrowsError(try writable.add(ImageEntry(
      path: "/etc/app.conf/x", mode: 0, modificationTime: time,
      content: .file([]))))
    try writable.unmount()
  }

  func testImageFileOnTheHost() throws {
    let path = NSTemporaryDirectory()
      + "villafs-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).img"
    defer { unlink(path) }
    let contents = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 / 3) }
    let device = try ImageFileDevice(creatingImage: path, size: 3 << 20)
    XCTAssertEqual(device.blockCount, (3 << 20) / 512)
    try FileSystem.buildImage([
      ImageEntry(path: "/data/blob", mode: 0o600, uid: 1, gid: 2,
                 modificationTime: Timestamp(seconds: 99),
                 content: .file(contents)),
    ], on: device, options: FormatOptions(volumeID: 5, time: formatTime))

    // What the kernel would write through the same file, read back.
    let reopened = try ImageFileDevice(openingImage: path)
    let fs = try FileSystem(mounting: reopened, clock: { formatTime })
    let blob = try fs.resolve(utf8("/data/blob"))
    XCTAssertEqual(try fs.contents(of: blob), contents)
    XCTAssertEqual(try fs.attributes(of: blob).uid, 1)
    let note = try fs.create(utf8("note"), in: FileSystem<ImageFileDevice>
                               .rootInode, mode: 0o100644, uid: 0, gid: 0)
    _ = try [UInt8](utf8("hello")).withUnsafeBytes {
      try fs.write(note, at: 0, from: $0)
    }
    try fs.unmount()

    let readOnly = try ImageFileDevice(openingImage: path, readOnly: true)
    let again = try FileSystem(mounting: readOnly, readOnly: true,
                               clock: { formatTime })
    XCTAssertEqual(try again.contents(of: try again.resolve(utf8("/note"))),
                   utf8("hello"))
    XCTAssertThrowsError(try readOnly.write(
      block: 0, count: 1,
      from: UnsafeRawBufferPointer(start: nil, count: 0)))
    XCTAssertThrowsError(
      try ImageFileDevice(openingImage: path + ".missing"))
  }
}

// MARK: - The model for the random sequence

/// The filesystem's namespace and contents as plain Swift values, with
/// the errors the filesystem should give, in the order it checks them.
private final class Model {
  final class Node {
    let kind: FileKind
    var mode: UInt32
    var data: [UInt8] = []
    var children: [[UInt8]: InodeNumber] = [:]
    var parent: InodeNumber

    init(kind: FileKind, mode: UInt32, parent: InodeNumber) {
      self.kind = kind
      self.mode = mode
      self.parent = parent
    }
  }

  var nodes: [InodeNumber: Node] = [
    1: Node(kind: .directory, mode: 0o755, parent: 1),
  ]
  /// The error the last check predicted (nil for success).
  var lastExpectation: FSError?

  private func expect(_ error: FSError?) -> FSError? {
    lastExpectation = error
    return error
  }

  func randomDirectory(_ random: inout SplitMix64) -> InodeNumber {
    let directories = nodes.filter { $0.value.kind == .directory }
      .map(\.key).sorted()
    return directories[Int(random.next() % UInt64(directories.count))]
  }

  func randomFile(_ random: inout SplitMix64) -> InodeNumber? {
    let files = nodes.filter { $0.value.kind == .regular }.map(\.key).sorted()
    guard !files.isEmpty else { return nil }
    return files[Int(random.next() % UInt64(files.count))]
  }

  func randomNonDirectory(_ random: inout SplitMix64) -> InodeNumber? {
    let files = nodes.filter { $0.value.kind != .directory }.map(\.key)
      .sorted()
    guard !files.isEmpty else { return nil }
    return files[Int(random.next() % UInt64(files.count))]
  }

  func checkCreate(_ name: [UInt8], in directory: InodeNumber) -> FSError? {
    expect(nodes[directory]!.children[name] != nil ? .exists : nil)
  }

  func add(_ inode: InodeNumber, _ kind: FileKind, _ name: [UInt8],
           in directory: InodeNumber) {
    nodes[inode] = Node(kind: kind, mode: kind == .directory ? 0o755
                        : kind == .symlink ? 0o777 : 0o644,
                        parent: directory)
    nodes[directory]!.children[name] = inode
  }

  func write(_ file: InodeNumber, at offset: Int, _ bytes: [UInt8]) {
    let node = nodes[file]!
    if node.data.count < offset + bytes.count {
      node.data += [UInt8](repeating: 0,
                           count: offset + bytes.count - node.data.count)
    }
    node.data.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
  }

  func truncate(_ file: InodeNumber, to size: Int) {
    let node = nodes[file]!
    if size < node.data.count {
      node.data.removeLast(node.data.count - size)
    } else {
      node.data += [UInt8](repeating: 0, count: size - node.data.count)
    }
  }

  func checkUnlink(_ name: [UInt8], in directory: InodeNumber) -> FSError? {
    guard let child = nodes[directory]!.children[name] else {
      return expect(.notFound)
    }
    return expect(nodes[child]!.kind == .directory ? .isDirectory : nil)
  }

  func checkRemoveDirectory(_ name: [UInt8], in directory: InodeNumber)
    -> FSError?
  {
    guard let child = nodes[directory]!.children[name] else {
      return expect(.notFound)
    }
    guard nodes[child]!.kind == .directory else {
      return expect(.notDirectory)
    }
    return expect(nodes[child]!.children.isEmpty ? nil : .notEmpty)
  }

  /// Removes a name, and the node with its last name.
  func remove(_ name: [UInt8], in directory: InodeNumber) {
    guard let child = nodes[directory]!.children.removeValue(forKey: name)
    else { return }
    if nodes[child]!.kind == .directory || linkCount(child) == 0 {
      nodes[child] = nil
    }
  }

  private func linkCount(_ inode: InodeNumber) -> Int {
    var count = 0
    for node in nodes.values {
      for child in node.children.values where child == inode { count += 1 }
    }
    return count
  }

  private func isAncestor(_ ancestor: InodeNumber,
                          of directory: InodeNumber) -> Bool {
    var current = directory
    while true {
      if current == ancestor { return true }
      if current == 1 { return false }
      current = nodes[current]!.parent
    }
  }

  func checkRename(_ name: [UInt8], in directory: InodeNumber,
                   to newName: [UInt8], in newDirectory: InodeNumber,
                   mode: RenameMode) -> FSError? {
    guard let moving = nodes[directory]!.children[name] else {
      return expect(.notFound)
    }
    let replaced = nodes[newDirectory]!.children[newName]
    if let replaced {
      if mode == .noReplace { return expect(.exists) }
      if replaced == moving { return expect(nil) }
    } else if mode == .exchange {
      return expect(.notFound)
    }
    if nodes[moving]!.kind == .directory,
       isAncestor(moving, of: newDirectory) {
      return expect(.invalid)
    }
    if mode == .exchange, let replaced, nodes[replaced]!.kind == .directory,
       isAncestor(replaced, of: directory) {
      return expect(.invalid)
    }
    if mode != .exchange, let replaced {
      if nodes[moving]!.kind == .directory {
        guard nodes[replaced]!.kind == .directory else {
          return expect(.notDirectory)
        }
        guard nodes[replaced]!.children.isEmpty else {
          return expect(.notEmpty)
        }
      } else if nodes[replaced]!.kind == .directory {
        return expect(.isDirectory)
      }
    }
    return expect(nil)
  }

  func rename(_ name: [UInt8], in directory: InodeNumber,
              to newName: [UInt8], in newDirectory: InodeNumber,
              mode: RenameMode) {
    let moving = nodes[directory]!.children[name]!
    let replaced = nodes[newDirectory]!.children[newName]
    if replaced == moving { return }
    if mode == .exchange, let replaced {
      nodes[directory]!.children[name] = replaced
      nodes[newDirectory]!.children[newName] = moving
      if nodes[moving]!.kind == .directory {
        nodes[moving]!.parent = newDirectory
      }
      if nodes[replaced]!.kind == .directory {
        nodes[replaced]!.parent = directory
      }
      return
    }
    if replaced != nil { remove(newName, in: newDirectory) }
    nodes[directory]!.children[name] = nil
    nodes[newDirectory]!.children[newName] = moving
    if nodes[moving]!.kind == .directory {
      nodes[moving]!.parent = newDirectory
    }
  }

  /// Compares the whole tree: names, inode numbers, kinds, modes, link
  /// counts, sizes, contents and targets.
  func check(_ fs: FS, _ context: String) throws {
    var pending: [(String, InodeNumber)] = [("/", 1)]
    var visited = 0
    while let (path, inode) = pending.popLast() {
      visited += 1
      let node = nodes[inode]!
      let attributes = try fs.attributes(of: inode)
      XCTAssertEqual(attributes.kind, node.kind, "\(context) \(path)")
      XCTAssertEqual(attributes.mode & 0o7777, node.mode, "\(context) \(path)")
      switch node.kind {
      case .directory:
        let subdirectories = node.children.values.filter {
          nodes[$0]!.kind == .directory
        }.count
        XCTAssertEqual(attributes.linkCount, UInt32(2 + subdirectories),
                       "\(context) \(path)")
        let listed = try fs.readDirectory(inode, after: 0)
        XCTAssertEqual(
          Dictionary(uniqueKeysWithValues: listed.map { ($0.name, $0.inode) }),
          node.children, "\(context) \(path)")
        for (childName, child) in node.children {
          pending.append((path + String(decoding: childName, as: UTF8.self)
                          + "/", child))
        }
      case .regular:
        XCTAssertEqual(attributes.linkCount, UInt32(linkCount(inode)),
                       "\(context) \(path)")
        XCTAssertEqual(try fs.contents(of: inode), node.data,
                       "\(context) \(path)")
      default:
        XCTAssertEqual(try fs.readLink(inode), node.data,
                       "\(context) \(path)")
      }
    }
    XCTAssertEqual(fs.state.inodeCount, nodes.count, context)
    XCTAssertGreaterThan(visited, 0)
  }
}
