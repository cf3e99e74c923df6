// The small structs that system calls exchange with a program, in their
// Linux x86_64 layouts: times (timespec, timeval, timezone), resource
// limits, terminal window sizes, I/O vectors and uname(2)'s utsname. The
// file status structs, larger, are in Stat.swift.
//
// Field names are the C names without their prefix (tv_sec is `sec`,
// rlim_cur is `cur`, iov_len is `len`), so the man pages still apply.
// Every struct is a `LinuxStruct`; see ByteCoding.swift.

/// `struct timespec` (16 bytes): seconds and nanoseconds. See
/// clock_gettime(2), nanosleep(2).
public struct Timespec: LinuxStruct, Hashable, Sendable {
  /// `tv_sec`, at offset 0.
  public var sec: Int64
  /// `tv_nsec`, at offset 8. Valid values are 0 ..< 1_000_000_000.
  public var nsec: Int64

  public init(sec: Int64, nsec: Int64) {
    self.sec = sec
    self.nsec = nsec
  }

  /// A timespec from a count of nanoseconds; negative counts round the
  /// seconds down so that `nsec` stays in range.
  public init(totalNanoseconds: Int64) {
    let (quotient, remainder) = totalNanoseconds.quotientAndRemainder(
      dividingBy: Timespec.nanosecondsPerSecond)
    if remainder < 0 {
      self.init(
        sec: quotient - 1, nsec: remainder + Timespec.nanosecondsPerSecond)
    } else {
      self.init(sec: quotient, nsec: remainder)
    }
  }

  public static let nanosecondsPerSecond: Int64 = 1_000_000_000

  /// `UTIME_NOW`: in utimensat(2), set this timestamp to the current time.
  public static let utimeNow: Int64 = (1 << 30) - 1
  /// `UTIME_OMIT`: in utimensat(2), leave this timestamp alone.
  public static let utimeOmit: Int64 = (1 << 30) - 2

  /// Whether `nsec` is in 0 ..< 1e9, which calls taking a timespec
  /// require (EINVAL otherwise). `sec` may be negative for absolute times
  /// but not for intervals; that check is each call's own.
  public var isValid: Bool {
    nsec >= 0 && nsec < Timespec.nanosecondsPerSecond
  }

  /// The time as a count of nanoseconds, or nil if that overflows Int64
  /// (beyond the years 1677 to 2262).
  public var totalNanoseconds: Int64? {
    // Before 1970 with a positive nsec, borrow a second first so that the
    // earliest representable instants do not overflow on the way.
    var seconds = sec
    var nanoseconds = nsec
    if seconds < 0 && nanoseconds > 0 {
      seconds += 1
      nanoseconds -= Timespec.nanosecondsPerSecond
    }
    let (scaled, overflow1) = seconds.multipliedReportingOverflow(
      by: Timespec.nanosecondsPerSecond)
    let (total, overflow2) = scaled.addingReportingOverflow(nanoseconds)
    return overflow1 || overflow2 ? nil : total
  }

  public static let byteCount = 16

  public func encoded() -> [UInt8] {
    var writer = ByteWriter(count: Self.byteCount)
    writer.put(sec, at: 0)
    writer.put(nsec, at: 8)
    return writer.bytes
  }

  public init?(bytes: some RandomAccessCollection<UInt8>) {
    guard let reader = ByteReader(bytes, count: Self.byteCount) else {
      return nil
    }
    sec = reader.read(Int64.self, at: 0)
    nsec = reader.read(Int64.self, at: 8)
  }
}

/// `struct timeval` (16 bytes): seconds and microseconds. See
/// gettimeofday(2), select(2).
public struct Timeval: LinuxStruct, Hashable, Sendable {
  /// `tv_sec`, at offset 0.
  public var sec: Int64
  /// `tv_usec`, at offset 8. Valid values are 0 ..< 1_000_000.
  public var usec: Int64

  public init(sec: Int64, usec: Int64) {
    self.sec = sec
    self.usec = usec
  }

  /// Whether `usec` is in 0 ..< 1e6.
  public var isValid: Bool {
    usec >= 0 && usec < 1_000_000
  }

  public static let byteCount = 16

