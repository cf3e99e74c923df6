// Stack-wide TCP parameters. Defaults follow the RFCs where they give a
// number and Linux where they leave a choice; tests shorten the long ones
// (TIME-WAIT, keepalive) rather than wait for them on a virtual clock.

public struct TCPConfiguration: Equatable, Sendable {
  /// RFC 6298 2.1, 2.4 and 2.5: initial, lower and upper bounds of the
  /// retransmission timeout, in milliseconds. The RFC's floor is 1 s;
  /// Linux uses 200 ms, which suits a loss-free virtual link better.
  public var initialRTO: UInt64 = 1000
  public var minimumRTO: UInt64 = 1000
  public var maximumRTO: UInt64 = 60_000
  /// How many times a SYN, SYN-ACK or data segment is retransmitted
  /// before the connection fails (Linux: tcp_syn_retries,
  /// tcp_synack_retries, tcp_retries2).
  public var synRetries = 6
  public var synAckRetries = 5
  public var dataRetries = 15
  /// TIME-WAIT lasts 2 MSL (RFC 9293 3.4.2); Linux fixes it at 60 s.
  public var timeWaitDuration: UInt64 = 60_000
  /// How long a closed socket may sit in FIN-WAIT-2 (tcp_fin_timeout).
  public var finWait2Timeout: UInt64 = 60_000
  /// The delayed-ACK timer (RFC 9293 3.8.6.3 asks for less than 0.5 s;
  /// Linux's minimum is 40 ms).
  public var delayedAckTimeout: UInt64 = 40
  /// RFC 6928: ten segments.
  public var initialWindowSegments = 10
  /// Options offered in our SYNs.
  public var windowScaling = true
  public var timestamps = true
  public var selectiveAcknowledgments = true

  public init() {}
}
