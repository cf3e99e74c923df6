// Tests of the ELF module: images built byte by byte in memory (one good
// fixed-address program, one good static-pie, and one malformed variant per
// error), a seeded fuzzer that must never crash the parser, real programs
// built with the host's gcc, and the initial stack decoded back from its
// bytes.

import ELFFormat
import Foundation
import XCTest

// MARK: - Building images

/// A tiny ELF writer: a header, a program header table at `phoff`, bytes
/// placed at chosen offsets, and optionally a symbol table with its
/// section headers at the end of the file.
private struct ImageBuilder {
  var elfClass: UInt8 = 2
  var encoding: UInt8 = 1
  var identVersion: UInt8 = 1
  var osABI: UInt8 = 0
  var type: UInt16 = 2
  var machine: UInt16 = 62
  var version: UInt32 = 1
  var entry: UInt64 = 0x40_1000
  var phoff: UInt64 = 64
  var phentsize: UInt16 = 56
  /// Overrides e_phnum (headers.count otherwise).
  var phnum: UInt16? = nil
  var headers: [ProgramHeader] = []
  var payloads: [(offset: Int, bytes: [UInt8])] = []
  /// The file is at least this long (zero-filled).
  var size = 0
  var symbols: [TestSymbol] = []

  func build() -> [UInt8] {
    var out = [UInt8](repeating: 0, count: max(size, 64))
    out.replaceSubrange(0..<4, with: [0x7F, 0x45, 0x4C, 0x46])
    out[4] = elfClass
    out[5] = encoding
    out[6] = identVersion
    out[7] = osABI
    out.storeLE(type, at: 16)
    out.storeLE(machine, at: 18)
    out.storeLE(version, at: 20)
    out.storeLE(entry, at: 24)
    out.storeLE(phoff, at: 32)
    out.storeLE(UInt16(64), at: 52)
    out.storeLE(phentsize, at: 54)
    out.storeLE(phnum ?? UInt16(headers.count), at: 56)
    for (i, header) in headers.enumerated() {
      let at = Int(phoff) + i * 56
      out.storeLE(header.type.rawValue, at: at)
      out.storeLE(header.flags.rawValue, at: at + 4)
      out.storeLE(header.offset, at: at + 8)
      out.storeLE(header.vaddr, at: at + 16)
      out.storeLE(header.vaddr, at: at + 24)
      out.storeLE(header.filesz, at: at + 32)
      out.storeLE(header.memsz, at: at + 40)
      out.storeLE(header.align, at: at + 48)
    }
    for payload in payloads {
      out.storeLE(payload.bytes, at: payload.offset)
    }
    if !symbols.isEmpty { appendSymbolTable(to: &out) }
    return out
  }

  /// Appends .strtab, .symtab and a section header table (null, symtab,
  /// strtab) and points e_shoff at it.
  private func appendSymbolTable(to out: inout [UInt8]) {
    var strings: [UInt8] = [0]
    var table = [UInt8](repeating: 0, count: 24)  // the null symbol
    for symbol in symbols {
      var entry = [UInt8](repeating: 0, count: 24)
      entry.storeLE(UInt32(strings.count), at: 0)
      entry[4] = symbol.info
      entry.storeLE(symbol.sectionIndex, at: 6)
      entry.storeLE(symbol.value, at: 8)
      entry.storeLE(symbol.size, at: 16)
      table += entry
      strings += Array(symbol.name.utf8) + [0]
    }
    while out.count % 8 != 0 { out.append(0) }
    let stringsOffset = out.count
    out += strings
    while out.count % 8 != 0 { out.append(0) }
    let tableOffset = out.count
    out += table
    let sectionsOffset = out.count
    out += [UInt8](repeating: 0, count: 64)  // SHT_NULL
    out += section(type: 2, offset: tableOffset, size: table.count,
                   link: 2, entrySize: 24)
    out += section(type: 3, offset: stringsOffset, size: strings.count,
                   link: 0, entrySize: 0)
    out.storeLE(UInt64(sectionsOffset), at: 40)
    out.storeLE(UInt16(64), at: 58)
    out.storeLE(UInt16(3), at: 60)
  }

  private func section(type: UInt32, offset: Int, size: Int, link: UInt32,
                       entrySize: UInt64) -> [UInt8]
  {
    var header = [UInt8](repeating: 0, count: 64)
    header.storeLE(type, at: 4)
    header.storeLE(UInt64(offset), at: 24)
    header.storeLE(UInt64(size), at: 32)
    header.storeLE(link, at: 40)
    header.storeLE(entrySize, at: 56)
    return header
  }
}

private struct TestSymbol {
  var name: String
  var info: UInt8  // binding << 4 | type
  var sectionIndex: UInt16 = 1
  var value: UInt64
  var size: UInt64
}

extension Array where Element == UInt8 {
  fileprivate mutating func storeLE<T: FixedWidthInteger>(
    _ value: T, at offset: Int
  ) {
    for i in 0..<(T.bitWidth / 8) {
      self[offset + i] = UInt8(truncatingIfNeeded: value >> (i * 8))
    }
  }

  fileprivate mutating func storeLE(_ bytes: [UInt8], at offset: Int) {
    if count < offset + bytes.count {
      let missing = offset + bytes.count - count
      append(contentsOf: repeatElement(0, count: missing))
    }
    replaceSubrange(offset..<offset + bytes.count, with: bytes)
  }

  fileprivate func wordLE(at offset: Int) -> UInt64 {
    var value: UInt64 = 0
    for i in 0..<8 { value |= UInt64(self[offset + i]) << (i * 8) }
    return value
  }
}

private func programHeader(
  _ type: SegmentType, _ flags: SegmentFlags, offset: UInt64 = 0,
  vaddr: UInt64 = 0, filesz: UInt64 = 0, memsz: UInt64 = 0,
  align: UInt64 = 0x1000
) -> ProgramHeader {
  ProgramHeader(type: type, flags: flags, offset: offset, vaddr: vaddr,
                filesz: filesz, memsz: memsz, align: align)
}

