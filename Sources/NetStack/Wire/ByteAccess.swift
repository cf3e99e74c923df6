// Big-endian ("network order") reads and writes, the only place the wire
// layer touches individual bytes by offset. Reads are relative to a slice's
// start, so a view over the middle of a frame reads its own offset 0. The
// views check their length once, in their initialisers; these helpers
// assume the caller did.

extension ArraySlice where Element == UInt8 {
  @inline(__always)
  func byte(at offset: Int) -> UInt8 {
    self[startIndex + offset]
  }

  @inline(__always)
  func uint16(at offset: Int) -> UInt16 {
    UInt16(self[startIndex + offset]) << 8
      | UInt16(self[startIndex + offset + 1])
  }

  @inline(__always)
  func uint32(at offset: Int) -> UInt32 {
    UInt32(uint16(at: offset)) << 16 | UInt32(uint16(at: offset + 2))
  }

  /// The bytes of `[offset, offset + length)` relative to the start.
  @inline(__always)
  func bytes(at offset: Int, length: Int) -> ArraySlice<UInt8> {
    self[(startIndex + offset)..<(startIndex + offset + length)]
  }

  /// The bytes from `offset` to the end.
  @inline(__always)
  func bytes(from offset: Int) -> ArraySlice<UInt8> {
    self[(startIndex + offset)...]
  }
}

extension Array where Element == UInt8 {
  mutating func appendUInt16(_ value: UInt16) {
    append(UInt8(truncatingIfNeeded: value >> 8))
    append(UInt8(truncatingIfNeeded: value))
  }

  mutating func appendUInt32(_ value: UInt32) {
    appendUInt16(UInt16(truncatingIfNeeded: value >> 16))
    appendUInt16(UInt16(truncatingIfNeeded: value))
  }

  mutating func appendZeros(_ count: Int) {
    append(contentsOf: repeatElement(0, count: count))
  }

  mutating func setUInt16(_ value: UInt16, at offset: Int) {
    self[offset] = UInt8(truncatingIfNeeded: value >> 8)
    self[offset + 1] = UInt8(truncatingIfNeeded: value)
  }
}
