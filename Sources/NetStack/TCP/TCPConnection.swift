// One TCP connection's control block (RFC 9293 3.3.1) and the calls its
// socket makes on it. The protocol's two halves live in extensions:
// TCPInput.swift handles arriving segments ("SEGMENT ARRIVES", 3.10.7),
// TCPOutput.swift decides what to send and runs the timers. Nothing here
// touches bytes on the wire: segments arrive parsed and leave as
// TCPHeader values plus payload, which the stack wraps in IP.
//
// Sequence variables follow the RFC's names, with one addition: sndMax,
// the highest sequence number ever sent. After a retransmission timeout
// sndNxt goes back to sndUna and walks forward again, while sndMax keeps
// what RFC 9293 calls SND.NXT, the edge acknowledgments are checked
// against.

/// A segment the connection wants sent.
struct TCPOutgoingSegment {
  var header: TCPHeader
  var payload: [UInt8]
}

final class TCPConnection {
  var state: TCPState = .closed
  var local: SocketAddress
  var remote: SocketAddress = .unspecified
  var options: SocketOptions
  let configuration: TCPConfiguration
  /// The MTU of the route this connection uses; bounds our MSS.
  var routeMTU = 1500

  /// True for connections a listener created; they go back to nothing
  /// (not to an error) when reset in SYN-RECEIVED.
  var passive = false
  /// The socket's handle is gone: nobody will read, so data arriving
  /// after close aborts the connection, and FIN-WAIT-2 is time limited.
  var orphaned = false
  /// Has ever reached ESTABLISHED.
  var wasConnected = false
  /// An error to report once, through a socket call or SO_ERROR.
  var pendingError: NetError?
  /// The error that closed the connection, kept after it is reported.
  var closeReason: NetError?

  // MARK: Send sequence space
  var iss = SequenceNumber(rawValue: 0)
  var sndUna = SequenceNumber(rawValue: 0)
  var sndNxt = SequenceNumber(rawValue: 0)
  var sndMax = SequenceNumber(rawValue: 0)
  /// The peer's window in bytes, already scaled.
  var sndWnd = 0
  var maxSndWnd = 0
  var sndWl1 = SequenceNumber(rawValue: 0)
  var sndWl2 = SequenceNumber(rawValue: 0)
  /// Bytes from sndUna onward: unacknowledged, then unsent.
  var sendBuffer: ByteRing
  /// The user finished sending; the FIN follows the buffered data.
  var finQueued = false
  /// Its sequence number, once known (the data before it is final).
  var finSequence: SequenceNumber?
  /// The peer's MSS (RFC 9293 3.7.1; 536 when not announced).
  var sendMSS = 536

  // MARK: Receive sequence space
  var irs = SequenceNumber(rawValue: 0)
  var rcvNxt = SequenceNumber(rawValue: 0)
  /// The right edge of the window we last advertised; never moved left
  /// (RFC 9293 3.8.6.2.2).
  var rcvAdvertisedEdge = SequenceNumber(rawValue: 0)
  var receiveBuffer: ByteRing
  var receiveCapacity: Int
  var outOfOrder = TCPReassemblyQueue()
  /// The peer's FIN has been received and acknowledged.
  var finReceived = false
  /// Where the peer's FIN sits, when it arrived ahead of a gap.
  var remoteFinSequence: SequenceNumber?
  var readShutdown = false

  // MARK: Negotiated options
  var windowScaleNegotiated = false
  var sndScale: UInt8 = 0
  var rcvScale: UInt8 = 0
  var sackEnabled = false
  var timestampsEnabled = false
  var tsRecent: UInt32 = 0
  var tsOffset: UInt32 = 0
  var lastAckSent = SequenceNumber(rawValue: 0)
  var scoreboard = SACKScoreboard()

  // MARK: Timers and their state
  var rtt: RTTEstimator
  /// Karn's rule: one segment timed at a time, forgotten if resent.
  var timedSegment: (end: SequenceNumber, sentAt: Instant)?
  var retransmitDeadline: Instant?
  var retransmitCount = 0
  var delayedAckDeadline: Instant?
  var persistDeadline: Instant?
  var persistBackoff = 0
  var timeWaitDeadline: Instant?
  var finWait2Deadline: Instant?
  var lastReceived = Instant.zero
  var keepaliveProbes = 0
  var lastKeepaliveProbe = Instant.zero

