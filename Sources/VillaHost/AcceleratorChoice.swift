// Choosing between KVM and TCG.
//
// KVM is worth using only with real hardware virtualization: on a nested
// host without VT-x/AMD-V, /dev/kvm may still open (a paravirtual flavour)
// yet run kernel-mode guest code far slower than TCG, and fail on some
// instructions. So `auto` takes KVM only when /dev/kvm opens read-write
// AND /proc/cpuinfo lists vmx or svm. An explicit `--accel kvm` is obeyed
// whenever /dev/kvm opens, since the user asked for it. The decision is a
// pure function of those two facts so it can be tested without the host.

import Glibc

/// Decides the accelerator from what the host offers.
/// - Parameters:
///   - kvmUsable: whether /dev/kvm opens read-write.
///   - cpuinfo: the text of /proc/cpuinfo ("" if unreadable).
public func chooseAccelerator(
  _ request: AcceleratorRequest, kvmUsable: Bool, cpuinfo: String
) throws(VillaError) -> Accelerator {
  switch request {
  case .tcg:
    return .tcg
  case .kvm:
    guard kvmUsable else {
      throw .acceleratorUnavailable(
        "--accel kvm: /dev/kvm cannot be opened read-write"
          + " (no KVM on this host, or no permission); use --accel tcg")
    }
    return .kvm
  case .auto:
    let hardware = cpuinfoHasHardwareVirtualization(cpuinfo)
    return kvmUsable && hardware ? .kvm : .tcg
  }
}

/// Whether a "flags" line of /proc/cpuinfo lists vmx (Intel VT-x) or
/// svm (AMD-V).
public func cpuinfoHasHardwareVirtualization(_ cpuinfo: String) -> Bool {
  for line in cpuinfo.split(separator: "\n") {
    let parts = line.split(
      separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
    guard parts.count == 2,
      parts[0].trimmingSpaces() == "flags"
    else { continue }
    let flags = parts[1].split(whereSeparator: { $0 == " " || $0 == "\t" })
    if flags.contains("vmx") || flags.contains("svm") { return true }
  }
  return false
}

/// Decides the accelerator by probing this host.
public func probeAccelerator(_ request: AcceleratorRequest)
  throws(VillaError) -> Accelerator
{
  if request == .tcg { return .tcg }
  let kvmUsable = POSIX.canOpenReadWrite("/dev/kvm")
  var cpuinfo = ""
  if let fd = try? POSIX.openForReading("/proc/cpuinfo") {
    defer { POSIX.close(fd) }
    if let bytes = try? POSIX.readToEnd(fd) {
      cpuinfo = String(decoding: bytes, as: UTF8.self)
    }
  }
  return try chooseAccelerator(
    request, kvmUsable: kvmUsable, cpuinfo: cpuinfo)
}

extension Substring {
  /// The text without leading and trailing spaces and tabs.
  func trimmingSpaces() -> Substring {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
    guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
    let last = lastIndex(where: { !isSpace($0) })!
    return self[first...last]
  }
}
