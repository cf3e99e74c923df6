// What a connection does with an arriving segment: RFC 9293 3.10.7's
// "SEGMENT ARRIVES" for every state past LISTEN, in the RFC's order
// (sequence check, RST, SYN, ACK, text, FIN), with the later RFCs folded
// in where they change a step: RFC 5961's challenge ACKs for blind RSTs
// and SYNs, RFC 7323's PAWS check and timestamp echo, RFC 2018's SACK
// blocks, RFC 5681 and 6582's congestion response to ACKs.
//
// Input never sends: it sets flags (ackNow, synPending) and queues control
// segments, and TCPOutput.swift turns them into segments at the next
// dispatch. That keeps one place that builds headers.

extension TCPConnection {
  /// Handles one segment addressed to this connection.
  func handle(_ segment: TCPHeader, payload: ArraySlice<UInt8>,
              now: Instant)
  {
    switch state {
    case .closed, .listen:
      return
    case .synSent:
      handleInSynSent(segment, payload: payload, now: now)
    default:
      handleSynchronized(segment, payload: payload, now: now)
    }
  }

  /// Queues <SEQ=sequence><CTL=RST>, the reply to an unacceptable ACK.
  func queueReset(sequence: SequenceNumber) {
    let reset = TCPHeader(sourcePort: local.port,
                          destinationPort: remote.port,
                          sequenceNumber: sequence, flags: .rst)
    controlSegments.append(TCPOutgoingSegment(header: reset, payload: []))
    statistics.resetsSent += 1
  }

  /// Queues a pure ACK reflecting the state at this moment.
  func queueAck(now: Instant) {
    controlSegments.append(TCPOutgoingSegment(
      header: makeHeader(sequence: sndMax, flags: .ack, now: now),
      payload: []))
    statistics.segmentsSent += 1
  }

  // MARK: SYN-SENT (RFC 9293 3.10.7.3)

  private func handleInSynSent(_ segment: TCPHeader,
                               payload: ArraySlice<UInt8>, now: Instant)
  {
    let flags = segment.flags
    let ack = segment.acknowledgmentNumber
    var ackAcceptable = false
    if flags.contains(.ack) {
      guard iss < ack, !(sndMax < ack) else {
        if !flags.contains(.rst) { queueReset(sequence: ack) }
        return
      }
      ackAcceptable = true
    }
    if flags.contains(.rst) {
      // A reset is believed only when it acknowledges our SYN.
      if ackAcceptable { enterClosed(reason: .connectionRefused) }
      return
    }
    guard flags.contains(.syn) else { return }

    irs = segment.sequenceNumber
    rcvNxt = irs + 1
    rcvAdvertisedEdge = rcvNxt + min(receiveCapacity, 0xFFFF)
    negotiate(segment.options, offered: true)
    lastReceived = now
    // The window of a SYN is never scaled (RFC 7323 2.2).
    sndWnd = Int(segment.window)
    maxSndWnd = sndWnd
    sndWl1 = segment.sequenceNumber
    if ackAcceptable {
      sndUna = ack
      sndWl2 = ack
      sampleRoundTrip(segment, acknowledging: ack, now: now)
      retransmitDeadline = nil
      retransmitCount = 0
      rtt.resetBackoff()
      becomeEstablished()
      ackNow = true
    } else {
      // Simultaneous open: both SYNs crossed. Answer with a SYN-ACK
      // carrying our original ISS.
      sndWl2 = sndUna
      state = .synReceived
      synPending = true
    }
  }

  /// Entering ESTABLISHED: the initial congestion window (RFC 6928, or
  /// one segment if the SYN exchange needed a retransmission, RFC 5681
  /// 3.1), and the FIN a close in SYN-RECEIVED left waiting.
  func becomeEstablished() {
    state = .established
    wasConnected = true
    let mss = congestionMSS
    cwnd = synRetransmitted
      ? mss
      : min(configuration.initialWindowSegments * mss, max(2 * mss, 14600))
    if finQueued {
      finSequence = sndUna + sendBuffer.count
      state = .finWait1
    }
  }

  // MARK: Synchronized states (RFC 9293 3.10.7.4)

