// The filesystem's metadata state and the one function that changes it.
//
// `apply` takes a logged operation and either checks it (commit: false)
// or checks and performs it (commit: true). The running filesystem checks
// an operation before it spends log space on it, logs it, then performs
// it; crash recovery performs the operations it reads back from the log.
// Both go through the same code, so the state after recovery is the state
// the running system had when it wrote the last surviving record.
//
// The state also keeps the segment table (which segments of the log are
// in use, and how many bytes of live file data each holds) and the
// counters that give the checkpoint's exact encoded size, which the space
// accounting needs without encoding anything.

enum SegmentState: UInt8 {
  /// Holds nothing either superblock's recovery could need; may be reused.
  case free = 0
  /// Part of the log.
  case inUse = 1
  /// Cleaned: its live data moved on, but the durable checkpoint may
  /// still point into it. Free once checkpoint `releaseGeneration` is.
  case pending = 2
}

struct SegmentInfo: Equatable {
  var state: SegmentState = .free
  /// The sequence number of the first record written into the segment;
  /// orders in-use segments along the log.
  var firstSequence: UInt64 = 0
  var releaseGeneration: UInt64 = 0
  /// Bytes of file data in the segment that some extent maps.
  var liveBytes: UInt64 = 0
}

final class FileSystemState {
  let geometry: Geometry
  private(set) var inodes: [InodeNumber: Inode] = [:]
  /// The number a create will use next; numbers are never reused.
  var nextInode: InodeNumber = 2
  /// Changed only through the methods below, which keep
  /// `freeSegmentCount` in step.
  private(set) var segments: [SegmentInfo]
  private(set) var freeSegmentCount: Int
  private(set) var liveDataBytes: UInt64 = 0

  // What the checkpoint's size is made of (see `encodedSize`).
  private var directoryCount = 0
  private var regularCount = 0
  private var symlinkCount = 0
  private var entryCount = 0
  private var entryNameBytes = 0
  private var extentCount = 0
  private var symlinkBytes = 0

  static let rootInode: InodeNumber = 1

  init(geometry: Geometry) {
    self.geometry = geometry
    segments = [SegmentInfo](repeating: SegmentInfo(),
                             count: geometry.segmentCount)
    freeSegmentCount = geometry.segmentCount
  }

  /// A state holding only an empty root directory.
  static func fresh(geometry: Geometry, rootMode: UInt32, uid: UInt32,
                    gid: UInt32, time: Timestamp) -> FileSystemState {
    let state = FileSystemState(geometry: geometry)
    let root = Inode(
      number: rootInode, kind: .directory,
      mode: FileKind.directory.modeBits | (rootMode & FileMode.permissionMask),
      uid: uid, gid: gid, linkCount: 2, rdev: 0, time: time)
    root.parent = rootInode
    state.insert(root)
    return state
  }

  // MARK: - Lookups

  func inode(_ number: InodeNumber) throws(FSError) -> Inode {
    guard let inode = inodes[number] else { throw .notFound }
    return inode
  }

  func directory(_ number: InodeNumber) throws(FSError) -> Inode {
    let inode = try inode(number)
    guard inode.kind == .directory else { throw .notDirectory }
    return inode
  }

  func attributes(of inode: Inode) -> Attributes {
    var size = inode.size
    var stored: UInt64 = 0
    switch inode.kind {
    case .directory:
      size = UInt64(inode.entryCount + 2) * 32
    case .regular:
      for extent in inode.extents.extents { stored += extent.length }
    default:
      break
    }
    return Attributes(
      inode: inode.number, kind: inode.kind, mode: inode.mode,
      linkCount: inode.linkCount, uid: inode.uid, gid: inode.gid,
      rdev: inode.rdev, size: size, blocks: (stored + 511) / 512,
      accessTime: inode.accessTime,
      modificationTime: inode.modificationTime,
      changeTime: inode.changeTime)
  }

