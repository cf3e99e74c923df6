// Villa's persistent filesystem: the API the kernel's VFS and the host's
// image tools use.
//
// The API is inode-based, as the VFS wants it: the VFS walks paths itself
// and calls `lookup` one component at a time. Every change is one log
// record (see FileSystemState for how records are applied, LogWriter for
// how they reach the disk, Recovery for how mounting reads them back, and
// Space.swift for cleaning and checkpoints). A change is durable once
// `sync`, `fsync` or `fdatasync` returns; all three flush the whole log,
// which is as cheap as flushing one file's part of it.
//
// Times come from the clock passed at mount. Reads do not change atime
// (as with the noatime mount option); setattr does.
//
// The filesystem is not thread-safe: the kernel serializes calls.

/// Choices made when formatting a device.
public struct FormatOptions: Sendable {
  /// The on-disk format version that `format` writes and mount accepts.
  public static let formatVersion = Superblock.version

  /// Identifies this filesystem: records of an earlier filesystem on the
  /// same device carry another ID and are never mistaken for this one's.
  public var volumeID: UInt64
  /// The root directory's times and the superblock's format time.
  public var time: Timestamp
  /// Segment size in bytes, a multiple of 4096 from 64 KiB up; nil picks
  /// one from the device size.
  public var segmentSize: UInt64?
  public var rootMode: UInt32
  public var rootUID: UInt32
  public var rootGID: UInt32

  public init(volumeID: UInt64, time: Timestamp, segmentSize: UInt64? = nil,
              rootMode: UInt32 = 0o755, rootUID: UInt32 = 0,
              rootGID: UInt32 = 0) {
    self.volumeID = volumeID
    self.time = time
    self.segmentSize = segmentSize
    self.rootMode = rootMode
    self.rootUID = rootUID
    self.rootGID = rootGID
  }
}

/// The shape of a mounted filesystem.
public struct VolumeInfo: Equatable, Sendable {
  public var volumeID: UInt64
  public var blockSize: Int
  public var segmentSize: UInt64
  public var segmentCount: Int
  /// The generation of the last durable checkpoint.
  public var generation: UInt64
  public var formatTime: Timestamp
}

/// How much housekeeping the filesystem has done since it was mounted.
public struct MaintenanceCounters: Equatable, Sendable {
  public var checkpoints = 0
  public var cleanedSegments = 0
  public var movedBytes: UInt64 = 0
}

public final class FileSystem<Device: BlockDevice> {
  public let device: Device
  public let isReadOnly: Bool
  let geometry: Geometry
  let volumeID: UInt64
  let state: FileSystemState
  let writer: LogWriter<Device>
  private let clock: () -> Timestamp
  private let formatTime: Timestamp

  /// Set when a device write failed: memory is then ahead of the disk,
  /// and further changes are refused (as ext4's errors=remount-ro).
  private var failed = false
  private var mounted = true
  var durableGeneration: UInt64
  /// Where the durable checkpoint begins.
  var checkpointAddress: UInt64
  /// `writer.bytesAppended` when the durable checkpoint was written.
  var appendedAtCheckpoint: UInt64 = 0
  var changedSinceCheckpoint = false

  public private(set) var recovery: RecoveryReport
  /// Data records whose checksum a read has confirmed. Forgotten whenever
  /// segments are freed, since their addresses may then be reused.
  var verifiedRecords: Set<UInt64> = []
  public internal(set) var counters = MaintenanceCounters()

  public static var rootInode: InodeNumber { FileSystemState.rootInode }

  private init(device: Device, readOnly: Bool, geometry: Geometry,
               volumeID: UInt64, state: FileSystemState,
               writer: LogWriter<Device>, clock: @escaping () -> Timestamp,
               formatTime: Timestamp, durableGeneration: UInt64,
               checkpointAddress: UInt64, recovery: RecoveryReport) {
    self.device = device
    self.isReadOnly = readOnly
    self.geometry = geometry
    self.volumeID = volumeID
    self.state = state
    self.writer = writer
    self.clock = clock
    self.formatTime = formatTime
    self.durableGeneration = durableGeneration
    self.checkpointAddress = checkpointAddress
    self.recovery = recovery
  }

  // MARK: - Format and mount

