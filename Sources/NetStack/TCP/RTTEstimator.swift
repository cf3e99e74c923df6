// The retransmission timer's value (RFC 6298). Round-trip samples come
// from the timestamp echo (RFC 7323 4) or from one timed segment at a time
// under Karn's rule; the estimator smooths them into SRTT and RTTVAR and
// derives RTO = SRTT + 4 RTTVAR, clamped, doubled by each backoff.

struct RTTEstimator {
  private(set) var smoothed: UInt64?
  private(set) var variance: UInt64 = 0
  private var base: UInt64
  /// How many times the timer has been doubled since the last new ACK.
  private(set) var backoff = 0
  let minimum: UInt64
  let maximum: UInt64

  init(configuration: TCPConfiguration) {
    base = configuration.initialRTO
    minimum = configuration.minimumRTO
    maximum = configuration.maximumRTO
  }

  /// The current timeout in milliseconds.
  var timeout: UInt64 {
    let clamped = min(max(base, minimum), maximum)
    let shift = min(backoff, 16)
    return min(clamped << UInt64(shift), maximum)
  }

  /// RFC 6298 2.2 and 2.3, with a 1 ms clock granularity.
  mutating func sample(_ rtt: UInt64) {
    if let srtt = smoothed {
      let delta = srtt > rtt ? srtt - rtt : rtt - srtt
      variance = (3 * variance + delta) / 4
      smoothed = (7 * srtt + rtt) / 8
    } else {
      smoothed = rtt
      variance = rtt / 2
    }
    base = (smoothed ?? rtt) + max(1, 4 * variance)
  }

  /// RFC 6298 5.5: double the timer after it expires.
  mutating func backOff() {
    backoff += 1
  }

  /// RFC 6298 5.7: a new acknowledgment ends the backoff.
  mutating func resetBackoff() {
    backoff = 0
  }
}
