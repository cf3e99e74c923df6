// The on-disk layout of format version 1: geometry, the superblock and the
// record header. docs/filesystem-format.md describes the same bytes in
// prose; this file is the one place that reads and writes them.
//
//   byte 0       superblock slot 0 (one device block)
//   byte 4096    superblock slot 1 (one device block)
//   byte 8192    segment 0, segment 1, ... each `segmentSize` bytes
//
// Every integer is little-endian. A superblock or record is trusted only
// after its CRC-32C matches; parsing checks every length before using it.

/// Where things are on a formatted device.
struct Geometry: Equatable {
  /// The device's block: the unit of every read and write, and the unit
  /// a flushed log tail is padded to.
  let blockSize: Int
  let segmentSize: UInt64
  let segmentCount: Int
  let deviceBytes: UInt64

  static let superblockSlotOffsets: [UInt64] = [0, 4096]
  static let logStart: UInt64 = 8192
  static let minimumSegmentSize: UInt64 = 64 * 1024
  static let maximumSegmentSize: UInt64 = 64 * 1024 * 1024
  static let minimumSegmentCount = 8

  func segmentStart(_ segment: Int) -> UInt64 {
    Geometry.logStart + UInt64(segment) * segmentSize
  }

  func segmentEnd(_ segment: Int) -> UInt64 {
    segmentStart(segment) + segmentSize
  }

  /// Ordinary records end at or before this address, leaving the last
  /// device block of a segment for its link record even after a flush
  /// has padded the tail up to a block boundary.
  func recordLimit(_ segment: Int) -> UInt64 {
    segmentEnd(segment) - UInt64(blockSize)
  }

  /// The segment holding `address`, or nil outside the log.
  func segment(of address: UInt64) -> Int? {
    guard address >= Geometry.logStart else { return nil }
    let index = (address - Geometry.logStart) / segmentSize
    return index < UInt64(segmentCount) ? Int(index) : nil
  }

  /// The largest payload a record may carry: one that starts a segment
  /// and reaches its record limit.
  var maxPayload: Int {
    Int(segmentSize) - blockSize - RecordHeader.size
  }

  /// Writes up to this size are never split between two segments, so
  /// each is one record that a power cut keeps or loses whole: a page
  /// for small segments, up to 16 KiB for large ones. Skipping to the
  /// next segment wastes less than this.
  var atomicWriteLimit: Int {
    Int(min(16 * 1024, segmentSize / 16))
  }

  /// Bytes of a segment that ordinary records can fill.
  var usableSegmentBytes: UInt64 {
    segmentSize - UInt64(blockSize)
  }

  /// The geometry format would choose for a device: segments of a power
  /// of two between 64 KiB and 1 MiB, at least 64 of them when the device
  /// allows, or `requestedSegmentSize` if given.
  static func choose(
    blockSize: Int, blockCount: UInt64, requestedSegmentSize: UInt64?
  ) throws(FSError) -> Geometry {
    guard blockSize >= 512, blockSize <= 4096,
          blockSize & (blockSize - 1) == 0
    else { throw .invalid }
    let (deviceBytes, overflow) =
      blockCount.multipliedReportingOverflow(by: UInt64(blockSize))
    guard !overflow, deviceBytes > logStart else { throw .noSpace }
    var segmentSize: UInt64
    if let requestedSegmentSize {
      segmentSize = requestedSegmentSize
    } else {
      segmentSize = 1024 * 1024
      while segmentSize > minimumSegmentSize,
            (deviceBytes - logStart) / segmentSize < 64 {
        segmentSize /= 2
      }
    }
    guard segmentSize >= minimumSegmentSize,
          segmentSize <= maximumSegmentSize,
          segmentSize % 4096 == 0
    else { throw .invalid }
    let count = (deviceBytes - logStart) / segmentSize
    guard count >= UInt64(minimumSegmentCount) else { throw .noSpace }
    return Geometry(
      blockSize: blockSize, segmentSize: segmentSize,
      segmentCount: Int(min(count, UInt64(Int32.max))),
      deviceBytes: deviceBytes)
  }
}

/// The root of everything: which checkpoint to start from. Two slots are
/// written alternately (generation g goes to slot g % 2), so a write torn
/// by a power cut leaves the previous superblock intact.
struct Superblock: Equatable {
  static let magic: [UInt8] = Array("VILLAFS\u{1}".utf8)
  static let version: UInt32 = 1
  /// Bytes covered by the checksum; the rest of the block is zero.
  static let size = 128
  /// Sequence numbers, generations, inode numbers and cookies stay below
  /// this; a disk claiming more is corrupt (2^62 is centuries of use).
  static let counterLimit: UInt64 = 1 << 62