private let readWrite: SegmentFlags = [.readable, .writable]
private let readExecute: SegmentFlags = [.readable, .executable]
private let testUserLimit: UInt64 = 0x0000_8000_0000_0000

/// A fixed-address program laid out like a small static binary: headers
/// in a read-only segment, code, then data with bss and TLS.
private func goodExecutable() -> ImageBuilder {
  var image = ImageBuilder()
  image.headers = [
    programHeader(.phdr, .readable, offset: 64, vaddr: 0x40_0040,
                  filesz: 6 * 56, memsz: 6 * 56, align: 8),
    programHeader(.load, .readable, offset: 0, vaddr: 0x40_0000,
                  filesz: 0x200, memsz: 0x200),
    programHeader(.load, readExecute, offset: 0x1000, vaddr: 0x40_1000,
                  filesz: 0x100, memsz: 0x100),
    programHeader(.load, readWrite, offset: 0x2010, vaddr: 0x40_3010,
                  filesz: 0x30, memsz: 0x2000),
    programHeader(.tls, .readable, offset: 0x2010, vaddr: 0x40_3010,
                  filesz: 0x10, memsz: 0x40, align: 8),
    programHeader(.gnuStack, readWrite, align: 16),
  ]
  image.entry = 0x40_1000
  image.payloads = [
    (0x1000, [UInt8](repeating: 0xCC, count: 0x100)),
    (0x2010, (0..<0x30).map { UInt8($0) }),
  ]
  image.size = 0x2040
  return image
}

/// A static-pie program linked at 0, with no PT_PHDR (AT_PHDR must come
/// from the segment holding e_phoff) and an executable stack.
private func goodPositionIndependent() -> ImageBuilder {
  var image = ImageBuilder()
  image.type = 3
  image.headers = [
    programHeader(.load, .readable, offset: 0, vaddr: 0, filesz: 0x1F0,
                  memsz: 0x1F0),
    programHeader(.load, readExecute, offset: 0x1000, vaddr: 0x1000,
                  filesz: 0x80, memsz: 0x80),
    programHeader(.load, readWrite, offset: 0x1800, vaddr: 0x2800,
                  filesz: 0x10, memsz: 0x10),
    programHeader(.gnuStack, [.readable, .writable, .executable],
                  align: 16),
  ]
  image.entry = 0x1040
  image.size = 0x1810
  return image
}

private func planError(_ bytes: [UInt8], bias: UInt64 = 0,
                       limit: UInt64 = testUserLimit) -> ELFError?
{
  bytes.withUnsafeBytes { raw -> ELFError? in
    do throws(ELFError) {
      let file = try ELFFile(bytes: raw)
      _ = try LoadPlan(file: file, loadBias: bias, userLimit: limit)
      return nil
    } catch {
      return error
    }
  }
}

private func parseError(_ bytes: [UInt8]) -> ELFError? {
  bytes.withUnsafeBytes { raw -> ELFError? in
    do throws(ELFError) {
      _ = try ELFFile(bytes: raw)
      return nil
    } catch {
      return error
    }
  }
}

// MARK: - Tests

final class ELFFormatTests: XCTestCase {
  func testGoodExecutableParsesAndPlans() throws {
    let bytes = goodExecutable().build()
    try bytes.withUnsafeBytes { raw in
      let file = try ELFFile(bytes: raw)
      XCTAssertEqual(file.type, .executable)
      XCTAssertEqual(file.machine, 62)
      XCTAssertEqual(file.entry, 0x40_1000)
      XCTAssertEqual(file.programHeaderOffset, 64)
      XCTAssertEqual(file.programHeaderEntrySize, 56)
      XCTAssertEqual(file.programHeaderCount, 6)
      XCTAssertEqual(file.programHeaders, goodExecutable().headers)
      XCTAssertNil(file.interpreter)

      let plan = try LoadPlan(file: file, loadBias: 0, userLimit: testUserLimit)
      XCTAssertEqual(plan.segments.map(\.mapStart),
                     [0x40_0000, 0x40_1000, 0x40_3000])
      XCTAssertEqual(plan.segments.map(\.mapEnd),
                     [0x40_1000, 0x40_2000, 0x40_6000])
      XCTAssertEqual(plan.segments.map(\.protection),
                     [.readable, readExecute, readWrite])
      XCTAssertEqual(plan.segments.map(\.index), [1, 2, 3])
      let data = plan.segments[2]
      XCTAssertEqual(data.fileStart, 0x40_3010)
      XCTAssertEqual(data.fileEnd, 0x40_3040)
      XCTAssertEqual(data.fileOffset, 0x2010)
      XCTAssertEqual(data.memEnd, 0x40_5010)
      XCTAssertEqual(data.fileSize, 0x30)
      XCTAssertEqual(file.fileBytes(of: data).map(Array.init),
                     (0..<0x30).map { UInt8($0) })
      XCTAssertEqual(plan.entry, 0x40_1000)
      XCTAssertEqual(plan.loadBias, 0)
      XCTAssertEqual(plan.phdrAddress, 0x40_0040)
      XCTAssertEqual(plan.phent, 56)
      XCTAssertEqual(plan.phnum, 6)
      XCTAssertEqual(plan.tls, TLSTemplate(vaddr: 0x40_3010, filesz: 0x10,
                                           memsz: 0x40, align: 8))
      XCTAssertFalse(plan.stackExecutable)
      XCTAssertEqual(plan.programBreak, 0x40_6000)
      XCTAssertFalse(plan.isPositionIndependent)
      XCTAssertEqual(LoadPlan.loadBias(for: file, base: 0x5555_0000_0000),
                     0)
    }
  }

