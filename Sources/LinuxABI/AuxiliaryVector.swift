// Auxiliary vector entry types: the AT_* keys of the (type, value) pairs
// the kernel places on a new program's stack after envp, ending with
// AT_NULL. libc reads them with getauxval(3); the program needs AT_PHDR,
// AT_PHNUM, AT_PAGESZ, AT_RANDOM and friends before main() runs.
//
// Values come from linux/auxvec.h plus x86's asm/auxvec.h (AT_SYSINFO_EHDR).
// Types other architectures define in the gaps (18...22, 34...50) are left
// out: an x86_64 program never sees them. Constant names drop the AT_
// prefix and use lowerCamelCase, so AT_SYSINFO_EHDR is `.sysinfoEhdr`.

/// The type word of one auxiliary vector entry (`a_type` of `Elf64_auxv_t`,
/// 64 bits wide). See getauxval(3).
public struct AuxvType: RawRepresentable, Hashable, Sendable {
  public var rawValue: UInt64

  public init(rawValue: UInt64) {
    self.rawValue = rawValue
  }

  /// `AT_NULL`: ends the vector.
  public static let null = AuxvType(rawValue: 0)
  /// `AT_IGNORE`: an entry to skip.
  public static let ignore = AuxvType(rawValue: 1)
  /// `AT_EXECFD`: a file descriptor holding the program (binfmt_misc).
  public static let execfd = AuxvType(rawValue: 2)
  /// `AT_PHDR`: address of the program headers in memory.
  public static let phdr = AuxvType(rawValue: 3)
  /// `AT_PHENT`: size of one program header (56 for ELF64).
  public static let phent = AuxvType(rawValue: 4)
  /// `AT_PHNUM`: number of program headers.
  public static let phnum = AuxvType(rawValue: 5)
  /// `AT_PAGESZ`: the page size.
  public static let pagesz = AuxvType(rawValue: 6)
  /// `AT_BASE`: load address of the interpreter, 0 for a static program.
  public static let base = AuxvType(rawValue: 7)
  /// `AT_FLAGS`: flags, always 0 on Linux.
  public static let flags = AuxvType(rawValue: 8)
  /// `AT_ENTRY`: the program's entry point.
  public static let entry = AuxvType(rawValue: 9)
  /// `AT_NOTELF`: nonzero if the program is not ELF.
  public static let notelf = AuxvType(rawValue: 10)
  /// `AT_UID`: real user ID.
  public static let uid = AuxvType(rawValue: 11)
  /// `AT_EUID`: effective user ID.
  public static let euid = AuxvType(rawValue: 12)
  /// `AT_GID`: real group ID.
  public static let gid = AuxvType(rawValue: 13)
  /// `AT_EGID`: effective group ID.
  public static let egid = AuxvType(rawValue: 14)
  /// `AT_PLATFORM`: address of a string naming the CPU ("x86_64").
  public static let platform = AuxvType(rawValue: 15)
  /// `AT_HWCAP`: CPU capability bits (on x86, CPUID.1:EDX).
  public static let hwcap = AuxvType(rawValue: 16)
  /// `AT_CLKTCK`: the frequency of times(2) ticks, 100 on Linux.
  public static let clktck = AuxvType(rawValue: 17)
  /// `AT_SECURE`: nonzero if the program runs set-user-ID or similar, which
  /// makes libc ignore dangerous environment variables.
  public static let secure = AuxvType(rawValue: 23)
  /// `AT_BASE_PLATFORM`: address of a string naming the real platform.
  public static let basePlatform = AuxvType(rawValue: 24)
  /// `AT_RANDOM`: address of 16 random bytes, which libc uses for the
  /// stack protector canary and pointer mangling.
  public static let random = AuxvType(rawValue: 25)
  /// `AT_HWCAP2`: more CPU capability bits (on x86, ring-3 MWAIT and
  /// FSGSBASE).
  public static let hwcap2 = AuxvType(rawValue: 26)
  /// `AT_RSEQ_FEATURE_SIZE`: the size of `struct rseq` the kernel supports.
  public static let rseqFeatureSize = AuxvType(rawValue: 27)
  /// `AT_RSEQ_ALIGN`: the alignment `struct rseq` needs.
  public static let rseqAlign = AuxvType(rawValue: 28)
  /// `AT_HWCAP3`: a third word of capability bits.
  public static let hwcap3 = AuxvType(rawValue: 29)
  /// `AT_HWCAP4`: a fourth word of capability bits.
  public static let hwcap4 = AuxvType(rawValue: 30)
  /// `AT_EXECFN`: address of the path the program was executed as.
  public static let execfn = AuxvType(rawValue: 31)
  /// `AT_SYSINFO_EHDR`: address of the vDSO's ELF header.
  public static let sysinfoEhdr = AuxvType(rawValue: 33)
  /// `AT_MINSIGSTKSZ`: the smallest stack a signal handler can run on,
  /// which grows with the CPU's extended register state.
  public static let minsigstksz = AuxvType(rawValue: 51)
}
