// Little-endian encoding for the on-disk structures.
//
// `ByteSink` appends fields to a growing buffer. `ByteSource` reads fields
// back from bytes that came off the disk: every read checks the remaining
// length first and throws `FSError.corrupted` naming what was being read,
// so a short or damaged structure is an error, never an out-of-bounds trap.

/// Appends little-endian fields to a byte array.
struct ByteSink {
  var bytes: [UInt8] = []

  init(capacity: Int = 0) {
    bytes.reserveCapacity(capacity)
  }

  mutating func put<T: FixedWidthInteger>(_ value: T) {
    var remaining = value
    for _ in 0..<(T.bitWidth / 8) {
      bytes.append(UInt8(truncatingIfNeeded: remaining))
      remaining = remaining >> 8
    }
  }

  mutating func put(_ time: Timestamp) {
    put(time.seconds)
    put(time.nanoseconds)
  }

  /// A byte string preceded by its length as a UInt16.
  mutating func putShortBytes(_ value: [UInt8]) {
    put(UInt16(truncatingIfNeeded: value.count))
    bytes.append(contentsOf: value)
  }

  mutating func putBytes(_ value: [UInt8]) {
    bytes.append(contentsOf: value)
  }
}

/// Stores `value` little-endian into `bytes` at `offset`; the caller has
/// sized `bytes` so that the field fits.
func storeLittleEndian<T: FixedWidthInteger>(
  _ value: T, into bytes: inout [UInt8], at offset: Int
) {
  var remaining = value
  for index in 0..<(T.bitWidth / 8) {
    bytes[offset + index] = UInt8(truncatingIfNeeded: remaining)
    remaining = remaining >> 8
  }
}

/// Loads a little-endian field from `bytes` at `offset`; the caller has
/// checked that the field lies inside `bytes`.
func loadLittleEndian<T: FixedWidthInteger>(
  _ type: T.Type, from bytes: UnsafeRawBufferPointer, at offset: Int
) -> T {
  var value: T = 0
  for index in stride(from: T.bitWidth / 8 - 1, through: 0, by: -1) {
    value = (value << 8) | T(bytes[offset + index])
  }
  return value
}

/// Reads little-endian fields from bytes of untrusted length.
struct ByteSource {
  private let bytes: [UInt8]
  private(set) var offset: Int
  private let end: Int
  /// What is being decoded, for error messages ("checkpoint", "record").
  private let context: String

  init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil,
       context: String) {
    self.bytes = bytes
    self.offset = start
    self.end = end ?? bytes.count
    self.context = context
  }

  var remaining: Int { end - offset }
  var isAtEnd: Bool { offset == end }

  func truncated() -> FSError {
    .corrupted(context + " is truncated")
  }

  mutating func get<T: FixedWidthInteger>(
    _ type: T.Type
  ) throws(FSError) -> T {
    let size = T.bitWidth / 8
    guard remaining >= size else { throw truncated() }
    var value: T = 0
    for index in stride(from: size - 1, through: 0, by: -1) {
      value = (value << 8) | T(bytes[offset + index])
    }
    offset += size
    return value
  }

  mutating func getTimestamp() throws(FSError) -> Timestamp {
    let seconds = try get(Int64.self)
    let nanoseconds = try get(UInt32.self)
    guard nanoseconds < 1_000_000_000 else {
      throw .corrupted(context + " holds a timestamp with bad nanoseconds")
    }
    return Timestamp(seconds: seconds, nanoseconds: nanoseconds)
  }

  mutating func getBytes(count: Int) throws(FSError) -> [UInt8] {
    guard count >= 0, remaining >= count else { throw truncated() }
    let value = Array(bytes[offset..<(offset + count)])
    offset += count
    return value
  }

  mutating func getShortBytes() throws(FSError) -> [UInt8] {
    let count = try get(UInt16.self)
    return try getBytes(count: Int(count))
  }

  /// Throws unless every byte was consumed: trailing bytes mean the
  /// structure is not what its type says.
  func expectEnd() throws(FSError) {
    guard isAtEnd else {
      throw .corrupted(context + " has trailing bytes")
    }
  }
}