  func testGoodPositionIndependentPlansWithBias() throws {
    let bytes = goodPositionIndependent().build()
    try bytes.withUnsafeBytes { raw in
      let file = try ELFFile(bytes: raw)
      XCTAssertEqual(file.type, .sharedObject)
      let base: UInt64 = 0x5555_5555_4000
      let bias = LoadPlan.loadBias(for: file, base: base)
      XCTAssertEqual(bias, base)
      let plan = try LoadPlan(file: file, loadBias: bias,
                              userLimit: testUserLimit)
      XCTAssertEqual(plan.segments.map(\.mapStart),
                     [base, base + 0x1000, base + 0x2000])
      XCTAssertEqual(plan.segments.map(\.mapEnd),
                     [base + 0x1000, base + 0x2000, base + 0x3000])
      XCTAssertEqual(plan.segments[2].fileStart, base + 0x2800)
      XCTAssertEqual(plan.segments[2].fileOffset, 0x1800)
      XCTAssertEqual(plan.entry, base + 0x1040)
      // No PT_PHDR: the table sits at e_phoff inside the first segment.
      XCTAssertEqual(plan.phdrAddress, base + 64)
      XCTAssertNil(plan.tls)
      XCTAssertTrue(plan.stackExecutable)
      XCTAssertEqual(plan.programBreak, base + 0x3000)
      XCTAssertTrue(plan.isPositionIndependent)

      // Without a bias the first page would be page zero.
      XCTAssertThrowsError(
        try LoadPlan(file: file, loadBias: 0, userLimit: testUserLimit)
      ) { error in
        XCTAssertEqual(error as? ELFError,
                       .outsideUserSpace(start: 0, end: 0x1000))
      }
      // An unaligned bias is refused; so is any bias for ET_EXEC.
      XCTAssertThrowsError(
        try LoadPlan(file: file, loadBias: base + 0x10,
                     userLimit: testUserLimit)
      ) { error in
        XCTAssertEqual(error as? ELFError, .badLoadBias(base + 0x10))
      }
    }
    XCTAssertEqual(planError(goodExecutable().build(), bias: 0x1000),
                   .badLoadBias(0x1000))
  }

  func testLoadBiasHonoursLargeAlignmentAndLinkedAddress() throws {
    var image = goodPositionIndependent()
    image.headers[1].align = 0x20_0000
    image.headers[1].offset = 0x1000
    image.headers[1].vaddr = 0x20_1000  // congruent modulo 2 MiB
    image.entry = 0x20_1040
    var bytes = image.build()
    try bytes.withUnsafeBytes { raw in
      let file = try ELFFile(bytes: raw)
      XCTAssertEqual(LoadPlan.loadBias(for: file, base: 0x5555_5555_4000),
                     0x5555_5560_0000)
    }
    // Linked above the base already: no bias.
    image = goodPositionIndependent()
    image.headers[0].vaddr = 0x7000_0000
    image.headers[1].vaddr = 0x7000_1000
    image.headers[2].vaddr = 0x7000_2800
    image.entry = 0x7000_1040
    bytes = image.build()
    try bytes.withUnsafeBytes { raw in
      let file = try ELFFile(bytes: raw)
      XCTAssertEqual(LoadPlan.loadBias(for: file, base: 0x1000_0000), 0)
      let plan = try LoadPlan(file: file, loadBias: 0, userLimit: testUserLimit)
      XCTAssertEqual(plan.phdrAddress, 0x7000_0040)
    }
  }

  func testPlanDetails() throws {
    // No PT_GNU_STACK: not executable on x86_64 since Linux 5.8.
    var image = goodExecutable()
    image.headers[5].type = .note
    XCTAssertFalse(try plan(image).stackExecutable)

    // PT_LOAD entries out of order come out sorted.
    image = goodExecutable()
    image.headers.swapAt(1, 3)
    XCTAssertEqual(try plan(image).segments.map(\.index), [3, 2, 1])

    // A PT_LOAD with no memory maps nothing.
    image = goodExecutable()
    image.headers.append(
      programHeader(.load, readWrite, offset: 0, vaddr: 0x40_1000))
    image.phoff = 0x1800
    image.headers[0].type = .note
    XCTAssertEqual(try plan(image).segments.count, 3)

    // The table outside every segment: no AT_PHDR to report.
    XCTAssertNil(try plan(image).phdrAddress)

    // PT_PHDR wins over e_phoff when loaded memory holds what it names,
    // as the dynamic loader would trust it.
    image = goodExecutable()
    image.headers[0].vaddr = 0x40_0080
    XCTAssertEqual(try plan(image).phdrAddress, 0x40_0080)

    // A PT_PHDR outside loaded memory is not believed; e_phoff is.
    image = goodExecutable()
    image.headers[0].vaddr = 0x90_0000
    XCTAssertEqual(try plan(image).phdrAddress, 0x40_0040)

    // .tbss only: a template with no bytes may sit anywhere.
    image = goodExecutable()
    image.headers[4].filesz = 0
    image.headers[4].vaddr = 0x50_0000
    XCTAssertEqual(try plan(image).tls?.vaddr, 0x50_0000)
  }

  private func plan(_ image: ImageBuilder) throws -> LoadPlan {
    let bytes = image.build()
    return try bytes.withUnsafeBytes { raw in
      try LoadPlan(file: ELFFile(bytes: raw), loadBias: 0,
                   userLimit: testUserLimit)
    }
  }

  func testTruncationAtEveryHeaderLength() {
    let good = goodExecutable().build()
    for cut in 0..<ELFFile.headerSize {
      XCTAssertEqual(parseError(Array(good[0..<cut])), .truncated,
                     "cut at \(cut)")
    }
    // Past the header: first the table, then each segment's data.
    let tableEnd = 64 + 6 * 56
    for cut in [64, 65, 100, tableEnd - 1] {
      XCTAssertEqual(parseError(Array(good[0..<cut])),
                     .programHeadersOutOfBounds(offset: 64, count: 6),
                     "cut at \(cut)")
    }
    for cut in [tableEnd, 0x1FF] {
      XCTAssertEqual(parseError(Array(good[0..<cut])),
                     .segmentOutOfBounds(index: 1), "cut at \(cut)")
    }
    for cut in [0x200, 0x1000, 0x10FF] {
      XCTAssertEqual(parseError(Array(good[0..<cut])),
                     .segmentOutOfBounds(index: 2), "cut at \(cut)")
    }
    for cut in [0x1100, 0x2010, 0x203F] {
      XCTAssertEqual(parseError(Array(good[0..<cut])),
                     .segmentOutOfBounds(index: 3), "cut at \(cut)")
    }
    XCTAssertNil(parseError(Array(good[0..<0x2040])))
  }

