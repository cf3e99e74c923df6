// strace for Villa (`villa run --trace`): one @trace line per system call
// on the kernel channel, "name(arguments) = result", with strings, common
// flags and errno names decoded. Tracing is decided per call number from
// a table filled only when tracing is on, so with it off the dispatcher
// pays one array lookup of a false flag.

import LinuxABI

enum SyscallTrace {
  /// How to show one argument.
  enum Argument {
    case int, unsigned, hex, fd, dirfd, path, octal
    /// A user buffer written by the program; its length is argument N.
    case input(length: Int)
    /// A user buffer filled by the call; shown with the result's length.
    case output
    case openFlags, protection, mmapFlags, clock, signal, atFlags
  }

  private static var traced: [Bool] = []
  private(set) static var isEnabled = false

  /// "trace" traces everything; "trace=openat,read" only those names.
  static func configure(_ option: String) {
    var names: [String] = []
    if option.hasPrefix("trace=") {
      names = option.dropFirst(6).split(separator: ",").map(String.init)
    }
    traced = [Bool](repeating: names.isEmpty,
                    count: SyscallTable.highest + 1)
    for name in names {
      if let number = SyscallTable.number(named: name) {
        traced[number] = true
      }
    }
    isEnabled = true
  }

  static func shouldTrace(_ number: Int) -> Bool {
    isEnabled && number >= 0 && number < traced.count && traced[number]
  }

  /// The argument kinds of the calls shown in detail; others show three
  /// hexadecimal arguments.
  static func signature(_ number: Int) -> [Argument] {
    switch SyscallNumber(rawValue: number) {
    case .read, .pread64: return [.fd, .output, .unsigned]
    case .write, .pwrite64: return [.fd, .input(length: 2), .unsigned]
    case .open: return [.path, .openFlags, .octal]
    case .openat: return [.dirfd, .path, .openFlags, .octal]
    case .close, .fsync, .fdatasync, .dup: return [.fd]
    case .stat, .lstat: return [.path, .hex]
    case .fstat: return [.fd, .hex]
    case .newfstatat: return [.dirfd, .path, .hex, .atFlags]
    case .statx: return [.dirfd, .path, .atFlags, .hex, .hex]
    case .lseek: return [.fd, .int, .int]
    case .mmap: return [.hex, .unsigned, .protection, .mmapFlags, .fd, .hex]
    case .mprotect: return [.hex, .unsigned, .protection]
    case .munmap: return [.hex, .unsigned]
    case .brk: return [.hex]
    case .ioctl: return [.fd, .hex, .hex]
    case .access: return [.path, .int]
    case .faccessat, .faccessat2: return [.dirfd, .path, .int]
    case .mkdir: return [.path, .octal]
    case .mkdirat: return [.dirfd, .path, .octal]
    case .unlink, .rmdir, .chdir: return [.path]
    case .unlinkat: return [.dirfd, .path, .atFlags]
    case .rename, .link, .symlink: return [.path, .path]
    case .symlinkat: return [.path, .dirfd, .path]
    case .renameat, .renameat2: return [.dirfd, .path, .dirfd, .path]
    case .linkat: return [.dirfd, .path, .dirfd, .path, .atFlags]
    case .chmod: return [.path, .octal]
    case .truncate: return [.path, .int]
    case .ftruncate: return [.fd, .int]
    case .readlink: return [.path, .output, .unsigned]
    case .readlinkat: return [.dirfd, .path, .output, .unsigned]
    case .getdents64: return [.fd, .hex, .unsigned]
    case .exit, .exitGroup: return [.int]
    case .archPrctl: return [.hex, .hex]
    case .clockGettime, .clockGetres: return [.clock, .hex]
    case .clockNanosleep: return [.clock, .int, .hex, .hex]
    case .rtSigaction: return [.signal, .hex, .hex, .unsigned]
    case .kill: return [.int, .signal]
    case .tgkill: return [.int, .int, .signal]
    case .futex: return [.hex, .int, .int, .hex]
    case .pipe2: return [.hex, .openFlags]
    case .dup2: return [.fd, .fd]
    case .dup3: return [.fd, .fd, .openFlags]
    case .getrandom: return [.hex, .unsigned, .hex]
    case .setTidAddress, .uname, .sysinfo: return [.hex]
    case .setRobustList: return [.hex, .unsigned]
    case .prlimit64: return [.int, .int, .hex, .hex]
    case .writev, .readv: return [.fd, .hex, .unsigned]
    case .epollWait, .epollPwait: return [.fd, .hex, .int, .int]
    case .epollCtl: return [.fd, .int, .fd, .hex]
    case .poll: return [.hex, .unsigned, .int]
    case .socket: return [.int, .hex, .int]
    case .socketpair: return [.int, .hex, .int, .hex]
    case .bind, .connect: return [.fd, .hex, .unsigned]
    case .accept, .getsockname, .getpeername: return [.fd, .hex, .hex]
    case .accept4: return [.fd, .hex, .hex, .hex]
    case .listen, .shutdown: return [.fd, .int]
    case .sendto: return [.fd, .input(length: 2), .unsigned, .hex, .hex,
                          .unsigned]
    case .recvfrom: return [.fd, .output, .unsigned, .hex, .hex, .hex]
    case .sendmsg, .recvmsg: return [.fd, .hex, .hex]
    case .setsockopt, .getsockopt: return [.fd, .int, .int, .hex, .hex]
    case .getpid, .gettid, .getppid, .getuid, .geteuid, .getgid, .getegid,
      .schedYield, .sync:
      return []
    default: return [.hex, .hex, .hex]
    }
  }

