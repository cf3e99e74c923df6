// The operations the log records, and their payload encodings.
//
// Every change to the filesystem's metadata is one record holding one
// operation, with every value it needs spelled out: the inode number a
// create chose, the times it set, whether an unlink freed the inode. The
// runtime and crash recovery apply records through the same function
// (FileSystemState.apply), so replaying the log reproduces the state the
// running system had, field for field, without reading a clock.
//
// Write and move records are laid out by the log writer (data first, then
// a DataTrailer) and reach `apply` already decoded.

/// The attribute values a setattr record stores. `mask` says which fields
/// changed; unchanged fields are stored as zero.
struct AttributeRecord: Equatable {
  static let modeBit: UInt8 = 1
  static let uidBit: UInt8 = 2
  static let gidBit: UInt8 = 4
  static let sizeBit: UInt8 = 8
  static let accessTimeBit: UInt8 = 16
  static let modificationTimeBit: UInt8 = 32
  static let changeTimeBit: UInt8 = 64
  static let allBits: UInt8 = 127

  var mask: UInt8 = 0
  var mode: UInt32 = 0
  var uid: UInt32 = 0
  var gid: UInt32 = 0
  var size: UInt64 = 0
  var accessTime = Timestamp.zero
  var modificationTime = Timestamp.zero
  var changeTime = Timestamp.zero

  func has(_ bit: UInt8) -> Bool { mask & bit != 0 }
}

enum LogOperation: Equatable {
  /// A new inode named `name` in `parent`; parent 0 makes an unnamed one
  /// (O_TMPFILE) whose link count starts at zero.
  case create(parent: InodeNumber, name: [UInt8], inode: InodeNumber,
              mode: UInt32, uid: UInt32, gid: UInt32, rdev: UInt64,
              time: Timestamp, target: [UInt8])
  case link(parent: InodeNumber, name: [UInt8], inode: InodeNumber,
            time: Timestamp)
  /// `release` frees the inode if its link count reaches zero; without it
  /// the inode lives on as an orphan until a release record.
  case unlink(parent: InodeNumber, name: [UInt8], time: Timestamp,
              release: Bool)
  case removeDirectory(parent: InodeNumber, name: [UInt8], time: Timestamp,
                       release: Bool)
  /// `release` applies to a target that the rename replaces.
  case rename(fromParent: InodeNumber, fromName: [UInt8],
              toParent: InodeNumber, toName: [UInt8], mode: RenameMode,
              time: Timestamp, release: Bool)
  case setAttributes(inode: InodeNumber, AttributeRecord)
  /// `length` bytes of file data at log address `address`, inside the
  /// record at `record`.
  case write(inode: InodeNumber, offset: UInt64, length: UInt64,
             address: UInt64, record: UInt64, time: Timestamp)
  case move(inode: InodeNumber, offset: UInt64, length: UInt64,
            address: UInt64, record: UInt64)
  case release(inode: InodeNumber)
  case segmentCleaned(segment: Int, releaseGeneration: UInt64)
  case segmentLink(segment: Int)

  var recordType: RecordType {
    switch self {
    case .create: return .create
    case .link: return .link
    case .unlink: return .unlink
    case .removeDirectory: return .removeDirectory
    case .rename: return .rename
    case .setAttributes: return .setAttributes
    case .write: return .write
    case .move: return .move
    case .release: return .release
    case .segmentCleaned: return .segmentCleaned
    case .segmentLink: return .segmentLink
    }
  }

  /// The payload of a metadata record. Write and move records are not
  /// encoded here: their data goes straight from the caller to the log.
  func encodedPayload() -> [UInt8] {
    var sink = ByteSink(capacity: 64)
    switch self {
    case let .create(parent, name, inode, mode, uid, gid, rdev, time,
                     target):
      sink.put(parent)
      sink.put(inode)
      sink.put(mode)
      sink.put(uid)
      sink.put(gid)
      sink.put(rdev)
      sink.put(time)
      sink.putShortBytes(name)
      sink.putShortBytes(target)
    case let .link(parent, name, inode, time):
      sink.put(parent)
      sink.put(inode)
      sink.put(time)
      sink.putShortBytes(name)
    case let .unlink(parent, name, time, release),
         let .removeDirectory(parent, name, time, release):
      sink.put(parent)
      sink.put(time)
      sink.put(UInt8(release ? 1 : 0))
      sink.putShortBytes(name)
    case let .rename(fromParent, fromName, toParent, toName, mode, time,
                     release):
      sink.put(fromParent)
      sink.put(toParent)
      sink.put(time)
      sink.put(mode.rawValue)
      sink.put(UInt8(release ? 1 : 0))
      sink.putShortBytes(fromName)
      sink.putShortBytes(toName)
    case let .setAttributes(inode, record):
      sink.put(inode)
      sink.put(record.mask)
      sink.put(record.mode)
      sink.put(record.uid)
      sink.put(record.gid)
      sink.put(record.size)
      sink.put(record.accessTime)
      sink.put(record.modificationTime)
      sink.put(record.changeTime)
    case .write, .move:
      break
    case let .release(inode):
      sink.put(inode)
    case let .segmentCleaned(segment, releaseGeneration):
      sink.put(UInt32(truncatingIfNeeded: segment))
      sink.put(UInt32(0))
      sink.put(releaseGeneration)
    case let .segmentLink(segment):
      sink.put(UInt32(truncatingIfNeeded: segment))
      sink.put(UInt32(0))
    }
    return sink.bytes
  }

