// The modern virtio-pci transport (virtio 1.x, section 4.1), as QEMU's
// virtio-*-pci devices offer it with disable-legacy=on. A virtio PCI
// function has no fixed register layout: vendor-specific capabilities
// name, for each structure (common configuration, notifications, ISR,
// device configuration), the BAR and offset where it sits. This file
// finds them and is their register map; VirtioTransport holds the
// initialization steps both transports share.
//
// Interrupts are MSI-X: table entry 0 sends one CPU vector, and every
// queue is told to use it. With MSI-X on, the device never raises INTx
// and does not use the ISR byte, so the ISR structure is not needed and
// the handler has nothing to acknowledge at the device.
// Configuration-change interrupts are left off (no driver acts on
// them).

private let log = Logger("virtio-pci")

final class VirtioPCIDevice {
  static let vendorID: UInt16 = 0x1AF4
  /// Modern device ids are 0x1040 + the virtio device id.
  static let firstModernID: UInt16 = 0x1040
  /// "No MSI-X vector" in the vector registers.
  static let noVector: UInt16 = 0xFFFF

  /// Capability structure types (cfg_type, virtio 1.x 4.1.4).
  private enum Structure {
    static let common: UInt8 = 1
    static let notify: UInt8 = 2
    static let isr: UInt8 = 3
    static let device: UInt8 = 4
  }

  /// Common configuration offsets (virtio 1.x, 4.1.4.3).
  private enum Common {
    static let deviceFeatureSelect: UInt64 = 0x00
    static let deviceFeature: UInt64 = 0x04
    static let driverFeatureSelect: UInt64 = 0x08
    static let driverFeature: UInt64 = 0x0C
    static let configVector: UInt64 = 0x10
    static let deviceStatus: UInt64 = 0x14
    static let configGeneration: UInt64 = 0x15
    static let queueSelect: UInt64 = 0x16
    static let queueSize: UInt64 = 0x18
    static let queueVector: UInt64 = 0x1A
    static let queueEnable: UInt64 = 0x1C
    static let queueNotifyOffset: UInt64 = 0x1E
    static let queueDescriptors: UInt64 = 0x20
    static let queueDriver: UInt64 = 0x28
    static let queueDevice: UInt64 = 0x30
    /// The structure's size in virtio 1.0, all the driver uses.
    static let length: UInt64 = 0x38
  }

  let function: PCIFunction
  let deviceID: UInt32
  /// Physical addresses of the structures, in their mapped BARs.
  private let common: UInt64
  private let notifyBase: UInt64
  private let notifyLength: UInt64
  private let notifyMultiplier: UInt32
  let deviceConfig: UInt64
  private let vector: UInt8
  /// Each activated queue's notification address, by queue index.
  private var notifyAddresses: [UInt16: UInt64] = [:]

  private init(function: PCIFunction, deviceID: UInt32, common: UInt64,
               notifyBase: UInt64, notifyLength: UInt64,
               notifyMultiplier: UInt32, deviceConfig: UInt64,
               vector: UInt8)
  {
    self.function = function
    self.deviceID = deviceID
    self.common = common
    self.notifyBase = notifyBase
    self.notifyLength = notifyLength
    self.notifyMultiplier = notifyMultiplier
    self.deviceConfig = deviceConfig
    self.vector = vector
  }

  /// Every virtio PCI function with the modern structures, set up for
  /// MSI-X; the others are logged and left alone.
  static func probe(_ functions: [PCIFunction]) -> [VirtioPCIDevice] {
    var found: [VirtioPCIDevice] = []
    for function in functions where function.vendorID == vendorID {
      // 0x1000...0x107F are virtio; the vendor has other devices too.
      let id = function.deviceID
      guard id >= 0x1000 && id <= 0x107F else { continue }
      // Transitional ids (0x1000...0x103F) keep the virtio id in the
      // subsystem id; they also carry the modern structures unless the
      // modern interface was turned off.
      let virtioID = id >= firstModernID
        ? UInt32(id - firstModernID) : UInt32(function.read16(0x2E))
      if let device = VirtioPCIDevice(function, virtioID: virtioID) {
        found.append(device)
      }
    }
    return found
  }

