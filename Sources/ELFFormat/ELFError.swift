// Why a program cannot be loaded. ELFFile raises the structural errors
// (the header and the program header table), LoadPlan the semantic ones
// (what Villa's loader needs: a static x86_64 program whose segments fit
// in user space). The host prints `message` before it boots anything, and
// the kernel prints the same sentence if a bad program slips through.

public enum ELFError: Error, Equatable, Sendable {
  /// The file is shorter than the 64-byte ELF header.
  case truncated
  /// The file does not start with "\x7fELF".
  case badMagic
  /// EI_CLASS is not ELFCLASS64 (the value found).
  case notELF64(UInt8)
  /// EI_DATA is not ELFDATA2LSB (the value found).
  case notLittleEndian(UInt8)
  /// EI_VERSION or e_version is not EV_CURRENT (the value found).
  case badVersion(UInt32)
  /// EI_OSABI names another system than System V or GNU/Linux.
  case unsupportedABI(UInt8)
  /// e_machine is not EM_X86_64 (the value found).
  case wrongMachine(UInt16)
  /// e_type is neither ET_EXEC nor ET_DYN (the value found).
  case unsupportedType(UInt16)
  /// e_phentsize is not 56 (the value found).
  case badProgramHeaderEntrySize(UInt16)
  /// More program headers than Linux accepts (64 KiB of them).
  case tooManyProgramHeaders(Int)
  /// The program header table runs past the end of the file.
  case programHeadersOutOfBounds(offset: UInt64, count: Int)
  /// A segment's file range [p_offset, p_offset + p_filesz) is outside the
  /// file (the program header's index).
  case segmentOutOfBounds(index: Int)
  /// PT_INTERP is present: the program is dynamically linked. Carries the
  /// interpreter path's bytes (without the NUL). Bytes rather than a
  /// String so that comparing errors in Embedded Swift does not pull in
  /// Unicode normalisation tables; `message` decodes them.
  case needsInterpreter([UInt8])
  /// p_filesz > p_memsz in a PT_LOAD header.
  case fileSizeExceedsMemorySize(index: Int)
  /// p_offset and p_vaddr disagree modulo p_align in a PT_LOAD header.
  case misalignedSegment(index: Int)
  /// Two PT_LOAD segments claim the same addresses.
  case overlappingSegments(Int, Int)
  /// Two PT_LOAD segments share a page without overlapping.
  case segmentsSharePage(Int, Int)
  /// No PT_LOAD segment with a non-zero p_memsz.
  case noLoadableSegment
  /// e_entry is in no executable PT_LOAD segment (the unbiased entry).
  case entryOutsideExecutableSegments(UInt64)
  /// p_vaddr + p_memsz (plus the load bias) passes 2^64.
  case addressOverflow(index: Int)
  /// A segment, once biased, falls outside [minimum address, user limit).
  case outsideUserSpace(start: UInt64, end: UInt64)
  /// The load bias is not page-aligned, or is non-zero for an ET_EXEC
  /// program, which must run at the addresses it was linked for.
  case badLoadBias(UInt64)
  /// PT_TLS has p_filesz > p_memsz, a non-power-of-two alignment, or an
  /// initialisation image outside every PT_LOAD segment.
  case invalidTLSSegment(index: Int)

