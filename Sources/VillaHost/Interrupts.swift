// Stopping the VM when villa is interrupted.
//
// Without help, Ctrl-C or a SIGTERM would kill villa and leave QEMU
// running, or end QEMU in a way villa reports as a VM failure. After
// `VillaInterrupts.install()`, SIGINT, SIGTERM and SIGHUP that arrive
// while a VM runs are written into a pipe (the self-pipe trick: a signal
// handler may only do async-signal-safe things such as write(2)); the
// pump sees the pipe readable, kills QEMU, and the run ends as
// `.interrupted(signal)`, which villa turns into status 128 + signal.
// While no VM runs, the handler restores the default action and raises
// the signal again, so villa dies of it exactly as it would have.
//
// SIGUSR1 travels the same pipe but stops nothing: the pump asks the
// kernel for its counters, which villa prints at once (`kill -USR1` on a
// long-running `villa run`). Without a VM it is ignored.
//
// Only the CLI installs this: a library should not take over a host
// process's signals unasked.

import Glibc

// Plain globals, because a C signal handler can reach nothing else. They
// are written before the handler is installed or are single machine words.
nonisolated(unsafe) private var interruptReadFD: Int32 = -1
nonisolated(unsafe) private var interruptWriteFD: Int32 = -1
nonisolated(unsafe) private var vmRunning: Int32 = 0

private let interruptHandler: @convention(c) (Int32) -> Void = { signal in
  if signal == SIGUSR1 && vmRunning == 0 { return }
  guard vmRunning != 0 else {
    _ = Glibc.signal(signal, SIG_DFL)
    _ = raise(signal)
    return
  }
  var byte = UInt8(truncatingIfNeeded: signal)
  _ = write(interruptWriteFD, &byte, 1)
}

public enum VillaInterrupts {
  /// The signals that stop a running VM.
  public static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
  /// The signal that asks for the kernel's counters while a VM runs.
  public static let counterRequestSignal = SIGUSR1

  /// Routes `signals` to the running VM from now on. Calling it again
  /// does nothing.
  public static func install() throws(VillaError) {
    guard interruptWriteFD < 0 else { return }
    let ends: (read: Int32, write: Int32)
    do {
      ends = try POSIX.makePipe()
    } catch {
      throw .hostFailure("cannot create a pipe: \(error.message)")
    }
    // Neither end may block: the handler must never wait, and the pump
    // drains the pipe until it is empty.
    for fd in [ends.read, ends.write] {
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }
    interruptReadFD = ends.read
    interruptWriteFD = ends.write
    for signal in signals + [counterRequestSignal] {
      _ = Glibc.signal(signal, interruptHandler)
    }
  }

  /// The pipe the pump watches, once installed.
  static var readDescriptor: Int32? {
    interruptReadFD >= 0 ? interruptReadFD : nil
  }

  /// Drains the pipe; the signals received, in order.
  static func takeSignals(from fd: Int32) -> [Int32] {
    var signals: [Int32] = []
    var byte: UInt8 = 0
    while read(fd, &byte, 1) == 1 { signals.append(Int32(byte)) }
    return signals
  }

  static func vmStarted() { vmRunning = 1 }
  static func vmEnded() { vmRunning = 0 }
}
