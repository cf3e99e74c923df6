// Finding, reading and checking the program before anything boots.
//
// A name without '/' is searched for in PATH as execvp(3) does (the first
// executable regular file wins); a path is made absolute against the
// current directory. The bytes are then checked with ELFFormat's LoadPlan,
// the same validation the kernel's loader performs, so that a dynamic or
// foreign program is refused on the host with a clear reason instead of
// failing inside the VM. A position-independent (static-pie) program is
// planned at the bias the kernel is expected to use; only the checks
// matter here, not the plan.

import ELFFormat

import Glibc

/// A program found and read, ready to be put into a boot bundle.
public struct ProgramImage: Sendable {
  /// The path as the user gave it (argv[0]).
  public var pathAsGiven: String
  /// The absolute path of the file read (AT_EXECFN, /proc/self/exe).
  public var absolutePath: String
  /// The whole file.
  public var bytes: [UInt8]

  public init(pathAsGiven: String, absolutePath: String, bytes: [UInt8]) {
    self.pathAsGiven = pathAsGiven
    self.absolutePath = absolutePath
    self.bytes = bytes
  }
}

/// The validation parameters the kernel's loader is expected to use.
public enum ProgramCheck {
  /// The first address above user space.
  public static let userLimit: UInt64 = 0x7F00_0000_0000
  /// Where a static-pie program is placed (Linux's ELF_ET_DYN_BASE).
  public static let positionIndependentBias: UInt64 = 0x5555_5555_4000
}

/// Finds the program's file: a name without '/' in `searchPath`, a
/// relative path against `currentDirectory`.
public func resolveProgramPath(
  _ path: String, searchPath: String?, currentDirectory: String
) throws(VillaError) -> String {
  guard !path.isEmpty else {
    throw .programNotFound(program: "''", reason: "empty program name")
  }
  if path.contains("/") {
    return absolutePath(path, from: currentDirectory)
  }
  // An empty PATH element means the current directory, as in the shell.
  let directories = (searchPath ?? "/usr/local/bin:/usr/bin:/bin")
    .split(separator: ":", omittingEmptySubsequences: false)
  for directory in directories {
    let base = directory.isEmpty ? currentDirectory : String(directory)
    let candidate = absolutePath(base + "/" + path, from: currentDirectory)
    if isExecutableFile(candidate) { return candidate }
  }
  throw .programNotFound(program: path, reason: "command not found in PATH")
}

/// `path` made absolute against `directory`, with "." and empty
/// components removed. ".." is kept: removing it textually would be
/// wrong across symbolic links.
/// villa's working directory, which relative program and host paths are
/// resolved from ("/" if it cannot be read).
public func currentWorkingDirectory() -> String {
  POSIX.currentDirectory() ?? "/"
}

public func absolutePath(_ path: String, from directory: String) -> String {
  let joined = path.hasPrefix("/") ? path : directory + "/" + path
  let parts = joined.split(separator: "/").filter { $0 != "." }
  return "/" + parts.joined(separator: "/")
}

private func isExecutableFile(_ path: String) -> Bool {
  var status = stat()
  guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
    return false
  }
  return access(path, X_OK) == 0
}

/// Finds and reads the program.
public func loadProgram(
  _ path: String, searchPath: String?, currentDirectory: String
) throws(VillaError) -> ProgramImage {
  let resolved = try resolveProgramPath(
    path, searchPath: searchPath, currentDirectory: currentDirectory)
  let bytes: [UInt8]
  do {
    let fd = try POSIX.openForReading(resolved)
    defer { POSIX.close(fd) }
    bytes = try POSIX.readToEnd(fd)
  } catch {
    throw .programNotFound(
      program: path, reason: errnoDescription(error.errno))
  }
  return ProgramImage(pathAsGiven: path, absolutePath: resolved,
                      bytes: bytes)
}

/// Checks that the kernel can run these bytes; returns the reason if not.
public func programRefusal(_ bytes: [UInt8]) -> String? {
  if bytes.starts(with: Array("#!".utf8)) {
    return "a script (it starts with #!); Villa runs ELF programs:"
      + " run its interpreter with the script as an argument"
  }
  return bytes.withUnsafeBytes { raw -> String? in
    do throws(ELFError) {
      let file = try ELFFile(bytes: raw)
      let bias = file.type == .sharedObject
        ? ProgramCheck.positionIndependentBias : 0
      _ = try LoadPlan(
        file: file, loadBias: bias, userLimit: ProgramCheck.userLimit)
      return nil
    } catch {
      return error.message
    }
  }
}
