// The boot bundle: how `villa` hands a program to the kernel.
//
// The host packs the program's ELF bytes, its argv, its environment, its
// standard input and the kernel options into one blob, which QEMU loads
// into guest memory as the PVH module. The kernel reads it in place, without
// copying the program. The format is deliberately plain:
//
//   offset 0   magic "VILLABUN"
//          8   u32 version (1)
//         12   u32 number of records
//         16   records, each: u32 kind, u32 zero, u64 length, payload,
//              zero padding to the next multiple of 8
//
// All integers are little-endian. Order matters for arguments and
// environment strings: they appear in the bundle in the program's order.

/// What a record in the bundle holds.
public enum BootRecordKind: UInt32, Sendable {
  /// The program's ELF image, byte for byte.
  case program = 1
  /// The path the program was started as (AT_EXECFN, /proc/self/exe).
  case programPath = 2
  /// One argv entry, argv[0] included.
  case argument = 3
  /// One environment entry, "KEY=VALUE".
  case environment = 4
  /// Everything the program reads from standard input before EOF.
  case standardInput = 5
  /// The machine's host name, as uname(2) reports it.
  case hostname = 6
  /// A kernel option, "key=value" (for example "log=debug").
  case option = 7
}

/// Why a bundle could not be read.
public enum BootBundleError: Error, Equatable, Sendable {
  case truncated
  case badMagic
  case unsupportedVersion(UInt32)
  case recordOutOfBounds(index: Int)
  case unknownKind(UInt32)
}

public enum BootBundleFormat {
  public static let magic: [UInt8] = Array("VILLABUN".utf8)
  public static let version: UInt32 = 1
  static let headerSize = 16
  static let recordHeaderSize = 16
}

/// Builds a bundle on the host.
public struct BootBundleWriter: Sendable {
  private var records: [(BootRecordKind, [UInt8])] = []

  public init() {}

  public mutating func append(_ kind: BootRecordKind, _ payload: [UInt8]) {
    records.append((kind, payload))
  }

  public mutating func append(_ kind: BootRecordKind, _ text: String) {
    append(kind, Array(text.utf8))
  }

  /// The encoded bundle.
  public func encoded() -> [UInt8] {
    var out = BootBundleFormat.magic
    out.appendLittleEndian(BootBundleFormat.version)
    out.appendLittleEndian(UInt32(records.count))
    for (kind, payload) in records {
      out.appendLittleEndian(kind.rawValue)
      out.appendLittleEndian(UInt32(0))
      out.appendLittleEndian(UInt64(payload.count))
      out.append(contentsOf: payload)
      let padding = (8 - payload.count % 8) % 8
      out.append(contentsOf: repeatElement(0, count: padding))
    }
    return out
  }
}

/// One record of a bundle: its kind and where its payload lies.
public struct BootRecord: Equatable, Sendable {
  public var kind: BootRecordKind
  /// Byte offsets of the payload within the bundle.
  public var payload: Range<Int>
}

/// Reads a bundle in place. Every record is bounds-checked once here, so
/// the ranges it returns are always inside the buffer it was given.
public struct BootBundleReader {
  public let bytes: UnsafeRawBufferPointer
  public let records: [BootRecord]

  public init(bytes: UnsafeRawBufferPointer) throws(BootBundleError) {
    self.bytes = bytes
    guard bytes.count >= BootBundleFormat.headerSize else {
      throw .truncated
    }
    for i in 0..<8 where bytes[i] != BootBundleFormat.magic[i] {
      throw .badMagic
    }
    let version = bytes.loadLittleEndianUInt32(at: 8)
    guard version == BootBundleFormat.version else {
      throw .unsupportedVersion(version)
    }
    let count = Int(bytes.loadLittleEndianUInt32(at: 12))
    var found: [BootRecord] = []
    var offset = BootBundleFormat.headerSize
    for index in 0..<count {
      guard bytes.count - offset >= BootBundleFormat.recordHeaderSize else {
        throw .recordOutOfBounds(index: index)
      }
      let rawKind = bytes.loadLittleEndianUInt32(at: offset)
      let length = bytes.loadLittleEndianUInt64(at: offset + 8)
      let start = offset + BootBundleFormat.recordHeaderSize
      guard length <= UInt64(bytes.count - start) else {
        throw .recordOutOfBounds(index: index)
      }
      guard let kind = BootRecordKind(rawValue: rawKind) else {
        throw .unknownKind(rawKind)
      }
      let end = start + Int(length)
      found.append(BootRecord(kind: kind, payload: start..<end))
      offset = min(bytes.count, end + (8 - Int(length) % 8) % 8)
    }
    records = found
  }

  /// The payloads of every record of one kind, in bundle order.
  public func payloads(of kind: BootRecordKind) -> [Range<Int>] {
    records.filter { $0.kind == kind }.map { $0.payload }
  }

  /// The first payload of one kind, if any.
  public func firstPayload(of kind: BootRecordKind) -> Range<Int>? {
    records.first { $0.kind == kind }?.payload
  }

  /// A copy of a payload's bytes (for the small records: strings).
  public func copy(_ range: Range<Int>) -> [UInt8] {
    Array(bytes[range])
  }
}

extension Array where Element == UInt8 {
  mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
    for i in 0..<(T.bitWidth / 8) {
      append(UInt8(truncatingIfNeeded: value >> (i * 8)))
    }
  }
}

extension UnsafeRawBufferPointer {
  func loadLittleEndianUInt32(at offset: Int) -> UInt32 {
    var value: UInt32 = 0
    for i in 0..<4 { value |= UInt32(self[offset + i]) << (i * 8) }
    return value
  }

  func loadLittleEndianUInt64(at offset: Int) -> UInt64 {
    var value: UInt64 = 0
    for i in 0..<8 { value |= UInt64(self[offset + i]) << (i * 8) }
    return value
  }
}