  /// One line for a person: what is wrong and, where it helps, what to do.
  public var message: String {
    switch self {
    case .truncated:
      return "the file is too short to be an ELF program "
        + "(under the 64-byte header)"
    case .badMagic:
      return "not an ELF file (it does not start with \\x7fELF)"
    case .notELF64(let elfClass):
      if elfClass == 1 {
        return "a 32-bit ELF file; Villa runs 64-bit x86_64 programs"
      }
      return "unknown ELF class \(elfClass); Villa runs 64-bit ELF files"
    case .notLittleEndian(let encoding):
      return "a big-endian or unknown byte order (EI_DATA \(encoding)); "
        + "x86_64 programs are little-endian"
    case .badVersion(let version):
      return "unknown ELF version \(version) (expected 1)"
    case .unsupportedABI(let abi):
      return "built for another operating system (EI_OSABI \(abi)"
        + osName(abi) + "); Villa runs Linux programs"
    case .wrongMachine(let machine):
      return "built for " + machineName(machine)
        + " (e_machine \(machine)); Villa runs x86_64 programs"
    case .unsupportedType(let type):
      return typeDescription(type) + "; Villa runs linked executables "
        + "(ET_EXEC or static-pie ET_DYN)"
    case .badProgramHeaderEntrySize(let size):
      return "program headers of \(size) bytes (e_phentsize); "
        + "ELF64 uses 56"
    case .tooManyProgramHeaders(let count):
      return "\(count) program headers; Linux accepts at most 64 KiB "
        + "of them"
    case .programHeadersOutOfBounds(let offset, let count):
      return "the program header table (\(count) entries at offset "
        + hex(offset) + ") runs past the end of the file"
    case .segmentOutOfBounds(let index):
      return "program header \(index) describes data beyond the end of "
        + "the file (is the file truncated?)"
    case .needsInterpreter(let path):
      return "dynamically linked (needs "
        + String(decoding: path, as: UTF8.self)
        + "); Villa runs static binaries: rebuild with -static"
    case .fileSizeExceedsMemorySize(let index):
      return "program header \(index) has more file bytes than memory "
        + "bytes (p_filesz > p_memsz)"
    case .misalignedSegment(let index):
      return "program header \(index) has p_offset and p_vaddr that "
        + "disagree modulo p_align"
    case .overlappingSegments(let first, let second):
      return "loadable segments \(first) and \(second) overlap"
    case .segmentsSharePage(let first, let second):
      return "loadable segments \(first) and \(second) share a page; "
        + "Villa needs each page in one segment"
    case .noLoadableSegment:
      return "no loadable segment (PT_LOAD): nothing to run"
    case .entryOutsideExecutableSegments(let entry):
      return "the entry point " + hex(entry)
        + " is not inside an executable segment"
    case .addressOverflow(let index):
      return "program header \(index) reaches past the end of the "
        + "64-bit address space"
    case .outsideUserSpace(let start, let end):
      return "a segment at " + hex(start) + "-" + hex(end)
        + " lies outside user space"
    case .badLoadBias(let bias):
      return "load bias " + hex(bias) + " is unusable: it must be "
        + "page-aligned, and 0 for a fixed-address (ET_EXEC) program"
    case .invalidTLSSegment(let index):
      return "the TLS segment (program header \(index)) is malformed: "
        + "p_filesz > p_memsz, a bad alignment, or data outside "
        + "the loaded segments"
    }
  }
}

/// Names for the e_machine values people are likely to meet by mistake.
private func machineName(_ machine: UInt16) -> String {
  switch machine {
  case 3: return "32-bit x86 (i386)"
  case 8: return "MIPS"
  case 20: return "PowerPC"
  case 21: return "64-bit PowerPC"
  case 22: return "IBM S/390"
  case 40: return "32-bit ARM"
  case 183: return "AArch64 (64-bit ARM)"
  case 243: return "RISC-V"
  case 258: return "LoongArch"
  default: return "another processor"
  }
}

private func typeDescription(_ type: UInt16) -> String {
  switch type {
  case 0: return "an ELF file of no type (ET_NONE)"
  case 1: return "a relocatable object (ET_REL, a .o file), not a "
    + "linked program"
  case 4: return "a core dump (ET_CORE), not a program"
  default: return "an ELF file of unknown type \(type)"
  }
}

private func osName(_ abi: UInt8) -> String {
  switch abi {
  case 1: return ", HP-UX"
  case 2: return ", NetBSD"
  case 6: return ", Solaris"
  case 9: return ", FreeBSD"
  case 12: return ", OpenBSD"
  default: return ""
  }
}
