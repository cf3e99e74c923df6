// The virtio-mmio transport (virtio 1.x, section 4.2), version 2, as
// QEMU's microvm machine provides it: up to eight 512-byte register
// windows from 0xFEB00000, window N wired to interrupt line 5 + N (villa
// starts microvm without ACPI so that this holds). The probe finds every
// window with a device behind it; drivers reach it through
// VirtioTransport, which holds the initialization steps both transports
// share. This file is only the register map.

private let log = Logger("virtio")

final class VirtioMMIODevice {
  static let windowBase: UInt64 = 0xFEB0_0000
  static let windowSize: UInt64 = 0x200
  static let windowCount = 8
  static let firstInterruptLine = 5

  /// Register offsets in a window (virtio 1.x, 4.2.2).
  private enum Register {
    static let magic: UInt64 = 0x000
    static let version: UInt64 = 0x004
    static let deviceID: UInt64 = 0x008
    static let deviceFeatures: UInt64 = 0x010
    static let deviceFeaturesSelect: UInt64 = 0x014
    static let driverFeatures: UInt64 = 0x020
    static let driverFeaturesSelect: UInt64 = 0x024
    static let queueSelect: UInt64 = 0x030
    static let queueSizeMaximum: UInt64 = 0x034
    static let queueSize: UInt64 = 0x038
    static let queueReady: UInt64 = 0x044
    static let queueNotify: UInt64 = 0x050
    static let interruptStatus: UInt64 = 0x060
    static let interruptAcknowledge: UInt64 = 0x064
    static let status: UInt64 = 0x070
    static let queueDescriptors: UInt64 = 0x080
    static let queueDriver: UInt64 = 0x090
    static let queueDevice: UInt64 = 0x0A0
    static let configGeneration: UInt64 = 0x0FC
    static let config: UInt64 = 0x100
  }

  let base: UInt64
  let interruptLine: Int
  let deviceID: UInt32

  private init(base: UInt64, interruptLine: Int, deviceID: UInt32) {
    self.base = base
    self.interruptLine = interruptLine
    self.deviceID = deviceID
  }

  /// Every present virtio-mmio device.
  static func probe() -> [VirtioMMIODevice] {
    var found: [VirtioMMIODevice] = []
    for slot in 0..<windowCount {
      let base = windowBase + UInt64(slot) * windowSize
      // "virt", little-endian.
      guard MMIO.load32(base + Register.magic) == 0x7472_6976 else {
        continue
      }
      let version = MMIO.load32(base + Register.version)
      let id = MMIO.load32(base + Register.deviceID)
      if id == 0 { continue }
      guard version == 2 else {
        log.warn("virtio-mmio slot \(slot): version \(version), "
          + "only version 2 is driven (start QEMU with "
          + "-global virtio-mmio.force-legacy=false)")
        continue
      }
      found.append(VirtioMMIODevice(
        base: base, interruptLine: firstInterruptLine + slot, deviceID: id))
    }
    return found
  }

  var name: String { "virtio-mmio at \(hex(base))" }

  private func read32(_ offset: UInt64) -> UInt32 {
    MMIO.load32(base + offset)
  }
  private func write32(_ offset: UInt64, _ value: UInt32) {
    MMIO.store(value, at: base + offset)
  }

  // MARK: What VirtioTransport asks of a transport

  var status: UInt8 {
    get { UInt8(truncatingIfNeeded: read32(Register.status)) }
    set { write32(Register.status, UInt32(newValue)) }
  }

  /// Device features, 32 bits at a time.
  func deviceFeatures(word: UInt32) -> UInt32 {
    write32(Register.deviceFeaturesSelect, word)
    return read32(Register.deviceFeatures)
  }

  func setDriverFeatures(word: UInt32, _ value: UInt32) {
    write32(Register.driverFeaturesSelect, word)
    write32(Register.driverFeatures, value)
  }

  var configGeneration: UInt32 { read32(Register.configGeneration) }
  var deviceConfig: UInt64 { base + Register.config }

  /// The largest size the device allows for queue `index` (0: none).
  func queueMaximum(_ index: UInt16) -> UInt16 {
    write32(Register.queueSelect, UInt32(index))
    return UInt16(truncatingIfNeeded: read32(Register.queueSizeMaximum))
  }

  /// Tells the device where `queue`'s rings are and turns it on.
  func activate(_ queue: Virtqueue) -> Bool {
    write32(Register.queueSelect, UInt32(queue.index))
    write32(Register.queueSize, UInt32(queue.size))
    for (register, address) in [
      (Register.queueDescriptors, queue.descriptorTable),
      (Register.queueDriver, queue.availableRing),
      (Register.queueDevice, queue.usedRing),
    ] {
      write32(register, UInt32(truncatingIfNeeded: address))
      write32(register + 4, UInt32(truncatingIfNeeded: address >> 32))
    }
    write32(Register.queueReady, 1)
    return true
  }

  func notify(_ queue: Virtqueue) {
    write32(Register.queueNotify, UInt32(queue.index))
  }

  /// Routes the window's interrupt line to `handler`, acknowledging the
  /// cause (used buffers, configuration change) first, as the line is
  /// level-triggered and stays raised until then.
  func onInterrupt(_ handler: @escaping () -> Void) {
    IOAPIC.route(gsi: interruptLine) { [self] in
      let cause = self.read32(Register.interruptStatus)
      self.write32(Register.interruptAcknowledge, cause)
      handler()
    }
  }
}
