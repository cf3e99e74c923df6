// Why a checked view refused its bytes. The views throw these from their
// initialisers (and from the few parse steps that read variable-length
// parts, such as option lists); the stack counts them and drops the packet,
// as RFC 1122 asks of a host that receives something malformed.

public enum WireError: Error, Equatable, Sendable {
  /// Fewer bytes than the header, or than a length field claims.
  case truncated
  /// A length field smaller than its header, or otherwise impossible.
  case badLength
  /// A version, type or format field the view does not describe.
  case unsupported
  /// The checksum does not match the bytes.
  case badChecksum
  /// An option list whose lengths do not add up.
  case badOption
}