  private func handleSynchronized(_ segment: TCPHeader,
                                  payload: ArraySlice<UInt8>, now: Instant)
  {
    let flags = segment.flags
    var sequence = segment.sequenceNumber
    var data = payload
    var fin = flags.contains(.fin)

    // A retransmitted SYN means our SYN-ACK was lost: send it again.
    if state == .synReceived && flags.contains(.syn)
      && !flags.contains(.ack) && sequence == irs
    {
      synPending = true
      return
    }
    // TIME-WAIT: only a retransmitted FIN can arrive; acknowledge it and
    // restart the 2 MSL wait.
    if state == .timeWait && fin && !flags.contains(.rst) {
      timeWaitDeadline = now.adding(
        milliseconds: configuration.timeWaitDuration)
      ackNow = true
      return
    }
    // PAWS (RFC 7323 5.3): a timestamp older than the last one seen
    // marks an old duplicate.
    if timestampsEnabled, !flags.contains(.rst),
      let stamps = segment.options.timestamps,
      Int32(bitPattern: stamps.value &- tsRecent) < 0
    {
      ackNow = true
      return
    }

    // First: is the segment inside the receive window?
    let window = max(0, rcvAdvertisedEdge - rcvNxt)
    let length = data.count + (flags.contains(.syn) ? 1 : 0) + (fin ? 1 : 0)
    if !isAcceptable(sequence, length: length, window: window) {
      if window == 0 && sequence == rcvNxt && !flags.contains(.syn) {
        // A zero-window probe: its text cannot be taken, but its ACK and
        // window still count (RFC 9293 3.10.7.4, "special allowance").
        data = data.prefix(0)
        fin = false
        ackNow = true
      } else {
        if !flags.contains(.rst) { ackNow = true }
        return
      }
    }
    // RFC 7323 4.3: remember the timestamp of the segment that covers
    // the left edge of the window, to echo it.
    if timestampsEnabled, let stamps = segment.options.timestamps,
      !(lastAckSent < sequence),
      Int32(bitPattern: stamps.value &- tsRecent) >= 0
    {
      tsRecent = stamps.value
    }
    lastReceived = now
    keepaliveProbes = 0

    // Second: RST. Only an exact match resets; anything else in the
    // window may be blind, so it gets a challenge ACK (RFC 5961 3.2).
    if flags.contains(.rst) {
      if segment.sequenceNumber == rcvNxt {
        handleReset()
      } else {
        ackNow = true
      }
      return
    }
    // Fourth: a SYN in a synchronized state gets a challenge ACK too
    // (RFC 5961 4.2).
    if flags.contains(.syn) {
      ackNow = true
      return
    }

    // Trim what was already received and what lies beyond the window.
    if sequence < rcvNxt {
      let old = rcvNxt - sequence
      let dropped = min(old, data.count)
      data = data.dropFirst(dropped)
      sequence = sequence + dropped
      if old > dropped { fin = false }
    }
    if rcvAdvertisedEdge < sequence + data.count {
      data = data.prefix(max(0, rcvAdvertisedEdge - sequence))
      fin = false
    }

    // Fifth: the ACK field.
    guard flags.contains(.ack) else { return }
    let ack = segment.acknowledgmentNumber
    if state == .synReceived {
      guard sndUna < ack, !(sndMax < ack) else {
        queueReset(sequence: ack)
        return
      }
      // Our SYN is acknowledged; it used the first sequence number.
      sndUna = iss + 1
      sndWnd = Int(segment.window) << Int(sndScale)
      maxSndWnd = max(maxSndWnd, sndWnd)
      sndWl1 = segment.sequenceNumber
      sndWl2 = ack
      sampleRoundTrip(segment, acknowledging: ack, now: now)
      retransmitDeadline = nil
      retransmitCount = 0
      rtt.resetBackoff()
      becomeEstablished()
    }
    guard processAck(segment, ack: ack, dataLength: data.count, fin: fin,
                     now: now)
    else { return }

    // Sixth would be the urgent pointer.
    // TODO(tcp-urgent): URG is ignored and urgent bytes are read inline,
    // as with SO_OOBINLINE; MSG_OOB must be refused by the kernel.

    // Seventh: the text.
    if !data.isEmpty {
      switch state {
      case .established, .finWait1, .finWait2:
        if orphaned && state != .established {
          // Nobody will read it: Linux resets, and so do we.
          abort(error: nil, sendReset: true)
          return
        }
        receive(data, at: sequence, now: now)
      default:
        // CLOSE-WAIT and later: the peer already sent its FIN.
        break
      }
    }

    // Eighth: the FIN, once everything before it has arrived.
    if fin { remoteFinSequence = sequence + data.count }
    if let position = remoteFinSequence, !finReceived, position == rcvNxt {
      acceptFin(now: now)
    }
  }