  /// Writes an empty filesystem (a root directory) to `device`.
  public static func format(_ device: Device, options: FormatOptions)
    throws(FSError)
  {
    let geometry = try Geometry.choose(
      blockSize: device.blockSize, blockCount: device.blockCount,
      requestedSegmentSize: options.segmentSize)
    // Erase both superblock slots first: a leftover superblock of an
    // earlier filesystem with a higher generation would win at mount.
    let zero = [UInt8](repeating: 0, count: device.blockSize)
    do {
      for offset in Geometry.superblockSlotOffsets {
        try device.writeBlocks(offset / UInt64(device.blockSize),
                               from: zero, 0..<zero.count)
      }
      try device.flush()
    } catch {
      throw .io
    }
    let state = FileSystemState.fresh(
      geometry: geometry, rootMode: options.rootMode,
      uid: options.rootUID, gid: options.rootGID, time: options.time)
    try state.beginSegment(0, firstSequence: 1)
    let writer = LogWriter(
      device: device, geometry: geometry, volumeID: options.volumeID,
      state: state, segment: 0, head: geometry.segmentStart(0),
      nextSequence: 1, previousChecksum: 0)
    let time = options.time
    let fileSystem = FileSystem(
      device: device, readOnly: false, geometry: geometry,
      volumeID: options.volumeID, state: state, writer: writer,
      clock: { time }, formatTime: options.time, durableGeneration: 0,
      checkpointAddress: geometry.segmentStart(0),
      recovery: RecoveryReport(
        generation: 0, usedOlderSuperblock: false, replayedRecords: 0,
        lastSequence: 0, releasedOrphans: 0))
    try fileSystem.checkpoint()
  }

  /// Mounts the filesystem on `device`: reads the newest superblock that
  /// checks out, loads its checkpoint and replays the log after it. If
  /// that checkpoint is damaged, the older superblock is tried, and used
  /// only if its log reaches past the damaged checkpoint. Throws
  /// `corrupted` or `unsupportedVersion` when neither works.
  ///
  /// A writable mount frees inodes left unlinked-but-open by the previous
  /// run. `clock` gives the time for every change.
  public convenience init(
    mounting device: Device, readOnly: Bool = false,
    clock: @escaping () -> Timestamp
  ) throws(FSError) {
    let blockSize = device.blockSize
    guard blockSize >= 512, blockSize <= 4096,
          blockSize & (blockSize - 1) == 0,
          device.blockCount >= Geometry.logStart / UInt64(blockSize)
    else { throw .invalid }

    // A checksummed superblock of a newer version means a newer Villa
    // wrote here; the other slot's older state must not be used then.
    var candidates: [Superblock] = []
    var newerVersion: FSError?
    for offset in Geometry.superblockSlotOffsets {
      var bytes = [UInt8](repeating: 0, count: blockSize)
      do {
        try device.readBlocks(offset / UInt64(blockSize), into: &bytes,
                              0..<blockSize)
      } catch {
        throw .io
      }
      do {
        candidates.append(try Superblock.decode(bytes))
      } catch {
        if case .unsupportedVersion = error { newerVersion = error }
      }
    }
    if let newerVersion { throw newerVersion }
    guard !candidates.isEmpty else {
      throw .corrupted("no valid superblock")
    }
    candidates.sort { $0.generation > $1.generation }

    let newest = candidates[0]
    var chosen = newest
    var usedOlder = false
    var recovered: RecoveredLog
    var geometry: Geometry
    do {
      geometry = try newest.geometry(deviceBlockSize: blockSize,
                                     deviceBlockCount: device.blockCount)
      recovered = try Recovery.recover(
        device: device, geometry: geometry, superblock: newest,
        mustReach: nil)
    } catch {
      guard case .corrupted = error, candidates.count == 2,
            candidates[1].volumeID == newest.volumeID,
            candidates[1].generation < newest.generation
      else { throw error }
      let older = candidates[1]
      do {
        geometry = try older.geometry(deviceBlockSize: blockSize,
                                      deviceBlockCount: device.blockCount)
        recovered = try Recovery.recover(
          device: device, geometry: geometry, superblock: older,
          mustReach: newest.checkpointLastSequence)
      } catch let olderError {
        // Report what is wrong with the newest state, unless the device
        // itself failed.
        throw olderError == .io ? olderError : error
      }
      chosen = older
      usedOlder = true
    }

    recovered.state.releasePendingSegments(
      durableGeneration: chosen.generation)
    // Count the replayed log as written since the checkpoint, so the
    // next checkpoint comes no later than if the system had not stopped.
    let writer = LogWriter(
      device: device, geometry: geometry, volumeID: chosen.volumeID,
      state: recovered.state, segment: recovered.segment,
      head: recovered.head, nextSequence: recovered.nextSequence,
      previousChecksum: recovered.previousChecksum,
      bytesAppended: recovered.replayedBytes)
    self.init(
      device: device, readOnly: readOnly, geometry: geometry,
      volumeID: chosen.volumeID, state: recovered.state, writer: writer,
      clock: clock, formatTime: chosen.formatTime,
      durableGeneration: chosen.generation,
      checkpointAddress: chosen.checkpointAddress,
      recovery: RecoveryReport(
        generation: chosen.generation, usedOlderSuperblock: usedOlder,
        replayedRecords: recovered.replayedRecords,
        lastSequence: recovered.nextSequence - 1, releasedOrphans: 0))
    changedSinceCheckpoint = recovered.replayedRecords > 0 || usedOlder
    if !readOnly {
      for orphan in state.orphans {
        do {
          try perform(.release(inode: orphan), growth: 0, freeing: true)
          recovery.releasedOrphans += 1
        } catch {
          // Out of room: the orphan stays, invisible, until next mount.
          if error != .noSpace { throw error }
        }
      }
    }
  }

