// Little-endian reads and checked address arithmetic shared by the ELF
// views. Every caller checks bounds before it reads, so these helpers only
// assemble bytes; the range test below is the one place where "does this
// (offset, length) pair fit in the file" is answered, without overflow.

extension UnsafeRawBufferPointer {
  func elfUInt16(at offset: Int) -> UInt16 {
    UInt16(littleEndian: loadUnaligned(fromByteOffset: offset,
                                       as: UInt16.self))
  }

  func elfUInt32(at offset: Int) -> UInt32 {
    UInt32(littleEndian: loadUnaligned(fromByteOffset: offset,
                                       as: UInt32.self))
  }

  func elfUInt64(at offset: Int) -> UInt64 {
    UInt64(littleEndian: loadUnaligned(fromByteOffset: offset,
                                       as: UInt64.self))
  }

  /// Whether `length` bytes starting at `offset` lie inside the buffer.
  /// Written so that no sum can wrap, whatever the file claims.
  func contains(offset: UInt64, length: UInt64) -> Bool {
    let size = UInt64(count)
    return offset <= size && length <= size - offset
  }

  /// The bytes of `[offset, offset + length)`; the caller has checked the
  /// range with `contains(offset:length:)`.
  func slice(offset: UInt64, length: UInt64) -> UnsafeRawBufferPointer {
    let start = Int(offset)
    return UnsafeRawBufferPointer(rebasing: self[start..<start + Int(length)])
  }
}

/// `value` rounded down to a multiple of `alignment` (a power of two).
func alignDown(_ value: UInt64, _ alignment: UInt64) -> UInt64 {
  value & ~(alignment - 1)
}

/// `value` rounded up to a multiple of `alignment` (a power of two), or nil
/// when that would pass 2^64.
func alignUp(_ value: UInt64, _ alignment: UInt64) -> UInt64? {
  let (sum, overflow) = value.addingReportingOverflow(alignment - 1)
  return overflow ? nil : alignDown(sum, alignment)
}

func isPowerOfTwo(_ value: UInt64) -> Bool {
  value != 0 && value & (value - 1) == 0
}

/// "0x" and lowercase hex digits, for messages.
func hex(_ value: UInt64) -> String {
  "0x" + String(value, radix: 16)
}

extension Array where Element == UInt8 {
  /// Stores `value` little-endian at `offset`, which the caller sized.
  mutating func storeELFUInt64(_ value: UInt64, at offset: Int) {
    for i in 0..<8 {
      self[offset + i] = UInt8(truncatingIfNeeded: value >> (i * 8))
    }
  }
}
