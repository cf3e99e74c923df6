// The head of the log: where records are appended, and how they reach the
// device.
//
// Records accumulate in `tail`, an in-memory copy of the log from the last
// block boundary written so far up to the head. Full blocks go to the
// device when the tail grows large; a flush (fsync, sync, a checkpoint)
// also writes the partial last block, padded with zeroes, and moves the
// head to the next block boundary. A block of the log is therefore
// written exactly once while its segment is in use: a torn write can only
// damage records that were never flushed, never ones that were.
//
// The last data record stays open while it is in the tail, so that a run
// of writes appending to the same file becomes one record and one extent.
// Its CRC covers the data first and the header last (see RecordHeader), so
// growing it only feeds the new bytes to the running checksum.
//
// Each segment keeps its last device block for the record that links it
// to the next segment; ordinary records end before that block.

/// Where an appended record landed.
struct RecordPosition {
  var address: UInt64
  var sequence: UInt64
  var previous: UInt32
}

/// The data record still open for appending.
private struct OpenDataRecord {
  var start: UInt64
  var type: RecordType
  var inode: InodeNumber
  var offset: UInt64
  var length: Int
  var time: Timestamp
  var checksum: CRC32C
  var sequence: UInt64
  var previous: UInt32
}

final class LogWriter<Device: BlockDevice> {
  let device: Device
  let geometry: Geometry
  let volumeID: UInt64
  let state: FileSystemState

  private(set) var segment: Int
  private(set) var head: UInt64
  private var tailStart: UInt64
  private var tail: [UInt8] = []
  private var open: OpenDataRecord?
  private(set) var nextSequence: UInt64
  private(set) var previousChecksum: UInt32
  /// Whether blocks were written since the last device flush.
  private var unflushed = false
  /// Every byte the log has grown by, padding included.
  private(set) var bytesAppended: UInt64 = 0
  private var scratch: [UInt8] = []

  /// Tail bytes that trigger writing full blocks out.
  static var writeOutThreshold: Int { 256 * 1024 }

  /// A writer continuing the log at `head`, a block boundary inside
  /// in-use segment `segment`.
  init(device: Device, geometry: Geometry, volumeID: UInt64,
       state: FileSystemState, segment: Int, head: UInt64,
       nextSequence: UInt64, previousChecksum: UInt32,
       bytesAppended: UInt64 = 0) {
    self.device = device
    self.geometry = geometry
    self.volumeID = volumeID
    self.state = state
    self.segment = segment
    self.head = head
    self.tailStart = head
    self.nextSequence = nextSequence
    self.previousChecksum = previousChecksum
    self.bytesAppended = bytesAppended
  }

  /// Bytes records can still use: the rest of this segment plus every
  /// free segment.
  var freeBytes: UInt64 {
    let limit = geometry.recordLimit(segment)
    let here = limit > head ? limit - head : 0
    return here + UInt64(state.freeSegmentCount) * geometry.usableSegmentBytes
  }

  /// The largest payload a record could have if appended now, without
  /// moving to another segment.
  var payloadRoom: Int {
    let limit = geometry.recordLimit(segment)
    let needed = head + UInt64(RecordHeader.size)
    return limit > needed ? Int(limit - needed) : 0
  }

  // MARK: - Appending

  /// Appends a record with `payload`, moving to a new segment first if it
  /// does not fit in this one.
  @discardableResult
  func append(_ type: RecordType, payload: [UInt8])
    throws(FSError) -> RecordPosition
  {
    closeOpenRecord()
    let size = UInt64(RecordHeader.size + payload.count)
    if head + size > geometry.recordLimit(segment) {
      try switchSegment()
      guard head + size <= geometry.recordLimit(segment) else {
        throw .invalid
      }
    }
    let position = placeRecord(type, payload: payload)
    try writeOutIfLarge()
    return position
  }

  /// Writes header and payload at the head. The caller has checked that
  /// the record fits.
  private func placeRecord(_ type: RecordType, payload: [UInt8])
    -> RecordPosition
  {
    let position = RecordPosition(
      address: head, sequence: nextSequence, previous: previousChecksum)
    let header = RecordHeader(
      checksum: 0, length: UInt32(payload.count), sequence: nextSequence,
      volumeID: volumeID, previous: previousChecksum, type: type.rawValue)
    let body = header.encodedBody()
    var checksum = CRC32C()
    checksum.update(payload)
    checksum.update(body)
    appendLittleEndian(checksum.value)
    tail.append(contentsOf: body)
    tail.append(contentsOf: payload)
    padTail()
    nextSequence += 1
    previousChecksum = checksum.value
    return position
  }

