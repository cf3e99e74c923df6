// Out-of-order data a receiver holds beyond RCV.NXT until the gap before
// it fills (RFC 9293 3.10.7.4, "segments with higher beginning sequence
// numbers SHOULD be held"). Segments are stored as they came, trimmed so
// none overlap; the queue also reports its ranges as SACK blocks with the
// most recently touched first (RFC 2018 4).

struct TCPReassemblyQueue {
  struct Piece {
    var start: SequenceNumber
    var data: [UInt8]
    /// When this piece was last part of an arriving segment.
    var stamp: UInt64
    var end: SequenceNumber { start + data.count }
  }

  private(set) var pieces: [Piece] = []
  private var clock: UInt64 = 0

  var isEmpty: Bool { pieces.isEmpty }
  var byteCount: Int { pieces.reduce(0) { $0 + $1.data.count } }

  /// Stores the bytes of `data` (starting at `start`) that no piece holds.
  mutating func insert(_ data: ArraySlice<UInt8>, at start: SequenceNumber) {
    guard !data.isEmpty else { return }
    clock += 1
    let end = start + data.count
    var cursor = start
    var result: [Piece] = []
    result.reserveCapacity(pieces.count + 2)

    func addGap(upTo limit: SequenceNumber) {
      guard cursor < limit else { return }
      let from = data.startIndex + (cursor - start)
      let to = data.startIndex + (limit - start)
      result.append(Piece(start: cursor, data: Array(data[from..<to]),
                          stamp: clock))
      cursor = limit
    }

    for var piece in pieces {
      if !(cursor < piece.end) {
        // Wholly before what is left of the new range.
        result.append(piece)
      } else if !(piece.start < end) {
        // Wholly after it: the rest of the new range goes first.
        addGap(upTo: end)
        result.append(piece)
      } else {
        // Overlap: keep the stored bytes, fill only up to them.
        addGap(upTo: piece.start)
        piece.stamp = clock
        result.append(piece)
        cursor = SequenceNumber.max(cursor, piece.end)
      }
    }
    addGap(upTo: end)
    pieces = result
  }

  /// Removes and returns the data at `next` (RCV.NXT), if the first
  /// piece reaches it. Pieces wholly below `next` are discarded.
  mutating func take(at next: SequenceNumber) -> ArraySlice<UInt8>? {
    while let first = pieces.first {
      if !(next < first.end) {
        pieces.removeFirst()
        continue
      }
      guard !(next < first.start) else { return nil }
      pieces.removeFirst()
      return first.data[(next - first.start)...]
    }
    return nil
  }

  /// Up to `limit` SACK blocks, merging adjacent pieces, newest first.
  func sackBlocks(limit: Int) -> [SACKBlock] {
    var blocks: [(block: SACKBlock, stamp: UInt64)] = []
    for piece in pieces {
      if let last = blocks.last, last.block.right == piece.start {
        blocks[blocks.count - 1].block.right = piece.end
        blocks[blocks.count - 1].stamp = max(last.stamp, piece.stamp)
      } else {
        blocks.append((SACKBlock(left: piece.start, right: piece.end),
                       piece.stamp))
      }
    }
    blocks.sort { $0.stamp > $1.stamp }
    return blocks.prefix(limit).map { $0.block }
  }

  mutating func removeAll() {
    pieces.removeAll()
  }
}
