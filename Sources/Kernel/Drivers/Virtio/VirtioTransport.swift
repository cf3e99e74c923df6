// What a virtio driver sees of its device, whichever bus carries it:
// virtio-mmio on microvm, modern virtio-pci on q35. Each transport class
// is only a register map (status, feature words, queue registers,
// notification, interrupt hookup); the steps of bringing a device up
// (virtio 1.x, section 3.1) and reading its configuration are written
// once here, so virtio-blk and virtio-net hold no transport-specific
// code. An enum rather than a protocol: Embedded Swift has no
// existentials of non-class protocols, and a closed set of two
// transports needs none.

enum VirtioTransport {
  case mmio(VirtioMMIODevice)
  case pci(VirtioPCIDevice)

  /// The virtio device id (1 network, 2 block, ...).
  enum DeviceID: UInt32 {
    case network = 1
    case block = 2
    case console = 3
    case entropy = 4
  }

  /// Device status bits (virtio 1.x, 2.1).
  enum Status {
    static let acknowledge: UInt8 = 1
    static let driver: UInt8 = 2
    static let driverOK: UInt8 = 4
    static let featuresOK: UInt8 = 8
    static let failed: UInt8 = 128
  }

  /// Feature bit 32: the device speaks virtio 1.x, which is all either
  /// transport here drives (no legacy interface).
  static let versionOne: UInt64 = 1 << 32

  var deviceID: UInt32 {
    switch self {
    case .mmio(let device): return device.deviceID
    case .pci(let device): return device.deviceID
    }
  }

  /// Where the device is, for the log.
  var name: String {
    switch self {
    case .mmio(let device): return device.name
    case .pci(let device): return device.name
    }
  }

  // MARK: Initialization, common to both transports

  /// Resets the device and negotiates features: the driver accepts
  /// `wanted` ∩ offered, and VERSION_1 must be among them. Returns the
  /// accepted features, or nil if the device refused.
  func negotiate(wanted: UInt64) -> UInt64? {
    setStatus(0)
    // The reset is done when the status reads back as zero (4.1.4.3.2).
    var spins = 0
    while status != 0 && spins < 1_000_000 { spins += 1 }
    guard status == 0 else { return nil }
    setStatus(Status.acknowledge)
    setStatus(Status.acknowledge | Status.driver)
    let offered = UInt64(deviceFeatures(word: 0))
      | UInt64(deviceFeatures(word: 1)) << 32
    let accepted = offered & (wanted | VirtioTransport.versionOne)
    guard accepted & VirtioTransport.versionOne != 0 else {
      setStatus(Status.failed)
      return nil
    }
    setDriverFeatures(word: 0, UInt32(truncatingIfNeeded: accepted))
    setDriverFeatures(word: 1, UInt32(truncatingIfNeeded: accepted >> 32))
    setStatus(Status.acknowledge | Status.driver | Status.featuresOK)
    guard status & Status.featuresOK != 0 else {
      setStatus(Status.failed)
      return nil
    }
    return accepted
  }

  /// Sets up queue `index` with at most `maximum` entries.
  func setUpQueue(_ index: UInt16, maximum: UInt16) -> Virtqueue? {
    let offered = queueMaximum(index)
    guard offered > 0 else { return nil }
    // A split queue's size is a power of two (2.7).
    let limit = UInt32(min(maximum, offered))
    var size: UInt32 = 1
    while size * 2 <= limit { size *= 2 }
    guard let queue = Virtqueue(index: index, size: UInt16(size)),
      activate(queue)
    else { return nil }
    return queue
  }

  func finishInitialization() {
    setStatus(status | Status.driverOK)
  }

  // MARK: Device configuration

  func config8(_ offset: UInt64) -> UInt8 {
    MMIO.load8(deviceConfig + offset)
  }

  func config32(_ offset: UInt64) -> UInt32 {
    MMIO.load32(deviceConfig + offset)
  }

  /// A 64-bit field is two reads the device may change in between;
  /// the generation counter tells (2.5.1).
  func config64(_ offset: UInt64) -> UInt64 {
    while true {
      let before = configGeneration
      let value = UInt64(config32(offset))
        | UInt64(config32(offset + 4)) << 32
      if configGeneration == before { return value }
    }
  }

  // MARK: The register map, per transport

  private var status: UInt8 {
    switch self {
    case .mmio(let device): return device.status
    case .pci(let device): return device.status
    }
  }

  private func setStatus(_ value: UInt8) {
    switch self {
    case .mmio(let device): device.status = value
    case .pci(let device): device.status = value
    }
  }

  private func deviceFeatures(word: UInt32) -> UInt32 {
    switch self {
    case .mmio(let device): return device.deviceFeatures(word: word)
    case .pci(let device): return device.deviceFeatures(word: word)
    }
  }

  private func setDriverFeatures(word: UInt32, _ value: UInt32) {
    switch self {
    case .mmio(let device): device.setDriverFeatures(word: word, value)
    case .pci(let device): device.setDriverFeatures(word: word, value)
    }
  }

  private var configGeneration: UInt32 {
    switch self {
    case .mmio(let device): return device.configGeneration
    case .pci(let device): return device.configGeneration
    }
  }

  private var deviceConfig: UInt64 {
    switch self {
    case .mmio(let device): return device.deviceConfig
    case .pci(let device): return device.deviceConfig
    }
  }

  private func queueMaximum(_ index: UInt16) -> UInt16 {
    switch self {
    case .mmio(let device): return device.queueMaximum(index)
    case .pci(let device): return device.queueMaximum(index)
    }
  }

  private func activate(_ queue: Virtqueue) -> Bool {
    switch self {
    case .mmio(let device): return device.activate(queue)
    case .pci(let device): return device.activate(queue)
    }
  }

  /// Tells the device that `queue` has new buffers.
  func notify(_ queue: Virtqueue) {
    switch self {
    case .mmio(let device): device.notify(queue)
    case .pci(let device): device.notify(queue)
    }
  }

  /// Calls `handler` in interrupt context whenever the device signals
  /// used buffers; the transport acknowledges the interrupt itself.
  func onInterrupt(_ handler: @escaping () -> Void) {
    switch self {
    case .mmio(let device): device.onInterrupt(handler)
    case .pci(let device): device.onInterrupt(handler)
    }
  }
}
