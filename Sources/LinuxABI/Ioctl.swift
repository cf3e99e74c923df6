// ioctl(2) request numbers the kernel answers for terminals and files, with
// x86_64's values (asm-generic/ioctls.h; see ioctl_tty(2)), and the
// _IOC encoding newer requests use.
//
// The terminal requests are the old 0x54xx numbers ('T' << 8 | n) that
// predate the encoding; newer ones such as TCGETS2 and TIOCGPTN pack a
// direction, an argument size, a type byte and a number:
//
//   bits 31-30  direction: 0 none, 1 write (user to kernel), 2 read
//   bits 29-16  size of the argument in bytes
//   bits 15-8   type, a letter per subsystem ('T' for terminals)
//   bits 7-0    number within the type
//
// Constant names are the C names in lowerCamelCase, so TIOCGWINSZ is
// `IoctlRequest.tiocgwinsz`.

/// The `request` argument of ioctl(2).
public struct IoctlRequest: RawRepresentable, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  // The direction bits of an encoded request; 3 means both ways.

  /// `_IOC_NONE`: no argument is copied.
  public static let directionNone: UInt32 = 0
  /// `_IOC_WRITE`: the kernel reads the argument from the program.
  public static let directionWrite: UInt32 = 1
  /// `_IOC_READ`: the kernel writes the argument to the program.
  public static let directionRead: UInt32 = 2

  /// A request encoded like the `_IOC` macro. Fields wider than their bits
  /// are cut to fit.
  public init(direction: UInt32, type: UInt8, number: UInt8, size: Int) {
    let sizeBits = UInt32(truncatingIfNeeded: size) & 0x3fff
    self.rawValue =
      (direction & 0x3) << 30 | sizeBits << 16 | UInt32(type) << 8
      | UInt32(number)
  }

  /// `_IOC_DIR`: the direction bits.
  public var direction: UInt32 { rawValue >> 30 }
  /// `_IOC_SIZE`: the argument size in bytes.
  public var size: Int { Int((rawValue >> 16) & 0x3fff) }
  /// `_IOC_TYPE`: the subsystem letter.
  public var type: UInt8 { UInt8(truncatingIfNeeded: rawValue >> 8) }
  /// `_IOC_NR`: the number within the type.
  public var number: UInt8 { UInt8(truncatingIfNeeded: rawValue) }

  // MARK: Terminals

  /// `TCGETS`: read the `struct termios` (36 bytes on x86_64). isatty(3)
  /// is this request; ENOTTY answers "not a terminal".
  public static let tcgets = IoctlRequest(rawValue: 0x5401)
  /// `TCSETS`: set the termios now.
  public static let tcsets = IoctlRequest(rawValue: 0x5402)
  /// `TCSETSW`: set the termios once output drains.
  public static let tcsetsw = IoctlRequest(rawValue: 0x5403)
  /// `TCSETSF`: drain output, discard input, then set the termios.
  public static let tcsetsf = IoctlRequest(rawValue: 0x5404)
  /// `TCSBRK`: tcdrain(3) when the argument is nonzero.
  public static let tcsbrk = IoctlRequest(rawValue: 0x5409)
  /// `TCXONC`: tcflow(3).
  public static let tcxonc = IoctlRequest(rawValue: 0x540A)
  /// `TCFLSH`: tcflush(3).
  public static let tcflsh = IoctlRequest(rawValue: 0x540B)
  /// `TIOCSCTTY`: make the terminal the controlling terminal.
  public static let tiocsctty = IoctlRequest(rawValue: 0x540E)
  /// `TIOCGPGRP`: read the foreground process group ID.
  public static let tiocgpgrp = IoctlRequest(rawValue: 0x540F)
  /// `TIOCSPGRP`: set the foreground process group ID.
  public static let tiocspgrp = IoctlRequest(rawValue: 0x5410)
  /// `TIOCOUTQ`: bytes waiting in the output queue.
  public static let tiocoutq = IoctlRequest(rawValue: 0x5411)
  /// `TIOCSTI`: fake input.
  public static let tiocsti = IoctlRequest(rawValue: 0x5412)
  /// `TIOCGWINSZ`: read the `struct winsize`.
  public static let tiocgwinsz = IoctlRequest(rawValue: 0x5413)
  /// `TIOCSWINSZ`: set the `struct winsize`.
  public static let tiocswinsz = IoctlRequest(rawValue: 0x5414)
  /// `TIOCNOTTY`: give up the controlling terminal.
  public static let tiocnotty = IoctlRequest(rawValue: 0x5422)
  /// `TIOCGSID`: read the session ID of the terminal.
  public static let tiocgsid = IoctlRequest(rawValue: 0x5429)
  /// `TCGETS2`: `_IOR('T', 0x2A, struct termios2)`, 44 bytes.
  public static let tcgets2 = IoctlRequest(rawValue: 0x802C_542A)
  /// `TCSETS2`: `_IOW('T', 0x2B, struct termios2)`.
  public static let tcsets2 = IoctlRequest(rawValue: 0x402C_542B)
  /// `TIOCGPTN`: `_IOR('T', 0x30, unsigned int)`, the pty number.
  public static let tiocgptn = IoctlRequest(rawValue: 0x8004_5430)
  /// `TIOCSPTLCK`: `_IOW('T', 0x31, int)`, lock or unlock a pty.
  public static let tiocsptlck = IoctlRequest(rawValue: 0x4004_5431)
  /// `TIOCGPTPEER`: `_IO('T', 0x41)`, open the pty's peer.
  public static let tiocgptpeer = IoctlRequest(rawValue: 0x5441)

  // MARK: Any file

  /// `FIONREAD` (also `TIOCINQ`): bytes ready to read, as an int.
  public static let fionread = IoctlRequest(rawValue: 0x541B)
  /// `FIONBIO`: set (nonzero int) or clear O_NONBLOCK.
  public static let fionbio = IoctlRequest(rawValue: 0x5421)
  /// `FIONCLEX`: clear FD_CLOEXEC.
  public static let fionclex = IoctlRequest(rawValue: 0x5450)
  /// `FIOCLEX`: set FD_CLOEXEC.
  public static let fioclex = IoctlRequest(rawValue: 0x5451)
  /// `FIOASYNC`: set (nonzero int) or clear O_ASYNC.
  public static let fioasync = IoctlRequest(rawValue: 0x5452)
  /// `FIOQSIZE`: the size of a file or directory, as a 64-bit offset.
  public static let fioqsize = IoctlRequest(rawValue: 0x5460)
}
