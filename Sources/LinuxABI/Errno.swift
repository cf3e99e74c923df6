// Linux error numbers, as a Swift error type.
//
// Every failing system call ends as one of these values, negated in rax.
// Villa's lower layers keep small error enums of their own and map them to
// an Errno in one place; this file only defines the numbers. The values are
// those of Linux on x86_64 (asm-generic/errno-base.h and errno.h), which
// are also what musl and glibc use there. See errno(3).
//
// The constants keep Linux's spelling (`Errno.ENOENT`), because that is
// the name every man page, strace line and libc header uses.

/// A Linux error number, such as `Errno.ENOENT` (2).
///
/// Any value can be wrapped, so numbers outside the table survive a round
/// trip; `name` falls back to "errno N" for them.
public struct Errno: Error, Equatable, Hashable, Sendable, RawRepresentable,
  CustomStringConvertible
{
  public var rawValue: Int32

  public init(rawValue: Int32) {
    self.rawValue = rawValue
  }

  public init(_ rawValue: Int32) {
    self.rawValue = rawValue
  }

  /// The largest value a system call may return negated as an error. The
  /// syscall ABI treats results in -4095...-1 as errors and everything
  /// else as success, which is how libc tells an address from a failure.
  public static let maximumSyscallErrno: Int32 = 4095

  /// The errno carried by a raw system call result, or nil when the result
  /// is a success (anything outside -4095...-1).
  public init?(syscallResult result: Int) {
    guard result < 0 && result >= -Int(Errno.maximumSyscallErrno) else {
      return nil
    }
    self.rawValue = Int32(-result)
  }

  /// The raw system call result that reports this error: its negation.
  public var syscallResult: Int {
    -Int(rawValue)
  }

  /// The symbolic name, such as "ENOENT", or "errno N" for a value Linux
  /// does not define. Aliases give their canonical name: EWOULDBLOCK reads
  /// "EAGAIN", ENOTSUP reads "EOPNOTSUPP".
  public var name: String {
    let index = Int(rawValue) - 1
    if index >= 0 && index < Errno.names.count && !Errno.names[index].isEmpty
    {
      return Errno.names[index]
    }
    return "errno \(rawValue)"
  }

  public var description: String {
    name
  }

  /// Names of 1...133, indexed by value minus one. Linux leaves 41 and 58
  /// unassigned (they were EWOULDBLOCK and EDEADLOCK before those became
  /// aliases), so their slots are empty.
  static let names: [String] = [
    /* 1 */ "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG",
    /* 8 */ "ENOEXEC", "EBADF", "ECHILD", "EAGAIN", "ENOMEM", "EACCES",
    /* 14 */ "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV", "ENODEV",
    /* 20 */ "ENOTDIR", "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY",
    /* 26 */ "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE", "EROFS", "EMLINK",
    /* 32 */ "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG",
    /* 37 */ "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP", "", "ENOMSG",
    /* 43 */ "EIDRM", "ECHRNG", "EL2NSYNC", "EL3HLT", "EL3RST", "ELNRNG",
    /* 49 */ "EUNATCH", "ENOCSI", "EL2HLT", "EBADE", "EBADR", "EXFULL",
    /* 55 */ "ENOANO", "EBADRQC", "EBADSLT", "", "EBFONT", "ENOSTR",
    /* 61 */ "ENODATA", "ETIME", "ENOSR", "ENONET", "ENOPKG", "EREMOTE",
    /* 67 */ "ENOLINK", "EADV", "ESRMNT", "ECOMM", "EPROTO", "EMULTIHOP",
    /* 73 */ "EDOTDOT", "EBADMSG", "EOVERFLOW", "ENOTUNIQ", "EBADFD",
    /* 78 */ "EREMCHG", "ELIBACC", "ELIBBAD", "ELIBSCN", "ELIBMAX",
    /* 83 */ "ELIBEXEC", "EILSEQ", "ERESTART", "ESTRPIPE", "EUSERS",
    /* 88 */ "ENOTSOCK", "EDESTADDRREQ", "EMSGSIZE", "EPROTOTYPE",
    /* 92 */ "ENOPROTOOPT", "EPROTONOSUPPORT", "ESOCKTNOSUPPORT",
    /* 95 */ "EOPNOTSUPP", "EPFNOSUPPORT", "EAFNOSUPPORT", "EADDRINUSE",
    /* 99 */ "EADDRNOTAVAIL", "ENETDOWN", "ENETUNREACH", "ENETRESET",
    /* 103 */ "ECONNABORTED", "ECONNRESET", "ENOBUFS", "EISCONN",
    /* 107 */ "ENOTCONN", "ESHUTDOWN", "ETOOMANYREFS", "ETIMEDOUT",
    /* 111 */ "ECONNREFUSED", "EHOSTDOWN", "EHOSTUNREACH", "EALREADY",
    /* 115 */ "EINPROGRESS", "ESTALE", "EUCLEAN", "ENOTNAM", "ENAVAIL",
    /* 120 */ "EISNAM", "EREMOTEIO", "EDQUOT", "ENOMEDIUM", "EMEDIUMTYPE",
    /* 125 */ "ECANCELED", "ENOKEY", "EKEYEXPIRED", "EKEYREVOKED",
    /* 129 */ "EKEYREJECTED", "EOWNERDEAD", "ENOTRECOVERABLE", "ERFKILL",
    /* 133 */ "EHWPOISON",
  ]
}

