// The kernel's one network stack (Sources/NetStack) and what drives it:
// the virtio-net device, the clock, a kernel timer, and the readiness
// model.
//
//   virtio-net IRQ ─ onReceive: queue frame ─┐
//                    afterInterrupt ─────────┤
//   socket syscalls ─ withStack { ... } ─────┼─▶ service(): frames in,
//   kernel timer (nextDeadline) ─────────────┘   poll, frames out, timer,
//                                                readiness
//
// The stack is not re-entrant, and nothing here needs a lock, because of
// one rule: every use of the stack runs with interrupts off, and none of
// them waits. The device interrupt and the timer both arrive with
// interrupts off too, so neither can land while a system call is inside
// the stack; the `busy` flag only checks that rule. Each use ends with
// `service`, which feeds queued frames to the stack, polls it, hands the
// frames it returns to the device, re-arms the timer for `nextDeadline`,
// and, when the stack's readiness epoch moved, bumps every socket whose
// poll events changed (for edge-triggered epoll) and wakes the waiters.
//
// Addressing: with a device, DHCP starts at boot and the program starts
// once a lease is bound or after `dhcpWait` of VM time, whichever comes
// first (QEMU's user network answers within milliseconds); the client
// keeps trying in the background after that. Without a device the stack
// still carries loopback, so AF_INET over 127.0.0.1 always works.

import Arch
import LinuxABI
import NetStack

private let log = Logger("net")

enum NetworkService {
  /// How long boot waits for a DHCP lease before starting the program.
  static let dhcpWait: UInt64 = 1_500_000_000
  /// Frames held back while the device's transmit ring is full.
  static let transmitBacklogLimit = 1024
  /// Frames received and not yet fed to the stack; past this many, new
  /// ones are dropped (TCP resends them, UDP may lose them).
  static let receiveBacklogLimit = 1024

  private static var stackInstance: NetworkStack? = nil
  private(set) static var device: VirtioNetworkDevice? = nil
  private static var receivedFrames: [[UInt8]] = []
  private static var transmitBacklog: [[UInt8]] = []
  private static var busy = false
  private static var seenEpoch: UInt64 = 0
  private static var timerDeadline: UInt64? = nil
  private static let timer = KernelTimer(
    id: 0, action: .kernel({ NetworkService.timerFired() }))
  /// Open AF_INET sockets, for readiness changes.
  private static var sockets: [InetSocket] = []
  private(set) static var framesDropped: UInt64 = 0

  // MARK: Bringing the network up

  /// Creates the stack over `device` (or loopback only without one) and
  /// starts DHCP; returns once configured or after `dhcpWait`.
  static func start(device: VirtioNetworkDevice?, hostName: [UInt8]) {
    var mac = MACAddress(0x02, 0x56, 0x49, 0x4C, 0x4C, 0x41)
    if let device, device.mac.count == 6 {
      let m = device.mac
      mac = MACAddress(m[0], m[1], m[2], m[3], m[4], m[5])
    }
    let configuration = StackConfiguration(
      interface: InterfaceConfiguration(hardwareAddress: mac),
      randomSeed: Entropy.next())
    let stack = NetworkStack(configuration: configuration)
    stackInstance = stack
    guard let device else {
      log.info("no network device: loopback only")
      return
    }
    self.device = device
    device.onReceive = { frame in NetworkService.frameArrived(frame) }
    device.afterInterrupt = { NetworkService.interruptDone() }
    withStackIgnoringErrors { stack in
      stack.startDHCP(hostName: String(decoding: hostName, as: UTF8.self))
    }
    waitForLease()
  }

  /// Sleeps with interrupts on (the device and the timer do the work)
  /// until a lease is bound or `dhcpWait` passes.
  private static func waitForLease() {
    let start = Clock.monotonicNanoseconds()
    let deadline = start + dhcpWait
    // A timer with no action, so the CPU wakes at the deadline even if
    // the stack's own timer is later.
    let wakeUp = KernelTimer(id: 0, action: .none)
    KernelTimers.arm(wakeUp, after: dhcpWait, interval: 0)
    while configuration == nil && Clock.monotonicNanoseconds() < deadline {
      arch_wait_for_interrupt()
    }
    KernelTimers.disarm(wakeUp)
    let waited = (Clock.monotonicNanoseconds() - start) / 1_000_000
    if let ipv4 = configuration {
      let gateway = ipv4.gateway?.description ?? "none"
      log.info("DHCP: \(ipv4.address.description)/\(ipv4.prefixLength) "
        + "gateway \(gateway) in \(waited) ms")
    } else {
      log.warn("DHCP: no lease after \(waited) ms; starting the program "
        + "anyway (the client keeps trying)")
    }
  }

  /// How long the end of the program may wait for its connections'
  /// last bytes to be acknowledged.
  static let exitDrainLimit: UInt64 = 2_000_000_000

