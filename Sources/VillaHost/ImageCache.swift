// The image cache behind `villa run --manifest`: a manifest that ships
// files runs from a disk image holding the program and those files, and
// building that image every time would cost a format and a copy of every
// file on each run. So images are kept under the user's cache folder,
// named after a SHA-256 of everything that went into them, and reused
// while nothing changed.
//
// What the key covers: this cache's own version (bump it whenever what
// an image holds or how it is laid out changes), VillaFS's format
// version, the disk size, and every entry of the image (path, mode,
// owner, type, bytes or link target), the program's and the launch
// record's included. Modification times are left out: they are the build
// time, not an input. Because the bytes themselves are hashed, editing a
// file in place, replacing the program, or adding a file to a shipped
// folder all give a new key; nothing relies on host timestamps.
//
// A cached image is a base that no run changes: `villa run` boots it
// with QEMU's `snapshot=on`, so the guest's writes land in a temporary
// overlay that QEMU deletes when the VM stops. Runs are therefore as
// isolated as the tmpfs root of a plain run, and two runs of the same
// image can share one base at the same time. (`villa run --image` is the
// persistent case: it boots the user's image itself.)
//
// Where: $XDG_CACHE_HOME/villa/images, or ~/.cache/villa/images. An
// image is written under a temporary name and renamed into place, so a
// crash or a concurrent build never leaves a half-written entry. The
// least recently used images beyond `maximumEntries` are deleted.

import Foundation
import Glibc
import VillaFS

public enum ImageCache {
  /// Bump when the contents or layout of cached images change without
  /// their inputs changing, so that old entries are not reused.
  public static let version = 1
  /// The disk size of cached images. The file is sparse and booted
  /// through a copy-on-write overlay, so the size costs neither host
  /// disk nor time; it only bounds what one run can write to its root.
  public static let sizeMiB = 1024
  /// How many images the cache keeps; older ones are deleted.
  public static let maximumEntries = 16

  /// The cache folder: $XDG_CACHE_HOME/villa/images when that is an
  /// absolute path (as the XDG spec asks), else ~/.cache/villa/images.
  public static func directory(environment: [String: String] =
                                 ProcessInfo.processInfo.environment)
    -> String
  {
    if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
      return xdg + "/villa/images"
    }
    let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 }
      ?? NSHomeDirectory()
    return home + "/.cache/villa/images"
  }

  /// The cache key of an image holding `entries` on a disk of `sizeMiB`.
  public static func key(of entries: [ImageEntry], sizeMiB: Int) -> String {
    var hash = SHA256()
    hash.update(field: "villa image cache \(version)")
    hash.update(field: "villafs \(FormatOptions.formatVersion)")
    hash.update(length: UInt64(sizeMiB))
    hash.update(length: UInt64(entries.count))
    for entry in entries {
      hash.update(field: entry.path)
      hash.update(length: UInt64(entry.mode))
      hash.update(length: UInt64(entry.uid) << 32 | UInt64(entry.gid))
      switch entry.content {
      case .directory:
        hash.update(field: "directory")
      case .file(let bytes):
        hash.update(field: "file")
        hash.update(bytes)
        hash.update(length: UInt64(bytes.count))
      case .symlink(let target):
        hash.update(field: "symlink")
        hash.update(target)
        hash.update(length: UInt64(target.count))
      }
    }
    return hash.hexDigest
  }

  /// A cached image and whether it was already there.
  public struct Lookup: Equatable, Sendable {
    public var path: String
    public var reused: Bool

    public init(path: String, reused: Bool) {
      self.path = path
      self.reused = reused
    }
  }

  /// The cached image for `contents`, built first if missing.
  public static func image(for contents: VillaImage.Contents,
                           in directory: String = directory())
    throws(VillaError) -> Lookup
  {
    let entries = try VillaImage.entries(for: contents,
                                         time: VillaImage.timestamp())
    let path = directory + "/" + key(of: entries, sizeMiB: sizeMiB) + ".img"
    if access(path, R_OK) == 0 {
      // Marks it recently used, for the eviction below.
      _ = utimensat(AT_FDCWD, path, nil, 0)
      return Lookup(path: path, reused: true)
    }
    do {
      try FileManager.default.createDirectory(
        atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw .hostFailure("cannot create the image cache \(directory)")
    }
    let temporary = path + ".tmp-\(getpid())"
    do throws(VillaError) {
      try VillaImage.write(entries, at: temporary, sizeMiB: sizeMiB)
    } catch {
      _ = unlink(temporary)
      throw error
    }
    guard rename(temporary, path) == 0 else {
      _ = unlink(temporary)
      throw .hostFailure("cannot rename \(temporary) into the image cache")
    }
    evict(in: directory, keeping: path)
    return Lookup(path: path, reused: false)
  }

  /// Deletes the least recently used images beyond `maximumEntries`,
  /// never `keeping`. A failure to delete is ignored: the cache only
  /// grows a little.
  static func evict(in directory: String, keeping: String) {
    guard let names = try? FileManager.default.contentsOfDirectory(
      atPath: directory)
    else { return }
    var images: [(path: String, used: Int)] = []
    for name in names where name.hasSuffix(".img") {
      let path = directory + "/" + name
      var info = stat()
      guard stat(path, &info) == 0 else { continue }
      images.append((path, info.st_mtim.tv_sec * 1_000_000_000
                       + info.st_mtim.tv_nsec))
    }
    guard images.count > maximumEntries else { return }
    images.sort { $0.used > $1.used }
    for old in images.dropFirst(maximumEntries) where old.path != keeping {
      _ = unlink(old.path)
    }
  }
}
