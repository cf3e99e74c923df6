// The host side's system calls that need care: descriptors, pipes, I/O
// loops, processes.
//
// Everything else in VillaHost speaks in Swift types: a failed call becomes
// a `SystemCallError` naming the call and its errno, descriptors are closed
// by their owner, and loops around EINTR and short writes live here once.
// Plain queries (stat, access, getenv) are made where they are needed, and
// the signal handler keeps its few calls in Interrupts.swift.

import Glibc
import LinuxABI

/// A system call that failed: which call, and the errno it set. The host
/// is Linux on x86_64, so LinuxABI's Errno values are the host's own.
public struct SystemCallError: Error, Equatable, Sendable {
  public var call: String
  public var errno: Errno

  public init(call: String, errno: Int32) {
    self.call = call
    self.errno = Errno(errno)
  }

  /// "call: reason", the reason as strerror(3) words it.
  public var message: String {
    "\(call): \(errnoDescription(errno))"
  }
}

/// strerror(3)'s words for an errno, as a Swift string.
func errnoDescription(_ errno: Errno) -> String {
  String(cString: strerror(errno.rawValue))
}

/// The calling thread's errno, read right after a failed call.
func lastErrno() -> Int32 { Glibc.errno }

// MARK: - Descriptors

enum POSIX {
  /// A pipe whose two ends close on exec, so that only the copies placed
  /// deliberately into a child survive in it.
  static func makePipe()
    throws(SystemCallError) -> (read: Int32, write: Int32)
  {
    var fds: [Int32] = [-1, -1]
    if let pipe2 = pipe2Function {
      guard pipe2(&fds, O_CLOEXEC) == 0 else {
        throw SystemCallError(call: "pipe2", errno: lastErrno())
      }
      return (fds[0], fds[1])
    }
    guard pipe(&fds) == 0 else {
      throw SystemCallError(call: "pipe", errno: lastErrno())
    }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return (fds[0], fds[1])
  }

  /// A connected pair of stream sockets, both close-on-exec (created so
  /// atomically, for the reason `makePipe` gives).
  static func makeSocketPair() throws(SystemCallError) -> (Int32, Int32) {
    var fds: [Int32] = [-1, -1]
    let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    guard socketpair(AF_UNIX, type, 0, &fds) == 0 else {
      throw SystemCallError(call: "socketpair", errno: lastErrno())
    }
    return (fds[0], fds[1])
  }