// MARK: - The classic Unix errors, 1 through 34 (errno-base.h)

extension Errno {
  /// Operation not permitted.
  public static let EPERM = Errno(1)
  /// No such file or directory.
  public static let ENOENT = Errno(2)
  /// No such process.
  public static let ESRCH = Errno(3)
  /// Interrupted system call.
  public static let EINTR = Errno(4)
  /// Input/output error.
  public static let EIO = Errno(5)
  /// No such device or address.
  public static let ENXIO = Errno(6)
  /// Argument list too long.
  public static let E2BIG = Errno(7)
  /// Exec format error.
  public static let ENOEXEC = Errno(8)
  /// Bad file descriptor.
  public static let EBADF = Errno(9)
  /// No child processes.
  public static let ECHILD = Errno(10)
  /// Resource temporarily unavailable.
  public static let EAGAIN = Errno(11)
  /// Cannot allocate memory.
  public static let ENOMEM = Errno(12)
  /// Permission denied.
  public static let EACCES = Errno(13)
  /// Bad address: a user pointer that does not map readable or writable
  /// memory.
  public static let EFAULT = Errno(14)
  /// Block device required.
  public static let ENOTBLK = Errno(15)
  /// Device or resource busy.
  public static let EBUSY = Errno(16)
  /// File exists.
  public static let EEXIST = Errno(17)
  /// Invalid cross-device link.
  public static let EXDEV = Errno(18)
  /// No such device.
  public static let ENODEV = Errno(19)
  /// Not a directory.
  public static let ENOTDIR = Errno(20)
  /// Is a directory.
  public static let EISDIR = Errno(21)
  /// Invalid argument.
  public static let EINVAL = Errno(22)
  /// Too many open files in system.
  public static let ENFILE = Errno(23)
  /// Too many open files (in this process).
  public static let EMFILE = Errno(24)
  /// Inappropriate ioctl for device.
  public static let ENOTTY = Errno(25)
  /// Text file busy.
  public static let ETXTBSY = Errno(26)
  /// File too large.
  public static let EFBIG = Errno(27)
  /// No space left on device.
  public static let ENOSPC = Errno(28)
  /// Illegal seek.
  public static let ESPIPE = Errno(29)
  /// Read-only file system.
  public static let EROFS = Errno(30)
  /// Too many links.
  public static let EMLINK = Errno(31)
  /// Broken pipe.
  public static let EPIPE = Errno(32)
  /// Numerical argument out of domain.
  public static let EDOM = Errno(33)
  /// Numerical result out of range.
  public static let ERANGE = Errno(34)
}

// MARK: - Linux's own errors, 35 through 133 (errno.h)

