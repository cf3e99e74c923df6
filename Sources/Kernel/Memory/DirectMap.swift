// The direct map: all physical memory appears in the kernel's address
// space at DirectMap.base + physical address. The kernel image is linked
// inside it (see arch/x86_64/kernel.ld), so kernel virtual addresses and
// physical addresses differ by one constant, and any page frame can be
// touched without mapping it first.
//
// The base is the last top-level slot of the lower canonical half; user
// address spaces end below it (AddressSpace.userLimit).

enum DirectMap {
  static let base: UInt64 = 0x7F80_0000_0000
  /// The direct map's span: one top-level slot, 512 GiB.
  static let size: UInt64 = 0x80_0000_0000

  static func pointer(_ physical: UInt64) -> UnsafeMutableRawPointer {
    // Safe by construction: every physical address below `size` is mapped.
    UnsafeMutableRawPointer(bitPattern: UInt(base + physical))!
  }

  static func physical(_ pointer: UnsafeRawPointer) -> UInt64 {
    UInt64(UInt(bitPattern: pointer)) - base
  }

  static func physical(virtual address: UInt64) -> UInt64 {
    address - base
  }

  static func contains(virtual address: UInt64) -> Bool {
    address >= base && address - base < size
  }
}