  /// Whether `ancestor` is `directory` or one of the directories above it.
  func isAncestor(_ ancestor: InodeNumber, of directory: InodeNumber)
    -> Bool
  {
    var current = directory
    var steps = 0
    while steps <= inodes.count {
      if current == ancestor { return true }
      if current == FileSystemState.rootInode { return false }
      guard let inode = inodes[current] else { return false }
      current = inode.parent
      steps += 1
    }
    return false
  }

  /// Inodes with no names left that only an open file kept.
  var orphans: [InodeNumber] {
    inodes.values.filter { $0.linkCount == 0 }.map { $0.number }.sorted()
  }

  var inodeCount: Int { inodes.count }

  // MARK: - Segments

  func lowestFreeSegment() -> Int? {
    segments.firstIndex { $0.state == .free }
  }

  /// Marks a free segment as part of the log from `firstSequence` on.
  func beginSegment(_ segment: Int, firstSequence: UInt64) throws(FSError) {
    guard segment >= 0, segment < segments.count,
          segments[segment].state == .free
    else { throw .corrupted("log links to a segment that is not free") }
    segments[segment] = SegmentInfo(
      state: .inUse, firstSequence: firstSequence, releaseGeneration: 0,
      liveBytes: 0)
    freeSegmentCount -= 1
  }

  /// Frees pending segments whose release generation is durable.
  func releasePendingSegments(durableGeneration: UInt64) {
    for index in segments.indices
    where segments[index].state == .pending
      && segments[index].releaseGeneration <= durableGeneration {
      segments[index] = SegmentInfo()
      freeSegmentCount += 1
    }
  }

  var hasPendingSegments: Bool {
    segments.contains { $0.state == .pending }
  }

  // MARK: - Data

  /// Checks that a data run lies after the start of its record, in the
  /// record area of one in-use segment.
  func checkDataRange(address: UInt64, length: UInt64, record: UInt64)
    throws(FSError)
  {
    guard let segment = geometry.segment(of: address),
          segments[segment].state == .inUse,
          record % 8 == 0, record >= geometry.segmentStart(segment),
          address >= record + UInt64(RecordHeader.size),
          length <= geometry.segmentSize,
          address + length <= geometry.recordLimit(segment)
    else { throw .corrupted("file data lies outside an in-use segment") }
  }

  /// Unmaps `start..<end` of a file, counting the bytes down.
  func punch(_ inode: Inode, _ start: UInt64, _ end: UInt64) {
    let before = inode.extents.count
    inode.extents.remove(start, end) { piece in
      forgetLive(piece)
    }
    extentCount += inode.extents.count - before
  }

  /// Maps a file range to log data, counting the bytes up.
  func map(_ inode: Inode, offset: UInt64, length: UInt64,
           address: UInt64, record: UInt64) {
    let before = inode.extents.count
    inode.extents.insert(offset: offset, length: length, address: address,
                         record: record)
    extentCount += inode.extents.count - before
    if let segment = geometry.segment(of: address) {
      segments[segment].liveBytes += length
    }
    liveDataBytes += length
  }

  private func forgetLive(_ piece: Extent) {
    if let segment = geometry.segment(of: piece.address) {
      let live = segments[segment].liveBytes
      segments[segment].liveBytes = live >= piece.length
        ? live - piece.length : 0
    }
    liveDataBytes = liveDataBytes >= piece.length
      ? liveDataBytes - piece.length : 0
  }

  // MARK: - Inode table

  private func insert(_ inode: Inode) {
    inodes[inode.number] = inode
    switch inode.kind {
    case .directory: directoryCount += 1
    case .regular: regularCount += 1
    case .symlink:
      symlinkCount += 1
      symlinkBytes += inode.target.count
    default: break
    }
    if inode.number >= nextInode { nextInode = inode.number + 1 }
  }