  /// The program is ending and the VM with it. On Linux the kernel would
  /// go on sending what closed sockets still hold; here the sockets are
  /// closed now, and the VM stays up until every closing connection's
  /// data and FIN are acknowledged, or `exitDrainLimit` passes. (An
  /// acknowledgement from QEMU's user network means its buffer has the
  /// bytes; it writes them to the host socket soon after, and a reader on
  /// the host that is slow then can still lose the tail.)
  static func finishBeforeExit() {
    guard stackInstance != nil else { return }
    let open = sockets
    sockets.removeAll()
    withStackIgnoringErrors { stack in
      for socket in open { try? stack.close(socket.handle) }
    }
    let start = Clock.monotonicNanoseconds()
    let wakeUp = KernelTimer(id: 0, action: .none)
    KernelTimers.arm(wakeUp, after: exitDrainLimit, interval: 0)
    var closing = closingConnections
    while closing > 0
      && Clock.monotonicNanoseconds() - start < exitDrainLimit
    {
      arch_wait_for_interrupt()
      closing = closingConnections
    }
    KernelTimers.disarm(wakeUp)
    if framesDropped > 0 {
      log.info("\(framesDropped) frames were dropped on full queues")
    }
    if let c = try? inspect({ (stack) throws(NetError) in stack.statistics }) {
      log.info("tcp: \(c.tcpSegmentsSent) segments sent, "
        + "\(c.tcpRetransmissions) retransmitted (\(c.tcpFastRetransmits) "
        + "fast, \(c.tcpTimeouts) timeouts), \(c.tcpResetsSent) resets, "
        + "\(c.tcpListenOverflows) SYNs dropped on full backlogs; arp: "
        + "\(c.arpRequestsSent) requests, \(c.arpUnresolvedDrops) drops")
    }
    if closing > 0 {
      log.warn("exit: \(closing) connections still sending after "
        + "\(exitDrainLimit / 1_000_000) ms; stopping anyway")
    }
  }

  private static var closingConnections: Int {
    (try? inspect { (stack) throws(NetError) in stack.closingConnections })
      ?? 0
  }

  /// The interface's IPv4 configuration, if it has one yet.
  static var configuration: IPv4Configuration? {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    return stackInstance?.ipv4
  }

  /// What /etc/resolv.conf should say: the lease's DNS servers.
  /// TODO(net): a lease bound after the boot wait does not rewrite
  /// /etc/resolv.conf, which then says there is no DNS server.
  static var resolverConfiguration: String {
    guard device != nil else {
      return "# no network device: only loopback is configured\n"
    }
    guard let servers = configuration?.dnsServers, !servers.isEmpty else {
      return "# DHCP gave no DNS server\n"
    }
    var text = ""
    for server in servers { text += "nameserver \(server.description)\n" }
    return text
  }

  // MARK: Using the stack

  /// Runs `body` on the stack with interrupts off, then services it.
  /// `body` must not wait: blocking calls wait between attempts (see
  /// `perform`).
  static func withStack<Result>(
    _ body: (NetworkStack) throws(NetError) -> Result
  ) throws(NetError) -> Result {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    guard let stack = stackInstance else { panic("network not started") }
    if busy { panic("network stack re-entered") }
    busy = true
    defer {
      service(stack)
      busy = false
    }
    return try body(stack)
  }

  static func withStackIgnoringErrors(_ body: (NetworkStack) -> Void) {
    do throws(NetError) {
      try withStack { (stack) throws(NetError) in body(stack) }
    } catch {
      // `body` cannot throw.
    }
  }

  /// Reads the stack's state without servicing it (poll's readiness,
  /// addresses, options): nothing changes, so nothing needs sending.
  static func inspect<Result>(
    _ body: (NetworkStack) throws(NetError) -> Result
  ) throws(NetError) -> Result {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    guard let stack = stackInstance else { panic("network not started") }
    if busy { panic("network stack re-entered") }
    return try body(stack)
  }

  /// Tries `attempt` until it stops throwing `.wouldBlock`, waiting for
  /// readiness between tries when `mayBlock`; `.wouldBlock` with
  /// `mayBlock` false, or past `deadline`, is EAGAIN. The check and the
  /// wait happen with interrupts off throughout, so a wake-up from the
  /// device cannot slip in between them. A signal ends the wait with
  /// the restart marker (`restart`), as Readiness.wait does.
  static func perform<Result>(
    mayBlock: Bool, deadline: UInt64? = nil,
    restart: Errno = Signals.restartSyscall,
    _ attempt: (NetworkStack) throws(NetError) -> Result
  ) throws(Errno) -> Result {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    while true {
      do throws(NetError) {
        return try withStack(attempt)
      } catch {
        guard error == .wouldBlock else { throw Errno(error) }
      }
      guard mayBlock else { throw .EAGAIN }
      if let deadline, Clock.monotonicNanoseconds() >= deadline {
        throw .EAGAIN
      }
      try Readiness.wait(until: deadline, restart: restart)
    }
  }

