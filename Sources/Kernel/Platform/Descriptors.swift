// The x86_64 descriptor tables: the GDT with kernel and user segments and
// the TSS, the IDT with one gate per vector, and the MSRs that make SYSCALL
// enter the kernel. The GDT layout is fixed by SYSRET, which derives the
// user selectors from one base: user data must directly precede user code.

import Arch

enum Descriptors {
  static let kernelCode: UInt16 = 0x08
  static let kernelData: UInt16 = 0x10
  static let userData: UInt16 = 0x20 | 3
  static let userCode: UInt16 = 0x28 | 3
  static let tssSelector: UInt16 = 0x30

  private static var gdt: UnsafeMutablePointer<UInt64>? = nil
  private static var tss: UnsafeMutableRawPointer? = nil
  private static var idt: UnsafeMutablePointer<UInt64>? = nil

  static func initialize() {
    installGDT()
    installIDT()
    enableSyscall()
  }

  /// Sets the stack the CPU switches to when an interrupt arrives in user
  /// mode (the current thread's kernel stack top).
  static func setInterruptStack(_ top: UInt64) {
    tss!.storeBytes(of: top, toByteOffset: 4, as: UInt64.self)
  }

  private static func installGDT() {
    let table = UnsafeMutablePointer<UInt64>.allocate(capacity: 9)
    table[0] = 0
    table[1] = 0x0020_9A00_0000_0000     // kernel code, 64-bit
    table[2] = 0x0000_9200_0000_0000     // kernel data
    table[3] = 0x00CF_FA00_0000_FFFF     // user code, 32-bit (unused)
    table[4] = 0x0000_F200_0000_0000     // user data
    table[5] = 0x0020_FA00_0000_0000     // user code, 64-bit

    // TSS: 104 bytes; IST1 gets a stack of its own for double faults, so
    // a kernel stack overflow still produces a report.
    let state = UnsafeMutableRawPointer.allocate(byteCount: 104,
                                                 alignment: 16)
    state.initializeMemory(as: UInt8.self, repeating: 0, count: 104)
    let faultStack = UnsafeMutableRawPointer.allocate(byteCount: 16384,
                                                      alignment: 16)
    state.storeBytes(of: UInt64(UInt(bitPattern: faultStack)) + 16384,
                     toByteOffset: 36, as: UInt64.self)
    state.storeBytes(of: UInt16(104), toByteOffset: 102, as: UInt16.self)
    let base = UInt64(UInt(bitPattern: state))
    let limit: UInt64 = 103
    table[6] = limit | (base & 0xFF_FFFF) << 16 | 0x89 << 40
      | ((base >> 24) & 0xFF) << 56
    table[7] = base >> 32
    table[8] = 0
    gdt = table
    tss = state

    arch_lgdt(UInt64(UInt(bitPattern: table)), 8 * 8 - 1)
    arch_ltr(tssSelector)
  }

  private static func installIDT() {
    let table = UnsafeMutablePointer<UInt64>.allocate(capacity: 512)
    for vector in 0..<256 {
      let handler = arch_interrupt_stub(Int32(vector))
      // Breakpoint and overflow may be raised by user code (int3, into).
      let privilege: UInt64 = (vector == 3 || vector == 4) ? 3 : 0
      let ist: UInt64 = vector == 8 ? 1 : 0
      table[vector * 2] = (handler & 0xFFFF)
        | UInt64(kernelCode) << 16
        | ist << 32
        | (0x8E | privilege << 5) << 40
        | ((handler >> 16) & 0xFFFF) << 48
      table[vector * 2 + 1] = handler >> 32
    }
    idt = table
    arch_lidt(UInt64(UInt(bitPattern: table)), 256 * 16 - 1)
  }

  private static func enableSyscall() {
    let efer: UInt32 = 0xC000_0080
    arch_wrmsr(efer, arch_rdmsr(efer) | 1)
    // STAR: kernel CS in 47:32; 63:48 is the base from which SYSRET makes
    // user SS (+8) and CS (+16).
    arch_wrmsr(0xC000_0081, UInt64(0x18) << 48 | UInt64(kernelCode) << 32)
    arch_wrmsr(0xC000_0082, arch_syscall_entry_address())
    // Cleared on entry: TF, DF, IF, IOPL, NT, AC.
    arch_wrmsr(0xC000_0084, 0x47700)
  }
}

/// The per-CPU block that %gs points at in kernel mode (see entry.S).
enum PerCPU {
  private static var block: UnsafeMutablePointer<UInt64>? = nil

  static func initialize() {
    let b = UnsafeMutablePointer<UInt64>.allocate(capacity: 8)
    b.initialize(repeating: 0, count: 8)
    block = b
    arch_wrmsr(MSR.gsBase, UInt64(UInt(bitPattern: b)))
    arch_wrmsr(MSR.kernelGSBase, 0)
  }

  /// The kernel stack that SYSCALL switches to: the current thread's.
  static func setKernelStack(_ top: UInt64) {
    block![0] = top
    Descriptors.setInterruptStack(top)
  }
}

enum MSR {
  static let apicBase: UInt32 = 0x1B
  static let fsBase: UInt32 = 0xC000_0100
  static let gsBase: UInt32 = 0xC000_0101
  static let kernelGSBase: UInt32 = 0xC000_0102
}
