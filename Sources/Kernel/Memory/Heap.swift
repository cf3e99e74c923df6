// The kernel heap behind Swift's allocations (posix_memalign and free).
//
// Small requests (up to 2 KiB) come from power-of-two size classes: a page
// is cut into equal blocks and free blocks are kept on a list per class.
// Every block is aligned to its own size, which satisfies any alignment up
// to that size. Larger requests take whole buddy blocks from the frame
// allocator and give them back on free. Which of the two a pointer is, and
// its class or order, is read from the frame table, so free needs no
// header in front of each block.
//
// Until the frame allocator is ready (it needs arrays to read the memory
// map), pages come from a small bootstrap area in the kernel image.
//
// TODO(memory): pages of a size class are never returned to the frame
// allocator once cut, even when all their blocks are free again.

import Arch

enum Heap {
  /// Class i holds blocks of 16 << i bytes: 16 bytes to 2 KiB. (A
  /// function, not an array: the heap must not allocate to serve itself.)
  static func classSize(_ i: Int) -> Int { 16 << i }

  /// Head of each class's free list (a pointer stored in the free block).
  private static var freeLists = (
    UInt(0), UInt(0), UInt(0), UInt(0), UInt(0), UInt(0), UInt(0), UInt(0))

  private(set) static var bytesInUse = 0
  private(set) static var peakBytesInUse = 0

  // MARK: Bootstrap pages

  private static let bootstrapPages = 64
  private static var bootstrapUsed = 0
  /// The class of each bootstrap page, in bits 0...3 of a nibble array.
  private static var bootstrapClasses = (UInt64(0), UInt64(0), UInt64(0),
                                         UInt64(0))
  static var bootstrapArea: UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(bitPattern: UInt(arch_heap_bootstrap_area()))!
  }

  static var frameAllocatorReady = false

  // MARK: Allocation

  static func allocate(size: Int, alignment: Int) -> UnsafeMutableRawPointer? {
    let needed = max(size, alignment, 16)
    let guardState = InterruptGuard()
    defer { guardState.restore() }

    if needed <= 2048 {
      let sizeClass = classIndex(for: needed)
      if freeHead(sizeClass) == 0 && !refill(sizeClass) { return nil }
      let block = freeHead(sizeClass)
      let pointer = UnsafeMutableRawPointer(bitPattern: block)!
      setFreeHead(sizeClass, pointer.load(as: UInt.self))
      account(classSize(sizeClass))
      return pointer
    }

    let pages = (UInt64(needed) + FrameAllocator.pageSize - 1)
      / FrameAllocator.pageSize
    let order = orderFor(pages: pages)
    guard frameAllocatorReady,
      let physical = FrameAllocator.allocate(order: order)
    else { return nil }
    FrameAllocator.setTag(physical / FrameAllocator.pageSize,
                          .heapLargeHead, order: order)
    account(Int(FrameAllocator.pageSize) << order)
    return DirectMap.pointer(physical)
  }

  static func free(_ pointer: UnsafeMutableRawPointer) {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    let address = UInt(bitPattern: pointer)
    let bootstrapStart = UInt(bitPattern: bootstrapArea)
    if address >= bootstrapStart &&
      address < bootstrapStart + UInt(bootstrapPages * 4096)
    {
      let page = Int((address - bootstrapStart) / 4096)
      release(pointer, sizeClass: bootstrapClass(page))
      return
    }
    let physical = DirectMap.physical(pointer)
    let (tag, data) = FrameAllocator.tag(of: physical)
    switch tag {
    case .heapSmallPage:
      release(pointer, sizeClass: Int(data))
    case .heapLargeHead:
      bytesInUse -= Int(FrameAllocator.pageSize) << Int(data)
      FrameAllocator.free(physical, order: Int(data))
    default:
      panic("heap: free of a pointer the heap did not allocate")
    }
  }

  private static func release(_ pointer: UnsafeMutableRawPointer,
                              sizeClass: Int)
  {
    pointer.storeBytes(of: freeHead(sizeClass), as: UInt.self)
    setFreeHead(sizeClass, UInt(bitPattern: pointer))
    bytesInUse -= classSize(sizeClass)
  }

  /// Cuts a fresh page into blocks of one class.
  private static func refill(_ sizeClass: Int) -> Bool {
    let page: UnsafeMutableRawPointer
    if frameAllocatorReady, let physical = FrameAllocator.allocate() {
      FrameAllocator.setTag(physical / FrameAllocator.pageSize,
                            .heapSmallPage, order: sizeClass)
      page = DirectMap.pointer(physical)
    } else if bootstrapUsed < bootstrapPages {
      setBootstrapClass(bootstrapUsed, sizeClass)
      page = bootstrapArea + bootstrapUsed * 4096
      bootstrapUsed += 1
    } else {
      return false
    }
    let size = classSize(sizeClass)
    var offset = 4096 - size
    while offset >= 0 {
      let block = page + offset
      block.storeBytes(of: freeHead(sizeClass), as: UInt.self)
      setFreeHead(sizeClass, UInt(bitPattern: block))
      offset -= size
    }
    return true
  }

  private static func account(_ bytes: Int) {
    bytesInUse += bytes
    peakBytesInUse = max(peakBytesInUse, bytesInUse)
  }

  private static func classIndex(for size: Int) -> Int {
    var index = 0
    while classSize(index) < size { index += 1 }
    return index
  }

  private static func orderFor(pages: UInt64) -> Int {
    var order = 0
    while (UInt64(1) << UInt64(order)) < pages { order += 1 }
    return order
  }

  // Tuple access, so the heap itself never allocates an Array.
  private static func freeHead(_ i: Int) -> UInt {
    withUnsafeBytes(of: &freeLists) { $0.load(fromByteOffset: i * 8,
                                              as: UInt.self) }
  }

  private static func setFreeHead(_ i: Int, _ value: UInt) {
    withUnsafeMutableBytes(of: &freeLists) {
      $0.storeBytes(of: value, toByteOffset: i * 8, as: UInt.self)
    }
  }

  private static func bootstrapClass(_ page: Int) -> Int {
    withUnsafeBytes(of: &bootstrapClasses) {
      Int($0[page / 2] >> UInt8((page % 2) * 4)) & 0xF
    }
  }

  private static func setBootstrapClass(_ page: Int, _ sizeClass: Int) {
    withUnsafeMutableBytes(of: &bootstrapClasses) {
      let shift = UInt8((page % 2) * 4)
      $0[page / 2] = ($0[page / 2] & ~(0xF << shift))
        | UInt8(sizeClass) << shift
    }
  }
}
