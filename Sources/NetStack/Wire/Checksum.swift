// The Internet checksum (RFC 1071): the ones' complement of the ones'
// complement sum of 16-bit big-endian words. IPv4 covers its header with
// it; ICMP its message; UDP and TCP their segment plus a pseudo-header of
// addresses, protocol and length (RFC 768, RFC 9293 3.1), which ties a
// segment to the addresses it travelled between.
//
// Sums are carried in 64 bits and folded once at the end, so a caller can
// add pieces in order; only the last piece may have an odd length.

public enum InternetChecksum {
  /// Adds the bytes of `data` to a running sum.
  public static func add(_ data: ArraySlice<UInt8>, to sum: UInt64 = 0)
    -> UInt64
  {
    var total = sum
    data.withUnsafeBufferPointer { buffer in
      let pairs = buffer.count / 2
      var i = 0
      // Four words at a time: the partial sums cannot overflow 64 bits
      // for any packet size IPv4 allows.
      while i + 4 <= pairs {
        let b = 2 * i
        total &+= UInt64(buffer[b]) << 8 | UInt64(buffer[b + 1])
        total &+= UInt64(buffer[b + 2]) << 8 | UInt64(buffer[b + 3])
        total &+= UInt64(buffer[b + 4]) << 8 | UInt64(buffer[b + 5])
        total &+= UInt64(buffer[b + 6]) << 8 | UInt64(buffer[b + 7])
        i += 4
      }
      while i < pairs {
        total &+= UInt64(buffer[2 * i]) << 8 | UInt64(buffer[2 * i + 1])
        i += 1
      }
      if buffer.count % 2 == 1 {
        total &+= UInt64(buffer[buffer.count - 1]) << 8
      }
    }
    return total
  }

  /// The pseudo-header's contribution for a UDP or TCP segment of
  /// `length` bytes between `source` and `destination`.
  public static func pseudoHeader(source: IPv4Address,
                                  destination: IPv4Address,
                                  protocol number: UInt8,
                                  length: Int) -> UInt64
  {
    var total: UInt64 = 0
    total += UInt64(source.rawValue >> 16) + UInt64(source.rawValue & 0xFFFF)
    total += UInt64(destination.rawValue >> 16)
    total += UInt64(destination.rawValue & 0xFFFF)
    total += UInt64(number)
    total += UInt64(UInt32(truncatingIfNeeded: length))
    return total
  }

  /// Folds a running sum into the 16-bit checksum field value.
  public static func finish(_ sum: UInt64) -> UInt16 {
    var folded = sum
    while folded >> 16 != 0 {
      folded = (folded & 0xFFFF) + (folded >> 16)
    }
    return ~UInt16(truncatingIfNeeded: folded)
  }

  /// The checksum of `data` alone.
  public static func checksum(_ data: ArraySlice<UInt8>) -> UInt16 {
    finish(add(data))
  }
}
