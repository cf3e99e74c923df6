// What a connection sends, and when: its timers (retransmission per RFC
// 6298, persist, keepalive, delayed ACK, TIME-WAIT, FIN-WAIT-2), the SYN
// and SYN-ACK, data under the send and congestion windows with Nagle's
// rule and sender-side silly-window avoidance (RFC 9293 3.7.4, 3.8.6.2.1),
// SACK-based loss recovery (a simplified RFC 6675), and pure ACKs.
//
// The stack calls dispatch(now:into:) at every poll; it returns segments
// as headers and payloads, in the order they should leave.
// TODO(tcp-cubic): congestion control is NewReno only; CUBIC (RFC 9438)
// and ECN (RFC 3168) are not implemented.

extension TCPConnection {
  /// The sender's maximum segment size for congestion arithmetic: the
  /// peer's MSS less the timestamp option every segment carries.
  var congestionMSS: Int {
    max(min(sendMSS, ourMSS) - (timestampsEnabled ? 12 : 0), 1)
  }

  /// The most payload one segment may carry with the options it will
  /// have, including SACK blocks when we hold out-of-order data (RFC
  /// 9293 3.7.1: the effective MSS subtracts the header's options).
  var segmentLimit: Int {
    var options = timestampsEnabled ? 12 : 0
    if sackEnabled && !outOfOrder.isEmpty {
      let blocks = min(outOfOrder.sackBlocks(limit: 4).count,
                       timestampsEnabled ? 3 : 4)
      options += 4 + 8 * blocks
    }
    return max(min(sendMSS + 20, routeMTU - 20) - 20 - options, 1)
  }

  /// One past the last sequence number the user gave us (FIN included).
  var sendEnd: SequenceNumber {
    sndUna + sendBuffer.count + (finSequence != nil && !isFinAcknowledged
      ? 1 : 0)
  }

  /// Bytes believed to be in the network (RFC 6675 "pipe" during SACK
  /// recovery; otherwise sent, unacknowledged and not SACKed).
  var pipe: Int {
    if inRecovery && sackEnabled {
      let outstanding = sndMax - sndUna
      var lost = 0
      if let highest = scoreboard.highestSacked {
        let from = SequenceNumber.max(highRetransmitted, sndUna)
        if from < highest {
          lost = (highest - from) - scoreboard.bytes(from: from, to: highest)
        }
      }
      return max(0, outstanding - scoreboard.totalBytes - lost)
    }
    if inRecovery { return sndMax - sndUna }
    return max(0, (sndNxt - sndUna) - scoreboard.bytes(from: sndUna,
                                                       to: sndNxt))
  }

  /// The earliest instant at which a timer of this connection fires.
  var nextDeadline: Instant? {
    var deadline = earliest(retransmitDeadline, delayedAckDeadline)
    deadline = earliest(deadline, persistDeadline)
    deadline = earliest(deadline, timeWaitDeadline)
    deadline = earliest(deadline, finWait2Deadline)
    return earliest(deadline, keepaliveDeadline)
  }

  /// Keepalive runs on an idle established connection (RFC 9293
  /// 3.8.4): no data outstanding, nothing heard for keepIdle seconds.
  var keepaliveDeadline: Instant? {
    guard options.keepAlive, state == .established || state == .closeWait,
      sndUna == sndMax, sendBuffer.isEmpty
    else { return nil }
    if keepaliveProbes == 0 {
      return lastReceived.adding(
        milliseconds: UInt64(options.keepIdle) * 1000)
    }
    return lastKeepaliveProbe.adding(
      milliseconds: UInt64(options.keepInterval) * 1000)
  }

  /// Emits everything due at `now`.
  func dispatch(now: Instant, into output: inout [TCPOutgoingSegment]) {
    output.append(contentsOf: controlSegments)
    controlSegments.removeAll()
    guard state != .closed else { return }
    runTimers(now: now, into: &output)
    guard state != .closed else {
      output.append(contentsOf: controlSegments)
      controlSegments.removeAll()
      return
    }
    switch state {
    case .synSent, .synReceived:
      if synPending { sendSyn(now: now, into: &output) }
    case .established, .closeWait, .finWait1, .closing, .lastAck:
      sendData(now: now, into: &output)
    default:
      break
    }
    if state != .synSent && ackNow {
      output.append(TCPOutgoingSegment(
        header: makeHeader(sequence: sndMax, flags: .ack, now: now),
        payload: []))
      statistics.segmentsSent += 1
    }
  }

