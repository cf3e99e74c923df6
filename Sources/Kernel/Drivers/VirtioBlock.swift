// virtio-blk (virtio 1.x, section 5.2): the disk behind the persistent
// filesystem. Requests are a three-part chain: a header (type, sector),
// the data, and a status byte the device fills. Several requests can be
// in flight: each caller posts its chain and sleeps until the interrupt
// handler sees its head in the used ring. Before the scheduler runs (at
// mount time), callers poll the used ring instead.

private let log = Logger("virtio-blk")

final class VirtioBlockDevice {
  static let sectorSize: UInt64 = 512
  private static let requestIn: UInt32 = 0
  private static let requestOut: UInt32 = 1
  private static let requestFlush: UInt32 = 4
  private static let featureFlush: UInt64 = 1 << 9
  private static let featureReadOnly: UInt64 = 1 << 5

  let transport: VirtioTransport
  let queue: Virtqueue
  /// Capacity in 512-byte sectors.
  let sectors: UInt64
  let readOnly: Bool
  let flushSupported: Bool

  /// In-flight requests by chain head: the waiting thread and whether
  /// the device finished it.
  private var waiting: [(head: UInt16, thread: Thread?, done: Bool)] = []
  private(set) var bytesRead: UInt64 = 0
  private(set) var bytesWritten: UInt64 = 0
  private(set) var operations: UInt64 = 0

  init?(transport: VirtioTransport) {
    self.transport = transport
    guard let features = transport.negotiate(
      wanted: VirtioBlockDevice.featureFlush | VirtioBlockDevice.featureReadOnly),
      let queue = transport.setUpQueue(0, maximum: 128)
    else {
      log.error("\(transport.name): device refused initialization")
      return nil
    }
    self.queue = queue
    sectors = transport.config64(0)
    readOnly = features & VirtioBlockDevice.featureReadOnly != 0
    flushSupported = features & VirtioBlockDevice.featureFlush != 0
    transport.finishInitialization()
    transport.onInterrupt { [self] in self.collectCompleted() }
    log.info("\(transport.name): \(sectors / 2048) MiB disk"
      + (readOnly ? ", read-only" : "") + (flushSupported ? "" : ", no flush"))
  }

  enum Failure: Error { case io, readOnly, outOfRange, noMemory }

  /// Reads or writes whole sectors at `sector` through a bounce buffer
  /// of contiguous physical memory.
  func transfer(sector: UInt64, buffer: UnsafeMutableRawBufferPointer,
                write: Bool) throws(Failure)
  {
    guard buffer.count % Int(VirtioBlockDevice.sectorSize) == 0 else {
      throw .outOfRange
    }
    let count = UInt64(buffer.count) / VirtioBlockDevice.sectorSize
    guard sector <= sectors, count <= sectors - sector else {
      throw .outOfRange
    }
    if write && readOnly { throw .readOnly }
    // Header (16 bytes), data, status byte, in one contiguous block.
    var order = 0
    while (4096 << order) < buffer.count + 17 { order += 1 }
    guard let bounce = FrameAllocator.allocate(order: order) else {
      throw .noMemory
    }
    defer { FrameAllocator.free(bounce, order: order) }
    let bounceData = bounce + 16
    if write {
      DirectMap.pointer(bounceData).copyMemory(
        from: buffer.baseAddress!, byteCount: buffer.count)
    }
    try submit(type: write ? VirtioBlockDevice.requestOut
                 : VirtioBlockDevice.requestIn,
               sector: sector, header: bounce, data: bounceData,
               length: UInt32(buffer.count), write: write)
    if !write {
      buffer.baseAddress!.copyMemory(from: DirectMap.pointer(bounceData),
                                     byteCount: buffer.count)
      bytesRead += UInt64(buffer.count)
    } else {
      bytesWritten += UInt64(buffer.count)
    }
  }

  /// Makes every completed write durable (VIRTIO_BLK_T_FLUSH).
  func flush() throws(Failure) {
    guard flushSupported else { return }
    guard let page = FrameAllocator.allocate() else { throw .noMemory }
    defer { FrameAllocator.free(page) }
    try submit(type: VirtioBlockDevice.requestFlush, sector: 0, header: page,
               data: nil, length: 0, write: false)
  }

  /// Posts one request and waits for it. The 16-byte header is at
  /// `header`, the data (if any) at `data`, and the status byte right
  /// after the data (or the header).
  private func submit(type: UInt32, sector: UInt64, header: UInt64,
                      data: UInt64?, length: UInt32, write: Bool)
    throws(Failure)
  {
    MMIO.store(type, at: header)
    MMIO.store(UInt32(0), at: header + 4)
    MMIO.store(sector, at: header + 8)
    let statusAddress = (data ?? header + 16) + UInt64(length)
    MMIO.store(UInt8(0xFF), at: statusAddress)
    var chain = [Virtqueue.Buffer(physical: header, length: 16,
                                  deviceWrites: false)]
    if let data, length > 0 {
      chain.append(Virtqueue.Buffer(physical: data, length: length,
                                    deviceWrites: !write))
    }
    chain.append(Virtqueue.Buffer(physical: statusAddress, length: 1,
                                  deviceWrites: true))

    let guardState = InterruptGuard()
    while queue.freeCount < chain.count {
      // The queue is full of other requests: wait for one to finish.
      if Scheduler.current != nil {
        Scheduler.yield()
      } else {
        collectCompleted()
      }
    }
    guard let head = queue.post(chain) else {
      guardState.restore()
      throw .io
    }
    let thread = Scheduler.current
    waiting.append((head, thread, false))
    transport.notify(queue)
    operations += 1
    if thread != nil {
      while !isDone(head) { Scheduler.block() }
    } else {
      // Early boot: no thread to put to sleep, so poll.
      while !isDone(head) { collectCompleted() }
    }
    waiting.removeAll { $0.head == head }
    guardState.restore()
    guard MMIO.load8(statusAddress) == 0 else {
      log.error("request type \(type) at sector \(sector) failed")
      throw .io
    }
  }

  private func isDone(_ head: UInt16) -> Bool {
    waiting.first { $0.head == head }?.done ?? true
  }

  private func collectCompleted() {
    while let (head, _) = queue.takeUsed() {
      for i in waiting.indices where waiting[i].head == head {
        waiting[i].done = true
        if let thread = waiting[i].thread { Scheduler.wake(thread) }
      }
    }
  }
}