  /// Makes everything durable and writes a checkpoint so the next mount
  /// has nothing to replay. The object refuses all calls afterwards.
  public func unmount() throws(FSError) {
    guard mounted else { return }
    defer { mounted = false }
    if isReadOnly { return }
    if failed { throw .io }
    if changedSinceCheckpoint {
      do {
        try checkpoint()
        return
      } catch {
        // Without room for a checkpoint the log alone still recovers.
        if error != .noSpace { throw error }
      }
    }
    try sync()
  }

  public var volume: VolumeInfo {
    VolumeInfo(volumeID: volumeID, blockSize: geometry.blockSize,
               segmentSize: geometry.segmentSize,
               segmentCount: geometry.segmentCount,
               generation: durableGeneration, formatTime: formatTime)
  }

  // MARK: - Looking things up

  /// The inode `name` names in `directory`; "." and ".." are understood.
  public func lookup(_ name: [UInt8], in directory: InodeNumber)
    throws(FSError) -> InodeNumber
  {
    try checkMounted()
    let parent = try state.directory(directory)
    if name == [0x2E] { return directory }
    if name == [0x2E, 0x2E] { return parent.parent }
    try state.checkName(name)
    guard let link = parent.entry(named: name) else { throw .notFound }
    return link.inode
  }

  public func attributes(of inode: InodeNumber)
    throws(FSError) -> Attributes
  {
    try checkMounted()
    return state.attributes(of: try state.inode(inode))
  }

  /// Up to `limit` entries of `directory` after `cookie` (0 for the
  /// start), in a stable order. "." and ".." are not included.
  public func readDirectory(_ directory: InodeNumber, after cookie: UInt64,
                            limit: Int = Int.max)
    throws(FSError) -> [DirectoryEntry]
  {
    try checkMounted()
    let parent = try state.directory(directory)
    var result: [DirectoryEntry] = []
    for entry in parent.entries(after: cookie, limit: limit) {
      guard let child = state.inodes[entry.link.inode] else { continue }
      result.append(DirectoryEntry(
        name: entry.name, inode: child.number, kind: child.kind,
        cookie: entry.link.cookie))
    }
    return result
  }

  public func readLink(_ inode: InodeNumber) throws(FSError) -> [UInt8] {
    try checkMounted()
    let found = try state.inode(inode)
    guard found.kind == .symlink else { throw .invalid }
    return found.target
  }

