// The only way the kernel touches user memory. A user address is a
// `UserAddress`, never a plain integer, and every access goes through the
// copy routines of entry.S after a range check against the user limit. A
// page the program has not mapped, or may not access that way, makes the
// copy fail and the system call return EFAULT; it never crashes the kernel.

import Arch
import LinuxABI

/// An address in the program's address space, as a system call received it.
struct UserAddress: Equatable {
  var raw: UInt64

  init(_ raw: UInt64) { self.raw = raw }

  var isNull: Bool { raw == 0 }

  static func + (address: UserAddress, offset: Int) -> UserAddress {
    UserAddress(address.raw &+ UInt64(offset))
  }
}

enum UserMemory {
  /// Throws EFAULT unless [address, address + count) lies in user space.
  static func checkRange(_ address: UserAddress, _ count: Int) throws(Errno) {
    let end = address.raw.addingReportingOverflow(UInt64(count))
    guard !end.overflow, end.partialValue <= AddressSpace.userLimit else {
      throw .EFAULT
    }
  }

  static func copyIn(from source: UserAddress, count: Int,
                     into destination: UnsafeMutableRawPointer) throws(Errno)
  {
    guard count > 0 else { return }
    try checkRange(source, count)
    let from = UnsafeRawPointer(bitPattern: UInt(source.raw))
    guard arch_user_copy(destination, from, UInt64(count)) == 0 else {
      throw .EFAULT
    }
  }

  static func copyOut(to destination: UserAddress,
                      from source: UnsafeRawPointer, count: Int) throws(Errno)
  {
    guard count > 0 else { return }
    try checkRange(destination, count)
    let to = UnsafeMutableRawPointer(bitPattern: UInt(destination.raw))
    guard arch_user_copy(to, source, UInt64(count)) == 0 else {
      throw .EFAULT
    }
  }

  static func readBytes(at source: UserAddress, count: Int)
    throws(Errno) -> [UInt8]
  {
    guard count > 0 else { return [] }
    try checkRange(source, count)
    var bytes = [UInt8](repeating: 0, count: count)
    let status = bytes.withUnsafeMutableBytes {
      arch_user_copy($0.baseAddress!,
                     UnsafeRawPointer(bitPattern: UInt(source.raw)),
                     UInt64(count))
    }
    guard status == 0 else { throw .EFAULT }
    return bytes
  }

  static func writeBytes(_ bytes: [UInt8], to destination: UserAddress)
    throws(Errno)
  {
    guard !bytes.isEmpty else { return }
    try checkRange(destination, bytes.count)
    let status = bytes.withUnsafeBytes {
      arch_user_copy(UnsafeMutableRawPointer(bitPattern: UInt(destination.raw)),
                     $0.baseAddress!, UInt64(bytes.count))
    }
    guard status == 0 else { throw .EFAULT }
  }

  /// Reads a fixed-size value (an integer or a struct of integers).
  static func read<T: BitwiseCopyable>(_ type: T.Type, at source: UserAddress)
    throws(Errno) -> T
  {
    let storage = UnsafeMutableRawPointer.allocate(
      byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment)
    defer { storage.deallocate() }
    try copyIn(from: source, count: MemoryLayout<T>.size, into: storage)
    return storage.load(as: T.self)
  }

  static func write<T: BitwiseCopyable>(_ value: T, to destination: UserAddress)
    throws(Errno)
  {
    try checkRange(destination, MemoryLayout<T>.size)
    var value = value
    let status = withUnsafeBytes(of: &value) {
      arch_user_copy(UnsafeMutableRawPointer(bitPattern: UInt(destination.raw)),
                     $0.baseAddress!, UInt64($0.count))
    }
    guard status == 0 else { throw .EFAULT }
  }

  /// Throws EFAULT unless every page of the range can be written, without
  /// changing it: each page's first byte in range is read and written
  /// back. Reads use this before consuming data they could not deliver.
  static func checkWritable(_ destination: UserAddress, _ count: Int)
    throws(Errno)
  {
    guard count > 0 else { return }
    try checkRange(destination, count)
    var cursor = destination.raw
    let end = destination.raw + UInt64(count)
    while cursor < end {
      let byte = try read(UInt8.self, at: UserAddress(cursor))
      try write(byte, to: UserAddress(cursor))
      cursor = (cursor & ~UInt64(4095)) + 4096
    }
  }

  /// How many bytes from `source` can be read before an unmapped page,
  /// up to `count` (a write(2) of a partly mapped buffer writes that
  /// much, as Linux does).
  static func readablePrefix(_ source: UserAddress, _ count: Int) -> Int {
    var cursor = source.raw
    let end = source.raw &+ UInt64(count)
    while cursor < end {
      if (try? read(UInt8.self, at: UserAddress(cursor))) == nil {
        return Int(cursor - source.raw)
      }
      cursor = (cursor & ~UInt64(4095)) + 4096
    }
    return count
  }

  static func zero(at destination: UserAddress, count: Int) throws(Errno) {
    guard count > 0 else { return }
    try checkRange(destination, count)
    let to = UnsafeMutableRawPointer(bitPattern: UInt(destination.raw))
    guard arch_user_zero(to, UInt64(count)) == 0 else { throw .EFAULT }
  }

  /// Reads a NUL-terminated string of at most `limit` bytes (without the
  /// NUL). Longer strings give ENAMETOOLONG, as path arguments do.
  static func readString(at source: UserAddress, limit: Int = 4096)
    throws(Errno) -> [UInt8]
  {
    var bytes: [UInt8] = []
    var cursor = source
    // Read page by page so a string ending just before an unmapped page
    // is still read.
    while bytes.count < limit {
      let pageLeft = Int(4096 - cursor.raw % 4096)
      let chunk = min(pageLeft, limit - bytes.count)
      try checkRange(cursor, chunk)
      let from = UnsafeRawPointer(bitPattern: UInt(cursor.raw))
      let length = arch_user_strnlen(from, UInt64(chunk))
      guard length >= 0 else { throw .EFAULT }
      bytes += try readBytes(at: cursor, count: Int(length))
      if Int(length) < chunk { return bytes }
      cursor = cursor + chunk
    }
    throw .ENAMETOOLONG
  }
}
