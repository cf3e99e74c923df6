// Where a regular file's bytes live in the log.
//
// An extent maps a run of file offsets to a run of log addresses. The map
// keeps extents sorted by file offset and never overlapping; offsets no
// extent covers are holes and read as zeroes. A write first punches its
// range out of the map (the pieces it removes are reported so that the
// segments holding them can count their live bytes down) and then inserts
// one extent, merged with its neighbour when a file run continues a log
// run, which is what consecutive writes coalesced into one record give.
//
// Each extent also remembers the record its data belongs to, so that a
// read can check that record's checksum before trusting the data.

struct Extent: Equatable {
  var offset: UInt64
  var length: UInt64
  var address: UInt64
  /// The log address of the write or move record holding the data.
  var record: UInt64

  var end: UInt64 { offset + length }

  /// The part of this extent covering `start..<end` (which must overlap).
  func clipped(_ start: UInt64, _ end: UInt64) -> Extent {
    let from = max(start, offset)
    let to = min(end, self.end)
    return Extent(offset: from, length: to - from,
                  address: address + (from - offset), record: record)
  }
}

// TODO(perf): the map is one sorted array, so a write into a file with
// many extents (small random writes into a large file) moves the tail of
// the array; a B-tree would keep that logarithmic.
struct ExtentMap: Equatable {
  private(set) var extents: [Extent] = []

  init() {}

  /// A map from extents already sorted and disjoint (the checkpoint
  /// loader checks that before calling).
  init(sorted: [Extent]) {
    extents = sorted
  }

  var count: Int { extents.count }

  /// The index of the first extent that ends after `offset`.
  private func firstIndex(endingAfter offset: UInt64) -> Int {
    var low = 0
    var high = extents.count
    while low < high {
      let middle = (low + high) / 2
      if extents[middle].end <= offset {
        low = middle + 1
      } else {
        high = middle
      }
    }
    return low
  }

  /// Calls `body` with each mapped piece of `start..<end`, in order,
  /// clipped to the range.
  func forEachPiece(in start: UInt64, _ end: UInt64,
                    _ body: (Extent) -> Void) {
    var index = firstIndex(endingAfter: start)
    while index < extents.count, extents[index].offset < end {
      body(extents[index].clipped(start, end))
      index += 1
    }
  }

  /// Bytes of `start..<end` that some extent covers.
  func mappedBytes(in start: UInt64, _ end: UInt64) -> UInt64 {
    var total: UInt64 = 0
    forEachPiece(in: start, end) { total += $0.length }
    return total
  }

  /// Unmaps `start..<end`, splitting extents that straddle its ends, and
  /// reports each removed piece.
  mutating func remove(_ start: UInt64, _ end: UInt64,
                       removed: (Extent) -> Void) {
    guard start < end else { return }
    let index = firstIndex(endingAfter: start)
    var replacement: [Extent] = []
    var last = index
    while last < extents.count, extents[last].offset < end {
      let extent = extents[last]
      let cut = extent.clipped(start, end)
      removed(cut)
      if extent.offset < cut.offset {
        replacement.append(extent.clipped(extent.offset, cut.offset))
      }
      if cut.end < extent.end {
        replacement.append(extent.clipped(cut.end, extent.end))
      }
      last += 1
    }
    if index == last { return }
    extents.replaceSubrange(index..<last, with: replacement)
  }

  /// Maps `offset..<offset+length` to `address` in `record`. The range
  /// must be unmapped (call `remove` first).
  mutating func insert(offset: UInt64, length: UInt64, address: UInt64,
                       record: UInt64) {
    guard length > 0 else { return }
    let index = firstIndex(endingAfter: offset)
    var merged = Extent(offset: offset, length: length, address: address,
                        record: record)
    var start = index
    var stop = index
    if index > 0 {
      let before = extents[index - 1]
      if before.end == offset, before.address + before.length == address,
         before.record == record {
        merged = Extent(offset: before.offset,
                        length: before.length + length,
                        address: before.address, record: record)
        start = index - 1
      }
    }
    if index < extents.count {
      let after = extents[index]
      if after.offset == merged.end,
         merged.address + merged.length == after.address,
         after.record == record {
        merged.length += after.length
        stop = index + 1
      }
    }
    extents.replaceSubrange(start..<stop, with: CollectionOfOne(merged))
  }
}
