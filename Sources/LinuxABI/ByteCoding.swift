// How Linux structs become bytes and back. Each struct the kernel copies to
// or from a program conforms to `LinuxStruct`: it knows its size and emits
// exactly that many little-endian bytes, padding zeroed, and it decodes
// from exactly that many bytes. A decoder checks the length once, up
// front; after that every field read is at a constant offset inside the
// checked length, so no read can fall outside the buffer.
//
// Offsets are written out field by field as the C header lays them out
// (see each struct), so a reviewer can compare them with offsetof().

/// A Linux x86_64 struct with a fixed layout.
public protocol LinuxStruct {
  /// `sizeof` the C struct, in bytes.
  static var byteCount: Int { get }

  /// The struct as the C layout stores it: `byteCount` little-endian
  /// bytes, with padding and reserved fields zeroed.
  func encoded() -> [UInt8]

  /// Reads the struct from exactly `byteCount` bytes; nil for any other
  /// length.
  init?(bytes: some RandomAccessCollection<UInt8>)
}

extension LinuxStruct {
  /// Decodes a C array of structs, such as the `iovec` array of readv(2);
  /// nil unless `bytes` holds a whole number of them.
  public static func decodeArray(
    bytes: some RandomAccessCollection<UInt8>
  ) -> [Self]? {
    guard bytes.count % byteCount == 0 else {
      return nil
    }
    var result: [Self] = []
    result.reserveCapacity(bytes.count / byteCount)
    var start = bytes.startIndex
    while start != bytes.endIndex {
      let end = bytes.index(start, offsetBy: byteCount)
      guard let element = Self(bytes: bytes[start..<end]) else {
        return nil
      }
      result.append(element)
      start = end
    }
    return result
  }
}

/// Builds a struct's bytes: a zeroed buffer of the struct's size that
/// fields are stored into at their offsets.
struct ByteWriter {
  private(set) var bytes: [UInt8]

  init(count: Int) {
    bytes = [UInt8](repeating: 0, count: count)
  }

  /// Stores `value` little-endian at `offset`.
  mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
    for index in 0..<(T.bitWidth / 8) {
      bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (index * 8))
    }
  }

  /// Stores the UTF-8 of `text` in a `width`-byte char array at `offset`,
  /// cut to `width - 1` bytes so that a terminating NUL always fits.
  mutating func put(_ text: String, at offset: Int, width: Int) {
    var index = offset
    for byte in text.utf8.prefix(width - 1) {
      bytes[index] = byte
      index += 1
    }
  }
}

/// A length-checked view for reading a struct's fields.
struct ByteReader<Bytes: RandomAccessCollection> where Bytes.Element == UInt8 {
  private let bytes: Bytes

  /// Nil unless `bytes` holds exactly `count` bytes.
  init?(_ bytes: Bytes, count: Int) {
    guard bytes.count == count else {
      return nil
    }
    self.bytes = bytes
  }

  /// Reads a little-endian `T` at `offset`.
  func read<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
    var value: T = 0
    var index = bytes.index(bytes.startIndex, offsetBy: offset)
    for shift in stride(from: 0, to: T.bitWidth, by: 8) {
      value |= T(truncatingIfNeeded: bytes[index]) << shift
      bytes.formIndex(after: &index)
    }
    return value
  }

  /// Reads a NUL-terminated string from a `width`-byte char array at
  /// `offset`, stopping at the array's end if no NUL comes first. Invalid
  /// UTF-8 is repaired with U+FFFD rather than rejected.
  func string(at offset: Int, width: Int) -> String {
    let start = bytes.index(bytes.startIndex, offsetBy: offset)
    let end = bytes.index(start, offsetBy: width)
    let field = bytes[start..<end]
    let stop = field.firstIndex(of: 0) ?? end
    return String(decoding: field[start..<stop], as: UTF8.self)
  }
}
