// What the filesystem needs from a disk, and a disk in memory.
//
// The kernel implements `BlockDevice` over virtio-blk and the host over an
// image file; the filesystem is generic over it, so Embedded Swift
// specializes each use and no existential is needed. A write is durable
// only after a `flush` that follows it returns: until then a power cut may
// keep all, some or none of it, in any order, down to parts of a block.
//
// `MemoryBlockDevice` models exactly that for tests: it keeps what a
// power cut would preserve apart from what reads see, can cut power in
// several ways, can flip bits, can fail requests, and can record every
// request so a test can rebuild the disk as it was at any point.

public protocol BlockDevice: AnyObject {
  /// Bytes per block: a power of two from 512 to 4096.
  var blockSize: Int { get }
  var blockCount: UInt64 { get }

  /// Reads `count` blocks from `block` into `buffer`, which holds exactly
  /// `count * blockSize` bytes.
  func read(block: UInt64, count: Int,
            into buffer: UnsafeMutableRawBufferPointer)
    throws(BlockDeviceError)

  /// Writes `count` blocks at `block` from `buffer`, which holds exactly
  /// `count * blockSize` bytes.
  func write(block: UInt64, count: Int, from buffer: UnsafeRawBufferPointer)
    throws(BlockDeviceError)

  /// Returns once every write that completed before the call is durable.
  func flush() throws(BlockDeviceError)
}

/// What survives when `MemoryBlockDevice` loses power.
public enum PowerCut: Equatable, Sendable {
  /// Only flushed writes.
  case dropUnflushed
  /// Flushed writes and the first `count` unflushed ones.
  case keepUnflushed(count: Int)
  /// Flushed writes, the first `count` unflushed ones, and the first
  /// `bytes` bytes of the unflushed write after those (a torn write that
  /// may end inside a block).
  case tearUnflushed(count: Int, bytes: Int)
  /// Flushed writes, and each block of the unflushed ones with even odds,
  /// drawn from `seed` (writes reaching the disk out of order).
  case keepRandomBlocks(seed: UInt64)
}

/// One request as `MemoryBlockDevice` recorded it.
public enum DeviceRequest: Equatable, Sendable {
  case write(block: UInt64, bytes: [UInt8])
  case flush
}

public final class MemoryBlockDevice: BlockDevice {
  public let blockSize: Int
  public let blockCount: UInt64
  /// What reads see.
  public private(set) var contents: [UInt8]
  /// What a power cut would leave: flushed writes only.
  public private(set) var durableContents: [UInt8]
  private var unflushed: [(block: UInt64, bytes: [UInt8])] = []

  /// Every write and flush since `isRecording` was last set, in order.
  public private(set) var requests: [DeviceRequest] = []
  public var isRecording = false {
    didSet { requests.removeAll() }
  }

  public private(set) var writeCount = 0
  public private(set) var flushCount = 0
  /// Writes after this many more succeed fail with `ioError`.
  public var writesBeforeFailure: Int?
  public var isReadOnly = false

  /// A zeroed device.
  public init(blockSize: Int = 512, blockCount: UInt64) {
    self.blockSize = blockSize
    self.blockCount = blockCount
    contents = [UInt8](repeating: 0,
                       count: Int(blockCount) * blockSize)
    durableContents = contents
  }

  /// A device holding `image`, whose length must be a multiple of
  /// `blockSize`; all of it counts as flushed.
  public init(blockSize: Int = 512, image: [UInt8]) {
    self.blockSize = blockSize
    blockCount = UInt64(image.count / blockSize)
    contents = Array(image[0..<(image.count / blockSize * blockSize)])
    durableContents = contents
  }

  public var unflushedWriteCount: Int { unflushed.count }

  private func range(_ block: UInt64, _ count: Int, _ bufferCount: Int)
    throws(BlockDeviceError) -> Range<Int>
  {
    guard count >= 0, bufferCount == count * blockSize,
          block <= blockCount, UInt64(count) <= blockCount - block
    else { throw .outOfRange }
    let start = Int(block) * blockSize
    return start..<(start + bufferCount)
  }