  private func free(_ inode: Inode) {
    switch inode.kind {
    case .directory: directoryCount -= 1
    case .regular:
      punch(inode, 0, UInt64.max)
      regularCount -= 1
    case .symlink:
      symlinkCount -= 1
      symlinkBytes -= inode.target.count
    default: break
    }
    inodes[inode.number] = nil
  }

  private func addEntry(_ directory: Inode, _ name: [UInt8],
                        _ inode: InodeNumber) {
    directory.addEntry(name, inode: inode)
    entryCount += 1
    entryNameBytes += name.count
  }

  private func removeEntry(_ directory: Inode, _ name: [UInt8]) {
    if directory.removeEntry(name) != nil {
      entryCount -= 1
      entryNameBytes -= name.count
    }
  }

  /// Drops one name of `inode`; frees it when the count reaches zero and
  /// `release` says nothing holds it open.
  private func dropLink(_ inode: Inode, time: Timestamp, release: Bool) {
    if inode.kind == .directory {
      inode.linkCount = 0
    } else if inode.linkCount > 0 {
      inode.linkCount -= 1
    }
    inode.changeTime = time
    if inode.linkCount == 0, release { free(inode) }
  }

  // MARK: - Applying operations

  func apply(_ operation: LogOperation, commit: Bool) throws(FSError) {
    switch operation {
    case let .create(parent, name, number, mode, uid, gid, rdev, time,
                     target):
      try applyCreate(parent: parent, name: name, number: number,
                      mode: mode, uid: uid, gid: gid, rdev: rdev,
                      time: time, target: target, commit: commit)
    case let .link(parent, name, number, time):
      let directory = try writableDirectory(parent)
      try checkNewName(name, in: directory)
      let inode = try inode(number)
      guard inode.kind != .directory else { throw .notPermitted }
      guard inode.linkCount < FormatLimits.maxLinks else {
        throw .tooManyLinks
      }
      guard commit else { return }
      addEntry(directory, name, number)
      inode.linkCount += 1
      inode.changeTime = time
      touch(directory, time)
    case let .unlink(parent, name, time, release):
      let directory = try self.directory(parent)
      let inode = try existingEntry(name, in: directory)
      guard inode.kind != .directory else { throw .isDirectory }
      guard commit else { return }
      removeEntry(directory, name)
      touch(directory, time)
      dropLink(inode, time: time, release: release)
    case let .removeDirectory(parent, name, time, release):
      let directory = try self.directory(parent)
      let inode = try existingEntry(name, in: directory)
      guard inode.kind == .directory else { throw .notDirectory }
      guard inode.isEmptyDirectory else { throw .notEmpty }
      guard commit else { return }
      removeEntry(directory, name)
      directory.linkCount -= 1
      touch(directory, time)
      dropLink(inode, time: time, release: release)
    case let .rename(fromParent, fromName, toParent, toName, mode, time,
                     release):
      try applyRename(fromParent: fromParent, fromName: fromName,
                      toParent: toParent, toName: toName, mode: mode,
                      time: time, release: release, commit: commit)
    case let .setAttributes(number, record):
      try applySetAttributes(number, record, commit: commit)
    case let .write(number, offset, length, address, record, time):
      let inode = try regularFile(number)
      let (end, overflow) = offset.addingReportingOverflow(length)
      guard !overflow, end <= FormatLimits.maxFileSize else {
        throw .fileTooLarge
      }
      try checkDataRange(address: address, length: length, record: record)
      guard commit else { return }
      punch(inode, offset, end)
      map(inode, offset: offset, length: length, address: address,
          record: record)
      if end > inode.size { inode.size = end }
      inode.modificationTime = time
      inode.changeTime = time
    case let .move(number, offset, length, address, record):
      let inode = try regularFile(number)
      let (end, overflow) = offset.addingReportingOverflow(length)
      guard !overflow, end <= inode.size,
            inode.extents.mappedBytes(in: offset, end) == length
      else { throw .corrupted("moved data is not live in its file") }
      try checkDataRange(address: address, length: length, record: record)
      guard commit else { return }
      punch(inode, offset, end)
      map(inode, offset: offset, length: length, address: address,
          record: record)
    case let .release(number):
      let inode = try inode(number)
      guard inode.linkCount == 0 else {
        throw .corrupted("release of an inode that still has names")
      }
      guard commit else { return }
      free(inode)
    case let .segmentCleaned(segment, releaseGeneration):
      guard segment >= 0, segment < segments.count,
            segments[segment].state == .inUse,
            segments[segment].liveBytes == 0
      else { throw .corrupted("cleaned segment still holds live data") }
      guard commit else { return }
      segments[segment] = SegmentInfo(
        state: .pending, firstSequence: 0,
        releaseGeneration: releaseGeneration, liveBytes: 0)
    case .segmentLink:
      // The log reader follows links and begins segments itself.
      break
    }
  }

