// The C symbols that Embedded Swift's runtime calls: allocation, the byte
// sink behind `print`, and random bytes for hash seeding. The kernel has
// no C library; these route into the kernel's own heap, log and entropy.

import Arch

@_cdecl("posix_memalign")
func posix_memalign(
  _ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>,
  _ alignment: Int, _ size: Int
) -> Int32 {
  guard let pointer = Heap.allocate(size: size, alignment: alignment) else {
    panic("out of memory: the heap could not find \(size) bytes")
  }
  result.pointee = pointer
  return 0
}

@_cdecl("free")
func free(_ pointer: UnsafeMutableRawPointer?) {
  if let pointer { Heap.free(pointer) }
}

/// `print` in kernel code would land here. The kernel logs through Logger
/// instead; stray prints still reach the kernel channel rather than vanish.
@_cdecl("putchar")
func putchar(_ c: Int32) -> Int32 {
  SerialPort.kernelChannel.write(UInt8(truncatingIfNeeded: c))
  return c
}

@_cdecl("arc4random_buf")
func arc4random_buf(_ buffer: UnsafeMutableRawPointer, _ count: Int) {
  Entropy.fill(UnsafeMutableRawBufferPointer(start: buffer, count: count))
}