  /// RFC 9293's four acceptability cases, with Linux's tolerance of an
  /// empty segment exactly at the right edge.
  private func isAcceptable(_ sequence: SequenceNumber, length: Int,
                            window: Int) -> Bool
  {
    let edge = rcvNxt + window
    if length == 0 {
      if window == 0 { return sequence == rcvNxt }
      return !(sequence < rcvNxt) && !(edge < sequence)
    }
    if window == 0 { return false }
    func inside(_ s: SequenceNumber) -> Bool {
      !(s < rcvNxt) && s < edge
    }
    return inside(sequence) || inside(sequence + (length - 1))
  }

  private func handleReset() {
    switch state {
    case .synReceived:
      // A passive open returns to LISTEN, which for us means the child
      // connection simply disappears; an active one was refused.
      enterClosed(reason: passive ? nil : .connectionRefused)
    case .established, .finWait1, .finWait2, .closeWait:
      enterClosed(reason: .connectionReset)
    default:
      enterClosed(reason: nil)
    }
  }

  // MARK: Acknowledgments

  /// The fifth step for synchronized states. Returns false when the
  /// segment must go no further.
  private func processAck(_ segment: TCPHeader, ack: SequenceNumber,
                          dataLength: Int, fin: Bool, now: Instant) -> Bool
  {
    // An ACK for something never sent: acknowledge and drop.
    if sndMax < ack {
      ackNow = true
      return false
    }
    let scaledWindow = Int(segment.window) << Int(sndScale)
    if sackEnabled && !segment.options.sackBlocks.isEmpty {
      scoreboard.add(segment.options.sackBlocks, una: sndUna, max: sndMax)
    }
    if sndUna < ack {
      acknowledge(upTo: ack, segment: segment, now: now)
    } else if ack == sndUna && dataLength == 0 && !fin
      && scaledWindow == sndWnd && sndUna < sndMax && sndWnd > 0
    {
      duplicateAck(now: now)
    }
    // Window update, only from segments newer than the last one used
    // (SND.WL1, SND.WL2), so a reordered old segment cannot shrink it.
    if !(ack < sndUna)
      && (sndWl1 < segment.sequenceNumber
        || (sndWl1 == segment.sequenceNumber && !(ack < sndWl2)))
    {
      sndWnd = scaledWindow
      maxSndWnd = max(maxSndWnd, sndWnd)
      sndWl1 = segment.sequenceNumber
      sndWl2 = ack
      if sndWnd > 0 {
        persistDeadline = nil
        persistBackoff = 0
      }
    }

    let finAcknowledged = isFinAcknowledged
    switch state {
    case .finWait1 where finAcknowledged:
      state = .finWait2
      if orphaned {
        finWait2Deadline = now.adding(
          milliseconds: configuration.finWait2Timeout)
      }
    case .closing where finAcknowledged:
      enterTimeWait(now: now)
    case .lastAck where finAcknowledged:
      enterClosed(reason: nil)
      return false
    default:
      break
    }
    return true
  }

  var isFinAcknowledged: Bool {
    guard let position = finSequence else { return false }
    return position < sndUna
  }

  /// A new cumulative ACK: release data, measure, grow the window.
  private func acknowledge(upTo ack: SequenceNumber, segment: TCPHeader,
                           now: Instant)
  {
    let acked = ack - sndUna
    var dataAcked = acked
    if let position = finSequence, !(ack < position + 1),
      sndUna < position + 1
    {
      dataAcked -= 1
    }
    sendBuffer.removeFirst(dataAcked)
    sndUna = ack
    if sndNxt < sndUna { sndNxt = sndUna }
    scoreboard.advance(to: sndUna)
    sampleRoundTrip(segment, acknowledging: ack, now: now)
    rtt.resetBackoff()
    retransmitCount = 0

    let mss = congestionMSS
    if inRecovery {
      if !(ack < recover) {
        // A full acknowledgment ends recovery (RFC 6582 3.2, step 3,
        // first option).
        inRecovery = false
        cwnd = min(ssthresh, max(sndMax - sndUna, mss) + mss)
      } else if !sackEnabled {
        // A partial one: the next hole is lost too. Retransmit it and
        // deflate the window by what left the network (step 4).
        retransmitFirstSegment = true
        cwnd = max(cwnd - acked + mss, mss)
      }
    } else if cwnd < ssthresh {
      cwnd += min(acked, mss)
    } else {
      cwnd += max(1, mss * mss / max(cwnd, 1))
    }
    cwnd = min(cwnd, 1 << 30)
    duplicateAcks = 0
    limitedTransmit = 0

    // RFC 6298 5.2 and 5.3: stop the timer when everything is
    // acknowledged, restart it otherwise.
    retransmitDeadline = sndUna == sndMax
      ? nil : now.adding(milliseconds: rtt.timeout)
  }

