// The machine as the program sees it: uname(2) and getrandom(2).

import LinuxABI

enum SystemSyscalls {
  /// What uname reports. The release is a real Linux version whose ABI
  /// Villa follows, so C libraries that check the kernel version accept it.
  static let release = "6.1.0-villa"
  static let version = "#1 SMP Villa"

  static func register() {
    let d = SyscallDispatcher.self
    d.register(.uname, .implemented) { args throws(Errno) in
      try uname(to: args.address(args.a0))
      return 0
    }
    d.register(.getrandom, .implemented) { args throws(Errno) in
      try getrandom(buffer: args.address(args.a0), count: args.a1,
                    flags: UInt32(truncatingIfNeeded: args.a2))
    }
  }

  /// struct utsname: six fields of 65 bytes, NUL-padded.
  static func uname(to address: UserAddress) throws(Errno) {
    let fields: [[UInt8]] = [
      Array("Linux".utf8), Process.current.hostname, Array(release.utf8),
      Array(version.utf8), Array("x86_64".utf8), Array("(none)".utf8),
    ]
    var bytes = [UInt8](repeating: 0, count: 6 * 65)
    for (i, field) in fields.enumerated() {
      for (j, byte) in field.prefix(64).enumerated() {
        bytes[i * 65 + j] = byte
      }
    }
    try UserMemory.writeBytes(bytes, to: address)
  }

  static func getrandom(buffer: UserAddress, count: UInt64, flags: UInt32)
    throws(Errno) -> Int
  {
    // GRND_NONBLOCK 1, GRND_RANDOM 2, GRND_INSECURE 4; RANDOM and
    // INSECURE together make no sense and Linux refuses them.
    guard flags & ~UInt32(7) == 0, flags & 6 != 6 else { throw .EINVAL }
    let size = Int(min(count, 33_554_431))
    try UserMemory.checkRange(buffer, size)
    var chunk = [UInt8](repeating: 0, count: min(size, 4096))
    var done = 0
    while done < size {
      let n = min(chunk.count, size - done)
      chunk.withUnsafeMutableBytes {
        Entropy.fill(UnsafeMutableRawBufferPointer(rebasing: $0[0..<n]))
      }
      try UserMemory.writeBytes(Array(chunk[0..<n]), to: buffer + done)
      done += n
    }
    return done
  }
}
