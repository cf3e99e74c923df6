// The neighbour table for IPv4 over Ethernet (RFC 826, RFC 1122 2.3.2).
// It maps addresses to hardware addresses for a minute, asks for unknown
// ones (retrying each second, three times), and holds the packets that
// wait for an answer, releasing them when the reply arrives or dropping
// them when the neighbour never answers (RFC 1122 2.3.2.2 asks that at
// least one packet be kept; a few are).

struct ARPCache {
  struct Entry {
    var address: IPv4Address
    var hardwareAddress: MACAddress
    var expires: Instant
  }

  struct Resolution {
    var address: IPv4Address
    /// IP packets with Ethernet headroom, in the order they were sent.
    var packets: [[UInt8]]
    var attempts: Int
    var nextAttempt: Instant
  }

  static let lifetime: UInt64 = 60_000
  static let retryInterval: UInt64 = 1_000
  static let maximumAttempts = 3
  static let maximumQueuedPerAddress = 16
  static let maximumEntries = 256

  private(set) var entries: [Entry] = []
  private(set) var resolutions: [Resolution] = []

  func lookup(_ address: IPv4Address, now: Instant) -> MACAddress? {
    for entry in entries where entry.address == address {
      return now < entry.expires ? entry.hardwareAddress : nil
    }
    return nil
  }

  /// Records a mapping. With `create` false only an existing entry or a
  /// pending resolution is updated (RFC 826's merge step; only packets
  /// aimed at us create entries). Returns the packets that were waiting.
  mutating func learn(_ address: IPv4Address, is hardwareAddress: MACAddress,
                      now: Instant, create: Bool) -> [[UInt8]]
  {
    let expires = now.adding(milliseconds: ARPCache.lifetime)
    var known = false
    for i in entries.indices where entries[i].address == address {
      entries[i].hardwareAddress = hardwareAddress
      entries[i].expires = expires
      known = true
    }
    let waiting = resolutions.firstIndex { $0.address == address }
    if !known && (create || waiting != nil) {
      if entries.count >= ARPCache.maximumEntries {
        // Evict the entry closest to expiry.
        var oldest = 0
        for i in entries.indices where entries[i].expires
          < entries[oldest].expires
        {
          oldest = i
        }
        entries.remove(at: oldest)
      }
      entries.append(Entry(address: address,
                           hardwareAddress: hardwareAddress,
                           expires: expires))
    }
    guard let index = waiting else { return [] }
    return resolutions.remove(at: index).packets
  }

  /// Holds `packet` until `address` resolves. Returns true when a request
  /// should go out now (the first packet for that address).
  mutating func hold(_ packet: [UInt8], for address: IPv4Address,
                     now: Instant) -> Bool
  {
    if let index = resolutions.firstIndex(where: { $0.address == address }) {
      if resolutions[index].packets.count >= ARPCache.maximumQueuedPerAddress
      {
        resolutions[index].packets.removeFirst()
      }
      resolutions[index].packets.append(packet)
      return false
    }
    resolutions.append(Resolution(
      address: address, packets: [packet], attempts: 1,
      nextAttempt: now.adding(milliseconds: ARPCache.retryInterval)))
    return true
  }

  /// Runs the retry timers: returns the addresses to ask for again and
  /// how many packets were dropped for neighbours that never answered.
  mutating func expire(now: Instant)
    -> (retry: [IPv4Address], unreachable: [IPv4Address], dropped: Int)
  {
    var retry: [IPv4Address] = []
    var unreachable: [IPv4Address] = []
    var dropped = 0
    var kept: [Resolution] = []
    for var resolution in resolutions {
      if now < resolution.nextAttempt {
        kept.append(resolution)
      } else if resolution.attempts >= ARPCache.maximumAttempts {
        dropped += resolution.packets.count
        unreachable.append(resolution.address)
      } else {
        resolution.attempts += 1
        resolution.nextAttempt = now.adding(
          milliseconds: ARPCache.retryInterval)
        retry.append(resolution.address)
        kept.append(resolution)
      }
    }
    resolutions = kept
    entries.removeAll { !(now < $0.expires) }
    return (retry, unreachable, dropped)
  }

  var nextDeadline: Instant? {
    var deadline: Instant?
    for resolution in resolutions {
      deadline = earliest(deadline, resolution.nextAttempt)
    }
    return deadline
  }

  mutating func removeAll() {
    entries.removeAll()
    resolutions.removeAll()
  }
}
