// The virtio-mmio transport (virtio 1.x, section 4.2), version 2, as
// QEMU's microvm machine provides it: up to eight 512-byte register
// windows from 0xFEB00000, window N wired to interrupt line 5 + N (villa
// starts microvm without ACPI so that this holds). The probe finds every
// window with a device behind it; drivers claim them by device id.

private let log = Logger("virtio")

final class VirtioMMIODevice {
  static let windowBase: UInt64 = 0xFEB0_0000
  static let windowSize: UInt64 = 0x200
  static let windowCount = 8
  static let firstInterruptLine = 5

  enum DeviceID: UInt32 {
    case network = 1
    case block = 2
    case console = 3
    case entropy = 4
  }

  /// Device status bits.
  enum Status {
    static let acknowledge: UInt32 = 1
    static let driver: UInt32 = 2
    static let driverOK: UInt32 = 4
    static let featuresOK: UInt32 = 8
    static let failed: UInt32 = 128
  }

  /// Feature bit 32: the device speaks virtio 1.x (required of modern).
  static let versionOne: UInt64 = 1 << 32

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
      guard MMIO.load32(base) == 0x7472_6976 else { continue }  // "virt"
      let version = MMIO.load32(base + 0x004)
      let id = MMIO.load32(base + 0x008)
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

  // MARK: Registers

  func read32(_ offset: UInt64) -> UInt32 { MMIO.load32(base + offset) }
  func write32(_ offset: UInt64, _ value: UInt32) {
    MMIO.store(value, at: base + offset)
  }

  /// Device-specific configuration space, from offset 0x100.
  func config8(_ offset: UInt64) -> UInt8 { MMIO.load8(base + 0x100 + offset) }
  func config32(_ offset: UInt64) -> UInt32 {
    MMIO.load32(base + 0x100 + offset)
  }
  func config64(_ offset: UInt64) -> UInt64 {
    UInt64(config32(offset)) | UInt64(config32(offset + 4)) << 32
  }

  var status: UInt32 {
    get { read32(0x070) }
    set { write32(0x070, newValue) }
  }

  /// Resets the device and negotiates features: the driver accepts
  /// `wanted` ∩ offered, and VERSION_1 must be among them. Returns the
  /// accepted features, or nil if the device refused.
  func negotiate(wanted: UInt64) -> UInt64? {
    status = 0
    status = Status.acknowledge
    status = Status.acknowledge | Status.driver
    write32(0x014, 0)
    var offered = UInt64(read32(0x010))
    write32(0x014, 1)
    offered |= UInt64(read32(0x010)) << 32
    let accepted = offered & (wanted | VirtioMMIODevice.versionOne)
    guard accepted & VirtioMMIODevice.versionOne != 0 else {
      status = Status.failed
      return nil
    }
    write32(0x024, 0)
    write32(0x020, UInt32(truncatingIfNeeded: accepted))
    write32(0x024, 1)
    write32(0x020, UInt32(truncatingIfNeeded: accepted >> 32))
    status = Status.acknowledge | Status.driver | Status.featuresOK
    guard status & Status.featuresOK != 0 else {
      status = Status.failed
      return nil
    }
    return accepted
  }

  /// Sets up queue `index` with at most `maximum` entries.
  func setUpQueue(_ index: UInt16, maximum: UInt16) -> Virtqueue? {
    write32(0x030, UInt32(index))
    let offered = read32(0x034)
    guard offered > 0 else { return nil }
    let size = UInt16(min(UInt32(maximum), offered))
    guard let queue = Virtqueue(index: index, size: size) else { return nil }
    write32(0x038, UInt32(size))
    write32(0x080, UInt32(truncatingIfNeeded: queue.descriptorTable))
    write32(0x084, UInt32(truncatingIfNeeded: queue.descriptorTable >> 32))
    write32(0x090, UInt32(truncatingIfNeeded: queue.availableRing))
    write32(0x094, UInt32(truncatingIfNeeded: queue.availableRing >> 32))
    write32(0x0A0, UInt32(truncatingIfNeeded: queue.usedRing))
    write32(0x0A4, UInt32(truncatingIfNeeded: queue.usedRing >> 32))
    write32(0x044, 1)
    return queue
  }

  func finishInitialization() {
    status = status | Status.driverOK
  }

  func notify(_ queue: Virtqueue) {
    write32(0x050, UInt32(queue.index))
  }

  /// Reads and acknowledges the interrupt cause (bit 0: used buffers,
  /// bit 1: configuration change).
  func acknowledgeInterrupt() -> UInt32 {
    let cause = read32(0x060)
    write32(0x064, cause)
    return cause
  }
}