extension Errno {
  /// Resource deadlock avoided.
  public static let EDEADLK = Errno(35)
  /// File name too long.
  public static let ENAMETOOLONG = Errno(36)
  /// No locks available.
  public static let ENOLCK = Errno(37)
  /// Function not implemented: the answer to any system call Villa lacks.
  public static let ENOSYS = Errno(38)
  /// Directory not empty.
  public static let ENOTEMPTY = Errno(39)
  /// Too many levels of symbolic links.
  public static let ELOOP = Errno(40)
  /// No message of desired type.
  public static let ENOMSG = Errno(42)
  /// Identifier removed.
  public static let EIDRM = Errno(43)
  /// Channel number out of range.
  public static let ECHRNG = Errno(44)
  /// Level 2 not synchronized.
  public static let EL2NSYNC = Errno(45)
  /// Level 3 halted.
  public static let EL3HLT = Errno(46)
  /// Level 3 reset.
  public static let EL3RST = Errno(47)
  /// Link number out of range.
  public static let ELNRNG = Errno(48)
  /// Protocol driver not attached.
  public static let EUNATCH = Errno(49)
  /// No CSI structure available.
  public static let ENOCSI = Errno(50)
  /// Level 2 halted.
  public static let EL2HLT = Errno(51)
  /// Invalid exchange.
  public static let EBADE = Errno(52)
  /// Invalid request descriptor.
  public static let EBADR = Errno(53)
  /// Exchange full.
  public static let EXFULL = Errno(54)
  /// No anode.
  public static let ENOANO = Errno(55)
  /// Invalid request code.
  public static let EBADRQC = Errno(56)
  /// Invalid slot.
  public static let EBADSLT = Errno(57)
  /// Bad font file format.
  public static let EBFONT = Errno(59)
  /// Device not a stream.
  public static let ENOSTR = Errno(60)
  /// No data available.
  public static let ENODATA = Errno(61)
  /// Timer expired.
  public static let ETIME = Errno(62)
  /// Out of streams resources.
  public static let ENOSR = Errno(63)
  /// Machine is not on the network.
  public static let ENONET = Errno(64)
  /// Package not installed.
  public static let ENOPKG = Errno(65)
  /// Object is remote.
  public static let EREMOTE = Errno(66)
  /// Link has been severed.
  public static let ENOLINK = Errno(67)
  /// Advertise error.
  public static let EADV = Errno(68)
  /// Srmount error.
  public static let ESRMNT = Errno(69)
  /// Communication error on send.
  public static let ECOMM = Errno(70)
  /// Protocol error.
  public static let EPROTO = Errno(71)
  /// Multihop attempted.
  public static let EMULTIHOP = Errno(72)
  /// RFS specific error.
  public static let EDOTDOT = Errno(73)
  /// Bad message.
  public static let EBADMSG = Errno(74)
  /// Value too large for defined data type.
  public static let EOVERFLOW = Errno(75)
  /// Name not unique on network.
  public static let ENOTUNIQ = Errno(76)
  /// File descriptor in bad state.
  public static let EBADFD = Errno(77)
  /// Remote address changed.
  public static let EREMCHG = Errno(78)
  /// Can not access a needed shared library.
  public static let ELIBACC = Errno(79)
  /// Accessing a corrupted shared library.
  public static let ELIBBAD = Errno(80)
  /// .lib section in a.out corrupted.
  public static let ELIBSCN = Errno(81)
  /// Attempting to link in too many shared libraries.
  public static let ELIBMAX = Errno(82)
  /// Cannot exec a shared library directly.
  public static let ELIBEXEC = Errno(83)
  /// Invalid or incomplete multibyte or wide character.
  public static let EILSEQ = Errno(84)
  /// Interrupted system call should be restarted.
  public static let ERESTART = Errno(85)
  /// Streams pipe error.
  public static let ESTRPIPE = Errno(86)
  /// Too many users.
  public static let EUSERS = Errno(87)
  /// Socket operation on non-socket.
  public static let ENOTSOCK = Errno(88)
  /// Destination address required.
  public static let EDESTADDRREQ = Errno(89)
  /// Message too long.
  public static let EMSGSIZE = Errno(90)
  /// Protocol wrong type for socket.
  public static let EPROTOTYPE = Errno(91)
  /// Protocol not available.
  public static let ENOPROTOOPT = Errno(92)
  /// Protocol not supported.
  public static let EPROTONOSUPPORT = Errno(93)
  /// Socket type not supported.
  public static let ESOCKTNOSUPPORT = Errno(94)
  /// Operation not supported: the answer to a known call used with a mode
  /// or flag Villa does not implement.
  public static let EOPNOTSUPP = Errno(95)
  /// Protocol family not supported.
  public static let EPFNOSUPPORT = Errno(96)
  /// Address family not supported by protocol.
  public static let EAFNOSUPPORT = Errno(97)
  /// Address already in use.
  public static let EADDRINUSE = Errno(98)
  /// Cannot assign requested address.
  public static let EADDRNOTAVAIL = Errno(99)
  /// Network is down.
  public static let ENETDOWN = Errno(100)
  /// Network is unreachable.
  public static let ENETUNREACH = Errno(101)
  /// Network dropped connection on reset.
  public static let ENETRESET = Errno(102)
  /// Software caused connection abort.
  public static let ECONNABORTED = Errno(103)
  /// Connection reset by peer.
  public static let ECONNRESET = Errno(104)
  /// No buffer space available.
  public static let ENOBUFS = Errno(105)
  /// Transport endpoint is already connected.
  public static let EISCONN = Errno(106)
  /// Transport endpoint is not connected.
  public static let ENOTCONN = Errno(107)
  /// Cannot send after transport endpoint shutdown.
  public static let ESHUTDOWN = Errno(108)
  /// Too many references: cannot splice.
  public static let ETOOMANYREFS = Errno(109)
  /// Connection timed out.
  public static let ETIMEDOUT = Errno(110)
  /// Connection refused.
  public static let ECONNREFUSED = Errno(111)
  /// Host is down.
  public static let EHOSTDOWN = Errno(112)
  /// No route to host.
  public static let EHOSTUNREACH = Errno(113)
  /// Operation already in progress.
  public static let EALREADY = Errno(114)
  /// Operation now in progress.
  public static let EINPROGRESS = Errno(115)
  /// Stale file handle.
  public static let ESTALE = Errno(116)
  /// Structure needs cleaning.
  public static let EUCLEAN = Errno(117)
  /// Not a XENIX named type file.
  public static let ENOTNAM = Errno(118)
  /// No XENIX semaphores available.
  public static let ENAVAIL = Errno(119)
  /// Is a named type file.
  public static let EISNAM = Errno(120)
  /// Remote I/O error.
  public static let EREMOTEIO = Errno(121)
  /// Disk quota exceeded.
  public static let EDQUOT = Errno(122)
  /// No medium found.
  public static let ENOMEDIUM = Errno(123)
  /// Wrong medium type.
  public static let EMEDIUMTYPE = Errno(124)
  /// Operation canceled.
  public static let ECANCELED = Errno(125)
  /// Required key not available.
  public static let ENOKEY = Errno(126)
  /// Key has expired.
  public static let EKEYEXPIRED = Errno(127)
  /// Key has been revoked.
  public static let EKEYREVOKED = Errno(128)
  /// Key was rejected by service.
  public static let EKEYREJECTED = Errno(129)
  /// Owner died: the holder of a robust mutex exited.
  public static let EOWNERDEAD = Errno(130)
  /// State not recoverable.
  public static let ENOTRECOVERABLE = Errno(131)
  /// Operation not possible due to RF-kill.
  public static let ERFKILL = Errno(132)
  /// Memory page has hardware error.
  public static let EHWPOISON = Errno(133)
}

// MARK: - Aliases

extension Errno {
  /// Same value as EAGAIN; Linux never distinguished the two.
  public static let EWOULDBLOCK = EAGAIN
  /// Same value as EDEADLK on x86_64 (other architectures differ).
  public static let EDEADLOCK = EDEADLK
  /// Same value as EOPNOTSUPP on Linux.
  public static let ENOTSUP = EOPNOTSUPP
}