  private func applyCreate(
    parent: InodeNumber, name: [UInt8], number: InodeNumber, mode: UInt32,
    uid: UInt32, gid: UInt32, rdev: UInt64, time: Timestamp,
    target: [UInt8], commit: Bool
  ) throws(FSError) {
    guard let kind = FileKind(mode: mode) else { throw .invalid }
    guard number >= 2, number < Superblock.counterLimit,
          inodes[number] == nil
    else { throw .corrupted("create uses a bad inode number \(number)") }
    var directory: Inode?
    if parent != 0 {
      let found = try writableDirectory(parent)
      try checkNewName(name, in: found)
      if kind == .directory {
        guard found.linkCount < FormatLimits.maxLinks else {
          throw .tooManyLinks
        }
      }
      directory = found
    } else {
      // An unnamed inode (O_TMPFILE) is always a regular file.
      guard kind == .regular, name.isEmpty else { throw .invalid }
    }
    if kind == .symlink {
      guard !target.isEmpty else { throw .notFound }
      guard target.count <= FormatLimits.maxSymlinkLength else {
        throw .nameTooLong
      }
    } else {
      guard target.isEmpty else { throw .invalid }
    }
    guard commit else { return }
    let linkCount: UInt32 =
      directory == nil ? 0 : (kind == .directory ? 2 : 1)
    let inode = Inode(
      number: number, kind: kind,
      mode: kind.modeBits | (mode & FileMode.permissionMask), uid: uid,
      gid: gid, linkCount: linkCount,
      rdev: kind == .characterDevice || kind == .blockDevice ? rdev : 0,
      time: time)
    if kind == .symlink {
      inode.target = target
      inode.size = UInt64(target.count)
    }
    if let directory {
      if kind == .directory {
        inode.parent = directory.number
        directory.linkCount += 1
      }
      insert(inode)
      addEntry(directory, name, number)
      touch(directory, time)
    } else {
      insert(inode)
    }
  }

