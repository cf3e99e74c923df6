// TCP headers (RFC 9293 3.1) and the options Villa speaks: MSS (RFC 9293
// 3.7.1), window scale and timestamps (RFC 7323), SACK-permitted and SACK
// blocks (RFC 2018). The view checks the data offset against the bytes; the
// option walk stops at the first malformed length instead of guessing, as
// Linux does, so a bad option list costs the options but not the segment.

/// The control bits of a TCP header.
public struct TCPFlags: OptionSet, Hashable, Sendable {
  public var rawValue: UInt16
  public init(rawValue: UInt16) { self.rawValue = rawValue }

  public static let fin = TCPFlags(rawValue: 0x001)
  public static let syn = TCPFlags(rawValue: 0x002)
  public static let rst = TCPFlags(rawValue: 0x004)
  public static let psh = TCPFlags(rawValue: 0x008)
  public static let ack = TCPFlags(rawValue: 0x010)
  public static let urg = TCPFlags(rawValue: 0x020)
  public static let ece = TCPFlags(rawValue: 0x040)
  public static let cwr = TCPFlags(rawValue: 0x080)
  /// The bit RFC 3540 called NS, now reserved (RFC 9293 calls it AE's
  /// neighbour); carried so round trips keep it.
  public static let ns = TCPFlags(rawValue: 0x100)
}

/// One SACK block: the sequence range [left, right) the receiver holds.
public struct SACKBlock: Equatable, Sendable {
  public var left: SequenceNumber
  public var right: SequenceNumber

  public init(left: SequenceNumber, right: SequenceNumber) {
    self.left = left
    self.right = right
  }
}

/// The TSval and TSecr of a timestamps option (RFC 7323 3).
public struct TCPTimestamps: Equatable, Sendable {
  public var value: UInt32
  public var echoReply: UInt32

  public init(value: UInt32, echoReply: UInt32) {
    self.value = value
    self.echoReply = echoReply
  }
}

/// The options of one segment.
public struct TCPOptions: Equatable, Sendable {
  public var maximumSegmentSize: UInt16?
  public var windowScale: UInt8?
  public var sackPermitted = false
  public var sackBlocks: [SACKBlock] = []
  public var timestamps: TCPTimestamps?

  public init(maximumSegmentSize: UInt16? = nil, windowScale: UInt8? = nil,
              sackPermitted: Bool = false, sackBlocks: [SACKBlock] = [],
              timestamps: TCPTimestamps? = nil)
  {
    self.maximumSegmentSize = maximumSegmentSize
    self.windowScale = windowScale
    self.sackPermitted = sackPermitted
    self.sackBlocks = sackBlocks
    self.timestamps = timestamps
  }

  static let end: UInt8 = 0
  static let noOperation: UInt8 = 1
  static let mssKind: UInt8 = 2
  static let windowScaleKind: UInt8 = 3
  static let sackPermittedKind: UInt8 = 4
  static let sackKind: UInt8 = 5
  static let timestampsKind: UInt8 = 8
  /// The option space a data offset of 15 words leaves.
  public static let maximumLength = 40

  /// Reads an option list. Unknown kinds are skipped by their length; a
  /// length that is too short or runs past the end ends the walk, keeping
  /// what was read before it.
  public init(parsing bytes: ArraySlice<UInt8>) {
    var offset = 0
    while offset < bytes.count {
      let kind = bytes.byte(at: offset)
      if kind == TCPOptions.end { break }
      if kind == TCPOptions.noOperation {
        offset += 1
        continue
      }
      guard offset + 1 < bytes.count else { break }
      let length = Int(bytes.byte(at: offset + 1))
      guard length >= 2, offset + length <= bytes.count else { break }
      let body = bytes.bytes(at: offset + 2, length: length - 2)
      switch (kind, length) {
      case (TCPOptions.mssKind, 4):
        maximumSegmentSize = body.uint16(at: 0)
      case (TCPOptions.windowScaleKind, 3):
        // RFC 7323 2.3: a shift above 14 is used as 14.
        windowScale = min(body.byte(at: 0), 14)
      case (TCPOptions.sackPermittedKind, 2):
        sackPermitted = true
      case (TCPOptions.sackKind, _) where (length - 2) % 8 == 0:
        for i in 0..<((length - 2) / 8) {
          sackBlocks.append(SACKBlock(
            left: SequenceNumber(rawValue: body.uint32(at: 8 * i)),
            right: SequenceNumber(rawValue: body.uint32(at: 8 * i + 4))))
        }
      case (TCPOptions.timestampsKind, 10):
        timestamps = TCPTimestamps(value: body.uint32(at: 0),
                                   echoReply: body.uint32(at: 4))
      default:
        break
      }
      offset += length
    }
  }

