// A checked view of an ELF64 x86_64 file: the header and the program
// header table. The initialiser validates both once (magic, class, byte
// order, version, machine, type, the table's bounds and entry size, and
// every segment's file range), so that no accessor can trap afterwards and
// a segment's bytes can be sliced without further checks. It reads in
// place: the kernel hands it the program inside the boot bundle, the host
// a file it has read. Semantic checks (static only, segments that fit in
// user space) belong to LoadPlan; section headers and symbols, which only
// the host needs, are read lazily in ELFSymbols.swift.
//
// Layouts follow the System V ABI's ELF chapter (gABI) and the x86_64
// psABI; field names keep the spec's terms (p_vaddr becomes `vaddr`).

/// The kinds of ELF file Villa can run.
public enum ELFFileType: Equatable, Sendable {
  /// ET_EXEC: linked for fixed addresses.
  case executable
  /// ET_DYN: position-independent; for Villa, a static-pie program.
  case sharedObject
}

/// A program header's p_type. A struct rather than an enum because files
/// carry types that Villa has no use for, and those must still parse.
public struct SegmentType: RawRepresentable, Equatable, Sendable {
  public var rawValue: UInt32
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  public static let null = SegmentType(rawValue: 0)
  public static let load = SegmentType(rawValue: 1)
  public static let dynamic = SegmentType(rawValue: 2)
  public static let interp = SegmentType(rawValue: 3)
  public static let note = SegmentType(rawValue: 4)
  public static let phdr = SegmentType(rawValue: 6)
  public static let tls = SegmentType(rawValue: 7)
  public static let gnuEHFrame = SegmentType(rawValue: 0x6474_E550)
  public static let gnuStack = SegmentType(rawValue: 0x6474_E551)
  public static let gnuRelro = SegmentType(rawValue: 0x6474_E552)
  public static let gnuProperty = SegmentType(rawValue: 0x6474_E553)
}

/// A program header's p_flags (PF_X, PF_W, PF_R), also used as a loaded
/// segment's page protection.
public struct SegmentFlags: OptionSet, Sendable {
  public var rawValue: UInt32
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  public static let executable = SegmentFlags(rawValue: 1)
  public static let writable = SegmentFlags(rawValue: 2)
  public static let readable = SegmentFlags(rawValue: 4)
}

/// One entry of the program header table, as the file states it.
public struct ProgramHeader: Equatable, Sendable {
  public var type: SegmentType
  public var flags: SegmentFlags
  /// p_offset: where the segment's bytes start in the file.
  public var offset: UInt64
  public var vaddr: UInt64
  public var filesz: UInt64
  public var memsz: UInt64
  public var align: UInt64

  public init(type: SegmentType, flags: SegmentFlags, offset: UInt64,
              vaddr: UInt64, filesz: UInt64, memsz: UInt64, align: UInt64)
  {
    self.type = type
    self.flags = flags
    self.offset = offset
    self.vaddr = vaddr
    self.filesz = filesz
    self.memsz = memsz
    self.align = align
  }
}

