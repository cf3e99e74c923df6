// The vDSO: a small shared object (arch/x86_64/vdso/) that answers
// clock_gettime, gettimeofday, time and getcpu in user mode, and the
// vvar page of time data it reads (Platform/Clock.swift writes it).
//
// At boot the embedded image is copied once into frames of its own;
// every process then maps those same frames, read-only, with the vvar
// page directly below the ELF header (where vdso.lds expects it), and
// learns the header's address from AT_SYSINFO_EHDR. The C libraries and
// Go find the functions through the object's dynamic symbol table.

import Arch

private let log = Logger("vdso")

enum VDSO {
  private static var frames: [UInt64] = []

  /// Where the vvar page goes; the vDSO's header follows one page up.
  /// Above mmapTop, so mmap never hands the range out by itself.
  static let vvarAddress = AddressSpace.mmapTop

  static func initialize() {
    let size = Int(arch_vdso_image_size())
    let image = UnsafeRawBufferPointer(start: arch_vdso_image(), count: size)
    // Built by tools/build-kernel.sh; anything but an ELF is a build bug.
    guard size >= 4, image[0] == 0x7F, image[1] == 0x45, image[2] == 0x4C,
      image[3] == 0x46
    else { panic("the embedded vDSO is not an ELF image") }

    var offset = 0
    while offset < size {
      guard let frame = FrameAllocator.allocateZeroed() else {
        panic("no memory for the vDSO")
      }
      let chunk = min(Int(AddressSpace.pageSize), size - offset)
      DirectMap.pointer(frame).copyMemory(
        from: image.baseAddress! + offset, byteCount: chunk)
      frames.append(frame)
      offset += chunk
    }
    log.debug("\(size) bytes in \(frames.count) pages")
  }

  /// Maps vvar and the vDSO into `space`; returns the vDSO's address
  /// for AT_SYSINFO_EHDR, or nil when page tables ran out of memory.
  static func map(into space: AddressSpace) -> UInt64? {
    let text = vvarAddress + AddressSpace.pageSize
    guard !frames.isEmpty,
      space.mapKernelFrames([Clock.vvarFrame], at: vvarAddress,
                            protection: [.read], kind: .vvar),
      space.mapKernelFrames(frames, at: text,
                            protection: [.read, .execute], kind: .vdso)
    else { return nil }
    return text
  }
}
