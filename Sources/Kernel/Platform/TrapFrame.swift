// The register frame that every kernel entry builds on the kernel stack
// (see arch/x86_64/entry.S for how). Field order is the memory order and
// must match the assembly exactly.

struct TrapFrame {
  var r15: UInt64, r14: UInt64, r13: UInt64, r12: UInt64
  var r11: UInt64, r10: UInt64, r9: UInt64, r8: UInt64
  var rbp: UInt64, rdi: UInt64, rsi: UInt64, rdx: UInt64
  var rcx: UInt64, rbx: UInt64, rax: UInt64
  /// The interrupt vector, or `TrapFrame.syscallVector` for SYSCALL.
  var vector: UInt64
  var errorCode: UInt64
  var rip: UInt64, cs: UInt64, rflags: UInt64, rsp: UInt64, ss: UInt64

  static let syscallVector = UInt64.max
  /// Bytes of the frame, and of the FXSAVE area just below it.
  static let size = 22 * 8
  static let fpuAreaSize = 512

  var fromUserMode: Bool { cs & 3 == 3 }

  /// A frame that enters user mode at `rip` with stack `rsp`, interrupts
  /// enabled and every other register zero, as execve leaves them.
  static func userEntry(rip: UInt64, rsp: UInt64) -> TrapFrame {
    TrapFrame(
      r15: 0, r14: 0, r13: 0, r12: 0, r11: 0, r10: 0, r9: 0, r8: 0,
      rbp: 0, rdi: 0, rsi: 0, rdx: 0, rcx: 0, rbx: 0, rax: 0,
      vector: 0, errorCode: 0,
      rip: rip, cs: UInt64(Descriptors.userCode), rflags: 0x202,
      rsp: rsp, ss: UInt64(Descriptors.userData))
  }
}

/// Writes the FXSAVE image of a clean FPU: x87 control word 0x37F (all
/// exceptions masked, double-extended precision) and MXCSR 0x1F80 (all SSE
/// exceptions masked, round to nearest), as Linux gives a new program.
func initializeFPUArea(_ area: UnsafeMutableRawPointer) {
  area.initializeMemory(as: UInt8.self, repeating: 0,
                        count: TrapFrame.fpuAreaSize)
  area.storeBytes(of: UInt16(0x37F), toByteOffset: 0, as: UInt16.self)
  area.storeBytes(of: UInt32(0x1F80), toByteOffset: 24, as: UInt32.self)
  area.storeBytes(of: UInt32(0xFFFF), toByteOffset: 28, as: UInt32.self)
}
