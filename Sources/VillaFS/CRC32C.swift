// CRC-32C (Castagnoli), the checksum on every superblock and log record.
//
// Castagnoli's polynomial detects more error patterns than the zlib CRC-32
// at the lengths a filesystem uses, and it is what ext4, Btrfs and iSCSI
// protect their metadata with. This is a table-driven software version:
// eight tables let the loop consume eight bytes per step ("slicing by 8"),
// which keeps checksumming far below the cost of the device I/O it guards.
// The tables are computed once, on first use, from the reflected
// polynomial 0x82F63B78.

/// A running CRC-32C. Feed bytes with `update`, read `value` at the end;
/// a checksum over several pieces equals the checksum over their
/// concatenation.
public struct CRC32C: Sendable {
  private var state: UInt32 = 0xFFFF_FFFF

  public init() {}

  /// The checksum of everything fed so far.
  public var value: UInt32 { state ^ 0xFFFF_FFFF }

  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    guard var pointer = bytes.baseAddress else { return }
    var remaining = bytes.count
    var crc = state
    CRC32CTables.shared.withUnsafeBufferPointer { table in
      // Eight bytes at a time: the first four are folded into the CRC,
      // the last four are looked up directly; the eight lookups are
      // independent, which is what makes this faster than byte steps.
      while remaining >= 8 {
        let low = UInt32(pointer.loadUnaligned(as: UInt32.self).littleEndian)
        let high = UInt32(
          (pointer + 4).loadUnaligned(as: UInt32.self).littleEndian)
        let mixed = crc ^ low
        crc = table[7 * 256 + Int(mixed & 0xFF)]
          ^ table[6 * 256 + Int((mixed >> 8) & 0xFF)]
          ^ table[5 * 256 + Int((mixed >> 16) & 0xFF)]
          ^ table[4 * 256 + Int(mixed >> 24)]
          ^ table[3 * 256 + Int(high & 0xFF)]
          ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
          ^ table[1 * 256 + Int((high >> 16) & 0xFF)]
          ^ table[Int(high >> 24)]
        pointer += 8
        remaining -= 8
      }
      while remaining > 0 {
        let byte = pointer.load(as: UInt8.self)
        crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        pointer += 1
        remaining -= 1
      }
    }
    state = crc
  }

  public mutating func update(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { update($0) }
  }

  /// The checksum of `bytes` alone.
  public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var crc = CRC32C()
    crc.update(bytes)
    return crc.value
  }

  public static func checksum(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBytes { checksum($0) }
  }
}

/// The eight 256-entry lookup tables, stored one after another. Table 0 is
/// the classic byte-at-a-time table; table k gives the effect of a byte
/// followed by k zero bytes.
enum CRC32CTables {
  static let shared: [UInt32] = {
    let polynomial: UInt32 = 0x82F6_3B78
    var table = [UInt32](repeating: 0, count: 8 * 256)
    for index in 0..<256 {
      var crc = UInt32(index)
      for _ in 0..<8 {
        crc = (crc & 1) != 0 ? (crc >> 1) ^ polynomial : crc >> 1
      }
      table[index] = crc
    }
    for slice in 1..<8 {
      for index in 0..<256 {
        let previous = table[(slice - 1) * 256 + index]
        table[slice * 256 + index] =
          table[Int(previous & 0xFF)] ^ (previous >> 8)
      }
    }
    return table
  }()
}