  // MARK: Timers

  private func runTimers(now: Instant,
                         into output: inout [TCPOutgoingSegment])
  {
    if let deadline = timeWaitDeadline, !(now < deadline) {
      enterClosed(reason: nil)
      return
    }
    if let deadline = finWait2Deadline, !(now < deadline),
      state == .finWait2
    {
      enterClosed(reason: nil)
      return
    }
    if let deadline = retransmitDeadline, !(now < deadline) {
      retransmissionTimeout(now: now)
      if state == .closed { return }
    }
    if let deadline = persistDeadline, !(now < deadline) {
      persistTimeout(now: now, into: &output)
    }
    if let deadline = keepaliveDeadline, !(now < deadline) {
      keepaliveTimeout(now: now, into: &output)
      if state == .closed { return }
    }
    if let deadline = delayedAckDeadline, !(now < deadline) {
      ackNow = true
    }
  }

  /// RFC 6298 5.4 to 5.7 and RFC 5681 3.1: retransmit from the first
  /// unacknowledged byte with a one-segment window, double the timer.
  private func retransmissionTimeout(now: Instant) {
    retransmitDeadline = nil
    retransmitCount += 1
    statistics.timeouts += 1
    let limit: Int
    switch state {
    case .synSent: limit = configuration.synRetries
    case .synReceived: limit = configuration.synAckRetries
    default: limit = configuration.dataRetries
    }
    if retransmitCount > limit {
      enterClosed(reason: .timedOut)
      return
    }
    rtt.backOff()
    timedSegment = nil
    switch state {
    case .synSent, .synReceived:
      synPending = true
      synRetransmitted = true
    default:
      let mss = congestionMSS
      if retransmitCount == 1 {
        ssthresh = max((sndMax - sndUna) / 2, 2 * mss)
      }
      cwnd = mss
      limitedTransmit = 0
      inRecovery = false
      recover = sndMax
      duplicateAcks = 0
      retransmitFirstSegment = false
      // A second timeout without progress suggests the peer dropped data
      // it had SACKed (reneging, RFC 2018 8): stop trusting the record.
      if retransmitCount >= 2 { scoreboard.removeAll() }
      sndNxt = sndUna
    }
  }

  /// The persist timer: when the peer's window stays shut (or too small
  /// to use without silly-window syndrome), probe it with one octet of
  /// data beyond the window (RFC 9293 3.8.6.1).
  private func persistTimeout(now: Instant,
                              into output: inout [TCPOutgoingSegment])
  {
    persistDeadline = nil
    guard sndNxt == sndUna, sndUna < sendEnd else { return }
    switch state {
    case .established, .closeWait, .finWait1, .closing, .lastAck: break
    default: return
    }
    persistBackoff += 1
    let usable = (sndUna + sndWnd) - sndNxt
    if usable > 0 {
      // Window open but small: the override timeout of 3.8.6.2.1.
      let length = min(usable, sendEnd - sndNxt, segmentLimit)
      emit(sequence: sndNxt, length: length, kind: .normal, now: now,
           into: &output)
    } else {
      emit(sequence: sndUna, length: 1, kind: .probe, now: now,
           into: &output)
    }
    armPersist(now: now)
  }

  private func armPersist(now: Instant) {
    guard persistDeadline == nil, retransmitDeadline == nil,
      sndNxt == sndUna
    else { return }
    let interval = min(rtt.timeout << UInt64(min(persistBackoff, 16)),
                       configuration.maximumRTO)
    persistDeadline = now.adding(milliseconds: interval)
  }

  private func keepaliveTimeout(now: Instant,
                                into output: inout [TCPOutgoingSegment])
  {
    if keepaliveProbes >= Int(options.keepCount) {
      abort(error: .timedOut, sendReset: true)
      return
    }
    keepaliveProbes += 1
    lastKeepaliveProbe = now
    // <SEQ=SND.UNA-1>: outside the peer's window, so it must answer
    // with an ACK (RFC 9293 3.8.4).
    output.append(TCPOutgoingSegment(
      header: makeHeader(sequence: sndUna - 1, flags: .ack, now: now),
      payload: []))
    statistics.segmentsSent += 1
  }

  // MARK: SYN and SYN-ACK

