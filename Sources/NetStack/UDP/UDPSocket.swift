// A UDP socket (RFC 768, udp(7)): a bound local address, an optional
// connected peer that filters what arrives and supplies the destination,
// a queue of received datagrams bounded by SO_RCVBUF (datagrams that do
// not fit are dropped, as UDP allows), and a queue of datagrams to send
// that the stack drains at each poll.

struct Datagram {
  var address: SocketAddress
  var data: [UInt8]
}

final class UDPSocket {
  var local: SocketAddress?
  var remote: SocketAddress?
  var options: SocketOptions
  var pendingError: NetError?
  var readShutdown = false
  var writeShutdown = false

  private var received: [Datagram] = []
  private var receivedHead = 0
  private(set) var receivedBytes = 0
  var outgoing: [Datagram] = []
  private(set) var outgoingBytes = 0
  private(set) var droppedDatagrams = 0

  init(options: SocketOptions) {
    self.options = options
  }

  /// Whether a datagram from `source` to `destination` is for us.
  func matches(source: SocketAddress, destination: SocketAddress) -> Bool {
    guard let local, local.port == destination.port else { return false }
    if !local.address.isUnspecified && local.address != destination.address
      && !destination.address.isBroadcast
    {
      return false
    }
    if let remote, remote != source { return false }
    return true
  }

  /// Queues an arriving datagram if the receive buffer has room.
  func deliver(_ data: ArraySlice<UInt8>, from source: SocketAddress) {
    guard !readShutdown,
      receivedBytes + data.count <= max(options.receiveBufferSize, 1)
    else {
      droppedDatagrams += 1
      return
    }
    received.append(Datagram(address: source, data: Array(data)))
    receivedBytes += data.count
  }

  var hasDatagram: Bool { receivedHead < received.count }

  /// The size of the oldest datagram's payload (FIONREAD), 0 if none.
  var nextDatagramLength: Int {
    hasDatagram ? received[receivedHead].data.count : 0
  }

  /// Takes the oldest datagram, copying what fits into `buffer`; the rest
  /// of a longer datagram is discarded (udp(7), MSG_TRUNC). With `peek`
  /// (MSG_PEEK) the datagram stays queued, whole.
  func take(into buffer: UnsafeMutableRawBufferPointer, peek: Bool = false)
    -> DatagramInfo?
  {
    guard hasDatagram else { return nil }
    let datagram = received[receivedHead]
    if peek {
      let count = min(buffer.count, datagram.data.count)
      datagram.data.withUnsafeBytes { source in
        if count > 0 {
          UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            .copyMemory(from: UnsafeRawBufferPointer(
              rebasing: source[0..<count]))
        }
      }
      return DatagramInfo(count: count, length: datagram.data.count,
                          source: datagram.address)
    }
    receivedHead += 1
    receivedBytes -= datagram.data.count
    if receivedHead > 64 && receivedHead * 2 > received.count {
      received.removeFirst(receivedHead)
      receivedHead = 0
    }
    let count = min(buffer.count, datagram.data.count)
    datagram.data.withUnsafeBytes { source in
      if count > 0 {
        UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
          .copyMemory(from: UnsafeRawBufferPointer(
            rebasing: source[0..<count]))
      }
    }
    return DatagramInfo(count: count, length: datagram.data.count,
                        source: datagram.address)
  }

  /// Queues a datagram for the next poll, if SO_SNDBUF has room.
  func enqueue(_ bytes: UnsafeRawBufferPointer, to destination: SocketAddress)
    -> Bool
  {
    guard outgoingBytes == 0
      || outgoingBytes + bytes.count <= max(options.sendBufferSize, 1)
    else { return false }
    outgoing.append(Datagram(address: destination, data: Array(bytes)))
    outgoingBytes += bytes.count
    return true
  }

  func takeOutgoing() -> [Datagram] {
    let queued = outgoing
    outgoing.removeAll()
    outgoingBytes = 0
    return queued
  }

  var readiness: SocketReadiness {
    var result: SocketReadiness = []
    if hasDatagram || readShutdown { result.insert(.readable) }
    if pendingError != nil { result.formUnion([.error, .readable]) }
    if outgoingBytes < options.sendBufferSize || writeShutdown {
      result.insert(.writable)
    }
    if readShutdown && writeShutdown { result.insert(.hangUp) }
    if remote != nil { result.insert(.connected) }
    return result
  }
}
