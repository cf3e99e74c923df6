// Kernel panics. A panic is a kernel bug or an impossible machine state:
// the report goes to the kernel channel (message, registers when a trap
// caused it, and the kernel's return addresses as @frame records, which
// `villa` symbolizes from the kernel ELF), then the VM exits with the
// panic status. Program faults are not panics; they become signals.

import Arch
import HostLink

private var panicking = false

func panic(_ message: String) -> Never {
  panicReport(message, frame: nil)
}

func panicReport(_ message: String,
                 frame: UnsafeMutablePointer<TrapFrame>?) -> Never
{
  arch_disable_interrupts()
  if panicking {
    // A panic while reporting one: say the least possible and stop.
    SerialPort.kernelChannel.write("@panic recursive panic\n")
    MachineExit.kernelPanicked()
  }
  panicking = true
  KernelChannel.writeLine("PANIC: \(message)")
  var rbp = arch_read_rbp()
  if let frame {
    let f = frame.pointee
    KernelChannel.writeLine(
      "  rip \(hex(f.rip)) cs \(hex(f.cs)) rflags \(hex(f.rflags))")
    KernelChannel.writeLine(
      "  rsp \(hex(f.rsp)) ss \(hex(f.ss)) error \(hex(f.errorCode))")
    KernelChannel.writeLine(
      "  rax \(hex(f.rax)) rbx \(hex(f.rbx)) rcx \(hex(f.rcx))")
    KernelChannel.writeLine(
      "  rdx \(hex(f.rdx)) rsi \(hex(f.rsi)) rdi \(hex(f.rdi))")
    KernelChannel.writeLine(
      "  rbp \(hex(f.rbp)) r8 \(hex(f.r8)) r9 \(hex(f.r9))")
    KernelChannel.writeLine(
      "  r10 \(hex(f.r10)) r11 \(hex(f.r11)) r12 \(hex(f.r12))")
    KernelChannel.writeLine(
      "  r13 \(hex(f.r13)) r14 \(hex(f.r14)) r15 \(hex(f.r15))")
    KernelChannel.writeLine("  cr2 \(hex(arch_read_cr2()))")
    KernelChannel.writeLine(KernelChannelRecord.frame(f.rip).line)
    rbp = f.rbp
  }
  // Walk saved frame pointers while they stay inside the kernel image's
  // address range and look like a stack (aligned, increasing).
  var depth = 0
  while depth < 32 && rbp % 8 == 0 && DirectMap.contains(virtual: rbp) &&
    rbp >= arch_kernel_start()
  {
    let pointer = UnsafePointer<UInt64>(bitPattern: UInt(rbp))!
    let returnAddress = pointer[1]
    guard returnAddress >= arch_text_start() &&
      returnAddress < arch_text_end() else { break }
    KernelChannel.writeLine(KernelChannelRecord.frame(returnAddress).line)
    let next = pointer[0]
    guard next > rbp else { break }
    rbp = next
    depth += 1
  }
  KernelChannel.writeLine(KernelChannelRecord.panic(message).line)
  MachineExit.kernelPanicked()
}

func hex(_ value: UInt64) -> String {
  let digits = String(value, radix: 16)
  return "0x" + String(repeating: "0", count: max(0, 16 - digits.count))
    + digits
}
