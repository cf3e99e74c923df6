// What the booting tests share: where the package is, building the
// kernel and the C test programs once per test process, and running a
// program on the host the way the conformance harness needs it.
//
// A host run must hand the program the same kinds of files Villa hands
// it, or the transcripts could not agree: standard input is a pipe that
// already holds every byte and is closed for writing (Villa's stdin is
// the boot bundle's bytes, then end of file), standard output and error
// are two separate pipes (Villa's are two streams that fstat as FIFOs),
// and no other descriptor is open. Signals start with default actions
// and an empty mask, as they do in Villa, whatever the test process set.

import Foundation
import Glibc
import VillaHost
import XCTest

// Two C library calls that Swift's Glibc module does not show (they need
// _GNU_SOURCE); both have plain C signatures, so calling them by symbol
// name is safe. pipe2 makes both ends close-on-exec atomically: with VMs
// started from another thread, a pipe made by pipe() then fcntl() could
// leak into that thread's child and hold our pipe open. closefrom in the
// child keeps whatever the test process has open out of the program.
@_silgen_name("pipe2")
private func systemPipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32)
  -> Int32
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnActionsAddClosefrom(
  _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32
) -> Int32

/// A failure of the test machinery itself (not of the program tested).
struct HarnessError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// How a host process ended, in villa's terms so the two compare.
typealias HostExit = ProgramExit

/// What one run of a program on the host produced.
struct HostRun {
  var stdout: [UInt8]
  var stderr: [UInt8]
  var exit: HostExit
  var timedOut: Bool
}

enum TestPackage {
  /// The package root: this file is Tests/VillaTests/<name>.swift.
  static let root: String = {
    var parts = "\(#filePath)".split(separator: "/").map(String.init)
    parts.removeLast(3)
    return "/" + parts.joined(separator: "/")
  }()

  private static let lock = NSLock()
  nonisolated(unsafe) private static var kernelResult:
    Result<String, HarnessError>?
  nonisolated(unsafe) private static var programsResult:
    Result<String, HarnessError>?

  /// Builds the kernel with tools/build-kernel.sh (once per process) and
  /// returns the ELF's path. $VILLA_KERNEL, when set, names a kernel to
  /// use as it is instead, as it does for villa itself.
  static func kernel() throws -> String {
    lock.lock()
    defer { lock.unlock() }
    if kernelResult == nil {
      if let given = ProcessInfo.processInfo.environment["VILLA_KERNEL"],
        !given.isEmpty
      {
        kernelResult = FileManager.default.fileExists(atPath: given)
          ? .success(given)
          : .failure(HarnessError("VILLA_KERNEL: no kernel at \(given)"))
      } else {
        kernelResult = buildWithScript("tools/build-kernel.sh", attempts: 2)
      }
    }
    return try kernelResult!.get()
  }

  /// Builds every test program three ways with tools/build-testprogs.sh
  /// (once per process) and returns the output folder, which holds
  /// glibc/, musl/ and static-pie/.
  static func testPrograms() throws -> String {
    lock.lock()
    defer { lock.unlock() }
    if programsResult == nil {
      programsResult = buildWithScript(
        "tools/build-testprogs.sh", attempts: 1)
    }
    return try programsResult!.get()
  }

  /// Builds testprogs/go/NAME.go as a static binary (cgo off) and
  /// returns its path; skips the calling test when Go is not installed.
  static func goProgram(_ name: String) throws -> String {
    let go = "/usr/bin/go"
    try XCTSkipUnless(access(go, X_OK) == 0,
                      "Go is not installed (tools/setup.sh installs it)")
    let source = root + "/testprogs/go/\(name).go"
    let output = root + "/.build/testprogs/go/\(name)"
    let build = try runOnHost(
      go, arguments: ["build", "-o", output, source],
      environment: ["CGO_ENABLED=0", "GOCACHE=" + root + "/.build/go-cache",
                    "HOME=/tmp", "PATH=/usr/bin:/bin",
                    "GOFLAGS=-buildvcs=false"],
      standardInput: [], timeout: 600)
    guard build.exit == .exited(0) else {
      throw HarnessError(
        "go build \(name).go: " + String(decoding: build.stderr, as: UTF8.self))
    }
    return output
  }

  /// Runs a build script (each changes to the package root itself);
  /// its last line of stdout is the result. The
  /// kernel build is tried twice: another worker saving a kernel source
  /// mid-build makes SwiftPM stop with "modified during the build".
  private static func buildWithScript(_ script: String, attempts: Int)
    -> Result<String, HarnessError>
  {
    var lastFailure = ""
    for _ in 0..<attempts {
      do {
        let run = try runOnHost(
          root + "/" + script, arguments: [], environment: nil,
          standardInput: [], timeout: 1800)
        let output = String(decoding: run.stdout, as: UTF8.self)
        let path = output.split(separator: "\n").last.map(String.init)
        if run.exit == .exited(0), let path, !path.isEmpty {
          return .success(path)
        }
        lastFailure = "\(script) failed (\(run.exit)):\n"
          + String(decoding: run.stderr.suffix(8000), as: UTF8.self)
      } catch {
        lastFailure = "\(script): \(error)"
      }
    }
    return .failure(HarnessError(lastFailure))
  }
}