public struct ELFFile {
  /// Size of the ELF64 file header.
  public static let headerSize = 64
  /// Size of one ELF64 program header (e_phentsize).
  public static let programHeaderSize = 56
  /// Linux refuses tables over 64 KiB (fs/binfmt_elf.c); so does Villa,
  /// which also bounds the work done on a hostile file.
  static let programHeaderTableLimit = 65536
  static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]
  static let machineX86_64: UInt16 = 62

  /// The whole file. It must outlive this view.
  public let bytes: UnsafeRawBufferPointer
  public let type: ELFFileType
  /// e_machine; always EM_X86_64 (62) once the view exists.
  public let machine: UInt16
  /// e_entry, unbiased.
  public let entry: UInt64
  /// e_phoff, e_phentsize and e_phnum.
  public let programHeaderOffset: UInt64
  public let programHeaderEntrySize: Int
  public let programHeaderCount: Int
  public let programHeaders: [ProgramHeader]
  /// The PT_INTERP path without its NUL, if the file names an interpreter.
  public let interpreter: [UInt8]?

  // Section header fields, checked only when symbols are asked for.
  let sectionHeaderOffset: UInt64
  let sectionHeaderEntrySize: Int
  let sectionHeaderCount: Int

  public init(bytes: UnsafeRawBufferPointer) throws(ELFError) {
    self.bytes = bytes

    // A short file that does not even begin like ELF is not ELF at all; a
    // short prefix of a real ELF file is merely truncated.
    guard bytes.count >= ELFFile.headerSize else {
      for i in 0..<min(4, bytes.count) where bytes[i] != ELFFile.magic[i] {
        throw .badMagic
      }
      throw .truncated
    }
    for i in 0..<4 where bytes[i] != ELFFile.magic[i] {
      throw .badMagic
    }

    // e_ident: class, byte order, version, OS ABI.
    guard bytes[4] == 2 else { throw .notELF64(bytes[4]) }
    guard bytes[5] == 1 else { throw .notLittleEndian(bytes[5]) }
    guard bytes[6] == 1 else { throw .badVersion(UInt32(bytes[6])) }
    let version = bytes.elfUInt32(at: 20)
    guard version == 1 else { throw .badVersion(version) }
    // 0 is System V, 3 GNU/Linux; Linux itself ignores the byte, but a
    // FreeBSD program would only fail later and more obscurely.
    guard bytes[7] == 0 || bytes[7] == 3 else {
      throw .unsupportedABI(bytes[7])
    }

    // The machine before the type: a foreign object file is foremost
    // foreign.
    machine = bytes.elfUInt16(at: 18)
    guard machine == ELFFile.machineX86_64 else {
      throw .wrongMachine(machine)
    }
    let rawType = bytes.elfUInt16(at: 16)
    switch rawType {
    case 2: type = .executable
    case 3: type = .sharedObject
    default: throw .unsupportedType(rawType)
    }

    entry = bytes.elfUInt64(at: 24)
    programHeaderOffset = bytes.elfUInt64(at: 32)
    sectionHeaderOffset = bytes.elfUInt64(at: 40)
    let rawEntrySize = bytes.elfUInt16(at: 54)
    programHeaderEntrySize = Int(rawEntrySize)
    programHeaderCount = Int(bytes.elfUInt16(at: 56))
    sectionHeaderEntrySize = Int(bytes.elfUInt16(at: 58))
    sectionHeaderCount = Int(bytes.elfUInt16(at: 60))

    // The table itself. An empty table is structurally fine; LoadPlan
    // refuses it for having nothing to load.
    let count = programHeaderCount
    if count > 0 {
      guard programHeaderEntrySize == ELFFile.programHeaderSize else {
        throw .badProgramHeaderEntrySize(rawEntrySize)
      }
      let tableSize = count * ELFFile.programHeaderSize
      guard tableSize <= ELFFile.programHeaderTableLimit else {
        throw .tooManyProgramHeaders(count)
      }
      guard bytes.contains(offset: programHeaderOffset,
                           length: UInt64(tableSize))
      else {
        throw .programHeadersOutOfBounds(offset: programHeaderOffset,
                                         count: count)
      }
    }

    var headers: [ProgramHeader] = []
    headers.reserveCapacity(count)
    var interpreter: [UInt8]? = nil
    for index in 0..<count {
      let at = Int(programHeaderOffset) + index * ELFFile.programHeaderSize
      let header = ProgramHeader(
        type: SegmentType(rawValue: bytes.elfUInt32(at: at)),
        flags: SegmentFlags(rawValue: bytes.elfUInt32(at: at + 4)),
        offset: bytes.elfUInt64(at: at + 8),
        vaddr: bytes.elfUInt64(at: at + 16),
        filesz: bytes.elfUInt64(at: at + 32),
        memsz: bytes.elfUInt64(at: at + 40),
        align: bytes.elfUInt64(at: at + 48))

      // Every segment with file bytes must have them all in the file, so
      // that slicing a segment never needs another check. PT_NULL entries
      // are unused slots and may hold anything.
      if header.type != .null && header.filesz > 0 {
        guard bytes.contains(offset: header.offset, length: header.filesz)
        else { throw .segmentOutOfBounds(index: index) }
      }
      // Linux reads the first PT_INTERP only; the path ends at its NUL.
      if header.type == .interp && interpreter == nil {
        let data = bytes.slice(offset: header.offset, length: header.filesz)
        interpreter = Array(data.prefix { $0 != 0 })
      }
      headers.append(header)
    }
    programHeaders = headers
    self.interpreter = interpreter
  }

  /// The file bytes a load segment copies, or nil if the segment does not
  /// come from this file (its range is re-checked, so this cannot trap).
  public func fileBytes(of segment: LoadSegment)
    -> UnsafeRawBufferPointer?
  {
    let length = segment.fileEnd &- segment.fileStart
    guard segment.fileEnd >= segment.fileStart,
          bytes.contains(offset: segment.fileOffset, length: length)
    else { return nil }
    return bytes.slice(offset: segment.fileOffset, length: length)
  }
}