  func testIdentificationErrors() {
    XCTAssertEqual(parseError(Array("hi".utf8)), .badMagic)
    XCTAssertEqual(parseError(Array("#!/bin/sh\necho hello\n".utf8)),
                   .badMagic)
    var bytes = goodExecutable().build()
    bytes[1] = 0x58
    XCTAssertEqual(parseError(bytes), .badMagic)

    var image = goodExecutable()
    image.elfClass = 1
    XCTAssertEqual(parseError(image.build()), .notELF64(1))
    image = goodExecutable()
    image.encoding = 2
    XCTAssertEqual(parseError(image.build()), .notLittleEndian(2))
    image = goodExecutable()
    image.identVersion = 0
    XCTAssertEqual(parseError(image.build()), .badVersion(0))
    image = goodExecutable()
    image.version = 2
    XCTAssertEqual(parseError(image.build()), .badVersion(2))
    image = goodExecutable()
    image.osABI = 9
    XCTAssertEqual(parseError(image.build()), .unsupportedABI(9))
    image.osABI = 3
    XCTAssertNil(parseError(image.build()))

    image = goodExecutable()
    image.machine = 183
    XCTAssertEqual(parseError(image.build()), .wrongMachine(183))
    XCTAssertTrue(ELFError.wrongMachine(183).message.contains("AArch64"))

    for (rawType, name) in [(UInt16(1), "ET_REL"), (4, "ET_CORE"),
                            (0, "ET_NONE")] {
      image = goodExecutable()
      image.type = rawType
      XCTAssertEqual(parseError(image.build()), .unsupportedType(rawType))
      XCTAssertTrue(ELFError.unsupportedType(rawType).message
                      .contains(name))
    }
  }

  func testProgramHeaderTableErrors() {
    var image = goodExecutable()
    image.phentsize = 64
    XCTAssertEqual(parseError(image.build()),
                   .badProgramHeaderEntrySize(64))

    // A table past the end of the file, and one whose end wraps.
    XCTAssertEqual(parseError(goodExecutableWithTable(at: 0x1_0000)),
                   .programHeadersOutOfBounds(offset: 0x1_0000, count: 6))
    XCTAssertEqual(parseError(goodExecutableWithTable(at: 0x2000)),
                   .programHeadersOutOfBounds(offset: 0x2000, count: 6))
    XCTAssertEqual(
      parseError(goodExecutableWithTable(at: UInt64.max - 8)),
      .programHeadersOutOfBounds(offset: UInt64.max - 8, count: 6))

    image = goodExecutable()
    image.phnum = 2000
    XCTAssertEqual(parseError(image.build()), .tooManyProgramHeaders(2000))

    // No program headers at all parses, but there is nothing to load.
    image = goodExecutable()
    image.headers = []
    XCTAssertNil(parseError(image.build()))
    XCTAssertEqual(planError(image.build()), .noLoadableSegment)
  }

  /// The good image, with e_phoff rewritten after building (so that the
  /// table bytes themselves stay where the builder put them).
  private func goodExecutableWithTable(at offset: UInt64) -> [UInt8] {
    var bytes = goodExecutable().build()
    bytes.storeLE(offset, at: 32)
    return bytes
  }

  func testSegmentErrors() {
    // Data beyond the end of the file, including a range that wraps.
    var image = goodExecutable()
    image.headers[2].offset = 0x3000
    XCTAssertEqual(parseError(image.build()), .segmentOutOfBounds(index: 2))
    image.headers[2].offset = UInt64.max - 0x10
    XCTAssertEqual(parseError(image.build()), .segmentOutOfBounds(index: 2))

    image = goodExecutable()
    image.headers[3].filesz = 0x3000
    image.headers[3].memsz = 0x2000
    image.size = 0x6000
    XCTAssertEqual(planError(image.build()),
                   .fileSizeExceedsMemorySize(index: 3))

    image = goodExecutable()
    image.headers[2].offset = 0x1001
    XCTAssertEqual(planError(image.build()), .misalignedSegment(index: 2))

    // Data overlapping the code, then merely sharing its page.
    image = goodExecutable()
    image.headers[3].vaddr = 0x40_1010
    image.headers[3].offset = 0x2010
    image.headers[4].vaddr = 0x40_1010
    XCTAssertEqual(planError(image.build()), .overlappingSegments(2, 3))
    image.headers[3].vaddr = 0x40_1110
    image.headers[3].offset = 0x2110
    image.headers[3].filesz = 0
    image.headers[4].vaddr = 0x40_1110
    image.headers[4].filesz = 0
    XCTAssertEqual(planError(image.build()), .segmentsSharePage(2, 3))

    image = goodExecutable()
    image.headers = image.headers.filter { $0.type != .load }
    XCTAssertEqual(planError(image.build()), .noLoadableSegment)
  }

