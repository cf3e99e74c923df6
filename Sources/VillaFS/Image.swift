// Building and reading images by path, for the host's `villa image`
// commands (and anything else that thinks in paths rather than inodes).
//
// `buildImage` formats a device and adds entries in order, creating
// missing parent directories; `add` also serves to put one file into an
// existing image. `resolve` walks a path the way the kernel would,
// following symlinks (at most 40, as Linux), and `list` walks the whole
// tree in name order. Paths are byte strings split at "/"; entries to add
// must be absolute and must not contain "..".

/// One file, directory or symlink to put into an image.
public struct ImageEntry: Equatable, Sendable {
  public enum Content: Equatable, Sendable {
    case file([UInt8])
    case directory
    case symlink(target: [UInt8])
  }

  public var path: String
  /// Permission bits; the type comes from `content`.
  public var mode: UInt32
  public var uid: UInt32
  public var gid: UInt32
  public var modificationTime: Timestamp
  public var content: Content

  public init(path: String, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0,
              modificationTime: Timestamp, content: Content) {
    self.path = path
    self.mode = mode
    self.uid = uid
    self.gid = gid
    self.modificationTime = modificationTime
    self.content = content
  }
}

/// One path of an image, as `list` reports it.
public struct ImageListing: Equatable, Sendable {
  /// The absolute path, "/" for the root.
  public var path: [UInt8]
  public var attributes: Attributes
  /// The target of a symlink.
  public var target: [UInt8]?

  /// The path for display; bytes that are not UTF-8 show as U+FFFD.
  public var pathDescription: String {
    String(decoding: path, as: UTF8.self)
  }
}

public enum ImageError: Error, Equatable, Sendable {
  /// A path to add was not absolute, or held "..", or was empty.
  case badPath(String)
  /// More than 40 symlinks on the way.
  case symlinkLoop(String)
  case filesystem(FSError, path: String)

  public var description: String {
    switch self {
    case .badPath(let path): return "bad image path: " + path
    case .symlinkLoop(let path): return path + ": too many symlinks"
    case .filesystem(let error, let path):
      return path + ": " + error.description
    }
  }
}

extension FileSystem {
  /// Formats `device` and fills it with `entries`, in order. Directory
  /// times are set last, since adding children changes them.
  public static func buildImage(
    _ entries: [ImageEntry], on device: Device, options: FormatOptions
  ) throws(ImageError) {
    do {
      try FileSystem.format(device, options: options)
    } catch {
      throw .filesystem(error, path: "/")
    }
    let time = options.time
    let fileSystem: FileSystem
    do {
      fileSystem = try FileSystem(mounting: device, clock: { time })
    } catch {
      throw .filesystem(error, path: "/")
    }
    var directoryTimes: [(InodeNumber, Timestamp, String)] = []
    for entry in entries {
      let inode = try fileSystem.add(entry, settingDirectoryTime: false)
      if entry.content == .directory {
        directoryTimes.append((inode, entry.modificationTime, entry.path))
      }
    }
    for (inode, time, path) in directoryTimes {
      do {
        try fileSystem.setAttributes(inode, AttributeChanges(
          accessTime: time, modificationTime: time))
      } catch {
        throw .filesystem(error, path: path)
      }
    }
    do {
      try fileSystem.unmount()
    } catch {
      throw .filesystem(error, path: "/")
    }
  }

  /// Puts one entry into the filesystem, creating missing parents (mode
  /// 0755, owned by root). An existing file at the path gets the new
  /// contents and attributes; an existing directory gets the attributes.
  /// Returns the entry's inode.
  @discardableResult
  public func add(_ entry: ImageEntry, settingDirectoryTime: Bool = true)
    throws(ImageError) -> InodeNumber
  {
    let bytes = Array(entry.path.utf8)
    guard bytes.first == 0x2F else { throw .badPath(entry.path) }
    let components = FileSystem.components(of: bytes)
    for component in components where component == [0x2E, 0x2E] {
      throw .badPath(entry.path)
    }
    do {
      return try add(entry, components: components,
                     settingDirectoryTime: settingDirectoryTime)
    } catch {
      throw .filesystem(error, path: entry.path)
    }
  }