  /// How many SACK blocks fit beside the other options (each block takes
  /// 8 bytes after a 4-byte NOP, NOP, kind, length prefix).
  var sackBlockRoom: Int {
    max((TCPOptions.maximumLength - fixedLength - 4) / 8, 0)
  }

  /// Bytes of everything except SACK blocks, as `emit` aligns them.
  private var fixedLength: Int {
    var length = 0
    if maximumSegmentSize != nil { length += 4 }
    if windowScale != nil { length += 4 }
    if timestamps != nil {
      length += 12
    } else if sackPermitted {
      length += 4
    }
    return length
  }

  /// The padded length `emit` produces.
  public var encodedLength: Int {
    let blocks = min(sackBlocks.count, sackBlockRoom)
    return fixedLength + (blocks > 0 ? 4 + 8 * blocks : 0)
  }

  /// Appends the options, aligned with NOPs to a multiple of four bytes.
  /// SACK blocks beyond the room left by the other options are dropped,
  /// first ones kept (RFC 2018 4: the first block is the newest).
  public func emit(into buffer: inout [UInt8]) {
    if let mss = maximumSegmentSize {
      buffer.append(TCPOptions.mssKind)
      buffer.append(4)
      buffer.appendUInt16(mss)
    }
    if let stamps = timestamps {
      // SACK-permitted rides in the two bytes NOP padding would take.
      if sackPermitted {
        buffer.append(TCPOptions.sackPermittedKind)
        buffer.append(2)
      } else {
        buffer.append(TCPOptions.noOperation)
        buffer.append(TCPOptions.noOperation)
      }
      buffer.append(TCPOptions.timestampsKind)
      buffer.append(10)
      buffer.appendUInt32(stamps.value)
      buffer.appendUInt32(stamps.echoReply)
    } else if sackPermitted {
      buffer.append(TCPOptions.noOperation)
      buffer.append(TCPOptions.noOperation)
      buffer.append(TCPOptions.sackPermittedKind)
      buffer.append(2)
    }
    if let scale = windowScale {
      buffer.append(TCPOptions.noOperation)
      buffer.append(TCPOptions.windowScaleKind)
      buffer.append(3)
      buffer.append(scale)
    }
    let blocks = min(sackBlocks.count, sackBlockRoom)
    if blocks > 0 {
      buffer.append(TCPOptions.noOperation)
      buffer.append(TCPOptions.noOperation)
      buffer.append(TCPOptions.sackKind)
      buffer.append(UInt8(2 + 8 * blocks))
      for block in sackBlocks.prefix(blocks) {
        buffer.appendUInt32(block.left.rawValue)
        buffer.appendUInt32(block.right.rawValue)
      }
    }
  }
}

/// A checked view of a TCP segment.
public struct TCPView {
  public static let minimumHeaderLength = 20

  public let bytes: ArraySlice<UInt8>