  func testEntryAndAddressErrors() {
    var image = goodExecutable()
    image.entry = 0x40_3010  // data, not code
    XCTAssertEqual(planError(image.build()),
                   .entryOutsideExecutableSegments(0x40_3010))
    image.entry = 0x40_1100  // one past the code
    XCTAssertEqual(planError(image.build()),
                   .entryOutsideExecutableSegments(0x40_1100))

    image = goodExecutable()
    image.headers[3].vaddr = 0xFFFF_FFFF_FFFF_F010
    image.headers[3].offset = 0x2010
    image.headers[4].vaddr = 0xFFFF_FFFF_FFFF_F010
    XCTAssertEqual(planError(image.build()), .addressOverflow(index: 3))

    // Fits in 64 bits, not below the user limit.
    image.headers[3].vaddr = 0x7FFF_FFFF_F010
    image.headers[4].vaddr = 0x7FFF_FFFF_F010
    XCTAssertEqual(planError(image.build()),
                   .outsideUserSpace(start: 0x7FFF_FFFF_F000,
                                     end: 0x8000_0000_2000))
    XCTAssertNil(planError(image.build(), limit: 0x8000_0000_2000))

    // The bias is what overflows: the first segment's end still fits in
    // 64 bits, its page-rounded end no longer does.
    let pie = goodPositionIndependent().build()
    XCTAssertEqual(planError(pie, bias: 0xFFFF_FFFF_FFFF_F000),
                   .addressOverflow(index: 0))
    XCTAssertEqual(planError(pie, bias: 0xFFFF_FFFF_FFFF_E000,
                             limit: UInt64.max),
                   .addressOverflow(index: 1))
  }

  func testInterpreterIsRefused() throws {
    let path = Array("/lib64/ld-linux-x86-64.so.2".utf8)
    var image = goodExecutable()
    image.headers.insert(
      programHeader(.interp, .readable, offset: 0x1F0, vaddr: 0x40_01F0,
                    filesz: UInt64(path.count + 1),
                    memsz: UInt64(path.count + 1), align: 1),
      at: 1)
    image.headers[0].filesz = 7 * 56
    image.payloads.append((0x1F0, path + [0]))
    let bytes = image.build()
    try bytes.withUnsafeBytes { raw in
      let file = try ELFFile(bytes: raw)
      XCTAssertEqual(file.interpreter, path)
      XCTAssertThrowsError(
        try LoadPlan(file: file, loadBias: 0, userLimit: testUserLimit)
      ) { error in
        XCTAssertEqual(error as? ELFError, .needsInterpreter(path))
        XCTAssertEqual(
          (error as? ELFError)?.message,
          "dynamically linked (needs /lib64/ld-linux-x86-64.so.2); "
            + "Villa runs static binaries: rebuild with -static")
      }
    }
  }

  func testTLSErrors() {
    var image = goodExecutable()
    image.headers[4].filesz = 0x50  // more than p_memsz
    image.size = 0x3000
    XCTAssertEqual(planError(image.build()), .invalidTLSSegment(index: 4))
    image = goodExecutable()
    image.headers[4].align = 24
    XCTAssertEqual(planError(image.build()), .invalidTLSSegment(index: 4))
    image = goodExecutable()
    image.headers[4].vaddr = 0x60_0000
    XCTAssertEqual(planError(image.build()), .invalidTLSSegment(index: 4))
  }

  func testMessagesAreSingleLines() {
    let errors: [ELFError] = [
      .truncated, .badMagic, .notELF64(1), .notELF64(7),
      .notLittleEndian(2), .badVersion(0), .unsupportedABI(9),
      .wrongMachine(3), .wrongMachine(9999), .unsupportedType(1),
      .badProgramHeaderEntrySize(32), .tooManyProgramHeaders(5000),
      .programHeadersOutOfBounds(offset: 64, count: 3),
      .segmentOutOfBounds(index: 1), .needsInterpreter([0xFF, 0x41]),
      .fileSizeExceedsMemorySize(index: 2), .misalignedSegment(index: 2),
      .overlappingSegments(1, 2), .segmentsSharePage(1, 2),
      .noLoadableSegment, .entryOutsideExecutableSegments(0x1234),
      .addressOverflow(index: 3),
      .outsideUserSpace(start: 0, end: 0x1000), .badLoadBias(0x10),
      .invalidTLSSegment(index: 4),
    ]
    var seen = Set<String>()
    for error in errors {
      XCTAssertFalse(error.message.isEmpty)
      XCTAssertFalse(error.message.contains("\n"), error.message)
      seen.insert(error.message)
    }
    XCTAssertEqual(seen.count, errors.count, "messages tell cases apart")
    XCTAssertTrue(ELFError.notELF64(1).message.contains("32-bit"))
    XCTAssertTrue(ELFError.entryOutsideExecutableSegments(0x1234).message
                    .contains("0x1234"))
  }

  // MARK: Symbols

  private func imageWithSymbols() -> ImageBuilder {
    var image = goodExecutable()
    image.symbols = [
      TestSymbol(name: "_start", info: 0x10, value: 0x40_1000, size: 0),
      TestSymbol(name: "main", info: 0x12, value: 0x40_1010, size: 0x20),
      TestSymbol(name: "helper", info: 0x02, value: 0x40_1030, size: 0x10),
      TestSymbol(name: "counter", info: 0x11, value: 0x40_3010, size: 8),
      TestSymbol(name: "main_alias", info: 0x11, value: 0x40_1010,
                 size: 0x20),
      // Left out: a section symbol, an undefined one, a TLS variable.
      TestSymbol(name: "", info: 0x03, value: 0x40_1000, size: 0),
      TestSymbol(name: "printf", info: 0x12, sectionIndex: 0, value: 0,
                 size: 0),
      TestSymbol(name: "errno_tls", info: 0x16, value: 0x8, size: 4),
    ]
    return image
  }

  func testSymbolsAndSymbolization() throws {
    let bytes = imageWithSymbols().build()
    try bytes.withUnsafeBytes { raw in
      let file = try ELFFile(bytes: raw)
      let symbols = file.symbols()
      XCTAssertEqual(symbols.map(\.name),
                     ["_start", "main", "helper", "counter", "main_alias"])
      XCTAssertEqual(symbols[1], ELFSymbol(name: "main", value: 0x40_1010,
                                           size: 0x20, isFunction: true))
      XCTAssertFalse(symbols[3].isFunction)

      let table = ELFSymbolTable(file: file)
      func lookup(_ address: UInt64) -> String? {
        table.symbolize(address).map { "\($0.name)+\($0.offset)" }
      }
      XCTAssertEqual(lookup(0x40_1003), "_start+3")
      // The function wins over the object at the same address.
      XCTAssertEqual(lookup(0x40_1015), "main+5")
      XCTAssertEqual(lookup(0x40_1030), "helper+0")
      XCTAssertEqual(lookup(0x40_103F), "helper+15")
      XCTAssertNil(lookup(0x40_1040), "past helper's end")
      XCTAssertNil(lookup(0x3F_FFFF), "below every symbol")
      XCTAssertEqual(lookup(0x40_3017), "counter+7")
    }
  }

