// Device registers and memory shared with devices, accessed with volatile
// loads and stores of exactly the given width, through the direct map.
// Everything the kernel shares with hardware (APIC, IOAPIC, virtio
// registers and rings) goes through here.

import _Volatile

enum MMIO {
  static func address(_ physical: UInt64) -> UInt {
    UInt(DirectMap.base + physical)
  }

  static func store(_ value: UInt8, at physical: UInt64) {
    VolatileMappedRegister<UInt8>(unsafeBitPattern: address(physical))
      .store(value)
  }
  static func store(_ value: UInt16, at physical: UInt64) {
    VolatileMappedRegister<UInt16>(unsafeBitPattern: address(physical))
      .store(value)
  }
  static func store(_ value: UInt32, at physical: UInt64) {
    VolatileMappedRegister<UInt32>(unsafeBitPattern: address(physical))
      .store(value)
  }
  static func store(_ value: UInt64, at physical: UInt64) {
    VolatileMappedRegister<UInt64>(unsafeBitPattern: address(physical))
      .store(value)
  }

  static func load8(_ physical: UInt64) -> UInt8 {
    VolatileMappedRegister<UInt8>(unsafeBitPattern: address(physical)).load()
  }
  static func load16(_ physical: UInt64) -> UInt16 {
    VolatileMappedRegister<UInt16>(unsafeBitPattern: address(physical)).load()
  }
  static func load32(_ physical: UInt64) -> UInt32 {
    VolatileMappedRegister<UInt32>(unsafeBitPattern: address(physical)).load()
  }
  static func load64(_ physical: UInt64) -> UInt64 {
    VolatileMappedRegister<UInt64>(unsafeBitPattern: address(physical)).load()
  }
}