  /// Room for data that `appendData` would accept now without moving to
  /// another segment: more of the open record if it continues there,
  /// else a new record's.
  func dataRoom(type: RecordType, inode: InodeNumber, offset: UInt64)
    -> Int
  {
    let limit = geometry.recordLimit(segment)
    if let open, continues(open, type: type, inode: inode, offset: offset) {
      let used = open.start + UInt64(RecordHeader.size + open.length
                                     + DataTrailer.size)
      let room = limit > used ? Int(limit - used) : 0
      return min(room, geometry.maxPayload - DataTrailer.size - open.length)
    }
    let needed = head + UInt64(RecordHeader.size + DataTrailer.size)
    return limit > needed ? Int(limit - needed) : 0
  }

  private func continues(_ open: OpenDataRecord, type: RecordType,
                         inode: InodeNumber, offset: UInt64) -> Bool {
    open.type == type && open.inode == inode
      && open.offset + UInt64(open.length) == offset
      && tail.count < LogWriter.writeOutThreshold
  }

  /// Appends file data for a write or move record and returns where the
  /// record starts and where the data landed. `bytes.count` must not
  /// exceed `dataRoom`.
  func appendData(_ type: RecordType, inode: InodeNumber, offset: UInt64,
                  time: Timestamp, bytes: UnsafeRawBufferPointer)
    throws(FSError) -> (record: UInt64, data: UInt64)
  {
    let room = dataRoom(type: type, inode: inode, offset: offset)
    guard bytes.count <= room, bytes.count > 0 else { throw .invalid }
    if var record = open,
       continues(record, type: type, inode: inode, offset: offset) {
      let dataEnd = record.start
        + UInt64(RecordHeader.size + record.length)
      tail.removeLast(tail.count - Int(dataEnd - tailStart))
      tail.append(contentsOf: bytes)
      record.checksum.update(bytes)
      record.length += bytes.count
      record.time = time
      open = record
      appendTrailer(record)
      try writeOutIfLarge()
      return (record.start, dataEnd)
    }
    closeOpenRecord()
    let start = head
    tail.append(contentsOf: repeatElement(0, count: RecordHeader.size))
    tail.append(contentsOf: bytes)
    var checksum = CRC32C()
    checksum.update(bytes)
    let record = OpenDataRecord(
      start: start, type: type, inode: inode, offset: offset,
      length: bytes.count, time: time, checksum: checksum,
      sequence: nextSequence, previous: previousChecksum)
    nextSequence += 1
    open = record
    appendTrailer(record)
    try writeOutIfLarge()
    return (start, start + UInt64(RecordHeader.size))
  }

  private func trailerBytes(_ record: OpenDataRecord) -> [UInt8] {
    var sink = ByteSink(capacity: DataTrailer.size)
    sink.put(record.inode)
    sink.put(record.offset)
    sink.put(record.time)
    sink.put(UInt32(0))
    return sink.bytes
  }

  private func appendTrailer(_ record: OpenDataRecord) {
    tail.append(contentsOf: trailerBytes(record))
    padTail()
  }

  /// Finishes the open data record: its checksum and header.
  func closeOpenRecord() {
    guard let record = open else { return }
    open = nil
    var checksum = record.checksum
    checksum.update(trailerBytes(record))
    let header = RecordHeader(
      checksum: 0, length: UInt32(record.length + DataTrailer.size),
      sequence: record.sequence, volumeID: volumeID,
      previous: record.previous, type: record.type.rawValue)
    let body = header.encodedBody()
    checksum.update(body)
    let at = Int(record.start - tailStart)
    storeLittleEndian(checksum.value, into: &tail, at: at)
    for index in 0..<body.count {
      tail[at + 4 + index] = body[index]
    }
    previousChecksum = checksum.value
  }

  /// Ends this segment with a link to the lowest free segment and
  /// continues there.
  func switchSegment() throws(FSError) {
    closeOpenRecord()
    guard let next = state.lowestFreeSegment() else { throw .noSpace }
    // The link takes `nextSequence`; the new segment starts after it.
    try state.beginSegment(next, firstSequence: nextSequence + 1)
    let link = LogOperation.segmentLink(segment: next)
    _ = placeRecord(.segmentLink, payload: link.encodedPayload())
    try writeOut(all: true)
    segment = next
    head = geometry.segmentStart(next)
    tailStart = head
  }

  private func padTail() {
    let end = tailStart + UInt64(tail.count)
    let padded = roundUp(end, to: 8)
    tail.append(contentsOf: repeatElement(0, count: Int(padded - end)))
    bytesAppended += padded - head
    head = padded
  }

  private func appendLittleEndian(_ value: UInt32) {
    tail.append(UInt8(truncatingIfNeeded: value))
    tail.append(UInt8(truncatingIfNeeded: value >> 8))
    tail.append(UInt8(truncatingIfNeeded: value >> 16))
    tail.append(UInt8(truncatingIfNeeded: value >> 24))
  }

