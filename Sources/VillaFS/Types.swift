// The values the filesystem's API speaks in: inode numbers, timestamps,
// file kinds, attributes and the changes setattr applies, directory
// entries, statfs figures and rename modes.
//
// Modes keep Linux's layout (S_IFMT type bits over permission bits) so the
// kernel passes them through unchanged; names are byte strings, as in
// Linux, where a file name need not be valid UTF-8.

/// An inode number. 1 is the root directory; numbers are never reused.
public typealias InodeNumber = UInt64

/// A point in time as stat(2) reports it: seconds since the epoch and
/// nanoseconds. The filesystem never reads a clock of its own; the caller
/// supplies one at mount so tests are deterministic.
public struct Timestamp: Equatable, Hashable, Sendable {
  public var seconds: Int64
  public var nanoseconds: UInt32

  public init(seconds: Int64, nanoseconds: UInt32 = 0) {
    self.seconds = seconds
    self.nanoseconds = nanoseconds
  }

  public static let zero = Timestamp(seconds: 0)
}

/// The type of an inode, from the S_IFMT bits of its mode.
public enum FileKind: UInt8, Equatable, Sendable {
  case regular = 8
  case directory = 4
  case symlink = 10
  case fifo = 1
  case characterDevice = 2
  case blockDevice = 6
  case socket = 12

  /// The kind a mode's type bits name; nil for an unknown type.
  public init?(mode: UInt32) {
    self.init(rawValue: UInt8(truncatingIfNeeded: (mode >> 12) & 0xF))
  }

  /// The S_IFMT bits of this kind, e.g. 0o100000 for a regular file.
  public var modeBits: UInt32 { UInt32(rawValue) << 12 }

  /// The DT_* value getdents64 reports, which Linux defines as the
  /// S_IFMT bits shifted down: the same number as `rawValue`.
  public var directoryEntryType: UInt8 { rawValue }
}

/// Mode bit masks with Linux's values.
public enum FileMode {
  public static let typeMask: UInt32 = 0o170000
  /// Permission, setuid, setgid and sticky bits.
  public static let permissionMask: UInt32 = 0o7777
}

/// Everything stat(2) and statx(2) report about an inode.
public struct Attributes: Equatable, Sendable {
  public var inode: InodeNumber
  public var kind: FileKind
  /// Type and permission bits, as st_mode.
  public var mode: UInt32
  public var linkCount: UInt32
  public var uid: UInt32
  public var gid: UInt32
  /// The device number of a character or block device node.
  public var rdev: UInt64
  /// Bytes for a regular file, the target's length for a symlink, and a
  /// figure that grows with the entry count for a directory.
  public var size: UInt64
  /// 512-byte units of data stored, as st_blocks (holes take none).
  public var blocks: UInt64
  public var accessTime: Timestamp
  public var modificationTime: Timestamp
  public var changeTime: Timestamp

  public init(
    inode: InodeNumber, kind: FileKind, mode: UInt32, linkCount: UInt32,
    uid: UInt32, gid: UInt32, rdev: UInt64, size: UInt64, blocks: UInt64,
    accessTime: Timestamp, modificationTime: Timestamp,
    changeTime: Timestamp
  ) {
    self.inode = inode
    self.kind = kind
    self.mode = mode
    self.linkCount = linkCount
    self.uid = uid
    self.gid = gid
    self.rdev = rdev
    self.size = size
    self.blocks = blocks
    self.accessTime = accessTime
    self.modificationTime = modificationTime
    self.changeTime = changeTime
  }
}

/// The fields setattr changes; nil leaves a field as it is. Any change
/// sets ctime to now unless `changeTime` is given; a size change also sets
/// mtime to now unless `modificationTime` is given, as truncate(2) does.
public struct AttributeChanges: Equatable, Sendable {
  /// Permission bits only; the type bits of an inode never change.
  public var mode: UInt32?
  public var uid: UInt32?
  public var gid: UInt32?
  public var size: UInt64?
  public var accessTime: Timestamp?
  public var modificationTime: Timestamp?
  public var changeTime: Timestamp?

  public init(
    mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil,
    size: UInt64? = nil, accessTime: Timestamp? = nil,
    modificationTime: Timestamp? = nil, changeTime: Timestamp? = nil
  ) {
    self.mode = mode
    self.uid = uid
    self.gid = gid
    self.size = size
    self.accessTime = accessTime
    self.modificationTime = modificationTime
    self.changeTime = changeTime
  }
}

/// One entry of a directory listing.
public struct DirectoryEntry: Equatable, Sendable {
  public var name: [UInt8]
  public var inode: InodeNumber
  public var kind: FileKind
  /// The position to resume after this entry. Cookies of a directory only
  /// grow and are never reused, so a listing resumed from a cookie neither
  /// repeats nor skips entries that stayed in place. They start at 3:
  /// 0 means "from the start" and the VFS may use 1 and 2 for "." and "..".
  public var cookie: UInt64

  public init(name: [UInt8], inode: InodeNumber, kind: FileKind,
              cookie: UInt64) {
    self.name = name
    self.inode = inode
    self.kind = kind
    self.cookie = cookie
  }
}

/// statfs(2) figures. Blocks are `blockSize` bytes; `freeBlocks` is what
/// writes may still use after the space the log keeps for itself.
public struct FileSystemStatistics: Equatable, Sendable {
  public var blockSize: UInt32
  public var totalBlocks: UInt64
  public var freeBlocks: UInt64
  public var availableBlocks: UInt64
  public var totalFiles: UInt64
  public var freeFiles: UInt64
  public var maxNameLength: UInt32
}

/// How rename treats an existing target, as renameat2(2)'s flags.
public enum RenameMode: UInt8, Equatable, Sendable {
  /// Replace the target if it exists (plain rename).
  case replace = 0
  /// Fail with `exists` if the target exists (RENAME_NOREPLACE).
  case noReplace = 1
  /// Swap source and target, which must both exist (RENAME_EXCHANGE).
  case exchange = 2
}

/// Limits of format version 1.
public enum FormatLimits {
  public static let maxNameLength = 255
  /// PATH_MAX less the terminating NUL.
  public static let maxSymlinkLength = 4095
  /// 2^44 bytes, 16 TiB, as ext4 with 4 KiB blocks.
  public static let maxFileSize: UInt64 = 1 << 44
  public static let maxLinks: UInt32 = 65_000
}