  /// Decodes a metadata record's payload. Checkpoint records and data
  /// records are handled by the caller.
  static func decode(type: RecordType, payload: [UInt8])
    throws(FSError) -> LogOperation
  {
    var source = ByteSource(payload, context: "log record")
    let operation: LogOperation
    switch type {
    case .create:
      let parent = try source.get(UInt64.self)
      let inode = try source.get(UInt64.self)
      let mode = try source.get(UInt32.self)
      let uid = try source.get(UInt32.self)
      let gid = try source.get(UInt32.self)
      let rdev = try source.get(UInt64.self)
      let time = try source.getTimestamp()
      let name = try source.getShortBytes()
      let target = try source.getShortBytes()
      operation = .create(parent: parent, name: name, inode: inode,
                          mode: mode, uid: uid, gid: gid, rdev: rdev,
                          time: time, target: target)
    case .link:
      let parent = try source.get(UInt64.self)
      let inode = try source.get(UInt64.self)
      let time = try source.getTimestamp()
      let name = try source.getShortBytes()
      operation = .link(parent: parent, name: name, inode: inode,
                        time: time)
    case .unlink, .removeDirectory:
      let parent = try source.get(UInt64.self)
      let time = try source.getTimestamp()
      let release = try decodeFlag(&source)
      let name = try source.getShortBytes()
      operation = type == .unlink
        ? .unlink(parent: parent, name: name, time: time, release: release)
        : .removeDirectory(parent: parent, name: name, time: time,
                           release: release)
    case .rename:
      let fromParent = try source.get(UInt64.self)
      let toParent = try source.get(UInt64.self)
      let time = try source.getTimestamp()
      guard let mode = RenameMode(rawValue: try source.get(UInt8.self)) else {
        throw .corrupted("rename record has an unknown mode")
      }
      let release = try decodeFlag(&source)
      let fromName = try source.getShortBytes()
      let toName = try source.getShortBytes()
      operation = .rename(fromParent: fromParent, fromName: fromName,
                          toParent: toParent, toName: toName, mode: mode,
                          time: time, release: release)
    case .setAttributes:
      let inode = try source.get(UInt64.self)
      var record = AttributeRecord()
      record.mask = try source.get(UInt8.self)
      guard record.mask & ~AttributeRecord.allBits == 0 else {
        throw .corrupted("setattr record has unknown mask bits")
      }
      record.mode = try source.get(UInt32.self)
      record.uid = try source.get(UInt32.self)
      record.gid = try source.get(UInt32.self)
      record.size = try source.get(UInt64.self)
      record.accessTime = try source.getTimestamp()
      record.modificationTime = try source.getTimestamp()
      record.changeTime = try source.getTimestamp()
      operation = .setAttributes(inode: inode, record)
    case .release:
      operation = .release(inode: try source.get(UInt64.self))
    case .segmentCleaned:
      let segment = try source.get(UInt32.self)
      _ = try source.get(UInt32.self)
      let generation = try source.get(UInt64.self)
      operation = .segmentCleaned(segment: Int(segment),
                                  releaseGeneration: generation)
    case .segmentLink:
      let segment = try source.get(UInt32.self)
      guard try source.get(UInt32.self) == 0 else {
        throw .corrupted("segment link has a nonzero reserved field")
      }
      operation = .segmentLink(segment: Int(segment))
    case .write, .move, .checkpointBegin, .checkpointChunk:
      throw .corrupted("record type decoded in the wrong place")
    }
    try source.expectEnd()
    return operation
  }

  private static func decodeFlag(_ source: inout ByteSource)
    throws(FSError) -> Bool
  {
    switch try source.get(UInt8.self) {
    case 0: return false
    case 1: return true
    default: throw .corrupted("log record has a bad flag byte")
    }
  }
}
