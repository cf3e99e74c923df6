// Where villa finds what lives in its package: the kernel and the demo.
//
// villa runs from the package's build tree (`swift run villa`, or
// .build/<triple>/debug/villa), so the package root is found by walking
// up from the executable until a directory holds both Package.swift and
// arch/x86_64; the current directory and its parents are tried next. The
// kernel is then taken from --kernel, else $VILLA_KERNEL, else the path
// tools/build-kernel.sh builds it to. The demo program is compiled from
// its C source on first use and whenever the source is newer.

import Glibc

public enum PackageLayout {
  /// The kernel ELF, relative to the package root.
  public static let kernelRelativePath =
    ".build-kernel/x86_64-unknown-none-elf/release/villa-kernel"
  /// The demo program's source and its build, relative to the root.
  public static let demoSourceRelativePath = "tools/demo/villa-demo.c"
  public static let demoBinaryRelativePath = ".build/villa-demo"

  /// Whether `directory` is the root of the Villa package.
  public static func isPackageRoot(_ directory: String) -> Bool {
    fileKind(directory + "/Package.swift") == S_IFREG
      && fileKind(directory + "/arch/x86_64") == S_IFDIR
  }

  /// The first package root at or above one of `starts`, tried in order.
  public static func findRoot(from starts: [String]) -> String? {
    for start in starts {
      var directory = absolutePath(start, from: "/")
      while true {
        if isPackageRoot(directory) { return directory }
        guard directory != "/" else { break }
        directory = parent(of: directory)
      }
    }
    return nil
  }

  /// The package root above the running executable or the current
  /// directory.
  public static func findRoot() -> String? {
    var starts: [String] = []
    if let executable = POSIX.executablePath() {
      starts.append(parent(of: executable))
    }
    if let current = POSIX.currentDirectory() { starts.append(current) }
    return findRoot(from: starts)
  }

  /// The kernel to boot: `explicit` (--kernel), else `environment`
  /// ($VILLA_KERNEL), else the build output inside `packageRoot`. The
  /// file must exist.
  public static func locateKernel(
    explicit: String?, environment: String?, packageRoot: String?
  ) throws(VillaError) -> String {
    let chosen: String
    if let explicit {
      chosen = explicit
    } else if let environment, !environment.isEmpty {
      chosen = environment
    } else if let packageRoot {
      chosen = packageRoot + "/" + kernelRelativePath
    } else {
      throw .kernelNotLocated
    }
    guard fileKind(chosen) == S_IFREG else {
      throw .kernelMissing(path: chosen)
    }
    return chosen
  }

  /// The demo program, compiled first if it is missing or older than its
  /// source. Returns its path and whether it was just built.
  public static func prepareDemo(packageRoot: String)
    throws(VillaError) -> (path: String, rebuilt: Bool)
  {
    let source = packageRoot + "/" + demoSourceRelativePath
    let binary = packageRoot + "/" + demoBinaryRelativePath
    guard let sourceTime = modificationTime(source) else {
      throw .demoBuildFailed("no source at \(source)")
    }
    if let binaryTime = modificationTime(binary), binaryTime >= sourceTime {
      return (binary, false)
    }

    _ = mkdir(parent(of: binary), 0o755)
    let command = ["cc", "-static", "-O2", "-o", binary, source]
    let result: (status: POSIX.WaitStatus, output: [UInt8])
    do {
      result = try POSIX.runCapturing(command, mergeErrors: true)
    } catch {
      throw .demoBuildFailed(
        "cannot run cc: \(errnoDescription(error.errno))"
          + " (install a C compiler with static libc, e.g. gcc)")
    }
    guard result.status == .exited(0) else {
      let said = String(decoding: result.output, as: UTF8.self)
      throw .demoBuildFailed(
        command.joined(separator: " ") + " failed:\n" + said)
    }
    return (binary, true)
  }

  static func parent(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let head = String(path[..<slash])
    return head.isEmpty ? "/" : head
  }

  private static func fileKind(_ path: String) -> mode_t? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    return status.st_mode & S_IFMT
  }

  /// st_mtim in nanoseconds, or nil if the file is missing.
  private static func modificationTime(_ path: String) -> Int? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    return status.st_mtim.tv_sec * 1_000_000_000 + status.st_mtim.tv_nsec
  }
}