  public func read(block: UInt64, count: Int,
                   into buffer: UnsafeMutableRawBufferPointer)
    throws(BlockDeviceError)
  {
    let bytes = try range(block, count, buffer.count)
    guard !bytes.isEmpty else { return }
    contents.withUnsafeBytes { raw in
      buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[bytes]))
    }
  }

  public func write(block: UInt64, count: Int,
                    from buffer: UnsafeRawBufferPointer)
    throws(BlockDeviceError)
  {
    guard !isReadOnly else { throw .readOnly }
    let bytes = try range(block, count, buffer.count)
    if let remaining = writesBeforeFailure {
      guard remaining > 0 else { throw .ioError }
      writesBeforeFailure = remaining - 1
    }
    let data = Array(buffer)
    contents.replaceSubrange(bytes, with: data)
    unflushed.append((block, data))
    writeCount += 1
    if isRecording { requests.append(.write(block: block, bytes: data)) }
  }

  public func flush() throws(BlockDeviceError) {
    for write in unflushed {
      let start = Int(write.block) * blockSize
      durableContents.replaceSubrange(
        start..<(start + write.bytes.count), with: write.bytes)
    }
    unflushed.removeAll()
    flushCount += 1
    if isRecording { requests.append(.flush) }
  }

  /// Loses power: afterwards the device holds what `cut` says survived,
  /// as if the machine had rebooted.
  public func powerCut(_ cut: PowerCut) {
    var survivors: [(block: UInt64, bytes: [UInt8])] = []
    switch cut {
    case .dropUnflushed:
      break
    case .keepUnflushed(let count):
      survivors = Array(unflushed.prefix(max(0, count)))
    case .tearUnflushed(let count, let bytes):
      let kept = max(0, min(count, unflushed.count))
      survivors = Array(unflushed.prefix(kept))
      if kept < unflushed.count {
        let torn = unflushed[kept]
        survivors.append((torn.block,
                          Array(torn.bytes.prefix(max(0, bytes)))))
      }
    case .keepRandomBlocks(let seed):
      var random = SplitMix64(seed: seed)
      for write in unflushed {
        for index in 0..<(write.bytes.count / blockSize)
        where random.next() & 1 == 1 {
          let start = index * blockSize
          survivors.append((
            write.block + UInt64(index),
            Array(write.bytes[start..<(start + blockSize)])))
        }
      }
    }
    for write in survivors {
      let start = Int(write.block) * blockSize
      durableContents.replaceSubrange(
        start..<(start + write.bytes.count), with: write.bytes)
    }
    unflushed.removeAll()
    contents = durableContents
  }

  /// Flips bits of byte `offset`, flushed or not.
  public func corrupt(byteAt offset: Int, xor mask: UInt8) {
    guard offset >= 0, offset < contents.count else { return }
    contents[offset] ^= mask
    durableContents[offset] ^= mask
  }
}

/// A small seeded generator (SplitMix64), for reproducible simulations.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  public init(seed: UInt64) {
    state = seed
  }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var value = state
    value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
    value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
    return value ^ (value >> 31)
  }
}

extension BlockDevice {
  /// Reads whole blocks from `block` into `bytes[range]`.
  func readBlocks(_ block: UInt64, into bytes: inout [UInt8],
                  _ range: Range<Int>) throws(BlockDeviceError) {
    var failure: BlockDeviceError?
    bytes.withUnsafeMutableBytes { raw in
      do throws(BlockDeviceError) {
        try read(block: block, count: range.count / blockSize,
                 into: UnsafeMutableRawBufferPointer(rebasing: raw[range]))
      } catch {
        failure = error
      }
    }
    if let failure { throw failure }
  }

  /// Writes `bytes[range]`, whole blocks, at `block`.
  func writeBlocks(_ block: UInt64, from bytes: [UInt8],
                   _ range: Range<Int>) throws(BlockDeviceError) {
    var failure: BlockDeviceError?
    bytes.withUnsafeBytes { raw in
      do throws(BlockDeviceError) {
        try write(block: block, count: range.count / blockSize,
                  from: UnsafeRawBufferPointer(rebasing: raw[range]))
      } catch {
        failure = error
      }
    }
    if let failure { throw failure }
  }
}