  private func add(_ entry: ImageEntry, components: [[UInt8]],
                   settingDirectoryTime: Bool)
    throws(FSError) -> InodeNumber
  {
    var parent = FileSystem.rootInode
    for component in components.dropLast() {
      do throws(FSError) {
        parent = try lookup(component, in: parent)
        guard try attributes(of: parent).kind == .directory else {
          throw FSError.notDirectory
        }
      } catch {
        guard error == .notFound else { throw error }
        parent = try makeDirectory(component, in: parent, mode: 0o755,
                                   uid: 0, gid: 0)
      }
    }
    let mode = entry.mode & FileMode.permissionMask
    guard let name = components.last else {
      // The root itself: only its attributes can change.
      guard entry.content == .directory else { throw .isDirectory }
      try setAttributes(parent, AttributeChanges(
        mode: mode, uid: entry.uid, gid: entry.gid))
      if settingDirectoryTime { try setTimes(parent, entry) }
      return parent
    }

    var existing: InodeNumber?
    do {
      existing = try lookup(name, in: parent)
    } catch {
      guard error == .notFound else { throw error }
    }
    let inode: InodeNumber
    switch entry.content {
    case .directory:
      if let existing {
        guard try attributes(of: existing).kind == .directory else {
          throw .exists
        }
        inode = existing
      } else {
        inode = try makeDirectory(name, in: parent, mode: mode,
                                  uid: entry.uid, gid: entry.gid)
      }
    case .symlink(let target):
      guard existing == nil else { throw .exists }
      inode = try makeSymlink(name, in: parent, target: target,
                              uid: entry.uid, gid: entry.gid)
    case .file(let contents):
      if let existing {
        guard try attributes(of: existing).kind == .regular else {
          throw .exists
        }
        inode = existing
        try truncate(inode, to: 0)
      } else {
        inode = try create(name, in: parent,
                           mode: FileKind.regular.modeBits | mode,
                           uid: entry.uid, gid: entry.gid)
      }
      try writeAll(inode, contents)
    }
    try setAttributes(inode, AttributeChanges(
      mode: mode, uid: entry.uid, gid: entry.gid))
    if entry.content != .directory || settingDirectoryTime {
      try setTimes(inode, entry)
    }
    return inode
  }

  private func setTimes(_ inode: InodeNumber, _ entry: ImageEntry)
    throws(FSError)
  {
    try setAttributes(inode, AttributeChanges(
      accessTime: entry.modificationTime,
      modificationTime: entry.modificationTime))
  }

  private func writeAll(_ inode: InodeNumber, _ contents: [UInt8])
    throws(FSError)
  {
    var failure: FSError?
    contents.withUnsafeBytes { raw in
      var done = 0
      while done < raw.count, failure == nil {
        do throws(FSError) {
          let count = try write(
            inode, at: UInt64(done),
            from: UnsafeRawBufferPointer(rebasing: raw[done...]))
          if count == 0 { failure = .noSpace }
          done += count
        } catch {
          failure = error
        }
      }
    }
    if let failure { throw failure }
  }

  /// Splits a path at slashes, dropping empty and "." components.
  static func components(of path: [UInt8]) -> [[UInt8]] {
    path.split(separator: 0x2F, omittingEmptySubsequences: true)
      .map { Array($0) }
      .filter { $0 != [0x2E] }
  }

  /// The inode a path leads to, following symlinks on the way (and the
  /// last one too with `followingFinalSymlink`). Relative paths start at
  /// the root.
  public func resolve(_ path: [UInt8], followingFinalSymlink: Bool = true)
    throws(ImageError) -> InodeNumber
  {
    let display = String(decoding: path, as: UTF8.self)
    var pending = Array(FileSystem.components(of: path).reversed())
    var current = FileSystem.rootInode
    var followed = 0
    while let name = pending.popLast() {
      do throws(FSError) {
        let next = try lookup(name, in: current)
        let found = try attributes(of: next)
        guard found.kind == .symlink,
              !pending.isEmpty || followingFinalSymlink
        else {
          current = next
          continue
        }
        followed += 1
        if followed > 40 { break }
        let target = try readLink(next)
        if target.first == 0x2F { current = FileSystem.rootInode }
        pending.append(
          contentsOf: FileSystem.components(of: target).reversed())
      } catch {
        throw .filesystem(error, path: display)
      }
    }
    guard followed <= 40 else { throw .symlinkLoop(display) }
    return current
  }

  /// A whole regular file.
  public func contents(of inode: InodeNumber) throws(FSError) -> [UInt8] {
    let size = try attributes(of: inode).size
    guard size <= UInt64(Int.max) else { throw .fileTooLarge }
    var bytes = [UInt8](repeating: 0, count: Int(size))
    var failure: FSError?
    bytes.withUnsafeMutableBytes { raw in
      do throws(FSError) {
        _ = try read(inode, at: 0, into: raw)
      } catch {
        failure = error
      }
    }
    if let failure { throw failure }
    return bytes
  }

  /// Every path in the filesystem, parents before children, siblings in
  /// byte order of their names.
  public func list() throws(FSError) -> [ImageListing] {
    var result: [ImageListing] = []
    var pending: [([UInt8], InodeNumber)] = [([0x2F], FileSystem.rootInode)]
    while let (path, inode) = pending.popLast() {
      let found = try attributes(of: inode)
      result.append(ImageListing(
        path: path, attributes: found,
        target: found.kind == .symlink ? try readLink(inode) : nil))
      guard found.kind == .directory else { continue }
      let children = try readDirectory(inode, after: 0)
        .sorted { $0.name.lexicographicallyPrecedes($1.name) }
      let prefix = path == [0x2F] ? path : path + [0x2F]
      for child in children.reversed() {
        pending.append((prefix + child.name, child.inode))
      }
    }
    return result
  }
}