  /// glibc's pipe2(2), which Swift's Glibc module does not declare. It
  /// matters when several runs start in parallel threads: with pipe(2)
  /// then fcntl(2), a QEMU spawned in between could inherit another
  /// run's pipe end and keep that run from ever seeing end of file.
  private static let pipe2Function:
    (@convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32)? = {
      guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "pipe2") else {
        return nil
      }
      return unsafeBitCast(
        symbol,
        to: (@convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32)
          .self)
    }()

  /// A close-on-exec copy of `fd` numbered at least `minimum`.
  static func duplicate(_ fd: Int32, atLeast minimum: Int32)
    throws(SystemCallError) -> Int32
  {
    let copy = fcntl(fd, F_DUPFD_CLOEXEC, minimum)
    guard copy >= 0 else {
      throw SystemCallError(call: "fcntl(F_DUPFD_CLOEXEC)", errno: lastErrno())
    }
    return copy
  }

  static func close(_ fd: Int32) {
    // Linux releases the descriptor even when close reports EINTR, so a
    // retry could close a descriptor another thread just opened.
    _ = Glibc.close(fd)
  }

  /// Opens a file read-only, close-on-exec.
  static func openForReading(_ path: String) throws(SystemCallError) -> Int32 {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      throw SystemCallError(call: "open", errno: lastErrno())
    }
    return fd
  }

  /// Whether `path` can be opened for reading and writing (for /dev/kvm).
  static func canOpenReadWrite(_ path: String) -> Bool {
    let fd = open(path, O_RDWR | O_CLOEXEC)
    guard fd >= 0 else { return false }
    close(fd)
    return true
  }

  /// Descriptors open in this process that would survive an exec: those
  /// without FD_CLOEXEC. Read from /proc/self/fd.
  static func inheritableDescriptors() -> [Int32] {
    guard let directory = opendir("/proc/self/fd") else { return [] }
    defer { closedir(directory) }
    let own = dirfd(directory)
    var found: [Int32] = []
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      guard let fd = Int32(name), fd != own else { continue }
      let flags = fcntl(fd, F_GETFD)
      if flags >= 0 && flags & FD_CLOEXEC == 0 { found.append(fd) }
    }
    return found
  }

  // MARK: - Reading and writing

  /// Reads what is available, up to `capacity` bytes; empty at end of file.
  static func readSome(_ fd: Int32, capacity: Int = 65536)
    throws(SystemCallError) -> [UInt8]
  {
    var buffer = [UInt8](repeating: 0, count: capacity)
    while true {
      let count = buffer.withUnsafeMutableBytes { raw in
        read(fd, raw.baseAddress, raw.count)
      }
      if count >= 0 {
        buffer.removeSubrange(count...)
        return buffer
      }
      let code = lastErrno()
      if code == EINTR { continue }
      throw SystemCallError(call: "read", errno: code)
    }
  }

  /// Reads until end of file.
  static func readToEnd(_ fd: Int32) throws(SystemCallError) -> [UInt8] {
    var all: [UInt8] = []
    while true {
      let chunk = try readSome(fd)
      if chunk.isEmpty { return all }
      all.append(contentsOf: chunk)
    }
  }

  /// Writes every byte, looping over short writes and EINTR, and waiting
  /// for room when the descriptor is non-blocking (a terminal another
  /// process set O_NONBLOCK on, for instance).
  static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemCallError) {
    var offset = 0
    while offset < bytes.count {
      let count = bytes.withUnsafeBytes { raw in
        write(fd, raw.baseAddress! + offset, raw.count - offset)
      }
      if count > 0 {
        offset += count
        continue
      }
      let code = count < 0 ? lastErrno() : EIO
      if code == EINTR { continue }
      if code == EAGAIN || code == EWOULDBLOCK {
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        _ = poll(&entry, 1, -1)
        continue
      }
      throw SystemCallError(call: "write", errno: code)
    }
  }

  /// Waits until some of `fds` are readable (or hung up), at most
  /// `milliseconds` (-1: no limit). Returns, for each descriptor, whether
  /// it needs attention; all false on timeout or EINTR.
  static func waitReadable(_ fds: [Int32], milliseconds: Int32)
    throws(SystemCallError) -> [Bool]
  {
    var entries = fds.map {
      pollfd(fd: $0, events: Int16(POLLIN), revents: 0)
    }
    let count = poll(&entries, nfds_t(entries.count), milliseconds)
    if count < 0 {
      let code = lastErrno()
      if code == EINTR { return fds.map { _ in false } }
      throw SystemCallError(call: "poll", errno: code)
    }
    return entries.map { $0.revents != 0 }
  }

  // MARK: - Files and directories

  /// What kind of file a descriptor is open on.
  enum FileKind { case regular, fifo, socket, characterDevice, other, closed }

  static func fileKind(of fd: Int32) -> FileKind {
    var status = stat()
    guard fstat(fd, &status) == 0 else { return .closed }
    switch status.st_mode & S_IFMT {
    case S_IFREG: return .regular
    case S_IFIFO: return .fifo
    case S_IFSOCK: return .socket
    case S_IFCHR: return .characterDevice
    default: return .other
    }
  }

  /// A fresh private directory (mode 0700) under $TMPDIR or /tmp.
  static func makeTemporaryDirectory(prefix: String)
    throws(SystemCallError) -> String
  {
    let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { buffer in
      mkdtemp(buffer.baseAddress!) != nil
    }
    guard made else {
      throw SystemCallError(call: "mkdtemp", errno: lastErrno())
    }
    return string(fromNulTerminated: template)
  }

  /// The running executable's path, from /proc/self/exe.
  static func executablePath() -> String? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return nil }
    return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) },
                  as: UTF8.self)
  }

  static func currentDirectory() -> String? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard getcwd(&buffer, buffer.count) != nil else { return nil }
    return string(fromNulTerminated: buffer)
  }

  /// The text of a C string held in an array, up to its first NUL.
  private static func string(fromNulTerminated buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
  }

  // MARK: - Processes

  /// How a child process ended.
  enum WaitStatus: Equatable {
    case exited(Int32)
    case signaled(Int32)
  }

  /// Starts `arguments[0]` (searched in PATH when it has no '/') with
  /// standard input from `input` (or /dev/null), standard output and
  /// error on `output` and `error`, and `extra[i]` placed at descriptor
  /// 3 + i. Every other descriptor this process would leak is closed in
  /// the child, so that no pipe end stays open in it by accident.
  static func spawn(
    _ arguments: [String], input: Int32? = nil, output: Int32, error: Int32,
    extra: [Int32] = []
  ) throws(SystemCallError) -> pid_t {
    // Move every source above the target range first, so that placing
    // one descriptor can never overwrite another that is still to come.
    var sources: [Int32] = []
    defer { sources.forEach(close) }
    for fd in [output, error] + extra {
      sources.append(try duplicate(fd, atLeast: 64))
    }
    var inputCopy: Int32? = nil
    if let input { inputCopy = try duplicate(input, atLeast: 64) }
    defer { inputCopy.map(close) }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let inputCopy {
      posix_spawn_file_actions_adddup2(&actions, inputCopy, 0)
    } else {
      posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    }
    posix_spawn_file_actions_adddup2(&actions, sources[0], 1)
    posix_spawn_file_actions_adddup2(&actions, sources[1], 2)
    for (index, source) in sources.dropFirst(2).enumerated() {
      posix_spawn_file_actions_adddup2(&actions, source, Int32(3 + index))
    }
    let lastPlaced = Int32(2 + extra.count)
    for fd in inheritableDescriptors() where fd > lastPlaced {
      posix_spawn_file_actions_addclose(&actions, fd)
    }

    var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map {
      strdup($0)
    }
    cArguments.append(nil)
    defer { cArguments.forEach { free($0) } }

    var pid: pid_t = 0
    let result = posix_spawnp(
      &pid, arguments[0], &actions, nil, cArguments, environ)
    guard result == 0 else {
      throw SystemCallError(call: "posix_spawn", errno: result)
    }
    return pid
  }

  /// Waits for a child to end.
  static func wait(for pid: pid_t) throws(SystemCallError) -> WaitStatus {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
      let code = lastErrno()
      if code != EINTR {
        throw SystemCallError(call: "waitpid", errno: code)
      }
    }
    // The <sys/wait.h> macros are not imported; these are their
    // definitions for Linux.
    let signal = status & 0x7F
    if signal == 0 { return .exited((status >> 8) & 0xFF) }
    return .signaled(signal)
  }

  /// Runs a helper tool to completion, stdin from /dev/null, and returns
  /// its status and output. Its stderr joins the output when
  /// `mergeErrors`, else goes to /dev/null.
  static func runCapturing(_ arguments: [String], mergeErrors: Bool)
    throws(SystemCallError) -> (status: WaitStatus, output: [UInt8])
  {
    let output = try makePipe()
    var errorFD = output.write
    if !mergeErrors {
      errorFD = open("/dev/null", O_WRONLY | O_CLOEXEC)
      guard errorFD >= 0 else {
        let code = lastErrno()
        close(output.read)
        close(output.write)
        throw SystemCallError(call: "open", errno: code)
      }
    }
    let pid: pid_t
    do {
      defer {
        close(output.write)
        if errorFD != output.write { close(errorFD) }
      }
      pid = try spawn(arguments, output: output.write, error: errorFD)
    } catch {
      close(output.read)
      throw error
    }
    let bytes = (try? readToEnd(output.read)) ?? []
    close(output.read)
    return (try wait(for: pid), bytes)
  }

  static func kill(_ pid: pid_t, signal: Int32) {
    _ = Glibc.kill(pid, signal)
  }
}
