// Path resolution (path_resolution(7)): walking a path from the root or a
// starting directory, one component at a time, through mount points and
// symbolic links. The rules Linux programs rely on:
// - "." stays, ".." goes up (and never above the root);
// - symbolic links are followed in the middle of a path, and at the end
//   unless the call says otherwise (lstat, O_NOFOLLOW, AT_SYMLINK_NOFOLLOW);
//   more than 40 links in one walk is ELOOP;
// - a component longer than 255 bytes or a path longer than 4095 is
//   ENAMETOOLONG; walking through a non-directory is ENOTDIR;
// - a path ending in "/" must name a directory.

import LinuxABI

/// The mount table: which filesystem's root covers which directory.
enum Mounts {
  private static var table: [(mountPoint: Inode, fileSystem: FileSystem)] = []
  private(set) static var root: Inode! = nil

  static func setRoot(_ fileSystem: FileSystem) {
    root = fileSystem.root
  }

  static func mount(_ fileSystem: FileSystem, on directory: Inode) {
    table.append((directory, fileSystem))
  }

  /// The root of what is mounted on `inode`, else `inode` itself.
  static func crossDown(_ inode: Inode) -> Inode {
    var current = inode
    while let entry = table.last(where: { $0.mountPoint === current }) {
      current = entry.fileSystem.root
    }
    return current
  }

  /// The directory a filesystem root is mounted on, for "..".
  static func mountPoint(of root: Inode) -> Inode? {
    table.last { $0.fileSystem.root === root }?.mountPoint
  }

  static var all: [(mountPoint: Inode, fileSystem: FileSystem)] { table }
}

struct PathResolution {
  /// The directory holding the last component, and that component's name
  /// (empty for "/" itself).
  var parent: Inode
  var name: [UInt8]
  /// What the path names, or nil if the last component does not exist.
  var inode: Inode?
  /// Whether the path ended with "/" (then it must be a directory).
  var trailingSlash: Bool
}

enum PathWalker {
  static let maximumPath = 4096
  static let maximumName = 255
  static let maximumLinks = 40

  /// Resolves `path` relative to `start`. With `followLast`, a final
  /// symbolic link is followed too.
  static func resolve(_ path: [UInt8], from start: Inode, followLast: Bool)
    throws(Errno) -> PathResolution
  {
    var budget = maximumLinks
    return try walk(path, from: start, followLast: followLast,
                    budget: &budget)
  }

  private static func walk(_ path: [UInt8], from start: Inode,
                           followLast: Bool, budget: inout Int)
    throws(Errno) -> PathResolution
  {
    guard !path.isEmpty else { throw .ENOENT }
    guard path.count < maximumPath else { throw .ENAMETOOLONG }
    var current: Inode = path.first == UInt8(ascii: "/") ? Mounts.root : start
    let components = path.split(separator: UInt8(ascii: "/"))
      .map { Array($0) }
    let trailingSlash = path.last == UInt8(ascii: "/")
    if components.isEmpty {
      return PathResolution(parent: current, name: [], inode: current,
                            trailingSlash: true)
    }
    for (index, name) in components.enumerated() {
      guard name.count <= maximumName else { throw .ENAMETOOLONG }
      guard current.isDirectory else { throw .ENOTDIR }
      let isLast = index == components.count - 1
      if name == [UInt8(ascii: ".")] {
        if isLast {
          return PathResolution(parent: current, name: name, inode: current,
                                trailingSlash: trailingSlash)
        }
        continue
      }
      if name == [UInt8(ascii: "."), UInt8(ascii: ".")] {
        let up = parent(of: current)
        if isLast {
          return PathResolution(parent: up, name: name, inode: up,
                                trailingSlash: trailingSlash)
        }
        current = up
        continue
      }
      guard let found = try current.lookup(name) else {
        if isLast {
          return PathResolution(parent: current, name: name, inode: nil,
                                trailingSlash: trailingSlash)
        }
        throw .ENOENT
      }
      var child = Mounts.crossDown(found)
      if child.isSymlink && (!isLast || followLast || trailingSlash) {
        budget -= 1
        guard budget >= 0 else { throw .ELOOP }
        if let magic = child.magicTarget {
          if isLast {
            return PathResolution(parent: current, name: name, inode: magic,
                                  trailingSlash: trailingSlash)
          }
          current = magic
          continue
        }
        let target = try child.symlinkTarget()
        let resolved = try walk(target, from: current, followLast: true,
                                budget: &budget)
        guard let linked = resolved.inode else {
          if isLast {
            // A dangling link: creation through it makes the target.
            return PathResolution(parent: resolved.parent,
                                  name: resolved.name, inode: nil,
                                  trailingSlash: trailingSlash)
          }
          throw .ENOENT
        }
        child = linked
      }
      if isLast {
        if trailingSlash && !child.isDirectory && !child.isSymlink {
          throw .ENOTDIR
        }
        return PathResolution(parent: current, name: name, inode: child,
                              trailingSlash: trailingSlash)
      }
      current = child
    }
    throw .ENOENT
  }

  /// "..": the parent directory, crossing back over a mount point, and
  /// never above the root.
  static func parent(of directory: Inode) -> Inode {
    if directory === Mounts.root { return directory }
    if let mountPoint = Mounts.mountPoint(of: directory) {
      return parent(of: mountPoint)
    }
    return directory.parent ?? directory
  }

  /// The absolute path of a directory, by walking ".." up to the root and
  /// finding each name in its parent (getcwd).
  static func absolutePath(of directory: Inode) throws(Errno) -> [UInt8] {
    var parts: [[UInt8]] = []
    var current = directory
    var steps = 0
    while current !== Mounts.root {
      steps += 1
      guard steps < 256 else { throw .ENOENT }
      let up = parent(of: current)
      // The entry in `up` that leads to `current` (maybe via a mount).
      var found: [UInt8]? = nil
      for entry in try up.entries() {
        if let inode = try up.lookup(entry.name),
          inode === current || Mounts.crossDown(inode) === current
        {
          found = entry.name
          break
        }
      }
      guard let name = found else { throw .ENOENT }  // unlinked cwd
      parts.append(name)
      current = up
    }
    if parts.isEmpty { return [UInt8(ascii: "/")] }
    var path: [UInt8] = []
    for part in parts.reversed() { path += [UInt8(ascii: "/")] + part }
    return path
  }
}
