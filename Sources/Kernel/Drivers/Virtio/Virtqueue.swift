// A split virtqueue (virtio 1.x, section 2.7): a descriptor table, the
// driver's available ring and the device's used ring, each in its own
// zeroed page(s). The driver posts a chain of buffers, bumps the
// available index and notifies; the device consumes it and reports it in
// the used ring, with how many bytes it wrote.
//
// Memory ordering: x86 stores are not reordered with other stores, so
// writing the ring entry before the index is enough for the device to see
// them in order; the volatile accesses (Platform/MMIO.swift) keep Swift
// from reordering them.

final class Virtqueue {
  struct Buffer {
    var physical: UInt64
    var length: UInt32
    /// The device writes into it (device-writable descriptor).
    var deviceWrites: Bool
  }

  let index: UInt16
  let size: UInt16
  let descriptorTable: UInt64
  let availableRing: UInt64
  let usedRing: UInt64
  private var freeDescriptors: [UInt16]
  private var lastUsed: UInt16 = 0
  private var availableIndex: UInt16 = 0
  /// For each chain head: its length in descriptors, to free them.
  private var chainLengths: [Int]

  init?(index: UInt16, size: UInt16) {
    self.index = index
    self.size = size
    // 16 bytes a descriptor; ring headers plus 2 or 8 bytes an entry.
    let descriptorBytes = Int(size) * 16
    let availableBytes = 6 + Int(size) * 2
    let usedBytes = 6 + Int(size) * 8
    func pages(_ bytes: Int) -> Int {
      var order = 0
      while (4096 << order) < bytes { order += 1 }
      return order
    }
    guard let descriptors = FrameAllocator.allocateZeroed(
            order: pages(descriptorBytes)),
      let available = FrameAllocator.allocateZeroed(
        order: pages(availableBytes)),
      let used = FrameAllocator.allocateZeroed(order: pages(usedBytes))
    else { return nil }
    descriptorTable = descriptors
    availableRing = available
    usedRing = used
    freeDescriptors = (0..<size).reversed().map { $0 }
    chainLengths = [Int](repeating: 0, count: Int(size))
  }

  var freeCount: Int { freeDescriptors.count }

  /// Posts a chain; returns its head, or nil if the queue is full.
  func post(_ buffers: [Buffer]) -> UInt16? {
    guard buffers.count <= freeDescriptors.count, !buffers.isEmpty else {
      return nil
    }
    var ids: [UInt16] = []
    for _ in buffers { ids.append(freeDescriptors.removeLast()) }
    for (i, buffer) in buffers.enumerated() {
      let entry = descriptorTable + UInt64(ids[i]) * 16
      let hasNext = i + 1 < buffers.count
      let flags: UInt16 = (hasNext ? 1 : 0) | (buffer.deviceWrites ? 2 : 0)
      MMIO.store(buffer.physical, at: entry)
      MMIO.store(buffer.length, at: entry + 8)
      MMIO.store(flags, at: entry + 12)
      MMIO.store(hasNext ? ids[i + 1] : UInt16(0), at: entry + 14)
    }
    let head = ids[0]
    chainLengths[Int(head)] = buffers.count
    let slot = availableRing + 4 + UInt64(availableIndex % size) * 2
    MMIO.store(head, at: slot)
    availableIndex &+= 1
    MMIO.store(availableIndex, at: availableRing + 2)
    return head
  }

  /// Takes the next completed chain: its head and the bytes written.
  func takeUsed() -> (head: UInt16, written: UInt32)? {
    let deviceIndex = MMIO.load16(usedRing + 2)
    guard deviceIndex != lastUsed else { return nil }
    let element = usedRing + 4 + UInt64(lastUsed % size) * 8
    let head = UInt16(truncatingIfNeeded: MMIO.load32(element))
    let written = MMIO.load32(element + 4)
    lastUsed &+= 1
    // Free the chain's descriptors by walking its next links.
    var id = head
    for i in 0..<chainLengths[Int(head)] {
      freeDescriptors.append(id)
      if i + 1 < chainLengths[Int(head)] {
        id = MMIO.load16(descriptorTable + UInt64(id) * 16 + 14)
      }
    }
    return (head, written)
  }
}