  private func sendSyn(now: Instant,
                       into output: inout [TCPOutgoingSegment])
  {
    synPending = false
    var synOptions = TCPOptions(
      maximumSegmentSize: UInt16(min(ourMSS, 0xFFFF)))
    let active = state == .synSent
    if active ? configuration.windowScaling : windowScaleNegotiated {
      synOptions.windowScale = rcvScale
    }
    if active ? configuration.selectiveAcknowledgments : sackEnabled {
      synOptions.sackPermitted = true
    }
    if active ? configuration.timestamps : timestampsEnabled {
      synOptions.timestamps = TCPTimestamps(
        value: timestampNow(now), echoReply: active ? 0 : tsRecent)
    }
    let window = min(max(receiveCapacity - receiveBuffer.count, 0), 0xFFFF)
    var flags: TCPFlags = .syn
    if !active {
      flags.insert(.ack)
      rcvAdvertisedEdge = rcvNxt + window
      lastAckSent = rcvNxt
      ackNow = false
    }
    let header = TCPHeader(
      sourcePort: local.port, destinationPort: remote.port,
      sequenceNumber: iss,
      acknowledgmentNumber: active ? SequenceNumber(rawValue: 0) : rcvNxt,
      flags: flags, window: UInt16(window), options: synOptions)
    output.append(TCPOutgoingSegment(header: header, payload: []))
    statistics.segmentsSent += 1
    if synRetransmitted { statistics.retransmissions += 1 }
    if retransmitDeadline == nil {
      retransmitDeadline = now.adding(milliseconds: rtt.timeout)
    }
    if !synRetransmitted && timedSegment == nil {
      timedSegment = (iss + 1, now)
    }
  }

  // MARK: Data

  enum SegmentKind {
    /// Sent at sndNxt, advancing it (new data, or after a timeout).
    case normal
    /// A loss-recovery retransmission that leaves sndNxt alone.
    case recovery
    /// A zero-window probe: one octet past the window.
    case probe
  }

  private func sendData(now: Instant,
                        into output: inout [TCPOutgoingSegment])
  {
    if retransmitFirstSegment {
      retransmitFirstSegment = false
      var length = min(segmentLimit, sendEnd - sndUna)
      if let edge = scoreboard.nextLeftEdge(after: sndUna) {
        length = min(length, edge - sndUna)
      }
      if length > 0 {
        emit(sequence: sndUna, length: length, kind: .recovery, now: now,
             into: &output)
      }
    }
    // Bounded so that a logic error cannot spin; a window's worth of
    // segments fits comfortably.
    var budget = 8192
    while budget > 0, let next = nextSegment(now: now) {
      emit(sequence: next.sequence, length: next.length, kind: next.kind,
           now: now, into: &output)
      budget -= 1
    }
  }

  /// The next segment the windows, Nagle and recovery allow, if any.
  private func nextSegment(now: Instant)
    -> (sequence: SequenceNumber, length: Int, kind: SegmentKind)?
  {
    let limit = segmentLimit
    if inRecovery && sackEnabled {
      guard pipe < cwnd else { return nil }
      // RFC 6675 NextSeg, rule 1: the first unSACKed byte above what
      // this recovery already retransmitted, below the highest SACK.
      if let highest = scoreboard.highestSacked {
        var start = SequenceNumber.max(highRetransmitted, sndUna)
        while start < highest,
          let edge = scoreboard.rightEdge(containing: start)
        {
          start = edge
        }
        if start < highest {
          var end = highest
          if let edge = scoreboard.nextLeftEdge(after: start) {
            end = SequenceNumber.min(end, edge)
          }
          return (start, min(end - start, limit), .recovery)
        }
      }
    }

    if sndNxt < sndUna { sndNxt = sndUna }
    while sndNxt < sndMax, let edge = scoreboard.rightEdge(containing: sndNxt)
    {
      sndNxt = edge
    }
    let remaining = sendEnd - sndNxt
    guard remaining > 0 else { return nil }
    let retransmitting = sndNxt < sndMax
    var length = min(remaining, limit)
    if retransmitting, let edge = scoreboard.nextLeftEdge(after: sndNxt) {
      length = min(length, edge - sndNxt)
    }
    let usable = (sndUna + sndWnd) - sndNxt
    if usable <= 0 {
      armPersist(now: now)
      return nil
    }
    length = min(length, usable, cwnd + limitedTransmit - pipe)
    guard length > 0 else { return nil }

    if !retransmitting && length < limit {
      let everything = length == remaining
      let idle = sndMax == sndUna
      let carriesFin = everything && finSequence != nil
      // Nagle (RFC 896, RFC 9293 3.7.4): a small segment goes only when
      // nothing is unacknowledged or TCP_NODELAY is set, and never when
      // it is small only because the window is (RFC 9293 3.8.6.2.1).
      let allowed = carriesFin
        || (everything && (idle || options.noDelay))
        || (idle && length >= maxSndWnd / 2)
      if !allowed {
        if idle { armPersist(now: now) }
        return nil
      }
    }
    return (sndNxt, length, .normal)
  }