  // MARK: Congestion control (RFC 5681, NewReno per RFC 6582)
  var cwnd = 0
  var ssthresh = Int.max
  var duplicateAcks = 0
  var inRecovery = false
  var recover = SequenceNumber(rawValue: 0)
  /// The highest sequence retransmitted in this recovery (RFC 6675).
  var highRetransmitted = SequenceNumber(rawValue: 0)
  var retransmitFirstSegment = false
  /// RFC 3042 Limited Transmit: the first two duplicate ACKs each let one
  /// new segment out beyond cwnd, so small windows still produce the
  /// three duplicates fast retransmit needs.
  var limitedTransmit = 0
  var synRetransmitted = false

  // MARK: Pending output
  var synPending = false
  var ackNow = false
  var unackedSegments = 0
  /// Control segments (resets) formed while handling input.
  var controlSegments: [TCPOutgoingSegment] = []
  var statistics = TCPConnectionStatistics()

  init(local: SocketAddress, options: SocketOptions,
       configuration: TCPConfiguration)
  {
    self.local = local
    self.options = options
    self.configuration = configuration
    sendBuffer = ByteRing(limit: max(options.sendBufferSize, 1))
    receiveCapacity = max(options.receiveBufferSize, 1)
    receiveBuffer = ByteRing(limit: receiveCapacity)
    rtt = RTTEstimator(configuration: configuration)
  }

  /// States in which the connection has exchanged SYNs.
  var isSynchronized: Bool {
    switch state {
    case .closed, .listen, .synSent, .synReceived: return false
    default: return true
    }
  }

  /// The MSS we announce: what fits in the route's MTU.
  var ourMSS: Int { max(routeMTU - 40, 536) }

  /// The window scale we offer: the smallest shift that lets the receive
  /// buffer be advertised in 16 bits (RFC 7323 2.3).
  var offeredWindowScale: UInt8 {
    var shift: UInt8 = 0
    while shift < 14 && receiveCapacity >> Int(shift) > 0xFFFF {
      shift += 1
    }
    return shift
  }

  /// Our timestamp clock: milliseconds, offset per connection.
  func timestampNow(_ now: Instant) -> UInt32 {
    UInt32(truncatingIfNeeded: now.milliseconds) &+ tsOffset
  }

  // MARK: Opening

  /// Starts an active open (RFC 9293 3.10.1): SYN-SENT, the SYN going
  /// out at the next dispatch.
  func connect(to remote: SocketAddress, iss: SequenceNumber,
               timestampOffset: UInt32, now: Instant)
  {
    self.remote = remote
    self.iss = iss
    sndUna = iss
    sndNxt = iss + 1
    sndMax = iss + 1
    recover = iss
    tsOffset = timestampOffset
    lastReceived = now
    fixReceiveBuffer(scale: configuration.windowScaling
      ? offeredWindowScale : 0)
    state = .synSent
    synPending = true
  }

  /// Answers a SYN that reached a listener (RFC 9293 3.10.7.2): the new
  /// connection is in SYN-RECEIVED and will send its SYN-ACK.
  func acceptSyn(_ syn: TCPHeader, from remote: SocketAddress,
                 iss: SequenceNumber, timestampOffset: UInt32,
                 now: Instant)
  {
    self.remote = remote
    passive = true
    self.iss = iss
    sndUna = iss
    sndNxt = iss + 1
    sndMax = iss + 1
    recover = iss
    tsOffset = timestampOffset
    irs = syn.sequenceNumber
    rcvNxt = irs + 1
    lastReceived = now
    negotiate(syn.options, offered: true)
    // The window of a SYN is never scaled (RFC 7323 2.2).
    sndWnd = Int(syn.window)
    maxSndWnd = sndWnd
    sndWl1 = syn.sequenceNumber
    sndWl2 = iss
    state = .synReceived
    synPending = true
  }