  public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
    guard bytes.count >= TCPView.minimumHeaderLength else {
      throw .truncated
    }
    let headerLength = Int(bytes.byte(at: 12) >> 4) * 4
    guard headerLength >= TCPView.minimumHeaderLength else {
      throw .badLength
    }
    guard headerLength <= bytes.count else { throw .truncated }
    self.bytes = bytes
  }

  public var sourcePort: UInt16 { bytes.uint16(at: 0) }
  public var destinationPort: UInt16 { bytes.uint16(at: 2) }
  public var sequenceNumber: SequenceNumber {
    SequenceNumber(rawValue: bytes.uint32(at: 4))
  }
  public var acknowledgmentNumber: SequenceNumber {
    SequenceNumber(rawValue: bytes.uint32(at: 8))
  }
  public var headerLength: Int { Int(bytes.byte(at: 12) >> 4) * 4 }
  public var flags: TCPFlags {
    TCPFlags(rawValue: bytes.uint16(at: 12) & 0x01FF)
  }
  public var window: UInt16 { bytes.uint16(at: 14) }
  public var checksum: UInt16 { bytes.uint16(at: 16) }
  public var urgentPointer: UInt16 { bytes.uint16(at: 18) }
  public var optionBytes: ArraySlice<UInt8> {
    bytes.bytes(at: TCPView.minimumHeaderLength,
                length: headerLength - TCPView.minimumHeaderLength)
  }
  public var options: TCPOptions { TCPOptions(parsing: optionBytes) }
  public var payload: ArraySlice<UInt8> { bytes.bytes(from: headerLength) }

  public func verifyChecksum(source: IPv4Address,
                             destination: IPv4Address) -> Bool
  {
    let pseudo = InternetChecksum.pseudoHeader(
      source: source, destination: destination,
      protocol: IPProtocol.tcp.rawValue, length: bytes.count)
    return InternetChecksum.finish(InternetChecksum.add(bytes, to: pseudo))
      == 0
  }
}

/// The fields of a TCP header.
public struct TCPHeader: Equatable, Sendable {
  public var sourcePort: UInt16
  public var destinationPort: UInt16
  public var sequenceNumber: SequenceNumber
  public var acknowledgmentNumber: SequenceNumber
  public var flags: TCPFlags
  public var window: UInt16
  public var urgentPointer: UInt16
  public var options: TCPOptions

  public init(sourcePort: UInt16, destinationPort: UInt16,
              sequenceNumber: SequenceNumber,
              acknowledgmentNumber: SequenceNumber = SequenceNumber(
                rawValue: 0),
              flags: TCPFlags, window: UInt16 = 0, urgentPointer: UInt16 = 0,
              options: TCPOptions = TCPOptions())
  {
    self.sourcePort = sourcePort
    self.destinationPort = destinationPort
    self.sequenceNumber = sequenceNumber
    self.acknowledgmentNumber = acknowledgmentNumber
    self.flags = flags
    self.window = window
    self.urgentPointer = urgentPointer
    self.options = options
  }

  public init(_ view: TCPView) {
    sourcePort = view.sourcePort
    destinationPort = view.destinationPort
    sequenceNumber = view.sequenceNumber
    acknowledgmentNumber = view.acknowledgmentNumber
    flags = view.flags
    window = view.window
    urgentPointer = view.urgentPointer
    options = view.options
  }

  /// Checks the checksum and returns the header and payload.
  public static func parse(_ bytes: ArraySlice<UInt8>,
                           source: IPv4Address,
                           destination: IPv4Address) throws(WireError)
    -> (header: TCPHeader, payload: ArraySlice<UInt8>)
  {
    let view = try TCPView(bytes)
    guard view.verifyChecksum(source: source, destination: destination)
    else { throw .badChecksum }
    return (TCPHeader(view), view.payload)
  }

  /// The header's length with its options.
  public var headerLength: Int {
    TCPView.minimumHeaderLength + options.encodedLength
  }

  /// Appends header and payload, with the checksum over both.
  public func emit(into buffer: inout [UInt8], payload: ArraySlice<UInt8>,
                   source: IPv4Address, destination: IPv4Address)
  {
    let start = buffer.count
    let headerLength = self.headerLength
    buffer.appendUInt16(sourcePort)
    buffer.appendUInt16(destinationPort)
    buffer.appendUInt32(sequenceNumber.rawValue)
    buffer.appendUInt32(acknowledgmentNumber.rawValue)
    buffer.appendUInt16(UInt16(headerLength / 4) << 12
      | (flags.rawValue & 0x01FF))
    buffer.appendUInt16(window)
    buffer.appendUInt16(0)
    buffer.appendUInt16(urgentPointer)
    options.emit(into: &buffer)
    buffer.append(contentsOf: payload)
    let pseudo = InternetChecksum.pseudoHeader(
      source: source, destination: destination,
      protocol: IPProtocol.tcp.rawValue, length: buffer.count - start)
    let sum = InternetChecksum.finish(
      InternetChecksum.add(buffer[start...], to: pseudo))
    buffer.setUInt16(sum, at: start + 16)
  }
}
