// Mounting: from a superblock to the state the log last recorded.
//
// Recovery reads the checkpoint the superblock points at, rebuilds the
// state from it, then replays every record after it, in sequence order,
// following segment links. A record is accepted only if its checksum
// matches, it carries this volume's ID, its sequence number is the next
// one, and its `previous` field equals the checksum of the record before
// it. The first record that fails any of these ends the log: that is where
// the last write before a power cut stopped reaching the disk. The chain
// of checksums also rejects leftovers in reused segments and records of a
// timeline that a crash cut short and recovery then overwrote.
//
// After a flush the writer continues at the next block boundary, so when
// nothing valid follows a record, the next block boundary is tried too.
//
// Replay never needs the contents of a checkpoint it passes (that happens
// when recovery starts from the older superblock), so a checkpoint chunk
// whose payload fails its checksum is stepped over if its header still
// chains: the record after it names the checksum the header claims. That
// lets the older superblock recover past a newer checkpoint that rotted.
//
// The runtime frees cleaned segments right after a checkpoint is durable,
// before it appends anything else; replay mirrors that at the same point
// of the log, so that a later record may link to a segment freed there.

/// A record read back from the log.
struct ReadRecord {
  var address: UInt64
  var header: RecordHeader
  var type: RecordType
  /// The payload of a metadata or checkpoint record, or the trailer of a
  /// write or move record (whose data stays on the disk).
  var payload: [UInt8]
  /// Where the next record would start.
  var next: UInt64
  /// A checkpoint chunk whose payload failed its checksum (only when the
  /// caller tolerates that); `payload` is then empty.
  var isDamaged = false

  var dataLength: UInt64 {
    UInt64(header.length) - UInt64(DataTrailer.size)
  }
}

/// Reads records in log order through a window of whole device blocks.
struct LogCursor<Device: BlockDevice> {
  let device: Device
  let geometry: Geometry
  let volumeID: UInt64
  private var window: [UInt8] = []
  private var windowStart: UInt64 = 0

  init(device: Device, geometry: Geometry, volumeID: UInt64) {
    self.device = device
    self.geometry = geometry
    self.volumeID = volumeID
  }

  /// Makes `address..<address+count` available in the window and returns
  /// its offset there. The range must lie inside one segment.
  private mutating func load(_ address: UInt64, _ count: Int)
    throws(FSError) -> Int
  {
    let end = address + UInt64(count)
    if address >= windowStart,
       end <= windowStart + UInt64(window.count) {
      return Int(address - windowStart)
    }
    guard let segment = geometry.segment(of: address) else { throw .io }
    let blockSize = UInt64(geometry.blockSize)
    let first = address / blockSize * blockSize
    let wanted = max(roundUp(end, to: blockSize), first + 128 * 1024)
    let last = min(wanted, geometry.segmentEnd(segment))
    let span = Int(last - first)
    if window.count != span {
      window = [UInt8](repeating: 0, count: span)
    }
    do {
      try device.readBlocks(first / blockSize, into: &window, 0..<span)
    } catch {
      throw .io
    }
    windowStart = first
    return Int(address - first)
  }

  /// The record at `address` if it is the expected continuation of the
  /// log, nil if it is not. Throws only when the device fails. With
  /// `toleratingDamagedChunks`, a checkpoint chunk with a bad payload
  /// checksum is returned marked damaged.
  mutating func record(at address: UInt64, sequence: UInt64,
                       previous: UInt32,
                       toleratingDamagedChunks: Bool = false)
    throws(FSError) -> ReadRecord?
  {
    guard address % 8 == 0, let segment = geometry.segment(of: address)
    else { return nil }
    let segmentEnd = geometry.segmentEnd(segment)
    guard address + UInt64(RecordHeader.size) <= segmentEnd else {
      return nil
    }
    var at = try load(address, RecordHeader.size)
    let header = window.withUnsafeBytes { raw in
      RecordHeader(UnsafeRawBufferPointer(
        rebasing: raw[at..<(at + RecordHeader.size)]))
    }
    guard header.volumeID == volumeID, header.sequence == sequence,
          header.previous == previous, header.flags == 0,
          let type = RecordType(rawValue: header.type),
          UInt64(header.length)
            <= segmentEnd - address - UInt64(RecordHeader.size)
    else { return nil }
    let length = Int(header.length)
    at = try load(address, RecordHeader.size + length)
    let checksum = window.withUnsafeBytes { raw in
      var crc = CRC32C()
      let payloadStart = at + RecordHeader.size
      crc.update(UnsafeRawBufferPointer(
        rebasing: raw[payloadStart..<(payloadStart + length)]))
      crc.update(UnsafeRawBufferPointer(
        rebasing: raw[(at + 4)..<(at + RecordHeader.size)]))
      return crc.value
    }
    let next = roundUp(address + UInt64(RecordHeader.size + length), to: 8)
    guard checksum == header.checksum else {
      guard toleratingDamagedChunks, type == .checkpointChunk else {
        return nil
      }
      return ReadRecord(address: address, header: header, type: type,
                        payload: [], next: next, isDamaged: true)
    }
    let payloadStart = at + RecordHeader.size
    var payload: [UInt8]
    if type == .write || type == .move {
      guard length > DataTrailer.size else { return nil }
      let trailer = payloadStart + length - DataTrailer.size
      payload = Array(window[trailer..<(trailer + DataTrailer.size)])
    } else {
      payload = Array(window[payloadStart..<(payloadStart + length)])
    }
    return ReadRecord(address: address, header: header, type: type,
                      payload: payload, next: next)
  }