  var blockSize: UInt32
  var segmentSize: UInt64
  var segmentCount: UInt32
  var volumeID: UInt64
  var generation: UInt64
  /// Address of the checkpoint's first record (its begin record).
  var checkpointAddress: UInt64
  var checkpointSequence: UInt64
  /// The checksum of the record before the checkpoint, which the begin
  /// record's `previous` field repeats.
  var checkpointPrevious: UInt32
  /// The sequence number of the checkpoint's last record.
  var checkpointLastSequence: UInt64
  var formatTime: Timestamp

  func encoded(blockSize: Int) -> [UInt8] {
    var sink = ByteSink(capacity: blockSize)
    sink.put(UInt32(0))
    sink.putBytes(Superblock.magic)
    sink.put(Superblock.version)
    sink.put(UInt32(Superblock.size))
    sink.put(self.blockSize)
    sink.put(segmentSize)
    sink.put(segmentCount)
    sink.put(UInt64(Geometry.logStart))
    sink.put(volumeID)
    sink.put(generation)
    sink.put(checkpointAddress)
    sink.put(checkpointSequence)
    sink.put(checkpointPrevious)
    sink.put(checkpointLastSequence)
    sink.put(formatTime)
    var bytes = sink.bytes
    bytes.append(contentsOf: repeatElement(0, count: blockSize - bytes.count))
    let checksum = bytes.withUnsafeBytes { raw in
      CRC32C.checksum(
        UnsafeRawBufferPointer(rebasing: raw[4..<Superblock.size]))
    }
    storeLittleEndian(checksum, into: &bytes, at: 0)
    return bytes
  }

  /// Parses one slot. Throws `unsupportedVersion` for a checksummed
  /// superblock of another version, `corrupted` for anything else that
  /// is not a valid version-1 superblock.
  static func decode(_ bytes: [UInt8]) throws(FSError) -> Superblock {
    guard bytes.count >= size else {
      throw .corrupted("superblock is truncated")
    }
    let stored = bytes.withUnsafeBytes {
      loadLittleEndian(UInt32.self, from: $0, at: 0)
    }
    let computed = bytes.withUnsafeBytes { raw in
      CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[4..<size]))
    }
    guard Array(bytes[4..<12]) == magic else {
      throw .corrupted("superblock magic is missing")
    }
    guard stored == computed else {
      throw .corrupted("superblock checksum mismatch")
    }
    var source = ByteSource(bytes, from: 12, to: size, context: "superblock")
    let version = try source.get(UInt32.self)
    guard version == Superblock.version else {
      throw .unsupportedVersion(version)
    }
    guard try source.get(UInt32.self) == UInt32(size) else {
      throw .corrupted("superblock size field is wrong")
    }
    let blockSize = try source.get(UInt32.self)
    let segmentSize = try source.get(UInt64.self)
    let segmentCount = try source.get(UInt32.self)
    guard try source.get(UInt64.self) == Geometry.logStart else {
      throw .corrupted("superblock log start is wrong")
    }
    let superblock = Superblock(
      blockSize: blockSize, segmentSize: segmentSize,
      segmentCount: segmentCount,
      volumeID: try source.get(UInt64.self),
      generation: try source.get(UInt64.self),
      checkpointAddress: try source.get(UInt64.self),
      checkpointSequence: try source.get(UInt64.self),
      checkpointPrevious: try source.get(UInt32.self),
      checkpointLastSequence: try source.get(UInt64.self),
      formatTime: try source.getTimestamp())
    for index in source.offset..<size where bytes[index] != 0 {
      throw .corrupted("superblock reserved bytes are not zero")
    }
    return superblock
  }

  /// The geometry this superblock describes, checked against the device
  /// it was read from.
  func geometry(deviceBlockSize: Int, deviceBlockCount: UInt64)
    throws(FSError) -> Geometry
  {
    guard Int(blockSize) == deviceBlockSize else {
      throw .corrupted("superblock block size differs from the device's")
    }
    guard segmentSize >= Geometry.minimumSegmentSize,
          segmentSize <= Geometry.maximumSegmentSize,
          segmentSize % 4096 == 0,
          segmentCount >= UInt32(Geometry.minimumSegmentCount),
          segmentCount <= UInt32(Int32.max)
    else { throw .corrupted("superblock geometry is impossible") }
    let deviceBytes = deviceBlockCount &* UInt64(deviceBlockSize)
    let (span, overflow) =
      segmentSize.multipliedReportingOverflow(by: UInt64(segmentCount))
    guard !overflow, deviceBytes / UInt64(deviceBlockSize) == deviceBlockCount,
          Geometry.logStart + span <= deviceBytes
    else { throw .corrupted("superblock describes more segments than fit") }
    let geometry = Geometry(
      blockSize: deviceBlockSize, segmentSize: segmentSize,
      segmentCount: Int(segmentCount), deviceBytes: deviceBytes)
    guard let segment = geometry.segment(of: checkpointAddress),
          checkpointAddress % 8 == 0,
          checkpointAddress + UInt64(RecordHeader.size)
            <= geometry.segmentEnd(segment),
          checkpointSequence <= checkpointLastSequence,
          // Counters far from overflowing, so that counting on is safe.
          checkpointLastSequence < Superblock.counterLimit,
          generation > 0, generation < Superblock.counterLimit
    else { throw .corrupted("superblock checkpoint pointer is impossible") }
    return geometry
  }
}

