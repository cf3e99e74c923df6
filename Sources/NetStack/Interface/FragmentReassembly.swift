// IPv4 fragment reassembly (RFC 791 3.2, RFC 815's hole bookkeeping in a
// simpler form). Fragments are grouped by source, destination, protocol
// and identification; each group collects bytes and the ranges it has,
// and is complete when the ranges cover [0, total) and the last fragment
// (MF clear) has fixed the total. Groups that do not complete within the
// timeout are dropped; if their first fragment arrived, the caller sends
// ICMP time exceeded (RFC 1122 3.3.2). Table and size limits keep a flood
// of fragments from using unbounded memory.

struct FragmentReassembler {
  struct Key: Equatable {
    var source: IPv4Address
    var destination: IPv4Address
    var protocolNumber: IPProtocol
    var identification: UInt16
  }

  struct Group {
    var key: Key
    var data: [UInt8] = []
    /// Sorted, merged [start, end) ranges received.
    var ranges: [(start: Int, end: Int)] = []
    var total: Int?
    var deadline: Instant
    /// The first fragment's IP header and first 8 payload bytes, for the
    /// ICMP error if reassembly times out.
    var firstFragment: [UInt8]?
    var header: IPv4Header?
  }

  /// RFC 1122 3.3.2 suggests 60 to 120 s; Linux uses 30 s.
  static let timeout: UInt64 = 30_000
  static let maximumGroups = 16
  /// The largest payload an IPv4 datagram can have.
  static let maximumPayload = 65_535 - 20

  private(set) var groups: [Group] = []

  /// Adds one fragment. Returns the reassembled header and payload when
  /// this fragment completes its datagram.
  mutating func insert(_ view: IPv4View, now: Instant)
    -> (header: IPv4Header, payload: [UInt8])?
  {
    let header = IPv4Header(view)
    let key = Key(source: header.source, destination: header.destination,
                  protocolNumber: header.protocolNumber,
                  identification: header.identification)
    let start = header.fragmentOffset
    let payload = view.payload
    let end = start + payload.count
    guard end <= FragmentReassembler.maximumPayload else { return nil }
    // Every fragment but the last carries a multiple of 8 bytes.
    if header.moreFragments && payload.count % 8 != 0 { return nil }

    var index = groups.firstIndex { $0.key == key }
    if index == nil {
      if groups.count >= FragmentReassembler.maximumGroups {
        groups.removeFirst()
      }
      groups.append(Group(key: key, deadline: now.adding(
        milliseconds: FragmentReassembler.timeout)))
      index = groups.count - 1
    }
    guard let i = index else { return nil }

    if !header.moreFragments {
      // Two different ends, or data past the end: the group is garbage.
      if let total = groups[i].total, total != end {
        groups.remove(at: i)
        return nil
      }
      groups[i].total = end
    }
    if let total = groups[i].total, end > total {
      groups.remove(at: i)
      return nil
    }
    if start == 0 {
      groups[i].firstFragment = Array(view.header) + Array(payload.prefix(8))
      groups[i].header = header
    }
    if groups[i].data.count < end {
      groups[i].data.append(contentsOf: repeatElement(
        0, count: end - groups[i].data.count))
    }
    groups[i].data.replaceSubrange(start..<end, with: payload)
    addRange(start, end, to: &groups[i].ranges)

    guard let total = groups[i].total, var whole = groups[i].header,
      groups[i].ranges.count == 1, groups[i].ranges[0].start == 0,
      groups[i].ranges[0].end == total
    else { return nil }
    let group = groups.remove(at: i)
    whole.moreFragments = false
    whole.fragmentOffset = 0
    whole.payloadLength = total
    return (whole, Array(group.data.prefix(total)))
  }

  private func addRange(_ start: Int, _ end: Int,
                        to ranges: inout [(start: Int, end: Int)])
  {
    var merged = (start: start, end: end)
    var result: [(start: Int, end: Int)] = []
    var placed = false
    for range in ranges {
      if range.end < merged.start {
        result.append(range)
      } else if merged.end < range.start {
        if !placed {
          result.append(merged)
          placed = true
        }
        result.append(range)
      } else {
        merged = (min(range.start, merged.start), max(range.end, merged.end))
      }
    }
    if !placed { result.append(merged) }
    ranges = result
  }

  /// Drops groups past their deadline; returns the first fragments of
  /// those that had one.
  mutating func expire(now: Instant) -> [[UInt8]] {
    var expired: [[UInt8]] = []
    groups.removeAll { group in
      guard !(now < group.deadline) else { return false }
      if let first = group.firstFragment { expired.append(first) }
      return true
    }
    return expired
  }

  var nextDeadline: Instant? {
    var deadline: Instant?
    for group in groups { deadline = earliest(deadline, group.deadline) }
    return deadline
  }
}
