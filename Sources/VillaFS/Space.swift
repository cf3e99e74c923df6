// Keeping room in the log: admission, cleaning and checkpoints.
//
// Space is counted three ways. Live data (bytes some extent maps) and the
// checkpoint's size are what the filesystem must keep; a change is
// admitted only if, after it, live data plus two checkpoints (the durable
// one and the next) plus a slack of three segments and a sixteenth of the
// log still fit. Free space is what the writer can use right now: the
// rest of its segment and the free segments. Everything else is garbage
// waiting for the cleaner.
//
// When free space runs short the filesystem
//   1. writes a checkpoint if cleaned segments wait for one (they become
//      free once it is durable);
//   2. else cleans: picks segments wholly before the durable checkpoint,
//      emptiest first, copies their live data to the head of the log as
//      move records, and marks them cleaned;
//   3. else writes a checkpoint to make the segments written since the
//      last one cleanable;
//   4. else reports noSpace.
// Segments after the durable checkpoint are never cleaned: recovery
// replays them. Cleaned segments are not reused before the next
// checkpoint is durable: until then, recovery from the durable one may
// read their data.
//
// Checkpoints are also written when the log since the last one grows past
// a quarter of the log (or four checkpoints' worth, if more), so that
// mounting never replays more than that.

extension FileSystem {
  /// Bytes ordinary records can fill across all segments.
  var capacityBytes: UInt64 {
    UInt64(geometry.segmentCount) * geometry.usableSegmentBytes
  }

  /// Room held back so that cleaning always has somewhere to copy to.
  var slackBytes: UInt64 {
    3 * geometry.segmentSize + capacityBytes / 16
  }

  /// The log bytes a checkpoint of `size` state bytes can take, with
  /// chunk headers, segment switches and the final padding.
  func checkpointNeed(_ size: Int) -> UInt64 {
    let bytes = UInt64(size)
    let segments = bytes / (geometry.usableSegmentBytes - 2048) + 2
    let chunks = bytes / 65536 + segments + 1
    return bytes + chunks * 48
      + segments * (2048 + 2 * UInt64(geometry.blockSize)) + 256
  }

  private var checkpointDue: Bool {
    let interval = max(capacityBytes / 4, 4 * UInt64(state.encodedSize))
    return writer.bytesAppended - appendedAtCheckpoint > interval
  }

  /// Makes sure a change of `logBytes` log bytes, adding `dataBytes` of
  /// live data and growing the checkpoint by `metadataGrowth`, fits.
  func makeRoom(logBytes: UInt64, dataBytes: UInt64, metadataGrowth: Int,
                freeing: Bool) throws(FSError) {
    let checkpointSize = UInt64(max(0, state.encodedSize + metadataGrowth))
    if !freeing {
      let needed = state.liveDataBytes + dataBytes + 2 * checkpointSize
        + slackBytes
      guard needed <= capacityBytes else { throw .noSpace }
    }
    if checkpointDue {
      do {
        try checkpoint()
      } catch {
        if error != .noSpace { throw error }
      }
    }
    let reserve = checkpointNeed(Int(checkpointSize))
      + (freeing ? 0 : geometry.segmentSize)
    try ensureFree(logBytes, reserve: reserve)
  }

  private func ensureFree(_ bytes: UInt64, reserve: UInt64)
    throws(FSError)
  {
    var rounds = 0
    var checkpointedToUnpin = false
    while writer.freeBytes < bytes + reserve {
      rounds += 1
      guard rounds <= geometry.segmentCount + 8 else { throw .noSpace }
      if state.hasPendingSegments {
        try checkpoint()
        continue
      }
      if try cleanSegments() {
        checkpointedToUnpin = false
        continue
      }
      if !checkpointedToUnpin, hasPinnedSegments {
        try checkpoint()
        checkpointedToUnpin = true
        continue
      }
      throw .noSpace
    }
  }

  /// The first sequence number of the durable checkpoint's segment:
  /// segments that began before it lie wholly before the checkpoint.
  private var checkpointSegmentStart: UInt64 {
    guard let segment = geometry.segment(of: checkpointAddress) else {
      return 0
    }
    return state.segments[segment].firstSequence
  }

  /// Segments written since the durable checkpoint, other than the head.
  private var hasPinnedSegments: Bool {
    let start = checkpointSegmentStart
    for index in state.segments.indices
    where state.segments[index].state == .inUse && index != writer.segment
      && state.segments[index].firstSequence >= start {
      return true
    }
    return false
  }

  // MARK: - Cleaning