  func testMalformedSymbolTablesGiveNoSymbols() throws {
    let good = imageWithSymbols().build()
    let sections = Int(good.wordLE(at: 40))
    func symbols(_ bytes: [UInt8]) throws -> [ELFSymbol] {
      try bytes.withUnsafeBytes { raw in try ELFFile(bytes: raw).symbols() }
    }
    XCTAssertEqual(try symbols(good).count, 5)
    XCTAssertEqual(try symbols(goodExecutable().build()), [])

    var bytes = good
    bytes.storeLE(UInt32(9), at: sections + 64 + 40)  // sh_link out of range
    XCTAssertEqual(try symbols(bytes), [])
    bytes = good
    bytes.storeLE(UInt64(0x100_0000), at: sections + 64 + 24)  // symtab offset
    XCTAssertEqual(try symbols(bytes), [])
    bytes = good
    bytes.storeLE(UInt64(UInt64.max), at: sections + 128 + 32)  // strtab size
    XCTAssertEqual(try symbols(bytes), [])
    bytes = good
    bytes.storeLE(UInt64(16), at: sections + 64 + 56)  // symbol entry size
    XCTAssertEqual(try symbols(bytes), [])
    bytes = good
    bytes.storeLE(UInt16(60), at: 58)  // e_shentsize
    XCTAssertEqual(try symbols(bytes), [])
    bytes = good
    bytes.storeLE(UInt64(bytes.count - 10), at: 40)  // table past the end
    XCTAssertEqual(try symbols(bytes), [])

    // A name offset past the string table drops only that symbol.
    bytes = good
    let symtab = Int(good.wordLE(at: sections + 64 + 24))
    bytes.storeLE(UInt32(0xFFFF), at: symtab + 2 * 24)  // "main"
    XCTAssertEqual(try symbols(bytes).map(\.name),
                   ["_start", "helper", "counter", "main_alias"])
  }

  // MARK: Fuzzing

  func testRandomCorruptionNeverCrashes() {
    var random = SplitMix64(seed: 0x5EED_1234)
    let good = imageWithSymbols().build()
    var parsed = 0
    var planned = 0
    var refused = 0
    for _ in 0..<4000 {
      var bytes = good
      for _ in 0..<(1 + random.next(below: 4)) {
        mutate(&bytes, with: &random)
      }
      bytes.withUnsafeBytes { raw in
        guard let file = try? ELFFile(bytes: raw) else {
          refused += 1
          return
        }
        parsed += 1
        let table = ELFSymbolTable(file: file)
        for _ in 0..<8 { _ = table.symbolize(random.nextWord()) }
        let bias = LoadPlan.loadBias(for: file, base: 0x5555_5555_4000)
        guard let plan = try? LoadPlan(file: file, loadBias: bias,
                                       userLimit: testUserLimit)
        else { return }
        planned += 1
        checkInvariants(plan, file: file)
      }
    }
    // The mutations must exercise both outcomes, or the test proves little.
    XCTAssertGreaterThan(refused, 100)
    XCTAssertGreaterThan(parsed, 100)
    XCTAssertGreaterThan(planned, 100)
  }

  private func mutate(_ bytes: inout [UInt8],
                      with random: inout SplitMix64)
  {
    // Mostly the header and program headers, where the structure is.
    let hot = 64 + 6 * 56
    switch random.next(below: 6) {
    case 0:
      bytes = Array(bytes[0..<random.next(below: bytes.count)])
    case 1, 2:
      guard !bytes.isEmpty else { return }
      let at = random.next(below: min(hot, bytes.count))
      bytes[at] = UInt8(truncatingIfNeeded: random.nextWord())
    case 3:
      let at = random.next(below: hot / 8) * 8
      guard at + 8 <= bytes.count else { return }
      let values: [UInt64] = [0, 1, 0x1000, 0x40_1000, UInt64.max,
                              UInt64.max - 0xFFF, 1 << 63,
                              random.nextWord()]
      bytes.storeLE(values[random.next(below: values.count)], at: at)
    default:
      guard !bytes.isEmpty else { return }
      let at = random.next(below: bytes.count)
      bytes[at] ^= UInt8(1) << UInt8(random.next(below: 8))
    }
  }

  /// What a kernel following the plan relies on.
  private func checkInvariants(_ plan: LoadPlan, file: ELFFile) {
    let page = LoadPlan.pageSize
    var previousEnd: UInt64 = 0
    for segment in plan.segments {
      XCTAssertEqual(segment.mapStart % page, 0)
      XCTAssertEqual(segment.mapEnd % page, 0)
      XCTAssertGreaterThanOrEqual(segment.mapStart, previousEnd)
      XCTAssertGreaterThanOrEqual(segment.mapStart, page)
      XCTAssertLessThanOrEqual(segment.mapEnd, testUserLimit)
      XCTAssertTrue(segment.mapStart <= segment.fileStart
                      && segment.fileStart <= segment.fileEnd
                      && segment.fileEnd <= segment.memEnd
                      && segment.memEnd <= segment.mapEnd)
      XCTAssertEqual(file.fileBytes(of: segment)?.count,
                     Int(segment.fileSize))
      previousEnd = segment.mapEnd
    }
    XCTAssertTrue(plan.segments.contains {
      $0.protection.contains(.executable)
        && $0.fileStart <= plan.entry && plan.entry < $0.memEnd
    })
    XCTAssertEqual(plan.programBreak, previousEnd)
    if let phdr = plan.phdrAddress {
      XCTAssertTrue(plan.segments.contains {
        $0.fileStart <= phdr && phdr < $0.fileEnd
      })
    }
  }