  public func encoded() -> [UInt8] {
    var writer = ByteWriter(count: Self.byteCount)
    writer.put(sec, at: 0)
    writer.put(usec, at: 8)
    return writer.bytes
  }

  public init?(bytes: some RandomAccessCollection<UInt8>) {
    guard let reader = ByteReader(bytes, count: Self.byteCount) else {
      return nil
    }
    sec = reader.read(Int64.self, at: 0)
    usec = reader.read(Int64.self, at: 8)
  }
}

/// `struct timezone` (8 bytes), the obsolete second argument of
/// gettimeofday(2). Linux keeps it only to hand back what settimeofday(2)
/// stored.
public struct Timezone: LinuxStruct, Hashable, Sendable {
  /// `tz_minuteswest`, at offset 0: minutes west of Greenwich.
  public var minuteswest: Int32
  /// `tz_dsttime`, at offset 4: a daylight-saving correction type.
  public var dsttime: Int32

  public init(minuteswest: Int32, dsttime: Int32) {
    self.minuteswest = minuteswest
    self.dsttime = dsttime
  }

  public static let byteCount = 8

  public func encoded() -> [UInt8] {
    var writer = ByteWriter(count: Self.byteCount)
    writer.put(minuteswest, at: 0)
    writer.put(dsttime, at: 4)
    return writer.bytes
  }

  public init?(bytes: some RandomAccessCollection<UInt8>) {
    guard let reader = ByteReader(bytes, count: Self.byteCount) else {
      return nil
    }
    minuteswest = reader.read(Int32.self, at: 0)
    dsttime = reader.read(Int32.self, at: 4)
  }
}

/// `struct rlimit` (16 bytes), also `struct rlimit64`, which has the same
/// layout on x86_64. See getrlimit(2), prlimit64(2).
public struct Rlimit: LinuxStruct, Hashable, Sendable {
  /// `rlim_cur`, at offset 0: the soft limit.
  public var cur: UInt64
  /// `rlim_max`, at offset 8: the hard limit, the ceiling for `cur`.
  public var max: UInt64

  public init(cur: UInt64, max: UInt64) {
    self.cur = cur
    self.max = max
  }

  /// `RLIM_INFINITY`: no limit.
  public static let infinity: UInt64 = .max

  public static let byteCount = 16

  public func encoded() -> [UInt8] {
    var writer = ByteWriter(count: Self.byteCount)
    writer.put(cur, at: 0)
    writer.put(max, at: 8)
    return writer.bytes
  }

  public init?(bytes: some RandomAccessCollection<UInt8>) {
    guard let reader = ByteReader(bytes, count: Self.byteCount) else {
      return nil
    }
    cur = reader.read(UInt64.self, at: 0)
    max = reader.read(UInt64.self, at: 8)
  }
}

/// `struct winsize` (8 bytes), for TIOCGWINSZ and TIOCSWINSZ. See
/// ioctl_tty(2).
public struct Winsize: LinuxStruct, Hashable, Sendable {
  /// `ws_row`, at offset 0.
  public var row: UInt16
  /// `ws_col`, at offset 2.
  public var col: UInt16
  /// `ws_xpixel`, at offset 4; unused by Linux.
  public var xpixel: UInt16
  /// `ws_ypixel`, at offset 6; unused by Linux.
  public var ypixel: UInt16

  public init(row: UInt16, col: UInt16, xpixel: UInt16 = 0, ypixel: UInt16 = 0)
  {
    self.row = row
    self.col = col
    self.xpixel = xpixel
    self.ypixel = ypixel
  }

  public static let byteCount = 8

  public func encoded() -> [UInt8] {
    var writer = ByteWriter(count: Self.byteCount)
    writer.put(row, at: 0)
    writer.put(col, at: 2)
    writer.put(xpixel, at: 4)
    writer.put(ypixel, at: 6)
    return writer.bytes
  }

  public init?(bytes: some RandomAccessCollection<UInt8>) {
    guard let reader = ByteReader(bytes, count: Self.byteCount) else {
      return nil
    }
    row = reader.read(UInt16.self, at: 0)
    col = reader.read(UInt16.self, at: 2)
    xpixel = reader.read(UInt16.self, at: 4)
    ypixel = reader.read(UInt16.self, at: 6)
  }
}

