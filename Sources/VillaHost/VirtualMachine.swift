// Running QEMU and pumping its three serial channels.
//
// Each UART writes into a pipe of its own: QEMU is started with the write
// ends at descriptors 3 and 4 and opens them as /dev/fd/3 and 4 (its
// `file` chardev), so bytes reach villa unchanged and the streams cannot
// mix. The kernel channel is a socket pair instead (descriptor 5, QEMU's
// `socket` chardev), since villa also writes requests to the kernel.
// QEMU's own stdout and stderr share a fourth pipe, kept as its
// diagnostics. One poll(2) loop hands each chunk to its consumer as it
// arrives, until every pipe reports end of file, which happens when QEMU
// exits or is killed. villa kills QEMU itself when the timeout expires,
// when it is interrupted (see `VillaInterrupts`), or when the reader of
// its output goes away.

import Glibc
import HostLink

/// How the QEMU process ended.
public enum QEMUStatus: Equatable, Sendable {
  case exited(Int32)
  case signaled(Int32)
}

/// The end of a VM as the host saw it.
public struct VMTermination: Equatable, Sendable {
  /// Why the VM ended, from villa's side.
  public enum Cause: Equatable, Sendable {
    /// QEMU exited on its own.
    case finished
    /// villa killed QEMU when the timeout expired.
    case timedOut
    /// villa killed QEMU after receiving this signal.
    case interrupted(Int32)
    /// villa killed QEMU because its own output was closed.
    case outputClosed
  }

  public var cause: Cause
  public var qemuStatus: QEMUStatus
  /// What QEMU printed on its stdout and stderr (the first 64 KiB).
  public var diagnostics: String

  public init(cause: Cause, qemuStatus: QEMUStatus, diagnostics: String) {
    self.cause = cause
    self.qemuStatus = qemuStatus
    self.diagnostics = diagnostics
  }
}

/// Consumers of the channels' bytes. The program's streams answer false
/// when their reader has gone away.
struct ChannelConsumers {
  var programStdout: ([UInt8]) -> Bool
  var programStderr: ([UInt8]) -> Bool
  var kernel: ([UInt8]) -> Void
}

/// The paths QEMU opens for the three channels: descriptors 3, 4 and 5;
/// QEMU takes the kernel channel's socket as descriptor 5 itself.
let channelPaths = (stdout: "/dev/fd/3", stderr: "/dev/fd/4",
                    kernel: "/dev/fd/5")
let kernelChannelDescriptor: Int32 = 5

/// Starts QEMU with `commandLine` and pumps its channels until it ends.
func runQEMU(
  _ commandLine: [String], timeout: Duration?, consumers: ChannelConsumers
) throws(VillaError) -> VMTermination {
  // Slots: the program's stdout and stderr, the kernel channel, QEMU's
  // diagnostics. `open` owns the read ends; -1 marks one at end of file.
  var open: [Int32] = []
  var writeEnds: [Int32] = []
  defer { open.filter { $0 >= 0 }.forEach(POSIX.close) }
  do {
    defer { if open.count < 4 { writeEnds.forEach(POSIX.close) } }
    for slot in 0..<4 {
      let made = slot == 2
        ? try POSIX.makeSocketPair() : try POSIX.makePipe()
      open.append(made.0)
      writeEnds.append(made.1)
    }
  } catch {
    throw .hostFailure("cannot create pipes: \(error.message)")
  }

  let pid: pid_t
  do {
    // The parent's copies of the write ends must go, or the pipes would
    // never report end of file.
    defer { writeEnds.forEach(POSIX.close) }
    pid = try POSIX.spawn(
      commandLine, output: writeEnds[3], error: writeEnds[3],
      extra: [writeEnds[0], writeEnds[1], writeEnds[2]])
  } catch {
    throw .qemuUnavailable(
      qemu: commandLine[0], reason: errnoDescription(error.errno))
  }

  VillaInterrupts.vmStarted()
  defer { VillaInterrupts.vmEnded() }

  let clock = ContinuousClock()
  let deadline = timeout.map { clock.now.advanced(by: $0) }
  var cause = VMTermination.Cause.finished
  var killed = false
  var diagnostics: [UInt8] = []
  let diagnosticLimit = 65536

  func stop(_ reason: VMTermination.Cause) {
    guard !killed else { return }
    killed = true
    cause = reason
    POSIX.kill(pid, signal: SIGKILL)
  }

  let interruptFD = VillaInterrupts.readDescriptor
  while open.contains(where: { $0 >= 0 }) {
    var milliseconds: Int32 = -1
    if let deadline, !killed {
      let left = clock.now.duration(to: deadline)
      if left <= .zero {
        stop(.timedOut)
      } else {
        // Round up, so the loop never spins on a zero timeout.
        let (seconds, attoseconds) = left.components
        let total = seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1
        milliseconds = Int32(clamping: total)
      }
    }

    let active = open.indices.filter { open[$0] >= 0 }
    var watched = active.map { open[$0] }
    if let interruptFD { watched.append(interruptFD) }
    let ready: [Bool]
    do {
      ready = try POSIX.waitReadable(watched, milliseconds: milliseconds)
    } catch {
      stop(.finished)
      _ = try? POSIX.wait(for: pid)
      throw .hostFailure("cannot wait for QEMU: \(error.message)")
    }

    if let interruptFD, ready.last == true {
      for signal in VillaInterrupts.takeSignals(from: interruptFD) {
        if signal != VillaInterrupts.counterRequestSignal {
          stop(.interrupted(signal))
        } else if open[2] >= 0 {
          var request = MachineContract.counterDumpRequest
          _ = write(open[2], &request, 1)
        }
      }
    }

    for (position, slot) in active.enumerated() where ready[position] {
      let chunk = (try? POSIX.readSome(open[slot])) ?? []
      if chunk.isEmpty {
        POSIX.close(open[slot])
        open[slot] = -1
        continue
      }
      switch slot {
      case 0, 1:
        // After the reader went away, the program's output is dropped.
        guard !(killed && cause == .outputClosed) else { continue }
        let delivered = slot == 0
          ? consumers.programStdout(chunk) : consumers.programStderr(chunk)
        if !delivered { stop(.outputClosed) }
      case 2:
        consumers.kernel(chunk)
      default:
        let room = max(0, diagnosticLimit - diagnostics.count)
        diagnostics.append(contentsOf: chunk.prefix(room))
      }
    }
  }

  let status: QEMUStatus
  do {
    switch try POSIX.wait(for: pid) {
    case .exited(let code): status = .exited(code)
    case .signaled(let signal): status = .signaled(signal)
    }
  } catch {
    throw .hostFailure("cannot wait for QEMU: \(error.message)")
  }
  return VMTermination(
    cause: cause, qemuStatus: status,
    diagnostics: String(decoding: diagnostics, as: UTF8.self))
}