  // MARK: Real programs

  func testRealStaticPrograms() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let source = directory.appendingPathComponent("hello.c")
    try """
      #include <stdio.h>
      __thread int counter = 1;
      int main(void) { printf("hello %d\\n", counter); return 0; }
      """.write(to: source, atomically: true, encoding: .utf8)

    guard let gcc = findTool("gcc") else {
      throw XCTSkip("gcc is not installed")
    }
    let glibc = directory.appendingPathComponent("hello-static")
    try run(gcc, ["-static", "-O1", "-o", glibc.path, source.path])
    let bytes = try Array(Data(contentsOf: glibc))
    try bytes.withUnsafeBytes { raw in
      let file = try ELFFile(bytes: raw)
      XCTAssertEqual(file.type, .executable)
      let plan = try LoadPlan(file: file, loadBias: 0, userLimit: testUserLimit)
      checkInvariants(plan, file: file)
      XCTAssertNotNil(plan.tls, "glibc's static programs carry PT_TLS")
      XCTAssertFalse(plan.stackExecutable)
      // ld puts the headers at the start of the first segment.
      XCTAssertEqual(plan.phdrAddress,
                     plan.segments[0].fileStart + file.programHeaderOffset)
      try compareWithReadelf(file, path: glibc.path)

      let main = try XCTUnwrap(file.symbols().first { $0.name == "main" })
      XCTAssertTrue(main.isFunction)
      let table = ELFSymbolTable(file: file)
      XCTAssertEqual(table.symbolize(main.value + 1)?.name, "main")
      XCTAssertEqual(table.symbolize(main.value + 1)?.offset, 1)
    }

    let pie = directory.appendingPathComponent("hello-static-pie")
    try run(gcc, ["-static-pie", "-O1", "-o", pie.path, source.path])
    let pieBytes = try Array(Data(contentsOf: pie))
    try pieBytes.withUnsafeBytes { raw in
      let file = try ELFFile(bytes: raw)
      XCTAssertEqual(file.type, .sharedObject)
      let bias = LoadPlan.loadBias(for: file, base: 0x5555_5555_4000)
      let plan = try LoadPlan(file: file, loadBias: bias,
                              userLimit: testUserLimit)
      checkInvariants(plan, file: file)
      XCTAssertTrue(plan.isPositionIndependent)
      XCTAssertEqual(plan.entry, file.entry + bias)
      XCTAssertNotNil(plan.tls)
      try compareWithReadelf(file, path: pie.path)
    }

    let dynamic = directory.appendingPathComponent("hello-dynamic")
    try run(gcc, ["-O1", "-o", dynamic.path, source.path])
    let dynamicBytes = try Array(Data(contentsOf: dynamic))
    XCTAssertEqual(planError(dynamicBytes),
                   .needsInterpreter(Array(
                     "/lib64/ld-linux-x86-64.so.2".utf8)))

