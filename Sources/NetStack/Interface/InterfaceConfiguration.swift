// How the one Ethernet interface is configured: its hardware address and
// MTU, and an IPv4 address with its subnet, gateway and DNS servers,
// either given statically (from the manifest) or learnt by DHCP. Routing
// is the host's simple rule (RFC 1122 3.3.1): on-link destinations
// directly, everything else through the gateway.

/// An IPv4 address assignment.
public struct IPv4Configuration: Equatable, Sendable {
  public var address: IPv4Address
  public var prefixLength: Int
  public var gateway: IPv4Address?
  public var dnsServers: [IPv4Address]

  public init(address: IPv4Address, prefixLength: Int,
              gateway: IPv4Address? = nil, dnsServers: [IPv4Address] = [])
  {
    self.address = address
    self.prefixLength = min(max(prefixLength, 0), 32)
    self.gateway = gateway
    self.dnsServers = dnsServers
  }

  public var netmask: IPv4Address {
    IPv4Address.netmask(prefixLength: prefixLength)
  }

  /// The subnet's directed broadcast address.
  public var broadcastAddress: IPv4Address {
    IPv4Address(rawValue: address.rawValue | ~netmask.rawValue)
  }

  /// Whether `destination` is on this subnet.
  public func isOnLink(_ destination: IPv4Address) -> Bool {
    destination.masked(by: netmask) == address.masked(by: netmask)
  }
}

/// The interface's fixed properties and starting address.
public struct InterfaceConfiguration: Equatable, Sendable {
  public var hardwareAddress: MACAddress
  /// The largest IP packet the link carries.
  public var mtu: Int
  /// A static address, or nil to wait for DHCP (or stay loopback-only).
  public var ipv4: IPv4Configuration?

  public init(hardwareAddress: MACAddress, mtu: Int = 1500,
              ipv4: IPv4Configuration? = nil)
  {
    self.hardwareAddress = hardwareAddress
    self.mtu = min(max(mtu, 576), 65_535)
    self.ipv4 = ipv4
  }
}