  // MARK: Sockets

  static func register(_ socket: InetSocket) {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    sockets.append(socket)
  }

  static func unregister(_ socket: InetSocket) {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    sockets.removeAll { $0 === socket }
  }

  // MARK: The device and the timer

  /// Interrupt context: keep the frame for the next service.
  private static func frameArrived(_ frame: [UInt8]) {
    guard receivedFrames.count < receiveBacklogLimit else {
      framesDropped += 1
      return
    }
    receivedFrames.append(frame)
  }

  /// Interrupt context, interrupts off: nobody can be inside the stack.
  private static func interruptDone() {
    guard let stack = stackInstance, !busy else { return }
    busy = true
    service(stack)
    busy = false
  }

  /// The stack's timer came due (interrupt or scheduler context).
  private static func timerFired() {
    timerDeadline = nil
    guard let stack = stackInstance, !busy else { return }
    busy = true
    service(stack)
    busy = false
  }

  private static var now: Instant {
    Instant(milliseconds: Clock.monotonicNanoseconds() / 1_000_000)
  }

  /// Frames in, poll, frames out, timer, readiness. Interrupts are off.
  private static func service(_ stack: NetworkStack) {
    let instant = now
    if !receivedFrames.isEmpty {
      let frames = receivedFrames
      receivedFrames.removeAll()
      for frame in frames { stack.receive(frame: frame, now: instant) }
    }
    let outgoing = stack.poll(now: instant)
    transmit(outgoing)
    armTimer(stack)
    if stack.readinessEpoch != seenEpoch {
      seenEpoch = stack.readinessEpoch
      readinessChanged(stack)
    }
  }

  /// Sends the backlog first, then `frames`, keeping what the ring
  /// cannot take now for the next service (a transmit interrupt comes
  /// when the device frees room).
  private static func transmit(_ frames: [[UInt8]]) {
    guard let device else { return }
    var index = 0
    while index < transmitBacklog.count, device.send(transmitBacklog[index]) {
      index += 1
    }
    if index > 0 { transmitBacklog.removeFirst(index) }
    for frame in frames {
      if transmitBacklog.isEmpty && device.send(frame) { continue }
      if transmitBacklog.count < transmitBacklogLimit {
        transmitBacklog.append(frame)
      } else {
        // TCP retransmits; UDP is allowed to lose it.
        framesDropped += 1
      }
    }
  }

  private static func armTimer(_ stack: NetworkStack) {
    guard let deadline = stack.nextDeadline else {
      if timerDeadline != nil {
        KernelTimers.disarm(timer)
        timerDeadline = nil
      }
      return
    }
    let clock = Clock.monotonicNanoseconds()
    var target = deadline.milliseconds &* 1_000_000
    // Work due now (more loopback rounds, a backlog) runs on the next
    // timer tick rather than in a loop here.
    if target <= clock { target = clock + 100_000 }
    if let armed = timerDeadline, armed <= target, armed > clock { return }
    KernelTimers.arm(timer, after: target - clock, interval: 0)
    timerDeadline = target
  }

  /// Bumps the sockets whose poll events changed (edge-triggered epoll
  /// compares generations) and wakes every waiter once.
  private static func readinessChanged(_ stack: NetworkStack) {
    for socket in sockets {
      let events = socket.currentEvents(stack)
      if events != socket.reportedEvents {
        socket.reportedEvents = events
        socket.bumpGeneration()
      }
    }
    Readiness.changed()
  }
}

extension Errno {
  /// The one place a network error becomes an errno; see NetError's
  /// cases and socket(7), tcp(7), udp(7).
  init(_ error: NetError) {
    switch error {
    case .wouldBlock: self = .EAGAIN
    case .connectionRefused: self = .ECONNREFUSED
    case .connectionReset: self = .ECONNRESET
    case .connectionAborted: self = .ECONNABORTED
    case .timedOut: self = .ETIMEDOUT
    case .addressInUse: self = .EADDRINUSE
    case .addressNotAvailable: self = .EADDRNOTAVAIL
    case .notConnected: self = .ENOTCONN
    case .alreadyConnected: self = .EISCONN
    case .alreadyInProgress: self = .EALREADY
    case .invalidArgument: self = .EINVAL
    case .badHandle: self = .EBADF
    case .notSupported: self = .EOPNOTSUPP
    case .messageTooLong: self = .EMSGSIZE
    case .hostUnreachable: self = .EHOSTUNREACH
    case .networkUnreachable: self = .ENETUNREACH
    case .brokenPipe: self = .EPIPE
    case .noBufferSpace: self = .ENOBUFS
    case .permissionDenied: self = .EACCES
    case .destinationAddressRequired: self = .EDESTADDRREQ
    }
  }
}