    if let musl = findTool("musl-gcc") {
      let output = directory.appendingPathComponent("hello-musl")
      try run(musl, ["-static", "-O1", "-o", output.path, source.path])
      let muslBytes = try Array(Data(contentsOf: output))
      try muslBytes.withUnsafeBytes { raw in
        let file = try ELFFile(bytes: raw)
        let plan = try LoadPlan(file: file, loadBias: 0,
                                userLimit: testUserLimit)
        checkInvariants(plan, file: file)
        XCTAssertNotNil(plan.tls)
        try compareWithReadelf(file, path: output.path)
      }
    }
  }

  /// Checks the PT_LOAD headers against binutils' reading of the file.
  private func compareWithReadelf(_ file: ELFFile, path: String) throws {
    guard let readelf = findTool("readelf") else { return }
    let output = try run(readelf, ["-lW", path])
    let loads = output.split(separator: "\n")
      .map { $0.split(separator: " ") }
      .filter { $0.first == "LOAD" }
      .map { fields in fields[1...5].map { UInt64($0.dropFirst(2),
                                                   radix: 16) ?? 0 } }
    let ours = file.programHeaders.filter { $0.type == .load }
      .map { [$0.offset, $0.vaddr, $0.vaddr, $0.filesz, $0.memsz] }
    XCTAssertEqual(loads, ours)
    XCTAssertFalse(ours.isEmpty)
  }

  private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("villa-elf-\(UUID().uuidString)")
    try FileManager.default.createDirectory(
      at: url, withIntermediateDirectories: true)
    return url
  }

  private func findTool(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
    for directory in path.split(separator: ":") {
      let candidate = "\(directory)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) {
        return candidate
      }
    }
    return nil
  }

  @discardableResult
  private func run(_ tool: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: output, as: UTF8.self)
    if process.terminationStatus != 0 {
      throw XCTSkip("\(tool) failed: \(text)")
    }
    return text
  }

  // MARK: Initial stack

  private let random: [UInt8] = Array(1...16)
  private let auxiliary: [(type: UInt64, value: UInt64)] = [
    (6, 4096), (3, 0x40_0040), (4, 56), (5, 7), (9, 0x40_1000), (23, 0),
  ]

  func testInitialStackLayout() throws {
    let top: UInt64 = 0x7FFF_FFFF_E000
    let arguments = ["/bin/prog", "-x", ""].map { Array($0.utf8) }
    let environment = ["A=1", "PATH=/bin"].map { Array($0.utf8) }
    let stack = try InitialStack.build(
      stackTop: top, arguments: arguments, environment: environment,
      auxiliary: auxiliary, random: random,
      executableName: Array("/bin/prog".utf8),
      platform: Array("x86_64".utf8))
    let decoded = try decode(stack)

    XCTAssertEqual(stack.stackPointer % 16, 0)
    XCTAssertEqual(UInt64(stack.bytes.count), top - stack.stackPointer)
    XCTAssertEqual(decoded.arguments, arguments)
    XCTAssertEqual(decoded.environment, environment)
    XCTAssertEqual(decoded.auxiliary.map(\.0),
                   [6, 3, 4, 5, 9, 23, 25, 31, 15])
    XCTAssertEqual(decoded.auxiliary[0].1, 4096)
    XCTAssertEqual(decoded.auxiliary[4].1, 0x40_1000)

    let randomAddress = decoded.auxiliary[6].1
    XCTAssertEqual(randomAddress, stack.randomAddress)
    let at = Int(randomAddress - stack.stackPointer)
    XCTAssertEqual(Array(stack.bytes[at..<at + 16]), random)
    XCTAssertEqual(try string(at: decoded.auxiliary[7].1, in: stack),
                   Array("/bin/prog".utf8))
    XCTAssertEqual(try string(at: decoded.auxiliary[8].1, in: stack),
                   Array("x86_64".utf8))

    // The end marker, and the strings packed in Linux's order: argv then
    // envp, contiguous, ending just below AT_EXECFN.
    XCTAssertEqual(stack.bytes.suffix(8), [0, 0, 0, 0, 0, 0, 0, 0])
    XCTAssertEqual(stack.argumentArea.lowerBound,
                   stack.argumentAddresses[0])
    XCTAssertEqual(stack.argumentArea.upperBound,
                   stack.environmentAddresses[0])
    XCTAssertEqual(stack.argumentArea.count, 10 + 3 + 1)
    XCTAssertEqual(stack.environmentArea.upperBound,
                   stack.executableNameAddress)
    XCTAssertEqual(stack.auxiliaryAddress,
                   stack.stackPointer + UInt64(8 * (1 + 4 + 3)))
  }

  func testInitialStackAlignmentForEveryShape() throws {
    for topOffset in UInt64(0)..<16 {
      for argumentCount in 0..<4 {
        for environmentCount in 0..<3 {
          let top = 0x7FFF_0000_0000 + topOffset
          let arguments = (0..<argumentCount).map {
            Array(String(repeating: "a", count: $0 * 3 + 1).utf8)
          }
          let environment = (0..<environmentCount).map {
            Array("K\($0)=\(String(repeating: "v", count: $0))".utf8)
          }
          let stack = try InitialStack.build(
            stackTop: top, arguments: arguments, environment: environment,
            auxiliary: auxiliary, random: random,
            executableName: Array("p".utf8),
            platform: topOffset % 2 == 0 ? Array("x86_64".utf8) : [])
          XCTAssertEqual(stack.stackPointer % 16, 0)
          let decoded = try decode(stack)
          XCTAssertEqual(decoded.arguments, arguments)
          XCTAssertEqual(decoded.environment, environment)
          XCTAssertEqual(decoded.auxiliary.contains { $0.0 == 15 },
                         topOffset % 2 == 0)
          XCTAssertEqual(stack.platformAddress == nil, topOffset % 2 == 1)
        }
      }
    }
  }

  func testInitialStackRefusals() {
    func error(arguments: [[UInt8]] = [[0x61]],
               auxiliary: [(type: UInt64, value: UInt64)] = [],
               random: [UInt8] = Array(1...16),
               top: UInt64 = 0x7FFF_0000_0000) -> InitialStackError?
    {
      do {
        _ = try InitialStack.build(
          stackTop: top, arguments: arguments, environment: [],
          auxiliary: auxiliary, random: random,
          executableName: [0x61], platform: [0x61])
        return nil
      } catch {
        return error
      }
    }
    XCTAssertNil(error())
    XCTAssertEqual(error(arguments: [[0x61, 0, 0x62]]), .nulInString)
    for reserved: UInt64 in [0, 15, 25, 31] {
      XCTAssertEqual(error(auxiliary: [(reserved, 1)]),
                     .reservedAuxiliaryType(reserved))
    }
    XCTAssertEqual(error(random: [1, 2, 3]), .badRandomLength(3))
    XCTAssertEqual(error(top: 100), .doesNotFit)
    XCTAssertFalse(InitialStackError.doesNotFit.message.isEmpty)
  }

  private struct DecodedStack {
    var arguments: [[UInt8]] = []
    var environment: [[UInt8]] = []
    var auxiliary: [(UInt64, UInt64)] = []  // without AT_NULL
  }

  /// Reads the stack back the way a libc's _start does.
  private func decode(_ stack: InitialStack) throws -> DecodedStack {
    let bytes = stack.bytes
    var decoded = DecodedStack()
    var at = 0
    func next() throws -> UInt64 {
      guard at + 8 <= bytes.count else {
        throw XCTSkip("ran off the stack image")
      }
      defer { at += 8 }
      return bytes.wordLE(at: at)
    }
    let argc = try next()
    for _ in 0..<argc {
      decoded.arguments.append(try string(at: try next(), in: stack))
    }
    XCTAssertEqual(try next(), 0, "argv ends with NULL")
    while true {
      let pointer = try next()
      if pointer == 0 { break }
      decoded.environment.append(try string(at: pointer, in: stack))
    }
    while true {
      let type = try next()
      let value = try next()
      if type == 0 {
        XCTAssertEqual(value, 0)
        break
      }
      decoded.auxiliary.append((type, value))
    }
    return decoded
  }

  /// The NUL-terminated string at a stack address.
  private func string(at address: UInt64, in stack: InitialStack) throws
    -> [UInt8]
  {
    XCTAssertGreaterThanOrEqual(address, stack.stackPointer)
    XCTAssertLessThan(address, stack.stackTop)
    let start = Int(address - stack.stackPointer)
    let tail = stack.bytes[start...]
    let end = try XCTUnwrap(tail.firstIndex(of: 0), "string not terminated")
    return Array(stack.bytes[start..<end])
  }
}

/// A small seeded generator (SplitMix64), so that fuzzing is repeatable.
private struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }

  mutating func nextWord() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func next(below bound: Int) -> Int {
    Int(nextWord() % UInt64(max(bound, 1)))
  }
}