  /// RFC 5681 3.2 and RFC 6582: the third duplicate ACK (or, with SACK,
  /// enough reported data above the hole) starts fast retransmit.
  private func duplicateAck(now: Instant) {
    duplicateAcks += 1
    let mss = congestionMSS
    if inRecovery {
      if !sackEnabled { cwnd += mss }
      return
    }
    let sackSignal = sackEnabled && scoreboard.totalBytes >= 3 * mss
    guard duplicateAcks >= 3 || sackSignal else {
      limitedTransmit = duplicateAcks * mss
      return
    }
    // Do not start a second recovery for losses of the window the last
    // one (or a timeout) already dealt with: the ACK must reach recover,
    // which is one past the highest sequence sent then (RFC 6582 3.2).
    guard !(sndUna < recover) else { return }
    statistics.fastRetransmits += 1
    limitedTransmit = 0
    inRecovery = true
    recover = sndMax
    ssthresh = max((sndMax - sndUna) / 2, 2 * mss)
    cwnd = sackEnabled ? ssthresh : ssthresh + 3 * mss
    highRetransmitted = sndUna
    retransmitFirstSegment = true
    timedSegment = nil
  }

  /// Feeds the RTT estimator from the timestamp echo when there is one,
  /// else from the timed segment if this ACK covers it.
  func sampleRoundTrip(_ segment: TCPHeader, acknowledging ack: SequenceNumber,
                       now: Instant)
  {
    if timestampsEnabled, let stamps = segment.options.timestamps,
      stamps.echoReply != 0
    {
      let elapsed = timestampNow(now) &- stamps.echoReply
      if elapsed < 1 << 31 { rtt.sample(UInt64(elapsed)) }
      return
    }
    if let timed = timedSegment, !(ack < timed.end) {
      rtt.sample(now.milliseconds(since: timed.sentAt))
      timedSegment = nil
    }
  }

  // MARK: Text and FIN

  /// Takes in-window data: in order into the buffer (then whatever the
  /// reassembly queue can now supply), out of order into the queue.
  private func receive(_ data: ArraySlice<UInt8>, at sequence: SequenceNumber,
                       now: Instant)
  {
    guard sequence == rcvNxt else {
      outOfOrder.insert(data, at: sequence)
      // An immediate duplicate ACK per segment, with SACK blocks, tells
      // the sender about the hole (RFC 5681 4.2). It is formed now, not
      // at the next dispatch, so that a batch of segments still yields
      // one duplicate each for fast retransmit to count.
      queueAck(now: now)
      return
    }
    rcvNxt += store(data)
    var filledGap = false
    while let more = outOfOrder.take(at: rcvNxt) {
      filledGap = true
      let taken = store(more)
      rcvNxt += taken
      if taken < more.count { break }
    }
    if filledGap {
      ackNow = true
      return
    }
    // Delayed ACK: at least every second segment (RFC 5681 4.2), and
    // within the timer otherwise.
    unackedSegments += 1
    if unackedSegments >= 2 {
      // Formed now for the same reason: a batch of segments must not
      // collapse into one stretch ACK, which would starve slow start.
      queueAck(now: now)
    } else if delayedAckDeadline == nil {
      delayedAckDeadline = now.adding(
        milliseconds: configuration.delayedAckTimeout)
    }
  }

  /// Appends to the receive buffer, or discards after SHUT_RD; returns
  /// how many bytes count as received.
  private func store(_ data: ArraySlice<UInt8>) -> Int {
    if readShutdown { return data.count }
    return receiveBuffer.append(data)
  }

  private func acceptFin(now: Instant) {
    finReceived = true
    rcvNxt += 1
    ackNow = true
    outOfOrder.removeAll()
    switch state {
    case .synReceived, .established:
      state = .closeWait
    case .finWait1:
      if isFinAcknowledged {
        enterTimeWait(now: now)
      } else {
        state = .closing
      }
    case .finWait2:
      enterTimeWait(now: now)
    default:
      break
    }
  }

  func enterTimeWait(now: Instant) {
    state = .timeWait
    timeWaitDeadline = now.adding(
      milliseconds: configuration.timeWaitDuration)
    retransmitDeadline = nil
    persistDeadline = nil
    finWait2Deadline = nil
    sendBuffer.removeAll()
  }
}