  /// Reads up to `buffer.count` bytes at `offset`; returns how many, 0 at
  /// or past the end of the file. Holes read as zeroes.
  public func read(_ inode: InodeNumber, at offset: UInt64,
                   into buffer: UnsafeMutableRawBufferPointer)
    throws(FSError) -> Int
  {
    try checkMounted()
    let file = try state.inode(inode)
    guard file.kind == .regular else {
      throw file.kind == .directory ? .isDirectory : .invalid
    }
    guard offset < file.size, buffer.count > 0 else { return 0 }
    let count = Int(min(UInt64(buffer.count), file.size - offset))
    let end = offset + UInt64(count)
    var pieces: [Extent] = []
    file.extents.forEachPiece(in: offset, end) { pieces.append($0) }
    var filled = offset
    for piece in pieces {
      let payload = try verifyRecord(piece.record)
      zero(buffer, from: Int(filled - offset), to: Int(piece.offset - offset))
      let start = Int(piece.offset - offset)
      let target = UnsafeMutableRawBufferPointer(
        rebasing: buffer[start..<(start + Int(piece.length))])
      if let payload {
        // The record was just read whole to check it: take the bytes
        // from there instead of reading them from the disk again.
        let from = Int(piece.address - piece.record) - RecordHeader.size
        guard from >= 0,
              from + target.count <= payload.count - DataTrailer.size
        else { throw .corrupted("file data lies outside its record") }
        payload.withUnsafeBytes { raw in
          target.copyMemory(from: UnsafeRawBufferPointer(
            rebasing: raw[from..<(from + target.count)]))
        }
      } else {
        try writer.read(at: piece.address, into: target)
      }
      filled = piece.end
    }
    zero(buffer, from: Int(filled - offset), to: count)
    return count
  }

  /// Checks the checksum of the data record at `address` the first time
  /// its data is read after it reached the disk, so that damaged data is
  /// reported instead of returned. Returns the payload it read (file
  /// data, then the trailer), or nil when there was nothing to check.
  @discardableResult
  func verifyRecord(_ address: UInt64) throws(FSError) -> [UInt8]? {
    guard !verifiedRecords.contains(address),
          !writer.isInMemory(address)
    else { return nil }
    var header = [UInt8](repeating: 0, count: RecordHeader.size)
    try writer.read(at: address, into: &header, count: header.count)
    let parsed = header.withUnsafeBytes { RecordHeader($0) }
    let length = Int(parsed.length)
    guard parsed.volumeID == volumeID,
          parsed.type == RecordType.write.rawValue
            || parsed.type == RecordType.move.rawValue,
          length > DataTrailer.size, length <= geometry.maxPayload
    else { throw .corrupted("file data record header is damaged") }
    var payload = [UInt8](repeating: 0, count: length)
    try writer.read(at: address + UInt64(RecordHeader.size), into: &payload,
                    count: length)
    var checksum = CRC32C()
    checksum.update(payload)
    header.withUnsafeBytes { raw in
      checksum.update(UnsafeRawBufferPointer(
        rebasing: raw[4..<RecordHeader.size]))
    }
    guard checksum.value == parsed.checksum else {
      throw .corrupted("file data fails its checksum")
    }
    verifiedRecords.insert(address)
    return payload
  }

  private func zero(_ buffer: UnsafeMutableRawBufferPointer, from: Int,
                    to: Int) {
    guard to > from else { return }
    UnsafeMutableRawBufferPointer(rebasing: buffer[from..<to])
      .initializeMemory(as: UInt8.self, repeating: 0)
  }

  /// Figures for statfs(2), in 4096-byte blocks.
  public func statfs() -> FileSystemStatistics {
    let blockSize: UInt64 = 4096
    let used = state.liveDataBytes + 2 * UInt64(state.encodedSize)
      + slackBytes
    let free = capacityBytes > used ? capacityBytes - used : 0
    return FileSystemStatistics(
      blockSize: UInt32(blockSize), totalBlocks: capacityBytes / blockSize,
      freeBlocks: free / blockSize,
      availableBlocks: isReadOnly ? 0 : free / blockSize,
      totalFiles: UInt64(state.inodeCount) + free / 256,
      freeFiles: free / 256,
      maxNameLength: UInt32(FormatLimits.maxNameLength))
  }

  // MARK: - Creating and naming

  /// Creates an inode named `name` in `directory`. `mode` holds the type
  /// bits (regular file, directory, fifo, socket, device) and the
  /// permissions; symlinks are made with `makeSymlink`.
  public func create(_ name: [UInt8], in directory: InodeNumber,
                     mode: UInt32, uid: UInt32, gid: UInt32,
                     rdev: UInt64 = 0) throws(FSError) -> InodeNumber
  {
    guard let kind = FileKind(mode: mode), kind != .symlink else {
      throw .invalid
    }
    return try createInode(parent: directory, name: name, mode: mode,
                           uid: uid, gid: gid, rdev: rdev, target: [])
  }

  public func makeDirectory(_ name: [UInt8], in directory: InodeNumber,
                            mode: UInt32, uid: UInt32, gid: UInt32)
    throws(FSError) -> InodeNumber
  {
    try createInode(
      parent: directory, name: name,
      mode: FileKind.directory.modeBits | (mode & FileMode.permissionMask),
      uid: uid, gid: gid, rdev: 0, target: [])
  }