/// Runs `path` with `arguments` after argv[0] (which is `path`), the
/// exact `environment` (nil: this process's), and `standardInput` in a
/// pipe; collects stdout and stderr separately. After `timeout` seconds
/// the process is killed and the run marked as timed out.
func runOnHost(
  _ path: String, arguments: [String], environment: [String]?,
  standardInput: [UInt8], timeout: Double
) throws -> HostRun {
  // The whole input goes into the pipe before the program starts, so it
  // must fit in the pipe's buffer (64 KiB on Linux).
  guard standardInput.count < 65536 else {
    throw HarnessError("standard input of \(standardInput.count) bytes"
      + " does not fit in a pipe")
  }
  func makePipe() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    guard systemPipe2(&fds, O_CLOEXEC) == 0 else {
      throw HarnessError("pipe2: \(String(cString: strerror(errno)))")
    }
    return (fds[0], fds[1])
  }
  let input = try makePipe()
  let output = try makePipe()
  let errors = try makePipe()
  var parentEnds = [output.read, errors.read]
  var childEnds = [input.read, output.write, errors.write]
  defer { (parentEnds + childEnds).filter { $0 >= 0 }.forEach { close($0) } }

  var written = 0
  while written < standardInput.count {
    let n = standardInput[written...].withUnsafeBytes {
      write(input.write, $0.baseAddress, $0.count)
    }
    guard n > 0 else { throw HarnessError("cannot fill the stdin pipe") }
    written += n
  }
  close(input.write)

  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_adddup2(&actions, input.read, 0)
  posix_spawn_file_actions_adddup2(&actions, output.write, 1)
  posix_spawn_file_actions_adddup2(&actions, errors.write, 2)
  _ = spawnActionsAddClosefrom(&actions, 3)

  var attributes = posix_spawnattr_t()
  posix_spawnattr_init(&attributes)
  defer { posix_spawnattr_destroy(&attributes) }
  var all = sigset_t()
  var none = sigset_t()
  sigfillset(&all)
  sigemptyset(&none)
  posix_spawnattr_setsigdefault(&attributes, &all)
  posix_spawnattr_setsigmask(&attributes, &none)
  posix_spawnattr_setflags(
    &attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

  let argv = ([path] + arguments).map { strdup($0) } + [nil]
  defer { argv.forEach { free($0) } }
  let envp = environment.map { $0.map { strdup($0) } + [nil] }
  defer { envp?.forEach { free($0) } }

  var pid: pid_t = 0
  let status = envp == nil
    ? posix_spawn(&pid, path, &actions, &attributes, argv, environ)
    : posix_spawn(&pid, path, &actions, &attributes, argv, envp!)
  guard status == 0 else {
    throw HarnessError(
      "cannot start \(path): \(String(cString: strerror(status)))")
  }
  childEnds.forEach { close($0) }
  childEnds = []

  // Pump both pipes until both report end of file.
  var collected: [[UInt8]] = [[], []]
  let deadline = Date().addingTimeInterval(timeout)
  var timedOut = false
  var buffer = [UInt8](repeating: 0, count: 65536)
  while parentEnds.contains(where: { $0 >= 0 }) {
    var polled = parentEnds.map {
      pollfd(fd: $0, events: Int16(POLLIN), revents: 0)
    }
    let left = deadline.timeIntervalSinceNow
    if left <= 0 && !timedOut {
      timedOut = true
      kill(pid, SIGKILL)
    }
    let wait = timedOut ? 1000 : Int32(min(left * 1000 + 1, 60000))
    let ready = poll(&polled, nfds_t(polled.count), wait)
    if ready < 0 && errno == EINTR { continue }
    for slot in polled.indices where polled[slot].fd >= 0 {
      guard polled[slot].revents != 0 else { continue }
      let n = read(polled[slot].fd, &buffer, buffer.count)
      if n > 0 {
        collected[slot] += buffer[0..<n]
      } else if n == 0 || errno != EINTR {
        close(parentEnds[slot])
        parentEnds[slot] = -1
      }
    }
  }

  var waitStatus: Int32 = 0
  while waitpid(pid, &waitStatus, 0) < 0 {
    guard errno == EINTR else {
      throw HarnessError("waitpid: \(String(cString: strerror(errno)))")
    }
  }
  // WIFEXITED / WTERMSIG by hand: Swift does not import the macros.
  let signal = waitStatus & 0x7f
  let exit: HostExit = signal == 0
    ? .exited((waitStatus >> 8) & 0xff) : .signaled(signal)
  return HostRun(
    stdout: collected[0], stderr: collected[1], exit: exit,
    timedOut: timedOut)
}

extension ProgramExit {
  /// A short text for reports: "exit 0", "signal 11", "panic: ...".
  var summary: String {
    switch self {
    case .exited(let code): return "exit \(code)"
    case .signaled(let signal): return "signal \(signal)"
    case .panic(let message): return "kernel panic: \(message)"
    case .vmFailed(let message): return "VM failed: \(message)"
    case .timedOut: return "timed out"
    case .interrupted(let signal): return "interrupted by signal \(signal)"
    case .outputClosed: return "output closed"
    }
  }
}

/// The accelerator the booting tests use: $VILLA_TEST_ACCEL (tcg, kvm or
/// auto), else auto.
var testAccelerator: AcceleratorRequest {
  if let value = ProcessInfo.processInfo.environment["VILLA_TEST_ACCEL"],
    let request = AcceleratorRequest(rawValue: value)
  {
    return request
  }
  return .auto
}