  /// Builds one data (or FIN) segment covering `length` sequence numbers
  /// from `sequence`, and does the sender's bookkeeping for it.
  private func emit(sequence: SequenceNumber, length: Int, kind: SegmentKind,
                    now: Instant, into output: inout [TCPOutgoingSegment])
  {
    let end = sequence + length
    var carriesFin = false
    if let position = finSequence, !(position < sequence), position < end {
      carriesFin = true
    }
    let dataLength = carriesFin ? length - 1 : length
    let payload = sendBuffer.bytes(from: sequence - sndUna,
                                   length: dataLength)
    var flags: TCPFlags = .ack
    if carriesFin { flags.insert(.fin) }
    if dataLength > 0 && sequence + dataLength == sndUna + sendBuffer.count {
      flags.insert(.psh)
    }
    output.append(TCPOutgoingSegment(
      header: makeHeader(sequence: sequence, flags: flags, now: now),
      payload: payload))
    statistics.segmentsSent += 1

    let resent = sequence < sndMax
    if resent {
      statistics.retransmissions += 1
      // Karn: a retransmitted segment cannot be timed.
      if let timed = timedSegment, sequence < timed.end { timedSegment = nil }
    }
    switch kind {
    case .normal:
      sndNxt = end
      if sndMax < end { sndMax = end }
    case .recovery:
      highRetransmitted = SequenceNumber.max(highRetransmitted, end)
    case .probe:
      if sndMax < end { sndMax = end }
    }
    if kind != .probe {
      if retransmitDeadline == nil {
        retransmitDeadline = now.adding(milliseconds: rtt.timeout)
      }
      persistDeadline = nil
      if !resent && !timestampsEnabled && timedSegment == nil {
        timedSegment = (end, now)
      }
    }
  }

  // MARK: Headers

  /// A header with the ACK, window and options every segment after the
  /// SYN carries. Sending it settles any pending acknowledgment.
  func makeHeader(sequence: SequenceNumber, flags: TCPFlags, now: Instant)
    -> TCPHeader
  {
    var segmentOptions = TCPOptions()
    if timestampsEnabled {
      segmentOptions.timestamps = TCPTimestamps(value: timestampNow(now),
                                                echoReply: tsRecent)
    }
    if sackEnabled && !outOfOrder.isEmpty {
      segmentOptions.sackBlocks = outOfOrder.sackBlocks(
        limit: timestampsEnabled ? 3 : 4)
    }
    let window = advertiseWindow()
    ackNow = false
    delayedAckDeadline = nil
    unackedSegments = 0
    lastAckSent = rcvNxt
    return TCPHeader(sourcePort: local.port, destinationPort: remote.port,
                     sequenceNumber: sequence,
                     acknowledgmentNumber: rcvNxt, flags: flags,
                     window: window, options: segmentOptions)
  }

  /// The window field to send. The right edge never moves left, and it
  /// moves right only by at least min(half the buffer, one MSS), the
  /// receiver's silly-window avoidance (RFC 9293 3.8.6.2.2).
  private func advertiseWindow() -> UInt16 {
    let free = max(0, receiveCapacity - receiveBuffer.count)
    let current = max(0, rcvAdvertisedEdge - rcvNxt)
    var window = current
    if free - current >= min(receiveCapacity / 2, ourMSS) {
      window = free
    }
    let shift = Int(rcvScale)
    var field = window >> shift
    if field << shift < current { field += 1 }
    field = min(field, 0xFFFF)
    let edge = rcvNxt + (field << shift)
    if rcvAdvertisedEdge < edge { rcvAdvertisedEdge = edge }
    return UInt16(field)
  }
}
