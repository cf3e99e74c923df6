// What the kernel must do to load a program: which pages to map with which
// protection, which file bytes to copy where, where to jump, and the facts
// the initial stack's auxiliary vector reports (AT_PHDR, AT_PHNUM, ...).
// Building the plan performs every semantic check, so a kernel that
// follows it never meets an address it did not expect.
//
// The loader this describes copies rather than maps the file: each
// segment's pages start zeroed and receive exactly p_filesz bytes. Linux
// instead maps whole file pages, so the bytes before p_vaddr in a
// segment's first page and after p_filesz in a page-ending segment hold
// neighbouring file bytes there and zeros here; no linker output depends
// on that. The one part of the file that programs do read through memory,
// the program header table (libc finds PT_TLS through AT_PHDR), lies in
// the first segment's file range in ordinary linker output; when it does
// not, `phdrAddress` says so with nil.
//
// So a kernel maps [mapStart, mapEnd) of each segment as zeroed pages,
// copies `fileSize` bytes from `fileOffset` to `fileStart`, and only then
// applies `protection` (a read-only segment must still be written once).

/// One PT_LOAD segment, with the load bias applied.
public struct LoadSegment: Equatable, Sendable {
  /// Page-aligned range to map: [mapStart, mapEnd).
  public var mapStart: UInt64
  public var mapEnd: UInt64
  /// Where the file bytes go: [fileStart, fileEnd), p_filesz bytes.
  public var fileStart: UInt64
  public var fileEnd: UInt64
  /// Where those bytes are in the file (p_offset).
  public var fileOffset: UInt64
  /// p_vaddr + p_memsz: the bytes in [fileEnd, memEnd) are zero (bss), as
  /// is the rest of the mapped pages.
  public var memEnd: UInt64
  /// Page protection, from p_flags: only readable, writable, executable.
  public var protection: SegmentFlags
  /// The program header this segment came from.
  public var index: Int

  public var fileSize: UInt64 { fileEnd - fileStart }
}

/// The PT_TLS initialisation image, biased. libc copies it into each
/// thread's TLS block; the kernel only reports it (and tests check it).
public struct TLSTemplate: Equatable, Sendable {
  public var vaddr: UInt64
  public var filesz: UInt64
  public var memsz: UInt64
  public var align: UInt64

  public init(vaddr: UInt64, filesz: UInt64, memsz: UInt64, align: UInt64) {
    self.vaddr = vaddr
    self.filesz = filesz
    self.memsz = memsz
    self.align = align
  }
}

public struct LoadPlan: Equatable, Sendable {
  /// x86_64's base page size: the unit of mapping and of AT_PAGESZ.
  public static let pageSize: UInt64 = 4096

  /// PT_LOAD segments in ascending address order; their page ranges are
  /// disjoint.
  public let segments: [LoadSegment]
  /// e_entry plus the bias.
  public let entry: UInt64
  /// Added to every p_vaddr: 0 for ET_EXEC.
  public let loadBias: UInt64
  /// Where the program header table is in memory (AT_PHDR), or nil when
  /// no loaded segment holds it. Linux would then report a meaningless
  /// address; the kernel should leave AT_PHDR out instead.
  public let phdrAddress: UInt64?
  /// AT_PHENT and AT_PHNUM.
  public let phent: UInt64
  public let phnum: UInt64
  public let tls: TLSTemplate?
  /// Whether PT_GNU_STACK asks for an executable stack. Without one, the
  /// stack is not executable: since Linux 5.8 a missing PT_GNU_STACK no
  /// longer implies READ_IMPLIES_EXEC for 64-bit x86 programs.
  public let stackExecutable: Bool
  /// The page-aligned end of the highest segment, where brk starts.
  public let programBreak: UInt64
  /// True for ET_DYN (static-pie): the program relocates itself.
  public let isPositionIndependent: Bool

