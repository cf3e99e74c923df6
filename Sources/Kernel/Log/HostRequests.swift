// Requests from the host on the kernel channel's input. `villa` writes a
// byte there when it wants something while the program runs; today the
// one request is `counterDumpRequest` (villa gets SIGUSR1): the counters
// are sent at once, as at exit, ending with "@counters-end request".
//
// The UART raises its interrupt line when a byte arrives; the IOAPIC
// routes it here. The dump runs in the interrupt handler: it only reads
// integers the kernel bumps and writes whole lines with interrupts off,
// so whatever the interrupted code was doing stays consistent.

import HostLink

private let log = Logger("host")

enum HostRequests {
  /// Starts listening; called when the program is about to run.
  static func start() {
    let line = MachineContract.kernelChannelIRQ
    // A virtio-mmio window wired to the same line (the seventh device)
    // keeps it; the host's requests then go unanswered.
    guard !IOAPIC.isRouted(gsi: line) else {
      log.warn("interrupt line \(line) is taken: host requests are off")
      return
    }
    IOAPIC.route(gsi: line) { received() }
    SerialPort.kernelChannel.enableReceiveInterrupt()
  }

  private static func received() {
    // Reading each byte clears the interrupt; take them all.
    while let byte = SerialPort.kernelChannel.read() {
      if byte == MachineContract.counterDumpRequest {
        Counters.report(reason: .request)
      } else {
        log.warn("unknown request byte \(byte) from the host")
      }
    }
  }
}