/// What a log record is. Values are part of the format.
enum RecordType: UInt16 {
  /// Starts a checkpoint: generation and total length of the state.
  case checkpointBegin = 1
  /// A piece of the encoded state, in order.
  case checkpointChunk = 2
  /// The log continues at the start of another segment.
  case segmentLink = 3
  case create = 4
  case link = 5
  case unlink = 6
  case removeDirectory = 7
  case rename = 8
  case setAttributes = 9
  /// File data followed by a trailer naming the inode and offset.
  case write = 10
  /// Data the cleaner copied forward; same layout as `write`.
  case move = 11
  /// Frees an inode whose link count is zero once nothing holds it open.
  case release = 12
  /// A segment whose live data has all moved; reusable after the next
  /// checkpoint.
  case segmentCleaned = 13
}

/// The 32-byte header in front of every record's payload.
///
///   0  u32 checksum: CRC-32C of the payload, then of header bytes 4..<32
///   4  u32 payload length
///   8  u64 sequence number, one more than the previous record's
///   16 u64 volume ID from the superblock
///   24 u32 previous: the checksum of the previous record
///   28 u16 type
///   30 u16 flags, zero
///
/// The payload is checksummed first so that a data record can grow while
/// it is still in memory: the running CRC over its data is kept and only
/// the trailer and header are folded in when the record is closed.
struct RecordHeader: Equatable {
  static let size = 32

  var checksum: UInt32
  var length: UInt32
  var sequence: UInt64
  var volumeID: UInt64
  var previous: UInt32
  var type: UInt16
  var flags: UInt16

  /// The header's bytes after the checksum field.
  func encodedBody() -> [UInt8] {
    var sink = ByteSink(capacity: RecordHeader.size)
    sink.put(length)
    sink.put(sequence)
    sink.put(volumeID)
    sink.put(previous)
    sink.put(type)
    sink.put(flags)
    return sink.bytes
  }

  init(checksum: UInt32, length: UInt32, sequence: UInt64, volumeID: UInt64,
       previous: UInt32, type: UInt16, flags: UInt16 = 0) {
    self.checksum = checksum
    self.length = length
    self.sequence = sequence
    self.volumeID = volumeID
    self.previous = previous
    self.type = type
    self.flags = flags
  }

  /// Reads a header from 32 bytes; the checksum is verified by the caller
  /// once the payload is in hand.
  init(_ raw: UnsafeRawBufferPointer) {
    checksum = loadLittleEndian(UInt32.self, from: raw, at: 0)
    length = loadLittleEndian(UInt32.self, from: raw, at: 4)
    sequence = loadLittleEndian(UInt64.self, from: raw, at: 8)
    volumeID = loadLittleEndian(UInt64.self, from: raw, at: 16)
    previous = loadLittleEndian(UInt32.self, from: raw, at: 24)
    type = loadLittleEndian(UInt16.self, from: raw, at: 28)
    flags = loadLittleEndian(UInt16.self, from: raw, at: 30)
  }
}

/// The trailer after a write or move record's data.
///
///   0 u64 inode, 8 u64 file offset, 16 i64 seconds, 24 u32 nanoseconds,
///   28 u32 zero
enum DataTrailer {
  static let size = 32
}

/// Rounds up to a multiple of `alignment`, a power of two.
@inline(__always)
func roundUp(_ value: UInt64, to alignment: UInt64) -> UInt64 {
  (value + alignment - 1) & ~(alignment - 1)
}
