// Turning a panic's `@frame` addresses into function names.
//
// The kernel knows no symbol names (they would bloat it); it sends raw
// return addresses, and the host looks them up in the kernel ELF's symbol
// table with ELFFormat. Swift symbols are mangled; when the toolchain's
// demangler is on PATH its simplified form replaces them, and when it is
// not the mangled names are still exact, only harder to read.

import ELFFormat

/// One frame of a kernel backtrace.
public struct BacktraceFrame: Equatable, Sendable {
  public var address: UInt64
  /// The function holding the address, if the symbol table knows it.
  public var symbol: String?
  /// The distance from the symbol's start.
  public var offset: UInt64

  public init(address: UInt64, symbol: String?, offset: UInt64) {
    self.address = address
    self.symbol = symbol
    self.offset = offset
  }

  /// "  #3 0xADDR symbol+0xOFF" (or "?" for an unknown address).
  public func line(index: Int) -> String {
    let place = symbol.map { "\($0)+0x\(String(offset, radix: 16))" } ?? "?"
    return "  #\(index) 0x\(String(address, radix: 16)) \(place)"
  }
}

/// The code symbols of one ELF file, for naming addresses in it: only
/// symbols and addresses inside the file's executable segments count.
/// Otherwise an unsized data label such as `_end` would claim every
/// address above it, and a corrupt frame would get a plausible-looking
/// name. An unreadable file has no symbols.
public struct CodeSymbols: Sendable {
  private let table: ELFSymbolTable
  private let ranges: [Range<UInt64>]
  /// What was added to the file's addresses when it was loaded (a
  /// static PIE's load bias); subtracted before looking up.
  public let bias: UInt64

  public init(elf: [UInt8], bias: UInt64 = 0) {
    self.bias = bias
    let found: (ELFSymbolTable, [Range<UInt64>])? = elf.withUnsafeBytes {
      raw in
      guard let file = try? ELFFile(bytes: raw) else { return nil }
      let ranges = file.programHeaders.compactMap { header in
        header.type == .load && header.flags.contains(.executable)
          && header.vaddr <= UInt64.max - header.memsz
          ? header.vaddr..<(header.vaddr + header.memsz) : nil
      }
      let symbols = file.symbols().filter { symbol in
        ranges.contains { $0.contains(symbol.value) }
      }
      return (ELFSymbolTable(symbols), ranges)
    }
    table = found?.0 ?? ELFSymbolTable([])
    ranges = found?.1 ?? []
  }

  /// The function holding the loaded address `address`, and the distance
  /// into it.
  public func lookup(_ address: UInt64) -> (name: String, offset: UInt64)? {
    let unbiased = address &- bias
    guard ranges.contains(where: { $0.contains(unbiased) }) else {
      return nil
    }
    return table.symbolize(unbiased)
  }

  /// Like `lookup`, for a return address: the call that pushed it is the
  /// instruction before, so an address at a function's very start, or
  /// just past its end, belongs to the previous function (a call that
  /// never returns ends it).
  public func lookup(returnAddress address: UInt64)
    -> (name: String, offset: UInt64)?
  {
    let found = lookup(address)
    if found == nil || found?.offset == 0, address > 0,
      let caller = lookup(address - 1)
    {
      return (caller.name, caller.offset + 1)
    }
    return found
  }
}

/// Symbolizes `addresses` with the symbols of the ELF file `kernel`;
/// frames keep a nil symbol when the file has no symbol for them.
public func symbolizeBacktrace(_ addresses: [UInt64], kernel: [UInt8])
  -> [BacktraceFrame]
{
  let code = CodeSymbols(elf: kernel)
  return addresses.enumerated().map { index, address in
    // Frames after the first are return addresses. (The first frame may
    // be the faulting instruction itself: taken as is.)
    let found = index == 0
      ? code.lookup(address) : code.lookup(returnAddress: address)
    guard let found else {
      return BacktraceFrame(address: address, symbol: nil, offset: 0)
    }
    return BacktraceFrame(
      address: address, symbol: found.name, offset: found.offset)
  }
}

/// Replaces mangled Swift names by their simplified demangled form, using
/// the toolchain's swift-demangle if it can be run; unchanged otherwise.
public func demangleSymbols(_ frames: [BacktraceFrame]) -> [BacktraceFrame] {
  let names = demangledNames(frames.compactMap(\.symbol))
  return frames.map { frame in
    var copy = frame
    if let symbol = frame.symbol, let readable = names[symbol] {
      copy.symbol = readable
    }
    return copy
  }
}

/// The simplified demangled form of each mangled Swift name among
/// `symbols`, keyed by the mangled name; empty without a demangler.
public func demangledNames(_ symbols: [String]) -> [String: String] {
  let mangled = Array(Set(symbols.filter(isMangledSwift)))
  guard !mangled.isEmpty else { return [:] }

  // With --compact, one name per argument gives one line per name back,
  // in order.
  var names: [String: String] = [:]
  for command in [["swift-demangle"], ["swift", "demangle"]] {
    guard let result = try? POSIX.runCapturing(
      command + ["--compact", "--simplified"] + mangled,
      mergeErrors: false),
      result.status == .exited(0)
    else { continue }
    let lines = String(decoding: result.output, as: UTF8.self)
      .split(separator: "\n", omittingEmptySubsequences: false)
    guard lines.count >= mangled.count else { continue }
    for (name, line) in zip(mangled, lines) where !line.isEmpty {
      names[name] = String(line)
    }
    break
  }
  return names
}

/// Swift's mangling prefixes: "$s" (Swift 5 and later), "$e" (Embedded
/// Swift, which the kernel is), each also with a leading underscore.
private func isMangledSwift(_ name: String) -> Bool {
  ["$s", "_$s", "$e", "_$e"].contains { name.hasPrefix($0) }
}
