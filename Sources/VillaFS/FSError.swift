// The errors of the filesystem and of the block devices under it.
//
// Both are small enums of this module's own: the kernel maps FSError to an
// errno in one place (its VFS), and the host CLI prints `description`.
// `corrupted` carries a short reason naming what failed to check out, so a
// damaged image produces a message that says where, never a trap.

/// Why a block device request failed.
public enum BlockDeviceError: Error, Equatable, Sendable {
  /// The request reached past the last block, or its buffer did not hold
  /// exactly `count` blocks.
  case outOfRange
  /// The device reported a failure.
  case ioError
  /// The device refuses writes.
  case readOnly
}

/// Why a filesystem operation failed.
public enum FSError: Error, Equatable, Sendable {
  /// No such inode or directory entry (ENOENT).
  case notFound
  /// The name is already taken (EEXIST).
  case exists
  /// A directory was needed (ENOTDIR).
  case notDirectory
  /// The operation does not apply to a directory (EISDIR).
  case isDirectory
  /// rmdir or a replacing rename met a directory with entries (ENOTEMPTY).
  case notEmpty
  /// The log cannot hold the change, even after cleaning (ENOSPC).
  case noSpace
  /// A name longer than `FormatLimits.maxNameLength` (ENAMETOOLONG).
  case nameTooLong
  /// A bad argument: an empty name, "." or "..", a slash in a name,
  /// moving a directory into itself (EINVAL).
  case invalid
  /// Hard links to directories (EPERM).
  case notPermitted
  /// nlink would pass `FormatLimits.maxLinks` (EMLINK).
  case tooManyLinks
  /// An offset or size past `FormatLimits.maxFileSize` (EFBIG).
  case fileTooLarge
  /// The filesystem is mounted read-only, or stopped after an I/O
  /// failure left memory and disk apart (EROFS).
  case readOnly
  /// The device failed a request (EIO).
  case io
  /// The on-disk structures do not check out; the reason says which.
  case corrupted(String)
  /// The superblock is of a format version this code does not read.
  case unsupportedVersion(UInt32)
}

extension FSError {
  /// A short English description, for the host CLI and kernel logs.
  public var description: String {
    switch self {
    case .notFound: return "no such file or directory"
    case .exists: return "file exists"
    case .notDirectory: return "not a directory"
    case .isDirectory: return "is a directory"
    case .notEmpty: return "directory not empty"
    case .noSpace: return "no space left on device"
    case .nameTooLong: return "file name too long"
    case .invalid: return "invalid argument"
    case .notPermitted: return "operation not permitted"
    case .tooManyLinks: return "too many links"
    case .fileTooLarge: return "file too large"
    case .readOnly: return "read-only filesystem"
    case .io: return "input/output error"
    case .corrupted(let reason): return "filesystem corrupted: " + reason
    case .unsupportedVersion(let version):
      return "unsupported filesystem format version \(version)"
    }
  }
}