  public func makeSymlink(_ name: [UInt8], in directory: InodeNumber,
                          target: [UInt8], uid: UInt32, gid: UInt32)
    throws(FSError) -> InodeNumber
  {
    try createInode(parent: directory, name: name,
                    mode: FileKind.symlink.modeBits | 0o777, uid: uid,
                    gid: gid, rdev: 0, target: target)
  }

  /// A regular file with no name (O_TMPFILE), already acquired once; it
  /// is freed at its last release unless `link` gives it a name first.
  public func createUnnamed(mode: UInt32, uid: UInt32, gid: UInt32)
    throws(FSError) -> InodeNumber
  {
    let inode = try createInode(
      parent: 0, name: [],
      mode: FileKind.regular.modeBits | (mode & FileMode.permissionMask),
      uid: uid, gid: gid, rdev: 0, target: [])
    try acquire(inode)
    return inode
  }

  private func createInode(parent: InodeNumber, name: [UInt8],
                           mode: UInt32, uid: UInt32, gid: UInt32,
                           rdev: UInt64, target: [UInt8])
    throws(FSError) -> InodeNumber
  {
    let number = state.nextInode
    let operation = LogOperation.create(
      parent: parent, name: name, inode: number, mode: mode, uid: uid,
      gid: gid, rdev: rdev, time: now(), target: target)
    try perform(operation, growth: 140 + name.count + target.count,
                freeing: false)
    return number
  }

  /// Gives `inode` another name (link(2)). Directories cannot be linked.
  public func link(_ inode: InodeNumber, as name: [UInt8],
                   in directory: InodeNumber) throws(FSError) {
    try perform(.link(parent: directory, name: name, inode: inode,
                      time: now()),
                growth: 18 + name.count, freeing: false)
  }

  /// Removes a non-directory's name (unlink(2)). The inode is freed when
  /// its last name goes, or at its last `release` if it is acquired.
  public func unlink(_ name: [UInt8], in directory: InodeNumber)
    throws(FSError)
  {
    try checkWritable()
    let release = releasesNow(name, in: directory)
    try perform(.unlink(parent: directory, name: name, time: now(),
                        release: release),
                growth: 0, freeing: true)
  }

  /// Removes an empty directory (rmdir(2)).
  public func removeDirectory(_ name: [UInt8], in directory: InodeNumber)
    throws(FSError)
  {
    try checkWritable()
    let release = releasesNow(name, in: directory)
    try perform(.removeDirectory(parent: directory, name: name,
                                 time: now(), release: release),
                growth: 0, freeing: true)
  }

  /// Renames as renameat2(2): `mode` chooses between replacing an
  /// existing target, refusing to, and exchanging the two.
  public func rename(_ name: [UInt8], in directory: InodeNumber,
                     to newName: [UInt8], in newDirectory: InodeNumber,
                     mode: RenameMode = .replace) throws(FSError) {
    try checkWritable()
    let release = releasesNow(newName, in: newDirectory)
    let growth = newName.count - name.count
    try perform(.rename(fromParent: directory, fromName: name,
                        toParent: newDirectory, toName: newName,
                        mode: mode, time: now(), release: release),
                growth: growth, freeing: growth <= 0)
  }

  /// Whether the inode `name` names could be freed now if it lost its
  /// last name: nothing has it acquired.
  private func releasesNow(_ name: [UInt8], in directory: InodeNumber)
    -> Bool
  {
    guard let parent = state.inodes[directory],
          let link = parent.entry(named: name),
          let target = state.inodes[link.inode]
    else { return true }
    return target.openCount == 0
  }

  // MARK: - Changing files

