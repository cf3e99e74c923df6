// Disk images: what `villa image build` writes and `villa run --image`
// boots. An image is Villa's persistent filesystem (VillaFS) holding the
// program at its absolute path, the files and directories the user adds,
// and /.villa/launch, a boot bundle without the program bytes that
// records how to start it (program path, argv, environment, hostname).
// The kernel mounts the image as its root and loads the program from it;
// what the program writes stays in the image for the next boot and for
// `villa image get`.

import Foundation
import HostLink
import VillaFS

public enum VillaImage {
  public static let launchPath = "/.villa/launch"
  public static let defaultSizeMiB = 64

  /// What to put in a new image.
  public struct Contents {
    public var program: ProgramImage
    public var arguments: [String]
    public var environment: [String]
    public var hostname: String
    /// (guest path, host path) of single files and of directory trees.
    public var files: [(String, String)]
    public var directories: [(String, String)]

    public init(program: ProgramImage, arguments: [String],
                environment: [String], hostname: String,
                files: [(String, String)] = [],
                directories: [(String, String)] = [])
    {
      self.program = program
      self.arguments = arguments
      self.environment = environment
      self.hostname = hostname
      self.files = files
      self.directories = directories
    }
  }

  /// Writes a new image of `sizeMiB` at `path`.
  public static func build(_ contents: Contents, at path: String,
                           sizeMiB: Int) throws(VillaError)
  {
    try write(try entries(for: contents, time: timestamp()), at: path,
              sizeMiB: sizeMiB)
  }

  /// Everything an image of `contents` holds, host files read, in the
  /// order they are added: the standard folders, the program, the user's
  /// files and trees, then the launch record.
  public static func entries(for contents: Contents,
                             time now: VillaFS.Timestamp)
    throws(VillaError) -> [ImageEntry]
  {
    var entries: [ImageEntry] = []
    for directory in ["/tmp", "/dev", "/proc", "/etc", "/root", "/.villa"] {
      entries.append(ImageEntry(path: directory,
                                mode: directory == "/tmp" ? 0o1777 : 0o755,
                                modificationTime: now, content: .directory))
    }
    entries.append(ImageEntry(path: contents.program.absolutePath,
                              mode: 0o755, modificationTime: now,
                              content: .file(contents.program.bytes)))
    for (guest, host) in contents.files {
      guard let bytes = FileManager.default.contents(atPath: host) else {
        throw .hostFailure("cannot read \(host) for the image")
      }
      entries.append(ImageEntry(path: guest, mode: mode(of: host) ?? 0o644,
                                modificationTime: now,
                                content: .file(Array(bytes))))
    }
    for (guest, host) in contents.directories {
      entries += try tree(host: host, guest: guest, time: now)
    }
    var launch = BootBundleWriter()
    launch.append(.programPath, contents.program.absolutePath)
    launch.append(.argument, contents.program.pathAsGiven)
    for argument in contents.arguments { launch.append(.argument, argument) }
    for entry in contents.environment { launch.append(.environment, entry) }
    launch.append(.hostname, contents.hostname)
    entries.append(ImageEntry(path: launchPath, mode: 0o644,
                              modificationTime: now,
                              content: .file(launch.encoded())))
    return entries
  }

  /// Formats a new image of `sizeMiB` at `path` holding `entries`.
  public static func write(_ entries: [ImageEntry], at path: String,
                           sizeMiB: Int) throws(VillaError)
  {
    _ = unlink(path)
    let device: ImageFileDevice
    do {
      device = try ImageFileDevice(creatingImage: path,
                                   size: UInt64(sizeMiB) << 20)
    } catch {
      throw .hostFailure("cannot create \(path): \(error.message)")
    }
    var seed: UInt64 = 0
    withUnsafeMutableBytes(of: &seed) { arc4random_buf($0.baseAddress!, 8) }
    do throws(ImageError) {
      try VillaFS.FileSystem<ImageFileDevice>.buildImage(
        entries, on: device,
        options: FormatOptions(volumeID: seed, time: timestamp()))
    } catch {
      throw .hostFailure("cannot build the image: \(describe(error))")
    }
  }

  /// How to start the program an image holds.
  public struct Launch {
    public var programPath: String
    public var arguments: [String]
    public var environment: [String]
    public var hostname: String
    public var programBytes: [UInt8]
  }

  public static func readLaunch(image path: String) throws(VillaError)
    -> Launch
  {
    let fs = try mount(path, readOnly: true)
    let launchBytes = try read(fs, launchPath, image: path)
    let parsed: Launch? = launchBytes.withUnsafeBytes { raw in
      guard let reader = try? BootBundleReader(bytes: raw),
        let programPath = reader.firstPayload(of: .programPath)
      else { return nil }
      func text(_ range: Range<Int>) -> String {
        String(decoding: reader.copy(range), as: UTF8.self)
      }
      let arguments = reader.payloads(of: .argument).map(text)
      return Launch(
        programPath: text(programPath), arguments: arguments,
        environment: reader.payloads(of: .environment).map(text),
        hostname: reader.firstPayload(of: .hostname).map(text) ?? "villa",
        programBytes: [])
    }
    guard var launch = parsed else {
      throw .hostFailure("\(path): \(launchPath) is missing or damaged")
    }
    launch.programBytes = try read(fs, launch.programPath, image: path)
    return launch
  }

  // MARK: Inspecting and changing an image on the host

