// The devices Villa found at boot, by kind. Drivers are started here in
// a fixed order (virtio-mmio windows, then PCI in bus order); the
// filesystem and network layers ask for what they need.

private let log = Logger("devices")

enum Devices {
  private(set) static var disks: [VirtioBlockDevice] = []
  private(set) static var networks: [VirtioNetworkDevice] = []

  /// Finds the virtio devices on both buses (a machine has one or the
  /// other: microvm virtio-mmio, q35 PCI) and starts their drivers.
  static func probe() {
    var transports: [VirtioTransport] = []
    for device in VirtioMMIODevice.probe() { transports.append(.mmio(device)) }
    for device in VirtioPCIDevice.probe(PCI.enumerate()) {
      transports.append(.pci(device))
    }
    for transport in transports {
      switch VirtioTransport.DeviceID(rawValue: transport.deviceID) {
      case .block:
        if let disk = VirtioBlockDevice(transport: transport) {
          disks.append(disk)
          if log.isEnabled(.debug) { sample(disk) }
        }
      case .network:
        if let network = VirtioNetworkDevice(transport: transport) {
          networks.append(network)
        }
      default:
        log.info("\(transport.name): virtio device \(transport.deviceID)"
          + " has no driver")
      }
    }
  }
}

/// Reads the first sector, for the debug log: proves the request path.
private func sample(_ disk: VirtioBlockDevice) {
  let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 512,
                                                      alignment: 16)
  defer { buffer.deallocate() }
  do throws(VirtioBlockDevice.Failure) {
    try disk.transfer(sector: 0, buffer: buffer, write: false)
    var text = ""
    for i in 0..<8 { text += String(buffer[i], radix: 16) + " " }
    log.debug("first bytes: \(text)")
  } catch {
    log.error("reading sector 0 failed")
  }
}