  /// Takes the options of the peer's SYN. `offered` says whether our own
  /// SYN offered (or will offer) each option; a passive opener offers
  /// exactly what the peer did.
  func negotiate(_ peer: TCPOptions, offered: Bool) {
    sendMSS = Int(peer.maximumSegmentSize ?? 536)
    sendMSS = max(min(sendMSS, ourMSS), 64)
    if configuration.windowScaling && offered, let scale = peer.windowScale
    {
      windowScaleNegotiated = true
      sndScale = scale
      fixReceiveBuffer(scale: offeredWindowScale)
    } else {
      windowScaleNegotiated = false
      sndScale = 0
      fixReceiveBuffer(scale: 0)
    }
    sackEnabled = configuration.selectiveAcknowledgments && offered
      && peer.sackPermitted
    if configuration.timestamps && offered, let stamps = peer.timestamps {
      timestampsEnabled = true
      tsRecent = stamps.value
    } else {
      timestampsEnabled = false
    }
  }

  /// Settles the receive buffer for a window scale: without scaling the
  /// window cannot pass 65535 bytes, and the ring gets one scale unit of
  /// slack because advertised windows are rounded up to whole units.
  func fixReceiveBuffer(scale: UInt8) {
    rcvScale = scale
    if scale == 0 { receiveCapacity = min(receiveCapacity, 0xFFFF) }
    receiveBuffer.limit = receiveCapacity + (1 << Int(scale))
  }

  // MARK: The socket's calls

  /// Queues bytes for sending; returns how many fit.
  func write(_ bytes: UnsafeRawBufferPointer) throws(NetError) -> Int {
    if let error = pendingError {
      pendingError = nil
      throw error
    }
    if finQueued { throw .brokenPipe }
    switch state {
    case .established, .closeWait:
      break
    case .synSent, .synReceived:
      throw .wouldBlock
    case .closed, .listen:
      throw wasConnected || closeReason != nil ? .brokenPipe : .notConnected
    default:
      throw .brokenPipe
    }
    if bytes.isEmpty { return 0 }
    let accepted = sendBuffer.append(bytes)
    if accepted == 0 { throw .wouldBlock }
    return accepted
  }

  /// Copies received bytes out; 0 means the peer finished sending.
  /// With `peek` (MSG_PEEK) the bytes stay to be read again.
  func read(into buffer: UnsafeMutableRawBufferPointer, peek: Bool = false)
    throws(NetError) -> Int
  {
    if !receiveBuffer.isEmpty && !readShutdown {
      let count = receiveBuffer.copy(from: 0, into: buffer)
      if peek { return count }
      receiveBuffer.removeFirst(count)
      considerWindowUpdate()
      return count
    }
    if let error = pendingError {
      pendingError = nil
      throw error
    }
    if finReceived || readShutdown { return 0 }
    switch state {
    case .closed, .listen:
      if wasConnected || closeReason != nil { return 0 }
      throw .notConnected
    default:
      throw .wouldBlock
    }
  }

  /// Bytes a read would return now (FIONREAD).
  var readableCount: Int { readShutdown ? 0 : receiveBuffer.count }

  /// After the reader frees space, announce a window that grew by enough
  /// to matter: two segments or half the buffer, or any usable amount
  /// when the advertised window had closed below one segment (RFC 9293
  /// 3.8.6.2.2).
  func considerWindowUpdate() {
    guard isSynchronized, !finReceived else { return }
    let advertised = max(0, rcvAdvertisedEdge - rcvNxt)
    let growth = (receiveCapacity - receiveBuffer.count) - advertised
    let halfBuffer = receiveCapacity / 2
    if growth >= min(halfBuffer, 2 * ourMSS)
      || (advertised < ourMSS && growth >= min(halfBuffer, ourMSS))
    {
      ackNow = true
    }
  }

  /// shutdown(SHUT_WR): queue a FIN after the data (RFC 9293 3.10.4).
  /// In SYN-RECEIVED the FIN waits for ESTABLISHED, where its place in
  /// the sequence space becomes known.
  func shutdownWrite() {
    guard !finQueued else { return }
    switch state {
    case .synReceived:
      finQueued = true
    case .established:
      finQueued = true
      finSequence = sndUna + sendBuffer.count
      state = .finWait1
    case .closeWait:
      finQueued = true
      finSequence = sndUna + sendBuffer.count
      state = .lastAck
    case .synSent:
      // Nothing was exchanged yet; closing forgets the attempt.
      enterClosed(reason: nil)
    default:
      return
    }
  }

