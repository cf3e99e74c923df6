// File modes: the st_mode word of stat(2), which holds a file type in its
// top bits and permission bits below, and the mode argument of open(2),
// mkdir(2) and chmod(2). Values are Linux's (linux/stat.h), shared by every
// architecture. See inode(7).
//
// Constant names drop the S_ prefix and use lowerCamelCase, so S_IFREG is
// `FileMode.ifreg` and S_IRUSR is `FileMode.irusr`.

/// A file mode: type bits (`ifmt`) and permission bits (07777).
///
/// Not an OptionSet: the type is a four-bit number, and S_IFSOCK shares
/// bits with S_IFREG and S_IFDIR, so compare `type` with `==` instead of
/// testing bits.
public struct FileMode: RawRepresentable, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// A mode made of a file type (one of `ifsock` ... `ififo`) and
  /// permission bits; bits of `permissions` outside 07777 are dropped.
  public init(type: FileMode, permissions: UInt32) {
    self.rawValue =
      (type.rawValue & FileMode.ifmt.rawValue)
      | (permissions & FileMode.permissionMask)
  }

  /// The file type: `rawValue & S_IFMT`.
  public var type: FileMode {
    FileMode(rawValue: rawValue & FileMode.ifmt.rawValue)
  }

  /// The permission bits, set-ID bits and sticky bit: `rawValue & 07777`.
  public var permissions: UInt32 {
    rawValue & FileMode.permissionMask
  }

  /// The bits chmod(2) can change.
  public static let permissionMask: UInt32 = 0o7777

  // MARK: File types

  /// `S_IFMT`: the mask of the file type.
  public static let ifmt = FileMode(rawValue: 0o170000)
  /// `S_IFSOCK`: socket.
  public static let ifsock = FileMode(rawValue: 0o140000)
  /// `S_IFLNK`: symbolic link.
  public static let iflnk = FileMode(rawValue: 0o120000)
  /// `S_IFREG`: regular file.
  public static let ifreg = FileMode(rawValue: 0o100000)
  /// `S_IFBLK`: block device.
  public static let ifblk = FileMode(rawValue: 0o060000)
  /// `S_IFDIR`: directory.
  public static let ifdir = FileMode(rawValue: 0o040000)
  /// `S_IFCHR`: character device.
  public static let ifchr = FileMode(rawValue: 0o020000)
  /// `S_IFIFO`: FIFO (pipe).
  public static let ififo = FileMode(rawValue: 0o010000)

  // MARK: Permission bits

  /// `S_ISUID`: set user ID on execution.
  public static let isuid: UInt32 = 0o4000
  /// `S_ISGID`: set group ID on execution.
  public static let isgid: UInt32 = 0o2000
  /// `S_ISVTX`: sticky bit.
  public static let isvtx: UInt32 = 0o1000
  /// `S_IRWXU`: owner may read, write and execute.
  public static let irwxu: UInt32 = 0o700
  /// `S_IRUSR`
  public static let irusr: UInt32 = 0o400
  /// `S_IWUSR`
  public static let iwusr: UInt32 = 0o200
  /// `S_IXUSR`
  public static let ixusr: UInt32 = 0o100
  /// `S_IRWXG`: group may read, write and execute.
  public static let irwxg: UInt32 = 0o070
  /// `S_IRGRP`
  public static let irgrp: UInt32 = 0o040
  /// `S_IWGRP`
  public static let iwgrp: UInt32 = 0o020
  /// `S_IXGRP`
  public static let ixgrp: UInt32 = 0o010
  /// `S_IRWXO`: others may read, write and execute.
  public static let irwxo: UInt32 = 0o007
  /// `S_IROTH`
  public static let iroth: UInt32 = 0o004
  /// `S_IWOTH`
  public static let iwoth: UInt32 = 0o002
  /// `S_IXOTH`
  public static let ixoth: UInt32 = 0o001
}