  /// Formats a finished call. `inputs` are the texts of input buffers,
  /// captured before the call ran (it may have changed them).
  static func line(number: Int, arguments: SyscallArguments,
                   inputs: [String], result: Int) -> String
  {
    let name = SyscallTable.name(of: number) ?? "syscall_\(number)"
    let values = [arguments.a0, arguments.a1, arguments.a2, arguments.a3,
                  arguments.a4, arguments.a5]
    var parts: [String] = []
    var inputIndex = 0
    for (i, kind) in signature(number).enumerated() {
      let value = values[i]
      switch kind {
      case .input:
        parts.append(inputIndex < inputs.count ? inputs[inputIndex] : "?")
        inputIndex += 1
      case .output:
        parts.append(result >= 0
          ? quoted(UserAddress(value), count: result) : hexText(value))
      default:
        parts.append(format(value, as: kind))
      }
    }
    var text = name + "("
    for (i, part) in parts.enumerated() { text += (i > 0 ? ", " : "") + part }
    return text + ") = " + resultText(number: number, result)
  }

  /// Input buffers, read before the call.
  static func capture(number: Int, arguments: SyscallArguments) -> [String] {
    let values = [arguments.a0, arguments.a1, arguments.a2, arguments.a3,
                  arguments.a4, arguments.a5]
    var inputs: [String] = []
    for kind in signature(number) {
      if case .input(let lengthIndex) = kind {
        inputs.append(quoted(UserAddress(values[lengthIndex - 1]),
                             count: Int(min(values[lengthIndex], 1 << 20))))
      }
    }
    return inputs
  }

  static func resultText(number: Int, _ result: Int) -> String {
    if let errno = Errno(syscallResult: result) {
      return "-1 \(errno.name)"
    }
    switch SyscallNumber(rawValue: number) {
    case .mmap, .brk, .mremap: return hexText(UInt64(bitPattern: Int64(result)))
    default: return "\(result)"
    }
  }

  // MARK: Argument formatting

  static func format(_ value: UInt64, as kind: Argument) -> String {
    let signed = Int64(bitPattern: value)
    let int32 = Int32(truncatingIfNeeded: value)
    switch kind {
    case .int: return "\(signed)"
    case .unsigned: return "\(value)"
    case .hex: return value == 0 ? "NULL" : hexText(value)
    case .fd: return "\(int32)"
    case .dirfd: return int32 == -100 ? "AT_FDCWD" : "\(int32)"
    case .octal: return "0" + String(value & 0o7777, radix: 8)
    case .path: return quoted(UserAddress(value), count: nil)
    case .openFlags: return openFlags(UInt32(truncatingIfNeeded: value))
    case .protection: return protection(value)
    case .mmapFlags: return mmapFlags(value)
    case .clock: return clockName(int32)
    case .signal: return Signal(rawValue: int32).name
    case .atFlags: return atFlags(UInt32(truncatingIfNeeded: value))
    case .input, .output: return hexText(value)
    }
  }