  private convenience init?(_ function: PCIFunction, virtioID: UInt32) {
    var common: UInt64? = nil
    var notify: (address: UInt64, length: UInt64, multiplier: UInt32)? = nil
    var device: UInt64? = nil
    // The first structure of each type is the one to use (4.1.4.1).
    for capability in function.capabilities()
    where capability.id == PCIFunction.CapabilityID.vendorSpecific {
      let at = capability.offset
      let type = function.read8(at + 3)
      let barIndex = Int(function.read8(at + 4))
      let offset = UInt64(function.read32(at + 8))
      let length = UInt64(function.read32(at + 12))
      guard type >= Structure.common && type <= Structure.device,
        let address = VirtioPCIDevice.locate(
          function, bar: barIndex, offset: offset, length: length)
      else { continue }
      switch type {
      case Structure.common where common == nil:
        if length >= Common.length { common = address }
      case Structure.notify where notify == nil:
        notify = (address, length, function.read32(at + 16))
      case Structure.device where device == nil:
        device = address
      default:
        break
      }
    }
    guard let common, let notify, let device else {
      log.warn("\(function.name): virtio device \(virtioID) lacks the"
        + " modern structures; only modern virtio-pci is driven")
      return nil
    }
    // Memory decoding first: the MSI-X table is in a BAR.
    function.enableMemoryAndBusMaster()
    guard let vector = MessageInterrupts.allocateVector(),
      function.enableMSIX(entry: 0, vector: vector)
    else {
      log.warn("\(function.name): virtio device \(virtioID) without"
        + " MSI-X is not driven")
      return nil
    }
    self.init(function: function, deviceID: virtioID, common: common,
              notifyBase: notify.address, notifyLength: notify.length,
              notifyMultiplier: notify.multiplier,
              deviceConfig: device, vector: vector)
  }

  /// The physical address of a structure at `offset` in BAR `bar`, once
  /// it is known to fit there and is mapped.
  private static func locate(_ function: PCIFunction, bar index: Int,
                             offset: UInt64, length: UInt64) -> UInt64?
  {
    guard let bar = function.bar(index), !bar.isIO, bar.address != 0,
      offset <= bar.size, length <= bar.size - offset,
      DeviceMemory.map(physical: bar.address, length: bar.size)
    else {
      log.warn("\(function.name): BAR \(index) unusable for a structure")
      return nil
    }
    return bar.address + offset
  }

  var name: String { "virtio-pci " + function.name }

  // MARK: What VirtioTransport asks of a transport

  var status: UInt8 {
    get { MMIO.load8(common + Common.deviceStatus) }
    set { MMIO.store(newValue, at: common + Common.deviceStatus) }
  }

  func deviceFeatures(word: UInt32) -> UInt32 {
    MMIO.store(word, at: common + Common.deviceFeatureSelect)
    return MMIO.load32(common + Common.deviceFeature)
  }

  func setDriverFeatures(word: UInt32, _ value: UInt32) {
    MMIO.store(word, at: common + Common.driverFeatureSelect)
    MMIO.store(value, at: common + Common.driverFeature)
  }

  var configGeneration: UInt32 {
    UInt32(MMIO.load8(common + Common.configGeneration))
  }

  func queueMaximum(_ index: UInt16) -> UInt16 {
    MMIO.store(index, at: common + Common.queueSelect)
    return MMIO.load16(common + Common.queueSize)
  }

  /// Sizes the queue, gives its ring addresses and its MSI-X vector, and
  /// enables it. The device may refuse the vector (it has too few),
  /// which reads back as noVector: the queue then stays off and this
  /// returns false.
  func activate(_ queue: Virtqueue) -> Bool {
    MMIO.store(queue.index, at: common + Common.queueSelect)
    MMIO.store(queue.size, at: common + Common.queueSize)
    MMIO.store(queue.descriptorTable, at: common + Common.queueDescriptors)
    MMIO.store(queue.availableRing, at: common + Common.queueDriver)
    MMIO.store(queue.usedRing, at: common + Common.queueDevice)
    MMIO.store(UInt16(0), at: common + Common.queueVector)
    guard MMIO.load16(common + Common.queueVector) == 0 else {
      log.error("\(name): queue \(queue.index) refused its MSI-X vector")
      return false
    }
    let offset = UInt64(MMIO.load16(common + Common.queueNotifyOffset))
      * UInt64(notifyMultiplier)
    guard offset + 2 <= notifyLength else {
      log.error("\(name): queue \(queue.index) notifies out of range")
      return false
    }
    notifyAddresses[queue.index] = notifyBase + offset
    MMIO.store(UInt16(1), at: common + Common.queueEnable)
    return true
  }

  func notify(_ queue: Virtqueue) {
    guard let address = notifyAddresses[queue.index] else { return }
    MMIO.store(queue.index, at: address)
  }

  func onInterrupt(_ handler: @escaping () -> Void) {
    // No configuration-change interrupts: no driver handles them.
    MMIO.store(VirtioPCIDevice.noVector, at: common + Common.configVector)
    MessageInterrupts.register(vector: vector, handler: handler)
  }
}