  private func applyRename(
    fromParent: InodeNumber, fromName: [UInt8], toParent: InodeNumber,
    toName: [UInt8], mode: RenameMode, time: Timestamp, release: Bool,
    commit: Bool
  ) throws(FSError) {
    let source = try directory(fromParent)
    let destination = try writableDirectory(toParent)
    try checkName(toName)
    let moving = try existingEntry(fromName, in: source)
    let replaced = destination.entry(named: toName).flatMap { inodes[$0.inode] }

    if let replaced {
      if mode == .noReplace { throw .exists }
      // Both names already lead to the same inode: nothing to do.
      if replaced === moving { return }
    } else if mode == .exchange {
      throw .notFound
    }
    if moving.kind == .directory,
       isAncestor(moving.number, of: destination.number) {
      throw .invalid
    }
    if mode == .exchange, let replaced, replaced.kind == .directory,
       isAncestor(replaced.number, of: source.number) {
      throw .invalid
    }

    if mode == .exchange, let replaced {
      try checkDirectoryLinks(gaining: destination, losing: source,
                              moving: moving, other: replaced)
      guard commit else { return }
      source.retarget(fromName, to: replaced.number)
      destination.retarget(toName, to: moving.number)
      if source !== destination {
        reparent(moving, from: source, to: destination)
        reparent(replaced, from: destination, to: source)
      }
      moving.changeTime = time
      replaced.changeTime = time
      touch(source, time)
      touch(destination, time)
      return
    }

    if let replaced {
      if moving.kind == .directory {
        guard replaced.kind == .directory else { throw .notDirectory }
        guard replaced.isEmptyDirectory else { throw .notEmpty }
      } else if replaced.kind == .directory {
        throw .isDirectory
      }
    } else if moving.kind == .directory, source !== destination {
      guard destination.linkCount < FormatLimits.maxLinks else {
        throw .tooManyLinks
      }
    }
    guard commit else { return }
    if let replaced {
      removeEntry(destination, toName)
      if replaced.kind == .directory { destination.linkCount -= 1 }
      dropLink(replaced, time: time, release: release)
    }
    removeEntry(source, fromName)
    addEntry(destination, toName, moving.number)
    if source !== destination {
      reparent(moving, from: source, to: destination)
    }
    moving.changeTime = time
    touch(source, time)
    touch(destination, time)
  }

  /// An exchange between directories moves a subdirectory's ".." link.
  private func checkDirectoryLinks(gaining destination: Inode,
                                   losing source: Inode, moving: Inode,
                                   other: Inode) throws(FSError) {
    guard source !== destination else { return }
    if moving.kind == .directory, other.kind != .directory,
       destination.linkCount >= FormatLimits.maxLinks {
      throw .tooManyLinks
    }
    if other.kind == .directory, moving.kind != .directory,
       source.linkCount >= FormatLimits.maxLinks {
      throw .tooManyLinks
    }
  }

  private func reparent(_ inode: Inode, from old: Inode, to new: Inode) {
    guard inode.kind == .directory else { return }
    old.linkCount -= 1
    new.linkCount += 1
    inode.parent = new.number
  }

  private func applySetAttributes(
    _ number: InodeNumber, _ record: AttributeRecord, commit: Bool
  ) throws(FSError) {
    let inode = try inode(number)
    if record.has(AttributeRecord.sizeBit) {
      guard inode.kind == .regular else {
        throw inode.kind == .directory ? .isDirectory : .invalid
      }
      guard record.size <= FormatLimits.maxFileSize else {
        throw .fileTooLarge
      }
    }
    guard commit else { return }
    if record.has(AttributeRecord.modeBit) {
      inode.mode = (inode.mode & FileMode.typeMask)
        | (record.mode & FileMode.permissionMask)
    }
    if record.has(AttributeRecord.uidBit) { inode.uid = record.uid }
    if record.has(AttributeRecord.gidBit) { inode.gid = record.gid }
    if record.has(AttributeRecord.sizeBit) {
      if record.size < inode.size {
        punch(inode, record.size, UInt64.max)
      }
      inode.size = record.size
    }
    if record.has(AttributeRecord.accessTimeBit) {
      inode.accessTime = record.accessTime
    }
    if record.has(AttributeRecord.modificationTimeBit) {
      inode.modificationTime = record.modificationTime
    }
    if record.has(AttributeRecord.changeTimeBit) {
      inode.changeTime = record.changeTime
    }
  }

  // MARK: - Checks shared by operations

  private func touch(_ directory: Inode, _ time: Timestamp) {
    directory.modificationTime = time
    directory.changeTime = time
  }

  private func regularFile(_ number: InodeNumber) throws(FSError) -> Inode {
    let inode = try inode(number)
    guard inode.kind == .regular else {
      throw inode.kind == .directory ? .isDirectory : .invalid
    }
    return inode
  }

  /// A directory that can gain entries: one rmdir has not removed.
  private func writableDirectory(_ number: InodeNumber)
    throws(FSError) -> Inode
  {
    let directory = try directory(number)
    guard directory.linkCount > 0 else { throw .notFound }
    return directory
  }