  static func hexText(_ value: UInt64) -> String {
    "0x" + String(value, radix: 16)
  }

  /// A user string or buffer as strace shows it: quoted, escaped, and cut
  /// at 32 bytes with "..." after.
  static func quoted(_ address: UserAddress, count: Int?) -> String {
    if address.isNull { return "NULL" }
    let limit = 32
    let bytes: [UInt8]
    var truncated = false
    if let count {
      let shown = min(count, limit)
      truncated = count > limit
      guard let read = try? UserMemory.readBytes(at: address, count: shown)
      else { return hexText(address.raw) }
      bytes = read
    } else {
      guard let read = try? UserMemory.readString(at: address, limit: 4096)
      else { return hexText(address.raw) }
      truncated = read.count > limit
      bytes = Array(read.prefix(limit))
    }
    var text = "\""
    for byte in bytes {
      switch byte {
      case UInt8(ascii: "\n"): text += "\\n"
      case UInt8(ascii: "\t"): text += "\\t"
      case UInt8(ascii: "\""): text += "\\\""
      case UInt8(ascii: "\\"): text += "\\\\"
      case 0x20..<0x7F: text += String(decoding: [byte], as: UTF8.self)
      default:
        let digits = String(byte, radix: 16)
        text += "\\x" + (digits.count < 2 ? "0" : "") + digits
      }
    }
    return text + "\"" + (truncated ? "..." : "")
  }

  static func flagNames(_ value: UInt64, _ names: [(UInt64, String)],
                        zero: String) -> String
  {
    var left = value
    var parts: [String] = []
    for (bit, name) in names where bit != 0 && left & bit == bit {
      parts.append(name)
      left &= ~bit
    }
    if left != 0 { parts.append(hexText(left)) }
    if parts.isEmpty { return zero }
    var text = ""
    for (i, part) in parts.enumerated() { text += (i > 0 ? "|" : "") + part }
    return text
  }

  static func openFlags(_ flags: UInt32) -> String {
    let access = ["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"][Int(flags & 3)]
    let rest = flagNames(UInt64(flags & ~3), [
      (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"),
      (0o1000, "O_TRUNC"), (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"),
      (0o4010000, "O_SYNC"), (0o10000, "O_DSYNC"), (0o200000, "O_DIRECTORY"),
      (0o400000, "O_NOFOLLOW"), (0o2000000, "O_CLOEXEC"),
      (0o10000000, "O_PATH"), (0o1000000, "O_NOATIME"),
    ], zero: "")
    return rest.isEmpty ? access : access + "|" + rest
  }

  static func protection(_ value: UInt64) -> String {
    flagNames(value, [(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC")],
              zero: "PROT_NONE")
  }

  static func mmapFlags(_ value: UInt64) -> String {
    flagNames(value, [
      (0x01, "MAP_SHARED"), (0x02, "MAP_PRIVATE"), (0x10, "MAP_FIXED"),
      (0x20, "MAP_ANONYMOUS"), (0x100, "MAP_GROWSDOWN"),
      (0x4000, "MAP_NORESERVE"), (0x8000, "MAP_POPULATE"),
      (0x20000, "MAP_STACK"), (0x100000, "MAP_FIXED_NOREPLACE"),
    ], zero: "0")
  }

  static func atFlags(_ value: UInt32) -> String {
    flagNames(UInt64(value), [
      (0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"),
      (0x400, "AT_SYMLINK_FOLLOW"), (0x1000, "AT_EMPTY_PATH"),
    ], zero: "0")
  }

  static func clockName(_ id: Int32) -> String {
    let names = ["CLOCK_REALTIME", "CLOCK_MONOTONIC",
                 "CLOCK_PROCESS_CPUTIME_ID", "CLOCK_THREAD_CPUTIME_ID",
                 "CLOCK_MONOTONIC_RAW", "CLOCK_REALTIME_COARSE",
                 "CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME"]
    return id >= 0 && Int(id) < names.count ? names[Int(id)] : "\(id)"
  }
}