  /// A bias that places a position-independent program's lowest segment
  /// at `base` (rounded up to the largest power-of-two p_align, as Linux
  /// does, so huge-page-aligned segments stay aligned). 0 for ET_EXEC, and
  /// for an ET_DYN file already linked at or above `base`. A hint only:
  /// `init` checks whatever bias it is given.
  public static func loadBias(for file: ELFFile, base: UInt64) -> UInt64 {
    guard file.type == .sharedObject else { return 0 }
    var lowest = UInt64.max
    var alignment = pageSize
    for header in file.programHeaders
    where header.type == .load && header.memsz > 0 {
      lowest = min(lowest, header.vaddr)
      if isPowerOfTwo(header.align) {
        alignment = max(alignment, header.align)
      }
    }
    let start = alignDown(lowest, pageSize)
    guard lowest != UInt64.max, start < base else { return 0 }
    let distance = base - start
    return alignUp(distance, alignment)
      ?? alignUp(distance, pageSize)
      ?? alignDown(distance, pageSize)
  }

  /// Checks `file` and plans its loading at `loadBias`. Every mapped byte
  /// must lie in [minimumAddress, userLimit); the default minimum keeps
  /// page zero unmapped so that null pointers fault.
  public init(file: ELFFile, loadBias: UInt64, userLimit: UInt64,
              minimumAddress: UInt64 = LoadPlan.pageSize)
    throws(ELFError)
  {
    let page = LoadPlan.pageSize
    if let interpreter = file.interpreter {
      throw .needsInterpreter(interpreter)
    }
    guard loadBias % page == 0,
          file.type == .sharedObject || loadBias == 0
    else { throw .badLoadBias(loadBias) }

    // Each PT_LOAD on its own: sizes, alignment, addresses.
    var planned: [LoadSegment] = []
    for (index, header) in file.programHeaders.enumerated()
    where header.type == .load {
      guard header.filesz <= header.memsz else {
        throw .fileSizeExceedsMemorySize(index: index)
      }
      // A segment without memory maps nothing; Linux skips it too.
      if header.memsz == 0 { continue }
      if header.align > 1 {
        guard header.offset % header.align == header.vaddr % header.align
        else { throw .misalignedSegment(index: index) }
      }
      let segment = try LoadPlan.place(header, index: index,
                                       bias: loadBias)
      guard segment.mapStart >= minimumAddress,
            segment.mapEnd <= userLimit
      else {
        throw .outsideUserSpace(start: segment.mapStart,
                                end: segment.mapEnd)
      }
      planned.append(segment)
    }
    guard !planned.isEmpty else { throw .noLoadableSegment }

    // Then against each other. The gABI wants PT_LOAD sorted by p_vaddr
    // but Linux does not insist, so sort; once sorted, any overlap shows
    // between neighbours.
    planned.sort { ($0.fileStart, $0.index) < ($1.fileStart, $1.index) }
    for i in planned.indices.dropFirst() {
      let previous = planned[i - 1]
      let current = planned[i]
      if current.fileStart < previous.memEnd {
        throw .overlappingSegments(previous.index, current.index)
      }
      // TODO(elf): segments sharing a page are refused; Linux maps the
      // shared page once, with the later segment's protection.
      if current.mapStart < previous.mapEnd {
        throw .segmentsSharePage(previous.index, current.index)
      }
    }
    segments = planned

    // The entry must be code the program can run.
    let entryInside = file.programHeaders.contains { header in
      header.type == .load && header.flags.contains(.executable)
        && header.vaddr <= file.entry
        && file.entry - header.vaddr < header.memsz
    }
    guard entryInside else {
      throw .entryOutsideExecutableSegments(file.entry)
    }
    // Cannot wrap: the entry lies in a segment whose biased end fitted.
    entry = file.entry + loadBias

    self.loadBias = loadBias
    phent = UInt64(ELFFile.programHeaderSize)
    phnum = UInt64(file.programHeaderCount)
    phdrAddress = LoadPlan.findProgramHeaders(in: file, bias: loadBias)
    tls = try LoadPlan.findTLS(in: file, bias: loadBias)

    // Linux lets the last PT_GNU_STACK win.
    var executableStack = false
    for header in file.programHeaders where header.type == .gnuStack {
      executableStack = header.flags.contains(.executable)
    }
    stackExecutable = executableStack
    // Sorted and disjoint, so the last segment ends highest.
    programBreak = planned[planned.count - 1].mapEnd
    isPositionIndependent = file.type == .sharedObject
  }