  private func existingEntry(_ name: [UInt8], in directory: Inode)
    throws(FSError) -> Inode
  {
    try checkName(name)
    guard let link = directory.entry(named: name) else { throw .notFound }
    guard let inode = inodes[link.inode] else {
      throw .corrupted("directory entry names a missing inode")
    }
    return inode
  }

  private func checkNewName(_ name: [UInt8], in directory: Inode)
    throws(FSError)
  {
    try checkName(name)
    guard directory.entry(named: name) == nil else { throw .exists }
  }

  /// A single path component: not empty, not "." or "..", no slash or
  /// NUL, at most `FormatLimits.maxNameLength` bytes.
  func checkName(_ name: [UInt8]) throws(FSError) {
    guard !name.isEmpty else { throw .invalid }
    guard name.count <= FormatLimits.maxNameLength else {
      throw .nameTooLong
    }
    guard name != [0x2E], name != [0x2E, 0x2E] else { throw .invalid }
    for byte in name where byte == 0x2F || byte == 0 {
      throw .invalid
    }
  }

  // MARK: - Checkpoint encoding

  static let checkpointHeaderSize = 24
  static let segmentEntrySize = 17
  static let inodeFixedSize = 76

  /// The exact length `encodeCheckpoint` will produce.
  var encodedSize: Int {
    FileSystemState.checkpointHeaderSize
      + segments.count * FileSystemState.segmentEntrySize + 8
      + inodes.count * FileSystemState.inodeFixedSize
      + directoryCount * 20 + entryCount * 18 + entryNameBytes
      + regularCount * 4 + extentCount * 24
      + symlinkCount * 2 + symlinkBytes
  }

  /// The whole state, as the checkpoint stores it. Inodes go in number
  /// order so that equal states encode to equal bytes.
  func encodeCheckpoint(generation: UInt64) -> [UInt8] {
    var sink = ByteSink(capacity: encodedSize)
    sink.put(generation)
    sink.put(nextInode)
    sink.put(UInt32(segments.count))
    sink.put(UInt32(0))
    for segment in segments {
      sink.put(segment.state.rawValue)
      sink.put(segment.firstSequence)
      sink.put(segment.releaseGeneration)
    }
    sink.put(UInt64(inodes.count))
    for number in inodes.keys.sorted() {
      guard let inode = inodes[number] else { continue }
      sink.put(inode.number)
      sink.put(inode.mode)
      sink.put(inode.uid)
      sink.put(inode.gid)
      sink.put(inode.linkCount)
      sink.put(inode.rdev)
      sink.put(inode.size)
      sink.put(inode.accessTime)
      sink.put(inode.modificationTime)
      sink.put(inode.changeTime)
      switch inode.kind {
      case .directory:
        sink.put(inode.parent)
        sink.put(inode.nextCookie)
        let entries = inode.allEntries()
        sink.put(UInt32(entries.count))
        for entry in entries {
          sink.put(entry.link.cookie)
          sink.put(entry.link.inode)
          sink.putShortBytes(entry.name)
        }
      case .regular:
        sink.put(UInt32(inode.extents.count))
        for extent in inode.extents.extents {
          sink.put(extent.offset)
          sink.put(extent.address)
          sink.put(UInt32(extent.length))
          // The record starts in the same segment, before the data.
          sink.put(UInt32(extent.address - extent.record))
        }
      case .symlink:
        sink.putShortBytes(inode.target)
      default:
        break
      }
    }
    return sink.bytes
  }