  /// Like `record(at:)`, but when nothing valid starts at `address` also
  /// tries the next block boundary, where the writer resumes after a
  /// flush.
  mutating func nextRecord(at address: UInt64, sequence: UInt64,
                           previous: UInt32,
                           toleratingDamagedChunks: Bool = false)
    throws(FSError) -> ReadRecord?
  {
    if let found = try record(
      at: address, sequence: sequence, previous: previous,
      toleratingDamagedChunks: toleratingDamagedChunks) {
      return found
    }
    let blockSize = UInt64(geometry.blockSize)
    guard address % blockSize != 0 else { return nil }
    return try record(at: roundUp(address, to: blockSize),
                      sequence: sequence, previous: previous,
                      toleratingDamagedChunks: toleratingDamagedChunks)
  }
}

/// What mounting found, for logs and tests.
public struct RecoveryReport: Equatable, Sendable {
  /// The generation of the checkpoint recovery started from.
  public var generation: UInt64
  /// Whether the newest superblock or its checkpoint was unusable and
  /// the older one was used.
  public var usedOlderSuperblock: Bool
  /// Records replayed after the checkpoint.
  public var replayedRecords: Int
  /// The sequence number of the last record accepted.
  public var lastSequence: UInt64
  /// Inodes freed at mount because nothing linked them (files unlinked
  /// while open before the previous shutdown).
  public var releasedOrphans: Int
}

/// The state and log position recovered from one superblock.
struct RecoveredLog {
  var state: FileSystemState
  var segment: Int
  var head: UInt64
  var nextSequence: UInt64
  var previousChecksum: UInt32
  var replayedRecords: Int
  /// Log bytes the replayed records take.
  var replayedBytes: UInt64
}

