// Symbols from an ELF file's section headers, for the host: `villa` turns
// the kernel's raw return addresses into "function+offset". Section headers
// are optional at run time (strip removes the symbol table, and loaders
// never read them), so every step here is checked and a malformed or
// missing table yields no symbols rather than an error.

/// A defined code or data symbol from .symtab (or .dynsym without one).
public struct ELFSymbol: Equatable, Sendable {
  public var name: String
  /// st_value: the symbol's address, unbiased.
  public var value: UInt64
  /// st_size: 0 for labels whose extent the assembler did not record.
  public var size: UInt64
  /// STT_FUNC or STT_GNU_IFUNC.
  public var isFunction: Bool

  public init(name: String, value: UInt64, size: UInt64, isFunction: Bool) {
    self.name = name
    self.value = value
    self.size = size
    self.isFunction = isFunction
  }
}

/// The section header fields the symbol reader uses.
struct SectionHeader {
  var type: UInt32
  var offset: UInt64
  var size: UInt64
  var link: UInt32
  var entrySize: UInt64
}

extension ELFFile {
  static let sectionHeaderSize = 64
  static let symbolSize: UInt64 = 24
  static let sectionTypeSymtab: UInt32 = 2
  static let sectionTypeStrtab: UInt32 = 3
  static let sectionTypeDynsym: UInt32 = 11

  /// The defined functions and objects of the file's symbol table, in
  /// table order; [] if it has none or it is malformed. Section, file and
  /// TLS symbols are left out: their values are not addresses.
  public func symbols() -> [ELFSymbol] {
    guard let sections = sectionHeaders() else { return [] }
    let table = sections.first { $0.type == ELFFile.sectionTypeSymtab }
      ?? sections.first { $0.type == ELFFile.sectionTypeDynsym }
    guard let table,
          table.entrySize == ELFFile.symbolSize,
          Int(table.link) < sections.count,
          bytes.contains(offset: table.offset, length: table.size)
    else { return [] }
    let strings = sections[Int(table.link)]
    guard strings.type == ELFFile.sectionTypeStrtab,
          bytes.contains(offset: strings.offset, length: strings.size)
    else { return [] }
    let names = bytes.slice(offset: strings.offset, length: strings.size)

    var found: [ELFSymbol] = []
    let count = Int(table.size / ELFFile.symbolSize)
    // Entry 0 is the reserved undefined symbol.
    for i in 1..<max(count, 1) {
      let at = Int(table.offset) + i * Int(ELFFile.symbolSize)
      let info = bytes[at + 4]
      let sectionIndex = bytes.elfUInt16(at: at + 6)
      let kind = info & 0xF
      // STT_NOTYPE (assembly labels), STT_OBJECT, STT_FUNC, STT_GNU_IFUNC.
      guard sectionIndex != 0, kind == 0 || kind == 1 || kind == 2
              || kind == 10,
            let name = ELFFile.name(at: bytes.elfUInt32(at: at), in: names),
            !name.isEmpty
      else { continue }
      found.append(ELFSymbol(
        name: name, value: bytes.elfUInt64(at: at + 8),
        size: bytes.elfUInt64(at: at + 16),
        isFunction: kind == 2 || kind == 10))
    }
    return found
  }

  /// The section header table, or nil if it is absent or out of bounds.
  func sectionHeaders() -> [SectionHeader]? {
    let offset = sectionHeaderOffset
    guard offset != 0,
          sectionHeaderEntrySize == ELFFile.sectionHeaderSize,
          bytes.contains(offset: offset,
                         length: UInt64(ELFFile.sectionHeaderSize))
    else { return nil }

    // With 0xff00 sections or more, e_shnum is 0 and the real count is in
    // section 0's sh_size (gABI, "Sections").
    var count = UInt64(sectionHeaderCount)
    if count == 0 { count = bytes.elfUInt64(at: Int(offset) + 32) }
    let limit = UInt64(bytes.count / ELFFile.sectionHeaderSize)
    guard count > 0, count <= limit,
          bytes.contains(offset: offset,
                         length: count * UInt64(ELFFile.sectionHeaderSize))
    else { return nil }

    var headers: [SectionHeader] = []
    headers.reserveCapacity(Int(count))
    for i in 0..<Int(count) {
      let at = Int(offset) + i * ELFFile.sectionHeaderSize
      headers.append(SectionHeader(
        type: bytes.elfUInt32(at: at + 4),
        offset: bytes.elfUInt64(at: at + 24),
        size: bytes.elfUInt64(at: at + 32),
        link: bytes.elfUInt32(at: at + 40),
        entrySize: bytes.elfUInt64(at: at + 56)))
    }
    return headers
  }

  /// The NUL-terminated name at `offset` in a string table, or nil if it
  /// starts outside the table or runs off its end.
  static func name(at offset: UInt32, in table: UnsafeRawBufferPointer)
    -> String?
  {
    let start = Int(offset)
    guard start < table.count else { return nil }
    let rest = UnsafeRawBufferPointer(rebasing: table[start...])
    guard let length = rest.firstIndex(of: 0) else { return nil }
    return String(decoding: UnsafeRawBufferPointer(
      rebasing: rest[..<length]), as: UTF8.self)
  }
}

/// Symbols sorted by address, for turning addresses into "name+offset".
public struct ELFSymbolTable: Sendable {
  /// Ascending by value; at equal values functions first, then the
  /// largest, so the most telling name wins.
  public let symbols: [ELFSymbol]

  public init(_ symbols: [ELFSymbol]) {
    self.symbols = symbols.sorted { a, b in
      if a.value != b.value { return a.value < b.value }
      if a.isFunction != b.isFunction { return a.isFunction }
      return a.size > b.size
    }
  }

  public init(file: ELFFile) {
    self.init(file.symbols())
  }

  /// The symbol holding `address` and the distance into it. A sized
  /// symbol holds its [value, value + size); a symbol of size 0 (an
  /// assembly label) holds everything up to the next symbol. nil when the
  /// nearest symbol below is sized and ends before `address`.
  public func symbolize(_ address: UInt64)
    -> (name: String, offset: UInt64)?
  {
    // Binary search for the first symbol above the address.
    var low = 0
    var high = symbols.count
    while low < high {
      let middle = low + (high - low) / 2
      if symbols[middle].value <= address {
        low = middle + 1
      } else {
        high = middle
      }
    }
    guard low > 0 else { return nil }

    // Among the symbols at the nearest value, in sort order.
    let value = symbols[low - 1].value
    let offset = address - value
    var first = low - 1
    while first > 0 && symbols[first - 1].value == value { first -= 1 }
    var label: ELFSymbol? = nil
    for symbol in symbols[first..<low] {
      if symbol.size > offset { return (symbol.name, offset) }
      if symbol.size == 0 && label == nil { label = symbol }
    }
    if let label { return (label.name, offset) }
    return nil
  }
}