  /// Writes `buffer` at `offset`, growing the file as needed (a gap
  /// becomes a hole). Returns the bytes written: all of them, or fewer if
  /// the device filled up after some were written.
  public func write(_ inode: InodeNumber, at offset: UInt64,
                    from buffer: UnsafeRawBufferPointer)
    throws(FSError) -> Int
  {
    try checkWritable()
    let file = try state.inode(inode)
    guard file.kind == .regular else {
      throw file.kind == .directory ? .isDirectory : .invalid
    }
    guard buffer.count > 0 else { return 0 }
    let (end, overflow) = offset.addingReportingOverflow(
      UInt64(buffer.count))
    guard !overflow, end <= FormatLimits.maxFileSize else {
      throw .fileTooLarge
    }
    let now = self.now()
    var done = 0
    while done < buffer.count {
      let piece = min(buffer.count - done, 1 << 20)
      let at = offset + UInt64(done)
      let fresh = UInt64(piece)
        - file.extents.mappedBytes(in: at, at + UInt64(piece))
      do {
        try makeRoom(logBytes: UInt64(piece) + dataOverhead(piece),
                     dataBytes: fresh,
                     metadataGrowth: 20 * (piece / 65536 + 2),
                     freeing: false)
      } catch {
        if error == .noSpace, done > 0 { break }
        throw error
      }
      try appendFileData(
        .write, inode: inode, offset: at,
        bytes: UnsafeRawBufferPointer(
          rebasing: buffer[done..<(done + piece)]),
        time: now)
      done += piece
    }
    return done
  }

  /// Changes attributes as setattr does (chmod, chown, truncate,
  /// utimensat) and returns the result.
  @discardableResult
  public func setAttributes(_ inode: InodeNumber, _ changes: AttributeChanges)
    throws(FSError) -> Attributes
  {
    try checkWritable()
    let target = try state.inode(inode)
    let now = self.now()
    var record = AttributeRecord()
    if let mode = changes.mode {
      record.mask |= AttributeRecord.modeBit
      record.mode = mode & FileMode.permissionMask
    }
    if let uid = changes.uid {
      record.mask |= AttributeRecord.uidBit
      record.uid = uid
    }
    if let gid = changes.gid {
      record.mask |= AttributeRecord.gidBit
      record.gid = gid
    }
    if let size = changes.size {
      record.mask |= AttributeRecord.sizeBit
      record.size = size
      if changes.modificationTime == nil {
        record.mask |= AttributeRecord.modificationTimeBit
        record.modificationTime = now
      }
    }
    for time in [changes.accessTime, changes.modificationTime,
                 changes.changeTime] {
      if let time, time.nanoseconds >= 1_000_000_000 { throw .invalid }
    }
    if let time = changes.accessTime {
      record.mask |= AttributeRecord.accessTimeBit
      record.accessTime = time
    }
    if let time = changes.modificationTime {
      record.mask |= AttributeRecord.modificationTimeBit
      record.modificationTime = time
    }
    if record.mask != 0 || changes.changeTime != nil {
      record.mask |= AttributeRecord.changeTimeBit
      record.changeTime = changes.changeTime ?? now
    }
    if record.mask != 0 {
      let shrinking = changes.size.map { $0 < target.size } ?? false
      try perform(.setAttributes(inode: inode, record), growth: 0,
                  freeing: shrinking || changes.size == nil)
    }
    return state.attributes(of: target)
  }

  /// Sets a regular file's size (truncate(2)).
  public func truncate(_ inode: InodeNumber, to size: UInt64)
    throws(FSError)
  {
    try setAttributes(inode, AttributeChanges(size: size))
  }

  // MARK: - Open files

  /// Notes that the VFS holds `inode` open: an unlinked inode lives on
  /// until the matching `release`.
  public func acquire(_ inode: InodeNumber) throws(FSError) {
    try checkMounted()
    try state.inode(inode).openCount += 1
  }

  /// Drops a hold taken with `acquire`; the last one frees an inode that
  /// has no names left.
  public func release(_ inode: InodeNumber) throws(FSError) {
    try checkMounted()
    let target = try state.inode(inode)
    guard target.openCount > 0 else { throw .invalid }
    target.openCount -= 1
    guard target.openCount == 0, target.linkCount == 0, !isReadOnly,
          !failed
    else { return }
    try perform(.release(inode: inode), growth: 0, freeing: true)
  }

  // MARK: - Durability

  /// Makes every change so far durable.
  public func sync() throws(FSError) {
    try checkMounted()
    guard !isReadOnly else { return }
    guard !failed else { throw .io }
    do {
      try writer.flush()
    } catch {
      throw stop(error)
    }
  }

  /// Makes `inode`'s data and metadata durable (and, the log being one
  /// sequence, everything written before them).
  public func fsync(_ inode: InodeNumber) throws(FSError) {
    try checkMounted()
    _ = try state.inode(inode)
    try sync()
  }

  public func fdatasync(_ inode: InodeNumber) throws(FSError) {
    try fsync(inode)
  }

  // MARK: - Performing operations

