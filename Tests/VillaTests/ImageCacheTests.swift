// The image cache of `villa run --manifest`: an image is reused while
// its inputs are unchanged and rebuilt when any byte of them changes,
// and runs from a cached image never see each other's writes, nor change
// the cached file.

import Foundation
import VillaFS
import VillaHost
import XCTest

final class ImageCacheTests: XCTestCase {
  private var directory = ""

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory()
      + "villa-cache-\(getpid())-\(name.hashValue)"
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  private func busybox() throws -> ProgramImage {
    let path = "/bin/busybox"
    try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: path),
                      "busybox-static is not installed")
    return try loadProgram(path, searchPath: nil, currentDirectory: "/")
  }

  private func inode(_ path: String) -> UInt {
    var info = stat()
    return stat(path, &info) == 0 ? UInt(info.st_ino) : 0
  }

  func testTheCacheFollowsXDGCacheHome() {
    XCTAssertEqual(
      ImageCache.directory(environment: ["XDG_CACHE_HOME": "/x/cache",
                                         "HOME": "/home/u"]),
      "/x/cache/villa/images")
    XCTAssertEqual(
      ImageCache.directory(environment: ["XDG_CACHE_HOME": "relative",
                                         "HOME": "/home/u"]),
      "/home/u/.cache/villa/images")
    XCTAssertEqual(ImageCache.directory(environment: ["HOME": "/home/u"]),
                   "/home/u/.cache/villa/images")
  }

  func testAnImageIsReusedUntilAnyInputChanges() throws {
    let program = try busybox()
    let cache = directory + "/cache"
    let config = directory + "/app.conf"
    let site = directory + "/site"
    try FileManager.default.createDirectory(atPath: site,
                                            withIntermediateDirectories: true)
    try "a=1\n".write(toFile: config, atomically: false, encoding: .utf8)
    try "<p>hi</p>\n".write(toFile: site + "/index.html", atomically: false,
                            encoding: .utf8)
    func contents(_ program: ProgramImage) -> VillaImage.Contents {
      VillaImage.Contents(program: program, arguments: [], environment: [],
                          hostname: "villa", files: [("/etc/app.conf", config)],
                          directories: [("/www", site)])
    }

    let first = try ImageCache.image(for: contents(program), in: cache)
    XCTAssertFalse(first.reused)
    let again = try ImageCache.image(for: contents(program), in: cache)
    XCTAssertTrue(again.reused)
    XCTAssertEqual(again.path, first.path)
    XCTAssertEqual(inode(again.path), inode(first.path), "rebuilt on a hit")

    // The image holds what was asked for.
    let fs = try VillaImage.mount(first.path, readOnly: true)
    XCTAssertEqual(try VillaImage.read(fs, "/etc/app.conf", image: first.path),
                   Array("a=1\n".utf8))
    XCTAssertEqual(try VillaImage.read(fs, "/bin/busybox", image: first.path),
                   program.bytes)

    // Same size, same time stamp resolution: only the bytes differ.
    try "a=2\n".write(toFile: config, atomically: false, encoding: .utf8)
    let edited = try ImageCache.image(for: contents(program), in: cache)
    XCTAssertFalse(edited.reused)
    XCTAssertNotEqual(edited.path, first.path)
    try "a=1\n".write(toFile: config, atomically: false, encoding: .utf8)
    XCTAssertEqual(try ImageCache.image(for: contents(program), in: cache),
                   ImageCache.Lookup(path: first.path, reused: true))

    // A file added to a shipped folder.
    try "x".write(toFile: site + "/new.txt", atomically: false,
                  encoding: .utf8)
    let grown = try ImageCache.image(for: contents(program), in: cache)
    XCTAssertFalse(grown.reused)
    try FileManager.default.removeItem(atPath: site + "/new.txt")

    // Another program at the same path (one byte appended to the ELF).
    var changed = program
    changed.bytes.append(0)
    let rebuilt = try ImageCache.image(for: contents(changed), in: cache)
    XCTAssertFalse(rebuilt.reused)
    XCTAssertNotEqual(rebuilt.path, first.path)
    XCTAssertEqual(try ImageCache.image(for: contents(program), in: cache),
                   ImageCache.Lookup(path: first.path, reused: true))

    let names = try FileManager.default.contentsOfDirectory(atPath: cache)
    XCTAssertEqual(names.filter { $0.hasSuffix(".img") }.count, 4, "\(names)")
    XCTAssertTrue(names.allSatisfy { !$0.contains(".tmp-") }, "\(names)")
  }

  func testKeysHashEveryField() {
    let time = VillaFS.Timestamp(seconds: 1, nanoseconds: 0)
    let base = [ImageEntry(path: "/a", mode: 0o644, modificationTime: time,
                           content: .file([1, 2, 3]))]
    let key = ImageCache.key(of: base, sizeMiB: 64)
    XCTAssertEqual(key.count, 64)
    var later = base
    later[0].modificationTime = VillaFS.Timestamp(seconds: 2, nanoseconds: 0)
    XCTAssertEqual(ImageCache.key(of: later, sizeMiB: 64), key,
                   "build times are not inputs")
    var mode = base
    mode[0].mode = 0o755
    var path = base
    path[0].path = "/b"
    var kind = base
    kind[0].content = .symlink(target: [1, 2, 3])
    let keys = [key, ImageCache.key(of: base, sizeMiB: 128),
                ImageCache.key(of: mode, sizeMiB: 64),
                ImageCache.key(of: path, sizeMiB: 64),
                ImageCache.key(of: kind, sizeMiB: 64)]
    XCTAssertEqual(Set(keys).count, keys.count, "\(keys)")
  }

  func testSHA256MatchesTheStandardVectors() {
    func digest(_ text: String) -> String {
      var hash = SHA256()
      hash.update(Array(text.utf8))
      return hash.hexDigest
    }
    XCTAssertEqual(digest(""),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    XCTAssertEqual(digest("abc"),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    XCTAssertEqual(
      digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    // A million 'a's fed in uneven pieces: the block buffering.
    var hash = SHA256()
    var fed = 0
    var step = 1
    while fed < 1_000_000 {
      let count = min(step, 1_000_000 - fed)
      hash.update([UInt8](repeating: UInt8(ascii: "a"), count: count))
      fed += count
      step = step * 7 % 251 + 1
    }
    XCTAssertEqual(hash.hexDigest,
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }

  /// Each run from a cached image starts from the image as built: what
  /// one run writes is gone at the next, and the cached file is never
  /// changed. The last two runs show the check can fail: without the
  /// overlay the write does reach the image, and the next run sees it.
  func testRunsFromACachedImageAreIsolated() throws {
    let kernel = try TestPackage.kernel()
    let program = try busybox()
    let config = directory + "/app.conf"
    try "greeting=hello\n".write(toFile: config, atomically: false,
                                 encoding: .utf8)
    let cached = try ImageCache.image(
      for: VillaImage.Contents(program: program, arguments: [],
                               environment: [], hostname: "villa",
                               files: [("/etc/app.conf", config)]),
      in: directory + "/cache")
    let before = try digest(of: cached.path)

    var configuration = RunConfiguration(
      programPath: "/bin/busybox",
      arguments: ["sh", "-c",
                  "while read l; do echo \"$l\"; done < /etc/app.conf;"
                    + " if [ -e /state ]; then echo present;"
                    + " else echo absent; fi; echo run >> /state"],
      kernelPath: kernel, accelerator: .tcg, timeout: .seconds(60))
    configuration.diskImage = cached.path
    configuration.diskSnapshot = true
    for _ in 0..<2 {
      let run = try runInVilla(configuration, sink: .capture)
      XCTAssertEqual(run.exit, .exited(0), "\(run.kernelLog)")
      XCTAssertEqual(String(decoding: run.stdout, as: UTF8.self),
                     "greeting=hello\nabsent\n")
    }
    XCTAssertEqual(try digest(of: cached.path), before,
                   "a run changed the cached image")

    configuration.diskSnapshot = false
    let persistent = try runInVilla(configuration, sink: .capture)
    XCTAssertEqual(String(decoding: persistent.stdout, as: UTF8.self),
                   "greeting=hello\nabsent\n")
    configuration.diskSnapshot = true
    let after = try runInVilla(configuration, sink: .capture)
    XCTAssertEqual(String(decoding: after.stdout, as: UTF8.self),
                   "greeting=hello\npresent\n")
  }

  /// Size, modification and change times: any write to the file, or a
  /// replacement of it, changes one of them.
  private func digest(of path: String) throws -> String {
    var info = stat()
    XCTAssertEqual(stat(path, &info), 0)
    return "\(info.st_ino) \(info.st_size) \(info.st_mtim.tv_sec)."
      + "\(info.st_mtim.tv_nsec) \(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
  }
}
