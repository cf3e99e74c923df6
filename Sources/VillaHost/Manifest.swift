// The manifest: a JSON file that describes a Villa application, as simple
// as OPS's config.json. Field names are fixed so scripts can rely on them:
//
//   {"program": "/bin/busybox", "args": ["httpd", "-f", "-p", "8080"],
//    "env": {"KEY": "VALUE"}, "files": {"/etc/app.conf": "./app.conf"},
//    "dirs": {"/www": "./public"}, "memory": "64M", "hostname": "web1",
//    "ports": ["8080", "9000:9000/udp"], "tmpfs": {"/tmp": "16M"}}
//
// `files` and `dirs` map a guest path to a host path; relative host paths
// (and a relative program) are relative to the manifest's folder. Unknown
// fields and values of the wrong type are errors that name the field.

import Foundation

public struct Manifest: Equatable, Sendable {
  public var program: String?
  public var arguments: [String] = []
  public var environment: [String] = []
  /// (guest path, host path), host paths made absolute.
  public var files: [(String, String)] = []
  public var directories: [(String, String)] = []
  public var memoryMiB: Int?
  public var hostname: String?
  public var ports: [String] = []
  /// The size limit of /tmp in bytes, if given.
  public var tmpSize: UInt64?

  public static func == (a: Manifest, b: Manifest) -> Bool {
    a.program == b.program && a.arguments == b.arguments
      && a.environment == b.environment
      && a.files.map { [$0.0, $0.1] } == b.files.map { [$0.0, $0.1] }
      && a.directories.map { [$0.0, $0.1] }
        == b.directories.map { [$0.0, $0.1] }
      && a.memoryMiB == b.memoryMiB && a.hostname == b.hostname
      && a.ports == b.ports && a.tmpSize == b.tmpSize
  }

  static let fields: Set<String> = [
    "program", "args", "env", "files", "dirs", "memory", "hostname",
    "ports", "tmpfs",
  ]

  public static func load(path: String) throws(VillaError) -> Manifest {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .usage("cannot read the manifest \(path)")
    }
    let base = (absolutePath(path, from: POSIX.currentDirectory() ?? "/")
      as NSString).deletingLastPathComponent
    return try parse(data, relativeTo: base, name: path)
  }

  /// Parses manifest JSON; host paths are resolved against `base`.
  public static func parse(_ data: Data, relativeTo base: String,
                           name: String = "manifest")
    throws(VillaError) -> Manifest
  {
    guard let object = try? JSONSerialization.jsonObject(with: data),
      let top = object as? [String: Any]
    else { throw .usage("\(name): not a JSON object") }
    func fail(_ field: String, _ wanted: String) -> VillaError {
      .usage("\(name): field \"\(field)\" must be \(wanted)")
    }
    for key in top.keys.sorted() where !fields.contains(key) {
      throw .usage("\(name): unknown field \"\(key)\"")
    }
    func resolve(_ path: String) -> String {
      path.hasPrefix("/") ? path : base + "/" + path
    }
    func pathMap(_ field: String) throws(VillaError) -> [(String, String)] {
      guard let value = top[field] else { return [] }
      guard let map = value as? [String: Any] else {
        throw fail(field, "an object of guest path to host path")
      }
      var pairs: [(String, String)] = []
      for guest in map.keys.sorted() {
        guard let host = map[guest] as? String, guest.hasPrefix("/") else {
          throw fail(field, "an object of absolute guest path to host path")
        }
        pairs.append((guest, resolve(host)))
      }
      return pairs
    }

    var manifest = Manifest()
    if let value = top["program"] {
      guard let program = value as? String, !program.isEmpty else {
        throw fail("program", "a non-empty string")
      }
      manifest.program = program.contains("/") ? resolve(program) : program
    }
    if let value = top["args"] {
      guard let args = value as? [String] else {
        throw fail("args", "an array of strings")
      }
      manifest.arguments = args
    }
    if let value = top["env"] {
      guard let env = value as? [String: Any] else {
        throw fail("env", "an object of strings")
      }
      for key in env.keys.sorted() {
        guard let text = env[key] as? String, !key.isEmpty,
          !key.contains("=")
        else { throw fail("env", "an object of strings") }
        manifest.environment.append("\(key)=\(text)")
      }
    }
    manifest.files = try pathMap("files")
    manifest.directories = try pathMap("dirs")
    if let value = top["memory"] {
      guard let text = value as? String else {
        throw fail("memory", "a size such as \"64M\"")
      }
      manifest.memoryMiB = try parseMemorySize(text)
    }
    if let value = top["hostname"] {
      guard let text = value as? String else {
        throw fail("hostname", "a string")
      }
      manifest.hostname = try parseHostname(text)
    }
    if let value = top["ports"] {
      guard let ports = value as? [String] else {
        throw fail("ports", "an array of strings such as \"8080\"")
      }
      manifest.ports = ports
    }
    if let value = top["tmpfs"] {
      guard let map = value as? [String: Any] else {
        throw fail("tmpfs", "an object such as {\"/tmp\": \"16M\"}")
      }
      for (path, size) in map {
        guard path == "/tmp", let text = size as? String else {
          throw fail("tmpfs", "{\"/tmp\": SIZE}: only /tmp is a tmpfs")
        }
        manifest.tmpSize = UInt64(try parseMemorySize(text)) << 20
      }
    }
    return manifest
  }
}