  /// Biased addresses for one PT_LOAD, refusing any that pass 2^64.
  private static func place(_ header: ProgramHeader, index: Int,
                            bias: UInt64) throws(ELFError) -> LoadSegment
  {
    let (start, wrappedStart) = header.vaddr.addingReportingOverflow(bias)
    let (end, wrappedEnd) = start.addingReportingOverflow(header.memsz)
    guard !wrappedStart, !wrappedEnd,
          let mapEnd = alignUp(end, pageSize)
    else { throw .addressOverflow(index: index) }
    return LoadSegment(
      mapStart: alignDown(start, pageSize), mapEnd: mapEnd,
      fileStart: start, fileEnd: start + header.filesz,
      fileOffset: header.offset, memEnd: end,
      protection: header.flags.intersection(
        [.readable, .writable, .executable]),
      index: index)
  }

  /// AT_PHDR: PT_PHDR's address when a loaded segment really holds those
  /// bytes, else wherever the PT_LOAD that covers e_phoff puts them (the
  /// usual case for static glibc, which emits no PT_PHDR).
  private static func findProgramHeaders(in file: ELFFile, bias: UInt64)
    -> UInt64?
  {
    let loads = file.programHeaders.filter { $0.type == .load }
    let tableSize = UInt64(file.programHeaderCount * ELFFile.programHeaderSize)

    if let phdr = file.programHeaders.first(where: { $0.type == .phdr }) {
      let (end, wrapped) = phdr.vaddr.addingReportingOverflow(tableSize)
      let held = !wrapped && loads.contains { load in
        load.vaddr <= phdr.vaddr && end - load.vaddr <= load.filesz
      }
      if held { return phdr.vaddr + bias }
    }

    let offset = file.programHeaderOffset
    for load in loads
    where load.offset <= offset && offset - load.offset <= load.filesz
      && tableSize <= load.filesz - (offset - load.offset)
    {
      // Inside a planned segment, so the sum cannot wrap.
      return load.vaddr + (offset - load.offset) + bias
    }
    return nil
  }

  /// The first PT_TLS (libc uses the first), checked so that libc finds
  /// its image in loaded memory.
  private static func findTLS(in file: ELFFile, bias: UInt64)
    throws(ELFError) -> TLSTemplate?
  {
    guard let index = file.programHeaders.firstIndex(where: {
      $0.type == .tls
    }) else { return nil }
    let tls = file.programHeaders[index]
    guard tls.filesz <= tls.memsz, tls.align <= 1 || isPowerOfTwo(tls.align)
    else { throw .invalidTLSSegment(index: index) }

    if tls.filesz > 0 {
      let (end, wrapped) = tls.vaddr.addingReportingOverflow(tls.filesz)
      let held = !wrapped && file.programHeaders.contains { load in
        load.type == .load && load.vaddr <= tls.vaddr
          && end - load.vaddr <= load.memsz
      }
      guard held else { throw .invalidTLSSegment(index: index) }
    }
    // A .tbss-only template has no bytes to find, so its address is only
    // reported; wrapping there would be harmless, but keep it exact.
    let (vaddr, wrapped) = tls.vaddr.addingReportingOverflow(bias)
    guard !wrapped else { throw .invalidTLSSegment(index: index) }
    return TLSTemplate(vaddr: vaddr, filesz: tls.filesz, memsz: tls.memsz,
                       align: tls.align)
  }
}