  /// Rebuilds a state from checkpoint bytes, checking everything a later
  /// operation could trip over: sizes, ranges, names, link counts and
  /// that every directory hangs off the root.
  static func decodeCheckpoint(
    _ bytes: [UInt8], geometry: Geometry, generation: UInt64
  ) throws(FSError) -> FileSystemState {
    var source = ByteSource(bytes, context: "checkpoint")
    guard try source.get(UInt64.self) == generation else {
      throw .corrupted("checkpoint generation differs from superblock's")
    }
    let state = FileSystemState(geometry: geometry)
    let nextInode = try source.get(UInt64.self)
    guard nextInode < Superblock.counterLimit else {
      throw .corrupted("checkpoint inode counter is impossible")
    }
    guard try source.get(UInt32.self) == UInt32(geometry.segmentCount),
          try source.get(UInt32.self) == 0
    else { throw .corrupted("checkpoint segment count is wrong") }
    for index in 0..<geometry.segmentCount {
      guard let kind = SegmentState(rawValue: try source.get(UInt8.self))
      else { throw .corrupted("checkpoint has a bad segment state") }
      let first = try source.get(UInt64.self)
      let release = try source.get(UInt64.self)
      state.segments[index] = SegmentInfo(
        state: kind, firstSequence: kind == .inUse ? first : 0,
        releaseGeneration: kind == .pending ? release : 0, liveBytes: 0)
      if kind != .free { state.freeSegmentCount -= 1 }
    }

    let count = try source.get(UInt64.self)
    guard count >= 1,
          count <= UInt64(source.remaining / inodeFixedSize)
    else { throw .corrupted("checkpoint inode count is impossible") }
    for _ in 0..<Int(count) {
      let inode = try decodeInode(&source, state: state)
      guard inode.number >= 1, inode.number < nextInode,
            state.inodes[inode.number] == nil
      else { throw .corrupted("checkpoint inode number is bad") }
      state.insert(inode)
    }
    try source.expectEnd()
    state.nextInode = nextInode
    try state.checkTree()
    return state
  }

  private static func decodeInode(
    _ source: inout ByteSource, state: FileSystemState
  ) throws(FSError) -> Inode {
    let number = try source.get(UInt64.self)
    let mode = try source.get(UInt32.self)
    guard let kind = FileKind(mode: mode),
          mode & ~(FileMode.typeMask | FileMode.permissionMask) == 0
    else { throw .corrupted("checkpoint inode has a bad mode") }
    let inode = Inode(
      number: number, kind: kind, mode: mode,
      uid: try source.get(UInt32.self), gid: try source.get(UInt32.self),
      linkCount: try source.get(UInt32.self),
      rdev: try source.get(UInt64.self), time: .zero)
    inode.size = try source.get(UInt64.self)
    inode.accessTime = try source.getTimestamp()
    inode.modificationTime = try source.getTimestamp()
    inode.changeTime = try source.getTimestamp()
    switch kind {
    case .directory:
      inode.parent = try source.get(UInt64.self)
      let nextCookie = try source.get(UInt64.self)
      guard nextCookie < Superblock.counterLimit else {
        throw .corrupted("checkpoint cookie counter is impossible")
      }
      let entries = try source.get(UInt32.self)
      guard Int(entries) <= source.remaining / 18 else {
        throw .corrupted("checkpoint directory entry count is impossible")
      }
      var lastCookie: UInt64 = 2
      for _ in 0..<Int(entries) {
        let cookie = try source.get(UInt64.self)
        let target = try source.get(UInt64.self)
        let name = try source.getShortBytes()
        do {
          try state.checkName(name)
        } catch {
          throw .corrupted("checkpoint directory entry has a bad name")
        }
        guard cookie > lastCookie, cookie < nextCookie,
              inode.entry(named: name) == nil
        else { throw .corrupted("checkpoint directory entries are bad") }
        inode.addEntry(name, inode: target, cookie: cookie)
        state.entryCount += 1
        state.entryNameBytes += name.count
        lastCookie = cookie
      }
      inode.setNextCookie(max(nextCookie, 3))
    case .regular:
      let extents = try source.get(UInt32.self)
      guard Int(extents) <= source.remaining / 24 else {
        throw .corrupted("checkpoint extent count is impossible")
      }
      var list: [Extent] = []
      list.reserveCapacity(Int(extents))
      var end: UInt64 = 0
      for _ in 0..<Int(extents) {
        let offset = try source.get(UInt64.self)
        let address = try source.get(UInt64.self)
        let length = UInt64(try source.get(UInt32.self))
        let distance = UInt64(try source.get(UInt32.self))
        guard distance <= address else {
          throw .corrupted("checkpoint extent record lies before the log")
        }
        let checked = Extent(offset: offset, length: length,
                             address: address, record: address - distance)
        let (extentEnd, overflow) =
          checked.offset.addingReportingOverflow(length)
        guard length > 0, !overflow, checked.offset >= end,
              extentEnd <= inode.size
        else { throw .corrupted("checkpoint extents are out of order") }
        try state.checkDataRange(address: checked.address, length: length,
                                 record: checked.record)
        list.append(checked)
        end = extentEnd
      }
      guard inode.size <= FormatLimits.maxFileSize else {
        throw .corrupted("checkpoint file size is too large")
      }
      inode.extents = ExtentMap(sorted: list)
      state.extentCount += list.count
      for extent in list {
        if let segment = state.geometry.segment(of: extent.address) {
          state.segments[segment].liveBytes += extent.length
        }
        state.liveDataBytes += extent.length
      }
    case .symlink:
      inode.target = try source.getShortBytes()
      guard !inode.target.isEmpty,
            inode.target.count <= FormatLimits.maxSymlinkLength,
            inode.size == UInt64(inode.target.count)
      else { throw .corrupted("checkpoint symlink target is bad") }
    default:
      break
    }
    return inode
  }

