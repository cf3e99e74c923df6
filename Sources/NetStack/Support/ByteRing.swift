// A byte queue with a capacity limit: TCP's send and receive buffers.
// Bytes enter at the tail and leave at the head; storage is a ring that
// grows on demand up to the limit, so an idle connection holds little
// memory while a busy one never copies its backlog to drop acknowledged
// bytes from the front.

struct ByteRing {
  private var storage: [UInt8] = []
  private var head = 0
  private(set) var count = 0
  /// The most bytes the queue may hold.
  var limit: Int

  init(limit: Int) {
    self.limit = limit
  }

  var freeSpace: Int { max(0, limit - count) }
  var isEmpty: Bool { count == 0 }

  /// Appends as many of `bytes` as fit; returns how many did.
  @discardableResult
  mutating func append(_ bytes: UnsafeRawBufferPointer) -> Int {
    let n = min(bytes.count, freeSpace)
    guard n > 0 else { return 0 }
    reserve(count + n)
    var tail = (head + count) % storage.count
    var copied = 0
    storage.withUnsafeMutableBytes { raw in
      while copied < n {
        let run = min(n - copied, raw.count - tail)
        let source = UnsafeRawBufferPointer(
          rebasing: bytes[copied..<copied + run])
        UnsafeMutableRawBufferPointer(rebasing: raw[tail..<tail + run])
          .copyMemory(from: source)
        copied += run
        tail = (tail + run) % raw.count
      }
    }
    count += n
    return n
  }

  @discardableResult
  mutating func append(_ bytes: ArraySlice<UInt8>) -> Int {
    bytes.withUnsafeBytes { append($0) }
  }

  /// Copies up to `destination.count` bytes starting `offset` bytes after
  /// the head, without removing them; returns how many were copied.
  func copy(from offset: Int, into destination: UnsafeMutableRawBufferPointer)
    -> Int
  {
    guard offset >= 0, offset < count else { return 0 }
    let n = min(destination.count, count - offset)
    var position = (head + offset) % storage.count
    var copied = 0
    storage.withUnsafeBytes { raw in
      while copied < n {
        let run = min(n - copied, raw.count - position)
        UnsafeMutableRawBufferPointer(
          rebasing: destination[copied..<copied + run])
          .copyMemory(from: UnsafeRawBufferPointer(
            rebasing: raw[position..<position + run]))
        copied += run
        position = (position + run) % raw.count
      }
    }
    return n
  }

  /// `length` bytes starting `offset` bytes after the head, as an array;
  /// the caller keeps the range inside the queue.
  func bytes(from offset: Int, length: Int) -> [UInt8] {
    var result = [UInt8](repeating: 0, count: length)
    let copied = result.withUnsafeMutableBytes { copy(from: offset, into: $0) }
    if copied < length { result.removeLast(length - copied) }
    return result
  }

  /// Drops up to `n` bytes from the head.
  mutating func removeFirst(_ n: Int) {
    let dropped = min(max(n, 0), count)
    guard dropped > 0 else { return }
    head = (head + dropped) % storage.count
    count -= dropped
    if count == 0 { head = 0 }
  }

  mutating func removeAll() {
    head = 0
    count = 0
  }

  /// Grows storage to hold at least `needed` bytes, keeping the order.
  private mutating func reserve(_ needed: Int) {
    guard needed > storage.count else { return }
    var size = max(storage.count * 2, 4096)
    while size < needed { size *= 2 }
    size = min(size, max(limit, needed))
    var grown = [UInt8](repeating: 0, count: size)
    if count > 0 {
      _ = grown.withUnsafeMutableBytes { copy(from: 0, into: $0) }
    }
    storage = grown
    head = 0
  }
}
