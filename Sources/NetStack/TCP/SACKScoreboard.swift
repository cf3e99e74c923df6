// The sender's record of what the peer reported holding beyond the
// cumulative ACK (RFC 2018, RFC 6675 "scoreboard"). It is a sorted list
// of disjoint ranges above SND.UNA. Retransmission skips bytes in it, and
// loss recovery counts them as delivered.

struct SACKScoreboard {
  /// Disjoint, sorted, non-adjacent [left, right) ranges.
  private(set) var ranges: [SACKBlock] = []

  var isEmpty: Bool { ranges.isEmpty }

  /// Adds the blocks of one ACK. Blocks outside (una, max] are ignored:
  /// they are D-SACKs (RFC 2883) or nonsense.
  mutating func add(_ blocks: [SACKBlock], una: SequenceNumber,
                    max highest: SequenceNumber)
  {
    for block in blocks {
      guard block.left < block.right, una < block.right,
        !(highest < block.right)
      else { continue }
      let left = SequenceNumber.max(block.left, una)
      insert(SACKBlock(left: left, right: block.right))
    }
  }

  private mutating func insert(_ block: SACKBlock) {
    var merged = block
    var kept: [SACKBlock] = []
    kept.reserveCapacity(ranges.count + 1)
    var placed = false
    for range in ranges {
      if range.right < merged.left {
        kept.append(range)
      } else if merged.right < range.left {
        if !placed {
          kept.append(merged)
          placed = true
        }
        kept.append(range)
      } else {
        merged.left = SequenceNumber.min(merged.left, range.left)
        merged.right = SequenceNumber.max(merged.right, range.right)
      }
    }
    if !placed { kept.append(merged) }
    ranges = kept
  }

  /// Forgets everything below `una`, which the cumulative ACK now covers.
  mutating func advance(to una: SequenceNumber) {
    var kept: [SACKBlock] = []
    for var range in ranges where una < range.right {
      if range.left < una { range.left = una }
      kept.append(range)
    }
    ranges = kept
  }

  mutating func removeAll() {
    ranges.removeAll()
  }

  /// The right edge of the range holding `sequence`, if one does.
  func rightEdge(containing sequence: SequenceNumber) -> SequenceNumber? {
    for range in ranges
    where !(sequence < range.left) && sequence < range.right {
      return range.right
    }
    return nil
  }

  /// The left edge of the first range starting after `sequence`.
  func nextLeftEdge(after sequence: SequenceNumber) -> SequenceNumber? {
    for range in ranges where sequence < range.left {
      return range.left
    }
    return nil
  }

  /// The highest sequence number the peer reported holding.
  var highestSacked: SequenceNumber? { ranges.last?.right }

  /// Bytes reported held in [from, to).
  func bytes(from: SequenceNumber, to: SequenceNumber) -> Int {
    var total = 0
    for range in ranges {
      let left = SequenceNumber.max(range.left, from)
      let right = SequenceNumber.min(range.right, to)
      if left < right { total += right - left }
    }
    return total
  }

  var totalBytes: Int {
    ranges.reduce(0) { $0 + ($1.right - $1.left) }
  }
}