  public static func mount(_ path: String, readOnly: Bool)
    throws(VillaError) -> VillaFS.FileSystem<ImageFileDevice>
  {
    let device: ImageFileDevice
    do {
      device = try ImageFileDevice(openingImage: path, readOnly: readOnly)
    } catch {
      throw .hostFailure("cannot open \(path): \(error.message)")
    }
    do throws(FSError) {
      return try VillaFS.FileSystem(mounting: device, readOnly: readOnly,
                                    clock: timestamp)
    } catch {
      throw .hostFailure("\(path) is not a Villa image: \(error.description)")
    }
  }

  public static func read(_ fs: VillaFS.FileSystem<ImageFileDevice>,
                          _ guestPath: String, image: String)
    throws(VillaError) -> [UInt8]
  {
    do throws(ImageError) {
      let inode = try fs.resolve(Array(guestPath.utf8))
      do throws(FSError) {
        return try fs.contents(of: inode)
      } catch {
        throw ImageError.filesystem(error, path: guestPath)
      }
    } catch {
      throw .hostFailure("\(image): \(guestPath): \(describe(error))")
    }
  }

  /// `villa image ls`: one line per path, like `ls -l` but recursive.
  public static func listing(image path: String) throws(VillaError)
    -> [String]
  {
    let fs = try mount(path, readOnly: true)
    let entries: [ImageListing]
    do throws(FSError) {
      entries = try fs.list()
    } catch {
      throw .hostFailure("\(path): \(error.description)")
    }
    return entries.sorted { $0.path.lexicographicallyPrecedes($1.path) }
      .map { entry in
        let a = entry.attributes
        let type: String
        switch a.kind {
        case .directory: type = "d"
        case .symlink: type = "l"
        default: type = "-"
        }
        let permissions = String(a.mode & 0o7777, radix: 8)
        var line = "\(type) \(permissions) \(a.size)\t"
          + String(decoding: entry.path, as: UTF8.self)
        if let target = entry.target {
          line += " -> " + String(decoding: target, as: UTF8.self)
        }
        return line
      }
  }

  /// `villa image get`: copies a file of the image to a host file, byte
  /// for byte.
  public static func get(image path: String, guest: String, host: String)
    throws(VillaError)
  {
    let fs = try mount(path, readOnly: true)
    let bytes = try read(fs, guest, image: path)
    guard FileManager.default.createFile(atPath: host,
                                         contents: Data(bytes))
    else { throw .hostFailure("cannot write \(host)") }
  }

  /// `villa image put`: copies a host file into the image.
  public static func put(image path: String, host: String, guest: String)
    throws(VillaError)
  {
    guard let bytes = FileManager.default.contents(atPath: host) else {
      throw .hostFailure("cannot read \(host)")
    }
    let fs = try mount(path, readOnly: false)
    do throws(ImageError) {
      _ = try fs.add(ImageEntry(path: guest, mode: mode(of: host) ?? 0o644,
                                modificationTime: timestamp(),
                                content: .file(Array(bytes))))
    } catch {
      throw .hostFailure("\(path): \(guest): \(describe(error))")
    }
    do throws(FSError) {
      try fs.unmount()
    } catch {
      throw .hostFailure("\(path): \(error.description)")
    }
  }

  // MARK: Helpers

  static func timestamp() -> VillaFS.Timestamp {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return VillaFS.Timestamp(seconds: Int64(now.tv_sec),
                             nanoseconds: UInt32(now.tv_nsec))
  }

  static func mode(of path: String) -> UInt32? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return UInt32(info.st_mode) & 0o7777
  }

  static func tree(host: String, guest: String, time: VillaFS.Timestamp)
    throws(VillaError) -> [ImageEntry]
  {
    var entries = [ImageEntry(path: guest, mode: mode(of: host) ?? 0o755,
                              modificationTime: time, content: .directory)]
    guard let names = try? FileManager.default.contentsOfDirectory(
      atPath: host)
    else { throw .hostFailure("cannot read the directory \(host)") }
    for name in names.sorted() {
      let hostPath = host + "/" + name
      let guestPath = (guest == "/" ? "" : guest) + "/" + name
      var info = stat()
      guard lstat(hostPath, &info) == 0 else { continue }
      switch info.st_mode & S_IFMT {
      case S_IFDIR:
        entries += try tree(host: hostPath, guest: guestPath, time: time)
      case S_IFLNK:
        if let target = try? FileManager.default.destinationOfSymbolicLink(
          atPath: hostPath)
        {
          entries.append(ImageEntry(path: guestPath, mode: 0o777,
                                    modificationTime: time,
                                    content: .symlink(target: Array(target.utf8))))
        }
      case S_IFREG:
        guard let bytes = FileManager.default.contents(atPath: hostPath)
        else { throw .hostFailure("cannot read \(hostPath)") }
        entries.append(ImageEntry(path: guestPath,
                                  mode: UInt32(info.st_mode) & 0o7777,
                                  modificationTime: time,
                                  content: .file(Array(bytes))))
      default:
        continue   // sockets, fifos and devices have no place in an image
      }
    }
    return entries
  }

  static func describe(_ error: ImageError) -> String {
    switch error {
    case .badPath(let path): return "bad path \(path)"
    case .symlinkLoop(let path): return "symbolic link loop at \(path)"
    case .filesystem(let error, let path): return "\(path): \(error.description)"
    }
  }
}