enum Recovery {
  /// Loads the checkpoint `superblock` names and replays the log after
  /// it. With `mustReach`, the replay has to get at least to that
  /// sequence number (the end of a newer checkpoint that could not be
  /// read), or recovery from this superblock would lose acknowledged
  /// work and throws instead.
  static func recover<Device: BlockDevice>(
    device: Device, geometry: Geometry, superblock: Superblock,
    mustReach: UInt64?
  ) throws(FSError) -> RecoveredLog {
    var cursor = LogCursor(device: device, geometry: geometry,
                           volumeID: superblock.volumeID)
    var sequence = superblock.checkpointSequence
    var previous = superblock.checkpointPrevious
    guard let begin = try cursor.record(
      at: superblock.checkpointAddress, sequence: sequence,
      previous: previous), begin.type == .checkpointBegin
    else { throw .corrupted("checkpoint begin record is damaged") }
    var source = ByteSource(begin.payload, context: "checkpoint header")
    guard try source.get(UInt64.self) == superblock.generation else {
      throw .corrupted("checkpoint generation differs from superblock's")
    }
    let total = try source.get(UInt64.self)
    try source.expectEnd()
    let limit = UInt64(geometry.segmentCount) * geometry.segmentSize
    guard total <= limit else {
      throw .corrupted("checkpoint length is impossible")
    }

    // The checkpoint's chunks, and the segments it linked to on the way.
    var bytes: [UInt8] = []
    bytes.reserveCapacity(Int(total))
    var links: [(segment: Int, firstSequence: UInt64)] = []
    var position = begin.next
    sequence += 1
    previous = begin.header.checksum
    while bytes.count < Int(total) {
      guard let record = try cursor.nextRecord(
        at: position, sequence: sequence, previous: previous)
      else { throw .corrupted("checkpoint is incomplete or damaged") }
      switch record.type {
      case .checkpointChunk:
        guard bytes.count + record.payload.count <= Int(total) else {
          throw .corrupted("checkpoint chunks overrun its length")
        }
        bytes.append(contentsOf: record.payload)
        position = record.next
      case .segmentLink:
        let next = try linkTarget(record)
        links.append((next, sequence + 1))
        position = geometry.segmentStart(next)
      default:
        throw .corrupted("checkpoint is interrupted by another record")
      }
      sequence += 1
      previous = record.header.checksum
    }
    guard sequence - 1 == superblock.checkpointLastSequence else {
      throw .corrupted("checkpoint ends at another record than recorded")
    }
    let state = try FileSystemState.decodeCheckpoint(
      bytes, geometry: geometry, generation: superblock.generation)
    guard let firstSegment = geometry.segment(
      of: superblock.checkpointAddress),
      state.segments[firstSegment].state == .inUse
    else { throw .corrupted("checkpoint lies in a segment marked unused") }
    for link in links {
      try state.beginSegment(link.segment,
                             firstSequence: link.firstSequence)
    }
    state.releasePendingSegments(durableGeneration: superblock.generation)
    guard var segment = geometry.segment(of: position) else {
      throw .corrupted("log position left the log")
    }

    // Everything after the checkpoint.
    var replayed = 0
    var replayedBytes: UInt64 = 0
    var passing = PassedCheckpoint()
    while let record = try cursor.nextRecord(
      at: position, sequence: sequence, previous: previous,
      toleratingDamagedChunks: true) {
      if let generation = passing.generationToRelease(after: record) {
        state.releasePendingSegments(durableGeneration: generation)
      }
      switch record.type {
      case .segmentLink:
        let next = try linkTarget(record)
        do {
          try state.beginSegment(next, firstSequence: sequence + 1)
        } catch {
          throw .corrupted("record \(sequence) links to a used segment")
        }
        segment = next
        position = geometry.segmentStart(next)
      case .checkpointBegin, .checkpointChunk:
        // A newer checkpoint whose superblock did not survive; the
        // records around it carry the same changes.
        position = record.next
      case .write, .move:
        try apply(dataOperation(record), sequence: sequence, to: state)
        position = record.next
      default:
        let operation = try LogOperation.decode(
          type: record.type, payload: record.payload)
        try apply(operation, sequence: sequence, to: state)
        position = record.next
      }
      sequence += 1
      previous = record.header.checksum
      replayed += 1
      replayedBytes += record.next - record.address
    }
    if let mustReach, sequence - 1 < mustReach {
      throw .corrupted(
        "log from the older checkpoint ends before the newer one")
    }
    // Continue at a block boundary: the block holding the last record may
    // be on the disk already and must not be written a second time.
    var head = roundUp(position, to: UInt64(geometry.blockSize))
    if head > geometry.recordLimit(segment) {
      head = geometry.recordLimit(segment)
    }
    return RecoveredLog(state: state, segment: segment, head: head,
                        nextSequence: sequence, previousChecksum: previous,
                        replayedRecords: replayed,
                        replayedBytes: replayedBytes)
  }

  /// Tracks a checkpoint that replay passes over, to tell when the
  /// records after it begin.
  private struct PassedCheckpoint {
    private var generation: UInt64?
    private var remaining: UInt64 = 0
    private var complete = false

    /// The generation whose cleaned segments the runtime freed before
    /// writing `record`, if `record` is the first one after a complete
    /// checkpoint.
    mutating func generationToRelease(after record: ReadRecord) -> UInt64? {
      switch record.type {
      case .checkpointBegin:
        var source = ByteSource(record.payload, context: "checkpoint")
        generation = try? source.get(UInt64.self)
        remaining = (try? source.get(UInt64.self)) ?? 0
        complete = remaining == 0
        return nil
      case .checkpointChunk:
        let length = UInt64(record.header.length)
        remaining = remaining > length ? remaining - length : 0
        complete = remaining == 0
        return nil
      case .segmentLink where !complete:
        return nil
      default:
        defer { generation = nil }
        return complete ? generation : nil
      }
    }
  }

  private static func linkTarget(_ record: ReadRecord)
    throws(FSError) -> Int
  {
    guard case let .segmentLink(next) = try LogOperation.decode(
      type: .segmentLink, payload: record.payload)
    else { throw .corrupted("segment link is malformed") }
    return next
  }

  private static func dataOperation(_ record: ReadRecord)
    throws(FSError) -> LogOperation
  {
    var source = ByteSource(record.payload, context: "data trailer")
    let inode = try source.get(UInt64.self)
    let offset = try source.get(UInt64.self)
    let time = try source.getTimestamp()
    guard try source.get(UInt32.self) == 0 else {
      throw .corrupted("data trailer has a nonzero reserved field")
    }
    let address = record.address + UInt64(RecordHeader.size)
    if record.type == .move {
      return .move(inode: inode, offset: offset,
                   length: record.dataLength, address: address,
                   record: record.address)
    }
    return .write(inode: inode, offset: offset, length: record.dataLength,
                  address: address, record: record.address, time: time)
  }

  private static func apply(_ operation: LogOperation, sequence: UInt64,
                            to state: FileSystemState) throws(FSError) {
    do {
      try state.apply(operation, commit: true)
    } catch {
      if case .corrupted = error { throw error }
      throw .corrupted(
        "record \(sequence) does not apply: \(error.description)")
    }
  }
}