  /// The clock's time, with nanoseconds kept in range so that every
  /// logged time decodes.
  private func now() -> Timestamp {
    var time = clock()
    time.nanoseconds = min(time.nanoseconds, 999_999_999)
    return time
  }

  private func checkMounted() throws(FSError) {
    guard mounted else { throw .invalid }
  }

  private func checkWritable() throws(FSError) {
    try checkMounted()
    guard !isReadOnly, !failed else { throw .readOnly }
  }

  /// Checks, logs and applies a metadata operation. `growth` is how much
  /// the checkpoint may grow; `freeing` marks operations that must work
  /// on a full disk because they give space back.
  /// The cleaner passes `makingRoom: false` for its own records, which
  /// the room it keeps back already covers.
  func perform(_ operation: LogOperation, growth: Int, freeing: Bool,
               makingRoom: Bool = true) throws(FSError) {
    try checkWritable()
    try state.apply(operation, commit: false)
    let payload = operation.encodedPayload()
    if makingRoom {
      try makeRoom(logBytes: UInt64(RecordHeader.size + payload.count + 8),
                   dataBytes: 0, metadataGrowth: growth, freeing: freeing)
    }
    do {
      try writer.append(operation.recordType, payload: payload)
    } catch {
      throw stop(error)
    }
    try commit(operation)
  }

  /// Applies an operation whose record is in the log.
  func commit(_ operation: LogOperation) throws(FSError) {
    do {
      try state.apply(operation, commit: true)
    } catch {
      failed = true
      throw .corrupted("a checked operation failed to apply")
    }
    changedSinceCheckpoint = true
  }

  /// Turns a failed append or flush into the error to report. Running
  /// out of room leaves log and memory in step; anything else does not.
  func stop(_ error: FSError) -> FSError {
    if error != .noSpace { failed = true }
    return error
  }

  /// Appends file data as write or move records, split where segments
  /// end, applying each piece once it is in the log.
  func appendFileData(_ type: RecordType, inode: InodeNumber,
                      offset: UInt64, bytes: UnsafeRawBufferPointer,
                      time: Timestamp) throws(FSError) {
    var done = 0
    while done < bytes.count {
      let at = offset + UInt64(done)
      let remaining = bytes.count - done
      var room = writer.dataRoom(type: type, inode: inode, offset: at)
      // A write of up to a page or so that does not fit goes whole into
      // the next segment, so that it reaches the disk all or nothing; a
      // larger one, and the cleaner's copies, fill this segment first.
      let whole = type == .write ? geometry.atomicWriteLimit : 0
      if room < remaining, remaining <= whole || room < 512 {
        do {
          try writer.switchSegment()
        } catch {
          throw stop(error)
        }
        room = writer.dataRoom(type: type, inode: inode, offset: at)
      }
      let count = min(remaining, room, 256 * 1024)
      guard count > 0 else { throw .noSpace }
      let address: (record: UInt64, data: UInt64)
      do {
        address = try writer.appendData(
          type, inode: inode, offset: at, time: time,
          bytes: UnsafeRawBufferPointer(
            rebasing: bytes[done..<(done + count)]))
      } catch {
        throw stop(error)
      }
      let operation: LogOperation = type == .move
        ? .move(inode: inode, offset: at, length: UInt64(count),
                address: address.data, record: address.record)
        : .write(inode: inode, offset: at, length: UInt64(count),
                 address: address.data, record: address.record, time: time)
      try commit(operation)
      done += count
    }
  }

  /// `appendFileData` from the first `count` bytes of an array.
  func appendFileData(_ type: RecordType, inode: InodeNumber,
                      offset: UInt64, bytes: [UInt8], count: Int,
                      time: Timestamp) throws(FSError) {
    var failure: FSError?
    bytes.withUnsafeBytes { raw in
      do throws(FSError) {
        try appendFileData(
          type, inode: inode, offset: offset,
          bytes: UnsafeRawBufferPointer(rebasing: raw[0..<count]),
          time: time)
      } catch {
        failure = error
      }
    }
    if let failure { throw failure }
  }

  /// Log bytes beyond the data itself that writing `count` bytes may
  /// take: headers, trailers, padding, and the rest of a segment a small
  /// write skips.
  private func dataOverhead(_ count: Int) -> UInt64 {
    UInt64((count / 65536 + 2) * 80 + geometry.atomicWriteLimit
           + geometry.blockSize + 512)
  }
}