  /// Cleans the emptiest segments that are worth it; false if none is.
  private func cleanSegments() throws(FSError) -> Bool {
    let start = checkpointSegmentStart
    var candidates: [Int] = []
    for index in state.segments.indices
    where state.segments[index].state == .inUse && index != writer.segment
      && state.segments[index].firstSequence < start {
      candidates.append(index)
    }
    guard !candidates.isEmpty else { return false }
    candidates.sort {
      let left = state.segments[$0].liveBytes
      let right = state.segments[$1].liveBytes
      return left != right ? left < right : $0 < $1
    }

    // Each extent piece becomes a record of its own at worst.
    var pieces = [Int](repeating: 0, count: geometry.segmentCount)
    for inode in state.inodes.values where inode.kind == .regular {
      for extent in inode.extents.extents {
        if let segment = geometry.segment(of: extent.address) {
          pieces[segment] += 1
        }
      }
    }

    // The copies must leave room for the checkpoint that frees the
    // victims. Copying a segment's data costs the data, a header and
    // trailer per piece, and at worst the unusable end of a segment.
    let afterwards = checkpointNeed(state.encodedSize)
      + 2 * UInt64(geometry.blockSize)
    guard writer.freeBytes > afterwards else { return false }
    let budget = writer.freeBytes - afterwards
    var victims: [Int] = []
    var copied: UInt64 = 0
    for candidate in candidates.prefix(64) {
      let live = state.segments[candidate].liveBytes
      let cost = live == 0 ? 0 : live + UInt64(pieces[candidate]) * 80
        + UInt64(geometry.blockSize) + 512
      guard copied + cost <= budget else { break }
      victims.append(candidate)
      copied += cost
    }
    // Worth it only if the segments freed outweigh the copies and the
    // checkpoint that frees them.
    let gained = UInt64(victims.count) * geometry.usableSegmentBytes
    guard !victims.isEmpty,
          gained > copied + checkpointNeed(state.encodedSize)
    else { return false }
    try clean(victims)
    return true
  }

  /// Moves the live data out of `victims` and marks them cleaned.
  private func clean(_ victims: [Int]) throws(FSError) {
    var isVictim = [Bool](repeating: false, count: geometry.segmentCount)
    for victim in victims { isVictim[victim] = true }
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    for number in state.inodes.keys.sorted() {
      guard let inode = state.inodes[number], inode.kind == .regular
      else { continue }
      var pieces: [Extent] = []
      for extent in inode.extents.extents {
        if let segment = geometry.segment(of: extent.address),
           isVictim[segment] {
          pieces.append(extent)
        }
      }
      for piece in pieces {
        // Copying damaged data would give it a fresh, valid checksum.
        try verifyRecord(piece.record)
        var done: UInt64 = 0
        while done < piece.length {
          let count = Int(min(piece.length - done, UInt64(buffer.count)))
          try writer.read(at: piece.address + done, into: &buffer,
                          count: count)
          try appendFileData(.move, inode: number,
                             offset: piece.offset + done, bytes: buffer,
                             count: count, time: .zero)
          done += UInt64(count)
        }
        counters.movedBytes += piece.length
      }
    }
    for victim in victims {
      try perform(.segmentCleaned(segment: victim,
                                  releaseGeneration: durableGeneration + 1),
                  growth: 0, freeing: true, makingRoom: false)
      counters.cleanedSegments += 1
    }
  }

  // MARK: - Checkpoints

  /// Writes the whole state to the log, flushes, and points the next
  /// superblock at it; then frees the segments cleaned before it.
  func checkpoint() throws(FSError) {
    let generation = durableGeneration + 1
    guard writer.freeBytes >= checkpointNeed(state.encodedSize) else {
      throw .noSpace
    }
    // Begin where the whole record fits: a checkpoint's first record must
    // lie in a segment its own state already marks as in use.
    let begin: RecordPosition
    do {
      if writer.payloadRoom < 2048 { try writer.switchSegment() }
      let bytes = state.encodeCheckpoint(generation: generation)
      var header = ByteSink(capacity: 16)
      header.put(generation)
      header.put(UInt64(bytes.count))
      begin = try writer.append(.checkpointBegin, payload: header.bytes)
      var offset = 0
      while offset < bytes.count {
        if writer.payloadRoom < 2048 { try writer.switchSegment() }
        let count = min(writer.payloadRoom, bytes.count - offset, 65536)
        try writer.append(.checkpointChunk,
                          payload: Array(bytes[offset..<(offset + count)]))
        offset += count
      }
      let last = writer.nextSequence - 1
      try writer.flush()
      try writeSuperblock(Superblock(
        blockSize: UInt32(geometry.blockSize),
        segmentSize: geometry.segmentSize,
        segmentCount: UInt32(geometry.segmentCount), volumeID: volumeID,
        generation: generation, checkpointAddress: begin.address,
        checkpointSequence: begin.sequence,
        checkpointPrevious: begin.previous, checkpointLastSequence: last,
        formatTime: volume.formatTime))
    } catch {
      throw stop(error)
    }
    durableGeneration = generation
    checkpointAddress = begin.address
    state.releasePendingSegments(durableGeneration: generation)
    verifiedRecords.removeAll()
    appendedAtCheckpoint = writer.bytesAppended
    changedSinceCheckpoint = false
    counters.checkpoints += 1
  }

  private func writeSuperblock(_ superblock: Superblock) throws(FSError) {
    let blockSize = geometry.blockSize
    let bytes = superblock.encoded(blockSize: blockSize)
    let slot = Int(superblock.generation % 2)
    let block = Geometry.superblockSlotOffsets[slot] / UInt64(blockSize)
    do {
      try device.writeBlocks(block, from: bytes, 0..<bytes.count)
      try device.flush()
    } catch {
      throw .io
    }
  }
}
