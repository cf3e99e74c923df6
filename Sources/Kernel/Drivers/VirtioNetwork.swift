// virtio-net (virtio 1.x, section 5.1): Ethernet frames to and from the
// host. Queue 0 receives, queue 1 transmits. Every frame carries a 12-byte
// virtio_net_hdr in front; with no offloads negotiated it is all zeroes on
// transmit and ignored on receive. Receive buffers (one page each) stay
// posted; the interrupt handler hands finished frames to `onReceive`,
// posts the buffers again, reclaims sent buffers, and then calls
// `afterInterrupt` once, so the network layer can process the batch.
//
// TODO(net): checksum and segmentation offloads (VIRTIO_NET_F_CSUM,
// GUEST_CSUM, HOST_TSO4) would save the stack computing checksums.

private let log = Logger("virtio-net")

final class VirtioNetworkDevice {
  static let headerSize = 12
  static let featureMAC: UInt64 = 1 << 5
  static let featureStatus: UInt64 = 1 << 16
  static let receiveBuffers = 64
  static let bufferSize = 4096

  let transport: VirtioTransport
  let receiveQueue: Virtqueue
  let transmitQueue: Virtqueue
  let mac: [UInt8]
  /// Frames that arrived (without the virtio header), handled in
  /// interrupt context: the stack queues them and returns quickly.
  var onReceive: (([UInt8]) -> Void)? = nil
  /// Called at the end of every interrupt, in interrupt context, after
  /// the received frames were handed over and the transmit ring drained.
  var afterInterrupt: (() -> Void)? = nil

  /// The frame page behind each posted receive descriptor head.
  private var receivePages: [UInt16: UInt64] = [:]
  private var transmitPages: [UInt16: UInt64] = [:]
  private(set) var packetsReceived: UInt64 = 0
  private(set) var packetsSent: UInt64 = 0
  private(set) var bytesReceived: UInt64 = 0
  private(set) var bytesSent: UInt64 = 0

  init?(transport: VirtioTransport) {
    self.transport = transport
    guard let features = transport.negotiate(
      wanted: VirtioNetworkDevice.featureMAC),
      let receive = transport.setUpQueue(0, maximum: 128),
      let transmit = transport.setUpQueue(1, maximum: 128)
    else {
      log.error("\(transport.name): device refused initialization")
      return nil
    }
    receiveQueue = receive
    transmitQueue = transmit
    var address: [UInt8] = []
    if features & VirtioNetworkDevice.featureMAC != 0 {
      for i in 0..<6 { address.append(transport.config8(UInt64(i))) }
    } else {
      // A locally administered address when the device gives none.
      address = [0x02, 0x56, 0x49, 0x4C, 0x4C, 0x41]
    }
    mac = address
    transport.finishInitialization()
    // Before the receive buffers are posted: a message-signalled
    // interrupt that finds no handler is gone.
    transport.onInterrupt { [self] in self.interrupt() }
    for _ in 0..<min(VirtioNetworkDevice.receiveBuffers,
                     Int(receive.size)) {
      postReceiveBuffer()
    }
    transport.notify(receive)
    var text = ""
    for (i, byte) in mac.enumerated() {
      let digits = String(byte, radix: 16)
      text += (i > 0 ? ":" : "") + (digits.count < 2 ? "0" : "") + digits
    }
    log.info("\(transport.name): network device \(text)")
  }

  private func postReceiveBuffer() {
    guard let page = FrameAllocator.allocate() else { return }
    if let head = receiveQueue.post([Virtqueue.Buffer(
      physical: page, length: UInt32(VirtioNetworkDevice.bufferSize),
      deviceWrites: true)])
    {
      receivePages[head] = page
    } else {
      FrameAllocator.free(page)
    }
  }

  /// Queues one Ethernet frame; false if the transmit ring is full or the
  /// frame does not fit a page.
  @discardableResult
  func send(_ frame: [UInt8]) -> Bool {
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    reclaimTransmitted()
    let total = VirtioNetworkDevice.headerSize + frame.count
    guard total <= VirtioNetworkDevice.bufferSize,
      let page = FrameAllocator.allocate()
    else { return false }
    let pointer = DirectMap.pointer(page)
    pointer.initializeMemory(as: UInt8.self, repeating: 0,
                             count: VirtioNetworkDevice.headerSize)
    frame.withUnsafeBytes {
      (pointer + VirtioNetworkDevice.headerSize).copyMemory(
        from: $0.baseAddress!, byteCount: frame.count)
    }
    guard let head = transmitQueue.post([Virtqueue.Buffer(
      physical: page, length: UInt32(total), deviceWrites: false)])
    else {
      FrameAllocator.free(page)
      return false
    }
    transmitPages[head] = page
    transport.notify(transmitQueue)
    packetsSent += 1
    bytesSent += UInt64(frame.count)
    return true
  }

  private func reclaimTransmitted() {
    while let (head, _) = transmitQueue.takeUsed() {
      if let page = transmitPages.removeValue(forKey: head) {
        FrameAllocator.free(page)
      }
    }
  }

  private func interrupt() {
    var reposted = false
    while let (head, written) = receiveQueue.takeUsed() {
      guard let page = receivePages.removeValue(forKey: head) else { continue }
      let length = Int(written) - VirtioNetworkDevice.headerSize
      if length > 0 {
        let start = DirectMap.pointer(page) + VirtioNetworkDevice.headerSize
        let frame = [UInt8](UnsafeRawBufferPointer(start: start,
                                                   count: length))
        packetsReceived += 1
        bytesReceived += UInt64(length)
        onReceive?(frame)
      }
      FrameAllocator.free(page)
      postReceiveBuffer()
      reposted = true
    }
    if reposted { transport.notify(receiveQueue) }
    reclaimTransmitted()
    afterInterrupt?()
  }
}
