// Flags of the calls that open and look up paths: the O_* flags of open(2)
// and openat(2), and the AT_* flags and the AT_FDCWD directory of the *at
// calls (openat(2), newfstatat(2), statx(2), unlinkat(2), ...). Values are
// x86_64's, which are asm-generic/fcntl.h and linux/fcntl.h unchanged.
//
// Constant names drop the C prefix and use lowerCamelCase, so O_CLOEXEC is
// `OpenFlags.cloexec` and AT_SYMLINK_NOFOLLOW is `AtFlags.symlinkNofollow`.

/// The `flags` argument of open(2), and the file status flags that
/// fcntl(F_GETFL) reports.
///
/// The low two bits (`accmode`) are the access mode, a number rather than
/// independent bits: read-only is 0, so test it with
/// `flags.accessMode == .rdonly`, never with `contains`.
public struct OpenFlags: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// The access mode: `rawValue & O_ACCMODE`.
  public var accessMode: OpenFlags {
    OpenFlags(rawValue: rawValue & OpenFlags.accmode.rawValue)
  }

  /// `O_RDONLY`: access mode 0, hence the empty set.
  public static let rdonly: OpenFlags = []
  /// `O_WRONLY`: access mode 1.
  public static let wronly = OpenFlags(rawValue: 0o1)
  /// `O_RDWR`: access mode 2.
  public static let rdwr = OpenFlags(rawValue: 0o2)
  /// `O_ACCMODE`: the mask of the access mode. Mode 3 is invalid for
  /// files; Linux uses it for ioctl-only opens of some devices.
  public static let accmode = OpenFlags(rawValue: 0o3)

  /// `O_CREAT`: create the file if it does not exist.
  public static let creat = OpenFlags(rawValue: 0o100)
  /// `O_EXCL`: with `creat`, fail with EEXIST if the file exists.
  public static let excl = OpenFlags(rawValue: 0o200)
  /// `O_NOCTTY`: do not make a terminal the controlling terminal.
  public static let noctty = OpenFlags(rawValue: 0o400)
  /// `O_TRUNC`: truncate a regular file to length 0.
  public static let trunc = OpenFlags(rawValue: 0o1000)
  /// `O_APPEND`: every write goes to the end of the file.
  public static let append = OpenFlags(rawValue: 0o2000)
  /// `O_NONBLOCK` (also `O_NDELAY`).
  public static let nonblock = OpenFlags(rawValue: 0o4000)
  /// `O_DSYNC`: writes wait for the data to reach storage.
  public static let dsync = OpenFlags(rawValue: 0o1_0000)
  /// `FASYNC` (`O_ASYNC`): signal-driven I/O; set with fcntl(F_SETFL).
  public static let async = OpenFlags(rawValue: 0o2_0000)
  /// `O_DIRECT`: bypass the page cache.
  public static let direct = OpenFlags(rawValue: 0o4_0000)
  /// `O_LARGEFILE`: always implied on 64-bit; Linux sets it itself.
  public static let largefile = OpenFlags(rawValue: 0o10_0000)
  /// `O_DIRECTORY`: fail with ENOTDIR unless the path is a directory.
  public static let directory = OpenFlags(rawValue: 0o20_0000)
  /// `O_NOFOLLOW`: fail with ELOOP if the last component is a symlink.
  public static let nofollow = OpenFlags(rawValue: 0o40_0000)
  /// `O_NOATIME`: do not update the access time.
  public static let noatime = OpenFlags(rawValue: 0o100_0000)
  /// `O_CLOEXEC`: set FD_CLOEXEC on the new descriptor.
  public static let cloexec = OpenFlags(rawValue: 0o200_0000)
  /// `O_SYNC`: `__O_SYNC | O_DSYNC`, so it contains `dsync`.
  public static let sync = OpenFlags(rawValue: 0o401_0000)
  /// `O_PATH`: a descriptor that only names a location.
  public static let path = OpenFlags(rawValue: 0o1000_0000)
  /// `O_TMPFILE`: `__O_TMPFILE | O_DIRECTORY`, an unnamed file in the
  /// given directory.
  public static let tmpfile = OpenFlags(rawValue: 0o2020_0000)
  /// `O_NDELAY`: the old name of `nonblock`.
  public static let ndelay = nonblock
}

/// The `flags` argument of the *at calls. Which bits a call accepts
/// differs from call to call; see each man page.
public struct AtFlags: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// `AT_FDCWD`: not a flag but the `dirfd` value that makes a relative
  /// path start at the current directory.
  public static let fdcwd: Int32 = -100

  /// `AT_SYMLINK_NOFOLLOW`: do not follow a final symbolic link.
  public static let symlinkNofollow = AtFlags(rawValue: 0x100)
  /// `AT_REMOVEDIR`: unlinkat(2) removes a directory, like rmdir(2).
  public static let removedir = AtFlags(rawValue: 0x200)
  /// `AT_EACCESS`: faccessat(2) checks with the effective IDs. Same bit
  /// as `removedir`; the two belong to different calls.
  public static let eaccess = AtFlags(rawValue: 0x200)
  /// `AT_SYMLINK_FOLLOW`: linkat(2) follows a final symbolic link.
  public static let symlinkFollow = AtFlags(rawValue: 0x400)
  /// `AT_NO_AUTOMOUNT`: do not trigger an automount.
  public static let noAutomount = AtFlags(rawValue: 0x800)
  /// `AT_EMPTY_PATH`: an empty path means `dirfd` itself.
  public static let emptyPath = AtFlags(rawValue: 0x1000)
  /// `AT_STATX_SYNC_TYPE`: the mask of statx(2)'s synchronisation mode.
  /// Mode 0 is `AT_STATX_SYNC_AS_STAT`, what stat(2) does.
  public static let statxSyncType = AtFlags(rawValue: 0x6000)
  /// `AT_STATX_FORCE_SYNC`: statx(2) refreshes attributes from the server.
  public static let statxForceSync = AtFlags(rawValue: 0x2000)
  /// `AT_STATX_DONT_SYNC`: statx(2) may answer from cached attributes.
  public static let statxDontSync = AtFlags(rawValue: 0x4000)
  /// `AT_RECURSIVE`: apply to the whole subtree (mount calls).
  public static let recursive = AtFlags(rawValue: 0x8000)
}
