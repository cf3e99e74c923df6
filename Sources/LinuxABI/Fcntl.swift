// Commands and flag words of fcntl(2): the F_* commands, the FD_CLOEXEC
// descriptor flag and the F_SEAL_* seals of memfd files. Values are
// x86_64's (asm-generic/fcntl.h and linux/fcntl.h). The F_GETLK64 family
// (12...14) is left out: it exists only for 32-bit ABIs, and on x86_64
// F_GETLK already takes the 64-bit struct flock.
//
// Constant names drop the F_ prefix and use lowerCamelCase, so
// F_DUPFD_CLOEXEC is `FcntlCommand.dupfdCloexec`.

/// The `cmd` argument of fcntl(2).
public struct FcntlCommand: RawRepresentable, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// `F_DUPFD`: duplicate onto the lowest free descriptor >= arg.
  public static let dupfd = FcntlCommand(rawValue: 0)
  /// `F_GETFD`: read the descriptor flags (FD_CLOEXEC).
  public static let getfd = FcntlCommand(rawValue: 1)
  /// `F_SETFD`: set the descriptor flags.
  public static let setfd = FcntlCommand(rawValue: 2)
  /// `F_GETFL`: read the access mode and file status flags.
  public static let getfl = FcntlCommand(rawValue: 3)
  /// `F_SETFL`: set the file status flags; only O_APPEND, O_ASYNC,
  /// O_DIRECT, O_NOATIME and O_NONBLOCK can change.
  public static let setfl = FcntlCommand(rawValue: 4)
  /// `F_GETLK`: test for a POSIX record lock.
  public static let getlk = FcntlCommand(rawValue: 5)
  /// `F_SETLK`: take or release a POSIX record lock without waiting.
  public static let setlk = FcntlCommand(rawValue: 6)
  /// `F_SETLKW`: take a POSIX record lock, waiting for it.
  public static let setlkw = FcntlCommand(rawValue: 7)
  /// `F_SETOWN`: set the process that receives SIGIO.
  public static let setown = FcntlCommand(rawValue: 8)
  /// `F_GETOWN`
  public static let getown = FcntlCommand(rawValue: 9)
  /// `F_SETSIG`: choose the signal sent instead of SIGIO.
  public static let setsig = FcntlCommand(rawValue: 10)
  /// `F_GETSIG`
  public static let getsig = FcntlCommand(rawValue: 11)
  /// `F_SETOWN_EX`
  public static let setownEx = FcntlCommand(rawValue: 15)
  /// `F_GETOWN_EX`
  public static let getownEx = FcntlCommand(rawValue: 16)
  /// `F_GETOWNER_UIDS`
  public static let getownerUids = FcntlCommand(rawValue: 17)
  /// `F_OFD_GETLK`: open file description locks.
  public static let ofdGetlk = FcntlCommand(rawValue: 36)
  /// `F_OFD_SETLK`
  public static let ofdSetlk = FcntlCommand(rawValue: 37)
  /// `F_OFD_SETLKW`
  public static let ofdSetlkw = FcntlCommand(rawValue: 38)

  // Linux-specific commands start at F_LINUX_SPECIFIC_BASE, 1024.

  /// `F_SETLEASE`
  public static let setlease = FcntlCommand(rawValue: 1024)
  /// `F_GETLEASE`
  public static let getlease = FcntlCommand(rawValue: 1025)
  /// `F_NOTIFY`: dnotify.
  public static let notify = FcntlCommand(rawValue: 1026)
  /// `F_DUPFD_QUERY` (Linux 6.10): does arg refer to the same file?
  public static let dupfdQuery = FcntlCommand(rawValue: 1027)
  /// `F_CREATED_QUERY` (Linux 6.12): did this open create the file?
  public static let createdQuery = FcntlCommand(rawValue: 1028)
  /// `F_CANCELLK`
  public static let cancellk = FcntlCommand(rawValue: 1029)
  /// `F_DUPFD_CLOEXEC`: like `dupfd`, with FD_CLOEXEC set on the copy.
  public static let dupfdCloexec = FcntlCommand(rawValue: 1030)
  /// `F_SETPIPE_SZ`: resize a pipe's buffer.
  public static let setpipeSz = FcntlCommand(rawValue: 1031)
  /// `F_GETPIPE_SZ`
  public static let getpipeSz = FcntlCommand(rawValue: 1032)
  /// `F_ADD_SEALS`: add `SealFlags` to a memfd.
  public static let addSeals = FcntlCommand(rawValue: 1033)
  /// `F_GET_SEALS`
  public static let getSeals = FcntlCommand(rawValue: 1034)
  /// `F_GET_RW_HINT`
  public static let getRwHint = FcntlCommand(rawValue: 1035)
  /// `F_SET_RW_HINT`
  public static let setRwHint = FcntlCommand(rawValue: 1036)
  /// `F_GET_FILE_RW_HINT`
  public static let getFileRwHint = FcntlCommand(rawValue: 1037)
  /// `F_SET_FILE_RW_HINT`
  public static let setFileRwHint = FcntlCommand(rawValue: 1038)
}

/// The descriptor flags of fcntl(F_GETFD) and fcntl(F_SETFD).
public struct FileDescriptorFlags: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// `FD_CLOEXEC`: close the descriptor on execve(2).
  public static let cloexec = FileDescriptorFlags(rawValue: 1)
}

/// Seals of fcntl(F_ADD_SEALS) and fcntl(F_GET_SEALS). See memfd_create(2).
public struct SealFlags: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// `F_SEAL_SEAL`: no more seals may be added.
  public static let seal = SealFlags(rawValue: 0x01)
  /// `F_SEAL_SHRINK`: the file may not shrink.
  public static let shrink = SealFlags(rawValue: 0x02)
  /// `F_SEAL_GROW`: the file may not grow.
  public static let grow = SealFlags(rawValue: 0x04)
  /// `F_SEAL_WRITE`: the contents may not change.
  public static let write = SealFlags(rawValue: 0x08)
  /// `F_SEAL_FUTURE_WRITE`: no new writable mappings or writes.
  public static let futureWrite = SealFlags(rawValue: 0x10)
  /// `F_SEAL_EXEC` (Linux 6.3): the execute bits may not change.
  public static let exec = SealFlags(rawValue: 0x20)
}