/// `struct iovec` (16 bytes), one buffer of readv(2), writev(2) and the
/// msghdr calls. Decode an array with `Iovec.decodeArray(bytes:)`.
///
/// `base` is a user address, kept as a plain number here; the kernel wraps
/// it in its own user-address type before touching memory.
public struct Iovec: LinuxStruct, Hashable, Sendable {
  /// `iov_base`, at offset 0.
  public var base: UInt64
  /// `iov_len`, at offset 8.
  public var len: UInt64

  public init(base: UInt64, len: UInt64) {
    self.base = base
    self.len = len
  }

  /// `UIO_MAXIOV`: the most vectors one call accepts (EINVAL beyond).
  public static let maximumCount = 1024

  public static let byteCount = 16

  public func encoded() -> [UInt8] {
    var writer = ByteWriter(count: Self.byteCount)
    writer.put(base, at: 0)
    writer.put(len, at: 8)
    return writer.bytes
  }

  public init?(bytes: some RandomAccessCollection<UInt8>) {
    guard let reader = ByteReader(bytes, count: Self.byteCount) else {
      return nil
    }
    base = reader.read(UInt64.self, at: 0)
    len = reader.read(UInt64.self, at: 8)
  }
}

/// `struct new_utsname` (390 bytes), what uname(2) fills in: six char
/// arrays of 65 bytes each, NUL-terminated and NUL-padded.
///
/// Encoding cuts each field to 64 bytes of UTF-8 so the NUL always fits;
/// a cut can split a multibyte character, as it would in C.
///
/// Two values are equal when their fields hold the same bytes, as C's
/// strcmp would see them. (String's own == applies Unicode normalization,
/// whose tables an Embedded kernel would have to link.)
public struct Utsname: LinuxStruct, Equatable, Sendable {
  /// `sysname`, at offset 0: "Linux" for programs to believe.
  public var sysname: String
  /// `nodename`, at offset 65: the host name.
  public var nodename: String
  /// `release`, at offset 130: the kernel release, which glibc checks
  /// against its minimum supported version.
  public var release: String
  /// `version`, at offset 195.
  public var version: String
  /// `machine`, at offset 260: "x86_64".
  public var machine: String
  /// `domainname`, at offset 325: the NIS domain name.
  public var domainname: String

  public init(
    sysname: String, nodename: String, release: String, version: String,
    machine: String, domainname: String
  ) {
    self.sysname = sysname
    self.nodename = nodename
    self.release = release
    self.version = version
    self.machine = machine
    self.domainname = domainname
  }

  public static func == (left: Utsname, right: Utsname) -> Bool {
    func same(_ a: String, _ b: String) -> Bool {
      a.utf8.elementsEqual(b.utf8)
    }
    return same(left.sysname, right.sysname)
      && same(left.nodename, right.nodename)
      && same(left.release, right.release)
      && same(left.version, right.version)
      && same(left.machine, right.machine)
      && same(left.domainname, right.domainname)
  }

  /// The size of each field, `__NEW_UTS_LEN + 1`.
  public static let fieldWidth = 65

  public static let byteCount = 6 * fieldWidth

  public func encoded() -> [UInt8] {
    let width = Self.fieldWidth
    var writer = ByteWriter(count: Self.byteCount)
    writer.put(sysname, at: 0 * width, width: width)
    writer.put(nodename, at: 1 * width, width: width)
    writer.put(release, at: 2 * width, width: width)
    writer.put(version, at: 3 * width, width: width)
    writer.put(machine, at: 4 * width, width: width)
    writer.put(domainname, at: 5 * width, width: width)
    return writer.bytes
  }

  public init?(bytes: some RandomAccessCollection<UInt8>) {
    guard let reader = ByteReader(bytes, count: Self.byteCount) else {
      return nil
    }
    let width = Self.fieldWidth
    sysname = reader.string(at: 0 * width, width: width)
    nodename = reader.string(at: 1 * width, width: width)
    release = reader.string(at: 2 * width, width: width)
    version = reader.string(at: 3 * width, width: width)
    machine = reader.string(at: 4 * width, width: width)
    domainname = reader.string(at: 5 * width, width: width)
  }
}