  func shutdownRead() {
    readShutdown = true
    receiveBuffer.removeAll()
  }

  /// close(2) on the socket. Unread data or SO_LINGER 0 turn it into a
  /// reset (RFC 2525 2.17); otherwise the FIN is sent and the connection
  /// finishes on its own.
  func close() {
    orphaned = true
    if state == .closed || state == .listen { return }
    if options.lingerZero || (!receiveBuffer.isEmpty && !readShutdown) {
      abort(error: nil, sendReset: isSynchronized || state == .synReceived)
      return
    }
    shutdownWrite()
    if state == .finWait2 {
      finWait2Deadline = lastReceived.adding(
        milliseconds: configuration.finWait2Timeout)
    }
  }

  /// Ends the connection at once, optionally telling the peer with a
  /// reset <SEQ=SND.NXT><CTL=RST> (RFC 9293 3.10.5).
  func abort(error: NetError?, sendReset: Bool) {
    if sendReset {
      let reset = TCPHeader(
        sourcePort: local.port, destinationPort: remote.port,
        sequenceNumber: sndMax, flags: .rst)
      controlSegments.append(TCPOutgoingSegment(header: reset, payload: []))
      statistics.resetsSent += 1
    }
    enterClosed(reason: error)
  }

  /// Moves to CLOSED, dropping whatever is still to send.
  func enterClosed(reason: NetError?) {
    if let reason {
      pendingError = reason
      closeReason = reason
    }
    state = .closed
    sendBuffer.removeAll()
    outOfOrder.removeAll()
    scoreboard.removeAll()
    retransmitDeadline = nil
    delayedAckDeadline = nil
    persistDeadline = nil
    timeWaitDeadline = nil
    finWait2Deadline = nil
    synPending = false
    ackNow = false
  }

  // MARK: Readiness

  var readiness: SocketReadiness {
    var result: SocketReadiness = []
    if pendingError != nil { result.formUnion([.error, .readable]) }
    if !receiveBuffer.isEmpty || finReceived || readShutdown {
      result.insert(.readable)
    }
    if finReceived { result.insert(.readHangUp) }
    switch state {
    case .established, .closeWait:
      result.insert(.connected)
      if finQueued || hasWriteRoom { result.insert(.writable) }
    case .finWait1, .finWait2, .closing, .lastAck, .timeWait:
      // Sending is over: a write fails at once with EPIPE.
      result.formUnion([.connected, .writable])
    case .closed, .listen:
      result.formUnion([.hangUp, .writable])
      if wasConnected || closeReason != nil {
        result.formUnion([.readable, .readHangUp])
      }
    case .synSent, .synReceived:
      break
    }
    if finReceived && finQueued { result.insert(.hangUp) }
    return result
  }

  /// Linux's rule (sk_stream_is_writeable): free space of at least half
  /// what is queued, so writers wake for a worthwhile amount.
  var hasWriteRoom: Bool {
    let free = sendBuffer.freeSpace
    return free > 0 && free >= sendBuffer.count / 2
  }

  /// Applies changed options; buffer sizes only grow once connected.
  func apply(_ new: SocketOptions) {
    let old = options
    options = new
    sendBuffer.limit = max(new.sendBufferSize, sendBuffer.count, 1)
    if new.receiveBufferSize != old.receiveBufferSize {
      if state == .closed && !wasConnected {
        receiveCapacity = max(new.receiveBufferSize, 1)
        receiveBuffer.limit = receiveCapacity
      } else if new.receiveBufferSize > receiveCapacity {
        let limit = rcvScale == 0 ? 0xFFFF : 0xFFFF << Int(rcvScale)
        receiveCapacity = min(new.receiveBufferSize, limit)
        receiveBuffer.limit = receiveCapacity + (1 << Int(rcvScale))
      }
    }
    if new.keepAlive && !old.keepAlive { keepaliveProbes = 0 }
  }
}

/// Counters one connection keeps, summed into the stack's statistics.
struct TCPConnectionStatistics {
  var segmentsSent = 0
  var retransmissions = 0
  var fastRetransmits = 0
  var timeouts = 0
  var resetsSent = 0
}