  // MARK: - Reaching the device

  private func writeOutIfLarge() throws(FSError) {
    if tail.count >= LogWriter.writeOutThreshold {
      try writeOut(all: false)
    }
  }

  /// Writes the tail's full blocks, or with `all` every byte of it padded
  /// to a block, after which the head moves to that block boundary.
  private func writeOut(all: Bool) throws(FSError) {
    // The open record's header must be final before its block leaves
    // memory.
    closeOpenRecord()
    let blockSize = geometry.blockSize
    if all {
      let padded = (tail.count + blockSize - 1) / blockSize * blockSize
      tail.append(contentsOf: repeatElement(0, count: padded - tail.count))
    }
    let count = tail.count / blockSize * blockSize
    if count > 0 {
      let block = tailStart / UInt64(blockSize)
      do {
        try device.writeBlocks(block, from: tail, 0..<count)
      } catch {
        throw .io
      }
      unflushed = true
      tail.removeFirst(count)
      tailStart += UInt64(count)
    }
    if all {
      bytesAppended += tailStart - head
      head = tailStart
    }
  }

  /// Whether `address` is still only in memory, where no checksum is
  /// needed to trust it.
  func isInMemory(_ address: UInt64) -> Bool {
    address >= tailStart && address < tailStart + UInt64(tail.count)
  }

  /// Makes every appended record durable.
  func flush() throws(FSError) {
    if open != nil || !tail.isEmpty {
      try writeOut(all: true)
    }
    guard unflushed else { return }
    do {
      try device.flush()
    } catch {
      throw .io
    }
    unflushed = false
  }

  // MARK: - Reading

  /// Copies log bytes at `address` into `buffer`, from the tail for what
  /// is still in memory and from the device for the rest.
  func read(at address: UInt64, into buffer: UnsafeMutableRawBufferPointer)
    throws(FSError)
  {
    let end = address + UInt64(buffer.count)
    let tailEnd = tailStart + UInt64(tail.count)
    var deviceEnd = end
    // Segments are reused in any order, so only addresses inside the
    // tail's own range are in memory; a read never spans segments.
    if end > tailStart, address < tailEnd {
      guard end <= tailEnd else { throw .io }
      let from = max(address, tailStart)
      let tailFrom = Int(from - tailStart)
      let count = Int(end - from)
      let target = Int(from - address)
      tail.withUnsafeBytes { raw in
        UnsafeMutableRawBufferPointer(
          rebasing: buffer[target..<(target + count)]
        ).copyMemory(from: UnsafeRawBufferPointer(
          rebasing: raw[tailFrom..<(tailFrom + count)]))
      }
      deviceEnd = from
    }
    if deviceEnd > address {
      try readDevice(
        at: address,
        into: UnsafeMutableRawBufferPointer(
          rebasing: buffer[0..<Int(deviceEnd - address)]))
    }
  }

  /// `read(at:into:)` into the first `count` bytes of an array.
  func read(at address: UInt64, into bytes: inout [UInt8], count: Int)
    throws(FSError)
  {
    var failure: FSError?
    bytes.withUnsafeMutableBytes { raw in
      do throws(FSError) {
        try read(at: address,
                 into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]))
      } catch {
        failure = error
      }
    }
    if let failure { throw failure }
  }

  private func readDevice(at address: UInt64,
                          into buffer: UnsafeMutableRawBufferPointer)
    throws(FSError)
  {
    let blockSize = UInt64(geometry.blockSize)
    if address % blockSize == 0, UInt64(buffer.count) % blockSize == 0 {
      do {
        try device.read(block: address / blockSize,
                        count: buffer.count / Int(blockSize), into: buffer)
      } catch {
        throw .io
      }
      return
    }
    // Unaligned: go through whole blocks in a scratch buffer, a bounded
    // piece at a time.
    var done = 0
    while done < buffer.count {
      let at = address + UInt64(done)
      let first = at / blockSize * blockSize
      let skip = Int(at - first)
      let want = min(buffer.count - done, 128 * 1024)
      let span = Int(roundUp(UInt64(skip + want), to: blockSize))
      if scratch.count < span {
        scratch = [UInt8](repeating: 0, count: span)
      }
      do {
        try device.readBlocks(first / blockSize, into: &scratch, 0..<span)
      } catch {
        throw .io
      }
      scratch.withUnsafeBytes { raw in
        UnsafeMutableRawBufferPointer(
          rebasing: buffer[done..<(done + want)]
        ).copyMemory(from: UnsafeRawBufferPointer(
          rebasing: raw[skip..<(skip + want)]))
      }
      done += want
    }
  }
}