  /// Checks names against link counts and the directory tree's shape.
  private func checkTree() throws(FSError) {
    guard let root = inodes[FileSystemState.rootInode],
          root.kind == .directory, root.parent == FileSystemState.rootInode
    else { throw .corrupted("checkpoint has no root directory") }
    var references: [InodeNumber: UInt32] = [:]
    var subdirectories: [InodeNumber: UInt32] = [:]
    for inode in inodes.values where inode.kind == .directory {
      for entry in inode.allEntries() {
        guard let child = inodes[entry.link.inode],
              child.number != FileSystemState.rootInode
        else { throw .corrupted("directory entry names a missing inode") }
        references[child.number, default: 0] += 1
        if child.kind == .directory {
          guard child.parent == inode.number else {
            throw .corrupted("directory parent does not match its entry")
          }
          subdirectories[inode.number, default: 0] += 1
        }
      }
    }
    for inode in inodes.values {
      let names = references[inode.number] ?? 0
      if inode.kind == .directory {
        let expected: UInt32
        if inode.number == FileSystemState.rootInode {
          expected = 2 + (subdirectories[inode.number] ?? 0)
        } else if names == 0 {
          // Removed while open: empty, no links.
          guard inode.isEmptyDirectory else {
            throw .corrupted("removed directory still has entries")
          }
          expected = 0
        } else {
          guard names == 1 else {
            throw .corrupted("directory has more than one name")
          }
          expected = 2 + (subdirectories[inode.number] ?? 0)
        }
        guard inode.linkCount == expected else {
          throw .corrupted("directory link count is wrong")
        }
      } else {
        guard inode.linkCount == names else {
          throw .corrupted("link count differs from the names found")
        }
      }
    }
    // Every named directory must lead up to the root; a cycle would not.
    var reachable: Set<InodeNumber> = [FileSystemState.rootInode]
    for inode in inodes.values
    where inode.kind == .directory && inode.linkCount > 0 {
      var path: [InodeNumber] = []
      var current = inode.number
      while !reachable.contains(current) {
        guard path.count <= inodes.count, let next = inodes[current] else {
          throw .corrupted("directory tree has a cycle")
        }
        path.append(current)
        current = next.parent
      }
      for number in path { reachable.insert(number) }
    }
  }
}
