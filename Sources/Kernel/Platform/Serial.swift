// 16550 UART output. Villa uses three serial ports as channels to the
// host: the program's stdout, its stderr, and the kernel channel (log and
// records for `villa`, and a few request bytes from it). Output is
// polled: a byte goes out as soon as the transmit holding register is
// empty, so nothing is buffered in the kernel and a crash loses nothing
// already written.

import Arch
import HostLink

struct SerialPort {
  let base: UInt16

  static let programStdout = SerialPort(base: MachineContract.stdoutPort)
  static let programStderr = SerialPort(base: MachineContract.stderrPort)
  static let kernelChannel = SerialPort(base: MachineContract.kernelPort)

  /// 8 data bits, no parity, one stop bit, FIFOs on, interrupts off. The
  /// baud rate is irrelevant to QEMU but set to a sane 115200.
  func initialize() {
    arch_outb(base + 1, 0x00)        // no interrupts
    arch_outb(base + 3, 0x80)        // DLAB on
    arch_outb(base + 0, 0x01)        // divisor 1: 115200 baud
    arch_outb(base + 1, 0x00)
    arch_outb(base + 3, 0x03)        // 8N1, DLAB off
    arch_outb(base + 2, 0x07)        // enable and clear FIFOs
    arch_outb(base + 4, 0x03)        // DTR, RTS
  }

  /// Interrupts when a byte arrives (the kernel channel's input).
  func enableReceiveInterrupt() {
    arch_outb(base + 1, 0x01)
  }

  /// The next received byte, if one is waiting (line status bit 0).
  func read() -> UInt8? {
    arch_inb(base + 5) & 0x01 != 0 ? arch_inb(base) : nil
  }

  func write(_ byte: UInt8) {
    // Line status bit 5: transmit holding register empty.
    while arch_inb(base + 5) & 0x20 == 0 { arch_pause() }
    arch_outb(base, byte)
  }

  func write(_ bytes: UnsafeRawBufferPointer) {
    for byte in bytes { write(byte) }
  }

  func write(_ text: String) {
    var text = text
    text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
  }
}
