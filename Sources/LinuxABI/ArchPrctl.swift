// Codes of arch_prctl(2), the x86_64 call a program uses to set its thread
// pointer: libc's startup sets FS to the thread control block with
// ARCH_SET_FS before any thread-local variable is touched. Values are from
// x86's asm/prctl.h.
//
// Constant names drop the ARCH_ prefix and use lowerCamelCase, so
// ARCH_SET_FS is `ArchPrctlCode.setFs`.

/// The `code` argument of arch_prctl(2).
public struct ArchPrctlCode: RawRepresentable, Hashable, Sendable {
  public var rawValue: Int32

  public init(rawValue: Int32) {
    self.rawValue = rawValue
  }

  /// `ARCH_SET_GS`: set the GS base to `addr`.
  public static let setGs = ArchPrctlCode(rawValue: 0x1001)
  /// `ARCH_SET_FS`: set the FS base (the thread pointer) to `addr`.
  public static let setFs = ArchPrctlCode(rawValue: 0x1002)
  /// `ARCH_GET_FS`: store the FS base at the user address `addr`.
  public static let getFs = ArchPrctlCode(rawValue: 0x1003)
  /// `ARCH_GET_GS`: store the GS base at the user address `addr`.
  public static let getGs = ArchPrctlCode(rawValue: 0x1004)
  /// `ARCH_GET_CPUID`: 1 if the CPUID instruction is allowed, else 0.
  public static let getCpuid = ArchPrctlCode(rawValue: 0x1011)
  /// `ARCH_SET_CPUID`: allow (1) or make faulting (0) the CPUID
  /// instruction.
  public static let setCpuid = ArchPrctlCode(rawValue: 0x1012)
}
